//! Read + map throughput on a generated 1C-style register (Windows-1251,
//! `;`, decimal commas, title lines, one row per line item, invoices of 1-4
//! lines), against the bare `csv` crate reading the same file.
//!
//! `READ_BENCH_ROWS=1000000 cargo bench --bench read` (default 200000; for a
//! quicker build: `--profile dev --config 'profile.dev.package.facturare-etl.opt-level=3'`).
//! Prints rows per second for: the bare `csv` `StringRecord` loop over the
//! decoded text, `read::open` (decode + cells), and `mapping::drafts`
//! (read + map + group, both passes).

use facturare_etl::mapping::{drafts, Mapping};

#[global_allocator]
static GLOBAL: facturare_etl::alloc::Mi = facturare_etl::alloc::Mi;

use facturare_etl::read::{self, SourceSpec};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

fn generate(path: &Path, rows: usize) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut text = String::new();
    text.push_str("Реестр документов «Реализация товаров и услуг»\r\nОрганизация: ООО «Молдтехсервис»\r\n\r\n");
    text.push_str("Номер;Дата;Код контрагента;Контрагент;IDNO;Номенклатура;Количество;Цена;Ставка НДС;Сумма без НДС;Сумма НДС;Сумма;Валюта\r\n");
    out.write_all(&encoding_rs::WINDOWS_1251.encode(&text).0)?;
    let goods = [
        "Услуги по обслуживанию оборудования",
        "Картридж HP 85A",
        "Бумага A4, 500 л.",
        "Хлеб «Франзелуца» 400 г",
    ];
    let mut n = 0usize;
    let mut inv = 0usize;
    while n < rows {
        inv += 1;
        let lines = 1 + inv % 4;
        let day = 1 + inv % 28;
        let month = 1 + inv % 12;
        for j in 0..lines.min(rows - n) {
            let qty = 1 + (inv + j) % 40;
            let cents = 100 + (inv * 37 + j * 11) % 900_000;
            let net = qty * cents;
            let vat = net / 5;
            let line = format!(
                "МТ-{inv:07};{day:02}.{month:02}.2024;К-{:04};ООО «Контрагент {}»;1003600045120;{};{qty};{},{:02};20%;{},{:02};{},{:02};{},{:02};MDL\r\n",
                inv % 5000,
                inv % 5000,
                goods[(inv + j) % goods.len()],
                cents / 100,
                cents % 100,
                net / 100,
                net % 100,
                vat / 100,
                vat % 100,
                (net + vat) / 100,
                (net + vat) % 100,
            );
            out.write_all(&encoding_rs::WINDOWS_1251.encode(&line).0)?;
            n += 1;
        }
    }
    out.write_all(&encoding_rs::WINDOWS_1251.encode("Итого;;;;;;;;;;;;\r\n").0)?;
    out.flush()
}

fn rate(rows: u64, (cpu, wall): (f64, f64)) -> String {
    format!(
        "{:>10.0} rows/s wall, {:>10.0} rows/CPU-s ({wall:.2} s wall, {cpu:.2} s CPU)",
        rows as f64 / wall,
        rows as f64 / cpu
    )
}

/// CPU seconds used by this process so far (the machine is shared, so
/// wall time says little).
fn cpu() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

/// Measure CPU seconds of a phase.
struct Clock(f64, Instant);

impl Clock {
    fn start() -> Clock {
        Clock(cpu(), Instant::now())
    }
    fn secs(&self) -> (f64, f64) {
        (cpu() - self.0, self.1.elapsed().as_secs_f64())
    }
}

fn main() {
    let rows: usize = std::env::var("READ_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("register.csv");
    generate(&file, rows).expect("generate the input");
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    println!("input: {rows} rows, {:.1} MB", size as f64 / 1e6);

    // Bare csv crate over the decoded text, StringRecord loop.
    let t = Clock::start();
    let f = std::fs::File::open(&file).expect("open");
    let dec = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding_rs::WINDOWS_1251))
        .build(f);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(dec);
    let mut rec = csv::StringRecord::new();
    let mut n = 0u64;
    while rdr.read_record(&mut rec).expect("read") {
        n += rec.len() as u64 / 13;
    }
    let bare = t.secs();
    println!("bare csv StringRecord: {}", rate(n, bare));

    let m = Mapping::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/1c-export.toml"))
        .expect("the 1C mapping loads");
    let t = Clock::start();
    let mut n = 0u64;
    for r in read::open(&file, m.source()).expect("open") {
        if r.is_ok() {
            n += 1;
        }
    }
    let secs = t.secs();
    println!(
        "read::open:            {}  ratio {:.2}",
        rate(n, secs),
        bare.1 / secs.1
    );
    let _ = SourceSpec::default();

    let t = Clock::start();
    let mut d = drafts(&m, std::slice::from_ref(&file)).expect("compile");
    let mut docs = 0u64;
    let mut problems = 0u64;
    for x in d.by_ref() {
        let x = x.expect("no fatal error");
        docs += 1;
        problems += x.problems.len() as u64;
    }
    let secs = t.secs();
    let stats = d.stats();
    println!(
        "mapping::drafts:       {}  ratio {:.2}  ({docs} documents, {problems} problems, {} rows skipped)",
        rate(stats.rows_read, secs),
        bare.1 / secs.1,
        stats.rows_skipped
    );
}
