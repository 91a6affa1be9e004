//! The uploader: rate-limited, resumable, exactly-once submission of valid
//! documents, following the protocol of DESIGN.md with the [`crate::ledger`].
//!
//! - [`keys`]: import keys, payload hashes, idempotency keys.
//! - [`protocol`]: the protocol's decisions as pure functions.

pub mod keys;
pub mod protocol;
