//! The export engine, independent of HTTP: pages of API objects go in (from
//! any stream), rows come out into a [`Sink`] writing a temporary file
//! beside the target, renamed into place only when complete.
//!
//! The stream is polled on the async side; a blocking task flattens and
//! writes. Between them a bounded channel of [`PREFETCH_PAGES`] pages lets
//! the next requests run while a page is written, and bounds memory.
//! Repeats are dropped by id (a page boundary can shift while paging).

use super::bookmark::{Tracker, Watermark};
use super::columns::{Cell, Column};
use super::layout::Table;
use super::sink::{self, OutputFormat, Sink, SinkError, SinkOptions, SinkStats};
use super::spool::Spool;
use super::totals::{totals_path, ControlTotals};
use super::xlsx::fitted_width;
use crate::progress::Progress;
use futures::{Stream, StreamExt};
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Pages waiting between the reader and the writer.
pub const PREFETCH_PAGES: usize = 4;

/// Objects whose values size the XLSX columns (the first page).
pub(super) const WIDTH_SAMPLE: usize = 100;

/// One page as the engine needs it.
#[derive(Debug, Clone)]
pub struct RawPage {
    pub items: Vec<Value>,
    /// X-Total-Count, when sent.
    pub total: Option<u64>,
}

/// What the engine wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub stats: SinkStats,
    /// Distinct objects written.
    pub objects: u64,
    /// Objects received more than once and dropped.
    pub repeats: u64,
    /// Objects dropped because the previous incremental run wrote them.
    pub already_exported: u64,
    /// The new watermark (incremental exports).
    pub watermark: Option<Watermark>,
    /// `--control-totals` beside a CSV or JSON Lines file: where they went.
    pub totals_file: Option<PathBuf>,
}

