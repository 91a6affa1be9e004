//! Schema migrations, applied in order by `PRAGMA user_version`.
//!
//! A released migration is never edited: a change to the schema is a new
//! entry at the end of [`MIGRATIONS`]. Each runs in its own transaction
//! together with the bump of `user_version`, so a crash leaves the ledger at
//! the previous version or the next, never between.

use rusqlite::Connection;

/// Every migration, in order; entry `i` takes the schema from version `i`
/// to version `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: runs, units, bookmarks.
    r#"
    CREATE TABLE runs (
        id               INTEGER PRIMARY KEY,
        env              TEXT    NOT NULL,
        started_at       INTEGER NOT NULL,
        ended_at         INTEGER,
        mapping_path     TEXT    NOT NULL,
        mapping_identity TEXT    NOT NULL,
        inputs           TEXT    NOT NULL,
        options          TEXT    NOT NULL DEFAULT '{}',
        status           TEXT    NOT NULL
            CHECK (status IN ('running', 'finished', 'interrupted', 'failed')),
        counts           TEXT    NOT NULL DEFAULT '{}',
        error            TEXT,
        rolled_back_at   INTEGER
    );

    CREATE TABLE units (
        id           INTEGER PRIMARY KEY,
        run_id       INTEGER NOT NULL REFERENCES runs (id),
        env          TEXT    NOT NULL,
        kind         TEXT    NOT NULL
            CHECK (kind IN ('invoice', 'customer', 'payment', 'credit_note')),
        import_key   TEXT    NOT NULL,
        source_key   TEXT    NOT NULL,
        source_rows  TEXT    NOT NULL,
        number       TEXT,
        payload_hash TEXT    NOT NULL,
        state        TEXT    NOT NULL
            CHECK (state IN ('pending', 'sending', 'done', 'rejected', 'skipped', 'rolled_back')),
        remote_id    INTEGER,
        created      INTEGER NOT NULL DEFAULT 0,
        attempts     INTEGER NOT NULL DEFAULT 0,
        last_error   TEXT,
        updated_at   INTEGER NOT NULL,
        UNIQUE (env, import_key)
    );
    CREATE INDEX units_by_run ON units (run_id, kind, state);

    CREATE TABLE bookmarks (
        name       TEXT    PRIMARY KEY,
        updated_at INTEGER NOT NULL,
        ids        TEXT    NOT NULL DEFAULT '[]',
        saved_at   INTEGER NOT NULL
    );
    "#,
    // 2: an updated document's previous version, for `runs rollback`.
    r#"
    ALTER TABLE units ADD COLUMN before_image TEXT;
    ALTER TABLE units ADD COLUMN patch TEXT;
    ALTER TABLE units ADD COLUMN after_updated_at INTEGER;
    "#,
];

/// The schema version this build writes.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

/// Bring the schema up to [`LATEST`]; refuse a ledger written by a newer build.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > LATEST {
        return Err(MigrateError::TooNew {
            found: current,
            known: LATEST,
        });
    }
    for (idx, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (idx + 1) as u32)?;
        tx.commit()?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("the ledger has schema version {found}, newer than this build knows ({known}); upgrade facturare-etl")]
    TooNew { found: u32, known: u32 },
    #[error("a schema migration failed")]
    Sql(#[from] rusqlite::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_from_empty_and_is_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, LATEST);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM units", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn a_version_1_ledger_keeps_its_units_and_gains_before_images() {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(MIGRATIONS[0]).unwrap();
        tx.pragma_update(None, "user_version", 1).unwrap();
        tx.execute_batch(
            "INSERT INTO runs (env, started_at, mapping_path, mapping_identity, inputs, status)
                 VALUES ('local', 1, 'm.toml', 'i', '[]', 'finished');
             INSERT INTO units (run_id, env, kind, import_key, source_key, source_rows,
                 payload_hash, state, remote_id, created, updated_at)
                 VALUES (1, 'local', 'invoice', 'k', 's', 'r', 'h', 'done', 7, 1, 1);",
        )
        .unwrap();
        tx.commit().unwrap();
        migrate(&mut conn).unwrap();
        let (remote, before): (i64, Option<String>) = conn
            .query_row("SELECT remote_id, before_image FROM units", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((remote, before), (7, None));
    }

    #[test]
    fn refuses_a_newer_ledger() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(err.to_string().contains("newer"), "{err}");
    }
}
