//! Document-level rules: required fields (customer, lines, date), number
//! lengths, currency and country codes, dates (due date order, the future),
//! and metadata limits on the document, its lines, customer and payments.

use super::codes::*;
use super::{blank, Check};
use crate::model::limits::{
    METADATA_KEY_MAX_BYTES, METADATA_MAX_KEYS, METADATA_VALUE_MAX_BYTES, NUMBER_MAX_CHARS,
};
use crate::model::{MatchOn, Metadata, Problem, Record, IMPORT_KEY};
use crate::validate::currency;

/// Words that open a totals row, in the registers' languages.
const TOTALS_WORDS: &[&str] = &[
    "итого",
    "итог",
    "всего",
    "total",
    "totals",
    "totaluri",
    "total general",
    "subtotal",
];

/// Whether a row's text opens with a totals word (`Итого:`, `TOTAL`).
pub fn is_totals_label(s: &str) -> bool {
    let t = s.trim().to_lowercase();
    TOTALS_WORDS.iter().any(|w| {
        t.strip_prefix(w)
            .is_some_and(|rest| rest.chars().next().is_none_or(|ch| !ch.is_alphanumeric()))
    })
}

/// A document of one row that is a totals row: its number opens with a
/// totals word, or it has no number, no date and no customer, only
/// amounts. An error naming the `skip_rows_matching` line to add.
pub(super) fn totals_row(c: &mut Check) -> bool {
    let d = c.draft;
    if d.rows.len() != 1 {
        return false;
    }
    let number = d.invoice.number.as_deref().unwrap_or("");
    let labelled = is_totals_label(number);
    let cust = &d.customer;
    let amounts_only = blank(&d.invoice.number)
        && d.invoice.date.is_none()
        && blank(&cust.name)
        && blank(&cust.number)
        && blank(&cust.tax_id)
        && (d.invoice.items.iter().any(|l| l.unit_cost.is_some())
            || d.checks
                .lines
                .iter()
                .any(|l| l.net.is_some() || l.gross.is_some())
            || d.checks.total.is_some());
    if !labelled && !amounts_only {
        return false;
    }
    let column = d.origins.get("number").map(|cell| cell.column.to_string());
    // A label to match, or (a row of amounts only) a blank number.
    // The words `is_totals_label` knows, in any case, as whole words.
    let (regex, fallback) = if labelled {
        (
            format!("(?i)^\\\\s*({})\\\\b", TOTALS_WORDS.join("|")),
            "COLUMN WITH THE LABEL",
        )
    } else {
        ("^\\\\s*$".to_string(), "COLUMN OF THE NUMBER")
    };
    let suggestion = format!(
        "skip_rows_matching = {{ column = {:?}, regex = \"{regex}\" }}",
        column.as_deref().unwrap_or(fallback)
    );
    let why = if labelled {
        format!("its number {number:?} is a totals label")
    } else {
        "it has no number, no date and no customer, only amounts".to_string()
    };
    // Said even where the mapping found the row's number missing
    // (`missing_group_key`): this is why.
    c.push_anyway(
        Problem::error(
            TOTALS_ROW,
            "number",
            format!("this row looks like a totals row ({why}) and formed a document of its own; skip such rows in the mapping's [source]: {suggestion}"),
        )
        .found(number.to_string())
        .expected("a document row (or the row skipped)"),
    );
    true
}

/// Customer name or number, at least one line, a name or catalog item on
/// each line, a date. A round trip's document with an id is changed, not
/// created: its customer stays (none need be named) and it keeps its lines
/// when the file has none. A customer record needs its name or number only.
pub(super) fn required(c: &mut Check) {
    let d = c.draft;
    let cust = &d.customer;
    let changed_only = d.invoice.id.is_some();
    let customer_named = cust.id.is_some() || changed_only;
    if blank(&cust.name) && blank(&cust.number) && !customer_named {
        c.push(
            Problem::error(
                REQUIRED,
                "customer.name",
                "the customer has neither a name nor a number",
            )
            .expected("a customer name or number"),
        );
    }
    if d.match_on == MatchOn::TaxId && blank(&cust.tax_id) {
        c.push(
            Problem::error(
                REQUIRED,
                "customer.tax_id",
                "the customer is matched on its tax id, but it has none",
            )
            .expected("a tax id (IDNO)"),
        );
    }
    if d.record == Record::Customer {
        return;
    }
    if d.invoice.items.is_empty() && !changed_only {
        let doc = c.doc();
        c.push(
            Problem::error(REQUIRED, "items", format!("the {doc} has no line items"))
                .expected("at least one line"),
        );
    }
    for (i, line) in d.invoice.items.iter().enumerate() {
        if blank(&line.name) && blank(&line.catalog_item) {
            c.push(
                Problem::error(
                    REQUIRED,
                    format!("items[{i}].name"),
                    "the line has neither a name nor a catalog item",
                )
                .expected("a line name or catalog item id"),
            );
        }
    }
    if d.invoice.date.is_none() && !changed_only {
        let doc = c.doc();
        c.push(
            Problem::error(REQUIRED, "date", format!("the {doc} has no date")).expected("a date"),
        );
    }
}

