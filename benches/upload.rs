//! Upload benchmark (harness = false): the real binary against the emulator
//! on loopback.
//!
//! 1. `UPLOAD_BENCH_RATED` invoices (default 3,000) with `--rate 100/s`:
//!    the achieved request rate as a share of 100/s (target ≥ 95%).
//! 2. The same with the emulator's own quota just below the asked rate
//!    (`rate_per_sec` 95): the import adapts and finishes; 429s as a share of
//!    requests (target < 5%).
//! 3. `UPLOAD_BENCH_FAST` invoices (default 20,000) with no rate limit:
//!    invoices per second, against a bare create-invoice load on the same
//!    emulator in the same run (the emulator's ceiling).
//!
//! 4. `UPLOAD_BENCH_LATENCY` invoices (default 600) over 40 customers, on
//!    a fresh account of an emulator 50 ms away with 20 requests in flight,
//!    `--concurrency 20`, `UPLOAD_BENCH_ROUNDS` rounds (default 5): the
//!    concurrency-bound ideal (objects created × 50 ms / 20) over the
//!    upload's window (first request to last reply), and requests per
//!    created object (targets ≥ 0.9 and ≤ 1.01); medians.
//!
//! `UPLOAD_BENCH_SECTIONS` picks sections (default `rated,adaptive,unlimited,latency`).
//! `cargo bench --bench upload`; a smoke run:
//! `UPLOAD_BENCH_RATED=200 UPLOAD_BENCH_FAST=1000 cargo bench --bench upload`.

use facturare_etl::emulator::{self, Config, KeySpec, Running};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const KEY: &str = "bench_key_1";

const MAPPING: &str = r#"
version = 1
[source]
format = "csv"
delimiter = ","
[invoice]
group_by = "number"
number = { column = "number" }
date = { column = "date", date = "%Y-%m-%d" }
currency = { value = "MDL" }
[customer]
match_on = "number"
number = { column = "customer" }
name = { column = "customer_name" }
[line]
name = { column = "item" }
quantity = { column = "qty" }
unit_cost = { column = "price" }
taxes = { column = "vat", lookup = { "20%" = "tva20" } }
"#;

fn env_n(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Emu {
    rt: tokio::runtime::Runtime,
    running: Option<Running>,
    url: String,
}

impl Emu {
    fn start(config: Config) -> Emu {
        Emu::start_capped(config, 64)
    }

    fn start_capped(config: Config, max_in_flight: usize) -> Emu {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let config = Config {
            keys: vec![KeySpec::new(KEY, "bench")],
            max_in_flight,
            ..config
        };
        let running = rt
            .block_on(emulator::start(config))
            .expect("the emulator starts");
        let url = running.url();
        Emu {
            rt,
            running: Some(running),
            url,
        }
    }

    fn stats(&self) -> emulator::Stats {
        self.running.as_ref().map(|r| r.stats()).unwrap_or_default()
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            self.rt.block_on(r.stop());
        }
    }
}

fn write_input(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    write_input_over(dir, n, 50)
}

fn write_input_over(dir: &Path, n: usize, customers: usize) -> (PathBuf, PathBuf) {
    let mut s = String::from("number,date,customer,customer_name,item,qty,price,vat\n");
    for i in 0..n {
        let c = i % customers;
        s.push_str(&format!(
            "B-{i:06},2024-05-{:02},C-{c:03},Client {c} SRL,Paper A4,2,100.00,20%\n",
            1 + i % 28
        ));
    }
    let csv = dir.join("bench.csv");
    std::fs::write(&csv, s).expect("write the input");
    let mapping = dir.join("bench.toml");
    std::fs::write(&mapping, MAPPING).expect("write the mapping");
    (csv, mapping)
}

struct Imported {
    secs: f64,
    json: serde_json::Value,
    /// Seconds from the first request the emulator saw to the last.
    window: f64,
}

