//! `facturare-etl emulator` as a process: it prints the bound URL, answers
//! HTTP, keeps data in `--db`, and stops cleanly on a signal.

use super::{get_json, send};
use crate::support::{bin, bin_path, Api, TestDir};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Proc {
    child: Child,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Proc {
    /// Start the emulator in `dir`; returns it and its URL (from the JSON line).
    fn start(dir: &TestDir, args: &[&str]) -> (Proc, String) {
        let mut child = Command::new(bin_path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.join("home"))
            .env("FACTURARE_DATA_DIR", dir.join(".facturare"))
            .current_dir(dir.path())
            .args(["--json", "emulator", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut line = String::new();
        stdout.read_line(&mut line).expect("a JSON line on stdout");
        let v: Value = serde_json::from_str(&line).expect("JSON");
        let url = v["url"].as_str().expect("url").to_string();
        assert!(!url.ends_with(":0"), "the actual port: {url}");
        (Proc { child, stderr: rx }, url)
    }

    /// SIGTERM, then the exit code and stderr.
    fn stop(self) -> (Option<i32>, String) {
        self.stop_within(std::time::Duration::from_secs(120))
    }

    /// SIGTERM, then the exit code and stderr; a panic if the process is
    /// still running after `limit` (it is killed first).
    fn stop_within(mut self, limit: std::time::Duration) -> (Option<i32>, String) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signalling our own child process by its pid.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let asked = std::time::Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("the emulator's status") {
                break status;
            }
            if asked.elapsed() > limit {
                let _ = self.child.kill();
                panic!("the emulator did not stop within {limit:?} of SIGTERM");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let mut err = String::new();
        while let Ok(l) = self.stderr.recv() {
            err.push_str(&l);
            err.push('\n');
        }
        (status.code(), err)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_on_the_printed_url_and_keeps_data_in_db() {
    let dir = TestDir::new();
    let (p, url) = Proc::start(&dir, &["--key", "demo=acme", "--db", "emu.db"]);
    let api = Api::new(&url, "demo");
    let c = api.create("/customers", json!({"name": "Alfa"})).await;
    let (s, h, v) = get_json(&api, "/customers").await;
    assert_eq!(s, 200);
    assert_eq!(h["x-total-count"], "1");
    assert_eq!(v[0]["id"], c["id"]);
    let (s, _) = send(Api::new(&url, "other").get("/customers")).await;
    assert_eq!(s, 401);
    let stats: Value = reqwest::get(format!("{url}/_emulator/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["created"]["customers"], 1);
    assert_eq!(stats["requests"], 3);
    let (code, err) = p.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains(&url), "{err}");
    assert!(err.contains("emulator stopped"), "{err}");
    assert!(
        !err.contains("demo"),
        "the given key is never printed: {err}"
    );

    let (p, url) = Proc::start(&dir, &["--key", "demo=acme", "--db", "emu.db"]);
    let (s, _, v) = get_json(&Api::new(&url, "demo"), "/customers").await;
    assert_eq!(s, 200);
    assert_eq!(v[0]["name"], "Alfa");
    p.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generates_and_prints_a_key_when_none_is_given() {
    let dir = TestDir::new();
    let (p, url) = Proc::start(&dir, &[]);
    let line = p.stderr.recv().expect("a line on stderr").to_string();
    let key = line
        .strip_prefix("generated API key: ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    let (s, _, _) = get_json(&Api::new(&url, &key), "/invoices").await;
    assert_eq!(s, 200);
    p.stop();
}

#[test]
fn a_request_that_never_ends_does_not_keep_it_running() {
    use std::io::Write;
    let dir = TestDir::new();
    // Every request waits a minute before it is answered.
    let (p, url) = Proc::start(&dir, &["--key", "demo", "--latency", "60000"]);
    let mut waiting =
        std::net::TcpStream::connect(url.trim_start_matches("http://")).expect("a connection");
    waiting
        .write_all(
            b"GET /invoices HTTP/1.1\r\nHost: emulator\r\nAuthorization: Basic ZGVtbzo=\r\n\r\n",
        )
        .expect("a request");
    // Let the request reach its handler, then stop: it gets the grace
    // period (5 s), not the minute.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (code, err) = p.stop_within(std::time::Duration::from_secs(40));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("emulator stopped"), "{err}");
    drop(waiting);
}

#[test]
fn bad_flag_values_are_usage_errors() {
    let dir = TestDir::new();
    for (flag, value, expect) in [
        ("--rate", "fast", "N/s"),
        ("--fail-rate", "1.5", "0 to 1"),
        ("--drop-rate", "-0.1", "0 to 1"),
        ("--max-in-flight", "0", "at least 1"),
        ("--oauth-client", "nosecret", "CLIENT_ID:CLIENT_SECRET"),
        ("--key", "=acme", "key is empty"),
    ] {
        let out = bin(dir.path())
            .args(["emulator".to_string(), format!("{flag}={value}")])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{flag} {value}: {err}");
    }
    let out = bin(dir.path())
        .args(["emulator", "--listen", "not-an-address"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not-an-address"));
}
