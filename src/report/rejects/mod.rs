//! Rejects reports: the rows of rejected documents in the input's own layout,
//! ready to fix and re-run with the same mapping.
//!
//! Every row of a rejected document is written, not only the rows with a
//! problem: a document grouped from several rows must come back whole, or
//! re-running the fixed file would form an invoice with lines missing.
//! Valid documents are left out, so a re-run sends only what was fixed.
//!
//! - XLSX: a workbook with the input's sheet name, as many title rows above
//!   the header as the input had (so the mapping's `header_row` still
//!   points at the header), the same columns, each bad cell filled (light
//!   red for errors, light yellow for warnings) with a note saying what is
//!   wrong, then `_row` (the source row) and `_errors` columns (and
//!   `_sheet` before `_row` when the rows come from several sheets).
//! - CSV: the same title-row count, header and columns, the input's
//!   delimiter and encoding (UTF-16 input is written as UTF-16LE with a BOM,
//!   UTF-8 with a BOM), then `_row` and `_errors`.
//!
//! Both are safe to open: a CSV cell that a spreadsheet would run as a
//! formula (`=`, `+`, `-`, `@`, but plain numbers) gets a leading `'`, as
//! `export` writes it, and an XLSX text cell that looks like one keeps the
//! quote-prefix style.
//!
//! Built in two steps: [`RejectsWriter::push`] records, while outcomes
//! stream, which rows and cells are bad (memory grows with the rejects only);
//! [`RejectsWriter::start`] then takes the input's rows again, re-read from
//! the file, and writes those that were marked.

mod csv_sink;
mod customers;

use super::ReportError;
use crate::model::text::{looks_like_formula, neutralise};
use crate::model::{Problem, RowRef, Severity};
use crate::validate::{CustomerReport, Verdict};
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use csv_sink::CsvSink;
use customers::customers_sheet;
use encoding_rs::Encoding;
use rust_xlsxwriter::{Color, ExcelDateTime, Format, FormatBorder, Note, Workbook};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// A cell value copied from the input.
#[derive(Debug, Clone, PartialEq)]
pub enum ReportCell {
    Empty,
    Text(String),
    Number(f64),
    /// A number with the exact text the source holds (CSV keeps the text,
    /// XLSX writes the number).
    NumberText(f64, String),
    Bool(bool),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
}

impl ReportCell {
    /// The cell as text, for CSV.
    pub fn to_text(&self) -> String {
        match self {
            ReportCell::Empty => String::new(),
            ReportCell::Text(s) => s.clone(),
            ReportCell::Number(n) => n.to_string(),
            ReportCell::NumberText(_, s) => s.clone(),
            ReportCell::Bool(b) => b.to_string(),
            ReportCell::Date(d) => d.format("%Y-%m-%d").to_string(),
            ReportCell::DateTime(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        }
    }
}

/// The report's file format.
#[derive(Debug, Clone)]
pub enum RejectsFormat {
    Csv {
        delimiter: u8,
        encoding: &'static Encoding,
    },
    Xlsx {
        sheet: String,
    },
}

/// The input's layout, reproduced by the report.
#[derive(Debug, Clone)]
pub struct RejectsLayout {
    pub format: RejectsFormat,
    /// The input's column headers, in order.
    pub headers: Vec<String>,
    /// Rows above the header in the input (the mapping's `header_row` − 1).
    pub title_rows: usize,
    /// Text for the first title row, when there is one.
    pub title: String,
    /// Add a `_file` column (several input files into one report).
    pub with_file: bool,
    /// Add a `_sheet` column (rows read from several sheets).
    pub with_sheet: bool,
}

#[derive(Debug, Default)]
struct CellMark {
    error: bool,
    notes: Vec<String>,
}

#[derive(Debug, Default)]
struct RowMarks {
    /// The document's first row, for rows rejected only with it.
    doc_row: u64,
    notes: Vec<String>,
    cells: BTreeMap<usize, CellMark>,
}

fn note_text(p: &Problem) -> String {
    let mut s = String::new();
    if p.severity == Severity::Warning {
        s.push_str("warning: ");
    }
    s.push_str(&p.message);
    if let Some(f) = &p.found {
        s.push_str(&format!(" (found {f:?}"));
        match &p.expected {
            Some(e) => s.push_str(&format!(", expected {e})")),
            None => s.push(')'),
        }
    } else if let Some(e) = &p.expected {
        s.push_str(&format!(" (expected {e})"));
    }
    s
}

/// Collects the marks of rejected documents; see the module docs.
pub struct RejectsWriter {
    path: PathBuf,
    layout: RejectsLayout,
    rows: HashMap<RowRef, RowMarks>,
    /// Rejected documents pushed.
    pub documents: u64,
    /// The batch's customers with a problem, for the XLSX `Customers` sheet.
    customers: Vec<CustomerReport>,
}

impl RejectsWriter {
    pub fn new(path: &Path, layout: RejectsLayout) -> Self {
        RejectsWriter {
            path: path.to_path_buf(),
            layout,
            rows: HashMap::new(),
            documents: 0,
            customers: Vec::new(),
        }
    }

