//! Exports made before the round trip (the corpus' `export-lines-*`: taxes
//! as `tva20: 33.75`, metadata in one column, no marker sheet) are still
//! recognised and read; a file that is not an export asks for a mapping.

use crate::support::{bin, TestDir};
use serde_json::Value;
use std::path::PathBuf;

fn corpus(p: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(p)
}

#[test]
fn older_exports_are_read_with_no_mapping() {
    for file in [
        "export-lines-xlsx/invoices-lines.xlsx",
        "export-lines-csv/invoices-lines.csv",
    ] {
        let dir = TestDir::new();
        let out = bin(dir.path())
            .args(["--json", "--env", "local", "validate"])
            .arg(corpus(file))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{file}: {e}; stderr: {err}"));
        assert!(
            err.contains("built-in mapping mappings/roundtrip-invoices.toml"),
            "{err}"
        );
        // The corpus' hand mappings count 279 documents, all valid.
        assert_eq!(v["invoices_formed"], 279, "{file}: {err}");
        assert_eq!(v["valid"], 279, "{file}: {:?}", v["first_problems"]);
        // The account they came from is not this one: none of them is here.
        assert_eq!(v["changes"]["counts"]["conflicts"], 279, "{file}");
        assert_eq!(out.status.code(), Some(1), "{file}: not all can be sent");
    }
}

#[test]
fn a_file_that_is_no_export_asks_for_a_mapping() {
    let dir = TestDir::new();
    let out = bin(dir.path())
        .args(["--env", "local", "import"])
        .arg(corpus("export-lines-mapped-csv/invoice-lines.csv"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is not an export of facturare-etl"), "{err}");
    assert!(err.contains("mapping init"), "{err}");
    assert!(
        !dir.join(".facturare/ledger.db").exists() || {
            let l = facturare_etl::ledger::Ledger::open(dir.join(".facturare/ledger.db")).unwrap();
            l.runs().unwrap().is_empty()
        }
    );
}
