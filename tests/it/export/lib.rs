//! `run_export` with a real client against the emulator on loopback.

use super::seed::{self, client, csv_rows, day, files_in};
use crate::support::{TestDir, TestEmulator};
use calamine::{open_workbook, Data, Reader, Xlsx};
use facturare_etl::export::{run_export, ExportError, ExportRequest, ExportSummary, Resource};
use facturare_etl::progress::{NoProgress, Progress};
use serde_json::json;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

async fn export(
    emu: &TestEmulator,
    dir: &TestDir,
    req: ExportRequest,
) -> Result<ExportSummary, ExportError> {
    let opts = req
        .resolve(day(2026, 11, 28), &dir.join("ledger.db"))
        .expect("a valid request");
    run_export(&client(emu), &opts, &NoProgress).await
}

#[tokio::test]
async fn counts_across_page_boundaries_are_exact() {
    for n in [0usize, 1, 100, 101, 250] {
        let emu = TestEmulator::new();
        let api = emu.api();
        let dir = TestDir::new();
        let c = seed::customer(&api, json!({"name": "SRL Alfa"})).await;
        seed::invoices(&api, c["id"].as_i64().unwrap(), n, day(2026, 10, 5)).await;
        let out = dir.join("out.csv");
        let s = export(
            &emu,
            &dir,
            ExportRequest::new(Resource::Invoices, out.to_str().unwrap()),
        )
        .await
        .unwrap();
        let (header, rows) = csv_rows(&out);
        assert_eq!(header[0], "id");
        assert_eq!(rows.len(), n, "rows for {n} invoices");
        assert_eq!((s.rows, s.objects, s.repeats), (n as u64, n as u64, 0));
        assert_eq!(s.total, Some(n as u64));
        let ids: HashSet<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(ids.len(), n, "no repeats");
        let numbers: HashSet<&str> = rows.iter().map(|r| r[1].as_str()).collect();
        assert_eq!(numbers.len(), n);
        if n > 0 {
            assert!(numbers.contains(format!("INV-{n:05}").as_str()));
        }
        // The same in XLSX: the header and exactly n rows.
        let xlsx = dir.join("out.xlsx");
        let s = export(
            &emu,
            &dir,
            ExportRequest::new(Resource::Invoices, xlsx.to_str().unwrap()),
        )
        .await
        .unwrap();
        assert_eq!(s.rows, n as u64);
        let mut wb: Xlsx<_> = open_workbook(&xlsx).unwrap();
        let range = wb.worksheet_range("Invoices").unwrap();
        assert_eq!(range.height(), n + 1, "xlsx rows for {n} invoices");
        let ids: HashSet<String> = range.rows().skip(1).map(|r| r[0].to_string()).collect();
        assert_eq!(ids.len(), n);
    }
}

