//! The rules, each a function over one [`Draft`] that adds every problem it
//! finds (all of them, not the first). Each problem names its field, the
//! cell it came from (the draft's `origins`) or at least the row, what was
//! found, what was expected, and a stable code (see [`codes`]).
//!
//! The rules by area: `text` (no control, bidi or invisible characters),
//! `document` (required fields, numbers, currency and
//! country codes, dates, metadata limits), `customer` (IDNO, e-mail),
//! `lines` (quantities, prices, discounts, tax rates), `reconcile` (the
//! source's totals against the API's) and `payments`. Here: the problem
//! codes, the `Check` that collects one draft's problems, the helpers the
//! areas share, and `run`, which runs every rule in order.

mod customer;
mod document;
mod lines;
mod payments;
mod reconcile;
mod text;

pub use customer::{is_email, looks_moldovan};

use super::currency;
use super::Rules;
use crate::model::{CellRef, DocKind, Draft, Money, Problem, RowRef};
use customer::{email, idno};
use document::{codes_, dates, metadata_limits, numbers, required, totals_row};
use lines::{amounts, taxes};
use payments::payments;
use reconcile::reconciliation;
use rust_decimal::Decimal;
use text::characters;

/// The stable problem codes validation emits (mapping adds its own).
pub mod codes {
    /// A required field is missing or blank.
    pub const REQUIRED: &str = "required";
    /// A number (invoice or customer) longer than 32 characters.
    pub const NUMBER_TOO_LONG: &str = "number_too_long";
    /// The same document number twice in the input (case-insensitive).
    pub const DUPLICATE_NUMBER: &str = "duplicate_number";
    /// An IDNO that is not 13 digits.
    pub const IDNO_FORMAT: &str = "idno_format";
    /// An IDNO whose check digit is wrong.
    pub const IDNO_CHECK_DIGIT: &str = "idno_check_digit";
    /// Not an ISO 4217 currency.
    pub const UNKNOWN_CURRENCY: &str = "unknown_currency";
    /// Not an ISO 3166-1 alpha-2 country code.
    pub const BAD_COUNTRY: &str = "bad_country";
    /// Due date before the invoice date.
    pub const DUE_BEFORE_DATE: &str = "due_before_date";
    /// Invoice date after today (warning: often day and month swapped).
    pub const DATE_IN_FUTURE: &str = "date_in_future";
    /// Quantity zero, or negative outside a credit note.
    pub const BAD_QUANTITY: &str = "bad_quantity";
    /// Quantity with more than 6 decimals.
    pub const QUANTITY_PRECISION: &str = "quantity_precision";
    /// A negative price or discount.
    pub const NEGATIVE_AMOUNT: &str = "negative_amount";
    /// Money with more decimals than the currency has (2 for MDL).
    pub const MONEY_PRECISION: &str = "money_precision";
    /// A tax-rate id that is neither in the VAT table nor on the account.
    pub const UNKNOWN_TAX_RATE: &str = "unknown_tax_rate";
    /// A tax-rate id missing on the target account (`--preflight`).
    pub const MISSING_TAX_RATE: &str = "missing_tax_rate";
    /// A VAT rate not in force on the invoice date.
    pub const VAT_NOT_IN_FORCE: &str = "vat_not_in_force";
    /// A total in the source that the API would compute differently.
    pub const TOTAL_MISMATCH: &str = "total_mismatch";
    /// More than 10 metadata keys (9 on invoices: the import key takes one).
    pub const METADATA_TOO_MANY_KEYS: &str = "metadata_too_many_keys";
    /// A metadata key over 40 bytes.
    pub const METADATA_KEY_TOO_LONG: &str = "metadata_key_too_long";
    /// A metadata value over 255 bytes.
    pub const METADATA_VALUE_TOO_LONG: &str = "metadata_value_too_long";
    /// Not an e-mail address.
    pub const BAD_EMAIL: &str = "bad_email";
    /// A payment without a positive amount.
    pub const BAD_PAYMENT: &str = "bad_payment";
    /// Payments above the document total (warning).
    pub const OVERPAID: &str = "overpaid";
    /// A stated total 0.01–0.02 away, as rounding halves to even or
    /// truncating would give (the API rounds halves away from zero).
    pub const TOTAL_ROUNDING: &str = "total_rounding";
    /// A stated total within the mapping's `[checks] tolerance` (warning).
    pub const TOTAL_WITHIN_TOLERANCE: &str = "total_within_tolerance";
    /// A totals row (`Итого`, `Total`, or only amounts) that formed a
    /// document of its own: the mapping should skip it.
    pub const TOTALS_ROW: &str = "totals_row";
    /// A blank quantity or unit cost (warning: the API takes 1 and 0).
    pub const EMPTY_AMOUNT: &str = "empty_amount";
    /// Two documents give one customer two values of a field: an error for
    /// the identity field (the tax id when matching by number, the number
    /// when matching by tax id), a warning for the others.
    pub const CUSTOMER_DISAGREES: &str = "customer_disagrees";
    /// A blank customer field, taken from another document of the customer.
    pub const CUSTOMER_FILLED: &str = "customer_filled";
    /// A customer with no name in any of its documents (the API needs one).
    pub const CUSTOMER_INCOMPLETE: &str = "customer_incomplete";
    /// A customer with neither a number nor a tax id to be found by.
    pub const CUSTOMER_UNMATCHED: &str = "customer_unmatched";
    /// A customer number another customer of the batch took first.
    pub const CUSTOMER_NUMBER_TAKEN: &str = "customer_number_taken";
    /// An amount (from a cell, or a line amount or total made of them) at
    /// or beyond what the API holds: 10¹² (the mapping reports a cell's).
    pub const AMOUNT_OUT_OF_RANGE: &str = "amount_out_of_range";
    /// A control, bidi or invisible character in a number, code or name.
    pub const BAD_CHARACTERS: &str = "bad_characters";
}

