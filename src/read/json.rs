//! JSON: an array of records (at the root or at a dotted path such as
//! `data.orders`), or JSON Lines (one record per line, streamed in bounded
//! memory). Nested objects become dotted column names (`customer.tax_id`);
//! other arrays become their JSON text. With `lines = "items"`, each element
//! of a record's `items` array becomes one row holding the record's own
//! fields plus the line's fields prefixed `line.` (`line.qty`,
//! `line.product.name`).
//!
//! The text is UTF-8 (a BOM skipped), or UTF-16 with a BOM or told by its
//! zero bytes. An array file is read whole, so it may be at most
//! `max_json_bytes`; a JSON Lines file is streamed, each line at most that.
//!
//! The columns are every name seen in any record, in order of first
//! appearance (JSON Lines: a first pass over the file collects them). Row
//! numbers: the record's 1-based index in the array, or its line number in
//! a JSON Lines file; the rows made from one record's lines share it.

use super::{
    file_label, Cell, Detected, Format, Limit, Limits, ReadError, RecordSource, SourceRow,
    SourceSpec,
};
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
        reader: Box<dyn BufRead + Send>,
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
    limits: Limits,
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

/// The text encoding of a JSON file: a BOM (UTF-8 or UTF-16), or UTF-16
/// told by its zero bytes, else UTF-8 (RFC 8259).
fn json_encoding(head: &[u8]) -> (&'static encoding_rs::Encoding, usize) {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(head) {
        return (enc, bom);
    }
    // `[` or `{` and spaces, in UTF-16: every other byte zero.
    match head {
        [0, a, ..] if *a != 0 => (encoding_rs::UTF_16BE, 0),
        [a, 0, ..] if *a != 0 => (encoding_rs::UTF_16LE, 0),
        _ => (encoding_rs::UTF_8, 0),
    }
}

/// The file's lines as UTF-8 text, decoded when it is UTF-16, a BOM
/// skipped.
fn line_reader(path: &Path) -> Result<Box<dyn BufRead + Send>, ReadError> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| ReadError::file(path, "failed to open", Some(Box::new(e))))?;
    let mut head = [0u8; 4];
    let n = std::io::Read::read(&mut f, &mut head)
        .map_err(|e| ReadError::file(path, "failed to read", Some(Box::new(e))))?;
    let (enc, _) = json_encoding(&head[..n]);
    let chained = std::io::Read::chain(std::io::Cursor::new(head[..n].to_vec()), f);
    Ok(Box::new(std::io::BufReader::new(
        encoding_rs_io::DecodeReaderBytesBuilder::new()
            .encoding(Some(enc))
            .bom_override(true)
            .strip_bom(true)
            .build(chained),
    )))
}

/// One line of a JSON Lines file, at most `max` bytes: `Ok(None)` at the
/// end, `Err(n)` for a longer line (the rest of it is skipped).
fn read_bounded_line(
    r: &mut dyn BufRead,
    buf: &mut String,
    max: u64,
) -> std::io::Result<Result<Option<()>, u64>> {
    buf.clear();
    let n = std::io::Read::take(&mut *r, max + 1).read_line(buf)?;
    if n == 0 {
        return Ok(Ok(None));
    }
    if n as u64 > max && !buf.ends_with('\n') {
        // Skip to the end of the overlong line.
        let mut skipped = n as u64;
        loop {
            let chunk = r.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            match memchr::memchr(b'\n', chunk) {
                Some(i) => {
                    r.consume(i + 1);
                    skipped += i as u64 + 1;
                    break;
                }
                None => {
                    let l = chunk.len();
                    r.consume(l);
                    skipped += l as u64;
                }
            }
        }
        buf.clear();
        return Ok(Err(skipped));
    }
    Ok(Ok(Some(())))
}

