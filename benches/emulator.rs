//! Creating invoices (3 lines each) over loopback against a file-backed
//! emulator with 64 connections, against a bare axum handler answering 201
//! with a constant body under the same load, in the same run.
//!
//! ```text
//! BENCH_REQUESTS=20000 BENCH_CONNECTIONS=64 cargo bench --bench emulator
//! ```
//!
//! Besides requests per second, each target's CPU time per request (its
//! server threads, and the client's) is printed: it moves much less than
//! the rates when the machine is shared.
//!
//! `BENCH_DB=memory` runs the emulator without its SQLite file, to see what
//! the file costs.
//!
//! Then lists: `BENCH_LIST` invoices (default 20000; 0 skips) are created in
//! a fresh in-memory emulator (not timed), and paging through all of them
//! with `per_page=100`, one page after the other as an exporter does, is
//! timed in three ways: the default order, the default order with
//! `expand=customer`, and a filter with a sort on another field.

use facturare_etl::emulator::{self, Config, KeySpec};

/// The allocator of the `facturare-etl` binary, so that the emulator is
/// measured as `facturare-etl emulator` runs it (the bare server and the
/// client get it too).
#[global_allocator]
static GLOBAL: facturare_etl::alloc::Mi = facturare_etl::alloc::Mi;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Run {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    /// CPU seconds spent by the server's threads and by the client's
    /// during the run (Linux; zero elsewhere).
    server_cpu: f64,
    client_cpu: f64,
}

/// CPU seconds used so far by this process's threads whose name starts
/// with one of `prefixes` (from `/proc/self/task/*/stat`; 0 elsewhere).
fn threads_cpu(prefixes: &[&str]) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    // SAFETY: sysconf has no preconditions.
    let hz = match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
        n if n > 0 => n as f64,
        _ => 100.0,
    };
    let mut ticks = 0u64;
    for t in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        if !prefixes.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        // After the name: state, ppid, ..., utime (11th), stime (12th).
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        for i in [11, 12] {
            ticks += fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    ticks as f64 / hz
}

impl Run {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// Microseconds of CPU per request.
    fn per_request(&self, cpu: f64) -> f64 {
        1e6 * cpu / self.requests as f64
    }
}

/// The thread names of the client, the bare server and the emulator.
const CLIENT_THREADS: &[&str] = &["client-worker"];
const BARE_THREADS: &[&str] = &["bare-worker"];
const EMULATOR_THREADS: &[&str] = &["emu-worker", "emulator-db"];

/// `n` POSTs of `body` to `url` from `conns` concurrent workers; the CPU
/// time of the threads named `server` is the server's.
async fn load(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    body: &serde_json::Value,
    n: usize,
    conns: usize,
    server: &[&str],
) -> Run {
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let bytes = bytes::Bytes::from(serde_json::to_vec(body).expect("JSON body"));
    let (server_before, client_before) = (threads_cpu(server), threads_cpu(CLIENT_THREADS));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (client, url, key) = (client.clone(), url.to_string(), key.to_string());
        let (next, errors, bytes) = (next.clone(), errors.clone(), bytes.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let r = client
                    .post(&url)
                    .basic_auth(&key, Some(""))
                    .header("content-type", "application/json")
                    .body(bytes.clone())
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 201 => {
                        let _ = r.bytes().await;
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    let elapsed = start.elapsed();
    Run {
        requests: n,
        errors: errors.load(Ordering::Relaxed),
        elapsed,
        server_cpu: threads_cpu(server) - server_before,
        client_cpu: threads_cpu(CLIENT_THREADS) - client_before,
    }
}

/// A bare axum server answering 201 with a constant body, on its own thread.
fn bare_server() -> (String, std::sync::mpsc::Sender<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .thread_name("bare-worker")
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/invoices",
                axum::routing::post(|| async {
                    (
                        axum::http::StatusCode::CREATED,
                        [("content-type", "application/json")],
                        r#"{"id":1,"object":"invoice","number":"INV-00001","total":100}"#,
                    )
                }),
            );
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("http://{}", l.local_addr().unwrap()))
                .unwrap();
            let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
            std::thread::spawn(move || {
                let _ = stop_rx.recv();
                let _ = done_tx.send(());
            });
            axum::serve(l, app)
                .with_graceful_shutdown(async move {
                    let _ = done_rx.await;
                })
                .await
                .unwrap();
        });
    });
    (rx.recv().expect("bare server url"), stop_tx)
}

