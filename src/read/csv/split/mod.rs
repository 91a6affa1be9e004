//! [`PlainRows`]: the data rows of a CSV file split at line breaks and
//! delimiters with `memchr` rather than parsed, whole or in parts on
//! several threads, and the line breaks seen ([`Breaks`]) that tell
//! whether they are numbered as the parser numbers them.
//!
//! A line with a quote character in it is read as a quoted record (which
//! may run over line breaks inside its quotes), as the parser reads it,
//! when its quoting is the usual one: a quote opens a field, a doubled
//! quote inside stands for one, and the closing quote ends the field. Any
//! other use of the quote (inside an unquoted field, text after a closing
//! quote), a quote left open, and a record over the limits send the file
//! to the parser, which reads it or reports what is wrong, as before.
//!
//! Parts are split speculatively (as in Ge et al., "Speculative
//! Distributed CSV Data Parsing for Big Data Analytics", SIGMOD 2019):
//! each part after the first is taken to begin outside quotes, after a
//! line break. The part before it checks this: it reads from a start known
//! to be right, so if it ends inside a quote, the guess was wrong, and the
//! range is refused ([`PlainRows::rows_in`] gives `None`): the caller reads
//! the ordinary way.

mod quoted;

use super::decode::Decoder;
use super::parse::{build_row_with, CsvSource};
use crate::model::RowRef;
use crate::read::{Cell, Projection, ReadError, SourceRow};
use compact_str::CompactString;
use quoted::{Parse, Quoted, Rec};
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
            cr_lines: self.cr_lines,
            crlf: self.crlf,
            width: self.headers.len(),
            projection: self.projection.clone(),
            decoder: self.decoder.clone(),
            max_line: self.limits().max_cell_bytes,
            limits: self.limits(),
        }))
    }
}

/// The data rows of a CSV file, split at line breaks and delimiters with
/// `memchr` (quoted records as the module docs say), which is what the CSV
/// parser makes of such rows, many times faster. Rows carry no line numbers: this
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
    /// Lines end in a bare `\r`, which the parser reads as `\n`, inside
    /// quotes too: such a file with quotes is left to the parser.
    cr_lines: bool,
    /// The parser takes the file for CRLF (its sample holds a `\r\n`).
    crlf: bool,
    width: usize,
    projection: Projection,
    decoder: Decoder,
    /// A longer line is left to the parser, which refuses it.
    max_line: u64,
    /// A quoted record over them is left to the parser.
    limits: crate::read::Limits,
}

impl PlainRows {
    /// All the data rows' bytes.
    pub fn all(&self) -> std::ops::Range<u64> {
        self.start..self.end
    }

