//! Export benchmark: N invoices (3 lines each) from the in-process emulator
//! to XLSX, against rust_xlsxwriter alone writing the same rows.
//!
//! ```text
//! EXPORT_BENCH_SIZES=100000,400000 cargo bench --bench export
//! EXPORT_BENCH_SIZES=2000 cargo test --release --bench export   # smoke
//! ```
//!
//! The parent process runs the emulator (memory-backed) and seeds it over
//! HTTP (not measured). Each measurement runs in a child process of this same
//! binary, so that its peak memory (VmHWM from /proc/self/status) is the
//! exporter's alone, not the emulator's:
//! - `export`: `run_export` to XLSX (default invoice columns, customer
//!   expanded), timed end to end: paging over loopback, flattening, writing,
//!   renaming into place;
//! - `baseline`: fetches and flattens the same objects first (not timed),
//!   then times rust_xlsxwriter alone (constant memory) writing the same
//!   rows with the same cell types and formats.
//!
//! `EXPORT_BENCH_LINES=1` exports with `--lines` (two sheets) instead.
//! `EXPORT_BENCH_WRAP="valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out"`
//! (or `perf record ...`) runs the export child under a profiler.
//!
//! Columns: wall time and invoices/s of the export (bounded by the emulator
//! answering pages), the exporter's own CPU time, its peak memory, the time
//! rust_xlsxwriter alone takes for the same rows, and the ratios of the
//! export's wall and CPU time to it.

use facturare_etl::api::{ApiKey, Client, ClientConfig, Credentials};
use facturare_etl::emulator::{self, KeySpec};
use facturare_etl::export::columns::Cell;
use facturare_etl::export::{run_export, ExportRequest, Resource};
use facturare_etl::progress::NoProgress;
use futures::StreamExt;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The allocator the binary ships with (src/main.rs), so that both children
/// measure the exporter as users run it.
#[global_allocator]
static GLOBAL: facturare_etl::alloc::Mi = facturare_etl::alloc::Mi;

const KEY: &str = "bench_key_1";

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU seconds (user + system) this process has used.
fn cpu_secs() -> f64 {
    // SAFETY: getrusage fills the struct we hand it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0.0;
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

fn client(url: &str) -> Client {
    let url = url::Url::parse(url).expect("emulator URL");
    Client::new(ClientConfig::new(
        url,
        Credentials::ApiKey(ApiKey::new(KEY)),
    ))
    .expect("client")
}

fn request(out: &Path) -> ExportRequest {
    let mut r = ExportRequest::new(Resource::Invoices, out.to_str().expect("utf-8 path"));
    r.expand = vec!["customer".into()];
    r.lines = std::env::var("EXPORT_BENCH_LINES").is_ok_and(|v| v == "1");
    r
}

fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 28).expect("date")
}

/// Child: the real export.
async fn child_export(url: &str, out: &Path) -> Value {
    let opts = request(out)
        .resolve(today(), &out.with_extension("ledger.db"))
        .expect("valid request");
    let client = client(url);
    let start = Instant::now();
    let cpu = cpu_secs();
    let s = run_export(&client, &opts, &NoProgress)
        .await
        .expect("export");
    let secs = start.elapsed().as_secs_f64();
    json!({"secs": secs, "cpu_secs": cpu_secs() - cpu, "objects": s.objects, "rows": s.rows,
           "sheets": s.sheets.len(), "vm_hwm_kb": vm_hwm_kb()})
}

