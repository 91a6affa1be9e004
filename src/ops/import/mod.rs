//! `import`, start to end: pick or start the run in the ledger, connect and
//! complete the account's tax rates, survey the batch as the dry run does
//! (every document validated and judged against its customer as the whole
//! batch gives it, the reports written), then read it again on a thread of
//! its own, handing the valid documents, their customers merged, over a
//! bounded channel to the async [`Engine`]; end the run with its counts and
//! status.

mod outcome;

pub use outcome::ImportOutcome;

use super::connect::{connect, runtime, ConnectError, ConnectOptions};
use super::pipeline::{self, rules_for, Batch, BatchError};
use super::preflight::{list_tax_rates, report_created};
use crate::config::Settings;
use crate::error::{Ending, ErrorKind};
use crate::ledger::{InputFile, Ledger, LedgerError, NewRun, Run, RunCounts, RunId, RunStatus};
use crate::mapping::{roundtrip, LoadOptions, Mapping, MappingError};
use crate::model::Draft;
use crate::progress::{Handoff, Reporter};
use crate::report::{Reports, Summary};
use crate::upload::{CountsSnapshot, Engine, EngineConfig, OnExisting, Remote, Stop};
use crate::validate::Valid;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Which run `--resume` continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// The newest unfinished run against this environment.
    Latest,
    Run(RunId),
}

/// What `import` is asked to do.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The inputs (empty with `--resume`: the run's own).
    pub files: Vec<PathBuf>,
    /// The mapping (`None` with `--resume`: the run's own; for a new run:
    /// the built-in round-trip mapping of our own exports).
    pub mapping: Option<PathBuf>,
    pub resume: Option<Resume>,
    pub concurrency: usize,
    /// Requests per second, shared by every worker; `None`: as fast as the server allows.
    pub rate_per_sec: Option<u32>,
    /// `None`: update for a round trip (our own export), else skip.
    pub on_existing: Option<OnExisting>,
    /// With `--on-existing update`: customers already on the account (not
    /// from this import) are updated to the batch's merged record too.
    pub update_customers: bool,
    /// Round trips: send changes to documents changed on the account since
    /// the export too.
    pub force: bool,
    pub rejects: Option<PathBuf>,
    pub errors: Option<PathBuf>,
    pub vat_table: Option<PathBuf>,
    /// Ambiguous failures of one unit before the run stops (resumable).
    pub max_attempts: u32,
    /// What the command line adds to the mapping (`--allow-lookup-outside`,
    /// `--max-cell-bytes`).
    pub load: LoadOptions,
    /// Files no report may be written over, besides the inputs, the
    /// mapping and the settings' own ([`crate::config::Request::own_files`]).
    pub own_files: Vec<(&'static str, PathBuf)>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            files: vec![],
            mapping: None,
            resume: None,
            concurrency: 8,
            rate_per_sec: None,
            on_existing: None,
            update_customers: false,
            force: false,
            rejects: None,
            errors: None,
            vat_table: None,
            max_attempts: 8,
            load: LoadOptions::default(),
            own_files: Vec::new(),
        }
    }
}

/// Why an import could not run.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
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
    #[error("no unfinished run against {0} to resume")]
    NothingToResume(String),
    #[error("no run {0} in the ledger")]
    NoSuchRun(RunId),
    #[error("run {run} was against {was}, not {now}; resume it with the same environment")]
    OtherEnv {
        run: RunId,
        was: String,
        now: String,
    },
    #[error("run {0} is finished; nothing to resume")]
    Finished(RunId),
    #[error("run {0} was rolled back; start a new import instead")]
    RolledBack(RunId),
    #[error("no input files (give FILE... or --resume)")]
    NoInput,
    #[error(transparent)]
    NoMapping(#[from] roundtrip::NotRecognised),
    #[error("failed to read {}", path.display())]
    Hash {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not read or complete the account's tax rates")]
    Preflight(#[source] crate::api::ApiError),
    #[error("could not start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// A part of the import failed where it never should (a panic, reported
    /// as it happened); the work done is in the ledger.
    #[error("stopped by an internal error (a bug): {0}")]
    Internal(&'static str),
}

impl From<BatchError> for ImportError {
    fn from(e: BatchError) -> Self {
        ImportError::Batch(Box::new(e))
    }
}

impl ImportError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ImportError::Ledger(_) => ErrorKind::Input,
            ImportError::Mapping(e) if e.is_input() => ErrorKind::Input,
            ImportError::Mapping(_) => ErrorKind::Usage,
            ImportError::Batch(e) => e.kind(),
            ImportError::Connect { .. } | ImportError::Preflight(_) => ErrorKind::Api,
            ImportError::Hash { .. } => ErrorKind::Input,
            ImportError::Runtime(_) => ErrorKind::Api,
            ImportError::NoMapping(e) => e.kind(),
            ImportError::Internal(_) => ErrorKind::Internal,
            _ => ErrorKind::Usage,
        }
    }

    /// What to do about it, when there is something to say.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ImportError::NothingToResume(_) => Some("see `facturare-etl runs list`"),
            ImportError::NoMapping(e) => e.hint(),
            _ => None,
        }
    }
}

