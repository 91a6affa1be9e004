//! `facturare-etl import`: read, map, validate and upload, each document
//! exactly once ([`crate::ops::import`]); or `--dry-run`, the same as
//! `validate` ([`crate::ops::dry_run`]).

use super::Context;
use crate::cli::values::{parse_rate, OnExistingArg};
use crate::cli::{CliError, CmdResult, Exit};
use crate::ledger::RunId;
use crate::ops::{self, DryRunOptions, ImportOptions, Resume};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input files: CSV, XLSX/XLS/ODS or JSON, read with the mapping's [source]
    #[arg(value_name = "FILE", required_unless_present = "resume")]
    pub files: Vec<PathBuf>,
    /// The mapping file (TOML)
    #[arg(short, long, value_name = "M", required_unless_present = "resume")]
    pub mapping: Option<PathBuf>,
    /// Read, map and validate only, as `validate` does; send nothing
    #[arg(long, conflicts_with = "resume")]
    pub dry_run: bool,
    /// Continue an unfinished run (the newest against this environment when RUN is omitted)
    #[arg(long, value_name = "RUN", num_args = 0..=1, default_missing_value = "latest",
          value_parser = parse_resume)]
    pub resume: Option<Resume>,
    /// Documents worked on at once (and requests in flight)
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Requests per second, shared by all workers: `100/s` or `100` [default: as fast as the API allows]
    #[arg(long, value_name = "N/s", value_parser = parse_rate)]
    pub rate: Option<u32>,
    /// An invoice whose number is already on the account, not from this import:
    /// leave it (skip), replace its fields (update), or reject the document (fail)
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = OnExistingArg::Skip)]
    pub on_existing: OnExistingArg,
    /// Write the rejected rows here (CSV, or XLSX with the bad cells marked)
    #[arg(long, value_name = "PATH")]
    pub rejects: Option<PathBuf>,
    /// Write one line per problem here [default: beside --rejects]
    #[arg(long, value_name = "PATH")]
    pub errors: Option<PathBuf>,
    /// Extra VAT rates (TOML) on top of the built-in Moldovan table
    #[arg(long, value_name = "PATH")]
    pub vat_table: Option<PathBuf>,
}

fn parse_resume(s: &str) -> Result<Resume, String> {
    if s == "latest" {
        return Ok(Resume::Latest);
    }
    s.parse::<RunId>()
        .ok()
        .filter(|n| *n > 0)
        .map(Resume::Run)
        .ok_or_else(|| {
            format!("expected a run number (see `facturare-etl runs list`), found {s:?}")
        })
}

pub fn run(args: Args, ctx: &Context) -> CmdResult {
    let out = &ctx.out;
    if args.dry_run {
        return dry_run(args, ctx);
    }
    let settings = ctx.settings()?;
    let opts = ImportOptions {
        files: args.files,
        mapping: args.mapping,
        resume: args.resume,
        concurrency: args.concurrency as usize,
        rate_per_sec: args.rate,
        on_existing: args.on_existing.into(),
        rejects: args.rejects,
        errors: args.errors,
        vat_table: args.vat_table,
        ..ImportOptions::default()
    };
    match ops::import(&settings, &opts, out) {
        Ok(outcome) => {
            out.status(outcome.render_text().trim_end());
            out.json(&outcome);
            Ok(outcome.ending().into())
        }
        Err(e) => {
            let hint = e.hint();
            Err(CliError::of(e.kind(), e).with_hint_opt(hint))
        }
    }
}

fn dry_run(args: Args, ctx: &Context) -> CmdResult {
    let out = &ctx.out;
    let Some(mapping) = args.mapping else {
        return Err(CliError::new(
            Exit::Usage,
            anyhow::anyhow!("--dry-run needs --mapping"),
        ));
    };
    let opts = DryRunOptions {
        files: args.files,
        mapping,
        rejects: args.rejects,
        errors: args.errors,
        vat_table: args.vat_table,
    };
    let summary = ops::dry_run(&opts, None, out).map_err(|e| CliError::of(e.kind(), e))?;
    out.status(summary.render_text().trim_end());
    out.json(&summary);
    Ok(summary.ending().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_takes_a_run_or_nothing() {
        assert_eq!(parse_resume("latest"), Ok(Resume::Latest));
        assert_eq!(parse_resume("12"), Ok(Resume::Run(12)));
        assert!(parse_resume("0").is_err());
        assert!(parse_resume("x").is_err());
    }
}
