//! Validation: every rule on every draft (all problems, not the first), in
//! parallel on the thread pool that builds the drafts, results in input
//! order, in bounded memory. The only place that builds a [`Valid`] value,
//! so the uploader can take nothing else.
//!
//! The per-draft rules live in [`rules`]; one rule needs the whole input:
//! duplicate document numbers (case-insensitive, as the API compares them),
//! checked in order on the output side with a map from each number to the
//! row it first appeared on ([`Duplicates`]).
//!
//! The pipelines validate each draft in the pool job that builds it
//! ([`Duplicates::validator`] with
//! [`drafts_then`](crate::mapping::drafts_then)), which yields a
//! [`Validated`]: the document's [`Verdict`] (what reports read of it,
//! valid or not) and, when asked for and valid, the [`Valid`] document
//! itself; [`Duplicates::check_validated`] then checks numbers in order.
//! [`validate_one`] validates a single draft into an [`Outcome`].

// An outcome moves its draft whichever way it goes (Ok and Err are both
// about a draft's size); boxing would cost an allocation per document.
#![allow(clippy::result_large_err)]

pub mod currency;
pub mod rules;
pub mod totals;

use crate::model::vat::VatTable;
use crate::model::{CellRef, DocKind, Draft, MatchOn, Origins, Prehashed, Problem, RowRef};
use foldhash::fast::RandomState;
use rayon::prelude::*;
use serde::Deserialize;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

pub use rules::codes;

/// A value that passed validation. Only this module can build one.
#[derive(Debug, Clone, PartialEq)]
pub struct Valid<T>(T);

impl<T> Valid<T> {
    pub fn into_inner(self) -> T {
        self.0
    }

    pub fn get(&self) -> &T {
        &self.0
    }
}

/// A value taken as valid without the rules, for the uploader's own tests
/// (which feed it documents the rules would not pass, on purpose).
#[cfg(test)]
pub(crate) fn assume_valid<T>(value: T) -> Valid<T> {
    Valid(value)
}

impl<T> Deref for Valid<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl Valid<Draft> {
    /// The warnings found (a valid draft's `problems` hold warnings only).
    pub fn warnings(&self) -> &[Problem] {
        &self.0.problems
    }
}

/// A draft with at least one error. `problems` holds every problem found,
/// mapping-stage and rules, errors and warnings; `draft.problems` the same.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub draft: Draft,
    pub problems: Vec<Problem>,
}

impl Rejection {
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.is_error())
    }
}

/// What validation makes of one draft.
pub type Outcome = Result<Valid<Draft>, Rejection>;

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
    fn take(draft: &mut Draft, rules: &Rules) -> Verdict {
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
    fn copy(draft: &Draft, rules: &Rules) -> Verdict {
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

/// The customers that exist on the target account (`--preflight`), by
/// number and by tax id, lower case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KnownCustomers {
    pub numbers: HashSet<String>,
    pub tax_ids: HashSet<String>,
}

/// What the rules check against.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The dated VAT table (API.md's, extended with `--vat-table`).
    pub vat: VatTable,
    /// The account's tax-rate ids, when `--preflight` listed them: any other
    /// id is an error (the API silently drops unknown ones). When `None`,
    /// ids must be in the VAT table.
    pub known_tax_rates: Option<HashSet<String>>,
    /// The account's customers, when `--preflight` listed them: those not
    /// found are created on import (reported, not an error).
    pub known_customers: Option<KnownCustomers>,
    /// "Today" in Chisinau, for dates in the future.
    pub today: chrono::NaiveDate,
    /// Drafts validated per parallel chunk.
    pub chunk_size: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            vat: VatTable::default(),
            known_tax_rates: None,
            known_customers: None,
            today: chrono::Utc::now()
                .with_timezone(&crate::model::date::TZ)
                .date_naive(),
            chunk_size: 1024,
        }
    }
}

