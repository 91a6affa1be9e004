//! Benchmark: the `validate` command (read + map + validate, the release
//! binary run as a user runs it) over generated registers, against the
//! bare `csv` crate reading the same file with a `StringRecord` loop, in
//! the same run.
//!
//! The files (`BENCH_FILES`, a comma list; default all four):
//! - `1c`: Windows-1251, `;`, decimal commas, `dd.mm.yyyy`, two title
//!   lines, one row per line item (1 to 4 per invoice), a totals row, no
//!   quotes; about 200 bytes a line.
//! - `quoted`, `shuffled`, `rejected`: the second generator's
//!   (`benches/support/register_ro.rs`): UTF-8 with Romanian and Russian
//!   text, 15 columns, about a sixth of the rows quoted (doubled quotes,
//!   delimiters, a few line breaks inside quotes), invoices of 1 to 5
//!   adjacent lines; the same shuffled; and a variant where most
//!   documents are rejected.
//!
//! `BENCH_LINES` sets each file's size (default 1,000,000 data lines).
//!
//! ```text
//! BENCH_LINES=1000000 cargo bench --bench validate
//! BENCH_FILES=quoted,rejected BENCH_DIR=/tmp/i15 cargo bench --bench validate
//! ```
//!
//! `BENCH_BIN=PATH` times another build of the command (before and after).
//! `BENCH_INPUT=PATH` keeps the generated 1C file at PATH (and reuses it
//! when it is already there), and `BENCH_DIR=DIR` the second generator's
//! files in DIR, for profiling the CLI on the same input:
//! `facturare-etl validate PATH --mapping PATH.toml` (or `DIR/registru.toml`).
//!
//! Prints, for each file, rows/s for both, their ratio, the command's peak
//! memory (its `VmHWM`, see [`wait_with_usage`]) and CPU use ((user + sys) / wall), and the rejected
//! file's time against the quoted one's. (a) and (b) run in rounds, one
//! right after the other (`BENCH_ROUNDS`, default 3), each round going
//! through every file: each round's ratio compares them under the same
//! conditions, and the median round is the result, as this machine's speed
//! drifts by tens of percent between runs. `BENCH_REFERENCE=1` adds, over
//! the first file, read + map alone (c) and validation alone (d), through
//! the library.

use facturare_etl::model::idno::check_digit;
use facturare_etl::model::round_money;
use rust_decimal::Decimal;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

#[global_allocator]
static GLOBAL: facturare_etl::alloc::Mi = facturare_etl::alloc::Mi;

const HEADER: &str = "Номер;Дата;Код контрагента;Контрагент;IDNO;Номенклатура;Ед.;Количество;Цена;Ставка НДС;Сумма без НДС;Сумма НДС;Всего;Валюта;Комментарий";

const MAPPING: &str = r#"version = 1
name = "bench-1c"

[source]
format = "csv"
encoding = "windows-1251"
delimiter = ";"
header_row = 3
skip_rows_matching = { column = "Номер", regex = "^Итого" }

[invoice]
group_by = "Номер"
number = "Номер"
date = { column = "Дата", date = ["%d.%m.%Y"] }
currency = { column = "Валюта", default = "MDL" }
metadata.source = { value = "1c" }

[customer]
number = "Код контрагента"
name = { column = "Контрагент", transform = ["trim", "collapse_spaces"] }
tax_id = "IDNO"

[line]
name = "Номенклатура"
quantity = { column = "Количество", decimal = "ru" }
unit_cost = { column = "Цена", decimal = "ru" }
taxes = { column = "Ставка НДС", lookup = { "20%" = "tva20", "8%" = "tva8", "0%" = "tva0" } }
check_net = { column = "Сумма без НДС", decimal = "ru" }
check_vat = { column = "Сумма НДС", decimal = "ru" }
check_gross = { column = "Всего", decimal = "ru" }
"#;

