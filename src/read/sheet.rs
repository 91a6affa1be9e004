//! Spreadsheets through `calamine`: XLSX/XLSM streamed cell by cell (its
//! cell reader, so a big sheet is never held whole), XLS and ODS loaded a
//! sheet at a time. The sheet is chosen by name or 1-based position; rows
//! above the header row are titles; dates come as real dates (date-formatted
//! serials included); formulas give their cached values; a merged region's
//! value applies to every cell of the region.
//!
//! The workbook is read on its own thread that sends rows over a bounded
//! channel, so the reader owns the workbook and stays `Send`.

use super::{
    file_label, normalize_headers, Cell, Detected, Format, ReadError, RecordSource, SheetSel,
    SourceRow, SourceSpec,
};
use crate::model::RowRef;
use calamine::{DataRef, Dimensions, Reader};
use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

enum Msg {
    Header(Result<(Vec<String>, String, u64), ReadError>),
    Row(Result<SourceRow, ReadError>),
}

/// A worksheet being read.
pub struct SheetSource {
    rx: Receiver<Msg>,
    headers: Vec<String>,
    detected: Detected,
    done: bool,
}

impl std::fmt::Debug for SheetSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SheetSource")
            .field("headers", &self.headers)
            .field("detected", &self.detected)
            .finish()
    }
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0];

fn sniff(path: &Path, format: Format) -> Result<(), ReadError> {
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| ReadError::file(path, "failed to open", Some(Box::new(e))))?;
    let head = &head[..n];
    let (magic, what) = match format {
        Format::Xls => (CFB_MAGIC, "an XLS workbook (an OLE2 compound file)"),
        Format::Ods => (ZIP_MAGIC, "an ODS workbook (a ZIP archive)"),
        _ => (ZIP_MAGIC, "an XLSX workbook (a ZIP archive)"),
    };
    if head.starts_with(magic) {
        return Ok(());
    }
    let hint = if n == 0 {
        "the file is empty".to_string()
    } else if head.starts_with(ZIP_MAGIC) && format == Format::Xls {
        "it is a ZIP archive: if it is an .xlsx file, rename it or set `format = \"xlsx\"`"
            .to_string()
    } else if head.starts_with(CFB_MAGIC) {
        "it is an OLE2 file: if it is an old .xls file, rename it or set `format = \"xls\"`"
            .to_string()
    } else if head
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace() || *b >= 0x80)
    {
        "it looks like text: if it is CSV, rename it to .csv or set `format = \"csv\"`".to_string()
    } else {
        format!("it starts with bytes {head:02X?}")
    };
    Err(ReadError::file(path, format!("not {what}: {hint}"), None))
}

impl SheetSource {
    pub fn open(path: &Path, spec: &SourceSpec, format: Format) -> Result<SheetSource, ReadError> {
        sniff(path, format)?;
        let (tx, rx) = sync_channel::<Msg>(256);
        let path_buf = path.to_path_buf();
        let sel = spec.sheet.clone();
        let header_row = spec.header_row.max(1);
        std::thread::Builder::new()
            .name("read-sheet".into())
            .spawn(move || {
                let mut asm = Assembler::new(&path_buf, header_row, tx.clone());
                // A damaged workbook must give an error, never take the program down.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let r = match format {
                        Format::Xlsx => stream_xlsx(&path_buf, sel.as_ref(), &mut asm),
                        _ => load_sheet(&path_buf, sel.as_ref(), &mut asm),
                    };
                    (r, asm)
                }));
                match result {
                    Ok((Ok(()), asm)) => asm.finish(),
                    Ok((Err(e), asm)) => asm.fail(e),
                    Err(_) => {
                        let e = ReadError::file(
                            &path_buf,
                            "the workbook is damaged: its reader failed on it",
                            None,
                        );
                        let _ = tx.send(Msg::Header(Err(e)));
                    }
                }
            })
            .map_err(|e| {
                ReadError::file(path, "failed to start a reader thread", Some(Box::new(e)))
            })?;
        match rx.recv() {
            Ok(Msg::Header(Ok((headers, sheet, row)))) => Ok(SheetSource {
                rx,
                headers,
                detected: Detected {
                    format,
                    encoding: None,
                    confidence: None,
                    delimiter: None,
                    sheet: Some(sheet),
                    header_row: Some(row),
                },
                done: false,
            }),
            Ok(Msg::Header(Err(e))) | Ok(Msg::Row(Err(e))) => Err(e),
            Ok(Msg::Row(Ok(_))) | Err(_) => Err(ReadError::file(
                path,
                "the workbook reader stopped before the header row",
                None,
            )),
        }
    }
}

