//! The source side of `runs verify`: the run's input files checked against
//! the hashes the ledger recorded, its mapping against its identity, and
//! the documents read again exactly as the import read them: the survey
//! (every verdict, the customers merged across the batch), then a second
//! pass on a thread of its own handing each document, valid or rejected, to
//! the comparison over a bounded channel.

use super::outcome::InputCheck;
use super::VerifyError;
use crate::ledger::Run;
use crate::mapping::Mapping;
use crate::model::Draft;
use crate::ops::import::{file_sha256, ImportError};
use crate::ops::pipeline::{self, Batch};
use crate::progress::{Progress, Reporter};
use crate::report::Reports;
use crate::validate::{CustomerBook, Valid, Verdict};
use std::path::PathBuf;
use tokio::sync::mpsc;

/// One document of the source, in input order.
pub struct SourceDoc {
    pub ordinal: u64,
    pub verdict: Verdict,
    /// The document with its merged customer, when validation passed it.
    pub valid: Option<Valid<Draft>>,
}

/// The run's inputs as they are now: each file's hash against the
/// recorded one. A changed file is an error unless `allow_changed` (then a
/// warning: what differs will show).
pub fn check_inputs(
    run: &Run,
    allow_changed: bool,
    reporter: &dyn Reporter,
) -> Result<Vec<InputCheck>, VerifyError> {
    let mut out = Vec::with_capacity(run.inputs.len());
    for input in &run.inputs {
        let path = PathBuf::from(&input.path);
        let now = file_sha256(&path).map_err(|e| match e {
            ImportError::Hash { path, source } => VerifyError::Read { path, source },
            other => VerifyError::Read {
                path: path.clone(),
                source: std::io::Error::other(other.to_string()),
            },
        })?;
        let changed = now != input.sha256;
        if changed && !allow_changed {
            return Err(VerifyError::Changed {
                run: run.id,
                path,
                was: input.sha256.clone(),
                now,
            });
        }
        if changed {
            reporter.warn(&format!(
                "{} changed since run {} imported it; comparing it as it is now",
                input.path, run.id
            ));
        }
        out.push(InputCheck {
            path: input.path.clone(),
            sha256: input.sha256.clone(),
            changed,
        });
    }
    Ok(out)
}

/// The first pass, as the import's: every document validated and judged
/// against its customer as the whole batch gives it (nothing written).
pub fn survey(batch: &Batch<'_>, reporter: &dyn Reporter) -> Result<CustomerBook, VerifyError> {
    let mut reports = Reports::create(batch.files, batch.mapping, None, None)
        .map_err(|e| VerifyError::Batch(Box::new(e.into())))?;
    let progress = reporter.progress("read", None);
    let (_, book) = pipeline::survey(batch, &mut reports, &*progress)
        .map_err(|e| VerifyError::Batch(Box::new(e)))?;
    Ok(book)
}

/// The second pass: each document to `tx`, in order, until the input ends
/// or the receiver is gone (the comparison stopped).
pub fn deliver(
    batch: &Batch<'_>,
    book: &CustomerBook,
    progress: &dyn Progress,
    tx: mpsc::Sender<SourceDoc>,
) -> Result<(), VerifyError> {
    let mut ordinal = 0;
    pipeline::revisit(batch, book, progress, |verdict, valid| {
        let doc = SourceDoc {
            ordinal,
            verdict,
            valid,
        };
        ordinal += 1;
        tx.blocking_send(doc).is_ok()
    })
    .map_err(|e| VerifyError::Batch(Box::new(e)))?;
    Ok(())
}

/// The mapping the run used, checked against the identity the ledger
/// recorded (the import keys depend on it). A changed one is an error unless
/// `allow_changed`.
pub fn mapping(
    run: &Run,
    allow_changed: bool,
    reporter: &dyn Reporter,
) -> Result<(Mapping, bool), VerifyError> {
    // A run of our own export was read with a built-in mapping, recorded by
    // its label.
    let mapping = crate::mapping::roundtrip::load(std::path::Path::new(&run.mapping_path))?;
    let changed = mapping.identity() != run.mapping_identity;
    if changed && !allow_changed {
        return Err(VerifyError::MappingChanged {
            run: run.id,
            path: PathBuf::from(&run.mapping_path),
        });
    }
    if changed {
        reporter.warn(&format!(
            "the mapping {} changed since run {} used it; reading the files with it as it is now",
            run.mapping_path, run.id
        ));
    }
    Ok((mapping, changed))
}
