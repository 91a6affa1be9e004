//! XLSX output with rust_xlsxwriter in constant-memory mode: each sheet
//! streams its rows to a temporary file, so memory stays flat however many
//! rows. Dates are real dates, money numbers with two decimals, ids and codes
//! text; a bold frozen header with an autofilter; widths set up front (from
//! the header and the first page); past the row limit a table continues on
//! `Name (2)`, `Name (3)`, ... Text that looks like a formula is stored with
//! Excel's quote prefix, as if typed with a leading `'`: shown and kept as
//! text, never run, even after the cell is edited.
//!
//! Beyond the export's own tables, a writer of a small workbook (the
//! reconciliation report, the `Totals` sheet) can add a table once the
//! others are written ([`Sink::add_table`]), fill the cells it marks
//! ([`XlsxSink::row_marked`]: a difference, in the rejects report's red), and
//! put a line of text under a table, outside its filter ([`XlsxSink::note`]).

use super::columns::{looks_like_formula, Cell, Format as ColFormat};
use super::layout::Table;
use super::sink::{Marker, Sink, SinkError, SinkStats};
use chrono::{Datelike, Timelike};
use rust_xlsxwriter::{Color, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use std::path::{Path, PathBuf};

/// Excel's longest cell text, in UTF-16 units.
const MAX_TEXT_UTF16: usize = 32_767;

/// The fill of a marked cell: the rejects report's red.
pub const MARKED_FILL: u32 = 0xFFC7CE;

struct Formats {
    header: Format,
    money: Format,
    date: Format,
    datetime: Format,
    integer: Format,
    text: Format,
    quoted: Format,
    /// Decimals and booleans: no number format of their own.
    plain: Format,
}

impl Formats {
    /// The cell formats, each with `fill` when given.
    fn new(fill: Option<Color>) -> Formats {
        let f = |format: Format| match fill {
            Some(c) => format.set_background_color(c),
            None => format,
        };
        Formats {
            header: f(Format::new().set_bold()),
            money: f(Format::new().set_num_format("#,##0.00")),
            date: f(Format::new().set_num_format("yyyy-mm-dd")),
            datetime: f(Format::new().set_num_format("yyyy-mm-dd hh:mm:ss")),
            integer: f(Format::new().set_num_format("0")),
            text: f(Format::new().set_num_format("@")),
            quoted: f(Format::new().set_quote_prefix()),
            plain: f(Format::new()),
        }
    }
}

struct TableState {
    name: String,
    columns: usize,
    widths: Vec<f64>,
    headers: Vec<String>,
    /// Finished and current sheets, in order.
    sheets: Vec<Worksheet>,
    /// Data rows on the current sheet.
    rows_on_sheet: u32,
    /// Lines of text under the current sheet's rows ([`XlsxSink::note`]).
    notes: u32,
}

/// The XLSX writer.
pub struct XlsxSink {
    path: PathBuf,
    file: Option<std::fs::File>,
    workbook: Workbook,
    formats: Formats,
    marked: Formats,
    tables: Vec<TableState>,
    sheet_rows: u32,
    rows: u64,
    marker: Option<Marker>,
}

fn xerr(path: &Path) -> impl Fn(XlsxError) -> SinkError + '_ {
    move |source| SinkError::Xlsx {
        path: path.to_path_buf(),
        source,
    }
}

fn excel_date(d: chrono::NaiveDate) -> Option<ExcelDateTime> {
    let y = u16::try_from(d.year()).ok()?;
    ExcelDateTime::from_ymd(y, d.month() as u8, d.day() as u8).ok()
}

fn excel_datetime(t: chrono::NaiveDateTime) -> Option<ExcelDateTime> {
    excel_date(t.date())?
        .and_hms(t.hour() as u16, t.minute() as u8, t.second())
        .ok()
}

/// Cut text to what a cell holds.
fn fit(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= MAX_TEXT_UTF16 || s.encode_utf16().count() <= MAX_TEXT_UTF16 {
        return s.into();
    }
    let mut n = 0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        n += c.len_utf16();
        if n > MAX_TEXT_UTF16 {
            break;
        }
        end = i + c.len_utf8();
    }
    s[..end].to_string().into()
}

