//! One document, source against account: what the source says the API
//! should hold ([`expected`]: its figures under the API's rounding, computed
//! by [`crate::validate::totals`]), and every field that differs
//! ([`compare`]): number, date, customer (number, tax id, name), currency,
//! line count, each line's quantity, unit cost and taxes, then subtotal,
//! VAT and total, and a voided status. A field the source leaves empty is
//! the API's to fill (a generated number, a default) and is not compared.

use super::account::{AccountCustomer, AccountDoc};
use super::outcome::{Figures, Party, Shown};
use super::totals::Overflow;
use crate::model::{AppliedRate, DocKind, Draft, LineItem, MatchOn, Money};
use crate::validate::totals::{totals, Totals};
use rust_decimal::Decimal;

/// The currency of a document that names none (nor its customer): the API's.
pub const DEFAULT_CURRENCY: &str = "MDL";

/// What the source says the account should hold of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub figures: Figures,
    pub totals: Totals,
}

/// One field that differs.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDiff {
    pub field: String,
    pub source: Shown,
    pub account: Shown,
    pub note: Option<String>,
}

impl FieldDiff {
    fn new(field: impl Into<String>, source: Shown, account: Shown) -> FieldDiff {
        FieldDiff {
            field: field.into(),
            source,
            account,
            note: None,
        }
    }
}

/// A customer as the totals group it, from the source.
pub fn source_party(draft: &Draft) -> Party {
    super::account::party(&draft.customer, draft.match_on)
}

/// The document's currency as the API would set it: its own, else its
/// customer's, else MDL; upper case.
pub fn currency_of(draft: &Draft) -> String {
    draft
        .invoice
        .currency
        .as_deref()
        .or(draft.customer.currency.as_deref())
        .filter(|c| !c.trim().is_empty())
        .unwrap_or(DEFAULT_CURRENCY)
        .trim()
        .to_uppercase()
}

/// What the account should hold of `draft` (valid, its customer merged):
/// its totals computed the API's way with `rate_value` for each tax rate.
pub fn expected(
    draft: &Draft,
    rate_value: impl Fn(&str) -> Option<Decimal>,
) -> Result<Expected, Overflow> {
    let t = totals(
        &draft.invoice,
        draft.kind == DocKind::CreditNote,
        rate_value,
    );
    // Not computable (a discount without an amount): the subtotal stands in
    // and `compare` names the total as a difference.
    let name = || draft.invoice.number.as_deref().unwrap_or(&draft.source_key);
    let vat = t.tax.unwrap_or_default();
    let gross = t
        .total
        .or(t.subtotal)
        .ok_or_else(|| Overflow(format!("the subtotal of {}", name())))?;
    let net = gross
        .checked_sub(vat)
        .ok_or_else(|| Overflow(format!("the net of {}", name())))?;
    Ok(Expected {
        figures: Figures {
            currency: currency_of(draft),
            date: draft.invoice.date,
            customer: source_party(draft),
            lines: draft.invoice.items.len(),
            net,
            vat,
            gross,
        },
        totals: t,
    })
}

