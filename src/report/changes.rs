//! What a round trip will change, as the dry run (and `validate`) found it
//! against the account: per document what differs (`RT-0001 line 1 quantity
//! 1 → 2; total 120.00 → 240.00`), the counts (unchanged, changed, new,
//! conflicts, cannot be edited), and the same as a file for people
//! (`--changes PATH`: XLSX or CSV, one row per field: document, field,
//! before, after).

use super::ReportError;
use crate::upload::diff::FieldChange;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What will become of one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// As the account has it: nothing sent.
    Unchanged,
    /// A PATCH of what differs.
    Changed,
    /// Not on the account: created.
    New,
    /// Changed on the account after the export, or gone from it: not sent.
    Conflict,
    /// Closed, paid or voided: not sent.
    Locked,
    /// Differs, but `--on-existing` says leave (skip) or refuse (fail) it.
    Left,
    /// A second document of the file with the same id: not sent.
    Duplicate,
}

/// One document's changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocChanges {
    /// Its number (or, without one, `invoice 17`).
    pub document: String,
    pub fate: Fate,
    /// What differs (a new document: what it holds).
    pub fields: Vec<FieldChange>,
    /// Why it is not sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// The counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChangeCounts {
    pub unchanged: u64,
    pub changed: u64,
    pub new: u64,
    pub conflicts: u64,
    /// Closed, paid or voided.
    pub cannot_be_edited: u64,
    /// Left or refused by `--on-existing`, or an id twice.
    pub not_sent: u64,
}

/// What a round trip will change.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChangeSet {
    /// The environment compared with.
    pub env: String,
    pub counts: ChangeCounts,
    /// Every document but the unchanged ones, in file order.
    pub documents: Vec<DocChanges>,
    /// Edited computed cells and rows that could not be matched, rendered
    /// with their cell.
    pub warnings: Vec<String>,
    /// The `--changes` file written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes_file: Option<String>,
}

impl ChangeSet {
    /// Count a document and keep it when something is to be said.
    pub fn add(&mut self, doc: DocChanges) {
        let c = &mut self.counts;
        match doc.fate {
            Fate::Unchanged => c.unchanged += 1,
            Fate::Changed => c.changed += 1,
            Fate::New => c.new += 1,
            Fate::Conflict => c.conflicts += 1,
            Fate::Locked => c.cannot_be_edited += 1,
            Fate::Left | Fate::Duplicate => c.not_sent += 1,
        }
        if doc.fate != Fate::Unchanged {
            self.documents.push(doc);
        }
    }

    /// Whether some document would not be sent as the file has it.
    pub fn refused(&self) -> bool {
        let c = &self.counts;
        c.conflicts + c.cannot_be_edited + c.not_sent > 0
    }

    /// For people, on stderr.
    pub fn render_text(&self) -> String {
        let c = &self.counts;
        let mut out = String::new();
        let _ = write!(
            out,
            "changes against {}: {} changed, {} new, {} unchanged, {} conflicts",
            self.env, c.changed, c.new, c.unchanged, c.conflicts
        );
        if c.cannot_be_edited > 0 {
            let _ = write!(out, ", {} cannot be edited", c.cannot_be_edited);
        }
        if c.not_sent > 0 {
            let _ = write!(out, ", {} not sent", c.not_sent);
        }
        out.push('\n');
        for d in &self.documents {
            let _ = write!(out, "  {}", d.document);
            match d.fate {
                Fate::Changed => {}
                Fate::New => out.push_str(" new:"),
                Fate::Conflict => out.push_str(" conflict, not sent:"),
                Fate::Locked => out.push_str(" cannot be edited:"),
                Fate::Left => out.push_str(" not sent:"),
                Fate::Duplicate => out.push_str(" not sent:"),
                Fate::Unchanged => {}
            }
            let parts: Vec<String> = d.fields.iter().map(field_text).collect();
            if !parts.is_empty() {
                let _ = write!(out, " {}", parts.join("; "));
            }
            if let Some(why) = &d.why {
                let _ = write!(out, " ({why})");
            }
            out.push('\n');
        }
        for w in &self.warnings {
            let _ = writeln!(out, "  {w}");
        }
        if let Some(f) = &self.changes_file {
            let _ = writeln!(out, "changes written to {f}");
        }
        out
    }
}

/// `line 1 quantity 1 → 2`, `line added: Unt: 1 × 40.00`.
pub fn field_text(f: &FieldChange) -> String {
    let shown = |s: &str| {
        if s.is_empty() {
            "(empty)".to_string()
        } else {
            s.to_string()
        }
    };
    if f.before.is_empty() && f.field.ends_with("added") {
        format!("{}: {}", f.field, f.after)
    } else if f.after.is_empty() && f.field.ends_with("removed") {
        format!("{}: {}", f.field, f.before)
    } else {
        format!("{} {} → {}", f.field, shown(&f.before), shown(&f.after))
    }
}

