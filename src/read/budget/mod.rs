//! A workbook checked against the read budget ([`Limits`]) before
//! `calamine` is given it: `calamine` holds some parts whole (XLSX shared
//! strings and styles, an XLS file, every cell of an XLS or ODS sheet)
//! and trusts the sizes and repeat counts a file states, so a small file
//! can make it take gigabytes. We cannot patch it here; we look first.
//!
//! - XLS ([`cfb`]): the compound file's chains (no loop, none past the
//!   file, no stream larger than the file) and each sheet's grid.
//! - XLSX: every part it reads whole is at most `max_part_bytes` unpacked
//!   (the ZIP's stated sizes, which the `zip` crate holds it to), the
//!   shared strings' stated count is possible, and a sheet too large to
//!   hold is scanned for a text or tag over `max_cell_bytes`.
//! - ODS: the content scanned ([`xml`]) for the cells its repeated rows
//!   and columns expand to, and for a text or tag over `max_cell_bytes`.
//!
//! [`check`] is the one entry; the reader calls it after telling the
//! format by the file's first bytes.

mod cfb;
pub(super) mod xml;

use super::{Format, Limit, Limits, ReadError};
use crate::model::text::{bytes, thousands};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Check a workbook before it is read (see the module docs).
pub fn check(path: &Path, format: Format, limits: &Limits) -> Result<Arc<Scanned>, ReadError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| ReadError::file(path, "failed to open", Some(Box::new(e))))?;
    // A command opens its first input more than once (its header, then its
    // rows); the same file under the same limits passes the same way.
    let key = Checked::of(path, format, limits, &meta);
    let mut done = CHECKED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(key) = &key {
        if let Some((_, scanned)) = done.iter().find(|(k, _)| k == key) {
            return Ok(scanned.clone());
        }
    }
    let scanned = Arc::new(check_now(path, format, limits, meta.len())?);
    if let Some(key) = key {
        if done.len() >= 16 {
            done.remove(0);
        }
        done.push((key, scanned.clone()));
    }
    Ok(scanned)
}

/// A file as checked: where it is, which file it is and when it was last
/// written, and the limits it was checked under.
#[derive(Debug, PartialEq)]
struct Checked {
    path: std::path::PathBuf,
    format: Format,
    limits: Limits,
    len: u64,
    modified: std::time::SystemTime,
    #[cfg(unix)]
    inode: (u64, u64),
}

impl Checked {
    fn of(
        path: &Path,
        format: Format,
        limits: &Limits,
        meta: &std::fs::Metadata,
    ) -> Option<Checked> {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt as _;
        Some(Checked {
            path: std::path::absolute(path).ok()?,
            format,
            limits: *limits,
            len: meta.len(),
            modified: meta.modified().ok()?,
            #[cfg(unix)]
            inode: (meta.dev(), meta.ino()),
        })
    }
}

/// The files this process checked, the last few.
static CHECKED: std::sync::Mutex<Vec<(Checked, Arc<Scanned>)>> = std::sync::Mutex::new(Vec::new());

fn check_now(
    path: &Path,
    format: Format,
    limits: &Limits,
    size: u64,
) -> Result<Scanned, ReadError> {
    let fail = |m: String| ReadError::file(path, m, None);
    match format {
        Format::Xls => {
            if size > limits.max_part_bytes {
                return Err(fail(format!(
                    "the XLS file is {} bytes; an XLS file is read whole, and this is {}",
                    thousands(size),
                    limits.over(Limit::PartBytes)
                )));
            }
            let data = crate::fs::read(path)
                .map_err(|e| ReadError::file(path, "failed to read", Some(Box::new(e))))?;
            cfb::check(&data, limits).map_err(fail)?;
            Ok(Scanned::default())
        }
        Format::Xlsx => xlsx(path, limits).map_err(fail),
        Format::Ods => ods(path, limits).map_err(fail).map(|()| Scanned::default()),
        _ => Ok(Scanned::default()),
    }
}

/// What the check read on its way that the reader would read again: the
/// merged regions of each big worksheet part it scanned whole (by the
/// part's path in the archive; a part with a region it could not read is
/// left out).
#[derive(Debug, Default)]
pub struct Scanned {
    pub merges: std::collections::HashMap<String, Vec<calamine::Dimensions>>,
}

