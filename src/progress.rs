//! Progress and messages for people, as the library reports them: the
//! [`Progress`] of one stage (a count, or a bar once its total is known,
//! and what it is waiting for), the [`Reporter`] a job writes its status
//! lines and warnings to, and the [`Handoff`] between a reading stage and
//! the uploading stage it feeds.
//! The command line implements both with indicatif on a terminal (and
//! stays quiet when piped); tests implement them by recording. Nothing
//! below the command line knows how they are shown.

use std::sync::{Arc, Mutex};

/// The progress of one stage of a job. Every method has a default that does
/// nothing, so a display takes only what it shows.
pub trait Progress: Send + Sync {
    /// The stage's total became known (X-Total-Count, the documents read).
    fn set_total(&self, _total: u64) {}
    /// The total grew by `n` (documents handed on as they are read).
    fn add_total(&self, _n: u64) {}
    /// `n` more units done.
    fn advance(&self, _n: u64) {}
    /// A short line beside the count (counters).
    fn message(&self, _message: String) {}
    /// The stage is waiting for `what` ("the uploader", "documents"), or,
    /// with `None`, no longer waiting. Shown beside the message.
    fn waiting(&self, _what: Option<&str>) {}
    /// The stage is over: clear the display.
    fn finish(&self) {}
    /// The stage starts over: its count back to 0, its total unknown.
    fn restart(&self) {}
}

/// Shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Where a job sends what a person should see: status lines, warnings, and
/// the progress of its stages.
pub trait Reporter: Send + Sync {
    /// A line for the person (not shown when quiet).
    fn status(&self, line: &str);
    /// A warning for the person (shown even when quiet).
    fn warn(&self, line: &str);
    /// The progress display of a stage named `stage`: a bar of `total`
    /// when it is known (it may grow), else a counter.
    fn progress(&self, stage: &str, total: Option<u64>) -> Arc<dyn Progress>;
}

/// Reports nothing: for library callers that want no output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn status(&self, _line: &str) {}
    fn warn(&self, _line: &str) {}
    fn progress(&self, _stage: &str, _total: Option<u64>) -> Arc<dyn Progress> {
        Arc::new(NoProgress)
    }
}

/// The progress of a reading stage and of the upload stage it feeds over a
/// bounded queue, kept consistent: the upload's total is what the first
/// pass counted less what validation rejected (so the bar has its real
/// length from the start, rather than growing with the documents read),
/// and each side says when it waits for the other: reading for the
/// uploader when the queue is full, the uploader for documents when the
/// queue is empty and nothing is in flight.
pub struct Handoff {
    read: Arc<dyn Progress>,
    upload: Arc<dyn Progress>,
    state: Mutex<Counts>,
}

/// What the two sides did so far.
#[derive(Debug, Default)]
struct Counts {
    /// Documents counted by first passes.
    counted: u64,
    /// Verdicts whose document went on or not, for sure: every one but
    /// the last (the reader hands a valid one on after its verdict).
    settled: u64,
    /// Of those, the documents handed on.
    settled_sent: u64,
    /// The last verdicts, and how many of them were handed on so far.
    pending: u64,
    pending_sent: u64,
    /// Documents the uploader took off the queue, and finished.
    taken: u64,
    finished: u64,
    read_done: bool,
    /// What was last shown.
    shown_total: u64,
    shown_waits: bool,
}

impl Counts {
    fn settle(&mut self) {
        self.settled += std::mem::take(&mut self.pending);
        self.settled_sent += std::mem::take(&mut self.pending_sent);
    }

    fn sent(&self) -> u64 {
        self.settled_sent + self.pending_sent
    }

    /// The upload's length: what the first pass counted less the
    /// rejected, never less than what was handed on.
    fn upload_total(&self) -> u64 {
        let rejected = self.settled - self.settled_sent;
        self.counted
            .saturating_sub(rejected)
            .max(self.taken)
            .max(self.sent())
    }

    /// The uploader waits for documents: reading goes on, the queue is
    /// empty, nothing is in flight.
    fn upload_waits(&self) -> bool {
        !self.read_done && self.taken >= self.sent() && self.finished >= self.taken
    }
}

impl Handoff {
    pub fn new(read: Arc<dyn Progress>, upload: Arc<dyn Progress>) -> Arc<Handoff> {
        let h = Arc::new(Handoff {
            read,
            upload,
            state: Mutex::new(Counts::default()),
        });
        h.change(|_| {});
        h
    }

    /// The reading stage's progress: its total is the documents counted,
    /// each `advance` a verdict.
    pub fn read_side(self: &Arc<Self>) -> Arc<dyn Progress> {
        Arc::new(ReadSide(self.clone()))
    }

    /// The upload stage's progress, for the uploader: `add_total` when it
    /// takes a document, `advance` when it finishes one.
    pub fn upload_side(self: &Arc<Self>) -> Arc<dyn Progress> {
        Arc::new(UploadSide(self.clone()))
    }

    /// Hand a valid document on with `send` (false: the uploader is gone);
    /// `full` tells that the queue is full, so `send` will wait.
    pub fn send(&self, full: bool, send: impl FnOnce() -> bool) -> bool {
        if full {
            self.read.waiting(Some("the uploader"));
        }
        let ok = send();
        if full {
            self.read.waiting(None);
        }
        self.change(|c| c.pending_sent += 1);
        ok
    }