use codes::*;

/// Decimals allowed in a quantity.
pub const QUANTITY_MAX_DECIMALS: u32 = 6;

/// Collects problems for one draft, addressing each at its cell or row.
pub(super) struct Check<'a> {
    pub draft: &'a Draft,
    pub rules: &'a Rules,
    pub problems: Vec<Problem>,
    /// The document's currency minor units: MDL's 2 when unset or unknown.
    pub(super) units: u32,
}

impl<'a> Check<'a> {
    pub fn new(draft: &'a Draft, rules: &'a Rules) -> Self {
        let units = draft
            .invoice
            .currency
            .as_deref()
            .and_then(currency::minor_units)
            .unwrap_or(2);
        Check {
            draft,
            rules,
            problems: Vec::new(),
            units,
        }
    }

    /// The cell a field came from: the exact path, else its nearest parent
    /// (`items[0].taxes[1]` → `items[0].taxes`).
    fn cell(&self, field: &str) -> Option<CellRef> {
        let mut path = field;
        loop {
            if let Some(c) = self.draft.origins.get(path) {
                return Some(c);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }

    /// The row of a field when no cell is known: any cell under the path
    /// (`items[2]` → the row of `items[2].name`), else the document's first row.
    fn row(&self, field: &str) -> Option<RowRef> {
        self.draft
            .origins
            .row_under(field)
            .or_else(|| self.draft.first_row().cloned())
    }

    pub(super) fn push(&mut self, p: Problem) {
        // A field the mapping could not fill is reported once, by the mapping
        // (`bad_date`), not again by a rule (`required`).
        let mapped_badly = |m: &Problem| m.is_error() && m.field == p.field;
        if p.is_error() && self.draft.problems.iter().any(mapped_badly) {
            return;
        }
        let cell = self.cell(&p.field);
        let row = self.row(&p.field);
        self.problems.push(p.at(cell.as_ref()).at_row(row.as_ref()));
    }

    /// [`Check::push`], even over the mapping's error on the same field.
    pub(super) fn push_anyway(&mut self, p: Problem) {
        let cell = self.cell(&p.field);
        let row = self.row(&p.field);
        self.problems.push(p.at(cell.as_ref()).at_row(row.as_ref()));
    }

    fn error_fe(
        &mut self,
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
        found: impl Into<String>,
        expected: impl Into<String>,
    ) {
        self.push(
            Problem::error(code, field, message)
                .found(found)
                .expected(expected),
        );
    }

    fn doc(&self) -> &'static str {
        if self.draft.record == crate::model::Record::Customer {
            return "customer";
        }
        match self.draft.kind {
            DocKind::Invoice => "invoice",
            DocKind::CreditNote => "credit note",
        }
    }
}

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// Decimals a value really carries (`1.50` has 1).
fn decimals(d: Decimal) -> u32 {
    d.normalize().scale()
}

/// Whether a value really carries more than `max` decimals. Its scale is an
/// upper bound of its decimals, so only a scale above `max` needs the
/// (slower) normalization.
fn too_many_decimals(d: Decimal, max: u32) -> bool {
    d.scale() > max && decimals(d) > max
}

fn money_precision(c: &mut Check, field: impl FnOnce() -> String, value: Money, what: &str) {
    let units = c.units;
    if too_many_decimals(value, units) {
        let cur = c.draft.invoice.currency.as_deref().unwrap_or("MDL");
        c.error_fe(
            MONEY_PRECISION,
            field(),
            format!(
                "{what} has more decimals than {} allows",
                cur.to_uppercase()
            ),
            value.to_string(),
            format!("at most {units} decimals"),
        );
    }
}

/// An amount the API cannot hold (the mapping reports a cell's own; this
/// catches drafts made otherwise).
fn amount_range(c: &mut Check, field: impl FnOnce() -> String, value: Money) {
    if !crate::model::money::in_range(value) {
        c.error_fe(
            AMOUNT_OUT_OF_RANGE,
            field(),
            "the amount is beyond what the API can hold",
            value.to_string(),
            format!("an amount below {}", crate::model::money::AMOUNT_LIMIT_TEXT),
        );
    }
}

/// Run every rule on a draft (a customer record: the customer's rules); a
/// totals row that formed a document of its own is said to be one, and
/// checked no further.
pub(super) fn run(c: &mut Check) {
    characters(c);
    if c.draft.record == crate::model::Record::Customer {
        required(c);
        numbers(c);
        idno(c);
        codes_(c);
        metadata_limits(c);
        email(c);
        return;
    }
    if totals_row(c) {
        return;
    }
    required(c);
    numbers(c);
    idno(c);
    codes_(c);
    dates(c);
    amounts(c);
    taxes(c);
    let t = reconciliation(c);
    metadata_limits(c);
    email(c);
    payments(c, &t);
}
