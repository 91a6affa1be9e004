//! The upload engine: async workers that take valid documents (only
//! [`Valid`] ones: validation is the only stage that makes them) from a
//! bounded channel and put each on the account exactly once, following the
//! [`protocol`](super::protocol) with the [`Ledger`].
//!
//! Per document: resolve its customer (one creation in flight per customer
//! however many documents wait for it, then cached), create the invoice or
//! credit note, then the invoice's payments. Every unit's intent is
//! committed before its request and its outcome after the reply. Stopping
//! (Ctrl-C, refused credentials, an API that stays unreachable) takes no new
//! documents, lets the requests in flight finish and be recorded, and leaves
//! every unit in a state `--resume` continues from.

use super::keys;
use super::protocol::{self, AfterReply, Plan, Reply};
use super::remote::{FailKind, Found, Remote, RemoteError};
use crate::ledger::{Ledger, LedgerError, NewUnit, RunId, Unit, UnitKind};
use crate::model::{DocKind, Draft, MatchOn, Payment, PaymentApplication, Ref, IMPORT_KEY};
use crate::progress::{NoProgress, Progress};
use crate::validate::Valid;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, OnceCell, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// What to do with a document whose number is already on the account but
/// was not put there by this import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnExisting {
    /// Leave it as it is; count it as skipped.
    #[default]
    Skip,
    /// Replace its fields with the imported ones (the whole metadata map included).
    Update,
    /// Count the document as rejected.
    Fail,
}

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
    /// Ambiguous failures of one unit, in one run, before the run stops
    /// (resumable) rather than keep trying.
    pub max_attempts: u32,
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

/// Running counts, shared with the progress display.
#[derive(Debug, Default)]
pub struct Counters {
    pub documents: AtomicU64,
    pub done: AtomicU64,
    pub already: AtomicU64,
    pub changed: AtomicU64,
    pub rejected: AtomicU64,
    pub skipped: AtomicU64,
    pub updated: AtomicU64,
    pub customers_created: AtomicU64,
    pub customers_found: AtomicU64,
    pub payments_done: AtomicU64,
    pub payments_rejected: AtomicU64,
    pub retries: AtomicU64,
    pub retrying: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CountsSnapshot {
    /// Valid documents handed to the engine.
    pub documents: u64,
    /// Created (or found after an ambiguous failure) by this run.
    pub done: u64,
    /// Imported by an earlier run, unchanged.
    pub already_imported: u64,
    /// Imported by an earlier run, changed since (not re-sent).
    pub changed: u64,
    /// Refused by the server (or by `--on-existing fail`).
    pub rejected: u64,
    /// Already on the account, not from this import (`--on-existing skip`).
    pub skipped: u64,
    /// Already on the account and updated (`--on-existing update`).
    pub updated: u64,
    pub customers_created: u64,
    pub customers_found: u64,
    pub payments_done: u64,
    pub payments_rejected: u64,
    /// Attempts repeated after an ambiguous failure.
    pub retries: u64,
}

impl Counters {
    pub fn snapshot(&self) -> CountsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CountsSnapshot {
            documents: g(&self.documents),
            done: g(&self.done),
            already_imported: g(&self.already),
            changed: g(&self.changed),
            rejected: g(&self.rejected),
            skipped: g(&self.skipped),
            updated: g(&self.updated),
            customers_created: g(&self.customers_created),
            customers_found: g(&self.customers_found),
            payments_done: g(&self.payments_done),
            payments_rejected: g(&self.payments_rejected),
            retries: g(&self.retries),
        }
    }
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// The run is stopping; the reason is recorded in the engine.
#[derive(Debug)]
struct Halt;

/// How a unit ended in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
enum UnitEnd {
    Done(i64),
    Updated(i64),
    Skipped,
    Rejected(String),
}

/// How a document ended in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DocEnd {
    Done,
    Already,
    Changed,
    Rejected,
    Skipped,
    Updated,
}

type CustomerCell = Arc<OnceCell<Result<i64, String>>>;

