//! `facturare-etl import`: read, map, validate and upload, each document
//! exactly once; or `--dry-run`, the same as `validate`.

use crate::cli::args::GlobalArgs;
use crate::cli::output::Output;
use crate::cli::{CliError, CmdResult, Exit, ExitExt};
use crate::config::Settings;
use crate::ledger::RunId;
use crate::upload::{import, ImportOptions, OnExisting, Resume};
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
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = OnExisting::Skip)]
    pub on_existing: OnExisting,
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

/// `100/s`, `100`, `100/sec`: requests per second, at least 1.
pub fn parse_rate(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let num = t
        .strip_suffix("/s")
        .or_else(|| t.strip_suffix("/sec"))
        .unwrap_or(t)
        .trim();
    match num.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "expected requests per second as N/s with N ≥ 1 (e.g. 100/s), found {s:?}"
        )),
    }
}

pub fn run(args: Args, global: &GlobalArgs) -> CmdResult {
    let out = Output::new(global);
    if args.dry_run {
        return dry_run(args, &out);
    }
    let settings = Settings::resolve(global).exit(Exit::Usage)?;
    let opts = ImportOptions {
        files: args.files,
        mapping: args.mapping,
        resume: args.resume,
        concurrency: args.concurrency as usize,
        rate_per_sec: args.rate,
        on_existing: args.on_existing,
        rejects: args.rejects,
        errors: args.errors,
        vat_table: args.vat_table,
        ..ImportOptions::default()
    };
    match import(&settings, &opts, &out) {
        Ok(outcome) => {
            out.status(outcome.render_text().trim_end());
            out.json(&outcome);
            Ok(outcome.exit())
        }
        Err(e) => {
            let exit = e.exit();
            let hint = match &e {
                crate::upload::ImportError::NothingToResume(_) => {
                    Some("see `facturare-etl runs list`".to_string())
                }
                _ => None,
            };
            let err = CliError::new(exit, e);
            Err(match hint {
                Some(h) => err.with_hint(h),
                None => err,
            })
        }
    }
}

fn dry_run(args: Args, out: &Output) -> CmdResult {
    use crate::report::run::{dry_run, DryRunOptions};
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
        preflight: None,
    };
    match dry_run(&opts, out) {
        Ok(summary) => {
            out.status(summary.render_text().trim_end());
            out.json(&summary);
            Ok(summary.exit())
        }
        Err(e) => Err(CliError::new(e.exit(), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_with_or_without_unit() {
        assert_eq!(parse_rate("100/s"), Ok(100));
        assert_eq!(parse_rate("100"), Ok(100));
        assert_eq!(parse_rate(" 7/sec "), Ok(7));
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("1.5/s").is_err());
    }

    #[test]
    fn resume_takes_a_run_or_nothing() {
        assert_eq!(parse_resume("latest"), Ok(Resume::Latest));
        assert_eq!(parse_resume("12"), Ok(Resume::Run(12)));
        assert!(parse_resume("0").is_err());
        assert!(parse_resume("x").is_err());
    }
}
