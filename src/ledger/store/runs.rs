//! Runs: one row per import run (a `--resume` reopens it), with its
//! environment, mapping, input files and their hashes, options, status,
//! counts and the error that stopped it.

use super::{corrupt, now_ms, to_json, Ledger, LedgerError, Result};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// A run's id, as users type it (`runs show 3`).
pub type RunId = i64;

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

const RUN_COLUMNS: &str = "id, env, started_at, ended_at, mapping_path, mapping_identity, inputs, \
     options, status, counts, error, rolled_back_at";

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

impl Ledger {
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
}
