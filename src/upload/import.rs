//! `import`, start to end: pick or start the run in the ledger, read → map →
//! validate on a blocking thread (rejects reported as `validate` does), hand
//! the valid documents over a bounded channel to the async [`Engine`], and
//! end the run with its counts and status.

use super::engine::{CountsSnapshot, Engine, EngineConfig, OnExisting, Stop};
use crate::cli::output::Output;
use crate::cli::Exit;
use crate::config::{connect, ConfigError, ConnectOptions, Settings};
use crate::ledger::{InputFile, Ledger, LedgerError, NewRun, Run, RunCounts, RunId, RunStatus};
use crate::mapping::{drafts_then, Mapping, MappingError};
use crate::model::Draft;
use crate::report::run::{rules_for, Reports, RunError};
use crate::report::Summary;
use crate::validate::Duplicates;
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
    /// The mapping (`None` with `--resume`: the run's own).
    pub mapping: Option<PathBuf>,
    pub resume: Option<Resume>,
    pub concurrency: usize,
    /// Requests per second, shared by every worker; `None`: as fast as the server allows.
    pub rate_per_sec: Option<u32>,
    pub on_existing: OnExisting,
    pub rejects: Option<PathBuf>,
    pub errors: Option<PathBuf>,
    pub vat_table: Option<PathBuf>,
    /// Ambiguous failures of one unit before the run stops (resumable).
    pub max_attempts: u32,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            files: vec![],
            mapping: None,
            resume: None,
            concurrency: 8,
            rate_per_sec: None,
            on_existing: OnExisting::Skip,
            rejects: None,
            errors: None,
            vat_table: None,
            max_attempts: 8,
        }
    }
}

/// How an import ended.
#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    pub run: RunId,
    pub resumed: bool,
    pub env: String,
    pub status: RunStatus,
    /// Read, map, validate.
    pub validation: Summary,
    /// Upload.
    pub upload: CountsSnapshot,
    pub requests: u64,
    pub rate_limited: u64,
    pub elapsed_secs: f64,
    /// Why the run stopped early, for people.
    pub stopped: Option<String>,
    #[serde(skip)]
    pub stop: Option<Stop>,
}

impl ImportOutcome {
    /// 0 all done; 1 something rejected; 4 the API failed; 130 interrupted.
    pub fn exit(&self) -> Exit {
        match &self.stop {
            Some(Stop::Interrupted) => Exit::Interrupted,
            Some(Stop::Api(_)) => Exit::Api,
            Some(Stop::Ledger(_)) => Exit::Input,
            None if self.validation.rejected > 0
                || self.validation.row_errors > 0
                || self.upload.rejected > 0
                || self.upload.payments_rejected > 0 =>
            {
                Exit::Rejected
            }
            None => Exit::Ok,
        }
    }

