//! The rules, each a function over one [`Draft`] that adds every problem it
//! finds (all of them, not the first). Each problem names its field, the
//! cell it came from (the draft's `origins`) or at least the row, what was
//! found, what was expected, and a stable code (see [`codes`]).

use super::currency;
use super::totals::{totals_with, DocTotals, LineTotals};
use super::Rules;
use crate::model::limits::{
    METADATA_KEY_MAX_BYTES, METADATA_MAX_KEYS, METADATA_VALUE_MAX_BYTES, NUMBER_MAX_CHARS,
};
use crate::model::{
    idno, AppliedRate, CellRef, DocKind, Draft, LineChecks, MatchOn, Metadata, Money, Problem,
    RowRef, IMPORT_KEY,
};
use rust_decimal::Decimal;

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
    units: u32,
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

    fn push(&mut self, p: Problem) {
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

/// Customer name or number, at least one line, a name or catalog item on
/// each line, a date.
pub(super) fn required(c: &mut Check) {
    let d = c.draft;
    let cust = &d.customer;
    if blank(&cust.name) && blank(&cust.number) {
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
    if d.invoice.items.is_empty() {
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
    if d.invoice.date.is_none() {
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

/// Whether the customer looks Moldovan: country `MD` or no country at all
/// (a legacy Moldovan register rarely states it). Only then is its tax id
/// checked as an IDNO.
pub fn looks_moldovan(country: Option<&str>) -> bool {
    country.is_none_or(|c| c.trim().is_empty() || c.trim().eq_ignore_ascii_case("MD"))
}

/// The IDNO check digit on a Moldovan customer's tax id.
pub(super) fn idno(c: &mut Check) {
    let cust = &c.draft.customer;
    let Some(tax_id) = cust.tax_id.as_deref().filter(|t| !t.trim().is_empty()) else {
        return;
    };
    if !looks_moldovan(cust.country.as_deref()) {
        return;
    }
    let value = tax_id.trim();
    match idno::validate(value) {
        Ok(()) => {}
        Err(idno::IdnoError::CheckDigit { found, expected }) => c.error_fe(
            IDNO_CHECK_DIGIT,
            "customer.tax_id",
            format!("the IDNO's check digit is {found}, its first 12 digits give {expected}"),
            tax_id,
            "a valid IDNO (13 digits, the last a check digit)",
        ),
        Err(e) => c.error_fe(
            IDNO_FORMAT,
            "customer.tax_id",
            format!("not an IDNO: {e}"),
            tax_id,
            "13 digits",
        ),
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

fn discounts(c: &mut Check, base: &str, rates: &[AppliedRate]) {
    for (j, r) in rates.iter().enumerate() {
        if let Some(a) = r.amount {
            let field = || format!("{base}discounts[{j}]");
            if a < Decimal::ZERO {
                c.error_fe(
                    NEGATIVE_AMOUNT,
                    field(),
                    "a discount is negative",
                    a.to_string(),
                    "0 or more",
                );
            }
            money_precision(c, field, a, "the discount");
        }
    }
}

/// Quantities positive (negative only in credit notes), at most 6 decimals;
/// prices and discounts non-negative with the currency's decimals.
pub(super) fn amounts(c: &mut Check) {
    let d = c.draft;
    for (i, line) in d.invoice.items.iter().enumerate() {
        if let Some(q) = line.quantity {
            let field = || format!("items[{i}].quantity");
            if q.is_zero() {
                c.error_fe(
                    BAD_QUANTITY,
                    field(),
                    "the quantity is zero",
                    q.to_string(),
                    "a non-zero quantity",
                );
            } else if q < Decimal::ZERO && d.kind == DocKind::Invoice {
                c.error_fe(
                    BAD_QUANTITY,
                    field(),
                    "a negative quantity on an invoice (only credit notes may have them)",
                    q.to_string(),
                    "a positive quantity",
                );
            }
            if too_many_decimals(q, QUANTITY_MAX_DECIMALS) {
                c.error_fe(
                    QUANTITY_PRECISION,
                    field(),
                    "the quantity has too many decimals",
                    q.to_string(),
                    format!("at most {QUANTITY_MAX_DECIMALS} decimals"),
                );
            }
        }
        if let Some(p) = line.unit_cost {
            let field = || format!("items[{i}].unit_cost");
            if p < Decimal::ZERO {
                c.error_fe(
                    NEGATIVE_AMOUNT,
                    field(),
                    "the unit price is negative",
                    p.to_string(),
                    "0 or more",
                );
            }
            money_precision(c, field, p, "the unit price");
        }
        if !line.discounts.is_empty() {
            discounts(c, &format!("items[{i}]."), &line.discounts);
        }
    }
    discounts(c, "", &d.invoice.discounts);
}

fn tax_rates(c: &mut Check, line: Option<usize>, rates: &[AppliedRate]) {
    let date = c.draft.invoice.date;
    for (j, r) in rates.iter().enumerate() {
        let Some(id) = &r.tax_rate else { continue };
        let id = id.0.as_str();
        let field = || match line {
            Some(i) => format!("items[{i}].taxes[{j}]"),
            None => format!("taxes[{j}]"),
        };
        let in_table = c.rules.vat.get(id).is_some();
        match &c.rules.known_tax_rates {
            Some(known) if !known.contains(id) => {
                let mut expected: Vec<&str> = known.iter().map(String::as_str).collect();
                expected.sort_unstable();
                c.error_fe(
                    MISSING_TAX_RATE,
                    field(),
                    format!(
                        "tax rate {id:?} does not exist on the target account \
                         (the API would silently drop it)"
                    ),
                    id,
                    format!("one of the account's rates: {}", expected.join(", ")),
                );
            }
            None if !in_table => {
                let ids: Vec<&str> = c.rules.vat.rates.iter().map(|r| r.id.as_str()).collect();
                c.error_fe(
                    UNKNOWN_TAX_RATE,
                    field(),
                    format!(
                        "tax rate {id:?} is not in the VAT table \
                         (add it with --vat-table, or check the account with --preflight)"
                    ),
                    id,
                    format!("one of {}", ids.join(", ")),
                );
            }
            _ => {}
        }
        if let (true, Some(date)) = (in_table, date) {
            if !c.rules.vat.in_force(id, date) {
                let note = c
                    .rules
                    .vat
                    .get(id)
                    .map(|r| r.note.clone())
                    .unwrap_or_default();
                let expected = c.rules.vat.ids_in_force(date).join(", ");
                c.error_fe(
                    VAT_NOT_IN_FORCE,
                    field(),
                    format!(
                        "VAT rate {id} ({note}) was not in force on {}",
                        date.format("%Y-%m-%d")
                    ),
                    id,
                    format!("a rate in force then: {expected}"),
                );
            }
        }
    }
}

/// Tax-rate ids known (VAT table, or the account under `--preflight`) and
/// in force on the document's date.
pub(super) fn taxes(c: &mut Check) {
    let d = c.draft;
    for (i, line) in d.invoice.items.iter().enumerate() {
        tax_rates(c, Some(i), &line.taxes);
    }
    tax_rates(c, None, &d.invoice.taxes);
}

/// Whether two values are the same number written the same way (digits
/// and scale), so that they differ by exactly zero.
fn same_form(a: Decimal, b: Decimal) -> bool {
    a.scale() == b.scale() && a.mantissa() == b.mantissa()
}

fn reconcile(
    c: &mut Check,
    field: impl FnOnce() -> String,
    what: &str,
    stated: Option<Money>,
    computed: Option<Money>,
    how: impl FnOnce() -> String,
) {
    let (Some(stated), Some(computed)) = (stated, computed) else {
        return;
    };
    if same_form(stated, computed) {
        // A source's totals usually match to the digit: no arithmetic.
        return;
    }
    if (stated - computed).abs() > Decimal::new(1, 2) {
        c.error_fe(
            TOTAL_MISMATCH,
            field(),
            format!("the source's {what} differs from what the API will compute by more than 0.01"),
            stated.to_string(),
            format!("{computed} ({})", how()),
        );
    }
}

/// One line's stated totals against the computed ones.
fn reconcile_line(c: &mut Check, i: usize, lc: &LineChecks, lt: &LineTotals) {
    let line = &c.draft.invoice.items[i];
    let q = line.quantity.unwrap_or(Decimal::ONE);
    let p = line.unit_cost.unwrap_or(Decimal::ZERO);
    let net_how = || {
        if line.discounts.is_empty() {
            format!("{q} × {p}, rounded")
        } else {
            format!("{q} × {p}, rounded, less discounts")
        }
    };
    reconcile(
        c,
        || format!("checks.lines[{i}].net"),
        "line net amount",
        lc.net,
        lt.net,
        net_how,
    );
    let vat_how = || {
        let rates: Vec<&str> = line
            .taxes
            .iter()
            .filter_map(|r| r.tax_rate.as_ref().map(|id| id.0.as_str()))
            .collect();
        if rates.is_empty() {
            "the line has no tax rate".to_string()
        } else {
            format!("{} of the net, rounded", rates.join(" + "))
        }
    };
    reconcile(
        c,
        || format!("checks.lines[{i}].vat"),
        "line VAT",
        lc.vat,
        lt.vat,
        vat_how,
    );
    reconcile(
        c,
        || format!("checks.lines[{i}].gross"),
        "line gross amount",
        lc.gross,
        lt.gross,
        || "net + VAT".into(),
    );
}

/// Totals the source states, reconciled within one ban with the totals the
/// API will compute, which it returns (each line's are computed, checked
/// and dropped in turn).
pub(super) fn reconciliation(c: &mut Check) -> DocTotals {
    let d = c.draft;
    let vat = &c.rules.vat;
    let checks = &d.checks;
    // A line whose cells would not map is already reported: its totals
    // (computed with defaults) would only repeat the problem.
    let unmapped: Vec<usize> = d
        .problems
        .iter()
        .filter(|p| p.is_error())
        .filter_map(|p| {
            let rest = p.field.strip_prefix("items[")?;
            rest[..rest.find(']')?].parse().ok()
        })
        .collect();
    let t = totals_with(
        &d.invoice,
        d.kind == DocKind::CreditNote,
        |id| vat.get(id).map(|r| r.value),
        |i, lt| {
            if let Some(lc) = checks.lines.get(i) {
                if !unmapped.contains(&i) {
                    reconcile_line(c, i, lc, lt);
                }
            }
        },
    );
    if !unmapped.is_empty() {
        return t;
    }
    reconcile(
        c,
        || "checks.subtotal".into(),
        "subtotal",
        checks.subtotal,
        Some(t.subtotal),
        || "Σ line amounts".into(),
    );
    reconcile(
        c,
        || "checks.tax".into(),
        "VAT total",
        checks.tax,
        t.tax,
        || "Σ line and document taxes".into(),
    );
    reconcile(
        c,
        || "checks.total".into(),
        "document total",
        checks.total,
        t.total,
        || "subtotal − discounts + taxes".into(),
    );
    t
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

/// A plain e-mail address: one `@`, a local part, a dotted domain, no spaces.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let ok_chars = |p: &str| {
        !p.is_empty()
            && !p
                .chars()
                .any(|ch| ch.is_whitespace() || ch.is_control() || "@,;<>()[]\\\"".contains(ch))
    };
    ok_chars(local)
        && ok_chars(domain)
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && domain.contains('.')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
        && domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.chars().count() >= 2)
}

/// The customer's e-mail address.
pub(super) fn email(c: &mut Check) {
    if let Some(e) = &c.draft.customer.email {
        let t = e.trim();
        if !t.is_empty() && !is_email(t) {
            c.error_fe(
                BAD_EMAIL,
                "customer.email",
                "not an e-mail address",
                e.clone(),
                "an address like name@example.md",
            );
        }
    }
}

/// Payments: a positive amount with the currency's decimals; their sum not
/// above the document total (a warning).
pub(super) fn payments(c: &mut Check, t: &DocTotals) {
    let d = c.draft;
    let mut sum = Decimal::ZERO;
    for (k, p) in d.payments.iter().enumerate() {
        let field = || format!("payments[{k}].amount");
        match p.amount {
            Some(a) if a > Decimal::ZERO => {
                sum += a;
                money_precision(c, field, a, "the payment");
            }
            Some(a) => c.error_fe(
                BAD_PAYMENT,
                field(),
                "a payment must be positive",
                a.to_string(),
                "an amount above 0",
            ),
            None => c.push(
                Problem::error(BAD_PAYMENT, field(), "a payment has no amount")
                    .expected("an amount above 0"),
            ),
        }
    }
    if let Some(total) = t.total {
        if !d.payments.is_empty() && sum > total {
            c.push(
                Problem::warning(
                    OVERPAID,
                    "payments",
                    "the payments exceed the document total (the rest stays as credit)",
                )
                .found(sum.to_string())
                .expected(format!("at most {total}")),
            );
        }
    }
}

/// Run every rule on a draft.
pub(super) fn run(c: &mut Check) {
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