fn wb_error(
    path: &Path,
    what: &str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> ReadError {
    ReadError::file(path, what.to_string(), Some(Box::new(e)))
}

/// Pick a sheet: by name (exact, then case-insensitive), by 1-based
/// position, or the first.
fn choose_sheet(
    path: &Path,
    names: &[String],
    sel: Option<&SheetSel>,
) -> Result<String, ReadError> {
    let listing = || {
        names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match sel {
        None => names
            .first()
            .cloned()
            .ok_or_else(|| ReadError::file(path, "the workbook has no sheets", None)),
        Some(SheetSel::Index(i)) => names.get(i.wrapping_sub(1)).cloned().ok_or_else(|| {
            ReadError::file(
                path,
                format!(
                    "no sheet number {i}: the workbook has {} sheets ({})",
                    names.len(),
                    listing()
                ),
                None,
            )
        }),
        Some(SheetSel::Name(n)) => {
            if let Some(found) = names.iter().find(|s| *s == n) {
                return Ok(found.clone());
            }
            if let Some(found) = names.iter().find(|s| {
                s.trim().eq_ignore_ascii_case(n.trim())
                    || s.trim().to_lowercase() == n.trim().to_lowercase()
            }) {
                return Ok(found.clone());
            }
            let near = crate::suggest::did_you_mean(n, names.iter().map(String::as_str));
            Err(ReadError::file(
                path,
                format!(
                    "no sheet named {n:?}{}; the sheets are {}",
                    near.map(|s| format!(" (did you mean {s:?}?)"))
                        .unwrap_or_default(),
                    listing()
                ),
                None,
            ))
        }
    }
}

fn stream_xlsx(path: &Path, sel: Option<&SheetSel>, asm: &mut Assembler) -> Result<(), ReadError> {
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(path)
        .map_err(|e| wb_error(path, "not a readable XLSX workbook", e))?;
    let name = choose_sheet(path, &wb.sheet_names(), sel)?;
    let merges = wb.merge_cells_by_sheet_name(&name).unwrap_or_default();
    asm.start(name.clone(), merges);
    let mut cells = wb
        .worksheet_cells_reader(&name)
        .map_err(|e| wb_error(path, &format!("failed to read sheet {name:?}"), e))?;
    loop {
        match cells.next_cell() {
            Ok(Some(c)) => {
                let (r, col) = c.get_position();
                let v = from_ref(c.get_value());
                if !asm.push(r, col, v) {
                    return Ok(());
                }
            }
            Ok(None) => return Ok(()),
            Err(e) => return Err(wb_error(path, &format!("failed to read sheet {name:?}"), e)),
        }
    }
}

fn load_sheet(path: &Path, sel: Option<&SheetSel>, asm: &mut Assembler) -> Result<(), ReadError> {
    let mut wb = calamine::open_workbook_auto(path)
        .map_err(|e| wb_error(path, "not a readable workbook", e))?;
    let name = choose_sheet(path, &wb.sheet_names(), sel)?;
    let merges = match &wb {
        calamine::Sheets::Xls(x) => x.merge_cells_by_sheet_name(&name).unwrap_or_default(),
        _ => Vec::new(),
    };
    asm.start(name.clone(), merges);
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| wb_error(path, &format!("failed to read sheet {name:?}"), e))?;
    let (r0, c0) = range.start().unwrap_or((0, 0));
    for (i, row) in range.rows().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let cell = from_data(v);
            if !cell.is_empty() && !asm.push(r0 + i as u32, c0 + j as u32, cell) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// A float as Excel shows it: 15 significant digits, no float noise.
pub(crate) fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    format!("{rounded}")
}

fn datetime_cell(dt: &calamine::ExcelDateTime) -> Cell {
    if dt.is_duration() {
        return Cell::Number(number_text(dt.as_f64()).into());
    }
    match dt.as_datetime() {
        Some(t) if t.time() == chrono::NaiveTime::MIN => Cell::Date(t.date()),
        Some(t) => Cell::DateTime(t),
        None => Cell::Number(number_text(dt.as_f64()).into()),
    }
}

fn iso_cell(s: &str) -> Cell {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Cell::Date(d);
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Cell::DateTime(t);
    }
    Cell::Text(s.into())
}

