//! The control totals of a reconciliation: counts and sums (net, VAT,
//! gross) per kind of document and currency, per month and per customer,
//! the source beside the account, with the difference (account − source).
//! Each side is grouped by its own fields: a document whose date was moved
//! on the account counts in the account's month. The account side leaves
//! out what is deleted or voided there. Every sum is checked: an overflow is
//! an error, never a wrong total.

use super::outcome::{Figures, Party};
use crate::ledger::UnitKind;
use crate::model::{money, Money};
use serde::Serialize;
use std::collections::BTreeMap;

/// The month of a document without a date.
pub const NO_DATE: &str = "(no date)";

/// A sum overflowed (the document it was adding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overflow(pub String);

/// How many documents, and their sums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sums {
    pub documents: u64,
    #[serde(with = "money::num")]
    pub net: Money,
    #[serde(with = "money::num")]
    pub vat: Money,
    #[serde(with = "money::num")]
    pub gross: Money,
}

impl Sums {
    fn add(&mut self, f: &Figures) -> Option<()> {
        self.documents = self.documents.checked_add(1)?;
        self.net = self.net.checked_add(f.net)?;
        self.vat = self.vat.checked_add(f.vat)?;
        self.gross = self.gross.checked_add(f.gross)?;
        Some(())
    }
}

/// Account − source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Delta {
    pub documents: i64,
    #[serde(with = "money::num")]
    pub net: Money,
    #[serde(with = "money::num")]
    pub vat: Money,
    #[serde(with = "money::num")]
    pub gross: Money,
}

impl Delta {
    fn of(source: &Sums, account: &Sums) -> Option<Delta> {
        let n = |x: u64| i64::try_from(x).ok();
        Some(Delta {
            documents: n(account.documents)?.checked_sub(n(source.documents)?)?,
            net: account.net.checked_sub(source.net)?,
            vat: account.vat.checked_sub(source.vat)?,
            gross: account.gross.checked_sub(source.gross)?,
        })
    }

    pub fn is_zero(&self) -> bool {
        self.documents == 0 && self.net.is_zero() && self.vat.is_zero() && self.gross.is_zero()
    }
}

/// One line of the control totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotalsRow {
    pub kind: UnitKind,
    pub currency: String,
    /// `2024-03` (per month only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    /// Per customer only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<Party>,
    pub source: Sums,
    pub account: Sums,
    pub difference: Delta,
}

impl TotalsRow {
    pub fn differs(&self) -> bool {
        !self.difference.is_zero()
    }
}

/// The control totals: per kind and currency (the grand totals), per month,
/// per customer, each sorted by its key.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ControlTotals {
    pub by_currency: Vec<TotalsRow>,
    pub by_month: Vec<TotalsRow>,
    pub by_customer: Vec<TotalsRow>,
}

impl ControlTotals {
    /// Whether any line differs.
    pub fn differ(&self) -> bool {
        self.by_currency
            .iter()
            .chain(&self.by_month)
            .chain(&self.by_customer)
            .any(TotalsRow::differs)
    }
}

/// Which side of the reconciliation a document's figures are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Account,
}

#[derive(Default)]
struct Pair {
    source: Sums,
    account: Sums,
    /// The customer as first seen (the source's when it has one).
    party: Option<Party>,
}

type Key = (UnitKind, String, String);

/// The totals, filled one document's figures at a time.
#[derive(Default)]
pub struct TotalsBuilder {
    currency: BTreeMap<Key, Pair>,
    month: BTreeMap<Key, Pair>,
    customer: BTreeMap<Key, Pair>,
}

fn month_of(f: &Figures) -> String {
    f.date
        .map(|d| d.format("%Y-%m").to_string())
        .unwrap_or_else(|| NO_DATE.to_string())
}

impl TotalsBuilder {
    /// Add a document's figures on one side (`what` names it if a sum overflows).
    pub fn add(
        &mut self,
        side: Side,
        kind: UnitKind,
        f: &Figures,
        what: &str,
    ) -> Result<(), Overflow> {
        let keys = [
            (&mut self.currency, String::new()),
            (&mut self.month, month_of(f)),
            (&mut self.customer, f.customer.key.clone()),
        ];
        for (map, sub) in keys {
            let pair = map.entry((kind, f.currency.clone(), sub)).or_default();
            let sums = match side {
                Side::Source => &mut pair.source,
                Side::Account => &mut pair.account,
            };
            sums.add(f)
                .ok_or_else(|| Overflow(format!("adding {what} to the totals")))?;
            if pair.party.is_none() {
                pair.party = Some(f.customer.clone());
            }
        }
        Ok(())
    }

