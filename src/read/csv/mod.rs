//! CSV/TSV, streaming in bounded memory: the encoding is set or detected (a
//! BOM, valid UTF-8, else `chardetng` over the first 64 KiB, with the
//! confidence stated), bytes are decoded once on the fly
//! (`encoding_rs_io`), the delimiter is set or detected among `,` `;` tab
//! `|`, title lines above the header row are skipped, and a row whose width
//! differs from the header's is reported as a row error and kept.
//!
//! Row numbers are physical line numbers: a record that spans lines (a
//! quoted field with line breaks) is numbered by the line it starts on.
//!
//! The parts, in the order a file meets them: `sniff` (the encoding and
//! delimiter detected from a sample, a weak or mixed guess refused),
//! `guard` (the bytes checked on their way to the parser: no NUL, no line
//! over the cell limit, bare-CR line ends, the end of the file marked so
//! that a quote left open is caught), `decode` (how cell bytes become text:
//! UTF-8 checked per cell, a single-byte code page through a table, or a
//! stream decoded on the fly), `parse` ([`CsvSource`]: the `csv` parser's
//! records as rows with their line numbers) and `split` ([`PlainRows`]: the
//! quick `memchr` splitter for files with no quote character in them).

mod decode;
mod guard;
mod parse;
mod sniff;
mod split;

pub use parse::CsvSource;
pub use sniff::{detect_delimiter, detect_encoding, DELIMITERS};
pub use split::{Breaks, PlainRows, PLAIN_PART_MIN};
