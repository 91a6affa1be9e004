//! What an export is asked to do ([`ExportRequest`], the command line's
//! words) resolved once into what it will do ([`ExportOptions`]), and what
//! it did ([`ExportSummary`]). Everything that can be wrong with the request
//! is found here, before any request is sent.

use super::bookmark::Watermark;
use super::layout::{Layout, LayoutError, LayoutRequest};
use super::period::{self, DateRange, PeriodError};
use super::query::{build_query, ensure_expand, parse_pair, QueryError};
use super::resource::Resource;
use super::sink::{OutputFormat, SinkError, SinkOptions, XLSX_MAX_DATA_ROWS};
use super::template::{self, TemplateError, TemplateVars};
use crate::api::ListQuery;
use crate::error::ErrorKind;
use chrono::NaiveDate;
use std::path::{Path, PathBuf};

/// The export as asked for (the command line, or a program).
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub resource: Resource,
    /// The output path, possibly with `{period}`, `{date}`, `{from}`, `{to}`, `{resource}`.
    pub output: String,
    /// Defaults to the output's extension.
    pub format: Option<OutputFormat>,
    /// `key=value`.
    pub filters: Vec<String>,
    /// `key=value`.
    pub metadata: Vec<String>,
    pub expand: Vec<String>,
    pub sort: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub period: Option<String>,
    pub columns: Option<String>,
    pub mapping: Option<PathBuf>,
    pub lines: bool,
    /// The bookmark's name for an incremental export.
    pub incremental: Option<String>,
    pub bom: bool,
    /// CSV delimiter: one ASCII character, or `tab`.
    pub delimiter: Option<String>,
    /// XLSX data rows per sheet (tests set it small).
    pub sheet_rows: Option<u32>,
    /// Count and sum what is written, by currency and month: a `Totals`
    /// sheet (XLSX), or `NAME.totals.csv` beside the file.
    pub control_totals: bool,
}

impl ExportRequest {
    /// A request for `resource` to `output`, everything else default.
    pub fn new(resource: Resource, output: impl Into<String>) -> Self {
        ExportRequest {
            resource,
            output: output.into(),
            format: None,
            filters: Vec::new(),
            metadata: Vec::new(),
            expand: Vec::new(),
            sort: None,
            from: None,
            to: None,
            period: None,
            columns: None,
            mapping: None,
            lines: false,
            incremental: None,
            bom: false,
            delimiter: None,
            sheet_rows: None,
            control_totals: false,
        }
    }
}

/// An incremental export's bookmark: its name and the ledger that keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Incremental {
    pub name: String,
    pub ledger: PathBuf,
}

/// The export resolved: every option checked.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub resource: Resource,
    /// The final output path (placeholders expanded).
    pub output: PathBuf,
    pub range: DateRange,
    pub query: ListQuery,
    pub layout: Layout,
    pub sink: SinkOptions,
    pub incremental: Option<Incremental>,
    /// Cancelled (Ctrl-C): the export stops and leaves the target as it was.
    pub cancel: tokio_util::sync::CancellationToken,
}

/// What an export did; `--json` prints it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExportSummary {
    pub resource: Resource,
    pub path: PathBuf,
    pub format: OutputFormat,
    /// Data rows written (all sheets; headers not counted).
    pub rows: u64,
    /// Distinct objects written.
    pub objects: u64,
    /// X-Total-Count of the first page.
    pub total: Option<u64>,
    /// Objects received twice while paging and dropped.
    pub repeats: u64,
    /// Objects dropped because the previous incremental run wrote them.
    pub already_exported: u64,
    /// XLSX sheet names, in order.
    pub sheets: Vec<String>,
    /// `{period}`'s value: `2026-10`, `all`, ...
    pub period: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// The bookmark saved (incremental exports).
    pub bookmark: Option<BookmarkSummary>,
    /// `--control-totals` of a CSV or JSON Lines export: the file beside
    /// it (an XLSX holds them in its `Totals` sheet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totals_file: Option<PathBuf>,
}

