//! Editing an export the way a person's spreadsheet program leaves it:
//! read every sheet back with calamine, change cells and rows, and write
//! the workbook again with rust_xlsxwriter as Excel saves one (numbers as
//! floats, dates and times as serial numbers with a date format, the sheets
//! in another order, blank formatted rows after the data, the hidden sheet
//! kept); or a CSV as Excel in a Romanian locale saves it (`;`, decimal
//! commas, `dd.mm.yyyy` dates, a byte order mark, CRLF); or one cell of the
//! sheet's XML changed inside the zip, as LibreOffice writes it.

use calamine::{open_workbook, Data, Reader, SheetVisible, Xlsx};
use std::io::{Read, Write};
use std::path::Path;

/// One sheet: its header and its rows.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Data>>,
    pub hidden: bool,
}

impl Sheet {
    pub fn col(&self, h: &str) -> usize {
        self.header
            .iter()
            .position(|x| x == h)
            .unwrap_or_else(|| panic!("no column {h} in {:?}", self.header))
    }

    pub fn text(&self, row: usize, h: &str) -> String {
        self.rows[row][self.col(h)].to_string()
    }

    /// The row of a document's line.
    pub fn row(&self, number: &str, line: &str) -> usize {
        let (n, l) = (self.col("number"), self.col("line.name"));
        self.rows
            .iter()
            .position(|r| r[n] == number && r[l] == line)
            .unwrap_or_else(|| panic!("no row of {number} / {line}"))
    }

    /// The rows of a document.
    pub fn rows_of(&self, number: &str) -> Vec<usize> {
        let n = self.col("number");
        (0..self.rows.len())
            .filter(|&i| self.rows[i][n] == number)
            .collect()
    }

    pub fn set(&mut self, row: usize, h: &str, v: Data) {
        let c = self.col(h);
        self.rows[row][c] = v;
    }
}

/// Every sheet of a workbook, in order.
pub fn read_xlsx(path: &Path) -> Vec<Sheet> {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let meta: Vec<(String, bool)> = wb
        .sheets_metadata()
        .iter()
        .map(|s| (s.name.clone(), s.visible != SheetVisible::Visible))
        .collect();
    meta.into_iter()
        .map(|(name, hidden)| {
            let range = wb.worksheet_range(&name).unwrap();
            let mut rows = range.rows();
            let header: Vec<String> = rows
                .next()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .unwrap_or_default();
            let width = header.len();
            let rows = rows
                .map(|r| {
                    let mut r = r.to_vec();
                    r.resize(width, Data::Empty);
                    r
                })
                .collect();
            Sheet {
                name,
                header,
                rows,
                hidden,
            }
        })
        .collect()
}

/// Write sheets as Excel saves a workbook, in the order `order` names them
/// (the others after).
pub fn write_xlsx_as_excel(sheets: &[Sheet], path: &Path, order: &[&str]) {
    use rust_xlsxwriter::{Format, Workbook};
    let mut sorted: Vec<&Sheet> = order
        .iter()
        .filter_map(|n| sheets.iter().find(|s| s.name == *n))
        .collect();
    sorted.extend(sheets.iter().filter(|s| !order.contains(&s.name.as_str())));
    let mut wb = Workbook::new();
    let date = Format::new().set_num_format("dd.mm.yyyy");
    let datetime = Format::new().set_num_format("dd.mm.yyyy hh:mm:ss");
    let money = Format::new().set_num_format("#,##0.00");
    for s in sorted {
        let ws = wb.add_worksheet();
        ws.set_name(&s.name).unwrap();
        for (c, h) in s.header.iter().enumerate() {
            ws.write_string(0, c as u16, h).unwrap();
        }
        for (r, row) in s.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, v) in row.iter().enumerate() {
                let c = c as u16;
                match v {
                    Data::Empty => {}
                    Data::String(t) => {
                        ws.write_string(r, c, t).unwrap();
                    }
                    Data::Float(f) => {
                        ws.write_number_with_format(r, c, *f, &money).unwrap();
                    }
                    Data::Int(i) => {
                        ws.write_number(r, c, *i as f64).unwrap();
                    }
                    Data::Bool(b) => {
                        ws.write_boolean(r, c, *b).unwrap();
                    }
                    Data::DateTime(d) => {
                        let f = if d.as_f64().fract() == 0.0 {
                            &date
                        } else {
                            &datetime
                        };
                        ws.write_number_with_format(r, c, d.as_f64(), f).unwrap();
                    }
                    other => {
                        ws.write_string(r, c, other.to_string()).unwrap();
                    }
                }
            }
        }
        // Rows a person formatted and left empty below the data.
        let below = s.rows.len() as u32 + 1;
        for r in below..below + 3 {
            for c in 0..s.header.len().min(4) as u16 {
                ws.write_blank(r, c, &money).unwrap();
            }
        }
        if s.hidden {
            ws.set_hidden(true);
        }
    }
    wb.save(path).unwrap();
}

