//! `facturare-etl import`: read, map, validate and upload, each document
//! exactly once ([`crate::ops::import`]); or `--dry-run`, the same as
//! `validate` ([`crate::ops::dry_run`]). For one company, or with
//! `--all-profiles`/`--profiles` for each, its own files named by
//! `{profile}` in their paths ([`crate::cli::profiles`]). `--verify`
//! follows a finished import with `runs verify` of its run.
//! A file written by `export` needs no
//! mapping: its documents are compared with the account's and only what
//! changed is sent.

use super::Context;
use crate::cli::args::ReadArgs;
use crate::cli::log::JOURNAL;
use crate::cli::profiles::{self, expand_path, Done, JobResult, ProfileArgs};
use crate::cli::values::{parse_rate, OnExistingArg};
use crate::cli::{CliError, CmdResult, Exit};
use crate::ledger::{RunId, RunStatus};
use crate::ops::{self, DryRunOptions, ImportOptions, Resume};
use std::path::{Path, PathBuf};

const AFTER_HELP: &str = "\
Examples:
  facturare-etl import sales.csv -m mappings/1c-sales.toml --rejects rejects.xlsx
  facturare-etl import --resume
  facturare-etl import sales.csv -m mappings/1c-sales.toml --verify --verify-report signoff.xlsx
  facturare-etl import --all-profiles 'inbox/{profile}/sales.csv' -m mappings/1c-sales.toml \\
      --rejects 'rejects/{profile}.xlsx'

Paths may contain {profile}: the company's name. With --all-profiles or
--profiles every input, --rejects, --errors and --verify-report path must
contain it (each company imports its own files).";

#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
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
    /// With --on-existing update: also update customers already on the
    /// account (not from this import) where the batch's merged record
    /// differs, sending only what differs; `runs rollback` restores them
    #[arg(long, requires = "on_existing")]
    pub update_customers: bool,
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
    /// After a finished import, verify it as `runs verify` does: every document read
    /// back and compared with the source (exit 1 if anything differs)
    #[arg(long, conflicts_with = "dry_run")]
    pub verify: bool,
    /// With --verify: write the reconciliation here (.xlsx, .csv or .json)
    #[arg(long, value_name = "PATH", requires = "verify")]
    pub verify_report: Option<PathBuf>,
    #[command(flatten)]
    pub profiles: ProfileArgs,
    #[command(flatten)]
    pub read: ReadArgs,
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
    if args.update_customers && !matches!(args.on_existing, Some(OnExistingArg::Update)) {
        return Err(CliError::new(
            Exit::Usage,
            anyhow::anyhow!(
                "--update-customers goes with --on-existing update (customers already on the account are updated only when documents are)"
            ),
        ));
    }
    let sel = &args.profiles;
    if sel.is_multi() {
        if let Some(Resume::Run(run)) = args.resume {
            return Err(CliError::new(
                Exit::Usage,
                anyhow::anyhow!(
                    "--resume {run} names a run of one company's ledger; with --all-profiles or --profiles use --resume alone (each company's newest unfinished run)"
                ),
            ));
        }
        for f in &args.files {
            profiles::require_profile_placeholder(sel, "the input", Some(&f.to_string_lossy()))?;
        }
        for (option, path) in [
            ("--rejects", &args.rejects),
            ("--errors", &args.errors),
            ("--verify-report", &args.verify_report),
        ] {
            let path = path.as_deref().map(Path::to_string_lossy);
            profiles::require_profile_placeholder(sel, option, path.as_deref())?;
        }
    }
    super::runs::check_report_path(args.verify_report.as_deref(), "--verify-report")?;
    let command = if args.dry_run {
        "import --dry-run"
    } else {
        "import"
    };
    profiles::run(ctx, sel, command, |c| match args.dry_run {
        true => dry_run(&args, c),
        false => import_one(&args, c),
    })
}

