//! Integration tests: the mapping language and the `mapping` command. The
//! samples through their mappings (drafts, problems at their cells,
//! origins), grouping in any row order, compile errors with their places,
//! the corpus of malformed inputs and mappings in `tests/cases/`, `mapping
//! check/test/init` on every sample, and the reference mentioning every key.

use crate::support::{bin, TestDir};
use facturare_etl::mapping::{self, draft_view, drafts, Mapping, MappingError};
use facturare_etl::model::{DocKind, Draft, MatchOn};
use rust_decimal_macros::dec;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(name: &str) -> Mapping {
    Mapping::load(&root().join("mappings").join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn all_drafts(m: &Mapping, file: &Path) -> (Vec<Draft>, mapping::DraftStats) {
    let mut d = drafts(m, &[file.to_path_buf()]).unwrap_or_else(|e| panic!("{e}"));
    let out: Vec<Draft> = d
        .by_ref()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    (out, d.stats())
}

#[test]
fn one_c_sample_maps_to_grouped_invoices() {
    let m = load("1c-export.toml");
    let (ds, stats) = all_drafts(&m, &root().join("samples/1c-export.csv"));
    assert_eq!(ds.len(), 28);
    assert_eq!(stats.drafts, 28);
    assert_eq!(stats.rows_skipped, 1, "the Итого row");
    assert_eq!(stats.rows_read, 70);
    assert_eq!(ds.iter().map(|d| d.invoice.items.len()).sum::<usize>(), 69);
    let first = &ds[0];
    assert_eq!(first.source_key, "group:МТ-000123");
    assert_eq!(first.invoice.number.as_deref(), Some("МТ-000123"));
    assert_eq!(
        first.invoice.date,
        chrono::NaiveDate::from_ymd_opt(2023, 1, 11)
    );
    assert_eq!(first.invoice.currency.as_deref(), Some("MDL"));
    assert_eq!(
        first.invoice.metadata.get("source").map(String::as_str),
        Some("1c")
    );
    assert_eq!(first.customer.tax_id.as_deref(), Some("1003600045120"));
    assert_eq!(first.match_on, MatchOn::Number);
    assert_eq!(first.invoice.items[0].unit_cost, Some(dec!(1500.00)));
    assert_eq!(first.invoice.items[2].quantity, Some(dec!(2.5)));
    assert_eq!(first.checks.lines[0].gross, Some(dec!(3600.00)));
    let rows: Vec<u64> = first.rows.iter().map(|r| r.row).collect();
    assert_eq!(rows, vec![5, 6, 7]);
    let o = first
        .origin("items[2].quantity")
        .expect("an origin for every mapped field");
    assert_eq!(
        (o.row.row, &*o.column, o.col_idx),
        (7, "Количество", Some(6))
    );
    assert_eq!(first.origin("customer.tax_id").unwrap().row.row, 5);
    assert_eq!(
        &*first.origin("checks.lines[1].vat").unwrap().column,
        "Сумма НДС"
    );
    assert!(first.problems.is_empty(), "{:?}", first.problems);
    // The bad quantity is a problem at its cell.
    let bad = ds
        .iter()
        .find(|d| d.invoice.number.as_deref() == Some("МТ-000192"))
        .unwrap();
    let p = &bad.problems[0];
    assert_eq!(
        (p.code, p.field.as_str()),
        ("bad_decimal", "items[0].quantity")
    );
    let cell = p.cell.as_ref().unwrap();
    assert_eq!((cell.row.row, &*cell.column), (72, "Количество"));
    assert_eq!(p.found.as_deref(), Some("десять"));
    assert!(p.expected.as_deref().unwrap().contains("1 234,56"));
    // The 12% HoReCa lines keep their rate for validation to judge by date.
    let horeca = ds
        .iter()
        .find(|d| d.invoice.number.as_deref() == Some("МТ-000190"))
        .unwrap();
    assert_eq!(
        horeca.invoice.items[0].taxes[0]
            .tax_rate
            .as_ref()
            .unwrap()
            .0,
        "tva12"
    );
}

fn shuffled(text: &str, header_lines: usize, seed: u64) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let (head, body) = lines.split_at(header_lines);
    let mut body: Vec<&str> = body.to_vec();
    // A small LCG: deterministic, no extra dependency.
    let mut s = seed;
    for i in (1..body.len()).rev() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        body.swap(i, (s >> 33) as usize % (i + 1));
    }
    head.concat() + &body.concat()
}

