//! The line's amounts and VAT: the rate column read into the standard ids
//! (a lookup from the values as written, or the id out of `tva20: 33.75`
//! or out of JSON tax lines), the amount columns by arithmetic (see
//! `amounts`), a constant rate when the VAT is only an amount and is the
//! same share of the net on nearly every row, and wide layouts: repeated
//! columns numbered (`Item 1`, `Item 2`) or named by a VAT rate (`TVA 20%`,
//! `TVA 8%`: a net and a VAT column per rate).

use super::amounts::{self, rate_id, row_rates, Held, Numbers, RateId};
use super::columns::{percent_text, Claim};
use super::decide::Ctx;
use super::render::{q, Spec, Table};
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
fn rate_lookup(cx: &Ctx, header: &str, r: &super::profile::Rates) -> (Spec, String) {
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

/// Columns repeated with a VAT rate in their names (`Valoarea livrărilor
/// 20%`, `TVA 20%`, … `TVA 0%`): the rates and, per pattern, its columns.
fn rate_families(headers: &[String]) -> Option<(Vec<String>, Vec<(String, Vec<usize>)>)> {
    let re = regex::Regex::new(r"^(.*?)(\d{1,2})(\s*%.*)$").ok()?;
    let mut fam: BTreeMap<String, Vec<(String, usize)>> = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        let Some(c) = re.captures(h) else { continue };
        let pct: Decimal = c[2].parse().ok()?;
        if amounts::rate_id(pct, None) == RateId::Unknown {
            continue;
        }
        fam.entry(format!("{}{{n}}{}", &c[1], &c[3]))
            .or_default()
            .push((c[2].to_string(), i));
    }
    fam.retain(|_, v| v.len() >= 2);
    let first = fam.values().next()?;
    let values: Vec<String> = first.iter().map(|(v, _)| v.clone()).collect();
    let fams: Vec<(String, Vec<usize>)> = fam
        .iter()
        .filter(|(_, v)| v.iter().map(|(x, _)| x).eq(values.iter()))
        .map(|(p, v)| (p.clone(), v.iter().map(|(_, i)| *i).collect()))
        .collect();
    (fams.len() >= 2).then_some((values, fams))
}

/// A net and a VAT column per rate: a wide layout with a slot per rate.
pub(super) fn wide_by_rate(cx: &mut Ctx) -> bool {
    let Some((values, fams)) = rate_families(&cx.s.headers) else {
        return false;
    };
    let rows = cx.rows();
    let n = Numbers::new(&rows, cx.s.headers.len(), cx.notation.parse_locale());
    // The family that is the others' rate share is the VAT; the other the net.
    let mut pair = None;
    for (pa, ca) in &fams {
        for (pb, cb) in &fams {
            if pa == pb {
                continue;
            }
            let mut held = Held::default();
            for ((a, b), v) in ca.iter().zip(cb).zip(&values) {
                let pct: Decimal = v.parse().unwrap_or_default();
                let rates = vec![Some(pct); rows.len()];
                let x = n.vat_by_rates(*a, *b, &rates);
                held.ok += x.ok;
                held.of += x.of;
            }
            if held.holds()
                && pair
                    .as_ref()
                    .is_none_or(|(_, _, h): &(_, _, Held)| held.ok > h.ok)
            {
                pair = Some((pa.clone(), pb.clone(), held));
            }
        }
    }
    let Some((net, vat, held)) = pair else {
        return false;
    };
    let list = format!(
        "[{}]",
        values.iter().map(|v| q(v)).collect::<Vec<_>>().join(", ")
    );
    cx.g.set(
        Table::Line,
        "wide",
        format!("{{ values = {list} }}"),
        format!(
            "a net and a VAT column per rate ({}): a line per rate; a rate whose columns are empty makes none",
            values.iter().map(|v| format!("{v}%")).collect::<Vec<_>>().join(", ")
        ),
    );
    cx.g.field(
        Table::Line,
        "name",
        Spec::template(&net),
        "name: the rate's net column's name",
    );
    cx.g.field(
        Table::Line,
        "unit_cost",
        Spec::column(&net),
        format!(
            "unit cost: the net of the rate; {vat:?} is its VAT {}",
            held.rows()
        ),
    );
    cx.g.field(
        Table::Line,
        "taxes",
        Spec::template("tva{n}"),
        "taxes: the slot's rate",
    );
    cx.g.field(
        Table::Line,
        "check_vat",
        Spec::column(&vat),
        "VAT: the rate's VAT column",
    );
    for (_, cols) in &fams {
        for &c in cols {
            cx.taken[c] = Some(Claim {
                field: "line.wide",
                score: 100,
                why: String::new(),
            });
        }
    }
    // A total of every slot's net and VAT is the document's.
    let all: Vec<usize> = fams.iter().flat_map(|(_, c)| c.clone()).collect();
    let cands = cx.amount_candidates();
    for t in cands {
        let mut h = Held::default();
        for r in 0..rows.len() {
            let Some(total) = n.cols[t][r] else { continue };
            h.of += 1;
            let sum = all
                .iter()
                .filter_map(|&c| n.cols[c][r])
                .try_fold(Decimal::ZERO, |s, v| s.checked_add(v));
            if sum.is_some_and(|s| (s - total).abs() <= Decimal::new(1, 2)) {
                h.ok += 1;
            }
        }
        if h.holds() {
            let header = cx.s.headers[t].clone();
            cx.claim(
                t,
                "invoice.check_total",
                format!(
                    "the document's total: the sum of the rates' nets and VAT {}",
                    h.rows()
                ),
            );
            let _ = header;
            break;
        }
    }
    true
}

