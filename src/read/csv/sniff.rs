//! Sniffing a CSV file before it is parsed: the sample read from its start
//! (64 KiB), the encoding it suggests (a BOM, valid UTF-8, else `chardetng`,
//! with the confidence stated, and refused when it is weak or the text
//! turns from UTF-8 into something else), UTF-16 without a BOM, the
//! delimiter that splits its lines most consistently, and the NUL bytes
//! that give away a binary file.

use crate::read::ReadError;
use encoding_rs::Encoding;
use std::io::Read;
use std::path::Path;

pub(super) const SAMPLE: usize = 64 * 1024;

/// The delimiters tried when none is set.
pub const DELIMITERS: [u8; 4] = [b';', b',', b'\t', b'|'];

/// The encoding a sample suggests, and how sure that is.
pub fn detect_encoding(sample: &[u8], complete: bool) -> (&'static Encoding, &'static str, usize) {
    if let Some((enc, bom_len)) = Encoding::for_bom(sample) {
        return (enc, "certain", bom_len);
    }
    match std::str::from_utf8(sample) {
        Ok(_) => return (encoding_rs::UTF_8, "certain", 0),
        // Valid up to a character cut at the sample's end.
        Err(e) if e.error_len().is_none() && !complete => {
            return (encoding_rs::UTF_8, "certain", 0)
        }
        Err(_) => {}
    }
    let mut det = chardetng::EncodingDetector::new();
    det.feed(sample, complete);
    let (enc, sure) = det.guess_assess(None, false);
    // A few letters beyond ASCII read as something in most code pages:
    // too little to tell them apart, whatever the detector says.
    let evidence = sample.iter().filter(|b| !b.is_ascii()).count();
    let likely = sure && evidence >= MIN_EVIDENCE;
    (enc, if likely { "likely" } else { "guessed" }, 0)
}

/// Bytes beyond ASCII a sample needs before its encoding is taken as
/// told: fewer (a name or two with diacritics) read as letters in most
/// single-byte code pages.
const MIN_EVIDENCE: usize = 16;

/// The single-byte encodings a legacy register is most often in, shown
/// side by side when the guess is weak.
const CANDIDATES: [&Encoding; 4] = [
    encoding_rs::WINDOWS_1251,
    encoding_rs::WINDOWS_1252,
    encoding_rs::IBM866,
    encoding_rs::WINDOWS_1250,
];

/// The encoding of a file whose sample is `sample`, or why it cannot be
/// told: the text is UTF-8 up to a point and not after (mixed encodings,
/// or a legacy file with UTF-8 above it), or the statistical guess is
/// weak. The message names the line where the readings disagree, shows
/// it, and gives the `encoding =` line to add.
pub(super) fn detect(
    sample: &[u8],
    complete: bool,
) -> Result<(&'static Encoding, &'static str, usize), String> {
    let (enc, confidence, bom) = detect_encoding(sample, complete);
    if confidence == "certain" {
        return Ok((enc, confidence, bom));
    }
    let valid = match std::str::from_utf8(sample) {
        Ok(_) => sample.len(),
        Err(e) => e.valid_up_to(),
    };
    let line_at = |at: usize| memchr::memchr_iter(b'\n', &sample[..at]).count() + 1;
    let line_text = |at: usize| {
        let start = memchr::memrchr(b'\n', &sample[..at]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &sample[at..]).map_or(sample.len(), |i| at + i);
        &sample[start..end]
    };
    let reading = |bytes: &[u8], e: &'static Encoding| {
        let (text, _) = e.decode_without_bom_handling(bytes);
        let text = text.trim_end_matches('\r').to_string();
        crate::model::text::escape_all(&crate::model::text::cut(&text)).into_owned()
    };
    if !sample[..valid].is_ascii() {
        // UTF-8 letters first, then bytes that are not UTF-8.
        let rest = &sample[valid..];
        let mut det = chardetng::EncodingDetector::new();
        det.feed(rest, complete);
        let (guess, _) = det.guess_assess(None, false);
        let bad = line_text(valid);
        return Err(format!(
            "the text is UTF-8 up to line {} and not after it: that line reads as {:?} in {}; \
             if the whole file is {} (its top written as UTF-8 by mistake), add \
             `encoding = \"{}\"` to the mapping's [source]; if it mixes encodings, convert it to one first",
            line_at(valid),
            reading(bad, guess),
            guess.name(),
            guess.name(),
            guess.name().to_ascii_lowercase(),
        ));
    }
    if confidence == "likely" {
        return Ok((enc, confidence, bom));
    }
    // A weak guess: the first line with bytes beyond ASCII, read each way.
    let first = sample.iter().position(|b| !b.is_ascii()).unwrap_or(0);
    let bad = line_text(first);
    let mut readings: Vec<String> = Vec::new();
    for e in std::iter::once(enc).chain(CANDIDATES.into_iter().filter(|c| *c != enc)) {
        readings.push(format!("{} {:?}", e.name(), reading(bad, e)));
    }
    Err(format!(
        "cannot tell the text's encoding: it is not UTF-8, and the best guess ({}) is weak; \
         line {}, the first with letters beyond ASCII, reads as: {}; add the encoding that reads \
         right to the mapping's [source], for example `encoding = \"{}\"`",
        enc.name(),
        line_at(first),
        readings.join(", "),
        enc.name().to_ascii_lowercase(),
    ))
}

