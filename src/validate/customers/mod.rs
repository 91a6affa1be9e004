//! Customers are records of the batch, not of one document. While the
//! documents stream through validation, the customers they name are
//! collected per match key (the number, or the tax id, as the mapping says;
//! case does not matter, as it does not to the API) across every input file,
//! one record per customer: each field takes the first non-empty value in
//! input order (a value a rule found wrong is not taken). [`CustomerBook`]
//! then judges each document against its customer's record:
//!
//! - the identity field (the tax id when matching by number, the number
//!   when matching by tax id) differing from the record's is an error
//!   `customer_disagrees` naming both cells; any other field differing is
//!   a warning with the value that will be sent;
//! - when matching by tax id, a number another customer took first is an
//!   error `customer_number_taken` (the API keeps numbers unique);
//! - a blank field that an earlier document supplies is a warning
//!   `customer_filled` naming where the value came from; a blank name is
//!   filled from any document of the batch;
//! - a customer that, merged, still has no name (what the API needs to
//!   create it) rejects every document that needs it, with
//!   `customer_incomplete` at the blank name's cell; not when the preflight
//!   found it on the account;
//! - a document whose customer has neither a number nor a tax id (nor, as
//!   in our own exports, its id on the account) cannot be matched:
//!   `customer_unmatched`.
//!
//! Every judgement depends only on the document and on the values that
//! came before it, except a missing name, which needs the whole batch: so a
//! single pass ([`CustomerBook::observe`], holding back only the documents
//! that wait for a name) and a second pass over a finished book
//! ([`CustomerBook::judge`]) come to the same verdicts. The uploader then
//! creates each customer from its merged record ([`CustomerBook::merged`]),
//! whichever document reaches it first.

//!
//! The parts: `fields` (the fields merged, the match key), `report` (the
//! merged records as sent, counts, differences with the account, the
//! report of customers with problems).

mod fields;
mod report;

pub use fields::CustomerKey;
pub use report::{AccountDifference, CustomerCounts, CustomerReport};

use super::{codes, KnownCustomers, Verdict};
use crate::model::{CellRef, MatchOn, Problem};
use fields::{fold, same, FIELDS, NAME, NUMBER};
use foldhash::fast::RandomState;
use serde::Serialize;
use std::collections::HashMap;

/// Conflicts kept per customer for the report (the rest are counted).
const CONFLICTS_KEPT: usize = 20;

/// A field's chosen value: the first non-empty one in input order.
#[derive(Debug, Clone, PartialEq)]
struct Chosen {
    value: String,
    cell: Option<CellRef>,
    /// The document it came from (its place in input order).
    doc: u64,
    document: String,
}

/// A value that differs from the chosen one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub field: &'static str,
    /// The value that will be sent, and where it is.
    pub chosen: String,
    pub chosen_at: String,
    /// The other value, and where it is.
    pub other: String,
    pub other_at: String,
    /// An error (an identity field) or a warning.
    pub error: bool,
}

/// One customer of the batch.
#[derive(Debug, Clone)]
struct Record {
    fields: Vec<Option<Chosen>>,
    docs: u64,
    /// Documents judged rejected for a reason of the customer's.
    rejected_docs: u64,
    conflicts: Vec<Conflict>,
    more_conflicts: u64,
}

impl Default for Record {
    fn default() -> Record {
        Record {
            fields: vec![None; FIELDS.len()],
            docs: 0,
            rejected_docs: 0,
            conflicts: Vec::new(),
            more_conflicts: 0,
        }
    }
}

impl Record {
    fn conflict(&mut self, c: Conflict) {
        if self.conflicts.len() < CONFLICTS_KEPT {
            self.conflicts.push(c);
        } else {
            self.more_conflicts += 1;
        }
    }
}

