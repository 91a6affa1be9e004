//! The writes: `POST` (create), `PATCH` (update), `DELETE` and `void`,
//! the defaults and computed fields every write fills in (`finish`), and
//! which documents may still change.

use super::numbering::{check_number, emit, next_number, slug_id};
use super::payments::{applied_amounts, apply_payment, move_paid, recredit};
use super::schema::{apply_fields, required};
use super::totals::{compute_totals, settle_credit_note, settle_invoice};
use super::{bool_field, dec_field, not_found, Ctx, Kind};
use crate::emulator::reply::ErrorReply;
use crate::emulator::store::{Data, Key, Obj};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::sync::Arc;

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

pub(super) fn customer_field(
    data: &Data,
    ctx: &Ctx,
    id: Option<i64>,
    field: &str,
) -> Option<Value> {
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

    #[test]
    fn net_terms() {
        assert_eq!(net_days("NET 30"), Some(30));
        assert_eq!(net_days("net15"), Some(15));
        assert_eq!(net_days("due on receipt"), None);
    }
}
