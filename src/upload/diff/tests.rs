//! The comparisons a round trip rests on: an unedited export, a quantity,
//! metadata sent whole, an emptied cell, conflicts, locked documents, an
//! edited computed cell, an ordinary import's update, a rollback's restore.

use super::*;
use crate::model::{CellRef, FieldPath, RowRef};
use rust_decimal_macros::dec;
use serde_json::json;
use std::sync::Arc;

/// An invoice as the emulator returns it, customer expanded.
fn account() -> Value {
    json!({
        "id": 40, "object": "invoice", "number": "RT-0001", "currency": "mdl",
        "customer": {"id": 5, "number": "C-1", "name": "SRL Alfa"},
        "date": 1791147600, "due_date": null, "payment_terms": "NET 30", "purchase_order": null,
        "notes": null, "draft": false, "closed": false, "paid": false, "voided": false,
        "status": "not_sent", "subtotal": 120, "total": 144, "balance": 144,
        "metadata": {"project": "Orhei", "import_key": "k1", "kept": "x"},
        "items": [{"id": 41, "object": "line_item", "name": "Pâine", "description": null,
            "quantity": 1, "unit_cost": 120, "amount": 120, "discountable": true, "taxable": true,
            "discounts": [], "taxes": [{"id": 42, "object": "tax", "amount": 24,
            "tax_rate": {"id": "tva20", "value": 20}}], "metadata": {}}],
        "discounts": [], "taxes": [], "updated_at": 1791181990, "created_at": 1791181990
    })
}

fn scope() -> Scope {
    Scope {
        fields: vec![
            "number",
            "currency",
            "date",
            "due_date",
            "payment_terms",
            "notes",
        ],
        metadata: vec!["project".into(), "import_key".into()],
        line: vec![
            "name",
            "description",
            "quantity",
            "unit_cost",
            "taxes",
            "discounts",
        ],
        customer: vec!["number", "name"],
        ..Scope::default()
    }
}

/// What the file says: the account's invoice as it was exported.
fn file() -> Value {
    json!({
        "id": 40, "number": "RT-0001", "currency": "MDL", "date": 1791147600,
        "payment_terms": "NET 30", "updated_at": 1791181990,
        "metadata": {"project": "Orhei", "import_key": "copied"},
        "items": [{"id": 41, "name": "Pâine", "quantity": 1, "unit_cost": 120.0,
            "taxes": [{"tax_rate": "tva20"}]}]
    })
}

fn wanted<'a>(body: &'a Value, scope: &'a Scope, computed: &'a [Computed]) -> Wanted<'a> {
    Wanted {
        body,
        table: fields::INVOICE,
        scope: Some(scope),
        record: Record::Document,
        exported_at: body.get("updated_at").and_then(Value::as_i64),
        computed,
        origins: None,
        customer: None,
    }
}

fn rates(id: &str) -> Option<Decimal> {
    match id {
        "tva20" => Some(dec!(20)),
        "tva8" => Some(dec!(8)),
        _ => None,
    }
}

fn shown(d: &Diff) -> Vec<String> {
    d.changes
        .iter()
        .map(|c| format!("{} {} → {}", c.field, c.before, c.after))
        .collect()
}

#[test]
fn an_unedited_export_is_no_change() {
    let (body, scope) = (file(), scope());
    let d = diff(
        &wanted(&body, &scope, &[]),
        &account(),
        DiffOptions::default(),
    );
    assert_eq!(d.status, Status::Unchanged, "{:?}", d.changes);
    assert!(d.patch.is_empty() && d.warnings.is_empty());
}

#[test]
fn a_quantity_sends_the_whole_lines_and_shows_the_new_total() {
    let mut body = file();
    body["items"][0]["quantity"] = json!(2);
    let scope = scope();
    let opts = DiffOptions {
        rate_value: Some(&rates),
        ..DiffOptions::default()
    };
    let d = diff(&wanted(&body, &scope, &[]), &account(), opts);
    assert_eq!(d.status, Status::Changed);
    assert_eq!(
        shown(&d),
        ["line 1 quantity 1 → 2", "total 144.00 → 288.00"]
    );
    assert_eq!(
        Value::Object(d.patch),
        json!({"items": [{"id": 41, "name": "Pâine", "quantity": 2, "unit_cost": 120.0,
            "discountable": true, "taxable": true, "taxes": [{"tax_rate": "tva20"}],
            "metadata": {}}]})
    );
}

#[test]
fn metadata_is_sent_whole_with_the_keys_the_file_has_no_column_for() {
    let mut body = file();
    body["metadata"]["project"] = json!("Bălți");
    body["notes"] = json!("urgent");
    let scope = scope();
    let d = diff(
        &wanted(&body, &scope, &[]),
        &account(),
        DiffOptions::default(),
    );
    assert_eq!(
        shown(&d),
        ["notes  → urgent", "metadata.project Orhei → Bălți"]
    );
    // `kept` has no column; the import key is the account's.
    assert_eq!(
        Value::Object(d.patch),
        json!({"notes": "urgent", "metadata": {"project": "Bălți", "import_key": "k1", "kept": "x"}})
    );
}

