//! The compact binary form of the temporary files that hold rows between
//! passes (the export's spool, the grouping's spill): little-endian
//! numbers, text with its length before it, dates as days from the common
//! era, dates and times as Unix seconds and nanoseconds. The files are the
//! program's own and short-lived, but read back with care: bytes that are
//! not what was written are an error naming the file, never a panic.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use std::io::Read;

pub(crate) fn put_u32(buf: &mut Vec<u8>, n: u32) {
    buf.extend_from_slice(&n.to_le_bytes());
}

/// Text, its length first (a cell or message is far below 4 GiB: the
/// readers' limits bound each).
pub(crate) fn put_text(buf: &mut Vec<u8>, s: &str) {
    put_u32(buf, s.len() as u32);
    buf.extend_from_slice(s.as_bytes());
}

pub(crate) fn put_date(buf: &mut Vec<u8>, d: NaiveDate) {
    buf.extend_from_slice(&d.num_days_from_ce().to_le_bytes());
}

pub(crate) fn put_datetime(buf: &mut Vec<u8>, t: NaiveDateTime) {
    let t = t.and_utc();
    buf.extend_from_slice(&t.timestamp().to_le_bytes());
    buf.extend_from_slice(&t.timestamp_subsec_nanos().to_le_bytes());
}

/// Reads back what the `put_` functions wrote.
pub(crate) struct Reader<R> {
    inner: R,
    /// The file, as errors name it ("the export's spool file").
    file: &'static str,
    /// The last text read, its room kept for the next.
    scratch: Vec<u8>,
}

impl<R: Read> Reader<R> {
    pub(crate) fn new(inner: R, file: &'static str) -> Reader<R> {
        Reader {
            inner,
            file,
            scratch: Vec::new(),
        }
    }

    /// The error for bytes that are not what was written.
    pub(crate) fn damaged(&self, what: &str) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is damaged ({what})", self.file),
        )
    }

    pub(crate) fn bytes<const N: usize>(&mut self) -> std::io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.inner.read_exact(&mut b)?;
        Ok(b)
    }

    pub(crate) fn u8(&mut self) -> std::io::Result<u8> {
        self.bytes::<1>().map(|[b]| b)
    }

    pub(crate) fn u32(&mut self) -> std::io::Result<u32> {
        self.bytes().map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self) -> std::io::Result<u64> {
        self.bytes().map(u64::from_le_bytes)
    }

    /// The next record's first byte, or `None` at the end of the file.
    pub(crate) fn first_byte(&mut self) -> std::io::Result<Option<u8>> {
        let mut b = [0u8; 1];
        match self.inner.read(&mut b)? {
            0 => Ok(None),
            _ => Ok(Some(b[0])),
        }
    }

    /// The next text, borrowed until the next read (the rows' cells are
    /// mostly short: made from this, they need no allocation of their own).
    pub(crate) fn str(&mut self) -> std::io::Result<&str> {
        let n = self.u32()? as usize;
        self.scratch.clear();
        // The length is not trusted for the allocation: a damaged one ends
        // at the file's end.
        (&mut self.inner)
            .take(n as u64)
            .read_to_end(&mut self.scratch)?;
        if self.scratch.len() != n {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        match std::str::from_utf8(&self.scratch) {
            Ok(s) => Ok(s),
            Err(_) => Err(self.damaged("text")),
        }
    }

    pub(crate) fn text(&mut self) -> std::io::Result<String> {
        self.str().map(String::from)
    }

    pub(crate) fn date(&mut self) -> std::io::Result<NaiveDate> {
        let days = i32::from_le_bytes(self.bytes()?);
        NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| self.damaged("date"))
    }

    pub(crate) fn datetime(&mut self) -> std::io::Result<NaiveDateTime> {
        let secs = i64::from_le_bytes(self.bytes()?);
        let nanos = self.u32()?;
        chrono::DateTime::from_timestamp(secs, nanos)
            .map(|t| t.naive_utc())
            .ok_or_else(|| self.damaged("date and time"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_put_is_read_back_and_a_short_file_is_an_error() {
        let mut buf = Vec::new();
        put_u32(&mut buf, 7);
        put_text(&mut buf, "Bălți, «Лист»");
        let d = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        put_date(&mut buf, d);
        let t = d.and_hms_nano_opt(17, 46, 22, 5).unwrap();
        put_datetime(&mut buf, t);
        let mut r = Reader::new(&buf[..], "the test file");
        assert_eq!(r.u32().unwrap(), 7);
        assert_eq!(r.text().unwrap(), "Bălți, «Лист»");
        assert_eq!(r.date().unwrap(), d);
        assert_eq!(r.datetime().unwrap(), t);
        assert_eq!(r.first_byte().unwrap(), None);

        // A length past the end, and bytes that are not UTF-8.
        let mut short = Vec::new();
        put_u32(&mut short, u32::MAX);
        short.extend_from_slice(b"abc");
        assert!(Reader::new(&short[..], "f").text().is_err());
        let mut bad = Vec::new();
        put_u32(&mut bad, 2);
        bad.extend_from_slice(&[0xff, 0xfe]);
        let e = Reader::new(&bad[..], "the test file").text().unwrap_err();
        assert_eq!(e.to_string(), "the test file is damaged (text)");
    }
}