/// SHA-256 of a file, streamed.
pub fn file_sha256(path: &Path) -> Result<String, ImportError> {
    use sha2::{Digest, Sha256};
    let wrap = |source| ImportError::Hash {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(wrap)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(wrap)?;
    Ok(hex::encode(h.finalize()))
}

/// The run to continue, checked against this environment.
fn pick_resume(ledger: &Ledger, env: &str, which: Resume) -> Result<Run, ImportError> {
    let run = match which {
        Resume::Latest => ledger
            .unfinished_runs(env)?
            .into_iter()
            .next()
            .ok_or_else(|| ImportError::NothingToResume(env.to_string()))?,
        Resume::Run(id) => ledger.run(id)?.ok_or(ImportError::NoSuchRun(id))?,
    };
    if run.env != env {
        return Err(ImportError::OtherEnv {
            run: run.id,
            was: run.env,
            now: env.to_string(),
        });
    }
    if run.rolled_back_at.is_some() {
        return Err(ImportError::RolledBack(run.id));
    }
    if run.status == RunStatus::Finished {
        return Err(ImportError::Finished(run.id));
    }
    Ok(run)
}

/// Run an import (or resume one) and return how it ended.
pub fn import(
    settings: &Settings,
    opts: &ImportOptions,
    reporter: &dyn Reporter,
) -> Result<ImportOutcome, ImportError> {
    let env = settings.env_label.clone();
    let ledger = Arc::new(Ledger::open(settings.ledger_path())?);

    // The run: an earlier one to continue, or a new one.
    let (run_id, files, mapping_path, resumed) = match opts.resume {
        Some(which) => {
            let run = pick_resume(&ledger, &env, which)?;
            let files: Vec<PathBuf> = if opts.files.is_empty() {
                run.inputs.iter().map(|i| PathBuf::from(&i.path)).collect()
            } else {
                opts.files.clone()
            };
            let mapping = opts
                .mapping
                .clone()
                .unwrap_or_else(|| PathBuf::from(&run.mapping_path));
            for (f, was) in files.iter().zip(&run.inputs) {
                if file_sha256(f)? != was.sha256 {
                    reporter.warn(&format!(
                        "{} changed since run {} started; documents imported already are not sent again",
                        f.display(),
                        run.id
                    ));
                }
            }
            (run.id, files, mapping, true)
        }
        None => {
            if opts.files.is_empty() {
                return Err(ImportError::NoInput);
            }
            let mapping = match opts.mapping.clone() {
                Some(m) => m,
                None => super::changes::built_in(&opts.files, reporter)?,
            };
            (0, opts.files.clone(), mapping, false)
        }
    };
    let mapping = roundtrip::load_with(&mapping_path, &opts.load)?;
    // Before anything is recorded: no report may land on a file we need.
    let mut own = opts.own_files.clone();
    own.extend(settings.own_files());
    pipeline::check_reports(
        &files,
        &mapping,
        (opts.rejects.as_deref(), opts.errors.as_deref()),
        opts.vat_table.as_deref(),
        &own,
    )
    .map_err(BatchError::from)?;
    let mut rules = rules_for(opts.vat_table.as_deref(), None).map_err(BatchError::from)?;
    let run_id = if resumed {
        ledger.reopen_run(run_id)?;
        reporter.status(&format!("resuming run {run_id}"));
        run_id
    } else {
        for r in ledger.unfinished_runs(&env)? {
            reporter.warn(&format!(
                "run {} ({}, started {}) did not finish; continue it with `facturare-etl import --resume {}`",
                r.id,
                r.status,
                crate::report::runs::when(r.started_at),
                r.id
            ));
        }
        let inputs = files
            .iter()
            .map(|f| {
                Ok(InputFile {
                    path: recorded_path(f),
                    sha256: file_sha256(f)?,
                })
            })
            .collect::<Result<Vec<_>, ImportError>>()?;
        ledger.start_run(&NewRun {
            env: env.clone(),
            mapping_path: match roundtrip::from_label(&mapping_path.to_string_lossy()) {
                Some(_) => mapping_path.display().to_string(),
                None => recorded_path(&mapping_path),
            },
            mapping_identity: mapping.identity().to_string(),
            inputs,
            options: serde_json::json!({
                "concurrency": opts.concurrency,
                "rate_per_sec": opts.rate_per_sec,
                "on_existing": super::changes::on_existing(opts.on_existing, &mapping),
                "update_customers": opts.update_customers,
                "force": opts.force,
                "rejects": opts.rejects.as_ref().map(|p| p.display().to_string()),
                "vat_table": opts.vat_table.as_ref().map(|p| p.display().to_string()),
            }),
        })?
    };

    let started = Instant::now();
    let result = upload(
        settings,
        opts,
        reporter,
        Prepared {
            ledger: ledger.clone(),
            run_id,
            files: &files,
            mapping: &mapping,
            rules: &mut rules,
        },
    );
    let Uploaded {
        summary,
        stop,
        counts,
        requests,
        rate_limited,
    } = match result {
        Ok(r) => r,
        Err(e) => {
            // A failure of the connection or of the pipeline ends the run
            // as failed (resumable).
            let _ = ledger.end_run(
                run_id,
                RunStatus::Failed,
                &RunCounts::default(),
                Some(&e.to_string()),
            );
            return Err(e);
        }
    };
    let run_counts = RunCounts {
        documents: summary.invoices_formed,
        invalid: summary.rejected,
        already_imported: counts.already_imported,
        changed: counts.changed,
        rate_limited,
    };
    let (status, stopped) = match &stop {
        None => (RunStatus::Finished, None),
        Some(Stop::Interrupted) => (
            RunStatus::Interrupted,
            Some("interrupted (Ctrl-C)".to_string()),
        ),
        Some(Stop::Api(e)) => (RunStatus::Failed, Some(e.clone())),
        Some(Stop::Ledger(e)) => (RunStatus::Failed, Some(format!("the ledger failed: {e}"))),
    };
    ledger.end_run(run_id, status, &run_counts, stopped.as_deref())?;
    Ok(ImportOutcome {
        run: run_id,
        resumed,
        env,
        status,
        validation: summary,
        upload: counts,
        requests,
        rate_limited,
        elapsed_secs: started.elapsed().as_secs_f64(),
        stopped,
        stop,
    })
}

/// What the upload needs of the run set up.
struct Prepared<'a> {
    ledger: Arc<Ledger>,
    run_id: RunId,
    files: &'a [PathBuf],
    mapping: &'a Mapping,
    rules: &'a mut crate::validate::Rules,
}

