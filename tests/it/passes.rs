//! Integration tests: reading in one pass gives what two passes give. A
//! file grouped by key is read in one pass when each document's rows are
//! adjacent, and read again in two passes when a key comes back (the
//! stream starts over); a CSV file is split quickly in one pass and read
//! again by the parser when it needs the parser. Generated registers, in
//! many shapes (quotes, line breaks, rows with no key, skipped, blank and
//! ragged rows, a key coming back early or late, workbooks, two files),
//! are read both ways and compared document by document, in order; the
//! number of restarts says which way each went. Then `validate` with its
//! reports on a file that starts over after its last document: every
//! problem and rejected row once.

use crate::support::{bin, TestDir};
use facturare_etl::mapping::{draft_view, drafts, DraftStats, Mapping, Step};
use std::path::{Path, PathBuf};

const MAPPING: &str = r#"version = 1
[source]
format = "csv"
delimiter = ";"
skip_rows_matching = { column = "Nr", regex = "^\\s*Total" }

[invoice]
group_by = "Nr"
number = "Nr"
date = { column = "Data", date = "%d.%m.%Y" }

[customer]
name = "Client"
tax_id = { column = "IDNO", transform = ["digits"] }

[line]
name = "Produs"
quantity = { column = "Cant", decimal = "ro" }
unit_cost = { column = "Pret", decimal = "ro" }
"#;

const HEADER: [&str; 7] = ["Nr", "Data", "Client", "IDNO", "Produs", "Cant", "Pret"];

/// A small LCG: deterministic, no extra dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize % n
    }
}

const CLIENTS: [&str; 6] = [
    "SRL \"Vinăria Purcari\"",
    "ООО «Агроком»",
    "Întreprinderea; Ștefan și fiii",
    "ÎI Țurcanu",
    "Moldtelecom SA",
    "SRL \"Lapte\nde țară\"",
];

/// Rows of `docs` documents of 1–5 adjacent lines each; about one in
/// `odd` rows is followed by a row of another kind (no key, a total to
/// skip, blank, short), when `odd` is set.
fn register(seed: u64, docs: usize, odd: Option<usize>) -> Vec<Vec<String>> {
    let mut r = Lcg(seed);
    let mut rows = Vec::new();
    for d in 0..docs {
        let client = CLIENTS[r.next(CLIENTS.len())];
        let day = 1 + r.next(28);
        for l in 0..1 + r.next(5) {
            // Now and then a line dated otherwise: the group disagrees.
            let day = if r.next(40) == 0 { day % 28 + 1 } else { day };
            rows.push(vec![
                format!("F-{d:05}"),
                format!("{day:02}.03.2025"),
                client.to_string(),
                "1003600045120".to_string(),
                format!("Marfă {l} \"{}\"", r.next(90)),
                format!("{},{}", 1 + r.next(9), r.next(100)),
                format!("{}", 10 + r.next(500)),
            ]);
            if let Some(odd) = odd {
                if r.next(odd) == 0 {
                    let mut odd_row = vec![String::new(); HEADER.len()];
                    match r.next(5) {
                        // No key: a document of its own.
                        0 => odd_row[2] = "fără număr".into(),
                        1 => odd_row[0] = "Total".into(),
                        // Blank.
                        2 => {}
                        // Short, with no key; short, of this document.
                        3 => odd_row = vec![String::new(), "01.03.2025".into()],
                        _ => odd_row = vec![format!("F-{d:05}"), "01.03.2025".into()],
                    }
                    rows.push(odd_row);
                }
            }
        }
    }
    rows
}

/// The rows in an order of the seed's.
fn shuffled(rows: &[Vec<String>], seed: u64) -> Vec<Vec<String>> {
    let mut rows = rows.to_vec();
    let mut r = Lcg(seed);
    for i in (1..rows.len()).rev() {
        rows.swap(i, r.next(i + 1));
    }
    rows
}

/// The rows as CSV with `;`, lines ending in `eol`: a field quoted when it
/// needs it, and about one in `quote_any` others too.
fn csv(rows: &[Vec<String>], eol: &str, quote_any: usize, seed: u64) -> String {
    let mut r = Lcg(seed);
    let mut out = HEADER.join(";") + eol;
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .map(|c| {
                let needs = c.contains([';', '"', '\n', '\r']);
                if needs || r.next(quote_any) == 0 {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c.clone()
                }
            })
            .collect();
        out.push_str(&cells.join(";"));
        out.push_str(eol);
    }
    out
}

fn view(d: &facturare_etl::model::Draft) -> serde_json::Value {
    let mut v = draft_view(d);
    v["source_key"] = serde_json::json!(d.source_key);
    v
}

/// The files' documents read in two passes, and read in one pass (after
/// its last restart), with the stats, and the restarts it took.
type Read = (Vec<serde_json::Value>, DraftStats);