/// The customers of a batch, merged.
#[derive(Debug, Default)]
pub struct CustomerBook {
    records: HashMap<CustomerKey, Record, RandomState>,
    /// Numbers taken, and which customer took each first (matching by tax id).
    numbers: HashMap<String, CustomerKey, RandomState>,
    /// The customers the preflight found on the account.
    known: Option<KnownCustomers>,
    /// Documents waiting for their customer's name, per customer, in order.
    waiting: HashMap<CustomerKey, Vec<(u64, Box<Verdict>)>, RandomState>,
    /// Documents seen.
    docs: u64,
    unmatched_docs: u64,
}

impl CustomerBook {
    /// A book that knows which customers the account has (the preflight).
    pub fn new(known: Option<KnownCustomers>) -> CustomerBook {
        CustomerBook {
            known,
            ..CustomerBook::default()
        }
    }

    /// Whether the account has this customer (as far as the preflight knows).
    fn on_account(&self, key: &CustomerKey) -> bool {
        self.known.as_ref().is_some_and(|k| match key.on {
            MatchOn::Number => k.numbers.contains(&key.value),
            MatchOn::TaxId => k.tax_ids.contains(&key.value),
        })
    }

    /// Take the document's customer values into the book (the first
    /// non-empty value of each field, in input order; values a rule found
    /// wrong are not taken). Returns the document's place in input order.
    pub fn record(&mut self, verdict: &Verdict) -> u64 {
        let key = CustomerKey::of(&verdict.customer, verdict.match_on);
        self.record_as(key.as_ref(), verdict)
    }

    /// [`CustomerBook::record`] with the document's key worked out.
    fn record_as(&mut self, key: Option<&CustomerKey>, verdict: &Verdict) -> u64 {
        let ordinal = self.docs;
        self.docs += 1;
        let Some(key) = key else {
            self.unmatched_docs += 1;
            return ordinal;
        };
        let rec = match self.records.get_mut(key) {
            Some(rec) => rec,
            None => self.records.entry(key.clone()).or_default(),
        };
        rec.docs += 1;
        let mut claim: Option<String> = None;
        for (i, def) in FIELDS.iter().enumerate() {
            if rec.fields[i].is_some() {
                continue;
            }
            let Some(v) = (def.get)(&verdict.customer).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            if flagged(verdict, def.name) {
                continue;
            }
            if i == NUMBER && key.on == MatchOn::TaxId {
                // A number another customer took first is not this one's.
                match self.numbers.get(&fold(v)) {
                    Some(owner) if owner != key => continue,
                    _ => claim = Some(fold(v)),
                }
            }
            rec.fields[i] = Some(Chosen {
                cell: verdict.origin(&format!("customer.{}", def.name)),
                value: v.trim().to_string(),
                doc: ordinal,
                document: verdict.document().to_string(),
            });
        }
        if let Some(n) = claim {
            self.numbers.entry(n).or_insert_with(|| key.clone());
        }
        ordinal
    }

    /// The single pass: record the document, then judge it now (true), or,
    /// while its customer has no name yet, take it and hold it back
    /// (false: the caller records nothing). Documents held back that this
    /// one's name releases come back judged, in input order; the rest come
    /// back from [`CustomerBook::finish`].
    pub fn observe(&mut self, verdict: &mut Verdict) -> (bool, Vec<Box<Verdict>>) {
        // The key, worked out once for the document's turn.
        let key = CustomerKey::of(&verdict.customer, verdict.match_on);
        let ordinal = self.record_as(key.as_ref(), verdict);
        let mut released = Vec::new();
        if let Some(k) = &key {
            let named = self
                .records
                .get(k)
                .is_some_and(|r| r.fields[NAME].is_some());
            if named {
                if !self.waiting.is_empty() {
                    if let Some(held) = self.waiting.remove(k) {
                        for (o, mut v) in held {
                            self.judge_as(Some(k), o, &mut v);
                            released.push(v);
                        }
                    }
                }
            } else if !self.on_account(k) {
                let held = Box::new(std::mem::take(verdict));
                self.waiting
                    .entry(k.clone())
                    .or_default()
                    .push((ordinal, held));
                return (false, released);
            }
        }
        self.judge_as(key.as_ref(), ordinal, verdict);
        (true, released)
    }

