//! Amount columns told apart by arithmetic, row by row, whatever their
//! names: `quantity × price ≈ net`, `net × rate ≈ VAT`, `net + VAT ≈ gross`
//! (each within a ban, 0.01, on at least [`AGREE`] of the rows that have the
//! cells), and VAT rates as written mapped to the standard ids
//! ([`rate_ids`]: `tva20`, `tva8`, `tva0`, and `tva12` only when the file
//! has dates on which it was in force; never an id of a rate Moldova does
//! not have). All arithmetic is on decimals, checked.

use super::profile::{rate_percent, Rates};
use crate::mapping::transform::{parse_decimal, DecimalLocale};
use crate::model::vat::VatTable;
use crate::read::{Cell, SourceRow};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// The share of rows a relation must hold on.
pub(super) const AGREE: f64 = 0.9;

/// Rows a relation is tried on, at most.
const TRIED: usize = 400;

/// A cell as a number: number cells as they are, text in `locale`.
pub(super) fn num(cell: &Cell, locale: DecimalLocale) -> Option<Decimal> {
    match cell {
        Cell::Number(s) => parse_decimal(s, DecimalLocale::Dot),
        Cell::Text(s) if !s.trim().is_empty() => parse_decimal(s, locale),
        _ => None,
    }
}

/// How often a relation held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Held {
    pub(super) ok: usize,
    pub(super) of: usize,
}

impl Held {
    pub(super) fn holds(&self) -> bool {
        self.of > 0 && self.ok as f64 >= AGREE * self.of as f64
    }

    /// `on 121 of 121 rows`.
    pub(super) fn rows(&self) -> String {
        format!("on {} of {} rows", self.ok, self.of)
    }
}

/// Within a ban, after rounding to bans.
fn near(a: Decimal, b: Decimal) -> bool {
    let a = a.round_dp(2);
    (a - b).abs() <= Decimal::new(1, 2)
}

/// The numbers of the columns, row by row.
pub(super) struct Numbers {
    pub(super) cols: Vec<Vec<Option<Decimal>>>,
}

impl Numbers {
    pub(super) fn new(rows: &[SourceRow], width: usize, locale: DecimalLocale) -> Numbers {
        let cols = (0..width)
            .map(|c| rows.iter().map(|r| num(r.cell(c), locale)).collect())
            .collect();
        Numbers { cols }
    }

    fn rows(&self) -> usize {
        self.cols.first().map_or(0, Vec::len)
    }

    /// How often `test` holds over the rows where `cols` all have numbers.
    fn held(&self, cols: &[usize], mut test: impl FnMut(&[Decimal], usize) -> bool) -> Held {
        let mut h = Held::default();
        let mut vals = Vec::with_capacity(cols.len());
        for r in 0..self.rows() {
            vals.clear();
            for &c in cols {
                match self.cols[c][r] {
                    Some(v) => vals.push(v),
                    None => break,
                }
            }
            if vals.len() < cols.len() {
                continue;
            }
            h.of += 1;
            if test(&vals, r) {
                h.ok += 1;
            }
            if h.of == TRIED {
                break;
            }
        }
        h
    }

    /// Whether column `c` is the same number on every row (a quantity of 1).
    fn constant(&self, c: usize) -> bool {
        let mut vals = self.cols[c].iter().flatten();
        match vals.next() {
            Some(first) => vals.all(|v| v == first),
            None => true,
        }
    }

    /// `a × b ≈ c`.
    pub(super) fn product(&self, a: usize, b: usize, c: usize) -> Held {
        self.held(&[a, b, c], |v, _| {
            v[0].checked_mul(v[1]).is_some_and(|p| near(p, v[2]))
        })
    }

    /// `a + b ≈ c`.
    pub(super) fn sum(&self, a: usize, b: usize, c: usize) -> Held {
        self.held(&[a, b, c], |v, _| {
            v[0].checked_add(v[1]).is_some_and(|s| near(s, v[2]))
        })
    }

    /// `net × rate ≈ vat` with the rate of each row (percent; None: no rate).
    pub(super) fn vat_by_rates(&self, net: usize, vat: usize, rates: &[Option<Decimal>]) -> Held {
        self.held(&[net, vat], |v, r| match rates.get(r).copied().flatten() {
            Some(p) => v[0]
                .checked_mul(p)
                .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
                .is_some_and(|x| near(x, v[1])),
            None => false,
        })
    }

    /// `net × q ≈ vat` for one of the standard percents `qs`: how often, and
    /// how often each percent fitted.
    pub(super) fn vat_by_ratio(
        &self,
        net: usize,
        vat: usize,
        qs: &[Decimal],
    ) -> (Held, Vec<usize>) {
        let mut per = vec![0usize; qs.len()];
        let h = self.held(&[net, vat], |v, _| {
            if v[0].is_zero() {
                return false;
            }
            match qs.iter().position(|q| {
                v[0].checked_mul(*q)
                    .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
                    .is_some_and(|x| near(x, v[1]))
            }) {
                Some(i) => {
                    per[i] += 1;
                    true
                }
                None => false,
            }
        });
        (h, per)
    }
}

