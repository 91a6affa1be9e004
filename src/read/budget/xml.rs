//! A streaming look at XML (a workbook part, decompressed as it is read):
//! every tag handed to a [`Handler`] with its attributes, no text and no
//! tag allowed past a size, in memory bounded by that size. It reads only
//! what the budget checks need, far faster than a parser that builds
//! values, and never holds more than one tag.

use std::io::Read;

/// What a scan is looking for.
pub(in crate::read) trait Handler {
    /// A tag (between `<` and `>`, both left out): `table:table-row
    /// table:number-rows-repeated="3"`, `/table:table-row`, `c r="A1"/`.
    fn tag(&mut self, tag: &[u8]) -> Result<(), String>;
    /// Where the scan is, for an error about a text or a tag too long:
    /// ` (sheet "Data", row 12)`.
    fn place(&self) -> String;
}

/// Scan `r`: each tag to `h`; a text run or a tag longer than `max`
/// bytes is an error (with `what`, the part's name). `r` (a part being
/// inflated) is read on a thread of its own, a block ahead, so that
/// inflating and looking at the tags take a core each.
pub(in crate::read) fn scan(
    r: impl Read + Send,
    max: u64,
    what: &str,
    limit_text: &str,
    h: &mut impl Handler,
) -> Result<(), String> {
    std::thread::scope(|scope| {
        let (tx, blocks) = std::sync::mpsc::sync_channel(BLOCKS_AHEAD);
        std::thread::Builder::new()
            .name("scan-part".into())
            .spawn_scoped(scope, move || read_ahead(r, &tx))
            .map_err(|e| format!("{what} cannot be read: failed to start a thread ({e})"))?;
        let blocks = blocks
            .into_iter()
            .map(|b| b.map_err(|e| format!("{what} cannot be read: {e}")));
        // Returning drops the receiver, which stops the reading thread.
        scan_blocks(blocks, max, what, limit_text, h)
    })
}

/// Blocks read ahead of the scan, at most (each [`BLOCK`] bytes).
const BLOCKS_AHEAD: usize = 4;
const BLOCK: usize = 256 << 10;

/// Read `r` to its end in blocks, each sent on `tx` (an error last), until
/// the scan is gone.
fn read_ahead(mut r: impl Read, tx: &std::sync::mpsc::SyncSender<std::io::Result<Vec<u8>>>) {
    loop {
        let mut buf = vec![0u8; BLOCK];
        let block = match r.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                buf.truncate(n);
                Ok(buf)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => Err(e),
        };
        let failed = block.is_err();
        if tx.send(block).is_err() || failed {
            return;
        }
    }
}

