//! The customer and the line, written from the columns decided: how the
//! customer is matched (its number when there is one, else its tax id when
//! every row has one), a customer code kept only when each code names one
//! customer, tax ids cleaned to IDNOs (and a country taken from a foreign
//! tax id's prefix when there is no country column), the line's name,
//! quantity, price (the net itself when there is neither, at quantity 1),
//! stated amounts, discounts, unit and product code, payments.

use super::decide::Ctx;
use super::render::{Spec, Table};
use std::collections::HashMap;

fn why_of(cx: &Ctx, c: usize) -> String {
    cx.taken[c]
        .as_ref()
        .map(|t| t.why.clone())
        .unwrap_or_default()
}

/// Each value of column `a` goes with one value of `b` on `rows`: how many
/// values do, of how many.
fn determines(cx: &Ctx, a: usize, b: usize) -> (usize, usize) {
    let mut seen: HashMap<String, Option<String>> = HashMap::new();
    for r in cx.rows().iter() {
        let k = r.cell(a).as_text().trim().to_string();
        if k.is_empty() {
            continue;
        }
        let v = r.cell(b).as_text().trim().to_string();
        seen.entry(k)
            .and_modify(|x| {
                if x.as_deref() != Some(v.as_str()) {
                    *x = None;
                }
            })
            .or_insert(Some(v));
    }
    (seen.values().filter(|v| v.is_some()).count(), seen.len())
}

/// `net × rate ≈ the amount` in `tva20: 33.75`, row by row.
fn stated_vat(cx: &Ctx, net: usize, col: usize) -> super::amounts::Held {
    let table = crate::model::vat::VatTable::default();
    let locale = cx.notation.parse_locale();
    let mut h = super::amounts::Held::default();
    for r in cx.rows().iter() {
        let text = r.cell(col).as_text();
        let Some((id, amount)) = text.split_once(':') else {
            continue;
        };
        let (Some(rate), Some(n), Ok(v)) = (
            table.get(id.trim()).map(|x| x.value),
            super::amounts::num(r.cell(net), locale),
            amount.trim().parse::<rust_decimal::Decimal>(),
        ) else {
            continue;
        };
        h.of += 1;
        let want = n
            .checked_mul(rate)
            .and_then(|x| x.checked_div(rust_decimal::Decimal::ONE_HUNDRED));
        if want.is_some_and(|w| (w.round_dp(2) - v).abs() <= rust_decimal::Decimal::new(1, 2)) {
            h.ok += 1;
        }
    }
    h
}

