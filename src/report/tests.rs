//! Reports written to a temp dir and read back: the XLSX with calamine and
//! its XML parts through `zip`, the CSV with the `csv` crate.

use super::*;
use crate::model::{
    AppliedRate, CellRef, Customer, DocKind, Draft, Invoice, LineItem, MatchOn, Origins, RowRef,
};
use crate::validate::{validate_one, Rules, Verdict};
use calamine::{Data, Reader};
use rust_decimal_macros::dec;
use std::io::Read;
use std::sync::Arc;

const HEADERS: [&str; 5] = ["Nr", "Data", "Client", "IDNO", "Cant"];

fn row(n: u64) -> RowRef {
    RowRef {
        file: Arc::from("in.xlsx"),
        sheet: Some(Arc::from("Facturi")),
        row: n,
    }
}

fn cell(n: u64, col: usize) -> CellRef {
    CellRef {
        row: row(n),
        column: Arc::from(HEADERS[col]),
        col_idx: Some(col),
    }
}

/// A document over rows `first` and `first + 1`, the IDNO bad when asked.
fn draft(number: &str, first: u64, bad_idno: bool) -> Draft {
    let mut origins = Origins::default();
    origins.insert("number", &cell(first, 0));
    origins.insert("date", &cell(first, 1));
    origins.insert("customer.name", &cell(first, 2));
    origins.insert("customer.tax_id", &cell(first, 3));
    origins.insert("items[0].quantity", &cell(first, 4));
    origins.insert("items[1].quantity", &cell(first + 1, 4));
    let line = |q| LineItem {
        name: Some("Pâine".into()),
        quantity: Some(q),
        unit_cost: Some(dec!(10)),
        taxes: vec![AppliedRate::tax("tva8")],
        ..Default::default()
    };
    Draft {
        source_key: number.into(),
        rows: vec![row(first), row(first + 1)],
        kind: DocKind::Invoice,
        invoice: Invoice {
            number: Some(number.into()),
            date: chrono::NaiveDate::from_ymd_opt(2024, 5, 2),
            items: vec![line(dec!(1)), line(dec!(-2))],
            ..Default::default()
        },
        customer: Customer {
            name: Some("SRL Beta".into()),
            tax_id: Some(
                if bad_idno {
                    "1008600038412"
                } else {
                    "1008600038413"
                }
                .into(),
            ),
            ..Default::default()
        },
        match_on: MatchOn::Number,
        origins,
        ..Default::default()
    }
}

fn input_rows() -> Vec<(RowRef, Vec<ReportCell>)> {
    (3..=6)
        .map(|n| {
            let nr = if n < 5 { "F-1" } else { "F-2" };
            (
                row(n),
                vec![
                    ReportCell::Text(nr.into()),
                    ReportCell::Date(chrono::NaiveDate::from_ymd_opt(2024, 5, 2).unwrap()),
                    ReportCell::Text("SRL Beta".into()),
                    ReportCell::Text("1008600038412".into()),
                    ReportCell::Number(if n % 2 == 0 { -2.0 } else { 1.0 }),
                ],
            )
        })
        .collect()
}

fn outcomes() -> Vec<Verdict> {
    let rules = Rules::default();
    let mut ok = draft("F-2", 5, false);
    ok.invoice.items[1].quantity = Some(dec!(2));
    [
        validate_one(draft("F-1", 3, true), &rules),
        validate_one(ok, &rules),
    ]
    .iter()
    .map(Verdict::of)
    .collect()
}

fn layout(format: RejectsFormat) -> RejectsLayout {
    RejectsLayout {
        format,
        headers: HEADERS.iter().map(|s| s.to_string()).collect(),
        title_rows: 1,
        title: "Rejected rows of in.xlsx".into(),
        with_file: false,
        with_sheet: false,
    }
}

fn zip_part(path: &std::path::Path, name: &str) -> Option<String> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut f = z.by_name(name).ok()?;
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    Some(s)
}

