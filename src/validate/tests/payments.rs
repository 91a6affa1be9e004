//! Payments: positive, with the currency's decimals, not above the total.

use super::*;

#[test]
fn payments_positive_and_not_above_the_total() {
    let mut dr = good();
    dr.payments = vec![Payment {
        amount: Some(dec!(0)),
        ..Default::default()
    }];
    assert!(has(&problems(dr), codes::BAD_PAYMENT, "payments[0].amount"));
    let mut over = good();
    over.payments = vec![Payment {
        amount: Some(dec!(5000)),
        ..Default::default()
    }];
    let v = validate_one(over, &rules()).expect("a warning only");
    assert_eq!(v.warnings()[0].code, codes::OVERPAID);
}

#[test]
fn payments_are_checked_against_the_document_total() {
    // 2001.00 + 400.20 + 1.01 + 0.08 = 2402.29
    let mut dr = good();
    dr.checks = Checks::default();
    dr.payments = vec![
        Payment {
            amount: Some(dec!(2402.29)),
            ..Default::default()
        },
        Payment {
            amount: Some(dec!(0.001)),
            ..Default::default()
        },
    ];
    let rej = rejected(dr.clone());
    let ps: Vec<_> = rej
        .problems
        .iter()
        .map(|p| (p.code, p.field.as_str()))
        .collect();
    assert_eq!(
        ps,
        [
            (codes::MONEY_PRECISION, "payments[1].amount"),
            (codes::OVERPAID, "payments")
        ]
    );
    dr.payments.pop();
    assert!(problems(dr).is_empty());
}
