//! Integration tests: one command for many companies. One emulator serves
//! three companies (acme, beta, gamma), each with its own key; the config
//! file gives each profile its key file, and beta's holds a wrong key. The
//! binary runs `export`, `import` and `runs list` with `--all-profiles` or
//! `--profiles`; [`log`]: with a JSON-lines `--log-file`, and the README's
//! cron line as it is written there.

mod log;

use crate::support::{bin, Api, TestDir, TestEmulator};
use chrono::NaiveDate;
use facturare_etl::emulator::{Config, KeySpec};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub(super) const KEYS: [(&str, &str); 3] = [
    ("acme", "k_acme_5ecret_0001"),
    ("beta", "k_beta_5ecret_0002"),
    ("gamma", "k_gamma_5ecret_0003"),
];

/// What beta's key file holds instead of its key.
pub(super) const WRONG_KEY: &str = "k_beta_wr0ng_9999";

/// The emulator with the three companies.
pub(super) fn emulator() -> TestEmulator {
    TestEmulator::start(Config {
        keys: KEYS
            .iter()
            .map(|(company, key)| KeySpec::new(*key, *company))
            .collect(),
        ..Config::default()
    })
}

pub(super) fn key_of(company: &str) -> &'static str {
    KEYS.iter()
        .find(|(c, _)| *c == company)
        .map(|(_, k)| *k)
        .unwrap_or_else(|| panic!("no company {company}"))
}

/// Invoices dated `date` for `company`, numbered `prefix-1`...
pub(super) fn seed(emu: &TestEmulator, company: &str, prefix: &str, n: usize, date: NaiveDate) {
    let api = Api::new(emu.url(), key_of(company));
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async {
        let c = api
            .create(
                "/customers",
                json!({"name": format!("Client of {company}")}),
            )
            .await;
        for i in 1..=n {
            api.create(
                "/invoices",
                json!({
                    "customer": c["id"],
                    "number": format!("{prefix}-{i}"),
                    "date": facturare_etl::model::date::to_unix(date),
                    "items": [{"name": "Servicii", "quantity": 1, "unit_cost": 100}],
                }),
            )
            .await;
        }
    });
}

/// How many invoices and credit notes `company` has.
pub(super) fn documents_of(emu: &TestEmulator, company: &str) -> usize {
    let api = Api::new(emu.url(), key_of(company));
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    rt.block_on(async {
        let mut n = 0;
        for path in ["/invoices?per_page=100", "/credit_notes?per_page=100"] {
            let v: Value = api
                .get(path)
                .send()
                .await
                .expect("a reply")
                .json()
                .await
                .expect("JSON");
            n += v.as_array().map_or(0, Vec::len);
        }
        n
    })
}

