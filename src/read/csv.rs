//! CSV/TSV, streaming in bounded memory: the encoding is set or detected (a
//! BOM, valid UTF-8, else `chardetng` over the first 64 KiB, with the
//! confidence stated), bytes are decoded once on the fly
//! (`encoding_rs_io`), the delimiter is set or detected among `,` `;` tab
//! `|`, title lines above the header row are skipped, and a row whose width
//! differs from the header's is reported as a row error and kept.
//!
//! Row numbers are physical line numbers: a record that spans lines (a
//! quoted field with line breaks) is numbered by the line it starts on.

use super::{
    file_label, normalize_headers, Cell, Detected, Format, Projection, ReadError, RecordSource,
    SourceRow, SourceSpec,
};
use crate::model::RowRef;
use encoding_rs::Encoding;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const SAMPLE: usize = 64 * 1024;

/// The delimiters tried when none is set.
pub const DELIMITERS: [u8; 4] = [b';', b',', b'\t', b'|'];

type Input = Box<dyn Read + Send>;

/// How cell bytes become text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decode {
    /// Raw UTF-8, validated per cell.
    Utf8,
    /// Raw bytes of a single-byte encoding, decoded per cell.
    Cells(&'static Encoding),
    /// The stream was decoded to UTF-8 as it was read (UTF-16 and others).
    Stream,
}

/// A CSV file being read.
pub struct CsvSource {
    rdr: csv::Reader<Input>,
    path: PathBuf,
    file: Arc<str>,
    headers: Vec<String>,
    detected: Detected,
    record: csv::ByteRecord,
    /// Lines end in CRLF: a record's own line break is consumed with the next record.
    crlf: bool,
    projection: Projection,
    decode: Decode,
    /// For a single-byte encoding, each byte's character (decoding a cell
    /// through this is much cheaper than a decoder per cell).
    table: Option<Box<ByteTable>>,
    done: bool,
}

/// Each byte's character in a single-byte encoding, when every byte is one
/// character and ASCII stays ASCII.
fn byte_table(enc: &'static Encoding) -> Option<Box<ByteTable>> {
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
struct ByteTable {
    utf8: [[u8; 4]; 256],
    len: [u8; 256],
}

impl ByteTable {
    fn decode(&self, bytes: &[u8]) -> String {
        let mut out = vec![0u8; bytes.len() * 3 + 1];
        let mut n = 0;
        for &b in bytes {
            let i = usize::from(b);
            out[n..n + 4].copy_from_slice(&self.utf8[i]);
            n += usize::from(self.len[i]);
        }
        out.truncate(n);
        // SAFETY: `out` is a sequence of whole UTF-8 encodings of chars,
        // each made by `char::encode_utf8` in `byte_table`.
        unsafe { String::from_utf8_unchecked(out) }
    }
}

impl std::fmt::Debug for CsvSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvSource")
            .field("path", &self.path)
            .field("headers", &self.headers)
            .field("detected", &self.detected)
            .finish()
    }
}

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

fn read_sample(path: &Path, file: &mut std::fs::File) -> Result<Vec<u8>, ReadError> {
    let mut sample = Vec::with_capacity(SAMPLE);
    file.by_ref()
        .take(SAMPLE as u64)
        .read_to_end(&mut sample)
        .map_err(|e| ReadError::file(path, "failed to read", Some(Box::new(e))))?;
    Ok(sample)
}

