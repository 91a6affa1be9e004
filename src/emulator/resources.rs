//! The resources of API.md: which fields each accepts and returns, required
//! and read-only fields, numbering, totals and balances, and the events
//! every change leaves behind. Objects are `serde_json` values; money is
//! computed with `Decimal` and written back as exact JSON numbers.

use super::reply::ErrorReply;
use super::store::{Data, Key, Obj};
use crate::model::{limits, round_money};
use rust_decimal::Decimal;
use serde_json::{Map, Number, Value};
use std::str::FromStr;
use std::sync::Arc;

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

fn required(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Customer | Kind::Item => &["name"],
        Kind::Invoice | Kind::CreditNote => &["customer"],
        Kind::Payment => &["amount"],
        Kind::TaxRate => &["name", "value"],
        Kind::Event => &[],
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

fn ref_id(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(o) => o.get("id").and_then(Value::as_i64),
        _ => None,
    }
}

/// A rate named as `"tva20"`, `{"tax_rate":"tva20"}` or `{"tax_rate":{"id":"tva20"}}`.
fn rate_ref(v: &Value, field: &str) -> Option<String> {
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
fn metadata(v: &Value) -> Result<Value, ErrorReply> {
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
fn apply_fields(
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

/// A tax rate's terms.
struct RateTerms {
    object: Value,
    value: Decimal,
    is_percent: bool,
    inclusive: bool,
}

fn lookup_rate(data: &Data, ctx: &Ctx, id: &str) -> Option<RateTerms> {
    let obj = data
        .companies
        .get(ctx.company)?
        .get(Kind::TaxRate, &Key::Str(id.to_string()))?;
    let (value, inclusive) = (dec_field(&obj, "value"), bool_field(&obj, "inclusive"));
    let is_percent = obj
        .get("is_percent")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    Some(RateTerms {
        object: obj.into_owned(),
        value,
        is_percent,
        inclusive,
    })
}

/// One tax computed on `base`: (output object, amount, inclusive).
fn tax_on(terms: &RateTerms, base: Decimal) -> Decimal {
    if terms.is_percent {
        if terms.inclusive {
            round_money(base * terms.value / (Decimal::ONE_HUNDRED + terms.value))
        } else {
            round_money(base * terms.value / Decimal::ONE_HUNDRED)
        }
    } else {
        round_money(terms.value)
    }
}

struct Applied {
    out: Vec<Value>,
    total: Decimal,
    /// Taxes that add to the total (exclusive ones).
    adds: Decimal,
}

/// Compute a list of taxes or discounts on `base`; unknown rates are dropped.
fn apply_rates(
    data: &mut Data,
    ctx: &Ctx,
    list: &Value,
    base: Decimal,
    taxes: bool,
    param: &str,
) -> Result<Applied, ErrorReply> {
    let mut out = Vec::new();
    let mut total = Decimal::ZERO;
    let mut adds = Decimal::ZERO;
    let Some(items) = list.as_array() else {
        return Ok(Applied { out, total, adds });
    };
    for r in items {
        let (rate_field, object) = if taxes {
            ("tax_rate", "tax")
        } else {
            ("coupon", "discount")
        };
        if let Value::Object(o) = r {
            for k in o.keys() {
                if !["id", "object", "amount", "tax_rate", "coupon"].contains(&k.as_str()) {
                    return Err(ErrorReply::param(
                        format!("Unknown parameter: {param}.{k}"),
                        "request",
                    ));
                }
            }
        }
        let named = rate_ref(r, rate_field);
        let (amount, inclusive, rate_obj) = match named {
            Some(id) if taxes => match lookup_rate(data, ctx, &id) {
                Some(terms) => (tax_on(&terms, base), terms.inclusive, terms.object),
                // Unknown tax rates are silently dropped (API.md).
                None => continue,
            },
            // No coupons in the emulator: a named coupon is unknown, dropped.
            Some(_) => continue,
            None => match r.get("amount").and_then(value_dec) {
                Some(a) => (round_money(a), false, Value::Null),
                None => {
                    return Err(ErrorReply::param(
                        format!(
                            "Invalid {param}: expected a rate id, {{\"{rate_field}\": id}} or {{\"amount\": number}}, found {r}"
                        ),
                        param,
                    ))
                }
            },
        };
        total += amount;
        if !inclusive {
            adds += amount;
        }
        let mut o = Map::with_capacity(6);
        o.insert("id".into(), Value::from(data.new_id()));
        o.insert("object".into(), Value::from(object));
        o.insert("amount".into(), dec_value(amount));
        o.insert(
            "tax_rate".into(),
            if taxes { rate_obj } else { Value::Null },
        );
        if !taxes {
            o.insert("coupon".into(), Value::Null);
        }
        out.push(Value::Object(o));
    }
    Ok(Applied { out, total, adds })
}

const LINE_FIELDS: &[&str] = &[
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

/// Recompute a document's lines and totals (API.md "Money, dates, totals").
fn compute_totals(
    data: &mut Data,
    ctx: &Ctx,
    obj: &mut Map<String, Value>,
) -> Result<(), ErrorReply> {
    let lines_in = match obj.remove("items") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    let mut lines = Vec::with_capacity(lines_in.len());
    let mut subtotal = Decimal::ZERO;
    let mut line_discounts = Decimal::ZERO;
    let mut line_tax_adds = Decimal::ZERO;
    let mut taxable_net = Decimal::ZERO;
    for (i, line) in lines_in.into_iter().enumerate() {
        let Value::Object(mut out) = line else {
            return Err(ErrorReply::param(
                format!("Invalid items[{i}]: expected an object, found {line}"),
                "items",
            ));
        };
        let kept_id = out.get("id").and_then(Value::as_i64);
        out.retain(|k, _| LINE_FIELDS.contains(&k.as_str()));
        // A catalog item fills in what the line leaves out.
        if let Some(item_id) = out.get("catalog_item").and_then(Value::as_str) {
            if let Some(item) = data
                .companies
                .get(ctx.company)
                .and_then(|c| c.get(Kind::Item, &Key::Str(item_id.to_string())))
                .map(std::borrow::Cow::into_owned)
            {
                for f in ["name", "description", "unit_cost", "taxes"] {
                    if out.get(f).is_none_or(Value::is_null) {
                        if let Some(v) = item.get(f) {
                            out.insert(f.to_string(), v.clone());
                        }
                    }
                }
            }
        }
        let num = |out: &Map<String, Value>, f: &str, default: Decimal| match out.get(f) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => value_dec(v).ok_or_else(|| {
                ErrorReply::param(
                    format!("Invalid items[{i}].{f}: expected a number, found {v}"),
                    "items",
                )
            }),
        };
        let quantity = num(&out, "quantity", Decimal::ONE)?;
        let unit_cost = num(&out, "unit_cost", Decimal::ZERO)?;
        for f in ["name", "description", "type", "catalog_item"] {
            match out.get(f) {
                None | Some(Value::Null) | Some(Value::String(_)) => {}
                Some(v) => {
                    return Err(ErrorReply::param(
                        format!("Invalid items[{i}].{f}: expected a string, found {v}"),
                        "items",
                    ))
                }
            }
        }
        let taxable = out.get("taxable").and_then(Value::as_bool).unwrap_or(true);
        let discountable = out
            .get("discountable")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let amount = round_money(quantity * unit_cost);
        let discounts = apply_rates(
            data,
            ctx,
            out.get("discounts").unwrap_or(&Value::Null),
            amount,
            false,
            &format!("items[{i}].discounts"),
        )?;
        let net = amount - discounts.total;
        let taxes = if taxable {
            apply_rates(
                data,
                ctx,
                out.get("taxes").unwrap_or(&Value::Null),
                net,
                true,
                &format!("items[{i}].taxes"),
            )?
        } else {
            Applied {
                out: vec![],
                total: Decimal::ZERO,
                adds: Decimal::ZERO,
            }
        };
        subtotal += amount;
        line_discounts += discounts.total;
        line_tax_adds += taxes.adds;
        if taxable {
            taxable_net += net;
        }
        let meta = match out.get("metadata") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(v) => metadata(v)?,
        };
        let line_id = kept_id.unwrap_or_else(|| data.new_id());
        let mut o = Map::with_capacity(16);
        o.insert("id".into(), Value::from(line_id));
        o.insert("object".into(), Value::from("line_item"));
        for f in ["catalog_item", "type", "name", "description"] {
            o.insert(f.into(), out.remove(f).unwrap_or(Value::Null));
        }
        o.insert("quantity".into(), dec_value(quantity));
        o.insert("unit_cost".into(), dec_value(unit_cost));
        o.insert("amount".into(), dec_value(amount));
        o.insert("discountable".into(), Value::Bool(discountable));
        o.insert("taxable".into(), Value::Bool(taxable));
        o.insert("discounts".into(), Value::Array(discounts.out));
        o.insert("taxes".into(), Value::Array(taxes.out));
        o.insert("metadata".into(), meta);
        lines.push(Value::Object(o));
    }
    let discounts = apply_rates(
        data,
        ctx,
        obj.get("discounts").unwrap_or(&Value::Null),
        subtotal - line_discounts,
        false,
        "discounts",
    )?;
    let tax_base = (taxable_net - discounts.total).max(Decimal::ZERO);
    let taxes = apply_rates(
        data,
        ctx,
        obj.get("taxes").unwrap_or(&Value::Null),
        tax_base,
        true,
        "taxes",
    )?;
    let total = (subtotal - line_discounts - discounts.total + line_tax_adds + taxes.adds)
        .max(Decimal::ZERO);
    obj.insert("items".into(), Value::Array(lines));
    obj.insert("discounts".into(), Value::Array(discounts.out));
    obj.insert("taxes".into(), Value::Array(taxes.out));
    obj.insert("subtotal".into(), dec_value(subtotal));
    obj.insert("total".into(), dec_value(total));
    Ok(())
}

/// Balance, paid, closed and status of an invoice from its total and what
/// has been paid and credited.
fn settle_invoice(obj: &mut Map<String, Value>, now: i64) {
    let o = Value::Object(std::mem::take(obj));
    let total = dec_field(&o, "total");
    let paid_amt = dec_field(&o, "amount_paid");
    let credited = dec_field(&o, "amount_credited");
    let draft = bool_field(&o, "draft");
    let voided = bool_field(&o, "voided");
    let Value::Object(mut m) = o else {
        unreachable!("built from a map")
    };
    let balance = if voided {
        Decimal::ZERO
    } else {
        (total - paid_amt - credited).max(Decimal::ZERO)
    };
    let paid = !draft && !voided && total > Decimal::ZERO && balance == Decimal::ZERO;
    let mut closed = m.get("closed").and_then(Value::as_bool).unwrap_or(false);
    if paid || voided {
        closed = true;
    }
    let due = m.get("due_date").and_then(Value::as_i64);
    let status = if voided {
        "voided"
    } else if draft {
        "draft"
    } else if paid {
        "paid"
    } else if due.is_some_and(|d| d < now) {
        "past_due"
    } else if m.get("sent").and_then(Value::as_bool).unwrap_or(false) {
        "sent"
    } else {
        "not_sent"
    };
    m.insert("balance".into(), dec_value(balance));
    m.insert("paid".into(), Value::Bool(paid));
    m.insert("closed".into(), Value::Bool(closed));
    m.insert("status".into(), Value::from(status));
    *obj = m;
}

fn settle_credit_note(obj: &mut Map<String, Value>) {
    let total = obj.get("total").and_then(value_dec).unwrap_or_default();
    let voided = obj.get("voided").and_then(Value::as_bool).unwrap_or(false);
    let draft = obj.get("draft").and_then(Value::as_bool).unwrap_or(false);
    let linked = obj.get("invoice").is_some_and(|v| !v.is_null());
    let balance = if voided || linked {
        Decimal::ZERO
    } else {
        total
    };
    let closed = voided
        || (!draft && balance == Decimal::ZERO)
        || obj.get("closed").and_then(Value::as_bool).unwrap_or(false);
    let status = if voided {
        "voided"
    } else if draft {
        "draft"
    } else if closed {
        "closed"
    } else {
        "open"
    };
    obj.insert("balance".into(), dec_value(balance));
    obj.insert("paid".into(), Value::Bool(!draft && !voided && linked));
    obj.insert("closed".into(), Value::Bool(closed));
    obj.insert("status".into(), Value::from(status));
}

/// Days from `NET 30`.
fn net_days(terms: &str) -> Option<i64> {
    let t = terms.trim().to_ascii_uppercase();
    let rest = t.strip_prefix("NET")?.trim();
    rest.parse().ok()
}

/// Today 00:00 in Chisinau.
fn today(now: i64) -> i64 {
    crate::model::date::from_unix(now)
        .map(crate::model::date::to_unix)
        .unwrap_or(now)
}

/// Record an event: `object` is the snapshot (shared, not copied).
/// `of` names the object's row when `object` is its current version.
fn emit(data: &mut Data, ctx: &Ctx, kind: &str, object: &Arc<Obj>, of: Option<(Kind, &Key)>) {
    let id = data.new_id();
    let mut e = Map::with_capacity(6);
    e.insert("id".into(), Value::from(id));
    e.insert("object".into(), Value::from("event"));
    e.insert("type".into(), Value::from(kind));
    e.insert("timestamp".into(), Value::from(ctx.now));
    e.insert("updated_at".into(), Value::from(ctx.now));
    data.put_event(
        ctx.company,
        Key::Num(id),
        Value::Object(e),
        object.clone(),
        of,
    );
}

fn check_number(
    data: &Data,
    ctx: &Ctx,
    kind: Kind,
    obj: &Map<String, Value>,
    own: Option<&Key>,
) -> Result<(), ErrorReply> {
    let Some(n) = obj.get("number").and_then(Value::as_str) else {
        return Ok(());
    };
    let taken = data
        .companies
        .get(ctx.company)
        .and_then(|c| c.tables.get(&kind))
        .and_then(|t| t.numbers.get(&n.to_lowercase()));
    match taken {
        Some(k) if Some(k) != own => Err(ErrorReply::param(
            format!(
                "The number {n} is already taken by another {}",
                kind.title()
            ),
            "number",
        )),
        _ => Ok(()),
    }
}

fn next_number(data: &mut Data, ctx: &Ctx, kind: Kind) -> Option<String> {
    let prefix = kind.number_prefix()?;
    loop {
        let n = data.bump(ctx.company, kind.path());
        let candidate = format!("{prefix}{n:05}");
        let taken = data
            .companies
            .get(ctx.company)
            .and_then(|c| c.tables.get(&kind))
            .is_some_and(|t| t.numbers.contains_key(&candidate.to_lowercase()));
        if !taken {
            return Some(candidate);
        }
    }
}

fn slug_id(data: &Data, ctx: &Ctx, kind: Kind, name: &str) -> String {
    let mut base: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    base.truncate(48);
    if base.is_empty() {
        base = kind.object().to_string();
    }
    let exists = |id: &str| {
        data.companies
            .get(ctx.company)
            .is_some_and(|c| c.contains(kind, &Key::Str(id.to_string())))
    };
    if !exists(&base) {
        return base;
    }
    (2..)
        .map(|i| format!("{base}-{i}"))
        .find(|c| !exists(c))
        .unwrap_or(base)
}

fn customer_field(data: &Data, ctx: &Ctx, id: Option<i64>, field: &str) -> Option<Value> {
    let c = data
        .companies
        .get(ctx.company)?
        .get(Kind::Customer, &Key::Num(id?))?;
    c.get(field).filter(|v| !v.is_null()).cloned()
}

/// Fill defaults and computed fields, check required ones.
fn finish(
    data: &mut Data,
    ctx: &Ctx,
    kind: Kind,
    obj: &mut Map<String, Value>,
    key: Option<&Key>,
    old: Option<&Value>,
) -> Result<(), ErrorReply> {
    for f in required(kind) {
        if obj.get(*f).is_none_or(Value::is_null) {
            return Err(ErrorReply::param(format!("{f} is required"), *f));
        }
    }
    check_number(data, ctx, kind, obj, key)?;
    let customer = obj.get("customer").and_then(Value::as_i64);
    match kind {
        Kind::Invoice | Kind::CreditNote => {
            if obj.get("currency").is_none_or(Value::is_null) {
                let c = customer_field(data, ctx, customer, "currency")
                    .unwrap_or_else(|| Value::from("mdl"));
                obj.insert("currency".into(), c);
            }
            if obj.get("date").is_none_or(Value::is_null) {
                obj.insert("date".into(), Value::from(today(ctx.now)));
            }
            for f in ["draft", "closed", "voided"] {
                if obj.get(f).is_none_or(Value::is_null) {
                    obj.insert(f.into(), Value::Bool(false));
                }
            }
            compute_totals(data, ctx, obj)?;
            if kind == Kind::Invoice {
                if obj.get("sent").is_none_or(Value::is_null) {
                    obj.insert("sent".into(), Value::Bool(false));
                }
                if obj.get("payment_terms").is_none_or(Value::is_null) {
                    if let Some(t) = customer_field(data, ctx, customer, "payment_terms") {
                        obj.insert("payment_terms".into(), t);
                    }
                }
                if obj.get("due_date").is_none_or(Value::is_null) {
                    let due = obj
                        .get("payment_terms")
                        .and_then(Value::as_str)
                        .and_then(net_days)
                        .zip(obj.get("date").and_then(Value::as_i64))
                        .map(|(d, date)| Value::from(date + d * 86400))
                        .unwrap_or(Value::Null);
                    obj.insert("due_date".into(), due);
                }
                for f in ["amount_paid", "amount_credited"] {
                    if obj.get(f).is_none() {
                        obj.insert(f.into(), Value::from(0));
                    }
                }
                settle_invoice(obj, ctx.now);
            } else {
                settle_credit_note(obj);
            }
        }
        Kind::Payment => {
            if obj.get("date").is_none_or(Value::is_null) {
                obj.insert("date".into(), Value::from(today(ctx.now)));
            }
            if obj.get("method").is_none_or(Value::is_null) {
                obj.insert("method".into(), Value::from("other"));
            }
            obj.insert("voided".into(), Value::Bool(false));
            apply_payment(data, ctx, obj, old)?;
        }
        Kind::TaxRate => {
            for (f, d) in [("is_percent", true), ("inclusive", false)] {
                if obj.get(f).is_none_or(Value::is_null) {
                    obj.insert(f.into(), Value::Bool(d));
                }
            }
        }
        _ => {}
    }
    if !obj.contains_key("metadata") || obj.get("metadata").is_some_and(Value::is_null) {
        obj.insert("metadata".into(), Value::Object(Map::new()));
    }
    Ok(())
}

/// Check a payment's `applied_to` and move its amounts onto the invoices
/// (after taking back what `old` had applied).
fn apply_payment(
    data: &mut Data,
    ctx: &Ctx,
    obj: &mut Map<String, Value>,
    old: Option<&Value>,
) -> Result<(), ErrorReply> {
    let amount = obj.get("amount").and_then(value_dec).unwrap_or_default();
    if amount <= Decimal::ZERO {
        return Err(ErrorReply::param(
            format!(
                "Invalid amount: expected more than 0, found {}",
                amount.normalize()
            ),
            "amount",
        ));
    }
    let old_applied = old.map(applied_amounts).unwrap_or_default();
    let list = obj
        .get("applied_to")
        .cloned()
        .unwrap_or(Value::Array(vec![]));
    let mut out = Vec::new();
    let mut plan: Vec<(i64, Decimal)> = Vec::new();
    let mut sum = Decimal::ZERO;
    for (i, a) in list.as_array().into_iter().flatten().enumerate() {
        let Value::Object(m) = a else {
            return Err(ErrorReply::param(
                format!("Invalid applied_to[{i}]: expected an object, found {a}"),
                "applied_to",
            ));
        };
        for k in m.keys() {
            if !["id", "type", "invoice", "amount"].contains(&k.as_str()) {
                return Err(ErrorReply::param(
                    format!("Unknown parameter: applied_to[{i}].{k}"),
                    "request",
                ));
            }
        }
        let kind = m.get("type").and_then(Value::as_str).unwrap_or("invoice");
        if kind != "invoice" {
            return Err(ErrorReply::param(
                format!("Invalid applied_to[{i}].type: expected invoice, found {kind}"),
                "applied_to",
            ));
        }
        let Some(inv_id) = m.get("invoice").and_then(ref_id) else {
            return Err(ErrorReply::param(
                format!("applied_to[{i}].invoice is required"),
                "applied_to",
            ));
        };
        let Some(a_amt) = m.get("amount").and_then(value_dec) else {
            return Err(ErrorReply::param(
                format!("applied_to[{i}].amount is required"),
                "applied_to",
            ));
        };
        let a_amt = round_money(a_amt);
        let Some(inv) = data
            .companies
            .get(ctx.company)
            .and_then(|c| c.get(Kind::Invoice, &Key::Num(inv_id)))
        else {
            return Err(ErrorReply::param(
                format!("No such invoice: {inv_id}"),
                "applied_to",
            ));
        };
        if bool_field(&inv, "voided") || bool_field(&inv, "draft") {
            return Err(ErrorReply::param(
                format!("Invoice {inv_id} is voided or a draft and cannot take payments"),
                "applied_to",
            ));
        }
        let already = plan
            .iter()
            .filter(|(id, _)| *id == inv_id)
            .map(|(_, a)| *a)
            .sum::<Decimal>();
        let back = old_applied
            .iter()
            .filter(|(id, _)| *id == inv_id)
            .map(|(_, a)| *a)
            .sum::<Decimal>();
        let room = dec_field(&inv, "balance") + back - already;
        if a_amt <= Decimal::ZERO || a_amt > room {
            return Err(ErrorReply::param(
                format!(
                    "Invalid applied_to[{i}].amount: expected more than 0 and at most the invoice balance {}, found {}",
                    room.normalize(),
                    a_amt.normalize()
                ),
                "applied_to",
            ));
        }
        if obj.get("customer").is_none_or(Value::is_null) {
            if let Some(c) = inv.get("customer") {
                obj.insert("customer".into(), c.clone());
            }
        }
        if obj.get("currency").is_none_or(Value::is_null) {
            if let Some(c) = inv.get("currency") {
                obj.insert("currency".into(), c.clone());
            }
        }
        sum += a_amt;
        plan.push((inv_id, a_amt));
        let mut o = Map::new();
        o.insert("type".into(), Value::from("invoice"));
        o.insert("invoice".into(), Value::from(inv_id));
        o.insert("amount".into(), dec_value(a_amt));
        out.push(Value::Object(o));
    }
    if sum > amount {
        return Err(ErrorReply::param(
            format!(
                "The applied amounts ({}) exceed the payment amount ({})",
                sum.normalize(),
                amount.normalize()
            ),
            "applied_to",
        ));
    }
    if obj.get("currency").is_none_or(Value::is_null) {
        let customer = obj.get("customer").and_then(Value::as_i64);
        let c =
            customer_field(data, ctx, customer, "currency").unwrap_or_else(|| Value::from("mdl"));
        obj.insert("currency".into(), c);
    }
    obj.insert("applied_to".into(), Value::Array(out));
    obj.insert("balance".into(), dec_value(amount - sum));
    for (inv_id, a) in old_applied {
        move_paid(data, ctx, inv_id, -a);
    }
    for (inv_id, a) in plan {
        move_paid(data, ctx, inv_id, a);
    }
    Ok(())
}

fn applied_amounts(payment: &Value) -> Vec<(i64, Decimal)> {
    payment
        .get("applied_to")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            Some((
                a.get("invoice")?.as_i64()?,
                a.get("amount").and_then(value_dec)?,
            ))
        })
        .collect()
}