impl JsonSource {
    pub fn open(path: &Path, spec: &SourceSpec, format: Format) -> Result<JsonSource, ReadError> {
        let records_path = split_path(&spec.records);
        let lines = split_path(&spec.lines);
        let limits = spec.limits;
        let mut headers = Vec::new();
        let mut index = HashMap::new();
        let input = match format {
            Format::JsonLines => {
                // First pass: the columns.
                let mut r = line_reader(path)?;
                let mut buf = String::new();
                while let Ok(Some(())) = read_bounded_line(&mut *r, &mut buf, limits.max_json_bytes)
                    .map_err(|e| {
                        ReadError::file(
                            path,
                            "failed to read (is it UTF-8 text?)",
                            Some(Box::new(e)),
                        )
                    })?
                {
                    if let Ok(v) = serde_json::from_str::<Value>(buf.trim()) {
                        if let Ok(rows) = record_rows(v, lines.as_deref()) {
                            note_headers(&rows, &mut headers, &mut index);
                        }
                    }
                    if headers.len() > limits.max_columns {
                        break;
                    }
                }
                limits
                    .check_columns(headers.len())
                    .map_err(|m| ReadError::file(path, m, None))?;
                Input::Lines {
                    reader: line_reader(path)?,
                    line_no: 0,
                    buf: String::new(),
                }
            }
            _ => {
                let size = std::fs::metadata(path)
                    .map_err(|e| ReadError::file(path, "failed to open", Some(Box::new(e))))?
                    .len();
                if size > limits.max_json_bytes {
                    return Err(ReadError::file(
                        path,
                        format!(
                            "the file is {} bytes, {} (a JSON array is read whole: JSON Lines, one record a line, is read in any size)",
                            crate::model::text::thousands(size),
                            limits.over(Limit::JsonBytes)
                        ),
                        None,
                    ));
                }
                let raw = crate::fs::read(path)
                    .map_err(|e| ReadError::file(path, "failed to read", Some(Box::new(e))))?;
                let (enc, bom) = json_encoding(&raw);
                let bytes: std::borrow::Cow<'_, [u8]> = if enc == encoding_rs::UTF_8 {
                    std::borrow::Cow::Borrowed(&raw[bom..])
                } else {
                    let (text, _) = enc.decode_without_bom_handling(&raw[bom..]);
                    std::borrow::Cow::Owned(text.into_owned().into_bytes())
                };
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
                    if headers.len() > limits.max_columns {
                        break;
                    }
                }
                limits
                    .check_columns(headers.len())
                    .map_err(|m| ReadError::file(path, m, None))?;
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
            limits,
            done: false,
        })
    }

    fn queue(&mut self, row_no: u64, rec: Result<Value, String>) {
        let at = RowRef {
            file: self.file.clone(),
            sheet: None,
            row: row_no,
        };
        let max_cell = self.limits.max_cell_bytes;
        let over = |rows: &[Vec<(String, Cell)>]| {
            rows.iter().flatten().find_map(|(k, c)| {
                let n = c.as_text().len() as u64;
                (n > max_cell).then(|| (k.clone(), n))
            })
        };
        let rec = rec
            .and_then(|v| record_rows(v, self.lines.as_deref()))
            .and_then(|rows| match over(&rows) {
                None => Ok(rows),
                Some((k, n)) => Err(format!(
                    "the value of {:?} is {} bytes long, {}",
                    crate::model::text::cut(&k),
                    crate::model::text::thousands(n),
                    self.limits.over(Limit::CellBytes)
                )),
            });
        match rec {
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
                } => match read_bounded_line(&mut **reader, buf, self.limits.max_json_bytes) {
                    Ok(Ok(None)) => self.done = true,
                    Ok(Err(len)) => {
                        *line_no += 1;
                        let n = *line_no;
                        let message = format!(
                            "the line is {} bytes, {}",
                            crate::model::text::thousands(len),
                            self.limits.over(Limit::JsonBytes)
                        );
                        self.queue(n, Err(message));
                    }
                    Ok(Ok(Some(()))) => {
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
                },
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
