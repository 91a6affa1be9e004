//! Customer rules: a Moldovan customer's tax id checked as an IDNO (check
//! digit included), and the e-mail address's shape.

use super::codes::*;
use super::Check;
use crate::model::idno;

/// Whether the customer looks Moldovan: country `MD` or no country at all
/// (a legacy Moldovan register rarely states it). Only then is its tax id
/// checked as an IDNO.
pub fn looks_moldovan(country: Option<&str>) -> bool {
    country.is_none_or(|c| c.trim().is_empty() || c.trim().eq_ignore_ascii_case("MD"))
}

/// The IDNO check digit on a Moldovan customer's tax id.
pub(super) fn idno(c: &mut Check) {
    let cust = &c.draft.customer;
    let Some(tax_id) = cust.tax_id.as_deref().filter(|t| !t.trim().is_empty()) else {
        return;
    };
    if !looks_moldovan(cust.country.as_deref()) {
        return;
    }
    let value = tax_id.trim();
    match idno::validate(value) {
        Ok(()) => {}
        Err(idno::IdnoError::CheckDigit { found, expected }) => c.error_fe(
            IDNO_CHECK_DIGIT,
            "customer.tax_id",
            format!("the IDNO's check digit is {found}, its first 12 digits give {expected}"),
            tax_id,
            "a valid IDNO (13 digits, the last a check digit)",
        ),
        Err(e) => c.error_fe(
            IDNO_FORMAT,
            "customer.tax_id",
            format!("not an IDNO: {e}"),
            tax_id,
            "13 digits",
        ),
    }
}

/// A plain e-mail address: one `@`, a local part, a dotted domain, no spaces.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let ok_chars = |p: &str| {
        !p.is_empty()
            && !p
                .chars()
                .any(|ch| ch.is_whitespace() || ch.is_control() || "@,;<>()[]\\\"".contains(ch))
    };
    ok_chars(local)
        && ok_chars(domain)
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && domain.contains('.')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
        && domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.chars().count() >= 2)
}

/// The customer's e-mail address.
pub(super) fn email(c: &mut Check) {
    if let Some(e) = &c.draft.customer.email {
        let t = e.trim();
        if !t.is_empty() && !is_email(t) {
            c.error_fe(
                BAD_EMAIL,
                "customer.email",
                "not an e-mail address",
                e.clone(),
                "an address like name@example.md",
            );
        }
    }
}
