//! The customer fields the book merges (how each is read, written and
//! compared) and the key a customer is matched by.

use crate::model::{Customer, CustomerType, MatchOn};

/// A customer field the book merges, with how to read and write it.
pub(super) struct FieldDef {
    pub(super) name: &'static str,
    /// The field's value, borrowed: the book reads every field of every
    /// document and keeps a copy only of the values it chooses.
    pub(super) get: fn(&Customer) -> Option<&str>,
    pub(super) set: fn(&mut Customer, &str),
}

macro_rules! text_field {
    ($name:literal, $f:ident) => {
        FieldDef {
            name: $name,
            get: |c| c.$f.as_deref(),
            set: |c, v| c.$f = Some(v.to_string()),
        }
    };
}

/// The merged fields, the identity fields first.
pub(super) const FIELDS: &[FieldDef] = &[
    text_field!("number", number),
    text_field!("tax_id", tax_id),
    text_field!("name", name),
    FieldDef {
        name: "type",
        get: |c| c.kind.map(type_name),
        set: |c, v| c.kind = CustomerType::parse(v),
    },
    text_field!("email", email),
    text_field!("phone", phone),
    text_field!("address1", address1),
    text_field!("address2", address2),
    text_field!("city", city),
    text_field!("state", state),
    text_field!("postal_code", postal_code),
    text_field!("country", country),
    text_field!("language", language),
    text_field!("currency", currency),
    text_field!("payment_terms", payment_terms),
    text_field!("notes", notes),
];

pub(super) const NUMBER: usize = 0;
pub(super) const TAX_ID: usize = 1;
pub(super) const NAME: usize = 2;

fn type_name(t: CustomerType) -> &'static str {
    match t {
        CustomerType::Company => "company",
        CustomerType::Person => "person",
        CustomerType::Government => "government",
        CustomerType::NonProfit => "non_profit",
    }
}

/// How values are compared: trimmed, and ignoring case (as the API compares
/// numbers); tax ids by their digits and letters only.
pub(super) fn same(field: usize, a: &str, b: &str) -> bool {
    if field == TAX_ID {
        let norm = |s: &str| {
            s.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect::<Vec<char>>()
        };
        return a == b || norm(a) == norm(b);
    }
    let (a, b) = (a.trim(), b.trim());
    // Most values agree to the byte: no case folding needed.
    a == b
        || a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
}

/// A key value: trimmed, in lower case (ASCII and Cyrillic directly).
pub(super) fn fold(s: &str) -> String {
    crate::validate::batch::fold_case(s.trim()).into_string()
}

/// A customer's key in the batch: how it is matched, and the value folded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomerKey {
    pub on: MatchOn,
    pub value: String,
}

impl CustomerKey {
    /// The key the uploader matches the customer on: the mapping's field,
    /// or the other one when that one is blank (as the uploader does).
    pub fn of(c: &Customer, on: MatchOn) -> Option<CustomerKey> {
        fn nonblank(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let (number, tax_id) = (nonblank(&c.number), nonblank(&c.tax_id));
        // Only the value chosen is folded.
        let (on, value) = match (on, number, tax_id) {
            (MatchOn::Number, Some(n), _) => (MatchOn::Number, n),
            (MatchOn::TaxId, _, Some(t)) => (MatchOn::TaxId, t),
            (_, Some(n), _) => (MatchOn::Number, n),
            (_, _, Some(t)) => (MatchOn::TaxId, t),
            _ => return None,
        };
        Some(CustomerKey {
            on,
            value: fold(value),
        })
    }

    pub(super) fn label(&self) -> String {
        match self.on {
            MatchOn::Number => format!("number {}", self.value),
            MatchOn::TaxId => format!("tax id {}", self.value),
        }
    }

    /// The field the customer is found by; the other identity field must agree.
    pub(super) fn identity(&self) -> usize {
        match self.on {
            MatchOn::Number => TAX_ID,
            MatchOn::TaxId => NUMBER,
        }
    }
}