type Zip = zip::ZipArchive<std::io::BufReader<std::fs::File>>;

fn open_zip(path: &Path) -> Result<Option<Zip>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("failed to open: {e}"))?;
    // Not a ZIP archive the `zip` crate reads: calamine says why.
    Ok(zip::ZipArchive::new(std::io::BufReader::new(f)).ok())
}

/// The parts of an XLSX: their sizes, the shared strings' count, the big
/// sheets' cells.
fn xlsx(path: &Path, limits: &Limits) -> Result<Scanned, String> {
    let mut scanned = Scanned::default();
    let Some(mut zip) = open_zip(path)? else {
        return Ok(scanned);
    };
    let mut big_sheets: Vec<String> = Vec::new();
    for i in 0..zip.len() {
        let Ok(entry) = zip.by_index_raw(i) else {
            continue;
        };
        let Ok(name) = entry.name().map(|n| n.to_string()) else {
            continue;
        };
        let unpacked = entry.size();
        drop(entry);
        let lower = name.to_ascii_lowercase();
        if !lower.ends_with(".xml") && !lower.ends_with(".rels") {
            continue;
        }
        let sheet = lower.starts_with("xl/worksheets/") && !lower.contains("/_rels/");
        if sheet {
            if unpacked > limits.max_part_bytes {
                big_sheets.push(name);
            }
            continue;
        }
        if unpacked > limits.max_part_bytes {
            let what = if lower.ends_with("sharedstrings.xml") {
                "the shared strings (every text of the workbook, which are read whole)"
            } else {
                "a part read whole"
            };
            return Err(format!(
                "{name} ({what}) unpacks to {} bytes, {}",
                thousands(unpacked),
                limits.over(Limit::PartBytes)
            ));
        }
        if lower.ends_with("sharedstrings.xml") {
            shared_strings_count(&mut zip, &name, unpacked, limits)?;
        }
    }
    for name in big_sheets {
        let entry = zip
            .by_name(&name)
            .map_err(|e| format!("{name} cannot be read: {e}"))?;
        let mut h = SheetScan::default();
        let max = limits.max_cell_bytes;
        xml::scan(entry, max, &name, &limits_text(limits), &mut h)?;
        if let Some(regions) = h.regions.finish() {
            scanned.merges.insert(name, regions);
        }
    }
    Ok(scanned)
}

fn limits_text(limits: &Limits) -> String {
    format!(
        "{} ({})",
        bytes(limits.max_cell_bytes),
        Limit::CellBytes.how_to_raise()
    )
}

/// The number of distinct shared strings the part states (`uniqueCount`:
/// the reader reserves room for all of them at once): at most one per 5
/// bytes of the part (`<si/>`). `count` is the number of cells that refer
/// to them, which may be any size, and is not looked at.
fn shared_strings_count(
    zip: &mut Zip,
    name: &str,
    unpacked: u64,
    limits: &Limits,
) -> Result<(), String> {
    let mut head = Vec::with_capacity(4096);
    zip.by_name(name)
        .map_err(|e| format!("{name} cannot be read: {e}"))?
        .take(4096)
        .read_to_end(&mut head)
        .map_err(|e| format!("{name} cannot be read: {e}"))?;
    let Some(at) = memchr::memmem::find(&head, b"<sst") else {
        return Ok(());
    };
    let end = memchr::memchr(b'>', &head[at..]).map_or(head.len(), |e| at + e);
    let tag = &head[at + 1..end];
    if let Some(n) = xml::number(tag, b"uniqueCount") {
        let possible = unpacked / 5 + 1;
        if n > possible || n > limits.max_part_bytes / 5 {
            return Err(format!(
                "{name} states {} shared strings in {} bytes: the workbook is damaged (or a trap); at most {} fit",
                thousands(n),
                thousands(unpacked),
                thousands(possible.min(limits.max_part_bytes / 5))
            ));
        }
    }
    Ok(())
}

/// A big worksheet's scan: its row numbers, for messages, and its merged
/// regions, for the reader.
#[derive(Default)]
struct SheetScan {
    row: u64,
    regions: crate::read::sheet::merges::Regions,
}

