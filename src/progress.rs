//! Progress and messages for people, as the library reports them: the
//! [`Progress`] of one stage (a count, or a bar once its total is known)
//! and the [`Reporter`] a job writes its status lines and warnings to.
//! The command line implements both with indicatif on a terminal (and
//! stays quiet when piped); tests implement them by recording. Nothing
//! below the command line knows how they are shown.

use std::sync::Arc;

/// The progress of one stage of a job. Every method has a default that does
/// nothing, so a display takes only what it shows.
pub trait Progress: Send + Sync {
    /// The stage's total became known (X-Total-Count, the documents read).
    fn set_total(&self, _total: u64) {}
    /// The total grew by `n` (documents handed on as they are read).
    fn add_total(&self, _n: u64) {}
    /// `n` more units done.
    fn advance(&self, _n: u64) {}
    /// A short line beside the count (what is being waited for, counters).
    fn message(&self, _message: String) {}
    /// The stage is over: clear the display.
    fn finish(&self) {}
}

/// Shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Where a job sends what a person should see: status lines, warnings, and
/// the progress of its stages.
pub trait Reporter: Send + Sync {
    /// A line for the person (not shown when quiet).
    fn status(&self, line: &str);
    /// A warning for the person (shown even when quiet).
    fn warn(&self, line: &str);
    /// The progress display of a stage named `stage`: a bar of `total`
    /// when it is known (it may grow), else a counter.
    fn progress(&self, stage: &str, total: Option<u64>) -> Arc<dyn Progress>;
}

/// Reports nothing: for library callers that want no output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn status(&self, _line: &str) {}
    fn warn(&self, _line: &str) {}
    fn progress(&self, _stage: &str, _total: Option<u64>) -> Arc<dyn Progress> {
        Arc::new(NoProgress)
    }
}