/// Failures of the engine: the stream's own error, or writing.
#[derive(Debug, thiserror::Error)]
pub enum EngineError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Source(E),
    #[error(transparent)]
    Write(#[from] SinkError),
    #[error(transparent)]
    Fs(#[from] crate::fs::FsError),
    #[error("the export was interrupted; {} was left as it was", .0.display())]
    Interrupted(PathBuf),
    #[error("the export's writer stopped unexpectedly: {0}")]
    Writer(String),
}

/// The page consumer: flattens objects into rows and writes them.
pub struct PageWriter {
    target: PathBuf,
    tmp: Option<tempfile::NamedTempFile>,
    opts: SinkOptions,
    tables: Vec<Table>,
    sink: Option<Box<dyn Sink>>,
    seen: HashSet<i64>,
    tracker: Option<Tracker>,
    objects: u64,
    repeats: u64,
    already: u64,
    cells: Vec<Cell>,
    totals: Option<ControlTotals>,
    /// Rows handed to the sink (the export's own, without its totals).
    rows: u64,
    /// With `metadata.*` columns: the objects until their keys are known.
    spool: Option<Spool>,
    /// With `metadata.*` columns: whether the rows are being written as the
    /// pages come, on the guess that the first objects' keys are all.
    guess: Guess,
}

/// Writing while paging despite `metadata.*` columns, whose number is known
/// only at the end: once [`WIDTH_SAMPLE`] objects have come (the ones that
/// size the columns anyway), the columns are expanded for the keys they
/// hold, and the rows are written as they come, while the spool still
/// holds every object. An object with a key not seen before ends the
/// guess: that file is dropped and the spool replayed at the end as
/// without it. The spool's file is dropped when the guess holds.
enum Guess {
    /// Not yet [`WIDTH_SAMPLE`] objects.
    Waiting,
    /// Rows written as they come; the tables as they were before the
    /// expansion, and the spool's ids of the keys it expanded, in the
    /// expanded columns' order.
    Writing {
        unexpanded: Vec<Table>,
        ids: Vec<u32>,
    },
    /// A key came that the guess did not have: the spool to the end.
    Dropped,
}

fn id_of(v: &Value) -> Option<i64> {
    v.get("id")?.as_i64()
}

fn updated_at_of(v: &Value) -> Option<i64> {
    v.get("updated_at")?.as_i64()
}

/// The line items of a document (an empty slice when it has none).
fn lines_of(doc: &Value) -> &[Value] {
    doc.get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The rows of one object, as `(table, line)`, in the order they are
/// written: per table, one row, or one per line item (an object without
/// items still gets one).
fn rows_of<'a>(
    tables: &'a [Table],
    doc: &'a Value,
) -> impl Iterator<Item = (usize, Option<&'a Value>)> + 'a {
    tables.iter().enumerate().flat_map(move |(i, t)| {
        let lines = if t.per_line { lines_of(doc) } else { &[] };
        let bare = lines.is_empty().then_some((i, None));
        bare.into_iter()
            .chain(lines.iter().map(move |l| (i, Some(l))))
    })
}

fn fill(cells: &mut Vec<Cell>, columns: &[Column], doc: &Value, line: Option<&Value>) {
    cells.clear();
    cells.extend(columns.iter().map(|c| c.cell(doc, line)));
}

impl PageWriter {
    /// A writer for `target`; `incremental` is `Some(previous watermark)`
    /// for incremental exports.
    pub fn new(
        target: &Path,
        tables: Vec<Table>,
        opts: SinkOptions,
        incremental: Option<Option<Watermark>>,
    ) -> Result<PageWriter, crate::fs::FsError> {
        let tmp = crate::fs::temp_beside(target)?;
        let spool = if Spool::needed(&tables, &opts) {
            Some(Spool::new(target)?)
        } else {
            None
        };
        Ok(PageWriter {
            target: target.to_path_buf(),
            tmp: Some(tmp),
            tables,
            sink: None,
            seen: HashSet::new(),
            tracker: incremental.map(Tracker::new),
            objects: 0,
            repeats: 0,
            already: 0,
            cells: Vec::new(),
            totals: opts.control_totals.and_then(ControlTotals::new),
            rows: 0,
            opts,
            spool,
            guess: Guess::Waiting,
        })
    }

    fn widths(&self, sample: &[Value]) -> Vec<Vec<f64>> {
        if self.opts.format != OutputFormat::Xlsx {
            return Vec::new();
        }
        let sample = &sample[..sample.len().min(WIDTH_SAMPLE)];
        self.tables
            .iter()
            .map(|t| {
                t.columns
                    .iter()
                    .map(|c| {
                        if let Some(w) = c.width {
                            return w;
                        }
                        let lens = sample.iter().flat_map(|doc| {
                            let lines: Vec<Option<&Value>> = if t.per_line && c.field.line {
                                lines_of(doc).iter().take(5).map(Some).collect()
                            } else {
                                vec![None]
                            };
                            lines.into_iter().map(move |l| c.cell(doc, l).display_len())
                        });
                        fitted_width(&c.header, c.format, lens)
                    })
                    .collect()
            })
            .collect()
    }

    fn open(&mut self, sample: &[Value]) -> Result<(), SinkError> {
        if self.sink.is_some() {
            return Ok(());
        }
        let widths = self.widths(sample);
        let tmp = self.tmp.as_ref().expect("open before finish");
        let file = tmp.as_file().try_clone().map_err(|source| SinkError::Io {
            path: self.target.clone(),
            source,
        })?;
        self.sink = Some(sink::open(
            &self.opts,
            file,
            &self.target,
            &self.tables,
            &widths,
        )?);
        Ok(())
    }

    /// Write one page; returns how many new objects it held.
    pub fn page(&mut self, items: &[Value]) -> Result<u64, SinkError> {
        if self.spool.is_none() {
            self.open(items)?;
        }
        let mut new = 0;
        for doc in items {
            if let Some(id) = id_of(doc) {
                if !self.seen.insert(id) {
                    self.repeats += 1;
                    continue;
                }
                if let (Some(t), Some(at)) = (self.tracker.as_mut(), updated_at_of(doc)) {
                    if t.skip(id, at) {
                        self.already += 1;
                        continue;
                    }
                    t.saw(id, at);
                }
            }
            new += 1;
            if let Some(t) = &mut self.totals {
                t.add(doc).map_err(|e| SinkError::Overflow {
                    path: self.target.clone(),
                    what: e.0,
                })?;
            }
            if self.spool.is_some() {
                self.hold(doc)?;
                continue;
            }
            self.write(doc)?;
        }
        self.objects += new;
        Ok(new)
    }

    /// With `metadata.*` columns: hold the object in the spool and, while
    /// the guess holds, write its rows too, flattened once for both.
    fn hold(&mut self, doc: &Value) -> Result<(), SinkError> {
        if let (Guess::Writing { .. }, Some(spool)) = (&self.guess, &self.spool) {
            if spool.knows_keys(doc) {
                return self.write_held(doc);
            }
            self.drop_guess()?;
        }
        let Some(spool) = &mut self.spool else {
            return Ok(());
        };
        spool
            .hold(&self.tables, doc, rows_of(&self.tables, doc))
            .map_err(|source| SinkError::Io {
                path: self.target.clone(),
                source,
            })?;
        if matches!(self.guess, Guess::Waiting) && spool.sample().len() >= WIDTH_SAMPLE {
            self.start_guess()?;
        }
        Ok(())
    }

    /// An object whose metadata keys the guess has: its rows to the sink,
    /// and to the spool in case a later object ends the guess.
    fn write_held(&mut self, doc: &Value) -> Result<(), SinkError> {
        let (Guess::Writing { unexpanded, ids }, Some(sink), Some(spool)) =
            (&self.guess, self.sink.as_mut(), self.spool.as_mut())
        else {
            return Ok(());
        };
        for (i, line) in rows_of(&self.tables, doc) {
            fill(&mut self.cells, &self.tables[i].columns, doc, line);
            spool
                .hold_row(&unexpanded[i], i, &self.cells, ids)
                .map_err(|source| SinkError::Io {
                    path: self.target.clone(),
                    source,
                })?;
            sink.row(i, &self.cells)?;
            self.rows += 1;
        }
        Ok(())
    }

    /// Write one object's rows.
    fn write(&mut self, doc: &Value) -> Result<(), SinkError> {
        let sink = self.sink.as_mut().expect("opened before writing");
        if self.opts.jsonl_objects {
            return sink.object(doc);
        }
        for (i, line) in rows_of(&self.tables, doc) {
            fill(&mut self.cells, &self.tables[i].columns, doc, line);
            sink.row(i, &self.cells)?;
            self.rows += 1;
        }
        Ok(())
    }

    /// [`WIDTH_SAMPLE`] objects have come: expand the `metadata.*` columns
    /// for the keys they hold, open the sink and write them (see [`Guess`]).
    fn start_guess(&mut self) -> Result<(), SinkError> {
        let Some(spool) = &self.spool else {
            return Ok(());
        };
        let unexpanded = self.tables.clone();
        spool.expand(&mut self.tables);
        let (sample, ids) = (spool.sample().to_vec(), spool.sorted_ids());
        self.open(&sample)?;
        self.guess = Guess::Writing { unexpanded, ids };
        for doc in &sample {
            self.write(doc)?;
        }
        Ok(())
    }

    /// A key the guess did not have: its file is dropped (a fresh one
    /// takes its place), and the spool goes on to the end.
    fn drop_guess(&mut self) -> Result<(), SinkError> {
        let Guess::Writing { unexpanded, .. } = std::mem::replace(&mut self.guess, Guess::Dropped)
        else {
            return Ok(());
        };
        tracing::debug!(
            objects = self.objects,
            "a metadata key came after the first objects: the rows are written at the end"
        );
        self.sink = None;
        self.tables = unexpanded;
        self.rows = 0;
        let fresh = crate::fs::temp_beside(&self.target).map_err(|e| SinkError::Io {
            path: e.path,
            source: e.source,
        })?;
        self.tmp = Some(fresh);
        Ok(())
    }

    /// The metadata keys are known: expand the `metadata.*` columns, open
    /// the sink, and write the objects held back (unless the guess held:
    /// they are written).
    fn unspool(&mut self) -> Result<(), SinkError> {
        let Some(spool) = self.spool.take() else {
            return Ok(());
        };
        if matches!(self.guess, Guess::Writing { .. }) {
            return Ok(());
        }
        let unexpanded = self.tables.clone();
        spool.expand(&mut self.tables);
        self.open(spool.sample())?;
        let sink = self.sink.as_mut().expect("opened above");
        let rows = &mut self.rows;
        spool.replay(&self.target, &unexpanded, |table, cells| {
            *rows += 1;
            sink.row(table, cells)
        })
    }

    /// Complete the file and move it into place (with its control totals:
    /// a sheet of its own, or a file beside it renamed into place after it).
    pub fn finish(mut self) -> Result<Written, SinkError> {
        self.unspool()?;
        self.open(&[])?;
        let mut sink = self.sink.take().expect("opened above");
        let beside = match self.totals.take() {
            Some(t) => self.write_totals(&mut *sink, &t)?,
            None => None,
        };
        let mut stats = sink.finish()?;
        if beside.is_none() && self.opts.control_totals.is_some() {
            // The Totals sheet's rows are not the export's.
            stats.rows = self.rows;
        }
        let tmp = self.tmp.take().expect("finish is called once");
        crate::fs::persist(tmp, &self.target).map_err(|e| SinkError::Io {
            path: e.path,
            source: e.source,
        })?;
        let totals_file = match beside {
            Some((tmp, path)) => {
                crate::fs::persist(tmp, &path).map_err(|e| SinkError::Io {
                    path: e.path,
                    source: e.source,
                })?;
                Some(path)
            }
            None => None,
        };
        Ok(Written {
            stats,
            objects: self.objects,
            repeats: self.repeats,
            already_exported: self.already,
            watermark: self.tracker.and_then(Tracker::finish),
            totals_file,
        })
    }

    /// The control totals: a table of `sink` when it holds more than one,
    /// else a CSV beside the target, written to a temporary file (returned
    /// with its final path) that is renamed once the export is in place.
    fn write_totals(
        &mut self,
        sink: &mut dyn Sink,
        totals: &ControlTotals,
    ) -> Result<Option<(tempfile::NamedTempFile, PathBuf)>, SinkError> {
        let overflow = |e: super::totals::Overflow| SinkError::Overflow {
            path: self.target.clone(),
            what: e.0,
        };
        let table = totals.table();
        let rows = totals.rows().map_err(overflow)?;
        let widths: Vec<f64> = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                fitted_width(
                    &c.header,
                    c.format,
                    rows.iter().map(|r| r.get(i).map_or(0, Cell::display_len)),
                )
            })
            .collect();
        if let Some(i) = sink.add_table(&table, &widths)? {
            for r in &rows {
                sink.row(i, r)?;
            }
            return Ok(None);
        }
        let path = totals_path(&self.target);
        let tmp = crate::fs::temp_beside(&path).map_err(|e| SinkError::Io {
            path: e.path,
            source: e.source,
        })?;
        // Shaped as the export: the same delimiter and byte order mark.
        let file = tmp.as_file().try_clone().map_err(|source| SinkError::Io {
            path: path.clone(),
            source,
        })?;
        let opts = SinkOptions {
            format: OutputFormat::Csv,
            ..self.opts.clone()
        };
        let mut csv = sink::open(&opts, file, &path, std::slice::from_ref(&table), &[])?;
        for r in &rows {
            csv.row(0, r)?;
        }
        csv.finish()?;
        Ok(Some((tmp, path)))
    }
}

