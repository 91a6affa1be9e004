//! Rates and totals: tax rates and discounts applied to a base, a
//! document's lines and totals recomputed (API.md "Money, dates, totals"),
//! and the settled state of invoices and credit notes (balance, paid,
//! closed, status).

use super::schema::{line_field, metadata, rate_ref};
use super::{bool_field, dec_field, dec_value, value_dec, Ctx, Kind};
use crate::emulator::reply::ErrorReply;
use crate::emulator::store::{Data, Key};
use crate::model::round_money;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

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

/// The reply to amounts whose sums or products the API cannot hold.
fn out_of_range(param: &str) -> ErrorReply {
    ErrorReply::param(
        format!(
            "Invalid {param}: the amounts add up beyond what the API holds (below {})",
            crate::model::money::AMOUNT_LIMIT_TEXT
        ),
        param,
    )
}

/// `a + b`, or the 400 for amounts out of range.
fn add(a: Decimal, b: Decimal, param: &str) -> Result<Decimal, ErrorReply> {
    a.checked_add(b)
        .filter(|x| crate::model::money::in_range(*x))
        .ok_or_else(|| out_of_range(param))
}

/// One tax computed on `base` (`None`: beyond what a decimal holds).
fn tax_on(terms: &RateTerms, base: Decimal) -> Option<Decimal> {
    Some(if terms.is_percent {
        let divisor = if terms.inclusive {
            Decimal::ONE_HUNDRED.checked_add(terms.value)?
        } else {
            Decimal::ONE_HUNDRED
        };
        round_money(base.checked_mul(terms.value)?.checked_div(divisor)?)
    } else {
        round_money(terms.value)
    })
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
                Some(terms) => (
                    tax_on(&terms, base).ok_or_else(|| out_of_range(param))?,
                    terms.inclusive,
                    terms.object,
                ),
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
        total = add(total, amount, param)?;
        if !inclusive {
            adds = add(adds, amount, param)?;
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

/// Recompute a document's lines and totals (API.md "Money, dates, totals").
pub(super) fn compute_totals(
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
        out.retain(|k, _| line_field(k));
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
        let param = format!("items[{i}]");
        let amount = quantity
            .checked_mul(unit_cost)
            .map(round_money)
            .filter(|a| crate::model::money::in_range(*a))
            .ok_or_else(|| out_of_range(&param))?;
        let discounts = apply_rates(
            data,
            ctx,
            out.get("discounts").unwrap_or(&Value::Null),
            amount,
            false,
            &format!("items[{i}].discounts"),
        )?;
        let net = amount
            .checked_sub(discounts.total)
            .ok_or_else(|| out_of_range(&param))?;
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
        subtotal = add(subtotal, amount, "items")?;
        line_discounts = add(line_discounts, discounts.total, "items")?;
        line_tax_adds = add(line_tax_adds, taxes.adds, "items")?;
        if taxable {
            taxable_net = add(taxable_net, net, "items")?;
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
    // Each term is below 10¹²: their sum cannot overflow.
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
pub(super) fn settle_invoice(obj: &mut Map<String, Value>, now: i64) {
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

pub(super) fn settle_credit_note(obj: &mut Map<String, Value>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn inclusive_and_exclusive_taxes() {
        let t = |v, inclusive| RateTerms {
            object: Value::Null,
            value: v,
            is_percent: true,
            inclusive,
        };
        assert_eq!(tax_on(&t(dec!(20), false), dec!(10.05)), Some(dec!(2.01)));
        assert_eq!(tax_on(&t(dec!(20), true), dec!(120)), Some(dec!(20)));
        // 0.125 rounds away from zero.
        assert_eq!(tax_on(&t(dec!(12.5), false), dec!(1)), Some(dec!(0.13)));
    }
}
