//! The jobs: one function per thing a person asks for, driving the stages
//! (`read` → `mapping` → `validate` → `upload`, `api` → `export`) and the
//! ledger. Each takes resolved [`Settings`](crate::config::Settings) and a
//! plain options struct, reports through a [`Reporter`], and returns a
//! domain outcome (with an [`Ending`](crate::error::Ending)) or a domain
//! error (with a [`kind()`](crate::error::ErrorKind)). Nothing here knows
//! about the command line: `cli` turns endings and kinds into exit codes.
//!
//! - [`connect`]: the client, or the embedded emulator and a client for it.
//! - [`pipeline`]: read → map → validate → reports, the one loop of the dry
//!   run and the import.
//! - [`dry_run`](mod@dry_run): `validate` and `import --dry-run`; for a round trip,
//!   [`changes`]: what the import will change on the account.
//! - [`preflight`]: what the account has (tax rates, customers), read-only;
//!   the standard tax rates an import creates.
//! - [`import`]: the whole import: the run, the pipeline thread, the
//!   upload engine, the summary.
//! - [`rollback`]: the `runs rollback` command.
//! - [`mod@verify`]: `runs verify` (and `import --verify`): the run's source
//!   reconciled with the account, per document and in control totals.
//! - [`export`]: the `export` command.

pub mod changes;
pub mod connect;
pub mod dry_run;
pub mod export;
pub mod import;
pub mod pipeline;
pub mod preflight;
pub mod rollback;
pub mod verify;

pub use crate::progress::{NoProgress, Progress, Reporter, Silent};
pub use connect::{connect, runtime, ConnectError, ConnectOptions, Connection};
pub use dry_run::{dry_run, DryRun, DryRunError, DryRunOptions, DryRunOutcome};
pub use export::{export, ExportJobError};
pub use import::{import, ImportError, ImportOptions, ImportOutcome, Resume};
pub use pipeline::{rules_for, BatchError};
pub use preflight::{Preflight, PreflightError};
pub use rollback::{rollback, RollbackError, RollbackOptions};
pub use verify::{verify, Reconciliation, VerifyError, VerifyOptions};
