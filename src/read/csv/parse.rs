//! [`CsvSource`]: a CSV file opened (its encoding and delimiter set or
//! sniffed, its titles skipped, its header read) and its records read by
//! the `csv` parser as rows, each numbered by the physical line it starts
//! on; a row is cut or padded to the header's width, and reported as
//! ragged when its width differs.

use super::decode::{byte_table, Decode, Decoder};
use super::guard::{Guard, Stop, SENTINEL};
use super::sniff::{
    bom_free_binary, detect, detect_delimiter, read_sample, utf16_without_bom, SAMPLE,
};
use crate::model::RowRef;
use crate::read::{
    file_label, normalize_headers, Cell, Detected, Format, Limit, Limits, Projection, ReadError,
    RecordSource, SourceRow, SourceSpec,
};
use encoding_rs::Encoding;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

type Input = Box<dyn Read + Send>;

/// A CSV file being read.
pub struct CsvSource {
    rdr: csv::Reader<Input>,
    pub(super) path: PathBuf,
    pub(super) file: Arc<str>,
    pub(super) headers: Vec<String>,
    pub(super) detected: Detected,
    record: csv::ByteRecord,
    /// Lines end in CRLF: a record's own line break is consumed with the next record.
    pub(super) crlf: bool,
    pub(super) projection: Projection,
    pub(super) decoder: Decoder,
    /// Where the data rows begin in the file (after a BOM, titles and the
    /// header), when the encoding keeps the file's bytes (UTF-8, single-byte).
    pub(super) data_start: Option<u64>,
    pub(super) quote: u8,
    /// Lines end in a bare `\r` (the guard makes each a `\n`).
    pub(super) cr_lines: bool,
    limits: Limits,
    done: bool,
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
            None if bom_free_binary(&sample) => match utf16_without_bom(&sample) {
                Some(enc) => (enc, "likely", 0),
                None => {
                    let line = memchr::memchr(0, &sample).map_or(1, |at| {
                        memchr::memchr_iter(b'\n', &sample[..at]).count() + 1
                    });
                    return Err(ReadError::file(
                        path,
                        format!(
                            "this does not look like a text (CSV) file: it holds NUL bytes (line {line}); if it is UTF-16 without a BOM, set `encoding = \"utf-16le\"` in the mapping's [source]"
                        ),
                        None,
                    ));
                }
            },
            None => detect(&sample, complete).map_err(|m| ReadError::file(path, m, None))?,
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
        let (crlf, cr_lines) = {
            let (text, _) = encoding.decode_without_bom_handling(&sample[bom_len..]);
            // Bare `\r` line ends (old Mac files): no `\n` at all.
            let cr_lines = !text.contains('\n') && text.trim_end_matches('\r').contains('\r');
            (text.contains("\r\n"), cr_lines)
        };
        let limits = spec.limits;
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
        let max_line = limits.max_cell_bytes;
        let input: Input = if decode != Decode::Stream {
            let mut c = chained;
            // Skip a BOM.
            let mut skip = vec![0u8; bom_len];
            let _ = c.read_exact(&mut skip);
            Box::new(Guard::new(c, crlf, cr_lines, max_line))
        } else {
            Box::new(Guard::new(
                encoding_rs_io::DecodeReaderBytesBuilder::new()
                    .encoding(Some(encoding))
                    .bom_override(true)
                    .build(chained),
                crlf,
                cr_lines,
                max_line,
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
                sheets: Vec::new(),
                notes: Vec::new(),
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
            cr_lines,
            limits,
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
        limits
            .check_columns(src.record.len())
            .map_err(|m| ReadError::file(path, m, None))?;
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

    /// The next record; false at the end of the file (the sentinel line
    /// the guard appends, or nothing). A quote left open is an error here.
    /// What this read takes at most.
    pub(super) fn limits(&self) -> Limits {
        self.limits
    }

    fn next_record(&mut self) -> Result<bool, ReadError> {
        let more = self.rdr.read_byte_record(&mut self.record).map_err(|e| {
            let limits = self.limits;
            match Stop::of(&e) {
                Some(Stop::Nul { line }) => ReadError::file(
                    &self.path,
                    format!("line {line}: a NUL byte: this is not text in the encoding read ({}); set `encoding` in the mapping's [source] if it is UTF-16", self.detected.encoding.unwrap_or("?")),
                    None,
                ),
                Some(Stop::LongLine { line }) => ReadError::file(
                    &self.path,
                    format!(
                        "line {line} is longer than a line may be: {}",
                        limits.over(Limit::CellBytes)
                    ),
                    None,
                ),
                None => {
                    let line = e.position().map_or(0, |p| p.line());
                    ReadError::file(
                        &self.path,
                        format!("failed to read near line {line}"),
                        Some(Box::new(e)),
                    )
                }
            }
        })?;
        if !more || self.at_sentinel() {
            return Ok(false);
        }
        self.check_quotes()?;
        Ok(true)
    }

    /// Whether the record just read is the sentinel line (the end).
    fn at_sentinel(&self) -> bool {
        self.record.len() == 1 && &self.record[0] == SENTINEL
    }

    /// A quoted cell that swallowed the sentinel (a quote left open to the
    /// end of the file), or one spanning more lines than a cell may: an
    /// error naming the line the quote opened on and the lines it took.
    fn check_quotes(&self) -> Result<(), ReadError> {
        let record = &self.record;
        if record.as_slice().len() as u64 > self.limits.max_cell_bytes {
            if let Some(k) = record
                .iter()
                .position(|f| f.len() as u64 > self.limits.max_cell_bytes)
            {
                return Err(ReadError::file(
                    &self.path,
                    format!(
                        "line {}: a cell{} is {} bytes long, {}",
                        self.start_line(),
                        self.headers
                            .get(k)
                            .map(|h| format!(" (column {:?})", crate::model::text::cut(h)))
                            .unwrap_or_default(),
                        crate::model::text::thousands(record[k].len() as u64),
                        self.limits.over(Limit::CellBytes)
                    ),
                    None,
                ));
            }
        }
        let at_end = memchr::memmem::find(record.as_slice(), SENTINEL).is_some();
        let breaks = memchr::memchr_iter(b'\n', record.as_slice()).count() as u64;
        if !at_end && breaks <= self.limits.max_quoted_lines {
            return Ok(());
        }
        let start = self.start_line();
        let mut before = 0u64;
        for (k, field) in record.iter().enumerate() {
            let n = memchr::memchr_iter(b'\n', field).count() as u64;
            let swallowed_end = memchr::memmem::find(field, SENTINEL).is_some();
            if swallowed_end || n > self.limits.max_quoted_lines {
                let opened = start + before;
                let body = match memchr::memmem::find(field, SENTINEL) {
                    Some(at) => &field[..at],
                    None => field,
                };
                let body = String::from_utf8_lossy(body);
                let shown =
                    crate::model::text::escape_all(&crate::model::text::cut(body.trim_end()))
                        .into_owned();
                let column = self
                    .headers
                    .get(k)
                    .map(|h| format!(" (column {:?})", crate::model::text::cut(h)))
                    .unwrap_or_default();
                // The lines after the one the quote opened on (a line
                // break that only ends the text counts for none).
                let lines = memchr::memchr_iter(b'\n', body.trim_end().as_bytes()).count() as u64;
                let last = opened + lines;
                let what = if swallowed_end {
                    format!(
                        "a quote opened on line {opened}{column} is never closed: it runs to the end of the file"
                    )
                } else {
                    format!(
                        "a quote opened on line {opened}{column} spans {} lines, more than a cell may ({}; `max_quoted_lines` in the mapping's [limits] if such cells are meant)",
                        n + 1,
                        self.limits.max_quoted_lines
                    )
                };
                let swallowed = if lines == 0 {
                    String::new()
                } else if lines == 1 {
                    format!(", swallowing line {last}")
                } else {
                    format!(", swallowing lines {}–{last} ({lines} lines)", opened + 1)
                };
                return Err(ReadError::file(
                    &self.path,
                    format!(
                        "{what}{swallowed}, starting \"{shown}\"; close the quote (a quote inside a cell is written twice: \"\")"
                    ),
                    None,
                ));
            }
            before += n;
        }
        Ok(())
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
pub(super) fn build_row<'f>(
    at: RowRef,
    width: usize,
    projection: &Projection,
    decoder: &Decoder,
    found: usize,
    field: impl Fn(usize) -> &'f [u8],
) -> Result<Result<SourceRow, ReadError>, ReadError> {
    let line = at.row;
    build_row_with(at, width, projection, found, field, |_, f| {
        decoder.text(f, line)
    })
}

/// [`build_row`] with each wanted, non-empty cell's text made by `text`
/// (its index and bytes): for a record already known to be UTF-8.
pub(super) fn build_row_with<'f>(
    at: RowRef,
    width: usize,
    projection: &Projection,
    found: usize,
    field: impl Fn(usize) -> &'f [u8],
    text: impl Fn(usize, &[u8]) -> Result<compact_str::CompactString, ReadError>,
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
            cells.push(Cell::Text(text(i, f)?));
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
}
