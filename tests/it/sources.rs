//! Integration tests: the source options that take a layout apart before
//! the fields are read: wide slots named by values (a net and a VAT column
//! per rate), `fill_down` for exports that write a record's columns on its
//! first row only, and several sheets read with one mapping, a document's
//! rows on one sheet, every row keeping its sheet.

use crate::support::{bin, TestDir};
use facturare_etl::mapping::{self, drafts, Mapping};
use facturare_etl::model::Draft;
use facturare_etl::read::{self, ReadError, SheetSel, SourceRow, SourceSpec};
use rust_decimal_macros::dec;
use rust_xlsxwriter::{Format as XFormat, Workbook};
use std::path::Path;

fn read_all(path: &Path, spec: &SourceSpec) -> (Vec<String>, Vec<Result<SourceRow, ReadError>>) {
    let src = read::open(path, spec).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let headers = src.headers().to_vec();
    (headers, src.collect())
}

fn rows_ok(items: Vec<Result<SourceRow, ReadError>>) -> Vec<SourceRow> {
    items
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("row error: {e}")))
        .collect()
}

fn texts(r: &SourceRow) -> Vec<String> {
    r.cells.iter().map(|c| c.to_string()).collect()
}

fn all_drafts(m: &Mapping, file: &Path) -> (Vec<Draft>, mapping::DraftStats) {
    let mut d = drafts(m, &[file.to_path_buf()]).unwrap_or_else(|e| panic!("{e}"));
    let out: Vec<Draft> = d
        .by_ref()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    (out, d.stats())
}

