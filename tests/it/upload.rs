//! Integration tests: `import` and `runs`, the real binary against the
//! emulator over loopback. Counts are checked through the API; "exactly
//! once" means: list every invoice, group by number and by import key, and
//! find each document once, none missing.

use crate::support::{bin, bin_path, list_all, TestDir, TestEmulator};
use facturare_etl::emulator::Config;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MAPPING: &str = r#"
version = 1
name = "upload tests"

[source]
format = "csv"
delimiter = ","

[invoice]
group_by = "number"
credit_note_when_negative = true
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
taxes = { column = "vat", lookup = { "20%" = "tva20", "8%" = "tva8" } }

[[payment]]
amount = { column = "paid" }
method = { value = "wire_transfer" }
"#;

/// `n` invoices (two lines each), over `customers` customers; every third
/// one paid in part.
fn invoices_csv(n: usize, customers: usize, prefix: &str) -> String {
    let mut s = String::from("number,date,customer,customer_name,item,qty,price,vat,paid\n");
    for i in 0..n {
        let c = i % customers;
        let paid = if i % 3 == 0 { "10.00" } else { "" };
        s.push_str(&format!(
            "{prefix}-{i:05},2024-03-{:02},C-{c:03},Client {c} SRL,Paper A4,2,100.00,20%,{paid}\n",
            1 + i % 28
        ));
        s.push_str(&format!(
            "{prefix}-{i:05},2024-03-{:02},C-{c:03},Client {c} SRL,Bread,3,9.40,8%,{paid}\n",
            1 + i % 28
        ));
    }
    s
}

struct Fixture {
    dir: TestDir,
    emu: TestEmulator,
    csv: PathBuf,
    mapping: PathBuf,
}

impl Fixture {
    fn new(config: Config, n: usize, customers: usize) -> Fixture {
        let dir = TestDir::new();
        let csv = dir.write("invoices.csv", invoices_csv(n, customers, "INV"));
        let mapping = dir.write("mapping.toml", MAPPING);
        Fixture {
            emu: TestEmulator::start(config),
            dir,
            csv,
            mapping,
        }
    }

    /// The binary with the API URL and key set.
    fn cmd(&self) -> assert_cmd::Command {
        let mut c = bin(self.dir.path());
        c.env("FACTURARE_API_KEY", self.emu.key())
            .arg("--api-url")
            .arg(self.emu.url());
        c
    }

    fn import(&self, extra: &[&str]) -> std::process::Output {
        let mut c = self.cmd();
        c.arg("import")
            .arg(&self.csv)
            .arg("--mapping")
            .arg(&self.mapping)
            .args(extra)
            .timeout(Duration::from_secs(240));
        c.output().expect("the binary runs")
    }

    fn resume(&self, extra: &[&str]) -> std::process::Output {
        let mut c = self.cmd();
        c.arg("import")
            .arg("--resume")
            .args(extra)
            .timeout(Duration::from_secs(240));
        c.output().expect("the binary runs")
    }

