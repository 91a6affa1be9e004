//! The log file of runs over many companies: JSON lines with the run's
//! events and no secret, at any level; and the README's cron line, run as
//! it is written there, leaving a file per company and the log.

use super::{assert_no_secret, emulator, key_of, rows_of, seed, text, write_config};
use crate::support::{bin, bin_path, TestDir, TestEmulator};
use chrono::{Datelike, NaiveDate};
use serde_json::{json, Value};
use std::path::Path;

/// Every line of a log file, parsed.
fn log_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// OAuth tokens for `company`, from the emulator's own authorize and
/// token endpoints, stored as `auth login` stores them.
fn login(emu: &TestEmulator, company: &str, tokens: &Path) -> (String, String) {
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let (access, refresh) = rt.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let redirect = "http://127.0.0.1:9/callback";
        let resp = client
            .get(format!("{}/oauth/authorize", emu.url()))
            .query(&[
                ("response_type", "code"),
                ("client_id", "facturare-etl"),
                ("redirect_uri", redirect),
                ("scope", "read_write"),
                ("state", "s1"),
                ("company", company),
            ])
            .send()
            .await
            .unwrap();
        let location = resp.headers()["location"].to_str().unwrap().to_string();
        let code = url::Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("a code");
        let reply: Value = client
            .post(format!("{}/oauth/access_token", emu.url()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect),
                ("client_id", "facturare-etl"),
                ("client_secret", "local-secret"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            reply["access_token"].as_str().unwrap().to_string(),
            reply["refresh_token"].as_str().unwrap().to_string(),
        )
    });
    let file = facturare_etl::api::TokenFile {
        token_url: format!("{}/oauth/access_token", emu.url()),
        client_id: "facturare-etl".into(),
        client_secret: "local-secret".into(),
        access_token: access.clone(),
        refresh_token: Some(refresh.clone()),
        expires_at: Some(chrono::Utc::now().timestamp() + 3600),
        scope: Some("read_write".into()),
        env: Some(emu.url().trim_end_matches('/').to_string()),
    };
    std::fs::create_dir_all(tokens.parent().unwrap()).unwrap();
    file.write(tokens).unwrap();
    (access, refresh)
}

