//! `runs verify` and `import --verify` on the corpus register: identical,
//! then an edit, a deletion and a void on the account each named; an
//! account that fails reads; an input changed since the run.

use super::*;
#[test]
fn import_then_verify_is_identical_and_its_totals_are_the_sources() {
    let f = Fixture::new();
    // `import --verify`: the import (4 rejected: exit 1) then the verdict.
    let (code, _, err) = f.import(&["--verify", "--verify-report", "after-import.json"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("56 created"), "{err}");
    assert!(
        err.contains("verdict: identical: the account holds the 56 documents"),
        "{err}"
    );
    let after: Value =
        serde_json::from_str(&std::fs::read_to_string(f.dir.join("after-import.json")).unwrap())
            .unwrap();
    assert_eq!(after["identical"], true);
    assert_eq!(after["counts"]["rejected"], 4);

    let (code, out, err) = f.cmd(&["--json", "runs", "verify", "--report", "signoff.xlsx"]);
    assert_eq!(code, 0, "{err}");
    let rec: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rec["counts"]["compared"], 56);
    assert_eq!(rec["counts"]["identical"], 56);
    assert_eq!(rec["differences"], json!([]));
    // The rejected ones are listed as not imported, with their reason.
    let rejected: Vec<&str> = rec["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == "rejected")
        .map(|d| d["document"].as_str().unwrap())
        .collect();
    assert_eq!(
        rejected,
        ["МТ00-000113", "МТ00-000120", "МТ00-000128", "МТ00-000152"]
    );
    assert!(
        err.contains("not imported (rejected by validation):"),
        "{err}"
    );

    let docs = source_docs();
    let path = f.dir.join("signoff.xlsx");
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
    // Per month and per customer, both sides, against the test's own sums.
    let by_month = wb.worksheet_range("By month").unwrap();
    let want = totals_by(&docs, |d| d.month.clone());
    assert_eq!(sheet_totals(&by_month, 1, 0), want, "source per month");
    assert_eq!(sheet_totals(&by_month, 1, 1), want, "account per month");
    assert!(sheet_totals(&by_month, 1, 2)
        .values()
        .all(|t| t.1.is_zero() && t.2.is_zero() && t.3.is_zero()));
    let by_customer = wb.worksheet_range("By customer").unwrap();
    let want = totals_by(&docs, |d| d.customer.clone());
    assert_eq!(
        sheet_totals(&by_customer, 3, 0),
        want,
        "source per customer"
    );
    assert_eq!(
        sheet_totals(&by_customer, 3, 1),
        want,
        "account per customer"
    );
    // The grand total lines: one per currency.
    let grand = totals_by(&docs, |_| String::new());
    let totals: Vec<_> = by_month
        .rows()
        .filter(|r| cell_text(r.first()) == "Total")
        .map(|r| {
            (
                cell_text(r.get(2)),
                cell_decimal(r.get(3)),
                cell_decimal(r.get(12)),
            )
        })
        .collect();
    let want: Vec<_> = grand
        .iter()
        .map(|((c, _), t)| (c.clone(), Decimal::from(t.0), t.3))
        .collect();
    assert_eq!(totals, want);
    // Typed cells: text keys, integer counts, money, dates.
    assert!(matches!(by_month.get((1, 0)), Some(Data::String(_))));
    assert!(matches!(by_month.get((1, 3)), Some(Data::Float(_))));
    let documents = wb.worksheet_range("Documents").unwrap();
    assert!(matches!(documents.get((1, 6)), Some(Data::DateTime(_))));
    let summary = wb.worksheet_range("Summary").unwrap();
    assert!(summary
        .rows()
        .any(|r| cell_text(r.first()).starts_with("Verdict: identical")));
    // Nothing is marked when all is identical; headers frozen and filtered.
    for n in 1..=4 {
        assert_eq!(marked_cells(&path, n), BTreeSet::new(), "sheet {n}");
    }
    let sheet = zip_part(&path, "xl/worksheets/sheet2.xml");
    assert!(
        sheet.contains(r#"ySplit="1""#) && sheet.contains("<autoFilter"),
        "{sheet}"
    );
    assert!(sheet.contains("<col "), "widths set");
}

#[test]
fn an_edit_a_deletion_and_a_void_on_the_account_are_each_named() {
    let f = Fixture::new();
    let (code, _, err) = f.import(&[]);
    assert_eq!(code, 1, "{err}");
    let docs = source_docs();
    let mdl: Vec<&String> = docs
        .iter()
        .filter(|(_, d)| d.currency == "MDL")
        .map(|(n, _)| n)
        .collect();
    let (edited, deleted, voided) = (mdl[2].clone(), mdl[5].clone(), mdl[9].clone());
    let api = f.emu.api();
    // Edit: one more of the first line, the rest as it was.
    let inv = block_on(invoice(&api, &edited));
    let items: Vec<Value> = inv["items"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let q: Decimal = l["quantity"].to_string().parse().unwrap();
            let q = if i == 0 { q + Decimal::ONE } else { q };
            json!({
                "id": l["id"],
                "name": l["name"],
                "quantity": q,
                "unit_cost": l["unit_cost"],
                "taxes": l["taxes"].as_array().unwrap().iter()
                    .map(|t| json!({"tax_rate": t["tax_rate"]["id"].as_str().or(t["tax_rate"].as_str())}))
                    .collect::<Vec<_>>(),
                "taxable": l["taxable"],
                "metadata": l["metadata"],
            })
        })
        .collect();
    // The account's clock is in seconds: be sure the edit is a later one.
    std::thread::sleep(Duration::from_millis(1100));
    block_on(async {
        let r = api
            .patch(
                &format!("/invoices/{}", inv["id"]),
                &json!({"items": items}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let id = invoice(&api, &deleted).await["id"].clone();
        let r = api.delete(&format!("/invoices/{id}")).send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let id = invoice(&api, &voided).await["id"].clone();
        let r = api
            .post(&format!("/invoices/{id}/void"), &json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    });

    let (code, _, err) = f.cmd(&["runs", "verify", "--report", "signoff.xlsx"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "{deleted}  document: source {deleted}, account deleted"
        )),
        "{err}"
    );
    assert!(
        err.contains("deleted on the account after the import"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{voided}  status: source issued, account voided")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{edited}  items[0].quantity")),
        "{err}"
    );
    assert!(err.contains("changed after the import"), "{err}");
    assert!(
        err.contains("verdict: DIFFERENCES: 3 of 56 documents do not match"),
        "{err}"
    );

    // The expected account totals, by the test's own arithmetic: the source
    // less the deleted and the voided one, the edited one recomputed.
    let mut account = docs.clone();
    account.remove(&deleted);
    account.remove(&voided);
    account.get_mut(&edited).unwrap().lines[0].0 += Decimal::ONE;
    let path = f.dir.join("signoff.xlsx");
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    let by_month = wb.worksheet_range("By month").unwrap();
    assert_eq!(
        sheet_totals(&by_month, 1, 0),
        totals_by(&docs, |d| d.month.clone())
    );
    assert_eq!(
        sheet_totals(&by_month, 1, 1),
        totals_by(&account, |d| d.month.clone())
    );
    let by_customer = wb.worksheet_range("By customer").unwrap();
    assert_eq!(
        sheet_totals(&by_customer, 3, 1),
        totals_by(&account, |d| d.customer.clone())
    );
    // Each named in the Differences sheet with its source row.
    let diffs = wb.worksheet_range("Differences").unwrap();
    let rows: Vec<(String, String, String)> = diffs
        .rows()
        .skip(1)
        .map(|r| {
            (
                cell_text(r.first()),
                cell_text(r.get(2)),
                format!("{:?}", r.get(4)),
            )
        })
        .collect();
    assert!(
        rows.contains(&(
            deleted.clone(),
            "document".into(),
            "Some(String(\"deleted\"))".into()
        )),
        "{rows:?}"
    );
    assert!(
        rows.contains(&(
            voided.clone(),
            "status".into(),
            "Some(String(\"voided\"))".into()
        )),
        "{rows:?}"
    );
    let fields: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.0 == edited)
        .map(|r| r.1.as_str())
        .collect();
    assert!(
        fields.contains("items[0].quantity")
            && fields.contains("total")
            && fields.contains("subtotal"),
        "{fields:?}"
    );
    for r in diffs.rows().skip(1) {
        // The run's file as the ledger keeps it: by its absolute path.
        let file = cell_text(r.get(6));
        assert!(
            file.ends_with(&format!("/{FILE}")) && std::path::Path::new(&file).is_absolute(),
            "{file}"
        );
        assert!(
            matches!(r.get(7), Some(Data::Float(_))),
            "the source row, a number"
        );
    }
    // The account side of each difference is highlighted, the Summary's
    // counts of what differs too, and the month totals' differences.
    let n = diffs.rows().count();
    let marked = marked_cells(&path, 4);
    let want: BTreeSet<String> = (2..=n).map(|r| format!("E{r}")).collect();
    assert_eq!(marked, want);
    let summary = wb.worksheet_range("Summary").unwrap();
    let marked = marked_cells(&path, 1);
    for (i, row) in summary.rows().enumerate() {
        let item = cell_text(row.first());
        if [
            "Deleted on the account",
            "Voided on the account",
            "With different fields",
        ]
        .contains(&item.as_str())
        {
            assert!(
                marked.contains(&format!("E{}", i + 1)),
                "{item}: {marked:?}"
            );
        }
        if item == "Gross" && cell_text(row.get(2)) == "MDL" {
            assert!(
                marked.contains(&format!("F{}", i + 1)),
                "the gross difference"
            );
        }
        if item == "Gross" && cell_text(row.get(2)) == "EUR" {
            assert!(!marked.contains(&format!("F{}", i + 1)), "EUR is identical");
        }
    }
    assert!(summary
        .rows()
        .any(|r| cell_text(r.first()).starts_with("Verdict: DIFFERENCES")));
    assert!(!marked_cells(&path, 2).is_empty());
}

#[test]
fn an_account_that_fails_reads_gets_no_verdict_and_no_report() {
    let mut f = Fixture::new();
    let (code, _, err) = f.import(&[]);
    assert_eq!(code, 1, "{err}");
    let url = f.emu.url().to_string();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    f.emu.stop();
    // The same account on the same address, now failing most requests.
    let _flaky = OnPort::start(
        port,
        Config {
            db: Some(f.dir.join("emulator.db")),
            fail_rate: 0.8,
            seed: 16,
            ..Config::default()
        },
    );
    let (code, out, err) = f.run(
        &url,
        &["runs", "verify", "--report", "signoff.xlsx", "--json"],
    );
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("no verdict"), "{err}");
    assert!(err.contains("error: could not read "), "{err}");
    assert!(err.contains("500"), "the server's failure is named: {err}");
    assert!(!err.contains("verdict:"), "{err}");
    assert!(!err.contains("identical"), "{err}");
    assert_eq!(out, "", "no reconciliation on stdout");
    assert!(!f.dir.join("signoff.xlsx").exists());
}