/// Numbered repeated line columns (`Produs 1`, `Cant. 1`, … `Produs 3`):
/// the range and each field's pattern with `{n}`, the field chosen by the
/// name without the number and by the values of the columns.
pub(super) fn wide_numbered(cx: &mut Ctx) -> bool {
    let Ok(re) = regex::Regex::new(r"^(.*?)(\s*)(\d+)(\s*)$") else {
        return false;
    };
    let mut by_pattern: Vec<(String, String, Vec<(i64, usize)>)> = Vec::new();
    for (i, h) in cx.s.headers.iter().enumerate() {
        let Some(c) = re.captures(h) else { continue };
        if c[1].trim().is_empty() {
            continue;
        }
        let Ok(n) = c[3].parse::<i64>() else { continue };
        let pattern = format!("{}{}{{n}}{}", &c[1], &c[2], &c[4]);
        match by_pattern.iter_mut().find(|(p, _, _)| *p == pattern) {
            Some((_, _, ns)) => ns.push((n, i)),
            None => by_pattern.push((pattern, c[1].trim().to_string(), vec![(n, i)])),
        }
    }
    by_pattern.retain(|(_, _, ns)| ns.len() >= 2);
    let rows = cx.rows();
    let mut chosen: Vec<(
        &'static str,
        String,
        Vec<(i64, usize)>,
        super::profile::Profile,
    )> = Vec::new();
    for (pattern, base, ns) in by_pattern {
        // The family's values together.
        let mut p = super::profile::Profile::default();
        for r in rows.iter() {
            for (_, c) in &ns {
                p.add(r.cell(*c));
            }
        }
        let cells: Vec<&crate::read::Cell> = rows
            .iter()
            .flat_map(|r| ns.iter().map(move |(_, c)| r.cell(*c)))
            .collect();
        p.note_notation(&cells, &cx.notation);
        let field = super::vocabulary::FIELDS
            .iter()
            .filter(|f| f.starts_with("line.") && !f.starts_with("line.metadata"))
            .filter(|f| !chosen.iter().any(|(x, _, _, _)| x == *f))
            .filter_map(|f| score(&base, f).map(|m| (m.score, *f)))
            .filter(|(s, f)| *s >= 20 && super::columns::fits(f, &p).is_some())
            .max()
            .map(|(_, f)| f);
        if let Some(f) = field {
            chosen.push((f, pattern, ns, p));
        }
    }
    if !chosen
        .iter()
        .any(|(f, ..)| matches!(*f, "line.name" | "line.quantity" | "line.unit_cost"))
    {
        return false;
    }
    let all = chosen
        .iter()
        .flat_map(|(_, _, ns, _)| ns.iter().map(|x| x.0));
    let (from, to) = (all.clone().min().unwrap_or(1), all.max().unwrap_or(1));
    cx.g.set(
        Table::Line,
        "wide",
        format!("{{ from = {from}, to = {to} }}"),
        format!("line columns repeated with a number, {from} to {to}: a line per number"),
    );
    for (field, pattern, ns, p) in &chosen {
        let key = field.trim_start_matches("line.");
        let why = format!("{key}: {pattern:?}, {} columns", ns.len());
        if key == "taxes" {
            if let Some(r) = p.rates() {
                let (spec, w) = rate_lookup(cx, pattern, &r);
                cx.g.field(
                    Table::Line,
                    key,
                    spec,
                    format!("{w} ({} columns)", ns.len()),
                );
            }
        } else if matches!(key, "name" | "description") {
            cx.g.field(
                Table::Line,
                key,
                Spec::column(pattern).transform(&["trim", "collapse_spaces"]),
                why,
            );
        } else {
            let dec =
                (p.text_cells > 0 && cx.notation.locale.is_some()).then(|| cx.notation.name());
            cx.g.field(Table::Line, key, Spec::column(pattern).decimal(dec), why);
        }
        for (_, c) in ns {
            cx.taken[*c] = Some(Claim {
                field: "line.wide",
                score: 100,
                why: String::new(),
            });
        }
    }
    true
}