    /// Forget every document pushed (the stream starts over).
    pub fn restart(&mut self) {
        self.rows.clear();
        self.documents = 0;
        self.customers.clear();
    }

    /// The customers with a problem (conflicting values, none to create
    /// with), listed on a sheet `Customers` of an XLSX report.
    pub fn set_customers(&mut self, customers: Vec<CustomerReport>) {
        self.customers = customers;
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The report column of a cell: its index when the header there has its
    /// name, else the column with its name (files of one mapping may order
    /// columns differently), else its index.
    fn column_of(&self, column: &str, col_idx: Option<usize>) -> Option<usize> {
        let headers = &self.layout.headers;
        col_idx
            .filter(|i| headers.get(*i).is_some_and(|h| h == column))
            .or_else(|| headers.iter().position(|h| h == column))
            .or_else(|| col_idx.filter(|i| *i < headers.len()))
    }

    /// Record a rejected document: all its rows, its bad cells and notes.
    pub fn push(&mut self, rejected: &Verdict) {
        self.documents += 1;
        let draft = rejected;
        let doc_row = draft.first_row().map(|r| r.row).unwrap_or(0);
        for r in &draft.rows {
            self.rows.entry(r.clone()).or_insert_with(|| RowMarks {
                doc_row,
                ..Default::default()
            });
        }
        for p in &rejected.problems {
            let text = format!("{}: {}", p.field, note_text(p));
            let place = p.cell.as_ref().map(|c| {
                (
                    c.row.clone(),
                    self.column_of(&c.column, c.col_idx),
                    c.column.clone(),
                )
            });
            match place {
                Some((row, Some(col), _)) => {
                    let marks = self.rows.entry(row).or_insert_with(|| RowMarks {
                        doc_row,
                        ..Default::default()
                    });
                    marks
                        .notes
                        .push(format!("{}: {text}", self.layout.headers[col]));
                    let cell = marks.cells.entry(col).or_default();
                    cell.error |= p.is_error();
                    cell.notes.push(text);
                }
                Some((row, None, column)) => {
                    let marks = self.rows.entry(row).or_insert_with(|| RowMarks {
                        doc_row,
                        ..Default::default()
                    });
                    marks.notes.push(format!("{column}: {text}"));
                }
                None => {
                    let row = p.row.clone().or_else(|| draft.first_row().cloned());
                    if let Some(row) = row {
                        let marks = self.rows.entry(row).or_insert_with(|| RowMarks {
                            doc_row,
                            ..Default::default()
                        });
                        marks.notes.push(text);
                    }
                }
            }
        }
    }

    /// Whether a source row is to be written.
    pub fn wants(&self, row: &RowRef) -> bool {
        self.rows.contains_key(row)
    }

    /// Rows marked so far.
    pub fn marked_rows(&self) -> usize {
        self.rows.len()
    }

    /// Open the report for writing: write the title rows and the header.
    pub fn start(self) -> Result<RejectsFile, ReportError> {
        let mut headers = self.layout.headers.clone();
        if self.layout.with_file {
            headers.push("_file".into());
        }
        if self.layout.with_sheet {
            headers.push("_sheet".into());
        }
        headers.push("_row".into());
        headers.push("_errors".into());
        let sink = match &self.layout.format {
            RejectsFormat::Csv {
                delimiter,
                encoding,
            } => {
                let tmp = crate::fs::temp_beside(&self.path)?;
                let mut csv = CsvSink {
                    out: std::io::BufWriter::new(tmp),
                    delimiter: *delimiter,
                    encoding,
                };
                csv.bom().map_err(|e| ReportError::write(&self.path, e))?;
                for i in 0..self.layout.title_rows {
                    let title = if i == 0 {
                        self.layout.title.clone()
                    } else {
                        String::new()
                    };
                    csv.record(&[title])
                        .map_err(|e| ReportError::write(&self.path, e))?;
                }
                let headers: Vec<String> =
                    headers.iter().map(|h| neutralise(h).into_owned()).collect();
                csv.record(&headers)
                    .map_err(|e| ReportError::write(&self.path, e))?;
                Sink::Csv(csv)
            }
            RejectsFormat::Xlsx { sheet } => {
                let mut wb = Workbook::new();
                let ws = wb.add_worksheet();
                ws.set_name(sheet_name(sheet))
                    .map_err(|e| ReportError::xlsx(&self.path, e))?;
                let bold = Format::new().set_bold();
                let r0 = self.layout.title_rows as u32;
                if r0 > 0 {
                    ws.write_string(0, 0, &self.layout.title)
                        .map_err(|e| ReportError::xlsx(&self.path, e))?;
                }
                let bold_quoted = bold.clone().set_quote_prefix();
                for (c, h) in headers.iter().enumerate() {
                    let f = if looks_like_formula(h) {
                        &bold_quoted
                    } else {
                        &bold
                    };
                    ws.write_string_with_format(r0, c as u16, h, f)
                        .map_err(|e| ReportError::xlsx(&self.path, e))?;
                }
                ws.set_freeze_panes(r0 + 1, 0)
                    .map_err(|e| ReportError::xlsx(&self.path, e))?;
                Sink::Xlsx {
                    wb: Box::new(wb),
                    next_row: r0 + 1,
                }
            }
        };
        Ok(RejectsFile {
            writer: self,
            sink,
            written: 0,
        })
    }
}

/// A date as Excel stores it (years 1900 to 9999).
fn excel_date(d: NaiveDate) -> Option<ExcelDateTime> {
    let year = u16::try_from(d.year()).ok()?;
    ExcelDateTime::from_ymd(year, d.month() as u8, d.day() as u8).ok()
}

/// Excel's sheet-name rules: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    let clean = clean.trim_matches('\'').to_string();
    if clean.is_empty() {
        "rejects".into()
    } else {
        clean
    }
}

enum Sink {
    Csv(CsvSink),
    Xlsx { wb: Box<Workbook>, next_row: u32 },
}

/// The report being written; feed it the input's rows in order.
pub struct RejectsFile {
    writer: RejectsWriter,
    sink: Sink,
    written: u64,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectsReport {
    pub path: PathBuf,
    pub rows: u64,
    pub documents: u64,
}

impl RejectsFile {
    /// Whether a source row is to be written.
    pub fn wants(&self, row: &RowRef) -> bool {
        self.writer.wants(row)
    }