#[test]
fn a_changed_input_is_refused_unless_allowed() {
    let f = Fixture::new();
    let (code, _, err) = f.import(&[]);
    assert_eq!(code, 1, "{err}");
    // One line's price changed in the source after the import.
    let path = f.dir.join(FILE);
    let bytes = std::fs::read(&path).unwrap();
    let (text, _, _) = encoding_rs::WINDOWS_1251.decode(&bytes);
    let changed = text.replacen(";7,47;1\u{a0}665,81;", ";7,48;1\u{a0}665,81;", 1);
    assert_ne!(changed, text);
    let (enc, _, _) = encoding_rs::WINDOWS_1251.encode(&changed);
    std::fs::write(&path, &enc).unwrap();
    let (code, _, err) = f.cmd(&["runs", "verify"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("changed since run 1 imported it"), "{err}");
    assert!(err.contains("--allow-changed"), "{err}");
    // Allowed: the changed document is a difference; the stated line net no
    // longer matching gets it rejected by validation, so it is not on the
    // source side and shows as on the account only.
    let (code, out, err) = f.cmd(&["--json", "runs", "verify", "--allow-changed"]);
    assert_eq!(code, 1, "{err}");
    let rec: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rec["inputs"][0]["changed"], true);
    assert_eq!(rec["counts"]["rejected"], 5, "{rec}");
    assert_eq!(rec["counts"]["not_in_source"], 1, "{rec}");
    let d = &rec["differences"][0];
    assert_eq!(
        (&d["document"], &d["field"]),
        (&json!("МТ00-000101"), &json!("document"))
    );
}

