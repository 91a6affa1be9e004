//! What each resource accepts, after API.md's tables of fields
//! ([`crate::model::fields`]): how each writable field's input is checked
//! and converted, the required fields, the fields a document line keeps,
//! metadata limits, and a request body applied to an object (read-only and
//! unknown keys refused).

use super::{dec_value, value_dec, Ctx, Kind};
use crate::emulator::reply::ErrorReply;
use crate::emulator::store::{Data, Key};
use crate::model::fields::{self, Field, Kind as F};
use crate::model::limits;
use serde_json::{Map, Value};

/// The API's table of a resource's fields ([`fields`]).
fn table(kind: Kind) -> &'static [Field] {
    match kind {
        Kind::Customer => fields::CUSTOMER,
        Kind::Invoice => fields::INVOICE,
        Kind::CreditNote => fields::CREDIT_NOTE,
        Kind::Payment => fields::PAYMENT,
        Kind::Item => fields::ITEM,
        Kind::TaxRate => fields::TAX_RATE,
        Kind::Event => &[],
    }
}

/// A field a request may set, with how its input is checked.
fn writable(kind: Kind, name: &str) -> Option<F> {
    table(kind)
        .iter()
        .find(|f| f.name == name && f.writable())
        .map(|f| f.kind)
}

/// A field the server computes or keeps (and `object`).
fn read_only(kind: Kind, name: &str) -> bool {
    name == "object" || table(kind).iter().any(|f| f.name == name && !f.writable())
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
            F::Metadata => Ok(Value::Object(Map::new())),
            F::Lines | F::Discounts | F::Taxes | F::AppliedTo | F::RateIds => {
                Ok(Value::Array(vec![]))
            }
            _ => Ok(Value::Null),
        };
    }
    Ok(match f {
        F::Text => match v {
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
        F::Date | F::Datetime => match v.as_i64() {
            Some(i) => Value::from(i),
            None => return Err(bad("an integer (Unix seconds)")),
        },
        F::Id => match v.as_i64() {
            Some(i) => Value::from(i),
            None => return Err(bad("an integer id")),
        },
        F::Money | F::Decimal => match value_dec(v) {
            Some(d) => dec_value(d),
            None => return Err(bad("a number")),
        },
        F::Currency => match v.as_str() {
            Some(s) if s.len() == 3 && s.chars().all(|c| c.is_ascii_alphabetic()) => {
                Value::String(s.to_ascii_lowercase())
            }
            _ => return Err(bad("a 3-letter ISO 4217 currency code")),
        },
        F::Metadata => metadata(v)?,
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
                            k if line_field(k) => {}
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
    for (name, v) in fields {
        if let Some(f) = writable(kind, &name) {
            if name == "id" && !creating {
                if obj.get("id") == Some(&v) {
                    continue;
                }
                return Err(ErrorReply::param(
                    "The id cannot be changed; create a new object instead",
                    "id",
                ));
            }
            let converted = convert(data, ctx, &name, f, &v)?;
            // Lists and free JSON are checked by reference and kept as sent.
            let keep = matches!(
                f,
                F::Lines | F::Discounts | F::Taxes | F::AppliedTo | F::Json
            ) && !v.is_null();
            obj.insert(name, if keep { v } else { converted });
        } else if read_only(kind, &name) {
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

/// The fields a document line keeps as sent: the writable ones.
pub(super) fn line_field(name: &str) -> bool {
    fields::LINE_ITEM
        .iter()
        .any(|f| f.name == name && f.writable())
}
