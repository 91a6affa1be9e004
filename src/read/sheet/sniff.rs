//! A workbook's first bytes against the format it is read as: a file of
//! another kind gets a message saying what it looks like instead.

use super::super::{Format, ReadError};
use std::io::Read as _;
use std::path::Path;

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0];

pub(super) fn sniff(path: &Path, format: Format) -> Result<(), ReadError> {
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| ReadError::file(path, "failed to open", Some(Box::new(e))))?;
    let head = &head[..n];
    let (magic, what) = match format {
        Format::Xls => (CFB_MAGIC, "an XLS workbook (an OLE2 compound file)"),
        Format::Ods => (ZIP_MAGIC, "an ODS workbook (a ZIP archive)"),
        _ => (ZIP_MAGIC, "an XLSX workbook (a ZIP archive)"),
    };
    if head.starts_with(magic) {
        return Ok(());
    }
    let hint = if n == 0 {
        "the file is empty".to_string()
    } else if head.starts_with(ZIP_MAGIC) && format == Format::Xls {
        "it is a ZIP archive: if it is an .xlsx file, rename it or set `format = \"xlsx\"`"
            .to_string()
    } else if head.starts_with(CFB_MAGIC) {
        "it is an OLE2 file: if it is an old .xls file, rename it or set `format = \"xls\"`"
            .to_string()
    } else if head
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace() || *b >= 0x80)
    {
        "it looks like text: if it is CSV, rename it to .csv or set `format = \"csv\"`".to_string()
    } else {
        format!("it starts with bytes {head:02X?}")
    };
    Err(ReadError::file(path, format!("not {what}: {hint}"), None))
}
