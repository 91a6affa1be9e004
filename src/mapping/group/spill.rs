//! A workbook's rows kept from the first pass for the second. Reading a
//! sheet is inflating and parsing its XML on one thread, the costliest part
//! of validating a workbook; grouping by key read it twice. Now the first
//! pass reads every row the mapping needs once, notes its key, and writes
//! the row to a temporary file in a compact binary form (typed cells, the
//! file and sheet by number); the second pass reads the rows back from
//! there, in order, as the source gave them (row-level errors included).
//! Memory stays flat: the file is on disk, and is gone when dropped.

use crate::binary::{put_date, put_datetime, put_text, put_u32, Reader};
use crate::model::RowRef;
use crate::read::{Cell, ReadError, SourceRow};
use compact_str::CompactString;
use std::io::{BufReader, BufWriter, Seek, Write};
use std::sync::Arc;

/// The rows written so far, and the names they refer to by number.
pub(super) struct Spill {
    out: BufWriter<std::fs::File>,
    /// Files and sheets, each once in a run of rows that name it.
    names: Vec<Arc<str>>,
    buf: Vec<u8>,
}

// Record tags.
const ROW: u8 = 0;
const RAGGED: u8 = 1;
const UNREADABLE: u8 = 2;

// Cell tags.
const EMPTY: u8 = 0;
const TEXT: u8 = 1;
const NUMBER: u8 = 2;
const BOOL: u8 = 3;
const DATE: u8 = 4;
const DATETIME: u8 = 5;
const ERROR: u8 = 6;

/// No sheet.
const NONE: u32 = u32::MAX;

impl Spill {
    pub(super) fn new() -> std::io::Result<Spill> {
        Ok(Spill {
            out: BufWriter::with_capacity(1 << 16, tempfile::tempfile()?),
            names: Vec::new(),
            buf: Vec::new(),
        })
    }

    /// A name's number (the last ones are checked: rows come in runs of one
    /// file and sheet).
    fn name(&mut self, name: &Arc<str>) -> u32 {
        if let Some(i) = self
            .names
            .iter()
            .rposition(|n| Arc::ptr_eq(n, name) || n == name)
        {
            return i as u32;
        }
        self.names.push(name.clone());
        (self.names.len() - 1) as u32
    }

    fn put_at(&mut self, buf: &mut Vec<u8>, at: &RowRef) {
        let file = self.name(&at.file);
        let sheet = at.sheet.as_ref().map_or(NONE, |s| self.name(s));
        put_u32(buf, file);
        put_u32(buf, sheet);
        buf.extend_from_slice(&at.row.to_le_bytes());
    }

    fn put_row(&mut self, buf: &mut Vec<u8>, row: &SourceRow) {
        self.put_at(buf, &row.at);
        put_u32(buf, row.cells.len() as u32);
        for cell in &row.cells {
            match cell {
                Cell::Empty => buf.push(EMPTY),
                Cell::Text(s) => {
                    buf.push(TEXT);
                    put_text(buf, s);
                }
                Cell::Number(s) => {
                    buf.push(NUMBER);
                    put_text(buf, s);
                }
                Cell::Error(s) => {
                    buf.push(ERROR);
                    put_text(buf, s);
                }
                Cell::Bool(b) => {
                    buf.push(BOOL);
                    buf.push(u8::from(*b));
                }
                Cell::Date(d) => {
                    buf.push(DATE);
                    put_date(buf, *d);
                }
                Cell::DateTime(t) => {
                    buf.push(DATETIME);
                    put_datetime(buf, *t);
                }
            }
        }
    }

    /// Keep one item of the source: a row, or a row-level error (fatal
    /// errors stop the first pass and are not kept).
    pub(super) fn keep(&mut self, item: &Result<SourceRow, ReadError>) -> std::io::Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        match item {
            Ok(row) => {
                buf.push(ROW);
                self.put_row(&mut buf, row);
            }
            Err(ReadError::Ragged {
                row,
                expected,
                found,
            }) => {
                buf.push(RAGGED);
                put_u32(&mut buf, *expected as u32);
                put_u32(&mut buf, *found as u32);
                self.put_row(&mut buf, row);
            }
            Err(ReadError::Row { at, message }) => {
                buf.push(UNREADABLE);
                self.put_at(&mut buf, at);
                put_text(&mut buf, message);
            }
            Err(_) => {}
        }
        let done = self.out.write_all(&buf);
        self.buf = buf;
        done
    }

    /// The rows kept, in order.
    pub(super) fn rows(self) -> std::io::Result<Rows> {
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        Ok(Rows {
            inner: Reader::new(
                BufReader::with_capacity(1 << 16, file),
                "the file of rows kept from the first pass",
            ),
            names: self.names,
        })
    }
}

/// Reads back what [`Spill::keep`] wrote.
pub(super) struct Rows {
    inner: Reader<BufReader<std::fs::File>>,
    names: Vec<Arc<str>>,
}

impl Rows {
    fn text(&mut self) -> std::io::Result<CompactString> {
        self.inner.str().map(CompactString::from)
    }

    fn name(&self, i: u32) -> std::io::Result<Arc<str>> {
        self.names
            .get(i as usize)
            .cloned()
            .ok_or_else(|| self.inner.damaged("name"))
    }

    fn at(&mut self) -> std::io::Result<RowRef> {
        let file = self.inner.u32()?;
        let sheet = self.inner.u32()?;
        let row = self.inner.u64()?;
        Ok(RowRef {
            file: self.name(file)?,
            sheet: match sheet {
                NONE => None,
                s => Some(self.name(s)?),
            },
            row,
        })
    }

