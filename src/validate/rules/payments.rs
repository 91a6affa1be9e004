//! Payment rules: a positive amount with the currency's decimals, and
//! their sum not above the document total (a warning).

use super::codes::*;
use super::{amount_range, money_precision, Check};
use crate::model::Problem;
use crate::validate::totals::DocTotals;
use rust_decimal::Decimal;

/// Payments: a positive amount with the currency's decimals; their sum not
/// above the document total (a warning).
pub(super) fn payments(c: &mut Check, t: &DocTotals) {
    let d = c.draft;
    let mut sum = Some(Decimal::ZERO);
    for (k, p) in d.payments.iter().enumerate() {
        let field = || format!("payments[{k}].amount");
        match p.amount {
            Some(a) if a > Decimal::ZERO => {
                amount_range(c, field, a);
                sum = sum.and_then(|s| s.checked_add(a));
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
    if let (Some(total), Some(sum)) = (t.total, sum) {
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