    /// The documents still waiting at the end of the batch, judged (their
    /// customers never got a name), in input order.
    pub fn finish(&mut self) -> Vec<Box<Verdict>> {
        let mut held: Vec<(u64, Box<Verdict>)> =
            self.waiting.drain().flat_map(|(_, v)| v).collect();
        held.sort_by_key(|(o, _)| *o);
        held.into_iter()
            .map(|(o, mut v)| {
                let key = CustomerKey::of(&v.customer, v.match_on);
                self.judge_as(key.as_ref(), o, &mut v);
                v
            })
            .collect()
    }

    /// Judge the document at `ordinal` against its customer's record: add
    /// its problems (see the module docs), and note its conflicts in the
    /// record. The same on a finished book as at the document's turn in a
    /// single pass.
    pub fn judge(&mut self, ordinal: u64, verdict: &mut Verdict) {
        let key = CustomerKey::of(&verdict.customer, verdict.match_on);
        self.judge_as(key.as_ref(), ordinal, verdict);
    }

    /// [`CustomerBook::judge`] with the document's key worked out.
    fn judge_as(&mut self, key: Option<&CustomerKey>, ordinal: u64, verdict: &mut Verdict) {
        let was_valid = verdict.is_valid();
        let (problems, conflicts) = self.judgement(key, ordinal, verdict);
        if problems.is_empty() && conflicts.is_empty() {
            return;
        }
        let rejects = problems.iter().any(Problem::is_error);
        verdict.problems.extend(problems);
        if let Some(rec) = key.and_then(|k| self.records.get_mut(k)) {
            for c in conflicts {
                rec.conflict(c);
            }
            if rejects && was_valid {
                rec.rejected_docs += 1;
            }
        }
    }

    /// [`CustomerBook::judge`] on a finished book that is not to change (a
    /// second pass over the same input): the problems only.
    pub fn check(&self, ordinal: u64, verdict: &mut Verdict) {
        let key = CustomerKey::of(&verdict.customer, verdict.match_on);
        let (problems, _) = self.judgement(key.as_ref(), ordinal, verdict);
        verdict.problems.extend(problems);
    }