fn scan_blocks(
    blocks: impl Iterator<Item = Result<Vec<u8>, String>>,
    max: u64,
    what: &str,
    limit_text: &str,
    h: &mut impl Handler,
) -> Result<(), String> {
    let mut in_tag = false;
    // A tag that runs over the end of a block.
    let mut tag: Vec<u8> = Vec::new();
    let mut text_run = 0u64;
    let too_long = |h: &dyn Fn() -> String, kind: &str| {
        format!("{what}: {kind} of more than {limit_text}{}", h())
    };
    for buf in blocks {
        let buf = buf?;
        let n = buf.len();
        let mut pos = 0;
        while pos < n {
            let chunk = &buf[pos..n];
            if in_tag {
                match memchr::memchr(b'>', chunk) {
                    Some(end) => {
                        if (tag.len() + end) as u64 > max {
                            return Err(too_long(&|| h.place(), "a tag (or a value in it)"));
                        }
                        tag.extend_from_slice(&chunk[..end]);
                        h.tag(&tag)?;
                        tag.clear();
                        in_tag = false;
                        pos += end + 1;
                    }
                    None => {
                        if (tag.len() + chunk.len()) as u64 > max {
                            return Err(too_long(&|| h.place(), "a tag (or a value in it)"));
                        }
                        tag.extend_from_slice(chunk);
                        pos = n;
                    }
                }
            } else {
                match memchr::memchr(b'<', chunk) {
                    Some(start) => {
                        if text_run + start as u64 > max {
                            return Err(too_long(&|| h.place(), "a text (a cell's value)"));
                        }
                        text_run = 0;
                        pos += start + 1;
                        // A tag within the block is looked at where it is.
                        match memchr::memchr(b'>', &buf[pos..n]) {
                            Some(end) if end as u64 <= max => {
                                h.tag(&buf[pos..pos + end])?;
                                pos += end + 1;
                            }
                            _ => in_tag = true,
                        }
                    }
                    None => {
                        text_run += chunk.len() as u64;
                        if text_run > max {
                            return Err(too_long(&|| h.place(), "a text (a cell's value)"));
                        }
                        pos = n;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The tag's name (`table:table-row`, `/table:table`).
pub(in crate::read) fn name(tag: &[u8]) -> &[u8] {
    let end = tag
        .iter()
        .position(|b| b.is_ascii_whitespace() || *b == b'/' && tag.first() != Some(&b'/'))
        .unwrap_or(tag.len());
    &tag[..end]
}

/// Whether the tag closes itself (`<x/>`).
pub(in crate::read) fn self_closing(tag: &[u8]) -> bool {
    tag.last() == Some(&b'/')
}

/// The value of attribute `attr` in a tag.
pub(in crate::read) fn attr<'t>(tag: &'t [u8], attr: &[u8]) -> Option<&'t [u8]> {
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&tag[from..], attr) {
        let at = from + i;
        let before_ok = at > 0 && tag[at - 1].is_ascii_whitespace();
        let rest = &tag[at + attr.len()..];
        let rest = rest.strip_prefix(b"=").map(|r| r.trim_ascii_start());
        if let (true, Some(rest)) = (before_ok, rest) {
            if let Some(&q) = rest.first().filter(|q| **q == b'"' || **q == b'\'') {
                let body = &rest[1..];
                let end = memchr::memchr(q, body).unwrap_or(body.len());
                return Some(&body[..end]);
            }
        }
        from = at + attr.len();
    }
    None
}

/// An attribute as a whole number.
pub(in crate::read) fn number(tag: &[u8], attr_name: &[u8]) -> Option<u64> {
    std::str::from_utf8(attr(tag, attr_name)?)
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tags(Vec<String>);
    impl Handler for Tags {
        fn tag(&mut self, tag: &[u8]) -> Result<(), String> {
            self.0.push(String::from_utf8_lossy(tag).into_owned());
            Ok(())
        }
        fn place(&self) -> String {
            format!(" (after {} tags)", self.0.len())
        }
    }

    #[test]
    fn tags_texts_and_attributes() {
        let xml = br#"<a><row r="3" x='1'><c r="A3"/>text</row></a>"#;
        let mut h = Tags(Vec::new());
        scan(
            xml.chunks(4)
                .flatten()
                .copied()
                .collect::<Vec<_>>()
                .as_slice(),
            99,
            "p",
            "99",
            &mut h,
        )
        .unwrap();
        assert_eq!(h.0, ["a", "row r=\"3\" x='1'", "c r=\"A3\"/", "/row", "/a"]);
        let row = h.0[1].as_bytes();
        assert_eq!(name(row), b"row");
        assert_eq!(number(row, b"r"), Some(3));
        assert_eq!(attr(row, b"x"), Some(&b"1"[..]));
        assert_eq!(attr(row, b"y"), None);
        assert!(self_closing(h.0[2].as_bytes()));
        assert_eq!(name(h.0[3].as_bytes()), b"/row");
        assert_eq!(attr(b"c rr=\"1\" r=\"2\"", b"r"), Some(&b"2"[..]));
    }

    #[test]
    fn long_texts_and_tags_are_refused_where_they_are() {
        let mut h = Tags(Vec::new());
        let text = format!("<a><b>{}</b></a>", "x".repeat(100));
        let e = scan(text.as_bytes(), 50, "sheet1.xml", "50 bytes", &mut h).unwrap_err();
        assert_eq!(
            e,
            "sheet1.xml: a text (a cell's value) of more than 50 bytes (after 2 tags)"
        );
        let tag = format!("<a v=\"{}\"/>", "y".repeat(100));
        let e = scan(tag.as_bytes(), 50, "p", "50 bytes", &mut Tags(Vec::new())).unwrap_err();
        assert!(e.contains("a tag"), "{e}");
    }
}
