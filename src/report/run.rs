//! The dry run, `validate` and `import --dry-run`: read → map → validate
//! (in parallel, in order) → reports, sending nothing. [`Reports`] is the
//! reporting half on its own, for `import` to feed the same reports while it
//! uploads.

use super::{
    errors_path_for, ErrorsWriter, RejectsFormat, RejectsLayout, RejectsWriter, ReportCell,
    ReportError, Summary,
};
use crate::cli::output::Output;
use crate::cli::Exit;
use crate::mapping::{drafts_then, DraftStats, Mapping, MappingError};
use crate::read::{Cell, Format, ReadError, SourceRow, SourceSpec};
use crate::validate::{Duplicates, KnownCustomers, Outcome, Rules, RulesError};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What `validate` (or `import --dry-run`) is asked to do.
#[derive(Debug, Clone, Default)]
pub struct DryRunOptions {
    pub files: Vec<PathBuf>,
    pub mapping: PathBuf,
    /// The rejects report; its errors list goes beside it unless `errors`.
    pub rejects: Option<PathBuf>,
    /// The errors list (default: `<rejects stem>.errors.csv`).
    pub errors: Option<PathBuf>,
    /// A TOML table of VAT rates added to API.md's.
    pub vat_table: Option<PathBuf>,
    /// What `--preflight` found on the target account (fetched by the caller).
    pub preflight: Option<Preflight>,
}

/// The target account's tax rates and customers, read-only.
#[derive(Debug, Clone, Default)]
pub struct Preflight {
    pub tax_rates: Vec<String>,
    pub customers: KnownCustomers,
}

/// Read, never write, what the preflight needs from the account: every
/// tax-rate id, and every customer's number and tax id (lower case).
pub async fn fetch_preflight(
    client: &crate::api::Client,
) -> Result<Preflight, crate::api::ApiError> {
    use futures::StreamExt;
    let query = crate::api::ListQuery::default();
    let mut tax_rates = Vec::new();
    let mut pages = client.list_tax_rates(&query);
    while let Some(page) = pages.next().await {
        tax_rates.extend(page?.items.into_iter().map(|r| r.id));
    }
    let mut customers = KnownCustomers::default();
    let mut pages = client.list_customers(&query);
    while let Some(page) = pages.next().await {
        for c in page?.items {
            if let Some(n) = c.number.filter(|n| !n.trim().is_empty()) {
                customers.numbers.insert(n.trim().to_lowercase());
            }
            if let Some(t) = c.tax_id.filter(|t| !t.trim().is_empty()) {
                customers.tax_ids.insert(t.trim().to_lowercase());
            }
        }
    }
    Ok(Preflight {
        tax_rates,
        customers,
    })
}

/// Why a run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error(transparent)]
    Report(#[from] ReportError),
}

impl RunError {
    /// The exit code: 3 for an unreadable input, 2 for a bad mapping or
    /// VAT table, 2 for a report that cannot be written.
    pub fn exit(&self) -> Exit {
        match self {
            RunError::Mapping(e) if e.is_input() => Exit::Input,
            RunError::Read(_) => Exit::Input,
            RunError::Mapping(_) | RunError::Rules(_) | RunError::Report(_) => Exit::Usage,
        }
    }
}

/// The rules for a run: API.md's VAT table plus the user's, and what the
/// preflight found.
pub fn rules_for(
    vat_table: Option<&Path>,
    preflight: Option<&Preflight>,
) -> Result<Rules, RulesError> {
    let mut rules = Rules::default();
    if let Some(path) = vat_table {
        rules.extend_vat_table(path)?;
    }
    if let Some(p) = preflight {
        rules.known_tax_rates = Some(p.tax_rates.iter().cloned().collect());
        rules.known_customers = Some(p.customers.clone());
    }
    Ok(rules)
}

