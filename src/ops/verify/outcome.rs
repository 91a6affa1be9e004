//! What `runs verify` found, as reports and `--json` read it: every
//! document of the source with its status (identical, differs, deleted or
//! voided on the account, not on the account, on the account but not in
//! the source, not imported because validation rejected it), every
//! difference named by field with both values and the source cell, the
//! control totals, and the one-line verdict.

use super::totals::ControlTotals;
use crate::error::Ending;
use crate::export::columns::money_text;
use crate::ledger::{RunId, UnitKind};
use crate::model::{money, Money};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use std::fmt;

/// How a document of the run compares with the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocStatus {
    /// On the account exactly as the source gives it.
    Identical,
    /// On the account, with fields that differ.
    Differs,
    /// Imported, then deleted on the account.
    Deleted,
    /// Imported, then voided on the account.
    Voided,
    /// Valid in the source but not on the account (rejected by the API,
    /// never sent, the run did not finish it, rolled back).
    NotOnAccount,
    /// Put on the account by the run, but not in the source as it is now.
    NotInSource,
    /// Rejected by validation: never imported, and not a difference.
    Rejected,
}

impl DocStatus {
    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            DocStatus::Identical => "identical",
            DocStatus::Differs => "differs",
            DocStatus::Deleted => "deleted on the account",
            DocStatus::Voided => "voided on the account",
            DocStatus::NotOnAccount => "not on the account",
            DocStatus::NotInSource => "on the account, not in the source",
            DocStatus::Rejected => "not imported (rejected)",
        }
    }

    /// Whether the account fails to hold what the source holds.
    pub fn is_difference(self) -> bool {
        !matches!(self, DocStatus::Identical | DocStatus::Rejected)
    }
}

/// A customer as the totals group it: `key` is what it is matched on (its
/// number, or its tax id).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Party {
    pub key: String,
    pub number: Option<String>,
    pub tax_id: Option<String>,
    pub name: Option<String>,
}

/// One side's figures of a document, as the control totals add them up:
/// net is gross less VAT.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Upper case (`MDL`).
    pub currency: String,
    pub date: Option<NaiveDate>,
    pub customer: Party,
    pub lines: usize,
    #[serde(with = "money::num")]
    pub net: Money,
    #[serde(with = "money::num")]
    pub vat: Money,
    #[serde(with = "money::num")]
    pub gross: Money,
}

/// A value as a difference shows it, typed for the workbook.
#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    Empty,
    Text(String),
    Money(Money),
    /// A quantity (as exact as given).
    Quantity(Decimal),
    Date(NaiveDate),
    Count(u64),
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Empty => f.write_str("—"),
            Shown::Text(s) => f.write_str(s),
            Shown::Money(d) => f.write_str(&money_text(*d)),
            Shown::Quantity(d) => write!(f, "{}", d.normalize()),
            Shown::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Shown::Count(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for Shown {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Shown::Empty => s.serialize_none(),
            Shown::Text(t) => s.serialize_str(t),
            Shown::Money(d) | Shown::Quantity(d) => money::num::serialize(d, s),
            Shown::Date(d) => s.serialize_str(&d.format("%Y-%m-%d").to_string()),
            Shown::Count(n) => s.serialize_u64(*n),
        }
    }
}

/// One difference: a field of a document, its value in the source and on
/// the account, and the cell of the source it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    pub document: String,
    pub kind: UnitKind,
    /// The API's field path (`total`, `items[1].quantity`, `customer.name`),
    /// or `document` for one missing on a side, `status` for a voided one.
    pub field: String,
    pub source: Shown,
    pub account: Shown,
    /// What happened, when it can be told (`deleted on the account after
    /// the import`).
    pub note: Option<String>,
    pub file: Option<String>,
    pub sheet: Option<String>,
    pub row: Option<u64>,
}

/// One document of the run and how it compares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentCheck {
    /// Its number, else its source key.
    pub document: String,
    pub kind: UnitKind,
    pub status: DocStatus,
    /// Its id on the account.
    pub remote_id: Option<i64>,
    /// Where it came from: `sales.csv row 5, 6`.
    pub rows: String,
    pub file: Option<String>,
    pub sheet: Option<String>,
    pub row: Option<u64>,
    /// What the source gives (valid documents only).
    pub source: Option<Figures>,
    /// What the account holds (found, not voided).
    pub account: Option<Figures>,
    /// Fields that differ.
    pub differences: usize,
    /// Why it is not compared, or what else to know.
    pub note: Option<String>,
}

