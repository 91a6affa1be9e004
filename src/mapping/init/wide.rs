//! Wide layouts, several lines in one row: columns repeated with a number
//! (`Produs 1`, `Cant. 1`, … `Produs 3`), each family given the line field
//! its name and values fit; or a net and a VAT column per VAT rate (`Valoarea
//! livrărilor 20%`, `TVA 20%`, … `0%`), the slots named by the rates and the
//! net told from the VAT by arithmetic, with a column that is the sum of
//! every slot taken for the document's total.

use super::amounts::{self, Held, Numbers, RateId};
use super::columns::Claim;
use super::decide::Ctx;
use super::lines::rate_lookup;
use super::profile::Profile;
use super::render::{q, Spec, Table};
use super::vocabulary::score;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// A column pattern with `{n}` and its columns.
type Family = (String, Vec<usize>);

/// A numbered pattern, its name without the number, and its (n, column)s.
type Numbered = (String, String, Vec<(i64, usize)>);

/// A numbered pattern given a field: the field, the pattern, its columns
/// and their values together.
type Chosen = (&'static str, String, Vec<(i64, usize)>, Profile);

/// Columns repeated with a VAT rate in their names (`Valoarea livrărilor
/// 20%`, `TVA 20%`, … `TVA 0%`): the rates and, per pattern, its columns.
fn rate_families(headers: &[String]) -> Option<(Vec<String>, Vec<Family>)> {
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
    let mut by_pattern: Vec<Numbered> = Vec::new();
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
    let mut chosen: Vec<Chosen> = Vec::new();
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