/// `quantity × price ≈ net` among `cands`: (quantity, price, net, held),
/// the pair in either order (names and values tell them apart later).
/// A pair where one side is the same on every row is taken only when no
/// other holds (a quantity of 1 makes price and net the same column).
pub(super) fn product(n: &Numbers, cands: &[usize]) -> Vec<(usize, usize, usize, Held)> {
    let mut found = Vec::new();
    for (i, &a) in cands.iter().enumerate() {
        for &b in &cands[i + 1..] {
            for &c in cands {
                if c == a || c == b {
                    continue;
                }
                let h = n.product(a, b, c);
                if h.holds() && h.of >= 2 {
                    found.push((a, b, c, h));
                }
            }
        }
    }
    let plain: Vec<_> = found
        .iter()
        .filter(|(a, b, _, _)| !n.constant(*a) && !n.constant(*b))
        .cloned()
        .collect();
    if plain.is_empty() {
        found
    } else {
        plain
    }
}

/// The standard percents (from the VAT table), highest first.
pub(super) fn standard_percents() -> Vec<Decimal> {
    let mut v: Vec<Decimal> = VatTable::default().rates.iter().map(|r| r.value).collect();
    v.sort_by(|a, b| b.cmp(a));
    v.dedup();
    v
}

/// A rate column's percent on each row (exempt: 0).
pub(super) fn row_rates(rows: &[SourceRow], col: usize, rates: &Rates) -> Vec<Option<Decimal>> {
    rows.iter()
        .map(|r| {
            let t = r.cell(col).as_text();
            let t = t.trim();
            if rates.exempt.iter().any(|e| e == t) {
                Some(Decimal::ZERO)
            } else {
                rate_percent(t, rates.fractions)
            }
        })
        .collect()
}

/// A VAT rate value mapped to an id, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RateId {
    Id(String),
    /// Not a rate Moldova has (`19%`).
    Unknown,
    /// A rate whose period ends before (or starts after) every date of
    /// the file (`tva12` in a file of 2025-03 onwards).
    OutOfForce(String),
}

/// The id of the rate `percent`, given the file's date range (None: no
/// dates): the one in force on some day of it.
pub(super) fn rate_id(percent: Decimal, dates: Option<(NaiveDate, NaiveDate)>) -> RateId {
    let table = VatTable::default();
    let ids: Vec<_> = table.rates.iter().filter(|r| r.value == percent).collect();
    if ids.is_empty() {
        return RateId::Unknown;
    }
    for r in &ids {
        let overlaps = dates.is_none_or(|(lo, hi)| {
            r.from.is_none_or(|f| f <= hi) && r.until.is_none_or(|u| lo <= u)
        });
        if overlaps {
            return RateId::Id(r.id.clone());
        }
    }
    RateId::OutOfForce(ids[0].id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RowRef;
    use std::sync::Arc;

    fn rows(vals: &[&[&str]]) -> Vec<SourceRow> {
        vals.iter()
            .enumerate()
            .map(|(i, r)| SourceRow {
                at: RowRef {
                    file: Arc::from("t"),
                    sheet: None,
                    row: i as u64 + 2,
                },
                cells: r.iter().map(|v| Cell::Text((*v).into())).collect(),
            })
            .collect()
    }

    #[test]
    fn products_sums_and_vat_by_ratio() {
        // qty, price, net, vat, gross (a decimal comma), one typo in net.
        let rs = rows(&[
            &["2", "1 000,50", "2 001,00", "400,20", "2 401,20"],
            &["3", "10,00", "30,00", "6,00", "36,00"],
            &["1,5", "4,00", "6,00", "0,48", "6,48"],
            &["7", "3,00", "21,00", "4,20", "25,20"],
            &["4", "2,50", "10,00", "2,00", "12,00"],
            &["5", "2,00", "10,00", "2,00", "12,00"],
            &["6", "2,00", "12,00", "2,40", "14,40"],
            &["8", "2,00", "16,00", "3,20", "19,20"],
            &["9", "2,00", "18,00", "3,60", "21,60"],
            &["10", "2,00", "20,00", "4,00", "24,00"],
            &["2", "2,00", "5,00", "1,00", "6,00"],
        ]);
        let n = Numbers::new(&rs, 5, DecimalLocale::Ru);
        let found = product(&n, &[0, 1, 2, 3, 4]);
        assert!(found
            .iter()
            .any(|(a, b, c, h)| (*a, *b, *c) == (0, 1, 2) && h.ok == 10 && h.of == 11));
        assert!(n.sum(2, 3, 4).holds());
        let (h, per) = n.vat_by_ratio(2, 3, &standard_percents());
        assert!(h.holds());
        let pcts = standard_percents();
        let eight = pcts.iter().position(|p| *p == Decimal::from(8)).unwrap();
        assert_eq!(per[eight], 1);
    }

    #[test]
    fn rate_ids_by_value_and_date() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        assert_eq!(rate_id(Decimal::from(20), None), RateId::Id("tva20".into()));
        assert_eq!(rate_id(Decimal::from(19), None), RateId::Unknown);
        assert_eq!(
            rate_id(Decimal::from(12), Some((d(2024, 9, 1), d(2025, 5, 1)))),
            RateId::Id("tva12".into())
        );
        assert_eq!(
            rate_id(Decimal::from(12), Some((d(2025, 3, 1), d(2025, 6, 1)))),
            RateId::OutOfForce("tva12".into())
        );
    }
}
