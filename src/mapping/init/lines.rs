//! The line's amounts and VAT: the rate column read into the standard ids
//! (a lookup from the values as written, or the id out of `tva20: 33.75`
//! or out of JSON tax lines), the amount columns by arithmetic (see
//! `amounts`), a constant rate when the VAT is only an amount and is the
//! same share of the net on nearly every row, and wide layouts: repeated
//! columns numbered (`Item 1`, `Item 2`) or named by a VAT rate (`TVA 20%`,
//! `TVA 8%`: a net and a VAT column per rate).

use super::amounts::{self, rate_id, row_rates, Held, Numbers, RateId};
use super::columns::percent_text;
use super::decide::Ctx;
use super::render::{Spec, Table};
use super::vocabulary::score;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The rate column, if any: its lookup (or regex) written, and each row's
/// percent for the arithmetic.
pub(super) fn taxes(cx: &mut Ctx, col: usize) -> Vec<Option<Decimal>> {
    let rows = cx.rows();
    let p = &cx.profiles[col];
    let header = cx.s.headers[col].clone();
    if p.share(p.id_amount) >= 0.9 {
        // `tva20: 33.75`: the id before the colon is the rate's own id.
        let table = crate::model::vat::VatTable::default();
        let rates = rows
            .iter()
            .map(|r| {
                let t = r.cell(col).as_text();
                let id = t.split(':').next().unwrap_or("").trim().to_string();
                table.get(&id).map(|x| x.value)
            })
            .collect();
        cx.g.field(
            Table::Line,
            "taxes",
            Spec::column(&header).regex("^\\s*([A-Za-z0-9_]+)\\s*:"),
            format!("taxes: {header:?} holds rate ids with their amounts (`tva20: 33.75`): the id"),
        );
        return rates;
    }
    if p.share(p.json_arrays) >= 0.8 {
        return json_rates(cx, col);
    }
    let Some(r) = p.rates() else {
        return Vec::new();
    };
    let (spec, why) = rate_lookup(cx, &header, &r);
    cx.g.field(Table::Line, "taxes", spec, why);
    row_rates(&rows, col, &r)
}

/// A rate column's values as a lookup to the standard ids (the ones that
/// are no Moldovan rate, or not in force on the file's dates, left out).
pub(super) fn rate_lookup(cx: &Ctx, header: &str, r: &super::profile::Rates) -> (Spec, String) {
    let mut pairs = Vec::new();
    let mut left = Vec::new();
    let mut why = Vec::new();
    for (text, pct, _) in &r.percents {
        match rate_id(*pct, cx.dates) {
            RateId::Id(id) => pairs.push((text.clone(), id)),
            RateId::Unknown => left.push(format!(
                "{text:?} ({}%) is not a Moldovan VAT rate",
                percent_text(*pct)
            )),
            RateId::OutOfForce(id) => left.push(format!(
                "{text:?} is {id}, in force on no date of this file"
            )),
        }
    }
    for e in &r.exempt {
        pairs.push((e.clone(), "exempt".into()));
    }
    let shown: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} → {v}")).collect();
    why.push(format!(
        "taxes: {header:?} holds VAT rates{}: {}",
        if r.fractions { " as fractions" } else { "" },
        shown.join(", ")
    ));
    if !left.is_empty() {
        why.push(format!(
            "left out of the lookup (rows with them are reported as not_in_lookup): {}",
            left.join("; ")
        ));
    }
    (
        Spec::column(header).transform(&["trim"]).lookup(&pairs),
        why.join("\n"),
    )
}

