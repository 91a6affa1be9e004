//! The dry run's diagnoses, end to end with the real binary: what a person
//! needs to fix a file, not only its errors. Totals that a source rounding
//! halves to even states 0.02 away (the hint, and `[checks] tolerance`
//! accepting them with a warning, then the import sending the API's
//! values), empty quantities and unit costs (a warning on the cell, the API
//! takes 1 and 0), rows that look like totals rows (the error shows the
//! `skip_rows_matching` line, and that line, added, skips them), and one
//! customer code with other names years apart (a warning only).
//!
//! The documents are generated here with their own seeded randomness; the
//! expected differences come from this test's arithmetic, not the code
//! under test.

use crate::support::{bin, list_all, TestDir, TestEmulator};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::prelude::*;
use serde_json::Value;

const HEADER: &str = "Nr,Date,Code,Client,Item,Qty,Price,VAT,Total";

const MAPPING: &str = r#"version = 1
name = "diagnoses"

[source]
format = "csv"

[invoice]
group_by = "Nr"
number = "Nr"
date = { column = "Date", date = ["%Y-%m-%d"] }
currency = { value = "MDL" }
check_total = { column = "Total", decimal = "dot" }

[customer]
number = "Code"
name = "Client"

[line]
name = "Item"
quantity = { column = "Qty", decimal = "dot" }
unit_cost = { column = "Price", decimal = "dot" }
taxes = { column = "VAT", lookup = { "0" = "tva0", "20" = "tva20" } }
"#;

