//! Spreadsheets through `calamine`: XLSX/XLSM streamed cell by cell (its
//! cell reader, so a big sheet is never held whole), XLS and ODS loaded a
//! sheet at a time. The sheet is chosen by name or 1-based position; rows
//! above the header row are titles; dates come as real dates (date-formatted
//! serials included); formulas give their cached values; a merged region's
//! value applies to every cell of the region.
//!
//! Several sheets: `sheet = "*"` reads every sheet whose header row has the
//! first sheet's column names (in any order: cells are placed by name) and
//! skips the others with a note ([`Detected::notes`]); a list of names reads
//! those sheets in that order, and a sheet whose header lacks a column of
//! the first one is an error. Every row keeps its sheet in its address.
//! Before the first row, each sheet's header is looked at (a few rows of
//! each), so that the notes are known when the source opens.
//!
//! The workbook is read on its own thread that sends rows over a bounded
//! channel, so the reader owns the workbook and stays `Send`. The parts:
//! `book` (the open workbook: its sheets, their merged regions, a sheet's
//! cells in row order, calamine's reader on one thread and the rows made
//! on another), `cell` (calamine's values as [`Cell`]s) and `assemble` (a
//! sheet's cells made into its header and rows).

mod assemble;
mod book;
mod cell;
pub(super) mod merges;
mod sniff;

use sniff::sniff;

pub(crate) use cell::number_text;

use super::{
    file_label, Detected, Format, Limits, ReadError, RecordSource, SheetSel, SourceRow, SourceSpec,
};
use assemble::{fit, Assembler, Columns, Event};
use book::Book;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

/// The header as the reader thread found it.
struct Found {
    headers: Vec<String>,
    /// The first sheet read, and the row its header is on.
    sheet: String,
    row: u64,
    sheets: Vec<String>,
    notes: Vec<String>,
}

enum Msg {
    Header(Result<Found, ReadError>),
    /// Rows in order, [`ROWS_PER_MSG`] at most: one wake-up of the
    /// receiving thread per batch, not per row.
    Rows(Vec<SourceRow>),
    Row(Result<SourceRow, ReadError>),
}

/// Rows sent together. With [`MSGS_IN_FLIGHT`], at most 1,024 rows wait
/// between the threads.
const ROWS_PER_MSG: usize = 64;

const MSGS_IN_FLIGHT: usize = 16;

