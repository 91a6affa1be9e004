//! How a CSV file's cell bytes become text, shared by the parser and the
//! quick splitter: raw UTF-8 checked per cell, a single-byte code page
//! decoded through a table of its 256 characters, or text the stream
//! decoder has already turned into UTF-8.

use crate::read::ReadError;
use compact_str::CompactString;
use encoding_rs::Encoding;
use std::sync::Arc;

/// How cell bytes become text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decode {
    /// Raw UTF-8, validated per cell.
    Utf8,
    /// Raw bytes of a single-byte encoding, decoded per cell.
    Cells(&'static Encoding),
    /// The stream was decoded to UTF-8 as it was read (UTF-16 and others).
    Stream,
}

/// Each byte's character in a single-byte encoding, when every byte is one
/// character and ASCII stays ASCII.
pub(super) fn byte_table(enc: &'static Encoding) -> Option<Box<ByteTable>> {
    let mut t = Box::new(ByteTable {
        utf8: [[0; 4]; 256],
        len: [0; 256],
    });
    for b in 0..=255u8 {
        let byte = [b];
        let (text, _) = enc.decode_without_bom_handling(&byte);
        let mut chars = text.chars();
        let c = chars.next()?;
        if chars.next().is_some() || (b.is_ascii() && c != char::from(b)) {
            return None;
        }
        let i = usize::from(b);
        t.len[i] = c.encode_utf8(&mut t.utf8[i]).len() as u8;
    }
    Some(t)
}

/// A single-byte code page: each byte's character, as UTF-8.
pub(super) struct ByteTable {
    utf8: [[u8; 4]; 256],
    len: [u8; 256],
}

impl ByteTable {
    fn decode(&self, bytes: &[u8]) -> CompactString {
        // The text's size first, so that it is written where it stays:
        // inside the `CompactString` when short, else allocated once.
        let n: usize = bytes
            .iter()
            .map(|&b| usize::from(self.len[usize::from(b)]))
            .sum();
        // Room for one spare word's write (see below).
        let mut out = CompactString::with_capacity(n + 3);
        // SAFETY: the spare room is at least `n + 3` bytes (asserted), and
        // the first `n` are all written before `set_len(n)`.
        unsafe {
            let room = out.spare_capacity_mut();
            assert!(room.len() >= n + 3, "room for the text and a spare word");
            let dst = room.as_mut_ptr().cast::<u8>();
            let mut k = 0;
            for &b in bytes {
                let i = usize::from(b);
                // Each character is written as a whole word of four bytes,
                // of which its own come first; the next one starts after
                // them. `k` is at most `n - 1` here, so the word ends
                // within the `n + 3` bytes.
                std::ptr::copy_nonoverlapping(self.utf8[i].as_ptr(), dst.add(k), 4);
                k += usize::from(self.len[i]);
            }
            // The `n` bytes written are whole UTF-8 encodings of chars,
            // each made by `char::encode_utf8` in `byte_table`.
            out.set_len(n);
        }
        out
    }
}

/// How a file's cells become text: shared by the parser and [`PlainRows`].
///
/// [`PlainRows`]: super::PlainRows
#[derive(Clone)]
pub(super) struct Decoder {
    pub(super) decode: Decode,
    /// For a single-byte encoding, each byte's character (decoding a cell
    /// through this is much cheaper than a decoder per cell).
    pub(super) table: Option<Arc<ByteTable>>,
    /// The file, for errors.
    pub(super) file: String,
}

impl Decoder {
    /// Whether cells are raw UTF-8, checked as they are read.
    pub(super) fn is_utf8(&self) -> bool {
        matches!(self.decode, Decode::Utf8)
    }

    pub(super) fn text(&self, bytes: &[u8], line: u64) -> Result<CompactString, ReadError> {
        match self.decode {
            Decode::Cells(enc) => Ok(match &self.table {
                Some(t) => {
                    if bytes.is_ascii() {
                        // ASCII stays ASCII: copied as it is.
                        // SAFETY: ASCII bytes are valid UTF-8.
                        return Ok(unsafe { CompactString::from_utf8_unchecked(bytes) });
                    }
                    t.decode(bytes)
                }
                None => enc.decode_without_bom_handling(bytes).0.into(),
            }),
            Decode::Utf8 => match simdutf8::basic::from_utf8(bytes) {
                Ok(text) => Ok(CompactString::from(text)),
                Err(_) => Err(ReadError::Encoding {
                    file: self.file.clone(),
                    line,
                    encoding: "UTF-8",
                    hint: not_utf8_hint(bytes),
                }),
            },
            // Decoded by encoding_rs: always UTF-8.
            Decode::Stream => Ok(CompactString::from_utf8_lossy(bytes)),
        }
    }
}

/// What to do about a cell that is not UTF-8 in a file read as UTF-8: the
/// encoding its bytes look like, as the `encoding =` line to add.
fn not_utf8_hint(bytes: &[u8]) -> String {
    let mut det = chardetng::EncodingDetector::new();
    det.feed(bytes, true);
    let (guess, sure) = det.guess_assess(None, false);
    let evidence = bytes.iter().filter(|b| !b.is_ascii()).count();
    if sure && evidence >= 16 {
        let name = guess.name();
        format!(
            "the text is UTF-8 up to here and not after (its bytes here look like {name}); if the whole file is {name}, add `encoding = \"{}\"` to the mapping's [source]; if it mixes encodings, convert it to one first",
            name.to_ascii_lowercase()
        )
    } else {
        "the text is UTF-8 up to here and not after; add the file's encoding to the mapping's [source] (for example `encoding = \"windows-1251\"`); if it mixes encodings, convert it to one first".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_tables_decode_as_encoding_rs_does() {
        let all: Vec<u8> = (0..=255u8).collect();
        for enc in [
            encoding_rs::WINDOWS_1251,
            encoding_rs::KOI8_R,
            encoding_rs::IBM866,
            encoding_rs::WINDOWS_1250,
            encoding_rs::WINDOWS_1252,
        ] {
            let t = byte_table(enc).expect("a single-byte table");
            let ours = t.decode(&all);
            assert_eq!(
                ours,
                enc.decode_without_bom_handling(&all).0,
                "{}",
                enc.name()
            );
            for b in all.iter().copied() {
                let one = [b];
                assert_eq!(t.decode(&one), enc.decode_without_bom_handling(&one).0);
            }
            assert_eq!(t.decode(&[]), "");
        }
    }
}
