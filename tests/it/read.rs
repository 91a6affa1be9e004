//! Integration tests: the readers. CSV in every supported encoding and
//! delimiter, BOMs, quoting, ragged rows and line numbers; XLSX workbooks
//! built here with rust_xlsxwriter (dates, serial numbers, formulas' cached
//! values, merged cells, sheets by name and position); JSON arrays, paths,
//! JSON Lines and nested lines; random bytes never panic.

use crate::support::TestDir;
use chrono::NaiveDate;
use facturare_etl::read::{self, Cell, Format, ReadError, SheetSel, SourceRow, SourceSpec};
use proptest::prelude::*;
use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Formula, Workbook};
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

const RU: &str = "Номер;Контрагент;Сумма\nМД-1;ООО Ромашка, Кишинёв;1 234,56\nМД-2;Индивидуальный предприниматель Иванов;99,00\nМД-3;Общество с ограниченной ответственностью Заря;10,00\n";

#[test]
fn csv_encodings_set_explicitly() {
    let dir = TestDir::new();
    for label in [
        "windows-1251",
        "ibm866",
        "koi8-r",
        "utf-8",
        "utf-16le",
        "utf-16be",
    ] {
        let enc = encoding_rs::Encoding::for_label(label.as_bytes()).unwrap();
        let bytes: Vec<u8> = match label {
            "utf-16le" => [
                &[0xFF, 0xFE][..],
                &RU.encode_utf16()
                    .flat_map(|u| u.to_le_bytes())
                    .collect::<Vec<_>>(),
            ]
            .concat(),
            "utf-16be" => [
                &[0xFE, 0xFF][..],
                &RU.encode_utf16()
                    .flat_map(|u| u.to_be_bytes())
                    .collect::<Vec<_>>(),
            ]
            .concat(),
            _ => enc.encode(RU).0.into_owned(),
        };
        let p = dir.write(format!("{label}.csv"), &bytes);
        let spec = SourceSpec {
            encoding: Some(enc),
            ..Default::default()
        };
        let (h, rows) = read_all(&p, &spec);
        assert_eq!(h, vec!["Номер", "Контрагент", "Сумма"], "{label}");
        let rows = rows_ok(rows);
        assert_eq!(
            texts(&rows[0]),
            vec!["МД-1", "ООО Ромашка, Кишинёв", "1 234,56"],
            "{label}"
        );
        assert_eq!(rows[2].at.row, 4, "{label}");
    }
}

#[test]
fn csv_encodings_detected_with_confidence() {
    let dir = TestDir::new();
    let long = RU.repeat(20);
    for (label, expect) in [
        ("windows-1251", "windows-1251"),
        ("koi8-r", "KOI8-R"),
        ("ibm866", "IBM866"),
    ] {
        let enc = encoding_rs::Encoding::for_label(label.as_bytes()).unwrap();
        let p = dir.write(format!("{label}.csv"), enc.encode(&long).0);
        let src = read::open(&p, &SourceSpec::default()).unwrap();
        let d = src.detected().clone();
        // KOI8-U decodes Russian text exactly as KOI8-R does.
        let same =
            d.encoding == Some(expect) || (expect == "KOI8-R" && d.encoding == Some("KOI8-U"));
        assert!(same, "{label}: detected {:?}", d.encoding);
        assert!(
            matches!(d.confidence, Some("likely" | "guessed")),
            "{label}: {:?}",
            d.confidence
        );
        assert_eq!(d.delimiter, Some(b';'));
        let rows = rows_ok(src.collect());
        assert_eq!(
            rows[0].cell(1).to_string(),
            "ООО Ромашка, Кишинёв",
            "{label}"
        );
    }
    // UTF-8 with and without a BOM, and UTF-16 by its BOM, are certain.
    for (name, bytes) in [
        ("bom.csv", [&[0xEF, 0xBB, 0xBF][..], RU.as_bytes()].concat()),
        ("plain.csv", RU.as_bytes().to_vec()),
        (
            "u16.csv",
            [
                &[0xFF, 0xFE][..],
                &RU.encode_utf16()
                    .flat_map(|u| u.to_le_bytes())
                    .collect::<Vec<_>>(),
            ]
            .concat(),
        ),
    ] {
        let p = dir.write(name, bytes);
        let src = read::open(&p, &SourceSpec::default()).unwrap();
        assert_eq!(src.detected().confidence, Some("certain"), "{name}");
        assert_eq!(
            src.headers()[0],
            "Номер",
            "{name}: the BOM is not part of the first header"
        );
    }
}