fn both_ways(m: &Mapping, files: &[PathBuf]) -> (Read, Read, usize) {
    let mut two = drafts(m, files).unwrap_or_else(|e| panic!("{e}"));
    let docs: Vec<serde_json::Value> = two
        .by_ref()
        .map(|d| view(&d.unwrap_or_else(|e| panic!("{e}"))))
        .collect();
    let two = (docs, two.stats());
    let mut one = drafts(m, files)
        .unwrap_or_else(|e| panic!("{e}"))
        .restartable();
    let (mut docs, mut restarts) = (Vec::new(), 0);
    while let Some(step) = one.next_step() {
        match step.unwrap_or_else(|e| panic!("{e}")) {
            Step::Item(d) => docs.push(view(&d)),
            Step::Restart => {
                docs.clear();
                restarts += 1;
            }
        }
    }
    (two, (docs, one.stats()), restarts)
}

fn check(name: &str, m: &Mapping, files: &[PathBuf], restarts: usize) {
    let (two, one, n) = both_ways(m, files);
    assert!(!two.0.is_empty(), "{name}: no documents");
    assert_eq!(one.1, two.1, "{name}: the counts");
    assert_eq!(one.0.len(), two.0.len(), "{name}: the number of documents");
    for (i, (a, b)) in one.0.iter().zip(&two.0).enumerate() {
        assert_eq!(a, b, "{name}: document {i}");
    }
    assert_eq!(n, restarts, "{name}: restarts");
}

fn mapping(dir: &TestDir) -> Mapping {
    Mapping::load(&dir.write("m.toml", MAPPING)).unwrap()
}

#[test]
fn csv_files_read_in_one_pass_give_what_two_passes_give() {
    let dir = TestDir::new();
    let m = mapping(&dir);
    for seed in [1, 7, 23] {
        let rows = register(seed, 400, None);
        let odd = register(seed, 400, Some(6));
        // The odd rows with nothing to quote.
        let unquoted: Vec<Vec<String>> = odd
            .iter()
            .map(|row| {
                row.iter()
                    .map(|c| c.replace(['"', ';', '\n'], " "))
                    .collect()
            })
            .collect();
        // A key coming back once, after the last document (a correction
        // appended at the end); shuffled files have keys back early.
        let mut late = rows.clone();
        late.push(rows[1].clone());
        let cases: Vec<(&str, String, usize)> = vec![
            ("adjacent, LF", csv(&rows, "\n", 6, seed), 0),
            ("adjacent, CRLF", csv(&rows, "\r\n", 6, seed), 0),
            (
                "adjacent, no quotes",
                csv(&unquoted, "\n", usize::MAX, seed),
                0,
            ),
            ("adjacent, with odd rows", csv(&odd, "\n", 6, seed), 0),
            ("adjacent, every field quoted", csv(&rows, "\n", 1, seed), 0),
            ("shuffled", csv(&shuffled(&rows, seed), "\n", 6, seed), 1),
            ("a key back at the end", csv(&late, "\r\n", 6, seed), 1),
            (
                "odd rows, shuffled",
                csv(&shuffled(&odd, seed), "\n", 6, seed),
                1,
            ),
        ];
        for (name, text, restarts) in cases {
            let f = dir.write(
                format!("{seed}-{}.csv", name.replace([' ', ','], "_")),
                &text,
            );
            check(&format!("{name} (seed {seed})"), &m, &[f], restarts);
        }
    }
}

#[test]
fn files_the_quick_splitter_cannot_number_are_read_again_by_the_parser() {
    let dir = TestDir::new();
    let m = mapping(&dir);
    let rows = register(5, 300, Some(8));
    let text = csv(&rows, "\n", 5, 5);
    // Line breaks of both kinds: numbered as the parser numbers them only
    // when read by it; the splitter finds out at the end.
    let mixed: String = text
        .split_inclusive('\n')
        .enumerate()
        .map(|(i, l)| match i % 3 {
            0 => l.replace('\n', "\r\n"),
            _ => l.to_string(),
        })
        .collect();
    check("mixed line breaks", &m, &[dir.write("mixed.csv", mixed)], 1);
    // A quote inside an unquoted field, half-way down: the splitter leaves
    // the file to the parser.
    let mut odd = text.clone();
    let at = odd[odd.len() / 2..].find("\nF-").unwrap() + odd.len() / 2 + 1;
    odd.insert_str(at + 2, "1\"2");
    check("a stray quote", &m, &[dir.write("stray.csv", odd)], 1);
    // Windows-1251 (a single-byte code page the splitter decodes).
    let cyr = csv(&register(6, 300, Some(8)), "\r\n", 5, 6);
    let bytes = encoding_rs::WINDOWS_1251.encode(&cyr).0.into_owned();
    let m1251 = MAPPING.replace(
        "format = \"csv\"",
        "format = \"csv\"\nencoding = \"windows-1251\"",
    );
    let m1251 = Mapping::load(&dir.write("m1251.toml", m1251)).unwrap();
    check("windows-1251", &m1251, &[dir.write("cyr.csv", bytes)], 0);
}

