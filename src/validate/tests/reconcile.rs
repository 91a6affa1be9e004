//! Totals the source states against the API's, within one ban.

use super::*;

#[test]
fn line_totals_reconcile_within_one_ban() {
    let mut dr = good();
    dr.checks.lines[0].net = Some(dec!(2001.02));
    dr.checks.lines[0].vat = Some(dec!(400.21));
    let rej = rejected(dr);
    let ps: Vec<_> = rej.errors().collect();
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!(
        (ps[0].code, ps[0].field.as_str()),
        (codes::TOTAL_MISMATCH, "checks.lines[0].net")
    );
    assert_eq!(ps[0].cell, Some(cell(5, "Suma", 11)));
    assert_eq!(ps[0].found.as_deref(), Some("2001.02"));
    assert!(ps[0].expected.as_deref().unwrap().starts_with("2001.00"));
    // A line VAT with no tax rate on the line.
    let mut novat = good();
    novat.invoice.items[0].taxes.clear();
    assert!(has(
        &problems(novat),
        codes::TOTAL_MISMATCH,
        "checks.lines[0].vat"
    ));
}

#[test]
fn document_totals_reconcile_under_the_api_rounding() {
    // 2001.00 + 400.20 + 1.01 (0.5 × 2.01 = 1.005 → 1.01) + 0.08 = 2402.29
    let mut ok = good();
    ok.checks.subtotal = Some(dec!(2002.01));
    ok.checks.tax = Some(dec!(400.28));
    ok.checks.total = Some(dec!(2402.29));
    assert!(problems(ok).is_empty());
    let mut off = good();
    // Banker's rounding would give 1.00 on the second line: 2402.28 is
    // within a ban, 2402.27 is not.
    off.checks.total = Some(dec!(2402.27));
    let rej = rejected(off);
    let p = rej.errors().next().unwrap();
    assert_eq!(
        (p.code, p.field.as_str()),
        (codes::TOTAL_MISMATCH, "checks.total")
    );
    assert_eq!(p.cell, Some(cell(6, "Total", 13)));
}

#[test]
fn lines_reconcile_in_order_skipping_unmapped_ones_and_missing_checks() {
    let mut dr = good();
    // Three lines, checks for the first two only; every stated net is off.
    dr.invoice.items.push(dr.invoice.items[0].clone());
    dr.checks.lines[0].net = Some(dec!(1));
    dr.checks.lines[1].net = Some(dec!(5));
    dr.checks.total = Some(dec!(1));
    let ps = problems(dr.clone());
    let fields: Vec<&str> = ps
        .iter()
        .filter(|(c, _)| *c == codes::TOTAL_MISMATCH)
        .map(|(_, f)| f.as_str())
        .collect();
    assert_eq!(
        fields,
        ["checks.lines[0].net", "checks.lines[1].net", "checks.total"]
    );
    // A line the mapping could not fill: not reconciled, nor the document.
    dr.problems.push(Problem::error(
        "bad_decimal",
        "items[1].unit_cost",
        "not a number",
    ));
    let ps = problems(dr);
    let fields: Vec<&str> = ps
        .iter()
        .filter(|(c, _)| *c == codes::TOTAL_MISMATCH)
        .map(|(_, f)| f.as_str())
        .collect();
    assert_eq!(fields, ["checks.lines[0].net"]);
}

#[test]
fn totals_written_differently_reconcile_by_value() {
    // 2 × 1000.50 = 2001.00, stated with another scale, and zero's sign.
    for net in [dec!(2001), dec!(2001.0), dec!(2001.000), dec!(2001.01)] {
        let mut dr = good();
        dr.checks.lines[0].net = Some(net);
        assert!(problems(dr).is_empty(), "{net}");
    }
    let mut dr = good();
    dr.invoice.items[0].unit_cost = Some(dec!(0));
    dr.checks.lines[0] = LineChecks {
        net: Some(-dec!(0.00)),
        vat: Some(dec!(0)),
        gross: Some(dec!(0.0)),
    };
    assert!(problems(dr).is_empty());
    let mut dr = good();
    dr.checks.lines[0].net = Some(dec!(2001.011));
    assert!(has(
        &problems(dr),
        codes::TOTAL_MISMATCH,
        "checks.lines[0].net"
    ));
}
