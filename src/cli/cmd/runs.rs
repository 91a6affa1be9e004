//! `facturare-etl runs`: list, show, verify and roll back import runs,
//! from the ledger; `runs list` and `runs verify` also for many companies
//! at once ([`crate::cli::profiles`]). `runs verify` is
//! [`crate::ops::verify()`] with its report written by
//! [`crate::report::reconcile`]; `import --verify` runs it too
//! (`verified`).

use super::Context;
use crate::cli::log::JOURNAL;
use crate::cli::output::{for_terminal, Output};
use crate::cli::profiles::{self, expand_path, Done, JobResult, ProfileArgs};
use crate::cli::values::parse_rate;
use crate::cli::{CliError, CmdResult, Exit, ExitExt};
use crate::config::Settings;
use crate::ledger::{Ledger, RunId};
use crate::ops::{self, RollbackOptions, VerifyOptions};
use crate::report::reconcile::{self, ReconcileFormat};
use crate::report::runs as report;
use std::path::{Path, PathBuf};

const VERIFY_HELP: &str = "\
Examples:
  facturare-etl runs verify                          # the newest run, verdict on stderr
  facturare-etl runs verify 3 --report signoff.xlsx  # the workbook for whoever signs off
  facturare-etl runs verify --all-profiles --report 'signoff/{profile}.xlsx'

The run's input files are read again through its mapping (a file changed since
the run is an error unless --allow-changed), every document it put on the
account is read back by its id, and each is compared: number, date, customer
(number, tax id, name), currency, lines (quantity, unit cost, taxes), subtotal,
VAT and total under the API's rounding. Documents rejected by validation are
listed as not imported, not as differences. Control totals (documents, net, VAT,
gross) per currency, month and customer, source beside account.

Exit codes: 0 identical; 1 differences found; 2 bad usage or no such run;
3 an input file changed or could not be read; 4 the account could not be read
completely (no verdict, no report).";

/// `runs verify`: what to reconcile, and where the report goes.
#[derive(Debug, clap::Args)]
#[command(after_help = VERIFY_HELP)]
pub struct VerifyArgs {
    /// The run number (see `runs list`) [default: the newest against this environment]
    pub run: Option<RunId>,
    /// Write the reconciliation: PATH.xlsx (sheets Summary, By month, By customer,
    /// Differences, Documents), PATH.csv (the summary, and a CSV per other sheet
    /// beside it) or PATH.json; may contain {profile}
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Compare input files (and a mapping) that changed since the run, as they are now
    #[arg(long)]
    pub allow_changed: bool,
    /// Reads in flight
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Requests per second: `100/s` or `100` [default: as fast as the API allows]
    #[arg(long, value_name = "N/s", value_parser = parse_rate)]
    pub rate: Option<u32>,
    /// Extra VAT rates (TOML) on top of the built-in table [default: the run's own]
    #[arg(long, value_name = "PATH")]
    pub vat_table: Option<PathBuf>,
    #[command(flatten)]
    pub profiles: ProfileArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List import runs, newest first
    List {
        #[command(flatten)]
        profiles: ProfileArgs,
    },
    /// Show a run: inputs, counts, timings, and the units that did not go through
    Show {
        /// The run number (see `runs list`)
        run: RunId,
    },
    /// Prove that the account holds what a run's source holds: every document read
    /// back and compared, control totals per currency, month and customer, and a
    /// reconciliation workbook (--report) for sign-off
    Verify(VerifyArgs),
    /// Undo what a run did, exactly as the ledger records it: void its payments,
    /// delete its credit notes and invoices (void where refused), delete the customers
    /// it created, and restore what it updated to its previous version (unless changed
    /// on the account since). Safe to repeat; an interrupted rollback continues where
    /// it stopped
    Rollback {
        /// The run number (see `runs list`)
        run: RunId,
        /// Requests in flight
        #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
        concurrency: u32,
    },
}

