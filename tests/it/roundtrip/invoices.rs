//! Invoices: export with lines, edit, see the changes, import them, import
//! again (nothing sent), a conflict, a locked invoice, a rollback.

use super::edit::{self, Sheet};
use super::{norm, norm_uncomputed, Account};
use calamine::Data;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Via {
    /// Re-saved by Excel.
    Xlsx,
    /// Saved by Excel in a Romanian locale as CSV.
    Csv,
}

/// The file's Lines table, edited as a person would, written back.
fn edit_file(exported: &Path, via: Via, to: &Path, change: impl FnOnce(&mut Sheet)) {
    match via {
        Via::Xlsx => {
            let mut sheets = edit::read_xlsx(exported);
            let lines = sheets.iter_mut().find(|s| s.name == "Lines").unwrap();
            change(lines);
            // Excel keeps the hidden sheet; the person put Lines first.
            edit::write_xlsx_as_excel(&sheets, to, &["Lines", "Invoices"]);
        }
        Via::Csv => {
            let mut sheet = edit::read_csv(exported);
            change(&mut sheet);
            edit::write_csv_as_excel_ro(&sheet, to);
        }
    }
}

fn num(v: f64, via: Via) -> Data {
    match via {
        Via::Xlsx => Data::Float(v),
        Via::Csv => Data::String(v.to_string()),
    }
}

/// The five edits of the issue, and an edited computed cell.
fn first_edits(s: &mut Sheet, via: Via) {
    // One quantity.
    let r = s.row("RT-0001", "Pâine");
    s.set(r, "line.quantity", num(3.0, via));
    // One line renamed.
    let r = s.row("RT-0002", "Pâine");
    s.set(r, "line.name", Data::String("Pâine de secară".into()));
    // One metadata value.
    let r = s.row("RT-0003", "Consultanță");
    s.set(r, "metadata.project", Data::String("Soroca".into()));
    // One row copied as a new invoice, its ids blanked (copied before the
    // metadata edit's row? after: it is the original's copy).
    let mut copy = s.rows[r].clone();
    copy[s.col("id")] = Data::Empty;
    copy[s.col("line.id")] = Data::Empty;
    copy[s.col("number")] = Data::String("RT-0100".into());
    copy[s.col("metadata.project")] = Data::String("Cahul".into());
    s.rows.push(copy);
    // One line row deleted.
    let r = s.row("RT-0001", "Lapte");
    s.rows.remove(r);
    // A computed cell edited (on each row of its invoice).
    for r in s.rows_of("RT-0005") {
        s.set(r, "total", num(999.0, via));
    }
}

