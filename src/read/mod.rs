//! Streaming readers: CSV/TSV ([`csv`]), spreadsheets ([`sheet`]: XLSX,
//! XLSM, XLS, ODS) and JSON ([`json`]: an array, JSON Lines, a nested path,
//! nested arrays of lines). Each yields [`SourceRow`]s that carry their
//! address ([`RowRef`]: file, sheet, the row number a person sees) and typed
//! [`Cell`]s, after a header row that names the columns.
//!
//! With `fill_down`, any source's continuation rows are filled in
//! ([`fill`]).
//!
//! Errors come in two kinds: a row that cannot be read as expected (a ragged
//! CSV row, a JSON line that does not parse) is a row-level [`ReadError`]
//! the caller reports and goes past; a file that cannot be read at all
//! (missing, not a workbook, undecodable) is file-level and fatal, and names
//! the file.

pub mod budget;
pub mod csv;
pub mod fill;
pub mod json;
pub mod limits;
pub mod sheet;

use crate::model::RowRef;
use chrono::{NaiveDate, NaiveDateTime};
pub use compact_str::CompactString;
pub use limits::{Limit, Limits};
use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// One source row: where it is, and its cells in header order.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    pub at: RowRef,
    pub cells: Vec<Cell>,
}

impl SourceRow {
    /// The cell at `idx`, or [`Cell::Empty`] past the end.
    pub fn cell(&self, idx: usize) -> &Cell {
        self.cells.get(idx).unwrap_or(&Cell::Empty)
    }

    /// Whether every cell is empty (or blank text).
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(Cell::is_blank)
    }
}

/// A cell's value as the source stores it.
///
/// Text is held in a [`CompactString`]: most cells (codes, dates, amounts)
/// are short enough to live inside it, so reading them allocates nothing,
/// and nothing is freed, often on another thread, when they are done with.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Cell {
    #[default]
    Empty,
    Text(CompactString),
    /// A number as exact decimal text (`1234.5`): the text a CSV or JSON
    /// holds, or a spreadsheet's stored value written without float noise.
    Number(CompactString),
    Bool(bool),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    /// A spreadsheet error value (`#DIV/0!`).
    Error(CompactString),
}

impl Cell {
    /// The cell as text (dates as `YYYY-MM-DD`).
    pub fn as_text(&self) -> Cow<'_, str> {
        match self {
            Cell::Empty => Cow::Borrowed(""),
            Cell::Text(s) | Cell::Number(s) | Cell::Error(s) => Cow::Borrowed(s),
            Cell::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Cell::Date(d) => Cow::Owned(d.format("%Y-%m-%d").to_string()),
            Cell::DateTime(d) => Cow::Owned(d.format("%Y-%m-%d %H:%M:%S").to_string()),
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Cell::Empty)
    }

    /// Empty, or text of whitespace only.
    #[inline]
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            // As `trim().is_empty()`, stopping at the first visible
            // character, which is most often the first byte.
            Cell::Text(s) => match s.as_bytes().first() {
                None => true,
                Some(b) if b.is_ascii_graphic() => false,
                Some(_) => s.chars().all(char::is_whitespace),
            },
            _ => false,
        }
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_text())
    }
}

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Tsv,
    Xlsx,
    Xls,
    Ods,
    Json,
    JsonLines,
}

impl Format {
    /// A workbook (XLSX, XLS, ODS) rather than text.
    pub fn is_workbook(self) -> bool {
        matches!(self, Format::Xlsx | Format::Xls | Format::Ods)
    }

    pub const NAMES: [&'static str; 9] = [
        "csv", "tsv", "xlsx", "xlsm", "xls", "ods", "json", "jsonl", "ndjson",
    ];

    /// A format by its name (`csv`, `xlsx`, `jsonl`, ...).
    pub fn parse(name: &str) -> Option<Format> {
        Some(match name.to_ascii_lowercase().as_str() {
            "csv" | "txt" => Format::Csv,
            "tsv" | "tab" => Format::Tsv,
            "xlsx" | "xlsm" => Format::Xlsx,
            "xls" | "xla" => Format::Xls,
            "ods" => Format::Ods,
            "json" => Format::Json,
            "jsonl" | "ndjson" | "json-lines" | "jsonlines" => Format::JsonLines,
            _ => return None,
        })
    }