/// The ledger of the environment and company the options name. Reading it
/// needs no credentials: without any, the data dir alone is resolved.
fn ledger_path(ctx: &Context) -> Result<std::path::PathBuf, CliError> {
    match Settings::resolve(&ctx.request) {
        Ok(s) => Ok(s.ledger_path()),
        Err(e) => match ctx.location() {
            Ok(loc) => Ok(loc.ledger_path()),
            Err(_) => Err(super::config_error(e)),
        },
    }
}

pub fn run(command: Command, ctx: &Context) -> CmdResult {
    let out = &ctx.out;
    match command {
        Command::List { profiles } => profiles::run(ctx, &profiles, "runs list", list),
        Command::Show { run } => {
            let ledger = Ledger::open(ledger_path(ctx)?).exit(Exit::Input)?;
            let detail = report::detail(&ledger, run)
                .exit(Exit::Input)?
                .ok_or_else(|| no_such_run(run))?;
            if out.json {
                out.json(&detail);
            } else {
                print!("{}", for_terminal(&report::render_detail(&detail)));
            }
            Ok(Exit::Ok)
        }
        Command::Verify(args) => {
            let sel = &args.profiles;
            if sel.is_multi() {
                if let Some(run) = args.run {
                    return Err(CliError::new(
                        Exit::Usage,
                        anyhow::anyhow!(
                            "run {run} names a run of one company's ledger; with --all-profiles or --profiles leave RUN out (each company's newest run)"
                        ),
                    ));
                }
            }
            let report = args.report.as_deref().map(Path::to_string_lossy);
            profiles::require_profile_placeholder(sel, "--report", report.as_deref())?;
            profiles::run(ctx, sel, "runs verify", |c| verify(&args, c))
        }
        Command::Rollback { run, concurrency } => rollback_run(run, concurrency, ctx),
    }
}

impl Command {
    /// `runs list`, `runs show`, ...: for the log.
    pub fn name(&self) -> &'static str {
        match self {
            Command::List { .. } => "runs list",
            Command::Show { .. } => "runs show",
            Command::Verify(_) => "runs verify",
            Command::Rollback { .. } => "runs rollback",
        }
    }

    /// The companies the subcommand runs for, when it can run for several.
    pub fn profiles(&self) -> Option<&ProfileArgs> {
        match self {
            Command::List { profiles } => Some(profiles),
            Command::Verify(args) => Some(&args.profiles),
            _ => None,
        }
    }
}

/// The runs of the company of `ctx`.
fn list(ctx: &Context) -> JobResult {
    let ledger = Ledger::open(ledger_path(ctx)?).exit(Exit::Input)?;
    let views = report::list(&ledger).exit(Exit::Input)?;
    let result = serde_json::to_value(&views).unwrap_or_default();
    let n = result.as_array().map_or(0, Vec::len);
    Ok(Done {
        counts: serde_json::json!({ "runs": n }),
        // Alone, the table says it all.
        text: Some(String::new()),
        result,
        stdout: Some(report::render_list(&views)),
        ..Done::new(Exit::Ok, format!("{n} runs"))
    })
}

/// `runs verify` for the company of `ctx`.
fn verify(args: &VerifyArgs, ctx: &Context) -> JobResult {
    let settings = ctx.settings()?;
    let p = settings.profile.as_deref();
    let report = args.report.as_deref().map(|r| expand_path(r, p));
    let opts = VerifyOptions {
        run: args.run,
        allow_changed: args.allow_changed,
        concurrency: args.concurrency as usize,
        rate_per_sec: args.rate,
        vat_table: args.vat_table.as_deref().map(|v| expand_path(v, p)),
    };
    verified(&settings, &opts, report.as_deref(), ctx)
}

