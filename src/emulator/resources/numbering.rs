//! Numbering and events: the check that a `number` is unique (case
//! insensitively) within its kind, the next generated number
//! (`INV-00001`, ...), string ids made from names, and the event every
//! change records.

use super::{Ctx, Kind};
use crate::emulator::reply::ErrorReply;
use crate::emulator::store::{Data, Key, Obj};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Record an event: `object` is the snapshot (shared, not copied).
/// `of` names the object's row when `object` is its current version.
pub(super) fn emit(
    data: &mut Data,
    ctx: &Ctx,
    kind: &str,
    object: &Arc<Obj>,
    of: Option<(Kind, &Key)>,
) {
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

pub(super) fn check_number(
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

pub(super) fn next_number(data: &mut Data, ctx: &Ctx, kind: Kind) -> Option<String> {
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

pub(super) fn slug_id(data: &Data, ctx: &Ctx, kind: Kind, name: &str) -> String {
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
