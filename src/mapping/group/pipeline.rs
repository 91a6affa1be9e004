//! The threaded pipeline behind [`Drafts`]: each file in turn on a reader
//! thread (both passes, or one for a [`Restartable`] stream), completed
//! documents handed in batches of about
//! [`BATCH_ROWS`] rows to the `rayon` pool to be built (and, with
//! [`drafts_then`], taken a step further), and the consumer taking the
//! batches in the order they were handed on, at most [`QUEUED`] ahead.

use super::assemble::build;
use super::grouper::{first_pass, plain_first_pass, Grouper};
use super::{Done, DraftStats};
use crate::mapping::compile::Plan;
use crate::mapping::{Mapping, MappingError};
use crate::model::Draft;
use crate::read::{self, Detected, ReadError, SourceRow};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The drafts of the given files, in order; see the module docs for
/// grouping. With [`drafts_then`], each draft goes through a further step on
/// the thread pool and the stream yields its results instead.
pub struct Drafts<T = Draft> {
    mapping: Mapping,
    files: Vec<PathBuf>,
    plans: Vec<Arc<Plan>>,
    detected: Vec<(PathBuf, Detected)>,
    then: Then<T>,
    next_file: usize,
    cur: Option<std::sync::mpsc::Receiver<Batch<T>>>,
    queue: std::vec::IntoIter<T>,
    stats: DraftStats,
    failed: bool,
    /// Documents the first passes of the files started so far counted.
    counted: Arc<AtomicU64>,
    /// For each file, whether to read it in one pass ([`Restartable`]).
    one_pass: Vec<bool>,
}

/// What [`Restartable::next_step`] gives: the next result, or word that
/// the stream starts over from its first document.
#[derive(Debug)]
pub enum Step<T> {
    Item(T),
    /// Forget every result so far: they come again, from the first.
    Restart,
}

/// A stream of drafts (see [`Drafts::restartable`]) that reads a file
/// grouped by key in one pass, taking each document's rows to be adjacent,
/// and starts over, reading that file in two passes, when a key comes back
/// after its document was handed on. It reads a CSV file by the quick
/// splitter in one pass too, and starts over with the parser if the file
/// turns out to need it.
#[derive(Debug)]
pub struct Restartable<T>(Drafts<T>);

/// What is done with each draft as soon as it is built.
type Then<T> = Arc<dyn Fn(Draft) -> T + Send + Sync>;

impl<T> std::fmt::Debug for Drafts<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drafts")
            .field("files", &self.files)
            .field("stats", &self.stats)
            .finish()
    }
}

/// Open every file, compile the mapping against each one's headers (before
/// any row is read), and return the stream of drafts. A file that cannot be
/// read at all is `Err(MappingError::Read)` here (exit 3) or a fatal
/// `Err` item later (reading stops there); a row that cannot be read is a
/// problem on a draft and reading goes on.
pub fn drafts(mapping: &Mapping, files: &[PathBuf]) -> Result<Drafts, MappingError> {
    drafts_then(mapping, files, |d| d)
}

/// As [`drafts`], with `then` applied to each draft on the thread pool as
/// soon as it is built (validation, say), in parallel with reading and
/// with the other drafts; the results come out in input order.
pub fn drafts_then<T: Send + 'static>(
    mapping: &Mapping,
    files: &[PathBuf],
    then: impl Fn(Draft) -> T + Send + Sync + 'static,
) -> Result<Drafts<T>, MappingError> {
    let mut plans = Vec::new();
    let mut detected = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        let src = read::open(f, mapping.source())?;
        let d = src.detected().clone();
        if let (Some(enc), Some(conf)) = (d.encoding, d.confidence) {
            tracing::info!(file = %f.display(), encoding = enc, confidence = conf, "input encoding");
        }
        if d.sheets.len() > 1 {
            tracing::info!(file = %f.display(), sheets = ?d.sheets, "sheets read");
        }
        for note in &d.notes {
            tracing::warn!("{}: {note}", f.display());
        }
        match mapping.compile_for(src.headers(), &f.display().to_string()) {
            Ok(p) => plans.push(Arc::new(p)),
            Err(MappingError::Invalid(s)) => errors.push(s),
            Err(e) => return Err(e),
        }
        detected.push((f.clone(), d));
    }
    if !errors.is_empty() {
        return Err(MappingError::Invalid(errors.join("\n\n")));
    }
    Ok(Drafts {
        mapping: mapping.clone(),
        files: files.to_vec(),
        plans,
        detected,
        then: Arc::new(then),
        next_file: 0,
        cur: None,
        queue: Vec::new().into_iter(),
        stats: DraftStats::default(),
        failed: false,
        counted: Arc::default(),
        one_pass: Vec::new(),
    })
}

