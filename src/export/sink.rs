//! Where rows go: the output formats and the [`Sink`] each writer
//! implements. A sink receives rows in order, one table at a time or
//! interleaved, and holds nothing but the current row (XLSX in
//! rust_xlsxwriter's constant-memory mode streams each sheet to a temporary
//! file of its own).

use super::columns::Cell;
use super::layout::Table;
use serde_json::Value;
use std::path::Path;

/// The output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Xlsx,
    Csv,
    Jsonl,
}

impl OutputFormat {
    /// From a file name's extension (`.xlsx`, `.csv`, `.jsonl`/`.ndjson`).
    pub fn from_path(path: &Path) -> Option<OutputFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "xlsx" => Some(OutputFormat::Xlsx),
            "csv" | "txt" => Some(OutputFormat::Csv),
            "jsonl" | "ndjson" => Some(OutputFormat::Jsonl),
            _ => None,
        }
    }
}

/// Writer settings.
#[derive(Debug, Clone)]
pub struct SinkOptions {
    pub format: OutputFormat,
    /// CSV: start with a UTF-8 byte order mark (for Excel).
    pub bom: bool,
    /// CSV: the field delimiter.
    pub delimiter: u8,
    /// XLSX: data rows per sheet before continuing on `Name (2)`.
    pub sheet_rows: u32,
    /// JSON Lines: write the API's objects whole instead of rows.
    pub jsonl_objects: bool,
    /// `--control-totals` for objects of this resource: count and sum the
    /// objects written, by currency and month, into a `Totals` sheet (XLSX)
    /// or a `.totals.csv` beside the file ([`super::totals`]).
    pub control_totals: Option<super::Resource>,
    /// XLSX: the resource and whether it has line rows, written on a hidden
    /// sheet so that `import` knows the file for one of its own exports
    /// (only when the file reads back: see [`super::Layout::reads_back`]).
    pub marker: Option<Marker>,
}

/// What an export's marker sheet says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub resource: &'static str,
    pub lines: bool,
}

/// The most data rows an XLSX sheet holds under its header (1,048,576 − 1).
pub const XLSX_MAX_DATA_ROWS: u32 = 1_048_575;

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            format: OutputFormat::Xlsx,
            bom: false,
            delimiter: b',',
            sheet_rows: XLSX_MAX_DATA_ROWS,
            jsonl_objects: false,
            control_totals: None,
            marker: None,
        }
    }
}

/// A write that failed.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("failed to write {}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to write the XLSX file {}", path.display())]
    Xlsx {
        path: std::path::PathBuf,
        #[source]
        source: rust_xlsxwriter::XlsxError,
    },
    #[error("the control totals of {} overflow: {what}", path.display())]
    Overflow {
        path: std::path::PathBuf,
        what: String,
    },
    #[error("failed to write CSV to {}", path.display())]
    Csv {
        path: std::path::PathBuf,
        #[source]
        source: csv::Error,
    },
}

/// What a finished sink wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SinkStats {
    /// Data rows, all tables together (headers not counted).
    pub rows: u64,
    /// Sheet names in workbook order (XLSX only).
    pub sheets: Vec<String>,
}

/// A writer of rows.
pub trait Sink: Send {
    /// A row of table `table` (an index into the tables it was made with).
    fn row(&mut self, table: usize, cells: &[Cell]) -> Result<(), SinkError>;
    /// A whole API object (JSON Lines in object mode; others ignore it).
    fn object(&mut self, _obj: &Value) -> Result<(), SinkError> {
        Ok(())
    }
    /// One more table, after the others, for rows written once theirs are
    /// (the `Totals` sheet of `--control-totals`): its index, or `None` when
    /// the format holds one table only (CSV, JSON Lines). `widths` as for
    /// [`open`].
    fn add_table(&mut self, _table: &Table, _widths: &[f64]) -> Result<Option<usize>, SinkError> {
        Ok(None)
    }
    /// Flush everything; the file is complete when this returns.
    fn finish(self: Box<Self>) -> Result<SinkStats, SinkError>;
}

/// Open the sink for `opts.format`, writing to `file` (reported as `path`).
/// `widths` holds, per table, a width per column in characters.
pub fn open(
    opts: &SinkOptions,
    file: std::fs::File,
    path: &Path,
    tables: &[Table],
    widths: &[Vec<f64>],
) -> Result<Box<dyn Sink>, SinkError> {
    Ok(match opts.format {
        OutputFormat::Xlsx => Box::new(super::xlsx::XlsxSink::new(
            file,
            path,
            tables,
            widths,
            opts.sheet_rows,
            opts.marker.clone(),
        )?),
        OutputFormat::Csv => Box::new(super::csv::CsvSink::new(
            file,
            path,
            tables,
            opts.bom,
            opts.delimiter,
        )?),
        OutputFormat::Jsonl => Box::new(super::jsonl::JsonlSink::new(
            file,
            path,
            tables,
            opts.jsonl_objects,
        )),
    })
}
