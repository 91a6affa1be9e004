//! The reports of one batch of documents (a dry run's or an import's), fed
//! one [`Verdict`] at a time: the summary, the errors list, and the rejects
//! report in the input's own layout, which [`Reports::finish`] writes by
//! reading the inputs again for the rows of rejected documents.

use super::{
    errors_path_for, ErrorsWriter, RejectsFormat, RejectsLayout, RejectsWriter, ReportCell,
    ReportError, Summary,
};
use crate::mapping::{DraftStats, Mapping};
use crate::progress::Reporter;
use crate::read::{Cell, Format, ReadError, SourceRow, SourceSpec};
use crate::validate::{CustomerBook, Verdict};
use std::path::{Path, PathBuf};

/// Customers with a problem the summary lists (the rejects workbook lists all).
const CUSTOMERS_IN_SUMMARY: usize = 50;

/// The reports of a batch, fed one verdict at a time.
pub struct Reports {
    pub summary: Summary,
    rejects: Option<RejectsWriter>,
    errors: Option<ErrorsWriter>,
}

impl Reports {
    /// Set up the reports asked for: the rejects report (its layout taken
    /// from the first input) and the errors list.
    pub fn create(
        files: &[PathBuf],
        mapping: &Mapping,
        rejects: Option<&Path>,
        errors: Option<&Path>,
    ) -> Result<Reports, ReportError> {
        let rejects = match (rejects, files.first()) {
            (Some(path), Some(first)) => Some(RejectsWriter::new(
                path,
                layout_for(path, first, mapping.source(), files.len() > 1)?,
            )),
            _ => None,
        };
        let errors_path = errors
            .map(Path::to_path_buf)
            .or_else(|| rejects.as_ref().map(|r| errors_path_for(r.path())));
        let errors = errors_path.map(|p| ErrorsWriter::create(&p)).transpose()?;
        Ok(Reports {
            summary: Summary {
                files: files.iter().map(|f| f.display().to_string()).collect(),
                ..Default::default()
            },
            rejects,
            errors,
        })
    }

    /// Start over: the summary back to `summary` (as it was before the
    /// first document), the errors list and the rejects' rows empty.
    pub fn restart(&mut self, summary: Summary) -> Result<(), ReportError> {
        self.summary = summary;
        if let Some(e) = &mut self.errors {
            e.restart()?;
        }
        if let Some(w) = &mut self.rejects {
            w.restart();
        }
        Ok(())
    }

    /// Count a document and add it to the reports.
    pub fn record(&mut self, verdict: &Verdict) -> Result<(), ReportError> {
        self.summary.record(verdict);
        if let Some(e) = &mut self.errors {
            e.push(verdict)?;
        }
        if let Some(w) = &mut self.rejects {
            if !verdict.is_valid() {
                w.push(verdict);
            }
        }
        Ok(())
    }

    /// Write the rejects report (re-reading the inputs for the rows of
    /// rejected documents, with progress on `reporter`), close the errors
    /// list, complete the summary.
    pub fn finish(
        mut self,
        mapping: &Mapping,
        files: &[PathBuf],
        stats: &DraftStats,
        customers: &CustomerBook,
        reporter: &dyn Reporter,
    ) -> Result<Summary, ReportError> {
        self.summary.rows_read = stats.rows_read;
        self.summary.rows_skipped = stats.rows_skipped;
        self.summary.row_errors = stats.row_errors;
        let counts = customers.counts();
        if self.summary.account_tax_rates.is_some() {
            self.summary.customers_to_create = Some(counts.to_create);
        }
        self.summary.customers = Some(counts);
        let customer_reports = customers.reports();
        self.summary.customer_problems = customer_reports
            .iter()
            .take(CUSTOMERS_IN_SUMMARY)
            .cloned()
            .collect();
        self.summary.add_hints();
        if let Some(e) = self.errors.take() {
            let path = e.finish()?;
            self.summary.errors_list = Some(path.display().to_string());
        }
        if let Some(mut w) = self.rejects.take() {
            w.set_customers(customer_reports);
            let path = w.path().to_path_buf();
            let progress = reporter.progress("rejects", None);
            let marked = w.marked_rows();
            let mut file = w.start()?;
            if marked > 0 {
                let layout_headers = file_headers(files, mapping.source())?;
                for f in files {
                    let mut src = crate::read::open(f, mapping.source())?;
                    let order = reorder(&layout_headers, src.headers());
                    for row in src.by_ref() {
                        let row = match row {
                            Ok(r) => r,
                            Err(ReadError::Ragged { row, .. }) => *row,
                            Err(e) if e.is_fatal() => return Err(e.into()),
                            Err(_) => continue,
                        };
                        progress.advance(1);
                        if file.wants(&row.at) {
                            let SourceRow { at, cells } = row;
                            let cells = arrange(cells, &order);
                            file.row(&at, cells)?;
                        }
                    }
                }
            }
            progress.finish();
            file.finish()?;
            self.summary.rejects = Some(path.display().to_string());
        }
        Ok(self.summary)
    }
}

