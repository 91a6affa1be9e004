//! Group commit: the uploader's hot ledger writes (a new unit's intent, a
//! retry's intent, an outcome) go to one writer thread, which applies all
//! that are waiting in one transaction and commits them together. The async
//! workers never block on SQLite for these; they await the commit instead.
//!
//! What the protocol needs is kept: an intent's future resolves only after
//! the transaction holding it is committed, so the request that follows is
//! sent after its intent is durable. An outcome (`done`) is not awaited:
//! it is committed with the next group. A crash before that leaves the unit
//! `sending`, and a `sending` unit is looked up on the account before any
//! re-send (DESIGN.md, "Exactly-once import", 4), so nothing is sent twice.
//! [`GroupWriter::flush`] waits for everything submitted before it; a
//! failed write stops later intents (they fail with the first error).

use super::units::{unit_from_row, UNIT_COLUMNS};
use super::{now_ms, Ledger, LedgerError, NewUnit, Result, RunId, Unit};
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Writes in one group at most: a bound on how long an intent waits.
const MAX_GROUP: usize = 256;

/// One write for the writer thread.
#[derive(Debug)]
enum Op {
    /// A new unit, inserted `sending` (attempt 1) for `run`: its claim and
    /// its intent in one write.
    Intent {
        run: RunId,
        env: String,
        unit: NewUnit,
    },
    /// An existing unit's intent (`sending`, one attempt more).
    Sending { id: i64 },
    /// The outcome: on the account with `remote_id`.
    Done {
        id: i64,
        remote_id: i64,
        created: bool,
    },
    /// Nothing: answered once everything before it is committed.
    Flush,
}

/// What a write answers.
#[derive(Debug)]
enum Answer {
    /// The unit inserted, or `None` when its import key was taken already.
    Inserted(Option<Box<Unit>>),
    Attempt(u32),
    Nothing,
}

struct Job {
    op: Op,
    reply: Option<oneshot::Sender<Result<Answer, String>>>,
}

/// The writer thread's handle; dropping it lets the thread finish what it
/// holds and end.
pub struct GroupWriter {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    failed: Arc<Mutex<Option<String>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for GroupWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupWriter").finish_non_exhaustive()
    }
}

fn gone() -> LedgerError {
    LedgerError::Corrupt("the ledger's writer thread has ended".into())
}

impl GroupWriter {
    /// Start the writer thread for `ledger`.
    pub fn start(ledger: Arc<Ledger>) -> GroupWriter {
        let (tx, rx) = mpsc::channel::<Job>();
        let failed = Arc::new(Mutex::new(None));
        let failed_in = failed.clone();
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || write_groups(&ledger, rx, &failed_in))
            .ok();
        GroupWriter {
            tx: Mutex::new(Some(tx)),
            failed,
            thread: Mutex::new(thread),
        }
    }

    fn submit(
        &self,
        op: Op,
        wait: bool,
    ) -> Result<Option<oneshot::Receiver<Result<Answer, String>>>> {
        if let Some(e) = self
            .failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Err(LedgerError::Corrupt(e));
        }
        let (reply, rx) = if wait {
            let (s, r) = oneshot::channel();
            (Some(s), Some(r))
        } else {
            (None, None)
        };
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        tx.as_ref()
            .ok_or_else(gone)?
            .send(Job { op, reply })
            .map_err(|_| gone())?;
        Ok(rx)
    }

    async fn ask(&self, op: Op) -> Result<Answer> {
        let rx = self.submit(op, true)?.ok_or_else(gone)?;
        match rx.await {
            Ok(Ok(a)) => Ok(a),
            Ok(Err(e)) => Err(LedgerError::Corrupt(e)),
            Err(_) => Err(gone()),
        }
    }

    /// Claim and intent in one: insert `unit` for `run`, `sending` with one
    /// attempt; resolves once committed. `None`: the import key is recorded
    /// already (nothing was written).
    pub async fn insert_sending(
        &self,
        run: RunId,
        env: &str,
        unit: &NewUnit,
    ) -> Result<Option<Unit>> {
        let op = Op::Intent {
            run,
            env: env.to_string(),
            unit: unit.clone(),
        };
        match self.ask(op).await? {
            Answer::Inserted(u) => Ok(u.map(|u| *u)),
            _ => Err(gone()),
        }
    }

    /// The intent of a unit already recorded: `sending`, one attempt more;
    /// resolves once committed, with the attempt number.
    pub async fn mark_sending(&self, id: i64) -> Result<u32> {
        match self.ask(Op::Sending { id }).await? {
            Answer::Attempt(n) => Ok(n),
            _ => Err(gone()),
        }
    }

    /// The outcome, committed with the next group (not awaited).
    pub fn mark_done_later(&self, id: i64, remote_id: i64, created: bool) -> Result<()> {
        self.submit(
            Op::Done {
                id,
                remote_id,
                created,
            },
            false,
        )
        .map(|_| ())
    }

    /// Wait until everything submitted so far is committed; the first
    /// failed write, if any.
    pub async fn flush(&self) -> Result<()> {
        self.ask(Op::Flush).await?;
        match self
            .failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            Some(e) => Err(LedgerError::Corrupt(e)),
            None => Ok(()),
        }
    }
}