const GOODS: [&str; 8] = [
    "Хлеб пшеничный нарезной 400 г",
    "Молоко пастеризованное 2,5% 1 л",
    "Сыр твёрдый «Российский» весовой",
    "Услуги по доставке товара, рейс",
    "Масло подсолнечное рафинированное 1 л",
    "Кефир 1% в бутылке ПЭТ 900 г",
    "Консультационные услуги (час)",
    "Вода минеральная газированная 1,5 л",
];
const CUSTOMERS: [&str; 5] = [
    "ООО «Молдтрейд Групп»",
    "SRL Agro  Invest",
    "ИП Черненко Андрей Викторович",
    "ООО «Кишинэу Продукт Сервис»",
    "SA Franzeluta (Кишинёв)",
];

/// `1 234,50`: a space between thousands, a decimal comma.
fn ru(d: Decimal) -> String {
    let s = format!("{:.2}", d);
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let neg = int.starts_with('-');
    let digits = int.trim_start_matches('-');
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(' ');
        }
        grouped.push(ch);
    }
    format!("{}{grouped},{frac}", if neg { "-" } else { "" })
}

fn idno(seed: u64) -> String {
    let mut first = [0u32; 12];
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    first[0] = 1;
    for d in first.iter_mut().skip(1) {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51afd7ed558ccd);
        *d = (x % 10) as u32;
    }
    let mut s: String = first.iter().map(|d| char::from(b'0' + *d as u8)).collect();
    s.push(char::from(b'0' + check_digit(&first) as u8));
    s
}

/// Write the export; returns its size in bytes and its data lines.
fn generate(path: &Path, lines: u64) -> (u64, u64) {
    let file = std::fs::File::create(path).expect("create the bench file");
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut put = |text: &str| {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
        out.write_all(&bytes).expect("write the bench file");
        bytes.len() as u64
    };
    let mut size = put("Реестр реализации товаров и услуг\r\nПериод: 01.01.2023 - 31.12.2024\r\n");
    size += put(HEADER);
    size += put("\r\n");
    let mut written = 0u64;
    let mut inv = 0u64;
    let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 2).expect("a date");
    while written < lines {
        inv += 1;
        let n_lines = 1 + inv % 4;
        let date = start + chrono::Duration::days((inv % 700) as i64);
        let cust = inv % 997;
        let tax_id = if inv % 1000 == 7 {
            "1008600038412".to_string() // a bad check digit: one invoice in 1000
        } else {
            idno(cust)
        };
        for l in 0..n_lines {
            if written == lines {
                break;
            }
            let q = Decimal::new(((inv * 7 + l * 3) % 50 + 1) as i64 * 1000, 3);
            let price = Decimal::new(((inv * 13 + l * 17) % 200_000 + 50) as i64, 2);
            let (rate, pct) = if (inv + l) % 3 == 0 {
                ("8%", 8)
            } else {
                ("20%", 20)
            };
            let net = round_money(q * price);
            let vat = round_money(net * Decimal::from(pct) / Decimal::ONE_HUNDRED);
            let line = format!(
                "МД-{inv:07};{};К-{cust:04};{};{tax_id};{};шт;{};{};{rate};{};{};{};MDL;Отгрузка по договору № {} от {}\r\n",
                date.format("%d.%m.%Y"),
                CUSTOMERS[(cust % 5) as usize],
                GOODS[((inv + l) % 8) as usize],
                q.to_string().replace('.', ","),
                ru(price),
                ru(net),
                ru(vat),
                ru(net + vat),
                cust * 3 + 11,
                date.format("%d.%m.%Y"),
            );
            size += put(&line);
            written += 1;
        }
    }
    size += put("Итого;;;;;;;;;;;;;;\r\n");
    out.flush().expect("flush the bench file");
    (size, written)
}

fn rusage_cpu() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we pass it.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
        t(ru.ru_utime) + t(ru.ru_stime)
    }
}

/// A child's resources, as `wait4` reports them.
struct Usage {
    cpu: f64,
    max_rss_mb: f64,
}

