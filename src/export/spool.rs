//! Objects held back until the metadata keys are known: with `metadata.*`
//! columns (a column per metadata key) the header can only be written once
//! every object has been seen, so the objects go to a temporary file, one
//! JSON object per line, and memory stays flat; then the columns are
//! expanded and the objects written as rows.

use super::columns::{Column, FieldPath};
use super::engine::WIDTH_SAMPLE;
use super::layout::Table;
use super::sink::{SinkError, SinkOptions};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, Seek, Write};
use std::path::Path;

/// The objects held back, the metadata keys seen, and the first objects
/// (for the column widths).
pub(super) struct Spool {
    out: std::io::BufWriter<std::fs::File>,
    keys: BTreeSet<String>,
    sample: Vec<Value>,
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
            out: std::io::BufWriter::new(file),
            keys: BTreeSet::new(),
            sample: Vec::new(),
        })
    }

    /// Hold one object back.
    pub(super) fn hold(&mut self, doc: &Value) -> std::io::Result<()> {
        if let Some(Value::Object(m)) = doc.get("metadata") {
            for k in m.keys() {
                if !self.keys.contains(k) {
                    self.keys.insert(k.clone());
                }
            }
        }
        if self.sample.len() < WIDTH_SAMPLE {
            self.sample.push(doc.clone());
        }
        serde_json::to_writer(&mut self.out, doc)?;
        self.out.write_all(b"\n")
    }

    /// The first objects held.
    pub(super) fn sample(&self) -> &[Value] {
        &self.sample
    }

    /// Each `metadata.*` column becomes one `metadata.KEY` column per key
    /// seen, in name order.
    pub(super) fn expand(&self, tables: &mut [Table]) {
        for t in tables {
            t.columns = std::mem::take(&mut t.columns)
                .into_iter()
                .flat_map(|c| {
                    if !c.field.is_metadata_columns() {
                        return vec![c];
                    }
                    self.keys
                        .iter()
                        .map(|k| Column {
                            header: format!("metadata.{k}"),
                            field: FieldPath {
                                line: false,
                                segments: vec!["metadata".into(), k.clone()],
                            },
                            format: c.format,
                            width: c.width,
                        })
                        .collect()
                })
                .collect();
        }
    }

    /// Give every object held back to `write`, in order.
    pub(super) fn replay(
        self,
        target: &Path,
        mut write: impl FnMut(&Value) -> Result<(), SinkError>,
    ) -> Result<(), SinkError> {
        let io = |source| SinkError::Io {
            path: target.to_path_buf(),
            source,
        };
        let mut file = self.out.into_inner().map_err(|e| io(e.into_error()))?;
        file.rewind().map_err(io)?;
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(io)?;
            let doc: Value = serde_json::from_str(&line).map_err(|e| io(e.into()))?;
            write(&doc)?;
        }
        Ok(())
    }
}
