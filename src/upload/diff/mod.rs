//! A document (or customer) as the import wants it, compared with the
//! account's current version: what differs, field by field, for people, and
//! the PATCH that makes the account match: only the fields that differ, the
//! whole `items` and the whole metadata map when those differ (API.md:
//! PATCH replaces them whole). Also told here: a conflict (the account
//! changed the document after the export), a document that cannot be edited
//! (closed, paid, voided), computed values edited in the file (a warning at
//! the cell), and the fields a rollback sends back. Pure functions: the
//! dry run and the import call the same ones, so what the dry run says
//! will change is what the import changes.
//!
//! - `values`: comparing, showing and request forms of the API's values;
//! - `lines`: matching rows to lines, and the lines' changes.
//!
//! Two ways to say what is wanted: a round trip's [`Scope`] (the fields its
//! file has: an empty cell clears a field, a field without a column stays),
//! or, for `--on-existing update` of an ordinary import, the request body
//! itself (the fields it has; its metadata whole).

mod lines;
mod values;

use crate::model::fields::{self, Field, Kind};
use crate::model::{
    Computed, Customer, DocKind, Draft, Origins, Problem, Record, Scope, IMPORT_KEY,
};
use lines::{LineScope, Lines};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value};
use values::{dec, ref_id, same, show, text};

/// What a comparison found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nothing to send.
    Unchanged,
    /// A PATCH will make the account match.
    Changed,
    /// The account changed the document after the export: not sent
    /// (unless forced), so that nobody's change is lost.
    Conflict,
    /// Closed, paid or voided: the API refuses changes.
    Locked,
}

/// One field that differs: before (the account's), after (the file's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// `notes`, `metadata.project`, `line 2 quantity`, `line added`, `total`.
    pub field: String,
    pub before: String,
    pub after: String,
}

impl FieldChange {
    pub fn new(
        field: impl Into<String>,
        before: impl Into<String>,
        after: impl Into<String>,
    ) -> Self {
        FieldChange {
            field: field.into(),
            before: before.into(),
            after: after.into(),
        }
    }
}

/// The outcome of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    pub status: Status,
    /// What differs (also for a conflict or a locked document, for people).
    pub changes: Vec<FieldChange>,
    /// The PATCH body; empty when unchanged.
    pub patch: Map<String, Value>,
    /// Edited computed cells, rows that could not be matched, a customer
    /// the file changes on a document: each at its cell when known.
    pub warnings: Vec<Problem>,
    /// Why a conflict or a locked document is not sent.
    pub why: Option<String>,
}

/// What is wanted of one object.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    /// The object as a create request would send it.
    pub body: &'a Value,
    /// The API's fields of its resource.
    pub table: &'static [Field],
    /// A round trip's fields; `None`: every field of `body`, its metadata whole.
    pub scope: Option<&'a Scope>,
    pub record: Record,
    /// Its `updated_at` as exported (round trips).
    pub exported_at: Option<i64>,
    pub computed: &'a [Computed],
    /// Where its fields came from, for warnings at their cells.
    pub origins: Option<&'a Origins>,
    /// A document's customer as the file names it.
    pub customer: Option<&'a Customer>,
}

impl<'a> Wanted<'a> {
    /// What a round trip's draft wants, `body` being [`body_of`] the draft.
    pub fn of(draft: &'a Draft, body: &'a Value) -> Wanted<'a> {
        let (exported_at, customer) = match draft.record {
            Record::Customer => (draft.customer.updated_at, None),
            Record::Document => (draft.invoice.updated_at, Some(&draft.customer)),
        };
        Wanted {
            body,
            table: table_of(draft),
            scope: draft.scope.as_deref(),
            record: draft.record,
            exported_at,
            computed: &draft.computed,
            origins: Some(&draft.origins),
            customer,
        }
    }
}

/// The ledger's kind of what a draft puts on the account.
pub fn unit_kind(draft: &Draft) -> crate::ledger::UnitKind {
    use crate::ledger::UnitKind;
    match (draft.record, draft.kind) {
        (Record::Customer, _) => UnitKind::Customer,
        (Record::Document, DocKind::Invoice) => UnitKind::Invoice,
        (Record::Document, DocKind::CreditNote) => UnitKind::CreditNote,
    }
}

/// The API's fields of what a draft puts on the account.
pub fn table_of(draft: &Draft) -> &'static [Field] {
    match (draft.record, draft.kind) {
        (Record::Customer, _) => fields::CUSTOMER,
        (Record::Document, DocKind::Invoice) => fields::INVOICE,
        (Record::Document, DocKind::CreditNote) => fields::CREDIT_NOTE,
    }
}

