//! The rules that need the whole batch, not one draft: duplicate document
//! numbers, checked in input order on the output side ([`Duplicates`]);
//! and the pipeline's entry, [`Duplicates::validator`], which validates
//! each draft on the thread pool into a [`Validated`] (its verdict, and the
//! valid document when kept) with its number's key worked out there too.

use super::{codes, finish, rules_problems, Outcome, Rules, Valid, Verdict};
use crate::model::{CellRef, DocKind, Draft, Prehashed, Problem, RowRef};
use foldhash::fast::RandomState;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::sync::Arc;

/// The duplicate-number check: each document number (per kind, lower case)
/// and the row it first appeared on.
///
/// It runs on the output side, one draft after another, so it is kept to a
/// hash lookup: the lower-case number and its hash are worked out beforehand
/// ([`NumberKey`], on the validation thread's pool), and a first row is kept
/// as its number and the index of its file and sheet in `places`, without
/// touching the row's shared (`Arc`) names per draft.
#[derive(Debug, Default)]
pub struct Duplicates {
    /// Hashes number keys; shared with the validation thread.
    keys: RandomState,
    first: HashMap<NumberKey, FirstRow, BuildHasherDefault<Prehashed>>,
    /// The files (and sheets) of first rows, each once in a run of rows.
    places: Vec<(Arc<str>, Option<Arc<str>>)>,
}

/// A row as [`Duplicates`] keeps it: an index in its `places`, the row.
#[derive(Debug, Clone, Copy)]
struct FirstRow {
    place: usize,
    row: u64,
}

/// A document number as the duplicate check compares it: its kind (credit
/// notes are numbered apart) and the trimmed number in lower case, with
/// their hash.
#[derive(Debug)]
pub(super) struct NumberKey {
    pub(super) hash: u64,
    pub(super) credit: bool,
    pub(super) lower: Box<str>,
}

impl NumberKey {
    /// The draft's key; `None` when it has no number to check.
    fn of(draft: &Draft, keys: &RandomState) -> Option<NumberKey> {
        let number = draft
            .invoice
            .number
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())?;
        let credit = draft.kind == DocKind::CreditNote;
        let lower = fold_case(number);
        let hash = keys.hash_one((credit, &*lower));
        Some(NumberKey {
            hash,
            credit,
            lower,
        })
    }
}

/// `s` in lower case, as `str::to_lowercase` gives it, with ASCII and the
/// Cyrillic capitals (numbers in 1C exports: `МД-0000123`) mapped directly
/// rather than looked up in the Unicode tables.
pub(crate) fn fold_case(s: &str) -> Box<str> {
    if s.is_ascii() {
        return s.to_ascii_lowercase().into_boxed_str();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'A'..='Z' | 'А'..='Я' => out.push(char::from_u32(c as u32 + 0x20).unwrap_or(c)),
            'Ѐ'..='Џ' => out.push(char::from_u32(c as u32 + 0x50).unwrap_or(c)),
            _ if c.is_ascii() || c.is_lowercase() => out.push(c),
            _ => return s.to_lowercase().into_boxed_str(),
        }
    }
    out.into_boxed_str()
}

impl PartialEq for NumberKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.credit == other.credit && self.lower == other.lower
    }
}

impl Eq for NumberKey {}

impl Hash for NumberKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// What the pipeline keeps of a validated draft: its [`Verdict`], and
/// with [`Keep::Documents`] the document itself when it is valid.
#[derive(Debug)]
pub struct Validated {
    verdict: Verdict,
    valid: Option<Valid<Draft>>,
    /// The number's key for the duplicate check, worked out on the pool.
    key: Option<NumberKey>,
}

impl Validated {
    pub fn verdict(&self) -> &Verdict {
        &self.verdict
    }

    pub fn verdict_mut(&mut self) -> &mut Verdict {
        &mut self.verdict
    }

    /// The verdict, and the valid document if one was kept.
    pub fn into_parts(self) -> (Verdict, Option<Valid<Draft>>) {
        (self.verdict, self.valid)
    }
}

/// What [`Duplicates::validator`] keeps of each draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The verdict only (a dry run: documents go nowhere after their
    /// reports, and are freed on the thread that made them).
    Verdicts,
    /// The verdict, and the document when it is valid (an import).
    Documents,
}

impl Duplicates {
    /// Forget every number seen (the stream starts over); the hashing
    /// stays the one its validator shares.
    pub fn forget(&mut self) {
        self.first.clear();
        self.places.clear();
    }

