//! Spreadsheet values as [`Cell`]s: numbers written as Excel shows them
//! (no float noise), date-formatted serials as dates, ISO text dates from
//! ODS, error values kept as such.

use crate::read::Cell;
use calamine::DataRef;
use compact_str::{format_compact, CompactString, ToCompactString};

/// A float as Excel shows it: 15 significant digits, no float noise.
pub(crate) fn number_text(f: f64) -> CompactString {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return (f as i64).to_compact_string();
    }
    // Whole cents (most amounts and prices): below 10¹³ the cents' text is
    // the shortest that reads back as `f` (a float within half a step of
    // it is within 0.01 of it only at that text), at most 15 digits.
    let cents = (f * 100.0).round();
    if cents.abs() < 1e15 && cents / 100.0 == f {
        let c = cents as i64;
        let (units, frac) = (c.unsigned_abs() / 100, c.unsigned_abs() % 100);
        let mut s = CompactString::default();
        if c < 0 {
            s.push('-');
        }
        s.push_str(&units.to_compact_string());
        s.push('.');
        s.push(char::from(b'0' + (frac / 10) as u8));
        if frac % 10 != 0 {
            s.push(char::from(b'0' + (frac % 10) as u8));
        }
        return s;
    }
    // The shortest text that reads back as `f`: when it has 15 significant
    // digits or fewer, rounding to 15 changes nothing (most cells: 1234.5).
    let shortest = format_compact!("{f}");
    if significant_digits(&shortest) <= 15 {
        return shortest;
    }
    let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    format_compact!("{rounded}")
}

/// Digits of a decimal text without its leading and trailing zeros.
fn significant_digits(s: &str) -> usize {
    let digits = s.as_bytes().iter().filter(|b| b.is_ascii_digit());
    let mut n = 0;
    let mut zeros = 0;
    for &d in digits {
        if d == b'0' {
            if n > 0 {
                zeros += 1;
            }
        } else {
            n += zeros + 1;
            zeros = 0;
        }
    }
    n
}

fn datetime_cell(dt: &calamine::ExcelDateTime) -> Cell {
    // Serials beyond Excel's calendar (0 to 9999-12-31) stay numbers: the
    // mapping reports them at their cell (and calamine's conversion of
    // such values would overflow).
    if dt.is_duration() || !(0.0..2_958_466.0).contains(&dt.as_f64()) {
        return Cell::Number(number_text(dt.as_f64()));
    }
    match dt.as_datetime() {
        Some(t) if t.time() == chrono::NaiveTime::MIN => Cell::Date(t.date()),
        Some(t) => Cell::DateTime(t),
        None => Cell::Number(number_text(dt.as_f64())),
    }
}

fn iso_cell(s: &str) -> Cell {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Cell::Date(d);
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Cell::DateTime(t);
    }
    Cell::Text(s.into())
}

fn text_cell(s: &str) -> Cell {
    if s.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(s.into())
    }
}

pub(super) fn from_ref(v: &DataRef<'_>) -> Cell {
    match v {
        DataRef::Int(i) => Cell::Number(i.to_compact_string()),
        DataRef::Float(f) => Cell::Number(number_text(*f)),
        DataRef::String(s) => text_cell(s),
        DataRef::SharedString(s) => text_cell(s),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(d) => datetime_cell(d),
        DataRef::DateTimeIso(s) => iso_cell(s),
        DataRef::DurationIso(s) => Cell::Text(s.as_str().into()),
        DataRef::Error(e) => Cell::Error(e.to_compact_string()),
        DataRef::Empty => Cell::Empty,
    }
}

pub(super) fn from_data(v: &calamine::Data) -> Cell {
    use calamine::Data;
    match v {
        Data::Int(i) => Cell::Number(i.to_compact_string()),
        Data::Float(f) => Cell::Number(number_text(*f)),
        Data::String(s) => text_cell(s),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(d) => datetime_cell(d),
        Data::DateTimeIso(s) => iso_cell(s),
        Data::DurationIso(s) => Cell::Text(s.as_str().into()),
        Data::Error(e) => Cell::Error(e.to_compact_string()),
        Data::Empty => Cell::Empty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_without_float_noise() {
        assert_eq!(number_text(3.0), "3");
        assert_eq!(number_text(0.1 + 0.2), "0.3");
        assert_eq!(number_text(1234.5), "1234.5");
        assert_eq!(number_text(-0.05), "-0.05");
        assert_eq!(number_text(45123.0), "45123");
        assert_eq!(number_text(1e20), "100000000000000000000");
        assert_eq!(number_text(0.000_001_5), "0.0000015");
        assert_eq!(number_text(f64::NAN), "NaN");
    }

    /// The rule as first written: every float through 15 digits.
    fn rounded_always(f: f64) -> String {
        if f.fract() == 0.0 && f.abs() < 1e15 {
            return format!("{}", f as i64);
        }
        let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
        format!("{rounded}")
    }

    proptest::proptest! {
        #[test]
        fn the_shortcut_prints_what_rounding_to_15_digits_prints(
            bits in proptest::num::u64::ANY,
            cents in -10_000_000_000i64..10_000_000_000,
            big in -1_000_000_000_000_000i64..1_000_000_000_000_000,
            scale in 0u32..7,
        ) {
            let near = |c: i64, k: i32| c as f64 / 100.0 + k as f64 * 0.001;
            for f in [
                f64::from_bits(bits),
                cents as f64 / 10f64.powi(scale as i32),
                (cents as f64).sqrt(),
                // Cents up to and past the shortcut's bound, and next to cents.
                big as f64 / 100.0,
                near(cents, 1),
                near(cents, -3),
                f64::from_bits((cents as f64 / 100.0).to_bits() + 1),
            ] {
                let (quick, slow) = (number_text(f), rounded_always(f));
                proptest::prop_assert_eq!(quick.as_str(), slow.as_str(), "{:e}", f);
            }
        }
    }
}
