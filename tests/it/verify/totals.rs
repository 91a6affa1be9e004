//! `export --control-totals` against the sums of the exported rows (and the
//! source's VAT), and `runs verify` for several companies.

use super::*;
#[test]
fn control_totals_of_an_export_equal_the_sums_of_its_rows() {
    let f = Fixture::new();
    let (code, _, err) = f.import(&[]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = f.cmd(&["export", "invoices", "-o", "inv.xlsx", "--control-totals"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("56 invoices: 56 rows written to"),
        "the Totals rows and sheet are not counted: {err}"
    );
    let mut wb: Xlsx<_> = open_workbook(f.dir.join("inv.xlsx")).unwrap();
    // The visible sheets (the export's marker sheet is hidden).
    let visible: Vec<String> = wb
        .sheets_metadata()
        .iter()
        .filter(|s| s.visible == calamine::SheetVisible::Visible)
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(visible, ["Invoices", "Totals"]);
    let rows = wb.worksheet_range("Invoices").unwrap();
    let header: Vec<String> = rows
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| cell_text(Some(c)))
        .collect();
    let at = |h: &str| header.iter().position(|x| x == h).unwrap();
    let (date, cur, sub, total, bal) = (
        at("date"),
        at("currency"),
        at("subtotal"),
        at("total"),
        at("balance"),
    );
    // The rows' own sums, by currency and month, and by currency.
    let mut want: BTreeMap<(String, String), (Decimal, [Decimal; 3])> = BTreeMap::new();
    for r in rows.rows().skip(1) {
        let month = match &r[date] {
            Data::DateTime(d) => d.as_datetime().unwrap().format("%Y-%m").to_string(),
            other => panic!("a date: {other:?}"),
        };
        let c = cell_text(r.get(cur)).to_uppercase();
        for key in [month, "Total".to_string()] {
            let e = want.entry((c.clone(), key)).or_default();
            e.0 += Decimal::ONE;
            e.1[0] += cell_decimal(r.get(sub));
            e.1[1] += cell_decimal(r.get(total));
            e.1[2] += cell_decimal(r.get(bal));
        }
    }
    let totals = wb.worksheet_range("Totals").unwrap();
    let head: Vec<String> = totals
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| cell_text(Some(c)))
        .collect();
    assert_eq!(
        head,
        [
            "Currency",
            "Month",
            "Documents",
            "Subtotal",
            "VAT",
            "Total",
            "Balance"
        ]
    );
    let mut got = BTreeMap::new();
    let mut vat: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for r in totals.rows().skip(1) {
        let key = (cell_text(r.first()), cell_text(r.get(1)));
        vat.insert(key.clone(), cell_decimal(r.get(4)));
        got.insert(
            key,
            (
                cell_decimal(r.get(2)),
                [
                    cell_decimal(r.get(3)),
                    cell_decimal(r.get(5)),
                    cell_decimal(r.get(6)),
                ],
            ),
        );
    }
    assert_eq!(got, want);
    // The VAT (not a column of the rows) against the source's own.
    let docs = source_docs();
    for ((c, month), (_, _, v, _)) in totals_by(&docs, |d| d.month.clone()) {
        assert_eq!(vat[&(c, month)], v);
    }

    // CSV: the same sums in a file beside it.
    let (code, _, err) = f.cmd(&["export", "invoices", "-o", "inv.csv", "--control-totals"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("control totals written to"), "{err}");
    let mut rd = csv::Reader::from_path(f.dir.join("inv.totals.csv")).unwrap();
    let mut csv_got = BTreeMap::new();
    for r in rd.records() {
        let r = r.unwrap();
        let d = |i: usize| -> Decimal { r[i].parse().unwrap() };
        csv_got.insert(
            (r[0].to_string(), r[1].to_string()),
            (d(2), [d(3), d(5), d(6)]),
        );
    }
    assert_eq!(csv_got, want);
    // Customers have no amounts to total.
    let (code, _, err) = f.cmd(&["export", "customers", "-o", "c.xlsx", "--control-totals"]);
    assert_eq!(code, 2, "{err}");
    assert!(!f.dir.join("c.xlsx").exists());
}

#[test]
fn runs_verify_for_several_companies_writes_a_report_each() {
    use crate::profiles::{emulator, write_config};
    let emu = emulator();
    let dir = TestDir::new();
    write_config(dir.path(), &emu, "");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for company in ["acme", "gamma"] {
        let to = dir.join(format!("inbox/{company}/sales.csv"));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root.join("samples/1c-export.csv"), &to).unwrap();
    }
    let mapping = root.join("mappings/1c-export.toml");
    let out = bin(dir.path())
        .args([
            "import",
            "--profiles",
            "acme,gamma",
            "inbox/{profile}/sales.csv",
            "-m",
        ])
        .arg(&mapping)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)));
    let verify = |args: &[&str]| {
        let out = bin(dir.path()).args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = verify(&[
        "--json",
        "runs",
        "verify",
        "--profiles",
        "acme,gamma",
        "--report",
        "signoff/{profile}.xlsx",
    ]);
    assert_eq!(code, 0, "{err}");
    let summary: Value = serde_json::from_str(out.trim()).unwrap();
    for p in summary["profiles"].as_array().unwrap() {
        assert_eq!(p["result"]["identical"], true, "{p}");
        let company = p["profile"].as_str().unwrap();
        assert!(dir.join(format!("signoff/{company}.xlsx")).exists());
    }
    // One report path for all, or one run number for all: refused.
    let (code, _, err) = verify(&[
        "runs",
        "verify",
        "--profiles",
        "acme,gamma",
        "--report",
        "s.xlsx",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("must contain {profile}"), "{err}");
    let (code, _, err) = verify(&["runs", "verify", "--profiles", "acme,gamma", "1"]);
    assert_eq!(code, 2, "{err}");
}
