//! The reconciliation report of `runs verify --report PATH`, to hand to
//! whoever signs a migration off, and its text for the terminal.
//!
//! - `PATH.xlsx`: one workbook, sheets `Summary`, `By month`,
//!   `By customer`, `Differences`, `Documents`; typed cells, bold frozen
//!   headers, filters and fitted widths as exports have (it is written by
//!   the export's [`XlsxSink`]); the cells where the account does not match
//!   the source filled red; the verdict under the summary.
//! - `PATH.csv`: the summary, with one CSV beside it per other sheet
//!   (`PATH-stem.by-month.csv`, `.by-customer.csv`, `.differences.csv`,
//!   `.documents.csv`), the verdict as its last lines.
//! - `PATH.json`: the whole [`Reconciliation`], as `--json` prints it.
//!
//! Every file is written beside its target and renamed into place only once
//! all are complete. The data is what [`mod@crate::ops::verify`] found: this
//! module only lays it out (`sheets.rs`) and renders it.

mod sheets;

pub use sheets::{kind_label, sheets, Sheet};

use super::ReportError;
use crate::export::columns::{money_text, Cell, Column, FieldPath};
use crate::export::layout::Table;
use crate::export::sink::{Sink, SinkError, SinkOptions, XLSX_MAX_DATA_ROWS};
use crate::export::xlsx::{fitted_width, XlsxSink};
use crate::export::OutputFormat;
use crate::ops::verify::{DocStatus, Reconciliation, TotalsRow};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The formats `--report` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconcileFormat {
    Xlsx,
    Csv,
    Json,
}

impl ReconcileFormat {
    /// From the report's extension.
    pub fn from_path(path: &Path) -> Option<ReconcileFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "xlsx" => Some(ReconcileFormat::Xlsx),
            "csv" => Some(ReconcileFormat::Csv),
            "json" => Some(ReconcileFormat::Json),
            _ => None,
        }
    }
}

fn sink_error(e: SinkError) -> ReportError {
    match e {
        SinkError::Io { path, source } => ReportError::Write { path, source },
        SinkError::Xlsx { path, source } => ReportError::Xlsx { path, source },
        SinkError::Csv { path, source } => ReportError::Csv { path, source },
        SinkError::Overflow { path, what } => ReportError::Write {
            path,
            source: std::io::Error::other(what),
        },
    }
}

fn table_of(s: &Sheet) -> Table {
    Table {
        name: s.name.to_string(),
        columns: s
            .columns
            .iter()
            .map(|(h, f)| Column {
                header: h.to_string(),
                field: FieldPath {
                    line: false,
                    segments: vec![h.to_string()],
                },
                format: *f,
                width: None,
            })
            .collect(),
        per_line: false,
    }
}

fn widths_of(s: &Sheet) -> Vec<f64> {
    s.columns
        .iter()
        .enumerate()
        .map(|(i, (h, f))| {
            fitted_width(
                h,
                *f,
                s.rows
                    .iter()
                    .map(|(cells, _)| cells.get(i).map_or(0, Cell::display_len)),
            )
        })
        .collect()
}

/// A temporary file beside `path` and a handle to write it.
fn temp(path: &Path) -> Result<(tempfile::NamedTempFile, std::fs::File), ReportError> {
    let tmp = crate::fs::temp_beside(path)?;
    let file = tmp
        .as_file()
        .try_clone()
        .map_err(|e| ReportError::write(path, e))?;
    Ok((tmp, file))
}

fn xlsx(
    path: &Path,
    all: &[Sheet],
) -> Result<Vec<(tempfile::NamedTempFile, PathBuf)>, ReportError> {
    let (tmp, file) = temp(path)?;
    let tables: Vec<Table> = all.iter().map(table_of).collect();
    let widths: Vec<Vec<f64>> = all.iter().map(widths_of).collect();
    let mut sink = XlsxSink::new(file, path, &tables, &widths, XLSX_MAX_DATA_ROWS, None)
        .map_err(sink_error)?;
    for (i, s) in all.iter().enumerate() {
        for (cells, marks) in &s.rows {
            sink.row_marked(i, cells, marks).map_err(sink_error)?;
        }
        for (note, marked) in &s.notes {
            sink.note(i, note, *marked).map_err(sink_error)?;
        }
    }
    Box::new(sink).finish().map_err(sink_error)?;
    Ok(vec![(tmp, path.to_path_buf())])
}

/// `report.csv` → `report.by-month.csv`, beside it.
pub fn csv_path(path: &Path, slug: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "reconciliation".into());
    path.with_file_name(format!("{stem}.{slug}.csv"))
}

