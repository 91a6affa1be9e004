//! What a column's values look like, counted over the sample rows: dates
//! in each notation (day or month first decided by the values), numbers
//! written as text in each decimal notation, whole numbers, IDNOs with a
//! valid check digit, currency and country codes, VAT rates as percents or
//! fractions, e-mail addresses, `id: amount` pairs, JSON arrays, a running
//! row number. [`Profile`] is one column's counts; [`Notation`] the decimal
//! notation the whole file's text numbers agree on.

use super::vocabulary::{currency_by_name, is_exempt_word, COUNTRIES, CURRENCIES};
use crate::mapping::transform::{parse_decimal, DecimalLocale};
use crate::read::Cell;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// Text date notations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum DateShape {
    /// `31.12.2024` (a time may follow)
    DayDot,
    /// `31.12.24`
    DayDotShort,
    /// `31/12/2024` or `12/31/2024`: decided by [`Profile::day_first`].
    Slash,
    /// `2024-12-31` (a time, `T…` and an offset may follow)
    Iso,
    /// `31-12-2024`
    DayDash,
}

impl DateShape {
    /// The mapping's date format for this shape.
    pub(super) fn format(self, day_first: bool) -> &'static str {
        match self {
            DateShape::DayDot => "%d.%m.%Y",
            DateShape::DayDotShort => "%d.%m.%y",
            DateShape::Slash if day_first => "%d/%m/%Y",
            DateShape::Slash => "%m/%d/%Y",
            DateShape::Iso => "iso",
            DateShape::DayDash => "%d-%m-%Y",
        }
    }

    /// For people: `dd.mm.yyyy`.
    pub(super) fn describe(self, day_first: bool) -> &'static str {
        match self {
            DateShape::DayDot => "dd.mm.yyyy",
            DateShape::DayDotShort => "dd.mm.yy",
            DateShape::Slash if day_first => "dd/mm/yyyy",
            DateShape::Slash => "mm/dd/yyyy",
            DateShape::Iso => "yyyy-mm-dd",
            DateShape::DayDash => "dd-mm-yyyy",
        }
    }
}

static DATE_RE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"^(?:(\d{1,2})\.(\d{1,2})\.(\d{4})|(\d{1,2})\.(\d{1,2})\.(\d{2})|(\d{1,2})/(\d{1,2})/(\d{4})|(\d{4})-(\d{2})-(\d{2})|(\d{1,2})-(\d{1,2})-(\d{4}))(?:$|[ T]\d{1,2}:\d{2})",
    )
    .expect("the date shapes regex")
});

/// A text date's shape, and for `/` dates which part can only be the day
/// (`Some(true)`: the first is above 12; `Some(false)`: the second).
fn date_shape(s: &str) -> Option<(DateShape, Option<bool>)> {
    let c = DATE_RE.captures(s.trim())?;
    let n = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    if c.get(1).is_some() {
        return Some((DateShape::DayDot, None));
    }
    if c.get(4).is_some() {
        return Some((DateShape::DayDotShort, None));
    }
    if let (Some(a), Some(b)) = (n(7), n(8)) {
        let side = match (a > 12, b > 12) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        };
        return Some((DateShape::Slash, side));
    }
    if c.get(10).is_some() {
        return Some((DateShape::Iso, None));
    }
    Some((DateShape::DayDash, None))
}

/// How a number written as text uses `,` and `.`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumShape {
    /// No separator: `1234`, `1 234`.
    Int,
    /// `1234,5`, `1 234,56`: a comma with other than 3 digits after it.
    CommaDecimal,
    /// `1234.5`: a dot with other than 3 digits after it.
    DotDecimal,
    /// `1,000`: a comma and 3 digits (a decimal in 1C, thousands in English).
    Comma3,
    /// `1.250`: a dot and 3 digits (a decimal in English, thousands in Romanian).
    Dot3,
    /// `1.234,56`, `1.234.567`.
    DotGroups,
    /// `1,234.56`, `1,234,567`.
    CommaGroups,
}

