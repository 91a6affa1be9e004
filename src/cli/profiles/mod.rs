//! One command for many companies: `--all-profiles` (every
//! `[profiles.NAME]` of the config file) or `--profiles a,b,c`. Each
//! company runs the command's own job with its own settings (credentials,
//! rate limit, ledger, bookmarks: its data dir), `--jobs N` of them at
//! once; one that fails never stops the others. At the end, one summary
//! for all (text on stderr, `--json` on stdout: per company its status,
//! counts, output path and error) and one exit code: 0 when all went
//! well, else the worst of theirs, the failing companies named.
//!
//! A command joins with its [`ProfileArgs`] flattened into its clap
//! arguments and its body written as a job that returns a [`Done`]:
//! `profiles::run(ctx, &args.profiles, "runs verify", |c| verify(&args, c))`
//! runs it once (the company of `--profile`, printed as before) or for
//! each company selected. `summary` holds how each part ended and the
//! summary of all.

mod summary;

pub use summary::{Entry, Status, Summary};

use super::cmd::Context;
use super::{CliError, CmdResult, Exit};
use crate::cli::log::JOURNAL;
use crate::config::{Profiles, Request};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use summary::exit_of;

/// Which companies a command runs for.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ProfileArgs {
    /// Run for every company of the config file ([profiles.NAME]), each with its own
    /// credentials, rate limit, ledger and bookmarks
    #[arg(long, conflicts_with = "profiles")]
    pub all_profiles: bool,
    /// Run for these companies of the config file (comma-separated)
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub profiles: Vec<String>,
    /// With --all-profiles or --profiles: companies worked on at once
    #[arg(long, value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: u32,
}

impl ProfileArgs {
    /// Whether more than the one company of `--profile` is asked for.
    pub fn is_multi(&self) -> bool {
        self.all_profiles || !self.profiles.is_empty()
    }
}

/// What one company's job did, for its line in the summary (or, run for
/// one company, for the command's usual output).
#[derive(Debug, Clone)]
pub struct Done {
    pub exit: Exit,
    /// One line: `12 invoices: 12 rows written to exports/acme/x.xlsx`.
    pub line: String,
    /// The full text for people when run for one company (else `line`).
    pub text: Option<String>,
    /// Counts for the JSON summary.
    pub counts: serde_json::Value,
    /// The file written, if any.
    pub output: Option<PathBuf>,
    /// The command's own `--json` for this company.
    pub result: serde_json::Value,
    /// Data for stdout without `--json` (a table), printed under the
    /// company's name in a run over many.
    pub stdout: Option<String>,
}

impl Done {
    pub fn new(exit: Exit, line: impl Into<String>) -> Done {
        Done {
            exit,
            line: line.into(),
            text: None,
            counts: serde_json::Value::Null,
            output: None,
            result: serde_json::Value::Null,
            stdout: None,
        }
    }
}

/// What a company's job returns.
pub type JobResult = Result<Done, CliError>;

/// `{profile}` in a path template: the company's name (`default` for the
/// top-level settings).
pub fn expand(template: &str, profile: Option<&str>) -> String {
    template.replace("{profile}", profile.unwrap_or("default"))
}

/// [`expand`] on a path (one that is not UTF-8 is left as it is).
pub fn expand_path(path: &Path, profile: Option<&str>) -> PathBuf {
    match path.to_str() {
        Some(s) => PathBuf::from(expand(s, profile)),
        None => path.to_path_buf(),
    }
}

/// In a run over many companies, a path each of them writes must differ
/// per company: it must contain `{profile}`.
pub fn require_profile_placeholder(
    sel: &ProfileArgs,
    option: &str,
    path: Option<&str>,
) -> Result<(), CliError> {
    match path {
        Some(p) if sel.is_multi() && !p.contains("{profile}") => Err(CliError::new(
            Exit::Usage,
            anyhow::anyhow!(
                "{option} {p:?} would be the same for every company: with --all-profiles or --profiles it must contain {{profile}}"
            ),
        )
        .with_hint(format!(
            "e.g. {option} {:?}",
            suggest_placeholder(p)
        ))),
        _ => Ok(()),
    }
}