/// Drive `pages` into `writer` until the stream ends, then complete the
/// file. On a stream error, a write error or `cancel`, the temporary file is
/// removed and the target left as it was.
pub async fn drive<S, E>(
    pages: S,
    writer: PageWriter,
    progress: &dyn Progress,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<Written, EngineError<E>>
where
    S: Stream<Item = Result<RawPage, E>>,
    E: std::error::Error + 'static,
{
    let target = writer.target.clone();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Value>>(PREFETCH_PAGES);
    let handle = tokio::task::spawn_blocking(move || -> Result<PageWriter, SinkError> {
        let mut writer = writer;
        while let Some(items) = rx.blocking_recv() {
            writer.page(&items)?;
        }
        Ok(writer)
    });
    let mut pages = std::pin::pin!(pages);
    let mut first = true;
    let mut failure: Option<EngineError<E>> = None;
    loop {
        let next = tokio::select! {
            biased;
            _ = cancel.cancelled() => {
                failure = Some(EngineError::Interrupted(target.clone()));
                break;
            }
            next = pages.next() => next,
        };
        match next {
            None => break,
            Some(Err(e)) => {
                failure = Some(EngineError::Source(e));
                break;
            }
            Some(Ok(page)) => {
                if first {
                    if let Some(t) = page.total {
                        progress.set_total(t);
                    }
                    first = false;
                }
                let n = page.items.len() as u64;
                if tx.send(page.items).await.is_err() {
                    // The writer stopped: its error is reported below.
                    break;
                }
                progress.advance(n);
            }
        }
    }
    drop(tx);
    let joined = handle
        .await
        .map_err(|e| EngineError::Writer(e.to_string()))?;
    if let Some(f) = failure {
        // Dropping the writer (inside `joined`) removes the temporary file.
        drop(joined);
        return Err(f);
    }
    let writer = joined?;
    let written = tokio::task::spawn_blocking(move || writer.finish())
        .await
        .map_err(|e| EngineError::Writer(e.to_string()))??;
    Ok(written)
}

#[cfg(test)]
mod tests;
