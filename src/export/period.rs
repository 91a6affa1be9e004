//! Date ranges for `--period` and `--from/--to`: calendar days in
//! Europe/Chisinau, turned into the API's inclusive `start_date`/`end_date`
//! bounds (Unix seconds).

use crate::model::date::{end_of_day_unix, to_unix, TZ};
use chrono::{Datelike, NaiveDate, Utc};

/// An inclusive range of Chisinau calendar days, with the label that
/// `{period}` expands to in output path templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateRange {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// `2026-10`, `2026-Q3`, `2026`, `2026-01-05_2026-02-01`, `all`.
    pub label: String,
}

impl DateRange {
    /// No bounds at all.
    pub fn all() -> Self {
        DateRange {
            from: None,
            to: None,
            label: "all".into(),
        }
    }

    /// `start_date`: 00:00 of the first day in Chisinau.
    pub fn start_unix(&self) -> Option<i64> {
        self.from.map(to_unix)
    }

    /// `end_date`: the last second of the last day in Chisinau (the API's bound is inclusive).
    pub fn end_unix(&self) -> Option<i64> {
        self.to.map(end_of_day_unix)
    }
}

/// A bad `--period`, `--from` or `--to`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("invalid --period `{found}`: expected YYYY-MM (2026-10), YYYY-Qn (2026-Q3), YYYY (2026), last-month, this-month, last-quarter or this-quarter")]
    Period { found: String },
    #[error("invalid {flag} `{found}`: expected a date as YYYY-MM-DD")]
    Date { flag: &'static str, found: String },
    #[error("--from {from} is after --to {to}")]
    Reversed { from: NaiveDate, to: NaiveDate },
    #[error("--period cannot be combined with --from or --to")]
    Both,
}

/// Today's date in Chisinau.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&TZ).date_naive()
}

fn month_range(year: i32, month: u32) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    Some((first, next.pred_opt()?))
}

fn quarter_range(year: i32, q: u32) -> Option<(NaiveDate, NaiveDate)> {
    let (first, _) = month_range(year, (q - 1) * 3 + 1)?;
    let (_, last) = month_range(year, q * 3)?;
    Some((first, last))
}

fn range(from: NaiveDate, to: NaiveDate, label: String) -> DateRange {
    DateRange {
        from: Some(from),
        to: Some(to),
        label,
    }
}

/// Parse a `--period` relative to `today` (a Chisinau date).
pub fn parse_period(s: &str, today: NaiveDate) -> Result<DateRange, PeriodError> {
    let bad = || PeriodError::Period {
        found: s.to_string(),
    };
    let t = s.trim().to_ascii_lowercase();
    let month = |y: i32, m: u32| {
        month_range(y, m)
            .map(|(a, b)| range(a, b, format!("{y:04}-{m:02}")))
            .ok_or_else(bad)
    };
    let quarter = |y: i32, q: u32| {
        quarter_range(y, q)
            .map(|(a, b)| range(a, b, format!("{y:04}-Q{q}")))
            .ok_or_else(bad)
    };
    let this_q = (today.month() - 1) / 3 + 1;
    match t.as_str() {
        "this-month" => return month(today.year(), today.month()),
        "last-month" => {
            let (y, m) = if today.month() == 1 {
                (today.year() - 1, 12)
            } else {
                (today.year(), today.month() - 1)
            };
            return month(y, m);
        }
        "this-quarter" => return quarter(today.year(), this_q),
        "last-quarter" => {
            let (y, q) = if this_q == 1 {
                (today.year() - 1, 4)
            } else {
                (today.year(), this_q - 1)
            };
            return quarter(y, q);
        }
        "this-year" => return parse_period(&today.year().to_string(), today),
        "last-year" => return parse_period(&(today.year() - 1).to_string(), today),
        _ => {}
    }
    let year = |y: &str| -> Result<i32, PeriodError> {
        if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) {
            y.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    match t.split_once('-') {
        None => {
            let y = year(&t)?;
            let first = NaiveDate::from_ymd_opt(y, 1, 1).ok_or_else(bad)?;
            let last = NaiveDate::from_ymd_opt(y, 12, 31).ok_or_else(bad)?;
            Ok(range(first, last, format!("{y:04}")))
        }
        Some((y, rest)) => {
            let y = year(y)?;
            if let Some(q) = rest.strip_prefix('q') {
                match q.parse::<u32>() {
                    Ok(n @ 1..=4) if q.len() == 1 => quarter(y, n),
                    _ => Err(bad()),
                }
            } else if (1..=2).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_digit()) {
                match rest.parse::<u32>() {
                    Ok(m @ 1..=12) => month(y, m),
                    _ => Err(bad()),
                }
            } else {
                Err(bad())
            }
        }
    }
}