pub(super) fn customer(cx: &mut Ctx) {
    let name = cx.col("customer.name");
    let mut number = cx.col("customer.number");
    let tax = cx.col("customer.tax_id");
    // A customer code names one customer.
    let mut number_why = number.map(|c| why_of(cx, c)).unwrap_or_default();
    if let (Some(n), Some(other)) = (number, name.or(tax)) {
        let (ok, of) = determines(cx, n, other);
        if (ok as f64) < 0.9 * of as f64 {
            cx.g.warnings.push(format!(
                "{:?} was not taken for the customer's number: only {ok} of its {of} values go with one {:?}",
                cx.s.headers[n], cx.s.headers[other]
            ));
            cx.taken[n] = None;
            number = None;
        } else {
            number_why = format!(
                "{number_why}; each of its {of} values goes with one {:?}{}",
                cx.s.headers[other],
                if ok < of {
                    format!(" ({} do not)", of - ok)
                } else {
                    String::new()
                }
            );
        }
    }
    let rows = cx.rows();
    let tax_everywhere = tax.is_some_and(|t| rows.iter().all(|r| !r.cell(t).is_blank()));
    let (match_on, why) = match (number, tax) {
        (Some(_), _) => ("number", "the customer's number is mapped".to_string()),
        (None, Some(t)) if tax_everywhere => (
            "tax_id",
            format!("no customer number; every row has a tax id in {:?}", cx.s.headers[t]),
        ),
        (None, Some(t)) => (
            "number",
            format!(
                "no customer number, and some rows have no tax id in {:?}: customers are found by their tax id where they have one; the others cannot be matched (customer_unmatched) unless a customer number is mapped",
                cx.s.headers[t]
            ),
        ),
        (None, None) => ("number", "no customer number or tax id".to_string()),
    };
    cx.g.set(
        Table::Customer,
        "match_on",
        super::render::q(match_on),
        format!("match_on: {why}"),
    );
    if let Some(c) = number {
        let h = cx.s.headers[c].clone();
        cx.g.field(
            Table::Customer,
            "number",
            Spec::column(&h).transform(&["trim"]),
            format!("number: {h:?}: {number_why}"),
        );
    }
    // Our own export's `customer`: the customer's id on the account, which
    // finds it there when the file names no number or tax id.
    if let Some(c) = cx.col("customer.id") {
        let h = cx.s.headers[c].clone();
        cx.g.field(
            Table::Customer,
            "id",
            Spec::column(&h),
            format!("id: {h:?}: the customer's id on the account (this tool's export field path)"),
        );
    }
    if let Some(c) = name {
        let h = cx.s.headers[c].clone();
        cx.g.field(
            Table::Customer,
            "name",
            Spec::column(&h).transform(&["trim", "collapse_spaces"]),
            format!("name: {h:?}: {}", why_of(cx, c)),
        );
    }
    let country = cx.col("customer.country");
    if let Some(c) = tax {
        let h = cx.s.headers[c].clone();
        let p = &cx.profiles[c];
        let foreign = p.foreign_tax - p.idno_md.min(p.foreign_tax);
        let others = p.filled - p.idno_like - p.foreign_tax;
        let why = why_of(cx, c);
        if foreign == 0 && others * 20 <= p.filled {
            let md = if p.idno_md > 0 {
                format!("; {} carry the prefix MD, dropped", p.idno_md)
            } else {
                String::new()
            };
            cx.g.field(
                Table::Customer,
                "tax_id",
                Spec::column(&h).transform(&["digits"]),
                format!("tax_id: {h:?}: {why}{md}"),
            );
        } else {
            cx.g.field(
                Table::Customer,
                "tax_id",
                Spec::column(&h).transform(&["trim"]).replace("^MD(\\d{13})$", "$1"),
                format!(
                    "tax_id: {h:?}: {why}; {foreign} are tax ids of other countries (a country prefix), kept as they are"
                ),
            );
            if country.is_none() && foreign > 0 {
                cx.g.field(
                    Table::Customer,
                    "country",
                    Spec::column(&h).replace("^([A-Z]{2})?.*$", "$1").default("MD"),
                    format!("country: no country column: the prefix of a foreign tax id in {h:?}, else MD"),
                );
            }
        }
    }
    if let Some(c) = country {
        let h = cx.s.headers[c].clone();
        cx.g.field(
            Table::Customer,
            "country",
            Spec::column(&h).transform(&["trim", "upper"]).default("MD"),
            format!("country: {h:?}: {}", why_of(cx, c)),
        );
    }
    for (f, key, ops) in [
        ("customer.email", "email", &["trim", "lower"][..]),
        ("customer.phone", "phone", &["trim"][..]),
        (
            "customer.address1",
            "address1",
            &["trim", "collapse_spaces"][..],
        ),
        ("customer.city", "city", &["trim"][..]),
        ("customer.postal_code", "postal_code", &["trim"][..]),
    ] {
        if let Some(c) = cx.col(f) {
            let h = cx.s.headers[c].clone();
            cx.g.field(
                Table::Customer,
                key,
                Spec::column(&h).transform(ops),
                format!("{key}: {h:?}: {}", why_of(cx, c)),
            );
        }
    }
    if name.is_none() && number.is_none() {
        cx.g.warnings
            .push("no column for the customer's name or number: the API needs one of them".into());
    }
}