/// Add `delta` to an invoice's paid amount and settle it.
fn move_paid(data: &mut Data, ctx: &Ctx, inv_id: i64, delta: Decimal) {
    let key = Key::Num(inv_id);
    let Some(Value::Object(mut inv)) = data
        .companies
        .get(ctx.company)
        .and_then(|c| c.get(Kind::Invoice, &key))
        .map(std::borrow::Cow::into_owned)
    else {
        return;
    };
    let paid = inv
        .get("amount_paid")
        .and_then(value_dec)
        .unwrap_or_default()
        + delta;
    inv.insert("amount_paid".into(), dec_value(paid));
    let was_paid = inv.get("paid").and_then(Value::as_bool).unwrap_or(false);
    if was_paid && delta < Decimal::ZERO {
        inv.insert("closed".into(), Value::Bool(false));
    }
    save_settled(data, ctx, key, inv);
}

/// Store an invoice whose amounts changed: settled again, updated now, and
/// an `invoice.updated` event.
fn save_settled(data: &mut Data, ctx: &Ctx, key: Key, mut inv: serde_json::Map<String, Value>) {
    settle_invoice(&mut inv, ctx.now);
    inv.insert("updated_at".into(), Value::from(ctx.now));
    let v = data.put(ctx.company, Kind::Invoice, key.clone(), Value::Object(inv));
    emit(
        data,
        ctx,
        "invoice.updated",
        &v,
        Some((Kind::Invoice, &key)),
    );
}

