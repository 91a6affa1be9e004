//! The dry run, `validate` and `import --dry-run`: read → map → validate
//! (in parallel, in order) → reports, sending nothing. With a preflight it
//! also reads (never writes) the target account's tax rates and customers.

use super::pipeline::{self, rules_for, Batch, BatchError};
use super::preflight::{self, Preflight, PreflightError};
use crate::config::Settings;
use crate::error::ErrorKind;
use crate::mapping::Mapping;
use crate::progress::Reporter;
use crate::report::{Reports, Summary};
use std::path::PathBuf;
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
}

/// Why a dry run could not run.
#[derive(Debug, thiserror::Error)]
pub enum DryRunError {
    #[error(transparent)]
    Batch(Box<BatchError>),
    #[error(transparent)]
    Preflight(#[from] PreflightError),
}

impl From<BatchError> for DryRunError {
    fn from(e: BatchError) -> Self {
        DryRunError::Batch(Box::new(e))
    }
}

impl DryRunError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            DryRunError::Batch(e) => e.kind(),
            DryRunError::Preflight(e) => e.kind(),
        }
    }
}

impl From<crate::mapping::MappingError> for DryRunError {
    fn from(e: crate::mapping::MappingError) -> Self {
        BatchError::from(e).into()
    }
}

/// Read, map and validate every file, write the reports, and return the
/// summary (its [`Summary::ending`] says whether all were valid). With
/// `preflight`, the account those settings name is read first.
pub fn dry_run(
    opts: &DryRunOptions,
    preflight: Option<&Settings>,
    reporter: &dyn Reporter,
) -> Result<Summary, DryRunError> {
    let mapping = Mapping::load(&opts.mapping)?;
    let found: Option<Preflight> = match preflight {
        Some(settings) => Some(preflight::fetch(settings, reporter)?),
        None => None,
    };
    let rules =
        Arc::new(rules_for(opts.vat_table.as_deref(), found.as_ref()).map_err(BatchError::from)?);
    let mut reports = Reports::create(
        &opts.files,
        &mapping,
        opts.rejects.as_deref(),
        opts.errors.as_deref(),
    )
    .map_err(BatchError::from)?;
    if let Some(p) = &found {
        let mut rates = p.tax_rates.clone();
        rates.sort();
        reports.summary.account_tax_rates = Some(rates);
    }
    let batch = Batch {
        mapping: &mapping,
        files: &opts.files,
        rules,
    };
    let progress = reporter.progress("validating", None);
    let (stats, customers) = pipeline::survey(&batch, &mut reports, &*progress)?;
    let summary = reports
        .finish(&mapping, &opts.files, &stats, &customers, reporter)
        .map_err(BatchError::from)?;
    Ok(summary)
}