/// NUL bytes and no BOM: UTF-16 without a BOM (its byte order told by
/// where the zero bytes of ASCII characters fall), or a binary file.
pub(super) fn utf16_without_bom(sample: &[u8]) -> Option<&'static Encoding> {
    let pairs = sample.len().min(4096) / 2;
    if pairs < 2 {
        return None;
    }
    let (mut even, mut odd) = (0usize, 0usize);
    for pair in sample[..pairs * 2].chunks_exact(2) {
        even += usize::from(pair[0] == 0);
        odd += usize::from(pair[1] == 0);
    }
    // Text in Latin or Cyrillic script: one byte of most pairs is zero
    // (Cyrillic's high byte is 0x04), the other rarely is.
    let most = pairs * 3 / 10;
    let few = pairs / 20;
    if odd >= most && even <= few {
        Some(encoding_rs::UTF_16LE)
    } else if even >= most && odd <= few {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

/// The delimiter that splits the sample's lines most consistently.
pub fn detect_delimiter(text: &str, quote: u8) -> Option<u8> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(50)
        .collect();
    let mut best: Option<(usize, usize, u8)> = None;
    for &d in &DELIMITERS {
        let counts: Vec<usize> = lines
            .iter()
            .map(|l| count_outside_quotes(l, d, quote))
            .collect();
        let mut freq = std::collections::HashMap::<usize, usize>::new();
        for &c in counts.iter().filter(|&&c| c > 0) {
            *freq.entry(c).or_insert(0) += 1;
        }
        if let Some((&mode, &n)) = freq.iter().max_by_key(|(c, n)| (**n, **c)) {
            let score = (n, mode);
            if best.is_none_or(|(bn, bm, _)| score > (bn, bm)) {
                best = Some((n, mode, d));
            }
        }
    }
    best.map(|(_, _, d)| d)
}

fn count_outside_quotes(line: &str, d: u8, quote: u8) -> usize {
    let mut inside = false;
    let mut n = 0;
    for &b in line.as_bytes() {
        if b == quote {
            inside = !inside;
        } else if b == d && !inside {
            n += 1;
        }
    }
    n
}

pub(super) fn read_sample(path: &Path, file: &mut std::fs::File) -> Result<Vec<u8>, ReadError> {
    let mut sample = Vec::with_capacity(SAMPLE);
    file.by_ref()
        .take(SAMPLE as u64)
        .read_to_end(&mut sample)
        .map_err(|e| ReadError::file(path, "failed to read", Some(Box::new(e))))?;
    Ok(sample)
}

/// NUL bytes and no BOM: a binary file or BOM-less UTF-16.
pub(super) fn bom_free_binary(sample: &[u8]) -> bool {
    Encoding::for_bom(sample).is_none() && sample.iter().take(4096).any(|&b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_detection_prefers_consistent_splits() {
        assert_eq!(detect_delimiter("a;b;c\n1;2,5;3\n4;5;6", b'"'), Some(b';'));
        assert_eq!(detect_delimiter("a,b,c\n1,\"2;5\",3", b'"'), Some(b','));
        assert_eq!(detect_delimiter("a\tb\n1\t2", b'"'), Some(b'\t'));
        assert_eq!(detect_delimiter("a|b|c\n1|2|3", b'"'), Some(b'|'));
        assert_eq!(detect_delimiter("abc\ndef", b'"'), None);
    }

    #[test]
    fn encoding_detection() {
        let (e, c, _) = detect_encoding("Номер;Дата".as_bytes(), true);
        assert_eq!((e.name(), c), ("UTF-8", "certain"));
        let (bytes, _, _) = encoding_rs::WINDOWS_1251
            .encode("Номер;Дата;Контрагент;Количество;Цена\nСчёт на оплату покупателю");
        let (e, _, _) = detect_encoding(&bytes, true);
        assert_eq!(e.name(), "windows-1251");
        let (e, c, n) = detect_encoding(&[0xFF, 0xFE, b'a', 0], true);
        assert_eq!((e.name(), c, n), ("UTF-16LE", "certain", 2));
    }

    #[test]
    fn utf8_then_cp1251_is_refused_at_the_line_they_disagree() {
        let mut bytes = "Номер;Контрагент\nМД-1;Молдтрейд\n".as_bytes().to_vec();
        let (tail, _, _) = encoding_rs::WINDOWS_1251.encode("МД-2;Кишинэу Продукт\n");
        bytes.extend_from_slice(&tail);
        let e = detect(&bytes, true).unwrap_err();
        assert!(
            e.starts_with("the text is UTF-8 up to line 3 and not after it"),
            "{e}"
        );
        assert!(e.contains("windows-1251"), "{e}");
        assert!(e.contains("encoding = \"windows-1251\""), "{e}");
    }

    #[test]
    fn a_weak_guess_is_refused_with_the_readings() {
        // One accented letter in a sea of ASCII: no detector can be sure.
        let bytes = b"Nr;Name\n1;Caf\xe9 Central\n2;Plain\n";
        let e = detect(bytes, true).unwrap_err();
        assert!(e.starts_with("cannot tell the text's encoding"), "{e}");
        assert!(e.contains("line 2"), "{e}");
        assert!(e.contains("windows-1251 \"1;Caf"), "{e}");
        let (b, _, _) = encoding_rs::WINDOWS_1251
            .encode("Номер;Дата;Контрагент;Количество;Цена\nСчёт на оплату покупателю");
        assert_eq!(detect(&b, true).unwrap().0, encoding_rs::WINDOWS_1251);
    }

    #[test]
    fn utf16_byte_order_is_told_without_a_bom() {
        let le: Vec<u8> = "Nr;Номер\n1;2\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let be: Vec<u8> = "Nr;Номер\n1;2\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(utf16_without_bom(&le), Some(encoding_rs::UTF_16LE));
        assert_eq!(utf16_without_bom(&be), Some(encoding_rs::UTF_16BE));
        assert_eq!(utf16_without_bom(b"\x00\x00\x00\x00\x12\x34\x00\x00"), None);
    }
}