    /// [`validate_one`] with its rules, for a stream that validates each
    /// draft on the thread pool as soon as it is built
    /// ([`drafts_then`](crate::mapping::drafts_then)); pass its results, in
    /// order, to [`Duplicates::check_validated`]. Each comes boxed: it is
    /// passed on several times before it is read.
    pub fn validator(
        &self,
        rules: Arc<Rules>,
        keep: Keep,
    ) -> impl Fn(Draft) -> Box<Validated> + Send + Sync + 'static {
        let keys = self.keys.clone();
        move |mut draft| {
            let found = rules_problems(&draft, &rules);
            draft.problems.extend(found);
            let key = NumberKey::of(&draft, &keys);
            let valid = !draft.problems.iter().any(Problem::is_error);
            let (verdict, valid) = match keep {
                Keep::Documents if valid => {
                    let verdict = Verdict::copy(&draft);
                    (verdict, Some(Valid(draft)))
                }
                _ => (Verdict::take(&mut draft), None),
            };
            Box::new(Validated {
                verdict,
                valid,
                key,
            })
        }
    }

    /// Record the number of a draft from [`Duplicates::validator`]; a
    /// repeat becomes an error in its verdict, and its document is dropped.
    pub fn check_validated(&mut self, v: &mut Validated) {
        let Some(key) = v.key.take() else {
            return;
        };
        let Some(first) = self.first_of(key, v.verdict.first_row()) else {
            return;
        };
        let verdict = &mut v.verdict;
        let number = verdict.number.as_deref().map(str::trim).unwrap_or_default();
        let p = repeat(
            first,
            number,
            verdict.origin("number").as_ref(),
            verdict.first_row(),
        );
        verdict.problems.push(p);
        v.valid = None;
    }

    /// The row a number was first seen on, when this is a repeat; the
    /// number is recorded at `row` when it is new.
    fn first_of(&mut self, key: NumberKey, row: Option<&RowRef>) -> Option<RowRef> {
        let row = row?;
        let first = match self.first.entry(key) {
            Entry::Vacant(v) => {
                let place = place_of(&mut self.places, row);
                v.insert(FirstRow {
                    place,
                    row: row.row,
                });
                return None;
            }
            Entry::Occupied(o) => *o.get(),
        };
        let (file, sheet) = &self.places[first.place];
        Some(RowRef {
            file: file.clone(),
            sheet: sheet.clone(),
            row: first.row,
        })
    }

    /// Record the outcome's number; a repeat becomes a rejection.
    pub fn check(&mut self, mut outcome: Outcome) -> Outcome {
        let draft = match &outcome {
            Ok(v) => v.get(),
            Err(r) => &r.draft,
        };
        let key = NumberKey::of(draft, &self.keys);
        self.check_keyed(&mut outcome, key);
        outcome
    }

    /// [`Duplicates::check`] with the draft's key already worked out (with
    /// this check's `keys`).
    fn check_keyed(&mut self, outcome: &mut Outcome, key: Option<NumberKey>) {
        let Some(key) = key else {
            return;
        };
        let draft = match &*outcome {
            Ok(v) => v.get(),
            Err(r) => &r.draft,
        };
        let Some(first) = self.first_of(key, draft.first_row()) else {
            return;
        };
        // A repeat (rare): the outcome is taken out and put back rejected.
        let taken = std::mem::replace(outcome, Ok(Valid(Draft::default())));
        let mut draft = match taken {
            Ok(v) => v.into_inner(),
            Err(r) => r.draft,
        };
        let number = draft
            .invoice
            .number
            .as_deref()
            .map(str::trim)
            .unwrap_or_default();
        let p = repeat(
            first,
            number,
            draft.origin("number").as_ref(),
            draft.first_row(),
        );
        draft.problems.push(p);
        *outcome = finish(draft);
    }
}

/// The problem of a number used before, at `first`.
fn repeat(first: RowRef, number: &str, cell: Option<&CellRef>, row: Option<&RowRef>) -> Problem {
    Problem::error(
        codes::DUPLICATE_NUMBER,
        "number",
        format!("the number was already used at {first} (numbers are compared ignoring case)"),
    )
    .found(number.to_string())
    .expected("a number not used elsewhere in the input")
    .at(cell)
    .at_row(row)
}

/// The index of a row's file and sheet in `places`, added when new. Rows
/// come in runs from one file (and sheet), so the last place is tried first.
fn place_of(places: &mut Vec<(Arc<str>, Option<Arc<str>>)>, row: &RowRef) -> usize {
    // `Arc<str>`'s `==` compares the pointers before the text.
    let same =
        |(file, sheet): &(Arc<str>, Option<Arc<str>>)| *file == row.file && *sheet == row.sheet;
    if let Some(last) = places.len().checked_sub(1).filter(|&i| same(&places[i])) {
        return last;
    }
    // A few files: look for an earlier one; many: a new entry is cheaper.
    if places.len() <= 16 {
        if let Some(i) = places.iter().position(same) {
            return i;
        }
    }
    places.push((row.file.clone(), row.sheet.clone()));
    places.len() - 1
}
