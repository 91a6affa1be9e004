//! Sending one unit under the exactly-once protocol: look it up first when
//! an earlier attempt may have reached the account, commit the intent
//! (`sending`), send, record the outcome; after an ambiguous failure, look
//! it up before sending again. When the number is taken: ours (adopt it), or
//! someone else's, which [`OnExisting`] decides.

use super::{Engine, Halt, Stop};
use crate::ledger::{Unit, UnitKind};
use crate::upload::keys;
use crate::upload::protocol::{self, AfterReply, Reply};
use crate::upload::remote::{FailKind, Found, Remote};
use serde::Serialize;

/// What to do with a document whose number is already on the account but
/// was not put there by this import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnExisting {
    /// Leave it as it is; count it as skipped.
    #[default]
    Skip,
    /// Make it what the import says, sending only the fields that differ
    /// (nothing when none does; the whole metadata map and lines when those
    /// differ); its previous version is kept for `runs rollback`.
    Update,
    /// Count the document as rejected.
    Fail,
}

/// How a unit ended in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum UnitEnd {
    Done(i64),
    Updated(i64),
    /// On the account already as the import has it.
    Unchanged(i64),
    Skipped,
    Rejected(String),
}

impl<R: Remote> Engine<R> {
    /// Put one unit on the account, following the protocol: look up first
    /// when it may have been sent, commit the intent, send, record the outcome.
    /// `intent_committed`: the unit was inserted `sending` (claim and intent
    /// in one commit), so its first attempt needs no other intent. Intents
    /// are awaited through the group writer (committed before the request);
    /// a `done` outcome goes with the next group, not awaited.
    pub(super) async fn send_unit(
        &self,
        unit: &Unit,
        body: &serde_json::Value,
        number: Option<&str>,
        mut look_up: bool,
        mut intent_committed: bool,
    ) -> Result<UnitEnd, Halt> {
        let kind = unit.kind;
        let idem = keys::idempotency_key(&unit.import_key, &unit.payload_hash, self.cfg.run);
        let mut tries = 0u32;
        loop {
            // A unit whose intent is committed is in flight: it is sent and
            // recorded even after Ctrl-C, so that no unit is left `sending`
            // with nothing sent. Before any other attempt, a stop halts.
            if !intent_committed && self.cancel.is_cancelled() {
                return Err(Halt);
            }
            if look_up {
                if let Some(found) = self.look_up(kind, &unit.import_key).await? {
                    self.writer
                        .mark_done_later(unit.id, found.id, true)
                        .map_err(|e| self.ledger_failed(e))?;
                    return Ok(UnitEnd::Done(found.id));
                }
            }
            let attempt = if std::mem::take(&mut intent_committed) {
                unit.attempts.max(1)
            } else {
                self.writer
                    .mark_sending(unit.id)
                    .await
                    .map_err(|e| self.ledger_failed(e))?
            };
            tries += 1;
            let reply = match self.remote.create(kind, body, &idem).await {
                Ok(id) => Reply::Created(id),
                Err(e) if e.is_number_taken() => Reply::NumberTaken(e.message),
                Err(e) => match e.kind {
                    FailKind::Rejected => Reply::Refused(e.message),
                    FailKind::Auth => Reply::Auth(e.message),
                    FailKind::Ambiguous | FailKind::Unreachable | FailKind::RateLimited => {
                        Reply::Ambiguous(e.message)
                    }
                },
            };
            tracing::debug!(unit = unit.id, %kind, attempt, ?reply, "reply");
            match protocol::after_reply(reply, tries, self.cfg.max_attempts) {
                AfterReply::Done(id) => {
                    self.writer
                        .mark_done_later(unit.id, id, true)
                        .map_err(|e| self.ledger_failed(e))?;
                    return Ok(UnitEnd::Done(id));
                }
                AfterReply::Rejected(e) => {
                    self.ledger
                        .mark_rejected(unit.id, &e)
                        .map_err(|e| self.ledger_failed(e))?;
                    return Ok(UnitEnd::Rejected(e));
                }
                AfterReply::ResolveExisting => return self.existing(unit, body, number).await,
                AfterReply::Retry(e) => {
                    self.ledger
                        .note_error(unit.id, &e)
                        .map_err(|e| self.ledger_failed(e))?;
                    self.pause(tries).await?;
                    look_up = true;
                }
                AfterReply::Stop(e) => {
                    self.ledger
                        .note_error(unit.id, &e)
                        .map_err(|e| self.ledger_failed(e))?;
                    self.stop(Stop::Api(e));
                    return Err(Halt);
                }
            }
        }
    }

