//! What kind of failure an error is: the one vocabulary in which the
//! library's errors tell the command line which exit code to use. Every
//! domain error has a `kind()`; only `cli` turns a kind into an exit code.

use serde::Serialize;

/// Why a job could not be done, as the caller needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request is wrong: options, configuration, a mapping file, a
    /// report that cannot be written where it was asked for.
    Usage,
    /// An input file (or a file the job reads or writes) failed.
    Input,
    /// The API could not be reached, refused the credentials, or failed.
    Api,
    /// Interrupted (Ctrl-C); the work done is recorded.
    Interrupted,
    /// A bug: a part of the program failed where it never should (a
    /// panic); the work done is recorded.
    Internal,
}

/// How a job that ran ended: every part done, some documents rejected (the
/// rest done), or stopped early for a reason of one of the [`ErrorKind`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    Ok,
    Rejected,
    Stopped(ErrorKind),
}
