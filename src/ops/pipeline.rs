//! Read → map → validate → reports: the one loop that the dry run and the
//! import share. Each draft is validated on the thread pool that builds it;
//! here, in input order, duplicate numbers are checked, every verdict goes
//! to the reports, and each valid document (when kept) goes on to the
//! caller: the uploader's channel for an import, nowhere for a dry run.

use crate::error::ErrorKind;
use crate::mapping::{drafts_then, DraftStats, Mapping, MappingError};
use crate::model::Draft;
use crate::progress::Progress;
use crate::read::ReadError;
use crate::report::{ReportError, Reports};
use crate::validate::{Duplicates, Keep, Rules, RulesError, Valid};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::preflight::Preflight;

/// Why a batch could not be read, mapped, validated or reported.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error(transparent)]
    Report(#[from] ReportError),
}

impl BatchError {
    /// An unreadable input is the input's (exit 3); a bad mapping or VAT
    /// table, or a report that cannot be written, the request's (exit 2).
    pub fn kind(&self) -> ErrorKind {
        match self {
            BatchError::Mapping(e) if e.is_input() => ErrorKind::Input,
            BatchError::Read(_) => ErrorKind::Input,
            BatchError::Report(e) => e.kind(),
            BatchError::Mapping(_) | BatchError::Rules(_) => ErrorKind::Usage,
        }
    }
}

/// The rules for a batch: API.md's VAT table plus the user's, and what the
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

/// What the loop is given.
pub struct Batch<'a> {
    pub mapping: &'a Mapping,
    pub files: &'a [PathBuf],
    pub rules: Arc<Rules>,
    /// Whether valid documents are kept and handed on.
    pub keep: Keep,
}

/// Read, map and validate every document of the batch, record each verdict
/// in `reports` (counted on `progress`, whose total is set to what the
/// first passes counted as soon as they did), and hand each valid document to
/// `send` when kept, in input order; `send` returning false stops the
/// reading (the uploader has stopped). Documents completed before a file's
/// fatal error are handed on before the error is returned.
pub fn run(
    batch: Batch<'_>,
    reports: &mut Reports,
    progress: &dyn Progress,
    mut send: impl FnMut(Valid<Draft>) -> bool,
) -> Result<DraftStats, BatchError> {
    let mut seen = Duplicates::default();
    let validator = seen.validator(batch.rules, batch.keep);
    let mut source = drafts_then(batch.mapping, batch.files, validator)?;
    let mut counted = 0;
    while let Some(validated) = source.next() {
        // The first pass of a file grouped by key counted its documents.
        if source.counted() != counted {
            counted = source.counted();
            progress.set_total(counted);
        }
        let mut validated = validated?;
        seen.check_validated(&mut validated);
        reports.record(validated.verdict())?;
        progress.advance(1);
        if let (_, Some(valid)) = (*validated).into_parts() {
            if !send(valid) {
                break;
            }
        }
    }
    progress.finish();
    Ok(source.stats())
}
