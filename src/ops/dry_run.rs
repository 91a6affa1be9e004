//! The dry run, `validate` and `import --dry-run`: read → map → validate
//! (in parallel, in order) → reports, sending nothing. With a preflight it
//! also reads (never writes) the target account's tax rates and customers.
//! For a round trip (our own export, read with its built-in mapping, or any
//! mapping that maps `id`) it reads the account's version of every valid
//! document and says what the import will change ([`super::changes`]),
//! optionally into a `--changes` file.

use super::changes::{self, CompareOptions};
use super::connect::{connect, runtime, ConnectError, ConnectOptions};
use super::pipeline::{self, rules_for, Batch, BatchError};
use super::preflight::{self, Preflight, PreflightError};
use crate::config::Settings;
use crate::error::{Ending, ErrorKind};
use crate::mapping::{roundtrip, LoadOptions, Mapping};
use crate::model::Draft;
use crate::progress::Reporter;
use crate::report::changes::ChangeSet;
use crate::report::{ReportError, Reports, Summary};
use crate::upload::OnExisting;
use crate::validate::{CustomerBook, Valid};
use futures::StreamExt;
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// What `validate` (or `import --dry-run`) is asked to do.
#[derive(Debug, Clone, Default)]
pub struct DryRunOptions {
    pub files: Vec<PathBuf>,
    /// The mapping; `None`: the built-in one of our own exports.
    pub mapping: Option<PathBuf>,
    /// The rejects report; its errors list goes beside it unless `errors`.
    pub rejects: Option<PathBuf>,
    /// The errors list (default: `<rejects stem>.errors.csv`).
    pub errors: Option<PathBuf>,
    /// A TOML table of VAT rates added to API.md's.
    pub vat_table: Option<PathBuf>,
    /// What the command line adds to the mapping (`--allow-lookup-outside`,
    /// `--max-cell-bytes`).
    pub load: LoadOptions,
    /// The program's own files (ledger, config, ...): no report is
    /// written over them ([`crate::config::Request::own_files`]).
    pub own_files: Vec<(&'static str, PathBuf)>,
    /// Also read the account's tax rates and customers.
    pub preflight: bool,
    /// A round trip: write what will change here (`.xlsx` or `.csv`).
    pub changes: Option<PathBuf>,
    /// A round trip: what the import would do with documents that differ
    /// (`None`: update).
    pub on_existing: Option<OnExisting>,
    /// A round trip: conflicts would be sent too.
    pub force: bool,
}

/// How a dry run ended: the validation's summary and, for a round trip,
/// what the import will change.
#[derive(Debug, Clone, Serialize)]
pub struct DryRunOutcome {
    #[serde(flatten)]
    pub summary: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangeSet>,
}

impl DryRunOutcome {
    /// All valid (and, for a round trip, every change can be sent), or not.
    pub fn ending(&self) -> Ending {
        match (&self.summary.ending(), &self.changes) {
            (Ending::Ok, Some(c)) if c.refused() => Ending::Rejected,
            (e, _) => *e,
        }
    }

