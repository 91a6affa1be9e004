//! The reconciliation as tables of typed cells, the same for the workbook
//! and the CSV files: `Summary` (the totals side by side, the documents by
//! status, the verdict under them), `By month`, `By customer` (each with a
//! `Total` line per kind and currency), `Differences` (document, field,
//! source, account, source file and row) and `Documents` (every document
//! of the source with its status). A cell is marked where the account does
//! not match the source.

use crate::export::columns::{Cell, Format};
use crate::ledger::UnitKind;
use crate::ops::verify::{Delta, Reconciliation, Shown, Sums, TotalsRow};

/// One table: its name, columns, rows with their marks, and lines of text
/// under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub name: &'static str,
    /// File-name part for the CSV of this sheet (`by-month`).
    pub slug: &'static str,
    pub columns: Vec<(&'static str, Format)>,
    pub rows: Vec<(Vec<Cell>, Vec<bool>)>,
    /// Text under the table, marked (filled) or not.
    pub notes: Vec<(String, bool)>,
}

impl Sheet {
    fn new(name: &'static str, slug: &'static str, columns: Vec<(&'static str, Format)>) -> Sheet {
        Sheet {
            name,
            slug,
            columns,
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn push(&mut self, cells: Vec<Cell>, marks: Vec<bool>) {
        self.rows.push((cells, marks));
    }
}

pub fn kind_label(k: UnitKind) -> &'static str {
    match k {
        UnitKind::CreditNote => "credit note",
        UnitKind::Customer => "customer",
        UnitKind::Payment => "payment",
        UnitKind::Invoice => "invoice",
    }
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn opt_text(s: Option<&str>) -> Cell {
    s.map_or(Cell::Empty, |s| Cell::Text(s.to_string()))
}

fn count(n: u64) -> Cell {
    Cell::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A shown value as a typed cell.
pub fn cell_of(v: &Shown) -> Cell {
    match v {
        Shown::Empty => Cell::Empty,
        Shown::Text(s) => Cell::Text(s.clone()),
        Shown::Money(d) => Cell::Money(*d),
        Shown::Quantity(d) => Cell::Decimal(*d),
        Shown::Date(d) => Cell::Date(*d),
        Shown::Count(n) => count(*n),
    }
}

/// The twelve figure columns: documents, net, VAT, gross, each source,
/// account and difference.
const FIGURES: [&str; 12] = [
    "Documents (source)",
    "Documents (account)",
    "Documents (difference)",
    "Net (source)",
    "Net (account)",
    "Net (difference)",
    "VAT (source)",
    "VAT (account)",
    "VAT (difference)",
    "Gross (source)",
    "Gross (account)",
    "Gross (difference)",
];

fn figure_columns() -> Vec<(&'static str, Format)> {
    FIGURES
        .iter()
        .enumerate()
        .map(|(i, h)| {
            (
                *h,
                if i < 3 {
                    Format::Integer
                } else {
                    Format::Money
                },
            )
        })
        .collect()
}

/// A totals line's twelve figures, and their marks: the account's and the
/// difference's cell where they differ.
fn figures(s: &Sums, a: &Sums, d: &Delta) -> (Vec<Cell>, Vec<bool>) {
    let cells = vec![
        count(s.documents),
        count(a.documents),
        Cell::Integer(d.documents),
        Cell::Money(s.net),
        Cell::Money(a.net),
        Cell::Money(d.net),
        Cell::Money(s.vat),
        Cell::Money(a.vat),
        Cell::Money(d.vat),
        Cell::Money(s.gross),
        Cell::Money(a.gross),
        Cell::Money(d.gross),
    ];
    let off = [
        d.documents != 0,
        !d.net.is_zero(),
        !d.vat.is_zero(),
        !d.gross.is_zero(),
    ];
    let marks = off.iter().flat_map(|o| [false, *o, *o]).collect();
    (cells, marks)
}

fn totals_sheet(
    name: &'static str,
    slug: &'static str,
    keys: Vec<(&'static str, Format)>,
    rows: &[TotalsRow],
    grand: &[TotalsRow],
    key_cells: impl Fn(&TotalsRow) -> Vec<Cell>,
) -> Sheet {
    let n = keys.len();
    let mut columns = keys;
    columns.push(("Kind", Format::Text));
    columns.push(("Currency", Format::Text));
    columns.extend(figure_columns());
    let mut sheet = Sheet::new(name, slug, columns);
    let mut line = |keys: Vec<Cell>, r: &TotalsRow| {
        let (f, m) = figures(&r.source, &r.account, &r.difference);
        let mut cells = keys;
        cells.push(text(kind_label(r.kind)));
        cells.push(text(r.currency.clone()));
        cells.extend(f);
        let mut marks = vec![false; n + 2];
        marks.extend(m);
        sheet.push(cells, marks);
    };
    for r in rows {
        line(key_cells(r), r);
    }
    for r in grand {
        let mut keys = vec![text("Total")];
        keys.resize(n, Cell::Empty);
        line(keys, r);
    }
    sheet
}

/// Every sheet of the reconciliation, in workbook order.
pub fn sheets(rec: &Reconciliation) -> Vec<Sheet> {
    vec![
        summary(rec),
        totals_sheet(
            "By month",
            "by-month",
            vec![("Month", Format::Text)],
            &rec.totals.by_month,
            &rec.totals.by_currency,
            |r| vec![opt_text(r.month.as_deref())],
        ),
        totals_sheet(
            "By customer",
            "by-customer",
            vec![
                ("Customer number", Format::Text),
                ("Tax ID", Format::Text),
                ("Customer", Format::Text),
            ],
            &rec.totals.by_customer,
            &rec.totals.by_currency,
            |r| {
                let c = r.customer.clone().unwrap_or_default();
                vec![
                    opt_text(c.number.as_deref().or(Some(c.key.as_str()))),
                    opt_text(c.tax_id.as_deref()),
                    opt_text(c.name.as_deref()),
                ]
            },
        ),
        differences(rec),
        documents(rec),
    ]
}

fn summary(rec: &Reconciliation) -> Sheet {
    let mut s = Sheet::new(
        "Summary",
        "summary",
        vec![
            ("Item", Format::Text),
            ("Kind", Format::Text),
            ("Currency", Format::Text),
            ("Source", Format::Money),
            ("Account", Format::Money),
            ("Difference", Format::Money),
        ],
    );
    for r in &rec.totals.by_currency {
        let (f, m) = figures(&r.source, &r.account, &r.difference);
        for (i, item) in ["Documents", "Net", "VAT", "Gross"].iter().enumerate() {
            let mut cells = vec![
                text(*item),
                text(kind_label(r.kind)),
                text(r.currency.clone()),
            ];
            cells.extend(f[i * 3..i * 3 + 3].iter().cloned());
            let mut marks = vec![false; 3];
            marks.extend(m[i * 3..i * 3 + 3].iter().copied());
            s.push(cells, marks);
        }
    }
    let c = &rec.counts;
    let source_side = [
        ("Documents in the source", c.documents),
        ("Not imported (rejected by validation)", c.rejected),
    ];
    for (item, n) in source_side {
        s.push(
            vec![
                text(item),
                Cell::Empty,
                Cell::Empty,
                count(n),
                Cell::Empty,
                Cell::Empty,
            ],
            vec![],
        );
    }
    let account_side = [
        ("Compared with the account", c.compared, false),
        ("Identical", c.identical, false),
        ("With different fields", c.differ, true),
        ("Deleted on the account", c.deleted, true),
        ("Voided on the account", c.voided, true),
        ("Not on the account", c.not_on_account, true),
        ("On the account, not in the source", c.not_in_source, true),
        ("Differences (fields)", c.differences, true),
    ];
    for (item, n, bad) in account_side {
        let marked = bad && n > 0;
        s.push(
            vec![
                text(item),
                Cell::Empty,
                Cell::Empty,
                Cell::Empty,
                count(n),
                Cell::Empty,
            ],
            vec![marked, false, false, false, marked, false],
        );
    }
    s.notes
        .push((format!("Verdict: {}", rec.verdict), !rec.identical));
    s.notes.push((
        format!(
            "Run {} against {}, mapping {}{}; verified {} (Chisinau), {} requests",
            rec.run,
            rec.env,
            rec.mapping,
            if rec.mapping_changed {
                " (changed since the run)"
            } else {
                ""
            },
            rec.verified_at,
            rec.requests
        ),
        rec.mapping_changed,
    ));
    for i in &rec.inputs {
        s.notes.push((
            format!(
                "Input {} (sha256 {}){}",
                i.path,
                i.sha256,
                if i.changed {
                    ": changed since the run, compared as it is now"
                } else {
                    ""
                }
            ),
            i.changed,
        ));
    }
    s
}

fn file_of(file: Option<&str>, sheet: Option<&str>) -> Cell {
    match (file, sheet) {
        (Some(f), Some(s)) => text(format!("{f} [{s}]")),
        (Some(f), None) => text(f),
        _ => Cell::Empty,
    }
}

fn differences(rec: &Reconciliation) -> Sheet {
    let mut s = Sheet::new(
        "Differences",
        "differences",
        vec![
            ("Document", Format::Text),
            ("Kind", Format::Text),
            ("Field", Format::Text),
            ("Source", Format::Money),
            ("Account", Format::Money),
            ("Note", Format::Text),
            ("Source file", Format::Text),
            ("Source row", Format::Integer),
        ],
    );
    for d in &rec.differences {
        s.push(
            vec![
                text(d.document.clone()),
                text(kind_label(d.kind)),
                text(d.field.clone()),
                cell_of(&d.source),
                cell_of(&d.account),
                opt_text(d.note.as_deref()),
                file_of(d.file.as_deref(), d.sheet.as_deref()),
                d.row.map_or(Cell::Empty, count),
            ],
            vec![false, false, false, false, true],
        );
    }
    s
}

fn documents(rec: &Reconciliation) -> Sheet {
    let mut s = Sheet::new(
        "Documents",
        "documents",
        vec![
            ("Document", Format::Text),
            ("Kind", Format::Text),
            ("Status", Format::Text),
            ("Source file", Format::Text),
            ("Source row", Format::Integer),
            ("Account id", Format::Integer),
            ("Date", Format::Date),
            ("Customer", Format::Text),
            ("Currency", Format::Text),
            ("Gross (source)", Format::Money),
            ("Gross (account)", Format::Money),
            ("Differences", Format::Integer),
            ("Note", Format::Text),
        ],
    );
    for d in &rec.documents {
        let side = d.source.as_ref().or(d.account.as_ref());
        let marked = d.status.is_difference();
        s.push(
            vec![
                text(d.document.clone()),
                text(kind_label(d.kind)),
                text(d.status.label()),
                file_of(d.file.as_deref(), d.sheet.as_deref()),
                d.row.map_or(Cell::Empty, count),
                d.remote_id.map_or(Cell::Empty, Cell::Integer),
                side.and_then(|f| f.date).map_or(Cell::Empty, Cell::Date),
                side.map_or(Cell::Empty, |f| {
                    text(
                        f.customer
                            .name
                            .clone()
                            .unwrap_or_else(|| f.customer.key.clone()),
                    )
                }),
                side.map_or(Cell::Empty, |f| text(f.currency.clone())),
                d.source
                    .as_ref()
                    .map_or(Cell::Empty, |f| Cell::Money(f.gross)),
                d.account
                    .as_ref()
                    .map_or(Cell::Empty, |f| Cell::Money(f.gross)),
                count(d.differences as u64),
                opt_text(d.note.as_deref()),
            ],
            vec![false, false, marked],
        );
    }
    s
}