/// Recompute what credit notes take off an invoice.
fn recredit(data: &mut Data, ctx: &Ctx, inv_id: i64) {
    let credited: Decimal = data
        .companies
        .get(ctx.company)
        .and_then(|c| c.tables.get(&Kind::CreditNote))
        .map(|t| {
            t.rows()
                .values()
                .map(|cn| cn.fields(&["invoice", "voided", "draft", "total"]))
                .filter(|cn| cn.get("invoice").and_then(Value::as_i64) == Some(inv_id))
                .filter(|cn| !bool_field(cn, "voided") && !bool_field(cn, "draft"))
                .map(|cn| dec_field(&cn, "total"))
                .sum()
        })
        .unwrap_or_default();
    let key = Key::Num(inv_id);
    let Some(Value::Object(mut inv)) = data
        .companies
        .get(ctx.company)
        .and_then(|c| c.get(Kind::Invoice, &key))
        .map(std::borrow::Cow::into_owned)
    else {
        return;
    };
    if inv
        .get("amount_credited")
        .and_then(value_dec)
        .unwrap_or_default()
        == credited
    {
        return;
    }
    inv.insert("amount_credited".into(), dec_value(credited));
    save_settled(data, ctx, key, inv);
}

/// `POST /{kind}`.
pub fn create(data: &mut Data, ctx: &Ctx, kind: Kind, body: Value) -> Result<Arc<Obj>, ErrorReply> {
    if kind == Kind::Event {
        return Err(ErrorReply::method("Events are read-only"));
    }
    let mut obj = Map::with_capacity(40);
    apply_fields(data, ctx, kind, body, &mut obj, true)?;
    let key = if kind.string_ids() {
        let id = match obj.get("id").and_then(Value::as_str) {
            Some(id) => {
                if data
                    .companies
                    .get(ctx.company)
                    .is_some_and(|c| c.contains(kind, &Key::Str(id.to_string())))
                {
                    return Err(ErrorReply::param(
                        format!("A {} with the id {id} already exists", kind.title()),
                        "id",
                    ));
                }
                id.to_string()
            }
            None => {
                let name = obj.get("name").and_then(Value::as_str).unwrap_or("");
                slug_id(data, ctx, kind, name)
            }
        };
        Key::Str(id)
    } else {
        Key::Num(0)
    };
    // Check required fields and number clashes before spending ids.
    for f in required(kind) {
        if obj.get(*f).is_none_or(Value::is_null) {
            return Err(ErrorReply::param(format!("{f} is required"), *f));
        }
    }
    check_number(data, ctx, kind, &obj, None)?;
    finish(data, ctx, kind, &mut obj, None, None)?;
    let key = match key {
        Key::Num(_) => Key::Num(data.new_id()),
        k => k,
    };
    if kind.number_prefix().is_some() && obj.get("number").is_none_or(Value::is_null) {
        if let Some(n) = next_number(data, ctx, kind) {
            obj.insert("number".into(), Value::String(n));
        }
    }
    let mut out = Map::with_capacity(obj.len() + 8);
    out.insert("id".into(), key.to_json());
    out.insert("object".into(), Value::from(kind.object()));
    out.extend(obj);
    if kind.is_document() {
        let url = format!("{}/{}/{}", ctx.base, kind.path(), key.to_db());
        out.insert("url".into(), Value::from(url));
        out.insert("pdf_url".into(), Value::Null);
    }
    out.insert("created_at".into(), Value::from(ctx.now));
    out.insert("updated_at".into(), Value::from(ctx.now));
    let invoice = out.get("invoice").and_then(Value::as_i64);
    let v = data.put(ctx.company, kind, key.clone(), Value::Object(out));
    emit(
        data,
        ctx,
        &format!("{}.created", kind.object()),
        &v,
        Some((kind, &key)),
    );
    if kind == Kind::CreditNote {
        if let Some(inv) = invoice {
            recredit(data, ctx, inv);
        }
    }
    Ok(v)
}