impl<T: Send + 'static> Drafts<T> {
    /// Counts so far (complete once the iterator is exhausted).
    pub fn stats(&self) -> DraftStats {
        self.stats
    }

    /// The documents that the first passes (grouping by key) of the files
    /// started so far counted, known before their documents come: the
    /// total a progress bar can show. 0 without grouping by key, and when
    /// a file is read in one pass (the total is not known).
    pub fn counted(&self) -> u64 {
        if self.one_pass.contains(&true) {
            return 0;
        }
        self.counted.load(Ordering::Relaxed)
    }

    /// Read in one pass where it can be done, for a consumer that can start
    /// over (see [`Restartable`]).
    pub fn restartable(mut self) -> Restartable<T> {
        self.one_pass = vec![true; self.files.len()];
        Restartable(self)
    }

    /// What was detected about each file (encoding and confidence, delimiter, sheet).
    pub fn detected(&self) -> &[(PathBuf, Detected)] {
        &self.detected
    }

    /// The plan compiled for the `i`th file.
    pub fn plan(&self, i: usize) -> Option<&Plan> {
        self.plans.get(i).map(|p| &**p)
    }

    /// Start the next file: a worker thread reads it (both passes), groups
    /// its rows and hands documents to the thread pool to be built.
    fn start_file(&mut self) -> Result<bool, ReadError> {
        let Some(path) = self.files.get(self.next_file).cloned() else {
            return Ok(false);
        };
        let plan = self.plans[self.next_file].clone();
        let one_pass = self.one_pass.get(self.next_file).copied().unwrap_or(false);
        self.next_file += 1;
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUED);
        let source = self.mapping.source().clone();
        let worker_path = path.clone();
        let then = self.then.clone();
        let counted = self.counted.clone();
        std::thread::Builder::new()
            .name("drafts".into())
            .spawn(move || work(&worker_path, &source, plan, one_pass, &then, &tx, &counted))
            .map_err(|e| {
                ReadError::file(&path, "failed to start a reader thread", Some(Box::new(e)))
            })?;
        self.cur = Some(rx);
        Ok(true)
    }
}

/// Batches handed on and not yet taken by the consumer, at most.
const QUEUED: usize = 8;

/// A batch's results, made on the thread pool (or the panic that stopped it).
type Built<T> = std::sync::mpsc::Receiver<std::thread::Result<Vec<T>>>;

/// What the worker sends, in file order.
enum Batch<T> {
    /// A batch of documents being built, and the counts of the rows behind it.
    Built(Built<T>, DraftStats),
    /// The error that stopped the file.
    Failed(ReadError),
    /// Read in one pass, the file needs two: what it sent is to be forgotten.
    Restart,
}

/// A file's rows are handed on for mapping in batches of about this many:
/// small enough that a batch's rows and drafts stay in the caches of the
/// core that maps them (1,024 ran about 10% slower here than 256).
const BATCH_ROWS: usize = 256;

