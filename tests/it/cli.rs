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
    ("help_runs_verify", &["runs", "verify"]),
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
fn version_and_help_exit_0() {
    let (code, _) = exit_of(&["--version"]);
    assert_eq!(code, 0);
    let (code, _) = exit_of(&["runs", "list", "--help"]);
    assert_eq!(code, 0);
}
