//! What each resource accepts: its writable fields and how each input is
//! checked and converted (`F`), its read-only and required fields, the
//! fields a document line keeps, metadata limits, and a request body
//! applied to an object (read-only and unknown keys refused).

use super::{dec_value, value_dec, Ctx, Kind};
use crate::emulator::reply::ErrorReply;
use crate::emulator::store::{Data, Key};
use crate::model::limits;
use serde_json::{Map, Value};

/// How a field's input is checked and stored.
#[derive(Debug, Clone, Copy)]
enum F {
    Str,
    Number,
    Bool,
    Int,
    Money,
    Currency,
    Meta,
    Lines,
    Discounts,
    Taxes,
    Json,
    CustomerRef,
    InvoiceRef,
    Enum(&'static [&'static str]),
    AppliedTo,
    RateIds,
    StrId,
}

const CUSTOMER_TYPES: &[&str] = &["company", "person", "government", "non_profit"];

fn writable(kind: Kind) -> &'static [(&'static str, F)] {
    use F::*;
    match kind {
        Kind::Customer => &[
            ("name", Str),
            ("number", Number),
            ("type", Enum(CUSTOMER_TYPES)),
            ("tax_id", Str),
            ("email", Str),
            ("phone", Str),
            ("address1", Str),
            ("address2", Str),
            ("city", Str),
            ("state", Str),
            ("postal_code", Str),
            ("country", Str),
            ("language", Str),
            ("currency", Currency),
            ("payment_terms", Str),
            ("notes", Str),
            ("metadata", Meta),
        ],
        Kind::Invoice => &[
            ("customer", CustomerRef),
            ("number", Number),
            ("name", Str),
            ("currency", Currency),
            ("date", Int),
            ("due_date", Int),
            ("payment_terms", Str),
            ("purchase_order", Str),
            ("draft", Bool),
            ("closed", Bool),
            ("sent", Bool),
            ("items", Lines),
            ("discounts", Discounts),
            ("taxes", Taxes),
            ("notes", Str),
            ("metadata", Meta),
            ("ship_to", Json),
        ],
        Kind::CreditNote => &[
            ("customer", CustomerRef),
            ("invoice", InvoiceRef),
            ("number", Number),
            ("name", Str),
            ("currency", Currency),
            ("date", Int),
            ("draft", Bool),
            ("closed", Bool),
            ("items", Lines),
            ("discounts", Discounts),
            ("taxes", Taxes),
            ("notes", Str),
            ("metadata", Meta),
        ],
        Kind::Payment => &[
            ("amount", Money),
            ("currency", Currency),
            ("customer", CustomerRef),
            ("date", Int),
            ("method", Str),
            ("reference", Str),
            ("notes", Str),
            ("applied_to", AppliedTo),
            ("metadata", Meta),
        ],
        Kind::Item => &[
            ("id", StrId),
            ("name", Str),
            ("description", Str),
            ("type", Str),
            ("unit_cost", Money),
            ("currency", Currency),
            ("taxable", Bool),
            ("taxes", RateIds),
            ("metadata", Meta),
        ],
        Kind::TaxRate => &[
            ("id", StrId),
            ("name", Str),
            ("value", Money),
            ("is_percent", Bool),
            ("inclusive", Bool),
            ("currency", Currency),
            ("metadata", Meta),
        ],
        Kind::Event => &[],
    }
}

fn read_only(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Customer => &["id", "object", "created_at", "updated_at"],
        Kind::Invoice => &[
            "id",
            "object",
            "subtotal",
            "total",
            "balance",
            "paid",
            "status",
            "voided",
            "amount_paid",
            "amount_credited",
            "url",
            "pdf_url",
            "created_at",
            "updated_at",
        ],
        Kind::CreditNote => &[
            "id",
            "object",
            "subtotal",
            "total",
            "balance",
            "paid",
            "status",
            "voided",
            "url",
            "pdf_url",
            "created_at",
            "updated_at",
        ],
        Kind::Payment => &[
            "id",
            "object",
            "voided",
            "balance",
            "created_at",
            "updated_at",
        ],
        Kind::Item | Kind::TaxRate => &["object", "created_at", "updated_at"],
        Kind::Event => &[],
    }
}

pub(super) fn required(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Customer | Kind::Item => &["name"],
        Kind::Invoice | Kind::CreditNote => &["customer"],
        Kind::Payment => &["amount"],
        Kind::TaxRate => &["name", "value"],
        Kind::Event => &[],
    }
}