#[test]
fn wide_slots_named_by_values_and_constant_templates() {
    let dir = TestDir::new();
    let m = dir.write(
        "m.toml",
        r#"version = 1
[invoice]
number = "Nr"
[line]
wide = { values = ["20", "8", "0"] }
name = { template = "Livrări cu cota TVA {n}%" }
unit_cost = { column = "Valoare {n}%" }
taxes = { template = "tva{n}" }
check_vat = { column = "TVA {n}%" }

[[example]]
rows = [{ Nr = "A-1", "Valoare 20%" = 100, "TVA 20%" = 20, "Valoare 0%" = 50, "TVA 0%" = 0 }]
expect = { number = "A-1", items = [
  { name = "Livrări cu cota TVA 20%", unit_cost = 100, taxes = [{ tax_rate = "tva20" }] },
  { name = "Livrări cu cota TVA 0%", unit_cost = 50, taxes = [{ tax_rate = "tva0" }] },
] }
"#,
    );
    let input = dir.write(
        "in.csv",
        "Nr;Valoare 20%;TVA 20%;Valoare 8%;TVA 8%;Valoare 0%;TVA 0%\nA-1;100;20;;;;\nA-2;;;10;0,8;5;0\n",
    );
    let mapping = Mapping::load(&m).unwrap();
    let (ds, _) = all_drafts(&mapping, &input);
    let rates = |d: &Draft| -> Vec<String> {
        d.invoice
            .items
            .iter()
            .map(|i| i.taxes[0].tax_rate.as_ref().unwrap().0.clone())
            .collect()
    };
    assert_eq!(
        rates(&ds[0]),
        ["tva20"],
        "empty slots are dropped despite their constants"
    );
    assert_eq!(rates(&ds[1]), ["tva8", "tva0"]);
    assert_eq!(ds[1].checks.lines[0].vat, Some(dec!(0.8)));
    assert_eq!(
        &*ds[1].origin("items[1].unit_cost").unwrap().column,
        "Valoare 0%"
    );
    assert!(mapping::run_examples(&mapping).iter().all(|o| o.passed));
    // Values and a range are one or the other; a value listed twice is a mistake.
    for (wide, says) in [
        ("{ values = [\"20\"], from = 1 }", "not both"),
        ("{ values = [\"20\", \"20\"] }", "lists \"20\" twice"),
        ("{ values = [] }", "from 1 to 1000 slots"),
    ] {
        let text = format!("version = 1\n[invoice]\nnumber = \"Nr\"\n[line]\nwide = {wide}\nunit_cost = \"V{{n}}\"\n");
        let err = Mapping::from_text(Path::new("w.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{wide}: {err}");
    }
}

#[test]
fn fill_down_keeps_continuation_rows_in_their_invoice() {
    let dir = TestDir::new();
    let text = r#"version = 1
[source]
fill_down = ["Number", "Partner"]
[invoice]
group_by = "Number"
number = "Number"
[customer]
name = "Partner"
[line]
name = "Label"
quantity = "Qty"

[[example]]
rows = [{ Number = "INV/1", Partner = "Alfa", Label = "chair", Qty = 1 }, { Label = "desk", Qty = 2 }]
expect = { number = "INV/1", customer = { name = "Alfa" }, items = [{ name = "chair" }, { name = "desk" }] }
"#;
    let m = dir.write("m.toml", text);
    // Quoted cells: the parser, not the quick splitter, reads both passes.
    let input = dir.write(
        "in.csv",
        "Number,Partner,Label,Qty\nINV/1,Alfa,\"chair, oak\",1\n,,desk,2\nINV/2,Beta,lamp,1\n,,pen,3\n,,ink,4\n",
    );
    let mapping = Mapping::load(&m).unwrap();
    let (ds, stats) = all_drafts(&mapping, &input);
    assert_eq!(ds.len(), 2);
    assert_eq!(stats.rows_read, 5);
    let names = |d: &Draft| -> Vec<String> {
        d.invoice
            .items
            .iter()
            .map(|i| i.name.clone().unwrap())
            .collect()
    };
    assert_eq!(names(&ds[0]), ["chair, oak", "desk"]);
    assert_eq!(names(&ds[1]), ["lamp", "pen", "ink"]);
    assert!(
        ds.iter().all(|d| d.problems.is_empty()),
        "{:?}",
        ds[0].problems
    );
    assert_eq!(ds[1].source_key, "group:INV/2");
    assert!(mapping::run_examples(&mapping).iter().all(|o| o.passed));
    // Without fill_down the continuation rows have no number.
    let plain = dir.write(
        "plain.toml",
        text.replace("fill_down = [\"Number\", \"Partner\"]\n", ""),
    );
    let (ds, _) = all_drafts(&Mapping::load(&plain).unwrap(), &input);
    assert_eq!(ds.len(), 5);
    assert!(ds
        .iter()
        .any(|d| d.problems.iter().any(|p| p.code == "missing_group_key")));
    // A fill_down column that is not there is a mistake at its place.
    let bad = dir.write("bad.toml", text.replace("\"Partner\"]", "\"Partnr\"]"));
    let err = drafts(&Mapping::load(&bad).unwrap(), &[input])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no column \"Partnr\"") && err.contains("did you mean \"Partner\""),
        "{err}"
    );
}

