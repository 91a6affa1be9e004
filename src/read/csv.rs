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
use compact_str::CompactString;
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
    decoder: Decoder,
    /// Where the data rows begin in the file (after a BOM, titles and the
    /// header), when the encoding keeps the file's bytes (UTF-8, single-byte).
    data_start: Option<u64>,
    quote: u8,
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
            decoder: Decoder {
                decode,
                table: match decode {
                    Decode::Cells(enc) => byte_table(enc).map(Arc::from),
                    _ => None,
                },
                file: path.display().to_string(),
            },
            data_start: None,
            quote: spec.quote,
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
            raw.push(src.decoder.text(f, header_row)?.into_string());
        }
        src.headers = normalize_headers(raw);
        if decode != Decode::Stream {
            src.data_start = Some(bom_len as u64 + src.rdr.position().byte());
        }
        Ok(src)
    }

    /// The data rows of a file with no quote character in them, split
    /// quickly (see [`PlainRows`]), all of them in one go. `Ok(false)` when
    /// the file does not qualify: the caller forgets what `each` was given.
    pub fn plain_rows(self, each: impl FnMut(u64, &[Cell])) -> Result<bool, ReadError> {
        let Some(plain) = self.plain()? else {
            return Ok(false);
        };
        Ok(plain.rows_in(plain.all(), each)?.is_some())
    }

    /// The splitter for this file's data rows, when its encoding keeps the
    /// file's bytes (UTF-8 and single-byte ones).
    pub fn plain(&self) -> Result<Option<PlainRows>, ReadError> {
        let Some(start) = self.data_start else {
            return Ok(None);
        };
        let fail =
            |e: std::io::Error| ReadError::file(&self.path, "failed to read", Some(Box::new(e)));
        let end = std::fs::metadata(&self.path).map_err(fail)?.len();
        // The titles and header, for their line breaks, and the byte before
        // the data: a `\r` whose `\n` the data begins with, or a `\n`.
        let mut head = Vec::new();
        std::fs::File::open(&self.path)
            .map_err(fail)?
            .take(start)
            .read_to_end(&mut head)
            .map_err(fail)?;
        let mut tally = BreakTally::default();
        for t in memchr::memchr2_iter(b'\r', b'\n', &head) {
            tally.text_before(t > 0 && !matches!(head[t - 1], b'\r' | b'\n'));
            tally.line_break(head[t]);
        }
        let header_line = self.detected.header_row.unwrap_or(1);
        Ok(Some(PlainRows {
            path: self.path.clone(),
            file: self.file.clone(),
            start,
            end: end.max(start),
            after_cr: head.last() == Some(&b'\r'),
            first_line: header_line + u64::from(head.last() == Some(&b'\n')),
            head_breaks: tally.seen,
            delimiter: self.detected.delimiter.unwrap_or(b','),
            quote: self.quote,
            width: self.headers.len(),
            projection: self.projection.clone(),
            decoder: self.decoder.clone(),
        }))
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
        // (In a CRLF file the `\n` of the line before is consumed with this
        // record: not so for the file's first record.)
        let lower = self
            .record
            .position()
            .map_or(1, |p| p.line() + u64::from(self.crlf && p.byte() > 0));
        end.saturating_sub(embedded + own).max(lower).max(1)
    }

    fn row(&mut self) -> Result<Result<SourceRow, ReadError>, ReadError> {
        let line = self.start_line();
        let record = &self.record;
        build_row(
            RowRef {
                file: self.file.clone(),
                sheet: None,
                row: line,
            },
            self.headers.len(),
            &self.projection,
            &self.decoder,
            record.len(),
            |i| &record[i],
        )
    }
}

