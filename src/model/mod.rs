//! The API's objects with decimal money and real dates, plus the types that
//! carry a row's address and its problems through the import pipeline.
//!
//! These types are the client's view of API.md: every field optional except
//! where the API always sends it, read-only fields skipped when absent so a
//! value built for a request never sends them. Money is [`Money`]
//! (`rust_decimal`), serialized as an exact JSON number; calendar dates are
//! [`chrono::NaiveDate`], sent as Unix seconds at 00:00 Europe/Chisinau.

pub mod date;
pub mod draft;
pub mod fields;
pub mod idno;
pub mod money;
pub mod objects;
pub mod problem;
pub mod text;
pub mod vat;

pub use draft::{
    intern, CellRef, Checks, Computed, DocKind, Draft, FieldPath, LineChecks, MatchOn, Origins,
    Record, RowRef, Scope,
};
pub use objects::*;
pub use problem::{Problem, Severity};

/// Money in major units (`51.15` MDL). Never a float.
pub type Money = rust_decimal::Decimal;

/// Metadata: at most 10 keys, keys ≤ 40 bytes, values ≤ 255 bytes; values
/// read back are strings.
pub type Metadata = std::collections::BTreeMap<String, String>;

/// The hasher of maps whose keys are hashes already (the grouping pass's
/// group keys, the duplicate check's numbers): it passes a `u64` through.
#[derive(Debug, Default, Clone, Copy)]
pub struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is meant; anything else still hashes.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// API.md's metadata limits, shared by validation and the emulator.
pub mod limits {
    pub const METADATA_MAX_KEYS: usize = 10;
    pub const METADATA_KEY_MAX_BYTES: usize = 40;
    pub const METADATA_VALUE_MAX_BYTES: usize = 255;
    pub const NUMBER_MAX_CHARS: usize = 32;
    pub const PER_PAGE_MAX: u32 = 100;
    pub const IDEMPOTENCY_KEY_MIN: usize = 6;
    pub const IDEMPOTENCY_KEY_MAX: usize = 64;
}

/// API.md "Lists": the fields `filter[...]` accepts, per resource. The
/// emulator refuses any other with a 400; the exporter checks them before
/// sending anything.
pub mod filterable {
    pub const CUSTOMERS: &[&str] = &["number", "name", "email", "tax_id", "country", "type"];
    pub const INVOICES: &[&str] = &[
        "number",
        "customer",
        "paid",
        "closed",
        "draft",
        "status",
        "currency",
        "date",
        "due_date",
        "voided",
        "purchase_order",
        "total",
        "balance",
    ];
    pub const CREDIT_NOTES: &[&str] = &["number", "customer", "status", "date"];
    pub const PAYMENTS: &[&str] = &[
        "reference",
        "customer",
        "method",
        "currency",
        "voided",
        "date",
        "amount",
    ];
}

/// The metadata key that carries an invoice unit's stable import key.
pub const IMPORT_KEY: &str = "import_key";

/// Round money the API's way: 2 decimals, halves away from zero.
pub fn round_money(value: Money) -> Money {
    value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rounds_halves_away_from_zero() {
        assert_eq!(round_money(dec!(0.125)), dec!(0.13));
        assert_eq!(round_money(dec!(-0.125)), dec!(-0.13));
        assert_eq!(round_money(dec!(2.675)), dec!(2.68));
        assert_eq!(round_money(dec!(1.004)), dec!(1.00));
    }
}
