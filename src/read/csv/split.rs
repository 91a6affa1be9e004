//! [`PlainRows`]: the data rows of a CSV file with no quote character in
//! them, split at line breaks and delimiters with `memchr` rather than
//! parsed, whole or in parts on several threads, and the line breaks seen
//! ([`Breaks`]) that tell whether they are numbered as the parser numbers
//! them.

use super::decode::Decoder;
use super::parse::{build_row, CsvSource};
use crate::model::RowRef;
use crate::read::{Cell, Projection, ReadError, SourceRow};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

impl CsvSource {
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
            max_line: self.limits().max_cell_bytes,
        }))
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
    /// A longer line is left to the parser, which refuses it.
    max_line: u64,
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
            // Quotes are the parser's; so are NUL bytes and overlong
            // lines, which it refuses with their line numbers.
            let fresh = &buf[old..];
            if memchr::memchr2(self.quote, 0, fresh).is_some() {
                return Ok(None);
            }
            let eof = n == 0;
            // Whole lines only, unless the range has ended.
            let cut = if eof {
                buf.len()
            } else {
                match memchr::memrchr2(b'\r', b'\n', &buf) {
                    Some(t) => t + 1,
                    None if buf.len() as u64 > self.max_line => return Ok(None),
                    None => continue,
                }
            };
            let mut pos = 0;
            while pos < cut {
                let end = memchr::memchr2(b'\r', b'\n', &buf[pos..cut]).map_or(cut, |e| pos + e);
                if (end - pos) as u64 > self.max_line {
                    return Ok(None);
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{Format, SourceSpec};

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