/// A worksheet (or several, one after another) being read.
pub struct SheetSource {
    rx: Receiver<Msg>,
    /// The rest of the last batch received.
    batch: std::vec::IntoIter<SourceRow>,
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

impl SheetSource {
    pub fn open(path: &Path, spec: &SourceSpec, format: Format) -> Result<SheetSource, ReadError> {
        sniff(path, format)?;
        // What calamine would hold, checked before it is given the file.
        let scanned = super::budget::check(path, format, &spec.limits)?;
        let limits = spec.limits;
        let (tx, rx) = sync_channel::<Msg>(MSGS_IN_FLIGHT);
        let path_buf = path.to_path_buf();
        let sel = spec.sheet.clone();
        let header_row = spec.header_row.max(1);
        std::thread::Builder::new()
            .name("read-sheet".into())
            .spawn(move || {
                let mut reader = ThreadReader {
                    path: &path_buf,
                    file: file_label(&path_buf),
                    header_row,
                    limits,
                    tx: &tx,
                    header_sent: false,
                    stopped: false,
                    scanned: Some(scanned),
                    pending: Vec::new(),
                };
                crate::crash::working_on_file(&reader.file, None);
                // A damaged workbook must give an error, never take the program down.
                let result = crate::crash::contained(|| {
                    let r = reader.run(format, sel.as_ref());
                    (r, reader.header_sent)
                });
                let (r, header_sent) = match result {
                    Ok(x) => x,
                    Err(why) => (
                        Err(ReadError::file(
                            &path_buf,
                            format!("the workbook is damaged: its reader failed on it ({why})"),
                            None,
                        )),
                        false,
                    ),
                };
                // The rows read before an error (or a panic) go first.
                reader.flush();
                if let Err(e) = r {
                    let _ = tx.send(if header_sent {
                        Msg::Row(Err(e))
                    } else {
                        Msg::Header(Err(e))
                    });
                }
            })
            .map_err(|e| {
                ReadError::file(path, "failed to start a reader thread", Some(Box::new(e)))
            })?;
        match rx.recv() {
            Ok(Msg::Header(Ok(found))) => Ok(SheetSource {
                rx,
                batch: Vec::new().into_iter(),
                headers: found.headers,
                detected: Detected {
                    format,
                    encoding: None,
                    confidence: None,
                    delimiter: None,
                    sheet: Some(found.sheet),
                    header_row: Some(found.row),
                    sheets: found.sheets,
                    notes: found.notes,
                },
                done: false,
            }),
            Ok(Msg::Header(Err(e))) | Ok(Msg::Row(Err(e))) => Err(e),
            Ok(Msg::Row(Ok(_))) | Ok(Msg::Rows(_)) | Err(_) => Err(ReadError::file(
                path,
                "the workbook reader stopped before the header row",
                None,
            )),
        }
    }
}

/// What the reader thread does: choose the sheets, find their headers,
/// then send their rows.
struct ThreadReader<'a> {
    path: &'a Path,
    file: Arc<str>,
    header_row: u64,
    limits: Limits,
    tx: &'a SyncSender<Msg>,
    header_sent: bool,
    /// The receiver has gone.
    stopped: bool,
    /// What the budget check read already, for the workbook's opening.
    scanned: Option<Arc<super::budget::Scanned>>,
    /// Rows not sent yet (fewer than [`ROWS_PER_MSG`]).
    pending: Vec<SourceRow>,
}

