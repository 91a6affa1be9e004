//! What the mapping makes of source rows, before validation: a [`Draft`]
//! document with the address of every cell each field came from, so that a
//! problem found later can point at the cell to fix.

use super::{CreditNote, Customer, Invoice, Money, Payment, Problem};
use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Where a source row is: file, sheet (spreadsheets), and the row number a
/// person sees (1-based: the spreadsheet row, or the CSV line for simple
/// files; for JSON the record's 1-based index).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowRef {
    pub file: Arc<str>,
    pub sheet: Option<Arc<str>>,
    pub row: u64,
}

impl fmt::Display for RowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sheet {
            Some(sheet) => write!(f, "{} [{}] row {}", self.file, sheet, self.row),
            None => write!(f, "{} row {}", self.file, self.row),
        }
    }
}

/// One cell: a row and the column (by header name, and 0-based index when
/// the source has columns).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellRef {
    pub row: RowRef,
    pub column: Arc<str>,
    pub col_idx: Option<usize>,
}

impl fmt::Display for CellRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, column {:?}", self.row, &*self.column)
    }
}

/// Whether a document is an invoice or a credit note.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DocKind {
    #[default]
    Invoice,
    CreditNote,
}

/// How the customer of a draft is found on the account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum MatchOn {
    #[default]
    Number,
    TaxId,
}

/// What a draft puts on the account: a document (an invoice or a credit
/// note, with its customer), or a customer record of its own (a mapping of
/// `resource = "customers"`, such as the round trip of `export customers`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Record {
    #[default]
    Document,
    Customer,
}

/// Which of the API's fields a round trip's source speaks for: those its
/// mapping maps from columns the file has. Only these are compared with the
/// account and changed; an empty cell among them means "none" (the field
/// is cleared), and a field not here is left as the account has it. A
/// draft has one when its mapping maps the document's (or the customer
/// record's) `id`: it is then matched with the account's version by id
/// (else by number) and only what differs is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The document's fields, by their API names (`number`, `date`,
    /// `notes`, `taxes`, `discounts`, ...).
    pub fields: Vec<&'static str>,
    /// The document's metadata keys that have a column.
    pub metadata: Vec<String>,
    /// The line fields, by their API names (`name`, `quantity`, ...);
    /// empty when the file has no lines.
    pub line: Vec<&'static str>,
    /// The lines' metadata keys that have a column.
    pub line_metadata: Vec<String>,
    /// The customer's fields (for a customer record, the record's own).
    pub customer: Vec<&'static str>,
    /// The customer's metadata keys that have a column.
    pub customer_metadata: Vec<String>,
}

impl Scope {
    /// Whether the file carries the lines (any line field).
    pub fn has_lines(&self) -> bool {
        !self.line.is_empty()
    }
}

/// A value the API computes, as the source shows it (`total`, a line's
/// `amount`): kept for people, never sent, compared with the account's so
/// that an edited one is pointed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computed {
    /// The field path (`total`, `items[2].amount`); its cell is in the
    /// draft's origins under the same path.
    pub path: String,
    /// The cell's text.
    pub text: String,
}

/// Totals the source carries, reconciled by validation, never sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checks {
    /// One entry per line item, in the same order as `invoice.items`.
    pub lines: Vec<LineChecks>,
    /// Document totals as the source states them.
    pub subtotal: Option<Money>,
    pub tax: Option<Money>,
    pub total: Option<Money>,
    /// Differences up to this are warnings (the mapping's `[checks] tolerance`).
    pub tolerance: Option<Money>,
}

/// A line's totals as the source states them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineChecks {
    /// Net amount (quantity × unit cost, after line discounts).
    pub net: Option<Money>,
    /// VAT amount of the line.
    pub vat: Option<Money>,
    /// Gross amount (net + VAT).
    pub gross: Option<Money>,
}