#[tokio::test]
async fn filters_metadata_and_expand() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let dir = TestDir::new();
    let alfa = seed::customer(
        &api,
        json!({"name": "SRL Alfa", "number": "C-001", "tax_id": "0012345678901"}),
    )
    .await;
    let beta = seed::customer(&api, json!({"name": "SRL Beta", "number": "C-002"})).await;
    let (a, b) = (alfa["id"].as_i64().unwrap(), beta["id"].as_i64().unwrap());
    let mut one = seed::invoice_body(a, "A-1", day(2026, 10, 1));
    one["metadata"] = json!({"source": "1c"});
    api.create("/invoices", one).await;
    let mut two = seed::invoice_body(a, "A-2", day(2026, 10, 2));
    two["currency"] = json!("eur");
    let two = api.create("/invoices", two).await;
    let mut three = seed::invoice_body(b, "B-1", day(2026, 10, 2));
    three["draft"] = json!(true);
    api.create("/invoices", three).await;
    // Pay A-2 in full.
    api.create(
        "/payments",
        json!({"amount": two["total"], "currency": "eur", "customer": a,
               "applied_to": [{"type": "invoice", "invoice": two["id"], "amount": two["total"]}]}),
    )
    .await;

    let numbers = |s: &ExportSummary| -> Vec<String> {
        let (header, rows) = csv_rows(&s.path);
        let i = header.iter().position(|h| h == "number").unwrap();
        let mut v: Vec<String> = rows.iter().map(|r| r[i].clone()).collect();
        v.sort();
        v
    };
    let out = dir.join("f.csv");
    let out = out.to_str().unwrap();
    let with = |filters: &[&str], metadata: &[&str]| {
        let mut r = ExportRequest::new(Resource::Invoices, out);
        r.filters = filters.iter().map(|s| s.to_string()).collect();
        r.metadata = metadata.iter().map(|s| s.to_string()).collect();
        r
    };
    // A string, an id, a boolean (true/false spelled out), a date, a computed field.
    let (cust_a, cust_b) = (format!("customer={a}"), format!("customer={b}"));
    let cases: Vec<(Vec<&str>, Vec<&str>, Vec<&str>)> = vec![
        (vec!["currency=eur"], vec![], vec!["A-2"]),
        (vec![&cust_b], vec![], vec!["B-1"]),
        (vec!["draft=true"], vec![], vec!["B-1"]),
        (vec!["draft=false", &cust_a], vec![], vec!["A-1", "A-2"]),
        (vec!["date=2026-10-02"], vec![], vec!["A-2", "B-1"]),
        (vec!["paid=yes"], vec![], vec!["A-2"]),
        (vec!["number=A-1"], vec![], vec!["A-1"]),
        (vec![], vec!["source=1c"], vec!["A-1"]),
        (vec![], vec!["source=test"], vec!["A-2", "B-1"]),
    ];
    for (filters, metadata, expected) in cases {
        let s = export(&emu, &dir, with(&filters, &metadata)).await.unwrap();
        assert_eq!(
            numbers(&s),
            expected,
            "filters {filters:?} metadata {metadata:?}"
        );
    }

    // Expanded customers fill their columns; unexpanded, only the id is known.
    let mut r = with(&[&cust_a], &[]);
    r.expand = vec!["customer".into()];
    let s = export(&emu, &dir, r).await.unwrap();
    let (header, rows) = csv_rows(&s.path);
    let col = |h: &str| {
        header
            .iter()
            .position(|x| x == h)
            .unwrap_or_else(|| panic!("{h} in {header:?}"))
    };
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row[col("customer.id")], a.to_string());
        assert_eq!(row[col("customer.name")], "SRL Alfa");
        assert_eq!(row[col("customer.number")], "C-001");
        assert_eq!(row[col("customer.tax_id")], "0012345678901");
    }
    // A column of the customer asks for the expansion by itself.
    let mut r = with(&[], &[]);
    r.columns = Some("number,customer.name,metadata.source".into());
    r.sort = Some("number asc".into());
    let s = export(&emu, &dir, r).await.unwrap();
    let (header, rows) = csv_rows(&s.path);
    assert_eq!(header, ["number", "customer.name", "metadata.source"]);
    assert_eq!(
        rows,
        [
            ["A-1", "SRL Alfa", "1c"],
            ["A-2", "SRL Alfa", "test"],
            ["B-1", "SRL Beta", "test"]
        ]
    );
}

