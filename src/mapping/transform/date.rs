//! Dates: formats ([`DateFormat`]: a strftime [`Pattern`] compiled once,
//! `iso`, or Excel serials), the formats tried when none is named, dates
//! with a trailing time, and Excel's 1900 serial numbers both ways.

use chrono::{NaiveDate, Timelike};

/// A date format: a strftime pattern, `iso`, or `excel` serials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateFormat {
    Pattern(Pattern),
    Excel,
}

/// A strftime pattern, compiled once.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    items: Vec<chrono::format::Item<'static>>,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Pattern {}

impl Pattern {
    pub fn new(text: &str) -> Pattern {
        let items = chrono::format::StrftimeItems::new(text)
            .parse_to_owned()
            .unwrap_or_default();
        Pattern {
            text: text.to_string(),
            items,
        }
    }

    /// Parse a whole string as a date with this pattern.
    pub fn parse(&self, s: &str) -> Option<NaiveDate> {
        let mut parsed = chrono::format::Parsed::new();
        chrono::format::parse(&mut parsed, s, self.items.iter()).ok()?;
        parsed.to_naive_date().ok()
    }
}

impl DateFormat {
    /// Parse and check a format; a pattern must be able to make a date.
    pub fn parse(s: &str) -> Result<DateFormat, String> {
        match s {
            "excel" => return Ok(DateFormat::Excel),
            "iso" => return Ok(DateFormat::pattern("%Y-%m-%d")),
            _ => {}
        }
        use chrono::format::{Item, StrftimeItems};
        if StrftimeItems::new(s).any(|i| matches!(i, Item::Error)) {
            return Err("not a valid date format (chrono strftime syntax, e.g. %d.%m.%Y)".into());
        }
        // The format must round-trip a date.
        let probe = NaiveDate::from_ymd_opt(2024, 11, 23).unwrap_or_default();
        let text = probe.format(s).to_string();
        if NaiveDate::parse_from_str(&text, s).ok() != Some(probe) {
            return Err(
                "the format does not name a full date (needs a day, a month and a year)".into(),
            );
        }
        Ok(DateFormat::pattern(s))
    }

    /// A compiled strftime pattern.
    pub fn pattern(text: &str) -> DateFormat {
        DateFormat::Pattern(Pattern::new(text))
    }

    pub fn describe(&self) -> String {
        match self {
            DateFormat::Pattern(p) => p.text.clone(),
            DateFormat::Excel => "an Excel serial number".into(),
        }
    }
}

/// The formats tried when a date field names none.
pub fn default_date_formats() -> Vec<DateFormat> {
    vec![
        DateFormat::pattern("%Y-%m-%d"),
        DateFormat::pattern("%d.%m.%Y"),
        DateFormat::pattern("%d/%m/%Y"),
        DateFormat::Excel,
    ]
}

/// An Excel serial day number (1900 system) as a date.
pub fn excel_serial(serial: f64) -> Option<NaiveDate> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let days = serial.floor() as i64;
    // Excel counts 1900-02-29, which did not exist.
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    let days = if days < 60 { days + 1 } else { days };
    epoch.checked_add_signed(chrono::Duration::days(days))
}

/// The Excel serial number of a date (1900 system).
pub fn to_excel_serial(d: NaiveDate) -> i64 {
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default();
    let days = (d - epoch).num_days();
    if days < 61 {
        days - 1
    } else {
        days
    }
}

/// Parse a date with the first format that fits. A date and time keeps
/// only the date (`05.01.2024 0:00:00` in 1C exports).
pub fn parse_date(text: &str, formats: &[DateFormat]) -> Option<NaiveDate> {
    let s = text.trim();
    for f in formats {
        match f {
            DateFormat::Pattern(p) => {
                if let Some(d) = p.parse(s) {
                    return Some(d);
                }
                // A trailing time after the date.
                if let Some((head, tail)) = s.split_once([' ', 'T']) {
                    if tail.contains(':') {
                        if let Some(d) = p.parse(head) {
                            return Some(d);
                        }
                    }
                }
            }
            DateFormat::Excel => {
                if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.') {
                    if let Ok(v) = s.parse::<f64>() {
                        if let Some(d) = excel_serial(v) {
                            return Some(d);
                        }
                    }
                }
            }
        }
    }
    None
}

