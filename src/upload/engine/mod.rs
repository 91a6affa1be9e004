//! The upload engine: async workers that take valid documents (only
//! [`Valid`] ones: validation is the only stage that makes them) from a
//! bounded channel and put each on the account exactly once, following the
//! [`protocol`] with the [`Ledger`].
//!
//! Per document: resolve its customer (one creation in flight per customer
//! however many documents wait for it, then cached), create the invoice or
//! credit note, then the invoice's payments. Every unit's intent is
//! committed before its request and its outcome after the reply; both go
//! through a writer thread that groups them into shared commits (a new
//! unit's claim and intent are one write; an outcome is not awaited, and a
//! crash before its commit leaves the unit `sending`, looked up before any
//! re-send). Stopping
//! (Ctrl-C, refused credentials, an API that stays unreachable) takes no new
//! documents, lets the requests in flight finish and be recorded, and leaves
//! every unit in a state `--resume` continues from.
//!
//! The parts, each where someone extending it will look:
//!
//! - this file: the [`Engine`], its [`EngineConfig`] and [`Stop`], the run
//!   loop, and one document's flow (plan it against the ledger, claim its
//!   unit, resolve its customer, send it, then its payments);
//! - `customers.rs`: resolving a document's customer (ledger, found on the
//!   account, or created), one creation in flight per customer, cached;
//! - `directory.rs`: the account's customers listed once (one request per
//!   100) for a batch that names many, instead of one look-up each;
//! - `payments.rs`: an invoice's payments, applied to it;
//! - `send.rs`: sending one unit under the protocol (intent, request,
//!   outcome), looking it up after an ambiguous failure, and a number that is
//!   taken ([`OnExisting`]);
//! - `update.rs`: changes, not re-sends: a round trip's document matched with
//!   the account's, compared, and PATCHed with only what differs (also
//!   `--on-existing update`), the before image kept for rollback;
//! - `retry.rs`: repeating reads that may pass, and the pause between attempts;
//! - `counters.rs`: the running [`Counters`] and the progress message.

mod counters;
mod customers;
mod directory;
pub use directory::FirstPage;
mod payments;
mod retry;
mod send;
mod update;

pub use counters::{progress_message, Counters, CountsSnapshot};
pub use send::OnExisting;

use counters::bump;
use customers::CustomerCell;
use send::UnitEnd;

use super::keys;
use super::protocol::{self, Plan};
use super::remote::Remote;
use crate::ledger::{GroupWriter, Ledger, LedgerError, NewUnit, RunId, Unit, UnitKind};
use crate::model::{Draft, Record, IMPORT_KEY};
use crate::progress::{NoProgress, Progress};
use crate::validate::Valid;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The environment label (part of every import key).
    pub env: String,
    /// The mapping's identity (part of every document's import key).
    pub mapping_identity: String,
    pub run: RunId,
    /// Documents worked on at once.
    pub concurrency: usize,
    pub on_existing: OnExisting,
    /// With [`OnExisting::Update`]: a customer found on the account, not
    /// from this import, is updated to the batch's record where it differs.
    pub update_customers: bool,
    /// Ambiguous failures of one unit, in one run, before the run stops
    /// (resumable) rather than keep trying.
    pub max_attempts: u32,
    /// Round trips: send changes to documents the account changed after
    /// the export too (`--force`).
    pub force: bool,
    /// Distinct customers the batch names (0 when unknown): from
    /// [`directory::MIN_CUSTOMERS`] on, the account's customers are listed
    /// once rather than looked up one by one.
    pub customers_in_batch: u64,
}

/// Why a run stopped before its input was done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Ctrl-C.
    Interrupted,
    /// The API refused the credentials or could not be reached.
    Api(String),
    /// The ledger could not be written.
    Ledger(String),
}

/// The run is stopping; the reason is recorded in the engine.
#[derive(Debug)]
struct Halt;

/// How a document ended in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DocEnd {
    Done,
    Already,
    Changed,
    Rejected,
    Skipped,
    Updated,
    /// A round trip's document that is as the account has it.
    Unchanged,
    /// Changed on the account after the export (or gone from it): not sent.
    Conflict,
    /// Closed, paid or voided: the API refuses changes.
    Locked,
}

