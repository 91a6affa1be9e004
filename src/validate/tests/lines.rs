//! Line rules: quantities, prices and discounts, precision, tax rates.

use super::*;

#[test]
fn quantities_positive_except_in_credit_notes() {
    let mut dr = good();
    dr.invoice.items[1].quantity = Some(dec!(-1));
    assert!(has(&problems(dr), codes::BAD_QUANTITY, "items[1].quantity"));
    let mut zero = good();
    zero.invoice.items[1].quantity = Some(dec!(0));
    assert!(has(
        &problems(zero),
        codes::BAD_QUANTITY,
        "items[1].quantity"
    ));
    let mut credit = good();
    credit.kind = DocKind::CreditNote;
    credit.invoice.items[1].quantity = Some(dec!(-1));
    assert!(problems(credit).is_empty());
    let mut fine = good();
    fine.invoice.items[1].quantity = Some(dec!(1.123456));
    assert!(problems(fine).is_empty());
    let mut too_fine = good();
    too_fine.invoice.items[1].quantity = Some(dec!(1.1234567));
    assert!(has(
        &problems(too_fine),
        codes::QUANTITY_PRECISION,
        "items[1].quantity"
    ));
}

#[test]
fn prices_non_negative_with_two_decimals_in_mdl() {
    let mut dr = good();
    dr.invoice.items[0].unit_cost = Some(dec!(-5));
    dr.checks.lines[0] = LineChecks::default();
    assert!(has(
        &problems(dr),
        codes::NEGATIVE_AMOUNT,
        "items[0].unit_cost"
    ));
    let mut prec = good();
    prec.invoice.items[1].unit_cost = Some(dec!(2.015));
    let rej = rejected(prec);
    let p = rej.errors().next().unwrap();
    assert_eq!(
        (p.code, p.field.as_str()),
        (codes::MONEY_PRECISION, "items[1].unit_cost")
    );
    assert_eq!(p.cell, Some(cell(6, "Pret", 9)));
    // Trailing zeros are not decimals; JPY has none.
    let mut zeros = good();
    zeros.invoice.items[1].unit_cost = Some(dec!(0.3000));
    assert!(problems(zeros).is_empty());
    let mut yen = good();
    yen.invoice.currency = Some("JPY".into());
    yen.checks.lines[0] = LineChecks::default();
    assert!(has(
        &problems(yen),
        codes::MONEY_PRECISION,
        "items[0].unit_cost"
    ));
    let mut disc = good();
    disc.invoice.items[1].discounts = vec![AppliedRate::amount(dec!(-1))];
    assert!(has(
        &problems(disc),
        codes::NEGATIVE_AMOUNT,
        "items[1].discounts[0]"
    ));
}

#[test]
fn tax_rate_in_force_on_the_invoice_date() {
    let mut dr = good();
    dr.invoice.items[1].taxes = vec![AppliedRate::tax("tva12")];
    dr.invoice.date = Some(d(2025, 3, 1));
    dr.invoice.due_date = None;
    let rej = rejected(dr);
    let p = rej.errors().next().unwrap();
    assert_eq!(
        (p.code, p.field.as_str()),
        (codes::VAT_NOT_IN_FORCE, "items[1].taxes[0]")
    );
    assert_eq!(p.cell, Some(cell(6, "TVA", 10)), "parent path's cell");
    assert!(p.expected.as_deref().unwrap().contains("tva8"));
    let mut then = good();
    then.invoice.items[1].taxes = vec![AppliedRate::tax("tva12")];
    then.invoice.date = Some(d(2024, 3, 1));
    assert!(problems(then).is_empty());
}

#[test]
fn unknown_tax_rates_without_and_with_preflight() {
    let mut dr = good();
    dr.invoice.items[1].taxes = vec![AppliedRate::tax("tva5")];
    assert!(has(
        &problems(dr.clone()),
        codes::UNKNOWN_TAX_RATE,
        "items[1].taxes[0]"
    ));
    // A user VAT table knows it.
    let mut extended = rules();
    extended
        .vat
        .extend_from_toml("[[rates]]\nid = \"tva5\"\nvalue = 5\n")
        .unwrap();
    assert!(problems_with(dr.clone(), &extended).is_empty());
    // Preflight: the account's rates decide, whatever the table says.
    let mut pre = rules();
    pre.known_tax_rates = Some(["tva20".to_string(), "tva5".to_string()].into());
    let ps = problems_with(dr, &pre);
    assert!(!has(&ps, codes::UNKNOWN_TAX_RATE, "items[1].taxes[0]"));
    let ps = problems_with(good(), &pre);
    assert!(
        has(&ps, codes::MISSING_TAX_RATE, "items[1].taxes[0]"),
        "tva8 missing: {ps:?}"
    );
    assert!(!has(&ps, codes::MISSING_TAX_RATE, "items[0].taxes[0]"));
}