    /// A long-running `import` (or `import --resume`) to kill.
    fn spawn(&self, resume: bool, extra: &[&str]) -> Child {
        let mut c = Command::new(bin_path());
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.join("home"))
            .env("FACTURARE_DATA_DIR", self.dir.join(".facturare"))
            .env("FACTURARE_API_KEY", self.emu.key())
            .current_dir(self.dir.path())
            .arg("--api-url")
            .arg(self.emu.url())
            .arg("import");
        if resume {
            c.arg("--resume");
        } else {
            c.arg(&self.csv).arg("--mapping").arg(&self.mapping);
        }
        c.args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts")
    }

    fn list(&self, path: &str) -> Vec<Value> {
        list_all(self.emu.url(), self.emu.key(), path)
    }

    fn created(&self, what: &str) -> u64 {
        self.emu.stats().created.get(what).copied().unwrap_or(0)
    }

    fn ledger(&self) -> facturare_etl::ledger::Ledger {
        facturare_etl::ledger::Ledger::open(self.dir.join(".facturare/ledger.db"))
            .expect("the ledger opens")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Every invoice `INV-00000..n` on the account exactly once: by number and
/// by import key, none missing, none extra.
fn assert_exactly_once(f: &Fixture, n: usize) {
    assert_invoices_once(f, n);
    // Payments: one per third invoice, each applied once.
    let payments: Vec<Value> = f
        .list("/payments")
        .into_iter()
        .filter(|p| p["voided"] != Value::Bool(true))
        .collect();
    let want = (0..n).filter(|i| i % 3 == 0).count();
    let mut pay_keys: Vec<String> = payments
        .iter()
        .map(|p| {
            p["metadata"]["import_key"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    pay_keys.sort();
    pay_keys.dedup();
    assert_eq!(payments.len(), want, "payments on the account");
    assert_eq!(pay_keys.len(), want, "distinct payment import keys");
}

/// The invoices of [`assert_exactly_once`], for a batch without payments.
fn assert_invoices_once(f: &Fixture, n: usize) {
    let invoices = f.list("/invoices");
    let mut by_number: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
    for inv in &invoices {
        let number = inv["number"].as_str().unwrap_or_default().to_string();
        *by_number.entry(number).or_default() += 1;
        let key = inv["metadata"]["import_key"]
            .as_str()
            .unwrap_or("(none)")
            .to_string();
        *by_key.entry(key).or_default() += 1;
    }
    let dups: Vec<_> = by_number.iter().filter(|(_, c)| **c > 1).collect();
    assert!(dups.is_empty(), "duplicate numbers: {dups:?}");
    let dup_keys: Vec<_> = by_key.iter().filter(|(_, c)| **c > 1).collect();
    assert!(dup_keys.is_empty(), "duplicate import keys: {dup_keys:?}");
    let missing: Vec<String> = (0..n)
        .map(|i| format!("INV-{i:05}"))
        .filter(|num| !by_number.contains_key(num))
        .collect();
    assert!(missing.is_empty(), "missing invoices: {missing:?}");
    assert_eq!(invoices.len(), n, "invoices on the account");
}

fn wait_for(child: &mut Child, until: impl Fn() -> bool, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if until() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

#[test]
fn import_creates_each_document_once_and_a_second_run_creates_nothing() {
    let f = Fixture::new(Config::default(), 30, 5);
    let out = f.import(&["--json"]);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_exactly_once(&f, 30);
    assert_eq!(f.list("/customers").len(), 5);
    let summary: Value = serde_json::from_slice(&out.stdout).expect("--json summary");
    assert_eq!(summary["upload"]["done"], 30);
    assert_eq!(summary["upload"]["customers_created"], 5);
    assert_eq!(summary["upload"]["payments_done"], 10);
    assert_eq!(summary["status"], "finished");

    let requests_before = f.emu.stats().requests;
    let again = f.import(&[]);
    let sent = f.emu.stats().requests - requests_before;
    assert_eq!(code(&again), 0, "stderr: {}", text(&again.stderr));
    let err = text(&again.stderr);
    assert!(err.contains("30 already imported"), "stderr: {err}");
    // Only the tax-rate preflight went out: no document was sent or looked up.
    assert_eq!(sent, 1, "requests on a rerun: {err}");
    assert_exactly_once(&f, 30);
    assert_eq!(f.list("/customers").len(), 5);
}

#[test]
fn kill_9_at_twelve_points_then_resume_is_exactly_once() {
    let n = 90;
    let f = Fixture::new(
        Config {
            latency: Duration::from_millis(15),
            ..Config::default()
        },
        n,
        7,
    );
    let mut kills = 0;
    let mut first = true;
    // Kill after every few creations, spread over the run.
    for step in 1..=12u64 {
        let target = step * (n as u64) / 14;
        let mut child = f.spawn(!first, &["--concurrency", "4"]);
        first = false;
        let reached = wait_for(
            &mut child,
            || {
                f.created("invoices") + f.created("customers") + f.created("payments")
                    >= target + step
            },
            Duration::from_secs(60),
        );
        if reached {
            child.kill().expect("kill -9");
            kills += 1;
        }
        let _ = child.wait();
    }
    assert!(kills >= 10, "only {kills} kills landed mid-run");
    let out = f.resume(&[]);
    assert!(
        code(&out) == 0,
        "final resume: {} {}",
        code(&out),
        text(&out.stderr)
    );
    assert_exactly_once(&f, n);
    assert_eq!(f.list("/customers").len(), 7);
    // And a new run of the same file creates nothing.
    let again = f.import(&[]);
    assert_eq!(code(&again), 0, "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains(&format!("{n} already imported")));
    assert_exactly_once(&f, n);
}

/// Every object of ours on the account has its unit in the ledger as
/// `sending` or `done`: its intent was committed before its request. Returns
/// how many are still `sending` (sent, outcome not committed).
fn intents_cover_the_account(f: &Fixture) -> usize {
    use facturare_etl::ledger::UnitState;
    let ledger = f.ledger();
    let mut by_key = BTreeMap::new();
    for run in ledger.runs().expect("runs") {
        for u in ledger.units_of_run(run.id).expect("units") {
            by_key.insert(u.import_key.clone(), u.state);
        }
    }
    let mut sending = 0;
    for path in ["/customers", "/invoices", "/payments"] {
        for obj in f.list(path) {
            let Some(key) = obj["metadata"]["import_key"].as_str() else {
                continue;
            };
            match by_key.get(key) {
                Some(UnitState::Done) => {}
                Some(UnitState::Sending) => sending += 1,
                other => panic!("{path} {} on the account, its unit {other:?}", obj["id"]),
            }
        }
    }
    sending
}

#[test]
fn kill_9_with_grouped_commits_in_flight_then_resume_is_exactly_once() {
    // 20 in flight and a short latency: intents and outcomes of many units
    // share each commit, and outcomes are still queued when the kill lands.
    let n = 240;
    let f = Fixture::new(
        Config {
            latency: Duration::from_millis(3),
            ..Config::default()
        },
        n,
        12,
    );
    let (mut kills, mut sending_after_kills) = (0, 0);
    for step in 1..=8u64 {
        let target = step * (n as u64) / 10;
        let mut child = f.spawn(step > 1, &["--concurrency", "20"]);
        let reached = wait_for(
            &mut child,
            || f.created("invoices") >= target,
            Duration::from_secs(60),
        );
        if reached {
            child.kill().expect("kill -9");
            kills += 1;
        }
        let _ = child.wait();
        sending_after_kills += intents_cover_the_account(&f);
    }
    assert!(kills >= 6, "only {kills} kills landed mid-run");
    // Some kills caught units on the account whose outcome was not yet
    // committed: the resume must find them, not send them again.
    assert!(
        sending_after_kills > 0,
        "no kill caught an outcome in flight"
    );
    let out = f.resume(&["--concurrency", "20"]);
    assert_eq!(code(&out), 0, "final resume: {}", text(&out.stderr));
    assert_eq!(
        intents_cover_the_account(&f),
        0,
        "all done after the resume"
    );
    assert_exactly_once(&f, n);
    assert_eq!(f.list("/customers").len(), 12);
}

#[test]
fn faults_failures_drops_and_latency_still_exactly_once() {
    let f = Fixture::new(
        Config {
            fail_rate: 0.1,
            drop_rate: 0.05,
            latency: Duration::from_millis(2),
            seed: 7,
            ..Config::default()
        },
        60,
        6,
    );
    let out = f.import(&[]);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    let stats = f.emu.stats();
    assert!(
        stats.failed + stats.dropped > 0,
        "faults were injected: {stats:?}"
    );
    assert_exactly_once(&f, 60);
    assert_eq!(f.list("/customers").len(), 6);
}

#[test]
fn rate_limit_429_with_retry_after_adapts_and_finishes() {
    let f = Fixture::new(
        Config {
            rate_per_sec: Some(25),
            retry_after: Some(1),
            ..Config::default()
        },
        40,
        4,
    );
    let out = f.import(&["--rate", "40/s"]);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert!(f.emu.stats().rate_limited > 0, "the emulator answered 429");
    assert_exactly_once(&f, 40);
}

#[test]
fn rate_limit_429_without_retry_after_and_in_flight_cap() {
    let f = Fixture::new(
        Config {
            rate_per_sec: Some(30),
            max_in_flight: 3,
            latency: Duration::from_millis(5),
            ..Config::default()
        },
        40,
        4,
    );
    let out = f.import(&["--concurrency", "8"]);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert!(f.emu.stats().rate_limited > 0, "the emulator answered 429");
    assert_exactly_once(&f, 40);
}

#[test]
fn requests_per_second_never_exceed_the_asked_rate() {
    let f = Fixture::new(Config::default(), 30, 3);
    let out = f.import(&["--rate", "20/s"]);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    let stats = f.emu.stats();
    // The client sends evenly spaced requests with a burst of two (one slot
    // of slack for late timer wake-ups), so any one-second window holds at
    // most rate + 2; the emulator counts per calendar second on arrival.
    assert!(
        stats.max_per_second <= 20 + 1 + 1,
        "{} requests in one second at --rate 20/s",
        stats.max_per_second
    );
    assert!(stats.requests > 40);
    assert_exactly_once(&f, 30);
}

#[test]
fn a_400_is_not_retried_and_the_rest_go_through() {
    // INV-00001 is paid more than its total: the server refuses that payment.
    let dir = TestDir::new();
    let mut csv = invoices_csv(3, 2, "INV");
    csv = csv.replace(
        "INV-00001,2024-03-02,C-001,Client 1 SRL,Paper A4,2,100.00,20%,",
        "INV-00001,2024-03-02,C-001,Client 1 SRL,Paper A4,2,100.00,20%,99999.00",
    );
    csv = csv.replace(
        "INV-00001,2024-03-02,C-001,Client 1 SRL,Bread,3,9.40,8%,",
        "INV-00001,2024-03-02,C-001,Client 1 SRL,Bread,3,9.40,8%,99999.00",
    );
    let f = Fixture {
        csv: dir.write("invoices.csv", csv),
        mapping: dir.write("mapping.toml", MAPPING),
        emu: TestEmulator::new(),
        dir,
    };
    let out = f.import(&[]);
    let err = text(&out.stderr);
    assert_eq!(code(&out), 1, "stderr: {err}");
    assert_eq!(f.list("/invoices").len(), 3, "{err}");
    let ledger = f.ledger();
    let run = ledger.runs().unwrap()[0].id;
    let rejected: Vec<_> = ledger
        .units_of_run(run)
        .unwrap()
        .into_iter()
        .filter(|u| u.state == facturare_etl::ledger::UnitState::Rejected)
        .collect();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0].kind, facturare_etl::ledger::UnitKind::Payment);
    assert_eq!(rejected[0].attempts, 1, "a 400 is not retried");
    assert!(rejected[0]
        .last_error
        .as_deref()
        .unwrap_or_default()
        .contains("400"));
    // `runs show` names it.
    let show = f
        .cmd()
        .args(["runs", "show", &run.to_string()])
        .output()
        .unwrap();
    let shown = text(&show.stdout);
    assert!(
        shown.contains("payment") && shown.contains("1 attempt(s)"),
        "{shown}"
    );
}

#[test]
fn rollback_leaves_the_account_as_it_was_and_repeats_as_a_no_op() {
    let dir = TestDir::new();
    // No payments: a voided payment keeps its customer from being deleted.
    let csv = invoices_csv(12, 3, "INV").replace(",10.00\n", ",\n");
    let f = Fixture {
        csv: dir.write("invoices.csv", csv),
        mapping: dir.write("mapping.toml", MAPPING),
        emu: TestEmulator::new(),
        dir,
    };
    // Something on the account before the import, not from it.
    let before = {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let api = f.emu.api();
        rt.block_on(async {
            let c = api
                .create("/customers", serde_json::json!({"name": "Old", "number": "OLD-1"}))
                .await;
            api.create(
                "/invoices",
                serde_json::json!({"customer": c["id"], "number": "OLD-INV-1", "items": [{"name": "x", "unit_cost": 1}]}),
            )
            .await;
        });
        (f.list("/invoices").len(), f.list("/customers").len())
    };
    let out = f.import(&[]);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    assert_eq!(f.list("/invoices").len(), before.0 + 12);
    let run = f.ledger().runs().unwrap()[0].id.to_string();

    let rb = f.cmd().args(["runs", "rollback", &run]).output().unwrap();
    assert_eq!(code(&rb), 0, "stderr: {}", text(&rb.stderr));
    let invoices = f.list("/invoices");
    assert_eq!(invoices.len(), before.0, "{invoices:?}");
    assert_eq!(invoices[0]["number"], "OLD-INV-1");
    assert_eq!(f.list("/customers").len(), before.1);

    let requests = f.emu.stats().requests;
    let again = f.cmd().args(["runs", "rollback", &run]).output().unwrap();
    assert_eq!(code(&again), 0, "stderr: {}", text(&again.stderr));
    assert!(text(&again.stderr).contains("nothing to roll back"));
    assert_eq!(
        f.emu.stats().requests,
        requests,
        "a second rollback sends nothing"
    );

    // The numbers are free again: a new import creates them anew.
    let re = f.import(&[]);
    assert_eq!(code(&re), 0, "stderr: {}", text(&re.stderr));
    assert_eq!(f.list("/invoices").len(), before.0 + 12);
}

#[cfg(unix)]
#[test]
fn ctrl_c_finishes_in_flight_exits_130_and_resume_completes() {
    let n = 60;
    let f = Fixture::new(
        Config {
            latency: Duration::from_millis(40),
            ..Config::default()
        },
        n,
        4,
    );
    let mut child = f.spawn(false, &["--concurrency", "2"]);
    assert!(
        wait_for(
            &mut child,
            || f.created("invoices") >= 5,
            Duration::from_secs(60)
        ),
        "the import got going"
    );
    // SIGINT, as Ctrl-C sends.
    let pid = child.id() as libc::pid_t;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "stderr: {err}");
    assert!(err.contains("import --resume"), "stderr: {err}");
    let created = f.list("/invoices").len();
    assert!(created < n, "stopped before the end ({created})");
    // Nothing was left half-done: every unit of the run is done or pending.
    let ledger = f.ledger();
    let run = ledger.runs().unwrap()[0].clone();
    assert_eq!(run.status, facturare_etl::ledger::RunStatus::Interrupted);
    let sending = ledger
        .units_of_run(run.id)
        .unwrap()
        .into_iter()
        .filter(|u| u.state == facturare_etl::ledger::UnitState::Sending)
        .count();
    assert_eq!(sending, 0, "in-flight requests were finished and recorded");

    let done = f.resume(&[]);
    assert_eq!(code(&done), 0, "stderr: {}", text(&done.stderr));
    assert_exactly_once(&f, n);
}

#[test]
fn on_existing_skip_update_fail() {
    let dir = TestDir::new();
    let f = Fixture {
        csv: dir.write(
            "invoices.csv",
            invoices_csv(3, 1, "INV").replace(",10.00\n", ",\n"),
        ),
        mapping: dir.write("mapping.toml", MAPPING),
        emu: TestEmulator::new(),
        dir,
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = f.emu.api();
    let existing = rt.block_on(async {
        let c = api
            .create(
                "/customers",
                serde_json::json!({"name": "Other", "number": "OTHER"}),
            )
            .await;
        api.create(
            "/invoices",
            serde_json::json!({"customer": c["id"], "number": "INV-00001",
                "metadata": {"origin": "by hand"}, "items": [{"name": "x", "unit_cost": 5}]}),
        )
        .await
    });

    let fail = f.import(&["--on-existing", "fail"]);
    assert_eq!(code(&fail), 1, "stderr: {}", text(&fail.stderr));
    assert_eq!(f.list("/invoices").len(), 3);

    let skip = f.import(&["--on-existing", "skip"]);
    assert_eq!(code(&skip), 0, "stderr: {}", text(&skip.stderr));
    assert!(
        text(&skip.stderr).contains("1 skipped"),
        "{}",
        text(&skip.stderr)
    );
    let inv = f.list("/invoices?filter[number]=INV-00001").pop().unwrap();
    assert_eq!(inv["metadata"]["origin"], "by hand");

    let update = f.import(&["--on-existing", "update"]);
    assert_eq!(code(&update), 0, "stderr: {}", text(&update.stderr));
    let inv = f.list("/invoices?filter[number]=INV-00001").pop().unwrap();
    assert_eq!(inv["id"], existing["id"]);
    assert!(inv["metadata"]["import_key"].is_string(), "{inv}");
    assert_eq!(f.list("/invoices").len(), 3);
}

#[test]
fn refused_credentials_exit_4_and_the_run_is_resumable() {
    let f = Fixture::new(Config::default(), 5, 2);
    let mut c = bin(f.dir.path());
    let out = c
        .env("FACTURARE_API_KEY", "wrong_key_123")
        .arg("--api-url")
        .arg(f.emu.url())
        .arg("import")
        .arg(&f.csv)
        .arg("--mapping")
        .arg(&f.mapping)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(code(&out), 4, "stderr: {err}");
    assert!(
        !err.contains("wrong_key_123"),
        "the key is never printed: {err}"
    );
    assert!(f.list("/invoices").is_empty());
    // A new run points out the unfinished one.
    let again = bin(f.dir.path())
        .env("FACTURARE_API_KEY", "wrong_key_123")
        .arg("--api-url")
        .arg(f.emu.url())
        .arg("import")
        .arg(&f.csv)
        .arg("--mapping")
        .arg(&f.mapping)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let err = text(&again.stderr);
    assert_eq!(code(&again), 4, "stderr: {err}");
    assert!(
        err.contains("run 1 (failed") && err.contains("import --resume 1"),
        "stderr: {err}"
    );
    // With the right key, the newest unfinished run resumes and completes.
    let done = f.resume(&[]);
    assert_eq!(code(&done), 0, "stderr: {}", text(&done.stderr));
    assert_eq!(f.list("/invoices").len(), 5);
}

#[test]
fn an_unreachable_api_exits_4() {
    let dir = TestDir::new();
    let csv = dir.write("invoices.csv", invoices_csv(2, 1, "INV"));
    let mapping = dir.write("mapping.toml", MAPPING);
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = bin(dir.path())
        .env("FACTURARE_API_KEY", "k_123456")
        .args(["--api-url", &format!("http://127.0.0.1:{port}")])
        .arg("import")
        .arg(&csv)
        .arg("--mapping")
        .arg(&mapping)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(code(&out), 4, "stderr: {}", text(&out.stderr));
}

#[test]
fn runs_list_and_show_tell_what_happened() {
    let f = Fixture::new(Config::default(), 4, 2);
    assert_eq!(code(&f.import(&[])), 0);
    let list = f.cmd().args(["runs", "list"]).output().unwrap();
    assert_eq!(code(&list), 0);
    let l = text(&list.stdout);
    assert!(l.contains("finished") && l.contains("mapping.toml"), "{l}");
    let json = f
        .cmd()
        .args(["--json", "runs", "show", "1"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&json.stdout).expect("runs show --json");
    assert_eq!(v["view"]["units"]["invoice"]["done"], 4);
    assert_eq!(v["view"]["units"]["customer"]["done"], 2);
    assert_eq!(v["view"]["run"]["status"], "finished");
    let missing = f.cmd().args(["runs", "show", "99"]).output().unwrap();
    assert_eq!(code(&missing), 2);
    assert!(text(&missing.stderr).contains("no run 99"));
}

#[test]
fn resume_with_nothing_unfinished_is_a_usage_error() {
    let f = Fixture::new(Config::default(), 1, 1);
    let out = f.resume(&[]);
    assert_eq!(code(&out), 2, "stderr: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no unfinished run"));
}

#[test]
fn a_document_changed_since_imported_is_reported_not_sent_again() {
    let f = Fixture::new(Config::default(), 4, 2);
    assert_eq!(code(&f.import(&[])), 0);
    // INV-00002 gets a new price in the source.
    let changed = invoices_csv(4, 2, "INV").replace(
        "INV-00002,2024-03-03,C-000,Client 0 SRL,Paper A4,2,100.00",
        "INV-00002,2024-03-03,C-000,Client 0 SRL,Paper A4,2,120.00",
    );
    std::fs::write(&f.csv, changed).unwrap();
    let requests = f.emu.stats().requests;
    let out = f.import(&["--json"]);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("1 changed since imported"), "stderr: {err}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["upload"]["changed"], 1);
    assert_eq!(v["upload"]["already_imported"], 3);
    assert_eq!(
        f.emu.stats().requests - requests,
        1,
        "only the tax-rate preflight"
    );
    assert_exactly_once(&f, 4);
}

#[test]
fn credit_notes_are_created_once_and_rolled_back() {
    let dir = TestDir::new();
    let mut csv = invoices_csv(2, 1, "INV");
    csv.push_str("CN-00001,2024-03-09,C-000,Client 0 SRL,Paper A4 returned,-1,100.00,20%,\n");
    let f = Fixture {
        csv: dir.write("invoices.csv", csv),
        mapping: dir.write("mapping.toml", MAPPING),
        emu: TestEmulator::new(),
        dir,
    };
    let out = f.import(&[]);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    let notes = f.list("/credit_notes");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["number"], "CN-00001");
    assert!(notes[0]["metadata"]["import_key"].is_string());
    assert_eq!(f.list("/invoices").len(), 2);
    let again = f.import(&[]);
    assert_eq!(code(&again), 0);
    assert!(text(&again.stderr).contains("3 already imported"));
    assert_eq!(f.list("/credit_notes").len(), 1);
    let rb = f.cmd().args(["runs", "rollback", "1"]).output().unwrap();
    // The customer has a voided payment (INV-00000 was paid): it is kept, and said so.
    let err = text(&rb.stderr);
    assert!(f.list("/credit_notes").is_empty(), "{err}");
    assert!(f.list("/invoices").is_empty(), "{err}");
    assert!(err.contains("kept customer"), "{err}");
    assert_eq!(code(&rb), 1, "{err}");
}

/// Requests per object created: every request the emulator saw over every
/// object it created (tax rates, customers, invoices).
fn requests_per_created(f: &Fixture, requests_before: u64, created_before: u64) -> f64 {
    let stats = f.emu.stats();
    let created: u64 = stats.created.values().sum::<u64>() - created_before;
    (stats.requests - requests_before) as f64 / created as f64
}

#[test]
fn a_fresh_account_costs_at_most_one_request_and_a_bit_per_object() {
    // 600 invoices over 40 customers, no payments.
    let dir = TestDir::new();
    let csv = invoices_csv(600, 40, "INV").replace(",10.00\n", ",\n");
    let f = Fixture {
        csv: dir.write("invoices.csv", csv),
        mapping: dir.write("mapping.toml", MAPPING),
        emu: TestEmulator::new(),
        dir,
    };
    let out = f.import(&["--json"]);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    // Counted before the checks below list the account.
    let stats = f.emu.stats();
    let ratio = requests_per_created(&f, 0, 0);
    assert!(
        ratio <= 1.01,
        "{} requests for {:?}: {ratio:.3} a created object",
        stats.requests,
        stats.created
    );
    assert_invoices_once(&f, 600);
    assert_eq!(f.created("customers"), 40);
}

#[test]
fn a_one_invoice_import_on_a_fresh_account_asks_only_two_lists_beyond_its_objects() {
    // One invoice, one customer: the tax rates listed, the account's first
    // page of customers asked for with them (whole, so the customer is not
    // then looked up on its own), and one POST an object.
    let dir = TestDir::new();
    let csv = invoices_csv(1, 1, "INV").replace(",10.00\n", ",\n");
    let f = Fixture {
        csv: dir.write("invoices.csv", csv),
        mapping: dir.write("mapping.toml", MAPPING),
        emu: TestEmulator::new(),
        dir,
    };
    let out = f.import(&["--json"]);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    let stats = f.emu.stats();
    let created: u64 = stats.created.values().sum();
    assert_eq!(
        stats.requests,
        created + 2,
        "requests for {:?}: {}",
        stats.created,
        text(&out.stderr)
    );
    assert_invoices_once(&f, 1);
    assert_eq!(f.created("customers"), 1);
}

#[test]
fn customers_already_on_the_account_are_found_in_its_list_pages() {
    // 250 customers on the account (three pages), 10 of them in the batch.
    let dir = TestDir::new();
    let csv = invoices_csv(200, 40, "INV").replace(",10.00\n", ",\n");
    let f = Fixture {
        csv: dir.write("invoices.csv", csv),
        mapping: dir.write("mapping.toml", MAPPING),
        emu: TestEmulator::new(),
        dir,
    };
    {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let api = f.emu.api();
        rt.block_on(async {
            for i in 0..250 {
                // C-030..C-039 are the batch's; the rest are not.
                let number = if i < 10 {
                    format!("C-{:03}", 30 + i)
                } else {
                    format!("OTHER-{i:03}")
                };
                api.create(
                    "/customers",
                    serde_json::json!({"name": format!("Old {i}"), "number": number}),
                )
                .await;
            }
        });
    }
    let (requests, created) = {
        let s = f.emu.stats();
        (s.requests, s.created.values().sum::<u64>())
    };
    let out = f.import(&["--json"]);
    assert_eq!(code(&out), 0, "stderr: {}", text(&out.stderr));
    // Three pages of customers, the tax rates, then one POST an object;
    // counted before the checks below list the account.
    let stats = f.emu.stats();
    let ratio = requests_per_created(&f, requests, created);
    assert!(
        ratio <= 1.025,
        "{} requests for {} objects: {ratio:.3}",
        stats.requests - requests,
        stats.created.values().sum::<u64>() - created
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("--json summary");
    assert_eq!(summary["upload"]["customers_created"], 30);
    assert_eq!(summary["upload"]["customers_found"], 10);
    assert_invoices_once(&f, 200);
    assert_eq!(f.list("/customers").len(), 280);
}