fn num_shape(s: &str) -> Option<NumShape> {
    let t = s
        .trim()
        .trim_start_matches(['-', '+', '('])
        .trim_end_matches([')', '%', '-']);
    if t.is_empty()
        || !t.bytes().next().is_some_and(|b| b.is_ascii_digit())
        || !t.chars().all(|c| {
            c.is_ascii_digit() || matches!(c, ',' | '.' | ' ' | '\u{a0}' | '\u{202f}' | '\'')
        })
    {
        return None;
    }
    let commas = t.matches(',').count();
    let dots = t.matches('.').count();
    let after = |sep: char| t.rsplit(sep).next().map_or(0, |x| x.len());
    Some(match (commas, dots) {
        (0, 0) => NumShape::Int,
        (1, 0) if after(',') == 3 => NumShape::Comma3,
        (1, 0) => NumShape::CommaDecimal,
        (0, 1) if after('.') == 3 => NumShape::Dot3,
        (0, 1) => NumShape::DotDecimal,
        (_, 0) => NumShape::CommaGroups,
        (0, _) => NumShape::DotGroups,
        _ if t.rfind(',') > t.rfind('.') => NumShape::DotGroups,
        _ => NumShape::CommaGroups,
    })
}

/// The decimal notation a file's text numbers agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Notation {
    pub(super) locale: Option<DecimalLocale>,
    /// Why, for the evidence comment.
    pub(super) why: &'static str,
}

impl Notation {
    /// The mapping's name of the notation.
    pub(super) fn name(&self) -> &'static str {
        match self.locale {
            Some(DecimalLocale::Ru) => "ru",
            Some(DecimalLocale::Ro) => "ro",
            Some(DecimalLocale::En) => "en",
            Some(DecimalLocale::Dot) => "dot",
            Some(DecimalLocale::Comma) => "comma",
            _ => "auto",
        }
    }

    pub(super) fn parse_locale(&self) -> DecimalLocale {
        self.locale.unwrap_or(DecimalLocale::Auto)
    }
}

/// A VAT rate as written: a percent (`20%`, `20`, `VAT 20%`) or a fraction
/// (`0.2`); its percent value.
pub(super) fn rate_percent(s: &str, fractions: bool) -> Option<Decimal> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    // `VAT 20%`, `TVA 8% HoReCa`: the number before a `%`.
    static PCT: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"(\d{1,2}(?:[.,]\d+)?)\s*%").expect("the percent regex")
    });
    if let Some(c) = PCT.captures(t) {
        return parse_decimal(&c[1], DecimalLocale::Auto).map(|d| d.normalize());
    }
    let v = parse_decimal(t, DecimalLocale::Auto)?;
    if fractions {
        v.checked_mul(Decimal::ONE_HUNDRED).map(|d| d.normalize())
    } else {
        Some(v.normalize())
    }
}

/// One column's counts over the sample.
#[derive(Debug, Clone, Default)]
pub(super) struct Profile {
    /// Rows looked at.
    pub(super) rows: usize,
    /// Non-blank cells.
    pub(super) filled: usize,
    pub(super) number_cells: usize,
    pub(super) date_cells: usize,
    pub(super) text_cells: usize,
    pub(super) bool_cells: usize,
    /// Text cells that read as numbers in the file's notation (set by
    /// [`Profile::note_notation`]).
    pub(super) text_numbers: usize,
    shapes: BTreeMap<DateShape, usize>,
    pub(super) day_first: usize,
    pub(super) month_first: usize,
    nums: Vec<NumShape>,
    pub(super) integers: usize,
    pub(super) idno_valid: usize,
    pub(super) idno_like: usize,
    /// `MD1003600150117`.
    pub(super) idno_md: usize,
    /// `DE811569869`: a country prefix and digits.
    pub(super) foreign_tax: usize,
    pub(super) currency_codes: usize,
    pub(super) currency_names: usize,
    pub(super) countries: usize,
    pub(super) emails: usize,
    pub(super) letters: usize,
    /// `tva20: 33.75`.
    pub(super) id_amount: usize,
    /// Of those, with the id of a rate in the VAT table.
    pub(super) rate_id_amount: usize,
    /// `[{"rate": 0.2, ...}]`.
    pub(super) json_arrays: usize,
    /// `[OFF-0027] Office chair`.
    pub(super) bracket_code: usize,
    pub(super) exempt_words: usize,
    /// Values ending in `%`.
    pub(super) percent_signs: usize,
    /// Distinct values as text (at most [`DISTINCT`]), with their counts.
    pub(super) distinct: BTreeMap<String, usize>,
    /// More distinct values than [`DISTINCT`].
    pub(super) many: bool,
    /// Whole numbers going up by one from row to row.
    pub(super) steps: usize,
    last_int: Option<i64>,
}

