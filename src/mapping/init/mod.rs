//! `mapping init`: a starting mapping guessed from a file, from its header
//! names and from its values, every guessed field with a comment saying
//! what it was guessed from, and the columns left unmapped with why.
//!
//! The steps and their parts:
//! - `sample`: the JSON paths, the sheet(s) (`"*"` when several share the
//!   header), the header row below titles, a sample of rows;
//! - `profile`: what each column's values are (dates in which notation,
//!   numbers in which decimal notation, IDNOs with valid check digits,
//!   currency and country codes, VAT rates as percents or fractions, …);
//! - `vocabulary` and `names`: header names per field in Russian, Romanian
//!   and English and this tool's export paths, scored exact / whole word /
//!   part;
//! - `columns`: names and values together, each column for one field and
//!   each field its best column;
//! - `amounts` and `lines`: net, VAT and gross told apart by arithmetic
//!   (`quantity × price ≈ net`, `net × rate ≈ VAT`, `net + VAT ≈ gross`),
//!   VAT rates mapped to the standard ids; `wide`: wide layouts;
//! - `grouping`: totals rows, continuation rows (fill-down), the document
//!   key by repetition;
//! - `decide`, `invoice` and `parties`: the decisions in order, the
//!   document, the customer and the line written out;
//! - `render`: the mapping file's text.
//!
//! Every rule is general and its evidence is in the comment it writes: no
//! rule knows a particular file.

mod amounts;
mod columns;
mod decide;
mod grouping;
mod invoice;
mod lines;
mod names;
mod parties;
mod profile;
mod render;
mod sample;
mod vocabulary;
mod wide;

use crate::read::ReadError;
use std::path::Path;

/// A guessed starting mapping for `file`, as TOML text.
pub fn guess(file: &Path) -> Result<String, ReadError> {
    let s = sample::sample(file)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    let cx = decide::Ctx::new(s);
    Ok(cx.decide(&name).text())
}
