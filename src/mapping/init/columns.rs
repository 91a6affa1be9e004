//! Columns to fields by name and value together: every (field, column)
//! pair a header's name suggests ([`vocabulary::score`]) or a column's
//! values suggest (valid IDNOs, currency codes, dates, e-mail addresses),
//! kept only when the values fit the field (a date field needs dates, an
//! amount numbers, a rate rates), then taken best first, each column once
//! and each field once ([`assign`]). This tool's own exports are read by
//! their field paths ([`export_path`]).

use super::profile::Profile;
use super::vocabulary::{score, How, FIELDS};
use rust_decimal::Decimal;

/// A field a column was given, and why.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Claim {
    pub(super) field: &'static str,
    pub(super) score: u32,
    pub(super) why: String,
}

/// How well a column's values fit a field (None: they do not).
pub(super) fn fits(field: &str, p: &Profile) -> Option<String> {
    let pct = |x: f64| format!("{:.0}%", (x * 100.0).floor());
    let f = p.filled.max(1);
    match field {
        "invoice.date" | "invoice.due_date" | "payment.date" => {
            let s = p.date_share();
            (s >= 0.8).then(|| format!("{} of its cells are dates", pct(s)))
        }
        "invoice.currency" => {
            let s = p.share(p.currency_codes + p.currency_names);
            (s >= 0.8).then(|| format!("{} currency codes or names", pct(s)))
        }
        "customer.country" => {
            let s = p.share(p.countries);
            (s >= 0.8).then(|| format!("{} country codes", pct(s)))
        }
        "customer.tax_id" => {
            let s = p.share(p.idno_like + p.foreign_tax);
            (s >= 0.5).then(|| {
                format!(
                    "{} of {} are IDNOs with a valid check digit",
                    p.idno_valid, p.filled
                )
            })
        }
        "customer.email" => {
            let s = p.share(p.emails);
            (s >= 0.8).then(|| format!("{} e-mail addresses", pct(s)))
        }
        "line.taxes" => {
            if p.share(p.rate_id_amount) >= 0.9 {
                return Some("rate ids with amounts (`tva20: 33.75`)".into());
            }
            if p.share(p.json_arrays) >= 0.8 {
                return Some("tax lines as JSON".into());
            }
            let r = p.rates()?;
            let rated: usize = r.percents.iter().map(|(_, _, n)| n).sum::<usize>() + p.exempt_words;
            let standard = r
                .percents
                .iter()
                .filter(|(_, v, _)| {
                    super::amounts::rate_id(*v, None) != super::amounts::RateId::Unknown
                })
                .map(|(_, _, n)| n)
                .sum::<usize>();
            (p.share(rated) >= 0.9
                && standard + p.exempt_words > 0
                && standard * 2 >= rated.saturating_sub(p.exempt_words))
            .then(|| format!("{} VAT rates", pct(p.share(rated))))
        }
        "line.quantity"
        | "line.unit_cost"
        | "line.check_net"
        | "line.check_vat"
        | "line.check_gross"
        | "invoice.check_subtotal"
        | "invoice.check_tax"
        | "invoice.check_total"
        | "payment.amount" => {
            let s = p.number_share();
            // Percents are rates, not amounts.
            (s >= 0.8 && p.idno_like * 2 < f && p.share(p.percent_signs) < 0.5)
                .then(|| format!("{} numbers", pct(s)))
        }
        "line.discount" => {
            if p.share(p.id_amount) >= 0.9 {
                return Some("ids with amounts (`284: 111`)".into());
            }
            let s = p.number_share();
            (s >= 0.8).then(|| format!("{} numbers", pct(s)))
        }
        "invoice.number" => {
            (p.filled > 0 && p.date_share() < 0.5 && p.bool_cells == 0).then(String::new)
        }
        "customer.name" | "line.name" | "line.description" | "invoice.notes" => {
            (p.share(p.letters) >= 0.5).then(String::new)
        }
        "customer.number"
        | "line.metadata.sku"
        | "line.metadata.unit"
        | "customer.phone"
        | "customer.address1"
        | "customer.city"
        | "customer.postal_code"
        | "invoice.purchase_order"
        | "payment.method"
        | "invoice.kind" => (p.filled > 0 && p.date_share() < 0.5).then(String::new),
        "row_no" => p.is_running().then(|| "1, 2, 3, …".into()),
        _ => None,
    }
}

/// What a column's values alone suggest, with a score below any exact name.
fn by_values(p: &Profile) -> Vec<(&'static str, u32, String)> {
    let mut out = Vec::new();
    if p.filled == 0 {
        return out;
    }
    if p.share(p.idno_valid) >= 0.8 {
        out.push((
            "customer.tax_id",
            60,
            format!(
                "{} of {} are IDNOs with a valid check digit",
                p.idno_valid, p.filled
            ),
        ));
    }
    if p.share(p.currency_codes + p.currency_names) >= 0.9 {
        out.push((
            "invoice.currency",
            55,
            "its values are currency codes".into(),
        ));
    }
    if p.share(p.emails) >= 0.9 {
        out.push((
            "customer.email",
            55,
            "its values are e-mail addresses".into(),
        ));
    }
    if p.date_share() >= 0.9 {
        out.push(("invoice.date", 30, "its values are dates".into()));
    }
    if p.is_running() {
        out.push(("row_no", 70, "a running row number (1, 2, 3, …)".into()));
    }
    if p.share(p.rate_id_amount) >= 0.9 {
        out.push((
            "line.taxes",
            60,
            "its values are tax-rate ids with amounts (`tva20: 33.75`)".into(),
        ));
    }
    out
}