/// A CSV (an export, or one saved by [`write_csv_as_excel_ro`]) as rows of text.
pub fn read_csv(path: &Path) -> Sheet {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.contains(';') { b';' } else { b',' };
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| {
            rec.unwrap()
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        Data::Empty
                    } else {
                        Data::String(c.to_string())
                    }
                })
                .collect()
        })
        .collect();
    Sheet {
        name: String::new(),
        header,
        rows,
        hidden: false,
    }
}

/// Write a CSV as Excel in a Romanian locale saves one.
pub fn write_csv_as_excel_ro(sheet: &Sheet, path: &Path) {
    let numeric = |h: &str| {
        matches!(
            h,
            "line.quantity"
                | "line.unit_cost"
                | "line.amount"
                | "line.discounts"
                | "subtotal"
                | "total"
                | "balance"
        )
    };
    let mut out = Vec::new();
    out.extend_from_slice("\u{feff}".as_bytes());
    {
        let mut w = csv::WriterBuilder::new()
            .delimiter(b';')
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        w.write_record(&sheet.header).unwrap();
        for row in &sheet.rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&sheet.header)
                .map(|(v, h)| {
                    let t = match v {
                        Data::Empty => String::new(),
                        Data::Float(f) => f.to_string(),
                        other => other.to_string(),
                    };
                    if numeric(h) {
                        t.replace('.', ",")
                    } else if h == "date" || h == "due_date" || h == "updated_at" {
                        ro_date(&t)
                    } else if t == "true" || t == "false" {
                        t.to_uppercase()
                    } else {
                        t
                    }
                })
                .collect();
            w.write_record(&cells).unwrap();
        }
        w.flush().unwrap();
    }
    std::fs::write(path, out).unwrap();
}

/// `2025-10-06` → `06.10.2025`, `2025-10-06 09:33:10` → `06.10.2025 09:33:10`.
fn ro_date(t: &str) -> String {
    let (d, time) = match t.split_once(' ') {
        Some((d, time)) => (d, Some(time)),
        None => (t, None),
    };
    let parts: Vec<&str> = d.split('-').collect();
    if parts.len() != 3 {
        return t.to_string();
    }
    let d = format!("{}.{}.{}", parts[2], parts[1], parts[0]);
    match time {
        Some(time) => format!("{d} {time}"),
        None => d,
    }
}

/// Change the files of an XLSX (a zip) in place: `edit` gets each file's
/// name and text and returns the new text (or `None` to leave it).
pub fn edit_zip(path: &Path, mut edit: impl FnMut(&str, &str) -> Option<String>) {
    let bytes = std::fs::read(path).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        let data = match std::str::from_utf8(&data).ok().and_then(|t| edit(&name, t)) {
            Some(t) => t.into_bytes(),
            None => data,
        };
        out.start_file(name, opts).unwrap();
        out.write_all(&data).unwrap();
    }
    let bytes = out.finish().unwrap().into_inner();
    std::fs::write(path, bytes).unwrap();
}

/// The zip path of a sheet of an XLSX, through the workbook's relations.
pub fn sheet_xml(path: &Path, sheet: &str) -> String {
    let bytes = std::fs::read(path).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut read = |name: &str| {
        let mut s = String::new();
        archive
            .by_name(name)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    let workbook = read("xl/workbook.xml");
    let rels = read("xl/_rels/workbook.xml.rels");
    let at = workbook
        .find(&format!("name=\"{sheet}\""))
        .unwrap_or_else(|| panic!("no sheet {sheet}"));
    let rid = &workbook[at..];
    let rid = &rid[rid.find("r:id=\"").unwrap() + 6..];
    let rid = &rid[..rid.find('"').unwrap()];
    let rel = &rels[rels.find(&format!("Id=\"{rid}\"")).unwrap()..];
    let target = &rel[rel.find("Target=\"").unwrap() + 8..];
    let target = &target[..target.find('"').unwrap()];
    format!("xl/{}", target.trim_start_matches("/xl/"))
}

/// The cell reference (`E5`) of a 0-based column and a 1-based row.
pub fn cell_ref(col: usize, row: usize) -> String {
    let mut c = col + 1;
    let mut letters = String::new();
    while c > 0 {
        let r = (c - 1) % 26;
        letters.insert(0, (b'A' + r as u8) as char);
        c = (c - 1) / 26;
    }
    format!("{letters}{row}")
}