/// The first input's headers: the report's columns.
fn file_headers(files: &[PathBuf], spec: &SourceSpec) -> Result<Vec<String>, ReadError> {
    match files.first() {
        Some(f) => Ok(crate::read::open(f, spec)?.headers().to_vec()),
        None => Ok(Vec::new()),
    }
}

/// For each report column, where the cell is in this file's row.
fn reorder(layout: &[String], headers: &[String]) -> Vec<Option<usize>> {
    if layout == headers {
        return (0..layout.len()).map(Some).collect();
    }
    let mut used = vec![false; headers.len()];
    layout
        .iter()
        .map(|h| {
            let i = headers
                .iter()
                .enumerate()
                .position(|(i, x)| x == h && !used[i])?;
            used[i] = true;
            Some(i)
        })
        .collect()
}

fn arrange(cells: Vec<Cell>, order: &[Option<usize>]) -> Vec<ReportCell> {
    let mut cells: Vec<Option<Cell>> = cells.into_iter().map(Some).collect();
    order
        .iter()
        .map(|i| {
            i.and_then(|i| cells.get_mut(i).and_then(Option::take))
                .map(report_cell)
                .unwrap_or(ReportCell::Empty)
        })
        .collect()
}

/// A read cell as the report writes it: numbers stay numbers in XLSX.
pub fn report_cell(cell: Cell) -> ReportCell {
    match cell {
        Cell::Empty => ReportCell::Empty,
        Cell::Text(s) | Cell::Error(s) => ReportCell::Text(s.into_string()),
        Cell::Number(s) => match s.parse::<f64>() {
            Ok(n) if n.is_finite() => ReportCell::NumberText(n, s.into_string()),
            _ => ReportCell::Text(s.into_string()),
        },
        Cell::Bool(b) => ReportCell::Bool(b),
        Cell::Date(d) => ReportCell::Date(d),
        Cell::DateTime(t) => ReportCell::DateTime(t),
    }
}

/// The rejects report's layout: the report's format from its extension
/// (`.xlsx`/`.xlsm` a workbook, `.csv`/`.tsv`/`.txt` CSV, anything else the
/// input's own), the input's headers, title rows, sheet name, delimiter and
/// encoding.
pub fn layout_for(
    report: &Path,
    first: &Path,
    spec: &SourceSpec,
    with_file: bool,
) -> Result<RejectsLayout, ReadError> {
    let src = crate::read::open(first, spec)?;
    let detected = src.detected().clone();
    let headers = src.headers().to_vec();
    drop(src);
    let input_format = detected.format;
    let ext = report
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let xlsx = match ext.as_deref() {
        Some("xlsx" | "xlsm") => true,
        Some("csv" | "tsv" | "txt") => false,
        _ => input_format.is_workbook(),
    };
    let same_family = |f: Format| matches!(f, Format::Csv | Format::Tsv) != xlsx;
    let format = if xlsx {
        RejectsFormat::Xlsx {
            sheet: detected.sheet.clone().unwrap_or_else(|| "rejects".into()),
        }
    } else if same_family(input_format) {
        let delimiter =
            detected
                .delimiter
                .or(spec.delimiter)
                .unwrap_or(if input_format == Format::Tsv {
                    b'\t'
                } else {
                    b','
                });
        let encoding = detected
            .encoding
            .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()))
            .or(spec.encoding)
            .unwrap_or(encoding_rs::UTF_8);
        RejectsFormat::Csv {
            delimiter,
            encoding,
        }
    } else {
        let delimiter = if ext.as_deref() == Some("tsv") {
            b'\t'
        } else {
            b','
        };
        RejectsFormat::Csv {
            delimiter,
            encoding: encoding_rs::UTF_8,
        }
    };
    let title_rows = if same_family(input_format) {
        spec.header_row.saturating_sub(1) as usize
    } else {
        0
    };
    Ok(RejectsLayout {
        format,
        headers,
        title_rows,
        title: format!(
            "Rejected rows of {}: fix them and run again with the same mapping",
            first.display()
        ),
        with_file,
        with_sheet: detected.sheets.len() > 1,
    })
}
