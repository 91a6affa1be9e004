//! The binary end to end: `facturare-etl --api-url <emulator> export ...`.

use super::seed::{self, csv_rows, day, files_in};
use crate::support::{bin, bin_path, TestDir, TestEmulator};
use calamine::{open_workbook, Reader, Xlsx};
use facturare_etl::emulator::Config;
use serde_json::{json, Value};
use std::time::Duration;

fn seeded(n: usize, config: Config) -> TestEmulator {
    let emu = TestEmulator::start(config);
    let api = emu.api();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = seed::customer(&api, json!({"name": "SRL Alfa", "tax_id": "0012345678901"})).await;
        seed::invoices(&api, c["id"].as_i64().unwrap(), n, day(2026, 10, 5)).await;
    });
    emu
}

#[test]
fn exports_with_a_template_path_and_a_json_summary() {
    let emu = seeded(120, Config::default());
    let dir = TestDir::new();
    let out = bin(dir.path())
        .args(["--api-url", emu.url(), "--json", "export", "invoices"])
        .args([
            "-o",
            "exports/invoices-{period}.xlsx",
            "--period",
            "2026-10",
        ])
        .args(["--expand", "customer", "--sheet-rows", "100"])
        .env("FACTURARE_API_KEY", emu.key())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let summary: Value = serde_json::from_str(stdout.trim()).expect("one JSON summary on stdout");
    assert_eq!(summary["path"], "exports/invoices-2026-10.xlsx");
    assert_eq!(summary["rows"], 120);
    assert_eq!(summary["objects"], 120);
    assert_eq!(summary["total"], 120);
    assert_eq!(summary["period"], "2026-10");
    assert_eq!(summary["sheets"], json!(["Invoices", "Invoices (2)"]));
    assert_eq!(summary["bookmark"], Value::Null);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        !stderr.contains(emu.key()),
        "the key never appears: {stderr}"
    );
    let path = dir.join("exports/invoices-2026-10.xlsx");
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(wb.worksheet_range("Invoices").unwrap().height(), 101);
    assert_eq!(wb.worksheet_range("Invoices (2)").unwrap().height(), 21);
    assert_eq!(files_in(&dir.join("exports")), ["invoices-2026-10.xlsx"]);
}

#[test]
fn incremental_runs_from_cron() {
    let emu = seeded(30, Config::default());
    let dir = TestDir::new();
    let run = |out: &str| {
        let assert = bin(dir.path())
            .args(["--api-url", emu.url(), "--json", "export", "invoices"])
            .args([
                "-o",
                out,
                "--incremental",
                "cron",
                "--bom",
                "--delimiter",
                ";",
            ])
            .env("FACTURARE_API_KEY", emu.key())
            .assert()
            .success();
        let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
        serde_json::from_str::<Value>(stdout.trim()).unwrap()
    };
    let first = run("first.csv");
    assert_eq!(first["rows"], 30);
    assert_eq!(first["bookmark"]["name"], "cron");
    assert_eq!(first["bookmark"]["advanced"], true);
    let second = run("second.csv");
    assert_eq!(second["rows"], 0);
    assert_eq!(second["bookmark"]["advanced"], false);
    assert_eq!(
        second["bookmark"]["updated_at"],
        first["bookmark"]["updated_at"]
    );
    let bytes = std::fs::read(dir.join("second.csv")).unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBFid;number;customer;customer.number;"),
        "BOM, then the header only"
    );
    assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 1);
    let (_, rows) = csv_rows(&dir.join("first.csv"));
    assert_eq!(rows.len(), 30);
}

/// The messages are pinned in `tests/cases/export-*`; here, that nothing
/// is written.
#[test]
fn bad_options_exit_2_and_write_nothing() {
    let dir = TestDir::new();
    let cases: [&[&str]; 6] = [
        &["invoices", "-o", "x.csv", "--filter", "stauts=paid"],
        &["invoices", "-o", "x.csv", "--period", "2026-13"],
        &["invoices", "-o", "x.pdf"],
        &["payments", "-o", "x.csv", "--lines"],
        &["customers", "-o", "x.csv", "--columns", "name,emial"],
        &["invoices", "-o", "{month}.csv"],
    ];
    for args in cases {
        let out = bin(dir.path()).arg("export").args(args).assert().code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(stderr.starts_with("error: "), "{stderr}");
    }
    assert_eq!(
        files_in(dir.path()),
        Vec::<String>::new(),
        "nothing written"
    );
}

#[test]
fn an_api_failure_exits_4_and_keeps_the_previous_file() {
    let emu = seeded(5, Config::default());
    let dir = TestDir::new();
    dir.write("out.xlsx", "previous");
    let out = bin(dir.path())
        .args([
            "--api-url",
            emu.url(),
            "export",
            "invoices",
            "-o",
            "out.xlsx",
        ])
        .env("FACTURARE_API_KEY", "not_the_key")
        .assert()
        .code(4);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("failed to list invoices"), "{stderr}");
    assert!(
        !stderr.contains("not_the_key"),
        "the key is never printed: {stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("out.xlsx")).unwrap(),
        "previous"
    );
    assert_eq!(files_in(dir.path()), ["out.xlsx"]);
}

#[cfg(unix)]
#[test]
fn ctrl_c_midway_keeps_the_previous_file() {
    // 100 ms per request: ten pages take a second; interrupt after three.
    let emu = seeded(
        1000,
        Config {
            latency: Duration::from_millis(100),
            ..Config::default()
        },
    );
    let dir = TestDir::new();
    dir.write("out.xlsx", "previous");
    let before = emu.stats().requests;
    let mut child = std::process::Command::new(bin_path())
        .args([
            "--api-url",
            emu.url(),
            "export",
            "invoices",
            "-o",
            "out.xlsx",
        ])
        .env_clear()
        .env("FACTURARE_API_KEY", emu.key())
        .env("FACTURARE_DATA_DIR", dir.join(".facturare"))
        .env("HOME", dir.join("home"))
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let waited = std::time::Instant::now();
    while emu.stats().requests < before + 3 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the export ended before it was interrupted"
        );
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the export never started paging"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: signalling our own child process by its pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.join("out.xlsx")).unwrap(),
        "previous"
    );
    let left: Vec<String> = files_in(dir.path())
        .into_iter()
        .filter(|f| f != ".facturare" && f != "home")
        .collect();
    assert_eq!(left, ["out.xlsx"], "no partial file behind");
}

#[test]
fn local_env_exports_from_the_embedded_emulator() {
    let dir = TestDir::new();
    let out = bin(dir.path())
        .args(["--env", "local", "export", "customers", "-o", "c.csv"])
        .assert()
        .success();
    let (header, rows) = csv_rows(&dir.join("c.csv"));
    assert_eq!(header[..3], ["id", "number", "name"]);
    assert!(rows.is_empty());
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("0 customers: 0 rows written to c.csv"),
        "{stderr}"
    );
}
