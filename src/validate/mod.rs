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
//!
//! - [`rules`]: the rules over one draft; [`totals`] and [`currency`] their
//!   arithmetic and currency tables.
//! - `verdict`: the [`Verdict`]; `batch`: [`Duplicates`] and the validator.

// An outcome moves its draft whichever way it goes (Ok and Err are both
// about a draft's size); boxing would cost an allocation per document.
#![allow(clippy::result_large_err)]

pub mod currency;
pub mod rules;
pub mod totals;

mod batch;
pub mod customers;
mod verdict;

use crate::model::vat::VatTable;
use crate::model::{Draft, MatchOn, Problem};
use serde::Deserialize;
use std::collections::HashSet;
use std::ops::Deref;
use std::path::{Path, PathBuf};

pub use batch::{Duplicates, Keep, Validated};
pub use customers::{CustomerBook, CustomerCounts, CustomerReport};
pub use rules::codes;
pub use verdict::Verdict;

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

    /// The document with its customer as the batch merged it
    /// ([`CustomerBook::merged`]): each field the first value of the batch
    /// that passed the rules, so that every document of a customer sends
    /// the same record.
    pub fn with_customer(mut self, customer: crate::model::Customer) -> Valid<Draft> {
        self.0.customer = customer;
        self
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

/// The customers that exist on the target account (`--preflight`), by
/// number and by tax id, lower case; and their records, to compare with
/// the batch's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KnownCustomers {
    pub numbers: HashSet<String>,
    pub tax_ids: HashSet<String>,
    /// The account's customers by `number:<number>` and `tax_id:<tax id>`.
    pub records: std::collections::HashMap<String, crate::model::Customer>,
}

impl KnownCustomers {
    /// Note a customer of the account.
    pub fn add(&mut self, c: crate::model::Customer) {
        let n = c
            .number
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_lowercase);
        let t = c
            .tax_id
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_lowercase);
        if let Some(t) = &t {
            self.tax_ids.insert(t.clone());
            self.records.insert(format!("tax_id:{t}"), c.clone());
        }
        if let Some(n) = n {
            self.numbers.insert(n.clone());
            self.records.insert(format!("number:{n}"), c);
        }
    }

    /// The account's customer found by `on` = `value` (lower case).
    pub fn record(&self, on: MatchOn, value: &str) -> Option<&crate::model::Customer> {
        let field = match on {
            MatchOn::Number => "number",
            MatchOn::TaxId => "tax_id",
        };
        self.records.get(&format!("{field}:{value}"))
    }
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
pub(crate) fn rules_problems(draft: &Draft, rules: &Rules) -> Vec<Problem> {
    let mut check = rules::Check::new(draft, rules);
    rules::run(&mut check);
    check.problems
}

pub(crate) fn finish(draft: Draft) -> Outcome {
    if draft.problems.iter().any(Problem::is_error) {
        let problems = draft.problems.clone();
        Err(Rejection { draft, problems })
    } else {
        Ok(Valid(draft))
    }
}

#[cfg(test)]
mod tests;