/// The bookmark an incremental export left.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BookmarkSummary {
    pub name: String,
    /// The highest `updated_at` exported (Unix seconds).
    pub updated_at: i64,
    /// Whether this run moved it.
    pub advanced: bool,
    #[serde(skip)]
    pub watermark: Watermark,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Period(#[from] PeriodError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("cannot tell the format of {}: name it .xlsx, .csv or .jsonl, or pass --format", .0.display())]
    UnknownFormat(PathBuf),
    #[error("invalid --delimiter `{0}`: expected one ASCII character (`;`, `,`, `|`) or `tab`")]
    Delimiter(String),
    #[error("{0} applies to CSV output only")]
    CsvOnly(&'static str),
    #[error("--control-totals sums amounts; {0} have none (it applies to invoices, credit notes and payments)")]
    NoTotals(Resource),
    #[error("--sheet-rows must be between 1 and {XLSX_MAX_DATA_ROWS}, found {0}")]
    SheetRows(u32),
    #[error("failed to list {resource}")]
    Api {
        resource: Resource,
        #[source]
        source: crate::api::ApiError,
    },
    #[error(transparent)]
    Write(#[from] SinkError),
    #[error(transparent)]
    Fs(#[from] crate::fs::FsError),
    #[error("the export bookmark `{name}` could not be read or saved")]
    Ledger {
        name: String,
        #[source]
        source: crate::ledger::LedgerError,
    },
    #[error("the export was interrupted; {} was left as it was", .0.display())]
    Interrupted(PathBuf),
    #[error("the export's writer stopped unexpectedly: {0}")]
    Writer(String),
}

impl ExportError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ExportError::Layout(LayoutError::Read(_)) => ErrorKind::Input,
            ExportError::Period(_)
            | ExportError::Query(_)
            | ExportError::Layout(_)
            | ExportError::Template(_)
            | ExportError::UnknownFormat(_)
            | ExportError::Delimiter(_)
            | ExportError::CsvOnly(_)
            | ExportError::NoTotals(_)
            | ExportError::SheetRows(_) => ErrorKind::Usage,
            ExportError::Api { .. } => ErrorKind::Api,
            ExportError::Write(_)
            | ExportError::Fs(_)
            | ExportError::Ledger { .. }
            | ExportError::Writer(_) => ErrorKind::Input,
            ExportError::Interrupted(_) => ErrorKind::Interrupted,
        }
    }
}

fn parse_delimiter(s: &str) -> Result<u8, ExportError> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" && s != "\r" => {
            Ok(s.as_bytes()[0])
        }
        _ => Err(ExportError::Delimiter(s.to_string())),
    }
}

