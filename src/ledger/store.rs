//! The ledger's store: one SQLite file (WAL) holding runs, units and export
//! bookmarks. Every write is its own short transaction, committed before the
//! call returns, so the uploader can record an intent (`sending`) before a
//! request and the outcome after the reply, and a crash at any moment leaves
//! a state it can resume from.

use super::migrations::{self, MigrateError};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// A run's id, as users type it (`runs show 3`).
pub type RunId = i64;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("failed to open the ledger {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("failed to prepare the ledger {}", path.display())]
    Migrate {
        path: PathBuf,
        #[source]
        source: MigrateError,
    },
    #[error("failed to create the ledger's directory")]
    Dir(#[from] crate::fs::FsError),
    #[error("ledger query failed")]
    Sql(#[from] rusqlite::Error),
    #[error("the ledger holds a value it cannot read: {0}")]
    Corrupt(String),
    #[error("no run {0} in the ledger")]
    NoSuchRun(RunId),
}

pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

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

/// A run's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Finished,
    Interrupted,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            RunStatus::Running,
            RunStatus::Finished,
            RunStatus::Interrupted,
            RunStatus::Failed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An input file of a run and its SHA-256, to notice a file changed before `--resume`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    pub path: String,
    pub sha256: String,
}

/// Run-level counts that units alone do not tell (documents read, rejected
/// by validation, already imported by an earlier run, changed since).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunCounts {
    /// Documents mapped from the input.
    pub documents: u64,
    /// Documents rejected by validation (never sent).
    pub invalid: u64,
    /// Documents an earlier run already imported, unchanged.
    pub already_imported: u64,
    /// Documents an earlier run imported whose payload differs now (not re-sent).
    pub changed: u64,
    /// 429 replies seen by the client during the run.
    pub rate_limited: u64,
}

/// A new run's description.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NewRun {
    pub env: String,
    pub mapping_path: String,
    pub mapping_identity: String,
    pub inputs: Vec<InputFile>,
    /// The options it ran with (concurrency, rate, on-existing, rejects path), as JSON.
    pub options: serde_json::Value,
}

/// A run as the ledger records it. Times are Unix milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub id: RunId,
    pub env: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub mapping_path: String,
    pub mapping_identity: String,
    pub inputs: Vec<InputFile>,
    pub options: serde_json::Value,
    pub status: RunStatus,
    pub counts: RunCounts,
    pub error: Option<String>,
    pub rolled_back_at: Option<i64>,
}

impl Run {
    /// Wall time of the run so far (or in all, when ended).
    pub fn duration(&self) -> Duration {
        let end = self.ended_at.unwrap_or_else(now_ms);
        Duration::from_millis(end.saturating_sub(self.started_at).max(0) as u64)
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
}

/// An export bookmark: the highest `updated_at` seen, and the ids seen at
/// exactly that second (to drop repeats when asking `updated_after = bookmark - 1`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bookmark {
    pub updated_at: i64,
    #[serde(default)]
    pub ids: Vec<i64>,
    /// When it was saved (Unix milliseconds); set by [`Ledger::set_bookmark`].
    #[serde(default)]
    pub saved_at: i64,
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The ledger: a SQLite file in WAL mode, safe to share between threads and
/// tasks (`Arc<Ledger>`); each call holds the connection for one short
/// transaction.
#[derive(Debug)]
pub struct Ledger {
    conn: Mutex<Connection>,
    path: PathBuf,
}

const UNIT_COLUMNS: &str = "id, run_id, env, kind, import_key, source_key, source_rows, number, \
     payload_hash, state, remote_id, created, attempts, last_error, updated_at";

const RUN_COLUMNS: &str = "id, env, started_at, ended_at, mapping_path, mapping_identity, inputs, \
     options, status, counts, error, rolled_back_at";

fn corrupt(what: impl Into<String>) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        Box::new(LedgerError::Corrupt(what.into())),
    )
}

fn unit_from_row(r: &Row<'_>) -> rusqlite::Result<Unit> {
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
    })
}

