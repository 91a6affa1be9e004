//! `runs rollback RUN`: undo exactly what a run created or changed, against the
//! environment it ran against ([`crate::upload::undo`] does the undoing).
//! Safe to repeat; an interrupted rollback continues where it stopped.

use super::connect::{connect, runtime, ConnectError, ConnectOptions};
use crate::config::Settings;
use crate::error::ErrorKind;
use crate::ledger::{Ledger, LedgerError, RunId};
use crate::progress::Reporter;
use crate::upload::{undo, RollbackReport, UndoError};

/// What `runs rollback` is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollbackOptions {
    pub run: RunId,
    /// Requests in flight.
    pub concurrency: usize,
}

/// Why a rollback could not be done (what was undone is recorded).
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("no run {0} in the ledger")]
    NoSuchRun(RunId),
    #[error("run {run} was against {was}, not {now}")]
    OtherEnv {
        run: RunId,
        was: String,
        now: String,
    },
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("{error}")]
    Undo { run: RunId, error: UndoError },
    #[error("could not start the async runtime")]
    Runtime(#[source] std::io::Error),
}

impl RollbackError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            RollbackError::Ledger(_)
            | RollbackError::Undo {
                error: UndoError::Ledger(_),
                ..
            } => ErrorKind::Input,
            RollbackError::NoSuchRun(_)
            | RollbackError::Undo {
                error: UndoError::NoSuchRun(_),
                ..
            }
            | RollbackError::OtherEnv { .. } => ErrorKind::Usage,
            RollbackError::Connect(_)
            | RollbackError::Runtime(_)
            | RollbackError::Undo {
                error: UndoError::Api(_),
                ..
            } => ErrorKind::Api,
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            RollbackError::NoSuchRun(_) => Some("see `facturare-etl runs list`".into()),
            RollbackError::OtherEnv { was, .. } => Some(format!(
                "roll it back with the environment it ran against ({was})"
            )),
            RollbackError::Undo { run, .. } => Some(format!(
                "what was undone is recorded; run `facturare-etl runs rollback {run}` again to continue"
            )),
            _ => None,
        }
    }
}

/// Undo what the run created, exactly as the ledger records it.
pub fn rollback(
    settings: &Settings,
    opts: RollbackOptions,
    reporter: &dyn Reporter,
) -> Result<RollbackReport, RollbackError> {
    let run = opts.run;
    let ledger = Ledger::open(settings.ledger_path())?;
    let r = ledger.run(run)?.ok_or(RollbackError::NoSuchRun(run))?;
    if r.env != settings.env_label {
        return Err(RollbackError::OtherEnv {
            run,
            was: r.env,
            now: settings.env_label.clone(),
        });
    }
    let runtime = runtime(2).map_err(RollbackError::Runtime)?;
    runtime.block_on(async {
        let conn = connect(
            settings,
            ConnectOptions {
                rate_per_sec: None,
                max_in_flight: opts.concurrency,
            },
            reporter,
        )
        .await?;
        let r = undo(&conn.client, &ledger, run, opts.concurrency).await;
        conn.close().await;
        r.map_err(|error| RollbackError::Undo { run, error })
    })
}