impl ThreadReader<'_> {
    fn send(&mut self, m: Msg) {
        if !self.stopped && self.tx.send(m).is_err() {
            self.stopped = true;
        }
    }

    fn send_row(&mut self, row: SourceRow) {
        self.pending.push(row);
        if self.pending.len() >= ROWS_PER_MSG {
            self.flush();
        }
    }

    /// Send the rows not sent yet.
    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let rows = std::mem::replace(&mut self.pending, Vec::with_capacity(ROWS_PER_MSG));
            self.send(Msg::Rows(rows));
        }
    }

    fn run(&mut self, format: Format, sel: Option<&SheetSel>) -> Result<(), ReadError> {
        let scanned = self.scanned.take().unwrap_or_default();
        let mut book = Book::open(self.path, format, scanned)?;
        let names = book.sheet_names();
        let path = self.path;
        let (selected, every) = match sel {
            Some(SheetSel::All) => (names.clone(), true),
            Some(SheetSel::List(list)) => {
                let mut chosen = Vec::new();
                for n in list {
                    chosen.push(choose_sheet(
                        path,
                        &names,
                        Some(&SheetSel::Name(n.clone())),
                    )?);
                }
                (chosen, false)
            }
            other => (vec![choose_sheet(path, &names, other)?], false),
        };
        if selected.len() == 1 && !every {
            return self.single(&mut book, &selected[0]);
        }
        // Several sheets: every header first, to know which fit.
        let mut first: Option<(String, Vec<String>, u64)> = None;
        let mut plan: Vec<(String, Columns)> = Vec::new();
        let mut notes = Vec::new();
        for name in &selected {
            let header = book.header(path, &self.file, name, self.header_row, self.limits)?;
            let Some((headers, row)) = header else {
                let why = format!(
                    "sheet {name:?} has no header row (no cells at row {} or below)",
                    self.header_row
                );
                if every {
                    notes.push(format!("{why}: skipped"));
                    continue;
                }
                return Err(ReadError::file(path, why, None));
            };
            match &first {
                None => {
                    plan.push((
                        name.clone(),
                        Columns {
                            map: None,
                            width: headers.len(),
                        },
                    ));
                    first = Some((name.clone(), headers, row));
                }
                Some((first_name, first_headers, _)) => match fit(first_headers, &headers) {
                    Ok(columns) => plan.push((name.clone(), columns)),
                    Err(missing) => {
                        let why = format!(
                            "the header of sheet {name:?} (row {row}) lacks {} of sheet {first_name:?}",
                            listing(&missing)
                        );
                        if every {
                            notes.push(format!("{why}: skipped"));
                            continue;
                        }
                        return Err(ReadError::file(
                            path,
                            format!("{why}; list only sheets that share the first one's header"),
                            None,
                        ));
                    }
                },
            }
        }
        let Some((sheet, headers, row)) = first else {
            return Err(ReadError::file(
                path,
                format!(
                    "no sheet has a header row at row {} or below",
                    self.header_row
                ),
                None,
            ));
        };
        self.header_sent = true;
        self.send(Msg::Header(Ok(Found {
            headers,
            sheet,
            row,
            sheets: plan.iter().map(|(n, _)| n.clone()).collect(),
            notes,
        })));
        for (name, columns) in plan {
            let merges = book.merges(path, &name, self.limits)?;
            let mut asm = Assembler::new(
                self.file.clone(),
                &name,
                self.header_row,
                self.limits,
                merges,
                Some(columns),
            );
            self.rows(&mut book, &name, &mut asm)?;
            if self.stopped {
                break;
            }
        }
        Ok(())
    }

    /// One sheet: its header decides the columns.
    fn single(&mut self, book: &mut Book, name: &str) -> Result<(), ReadError> {
        let merges = book.merges(self.path, name, self.limits)?;
        let mut asm = Assembler::new(
            self.file.clone(),
            name,
            self.header_row,
            self.limits,
            merges,
            None,
        );
        self.rows(book, name, &mut asm)?;
        if !asm.has_header() {
            return Err(ReadError::file(
                self.path,
                format!(
                    "no header row in sheet {name:?}: header_row is {} but the sheet has no cells there or below",
                    self.header_row
                ),
                None,
            ));
        }
        Ok(())
    }

    /// Send a sheet's rows (and, for a single sheet, its header).
    fn rows(&mut self, book: &mut Book, name: &str, asm: &mut Assembler) -> Result<(), ReadError> {
        let path = self.path;
        let sheet = name.to_string();
        book.cells(path, name, asm, |asm| {
            for e in asm.events.drain(..) {
                match e {
                    Event::Header(headers, row) if !self.header_sent => {
                        self.header_sent = true;
                        let found = Found {
                            headers,
                            sheet: sheet.clone(),
                            row,
                            sheets: vec![sheet.clone()],
                            notes: Vec::new(),
                        };
                        self.send(Msg::Header(Ok(found)));
                    }
                    Event::Header(..) => {}
                    Event::Row(r) => self.send_row(r),
                }
            }
            !self.stopped
        })?;
        self.flush();
        Ok(())
    }
}

/// `"A", "B" and 3 more`.
fn listing(names: &[String]) -> String {
    let shown: Vec<String> = names.iter().take(3).map(|n| format!("{n:?}")).collect();
    match names.len() {
        0 => String::new(),
        1 => shown[0].clone(),
        n if n <= 3 => format!("{} and {}", shown[..n - 1].join(", "), shown[n - 1]),
        n => format!("{} and {} more", shown.join(", "), n - 3),
    }
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
        None | Some(SheetSel::All | SheetSel::List(_)) => names
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

impl Iterator for SheetSource {
    type Item = Result<SourceRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(row) = self.batch.next() {
            return Some(Ok(row));
        }
        if self.done {
            return None;
        }
        match self.rx.recv() {
            Ok(Msg::Rows(rows)) => {
                self.batch = rows.into_iter();
                self.next()
            }
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
    fn names_are_listed_briefly() {
        let n = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(listing(&n(&["A"])), "\"A\"");
        assert_eq!(listing(&n(&["A", "B"])), "\"A\" and \"B\"");
        assert_eq!(
            listing(&n(&["A", "B", "C", "D", "E"])),
            "\"A\", \"B\", \"C\" and 2 more"
        );
    }
}