/// `exports/x.xlsx` → `exports/{profile}/x.xlsx`.
fn suggest_placeholder(p: &str) -> String {
    match p.rfind('/') {
        Some(i) => format!("{}/{{profile}}{}", &p[..i], &p[i..]),
        None => format!("{{profile}}/{p}"),
    }
}

/// Run `job` for the company of `--profile` (printing its output as the
/// command always has), or with `--all-profiles`/`--profiles` for each
/// company selected, with one summary for all.
pub fn run(
    ctx: &Context,
    sel: &ProfileArgs,
    command: &str,
    job: impl Fn(&Context) -> JobResult + Sync,
) -> CmdResult {
    if !sel.is_multi() {
        return single(ctx, job(ctx)?);
    }
    run_each(ctx, sel, command, job)
}

/// Print one company's outcome the way the command does on its own.
fn single(ctx: &Context, done: Done) -> CmdResult {
    let out = &ctx.out;
    out.json(&done.result);
    if !out.json {
        if let Some(s) = &done.stdout {
            print!("{}", crate::cli::output::for_terminal(s));
        }
    }
    let text = done.text.as_deref().unwrap_or(&done.line);
    if !text.trim().is_empty() {
        out.status(text.trim_end());
    }
    Ok(done.exit)
}

/// Run `job` for each company selected and print the summary.
fn run_each(
    ctx: &Context,
    sel: &ProfileArgs,
    command: &str,
    job: impl Fn(&Context) -> JobResult + Sync,
) -> CmdResult {
    let names = select(ctx, sel)?;
    let out = &ctx.out;
    if ctx.request.api_key_env.is_some() {
        out.warn(format!(
            "{} is not used with --all-profiles or --profiles: each company uses its own key",
            crate::config::API_KEY_ENV
        ));
    }
    let jobs = (sel.jobs.max(1) as usize).min(names.len());
    tracing::info!(
        target: JOURNAL,
        command,
        profiles = %names.join(","),
        jobs,
        "run started"
    );
    let interrupted = watch_interrupt();
    let entries: Mutex<Vec<Option<Entry>>> = Mutex::new(vec![None; names.len()]);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(name) = names.get(i) else { break };
                let entry = if interrupted.load(Ordering::Relaxed) {
                    Entry::skipped(name)
                } else {
                    run_one(ctx, name, &job)
                };
                if entry.exit == Exit::Interrupted as u8 {
                    interrupted.store(true, Ordering::Relaxed);
                }
                entries.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(entry);
            });
        }
    });
    let entries: Vec<Entry> = entries
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .zip(&names)
        .map(|(e, name)| e.unwrap_or_else(|| Entry::skipped(name)))
        .collect();
    let summary = Summary::new(command, entries);
    report(ctx, &summary)
}

/// The companies asked for, checked against the config file.
fn select(ctx: &Context, sel: &ProfileArgs) -> Result<Vec<String>, CliError> {
    if let Some(p) = &ctx.request.profile {
        return Err(CliError::new(
            Exit::Usage,
            anyhow::anyhow!(
                "--profile {p} (or FACTURARE_PROFILE) names one company; --all-profiles and --profiles name several: give one of them"
            ),
        ));
    }
    if let Some(f) = &ctx.request.api_key_file {
        return Err(CliError::new(
            Exit::Usage,
            anyhow::anyhow!(
                "--api-key-file {} would be every company's key; with --all-profiles or --profiles each company uses its own",
                f.display()
            ),
        )
        .with_hint("set api_key_file in each [profiles.NAME] table of the config file"));
    }
    let list = Profiles::list(&ctx.request).map_err(super::cmd::config_error)?;
    let names = if sel.all_profiles {
        list.names.clone()
    } else {
        list.pick(&sel.profiles).map_err(super::cmd::config_error)?
    };
    if names.is_empty() {
        return Err(CliError::new(
            Exit::Usage,
            anyhow::anyhow!("--profiles names no company"),
        ));
    }
    Ok(names)
}

