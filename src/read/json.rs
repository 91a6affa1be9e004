//! JSON: an array of records (at the root or at a dotted path such as
//! `data.orders`), or JSON Lines (one record per line, streamed in bounded
//! memory). Nested objects become dotted column names (`customer.tax_id`);
//! other arrays become their JSON text. With `lines = "items"`, each element
//! of a record's `items` array becomes one row holding the record's own
//! fields plus the line's fields prefixed `line.` (`line.qty`,
//! `line.product.name`).
//!
//! The columns are every name seen in any record, in order of first
//! appearance (JSON Lines: a first pass over the file collects them). Row
//! numbers: the record's 1-based index in the array, or its line number in
//! a JSON Lines file; the rows made from one record's lines share it.

use super::{file_label, Cell, Detected, Format, ReadError, RecordSource, SourceRow, SourceSpec};
use crate::model::RowRef;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The prefix of line fields when records have nested lines.
pub const LINE_PREFIX: &str = "line.";

enum Input {
    Array(std::iter::Enumerate<std::vec::IntoIter<Value>>),
    Lines {
        reader: std::io::BufReader<std::fs::File>,
        line_no: u64,
        buf: String,
    },
}

/// A JSON or JSON Lines file being read.
pub struct JsonSource {
    path: PathBuf,
    file: Arc<str>,
    headers: Vec<String>,
    index: HashMap<String, usize>,
    lines: Option<Vec<String>>,
    detected: Detected,
    input: Input,
    pending: VecDeque<Result<SourceRow, ReadError>>,
    done: bool,
}

impl std::fmt::Debug for JsonSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonSource")
            .field("path", &self.path)
            .field("headers", &self.headers)
            .finish()
    }
}

fn split_path(p: &Option<String>) -> Option<Vec<String>> {
    p.as_ref().map(|s| {
        s.split('.')
            .filter(|x| !x.is_empty())
            .map(String::from)
            .collect()
    })
}

fn get_path<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn take_path(v: &mut Value, path: &[String]) -> Option<Value> {
    let (last, parents) = path.split_last()?;
    let mut cur = v;
    for k in parents {
        cur = cur.get_mut(k)?;
    }
    cur.as_object_mut()?.remove(last)
}

fn scalar(v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Empty,
        Value::Bool(b) => Cell::Bool(*b),
        Value::Number(n) => Cell::Number(n.to_string().into()),
        Value::String(s) if s.is_empty() => Cell::Empty,
        Value::String(s) => Cell::Text(s.into()),
        other => Cell::Text(other.to_string().into()),
    }
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Cell)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&name, v, out);
            }
        }
        other => out.push((prefix.to_string(), scalar(other))),
    }
}

