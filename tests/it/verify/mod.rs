//! `runs verify`, `import --verify` and `export --control-totals`: the real
//! binary against the emulator over loopback, on a 1C register of the
//! corpus (Windows-1251, decimal commas, EUR and MDL, four planted defects).
//! The expected totals are computed here from the source file with plain
//! code of this test (decode, split, multiply, round), never by the code
//! under test; the workbooks are read back with calamine and their cell
//! styles from the XLSX parts.
//!
//! - [`reconcile`]: `runs verify` and `import --verify`: identical, edited,
//!   deleted and voided, an account failing reads, a changed input;
//! - [`totals`]: `export --control-totals`, and `runs verify` for several
//!   companies.

mod reconcile;
mod totals;

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

pub(super) const CORPUS: &str = "tests/corpus/1c-realizatsiya-cp1251";
pub(super) const FILE: &str = "realizatsiya_2024-2025.csv";

/// The test's own model of one document of the source.
#[derive(Debug, Clone, Default)]
pub(super) struct Doc {
    pub currency: String,
    pub month: String,
    pub customer: String,
    /// (quantity, price, VAT percent) per line.
    pub lines: Vec<(Decimal, Decimal, Decimal)>,
}

pub(super) fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// `1 234,50` (spaces or no-break spaces between thousands) as a decimal.
pub(super) fn ru(s: &str) -> Decimal {
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
pub(super) fn source_docs() -> BTreeMap<String, Doc> {
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
pub(super) type Totals = BTreeMap<(String, String), (u64, Decimal, Decimal, Decimal)>;

pub(super) fn totals_by(docs: &BTreeMap<String, Doc>, key: impl Fn(&Doc) -> String) -> Totals {
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

pub(super) struct Fixture {
    pub dir: TestDir,
    pub emu: TestEmulator,
}

impl Fixture {
    pub(super) fn new() -> Fixture {
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

    pub(super) fn run(&self, url: &str, args: &[&str]) -> (i32, String, String) {
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

    pub(super) fn cmd(&self, args: &[&str]) -> (i32, String, String) {
        self.run(self.emu.url(), args)
    }

    pub(super) fn import(&self, extra: &[&str]) -> (i32, String, String) {
        let mut args = vec!["import", FILE, "--mapping", "mapping.toml"];
        args.extend(extra);
        self.cmd(&args)
    }
}

pub(super) fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The invoice numbered `number` on the account.
pub(super) async fn invoice(api: &Api, number: &str) -> Value {
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
pub(super) struct OnPort {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OnPort {
    pub(super) fn start(port: u16, mut config: Config) -> OnPort {
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

pub(super) fn cell_decimal(c: Option<&Data>) -> Decimal {
    match c {
        Some(Data::Float(f)) => round2(Decimal::from_f64(*f).unwrap()),
        Some(Data::Int(i)) => Decimal::from(*i),
        other => panic!("a number, found {other:?}"),
    }
}

pub(super) fn cell_text(c: Option<&Data>) -> String {
    match c {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Empty) | None => String::new(),
        other => panic!("text, found {other:?}"),
    }
}

pub(super) fn zip_part(path: &Path, name: &str) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut s = String::new();
    z.by_name(name)
        .unwrap_or_else(|_| panic!("{name} in {}", path.display()))
        .read_to_string(&mut s)
        .unwrap();
    s
}

/// The cells of sheet number `n` (1-based) filled with the marking red.
pub(super) fn marked_cells(path: &Path, n: usize) -> BTreeSet<String> {
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
pub(super) fn sheet_totals(range: &calamine::Range<Data>, keys: usize, side: usize) -> Totals {
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
