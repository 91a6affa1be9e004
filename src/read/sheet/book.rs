//! [`Book`]: an open workbook (XLSX streamed cell by cell, the others
//! loaded a sheet at a time), its sheets' merged regions, and every cell
//! of a sheet in row order into an [`Assembler`]: for XLSX, calamine's
//! reader on one thread and the rows made on another.

use super::super::{Format, Limits, ReadError};
use super::assemble::{Assembler, Event};
use super::cell;
use super::merges;
use crate::model::text::{cut, thousands};
use calamine::{Dimensions, Reader};
use std::path::Path;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

/// A cell as read: calamine's value (a shared string borrowed from the
/// workbook), or already made a cell.
enum Raw<'a> {
    Ref(calamine::DataRef<'a>),
    Cell(super::super::Cell),
}

/// An XLSX sheet's cells go from the reading thread to the one making rows
/// in batches of this many, at most [`CELL_BATCHES`] waiting.
const CELL_BATCH: usize = 1024;
const CELL_BATCHES: usize = 4;

/// Merged regions a sheet may have: each is looked at on every row it
/// covers.
const MAX_MERGES: usize = 100_000;

fn wb_error(
    path: &Path,
    what: &str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> ReadError {
    ReadError::file(path, what.to_string(), Some(Box::new(e)))
}

/// An open workbook: XLSX streamed, the others loaded a sheet at a time.
pub(super) enum Book {
    /// With the regions the budget check found in its big sheets.
    Xlsx(
        Box<calamine::Xlsx<std::io::BufReader<std::fs::File>>>,
        Arc<super::super::budget::Scanned>,
    ),
    Other(Box<calamine::Sheets<std::io::BufReader<std::fs::File>>>),
}

impl Book {
    pub(super) fn open(
        path: &Path,
        format: Format,
        scanned: Arc<super::super::budget::Scanned>,
    ) -> Result<Book, ReadError> {
        Ok(match format {
            Format::Xlsx => Book::Xlsx(
                Box::new(
                    calamine::open_workbook(path)
                        .map_err(|e| wb_error(path, "not a readable XLSX workbook", e))?,
                ),
                scanned,
            ),
            _ => Book::Other(Box::new(
                calamine::open_workbook_auto(path)
                    .map_err(|e| wb_error(path, "not a readable workbook", e))?,
            )),
        })
    }

    pub(super) fn sheet_names(&self) -> Vec<String> {
        match self {
            Book::Xlsx(wb, _) => wb.sheet_names(),
            Book::Other(wb) => wb.sheet_names(),
        }
    }

    /// The merged regions of sheet `name`; more than [`MAX_MERGES`] is an
    /// error.
    pub(super) fn merges(
        &mut self,
        path: &Path,
        name: &str,
        limits: Limits,
    ) -> Result<Vec<Dimensions>, ReadError> {
        let merges = match self {
            // A byte scan of the sheet's part, or calamine's reading of it.
            Book::Xlsx(wb, scanned) => merges::find(path, name, limits.max_cell_bytes, scanned)
                .unwrap_or_else(|| wb.merge_cells_by_sheet_name(name).unwrap_or_default()),
            Book::Other(wb) => match &mut **wb {
                calamine::Sheets::Xls(x) => x.merge_cells_by_sheet_name(name).unwrap_or_default(),
                _ => Vec::new(),
            },
        };
        if merges.len() > MAX_MERGES {
            return Err(ReadError::file(
                path,
                format!(
                    "sheet {:?} has {} merged regions, more than a sheet may ({})",
                    cut(name),
                    thousands(merges.len() as u64),
                    thousands(MAX_MERGES as u64)
                ),
                None,
            ));
        }
        Ok(merges)
    }

    /// Every cell of sheet `name` in row order into `asm`, until `more`
    /// says stop. An XLSX sheet's cells are read (inflated and parsed) on
    /// this thread and made [`Cell`](super::super::Cell)s and rows on another, a
    /// few batches behind, so that the reading, the costliest part, has a
    /// core to itself.
    pub(super) fn cells(
        &mut self,
        path: &Path,
        name: &str,
        asm: &mut Assembler,
        mut more: impl FnMut(&mut Assembler) -> bool + Send,
    ) -> Result<(), ReadError> {
        let what = format!("failed to read sheet {name:?}");
        let damaged = |m: String| ReadError::file(path, m, None);
        match self {
            Book::Xlsx(wb, _) => {
                let mut cells = wb
                    .worksheet_cells_reader(name)
                    .map_err(|e| wb_error(path, &what, e))?;
                let (tx, rx) = sync_channel::<Vec<(u32, u32, Raw<'_>)>>(CELL_BATCHES);
                let (read, assembled) = std::thread::scope(|scope| {
                    let asm = &mut *asm;
                    let more = &mut more;
                    // Ok(true): every cell was taken; Ok(false): `more` said stop.
                    let assembler = std::thread::Builder::new()
                        .name("sheet-rows".into())
                        .spawn_scoped(scope, move || -> Result<bool, ReadError> {
                            for batch in rx {
                                for (r, col, raw) in batch {
                                    let cell = match raw {
                                        Raw::Ref(v) => cell::from_ref(&v),
                                        Raw::Cell(c) => c,
                                    };
                                    asm.push(r, col, cell).map_err(damaged)?;
                                    if !more(asm) {
                                        return Ok(false);
                                    }
                                }
                            }
                            Ok(true)
                        });
                    let assembler = match assembler {
                        Ok(a) => a,
                        Err(e) => {
                            let what = "failed to start a thread to make the sheet's rows";
                            let e = ReadError::file(path, what, Some(Box::new(e)));
                            return (Ok(()), Err(e));
                        }
                    };
                    let mut batch = Vec::with_capacity(CELL_BATCH);
                    let read = loop {
                        match cells.next_cell() {
                            Ok(Some(c)) => {
                                let (r, col) = c.get_position();
                                // A shared string is passed on by reference
                                // (copied once, into its cell, over there);
                                // a string of the cell's own is made its cell
                                // here rather than copied twice.
                                let raw = match c.get_value() {
                                    v @ calamine::DataRef::String(_) => {
                                        Raw::Cell(cell::from_ref(v))
                                    }
                                    v => Raw::Ref(v.clone()),
                                };
                                batch.push((r, col, raw));
                                if batch.len() == CELL_BATCH {
                                    let full = std::mem::replace(
                                        &mut batch,
                                        Vec::with_capacity(CELL_BATCH),
                                    );
                                    // The assembler stopped: it says why.
                                    if tx.send(full).is_err() {
                                        break Ok(());
                                    }
                                }
                            }
                            Ok(None) => {
                                let _ = tx.send(batch);
                                break Ok(());
                            }
                            Err(e) => break Err(wb_error(path, &what, e)),
                        }
                    };
                    drop(tx);
                    let assembled = assembler
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    (read, assembled)
                });
                // The rows before a damaged cell or an unreadable part go
                // out first; an error the assembler found comes earlier in
                // the sheet than one the reader found after it.
                if !assembled? {
                    return Ok(());
                }
                read?;
            }
            Book::Other(wb) => {
                let range = wb
                    .worksheet_range(name)
                    .map_err(|e| wb_error(path, &what, e))?;
                let (r0, c0) = range.start().unwrap_or((0, 0));
                for (i, row) in range.rows().enumerate() {
                    for (j, v) in row.iter().enumerate() {
                        let cell = cell::from_data(v);
                        if !cell.is_empty() {
                            asm.push(r0 + i as u32, c0 + j as u32, cell)
                                .map_err(damaged)?;
                            if !more(asm) {
                                return Ok(());
                            }
                        }
                    }
                }
            }
        }
        asm.finish().map_err(damaged)?;
        more(asm);
        Ok(())
    }

    /// The header of sheet `name`: its names and row, or None when the
    /// sheet has no cells at or below `header_row`.
    pub(super) fn header(
        &mut self,
        path: &Path,
        file: &Arc<str>,
        name: &str,
        header_row: u64,
        limits: Limits,
    ) -> Result<Option<(Vec<String>, u64)>, ReadError> {
        let merges = self.merges(path, name, limits)?;
        let mut asm = Assembler::new(file.clone(), name, header_row, limits, merges, None);
        let mut found = None;
        self.cells(path, name, &mut asm, |asm| {
            for e in asm.events.drain(..) {
                if let Event::Header(h, r) = e {
                    found = Some((h, r));
                }
            }
            found.is_none()
        })?;
        Ok(found)
    }
}