/// The engine; share it as `Arc<Engine<R>>`.
pub struct Engine<R: Remote> {
    remote: R,
    ledger: Arc<Ledger>,
    /// The hot writes (intents, outcomes), grouped into shared commits.
    writer: GroupWriter,
    cfg: EngineConfig,
    customers: Mutex<HashMap<String, CustomerCell>>,
    directory: directory::DirectoryCell,
    /// The account's first page of customers, asked for before the engine
    /// was built ([`Engine::seed_customers`]); taken by the first reading.
    first_customers: Mutex<Option<directory::FirstPage>>,
    counters: Arc<Counters>,
    cancel: CancellationToken,
    stop: Mutex<Option<Stop>>,
    progress: Arc<dyn Progress>,
    /// The objects round trips of this run matched by id, once each.
    ids: Mutex<std::collections::HashSet<(UnitKind, i64)>>,
}

impl<R: Remote> Engine<R> {
    pub fn new(remote: R, ledger: Arc<Ledger>, cfg: EngineConfig) -> Arc<Self> {
        Arc::new(Engine {
            remote,
            writer: GroupWriter::start(ledger.clone()),
            ledger,
            cfg,
            customers: Mutex::new(HashMap::new()),
            directory: Default::default(),
            first_customers: Mutex::new(None),
            counters: Arc::new(Counters::default()),
            cancel: CancellationToken::new(),
            stop: Mutex::new(None),
            progress: Arc::new(NoProgress),
            ids: Mutex::new(Default::default()),
        })
    }

    /// The same engine counting the documents it takes and finishes on `bar`.
    pub fn with_progress(
        remote: R,
        ledger: Arc<Ledger>,
        cfg: EngineConfig,
        bar: Arc<dyn Progress>,
    ) -> Arc<Self> {
        let e = Engine::new(remote, ledger, cfg);
        match Arc::try_unwrap(e) {
            Ok(mut e) => {
                e.progress = bar;
                Arc::new(e)
            }
            Err(e) => e,
        }
    }

    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// Stop taking documents; let what is in flight finish. The first reason wins.
    pub fn stop(&self, reason: Stop) {
        {
            let mut s = self.stop.lock().unwrap_or_else(|p| p.into_inner());
            if s.is_none() {
                *s = Some(reason);
            }
        }
        self.cancel.cancel();
    }

