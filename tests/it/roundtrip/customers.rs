//! Customers: `export customers` → edit → `import` changes them the same way.

use super::edit;
use super::{norm, Account};
use calamine::Data;
use serde_json::json;

#[test]
fn customers_come_back_changed_and_go_back_on_rollback() {
    let a = Account::seeded();
    let before = a.by_number("/customers");
    let file = a.dir.join("customers.xlsx");
    a.run_ok(&["export", "customers", "-o", file.to_str().unwrap()], 0);
    let mut sheets = edit::read_xlsx(&file);
    let s = sheets.iter_mut().find(|s| s.name == "Customers").unwrap();
    let row = |s: &edit::Sheet, n: &str| {
        (0..s.rows.len())
            .find(|&r| s.text(r, "number") == n)
            .unwrap()
    };
    let r2 = row(s, "C-2");
    s.set(r2, "name", Data::String("ÎI Beta Nouă".into()));
    let r1 = row(s, "C-1");
    s.set(r1, "city", Data::String("Chișinău".into()));
    s.set(r1, "email", Data::String("contabil@alfa.md".into()));
    let mut copy = s.rows[row(s, "C-3")].clone();
    copy[s.col("id")] = Data::Empty;
    copy[s.col("number")] = Data::String("C-4".into());
    copy[s.col("name")] = Data::String("SRL Delta".into());
    s.rows.push(copy);
    let edited = a.dir.join("edited.xlsx");
    edit::write_xlsx_as_excel(&sheets, &edited, &["Customers"]);
    let e = edited.to_str().unwrap();

    let writes = a.writes();
    let dry = a.run_ok(&["validate", e], 0);
    assert_eq!(a.writes(), writes);
    assert_eq!(
        dry["changes"]["counts"],
        json!({"unchanged": 1, "changed": 2, "new": 1, "conflicts": 0, "cannot_be_edited": 0, "not_sent": 0}),
        "{dry}"
    );
    let docs = dry["changes"]["documents"].as_array().unwrap();
    let fields = |d: &serde_json::Value| {
        d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{} {} → {}",
                    f["field"].as_str().unwrap(),
                    f["before"].as_str().unwrap(),
                    f["after"].as_str().unwrap()
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(docs[0]["document"], "customer C-1");
    assert_eq!(
        fields(&docs[0]),
        ["email  → contabil@alfa.md", "city  → Chișinău"]
    );
    assert_eq!(docs[1]["document"], "customer C-2");
    assert_eq!(fields(&docs[1]), ["name ÎI Beta → ÎI Beta Nouă"]);
    assert_eq!(
        (docs[2]["document"].as_str(), docs[2]["fate"].as_str()),
        (Some("customer C-4"), Some("new"))
    );

    let imported = a.run_ok(&["import", e], 0);
    let run = imported["run"].as_i64().unwrap().to_string();
    let after = a.by_number("/customers");
    assert_eq!(after["C-1"]["city"], "Chișinău");
    assert_eq!(after["C-1"]["email"], "contabil@alfa.md");
    assert_eq!(after["C-1"]["tax_id"], before["C-1"]["tax_id"]);
    assert_eq!(after["C-2"]["name"], "ÎI Beta Nouă");
    assert_eq!(after["C-3"], before["C-3"]);
    assert_eq!(after["C-4"]["name"], "SRL Delta");

    let writes = a.writes();
    a.run_ok(&["import", e], 0);
    assert_eq!(a.writes(), writes, "a second import sends no write request");

    a.run_ok(&["runs", "rollback", &run], 0);
    let back = a.by_number("/customers");
    assert!(
        !back.contains_key("C-4"),
        "the run's new customer is deleted"
    );
    for n in ["C-1", "C-2", "C-3"] {
        assert_eq!(norm(&back[n]), norm(&before[n]), "{n}");
    }
}