/// Parse a `--from`/`--to` date (`YYYY-MM-DD`).
pub fn parse_date(flag: &'static str, s: &str) -> Result<NaiveDate, PeriodError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| PeriodError::Date {
        flag,
        found: s.to_string(),
    })
}

/// Resolve the command line's date options into one range.
pub fn resolve(
    period: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
) -> Result<DateRange, PeriodError> {
    if let Some(p) = period {
        if from.is_some() || to.is_some() {
            return Err(PeriodError::Both);
        }
        return parse_period(p, today);
    }
    let from = from.map(|s| parse_date("--from", s)).transpose()?;
    let to = to.map(|s| parse_date("--to", s)).transpose()?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(PeriodError::Reversed { from: f, to: t });
        }
    }
    let label = match (from, to) {
        (None, None) => "all".to_string(),
        (Some(f), Some(t)) => format!("{f}_{t}"),
        (Some(f), None) => format!("{f}_"),
        (None, Some(t)) => format!("_{t}"),
    };
    Ok(DateRange { from, to, label })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn absolute_periods() {
        let today = d(2026, 11, 28);
        let r = parse_period("2026-10", today).unwrap();
        assert_eq!(
            (r.from, r.to),
            (Some(d(2026, 10, 1)), Some(d(2026, 10, 31)))
        );
        assert_eq!(r.label, "2026-10");
        let r = parse_period("2024-02", today).unwrap();
        assert_eq!(r.to, Some(d(2024, 2, 29)));
        let r = parse_period("2026-Q3", today).unwrap();
        assert_eq!((r.from, r.to), (Some(d(2026, 7, 1)), Some(d(2026, 9, 30))));
        assert_eq!(r.label, "2026-Q3");
        let r = parse_period("2026-q4", today).unwrap();
        assert_eq!(r.to, Some(d(2026, 12, 31)));
        let r = parse_period("2026", today).unwrap();
        assert_eq!((r.from, r.to), (Some(d(2026, 1, 1)), Some(d(2026, 12, 31))));
    }

    #[test]
    fn relative_periods() {
        let r = parse_period("last-month", d(2026, 1, 15)).unwrap();
        assert_eq!(
            (r.from, r.to),
            (Some(d(2025, 12, 1)), Some(d(2025, 12, 31)))
        );
        assert_eq!(r.label, "2025-12");
        let r = parse_period("this-month", d(2026, 3, 31)).unwrap();
        assert_eq!(r.label, "2026-03");
        let r = parse_period("last-quarter", d(2026, 2, 1)).unwrap();
        assert_eq!(r.label, "2025-Q4");
        assert_eq!(r.from, Some(d(2025, 10, 1)));
        let r = parse_period("last-quarter", d(2026, 11, 28)).unwrap();
        assert_eq!(r.label, "2026-Q3");
    }

    #[test]
    fn bad_periods_are_named() {
        for bad in [
            "2026-13", "2026-Q5", "26-10", "2026-1x", "october", "2026-Q", "2026-00",
        ] {
            let e = parse_period(bad, d(2026, 1, 1)).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn bounds_are_chisinau_days() {
        let r = parse_period("2026-10", d(2026, 11, 1)).unwrap();
        // 2026-10-01 00:00 EEST (UTC+3) = 2026-09-30 21:00 UTC.
        assert_eq!(r.start_unix(), Some(1790802000));
        // 2026-10-31 23:59:59 EET (UTC+2; DST ended on the 25th).
        assert_eq!(r.end_unix(), Some(1793483999));
    }

    #[test]
    fn from_to() {
        let today = d(2026, 1, 1);
        let r = resolve(None, Some("2026-01-05"), Some("2026-02-01"), today).unwrap();
        assert_eq!(r.label, "2026-01-05_2026-02-01");
        assert_eq!(
            resolve(None, Some("2026-02-05"), Some("2026-02-01"), today).unwrap_err(),
            PeriodError::Reversed {
                from: d(2026, 2, 5),
                to: d(2026, 2, 1)
            }
        );
        assert_eq!(
            resolve(Some("2026"), Some("2026-01-01"), None, today).unwrap_err(),
            PeriodError::Both
        );
        assert!(resolve(None, Some("05.01.2026"), None, today)
            .unwrap_err()
            .to_string()
            .contains("--from `05.01.2026`"));
        assert_eq!(resolve(None, None, None, today).unwrap(), DateRange::all());
    }
}
