//! The ledger's store: one SQLite file (WAL) holding runs, units and export
//! bookmarks. Every write is committed before the call returns (or, through
//! [`GroupWriter`], before its future resolves), so the uploader can record an intent (`sending`) before a
//! request and the outcome after the reply, and a crash at any moment leaves
//! a state it can resume from.
//!
//! This file owns the connection: [`Ledger::open`] (WAL, pragmas, the
//! schema brought up to date by [`migrations`]), the lock every call takes,
//! the errors, and the small helpers the tables share. Each table's types
//! and queries live beside it:
//!
//! - `runs.rs`: [`Run`], [`NewRun`], [`RunStatus`], [`RunCounts`], and
//!   starting, reopening, ending and listing runs.
//! - `units.rs`: [`Unit`], [`NewUnit`], [`UnitKind`], [`UnitState`], and the
//!   protocol's writes: claiming a unit, its intent (`sending`) and its
//!   outcome (`done`, `rejected`, `skipped`, `rolled_back`).
//! - `group.rs`: [`GroupWriter`], the uploader's hot writes (intents,
//!   outcomes) grouped into one transaction by a writer thread; an intent
//!   still resolves only once committed.
//! - `bookmarks.rs`: [`Bookmark`], the export bookmarks.

mod bookmarks;
mod group;
mod runs;
mod units;

pub use bookmarks::Bookmark;
pub use group::GroupWriter;
pub use runs::{InputFile, NewRun, Run, RunCounts, RunId, RunStatus};
pub use units::{NewUnit, Unit, UnitKind, UnitState};

use super::migrations::{self, MigrateError};
use rusqlite::Connection;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

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

fn corrupt(what: impl Into<String>) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        Box::new(LedgerError::Corrupt(what.into())),
    )
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
}

#[cfg(test)]
mod tests;
