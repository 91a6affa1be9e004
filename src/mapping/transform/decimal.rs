//! Decimals written in a locale's notation ([`DecimalLocale`]: `1 234,56`,
//! `1.234,56`, `1,234.56`, ...), with signs, parentheses and percent; the
//! commonest cell read in one quick pass; whole numbers.

use rust_decimal::Decimal;

/// Decimal notations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalLocale {
    /// The last of `,` and `.` is the decimal separator.
    Auto,
    /// `1 234,56`: comma decimal, spaces group (a lone `.` is also decimal).
    Ru,
    /// `1.234,56`: comma decimal, dots and spaces group.
    Ro,
    /// `1,234.56`: dot decimal, commas and spaces group.
    En,
    /// Comma decimal, spaces group.
    Comma,
    /// Dot decimal, spaces group.
    Dot,
}

impl DecimalLocale {
    pub fn parse(name: &str) -> Option<DecimalLocale> {
        Some(match name {
            "auto" => DecimalLocale::Auto,
            "ru" => DecimalLocale::Ru,
            "ro" => DecimalLocale::Ro,
            "en" => DecimalLocale::En,
            "comma" => DecimalLocale::Comma,
            "dot" => DecimalLocale::Dot,
            _ => return None,
        })
    }

    /// How people write numbers in this notation, for "expected" in messages.
    pub fn example(self) -> &'static str {
        match self {
            DecimalLocale::Auto => "a number such as 1234.56 or 1 234,56",
            DecimalLocale::Ru | DecimalLocale::Comma => "a number such as 1 234,56",
            DecimalLocale::Ro => "a number such as 1.234,56",
            DecimalLocale::En | DecimalLocale::Dot => "a number such as 1,234.56",
        }
    }
}

fn is_group_space(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\'')
}

/// Parse a decimal written in `locale`'s notation. Accepts a leading sign,
/// a trailing `-` (some ledgers), parentheses for negatives, and a trailing
/// `%`.
pub fn parse_decimal(text: &str, locale: DecimalLocale) -> Option<Decimal> {
    plain_decimal(text.as_bytes(), locale).or_else(|| parse_decimal_in_full(text, locale))
}

/// The commonest cell, read in one pass: up to 18 digits, grouped in
/// threes by spaces or not, with at most one separator that `locale` takes
/// as the decimal one (`1 234,5` in `ru`). `None` when the text is anything
/// else, for [`parse_decimal_in_full`] to read; a value only when that
/// would give the same.
fn plain_decimal(b: &[u8], locale: DecimalLocale) -> Option<Decimal> {
    if b.len() > 18 || !b.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let mut mant: i64 = 0;
    let mut scale = 0;
    let mut sep = None;
    // Digits since the start or the last space; whether a space was seen.
    let mut run = 0;
    let mut grouped = false;
    for &c in b {
        match c {
            b'0'..=b'9' => {
                mant = mant * 10 + i64::from(c - b'0');
                scale += u32::from(sep.is_some());
                run += 1;
            }
            b' ' if sep.is_none() && run > 0 && (!grouped || run == 3) => {
                grouped = true;
                run = 0;
            }
            b',' | b'.' if sep.is_none() && (!grouped || run == 3) => sep = Some(c),
            _ => return None,
        }
    }
    let decimal = match (sep, locale) {
        (None, _) => !grouped || run == 3,
        // A separator at the end, or one that may be grouping digits.
        (Some(_), _) if scale == 0 => false,
        (Some(b','), DecimalLocale::En | DecimalLocale::Dot) => false,
        (Some(b'.'), DecimalLocale::Ro) => false,
        (Some(_), _) => true,
    };
    decimal.then(|| Decimal::new(mant, scale))
}

/// [`parse_decimal`] for any text.
fn parse_decimal_in_full(text: &str, locale: DecimalLocale) -> Option<Decimal> {
    let b = text.as_bytes();
    // The usual cell begins and ends with a digit: no blanks to trim, no
    // sign, parentheses or percent to look for.
    let plain =
        b.first().is_some_and(u8::is_ascii_digit) && b.last().is_some_and(u8::is_ascii_digit);
    let mut s = if plain { text } else { text.trim() };
    if s.is_empty() {
        return None;
    }
    let mut neg = false;
    if plain {
        return digits_in(s, locale, neg);
    }
    if s.starts_with('(') && s.ends_with(')') {
        neg = true;
        s = s[1..s.len() - 1].trim();
    }
    if let Some(rest) = s.strip_suffix('%') {
        s = rest.trim_end();
    }
    if let Some(rest) = s.strip_suffix('-') {
        neg = !neg;
        s = rest.trim_end();
    } else if let Some(rest) = s.strip_prefix('-').or_else(|| s.strip_prefix('−')) {
        neg = !neg;
        s = rest.trim_start();
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest.trim_start();
    }
    digits_in(s, locale, neg)
}

