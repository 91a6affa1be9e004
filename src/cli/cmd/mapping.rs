//! `facturare-etl mapping check|test|init`: thin commands over
//! [`crate::mapping`] (and, for `init --validate`, the dry run of
//! [`crate::ops::dry_run`]). Exit 2 for a bad mapping or usage, 3 for an
//! unreadable input, 1 for a failed example or rejected documents.

use super::Context;
use crate::cli::args::ReadArgs;
use crate::cli::output::Output;
use crate::cli::{CliError, CmdResult, Exit, ExitExt};
use crate::mapping::{self, draft_view, Mapping, MappingError};
use crate::model::{DocKind, Draft};
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check a mapping file; with --sample, also compile it against a file's
    /// headers and preview the first documents
    Check(CheckArgs),
    /// Run the mapping's [[example]] blocks (exit 1 if one fails)
    Test(TestArgs),
    /// Write a starting mapping guessed from a file's headers and values,
    /// each field with the evidence it was guessed from
    Init(InitArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The mapping file (TOML)
    pub mapping: PathBuf,
    /// An input file to compile against and preview
    #[arg(long, value_name = "FILE")]
    pub sample: Option<PathBuf>,
    /// How many documents to preview
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub preview: usize,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// The mapping file (TOML)
    pub mapping: PathBuf,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// An input file (CSV, TSV, XLSX, XLS, ODS, JSON, JSON Lines) to guess
    /// from: its header row and a sample of its rows
    pub file: PathBuf,
    /// Write the mapping here instead of stdout
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists
    #[arg(long)]
    pub force: bool,
    /// Then run the dry run (`validate`) of the file with the guessed
    /// mapping and print its summary (exit 1 when documents are rejected)
    #[arg(long)]
    pub validate: bool,
}

pub fn run(command: Command, ctx: &Context) -> CmdResult {
    let out = &ctx.out;
    match command {
        Command::Check(a) => check(a, out),
        Command::Test(a) => test(a, out),
        Command::Init(a) => init(a, out),
    }
}

fn mapping_error(e: MappingError) -> CliError {
    let exit = if e.is_input() {
        Exit::Input
    } else {
        Exit::Usage
    };
    CliError::new(exit, e)
}

fn load(path: &std::path::Path, read: &ReadArgs) -> Result<Mapping, CliError> {
    Mapping::load_with(path, &read.load()).map_err(mapping_error)
}

/// A value of the input on one line of the preview: cut, and with its
/// line breaks and control characters escaped.
fn cut(s: &str) -> String {
    crate::model::text::escape_all(&crate::model::text::cut(s)).into_owned()
}