fn csv(path: &Path, all: &[Sheet]) -> Result<Vec<(tempfile::NamedTempFile, PathBuf)>, ReportError> {
    let mut out = Vec::new();
    for (i, s) in all.iter().enumerate() {
        let target = if i == 0 {
            path.to_path_buf()
        } else {
            csv_path(path, s.slug)
        };
        let (tmp, file) = temp(&target)?;
        let opts = SinkOptions {
            format: OutputFormat::Csv,
            ..SinkOptions::default()
        };
        let table = table_of(s);
        let mut sink =
            crate::export::sink::open(&opts, file, &target, &[table], &[]).map_err(sink_error)?;
        for (cells, _) in &s.rows {
            sink.row(0, cells).map_err(sink_error)?;
        }
        for (note, _) in &s.notes {
            let mut cells = vec![Cell::Empty; s.columns.len()];
            cells[0] = Cell::Text(note.clone());
            sink.row(0, &cells).map_err(sink_error)?;
        }
        sink.finish().map_err(sink_error)?;
        out.push((tmp, target));
    }
    Ok(out)
}

/// Write the report to `path` in the format its extension names; returns
/// the files written (the CSV report is several).
pub fn write(path: &Path, rec: &Reconciliation) -> Result<Vec<PathBuf>, ReportError> {
    let written = match ReconcileFormat::from_path(path) {
        Some(ReconcileFormat::Xlsx) => xlsx(path, &sheets(rec))?,
        Some(ReconcileFormat::Csv) => csv(path, &sheets(rec))?,
        Some(ReconcileFormat::Json) | None => {
            let (tmp, mut file) = temp(path)?;
            serde_json::to_writer_pretty(&mut file, rec)
                .map_err(|e| ReportError::write(path, e.into()))?;
            std::io::Write::write_all(&mut file, b"\n").map_err(|e| ReportError::write(path, e))?;
            file.sync_all().map_err(|e| ReportError::write(path, e))?;
            vec![(tmp, path.to_path_buf())]
        }
    };
    let mut paths = Vec::with_capacity(written.len());
    for (tmp, target) in written {
        crate::fs::persist(tmp, &target)?;
        paths.push(target);
    }
    Ok(paths)
}

/// Differences listed in the text (the report has them all).
pub const TEXT_DIFFERENCES: usize = 20;

/// Rejected documents listed in the text.
pub const TEXT_REJECTED: usize = 10;

fn totals_line(r: &TotalsRow) -> String {
    let m = |s, a, d| format!("{} | {} | {}", money_text(s), money_text(a), money_text(d));
    format!(
        "  {} {}: documents {} | {} | {}; net {}; VAT {}; gross {}{}",
        kind_label(r.kind),
        r.currency,
        r.source.documents,
        r.account.documents,
        r.difference.documents,
        m(r.source.net, r.account.net, r.difference.net),
        m(r.source.vat, r.account.vat, r.difference.vat),
        m(r.source.gross, r.account.gross, r.difference.gross),
        if r.differs() { "  ← differs" } else { "" }
    )
}

/// The reconciliation for people (stderr): counts, the first differences,
/// the first rejected documents, the grand totals, the verdict.
pub fn render_text(rec: &Reconciliation) -> String {
    let mut s = String::new();
    let c = &rec.counts;
    let _ = writeln!(
        s,
        "run {} against {}: {} documents in the source, {} compared with the account, {} not imported (rejected by validation)",
        rec.run, rec.env, c.documents, c.compared, c.rejected
    );
    let _ = writeln!(
        s,
        "  {} identical, {} with different fields, {} deleted, {} voided, {} not on the account, {} on the account but not in the source",
        c.identical, c.differ, c.deleted, c.voided, c.not_on_account, c.not_in_source
    );
    if !rec.differences.is_empty() {
        let _ = writeln!(s, "differences ({}):", rec.differences.len());
        for d in rec.differences.iter().take(TEXT_DIFFERENCES) {
            let _ = write!(
                s,
                "  {}  {}: source {}, account {}",
                d.document, d.field, d.source, d.account
            );
            if let (Some(f), Some(r)) = (&d.file, d.row) {
                let _ = write!(s, " ({f} row {r})");
            }
            if let Some(n) = &d.note {
                let _ = write!(s, ": {n}");
            }
            s.push('\n');
        }
        if rec.differences.len() > TEXT_DIFFERENCES {
            let _ = writeln!(
                s,
                "  … and {} more (all in the report: --report PATH.xlsx)",
                rec.differences.len() - TEXT_DIFFERENCES
            );
        }
    }
    let rejected: Vec<_> = rec
        .documents
        .iter()
        .filter(|d| d.status == DocStatus::Rejected)
        .collect();
    if !rejected.is_empty() {
        let _ = writeln!(s, "not imported (rejected by validation):");
        for d in rejected.iter().take(TEXT_REJECTED) {
            let _ = writeln!(
                s,
                "  {}  {}",
                d.document,
                d.note.as_deref().unwrap_or(&d.rows)
            );
        }
        if rejected.len() > TEXT_REJECTED {
            let _ = writeln!(s, "  … and {} more", rejected.len() - TEXT_REJECTED);
        }
    }
    if !rec.totals.by_currency.is_empty() {
        let _ = writeln!(s, "control totals (source | account | difference):");
        for r in &rec.totals.by_currency {
            let _ = writeln!(s, "{}", totals_line(r));
        }
    }
    let _ = writeln!(s, "verdict: {}", rec.verdict);
    s
}

#[cfg(test)]
mod tests;