/// Documents by status, and the differences found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Documents the source forms (valid or not).
    pub documents: u64,
    /// Rejected by validation (not imported, not differences).
    pub rejected: u64,
    /// Read back from the account and compared.
    pub compared: u64,
    pub identical: u64,
    pub differ: u64,
    pub deleted: u64,
    pub voided: u64,
    pub not_on_account: u64,
    pub not_in_source: u64,
    /// Field differences, every document together.
    pub differences: u64,
}

impl Counts {
    pub(super) fn count(&mut self, d: &DocumentCheck) {
        match d.status {
            DocStatus::NotInSource => {}
            _ => self.documents += 1,
        }
        match d.status {
            DocStatus::Identical => self.identical += 1,
            DocStatus::Differs => self.differ += 1,
            DocStatus::Deleted => self.deleted += 1,
            DocStatus::Voided => self.voided += 1,
            DocStatus::NotOnAccount => self.not_on_account += 1,
            DocStatus::NotInSource => self.not_in_source += 1,
            DocStatus::Rejected => self.rejected += 1,
        }
        if matches!(
            d.status,
            DocStatus::Identical | DocStatus::Differs | DocStatus::Voided | DocStatus::NotInSource
        ) {
            self.compared += 1;
        }
        self.differences += d.differences as u64;
    }

    /// Documents the account does not hold as the source does.
    pub fn differing(&self) -> u64 {
        self.differ + self.deleted + self.voided + self.not_on_account + self.not_in_source
    }
}

/// An input file of the run, checked again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputCheck {
    pub path: String,
    /// As the run recorded it.
    pub sha256: String,
    /// Whether the file is not what the run imported (`--allow-changed`).
    pub changed: bool,
}

/// The whole reconciliation of a run with the account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reconciliation {
    pub run: RunId,
    pub env: String,
    pub mapping: String,
    /// The mapping's content is not what the run used (`--allow-changed`).
    pub mapping_changed: bool,
    pub inputs: Vec<InputCheck>,
    /// When, in Chisinau (`2026-11-28 14:03:11`).
    pub verified_at: String,
    /// Whether the account holds exactly what the source holds.
    pub identical: bool,
    /// One line for whoever signs off.
    pub verdict: String,
    pub counts: Counts,
    pub totals: ControlTotals,
    pub differences: Vec<Difference>,
    pub documents: Vec<DocumentCheck>,
    /// API requests made.
    pub requests: u64,
}

impl Reconciliation {
    /// Identical (exit 0), or differences found (exit 1).
    pub fn ending(&self) -> Ending {
        if self.identical {
            Ending::Ok
        } else {
            Ending::Rejected
        }
    }
}

/// The verdict line from the counts.
pub(super) fn verdict(c: &Counts, totals_differ: bool) -> String {
    let rejected = match c.rejected {
        0 => String::new(),
        n => format!(
            "; {n} document{} not imported (rejected by validation)",
            plural(n)
        ),
    };
    if c.differing() == 0 && !totals_differ {
        return format!(
            "identical: the account holds the {} document{} of the source exactly as imported{rejected}",
            c.compared,
            plural(c.compared)
        );
    }
    let mut parts = Vec::new();
    for (n, what) in [
        (c.differ, "with different fields"),
        (c.deleted, "deleted on the account"),
        (c.voided, "voided on the account"),
        (c.not_on_account, "not on the account"),
        (c.not_in_source, "on the account but not in the source"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    if parts.is_empty() {
        parts.push("the control totals differ".to_string());
    }
    format!(
        "DIFFERENCES: {} of {} document{} do not match ({}){rejected}",
        c.differing(),
        c.documents - c.rejected + c.not_in_source,
        plural(c.documents - c.rejected + c.not_in_source),
        parts.join(", ")
    )
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_names_what_differs_and_leaves_rejects_out() {
        let mut c = Counts {
            documents: 60,
            rejected: 4,
            compared: 56,
            identical: 56,
            ..Counts::default()
        };
        assert_eq!(
            verdict(&c, false),
            "identical: the account holds the 56 documents of the source exactly as imported; 4 documents not imported (rejected by validation)"
        );
        c.identical = 53;
        c.differ = 1;
        c.deleted = 1;
        c.voided = 1;
        assert_eq!(
            verdict(&c, true),
            "DIFFERENCES: 3 of 56 documents do not match (1 with different fields, 1 deleted on the account, 1 voided on the account); 4 documents not imported (rejected by validation)"
        );
    }

    #[test]
    fn shown_values_serialize_typed() {
        let v = serde_json::to_string(&[
            Shown::Money(Decimal::new(12050, 2)),
            Shown::Date(NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()),
            Shown::Empty,
            Shown::Count(3),
        ])
        .unwrap();
        assert_eq!(v, r#"[120.5,"2024-03-01",null,3]"#);
        assert_eq!(Shown::Money(Decimal::new(12050, 2)).to_string(), "120.50");
    }
}
