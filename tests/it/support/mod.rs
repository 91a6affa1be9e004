//! Shared test support: temp dirs, the emulator on loopback, the binary.
//!
//! - [`TestEmulator`]: the real emulator on `127.0.0.1:0`, on its own thread
//!   and tokio runtime, so both sync and async tests can use it; dropped, it
//!   shuts down.
//! - [`TestDir`] and [`bin`]: a temp dir per test and the `facturare-etl`
//!   binary run inside it with a cleared environment.
//! - [`Api`]: a reqwest client that sends one key as Basic auth.
#![allow(dead_code)]

use facturare_etl::emulator::{self, Config, KeySpec, Running, Stats};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The key every default [`TestEmulator`] accepts.
pub const TEST_KEY: &str = "test_key_1";
/// Its company.
pub const TEST_COMPANY: &str = "acme";

/// The emulator, running on its own thread until dropped.
pub struct TestEmulator {
    running: Option<Running>,
    url: String,
    key: String,
    stop: Option<tokio::sync::oneshot::Sender<Running>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestEmulator {
    /// Start with `config`; with no keys, it gets [`TEST_KEY`] for [`TEST_COMPANY`].
    pub fn start(mut config: Config) -> TestEmulator {
        if config.keys.is_empty() {
            config.keys.push(KeySpec::new(TEST_KEY, TEST_COMPANY));
        }
        let key = config.keys[0].key.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<Running>();
        let thread = std::thread::Builder::new()
            .name("test-emulator".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the test emulator");
                rt.block_on(async move {
                    let started = emulator::start(config).await;
                    let ok = started.is_ok();
                    let _ = ready_tx.send(started);
                    if ok {
                        if let Ok(running) = stop_rx.await {
                            running.stop().await;
                        }
                    }
                });
            })
            .expect("a thread for the test emulator");
        let running = ready_rx
            .recv()
            .expect("the test emulator thread answers")
            .expect("the test emulator starts");
        TestEmulator {
            url: running.url(),
            running: Some(running),
            key,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// One key (`test_key_1`) for company `acme`.
    pub fn new() -> TestEmulator {
        Self::start(Config::default())
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The first configured key.
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn stats(&self) -> Stats {
        self.running.as_ref().map(|r| r.stats()).unwrap_or_default()
    }

    /// A client that sends the first key.
    pub fn api(&self) -> Api {
        Api::new(&self.url, &self.key)
    }

    /// Stop now (also done on drop).
    pub fn stop(&mut self) {
        if let (Some(tx), Some(r)) = (self.stop.take(), self.running.take()) {
            let _ = tx.send(r);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Default for TestEmulator {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestEmulator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A reqwest client bound to one base URL and key.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub key: String,
    pub client: reqwest::Client,
}

impl Api {
    pub fn new(base: &str, key: &str) -> Api {
        Api {
            base: base.trim_end_matches('/').to_string(),
            key: key.to_string(),
            client: http_client(),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .basic_auth(&self.key, Some(""))
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::GET, path)
    }

    pub fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, path).json(body)
    }

    pub fn patch(&self, path: &str, body: &serde_json::Value) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::PATCH, path).json(body)
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::DELETE, path)
    }

    /// POST and expect 201; the created object.
    pub async fn create(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let resp = self.post(path, &body).send().await.expect("request sent");
        let status = resp.status();
        let v: serde_json::Value = resp.json().await.expect("JSON reply");
        assert_eq!(status, 201, "POST {path} {body} -> {v}");
        v
    }
}

/// A plain reqwest client for loopback tests (with a timeout, so a bug
/// shows as a failure rather than a hang).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a reqwest client")
}

/// A temp dir, removed on drop.
pub struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> TestDir {
        TestDir {
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Write a file (creating parent dirs) and return its path.
    pub fn write(&self, name: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create parent dirs");
        }
        std::fs::write(&p, contents).expect("write test file");
        p
    }
}

impl Default for TestDir {
    fn default() -> Self {
        Self::new()
    }
}

/// The `facturare-etl` binary, run in `dir` with a cleared environment:
/// only `PATH`, `HOME` (inside `dir`) and `FACTURARE_DATA_DIR`
/// (`dir/.facturare`) are set.
pub fn bin(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("facturare-etl").expect("the binary is built");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.join("home"))
        .env("FACTURARE_DATA_DIR", dir.join(".facturare"))
        .current_dir(dir);
    cmd
}

/// The path of the built binary, for tests that need a long-running process.
pub fn bin_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("facturare-etl")
}

/// A [`Reporter`](facturare_etl::progress::Reporter) that records what a
/// job reports: its status lines, its warnings, and for each stage the
/// totals set and the units advanced.
#[derive(Debug, Default)]
pub struct Recorder {
    pub lines: std::sync::Mutex<Vec<String>>,
    pub stages: std::sync::Mutex<Vec<(String, std::sync::Arc<StageLog>)>>,
}

/// What one stage's progress recorded.
#[derive(Debug, Default)]
pub struct StageLog {
    pub total: std::sync::atomic::AtomicU64,
    pub advanced: std::sync::atomic::AtomicU64,
    pub finished: std::sync::atomic::AtomicBool,
}

impl facturare_etl::progress::Progress for StageLog {
    fn set_total(&self, total: u64) {
        self.total
            .store(total, std::sync::atomic::Ordering::Relaxed);
    }
    fn add_total(&self, n: u64) {
        self.total
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
    fn advance(&self, n: u64) {
        self.advanced
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
    fn finish(&self) {
        self.finished
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl facturare_etl::progress::Reporter for Recorder {
    fn status(&self, line: &str) {
        self.lines.lock().unwrap().push(line.to_string());
    }
    fn warn(&self, line: &str) {
        self.lines.lock().unwrap().push(format!("warning: {line}"));
    }
    fn progress(
        &self,
        stage: &str,
        total: Option<u64>,
    ) -> std::sync::Arc<dyn facturare_etl::progress::Progress> {
        let log = std::sync::Arc::new(StageLog::default());
        if let Some(t) = total {
            log.total.store(t, std::sync::atomic::Ordering::Relaxed);
        }
        self.stages
            .lock()
            .unwrap()
            .push((stage.to_string(), log.clone()));
        log
    }
}

impl Recorder {
    /// The status lines and warnings, in order.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Units advanced and total of the stages named `stage`, summed.
    pub fn stage(&self, stage: &str) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.stages
            .lock()
            .unwrap()
            .iter()
            .filter(|(s, _)| s == stage)
            .fold((0, 0), |(a, t), (_, l)| {
                (a + l.advanced.load(Relaxed), t + l.total.load(Relaxed))
            })
    }
}

/// Every object under `path`, page by page.
pub fn list_all(base: &str, key: &str, path: &str) -> Vec<serde_json::Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let api = Api::new(base, key);
    rt.block_on(async {
        let mut out = Vec::new();
        for page in 1.. {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = format!("{path}{sep}per_page=100&page={page}");
            // The emulator may be injecting faults: a GET is safe to repeat.
            let mut items: Option<Vec<serde_json::Value>> = None;
            for _ in 0..50 {
                if let Ok(resp) = api.get(&url).send().await {
                    if resp.status().is_success() {
                        if let Ok(v) = resp.json::<Vec<serde_json::Value>>().await {
                            items = Some(v);
                            break;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let items = items.unwrap_or_else(|| panic!("GET {url} kept failing"));
            let n = items.len();
            out.extend(items);
            if n < 100 {
                break;
            }
        }
        out
    })
}
