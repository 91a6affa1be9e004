//! The malformed-input corpus (`tests/malformed/<case>/`): broken and
//! hostile files, each run through the binary as a user would, each with
//! what it must end with. A case folder holds its inputs, `mapping.toml`,
//! and `case.toml`:
//!
//! ```toml
//! about = "what the input is"
//! args = ["validate", "in.csv", "--mapping", "mapping.toml"]   # the default
//! exit = 3
//! words = ["in.csv", "line 2", "never closed"]   # in stdout + stderr
//! absent = ["root:x:"]                             # never printed
//! env = { FACTURARE_DEBUG_PANIC = "map:3" }        # optional
//! [files]                                          # optional: words in files written
//! "rejects.csv" = ["'=CMD"]
//! [[make]]                                         # optional: inputs too big to keep
//! file = "in.csv"
//! parts = [{ text = "Nr\n" }, { text = "x", times = 20000000 }]
//! ```
//!
//! `[[make]]` also makes ZIP files (`entry = [{ name, parts | file }]`),
//! symlinks (`symlink = "target"`) and hard links (`hardlink = "target"`).
//!
//! `MALFORMED=name` runs the cases whose names contain `name`;
//! `MALFORMED_BIN=path` runs them against another build of the binary.
//!
//! One test runs every case, and for each also checks: no panic message,
//! no raw control character in what was printed, at most 16 KiB printed,
//! a time limit (a guard against hangs, not a speed test) and the child's
//! peak memory under 300 MB: the most `VmHWM` showed while it ran, and
//! the `ru_maxrss` that `wait4` reports when it ends.

use crate::support::{bin_path, TestDir};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    about: String,
    #[serde(default)]
    args: Option<Vec<String>>,
    exit: i32,
    #[serde(default)]
    words: Vec<String>,
    #[serde(default)]
    absent: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    files: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    make: Vec<Make>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Make {
    file: String,
    #[serde(default)]
    parts: Vec<Part>,
    #[serde(default)]
    entry: Vec<Entry>,
    symlink: Option<String>,
    hardlink: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    #[serde(default)]
    parts: Vec<Part>,
    file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Part {
    #[serde(default)]
    text: String,
    /// Bytes as hex (for what TOML strings cannot hold).
    #[serde(default)]
    hex: String,
    #[serde(default = "one")]
    times: usize,
}

fn one() -> usize {
    1
}

/// What a case's run ends with.
struct Ran {
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    peak_kb: u64,
    elapsed: Duration,
}

const TIME_LIMIT: Duration = Duration::from_secs(120);
const MEMORY_LIMIT_KB: u64 = 300 * 1000;
const PRINTED_LIMIT: usize = 16 << 10;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed")
}

fn write_parts(out: &mut impl Write, parts: &[Part]) {
    for p in parts {
        let bytes: Vec<u8> = if p.hex.is_empty() {
            p.text.as_bytes().to_vec()
        } else {
            (0..p.hex.len() / 2)
                .map(|i| u8::from_str_radix(&p.hex[2 * i..2 * i + 2], 16).expect("hex"))
                .collect()
        };
        for _ in 0..p.times {
            out.write_all(&bytes).unwrap();
        }
    }
}

fn make(dir: &Path, m: &Make) {
    let target = dir.join(&m.file);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    if let Some(to) = &m.symlink {
        std::os::unix::fs::symlink(to, &target).unwrap();
    } else if let Some(to) = &m.hardlink {
        std::fs::hard_link(dir.join(to), &target).unwrap();
    } else if !m.entry.is_empty() {
        let f = std::fs::File::create(&target).unwrap();
        let mut z = zip::ZipWriter::new(std::io::BufWriter::new(f));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        for e in &m.entry {
            z.start_file(e.name.as_str(), opts).unwrap();
            match &e.file {
                Some(f) => z.write_all(&std::fs::read(dir.join(f)).unwrap()).unwrap(),
                None => write_parts(&mut z, &e.parts),
            }
        }
        z.finish().unwrap();
    } else {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&target).unwrap());
        write_parts(&mut f, &m.parts);
        f.flush().unwrap();
    }
}

