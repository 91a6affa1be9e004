//! facturare-etl: move invoices into and out of facturare.md (e-Cont.md).
//!
//! The data flows one way; each arrow is a module, each noun a type:
//!
//! ```text
//! read ─▶ mapping ─▶ validate ─▶ upload ─▶ api ─▶ emulator | remote
//! (sync: iterators + rayon)   │ (async: tokio, behind a bounded channel)
//!                               └─ ledger: intent before send, outcome after reply
//! api (paged lists) ─▶ export ─▶ CSV | XLSX | JSONL
//! ```
//!
//! - [`read`]: streaming readers (CSV, XLSX/XLS/ODS, JSON); each yields a
//!   [`read::SourceRow`] that carries its address (file, sheet, row).
//! - [`mapping`]: the declarative mapping file: spec → compiled plan → apply
//!   per row, grouping rows into [`model::Draft`] invoices.
//! - [`validate`]: every rule over every draft, in parallel; the only place
//!   that builds a [`validate::Valid`] invoice.
//! - [`upload`]: rate-limited, resumable, exactly-once submission.
//! - [`ledger`]: SQLite record of runs, units and export bookmarks.
//! - [`api`]: the HTTP client (auth, errors, pagination, limits, retries).
//! - [`export`]: paged lists flattened to XLSX, CSV or JSON Lines.
//! - [`report`]: rejects reports and run summaries.
//! - [`emulator`]: the local facturare.md, used by tests and `--env local`.
//! - [`config`]: environments, profiles, key and token sources.
//! - [`model`]: the API's objects with decimal money and real dates.
//! - [`cli`]: argument parsing and the thin commands.

pub mod api;
pub mod cli;
pub mod config;
pub mod emulator;
pub mod error;
pub mod export;
pub mod fs;
pub mod ledger;
pub mod mapping;
pub mod model;
pub mod ops;
pub mod progress;
pub mod read;
pub mod report;
pub mod suggest;
pub mod upload;
pub mod validate;