/// The import for the company of `ctx`, `{profile}` in its paths expanded.
fn import_one(args: &Args, ctx: &Context) -> JobResult {
    let settings = ctx.settings()?;
    let p = settings.profile.as_deref();
    let expand = |f: &Option<PathBuf>| f.as_deref().map(|f| expand_path(f, p));
    let opts = ImportOptions {
        files: args.files.iter().map(|f| expand_path(f, p)).collect(),
        mapping: expand(&args.mapping),
        resume: args.resume,
        concurrency: args.concurrency as usize,
        rate_per_sec: args.rate,
        on_existing: args.on_existing.map(Into::into),
        update_customers: args.update_customers,
        force: args.force,
        rejects: expand(&args.rejects),
        errors: expand(&args.errors),
        vat_table: expand(&args.vat_table),
        load: args.read.load(),
        own_files: ctx.request.own_files(),
        ..ImportOptions::default()
    };
    let outcome = ops::import(&settings, &opts, &ctx.out).map_err(|e| {
        let hint = e.hint();
        CliError::of(e.kind(), e).with_hint_opt(hint)
    })?;
    let u = &outcome.upload;
    tracing::info!(
        target: JOURNAL,
        run = outcome.run,
        status = %outcome.status,
        documents = outcome.validation.invoices_formed,
        invalid = outcome.validation.rejected,
        created = u.done,
        already_imported = u.already_imported,
        rejected = u.rejected,
        requests = outcome.requests,
        "import ended"
    );
    let mut line = format!(
        "run {}: {}, {} created, {} already imported, {} invalid, {} rejected by the API",
        outcome.run,
        outcome.status,
        u.done,
        u.already_imported,
        outcome.validation.rejected,
        u.rejected
    );
    if let Some(why) = &outcome.stopped {
        line.push_str(&format!("; stopped: {why}"));
    }
    let done = Done {
        text: Some(outcome.render_text()),
        counts: serde_json::json!({
            "run": outcome.run,
            "documents": outcome.validation.invoices_formed,
            "invalid": outcome.validation.rejected,
            "created": u.done,
            "already_imported": u.already_imported,
            "rejected": u.rejected,
        }),
        output: opts.rejects.clone(),
        result: serde_json::to_value(&outcome).unwrap_or_default(),
        ..Done::new(outcome.ending().into(), line)
    };
    if !args.verify {
        return Ok(done);
    }
    if outcome.status != RunStatus::Finished {
        ctx.out
            .warn("not verified: the run did not finish (verify it once it has: `facturare-etl runs verify`)");
        return Ok(done);
    }
    verify_after(args, ctx, &settings, outcome.run, done)
}

/// `--verify`: the import's summary first, then `runs verify` of its run;
/// the exit code is the worse of the two, `--json` holds both.
fn verify_after(
    args: &Args,
    ctx: &Context,
    settings: &crate::config::Settings,
    run: RunId,
    import: Done,
) -> JobResult {
    if let Some(text) = &import.text {
        ctx.out.status(text.trim_end());
    }
    let p = settings.profile.as_deref();
    let opts = ops::VerifyOptions {
        run: Some(run),
        concurrency: args.concurrency as usize,
        rate_per_sec: args.rate,
        vat_table: args.vat_table.as_deref().map(|v| expand_path(v, p)),
        ..ops::VerifyOptions::default()
    };
    let report = args.verify_report.as_deref().map(|r| expand_path(r, p));
    let verified = super::runs::verified(settings, &opts, report.as_deref(), ctx)?;
    let exit = match (import.exit, verified.exit) {
        (a, b) if (a as u8) >= (b as u8) => a,
        (_, b) => b,
    };
    Ok(Done {
        line: format!("{}; verified: {}", import.line, verified.line),
        text: verified.text,
        counts: serde_json::json!({ "import": import.counts, "verify": verified.counts }),
        output: verified.output.or(import.output),
        result: serde_json::json!({ "import": import.result, "verify": verified.result }),
        ..Done::new(exit, "")
    })
}

/// `--dry-run` for the company of `ctx` (its paths; nothing is sent).
fn dry_run(args: &Args, ctx: &Context) -> JobResult {
    let p = ctx.request.profile.as_deref();
    let expand = |f: &Option<PathBuf>| f.as_deref().map(|f| expand_path(f, p));
    let opts = DryRunOptions {
        files: args.files.iter().map(|f| expand_path(f, p)).collect(),
        mapping: expand(&args.mapping),
        rejects: expand(&args.rejects),
        errors: expand(&args.errors),
        vat_table: expand(&args.vat_table),
        preflight: false,
        changes: expand(&args.changes),
        on_existing: args.on_existing.map(Into::into),
        force: args.force,
        load: args.read.load(),
        own_files: ctx.request.own_files(),
    };
    let outcome = super::validate::dry_outcome(&opts, ctx)?;
    let ending = outcome.ending();
    let text = outcome.render_text();
    let summary = &outcome.summary;
    Ok(Done {
        line: text.lines().next().unwrap_or_default().to_string(),
        text: Some(text),
        counts: serde_json::json!({
            "documents": summary.invoices_formed,
            "valid": summary.valid,
            "rejected": summary.rejected,
        }),
        output: opts.rejects.clone(),
        result: serde_json::to_value(&outcome).unwrap_or_default(),
        ..Done::new(ending.into(), "")
    })
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