/// The number in `s`, stripped of sign, parentheses and percent: the
/// locale's separators decide which is the decimal one.
fn digits_in(s: &str, locale: DecimalLocale, neg: bool) -> Option<Decimal> {
    let (decimal_sep, group): (char, &[char]) = match locale {
        DecimalLocale::Auto => {
            let last = s.rfind([',', '.']);
            match last {
                Some(i) => {
                    let sep = s[i..].chars().next().unwrap_or('.');
                    let other = if sep == ',' { '.' } else { ',' };
                    // One separator kind only, appearing more than once: grouping.
                    if !s.contains(other) && s.matches(sep).count() > 1 {
                        (other, if sep == ',' { &[','] } else { &['.'] })
                    } else if sep == ',' {
                        (',', &['.'])
                    } else {
                        ('.', &[','])
                    }
                }
                None => ('.', &[]),
            }
        }
        DecimalLocale::Ru | DecimalLocale::Comma => {
            if s.contains(',') {
                (',', &[])
            } else {
                ('.', &[])
            }
        }
        DecimalLocale::Ro => (',', &['.']),
        DecimalLocale::En => ('.', &[',']),
        DecimalLocale::Dot => ('.', &[]),
    };
    let strict = strict_digits(s, decimal_sep, group, neg);
    match (strict, locale) {
        // `1.5` in a dot-grouping notation with no comma: a decimal point.
        (None, DecimalLocale::Ro) if !s.contains(',') => strict_digits(s, '.', &[], neg),
        (d, _) => d,
    }
}

/// Digits with one decimal separator and groups of three after each group
/// separator.
fn strict_digits(s: &str, decimal_sep: char, group: &[char], neg: bool) -> Option<Decimal> {
    // Past 96 bits no decimal can hold it; stopping far above that keeps
    // the arithmetic from overflowing.
    let mut mant: u128 = 0;
    let mut scale: u32 = 0;
    let mut seen_sep = false;
    let mut digits = 0;
    let mut after_group = false;
    let mut grouped = false;
    let mut run = 0;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if mant > MANTISSA_LIMIT {
                return None;
            }
            mant = mant * 10 + u128::from(c as u32 - '0' as u32);
            if seen_sep {
                scale += 1;
            }
            digits += 1;
            run += 1;
            after_group = false;
        } else if c == decimal_sep && !seen_sep {
            if grouped && run != 3 {
                return None;
            }
            seen_sep = true;
            after_group = false;
        } else if (is_group_space(c) || group.contains(&c))
            && !seen_sep
            && digits > 0
            && !after_group
        {
            if grouped && run != 3 {
                return None;
            }
            grouped = true;
            run = 0;
            after_group = true;
        } else {
            return None;
        }
    }
    if digits == 0 || after_group || (grouped && !seen_sep && run != 3) {
        return None;
    }
    let mant = i128::try_from(mant).ok()?;
    Decimal::try_from_i128_with_scale(if neg { -mant } else { mant }, scale).ok()
}

/// Above any decimal's mantissa, and small enough to take another digit.
const MANTISSA_LIMIT: u128 = u128::MAX / 100;

