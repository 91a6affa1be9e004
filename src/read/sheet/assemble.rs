//! Cells arriving in row order, one sheet at a time, made into rows: the
//! header row found (the first row with cells at or below `header_row`),
//! merged regions filled in (a region's value applies to every cell of
//! it), and, for a workbook read sheet after sheet, each later sheet's
//! columns placed where the first sheet has the same names.

use super::super::{column_letter, normalize_headers, Cell, Limit, Limits, SourceRow};
use crate::model::text::{cut, thousands};
use crate::model::RowRef;
use calamine::Dimensions;
use std::collections::HashMap;
use std::sync::Arc;

/// What a completed row turned out to be.
pub(super) enum Event {
    /// The sheet's header row: its names (blank ones named by their column
    /// letter, repeated ones numbered) and its row number.
    Header(Vec<String>, u64),
    Row(SourceRow),
}

/// Where each of a sheet's columns goes in the rows handed on: the same
/// place (the first sheet, or a sheet with the same header), or the place
/// of the first sheet's column of the same name (`None`: not read).
#[derive(Debug, Clone, Default)]
pub(super) struct Columns {
    /// None: as they are.
    pub(super) map: Option<Vec<Option<usize>>>,
    /// The width of the rows handed on (the first sheet's header's).
    pub(super) width: usize,
}

/// Makes one sheet's cells into rows.
pub(super) struct Assembler {
    file: Arc<str>,
    sheet: Arc<str>,
    header_row: u64,
    limits: Limits,
    /// Set once the header is found: how the columns are placed.
    columns: Option<Columns>,
    /// Given for sheets after the first: applied when their header is found.
    planned: Option<Columns>,
    cur: Option<u32>,
    /// The column of the current row's last cell.
    last_col: Option<u32>,
    cells: Vec<(u32, Cell)>,
    /// Merged regions by start row, and the ones covering the current row.
    merges: Vec<Dimensions>,
    next_merge: usize,
    active: Vec<Dimensions>,
    merge_values: HashMap<(u32, u32), Cell>,
    pub(super) events: Vec<Event>,
}

impl Assembler {
    /// For the sheet `sheet` of `file`; `planned` places the columns of a
    /// sheet after the first (None: this sheet's header decides the width).
    pub(super) fn new(
        file: Arc<str>,
        sheet: &str,
        header_row: u64,
        limits: Limits,
        mut merges: Vec<Dimensions>,
        planned: Option<Columns>,
    ) -> Self {
        merges.sort_by_key(|d| d.start);
        Assembler {
            file,
            sheet: Arc::from(sheet),
            header_row,
            limits,
            columns: None,
            planned,
            cur: None,
            last_col: None,
            cells: Vec::new(),
            merges,
            next_merge: 0,
            active: Vec::new(),
            merge_values: HashMap::new(),
            events: Vec::new(),
        }
    }

    /// Whether the header row has been found.
    pub(super) fn has_header(&self) -> bool {
        self.columns.is_some()
    }

    /// Add a cell at row `r`, column `c` (0-based). Rows come in order,
    /// each once, their cells left to right: a row number seen again or
    /// going back (a damaged or crafted sheet, whose rows would otherwise
    /// be merged or lost without a word) is an error naming the sheet and
    /// row; so is a text cell over the cell budget.
    pub(super) fn push(&mut self, r: u32, c: u32, v: Cell) -> Result<(), String> {
        if self.cur != Some(r) {
            if let Some(prev) = self.cur {
                if r < prev {
                    return Err(self.disorder(format!(
                        "row {} comes after row {}: rows go back (or a row appears twice)",
                        u64::from(r) + 1,
                        u64::from(prev) + 1
                    )));
                }
                self.flush(prev)?;
            }
            self.cur = Some(r);
            self.last_col = None;
        }
        if let Some(last) = self.last_col {
            if c <= last {
                let row = u64::from(r) + 1;
                return Err(self.disorder(format!(
                    "row {row} appears twice (its cell {}{row} comes again after {}{row})",
                    column_letter(c as usize),
                    column_letter(last as usize),
                )));
            }
        }
        self.last_col = Some(c);
        if let Cell::Text(t) = &v {
            if t.len() as u64 > self.limits.max_cell_bytes {
                return Err(format!(
                    "sheet {:?} row {}: cell {}{} is {} bytes, {}",
                    cut(&self.sheet),
                    u64::from(r) + 1,
                    column_letter(c as usize),
                    u64::from(r) + 1,
                    thousands(t.len() as u64),
                    self.limits.over(Limit::CellBytes)
                ));
            }
        }
        if !v.is_empty() {
            self.cells.push((c, v));
        }
        Ok(())
    }

