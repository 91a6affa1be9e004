//! Each rule with a passing and a failing draft; order under parallelism.

use super::*;
use crate::model::{
    AppliedRate, CellRef, Checks, Customer, Invoice, LineChecks, LineItem, Origins, Payment,
    Severity,
};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::sync::Arc;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn rules() -> Rules {
    Rules {
        today: d(2025, 6, 1),
        ..Rules::default()
    }
}

fn row(n: u64) -> RowRef {
    RowRef {
        file: Arc::from("in.csv"),
        sheet: None,
        row: n,
    }
}

fn cell(n: u64, col: &str, idx: usize) -> CellRef {
    CellRef {
        row: row(n),
        column: Arc::from(col),
        col_idx: Some(idx),
    }
}

/// A valid two-line invoice from rows 5 and 6, every field with its cell.
fn good() -> Draft {
    let mut origins = Origins::default();
    for (f, r, c, i) in [
        ("number", 5, "Nr", 0),
        ("date", 5, "Data", 1),
        ("due_date", 5, "Scadenta", 2),
        ("currency", 5, "Valuta", 3),
        ("customer.name", 5, "Client", 4),
        ("customer.tax_id", 5, "IDNO", 5),
        ("customer.email", 5, "Email", 6),
        ("items[0].name", 5, "Produs", 7),
        ("items[0].quantity", 5, "Cant", 8),
        ("items[0].unit_cost", 5, "Pret", 9),
        ("items[0].taxes", 5, "TVA", 10),
        ("checks.lines[0].net", 5, "Suma", 11),
        ("checks.lines[0].vat", 5, "SumaTVA", 12),
        ("items[1].name", 6, "Produs", 7),
        ("items[1].quantity", 6, "Cant", 8),
        ("items[1].unit_cost", 6, "Pret", 9),
        ("items[1].taxes", 6, "TVA", 10),
        ("checks.total", 6, "Total", 13),
    ] {
        origins.insert(f, &cell(r, c, i));
    }
    Draft {
        source_key: "F-1".into(),
        rows: vec![row(5), row(6)],
        kind: DocKind::Invoice,
        invoice: Invoice {
            number: Some("F-1".into()),
            currency: Some("MDL".into()),
            date: Some(d(2024, 3, 1)),
            due_date: Some(d(2024, 3, 31)),
            items: vec![
                LineItem {
                    name: Some("Pâine".into()),
                    quantity: Some(dec!(2)),
                    unit_cost: Some(dec!(1000.50)),
                    taxes: vec![AppliedRate::tax("tva20")],
                    ..Default::default()
                },
                LineItem {
                    name: Some("Lapte".into()),
                    quantity: Some(dec!(0.5)),
                    unit_cost: Some(dec!(2.01)),
                    taxes: vec![AppliedRate::tax("tva8")],
                    ..Default::default()
                },
            ],
            metadata: [("source".to_string(), "1c".to_string())].into(),
            ..Default::default()
        },
        customer: Customer {
            name: Some("SRL Alfa".into()),
            number: Some("C-1".into()),
            tax_id: Some("1008600038413".into()),
            email: Some("contabil@alfa.md".into()),
            ..Default::default()
        },
        match_on: MatchOn::Number,
        payments: vec![],
        checks: Checks {
            lines: vec![
                LineChecks {
                    net: Some(dec!(2001.00)),
                    vat: Some(dec!(400.20)),
                    gross: Some(dec!(2401.20)),
                },
                LineChecks::default(),
            ],
            subtotal: None,
            tax: None,
            total: None,
        },
        origins,
        problems: vec![],
    }
}

/// The problems of a draft, as `(code, field)` pairs.
fn problems(draft: Draft) -> Vec<(&'static str, String)> {
    let r = rules();
    problems_with(draft, &r)
}

fn problems_with(draft: Draft, r: &Rules) -> Vec<(&'static str, String)> {
    match validate_one(draft, r) {
        Ok(v) => v
            .warnings()
            .iter()
            .map(|p| (p.code, p.field.clone()))
            .collect(),
        Err(rej) => rej
            .problems
            .iter()
            .map(|p| (p.code, p.field.clone()))
            .collect(),
    }
}

fn rejected(draft: Draft) -> Rejection {
    validate_one(draft, &rules()).expect_err("should be rejected")
}