#[test]
fn documents_never_span_sheets_and_keep_their_sheet() {
    let dir = TestDir::new();
    let book = dir.join("lunar.xlsx");
    let mut wb = Workbook::new();
    for (name, rows) in [
        (
            "Ianuarie",
            &[
                ["F-1", "Alfa", "chair"],
                ["F-1", "Alfa", "desk"],
                ["F-2", "Beta", "lamp"],
            ][..],
        ),
        (
            "Februarie",
            &[["F-3", "Gama", "pen"], ["F-2", "Beta", "ink"]][..],
        ),
    ] {
        let ws = wb.add_worksheet().set_name(name).unwrap();
        for (c, h) in ["Nr", "Client", "Item"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(1 + r as u32, c as u16, *v).unwrap();
            }
        }
    }
    wb.save(&book).unwrap();
    let m = dir.write(
        "m.toml",
        "version = 1\n[source]\nsheet = \"*\"\n[invoice]\ngroup_by = \"Nr\"\nnumber = \"Nr\"\n[customer]\nname = \"Client\"\n[line]\nname = \"Item\"\n",
    );
    let (ds, _) = all_drafts(&Mapping::load(&m).unwrap(), &book);
    let got: Vec<(String, usize, String)> = ds
        .iter()
        .map(|d| {
            (
                d.source_key.clone(),
                d.invoice.items.len(),
                d.rows[0].sheet.as_deref().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("group:Ianuarie:F-1".to_string(), 2, "Ianuarie".to_string()),
            ("group:Ianuarie:F-2".to_string(), 1, "Ianuarie".to_string()),
            (
                "group:Februarie:F-3".to_string(),
                1,
                "Februarie".to_string()
            ),
            (
                "group:Februarie:F-2".to_string(),
                1,
                "Februarie".to_string()
            ),
        ]
    );
    let cell = ds[3].origin("items[0].name").unwrap();
    assert_eq!(
        (cell.row.sheet.as_deref(), cell.row.row),
        (Some("Februarie"), 3)
    );
    // The dry run reports the number used on both sheets, at its sheet.
    let out = bin(dir.path())
        .args(["--json", "validate"])
        .arg(&book)
        .arg("--mapping")
        .arg(&m)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["invoices_formed"], 4);
    assert_eq!(v["by_code"]["duplicate_number"], 1, "{v}");
    let dup = v["first_problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .find(|p| p.contains("duplicate_number"))
        .unwrap();
    assert!(
        dup.contains("[Februarie] row 3") && dup.contains("[Ianuarie] row 4"),
        "{dup}"
    );
}

/// A register with a sheet per month under a merged title (header on row
/// 3), one month with its columns in another order and an extra one, an
/// empty sheet and a summary sheet with a header of its own.
fn monthly_workbook(path: &Path) {
    let mut wb = Workbook::new();
    type Month<'a> = (&'a str, &'a [&'a str], &'a [&'a [&'a str]]);
    let months: [Month; 3] = [
        (
            "Ianuarie",
            &["Nr", "Client", "Suma"],
            &[&["F-1", "Alfa", "10"], &["F-2", "Beta", "20"]],
        ),
        (
            "Februarie",
            &["Suma", "Nota", "Nr", "Client"],
            &[&["30", "x", "F-3", "Gama"]],
        ),
        (
            "Martie",
            &["Nr", "Client", "Suma"],
            &[&["F-4", "Delta", "40"]],
        ),
    ];
    for (name, header, rows) in months {
        let ws = wb.add_worksheet().set_name(name).unwrap();
        ws.merge_range(0, 0, 0, 2, &format!("Registru, {name}"), &XFormat::new())
            .unwrap();
        for (c, h) in header.iter().enumerate() {
            ws.write_string(2, c as u16, *h).unwrap();
        }
        for (r, row) in rows.iter().enumerate() {
            // Februarie's rows follow its own order: Suma, Nota, Nr, Client.
            for (c, v) in row.iter().enumerate() {
                ws.write_string(3 + r as u32, c as u16, *v).unwrap();
            }
        }
    }
    wb.add_worksheet().set_name("Gol").unwrap();
    let sum = wb.add_worksheet().set_name("Sinteză").unwrap();
    for (c, h) in ["Luna", "Total"].iter().enumerate() {
        sum.write_string(0, c as u16, *h).unwrap();
    }
    sum.write_string(2, 0, "Ianuarie").unwrap();
    sum.write_number(2, 1, 30.0).unwrap();
    wb.save(path).unwrap();
}

