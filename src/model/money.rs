//! Serde for decimals as exact JSON numbers (`51.15`, not `"51.15"`, never
//! through a float). Trailing zeros are dropped: `1.50` is sent as `1.5`.

use rust_decimal::Decimal;
use serde::{Deserializer, Serialize, Serializer};
use std::str::FromStr;

fn number(value: &Decimal) -> Result<serde_json::Number, String> {
    serde_json::Number::from_str(&value.normalize().to_string()).map_err(|e| e.to_string())
}

/// For `Decimal` fields.
pub mod num {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        number(value)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        rust_decimal::serde::arbitrary_precision::deserialize(d)
    }
}

/// For `Option<Decimal>` fields.
pub mod opt {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => super::num::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        rust_decimal::serde::arbitrary_precision_option::deserialize(d)
    }
}