    /// The format a file's extension suggests.
    pub fn from_path(path: &Path) -> Option<Format> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(Format::parse)
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Xlsx => "xlsx",
            Format::Xls => "xls",
            Format::Ods => "ods",
            Format::Json => "json",
            Format::JsonLines => "jsonl",
        }
    }
}

/// Which sheet(s) of a workbook to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetSel {
    Name(String),
    /// 1-based position among the workbook's sheets.
    Index(usize),
    /// Every sheet whose header has the first sheet's columns (`"*"`);
    /// the others are skipped with a note.
    All,
    /// These sheets, in this order; each must have the first one's columns.
    List(Vec<String>),
}

/// How to read a source: the mapping's `[source]` table, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// None: from the file's extension.
    pub format: Option<Format>,
    /// An encoding label (`windows-1251`, `cp866`, `koi8-r`, `utf-16`);
    /// None: detected.
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// None: detected among `,` `;` tab `|`.
    pub delimiter: Option<u8>,
    pub quote: u8,
    /// The 1-based row (CSV: physical line) holding the column names; rows
    /// above it are titles and are skipped.
    pub header_row: u64,
    pub sheet: Option<SheetSel>,
    /// JSON: dotted path to the records array (`data.orders`); None: the root.
    pub records: Option<String>,
    /// JSON: path inside each record to its array of lines; one row per line.
    pub lines: Option<String>,
    /// Columns carried down to continuation rows (see [`fill`]).
    pub fill_down: Vec<String>,
    /// What a read takes at most ([`Limits`]).
    pub limits: Limits,
}

impl SourceSpec {
    /// The format `path` is read as: the mapping's, else the extension's.
    pub fn format_of(&self, path: &Path) -> Option<Format> {
        self.format.or_else(|| Format::from_path(path))
    }
}

impl Default for SourceSpec {
    fn default() -> Self {
        SourceSpec {
            format: None,
            encoding: None,
            delimiter: None,
            quote: b'"',
            header_row: 1,
            sheet: None,
            records: None,
            lines: None,
            fill_down: Vec::new(),
            limits: Limits::default(),
        }
    }
}

/// What the reader found out about a file by looking at it.
#[derive(Debug, Clone, PartialEq)]
pub struct Detected {
    pub format: Format,
    /// CSV: the encoding used, and whether it was detected (not set).
    pub encoding: Option<&'static str>,
    /// `set` (by the mapping), `certain` (a BOM, valid UTF-8), `likely`
    /// (chardetng sure of its guess) or `guessed`.
    pub confidence: Option<&'static str>,
    pub delimiter: Option<u8>,
    pub sheet: Option<String>,
    /// The row the header was found on (the first non-empty row at or
    /// below `header_row`).
    pub header_row: Option<u64>,
    /// Workbooks: every sheet read, in order (one unless `sheet` asks for
    /// several).
    pub sheets: Vec<String>,
    /// What a person should know about how the file is read (a sheet
    /// skipped, and why).
    pub notes: Vec<String>,
}

/// Which columns a pass needs; others may be left [`Cell::Empty`].
pub type Projection = Option<Arc<[bool]>>;

/// A source of rows after its header row.
pub trait RecordSource: Iterator<Item = Result<SourceRow, ReadError>> {
    /// The column names, in cell order.
    fn headers(&self) -> &[String];
    /// What was detected about the file (encoding, delimiter, sheet).
    fn detected(&self) -> &Detected;
}

impl fmt::Debug for dyn RecordSource + Send {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordSource")
            .field("headers", &self.headers())
            .field("detected", self.detected())
            .finish()
    }
}

/// Why a file or a row could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file cannot be opened or read at all (fatal).
    #[error("{file}: {message}")]
    File {
        file: String,
        message: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The file's bytes are not in the expected encoding (fatal).
    #[error("{file} line {line}: the bytes are not valid {encoding}; {hint}")]
    Encoding {
        file: String,
        line: u64,
        encoding: &'static str,
        /// What to do: the `encoding =` line to add, with the encoding the
        /// bytes look like.
        hint: String,
    },
    /// A row with a different number of cells than the header (not fatal);
    /// the row is kept, padded or cut to the header's width.
    #[error("{}: expected {expected} cells as in the header, found {found}", row.at)]
    Ragged {
        row: Box<SourceRow>,
        expected: usize,
        found: usize,
    },
    /// A row that cannot be read (not fatal).
    #[error("{at}: {message}")]
    Row { at: RowRef, message: String },
}