    /// The summary for people (stderr).
    pub fn render_text(&self) -> String {
        use std::fmt::Write;
        let u = &self.upload;
        let mut s = String::new();
        let verb = if self.resumed { "resumed" } else { "run" };
        let _ = writeln!(
            s,
            "import {verb} {} against {}: {}",
            self.run, self.env, self.status
        );
        s.push_str(&self.validation.render_text());
        let _ = write!(
            s,
            "uploaded in {:.1}s: {} created, {} already imported",
            self.elapsed_secs, u.done, u.already_imported
        );
        if u.changed > 0 {
            let _ = write!(s, ", {} changed since imported (not re-sent)", u.changed);
        }
        if u.skipped > 0 {
            let _ = write!(s, ", {} skipped (number already on the account)", u.skipped);
        }
        if u.updated > 0 {
            let _ = write!(s, ", {} updated", u.updated);
        }
        let _ = writeln!(s, ", {} rejected by the API", u.rejected);
        let _ = writeln!(
            s,
            "customers: {} created, {} found; payments: {} recorded, {} rejected",
            u.customers_created, u.customers_found, u.payments_done, u.payments_rejected
        );
        let _ = writeln!(
            s,
            "requests: {} ({} retried after no clear answer, {} answered 429)",
            self.requests, u.retries, self.rate_limited
        );
        if u.done == 0 && u.already_imported > 0 && u.rejected == 0 {
            let _ = writeln!(s, "nothing new: {} already imported", u.already_imported);
        }
        if u.rejected > 0 || u.payments_rejected > 0 {
            let _ = writeln!(
                s,
                "see the errors with `facturare-etl runs show {}`",
                self.run
            );
        }
        if let Some(why) = &self.stopped {
            let _ = writeln!(s, "stopped: {why}");
            let _ = writeln!(
                s,
                "resume with `facturare-etl import --resume {}`",
                self.run
            );
        }
        s
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
    Run(Box<RunError>),
    #[error("could not connect to {env}")]
    Connect {
        env: String,
        #[source]
        source: Box<ConfigError>,
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
    #[error("no mapping (give --mapping M)")]
    NoMapping,
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
}

impl From<RunError> for ImportError {
    fn from(e: RunError) -> Self {
        ImportError::Run(Box::new(e))
    }
}

impl ImportError {
    pub fn exit(&self) -> Exit {
        match self {
            ImportError::Ledger(_) => Exit::Input,
            ImportError::Mapping(e) if e.is_input() => Exit::Input,
            ImportError::Mapping(_) => Exit::Usage,
            ImportError::Run(e) => e.exit(),
            ImportError::Connect { .. } | ImportError::Preflight(_) => Exit::Api,
            ImportError::Hash { .. } => Exit::Input,
            ImportError::Runtime(_) => Exit::Api,
            _ => Exit::Usage,
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

/// The account's tax rates, after creating the missing ones of the built-in
/// Moldovan table (`tva20`, `tva12`, `tva8`, `tva0`: API.md's convention),
/// since the API silently drops a line's unknown rate. Documents naming any
/// other unknown rate are rejected by validation.
pub async fn ensure_tax_rates(
    client: &crate::api::Client,
    table: &crate::model::vat::VatTable,
    out: &Output,
) -> Result<std::collections::HashSet<String>, crate::api::ApiError> {
    use futures::TryStreamExt;
    let mut known = std::collections::HashSet::new();
    let mut pages = client.list_tax_rates(&crate::api::ListQuery::default());
    while let Some(page) = pages.try_next().await? {
        known.extend(page.items.into_iter().map(|r| r.id));
    }
    let mut created = Vec::new();
    for rate in &table.rates {
        if known.contains(&rate.id) || rate.id.is_empty() {
            continue;
        }
        let tr = crate::model::TaxRate {
            id: rate.id.clone(),
            name: format!("TVA {}%", rate.value.normalize()),
            value: rate.value,
            is_percent: Some(true),
            ..Default::default()
        };
        // Creating a rate under its own id is safe to repeat: a repeat
        // finds the id taken (400 naming `id`), which is success too.
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match client
                .create_tax_rate(&tr, Some(&format!("fe-taxrate-{}", rate.id)))
                .await
            {
                Ok(_) => break,
                Err(e) if e.status() == Some(400) && e.param() == Some("id") => break,
                Err(e) if e.is_ambiguous() && attempt < 8 => {
                    tokio::time::sleep(super::protocol::backoff(attempt, rand::random::<f64>()))
                        .await;
                }
                Err(e) => return Err(e),
            }
        }
        known.insert(rate.id.clone());
        created.push(rate.id.clone());
    }
    if !created.is_empty() {
        out.status(format!(
            "created the tax rates {} on the account (the standard Moldovan VAT rates it lacked)",
            created.join(", ")
        ));
    }
    Ok(known)
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
    out: &Output,
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
                    out.warn(format!(
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
            let mapping = opts.mapping.clone().ok_or(ImportError::NoMapping)?;
            (0, opts.files.clone(), mapping, false)
        }
    };
    let mapping = Mapping::load(&mapping_path)?;
    let mut rules = rules_for(opts.vat_table.as_deref(), None).map_err(RunError::from)?;
    let run_id = if resumed {
        ledger.reopen_run(run_id)?;
        out.status(format!("resuming run {run_id}"));
        run_id
    } else {
        for r in ledger.unfinished_runs(&env)? {
            out.warn(format!(
                "run {} ({}, started {}) did not finish; continue it with `facturare-etl import --resume {}`",
                r.id,
                r.status,
                crate::upload::report::when(r.started_at),
                r.id
            ));
        }
        let inputs = files
            .iter()
            .map(|f| {
                Ok(InputFile {
                    path: f.display().to_string(),
                    sha256: file_sha256(f)?,
                })
            })
            .collect::<Result<Vec<_>, ImportError>>()?;
        ledger.start_run(&NewRun {
            env: env.clone(),
            mapping_path: mapping_path.display().to_string(),
            mapping_identity: mapping.identity().to_string(),
            inputs,
            options: serde_json::json!({
                "concurrency": opts.concurrency,
                "rate_per_sec": opts.rate_per_sec,
                "on_existing": opts.on_existing,
                "rejects": opts.rejects.as_ref().map(|p| p.display().to_string()),
            }),
        })?
    };

    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ImportError::Runtime)?;

    // Bars: read, validate, upload.
    let multi = indicatif::MultiProgress::new();
    let add = |pb: indicatif::ProgressBar| {
        if out.bars() {
            multi.add(pb)
        } else {
            pb
        }
    };
    let read_bar = add(out.spinner("read"));
    let valid_bar = add(out.spinner("validated"));
    let upload_bar = add(out.bar(0, "uploaded"));

    let (tx, rx) = tokio::sync::mpsc::channel::<Draft>(256);
    let cfg = EngineConfig {
        env: env.clone(),
        mapping_identity: mapping.identity().to_string(),
        run: run_id,
        concurrency: opts.concurrency.max(1),
        on_existing: opts.on_existing,
        max_attempts: opts.max_attempts.max(1),
    };

    let result = runtime.block_on(async {
        let conn = connect(
            settings,
            ConnectOptions {
                rate_per_sec: opts.rate_per_sec,
                max_in_flight: opts.concurrency.max(1),
            },
        )
        .await
        .map_err(|source| ImportError::Connect {
            env: env.clone(),
            source: Box::new(source),
        })?;
        let client = conn.client.clone();
        match ensure_tax_rates(&client, &rules.vat, out).await {
            Ok(known) => rules.known_tax_rates = Some(known),
            Err(e) => {
                conn.close().await;
                return Err(ImportError::Preflight(e));
            }
        }
        let engine = Engine::with_progress(client.clone(), ledger.clone(), cfg, upload_bar.clone());

        // Read → map → validate on a blocking thread, feeding the engine.
        let pipeline = {
            let files = files.clone();
            let mapping = mapping.clone();
            let rejects = opts.rejects.clone();
            let errors = opts.errors.clone();
            let out = out.clone();
            let (read_bar, valid_bar) = (read_bar.clone(), valid_bar.clone());
            tokio::task::spawn_blocking(move || -> Result<Summary, ImportError> {
                // Each draft is validated on the thread pool as soon as it is built.
                let mut seen = Duplicates::default();
                let validator = seen.validator(Arc::new(rules.clone()));
                let mut source = drafts_then(&mapping, &files, validator)?;
                let mut reports =
                    Reports::create(&files, &mapping, rejects.as_deref(), errors.as_deref())?;
                let mut failure: Option<crate::read::ReadError> = None;
                for validated in source.by_ref() {
                    let outcome = match validated {
                        Ok(v) => seen.check_validated(v),
                        Err(e) => {
                            failure = Some(e);
                            break;
                        }
                    };
                    read_bar.inc(1);
                    reports.record(&outcome, &rules).map_err(RunError::from)?;
                    valid_bar.inc(1);
                    if let Ok(valid) = outcome {
                        if tx.blocking_send(valid.into_inner()).is_err() {
                            // The engine stopped: read no further.
                            break;
                        }
                    }
                }
                drop(tx);
                read_bar.finish_and_clear();
                valid_bar.finish_and_clear();
                if let Some(e) = failure {
                    return Err(MappingError::from(e).into());
                }
                let stats = source.stats();
                Ok(reports.finish(&mapping, &files, &stats, &out)?)
            })
        };

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
        upload_bar.finish_and_clear();
        let summary = match pipeline.await {
            Ok(r) => r,
            Err(e) => {
                return Err(ImportError::Runtime(std::io::Error::other(format!(
                    "the reading thread failed: {e}"
                ))))
            }
        };
        let stats = client.stats();
        let counts = engine.counters().snapshot();
        conn.close().await;
        Ok((summary, stop, counts, stats.requests, stats.rate_limited))
    });

    let (summary, stop, counts, requests, rate_limited) = match result {
        Ok(r) => r,
        Err(e) => {
            let status = RunStatus::Failed;
            let _ = ledger.end_run(run_id, status, &RunCounts::default(), Some(&e.to_string()));
            return Err(e);
        }
    };
    // A file-level failure of the pipeline ends the run as failed (resumable).
    let summary = match summary {
        Ok(s) => s,
        Err(e) => {
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