/// A document as mapped from its source rows, not yet validated.
///
/// The payload fields hold what will be sent: `invoice` never has a customer
/// id (the uploader resolves `customer` first). For a credit note the
/// document is still held in `invoice` and converted with
/// [`Draft::credit_note`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Draft {
    /// The unit's source key: the group key, or the row when not grouped.
    /// Stable across runs of the same file; part of the import key.
    pub source_key: String,
    /// The rows it came from, in source order.
    pub rows: Vec<RowRef>,
    pub kind: DocKind,
    pub invoice: Invoice,
    pub customer: Customer,
    pub match_on: MatchOn,
    /// Payments already made on a legacy invoice, applied to it on upload.
    pub payments: Vec<Payment>,
    pub checks: Checks,
    /// Field path → the cell it came from. Paths: `number`, `date`,
    /// `customer.tax_id`, `items[2].quantity`, `payments[0].amount`,
    /// `checks.total`, `checks.lines[1].vat`, `metadata.source`.
    pub origins: Origins,
    /// Problems found while mapping (a cell that would not parse, rows of one
    /// group that disagree). Validation adds its own and rejects the draft
    /// when any is an error.
    pub problems: Vec<Problem>,
    /// A document, or a customer record.
    pub record: Record,
    /// For a round trip (its mapping maps `id`): the fields the source
    /// speaks for. `None`: an ordinary import.
    pub scope: Option<Arc<Scope>>,
    /// Values the API computes, as the source shows them (round trips).
    pub computed: Vec<Computed>,
}

impl Draft {
    /// The cell a field came from, if it came from one.
    pub fn origin(&self, field: &str) -> Option<CellRef> {
        self.origins.get(field)
    }

    /// The first row of the document, for problems with no better place.
    pub fn first_row(&self) -> Option<&RowRef> {
        self.rows.first()
    }

    /// Whether the draft is a round trip's: matched with the account's
    /// version and changed field by field rather than created.
    pub fn is_round_trip(&self) -> bool {
        self.scope.is_some()
    }

    /// The document as a credit note payload.
    pub fn credit_note(&self) -> CreditNote {
        let i = &self.invoice;
        CreditNote {
            customer: i.customer.clone(),
            number: i.number.clone(),
            name: i.name.clone(),
            currency: i.currency.clone(),
            date: i.date,
            draft: i.draft,
            items: i.items.clone(),
            discounts: i.discounts.clone(),
            taxes: i.taxes.clone(),
            notes: i.notes.clone(),
            metadata: i.metadata.clone(),
            id: i.id,
            updated_at: i.updated_at,
            ..Default::default()
        }
    }
}

/// A string that lives as long as the process, one copy per distinct text.
///
/// For the few names every mapped cell refers to (a mapping's field paths,
/// its inputs' column names): a reference to them is a pointer copied, not
/// a count shared between threads. The set only grows with distinct names,
/// which a run has by the dozen, never with rows.
pub fn intern(text: &str) -> &'static str {
    static SET: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = SET
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(&known) = set.get(text) {
        return known;
    }
    let new: &'static str = Box::leak(text.into());
    set.insert(new);
    new
}

/// A field path, with at most one item index filled in when it is read:
/// `number`, `customer.tax_id`, or the template `items[{i}].quantity` at
/// item 2. Two words; copying one allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldPath {
    template: &'static str,
    index: Option<u32>,
}

/// Where a template takes its item index.
const SLOT: &str = "{i}";

impl FieldPath {
    /// A path from its template (`items[{i}].quantity`) or plain text.
    pub fn new(template: &str) -> FieldPath {
        FieldPath {
            template: intern(template),
            index: None,
        }
    }

    /// The path at item `i` (a template's `{i}`).
    pub fn at(self, i: usize) -> FieldPath {
        FieldPath {
            index: Some(u32::try_from(i).unwrap_or(u32::MAX)),
            ..self
        }
    }

    /// Whether this path, written out, is `path`.
    pub fn is(&self, path: &str) -> bool {
        // Most paths asked about differ from most noted ones at once.
        let first = self.template.as_bytes().first();
        if first != path.as_bytes().first() && first != Some(&b'{') {
            return false;
        }
        match self.split() {
            Some((head, i, tail)) => path
                .strip_prefix(head)
                .and_then(|rest| rest.strip_suffix(tail))
                .is_some_and(|n| is_index(n, i)),
            None => self.template == path,
        }
    }

    /// Whether this path, written out, starts with `prefix`.
    fn starts_with(&self, prefix: &str) -> bool {
        match self.split() {
            // Head, index and tail compared in turn, with nothing written
            // out (this runs for every origin a problem's cell is looked
            // up among).
            Some((head, i, tail)) => {
                let Some(rest) = prefix.strip_prefix(head) else {
                    return head.starts_with(prefix);
                };
                let mut buf = [0u8; 10];
                let digits = decimal(i, &mut buf);
                match rest.as_bytes().strip_prefix(digits) {
                    Some(after) => tail.as_bytes().starts_with(after),
                    None => digits.starts_with(rest.as_bytes()),
                }
            }
            None => self.template.starts_with(prefix),
        }
    }