/// One company's job, in its own span (its log lines name it), with its
/// own settings and output; a panic is its failure, not the run's.
fn run_one(ctx: &Context, name: &str, job: &(impl Fn(&Context) -> JobResult + Sync)) -> Entry {
    let span = tracing::info_span!("profile", profile = %name);
    let _entered = span.enter();
    let company = Context {
        global: ctx.global.clone(),
        request: Request {
            profile: Some(name.to_string()),
            api_key_env: None,
            ..ctx.request.clone()
        },
        out: ctx.out.company(name),
    };
    tracing::info!(target: JOURNAL, "profile started");
    let started = Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&company)))
        .unwrap_or_else(|_| {
            Err(CliError::new(
                Exit::Api,
                anyhow::anyhow!("internal error: the job panicked (a bug; please report it)"),
            ))
        });
    company.out.finish_company();
    let entry = Entry::of(name, result, started.elapsed().as_secs_f64());
    entry.log();
    if ctx.out.bars() {
        ctx.out.status(format!(
            "{name}: {} {}",
            match entry.status {
                Status::Ok => "ok",
                Status::Rejected => "rejected",
                Status::Failed => "failed",
                Status::Skipped => "skipped",
            },
            entry.line
        ));
    }
    entry
}

/// Ctrl-C during a run over many: the jobs running stop as they do on
/// their own (each listens), and no further company starts.
fn watch_interrupt() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    let _ = std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(move || {
            if let Ok(rt) = crate::ops::runtime(0) {
                rt.block_on(async {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        set.store(true, Ordering::Relaxed);
                    }
                });
            }
        });
    flag
}

/// Print the summary (and the tables, in order), log the end, pick the
/// exit code.
fn report(ctx: &Context, summary: &Summary) -> CmdResult {
    let out = &ctx.out;
    if out.json {
        out.json(summary);
    } else {
        for e in &summary.profiles {
            if let Some(s) = &e.stdout {
                println!("== {} ==", e.profile);
                print!("{}", crate::cli::output::for_terminal(s));
            }
        }
    }
    if out.quiet {
        // The failures still reach the person (and cron's mail).
        for e in summary.profiles.iter().filter(|e| e.error.is_some()) {
            out.always(&format!(
                "{}: error: {}\n",
                e.profile,
                e.error.as_deref().unwrap_or("")
            ));
        }
    } else {
        out.status(summary.render_text().trim_end());
    }
    tracing::info!(
        target: JOURNAL,
        command = %summary.command,
        exit = summary.exit,
        failed = %summary.failed.join(","),
        rejected = %summary.rejected.join(","),
        "run finished"
    );
    let exit = exit_of(summary.exit);
    match exit {
        Exit::Ok => Ok(Exit::Ok),
        Exit::Rejected => {
            let what = match summary.command.as_str() {
                "runs verify" => "the account differs from the source",
                _ => "documents were rejected",
            };
            out.warn(format!("{what} for {}", summary.rejected.join(", ")));
            Ok(Exit::Rejected)
        }
        _ => Err(CliError::new(
            exit,
            anyhow::anyhow!(
                "{} of {} companies failed: {}",
                summary.failed.len(),
                summary.profiles.len(),
                summary.failed.join(", ")
            ),
        )
        .with_hint(format!(
            "run just them again with --profiles {}",
            summary.failed.join(",")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_placeholders_expand() {
        assert_eq!(
            expand("exports/{profile}/inv-{period}.xlsx", Some("acme")),
            "exports/acme/inv-{period}.xlsx"
        );
        assert_eq!(expand("{profile}.csv", None), "default.csv");
        assert_eq!(
            suggest_placeholder("exports/x.xlsx"),
            "exports/{profile}/x.xlsx"
        );
        assert_eq!(suggest_placeholder("x.xlsx"), "{profile}/x.xlsx");
    }
}