/// The rows of the changes file: document, field, before, after.
fn rows(set: &ChangeSet) -> Vec<[String; 4]> {
    let mut out = Vec::new();
    for d in &set.documents {
        let status = match d.fate {
            Fate::Changed | Fate::Unchanged => None,
            Fate::New => Some("(new)"),
            Fate::Conflict => Some("(conflict: not sent)"),
            Fate::Locked => Some("(cannot be edited: not sent)"),
            Fate::Left | Fate::Duplicate => Some("(not sent)"),
        };
        if let Some(s) = status {
            out.push([
                d.document.clone(),
                s.to_string(),
                String::new(),
                d.why.clone().unwrap_or_default(),
            ]);
        }
        for f in &d.fields {
            out.push([
                d.document.clone(),
                f.field.clone(),
                f.before.clone(),
                f.after.clone(),
            ]);
        }
    }
    out
}

/// The header of the changes file.
pub const HEADER: [&str; 4] = ["document", "field", "before", "after"];

/// Write the changes file (`.xlsx` or `.csv`), whole or not at all.
pub fn write(set: &ChangeSet, path: &Path) -> Result<PathBuf, ReportError> {
    let xlsx = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    let tmp = crate::fs::temp_beside(path)?;
    if xlsx {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let bold = rust_xlsxwriter::Format::new().set_bold();
        let text = rust_xlsxwriter::Format::new().set_num_format("@");
        let ws = wb.add_worksheet();
        let e = |err| ReportError::xlsx(path, err);
        ws.set_name("Changes").map_err(e)?;
        for (c, h) in HEADER.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)
                .map_err(e)?;
        }
        for (r, row) in rows(set).iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string_with_format(r as u32 + 1, c as u16, v, &text)
                    .map_err(e)?;
            }
        }
        for (c, w) in [16.0, 28.0, 32.0, 32.0].iter().enumerate() {
            ws.set_column_width(c as u16, *w).map_err(e)?;
        }
        ws.set_freeze_panes(1, 0).map_err(e)?;
        wb.save(tmp.path()).map_err(e)?;
    } else {
        let mut w = csv::Writer::from_writer(
            tmp.as_file()
                .try_clone()
                .map_err(|err| ReportError::write(path, err))?,
        );
        w.write_record(HEADER)
            .map_err(|err| ReportError::csv(path, err))?;
        for row in rows(set) {
            let row: Vec<String> = row
                .iter()
                .map(|v| crate::export::columns::neutralise(v).into_owned())
                .collect();
            w.write_record(&row)
                .map_err(|err| ReportError::csv(path, err))?;
        }
        w.flush().map_err(|err| ReportError::write(path, err))?;
    }
    crate::fs::persist(tmp, path)?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> ChangeSet {
        let mut s = ChangeSet {
            env: "local".into(),
            ..ChangeSet::default()
        };
        s.add(DocChanges {
            document: "RT-0001".into(),
            fate: Fate::Changed,
            fields: vec![
                FieldChange::new("line 1 quantity", "1", "2"),
                FieldChange::new("total", "120.00", "240.00"),
            ],
            why: None,
        });
        s.add(DocChanges {
            document: "RT-0002".into(),
            fate: Fate::Unchanged,
            fields: vec![],
            why: None,
        });
        s.add(DocChanges {
            document: "RT-0100".into(),
            fate: Fate::New,
            fields: vec![FieldChange::new("line added", "", "=Unt: 1 × 40.00")],
            why: None,
        });
        s
    }

    #[test]
    fn text_lists_each_changed_document() {
        let t = set().render_text();
        assert_eq!(
            t,
            "changes against local: 1 changed, 1 new, 1 unchanged, 0 conflicts\n  RT-0001 line 1 quantity 1 → 2; total 120.00 → 240.00\n  RT-0100 new: line added: =Unt: 1 × 40.00\n"
        );
    }

    #[test]
    fn the_file_has_a_row_per_field() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("c.csv");
        write(&set(), &csv).unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        assert_eq!(
            text,
            "document,field,before,after\nRT-0001,line 1 quantity,1,2\nRT-0001,total,120.00,240.00\nRT-0100,(new),,\nRT-0100,line added,,'=Unt: 1 × 40.00\n"
        );
        let xlsx = dir.path().join("c.xlsx");
        write(&set(), &xlsx).unwrap();
        use calamine::Reader;
        let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
        let r = wb.worksheet_range("Changes").unwrap();
        assert_eq!(r.height(), 5);
        assert_eq!(r.get((3, 1)).unwrap().to_string(), "(new)");
        assert_eq!(r.get((4, 3)).unwrap().to_string(), "=Unt: 1 × 40.00");
        let formulas = wb.worksheet_formula("Changes").unwrap();
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));
    }
}
