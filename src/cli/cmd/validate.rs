//! `facturare-etl validate FILE... --mapping M`: the dry run. Reads, maps and
//! validates every document, writes the rejects report and errors list when
//! asked, prints the summary, sends nothing. `--preflight` also reads (never
//! writes) the target account's tax rates and customers.

use crate::cli::args::GlobalArgs;
use crate::cli::output::Output;
use crate::cli::{CliError, CmdResult};
use std::path::PathBuf;

pub use crate::report::run::{dry_run, rules_for, DryRunOptions, Preflight, Reports, RunError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input files (CSV, TSV, XLSX, XLSM, XLS, ODS, JSON, JSON Lines)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The mapping file that turns the input's rows into invoices
    #[arg(long, short, value_name = "M")]
    pub mapping: PathBuf,
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
}

impl Args {
    /// The dry run these arguments ask for (preflight fetched separately).
    pub fn options(&self) -> DryRunOptions {
        DryRunOptions {
            files: self.files.clone(),
            mapping: self.mapping.clone(),
            rejects: self.rejects.clone(),
            errors: self.errors.clone(),
            vat_table: self.vat_table.clone(),
            preflight: None,
        }
    }
}

pub fn run(args: Args, global: &GlobalArgs) -> CmdResult {
    let out = Output::new(global);
    let mut opts = args.options();
    if args.preflight {
        opts.preflight = Some(preflight::fetch(global, &out)?);
    }
    let summary = dry_run(&opts, &out).map_err(|e| CliError::new(e.exit(), e))?;
    out.status(summary.render_text().trim_end());
    out.json(&summary);
    Ok(summary.exit())
}

/// `--preflight`: the account's tax rates and customers, read-only.
pub mod preflight {
    use super::*;

    pub fn fetch(_global: &GlobalArgs, _out: &Output) -> Result<Preflight, CliError> {
        Err(CliError::new(
            crate::cli::Exit::Usage,
            anyhow::anyhow!("--preflight needs the API client, which this build does not have"),
        ))
    }
}