/// A draft's content independent of row order: lines sorted, row numbers dropped.
fn content(d: &Draft) -> serde_json::Value {
    let mut v = draft_view(d);
    let obj = v.as_object_mut().unwrap();
    obj.remove("rows");
    obj.remove("problems");
    let mut pairs: Vec<(String, String)> = obj["items"]
        .as_array()
        .unwrap()
        .iter()
        .zip(obj["checks"]["lines"].as_array().unwrap())
        .map(|(i, c)| (i.to_string(), c.to_string()))
        .collect();
    pairs.sort();
    obj.insert("items".into(), serde_json::json!(pairs));
    obj.remove("checks");
    let mut codes: Vec<&str> = d.problems.iter().map(|p| p.code).collect();
    codes.sort_unstable();
    obj.insert("codes".into(), serde_json::json!(codes));
    v
}

#[test]
fn grouping_in_any_row_order_gives_the_same_drafts() {
    let m = load("1c-export.toml");
    let sample = root().join("samples/1c-export.csv");
    let (ds, _) = all_drafts(&m, &sample);
    let mut want: Vec<(String, serde_json::Value)> = ds
        .iter()
        .map(|d| (d.source_key.clone(), content(d)))
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    let text = encoding_rs::WINDOWS_1251
        .decode(&std::fs::read(&sample).unwrap())
        .0
        .into_owned();
    let dir = TestDir::new();
    for seed in [1, 2, 3, 42] {
        let p = dir.write(
            format!("shuffled-{seed}.csv"),
            encoding_rs::WINDOWS_1251
                .encode(&shuffled(&text, 4, seed))
                .0,
        );
        let (got, stats) = all_drafts(&m, &p);
        assert_eq!(stats.rows_skipped, 1);
        let mut got: Vec<(String, serde_json::Value)> = got
            .iter()
            .map(|d| (d.source_key.clone(), content(d)))
            .collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(got, want, "seed {seed}");
    }
}

#[test]
fn group_rows_in_source_order_and_disagreements_point_at_the_cell() {
    let dir = TestDir::new();
    let m = dir.write(
        "m.toml",
        "version = 1\n[invoice]\ngroup_by = \"Nr\"\nnumber = \"Nr\"\ndate = { column = \"Date\", date = \"%d.%m.%Y\" }\n[line]\nname = \"Item\"\n",
    );
    let input = dir.write(
        "in.csv",
        "Nr,Date,Item\nA,01.02.2024,x\nB,01.02.2024,y\nA,02.02.2024,z\nA,,w\n,01.02.2024,v\n",
    );
    let m = Mapping::load(&m).unwrap();
    let (ds, _) = all_drafts(&m, &input);
    assert_eq!(ds.len(), 3);
    let b = &ds[0];
    assert_eq!(
        b.invoice.number.as_deref(),
        Some("B"),
        "B's last row comes first"
    );
    let a = &ds[1];
    assert_eq!(
        a.rows.iter().map(|r| r.row).collect::<Vec<_>>(),
        vec![2, 4, 5]
    );
    let names: Vec<&str> = a
        .invoice
        .items
        .iter()
        .filter_map(|i| i.name.as_deref())
        .collect();
    assert_eq!(names, vec!["x", "z", "w"]);
    assert_eq!(a.problems.len(), 1, "an empty cell does not disagree");
    let p = &a.problems[0];
    assert_eq!((p.code, p.field.as_str()), ("group_disagrees", "date"));
    assert_eq!(p.cell.as_ref().unwrap().row.row, 4);
    assert_eq!(p.found.as_deref(), Some("2024-02-02"));
    assert_eq!(p.expected.as_deref(), Some("2024-02-01 (as in row 2)"));
    let orphan = &ds[2];
    assert_eq!(orphan.problems[0].code, "missing_group_key");
    assert_eq!(orphan.source_key, "row:in.csv:6");
}

