//! Where the data is and a sample of it: the JSON paths of the records and
//! their lines, the sheet(s) of a workbook (`"*"` when several sheets share
//! the best header and the first sheet is one of them, else the list of
//! those sheets), the header row below title lines (the row whose cells
//! name the most fields), and up to [`SAMPLE_ROWS`] rows read as the
//! mapping will read them.

use super::vocabulary::{score, FIELDS};
use crate::read::{self, Detected, Format, ReadError, SheetSel, SourceRow, SourceSpec};
use std::path::Path;

/// Rows read to guess from: all of a small file, the first ones of a big one.
pub(super) const SAMPLE_ROWS: usize = 5000;

/// Rows searched for the header, below titles.
const HEADER_ROWS: u64 = 20;

/// Sheets looked at in a workbook.
const MAX_SHEETS: usize = 40;

/// Which sheets the guess reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Sheets {
    /// Not a workbook.
    None,
    One(String),
    /// `"*"`: these sheets share the header; the others are skipped.
    All {
        read: Vec<String>,
        skipped: Vec<String>,
    },
    /// These sheets share the header, but the first sheet does not.
    List(Vec<String>),
}

/// The sample and how it was found.
pub(super) struct Sample {
    pub(super) spec: SourceSpec,
    pub(super) detected: Detected,
    pub(super) headers: Vec<String>,
    pub(super) rows: Vec<SourceRow>,
    pub(super) sheets: Sheets,
    /// Rows past the sample (the file is bigger).
    pub(super) more: bool,
}

/// A header row: its row number, names, and how many fields they name.
type Header = (u64, Vec<String>, usize);

/// How many distinct fields a header row names.
fn header_score(headers: &[String]) -> usize {
    let mut named = std::collections::BTreeSet::new();
    for h in headers {
        if let Some(f) = FIELDS
            .iter()
            .filter(|f| **f != "row_no")
            .filter_map(|f| score(h, f).map(|m| (m.score, *f)))
            .filter(|(s, _)| *s >= 40)
            .max()
            .map(|(_, f)| f)
        {
            named.insert(f);
        }
    }
    named.len()
}

/// The best header row of one sheet (or of a CSV file): its row, names and
/// score.
fn best_header(file: &Path, spec: &SourceSpec) -> Result<Option<Header>, ReadError> {
    let mut best: Option<Header> = None;
    let mut row = 1u64;
    while row <= HEADER_ROWS {
        let mut s = spec.clone();
        s.header_row = row;
        let src = match read::open(file, &s) {
            Ok(src) => src,
            Err(e) if row == 1 => return Err(e),
            Err(_) => break,
        };
        let found = src.detected().header_row.unwrap_or(row);
        let n = header_score(src.headers());
        if best.as_ref().is_none_or(|(_, _, b)| n > *b) {
            best = Some((found, src.headers().to_vec(), n));
        } else if best.as_ref().is_some_and(|(_, _, b)| *b >= 3 && n < *b) {
            // Below a good header the rows are data.
            break;
        }
        row = found.max(row) + 1;
    }
    Ok(best)
}

/// JSON: the path to the first array of objects (the records), and the
/// path to an array of objects inside the first record (its lines).
fn json_paths(file: &Path) -> (Option<String>, Option<String>) {
    use serde_json::Value;
    fn find(v: &Value, path: &mut Vec<String>, depth: usize) -> Option<Vec<String>> {
        match v {
            Value::Array(a) if a.first().is_some_and(Value::is_object) => Some(path.clone()),
            Value::Object(m) if depth < 4 => {
                for (k, x) in m {
                    path.push(k.clone());
                    if let Some(p) = find(x, path, depth + 1) {
                        return Some(p);
                    }
                    path.pop();
                }
                None
            }
            _ => None,
        }
    }
    let Ok(bytes) = std::fs::read(file) else {
        return (None, None);
    };
    let Ok(root) = serde_json::from_slice::<Value>(&bytes) else {
        return (None, None);
    };
    let records = find(&root, &mut Vec::new(), 0);
    let lines = records.as_ref().and_then(|p| {
        let arr = p.iter().try_fold(&root, |v, k| v.get(k))?;
        let first = arr.as_array()?.first()?;
        match first {
            Value::Object(m) => m.iter().find_map(|(k, x)| {
                x.as_array()
                    .filter(|a| a.first().is_some_and(Value::is_object))
                    .map(|_| k.clone())
            }),
            _ => None,
        }
    });
    let records = records.filter(|p| !p.is_empty()).map(|p| p.join("."));
    (records, lines)
}