fn present(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

fn text_of(s: Option<&str>) -> Shown {
    match present(s) {
        Some(s) => Shown::Text(s.to_string()),
        None => Shown::Empty,
    }
}

/// The taxes of a line as one comparable text: rate ids, sorted (an
/// amount-only tax by its amount); none on a line that is not taxable.
fn rates_text(line: &LineItem) -> String {
    if line.taxable == Some(false) {
        return String::new();
    }
    let mut ids: Vec<String> = line
        .taxes
        .iter()
        .map(|t: &AppliedRate| match (&t.tax_rate, t.amount) {
            (Some(id), _) => id.0.clone(),
            (None, Some(a)) => crate::export::columns::money_text(a),
            (None, None) => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect();
    ids.sort();
    ids.join(", ")
}

fn money_diff(out: &mut Vec<FieldDiff>, field: &str, source: Money, account: Option<Money>) {
    let account = account.unwrap_or_default();
    if source != account {
        out.push(FieldDiff::new(
            field,
            Shown::Money(source),
            Shown::Money(account),
        ));
    }
}

/// Every field of `acc` that is not what `draft` (with `exp` from
/// [`expected`]) gives.
pub fn compare(draft: &Draft, exp: &Expected, acc: &AccountDoc) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    let inv = &draft.invoice;
    let mut text = |field: &str, source: Option<&str>, account: Option<&str>, fold: bool| {
        let Some(s) = present(source) else { return };
        let a = present(account);
        let same = match (fold, a) {
            (true, Some(a)) => a.eq_ignore_ascii_case(s),
            (false, Some(a)) => a == s,
            (_, None) => false,
        };
        if !same {
            out.push(FieldDiff::new(field, text_of(Some(s)), text_of(a)));
        }
    };
    text(
        "number",
        inv.number.as_deref(),
        acc.number.as_deref(),
        false,
    );
    let currency = currency_of(draft);
    text("currency", Some(&currency), acc.currency.as_deref(), true);
    match &acc.customer {
        AccountCustomer::Found(c) => {
            let s = &draft.customer;
            text(
                "customer.number",
                s.number.as_deref(),
                c.number.as_deref(),
                false,
            );
            text(
                "customer.tax_id",
                s.tax_id.as_deref(),
                c.tax_id.as_deref(),
                false,
            );
            text("customer.name", s.name.as_deref(), c.name.as_deref(), false);
        }
        other => {
            let s = source_party(draft);
            let mut d = FieldDiff::new(
                "customer",
                Shown::Text(s.name.clone().unwrap_or(s.key)),
                match other {
                    AccountCustomer::Deleted(id) => Shown::Text(format!("customer {id}, deleted")),
                    _ => Shown::Empty,
                },
            );
            d.note = Some(match other {
                AccountCustomer::Deleted(_) => "the customer was deleted on the account".into(),
                _ => "the document has no customer on the account".into(),
            });
            out.push(d);
        }
    }
    if let Some(date) = inv.date {
        if acc.date != Some(date) {
            out.push(FieldDiff::new(
                "date",
                Shown::Date(date),
                acc.date.map_or(Shown::Empty, Shown::Date),
            ));
        }
    }
    if inv.items.len() != acc.items.len() {
        out.push(FieldDiff::new(
            "items",
            Shown::Count(inv.items.len() as u64),
            Shown::Count(acc.items.len() as u64),
        ));
    }
    for (i, (s, a)) in inv.items.iter().zip(&acc.items).enumerate() {
        let q = |l: &LineItem| l.quantity.unwrap_or(Decimal::ONE);
        if q(s) != q(a) {
            out.push(FieldDiff::new(
                format!("items[{i}].quantity"),
                Shown::Quantity(q(s)),
                Shown::Quantity(q(a)),
            ));
        }
        let c = |l: &LineItem| l.unit_cost.unwrap_or(Decimal::ZERO);
        if c(s) != c(a) {
            out.push(FieldDiff::new(
                format!("items[{i}].unit_cost"),
                Shown::Money(c(s)),
                Shown::Money(c(a)),
            ));
        }
        let (st, at) = (rates_text(s), rates_text(a));
        if st != at {
            let shown = |t: String| {
                if t.is_empty() {
                    Shown::Empty
                } else {
                    Shown::Text(t)
                }
            };
            out.push(FieldDiff::new(
                format!("items[{i}].taxes"),
                shown(st),
                shown(at),
            ));
        }
    }
    // None only where `expected` refused (an overflow).
    if let Some(subtotal) = exp.totals.subtotal {
        money_diff(&mut out, "subtotal", subtotal, acc.subtotal);
    }
    match (exp.totals.tax, exp.totals.total) {
        (Some(tax), Some(total)) => {
            money_diff(&mut out, "tax", tax, acc.vat());
            money_diff(&mut out, "total", total, acc.total);
        }
        _ => {
            let mut d = FieldDiff::new(
                "total",
                Shown::Text("cannot be computed".into()),
                acc.total.map_or(Shown::Empty, Shown::Money),
            );
            d.note = Some("a discount or tax of the source has no amount or known rate".into());
            out.push(d);
        }
    }
    if acc.voided() {
        let mut d = FieldDiff::new(
            "status",
            Shown::Text("issued".into()),
            Shown::Text("voided".into()),
        );
        d.note = Some("voided on the account after the import".into());
        out.push(d);
    }
    out
}

/// The customer key a document of the source is grouped under (for an
/// account document without a source, by number).
pub fn match_on(draft: Option<&Draft>) -> MatchOn {
    draft.map_or(MatchOn::Number, |d| d.match_on)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::UnitKind;
    use crate::model::{Customer, Invoice};
    use chrono::NaiveDate;
    use rust_decimal_macros::dec;

    fn rate(id: &str) -> Option<Decimal> {
        match id {
            "tva20" => Some(dec!(20)),
            "tva8" => Some(dec!(8)),
            _ => None,
        }
    }

    fn line(q: Decimal, c: Decimal, tax: &str) -> LineItem {
        LineItem {
            quantity: Some(q),
            unit_cost: Some(c),
            taxes: vec![AppliedRate::tax(tax)],
            ..Default::default()
        }
    }

    fn customer() -> Customer {
        Customer {
            number: Some("C-1".into()),
            name: Some("Agrocom SRL".into()),
            tax_id: Some("1003600045120".into()),
            ..Default::default()
        }
    }

    fn draft() -> Draft {
        Draft {
            source_key: "A-1".into(),
            invoice: Invoice {
                number: Some("A-1".into()),
                currency: Some("MDL".into()),
                date: NaiveDate::from_ymd_opt(2024, 3, 9),
                // 3 × 0.335 = 1.005 → 1.01, VAT 0.20; 2 × 10.5 = 21, VAT 1.68
                items: vec![
                    line(dec!(3), dec!(0.335), "tva20"),
                    line(dec!(2), dec!(10.5), "tva8"),
                ],
                ..Default::default()
            },
            customer: customer(),
            ..Default::default()
        }
    }

    /// The account's copy, as the API computes it.
    fn account(d: &Draft) -> AccountDoc {
        let mut items = d.invoice.items.clone();
        items[0].taxes[0].amount = Some(dec!(0.20));
        items[1].taxes[0].amount = Some(dec!(1.68));
        AccountDoc {
            id: 7,
            kind: UnitKind::Invoice,
            number: d.invoice.number.clone(),
            date: d.invoice.date,
            currency: Some("mdl".into()),
            status: Some("not_sent".into()),
            customer: AccountCustomer::Found(Box::new(customer())),
            items,
            discounts: vec![],
            taxes: vec![],
            subtotal: Some(dec!(22.01)),
            total: Some(dec!(23.89)),
            updated_at: None,
        }
    }

    #[test]
    fn the_same_document_has_no_differences() {
        let d = draft();
        let e = expected(&d, rate).unwrap();
        assert_eq!(
            (e.figures.net, e.figures.vat, e.figures.gross),
            (dec!(22.01), dec!(1.88), dec!(23.89))
        );
        assert_eq!(compare(&d, &e, &account(&d)), vec![]);
    }

    #[test]
    fn each_edited_field_is_named_with_both_values() {
        let d = draft();
        let e = expected(&d, rate).unwrap();
        let mut a = account(&d);
        a.items[1].quantity = Some(dec!(3));
        a.items[1].taxes[0].amount = Some(dec!(2.52));
        a.subtotal = Some(dec!(32.51));
        a.total = Some(dec!(35.23));
        if let AccountCustomer::Found(c) = &mut a.customer {
            c.name = Some("Agrocom".into());
        }
        a.date = NaiveDate::from_ymd_opt(2024, 4, 1);
        let diffs = compare(&d, &e, &a);
        let fields: Vec<_> = diffs.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "customer.name",
                "date",
                "items[1].quantity",
                "subtotal",
                "tax",
                "total"
            ]
        );
        assert_eq!(diffs[2].source, Shown::Quantity(dec!(2)));
        assert_eq!(diffs[2].account, Shown::Quantity(dec!(3)));
        assert_eq!(diffs[5].source, Shown::Money(dec!(23.89)));
        assert_eq!(diffs[5].account, Shown::Money(dec!(35.23)));
    }

    #[test]
    fn a_voided_or_shortened_document_and_a_deleted_customer_are_named() {
        let d = draft();
        let e = expected(&d, rate).unwrap();
        let mut a = account(&d);
        a.status = Some("voided".into());
        a.items.pop();
        a.subtotal = Some(dec!(1.01));
        a.total = Some(dec!(1.21));
        a.customer = AccountCustomer::Deleted(3);
        let diffs = compare(&d, &e, &a);
        let fields: Vec<_> = diffs.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["customer", "items", "subtotal", "tax", "total", "status"]
        );
        assert_eq!(diffs[1].account, Shown::Count(1));
        assert_eq!(
            diffs[5].note.as_deref(),
            Some("voided on the account after the import")
        );
    }

    #[test]
    fn what_the_source_leaves_to_the_api_is_not_compared() {
        let mut d = draft();
        d.invoice.number = None;
        d.invoice.currency = None;
        d.customer.tax_id = None;
        let e = expected(&d, rate).unwrap();
        assert_eq!(e.figures.currency, "MDL");
        let mut a = account(&d);
        a.number = Some("INV-0042".into());
        assert_eq!(compare(&d, &e, &a), vec![]);
        a.currency = Some("eur".into());
        assert_eq!(compare(&d, &e, &a)[0].field, "currency");
    }
}