/// A draft's object as JSON, the way a create request would send it
/// (before its customer is resolved).
pub fn body_of(draft: &Draft) -> Result<Value, serde_json::Error> {
    match (draft.record, draft.kind) {
        (Record::Customer, _) => serde_json::to_value(&draft.customer),
        (Record::Document, DocKind::Invoice) => serde_json::to_value(&draft.invoice),
        (Record::Document, DocKind::CreditNote) => serde_json::to_value(draft.credit_note()),
    }
}

/// Take out of a create request's body what the API computes or keeps
/// (ids, `updated_at`, totals: a round trip's drafts carry some), its
/// lines' ids and amounts included.
pub fn strip_read_only(body: &mut Value, table: &'static [Field]) {
    let Some(o) = body.as_object_mut() else {
        return;
    };
    o.retain(|k, _| fields::find(table, k).is_none_or(|f| f.writable()));
    if let Some(items) = o.get_mut("items").and_then(Value::as_array_mut) {
        for l in items.iter_mut().filter_map(Value::as_object_mut) {
            l.retain(|k, _| fields::find(fields::LINE_ITEM, k).is_none_or(|f| f.writable()));
        }
    }
}

/// A tax rate's value (percent) by its id, when known.
pub type RateValue<'a> = dyn Fn(&str) -> Option<Decimal> + 'a;

/// How to compare.
#[derive(Clone, Copy, Default)]
pub struct DiffOptions<'a> {
    /// Send conflicts anyway (`--force`).
    pub force: bool,
    /// Tax rates' values, to show how a document's total will change.
    pub rate_value: Option<&'a RateValue<'a>>,
}

impl std::fmt::Debug for DiffOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiffOptions")
            .field("force", &self.force)
            .finish_non_exhaustive()
    }
}

/// Compare what is wanted with the account's `current` version.
pub fn diff(w: &Wanted<'_>, current: &Value, opts: DiffOptions<'_>) -> Diff {
    let mut changes = Vec::new();
    let mut patch = Map::new();
    let mut warnings = Vec::new();
    let get = |v: &'_ Value, k: &str| -> Value { v.get(k).cloned().unwrap_or(Value::Null) };
    // The object's own fields.
    let names: Vec<&str> = match w.scope {
        Some(s) if w.record == Record::Customer => s.customer.clone(),
        Some(s) => s.fields.clone(),
        None => w
            .body
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default(),
    };
    for name in names {
        let Some(f) = fields::find(w.table, name).filter(|f| f.writable()) else {
            continue;
        };
        if matches!(
            f.kind,
            Kind::Lines | Kind::Metadata | Kind::CustomerRef | Kind::InvoiceRef
        ) {
            continue;
        }
        let (want, have) = (get(w.body, name), get(current, name));
        if !same(f.kind, &want, &have) {
            changes.push(FieldChange::new(
                name,
                show(f.kind, &have),
                show(f.kind, &want),
            ));
            patch.insert(name.to_string(), cleared(f.kind, want));
        }
    }
    // Metadata.
    let (wm, cm) = (meta(w.body), meta(current));
    let keys: Vec<String> = match w.scope {
        Some(s) if w.record == Record::Customer => s.customer_metadata.clone(),
        Some(s) => s.metadata.clone(),
        None => wm.keys().chain(cm.keys()).cloned().collect(),
    };
    let mut new_meta = if w.scope.is_some() {
        cm.clone()
    } else {
        wm.clone()
    };
    let mut meta_changed = false;
    for k in keys {
        // The import key is the tool's own: a round trip keeps the account's.
        if w.scope.is_some() && k == IMPORT_KEY {
            continue;
        }
        let (a, b) = (
            wm.get(&k).map(text).unwrap_or_default(),
            cm.get(&k).map(text).unwrap_or_default(),
        );
        if a != b
            && !changes
                .iter()
                .any(|c: &FieldChange| c.field == format!("metadata.{k}"))
        {
            changes.push(FieldChange::new(format!("metadata.{k}"), b, a.clone()));
            meta_changed = true;
        }
        if a.is_empty() {
            new_meta.remove(&k);
        } else {
            new_meta.insert(k, Value::String(a));
        }
    }
    if meta_changed {
        patch.insert("metadata".into(), Value::Object(new_meta));
    }
    // Lines.
    let mut matched: Vec<Option<usize>> = Vec::new();
    if w.record == Record::Document {
        let wanted = w.body.get("items").and_then(Value::as_array);
        let compare_lines = match w.scope {
            Some(s) => s.has_lines(),
            None => wanted.is_some_and(|l| !l.is_empty()),
        };
        if compare_lines {
            let empty = Vec::new();
            let cur = current
                .get("items")
                .and_then(Value::as_array)
                .unwrap_or(&empty);
            let scope = LineScope {
                fields: w.scope.map(|s| s.line.as_slice()),
                metadata: w.scope.map_or(&[][..], |s| s.line_metadata.as_slice()),
            };
            let Lines {
                changes: line_changes,
                items,
                matched: m,
                notes,
            } = lines::compare(wanted.unwrap_or(&empty), cur, &scope);
            changes.extend(line_changes);
            if let Some(items) = items {
                patch.insert("items".into(), Value::Array(items));
            }
            for (i, note) in notes {
                let path = format!("items[{i}].id");
                warnings.push(warn("line_not_matched", &path, note, w.origins));
            }
            matched = m;
        }
    }
    // The total the account will compute.
    if let (Some(rate_value), true) = (opts.rate_value, patch.contains_key("items")) {
        if let Some(after) = total_after(current, &patch, rate_value) {
            let before = get(current, "total");
            if dec(&before) != Some(after) {
                changes.push(FieldChange::new(
                    "total",
                    show(Kind::Money, &before),
                    values::money(after),
                ));
            }
        }
    }
    let conflict = match (
        w.exported_at,
        current.get("updated_at").and_then(Value::as_i64),
    ) {
        (Some(exported), Some(now)) if now > exported => Some((exported, now)),
        _ => None,
    };
    if conflict.is_none() {
        warnings.extend(computed_edits(w, current, &matched));
        warnings.extend(customer_edits(w, current));
    }
    let locked = ["voided", "paid", "closed"]
        .into_iter()
        .filter(|_| w.record == Record::Document)
        .find(|f| current.get(*f).and_then(Value::as_bool) == Some(true));
    let (status, why) = if changes.is_empty() {
        (Status::Unchanged, None)
    } else if let (Some((exported, now)), false) = (conflict, opts.force) {
        (
            Status::Conflict,
            Some(format!(
                "changed on the account at {} (updated_at), after the export ({}); export again, or give --force to send it anyway",
                moment(now),
                moment(exported)
            )),
        )
    } else if let Some(state) = locked {
        (
            Status::Locked,
            Some(format!(
                "it is {state}: the API refuses changes to closed, paid or voided documents"
            )),
        )
    } else {
        (Status::Changed, None)
    };
    if status != Status::Changed {
        patch.clear();
    }
    Diff {
        status,
        changes,
        patch,
        warnings,
        why,
    }
}

