//! The [`Verdict`] on one validated document: what reports read of it,
//! valid or not (where it came from, its number, every problem), made on
//! the pool thread that validated it.

use super::Outcome;
use super::Rules;
use crate::model::{CellRef, DocKind, Draft, Origins, Problem, RowRef};

/// What reports need of one validated document, valid or rejected: where
/// it came from, its number, and every problem found. It is its own type so
/// that a report never holds (or hollows out) a document: in a dry run the
/// rest of the draft is freed on the pool thread that made it.
#[derive(Debug, Clone, PartialEq)]
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
    /// With `--preflight`: the customer's match key (lower case) when the
    /// account does not have it, so that an import would create it.
    pub new_customer: Option<String>,
}

impl Verdict {
    /// The verdict on a draft whose `problems` are complete, taking what it
    /// needs out of the draft (the rest is dropped with it).
    pub(super) fn take(draft: &mut Draft, rules: &Rules) -> Verdict {
        Verdict {
            new_customer: new_customer(draft, rules),
            source_key: std::mem::take(&mut draft.source_key),
            rows: std::mem::take(&mut draft.rows),
            kind: draft.kind,
            number: draft.invoice.number.take(),
            problems: std::mem::take(&mut draft.problems),
            origins: std::mem::take(&mut draft.origins),
        }
    }

    /// The verdict on a draft that goes on (to the uploader), copied from it.
    pub(super) fn copy(draft: &Draft, rules: &Rules) -> Verdict {
        Verdict {
            new_customer: new_customer(draft, rules),
            source_key: draft.source_key.clone(),
            rows: draft.rows.clone(),
            kind: draft.kind,
            number: draft.invoice.number.clone(),
            problems: draft.problems.clone(),
            origins: draft.origins.clone(),
        }
    }

    /// The verdict on an outcome of [`validate_one`].
    pub fn of(outcome: &Outcome, rules: &Rules) -> Verdict {
        match outcome {
            Ok(v) => Verdict::copy(v.get(), rules),
            Err(r) => Verdict::copy(&r.draft, rules),
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

/// The customer's match key when the preflight found it missing on the account.
fn new_customer(draft: &Draft, rules: &Rules) -> Option<String> {
    if rules.customer_exists(draft) != Some(false) {
        return None;
    }
    let c = &draft.customer;
    let key = c
        .number
        .as_deref()
        .or(c.tax_id.as_deref())
        .or(c.name.as_deref())
        .unwrap_or_default();
    Some(key.trim().to_lowercase())
}