impl Drop for GroupWriter {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it has written what it holds.
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

fn write_groups(ledger: &Ledger, rx: mpsc::Receiver<Job>, failed: &Mutex<Option<String>>) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        let answers = {
            let mut conn = ledger.conn();
            commit_group(&mut conn, &group)
        };
        for (job, answer) in group.into_iter().zip(answers) {
            if let Err(e) = &answer {
                let mut f = failed.lock().unwrap_or_else(|p| p.into_inner());
                f.get_or_insert_with(|| e.clone());
            }
            if let Some(reply) = job.reply {
                let _ = reply.send(answer);
            }
        }
    }
}

fn message(e: &LedgerError) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// Apply a group in one transaction; every answer fails when the commit does.
fn commit_group(conn: &mut Connection, group: &[Job]) -> Vec<Result<Answer, String>> {
    let tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Ok(t) => t,
        Err(e) => {
            let msg = message(&e.into());
            return group.iter().map(|_| Err(msg.clone())).collect();
        }
    };
    let answers: Vec<_> = group
        .iter()
        .map(|j| apply(&tx, &j.op).map_err(|e| message(&e)))
        .collect();
    match tx.commit() {
        Ok(()) => answers,
        Err(e) => {
            let msg = message(&e.into());
            group.iter().map(|_| Err(msg.clone())).collect()
        }
    }
}

fn apply(conn: &Connection, op: &Op) -> Result<Answer> {
    Ok(match op {
        Op::Intent { run, env, unit } => {
            let n = conn
                .prepare_cached(
                    "INSERT INTO units (run_id, env, kind, import_key, source_key, source_rows,
                                number, payload_hash, state, attempts, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'sending', 1, ?9)
                     ON CONFLICT (env, import_key) DO NOTHING",
                )?
                .execute(params![
                    run,
                    env,
                    unit.kind.as_str(),
                    unit.import_key,
                    unit.source_key,
                    unit.source_rows,
                    unit.number,
                    unit.payload_hash,
                    now_ms()
                ])?;
            if n == 0 {
                return Ok(Answer::Inserted(None));
            }
            let id = conn.last_insert_rowid();
            let u = conn
                .prepare_cached(&format!("SELECT {UNIT_COLUMNS} FROM units WHERE id = ?1"))?
                .query_row([id], unit_from_row)
                .optional()?;
            Answer::Inserted(u.map(Box::new))
        }
        Op::Sending { id } => {
            let n: i64 = conn
                .prepare_cached(
                    "UPDATE units SET state = 'sending', attempts = attempts + 1, updated_at = ?2
                     WHERE id = ?1 RETURNING attempts",
                )?
                .query_row(params![id, now_ms()], |r| r.get(0))?;
            Answer::Attempt(n.max(0) as u32)
        }
        Op::Done {
            id,
            remote_id,
            created,
        } => {
            conn.prepare_cached(
                "UPDATE units SET state = 'done', remote_id = ?2, created = ?3, last_error = NULL,
                        updated_at = ?4
                 WHERE id = ?1",
            )?
            .execute(params![id, remote_id, created, now_ms()])?;
            Answer::Nothing
        }
        Op::Flush => Answer::Nothing,
    })
}
