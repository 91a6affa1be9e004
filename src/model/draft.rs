//! What the mapping makes of source rows, before validation: a [`Draft`]
//! document with the address of every cell each field came from, so that a
//! problem found later can point at the cell to fix.

use super::{CreditNote, Customer, Invoice, Money, Payment, Problem};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Where a source row is: file, sheet (spreadsheets), and the row number a
/// person sees (1-based: the spreadsheet row, or the CSV line for simple
/// files; for JSON the record's 1-based index).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowRef {
    pub file: Arc<str>,
    pub sheet: Option<Arc<str>>,
    pub row: u64,
}

impl fmt::Display for RowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sheet {
            Some(sheet) => write!(f, "{} [{}] row {}", self.file, sheet, self.row),
            None => write!(f, "{} row {}", self.file, self.row),
        }
    }
}

/// One cell: a row and the column (by header name, and 0-based index when
/// the source has columns).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellRef {
    pub row: RowRef,
    pub column: Arc<str>,
    pub col_idx: Option<usize>,
}

impl fmt::Display for CellRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, column {:?}", self.row, &*self.column)
    }
}

/// Whether a document is an invoice or a credit note.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DocKind {
    #[default]
    Invoice,
    CreditNote,
}

/// How the customer of a draft is found on the account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum MatchOn {
    #[default]
    Number,
    TaxId,
}

/// Totals the source carries, reconciled by validation, never sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checks {
    /// One entry per line item, in the same order as `invoice.items`.
    pub lines: Vec<LineChecks>,
    /// Document totals as the source states them.
    pub subtotal: Option<Money>,
    pub tax: Option<Money>,
    pub total: Option<Money>,
}

/// A line's totals as the source states them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineChecks {
    /// Net amount (quantity × unit cost, after line discounts).
    pub net: Option<Money>,
    /// VAT amount of the line.
    pub vat: Option<Money>,
    /// Gross amount (net + VAT).
    pub gross: Option<Money>,
}

/// A document as mapped from its source rows, not yet validated.
///
/// The payload fields hold what will be sent: `invoice` never has a customer
/// id (the uploader resolves `customer` first). For a credit note the
/// document is still held in `invoice` and converted with
/// [`Draft::credit_note`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Draft {
    /// The unit's source key: the group key, or the row when not grouped.
    /// Stable across runs of the same file; part of the import key.
    pub source_key: String,
    /// The rows it came from, in source order.
    pub rows: Vec<RowRef>,
    pub kind: DocKind,
    pub invoice: Invoice,
    pub customer: Customer,
    pub match_on: MatchOn,
    /// Payments already made on a legacy invoice, applied to it on upload.
    pub payments: Vec<Payment>,
    pub checks: Checks,
    /// Field path → the cell it came from. Paths: `number`, `date`,
    /// `customer.tax_id`, `items[2].quantity`, `payments[0].amount`,
    /// `checks.total`, `checks.lines[1].vat`, `metadata.source`.
    pub origins: BTreeMap<String, CellRef>,
    /// Problems found while mapping (a cell that would not parse, rows of one
    /// group that disagree). Validation adds its own and rejects the draft
    /// when any is an error.
    pub problems: Vec<Problem>,
}

impl Draft {
    /// The cell a field came from, if it came from one.
    pub fn origin(&self, field: &str) -> Option<&CellRef> {
        self.origins.get(field)
    }

    /// The first row of the document, for problems with no better place.
    pub fn first_row(&self) -> Option<&RowRef> {
        self.rows.first()
    }

    /// The document as a credit note payload.
    pub fn credit_note(&self) -> CreditNote {
        let i = &self.invoice;
        CreditNote {
            customer: i.customer.clone(),
            number: i.number.clone(),
            name: i.name.clone(),
            currency: i.currency.clone(),
            date: i.date,
            draft: i.draft,
            items: i.items.clone(),
            discounts: i.discounts.clone(),
            taxes: i.taxes.clone(),
            notes: i.notes.clone(),
            metadata: i.metadata.clone(),
            ..Default::default()
        }
    }
}
