//! Changes, not re-sends: a round trip's document (or customer record) is
//! matched with the account's version, by id (else by number), compared
//! ([`crate::upload::diff`]) and sent as a PATCH only when it differs, with
//! only what differs; unchanged ones cost no write. The same PATCH serves
//! `--on-existing update` of an ordinary import when a number is taken.
//!
//! Every update is a unit of the run (its key: [`keys::update_key`]) whose
//! before image and patch are committed before the request, so that `runs
//! rollback` can restore the object whatever happens next. After an
//! ambiguous failure the object is read again: the PATCH took (done), the
//! object is as it was (send again), or someone else changed it meanwhile
//! (refused: nothing is overwritten). A conflict (the account changed the
//! document after the export), a closed, paid or voided document, and a
//! document the account no longer has are recorded as refused, with why.

use super::send::UnitEnd;
use super::{describe_rows, DocEnd, Engine, Halt, Stop};
use crate::ledger::{NewUnit, Unit, UnitKind, UnitState};
use crate::model::fields::Field;
use crate::model::{Draft, Record};
use crate::upload::diff::{self, DiffOptions, Status, Wanted};
use crate::upload::keys;
use crate::upload::remote::{FailKind, Remote};
use crate::upload::OnExisting;
use serde_json::{Map, Value};

/// What a round trip's document comes to before any create.
pub(super) enum Matched {
    /// Decided: changed, unchanged, refused.
    Ended(DocEnd),
    /// Not on the account: create it as an ordinary import does.
    New,
}

pub(super) use crate::upload::diff::unit_kind;

impl<R: Remote> Engine<R> {
    /// A round trip's draft: found on the account by id (gone: refused) or
    /// by number, then changed as it differs; not found by number: new.
    pub(super) async fn round_trip(&self, draft: &Draft) -> Result<Matched, Halt> {
        let kind = unit_kind(draft);
        let (id, number) = match draft.record {
            Record::Customer => (draft.customer.id, draft.customer.number.as_deref()),
            Record::Document => (draft.invoice.id, draft.invoice.number.as_deref()),
        };
        let current = match (id, number.map(str::trim).filter(|n| !n.is_empty())) {
            (Some(id), _) => {
                if !self.first_with_id(kind, id) {
                    return Ok(Matched::Ended(DocEnd::Rejected));
                }
                match self.retrying(|| self.remote.fetch(kind, id)).await? {
                    Some(c) => c,
                    None => {
                        let why = format!(
                            "{kind} {id} is no longer on the account: it cannot be changed (clear its id to make a new one)"
                        );
                        return self.refuse(draft, kind, id, &why, DocEnd::Conflict).await;
                    }
                }
            }
            (None, Some(n)) => match self
                .retrying(|| self.remote.fetch_by_number(kind, n))
                .await?
            {
                Some(c) => c,
                None => return Ok(Matched::New),
            },
            (None, None) => return Ok(Matched::New),
        };
        let Some(id) = current.get("id").and_then(Value::as_i64) else {
            self.stop(Stop::Api(format!("the account's {kind} has no id")));
            return Err(Halt);
        };
        if id_less(draft) && !self.first_with_id(kind, id) {
            return Ok(Matched::Ended(DocEnd::Rejected));
        }
        let body = match diff::body_of(draft) {
            Ok(b) => b,
            Err(e) => {
                let why = format!("the document could not be encoded as JSON: {e}");
                return self.refuse(draft, kind, id, &why, DocEnd::Rejected).await;
            }
        };
        let wanted = Wanted::of(draft, &body);
        self.change(draft, kind, id, &wanted, current)
            .await
            .map(Matched::Ended)
    }

    /// Whether this is the first document of the run with this id (two
    /// rows' groups naming one object would race).
    fn first_with_id(&self, kind: UnitKind, id: i64) -> bool {
        let mut seen = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        let first = seen.insert((kind, id));
        if !first {
            tracing::warn!(%kind, id, "a second document of the file has the same id");
        }
        first
    }

