//! Moldovan VAT rates in force by date (Tax Code art. 96), as a table users
//! can extend. Tax rate ids by convention: `tva20`, `tva12`, `tva8`, `tva0`.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One rate and the period it applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VatRate {
    /// The tax-rate id sent to the API (`tva20`).
    pub id: String,
    /// Percent (`20`).
    pub value: Decimal,
    /// First day in force (inclusive); none means always.
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Last day in force (inclusive); none means still in force.
    #[serde(default)]
    pub until: Option<NaiveDate>,
    /// What it applies to, for people reading errors.
    #[serde(default)]
    pub note: String,
}

/// The dated table of VAT rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VatTable {
    pub rates: Vec<VatRate>,
}

impl Default for VatTable {
    fn default() -> Self {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day);
        let rate = |id: &str, v: i64, from, until, note: &str| VatRate {
            id: id.into(),
            value: Decimal::from(v),
            from,
            until,
            note: note.into(),
        };
        VatTable {
            rates: vec![
                rate("tva20", 20, None, None, "standard rate"),
                rate(
                    "tva12",
                    12,
                    d(2021, 1, 1),
                    d(2025, 2, 13),
                    "HoReCa, 1 Jan 2021 to 13 Feb 2025",
                ),
                rate(
                    "tva8",
                    8,
                    None,
                    None,
                    "reduced rate (bread, dairy, medicines, natural gas; HoReCa since 14 Feb 2025)",
                ),
                rate("tva0", 0, None, None, "zero rate with deduction (exports)"),
            ],
        }
    }
}

impl VatTable {
    /// The rate with this id, whatever its dates.
    pub fn get(&self, id: &str) -> Option<&VatRate> {
        self.rates.iter().find(|r| r.id == id)
    }

    /// Whether rate `id` was in force on `date`.
    pub fn in_force(&self, id: &str, date: NaiveDate) -> bool {
        self.rates.iter().any(|r| {
            r.id == id && r.from.is_none_or(|f| f <= date) && r.until.is_none_or(|u| date <= u)
        })
    }

    /// The ids of the rates in force on `date`, for "expected" in messages.
    pub fn ids_in_force(&self, date: NaiveDate) -> Vec<&str> {
        self.rates
            .iter()
            .filter(|r| r.from.is_none_or(|f| f <= date) && r.until.is_none_or(|u| date <= u))
            .map(|r| r.id.as_str())
            .collect()
    }

    /// Add or override rates from a user's TOML table (`[[rates]]`).
    pub fn extend_from_toml(&mut self, text: &str) -> Result<(), toml::de::Error> {
        let extra: VatTable = toml::from_str(text)?;
        self.rates.extend(extra.rates);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horeca_12_percent_period() {
        let t = VatTable::default();
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert!(!t.in_force("tva12", d(2020, 12, 31)));
        assert!(t.in_force("tva12", d(2021, 1, 1)));
        assert!(t.in_force("tva12", d(2025, 2, 13)));
        assert!(!t.in_force("tva12", d(2025, 2, 14)));
        assert!(t.in_force("tva20", d(2019, 5, 1)));
        assert!(!t.in_force("tva5", d(2024, 1, 1)));
    }
}
