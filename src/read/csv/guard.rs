//! The bytes between a CSV file and the parser, checked as they pass
//! ([`Guard`]): no NUL byte (a binary file, or UTF-16 read as something
//! else), no line longer than the cell limit (so no record the parser
//! builds can grow past it), bare-CR line ends made `\n` (so rows are
//! numbered by the lines people see), and, at the end, a line break and a
//! sentinel line: outside quotes the sentinel is a record of its own that
//! the reader drops; inside a quote left open it is swallowed into the
//! open cell, which is how the reader knows the quote reached the end of
//! the file ([`SENTINEL`]).

use std::io::{self, Read};

/// The line appended after the file's last line. It holds NUL bytes,
/// which no input may hold, so it can be nothing but ours.
pub(super) const SENTINEL: &[u8] = b"\x00facturare-etl: end of file\x00";

/// Why the guard stopped the bytes (carried in an [`io::Error`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Stop {
    /// A NUL byte on this line (1-based).
    Nul { line: u64 },
    /// This line (1-based) is longer than the limit.
    LongLine { line: u64 },
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Nul { line } => write!(f, "a NUL byte on line {line}"),
            Stop::LongLine { line } => write!(f, "line {line} is too long"),
        }
    }
}

impl std::error::Error for Stop {}

impl Stop {
    /// The guard's stop inside an error the parser returned, if it is one.
    pub(super) fn of(e: &csv::Error) -> Option<Stop> {
        match e.kind() {
            csv::ErrorKind::Io(io) => io.get_ref()?.downcast_ref::<Stop>().cloned(),
            _ => None,
        }
    }
}

/// See the module docs.
pub(super) struct Guard<R> {
    inner: R,
    /// Lines end in `\r\n`: the appended line breaks are `\r\n` too.
    crlf: bool,
    /// Lines end in a bare `\r`: each becomes `\n`.
    cr_lines: bool,
    max_line: u64,
    /// Line breaks seen (`\n`, or `\r` in a bare-CR file).
    lines: u64,
    /// Bytes since the last line break.
    run: u64,
    last: u8,
    tail: Vec<u8>,
    done: bool,
}

impl<R: Read> Guard<R> {
    pub(super) fn new(inner: R, crlf: bool, cr_lines: bool, max_line: u64) -> Self {
        Guard {
            inner,
            crlf,
            cr_lines,
            max_line,
            lines: 0,
            run: 0,
            last: b'\n',
            tail: Vec::new(),
            done: false,
        }
    }

    /// Check (and in a bare-CR file, translate) bytes just read.
    fn check(&mut self, buf: &mut [u8]) -> io::Result<()> {
        if let Some(at) = memchr::memchr(0, buf) {
            let line = self.lines + 1 + memchr::memchr_iter(b'\n', &buf[..at]).count() as u64;
            let line = if self.cr_lines {
                self.lines + 1 + memchr::memchr_iter(b'\r', &buf[..at]).count() as u64
            } else {
                line
            };
            return Err(io::Error::other(Stop::Nul { line }));
        }
        if self.cr_lines {
            for b in buf.iter_mut() {
                if *b == b'\r' {
                    *b = b'\n';
                }
            }
        }
        let mut from = 0usize;
        for at in memchr::memchr2_iter(b'\r', b'\n', buf) {
            let len = self.run + (at - from) as u64;
            if len > self.max_line {
                return Err(io::Error::other(Stop::LongLine {
                    line: self.lines + 1,
                }));
            }
            self.lines += u64::from(buf[at] == b'\n');
            self.run = 0;
            from = at + 1;
        }
        self.run += (buf.len() - from) as u64;
        if self.run > self.max_line {
            return Err(io::Error::other(Stop::LongLine {
                line: self.lines + 1,
            }));
        }
        Ok(())
    }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.done {
            let n = self.inner.read(buf)?;
            if n > 0 {
                self.check(&mut buf[..n])?;
                self.last = buf[n - 1];
                return Ok(n);
            }
            self.done = true;
            let eol: &[u8] = if self.crlf { b"\r\n" } else { b"\n" };
            if self.last != b'\n' {
                if self.crlf && self.last == b'\r' {
                    self.tail.push(b'\n');
                } else {
                    self.tail.extend_from_slice(eol);
                }
            }
            self.tail.extend_from_slice(SENTINEL);
            self.tail.extend_from_slice(eol);
            self.tail.reverse();
        }
        let mut n = 0;
        while n < buf.len() {
            match self.tail.pop() {
                Some(b) => {
                    buf[n] = b;
                    n += 1;
                }
                None => break,
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(bytes: &[u8], crlf: bool, cr: bool, max: u64) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        // Small reads, so that lines cross them.
        let mut g = Guard::new(bytes, crlf, cr, max);
        let mut buf = [0u8; 5];
        loop {
            let n = g.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    fn stop(e: io::Error) -> Stop {
        e.get_ref().unwrap().downcast_ref::<Stop>().unwrap().clone()
    }

    #[test]
    fn the_end_gets_a_line_break_and_the_sentinel() {
        let end = [SENTINEL, b"\n"].concat();
        assert_eq!(
            through(b"a\nb", false, false, 99).unwrap(),
            [b"a\nb\n".as_slice(), &end].concat()
        );
        assert_eq!(
            through(b"a\nb\n", false, false, 99).unwrap(),
            [b"a\nb\n".as_slice(), &end].concat()
        );
        let end = [SENTINEL, b"\r\n"].concat();
        assert_eq!(
            through(b"a\r\nb", true, false, 99).unwrap(),
            [b"a\r\nb\r\n".as_slice(), &end].concat()
        );
        assert_eq!(
            through(b"a\r\nb\r", true, false, 99).unwrap(),
            [b"a\r\nb\r\n".as_slice(), &end].concat()
        );
    }

    #[test]
    fn bare_cr_lines_become_lf() {
        let out = through(b"a\rb\rc", false, true, 99).unwrap();
        assert!(out.starts_with(b"a\nb\nc\n"));
    }

    #[test]
    fn nul_bytes_and_long_lines_stop_at_their_line() {
        let e = through(b"ok\nok\nbad\0x\n", false, false, 99).unwrap_err();
        assert_eq!(stop(e), Stop::Nul { line: 3 });
        let e = through(b"ab\rcd\r\0", false, true, 99).unwrap_err();
        assert_eq!(stop(e), Stop::Nul { line: 3 });
        let e = through(b"short\nthis line is long\nx\n", false, false, 10).unwrap_err();
        assert_eq!(stop(e), Stop::LongLine { line: 2 });
        let e = through(&[b'x'; 40], false, false, 10).unwrap_err();
        assert_eq!(stop(e), Stop::LongLine { line: 1 });
        assert!(through(b"0123456789\r\n0123456789\r\n", true, false, 10).is_ok());
    }
}