    /// Compare and, as `--on-existing` says, send the change.
    async fn change(
        &self,
        draft: &Draft,
        kind: UnitKind,
        id: i64,
        wanted: &Wanted<'_>,
        current: Value,
    ) -> Result<DocEnd, Halt> {
        let key = keys::update_key(&self.cfg.env, kind, id, self.cfg.run);
        let prior = self
            .ledger
            .unit(&self.cfg.env, &key)
            .map_err(|e| self.ledger_failed(e))?;
        match prior.as_ref().map(|u| u.state) {
            Some(UnitState::Done) => return Ok(DocEnd::Updated),
            Some(UnitState::Rejected) => return Ok(DocEnd::Rejected),
            Some(UnitState::Skipped) => return Ok(DocEnd::Skipped),
            Some(UnitState::Sending) => {
                // Interrupted mid-request: did it take?
                let u = prior.as_ref().expect("matched above");
                if let Some(patch) = u.patch.as_deref().and_then(parse) {
                    if took(&patch, &current, wanted.table) {
                        self.ledger
                            .mark_updated(u.id, updated_at(&current))
                            .map_err(|e| self.ledger_failed(e))?;
                        return Ok(DocEnd::Updated);
                    }
                }
            }
            _ => {}
        }
        let opts = DiffOptions {
            force: self.cfg.force,
            rate_value: None,
        };
        let d = diff::diff(wanted, &current, opts);
        let new = NewUnit {
            kind,
            import_key: key,
            source_key: draft.source_key.clone(),
            source_rows: describe_rows(draft),
            number: match draft.record {
                Record::Customer => draft.customer.number.clone(),
                Record::Document => draft.invoice.number.clone(),
            },
            payload_hash: keys::payload_hash(&Value::Object(d.patch.clone())),
        };
        match d.status {
            Status::Unchanged => Ok(DocEnd::Unchanged),
            Status::Conflict | Status::Locked => {
                let unit = self.claim(prior, &new).await?;
                self.ledger
                    .mark_rejected(unit.id, d.why.as_deref().unwrap_or_default())
                    .map_err(|e| self.ledger_failed(e))?;
                Ok(if d.status == Status::Conflict {
                    DocEnd::Conflict
                } else {
                    DocEnd::Locked
                })
            }
            Status::Changed => match self.cfg.on_existing {
                OnExisting::Skip => {
                    let unit = self.claim(prior, &new).await?;
                    self.ledger
                        .mark_skipped(
                            unit.id,
                            id,
                            "differs from the account; --on-existing skip left it as it is",
                        )
                        .map_err(|e| self.ledger_failed(e))?;
                    Ok(DocEnd::Skipped)
                }
                OnExisting::Fail => {
                    let unit = self.claim(prior, &new).await?;
                    self.ledger
                        .mark_rejected(unit.id, "differs from the account (--on-existing fail)")
                        .map_err(|e| self.ledger_failed(e))?;
                    Ok(DocEnd::Rejected)
                }
                OnExisting::Update => {
                    let unit = self.claim(prior, &new).await?;
                    match self
                        .patch_unit(&unit, id, &current, &d.patch, wanted.table)
                        .await?
                    {
                        UnitEnd::Updated(_) => Ok(DocEnd::Updated),
                        UnitEnd::Unchanged(_) => Ok(DocEnd::Unchanged),
                        UnitEnd::Rejected(_) => Ok(DocEnd::Rejected),
                        UnitEnd::Done(_) | UnitEnd::Skipped => Ok(DocEnd::Updated),
                    }
                }
            },
        }
    }

    /// A round trip's document refused before any request: recorded with why.
    async fn refuse(
        &self,
        draft: &Draft,
        kind: UnitKind,
        id: i64,
        why: &str,
        end: DocEnd,
    ) -> Result<Matched, Halt> {
        let new = NewUnit {
            kind,
            import_key: keys::update_key(&self.cfg.env, kind, id, self.cfg.run),
            source_key: draft.source_key.clone(),
            source_rows: describe_rows(draft),
            number: draft.invoice.number.clone(),
            payload_hash: String::new(),
        };
        let prior = self
            .ledger
            .unit(&self.cfg.env, &new.import_key)
            .map_err(|e| self.ledger_failed(e))?;
        let unit = self.claim(prior, &new).await?;
        self.ledger
            .mark_rejected(unit.id, why)
            .map_err(|e| self.ledger_failed(e))?;
        Ok(Matched::Ended(end))
    }

    /// `--on-existing update` of an ordinary import: the number is taken
    /// by an object not from this import (`id`); make it what `body` says,
    /// sending only what differs.
    pub(super) async fn update_existing(
        &self,
        unit: &Unit,
        id: i64,
        body: &Value,
        table: &'static [Field],
    ) -> Result<UnitEnd, Halt> {
        let kind = unit.kind;
        let Some(current) = self.retrying(|| self.remote.fetch(kind, id)).await? else {
            let msg = format!("{kind} {id} holds the number but could not be read");
            self.ledger
                .mark_rejected(unit.id, &msg)
                .map_err(|e| self.ledger_failed(e))?;
            return Ok(UnitEnd::Rejected(msg));
        };
        // A customer keeps the metadata keys the batch does not set (its
        // map is still sent whole when one changes, as API.md requires).
        let overlaid;
        let body = if kind == UnitKind::Customer {
            overlaid = with_their_metadata(body, &current);
            &overlaid
        } else {
            body
        };
        let wanted = Wanted {
            body,
            table,
            scope: None,
            record: if kind == UnitKind::Customer {
                Record::Customer
            } else {
                Record::Document
            },
            exported_at: None,
            computed: &[],
            origins: None,
            customer: None,
        };
        let d = diff::diff(&wanted, &current, DiffOptions::default());
        match d.status {
            Status::Unchanged => {
                self.ledger
                    .mark_done(unit.id, id, false)
                    .map_err(|e| self.ledger_failed(e))?;
                Ok(UnitEnd::Unchanged(id))
            }
            Status::Changed => self.patch_unit(unit, id, &current, &d.patch, table).await,
            Status::Conflict | Status::Locked => {
                let msg = d.why.unwrap_or_else(|| "it cannot be changed".into());
                self.ledger
                    .mark_rejected(unit.id, &msg)
                    .map_err(|e| self.ledger_failed(e))?;
                Ok(UnitEnd::Rejected(msg))
            }
        }
    }

