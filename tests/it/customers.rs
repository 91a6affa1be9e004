//! Customers resolved across the batch, end to end: a 1C register written
//! here (Windows-1251, `;`, decimal commas, lines shuffled) with planted
//! customer defects, checked by the dry run and then imported over loopback;
//! the number of documents the dry run calls valid is the number of
//! invoices the account holds afterwards, and the account's customers are
//! the batch's merged customers.

use crate::support::{bin, list_all, TestDir, TestEmulator};
use facturare_etl::model::idno::check_digit;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn idno(seed: u64) -> String {
    let first: String = format!("100{:09}", seed % 1_000_000_000);
    let mut d = [0u32; 12];
    for (i, c) in first.chars().enumerate() {
        d[i] = c.to_digit(10).unwrap();
    }
    format!("{first}{}", check_digit(&d))
}

/// `1 234,50` from a decimal, as 1C writes it.
fn ru(d: Decimal) -> String {
    let s = format!("{:.2}", d);
    let (int, frac) = s.split_once('.').unwrap();
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(' ');
        }
        grouped.push(ch);
    }
    format!("{grouped},{frac}")
}

fn round(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// One document of the register: its number, customer code, name (maybe
/// blank), IDNO, and lines (item, quantity, price, VAT %).
#[derive(Clone)]
struct Doc {
    number: String,
    date: String,
    code: String,
    name: String,
    idno: String,
    lines: Vec<(String, Decimal, Decimal, u32)>,
}

/// How the register's defects are placed.
#[derive(Clone, Copy, Debug)]
enum Place {
    /// The document with the blank name comes before its customer's other one.
    BlankFirst,
    /// ... after it.
    BlankLast,
}

/// Forty documents over twelve customers, with defects planted: customer
/// К-0003 has a blank name on one of its two documents, К-0007 has another
/// IDNO on one of its documents, К-0009 has no name anywhere, and one
/// quantity is a word.
fn register(seed: u64, place: Place) -> (Vec<Doc>, BTreeMap<&'static str, &'static str>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let names = [
        "ООО «Агроком»",
        "SRL «Lactis Grup»",
        "ИП Попеску",
        "ООО «Молдтехсервис»",
        "SA «Moldtelecom»",
        "ООО «Хлебпром»",
        "SRL «Vinaria Bostavan»",
        "ООО «Кодру-Транс»",
        "ЧП «Ромашка»",
        "SRL «Fabrica de Paine»",
        "ООО «Электромонтаж»",
        "SRL «Dacia Logistic»",
    ];
    let items = [
        ("Услуги по обслуживанию оборудования", 20, "1500.00"),
        ("Картридж HP 85A", 20, "1000.50"),
        ("Хлеб «Франзелуца» 400 г", 8, "9.40"),
        ("Молоко 2,5% 1 л", 8, "18.75"),
        ("Бумага A4, 500 л.", 20, "78.90"),
        ("Доставка", 20, "350.00"),
    ];
    let mut docs = Vec::new();
    for i in 0..40u64 {
        // Customers 3 and 9 appear on fixed documents; the rest at random.
        let c = match i {
            5 | 30 => 3,
            12 => 9,
            20 | 21 => 7,
            _ => loop {
                let c = rng.gen_range(0..12);
                if c != 3 && c != 9 && c != 7 {
                    break c;
                }
            },
        };
        let n_lines = rng.gen_range(1..=4);
        let lines = (0..n_lines)
            .map(|_| {
                let (item, vat, price) = items[rng.gen_range(0..items.len())];
                let q = Decimal::from(rng.gen_range(1..20)) / Decimal::from(2);
                (item.to_string(), q, Decimal::from_str(price).unwrap(), vat)
            })
            .collect();
        docs.push(Doc {
            number: format!("МТ-{:06}", 100 + i),
            date: format!("{:02}.{:02}.2024", 1 + i % 28, 1 + i % 12),
            code: format!("К-{:04}", c + 1),
            name: names[c as usize].to_string(),
            idno: idno(c * 7919 + 3),
            lines,
        });
    }
    // К-0003's documents are 5 and 30: one of them has its name blank.
    let blank = match place {
        Place::BlankFirst => 5,
        Place::BlankLast => 30,
    };
    let mut expect = BTreeMap::new();
    docs[blank].name = String::new();
    expect.insert("К-0004", names[3]);
    // К-0010 never has a name: its only document is rejected.
    docs[12].name = String::new();
    // К-0008 (documents 20 and 21): document 21 states another IDNO.
    docs[21].idno = idno(424_242);
    (docs, expect)
}

const HEADER: &str = "Номер;Дата;Код контрагента;Контрагент;IDNO;Номенклатура;Количество;Цена;Ставка НДС;Сумма без НДС;Сумма НДС;Сумма;Валюта";

/// The register's rows, lines shuffled, one quantity written as a word;
/// the rows of the document numbered `first` first, of `last` last.
fn rows(docs: &[Doc], seed: u64, place: Place) -> Vec<String> {
    let mut rows = Vec::new();
    for d in docs {
        for (j, (item, q, p, vat)) in d.lines.iter().enumerate() {
            let net = round(q * p);
            let v = round(net * Decimal::from(*vat) / Decimal::ONE_HUNDRED);
            let qty = if d.number == "МТ-000133" && j == 0 {
                "десять".to_string()
            } else {
                ru(*q).trim_end_matches(",00").to_string()
            };
            rows.push(format!(
                "{};{};{};{};{};{item};{qty};{};{vat}%;{};{};{};MDL",
                d.number,
                d.date,
                d.code,
                d.name,
                d.idno,
                ru(*p),
                ru(net),
                ru(v),
                ru(net + v)
            ));
        }
    }
    rows.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed ^ 0xC0FFEE));
    let (blank, others): (Vec<String>, Vec<String>) = rows.into_iter().partition(|r| {
        let d = match place {
            Place::BlankFirst => "МТ-000105;",
            Place::BlankLast => "МТ-000130;",
        };
        r.starts_with(d)
    });
    match place {
        Place::BlankFirst => blank.into_iter().chain(others).collect(),
        Place::BlankLast => others.into_iter().chain(blank).collect(),
    }
}

