//! The uploader: rate-limited, resumable, exactly-once submission of valid
//! documents, following the protocol of DESIGN.md with the [`crate::ledger`].
//!
//! - [`keys`]: import keys, payload hashes, idempotency keys.
//! - [`protocol`]: the protocol's decisions as pure functions.
//! - [`remote`]: what the engine needs from the account; [`client_remote`]
//!   implements it over the HTTP client.
//! - [`engine`]: the async workers that follow the protocol.
//! - [`import`]: the whole `import` (run, pipeline thread, engine, summary).
//! - [`rollback`]: `runs rollback`.
//! - [`report`]: `runs list` and `runs show`.

pub mod client_remote;
pub mod engine;
pub mod import;
pub mod keys;
pub mod protocol;
pub mod remote;
pub mod report;
pub mod rollback;

pub use engine::{CountsSnapshot, Engine, EngineConfig, OnExisting, Stop};
pub use import::{import, ImportError, ImportOptions, ImportOutcome, Resume};
pub use remote::{FailKind, Found, Remote, RemoteError};
pub use rollback::{rollback, RollbackError, RollbackReport};

#[cfg(test)]
mod model_test;
