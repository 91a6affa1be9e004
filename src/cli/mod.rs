//! The command line: clap definitions ([`args`], [`values`]), settings
//! resolved once ([`cmd::Context`]), thin commands ([`cmd`]) that call one
//! library function each, a command run for many companies at once
//! ([`profiles`]), output discipline and the indicatif
//! [`Reporter`](crate::progress::Reporter) ([`output`], [`bars`]), logs
//! on stderr and in a JSON-lines file ([`log`]), and the one mapping from
//! the library's [`ErrorKind`]s and [`Ending`]s to exit codes. [`main`] is
//! the only place that exits.

pub mod args;
pub mod bars;
pub mod cmd;
pub mod log;
pub mod output;
pub mod profiles;
pub mod values;

use crate::error::{Ending, ErrorKind};
use clap::Parser;
use std::fmt::Write as _;

/// Exit codes, documented in README and `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked.
    Ok = 0,
    /// Some documents were rejected (the rest went through).
    Rejected = 1,
    /// Bad usage, configuration or mapping file.
    Usage = 2,
    /// An input file could not be read.
    Input = 3,
    /// The API could not be reached, refused the credentials, or failed.
    Api = 4,
    /// A bug in facturare-etl (EX_SOFTWARE); the work done is recorded.
    Internal = 70,
    /// Interrupted (Ctrl-C); the work done is recorded and can be resumed.
    Interrupted = 130,
}

impl From<ErrorKind> for Exit {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Usage => Exit::Usage,
            ErrorKind::Input => Exit::Input,
            ErrorKind::Api => Exit::Api,
            ErrorKind::Interrupted => Exit::Interrupted,
            ErrorKind::Internal => Exit::Internal,
        }
    }
}

impl From<Ending> for Exit {
    fn from(ending: Ending) -> Self {
        match ending {
            Ending::Ok => Exit::Ok,
            Ending::Rejected => Exit::Rejected,
            Ending::Stopped(kind) => kind.into(),
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}

/// A failed command: the error, the exit code it maps to, and an optional
/// hint for the person at the terminal.
#[derive(Debug)]
pub struct CliError {
    pub exit: Exit,
    pub error: anyhow::Error,
    pub hint: Option<String>,
}

impl CliError {
    pub fn new(exit: Exit, error: impl Into<anyhow::Error>) -> Self {
        CliError {
            exit,
            error: error.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// A library error: its kind picks the exit code.
    pub fn of(kind: ErrorKind, error: impl Into<anyhow::Error>) -> Self {
        CliError::new(kind.into(), error)
    }

    /// With a hint when there is one.
    pub fn with_hint_opt(self, hint: Option<impl Into<String>>) -> Self {
        match hint {
            Some(h) => self.with_hint(h),
            None => self,
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError::new(Exit::Usage, e)
    }
}

/// Attach an exit code to any error: `read(...).exit(Exit::Input)?`.
pub trait ExitExt<T> {
    fn exit(self, exit: Exit) -> Result<T, CliError>;
}

impl<T, E: Into<anyhow::Error>> ExitExt<T> for Result<T, E> {
    fn exit(self, exit: Exit) -> Result<T, CliError> {
        self.map_err(|e| CliError::new(exit, e))
    }
}

/// What every command returns.
pub type CmdResult = Result<Exit, CliError>;

/// Render an error the house way: `error:`, then `Caused by:` lines, then `hint:`.
pub fn render_error(err: &CliError) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "error: {}", err.error);
    let mut causes = err.error.chain().skip(1).peekable();
    if causes.peek().is_some() {
        let _ = writeln!(out, "\nCaused by:");
        for c in causes {
            let _ = writeln!(out, "  {c}");
        }
    }
    if let Some(h) = &err.hint {
        let _ = writeln!(out, "\nhint: {h}");
    }
    out
}

/// Parse arguments, run the command, print any error, and exit. A panic
/// anywhere is reported in one line by the hook [`crate::crash::install`]
/// sets, and ends the program with [`Exit::Internal`] (70) once the
/// command has wound down.
pub fn main() -> std::process::ExitCode {
    crate::crash::install();
    let cli = args::Cli::parse();
    let ran = std::panic::catch_unwind(|| cmd::run(cli));
    let exit = match ran {
        Ok(_) if crate::crash::struck() => Exit::Internal,
        Ok(Ok(exit)) => exit,
        Ok(Err(err)) => {
            eprint!("{}", output::for_terminal(&render_error(&err)));
            err.exit
        }
        Err(_) => Exit::Internal,
    };
    exit.into()
}
