//! `facturare-etl runs`: list, show and roll back import runs, from the ledger.

use super::Context;
use crate::cli::output::Output;
use crate::cli::{CliError, CmdResult, Exit, ExitExt};
use crate::config::Settings;
use crate::ledger::{Ledger, RunId};
use crate::ops::{self, RollbackOptions};
use crate::report::runs as report;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List import runs, newest first
    List,
    /// Show a run: inputs, counts, timings, and the units that did not go through
    Show {
        /// The run number (see `runs list`)
        run: RunId,
    },
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
        Command::List => {
            let ledger = Ledger::open(ledger_path(ctx)?).exit(Exit::Input)?;
            let views = report::list(&ledger).exit(Exit::Input)?;
            if out.json {
                out.json(&views);
            } else {
                print!("{}", report::render_list(&views));
            }
            Ok(Exit::Ok)
        }
        Command::Show { run } => {
            let ledger = Ledger::open(ledger_path(ctx)?).exit(Exit::Input)?;
            let detail = report::detail(&ledger, run)
                .exit(Exit::Input)?
                .ok_or_else(|| no_such_run(run))?;
            if out.json {
                out.json(&detail);
            } else {
                print!("{}", report::render_detail(&detail));
            }
            Ok(Exit::Ok)
        }
        Command::Rollback { run, concurrency } => rollback_run(run, concurrency, ctx),
    }
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