#[test]
fn xlsx_rejects_keep_the_layout_and_mark_the_bad_cells() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rejects.xlsx");
    let mut w = RejectsWriter::new(
        &path,
        layout(RejectsFormat::Xlsx {
            sheet: "Facturi".into(),
        }),
    );
    for v in outcomes() {
        if !v.is_valid() {
            w.push(&v);
        }
    }
    assert_eq!(w.documents, 1);
    let mut f = w.start().unwrap();
    for (at, cells) in input_rows() {
        f.row(&at, cells).unwrap();
    }
    let report = f.finish().unwrap();
    assert_eq!((report.rows, report.documents), (2, 1));

    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
    assert_eq!(wb.sheet_names(), vec!["Facturi".to_string()]);
    let range = wb.worksheet_range("Facturi").unwrap();
    let rows: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
    assert_eq!(
        rows.len(),
        4,
        "title, header, the two rows of F-1: {rows:?}"
    );
    assert_eq!(rows[0][0], Data::String("Rejected rows of in.xlsx".into()));
    let header: Vec<String> = rows[1].iter().map(|c| c.to_string()).collect();
    assert_eq!(
        header,
        ["Nr", "Data", "Client", "IDNO", "Cant", "_row", "_errors"]
    );
    assert_eq!(rows[2][0], Data::String("F-1".into()));
    assert_eq!(rows[2][5], Data::Float(3.0));
    assert_eq!(rows[3][5], Data::Float(4.0));
    assert_eq!(rows[3][4], Data::Float(-2.0));
    let errors = rows[2][6].to_string();
    assert!(errors.contains("IDNO: customer.tax_id"), "{errors}");
    assert!(rows[3][6].to_string().contains("negative quantity"));

    // The bad cells (D3 = IDNO of row 3, E4 = quantity of row 4) carry a
    // note and a fill; a good cell (C3) carries neither.
    let comments = zip_part(&path, "xl/comments1.xml").expect("a comments part");
    assert!(comments.contains(r#"ref="D3""#), "{comments}");
    assert!(comments.contains(r#"ref="E4""#), "{comments}");
    assert!(!comments.contains(r#"ref="C3""#));
    assert!(comments.contains("check digit is 2"), "{comments}");
    let sheet = zip_part(&path, "xl/worksheets/sheet1.xml").unwrap();
    let style_of = |r: &str| -> u32 {
        let at = sheet
            .find(&format!(r#"<c r="{r}""#))
            .unwrap_or_else(|| panic!("{r}"));
        let tag = &sheet[at..at + sheet[at..].find('>').unwrap()];
        tag.split(" s=\"")
            .nth(1)
            .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
            .unwrap_or(0)
    };
    let styles = zip_part(&path, "xl/styles.xml").unwrap();
    let xfs = &styles[styles.find("<cellXfs").unwrap()..];
    let xf_fill = |s: u32| -> u32 {
        let xf = xfs.split("<xf ").nth(s as usize + 1).unwrap();
        xf.split("fillId=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let fills: Vec<&str> = styles[styles.find("<fills").unwrap()..styles.find("</fills>").unwrap()]
        .split("<fill>")
        .skip(1)
        .collect();
    for bad in ["D3", "E4"] {
        let fill = fills[xf_fill(style_of(bad)) as usize];
        assert!(fill.contains("FFC7CE"), "{bad}: {fill}");
    }
    assert_eq!(xf_fill(style_of("C3")), 0, "a good cell is not filled");
}

#[test]
fn csv_rejects_keep_delimiter_encoding_and_title_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rejects.csv");
    let mut w = RejectsWriter::new(
        &path,
        layout(RejectsFormat::Csv {
            delimiter: b';',
            encoding: encoding_rs::WINDOWS_1251,
        }),
    );
    for v in outcomes() {
        if !v.is_valid() {
            w.push(&v);
        }
    }
    let mut f = w.start().unwrap();
    for (at, mut cells) in input_rows() {
        cells[2] = ReportCell::Text("ООО Бета".into());
        f.row(&at, cells).unwrap();
    }
    f.finish().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let (text, _, bad) = encoding_rs::WINDOWS_1251.decode(&bytes);
    assert!(!bad);
    assert!(bytes.contains(&0xCE), "Cyrillic О in cp1251");
    let mut rd = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let recs: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(recs.len(), 4);
    assert_eq!(&recs[0][0], "Rejected rows of in.xlsx");
    assert_eq!(
        recs[1].iter().collect::<Vec<_>>(),
        ["Nr", "Data", "Client", "IDNO", "Cant", "_row", "_errors"]
    );
    assert_eq!(&recs[2][2], "ООО Бета");
    assert_eq!(&recs[2][5], "3");
    assert!(recs[2][6].contains("check digit"));
    assert_eq!(&recs[3][5], "4");
}

#[test]
fn errors_list_has_one_line_per_problem() {
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("bad.xlsx");
    let path = errors_path_for(&rejects);
    assert_eq!(path, dir.path().join("bad.errors.csv"));
    let mut w = ErrorsWriter::create(&path).unwrap();
    for o in outcomes() {
        w.push(&o).unwrap();
    }
    assert_eq!(w.written, 2);
    w.finish().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let mut rd = csv::Reader::from_reader(&bytes[3..]);
    assert_eq!(
        rd.headers().unwrap().iter().collect::<Vec<_>>(),
        errors::COLUMNS
    );
    let recs: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    let idno = &recs[0];
    assert_eq!(
        idno.iter().collect::<Vec<_>>()[..8],
        [
            "in.xlsx",
            "Facturi",
            "3",
            "IDNO",
            "customer.tax_id",
            "idno_check_digit",
            "error",
            "the IDNO's check digit is 2, its first 12 digits give 3"
        ]
    );
    assert_eq!(&idno[8], "1008600038412");
    assert_eq!(&idno[10], "F-1");
    assert_eq!(
        (&recs[1][2], &recs[1][3], &recs[1][5]),
        ("4", "Cant", "bad_quantity")
    );
}

#[test]
fn summary_counts_and_renders() {
    let mut s = Summary {
        rows_read: 4,
        ..Default::default()
    };
    for o in outcomes() {
        s.record(&o);
    }
    assert_eq!(
        (s.invoices_formed, s.valid, s.rejected, s.errors),
        (2, 1, 1, 2)
    );
    assert_eq!(s.by_code.get("idno_check_digit"), Some(&1));
    assert!(!s.all_valid());
    let text = s.render_text();
    assert!(
        text.starts_with("4 rows read; 2 documents formed: 1 valid, 1 rejected\n"),
        "{text}"
    );
    assert!(text.contains("  bad_quantity      1"), "{text}");
    assert!(
        text.contains("error[idno_check_digit]: in.xlsx [Facturi] row 3, column \"IDNO\""),
        "{text}"
    );
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["rejected"], 1);
    assert_eq!(json["by_code"]["bad_quantity"], 1);
}

#[test]
fn utf16_rejects_and_an_empty_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rejects.tsv");
    let mut lay = layout(RejectsFormat::Csv {
        delimiter: b'\t',
        encoding: encoding_rs::UTF_16LE,
    });
    lay.title_rows = 2;
    let mut w = RejectsWriter::new(&path, lay.clone());
    for v in outcomes() {
        if !v.is_valid() {
            w.push(&v);
        }
    }
    let mut f = w.start().unwrap();
    for (at, cells) in input_rows() {
        f.row(&at, cells).unwrap();
    }
    f.finish().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"\xFF\xFE"), "a UTF-16LE BOM");
    let (text, _, bad) = encoding_rs::UTF_16LE.decode(&bytes);
    assert!(!bad);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], "", "the second title row is empty");
    assert!(lines[2].starts_with("Nr\tData\tClient\tIDNO\tCant\t_row\t_errors"));
    assert!(lines[3].starts_with("F-1\t2024-05-02\tSRL Beta\t1008600038412\t1\t3\t"));

    // Nothing rejected: the report is still written, header only, so a
    // stale one from an earlier run does not linger.
    let empty = dir.path().join("none.csv");
    std::fs::write(&empty, "stale").unwrap();
    let report = RejectsWriter::new(&empty, lay)
        .start()
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(report.rows, 0);
    let bytes = std::fs::read(&empty).unwrap();
    let (text, _, _) = encoding_rs::UTF_16LE.decode(&bytes);
    assert_eq!(text.lines().count(), 3);
}