/// Check and convert one input field.
fn convert(data: &Data, ctx: &Ctx, name: &str, f: F, v: &Value) -> Result<Value, ErrorReply> {
    let bad = |expected: &str| {
        ErrorReply::param(
            format!("Invalid value for {name}: expected {expected}, found {v}"),
            name,
        )
    };
    if v.is_null() {
        return match f {
            F::Meta => Ok(Value::Object(Map::new())),
            F::Lines | F::Discounts | F::Taxes | F::AppliedTo | F::RateIds => {
                Ok(Value::Array(vec![]))
            }
            _ => Ok(Value::Null),
        };
    }
    Ok(match f {
        F::Str => match v {
            Value::String(_) => v.clone(),
            Value::Number(n) => Value::String(n.to_string()),
            _ => return Err(bad("a string")),
        },
        F::Number => {
            let s = match v {
                Value::String(s) => s.trim().to_string(),
                Value::Number(n) => n.to_string(),
                _ => return Err(bad("a string")),
            };
            if s.is_empty() || s.chars().count() > limits::NUMBER_MAX_CHARS {
                return Err(ErrorReply::param(
                    format!(
                        "Invalid number: expected 1 to {} characters, found {:?}",
                        limits::NUMBER_MAX_CHARS,
                        s
                    ),
                    "number",
                ));
            }
            Value::String(s)
        }
        F::Bool => match v {
            Value::Bool(_) => v.clone(),
            Value::Number(n) if n.to_string() == "0" => Value::Bool(false),
            Value::Number(n) if n.to_string() == "1" => Value::Bool(true),
            _ => return Err(bad("true or false")),
        },
        F::Int => match v.as_i64() {
            Some(i) => Value::from(i),
            None => return Err(bad("an integer (Unix seconds)")),
        },
        F::Money => match value_dec(v) {
            Some(d) => dec_value(d),
            None => return Err(bad("a number")),
        },
        F::Currency => match v.as_str() {
            Some(s) if s.len() == 3 && s.chars().all(|c| c.is_ascii_alphabetic()) => {
                Value::String(s.to_ascii_lowercase())
            }
            _ => return Err(bad("a 3-letter ISO 4217 currency code")),
        },
        F::Meta => metadata(v)?,
        F::Json => Value::Null,
        F::Enum(allowed) => match v.as_str() {
            Some(s) if allowed.contains(&s) => v.clone(),
            _ => return Err(bad(&format!("one of {}", allowed.join(", ")))),
        },
        F::CustomerRef | F::InvoiceRef => {
            let (target, noun, expected) = match f {
                F::CustomerRef => (Kind::Customer, "customer", "a customer id"),
                _ => (Kind::Invoice, "invoice", "an invoice id"),
            };
            let id = ref_id(v).ok_or_else(|| bad(expected))?;
            let exists = data
                .companies
                .get(ctx.company)
                .is_some_and(|c| c.contains(target, &Key::Num(id)));
            if !exists {
                return Err(ErrorReply::param(format!("No such {noun}: {id}"), name));
            }
            Value::from(id)
        }
        F::StrId => match v.as_str() {
            Some(s)
                if !s.is_empty()
                    && s.len() <= 64
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) =>
            {
                v.clone()
            }
            _ => return Err(bad("1 to 64 letters, digits, `_`, `-` or `.`")),
        },
        F::RateIds => match v {
            Value::Array(a) => {
                let mut out = Vec::new();
                for r in a {
                    match rate_ref(r, "tax_rate") {
                        Some(id) => out.push(Value::String(id)),
                        None => return Err(bad("a list of tax rate ids")),
                    }
                }
                Value::Array(out)
            }
            _ => return Err(bad("a list of tax rate ids")),
        },
        // Checked and applied in context by `finish`.
        F::Lines => match v {
            Value::Array(lines) => {
                for (i, line) in lines.iter().enumerate() {
                    let Value::Object(l) = line else {
                        return Err(ErrorReply::param(
                            format!("Invalid items[{i}]: expected an object, found {line}"),
                            "items",
                        ));
                    };
                    for k in l.keys() {
                        match k.as_str() {
                            "id" | "object" => {}
                            "amount" => {
                                return Err(ErrorReply::param(
                                    format!(
                                        "items[{i}].amount is read-only: the server computes it"
                                    ),
                                    "items",
                                ))
                            }
                            k if LINE_FIELDS.contains(&k) => {}
                            _ => {
                                return Err(ErrorReply::param(
                                    format!("Unknown parameter: items[{i}].{k}"),
                                    "request",
                                ))
                            }
                        }
                    }
                }
                Value::Null
            }
            _ => return Err(bad("a list")),
        },
        F::Discounts | F::Taxes | F::AppliedTo => match v {
            Value::Array(_) => Value::Null,
            _ => return Err(bad("a list")),
        },
    })
}