    fn disorder(&self, what: String) -> String {
        format!(
            "sheet {:?}: {what}; the workbook is damaged: save it again from Excel or LibreOffice",
            cut(&self.sheet)
        )
    }

    /// The end of the sheet: its last row.
    pub(super) fn finish(&mut self) -> Result<(), String> {
        if let Some(r) = self.cur.take() {
            self.flush(r)?;
        }
        Ok(())
    }

    fn flush(&mut self, r: u32) -> Result<(), String> {
        let cells = std::mem::take(&mut self.cells);
        // Merged regions reaching this row.
        while self.next_merge < self.merges.len() && self.merges[self.next_merge].start.0 <= r {
            self.active.push(self.merges[self.next_merge]);
            self.next_merge += 1;
        }
        self.active.retain(|d| d.end.0 >= r);
        self.remember_merge_values(r, &cells);
        let Some(columns) = &self.columns else {
            if u64::from(r) + 1 < self.header_row || cells.is_empty() {
                return Ok(());
            }
            let width = cells
                .iter()
                .map(|(c, _)| *c as usize + 1)
                .chain(self.active.iter().map(|d| d.end.1 as usize + 1))
                .max()
                .unwrap_or(0);
            self.limits
                .check_columns(width)
                .map_err(|m| format!("sheet {:?}: {m}", cut(&self.sheet)))?;
            let mut raw = vec![String::new(); width];
            for (c, v) in &cells {
                raw[*c as usize] = v.as_text().into_owned();
            }
            self.fill_merges(r, |c, v| {
                if let Some(slot) = raw.get_mut(c) {
                    *slot = v.as_text().into_owned();
                }
            });
            self.columns = Some(self.planned.take().unwrap_or(Columns { map: None, width }));
            self.events
                .push(Event::Header(normalize_headers(raw), u64::from(r) + 1));
            return Ok(());
        };
        let place = |c: usize| match &columns.map {
            None => Some(c),
            Some(m) => m.get(c).copied().flatten(),
        };
        let mut row = vec![Cell::Empty; columns.width];
        for (c, v) in cells {
            if let Some(slot) = place(c as usize).and_then(|i| row.get_mut(i)) {
                *slot = v;
            }
        }
        self.fill_merges(r, |c, v| {
            if let Some(slot) = place(c).and_then(|i| row.get_mut(i)) {
                *slot = v.clone();
            }
        });
        let at = RowRef {
            file: self.file.clone(),
            sheet: Some(self.sheet.clone()),
            row: u64::from(r) + 1,
        };
        crate::crash::working_on_row(at.row, crate::crash::Stage::Read);
        self.events.push(Event::Row(SourceRow { at, cells: row }));
        Ok(())
    }

    fn remember_merge_values(&mut self, r: u32, cells: &[(u32, Cell)]) {
        for d in &self.active {
            if d.start.0 == r {
                let v = cells
                    .iter()
                    .find(|(c, _)| *c == d.start.1)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                self.merge_values.insert(d.start, v);
            }
        }
    }

    fn fill_merges(&self, r: u32, mut set: impl FnMut(usize, &Cell)) {
        for d in &self.active {
            if d.start.0 > r || d.end.0 < r {
                continue;
            }
            if let Some(v) = self.merge_values.get(&d.start) {
                // Within the columns there are (a region may claim more).
                let end = d.end.1.min(self.limits.max_columns as u32);
                for c in d.start.1..=end {
                    set(c as usize, v);
                }
            }
        }
    }
}

/// How a later sheet's header fits the first sheet's: its columns placed
/// by name, or the first sheet's names it lacks.
pub(super) fn fit(first: &[String], other: &[String]) -> Result<Columns, Vec<String>> {
    if first == other {
        return Ok(Columns {
            map: None,
            width: first.len(),
        });
    }
    let missing: Vec<String> = first
        .iter()
        .filter(|h| !other.contains(h))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let map = other
        .iter()
        .map(|h| first.iter().position(|f| f == h))
        .collect();
    Ok(Columns {
        map: Some(map),
        width: first.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn later_sheets_fit_by_name() {
        let first = s(&["Nr", "Data", "Suma"]);
        assert!(fit(&first, &first).unwrap().map.is_none());
        let moved = fit(&first, &s(&["Data", "Nr", "Note", "Suma"])).unwrap();
        assert_eq!(moved.map, Some(vec![Some(1), Some(0), None, Some(2)]));
        assert_eq!(moved.width, 3);
        assert_eq!(
            fit(&first, &s(&["Luna", "Suma"])).unwrap_err(),
            s(&["Nr", "Data"])
        );
    }
}