#[test]
fn more_rows_of_their_own_than_may_wait_behind_a_group_read_in_two_passes() {
    let dir = TestDir::new();
    let m = mapping(&dir);
    // Rows with no key between two rows of the last document: 300 wait
    // behind it and go out after it, in one pass; 1,100 are too many.
    for (waiting, restarts) in [(300, 0), (1100, 1)] {
        let mut rows = register(9, 20, None);
        let last = rows.last().unwrap().clone();
        for i in 0..waiting {
            rows.push(vec![String::new(), "01.03.2025".into(), format!("c{i}")]);
        }
        rows.push(last);
        let f = dir.write(format!("wait-{waiting}.csv"), csv(&rows, "\n", 7, 9));
        check(&format!("{waiting} waiting"), &m, &[f], restarts);
    }
}

fn xlsx(path: &Path, rows: &[Vec<String>]) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(r as u32 + 1, c as u16, v).unwrap();
            }
        }
    }
    wb.save(path).unwrap();
}

#[test]
fn workbooks_and_several_files_read_in_one_pass_give_what_two_passes_give() {
    let dir = TestDir::new();
    let m = Mapping::load(&dir.write(
        "mx.toml",
        MAPPING.replace("format = \"csv\"\ndelimiter = \";\"\n", ""),
    ))
    .unwrap();
    let rows = register(11, 300, Some(7));
    let adjacent = dir.join("a.xlsx");
    xlsx(&adjacent, &rows);
    check("xlsx, adjacent", &m, std::slice::from_ref(&adjacent), 0);
    let s = dir.join("s.xlsx");
    xlsx(&s, &shuffled(&rows, 11));
    check("xlsx, shuffled", &m, std::slice::from_ref(&s), 1);
    // Two files, the second shuffled: the stream starts over from the first.
    check("two files", &m, &[adjacent.clone(), s], 1);
    let csv_m = mapping(&dir);
    let a = dir.write("a.csv", csv(&rows, "\n", 6, 11));
    let b = dir.write("b.csv", csv(&register(12, 200, Some(7)), "\n", 6, 12));
    check("two adjacent csv files", &csv_m, &[a, b], 0);
}

#[test]
fn a_mapping_without_grouping_reads_quoted_csv_in_one_pass() {
    let dir = TestDir::new();
    let m = Mapping::load(&dir.write("per-row.toml", MAPPING.replace("group_by = \"Nr\"\n", "")))
        .unwrap();
    let rows = register(13, 300, Some(6));
    check(
        "per row",
        &m,
        &[dir.write("r.csv", csv(&rows, "\n", 4, 13))],
        0,
    );
}

/// `validate` on a file whose last row names the first document again:
/// the first reading is given up after every other document was judged,
/// and the reports hold each problem and each rejected row once.
#[test]
fn validate_starting_over_reports_each_problem_once() {
    let dir = TestDir::new();
    dir.write("m.toml", MAPPING);
    let mut rows = register(17, 200, None);
    for row in &mut rows {
        (row[1], row[2]) = ("05.03.2025".into(), "SRL \"Lapte; de țară\"".into());
    }
    // Three documents with a date that is not one, and the first
    // document's key once more at the end.
    let mut bad = Vec::new();
    for n in ["F-00010", "F-00020", "F-00030"] {
        for row in rows.iter_mut().filter(|r| r[0] == n) {
            row[1] = "32.13.2025".into();
        }
        bad.push(n);
    }
    let mut back = rows[0].clone();
    back[4] = "Marfă adăugată".into();
    rows.push(back);
    let bad_rows = rows.iter().filter(|r| bad.contains(&r[0].as_str())).count();
    dir.write("in.csv", csv(&rows, "\n", 6, 17));
    let out = bin(dir.path())
        .args(["validate", "in.csv", "--mapping", "m.toml", "--json"])
        .args(["--rejects", "rejects.csv", "--errors", "errors.csv"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["invoices_formed"], 200, "{summary}");
    assert_eq!(summary["rejected"], 3, "{summary}");
    assert_eq!(summary["errors"], 3, "{summary}");
    assert_eq!(summary["rows_read"], rows.len(), "{summary}");
    let errors = std::fs::read_to_string(dir.join("errors.csv")).unwrap();
    let bad_dates = errors.lines().filter(|l| l.contains("32.13.2025")).count();
    assert_eq!(bad_dates, 3, "one bad date a document:\n{errors}");
    let rejects = std::fs::read_to_string(dir.join("rejects.csv")).unwrap();
    let rejected_rows = rejects.lines().filter(|l| l.contains("32.13.2025")).count();
    assert_eq!(
        rejected_rows, bad_rows,
        "each rejected row once:\n{rejects}"
    );
}
