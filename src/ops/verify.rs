//! `runs verify [RUN]` (and `import --verify`): prove that the account
//! holds what the source holds. The run's input files are read again
//! through its mapping exactly as the import read them (a file or mapping
//! changed since is an error unless `--allow-changed`); every document the
//! import created, adopted, updated or skipped is read back from the API by
//! its id (the ledger has it, under the document's import key), with its
//! customer, within the client's rate limit; each is compared field by
//! field, and the control totals (per kind and currency, per month, per
//! customer) are added up on both sides.
//!
//! Identical ([`Ending::Ok`](crate::error::Ending), exit 0), or differences
//! found ([`Ending::Rejected`](crate::error::Ending), exit 1). An account that cannot be read
//! completely is an error ([`ErrorKind::Api`], exit 4): never a verdict on
//! partial data.
//!
//! The parts:
//! - `source.rs`: the inputs and mapping checked, the two passes;
//! - `account.rs`: the reads (tax rates, documents with their customers);
//! - `check.rs`: one document through the ledger to the account and back;
//! - `compare.rs`: one document, source against account, field by field;
//! - `totals.rs`: the control totals;
//! - `outcome.rs`: what was found ([`Reconciliation`]), for reports.

mod account;
mod check;
mod compare;
mod outcome;
mod source;
mod totals;

pub use outcome::{
    Counts, Difference, DocStatus, DocumentCheck, Figures, InputCheck, Party, Reconciliation, Shown,
};
pub use totals::{ControlTotals, Delta, Sums, TotalsRow, NO_DATE};

use super::connect::{connect, runtime, ConnectError, ConnectOptions};
use super::pipeline::{rules_for, Batch, BatchError};
use crate::api::ApiError;
use crate::config::Settings;
use crate::error::ErrorKind;
use crate::ledger::{Ledger, LedgerError, Run, RunId};
use crate::mapping::MappingError;
use crate::model::date::TZ;
use crate::progress::{NoProgress, Reporter};
use account::Customers;
use check::{Checked, Checker};
use source::SourceDoc;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use totals::{Side, TotalsBuilder};

/// What `runs verify` is asked to do.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The run; `None`: the newest against this environment.
    pub run: Option<RunId>,
    /// Compare input files (and a mapping) that changed since the run.
    pub allow_changed: bool,
    /// Reads in flight.
    pub concurrency: usize,
    /// Requests per second; `None`: as fast as the API allows.
    pub rate_per_sec: Option<u32>,
    /// Extra VAT rates; `None`: the run's own (`import --vat-table`).
    pub vat_table: Option<PathBuf>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            run: None,
            allow_changed: false,
            concurrency: 8,
            rate_per_sec: None,
            vat_table: None,
        }
    }
}

/// Why a run could not be verified (no verdict is given).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("no import run against {0} in the ledger")]
    NoRuns(String),
    #[error("no run {0} in the ledger")]
    NoSuchRun(RunId),
    #[error("run {run} was against {was}, not {now}")]
    OtherEnv {
        run: RunId,
        was: String,
        now: String,
    },
    #[error("{} changed since run {run} imported it (sha256 was {was}, is {now})", path.display())]
    Changed {
        run: RunId,
        path: PathBuf,
        was: String,
        now: String,
    },
    #[error("the mapping {} changed since run {run} used it", path.display())]
    MappingChanged { run: RunId, path: PathBuf },
    #[error("failed to read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Batch(Box<BatchError>),
    #[error("could not connect to {env}")]
    Connect {
        env: String,
        #[source]
        source: Box<ConnectError>,
    },
    #[error("could not read {what} from the account: no verdict on what was read")]
    Api {
        what: String,
        #[source]
        source: Box<ApiError>,
    },
    #[error("the control totals overflow: {0}")]
    Overflow(String),
    #[error("could not start the async runtime")]
    Runtime(#[source] std::io::Error),
    #[error("the thread reading the source failed")]
    Thread,
}

impl From<totals::Overflow> for VerifyError {
    fn from(o: totals::Overflow) -> Self {
        VerifyError::Overflow(o.0)
    }
}

