//! Reconciliation: the totals the source states (per line and for the
//! document) against the totals the API will compute, within one ban.
//!
//! A wider difference is an error, named after what explains it: a
//! source that rounds halves to even, or truncates, lands 0.01 to 0.02 away
//! (`total_rounding`; the summary then points at `[checks] tolerance`), any
//! other difference is a `total_mismatch`. Within the mapping's
//! `[checks] tolerance`, either is a warning (`total_within_tolerance`).

use super::codes::*;
use super::Check;
use crate::model::money::{in_range, AMOUNT_LIMIT_TEXT};
use crate::model::{round_money, DocKind, LineChecks, LineItem, Money, Problem};
use crate::validate::totals::{totals_with, DocTotals, LineTotals};
use rust_decimal::{Decimal, RoundingStrategy};

/// A value as a source that rounds otherwise would state it: halves to
/// even, and truncated.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Alt {
    even: Money,
    truncated: Money,
}

impl Alt {
    fn of(exact: Decimal, dp: u32) -> Alt {
        Alt {
            even: exact.round_dp_with_strategy(dp, RoundingStrategy::MidpointNearestEven),
            truncated: exact.round_dp_with_strategy(dp, RoundingStrategy::ToZero),
        }
    }

    fn add(self, o: Alt) -> Option<Alt> {
        Some(Alt {
            even: self.even.checked_add(o.even)?,
            truncated: self.truncated.checked_add(o.truncated)?,
        })
    }

    /// How `stated` is explained, if it is.
    fn explains(self, stated: Money) -> Option<&'static str> {
        if stated == self.even {
            Some("rounding halves to even")
        } else if stated == self.truncated {
            Some("truncating")
        } else {
            None
        }
    }
}

/// A line's net, VAT and gross as another rounding would give them: only
/// for a line without discounts and with plain percent taxes.
fn line_alts(
    line: &LineItem,
    rate_value: impl Fn(&str) -> Option<Decimal>,
    dp: u32,
) -> Option<[Alt; 3]> {
    if !line.discounts.is_empty() {
        return None;
    }
    let q = line.quantity.unwrap_or(Decimal::ONE);
    let p = line.unit_cost.unwrap_or(Decimal::ZERO);
    let net = Alt::of(q.checked_mul(p)?, dp);
    let mut rate = Decimal::ZERO;
    for t in &line.taxes {
        if t.amount.is_some() {
            return None;
        }
        rate = rate.checked_add(rate_value(&t.tax_rate.as_ref()?.0)?)?;
    }
    let hundred = Decimal::ONE_HUNDRED;
    let vat = Alt {
        even: Alt::of(net.even.checked_mul(rate)?.checked_div(hundred)?, dp).even,
        truncated: Alt::of(net.truncated.checked_mul(rate)?.checked_div(hundred)?, dp).truncated,
    };
    Some([net, vat, net.add(vat)?])
}

/// The document's totals as another rounding would give them: the sums of
/// the lines' (only with no document-level discounts or taxes).
fn doc_alts(
    invoice: &crate::model::Invoice,
    rate_value: impl Fn(&str) -> Option<Decimal>,
    dp: u32,
) -> Option<[Alt; 3]> {
    if !(invoice.discounts.is_empty() && invoice.taxes.is_empty()) {
        return None;
    }
    invoice
        .items
        .iter()
        .try_fold([Alt::of(Decimal::ZERO, dp); 3], |acc, line| {
            let a = line_alts(line, &rate_value, dp)?;
            Some([acc[0].add(a[0])?, acc[1].add(a[1])?, acc[2].add(a[2])?])
        })
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
    (stated, computed): (Option<Money>, Option<Money>),
    alt: impl FnOnce() -> Option<Alt>,
    how: impl FnOnce() -> String,
) {
    let (Some(stated), Some(computed)) = (stated, computed) else {
        return;
    };
    if same_form(stated, computed) {
        // A source's totals usually match to the digit: no arithmetic.
        return;
    }
    let Some(diff) = stated.checked_sub(computed).map(|d| d.abs()) else {
        // Too far apart to subtract: a mismatch by any measure.
        c.error_fe(
            TOTAL_MISMATCH,
            field(),
            format!("the source's {what} differs from what the API will compute by more than 0.01"),
            stated.to_string(),
            format!("{computed} ({})", how()),
        );
        return;
    };
    if diff <= Decimal::new(1, 2) {
        return;
    }
    let expected = format!("{computed} ({})", how());
    // Other roundings are worked out only for a difference they may explain.
    let explained = (diff <= Decimal::new(2, 2))
        .then(alt)
        .flatten()
        .and_then(|a| a.explains(stated));
    let p = match (c.draft.checks.tolerance, explained) {
        (Some(t), _) if diff <= t => Problem::warning(
            TOTAL_WITHIN_TOLERANCE,
            field(),
            format!(
                "the source's {what} differs from what the API will compute by {diff}, within the mapping's tolerance ({t}); the API's value will be sent"
            ),
        ),
        (_, Some(why)) => Problem::error(
            TOTAL_ROUNDING,
            field(),
            format!(
                "the source's {what} differs from what the API will compute by {diff}, as {why} would give (the API rounds halves away from zero)"
            ),
        ),
        _ => Problem::error(
            TOTAL_MISMATCH,
            field(),
            format!("the source's {what} differs from what the API will compute by more than 0.01"),
        ),
    };
    c.push(p.found(stated.to_string()).expected(expected));
}

