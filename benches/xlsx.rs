//! Benchmark: the `validate` command over a typed workbook (the release
//! binary run as a user runs it), against calamine's bare cell stream over
//! the same sheet, in the same run (issue 15 item 4).
//!
//! The register (`BENCH_ROWS` data rows, default 200,000): a sheet
//! `Facturi` with a merged title row and a note above the header on row 3,
//! 15 columns, invoices of 1 to 5 adjacent lines; typed cells: amounts and
//! quantities as numbers, the invoice date as a date-formatted serial, the
//! line total as a formula with its cached value, text with Romanian
//! diacritics and Cyrillic; customer names, units, VAT rates and currency
//! repeat, so they are shared strings. The same rows are written as an ODS
//! workbook too (a ZIP of XML, written here: rust_xlsxwriter writes no
//! ODS), with typed cells (`float`, `date`, a formula with its value). XLS
//! (BIFF8) is not generated: nothing in the project or its dependencies
//! writes it.
//!
//! ```text
//! cargo bench --bench xlsx
//! BENCH_ROWS=1000000 BENCH_ROUNDS=1 BENCH_FORMATS=xlsx cargo bench --bench xlsx
//! BENCH_DIR=/tmp/x15 cargo bench --bench xlsx     # keeps (and reuses) the files
//! BENCH_BIN=/path/to/before/facturare-etl ...      # another build of the command
//! ```
//!
//! Each round, for each format (`BENCH_FORMATS`, default `xlsx,ods`):
//! (a) calamine alone: for XLSX, open the workbook (its shared strings)
//! and count the cells of `worksheet_cells_reader` (`next_cell`), the
//! stream the reader reads; for ODS, which calamine only loads whole, the
//! cells of `worksheet_range`; (b) `facturare-etl validate FILE --mapping
//! M --json` as a child: wall, CPU (user + sys from `wait4`), CPU/wall and
//! peak memory (`VmHWM`, polled). The ratio is (a)'s wall over (b)'s; the
//! median round is the result (`BENCH_ROUNDS`, default 3), the peak the
//! highest round's. `BENCH_RANGE=1` times XLSX's `worksheet_range` too.

use facturare_etl::model::idno::check_digit;
use facturare_etl::model::round_money;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[global_allocator]
static GLOBAL: facturare_etl::alloc::Mi = facturare_etl::alloc::Mi;

const SHEET: &str = "Facturi";

const HEADER: [&str; 15] = [
    "Nr. factură",
    "Data",
    "Cod client",
    "Client",
    "IDNO",
    "Denumire",
    "U.M.",
    "Cantitate",
    "Preț",
    "Cota TVA",
    "Valoare fără TVA",
    "Suma TVA",
    "Total",
    "Valuta",
    "Comentariu",
];

const MAPPING: &str = r#"version = 1
name = "bench-xlsx"

[source]
sheet = "Facturi"
header_row = 3
skip_rows_matching = { column = "Nr. factură", regex = "^(?i)total" }

[invoice]
group_by = "Nr. factură"
number = "Nr. factură"
date = { column = "Data", date = ["%d.%m.%Y", "excel"] }
currency = { column = "Valuta", default = "MDL" }
metadata.source = { value = "registru-xlsx" }

[customer]
number = "Cod client"
name = { column = "Client", transform = ["trim", "collapse_spaces"] }
tax_id = "IDNO"

[line]
name = "Denumire"
description = "Comentariu"
quantity = { column = "Cantitate", decimal = "auto" }
unit_cost = { column = "Preț", decimal = "auto" }
taxes = { column = "Cota TVA", lookup = { "20%" = "tva20", "8%" = "tva8", "0%" = "tva0" } }
check_net = { column = "Valoare fără TVA", decimal = "auto" }
check_vat = { column = "Suma TVA", decimal = "auto" }
check_gross = { column = "Total", decimal = "auto" }

# The ODS sheet is loaded whole: 15 columns of 1,000,000 rows are over the
# default 2,000,000 cells (XLSX is streamed, and not bound by this).
[limits]
max_sheet_cells = 20000000
"#;