    /// Write the row if it belongs to a rejected document; returns whether it did.
    pub fn row(&mut self, at: &RowRef, cells: Vec<ReportCell>) -> Result<bool, ReportError> {
        let Some(marks) = self.writer.rows.get(at) else {
            return Ok(false);
        };
        let layout = &self.writer.layout;
        let errors = if marks.notes.is_empty() {
            format!("rejected with its document (see row {})", marks.doc_row)
        } else {
            marks.notes.join("; ")
        };
        let n_cols = layout.headers.len().max(cells.len());
        let path = &self.writer.path;
        match &mut self.sink {
            Sink::Csv(csv) => {
                // Text a spreadsheet would run as a formula gets a `'`, as
                // `export` writes it; numbers stay as they are.
                let mut fields: Vec<String> = cells
                    .iter()
                    .map(|c| match c {
                        ReportCell::Text(s) => neutralise(s).into_owned(),
                        other => other.to_text(),
                    })
                    .collect();
                fields.resize(n_cols, String::new());
                if layout.with_file {
                    fields.push(neutralise(&at.file).into_owned());
                }
                if layout.with_sheet {
                    fields.push(at.sheet.as_deref().unwrap_or("").to_string());
                }
                fields.push(at.row.to_string());
                fields.push(neutralise(&errors).into_owned());
                csv.record(&fields)
                    .map_err(|e| ReportError::write(path, e))?;
            }
            Sink::Xlsx { wb, next_row } => {
                let r = *next_row;
                *next_row += 1;
                let ws = wb
                    .worksheets_mut()
                    .first_mut()
                    .expect("the report's sheet was added in start");
                let red = Format::new()
                    .set_background_color(Color::RGB(0xFFC7CE))
                    .set_border(FormatBorder::Thin)
                    .set_border_color(Color::RGB(0xC00000));
                let yellow = Format::new().set_background_color(Color::RGB(0xFFEB9C));
                let date = Format::new().set_num_format("yyyy-mm-dd");
                let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
                let x = |e| ReportError::xlsx(path, e);
                for c in 0..n_cols {
                    let value = cells.get(c).cloned().unwrap_or(ReportCell::Empty);
                    let col = c as u16;
                    let mark = marks.cells.get(&c);
                    let fill = mark.map(|m| if m.error { &red } else { &yellow });
                    let plain = Format::new();
                    let f = fill.unwrap_or(&plain);
                    match &value {
                        ReportCell::Empty => {
                            if fill.is_some() {
                                ws.write_blank(r, col, f).map_err(x)?;
                            }
                        }
                        // Text that looks like a formula keeps the
                        // quote-prefix style: Excel never runs it, even
                        // once the cell is edited.
                        ReportCell::Text(s) if looks_like_formula(s) => {
                            let quoted = f.clone().set_quote_prefix();
                            ws.write_string_with_format(r, col, s, &quoted).map_err(x)?;
                        }
                        ReportCell::Text(s) => {
                            ws.write_string_with_format(r, col, s, f).map_err(x)?;
                        }
                        ReportCell::Number(n) | ReportCell::NumberText(n, _) => {
                            ws.write_number_with_format(r, col, *n, f).map_err(x)?;
                        }
                        ReportCell::Bool(b) => {
                            ws.write_boolean_with_format(r, col, *b, f).map_err(x)?;
                        }
                        ReportCell::Date(d) => {
                            let f = fill.map(|f| f.clone().set_num_format("yyyy-mm-dd"));
                            let f = f.as_ref().unwrap_or(&date);
                            match excel_date(*d) {
                                Some(v) => ws.write_datetime_with_format(r, col, v, f),
                                None => ws.write_string_with_format(r, col, value.to_text(), f),
                            }
                            .map_err(x)?;
                        }
                        ReportCell::DateTime(t) => {
                            let f = fill.map(|f| f.clone().set_num_format("yyyy-mm-dd hh:mm:ss"));
                            let f = f.as_ref().unwrap_or(&datetime);
                            let v = excel_date(t.date()).and_then(|d| {
                                d.and_hms(t.hour() as u16, t.minute() as u8, t.second() as f64)
                                    .ok()
                            });
                            match v {
                                Some(v) => ws.write_datetime_with_format(r, col, v, f),
                                None => ws.write_string_with_format(r, col, value.to_text(), f),
                            }
                            .map_err(x)?;
                        }
                    }
                    if let Some(m) = mark {
                        let note = Note::new(m.notes.join("\n"))
                            .set_author("facturare-etl")
                            .add_author_prefix(false)
                            .set_width(320)
                            .set_height(120);
                        ws.insert_note(r, col, &note).map_err(x)?;
                    }
                }
                let mut c = n_cols as u16;
                let quoted = Format::new().set_quote_prefix();
                if layout.with_file {
                    ws.write_string_with_format(r, c, &*at.file, &quoted)
                        .map_err(x)?;
                    c += 1;
                }
                if layout.with_sheet {
                    ws.write_string(r, c, at.sheet.as_deref().unwrap_or(""))
                        .map_err(x)?;
                    c += 1;
                }
                ws.write_number(r, c, at.row as f64).map_err(x)?;
                ws.write_string_with_format(r, c + 1, &errors, &quoted)
                    .map_err(x)?;
            }
        }
        self.written += 1;
        Ok(true)
    }

