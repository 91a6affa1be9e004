//! Customer rules (IDNO, e-mail) and the preflight's known customers.

use super::*;

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
fn preflight_customers_are_looked_up_by_the_match_key() {
    let mut r = rules();
    assert_eq!(r.customer_exists(&good()), None);
    r.known_customers = Some(KnownCustomers {
        numbers: ["c-1".to_string()].into(),
        tax_ids: HashSet::new(),
        ..KnownCustomers::default()
    });
    assert_eq!(r.customer_exists(&good()), Some(true));
    let mut by_tax = good();
    by_tax.match_on = MatchOn::TaxId;
    assert_eq!(r.customer_exists(&by_tax), Some(false));
}