    /// Template head, index, tail, when the index is filled in.
    fn split(&self) -> Option<(&'static str, u32, &'static str)> {
        let i = self.index?;
        // As `split_once(SLOT)`, without building a substring searcher for
        // a path a few bytes long (this runs for every origin looked up).
        let t = self.template;
        let at = memchr::memchr_iter(b'{', t.as_bytes()).find(|&k| t[k..].starts_with(SLOT))?;
        Some((&t[..at], i, &t[at + SLOT.len()..]))
    }
}

/// `i` written in decimal, into the end of `buf`.
fn decimal(mut i: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (i % 10) as u8;
        i /= 10;
        if i == 0 {
            return &buf[at..];
        }
    }
}

/// `n` is `i` written in decimal (no sign, no leading zeros).
fn is_index(n: &str, i: u32) -> bool {
    n.bytes().all(|b| b.is_ascii_digit())
        && !(n.len() > 1 && n.starts_with('0'))
        && n.parse::<u32>() == Ok(i)
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.split() {
            Some((head, i, tail)) => write!(f, "{head}{i}{tail}"),
            None => f.write_str(self.template),
        }
    }
}

/// Where each field of a [`Draft`] came from: field path → source cell.
///
/// Every mapped field of every document has an entry, so they are small:
/// the path and column name are interned, the file and sheet are held once
/// per document, and a [`CellRef`] is made only when one is asked for (to
/// report a problem). When a path is given twice, the later entry counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Origins {
    /// The files (and sheets) of the cells: one for a mapped document.
    files: Vec<(Arc<str>, Option<Arc<str>>)>,
    entries: Vec<Origin>,
}

#[derive(Debug, Clone, PartialEq)]
struct Origin {
    path: FieldPath,
    file: u32,
    row: u64,
    col: Option<u32>,
    column: &'static str,
}

impl Origins {
    /// Room for `n` entries.
    pub fn with_capacity(n: usize) -> Origins {
        Origins {
            files: Vec::with_capacity(1),
            entries: Vec::with_capacity(n),
        }
    }

    /// Note that `path` came from column `col` (named `column`, interned)
    /// of the row `row`.
    pub fn push(
        &mut self,
        path: FieldPath,
        row: &RowRef,
        col: Option<usize>,
        column: &'static str,
    ) {
        self.push_at(path, row, row.row, col, column);
    }

    /// As [`Origins::push`], for row number `row` of the file (and sheet)
    /// of `file`.
    pub fn push_at(
        &mut self,
        path: FieldPath,
        file: &RowRef,
        row: u64,
        col: Option<usize>,
        column: &'static str,
    ) {
        let file = self.file_of(file);
        self.entries.push(Origin {
            path,
            file,
            row,
            col: col.and_then(|c| u32::try_from(c).ok()),
            column,
        });
    }

    /// Note that the field at `path` (written out) came from `cell`.
    pub fn insert(&mut self, path: &str, cell: &CellRef) {
        self.push(
            FieldPath::new(path),
            &cell.row,
            cell.col_idx,
            intern(&cell.column),
        );
    }

    /// The cell the field at `path` came from.
    pub fn get(&self, path: &str) -> Option<CellRef> {
        let o = self.entries.iter().rev().find(|o| o.path.is(path))?;
        Some(self.cell(o))
    }

    /// The row of some cell under `prefix` (`items[2]` → the row of
    /// `items[2].name`): a path that continues it with `.` or `[`.
    pub fn row_under(&self, prefix: &str) -> Option<RowRef> {
        let (dot, idx) = (format!("{prefix}."), format!("{prefix}["));
        self.entries
            .iter()
            .find(|o| o.path.starts_with(&dot) || o.path.starts_with(&idx))
            .map(|o| self.row(o))
    }