#[test]
fn workbook_and_webshop_samples() {
    let m = load("workbook.toml");
    let (ds, stats) = all_drafts(&m, &root().join("samples/workbook.xlsx"));
    assert_eq!(ds.len(), 12);
    assert_eq!(stats.rows_skipped, 1, "the TOTAL row");
    let f1 = &ds[0];
    assert_eq!(f1.source_key, "row:workbook.xlsx:Facturi 2024:5");
    assert_eq!(f1.invoice.items.len(), 2);
    assert_eq!(
        f1.invoice.due_date,
        chrono::NaiveDate::from_ymd_opt(2024, 2, 14)
    );
    assert_eq!(f1.payments[0].amount, Some(dec!(4237.92)));
    assert_eq!(f1.payments[0].currency.as_deref(), Some("MDL"));
    assert_eq!(
        f1.checks.subtotal,
        Some(dec!(3924)),
        "the formula's cached value"
    );
    assert_eq!(f1.match_on, MatchOn::TaxId);
    let o = f1.origin("items[1].quantity").unwrap();
    assert_eq!(
        (o.row.sheet.as_deref(), o.row.row, &*o.column),
        (Some("Facturi 2024"), 5, "Cant. 2")
    );
    let nc = ds.iter().find(|d| d.kind == DocKind::CreditNote).unwrap();
    assert_eq!(nc.invoice.items[0].quantity, Some(dec!(20)));
    let codes: Vec<&str> = ds
        .iter()
        .flat_map(|d| d.problems.iter().map(|p| p.code))
        .collect();
    assert_eq!(codes, vec!["bad_date", "not_in_lookup"]);

    let m = load("webshop.toml");
    let (ds, _) = all_drafts(&m, &root().join("samples/webshop.json"));
    assert_eq!(ds.len(), 7);
    assert_eq!(ds[0].invoice.items.len(), 3);
    assert_eq!(ds[0].invoice.number.as_deref(), Some("WEB-10231"));
    assert_eq!(ds[0].customer.city.as_deref(), Some("Chișinău"));
    assert_eq!(
        ds[1].invoice.items[0].discounts[0].amount,
        Some(dec!(111.00))
    );
    assert_eq!(ds[1].customer.tax_id.as_deref(), Some("1003600033217"));
    assert_eq!(ds[3].kind, DocKind::CreditNote);
    assert_eq!(ds[5].problems[0].code, "bad_decimal");
    assert_eq!(
        &*ds[5].problems[0].cell.as_ref().unwrap().column,
        "line.qty"
    );
}

#[test]
fn compile_errors_show_file_line_column_and_did_you_mean() {
    let dir = TestDir::new();
    let m = dir.write(
        "m.toml",
        "version = 1\n\n[invoice]\nnumber = { column = \"Nomer\" }\ndate = \"Data\"\n",
    );
    let input = dir.write("in.csv", "Номер;Дата;Nomer2\n1;2;3\n");
    let m = Mapping::load(&m).unwrap();
    let err = drafts(&m, &[input]).unwrap_err();
    assert!(matches!(err, MappingError::Invalid(_)));
    assert!(!err.is_input());
    let msg = err.to_string();
    assert!(msg.contains("m.toml:4:21: no column \"Nomer\" in"), "{msg}");
    assert!(msg.contains("4 | number = { column = \"Nomer\" }"), "{msg}");
    assert!(msg.contains("  |                     ^^^^^^^"), "{msg}");
    assert!(
        msg.contains("did you mean \"Номер\"?"),
        "transliterated: {msg}"
    );
    assert!(
        msg.contains("m.toml:5:8: no column \"Data\""),
        "a bare string points at itself: {msg}"
    );
    // An unreadable input is not the mapping's fault.
    let err = drafts(&m, &[dir.join("missing.csv")]).unwrap_err();
    assert!(err.is_input());
    assert!(err.to_string().contains("missing.csv"), "{err}");
}

#[test]
fn identity_ignores_layout_but_not_content() {
    let dir = TestDir::new();
    let a = dir.write("a.toml", "version = 1\n[invoice]\nnumber = \"Nr\"\n");
    let b = dir.write(
        "b.toml",
        "# a comment\nversion   = 1\n\n[invoice]\nnumber = { column = \"Nr\" }\n",
    );
    let c = dir.write("c.toml", "version = 1\n[invoice]\nnumber = \"No\"\n");
    let (a, b, c) = (
        Mapping::load(&a).unwrap(),
        Mapping::load(&b).unwrap(),
        Mapping::load(&c).unwrap(),
    );
    assert_eq!(
        a.identity(),
        Mapping::load(&dir.join("a.toml")).unwrap().identity()
    );
    assert_ne!(a.identity(), c.identity());
    // A bare string and its table form are different text, same meaning; the
    // identity follows the canonical text, so they differ: only layout is ignored.
    assert_ne!(a.identity(), b.identity());
    let a2 = dir.write(
        "a2.toml",
        "version = 1 # v\n\n[invoice]\n  number = \"Nr\"\n",
    );
    assert_eq!(a.identity(), Mapping::load(&a2).unwrap().identity());
}