impl xml::Handler for SheetScan {
    fn tag(&mut self, tag: &[u8]) -> Result<(), String> {
        let name = xml::name(tag);
        if name == b"row" {
            if let Some(r) = xml::number(tag, b"r") {
                self.row = r;
            }
        } else if name.ends_with(b"mergeCell") {
            self.regions.tag(tag)?;
        }
        Ok(())
    }

    fn place(&self) -> String {
        match self.row {
            0 => String::new(),
            r => format!(" (in row {r})"),
        }
    }
}

/// An ODS file's content: the cells it expands to, and no text or tag
/// over the cell budget.
fn ods(path: &Path, limits: &Limits) -> Result<(), String> {
    let Some(mut zip) = open_zip(path)? else {
        return Ok(());
    };
    let Ok(content) = zip.by_name("content.xml") else {
        return Ok(());
    };
    let mut h = OdsScan {
        limits: *limits,
        ..OdsScan::default()
    };
    xml::scan(
        content,
        limits.max_cell_bytes,
        "content.xml",
        &limits_text(limits),
        &mut h,
    )
}

/// As calamine expands an ODS table (rows capped at 1,048,576 in all,
/// columns at 16,384 a row): every table's cells before expansion and
/// after, from its first row with a value to its last.
#[derive(Default)]
struct OdsScan {
    limits: Limits,
    table: String,
    /// Cells of the workbook's tables counted so far.
    total: u64,
    /// This table: rows so far (repeats expanded), cells before expansion.
    rows: u64,
    pre: u64,
    first: Option<u64>,
    last_end: u64,
    width: u64,
    /// This row: its repeat, the column reached, the end of its last value.
    repeat: u64,
    col: u64,
    extent: u64,
    in_row: bool,
}

const ODS_MAX_ROWS: u64 = 1_048_576;
const ODS_MAX_COLUMNS: u64 = 16_384;

impl OdsScan {
    fn cells(&self) -> u64 {
        let expanded = match self.first {
            Some(f) => (self.last_end - f).saturating_mul(self.width),
            None => 0,
        };
        self.total.saturating_add(self.pre.max(expanded))
    }

    fn over(&self) -> Result<(), String> {
        let n = self.cells();
        if n > self.limits.max_sheet_cells {
            return Err(format!(
                "the sheets expand to more than {} cells (table {:?} from row {} on, with its repeated rows and columns), {}",
                thousands(n),
                self.table,
                self.first.unwrap_or(0) + 1,
                self.limits.over(Limit::SheetCells)
            ));
        }
        Ok(())
    }

    fn end_row(&mut self) -> Result<(), String> {
        self.in_row = false;
        let repeat = self.repeat.min(ODS_MAX_ROWS.saturating_sub(self.rows));
        if self.extent > 0 {
            self.pre += self.extent;
            if self.first.is_none() {
                self.first = Some(self.rows);
            }
            self.last_end = self.rows + repeat;
            self.width = self.width.max(self.extent);
        }
        self.rows += repeat;
        self.over()
    }
}