fn text_cell(s: &str) -> Cell {
    if s.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(s.into())
    }
}

fn from_ref(v: &DataRef<'_>) -> Cell {
    match v {
        DataRef::Int(i) => Cell::Number(compact_str::ToCompactString::to_compact_string(i)),
        DataRef::Float(f) => Cell::Number(number_text(*f).into()),
        DataRef::String(s) => text_cell(s),
        DataRef::SharedString(s) => text_cell(s),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(d) => datetime_cell(d),
        DataRef::DateTimeIso(s) => iso_cell(s),
        DataRef::DurationIso(s) => Cell::Text(s.as_str().into()),
        DataRef::Error(e) => Cell::Error(compact_str::ToCompactString::to_compact_string(e)),
        DataRef::Empty => Cell::Empty,
    }
}

fn from_data(v: &calamine::Data) -> Cell {
    use calamine::Data;
    match v {
        Data::Int(i) => Cell::Number(compact_str::ToCompactString::to_compact_string(i)),
        Data::Float(f) => Cell::Number(number_text(*f).into()),
        Data::String(s) => text_cell(s),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(d) => datetime_cell(d),
        Data::DateTimeIso(s) => iso_cell(s),
        Data::DurationIso(s) => Cell::Text(s.as_str().into()),
        Data::Error(e) => Cell::Error(compact_str::ToCompactString::to_compact_string(e)),
        Data::Empty => Cell::Empty,
    }
}

/// Turns cells arriving in row order into rows: finds the header, fills
/// merged regions, and sends rows down the channel.
struct Assembler {
    path: PathBuf,
    file: Arc<str>,
    sheet: Arc<str>,
    header_row: u64,
    tx: SyncSender<Msg>,
    headers: Option<usize>,
    cur: Option<u32>,
    cells: Vec<(u32, Cell)>,
    /// Merged regions by start row, and the ones covering the current row.
    merges: Vec<Dimensions>,
    next_merge: usize,
    active: Vec<Dimensions>,
    merge_values: HashMap<(u32, u32), Cell>,
    stopped: bool,
}

impl Assembler {
    fn new(path: &Path, header_row: u64, tx: SyncSender<Msg>) -> Self {
        Assembler {
            path: path.to_path_buf(),
            file: file_label(path),
            sheet: Arc::from(""),
            header_row,
            tx,
            headers: None,
            cur: None,
            cells: Vec::new(),
            merges: Vec::new(),
            next_merge: 0,
            active: Vec::new(),
            merge_values: HashMap::new(),
            stopped: false,
        }
    }

    fn start(&mut self, sheet: String, mut merges: Vec<Dimensions>) {
        self.sheet = Arc::from(sheet.as_str());
        merges.sort_by_key(|d| d.start);
        self.merges = merges;
    }

    /// Add a cell; false once the receiver has gone.
    fn push(&mut self, r: u32, c: u32, v: Cell) -> bool {
        if self.cur != Some(r) {
            if let Some(prev) = self.cur {
                self.flush(prev);
            }
            self.cur = Some(r);
        }
        if !v.is_empty() {
            self.cells.push((c, v));
        }
        !self.stopped
    }