/// The worker: first pass (keys), then the second pass, grouping rows and
/// handing completed documents on in batches; or, with `one_pass`, the
/// second pass alone, sending [`Batch::Restart`] when that cannot be done. Stops at a fatal error or when the consumer is gone.
fn work<T: Send + 'static>(
    path: &std::path::Path,
    source: &read::SourceSpec,
    plan: Arc<Plan>,
    one_pass: bool,
    then: &Then<T>,
    tx: &std::sync::mpsc::SyncSender<Batch<T>>,
    counted: &AtomicU64,
) {
    let fail = |e: ReadError| {
        let _ = tx.send(Batch::Failed(e));
    };
    crate::crash::working_on_file(&read::file_label(path), None);
    let mut g = Grouper::new(plan.clone());
    if one_pass {
        g.one_pass();
    }
    // After a quick first pass over a file whose lines break one way, the
    // second pass splits it the same way: the rows and line numbers the
    // parser would give, with no parsing. In one pass, the splitter is
    // tried and the file read again if it does not qualify.
    let mut plain_second = one_pass;
    // A workbook's rows, kept by the first pass for the second.
    let mut kept = None;
    if g.needs_first_pass() {
        match plain_first_pass(&mut g, path, source, &plan) {
            Ok(Some(one_way)) => plain_second = one_way,
            Ok(None) => {
                g = Grouper::new(plan.clone());
                let keep = source
                    .format_of(path)
                    .is_some_and(read::Format::is_workbook);
                match first_pass(&mut g, path, source, &plan, keep) {
                    Ok(k) => kept = k,
                    Err(e) => return fail(e),
                }
            }
            Err(e) => return fail(e),
        }
        counted.fetch_add(g.documents_counted(), Ordering::Relaxed);
    }
    let mut second = Second {
        g,
        plan: &plan,
        then,
        tx,
        next: 0,
        rows: 0,
        done: Vec::new(),
        stats: DraftStats::default(),
        stopped: false,
    };
    let splitter = match plain_second {
        true => match read::plain(path, source, Some(plan.row_projection())) {
            Ok(s) => s,
            Err(e) => return second.fail(e),
        },
        false => None,
    };
    if let Some(splitter) = splitter {
        match splitter.rows_numbered(|item| second.feed(item)) {
            Ok(true) => {}
            Ok(false) if second.stopped => return,
            // In one pass: quotes the splitter leaves to the parser, or
            // line breaks it does not number as the parser does.
            Ok(false) if one_pass => return second.restart(),
            // After the first pass: the file changed between the passes.
            Ok(false) => {
                let e = ReadError::file(path, "the file changed while it was being read", None);
                return second.fail(e);
            }
            Err(e) => return second.fail(e),
        }
    } else if let Some(spill) = kept {
        let unkept = |e: std::io::Error| {
            ReadError::file(
                path,
                "failed to read the rows kept from the first pass",
                Some(Box::new(e)),
            )
        };
        let mut rows = match spill.rows() {
            Ok(r) => r,
            Err(e) => return second.fail(unkept(e)),
        };
        loop {
            match rows.next_item() {
                Ok(Some(item)) => {
                    if !second.feed(item) {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => return second.fail(unkept(e)),
            }
        }
    } else {
        let src = match read::open_projected(path, source, Some(plan.row_projection())) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        for item in src {
            if !second.feed(item) {
                break;
            }
        }
    }
    second.finish();
}

/// The second pass: rows in file order into the grouper, completed
/// documents handed on in batches.
struct Second<'a, T> {
    g: Grouper,
    plan: &'a Arc<Plan>,
    then: &'a Then<T>,
    tx: &'a std::sync::mpsc::SyncSender<Batch<T>>,
    /// The next row's index.
    next: u64,
    /// Rows since the last batch.
    rows: usize,
    done: Vec<Done>,
    stats: DraftStats,
    /// The file failed, or the consumer is gone.
    stopped: bool,
}

impl<T: Send + 'static> Second<'_, T> {
    /// The next row; false when the file or the consumer is done with.
    fn feed(&mut self, item: Result<SourceRow, ReadError>) -> bool {
        if let Err(e) = self
            .g
            .push(self.next, item, &mut self.stats, &mut self.done)
        {
            self.fail(e);
            return false;
        }
        if self.g.broken() {
            self.restart();
            return false;
        }
        self.next += 1;
        self.rows += 1;
        if self.rows == BATCH_ROWS {
            self.rows = 0;
            let batch = std::mem::take(&mut self.done);
            let stats = std::mem::take(&mut self.stats);
            if !hand_on(self.plan, self.then, batch, stats, self.tx) {
                self.stopped = true;
                return false;
            }
        }
        true
    }

    /// A fatal error: the documents completed before it still go out first.
    fn fail(&mut self, e: ReadError) {
        self.stopped = true;
        let batch = std::mem::take(&mut self.done);
        let stats = std::mem::take(&mut self.stats);
        if hand_on(self.plan, self.then, batch, stats, self.tx) {
            let _ = self.tx.send(Batch::Failed(e));
        }
    }

    /// One pass cannot be done: the consumer starts over.
    fn restart(&mut self) {
        self.stopped = true;
        let _ = self.tx.send(Batch::Restart);
    }

    /// The end of the file: the documents still open go out.
    fn finish(mut self) {
        if self.stopped {
            return;
        }
        let mut done = std::mem::take(&mut self.done);
        done.extend(self.g.rest());
        hand_on(self.plan, self.then, done, self.stats, self.tx);
    }
}

/// Build a batch of documents (and apply `then`) on the thread pool, while
/// this thread reads on; the consumer takes the batches in the order they
/// were handed on. False when the consumer is gone.
fn hand_on<T: Send + 'static>(
    plan: &Arc<Plan>,
    then: &Then<T>,
    done: Vec<Done>,
    stats: DraftStats,
    tx: &std::sync::mpsc::SyncSender<Batch<T>>,
) -> bool {
    let (built, receiver) = std::sync::mpsc::sync_channel(1);
    let (plan, then) = (plan.clone(), then.clone());
    rayon::spawn(move || {
        let results = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            done.into_iter().map(|d| then(build(&plan, d))).collect()
        }));
        // The receiver is gone only when the consumer stopped reading.
        let _ = built.send(results);
    });
    tx.send(Batch::Built(receiver, stats)).is_ok()
}