    fn judgement(
        &self,
        key: Option<&CustomerKey>,
        ordinal: u64,
        verdict: &Verdict,
    ) -> (Vec<Problem>, Vec<Conflict>) {
        let mut problems = Vec::new();
        let mut conflicts = Vec::new();
        let Some(key) = key else {
            // Said already: a totals row (no customer to match), or a
            // customer a rule found wanting (`required`: no name, no number).
            let said = verdict.problems.iter().any(|p| {
                p.is_error()
                    && (p.code == codes::TOTALS_ROW
                        || (p.code == codes::REQUIRED && p.field.starts_with("customer.")))
            });
            if verdict.customer.id.is_some() || said {
                // The account's customer, named by its id (a round trip):
                // nothing to find, create or merge.
                return (problems, conflicts);
            }
            problems.push(
                Problem::error(
                    codes::CUSTOMER_UNMATCHED,
                    "customer.number",
                    "the customer has neither a number nor a tax id, so it cannot be found or created once for all its documents",
                )
                .expected("a customer number or tax id (IDNO)")
                .at(verdict.origin("customer.name").as_ref())
                .at_row(verdict.first_row()),
            );
            return (problems, conflicts);
        };
        let Some(rec) = self.records.get(key) else {
            return (problems, conflicts);
        };
        let taken_by = |v: &str| self.numbers.get(&fold(v)).filter(|o| *o != key);
        let identity = key.identity();
        for (i, def) in FIELDS.iter().enumerate() {
            // Nothing to say where the record holds nothing (the common
            // case first, before any path, value or cell is made).
            let Some(chosen) = &rec.fields[i] else {
                continue;
            };
            // A value a rule already found wrong is reported as that, and
            // was not taken into the record.
            if flagged(verdict, def.name) {
                continue;
            }
            let own = (def.get)(&verdict.customer).filter(|v| !v.trim().is_empty());
            // The path and its cell, made only for a problem.
            let path = || format!("customer.{}", def.name);
            let cell = || verdict.origin(&path());
            match (Some(chosen), own) {
                (Some(c), Some(v)) if c.doc != ordinal && !same(i, &c.value, v) => {
                    if i == NUMBER && key.on == MatchOn::TaxId && taken_by(v).is_some() {
                        // Reported below: another customer's number.
                        continue;
                    }
                    let error = i == identity;
                    let chosen_at = place(c);
                    let (path, cell) = (path(), cell());
                    let message = if error {
                        format!(
                            "customer {} has {} {:?} at {chosen_at}: one customer cannot have two",
                            key.label(),
                            def.name,
                            c.value
                        )
                    } else {
                        format!(
                            "customer {} has {} {:?} at {chosen_at}; that one will be sent",
                            key.label(),
                            def.name,
                            c.value
                        )
                    };
                    let p = if error {
                        Problem::error(codes::CUSTOMER_DISAGREES, &path, message)
                    } else {
                        Problem::warning(codes::CUSTOMER_DISAGREES, &path, message)
                    };
                    problems.push(
                        p.found(v)
                            .expected(format!("{:?}, as at {chosen_at}", c.value))
                            .at(cell.as_ref())
                            .at_row(verdict.first_row()),
                    );
                    let other_at = cell
                        .as_ref()
                        .map(|c| c.to_string())
                        .or_else(|| verdict.first_row().map(|r| r.to_string()))
                        .unwrap_or_else(|| verdict.document().to_string());
                    conflicts.push(Conflict {
                        field: def.name,
                        chosen: c.value.clone(),
                        chosen_at,
                        other: v.to_string(),
                        other_at,
                        error,
                    });
                }
                (Some(c), None) if c.doc < ordinal || (i == NAME && c.doc != ordinal) => {
                    let from = place(c);
                    let (path, cell) = (path(), cell());
                    problems.push(
                        Problem::warning(
                            codes::CUSTOMER_FILLED,
                            &path,
                            format!(
                                "blank here: customer {} takes {:?} from {from}",
                                key.label(),
                                c.value
                            ),
                        )
                        .found("")
                        .expected(format!("{:?} (from {from})", c.value))
                        .at(cell.as_ref())
                        .at_row(verdict.first_row()),
                    );
                }
                _ => {}
            }
        }
        // A number another customer of the batch took first.
        if key.on == MatchOn::TaxId {
            let own = (FIELDS[NUMBER].get)(&verdict.customer).filter(|v| !v.trim().is_empty());
            if let Some((v, owner)) = own.and_then(|v| taken_by(v).map(|o| (v, o))) {
                problems.push(
                    Problem::error(
                        codes::CUSTOMER_NUMBER_TAKEN,
                        "customer.number",
                        format!(
                            "the number is taken by another customer of the batch ({}); numbers are unique per account",
                            owner.label()
                        ),
                    )
                    .found(v)
                    .expected("a number no other customer has")
                    .at(verdict.origin("customer.number").as_ref())
                    .at_row(verdict.first_row()),
                );
            }
        }
        if rec.fields[NAME].is_none() && !self.on_account(key) {
            problems.push(
                Problem::error(
                    codes::CUSTOMER_INCOMPLETE,
                    "customer.name",
                    format!(
                        "customer {} has no name in any document of the batch: the API needs one to create it",
                        key.label()
                    ),
                )
                .found("")
                .expected("the customer's name, in this or another document of the customer")
                .at(verdict.origin("customer.name").as_ref())
                .at_row(verdict.first_row()),
            );
        }
        (problems, conflicts)
    }
}

/// Whether a rule found the document's customer `field` wrong.
fn flagged(verdict: &Verdict, field: &str) -> bool {
    verdict.problems.iter().any(|p| {
        p.is_error()
            && p.field
                .strip_prefix("customer.")
                .is_some_and(|f| f == field)
    })
}

/// Where a chosen value is, for messages: its cell, or its document.
fn place(c: &Chosen) -> String {
    match &c.cell {
        Some(cell) => cell.to_string(),
        None => format!("document {}", c.document),
    }
}
