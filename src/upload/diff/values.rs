//! Values as the API keeps them, compared the way a person means them (an
//! empty cell is no value, `mdl` is `MDL`, `2.50` is `2.5`, a date is its
//! Chisinau day), shown for people, and turned back into request form
//! (applied rates as `{tax_rate}` / `{amount}`, a line's writable fields).

use crate::model::date::from_unix;
use crate::model::fields::{self, Kind};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::str::FromStr;

/// A JSON number or numeric string as a decimal.
pub(super) fn dec(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => {
            let s = n.to_string();
            Decimal::from_str(&s)
                .or_else(|_| Decimal::from_scientific(&s))
                .ok()
        }
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

/// Money with at least two decimals (`120.00`, `1.125`).
pub(super) fn money(d: Decimal) -> String {
    let mut d = d.normalize();
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

/// Text of a scalar; null and empty text are the same: nothing.
pub(super) fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.to_string() == "1",
        Value::String(s) => matches!(s.trim().to_lowercase().as_str(), "true" | "1" | "yes"),
        _ => false,
    }
}

/// An id, whether the object is expanded or not.
pub(super) fn ref_id(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(o) => o.get("id").and_then(ref_id),
        _ => None,
    }
}

/// The rate ids of applied rates, sorted; a rate applied by amount alone
/// counts as `amount:X`.
pub(super) fn rate_ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(|r| match r {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => ["tax_rate", "coupon"]
                .iter()
                .find_map(|k| o.get(*k).filter(|x| !x.is_null()).map(rate_name))
                .or_else(|| {
                    o.get("amount")
                        .and_then(dec)
                        .map(|a| format!("amount:{}", a.normalize()))
                }),
            _ => None,
        })
        .collect();
    out.sort();
    out
}

fn rate_name(v: &Value) -> String {
    match v {
        Value::Object(o) => o.get("id").map(text).unwrap_or_default(),
        other => text(other),
    }
}

/// The sum of applied rates' amounts (discounts).
pub(super) fn amounts(v: &Value) -> Decimal {
    v.as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(|r| r.get("amount").and_then(dec))
        .fold(Decimal::ZERO, |a, b| a + b)
}

/// Whether the wanted value `a` and the account's `b` are the same, for a
/// field of this kind.
pub(super) fn same(kind: Kind, a: &Value, b: &Value) -> bool {
    match kind {
        Kind::Currency => text(a).trim().eq_ignore_ascii_case(text(b).trim()),
        Kind::Date => day(a) == day(b),
        Kind::Bool => truthy(a) == truthy(b),
        Kind::Money | Kind::Decimal => match (dec(a), dec(b)) {
            (Some(x), Some(y)) => x == y,
            (x, y) => x.is_none() && y.is_none() && text(a).trim() == text(b).trim(),
        },
        Kind::Id | Kind::CustomerRef | Kind::InvoiceRef => ref_id(a) == ref_id(b),
        Kind::Taxes | Kind::RateIds => rate_ids(a) == rate_ids(b),
        Kind::Discounts => amounts(a) == amounts(b),
        Kind::Json | Kind::AppliedTo | Kind::Lines | Kind::Metadata => {
            a == b || (empty(a) && empty(b))
        }
        Kind::Datetime => a.as_i64() == b.as_i64(),
        Kind::Text | Kind::Number | Kind::StrId | Kind::Enum(_) => text(a) == text(b),
    }
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn day(v: &Value) -> Option<chrono::NaiveDate> {
    v.as_i64().and_then(from_unix)
}

/// A value of this kind for people: dates as `YYYY-MM-DD`, money with two
/// decimals, rates by id.
pub(super) fn show(kind: Kind, v: &Value) -> String {
    match kind {
        Kind::Date => day(v)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| text(v)),
        Kind::Money => dec(v).map(money).unwrap_or_else(|| text(v)),
        Kind::Decimal => dec(v)
            .map(|d| d.normalize().to_string())
            .unwrap_or_else(|| text(v)),
        Kind::Bool => truthy(v).to_string(),
        Kind::Taxes | Kind::RateIds => rate_ids(v).join(", "),
        Kind::Discounts if empty(v) => String::new(),
        Kind::Discounts => money(amounts(v)),
        Kind::Id | Kind::CustomerRef | Kind::InvoiceRef => {
            ref_id(v).map(|i| i.to_string()).unwrap_or_default()
        }
        _ => text(v),
    }
}