    /// The totals, with their differences.
    pub fn finish(self) -> Result<ControlTotals, Overflow> {
        let rows = |map: BTreeMap<Key, Pair>, month: bool, customer: bool| {
            map.into_iter()
                .map(|((kind, currency, sub), p)| {
                    let difference = Delta::of(&p.source, &p.account)
                        .ok_or_else(|| Overflow(format!("the {currency} difference")))?;
                    Ok(TotalsRow {
                        kind,
                        currency,
                        month: month.then(|| sub.clone()),
                        customer: if customer { p.party } else { None },
                        source: p.source,
                        account: p.account,
                        difference,
                    })
                })
                .collect::<Result<Vec<_>, Overflow>>()
        };
        Ok(ControlTotals {
            by_currency: rows(self.currency, false, false)?,
            by_month: rows(self.month, true, false)?,
            by_customer: rows(self.customer, false, true)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use rust_decimal_macros::dec;

    fn fig(cur: &str, month: u32, customer: &str, gross: Money, vat: Money) -> Figures {
        Figures {
            currency: cur.into(),
            date: NaiveDate::from_ymd_opt(2024, month, 10),
            customer: Party {
                key: customer.into(),
                name: Some(format!("{customer} SRL")),
                ..Party::default()
            },
            lines: 1,
            net: gross - vat,
            vat,
            gross,
        }
    }

    #[test]
    fn sides_group_by_their_own_fields_and_differences_are_account_less_source() {
        let mut b = TotalsBuilder::default();
        let inv = UnitKind::Invoice;
        b.add(
            Side::Source,
            inv,
            &fig("MDL", 1, "C1", dec!(120), dec!(20)),
            "A",
        )
        .unwrap();
        b.add(
            Side::Source,
            inv,
            &fig("MDL", 2, "C2", dec!(60), dec!(10)),
            "B",
        )
        .unwrap();
        b.add(
            Side::Source,
            inv,
            &fig("EUR", 2, "C3", dec!(7), dec!(0)),
            "C",
        )
        .unwrap();
        // A on the account as in the source; B moved to March and edited.
        b.add(
            Side::Account,
            inv,
            &fig("MDL", 1, "C1", dec!(120), dec!(20)),
            "A",
        )
        .unwrap();
        b.add(
            Side::Account,
            inv,
            &fig("MDL", 3, "C2", dec!(72), dec!(12)),
            "B",
        )
        .unwrap();
        b.add(
            Side::Account,
            inv,
            &fig("EUR", 2, "C3", dec!(7), dec!(0)),
            "C",
        )
        .unwrap();
        let t = b.finish().unwrap();
        let mdl = t.by_currency.iter().find(|r| r.currency == "MDL").unwrap();
        assert_eq!(mdl.source.gross, dec!(180));
        assert_eq!(mdl.account.gross, dec!(192));
        assert_eq!(mdl.difference.gross, dec!(12));
        assert_eq!(mdl.difference.vat, dec!(2));
        assert_eq!(mdl.difference.documents, 0);
        let months: Vec<_> = t
            .by_month
            .iter()
            .filter(|r| r.currency == "MDL")
            .map(|r| (r.month.clone().unwrap(), r.difference.documents))
            .collect();
        assert_eq!(
            months,
            [
                ("2024-01".into(), 0),
                ("2024-02".into(), -1),
                ("2024-03".into(), 1)
            ]
        );
        let eur = t.by_month.iter().find(|r| r.currency == "EUR").unwrap();
        assert!(!eur.differs());
        let c2 = t
            .by_customer
            .iter()
            .find(|r| r.customer.as_ref().unwrap().key == "C2")
            .unwrap();
        assert_eq!(
            c2.customer.as_ref().unwrap().name.as_deref(),
            Some("C2 SRL")
        );
        assert_eq!(c2.difference.net, dec!(10));
        assert!(t.differ());
    }

    #[test]
    fn an_overflow_is_an_error() {
        let mut b = TotalsBuilder::default();
        let big = fig("MDL", 1, "C", Money::MAX, Money::ZERO);
        b.add(Side::Source, UnitKind::Invoice, &big, "A").unwrap();
        assert!(b.add(Side::Source, UnitKind::Invoice, &big, "B").is_err());
    }
}
