//! facturare-etl: move invoices into and out of facturare.md (e-Cont.md).
//!
//! The data flows one way; each arrow is a module, each noun a type:
//!
//! ```text
//! read ─▶ mapping ─▶ validate ─▶ upload ─▶ api ─▶ emulator | remote
//! (sync: iterators + rayon)   │ (async: tokio, behind a bounded channel)
//!                               └─ ledger: intent before send, outcome after reply
//! api (paged lists) ─▶ export ─▶ CSV | XLSX | JSONL
//!
//! cli ─▶ ops (one function per job) ─▶ the stages above
//! ```
//!
//! The jobs:
//! - [`ops`]: import, dry run, preflight, rollback, verify (a run's source
//!   reconciled with the account), export, and connecting (the embedded
//!   emulator for `local`): plain options and
//!   [`config::Settings`] in, an outcome with an [`error::Ending`] or an
//!   error with an [`error::ErrorKind`] out, progress through a
//!   [`progress::Reporter`].
//!   A file written by `export` comes back with no mapping (a round trip:
//!   [`mapping::roundtrip`] recognises it, [`upload::diff`] compares it with
//!   the account, only what changed is sent, `runs rollback` restores it).
//! - [`cli`]: clap definitions, the settings request built once, thin
//!   commands, the indicatif reporter, exit codes. Nothing else knows
//!   about the command line.
//!
//! The stages:
//! - [`read`]: streaming readers (CSV, XLSX/XLS/ODS, JSON); each yields a
//!   [`read::SourceRow`] that carries its address (file, sheet, row).
//! - [`mapping`]: the declarative mapping file: spec → compiled plan → apply
//!   per row, grouping rows into [`model::Draft`] invoices.
//! - [`validate`]: every rule over every draft, in parallel; the only place
//!   that builds a [`validate::Valid`] invoice, and the
//!   [`validate::Verdict`] that reports read.
//! - [`upload`]: rate-limited, resumable, exactly-once submission of
//!   [`validate::Valid`] documents only.
//! - [`ledger`]: SQLite record of runs, units and export bookmarks.
//! - [`api`]: the HTTP client (auth, errors, pagination, limits, retries).
//! - [`export`]: paged lists flattened to XLSX, CSV or JSON Lines.
//! - [`report`]: rejects reports, errors lists, run summaries, run views,
//!   the reconciliation workbook of `runs verify`.
//! - [`emulator`]: the local facturare.md, used by tests and `--env local`.
//!
//! Shared:
//! - [`config`]: environments, profiles, key and token sources.
//! - [`model`]: the API's objects with decimal money and real dates, and
//!   the API's fields of each resource, named once ([`model::fields`]).
//! - [`progress`], [`error`]: how jobs report, and how they end.
//! - [`suggest`]: "did you mean"; [`fs`]: file operations that name the path;
//!   [`crash`]: what was being worked on when a bug struck.

pub mod alloc;
pub mod api;
mod binary;
pub mod cli;
pub mod config;
pub mod crash;
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