/// The peak resident memory `/proc` shows for a process (kB): its
/// `VmHWM`, the high-water mark of its own image since its exec.
fn vm_hwm_kb(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Wait for `child`, reading its stdout and stderr; its exit code, CPU
/// time and peak memory.
///
/// The peak is the child's `VmHWM`, polled every few milliseconds while
/// it runs. `wait4`'s `ru_maxrss` alone is not the command's: a forked
/// child counts the pages it shared with this process before its exec
/// (this bench holds a generated file's worth), so it is taken only when
/// it is above what this process held at the spawn. The child is reaped
/// by `wait4` (for its resource use), which clippy cannot see.
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

#[path = "support/register_ro.rs"]
mod register_ro;

/// One file the bench times: the 1C register or one of the second
/// generator's kinds.
struct Input {
    name: &'static str,
    path: std::path::PathBuf,
    mapping: std::path::PathBuf,
    /// Windows-1251 (the 1C register), else UTF-8.
    cp1251: bool,
    written: u64,
}

fn main() {
    let lines: u64 = std::env::var("BENCH_LINES")
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(1_000_000);
    // Which files: `1c` (the first generator) and the second generator's
    // `quoted`, `shuffled`, `rejected` (benches/support/register_ro.rs).
    let kinds: Vec<String> = std::env::var("BENCH_FILES")
        .unwrap_or_else(|_| "1c,quoted,shuffled,rejected".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let dir = tempfile::tempdir().expect("a temp dir");
    // BENCH_DIR keeps the second generator's files (and reuses them).
    let keep_dir = std::env::var_os("BENCH_DIR").map(std::path::PathBuf::from);
    let mut inputs: Vec<Input> = Vec::new();
    for kind in &kinds {
        let t = Instant::now();
        let input = if kind == "1c" {
            let kept = std::env::var_os("BENCH_INPUT").map(std::path::PathBuf::from);
            let input = kept
                .clone()
                .unwrap_or_else(|| dir.path().join("realizatsiya.csv"));
            let mapping = match &kept {
                Some(k) => k.with_extension("toml"),
                None => dir.path().join("1c.toml"),
            };
            std::fs::write(&mapping, MAPPING).expect("write the mapping");
            let reused = kept.as_ref().is_some_and(|k| k.exists());
            let (size, written) = match kept.as_ref().filter(|_| reused) {
                Some(k) => {
                    let size = std::fs::metadata(k).expect("the kept input").len();
                    (size, lines)
                }
                None => generate(&input, lines),
            };
            println!(
                "1c: {} {written} lines, {:.1} MB, in {:.1}s ({})",
                if reused { "reused" } else { "generated" },
                size as f64 / 1e6,
                t.elapsed().as_secs_f64(),
                input.display()
            );
            Input {
                name: "1c",
                path: input,
                mapping,
                cp1251: true,
                written,
            }
        } else {
            let k = match kind.as_str() {
                "quoted" => register_ro::Kind::Quoted,
                "shuffled" => register_ro::Kind::Shuffled,
                "rejected" => register_ro::Kind::Rejected,
                other => {
                    panic!("BENCH_FILES: unknown kind {other:?} (1c, quoted, shuffled, rejected)")
                }
            };
            let base = keep_dir.clone().unwrap_or_else(|| dir.path().to_path_buf());
            std::fs::create_dir_all(&base).expect("the bench directory");
            let path = base.join(format!("registru-{}-{lines}.csv", k.name()));
            let mapping = base.join("registru.toml");
            std::fs::write(&mapping, register_ro::MAPPING).expect("write the mapping");
            let reused = keep_dir.is_some() && path.exists();
            let (size, written, quoted) = if reused {
                (
                    std::fs::metadata(&path).expect("the kept input").len(),
                    lines,
                    0,
                )
            } else {
                register_ro::generate(&path, lines, k)
            };
            println!(
                "{}: {} {written} lines ({quoted} quoted), {:.1} MB, in {:.1}s ({})",
                k.name(),
                if reused { "reused" } else { "generated" },
                size as f64 / 1e6,
                t.elapsed().as_secs_f64(),
                path.display()
            );
            Input {
                name: k.name(),
                path,
                mapping,
                cp1251: false,
                written,
            }
        };
        inputs.push(input);
    }

    // (a) and (b) in rounds, one right after the other, so that each ratio
    // compares the two under the same conditions; the median round counts.
    // Each round goes through every file, so that the files' times (the
    // rejected against the quoted) compare within a round too.
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let mut runs: Vec<Vec<Round>> = (0..inputs.len()).map(|_| Vec::new()).collect();
    for round in 1..=rounds {
        for (input, runs) in inputs.iter().zip(runs.iter_mut()) {
            let bare_rate = bare_reader(&input.path, input.cp1251);
            let b = validate_command(&input.path, &input.mapping);
            println!(
                "round {round} {}: (a) csv StringRecord {bare_rate:.0} rows/s; (b) validate {:.0} rows/s in {:.2}s; ratio {:.2}; CPU/wall {:.2}; peak memory {:.0} MB; load {}",
                input.name,
                b.rate,
                b.wall,
                b.rate / bare_rate,
                b.cpu / b.wall,
                b.max_rss_mb,
                loadavg(),
            );
            runs.push(Round { bare_rate, b });
        }
    }
    println!();
    println!("median rounds of {rounds}:");
    for (input, runs) in inputs.iter().zip(runs.iter()) {
        let peak = runs.iter().map(|r| r.b.max_rss_mb).fold(0.0, f64::max);
        let mut sorted: Vec<&Round> = runs.iter().collect();
        sorted.sort_by(|x, y| (x.b.rate / x.bare_rate).total_cmp(&(y.b.rate / y.bare_rate)));
        let Round { bare_rate, b } = sorted[sorted.len() / 2];
        println!(
            "{}: (a) csv StringRecord {bare_rate:.0} rows/s; (b) validate: {} rows, {} invoices ({} valid, {} rejected) in {:.2}s = {:.0} rows/s",
            input.name, b.rows_read, b.invoices, b.valid, b.rejected, b.wall, b.rate
        );
        println!(
            "    ratio (b)/(a): {:.2} (rounds: {}); CPU (user+sys)/wall: {:.2}; peak memory (VmHWM, highest round): {peak:.0} MB",
            b.rate / bare_rate,
            runs.iter()
                .map(|r| format!("{:.2}", r.b.rate / r.bare_rate))
                .collect::<Vec<_>>()
                .join(", "),
            b.cpu / b.wall,
        );
        println!("    problems by code: {}", b.by_code);
        if input.name == "1c" {
            assert_eq!(
                b.rows_read,
                input.written + 1,
                "every data line and the totals row read"
            );
            assert!(
                b.rejected > 0 || input.written < 8000,
                "the bad IDNOs are found"
            );
        } else {
            assert_eq!(b.rows_read, input.written, "every data record read");
        }
    }
    // The rejected file against the quoted one, round by round.
    let at = |name: &str| inputs.iter().position(|i| i.name == name);
    if let (Some(q), Some(r)) = (at("quoted"), at("rejected")) {
        let mut ratios: Vec<f64> = runs[r]
            .iter()
            .zip(&runs[q])
            .map(|(r, q)| r.b.wall / q.b.wall)
            .collect();
        let shown: Vec<String> = ratios.iter().map(|x| format!("{x:.2}")).collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "rejected / quoted wall time: {:.2} (median; rounds: {}; target ≤ 1.3)",
            ratios[ratios.len() / 2],
            shown.join(", ")
        );
    }

    if std::env::var_os("BENCH_REFERENCE").is_some() {
        if let Some(first) = inputs.first() {
            reference(&first.path, &first.mapping);
        }
    }
}

/// The load average, as `/proc/loadavg` gives it (the 1-minute figure).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// (c) and (d), for reference (`BENCH_REFERENCE=1`), over the first file.
fn reference(input: &Path, mapping: &Path) {
    // (c) for reference: read + map alone (the mapping's share of (b)).
    let m = facturare_etl::mapping::Mapping::load(mapping).expect("the bench mapping");
    let cpu0 = rusage_cpu();
    let t = Instant::now();
    let mut drafts =
        facturare_etl::mapping::drafts(&m, &[input.to_path_buf()]).expect("the bench input opens");
    let n_drafts = drafts.by_ref().filter(Result::is_ok).count();
    let map_wall = t.elapsed().as_secs_f64();
    let map_cpu = rusage_cpu() - cpu0;
    println!(
        "(c) read + map only: {n_drafts} invoices from {} rows in {map_wall:.2}s = {:.0} rows/s (CPU/wall {:.2})",
        drafts.stats().rows_read,
        drafts.stats().rows_read as f64 / map_wall,
        map_cpu / map_wall
    );
    drop(drafts);

    // (d) for reference: validation alone, over drafts mapped beforehand
    // (at most 100,000 held in memory; after (b) so its peak is not counted).
    // The outcomes are kept until the clock stops: dropping them (whole
    // drafts, on the thread that consumes them) is the consumer's cost, not
    // validation's, and is timed on its own.
    let held: Vec<_> = facturare_etl::mapping::drafts(&m, &[input.to_path_buf()])
        .expect("the bench input opens")
        .filter_map(Result::ok)
        .take(100_000)
        .collect();
    let n_held = held.len();
    let rules = facturare_etl::validate::Rules::default();
    // Their memory is touched beforehand, so that the clock does not count
    // the kernel zeroing fresh pages.
    let mut outcomes: Vec<facturare_etl::validate::Outcome> = Vec::with_capacity(n_held);
    for slot in outcomes.spare_capacity_mut() {
        *slot = std::mem::MaybeUninit::zeroed();
    }
    let cpu0 = rusage_cpu();
    let t = Instant::now();
    #[allow(clippy::result_large_err)] // as in validate: an outcome moves its draft
    {
        use rayon::prelude::*;
        held.into_par_iter()
            .with_min_len(64)
            .map(|d| facturare_etl::validate::validate_one(d, &rules))
            .collect_into_vec(&mut outcomes);
    }
    let v_wall = t.elapsed().as_secs_f64();
    let v_cpu = rusage_cpu() - cpu0;
    let valid = outcomes.iter().filter(|o| o.is_ok()).count();
    let t = Instant::now();
    drop(outcomes);
    let drop_wall = t.elapsed().as_secs_f64();
    println!(
        "(d) validation alone: {n_held} invoices ({valid} valid) in {v_wall:.3}s = {:.0} invoices/s, {:.2} µs each (CPU/wall {:.2}); then dropping them: {drop_wall:.3}s on one thread",
        n_held as f64 / v_wall,
        v_wall * 1e6 / n_held as f64,
        v_cpu / v_wall
    );
}

/// (a) The bare csv crate over the file, a `StringRecord` loop, decoding
/// cp1251 as any reader of the 1C file must (the UTF-8 files are read as
/// they are, `StringRecord` checking their UTF-8): rows per second.
fn bare_reader(input: &Path, cp1251: bool) -> f64 {
    let t = Instant::now();
    let file = std::fs::File::open(input).expect("open the bench file");
    let reader: Box<dyn std::io::Read> = if cp1251 {
        Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(Some(encoding_rs::WINDOWS_1251))
                .build(std::io::BufReader::with_capacity(1 << 20, file)),
        )
    } else {
        Box::new(file)
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(b';')
        .flexible(true)
        .has_headers(false)
        .buffer_capacity(1 << 20)
        .from_reader(reader);
    let mut rec = csv::StringRecord::new();
    let mut bare_rows = 0u64;
    while rdr.read_record(&mut rec).expect("read a record") {
        bare_rows += 1;
    }
    // The header line is not a data row (the 1C file's titles and totals
    // row are counted, as before).
    if !cp1251 {
        bare_rows = bare_rows.saturating_sub(1);
    }
    bare_rows as f64 / t.elapsed().as_secs_f64()
}

/// One round: (a)'s rate and (b)'s run.
struct Round {
    bare_rate: f64,
    b: Run,
}

/// (b) A run of the `validate` command.
struct Run {
    wall: f64,
    rate: f64,
    cpu: f64,
    max_rss_mb: f64,
    rows_read: u64,
    invoices: u64,
    valid: u64,
    rejected: u64,
    by_code: serde_json::Value,
}

/// (b) The command itself, as a user runs it (the release binary, in a
/// child process: its own allocator, threads and memory).
fn validate_command(input: &Path, mapping: &Path) -> Run {
    let t = Instant::now();
    // BENCH_BIN: another build of the command (a before-and-after pair).
    let bin =
        std::env::var_os("BENCH_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_facturare-etl").into());
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
    let rows_read = count("rows_read");
    Run {
        wall,
        rate: rows_read as f64 / wall,
        cpu: usage.cpu,
        max_rss_mb: usage.max_rss_mb,
        rows_read,
        invoices: count("invoices_formed"),
        valid: count("valid"),
        rejected: count("rejected"),
        by_code: summary["by_code"].clone(),
    }
}