/// Every candidate (score, field, column, why), best first.
pub(super) fn candidates(
    headers: &[String],
    profiles: &[Profile],
) -> Vec<(u32, &'static str, usize, String)> {
    let mut out = Vec::new();
    for (c, h) in headers.iter().enumerate() {
        let p = &profiles[c];
        for &f in FIELDS {
            let Some(m) = score(h, f) else { continue };
            let Some(fit) = fits(f, p) else { continue };
            let mut why = m.describe();
            if !fit.is_empty() {
                why = format!("{why}; {fit}");
            }
            let mut s = m.score;
            // A name that matched only in part counts more with values that fit.
            if m.how == How::Part && !fit.is_empty() {
                s += 5;
            }
            out.push((s, f, c, why));
        }
        for (f, s, why) in by_values(p) {
            if fits(f, p).is_some() {
                out.push((s, f, c, why));
            }
        }
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(&b.2)));
    out
}

/// Take the candidates best first: each column and each field once.
/// `taken` holds the claims already made (by arithmetic, by structure).
pub(super) fn assign(
    cands: &[(u32, &'static str, usize, String)],
    taken: &mut [Option<Claim>],
    prefer: impl Fn(&'static str, usize, usize) -> bool,
) {
    let mut done: Vec<&'static str> = taken.iter().flatten().map(|c| c.field).collect();
    let mut i = 0;
    while i < cands.len() {
        let (s, f, c, why) = &cands[i];
        i += 1;
        if done.contains(f) || taken[*c].is_some() {
            continue;
        }
        // Another free column of the same score for this field may be the
        // better one (`prefer`).
        let rival = cands[i..]
            .iter()
            .take_while(|x| x.0 == *s)
            .find(|x| x.1 == *f && taken[x.2].is_none() && prefer(f, x.2, *c));
        let (c, why) = match rival {
            Some(r) => (r.2, r.3.clone()),
            None => (*c, why.clone()),
        };
        taken[c] = Some(Claim {
            field: f,
            score: *s,
            why,
        });
        done.push(f);
    }
}

/// This tool's own export columns (API field paths): the field each is
/// read as, or why it is left out.
pub(super) fn export_path(header: &str) -> Option<Result<&'static str, &'static str>> {
    Some(match header {
        "number" => Ok("invoice.number"),
        "date" => Ok("invoice.date"),
        "due_date" => Ok("invoice.due_date"),
        "currency" => Ok("invoice.currency"),
        "purchase_order" => Ok("invoice.purchase_order"),
        "notes" => Ok("invoice.notes"),
        "subtotal" => Ok("invoice.check_subtotal"),
        "total" => Ok("invoice.check_total"),
        "customer" | "customer.id" => Ok("customer.id"),
        "customer.number" => Ok("customer.number"),
        "customer.name" => Ok("customer.name"),
        "customer.tax_id" => Ok("customer.tax_id"),
        "customer.email" => Ok("customer.email"),
        "line.name" => Ok("line.name"),
        "line.description" => Ok("line.description"),
        "line.quantity" => Ok("line.quantity"),
        "line.unit_cost" => Ok("line.unit_cost"),
        "line.taxes" => Ok("line.taxes"),
        "line.discounts" => Ok("line.discount"),
        "line.amount" => {
            Err("the API's quantity × unit cost (before discounts), computed by the server")
        }
        "id" | "line.id" => {
            Err("an id the exporting account gave; the target account gives its own")
        }
        "balance" | "status" | "paid" | "closed" | "updated_at" | "created_at" | "url"
        | "pdf_url" | "draft" | "sent" => Err("kept by the API for each invoice, not sent"),
        "metadata" => Err("the exported invoice's metadata (`key=value; …`), not read back"),
        "line.catalog_item" => Err("empty in this export"),
        _ => return None,
    })
}

/// Whether the headers are this tool's export (several field paths only it writes).
pub(super) fn is_export(headers: &[String]) -> bool {
    const OWN: &[&str] = &[
        "line.unit_cost",
        "line.quantity",
        "line.taxes",
        "line.amount",
        "subtotal",
        "balance",
        "updated_at",
        "purchase_order",
        "due_date",
    ];
    headers.iter().filter(|h| OWN.contains(&h.as_str())).count() >= 3
}

/// A rate's percent as the id's text (`20` → `tva20`).
pub(super) fn percent_text(p: Decimal) -> String {
    p.normalize().to_string()
}
