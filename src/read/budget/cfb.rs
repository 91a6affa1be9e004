//! An `.xls` file checked before `calamine` reads it: its compound-file
//! structure (MS-CFB) walked with every chain's sectors counted, so that a
//! chain that loops (a FAT cycle), points past the file or claims more
//! bytes than the file has is refused rather than followed into gigabytes;
//! then its `Workbook` stream's records (MS-XLS BIFF), so that a sheet
//! whose cells span more than the cell budget (the reader makes a dense
//! grid of them) is refused before one is made.

use super::super::{Limit, Limits};
use crate::model::text::thousands;

const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
const FREESECT: u32 = 0xFFFF_FFFF;
/// Sector ids from here are markers, not sectors.
const MAXREGSECT: u32 = 0xFFFF_FFFA;
const DIFSECT: u32 = 0xFFFF_FFFC;
/// Streams below this size live in the mini stream.
const MINI_CUTOFF: u64 = 4096;

/// The streams `calamine` looks up by name.
const READ_BY_NAME: [&str; 4] = [
    "Workbook",
    "Book",
    "\u{5}SummaryInformation",
    "\u{5}DocumentSummaryInformation",
];

fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| {
        u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]])
    })
}

struct File<'a> {
    bytes: &'a [u8],
    sector: usize,
    fat: Vec<u32>,
}

impl File<'_> {
    fn sector(&self, id: u32) -> Option<&[u8]> {
        let start = (id as usize + 1).checked_mul(self.sector)?;
        self.bytes.get(start..start.checked_add(self.sector)?)
    }

    /// The sectors of the chain from `start`, at most enough for `len`
    /// bytes; an error when the chain loops or leaves the file.
    fn chain(&self, start: u32, len: u64, what: &str) -> Result<Vec<u32>, String> {
        let mut seen = vec![false; self.fat.len()];
        let mut out = Vec::new();
        let mut id = start;
        let need = len.div_ceil(self.sector as u64);
        while id != ENDOFCHAIN && (out.len() as u64) < need {
            if id >= MAXREGSECT {
                // FREESECT and other markers end the chain early: the
                // reader stops there too.
                break;
            }
            let i = id as usize;
            if i >= self.fat.len() || self.sector(id).is_none() {
                return Err(format!(
                    "the chain of {what} points at sector {id}, past the end of the file"
                ));
            }
            if seen[i] {
                return Err(format!(
                    "the chain of {what} loops (sector {id} again after {} sectors)",
                    out.len()
                ));
            }
            seen[i] = true;
            out.push(id);
            id = self.fat[i];
        }
        Ok(out)
    }

    /// The bytes of a stream in the FAT.
    fn stream(&self, start: u32, len: u64, what: &str) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(len as usize);
        for id in self.chain(start, len, what)? {
            out.extend_from_slice(self.sector(id).unwrap_or(&[]));
        }
        out.truncate(len as usize);
        Ok(out)
    }
}