fn has(ps: &[(&'static str, String)], code: &str, field: &str) -> bool {
    ps.iter().any(|(c, f)| *c == code && f == field)
}

#[test]
fn the_good_draft_is_valid_without_warnings() {
    let v = validate_one(good(), &rules()).expect("valid");
    assert!(v.warnings().is_empty(), "{:?}", v.warnings());
    assert_eq!(v.invoice.number.as_deref(), Some("F-1"));
}

#[test]
fn required_fields_are_all_reported_at_once() {
    let mut dr = good();
    dr.customer.name = Some("  ".into());
    dr.customer.number = None;
    dr.invoice.date = None;
    dr.invoice.items[1].name = None;
    let ps = problems(dr);
    assert!(has(&ps, codes::REQUIRED, "customer.name"));
    assert!(has(&ps, codes::REQUIRED, "date"));
    assert!(has(&ps, codes::REQUIRED, "items[1].name"));
    // A catalog item is enough for a line; a number is enough for a customer.
    let mut ok = good();
    ok.customer.name = None;
    ok.invoice.items[1].name = None;
    ok.invoice.items[1].catalog_item = Some("lapte-1l".into());
    assert!(problems(ok).is_empty());
}

#[test]
fn no_lines_is_an_error() {
    let mut dr = good();
    dr.invoice.items.clear();
    dr.checks.lines.clear();
    let rej = rejected(dr);
    let p = rej
        .errors()
        .find(|p| p.field == "items")
        .expect("items problem");
    assert_eq!(p.code, codes::REQUIRED);
    assert_eq!(p.row, Some(row(5)), "no cell: the document's first row");
}

#[test]
fn matching_on_tax_id_needs_one() {
    let mut dr = good();
    dr.match_on = MatchOn::TaxId;
    dr.customer.tax_id = None;
    assert!(has(&problems(dr), codes::REQUIRED, "customer.tax_id"));
    let mut ok = good();
    ok.match_on = MatchOn::TaxId;
    assert!(problems(ok).is_empty());
}

#[test]
fn idno_check_digit_points_at_its_cell() {
    let mut dr = good();
    dr.customer.tax_id = Some("1008600038412".into());
    let rej = rejected(dr);
    let p = rej.errors().next().unwrap();
    assert_eq!(p.code, codes::IDNO_CHECK_DIGIT);
    assert_eq!(p.field, "customer.tax_id");
    assert_eq!(p.cell, Some(cell(5, "IDNO", 5)));
    assert_eq!(p.found.as_deref(), Some("1008600038412"));
    assert!(p.message.contains("check digit is 2"), "{}", p.message);
}

#[test]
fn idno_format_and_foreign_customers() {
    let mut dr = good();
    dr.customer.tax_id = Some("10086000384".into());
    assert!(has(&problems(dr), codes::IDNO_FORMAT, "customer.tax_id"));
    // A Romanian CUI is not an IDNO: not checked.
    let mut ro = good();
    ro.customer.country = Some("RO".into());
    ro.customer.tax_id = Some("RO123456".into());
    assert!(problems(ro).is_empty());
    // Country MD is checked.
    let mut md = good();
    md.customer.country = Some("md".into());
    md.customer.tax_id = Some("123".into());
    assert!(has(&problems(md), codes::IDNO_FORMAT, "customer.tax_id"));
}

#[test]
fn currency_must_be_iso_4217() {
    let mut dr = good();
    dr.invoice.currency = Some("LEI".into());
    let rej = rejected(dr);
    let p = rej.errors().next().unwrap();
    assert_eq!(
        (p.code, p.field.as_str()),
        (codes::UNKNOWN_CURRENCY, "currency")
    );
    assert_eq!(p.cell, Some(cell(5, "Valuta", 3)));
    let mut ok = good();
    ok.invoice.currency = Some("eur".into());
    assert!(problems(ok).is_empty());
}

#[test]
fn country_must_be_two_letters() {
    let mut dr = good();
    dr.customer.country = Some("Moldova".into());
    assert!(has(&problems(dr), codes::BAD_COUNTRY, "customer.country"));
}

#[test]
fn due_date_not_before_date() {
    let mut dr = good();
    dr.invoice.due_date = Some(d(2024, 2, 28));
    let rej = rejected(dr);
    let p = rej.errors().next().unwrap();
    assert_eq!(p.code, codes::DUE_BEFORE_DATE);
    assert_eq!(p.found.as_deref(), Some("2024-02-28"));
    assert_eq!(p.expected.as_deref(), Some("2024-03-01 or later"));
    let mut same = good();
    same.invoice.due_date = same.invoice.date;
    assert!(problems(same).is_empty());
}

#[test]
fn a_future_date_is_a_warning_only() {
    let mut dr = good();
    dr.invoice.date = Some(d(2025, 12, 1));
    dr.invoice.due_date = None;
    let v = validate_one(dr, &rules()).expect("still valid");
    assert_eq!(v.warnings().len(), 1);
    assert_eq!(v.warnings()[0].code, codes::DATE_IN_FUTURE);
    assert_eq!(v.warnings()[0].severity, Severity::Warning);
}

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
fn number_length_at_most_32() {
    let mut dr = good();
    dr.invoice.number = Some("Ă".repeat(33));
    assert!(has(&problems(dr), codes::NUMBER_TOO_LONG, "number"));
    let mut ok = good();
    ok.invoice.number = Some("Ă".repeat(32));
    assert!(problems(ok).is_empty(), "characters, not bytes");
}

#[test]
fn metadata_limits_count_bytes() {
    let mut dr = good();
    // 128 Cyrillic letters: 256 bytes.
    dr.invoice.metadata.insert("nota".into(), "ж".repeat(128));
    dr.invoice.metadata.insert("ș".repeat(21), "x".into());
    let ps = problems(dr);
    assert!(
        has(&ps, codes::METADATA_VALUE_TOO_LONG, "metadata.nota"),
        "{ps:?}"
    );
    assert!(has(
        &ps,
        codes::METADATA_KEY_TOO_LONG,
        &format!("metadata.{}", "ș".repeat(21))
    ));
    let mut ok = good();
    ok.invoice.metadata.insert("nota".into(), "ж".repeat(127));
    ok.invoice.metadata.insert("ș".repeat(20), "x".into());
    assert!(problems(ok).is_empty());
}

#[test]
fn metadata_keeps_a_key_for_the_import_key() {
    let mut dr = good();
    dr.invoice.metadata = (0..10).map(|i| (format!("k{i}"), "v".into())).collect();
    assert!(has(
        &problems(dr),
        codes::METADATA_TOO_MANY_KEYS,
        "metadata"
    ));
    let mut nine = good();
    nine.invoice.metadata = (0..9).map(|i| (format!("k{i}"), "v".into())).collect();
    assert!(problems(nine).is_empty());
    let mut line = good();
    line.invoice.items[0].metadata = (0..11).map(|i| (format!("k{i}"), "v".into())).collect();
    assert!(has(
        &problems(line),
        codes::METADATA_TOO_MANY_KEYS,
        "items[0].metadata"
    ));
}

#[test]
fn email_syntax() {
    for bad in [
        "contabil",
        "a@b",
        "a b@alfa.md",
        "@alfa.md",
        "a@@alfa.md",
        "a@alfa..md",
        "a,b@alfa.md",
    ] {
        let mut dr = good();
        dr.customer.email = Some(bad.into());
        assert!(
            has(&problems(dr), codes::BAD_EMAIL, "customer.email"),
            "{bad}"
        );
    }
    for ok in ["a.b+c@sub.alfa.md", "контабил@альфа.рф"] {
        assert!(rules::is_email(ok), "{ok}");
    }
}

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
fn mapping_problems_are_kept_and_reject() {
    let mut dr = good();
    dr.problems.push(
        Problem::error("bad_decimal", "items[0].quantity", "not a number")
            .at(Some(&cell(5, "Cant", 8))),
    );
    let rej = rejected(dr);
    assert_eq!(rej.problems[0].code, "bad_decimal");
    assert_eq!(rej.draft.problems, rej.problems);
}

#[test]
fn a_field_the_mapping_could_not_fill_is_reported_once() {
    let mut dr = good();
    dr.invoice.date = None;
    dr.problems.push(
        Problem::error("bad_date", "date", "not a date")
            .found("31.06.2024")
            .at(Some(&cell(5, "Data", 1))),
    );
    let rej = rejected(dr);
    let codes: Vec<&str> = rej.problems.iter().map(|p| p.code).collect();
    assert_eq!(codes, ["bad_date"]);
}

fn numbered(i: u64, number: &str) -> Draft {
    let mut dr = good();
    dr.invoice.number = Some(number.to_string());
    dr.source_key = number.to_string();
    dr.rows = vec![row(i)];
    dr.origins.clear();
    dr
}

#[test]
fn duplicate_numbers_ignore_case_and_point_at_the_first() {
    let input = vec![numbered(2, "F-1"), numbered(3, "F-2"), numbered(4, "f-1")];
    let r = rules();
    let out: Vec<Outcome> = validate_all(input.into_iter(), &r).collect();
    assert!(out[0].is_ok() && out[1].is_ok());
    let rej = out[2].as_ref().expect_err("duplicate");
    let p = &rej.problems[0];
    assert_eq!(p.code, codes::DUPLICATE_NUMBER);
    assert_eq!(p.row, Some(row(4)));
    assert!(p.message.contains("in.csv row 2"), "{}", p.message);
    // Invoices and credit notes are numbered apart.
    let mut credit = numbered(5, "F-1");
    credit.kind = DocKind::CreditNote;
    let out: Vec<Outcome> =
        validate_all(vec![numbered(2, "F-1"), credit].into_iter(), &r).collect();
    assert!(out.iter().all(Result::is_ok));
}

#[test]
fn order_is_kept_across_chunks_and_threads() {
    let r = Rules {
        chunk_size: 64,
        ..rules()
    };
    let n = 5000u64;
    let input = (0..n).map(|i| {
        let mut dr = numbered(i + 2, &format!("N-{i}"));
        // Every seventh is bad, with a cost that varies to shuffle timings.
        if i % 7 == 0 {
            dr.invoice.currency = Some("XXX".into());
        }
        dr.invoice.items = (0..(i % 13 + 1))
            .map(|_| dr.invoice.items[0].clone())
            .collect();
        dr.checks = Checks::default();
        dr
    });
    let mut count = 0;
    for (i, o) in validate_all(input, &r).enumerate() {
        let (key, ok) = match &o {
            Ok(v) => (v.source_key.clone(), true),
            Err(rej) => (rej.draft.source_key.clone(), false),
        };
        assert_eq!(key, format!("N-{i}"));
        assert_eq!(ok, i % 7 != 0);
        count += 1;
    }
    assert_eq!(count, n);
}

#[test]
fn an_empty_input_yields_nothing() {
    let r = rules();
    assert_eq!(validate_all(std::iter::empty(), &r).count(), 0);
}

#[test]
fn preflight_customers_are_looked_up_by_the_match_key() {
    let mut r = rules();
    assert_eq!(r.customer_exists(&good()), None);
    r.known_customers = Some(KnownCustomers {
        numbers: ["c-1".to_string()].into(),
        tax_ids: HashSet::new(),
    });
    assert_eq!(r.customer_exists(&good()), Some(true));
    let mut by_tax = good();
    by_tax.match_on = MatchOn::TaxId;
    assert_eq!(r.customer_exists(&by_tax), Some(false));
}

#[test]
fn decimals_ignore_trailing_zeros() {
    assert_eq!(
        Decimal::from_str_exact("1.50").unwrap().normalize().scale(),
        1
    );
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

fn at(file: &str, sheet: Option<&str>, n: u64, number: &str) -> Draft {
    let mut dr = numbered(n, number);
    dr.rows = vec![RowRef {
        file: Arc::from(file),
        sheet: sheet.map(Arc::from),
        row: n,
    }];
    dr
}

#[test]
fn duplicates_name_the_first_file_and_sheet() {
    // Files and sheets in runs, and one going back to an earlier file.
    let input = vec![
        at("a.csv", None, 2, "A-1"),
        at("b.xlsx", Some("Ian"), 3, "B-1"),
        at("b.xlsx", Some("Feb"), 4, "C-1"),
        at("a.csv", None, 5, "D-1"),
        at("c.csv", None, 6, "b-1"),
        at("c.csv", None, 7, " a-1 "),
        at("c.csv", None, 8, "c-1"),
        at("c.csv", None, 9, "d-1"),
    ];
    let r = rules();
    let input_again = input.clone();
    let out: Vec<Outcome> = validate_all(input.clone().into_iter(), &r).collect();
    let messages: Vec<(String, Option<String>)> = out[4..]
        .iter()
        .map(|o| {
            let p = &o.as_ref().expect_err("a duplicate").problems[0];
            (p.message.clone(), p.found.clone())
        })
        .collect();
    let used = |at: &str| {
        format!("the number was already used at {at} (numbers are compared ignoring case)")
    };
    assert_eq!(
        messages,
        [
            (used("b.xlsx [Ian] row 3"), Some("b-1".into())),
            (used("a.csv row 2"), Some("a-1".into())),
            (used("b.xlsx [Feb] row 4"), Some("c-1".into())),
            (used("a.csv row 5"), Some("d-1".into())),
        ]
    );
    // The public check, one outcome at a time, finds the same.
    let mut seen = Duplicates::default();
    let one_by_one: Vec<Outcome> = input
        .into_iter()
        .map(|d| seen.check(validate_one(d, &r)))
        .collect();
    assert_eq!(one_by_one, out.clone());
    // Validated elsewhere (as the pipeline does, on the pool) with the key
    // worked out there, then checked in order: the same again.
    let mut seen = Duplicates::default();
    let validator = seen.validator(Arc::new(r.clone()), Keep::Documents);
    let validated: Vec<Box<Validated>> = input_again.into_iter().map(validator).collect();
    let fused: Vec<(Verdict, Option<Valid<Draft>>)> = validated
        .into_iter()
        .map(|mut v| {
            seen.check_validated(&mut v);
            v.into_parts()
        })
        .collect();
    let want: Vec<(Verdict, Option<Valid<Draft>>)> = out
        .iter()
        .map(|o| (Verdict::of(o, &r), o.as_ref().ok().cloned()))
        .collect();
    assert_eq!(fused, want);
}

#[test]
fn a_draft_without_rows_or_number_is_not_recorded() {
    let mut rowless = numbered(2, "F-1");
    rowless.rows.clear();
    let mut blank = numbered(3, "  ");
    blank.invoice.number = Some("  ".into());
    let input = vec![rowless, blank, numbered(4, "F-1"), numbered(5, " ")];
    let r = rules();
    let out: Vec<Outcome> = validate_all(input.into_iter(), &r).collect();
    assert!(out.iter().all(|o| o
        .as_ref()
        .map_or_else(|rej| rej.problems.clone(), |v| v.warnings().to_vec())
        .iter()
        .all(|p| p.code != codes::DUPLICATE_NUMBER)));
}

#[test]
fn number_keys_with_one_hash_stay_apart() {
    let key = |credit, lower: &str| NumberKey {
        hash: 7,
        credit,
        lower: lower.into(),
    };
    let mut first: HashMap<NumberKey, u64, BuildHasherDefault<Prehashed>> = HashMap::default();
    first.insert(key(false, "f-1"), 1);
    first.insert(key(false, "f-2"), 2);
    first.insert(key(true, "f-1"), 3);
    first.insert(key(false, "f-1"), 4);
    assert_eq!(first.len(), 3);
    assert_eq!(first[&key(false, "f-1")], 4);
    assert_eq!(first[&key(true, "f-1")], 3);
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

#[test]
fn verdicts_keep_what_reports_read() {
    let r = Arc::new(rules());
    let mut bad = good();
    bad.customer.tax_id = Some("1008600038412".into());
    let input = vec![good(), bad, numbered(7, "f-1")];
    let mut seen = Duplicates::default();
    let full: Vec<Outcome> = input
        .iter()
        .map(|d| seen.check(validate_one(d.clone(), &r)))
        .collect();
    for keep in [Keep::Verdicts, Keep::Documents] {
        let mut seen = Duplicates::default();
        let validator = seen.validator(r.clone(), keep);
        let slim: Vec<(Verdict, Option<Valid<Draft>>)> = input
            .clone()
            .into_iter()
            .map(|d| {
                let mut v = validator(d);
                seen.check_validated(&mut v);
                v.into_parts()
            })
            .collect();
        for (f, (sv, doc)) in full.iter().zip(&slim) {
            let (fd, fp) = match f {
                Ok(v) => (v.get(), v.warnings().to_vec()),
                Err(rej) => (&rej.draft, rej.problems.clone()),
            };
            assert_eq!(f.is_ok(), sv.is_valid());
            assert_eq!(sv.problems, fp, "the problems, whole");
            assert_eq!(
                (&sv.rows, &sv.source_key, sv.kind),
                (&fd.rows, &fd.source_key, fd.kind)
            );
            assert_eq!(sv.number, fd.invoice.number);
            assert_eq!(sv.origin("number"), fd.origin("number"));
            match keep {
                Keep::Verdicts => assert!(doc.is_none(), "the payload is not kept"),
                Keep::Documents => assert_eq!(doc.as_ref(), f.as_ref().ok()),
            }
        }
        assert!(!slim[2].0.is_valid(), "the duplicate of F-1 is found");
    }
}

proptest::proptest! {
    #[test]
    fn numbers_fold_case_as_to_lowercase_does(s in "[A-Za-zА-Яа-яЁёЀ-Џѐ-џΣσςİ№«» 0-9/-]{0,12}") {
        let want = s.to_lowercase();
        proptest::prop_assert_eq!(&*fold_case(&s), want.as_str());
    }
}

#[test]
fn checking_in_place_gives_what_checking_by_value_does() {
    let r = Arc::new(rules());
    let input = vec![
        good(),
        numbered(7, "f-1"),
        numbered(8, "F-1 "),
        numbered(9, "f-2"),
    ];
    let mut by_value = Duplicates::default();
    let mut in_place = Duplicates::default();
    let v2 = in_place.validator(r.clone(), Keep::Verdicts);
    for d in input {
        let want = by_value.check(validate_one(d.clone(), &r));
        let mut v = v2(d);
        in_place.check_validated(&mut v);
        assert_eq!(v.verdict(), &Verdict::of(&want, &r));
    }
}
