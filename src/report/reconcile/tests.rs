use super::*;
use crate::ledger::UnitKind;
use crate::ops::verify::{
    ControlTotals, Counts, Delta, Difference, DocumentCheck, Figures, InputCheck, Party, Shown,
    Sums,
};
use calamine::{open_workbook, Data, Reader, Xlsx};
use chrono::NaiveDate;
use rust_decimal_macros::dec;

fn figures(gross: rust_decimal::Decimal) -> Figures {
    Figures {
        currency: "MDL".into(),
        date: NaiveDate::from_ymd_opt(2024, 3, 9),
        customer: Party {
            key: "C-1".into(),
            number: Some("C-1".into()),
            tax_id: Some("1003600045120".into()),
            name: Some("Agrocom SRL".into()),
        },
        lines: 1,
        net: gross / dec!(1.2),
        vat: gross - gross / dec!(1.2),
        gross,
    }
}

fn rec() -> Reconciliation {
    let s = Sums {
        documents: 2,
        net: dec!(200),
        vat: dec!(40),
        gross: dec!(240),
    };
    let a = Sums {
        documents: 2,
        net: dec!(210),
        vat: dec!(42),
        gross: dec!(252),
    };
    let d = Delta {
        documents: 0,
        net: dec!(10),
        vat: dec!(2),
        gross: dec!(12),
    };
    let row = |month: Option<&str>, customer: Option<Party>| TotalsRow {
        kind: UnitKind::Invoice,
        currency: "MDL".into(),
        month: month.map(str::to_string),
        customer,
        source: s,
        account: a,
        difference: d,
    };
    let doc = |n: &str, status, gross_account| DocumentCheck {
        document: n.into(),
        kind: UnitKind::Invoice,
        status,
        remote_id: Some(7),
        rows: "s.csv row 2".into(),
        file: Some("s.csv".into()),
        sheet: None,
        row: Some(2),
        source: Some(figures(dec!(120))),
        account: Some(figures(gross_account)),
        differences: usize::from(status == DocStatus::Differs),
        note: None,
    };
    Reconciliation {
        run: 3,
        env: "local".into(),
        mapping: "m.toml".into(),
        mapping_changed: false,
        inputs: vec![InputCheck {
            path: "s.csv".into(),
            sha256: "ab".into(),
            changed: false,
        }],
        verified_at: "2026-11-28 14:03:11".into(),
        identical: false,
        verdict: "DIFFERENCES: 1 of 2 documents do not match (1 with different fields)".into(),
        counts: Counts {
            documents: 2,
            compared: 2,
            identical: 1,
            differ: 1,
            differences: 1,
            ..Counts::default()
        },
        totals: ControlTotals {
            by_currency: vec![row(None, None)],
            by_month: vec![row(Some("2024-03"), None)],
            by_customer: vec![row(None, Some(figures(dec!(1)).customer))],
        },
        differences: vec![Difference {
            document: "A-2".into(),
            kind: UnitKind::Invoice,
            field: "total".into(),
            source: Shown::Money(dec!(120)),
            account: Shown::Money(dec!(132)),
            note: Some("the account's copy was changed after the import".into()),
            file: Some("s.csv".into()),
            sheet: None,
            row: Some(3),
        }],
        documents: vec![
            doc("A-1", DocStatus::Identical, dec!(120)),
            doc("A-2", DocStatus::Differs, dec!(132)),
        ],
        requests: 5,
    }
}

fn zip_part(path: &Path, name: &str) -> String {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut s = String::new();
    z.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

#[test]
fn the_workbook_has_its_sheets_typed_cells_and_marks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recon.xlsx");
    assert_eq!(write(&path, &rec()).unwrap(), std::slice::from_ref(&path));
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(
        wb.sheet_names(),
        [
            "Summary",
            "By month",
            "By customer",
            "Differences",
            "Documents"
        ]
    );
    let summary = wb.worksheet_range("Summary").unwrap();
    assert_eq!(summary.get((1, 0)), Some(&Data::String("Documents".into())));
    assert_eq!(summary.get((2, 3)), Some(&Data::Float(200.0)));
    assert_eq!(summary.get((2, 5)), Some(&Data::Float(10.0)));
    let last = summary.rows().rposition(|r| !r.is_empty()).unwrap();
    let verdict = summary
        .rows()
        .find_map(|r| match &r[0] {
            Data::String(s) if s.starts_with("Verdict: ") => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    assert!(verdict.contains("DIFFERENCES"), "{verdict}");
    assert!(last > 14, "notes under the table");
    let month = wb.worksheet_range("By month").unwrap();
    assert_eq!(month.get((1, 0)), Some(&Data::String("2024-03".into())));
    assert_eq!(month.get((2, 0)), Some(&Data::String("Total".into())));
    assert_eq!(month.get((1, 3)), Some(&Data::Float(2.0)));
    let diffs = wb.worksheet_range("Differences").unwrap();
    assert_eq!(diffs.get((1, 4)), Some(&Data::Float(132.0)));
    assert_eq!(diffs.get((1, 7)), Some(&Data::Float(3.0)));
    let docs = wb.worksheet_range("Documents").unwrap();
    assert!(matches!(docs.get((1, 6)), Some(Data::DateTime(_))));
    // The Differences sheet's account cell E2 is filled; its document A2 is not.
    let sheet = zip_part(&path, "xl/worksheets/sheet4.xml");
    let styles = zip_part(&path, "xl/styles.xml");
    assert!(styles.contains("FFC7CE"));
    let style = |r: &str| {
        let at = sheet.find(&format!(r#"<c r="{r}""#)).unwrap();
        let tag = &sheet[at..at + sheet[at..].find('>').unwrap()];
        tag.split(" s=\"")
            .nth(1)
            .map(|s| s[..s.find('"').unwrap()].to_string())
    };
    assert_ne!(style("E2"), style("A2"));
    assert!(sheet.contains("<pane") && sheet.contains("autoFilter"));
}

#[test]
fn the_csv_report_is_a_file_per_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recon.csv");
    let files = write(&path, &rec()).unwrap();
    assert_eq!(files.len(), 5);
    assert_eq!(files[3], dir.path().join("recon.differences.csv"));
    let summary = std::fs::read_to_string(&path).unwrap();
    assert!(summary.starts_with("Item,Kind,Currency,Source,Account,Difference\n"));
    assert!(
        summary.contains("Net,invoice,MDL,200.00,210.00,10.00"),
        "{summary}"
    );
    assert!(summary.contains("Verdict: DIFFERENCES"));
    let diffs = std::fs::read_to_string(&files[3]).unwrap();
    assert!(
        diffs.contains("A-2,invoice,total,120.00,132.00,"),
        "{diffs}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 5);
}

#[test]
fn text_and_json_say_the_same() {
    let r = rec();
    let text = render_text(&r);
    assert!(
        text.contains("A-2  total: source 120.00, account 132.00 (s.csv row 3)"),
        "{text}"
    );
    assert!(text.ends_with(&format!("verdict: {}\n", r.verdict)));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recon.json");
    write(&path, &r).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["differences"][0]["account"], serde_json::json!(132));
    assert_eq!(
        v["totals"]["by_month"][0]["difference"]["gross"],
        serde_json::json!(12)
    );
}