    /// Why the engine stopped, if it did.
    pub fn stopped(&self) -> Option<Stop> {
        self.stop.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn ledger_failed(&self, e: LedgerError) -> Halt {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        self.stop(Stop::Ledger(msg));
        Halt
    }

    /// Take documents from `rx` until it closes or the engine stops, with
    /// at most `concurrency` at once; return when every started one is
    /// finished and recorded.
    pub async fn run(self: &Arc<Self>, mut rx: mpsc::Receiver<Valid<Draft>>) -> Option<Stop> {
        let slots = Arc::new(Semaphore::new(self.cfg.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        loop {
            let permit = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => break,
                p = slots.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let draft = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => break,
                d = rx.recv() => match d {
                    Some(d) => d,
                    None => break,
                },
            };
            bump(&self.counters.documents);
            // Taken off the queue: the progress knows what is in flight.
            self.progress.add_total(1);
            let me = self.clone();
            tasks.spawn(async move {
                let _slot = permit;
                me.document(draft).await;
            });
            while let Some(done) = tasks.try_join_next() {
                self.reap(done);
            }
        }
        // Closing the channel tells the reading thread to stop.
        drop(rx);
        while let Some(done) = tasks.join_next().await {
            self.reap(done);
        }
        // The outcomes not committed yet.
        if let Err(e) = self.writer.flush().await {
            let _ = self.ledger_failed(e);
        }
        self.stopped()
    }

    fn reap(&self, done: Result<(), tokio::task::JoinError>) {
        if let Err(e) = done {
            if e.is_panic() {
                self.stop(Stop::Ledger(format!("an upload task panicked: {e}")));
            }
        }
    }

    async fn document(&self, draft: Valid<Draft>) {
        let end = self.document_inner(draft.get()).await;
        let c = &self.counters;
        match end {
            Ok(DocEnd::Done) => bump(&c.done),
            Ok(DocEnd::Already) => bump(&c.already),
            Ok(DocEnd::Changed) => bump(&c.changed),
            Ok(DocEnd::Rejected) => bump(&c.rejected),
            Ok(DocEnd::Skipped) => bump(&c.skipped),
            Ok(DocEnd::Updated) => bump(&c.updated),
            Ok(DocEnd::Unchanged) => bump(&c.unchanged),
            Ok(DocEnd::Conflict) => bump(&c.conflicts),
            Ok(DocEnd::Locked) => bump(&c.locked),
            Err(Halt) => return,
        }
        self.progress.advance(1);
        self.progress.message(progress_message(
            &c.snapshot(),
            c.retrying.load(Ordering::Relaxed),
            self.remote.rate_limited_count(),
        ));
    }

    async fn document_inner(&self, draft: &Draft) -> Result<DocEnd, Halt> {
        if draft.is_round_trip() {
            match self.round_trip(draft).await? {
                update::Matched::Ended(end) => return Ok(end),
                update::Matched::New => {}
            }
        }
        if draft.record == Record::Customer {
            // A new customer record: created as a document's customer is.
            return Ok(match self.customer(draft).await? {
                Ok(_) => DocEnd::Done,
                Err(_) => DocEnd::Rejected,
            });
        }
        let kind = update::unit_kind(draft);
        let key = keys::document_key(
            &self.cfg.env,
            &self.cfg.mapping_identity,
            kind,
            &draft.source_key,
        );
        let value = match kind {
            UnitKind::CreditNote => serde_json::to_value(draft.credit_note()),
            _ => serde_json::to_value(&draft.invoice),
        };
        let number = draft.invoice.number.clone();
        let new_unit = |hash: &str| NewUnit {
            kind,
            import_key: key.clone(),
            source_key: draft.source_key.clone(),
            source_rows: describe_rows(draft),
            number: number.clone(),
            payload_hash: hash.to_string(),
        };
        let mut body = match value {
            Ok(v) => v,
            Err(e) => {
                let u = self.claim(None, &new_unit("")).await?;
                return self.reject_doc(
                    &u,
                    &format!("the document could not be encoded as JSON: {e}"),
                );
            }
        };
        body.as_object_mut().map(|o| o.remove("customer"));
        // A round trip's new document carries the ids and timestamps of the
        // row it was copied from: the API keeps those.
        crate::upload::diff::strip_read_only(&mut body, crate::upload::diff::table_of(draft));
        if let Err(msg) = put_import_key(&mut body, &key) {
            let u = self.claim(None, &new_unit("")).await?;
            return self.reject_doc(&u, &msg);
        }
        let hash = keys::payload_hash(&body);
        let prior = self
            .ledger
            .unit(&self.cfg.env, &key)
            .map_err(|e| self.ledger_failed(e))?;
        let plan = protocol::plan(prior.as_ref(), self.cfg.run, &hash);
        let (end, remote_id) = match plan {
            Plan::AlreadyImported { remote_id } => (DocEnd::Already, remote_id),
            Plan::Changed { .. } => return Ok(DocEnd::Changed),
            Plan::DoneInThisRun { remote_id } => {
                let end = match prior.as_ref().map(|u| u.state) {
                    Some(crate::ledger::UnitState::Skipped) => return Ok(DocEnd::Skipped),
                    _ => DocEnd::Done,
                };
                (end, remote_id)
            }
            Plan::RejectedInThisRun => return Ok(DocEnd::Rejected),
            Plan::Send | Plan::LookUpThenSend => {
                let unit = new_unit(&hash);
                // A unit recorded before is claimed at once; a new one only
                // with its intent, in one commit, once its customer is known.
                let claimed = match prior {
                    Some(p) => Some(self.claim(Some(p), &unit).await?),
                    None => None,
                };
                let customer = match self.customer(draft).await? {
                    Ok(id) => id,
                    Err(msg) => {
                        let u = match claimed {
                            Some(u) => u,
                            None => self.claim(None, &unit).await?,
                        };
                        return self.reject_doc(&u, &format!("customer: {msg}"));
                    }
                };
                if let Some(o) = body.as_object_mut() {
                    o.insert("customer".into(), customer.into());
                }
                let look_up = plan == Plan::LookUpThenSend;
                match self
                    .claim_and_send(claimed, &unit, &body, number.as_deref(), look_up)
                    .await?
                    .1
                {
                    UnitEnd::Done(id) => (DocEnd::Done, Some(id)),
                    UnitEnd::Updated(id) => (DocEnd::Updated, Some(id)),
                    UnitEnd::Unchanged(id) => (DocEnd::Unchanged, Some(id)),
                    UnitEnd::Skipped => return Ok(DocEnd::Skipped),
                    UnitEnd::Rejected(_) => return Ok(DocEnd::Rejected),
                }
            }
        };
        if kind == UnitKind::Invoice {
            if let Some(invoice_id) = remote_id {
                self.payments(draft, &key, invoice_id).await?;
            }
        }
        Ok(end)
    }

    fn reject_doc(&self, unit: &Unit, msg: &str) -> Result<DocEnd, Halt> {
        self.ledger
            .mark_rejected(unit.id, msg)
            .map_err(|e| self.ledger_failed(e))?;
        Ok(DocEnd::Rejected)
    }

    /// Send a unit: `claimed` by this run already, or new, then inserted
    /// `sending` (its claim and its intent) in one grouped commit before the
    /// request. Returns the unit's id with how it ended.
    async fn claim_and_send(
        &self,
        claimed: Option<Unit>,
        new: &NewUnit,
        body: &serde_json::Value,
        number: Option<&str>,
        look_up: bool,
    ) -> Result<(i64, UnitEnd), Halt> {
        if let Some(unit) = claimed {
            let end = self.send_unit(&unit, body, number, look_up, false).await?;
            return Ok((unit.id, end));
        }
        let inserted = self
            .writer
            .insert_sending(self.cfg.run, &self.cfg.env, new)
            .await
            .map_err(|e| self.ledger_failed(e))?;
        if let Some(unit) = inserted {
            let end = self.send_unit(&unit, body, number, look_up, true).await?;
            return Ok((unit.id, end));
        }
        // Recorded meanwhile under the same key: claimed as it is, and
        // looked up before anything is sent.
        let prior = self
            .ledger
            .unit(&self.cfg.env, &new.import_key)
            .map_err(|e| self.ledger_failed(e))?;
        let unit = self.claim(prior, new).await?;
        let end = self.send_unit(&unit, body, number, true, false).await?;
        Ok((unit.id, end))
    }

    /// The unit as this run's: inserted when new, taken over from an
    /// earlier run that did not finish it.
    async fn claim(&self, prior: Option<Unit>, new: &NewUnit) -> Result<Unit, Halt> {
        let r = match prior {
            Some(p) if p.run_id == self.cfg.run => Ok(p),
            Some(p) => self.ledger.adopt_unit(p.id, self.cfg.run, new),
            None => self.ledger.insert_unit(self.cfg.run, &self.cfg.env, new),
        };
        r.map_err(|e| self.ledger_failed(e))
    }
}

/// Put `metadata.import_key` into a body, minding the 10-key limit.
fn put_import_key(body: &mut serde_json::Value, key: &str) -> Result<(), String> {
    use crate::model::limits::METADATA_MAX_KEYS;
    let Some(obj) = body.as_object_mut() else {
        return Err("the document is not a JSON object".into());
    };
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    let Some(meta) = meta.as_object_mut() else {
        return Err("metadata is not an object".into());
    };
    if !meta.contains_key(IMPORT_KEY) && meta.len() >= METADATA_MAX_KEYS {
        return Err(format!(
            "metadata already has {} keys, no room for {IMPORT_KEY:?} (the API allows {METADATA_MAX_KEYS}); map one key fewer",
            meta.len()
        ));
    }
    meta.insert(IMPORT_KEY.into(), key.into());
    Ok(())
}

/// The rows of a draft, for people: `a.csv row 5, 6, 7`.
pub fn describe_rows(draft: &Draft) -> String {
    let mut out = String::new();
    let mut last: Option<(&str, Option<&str>)> = None;
    for r in &draft.rows {
        let here = (&*r.file, r.sheet.as_deref());
        if last == Some(here) {
            out.push_str(&format!(", {}", r.row));
        } else {
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(&r.to_string());
            last = Some(here);
        }
        if out.len() > 500 {
            out.push_str(", …");
            break;
        }
    }
    out
}