/// Why the rules could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error(transparent)]
    Read(#[from] crate::fs::FsError),
    #[error("the VAT table {} is not valid: {source}", path.display())]
    VatTable {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
}

impl Rules {
    /// Add the rates of a user's VAT table (TOML, `[[rates]]` with `id`,
    /// `value`, optional `from`, `until`, `note`).
    pub fn extend_vat_table(&mut self, path: &Path) -> Result<(), RulesError> {
        let text = crate::fs::read_to_string(path)?;
        let err = |source| RulesError::VatTable {
            path: path.to_path_buf(),
            source,
        };
        // TOML dates (`from = 2024-01-01`) become the strings chrono reads.
        let mut value: toml::Value = toml::from_str(&text).map_err(err)?;
        dates_to_strings(&mut value);
        let extra = VatTable::deserialize(value).map_err(err)?;
        self.vat.rates.extend(extra.rates);
        Ok(())
    }

    /// Whether the draft's customer exists on the account, when known.
    pub fn customer_exists(&self, draft: &Draft) -> Option<bool> {
        let known = self.known_customers.as_ref()?;
        let c = &draft.customer;
        let by_number = c
            .number
            .as_deref()
            .map(|n| known.numbers.contains(&n.trim().to_lowercase()));
        let by_tax_id = c
            .tax_id
            .as_deref()
            .map(|t| known.tax_ids.contains(&t.trim().to_lowercase()));
        Some(match draft.match_on {
            MatchOn::Number => by_number.unwrap_or(false),
            MatchOn::TaxId => by_tax_id.unwrap_or(false),
        })
    }
}

fn dates_to_strings(v: &mut toml::Value) {
    match v {
        toml::Value::Datetime(d) => *v = toml::Value::String(d.to_string()),
        toml::Value::Array(a) => a.iter_mut().for_each(dates_to_strings),
        toml::Value::Table(t) => t.iter_mut().for_each(|(_, v)| dates_to_strings(v)),
        _ => {}
    }
}

/// Validate one draft: its mapping-stage problems plus every rule's.
pub fn validate_one(mut draft: Draft, rules: &Rules) -> Outcome {
    let found = rules_problems(&draft, rules);
    draft.problems.extend(found);
    finish(draft)
}

/// The problems every rule finds in a draft (the mapping's aside).
fn rules_problems(draft: &Draft, rules: &Rules) -> Vec<Problem> {
    let mut check = rules::Check::new(draft, rules);
    rules::run(&mut check);
    check.problems
}

fn finish(draft: Draft) -> Outcome {
    if draft.problems.iter().any(Problem::is_error) {
        let problems = draft.problems.clone();
        Err(Rejection { draft, problems })
    } else {
        Ok(Valid(draft))
    }
}

/// Validate a stream of drafts in parallel, yielding outcomes in input order.
///
/// The calling thread pulls drafts from `drafts` (which reads and maps the
/// source, and may borrow from the caller, so it stays on this thread) in
/// chunks of `rules.chunk_size` and sends each chunk over a bounded channel to
/// a dedicated validation thread, which validates it while the next one is
/// read and the caller consumes earlier outcomes; validated chunks come back
/// over a second channel in the order they were sent. At most
/// [`CHUNKS_IN_FLIGHT`] chunks are held at a time, whatever the input's size.
/// Duplicate numbers are checked here, on the output side, in input order.
pub fn validate_all<'r, I>(drafts: I, rules: &'r Rules) -> ValidateAll<'r, I>
where
    I: Iterator<Item = Draft>,
{
    let (to_worker, chunks) = sync_channel::<Vec<Draft>>(CHUNKS_IN_FLIGHT);
    let (done, from_worker) = sync_channel::<Done>(CHUNKS_IN_FLIGHT);
    let worker_rules = Arc::new(rules.clone());
    let seen = Duplicates::default();
    let keys = seen.keys.clone();
    let worker = std::thread::Builder::new()
        .name("validate".into())
        .spawn(move || {
            for chunk in chunks {
                // On rayon's pool (this thread waits, without spinning), so
                // validation uses every core the reader leaves idle. The
                // drafts stay in the chunk (the rules read them there); each
                // one's number key is worked out here too, in parallel, so
                // the duplicate check on the output side is a hash lookup.
                let found: Vec<Found> = chunk
                    .par_iter()
                    .with_min_len(64)
                    .map(|d| Found::in_draft(d, &worker_rules, &keys))
                    .collect();
                // The receiver is gone only when the iterator was dropped.
                if done.send(Done::new(chunk, found)).is_err() {
                    break;
                }
            }
        })
        .ok();
    ValidateAll {
        input: drafts,
        rules,
        chunk: rules.chunk_size.max(1),
        exhausted: false,
        to_worker: worker.as_ref().map(|_| to_worker),
        from_worker,
        in_flight: 0,
        worker,
        ready: Done::new(Vec::new(), Vec::new()),
        seen,
    }
}

/// What the validation thread finds in one draft.
struct Found {
    /// The rules' problems.
    problems: Vec<Problem>,
    key: Option<NumberKey>,
}

