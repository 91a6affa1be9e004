//! Sniffing a CSV file before it is parsed: the sample read from its start
//! (64 KiB), the encoding it suggests (a BOM, valid UTF-8, else `chardetng`,
//! with the confidence stated), the delimiter that splits its lines most
//! consistently, and the NUL bytes that give away a binary file.

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
    (enc, if sure { "likely" } else { "guessed" }, 0)
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
}