/// The ids of the VAT table's rates, and `exempt`.
static RATE_IDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut ids: Vec<String> = crate::model::vat::VatTable::default()
        .rates
        .into_iter()
        .map(|r| r.id)
        .collect();
    ids.push("exempt".into());
    ids
});

/// Distinct values kept per column.
pub(super) const DISTINCT: usize = 60;

impl Profile {
    pub(super) fn add(&mut self, cell: &Cell) {
        self.rows += 1;
        if cell.is_blank() {
            self.last_int = None;
            return;
        }
        self.filled += 1;
        let text = cell.as_text();
        let t = text.trim();
        match cell {
            Cell::Number(_) => self.number_cells += 1,
            Cell::Date(_) | Cell::DateTime(_) => self.date_cells += 1,
            Cell::Bool(_) => self.bool_cells += 1,
            _ => self.text_cells += 1,
        }
        if !self.many {
            *self.distinct.entry(t.to_string()).or_default() += 1;
            if self.distinct.len() > DISTINCT {
                self.many = true;
                self.distinct.clear();
            }
        }
        let int = t.parse::<i64>().ok();
        if int.is_some() {
            self.integers += 1;
        }
        if let (Some(i), Some(prev)) = (int, self.last_int) {
            if i == prev + 1 {
                self.steps += 1;
            }
        }
        self.last_int = int;
        if matches!(cell, Cell::Text(_)) {
            if let Some((shape, side)) = date_shape(t) {
                *self.shapes.entry(shape).or_default() += 1;
                match side {
                    Some(true) => self.day_first += 1,
                    Some(false) => self.month_first += 1,
                    None => {}
                }
            }
            if let Some(s) = num_shape(t) {
                self.nums.push(s);
            }
        }
        if t.chars().any(char::is_alphabetic) {
            self.letters += 1;
        }
        let compact: String = t.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = compact.strip_prefix("MD").unwrap_or(&compact);
        if digits.len() == 13 && digits.bytes().all(|b| b.is_ascii_digit()) {
            self.idno_like += 1;
            if compact.starts_with("MD") {
                self.idno_md += 1;
            }
            if crate::model::idno::validate(digits).is_ok() {
                self.idno_valid += 1;
            }
        } else if compact.len() >= 8
            && compact.len() <= 16
            && compact.is_char_boundary(2)
            && compact[..2].bytes().all(|b| b.is_ascii_uppercase())
            && compact[2..].bytes().all(|b| b.is_ascii_alphanumeric())
            && compact[2..].bytes().filter(u8::is_ascii_digit).count() >= 6
        {
            self.foreign_tax += 1;
        }
        if CURRENCIES.iter().any(|c| c.eq_ignore_ascii_case(t)) {
            self.currency_codes += 1;
        } else if currency_by_name(t).is_some() {
            self.currency_names += 1;
        }
        if t.len() == 2 && COUNTRIES.iter().any(|c| c.eq_ignore_ascii_case(t)) {
            self.countries += 1;
        }
        if t.contains('@') && t.contains('.') && !t.contains(' ') {
            self.emails += 1;
        }
        if is_id_amount(t) {
            self.id_amount += 1;
            if t.split(';').all(|part| {
                let id = part.split(':').next().unwrap_or("").trim();
                RATE_IDS.iter().any(|r| r == id)
            }) {
                self.rate_id_amount += 1;
            }
        }
        if t.starts_with("[{") && t.ends_with("}]") {
            self.json_arrays += 1;
        }
        if t.starts_with('[') && t.find(']').is_some_and(|i| i > 1 && i + 1 < t.len()) {
            self.bracket_code += 1;
        }
        if is_exempt_word(t) {
            self.exempt_words += 1;
        }
        if t.ends_with('%') {
            self.percent_signs += 1;
        }
    }

    /// The share of filled cells `n` is.
    pub(super) fn share(&self, n: usize) -> f64 {
        if self.filled == 0 {
            0.0
        } else {
            n as f64 / self.filled as f64
        }
    }

