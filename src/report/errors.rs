//! The errors list: one CSV line per problem (UTF-8 with a BOM so Excel
//! reads it), written as outcomes stream in and moved into place when
//! finished, so an interrupted run leaves no half-written file. Values that
//! a spreadsheet would run as formulas get a leading `'`, as `export`
//! writes them.

use super::ReportError;
use crate::model::text::neutralise;
use crate::model::{Problem, Severity};
use crate::validate::Verdict;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The errors list's columns.
pub const COLUMNS: [&str; 11] = [
    "file", "sheet", "row", "column", "field", "code", "severity", "message", "found", "expected",
    "document",
];

/// The default errors list beside a rejects report: `bad.xlsx` →
/// `bad.errors.csv`.
pub fn errors_path_for(rejects: &Path) -> PathBuf {
    let stem = rejects
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rejects".into());
    rejects.with_file_name(format!("{stem}.errors.csv"))
}

/// Streams problems to a CSV file.
pub struct ErrorsWriter {
    path: PathBuf,
    out: csv::Writer<BufWriter<tempfile::NamedTempFile>>,
    pub written: u64,
}

impl ErrorsWriter {
    pub fn create(path: &Path) -> Result<Self, ReportError> {
        let tmp = crate::fs::temp_beside(path)?;
        let mut buf = BufWriter::new(tmp);
        buf.write_all(b"\xEF\xBB\xBF")
            .map_err(|e| ReportError::write(path, e))?;
        let mut out = csv::Writer::from_writer(buf);
        out.write_record(COLUMNS)
            .map_err(|e| ReportError::csv(path, e))?;
        Ok(ErrorsWriter {
            path: path.to_path_buf(),
            out,
            written: 0,
        })
    }

    /// Start the list over, empty (a new temporary file; the old one is
    /// removed).
    pub fn restart(&mut self) -> Result<(), ReportError> {
        *self = ErrorsWriter::create(&self.path.clone())?;
        Ok(())
    }

    /// Write every problem of a document (a valid one's warnings too).
    pub fn push(&mut self, verdict: &Verdict) -> Result<(), ReportError> {
        let doc = verdict.document();
        for p in &verdict.problems {
            self.problem(p, doc)?;
        }
        Ok(())
    }

    /// Write one problem.
    pub fn problem(&mut self, p: &Problem, document: &str) -> Result<(), ReportError> {
        let row = p.row.as_ref().or(p.cell.as_ref().map(|c| &c.row));
        let row_no = row.map(|r| r.row.to_string()).unwrap_or_default();
        let severity = match p.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        // Every value is neutralised as `export` writes it: a spreadsheet
        // opening the list never runs a formula from the input.
        let n = |s: &str| neutralise(s).into_owned();
        self.out
            .write_record([
                n(row.map(|r| &*r.file).unwrap_or("")),
                n(row.and_then(|r| r.sheet.as_deref()).unwrap_or("")),
                row_no,
                n(p.cell.as_ref().map(|c| &*c.column).unwrap_or("")),
                n(&p.field),
                p.code.to_string(),
                severity.to_string(),
                n(&p.message),
                n(p.found.as_deref().unwrap_or("")),
                n(p.expected.as_deref().unwrap_or("")),
                n(document),
            ])
            .map_err(|e| ReportError::csv(&self.path, e))?;
        self.written += 1;
        Ok(())
    }

    /// Flush and move the file into place.
    pub fn finish(self) -> Result<PathBuf, ReportError> {
        let path = self.path;
        let buf = self
            .out
            .into_inner()
            .map_err(|e| ReportError::write(&path, e.into_error()))?;
        let tmp = buf
            .into_inner()
            .map_err(|e| ReportError::write(&path, e.into_error()))?;
        crate::fs::persist(tmp, &path)?;
        Ok(path)
    }
}