/// A row from its `found` fields (`field(i)`): the projected ones decoded,
/// the row cut or padded to the header's `width`, and reported as ragged
/// when its width differs (unless it is a blank line, or its extra cells
/// are empty: only a trailing delimiter). The outer error is fatal (a cell
/// that does not decode).
fn build_row<'f>(
    at: RowRef,
    width: usize,
    projection: &Projection,
    decoder: &Decoder,
    found: usize,
    field: impl Fn(usize) -> &'f [u8],
) -> Result<Result<SourceRow, ReadError>, ReadError> {
    let mut cells = Vec::with_capacity(width);
    for i in 0..width.min(found) {
        let wanted = projection
            .as_ref()
            .is_none_or(|p| p.get(i).copied().unwrap_or(false));
        let f = field(i);
        if !wanted || f.is_empty() {
            cells.push(Cell::Empty);
        } else {
            cells.push(Cell::Text(decoder.text(f, at.row)?));
        }
    }
    cells.resize(width, Cell::Empty);
    let row = SourceRow { at, cells };
    let blank_line = found == 1 && field(0).iter().all(u8::is_ascii_whitespace);
    if found != width && !blank_line {
        let extra_empty = found > width && (width..found).all(|i| field(i).is_empty());
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

/// How a file's cells become text: shared by the parser and [`PlainRows`].
#[derive(Clone)]
struct Decoder {
    decode: Decode,
    /// For a single-byte encoding, each byte's character (decoding a cell
    /// through this is much cheaper than a decoder per cell).
    table: Option<Arc<ByteTable>>,
    /// The file, for errors.
    file: String,
}

impl Decoder {
    fn text(&self, bytes: &[u8], line: u64) -> Result<CompactString, ReadError> {
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
            Decode::Utf8 => CompactString::from_utf8(bytes).map_err(|_| ReadError::Encoding {
                file: self.file.clone(),
                line,
                encoding: "UTF-8",
            }),
            // Decoded by encoding_rs: always UTF-8.
            Decode::Stream => Ok(CompactString::from_utf8_lossy(bytes)),
        }
    }
}

/// The data rows of a CSV file with no quote character in them, split at
/// line breaks and delimiters with `memchr`, which is what the CSV parser
/// makes of such rows, many times faster. Rows carry no line numbers: this
/// is for a pass that looks at keys. The file can be read in parts
/// ([`PlainRows::parts`]), on several threads at once.
#[derive(Clone)]
pub struct PlainRows {
    path: PathBuf,
    file: Arc<str>,
    /// The data rows' bytes: after any BOM, titles and the header.
    start: u64,
    end: u64,
    /// Whether the byte before `start` is a `\r` (of the header's CRLF).
    after_cr: bool,
    /// The line `start` is on.
    first_line: u64,
    /// The line breaks of the titles and header.
    head_breaks: Breaks,
    delimiter: u8,
    quote: u8,
    width: usize,
    projection: Projection,
    decoder: Decoder,
}

impl PlainRows {
    /// All the data rows' bytes.
    pub fn all(&self) -> std::ops::Range<u64> {
        self.start..self.end
    }

    /// The data rows' bytes in at most `n` parts of about the same size,
    /// in order, each beginning a line (after a `\n`), none smaller than
    /// [`PLAIN_PART_MIN`].
    pub fn parts(&self, n: usize) -> Result<Vec<std::ops::Range<u64>>, ReadError> {
        let fail =
            |e: std::io::Error| ReadError::file(&self.path, "failed to read", Some(Box::new(e)));
        let size = self.end - self.start;
        let n = (size / PLAIN_PART_MIN).clamp(1, n.max(1) as u64);
        let mut cuts = vec![self.start];
        let mut file = std::fs::File::open(&self.path).map_err(fail)?;
        let mut window = Vec::new();
        for k in 1..n {
            let at = self.start + size * k / n;
            if at <= *cuts.last().unwrap_or(&self.start) {
                continue;
            }
            std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(at)).map_err(fail)?;
            window.clear();
            (&mut file)
                .take(PLAIN_PART_MIN.min(64 << 10).min(self.end - at))
                .read_to_end(&mut window)
                .map_err(fail)?;
            // A part that would not begin a line is left to the one before.
            if let Some(nl) = memchr::memchr(b'\n', &window) {
                let cut = at + nl as u64 + 1;
                if cut < self.end {
                    cuts.push(cut);
                }
            }
        }
        cuts.push(self.end);
        Ok(cuts.windows(2).map(|w| w[0]..w[1]).collect())
    }

    /// The rows in `range` (all of them, or one of [`PlainRows::parts`]):
    /// `each` gets every row's index within the range (as the parser would
    /// number them from its start) and its cells, only the projected ones
    /// decoded. The number of rows and the line breaks seen; `None` when
    /// the range does not qualify (a quote character, a cell that does not
    /// decode): the caller forgets what `each` was given and reads the
    /// ordinary way.
    pub fn rows_in(
        &self,
        range: std::ops::Range<u64>,
        mut each: impl FnMut(u64, &[Cell]),
    ) -> Result<Option<(u64, Breaks)>, ReadError> {
        let wanted = |c: usize| {
            self.projection
                .as_ref()
                .is_none_or(|p| p.get(c).copied().unwrap_or(false))
        };
        let last_wanted = (0..self.width).rev().find(|&c| wanted(c));
        let mut cells = vec![Cell::Empty; self.width];
        let mut i = 0u64;
        let breaks = self.lines(range, 0, |line, _| {
            cells.iter_mut().for_each(|c| *c = Cell::Empty);
            if let Some(last) = last_wanted {
                let mut from = 0;
                for (col, cell) in cells.iter_mut().enumerate().take(last + 1) {
                    let to = memchr::memchr(self.delimiter, &line[from..])
                        .map_or(line.len(), |e| from + e);
                    if to > from && wanted(col) {
                        match self.decoder.text(&line[from..to], 0) {
                            Ok(t) => *cell = Cell::Text(t),
                            Err(_) => return Err(Halt::NotPlain),
                        }
                    }
                    if to == line.len() {
                        break;
                    }
                    from = to + 1;
                }
            }
            each(i, &cells);
            i += 1;
            Ok(true)
        })?;
        Ok(breaks.map(|b| (i, b)))
    }

    /// Whether the titles, the header and `data` (the breaks seen by
    /// [`PlainRows::rows_in`] over all the data) break lines one way, all
    /// `\n` or all `\r\n`: then [`PlainRows::rows_numbered`] numbers rows
    /// as the parser does.
    pub fn numbers_as_parser(&self, data: Breaks) -> bool {
        self.head_breaks.merge(data).one_way()
    }

    /// The data rows in order, as the parser reads them: each row (or a
    /// ragged row's error) with its line number, for a file that
    /// [`PlainRows::rows_in`] read whole and whose line breaks
    /// [`PlainRows::numbers_as_parser`]. `each` says whether to go on.
    /// `Ok(false)` when the file does not qualify after all (it changed).
    pub fn rows_numbered(
        &self,
        mut each: impl FnMut(Result<SourceRow, ReadError>) -> bool,
    ) -> Result<bool, ReadError> {
        let mut ends: Vec<usize> = Vec::with_capacity(self.width + 1);
        let breaks = self.lines(self.all(), self.first_line, |line, n| {
            ends.clear();
            ends.extend(memchr::memchr_iter(self.delimiter, line));
            ends.push(line.len());
            let field = |i: usize| {
                let from = if i == 0 { 0 } else { ends[i - 1] + 1 };
                &line[from..ends[i]]
            };
            let at = RowRef {
                file: self.file.clone(),
                sheet: None,
                row: n,
            };
            let item = build_row(
                at,
                self.width,
                &self.projection,
                &self.decoder,
                ends.len(),
                field,
            )
            .map_err(Halt::Fatal)?;
            Ok(each(item))
        })?;
        Ok(breaks.is_some_and(|b| self.numbers_as_parser(b)))
    }

    /// The lines of `range`, read a block at a time: `each` gets every
    /// non-empty line's bytes (line breaks next to each other make no row,
    /// as for the parser) and its number, counting `\n`s from `line`, and
    /// says whether to go on. The line breaks seen; `None` when a quote
    /// character appears or `each` finds the range does not qualify.
    fn lines(
        &self,
        range: std::ops::Range<u64>,
        mut line: u64,
        mut each: impl FnMut(&[u8], u64) -> Result<bool, Halt>,
    ) -> Result<Option<Breaks>, ReadError> {
        let fail =
            |e: std::io::Error| ReadError::file(&self.path, "failed to read", Some(Box::new(e)));
        let mut file = std::fs::File::open(&self.path).map_err(fail)?;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(range.start)).map_err(fail)?;
        let mut tally = BreakTally {
            prev_cr: range.start == self.start && self.after_cr,
            ..Default::default()
        };
        let mut left = range.end.saturating_sub(range.start);
        let mut buf: Vec<u8> = Vec::with_capacity(PLAIN_BLOCK * 2);
        loop {
            let old = buf.len();
            // Read into the spare room, which need not be zeroed first.
            buf.reserve(PLAIN_BLOCK);
            let n = (&mut file)
                .take((PLAIN_BLOCK as u64).min(left))
                .read_to_end(&mut buf)
                .map_err(fail)?;
            left -= n as u64;
            if memchr::memchr(self.quote, &buf[old..]).is_some() {
                return Ok(None);
            }
            let eof = n == 0;
            // Whole lines only, unless the range has ended.
            let cut = if eof {
                buf.len()
            } else {
                match memchr::memrchr2(b'\r', b'\n', &buf) {
                    Some(t) => t + 1,
                    None => continue,
                }
            };
            let mut pos = 0;
            while pos < cut {
                let end = memchr::memchr2(b'\r', b'\n', &buf[pos..cut]).map_or(cut, |e| pos + e);
                tally.text_before(end > pos);
                if end > pos {
                    match each(&buf[pos..end], line) {
                        Ok(true) => {}
                        Ok(false) => return Ok(Some(tally.seen)),
                        Err(Halt::NotPlain) => return Ok(None),
                        Err(Halt::Fatal(e)) => return Err(e),
                    }
                }
                if end < cut {
                    tally.line_break(buf[end]);
                    line += u64::from(buf[end] == b'\n');
                }
                pos = end + 1;
            }
            if eof {
                return Ok(Some(tally.end()));
            }
            buf.drain(..cut);
        }
    }
}