    /// Ours on the account under this import key (not voided), if any.
    async fn look_up(&self, kind: UnitKind, key: &str) -> Result<Option<Found>, Halt> {
        let found = self
            .retrying(|| self.remote.find_by_import_key(kind, key))
            .await?;
        Ok(found.filter(|f| !f.voided))
    }

    /// The number is taken: ours (adopt it), or someone else's (apply `--on-existing`).
    async fn existing(
        &self,
        unit: &Unit,
        body: &serde_json::Value,
        number: Option<&str>,
    ) -> Result<UnitEnd, Halt> {
        let kind = unit.kind;
        let Some(number) = number else {
            let msg =
                "the server reports the number as taken, but the document has none".to_string();
            self.ledger
                .mark_rejected(unit.id, &msg)
                .map_err(|e| self.ledger_failed(e))?;
            return Ok(UnitEnd::Rejected(msg));
        };
        let found = self
            .retrying(|| self.remote.find_by_number(kind, number))
            .await?;
        let Some(f) = found else {
            let msg = format!(
                "number {number:?} is taken on the account, but no {kind} with it can be found"
            );
            self.ledger
                .mark_rejected(unit.id, &msg)
                .map_err(|e| self.ledger_failed(e))?;
            return Ok(UnitEnd::Rejected(msg));
        };
        if f.import_key.as_deref() == Some(unit.import_key.as_str()) || kind == UnitKind::Customer {
            let ours = f.import_key.as_deref() == Some(unit.import_key.as_str());
            if f.voided {
                let msg = format!(
                    "number {number:?} is held by {kind} {}, voided; the number cannot be used again",
                    f.id
                );
                self.ledger
                    .mark_rejected(unit.id, &msg)
                    .map_err(|e| self.ledger_failed(e))?;
                return Ok(UnitEnd::Rejected(msg));
            }
            self.ledger
                .mark_done(unit.id, f.id, ours)
                .map_err(|e| self.ledger_failed(e))?;
            return Ok(UnitEnd::Done(f.id));
        }
        let what = format!(
            "number {number:?} is already on the account ({kind} {}), not from this import",
            f.id
        );
        match self.cfg.on_existing {
            OnExisting::Skip => {
                self.ledger
                    .mark_skipped(unit.id, f.id, &what)
                    .map_err(|e| self.ledger_failed(e))?;
                Ok(UnitEnd::Skipped)
            }
            OnExisting::Fail => {
                let msg = format!("{what} (--on-existing fail)");
                self.ledger
                    .mark_rejected(unit.id, &msg)
                    .map_err(|e| self.ledger_failed(e))?;
                Ok(UnitEnd::Rejected(msg))
            }
            OnExisting::Update => {
                let table = match kind {
                    UnitKind::CreditNote => crate::model::fields::CREDIT_NOTE,
                    UnitKind::Customer => crate::model::fields::CUSTOMER,
                    _ => crate::model::fields::INVOICE,
                };
                match self.update_existing(unit, f.id, body, table).await? {
                    UnitEnd::Rejected(msg) => {
                        let msg = format!("{what}; {msg}");
                        self.ledger
                            .note_error(unit.id, &msg)
                            .map_err(|e| self.ledger_failed(e))?;
                        Ok(UnitEnd::Rejected(msg))
                    }
                    end => Ok(end),
                }
            }
        }
    }
}