#[test]
fn lookup_files_wide_layouts_templates_and_transforms() {
    let dir = TestDir::new();
    dir.write("rates.csv", "code,id\nA,tva20\nB,tva8\n");
    let m = dir.write(
        "m.toml",
        r#"version = 1
[invoice]
number = { template = "{Serie}-{Nr}" }
notes = { column = "Note", replace = [{ from = "\\s+", to = " ", regex = true }, { from = "x", to = "y" }], transform = ["trim", "upper"] }
purchase_order = { column = "PO", regex = "PO-(\\d+)" }
draft = { column = "Ciorna", bool = "ro" }
[invoice.metadata]
year = { column = "Data", regex = "(\\d{4})$", integer = true }
[line]
wide = { from = 1 }
name = "Item{n}"
quantity = { column = "Qty{n}", decimal = "ro", default = "1" }
taxes = { column = "Vat{n}", lookup_file = { path = "rates.csv", key = "code", value = "id" } }
"#,
    );
    let input = dir.write(
        "in.csv",
        "Serie;Nr;Note;PO;Ciorna;Data;Item1;Qty1;Vat1;Item2;Qty2;Vat2;Item3;Qty3;Vat3\nAB;12; x  y ;ref PO-778;da;05.01.2024;Pâine;1.000,5;a;;;;Lapte;;B\n",
    );
    let m = Mapping::load(&m).unwrap();
    let (ds, _) = all_drafts(&m, &input);
    let d = &ds[0];
    assert!(d.problems.is_empty(), "{:?}", d.problems);
    assert_eq!(d.invoice.number.as_deref(), Some("AB-12"));
    assert_eq!(
        d.invoice.notes.as_deref(),
        Some("X Y"),
        "transforms, then replacements"
    );
    assert_eq!(d.invoice.purchase_order.as_deref(), Some("778"));
    assert_eq!(d.invoice.draft, Some(true));
    assert_eq!(
        d.invoice.metadata.get("year").map(String::as_str),
        Some("2024")
    );
    assert_eq!(&*d.origin("number").unwrap().column, "Serie");
    assert_eq!(d.invoice.items.len(), 2, "the empty slot 2 is dropped");
    assert_eq!(d.invoice.items[0].quantity, Some(dec!(1000.5)));
    assert_eq!(
        d.invoice.items[0].taxes[0].tax_rate.as_ref().unwrap().0,
        "tva20"
    );
    assert_eq!(d.invoice.items[1].name.as_deref(), Some("Lapte"));
    assert_eq!(d.invoice.items[1].quantity, Some(dec!(1)), "the default");
    assert_eq!(&*d.origin("items[1].taxes").unwrap().column, "Vat3");
    // The lookup file is part of the identity.
    let before = m.identity().to_string();
    dir.write("rates.csv", "code,id\nA,tva20\nB,tva0\n");
    assert_ne!(
        Mapping::load(&dir.join("m.toml")).unwrap().identity(),
        before
    );
}

#[test]
fn cli_check_test_and_init_on_every_sample() {
    let dir = TestDir::new();
    for (m, sample) in [
        ("1c-export.toml", "1c-export.csv"),
        ("workbook.toml", "workbook.xlsx"),
        ("webshop.toml", "webshop.json"),
    ] {
        let mp = root().join("mappings").join(m);
        let sp = root().join("samples").join(sample);
        let out = bin(dir.path())
            .args(["mapping", "test"])
            .arg(&mp)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{m}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("ok ") && !stdout.contains("FAILED"),
            "{stdout}"
        );

        let out = bin(dir.path())
            .args(["mapping", "check"])
            .arg(&mp)
            .arg("--sample")
            .arg(&sp)
            .args(["--preview", "2"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{m}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            stdout.lines().filter(|l| !l.starts_with(' ')).count(),
            2,
            "{stdout}"
        );
        let out = bin(dir.path())
            .args(["--json", "mapping", "check"])
            .arg(&mp)
            .arg("--sample")
            .arg(&sp)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["identity"].as_str(), Some(load(m).identity()));
        assert_eq!(v["documents"].as_array().unwrap().len(), 3);

        // init writes a mapping that checks against the same file.
        let guessed = dir.join(format!("guessed-{m}"));
        let out = bin(dir.path())
            .args(["mapping", "init"])
            .arg(&sp)
            .arg("-o")
            .arg(&guessed)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{m}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = bin(dir.path())
            .args(["mapping", "check"])
            .arg(&guessed)
            .arg("--sample")
            .arg(&sp)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{m}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&guessed).unwrap()
        );
        // And does not overwrite without --force.
        let out = bin(dir.path())
            .args(["mapping", "init"])
            .arg(&sp)
            .arg("-o")
            .arg(&guessed)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    }
}