impl ExportRequest {
    /// Check everything and resolve dates relative to `today` (Chisinau).
    /// `ledger` is where bookmarks live (needed only with `incremental`).
    pub fn resolve(&self, today: NaiveDate, ledger: &Path) -> Result<ExportOptions, ExportError> {
        let r = self.resource;
        let range = period::resolve(
            self.period.as_deref(),
            self.from.as_deref(),
            self.to.as_deref(),
            today,
        )?;
        let output = template::expand(
            &self.output,
            &TemplateVars {
                range: &range,
                today,
                resource: r,
            },
        )?;
        let format = match self.format {
            Some(f) => f,
            None => OutputFormat::from_path(&output)
                .ok_or_else(|| ExportError::UnknownFormat(output.clone()))?,
        };
        if format != OutputFormat::Csv {
            if self.bom {
                return Err(ExportError::CsvOnly("--bom"));
            }
            if self.delimiter.is_some() {
                return Err(ExportError::CsvOnly("--delimiter"));
            }
        }
        let delimiter = self
            .delimiter
            .as_deref()
            .map(parse_delimiter)
            .transpose()?
            .unwrap_or(b',');
        if self.control_totals && r == Resource::Customers {
            return Err(ExportError::NoTotals(r));
        }
        let sheet_rows = match self.sheet_rows {
            None => XLSX_MAX_DATA_ROWS,
            Some(n @ 1..=XLSX_MAX_DATA_ROWS) => n,
            Some(n) => return Err(ExportError::SheetRows(n)),
        };
        let pairs = |flag, v: &[String]| {
            v.iter()
                .map(|s| parse_pair(flag, s))
                .collect::<Result<Vec<_>, _>>()
        };
        let filters = pairs("--filter", &self.filters)?;
        let metadata = pairs("--metadata", &self.metadata)?;
        let mut query = build_query(
            r,
            &filters,
            &metadata,
            &self.expand,
            self.sort.as_deref(),
            &range,
        )?;
        let layout = Layout::build(
            r,
            &LayoutRequest {
                columns: self.columns.clone(),
                mapping: self.mapping.clone(),
                lines: self.lines,
                expand_customer: query.expand.iter().any(|e| e == "customer"),
            },
        )?;
        if layout.needs_customer {
            ensure_expand(&mut query, "customer");
        }
        let jsonl_objects = format == OutputFormat::Jsonl
            && self.columns.is_none()
            && self.mapping.is_none()
            && !layout.lines;
        Ok(ExportOptions {
            resource: r,
            output,
            range,
            query,
            layout,
            sink: SinkOptions {
                format,
                bom: self.bom,
                delimiter,
                sheet_rows,
                jsonl_objects,
                control_totals: self.control_totals.then_some(r),
                marker: None,
            },
            incremental: self.incremental.as_ref().map(|name| Incremental {
                name: name.clone(),
                ledger: ledger.to_path_buf(),
            }),
            cancel: tokio_util::sync::CancellationToken::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    #[test]
    fn resolves_a_monthly_export() {
        let mut req = ExportRequest::new(Resource::Invoices, "out/invoices-{period}.xlsx");
        req.period = Some("last-month".into());
        req.columns = Some("number,customer.tax_id,total".into());
        let o = req.resolve(today(), Path::new("l.db")).unwrap();
        assert_eq!(o.output, PathBuf::from("out/invoices-2026-10.xlsx"));
        assert_eq!(o.sink.format, OutputFormat::Xlsx);
        assert_eq!(o.query.expand, ["customer"]);
        assert!(o.query.start_date.is_some() && o.query.end_date.is_some());
        assert!(o.incremental.is_none());
    }

    #[test]
    fn usage_errors() {
        let kind = |req: ExportRequest| req.resolve(today(), Path::new("l.db")).unwrap_err();
        let e = kind(ExportRequest::new(Resource::Invoices, "out.pdf"));
        assert!(matches!(e, ExportError::UnknownFormat(_)));
        let mut r = ExportRequest::new(Resource::Invoices, "out.xlsx");
        r.bom = true;
        assert_eq!(kind(r).to_string(), "--bom applies to CSV output only");
        let mut r = ExportRequest::new(Resource::Invoices, "out.csv");
        r.delimiter = Some(";;".into());
        assert_eq!(kind(r).kind(), ErrorKind::Usage);
        let mut r = ExportRequest::new(Resource::Invoices, "out.csv");
        r.delimiter = Some("tab".into());
        assert_eq!(
            r.resolve(today(), Path::new("l")).unwrap().sink.delimiter,
            b'\t'
        );
        let mut r = ExportRequest::new(Resource::Invoices, "out.csv");
        r.filters = vec!["colour=red".into()];
        assert!(kind(r).to_string().contains("filterable: number, customer"));
        let mut r = ExportRequest::new(Resource::Customers, "out.csv");
        r.mapping = Some("/no/such/export-x.toml".into());
        assert_eq!(kind(r).kind(), ErrorKind::Input);
    }

    #[test]
    fn jsonl_writes_objects_unless_shaped() {
        let r = ExportRequest::new(Resource::Payments, "p.jsonl");
        assert!(
            r.resolve(today(), Path::new("l"))
                .unwrap()
                .sink
                .jsonl_objects
        );
        let mut r = ExportRequest::new(Resource::Payments, "p.jsonl");
        r.columns = Some("id,amount".into());
        assert!(
            !r.resolve(today(), Path::new("l"))
                .unwrap()
                .sink
                .jsonl_objects
        );
    }
}
