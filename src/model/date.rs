//! Calendar dates and timestamps as the API sends them: integer Unix seconds,
//! a calendar date being 00:00 in Europe/Chisinau.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Chisinau;

/// The API's time zone for calendar dates.
pub const TZ: chrono_tz::Tz = Chisinau;

/// 00:00 of `date` in Chisinau, as Unix seconds.
pub fn to_unix(date: NaiveDate) -> i64 {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    match TZ.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) => t.timestamp(),
        chrono::LocalResult::Ambiguous(first, _) => first.timestamp(),
        // Moldova moves clocks at 02:00/03:00, never at midnight; be total anyway.
        chrono::LocalResult::None => TZ
            .from_local_datetime(&(midnight + chrono::Duration::hours(1)))
            .earliest()
            .map(|t| t.timestamp())
            .unwrap_or_else(|| midnight.and_utc().timestamp()),
    }
}

/// The Chisinau calendar date of a Unix timestamp.
pub fn from_unix(secs: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp(secs, 0).map(|t| t.with_timezone(&TZ).date_naive())
}

/// The first second after the Chisinau day `date` ends (exclusive upper bound).
pub fn end_of_day_unix(date: NaiveDate) -> i64 {
    to_unix(date.succ_opt().unwrap_or(date)) - 1
}

/// Serde for `Option<NaiveDate>` as optional Unix seconds (Chisinau midnight).
pub mod unix_date_opt {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_i64(to_unix(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        let secs: Option<i64> = Option::deserialize(d)?;
        match secs {
            None => Ok(None),
            Some(s) => from_unix(s)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("timestamp {s} out of range"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chisinau_midnight_round_trips() {
        let d = NaiveDate::from_ymd_opt(2024, 1, 5).unwrap();
        // Winter: UTC+2, so 00:00 local is 22:00 UTC the day before.
        assert_eq!(to_unix(d), 1704405600);
        assert_eq!(from_unix(to_unix(d)), Some(d));
        let summer = NaiveDate::from_ymd_opt(2024, 7, 1).unwrap();
        assert_eq!(from_unix(to_unix(summer)), Some(summer));
        assert_eq!(end_of_day_unix(d) - to_unix(d), 86399);
    }
}