fn run_from_row(r: &Row<'_>) -> rusqlite::Result<Run> {
    let inputs: String = r.get(6)?;
    let options: String = r.get(7)?;
    let status: String = r.get(8)?;
    let counts: String = r.get(9)?;
    Ok(Run {
        id: r.get(0)?,
        env: r.get(1)?,
        started_at: r.get(2)?,
        ended_at: r.get(3)?,
        mapping_path: r.get(4)?,
        mapping_identity: r.get(5)?,
        inputs: serde_json::from_str(&inputs).map_err(|e| corrupt(format!("run inputs: {e}")))?,
        options: serde_json::from_str(&options)
            .map_err(|e| corrupt(format!("run options: {e}")))?,
        status: RunStatus::parse(&status)
            .ok_or_else(|| corrupt(format!("run status {status:?}")))?,
        counts: serde_json::from_str(&counts).map_err(|e| corrupt(format!("run counts: {e}")))?,
        error: r.get(10)?,
        rolled_back_at: r.get(11)?,
    })
}

fn to_json(v: &impl Serialize) -> String {
    // Serializing plain structs of strings and integers cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

impl Ledger {
    /// Open (creating when missing) the ledger at `path`, in WAL mode, and
    /// bring its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Ledger> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::fs::create_dir_all(dir)?;
        }
        let open_err = |source| LedgerError::Open {
            path: path.clone(),
            source,
        };
        let mut conn = Connection::open(&path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(open_err)?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
            .map_err(open_err)?;
        // NORMAL in WAL mode: every commit survives a crash of the process
        // (kill -9); only a power loss can take the last commits back.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open_err)?;
        migrations::migrate(&mut conn).map_err(|source| LedgerError::Migrate {
            path: path.clone(),
            source,
        })?;
        Ok(Ledger {
            conn: Mutex::new(conn),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done transaction
        // (rusqlite rolls back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    // ---- bookmarks -------------------------------------------------------

    /// The bookmark saved under `name`, if any.
    pub fn bookmark(&self, name: &str) -> Result<Option<Bookmark>> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT updated_at, ids, saved_at FROM bookmarks WHERE name = ?1",
                [name],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                },
            )
            .optional()?;
        match row {
            None => Ok(None),
            Some((updated_at, ids, saved_at)) => {
                let ids = serde_json::from_str(&ids)
                    .map_err(|e| LedgerError::Corrupt(format!("bookmark {name:?} ids: {e}")))?;
                Ok(Some(Bookmark {
                    updated_at,
                    ids,
                    saved_at,
                }))
            }
        }
    }

    /// Save (replace) the bookmark `name`; `saved_at` is set to now.
    pub fn set_bookmark(&self, name: &str, bookmark: &Bookmark) -> Result<()> {
        self.conn().execute(
            "INSERT INTO bookmarks (name, updated_at, ids, saved_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET updated_at = ?2, ids = ?3, saved_at = ?4",
            params![name, bookmark.updated_at, to_json(&bookmark.ids), now_ms()],
        )?;
        Ok(())
    }

    /// Forget the bookmark `name` (the next export starts from the beginning).
    pub fn clear_bookmark(&self, name: &str) -> Result<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM bookmarks WHERE name = ?1", [name])?
            > 0)
    }

    // ---- runs ------------------------------------------------------------

    /// Record a new run, `running`, and return its id.
    pub fn start_run(&self, run: &NewRun) -> Result<RunId> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO runs (env, started_at, mapping_path, mapping_identity, inputs, options, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running')",
            params![
                run.env,
                now_ms(),
                run.mapping_path,
                run.mapping_identity,
                to_json(&run.inputs),
                to_json(&run.options),
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Mark a run `running` again (for `--resume`).
    pub fn reopen_run(&self, id: RunId) -> Result<()> {
        let n = self.conn().execute(
            "UPDATE runs SET status = 'running', ended_at = NULL, error = NULL WHERE id = ?1",
            [id],
        )?;
        if n == 0 {
            return Err(LedgerError::NoSuchRun(id));
        }
        Ok(())
    }

    /// End a run with its status, counts and the error that stopped it, if any.
    pub fn end_run(
        &self,
        id: RunId,
        status: RunStatus,
        counts: &RunCounts,
        error: Option<&str>,
    ) -> Result<()> {
        let n = self.conn().execute(
            "UPDATE runs SET status = ?2, counts = ?3, error = ?4, ended_at = ?5 WHERE id = ?1",
            params![id, status.as_str(), to_json(counts), error, now_ms()],
        )?;
        if n == 0 {
            return Err(LedgerError::NoSuchRun(id));
        }
        Ok(())
    }

    /// Note that a rollback of the run completed.
    pub fn set_rolled_back(&self, id: RunId) -> Result<()> {
        self.conn().execute(
            "UPDATE runs SET rolled_back_at = ?2 WHERE id = ?1",
            params![id, now_ms()],
        )?;
        Ok(())
    }

    pub fn run(&self, id: RunId) -> Result<Option<Run>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1"),
                [id],
                run_from_row,
            )
            .optional()?)
    }

    /// Every run, newest first.
    pub fn runs(&self) -> Result<Vec<Run>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC"))?;
        let rows = stmt.query_map([], run_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Runs against `env` that did not finish (running when killed,
    /// interrupted, or failed), newest first.
    pub fn unfinished_runs(&self, env: &str) -> Result<Vec<Run>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE env = ?1 AND status != 'finished'
             AND rolled_back_at IS NULL ORDER BY id DESC"
        ))?;
        let rows = stmt.query_map([env], run_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // ---- units -----------------------------------------------------------

    /// The unit with this import key in `env`, whatever run it belongs to.
    pub fn unit(&self, env: &str, import_key: &str) -> Result<Option<Unit>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                &format!("SELECT {UNIT_COLUMNS} FROM units WHERE env = ?1 AND import_key = ?2"),
                params![env, import_key],
                unit_from_row,
            )
            .optional()?)
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
        conn.execute(
            "INSERT INTO units (run_id, env, kind, import_key, source_key, source_rows, number,
                                payload_hash, state, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9)
             ON CONFLICT (env, import_key) DO NOTHING",
            params![
                run,
                env,
                unit.kind.as_str(),
                unit.import_key,
                unit.source_key,
                unit.source_rows,
                unit.number,
                unit.payload_hash,
                now_ms()
            ],
        )?;
        conn.query_row(
            &format!("SELECT {UNIT_COLUMNS} FROM units WHERE env = ?1 AND import_key = ?2"),
            params![env, unit.import_key],
            unit_from_row,
        )
        .map_err(Into::into)
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
        conn.execute(
            "UPDATE units SET state = 'sending', attempts = attempts + 1, updated_at = ?2
             WHERE id = ?1",
            params![id, now_ms()],
        )?;
        let n: i64 = conn.query_row("SELECT attempts FROM units WHERE id = ?1", [id], |r| {
            r.get(0)
        })?;
        Ok(n.max(0) as u32)
    }

    /// The outcome: on the account with `remote_id`; `created` when this
    /// import made it (rather than finding it there).
    pub fn mark_done(&self, id: i64, remote_id: i64, created: bool) -> Result<()> {
        self.set_state(id, UnitState::Done, Some(remote_id), Some(created), None)
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
        self.conn().execute(
            "UPDATE units SET state = ?2, remote_id = COALESCE(?3, remote_id),
                    created = COALESCE(?4, created), last_error = ?5, updated_at = ?6
             WHERE id = ?1",
            params![id, state.as_str(), remote_id, created, error, now_ms()],
        )?;
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn new_unit(key: &str) -> NewUnit {
        NewUnit {
            kind: UnitKind::Invoice,
            import_key: key.into(),
            source_key: format!("src-{key}"),
            source_rows: "a.csv row 2".into(),
            number: Some(format!("N-{key}")),
            payload_hash: "h1".into(),
        }
    }

    fn ledger() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(dir.path().join("sub/ledger.db")).unwrap();
        (dir, l)
    }

    #[test]
    fn bookmarks_round_trip() {
        let (_d, l) = ledger();
        assert_eq!(l.bookmark("invoices").unwrap(), None);
        let b = Bookmark {
            updated_at: 1_700_000_000,
            ids: vec![3, 4],
            saved_at: 0,
        };
        l.set_bookmark("invoices", &b).unwrap();
        let got = l.bookmark("invoices").unwrap().unwrap();
        assert_eq!(got.updated_at, 1_700_000_000);
        assert_eq!(got.ids, vec![3, 4]);
        assert!(got.saved_at > 0);
        l.set_bookmark(
            "invoices",
            &Bookmark {
                updated_at: 5,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(l.bookmark("invoices").unwrap().unwrap().updated_at, 5);
        assert!(l.clear_bookmark("invoices").unwrap());
        assert_eq!(l.bookmark("invoices").unwrap(), None);
    }

    #[test]
    fn unit_lifecycle_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let run;
        let uid;
        {
            let l = Ledger::open(&path).unwrap();
            run = l
                .start_run(&NewRun {
                    env: "local".into(),
                    mapping_path: "m.toml".into(),
                    mapping_identity: "id".into(),
                    inputs: vec![InputFile {
                        path: "a.csv".into(),
                        sha256: "00".into(),
                    }],
                    options: serde_json::json!({"concurrency": 8}),
                })
                .unwrap();
            let u = l.insert_unit(run, "local", &new_unit("k1")).unwrap();
            assert_eq!(u.state, UnitState::Pending);
            uid = u.id;
            assert_eq!(l.mark_sending(uid).unwrap(), 1);
            assert_eq!(l.mark_sending(uid).unwrap(), 2);
        }
        let l = Ledger::open(&path).unwrap();
        let u = l.unit("local", "k1").unwrap().unwrap();
        assert_eq!(u.state, UnitState::Sending);
        assert_eq!(u.attempts, 2);
        l.mark_done(uid, 77, true).unwrap();
        let u = l.unit_by_id(uid).unwrap().unwrap();
        assert_eq!(
            (u.state, u.remote_id, u.created),
            (UnitState::Done, Some(77), true)
        );
        assert_eq!(l.unit("sandbox", "k1").unwrap(), None);
        let counts = l.unit_counts(run).unwrap();
        assert_eq!(counts[&(UnitKind::Invoice, UnitState::Done)], 1);
        let r = l.run(run).unwrap().unwrap();
        assert_eq!(r.status, RunStatus::Running);
        assert_eq!(r.inputs[0].path, "a.csv");
        assert_eq!(l.unfinished_runs("local").unwrap().len(), 1);
        l.end_run(run, RunStatus::Finished, &RunCounts::default(), None)
            .unwrap();
        assert!(l.unfinished_runs("local").unwrap().is_empty());
        assert!(l.run(run).unwrap().unwrap().ended_at.is_some());
    }

    #[test]
    fn insert_is_unique_per_environment_and_adopt_moves_the_unit() {
        let (_d, l) = ledger();
        let r1 = l.start_run(&NewRun::default()).unwrap();
        let r2 = l.start_run(&NewRun::default()).unwrap();
        let a = l.insert_unit(r1, "local", &new_unit("k")).unwrap();
        l.mark_sending(a.id).unwrap();
        let again = l.insert_unit(r2, "local", &new_unit("k")).unwrap();
        assert_eq!(again.id, a.id);
        assert_eq!(again.run_id, r1);
        assert_eq!(again.state, UnitState::Sending);
        let other_env = l.insert_unit(r2, "sandbox", &new_unit("k")).unwrap();
        assert_ne!(other_env.id, a.id);
        let moved = l.adopt_unit(a.id, r2, &new_unit("k")).unwrap();
        assert_eq!(
            (moved.run_id, moved.state, moved.attempts),
            (r2, UnitState::Sending, 0)
        );
        l.mark_rejected(a.id, "400 invalid_request: number")
            .unwrap();
        let u = l.unit_by_id(a.id).unwrap().unwrap();
        assert_eq!(u.last_error.as_deref(), Some("400 invalid_request: number"));
        assert_eq!(l.units_of_run(r2).unwrap().len(), 2);
    }
}