    fn row(&mut self) -> std::io::Result<SourceRow> {
        let at = self.at()?;
        let n = self.inner.u32()? as usize;
        // Not trusted for the allocation: a damaged count ends at the file's end.
        let mut cells = Vec::with_capacity(n.min(1 << 12));
        for _ in 0..n {
            cells.push(match self.inner.u8()? {
                EMPTY => Cell::Empty,
                TEXT => Cell::Text(self.text()?),
                NUMBER => Cell::Number(self.text()?),
                ERROR => Cell::Error(self.text()?),
                BOOL => Cell::Bool(self.inner.u8()? != 0),
                DATE => Cell::Date(self.inner.date()?),
                DATETIME => Cell::DateTime(self.inner.datetime()?),
                _ => return Err(self.inner.damaged("cell")),
            });
        }
        Ok(SourceRow { at, cells })
    }

    /// The next item, as the source gave it; `None` at the end.
    pub(super) fn next_item(&mut self) -> std::io::Result<Option<Result<SourceRow, ReadError>>> {
        let Some(tag) = self.inner.first_byte()? else {
            return Ok(None);
        };
        Ok(Some(match tag {
            ROW => Ok(self.row()?),
            RAGGED => {
                let expected = self.inner.u32()? as usize;
                let found = self.inner.u32()? as usize;
                Err(ReadError::Ragged {
                    row: Box::new(self.row()?),
                    expected,
                    found,
                })
            }
            UNREADABLE => {
                let at = self.at()?;
                let message = self.inner.text()?;
                Err(ReadError::Row { at, message })
            }
            _ => return Err(self.inner.damaged("record")),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, NaiveDate};
    use proptest::prelude::*;

    fn cell() -> BoxedStrategy<Cell> {
        prop_oneof![
            Just(Cell::Empty),
            "[a-zăîșțЖё \"';\n]{0,30}".prop_map(|s| Cell::Text(s.into())),
            "-?[0-9]{1,12}(\\.[0-9]{1,6})?".prop_map(|s| Cell::Number(s.into())),
            "#[A-Z/0!]{2,6}".prop_map(|s| Cell::Error(s.into())),
            any::<bool>().prop_map(Cell::Bool),
            (-700_000i32..3_000_000)
                .prop_map(|d| Cell::Date(NaiveDate::from_num_days_from_ce_opt(d).unwrap())),
            (-50_000_000_000i64..50_000_000_000, 0u32..1_000_000_000).prop_map(|(s, n)| {
                Cell::DateTime(DateTime::from_timestamp(s, n).unwrap().naive_utc())
            }),
        ]
        .boxed()
    }

    fn item(
        files: [Arc<str>; 2],
        sheets: [Arc<str>; 2],
    ) -> impl Strategy<Value = Result<SourceRow, ReadError>> {
        let at =
            (0usize..2, prop::option::of(0usize..2), any::<u64>()).prop_map(move |(f, s, row)| {
                RowRef {
                    file: files[f].clone(),
                    sheet: s.map(|s| sheets[s].clone()),
                    row,
                }
            });
        let row = (at.clone(), prop::collection::vec(cell(), 0..20))
            .prop_map(|(at, cells)| SourceRow { at, cells })
            .boxed();
        prop_oneof![
            6 => row.clone().prop_map(Ok),
            1 => (row, 0usize..50, 0usize..50).prop_map(|(row, expected, found)| Err(ReadError::Ragged {
                row: Box::new(row),
                expected,
                found,
            })),
            1 => (at, "[a-z ]{0,40}").prop_map(|(at, message)| Err(ReadError::Row { at, message })),
        ]
    }

    /// What an item is, for comparing (the error type is not `PartialEq`).
    fn seen(item: &Result<SourceRow, ReadError>) -> String {
        match item {
            Ok(r) => format!(
                "row {:?} {:?} {} {:?}",
                r.at.file, r.at.sheet, r.at.row, r.cells
            ),
            Err(ReadError::Ragged {
                row,
                expected,
                found,
            }) => format!(
                "ragged {expected} {found} {:?} {:?} {} {:?}",
                row.at.file, row.at.sheet, row.at.row, row.cells
            ),
            Err(e) => format!("{e}"),
        }
    }

    proptest! {
        #[test]
        fn every_item_comes_back_as_it_was_kept(
            items in prop::collection::vec(
                item(["a.xlsx".into(), "b.ods".into()], ["Ianuarie".into(), "Лист 2".into()]),
                0..60,
            )
        ) {
            let mut spill = Spill::new().unwrap();
            for i in &items {
                spill.keep(i).unwrap();
            }
            let mut rows = spill.rows().unwrap();
            let mut back = Vec::new();
            while let Some(i) = rows.next_item().unwrap() {
                back.push(seen(&i));
            }
            prop_assert_eq!(back, items.iter().map(seen).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_panic() {
        let mut spill = Spill::new().unwrap();
        let row = SourceRow {
            at: RowRef {
                file: "a.xlsx".into(),
                sheet: None,
                row: 3,
            },
            cells: vec![Cell::Text("x".into())],
        };
        spill.keep(&Ok(row)).unwrap();
        // A record tag no writer writes.
        spill.out.write_all(&[9]).unwrap();
        let mut rows = spill.rows().unwrap();
        assert!(matches!(rows.next_item(), Ok(Some(Ok(_)))));
        let e = rows.next_item().err().unwrap();
        assert!(e.to_string().contains("damaged"), "{e}");
    }
}
