//! An XLSX worksheet's merged regions, found by a byte scan of its part.
//!
//! The regions (`<mergeCells>`) follow the sheet's data in the part, and a
//! region's value must reach every row it covers as the rows stream, so
//! they are read before the cells. calamine's own reading of them parses
//! every XML event of the sheet: on a 200,000-row sheet it cost as much as
//! reading the cells (2.2 s of 6.0 s, `cargo bench --bench xlsx`). Here
//! the part is inflated and only its tags are looked at ([`xml::scan`]).
//!
//! The part is the one the workbook names for the sheet (`_rels/.rels` →
//! the workbook, its relationships → the worksheet). Whenever that chain
//! is not plain (a missing part, a relative path that climbs, an entity
//! in a name this file does not decode, a region it cannot read), the
//! answer is `None` and calamine reads the regions instead, as before.

use crate::read::budget::{xml, xml::Handler, Scanned};
use calamine::Dimensions;
use std::io::Read;
use std::path::Path;

type Zip = zip::ZipArchive<std::io::BufReader<std::fs::File>>;

/// The merged regions of sheet `sheet` of the XLSX at `path`, or `None`
/// when calamine should find them. `max_tag` bounds a tag's bytes; a part
/// the budget check scanned already (`scanned`) is not read again.
pub(super) fn find(
    path: &Path,
    sheet: &str,
    max_tag: u64,
    scanned: &Scanned,
) -> Option<Vec<Dimensions>> {
    let file = std::fs::File::open(path).ok()?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).ok()?;
    let part = sheet_part(&mut zip, sheet, max_tag)?;
    if let Some(found) = scanned.merges.get(&part) {
        return Some(found.clone());
    }
    let entry = zip.by_name(&part).ok()?;
    let mut h = Regions::default();
    xml::scan(entry, max_tag, &part, "", &mut h).ok()?;
    h.finish()
}

/// The zip path of the worksheet part the workbook names `sheet`.
fn sheet_part(zip: &mut Zip, sheet: &str, max_tag: u64) -> Option<String> {
    let root = tags_of(zip, "_rels/.rels", max_tag, |t| {
        (local(t) == b"Relationship"
            && xml::attr(t, b"Type").is_some_and(|ty| ty.ends_with(b"/officeDocument")))
        .then(|| xml::attr(t, b"Target").map(<[u8]>::to_vec))
        .flatten()
    })?;
    let workbook = match root.first() {
        Some(target) => resolve("", std::str::from_utf8(target).ok()?)?,
        None => "xl/workbook.xml".to_string(),
    };
    let (dir, file) = match workbook.rfind('/') {
        Some(i) => (&workbook[..=i], &workbook[i + 1..]),
        None => ("", workbook.as_str()),
    };
    let ids = tags_of(zip, &workbook, max_tag, |t| {
        if local(t) != b"sheet" {
            return None;
        }
        let name = unescape(xml::attr(t, b"name")?)?;
        let id = xml::attr(t, b"r:id")?;
        (name == sheet).then(|| id.to_vec())
    })?;
    let [id] = ids.as_slice() else {
        return None;
    };
    let rels = format!("{dir}_rels/{file}.rels");
    let targets = tags_of(zip, &rels, max_tag, |t| {
        (local(t) == b"Relationship" && xml::attr(t, b"Id") == Some(id.as_slice()))
            .then(|| xml::attr(t, b"Target").map(<[u8]>::to_vec))
            .flatten()
    })?;
    let [target] = targets.as_slice() else {
        return None;
    };
    resolve(dir, std::str::from_utf8(target).ok()?)
}

/// What `pick` takes from the tags of part `name` (None when the part is
/// missing or unreadable).
fn tags_of<T>(
    zip: &mut Zip,
    name: &str,
    max_tag: u64,
    pick: impl FnMut(&[u8]) -> Option<T>,
) -> Option<Vec<T>> {
    struct Pick<F, T> {
        pick: F,
        got: Vec<T>,
    }
    impl<T, F: FnMut(&[u8]) -> Option<T>> Handler for Pick<F, T> {
        fn tag(&mut self, tag: &[u8]) -> Result<(), String> {
            if let Some(v) = (self.pick)(tag) {
                self.got.push(v);
            }
            Ok(())
        }
        fn place(&self) -> String {
            String::new()
        }
    }
    let entry = zip.by_name(name).ok()?;
    let mut h = Pick {
        pick,
        got: Vec::new(),
    };
    // A workbook's own parts are small; a big one is not the plain case.
    xml::scan(
        entry.take(max_tag.max(1 << 20).saturating_mul(4)),
        max_tag,
        name,
        "",
        &mut h,
    )
    .ok()?;
    Some(h.got)
}

/// A relationship's target as a path inside the archive: absolute (`/xl/…`)
/// or relative to `dir`; one that climbs (`..`) is not the plain case.
fn resolve(dir: &str, target: &str) -> Option<String> {
    let path = match target.strip_prefix('/') {
        Some(abs) => abs.to_string(),
        None => format!("{dir}{target}"),
    };
    let plain = !path.is_empty()
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..");
    plain.then_some(path)
}

