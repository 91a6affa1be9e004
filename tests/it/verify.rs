//! `runs verify`, `import --verify` and `export --control-totals`: the real
//! binary against the emulator over loopback, on a 1C register of the
//! corpus (Windows-1251, decimal commas, EUR and MDL, four planted defects).
//! The expected totals are computed here from the source file with plain
//! code of this test (decode, split, multiply, round), never by the code
//! under test; the workbooks are read back with calamine and their cell
//! styles from the XLSX parts.

use crate::support::{bin, Api, TestDir, TestEmulator, TEST_COMPANY, TEST_KEY};
use calamine::{open_workbook, Data, Reader, Xlsx};
use facturare_etl::emulator::{self, Config, KeySpec};
use rust_decimal::prelude::FromPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

const CORPUS: &str = "tests/corpus/1c-realizatsiya-cp1251";
const FILE: &str = "realizatsiya_2024-2025.csv";

/// The test's own model of one document of the source.
#[derive(Debug, Clone, Default)]
struct Doc {
    currency: String,
    month: String,
    customer: String,
    /// (quantity, price, VAT percent) per line.
    lines: Vec<(Decimal, Decimal, Decimal)>,
}

fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// `1 234,50` (spaces or no-break spaces between thousands) as a decimal.
fn ru(s: &str) -> Decimal {
    let t: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    t.parse().unwrap_or_else(|_| panic!("a number: {s:?}"))
}

impl Doc {
    /// (net, VAT, gross): each line's amount and VAT rounded, then summed.
    fn sums(&self) -> (Decimal, Decimal, Decimal) {
        let (mut net, mut vat) = (Decimal::ZERO, Decimal::ZERO);
        for (q, p, rate) in &self.lines {
            let n = round2(q * p);
            net += n;
            vat += round2(n * rate / Decimal::ONE_HUNDRED);
        }
        (net, vat, net + vat)
    }
}

/// The documents of the corpus file that validation passes (the planted
/// defects named in its `expected.toml` left out), by number.
fn source_docs() -> BTreeMap<String, Doc> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(CORPUS);
    let expected: toml::Value =
        toml::from_str(&std::fs::read_to_string(root.join("expected.toml")).unwrap()).unwrap();
    let defects: BTreeSet<String> = expected["defect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["document"].as_str().unwrap().to_string())
        .collect();
    let bytes = std::fs::read(root.join(FILE)).unwrap();
    let (text, _, bad) = encoding_rs::WINDOWS_1251.decode(&bytes);
    assert!(!bad);
    let body: String = text.lines().skip(3).collect::<Vec<_>>().join("\n");
    let mut rd = csv::ReaderBuilder::new()
        .delimiter(b';')
        .flexible(true)
        .from_reader(body.as_bytes());
    let headers = rd.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (num, date, code, qty, price, rate, cur) = (
        col("Номер"),
        col("Дата"),
        col("Код контрагента"),
        col("Количество"),
        col("Цена"),
        col("Ставка НДС"),
        col("Валюта"),
    );
    let mut docs: BTreeMap<String, Doc> = BTreeMap::new();
    for r in rd.records() {
        let r = r.unwrap();
        let number = r[num].trim().to_string();
        if number.is_empty() || number.starts_with("Итого") || defects.contains(&number) {
            continue;
        }
        let (d, m, y) = {
            let p: Vec<&str> = r[date].trim().split('.').collect();
            (p[0].to_string(), p[1].to_string(), p[2].to_string())
        };
        assert_eq!(d.len(), 2);
        let percent = match r[rate].trim() {
            "Без НДС" => Decimal::ZERO,
            p => p.trim_end_matches('%').parse().unwrap(),
        };
        let doc = docs.entry(number).or_default();
        doc.currency = match r[cur].trim() {
            "" => "MDL".into(),
            c => c.to_uppercase(),
        };
        doc.month = format!("{y}-{m}");
        doc.customer = r[code].trim().to_string();
        doc.lines.push((ru(&r[qty]), ru(&r[price]), percent));
    }
    assert_eq!(docs.len(), 56, "the corpus says 56 valid documents");
    docs
}