    /// For people, on stderr.
    pub fn render_text(&self) -> String {
        let mut s = self.summary.render_text();
        if let Some(c) = &self.changes {
            s.push_str(&c.render_text());
        }
        s
    }
}

/// Why a dry run could not run.
#[derive(Debug, thiserror::Error)]
pub enum DryRunError {
    #[error(transparent)]
    Batch(Box<BatchError>),
    #[error(transparent)]
    Preflight(#[from] PreflightError),
    #[error(transparent)]
    NoMapping(#[from] roundtrip::NotRecognised),
    #[error("--changes needs a round trip: a file written by `facturare-etl export`, or a mapping that maps `id`")]
    ChangesNeedRoundTrip,
    #[error("--changes {} is an input file: it is never overwritten; name another file", .0.display())]
    ChangesOverInput(PathBuf),
    #[error("a round trip is compared with the account, and no account was given")]
    NoAccount,
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("could not read the account's version of the documents")]
    Api(#[source] Box<crate::api::ApiError>),
    #[error("could not read the account's version of the documents: {0}")]
    Remote(#[from] crate::upload::RemoteError),
    #[error("could not start the async runtime")]
    Runtime(#[source] std::io::Error),
}

impl From<BatchError> for DryRunError {
    fn from(e: BatchError) -> Self {
        DryRunError::Batch(Box::new(e))
    }
}

impl DryRunError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            DryRunError::Batch(e) => e.kind(),
            DryRunError::Preflight(e) => e.kind(),
            DryRunError::Connect(e) => e.kind(),
            DryRunError::NoMapping(e) => e.kind(),
            DryRunError::ChangesNeedRoundTrip
            | DryRunError::ChangesOverInput(_)
            | DryRunError::NoAccount => ErrorKind::Usage,
            DryRunError::Api(_) | DryRunError::Remote(_) | DryRunError::Runtime(_) => {
                ErrorKind::Api
            }
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            DryRunError::NoMapping(e) => e.hint(),
            _ => None,
        }
    }
}

impl From<crate::mapping::MappingError> for DryRunError {
    fn from(e: crate::mapping::MappingError) -> Self {
        BatchError::from(e).into()
    }
}

/// A dry run with its mapping chosen: the caller asks it whether it needs
/// the account ([`DryRun::reads_account`]) before resolving credentials.
#[derive(Debug)]
pub struct DryRun {
    opts: DryRunOptions,
    mapping: Mapping,
}

impl DryRun {
    /// Load the mapping (or recognise our own export and take its built-in one).
    pub fn prepare(opts: &DryRunOptions, reporter: &dyn Reporter) -> Result<DryRun, DryRunError> {
        let mapping = match &opts.mapping {
            Some(m) => roundtrip::load_with(m, &opts.load)?,
            None => roundtrip::load_with(&changes::built_in(&opts.files, reporter)?, &opts.load)?,
        };
        if let Some(changes) = &opts.changes {
            if !mapping.is_round_trip() {
                return Err(DryRunError::ChangesNeedRoundTrip);
            }
            let same = |f: &PathBuf| match (changes.canonicalize(), f.canonicalize()) {
                (Ok(a), Ok(b)) => a == b,
                _ => changes == f,
            };
            if let Some(f) = opts.files.iter().find(|f| same(f)) {
                return Err(DryRunError::ChangesOverInput(f.clone()));
            }
        }
        Ok(DryRun {
            opts: opts.clone(),
            mapping,
        })
    }

    /// Whether it reads the account: a preflight, or a round trip.
    pub fn reads_account(&self) -> bool {
        self.opts.preflight || self.mapping.is_round_trip()
    }

    /// Read, map and validate every file, write the reports, and, for a
    /// round trip, compare with the account `settings` name.
    pub fn run(
        &self,
        settings: Option<&Settings>,
        reporter: &dyn Reporter,
    ) -> Result<DryRunOutcome, DryRunError> {
        let opts = &self.opts;
        // No report may land on a file the batch reads or the program keeps.
        let mut own = opts.own_files.clone();
        if let Some(s) = settings {
            own.extend(s.own_files());
        }
        pipeline::check_reports(
            &opts.files,
            &self.mapping,
            (opts.rejects.as_deref(), opts.errors.as_deref()),
            opts.vat_table.as_deref(),
            &own,
        )
        .map_err(BatchError::from)?;
        let found: Option<Preflight> = match (opts.preflight, settings) {
            (true, Some(settings)) => Some(preflight::fetch(settings, reporter)?),
            (true, None) => return Err(DryRunError::NoAccount),
            (false, _) => None,
        };
        let rules = Arc::new(
            rules_for(opts.vat_table.as_deref(), found.as_ref()).map_err(BatchError::from)?,
        );
        let mut reports = Reports::create(
            &opts.files,
            &self.mapping,
            opts.rejects.as_deref(),
            opts.errors.as_deref(),
        )
        .map_err(BatchError::from)?;
        if let Some(p) = &found {
            let mut rates = p.tax_rates.clone();
            rates.sort();
            reports.summary.account_tax_rates = Some(rates);
        }
        let batch = Batch {
            mapping: &self.mapping,
            files: &opts.files,
            rules,
        };
        let progress = reporter.progress("validating", None);
        let (stats, customers) = pipeline::survey(&batch, &mut reports, &*progress)?;
        let summary = reports
            .finish(&self.mapping, &opts.files, &stats, &customers, reporter)
            .map_err(BatchError::from)?;
        if !self.mapping.is_round_trip() {
            return Ok(DryRunOutcome {
                summary,
                changes: None,
            });
        }
        let settings = settings.ok_or(DryRunError::NoAccount)?;
        self.round_trip(settings, &batch, &customers, summary, reporter)
    }

