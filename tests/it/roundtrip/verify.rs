//! `runs verify` on a round trip: the run read our own export with the
//! built-in mapping (recorded by its label) and changed documents named by
//! their id; verify reads the file again the same way and compares each
//! with the object it names, changed by the run or not.

use super::edit;
use super::Account;
use calamine::Data;
use serde_json::json;

#[test]
fn a_round_trip_run_is_verified_against_the_objects_it_names() {
    let a = Account::seeded();
    let file = a.dir.join("inv.xlsx");
    a.run_ok(
        &[
            "export",
            "invoices",
            "--lines",
            "-o",
            file.to_str().unwrap(),
        ],
        0,
    );
    let mut sheets = edit::read_xlsx(&file);
    let s = sheets.iter_mut().find(|s| s.name == "Lines").unwrap();
    let r = s.row("RT-0003", "Consultanță");
    s.set(r, "line.quantity", Data::Float(2.0));
    let edited = a.dir.join("edited.xlsx");
    edit::write_xlsx_as_excel(&sheets, &edited, &["Lines"]);
    let e = edited.to_str().unwrap();
    let out = a.run_ok(&["import", e], 0);
    assert_eq!(out["upload"]["updated"], 1, "{out}");

    // The changed one and the four as they were: all identical.
    let rec = a.run_ok(&["runs", "verify"], 0);
    assert_eq!(rec["identical"], true, "{rec}");
    assert_eq!(rec["counts"]["compared"], 5, "{rec}");
    assert_eq!(rec["counts"]["identical"], 5, "{rec}");

    // Changed on the account afterwards: named, and exit 1.
    let inv = a.by_number("/invoices")["RT-0005"].clone();
    let id = inv["id"].as_i64().unwrap();
    a.patch(
        &format!("/invoices/{id}"),
        json!({"date": super::day(2025, 10, 20)}),
    );
    let rec = a.run_ok(&["runs", "verify"], 1);
    let diffs = rec["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 1, "{rec}");
    assert_eq!(diffs[0]["document"], "RT-0005", "{rec}");
    assert_eq!(diffs[0]["field"], "date", "{rec}");
    assert_eq!(rec["counts"]["identical"], 4, "{rec}");
}
