//! CLI tests as cases, as cargo's `tests/testsuite/<cmd>/<case>/` and
//! ruff's CLI tests: each folder of `tests/cases/` holds
//!
//! - `in/`: files copied into a fresh temp dir, where the binary runs (its
//!   data dir `.facturare/` there, nothing else in its environment);
//! - `cmd`: its arguments, one per line;
//! - `out/status`, `out/stdout`, `out/stderr`: what it must exit with and
//!   print, exactly, with the temp dir written `[ROOT]` and durations
//!   `[TIME]`.
//!
//! One test runs every case and shows each difference. To accept new
//! output after an intended change: `SNAPSHOTS=overwrite cargo test cases`,
//! then review the diff of `tests/cases/` like any other change.

use crate::support::{bin, TestDir};
use std::path::{Path, PathBuf};

fn cases_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

/// Copy `from` into `to`, folders included.
fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("a readable in/ folder") {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The output with what changes from run to run written as placeholders.
fn filtered(text: &str, root: &Path) -> String {
    let mut s = text.to_string();
    for r in [root.to_path_buf(), root.canonicalize().unwrap_or_default()] {
        let r = r.display().to_string();
        if !r.is_empty() {
            s = s.replace(&r, "[ROOT]");
        }
    }
    // Durations: `in 0.3s`, `0.03s`.
    let re = regex::Regex::new(r"\b\d+\.\d+s\b").unwrap();
    re.replace_all(&s, "[TIME]").into_owned()
}

struct Ran {
    status: String,
    stdout: String,
    stderr: String,
}

fn run_case(case: &Path) -> Ran {
    let dir = TestDir::new();
    let input = case.join("in");
    if input.is_dir() {
        copy_tree(&input, dir.path());
    }
    let cmd = std::fs::read_to_string(case.join("cmd")).expect("a cmd file");
    let args: Vec<&str> = cmd.lines().filter(|l| !l.is_empty()).collect();
    let out = bin(dir.path())
        .args(&args)
        .output()
        .expect("the binary runs");
    Ran {
        status: format!("{}\n", out.status.code().unwrap_or(-1)),
        stdout: filtered(&String::from_utf8_lossy(&out.stdout), dir.path()),
        stderr: filtered(&String::from_utf8_lossy(&out.stderr), dir.path()),
    }
}

#[test]
fn every_case_prints_what_its_out_folder_holds() {
    let overwrite = std::env::var("SNAPSHOTS").as_deref() == Ok("overwrite");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_root())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("cmd").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 30, "the cases: {}", dirs.len());
    let mut failures = Vec::new();
    for case in &dirs {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let ran = run_case(case);
        assert!(
            !ran.stderr.contains("panicked"),
            "{name}: a panic\n{}",
            ran.stderr
        );
        let out = case.join("out");
        for (file, got) in [
            ("status", &ran.status),
            ("stdout", &ran.stdout),
            ("stderr", &ran.stderr),
        ] {
            let path = out.join(file);
            if overwrite {
                std::fs::create_dir_all(&out).unwrap();
                std::fs::write(&path, got).unwrap();
                continue;
            }
            let want = std::fs::read_to_string(&path).unwrap_or_default();
            if &want != got {
                failures.push(format!(
                    "{name}/out/{file}:\n--- expected\n{want}\n--- printed\n{got}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} difference(s) (accept intended ones with SNAPSHOTS=overwrite):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