#[test]
fn csv_delimiters_detected_or_set() {
    let dir = TestDir::new();
    for (d, name) in [(',', "comma"), (';', "semi"), ('\t', "tab"), ('|', "pipe")] {
        let text = format!("a{d}b{d}c\n1{d}\"x{d}y\"{d}3\n4{d}5{d}6\n");
        let p = dir.write(format!("{name}.csv"), text);
        let (h, rows) = read_all(&p, &SourceSpec::default());
        assert_eq!(h, vec!["a", "b", "c"], "{name}");
        assert_eq!(
            texts(&rows_ok(rows)[0]),
            vec!["1".to_string(), format!("x{d}y"), "3".into()],
            "{name}"
        );
    }
    // Set explicitly: a comma file read with ';' is one column.
    let p = dir.write("set.csv", "a,b;c\n1,2;3\n");
    let spec = SourceSpec {
        delimiter: Some(b';'),
        ..Default::default()
    };
    let (h, _) = read_all(&p, &spec);
    assert_eq!(h, vec!["a,b", "c"]);
}

#[test]
fn csv_quoting_titles_and_line_numbers() {
    let dir = TestDir::new();
    let text = "Реестр за март\r\nОрганизация: ООО «Альфа»\r\n\r\nNr;Text;Sum\r\n1;\"He said \"\"hi\"\";\r\nsecond line\";5\r\n\r\n2;plain;6\r\nИтого;;11\r\n";
    let p = dir.write("q.csv", text);
    let spec = SourceSpec {
        header_row: 4,
        delimiter: Some(b';'),
        ..Default::default()
    };
    let (h, rows) = read_all(&p, &spec);
    assert_eq!(h, vec!["Nr", "Text", "Sum"]);
    let rows = rows_ok(rows);
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0].cell(1).to_string(),
        "He said \"hi\";\r\nsecond line"
    );
    let lines: Vec<u64> = rows.iter().map(|r| r.at.row).collect();
    assert_eq!(
        lines,
        vec![5, 8, 9],
        "rows are numbered by the line they start on"
    );
}

#[test]
fn csv_ragged_rows_are_row_errors_and_reading_goes_on() {
    let dir = TestDir::new();
    let p = dir.write("r.csv", "a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12,\n13,14,15\n");
    let (_, items) = read_all(&p, &SourceSpec::default());
    assert_eq!(items.len(), 5);
    match &items[1] {
        Err(ReadError::Ragged {
            row,
            expected,
            found,
        }) => {
            assert_eq!((row.at.row, *expected, *found), (3, 3, 2));
            assert_eq!(row.cells.len(), 3, "padded to the header's width");
            assert!(!items[1].as_ref().unwrap_err().is_fatal());
            let msg = items[1].as_ref().unwrap_err().to_string();
            assert!(
                msg.contains("r.csv row 3") && msg.contains("expected 3 cells"),
                "{msg}"
            );
        }
        other => panic!("expected a ragged row, got {other:?}"),
    }
    assert!(matches!(&items[2], Err(ReadError::Ragged { found: 4, .. })));
    // A trailing empty cell is only a trailing delimiter.
    assert!(items[3].is_ok());
    assert_eq!(texts(items[4].as_ref().unwrap()), vec!["13", "14", "15"]);
}

#[test]
fn csv_wrong_encoding_is_fatal_and_names_the_file_and_line() {
    let dir = TestDir::new();
    let mut bytes = b"a;b\n".to_vec();
    for i in 0..3000 {
        bytes.extend_from_slice(format!("{i};ok\n").as_bytes());
    }
    bytes.extend_from_slice(&encoding_rs::WINDOWS_1251.encode("3001;Кишинёв\n").0);
    let p = dir.write("late.csv", bytes);
    let spec = SourceSpec {
        encoding: Some(encoding_rs::UTF_8),
        ..Default::default()
    };
    let (_, items) = read_all(&p, &spec);
    let err = items
        .into_iter()
        .find_map(Result::err)
        .expect("an encoding error");
    assert!(err.is_fatal());
    let msg = err.to_string();
    assert!(
        msg.contains("late.csv line 3002") && msg.contains("not valid UTF-8"),
        "{msg}"
    );
}