    /// Change the counts, then show what changed on the upload stage.
    fn change(&self, f: impl FnOnce(&mut Counts)) {
        let (total, waits) = {
            let mut c = self.state.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut c);
            let total = c.upload_total();
            let waits = c.upload_waits();
            let shown = (
                std::mem::replace(&mut c.shown_total, total) != total,
                std::mem::replace(&mut c.shown_waits, waits) != waits,
            );
            (shown.0.then_some(total), shown.1.then_some(waits))
        };
        if let Some(total) = total {
            self.upload.set_total(total);
        }
        if let Some(waits) = waits {
            self.upload
                .waiting(waits.then_some("documents (reading and validating)"));
        }
    }
}

struct ReadSide(Arc<Handoff>);

impl Progress for ReadSide {
    fn set_total(&self, total: u64) {
        self.0.read.set_total(total);
        self.0.change(|c| c.counted = total);
    }
    fn add_total(&self, n: u64) {
        self.0.read.add_total(n);
        self.0.change(|c| c.counted += n);
    }
    fn advance(&self, n: u64) {
        self.0.read.advance(n);
        self.0.change(|c| {
            c.settle();
            c.pending = n;
        });
    }
    fn message(&self, message: String) {
        self.0.read.message(message);
    }
    fn waiting(&self, what: Option<&str>) {
        self.0.read.waiting(what);
    }
    fn finish(&self) {
        self.0.read.finish();
        self.0.change(|c| {
            c.settle();
            c.read_done = true;
        });
    }
}

struct UploadSide(Arc<Handoff>);

impl Progress for UploadSide {
    fn set_total(&self, total: u64) {
        self.0.change(|c| c.taken = total);
    }
    fn add_total(&self, n: u64) {
        self.0.change(|c| c.taken += n);
    }
    fn advance(&self, n: u64) {
        self.0.upload.advance(n);
        self.0.change(|c| c.finished += n);
    }
    fn message(&self, message: String) {
        self.0.upload.message(message);
    }
    fn waiting(&self, what: Option<&str>) {
        self.0.upload.waiting(what);
    }
    fn finish(&self) {
        self.0.upload.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Records what a stage was told.
    #[derive(Default)]
    struct Seen {
        total: Mutex<Option<u64>>,
        pos: AtomicU64,
        waiting: Mutex<Option<String>>,
    }

    impl Progress for Seen {
        fn set_total(&self, total: u64) {
            *self.total.lock().unwrap() = Some(total);
        }
        fn add_total(&self, n: u64) {
            let mut t = self.total.lock().unwrap();
            *t = Some(t.unwrap_or(0) + n);
        }
        fn advance(&self, n: u64) {
            self.pos.fetch_add(n, Ordering::Relaxed);
        }
        fn waiting(&self, what: Option<&str>) {
            *self.waiting.lock().unwrap() = what.map(str::to_string);
        }
    }

    #[test]
    fn the_upload_bar_has_the_counted_length_less_the_rejected() {
        let (read, upload) = (Arc::new(Seen::default()), Arc::new(Seen::default()));
        let h = Handoff::new(read.clone(), upload.clone());
        let (r, u) = (h.read_side(), h.upload_side());
        assert_eq!(
            *upload.waiting.lock().unwrap(),
            Some("documents (reading and validating)".into())
        );
        r.add_total(600);
        assert_eq!(*upload.total.lock().unwrap(), Some(600));
        assert_eq!(*read.total.lock().unwrap(), Some(600));
        // One valid, handed on and taken; one rejected.
        r.advance(1);
        assert!(h.send(false, || true));
        u.add_total(1);
        assert_eq!(*upload.waiting.lock().unwrap(), None, "one in flight");
        r.advance(1);
        assert_eq!(*upload.total.lock().unwrap(), Some(600), "not settled yet");
        u.advance(1);
        assert_eq!(upload.pos.load(Ordering::Relaxed), 1);
        assert!(
            upload.waiting.lock().unwrap().is_some(),
            "the queue is empty"
        );
        // A full queue: reading waits for the uploader while it sends.
        r.advance(1);
        assert_eq!(*upload.total.lock().unwrap(), Some(599), "one rejected");
        let during = h.send(true, || {
            read.waiting.lock().unwrap().as_deref() == Some("the uploader")
        });
        assert!(during);
        assert_eq!(*read.waiting.lock().unwrap(), None);
        r.finish();
        u.add_total(1);
        u.advance(1);
        assert_eq!(*upload.waiting.lock().unwrap(), None, "reading is over");
    }

    #[test]
    fn without_a_first_pass_the_upload_grows_with_what_is_taken() {
        let upload = Arc::new(Seen::default());
        let h = Handoff::new(Arc::new(NoProgress), upload.clone());
        let (r, u) = (h.read_side(), h.upload_side());
        for _ in 0..3 {
            r.advance(1);
            h.send(false, || true);
            u.add_total(1);
        }
        assert_eq!(*upload.total.lock().unwrap(), Some(3));
    }
}
