//! JSON Lines output. Without `--columns`, `--mapping` or `--lines` each line
//! is an API object exactly as the API sent it (numbers keep every digit);
//! otherwise each line is a row keyed by column header, money as exact JSON
//! numbers and dates as `YYYY-MM-DD`. No formula neutralisation: JSON is not
//! a spreadsheet.

use super::columns::Cell;
use super::layout::Table;
use super::sink::{Sink, SinkError, SinkStats};
use serde_json::{Map, Number, Value};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The JSON Lines writer.
pub struct JsonlSink {
    path: PathBuf,
    out: BufWriter<std::fs::File>,
    headers: Vec<String>,
    objects: bool,
    rows: u64,
}

fn number(text: &str) -> Value {
    Number::from_str(text)
        .map(Value::Number)
        .unwrap_or_else(|_| Value::String(text.to_string()))
}

fn cell_value(c: &Cell) -> Value {
    match c {
        Cell::Empty => Value::Null,
        Cell::Text(s) => Value::String(s.clone()),
        Cell::Money(d) | Cell::Decimal(d) => number(&d.normalize().to_string()),
        Cell::Integer(i) => Value::from(*i),
        Cell::Date(d) => Value::String(d.format("%Y-%m-%d").to_string()),
        Cell::DateTime(t) => Value::String(t.format("%Y-%m-%dT%H:%M:%S").to_string()),
        Cell::Bool(b) => Value::Bool(*b),
    }
}

impl JsonlSink {
    pub fn new(file: std::fs::File, path: &Path, tables: &[Table], objects: bool) -> JsonlSink {
        JsonlSink {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(256 * 1024, file),
            headers: tables
                .first()
                .map(|t| t.columns.iter().map(|c| c.header.clone()).collect())
                .unwrap_or_default(),
            objects,
            rows: 0,
        }
    }

    fn line(&mut self, v: &Value) -> Result<(), SinkError> {
        let io = |source| SinkError::Io {
            path: self.path.clone(),
            source,
        };
        serde_json::to_writer(&mut self.out, v).map_err(|e| io(e.into()))?;
        self.out.write_all(b"\n").map_err(io)?;
        self.rows += 1;
        Ok(())
    }
}

impl Sink for JsonlSink {
    fn row(&mut self, _table: usize, cells: &[Cell]) -> Result<(), SinkError> {
        if self.objects {
            return Ok(());
        }
        let mut map = Map::with_capacity(cells.len());
        for (h, c) in self.headers.iter().zip(cells) {
            map.insert(h.clone(), cell_value(c));
        }
        self.line(&Value::Object(map))
    }

    fn object(&mut self, obj: &Value) -> Result<(), SinkError> {
        if self.objects {
            self.line(obj)?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<SinkStats, SinkError> {
        let path = self.path.clone();
        let io = |source| SinkError::Io {
            path: path.clone(),
            source,
        };
        let file = self.out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        Ok(SinkStats {
            rows: self.rows,
            sheets: Vec::new(),
        })
    }
}
