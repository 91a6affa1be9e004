//! The rejects CSV written in the input's own delimiter and encoding
//! (a BOM for UTF-8 and UTF-16; symbols a legacy code page lacks spelled
//! out).

use encoding_rs::Encoding;
use std::io::Write;

/// The CSV being written, into a temporary file beside the target.
pub(super) struct CsvSink {
    pub(super) out: std::io::BufWriter<tempfile::NamedTempFile>,
    pub(super) delimiter: u8,
    pub(super) encoding: &'static Encoding,
}

/// Symbols in our messages that legacy code pages lack.
fn ascii_symbols(s: &str) -> String {
    s.replace('×', "x")
        .replace('Σ', "sum of")
        .replace('−', "-")
        .replace('…', "...")
        .replace('→', "->")
}

impl CsvSink {
    pub(super) fn bom(&mut self) -> std::io::Result<()> {
        if self.encoding == encoding_rs::UTF_8 {
            self.out.write_all(b"\xEF\xBB\xBF")
        } else if self.encoding == encoding_rs::UTF_16LE || self.encoding == encoding_rs::UTF_16BE {
            self.out.write_all(b"\xFF\xFE")
        } else {
            Ok(())
        }
    }

    pub(super) fn record(&mut self, fields: &[String]) -> std::io::Result<()> {
        if fields.iter().all(String::is_empty) {
            let bytes = self.encode("\r\n");
            return self.out.write_all(&bytes);
        }
        let mut w = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .flexible(true)
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        w.write_record(fields).map_err(std::io::Error::other)?;
        let line = w
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let text = String::from_utf8_lossy(&line);
        let bytes = self.encode(&text);
        self.out.write_all(&bytes)
    }

    fn encode(&self, text: &str) -> Vec<u8> {
        if self.encoding == encoding_rs::UTF_8 {
            text.as_bytes().to_vec()
        } else if self.encoding == encoding_rs::UTF_16LE || self.encoding == encoding_rs::UTF_16BE {
            text.encode_utf16().flat_map(u16::to_le_bytes).collect()
        } else {
            let text = ascii_symbols(text);
            self.encoding.encode(&text).0.into_owned()
        }
    }
}