const GOODS: [&str; 10] = [
    "Pâine albă feliată 400 g",
    "Lapte pasteurizat 2,5% 1 l",
    "Brânză telemea de vacă",
    "Servicii de transport, cursă",
    "Ulei de floarea-soarelui rafinat 1 l",
    "Сыр твёрдый «Российский» весовой",
    "Chefir 1% în sticlă PET 900 g",
    "Consultanță juridică (oră)",
    "Вода минеральная газированная 1,5 л",
    "Apă minerală „Izvorul Mureșului” 1,5 l",
];
const CUSTOMERS: [&str; 6] = [
    "SRL Agroprim  Invest",
    "ÎI Țurcanu Ștefan",
    "ООО «Молдтрейд Групп»",
    "SA Franzeluța (Chișinău)",
    "ИП Черненко Андрей Викторович",
    "SRL Vinăria Bălți",
];

fn mix(mut x: u64) -> u64 {
    x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

fn idno(seed: u64) -> String {
    let mut first = [0u32; 12];
    let mut x = mix(seed + 1);
    first[0] = 1;
    for d in first.iter_mut().skip(1) {
        x = mix(x);
        *d = (x % 10) as u32;
    }
    let mut s: String = first.iter().map(|d| char::from(b'0' + *d as u8)).collect();
    s.push(char::from(b'0' + check_digit(&first) as u8));
    s
}

/// One line of the register, as typed values.
struct Line {
    number: String,
    date: chrono::NaiveDate,
    cust_code: String,
    customer: &'static str,
    tax_id: String,
    goods: &'static str,
    quantity: Decimal,
    price: Decimal,
    rate: &'static str,
    net: Decimal,
    vat: Decimal,
    comment: String,
}

/// The register's lines, `rows` of them, in invoice order; one IDNO in
/// about a thousand customers has a wrong check digit, so a few documents
/// are rejected.
fn lines(rows: u64) -> impl Iterator<Item = Line> {
    let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 2).expect("a date");
    (1u64..)
        .flat_map(move |inv| {
            let h = mix(inv);
            let n_lines = 1 + h % 5;
            (0..n_lines).map(move |l| (inv, h, l))
        })
        .take(rows as usize)
        .map(move |(inv, h, l)| {
            let date = start + chrono::Duration::days((inv % 700) as i64);
            let cust = h % 1499;
            let mut tax_id = idno(cust);
            if cust == 777 {
                // A wrong check digit.
                let last = tax_id.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
                tax_id.push(char::from(b'0' + ((last + 1) % 10) as u8));
            }
            let r = mix(h ^ (l + 1));
            let quantity = Decimal::new((r % 50 + 1) as i64 * 1000, 3).normalize();
            let price = Decimal::new(((r >> 8) % 200_000 + 50) as i64, 2);
            let (rate, pct) = if (inv + l) % 3 == 0 {
                ("8%", 8)
            } else {
                ("20%", 20)
            };
            let net = round_money(quantity * price);
            let vat = round_money(net * Decimal::from(pct) / Decimal::ONE_HUNDRED);
            let comment = if (r >> 24) % 4 == 0 {
                format!(
                    "Livrare conform contractului nr. {}; termen {} zile",
                    cust * 3 + 11,
                    (r >> 40) % 30 + 5
                )
            } else {
                format!(
                    "Отгрузка по договору № {} от {}",
                    cust * 3 + 11,
                    date.format("%d.%m.%Y")
                )
            };
            Line {
                number: format!("F-{inv:07}"),
                date,
                cust_code: format!("C-{cust:04}"),
                customer: CUSTOMERS[(cust % 6) as usize],
                tax_id,
                goods: GOODS[((r >> 32) % GOODS.len() as u64) as usize],
                quantity,
                price,
                rate,
                net,
                vat,
                comment,
            }
        })
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// Write the XLSX register (low-memory mode: rows go to disk as they are
/// written, strings to the shared table).
fn generate_xlsx(path: &Path, rows: u64) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};
    let mut wb = Workbook::new();
    let ws = wb
        .add_worksheet_with_low_memory()
        .expect("a low-memory sheet");
    ws.set_name(SHEET).expect("the sheet's name");
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("dd.mm.yyyy");
    let money = Format::new().set_num_format("#,##0.00");
    ws.merge_range(0, 0, 0, 14, "Registrul facturilor emise, 2023–2024", &bold)
        .expect("the title");
    ws.write_string(1, 0, "Generat din contabilitate; sumele în MDL")
        .expect("the note");
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string_with_format(2, c as u16, *h, &bold)
            .expect("the header");
    }
    for (i, l) in lines(rows).enumerate() {
        let r = i as u32 + 3;
        let e = |res: Result<&mut rust_xlsxwriter::Worksheet, rust_xlsxwriter::XlsxError>| {
            res.map(|_| ()).expect("write a cell")
        };
        let d = ExcelDateTime::from_ymd(
            chrono::Datelike::year(&l.date) as u16,
            chrono::Datelike::month(&l.date) as u8,
            chrono::Datelike::day(&l.date) as u8,
        )
        .expect("a date");
        e(ws.write_string(r, 0, &l.number));
        e(ws.write_datetime_with_format(r, 1, d, &date));
        e(ws.write_string(r, 2, &l.cust_code));
        e(ws.write_string(r, 3, l.customer));
        e(ws.write_string(r, 4, &l.tax_id));
        e(ws.write_string(r, 5, l.goods));
        e(ws.write_string(r, 6, "buc"));
        e(ws.write_number(r, 7, f(l.quantity)));
        e(ws.write_number_with_format(r, 8, f(l.price), &money));
        e(ws.write_string(r, 9, l.rate));
        e(ws.write_number_with_format(r, 10, f(l.net), &money));
        e(ws.write_number_with_format(r, 11, f(l.vat), &money));
        let total =
            Formula::new(format!("=K{0}+L{0}", r + 1)).set_result((l.net + l.vat).to_string());
        e(ws.write_formula_with_format(r, 12, total, &money));
        e(ws.write_string(r, 13, "MDL"));
        e(ws.write_string(r, 14, &l.comment));
    }
    wb.save(path).expect("save the XLSX register");
}