fn copy_case(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_case(&entry.path(), &target);
        } else if entry.file_name() != "case.toml" {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// This process's peak resident memory so far (kB): what a child forked
/// now may show as its own.
fn own_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// The peak resident memory `/proc` shows for a running process (kB).
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Run the binary in `dir` with `args`, watching its memory, within the
/// time limit. The child is reaped by `wait4` (for its resource use),
/// which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn run(dir: &Path, args: &[String], env: &BTreeMap<String, String>) -> Ran {
    // `MALFORMED_BIN=path` runs another build (an older one, to see the
    // cases fail there).
    let bin = std::env::var_os("MALFORMED_BIN").map_or_else(bin_path, PathBuf::from);
    let mut cmd = std::process::Command::new(bin);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.join("home"))
        .env("FACTURARE_DATA_DIR", dir.join(".facturare"))
        .envs(env)
        .current_dir(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    // A forked child's `ru_maxrss` counts the pages it shared with this
    // process before its exec: below what this process held then, it is
    // not the binary's, and only the polled `VmHWM` (the exec'd image's
    // own high-water mark) counts.
    let ours_at_spawn = own_rss_kb();
    let started = Instant::now();
    let mut child = cmd.spawn().expect("the binary starts");
    let pid = child.id();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let mut peak = 0u64;
    let (code, maxrss) = loop {
        if let Some(kb) = vm_hwm(pid) {
            peak = peak.max(kb);
        }
        let mut status = 0i32;
        // SAFETY: wait4 on our own child, with a zeroed rusage to fill.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid as i32, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid as i32 {
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                -libc::WTERMSIG(status)
            };
            break (code, usage.ru_maxrss as u64);
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            // SAFETY: as above, reaping the killed child.
            unsafe { libc::waitpid(pid as i32, &mut status, 0) };
            break (-999, 0);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ran {
        code,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        peak_kb: if maxrss > ours_at_spawn {
            peak.max(maxrss)
        } else {
            peak
        },
        elapsed: started.elapsed(),
    }
}

/// The inputs of a case without `args`: every file but the mapping.
fn default_args(dir: &Path) -> Vec<String> {
    let mut inputs: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().to_string_lossy().into_owned();
            (e.file_type().ok()?.is_file() && name.starts_with("in.")).then_some(name)
        })
        .collect();
    inputs.sort();
    let mut args = vec!["validate".to_string()];
    args.extend(inputs);
    args.extend(["--mapping".to_string(), "mapping.toml".to_string()]);
    args
}

fn check_case(case_dir: &Path) -> Result<String, String> {
    let name = case_dir.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(case_dir.join("case.toml")).map_err(|e| e.to_string())?;
    let case: Case = toml::from_str(&text).map_err(|e| format!("{name}/case.toml: {e}"))?;
    let dir = TestDir::new();
    copy_case(case_dir, dir.path());
    for m in &case.make {
        make(dir.path(), m);
    }
    let args = case
        .args
        .clone()
        .unwrap_or_else(|| default_args(dir.path()));
    let ran = run(dir.path(), &args, &case.env);
    let stdout = String::from_utf8_lossy(&ran.stdout);
    let stderr = String::from_utf8_lossy(&ran.stderr);
    let printed = format!("{stdout}{stderr}");
    let mut wrong = Vec::new();
    if ran.code == -999 {
        wrong.push(format!("no end within {TIME_LIMIT:?} (a hang?)"));
    }
    if ran.code != case.exit {
        wrong.push(format!("exit {} (expected {})", ran.code, case.exit));
    }
    for w in &case.words {
        if !printed.contains(w.as_str()) {
            wrong.push(format!("does not say {w:?}"));
        }
    }
    for w in &case.absent {
        if printed.contains(w.as_str()) {
            wrong.push(format!("says {w:?}, which it must not"));
        }
    }
    if printed.contains("panicked") {
        wrong.push("a panic message".into());
    }
    let controls = printed
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\t'))
        .count();
    if controls > 0 {
        wrong.push(format!("{controls} raw control character(s) printed"));
    }
    if printed.len() > PRINTED_LIMIT {
        wrong.push(format!("{} bytes printed", printed.len()));
    }
    if ran.peak_kb > MEMORY_LIMIT_KB {
        wrong.push(format!("peak memory {} MB", ran.peak_kb / 1000));
    }
    for (file, words) in &case.files {
        match std::fs::read(dir.join(file)) {
            Ok(bytes) => {
                let content = String::from_utf8_lossy(&bytes);
                for w in words {
                    if !content.contains(w.as_str()) {
                        wrong.push(format!("{file} does not hold {w:?}"));
                    }
                }
            }
            Err(e) => wrong.push(format!("{file}: {e}")),
        }
    }
    let line = format!(
        "{name}: exit {}, {:.1}s, peak {} MB ({})",
        ran.code,
        ran.elapsed.as_secs_f64(),
        ran.peak_kb / 1000,
        case.about
    );
    if wrong.is_empty() {
        Ok(line)
    } else {
        Err(format!(
            "{line}\n  {}\n  args: {args:?}\n  stdout: {}\n  stderr: {}",
            wrong.join("\n  "),
            crate::malformed::shown(&stdout),
            crate::malformed::shown(&stderr)
        ))
    }
}

/// Output for a failure message: cut and escaped.
fn shown(s: &str) -> String {
    let cut: String = s.chars().take(2000).collect();
    cut.escape_debug().to_string()
}

#[test]
fn every_malformed_input_ends_as_its_case_says() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("tests/malformed")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.toml").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 60, "the corpus has {} cases", dirs.len());
    let only = std::env::var("MALFORMED").ok();
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for d in &dirs {
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        match check_case(d) {
            Ok(line) => report.push(line),
            Err(e) => failures.push(e),
        }
    }
    // With --nocapture: each case's exit, time and peak memory.
    for line in &report {
        println!("{line}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} case(s) failed:\n\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n\n")
    );
}