/// A report path whose format is known, checked before anything is read.
pub(crate) fn check_report_path(report: Option<&Path>, option: &str) -> Result<(), CliError> {
    match report {
        Some(p) if ReconcileFormat::from_path(p).is_none() => Err(CliError::new(
            Exit::Usage,
            anyhow::anyhow!(
                "cannot tell the format of {option} {}: name it .xlsx, .csv or .json",
                p.display()
            ),
        )),
        _ => Ok(()),
    }
}

/// Verify a run and write its report (`runs verify`, `import --verify`):
/// the verdict for people, the reconciliation for `--json`, exit 0
/// identical or 1 differences; an account that cannot be read completely
/// is an error (exit 4) and no report is written.
pub(crate) fn verified(
    settings: &Settings,
    opts: &VerifyOptions,
    report: Option<&Path>,
    ctx: &Context,
) -> JobResult {
    check_report_path(report, "--report")?;
    let rec = ops::verify(settings, opts, &ctx.out).map_err(|e| {
        let hint = e.hint();
        CliError::of(e.kind(), e).with_hint_opt(hint)
    })?;
    let files = match report {
        Some(p) => reconcile::write(p, &rec).map_err(|e| CliError::of(e.kind(), e))?,
        None => Vec::new(),
    };
    tracing::info!(
        target: JOURNAL,
        run = rec.run,
        identical = rec.identical,
        documents = rec.counts.documents,
        differing = rec.counts.differing(),
        differences = rec.counts.differences,
        requests = rec.requests,
        "verify ended"
    );
    let mut text = reconcile::render_text(&rec);
    for f in &files {
        text.push_str(&format!("report written to {}\n", f.display()));
    }
    let line = match rec.identical {
        true => format!(
            "run {}: identical ({} documents)",
            rec.run, rec.counts.compared
        ),
        false => format!(
            "run {}: {} documents differ, {} differences",
            rec.run,
            rec.counts.differing(),
            rec.counts.differences
        ),
    };
    Ok(Done {
        text: Some(text),
        counts: serde_json::json!({
            "run": rec.run,
            "documents": rec.counts.documents,
            "compared": rec.counts.compared,
            "rejected": rec.counts.rejected,
            "differing": rec.counts.differing(),
            "differences": rec.counts.differences,
        }),
        output: files.first().cloned(),
        result: serde_json::to_value(&rec).unwrap_or_default(),
        ..Done::new(rec.ending().into(), line)
    })
}

fn rollback_run(run: RunId, concurrency: u32, ctx: &Context) -> CmdResult {
    let out: &Output = &ctx.out;
    let settings = ctx.settings()?;
    let opts = RollbackOptions {
        run,
        concurrency: concurrency as usize,
    };
    let report = ops::rollback(&settings, opts, out).map_err(|e| {
        let hint = e.hint();
        CliError::of(e.kind(), e).with_hint_opt(hint)
    })?;
    let undone: u64 = report.undone.values().sum::<u64>() + report.restored.values().sum::<u64>();
    let parts: Vec<String> = report
        .undone
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .chain(
            report
                .restored
                .iter()
                .map(|(k, n)| format!("{n} {k} restored")),
        )
        .collect();
    if undone == 0 && report.kept.is_empty() {
        out.status(format!(
            "run {run}: nothing to roll back ({} undone before)",
            report.already
        ));
    } else {
        out.status(format!(
            "run {run}: rolled back {undone} ({})",
            if parts.is_empty() {
                "-".to_string()
            } else {
                parts.join(", ")
            }
        ));
    }
    for k in &report.kept {
        out.warn(format!(
            "kept {} {} ({}): {}",
            k.kind,
            k.remote_id.map(|i| i.to_string()).unwrap_or_default(),
            k.rows,
            k.error
        ));
    }
    out.json(&report);
    Ok(report.ending().into())
}

fn no_such_run(run: RunId) -> CliError {
    CliError::new(Exit::Usage, anyhow::anyhow!("no run {run} in the ledger"))
        .with_hint("see `facturare-etl runs list`")
}