    /// Cells that are dates: date cells and text in one notation.
    pub(super) fn date_share(&self) -> f64 {
        let text = self.shapes.values().max().copied().unwrap_or(0);
        self.share(self.date_cells + text)
    }

    /// The commonest text date shape, with how many cells have it.
    pub(super) fn date_shape(&self) -> Option<(DateShape, usize)> {
        self.shapes
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(s, n)| (*s, *n))
    }

    /// Cells that are numbers (number cells, text in the file's notation).
    pub(super) fn number_share(&self) -> f64 {
        self.share(self.number_cells + self.text_numbers)
    }

    /// Count the text numbers that read in the file's notation.
    pub(super) fn note_notation(&mut self, cells: &[&Cell], notation: &Notation) {
        let locale = notation.parse_locale();
        self.text_numbers = cells
            .iter()
            .filter(|c| matches!(c, Cell::Text(_)) && !c.is_blank())
            .filter(|c| num_shape(&c.as_text()).is_some())
            .filter(|c| parse_decimal(&c.as_text(), locale).is_some())
            .count();
    }

    /// Whether the column holds a running row number (1, 2, 3, ...).
    pub(super) fn is_running(&self) -> bool {
        self.filled >= 5 && self.integers == self.filled && self.steps + 2 >= self.filled
    }

    /// Values as a VAT rate: (percent values with their texts, exemption
    /// words, values that are no rate), or None when the column is not one.
    pub(super) fn rates(&self) -> Option<Rates> {
        if self.many || self.distinct.is_empty() {
            return None;
        }
        // Fractions when every numeric value is at most 1 and one is a
        // standard rate as a fraction (0.2, 0.08).
        let numeric: Vec<Decimal> = self
            .distinct
            .keys()
            .filter(|k| !k.contains('%'))
            .filter_map(|k| parse_decimal(k, DecimalLocale::Auto))
            .collect();
        let fractions = !numeric.is_empty()
            && numeric
                .iter()
                .all(|v| *v <= Decimal::ONE && *v >= Decimal::ZERO)
            && numeric.iter().any(|v| *v > Decimal::ZERO);
        let mut r = Rates {
            fractions,
            ..Default::default()
        };
        for (k, n) in &self.distinct {
            if is_exempt_word(k) {
                r.exempt.push(k.clone());
            } else if let Some(p) =
                rate_percent(k, fractions).filter(|p| *p <= Decimal::ONE_HUNDRED)
            {
                r.percents.push((k.clone(), p, *n));
            } else {
                r.other.push(k.clone());
            }
        }
        Some(r)
    }
}

/// A column's values read as VAT rates.
#[derive(Debug, Clone, Default)]
pub(super) struct Rates {
    pub(super) fractions: bool,
    /// (text, percent, how many cells).
    pub(super) percents: Vec<(String, Decimal, usize)>,
    pub(super) exempt: Vec<String>,
    pub(super) other: Vec<String>,
}

/// `tva20: 33.75`, `284: 111`: an id and an amount, as this tool's exports
/// write applied taxes and discounts.
pub(super) fn is_id_amount(t: &str) -> bool {
    static RE: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"^[A-Za-z0-9_]+\s*:\s*-?[0-9]+(\.[0-9]+)?(\s*;\s*[A-Za-z0-9_]+\s*:\s*-?[0-9]+(\.[0-9]+)?)*$")
            .expect("the id: amount regex")
    });
    RE.is_match(t)
}