fn get_owned(data: &Data, ctx: &Ctx, kind: Kind, key: &Key) -> Result<Value, ErrorReply> {
    data.companies
        .get(ctx.company)
        .and_then(|c| c.get(kind, key))
        .map(std::borrow::Cow::into_owned)
        .ok_or_else(|| not_found(kind, &key.to_db()))
}

/// Documents that may no longer change.
fn check_editable(kind: Kind, old: &Value, body: &Value) -> Result<(), ErrorReply> {
    if !(kind.is_document() || kind == Kind::Payment) {
        return Ok(());
    }
    if bool_field(old, "voided") {
        return Err(ErrorReply::bad(format!(
            "This {} is voided and can no longer be edited",
            kind.title()
        )));
    }
    if kind.is_document() && bool_field(old, "closed") {
        // The one edit a closed document takes: reopening (when not paid).
        let reopening = body.as_object().is_some_and(|m| {
            m.len() == 1 && m.get("closed") == Some(&Value::Bool(false)) && !bool_field(old, "paid")
        });
        if !reopening {
            return Err(ErrorReply::bad(format!(
                "This {} is closed and can no longer be edited",
                kind.title()
            )));
        }
    }
    Ok(())
}

/// `PATCH /{kind}/{id}`.
pub fn update(
    data: &mut Data,
    ctx: &Ctx,
    kind: Kind,
    key: &Key,
    body: Value,
) -> Result<Arc<Obj>, ErrorReply> {
    if kind == Kind::Event {
        return Err(ErrorReply::method("Events are read-only"));
    }
    let old = get_owned(data, ctx, kind, key)?;
    check_editable(kind, &old, &body)?;
    let Value::Object(mut obj) = old.clone() else {
        return Err(ErrorReply::internal("stored object is not a JSON object"));
    };
    let applied_changed = body.get("applied_to").is_some() || body.get("amount").is_some();
    apply_fields(data, ctx, kind, body, &mut obj, false)?;
    if kind == Kind::Payment {
        if applied_changed {
            finish(data, ctx, kind, &mut obj, Some(key), Some(&old))?;
        }
    } else {
        finish(data, ctx, kind, &mut obj, Some(key), Some(&old))?;
    }
    if kind.number_prefix().is_some() && obj.get("number").is_none_or(Value::is_null) {
        if let Some(n) = next_number(data, ctx, kind) {
            obj.insert("number".into(), Value::String(n));
        }
    }
    obj.insert("updated_at".into(), Value::from(ctx.now));
    let invoice = obj.get("invoice").and_then(Value::as_i64);
    let v = data.put(ctx.company, kind, key.clone(), Value::Object(obj));
    emit(
        data,
        ctx,
        &format!("{}.updated", kind.object()),
        &v,
        Some((kind, key)),
    );
    if kind == Kind::CreditNote {
        for inv in [old.get("invoice").and_then(Value::as_i64), invoice]
            .into_iter()
            .flatten()
        {
            recredit(data, ctx, inv);
        }
    }
    // A payment's changes may have moved invoices; reread their state.
    Ok(v)
}

