//! `facturare-etl export`: build the request, call [`crate::ops::export`],
//! print the summary, pick the exit code; for one company, or with
//! `--all-profiles`/`--profiles` for each ([`crate::cli::profiles`]).

use super::Context;
use crate::cli::log::JOURNAL;
use crate::cli::profiles::{self, Done, JobResult, ProfileArgs};
use crate::cli::values::{FormatArg, ResourceArg};
use crate::cli::{CliError, CmdResult, Exit};
use crate::export::ExportRequest;
use crate::ops;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Examples:
  facturare-etl export invoices --period last-month -o 'exports/invoices-{period}.xlsx'
  facturare-etl export invoices --filter paid=false --expand customer -o unpaid.csv --bom --delimiter ';'
  facturare-etl export invoices --lines --period 2026-Q3 -o lines.xlsx   # sheets Invoices and Lines
  facturare-etl export invoices --period last-month --control-totals -o month.xlsx  # + sheet Totals
  facturare-etl export invoices --incremental nightly -o 'exports/changes-{date}.jsonl'
  facturare-etl export invoices --all-profiles --period last-month \\
      -o 'exports/{profile}/invoices-{period}.xlsx'      # every company, --jobs 2 at once

Output path placeholders: {period} {date} {from} {to} {resource} {profile}.
The file is written beside its target and renamed into place only when complete.

Exit codes: 0 written; 2 bad options or mapping; 3 a file could not be read or
written; 4 the API failed (the previous file is left untouched); 130 interrupted.
With --all-profiles or --profiles: the worst of the companies', which are named.";

/// Export invoices, customers, credit notes or payments to XLSX, CSV or JSON Lines.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// What to export
    #[arg(value_enum)]
    pub resource: ResourceArg,
    /// Output file; may contain {period}, {date}, {from}, {to}, {resource}, {profile}
    #[arg(short, long, value_name = "PATH")]
    pub output: String,
    /// Output format [default: from the extension]
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Only objects whose FIELD equals VALUE (repeatable; filterable fields per API.md)
    #[arg(long = "filter", value_name = "FIELD=VALUE")]
    pub filters: Vec<String>,
    /// Only objects whose metadata KEY equals VALUE (repeatable)
    #[arg(long = "metadata", value_name = "KEY=VALUE")]
    pub metadata: Vec<String>,
    /// Expand a relation into its object (customer; credit notes: also invoice)
    #[arg(long, value_name = "RELATION")]
    pub expand: Vec<String>,
    /// Sort order, e.g. "date asc" or "total desc, number asc"
    #[arg(long, value_name = "ORDER")]
    pub sort: Option<String>,
    /// First day (YYYY-MM-DD, Chisinau time), inclusive
    #[arg(long, value_name = "DATE", conflicts_with = "period")]
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD, Chisinau time), inclusive
    #[arg(long, value_name = "DATE", conflicts_with = "period")]
    pub to: Option<String>,
    /// 2026-10, 2026-Q3, 2026, last-month, this-month, last-quarter, this-quarter
    #[arg(long, value_name = "PERIOD")]
    pub period: Option<String>,
    /// Columns as field paths: number,date,customer.tax_id,total:money,metadata.source
    /// (metadata.*: a column per metadata key)
    #[arg(long, value_name = "FIELDS", conflicts_with = "mapping")]
    pub columns: Option<String>,
    /// An export mapping file (mappings/export-*.toml)
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// One row per line item, the document's columns repeated (XLSX: an extra sheet `Lines`)
    #[arg(long)]
    pub lines: bool,
    /// Export only what changed since the last run with this NAME (bookmark in the ledger)
    #[arg(long, value_name = "NAME")]
    pub incremental: Option<String>,
    /// CSV: start with a UTF-8 byte order mark (for Excel)
    #[arg(long)]
    pub bom: bool,
    /// CSV: field delimiter (one character, or `tab`) [default: ,]
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// Count and sum the exported documents (payments) by currency and by month, to
    /// tick against the books: a `Totals` sheet in an XLSX, or NAME.totals.csv beside
    /// a CSV or JSON Lines file
    #[arg(long)]
    pub control_totals: bool,
    /// XLSX: data rows per sheet before continuing on a new sheet
    #[arg(long, value_name = "N", hide = true)]
    pub sheet_rows: Option<u32>,
    #[command(flatten)]
    pub profiles: ProfileArgs,
}

impl Args {
    /// The request for one company: `{profile}` in the output path is its name.
    fn request(&self, profile: Option<&str>) -> ExportRequest {
        ExportRequest {
            resource: self.resource.into(),
            output: profiles::expand(&self.output, profile),
            format: self.format.map(Into::into),
            filters: self.filters.clone(),
            metadata: self.metadata.clone(),
            expand: self.expand.clone(),
            sort: self.sort.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            period: self.period.clone(),
            columns: self.columns.clone(),
            mapping: self.mapping.clone(),
            lines: self.lines,
            incremental: self.incremental.clone(),
            bom: self.bom,
            delimiter: self.delimiter.clone(),
            sheet_rows: self.sheet_rows,
            control_totals: self.control_totals,
        }
    }
}

pub fn run(args: Args, ctx: &Context) -> CmdResult {
    profiles::require_profile_placeholder(&args.profiles, "--output", Some(&args.output))?;
    profiles::run(ctx, &args.profiles, "export", |c| export_one(&args, c))
}

/// The export for the company of `ctx`.
fn export_one(args: &Args, ctx: &Context) -> JobResult {
    let settings = ctx.settings()?;
    let request = args.request(settings.profile.as_deref());
    let s = ops::export(&settings, request, &ctx.out).map_err(|e| {
        let hint = e.hint();
        CliError::of(e.kind(), e).with_hint_opt(hint)
    })?;
    tracing::info!(
        target: JOURNAL,
        resource = %s.resource,
        objects = s.objects,
        rows = s.rows,
        path = %s.path.display(),
        period = %s.period,
        "export written"
    );
    // The Totals sheet of --control-totals is not one of the export's.
    let data_sheets = s
        .sheets
        .iter()
        .filter(|n| !(args.control_totals && n.as_str() == crate::export::totals::SHEET))
        .count();
    let sheets = match data_sheets {
        0 | 1 => String::new(),
        n => format!(" on {n} sheets"),
    };
    let line = format!(
        "{} {}: {} rows{sheets} written to {}",
        s.objects,
        s.resource,
        s.rows,
        s.path.display()
    );
    let mut text = line.clone();
    if let Some(f) = &s.totals_file {
        text.push_str(&format!("\ncontrol totals written to {}", f.display()));
    } else if args.control_totals {
        text.push_str("\ncontrol totals on the sheet Totals");
    }
    if let Some(b) = &s.bookmark {
        if b.advanced {
            text.push_str(&format!(
                "\nbookmark `{}` moved to updated_at {}",
                b.name, b.updated_at
            ));
        }
    }
    Ok(Done {
        text: Some(text),
        counts: serde_json::json!({
            "objects": s.objects,
            "rows": s.rows,
            "total": s.total,
            "already_exported": s.already_exported,
        }),
        output: Some(s.path.clone()),
        result: serde_json::to_value(&s).unwrap_or_default(),
        ..Done::new(Exit::Ok, line)
    })
}