impl xml::Handler for OdsScan {
    fn tag(&mut self, tag: &[u8]) -> Result<(), String> {
        match xml::name(tag) {
            b"table:table" => {
                self.table = xml::attr(tag, b"table:name")
                    .map(|n| String::from_utf8_lossy(n).into_owned())
                    .unwrap_or_default();
                (self.rows, self.pre, self.first, self.last_end, self.width) = (0, 0, None, 0, 0);
            }
            b"/table:table" => {
                self.total = self.cells();
                (self.pre, self.first, self.width) = (0, None, 0);
            }
            b"table:table-row" => {
                self.repeat = xml::number(tag, b"table:number-rows-repeated").unwrap_or(1);
                (self.col, self.extent, self.in_row) = (0, 0, true);
                if xml::self_closing(tag) {
                    self.end_row()?;
                }
            }
            b"/table:table-row" if self.in_row => self.end_row()?,
            b"table:table-cell" | b"table:covered-table-cell" if self.in_row => {
                let repeat = xml::number(tag, b"table:number-columns-repeated").unwrap_or(1);
                self.col = self.col.saturating_add(repeat).min(ODS_MAX_COLUMNS);
                // A cell with a value, or with content that may be one.
                let value =
                    !xml::self_closing(tag) || xml::attr(tag, b"office:value-type").is_some();
                if value {
                    self.extent = self.col;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn place(&self) -> String {
        format!(" (table {:?}, row {})", self.table, self.rows + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ods_cells(content: &str, limits: Limits) -> Result<u64, String> {
        let mut h = OdsScan {
            limits,
            ..OdsScan::default()
        };
        xml::scan(
            content.as_bytes(),
            limits.max_cell_bytes,
            "content.xml",
            "4 MiB",
            &mut h,
        )?;
        Ok(h.total)
    }

    /// A workbook of one sheet of 3,000 rows (about 60 KB unpacked, its
    /// other parts under 8 KB), regions merged as given, written by
    /// rust_xlsxwriter.
    fn workbook(path: &Path, merged: &[(u32, u16, u32, u16)]) {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for r in 0..3000u32 {
            ws.write(r, 1, r).unwrap();
        }
        for &(r0, c0, r1, c1) in merged {
            ws.merge_range(r0, c0, r1, c1, "m", &rust_xlsxwriter::Format::new())
                .unwrap();
        }
        wb.save(path).unwrap();
    }

    #[test]
    fn a_file_is_checked_again_once_rewritten_and_a_big_sheet_hands_on_its_regions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.xlsx");
        // The sheet is big (scanned whole); the other parts are not.
        let limits = Limits {
            max_part_bytes: 16 << 10,
            ..Limits::default()
        };
        let region = |r0, c0, r1, c1| calamine::Dimensions {
            start: (r0, c0),
            end: (r1, c1),
        };
        workbook(&path, &[(3, 0, 4, 2)]);
        let first = check(&path, Format::Xlsx, &limits).unwrap();
        let again = check(&path, Format::Xlsx, &limits).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "the same file is checked once");
        assert_eq!(
            first.merges.get("xl/worksheets/sheet1.xml"),
            Some(&vec![region(3, 0, 4, 2)])
        );
        // Under other limits it is checked again: the sheet is not big.
        let small = check(&path, Format::Xlsx, &Limits::default()).unwrap();
        assert!(small.merges.is_empty());

        std::thread::sleep(std::time::Duration::from_millis(20));
        workbook(&path, &[(5, 1, 6, 1), (10, 0, 10, 3)]);
        let rewritten = check(&path, Format::Xlsx, &limits).unwrap();
        assert_eq!(
            rewritten.merges.get("xl/worksheets/sheet1.xml"),
            Some(&vec![region(5, 1, 6, 1), region(10, 0, 10, 3)])
        );
    }

    #[test]
    fn ods_repeats_are_counted_as_the_reader_expands_them() {
        let l = Limits::default();
        let plain = r#"<table:table table:name="S"><table:table-row><table:table-cell office:value-type="float" office:value="1"/><table:table-cell/></table:table-row></table:table>"#;
        assert_eq!(ods_cells(plain, l), Ok(1));
        // A value repeated over every column of a million rows.
        let bomb = r#"<table:table table:name="S"><table:table-row table:number-rows-repeated="1048576"><table:table-cell table:number-columns-repeated="16384" office:value-type="float" office:value="1"/></table:table-row></table:table>"#;
        let e = ods_cells(bomb, l).unwrap_err();
        assert!(
            e.contains("max_sheet_cells") && e.contains("table \"S\""),
            "{e}"
        );
        // Empty rows at the end cost nothing; between values they do.
        let tail = r#"<table:table table:name="S"><table:table-row><table:table-cell office:value-type="string"><text:p>a</text:p></table:table-cell></table:table-row><table:table-row table:number-rows-repeated="1000000"><table:table-cell/></table:table-row></table:table>"#;
        assert_eq!(ods_cells(tail, l), Ok(1));
        let between = tail.replace("</table:table>", r#"<table:table-row><table:table-cell office:value-type="float" office:value="2" table:number-columns-repeated="3"/></table:table-row></table:table>"#);
        let roomy = Limits {
            max_sheet_cells: 10_000_000,
            ..l
        };
        assert_eq!(ods_cells(&between, roomy), Ok(1_000_002 * 3));
        assert!(ods_cells(&between, l).is_err());
    }
}
