//! The resources of API.md: which fields each accepts and returns, required
//! and read-only fields, numbering, totals and balances, and the events
//! every change leaves behind. Objects are `serde_json` values; money is
//! computed with `Decimal` and written back as exact JSON numbers.
//!
//! This module holds the resource kinds ([`Kind`]), who is asking
//! ([`Ctx`]) and the JSON/decimal helpers the parts share:
//!
//! - `schema`: the fields each kind accepts, how each is checked and
//!   converted, and a request body applied to an object.
//! - `totals`: tax rates and discounts, lines and totals, and the settled
//!   state (balance, paid, closed, status) of invoices and credit notes.
//! - `numbering`: unique and generated numbers, ids from names, events.
//! - `payments`: what payments and credit notes take off invoices.
//! - `writes`: create, update, delete and void, and the defaults every
//!   write fills in.

mod numbering;
mod payments;
mod schema;
mod totals;
mod writes;

use super::reply::ErrorReply;
use super::store::Key;
use rust_decimal::Decimal;
use serde_json::{Number, Value};
use std::str::FromStr;

pub use writes::{create, delete, update, void};

/// The resources, by path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Customer,
    Invoice,
    CreditNote,
    Payment,
    Item,
    TaxRate,
    Event,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Customer,
        Kind::Invoice,
        Kind::CreditNote,
        Kind::Payment,
        Kind::Item,
        Kind::TaxRate,
        Kind::Event,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Kind::Customer => "customers",
            Kind::Invoice => "invoices",
            Kind::CreditNote => "credit_notes",
            Kind::Payment => "payments",
            Kind::Item => "items",
            Kind::TaxRate => "tax_rates",
            Kind::Event => "events",
        }
    }

    pub fn from_path(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.path() == s)
    }

    /// The `object` name and the event prefix.
    pub fn object(self) -> &'static str {
        match self {
            Kind::Customer => "customer",
            Kind::Invoice => "invoice",
            Kind::CreditNote => "credit_note",
            Kind::Payment => "payment",
            Kind::Item => "item",
            Kind::TaxRate => "tax_rate",
            Kind::Event => "event",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Customer => "customer",
            Kind::Invoice => "invoice",
            Kind::CreditNote => "credit note",
            Kind::Payment => "payment",
            Kind::Item => "item",
            Kind::TaxRate => "tax rate",
            Kind::Event => "event",
        }
    }

    /// Items and tax rates have string ids the client may choose.
    pub fn string_ids(self) -> bool {
        matches!(self, Kind::Item | Kind::TaxRate)
    }

    /// The `filter[...]` whitelist (API.md "Lists").
    pub fn filterable(self) -> &'static [&'static str] {
        match self {
            Kind::Customer => crate::model::filterable::CUSTOMERS,
            Kind::Invoice => crate::model::filterable::INVOICES,
            Kind::CreditNote => crate::model::filterable::CREDIT_NOTES,
            Kind::Payment => crate::model::filterable::PAYMENTS,
            Kind::Event => &["type"],
            Kind::Item | Kind::TaxRate => &[],
        }
    }

    /// The field `start_date`/`end_date` bound.
    pub fn date_field(self) -> &'static str {
        match self {
            Kind::Event => "timestamp",
            Kind::Item | Kind::TaxRate | Kind::Customer => "created_at",
            _ => "date",
        }
    }

    fn number_prefix(self) -> Option<&'static str> {
        match self {
            Kind::Customer => Some("CUST-"),
            Kind::Invoice => Some("INV-"),
            Kind::CreditNote => Some("CN-"),
            _ => None,
        }
    }

    /// Whether stored objects keep their parsed value besides their text:
    /// the small reference kinds that every document write reads.
    pub fn keeps_value(self) -> bool {
        matches!(self, Kind::Customer | Kind::Item | Kind::TaxRate)
    }

    fn is_document(self) -> bool {
        matches!(self, Kind::Invoice | Kind::CreditNote)
    }
}

/// Who is asking and when.
pub struct Ctx<'a> {
    pub company: &'a str,
    pub now: i64,
    /// `http://host`, for the `url` of documents.
    pub base: &'a str,
}

/// A JSON number from a decimal, exactly.
pub fn dec_value(d: Decimal) -> Value {
    Number::from_str(&d.normalize().to_string())
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// A decimal from a JSON number or numeric string.
pub fn value_dec(v: &Value) -> Option<Decimal> {
    let s = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    Decimal::from_str(&s)
        .ok()
        .or_else(|| Decimal::from_scientific(&s).ok())
        // Amounts the API holds: below 10¹² (a larger one is refused as
        // not a number the API takes), so that no sum or product overflows.
        .filter(|d| crate::model::money::in_range(*d))
}

fn dec_field(obj: &Value, field: &str) -> Decimal {
    obj.get(field).and_then(value_dec).unwrap_or_default()
}

fn bool_field(obj: &Value, field: &str) -> bool {
    obj.get(field).and_then(Value::as_bool).unwrap_or(false)
}

/// The id in a path segment.
pub fn parse_key(kind: Kind, s: &str) -> Result<Key, ErrorReply> {
    if kind.string_ids() {
        return Ok(Key::Str(s.to_string()));
    }
    s.parse::<i64>()
        .map(Key::Num)
        .map_err(|_| not_found(kind, s))
}

pub fn not_found(kind: Kind, id: &str) -> ErrorReply {
    ErrorReply::not_found(format!("No such {}: {id}", kind.title()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn decimals_round_trip_as_numbers() {
        assert_eq!(dec_value(dec!(51.150)).to_string(), "51.15");
        assert_eq!(value_dec(&serde_json::json!(0.1)), Some(dec!(0.1)));
        assert_eq!(value_dec(&serde_json::json!("2.5")), Some(dec!(2.5)));
    }
}
