//! Payments and credits: a payment's `applied_to` checked and moved onto
//! its invoices' paid amounts (after taking back what it applied before),
//! and credit notes' totals onto their invoice's `amount_credited`; every
//! invoice so changed is settled again and records `invoice.updated`.

use super::numbering::emit;
use super::schema::ref_id;
use super::totals::settle_invoice;
use super::writes::customer_field;
use super::{bool_field, dec_field, dec_value, value_dec, Ctx, Kind};
use crate::emulator::reply::ErrorReply;
use crate::emulator::store::{Data, Key};
use crate::model::round_money;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// Check a payment's `applied_to` and move its amounts onto the invoices
/// (after taking back what `old` had applied).
pub(super) fn apply_payment(
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

pub(super) fn applied_amounts(payment: &Value) -> Vec<(i64, Decimal)> {
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
pub(super) fn move_paid(data: &mut Data, ctx: &Ctx, inv_id: i64, delta: Decimal) {
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
pub(super) fn recredit(data: &mut Data, ctx: &Ctx, inv_id: i64) {
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
