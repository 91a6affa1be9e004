//! Rows held back until the metadata keys are known: with `metadata.*`
//! columns (a column per metadata key) the header can only be written once
//! every object has been seen. Each object is flattened as it comes, its rows
//! go to a temporary file in a compact binary form (typed cells; for a
//! `metadata.*` column, the object's own keys and cells), and memory stays
//! flat; then the columns are expanded and the rows written, without
//! decoding JSON a second time.

use super::columns::{Cell, Column, FieldPath};
use super::engine::WIDTH_SAMPLE;
use super::layout::Table;
use super::sink::{SinkError, SinkOptions};
use crate::binary::{put_date, put_datetime, put_text, put_u32};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::io::{BufReader, Read, Seek, Write};
use std::path::Path;

/// The rows held back, the metadata keys seen, and the first objects
/// (for the column widths).
pub(super) struct Spool {
    out: std::io::BufWriter<std::fs::File>,
    /// Metadata keys by their number in the file, in the order first seen.
    keys: Vec<String>,
    key_ids: HashMap<String, u32, foldhash::fast::RandomState>,
    sample: Vec<Value>,
    buf: Vec<u8>,
}

// Cell tags; `SLOT` is a `metadata.*` column's entries.
const EMPTY: u8 = 0;
const TEXT: u8 = 1;
const MONEY: u8 = 2;
const DECIMAL: u8 = 3;
const INTEGER: u8 = 4;
const DATE: u8 = 5;
const DATETIME: u8 = 6;
const BOOL: u8 = 7;
const SLOT: u8 = 8;

fn put_cell(buf: &mut Vec<u8>, cell: &Cell) {
    match cell {
        Cell::Empty => buf.push(EMPTY),
        Cell::Text(s) => {
            buf.push(TEXT);
            put_text(buf, s);
        }
        Cell::Money(d) => {
            buf.push(MONEY);
            buf.extend_from_slice(&d.serialize());
        }
        Cell::Decimal(d) => {
            buf.push(DECIMAL);
            buf.extend_from_slice(&d.serialize());
        }
        Cell::Integer(i) => {
            buf.push(INTEGER);
            buf.extend_from_slice(&i.to_le_bytes());
        }
        Cell::Date(d) => {
            buf.push(DATE);
            put_date(buf, *d);
        }
        Cell::DateTime(t) => {
            buf.push(DATETIME);
            put_datetime(buf, *t);
        }
        Cell::Bool(b) => {
            buf.push(BOOL);
            buf.push(u8::from(*b));
        }
    }
}

/// Reads back what [`put_cell`] wrote.
struct Reader<R> {
    inner: crate::binary::Reader<R>,
}

impl<R: Read> Reader<R> {
    fn new(inner: R) -> Reader<R> {
        Reader {
            inner: crate::binary::Reader::new(inner, "the export's spool file"),
        }
    }

    fn damaged(&self, what: &str) -> std::io::Error {
        self.inner.damaged(what)
    }

    fn u32(&mut self) -> std::io::Result<u32> {
        self.inner.u32()
    }

    /// The next row's table, or `None` at the end of the file.
    fn table(&mut self) -> std::io::Result<Option<u32>> {
        let Some(first) = self.inner.first_byte()? else {
            return Ok(None);
        };
        let [b, c, d] = self.inner.bytes()?;
        Ok(Some(u32::from_le_bytes([first, b, c, d])))
    }

    fn tag(&mut self) -> std::io::Result<u8> {
        self.inner.u8()
    }

    fn cell(&mut self, tag: u8) -> std::io::Result<Cell> {
        let r = &mut self.inner;
        Ok(match tag {
            EMPTY => Cell::Empty,
            TEXT => Cell::Text(r.text()?),
            MONEY => Cell::Money(Decimal::deserialize(r.bytes()?)),
            DECIMAL => Cell::Decimal(Decimal::deserialize(r.bytes()?)),
            INTEGER => Cell::Integer(i64::from_le_bytes(r.bytes()?)),
            DATE => Cell::Date(r.date()?),
            DATETIME => Cell::DateTime(r.datetime()?),
            BOOL => Cell::Bool(r.u8()? != 0),
            _ => return Err(r.damaged("cell")),
        })
    }
}