fn workbook(path: &Path) {
    let mut wb = Workbook::new();
    let date = XFormat::new().set_num_format("dd.mm.yyyy");
    let first = wb.add_worksheet().set_name("Notes").unwrap();
    first.write_string(0, 0, "nothing here").unwrap();
    let ws = wb.add_worksheet().set_name("Invoices").unwrap();
    ws.merge_range(0, 0, 0, 4, "Invoices 2024", &XFormat::new())
        .unwrap();
    for (c, h) in ["Nr", "Date", "Serial", "Client", "Total"]
        .iter()
        .enumerate()
    {
        ws.write_string(2, c as u16, *h).unwrap();
    }
    ws.write_string(3, 0, "F-1").unwrap();
    ws.write_datetime_with_format(3, 1, ExcelDateTime::from_ymd(2024, 1, 5).unwrap(), &date)
        .unwrap();
    ws.write_number(3, 2, 45296.0).unwrap();
    // A client merged over two rows.
    ws.merge_range(3, 3, 4, 3, "SRL Alfa", &XFormat::new())
        .unwrap();
    ws.write_formula(
        3,
        4,
        Formula::new("=0.1+0.2").set_result("0.30000000000000004"),
    )
    .unwrap();
    ws.write_string(4, 0, "F-1").unwrap();
    ws.write_formula(4, 4, Formula::new("=\"x\"&\"y\"").set_result("xy"))
        .unwrap();
    ws.write_string(6, 0, "F-2").unwrap();
    ws.write_number(6, 4, 1234.5).unwrap();
    ws.write_boolean(6, 2, true).unwrap();
    wb.save(path).unwrap();
}

#[test]
fn xlsx_dates_serials_formulas_and_merged_cells() {
    let dir = TestDir::new();
    let p = dir.join("book.xlsx");
    workbook(&p);
    let spec = SourceSpec {
        sheet: Some(SheetSel::Name("Invoices".into())),
        header_row: 3,
        ..Default::default()
    };
    let src = read::open(&p, &spec).unwrap();
    assert_eq!(src.detected().sheet.as_deref(), Some("Invoices"));
    assert_eq!(src.headers(), ["Nr", "Date", "Serial", "Client", "Total"]);
    let rows = rows_ok(src.collect());
    assert_eq!(rows.len(), 3, "the empty row 6 is not a row");
    let r = &rows[0];
    assert_eq!(r.at.row, 4);
    assert_eq!(r.at.sheet.as_deref(), Some("Invoices"));
    assert_eq!(
        r.cell(1),
        &Cell::Date(NaiveDate::from_ymd_opt(2024, 1, 5).unwrap())
    );
    assert_eq!(r.cell(2), &Cell::Number("45296".into()));
    assert_eq!(r.cell(3), &Cell::Text("SRL Alfa".into()));
    assert_eq!(
        r.cell(4),
        &Cell::Number("0.3".into()),
        "cached value, without float noise"
    );
    assert_eq!(
        rows[1].cell(3),
        &Cell::Text("SRL Alfa".into()),
        "merged value on every cell"
    );
    assert_eq!(rows[1].cell(4), &Cell::Text("xy".into()));
    assert_eq!(rows[2].at.row, 7);
    assert_eq!(rows[2].cell(2), &Cell::Bool(true));
    assert_eq!(rows[2].cell(4), &Cell::Number("1234.5".into()));
    // By position (1-based) too.
    let spec = SourceSpec {
        sheet: Some(SheetSel::Index(2)),
        header_row: 3,
        ..Default::default()
    };
    assert_eq!(read::open(&p, &spec).unwrap().headers()[0], "Nr");
}

#[test]
fn xlsx_wrong_sheet_suggests_the_closest() {
    let dir = TestDir::new();
    let p = dir.join("book.xlsx");
    workbook(&p);
    let spec = SourceSpec {
        sheet: Some(SheetSel::Name("Invoice".into())),
        ..Default::default()
    };
    let msg = read::open(&p, &spec).unwrap_err().to_string();
    assert!(
        msg.contains("book.xlsx")
            && msg.contains("no sheet named \"Invoice\"")
            && msg.contains("did you mean \"Invoices\""),
        "{msg}"
    );
    let spec = SourceSpec {
        sheet: Some(SheetSel::Index(5)),
        ..Default::default()
    };
    let msg = read::open(&p, &spec).unwrap_err().to_string();
    assert!(
        msg.contains("no sheet number 5: the workbook has 2 sheets"),
        "{msg}"
    );
}

#[test]
fn not_a_workbook_and_truncated_workbooks() {
    let dir = TestDir::new();
    let p = dir.write("text.xlsx", "Nr;Date\n1;2\n");
    let msg = read::open(&p, &SourceSpec::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("text.xlsx")
            && msg.contains("not an XLSX workbook")
            && msg.contains("looks like text"),
        "{msg}"
    );
    let good = dir.join("good.xlsx");
    workbook(&good);
    let bytes = std::fs::read(&good).unwrap();
    let p = dir.write("cut.xlsx", &bytes[..bytes.len() / 2]);
    let err = read::open(&p, &SourceSpec::default()).unwrap_err();
    assert!(err.is_fatal());
    assert!(err.to_string().contains("cut.xlsx"), "{err}");
    let p = dir.write("empty.xls", b"");
    let msg = read::open(&p, &SourceSpec::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("the file is empty"), "{msg}");
}