fn import(emu: &Emu, dir: &Path, csv: &Path, mapping: &Path, extra: &[&str]) -> Imported {
    let data = dir.join(format!(".facturare-{}", rand_suffix()));
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_facturare-etl"))
        .env("FACTURARE_API_KEY", KEY)
        .env("FACTURARE_DATA_DIR", &data)
        .args(["--json", "--quiet", "--api-url", &emu.url, "import"])
        .arg(csv)
        .arg("--mapping")
        .arg(mapping)
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // Watch the emulator's request count: the upload's own window.
    let base = emu.stats().requests;
    let (mut first, mut last, mut seen) = (None, start, base);
    while child.try_wait().ok().flatten().is_none() {
        let now = emu.stats().requests;
        if now > seen {
            first.get_or_insert_with(Instant::now);
            last = Instant::now();
            seen = now;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let out = child.wait_with_output().expect("the binary ends");
    let secs = start.elapsed().as_secs_f64();
    let window = first
        .map(|f| last.duration_since(f).as_secs_f64())
        .unwrap_or(secs);
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = serde_json::from_slice(&out.stdout).expect("the --json summary");
    Imported { secs, json, window }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Bare `POST /invoices` from 32 workers: the emulator's ceiling.
fn bare_ceiling(emu: &Emu, n: usize) -> f64 {
    let url = emu.url.clone();
    emu.rt.block_on(async move {
        let client = reqwest::Client::new();
        let customer: serde_json::Value = client
            .post(format!("{url}/customers"))
            .basic_auth(KEY, Some(""))
            .json(&serde_json::json!({"name": "Ceiling SRL", "number": "CEIL-1"}))
            .send()
            .await
            .expect("create a customer")
            .json()
            .await
            .expect("JSON");
        let cid = customer["id"].as_i64().expect("an id");
        let start = Instant::now();
        let workers = 32;
        let per = n.div_ceil(workers);
        let mut tasks = Vec::new();
        for w in 0..workers {
            let client = client.clone();
            let url = url.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..per {
                    let body = serde_json::json!({
                        "customer": cid,
                        "number": format!("CEIL-{w}-{i}"),
                        "date": 1714510800,
                        "currency": "MDL",
                        "items": [{"name": "Paper A4", "quantity": 2, "unit_cost": 100, "taxes": ["tva20"]}],
                        "metadata": {"import_key": format!("ceil-{w}-{i}")}
                    });
                    let r = client
                        .post(format!("{url}/invoices"))
                        .basic_auth(KEY, Some(""))
                        .json(&body)
                        .send()
                        .await
                        .expect("a reply");
                    assert!(r.status().is_success(), "{}", r.status());
                }
            }));
        }
        for t in tasks {
            t.await.expect("a worker");
        }
        (per * workers) as f64 / start.elapsed().as_secs_f64()
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Section 4: 50 ms away, 20 in flight, `--concurrency 20`, fresh accounts.
fn latency_bound(dir: &Path, n: usize, rounds: usize) {
    let latency = 0.050;
    let (csv, mapping) = write_input_over(dir, n, 40);
    let (mut ratios, mut per_object, mut windows) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        let emu = Emu::start_capped(
            Config {
                latency: std::time::Duration::from_millis(50),
                ..Config::default()
            },
            20,
        );
        let r = import(&emu, dir, &csv, &mapping, &["--concurrency", "20"]);
        let stats = emu.stats();
        let created: u64 = stats.created.values().sum();
        let ideal = created as f64 * latency / 20.0;
        // First request received to the last one's reply.
        let window = r.window + latency;
        let rpo = stats.requests as f64 / created.max(1) as f64;
        println!(
            "latency round {round}: {n} invoices, {created} objects, {} requests ({rpo:.4} a created object), {} 429s; upload window {window:.3}s, ideal {ideal:.3}s, ratio {:.3}; whole process {:.2}s; load {}",
            stats.requests,
            stats.rate_limited,
            ideal / window,
            r.secs,
            load()
        );
        ratios.push(ideal / window);
        per_object.push(rpo);
        windows.push(window);
    }
    println!(
        "latency: median over {rounds} rounds: ratio to the concurrency-bound ideal {:.3} (target ≥ 0.9), window {:.3}s, requests per created object {:.4} (target ≤ 1.01)",
        median(ratios),
        median(windows),
        median(per_object)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let rated = env_n("UPLOAD_BENCH_RATED", 3_000);
    let fast = env_n("UPLOAD_BENCH_FAST", 20_000);
    let latency_n = env_n("UPLOAD_BENCH_LATENCY", 600);
    let rounds = env_n("UPLOAD_BENCH_ROUNDS", 5).max(1);
    let sections = std::env::var("UPLOAD_BENCH_SECTIONS")
        .unwrap_or_else(|_| "rated,adaptive,unlimited,latency".into());
    let on = |name: &str| sections.split(',').any(|s| s.trim() == name);
    let dir = tempfile::tempdir().expect("a temp dir");
    println!("load average at start: {}", load());

    // 1. --rate 100/s against an unlimited emulator.
    if on("rated") {
        let (csv, mapping) = write_input(dir.path(), rated);
        let emu = Emu::start(Config::default());
        let r = import(&emu, dir.path(), &csv, &mapping, &["--rate", "100/s"]);
        let stats = emu.stats();
        let elapsed = r.json["elapsed_secs"].as_f64().unwrap_or(r.secs);
        let achieved = (stats.requests.saturating_sub(1)) as f64 / r.window;
        println!(
            "rated: {rated} invoices, --rate 100/s: {} requests, first to last in {:.1}s = {achieved:.1} req/s ({:.1}% of 100/s); whole run {elapsed:.1}s ({:.1} req/s); max in one second {}; 429s {}",
            stats.requests,
            r.window,
            achieved,
            stats.requests as f64 / elapsed,
            stats.max_per_second,
            stats.rate_limited
        );
    }

    // 2. The emulator's own quota just below the asked rate.
    if on("adaptive") {
        let (csv, mapping) = write_input(dir.path(), rated);
        let emu = Emu::start(Config {
            rate_per_sec: Some(95),
            ..Config::default()
        });
        let r = import(&emu, dir.path(), &csv, &mapping, &["--rate", "100/s"]);
        let stats = emu.stats();
        let done = r.json["upload"]["done"].as_u64().unwrap_or(0);
        println!(
            "adaptive: {rated} invoices, --rate 100/s against a 95/s quota: {done} created in {:.1}s; {} of {} requests answered 429 ({:.2}%)",
            r.secs,
            stats.rate_limited,
            stats.requests,
            100.0 * stats.rate_limited as f64 / stats.requests.max(1) as f64
        );
    }

    // 3. No rate limit, and the emulator's ceiling.
    if on("unlimited") {
        let (csv, mapping) = write_input(dir.path(), fast);
        let (mut ratios, mut windowed) = (Vec::new(), Vec::new());
        for round in 1..=rounds {
            let emu = Emu::start(Config::default());
            let r = import(&emu, dir.path(), &csv, &mapping, &["--concurrency", "32"]);
            let elapsed = r.json["elapsed_secs"].as_f64().unwrap_or(r.secs);
            let done = r.json["upload"]["done"].as_u64().unwrap_or(0);
            let ips = done as f64 / elapsed;
            let upload_ips = done as f64 / r.window;
            let ceiling = bare_ceiling(&emu, fast.min(20_000));
            println!(
                "unlimited round {round}: {done} invoices in {elapsed:.1}s (wall {:.1}s) = {ips:.0} invoices/s with --concurrency 32 ({upload_ips:.0}/s first to last request); bare POST /invoices ceiling {ceiling:.0}/s; ratio {:.2} ({:.2} first to last); load {}",
                r.secs,
                ips / ceiling,
                upload_ips / ceiling,
                load()
            );
            ratios.push(ips / ceiling);
            windowed.push(upload_ips / ceiling);
        }
        println!(
            "unlimited: median over {rounds} rounds: ratio to the bare POST ceiling {:.2} whole run, {:.2} first to last request (target ≥ 0.5)",
            median(ratios),
            median(windowed)
        );
    }

    // 4. 50 ms away, 20 in flight.
    if on("latency") {
        latency_bound(dir.path(), latency_n, rounds);
    }
}