/// `dir/.facturare/config.toml` with a profile per company (`extra` lines
/// added at the top), each key in `dir/.facturare/keys/NAME.key`; beta's
/// is wrong.
pub(super) fn write_config(dir: &Path, emu: &TestEmulator, extra: &str) -> PathBuf {
    let mut text = format!("{extra}\n");
    for (company, key) in KEYS {
        let key = if company == "beta" { WRONG_KEY } else { key };
        let file = dir.join(format!(".facturare/keys/{company}.key"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, format!("{key}\n")).unwrap();
        text.push_str(&format!(
            "[profiles.{company}]\napi_url = \"{}\"\napi_key_file = \"keys/{company}.key\"\n\n",
            emu.url()
        ));
    }
    let path = dir.join(".facturare/config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub(super) fn rows_of(path: &Path) -> usize {
    use calamine::{open_workbook, Reader, Xlsx};
    let mut wb: Xlsx<_> = open_workbook(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let sheet = wb.sheet_names()[0].clone();
    wb.worksheet_range(&sheet).unwrap().height() - 1
}

pub(super) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// No key (right or wrong), nor its Basic header, in `what`.
pub(super) fn assert_no_secret(what: &str, text: &str) {
    use base64::Engine as _;
    for key in KEYS.iter().map(|(_, k)| *k).chain([WRONG_KEY]) {
        assert!(!text.contains(key), "{what} holds the key {key}");
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
        assert!(!text.contains(&basic), "{what} holds a Basic header");
    }
    assert!(!text.contains("Basic "), "{what} holds a Basic header");
}

#[test]
fn export_all_profiles_writes_two_files_names_the_failing_company_and_exits_4() {
    let emu = emulator();
    seed(
        &emu,
        "acme",
        "A",
        3,
        NaiveDate::from_ymd_opt(2026, 10, 5).unwrap(),
    );
    seed(
        &emu,
        "beta",
        "B",
        1,
        NaiveDate::from_ymd_opt(2026, 10, 6).unwrap(),
    );
    seed(
        &emu,
        "gamma",
        "G",
        2,
        NaiveDate::from_ymd_opt(2026, 10, 7).unwrap(),
    );
    let dir = TestDir::new();
    write_config(dir.path(), &emu, "");
    let out = bin(dir.path())
        .args(["--json", "export", "invoices", "--all-profiles"])
        .args(["--period", "2026-10", "--jobs", "2"])
        .args(["-o", "exports/{profile}/invoices-{period}.xlsx"])
        .output()
        .expect("the binary runs");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("error: 1 of 3 companies failed: beta"),
        "{stderr}"
    );
    assert!(stderr.contains("--profiles beta"), "a hint: {stderr}");

    let summary: Value = serde_json::from_str(stdout.trim()).expect("one JSON summary");
    assert_eq!(summary["command"], "export");
    assert_eq!(summary["exit"], 4);
    assert_eq!(summary["failed"], json!(["beta"]));
    let profiles = summary["profiles"].as_array().expect("a list");
    let names: Vec<&str> = profiles
        .iter()
        .map(|p| p["profile"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme", "beta", "gamma"]);
    for (p, objects) in [(&profiles[0], 3), (&profiles[2], 2)] {
        assert_eq!(p["status"], "ok", "{p}");
        assert_eq!(p["exit"], 0);
        assert_eq!(p["counts"]["objects"], objects);
        assert_eq!(p["error"], Value::Null);
        let name = p["profile"].as_str().unwrap();
        let path = format!("exports/{name}/invoices-2026-10.xlsx");
        assert_eq!(p["output"], path.as_str());
        assert_eq!(rows_of(&dir.join(&path)), objects, "{path}");
    }
    let beta = &profiles[1];
    assert_eq!(beta["status"], "failed");
    assert_eq!(beta["exit"], 4);
    assert_eq!(beta["output"], Value::Null);
    let error = beta["error"].as_str().expect("beta's error");
    assert!(
        error.contains("401") || error.to_lowercase().contains("key"),
        "{error}"
    );
    let beta_files = std::fs::read_dir(dir.join("exports/beta"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(beta_files, 0, "no file for beta, not even a partial one");
    assert_no_secret("stdout", &stdout);
    assert_no_secret("stderr", &stderr);

    // Without --json, the same summary for people, on stderr.
    let out = bin(dir.path())
        .args(["export", "invoices", "--profiles", "gamma,beta"])
        .args(["--period", "2026-10", "-o", "csv/{profile}.csv"])
        .output()
        .expect("the binary runs");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(out.stdout.is_empty(), "stdout is for data");
    assert!(
        stderr.contains("export for 2 companies: 1 ok, 1 failed"),
        "{stderr}"
    );
    let gamma = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("gamma"))
        .unwrap();
    assert!(
        gamma.contains("ok") && gamma.contains("csv/gamma.csv"),
        "{gamma}"
    );
    let beta = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("beta"))
        .unwrap();
    assert!(beta.contains("failed (exit 4)"), "{beta}");
    assert!(dir.join("csv/gamma.csv").exists());
}

#[test]
fn bookmarks_and_ledgers_stay_per_company() {
    let emu = emulator();
    let day = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    seed(&emu, "acme", "A", 3, day);
    seed(&emu, "gamma", "G", 2, day);
    let dir = TestDir::new();
    write_config(dir.path(), &emu, "");
    let run = |out: &str| -> Value {
        let o = bin(dir.path())
            .args(["--json", "export", "invoices", "--profiles", "acme,gamma"])
            .args(["--incremental", "nightly", "-o", out])
            .output()
            .expect("the binary runs");
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        serde_json::from_str(text(&o.stdout).trim()).expect("JSON")
    };
    let rows = |s: &Value| -> Vec<u64> {
        s["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["counts"]["rows"].as_u64().unwrap())
            .collect()
    };
    let first = run("first/{profile}.csv");
    assert_eq!(rows(&first), [3, 2]);
    // A new invoice for acme only: only acme's bookmark lets it through.
    seed(&emu, "acme", "A2", 1, day);
    let second = run("second/{profile}.csv");
    assert_eq!(rows(&second), [1, 0]);
    for company in ["acme", "gamma"] {
        let ledger = dir.join(format!(".facturare/profiles/{company}/ledger.db"));
        assert!(ledger.exists(), "{}", ledger.display());
    }
    assert!(
        !dir.join(".facturare/ledger.db").exists(),
        "no shared ledger"
    );
    // Each company's own bookmark, by name, in its own ledger.
    let b = |s: &Value, i: usize| s["profiles"][i]["result"]["bookmark"]["advanced"].clone();
    assert_eq!((b(&second, 0), b(&second, 1)), (json!(true), json!(false)));
}

#[test]
fn import_and_runs_list_for_several_companies() {
    let emu = emulator();
    let dir = TestDir::new();
    write_config(dir.path(), &emu, "");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for company in ["acme", "gamma"] {
        let to = dir.join(format!("inbox/{company}/sales.csv"));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root.join("samples/1c-export.csv"), &to).unwrap();
    }
    let mapping = root.join("mappings/1c-export.toml");
    let out = bin(dir.path())
        .args([
            "--json",
            "import",
            "--profiles",
            "acme,gamma",
            "inbox/{profile}/sales.csv",
        ])
        .arg("-m")
        .arg(&mapping)
        .args(["--rejects", "rejects/{profile}.csv"])
        .output()
        .expect("the binary runs");
    let stderr = text(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stderr}");
    let summary: Value = serde_json::from_str(text(&out.stdout).trim()).expect("JSON");
    let profiles = summary["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 2);
    for p in profiles {
        let company = p["profile"].as_str().unwrap();
        let created = p["counts"]["created"].as_u64().unwrap();
        assert!(created > 0, "{p}");
        assert_eq!(documents_of(&emu, company), created as usize, "{company}");
        assert_eq!(p["result"]["status"], "finished");
    }
    assert_eq!(documents_of(&emu, "beta"), 0, "beta was not asked for");

    // Without {profile} in a path, every company would share it.
    let out = bin(dir.path())
        .args(["import", "--all-profiles", "inbox/acme/sales.csv", "-m"])
        .arg(&mapping)
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("must contain {profile}"),
        "{}",
        text(&out.stderr)
    );

    // Each ledger has its own run; beta's has none.
    let out = bin(dir.path())
        .args(["--json", "runs", "list", "--all-profiles"])
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary: Value = serde_json::from_str(text(&out.stdout).trim()).expect("JSON");
    let runs: Vec<u64> = summary["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["counts"]["runs"].as_u64().unwrap())
        .collect();
    assert_eq!(runs, [1, 0, 1]);
    let out = bin(dir.path())
        .args(["runs", "list", "--profiles", "gamma"])
        .output()
        .expect("the binary runs");
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("== gamma =="), "{stdout}");
}

#[test]
fn bad_selections_exit_2_saying_what_was_expected() {
    let emu = emulator();
    let dir = TestDir::new();
    let cases: [(&[&str], &str); 4] = [
        (&["--profiles", "acme,gama"], "profile `gama` is not in"),
        (
            &["--all-profiles", "--profile", "acme"],
            "names one company",
        ),
        (
            &["--all-profiles", "--api-key-file", "k"],
            "would be every company's key",
        ),
        (
            &["--all-profiles", "-o", "same.csv"],
            "must contain {profile}",
        ),
    ];
    let no_config = bin(dir.path())
        .args([
            "export",
            "invoices",
            "--all-profiles",
            "-o",
            "{profile}.csv",
        ])
        .output()
        .expect("the binary runs");
    assert_eq!(no_config.status.code(), Some(2));
    assert!(
        text(&no_config.stderr).contains("has no [profiles.NAME] tables (it does not exist)"),
        "{}",
        text(&no_config.stderr)
    );
    write_config(dir.path(), &emu, "");
    for (args, message) in cases {
        let out = bin(dir.path())
            .args(["export", "invoices"])
            .args(args)
            .args(if args.contains(&"-o") {
                &[][..]
            } else {
                &["-o", "{profile}.csv"][..]
            })
            .output()
            .expect("the binary runs");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}