/// A tag's name without its namespace prefix (`x:mergeCell` → `mergeCell`).
fn local(tag: &[u8]) -> &[u8] {
    let name = xml::name(tag);
    match memchr::memrchr(b':', name) {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// An attribute's text with XML's five named entities and character
/// references decoded; anything else is `None`.
fn unescape(raw: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(raw).ok()?;
    if !s.contains('&') {
        return Some(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';')? + at;
        let entity = &rest[at + 1..end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let n = match entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => entity.strip_prefix('#')?.parse().ok()?,
                };
                char::from_u32(n)?
            }
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The `<mergeCell ref="…">` tags of a worksheet part.
#[derive(Default)]
pub(in crate::read) struct Regions {
    found: Vec<Dimensions>,
    unreadable: bool,
}

impl Regions {
    /// The regions, or `None` when one could not be read.
    pub(in crate::read) fn finish(self) -> Option<Vec<Dimensions>> {
        (!self.unreadable).then_some(self.found)
    }
}

impl Handler for Regions {
    fn tag(&mut self, tag: &[u8]) -> Result<(), String> {
        if local(tag) == b"mergeCell" {
            match xml::attr(tag, b"ref").and_then(region) {
                Some(d) => self.found.push(d),
                None => self.unreadable = true,
            }
        }
        Ok(())
    }

    fn place(&self) -> String {
        String::new()
    }
}

/// `A1:C3` (or one cell, `B2`) as 0-based dimensions.
fn region(r: &[u8]) -> Option<Dimensions> {
    let s = std::str::from_utf8(r).ok()?.trim();
    let (a, b) = s.split_once(':').unwrap_or((s, s));
    let (start, end) = (cell(a)?, cell(b)?);
    (start.0 <= end.0 && start.1 <= end.1).then_some(Dimensions { start, end })
}

/// `B12` as (row 11, column 1); `$` anchors allowed.
fn cell(a: &str) -> Option<(u32, u32)> {
    let a = a.trim().replace('$', "");
    let split = a.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = a.split_at(split);
    if letters.is_empty() || letters.len() > 3 || !letters.bytes().all(|b| b.is_ascii_alphabetic())
    {
        return None;
    }
    let col = letters.bytes().try_fold(0u32, |acc, b| {
        acc.checked_mul(26)?
            .checked_add(u32::from(b.to_ascii_uppercase() - b'A') + 1)
    })?;
    let row: u32 = digits.parse().ok()?;
    (row >= 1 && col >= 1).then(|| (row - 1, col - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_names_decode_as_excel_writes_them() {
        assert_eq!(cell("A1"), Some((0, 0)));
        assert_eq!(cell("$AB$12"), Some((11, 27)));
        assert_eq!(cell("XFD1048576"), Some((1_048_575, 16_383)));
        assert_eq!(cell("A0"), None);
        assert_eq!(cell("12"), None);
        assert_eq!(cell("ABCD1"), None);
        assert_eq!(
            region(b"B2:C4"),
            Some(Dimensions {
                start: (1, 1),
                end: (3, 2)
            })
        );
        assert_eq!(region(b"C4:B2"), None);
        assert_eq!(
            unescape(b"Vanz&#259;ri &amp; pl&#x103;&#x21B;i").as_deref(),
            Some("Vanzări & plăţi".replace('ţ', "ț").as_str())
        );
        assert_eq!(unescape(b"a &nbsp; b"), None);
        assert_eq!(local(b"x:mergeCell ref=\"A1:B1\"/"), b"mergeCell");
        assert_eq!(
            resolve("xl/", "worksheets/sheet1.xml").as_deref(),
            Some("xl/worksheets/sheet1.xml")
        );
        assert_eq!(
            resolve("xl/", "/xl/worksheets/s.xml").as_deref(),
            Some("xl/worksheets/s.xml")
        );
        assert_eq!(resolve("xl/", "../sheet1.xml"), None);
    }

    /// A workbook written by rust_xlsxwriter with merged regions on its
    /// second sheet (named with an ampersand): found as calamine finds them.
    #[test]
    fn the_scan_finds_what_calamine_finds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.xlsx");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let fmt = rust_xlsxwriter::Format::new();
        wb.add_worksheet()
            .set_name("Foaie 1")
            .unwrap()
            .write(0, 0, "x")
            .unwrap();
        let ws = wb.add_worksheet().set_name("Vânzări & plăți").unwrap();
        for r in 0..50u32 {
            ws.write(r, 0, r).unwrap();
        }
        ws.merge_range(1, 1, 3, 2, "a", &fmt).unwrap();
        ws.merge_range(10, 0, 10, 4, "b", &fmt).unwrap();
        ws.merge_range(20, 3, 25, 3, "c", &fmt).unwrap();
        wb.save(&path).unwrap();

        let name = "Vânzări & plăți";
        let mut ours = find(&path, name, 1 << 20, &Scanned::default()).expect("the plain case");
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
        let mut theirs = book.merge_cells_by_sheet_name(name).unwrap();
        ours.sort_by_key(|d| (d.start, d.end));
        theirs.sort_by_key(|d| (d.start, d.end));
        assert_eq!(ours.len(), 3);
        assert_eq!(ours, theirs);
        assert_eq!(
            find(&path, "Foaie 1", 1 << 20, &Scanned::default()),
            Some(Vec::new())
        );
        assert_eq!(
            find(&path, "no such sheet", 1 << 20, &Scanned::default()),
            None
        );
    }
}
