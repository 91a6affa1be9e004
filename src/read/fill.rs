//! `fill_down`: exports that write a record's own columns on its first row
//! only (Odoo's export of invoices with lines, pivot-style reports) leave
//! them blank on the rows below it. A *continuation row* is a row that is
//! not blank but whose `fill_down` cells are all blank: it takes all of
//! them from the last row above it that had any. A row with any of them
//! filled starts a new record and is left as it is (so a record whose tax
//! id is blank on its own first row does not inherit the previous one's);
//! blank rows are left blank and do not end a record.

use super::{Cell, Detected, ReadError, RecordSource, SourceRow};

/// Carries the `fill_down` columns (by index) down to continuation rows.
#[derive(Debug, Clone, Default)]
pub struct FillDown {
    cols: Vec<usize>,
    /// The last record's cells in `cols`.
    last: Option<Vec<Cell>>,
}

impl FillDown {
    /// For the columns at these indices (indices past a row's end are
    /// blank in it).
    pub fn new(cols: Vec<usize>) -> FillDown {
        FillDown { cols, last: None }
    }

    /// For the named columns of `headers` (exactly, then ignoring case and
    /// surrounding spaces; a name not there is left out, the mapping's
    /// compile reports it).
    pub fn named(headers: &[String], names: &[String]) -> FillDown {
        let cols = names
            .iter()
            .filter_map(|n| {
                headers.iter().position(|h| h == n).or_else(|| {
                    let loose = n.trim().to_lowercase();
                    headers
                        .iter()
                        .position(|h| h.trim().to_lowercase() == loose)
                })
            })
            .collect();
        FillDown::new(cols)
    }

    pub fn is_empty(&self) -> bool {
        self.cols.is_empty()
    }

    /// Fill a row's cells in order; true when the row was a continuation row.
    pub fn apply(&mut self, cells: &mut [Cell]) -> bool {
        if self.cols.is_empty() || cells.iter().all(Cell::is_blank) {
            return false;
        }
        let blank = |i: usize, cells: &[Cell]| cells.get(i).is_none_or(Cell::is_blank);
        if self.cols.iter().any(|&i| !blank(i, cells)) {
            self.last = Some(
                self.cols
                    .iter()
                    .map(|&i| cells.get(i).cloned().unwrap_or_default())
                    .collect(),
            );
            return false;
        }
        let Some(last) = &self.last else {
            return false;
        };
        for (&i, v) in self.cols.iter().zip(last) {
            if let Some(slot) = cells.get_mut(i) {
                *slot = v.clone();
            }
        }
        true
    }
}

/// A source whose continuation rows are filled in.
pub struct Filled {
    inner: Box<dyn RecordSource + Send>,
    fill: FillDown,
}

impl Filled {
    pub fn new(inner: Box<dyn RecordSource + Send>, names: &[String]) -> Filled {
        let fill = FillDown::named(inner.headers(), names);
        Filled { inner, fill }
    }
}

impl Iterator for Filled {
    type Item = Result<SourceRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut item = self.inner.next()?;
        match &mut item {
            Ok(row) => {
                self.fill.apply(&mut row.cells);
            }
            Err(ReadError::Ragged { row, .. }) => {
                self.fill.apply(&mut row.cells);
            }
            Err(_) => {}
        }
        Some(item)
    }
}

impl RecordSource for Filled {
    fn headers(&self) -> &[String] {
        self.inner.headers()
    }

    fn detected(&self) -> &Detected {
        self.inner.detected()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(v: &[&str]) -> Vec<Cell> {
        v.iter()
            .map(|s| {
                if s.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text((*s).into())
                }
            })
            .collect()
    }

    #[test]
    fn continuation_rows_take_the_record_columns_from_above() {
        let mut f = FillDown::new(vec![0, 1]);
        let mut a = row(&["INV/1", "MD100", "chair"]);
        assert!(!f.apply(&mut a));
        let mut b = row(&["", "", "table"]);
        assert!(f.apply(&mut b));
        assert_eq!(b, row(&["INV/1", "MD100", "table"]));
        // Blank rows stay blank and do not end the record.
        let mut blank = row(&["", "", ""]);
        assert!(!f.apply(&mut blank));
        assert_eq!(blank, row(&["", "", ""]));
        let mut c = row(&["", "", "lamp"]);
        assert!(f.apply(&mut c));
        assert_eq!(c[0], Cell::Text("INV/1".into()));
        // A new record with a blank tax id keeps it blank.
        let mut d = row(&["INV/2", "", "desk"]);
        assert!(!f.apply(&mut d));
        assert_eq!(d, row(&["INV/2", "", "desk"]));
        let mut e = row(&["", "", "pen"]);
        f.apply(&mut e);
        assert_eq!(e, row(&["INV/2", "", "pen"]));
    }

    #[test]
    fn rows_before_any_record_are_left_alone() {
        let mut f = FillDown::new(vec![0]);
        let mut a = row(&["", "x"]);
        assert!(!f.apply(&mut a));
        assert_eq!(a, row(&["", "x"]));
    }

    #[test]
    fn names_resolve_loosely() {
        let h: Vec<String> = ["Number", "Partner"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let f = FillDown::named(&h, &[" partner ".into(), "Nope".into()]);
        assert_eq!(f.cols, vec![1]);
    }
}
