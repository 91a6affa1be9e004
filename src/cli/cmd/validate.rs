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
    use crate::cli::Exit;
    use crate::config::{connect, ConfigError, ConnectOptions, Settings};

    fn exit_for(e: &ConfigError) -> Exit {
        match e {
            ConfigError::Api(_) => Exit::Api,
            _ => Exit::Usage,
        }
    }

    /// Connect to the target (as `import` would) and list its tax rates and
    /// customers.
    pub fn fetch(global: &GlobalArgs, out: &Output) -> Result<Preflight, CliError> {
        let settings = Settings::resolve(global).map_err(|e| CliError::new(exit_for(&e), e))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::new(Exit::Api, e))?;
        let spinner = out.spinner("preflight");
        let found = rt.block_on(async {
            let conn = connect(&settings, ConnectOptions::default())
                .await
                .map_err(|e| CliError::new(exit_for(&e), e))?;
            let found = crate::report::run::fetch_preflight(&conn.client).await;
            let label = conn.env_label.clone();
            conn.close().await;
            found.map_err(|e| {
                CliError::new(
                    Exit::Api,
                    anyhow::Error::new(e).context(format!("preflight against {label} failed")),
                )
            })
        });
        spinner.finish_and_clear();
        let found = found?;
        out.status(format!(
            "preflight: {} tax rates and {} customers on the account",
            found.tax_rates.len(),
            found
                .customers
                .numbers
                .len()
                .max(found.customers.tax_ids.len())
        ));
        Ok(found)
    }
}
