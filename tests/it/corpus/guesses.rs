//! What a guess says and does: evidence above every field, every column read
//! or listed with why, the source options it proposes (several sheets,
//! fill-down, slots per VAT rate), `--validate`, and the warnings of
//! `mapping check`.

use super::{corpus, layouts};
use crate::support::{bin, TestDir};
use facturare_etl::mapping::Mapping;
use std::path::Path;

/// The guess of `layout`'s first file, as text.
fn guess_of(dir: &Path, layout: &str) -> String {
    let l = layouts(&corpus())
        .into_iter()
        .find(|l| l.name == layout)
        .unwrap();
    let out = bin(dir)
        .args(["mapping", "init"])
        .arg(&l.files[0])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_guessed_field_says_why_and_every_column_is_accounted_for() {
    let dir = TestDir::new();
    for l in layouts(&corpus()) {
        let text = guess_of(dir.path(), &l.name);
        let lines: Vec<&str> = text.lines().collect();
        let mut table = "";
        for (i, line) in lines.iter().enumerate() {
            if line.starts_with('[') {
                table = line;
                continue;
            }
            let is_field = !line.starts_with('#') && line.contains(" = ") && !table.is_empty();
            // Every field but the reader's plain settings carries its evidence.
            let plain = table == "[source]"
                && ["format =", "delimiter =", "sheet = \""]
                    .iter()
                    .any(|k| line.starts_with(k));
            if is_field && !plain {
                assert!(
                    i > 0 && lines[i - 1].starts_with("# "),
                    "{}: no evidence above {line:?}\n{text}",
                    l.name
                );
            }
        }
        // A column is read by a field or listed as not mapped, with why.
        let v: toml::Value = toml::from_str(&text).unwrap();
        let src = facturare_etl::read::open(
            &l.files[0],
            Mapping::from_text(Path::new("g.toml"), &text)
                .unwrap()
                .source(),
        )
        .unwrap();
        for h in src.headers() {
            let quoted = toml::Value::String(h.clone()).to_string();
            let pattern = |s: &str| s.contains(&quoted) || s.contains(&format!("{{{h}}}"));
            let read = text.lines().filter(|x| !x.starts_with('#')).any(pattern);
            let listed = text
                .lines()
                .any(|x| x.starts_with(&format!("# - {quoted}: ")));
            let wide = v["line"].get("wide").is_some();
            assert!(
                read || listed || wide,
                "{}: column {h:?} is neither read nor listed\n{text}",
                l.name
            );
        }
    }
}

#[test]
fn init_proposes_several_sheets_fill_down_and_rate_slots_from_the_file() {
    let dir = TestDir::new();
    let monthly = guess_of(dir.path(), "ro-xlsx-foaie-pe-luna");
    assert!(monthly.contains("sheet = \"*\""), "{monthly}");
    assert!(
        monthly.contains("(skipped, another header: Sinteză)"),
        "{monthly}"
    );
    let odoo = guess_of(dir.path(), "odoo-export-fill-down");
    assert!(
        odoo.contains("fill_down = [\"Number\", \"Invoice/Bill Date\", \"Partner\", \"Partner/Tax ID\", \"Currency\"]"),
        "{odoo}"
    );
    let register = guess_of(dir.path(), "md-registru-livrari-cote");
    assert!(
        register.contains("wide = { values = [\"20\", \"12\", \"8\", \"0\"] }"),
        "{register}"
    );
    assert!(
        register.contains("taxes = { template = \"tva{n}\" }"),
        "{register}"
    );
    // The VAT of 1C's register as an amount only: a constant rate, with why.
    let only_amount = guess_of(dir.path(), "1c-dokument-utf8-comma");
    assert!(
        only_amount.contains("taxes = { value = \"tva20\" }"),
        "{only_amount}"
    );
    assert!(
        only_amount.contains("is 20% of \"Сумма\" on"),
        "{only_amount}"
    );
    // A rate that is not Moldova's stays out of the lookup, and says so.
    assert!(
        monthly.contains("\"0.19\" (19%) is not a Moldovan VAT rate"),
        "{monthly}"
    );
    assert!(!monthly.contains("tva19"), "{monthly}");
}

#[test]
fn init_validate_runs_the_dry_run_and_check_warns_of_what_the_api_needs() {
    let dir = TestDir::new();
    let file = corpus().join("1c-pokupatel-shuffled-cp1251/prodazhi.csv");
    let out = bin(dir.path())
        .args(["mapping", "init"])
        .arg(&file)
        .arg("--validate")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "some documents are rejected: {stderr}"
    );
    assert!(
        stdout.starts_with("# A starting mapping") && stdout.contains("group_by"),
        "{stdout}"
    );
    assert!(
        stderr.contains("the dry run of")
            && stderr.contains("40 documents formed: 35 valid, 5 rejected"),
        "{stderr}"
    );
    // With -o and --json, the summary as JSON on stdout; nothing else written.
    let guess = dir.join("guess.toml");
    let out = bin(dir.path())
        .args(["--json", "mapping", "init"])
        .arg(&file)
        .arg("-o")
        .arg(&guess)
        .arg("--validate")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["invoices_formed"].as_u64(), v["valid"].as_u64()),
        (Some(40), Some(35))
    );
    assert!(guess.exists());
    // check: a mapping without a line name, customer or date is valid, with warnings.
    let m = dir.write(
        "m.toml",
        "version = 1\n[invoice]\nnumber = \"Nr\"\n[line]\nquantity = \"Q\"\n",
    );
    let out = bin(dir.path())
        .args(["mapping", "check"])
        .arg(&m)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for want in [
        "neither `name` nor `catalog_item`",
        "neither `name`, `number` nor `id`",
        "maps no `date`",
    ] {
        assert!(stderr.contains(want), "{want:?} not in {stderr}");
    }
    let ok = corpus().join("1c-pokupatel-shuffled-cp1251/mapping.toml");
    let out = bin(dir.path())
        .args(["mapping", "check"])
        .arg(&ok)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}