impl VerifyError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            VerifyError::NoRuns(_) | VerifyError::NoSuchRun(_) | VerifyError::OtherEnv { .. } => {
                ErrorKind::Usage
            }
            VerifyError::Mapping(e) if !e.is_input() => ErrorKind::Usage,
            VerifyError::Batch(e) => e.kind(),
            VerifyError::Connect { .. }
            | VerifyError::Api { .. }
            | VerifyError::Runtime(_)
            | VerifyError::Thread => ErrorKind::Api,
            VerifyError::Ledger(_)
            | VerifyError::Changed { .. }
            | VerifyError::MappingChanged { .. }
            | VerifyError::Read { .. }
            | VerifyError::Mapping(_)
            | VerifyError::Overflow(_) => ErrorKind::Input,
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            VerifyError::NoRuns(_) => {
                Some("import first: `facturare-etl import FILE --mapping M`".into())
            }
            VerifyError::NoSuchRun(_) => Some("see `facturare-etl runs list`".into()),
            VerifyError::OtherEnv { was, .. } => Some(format!(
                "verify it with the environment it ran against ({was})"
            )),
            VerifyError::Changed { .. } | VerifyError::MappingChanged { .. } => Some(
                "restore the file the run used, or compare it as it is now with --allow-changed (what differs is then listed)"
                    .into(),
            ),
            VerifyError::Api { .. } | VerifyError::Connect { .. } => Some(
                "nothing was concluded and no report written; run `facturare-etl runs verify` again"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// The run to verify: `which`, or the newest against `env`.
fn pick_run(ledger: &Ledger, env: &str, which: Option<RunId>) -> Result<Run, VerifyError> {
    let run = match which {
        Some(id) => ledger.run(id)?.ok_or(VerifyError::NoSuchRun(id))?,
        None => ledger
            .runs()?
            .into_iter()
            .find(|r| r.env == env)
            .ok_or_else(|| VerifyError::NoRuns(env.to_string()))?,
    };
    if run.env != env {
        return Err(VerifyError::OtherEnv {
            run: run.id,
            was: run.env,
            now: env.to_string(),
        });
    }
    Ok(run)
}

/// Verify a run against the account `settings` name.
pub fn verify(
    settings: &Settings,
    opts: &VerifyOptions,
    reporter: &dyn Reporter,
) -> Result<Reconciliation, VerifyError> {
    let env = settings.env_label.clone();
    let ledger = Ledger::open(settings.ledger_path())?;
    let run = pick_run(&ledger, &env, opts.run)?;
    let inputs = source::check_inputs(&run, opts.allow_changed, reporter)?;
    let (mapping, mapping_changed) = source::mapping(&run, opts.allow_changed, reporter)?;
    let files: Vec<PathBuf> = run.inputs.iter().map(|i| PathBuf::from(&i.path)).collect();
    let vat_table = opts.vat_table.clone().or_else(|| {
        run.options
            .get("vat_table")
            .and_then(|v| v.as_str())
            .map(PathBuf::from)
    });
    let mut rules = rules_for(vat_table.as_deref(), None)
        .map_err(|e| VerifyError::Batch(Box::new(e.into())))?;
    // "Today" as the import saw it, so that its verdicts are the import's.
    if let Some(day) = chrono::DateTime::from_timestamp_millis(run.started_at) {
        rules.today = day.with_timezone(&TZ).date_naive();
    }
    let runtime = runtime(2).map_err(VerifyError::Runtime)?;
    let conn = runtime
        .block_on(connect(
            settings,
            ConnectOptions {
                rate_per_sec: opts.rate_per_sec,
                max_in_flight: opts.concurrency.max(1),
            },
            reporter,
        ))
        .map_err(|source| VerifyError::Connect {
            env: env.clone(),
            source: Box::new(source),
        })?;
    let client = conn.client.clone();
    let result = (|| {
        let rates = runtime
            .block_on(account::tax_rates(&client))
            .map_err(|e| api("the tax rates", e))?;
        // As the import, after it completed the account's tax rates.
        rules.known_tax_rates = Some(rates.keys().cloned().collect());
        let batch = Batch {
            mapping: &mapping,
            files: &files,
            rules: Arc::new(rules.clone()),
        };
        let book = source::survey(&batch, reporter)?;
        let checker = Checker {
            client: &client,
            ledger: &ledger,
            customers: Customers::default(),
            env: &env,
            run: &run,
            vat: &rules.vat,
            rates: &rates,
        };
        let compared = reporter.progress("compared", None);
        let (tx, rx) = tokio::sync::mpsc::channel::<SourceDoc>(64);
        let checked = std::thread::scope(|scope| {
            let reader = std::thread::Builder::new()
                .name("verify-source".into())
                .spawn_scoped(scope, || source::deliver(&batch, &book, &NoProgress, tx))
                .map_err(VerifyError::Runtime)?;
            let checked = runtime.block_on(checker.all(rx, &*compared, opts.concurrency.max(1)));
            let read = reader.join().unwrap_or(Err(VerifyError::Thread));
            // The comparison's error first: it stopped the reading.
            let checked = checked?;
            read?;
            Ok::<_, VerifyError>(checked)
        })?;
        let matched: HashSet<&str> = checked.iter().filter_map(|c| c.key.as_deref()).collect();
        let rest = runtime.block_on(checker.not_in_source(&matched))?;
        compared.finish();
        build(
            &run,
            mapping_changed,
            inputs,
            checked,
            rest,
            client.stats().requests,
        )
    })();
    runtime.block_on(conn.close());
    result
}

fn api(what: impl Into<String>, e: ApiError) -> VerifyError {
    VerifyError::Api {
        what: what.into(),
        source: Box::new(e),
    }
}

/// The reconciliation from the documents checked.
fn build(
    run: &Run,
    mapping_changed: bool,
    inputs: Vec<InputCheck>,
    checked: Vec<Checked>,
    rest: Vec<Checked>,
    requests: u64,
) -> Result<Reconciliation, VerifyError> {
    let mut counts = Counts::default();
    let mut totals = TotalsBuilder::default();
    let mut documents = Vec::with_capacity(checked.len() + rest.len());
    let mut differences = Vec::new();
    for c in checked.into_iter().chain(rest) {
        let d = c.check;
        if let Some(f) = &d.source {
            totals.add(Side::Source, d.kind, f, &d.document)?;
        }
        if let Some(f) = &d.account {
            totals.add(Side::Account, d.kind, f, &d.document)?;
        }
        counts.count(&d);
        differences.extend(c.differences);
        documents.push(d);
    }
    let totals = totals.finish()?;
    let identical = counts.differing() == 0 && !totals.differ();
    Ok(Reconciliation {
        run: run.id,
        env: run.env.clone(),
        mapping: run.mapping_path.clone(),
        mapping_changed,
        inputs,
        verified_at: chrono::Utc::now()
            .with_timezone(&TZ)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        identical,
        verdict: outcome::verdict(&counts, totals.differ()),
        counts,
        totals,
        differences,
        documents,
        requests,
    })
}