#[test]
fn init_guesses_the_1c_layout() {
    let text = mapping::init::guess(&root().join("samples/1c-export.csv")).unwrap();
    for want in [
        "encoding = \"windows-1251\"",
        "delimiter = \";\"",
        "header_row = 4",
        "group_by = \"Номер\"",
        "number = { column = \"Номер\"",
        "date = { column = \"Дата\", date = \"%d.%m.%Y\" }",
        "tax_id = { column = \"IDNO\"",
        "quantity = { column = \"Количество\", decimal = \"ru\" }",
        "\"20%\" = \"tva20\"",
        "skip_rows_matching = { column = \"Номер\", regex = '^(?i)\\s*(итого",
    ] {
        assert!(text.contains(want), "{want:?} not in\n{text}");
    }
    let dir = TestDir::new();
    let p = dir.write("guessed.toml", &text);
    let m = Mapping::load(&p).unwrap();
    let (ds, stats) = all_drafts(&m, &root().join("samples/1c-export.csv"));
    assert_eq!(ds.len(), 28);
    assert_eq!(stats.rows_skipped, 1);
}

#[test]
fn the_reference_mentions_every_key() {
    let readme = std::fs::read_to_string(root().join("mappings/README.md")).unwrap();
    for (table, keys) in facturare_etl::mapping::spec::KEYS {
        for k in *keys {
            assert!(
                readme.contains(&format!("`{k}`")),
                "mappings/README.md does not mention `{k}` ({table})"
            );
        }
    }
    for names in [
        facturare_etl::mapping::spec::TRANSFORMS,
        facturare_etl::mapping::spec::DECIMAL_LOCALES,
        facturare_etl::mapping::spec::BOOL_LANGS,
    ] {
        for n in names {
            assert!(
                readme.contains(&format!("`{n}`")),
                "mappings/README.md does not mention `{n}`"
            );
        }
    }
}

#[test]
fn negative_totals_become_credit_notes_and_payments_need_an_amount() {
    let dir = TestDir::new();
    let m = dir.write(
        "m.toml",
        r#"version = 1
[invoice]
group_by = "Nr"
number = "Nr"
credit_note_when_negative = true
check_total = { column = "Total", decimal = "comma" }
[line]
name = "Item"
quantity = { column = "Qty", decimal = "comma" }
unit_cost = { column = "Price", decimal = "comma" }
check_net = { column = "Net", decimal = "comma" }
[[payment]]
amount = { column = "Paid", decimal = "comma" }
method = { value = "cash" }
[[payment]]
amount = { column = "Paid2", decimal = "comma" }
date = { column = "Paid2 on", date = "%d.%m.%Y" }
"#,
    );
    let input = dir.write(
        "in.csv",
        "Nr;Item;Qty;Price;Net;Total;Paid;Paid2;Paid2 on\nR-1;Retur;-2;10,00;-20,00;-24,00;;;\nF-1;Marfa;3;10,00;30,00;36,00;0;36,00;02.03.2024\n",
    );
    let m = Mapping::load(&m).unwrap();
    let (ds, _) = all_drafts(&m, &input);
    let r = &ds[0];
    assert_eq!(r.kind, DocKind::CreditNote);
    assert_eq!(r.invoice.items[0].quantity, Some(dec!(2)));
    assert_eq!(r.checks.lines[0].net, Some(dec!(20.00)));
    assert_eq!(r.checks.total, Some(dec!(24.00)));
    assert!(r.payments.is_empty(), "no amount, no payment");
    let f = &ds[1];
    assert_eq!(f.kind, DocKind::Invoice);
    assert_eq!(f.payments.len(), 1, "a zero amount is no payment");
    assert_eq!(f.payments[0].amount, Some(dec!(36.00)));
    assert_eq!(
        f.payments[0].date,
        chrono::NaiveDate::from_ymd_opt(2024, 3, 2)
    );
    assert_eq!(
        &*f.origin("payments[0].amount").unwrap().column,
        "Paid2",
        "origins follow the kept payment"
    );
    assert!(f.origin("payments[1].amount").is_none());
}

