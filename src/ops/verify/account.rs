//! Reading the account back for `runs verify`, read-only: the tax rates
//! (every page), and each document by its id with its customer expanded
//! (one request; the customer by its id when the reply does not expand
//! it). A document the account no longer has (404) is `None`: deleted, a
//! finding. Any other failure, after the client's own retries, is an
//! error: the caller gives no verdict on an account it could not read
//! completely.

use super::outcome::{Figures, Party};
use super::totals::Overflow;
use crate::api::{ApiError, Client, ListQuery};
use crate::ledger::UnitKind;
use crate::model::{
    AppliedRate, CreditNote, Customer, Invoice, LineItem, MatchOn, Money, Ref, TaxRate,
};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::sync::Mutex;

/// A document's customer on the account.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountCustomer {
    Found(Box<Customer>),
    /// The document names a customer the account no longer has.
    Deleted(i64),
    /// The document names none.
    None,
}

/// A document as the account holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountDoc {
    pub id: i64,
    pub kind: UnitKind,
    pub number: Option<String>,
    pub date: Option<NaiveDate>,
    pub currency: Option<String>,
    pub status: Option<String>,
    pub customer: AccountCustomer,
    pub items: Vec<LineItem>,
    pub discounts: Vec<AppliedRate>,
    pub taxes: Vec<AppliedRate>,
    pub subtotal: Option<Money>,
    pub total: Option<Money>,
    /// Unix seconds.
    pub updated_at: Option<i64>,
}

impl AccountDoc {
    pub fn voided(&self) -> bool {
        self.status.as_deref() == Some("voided")
    }

    /// The VAT the account computed: every tax applied, on the lines and on
    /// the document.
    pub fn vat(&self) -> Option<Money> {
        self.items
            .iter()
            .flat_map(|l| &l.taxes)
            .chain(&self.taxes)
            .try_fold(Money::ZERO, |acc, t| {
                acc.checked_add(t.amount.unwrap_or_default())
            })
    }

    /// Its customer, grouped as the source's is (`on`).
    pub fn party(&self, on: MatchOn) -> Party {
        match &self.customer {
            AccountCustomer::Found(c) => party(c, on),
            AccountCustomer::Deleted(id) => Party {
                key: format!("(deleted customer {id})"),
                ..Party::default()
            },
            AccountCustomer::None => Party {
                key: "(no customer)".into(),
                ..Party::default()
            },
        }
    }

    /// Its figures, for the control totals.
    pub fn figures(&self, on: MatchOn) -> Result<Figures, Overflow> {
        let overflow = || Overflow(format!("the VAT of {}", self.label()));
        let vat = self.vat().ok_or_else(overflow)?;
        let gross = self.total.unwrap_or_default();
        Ok(Figures {
            currency: self.currency.as_deref().unwrap_or("").to_uppercase(),
            date: self.date,
            customer: self.party(on),
            lines: self.items.len(),
            net: gross.checked_sub(vat).ok_or_else(overflow)?,
            vat,
            gross,
        })
    }

    /// Its number, else its id.
    pub fn label(&self) -> String {
        self.number
            .clone()
            .unwrap_or_else(|| format!("{} {}", self.kind, self.id))
    }
}

/// A customer as the totals group it: by what the source matches it on.
pub fn party(c: &Customer, on: MatchOn) -> Party {
    let number = c.number.clone().filter(|s| !s.trim().is_empty());
    let tax_id = c.tax_id.clone().filter(|s| !s.trim().is_empty());
    let key = match on {
        MatchOn::Number => number.clone().or_else(|| tax_id.clone()),
        MatchOn::TaxId => tax_id.clone().or_else(|| number.clone()),
    };
    Party {
        key: key
            .or_else(|| c.name.clone())
            .unwrap_or_else(|| "(no customer)".into()),
        number,
        tax_id,
        name: c.name.clone(),
    }
}

/// Every tax rate of the account, by id.
pub async fn tax_rates(client: &Client) -> Result<HashMap<String, TaxRate>, ApiError> {
    let all: Vec<TaxRate> = client.list_all("/tax_rates", &ListQuery::default()).await?;
    Ok(all.into_iter().map(|r| (r.id.clone(), r)).collect())
}

/// Customers read by id (for replies that did not expand one), shared by
/// the reads in flight.
#[derive(Default)]
pub struct Customers {
    known: Mutex<HashMap<i64, Option<Customer>>>,
}

impl Customers {
    async fn get(&self, client: &Client, id: i64) -> Result<Option<Customer>, ApiError> {
        if let Some(c) = self
            .known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return Ok(c.clone());
        }
        let found = match client.get_customer(id).await {
            Ok(c) => Some(c),
            Err(e) if e.status() == Some(404) => None,
            Err(e) => return Err(e),
        };
        self.known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, found.clone());
        Ok(found)
    }
}

fn path_of(kind: UnitKind) -> &'static str {
    match kind {
        UnitKind::CreditNote => "/credit_notes",
        _ => "/invoices",
    }
}

/// The document `id` of `kind` with its customer, or `None` when the
/// account no longer has it.
pub async fn document(
    client: &Client,
    customers: &Customers,
    kind: UnitKind,
    id: i64,
) -> Result<Option<AccountDoc>, ApiError> {
    let got = match kind {
        UnitKind::CreditNote => client
            .get_expanded::<CreditNote>(path_of(kind), id, &["customer"])
            .await
            .map(|c| from_credit_note(c, id)),
        _ => client
            .get_expanded::<Invoice>(path_of(kind), id, &["customer"])
            .await
            .map(|i| from_invoice(i, id)),
    };
    let (mut doc, customer) = match got {
        Ok(d) => d,
        Err(e) if e.status() == Some(404) => return Ok(None),
        Err(e) => return Err(e),
    };
    doc.customer = match customer {
        Some(Ref::Object(c)) => AccountCustomer::Found(c),
        Some(Ref::Id(cid)) => match customers.get(client, cid).await? {
            Some(c) => AccountCustomer::Found(Box::new(c)),
            None => AccountCustomer::Deleted(cid),
        },
        None => AccountCustomer::None,
    };
    Ok(Some(doc))
}

fn from_invoice(i: Invoice, id: i64) -> (AccountDoc, Option<Ref<Customer>>) {
    (
        AccountDoc {
            id: i.id.unwrap_or(id),
            kind: UnitKind::Invoice,
            number: i.number,
            date: i.date,
            currency: i.currency,
            status: i.status,
            customer: AccountCustomer::None,
            items: i.items,
            discounts: i.discounts,
            taxes: i.taxes,
            subtotal: i.subtotal,
            total: i.total,
            updated_at: i.updated_at,
        },
        i.customer,
    )
}

fn from_credit_note(c: CreditNote, id: i64) -> (AccountDoc, Option<Ref<Customer>>) {
    (
        AccountDoc {
            id: c.id.unwrap_or(id),
            kind: UnitKind::CreditNote,
            number: c.number,
            date: c.date,
            currency: c.currency,
            status: c.status,
            customer: AccountCustomer::None,
            items: c.items,
            discounts: c.discounts,
            taxes: c.taxes,
            subtotal: c.subtotal,
            total: c.total,
            updated_at: c.updated_at,
        },
        c.customer,
    )
}
