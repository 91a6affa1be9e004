//! `facturare-etl runs`: list, show and roll back import runs, from the ledger.

use crate::cli::args::GlobalArgs;
use crate::cli::output::Output;
use crate::cli::{CliError, CmdResult, Exit, ExitExt};
use crate::config::{connect, ConnectOptions, Settings};
use crate::ledger::{Ledger, RunId};
use crate::upload::{report, rollback, RollbackError};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List import runs, newest first
    List,
    /// Show a run: inputs, counts, timings, and the units that did not go through
    Show {
        /// The run number (see `runs list`)
        run: RunId,
    },
    /// Undo what a run created, exactly as the ledger records it: void its payments,
    /// delete its credit notes and invoices (void where refused), delete the customers
    /// it created. Safe to repeat; an interrupted rollback continues where it stopped
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
fn ledger_path(global: &GlobalArgs) -> Result<std::path::PathBuf, CliError> {
    match Settings::resolve(global) {
        Ok(s) => Ok(s.ledger_path()),
        Err(e) => match crate::config::Location::resolve(global, true) {
            Ok(loc) => Ok(loc.data_dir.join("ledger.db")),
            Err(_) => Err(CliError::new(Exit::Usage, e)),
        },
    }
}

pub fn run(command: Command, global: &GlobalArgs) -> CmdResult {
    let out = Output::new(global);
    match command {
        Command::List => {
            let ledger = Ledger::open(ledger_path(global)?).exit(Exit::Input)?;
            let views = report::list(&ledger).exit(Exit::Input)?;
            if out.json {
                out.json(&views);
            } else {
                print!("{}", report::render_list(&views));
            }
            Ok(Exit::Ok)
        }
        Command::Show { run } => {
            let ledger = Ledger::open(ledger_path(global)?).exit(Exit::Input)?;
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
        Command::Rollback { run, concurrency } => rollback_run(run, concurrency, global, &out),
    }
}

fn rollback_run(run: RunId, concurrency: u32, global: &GlobalArgs, out: &Output) -> CmdResult {
    let settings = Settings::resolve(global).exit(Exit::Usage)?;
    let ledger = Ledger::open(settings.ledger_path()).exit(Exit::Input)?;
    let r = ledger
        .run(run)
        .exit(Exit::Input)?
        .ok_or_else(|| no_such_run(run))?;
    if r.env != settings.env_label {
        return Err(CliError::new(
            Exit::Usage,
            anyhow::anyhow!(
                "run {run} was against {}, not {}",
                r.env,
                settings.env_label
            ),
        )
        .with_hint(format!(
            "roll it back with the environment it ran against ({})",
            r.env
        )));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .exit(Exit::Api)?;
    let report = runtime.block_on(async {
        let conn = connect(
            &settings,
            ConnectOptions {
                rate_per_sec: None,
                max_in_flight: concurrency as usize,
            },
        )
        .await
        .exit(Exit::Api)?;
        let r = rollback(&conn.client, &ledger, run, concurrency as usize).await;
        conn.close().await;
        r.map_err(|e| {
            let exit = match e {
                RollbackError::Api(_) => Exit::Api,
                RollbackError::NoSuchRun(_) => Exit::Usage,
                RollbackError::Ledger(_) => Exit::Input,
            };
            CliError::new(exit, e).with_hint(format!(
                "what was undone is recorded; run `facturare-etl runs rollback {run}` again to continue"
            ))
        })
    })?;
    let undone: u64 = report.undone.values().sum();
    let parts: Vec<String> = report
        .undone
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
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
    Ok(if report.kept.is_empty() {
        Exit::Ok
    } else {
        Exit::Rejected
    })
}

fn no_such_run(run: RunId) -> CliError {
    CliError::new(Exit::Usage, anyhow::anyhow!("no run {run} in the ledger"))
        .with_hint("see `facturare-etl runs list`")
}