fn changes(out: &Value) -> Vec<(String, String, Vec<String>)> {
    out["changes"]["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["document"].as_str().unwrap().to_string(),
                d["fate"].as_str().unwrap().to_string(),
                d["fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| {
                        format!(
                            "{} | {} | {}",
                            f["field"].as_str().unwrap(),
                            f["before"].as_str().unwrap(),
                            f["after"].as_str().unwrap()
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

fn s(x: &str) -> String {
    x.to_string()
}

fn scenario(via: Via) {
    let a = Account::seeded();
    let ext = match via {
        Via::Xlsx => "xlsx",
        Via::Csv => "csv",
    };
    let before = a.by_number("/invoices");
    assert_eq!(before.len(), 5);
    let exported = a.dir.join(format!("invoices.{ext}"));
    let out = a.run_ok(
        &[
            "export",
            "invoices",
            "--lines",
            "-o",
            exported.to_str().unwrap(),
        ],
        0,
    );
    let rows = match via {
        // The invoices on their sheet, their lines on theirs.
        Via::Xlsx => 5 + 10,
        Via::Csv => 10,
    };
    assert_eq!(out["rows"], rows);
    let edited = a.dir.join(format!("edited.{ext}"));
    edit_file(&exported, via, &edited, |s| first_edits(s, via));
    let edited_str = edited.to_str().unwrap();

    // See it first: what will change, nothing written.
    let writes = a.writes();
    let report = a.dir.join("changes.xlsx");
    let dry = a.run_ok(
        &[
            "import",
            edited_str,
            "--dry-run",
            "--changes",
            report.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(a.writes(), writes, "the dry run writes nothing");
    assert_eq!(
        (dry["valid"].as_u64(), dry["rejected"].as_u64()),
        (Some(6), Some(0)),
        "{dry}"
    );
    assert_eq!(
        dry["changes"]["counts"],
        json!({"unchanged": 2, "changed": 3, "new": 1, "conflicts": 0, "cannot_be_edited": 0, "not_sent": 0})
    );
    assert_eq!(
        changes(&dry),
        [
            (
                s("RT-0001"),
                s("changed"),
                vec![
                    s("line 1 quantity | 2 | 3"),
                    s("line 2 removed | Lapte: 1 × 18.90 | "),
                    s("total | 402.55 | 393.21")
                ]
            ),
            (
                s("RT-0002"),
                s("changed"),
                vec![s("line 1 name | Pâine | Pâine de secară")]
            ),
            (
                s("RT-0003"),
                s("changed"),
                vec![s("metadata.project | Cahul | Soroca")]
            ),
            (
                s("RT-0100"),
                s("new"),
                vec![s("line added |  | Consultanță: 1 × 500")]
            ),
        ]
    );
    let warnings = dry["changes"]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = warnings[0].as_str().unwrap();
    assert!(
        w.contains("computed_edited")
            && w.contains("column \"total\"")
            && w.contains("change quantity or unit cost"),
        "{w}"
    );
    // The same as a file for people.
    let rows = calamine_rows(&report);
    assert_eq!(rows[0], ["document", "field", "before", "after"]);
    assert!(
        rows.contains(&vec![s("RT-0001"), s("line 1 quantity"), s("2"), s("3")]),
        "{rows:?}"
    );
    assert!(
        rows.contains(&vec![s("RT-0100"), s("(new)"), s(""), s("")]),
        "{rows:?}"
    );

    // The import: exactly what the dry run said. (Timestamps are in
    // seconds: the person's edit takes longer than this.)
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let imported = a.run_ok(&["import", edited_str], 0);
    let run = imported["run"].as_i64().unwrap();
    assert_eq!(imported["upload"]["updated"], 3, "{imported}");
    assert_eq!(imported["upload"]["done"], 1);
    assert_eq!(imported["upload"]["unchanged"], 2);
    let after = a.by_number("/invoices");
    assert_expected(&before, &after);

    // Again: nothing differs, no write request.
    let writes = a.writes();
    let again = a.run_ok(&["import", edited_str], 0);
    assert_eq!(
        a.writes(),
        writes,
        "a second import sends no write request: {again}"
    );
    assert_eq!(again["upload"]["unchanged"], 6, "{again}");
    assert_eq!(
        a.by_number("/invoices"),
        after,
        "nothing moved, updated_at included"
    );

    // A change made on the account after the export is a conflict; a paid
    // invoice cannot be edited.
    let rt5 = &after["RT-0005"];
    std::thread::sleep(std::time::Duration::from_millis(1100));
    a.patch(
        &format!("/invoices/{}", rt5["id"]),
        json!({"notes": "schimbat de mână"}),
    );
    let by_hand = a.by_number("/invoices")["RT-0005"].clone();
    let conflicted = a.dir.join(format!("conflict.{ext}"));
    edit_file(&edited, via, &conflicted, |s| {
        for r in s.rows_of("RT-0005") {
            s.set(r, "purchase_order", Data::String("PO-99".into()));
            s.set(
                r,
                "total",
                num(rt5["total"].to_string().parse().unwrap(), via),
            );
        }
        for r in s.rows_of("RT-0004") {
            s.set(r, "notes", Data::String("prea târziu".into()));
        }
    });
    let c = conflicted.to_str().unwrap();
    let dry = a.run_ok(&["validate", c], 1);
    assert_eq!(dry["changes"]["counts"]["conflicts"], 1, "{dry}");
    assert_eq!(dry["changes"]["counts"]["cannot_be_edited"], 1, "{dry}");
    let fates: BTreeMap<String, String> =
        changes(&dry).into_iter().map(|(d, f, _)| (d, f)).collect();
    assert_eq!(fates["RT-0005"], "conflict");
    assert_eq!(fates["RT-0004"], "locked");
    let writes = a.writes();
    let refused = a.run_ok(&["import", c], 1);
    assert_eq!(refused["upload"]["conflicts"], 1, "{refused}");
    assert_eq!(refused["upload"]["locked"], 1, "{refused}");
    assert_eq!(a.writes(), writes, "neither is sent");
    assert_eq!(a.by_number("/invoices")["RT-0005"], by_hand);
    // --force sends the conflict (the paid invoice stays as it is).
    let forced = a.run_ok(&["import", c, "--force"], 1);
    let forced_run = forced["run"].as_i64().unwrap();
    let now = a.by_number("/invoices");
    assert_eq!(now["RT-0005"]["purchase_order"], "PO-99");
    assert_eq!(
        now["RT-0005"]["notes"],
        Value::Null,
        "the file's empty notes"
    );
    assert_eq!(norm(&now["RT-0004"]), norm(&before["RT-0004"]));

    // Rollback: the first run's changes undone, its new invoice deleted.
    let rolled = a.run_ok(&["runs", "rollback", &run.to_string()], 0);
    assert_eq!(rolled["restored"]["invoice"], 3, "{rolled}");
    assert_eq!(rolled["undone"]["invoice"], 1, "{rolled}");
    let back = a.by_number("/invoices");
    assert!(!back.contains_key("RT-0100"));
    for n in ["RT-0001", "RT-0002", "RT-0003", "RT-0004"] {
        assert_eq!(norm(&back[n]), norm(&before[n]), "{n} as it was");
    }
    // Safe to repeat.
    let again = a.run_ok(&["runs", "rollback", &run.to_string()], 0);
    assert_eq!(again["restored"], json!({}), "{again}");
    // The forced run's rollback gives RT-0005 back as the person left it.
    a.run_ok(&["runs", "rollback", &forced_run.to_string()], 0);
    let last = a.by_number("/invoices");
    assert_eq!(norm(&last["RT-0005"]), norm(&by_hand));
    assert_eq!(last.len(), 5);
}

/// The account after the first import: the edited invoices changed as
/// asked, every other field and every other invoice as it was.
fn assert_expected(before: &BTreeMap<String, Value>, after: &BTreeMap<String, Value>) {
    assert_eq!(after.len(), 6, "{:?}", after.keys());
    // RT-0001: quantity 3, Lapte gone; the other lines keep their ids.
    let mut want = before["RT-0001"].clone();
    want["items"][0]["quantity"] = json!(3);
    want["items"].as_array_mut().unwrap().remove(1);
    assert_eq!(norm_uncomputed(&after["RT-0001"]), norm_uncomputed(&want));
    assert_eq!(after["RT-0001"]["total"].to_string(), "393.21");
    assert_eq!(after["RT-0001"]["items"][0]["amount"].to_string(), "30.75");
    // RT-0002: a line renamed; its discount kept.
    let mut want = before["RT-0002"].clone();
    want["items"][0]["name"] = json!("Pâine de secară");
    assert_eq!(norm(&after["RT-0002"]), norm(&want));
    // RT-0003: one metadata value, the other key kept.
    let mut want = before["RT-0003"].clone();
    want["metadata"]["project"] = json!("Soroca");
    assert_eq!(norm(&after["RT-0003"]), norm(&want));
    // Untouched, to the second.
    for n in ["RT-0004", "RT-0005"] {
        assert_eq!(after[n], before[n], "{n} untouched");
    }
    // RT-0100: a new invoice from the copied row.
    let new = &after["RT-0100"];
    let src = &before["RT-0003"];
    assert_ne!(new["id"], src["id"]);
    assert_eq!(new["customer"], src["customer"]);
    for f in ["date", "notes", "currency", "total"] {
        assert_eq!(new[f], src[f], "{f}");
    }
    assert_eq!(new["metadata"]["project"], "Cahul");
    assert_eq!(new["metadata"]["source"], "seed");
    assert!(new["metadata"]["import_key"].is_string(), "{new}");
    assert_eq!(new["items"].as_array().unwrap().len(), 1);
    assert_ne!(
        new["items"][0]["id"], src["items"][0]["id"],
        "a line of its own"
    );
    assert_eq!(new["items"][0]["name"], "Consultanță");
}

fn calamine_rows(path: &PathBuf) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(path).unwrap();
    let r = wb.worksheet_range("Changes").unwrap();
    r.rows()
        .map(|row| row.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[test]
fn excel_round_trip_of_an_xlsx_export() {
    scenario(Via::Xlsx);
}

#[test]
fn excel_round_trip_of_a_csv_export() {
    scenario(Via::Csv);
}

#[test]
fn a_cell_changed_in_the_sheets_xml_as_libreoffice_writes_it() {
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
    let sheets = edit::read_xlsx(&file);
    let lines = sheets.iter().find(|s| s.name == "Lines").unwrap();
    let row = lines.row("RT-0002", "Cafea") + 2;
    let name = edit::cell_ref(lines.col("line.name"), row);
    let qty = edit::cell_ref(lines.col("line.quantity"), row);
    let xml = edit::sheet_xml(&file, "Lines");
    edit::edit_zip(&file, |path, text| {
        if path != xml {
            return None;
        }
        let mut t = text.to_string();
        for (cell, new) in [
            (
                &name,
                format!("<c r=\"{name}\" t=\"inlineStr\"><is><t>Cafea măcinată</t></is></c>"),
            ),
            (
                &qty,
                format!("<c r=\"{qty}\" s=\"0\" t=\"n\"><v>2.5</v></c>"),
            ),
        ] {
            let start = t.find(&format!("<c r=\"{cell}\"")).expect("the cell");
            let end = start + t[start..].find("</c>").unwrap() + 4;
            t.replace_range(start..end, &new);
        }
        Some(t)
    });
    let dry = a.run_ok(&["validate", file.to_str().unwrap()], 0);
    assert_eq!(
        changes(&dry),
        [(
            s("RT-0002"),
            s("changed"),
            vec![
                s("line 2 name | Cafea | Cafea măcinată"),
                s("line 2 quantity | 2 | 2.5"),
                s("total | 118.92 | 146.22")
            ]
        )]
    );
    a.run_ok(&["import", file.to_str().unwrap()], 0);
    let inv = &a.by_number("/invoices")["RT-0002"];
    assert_eq!(inv["items"][1]["name"], "Cafea măcinată");
    assert_eq!(inv["items"][1]["quantity"].to_string(), "2.5");
}

#[test]
fn an_export_without_lines_changes_the_invoices_only() {
    let a = Account::seeded();
    let before = a.by_number("/invoices");
    let file = a.dir.join("inv.xlsx");
    a.run_ok(&["export", "invoices", "-o", file.to_str().unwrap()], 0);
    let mut sheets = edit::read_xlsx(&file);
    let sheet = sheets.iter_mut().find(|s| s.name == "Invoices").unwrap();
    let r = (0..sheet.rows.len())
        .find(|&r| sheet.text(r, "number") == "RT-0005")
        .unwrap();
    sheet.set(r, "notes", Data::String("livrare luni".into()));
    edit::write_xlsx_as_excel(&sheets, &file, &["Invoices"]);
    let f = file.to_str().unwrap();
    // Not over the input: the file a person edited is never overwritten.
    let out = a.run(&["validate", f, "--changes", f]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is an input file"));
    let dry = a.run_ok(&["validate", f], 0);
    assert_eq!(
        changes(&dry),
        [(
            s("RT-0005"),
            s("changed"),
            vec![s("notes |  | livrare luni")]
        )]
    );
    a.run_ok(&["import", f], 0);
    let after = a.by_number("/invoices");
    let mut want = before["RT-0005"].clone();
    want["notes"] = json!("livrare luni");
    assert_eq!(
        norm(&after["RT-0005"]),
        norm(&want),
        "its lines as they were"
    );
}

/// A CSV export as Excel saves it: a line with two taxes reads back as it
/// is (no change), and a document whose id cells were cleared is matched
/// by its number, changed, not created again.
#[test]
fn two_taxes_on_a_line_read_back_and_a_cleared_id_is_matched_by_number() {
    let a = Account::seeded();
    let c = a.by_number("/customers")["C-3"].clone();
    a.create(
        "/invoices",
        json!({"customer": c["id"], "number": "RT-0200", "date": super::day(2025, 10, 11),
            "items": [{"name": "Vin", "quantity": 6, "unit_cost": 120,
                       "taxes": [{"tax_rate": "tva20"}, {"tax_rate": "tva8"}]}]}),
    );
    let before = a.by_number("/invoices");
    let file = a.dir.join("inv.csv");
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
    let same = a.dir.join("same.csv");
    edit_file(&file, Via::Csv, &same, |_| {});
    let dry = a.run_ok(&["validate", same.to_str().unwrap()], 0);
    assert_eq!(changes(&dry), [], "nothing changed: {dry}");

    let edited = a.dir.join("edited.csv");
    edit_file(&file, Via::Csv, &edited, |s| {
        for r in s.rows_of("RT-0200") {
            s.set(r, "id", Data::Empty);
            s.set(r, "line.quantity", Data::String("5".into()));
        }
    });
    let e = edited.to_str().unwrap();
    let out = a.run_ok(&["import", e], 0);
    assert_eq!(
        (
            out["upload"]["updated"].as_u64(),
            out["upload"]["done"].as_u64()
        ),
        (Some(1), Some(0)),
        "{out}"
    );
    let after = a.by_number("/invoices");
    assert_eq!(after.len(), before.len(), "none created");
    let inv = &after["RT-0200"];
    assert_eq!(inv["id"], before["RT-0200"]["id"]);
    assert_eq!(inv["items"][0]["quantity"], json!(5), "{inv}");
    let taxes: Vec<&str> = inv["items"][0]["taxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t["tax_rate"]
                .as_str()
                .or(t["tax_rate"]["id"].as_str())
                .unwrap_or_else(|| panic!("{t}"))
        })
        .collect();
    assert_eq!(taxes, ["tva20", "tva8"], "{inv}");
}
