//! The ledger: a SQLite file (WAL) in the data dir that records import runs,
//! one row per unit (customer, invoice, credit note, payment) with its import
//! key, state and remote id, and the export bookmarks.
//!
//! The uploader writes a unit's intent (`sending`) before its request and the
//! outcome after the reply, so that after a crash at any moment `--resume`
//! knows what to look up before sending anything again.

pub mod migrations;
pub mod store;

pub use store::{
    now_ms, Bookmark, GroupWriter, InputFile, Ledger, LedgerError, NewRun, NewUnit, Run, RunCounts,
    RunId, RunStatus, Unit, UnitKind, UnitState,
};