    /// A record's bytes as text, when the file is read as UTF-8 and they
    /// are: its cells, cut at ASCII delimiters and quotes, are then text
    /// too. `None` sends the record's cells through the decoder one by one
    /// (which names the line of a cell that is not UTF-8).
    fn utf8<'b>(&self, bytes: &'b [u8]) -> Option<&'b str> {
        let ascii_cuts = self.delimiter.is_ascii() && self.quote.is_ascii();
        (ascii_cuts && self.decoder.is_utf8())
            .then(|| simdutf8::basic::from_utf8(bytes).ok())
            .flatten()
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
        let breaks = self.lines(range, 0, |rec, _| {
            cells.iter_mut().for_each(|c| *c = Cell::Empty);
            if let Some(last) = last_wanted {
                match rec {
                    Rec::Line(line) => {
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
                    Rec::Quoted(q) => {
                        for (col, cell) in cells.iter_mut().enumerate().take(last + 1) {
                            let Some(f) = q.field(col) else { break };
                            if !f.is_empty() && wanted(col) {
                                match self.decoder.text(f, 0) {
                                    Ok(t) => *cell = Cell::Text(t),
                                    Err(_) => return Err(Halt::NotPlain),
                                }
                            }
                        }
                    }
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
        let all = self.head_breaks.merge(data);
        // The parser takes a file for CRLF when its sample holds a `\r\n`
        // anywhere (inside quotes too): its numbers are right when the
        // records' own breaks agree.
        all.one_way() && !all.quoted_cr && all.crlf == self.crlf
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
        let breaks = self.lines(self.all(), self.first_line, |rec, n| {
            let at = RowRef {
                file: self.file.clone(),
                sheet: None,
                row: n,
            };
            // A cell's text: cut from its record's, when the record was
            // checked as UTF-8 once, else decoded (and checked) alone.
            let text_of = |cut: Option<&str>, f: &[u8]| match cut {
                Some(t) => Ok(CompactString::from(t)),
                None => self.decoder.text(f, n),
            };
            let item = match rec {
                Rec::Line(line) => {
                    ends.clear();
                    ends.extend(memchr::memchr_iter(self.delimiter, line));
                    ends.push(line.len());
                    let from = |i: usize| if i == 0 { 0 } else { ends[i - 1] + 1 };
                    let text = self.utf8(line);
                    build_row_with(
                        at,
                        self.width,
                        &self.projection,
                        ends.len(),
                        |i| &line[from(i)..ends[i]],
                        |i, f| text_of(text.and_then(|t| t.get(from(i)..ends[i])), f),
                    )
                }
                Rec::Quoted(q) => {
                    let text = self.utf8(q.bytes());
                    build_row_with(
                        at,
                        self.width,
                        &self.projection,
                        q.ends.len(),
                        |i| q.field(i).unwrap_or_default(),
                        |i, f| text_of(text.and_then(|t| q.field_in(t, i)), f),
                    )
                }
            }
            .map_err(Halt::Fatal)?;
            Ok(each(item))
        })?;
        Ok(breaks.is_some_and(|b| self.numbers_as_parser(b)))
    }

    /// The records of `range`, read a block at a time: `each` gets every
    /// non-empty line's bytes (line breaks next to each other make no row,
    /// as for the parser), or a quoted record's fields, and the number of
    /// the line it begins on, counting `\n`s from `line`, and says whether
    /// to go on. The line breaks seen (inside quotes too); `None` when the
    /// range is for the parser (see the module docs) or `each` finds it
    /// does not qualify.
    fn lines(
        &self,
        range: std::ops::Range<u64>,
        mut line: u64,
        mut each: impl FnMut(Rec<'_>, u64) -> Result<bool, Halt>,
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
        let mut quoted = Quoted::default();
        loop {
            let old = buf.len();
            // Read into the spare room, which need not be zeroed first.
            buf.reserve(PLAIN_BLOCK);
            let n = (&mut file)
                .take((PLAIN_BLOCK as u64).min(left))
                .read_to_end(&mut buf)
                .map_err(fail)?;
            left -= n as u64;
            // NUL bytes and overlong lines are the parser's, which refuses
            // them with their line numbers; so are quotes in a bare-CR file.
            let fresh = &buf[old..];
            if memchr::memchr(0, fresh).is_some()
                || (self.cr_lines && memchr::memchr(self.quote, fresh).is_some())
            {
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
            // Where the bytes still needed begin (a quoted record that
            // goes on after `cut`).
            let mut keep = cut;
            // The next quote character, so that lines without one cost
            // nothing more.
            let mut next_quote = memchr::memchr(self.quote, &buf[..cut]);
            while pos < cut {
                let end = memchr::memchr2(b'\r', b'\n', &buf[pos..cut]).map_or(cut, |e| pos + e);
                if (end - pos) as u64 > self.max_line {
                    return Ok(None);
                }
                if next_quote.is_some_and(|q| q < end) {
                    // A quoted record, from here to its own line break.
                    let rec_end =
                        match quoted.parse(&buf[pos..cut], eof, self.delimiter, self.quote) {
                            Parse::Done(len) => pos + len,
                            Parse::More if eof => return Ok(None),
                            Parse::More => {
                                // Memory stays bounded: a longer record is the
                                // parser's.
                                if (buf.len() - pos) as u64 > self.limits.max_cell_bytes {
                                    return Ok(None);
                                }
                                keep = pos;
                                break;
                            }
                            Parse::Refuse => return Ok(None),
                        };
                    if !quoted.within_limits(&self.limits) {
                        return Ok(None);
                    }
                    // Its line breaks inside quotes: checked against the
                    // line limit as the parser's input is, counted, and
                    // told apart from the records' own.
                    let mut from = pos;
                    let mut inner = 0u64;
                    for t in memchr::memchr2_iter(b'\r', b'\n', &buf[pos..rec_end]) {
                        let t = pos + t;
                        if (t - from) as u64 > self.max_line {
                            return Ok(None);
                        }
                        if buf[t] == b'\n' {
                            inner += 1;
                            if t > pos && buf[t - 1] == b'\r' {
                                tally.seen.quoted_crlf = true;
                            } else {
                                tally.seen.quoted_lf = true;
                            }
                        } else if buf.get(t + 1) != Some(&b'\n') {
                            tally.seen.quoted_cr = true;
                        }
                        from = t + 1;
                    }
                    if (rec_end - from) as u64 > self.max_line {
                        return Ok(None);
                    }
                    tally.text_before(true);
                    match each(Rec::Quoted(&quoted), line) {
                        Ok(true) => {}
                        Ok(false) => return Ok(Some(tally.seen)),
                        Err(Halt::NotPlain) => return Ok(None),
                        Err(Halt::Fatal(e)) => return Err(e),
                    }
                    line += inner;
                    if rec_end < cut {
                        tally.line_break(buf[rec_end]);
                        line += u64::from(buf[rec_end] == b'\n');
                    }
                    pos = rec_end + 1;
                    next_quote = memchr::memchr(self.quote, buf.get(pos..cut).unwrap_or_default())
                        .map(|q| pos + q);
                    continue;
                }
                tally.text_before(end > pos);
                if end > pos {
                    match each(Rec::Line(&buf[pos..end]), line) {
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
            buf.drain(..keep);
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
    /// Inside quotes (part of a cell, not a record's end): `\n` alone.
    pub quoted_lf: bool,
    /// Inside quotes: `\r\n`.
    pub quoted_crlf: bool,
    /// Inside quotes: `\r` alone.
    pub quoted_cr: bool,
}

impl Breaks {
    pub fn merge(self, other: Breaks) -> Breaks {
        Breaks {
            lf: self.lf || other.lf,
            crlf: self.crlf || other.crlf,
            cr: self.cr || other.cr,
            quoted_lf: self.quoted_lf || other.quoted_lf,
            quoted_crlf: self.quoted_crlf || other.quoted_crlf,
            quoted_cr: self.quoted_cr || other.quoted_cr,
        }
    }

    /// One kind only for the records' own breaks, and not bare `\r`s
    /// (whose lines the parser does not count).
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
mod tests;