/// The notation of the text numbers of `profiles`' columns.
pub(super) fn notation<'a>(profiles: impl Iterator<Item = &'a Profile>) -> Notation {
    let mut count: BTreeMap<&'static str, usize> = BTreeMap::new();
    for p in profiles {
        for s in &p.nums {
            let key = match s {
                NumShape::Int => continue,
                NumShape::CommaDecimal => "comma",
                NumShape::DotDecimal => "dot",
                NumShape::Comma3 => "comma3",
                NumShape::Dot3 => "dot3",
                NumShape::DotGroups => "dotgroups",
                NumShape::CommaGroups => "commagroups",
            };
            *count.entry(key).or_default() += 1;
        }
    }
    let n = |k: &str| count.get(k).copied().unwrap_or(0);
    let (locale, why) = if n("dotgroups") > 0 && n("dotgroups") >= n("commagroups") {
        (
            DecimalLocale::Ro,
            "dots group thousands and a comma is the decimal point (1.234,56)",
        )
    } else if n("commagroups") > 0 {
        (
            DecimalLocale::En,
            "commas group thousands and a dot is the decimal point (1,234.56)",
        )
    } else if n("comma") > 0 && n("comma") >= n("dot") {
        if n("dot3") > 0 {
            (
                DecimalLocale::Ro,
                "a comma is the decimal point and dots group thousands (1.250)",
            )
        } else {
            (DecimalLocale::Ru, "a comma is the decimal point (1 234,56)")
        }
    } else if n("dot") > 0 {
        if n("comma3") > 0 {
            (
                DecimalLocale::En,
                "a dot is the decimal point and commas group thousands",
            )
        } else {
            (DecimalLocale::Dot, "a dot is the decimal point (1234.56)")
        }
    } else if n("comma3") > 0 {
        (
            DecimalLocale::Ru,
            "a comma with three decimals (1,000), as 1C writes quantities",
        )
    } else if n("dot3") > 0 {
        (DecimalLocale::Dot, "a dot with three decimals (1.250)")
    } else {
        return Notation::default();
    };
    Notation {
        locale: Some(locale),
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(vals: &[&str]) -> Profile {
        let mut p = Profile::default();
        for v in vals {
            p.add(&Cell::Text((*v).into()));
        }
        p
    }

    #[test]
    fn dates_by_shape_and_day_or_month_first() {
        let p = col(&["02.07.2024 0:00:00", "31.12.2024", "x"]);
        assert_eq!(p.date_shape(), Some((DateShape::DayDot, 2)));
        let us = col(&["11/01/2024", "11/28/2024", "04/30/2025"]);
        assert_eq!(us.date_shape().unwrap().0, DateShape::Slash);
        assert!(us.month_first == 2 && us.day_first == 0);
        let iso = col(&["2024-02-11T10:32:25+02:00", "2024-12-27 18:16:11"]);
        assert_eq!(iso.date_shape(), Some((DateShape::Iso, 2)));
    }

    #[test]
    fn notations_from_the_values() {
        let n = |cols: &[&[&str]]| {
            let ps: Vec<Profile> = cols.iter().map(|c| col(c)).collect();
            notation(ps.iter()).name()
        };
        assert_eq!(n(&[&["1 665,81", "7,47"], &["223,000"]]), "ru");
        assert_eq!(n(&[&["5.659,50", "24,50"], &["1.250", "231"]]), "ro");
        assert_eq!(n(&[&["24,50"], &["1.250"]]), "ro");
        assert_eq!(n(&[&["4,802.40", "26.10"]]), "en");
        assert_eq!(n(&[&["2001.74", "76.99"]]), "dot");
        assert_eq!(n(&[&["12", "7"]]), "auto");
    }

    #[test]
    fn tax_ids_currencies_rates_and_counters() {
        let p = col(&[
            "1008600038413",
            "MD1008600038413",
            "1008600038412",
            "DE811569869",
        ]);
        assert_eq!(
            (p.idno_like, p.idno_valid, p.idno_md, p.foreign_tax),
            (3, 2, 1, 1)
        );
        let c = col(&["MDL", "eur", "лей"]);
        assert_eq!((c.currency_codes, c.currency_names), (2, 1));
        let r = col(&["20%", "Без НДС", "8%", "19%"]).rates().unwrap();
        assert_eq!(r.percents.len(), 3);
        assert_eq!(r.exempt, ["Без НДС"]);
        let f = col(&["0.2", "0.08", "0"]).rates().unwrap();
        assert!(f.fractions);
        assert!(f
            .percents
            .iter()
            .any(|(t, p, _)| t == "0.2" && *p == Decimal::from(20)));
        let mut run = Profile::default();
        for i in 1..=9 {
            run.add(&Cell::Number(i.to_string().into()));
        }
        assert!(run.is_running());
        assert!(is_id_amount("tva20: 33.75"));
        assert!(!is_id_amount("Servicii: consultanta"));
    }
}