/// A bug striking mid-import (debug fault injection while row 101 is
/// mapped) ends the import with one line naming the file and row, exit 70
/// and no backtrace; the ledger stays consistent: run again, the import
/// completes, every document exactly once, and `runs verify` finds the
/// account identical to the source.
#[test]
fn a_bug_mid_import_exits_70_and_the_rerun_completes_it_exactly_once() {
    let f = Fixture::new();
    let out = bin(f.dir.path())
        .env("FACTURARE_API_KEY", f.emu.key())
        .env("FACTURARE_DEBUG_PANIC", "map:101")
        .args([
            "--api-url",
            f.emu.url(),
            "import",
            FILE,
            "--mapping",
            "mapping.toml",
        ])
        .timeout(Duration::from_secs(240))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(70), "{err}");
    assert!(
        err.contains(&format!("internal error while mapping {FILE} row 101")),
        "{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("stack backtrace"),
        "{err}"
    );
    let numbers = |base: &str| -> Vec<String> {
        crate::support::list_all(base, f.emu.key(), "/invoices")
            .iter()
            .map(|i| i["number"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let before = numbers(f.emu.url()).len();
    assert!(before <= 56, "{before} invoices after the crash");

    let (code, _, err) = f.import(&[]);
    assert_eq!(code, 1, "4 rejected: {err}");
    let mut after = numbers(f.emu.url());
    assert_eq!(after.len(), 56, "{err}");
    after.sort();
    after.dedup();
    assert_eq!(after.len(), 56, "every invoice once");
    let (code, _, err) = f.cmd(&["runs", "verify"]);
    assert_eq!(code, 0, "{err}");
}

/// The ledger keeps the run's files by absolute path: `runs verify` from
/// another folder (as cron runs it) finds them.
#[test]
fn verify_runs_from_any_folder() {
    let f = Fixture::new();
    let (code, _, err) = f.import(&[]);
    assert_eq!(code, 1, "4 rejected: {err}");
    let elsewhere = crate::support::TestDir::new();
    let out = bin(elsewhere.path())
        .env("FACTURARE_DATA_DIR", f.dir.join(".facturare"))
        .env("FACTURARE_API_KEY", f.emu.key())
        .args(["--api-url", f.emu.url(), "runs", "verify"])
        .timeout(Duration::from_secs(240))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("verdict: identical"), "{err}");
}