/// A whole number, allowing `12.0` and spaces grouping.
pub fn parse_integer(text: &str) -> Option<i64> {
    let d = parse_decimal(text, DecimalLocale::Auto)?;
    if d.fract().is_zero() {
        i64::try_from(d.trunc()).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::transform::{default_date_formats, parse_date};
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn decimals_in_each_locale() {
        use DecimalLocale::*;
        assert_eq!(parse_decimal("1 234,56", Ru), Some(dec!(1234.56)));
        assert_eq!(parse_decimal("1\u{a0}234,5", Ru), Some(dec!(1234.5)));
        assert_eq!(parse_decimal("12.5", Ru), Some(dec!(12.5)));
        assert_eq!(parse_decimal("1.234,56", Ro), Some(dec!(1234.56)));
        assert_eq!(parse_decimal("1,234.56", En), Some(dec!(1234.56)));
        assert_eq!(parse_decimal("-0,5", Comma), Some(dec!(-0.5)));
        assert_eq!(parse_decimal("100-", Comma), Some(dec!(-100)));
        assert_eq!(parse_decimal("(3.50)", Dot), Some(dec!(-3.50)));
        assert_eq!(parse_decimal("20%", Auto), Some(dec!(20)));
        assert_eq!(parse_decimal("1,234.56", Auto), Some(dec!(1234.56)));
        assert_eq!(parse_decimal("1.234,56", Auto), Some(dec!(1234.56)));
        assert_eq!(parse_decimal("1.234.567", Auto), Some(dec!(1234567)));
        assert_eq!(parse_decimal("12,5", Auto), Some(dec!(12.5)));
        assert_eq!(parse_decimal("abc", Auto), None);
        assert_eq!(parse_decimal("1,2,3", En), None);
        assert_eq!(parse_decimal("1 234,56", En), None);
        assert_eq!(parse_decimal("", Auto), None);
        assert_eq!(parse_decimal("-", Auto), None);
        assert_eq!(parse_decimal("1..2", Dot), None);
        assert_eq!(parse_decimal("12 5", Ru), None);
        assert_eq!(parse_decimal("1.5", Ro), Some(dec!(1.5)));
        assert_eq!(parse_decimal("1 234 567,5", Ru), Some(dec!(1234567.5)));
    }

    fn group(int: &str, sep: &str) -> String {
        let mut out = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push_str(sep);
            }
            out.push(c);
        }
        out
    }

    proptest! {
        #[test]
        fn decimal_locales_round_trip(units in 0u64..1_000_000_000_000, cents in 0u32..100, neg: bool, grouped: bool) {
            let value = Decimal::new(units as i64 * 100 + cents as i64, 2) * if neg { Decimal::NEGATIVE_ONE } else { Decimal::ONE };
            let int = units.to_string();
            let frac = format!("{cents:02}");
            let sign = if neg { "-" } else { "" };
            let cases = [
                (DecimalLocale::Ru, if grouped { group(&int, " ") } else { int.clone() }, ","),
                (DecimalLocale::Ro, if grouped { group(&int, ".") } else { int.clone() }, ","),
                (DecimalLocale::En, if grouped { group(&int, ",") } else { int.clone() }, "."),
                (DecimalLocale::Comma, if grouped { group(&int, "\u{a0}") } else { int.clone() }, ","),
                (DecimalLocale::Dot, int.clone(), "."),
            ];
            for (loc, i, sep) in cases {
                let text = format!("{sign}{i}{sep}{frac}");
                prop_assert_eq!(parse_decimal(&text, loc), Some(value), "{} in {:?}", text, loc);
                // Auto reads every notation whose last separator is the decimal one.
                prop_assert_eq!(parse_decimal(&text, DecimalLocale::Auto), Some(value), "{} auto", text);
            }
        }

        #[test]
        fn plain_cells_take_the_quick_way(units in 0u64..10_000_000, frac in 0u32..1000) {
            let comma = format!("{units},{frac:03}");
            let want = Decimal::new(units as i64 * 1000 + i64::from(frac), 3);
            prop_assert_eq!(plain_decimal(comma.as_bytes(), DecimalLocale::Ru), Some(want));
            prop_assert_eq!(plain_decimal(comma.replace(',', ".").as_bytes(), DecimalLocale::En), Some(want));
            prop_assert_eq!(plain_decimal(comma.as_bytes(), DecimalLocale::En), None, "a group separator");
            let spaced = format!("{} {frac:03},5", units + 1);
            let want = Decimal::new((units as i64 + 1) * 10_000 + i64::from(frac) * 10 + 5, 1);
            prop_assert_eq!(plain_decimal(spaced.as_bytes(), DecimalLocale::Ru), Some(want));
        }

        #[test]
        fn plain_cells_read_as_in_full(s in "[0-9 ]{0,12}[.,]?[0-9]{0,8}|[0-9]{1,3}( [0-9]{3}){0,4}([.,][0-9]{0,3})?|[0-9., ]{0,20}", loc in 0usize..6) {
            let loc = [
                DecimalLocale::Auto,
                DecimalLocale::Ru,
                DecimalLocale::Ro,
                DecimalLocale::En,
                DecimalLocale::Comma,
                DecimalLocale::Dot,
            ][loc];
            if let Some(d) = plain_decimal(s.as_bytes(), loc) {
                let full = parse_decimal_in_full(&s, loc);
                prop_assert_eq!(Some(d), full, "{} in {:?}", s, loc);
                prop_assert_eq!(d.scale(), full.map_or(99, |f| f.scale()), "{} in {:?}: the scale too", s, loc);
            }
        }

        #[test]
        fn decimal_parsing_never_panics(s in "\\PC{0,20}") {
            for loc in [DecimalLocale::Auto, DecimalLocale::Ru, DecimalLocale::Ro, DecimalLocale::En] {
                let _ = parse_decimal(&s, loc);
            }
            let _ = parse_date(&s, &default_date_formats());
        }
    }
}
