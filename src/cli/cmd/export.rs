//! `facturare-etl export`: build the request, call [`crate::ops::export`],
//! print the summary, pick the exit code.

use super::Context;
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
  facturare-etl export invoices --incremental nightly -o 'exports/changes-{date}.jsonl'

Output path placeholders: {period} {date} {from} {to} {resource}.
The file is written beside its target and renamed into place only when complete.

Exit codes: 0 written; 2 bad options or mapping; 3 a file could not be read or
written; 4 the API failed (the previous file is left untouched); 130 interrupted.";

/// Export invoices, customers, credit notes or payments to XLSX, CSV or JSON Lines.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// What to export
    #[arg(value_enum)]
    pub resource: ResourceArg,
    /// Output file; may contain {period}, {date}, {from}, {to}, {resource}
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
    /// XLSX: data rows per sheet before continuing on a new sheet
    #[arg(long, value_name = "N", hide = true)]
    pub sheet_rows: Option<u32>,
}

impl Args {
    fn into_request(self) -> ExportRequest {
        ExportRequest {
            resource: self.resource.into(),
            output: self.output,
            format: self.format.map(Into::into),
            filters: self.filters,
            metadata: self.metadata,
            expand: self.expand,
            sort: self.sort,
            from: self.from,
            to: self.to,
            period: self.period,
            columns: self.columns,
            mapping: self.mapping,
            lines: self.lines,
            incremental: self.incremental,
            bom: self.bom,
            delimiter: self.delimiter,
            sheet_rows: self.sheet_rows,
        }
    }
}

pub fn run(args: Args, ctx: &Context) -> CmdResult {
    let out = &ctx.out;
    let settings = ctx.settings()?;
    let s = ops::export(&settings, args.into_request(), out).map_err(|e| {
        let hint = e.hint();
        CliError::of(e.kind(), e).with_hint_opt(hint)
    })?;
    out.json(&s);
    let sheets = match s.sheets.len() {
        0 | 1 => String::new(),
        n => format!(" on {n} sheets"),
    };
    out.status(format!(
        "{} {}: {} rows{sheets} written to {}",
        s.objects,
        s.resource,
        s.rows,
        s.path.display()
    ));
    if let Some(b) = &s.bookmark {
        if b.advanced {
            out.status(format!(
                "bookmark `{}` moved to updated_at {}",
                b.name, b.updated_at
            ));
        }
    }
    Ok(Exit::Ok)
}