fn run(dir: &TestDir, args: &[&str]) -> (i32, Value, String) {
    let out = bin(dir.path()).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `import in.csv --mapping m.toml` into `emu`, which must end with 0.
fn import_all(dir: &TestDir, emu: &TestEmulator) {
    let out = bin(dir.path())
        .env("FACTURARE_API_KEY", emu.key())
        .args([
            "--api-url",
            emu.url(),
            "import",
            "in.csv",
            "--mapping",
            "m.toml",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
}

fn count(summary: &Value, code: &str) -> u64 {
    summary["by_code"][code].as_u64().unwrap_or(0)
}

fn half_up(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn half_even(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
}

/// `n` two-line invoices (VAT 0) whose lines have half-cent nets, each
/// total stated as a source that rounds halves to even would state it:
/// 0.02 below the API's. Lines of an invoice adjacent, invoices shuffled.
fn rounding_register(seed: u64, n: usize) -> String {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut docs = Vec::new();
    while docs.len() < n {
        let lines: Vec<(Decimal, Decimal)> = (0..2)
            .map(|_| {
                (
                    Decimal::new(5, 1),
                    Decimal::new(rng.gen_range(101..99_999), 2),
                )
            })
            .collect();
        let up: Decimal = lines.iter().map(|(q, p)| half_up(q * p)).sum();
        let even: Decimal = lines.iter().map(|(q, p)| half_even(q * p)).sum();
        if up - even != Decimal::new(2, 2) {
            continue;
        }
        docs.push((lines, even));
    }
    docs.shuffle(&mut rng);
    let mut out = format!("{HEADER}\n");
    for (i, (lines, stated)) in docs.iter().enumerate() {
        for (j, (q, p)) in lines.iter().enumerate() {
            let total = if j == 0 {
                stated.to_string()
            } else {
                String::new()
            };
            out.push_str(&format!(
                "R-{i},2024-05-{:02},C-{},Client {},Item {j},{q},{p},0,{total}\n",
                1 + i % 28,
                i % 3,
                i % 3
            ));
        }
    }
    out
}

#[test]
fn totals_rounded_halves_to_even_get_the_hint_and_the_tolerance_takes_them() {
    for seed in [1, 2, 3] {
        let dir = TestDir::new();
        dir.write("in.csv", rounding_register(seed, 12));
        dir.write("m.toml", MAPPING);
        let (code, s, err) = run(
            &dir,
            &["--json", "validate", "in.csv", "--mapping", "m.toml"],
        );
        assert_eq!(code, 1, "{err}");
        assert_eq!(s["rejected"], 12, "{s}");
        assert_eq!(count(&s, "total_rounding"), 12, "{s}");
        assert_eq!(count(&s, "total_mismatch"), 0, "{s}");
        let (_, _, text) = run(&dir, &["validate", "in.csv", "--mapping", "m.toml"]);
        assert!(
            text.contains("hint: the 12 stated totals that differ all differ by 0.01–0.02")
                && text.contains("`[checks] tolerance = \"0.02\"`"),
            "{text}"
        );

        // The option the hint names: a warning each, all valid, and the
        // import creates them all with the API's totals.
        dir.write(
            "m.toml",
            format!("{MAPPING}\n[checks]\ntolerance = \"0.02\"\n"),
        );
        let (code, s, err) = run(
            &dir,
            &["--json", "validate", "in.csv", "--mapping", "m.toml"],
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(s["valid"], 12, "{s}");
        assert_eq!(count(&s, "total_within_tolerance"), 12, "{s}");
        let emu = TestEmulator::new();
        import_all(&dir, &emu);
        assert_eq!(list_all(emu.url(), emu.key(), "/invoices").len(), 12);
    }
}

#[test]
fn empty_quantities_and_prices_are_warnings_on_their_cells_and_the_api_takes_1_and_0() {
    let dir = TestDir::new();
    dir.write(
        "in.csv",
        format!(
            "{HEADER}\n\
             Q-1,2024-03-01,C-1,Alfa SRL,Sare,,3.50,20,4.20\n\
             Q-2,2024-03-02,C-1,Alfa SRL,Mostră,2,,0,0\n\
             Q-3,2024-03-02,C-2,Beta SRL,Zahăr,1,2.00,20,2.40\n"
        ),
    );
    dir.write("m.toml", MAPPING);
    let (code, s, err) = run(&dir, &["validate", "in.csv", "--mapping", "m.toml"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s, Value::Null);
    assert!(
        err.contains(
            "warning[empty_amount]: in.csv row 2, column \"Qty\": items[0].quantity: empty: the API takes 1"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "warning[empty_amount]: in.csv row 3, column \"Price\": items[0].unit_cost: empty: the API takes 0"
        ),
        "{err}"
    );
    assert!(err.contains("3 documents formed: 3 valid"), "{err}");
    let emu = TestEmulator::new();
    import_all(&dir, &emu);
    let invoices = list_all(emu.url(), emu.key(), "/invoices");
    let by = |n: &str| invoices.iter().find(|i| i["number"] == n).unwrap().clone();
    assert_eq!(by("Q-1")["total"].as_f64(), Some(4.2), "{}", by("Q-1"));
    assert_eq!(by("Q-2")["total"].as_f64(), Some(0.0), "{}", by("Q-2"));
}

#[test]
fn totals_rows_name_the_skip_line_and_that_line_skips_them() {
    for (label, last) in [
        ("Итого", "Итого,,,,,,,,16.80"),
        ("TOTAL:", "TOTAL:,,,,,,,,16.80"),
        ("Totaluri", "Totaluri,,,,,,,,16.80"),
        ("total general", "total general,,,,,,,,16.80"),
    ] {
        let dir = TestDir::new();
        dir.write(
            "in.csv",
            format!(
                "{HEADER}\n\
                 T-1,2024-03-01,C-1,Alfa SRL,Pâine,2,3.50,20,8.40\n\
                 T-2,2024-03-02,C-2,Beta SRL,Lapte,1,7.00,20,8.40\n\
                 {last}\n"
            ),
        );
        dir.write("m.toml", MAPPING);
        let (code, s, err) = run(
            &dir,
            &["--json", "validate", "in.csv", "--mapping", "m.toml"],
        );
        assert_eq!(code, 1, "{label}: {err}");
        assert_eq!(
            (s["valid"].as_u64(), s["rejected"].as_u64()),
            (Some(2), Some(1)),
            "{s}"
        );
        assert_eq!(count(&s, "totals_row"), 1, "{label}: {s}");
        assert_eq!(s["errors"], 1, "{label}: the totals row is said once: {s}");
        let (_, _, text) = run(&dir, &["validate", "in.csv", "--mapping", "m.toml"]);
        let line = text
            .lines()
            .find(|l| l.contains("error[totals_row]"))
            .unwrap_or_else(|| panic!("{label}: {text}"));
        assert!(line.contains("row 4, column \"Nr\""), "{line}");
        let skip = &line[line.find("skip_rows_matching = ").unwrap()..];
        let skip = &skip[..skip.find(" }").unwrap() + 2];
        // The line as shown, added to [source]: the row is skipped.
        dir.write(
            "m.toml",
            MAPPING.replace("format = \"csv\"\n", &format!("format = \"csv\"\n{skip}\n")),
        );
        let (code, s, err) = run(
            &dir,
            &["--json", "validate", "in.csv", "--mapping", "m.toml"],
        );
        assert_eq!(code, 0, "{label}: {skip}: {err}");
        assert_eq!(
            (s["valid"].as_u64(), s["rows_skipped"].as_u64()),
            (Some(2), Some(1)),
            "{s}"
        );
    }
    // A row of amounts only, with no number: said to be a totals row too.
    let dir = TestDir::new();
    dir.write(
        "in.csv",
        format!("{HEADER}\nT-1,2024-03-01,C-1,Alfa SRL,Pâine,2,3.50,20,8.40\n,,,,,,,,8.40\n"),
    );
    dir.write("m.toml", MAPPING);
    let (code, _, err) = run(&dir, &["validate", "in.csv", "--mapping", "m.toml"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("error[totals_row]: in.csv row 3")
            && err.contains("no number, no date and no customer, only amounts")
            && err.contains("regex = \"^\\\\s*$\""),
        "{err}"
    );
    assert!(!err.contains("customer_unmatched"), "said once: {err}");
}

#[test]
fn one_code_with_other_names_years_apart_is_a_warning_only() {
    let dir = TestDir::new();
    dir.write(
        "in.csv",
        format!(
            "{HEADER}\n\
             Y-1,2019-02-01,C-7,Gamma SRL,Pâine,1,10.00,20,12.00\n\
             Y-2,2024-11-20,C-7,GAMMA-PLUS S.R.L.,Pâine,1,10.00,20,12.00\n"
        ),
    );
    dir.write("m.toml", MAPPING);
    let (code, s, err) = run(
        &dir,
        &["--json", "validate", "in.csv", "--mapping", "m.toml"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["valid"], 2, "{s}");
    assert_eq!(count(&s, "customer_disagrees"), 1, "{s}");
    assert_eq!(s["errors"], 0, "{s}");
    let (_, _, text) = run(&dir, &["validate", "in.csv", "--mapping", "m.toml"]);
    assert!(
        text.contains("warning[customer_disagrees]") && text.contains("Gamma SRL"),
        "{text}"
    );
}
