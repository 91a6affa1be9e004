//! A document's lines compared with the account's: rows matched to lines by
//! `line.id` (a row without one adds a line; a line without a row is
//! removed), or by position when no row has an id (a document the file
//! never had the ids of, or an ordinary import's). When anything differs
//! the whole list is sent, as API.md requires: each matched line from the
//! account's (so that what the file has no column for stays), with the
//! file's fields over it; new lines as the file has them.

use super::values::{input_line, ref_id, same, show, text};
use super::FieldChange;
use crate::model::fields::{self, Kind};
use serde_json::{Map, Value};

/// What the lines come to.
#[derive(Debug, Default)]
pub(super) struct Lines {
    pub changes: Vec<FieldChange>,
    /// The whole list to send, when anything differs.
    pub items: Option<Vec<Value>>,
    /// For each wanted line, the account's line it was matched to.
    pub matched: Vec<Option<usize>>,
    /// Rows that could not be matched as they said: (wanted line, why).
    pub notes: Vec<(usize, String)>,
}

/// What the lines compare: the fields a round trip's file has (with the
/// metadata keys it has), or, for an ordinary import, every field each
/// wanted line carries and its whole metadata.
pub(super) struct LineScope<'a> {
    pub fields: Option<&'a [&'static str]>,
    pub metadata: &'a [String],
}

/// The value a line has when it leaves a field out.
fn default_of(field: &str) -> Value {
    match field {
        "quantity" => Value::from(1),
        "unit_cost" => Value::from(0),
        "taxable" | "discountable" => Value::Bool(true),
        _ => Value::Null,
    }
}

fn kind_of(field: &str) -> Kind {
    fields::find(fields::LINE_ITEM, field).map_or(Kind::Text, |f| f.kind)
}

/// A line for people: `Pâine: 2 × 10.25`.
fn describe(line: &Value) -> String {
    let get = |f: &str| line.get(f).cloned().unwrap_or_else(|| default_of(f));
    format!(
        "{}: {} × {}",
        text(line.get("name").unwrap_or(&Value::Null)),
        show(Kind::Decimal, &get("quantity")),
        show(Kind::Money, &get("unit_cost"))
    )
}