impl XlsxSink {
    pub fn new(
        file: std::fs::File,
        path: &Path,
        tables: &[Table],
        widths: &[Vec<f64>],
        sheet_rows: u32,
        marker: Option<Marker>,
    ) -> Result<XlsxSink, SinkError> {
        let mut sink = XlsxSink {
            path: path.to_path_buf(),
            file: Some(file),
            workbook: Workbook::new(),
            formats: Formats::new(None),
            marked: Formats::new(Some(Color::RGB(MARKED_FILL))),
            tables: Vec::new(),
            sheet_rows: sheet_rows.clamp(1, super::sink::XLSX_MAX_DATA_ROWS),
            rows: 0,
            marker,
        };
        for (i, t) in tables.iter().enumerate() {
            let w = widths.get(i).cloned().unwrap_or_default();
            sink.push_table(t, &w)?;
        }
        Ok(sink)
    }

    /// A table and its first sheet; returns its index.
    fn push_table(&mut self, t: &Table, widths: &[f64]) -> Result<usize, SinkError> {
        self.tables.push(TableState {
            name: t.name.clone(),
            columns: t.columns.len(),
            widths: (0..t.columns.len())
                .map(|c| widths.get(c).copied().unwrap_or(10.0))
                .collect(),
            headers: t.columns.iter().map(|c| c.header.clone()).collect(),
            sheets: Vec::new(),
            rows_on_sheet: 0,
            notes: 0,
        });
        let i = self.tables.len() - 1;
        self.new_sheet(i)?;
        Ok(i)
    }

    /// A row of `table` whose cells marked `true` in `marked` are filled
    /// (red, as the rejects report marks a bad cell); cells past the end of
    /// `marked` are not. Rows come before the table's notes.
    pub fn row_marked(
        &mut self,
        table: usize,
        cells: &[Cell],
        marked: &[bool],
    ) -> Result<(), SinkError> {
        debug_assert_eq!(self.tables[table].notes, 0, "rows after a note");
        if self.tables[table].rows_on_sheet >= self.sheet_rows {
            self.new_sheet(table)?;
        }
        let t = &mut self.tables[table];
        let e = xerr(&self.path);
        let row = t.rows_on_sheet + 1;
        let ws = t.sheets.last_mut().expect("a table always has a sheet");
        for (c, cell) in cells.iter().enumerate() {
            let mark = marked.get(c).copied().unwrap_or(false);
            let f = if mark { &self.marked } else { &self.formats };
            write_cell(ws, row, c as u16, cell, f, mark).map_err(&e)?;
        }
        t.rows_on_sheet += 1;
        self.rows += 1;
        Ok(())
    }

    /// A line of text under `table`'s rows (one row apart from them, below
    /// the notes before it, outside the filter): a verdict, a source. Bold,
    /// and filled when `marked`.
    pub fn note(&mut self, table: usize, text: &str, marked: bool) -> Result<(), SinkError> {
        let t = &mut self.tables[table];
        let row = t.rows_on_sheet + 2 + t.notes;
        let ws = t.sheets.last_mut().expect("a table always has a sheet");
        let f = if marked {
            &self.marked.header
        } else {
            &self.formats.header
        };
        ws.write_string_with_format(row, 0, fit(text), f)
            .map_err(xerr(&self.path))?;
        t.notes += 1;
        Ok(())
    }

    fn new_sheet(&mut self, table: usize) -> Result<(), SinkError> {
        let path = self.path.clone();
        let e = xerr(&path);
        self.close_sheet(table)?;
        let mut ws = self
            .workbook
            .new_worksheet_with_constant_memory()
            .map_err(&e)?;
        let t = &mut self.tables[table];
        let n = t.sheets.len() + 1;
        let name = if n == 1 {
            t.name.clone()
        } else {
            format!("{} ({n})", t.name)
        };
        ws.set_name(&name).map_err(&e)?;
        for (c, w) in t.widths.iter().enumerate() {
            ws.set_column_width(c as u16, *w).map_err(&e)?;
        }
        for (c, h) in t.headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, fit(h), &self.formats.header)
                .map_err(&e)?;
        }
        ws.set_freeze_panes(1, 0).map_err(&e)?;
        t.sheets.push(ws);
        t.rows_on_sheet = 0;
        Ok(())
    }

    /// Put the autofilter over what the current sheet holds.
    fn close_sheet(&mut self, table: usize) -> Result<(), SinkError> {
        let t = &mut self.tables[table];
        if let Some(ws) = t.sheets.last_mut() {
            if t.columns > 0 {
                ws.autofilter(0, 0, t.rows_on_sheet, (t.columns - 1) as u16)
                    .map_err(xerr(&self.path))?;
            }
        }
        Ok(())
    }
}