/// A record's rows as (column, cell) lists: one per line, or one.
fn record_rows(
    mut rec: Value,
    lines: Option<&[String]>,
) -> Result<Vec<Vec<(String, Cell)>>, String> {
    if !rec.is_object() {
        return Err(format!(
            "expected a JSON object as a record, found {}",
            kind(&rec)
        ));
    }
    let line_values = match lines {
        Some(p) => match take_path(&mut rec, p) {
            Some(Value::Array(a)) => a,
            Some(Value::Null) | None => Vec::new(),
            Some(other) => {
                return Err(format!(
                    "expected an array of lines at {:?}, found {}",
                    p.join("."),
                    kind(&other)
                ))
            }
        },
        None => Vec::new(),
    };
    let mut base = Vec::new();
    flatten("", &rec, &mut base);
    if line_values.is_empty() {
        return Ok(vec![base]);
    }
    Ok(line_values
        .iter()
        .map(|l| {
            let mut row = base.clone();
            match l {
                Value::Object(_) => flatten(LINE_PREFIX.trim_end_matches('.'), l, &mut row),
                other => row.push((LINE_PREFIX.trim_end_matches('.').to_string(), scalar(other))),
            }
            row
        })
        .collect())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn note_headers(
    rows: &[Vec<(String, Cell)>],
    headers: &mut Vec<String>,
    index: &mut HashMap<String, usize>,
) {
    for row in rows {
        for (k, _) in row {
            if !index.contains_key(k) {
                index.insert(k.clone(), headers.len());
                headers.push(k.clone());
            }
        }
    }
}

impl JsonSource {
    pub fn open(path: &Path, spec: &SourceSpec, format: Format) -> Result<JsonSource, ReadError> {
        let records_path = split_path(&spec.records);
        let lines = split_path(&spec.lines);
        let mut headers = Vec::new();
        let mut index = HashMap::new();
        let input = match format {
            Format::JsonLines => {
                let open = || {
                    std::fs::File::open(path)
                        .map(std::io::BufReader::new)
                        .map_err(|e| ReadError::file(path, "failed to open", Some(Box::new(e))))
                };
                // First pass: the columns.
                let mut r = open()?;
                let mut buf = String::new();
                loop {
                    buf.clear();
                    let n = r.read_line(&mut buf).map_err(|e| {
                        ReadError::file(
                            path,
                            "failed to read (is it UTF-8 text?)",
                            Some(Box::new(e)),
                        )
                    })?;
                    if n == 0 {
                        break;
                    }
                    if let Ok(v) = serde_json::from_str::<Value>(buf.trim()) {
                        if let Ok(rows) = record_rows(v, lines.as_deref()) {
                            note_headers(&rows, &mut headers, &mut index);
                        }
                    }
                }
                Input::Lines {
                    reader: open()?,
                    line_no: 0,
                    buf: String::new(),
                }
            }
            _ => {
                let bytes = crate::fs::read(path)
                    .map_err(|e| ReadError::file(path, "failed to read", Some(Box::new(e))))?;
                let mut root: Value = serde_json::from_slice(&bytes).map_err(|e| {
                    ReadError::file(
                        path,
                        format!("invalid JSON at line {} column {}", e.line(), e.column()),
                        Some(Box::new(e)),
                    )
                })?;
                let records = match &records_path {
                    Some(p) if !p.is_empty() => take_path(&mut root, p).ok_or_else(|| {
                        let keys = get_path(&root, &p[..p.len() - 1])
                            .and_then(Value::as_object)
                            .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
                            .unwrap_or_default();
                        ReadError::file(
                            path,
                            format!(
                                "no records at {:?} (the keys there are: {keys})",
                                p.join(".")
                            ),
                            None,
                        )
                    })?,
                    _ => root,
                };
                let records = match records {
                    Value::Array(a) => a,
                    other => {
                        return Err(ReadError::file(
                            path,
                            format!(
                                "expected an array of records{}, found {}; set `records` in the mapping's [source] to the path of the array",
                                spec.records.as_ref().map(|p| format!(" at {p:?}")).unwrap_or_default(),
                                kind(&other)
                            ),
                            None,
                        ))
                    }
                };
                for rec in &records {
                    if let Ok(rows) = record_rows(rec.clone(), lines.as_deref()) {
                        note_headers(&rows, &mut headers, &mut index);
                    }
                }
                Input::Array(records.into_iter().enumerate())
            }
        };
        Ok(JsonSource {
            path: path.to_path_buf(),
            file: file_label(path),
            headers,
            index,
            lines,
            detected: Detected {
                format,
                encoding: Some("UTF-8"),
                confidence: Some("certain"),
                delimiter: None,
                sheet: None,
                header_row: None,
                sheets: Vec::new(),
                notes: Vec::new(),
            },
            input,
            pending: VecDeque::new(),
            done: false,
        })
    }

    fn queue(&mut self, row_no: u64, rec: Result<Value, String>) {
        let at = RowRef {
            file: self.file.clone(),
            sheet: None,
            row: row_no,
        };
        match rec.and_then(|v| record_rows(v, self.lines.as_deref())) {
            Ok(rows) => {
                for fields in rows {
                    let mut cells = vec![Cell::Empty; self.headers.len()];
                    for (k, c) in fields {
                        if let Some(&i) = self.index.get(&k) {
                            cells[i] = c;
                        }
                    }
                    self.pending.push_back(Ok(SourceRow {
                        at: at.clone(),
                        cells,
                    }));
                }
            }
            Err(message) => self.pending.push_back(Err(ReadError::Row { at, message })),
        }
    }
}

impl Iterator for JsonSource {
    type Item = Result<SourceRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Some(r);
            }
            if self.done {
                return None;
            }
            match &mut self.input {
                Input::Array(it) => match it.next() {
                    Some((i, v)) => self.queue(i as u64 + 1, Ok(v)),
                    None => self.done = true,
                },
                Input::Lines {
                    reader,
                    line_no,
                    buf,
                } => {
                    buf.clear();
                    match reader.read_line(buf) {
                        Ok(0) => self.done = true,
                        Ok(_) => {
                            *line_no += 1;
                            let n = *line_no;
                            let text = buf.trim();
                            if text.is_empty() {
                                continue;
                            }
                            let parsed = serde_json::from_str::<Value>(text)
                                .map_err(|e| format!("invalid JSON at column {}: {e}", e.column()));
                            self.queue(n, parsed);
                        }
                        Err(e) => {
                            self.done = true;
                            return Some(Err(ReadError::file(
                                &self.path,
                                format!("failed to read after line {line_no} (is it UTF-8 text?)"),
                                Some(Box::new(e)),
                            )));
                        }
                    }
                }
            }
        }
    }
}

impl RecordSource for JsonSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn detected(&self) -> &Detected {
        &self.detected
    }
}