pub(super) fn ref_id(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(o) => o.get("id").and_then(Value::as_i64),
        _ => None,
    }
}

/// A rate named as `"tva20"`, `{"tax_rate":"tva20"}` or `{"tax_rate":{"id":"tva20"}}`.
pub(super) fn rate_ref(v: &Value, field: &str) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => match o.get(field) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Object(r)) => r.get("id").and_then(Value::as_str).map(String::from),
            _ => None,
        },
        _ => None,
    }
}

/// Metadata: at most 10 keys, keys ≤ 40 bytes, values ≤ 255 bytes; values
/// are stored as strings.
pub(super) fn metadata(v: &Value) -> Result<Value, ErrorReply> {
    let Value::Object(m) = v else {
        return Err(ErrorReply::param(
            "Invalid metadata: expected an object of strings",
            "metadata",
        ));
    };
    if m.len() > limits::METADATA_MAX_KEYS {
        return Err(ErrorReply::param(
            format!(
                "Invalid metadata: at most {} keys allowed, found {}",
                limits::METADATA_MAX_KEYS,
                m.len()
            ),
            "metadata",
        ));
    }
    let mut out = Map::new();
    for (k, val) in m {
        if k.is_empty() || k.len() > limits::METADATA_KEY_MAX_BYTES {
            return Err(ErrorReply::param(
                format!(
                    "Invalid metadata key {k:?}: expected 1 to {} bytes, found {}",
                    limits::METADATA_KEY_MAX_BYTES,
                    k.len()
                ),
                "metadata",
            ));
        }
        let s = match val {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            _ => {
                return Err(ErrorReply::param(
                    format!("Invalid metadata value for {k:?}: expected a string"),
                    "metadata",
                ))
            }
        };
        if s.len() > limits::METADATA_VALUE_MAX_BYTES {
            return Err(ErrorReply::param(
                format!(
                    "Invalid metadata value for {k:?}: at most {} bytes allowed, found {}",
                    limits::METADATA_VALUE_MAX_BYTES,
                    s.len()
                ),
                "metadata",
            ));
        }
        out.insert(k.clone(), Value::String(s));
    }
    Ok(Value::Object(out))
}

/// Apply the body's fields to `obj`, refusing read-only and unknown keys.
pub(super) fn apply_fields(
    data: &Data,
    ctx: &Ctx,
    kind: Kind,
    body: Value,
    obj: &mut Map<String, Value>,
    creating: bool,
) -> Result<(), ErrorReply> {
    let Value::Object(fields) = body else {
        return Err(ErrorReply::param(
            "The request body must be a JSON object",
            "request",
        ));
    };
    let fields_def = writable(kind);
    for (name, v) in fields {
        if let Some((_, f)) = fields_def.iter().find(|(n, _)| *n == name) {
            if name == "id" && !creating {
                if obj.get("id") == Some(&v) {
                    continue;
                }
                return Err(ErrorReply::param(
                    "The id cannot be changed; create a new object instead",
                    "id",
                ));
            }
            let converted = convert(data, ctx, &name, *f, &v)?;
            // Lists and free JSON are checked by reference and kept as sent.
            let keep = matches!(
                f,
                F::Lines | F::Discounts | F::Taxes | F::AppliedTo | F::Json
            ) && !v.is_null();
            obj.insert(name, if keep { v } else { converted });
        } else if read_only(kind).contains(&name.as_str()) {
            return Err(ErrorReply::param(
                format!("{name} is read-only: the server computes it"),
                name.as_str(),
            ));
        } else {
            return Err(ErrorReply::param(
                format!(
                    "Unknown parameter: {name} (a {} has no such field)",
                    kind.title()
                ),
                "request",
            ));
        }
    }
    Ok(())
}

pub(super) const LINE_FIELDS: &[&str] = &[
    "catalog_item",
    "name",
    "description",
    "type",
    "quantity",
    "unit_cost",
    "discountable",
    "taxable",
    "discounts",
    "taxes",
    "metadata",
];
