//! What a reader takes at most, whatever the file: each limit bounds the
//! memory (or the work) a broken or hostile file can cost, is checked
//! before the bytes are handed to a parser that would hold them, and is
//! named, with how to raise it, in the error that refuses the file.
//!
//! The mapping's `[limits]` table sets them; `--max-cell-bytes` on the
//! command line overrides the one most often raised.

use crate::model::text;

/// The limits of one read (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A CSV line or cell, a spreadsheet cell, a JSON value (4 MiB).
    pub max_cell_bytes: u64,
    /// A quoted CSV cell spanning more line breaks than this is taken for
    /// a quote left open (10).
    pub max_quoted_lines: u64,
    /// Columns of a header (2,048): every row holds a cell per column.
    pub max_columns: usize,
    /// Cells of a sheet that is loaded whole (XLS, ODS), repeated rows and
    /// columns expanded (2,000,000).
    pub max_sheet_cells: u64,
    /// A part of a workbook read whole (XLSX shared strings, styles; an
    /// XLS file) (32 MiB).
    pub max_part_bytes: u64,
    /// A JSON file read whole, or a JSON Lines line (16 MiB: a JSON
    /// array in memory takes about ten times its size).
    pub max_json_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_cell_bytes: 4 << 20,
            max_quoted_lines: 10,
            max_columns: 2048,
            max_sheet_cells: 2_000_000,
            max_part_bytes: 32 << 20,
            max_json_bytes: 16 << 20,
        }
    }
}

/// The limits, as the errors that name them and README list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    CellBytes,
    QuotedLines,
    Columns,
    SheetCells,
    PartBytes,
    JsonBytes,
}

impl Limit {
    /// The `[limits]` key that sets it.
    pub fn key(self) -> &'static str {
        match self {
            Limit::CellBytes => "max_cell_bytes",
            Limit::QuotedLines => "max_quoted_lines",
            Limit::Columns => "max_columns",
            Limit::SheetCells => "max_sheet_cells",
            Limit::PartBytes => "max_part_bytes",
            Limit::JsonBytes => "max_json_bytes",
        }
    }

    /// How to raise it.
    pub fn how_to_raise(self) -> String {
        match self {
            Limit::CellBytes => {
                "raise it with --max-cell-bytes or `max_cell_bytes` in the mapping's [limits]"
                    .to_string()
            }
            other => format!("raise it with `{}` in the mapping's [limits]", other.key()),
        }
    }
}

impl Limits {
    /// `limit`'s value, as people read it (`4 MiB`, `2,048`).
    pub fn shown(&self, limit: Limit) -> String {
        match limit {
            Limit::CellBytes => text::bytes(self.max_cell_bytes),
            Limit::QuotedLines => text::thousands(self.max_quoted_lines),
            Limit::Columns => text::thousands(self.max_columns as u64),
            Limit::SheetCells => text::thousands(self.max_sheet_cells),
            Limit::PartBytes => text::bytes(self.max_part_bytes),
            Limit::JsonBytes => text::bytes(self.max_json_bytes),
        }
    }

    /// `over the limit of 4 MiB (max_cell_bytes; raise it with ...)`.
    pub fn over(&self, limit: Limit) -> String {
        format!(
            "over the limit of {} ({})",
            self.shown(limit),
            limit.how_to_raise()
        )
    }

    /// A header of `n` columns, or the error naming the limit.
    pub fn check_columns(&self, n: usize) -> Result<(), String> {
        if n > self.max_columns {
            return Err(format!(
                "the header has {} columns, {}",
                text::thousands(n as u64),
                self.over(Limit::Columns)
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_how_to_raise_a_limit() {
        let l = Limits::default();
        assert_eq!(
            l.over(Limit::CellBytes),
            "over the limit of 4 MiB (raise it with --max-cell-bytes or `max_cell_bytes` in the mapping's [limits])"
        );
        assert!(l.check_columns(2048).is_ok());
        let e = l.check_columns(5000).unwrap_err();
        assert!(
            e.contains("5,000 columns") && e.contains("max_columns"),
            "{e}"
        );
    }
}