#[test]
fn an_emptied_cell_clears_the_field() {
    let mut body = file();
    body.as_object_mut().unwrap().remove("payment_terms");
    let scope = scope();
    let d = diff(
        &wanted(&body, &scope, &[]),
        &account(),
        DiffOptions::default(),
    );
    assert_eq!(shown(&d), ["payment_terms NET 30 → "]);
    assert_eq!(Value::Object(d.patch), json!({"payment_terms": null}));
}

#[test]
fn changed_on_the_account_since_the_export_is_a_conflict_unless_forced() {
    let mut body = file();
    body["notes"] = json!("mine");
    let mut acc = account();
    acc["updated_at"] = json!(1791181990 + 60);
    acc["notes"] = json!("theirs");
    let scope = scope();
    let d = diff(&wanted(&body, &scope, &[]), &acc, DiffOptions::default());
    assert_eq!(d.status, Status::Conflict);
    assert!(d.patch.is_empty());
    assert!(d.why.as_deref().unwrap().contains("--force"), "{:?}", d.why);
    let forced = DiffOptions {
        force: true,
        ..DiffOptions::default()
    };
    let d = diff(&wanted(&body, &scope, &[]), &acc, forced);
    assert_eq!(d.status, Status::Changed);
    assert_eq!(Value::Object(d.patch), json!({"notes": "mine"}));
    // The account changed, the file did not differ: nothing to do.
    let (body, mut acc) = (file(), account());
    acc["updated_at"] = json!(1791181990 + 60);
    let d = diff(&wanted(&body, &scope, &[]), &acc, DiffOptions::default());
    assert_eq!(d.status, Status::Unchanged);
}

#[test]
fn paid_closed_or_voided_documents_are_locked() {
    let mut body = file();
    body["notes"] = json!("too late");
    let scope = scope();
    for state in ["paid", "closed", "voided"] {
        let mut acc = account();
        acc[state] = json!(true);
        let d = diff(&wanted(&body, &scope, &[]), &acc, DiffOptions::default());
        assert_eq!(d.status, Status::Locked, "{state}");
        assert!(d.why.as_deref().unwrap().contains(state));
        assert!(d.patch.is_empty());
    }
}

#[test]
fn an_edited_computed_cell_is_a_warning_at_its_cell() {
    let (body, scope) = (file(), scope());
    let computed = vec![
        Computed {
            path: "total".into(),
            text: "150".into(),
        },
        Computed {
            path: "status".into(),
            text: "not_sent".into(),
        },
        Computed {
            path: "items[0].amount".into(),
            text: "120".into(),
        },
        Computed {
            path: "paid".into(),
            text: "FALSE".into(),
        },
    ];
    let mut origins = Origins::default();
    let row = RowRef {
        file: Arc::from("inv.xlsx"),
        sheet: Some(Arc::from("Lines")),
        row: 2,
    };
    origins.push(
        FieldPath::new("total"),
        &row,
        Some(13),
        crate::model::intern("total"),
    );
    let w = Wanted {
        origins: Some(&origins),
        ..wanted(&body, &scope, &computed)
    };
    let d = diff(&w, &account(), DiffOptions::default());
    assert_eq!(d.status, Status::Unchanged);
    assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
    let p = &d.warnings[0];
    assert_eq!((p.code, p.field.as_str()), ("computed_edited", "total"));
    assert!(p.message.contains("change quantity or unit cost"), "{p}");
    assert_eq!(
        p.cell,
        Some(CellRef {
            row,
            column: Arc::from("total"),
            col_idx: Some(13)
        })
    );
}

#[test]
fn an_ordinary_update_compares_what_its_body_has() {
    // `--on-existing update` of a mapped import: its metadata is whole.
    let body = json!({"number": "RT-0001", "currency": "MDL",
        "metadata": {"project": "Orhei", "import_key": "k2"},
        "items": [{"name": "Pâine", "quantity": 1, "unit_cost": 120, "taxes": [{"tax_rate": "tva20"}]}]});
    let none = Scope::default();
    let w = Wanted {
        scope: None,
        exported_at: None,
        ..wanted(&body, &none, &[])
    };
    let d = diff(&w, &account(), DiffOptions::default());
    assert_eq!(
        shown(&d),
        ["metadata.import_key k1 → k2", "metadata.kept x → "]
    );
    assert_eq!(
        Value::Object(d.patch),
        json!({"metadata": {"project": "Orhei", "import_key": "k2"}})
    );
}

#[test]
fn a_rollback_sends_back_what_was_patched() {
    let before = account();
    let patched = vec!["items".to_string(), "notes".to_string()];
    let body = restore_body(&before, &patched, fields::INVOICE);
    assert_eq!(
        Value::Object(body),
        json!({"items": [{"id": 41, "name": "Pâine", "quantity": 1, "unit_cost": 120,
            "discountable": true, "taxable": true, "discounts": [],
            "taxes": [{"tax_rate": "tva20"}], "metadata": {}}], "notes": null})
    );
    assert!(restored(&before, &account(), &patched, fields::INVOICE));
    let mut after = account();
    after["items"][0]["quantity"] = json!(2);
    assert!(!restored(&before, &after, &patched, fields::INVOICE));
}