/// Why [`PlainRows::lines`] stops early.
enum Halt {
    /// The range is not read this way: the caller reads the ordinary way.
    NotPlain,
    /// A fatal error, as the parser would report it.
    Fatal(ReadError),
}

/// The kinds of line break seen in a stretch of a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Breaks {
    /// `\n` alone.
    pub lf: bool,
    /// `\r\n`.
    pub crlf: bool,
    /// `\r` alone.
    pub cr: bool,
}

impl Breaks {
    pub fn merge(self, other: Breaks) -> Breaks {
        Breaks {
            lf: self.lf || other.lf,
            crlf: self.crlf || other.crlf,
            cr: self.cr || other.cr,
        }
    }

    /// One kind only, and not bare `\r`s (whose lines the parser does not
    /// count).
    pub fn one_way(self) -> bool {
        !(self.cr || (self.lf && self.crlf))
    }
}

/// Tells line breaks apart as they come: a `\r` is known to be bare only
/// when what follows it is not a `\n`.
#[derive(Debug, Default)]
struct BreakTally {
    seen: Breaks,
    prev_cr: bool,
}

impl BreakTally {
    /// Before the next line break: whether text came since the last one.
    fn text_before(&mut self, text: bool) {
        if text && self.prev_cr {
            self.seen.cr = true;
            self.prev_cr = false;
        }
    }