/// Check an `.xls` file's bytes (see the module docs); the error says
/// what is wrong.
pub(super) fn check(bytes: &[u8], limits: &Limits) -> Result<(), String> {
    let damaged = |why: String| format!("the workbook's compound file is damaged: {why}");
    if bytes.len() < 512 {
        return Ok(()); // calamine says it is too small
    }
    let sector = match u16_at(bytes, 30) {
        9 => 512usize,
        12 => 4096,
        _ => return Ok(()), // calamine refuses it with its own error
    };
    let file_len = bytes.len() as u64;
    let maxid = (bytes.len() / sector) as u64;
    // The FAT's sectors: 109 in the header, then the DIFAT chain.
    let mut fat_sectors: Vec<u32> = (0..109).map(|i| u32_at(bytes, 76 + i * 4)).collect();
    let mut difat = u32_at(bytes, 68);
    let mut difat_seen = 0u64;
    let probe = File {
        bytes,
        sector,
        fat: Vec::new(),
    };
    while difat < MAXREGSECT {
        difat_seen += 1;
        if difat_seen > maxid + 1 {
            return Err(damaged("its DIFAT chain loops".into()));
        }
        let Some(s) = probe.sector(difat) else {
            return Err(damaged(format!(
                "its DIFAT points at sector {difat}, past the end of the file"
            )));
        };
        let n = sector / 4;
        fat_sectors.extend((0..n - 1).map(|i| u32_at(s, i * 4)));
        difat = u32_at(s, (n - 1) * 4);
    }
    let mut fat = Vec::new();
    for id in fat_sectors.into_iter().filter(|id| *id < DIFSECT) {
        let Some(s) = probe.sector(id) else {
            return Err(damaged(format!(
                "a FAT sector ({id}) is past the end of the file"
            )));
        };
        fat.extend((0..sector / 4).map(|i| u32_at(s, i * 4)));
    }
    let f = File { bytes, sector, fat };
    // The directory: its whole chain, 128 bytes an entry.
    let dir_start = u32_at(bytes, 48);
    let dir_sectors = f
        .chain(dir_start, u64::MAX, "the directory")
        .map_err(damaged)?;
    let mut dirs = Vec::new();
    for id in dir_sectors {
        let s = f.sector(id).unwrap_or(&[]);
        dirs.extend(s.chunks_exact(128).map(<[u8]>::to_vec));
    }
    let v4 = sector == 4096;
    let entry_len = |e: &[u8]| {
        if v4 {
            u64_at(e, 120)
        } else {
            u64::from(u32_at(e, 120))
        }
    };
    let entry_name = |e: &[u8]| {
        let (text, _) = encoding_rs::UTF_16LE.decode_without_bom_handling(&e[..64]);
        text.split('\0').next().unwrap_or("").to_string()
    };
    // The mini stream (the root's) and the mini FAT.
    let mini_fat_len = u64::from(u32_at(bytes, 64)).saturating_mul(sector as u64);
    if mini_fat_len > file_len {
        return Err(damaged(format!(
            "its mini FAT claims {} bytes, more than the file's {}",
            thousands(mini_fat_len),
            thousands(file_len)
        )));
    }
    let mut mini_fat: Vec<u32> = Vec::new();
    let mut mini_stream: Vec<u8> = Vec::new();
    if let Some(root) = dirs.first() {
        let root_len = entry_len(root);
        if mini_fat_len > 0 {
            if root_len > file_len {
                return Err(damaged(format!(
                    "its mini stream claims {} bytes, more than the file's {}",
                    thousands(root_len),
                    thousands(file_len)
                )));
            }
            mini_stream = f
                .stream(u32_at(root, 116), root_len, "the mini stream")
                .map_err(damaged)?;
            let mf = f
                .stream(u32_at(bytes, 60), mini_fat_len, "the mini FAT")
                .map_err(damaged)?;
            mini_fat = mf.chunks_exact(4).map(|c| u32_at(c, 0)).collect();
        }
    }
    // Every stream the reader may read, and the workbook stream kept.
    let mut workbook: Option<Vec<u8>> = None;
    for (i, e) in dirs.iter().enumerate() {
        let kind = e[66];
        let name = entry_name(e);
        let by_name = READ_BY_NAME.iter().any(|n| n.eq_ignore_ascii_case(&name));
        if i == 0 || !(kind == 2 || by_name) {
            continue;
        }
        let len = entry_len(e);
        let what = format!("stream {name:?}");
        if len > file_len {
            return Err(damaged(format!(
                "{what} claims {} bytes, more than the file's {}",
                thousands(len),
                thousands(file_len)
            )));
        }
        let start = u32_at(e, 116);
        let data = if len < MINI_CUTOFF {
            mini_chain(&mini_fat, &mini_stream, start, len, &what).map_err(damaged)?
        } else {
            f.stream(start, len, &what).map_err(damaged)?
        };
        let is_workbook =
            name.eq_ignore_ascii_case("Workbook") || name.eq_ignore_ascii_case("Book");
        if is_workbook && workbook.is_none() {
            workbook = Some(data);
        }
    }
    match workbook {
        Some(w) => sheets(&w, limits),
        None => Ok(()),
    }
}

/// A stream in the mini stream: 64-byte sectors chained in the mini FAT.
fn mini_chain(
    mini_fat: &[u32],
    mini_stream: &[u8],
    start: u32,
    len: u64,
    what: &str,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut seen = vec![false; mini_fat.len()];
    let mut id = start;
    while id != ENDOFCHAIN && (out.len() as u64) < len {
        if id == FREESECT || id >= MAXREGSECT {
            break;
        }
        let i = id as usize;
        if i >= mini_fat.len() {
            return Err(format!(
                "the chain of {what} points at mini sector {id}, past the mini FAT"
            ));
        }
        if seen[i] {
            return Err(format!(
                "the chain of {what} loops (mini sector {id} again)"
            ));
        }
        seen[i] = true;
        let from = i * 64;
        out.extend_from_slice(
            mini_stream
                .get(from..(from + 64).min(mini_stream.len()))
                .unwrap_or(&[]),
        );
        id = mini_fat[i];
    }
    out.truncate(len as usize);
    Ok(out)
}

