//! Reconciliation: the totals the source states (per line and for the
//! document) against the totals the API will compute, within one ban.

use super::codes::*;
use super::Check;
use crate::model::{DocKind, LineChecks, Money};
use crate::validate::totals::{totals_with, DocTotals, LineTotals};
use rust_decimal::Decimal;

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