fn meta_of(v: &Value) -> Map<String, Value> {
    v.get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Compare the wanted lines with the account's.
pub(super) fn compare(wanted: &[Value], current: &[Value], scope: &LineScope<'_>) -> Lines {
    let mut out = Lines {
        matched: vec![None; wanted.len()],
        ..Lines::default()
    };
    let mut used = vec![false; current.len()];
    let by_id = wanted
        .iter()
        .any(|l| l.get("id").and_then(ref_id).is_some());
    if by_id {
        for (i, w) in wanted.iter().enumerate() {
            let Some(id) = w.get("id").and_then(ref_id) else {
                continue;
            };
            match current
                .iter()
                .position(|c| c.get("id").and_then(ref_id) == Some(id))
            {
                Some(j) if !used[j] => {
                    used[j] = true;
                    out.matched[i] = Some(j);
                }
                Some(_) => out.notes.push((
                    i,
                    format!("line id {id} is on two rows: the second is added as a new line"),
                )),
                None => out.notes.push((
                    i,
                    format!("line id {id} is not a line of this document: the row is added as a new line"),
                )),
            }
        }
    } else {
        let n = wanted.len().min(current.len());
        for (i, (u, m)) in used
            .iter_mut()
            .zip(out.matched.iter_mut())
            .take(n)
            .enumerate()
        {
            *u = true;
            *m = Some(i);
        }
    }
    let mut items = Vec::with_capacity(wanted.len());
    for (i, w) in wanted.iter().enumerate() {
        let Some(j) = out.matched[i] else {
            out.changes
                .push(FieldChange::new("line added", "", describe(w)));
            let mut new = w.as_object().cloned().unwrap_or_default();
            new.remove("id");
            items.push(Value::Object(new));
            continue;
        };
        let c = &current[j];
        let label = |f: &str| format!("line {} {f}", j + 1);
        let names: Vec<&str> = match scope.fields {
            Some(f) => f.to_vec(),
            None => w
                .as_object()
                .map(|o| {
                    o.keys()
                        .map(String::as_str)
                        .filter(|k| *k != "id" && *k != "metadata")
                        .collect()
                })
                .unwrap_or_default(),
        };
        let mut merged = match scope.fields {
            Some(_) => input_line(c),
            None => w.as_object().cloned().unwrap_or_default(),
        };
        for f in &names {
            let kind = kind_of(f);
            let want = w.get(*f).cloned().unwrap_or_else(|| default_of(f));
            let have = c
                .get(*f)
                .filter(|v| !v.is_null())
                .cloned()
                .unwrap_or_else(|| default_of(f));
            if !same(kind, &want, &have) {
                out.changes.push(FieldChange::new(
                    label(f),
                    show(kind, &have),
                    show(kind, &want),
                ));
            }
            if scope.fields.is_some() {
                match w.get(*f) {
                    Some(v) => merged.insert((*f).to_string(), v.clone()),
                    None => merged.remove(*f),
                };
            }
        }
        let (wm, cm) = (meta_of(w), meta_of(c));
        let keys: Vec<String> = match scope.fields {
            Some(_) => scope.metadata.to_vec(),
            None => wm.keys().chain(cm.keys()).cloned().collect(),
        };
        let mut meta = match scope.fields {
            Some(_) => cm.clone(),
            None => wm.clone(),
        };
        let mut meta_changed = false;
        for k in keys {
            let (a, b) = (
                wm.get(&k).map(text).unwrap_or_default(),
                cm.get(&k).map(text).unwrap_or_default(),
            );
            if a != b
                && !out
                    .changes
                    .iter()
                    .any(|x| x.field == label(&format!("metadata.{k}")))
            {
                out.changes.push(FieldChange::new(
                    label(&format!("metadata.{k}")),
                    b,
                    a.clone(),
                ));
                meta_changed = true;
            }
            if a.is_empty() {
                meta.remove(&k);
            } else {
                meta.insert(k, Value::String(a));
            }
        }
        if scope.fields.is_some() && (meta_changed || !meta.is_empty()) {
            merged.insert("metadata".into(), Value::Object(meta));
        }
        if scope.fields.is_some() {
            merged.insert("id".into(), c.get("id").cloned().unwrap_or(Value::Null));
        }
        items.push(Value::Object(merged));
    }
    for (j, c) in current.iter().enumerate() {
        if !used[j] {
            out.changes.push(FieldChange::new(
                format!("line {} removed", j + 1),
                describe(c),
                "",
            ));
        }
    }
    if !out.changes.is_empty() {
        out.items = Some(items);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn account() -> Vec<Value> {
        serde_json::from_value(json!([
            {"id": 16, "object": "line_item", "name": "Pâine", "quantity": 2, "unit_cost": 10.25, "amount": 20.5,
             "catalog_item": "bread", "discountable": true, "taxable": true, "discounts": [],
             "taxes": [{"id": 1, "object": "tax", "amount": 4.1, "tax_rate": {"id": "tva20"}}], "metadata": {}},
            {"id": 17, "object": "line_item", "name": "Lapte", "quantity": 1, "unit_cost": 18.9, "amount": 18.9,
             "discountable": true, "taxable": true, "discounts": [], "taxes": [{"id": 2, "tax_rate": "tva8"}],
             "metadata": {"lot": "7"}}
        ]))
        .unwrap()
    }

    const FIELDS: &[&str] = &[
        "name",
        "description",
        "quantity",
        "unit_cost",
        "taxes",
        "discounts",
    ];

    fn scope() -> LineScope<'static> {
        LineScope {
            fields: Some(FIELDS),
            metadata: &[],
        }
    }

    #[test]
    fn the_same_lines_in_another_order_are_no_change() {
        let wanted = vec![
            json!({"id": 17, "name": "Lapte", "quantity": 1.0, "unit_cost": "18.90", "taxes": [{"tax_rate": "tva8"}]}),
            json!({"id": 16, "name": "Pâine", "quantity": 2, "unit_cost": 10.25, "taxes": [{"tax_rate": "tva20"}]}),
        ];
        let l = compare(&wanted, &account(), &scope());
        assert!(l.changes.is_empty(), "{:?}", l.changes);
        assert!(l.items.is_none());
        assert_eq!(l.matched, [Some(1), Some(0)]);
    }

    #[test]
    fn edits_additions_and_removals_send_the_whole_list() {
        let wanted = vec![
            json!({"id": 16, "name": "Pâine albă", "quantity": 3, "unit_cost": 10.25, "taxes": [{"tax_rate": "tva20"}]}),
            json!({"name": "Unt", "quantity": 1, "unit_cost": 40, "taxes": [{"tax_rate": "tva20"}]}),
        ];
        let l = compare(&wanted, &account(), &scope());
        let shown: Vec<String> = l
            .changes
            .iter()
            .map(|c| format!("{} {} → {}", c.field, c.before, c.after))
            .collect();
        assert_eq!(
            shown,
            [
                "line 1 name Pâine → Pâine albă",
                "line 1 quantity 2 → 3",
                "line added  → Unt: 1 × 40.00",
                "line 2 removed Lapte: 1 × 18.90 → "
            ]
        );
        let items = l.items.unwrap();
        // The account's fields the file has no column for stay.
        assert_eq!(items[0]["catalog_item"], "bread");
        assert_eq!(items[0]["id"], 16);
        assert_eq!(items[0]["quantity"], 3);
        assert!(items[1].get("id").is_none());
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn rows_without_ids_match_by_position_and_strange_ids_are_new_lines() {
        let wanted = vec![
            json!({"name": "Pâine", "quantity": 2, "unit_cost": 10.25, "taxes": [{"tax_rate": "tva20"}]}),
            json!({"name": "Lapte", "quantity": 1, "unit_cost": 18.9, "taxes": [{"tax_rate": "tva8"}]}),
        ];
        assert!(compare(&wanted, &account(), &scope()).changes.is_empty());
        let odd = vec![
            json!({"id": 16, "name": "Pâine", "quantity": 2, "unit_cost": 10.25, "taxes": [{"tax_rate": "tva20"}]}),
            json!({"id": 999, "name": "Lapte", "quantity": 1, "unit_cost": 18.9, "taxes": [{"tax_rate": "tva8"}]}),
        ];
        let l = compare(&odd, &account(), &scope());
        assert_eq!(l.notes.len(), 1, "{:?}", l.notes);
        assert!(l.notes[0].1.contains("999"));
        assert_eq!(l.changes.len(), 2, "added and removed: {:?}", l.changes);
    }
}