/// The records of a BIFF stream from `at`: (type, data).
fn records(stream: &[u8], mut at: usize) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let typ = u16_at(stream, at);
        let len = u16_at(stream, at + 2) as usize;
        let data = stream.get(at + 4..at + 4 + len)?;
        at += 4 + len;
        Some((typ, data))
    })
}

/// The cells every sheet's grid will hold (its cells' bounding box, and
/// its formulas'), summed over the sheets the workbook lists (a sheet
/// listed twice is read twice), against the budget.
fn sheets(stream: &[u8], limits: &Limits) -> Result<(), String> {
    let mut offsets = Vec::new();
    for (typ, data) in records(stream, 0) {
        match typ {
            // BoundSheet8: the sheet's stream offset, then its name.
            0x0085 if data.len() >= 4 => offsets.push(u32_at(data, 0) as usize),
            // EOF of the globals.
            0x000A => break,
            _ => {}
        }
    }
    let mut total = 0u64;
    for (n, at) in offsets.into_iter().enumerate() {
        let mut cells = Box2::default();
        let mut formulas = Box2::default();
        let mut depth = 0usize;
        let mut seen_bof = false;
        for (typ, data) in records(stream, at) {
            if depth > 0 {
                match typ {
                    0x0809 => depth += 1,
                    0x000A => depth -= 1,
                    _ => {}
                }
                continue;
            }
            let (row, col) = (u32::from(u16_at(data, 0)), u32::from(u16_at(data, 2)));
            match typ {
                0x0809 if seen_bof => depth += 1,
                0x0809 => seen_bof = true,
                0x000A => break,
                // Dimensions: the reader reserves room for all of them.
                0x0200 => {
                    let (rows, cols) = if data.len() >= 14 {
                        (
                            u64::from(u32_at(data, 4)).saturating_sub(u64::from(u32_at(data, 0))),
                            u64::from(u16_at(data, 10)).saturating_sub(u64::from(u16_at(data, 8))),
                        )
                    } else {
                        (
                            u64::from(u16_at(data, 2)).saturating_sub(u64::from(u16_at(data, 0))),
                            u64::from(u16_at(data, 6)).saturating_sub(u64::from(u16_at(data, 4))),
                        )
                    };
                    let declared = (rows + 1).saturating_mul(cols + 1);
                    if declared > limits.max_sheet_cells {
                        return Err(format!(
                            "sheet {} declares {} cells (its dimensions), {}",
                            n + 1,
                            thousands(declared),
                            limits.over(Limit::SheetCells)
                        ));
                    }
                }
                0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD if data.len() >= 4 => {
                    cells.add(row, col)
                }
                0x00BD if data.len() >= 6 => {
                    cells.add(row, col);
                    cells.add(row, u32::from(u16_at(data, data.len() - 2)));
                }
                0x0006 if data.len() >= 20 => {
                    cells.add(row, col);
                    formulas.add(row, col);
                }
                _ => {}
            }
        }
        total = total
            .saturating_add(cells.cells())
            .saturating_add(formulas.cells());
        if total > limits.max_sheet_cells {
            return Err(format!(
                "its sheets span {} cells (sheet {} and those before it, each a grid from its first to its last cell), {}",
                thousands(total),
                n + 1,
                limits.over(Limit::SheetCells)
            ));
        }
    }
    Ok(())
}

/// The bounding box of some cells.
#[derive(Default)]
struct Box2 {
    span: Option<(u32, u32, u32, u32)>,
}

impl Box2 {
    fn add(&mut self, r: u32, c: u32) {
        self.span = Some(match self.span {
            None => (r, r, c, c),
            Some((r0, r1, c0, c1)) => (r0.min(r), r1.max(r), c0.min(c), c1.max(c)),
        });
    }

