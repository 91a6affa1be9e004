//! Totals computed the API's way (API.md, "Money, dates, totals"): each step
//! rounded to 2 decimals, halves away from zero. Validation reconciles them
//! with the totals a source carries; anything that cannot be computed (a
//! coupon or a tax rate whose value is unknown) is `None` and not checked.
//! Every operation is checked: a step that would overflow a decimal (only
//! amounts far beyond what the API holds can) gives `None` too, and the
//! rules report the amount as out of range.

use crate::model::{round_money, AppliedRate, Invoice, LineItem, Money};
use rust_decimal::Decimal;

/// One line's totals.
#[derive(Debug, Clone, PartialEq)]
pub struct LineTotals {
    /// `round(quantity × unit_cost)`, quantity defaulting to 1, unit cost
    /// to 0; `None` when the product overflows.
    pub amount: Option<Money>,
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
    /// `Σ line amount`; `None` when a line's amount or the sum overflows.
    pub subtotal: Option<Money>,
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
        r.amount.and_then(|a| acc.checked_add(round_money(a)))
    })
}

/// `round(base × percent / 100)`, checked.
fn percent_of(base: Money, percent: Decimal) -> Option<Money> {
    Some(round_money(
        base.checked_mul(percent)?
            .checked_div(Decimal::ONE_HUNDRED)?,
    ))
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
            (None, Some(id)) => percent_of(base, rate_value(&id.0)?)?,
            (None, None) => return None,
        };
        acc.checked_add(tax)
    })
}

/// A line's totals.
pub fn line_totals(line: &LineItem, rate_value: &impl Fn(&str) -> Option<Decimal>) -> LineTotals {
    let quantity = line.quantity.unwrap_or(Decimal::ONE);
    let unit_cost = line.unit_cost.unwrap_or(Decimal::ZERO);
    let amount = quantity.checked_mul(unit_cost).map(round_money);
    let net = amount
        .zip(discounts_of(&line.discounts))
        .and_then(|(a, d)| a.checked_sub(d));
    let vat = match (net, line.taxable) {
        (Some(_), Some(false)) => Some(Decimal::ZERO),
        (Some(n), _) => taxes_of(&line.taxes, n, rate_value),
        (None, _) => None,
    };
    let gross = net.zip(vat).and_then(|(n, v)| n.checked_add(v));
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
    let mut lines = Vec::with_capacity(invoice.items.len());
    let doc = totals_with(invoice, credit, rate_value, |_, l| lines.push(l.clone()));
    Totals {
        lines,
        subtotal: doc.subtotal,
        discounts: doc.discounts,
        tax: doc.tax,
        total: doc.total,
    }
}

/// A document's totals without its lines': what [`totals`] gives, but for
/// `lines`.
#[derive(Debug, Clone, PartialEq)]
pub struct DocTotals {
    pub subtotal: Option<Money>,
    pub discounts: Option<Money>,
    pub tax: Option<Money>,
    pub total: Option<Money>,
}

/// [`totals`] without collecting the lines': each line's totals go to
/// `each_line` (with the line's index, in order) as they are computed.
/// Sums are taken in the same order, so the results are the same.
pub fn totals_with(
    invoice: &Invoice,
    credit: bool,
    rate_value: impl Fn(&str) -> Option<Decimal>,
    mut each_line: impl FnMut(usize, &LineTotals),
) -> DocTotals {
    let mut subtotal = Some(Decimal::ZERO);
    let mut line_discounts = Some(Decimal::ZERO);
    let mut line_tax = Some(Decimal::ZERO);
    // A `None` makes the sum `None`, as `Sum for Option` does.
    let add = |acc: Option<Money>, x: Option<Money>| acc.zip(x).and_then(|(a, b)| a.checked_add(b));
    for (i, item) in invoice.items.iter().enumerate() {
        let l = line_totals(item, &rate_value);
        subtotal = add(subtotal, l.amount);
        let discounted = l.amount.zip(l.net).and_then(|(a, n)| a.checked_sub(n));
        line_discounts = add(line_discounts, discounted);
        line_tax = add(line_tax, l.vat);
        each_line(i, &l);
    }
    let doc_discounts = discounts_of(&invoice.discounts);
    let discounts = add(line_discounts, doc_discounts);
    let doc_tax = subtotal
        .zip(discounts)
        .and_then(|(s, d)| s.checked_sub(d))
        .and_then(|base| taxes_of(&invoice.taxes, base, &rate_value));
    let tax = add(line_tax, doc_tax);
    let total = subtotal
        .zip(discounts)
        .and_then(|(s, d)| s.checked_sub(d))
        .zip(tax)
        .and_then(|(b, t)| b.checked_add(t))
        .map(|total| {
            if credit {
                total
            } else {
                total.max(Decimal::ZERO)
            }
        });
    DocTotals {
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
        assert_eq!(t.amount, Some(dec!(1.01)));
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
        assert_eq!(t.subtotal, Some(dec!(2013.50)));
        assert_eq!(t.discounts, Some(dec!(2.5)));
        // 400.20 + 0.80
        assert_eq!(t.tax, Some(dec!(401.00)));
        assert_eq!(t.total, Some(dec!(2412.00)));
    }

    #[test]
    fn lines_handed_out_are_the_lines_collected() {
        let mut inv = Invoice {
            items: vec![
                line(dec!(2), dec!(1000.50), "tva20"),
                line(dec!(1.333), dec!(12.555), "tva8"),
                line(dec!(3), dec!(0.335), "custom"),
            ],
            discounts: vec![AppliedRate::amount(dec!(1.005))],
            taxes: vec![AppliedRate::tax("tva8")],
            ..Default::default()
        };
        inv.items[1].discounts = vec![AppliedRate::amount(dec!(2.5))];
        for credit in [false, true] {
            for known in [true, false] {
                if !known {
                    // A coupon: no amount, so no net and no total.
                    inv.items[0].discounts = vec![AppliedRate::default()];
                }
                let all = totals(&inv, credit, rate);
                let mut seen = Vec::new();
                let doc = totals_with(&inv, credit, rate, |i, l| seen.push((i, l.clone())));
                let lines: Vec<_> = seen.iter().map(|(_, l)| l.clone()).collect();
                assert_eq!(lines, all.lines);
                assert!(seen.iter().enumerate().all(|(k, (i, _))| k == *i));
                assert_eq!(
                    (doc.subtotal, doc.discounts, doc.tax, doc.total),
                    (all.subtotal, all.discounts, all.tax, all.total)
                );
            }
        }
    }

    #[test]
    fn overflowing_steps_are_unknown_never_a_panic() {
        let huge = line(Decimal::MAX, Decimal::MAX, "tva20");
        let t = line_totals(&huge, &rate);
        assert_eq!((t.amount, t.net, t.vat, t.gross), (None, None, None, None));
        let big = line(dec!(1e14), dec!(7.9e13), "tva20");
        let inv = Invoice {
            items: vec![big.clone(), big],
            discounts: vec![AppliedRate::amount(Decimal::MAX)],
            ..Default::default()
        };
        let t = totals(&inv, false, rate);
        // The sum fits; 20% of it does not.
        assert_eq!(
            (t.subtotal, t.tax, t.total),
            (Some(dec!(1.58e28)), None, None)
        );
        let two = Invoice {
            items: vec![line(dec!(1), dec!(3.97e28), "tva20"); 2],
            ..Default::default()
        };
        let t = totals(&two, true, rate);
        assert!(t.lines[0].amount.is_some());
        assert_eq!((t.subtotal, t.tax), (None, None));
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