/// `DELETE /{kind}/{id}`: `Some(object)` for a 200 reply (payments are
/// voided, not deleted), `None` for 204.
pub fn delete(
    data: &mut Data,
    ctx: &Ctx,
    kind: Kind,
    key: &Key,
) -> Result<Option<Arc<Obj>>, ErrorReply> {
    if kind == Kind::Event {
        return Err(ErrorReply::method("Events are read-only"));
    }
    let old = get_owned(data, ctx, kind, key)?;
    match kind {
        Kind::Payment => {
            if bool_field(&old, "voided") {
                return Err(ErrorReply::bad("This payment is already voided"));
            }
            let Value::Object(mut obj) = old.clone() else {
                return Err(ErrorReply::internal("stored object is not a JSON object"));
            };
            for (inv, a) in applied_amounts(&old) {
                move_paid(data, ctx, inv, -a);
            }
            obj.insert("voided".into(), Value::Bool(true));
            obj.insert("updated_at".into(), Value::from(ctx.now));
            let v = data.put(ctx.company, kind, key.clone(), Value::Object(obj));
            emit(data, ctx, "payment.updated", &v, Some((kind, key)));
            return Ok(Some(v));
        }
        Kind::Customer => {
            let id = old.get("id").and_then(Value::as_i64);
            let used = data.companies.get(ctx.company).is_some_and(|c| {
                [Kind::Invoice, Kind::CreditNote, Kind::Payment]
                    .iter()
                    .filter_map(|k| c.tables.get(k))
                    .any(|t| {
                        t.rows()
                            .values()
                            .any(|o| o.field("customer").and_then(|c| c.as_i64()) == id)
                    })
            });
            if used {
                return Err(ErrorReply::bad(
                    "This customer has invoices, credit notes or payments and cannot be deleted",
                ));
            }
        }
        Kind::Invoice if dec_field(&old, "amount_paid") > Decimal::ZERO => {
            return Err(ErrorReply::bad(
                "This invoice has payments applied; void them before deleting it",
            ));
        }
        _ => {}
    }
    if let Some(gone) = data.remove(ctx.company, kind, key) {
        emit(
            data,
            ctx,
            &format!("{}.deleted", kind.object()),
            &gone,
            None,
        );
    }
    if kind == Kind::CreditNote {
        if let Some(inv) = old.get("invoice").and_then(Value::as_i64) {
            recredit(data, ctx, inv);
        }
    }
    Ok(None)
}