/// Applied rates in request form: `{tax_rate}` (or `{coupon}`) when named,
/// `{amount}` otherwise.
pub(super) fn input_rates(v: &Value, taxes: bool) -> Value {
    let out: Vec<Value> = v
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(|r| {
            let named = |k: &str| r.get(k).filter(|x| !x.is_null()).map(rate_name);
            let mut o = Map::new();
            match (named("tax_rate"), named("coupon")) {
                (Some(id), _) if taxes => {
                    o.insert("tax_rate".into(), Value::String(id));
                }
                (_, Some(id)) if !taxes => {
                    o.insert("coupon".into(), Value::String(id));
                }
                _ => {
                    o.insert("amount".into(), r.get("amount")?.clone());
                }
            }
            Some(Value::Object(o))
        })
        .collect();
    Value::Array(out)
}

/// A line as the account returned it, in request form: its id and its
/// writable fields (rates as request rates), nulls left out.
pub(super) fn input_line(line: &Value) -> Map<String, Value> {
    let mut o = Map::new();
    if let Some(id) = line.get("id").filter(|v| !v.is_null()) {
        o.insert("id".into(), id.clone());
    }
    for f in fields::LINE_ITEM.iter().filter(|f| f.writable()) {
        let Some(v) = line.get(f.name).filter(|v| !v.is_null()) else {
            continue;
        };
        let v = match f.kind {
            Kind::Taxes => input_rates(v, true),
            Kind::Discounts => input_rates(v, false),
            _ => v.clone(),
        };
        o.insert(f.name.into(), v);
    }
    o
}

/// A document field of the account's version in request form (for the
/// rollback's restore, and as the base of a merged line).
pub(super) fn input_value(kind: Kind, v: &Value) -> Value {
    match kind {
        Kind::Lines => Value::Array(
            v.as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .map(|l| Value::Object(input_line(l)))
                .collect(),
        ),
        Kind::Taxes => input_rates(v, true),
        Kind::Discounts => input_rates(v, false),
        Kind::Metadata if v.is_null() => Value::Object(Map::new()),
        Kind::AppliedTo if v.is_null() => Value::Array(vec![]),
        Kind::CustomerRef | Kind::InvoiceRef => ref_id(v).map(Value::from).unwrap_or(Value::Null),
        _ => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_compare_as_people_mean_them() {
        assert!(same(Kind::Currency, &json!("MDL"), &json!("mdl")));
        assert!(same(Kind::Money, &json!(2.5), &json!("2.50")));
        assert!(!same(Kind::Money, &json!(2.5), &json!(2.51)));
        assert!(same(Kind::Text, &json!(null), &json!("")));
        assert!(!same(Kind::Text, &json!("a"), &json!("a ")));
        assert!(same(Kind::Bool, &json!(null), &json!(false)));
        // 00:00 and 12:00 of the same Chisinau day.
        assert!(same(Kind::Date, &json!(1704405600), &json!(1704448800)));
        assert!(same(
            Kind::Taxes,
            &json!([{"tax_rate": "tva8"}, {"tax_rate": "tva20"}]),
            &json!([{"id": 1, "amount": 2, "tax_rate": {"id": "tva20"}}, {"id": 2, "tax_rate": "tva8"}])
        ));
        assert!(same(
            Kind::Discounts,
            &json!([{"amount": 8}]),
            &json!([{"id": 1, "amount": 5}, {"id": 2, "amount": 3}])
        ));
        assert!(same(
            Kind::CustomerRef,
            &json!(9),
            &json!({"id": 9, "name": "x"})
        ));
    }

    #[test]
    fn account_lines_come_back_in_request_form() {
        let line = json!({"id": 16, "object": "line_item", "name": "Pâine", "catalog_item": null,
            "quantity": 2, "unit_cost": 10.25, "amount": 20.5, "discountable": true, "taxable": true,
            "discounts": [{"id": 7, "object": "discount", "amount": 1.5, "coupon": null}],
            "taxes": [{"id": 8, "object": "tax", "amount": 3.8, "tax_rate": {"id": "tva20", "value": 20}}],
            "metadata": {}});
        let input = Value::Object(input_line(&line));
        assert_eq!(
            input,
            json!({"id": 16, "name": "Pâine", "quantity": 2, "unit_cost": 10.25,
                "discountable": true, "taxable": true, "discounts": [{"amount": 1.5}],
                "taxes": [{"tax_rate": "tva20"}], "metadata": {}})
        );
        assert_eq!(show(Kind::Money, &json!(120)), "120.00");
        assert_eq!(show(Kind::Date, &json!(1704405600)), "2024-01-05");
        assert_eq!(show(Kind::Taxes, &line["taxes"]), "tva20");
    }
}