/// A wanted value, as a PATCH clears it when the cell is empty.
fn cleared(kind: Kind, want: Value) -> Value {
    match (kind, &want) {
        (Kind::Taxes | Kind::Discounts | Kind::RateIds | Kind::AppliedTo, Value::Null) => {
            Value::Array(vec![])
        }
        _ => want,
    }
}

fn meta(v: &Value) -> Map<String, Value> {
    v.get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn moment(t: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
        .map(|at| {
            at.with_timezone(&crate::model::date::TZ)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| t.to_string())
}

fn warn(code: &'static str, path: &str, message: String, origins: Option<&Origins>) -> Problem {
    let cell = origins.and_then(|o| o.get(path));
    let row = origins.and_then(|o| o.row_under(path.split('.').next().unwrap_or(path)));
    Problem::warning(code, path, message)
        .at(cell.as_ref())
        .at_row(row.as_ref())
}

/// The document's total once the patch is applied, the API's way.
fn total_after(
    current: &Value,
    patch: &Map<String, Value>,
    rate_value: &RateValue<'_>,
) -> Option<Decimal> {
    let mut doc = Map::new();
    for key in ["items", "discounts", "taxes"] {
        let v = patch
            .get(key)
            .cloned()
            .or_else(|| {
                current
                    .get(key)
                    .map(|v| values::input_value(kind_of_invoice(key), v))
            })
            .unwrap_or(Value::Null);
        doc.insert(key.into(), v);
    }
    if let Some(items) = doc.get_mut("items").and_then(Value::as_array_mut) {
        for l in items.iter_mut().filter_map(Value::as_object_mut) {
            l.remove("id");
        }
    }
    let invoice: crate::model::Invoice = serde_json::from_value(Value::Object(doc)).ok()?;
    crate::validate::totals::totals(&invoice, false, rate_value).total
}

fn kind_of_invoice(field: &str) -> Kind {
    fields::find(fields::INVOICE, field).map_or(Kind::Text, |f| f.kind)
}

/// Computed cells whose value is not the account's: a person edited one.
fn computed_edits(w: &Wanted<'_>, current: &Value, matched: &[Option<usize>]) -> Vec<Problem> {
    let mut out = Vec::new();
    for c in w.computed {
        let (have, field) = match c.path.strip_prefix("items[") {
            Some(rest) => {
                let Some((i, field)) = rest.split_once("].") else {
                    continue;
                };
                let Some(j) = i.parse::<usize>().ok().and_then(|i| *matched.get(i)?) else {
                    continue;
                };
                let line = current.get("items").and_then(|l| l.get(j));
                (line.and_then(|l| l.get(field)).cloned(), field)
            }
            None => (current.get(&c.path).cloned(), c.path.as_str()),
        };
        let Some(have) = have else { continue };
        let file = Value::String(c.text.clone());
        let equal = match (dec(&file), dec(&have)) {
            (Some(a), Some(b)) => a == b,
            _ if have.is_boolean() => same(Kind::Bool, &file, &have),
            _ => text(&file).trim().eq_ignore_ascii_case(text(&have).trim()),
        };
        if equal {
            continue;
        }
        let how = match field {
            "status" | "paid" | "balance" => "it follows the document's payments and state",
            _ => "change quantity or unit cost",
        };
        out.push(
            warn(
                "computed_edited",
                &c.path,
                format!("{field} is computed by the API: {how}; the edit is not imported"),
                w.origins,
            )
            .found(c.text.clone())
            .expected(format!(
                "the account's {}",
                dec(&have).map(values::money).unwrap_or_else(|| text(&have))
            )),
        );
    }
    out
}

/// A document's customer cannot change on update: a file that names
/// another one (or renames it) is told so.
fn customer_edits(w: &Wanted<'_>, current: &Value) -> Vec<Problem> {
    let (Some(c), Some(scope)) = (w.customer, w.scope) else {
        return Vec::new();
    };
    if w.record != Record::Document {
        return Vec::new();
    }
    let account = current.get("customer").unwrap_or(&Value::Null);
    let mut out = Vec::new();
    let other_id = c.id.is_some_and(|id| ref_id(account) != Some(id));
    let differs = |field: &str, mine: &Option<String>| {
        scope.customer.contains(&field)
            && account.is_object()
            && mine.as_deref().is_some_and(|m| !m.trim().is_empty())
            && mine.as_deref().map(str::trim) != account.get(field).and_then(Value::as_str)
    };
    if other_id || differs("number", &c.number) {
        out.push(warn(
            "customer_not_changed",
            "customer.number",
            "the customer of a document on the account cannot be changed: make a new document for the other customer".into(),
            w.origins,
        ));
    } else if differs("name", &c.name) {
        out.push(warn(
            "customer_not_changed",
            "customer.name",
            "a document's row does not change its customer: export the customers, edit them there and import that file".into(),
            w.origins,
        ));
    }
    out
}

/// The request body that restores the fields `patched` of a document (or
/// customer) as they were in `before`: what a rollback sends.
pub fn restore_body(
    before: &Value,
    patched: &[String],
    table: &'static [Field],
) -> Map<String, Value> {
    let mut out = Map::new();
    for key in patched {
        let kind = fields::find(table, key).map_or(Kind::Text, |f| f.kind);
        let v = before.get(key).cloned().unwrap_or(Value::Null);
        out.insert(key.clone(), values::input_value(kind, &v));
    }
    out
}

/// Whether `current` has every patched field as `before` had it: the
/// restore is done already (a rollback that stopped after it).
pub fn restored(
    before: &Value,
    current: &Value,
    patched: &[String],
    table: &'static [Field],
) -> bool {
    let body = Value::Object(restore_body(before, patched, table));
    let scope = Scope {
        fields: patched
            .iter()
            .filter_map(|k| fields::find(table, k).map(|f| f.name))
            .collect(),
        metadata: meta(before)
            .keys()
            .chain(meta(current).keys())
            .cloned()
            .collect(),
        line: if patched.iter().any(|k| k == "items") {
            fields::LINE_ITEM
                .iter()
                .filter(|f| f.writable())
                .map(|f| f.name)
                .collect()
        } else {
            Vec::new()
        },
        ..Scope::default()
    };
    let scope = Scope {
        metadata: if patched.iter().any(|k| k == "metadata") {
            scope.metadata
        } else {
            Vec::new()
        },
        ..scope
    };
    let w = Wanted {
        body: &body,
        table,
        scope: Some(&scope),
        record: Record::Document,
        exported_at: None,
        computed: &[],
        origins: None,
        customer: None,
    };
    diff(&w, current, DiffOptions::default()).changes.is_empty()
}

#[cfg(test)]
mod tests;