    fn line_break(&mut self, b: u8) {
        if b == b'\n' {
            if self.prev_cr {
                self.seen.crlf = true;
            } else {
                self.seen.lf = true;
            }
            self.prev_cr = false;
        } else {
            if self.prev_cr {
                self.seen.cr = true;
            }
            self.prev_cr = true;
        }
    }

    /// At the end of the text.
    fn end(mut self) -> Breaks {
        if self.prev_cr {
            self.seen.cr = true;
        }
        self.seen
    }
}

/// The smallest part [`PlainRows::parts`] makes (in unit tests a few bytes,
/// so that files are split).
pub const PLAIN_PART_MIN: u64 = if cfg!(test) { 8 } else { 4 << 20 };

/// Bytes read at a time by [`PlainRows::rows_in`] (in unit tests a few,
/// so that rows cross the blocks' ends).
const PLAIN_BLOCK: usize = if cfg!(test) { 7 } else { 1 << 20 };

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
            for b in all.iter().copied() {
                let one = [b];
                assert_eq!(t.decode(&one), enc.decode_without_bom_handling(&one).0);
            }
            assert_eq!(t.decode(&[]), "");
        }
    }

    #[test]
    fn a_crlf_file_begins_on_line_one() {
        // Regression: the first line of a CRLF file was numbered 2, so one
        // title line above `header_row = 2` was taken for the header.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "Title\r\nH0;H1\r\n1;2\r\n").unwrap();
        let spec = SourceSpec {
            header_row: 2,
            ..Default::default()
        };
        let mut src = CsvSource::open(&p, &spec, Format::Csv, None).unwrap();
        assert_eq!(src.headers(), ["H0", "H1"]);
        assert_eq!(src.detected().header_row, Some(2));
        let row = src.next().unwrap().unwrap();
        assert_eq!((row.at.row, row.cells[1].as_text()), (3, "2".into()));
        std::fs::write(&p, "H0;H1\r\n1;2\r\n").unwrap();
        let src = CsvSource::open(&p, &SourceSpec::default(), Format::Csv, None).unwrap();
        assert_eq!(src.detected().header_row, Some(1));
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

    /// What the ordinary reader and the plain splitter make of a file:
    /// each row's index and its projected cells.
    fn both_ways(
        bytes: &[u8],
        spec: &SourceSpec,
        projection: &[bool],
    ) -> [Vec<(u64, Vec<Cell>)>; 2] {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, bytes).unwrap();
        let proj: Projection = Some(projection.into());
        let ordinary = CsvSource::open(&p, spec, Format::Csv, proj.clone())
            .unwrap()
            .enumerate()
            .map(|(i, r)| match r {
                Ok(r) => (i as u64, r.cells),
                Err(ReadError::Ragged { row, .. }) => (i as u64, row.cells),
                Err(e) => panic!("{e}"),
            })
            .collect();
        let mut plain = Vec::new();
        let done = CsvSource::open(&p, spec, Format::Csv, proj)
            .unwrap()
            .plain_rows(|i, cells| plain.push((i, cells.to_vec())))
            .unwrap();
        assert!(done, "a file without quotes is split plainly");
        // And in parts, each numbered from its start.
        let src = CsvSource::open(&p, spec, Format::Csv, Some(projection.into())).unwrap();
        let splitter = src.plain().unwrap().expect("a splitter");
        let parts = splitter.parts(3).unwrap();
        assert_eq!(parts.first().map(|r| r.start), Some(splitter.all().start));
        assert_eq!(parts.last().map(|r| r.end), Some(splitter.all().end));
        assert!(parts.windows(2).all(|w| w[0].end == w[1].start));
        let mut in_parts = Vec::new();
        let mut offset = 0;
        let mut breaks = Breaks::default();
        for range in parts {
            let (n, b) = splitter
                .rows_in(range, |i, cells| {
                    in_parts.push((offset + i, cells.to_vec()))
                })
                .unwrap()
                .expect("no quotes");
            offset += n;
            breaks = breaks.merge(b);
        }
        assert_eq!(in_parts, plain, "the same rows, whole or in parts");
        // Numbered, when the lines break one way: the parser's rows, line
        // numbers and ragged rows.
        if splitter.numbers_as_parser(breaks) {
            let parsed: Vec<_> = CsvSource::open(&p, spec, Format::Csv, Some(projection.into()))
                .unwrap()
                .map(numbered)
                .collect();
            let mut split = Vec::new();
            let whole = splitter
                .rows_numbered(|item| {
                    split.push(numbered(item));
                    true
                })
                .unwrap();
            assert!(whole, "read whole, one way");
            assert_eq!(
                split,
                parsed,
                "numbered as the parser numbers them in {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        [ordinary, plain]
    }

    /// A row's line, cells and width error, for comparing readers.
    fn numbered(item: Result<SourceRow, ReadError>) -> (u64, Vec<Cell>, Option<(usize, usize)>) {
        match item {
            Ok(r) => (r.at.row, r.cells, None),
            Err(ReadError::Ragged {
                row,
                expected,
                found,
            }) => (row.at.row, row.cells, Some((expected, found))),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn plain_rows_refuse_quotes_and_decoding_streams() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("q.csv");
        std::fs::write(&p, "a;b\n1;\"x;y\"\n").unwrap();
        let spec = SourceSpec::default();
        let src = CsvSource::open(&p, &spec, Format::Csv, None).unwrap();
        assert!(!src.plain_rows(|_, _| {}).unwrap());
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("a;b\n1;2\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        std::fs::write(&p, utf16).unwrap();
        let src = CsvSource::open(&p, &spec, Format::Csv, None).unwrap();
        assert!(!src.plain_rows(|_, _| {}).unwrap());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn plain_rows_are_the_rows_the_parser_reads(
            titles in 0usize..3,
            width in 1usize..5,
            rows in proptest::collection::vec(
                (proptest::collection::vec("[a-z0-9 ,.Иё№-]{0,6}", 0..7), 0usize..5),
                0..40,
            ),
            last_break in proptest::bool::ANY,
            cp1251 in proptest::bool::ANY,
            projection in proptest::collection::vec(proptest::bool::ANY, 5),
            one_way in proptest::option::of(0usize..2),
        ) {
            let breaks = ["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"];
            // Every line broken one way (`\n` or `\r\n`, blank lines too),
            // or each as it comes.
            let brk = |b: usize| match one_way {
                Some(0) => ["\n", "\n", "\n", "\n\n", "\n\n"][b],
                Some(_) => ["\r\n", "\r\n", "\r\n", "\r\n\r\n", "\r\n\r\n"][b],
                None => breaks[b],
            };
            let mut text = String::new();
            for t in 0..titles {
                text.push_str(&format!("Title {t}{}", brk(0)));
            }
            let header: Vec<String> = (0..width).map(|c| format!("H{c}")).collect();
            text.push_str(&header.join(";"));
            text.push_str(brk(0));
            for (k, (cells, br)) in rows.iter().enumerate() {
                text.push_str(&cells.join(";"));
                if k + 1 < rows.len() || last_break {
                    text.push_str(brk(*br));
                }
            }
            let (bytes, spec) = if cp1251 {
                let (b, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
                (b.into_owned(), SourceSpec {
                    encoding: Some(encoding_rs::WINDOWS_1251),
                    delimiter: Some(b';'),
                    header_row: titles as u64 + 1,
                    ..Default::default()
                })
            } else {
                (text.into_bytes(), SourceSpec {
                    encoding: Some(encoding_rs::UTF_8),
                    delimiter: Some(b';'),
                    header_row: titles as u64 + 1,
                    ..Default::default()
                })
            };
            let [ordinary, plain] = both_ways(&bytes, &spec, &projection[..width]);
            proptest::prop_assert_eq!(ordinary, plain);
        }
    }
}
