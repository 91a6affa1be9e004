//! `facturare-etl import`: read, map, validate and upload, each document
//! exactly once ([`crate::ops::import`]); or `--dry-run`, the same as
//! `validate` ([`crate::ops::dry_run`]). A file written by `export` needs no
//! mapping: its documents are compared with the account's and only what
//! changed is sent.

use super::Context;
use crate::cli::values::{parse_rate, OnExistingArg};
use crate::cli::{CliError, CmdResult};
use crate::ledger::RunId;
use crate::ops::{self, DryRunOptions, ImportOptions, Resume};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input files: CSV, XLSX/XLS/ODS or JSON, read with the mapping's [source]
    #[arg(value_name = "FILE", required_unless_present = "resume")]
    pub files: Vec<PathBuf>,
    /// The mapping file (TOML) [default: a file written by `export` is read with
    /// its built-in round-trip mapping]
    #[arg(short, long, value_name = "M")]
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
    /// A document already on the account, not from this import (or, from our own
    /// export, one that differs): leave it (skip), send what differs (update), or
    /// reject it (fail) [default: update for our own exports, else skip]
    #[arg(long, value_enum, value_name = "WHAT")]
    pub on_existing: Option<OnExistingArg>,
    /// Our own exports: also send changes to documents changed on the account
    /// after the export (conflicts), overwriting those changes
    #[arg(long)]
    pub force: bool,
    /// With --dry-run on our own export: write what will change here (.xlsx or
    /// .csv: document, field, before, after)
    #[arg(long, value_name = "PATH", requires = "dry_run")]
    pub changes: Option<PathBuf>,
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
        on_existing: args.on_existing.map(Into::into),
        force: args.force,
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
    let opts = DryRunOptions {
        files: args.files,
        mapping: args.mapping,
        rejects: args.rejects,
        errors: args.errors,
        vat_table: args.vat_table,
        preflight: false,
        changes: args.changes,
        on_existing: args.on_existing.map(Into::into),
        force: args.force,
    };
    super::validate::run_dry(&opts, ctx)
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