/// Child: the pages alone, as bytes, undecoded: what the emulator and
/// loopback HTTP cost (the floor under any export's wall time).
async fn child_fetch(url: &str) -> Value {
    let http = reqwest::Client::new();
    let start = Instant::now();
    let cpu = cpu_secs();
    let mut next = Some(format!("{url}/invoices?expand=customer&per_page=100"));
    let (mut pages, mut bytes) = (0u64, 0u64);
    while let Some(u) = next.take() {
        let resp = http
            .get(&u)
            .basic_auth(KEY, Some(""))
            .send()
            .await
            .expect("page");
        next = resp
            .headers()
            .get_all(reqwest::header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(facturare_etl::api::pagination::parse_link_header)
            .find(|(rel, _)| rel == "next")
            .map(|(_, l)| {
                url::Url::parse(&u)
                    .and_then(|b| b.join(&l))
                    .expect("link")
                    .to_string()
            });
        bytes += resp.bytes().await.expect("body").len() as u64;
        pages += 1;
    }
    json!({"secs": start.elapsed().as_secs_f64(), "cpu_secs": cpu_secs() - cpu,
           "pages": pages, "bytes": bytes})
}

/// Child: the same rows through rust_xlsxwriter alone.
async fn child_baseline(url: &str, out: &Path) -> Value {
    let opts = request(out)
        .resolve(today(), &out.with_extension("ledger.db"))
        .expect("valid request");
    let tables = opts.layout.tables(true);
    let client = client(url);
    let q = facturare_etl::api::ListQuery {
        expand: vec!["customer".into()],
        ..Default::default()
    };
    let mut pages = client.list::<Value>("/invoices", &q);
    // Rows per table, flattened before the clock starts.
    let mut rows: Vec<Vec<Vec<Cell>>> = vec![Vec::new(); tables.len()];
    while let Some(page) = pages.next().await {
        for doc in page.expect("page").items {
            for (i, t) in tables.iter().enumerate() {
                let items: Vec<Option<&Value>> = match doc.get("items").and_then(Value::as_array) {
                    Some(items) if t.per_line && !items.is_empty() => {
                        items.iter().map(Some).collect()
                    }
                    _ => vec![None],
                };
                for line in items {
                    rows[i].push(t.columns.iter().map(|c| c.cell(&doc, line)).collect());
                }
            }
        }
    }
    let n_rows: usize = rows.iter().map(Vec::len).sum();
    let start = Instant::now();
    write_plain(out, &tables, &rows).expect("rust_xlsxwriter");
    let secs = start.elapsed().as_secs_f64();
    json!({"secs": secs, "rows": n_rows})
}

fn write_plain(
    out: &Path,
    tables: &[facturare_etl::export::layout::Table],
    rows: &[Vec<Vec<Cell>>],
) -> Result<(), rust_xlsxwriter::XlsxError> {
    use chrono::{Datelike, Timelike};
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let text = Format::new().set_num_format("@");
    for (t, table_rows) in tables.iter().zip(rows) {
        let mut ws = wb.new_worksheet_with_constant_memory()?;
        ws.set_name(&t.name)?;
        for (c, col) in t.columns.iter().enumerate() {
            ws.set_column_width(c as u16, 12)?;
            ws.write_string_with_format(0, c as u16, &col.header, &bold)?;
        }
        ws.set_freeze_panes(1, 0)?;
        for (r, row) in table_rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Empty => {}
                    Cell::Text(s) => {
                        ws.write_string_with_format(r, c, s, &text)?;
                    }
                    Cell::Money(d) => {
                        ws.write_number_with_format(
                            r,
                            c,
                            d.to_string().parse::<f64>().unwrap_or(0.0),
                            &money,
                        )?;
                    }
                    Cell::Decimal(d) => {
                        ws.write_number(r, c, d.to_string().parse::<f64>().unwrap_or(0.0))?;
                    }
                    Cell::Integer(i) => {
                        ws.write_number(r, c, *i as f64)?;
                    }
                    Cell::Date(d) => {
                        let x = ExcelDateTime::from_ymd(
                            d.year() as u16,
                            d.month() as u8,
                            d.day() as u8,
                        )?;
                        ws.write_datetime_with_format(r, c, &x, &date)?;
                    }
                    Cell::DateTime(t) => {
                        let x = ExcelDateTime::from_ymd(
                            t.year() as u16,
                            t.month() as u8,
                            t.day() as u8,
                        )?
                        .and_hms(
                            t.hour() as u16,
                            t.minute() as u8,
                            t.second(),
                        )?;
                        ws.write_datetime_with_format(r, c, &x, &datetime)?;
                    }
                    Cell::Bool(b) => {
                        ws.write_boolean(r, c, *b)?;
                    }
                }
            }
        }
        ws.autofilter(0, 0, table_rows.len() as u32, t.columns.len() as u16 - 1)?;
        wb.push_worksheet(ws);
    }
    let file = std::fs::File::create(out).map_err(rust_xlsxwriter::XlsxError::IoError)?;
    wb.save_to_writer(file)
}

