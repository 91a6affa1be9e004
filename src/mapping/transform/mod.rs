//! The named transforms as pure functions: text clean-up, decimals in a
//! locale's notation, dates in several formats and Excel serials, whole
//! numbers, and yes/no words in Romanian, Russian and English.
//!
//! The parts: `text` ([`TextOp`]: trim, case, spaces, digits, quotes),
//! `decimal` ([`parse_decimal`] in a [`DecimalLocale`], and whole numbers),
//! `date` ([`DateFormat`]s, [`parse_date`] and Excel serials) and `yes_no`
//! ([`parse_bool`] in a [`BoolLang`]).

mod date;
mod decimal;
mod text;
mod yes_no;

pub use date::{
    default_date_formats, excel_moment, excel_serial, local_moment, parse_date, parse_moment,
    to_excel_serial, DateFormat, Pattern,
};
pub use decimal::{parse_decimal, parse_integer, DecimalLocale};
pub use text::{collapse_spaces, TextOp};
pub use yes_no::{parse_bool, BoolLang};