impl CsvSource {
    pub fn open(
        path: &Path,
        spec: &SourceSpec,
        format: Format,
        projection: Projection,
    ) -> Result<CsvSource, ReadError> {
        let mut file = std::fs::File::open(path)
            .map_err(|e| ReadError::file(path, "failed to open", Some(Box::new(e))))?;
        let sample = read_sample(path, &mut file)?;
        let complete = sample.len() < SAMPLE;
        let (encoding, confidence, bom_len) = match spec.encoding {
            Some(enc) => {
                let bom = Encoding::for_bom(&sample)
                    .filter(|(b, _)| *b == enc)
                    .map_or(0, |(_, n)| n);
                (enc, "set", bom)
            }
            None => {
                if bom_free_binary(&sample) {
                    return Err(ReadError::file(
                        path,
                        "this does not look like a text (CSV) file: it holds NUL bytes; if it is UTF-16 without a BOM, set `encoding = \"utf-16le\"` in the mapping's [source]",
                        None,
                    ));
                }
                detect_encoding(&sample, complete)
            }
        };
        tracing::debug!(
            file = %path.display(),
            encoding = encoding.name(),
            confidence,
            "CSV encoding"
        );
        let header_row = spec.header_row.max(1);
        let delimiter = match (spec.delimiter, format) {
            (Some(d), _) => d,
            (None, Format::Tsv) => b'\t',
            (None, _) => {
                let (text, _) = encoding.decode_without_bom_handling(&sample[bom_len..]);
                let from_header: String = text
                    .lines()
                    .skip((header_row - 1) as usize)
                    .collect::<Vec<_>>()
                    .join("\n");
                detect_delimiter(&from_header, spec.quote).unwrap_or(b',')
            }
        };
        tracing::debug!(file = %path.display(), delimiter = %(delimiter as char).escape_default(), "CSV delimiter");

        let utf8 = encoding == encoding_rs::UTF_8;
        let crlf = {
            let (text, _) = encoding.decode_without_bom_handling(&sample[bom_len..]);
            text.contains("\r\n")
        };
        let chained = Cursor::new(sample).chain(file);
        // UTF-8 and single-byte encodings keep the CSV structure in ASCII
        // bytes: parse the raw bytes and decode only the cells wanted.
        let decode = if utf8 {
            Decode::Utf8
        } else if encoding.is_single_byte() {
            Decode::Cells(encoding)
        } else {
            Decode::Stream
        };
        let input: Input = if decode != Decode::Stream {
            let mut c = chained;
            // Skip a BOM.
            let mut skip = vec![0u8; bom_len];
            let _ = c.read_exact(&mut skip);
            Box::new(TrailingNewline::new(c, crlf))
        } else {
            Box::new(TrailingNewline::new(
                encoding_rs_io::DecodeReaderBytesBuilder::new()
                    .encoding(Some(encoding))
                    .bom_override(true)
                    .build(chained),
                crlf,
            ))
        };
        let rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .quote(spec.quote)
            .buffer_capacity(256 * 1024)
            .from_reader(input);
        let mut src = CsvSource {
            rdr,
            path: path.to_path_buf(),
            file: file_label(path),
            headers: Vec::new(),
            detected: Detected {
                format,
                encoding: Some(encoding.name()),
                confidence: Some(confidence),
                delimiter: Some(delimiter),
                sheet: None,
                header_row: None,
            },
            record: csv::ByteRecord::new(),
            crlf,
            projection,
            decode,
            table: match decode {
                Decode::Cells(enc) => byte_table(enc),
                _ => None,
            },
            done: false,
        };
        // Skip title lines, then read the header.
        let mut seen = 0u64;
        loop {
            if !src.next_record()? {
                return Err(ReadError::file(
                    path,
                    format!(
                        "no header row: header_row is {header_row} but the file ends after {seen} records"
                    ),
                    None,
                ));
            }
            seen += 1;
            let line = src.start_line();
            if line >= header_row {
                src.detected.header_row = Some(line);
                break;
            }
        }
        let mut raw = Vec::with_capacity(src.record.len());
        for f in src.record.iter() {
            raw.push(src.text(f, header_row)?);
        }
        src.headers = normalize_headers(raw);
        Ok(src)
    }

    fn next_record(&mut self) -> Result<bool, ReadError> {
        self.rdr.read_byte_record(&mut self.record).map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            ReadError::file(
                &self.path,
                format!("failed to read near line {line}"),
                Some(Box::new(e)),
            )
        })
    }

    fn text(&self, bytes: &[u8], line: u64) -> Result<String, ReadError> {
        match self.decode {
            Decode::Cells(enc) => Ok(match &self.table {
                Some(t) => {
                    if bytes.is_ascii() {
                        // ASCII stays ASCII: copied as it is.
                        // SAFETY: ASCII bytes are valid UTF-8.
                        return Ok(unsafe { String::from_utf8_unchecked(bytes.to_vec()) });
                    }
                    t.decode(bytes)
                }
                None => enc.decode_without_bom_handling(bytes).0.into_owned(),
            }),
            Decode::Utf8 => {
                std::str::from_utf8(bytes)
                    .map(str::to_owned)
                    .map_err(|_| ReadError::Encoding {
                        file: self.path.display().to_string(),
                        line,
                        encoding: "UTF-8",
                    })
            }
            // Decoded by encoding_rs: always UTF-8.
            Decode::Stream => Ok(match std::str::from_utf8(bytes) {
                Ok(s) => s.to_owned(),
                Err(_) => String::from_utf8_lossy(bytes).into_owned(),
            }),
        }
    }

    /// The physical line the record just read starts on: the lines consumed
    /// so far, less the line breaks inside its quoted fields and its own
    /// line break (consumed already unless the file ends lines with CRLF,
    /// whose `\n` is consumed with the next record).
    fn start_line(&self) -> u64 {
        let end = self.rdr.position().line();
        let embedded = memchr::memchr_iter(b'\n', self.record.as_slice()).count() as u64;
        let own = u64::from(!self.crlf);
        // Never before the line after the previous record (an unclosed
        // quote runs to the end of the file with no line break of its own).
        let lower = self.record.position().map_or(1, |p| p.line()) + u64::from(self.crlf);
        end.saturating_sub(embedded + own).max(lower).max(1)
    }

    fn row(&mut self) -> Result<Result<SourceRow, ReadError>, ReadError> {
        let line = self.start_line();
        let width = self.headers.len();
        let found = self.record.len();
        let mut cells = Vec::with_capacity(width);
        for i in 0..width.min(found) {
            let wanted = self
                .projection
                .as_ref()
                .is_none_or(|p| p.get(i).copied().unwrap_or(false));
            let f = &self.record[i];
            if !wanted || f.is_empty() {
                cells.push(Cell::Empty);
            } else {
                cells.push(Cell::Text(self.text(f, line)?));
            }
        }
        cells.resize(width, Cell::Empty);
        let row = SourceRow {
            at: RowRef {
                file: self.file.clone(),
                sheet: None,
                row: line,
            },
            cells,
        };
        let blank_line = found == 1 && self.record[0].iter().all(u8::is_ascii_whitespace);
        if found != width && !blank_line {
            // A ragged row whose extra cells are all empty is only a trailing delimiter.
            let extra_empty = found > width && self.record.iter().skip(width).all(|f| f.is_empty());
            if !extra_empty {
                return Ok(Err(ReadError::Ragged {
                    row: Box::new(row),
                    expected: width,
                    found,
                }));
            }
        }
        Ok(Ok(row))
    }
}

