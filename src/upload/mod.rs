//! The uploader: rate-limited, resumable, exactly-once submission of valid
//! documents, following the protocol of DESIGN.md with the [`crate::ledger`].
//!
//! - [`diff`]: a document compared with the account's version: what differs,
//!   the PATCH, conflicts, what a rollback sends back.
//! - [`keys`]: import keys, payload hashes, idempotency keys.
//! - [`protocol`]: the protocol's decisions as pure functions.
//! - [`remote`]: what the engine needs from the account; [`client_remote`]
//!   implements it over the HTTP client.
//! - [`engine`]: the async workers that follow the protocol.
//! - [`mod@undo`]: undoing what a run created, as the ledger records it.
//!
//! The whole import (the run, the pipeline thread, the engine, the
//! summary) is [`mod@crate::ops::import`]; `runs rollback` is
//! [`mod@crate::ops::rollback`].

pub mod client_remote;
pub mod diff;
pub mod engine;
pub mod keys;
pub mod protocol;
pub mod remote;
pub mod undo;

pub use engine::{CountsSnapshot, Engine, EngineConfig, OnExisting, Stop};
pub use remote::{CustomerPage, FailKind, Found, Listed, Remote, RemoteError};
pub use undo::{undo, RollbackReport, UndoError};

#[cfg(test)]
mod model_test;
