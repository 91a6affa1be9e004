//! Serde for decimals as exact JSON numbers (`51.15`, not `"51.15"`, never
//! through a float). Trailing zeros are dropped: `1.50` is sent as `1.5`.
//! And the range of amounts the API holds ([`AMOUNT_LIMIT`]): every
//! amount read from an input is checked against it before any arithmetic,
//! and every operation on amounts is checked, so that no input can make a
//! decimal overflow.

use rust_decimal::Decimal;

/// Amounts (money and quantities) the API can hold are below this in
/// absolute value: 10¹², a trillion, in major units. An input amount at or
/// beyond it is the problem `amount_out_of_range` at its cell; so is a
/// line amount or total that reaches it. Products and sums of amounts
/// below it stay far inside what a decimal holds (about 7.9 × 10²⁸).
pub const AMOUNT_LIMIT: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);

/// [`AMOUNT_LIMIT`] as people read it.
pub const AMOUNT_LIMIT_TEXT: &str = "1,000,000,000,000";

/// Whether an amount is one the API can hold.
#[inline]
pub fn in_range(value: Decimal) -> bool {
    // A value is its digits over 10^scale: digits below the limit are a
    // value below it at any scale, with no rescaling to compare (almost
    // every amount; the rest are compared in full).
    const DIGITS: u128 = 1_000_000_000_000;
    value.mantissa().unsigned_abs() < DIGITS || value.abs() < AMOUNT_LIMIT
}
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

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn the_limit_is_a_trillion() {
        assert_eq!(AMOUNT_LIMIT, dec!(1_000_000_000_000));
        assert!(in_range(dec!(999_999_999_999.99)));
        assert!(in_range(dec!(-999_999_999_999.99)));
        assert!(!in_range(dec!(1_000_000_000_000)));
        assert!(!in_range(Decimal::MAX) && !in_range(Decimal::MIN));
        // Digits past the shortcut's bound, at a scale that keeps them in range.
        assert!(in_range(dec!(999_999_999_999.999_999)));
        assert!(!in_range(dec!(1_000_000_000_000.000_001)));
    }

    proptest::proptest! {
        #[test]
        fn the_shortcut_agrees_with_comparing_in_full(
            lo in proptest::prelude::any::<u32>(),
            mid in proptest::prelude::any::<u32>(),
            hi in 0u32..4,
            negative in proptest::prelude::any::<bool>(),
            scale in 0u32..=28,
        ) {
            let v = Decimal::from_parts(lo, mid, hi, negative, scale);
            proptest::prop_assert_eq!(in_range(v), v.abs() < AMOUNT_LIMIT);
        }
    }
}
