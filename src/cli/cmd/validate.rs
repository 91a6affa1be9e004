//! `facturare-etl validate FILE... [--mapping M]`: the dry run
//! ([`crate::ops::dry_run`]). Reads, maps and validates every document,
//! writes the rejects report and errors list when asked, prints the
//! summary, sends nothing. `--preflight` also reads (never writes) the
//! target account's tax rates and customers; a file written by `export`
//! (no mapping needed) is compared with the account: what will change.

use super::Context;
use crate::cli::args::ReadArgs;
use crate::cli::{CliError, CmdResult};
use crate::ops::{self, DryRunOptions};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input files (CSV, TSV, XLSX, XLSM, XLS, ODS, JSON, JSON Lines)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The mapping file that turns the input's rows into invoices [default: a file
    /// written by `export` is read with its built-in round-trip mapping]
    #[arg(long, short, value_name = "M")]
    pub mapping: Option<PathBuf>,
    /// Write the rows of rejected documents here, in the input's layout
    /// (XLSX: bad cells filled and annotated; CSV: with _row and _errors);
    /// the errors list goes beside it as <name>.errors.csv
    #[arg(long, value_name = "PATH")]
    pub rejects: Option<PathBuf>,
    /// Write the errors list (one CSV line per problem) here
    #[arg(long, value_name = "PATH")]
    pub errors: Option<PathBuf>,
    /// Add VAT rates from this TOML file ([[rates]] id, value, from, until, note)
    #[arg(long, value_name = "FILE")]
    pub vat_table: Option<PathBuf>,
    /// Also check, read-only, the target account: tax rates that do not
    /// exist there are errors; customers that an import would create are counted
    #[arg(long)]
    pub preflight: bool,
    /// Our own export: write what an import will change here (.xlsx or .csv:
    /// document, field, before, after)
    #[arg(long, value_name = "PATH")]
    pub changes: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: Args, ctx: &Context) -> CmdResult {
    let opts = DryRunOptions {
        files: args.files,
        mapping: args.mapping,
        rejects: args.rejects,
        errors: args.errors,
        vat_table: args.vat_table,
        preflight: args.preflight,
        changes: args.changes,
        load: args.read.load(),
        own_files: ctx.request.own_files(),
        ..DryRunOptions::default()
    };
    run_dry(&opts, ctx)
}

/// The dry run of `validate` and `import --dry-run`: the account's
/// settings are resolved only when the job reads the account.
pub fn run_dry(opts: &DryRunOptions, ctx: &Context) -> CmdResult {
    let outcome = dry_outcome(opts, ctx)?;
    ctx.out.status(outcome.render_text().trim_end());
    ctx.out.json(&outcome);
    Ok(outcome.ending().into())
}

/// The dry run's outcome, the account's settings resolved only when the
/// job reads the account.
pub fn dry_outcome(opts: &DryRunOptions, ctx: &Context) -> Result<ops::DryRunOutcome, CliError> {
    let out = &ctx.out;
    let fail = |e: ops::DryRunError| {
        let hint = e.hint();
        CliError::of(e.kind(), e).with_hint_opt(hint)
    };
    let job = ops::DryRun::prepare(opts, out).map_err(fail)?;
    let settings = match job.reads_account() {
        true => Some(ctx.settings()?),
        false => None,
    };
    job.run(settings.as_ref(), out).map_err(fail)
}
