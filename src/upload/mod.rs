//! The uploader: rate-limited, resumable, exactly-once submission of valid
//! documents, following the protocol of DESIGN.md with the [`crate::ledger`].
//!
//! - [`keys`]: import keys, payload hashes, idempotency keys.
//! - [`protocol`]: the protocol's decisions as pure functions.
//! - [`remote`]: what the engine needs from the account.
//! - [`engine`]: the async workers that follow the protocol.

pub mod keys;
pub mod protocol;
pub mod client_remote;
pub mod engine;
pub mod remote;
pub mod rollback;

pub use engine::{CountsSnapshot, Engine, EngineConfig, OnExisting, Stop};
pub use remote::{FailKind, Found, Remote, RemoteError};

#[cfg(test)]
mod model_test;