impl XlsxSink {
    /// The hidden sheet that tells `import` the file for one of its own
    /// exports ([`crate::mapping::roundtrip`] reads it).
    fn marker_sheet(&mut self, m: &Marker) -> Result<(), SinkError> {
        use crate::mapping::roundtrip::{LAYOUT_VERSION, MARKER_SHEET};
        let e = xerr(&self.path);
        let now = chrono::Utc::now()
            .with_timezone(&crate::model::date::TZ)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        let rows = [
            ("key", "value".to_string()),
            ("export", m.resource.to_string()),
            ("lines", m.lines.to_string()),
            ("version", LAYOUT_VERSION.to_string()),
            ("exported_at", now),
            ("by", format!("facturare-etl {}", env!("CARGO_PKG_VERSION"))),
        ];
        let ws = self.workbook.add_worksheet();
        ws.set_name(MARKER_SHEET).map_err(&e)?;
        for (r, (k, v)) in rows.iter().enumerate() {
            ws.write_string(r as u32, 0, *k).map_err(&e)?;
            ws.write_string(r as u32, 1, v).map_err(&e)?;
        }
        ws.set_hidden(true);
        Ok(())
    }
}

impl Sink for XlsxSink {
    fn row(&mut self, table: usize, cells: &[Cell]) -> Result<(), SinkError> {
        self.row_marked(table, cells, &[])
    }

    fn add_table(&mut self, table: &Table, widths: &[f64]) -> Result<Option<usize>, SinkError> {
        self.push_table(table, widths).map(Some)
    }

