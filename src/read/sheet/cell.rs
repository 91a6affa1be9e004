//! Spreadsheet values as [`Cell`]s: numbers written as Excel shows them
//! (no float noise), date-formatted serials as dates, ISO text dates from
//! ODS, error values kept as such.

use crate::read::Cell;
use calamine::DataRef;

/// A float as Excel shows it: 15 significant digits, no float noise.
pub(crate) fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        return format!("{}", f as i64);
    }
    let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    format!("{rounded}")
}

fn datetime_cell(dt: &calamine::ExcelDateTime) -> Cell {
    // Serials beyond Excel's calendar (0 to 9999-12-31) stay numbers: the
    // mapping reports them at their cell (and calamine's conversion of
    // such values would overflow).
    if dt.is_duration() || !(0.0..2_958_466.0).contains(&dt.as_f64()) {
        return Cell::Number(number_text(dt.as_f64()).into());
    }
    match dt.as_datetime() {
        Some(t) if t.time() == chrono::NaiveTime::MIN => Cell::Date(t.date()),
        Some(t) => Cell::DateTime(t),
        None => Cell::Number(number_text(dt.as_f64()).into()),
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
        DataRef::Int(i) => Cell::Number(compact_str::ToCompactString::to_compact_string(i)),
        DataRef::Float(f) => Cell::Number(number_text(*f).into()),
        DataRef::String(s) => text_cell(s),
        DataRef::SharedString(s) => text_cell(s),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(d) => datetime_cell(d),
        DataRef::DateTimeIso(s) => iso_cell(s),
        DataRef::DurationIso(s) => Cell::Text(s.as_str().into()),
        DataRef::Error(e) => Cell::Error(compact_str::ToCompactString::to_compact_string(e)),
        DataRef::Empty => Cell::Empty,
    }
}

pub(super) fn from_data(v: &calamine::Data) -> Cell {
    use calamine::Data;
    match v {
        Data::Int(i) => Cell::Number(compact_str::ToCompactString::to_compact_string(i)),
        Data::Float(f) => Cell::Number(number_text(*f).into()),
        Data::String(s) => text_cell(s),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(d) => datetime_cell(d),
        Data::DateTimeIso(s) => iso_cell(s),
        Data::DurationIso(s) => Cell::Text(s.as_str().into()),
        Data::Error(e) => Cell::Error(compact_str::ToCompactString::to_compact_string(e)),
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
    }
}
