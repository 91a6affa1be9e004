//! The [`Verdict`] on one validated document: what reports read of it,
//! valid or not (where it came from, its number, every problem), made on
//! the pool thread that validated it.

use super::Outcome;
use crate::model::{CellRef, Customer, DocKind, Draft, MatchOn, Origins, Problem, RowRef};

/// What reports need of one validated document, valid or rejected: where
/// it came from, its number, and every problem found. It is its own type so
/// that a report never holds (or hollows out) a document: in a dry run the
/// rest of the draft is freed on the pool thread that made it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// The document's source key (its group key, or its row).
    pub source_key: String,
    /// The rows it came from, in source order.
    pub rows: Vec<RowRef>,
    pub kind: DocKind,
    pub number: Option<String>,
    /// Every problem found, errors and warnings: the mapping's and the rules'.
    pub problems: Vec<Problem>,
    /// Where its fields came from (a repeated number is reported at its cell).
    pub origins: Origins,
    /// Its customer as the document gives it, and how it is matched: the
    /// batch's [`CustomerBook`](super::CustomerBook) merges them.
    pub customer: Customer,
    pub match_on: MatchOn,
}

impl Verdict {
    /// The verdict on a draft whose `problems` are complete, taking what it
    /// needs out of the draft (the rest is dropped with it).
    pub(super) fn take(draft: &mut Draft) -> Verdict {
        Verdict {
            customer: std::mem::take(&mut draft.customer),
            match_on: draft.match_on,
            source_key: std::mem::take(&mut draft.source_key),
            rows: std::mem::take(&mut draft.rows),
            kind: draft.kind,
            number: draft.invoice.number.take(),
            problems: std::mem::take(&mut draft.problems),
            origins: std::mem::take(&mut draft.origins),
        }
    }

    /// The verdict on a draft that goes on (to the uploader), copied from it.
    pub(super) fn copy(draft: &Draft) -> Verdict {
        Verdict {
            customer: draft.customer.clone(),
            match_on: draft.match_on,
            source_key: draft.source_key.clone(),
            rows: draft.rows.clone(),
            kind: draft.kind,
            number: draft.invoice.number.clone(),
            problems: draft.problems.clone(),
            origins: draft.origins.clone(),
        }
    }

    /// The verdict on an outcome of [`validate_one`].
    pub fn of(outcome: &Outcome) -> Verdict {
        match outcome {
            Ok(v) => Verdict::copy(v.get()),
            Err(r) => Verdict::copy(&r.draft),
        }
    }

    /// Whether the document passed: no problem is an error.
    pub fn is_valid(&self) -> bool {
        !self.problems.iter().any(Problem::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.is_error())
    }

    /// The first row of the document, for problems with no better place.
    pub fn first_row(&self) -> Option<&RowRef> {
        self.rows.first()
    }

    /// The cell a field came from, if it came from one.
    pub fn origin(&self, field: &str) -> Option<CellRef> {
        self.origins.get(field)
    }

    /// How reports name the document: its number, else its source key.
    pub fn document(&self) -> &str {
        self.number.as_deref().unwrap_or(&self.source_key)
    }
}