    fn finish(mut self: Box<Self>) -> Result<SinkStats, SinkError> {
        for i in 0..self.tables.len() {
            self.close_sheet(i)?;
        }
        let mut sheets = Vec::new();
        let tables = std::mem::take(&mut self.tables);
        for t in tables {
            for ws in t.sheets {
                sheets.push(ws.name());
                self.workbook.push_worksheet(ws);
            }
        }
        if let Some(m) = self.marker.take() {
            self.marker_sheet(&m)?;
        }
        let mut file = self.file.take().expect("finish is called once");
        self.workbook
            .save_to_writer(&mut file)
            .map_err(xerr(&self.path))?;
        file.sync_all().map_err(|source| SinkError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(SinkStats {
            rows: self.rows,
            sheets,
        })
    }
}

/// Write one typed cell in the formats `f` (the marked ones when `marked`).
fn write_cell(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    cell: &Cell,
    f: &Formats,
    marked: bool,
) -> Result<(), XlsxError> {
    match cell {
        // A marked empty cell is still filled; a plain one is left out.
        Cell::Empty if marked => {
            ws.write_blank(row, col, &f.plain)?;
        }
        Cell::Empty => {}
        Cell::Text(s) => {
            let s = fit(s);
            let fmt = if looks_like_formula(&s) {
                &f.quoted
            } else {
                &f.text
            };
            ws.write_string_with_format(row, col, s, fmt)?;
        }
        Cell::Money(d) => {
            let v: f64 = d.to_string().parse().unwrap_or(f64::NAN);
            ws.write_number_with_format(row, col, v, &f.money)?;
        }
        Cell::Decimal(d) => {
            let v: f64 = d.to_string().parse().unwrap_or(f64::NAN);
            ws.write_number_with_format(row, col, v, &f.plain)?;
        }
        Cell::Integer(i) => {
            ws.write_number_with_format(row, col, *i as f64, &f.integer)?;
        }
        Cell::Date(d) => match excel_date(*d) {
            Some(x) => {
                ws.write_datetime_with_format(row, col, &x, &f.date)?;
            }
            None => {
                ws.write_string_with_format(row, col, cell.to_text(), &f.plain)?;
            }
        },
        Cell::DateTime(d) => match excel_datetime(*d) {
            Some(x) => {
                ws.write_datetime_with_format(row, col, &x, &f.datetime)?;
            }
            None => {
                ws.write_string_with_format(row, col, cell.to_text(), &f.plain)?;
            }
        },
        Cell::Bool(b) => {
            ws.write_boolean_with_format(row, col, *b, &f.plain)?;
        }
    }
    Ok(())
}

/// A column width in characters for a header and some sample cells.
pub fn fitted_width(header: &str, format: ColFormat, samples: impl Iterator<Item = usize>) -> f64 {
    let min = match format {
        ColFormat::Date => 11,
        ColFormat::Datetime => 19,
        ColFormat::Money => 10,
        _ => 6,
    };
    let widest = samples
        .max()
        .unwrap_or(0)
        .max(header.chars().count() + 2)
        .max(min);
    (widest.min(60) as f64) + 1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::columns::{Column, FieldPath};
    use calamine::{open_workbook, Data, Reader, Xlsx};
    use chrono::NaiveDate;
    use rust_decimal_macros::dec;

    fn col(header: &str, format: ColFormat) -> Column {
        Column {
            header: header.into(),
            field: FieldPath::parse(header).unwrap(),
            format,
            width: None,
        }
    }

    #[test]
    fn typed_cells_and_sheet_split() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xlsx");
        let table = Table {
            name: "Invoices".into(),
            columns: vec![
                col("number", ColFormat::Text),
                col("date", ColFormat::Date),
                col("total", ColFormat::Money),
                col("name", ColFormat::Text),
                col("paid", ColFormat::Boolean),
            ],
            per_line: false,
        };
        let file = std::fs::File::create(&path).unwrap();
        let mut sink: Box<dyn Sink> = Box::new(
            XlsxSink::new(
                file,
                &path,
                std::slice::from_ref(&table),
                &[vec![12.0; 5]],
                2,
                None,
            )
            .unwrap(),
        );
        let d = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
        for i in 0..5 {
            sink.row(
                0,
                &[
                    Cell::Text(format!("00{i}")),
                    Cell::Date(d),
                    Cell::Money(dec!(1234.5)),
                    Cell::Text("=HYPERLINK(\"http://evil\")".into()),
                    Cell::Bool(i % 2 == 0),
                ],
            )
            .unwrap();
        }
        let stats = sink.finish().unwrap();
        assert_eq!(stats.rows, 5);
        assert_eq!(stats.sheets, ["Invoices", "Invoices (2)", "Invoices (3)"]);

        let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
        assert_eq!(
            wb.sheet_names(),
            ["Invoices", "Invoices (2)", "Invoices (3)"]
        );
        let r = wb.worksheet_range("Invoices").unwrap();
        assert_eq!(r.get_size(), (3, 5));
        assert_eq!(r.get((0, 0)), Some(&Data::String("number".into())));
        assert_eq!(r.get((1, 0)), Some(&Data::String("000".into())));
        match r.get((1, 1)) {
            Some(Data::DateTime(x)) => {
                assert_eq!(x.as_datetime().unwrap().date(), d)
            }
            other => panic!("expected a date, got {other:?}"),
        }
        assert_eq!(r.get((1, 2)), Some(&Data::Float(1234.5)));
        assert_eq!(
            r.get((1, 3)),
            Some(&Data::String("=HYPERLINK(\"http://evil\")".into()))
        );
        assert_eq!(r.get((1, 4)), Some(&Data::Bool(true)));
        let formulas = wb.worksheet_formula("Invoices").unwrap();
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));
        let last = wb.worksheet_range("Invoices (3)").unwrap();
        assert_eq!(last.get_size(), (2, 5));
        assert_eq!(last.get((1, 0)), Some(&Data::String("004".into())));
    }

    #[test]
    fn long_text_is_cut_to_a_cell() {
        let s = "é".repeat(40_000);
        assert_eq!(fit(&s).chars().count(), MAX_TEXT_UTF16);
        assert_eq!(fit("short"), "short");
    }
}