/// One line's stated totals against the computed ones.
fn reconcile_line(
    c: &mut Check,
    i: usize,
    lc: &LineChecks,
    lt: &LineTotals,
    alts: impl Fn() -> Option<[Alt; 3]>,
) {
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
        (lc.net, lt.net),
        || alts().map(|a| a[0]),
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
        (lc.vat, lt.vat),
        || alts().map(|a| a[1]),
        vat_how,
    );
    reconcile(
        c,
        || format!("checks.lines[{i}].gross"),
        "line gross amount",
        (lc.gross, lt.gross),
        || alts().map(|a| a[2]),
        || "net + VAT".into(),
    );
}

/// A line amount the API cannot hold: `quantity × unit price` at or beyond
/// [`AMOUNT_LIMIT`](crate::model::money::AMOUNT_LIMIT) (or beyond what a decimal holds), at the unit price.
fn line_range(c: &mut Check, i: usize, lt: &LineTotals) {
    if lt.amount.is_some_and(in_range) {
        return;
    }
    let line = &c.draft.invoice.items[i];
    let q = line.quantity.unwrap_or(Decimal::ONE);
    let p = line.unit_cost.unwrap_or(Decimal::ZERO);
    let found = match lt.amount {
        Some(a) => format!("{q} × {p} = {a}"),
        None => format!("{q} × {p}"),
    };
    c.error_fe(
        AMOUNT_OUT_OF_RANGE,
        format!("items[{i}].unit_cost"),
        "the line amount (quantity × unit price) is beyond what the API can hold",
        found,
        format!("a line amount below {AMOUNT_LIMIT_TEXT}"),
    );
}

/// Document totals the API cannot hold: the lines' sum or the total at or
/// beyond [`AMOUNT_LIMIT`](crate::model::money::AMOUNT_LIMIT) (or beyond what a decimal holds). Not repeated
/// when a line amount is already out of range.
fn doc_range(c: &mut Check, t: &DocTotals) {
    let (field, what, value) = match (t.subtotal, t.total) {
        (None, _) => ("subtotal", "the lines' amounts add up", None),
        (Some(s), _) if !in_range(s) => ("subtotal", "the lines' amounts add up", Some(s)),
        (_, Some(total)) if !in_range(total) => ("total", "the document total is", Some(total)),
        _ => return,
    };
    // The rare case only: is a line to blame (and reported)?
    let line_out = c.draft.invoice.items.iter().any(|l| {
        l.quantity
            .unwrap_or(Decimal::ONE)
            .checked_mul(l.unit_cost.unwrap_or_default())
            .is_none_or(|a| !in_range(round_money(a)))
    });
    if line_out {
        return;
    }
    let mut p = Problem::error(
        AMOUNT_OUT_OF_RANGE,
        field,
        format!("{what} beyond what the API can hold"),
    )
    .expected(format!("below {AMOUNT_LIMIT_TEXT}"));
    if let Some(v) = value {
        p = p.found(v.to_string());
    }
    c.push(p);
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
    let units = c.units;
    let rate_value = |id: &str| vat.get(id).map(|r| r.value);
    let t = totals_with(
        &d.invoice,
        d.kind == DocKind::CreditNote,
        rate_value,
        |i, lt| {
            if unmapped.contains(&i) {
                return;
            }
            line_range(c, i, lt);
            if let Some(lc) = checks.lines.get(i) {
                let alts = || line_alts(&d.invoice.items[i], rate_value, units);
                reconcile_line(c, i, lc, lt, alts);
            }
        },
    );
    if !unmapped.is_empty() {
        return t;
    }
    doc_range(c, &t);
    reconcile(
        c,
        || "checks.subtotal".into(),
        "subtotal",
        (checks.subtotal, t.subtotal),
        || doc_alts(&d.invoice, rate_value, units).map(|a| a[0]),
        || "Σ line amounts".into(),
    );
    reconcile(
        c,
        || "checks.tax".into(),
        "VAT total",
        (checks.tax, t.tax),
        || doc_alts(&d.invoice, rate_value, units).map(|a| a[1]),
        || "Σ line and document taxes".into(),
    );
    reconcile(
        c,
        || "checks.total".into(),
        "document total",
        (checks.total, t.total),
        || doc_alts(&d.invoice, rate_value, units).map(|a| a[2]),
        || "subtotal − discounts + taxes".into(),
    );
    t
}