/// A Chisinau date and time as Unix seconds, rounded to the nearest second
/// (a spreadsheet's date-time is a fraction of a day, seldom exact); a
/// time the clocks skipped is read an hour later, one they repeated as its
/// first occurrence.
pub fn local_moment(t: chrono::NaiveDateTime) -> Option<i64> {
    use chrono::TimeZone;
    let t = t.checked_add_signed(chrono::Duration::milliseconds(500))?;
    let t = t.with_nanosecond(0)?;
    let tz = crate::model::date::TZ;
    tz.from_local_datetime(&t)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(t + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|x| x.timestamp())
}

/// A moment from text: `YYYY-MM-DD HH:MM[:SS[.fff]]` (or with `T`) in
/// Chisinau, RFC 3339 with its offset, or a date alone (00:00).
pub fn parse_moment(text: &str) -> Option<i64> {
    let s = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%d.%m.%Y %H:%M:%S",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return local_moment(t);
        }
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    local_moment(d.and_hms_opt(0, 0, 0)?)
}

/// A moment from an Excel serial with a fraction of a day.
pub fn excel_moment(serial: f64) -> Option<i64> {
    let day = excel_serial(serial)?;
    let secs = ((serial - serial.floor()) * 86_400.0).round() as i64;
    local_moment(day.and_hms_opt(0, 0, 0)? + chrono::Duration::seconds(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;
    use proptest::prelude::*;

    #[test]
    fn moments_in_chisinau_to_the_second() {
        let t = NaiveDate::from_ymd_opt(2026, 12, 3)
            .unwrap()
            .and_hms_milli_opt(9, 33, 9, 999)
            .unwrap();
        // Winter: UTC+2.
        let at = 1_796_283_190;
        assert_eq!(local_moment(t), Some(at));
        assert_eq!(parse_moment("2026-12-03 09:33:10"), Some(at));
        assert_eq!(parse_moment("2026-12-03T07:33:10Z"), Some(at));
        let serial =
            to_excel_serial(t.date()) as f64 + (9.0 * 3600.0 + 33.0 * 60.0 + 10.0) / 86_400.0;
        assert_eq!(excel_moment(serial), Some(at));
        assert_eq!(parse_moment("yesterday"), None);
    }

    #[test]
    fn dates_and_serials() {
        let f = default_date_formats();
        let d = NaiveDate::from_ymd_opt(2024, 1, 5).unwrap();
        assert_eq!(parse_date("05.01.2024", &f), Some(d));
        assert_eq!(parse_date("2024-01-05", &f), Some(d));
        assert_eq!(parse_date("05.01.2024 0:00:00", &f), Some(d));
        assert_eq!(parse_date("45296", &f), Some(d));
        assert_eq!(to_excel_serial(d), 45296);
        assert_eq!(parse_date("31.02.2024", &f), None);
        assert_eq!(excel_serial(61.0), NaiveDate::from_ymd_opt(1900, 3, 1));
        assert_eq!(excel_serial(59.0), NaiveDate::from_ymd_opt(1900, 2, 28));
        assert!(DateFormat::parse("%d.%m").is_err());
        assert!(DateFormat::parse("%Q").is_err());
    }

    proptest! {
        #[test]
        fn date_formats_round_trip(days in 0i64..60_000, fmt_idx in 0usize..5) {
            let d = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap() + chrono::Duration::days(days);
            let fmts = ["%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d-%b-%Y"];
            let f = fmts[fmt_idx];
            let text = d.format(f).to_string();
            prop_assert_eq!(parse_date(&text, &[DateFormat::parse(f).unwrap()]), Some(d));
            let serial = to_excel_serial(d);
            prop_assert_eq!(parse_date(&serial.to_string(), &[DateFormat::Excel]), Some(d));
        }

        /// Serials near and beyond Excel's calendar, and any text of
        /// digits and separators: never a panic, and a date is one Excel
        /// could show (1900-01-01 to 9999-12-31).
        #[test]
        fn serials_and_texts_near_the_limits_never_overflow(
            serial in prop_oneof![
                -1e3f64..3e6,
                2_958_000.0f64..2_959_000.0,
                proptest::num::f64::ANY,
            ],
            text in "[0-9]{0,12}([./ -][0-9]{0,6}){0,3}",
        ) {
            let shows = |d: NaiveDate| (1900..=9999).contains(&d.year());
            if let Some(d) = excel_serial(serial) {
                prop_assert!(shows(d), "{serial} gave {d}");
            }
            if let Some(d) = parse_date(&serial.to_string(), &[DateFormat::Excel]) {
                prop_assert!(shows(d), "{serial} gave {d}");
            }
            let _ = parse_date(&text, &default_date_formats());
        }
    }
}
