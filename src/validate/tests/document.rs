//! Document-level rules: required fields, number lengths, currency and
//! country codes, dates, metadata limits.

use super::*;

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