    fn flush(&mut self, r: u32) {
        let cells = std::mem::take(&mut self.cells);
        // Merged regions reaching this row.
        while self.next_merge < self.merges.len() && self.merges[self.next_merge].start.0 <= r {
            self.active.push(self.merges[self.next_merge]);
            self.next_merge += 1;
        }
        self.active.retain(|d| d.end.0 >= r);
        let width = match self.headers {
            Some(w) => w,
            None => {
                if u64::from(r) + 1 < self.header_row || cells.is_empty() {
                    self.remember_merge_values(r, &cells);
                    return;
                }
                self.remember_merge_values(r, &cells);
                let width = cells
                    .iter()
                    .map(|(c, _)| *c as usize + 1)
                    .chain(self.active.iter().map(|d| d.end.1 as usize + 1))
                    .max()
                    .unwrap_or(0);
                let mut raw = vec![String::new(); width];
                for (c, v) in &cells {
                    raw[*c as usize] = v.as_text().into_owned();
                }
                self.fill_merges(r, |c, v| {
                    if let Some(slot) = raw.get_mut(c) {
                        *slot = v.as_text().into_owned();
                    }
                });
                self.headers = Some(width);
                let sheet = self.sheet.to_string();
                self.send(Msg::Header(Ok((
                    normalize_headers(raw),
                    sheet,
                    u64::from(r) + 1,
                ))));
                return;
            }
        };
        self.remember_merge_values(r, &cells);
        let mut row = vec![Cell::Empty; width];
        for (c, v) in cells {
            if let Some(slot) = row.get_mut(c as usize) {
                *slot = v;
            }
        }
        self.fill_merges(r, |c, v| {
            if let Some(slot) = row.get_mut(c) {
                *slot = v.clone();
            }
        });
        let at = RowRef {
            file: self.file.clone(),
            sheet: Some(self.sheet.clone()),
            row: u64::from(r) + 1,
        };
        self.send(Msg::Row(Ok(SourceRow { at, cells: row })));
    }

    fn remember_merge_values(&mut self, r: u32, cells: &[(u32, Cell)]) {
        for d in &self.active {
            if d.start.0 == r {
                let v = cells
                    .iter()
                    .find(|(c, _)| *c == d.start.1)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                self.merge_values.insert(d.start, v);
            }
        }
    }

    fn fill_merges(&self, r: u32, mut set: impl FnMut(usize, &Cell)) {
        for d in &self.active {
            if d.start.0 > r || d.end.0 < r {
                continue;
            }
            if let Some(v) = self.merge_values.get(&d.start) {
                for c in d.start.1..=d.end.1 {
                    set(c as usize, v);
                }
            }
        }
    }

    fn send(&mut self, m: Msg) {
        if !self.stopped && self.tx.send(m).is_err() {
            self.stopped = true;
        }
    }

    fn finish(mut self) {
        if let Some(r) = self.cur.take() {
            self.flush(r);
        }
        if self.headers.is_none() {
            let e = ReadError::file(
                &self.path,
                format!(
                    "no header row in sheet {:?}: header_row is {} but the sheet has no cells there or below",
                    &*self.sheet, self.header_row
                ),
                None,
            );
            self.send(Msg::Header(Err(e)));
        }
    }

    fn fail(mut self, e: ReadError) {
        if self.headers.is_none() {
            self.send(Msg::Header(Err(e)));
        } else {
            self.send(Msg::Row(Err(e)));
        }
    }
}

impl Iterator for SheetSource {
    type Item = Result<SourceRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.rx.recv() {
            Ok(Msg::Row(r)) => {
                if r.as_ref().is_err_and(ReadError::is_fatal) {
                    self.done = true;
                }
                Some(r)
            }
            Ok(Msg::Header(Err(e))) => {
                self.done = true;
                Some(Err(e))
            }
            Ok(Msg::Header(Ok(_))) | Err(_) => {
                self.done = true;
                None
            }
        }
    }
}

impl RecordSource for SheetSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn detected(&self) -> &Detected {
        &self.detected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_without_float_noise() {
        assert_eq!(number_text(3.0), "3");
        assert_eq!(number_text(0.1 + 0.2), "0.3");
        assert_eq!(number_text(1234.5), "1234.5");
        assert_eq!(number_text(-0.05), "-0.05");
        assert_eq!(number_text(45123.0), "45123");
    }
}