impl Found {
    fn in_draft(draft: &Draft, rules: &Rules, keys: &RandomState) -> Found {
        Found {
            problems: rules_problems(draft, rules),
            key: NumberKey::of(draft, keys),
        }
    }
}

/// A validated chunk: its drafts, and what was found in each, in order.
struct Done {
    drafts: std::vec::IntoIter<Draft>,
    found: std::vec::IntoIter<Found>,
}

impl Done {
    fn new(drafts: Vec<Draft>, found: Vec<Found>) -> Done {
        debug_assert_eq!(drafts.len(), found.len());
        Done {
            drafts: drafts.into_iter(),
            found: found.into_iter(),
        }
    }

    fn is_empty(&self) -> bool {
        self.drafts.as_slice().is_empty()
    }

    /// The next draft with its problems, and its number key.
    fn next(&mut self) -> Option<(Outcome, Option<NumberKey>)> {
        let mut draft = self.drafts.next()?;
        let found = self.found.next()?;
        draft.problems.extend(found.problems);
        Some((finish(draft), found.key))
    }
}

/// Chunks read and not yet consumed, at most.
pub const CHUNKS_IN_FLIGHT: usize = 4;

/// The iterator [`validate_all`] returns.
pub struct ValidateAll<'r, I> {
    input: I,
    rules: &'r Rules,
    chunk: usize,
    exhausted: bool,
    /// Chunks to the validation thread; `None` once the input is exhausted
    /// (which ends the thread), or if the thread could not be started (then
    /// chunks are validated here).
    to_worker: Option<SyncSender<Vec<Draft>>>,
    /// Validated chunks, in the order they were sent.
    from_worker: Receiver<Done>,
    /// Chunks sent and not yet received back.
    in_flight: usize,
    worker: Option<JoinHandle<()>>,
    ready: Done,
    seen: Duplicates,
}

impl<I> ValidateAll<'_, I> {
    /// The oldest validated chunk, waiting for it.
    fn receive(&mut self) -> Done {
        match self.from_worker.recv() {
            Ok(done) => {
                self.in_flight -= 1;
                done
            }
            Err(_) => self.worker_failed(),
        }
    }

    /// The validation thread ended with chunks outstanding, which only a
    /// panic in a rule does: raise it here.
    fn worker_failed(&mut self) -> ! {
        if let Some(Err(panic)) = self.worker.take().map(JoinHandle::join) {
            std::panic::resume_unwind(panic);
        }
        panic!("the validation thread stopped without a result")
    }
}

impl<I> Iterator for ValidateAll<'_, I>
where
    I: Iterator<Item = Draft>,
{
    type Item = Outcome;

    fn next(&mut self) -> Option<Outcome> {
        loop {
            if let Some((mut o, key)) = self.ready.next() {
                self.seen.check_keyed(&mut o, key);
                return Some(o);
            }
            // Keep the validation thread fed: read chunks until
            // CHUNKS_IN_FLIGHT are out, then take the oldest back (waiting
            // for it if need be). Consuming a validated chunk while the
            // thread is idle (it had nothing queued) would take turns
            // instead of working side by side.
            while !self.exhausted && self.in_flight < CHUNKS_IN_FLIGHT {
                let chunk: Vec<Draft> = self.input.by_ref().take(self.chunk).collect();
                if chunk.is_empty() {
                    self.exhausted = true;
                    self.to_worker = None;
                    break;
                }
                let Some(tx) = &self.to_worker else {
                    // No validation thread: validate here, in order.
                    let found = chunk
                        .iter()
                        .map(|d| Found::in_draft(d, self.rules, &self.seen.keys))
                        .collect();
                    self.ready = Done::new(chunk, found);
                    break;
                };
                if tx.send(chunk).is_err() {
                    // The thread ended early: it panicked.
                    self.worker_failed();
                }
                self.in_flight += 1;
            }
            if !self.ready.is_empty() {
                continue;
            }
            if self.in_flight == 0 {
                return None;
            }
            self.ready = self.receive();
        }
    }
}

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
struct NumberKey {
    hash: u64,
    credit: bool,
    lower: Box<str>,
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
fn fold_case(s: &str) -> Box<str> {
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
                    let verdict = Verdict::copy(&draft, &rules);
                    (verdict, Some(Valid(draft)))
                }
                _ => (Verdict::take(&mut draft, &rules), None),
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

#[cfg(test)]
mod tests;
