//! Reports for people fixing their data: the rejects report in the input's
//! own layout (CSV, or XLSX with the bad cells filled and annotated), the
//! errors list (one CSV line per problem), and the run [`Summary`] (text on
//! stderr, JSON on stdout with `--json`), all fed by [`Reports`]; and the
//! views of import runs for `runs list` and `runs show` ([`runs`]); and
//! the reconciliation of `runs verify` (workbook, CSV, JSON, text:
//! [`reconcile`]); and what a round trip will change ([`changes`]).

pub mod batch;
pub mod changes;
pub mod errors;
pub mod reconcile;
pub mod rejects;
pub mod runs;
pub mod summary;

pub use batch::Reports;
pub use errors::{errors_path_for, ErrorsWriter};
pub use rejects::{
    RejectsFile, RejectsFormat, RejectsLayout, RejectsReport, RejectsWriter, ReportCell,
};
pub use summary::Summary;

use crate::error::ErrorKind;
use std::path::{Path, PathBuf};

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Fs(#[from] crate::fs::FsError),
    #[error("failed to write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to write CSV to {}", path.display())]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error("failed to write the workbook {}", path.display())]
    Xlsx {
        path: PathBuf,
        #[source]
        source: rust_xlsxwriter::XlsxError,
    },
    /// An input, read again for the rejects report, failed.
    #[error(transparent)]
    Read(#[from] crate::read::ReadError),
}

impl ReportError {
    /// An input that fails is the input's (exit 3); a report that cannot
    /// be written where it was asked for is the request's (exit 2).
    pub fn kind(&self) -> ErrorKind {
        match self {
            ReportError::Read(_) => ErrorKind::Input,
            _ => ErrorKind::Usage,
        }
    }
}

impl ReportError {
    pub(crate) fn write(path: &Path, source: std::io::Error) -> Self {
        ReportError::Write {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn csv(path: &Path, source: csv::Error) -> Self {
        ReportError::Csv {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn xlsx(path: &Path, source: rust_xlsxwriter::XlsxError) -> Self {
        ReportError::Xlsx {
            path: path.to_path_buf(),
            source,
        }
    }
}

#[cfg(test)]
mod tests;
