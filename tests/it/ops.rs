//! The jobs as a library, without the command line: settings from a plain
//! `config::Request`, a recording `Reporter`, an outcome with its ending.

use crate::support::{Recorder, TestDir, TestEmulator};
use facturare_etl::config::{Request, Settings};
use facturare_etl::error::Ending;
use facturare_etl::ops::{self, DryRunOptions, ImportOptions};
use std::path::{Path, PathBuf};

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

#[test]
fn a_dry_run_and_an_import_report_through_the_reporter() {
    let emu = TestEmulator::new();
    let dir = TestDir::new();
    let files = vec![repo("samples/1c-export.csv")];
    let mapping = repo("mappings/1c-export.toml");

    let seen = Recorder::default();
    let opts = DryRunOptions {
        files: files.clone(),
        mapping: Some(mapping.clone()),
        ..DryRunOptions::default()
    };
    let summary = ops::dry_run(&opts, None, &seen)
        .expect("the dry run runs")
        .summary;
    assert_eq!((summary.valid, summary.rejected), (25, 3));
    assert_eq!(summary.ending(), Ending::Rejected);
    assert_eq!(seen.stage("validating").0, 28, "one unit per document");

    let settings = Settings::resolve(&Request {
        api_url: Some(emu.url().to_string()),
        api_key_env: Some(emu.key().to_string()),
        data_dir: dir.join(".facturare"),
        ..Request::default()
    })
    .expect("settings");
    let seen = Recorder::default();
    let opts = ImportOptions {
        files,
        mapping: Some(mapping),
        ..ImportOptions::default()
    };
    let outcome = ops::import(&settings, &opts, &seen).expect("the import runs");
    assert_eq!(outcome.upload.done, 25);
    assert_eq!(outcome.ending(), Ending::Rejected, "three were rejected");
    assert_eq!(seen.stage("validated").0, 28);
    assert_eq!(seen.stage("uploaded"), (25, 25), "every valid one, counted");
    assert!(
        seen.lines()
            .iter()
            .any(|l| l.starts_with("created the tax rates tva20")),
        "{:?}",
        seen.lines()
    );
    // Again: nothing new, said through the same reporter.
    let again = ops::import(&settings, &opts, &Recorder::default()).unwrap();
    assert_eq!((again.upload.done, again.upload.already_imported), (0, 25));
}