impl Spool {
    /// Whether the tables have `metadata.*` columns (and rows are written).
    pub(super) fn needed(tables: &[Table], opts: &SinkOptions) -> bool {
        !opts.jsonl_objects
            && tables
                .iter()
                .any(|t| t.columns.iter().any(|c| c.field.is_metadata_columns()))
    }

    pub(super) fn new(target: &Path) -> Result<Spool, crate::fs::FsError> {
        let file = tempfile::tempfile().map_err(|source| crate::fs::FsError {
            action: "failed to create a temporary file for the export to",
            path: target.to_path_buf(),
            source,
        })?;
        Ok(Spool {
            out: std::io::BufWriter::with_capacity(1 << 16, file),
            keys: Vec::new(),
            key_ids: HashMap::default(),
            sample: Vec::new(),
            buf: Vec::new(),
        })
    }

    fn key_id(&mut self, k: &str) -> u32 {
        if let Some(id) = self.key_ids.get(k) {
            return *id;
        }
        let id = self.keys.len() as u32;
        self.keys.push(k.to_string());
        self.key_ids.insert(k.to_string(), id);
        id
    }

    /// Hold one object's rows back: `rows` are its rows as the engine
    /// writes them (`(table, line)`), in order.
    pub(super) fn hold<'a>(
        &mut self,
        tables: &[Table],
        doc: &'a Value,
        rows: impl Iterator<Item = (usize, Option<&'a Value>)>,
    ) -> std::io::Result<()> {
        if self.sample.len() < WIDTH_SAMPLE {
            self.sample.push(doc.clone());
        }
        let metadata = match doc.get("metadata") {
            Some(Value::Object(m)) => Some(m),
            _ => None,
        };
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        for (t, line) in rows {
            put_u32(&mut buf, t as u32);
            for c in &tables[t].columns {
                if !c.field.is_metadata_columns() {
                    put_cell(&mut buf, &c.cell(doc, line));
                    continue;
                }
                buf.push(SLOT);
                let Some(m) = metadata else {
                    put_u32(&mut buf, 0);
                    continue;
                };
                put_u32(&mut buf, m.len() as u32);
                for (k, v) in m {
                    let id = self.key_id(k);
                    put_u32(&mut buf, id);
                    put_cell(&mut buf, &super::columns::to_cell(Some(v), c.format));
                }
            }
        }
        let done = self.out.write_all(&buf);
        self.buf = buf;
        done
    }

    /// Whether every metadata key of `doc` has been seen.
    pub(super) fn knows_keys(&self, doc: &Value) -> bool {
        match doc.get("metadata") {
            Some(Value::Object(m)) => m.keys().all(|k| self.key_ids.contains_key(k)),
            _ => true,
        }
    }

    /// The ids of the keys seen, in name order: the order of the columns
    /// that [`Spool::expand`] makes.
    pub(super) fn sorted_ids(&self) -> Vec<u32> {
        self.sorted_keys()
            .into_iter()
            .map(|k| self.key_ids[k])
            .collect()
    }