    /// Every path and its cell, in the order they were noted.
    pub fn iter(&self) -> impl Iterator<Item = (FieldPath, CellRef)> + '_ {
        self.entries.iter().map(|o| (o.path, self.cell(o)))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.files.clear();
    }

    fn file_of(&mut self, row: &RowRef) -> u32 {
        let same = |(file, sheet): &(Arc<str>, Option<Arc<str>>)| {
            let same_sheet = match (sheet, &row.sheet) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
                (a, b) => a.is_none() && b.is_none(),
            };
            (Arc::ptr_eq(file, &row.file) || *file == row.file) && same_sheet
        };
        match self.files.iter().position(same) {
            Some(i) => i as u32,
            None => {
                self.files.push((row.file.clone(), row.sheet.clone()));
                (self.files.len() - 1) as u32
            }
        }
    }

    fn row(&self, o: &Origin) -> RowRef {
        let (file, sheet) = &self.files[o.file as usize];
        RowRef {
            file: file.clone(),
            sheet: sheet.clone(),
            row: o.row,
        }
    }

    fn cell(&self, o: &Origin) -> CellRef {
        CellRef {
            row: self.row(o),
            column: Arc::from(o.column),
            col_idx: o.col.map(|c| c as usize),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u64) -> RowRef {
        RowRef {
            file: Arc::from("in.csv"),
            sheet: None,
            row: n,
        }
    }

    proptest::proptest! {
        #[test]
        fn a_path_starts_as_its_written_form_does(
            template in proptest::sample::select(vec!["items[{i}].quantity", "items[{i}]", "{i}", "payments[{i}].amount", "number"]),
            i in proptest::prop_oneof![0u32..200, proptest::prelude::any::<u32>()],
            cut in 0usize..24,
            junk in "[0-9a-z.\\[\\]]{0,3}",
        ) {
            let p = FieldPath::new(template).at(i as usize);
            let written = p.to_string();
            let mut prefix: String = written.chars().take(cut).collect();
            proptest::prop_assert_eq!(p.starts_with(&prefix), true);
            prefix.push_str(&junk);
            proptest::prop_assert_eq!(p.starts_with(&prefix), written.starts_with(&prefix));
        }
    }

    #[test]
    fn paths_match_their_written_form_only() {
        let q = FieldPath::new("items[{i}].quantity").at(12);
        assert_eq!(q.to_string(), "items[12].quantity");
        assert!(q.is("items[12].quantity"));
        for other in [
            "items[1].quantity",
            "items[012].quantity",
            "items[+12].quantity",
            "items[12].quantity2",
            "items[12]",
        ] {
            assert!(!q.is(other), "{other}");
        }
        let lead = FieldPath::new("{i}.x").at(3);
        assert!(
            lead.is("3.x") && !lead.is("4.x"),
            "a template may begin with its slot"
        );
        let braces = FieldPath::new("metadata.{a}[{i}]").at(0);
        assert!(braces.is("metadata.{a}[0]") && braces.to_string() == "metadata.{a}[0]");
        let plain = FieldPath::new("customer.tax_id");
        assert!(plain.is("customer.tax_id") && !plain.is("customer"));
        assert_eq!(FieldPath::new("x"), FieldPath::new(&String::from("x")));
    }

    #[test]
    fn origins_answer_cells_rows_and_the_later_entry() {
        let mut o = Origins::default();
        let at = |n| CellRef {
            row: row(n),
            column: Arc::from("Cant"),
            col_idx: Some(4),
        };
        o.push(FieldPath::new("number"), &row(5), Some(0), intern("Nr"));
        o.push(
            FieldPath::new("items[{i}].quantity").at(1),
            &row(6),
            Some(4),
            intern("Cant"),
        );
        o.insert("items[1].quantity", &at(7));
        assert_eq!(
            o.get("items[1].quantity"),
            Some(at(7)),
            "the later entry counts"
        );
        assert_eq!(
            o.get("number").map(|c| (c.row.row, c.col_idx)),
            Some((5, Some(0)))
        );
        assert_eq!(&*o.get("number").unwrap().column, "Nr");
        assert_eq!(o.get("items[0].quantity"), None);
        assert_eq!(o.row_under("items[1]").map(|r| r.row), Some(6));
        assert_eq!(o.row_under("items"), Some(row(6)));
        assert_eq!(o.row_under("item"), None);
        assert_eq!(o.files.len(), 1, "one file, held once");
        assert_eq!(o.len(), 3);
        o.clear();
        assert!(o.is_empty() && o.get("number").is_none());
    }
}