impl<T: Send + 'static> Drafts<T> {
    /// The next result, or a restart (only when reading in one pass).
    fn step(&mut self) -> Option<Result<Step<T>, ReadError>> {
        loop {
            if let Some(d) = self.queue.next() {
                self.stats.drafts += 1;
                return Some(Ok(Step::Item(d)));
            }
            if self.failed {
                return None;
            }
            let Some(rx) = &self.cur else {
                match self.start_file() {
                    Ok(true) => continue,
                    Ok(false) => return None,
                    Err(e) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                }
            };
            let Ok(batch) = rx.recv() else {
                // The worker finished the file.
                self.cur = None;
                continue;
            };
            let (built, st) = match batch {
                Batch::Built(built, st) => (built, st),
                Batch::Failed(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
                Batch::Restart => {
                    self.start_over();
                    return Some(Ok(Step::Restart));
                }
            };
            self.stats.rows_read += st.rows_read;
            self.stats.rows_skipped += st.rows_skipped;
            self.stats.row_errors += st.row_errors;
            match built.recv() {
                Ok(Ok(results)) => self.queue = results.into_iter(),
                // Building panicked: a bug, raised here.
                Ok(Err(panic)) => std::panic::resume_unwind(panic),
                Err(_) => panic!("a batch of drafts was dropped unbuilt"),
            }
        }
    }

    /// The file being read needs two passes: it will be read so, and the
    /// stream starts again from the first file.
    fn start_over(&mut self) {
        let file = self.next_file.saturating_sub(1);
        if let Some(one) = self.one_pass.get_mut(file) {
            *one = false;
        }
        tracing::info!(
            file = %self.files[file].display(),
            "the rows of a document are not all adjacent: reading the file again, in two passes"
        );
        // The worker stopped after sending the restart; what is still in
        // the channel is before it.
        self.cur = None;
        self.queue = Vec::new().into_iter();
        self.stats = DraftStats::default();
        self.counted.store(0, Ordering::Relaxed);
        self.next_file = 0;
    }
}

impl<T: Send + 'static> Restartable<T> {
    /// The next result, or [`Step::Restart`]: forget the results so far,
    /// which come again from the first.
    pub fn next_step(&mut self) -> Option<Result<Step<T>, ReadError>> {
        self.0.step()
    }

    /// Counts so far (complete once the stream is exhausted).
    pub fn stats(&self) -> DraftStats {
        self.0.stats()
    }

    /// As [`Drafts::counted`].
    pub fn counted(&self) -> u64 {
        self.0.counted()
    }
}

impl<T: Send + 'static> Iterator for Drafts<T> {
    type Item = Result<T, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.step()? {
            Ok(Step::Item(d)) => Some(Ok(d)),
            Err(e) => Some(Err(e)),
            // Only a `Restartable` reads in one pass; this stream never restarts.
            Ok(Step::Restart) => {
                self.failed = true;
                Some(Err(ReadError::file(
                    &self.files[self.next_file.saturating_sub(1)],
                    "internal error: a stream read in two passes started over",
                    None,
                )))
            }
        }
    }
}