fn write_register(dir: &TestDir, name: &str, rows: &[String]) -> PathBuf {
    let mut text =
        String::from("Реестр документов «Реализация товаров и услуг»\nОрганизация: ООО «Тест»\n\n");
    text.push_str(HEADER);
    text.push('\n');
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    let (bytes, _, lossy) = encoding_rs::WINDOWS_1251.encode(&text);
    assert!(!lossy, "the register is Windows-1251 text");
    dir.write(name, &bytes)
}

fn json(out: &std::process::Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)))
}

/// The errors list as (document, code, severity, column) rows.
fn errors_list(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn the_dry_run_valid_count_is_what_the_account_holds() {
    let mapping = repo("mappings/1c-export.toml");
    for (seed, place, two_files) in [
        (1, Place::BlankFirst, false),
        (2, Place::BlankLast, false),
        (3, Place::BlankFirst, true),
        (4, Place::BlankLast, true),
    ] {
        let what = format!("seed {seed}, {place:?}, two files: {two_files}");
        let dir = TestDir::new();
        let (docs, named) = register(seed, place);
        let all = rows(&docs, seed, place);
        let files: Vec<PathBuf> = if two_files {
            // Each document's rows in one file: the blank-name document and
            // its customer's other document in different files.
            let (a, b): (Vec<&Doc>, Vec<&Doc>) =
                docs.iter().partition(|d| d.number.as_str() < "МТ-000120");
            let part = |ds: Vec<&Doc>| {
                let owned: Vec<Doc> = ds.into_iter().cloned().collect();
                rows(&owned, seed, place)
            };
            vec![
                write_register(&dir, "jan.csv", &part(a)),
                write_register(&dir, "feb.csv", &part(b)),
            ]
        } else {
            vec![write_register(&dir, "register.csv", &all)]
        };
        let out = bin(dir.path())
            .arg("validate")
            .args(&files)
            .arg("--mapping")
            .arg(&mapping)
            .args(["--errors", "errors.csv", "--json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{what}");
        let s = json(&out);
        assert_eq!(s["invoices_formed"], 40, "{what}: {s}");
        // Rejected: the word quantity, the other IDNO, the nameless customer.
        assert_eq!(s["rejected"], 3, "{what}: {s}");
        let valid = s["valid"].as_u64().unwrap();
        assert_eq!(s["customers"]["rejected"], 2, "{what}: {s}");
        assert_eq!(s["customers"]["with_conflicts"], 1, "{what}: {s}");
        let errors = errors_list(&dir.join("errors.csv"));
        let find = |doc: &str, code: &str| {
            errors
                .iter()
                .find(|e| e["document"] == doc && e["code"] == code)
                .unwrap_or_else(|| panic!("{what}: no {code} on {doc} in {errors:?}"))
                .clone()
        };
        let blank_doc = match place {
            Place::BlankFirst => "МТ-000105",
            Place::BlankLast => "МТ-000130",
        };
        let filled = find(blank_doc, "customer_filled");
        assert_eq!(filled["severity"], "warning");
        assert_eq!(filled["column"], "Контрагент", "the blank cell is named");
        assert!(
            filled["message"].contains("ООО «Молдтехсервис»"),
            "{filled:?}"
        );
        let incomplete = find("МТ-000112", "customer_incomplete");
        assert_eq!(incomplete["severity"], "error");
        assert_eq!(incomplete["column"], "Контрагент");
        // The second of К-0008's documents in input order disagrees.
        let conflict = errors
            .iter()
            .find(|e| e["code"] == "customer_disagrees")
            .unwrap_or_else(|| panic!("{what}: no conflict in {errors:?}"));
        assert_eq!(conflict["severity"], "error");
        assert_eq!(conflict["column"], "IDNO");
        let (second, first) = if conflict["document"] == "МТ-000121" {
            (&docs[21], &docs[20])
        } else {
            (&docs[20], &docs[21])
        };
        assert_eq!(conflict["document"], second.number, "{what}");
        assert_eq!(conflict["found"], second.idno, "both values: {conflict:?}");
        assert!(
            conflict["message"].contains(&first.idno) && conflict["message"].contains("row"),
            "both values, both cells: {conflict:?}"
        );

        // The import creates exactly what the dry run called valid.
        let emu = TestEmulator::new();
        let out = bin(dir.path())
            .args(["--api-url", emu.url(), "--json", "import"])
            .args(&files)
            .arg("--mapping")
            .arg(&mapping)
            .env("FACTURARE_API_KEY", emu.key())
            .output()
            .unwrap();
        let outcome = json(&out);
        assert_eq!(outcome["upload"]["rejected"], 0, "{what}: {outcome}");
        assert_eq!(outcome["validation"]["valid"].as_u64(), Some(valid));
        let invoices = list_all(emu.url(), emu.key(), "/invoices");
        assert_eq!(invoices.len() as u64, valid, "{what}");
        // The account's customers are the batch's merged customers.
        let customers = list_all(emu.url(), emu.key(), "/customers");
        let by_number: BTreeMap<&str, &Value> = customers
            .iter()
            .map(|c| (c["number"].as_str().unwrap(), c))
            .collect();
        for (number, name) in &named {
            assert_eq!(by_number[number]["name"], *name, "{what}");
        }
        assert!(
            !by_number.contains_key("К-0010"),
            "the nameless customer is not created"
        );
        // The record's IDNO is the first in input order.
        assert_eq!(by_number["К-0008"]["tax_id"], first.idno, "{what}");
        let customer_of: BTreeMap<i64, &str> = customers
            .iter()
            .map(|c| (c["id"].as_i64().unwrap(), c["number"].as_str().unwrap()))
            .collect();
        for inv in &invoices {
            let number = inv["number"].as_str().unwrap();
            let doc = docs.iter().find(|d| d.number == number).unwrap();
            assert_eq!(
                customer_of[&inv["customer"].as_i64().unwrap()],
                doc.code,
                "{what}: {number}"
            );
        }
    }
}

/// The mapping of the generated batches: every customer field the API
/// checks, and lines with their amounts and rates.
const PROP_MAPPING: &str = r#"
version = 1
[source]
format = "csv"
delimiter = ";"
encoding = "utf-8"
[invoice]
group_by = "doc"
number = { column = "doc" }
date = { column = "date", date = "%d.%m.%Y" }
currency = { column = "currency", default = "MDL" }
[invoice.metadata]
note = { column = "note" }
[customer]
match_on = "number"
number = { column = "code" }
name = { column = "name" }
tax_id = { column = "idno" }
email = { column = "email" }
country = { column = "country" }
[line]
name = { column = "item" }
quantity = { column = "qty", decimal = "ru" }
unit_cost = { column = "price", decimal = "ru" }
taxes = { column = "vat", lookup = { "20%" = "tva20", "8%" = "tva8", "12%" = "tva12", "0%" = "tva0", "5%" = "tva5" } }
"#;

mod property {
    use super::*;
    use facturare_etl::config::{Request, Settings};
    use facturare_etl::ops::{self, DryRunOptions, ImportOptions, Silent};
    use proptest::prelude::*;

    /// Mostly a value from `good`, sometimes one from `odd`.
    fn mostly(
        good: &'static [&'static str],
        odd: &'static [&'static str],
    ) -> impl Strategy<Value = String> {
        prop_oneof![
            12 => proptest::sample::select(good),
            1 => proptest::sample::select(odd),
        ]
        .prop_map(str::to_string)
    }

    /// A customer as one document states it: codes shared between
    /// documents (with other case), names blank or long, IDNOs valid,
    /// wrong or differing, odd e-mails and countries.
    fn customer() -> impl Strategy<Value = [String; 5]> {
        (
            mostly(&["C-1", "c-1", "C-2", "C-3", "C-3"], &[""]),
            mostly(
                &["SRL Alfa", "ООО «Бета»", "Î.I. Gamma", "  SRL  Alfa "],
                &["", "ŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞŞ"],
            ),
            prop_oneof![
                8 => Just(idno(11)),
                1 => Just(idno(22)),
                1 => Just("1008600038412".to_string()),
                1 => Just(String::new()),
            ],
            mostly(&["office@alfa.md", ""], &["not-an-email", "a@b"]),
            mostly(&["MD", "md", ""], &["RO", "XX", "Moldova"]),
        )
            .prop_map(|(a, b, c, d, e)| [a, b, c, d, e])
    }

    fn line() -> impl Strategy<Value = [String; 4]> {
        (
            mostly(&["Hârtie A4", "Хлеб", "Servicii"], &[""]),
            mostly(
                &["1", "2,5", "3"],
                &["0", "-1", "", "десять", "0,0000001", "1000000"],
            ),
            mostly(
                &["100,00", "9,40", "1 250,50"],
                &["", "-5", "1,005", "99 999 999 999,99", "0"],
            ),
            mostly(&["20%", "8%", "0%"], &["12%", "5%", ""]),
        )
            .prop_map(|(a, b, c, d)| [a, b, c, d])
    }

    type Doc = (
        String,
        String,
        String,
        String,
        [String; 5],
        Vec<[String; 4]>,
    );

    fn doc() -> impl Strategy<Value = Doc> {
        (
            prop_oneof![
                12 => (1u32..40).prop_map(|n| format!("F-{n}")),
                1 => (1u32..40).prop_map(|n| format!("f-{n}")),
                1 => Just(format!("F-{}", "9".repeat(40))),
            ],
            mostly(
                &["05.01.2024", "01.06.2023", "15.03.2025"],
                &["31.02.2024", "01.01.2090", ""],
            ),
            mostly(&["MDL", "mdl", "EUR", ""], &["LEI"]),
            mostly(&["1c"], &["nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"]),
            customer(),
            proptest::collection::vec(line(), 1..4),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

        /// What validation passes, the API accepts: every document the dry
        /// run calls valid is created without a single 400, and the import
        /// creates exactly as many.
        #[test]
        fn valid_means_the_api_accepts_it(
            docs in proptest::collection::vec(doc(), 1..9),
            seed in any::<u64>(),
            by_tax_id in any::<bool>(),
        ) {
            let dir = TestDir::new();
            let mut rows = Vec::new();
            for (number, date, currency, note, c, lines) in &docs {
                for l in lines {
                    rows.push(format!(
                        "{number};{date};{currency};{note};{};{};{};{};{};{};{};{};{}",
                        c[0], c[1], c[2], c[3], c[4], l[0], l[1], l[2], l[3]
                    ));
                }
            }
            rows.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
            let mut text = String::from("doc;date;currency;note;code;name;idno;email;country;item;qty;price;vat\n");
            for r in &rows {
                text.push_str(r);
                text.push('\n');
            }
            let file = dir.write("batch.csv", &text);
            let mapping = if by_tax_id {
                PROP_MAPPING.replace("match_on = \"number\"", "match_on = \"tax_id\"")
            } else {
                PROP_MAPPING.to_string()
            };
            let mapping = dir.write("m.toml", mapping);
            let summary = ops::dry_run(
                &DryRunOptions { files: vec![file.clone()], mapping: Some(mapping.clone()), ..DryRunOptions::default() },
                None,
                &Silent,
            ).expect("the dry run runs").summary;

            let emu = TestEmulator::new();
            let settings = Settings::resolve(&Request {
                api_url: Some(emu.url().to_string()),
                api_key_env: Some(emu.key().to_string()),
                data_dir: dir.join(".facturare"),
                ..Request::default()
            }).unwrap();
            let outcome = ops::import(
                &settings,
                &ImportOptions { files: vec![file], mapping: Some(mapping), ..ImportOptions::default() },
                &Silent,
            ).expect("the import runs");
            prop_assert_eq!(outcome.upload.rejected, 0, "a 400 for a valid document: {}", text);
            prop_assert_eq!(outcome.upload.done, summary.valid, "{}", text);
        }
    }

    /// The generator is honest: a sample of its batches holds both valid
    /// and rejected documents, or the property would say nothing.
    #[test]
    fn the_generator_makes_valid_and_rejected_batches() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let (mut valid, mut rejected) = (0, 0);
        for _ in 0..40 {
            let docs = proptest::collection::vec(doc(), 1..9)
                .new_tree(&mut runner)
                .unwrap()
                .current();
            let dir = TestDir::new();
            let mut text = String::from(
                "doc;date;currency;note;code;name;idno;email;country;item;qty;price;vat\n",
            );
            for (number, date, currency, note, c, lines) in &docs {
                for l in lines {
                    text.push_str(&format!(
                        "{number};{date};{currency};{note};{};{};{};{};{};{};{};{};{}\n",
                        c[0], c[1], c[2], c[3], c[4], l[0], l[1], l[2], l[3]
                    ));
                }
            }
            let file = dir.write("batch.csv", text);
            let mapping = dir.write("m.toml", PROP_MAPPING);
            let s = ops::dry_run(
                &DryRunOptions {
                    files: vec![file],
                    mapping: Some(mapping),
                    ..DryRunOptions::default()
                },
                None,
                &Silent,
            )
            .unwrap()
            .summary;
            valid += s.valid;
            rejected += s.rejected;
        }
        assert!(
            valid >= 30 && rejected >= 30,
            "valid {valid}, rejected {rejected}"
        );
    }
}
