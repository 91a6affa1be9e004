//! Undo exactly what a run created (for `runs rollback`), as the ledger records
//! it: payments voided first, then credit notes and invoices deleted (voided
//! where the server refuses), then the customers it created deleted. Each
//! unit is marked `rolled_back` as soon as the server confirms, so a
//! rollback that stops half-way is resumed by running it again, and a
//! second complete one finds nothing to do.

use super::remote::{FailKind, Remote};
use crate::ledger::{Ledger, LedgerError, RunId, Unit, UnitKind, UnitState};
use futures::StreamExt;
use serde::Serialize;
use std::collections::BTreeMap;

/// What a rollback did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RollbackReport {
    pub run: RunId,
    /// Units undone now, per kind.
    pub undone: BTreeMap<UnitKind, u64>,
    /// Units an earlier rollback undid already.
    pub already: u64,
    /// Units left on the account, with why (a customer still used by
    /// another run's documents, say).
    pub kept: Vec<Kept>,
}

impl RollbackReport {
    /// Everything undone, or something kept on the account.
    pub fn ending(&self) -> crate::error::Ending {
        if self.kept.is_empty() {
            crate::error::Ending::Ok
        } else {
            crate::error::Ending::Rejected
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    pub kind: UnitKind,
    pub remote_id: Option<i64>,
    pub rows: String,
    pub error: String,
}

#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("no run {0} in the ledger")]
    NoSuchRun(RunId),
    #[error("the API refused or could not be reached: {0}")]
    Api(String),
}

/// Undo what `run` created, `concurrency` requests at a time.
pub async fn undo<R: Remote>(
    remote: &R,
    ledger: &Ledger,
    run: RunId,
    concurrency: usize,
) -> Result<RollbackReport, UndoError> {
    if ledger.run(run)?.is_none() {
        return Err(UndoError::NoSuchRun(run));
    }
    let units = ledger.units_of_run(run)?;
    let mut report = RollbackReport {
        run,
        ..Default::default()
    };
    report.already = units
        .iter()
        .filter(|u| u.state == UnitState::RolledBack)
        .count() as u64;
    for kind in [
        UnitKind::Payment,
        UnitKind::CreditNote,
        UnitKind::Invoice,
        UnitKind::Customer,
    ] {
        let todo: Vec<&Unit> = units
            .iter()
            .filter(|u| u.kind == kind && u.state == UnitState::Done && u.created)
            .collect();
        let results: Vec<(&Unit, Result<(), super::RemoteError>)> =
            futures::stream::iter(todo.into_iter().filter_map(|u| {
                let id = u.remote_id?;
                Some(async move { (u, remote.undo(kind, id).await) })
            }))
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let mut fatal = None;
        for (u, r) in results {
            match r {
                Ok(()) => {
                    ledger.mark_rolled_back(u.id)?;
                    *report.undone.entry(kind).or_default() += 1;
                }
                Err(e) if e.kind == FailKind::Rejected => {
                    ledger.note_error(u.id, &format!("rollback: {}", e.message))?;
                    report.kept.push(Kept {
                        kind,
                        remote_id: u.remote_id,
                        rows: u.source_rows.clone(),
                        error: e.message,
                    });
                }
                Err(e) => fatal = Some(e.message),
            }
        }
        if let Some(e) = fatal {
            return Err(UndoError::Api(e));
        }
    }
    if report.kept.is_empty() {
        ledger.set_rolled_back(run)?;
    }
    Ok(report)
}
