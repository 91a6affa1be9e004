//! Export bookmarks: per name, the highest `updated_at` an incremental
//! export saw and the ids seen at that second, saved here so the next export
//! asks only for what changed (the logic is
//! [`crate::export::bookmark`]; this file only stores it).

use super::{now_ms, to_json, Ledger, LedgerError, Result};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

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

impl Ledger {
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
}
