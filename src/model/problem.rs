//! A problem with one document: what is wrong, where, what was found and
//! what was expected. Mapping and validation make them; reports print them.

use super::{text, CellRef, RowRef};
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

/// Characters of a message or an "expected" before it is cut: they are
/// ours, but may quote the input.
const TEXT_CHARS: usize = 400;

/// `s`, cut to `chars` characters when longer.
fn bounded(s: String, chars: usize) -> String {
    if s.len() <= chars {
        return s;
    }
    match text::cut_to(&s, chars) {
        Cow::Owned(c) => c,
        Cow::Borrowed(_) => s,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The document is rejected.
    Error,
    /// Reported, the document still goes.
    Warning,
}

/// One problem, addressed as precisely as the source allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub severity: Severity,
    /// A stable, machine-readable code: `idno_check_digit`, `vat_not_in_force`,
    /// `required`, `bad_decimal`, ...
    pub code: &'static str,
    /// The payload field path (`customer.tax_id`, `items[2].quantity`).
    pub field: String,
    /// The cell it came from, when it came from one.
    #[serde(skip)]
    pub cell: Option<CellRef>,
    /// The row, when no single cell is to blame.
    #[serde(skip)]
    pub row: Option<RowRef>,
    /// What is wrong, in a sentence without a trailing period.
    pub message: String,
    pub found: Option<String>,
    pub expected: Option<String>,
}

impl Problem {
    pub fn error(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            code,
            field: field.into(),
            cell: None,
            row: None,
            message: bounded(message.into(), TEXT_CHARS),
            found: None,
            expected: None,
        }
    }

    pub fn warning(
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(code, field, message)
        }
    }

    pub fn at(mut self, cell: Option<&CellRef>) -> Self {
        if let Some(c) = cell {
            self.row = Some(c.row.clone());
            self.cell = Some(c.clone());
        }
        self
    }

    pub fn at_row(mut self, row: Option<&RowRef>) -> Self {
        if self.row.is_none() {
            self.row = row.cloned();
        }
        self
    }

    /// What was found: a value from the input, cut to its first
    /// characters when long ([`text::cut`]).
    pub fn found(mut self, found: impl Into<String>) -> Self {
        self.found = Some(bounded(found.into(), text::QUOTE_CHARS));
        self
    }

    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(bounded(expected.into(), TEXT_CHARS));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.cell, &self.row) {
            (Some(c), _) => write!(f, "{c}: ")?,
            (None, Some(r)) => write!(f, "{r}: ")?,
            (None, None) => {}
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(found) = &self.found {
            write!(f, " (found {found:?}")?;
            match &self.expected {
                Some(e) => write!(f, ", expected {e})")?,
                None => write!(f, ")")?,
            }
        } else if let Some(e) = &self.expected {
            write!(f, " (expected {e})")?;
        }
        Ok(())
    }
}