#[test]
fn the_log_file_holds_the_runs_events_as_json_and_no_secret() {
    let emu = emulator();
    let day = NaiveDate::from_ymd_opt(2026, 10, 5).unwrap();
    seed(&emu, "acme", "A", 2, day);
    seed(&emu, "gamma", "G", 1, day);
    let dir = TestDir::new();
    let config = write_config(dir.path(), &emu, "log_file = \"logs/etl.jsonl\"");
    // gamma logs in with OAuth instead of a key.
    let text_of = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text_of.replace("api_key_file = \"keys/gamma.key\"\n", ""),
    )
    .unwrap();
    let (access, refresh) = login(
        &emu,
        "gamma",
        &dir.join(".facturare/profiles/gamma/tokens.json"),
    );
    let out = bin(dir.path())
        .env("RUST_LOG", "trace")
        .args([
            "--log-file",
            "run.jsonl",
            "export",
            "invoices",
            "--all-profiles",
        ])
        .args(["--period", "2026-10", "-o", "x/{profile}.csv"])
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let lines = log_lines(&dir.join("run.jsonl"));
    assert!(
        !dir.join(".facturare/logs").exists(),
        "the flag wins over log_file"
    );
    for l in &lines {
        for key in [
            "timestamp",
            "level",
            "run",
            "profile",
            "event",
            "target",
            "fields",
        ] {
            assert!(l.get(key).is_some(), "no `{key}` in {l}");
        }
    }
    let run = lines[0]["run"].clone();
    assert!(lines.iter().all(|l| l["run"] == run), "one run id");
    let find = |event: &str, profile: Value| {
        lines
            .iter()
            .find(|l| l["event"] == event && l["profile"] == profile)
            .unwrap_or_else(|| panic!("no `{event}` for {profile}"))
            .clone()
    };
    let started = find("run started", Value::Null);
    assert_eq!(started["fields"]["profiles"], "acme,beta,gamma");
    for company in ["acme", "gamma"] {
        let done = find("profile finished", json!(company));
        assert_eq!(done["level"], "INFO");
        assert_eq!(done["fields"]["exit"], 0);
        assert_eq!(done["fields"]["output"], format!("x/{company}.csv"));
        find("export written", json!(company));
    }
    let failed = find("profile failed", json!("beta"));
    assert_eq!(failed["level"], "ERROR");
    assert_eq!(failed["fields"]["exit"], 4);
    let finished = find("run finished", Value::Null);
    assert_eq!(finished["fields"]["failed"], "beta");
    let whole = std::fs::read_to_string(dir.join("run.jsonl")).unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "TRACE" || l["level"] == "DEBUG"),
        "RUST_LOG=trace is followed"
    );
    assert_no_secret("the log", &whole);
    assert!(!whole.contains(&access), "the log holds the access token");
    assert!(!whole.contains(&refresh), "the log holds the refresh token");
    assert!(!whole.contains("Bearer "), "the log holds a Bearer header");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("run.jsonl"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Without the flag: the config file's log_file (relative to it), appended to.
    for _ in 0..2 {
        bin(dir.path())
            .args(["runs", "list", "--profiles", "acme"])
            .assert()
            .success();
    }
    let lines = log_lines(&dir.join(".facturare/logs/etl.jsonl"));
    let runs: std::collections::BTreeSet<String> = lines
        .iter()
        .map(|l| l["run"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(runs.len(), 2, "two runs appended to one file");
    assert!(
        lines.iter().all(|l| l["level"] != "DEBUG"),
        "info unless RUST_LOG says otherwise"
    );
}

/// The cron line of README's "Unattended runs" section: the command after
/// the five time fields.
fn readme_cron_command() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let block = readme
        .split("```cron\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a ```cron block in README.md");
    let line = block
        .lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .expect("a cron line");
    line.split_whitespace()
        .skip(5)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_readme_cron_line_exports_last_month_for_every_company_and_logs_it() {
    let emu = emulator();
    let today = facturare_etl::export::period::today();
    let first_of_month = today.with_day(1).unwrap();
    let last_month = first_of_month.pred_opt().unwrap().with_day(5).unwrap();
    let label = last_month.format("%Y-%m").to_string();
    seed(&emu, "acme", "A", 2, last_month);
    seed(&emu, "gamma", "G", 3, last_month);
    seed(&emu, "gamma", "G-now", 1, today);
    let home = TestDir::new();
    let work = home.join("accounting");
    std::fs::create_dir_all(&work).unwrap();
    write_config(&work, &emu, "");
    // beta with its right key, this time: every company works.
    std::fs::write(work.join(".facturare/keys/beta.key"), key_of("beta")).unwrap();
    let command = readme_cron_command();
    assert!(
        command.contains("--all-profiles") && command.contains("--log-file"),
        "{command}"
    );
    let bin_dir = bin_path().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // As cron runs it: sh -c, a bare environment, HOME and PATH.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&command)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", path)
        .current_dir(home.path())
        .output()
        .expect("sh runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{command}\n{}",
        text(&out.stderr)
    );
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "quiet for cron: {}",
        text(&out.stderr)
    );
    let exports = work.join("exports");
    for (company, n) in [("acme", 2), ("beta", 0), ("gamma", 3)] {
        let file = exports.join(company).join(format!("invoices-{label}.xlsx"));
        assert_eq!(rows_of(&file), n, "{}", file.display());
    }
    let log = std::fs::read_dir(home.join("logs"))
        .expect("the log folder")
        .map(|e| e.unwrap().path())
        .next()
        .expect("a log file");
    let lines = log_lines(&log);
    let finished = lines
        .iter()
        .find(|l| l["event"] == "run finished")
        .expect("the run's end in the log");
    assert_eq!(finished["fields"]["exit"], 0);
    let written: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "export written")
        .collect();
    assert_eq!(written.len(), 3, "one export per company");
    assert_no_secret("the log", &std::fs::read_to_string(&log).unwrap());
}