/// Parent: seed `n` invoices over HTTP, `concurrency` at a time.
async fn seed(url: &str, n: usize) {
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{url}{path}"))
            .basic_auth(KEY, Some(""))
            .json(&body)
            .send()
    };
    let mut customers = Vec::new();
    for i in 0..50 {
        let c: Value = post(
            "/customers",
            json!({"name": format!("SRL Client {i}"), "number": format!("C-{i:04}"),
                   "tax_id": format!("00{:011}", 12345678900u64 + i)}),
        )
        .await
        .expect("seed customer")
        .json()
        .await
        .expect("customer JSON");
        customers.push(c["id"].as_i64().expect("customer id"));
    }
    let base = facturare_etl::model::date::to_unix(
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
    );
    futures::stream::iter(0..n)
        .map(|i| {
            let body = json!({
                "customer": customers[i % customers.len()],
                "number": format!("INV-{i:07}"),
                "date": base + (i as i64 % 300) * 86400,
                "currency": "mdl",
                "items": [
                    {"name": "Pâine albă", "quantity": 2, "unit_cost": 10.25},
                    {"name": "Lapte 2,5%", "quantity": 1, "unit_cost": 18.9},
                    {"name": "Servicii de transport", "quantity": 3, "unit_cost": 100}
                ],
                "metadata": {"source": "bench"}
            });
            let req = post("/invoices", body);
            async move {
                let resp = req.await.expect("seed invoice");
                assert!(resp.status().is_success(), "seed: {}", resp.status());
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

fn run_child(role: &str, url: &str, out: &Path) -> Value {
    let exe = std::env::current_exe().expect("own path");
    // `EXPORT_BENCH_WRAP="perf record -e cpu-clock -g -o /tmp/x.data"`: the
    // export child runs under that command (for profiles).
    let wrap: Vec<String> = match std::env::var("EXPORT_BENCH_WRAP") {
        Ok(w) if role == "export" => w.split_whitespace().map(str::to_string).collect(),
        _ => Vec::new(),
    };
    let mut cmd = match wrap.split_first() {
        Some((prog, args)) => {
            let mut c = Command::new(prog);
            c.args(args).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    let output = cmd
        .env("EXPORT_BENCH_ROLE", role)
        .env("EXPORT_BENCH_URL", url)
        .env("EXPORT_BENCH_OUT", out)
        .output()
        .expect("child runs");
    assert!(
        output.status.success(),
        "child {role} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .expect("a JSON line from the child");
    serde_json::from_str(line).expect("child JSON")
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if let Ok(role) = std::env::var("EXPORT_BENCH_ROLE") {
        let url = std::env::var("EXPORT_BENCH_URL").expect("EXPORT_BENCH_URL");
        let out =
            std::path::PathBuf::from(std::env::var("EXPORT_BENCH_OUT").expect("EXPORT_BENCH_OUT"));
        let v = rt.block_on(async {
            match role.as_str() {
                "export" => child_export(&url, &out).await,
                "fetch" => child_fetch(&url).await,
                _ => child_baseline(&url, &out).await,
            }
        });
        println!("{v}");
        return;
    }
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let sizes: Vec<usize> = std::env::var("EXPORT_BENCH_SIZES")
        .unwrap_or_else(|_| "2000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    println!(
        "{:>9} {:>9} {:>9} {:>9} {:>10} {:>8} {:>8} {:>7} {:>9}",
        "invoices",
        "rows",
        "export s",
        "inv/s",
        "export cpu",
        "peak MB",
        "xlsx s",
        "ratio",
        "cpu ratio"
    );
    for n in sizes {
        let running = rt.block_on(async {
            let config = emulator::Config {
                keys: vec![KeySpec::new(KEY, "bench")],
                max_in_flight: 64,
                ..Default::default()
            };
            let running = emulator::start(config).await.expect("emulator starts");
            let seeded = Instant::now();
            seed(&running.url(), n).await;
            eprintln!(
                "seeded {n} invoices in {:.1}s",
                seeded.elapsed().as_secs_f64()
            );
            running
        });
        let url = running.url();
        let out = dir.path().join(format!("invoices-{n}.xlsx"));
        let e = run_child("export", &url, &out);
        let base_out = dir.path().join(format!("baseline-{n}.xlsx"));
        let b = run_child("baseline", &url, &base_out);
        let f = run_child("fetch", &url, &base_out);
        eprintln!(
            "pages alone (emulator + HTTP, undecoded): {:.2} s wall, {:.2} CPU-s client side, {} pages, {:.1} MB",
            f["secs"].as_f64().unwrap_or(0.0),
            f["cpu_secs"].as_f64().unwrap_or(0.0),
            f["pages"],
            f["bytes"].as_f64().unwrap_or(0.0) / 1e6
        );
        let secs = e["secs"].as_f64().unwrap_or(0.0);
        let base = b["secs"].as_f64().unwrap_or(0.0);
        let cpu = e["cpu_secs"].as_f64().unwrap_or(0.0);
        assert_eq!(
            e["objects"].as_u64(),
            Some(n as u64),
            "every invoice exported"
        );
        assert_eq!(e["rows"], b["rows"], "the baseline wrote the same rows");
        println!(
            "{:>9} {:>9} {:>9.2} {:>9.0} {:>10.2} {:>8.1} {:>8.2} {:>7.2} {:>9.2}",
            n,
            e["rows"].as_u64().unwrap_or(0),
            secs,
            n as f64 / secs.max(1e-9),
            cpu,
            e["vm_hwm_kb"].as_u64().unwrap_or(0) as f64 / 1024.0,
            base,
            secs / base.max(1e-9),
            cpu / base.max(1e-9),
        );
        rt.block_on(running.stop());
    }
}