#[tokio::test]
async fn periods_follow_chisinau_days() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let dir = TestDir::new();
    let c = seed::customer(&api, json!({"name": "SRL Alfa"})).await;
    let c = c["id"].as_i64().unwrap();
    for (n, d) in [
        ("before", day(2026, 9, 30)),
        ("first", day(2026, 10, 1)),
        ("dst-end", day(2026, 10, 25)),
        ("last", day(2026, 10, 31)),
        ("after", day(2026, 11, 1)),
    ] {
        api.create("/invoices", seed::invoice_body(c, n, d)).await;
    }
    let out = dir.join("p-{period}.csv");
    let numbers = |s: &ExportSummary| {
        let (_, rows) = csv_rows(&s.path);
        let mut v: Vec<String> = rows.iter().map(|r| r[1].clone()).collect();
        v.sort();
        v
    };
    let mut r = ExportRequest::new(Resource::Invoices, out.to_str().unwrap());
    r.period = Some("2026-10".into());
    let s = export(&emu, &dir, r).await.unwrap();
    assert_eq!(s.path, dir.join("p-2026-10.csv"));
    assert_eq!(numbers(&s), ["dst-end", "first", "last"]);
    // "last-month" on 2026-11-28 is October too.
    let mut r = ExportRequest::new(Resource::Invoices, out.to_str().unwrap());
    r.period = Some("last-month".into());
    assert_eq!(
        numbers(&export(&emu, &dir, r).await.unwrap()),
        ["dst-end", "first", "last"]
    );
    let mut r = ExportRequest::new(Resource::Invoices, out.to_str().unwrap());
    r.from = Some("2026-10-31".into());
    r.to = Some("2026-11-01".into());
    assert_eq!(
        numbers(&export(&emu, &dir, r).await.unwrap()),
        ["after", "last"]
    );
    // The dates read back are the Chisinau days they were sent as.
    let (header, rows) = csv_rows(&dir.join("p-2026-10-31_2026-11-01.csv"));
    let date = header.iter().position(|h| h == "date").unwrap();
    let mut dates: Vec<&str> = rows.iter().map(|r| r[date].as_str()).collect();
    dates.sort();
    assert_eq!(dates, ["2026-10-31", "2026-11-01"]);
}

/// Sleep into the next second, so that an update gets a later `updated_at`.
async fn next_second() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let wait = 1_000 - now.subsec_millis() as u64 + 50;
    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
}

#[tokio::test]
async fn incremental_exports_only_what_changed() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let dir = TestDir::new();
    let c = seed::customer(&api, json!({"name": "SRL Alfa"})).await;
    let made = seed::invoices(&api, c["id"].as_i64().unwrap(), 120, day(2026, 10, 5)).await;
    let out = dir.join("inc.jsonl");
    let req = || {
        let mut r = ExportRequest::new(Resource::Invoices, out.to_str().unwrap());
        r.incremental = Some("nightly".into());
        r
    };
    let first = export(&emu, &dir, req()).await.unwrap();
    assert_eq!(first.objects, 120);
    let mark = first.bookmark.clone().expect("a bookmark");
    assert!(mark.advanced);
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 120);

    let second = export(&emu, &dir, req()).await.unwrap();
    assert_eq!((second.objects, second.rows), (0, 0));
    assert!(
        second.already_exported > 0,
        "the last second's objects came again and were dropped"
    );
    assert_eq!(
        second.bookmark.as_ref().unwrap().updated_at,
        mark.updated_at
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "");

    next_second().await;
    let target = &made[41];
    let resp = api
        .patch(
            &format!("/invoices/{}", target["id"]),
            &json!({"notes": "corrected"}),
        )
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let third = export(&emu, &dir, req()).await.unwrap();
    assert_eq!(third.objects, 1);
    let text = std::fs::read_to_string(&out).unwrap();
    let obj: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(obj["id"], target["id"]);
    assert_eq!(obj["notes"], "corrected");
    assert!(third.bookmark.unwrap().updated_at > mark.updated_at);

    // The bookmark is kept in the ledger under its name.
    let ledger = facturare_etl::ledger::Ledger::open(dir.join("ledger.db")).unwrap();
    let b = ledger.bookmark("nightly").unwrap().unwrap();
    assert_eq!(b.ids, vec![target["id"].as_i64().unwrap()]);
}

