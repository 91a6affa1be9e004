//! Totals computed the API's way (API.md, "Money, dates, totals"): each step
//! rounded to 2 decimals, halves away from zero. Validation reconciles them
//! with the totals a source carries; anything that cannot be computed (a
//! coupon or a tax rate whose value is unknown) is `None` and not checked.

use crate::model::{round_money, AppliedRate, Invoice, LineItem, Money};
use rust_decimal::Decimal;

/// One line's totals.
#[derive(Debug, Clone, PartialEq)]
pub struct LineTotals {
    /// `round(quantity × unit_cost)`, quantity defaulting to 1, unit cost to 0.
    pub amount: Money,
    /// The amount after the line's discounts.
    pub net: Option<Money>,
    /// The line's taxes, each `round(net × value / 100)`.
    pub vat: Option<Money>,
    /// `net + vat`.
    pub gross: Option<Money>,
}

/// A document's totals.
#[derive(Debug, Clone, PartialEq)]
pub struct Totals {
    pub lines: Vec<LineTotals>,
    /// `Σ line amount`.
    pub subtotal: Money,
    /// Line and document discounts.
    pub discounts: Option<Money>,
    /// Line and document taxes.
    pub tax: Option<Money>,
    /// `subtotal − discounts + tax`, never below 0 (for an invoice).
    pub total: Option<Money>,
}

/// Sum applied discounts; `None` when one has no amount (a coupon).
fn discounts_of(rates: &[AppliedRate]) -> Option<Money> {
    rates.iter().try_fold(Decimal::ZERO, |acc, r| {
        r.amount.map(|a| acc + round_money(a))
    })
}

/// Sum applied taxes on `base`; `None` when a rate's value is unknown.
fn taxes_of(
    rates: &[AppliedRate],
    base: Money,
    rate_value: &impl Fn(&str) -> Option<Decimal>,
) -> Option<Money> {
    rates.iter().try_fold(Decimal::ZERO, |acc, r| {
        let tax = match (&r.amount, &r.tax_rate) {
            (Some(a), _) => round_money(*a),
            (None, Some(id)) => round_money(base * rate_value(&id.0)? / Decimal::ONE_HUNDRED),
            (None, None) => return None,
        };
        Some(acc + tax)
    })
}

/// A line's totals.
pub fn line_totals(line: &LineItem, rate_value: &impl Fn(&str) -> Option<Decimal>) -> LineTotals {
    let quantity = line.quantity.unwrap_or(Decimal::ONE);
    let unit_cost = line.unit_cost.unwrap_or(Decimal::ZERO);
    let amount = round_money(quantity * unit_cost);
    let net = discounts_of(&line.discounts).map(|d| amount - d);
    let vat = match (net, line.taxable) {
        (Some(_), Some(false)) => Some(Decimal::ZERO),
        (Some(n), _) => taxes_of(&line.taxes, n, rate_value),
        (None, _) => None,
    };
    let gross = net.zip(vat).map(|(n, v)| n + v);
    LineTotals {
        amount,
        net,
        vat,
        gross,
    }
}

/// A document's totals. `credit` allows a negative total (a credit note
/// mapped from negative quantities); an invoice's total never goes below 0.
pub fn totals(
    invoice: &Invoice,
    credit: bool,
    rate_value: impl Fn(&str) -> Option<Decimal>,
) -> Totals {
    let lines: Vec<LineTotals> = invoice
        .items
        .iter()
        .map(|l| line_totals(l, &rate_value))
        .collect();
    let subtotal: Money = lines.iter().map(|l| l.amount).sum();
    let line_discounts: Option<Money> = lines
        .iter()
        .map(|l| l.net.map(|n| l.amount - n))
        .sum::<Option<Money>>();
    let doc_discounts = discounts_of(&invoice.discounts);
    let discounts = line_discounts.zip(doc_discounts).map(|(a, b)| a + b);
    let line_tax: Option<Money> = lines.iter().map(|l| l.vat).sum::<Option<Money>>();
    let doc_tax = discounts.and_then(|d| taxes_of(&invoice.taxes, subtotal - d, &rate_value));
    let tax = line_tax.zip(doc_tax).map(|(a, b)| a + b);
    let total = discounts.zip(tax).map(|(d, t)| {
        let total = subtotal - d + t;
        if credit {
            total
        } else {
            total.max(Decimal::ZERO)
        }
    });
    Totals {
        lines,
        subtotal,
        discounts,
        tax,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn rate(id: &str) -> Option<Decimal> {
        match id {
            "tva20" => Some(dec!(20)),
            "tva8" => Some(dec!(8)),
            _ => None,
        }
    }

    fn line(q: Decimal, c: Decimal, tax: &str) -> LineItem {
        LineItem {
            quantity: Some(q),
            unit_cost: Some(c),
            taxes: vec![AppliedRate::tax(tax)],
            ..Default::default()
        }
    }

    #[test]
    fn rounds_each_step_halves_away_from_zero() {
        // 3 × 0.335 = 1.005 → 1.01; 20% of 1.01 = 0.202 → 0.20
        let t = line_totals(&line(dec!(3), dec!(0.335), "tva20"), &rate);
        assert_eq!(t.amount, dec!(1.01));
        assert_eq!(t.vat, Some(dec!(0.20)));
        assert_eq!(t.gross, Some(dec!(1.21)));
    }

    #[test]
    fn document_totals_sum_lines_and_apply_discounts() {
        let mut inv = Invoice {
            items: vec![
                line(dec!(2), dec!(1000.50), "tva20"),
                line(dec!(1), dec!(12.5), "tva8"),
            ],
            ..Default::default()
        };
        inv.items[1].discounts = vec![AppliedRate::amount(dec!(2.5))];
        let t = totals(&inv, false, rate);
        assert_eq!(t.subtotal, dec!(2013.50));
        assert_eq!(t.discounts, Some(dec!(2.5)));
        // 400.20 + 0.80
        assert_eq!(t.tax, Some(dec!(401.00)));
        assert_eq!(t.total, Some(dec!(2412.00)));
    }

    #[test]
    fn unknown_rate_values_are_not_guessed() {
        let inv = Invoice {
            items: vec![line(dec!(1), dec!(10), "custom")],
            ..Default::default()
        };
        let t = totals(&inv, false, rate);
        assert_eq!(t.lines[0].net, Some(dec!(10)));
        assert_eq!(t.lines[0].vat, None);
        assert_eq!(t.total, None);
    }
}
