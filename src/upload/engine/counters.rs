//! The engine's running counts ([`Counters`], shared with the progress
//! display), their [`CountsSnapshot`] for the run's summary, and the
//! progress message made from them.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// Running counts, shared with the progress display.
#[derive(Debug, Default)]
pub struct Counters {
    pub documents: AtomicU64,
    pub done: AtomicU64,
    pub already: AtomicU64,
    pub changed: AtomicU64,
    pub rejected: AtomicU64,
    pub skipped: AtomicU64,
    pub updated: AtomicU64,
    pub unchanged: AtomicU64,
    pub conflicts: AtomicU64,
    pub locked: AtomicU64,
    pub customers_created: AtomicU64,
    pub customers_found: AtomicU64,
    pub customers_updated: AtomicU64,
    pub payments_done: AtomicU64,
    pub payments_rejected: AtomicU64,
    pub retries: AtomicU64,
    pub retrying: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CountsSnapshot {
    /// Valid documents handed to the engine.
    pub documents: u64,
    /// Created (or found after an ambiguous failure) by this run.
    pub done: u64,
    /// Imported by an earlier run, unchanged.
    pub already_imported: u64,
    /// Imported by an earlier run, changed since (not re-sent).
    pub changed: u64,
    /// Refused by the server (or by `--on-existing fail`).
    pub rejected: u64,
    /// Already on the account, not from this import (`--on-existing skip`).
    pub skipped: u64,
    /// Already on the account and updated (`--on-existing update`, round trips).
    pub updated: u64,
    /// Round trips: as the account has them, nothing sent.
    pub unchanged: u64,
    /// Round trips: changed on the account after the export (or gone
    /// from it), not sent.
    pub conflicts: u64,
    /// Round trips: closed, paid or voided on the account, not sent.
    pub locked: u64,
    pub customers_created: u64,
    pub customers_found: u64,
    /// Found on the account and updated (`--update-customers`).
    pub customers_updated: u64,
    pub payments_done: u64,
    pub payments_rejected: u64,
    /// Attempts repeated after an ambiguous failure.
    pub retries: u64,
}

impl Counters {
    pub fn snapshot(&self) -> CountsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CountsSnapshot {
            documents: g(&self.documents),
            done: g(&self.done),
            already_imported: g(&self.already),
            changed: g(&self.changed),
            rejected: g(&self.rejected),
            skipped: g(&self.skipped),
            updated: g(&self.updated),
            unchanged: g(&self.unchanged),
            conflicts: g(&self.conflicts),
            locked: g(&self.locked),
            customers_created: g(&self.customers_created),
            customers_found: g(&self.customers_found),
            customers_updated: g(&self.customers_updated),
            payments_done: g(&self.payments_done),
            payments_rejected: g(&self.payments_rejected),
            retries: g(&self.retries),
        }
    }
}

pub(super) fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// The counters as a progress message.
pub fn progress_message(c: &CountsSnapshot, retrying: u64, rate_limited: u64) -> String {
    let mut s = format!("done {} rejected {}", c.done + c.updated, c.rejected);
    if c.already_imported > 0 {
        s.push_str(&format!(" already {}", c.already_imported));
    }
    if c.skipped > 0 {
        s.push_str(&format!(" skipped {}", c.skipped));
    }
    if c.unchanged > 0 {
        s.push_str(&format!(" unchanged {}", c.unchanged));
    }
    if c.conflicts > 0 {
        s.push_str(&format!(" conflicts {}", c.conflicts));
    }
    s.push_str(&format!(" retrying {retrying} 429s {rate_limited}"));
    s
}