/// The emulator (on a file, or in memory), on its own thread and runtime.
fn emulator_server(db: Option<std::path::PathBuf>) -> (String, std::sync::mpsc::Sender<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .thread_name("emu-worker")
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let running = emulator::start(Config {
                keys: vec![KeySpec::new("bench_key", "bench")],
                db,
                max_in_flight: 1000,
                ..Config::default()
            })
            .await
            .expect("emulator starts");
            tx.send(running.url()).unwrap();
            let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
            let stats = running.stats();
            running.stop().await;
            eprintln!(
                "emulator stats: {} requests, {} invoices created",
                stats.requests,
                stats.created.get("invoices").copied().unwrap_or(0)
            );
        });
    });
    (rx.recv().expect("emulator url"), stop_tx)
}

/// A tax rate (`tva20`) and a customer on the emulator at `url`; the
/// customer's id.
async fn seed(client: &reqwest::Client, url: &str) -> serde_json::Value {
    let post = |path: &str, body: serde_json::Value| {
        client
            .post(format!("{url}{path}"))
            .basic_auth("bench_key", Some(""))
            .json(&body)
            .send()
    };
    post(
        "/tax_rates",
        json!({"id": "tva20", "name": "TVA 20%", "value": 20}),
    )
    .await
    .expect("tax rate");
    let c: serde_json::Value = post("/customers", json!({"name": "SRL Bench"}))
        .await
        .expect("customer")
        .json()
        .await
        .expect("customer JSON");
    c["id"].clone()
}

/// Page through `{url}/invoices?{query}` with `per_page=100` until a short
/// page; the objects seen and the time taken.
async fn page_through(client: &reqwest::Client, url: &str, query: &str) -> (usize, Duration) {
    let start = Instant::now();
    let mut seen = 0;
    for page in 1.. {
        let r = client
            .get(format!("{url}/invoices?{query}&per_page=100&page={page}"))
            .basic_auth("bench_key", Some(""))
            .send()
            .await
            .expect("list request");
        assert_eq!(r.status(), 200, "list page {page}");
        let items: Vec<serde_json::Value> = r.json().await.expect("list JSON");
        seen += items.len();
        if items.len() < 100 {
            break;
        }
    }
    (seen, start.elapsed())
}

/// Seed `n` invoices in a fresh in-memory emulator, then time paging.
fn list_bench(n: usize, conns: usize, invoice: &serde_json::Value) {
    let (url, stop) = emulator_server(None);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("client-worker")
        .enable_all()
        .build()
        .expect("runtime");
    let rows = rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(conns)
            .build()
            .expect("client");
        let mut invoice = invoice.clone();
        invoice["customer"] = seed(&client, &url).await;
        let seeded = load(
            &client,
            &format!("{url}/invoices"),
            "bench_key",
            &invoice,
            n,
            conns,
            EMULATOR_THREADS,
        )
        .await;
        assert_eq!(seeded.errors, 0, "seeding invoices");
        let mut rows = Vec::new();
        for (name, query) in [
            ("id order", ""),
            ("id order, expand=customer", "expand=customer"),
            (
                "filter[paid]=0, sort=number desc",
                "filter[paid]=0&sort=number%20desc",
            ),
        ] {
            let (seen, took) = page_through(&client, &url, query).await;
            assert_eq!(seen, n, "{name}: every invoice once");
            rows.push((name, seen, took));
        }
        rows
    });
    let _ = stop.send(());
    std::thread::sleep(Duration::from_millis(300));
    println!();
    println!(
        "GET /invoices, {n} invoices (in memory), per_page=100, pages one after another, loopback"
    );
    println!(
        "{:<34} {:>6} {:>9} {:>10}",
        "query", "pages", "seconds", "objects/s"
    );
    for (name, seen, took) in rows {
        println!(
            "{:<34} {:>6} {:>9.3} {:>10.0}",
            name,
            seen.div_ceil(100),
            took.as_secs_f64(),
            seen as f64 / took.as_secs_f64()
        );
    }
}