/// Tax lines as JSON text (`[{"title":"TVA 8%","rate":0.08}]`): the rate
/// field inside them, as a fraction or a percent.
fn json_rates(cx: &mut Ctx, col: usize) -> Vec<Option<Decimal>> {
    let rows = cx.rows();
    let header = cx.s.headers[col].clone();
    let mut seen: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let mut per_row: Vec<Option<serde_json::Value>> = Vec::new();
    for r in rows.iter() {
        let v = serde_json::from_str::<serde_json::Value>(&r.cell(col).as_text()).ok();
        if let Some(first) = v
            .as_ref()
            .and_then(|v| v.as_array())
            .and_then(|a| a.first())
        {
            if let Some(o) = first.as_object() {
                for (k, x) in o {
                    if x.is_number() {
                        *seen
                            .entry(k.clone())
                            .or_default()
                            .entry(x.to_string())
                            .or_default() += 1;
                    }
                }
            }
        }
        per_row.push(v);
    }
    let key = ["rate", "tax_rate", "vat_rate", "percent", "percentage"]
        .into_iter()
        .find(|k| seen.contains_key(*k));
    let Some(key) = key else {
        return Vec::new();
    };
    let values = &seen[key];
    let fractions = values
        .keys()
        .filter_map(|v| v.parse::<Decimal>().ok())
        .all(|v| v <= Decimal::ONE);
    let mut pairs = Vec::new();
    let mut left = Vec::new();
    for v in values.keys() {
        let Some(p) = super::profile::rate_percent(v, fractions) else {
            continue;
        };
        match rate_id(p, cx.dates) {
            RateId::Id(id) => pairs.push((v.clone(), id)),
            _ => left.push(v.clone()),
        }
    }
    let mut why = format!(
        "taxes: {header:?} holds tax lines as JSON; their {key:?} is the rate{}: {}",
        if fractions { " as a fraction" } else { "" },
        pairs
            .iter()
            .map(|(k, v)| format!("{k} → {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !left.is_empty() {
        why.push_str(&format!(
            "\nleft out of the lookup (not Moldovan rates): {}",
            left.join(", ")
        ));
    }
    cx.g.field(
        Table::Line,
        "taxes",
        Spec::column(&header)
            .regex(&format!("\"{key}\"\\s*:\\s*([0-9.]+)"))
            .lookup(&pairs),
        why,
    );
    per_row
        .iter()
        .map(|v| {
            let x = v.as_ref()?.as_array()?.first()?.get(key)?;
            super::profile::rate_percent(&x.to_string(), fractions)
        })
        .collect()
}

/// Name evidence that a column is `field`.
fn named(cx: &Ctx, col: usize, field: &str) -> u32 {
    score(&cx.s.headers[col], field).map_or(0, |m| m.score)
}

/// Claim the amount columns by arithmetic; `rates` is each row's percent
/// from the rate column (empty: none).
pub(super) fn amounts(cx: &mut Ctx, rates: &[Option<Decimal>]) {
    let cands = cx.amount_candidates();
    if cands.len() < 2 {
        return;
    }
    let rows = cx.rows();
    let n = Numbers::new(&rows, cx.s.headers.len(), cx.notation.parse_locale());
    let headers = cx.s.headers.clone();
    let h = |c: usize| headers[c].clone();
    // quantity × price ≈ net
    let found = amounts::product(&n, &cands);
    let best = found.iter().max_by_key(|(a, b, c, held)| {
        let names = (named(cx, *a, "line.quantity") + named(cx, *b, "line.unit_cost"))
            .max(named(cx, *b, "line.quantity") + named(cx, *a, "line.unit_cost"))
            + named(cx, *c, "line.check_net");
        (held.ok, names)
    });
    let mut net = None;
    if let Some(&(a, b, c, held)) = best {
        let ints = |x: usize| {
            n.cols[x]
                .iter()
                .flatten()
                .filter(|v| v.fract().is_zero())
                .count()
        };
        let ab = named(cx, a, "line.quantity") + named(cx, b, "line.unit_cost");
        let ba = named(cx, b, "line.quantity") + named(cx, a, "line.unit_cost");
        let (qty, price) = if ab > ba || (ab == ba && ints(a) >= ints(b)) {
            (a, b)
        } else {
            (b, a)
        };
        let rel = format!("= {:?} × {:?} {}", h(qty), h(price), held.rows());
        cx.claim(
            qty,
            "line.quantity",
            format!("times {:?} it gives {:?} {}", h(price), h(c), held.rows()),
        );
        cx.claim(
            price,
            "line.unit_cost",
            format!("{:?} times it gives {:?} {}", h(qty), h(c), held.rows()),
        );
        cx.claim(c, "line.check_net", format!("the net {rel}"));
        net = Some(c);
    }
    let cands = cx.amount_candidates();
    let pcts = amounts::standard_percents();
    // net × rate ≈ vat, net + vat ≈ gross; without a product, the three
    // found together.
    let mut vat = None;
    if let Some(nc) = net {
        vat = find_vat(cx, &n, nc, &cands, rates, &pcts);
    } else {
        let mut best: Option<(usize, usize, usize, Held)> = None;
        for &a in &cands {
            for &b in &cands {
                for &c in &cands {
                    if a == b || b == c || a == c {
                        continue;
                    }
                    let s = n.sum(a, b, c);
                    if !s.holds() {
                        continue;
                    }
                    let v = vat_held(&n, a, b, rates, &pcts);
                    if v.holds() && best.as_ref().is_none_or(|x| s.ok > x.3.ok) {
                        best = Some((a, b, c, s));
                    }
                }
            }
        }
        if let Some((a, b, c, s)) = best {
            cx.claim(
                a,
                "line.check_net",
                format!("the net: plus {:?} it gives {:?} {}", h(b), h(c), s.rows()),
            );
            net = Some(a);
            vat = find_vat(cx, &n, a, &[b], rates, &pcts);
        }
    }
    if let (Some(nc), Some(vc)) = (net, vat) {
        let cands = cx.amount_candidates();
        let found = cands
            .iter()
            .map(|&g| (g, n.sum(nc, vc, g)))
            .filter(|(_, s)| s.holds())
            .max_by_key(|(g, s)| (s.ok, named(cx, *g, "line.check_gross")));
        if let Some((g, s)) = found {
            cx.claim(
                g,
                "line.check_gross",
                format!("the gross = {:?} + {:?} {}", h(nc), h(vc), s.rows()),
            );
        }
    }
}

fn vat_held(
    n: &Numbers,
    net: usize,
    vat: usize,
    rates: &[Option<Decimal>],
    pcts: &[Decimal],
) -> Held {
    if rates.iter().any(Option::is_some) {
        n.vat_by_rates(net, vat, rates)
    } else {
        n.vat_by_ratio(net, vat, pcts).0
    }
}

/// The VAT column of net `nc`: by each row's rate, or by a standard rate;
/// with no rate column, a rate the same on nearly every row is the line's.
fn find_vat(
    cx: &mut Ctx,
    n: &Numbers,
    nc: usize,
    cands: &[usize],
    rates: &[Option<Decimal>],
    pcts: &[Decimal],
) -> Option<usize> {
    let headers = cx.s.headers.clone();
    let h = |c: usize| headers[c].clone();
    if rates.iter().any(Option::is_some) {
        let (vc, held) = cands
            .iter()
            .map(|&v| (v, n.vat_by_rates(nc, v, rates)))
            .filter(|(_, x)| x.holds())
            .max_by_key(|(v, x)| (x.ok, named(cx, *v, "line.check_vat")))?;
        cx.claim(
            vc,
            "line.check_vat",
            format!("the VAT = {:?} × the rate {}", h(nc), held.rows()),
        );
        return Some(vc);
    }
    let (vc, (held, per)) = cands
        .iter()
        .map(|&v| (v, n.vat_by_ratio(nc, v, pcts)))
        .filter(|(_, (x, _))| x.holds())
        .max_by_key(|(v, (x, _))| (x.ok, named(cx, *v, "line.check_vat")))?;
    let (i, most) = per.iter().enumerate().max_by_key(|(_, k)| **k)?;
    if *most as f64 >= amounts::AGREE * held.of as f64 && !cx.g.has(Table::Line, "taxes") {
        let pct = pcts[i];
        if let RateId::Id(id) = rate_id(pct, cx.dates) {
            cx.g.field(
                Table::Line,
                "taxes",
                Spec::value(&id),
                format!(
                    "taxes: no rate column, but {:?} is {}% of {:?} on {} of {} rows",
                    h(vc),
                    percent_text(pct),
                    h(nc),
                    most,
                    held.of
                ),
            );
        }
    } else if !cx.g.has(Table::Line, "taxes") {
        cx.g.warnings.push(format!(
            "no rate column, and {:?} is not the same share of {:?} on every row: add taxes",
            h(vc),
            h(nc)
        ));
    }
    cx.claim(
        vc,
        "line.check_vat",
        format!("the VAT: a standard rate of {:?} {}", h(nc), held.rows()),
    );
    Some(vc)
}