/// Read, map and validate every file, write the reports, and return the summary.
/// Exit with [`Summary::exit`].
pub fn dry_run(opts: &DryRunOptions, out: &Output) -> Result<Summary, RunError> {
    let mapping = Mapping::load(&opts.mapping)?;
    let rules = Arc::new(rules_for(
        opts.vat_table.as_deref(),
        opts.preflight.as_ref(),
    )?);
    // Each draft is validated on the thread pool as soon as it is built.
    let mut seen = Duplicates::default();
    let validate = seen.validator(rules.clone());
    // Only the reports read the outcomes: the rest of each draft is freed
    // on the pool thread that made it. Each outcome comes boxed: it is
    // large, and is passed on several times before it is read.
    let keep_customer = opts.preflight.is_some();
    let mut source = drafts_then(&mapping, &opts.files, move |d| {
        let mut v = Box::new(validate(d));
        v.cut_for_reports(keep_customer);
        v
    })?;
    let mut reports = Reports::create(
        &opts.files,
        &mapping,
        opts.rejects.as_deref(),
        opts.errors.as_deref(),
    )?;
    if let Some(p) = &opts.preflight {
        let mut rates = p.tax_rates.clone();
        rates.sort();
        reports.summary.account_tax_rates = Some(rates);
    }
    let bar = out.spinner("validating");
    for validated in source.by_ref() {
        // Duplicate numbers are checked here, in input order.
        let mut validated = validated?;
        let outcome = seen.check_in_place(&mut validated);
        reports.record(outcome, &rules)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let stats = source.stats();
    reports.finish(&mapping, &opts.files, &stats, out)
}

/// The reports of a run, fed one outcome at a time.
pub struct Reports {
    pub summary: Summary,
    rejects: Option<RejectsWriter>,
    errors: Option<ErrorsWriter>,
    /// With preflight: customers (by their match key) not on the account.
    new_customers: HashSet<String>,
}

impl Reports {
    /// Set up the reports asked for: the rejects report (its layout taken
    /// from the first input) and the errors list.
    pub fn create(
        files: &[PathBuf],
        mapping: &Mapping,
        rejects: Option<&Path>,
        errors: Option<&Path>,
    ) -> Result<Reports, RunError> {
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
            new_customers: HashSet::new(),
        })
    }

    /// Count an outcome and add it to the reports.
    pub fn record(&mut self, outcome: &Outcome, rules: &Rules) -> Result<(), ReportError> {
        self.summary.record(outcome);
        if let Some(e) = &mut self.errors {
            e.push(outcome)?;
        }
        if let (Err(r), Some(w)) = (outcome, &mut self.rejects) {
            w.push(r);
        }
        let draft = match outcome {
            Ok(v) => v.get(),
            Err(r) => &r.draft,
        };
        if rules.customer_exists(draft) == Some(false) {
            let c = &draft.customer;
            let key = c
                .number
                .as_deref()
                .or(c.tax_id.as_deref())
                .or(c.name.as_deref())
                .unwrap_or_default()
                .trim()
                .to_lowercase();
            self.new_customers.insert(key);
        }
        Ok(())
    }

    /// Write the rejects report (re-reading the inputs for the rows of
    /// rejected documents), close the errors list, complete the summary.
    pub fn finish(
        mut self,
        mapping: &Mapping,
        files: &[PathBuf],
        stats: &DraftStats,
        out: &Output,
    ) -> Result<Summary, RunError> {
        self.summary.rows_read = stats.rows_read;
        self.summary.rows_skipped = stats.rows_skipped;
        self.summary.row_errors = stats.row_errors;
        if self.summary.account_tax_rates.is_some() || !self.new_customers.is_empty() {
            self.summary.customers_to_create = Some(self.new_customers.len() as u64);
        }
        if let Some(e) = self.errors.take() {
            let path = e.finish()?;
            self.summary.errors_list = Some(path.display().to_string());
        }
        if let Some(w) = self.rejects.take() {
            let path = w.path().to_path_buf();
            let bar = out.spinner("rejects");
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
                        bar.inc(1);
                        if file.wants(&row.at) {
                            let SourceRow { at, cells } = row;
                            let cells = arrange(cells, &order);
                            file.row(&at, cells)?;
                        }
                    }
                }
            }
            bar.finish_and_clear();
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
        _ => matches!(input_format, Format::Xlsx | Format::Xls | Format::Ods),
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
    })
}

impl Summary {
    /// The exit code for a finished run: 0 when every document is valid,
    /// 1 when any was rejected or a row could not be read.
    pub fn exit(&self) -> Exit {
        if self.all_valid() {
            Exit::Ok
        } else {
            Exit::Rejected
        }
    }
}