fn main() {
    let n = env_usize("BENCH_REQUESTS", 20_000);
    let conns = env_usize("BENCH_CONNECTIONS", 64);
    let dir = tempfile::tempdir().expect("temp dir");
    let (bare_url, bare_stop) = bare_server();
    // BENCH_DB=memory measures the emulator without its file.
    let in_memory = std::env::var("BENCH_DB").is_ok_and(|v| v == "memory");
    let db = (!in_memory).then(|| dir.path().join("bench.db"));
    let (emu_url, emu_stop) = emulator_server(db);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("client-worker")
        .enable_all()
        .build()
        .expect("runtime");
    let (bare, emu, invoice) = rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(conns)
            .build()
            .expect("client");
        let customer = seed(&client, &emu_url).await;
        let invoice = json!({
            "customer": customer,
            "currency": "MDL",
            "date": 1704405600,
            "items": [
                {"name": "Pâine", "quantity": 3, "unit_cost": 51.15, "taxes": ["tva20"]},
                {"name": "Lapte", "quantity": 2, "unit_cost": 18.4, "taxes": ["tva20"]},
                {"name": "Transport", "quantity": 1, "unit_cost": 150, "discounts": [{"amount": 10}]}
            ],
            "metadata": {"source": "bench"}
        });
        let warm = (n / 10).clamp(100, 2000);
        let bare_target = format!("{bare_url}/invoices");
        let emu_target = format!("{emu_url}/invoices");
        let (bare_load, emu_load) = (
            (&bare_target, "k", BARE_THREADS),
            (&emu_target, "bench_key", EMULATOR_THREADS),
        );
        // The same client, connections and warm-up for both servers.
        for (target, key, threads) in [bare_load, emu_load] {
            load(&client, target, key, &invoice, warm, conns, threads).await;
        }
        let bare = load(&client, bare_load.0, bare_load.1, &invoice, n, conns, BARE_THREADS).await;
        let emu = load(&client, emu_load.0, emu_load.1, &invoice, n, conns, EMULATOR_THREADS).await;
        (bare, emu, invoice)
    });
    let _ = bare_stop.send(());
    let _ = emu_stop.send(());
    std::thread::sleep(Duration::from_millis(300));

    println!("POST /invoices (3 lines), {n} requests, {conns} connections, loopback");
    println!(
        "{:<32} {:>9} {:>7} {:>9} {:>10} {:>16} {:>16}",
        "target",
        "requests",
        "errors",
        "seconds",
        "req/s",
        "server CPU µs/req",
        "client CPU µs/req"
    );
    for (name, r) in [
        ("bare axum (201, constant body)", &bare),
        (
            if in_memory {
                "emulator (in memory)"
            } else {
                "emulator (SQLite file, WAL)"
            },
            &emu,
        ),
    ] {
        println!(
            "{:<32} {:>9} {:>7} {:>9.3} {:>10.0} {:>16.1} {:>16.1}",
            name,
            r.requests,
            r.errors,
            r.elapsed.as_secs_f64(),
            r.rps(),
            r.per_request(r.server_cpu),
            r.per_request(r.client_cpu)
        );
    }
    println!(
        "ratio emulator / bare: {:.1}% (target >= 25%)",
        100.0 * emu.rps() / bare.rps()
    );

    let list_n = env_usize("BENCH_LIST", 20_000);
    if list_n > 0 {
        list_bench(list_n, conns, &invoice);
    }
}