impl ReadError {
    /// Whether reading the file must stop.
    pub fn is_fatal(&self) -> bool {
        matches!(self, ReadError::File { .. } | ReadError::Encoding { .. })
    }

    /// The row it is about, for row-level errors.
    pub fn at(&self) -> Option<&RowRef> {
        match self {
            ReadError::Ragged { row, .. } => Some(&row.at),
            ReadError::Row { at, .. } => Some(at),
            _ => None,
        }
    }

    pub(crate) fn file(
        path: &Path,
        message: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> ReadError {
        ReadError::File {
            file: path.display().to_string(),
            message: message.into(),
            source,
        }
    }
}

/// Open a source for reading: format from the spec or the file's extension.
pub fn open(path: &Path, spec: &SourceSpec) -> Result<Box<dyn RecordSource + Send>, ReadError> {
    open_projected(path, spec, None)
}

/// As [`open`], reading only the cells `projection` marks (others empty):
/// a cheaper pass when only a few columns are needed.
pub fn open_projected(
    path: &Path,
    spec: &SourceSpec,
    projection: Projection,
) -> Result<Box<dyn RecordSource + Send>, ReadError> {
    let format = match spec.format_of(path) {
        Some(f) => f,
        None => {
            return Err(ReadError::file(
                path,
                format!(
                    "cannot tell the format from the file name; set `format` in the mapping's [source] to one of {}",
                    Format::NAMES.join(", ")
                ),
                None,
            ))
        }
    };
    let src: Box<dyn RecordSource + Send> = match format {
        Format::Csv | Format::Tsv => {
            Box::new(csv::CsvSource::open(path, spec, format, projection)?)
        }
        Format::Xlsx | Format::Xls | Format::Ods => {
            Box::new(sheet::SheetSource::open(path, spec, format)?)
        }
        Format::Json | Format::JsonLines => Box::new(json::JsonSource::open(path, spec, format)?),
    };
    if spec.fill_down.is_empty() {
        Ok(src)
    } else {
        Ok(Box::new(fill::Filled::new(src, &spec.fill_down)))
    }
}

/// The quick splitter for a CSV file's rows, with only the projected cells
/// (see [`csv::PlainRows`]); `Ok(None)` when the file is not a CSV file
/// whose bytes it can split (a decoding stream), or when rows are filled
/// down (which needs them in order, one after another).
pub fn plain(
    path: &Path,
    spec: &SourceSpec,
    projection: Projection,
) -> Result<Option<csv::PlainRows>, ReadError> {
    if !spec.fill_down.is_empty() {
        return Ok(None);
    }
    match spec.format_of(path) {
        Some(format @ (Format::Csv | Format::Tsv)) => {
            csv::CsvSource::open(path, spec, format, projection)?.plain()
        }
        _ => Ok(None),
    }
}

/// The file name used in row addresses: the path as given.
pub(crate) fn file_label(path: &Path) -> Arc<str> {
    Arc::from(path.display().to_string())
}

/// A spreadsheet column letter (`0` → `A`, `27` → `AB`).
pub fn column_letter(mut idx: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (idx % 26) as u8);
        if idx < 26 {
            break;
        }
        idx = idx / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Name headers: blank names become the column letter, repeated names get
/// a ` (2)` suffix so every column can be addressed.
pub(crate) fn normalize_headers(raw: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    raw.into_iter()
        .enumerate()
        .map(|(i, h)| {
            let h = h.trim().to_string();
            let h = if h.is_empty() { column_letter(i) } else { h };
            let n = seen.entry(h.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                h
            } else {
                format!("{h} ({n})")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    #[test]
    fn headers_are_named_and_unique() {
        let h = normalize_headers(vec![" Nr ".into(), "".into(), "Nr".into()]);
        assert_eq!(h, vec!["Nr", "B", "Nr (2)"]);
    }
}