    /// The valid documents read again on a thread of their own, each
    /// compared with the account as it comes.
    fn round_trip(
        &self,
        settings: &Settings,
        batch: &Batch<'_>,
        customers: &CustomerBook,
        summary: Summary,
        reporter: &dyn Reporter,
    ) -> Result<DryRunOutcome, DryRunError> {
        let opts = &self.opts;
        let rt = runtime(2).map_err(DryRunError::Runtime)?;
        let conn = rt.block_on(connect(settings, ConnectOptions::default(), reporter))?;
        let rates = match rt.block_on(tax_rates(&conn.client)) {
            Ok(r) => r,
            Err(e) => {
                rt.block_on(conn.close());
                return Err(DryRunError::Api(Box::new(e)));
            }
        };
        let compare = CompareOptions {
            on_existing: opts.on_existing.unwrap_or(OnExisting::Update),
            force: opts.force,
            concurrency: 8,
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<Valid<Draft>>(64);
        let progress = reporter.progress("compared", Some(summary.valid));
        let (stats, changes) =
            std::thread::scope(|scope| {
                let pipeline = scope.spawn(|| {
                    let stats = pipeline::deliver(batch, customers, &*progress, |valid| {
                        tx.blocking_send(valid).is_ok()
                    });
                    drop(tx);
                    stats
                });
                let drafts = futures::stream::unfold(rx, |mut rx| async move {
                    rx.recv().await.map(|d| (d, rx))
                });
                let changes = rt.block_on(changes::compare(
                    &conn.client,
                    &settings.env_label,
                    &rates,
                    drafts.boxed(),
                    compare,
                ));
                let stats = pipeline.join().unwrap_or_else(|_| {
                    Err(BatchError::Report(ReportError::write(
                        std::path::Path::new("the reading thread"),
                        std::io::Error::other("the reading thread failed"),
                    )))
                });
                (stats, changes)
            });
        rt.block_on(conn.close());
        stats?;
        let mut changes = changes?;
        if let Some(path) = &opts.changes {
            let written = crate::report::changes::write(&changes, path)
                .map_err(|e| DryRunError::from(BatchError::from(e)))?;
            changes.changes_file = Some(written.display().to_string());
        }
        Ok(DryRunOutcome {
            summary,
            changes: Some(changes),
        })
    }
}

/// The account's tax rates' values (percent rates), for the totals a
/// change will give.
async fn tax_rates(
    client: &crate::api::Client,
) -> Result<HashMap<String, rust_decimal::Decimal>, crate::api::ApiError> {
    let mut out = HashMap::new();
    let mut pages = client.list_tax_rates(&crate::api::ListQuery::default());
    while let Some(page) = pages.next().await {
        for r in page?.items {
            if r.is_percent != Some(false) && r.inclusive != Some(true) {
                out.insert(r.id, r.value);
            }
        }
    }
    Ok(out)
}

/// Read, map and validate every file, write the reports, and return the
/// outcome (its [`DryRunOutcome::ending`] says whether all were valid).
/// `settings` name the account a preflight or a round trip reads.
pub fn dry_run(
    opts: &DryRunOptions,
    settings: Option<&Settings>,
    reporter: &dyn Reporter,
) -> Result<DryRunOutcome, DryRunError> {
    DryRun::prepare(opts, reporter)?.run(settings, reporter)
}