/// `POST /{invoices|credit_notes}/{id}/void`.
pub fn void(data: &mut Data, ctx: &Ctx, kind: Kind, key: &Key) -> Result<Arc<Obj>, ErrorReply> {
    if !kind.is_document() {
        return Err(ErrorReply::not_found(format!(
            "No route: {}/{}/void",
            kind.path(),
            key.to_db()
        )));
    }
    let old = get_owned(data, ctx, kind, key)?;
    if bool_field(&old, "voided") {
        return Err(ErrorReply::bad(format!(
            "This {} is already voided",
            kind.title()
        )));
    }
    if dec_field(&old, "amount_paid") > Decimal::ZERO {
        return Err(ErrorReply::bad(
            "This invoice has payments applied; void them before voiding it",
        ));
    }
    let Value::Object(mut obj) = old.clone() else {
        return Err(ErrorReply::internal("stored object is not a JSON object"));
    };
    obj.insert("voided".into(), Value::Bool(true));
    if kind == Kind::Invoice {
        settle_invoice(&mut obj, ctx.now);
    } else {
        settle_credit_note(&mut obj);
    }
    obj.insert("updated_at".into(), Value::from(ctx.now));
    let v = data.put(ctx.company, kind, key.clone(), Value::Object(obj));
    emit(
        data,
        ctx,
        &format!("{}.updated", kind.object()),
        &v,
        Some((kind, key)),
    );
    if kind == Kind::CreditNote {
        if let Some(inv) = old.get("invoice").and_then(Value::as_i64) {
            recredit(data, ctx, inv);
        }
    }
    Ok(v)
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

    #[test]
    fn inclusive_and_exclusive_taxes() {
        let t = |v, inclusive| RateTerms {
            object: Value::Null,
            value: v,
            is_percent: true,
            inclusive,
        };
        assert_eq!(tax_on(&t(dec!(20), false), dec!(10.05)), dec!(2.01));
        assert_eq!(tax_on(&t(dec!(20), true), dec!(120)), dec!(20));
        // 0.125 rounds away from zero.
        assert_eq!(tax_on(&t(dec!(12.5), false), dec!(1)), dec!(0.13));
    }

    #[test]
    fn net_terms() {
        assert_eq!(net_days("NET 30"), Some(30));
        assert_eq!(net_days("net15"), Some(15));
        assert_eq!(net_days("due on receipt"), None);
    }
}
