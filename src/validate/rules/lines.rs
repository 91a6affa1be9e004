//! Line rules: quantities (non-zero, negative only in credit notes, at most
//! 6 decimals), prices and discounts (non-negative, the currency's
//! decimals), and tax-rate ids (known, and in force on the document's date).

use super::codes::*;
use super::{amount_range, money_precision, too_many_decimals, Check, QUANTITY_MAX_DECIMALS};
use crate::model::{AppliedRate, DocKind, Problem};
use rust_decimal::Decimal;

fn discounts(c: &mut Check, base: &str, rates: &[AppliedRate]) {
    for (j, r) in rates.iter().enumerate() {
        if let Some(a) = r.amount {
            let field = || format!("{base}discounts[{j}]");
            amount_range(c, field, a);
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
        for (empty, field, takes) in [
            (line.quantity.is_none(), "quantity", "1"),
            (line.unit_cost.is_none(), "unit_cost", "0"),
        ] {
            if empty {
                let path = format!("items[{i}].{field}");
                // Only a blank cell (not a cell that did not parse): the
                // mapping notes a blank mapped cell's place.
                let mapped_badly = d.problems.iter().any(|p| p.field == path);
                if !mapped_badly && d.origins.get(&path).is_some() {
                    c.push(
                        Problem::warning(
                            EMPTY_AMOUNT,
                            path,
                            format!("empty: the API takes {takes}"),
                        )
                        .found("")
                        .expected(format!(
                            "a {} (or leave it: {takes})",
                            field.replace('_', " ")
                        )),
                    );
                }
            }
        }
        if let Some(q) = line.quantity {
            let field = || format!("items[{i}].quantity");
            amount_range(c, field, q);
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
            amount_range(c, field, p);
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