#[test]
fn precision_counts_real_decimals_whatever_the_scale() {
    // Scale above the limit, decimals within it: no problem.
    let mut dr = good();
    dr.invoice.items[0].unit_cost = Some(Decimal::from_str_exact("1000.5000000").unwrap());
    dr.invoice.items[0].quantity = Some(Decimal::from_str_exact("2.0000000000").unwrap());
    assert!(problems(dr).is_empty());
    // Scale and decimals above it: reported, with the value as found.
    let mut dr = good();
    dr.invoice.items[0].unit_cost = Some(Decimal::from_str_exact("1000.5010").unwrap());
    dr.invoice.items[0].quantity = Some(Decimal::from_str_exact("2.0000001").unwrap());
    let rej = rejected(dr);
    let ps: Vec<_> = rej
        .problems
        .iter()
        .filter(|p| p.code != codes::TOTAL_MISMATCH)
        .map(|p| (p.code, p.field.as_str(), p.found.as_deref()))
        .collect();
    assert_eq!(
        ps,
        [
            (
                codes::QUANTITY_PRECISION,
                "items[0].quantity",
                Some("2.0000001")
            ),
            (
                codes::MONEY_PRECISION,
                "items[0].unit_cost",
                Some("1000.5010")
            ),
        ]
    );
    // A currency with no minor units, in any case.
    let mut dr = good();
    dr.invoice.currency = Some("jpy".into());
    dr.checks = Checks::default();
    let ps = problems(dr);
    assert!(has(&ps, codes::MONEY_PRECISION, "items[0].unit_cost"));
    assert!(has(&ps, codes::MONEY_PRECISION, "items[1].unit_cost"));
}

/// An amount near the limit the API holds, or far beyond it: a mantissa
/// of up to four digits at a power of ten from 10⁻⁴ to 10²⁴, the extremes
/// of a decimal, and zero.
fn edge_amount() -> impl proptest::strategy::Strategy<Value = Decimal> {
    use proptest::prelude::*;
    prop_oneof![
        8 => (1i64..10_000, 0u32..=28, any::<bool>()).prop_map(|(m, p, neg)| {
            // m × 10^(p − 4): scale 4 down to 0, then whole powers up to 10²⁴.
            let mut v = Decimal::new(m, 4);
            for _ in 0..p {
                v = v.checked_mul(Decimal::TEN).unwrap_or(Decimal::MAX);
            }
            if neg { -v } else { v }
        }),
        1 => Just(Decimal::MAX),
        1 => Just(Decimal::MIN),
        1 => Just(crate::model::money::AMOUNT_LIMIT),
        1 => Just(crate::model::money::AMOUNT_LIMIT - Decimal::new(1, 2)),
        1 => Just(Decimal::ZERO),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// Amounts near and beyond the limit: checking never panics; every
    /// amount beyond the limit is `amount_out_of_range` at its field; and a
    /// draft called valid has every line amount and its total within what
    /// the API holds.
    #[test]
    fn amounts_near_the_limit_are_found_never_overflow(
        q0 in edge_amount(), p0 in edge_amount(),
        q1 in edge_amount(), p1 in edge_amount(),
        disc in proptest::option::of(edge_amount()),
    ) {
        use crate::model::money::in_range;
        let mut dr = good();
        dr.checks = Checks::default();
        dr.invoice.items[0].quantity = Some(q0);
        dr.invoice.items[0].unit_cost = Some(p0);
        dr.invoice.items[1].quantity = Some(q1);
        dr.invoice.items[1].unit_cost = Some(p1);
        if let Some(a) = disc {
            dr.invoice.discounts = vec![AppliedRate::amount(a)];
        }
        let ps = problems(dr.clone());
        let mut inputs = vec![
            ("items[0].quantity", q0),
            ("items[0].unit_cost", p0),
            ("items[1].quantity", q1),
            ("items[1].unit_cost", p1),
        ];
        inputs.extend(disc.map(|a| ("discounts[0]", a)));
        for (field, v) in inputs {
            if !in_range(v) {
                proptest::prop_assert!(
                    ps.iter().any(|(c, f)| *c == codes::AMOUNT_OUT_OF_RANGE && f.starts_with(field)),
                    "{field} = {v}: {ps:?}"
                );
            }
        }
        let valid = validate_one(dr, &rules());
        if valid.is_ok() {
            let l0 = q0.checked_mul(p0);
            let l1 = q1.checked_mul(p1);
            proptest::prop_assert!(l0.is_some_and(in_range), "line 0: {q0} × {p0}");
            proptest::prop_assert!(l1.is_some_and(in_range), "line 1: {q1} × {p1}");
            let sum = l0.and_then(|a| l1.and_then(|b| a.checked_add(b)));
            proptest::prop_assert!(sum.is_some_and(in_range), "total of {l0:?} and {l1:?}");
        }
    }
}
