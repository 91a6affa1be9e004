//! What the book tells once the batch is read: each customer as the
//! uploader sends it, the counts for the summary, how a customer differs
//! from the account's, and the customers with problems for the report.

use super::fields::{same, CustomerKey, FIELDS, NAME};
use super::{place, Conflict, CustomerBook, Record};
use crate::model::{Customer, MatchOn};
use serde::Serialize;

/// The counts of a batch's customers, for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CustomerCounts {
    /// Customers the documents name.
    pub referenced: u64,
    /// Not on the account (with `--preflight`; otherwise every customer,
    /// created unless found at upload).
    pub to_create: u64,
    /// On the account already (with `--preflight`).
    pub found: u64,
    /// With a value that differs between documents.
    pub with_conflicts: u64,
    /// That reject their documents (no name, a disagreeing identity).
    pub rejected: u64,
    /// On the account with other values than the batch's (`--preflight`).
    pub differ_from_account: u64,
}

/// A field whose value on the account is not the batch's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountDifference {
    pub field: &'static str,
    pub account: String,
    pub file: String,
    /// Where the file's value is.
    pub at: String,
}

/// One customer with a problem, for the rejects workbook's `Customers` sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerReport {
    pub key: String,
    /// The values that will be sent, by field.
    pub chosen: Vec<(&'static str, String)>,
    pub conflicts: Vec<Conflict>,
    pub more_conflicts: u64,
    /// Why its documents are rejected, if they are.
    pub rejected: Option<String>,
    pub documents: u64,
    /// With `--preflight`: where the account's record differs from the batch's.
    pub account_differences: Vec<AccountDifference>,
}

impl CustomerBook {
    /// The customer as the uploader sends it: every field's chosen value.
    pub fn merged(&self, c: &Customer, on: MatchOn) -> Option<Customer> {
        let key = CustomerKey::of(c, on)?;
        let rec = self.records.get(&key)?;
        let mut out = Customer {
            metadata: c.metadata.clone(),
            ..Customer::default()
        };
        for (i, def) in FIELDS.iter().enumerate() {
            if let Some(chosen) = &rec.fields[i] {
                (def.set)(&mut out, &chosen.value);
            }
        }
        Some(out)
    }

    /// Where the account's record of a customer (with `--preflight`)
    /// differs from the batch's merged one: only fields the batch states.
    pub fn account_differences(&self, key: &CustomerKey) -> Vec<AccountDifference> {
        let (Some(known), Some(rec)) = (&self.known, self.records.get(key)) else {
            return Vec::new();
        };
        let Some(account) = known.record(key.on, &key.value) else {
            return Vec::new();
        };
        FIELDS
            .iter()
            .enumerate()
            .filter_map(|(i, def)| {
                let chosen = rec.fields[i].as_ref()?;
                let theirs = (def.get)(account).unwrap_or_default();
                (!same(i, &chosen.value, theirs)).then(|| AccountDifference {
                    field: def.name,
                    account: theirs.to_string(),
                    file: chosen.value.clone(),
                    at: place(chosen),
                })
            })
            .collect()
    }

    /// The counts for the summary.
    pub fn counts(&self) -> CustomerCounts {
        let mut c = CustomerCounts {
            referenced: self.records.len() as u64,
            ..CustomerCounts::default()
        };
        for (key, rec) in &self.records {
            if self.on_account(key) {
                c.found += 1;
            } else {
                c.to_create += 1;
            }
            if !rec.conflicts.is_empty() {
                c.with_conflicts += 1;
            }
            if self.rejection(key, rec).is_some() {
                c.rejected += 1;
            }
            if !self.account_differences(key).is_empty() {
                c.differ_from_account += 1;
            }
        }
        c
    }

    fn rejection(&self, key: &CustomerKey, rec: &Record) -> Option<String> {
        if rec.fields[NAME].is_none() && !self.on_account(key) {
            return Some("no name in any document".into());
        }
        if rec.conflicts.iter().any(|c| c.error) {
            return Some(format!(
                "{} documents with another {}",
                rec.rejected_docs,
                FIELDS[key.identity()].name
            ));
        }
        None
    }

    /// The customers with a problem, for the rejects workbook, by key.
    pub fn reports(&self) -> Vec<CustomerReport> {
        let mut out: Vec<CustomerReport> = self
            .records
            .iter()
            .filter_map(|(key, rec)| {
                let rejected = self.rejection(key, rec);
                let account_differences = self.account_differences(key);
                if rejected.is_none() && rec.conflicts.is_empty() && account_differences.is_empty()
                {
                    return None;
                }
                Some(CustomerReport {
                    key: key.label(),
                    chosen: FIELDS
                        .iter()
                        .zip(&rec.fields)
                        .filter_map(|(d, c)| Some((d.name, c.as_ref()?.value.clone())))
                        .collect(),
                    conflicts: rec.conflicts.clone(),
                    more_conflicts: rec.more_conflicts,
                    rejected,
                    documents: rec.docs,
                    account_differences,
                })
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }
}
