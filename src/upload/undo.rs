//! Undo exactly what a run did (for `runs rollback`), as the ledger records
//! it: payments voided first, then credit notes and invoices deleted (voided
//! where the server refuses), then the customers it created deleted; and
//! each object it updated (a round trip's change, `--on-existing update`)
//! restored from its before image: the fields the update sent, as they
//! were. An object changed on the account after the run is left as it is
//! (reported), so that nobody's later change is lost. Each unit is marked
//! `rolled_back` as soon as the server confirms, so a rollback that stops
//! half-way is resumed by running it again, and a second complete one finds
//! nothing to do.

use super::diff;
use super::remote::{FailKind, Remote};
use crate::ledger::{Ledger, LedgerError, RunId, Unit, UnitKind, UnitState};
use crate::model::fields;
use futures::StreamExt;
use serde::Serialize;
use std::collections::BTreeMap;

/// What a rollback did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RollbackReport {
    pub run: RunId,
    /// Units undone now (created objects deleted or voided), per kind.
    pub undone: BTreeMap<UnitKind, u64>,
    /// Updated objects restored now, per kind.
    pub restored: BTreeMap<UnitKind, u64>,
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
        let restores: Vec<&Unit> = units
            .iter()
            .filter(|u| {
                u.kind == kind
                    && u.is_update()
                    && matches!(u.state, UnitState::Done | UnitState::Sending)
            })
            .collect();
        let results: Vec<(&Unit, Result<Restore, super::RemoteError>)> = futures::stream::iter(
            restores
                .into_iter()
                .map(|u| async move { (u, restore(remote, u).await) }),
        )
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
        let mut fatal = None;
        for (u, r) in results {
            match r {
                Ok(Restore::Done) => {
                    ledger.mark_rolled_back(u.id)?;
                    *report.restored.entry(kind).or_default() += 1;
                }
                Ok(Restore::Kept(why)) => {
                    ledger.note_error(u.id, &format!("rollback: {why}"))?;
                    report.kept.push(Kept {
                        kind,
                        remote_id: u.remote_id,
                        rows: u.source_rows.clone(),
                        error: why,
                    });
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

/// What became of one updated object.
enum Restore {
    /// As it was before the run (now, or already).
    Done,
    /// Left as it is, with why.
    Kept(String),
}

/// Restore one updated object from its before image: only when nobody
/// changed it after the run's update.
async fn restore<R: Remote>(remote: &R, u: &Unit) -> Result<Restore, super::RemoteError> {
    let parse = |s: &Option<String>| {
        s.as_deref()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
    };
    let (Some(id), Some(before), Some(patch)) =
        (u.remote_id, parse(&u.before_image), parse(&u.patch))
    else {
        return Ok(Restore::Kept("the ledger has no before image of it".into()));
    };
    let table = match u.kind {
        UnitKind::Customer => fields::CUSTOMER,
        UnitKind::CreditNote => fields::CREDIT_NOTE,
        _ => fields::INVOICE,
    };
    let keys: Vec<String> = patch
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let Some(current) = remote.fetch(u.kind, id).await? else {
        return Ok(Restore::Kept(format!(
            "{} {id} is no longer on the account",
            u.kind
        )));
    };
    if diff::restored(&before, &current, &keys, table) {
        return Ok(Restore::Done);
    }
    let now = current
        .get("updated_at")
        .and_then(serde_json::Value::as_i64);
    let ours = match u.state {
        // Unchanged since the run's update.
        UnitState::Done => now.is_some() && now == u.after_updated_at,
        // The run stopped before it knew: the update is there as sent.
        _ => !keys.is_empty() && diff::restored(&patch, &current, &keys, table),
    };
    if !ours {
        return Ok(Restore::Kept(match u.state {
            UnitState::Done => format!(
                "{} {id} was changed on the account after run {} (updated_at {}): not restored, so that the later change is kept",
                u.kind,
                u.run_id,
                now.unwrap_or_default()
            ),
            _ => format!(
                "the run stopped before it knew whether its update of {} {id} was made: resume the import (`facturare-etl import --resume {}`) first",
                u.kind, u.run_id
            ),
        }));
    }
    let body = serde_json::Value::Object(diff::restore_body(&before, &keys, table));
    remote.update(u.kind, id, &body).await?;
    Ok(Restore::Done)
}