#[test]
fn xlsx_every_sheet_with_the_first_header_or_a_list() {
    let dir = TestDir::new();
    let p = dir.join("lunar.xlsx");
    monthly_workbook(&p);
    let spec = SourceSpec {
        sheet: Some(SheetSel::All),
        header_row: 3,
        ..Default::default()
    };
    let src = read::open(&p, &spec).unwrap();
    assert_eq!(src.headers(), ["Nr", "Client", "Suma"]);
    let d = src.detected().clone();
    assert_eq!(d.sheets, ["Ianuarie", "Februarie", "Martie"]);
    assert_eq!(d.notes.len(), 2, "{:?}", d.notes);
    assert!(
        d.notes[0].contains("\"Gol\" has no header row"),
        "{:?}",
        d.notes
    );
    assert!(
        d.notes[1].contains("\"Sinteză\"")
            && d.notes[1].contains("lacks \"Nr\", \"Client\" and \"Suma\""),
        "{:?}",
        d.notes
    );
    let rows = rows_ok(src.collect());
    let seen: Vec<(String, u64, Vec<String>)> = rows
        .iter()
        .map(|r| {
            (
                r.at.sheet.as_deref().unwrap().to_string(),
                r.at.row,
                texts(r),
            )
        })
        .collect();
    let row = |s: &str, n: u64, v: [&str; 3]| (s.to_string(), n, v.map(String::from).to_vec());
    assert_eq!(
        seen,
        vec![
            row("Ianuarie", 4, ["F-1", "Alfa", "10"]),
            row("Ianuarie", 5, ["F-2", "Beta", "20"]),
            // Placed by name; the extra column "Nota" is not read.
            row("Februarie", 4, ["F-3", "Gama", "30"]),
            row("Martie", 4, ["F-4", "Delta", "40"]),
        ]
    );
    // A list reads those sheets, in its order.
    let spec = SourceSpec {
        sheet: Some(SheetSel::List(vec!["Martie".into(), "ianuarie".into()])),
        header_row: 3,
        ..Default::default()
    };
    let src = read::open(&p, &spec).unwrap();
    assert_eq!(src.detected().sheets, ["Martie", "Ianuarie"]);
    let rows = rows_ok(src.collect());
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].at.sheet.as_deref(), Some("Martie"));
    // A listed sheet without the first one's columns is an error that says why.
    let spec = SourceSpec {
        sheet: Some(SheetSel::List(vec!["Ianuarie".into(), "Sinteză".into()])),
        header_row: 3,
        ..Default::default()
    };
    let msg = read::open(&p, &spec).unwrap_err().to_string();
    assert!(
        msg.contains("lunar.xlsx") && msg.contains("the header of sheet \"Sinteză\""),
        "{msg}"
    );
    let spec = SourceSpec {
        sheet: Some(SheetSel::List(vec!["Ianuarie".into(), "Aprilie".into()])),
        header_row: 3,
        ..Default::default()
    };
    let msg = read::open(&p, &spec).unwrap_err().to_string();
    assert!(msg.contains("no sheet named \"Aprilie\""), "{msg}");
}

#[test]
fn fill_down_carries_a_record_to_its_continuation_rows() {
    let dir = TestDir::new();
    let p = dir.write(
        "odoo.csv",
        "Number,Partner,Tax ID,Label,Qty\n\
         INV/1,Alfa,MD1003600150117,chair,1\n\
         ,,,table,2\n\
         \n\
         ,,,lamp,3\n\
         INV/2,Beta,,desk,4\n\
         ,,,pen,5\n",
    );
    let spec = SourceSpec {
        fill_down: vec!["Number".into(), "partner".into(), "Tax ID".into()],
        ..Default::default()
    };
    let (_, items) = read_all(&p, &spec);
    let rows = rows_ok(items);
    let got: Vec<String> = rows.iter().map(|r| texts(r).join("|")).collect();
    assert_eq!(
        got,
        [
            "INV/1|Alfa|MD1003600150117|chair|1",
            "INV/1|Alfa|MD1003600150117|table|2",
            // (the blank line is no row, and does not end the record)
            "INV/1|Alfa|MD1003600150117|lamp|3",
            "INV/2|Beta||desk|4",
            "INV/2|Beta||pen|5",
        ]
    );
    assert_eq!(rows[2].at.row, 5, "rows keep their line numbers");
    // The quick splitter is not used: rows must be read in order.
    assert!(read::plain(&p, &spec, None).unwrap().is_none());
}
