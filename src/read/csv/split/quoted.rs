//! A quoted record read the usual way (a quote opens a field, a doubled
//! quote inside stands for one, the closing quote ends it), or refused to
//! the parser.

/// A record as [`PlainRows::lines`] hands it on.
pub(super) enum Rec<'a> {
    /// A line with no quote character: its cells are between delimiters.
    Line(&'a [u8]),
    /// A quoted record, its fields unquoted.
    Quoted(&'a Quoted),
}

/// A quoted record's fields, unquoted (a doubled quote made one), one
/// after another, and where each ends.
#[derive(Debug, Default)]
pub(super) struct Quoted {
    bytes: Vec<u8>,
    pub(super) ends: Vec<usize>,
}

/// What [`Quoted::parse`] made of the bytes.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Parse {
    /// A record of this many bytes (up to its line break, or the end).
    Done(usize),
    /// A quote is still open where the bytes end.
    More,
    /// Quoting the parser reads otherwise than the usual way (a quote in
    /// an unquoted field, text after a closing quote): the parser's.
    Refuse,
}

impl Quoted {
    /// The fields' bytes, one after another.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The `i`th field of `text`, [`Quoted::bytes`] as text.
    pub(super) fn field_in<'t>(&self, text: &'t str, i: usize) -> Option<&'t str> {
        let to = *self.ends.get(i)?;
        let from = if i == 0 { 0 } else { self.ends[i - 1] };
        text.get(from..to)
    }

    /// The `i`th field's bytes.
    pub(super) fn field(&self, i: usize) -> Option<&[u8]> {
        let to = *self.ends.get(i)?;
        let from = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.bytes[from..to])
    }

    /// Read one record from the start of `data` (which begins a record,
    /// outside quotes), as the parser reads it; `at_end`: nothing follows
    /// `data`.
    pub(super) fn parse(&mut self, data: &[u8], at_end: bool, delimiter: u8, quote: u8) -> Parse {
        self.bytes.clear();
        self.ends.clear();
        let mut i = 0;
        loop {
            if data.get(i) == Some(&quote) {
                i += 1;
                loop {
                    let Some(q) = memchr::memchr(quote, &data[i..]) else {
                        return Parse::More;
                    };
                    self.bytes.extend_from_slice(&data[i..i + q]);
                    i += q + 1;
                    if data.get(i) == Some(&quote) {
                        self.bytes.push(quote);
                        i += 1;
                    } else {
                        break;
                    }
                }
                self.ends.push(self.bytes.len());
                match data.get(i) {
                    None if at_end => return Parse::Done(i),
                    // The quote may be the first of a doubled one.
                    None => return Parse::More,
                    Some(&b) if b == delimiter => i += 1,
                    Some(b'\r' | b'\n') => return Parse::Done(i),
                    Some(_) => return Parse::Refuse,
                }
            } else {
                let end = memchr::memchr3(delimiter, b'\r', b'\n', &data[i..])
                    .map_or(data.len(), |e| i + e);
                if memchr::memchr(quote, &data[i..end]).is_some() {
                    return Parse::Refuse;
                }
                self.bytes.extend_from_slice(&data[i..end]);
                self.ends.push(self.bytes.len());
                i = end;
                match data.get(i) {
                    None if at_end => return Parse::Done(i),
                    None => return Parse::More,
                    Some(&b) if b == delimiter => i += 1,
                    Some(_) => return Parse::Done(i),
                }
            }
        }
    }

    /// Whether the parser would take the record without a word: no cell
    /// over the cell limit, no more line breaks than a quoted cell may
    /// hold (the record's, counted together: stricter than the parser's
    /// per cell, so a record the parser would take may be left to it).
    pub(super) fn within_limits(&self, limits: &crate::read::Limits) -> bool {
        let longest = (0..self.ends.len())
            .filter_map(|i| self.field(i).map(<[u8]>::len))
            .max()
            .unwrap_or(0);
        longest as u64 <= limits.max_cell_bytes
            && memchr::memchr_iter(b'\n', &self.bytes).count() as u64 <= limits.max_quoted_lines
    }
}