#[test]
fn json_arrays_paths_lines_and_nested_lines() {
    let dir = TestDir::new();
    let p = dir.write(
        "o.json",
        r#"{"data": {"orders": [
            {"id": 1, "total": 10.50, "customer": {"name": "Ana", "tax": null}, "lines": [{"qty": 2, "sku": "A"}, {"qty": 1.25, "sku": "B"}]},
            {"id": 2, "paid": true, "lines": []}
        ]}}"#,
    );
    let spec = SourceSpec {
        records: Some("data.orders".into()),
        lines: Some("lines".into()),
        ..Default::default()
    };
    let (h, rows) = read_all(&p, &spec);
    assert_eq!(
        h,
        vec![
            "id",
            "total",
            "customer.name",
            "customer.tax",
            "line.qty",
            "line.sku",
            "paid"
        ]
    );
    let rows = rows_ok(rows);
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0].cell(1),
        &Cell::Number("10.50".into()),
        "exact decimal text"
    );
    assert_eq!(rows[1].cell(4), &Cell::Number("1.25".into()));
    assert_eq!(
        rows[1].cell(2),
        &Cell::Text("Ana".into()),
        "the record's fields on every line"
    );
    assert_eq!((rows[0].at.row, rows[1].at.row, rows[2].at.row), (1, 1, 2));
    assert_eq!(rows[2].cell(6), &Cell::Bool(true));

    let p = dir.write(
        "l.jsonl",
        "{\"a\": 1}\n\n{\"a\": 2, \"b\": \"x\"}\nnot json\n{\"a\": 3}\n",
    );
    let (h, items) = read_all(&p, &SourceSpec::default());
    assert_eq!(h, vec!["a", "b"]);
    assert_eq!(items.len(), 4);
    assert_eq!(
        items[1].as_ref().unwrap().at.row,
        3,
        "JSON Lines rows are line numbers"
    );
    match &items[2] {
        Err(e @ ReadError::Row { at, .. }) => {
            assert_eq!(at.row, 4);
            assert!(!e.is_fatal());
            assert!(e.to_string().contains("invalid JSON"), "{e}");
        }
        other => panic!("expected a row error, got {other:?}"),
    }
    assert!(items[3].is_ok(), "reading goes on after a bad line");
}

#[test]
fn invalid_json_names_the_place() {
    let dir = TestDir::new();
    let p = dir.write("bad.json", "[{\"a\": 1},\n {\"a\": }\n]");
    let msg = read::open(&p, &SourceSpec::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("bad.json") && msg.contains("invalid JSON at line 2 column"),
        "{msg}"
    );
    let p = dir.write("obj.json", "{\"orders\": {\"a\": 1}}");
    let spec = SourceSpec {
        records: Some("orders".into()),
        ..Default::default()
    };
    let msg = read::open(&p, &spec).unwrap_err().to_string();
    assert!(
        msg.contains("expected an array of records at \"orders\", found an object"),
        "{msg}"
    );
    let spec = SourceSpec {
        records: Some("data.orders".into()),
        ..Default::default()
    };
    let msg = read::open(&p, &spec).unwrap_err().to_string();
    assert!(msg.contains("no records at \"data.orders\""), "{msg}");
}

#[test]
fn unknown_extension_asks_for_a_format() {
    let dir = TestDir::new();
    let p = dir.write("data.dat", "a,b\n");
    let msg = read::open(&p, &SourceSpec::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("data.dat") && msg.contains("set `format`"),
        "{msg}"
    );
    let spec = SourceSpec {
        format: Some(Format::Csv),
        ..Default::default()
    };
    assert!(read::open(&p, &spec).is_ok());
}

fn drain(path: &Path, spec: &SourceSpec) {
    if let Ok(src) = read::open(path, spec) {
        let _ = src.headers().len();
        for item in src.take(10_000) {
            if let Err(e) = item {
                let _ = e.to_string();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), zip in any::<bool>()) {
        let dir = TestDir::new();
        let mut data = bytes.clone();
        if zip {
            data.splice(0..0, b"PK\x03\x04".iter().copied());
        }
        for ext in ["csv", "tsv", "json", "jsonl", "xlsx", "xls", "ods"] {
            let p = dir.write(format!("f.{ext}"), &data);
            drain(&p, &SourceSpec::default());
            drain(&p, &SourceSpec { header_row: 3, encoding: Some(encoding_rs::UTF_8), ..Default::default() });
        }
    }

    #[test]
    fn random_text_csv_never_panics(text in "[a-z0-9;,\"\\r\\n|\t ]{0,400}") {
        let dir = TestDir::new();
        let p = dir.write("t.csv", &text);
        drain(&p, &SourceSpec::default());
    }
}