#[tokio::test]
async fn xlsx_cells_are_typed_and_formulas_neutralised() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let dir = TestDir::new();
    let evil = "=HYPERLINK(\"http://evil.example\",\"click\")";
    let c = seed::customer(
        &api,
        json!({"name": evil, "tax_id": "0012345678901", "number": "007"}),
    )
    .await;
    let mut body = seed::invoice_body(c["id"].as_i64().unwrap(), "000123", day(2026, 10, 31));
    body["notes"] = json!("+40 7xx");
    api.create("/invoices", body).await;
    let out = dir.join("t.xlsx");
    let mut r = ExportRequest::new(Resource::Invoices, out.to_str().unwrap());
    r.expand = vec!["customer".into()];
    let s = export(&emu, &dir, r).await.unwrap();
    assert_eq!(s.sheets, ["Invoices"]);
    let mut wb: Xlsx<_> = open_workbook(&out).unwrap();
    let range = wb.worksheet_range("Invoices").unwrap();
    let header: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let col = |h: &str| {
        header
            .iter()
            .position(|x| x == h)
            .unwrap_or_else(|| panic!("{h} in {header:?}"))
    };
    let row = range.rows().nth(1).unwrap();
    assert_eq!(row[col("number")], Data::String("000123".into()));
    assert_eq!(
        row[col("customer.tax_id")],
        Data::String("0012345678901".into())
    );
    assert_eq!(row[col("customer.number")], Data::String("007".into()));
    assert_eq!(row[col("customer.name")], Data::String(evil.into()));
    match &row[col("date")] {
        Data::DateTime(d) => assert_eq!(d.as_datetime().unwrap().date(), day(2026, 10, 31)),
        other => panic!("date is {other:?}"),
    }
    // 2 × 10.25 + 18.9 + 3 × 100 = 339.40
    assert_eq!(row[col("total")], Data::Float(339.4));
    assert_eq!(row[col("subtotal")], Data::Float(339.4));
    assert!(matches!(row[col("updated_at")], Data::DateTime(_)));
    assert_eq!(row[col("draft")], Data::Bool(false));
    let formulas = wb.worksheet_formula("Invoices").unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no cell is a formula"
    );

    // The same in CSV: the text gets a leading apostrophe, numbers do not.
    let csv = dir.join("t.csv");
    let mut r = ExportRequest::new(Resource::Invoices, csv.to_str().unwrap());
    r.columns = Some("number,customer.name,notes,total".into());
    export(&emu, &dir, r).await.unwrap();
    let (_, rows) = csv_rows(&csv);
    assert_eq!(
        rows[0],
        ["000123", &format!("'{evil}"), "'+40 7xx", "339.40"]
    );
}