pub(super) fn line_fields(cx: &mut Ctx) {
    let text = |cx: &mut Ctx, key: &str, c: usize, what: &str| {
        let h = cx.s.headers[c].clone();
        let why = why_of(cx, c);
        cx.g.field(
            Table::Line,
            key,
            Spec::column(&h).transform(&["trim", "collapse_spaces"]),
            format!("{key}: {h:?}: {why}{what}"),
        );
    };
    let wide = cx.g.has(Table::Line, "wide");
    let name = cx.col("line.name");
    let desc = cx.col("line.description");
    match (name, desc) {
        (Some(n), d) => {
            text(cx, "name", n, "");
            if let Some(d) = d {
                text(cx, "description", d, "");
            }
        }
        (None, Some(d)) => text(cx, "name", d, " (the only text of the line)"),
        (None, None) if !wide => cx.g.warnings.push(
            "no column for the line's name: the API needs a name or a catalog item on every line"
                .into(),
        ),
        _ => {}
    }
    let amount = |cx: &mut Ctx, key: &str, c: usize, extra: &str| {
        let h = cx.s.headers[c].clone();
        let why = why_of(cx, c);
        let dec = cx.text_decimal(c);
        cx.g.field(
            Table::Line,
            key,
            Spec::column(&h).decimal(dec),
            format!("{key}: {h:?}: {why}{extra}"),
        );
    };
    let qty = cx.col("line.quantity");
    let price = cx.col("line.unit_cost");
    let net = cx.col("line.check_net");
    if let Some(c) = qty {
        amount(cx, "quantity", c, "");
    }
    match (qty, price, net) {
        (_, Some(p), _) => amount(cx, "unit_cost", p, ""),
        (None, None, Some(n)) => {
            amount(
                cx,
                "unit_cost",
                n,
                "; no quantity or price: the net is the line's price",
            );
            cx.g.field(
                Table::Line,
                "quantity",
                Spec::number(1),
                "quantity: 1 (no quantity column)",
            );
        }
        _ if !wide => {
            cx.g.warnings
                .push("no column for the line's unit cost".into())
        }
        _ => {}
    }
    if let (Some(n), Some(_)) = (net, price) {
        amount(cx, "check_net", n, " (checked, not sent)");
    }
    if let Some(c) = cx.col("line.check_vat") {
        amount(cx, "check_vat", c, " (checked, not sent)");
    } else if let Some(t) = cx.col("line.taxes").filter(|&t| {
        let p = &cx.profiles[t];
        p.share(p.id_amount) >= 0.9
    }) {
        let h = cx.s.headers[t].clone();
        // The amount after the id is the VAT of the net, when there is a net.
        let held = net.map(|n| stated_vat(cx, n, t));
        if held.is_none_or(|h| h.holds()) {
            let of = held
                .map(|x| {
                    format!(
                        ": {} × the id's rate {}",
                        cx.s.headers[net.unwrap_or(t)].clone(),
                        x.rows()
                    )
                })
                .unwrap_or_default();
            cx.g.field(
                Table::Line,
                "check_vat",
                Spec::column(&h)
                    .regex(":\\s*(-?[0-9.]+)")
                    .decimal(Some("dot")),
                format!("check_vat: the amount after the id in {h:?}{of} (checked, not sent)"),
            );
        }
    }
    if let Some(c) = cx.col("line.check_gross") {
        amount(cx, "check_gross", c, " (checked, not sent)");
    }
    if let Some(c) = cx.col("line.discount") {
        let h = cx.s.headers[c].clone();
        let p = &cx.profiles[c];
        let spec = if p.share(p.id_amount) >= 0.9 {
            Spec::column(&h).regex(":\\s*(-?[0-9.]+)")
        } else {
            Spec::column(&h).decimal(cx.text_decimal(c))
        };
        cx.g.field(
            Table::Line,
            "discount",
            spec,
            format!("discount: {h:?}: {}", why_of(cx, c)),
        );
    }
    for (f, key) in [("line.metadata.unit", "unit"), ("line.metadata.sku", "sku")] {
        if let Some(c) = cx.col(f) {
            let h = cx.s.headers[c].clone();
            cx.g.field(
                Table::LineMeta,
                key,
                Spec::column(&h).transform(&["trim"]),
                format!("{key}: {h:?}: {}", why_of(cx, c)),
            );
        }
    }
    if let Some(c) = cx.col("payment.amount") {
        let h = cx.s.headers[c].clone();
        let dec = cx.text_decimal(c);
        cx.g.field(
            Table::Payment,
            "amount",
            Spec::column(&h).decimal(dec),
            format!("amount: {h:?}: {}", why_of(cx, c)),
        );
        if let Some(d) = cx.col("payment.date") {
            let (spec, what) = cx.date_spec(d);
            let h = cx.s.headers[d].clone();
            cx.g.field(Table::Payment, "date", spec, format!("date: {h:?}, {what}"));
        }
        if let Some(m) = cx.col("payment.method") {
            let h = cx.s.headers[m].clone();
            let why = format!("method: {h:?}: {}", why_of(cx, m));
            cx.g.field(
                Table::Payment,
                "method",
                Spec::column(&h).transform(&["trim"]),
                why,
            );
        }
    }
}