    fn cells(&self) -> u64 {
        self.span.map_or(0, |(r0, r1, c0, c1)| {
            u64::from(r1 - r0 + 1) * u64::from(c1 - c0 + 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-3 compound file: header, FAT sector 0, directory sector 1,
    /// and `data` sectors from 2 on, chained as `chain` says.
    pub(crate) fn compound(
        entries: &[(&str, u8, u32, u32)],
        fat_tail: &[u32],
        data: &[u8],
    ) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..8].copy_from_slice(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
        h[24..26].copy_from_slice(&0x3Eu16.to_le_bytes());
        h[26..28].copy_from_slice(&3u16.to_le_bytes());
        h[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
        h[30..32].copy_from_slice(&9u16.to_le_bytes());
        h[32..34].copy_from_slice(&6u16.to_le_bytes());
        h[44..48].copy_from_slice(&1u32.to_le_bytes());
        h[48..52].copy_from_slice(&1u32.to_le_bytes());
        h[56..60].copy_from_slice(&4096u32.to_le_bytes());
        h[60..64].copy_from_slice(&ENDOFCHAIN.to_le_bytes());
        h[68..72].copy_from_slice(&ENDOFCHAIN.to_le_bytes());
        for i in 0..109 {
            let v = if i == 0 { 0u32 } else { FREESECT };
            h[76 + i * 4..80 + i * 4].copy_from_slice(&v.to_le_bytes());
        }
        let mut fat = vec![0xFFFF_FFFDu32, ENDOFCHAIN];
        fat.extend_from_slice(fat_tail);
        fat.resize(128, FREESECT);
        let mut out = h;
        out.extend(fat.iter().flat_map(|v| v.to_le_bytes()));
        let mut dir = vec![0u8; 512];
        for (k, (name, kind, start, len)) in entries.iter().enumerate() {
            let e = &mut dir[k * 128..(k + 1) * 128];
            let units: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
            e[..units.len()].copy_from_slice(&units);
            e[64..66].copy_from_slice(&((units.len() + 2) as u16).to_le_bytes());
            e[66] = *kind;
            e[116..120].copy_from_slice(&start.to_le_bytes());
            e[120..124].copy_from_slice(&len.to_le_bytes());
        }
        out.extend_from_slice(&dir);
        out.extend_from_slice(data);
        let pad = (512 - out.len() % 512) % 512;
        out.extend(std::iter::repeat_n(0, pad));
        out
    }

    #[test]
    fn fat_cycles_and_impossible_sizes_are_refused() {
        let limits = Limits::default();
        let data = vec![0u8; 512 * 32];
        // Sectors 2 → 3 → 2: a loop.
        let looped = compound(
            &[("Root Entry", 5, ENDOFCHAIN, 0), ("Workbook", 2, 2, 8192)],
            &[3, 2],
            &data,
        );
        let e = check(&looped, &limits).unwrap_err();
        assert!(e.contains("loops"), "{e}");
        let huge = compound(
            &[
                ("Root Entry", 5, ENDOFCHAIN, 0),
                ("Workbook", 2, 2, u32::MAX),
            ],
            &[3, ENDOFCHAIN],
            &data,
        );
        let e = check(&huge, &limits).unwrap_err();
        assert!(e.contains("claims 4,294,967,295 bytes"), "{e}");
        let past = compound(
            &[("Root Entry", 5, ENDOFCHAIN, 0), ("Workbook", 2, 2, 8192)],
            &[900, ENDOFCHAIN],
            &data,
        );
        let e = check(&past, &limits).unwrap_err();
        assert!(e.contains("past the end"), "{e}");
        let fine = compound(
            &[("Root Entry", 5, ENDOFCHAIN, 0), ("Workbook", 2, 2, 4096)],
            &(3..10).chain([ENDOFCHAIN]).collect::<Vec<_>>(),
            &data,
        );
        assert_eq!(check(&fine, &limits), Ok(()));
    }

    #[test]
    fn sheet_grids_beyond_the_budget_are_refused() {
        let rec = |typ: u16, data: &[u8]| {
            let mut r = typ.to_le_bytes().to_vec();
            r.extend((data.len() as u16).to_le_bytes());
            r.extend_from_slice(data);
            r
        };
        let cell = |row: u16, col: u16| {
            let mut d = row.to_le_bytes().to_vec();
            d.extend(col.to_le_bytes());
            d.extend([0u8; 10]);
            rec(0x0203, &d)
        };
        let mut globals = rec(0x0809, &[0; 16]);
        let sheet_at = globals.len() + 4 + 8 + 4;
        let mut bound = (sheet_at as u32).to_le_bytes().to_vec();
        bound.extend([0u8, 0, 1, 0]);
        globals.extend(rec(0x0085, &bound));
        globals.extend(rec(0x000A, &[]));
        assert_eq!(globals.len(), sheet_at);
        let mut stream = globals;
        stream.extend(rec(0x0809, &[0; 16]));
        stream.extend(cell(0, 0));
        stream.extend(cell(65535, 255));
        stream.extend(rec(0x000A, &[]));
        let e = sheets(&stream, &Limits::default()).unwrap_err();
        assert!(e.contains("16,777,216 cells"), "{e}");
        let roomy = Limits {
            max_sheet_cells: 20_000_000,
            ..Limits::default()
        };
        assert_eq!(sheets(&stream, &roomy), Ok(()));
    }
}
