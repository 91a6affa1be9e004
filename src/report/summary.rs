//! The run summary: counts of rows, documents, valid and rejected ones,
//! problems by code, and the first few problems; rendered as text for stderr
//! and serialized for `--json` on stdout.

use crate::error::Ending;
use crate::model::{Problem, Severity};
use crate::validate::{codes, CustomerCounts, CustomerReport, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// How many problems the summary quotes in full.
pub const FIRST_PROBLEMS: usize = 10;

/// What a validation (or a dry run) found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// The input files, as given.
    pub files: Vec<String>,
    /// Data rows read (title, header and skipped rows not counted).
    pub rows_read: u64,
    /// Rows skipped on purpose (totals rows matching the mapping's pattern).
    pub rows_skipped: u64,
    /// Rows that could not be read or mapped at all (ragged rows).
    pub row_errors: u64,
    /// Documents (invoices and credit notes) the rows formed.
    pub invoices_formed: u64,
    pub valid: u64,
    pub rejected: u64,
    /// Problems of severity error, over all documents.
    pub errors: u64,
    /// Problems of severity warning, over all documents.
    pub warnings: u64,
    /// Problems counted by code (errors and warnings).
    pub by_code: BTreeMap<String, u64>,
    /// With `--preflight`: customers not found on the account, which an
    /// import would create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customers_to_create: Option<u64>,
    /// The batch's customers: referenced, to create, found, with
    /// conflicts, rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customers: Option<CustomerCounts>,
    /// Each customer with a problem: conflicting values, none to create
    /// it with, or (with `--preflight`) other values on the account.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub customer_problems: Vec<CustomerReport>,
    /// With `--preflight`: the account's tax-rate ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_tax_rates: Option<Vec<String>>,
    /// The first problems, rendered with their place.
    pub first_problems: Vec<String>,
    /// What the problems, taken together, suggest doing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    /// The rejects report written, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejects: Option<String>,
    /// The errors list written, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors_list: Option<String>,
}

impl Summary {
    /// Count one document.
    pub fn record(&mut self, verdict: &Verdict) {
        self.invoices_formed += 1;
        if verdict.is_valid() {
            self.valid += 1;
        } else {
            self.rejected += 1;
        }
        for p in &verdict.problems {
            self.problem(p);
        }
    }

    fn problem(&mut self, p: &Problem) {
        match p.severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
        }
        *self.by_code.entry(p.code.to_string()).or_default() += 1;
        if self.first_problems.len() < FIRST_PROBLEMS {
            let sev = match p.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            self.first_problems.push(format!("{sev}[{}]: {p}", p.code));
        }
    }

    /// Work out the hints from the counts (once every document is recorded).
    pub fn add_hints(&mut self) {
        let n = |code: &str| self.by_code.get(code).copied().unwrap_or(0);
        if n(codes::TOTAL_ROUNDING) > 0 && n(codes::TOTAL_MISMATCH) == 0 {
            self.hints.push(format!(
                "the {} stated totals that differ all differ by 0.01–0.02, as a source that rounds halves to even (or truncates) would give: `[checks] tolerance = \"0.02\"` in the mapping accepts such differences with a warning",
                n(codes::TOTAL_ROUNDING)
            ));
        }
        if n(codes::TOTALS_ROW) > 0 {
            self.hints.push(
                "some rows look like totals rows: the error on them shows the `skip_rows_matching` line to add to the mapping's [source]".to_string(),
            );
        }
    }

    /// Whether every document is valid (exit 0).
    pub fn all_valid(&self) -> bool {
        self.rejected == 0 && self.row_errors == 0
    }

    /// How the batch ended: every document valid, or some rejected (or a
    /// row unreadable).
    pub fn ending(&self) -> Ending {
        if self.all_valid() {
            Ending::Ok
        } else {
            Ending::Rejected
        }
    }

    /// The summary for people, on stderr.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let _ = write!(out, "{} rows read", self.rows_read);
        if self.rows_skipped > 0 {
            let _ = write!(out, ", {} skipped", self.rows_skipped);
        }
        if self.row_errors > 0 {
            let _ = write!(out, ", {} unreadable", self.row_errors);
        }
        let _ = writeln!(
            out,
            "; {} documents formed: {} valid, {} rejected",
            self.invoices_formed, self.valid, self.rejected
        );
        if self.errors + self.warnings > 0 {
            let _ = writeln!(
                out,
                "{} errors, {} warnings by code:",
                self.errors, self.warnings
            );
            let width = self.by_code.keys().map(String::len).max().unwrap_or(0);
            for (code, n) in &self.by_code {
                let _ = writeln!(out, "  {code:<width$}  {n}");
            }
        }
        if let Some(c) = &self.customers {
            let _ = write!(out, "customers: {} referenced", c.referenced);
            if self.customers_to_create.is_some() {
                let _ = write!(
                    out,
                    ", {} to create, {} on the account",
                    c.to_create, c.found
                );
            }
            if c.with_conflicts > 0 {
                let _ = write!(out, ", {} with conflicting values", c.with_conflicts);
            }
            if c.rejected > 0 {
                let _ = write!(out, ", {} rejecting their documents", c.rejected);
            }
            if c.differ_from_account > 0 {
                let _ = write!(
                    out,
                    ", {} on the account with other values (see the rejects workbook's Customers sheet, or --json)",
                    c.differ_from_account
                );
            }
            out.push('\n');
        }
        if let Some(n) = self.customers_to_create {
            let _ = writeln!(
                out,
                "preflight: {n} customers not on the account would be created"
            );
        }
        if !self.first_problems.is_empty() {
            let total = self.errors + self.warnings;
            let shown = self.first_problems.len() as u64;
            if total > shown {
                let _ = writeln!(out, "first {shown} of {total} problems:");
            } else {
                let _ = writeln!(out, "problems:");
            }
            for p in &self.first_problems {
                let _ = writeln!(out, "  {p}");
            }
        }
        for h in &self.hints {
            let _ = writeln!(out, "hint: {h}");
        }
        if let Some(r) = &self.rejects {
            let _ = writeln!(out, "rejected rows written to {r}");
        }
        if let Some(e) = &self.errors_list {
            let _ = writeln!(out, "errors list written to {e}");
        }
        out
    }
}
