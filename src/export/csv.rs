//! CSV output: UTF-8, an optional byte order mark for Excel, any delimiter.
//! Text that a spreadsheet would run as a formula gets a leading `'`;
//! numbers, dates and booleans are written as themselves.

use super::columns::{neutralise, Cell};
use super::layout::Table;
use super::sink::{Sink, SinkError, SinkStats};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The CSV writer (one table: the first it is given).
pub struct CsvSink {
    path: PathBuf,
    out: csv::Writer<BufWriter<std::fs::File>>,
    record: Vec<String>,
    rows: u64,
}

impl CsvSink {
    pub fn new(
        file: std::fs::File,
        path: &Path,
        tables: &[Table],
        bom: bool,
        delimiter: u8,
    ) -> Result<CsvSink, SinkError> {
        let io = |source| SinkError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut buf = BufWriter::with_capacity(256 * 1024, file);
        if bom {
            buf.write_all("\u{feff}".as_bytes()).map_err(io)?;
        }
        let mut out = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .from_writer(buf);
        if let Some(t) = tables.first() {
            out.write_record(t.columns.iter().map(|c| neutralise(&c.header).into_owned()))
                .map_err(|source| SinkError::Csv {
                    path: path.to_path_buf(),
                    source,
                })?;
        }
        Ok(CsvSink {
            path: path.to_path_buf(),
            out,
            record: Vec::new(),
            rows: 0,
        })
    }
}

impl Sink for CsvSink {
    fn row(&mut self, _table: usize, cells: &[Cell]) -> Result<(), SinkError> {
        self.record.clear();
        self.record.extend(cells.iter().map(|c| match c {
            Cell::Text(s) => neutralise(s).into_owned(),
            other => other.to_text(),
        }));
        self.out
            .write_record(&self.record)
            .map_err(|source| SinkError::Csv {
                path: self.path.clone(),
                source,
            })?;
        self.rows += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<SinkStats, SinkError> {
        let path = self.path.clone();
        let io = |source| SinkError::Io {
            path: path.clone(),
            source,
        };
        let buf = self.out.into_inner().map_err(|e| io(e.into_error()))?;
        let file = buf.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        Ok(SinkStats {
            rows: self.rows,
            sheets: Vec::new(),
        })
    }
}
