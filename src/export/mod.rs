//! Export: API lists → rows → XLSX, CSV or JSON Lines, in constant memory.
//!
//! ```text
//! query (filters, period) ─▶ pages (client stream, prefetch) ─▶ engine (dedupe, flatten by layout) ─▶ sink ─▶ temp file ─▶ rename
//! ```
//!
//! - [`period`]: `--period`/`--from`/`--to` as Chisinau calendar days.
//! - [`query`]: filters, metadata, expand and sort checked against API.md.
//! - [`resource`]: the four resources, their fields and default columns.
//! - [`columns`]: field paths, formats and typed cells; formula neutralisation.
//! - [`layout`]: default columns, `--columns`, export mapping files; sheets.
//! - [`engine`]: pages in, rows out, the file renamed into place when complete;
//!   `spool`: objects held back until their metadata keys are known (`metadata.*`).
//! - [`sink`], [`xlsx`], [`csv`], [`jsonl`]: the writers.
//! - [`totals`]: `--control-totals`, counts and sums by currency and month.
//! - [`template`]: `{period}`, `{date}`, `{from}`, `{to}`, `{resource}` in output paths.
//! - [`bookmark`]: incremental exports' watermark (API.md "Lists").
//! - [`options`]: the request checked and resolved; the summary; the errors.
//!
//! [`run_export`] is the one entry point: the command resolves an
//! [`ExportRequest`] and calls it.

pub mod bookmark;
pub mod columns;
pub mod csv;
pub mod engine;
pub mod jsonl;
pub mod layout;
mod lean;
pub mod options;
pub mod period;
pub mod query;
pub mod resource;
pub mod sink;
mod spool;
pub mod template;
pub mod totals;
pub mod xlsx;

pub use layout::{Layout, LayoutRequest};
pub use options::{
    BookmarkSummary, ExportError, ExportOptions, ExportRequest, ExportSummary, Incremental,
};
pub use resource::Resource;
pub use sink::{Marker, OutputFormat, SinkOptions};

use crate::api::Client;
use crate::ledger::{Bookmark, Ledger};
use crate::progress::Progress;
use bookmark::Watermark;
use engine::{drive, EngineError, PageWriter, RawPage};
use futures::StreamExt;
use std::sync::Mutex;

/// Pages decoded at once (this machine has 2 cores; the writer has one).
const DECODERS: usize = 2;

/// Records X-Total-Count on its way to the caller's progress.
struct Recorder<'a> {
    inner: &'a dyn Progress,
    total: Mutex<Option<u64>>,
}

impl Progress for Recorder<'_> {
    fn set_total(&self, objects: u64) {
        if let Ok(mut t) = self.total.lock() {
            *t = Some(objects);
        }
        self.inner.set_total(objects);
    }
    fn advance(&self, objects: u64) {
        self.inner.advance(objects);
    }
}

/// Export `opts.resource` to `opts.output`: page through the list, write
/// rows as they come, rename the finished file into place, and only then
/// move an incremental export's bookmark.
pub async fn run_export(
    client: &Client,
    opts: &ExportOptions,
    progress: &dyn Progress,
) -> Result<ExportSummary, ExportError> {
    let ledger_err = |name: &str| {
        let name = name.to_string();
        move |source| ExportError::Ledger { name, source }
    };
    let (ledger, previous) = match &opts.incremental {
        Some(inc) => {
            let ledger = Ledger::open(&inc.ledger).map_err(ledger_err(&inc.name))?;
            let previous = ledger
                .bookmark(&inc.name)
                .map_err(ledger_err(&inc.name))?
                .map(|b| Watermark {
                    updated_at: b.updated_at,
                    ids: b.ids,
                });
            (Some(ledger), Some(previous))
        }
        None => (None, None),
    };
    let mut query = opts.query.clone();
    if let Some(Some(w)) = &previous {
        query.updated_after = Some(w.updated_after());
    }
    let tables = opts.layout.tables(opts.sink.format == OutputFormat::Xlsx);
    let mut sink = opts.sink.clone();
    if sink.format == OutputFormat::Xlsx && opts.layout.reads_back() {
        sink.marker = Some(sink::Marker {
            resource: opts.resource.name(),
            lines: opts.layout.lines,
        });
    }
    // What no column reads is skipped as the pages are decoded.
    let unread: std::sync::Arc<[String]> =
        lean::unread(&tables, sink.control_totals.is_some()).into();
    let writer = PageWriter::new(&opts.output, tables, sink, previous.clone())?;
    let recorder = Recorder {
        inner: progress,
        total: Mutex::new(None),
    };
    // Pages are decoded on the blocking pool, DECODERS at a time, in order:
    // JSON decoding is most of the exporter's own work, and the next page's
    // request and decoding then run while the writer flattens this one.
    let pages = client
        .list_bodies(opts.resource.path(), &query)
        .map(|body| {
            let unread = unread.clone();
            async move {
                let body = body?;
                let request = body.request();
                let page = tokio::task::spawn_blocking(move || {
                    body.decode_with(lean::Objects { skip: &unread })
                })
                .await
                .map_err(|e| {
                    if e.is_panic() {
                        std::panic::resume_unwind(e.into_panic());
                    }
                    crate::api::ApiError::BadRequest {
                        request,
                        message: "decoding the page was cancelled".into(),
                    }
                })??;
                Ok(RawPage {
                    items: page.items,
                    total: page.total,
                })
            }
        })
        .buffered(DECODERS);
    let written = drive(pages, writer, &recorder, &opts.cancel)
        .await
        .map_err(|e| match e {
            EngineError::Source(source) => ExportError::Api {
                resource: opts.resource,
                source,
            },
            EngineError::Write(e) => ExportError::Write(e),
            EngineError::Fs(e) => ExportError::Fs(e),
            EngineError::Interrupted(p) => ExportError::Interrupted(p),
            EngineError::Writer(m) => ExportError::Writer(m),
        })?;
    // The file is in place: now, and only now, the bookmark moves.
    let bookmark = match (&opts.incremental, ledger, written.watermark.clone()) {
        (Some(inc), Some(ledger), Some(w)) => {
            let previous = previous.flatten();
            let advanced = previous.as_ref() != Some(&w);
            if advanced {
                let b = Bookmark {
                    updated_at: w.updated_at,
                    ids: w.ids.clone(),
                    saved_at: 0,
                };
                ledger
                    .set_bookmark(&inc.name, &b)
                    .map_err(ledger_err(&inc.name))?;
            }
            Some(BookmarkSummary {
                name: inc.name.clone(),
                updated_at: w.updated_at,
                advanced,
                watermark: w,
            })
        }
        _ => None,
    };
    let total = recorder.total.lock().ok().and_then(|t| *t);
    Ok(ExportSummary {
        resource: opts.resource,
        path: opts.output.clone(),
        format: opts.sink.format,
        rows: written.stats.rows,
        objects: written.objects,
        total,
        repeats: written.repeats,
        already_exported: written.already_exported,
        sheets: written.stats.sheets,
        period: opts.range.label.clone(),
        from: opts.range.from,
        to: opts.range.to,
        bookmark,
        totals_file: written.totals_file,
    })
}