/// One line per document for people.
fn summary(d: &Draft) -> String {
    let kind = match d.kind {
        DocKind::Invoice => "invoice",
        DocKind::CreditNote => "credit note",
    };
    let number = d.invoice.number.as_deref().unwrap_or("(no number)");
    let date = d
        .invoice
        .date
        .map(|x| x.to_string())
        .unwrap_or_else(|| "(no date)".into());
    let customer = d
        .customer
        .name
        .as_deref()
        .or(d.customer.number.as_deref())
        .unwrap_or("(no customer)");
    // Checked: the amounts are the input's, not yet validated.
    let net = d
        .invoice
        .items
        .iter()
        .try_fold(rust_decimal::Decimal::ZERO, |acc, i| {
            let q = i.quantity.unwrap_or(rust_decimal::Decimal::ONE);
            acc.checked_add(q.checked_mul(i.unit_cost.unwrap_or_default())?)
        });
    let net = net.map_or_else(
        || "out of range".to_string(),
        |n| crate::model::round_money(n).to_string(),
    );
    let (number, customer) = (cut(number), cut(customer));
    let mut s = format!(
        "{kind} {number}  {date}  {customer}  {} line(s), net {net}  (rows {})",
        d.invoice.items.len(),
        d.rows
            .iter()
            .map(|r| r.row.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    for p in &d.problems {
        s.push_str(&format!("\n    {} {p}", p.code));
    }
    s
}

fn check(a: CheckArgs, out: &Output) -> CmdResult {
    let m = load(&a.mapping, &a.read)?;
    for missing in m.missing_needed() {
        out.warn(format!("{}: {missing}", a.mapping.display()));
    }
    let Some(sample) = a.sample else {
        out.status(format!(
            "{}: mapping {:?} is valid (identity {}, {} example(s))",
            a.mapping.display(),
            m.name(),
            m.identity(),
            m.spec().example.len()
        ));
        out.json(
            &serde_json::json!({"mapping": m.name(), "identity": m.identity(), "valid": true}),
        );
        return Ok(Exit::Ok);
    };
    let mut drafts = mapping::drafts(&m, std::slice::from_ref(&sample)).map_err(mapping_error)?;
    let detected = drafts.detected().first().map(|(_, d)| d.clone());
    let mut shown = Vec::new();
    for d in drafts.by_ref().take(a.preview) {
        shown.push(d.exit(Exit::Input)?);
    }
    if let Some(d) = &detected {
        let mut what = vec![format!("format {}", d.format.name())];
        if let (Some(e), Some(c)) = (d.encoding, d.confidence) {
            what.push(format!("encoding {e} ({c})"));
        }
        if let Some(del) = d.delimiter {
            what.push(format!("delimiter {:?}", del as char));
        }
        if let Some(s) = &d.sheet {
            what.push(format!("sheet {s:?}"));
        }
        out.status(format!("{}: {}", sample.display(), what.join(", ")));
    }
    out.status(format!(
        "{}: mapping {:?} compiles against {} (identity {})",
        a.mapping.display(),
        m.name(),
        sample.display(),
        m.identity()
    ));
    if out.json {
        out.json(&serde_json::json!({
            "mapping": m.name(),
            "identity": m.identity(),
            "valid": true,
            "documents": shown.iter().map(draft_view).collect::<Vec<_>>(),
        }));
    } else {
        for d in &shown {
            out.print(summary(d));
        }
    }
    Ok(Exit::Ok)
}

fn test(a: TestArgs, out: &Output) -> CmdResult {
    let m = load(&a.mapping, &a.read)?;
    let outcomes = mapping::run_examples(&m);
    if outcomes.is_empty() {
        out.warn(format!(
            "{}: the mapping has no [[example]] blocks",
            a.mapping.display()
        ));
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    if out.json {
        out.json(&serde_json::json!({
            "mapping": m.name(),
            "passed": outcomes.len() - failed,
            "failed": failed,
            "examples": outcomes,
        }));
    } else {
        for o in &outcomes {
            if o.passed {
                out.print(format!("ok     {} ({})", o.name, o.index));
            } else {
                out.print(format!("FAILED {} ({})", o.name, o.index));
                for f in &o.failures {
                    out.print(format!("    {f}"));
                }
                if let Ok(got) = serde_json::to_string_pretty(&o.got) {
                    out.print("    got:");
                    for l in got.lines() {
                        out.print(format!("      {l}"));
                    }
                }
            }
        }
    }
    out.status(format!(
        "{}: {} example(s) passed, {failed} failed",
        a.mapping.display(),
        outcomes.len() - failed
    ));
    Ok(if failed > 0 { Exit::Rejected } else { Exit::Ok })
}

fn init(a: InitArgs, out: &Output) -> CmdResult {
    let text = mapping::init::guess(&a.file).exit(Exit::Input)?;
    // Where the mapping is written (for --validate without -o, a temporary
    // file named after the input).
    let scratch;
    let written = match &a.output {
        Some(p) => {
            // Not even with --force: the file it was guessed from.
            crate::fs::check_output("-o", p, [("the input file", a.file.as_path())])
                .exit(Exit::Usage)?;
            if p.exists() && !a.force {
                return Err(CliError::new(
                    Exit::Usage,
                    anyhow::anyhow!("{} already exists", p.display()),
                )
                .with_hint("pass --force to overwrite it"));
            }
            crate::fs::write_atomic(p, text.as_bytes()).exit(Exit::Usage)?;
            out.status(format!(
                "wrote {}; check it with `facturare-etl mapping check {} --sample {}`",
                p.display(),
                p.display(),
                a.file.display()
            ));
            p.clone()
        }
        None => {
            print!("{text}");
            if !a.validate {
                return Ok(Exit::Ok);
            }
            scratch = tempfile::tempdir().exit(Exit::Usage)?;
            let stem = a
                .file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "input".into());
            let p = scratch.path().join(format!("{stem}.guess.toml"));
            crate::fs::write_atomic(&p, text.as_bytes()).exit(Exit::Usage)?;
            p
        }
    };
    if !a.validate {
        return Ok(Exit::Ok);
    }
    if let Ok(m) = Mapping::load(&written) {
        for missing in m.missing_needed() {
            out.warn(format!("the guess: {missing}"));
        }
    }
    let opts = crate::ops::DryRunOptions {
        files: vec![a.file.clone()],
        mapping: Some(written),
        ..Default::default()
    };
    let summary = crate::ops::dry_run(&opts, None, out).map_err(|e| CliError::of(e.kind(), e))?;
    out.status(format!(
        "the dry run of {} with the guessed mapping:\n{}",
        a.file.display(),
        summary.render_text().trim_end()
    ));
    if a.output.is_some() {
        out.json(&summary);
    }
    Ok(summary.ending().into())
}