#[tokio::test]
async fn sheets_split_and_lines_get_their_own_sheet() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let dir = TestDir::new();
    let c = seed::customer(&api, json!({"name": "SRL Alfa"})).await;
    seed::invoices(&api, c["id"].as_i64().unwrap(), 101, day(2026, 10, 5)).await;
    let out = dir.join("split.xlsx");
    let mut r = ExportRequest::new(Resource::Invoices, out.to_str().unwrap());
    r.sheet_rows = Some(40);
    let s = export(&emu, &dir, r).await.unwrap();
    assert_eq!(s.sheets, ["Invoices", "Invoices (2)", "Invoices (3)"]);
    let mut wb: Xlsx<_> = open_workbook(&out).unwrap();
    let mut ids = HashSet::new();
    for (name, n) in [("Invoices", 40), ("Invoices (2)", 40), ("Invoices (3)", 21)] {
        let range = wb.worksheet_range(name).unwrap();
        assert_eq!(range.height(), n + 1, "{name}: header and {n} rows");
        assert_eq!(
            range.get((0, 0)),
            Some(&Data::String("id".into())),
            "{name} has the header"
        );
        for row in range.rows().skip(1) {
            assert!(ids.insert(row[0].to_string()));
        }
    }
    assert_eq!(ids.len(), 101);

    // --lines in XLSX: the invoices, then their lines with the invoice's columns.
    let out = dir.join("lines.xlsx");
    let mut r = ExportRequest::new(Resource::Invoices, out.to_str().unwrap());
    r.lines = true;
    r.sheet_rows = Some(250);
    let s = export(&emu, &dir, r).await.unwrap();
    assert_eq!(s.sheets, ["Invoices", "Lines", "Lines (2)"]);
    assert_eq!(s.rows, 101 + 303);
    let mut wb: Xlsx<_> = open_workbook(&out).unwrap();
    let lines = wb.worksheet_range("Lines").unwrap();
    let header: Vec<String> = lines
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let col = |h: &str| header.iter().position(|x| x == h).unwrap();
    let first = lines.rows().nth(1).unwrap();
    assert_eq!(first[col("line.name")], Data::String("Pâine".into()));
    assert_eq!(first[col("line.quantity")], Data::Float(2.0));
    assert_eq!(first[col("line.amount")], Data::Float(20.5));
    let second = lines.rows().nth(2).unwrap();
    assert_eq!(
        first[col("number")],
        second[col("number")],
        "the invoice's columns repeat"
    );
    assert_eq!(
        wb.worksheet_range("Lines (2)").unwrap().height(),
        303 - 250 + 1
    );

    // The shipped mapping: renamed columns in its order.
    let out = dir.join("mapped.csv");
    let mut r = ExportRequest::new(Resource::Invoices, out.to_str().unwrap());
    r.mapping = Some(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/export-invoice-lines.toml"),
    );
    let s = export(&emu, &dir, r).await.unwrap();
    assert_eq!(s.rows, 303);
    let (header, rows) = csv_rows(&out);
    assert_eq!(
        header,
        [
            "Invoice",
            "Date",
            "Customer",
            "IDNO",
            "Item",
            "Quantity",
            "Unit price",
            "Amount",
            "VAT"
        ]
    );
    assert_eq!(rows[0][2], "SRL Alfa");
    assert_eq!(&rows[0][4..8], ["Pâine", "2", "10.25", "20.50"]);
}

#[tokio::test]
async fn csv_bom_and_delimiter() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let dir = TestDir::new();
    seed::customer(
        &api,
        json!({"name": "SRL \"Alfa\"; Chișinău", "number": "0042"}),
    )
    .await;
    let out = dir.join("c.csv");
    let mut r = ExportRequest::new(Resource::Customers, out.to_str().unwrap());
    r.bom = true;
    r.delimiter = Some(";".into());
    r.columns = Some("number,name".into());
    export(&emu, &dir, r).await.unwrap();
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBFnumber;name\n"));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert_eq!(text, "number;name\n0042;\"SRL \"\"Alfa\"\"; Chișinău\"\n");
    // Without --bom, no BOM.
    let mut r = ExportRequest::new(Resource::Customers, out.to_str().unwrap());
    r.columns = Some("number".into());
    export(&emu, &dir, r).await.unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "number\n0042\n");
}

/// Cancels the export once `after` objects have arrived.
struct CancelAfter {
    after: u64,
    seen: AtomicU64,
    token: tokio_util::sync::CancellationToken,
}

impl Progress for CancelAfter {
    fn advance(&self, n: u64) {
        if self.seen.fetch_add(n, Ordering::SeqCst) + n >= self.after {
            self.token.cancel();
        }
    }
}

/// Stops the emulator once `after` objects have arrived.
struct KillServerAfter {
    after: u64,
    seen: AtomicU64,
    emu: Mutex<Option<TestEmulator>>,
}

impl Progress for KillServerAfter {
    fn advance(&self, n: u64) {
        if self.seen.fetch_add(n, Ordering::SeqCst) + n >= self.after {
            if let Some(mut emu) = self.emu.lock().unwrap().take() {
                emu.stop();
            }
        }
    }
}