    /// Send one PATCH under the ledger: the before image and the patch
    /// first, the outcome after; an ambiguous failure is resolved by reading
    /// the object again.
    async fn patch_unit(
        &self,
        unit: &Unit,
        id: i64,
        before: &Value,
        patch: &Map<String, Value>,
        table: &'static [Field],
    ) -> Result<UnitEnd, Halt> {
        let kind = unit.kind;
        let patch_json = Value::Object(patch.clone());
        self.ledger
            .record_update(unit.id, id, &before.to_string(), &patch_json.to_string())
            .map_err(|e| self.ledger_failed(e))?;
        let mut tries = 0u32;
        loop {
            if self.cancel.is_cancelled() {
                return Err(Halt);
            }
            self.ledger
                .mark_sending(unit.id)
                .map_err(|e| self.ledger_failed(e))?;
            tries += 1;
            let e = match self.remote.update(kind, id, &patch_json).await {
                Ok(reply) => {
                    self.ledger
                        .mark_updated(unit.id, updated_at(&reply))
                        .map_err(|e| self.ledger_failed(e))?;
                    return Ok(UnitEnd::Updated(id));
                }
                Err(e) => e,
            };
            match e.kind {
                FailKind::Rejected => {
                    let msg = format!("the update was refused: {}", e.message);
                    self.ledger
                        .mark_rejected(unit.id, &msg)
                        .map_err(|e| self.ledger_failed(e))?;
                    return Ok(UnitEnd::Rejected(msg));
                }
                FailKind::Auth => {
                    self.ledger
                        .note_error(unit.id, &e.message)
                        .map_err(|e| self.ledger_failed(e))?;
                    self.stop(Stop::Api(e.message));
                    return Err(Halt);
                }
                _ if tries >= self.cfg.max_attempts => {
                    let msg = format!(
                        "still no answer after {tries} attempts, last: {}",
                        e.message
                    );
                    self.ledger
                        .note_error(unit.id, &msg)
                        .map_err(|e| self.ledger_failed(e))?;
                    self.stop(Stop::Api(msg));
                    return Err(Halt);
                }
                _ => {
                    self.ledger
                        .note_error(unit.id, &e.message)
                        .map_err(|e| self.ledger_failed(e))?;
                    self.pause(tries).await?;
                }
            }
            // Did it take? Read the object again before sending anything.
            let Some(now) = self.retrying(|| self.remote.fetch(kind, id)).await? else {
                let msg = format!("{kind} {id} is gone from the account");
                self.ledger
                    .mark_rejected(unit.id, &msg)
                    .map_err(|e| self.ledger_failed(e))?;
                return Ok(UnitEnd::Rejected(msg));
            };
            if took(&patch_json, &now, table) {
                self.ledger
                    .mark_updated(unit.id, updated_at(&now))
                    .map_err(|e| self.ledger_failed(e))?;
                return Ok(UnitEnd::Updated(id));
            }
            if updated_at(&now) != updated_at(before) {
                let msg = format!(
                    "{kind} {id} was changed on the account while the update was being sent; nothing was overwritten"
                );
                self.ledger
                    .mark_rejected(unit.id, &msg)
                    .map_err(|e| self.ledger_failed(e))?;
                return Ok(UnitEnd::Rejected(msg));
            }
        }
    }
}

/// Whether a draft names its object by number only.
fn id_less(draft: &Draft) -> bool {
    match draft.record {
        Record::Customer => draft.customer.id.is_none(),
        Record::Document => draft.invoice.id.is_none(),
    }
}

fn parse(s: &str) -> Option<Value> {
    serde_json::from_str(s).ok()
}

fn updated_at(v: &Value) -> Option<i64> {
    v.get("updated_at").and_then(Value::as_i64)
}

/// Whether `current` has every field of `patch` as the patch sets it.
fn took(patch: &Value, current: &Value, table: &'static [Field]) -> bool {
    let keys: Vec<String> = patch
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    !keys.is_empty() && diff::restored(patch, current, &keys, table)
}

/// `body` with `current`'s metadata under its own: the keys `body` sets
/// win, the others stay as they are.
fn with_their_metadata(body: &Value, current: &Value) -> Value {
    let mut out = body.clone();
    let mut meta = current
        .get("metadata")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(ours) = body.get("metadata").and_then(Value::as_object) {
        for (k, v) in ours {
            meta.insert(k.clone(), v.clone());
        }
    }
    if let Some(obj) = out.as_object_mut() {
        obj.insert("metadata".into(), Value::Object(meta));
    }
    out
}