/// Document and customer numbers at most 32 characters.
pub(super) fn numbers(c: &mut Check) {
    let d = c.draft;
    for (field, value) in [
        ("number", &d.invoice.number),
        ("customer.number", &d.customer.number),
    ] {
        if let Some(v) = value {
            let n = v.chars().count();
            if n > NUMBER_MAX_CHARS {
                c.error_fe(
                    NUMBER_TOO_LONG,
                    field,
                    format!("the number is {n} characters long"),
                    v.clone(),
                    format!("at most {NUMBER_MAX_CHARS} characters"),
                );
            }
        }
    }
}

fn currency_code(c: &mut Check, field: impl FnOnce() -> String, value: &Option<String>) {
    if let Some(v) = value {
        if !currency::is_known(v.trim()) {
            c.error_fe(
                UNKNOWN_CURRENCY,
                field(),
                "not an ISO 4217 currency code",
                v.clone(),
                "a currency code such as MDL, EUR, USD",
            );
        }
    }
}

/// ISO 4217 currencies, ISO 3166 alpha-2 countries (shape only).
pub(super) fn codes_(c: &mut Check) {
    let d = c.draft;
    currency_code(c, || "currency".into(), &d.invoice.currency);
    currency_code(c, || "customer.currency".into(), &d.customer.currency);
    for (k, p) in d.payments.iter().enumerate() {
        currency_code(c, || format!("payments[{k}].currency"), &p.currency);
    }
    if let Some(country) = &d.customer.country {
        let t = country.trim();
        if t.len() != 2 || !t.chars().all(|ch| ch.is_ascii_alphabetic()) {
            c.error_fe(
                BAD_COUNTRY,
                "customer.country",
                "not an ISO 3166-1 alpha-2 country code",
                country.clone(),
                "two letters such as MD, RO, UA",
            );
        }
    }
}

/// Due date not before the date; a date in the future is a warning.
pub(super) fn dates(c: &mut Check) {
    let inv = &c.draft.invoice;
    if let (Some(date), Some(due)) = (inv.date, inv.due_date) {
        if due < date {
            c.error_fe(
                DUE_BEFORE_DATE,
                "due_date",
                "the due date is before the date",
                due.format("%Y-%m-%d").to_string(),
                format!("{} or later", date.format("%Y-%m-%d")),
            );
        }
    }
    if let Some(date) = inv.date {
        if date > c.rules.today {
            let doc = c.doc();
            c.push(
                Problem::warning(
                    DATE_IN_FUTURE,
                    "date",
                    format!("the {doc} is dated in the future (day and month swapped?)"),
                )
                .found(date.format("%Y-%m-%d").to_string())
                .expected(format!("{} or earlier", c.rules.today.format("%Y-%m-%d"))),
            );
        }
    }
}

fn metadata(c: &mut Check, base: &str, md: &Metadata, reserved: usize) {
    let max = METADATA_MAX_KEYS - reserved;
    if md.len() > max {
        let why = if reserved > 0 {
            " (the import key takes one of the API's 10)"
        } else {
            ""
        };
        c.error_fe(
            METADATA_TOO_MANY_KEYS,
            base.trim_end_matches('.').to_string(),
            format!("too many metadata keys{why}"),
            md.len().to_string(),
            format!("at most {max} keys"),
        );
    }
    for (k, v) in md {
        let field = || format!("{base}{k}");
        if k.len() > METADATA_KEY_MAX_BYTES {
            c.error_fe(
                METADATA_KEY_TOO_LONG,
                field(),
                format!("the metadata key is {} bytes long", k.len()),
                k.clone(),
                format!("at most {METADATA_KEY_MAX_BYTES} bytes (UTF-8: diacritics and Cyrillic count double)"),
            );
        }
        if v.len() > METADATA_VALUE_MAX_BYTES {
            let shown: String = v.chars().take(40).collect();
            c.error_fe(
                METADATA_VALUE_TOO_LONG,
                field(),
                format!("the metadata value is {} bytes long", v.len()),
                format!("{shown}…"),
                format!("at most {METADATA_VALUE_MAX_BYTES} bytes (UTF-8: diacritics and Cyrillic count double)"),
            );
        }
    }
}

/// Metadata limits in bytes, on the document, its lines, its customer and
/// its payments. An invoice keeps one key free for the import key.
pub(super) fn metadata_limits(c: &mut Check) {
    let d = c.draft;
    let reserved = usize::from(!d.invoice.metadata.contains_key(IMPORT_KEY));
    metadata(c, "metadata.", &d.invoice.metadata, reserved);
    for (i, line) in d.invoice.items.iter().enumerate() {
        if !line.metadata.is_empty() {
            metadata(c, &format!("items[{i}].metadata."), &line.metadata, 0);
        }
    }
    metadata(c, "customer.metadata.", &d.customer.metadata, 0);
    for (k, p) in d.payments.iter().enumerate() {
        if !p.metadata.is_empty() {
            metadata(c, &format!("payments[{k}].metadata."), &p.metadata, 0);
        }
    }
}
