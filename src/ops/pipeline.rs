//! Read → map → validate → reports: the passes that the dry run and the
//! import share. Each draft is validated on the thread pool that builds it;
//! here, in input order, duplicate numbers are checked and each document is
//! judged against its customer as the whole batch gives it
//! ([`CustomerBook`]). [`survey`] is the dry run, and an import's first
//! pass: every verdict to the reports, the customers merged. [`deliver`] is
//! an import's second pass over the same input, with the finished book:
//! every document the survey called valid goes to the uploader, with its
//! customer's merged record, so that the import creates exactly what the
//! dry run promised; [`revisit`] is that pass for any reader of it (`runs
//! verify` compares what it hands over with the account).

use crate::error::ErrorKind;
use crate::mapping::{drafts_then, DraftStats, Mapping, MappingError, Step};
use crate::model::Draft;
use crate::progress::Progress;
use crate::read::ReadError;
use crate::report::{ReportError, Reports};
use crate::validate::{CustomerBook, Duplicates, Keep, Rules, RulesError, Valid, Verdict};
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
    #[error(transparent)]
    Clash(#[from] crate::fs::Clash),
}

impl BatchError {
    /// An unreadable input is the input's (exit 3); a bad mapping or VAT
    /// table, or a report that cannot be written, the request's (exit 2).
    pub fn kind(&self) -> ErrorKind {
        match self {
            BatchError::Mapping(e) if e.is_input() => ErrorKind::Input,
            BatchError::Read(_) => ErrorKind::Input,
            BatchError::Report(e) => e.kind(),
            BatchError::Mapping(_) | BatchError::Rules(_) | BatchError::Clash(_) => {
                ErrorKind::Usage
            }
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

/// The reports a batch is asked to write (`--rejects`, `--errors`, the
/// errors list beside the rejects by default), refused when one would
/// land on a file the batch reads or the program keeps: an input, the
/// mapping, one of its lookup files, the VAT table, or one of `own` (the
/// ledger, the config, ...), symlinks, hard links and `..` included.
pub fn check_reports(
    files: &[PathBuf],
    mapping: &Mapping,
    reports: (Option<&Path>, Option<&Path>),
    vat_table: Option<&Path>,
    own: &[(&'static str, PathBuf)],
) -> Result<(), crate::fs::Clash> {
    let (rejects, errors) = reports;
    let errors_default = rejects.map(crate::report::errors_path_for);
    let mut kept: Vec<(&str, &Path)> = files
        .iter()
        .map(|f| ("the input file", f.as_path()))
        .collect();
    kept.push(("the mapping", mapping.path()));
    kept.extend(
        mapping
            .lookup_files()
            .iter()
            .map(|f| ("a lookup file of the mapping", f.as_path())),
    );
    kept.extend(vat_table.map(|v| ("the VAT table", v)));
    kept.extend(own.iter().map(|(what, p)| (*what, p.as_path())));
    if let Some(r) = rejects {
        crate::fs::check_output("--rejects", r, kept.iter().copied())?;
    }
    match (errors, errors_default.as_deref()) {
        (Some(e), _) => {
            crate::fs::check_output("--errors", e, kept.iter().copied())?;
            if let Some(r) = rejects {
                crate::fs::check_output("--errors", e, [("the rejects report", r)])?;
            }
        }
        (None, Some(e)) => crate::fs::check_output(
            "the errors list (beside --rejects)",
            e,
            kept.iter().copied(),
        )?,
        (None, None) => {}
    }
    Ok(())
}

/// What a pass is given.
pub struct Batch<'a> {
    pub mapping: &'a Mapping,
    pub files: &'a [PathBuf],
    pub rules: Arc<Rules>,
}

/// The first (or only) pass: read, map and validate every document, merge
/// the customers it names into a [`CustomerBook`] and judge each document
/// against its customer, and record every verdict in `reports` (counted on
/// `progress`), in input order but for documents that waited for their
/// customer's name. Returns the counts and the finished book.
///
/// A file grouped by key is read once when each document's rows are
/// adjacent; when they are not, the stream starts over
/// ([`Step::Restart`]) and so does everything here: the numbers seen,
/// the book, the reports (back to what they held before) and the count.
pub fn survey(
    batch: &Batch<'_>,
    reports: &mut Reports,
    progress: &dyn Progress,
) -> Result<(DraftStats, CustomerBook), BatchError> {
    let mut seen = Duplicates::default();
    let new_book = || CustomerBook::new(batch.rules.known_customers.clone());
    let mut book = new_book();
    let validator = seen.validator(batch.rules.clone(), Keep::Verdicts);
    // Read in one pass where each document's rows are adjacent; where they
    // are not, the stream starts over and everything here with it.
    let mut source = drafts_then(batch.mapping, batch.files, validator)?.restartable();
    let before = reports.summary.clone();
    let mut counted = 0;
    while let Some(step) = source.next_step() {
        // The first pass of a file grouped by key counted its documents.
        if source.counted() != counted {
            counted = source.counted();
            progress.set_total(counted);
        }
        let mut validated = match step? {
            Step::Item(v) => v,
            Step::Restart => {
                seen.forget();
                book = new_book();
                reports.restart(before.clone())?;
                progress.restart();
                counted = 0;
                continue;
            }
        };
        seen.check_validated(&mut validated);
        let (now, released) = book.observe(validated.verdict_mut());
        for v in released {
            reports.record(&v)?;
        }
        if now {
            reports.record(validated.verdict())?;
        }
        progress.advance(1);
    }
    for v in book.finish() {
        reports.record(&v)?;
    }
    progress.finish();
    Ok((source.stats(), book))
}

/// The upload pass over a finished book (the same input again): each
/// document judged as [`survey`] judged it, and each valid one handed to
/// `send` with its customer's merged record, in input order; `send`
/// returning false stops the reading (the uploader has stopped).
/// Documents completed before a file's fatal error are handed on before
/// the error is returned.
pub fn deliver(
    batch: &Batch<'_>,
    book: &CustomerBook,
    progress: &dyn Progress,
    mut send: impl FnMut(Valid<Draft>) -> bool,
) -> Result<DraftStats, BatchError> {
    revisit(batch, book, progress, |_, valid| match valid {
        Some(valid) => send(valid),
        None => true,
    })
}

/// A second pass over a finished book (the same input again), as
/// [`deliver`] makes for the upload and `runs verify` for its comparison:
/// each document judged as [`survey`] judged it and handed to `each` in
/// input order, with its verdict and, when valid, the document with its
/// customer's merged record; `each` returning false stops the reading.
pub fn revisit(
    batch: &Batch<'_>,
    book: &CustomerBook,
    progress: &dyn Progress,
    mut each: impl FnMut(Verdict, Option<Valid<Draft>>) -> bool,
) -> Result<DraftStats, BatchError> {
    let mut seen = Duplicates::default();
    let validator = seen.validator(batch.rules.clone(), Keep::Documents);
    let mut source = drafts_then(batch.mapping, batch.files, validator)?;
    for (ordinal, validated) in (0u64..).zip(source.by_ref()) {
        let mut validated = validated?;
        seen.check_validated(&mut validated);
        book.check(ordinal, validated.verdict_mut());
        progress.advance(1);
        let (verdict, valid) = (*validated).into_parts();
        let valid = valid.filter(|_| verdict.is_valid()).map(|valid| {
            match book.merged(&verdict.customer, verdict.match_on) {
                Some(customer) => valid.with_customer(customer),
                None => valid,
            }
        });
        if !each(verdict, valid) {
            break;
        }
    }
    progress.finish();
    Ok(source.stats())
}
