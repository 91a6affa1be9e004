//! Units: one row per customer, invoice, credit note or payment an import
//! puts on the account, unique per (environment, import key), with its state
//! in the exactly-once protocol. Claiming a unit for a run, recording its
//! intent (`sending`, committed before the request) and its outcome after the
//! reply are all here.

use super::{corrupt, now_ms, Ledger, LedgerError, Result, RunId};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// What a unit is on the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Customer,
    Invoice,
    CreditNote,
    Payment,
}

impl UnitKind {
    pub const ALL: [UnitKind; 4] = [
        UnitKind::Customer,
        UnitKind::Invoice,
        UnitKind::CreditNote,
        UnitKind::Payment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Customer => "customer",
            UnitKind::Invoice => "invoice",
            UnitKind::CreditNote => "credit_note",
            UnitKind::Payment => "payment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for UnitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a unit is in the exactly-once protocol.
///
/// `pending` → `sending` (committed before the request) → `done` (2xx, with
/// the remote id) or `rejected` (a definite 4xx). An ambiguous failure leaves
/// it `sending`: before any re-send it is looked up on the account. `skipped`:
/// the document was already on the account, not from this import, and
/// `--on-existing skip` left it alone. `rolled_back`: `runs rollback` voided
/// or deleted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitState {
    Pending,
    Sending,
    Done,
    Rejected,
    Skipped,
    RolledBack,
}

impl UnitState {
    pub const ALL: [UnitState; 6] = [
        UnitState::Pending,
        UnitState::Sending,
        UnitState::Done,
        UnitState::Rejected,
        UnitState::Skipped,
        UnitState::RolledBack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitState::Pending => "pending",
            UnitState::Sending => "sending",
            UnitState::Done => "done",
            UnitState::Rejected => "rejected",
            UnitState::Skipped => "skipped",
            UnitState::RolledBack => "rolled_back",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for UnitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A unit to claim for a run.
#[derive(Debug, Clone)]
pub struct NewUnit {
    pub kind: UnitKind,
    pub import_key: String,
    pub source_key: String,
    /// Where it came from, for people (`file.csv row 5, file.csv row 6`).
    pub source_rows: String,
    /// The document or customer number, when it has one.
    pub number: Option<String>,
    pub payload_hash: String,
}

/// One unit as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    pub id: i64,
    pub run_id: RunId,
    pub env: String,
    pub kind: UnitKind,
    pub import_key: String,
    pub source_key: String,
    pub source_rows: String,
    pub number: Option<String>,
    pub payload_hash: String,
    pub state: UnitState,
    pub remote_id: Option<i64>,
    /// Whether this import created the remote object (rather than finding it).
    pub created: bool,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub updated_at: i64,
    /// An updated document's (or customer's) version before the update, as
    /// the account returned it (JSON): what `runs rollback` restores.
    pub before_image: Option<String>,
    /// The update sent (JSON): the fields a rollback restores.
    pub patch: Option<String>,
    /// The object's `updated_at` after the update: a rollback restores
    /// only what nobody changed since.
    pub after_updated_at: Option<i64>,
}

impl Unit {
    /// Whether the unit changed an object that was there already (rather
    /// than creating one): it has a before image to restore.
    pub fn is_update(&self) -> bool {
        self.before_image.is_some()
    }
}

pub(super) const UNIT_COLUMNS: &str =
    "id, run_id, env, kind, import_key, source_key, source_rows, number, \
     payload_hash, state, remote_id, created, attempts, last_error, updated_at, before_image, \
     patch, after_updated_at";

pub(super) fn unit_from_row(r: &Row<'_>) -> rusqlite::Result<Unit> {
    let kind: String = r.get(3)?;
    let state: String = r.get(9)?;
    Ok(Unit {
        id: r.get(0)?,
        run_id: r.get(1)?,
        env: r.get(2)?,
        kind: UnitKind::parse(&kind).ok_or_else(|| corrupt(format!("unit kind {kind:?}")))?,
        import_key: r.get(4)?,
        source_key: r.get(5)?,
        source_rows: r.get(6)?,
        number: r.get(7)?,
        payload_hash: r.get(8)?,
        state: UnitState::parse(&state).ok_or_else(|| corrupt(format!("unit state {state:?}")))?,
        remote_id: r.get(10)?,
        created: r.get::<_, i64>(11)? != 0,
        attempts: r.get::<_, i64>(12)?.max(0) as u32,
        last_error: r.get(13)?,
        updated_at: r.get(14)?,
        before_image: r.get(15)?,
        patch: r.get(16)?,
        after_updated_at: r.get(17)?,
    })
}

impl Ledger {
    /// The unit with this import key in `env`, whatever run it belongs to.
    pub fn unit(&self, env: &str, import_key: &str) -> Result<Option<Unit>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {UNIT_COLUMNS} FROM units WHERE env = ?1 AND import_key = ?2"
        ))?;
        let unit = stmt
            .query_row(params![env, import_key], unit_from_row)
            .optional()?;
        Ok(unit)
    }

    pub fn unit_by_id(&self, id: i64) -> Result<Option<Unit>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                &format!("SELECT {UNIT_COLUMNS} FROM units WHERE id = ?1"),
                [id],
                unit_from_row,
            )
            .optional()?)
    }

    /// Insert a new unit, `pending`, for `run` (or return the one already
    /// recorded under its import key, untouched).
    pub fn insert_unit(&self, run: RunId, env: &str, unit: &NewUnit) -> Result<Unit> {
        let conn = self.conn();
        conn.prepare_cached(
            "INSERT INTO units (run_id, env, kind, import_key, source_key, source_rows, number,
                                payload_hash, state, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9)
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
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {UNIT_COLUMNS} FROM units WHERE env = ?1 AND import_key = ?2"
        ))?;
        let unit = stmt.query_row(params![env, unit.import_key], unit_from_row)?;
        Ok(unit)
    }

    /// Take over a unit recorded by an earlier run (its run never finished
    /// it, or rejected it, or it was rolled back): it now belongs to `run`,
    /// with this payload, its attempts counted afresh. The state is kept:
    /// a `sending` unit must still be looked up before any re-send.
    pub fn adopt_unit(&self, id: i64, run: RunId, unit: &NewUnit) -> Result<Unit> {
        let conn = self.conn();
        conn.execute(
            "UPDATE units SET run_id = ?2, source_key = ?3, source_rows = ?4, number = ?5,
                    payload_hash = ?6, attempts = 0, updated_at = ?7
             WHERE id = ?1",
            params![
                id,
                run,
                unit.source_key,
                unit.source_rows,
                unit.number,
                unit.payload_hash,
                now_ms()
            ],
        )?;
        conn.query_row(
            &format!("SELECT {UNIT_COLUMNS} FROM units WHERE id = ?1"),
            [id],
            unit_from_row,
        )
        .map_err(Into::into)
    }

    /// The intent: the unit is about to be sent. Committed before the
    /// request goes out. Returns the attempt number.
    pub fn mark_sending(&self, id: i64) -> Result<u32> {
        let conn = self.conn();
        conn.prepare_cached(
            "UPDATE units SET state = 'sending', attempts = attempts + 1, updated_at = ?2
             WHERE id = ?1",
        )?
        .execute(params![id, now_ms()])?;
        let n: i64 = conn
            .prepare_cached("SELECT attempts FROM units WHERE id = ?1")?
            .query_row([id], |r| r.get(0))?;
        Ok(n.max(0) as u32)
    }

    /// The outcome: on the account with `remote_id`; `created` when this
    /// import made it (rather than finding it there).
    pub fn mark_done(&self, id: i64, remote_id: i64, created: bool) -> Result<()> {
        self.set_state(id, UnitState::Done, Some(remote_id), Some(created), None)
    }

    /// The update about to be sent to an object already on the account
    /// (`remote_id`), with the object as it is (`before`, JSON) and the
    /// change (`patch`, JSON): committed before the request, so that a
    /// rollback can restore it whatever happens next.
    pub fn record_update(&self, id: i64, remote_id: i64, before: &str, patch: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE units SET remote_id = ?2, before_image = ?3, patch = ?4, created = 0,
                    updated_at = ?5
             WHERE id = ?1",
            params![id, remote_id, before, patch, now_ms()],
        )?;
        Ok(())
    }

    /// The update is on the account; the object's `updated_at` after it.
    pub fn mark_updated(&self, id: i64, after_updated_at: Option<i64>) -> Result<()> {
        self.conn().execute(
            "UPDATE units SET state = 'done', after_updated_at = ?2, last_error = NULL,
                    updated_at = ?3
             WHERE id = ?1",
            params![id, after_updated_at, now_ms()],
        )?;
        Ok(())
    }

    /// A definite refusal from the server (a 4xx other than 429).
    pub fn mark_rejected(&self, id: i64, error: &str) -> Result<()> {
        self.set_state(id, UnitState::Rejected, None, None, Some(error))
    }

    /// Left alone: the document was on the account already, not from this import.
    pub fn mark_skipped(&self, id: i64, remote_id: i64, reason: &str) -> Result<()> {
        self.set_state(
            id,
            UnitState::Skipped,
            Some(remote_id),
            Some(false),
            Some(reason),
        )
    }

    /// Voided or deleted by `runs rollback`.
    pub fn mark_rolled_back(&self, id: i64) -> Result<()> {
        self.set_state(id, UnitState::RolledBack, None, None, None)
    }

    /// An error that leaves the state as it is (an ambiguous failure of a
    /// `sending` unit).
    pub fn note_error(&self, id: i64, error: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE units SET last_error = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, error, now_ms()],
        )?;
        Ok(())
    }

    fn set_state(
        &self,
        id: i64,
        state: UnitState,
        remote_id: Option<i64>,
        created: Option<bool>,
        error: Option<&str>,
    ) -> Result<()> {
        self.conn()
            .prepare_cached(
                "UPDATE units SET state = ?2, remote_id = COALESCE(?3, remote_id),
                    created = COALESCE(?4, created), last_error = ?5, updated_at = ?6
             WHERE id = ?1",
            )?
            .execute(params![
                id,
                state.as_str(),
                remote_id,
                created,
                error,
                now_ms()
            ])?;
        Ok(())
    }

    /// Whether `env` has any unit recorded, in any run and state.
    pub fn has_units(&self, env: &str) -> Result<bool> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT 1 FROM units WHERE env = ?1 LIMIT 1")?;
        Ok(stmt.exists([env])?)
    }

    /// The units of a run, in the order they were first recorded.
    pub fn units_of_run(&self, run: RunId) -> Result<Vec<Unit>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {UNIT_COLUMNS} FROM units WHERE run_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([run], unit_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many units of a run are in each (kind, state).
    pub fn unit_counts(&self, run: RunId) -> Result<BTreeMap<(UnitKind, UnitState), u64>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT kind, state, count(*) FROM units WHERE run_id = ?1 GROUP BY kind, state",
        )?;
        let mut out = BTreeMap::new();
        let rows = stmt.query_map([run], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (kind, state, n) = row?;
            let kind = UnitKind::parse(&kind)
                .ok_or_else(|| LedgerError::Corrupt(format!("unit kind {kind:?}")))?;
            let state = UnitState::parse(&state)
                .ok_or_else(|| LedgerError::Corrupt(format!("unit state {state:?}")))?;
            out.insert((kind, state), n.max(0) as u64);
        }
        Ok(out)
    }
}