fn xml_escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"']) {
        return s.into();
    }
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .into()
}

/// Write the same register as an ODS workbook: `mimetype` first and
/// stored, the manifest, and `content.xml` with typed cells.
fn generate_ods(path: &Path, rows: u64) {
    use zip::write::SimpleFileOptions;
    let file = std::fs::File::create(path).expect("create the ODS register");
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let w = |zip: &mut zip::ZipWriter<_>, s: &str| zip.write_all(s.as_bytes()).expect("write ODS");
    zip.start_file("mimetype", stored).expect("ODS mimetype");
    w(&mut zip, "application/vnd.oasis.opendocument.spreadsheet");
    zip.start_file("META-INF/manifest.xml", deflated)
        .expect("ODS manifest");
    w(
        &mut zip,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"#,
    );
    zip.start_file("content.xml", deflated)
        .expect("ODS content");
    w(
        &mut zip,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" office:version="1.2"><office:body><office:spreadsheet>"#,
    );
    let mut out = String::with_capacity(1 << 16);
    let text = |out: &mut String, s: &str| {
        out.push_str(r#"<table:table-cell office:value-type="string"><text:p>"#);
        out.push_str(&xml_escape(s));
        out.push_str("</text:p></table:table-cell>");
    };
    let float = |out: &mut String, d: Decimal| {
        out.push_str(&format!(
            r#"<table:table-cell office:value-type="float" office:value="{d}"><text:p>{d}</text:p></table:table-cell>"#
        ));
    };
    out.push_str(&format!(r#"<table:table table:name="{SHEET}">"#));
    out.push_str(r#"<table:table-row><table:table-cell office:value-type="string" table:number-columns-spanned="15" table:number-rows-spanned="1"><text:p>Registrul facturilor emise, 2023–2024</text:p></table:table-cell><table:covered-table-cell table:number-columns-repeated="14"/></table:table-row>"#);
    out.push_str("<table:table-row>");
    text(&mut out, "Generat din contabilitate; sumele în MDL");
    out.push_str("</table:table-row><table:table-row>");
    for h in HEADER {
        text(&mut out, h);
    }
    out.push_str("</table:table-row>");
    for (i, l) in lines(rows).enumerate() {
        let r = i + 4;
        out.push_str("<table:table-row>");
        text(&mut out, &l.number);
        out.push_str(&format!(
            r#"<table:table-cell office:value-type="date" office:date-value="{}"><text:p>{}</text:p></table:table-cell>"#,
            l.date.format("%Y-%m-%d"),
            l.date.format("%d.%m.%Y")
        ));
        text(&mut out, &l.cust_code);
        text(&mut out, l.customer);
        text(&mut out, &l.tax_id);
        text(&mut out, l.goods);
        text(&mut out, "buc");
        float(&mut out, l.quantity);
        float(&mut out, l.price);
        text(&mut out, l.rate);
        float(&mut out, l.net);
        float(&mut out, l.vat);
        out.push_str(&format!(
            r#"<table:table-cell table:formula="of:=[.K{r}]+[.L{r}]" office:value-type="float" office:value="{0}"><text:p>{0}</text:p></table:table-cell>"#,
            l.net + l.vat
        ));
        text(&mut out, "MDL");
        text(&mut out, &l.comment);
        out.push_str("</table:table-row>");
        if out.len() > 60_000 {
            w(&mut zip, &out);
            out.clear();
        }
    }
    out.push_str("</table:table></office:spreadsheet></office:body></office:document-content>");
    w(&mut zip, &out);
    zip.finish().expect("finish the ODS register");
}

/// A child's resources, as `wait4` reports them.
struct Usage {
    cpu: f64,
    max_rss_mb: f64,
}

/// The peak resident memory `/proc` shows for a process (kB): its `VmHWM`.
fn vm_hwm_kb(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Wait for `child`, reading its stdout and stderr; its exit code, CPU
/// time and peak memory, as in `benches/validate.rs`: the peak is the
/// child's `VmHWM`, polled every few milliseconds, and `wait4`'s
/// `ru_maxrss` only when it is above what this process held at the spawn
/// (a forked child counts the pages it shared with its parent).
#[allow(clippy::zombie_processes)]
fn wait_with_usage(mut child: std::process::Child) -> (i32, Usage, (Vec<u8>, Vec<u8>)) {
    use std::io::Read;
    let ours_at_spawn = vm_hwm_kb("self").unwrap_or(0);
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let err = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let pid = child.id() as libc::pid_t;
    let proc_pid = pid.to_string();
    let mut polled = 0u64;
    let mut status = 0;
    let ru = loop {
        if let Some(kb) = vm_hwm_kb(&proc_pid) {
            polled = polled.max(kb);
        }
        // SAFETY: wait4 on our own child writes into the zeroed struct and
        // the status we pass it.
        let (r, ru) = unsafe {
            let mut ru: libc::rusage = std::mem::zeroed();
            let r = libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru);
            (r, ru)
        };
        if r == pid || r < 0 {
            break ru;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let maxrss = ru.ru_maxrss as u64;
    let peak_kb = if maxrss > ours_at_spawn {
        polled.max(maxrss)
    } else {
        polled
    };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    let usage = Usage {
        cpu: t(ru.ru_utime) + t(ru.ru_stime),
        max_rss_mb: peak_kb as f64 / 1024.0,
    };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let out = out.join().unwrap_or_default();
    (code, usage, (out, err.join().unwrap_or_default()))
}

/// The load average, as `/proc/loadavg` gives it (the 1-minute figure).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// (a) calamine alone over the sheet: wall seconds and the cells seen.
fn bare(path: &Path, ods: bool) -> (f64, u64) {
    use calamine::Reader;
    let t = Instant::now();
    let mut n = 0u64;
    if ods {
        let mut wb: calamine::Ods<_> = calamine::open_workbook(path).expect("open the ODS");
        let range = wb.worksheet_range(SHEET).expect("the ODS sheet");
        n = range.used_cells().count() as u64;
    } else {
        let mut wb: calamine::Xlsx<_> = calamine::open_workbook(path).expect("open the XLSX");
        let mut cells = wb.worksheet_cells_reader(SHEET).expect("the XLSX sheet");
        while let Some(c) = cells.next_cell().expect("a cell") {
            if !matches!(c.get_value(), calamine::DataRef::Empty) {
                n += 1;
            }
        }
    }
    (t.elapsed().as_secs_f64(), n)
}

/// XLSX's `worksheet_range`, for reference: wall seconds and cells.
fn bare_range(path: &Path) -> (f64, u64) {
    use calamine::Reader;
    let t = Instant::now();
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(path).expect("open the XLSX");
    let range = wb.worksheet_range(SHEET).expect("the XLSX sheet");
    (t.elapsed().as_secs_f64(), range.used_cells().count() as u64)
}

/// (b) One run of the command.
struct Run {
    wall: f64,
    cpu: f64,
    max_rss_mb: f64,
    rows_read: u64,
    invoices: u64,
    valid: u64,
    rejected: u64,
    by_code: serde_json::Value,
}

fn validate_command(input: &Path, mapping: &Path) -> Run {
    let bin =
        std::env::var_os("BENCH_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_facturare-etl").into());
    let t = Instant::now();
    let child = std::process::Command::new(bin)
        .arg("validate")
        .arg(input)
        .arg("--mapping")
        .arg(mapping)
        .arg("--json")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start facturare-etl validate");
    let (status, usage, output) = wait_with_usage(child);
    let wall = t.elapsed().as_secs_f64();
    assert!(
        matches!(status, 0 | 1),
        "validate failed ({status}): {}",
        String::from_utf8_lossy(&output.1)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&output.0).expect("validate --json prints its summary");
    let count = |k: &str| summary[k].as_u64().unwrap_or(0);
    Run {
        wall,
        cpu: usage.cpu,
        max_rss_mb: usage.max_rss_mb,
        rows_read: count("rows_read"),
        invoices: count("invoices_formed"),
        valid: count("valid"),
        rejected: count("rejected"),
        by_code: summary["by_code"].clone(),
    }
}

struct Input {
    name: &'static str,
    path: PathBuf,
    ods: bool,
}

fn main() {
    let rows: u64 = std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(200_000);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let formats: Vec<String> = std::env::var("BENCH_FORMATS")
        .unwrap_or_else(|_| "xlsx,ods".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let tmp = tempfile::tempdir().expect("a temp dir");
    let dir = std::env::var_os("BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("the bench directory");
    let mapping = dir.join("registru-xlsx.toml");
    std::fs::write(&mapping, MAPPING).expect("write the mapping");
    let mut inputs = Vec::new();
    for fmt in &formats {
        let (name, ods) = match fmt.as_str() {
            "xlsx" => ("xlsx", false),
            "ods" => ("ods", true),
            other => {
                panic!("BENCH_FORMATS: unknown format {other:?} (xlsx, ods; XLS is not generated)")
            }
        };
        let path = dir.join(format!("registru-{rows}.{name}"));
        let t = Instant::now();
        let reused = path.exists();
        if !reused {
            if ods {
                generate_ods(&path, rows);
            } else {
                generate_xlsx(&path, rows);
            }
        }
        println!(
            "{name}: {} {rows} rows, {:.1} MB, in {:.1}s ({})",
            if reused { "reused" } else { "generated" },
            std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6,
            t.elapsed().as_secs_f64(),
            path.display()
        );
        inputs.push(Input { name, path, ods });
    }
    let range = std::env::var_os("BENCH_RANGE").is_some();

    struct Round {
        bare: f64,
        b: Run,
    }
    let mut runs: Vec<Vec<Round>> = inputs.iter().map(|_| Vec::new()).collect();
    for round in 1..=rounds {
        for (input, runs) in inputs.iter().zip(runs.iter_mut()) {
            let (bare_wall, cells) = bare(&input.path, input.ods);
            if range && !input.ods {
                let (w, n) = bare_range(&input.path);
                println!(
                    "round {round} {}: worksheet_range {n} cells in {w:.2}s",
                    input.name
                );
            }
            let b = validate_command(&input.path, &mapping);
            println!(
                "round {round} {}: (a) calamine {} {cells} cells in {bare_wall:.2}s; (b) validate {:.2}s, CPU {:.2}s; ratio {:.2}; CPU/wall {:.2}; peak memory {:.0} MB; load {}",
                input.name,
                if input.ods { "worksheet_range" } else { "next_cell" },
                b.wall,
                b.cpu,
                bare_wall / b.wall,
                b.cpu / b.wall,
                b.max_rss_mb,
                loadavg(),
            );
            runs.push(Round { bare: bare_wall, b });
        }
    }
    println!();
    println!("median rounds of {rounds}:");
    for (input, runs) in inputs.iter().zip(runs.iter()) {
        let peak = runs.iter().map(|r| r.b.max_rss_mb).fold(0.0, f64::max);
        let mut sorted: Vec<&Round> = runs.iter().collect();
        sorted.sort_by(|x, y| (x.bare / x.b.wall).total_cmp(&(y.bare / y.b.wall)));
        let Round { bare, b } = sorted[sorted.len() / 2];
        println!(
            "{}: (a) calamine {bare:.2}s; (b) validate: {} rows, {} invoices ({} valid, {} rejected) in {:.2}s",
            input.name, b.rows_read, b.invoices, b.valid, b.rejected, b.wall
        );
        println!(
            "    ratio (a)/(b): {:.2} (rounds: {}); CPU/wall: {:.2}; peak memory (VmHWM, highest round): {peak:.0} MB",
            bare / b.wall,
            runs.iter()
                .map(|r| format!("{:.2}", r.bare / r.b.wall))
                .collect::<Vec<_>>()
                .join(", "),
            b.cpu / b.wall,
        );
        println!("    problems by code: {}", b.by_code);
        assert_eq!(b.rows_read, rows, "every data row read");
        assert!(b.rejected > 0, "the bad IDNO is found");
    }
}
