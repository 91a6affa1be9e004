//! Credit notes: `export credit_notes --lines` → edit → `import` changes them.

use super::edit;
use super::{day, norm, Account};
use calamine::Data;
use serde_json::json;

#[test]
fn credit_notes_come_back_changed() {
    let a = Account::seeded();
    let inv = a.by_number("/invoices")["RT-0005"].clone();
    a.create(
        "/credit_notes",
        json!({"customer": inv["customer"], "number": "CN-0001", "date": day(2025, 10, 12),
            "metadata": {"reason": "retur"},
            "items": [{"name": "Făină", "quantity": 2, "unit_cost": 8.4, "taxes": [{"tax_rate": "tva8"}]},
                      {"name": "Transport", "quantity": 1, "unit_cost": 50, "taxes": [{"tax_rate": "tva20"}]}]}),
    );
    let before = a.by_number("/credit_notes");
    let file = a.dir.join("cn.xlsx");
    a.run_ok(
        &[
            "export",
            "credit_notes",
            "--lines",
            "-o",
            file.to_str().unwrap(),
        ],
        0,
    );
    let mut sheets = edit::read_xlsx(&file);
    let s = sheets.iter_mut().find(|s| s.name == "Lines").unwrap();
    let r = s.row("CN-0001", "Făină");
    s.set(r, "line.quantity", Data::Float(1.0));
    for r in s.rows_of("CN-0001") {
        s.set(r, "metadata.reason", Data::String("retur parțial".into()));
    }
    let edited = a.dir.join("edited.xlsx");
    edit::write_xlsx_as_excel(&sheets, &edited, &["Lines"]);
    let e = edited.to_str().unwrap();
    let dry = a.run_ok(&["import", e, "--dry-run"], 0);
    let doc = &dry["changes"]["documents"][0];
    assert_eq!(doc["document"], "CN-0001", "{dry}");
    let fields: Vec<String> = doc["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["metadata.reason", "line 1 quantity", "total"]);
    let out = a.run_ok(&["import", e], 0);
    assert_eq!(out["upload"]["updated"], 1, "{out}");
    let after = a.by_number("/credit_notes");
    let mut want = before["CN-0001"].clone();
    want["metadata"]["reason"] = json!("retur parțial");
    want["items"][0]["quantity"] = json!(1);
    let strip = |v: &serde_json::Value| super::norm_uncomputed(v);
    assert_eq!(strip(&after["CN-0001"]), strip(&want));
    a.run_ok(&["runs", "rollback", &out["run"].to_string()], 0);
    assert_eq!(
        norm(&a.by_number("/credit_notes")["CN-0001"]),
        norm(&before["CN-0001"])
    );
}