    /// Hold a row already flattened for the tables as [`Spool::expand`]
    /// expanded them (`ids`: [`Spool::sorted_ids`] then), in the form
    /// [`Spool::hold`] gives it; `unexpanded`: its table before.
    pub(super) fn hold_row(
        &mut self,
        unexpanded: &Table,
        table: usize,
        cells: &[Cell],
        ids: &[u32],
    ) -> std::io::Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        put_u32(&mut buf, table as u32);
        let cell = |at: usize| cells.get(at).unwrap_or(&Cell::Empty);
        let mut at = 0;
        for c in &unexpanded.columns {
            if !c.field.is_metadata_columns() {
                put_cell(&mut buf, cell(at));
                at += 1;
                continue;
            }
            // The slot's keys: those with a cell (a missing key replays as
            // an empty cell, as an empty one does).
            buf.push(SLOT);
            let filled = |(k, id): (usize, &u32)| {
                let c = cell(at + k);
                (!matches!(c, Cell::Empty)).then_some((*id, c))
            };
            put_u32(
                &mut buf,
                ids.iter().enumerate().filter_map(filled).count() as u32,
            );
            for (id, c) in ids.iter().enumerate().filter_map(filled) {
                put_u32(&mut buf, id);
                put_cell(&mut buf, c);
            }
            at += ids.len();
        }
        let done = self.out.write_all(&buf);
        self.buf = buf;
        done
    }

    /// The first objects held.
    pub(super) fn sample(&self) -> &[Value] {
        &self.sample
    }

    /// The keys seen, in name order.
    fn sorted_keys(&self) -> BTreeSet<&str> {
        self.keys.iter().map(String::as_str).collect()
    }

    /// Each `metadata.*` column becomes one `metadata.KEY` column per key
    /// seen, in name order.
    pub(super) fn expand(&self, tables: &mut [Table]) {
        let keys = self.sorted_keys();
        for t in tables {
            t.columns = std::mem::take(&mut t.columns)
                .into_iter()
                .flat_map(|c| {
                    if !c.field.is_metadata_columns() {
                        return vec![c];
                    }
                    keys.iter()
                        .map(|k| Column {
                            header: format!("metadata.{k}"),
                            field: FieldPath {
                                line: false,
                                segments: vec!["metadata".into(), k.to_string()],
                            },
                            format: c.format,
                            width: c.width,
                        })
                        .collect()
                })
                .collect();
        }
    }

    /// Give every row held back to `write` (table, cells), in order; the
    /// `metadata.*` columns expanded as [`Spool::expand`] expanded them in
    /// `unexpanded` (the tables as they were when the rows were held).
    pub(super) fn replay(
        self,
        target: &Path,
        unexpanded: &[Table],
        mut write: impl FnMut(usize, &[Cell]) -> Result<(), SinkError>,
    ) -> Result<(), SinkError> {
        let io = |source| SinkError::Io {
            path: target.to_path_buf(),
            source,
        };
        // Each key's place among the expanded columns.
        let sorted = self.sorted_keys();
        let place: HashMap<&str, usize> = sorted.iter().enumerate().map(|(i, k)| (*k, i)).collect();
        let order: Vec<usize> = self.keys.iter().map(|k| place[k.as_str()]).collect();
        let n_keys = order.len();
        let mut file = self.out.into_inner().map_err(|e| io(e.into_error()))?;
        file.rewind().map_err(io)?;
        let mut r = Reader::new(BufReader::with_capacity(1 << 16, file));
        let mut cells: Vec<Cell> = Vec::new();
        while let Some(t) = r.table().map_err(io)? {
            let t = t as usize;
            let columns = unexpanded
                .get(t)
                .map(|t| t.columns.len())
                .ok_or_else(|| io(r.damaged("table")))?;
            cells.clear();
            for _ in 0..columns {
                let tag = r.tag().map_err(io)?;
                if tag != SLOT {
                    cells.push(r.cell(tag).map_err(io)?);
                    continue;
                }
                let start = cells.len();
                cells.resize(start + n_keys, Cell::Empty);
                for _ in 0..r.u32().map_err(io)? {
                    let id = r.u32().map_err(io)? as usize;
                    let tag = r.tag().map_err(io)?;
                    let cell = r.cell(tag).map_err(io)?;
                    let at = order.get(id).ok_or_else(|| io(r.damaged("key")))?;
                    cells[start + at] = cell;
                }
            }
            write(t, &cells)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use rust_decimal_macros::dec;

    #[test]
    fn every_cell_comes_back_as_it_was_held() {
        let d = NaiveDate::from_ymd_opt(2026, 2, 28).unwrap();
        let cells = [
            Cell::Empty,
            Cell::Text("Pâine albă =1+1".into()),
            Cell::Text(String::new()),
            Cell::Money(dec!(12345678901234567.89)),
            Cell::Money(dec!(-0.10)),
            Cell::Decimal(dec!(3.125)),
            Cell::Integer(i64::MIN),
            Cell::Date(d),
            Cell::DateTime(d.and_hms_opt(23, 59, 58).unwrap()),
            Cell::Bool(true),
            Cell::Bool(false),
        ];
        let mut buf = Vec::new();
        for c in &cells {
            put_cell(&mut buf, c);
        }
        let mut r = Reader::new(buf.as_slice());
        for c in &cells {
            let tag = r.tag().unwrap();
            let back = r.cell(tag).unwrap();
            assert_eq!(&back, c);
            if let (Cell::Money(a), Cell::Money(b)) = (&back, c) {
                assert_eq!(a.scale(), b.scale(), "the scale is kept");
            }
        }
        assert!(r.table().unwrap().is_none(), "nothing left");
        let mut bad = Reader::new(&[TEXT, 9, 0, 0, 0, b'x'][..]);
        assert!(
            bad.cell(TEXT).is_err(),
            "a cut file is an error, not a panic"
        );
    }
}
