//! Text rules: numbers, codes and names hold no control character (a tab
//! aside), no bidirectional override and no invisible character; notes,
//! descriptions and addresses may also break lines. Such characters make
//! a number read as another (`МД-1` and `МД-1` with a zero-width space are
//! two numbers that look one), reorder what a person sees (U+202E), or
//! reach a terminal as commands (`ESC[2J`).

use super::codes::BAD_CHARACTERS;
use super::Check;
use crate::model::text::{bad_character, TextKind};
use crate::model::Metadata;

fn check(c: &mut Check, field: impl FnOnce() -> String, value: Option<&str>, kind: TextKind) {
    let Some(value) = value else { return };
    let Some((at, ch, why)) = bad_character(value, kind) else {
        return;
    };
    c.error_fe(
        BAD_CHARACTERS,
        field(),
        format!(
            "the text holds {} (U+{:04X}) at character {}",
            why.describe(),
            ch as u32,
            at + 1
        ),
        // Raw: messages show it escaped (`{:?}`), files hold it as it is.
        value,
        match kind {
            TextKind::Identifier => "text without control, bidi-override or invisible characters",
            TextKind::Free => {
                "text without control (but line breaks and tabs), bidi-override or invisible characters"
            }
        },
    );
}

fn metadata(c: &mut Check, base: &str, md: &Metadata) {
    for (k, v) in md {
        check(c, || format!("{base}{k}"), Some(k), TextKind::Identifier);
        check(c, || format!("{base}{k}"), Some(v), TextKind::Free);
    }
}

/// Every text field of the document, its customer, lines and payments.
pub(super) fn characters(c: &mut Check) {
    use TextKind::{Free, Identifier as Id};
    let d = c.draft;
    let inv = &d.invoice;
    let cu = &d.customer;
    for (field, value, kind) in [
        ("number", &inv.number, Id),
        ("name", &inv.name, Free),
        ("currency", &inv.currency, Id),
        ("payment_terms", &inv.payment_terms, Id),
        ("purchase_order", &inv.purchase_order, Id),
        ("notes", &inv.notes, Free),
        ("customer.number", &cu.number, Id),
        ("customer.name", &cu.name, Id),
        ("customer.tax_id", &cu.tax_id, Id),
        ("customer.email", &cu.email, Id),
        ("customer.phone", &cu.phone, Id),
        ("customer.address1", &cu.address1, Free),
        ("customer.address2", &cu.address2, Free),
        ("customer.city", &cu.city, Free),
        ("customer.state", &cu.state, Free),
        ("customer.postal_code", &cu.postal_code, Id),
        ("customer.country", &cu.country, Id),
        ("customer.language", &cu.language, Id),
        ("customer.currency", &cu.currency, Id),
        ("customer.payment_terms", &cu.payment_terms, Id),
        ("customer.notes", &cu.notes, Free),
    ] {
        check(c, || field.to_string(), value.as_deref(), kind);
    }
    metadata(c, "metadata.", &inv.metadata);
    metadata(c, "customer.metadata.", &cu.metadata);
    for (i, line) in inv.items.iter().enumerate() {
        check(c, || format!("items[{i}].name"), line.name.as_deref(), Id);
        check(
            c,
            || format!("items[{i}].catalog_item"),
            line.catalog_item.as_deref(),
            Id,
        );
        check(c, || format!("items[{i}].type"), line.kind.as_deref(), Id);
        check(
            c,
            || format!("items[{i}].description"),
            line.description.as_deref(),
            Free,
        );
        for (j, t) in line.taxes.iter().enumerate() {
            let id = t.tax_rate.as_ref().map(|r| r.0.as_str());
            check(c, || format!("items[{i}].taxes[{j}]"), id, Id);
        }
        if !line.metadata.is_empty() {
            metadata(c, &format!("items[{i}].metadata."), &line.metadata);
        }
    }
    for (j, t) in inv.taxes.iter().enumerate() {
        let id = t.tax_rate.as_ref().map(|r| r.0.as_str());
        check(c, || format!("taxes[{j}]"), id, Id);
    }
    for (k, p) in d.payments.iter().enumerate() {
        check(
            c,
            || format!("payments[{k}].reference"),
            p.reference.as_deref(),
            Id,
        );
        check(
            c,
            || format!("payments[{k}].method"),
            p.method.as_deref(),
            Id,
        );
        check(
            c,
            || format!("payments[{k}].notes"),
            p.notes.as_deref(),
            Free,
        );
        if !p.metadata.is_empty() {
            metadata(c, &format!("payments[{k}].metadata."), &p.metadata);
        }
    }
}