#[tokio::test]
async fn an_interrupted_export_leaves_the_previous_file() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let dir = TestDir::new();
    let c = seed::customer(&api, json!({"name": "SRL Alfa"})).await;
    seed::invoices(&api, c["id"].as_i64().unwrap(), 250, day(2026, 10, 5)).await;
    let out = dir.join("exports/monthly.xlsx");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, b"the previous export").unwrap();

    // Cancelled after the first page (Ctrl-C).
    let mut r = ExportRequest::new(Resource::Invoices, out.to_str().unwrap());
    r.incremental = Some("monthly".into());
    let opts = r
        .resolve(day(2026, 11, 28), &dir.join("ledger.db"))
        .unwrap();
    let progress = CancelAfter {
        after: 100,
        seen: AtomicU64::new(0),
        token: opts.cancel.clone(),
    };
    let err = run_export(&client(&emu), &opts, &progress)
        .await
        .unwrap_err();
    assert!(matches!(err, ExportError::Interrupted(_)), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"the previous export");
    assert_eq!(files_in(out.parent().unwrap()), ["monthly.xlsx"]);
    let ledger = facturare_etl::ledger::Ledger::open(dir.join("ledger.db")).unwrap();
    assert_eq!(
        ledger.bookmark("monthly").unwrap(),
        None,
        "no bookmark for a failed run"
    );

    // The API goes away after the first page: an API error, same guarantees.
    let client = client(&emu);
    let progress = KillServerAfter {
        after: 100,
        seen: AtomicU64::new(0),
        emu: Mutex::new(Some(emu)),
    };
    let mut r = ExportRequest::new(Resource::Invoices, out.to_str().unwrap());
    r.incremental = Some("monthly".into());
    let opts = r
        .resolve(day(2026, 11, 28), &dir.join("ledger.db"))
        .unwrap();
    let err = run_export(&client, &opts, &progress).await.unwrap_err();
    assert!(matches!(err, ExportError::Api { .. }), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"the previous export");
    assert_eq!(files_in(out.parent().unwrap()), ["monthly.xlsx"]);
    assert_eq!(ledger.bookmark("monthly").unwrap(), None);
}

/// Creates `n` invoices once the first page has arrived, shifting the pages
/// that follow.
struct InsertAfterFirstPage {
    api: crate::support::Api,
    customer: i64,
    done: std::sync::atomic::AtomicBool,
}

impl Progress for InsertAfterFirstPage {
    fn advance(&self, _n: u64) {
        if self.done.swap(true, Ordering::SeqCst) {
            return;
        }
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                for i in 0..10 {
                    let body =
                        seed::invoice_body(self.customer, &format!("NEW-{i}"), day(2026, 10, 6));
                    self.api.create("/invoices", body).await;
                }
            })
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shifted_pages_repeat_objects_that_are_written_once() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let dir = TestDir::new();
    let c = seed::customer(&api, json!({"name": "SRL Alfa"})).await;
    let c = c["id"].as_i64().unwrap();
    seed::invoices(&api, c, 250, day(2026, 10, 5)).await;
    let out = dir.join("shift.csv");
    // Newest first: ten new invoices push ten of page 1 onto page 2.
    let mut r = ExportRequest::new(Resource::Invoices, out.to_str().unwrap());
    r.sort = Some("id desc".into());
    let opts = r
        .resolve(day(2026, 11, 28), &dir.join("ledger.db"))
        .unwrap();
    let progress = InsertAfterFirstPage {
        api: api.clone(),
        customer: c,
        done: false.into(),
    };
    let s = run_export(&client(&emu), &opts, &progress).await.unwrap();
    assert_eq!(s.repeats, 10, "page 2 began with the end of page 1");
    assert_eq!((s.objects, s.rows), (250, 250));
    let (_, rows) = csv_rows(&out);
    let ids: HashSet<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids.len(), 250);
    assert!(rows.iter().all(|r| r[1].starts_with("INV-")));
}