/// Makes sure the text ends with a line break (`\r\n` in CRLF files), so
/// every record's own line break counts the same way.
struct TrailingNewline<R> {
    inner: R,
    last: u8,
    crlf: bool,
    tail: &'static [u8],
    done: bool,
}

impl<R: Read> TrailingNewline<R> {
    fn new(inner: R, crlf: bool) -> Self {
        TrailingNewline {
            inner,
            last: b'\n',
            crlf,
            tail: &[],
            done: false,
        }
    }
}

impl<R: Read> Read for TrailingNewline<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.done {
            let n = self.inner.read(buf)?;
            if n > 0 {
                self.last = buf[n - 1];
                return Ok(n);
            }
            self.done = true;
            if self.last != b'\n' {
                self.tail = if self.crlf && self.last != b'\r' {
                    b"\r\n"
                } else {
                    b"\n"
                };
            }
        }
        let n = self.tail.len().min(buf.len());
        buf[..n].copy_from_slice(&self.tail[..n]);
        self.tail = &self.tail[n..];
        Ok(n)
    }
}

/// NUL bytes and no BOM: a binary file or BOM-less UTF-16.
fn bom_free_binary(sample: &[u8]) -> bool {
    Encoding::for_bom(sample).is_none() && sample.iter().take(4096).any(|&b| b == 0)
}

impl Iterator for CsvSource {
    type Item = Result<SourceRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_record() {
            Ok(true) => {}
            Ok(false) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        }
        match self.row() {
            Ok(r) => Some(r),
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl RecordSource for CsvSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn detected(&self) -> &Detected {
        &self.detected
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
        }
    }

    #[test]
    fn delimiter_detection_prefers_consistent_splits() {
        assert_eq!(detect_delimiter("a;b;c\n1;2,5;3\n4;5;6", b'"'), Some(b';'));
        assert_eq!(detect_delimiter("a,b,c\n1,\"2;5\",3", b'"'), Some(b','));
        assert_eq!(detect_delimiter("a\tb\n1\t2", b'"'), Some(b'\t'));
        assert_eq!(detect_delimiter("a|b|c\n1|2|3", b'"'), Some(b'|'));
        assert_eq!(detect_delimiter("abc\ndef", b'"'), None);
    }

    fn lines_of(bytes: &[u8], header_row: u64) -> (Vec<String>, Vec<(u64, Vec<String>)>) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, bytes).unwrap();
        let spec = SourceSpec {
            header_row,
            ..Default::default()
        };
        let src = CsvSource::open(&p, &spec, Format::Csv, None).unwrap();
        let headers = src.headers().to_vec();
        let rows = src
            .map(|r| {
                let r = match r {
                    Ok(r) => r,
                    Err(ReadError::Ragged { row, .. }) => *row,
                    Err(e) => panic!("{e}"),
                };
                (r.at.row, r.cells.iter().map(|c| c.to_string()).collect())
            })
            .collect();
        (headers, rows)
    }

    #[test]
    fn line_numbers_are_physical_lines() {
        for eol in ["\n", "\r\n"] {
            for trailing in [true, false] {
                let mut text = ["Title", "", "a;b", "1;\"x", "y\"", "", "2;z"].join(eol);
                if trailing {
                    text.push_str(eol);
                }
                let (h, rows) = lines_of(text.as_bytes(), 3);
                assert_eq!(h, vec!["a", "b"], "{eol:?} {trailing}");
                let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
                assert_eq!(lines, vec![4, 7], "{eol:?} trailing={trailing}");
                assert_eq!(rows[0].1[1], format!("x{eol}y").replace("\r\n", "\r\n"));
            }
        }
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
