//! Integration tests: the command line itself. `--help` of the binary and
//! of every subcommand against committed snapshots (so a change to the
//! interface shows in review), and the exit code of usage errors.

use crate::support::{bin, TestDir};

/// Every command line whose `--help` is snapshotted, and the snapshot's name.
const HELPS: &[(&str, &[&str])] = &[
    ("help", &[]),
    ("help_import", &["import"]),
    ("help_validate", &["validate"]),
    ("help_export", &["export"]),
    ("help_mapping", &["mapping"]),
    ("help_mapping_check", &["mapping", "check"]),
    ("help_mapping_test", &["mapping", "test"]),
    ("help_mapping_init", &["mapping", "init"]),
    ("help_runs", &["runs"]),
    ("help_runs_list", &["runs", "list"]),
    ("help_runs_show", &["runs", "show"]),
    ("help_runs_rollback", &["runs", "rollback"]),
    ("help_auth", &["auth"]),
    ("help_emulator", &["emulator"]),
    ("help_completions", &["completions"]),
    ("help_man", &["man"]),
];

fn help(dir: &TestDir, args: &[&str]) -> String {
    // Without FACTURARE_DATA_DIR, whose temp path would show as `[env: …]`.
    let out = bin(dir.path())
        .env_remove("FACTURARE_DATA_DIR")
        .args(args)
        .arg("--help")
        .output()
        .expect("the binary runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?} --help: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

#[test]
fn help_of_the_binary_and_every_subcommand_matches_its_snapshot() {
    let dir = TestDir::new();
    for (name, args) in HELPS {
        let text = help(&dir, args);
        insta::assert_snapshot!(*name, text);
    }
}

fn exit_of(args: &[&str]) -> (i32, String) {
    let dir = TestDir::new();
    let out = bin(dir.path())
        .args(args)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    let cases: &[(&[&str], &str)] = &[
        (&["no-such-command"], "unrecognized subcommand"),
        (&["import"], "required"),
        (&["import", "a.csv"], "--mapping"),
        (
            &["import", "a.csv", "-m", "m.toml", "--rate", "fast"],
            "N/s",
        ),
        (&["import", "a.csv", "-m", "m.toml", "--rate", "0/s"], "N/s"),
        (
            &["import", "a.csv", "-m", "m.toml", "--concurrency", "0"],
            "concurrency",
        ),
        (
            &["import", "a.csv", "-m", "m.toml", "--on-existing", "merge"],
            "skip",
        ),
        (&["import", "--resume", "abc"], "run number"),
        (&["import", "--resume", "--dry-run"], "cannot be used"),
        (&["runs", "show"], "RUN"),
        (&["runs", "show", "x"], "invalid"),
        (&["runs", "rollback"], "RUN"),
        (&["--env", "moon", "runs", "list"], "moon"),
    ];
    for (args, needle) in cases {
        let (code, err) = exit_of(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected {needle:?} in {err}"
        );
    }
}

#[test]
fn version_and_help_exit_0() {
    let (code, _) = exit_of(&["--version"]);
    assert_eq!(code, 0);
    let (code, _) = exit_of(&["runs", "list", "--help"]);
    assert_eq!(code, 0);
}

#[test]
fn a_missing_mapping_is_a_usage_error_and_an_unreadable_input_exit_3() {
    let dir = TestDir::new();
    let csv = dir.write("in.csv", "number\nA-1\n");
    let out = bin(dir.path())
        .arg("import")
        .arg(&csv)
        .args(["--mapping", "nope.toml", "--env", "local"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mapping = dir.write(
        "m.toml",
        "version = 1\n[source]\nformat = \"csv\"\n[invoice]\nnumber = { column = \"number\" }\n[customer]\nname = { value = \"X\" }\n[line]\nname = { value = \"x\" }\n",
    );
    let out = bin(dir.path())
        .args(["import", "missing.csv", "--env", "local", "--mapping"])
        .arg(&mapping)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