#[test]
fn json_lines_grouped_by_a_column() {
    let dir = TestDir::new();
    let m = dir.write(
        "m.toml",
        "version = 1\n[source]\nformat = \"jsonl\"\n[invoice]\ngroup_by = \"order\"\nnumber = \"order\"\n[line]\nname = \"sku\"\nquantity = \"qty\"\n",
    );
    let input = dir.write(
        "in.ndjson",
        "{\"order\": \"A\", \"sku\": \"x\", \"qty\": 1}\n{\"order\": \"B\", \"sku\": \"y\", \"qty\": 2.5}\n{oops\n{\"order\": \"A\", \"sku\": \"z\", \"qty\": 3}\n",
    );
    let m = Mapping::load(&m).unwrap();
    let (ds, stats) = all_drafts(&m, &input);
    assert_eq!(stats.row_errors, 1);
    let keys: Vec<&str> = ds.iter().map(|d| d.source_key.as_str()).collect();
    assert_eq!(keys, vec!["group:B", "row:in.ndjson:3", "group:A"]);
    assert_eq!(ds[1].problems[0].code, "unreadable_row");
    assert_eq!(ds[1].problems[0].field, "row");
    let shown = ds[1].problems[0].to_string();
    assert!(
        shown.contains("in.ndjson row 3: row: invalid JSON") && !shown.contains(": : "),
        "{shown}"
    );
    assert_eq!(ds[2].invoice.items.len(), 2);
    assert_eq!(
        ds[2].rows.iter().map(|r| r.row).collect::<Vec<_>>(),
        vec![1, 4]
    );
    assert_eq!(ds[0].invoice.items[0].quantity, Some(dec!(2.5)));
}

#[test]
fn customer_types_are_read_in_any_case_and_others_point_at_their_cell() {
    let dir = TestDir::new();
    let m = dir.write(
        "m.toml",
        r#"version = 1
[invoice]
number = "Nr"
[customer]
name = "Client"
type = "Tip"
[line]
name = "Item"
"#,
    );
    let input = dir.write(
        "in.csv",
        "Nr,Client,Tip,Item\nF-1,SRL Alfa, Company ,Pâine\nF-2,Ion Popa,persoana,Lapte\n",
    );
    let m = Mapping::load(&m).unwrap();
    let (ds, _) = all_drafts(&m, &input);
    assert_eq!(
        ds[0].customer.kind,
        Some(facturare_etl::model::CustomerType::Company)
    );
    assert!(ds[0].problems.is_empty(), "{:?}", ds[0].problems);
    assert_eq!(ds[1].customer.kind, None);
    let p = &ds[1].problems[0];
    assert_eq!(
        (p.code, p.field.as_str()),
        ("bad_customer_type", "customer.type")
    );
    assert_eq!(p.found.as_deref(), Some("persoana"));
    let cell = p.cell.as_ref().expect("the cell");
    assert_eq!((&*cell.column, cell.row.row), ("Tip", 3));
    assert_eq!(ds[1].customer.name.as_deref(), Some("Ion Popa"));
}

#[test]
fn documents_before_an_undecodable_row_come_out_before_its_error() {
    let dir = TestDir::new();
    let m = dir.write(
        "m.toml",
        r#"version = 1
[source]
encoding = "utf-8"
[invoice]
number = "Nr"
[line]
name = "Item"
"#,
    );
    let input = dir.path().join("in.csv");
    std::fs::write(&input, b"Nr,Item\nF-1,a\nF-2,b\nF-3,\xff\nF-4,d\n").unwrap();
    let m = Mapping::load(&m).unwrap();
    let items: Vec<_> = mapping::drafts(&m, std::slice::from_ref(&input))
        .unwrap()
        .collect();
    let numbers: Vec<_> = items
        .iter()
        .map_while(|r| r.as_ref().ok())
        .map(|d| d.invoice.number.clone().unwrap_or_default())
        .collect();
    assert_eq!(numbers, ["F-1", "F-2"]);
    let err = items[2].as_ref().expect_err("the bad bytes stop the file");
    assert!(err.to_string().contains("line 4"), "{err}");
    assert_eq!(items.len(), 3, "nothing after the error");
}