/// Read the sample of `file`.
pub(super) fn sample(file: &Path) -> Result<Sample, ReadError> {
    let format = Format::from_path(file);
    let mut spec = SourceSpec::default();
    let mut sheets = Sheets::None;
    match format {
        Some(Format::Json) => {
            let (records, lines) = json_paths(file);
            spec.records = records;
            spec.lines = lines;
        }
        Some(Format::JsonLines) => {}
        Some(Format::Xlsx | Format::Xls | Format::Ods) => {
            let (s, row) = choose_sheets(file)?;
            spec.header_row = row;
            spec.sheet = match &s {
                Sheets::One(n) => Some(SheetSel::Name(n.clone())),
                Sheets::All { .. } => Some(SheetSel::All),
                Sheets::List(l) => Some(SheetSel::List(l.clone())),
                Sheets::None => None,
            };
            sheets = s;
        }
        _ => {
            if let Some((row, _, _)) = best_header(file, &spec)? {
                spec.header_row = row;
            }
        }
    }
    let mut src = read::open(file, &spec)?;
    let headers = src.headers().to_vec();
    let detected = src.detected().clone();
    if let Some(r) = detected.header_row {
        spec.header_row = r;
    }
    let mut rows = Vec::new();
    let mut more = false;
    for item in src.by_ref() {
        if rows.len() == SAMPLE_ROWS {
            more = true;
            break;
        }
        match item {
            Ok(r) => rows.push(r),
            Err(ReadError::Ragged { row, .. }) => rows.push(*row),
            Err(e) if e.is_fatal() => return Err(e),
            Err(_) => {}
        }
    }
    Ok(Sample {
        spec,
        detected,
        headers,
        rows,
        sheets,
        more,
    })
}

/// The sheet(s) to read and the header row: the sheet whose header names
/// the most fields, with the other sheets whose header has the same names.
fn choose_sheets(file: &Path) -> Result<(Sheets, u64), ReadError> {
    let mut found: Vec<(String, Option<Header>)> = Vec::new();
    for i in 1..=MAX_SHEETS {
        let spec = SourceSpec {
            sheet: Some(SheetSel::Index(i)),
            ..SourceSpec::default()
        };
        // The first sheet must open; past the last one there is none.
        let name = match read::open(file, &spec) {
            Ok(src) => src.detected().sheet.clone().unwrap_or_default(),
            Err(e) if i == 1 => {
                if e.to_string().contains("no header row") {
                    found.push((String::new(), None));
                    continue;
                }
                return Err(e);
            }
            Err(e) if e.to_string().contains("no sheet number") => break,
            Err(_) => {
                found.push((String::new(), None));
                continue;
            }
        };
        found.push((name, best_header(file, &spec).ok().flatten()));
    }
    let Some((name, Some((row, headers, _)))) = found
        .iter()
        .enumerate()
        .filter(|(_, (_, h))| h.is_some())
        .max_by(|(i, (_, a)), (j, (_, b))| {
            let (a, b) = (a.as_ref().map_or(0, |x| x.2), b.as_ref().map_or(0, |x| x.2));
            a.cmp(&b).then(j.cmp(i))
        })
        .map(|(_, x)| x.clone())
    else {
        return Ok((Sheets::None, 1));
    };
    let same = |h: &[String]| {
        let mut a: Vec<&String> = h.iter().collect();
        let mut b: Vec<&String> = headers.iter().collect();
        a.sort();
        b.sort();
        a == b
    };
    let sharing: Vec<String> = found
        .iter()
        .filter(|(_, h)| h.as_ref().is_some_and(|(r, h, _)| *r == row && same(h)))
        .map(|(n, _)| n.clone())
        .collect();
    if sharing.len() < 2 {
        return Ok((Sheets::One(name), row));
    }
    // `"*"` reads the sheets with the first one's header: those, if the
    // first sheet with a header at `row` is one of them.
    let star = SourceSpec {
        sheet: Some(SheetSel::All),
        header_row: row,
        ..SourceSpec::default()
    };
    let by_star = read::open(file, &star)
        .map(|src| src.detected().sheets.clone())
        .unwrap_or_default();
    let mut a = by_star.clone();
    let mut b = sharing.clone();
    a.sort();
    b.sort();
    if a == b {
        let skipped = found
            .iter()
            .filter(|(n, _)| !n.is_empty() && !sharing.contains(n))
            .map(|(n, _)| n.clone())
            .collect();
        Ok((
            Sheets::All {
                read: by_star,
                skipped,
            },
            row,
        ))
    } else {
        Ok((Sheets::List(sharing), row))
    }
}