/// The engine; share it as `Arc<Engine<R>>`.
pub struct Engine<R: Remote> {
    remote: R,
    ledger: Arc<Ledger>,
    cfg: EngineConfig,
    customers: Mutex<HashMap<String, CustomerCell>>,
    counters: Arc<Counters>,
    cancel: CancellationToken,
    stop: Mutex<Option<Stop>>,
    progress: Arc<dyn Progress>,
}

impl<R: Remote> Engine<R> {
    pub fn new(remote: R, ledger: Arc<Ledger>, cfg: EngineConfig) -> Arc<Self> {
        Arc::new(Engine {
            remote,
            ledger,
            cfg,
            customers: Mutex::new(HashMap::new()),
            counters: Arc::new(Counters::default()),
            cancel: CancellationToken::new(),
            stop: Mutex::new(None),
            progress: Arc::new(NoProgress),
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
        let kind = match draft.kind {
            DocKind::Invoice => UnitKind::Invoice,
            DocKind::CreditNote => UnitKind::CreditNote,
        };
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
                let unit = self.claim(prior, &new_unit(&hash)).await?;
                let customer = match self.customer(draft).await? {
                    Ok(id) => id,
                    Err(msg) => return self.reject_doc(&unit, &format!("customer: {msg}")),
                };
                if let Some(o) = body.as_object_mut() {
                    o.insert("customer".into(), customer.into());
                }
                let look_up = plan == Plan::LookUpThenSend;
                match self
                    .send_unit(&unit, &body, number.as_deref(), look_up)
                    .await?
                {
                    UnitEnd::Done(id) => (DocEnd::Done, Some(id)),
                    UnitEnd::Updated(id) => (DocEnd::Updated, Some(id)),
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

    async fn payments(&self, draft: &Draft, doc_key: &str, invoice_id: i64) -> Result<(), Halt> {
        for (idx, p) in draft.payments.iter().enumerate() {
            let key = keys::payment_key(doc_key, idx);
            let mut payment: Payment = p.clone();
            payment.customer = None;
            let amount = payment.amount.unwrap_or_default();
            let mut body = match serde_json::to_value(&payment) {
                Ok(v) => v,
                Err(_) => serde_json::Value::Null,
            };
            let new_unit = |hash: &str| NewUnit {
                kind: UnitKind::Payment,
                import_key: key.clone(),
                source_key: format!("{} payment {}", draft.source_key, idx + 1),
                source_rows: describe_rows(draft),
                number: payment.reference.clone(),
                payload_hash: hash.to_string(),
            };
            if let Err(msg) = put_import_key(&mut body, &key) {
                let u = self.claim(None, &new_unit("")).await?;
                self.ledger
                    .mark_rejected(u.id, &msg)
                    .map_err(|e| self.ledger_failed(e))?;
                bump(&self.counters.payments_rejected);
                continue;
            }
            let hash = keys::payload_hash(&body);
            let prior = self
                .ledger
                .unit(&self.cfg.env, &key)
                .map_err(|e| self.ledger_failed(e))?;
            let plan = protocol::plan(prior.as_ref(), self.cfg.run, &hash);
            if !plan.works() {
                continue;
            }
            let unit = self.claim(prior, &new_unit(&hash)).await?;
            let customer = match self.customer(draft).await? {
                Ok(id) => id,
                Err(msg) => {
                    self.ledger
                        .mark_rejected(unit.id, &format!("customer: {msg}"))
                        .map_err(|e| self.ledger_failed(e))?;
                    bump(&self.counters.payments_rejected);
                    continue;
                }
            };
            if let Some(o) = body.as_object_mut() {
                o.insert("customer".into(), customer.into());
                if payment.applied_to.is_empty() {
                    let applied = PaymentApplication {
                        kind: "invoice".into(),
                        invoice: Some(Ref::Id(invoice_id)),
                        credit_note: None,
                        amount,
                    };
                    if let Ok(v) = serde_json::to_value(vec![applied]) {
                        o.insert("applied_to".into(), v);
                    }
                }
            }
            let look_up = plan == Plan::LookUpThenSend;
            match self.send_unit(&unit, &body, None, look_up).await? {
                UnitEnd::Done(_) | UnitEnd::Updated(_) | UnitEnd::Skipped => {
                    bump(&self.counters.payments_done)
                }
                UnitEnd::Rejected(_) => bump(&self.counters.payments_rejected),
            }
        }
        Ok(())
    }

    /// The draft's customer id on the account: from the ledger, found by
    /// number (or tax id), or created, once per customer for the whole run.
    /// `Ok(Err(message))`: the customer was refused (cached too, so the
    /// documents waiting for it are rejected without more requests).
    async fn customer(&self, draft: &Draft) -> Result<Result<i64, String>, Halt> {
        let c = &draft.customer;
        let (on, value) = match (draft.match_on, c.number.as_deref(), c.tax_id.as_deref()) {
            (MatchOn::Number, Some(n), _) if !n.trim().is_empty() => (MatchOn::Number, n),
            (MatchOn::TaxId, _, Some(t)) if !t.trim().is_empty() => (MatchOn::TaxId, t),
            (_, Some(n), _) if !n.trim().is_empty() => (MatchOn::Number, n),
            (_, _, Some(t)) if !t.trim().is_empty() => (MatchOn::TaxId, t),
            _ => {
                return Ok(Err(
                    "the customer has neither a number nor a tax id to be matched on".into(),
                ))
            }
        };
        let key = keys::customer_key(&self.cfg.env, on, value);
        let cell = {
            let mut map = self.customers.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.clone()).or_default().clone()
        };
        let got = cell
            .get_or_try_init(|| self.customer_uncached(draft, on, value, &key))
            .await?;
        Ok(got.clone())
    }

    async fn customer_uncached(
        &self,
        draft: &Draft,
        on: MatchOn,
        value: &str,
        key: &str,
    ) -> Result<Result<i64, String>, Halt> {
        let prior = self
            .ledger
            .unit(&self.cfg.env, key)
            .map_err(|e| self.ledger_failed(e))?;
        if let Some(u) = &prior {
            if matches!(
                u.state,
                crate::ledger::UnitState::Done | crate::ledger::UnitState::Skipped
            ) {
                if let Some(id) = u.remote_id {
                    return Ok(Ok(id));
                }
            }
        }
        let mut body = match serde_json::to_value(&draft.customer) {
            Ok(v) => v,
            Err(e) => return Ok(Err(format!("could not be encoded as JSON: {e}"))),
        };
        if let Some(o) = body.as_object_mut() {
            o.remove("id");
        }
        if let Err(msg) = put_import_key(&mut body, key) {
            return Ok(Err(msg));
        }
        let hash = keys::payload_hash(&body);
        let new_unit = NewUnit {
            kind: UnitKind::Customer,
            import_key: key.to_string(),
            source_key: format!(
                "{}={value}",
                match on {
                    MatchOn::Number => "number",
                    MatchOn::TaxId => "tax_id",
                }
            ),
            source_rows: describe_rows(draft),
            number: draft.customer.number.clone(),
            payload_hash: hash,
        };
        // On the account already?
        let found = self
            .retrying(|| self.remote.find_customer(on, value))
            .await?;
        if let Some(f) = found {
            // Ours when it carries our key, or when an earlier attempt of
            // ours may have created it (the unit was left `sending`).
            let ours = f.import_key.as_deref() == Some(key)
                || prior
                    .as_ref()
                    .is_some_and(|u| u.state == crate::ledger::UnitState::Sending);
            let unit = self.claim(prior, &new_unit).await?;
            self.ledger
                .mark_done(unit.id, f.id, ours)
                .map_err(|e| self.ledger_failed(e))?;
            bump(if ours {
                &self.counters.customers_created
            } else {
                &self.counters.customers_found
            });
            return Ok(Ok(f.id));
        }
        let unit = self.claim(prior, &new_unit).await?;
        match self
            .send_unit(&unit, &body, draft.customer.number.as_deref(), false)
            .await?
        {
            UnitEnd::Done(id) | UnitEnd::Updated(id) => {
                bump(&self.counters.customers_created);
                Ok(Ok(id))
            }
            UnitEnd::Skipped => match self
                .ledger
                .unit_by_id(unit.id)
                .map_err(|e| self.ledger_failed(e))?
                .and_then(|u| u.remote_id)
            {
                Some(id) => Ok(Ok(id)),
                None => Ok(Err("found on the account but without an id".into())),
            },
            UnitEnd::Rejected(e) => Ok(Err(e)),
        }
    }

    /// A read that is safe to repeat, repeated on failures that may pass,
    /// up to `max_attempts`; refused credentials stop the run.
    async fn retrying<T, F, Fut>(&self, mut call: F) -> Result<T, Halt>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, RemoteError>>,
    {
        let mut attempt = 0u32;
        loop {
            if self.cancel.is_cancelled() {
                return Err(Halt);
            }
            attempt += 1;
            match call().await {
                Ok(v) => return Ok(v),
                Err(e) if e.kind == FailKind::Auth || e.kind == FailKind::Rejected => {
                    self.stop(Stop::Api(e.message));
                    return Err(Halt);
                }
                Err(e) if attempt >= self.cfg.max_attempts => {
                    self.stop(Stop::Api(format!(
                        "still failing after {attempt} attempts: {}",
                        e.message
                    )));
                    return Err(Halt);
                }
                Err(_) => self.pause(attempt).await?,
            }
        }
    }

    /// Sleep before the next attempt, unless the run is stopping.
    async fn pause(&self, attempt: u32) -> Result<(), Halt> {
        let c = &self.counters;
        bump(&c.retries);
        c.retrying.fetch_add(1, Ordering::Relaxed);
        let wait = protocol::backoff(attempt, rand::random::<f64>());
        let stopped = tokio::select! {
            _ = self.cancel.cancelled() => true,
            _ = tokio::time::sleep(wait) => false,
        };
        c.retrying.fetch_sub(1, Ordering::Relaxed);
        if stopped {
            Err(Halt)
        } else {
            Ok(())
        }
    }

    /// Put one unit on the account, following the protocol: look up first
    /// when it may have been sent, commit the intent, send, record the outcome.
    async fn send_unit(
        &self,
        unit: &Unit,
        body: &serde_json::Value,
        number: Option<&str>,
        mut look_up: bool,
    ) -> Result<UnitEnd, Halt> {
        let kind = unit.kind;
        let idem = keys::idempotency_key(&unit.import_key, &unit.payload_hash, self.cfg.run);
        let mut tries = 0u32;
        loop {
            if self.cancel.is_cancelled() {
                return Err(Halt);
            }
            if look_up {
                if let Some(found) = self.look_up(kind, &unit.import_key).await? {
                    self.ledger
                        .mark_done(unit.id, found.id, true)
                        .map_err(|e| self.ledger_failed(e))?;
                    return Ok(UnitEnd::Done(found.id));
                }
            }
            let attempt = self
                .ledger
                .mark_sending(unit.id)
                .map_err(|e| self.ledger_failed(e))?;
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
                    self.ledger
                        .mark_done(unit.id, id, true)
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
                let r = self
                    .retrying(|| async {
                        match self.remote.update(kind, f.id, body).await {
                            Err(e) if e.kind == FailKind::Rejected => Ok(Err(e.message)),
                            Err(e) => Err(e),
                            Ok(()) => Ok(Ok(())),
                        }
                    })
                    .await?;
                match r {
                    Ok(()) => {
                        self.ledger
                            .mark_done(unit.id, f.id, false)
                            .map_err(|e| self.ledger_failed(e))?;
                        Ok(UnitEnd::Updated(f.id))
                    }
                    Err(msg) => {
                        let msg = format!("{what}; the update was refused: {msg}");
                        self.ledger
                            .mark_rejected(unit.id, &msg)
                            .map_err(|e| self.ledger_failed(e))?;
                        Ok(UnitEnd::Rejected(msg))
                    }
                }
            }
        }
    }
}

/// The counters as a progress message.
pub fn progress_message(c: &CountsSnapshot, retrying: u64, rate_limited: u64) -> String {
    let mut s = format!("done {} rejected {}", c.done + c.updated, c.rejected);
    if c.already_imported > 0 {
        s.push_str(&format!(" already {}", c.already_imported));
    }
    if c.skipped > 0 {
        s.push_str(&format!(" skipped {}", c.skipped));
    }
    s.push_str(&format!(" retrying {retrying} 429s {rate_limited}"));
    s
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