/// Counts and sums per key.
type Totals = BTreeMap<(String, String), (u64, Decimal, Decimal, Decimal)>;

fn totals_by(docs: &BTreeMap<String, Doc>, key: impl Fn(&Doc) -> String) -> Totals {
    let mut out = Totals::new();
    for d in docs.values() {
        let (n, v, g) = d.sums();
        let e = out.entry((d.currency.clone(), key(d))).or_default();
        e.0 += 1;
        e.1 += n;
        e.2 += v;
        e.3 += g;
    }
    out
}

struct Fixture {
    dir: TestDir,
    emu: TestEmulator,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = TestDir::new();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(CORPUS);
        for f in [FILE, "mapping.toml"] {
            std::fs::copy(root.join(f), dir.join(f)).unwrap();
        }
        let emu = TestEmulator::start(Config {
            db: Some(dir.join("emulator.db")),
            ..Config::default()
        });
        Fixture { dir, emu }
    }

    fn run(&self, url: &str, args: &[&str]) -> (i32, String, String) {
        let out = bin(self.dir.path())
            .env("FACTURARE_API_KEY", self.emu.key())
            .arg("--api-url")
            .arg(url)
            .args(args)
            .timeout(Duration::from_secs(240))
            .output()
            .expect("the binary runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn cmd(&self, args: &[&str]) -> (i32, String, String) {
        self.run(self.emu.url(), args)
    }

    fn import(&self, extra: &[&str]) -> (i32, String, String) {
        let mut args = vec!["import", FILE, "--mapping", "mapping.toml"];
        args.extend(extra);
        self.cmd(&args)
    }
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The invoice numbered `number` on the account.
async fn invoice(api: &Api, number: &str) -> Value {
    let resp = api
        .get(&format!("/invoices?filter[number]={number}"))
        .send()
        .await
        .unwrap();
    let v: Vec<Value> = resp.json().await.unwrap();
    v.into_iter()
        .next()
        .unwrap_or_else(|| panic!("{number} on the account"))
}

/// The emulator served again on `port` (the ledger names the account by its
/// URL), from the data file as the first one left it.
struct OnPort {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OnPort {
    fn start(port: u16, mut config: Config) -> OnPort {
        config.keys.push(KeySpec::new(TEST_KEY, TEST_COMPANY));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                    .await
                    .expect("the port again");
                let _ = ready_tx.send(());
                emulator::serve(listener, config, async move {
                    let _ = stop_rx.await;
                })
                .await
                .expect("the emulator serves");
            });
        });
        ready_rx.recv().expect("the emulator is listening");
        OnPort {
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for OnPort {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn cell_decimal(c: Option<&Data>) -> Decimal {
    match c {
        Some(Data::Float(f)) => round2(Decimal::from_f64(*f).unwrap()),
        Some(Data::Int(i)) => Decimal::from(*i),
        other => panic!("a number, found {other:?}"),
    }
}

fn cell_text(c: Option<&Data>) -> String {
    match c {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Empty) | None => String::new(),
        other => panic!("text, found {other:?}"),
    }
}

fn zip_part(path: &Path, name: &str) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut s = String::new();
    z.by_name(name)
        .unwrap_or_else(|_| panic!("{name} in {}", path.display()))
        .read_to_string(&mut s)
        .unwrap();
    s
}