/// What the upload did.
struct Uploaded {
    summary: Summary,
    stop: Option<Stop>,
    counts: CountsSnapshot,
    requests: u64,
    rate_limited: u64,
}

/// Connect, complete the tax rates, survey the batch (the reports, the
/// customers merged), then read it again on a thread of its own while the
/// engine uploads what that hands over.
fn upload(
    settings: &Settings,
    opts: &ImportOptions,
    reporter: &dyn Reporter,
    run: Prepared<'_>,
) -> Result<Uploaded, ImportError> {
    let env = &settings.env_label;
    let runtime = runtime(2).map_err(ImportError::Runtime)?;
    // On an environment the ledger has nothing for, every valid document
    // is sent, so the account's first page of customers is asked for with
    // the tax rates, and the list read as the second pass starts; otherwise
    // only when a document first needs it (a rerun that finds everything
    // imported asks for nothing).
    let fresh = !run.ledger.has_units(env)?;
    let conn = runtime
        .block_on(connect(
            settings,
            ConnectOptions {
                rate_per_sec: opts.rate_per_sec,
                max_in_flight: opts.concurrency.max(1),
            },
            reporter,
        ))
        .map_err(|source| ImportError::Connect {
            env: env.clone(),
            source: Box::new(source),
        })?;
    let client = conn.client.clone();
    let first_customers = fresh.then(|| {
        let client = client.clone();
        runtime.spawn(async move { client.customers_page(1).await })
    });
    let rates = match runtime.block_on(list_tax_rates(&client, &run.rules.vat)) {
        Ok(rates) => rates,
        Err(e) => {
            runtime.block_on(conn.close());
            return Err(ImportError::Preflight(e));
        }
    };
    run.rules.known_tax_rates = Some(rates.known.clone());
    // The standard rates the account lacks are created while the batch is
    // surveyed (validation needs only their ids), and before any document.
    let creating = runtime.spawn({
        let client = client.clone();
        async move { rates.create_missing(&client).await }
    });
    let rules = Arc::new(run.rules.clone());
    let batch = Batch {
        mapping: run.mapping,
        files: run.files,
        rules,
    };
    // The first pass: every document validated and judged against its
    // customer as the whole batch gives it, the reports written, nothing
    // sent: the dry run's verdicts.
    let surveyed = (|| -> Result<_, ImportError> {
        let mut reports = Reports::create(
            run.files,
            run.mapping,
            opts.rejects.as_deref(),
            opts.errors.as_deref(),
        )
        .map_err(BatchError::from)?;
        let progress = reporter.progress("validated", None);
        let (stats, book) = pipeline::survey(&batch, &mut reports, &*progress)?;
        let summary = reports
            .finish(run.mapping, run.files, &stats, &book, reporter)
            .map_err(BatchError::from)?;
        Ok((summary, book))
    })();
    let created = runtime.block_on(creating);
    let (summary, book) = match surveyed {
        Ok(s) => s,
        Err(e) => {
            runtime.block_on(conn.close());
            return Err(e);
        }
    };
    match created {
        Ok(Ok(ids)) => report_created(&ids, reporter),
        Ok(Err(e)) => {
            runtime.block_on(conn.close());
            return Err(ImportError::Preflight(e));
        }
        Err(_) => {
            runtime.block_on(conn.close());
            return Err(ImportError::Internal("the tax-rate creation failed"));
        }
    }
    // The second pass: the same documents again, each valid one to the
    // engine with its customer's merged record.
    // The upload's length is what the survey found valid; each side says
    // when it waits for the other.
    let stages = Handoff::new(
        reporter.progress("read", None),
        reporter.progress("uploaded", Some(0)),
    );
    let (read, uploaded) = (stages.read_side(), stages.upload_side());
    read.set_total(summary.invoices_formed);
    let cfg = EngineConfig {
        env: env.clone(),
        mapping_identity: run.mapping.identity().to_string(),
        run: run.run_id,
        concurrency: opts.concurrency.max(1),
        on_existing: super::changes::on_existing(opts.on_existing, run.mapping),
        update_customers: opts.update_customers,
        max_attempts: opts.max_attempts.max(1),
        force: opts.force,
        customers_in_batch: book.counts().referenced,
    };
    let engine = Engine::with_progress(client.clone(), run.ledger.clone(), cfg, uploaded.clone());
    if let Some(first) = first_customers {
        engine.seed_customers(first);
        runtime.spawn({
            let engine = engine.clone();
            async move { engine.prefetch_customers().await }
        });
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Valid<Draft>>(256);

    let (delivered, stop) = std::thread::scope(|scope| {
        let pipeline = std::thread::Builder::new()
            .name("pipeline".into())
            .spawn_scoped(scope, || -> Result<(), ImportError> {
                // The engine gone: read no further.
                let stats = pipeline::deliver(&batch, &book, &*read, |valid| {
                    stages.send(tx.capacity() == 0, || tx.blocking_send(valid).is_ok())
                });
                drop(tx);
                stats?;
                Ok(())
            });
        let pipeline = match pipeline {
            Ok(p) => p,
            Err(e) => return (Err(ImportError::Runtime(e)), None),
        };
        let stop = runtime.block_on(async {
            // Ctrl-C: take no new documents, finish those in flight.
            let watcher = {
                let engine = engine.clone();
                tokio::spawn(async move {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        engine.stop(Stop::Interrupted);
                    }
                })
            };
            let stop = engine.run(rx).await;
            watcher.abort();
            stop
        });
        uploaded.finish();
        let delivered = pipeline
            .join()
            .unwrap_or_else(|_| Err(ImportError::Internal("the reading thread failed")));
        (delivered, stop)
    });
    let stats = client.stats();
    let counts = engine.counters().snapshot();
    runtime.block_on(conn.close());
    delivered?;
    Ok(Uploaded {
        summary,
        stop,
        counts,
        requests: stats.requests,
        rate_limited: stats.rate_limited,
    })
}

/// A path as the ledger keeps it: absolute (not resolving links), so that
/// `runs verify` and `--resume` find the files from any folder, as cron
/// runs them.
fn recorded_path(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}