    /// Finish the file and move it into place.
    pub fn finish(self) -> Result<RejectsReport, ReportError> {
        let path = self.writer.path;
        match self.sink {
            Sink::Csv(csv) => {
                let tmp = csv
                    .out
                    .into_inner()
                    .map_err(|e| ReportError::write(&path, e.into_error()))?;
                crate::fs::persist(tmp, &path)?;
            }
            Sink::Xlsx { mut wb, next_row } => {
                let x = |e| ReportError::xlsx(&path, e);
                let layout = &self.writer.layout;
                if let Some(ws) = wb.worksheets_mut().first_mut() {
                    let n = layout.headers.len()
                        + usize::from(layout.with_file)
                        + usize::from(layout.with_sheet);
                    // Widths fitted to what is written (dates included: no
                    // `###`), the errors column wide, the header filtered.
                    ws.set_autofit_max_row(2000)
                        .set_autofit_max_width(320)
                        .autofit();
                    ws.set_column_width(n as u16 + 1, 80).map_err(x)?;
                    let header = layout.title_rows as u32;
                    ws.autofilter(header, 0, next_row.max(header + 1) - 1, n as u16 + 1)
                        .map_err(x)?;
                }
                if !self.writer.customers.is_empty() {
                    customers_sheet(&mut wb, &self.writer.customers).map_err(x)?;
                }
                let tmp = crate::fs::temp_beside(&path)?;
                wb.save(tmp.path())
                    .map_err(|e| ReportError::xlsx(&path, e))?;
                crate::fs::persist(tmp, &path)?;
            }
        }
        Ok(RejectsReport {
            path,
            rows: self.written,
            documents: self.writer.documents,
        })
    }
}