/// The cells of sheet number `n` (1-based) filled with the marking red.
fn marked_cells(path: &Path, n: usize) -> BTreeSet<String> {
    let sheet = zip_part(path, &format!("xl/worksheets/sheet{n}.xml"));
    let styles = zip_part(path, "xl/styles.xml");
    let fills: Vec<&str> = styles[styles.find("<fills").unwrap()..styles.find("</fills>").unwrap()]
        .split("<fill>")
        .skip(1)
        .collect();
    let xfs = &styles[styles.find("<cellXfs").unwrap()..];
    let red: BTreeSet<usize> = xfs
        .split("<xf ")
        .skip(1)
        .enumerate()
        .filter(|(_, xf)| {
            let id: usize = xf
                .split("fillId=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            fills.get(id).is_some_and(|f| f.contains("FFC7CE"))
        })
        .map(|(i, _)| i)
        .collect();
    sheet
        .split("<c r=\"")
        .skip(1)
        .filter_map(|c| {
            let r = c.split('"').next()?.to_string();
            let tag = &c[..c.find('>')?];
            let s: usize = tag.split(" s=\"").nth(1)?.split('"').next()?.parse().ok()?;
            red.contains(&s).then_some(r)
        })
        .collect()
}

/// The rows of a sheet as (currency, key) → (documents, net, VAT, gross) of
/// one side: `side` 0 source, 1 account, 2 difference; `keys` how many key
/// columns come before Kind and Currency.
fn sheet_totals(range: &calamine::Range<Data>, keys: usize, side: usize) -> Totals {
    let mut out = Totals::new();
    for row in range.rows().skip(1) {
        let key = cell_text(row.first());
        if key == "Total" {
            continue;
        }
        let currency = cell_text(row.get(keys + 1));
        let at = |i: usize| cell_decimal(row.get(keys + 2 + i * 3 + side));
        let docs = at(0);
        let docs: u64 = if side == 2 {
            assert_eq!(docs, Decimal::ZERO);
            0
        } else {
            docs.try_into().unwrap()
        };
        out.insert((currency, key), (docs, at(1), at(2), at(3)));
    }
    out
}

#[test]
fn import_then_verify_is_identical_and_its_totals_are_the_sources() {
    let f = Fixture::new();
    // `import --verify`: the import (4 rejected: exit 1) then the verdict.
    let (code, _, err) = f.import(&["--verify", "--verify-report", "after-import.json"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("56 created"), "{err}");
    assert!(
        err.contains("verdict: identical: the account holds the 56 documents"),
        "{err}"
    );
    let after: Value =
        serde_json::from_str(&std::fs::read_to_string(f.dir.join("after-import.json")).unwrap())
            .unwrap();
    assert_eq!(after["identical"], true);
    assert_eq!(after["counts"]["rejected"], 4);

    let (code, out, err) = f.cmd(&["--json", "runs", "verify", "--report", "signoff.xlsx"]);
    assert_eq!(code, 0, "{err}");
    let rec: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rec["counts"]["compared"], 56);
    assert_eq!(rec["counts"]["identical"], 56);
    assert_eq!(rec["differences"], json!([]));
    // The rejected ones are listed as not imported, with their reason.
    let rejected: Vec<&str> = rec["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == "rejected")
        .map(|d| d["document"].as_str().unwrap())
        .collect();
    assert_eq!(
        rejected,
        ["МТ00-000113", "МТ00-000120", "МТ00-000128", "МТ00-000152"]
    );
    assert!(
        err.contains("not imported (rejected by validation):"),
        "{err}"
    );

    let docs = source_docs();
    let path = f.dir.join("signoff.xlsx");
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(
        wb.sheet_names(),
        [
            "Summary",
            "By month",
            "By customer",
            "Differences",
            "Documents"
        ]
    );
    // Per month and per customer, both sides, against the test's own sums.
    let by_month = wb.worksheet_range("By month").unwrap();
    let want = totals_by(&docs, |d| d.month.clone());
    assert_eq!(sheet_totals(&by_month, 1, 0), want, "source per month");
    assert_eq!(sheet_totals(&by_month, 1, 1), want, "account per month");
    assert!(sheet_totals(&by_month, 1, 2)
        .values()
        .all(|t| t.1.is_zero() && t.2.is_zero() && t.3.is_zero()));
    let by_customer = wb.worksheet_range("By customer").unwrap();
    let want = totals_by(&docs, |d| d.customer.clone());
    assert_eq!(
        sheet_totals(&by_customer, 3, 0),
        want,
        "source per customer"
    );
    assert_eq!(
        sheet_totals(&by_customer, 3, 1),
        want,
        "account per customer"
    );
    // The grand total lines: one per currency.
    let grand = totals_by(&docs, |_| String::new());
    let totals: Vec<_> = by_month
        .rows()
        .filter(|r| cell_text(r.first()) == "Total")
        .map(|r| {
            (
                cell_text(r.get(2)),
                cell_decimal(r.get(3)),
                cell_decimal(r.get(12)),
            )
        })
        .collect();
    let want: Vec<_> = grand
        .iter()
        .map(|((c, _), t)| (c.clone(), Decimal::from(t.0), t.3))
        .collect();
    assert_eq!(totals, want);
    // Typed cells: text keys, integer counts, money, dates.
    assert!(matches!(by_month.get((1, 0)), Some(Data::String(_))));
    assert!(matches!(by_month.get((1, 3)), Some(Data::Float(_))));
    let documents = wb.worksheet_range("Documents").unwrap();
    assert!(matches!(documents.get((1, 6)), Some(Data::DateTime(_))));
    let summary = wb.worksheet_range("Summary").unwrap();
    assert!(summary
        .rows()
        .any(|r| cell_text(r.first()).starts_with("Verdict: identical")));
    // Nothing is marked when all is identical; headers frozen and filtered.
    for n in 1..=4 {
        assert_eq!(marked_cells(&path, n), BTreeSet::new(), "sheet {n}");
    }
    let sheet = zip_part(&path, "xl/worksheets/sheet2.xml");
    assert!(
        sheet.contains(r#"ySplit="1""#) && sheet.contains("<autoFilter"),
        "{sheet}"
    );
    assert!(sheet.contains("<col "), "widths set");
}

#[test]
fn an_edit_a_deletion_and_a_void_on_the_account_are_each_named() {
    let f = Fixture::new();
    let (code, _, err) = f.import(&[]);
    assert_eq!(code, 1, "{err}");
    let docs = source_docs();
    let mdl: Vec<&String> = docs
        .iter()
        .filter(|(_, d)| d.currency == "MDL")
        .map(|(n, _)| n)
        .collect();
    let (edited, deleted, voided) = (mdl[2].clone(), mdl[5].clone(), mdl[9].clone());
    let api = f.emu.api();
    // Edit: one more of the first line, the rest as it was.
    let inv = block_on(invoice(&api, &edited));
    let items: Vec<Value> = inv["items"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let q: Decimal = l["quantity"].to_string().parse().unwrap();
            let q = if i == 0 { q + Decimal::ONE } else { q };
            json!({
                "id": l["id"],
                "name": l["name"],
                "quantity": q,
                "unit_cost": l["unit_cost"],
                "taxes": l["taxes"].as_array().unwrap().iter()
                    .map(|t| json!({"tax_rate": t["tax_rate"]["id"].as_str().or(t["tax_rate"].as_str())}))
                    .collect::<Vec<_>>(),
                "taxable": l["taxable"],
                "metadata": l["metadata"],
            })
        })
        .collect();
    // The account's clock is in seconds: be sure the edit is a later one.
    std::thread::sleep(Duration::from_millis(1100));
    block_on(async {
        let r = api
            .patch(
                &format!("/invoices/{}", inv["id"]),
                &json!({"items": items}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let id = invoice(&api, &deleted).await["id"].clone();
        let r = api.delete(&format!("/invoices/{id}")).send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let id = invoice(&api, &voided).await["id"].clone();
        let r = api
            .post(&format!("/invoices/{id}/void"), &json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    });

    let (code, _, err) = f.cmd(&["runs", "verify", "--report", "signoff.xlsx"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "{deleted}  document: source {deleted}, account deleted"
        )),
        "{err}"
    );
    assert!(
        err.contains("deleted on the account after the import"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{voided}  status: source issued, account voided")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{edited}  items[0].quantity")),
        "{err}"
    );
    assert!(err.contains("changed after the import"), "{err}");
    assert!(
        err.contains("verdict: DIFFERENCES: 3 of 56 documents do not match"),
        "{err}"
    );

    // The expected account totals, by the test's own arithmetic: the source
    // less the deleted and the voided one, the edited one recomputed.
    let mut account = docs.clone();
    account.remove(&deleted);
    account.remove(&voided);
    account.get_mut(&edited).unwrap().lines[0].0 += Decimal::ONE;
    let path = f.dir.join("signoff.xlsx");
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    let by_month = wb.worksheet_range("By month").unwrap();
    assert_eq!(
        sheet_totals(&by_month, 1, 0),
        totals_by(&docs, |d| d.month.clone())
    );
    assert_eq!(
        sheet_totals(&by_month, 1, 1),
        totals_by(&account, |d| d.month.clone())
    );
    let by_customer = wb.worksheet_range("By customer").unwrap();
    assert_eq!(
        sheet_totals(&by_customer, 3, 1),
        totals_by(&account, |d| d.customer.clone())
    );
    // Each named in the Differences sheet with its source row.
    let diffs = wb.worksheet_range("Differences").unwrap();
    let rows: Vec<(String, String, String)> = diffs
        .rows()
        .skip(1)
        .map(|r| {
            (
                cell_text(r.first()),
                cell_text(r.get(2)),
                format!("{:?}", r.get(4)),
            )
        })
        .collect();
    assert!(
        rows.contains(&(
            deleted.clone(),
            "document".into(),
            "Some(String(\"deleted\"))".into()
        )),
        "{rows:?}"
    );
    assert!(
        rows.contains(&(
            voided.clone(),
            "status".into(),
            "Some(String(\"voided\"))".into()
        )),
        "{rows:?}"
    );
    let fields: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.0 == edited)
        .map(|r| r.1.as_str())
        .collect();
    assert!(
        fields.contains("items[0].quantity")
            && fields.contains("total")
            && fields.contains("subtotal"),
        "{fields:?}"
    );
    for r in diffs.rows().skip(1) {
        assert_eq!(cell_text(r.get(6)), FILE);
        assert!(
            matches!(r.get(7), Some(Data::Float(_))),
            "the source row, a number"
        );
    }
    // The account side of each difference is highlighted, the Summary's
    // counts of what differs too, and the month totals' differences.
    let n = diffs.rows().count();
    let marked = marked_cells(&path, 4);
    let want: BTreeSet<String> = (2..=n).map(|r| format!("E{r}")).collect();
    assert_eq!(marked, want);
    let summary = wb.worksheet_range("Summary").unwrap();
    let marked = marked_cells(&path, 1);
    for (i, row) in summary.rows().enumerate() {
        let item = cell_text(row.first());
        if [
            "Deleted on the account",
            "Voided on the account",
            "With different fields",
        ]
        .contains(&item.as_str())
        {
            assert!(
                marked.contains(&format!("E{}", i + 1)),
                "{item}: {marked:?}"
            );
        }
        if item == "Gross" && cell_text(row.get(2)) == "MDL" {
            assert!(
                marked.contains(&format!("F{}", i + 1)),
                "the gross difference"
            );
        }
        if item == "Gross" && cell_text(row.get(2)) == "EUR" {
            assert!(!marked.contains(&format!("F{}", i + 1)), "EUR is identical");
        }
    }
    assert!(summary
        .rows()
        .any(|r| cell_text(r.first()).starts_with("Verdict: DIFFERENCES")));
    assert!(!marked_cells(&path, 2).is_empty());
}

#[test]
fn an_account_that_fails_reads_gets_no_verdict_and_no_report() {
    let mut f = Fixture::new();
    let (code, _, err) = f.import(&[]);
    assert_eq!(code, 1, "{err}");
    let url = f.emu.url().to_string();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    f.emu.stop();
    // The same account on the same address, now failing most requests.
    let _flaky = OnPort::start(
        port,
        Config {
            db: Some(f.dir.join("emulator.db")),
            fail_rate: 0.8,
            seed: 16,
            ..Config::default()
        },
    );
    let (code, out, err) = f.run(
        &url,
        &["runs", "verify", "--report", "signoff.xlsx", "--json"],
    );
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("no verdict"), "{err}");
    assert!(!err.contains("verdict:"), "{err}");
    assert!(!err.contains("identical"), "{err}");
    assert_eq!(out, "", "no reconciliation on stdout");
    assert!(!f.dir.join("signoff.xlsx").exists());
}

#[test]
fn a_changed_input_is_refused_unless_allowed() {
    let f = Fixture::new();
    let (code, _, err) = f.import(&[]);
    assert_eq!(code, 1, "{err}");
    // One line's price changed in the source after the import.
    let path = f.dir.join(FILE);
    let bytes = std::fs::read(&path).unwrap();
    let (text, _, _) = encoding_rs::WINDOWS_1251.decode(&bytes);
    let changed = text.replacen(";7,47;1\u{a0}665,81;", ";7,48;1\u{a0}665,81;", 1);
    assert_ne!(changed, text);
    let (enc, _, _) = encoding_rs::WINDOWS_1251.encode(&changed);
    std::fs::write(&path, &enc).unwrap();
    let (code, _, err) = f.cmd(&["runs", "verify"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("changed since run 1 imported it"), "{err}");
    assert!(err.contains("--allow-changed"), "{err}");
    // Allowed: the changed document is a difference; the stated line net no
    // longer matching gets it rejected by validation, so it is not on the
    // source side and shows as on the account only.
    let (code, out, err) = f.cmd(&["--json", "runs", "verify", "--allow-changed"]);
    assert_eq!(code, 1, "{err}");
    let rec: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rec["inputs"][0]["changed"], true);
    assert_eq!(rec["counts"]["rejected"], 5, "{rec}");
    assert_eq!(rec["counts"]["not_in_source"], 1, "{rec}");
    let d = &rec["differences"][0];
    assert_eq!(
        (&d["document"], &d["field"]),
        (&json!("МТ00-000101"), &json!("document"))
    );
}

#[test]
fn control_totals_of_an_export_equal_the_sums_of_its_rows() {
    let f = Fixture::new();
    let (code, _, err) = f.import(&[]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = f.cmd(&["export", "invoices", "-o", "inv.xlsx", "--control-totals"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("56 invoices: 56 rows written to"),
        "the Totals rows and sheet are not counted: {err}"
    );
    let mut wb: Xlsx<_> = open_workbook(f.dir.join("inv.xlsx")).unwrap();
    assert_eq!(wb.sheet_names(), ["Invoices", "Totals"]);
    let rows = wb.worksheet_range("Invoices").unwrap();
    let header: Vec<String> = rows
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| cell_text(Some(c)))
        .collect();
    let at = |h: &str| header.iter().position(|x| x == h).unwrap();
    let (date, cur, sub, total, bal) = (
        at("date"),
        at("currency"),
        at("subtotal"),
        at("total"),
        at("balance"),
    );
    // The rows' own sums, by currency and month, and by currency.
    let mut want: BTreeMap<(String, String), (Decimal, [Decimal; 3])> = BTreeMap::new();
    for r in rows.rows().skip(1) {
        let month = match &r[date] {
            Data::DateTime(d) => d.as_datetime().unwrap().format("%Y-%m").to_string(),
            other => panic!("a date: {other:?}"),
        };
        let c = cell_text(r.get(cur)).to_uppercase();
        for key in [month, "Total".to_string()] {
            let e = want.entry((c.clone(), key)).or_default();
            e.0 += Decimal::ONE;
            e.1[0] += cell_decimal(r.get(sub));
            e.1[1] += cell_decimal(r.get(total));
            e.1[2] += cell_decimal(r.get(bal));
        }
    }
    let totals = wb.worksheet_range("Totals").unwrap();
    let head: Vec<String> = totals
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| cell_text(Some(c)))
        .collect();
    assert_eq!(
        head,
        [
            "Currency",
            "Month",
            "Documents",
            "Subtotal",
            "VAT",
            "Total",
            "Balance"
        ]
    );
    let mut got = BTreeMap::new();
    let mut vat: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for r in totals.rows().skip(1) {
        let key = (cell_text(r.first()), cell_text(r.get(1)));
        vat.insert(key.clone(), cell_decimal(r.get(4)));
        got.insert(
            key,
            (
                cell_decimal(r.get(2)),
                [
                    cell_decimal(r.get(3)),
                    cell_decimal(r.get(5)),
                    cell_decimal(r.get(6)),
                ],
            ),
        );
    }
    assert_eq!(got, want);
    // The VAT (not a column of the rows) against the source's own.
    let docs = source_docs();
    for ((c, month), (_, _, v, _)) in totals_by(&docs, |d| d.month.clone()) {
        assert_eq!(vat[&(c, month)], v);
    }

    // CSV: the same sums in a file beside it.
    let (code, _, err) = f.cmd(&["export", "invoices", "-o", "inv.csv", "--control-totals"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("control totals written to"), "{err}");
    let mut rd = csv::Reader::from_path(f.dir.join("inv.totals.csv")).unwrap();
    let mut csv_got = BTreeMap::new();
    for r in rd.records() {
        let r = r.unwrap();
        let d = |i: usize| -> Decimal { r[i].parse().unwrap() };
        csv_got.insert(
            (r[0].to_string(), r[1].to_string()),
            (d(2), [d(3), d(5), d(6)]),
        );
    }
    assert_eq!(csv_got, want);
    // Customers have no amounts to total.
    let (code, _, err) = f.cmd(&["export", "customers", "-o", "c.xlsx", "--control-totals"]);
    assert_eq!(code, 2, "{err}");
    assert!(!f.dir.join("c.xlsx").exists());
}

#[test]
fn runs_verify_for_several_companies_writes_a_report_each() {
    use crate::profiles::{emulator, write_config};
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
            "import",
            "--profiles",
            "acme,gamma",
            "inbox/{profile}/sales.csv",
            "-m",
        ])
        .arg(&mapping)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)));
    let verify = |args: &[&str]| {
        let out = bin(dir.path()).args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = verify(&[
        "--json",
        "runs",
        "verify",
        "--profiles",
        "acme,gamma",
        "--report",
        "signoff/{profile}.xlsx",
    ]);
    assert_eq!(code, 0, "{err}");
    let summary: Value = serde_json::from_str(out.trim()).unwrap();
    for p in summary["profiles"].as_array().unwrap() {
        assert_eq!(p["result"]["identical"], true, "{p}");
        let company = p["profile"].as_str().unwrap();
        assert!(dir.join(format!("signoff/{company}.xlsx")).exists());
    }
    // One report path for all, or one run number for all: refused.
    let (code, _, err) = verify(&[
        "runs",
        "verify",
        "--profiles",
        "acme,gamma",
        "--report",
        "s.xlsx",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("must contain {profile}"), "{err}");
    let (code, _, err) = verify(&["runs", "verify", "--profiles", "acme,gamma", "1"]);
    assert_eq!(code, 2, "{err}");
}
