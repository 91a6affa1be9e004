//! Rows → documents. Without `group_by`, each row is a document (or, with
//! JSON nested lines, each record). With `group_by`, rows sharing a key
//! become one document whatever their order, in two passes over the file so
//! memory does not grow with its length:
//!
//! 1. a first pass reads only the key (and skip-rule) columns and records,
//!    for every key, the position of its last row (`HashMap<hash of the
//!    key, row>`: 16 bytes a document; two keys of one 64-bit hash, which
//!    is as good as never, would only keep the earlier one's document open
//!    to the end of the file);
//! 2. the second pass adds every row to its key's open document; when the
//!    key's last row arrives, the document is complete and is handed on.
//!
//! So only documents whose rows are still to come are held: a file sorted
//! by document holds one at a time, a shuffled one at worst all. Documents
//! come out in the order their last rows appear (for sorted files, input
//! order). Header fields are taken from the group's first row that has
//! them; a later row with a different value is a problem `group_disagrees`.
//!
//! A CSV file with no quote characters is split at its line breaks and
//! delimiters with `memchr`, many times faster than the CSV parser: the
//! first pass so in parts at once on the `rayon` pool ([`csv::PlainRows`]),
//! and, when its lines all break one way (`\n` or `\r\n`), the second pass
//! too, which then gives the very rows and line numbers the parser would
//! (a property test holds the two to that). Any other file is read by the
//! parser.
//!
//! The second pass runs on a reader thread, which only reads rows and looks
//! at their key and skip-rule cells. Completed documents go in batches to
//! the pool, which maps their rows and assembles the drafts (and, with
//! [`drafts_then`], validates them) while the reader reads on; the consumer
//! takes the batches in the order they were handed on.
//!
//! [`csv::PlainRows`]: crate::read::csv::PlainRows

use super::apply::{map_header_field, map_row_with, origin, LineOut, Mapped, RowOut, Val};
use super::compile::{Plan, Src, Target};
use super::{Mapping, MappingError};
use crate::model::{
    round_money, AppliedRate, CellRef, CustomerType, DocKind, Draft, FieldPath, LineChecks,
    LineItem, Origins, Payment, Problem, RowRef,
};
use crate::read::Cell;
use crate::read::{self, Detected, ReadError, SourceRow};
use rust_decimal::Decimal;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Counts for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DraftStats {
    /// Data rows read (after the header; skipped rows included).
    pub rows_read: u64,
    /// Rows skipped: blank, or matching a skip rule.
    pub rows_skipped: u64,
    /// Rows that could not be read as expected (ragged, unparseable JSON line).
    pub row_errors: u64,
    /// Documents formed.
    pub drafts: u64,
}

/// A document being assembled from its rows' mapped fields.
#[derive(Debug)]
struct Acc {
    rows: Vec<RowRef>,
    header: Vec<Option<Mapped>>,
    lines: Vec<LineOut>,
    problems: Vec<Problem>,
}

/// The raw cells of column-sourced document fields, from the rows of a
/// group that gave their values: a later row with the same cells needs no
/// mapping.
struct Raw<'r>(Vec<Option<&'r Cell>>);

impl<'r> Raw<'r> {
    fn new(n: usize) -> Raw<'r> {
        Raw(vec![None; n])
    }

    /// Remember the raw cells of document fields not yet seen.
    fn note(&mut self, plan: &Plan, row: &'r SourceRow) {
        for (j, f) in plan.header.iter().enumerate() {
            if let Src::Column { idx, .. } = &f.src {
                let c = row.cell(*idx);
                if self.0[j].is_none_or(Cell::is_blank) && !c.is_blank() || self.0[j].is_none() {
                    self.0[j] = Some(c);
                }
            }
        }
    }

    /// For a group's later row: map the document fields whose cells differ
    /// from the ones already seen.
    fn map_changed(&self, plan: &Plan, row: &SourceRow, mapped: &mut RowOut) {
        for (j, f) in plan.header.iter().enumerate() {
            let same = match &f.src {
                Src::Column { idx, .. } => self.0[j] == Some(row.cell(*idx)),
                Src::Const(_) => true,
                Src::Template(_) => false,
            };
            if !same {
                if mapped.header.is_empty() {
                    mapped.header = vec![None; plan.header.len()];
                }
                mapped.header[j] = map_header_field(f, row, &mut mapped.problems);
            }
        }
    }
}

impl Acc {
    fn new(n: usize) -> Acc {
        Acc {
            rows: Vec::new(),
            header: vec![None; n],
            lines: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Add a row's mapped fields (the row at `at`).
    fn add(&mut self, plan: &Plan, at: &RowRef, out: RowOut) {
        self.problems.extend(out.problems);
        for (j, m) in out.header.into_iter().enumerate() {
            let Some(m) = m else { continue };
            match &self.header[j] {
                None => self.header[j] = Some(m),
                Some(first) if first.val != m.val => {
                    let f = &plan.header[j];
                    let where_first = match f.column {
                        Some(_) => format!(" (as in row {})", first.row),
                        None => String::new(),
                    };
                    self.problems.push(
                        Problem::error(
                            "group_disagrees",
                            f.path.clone(),
                            "rows of one document disagree on a document field",
                        )
                        .at(origin(f, at).as_ref())
                        .found(m.val.to_string())
                        .expected(format!("{}{where_first}", first.val)),
                    );
                }
                Some(_) => {}
            }
        }
        self.lines.extend(out.lines);
    }
}

enum Mode {
    PerRow,
    Key,
    Record,
}

enum Class<'r> {
    Skip,
    Keyed(Cow<'r, str>),
    Unkeyed,
}

/// A map from group keys: keys come from the user's own file, so a fast
/// hash without protection against chosen collisions is enough.
type Keys<V> = HashMap<String, V, foldhash::fast::RandomState>;

/// A map from group keys' hashes, which need no hashing again.
type Hashed<V> = HashMap<u64, V, std::hash::BuildHasherDefault<crate::model::Prehashed>>;

/// A source row of a document, read and grouped, not yet mapped.
#[derive(Debug)]
struct Member {
    row: SourceRow,
    /// Problems found while reading and grouping it (a ragged row, a
    /// missing group key).
    problems: Vec<Problem>,
    /// The first row of its group (or not grouped): map document fields.
    first: bool,
}

/// A document's rows, complete, waiting to be mapped.
#[derive(Debug)]
struct Pending {
    /// The row's position in the file, for ordering what is left at its end.
    first: u64,
    members: Vec<Member>,
}

impl Pending {
    fn new(first: u64) -> Pending {
        Pending {
            first,
            members: Vec::new(),
        }
    }

    fn push(&mut self, row: SourceRow, problems: Vec<Problem>, first: bool) {
        self.members.push(Member {
            row,
            problems,
            first,
        });
    }
}

/// A completed document: its rows to map, or a draft already made.
#[derive(Debug)]
enum Done {
    Draft(Box<Draft>),
    Rows(Pending, String),
}

/// Groups one file's rows into documents. Grouping looks only at the key
/// and skip-rule cells, so it is cheap and runs in order on the reader's
/// thread; mapping each completed document ([`build`]) is the costly part
/// and runs in parallel.
struct Grouper {
    plan: Arc<Plan>,
    mode: Mode,
    /// Hashes keys for `last`.
    seed: foldhash::fast::RandomState,
    last: Hashed<u64>,
    open: Keys<Pending>,
    /// The group opened last, kept out of `open` while its rows come one
    /// after another, as in a file sorted by document.
    recent: Option<(String, Pending)>,
    record: Option<(RowRef, Pending)>,
}

/// The cell at `idx`, or an empty one past the end.
fn cell_at(cells: &[Cell], idx: usize) -> &Cell {
    cells.get(idx).unwrap_or(&Cell::Empty)
}

fn key_of<'r>(plan: &Plan, cells: &'r [Cell]) -> Cow<'r, str> {
    if plan.key.len() == 1 {
        return match cell_at(cells, plan.key[0]).as_text() {
            Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
            Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
        };
    }
    let parts: Vec<String> = plan
        .key
        .iter()
        .map(|&k| cell_at(cells, k).as_text().trim().to_string())
        .collect();
    if parts.iter().all(String::is_empty) {
        Cow::Borrowed("")
    } else {
        Cow::Owned(serde_json::to_string(&parts).unwrap_or_default())
    }
}

impl Grouper {
    fn new(plan: Arc<Plan>) -> Grouper {
        let mode = if !plan.key.is_empty() {
            Mode::Key
        } else if plan.group_by_record {
            Mode::Record
        } else {
            Mode::PerRow
        };
        Grouper {
            plan,
            mode,
            seed: Default::default(),
            last: Hashed::default(),
            open: Keys::default(),
            recent: None,
            record: None,
        }
    }

    fn needs_first_pass(&self) -> bool {
        matches!(self.mode, Mode::Key)
    }

    fn classify<'r>(&self, cells: &'r [Cell], full: bool) -> Class<'r> {
        for rule in &self.plan.skip {
            let hit = match rule.column {
                Some(c) => rule.is_match(&cell_at(cells, c).as_text()),
                None => cells
                    .iter()
                    .any(|c| !c.is_empty() && rule.is_match(&c.as_text())),
            };
            if hit {
                return Class::Skip;
            }
        }
        if full && cells.iter().all(Cell::is_blank) {
            return Class::Skip;
        }
        match self.mode {
            Mode::Key => {
                let k = key_of(&self.plan, cells);
                if k.is_empty() {
                    Class::Unkeyed
                } else {
                    Class::Keyed(k)
                }
            }
            _ => Class::Unkeyed,
        }
    }

    /// First pass: note the position of each key's last row.
    fn note(&mut self, i: u64, item: &Result<SourceRow, ReadError>) {
        let row = match item {
            Ok(r) => r,
            Err(ReadError::Ragged { row, .. }) => row,
            Err(_) => return,
        };
        self.note_cells(i, &row.cells);
    }

    /// First pass: note the `i`th row, by its cells.
    fn note_cells(&mut self, i: u64, cells: &[Cell]) {
        if let Some(h) = self.key_hash(cells) {
            self.last.insert(h, i);
        }
    }

    /// The hash of a row's group key, by its cells, for `last`; `None`
    /// when the row is skipped or has no key.
    fn key_hash(&self, cells: &[Cell]) -> Option<u64> {
        match self.classify(cells, false) {
            Class::Keyed(k) => Some(std::hash::BuildHasher::hash_one(&self.seed, &*k)),
            _ => None,
        }
    }

    /// First pass: the parts' notes, in file order, each with its number
    /// of rows: a key's last row is in the last part that has it.
    fn merge_notes(&mut self, parts: Vec<(Hashed<u64>, u64)>) {
        let mut offset = 0;
        for (last, rows) in parts {
            if offset == 0 && self.last.is_empty() {
                self.last = last;
            } else {
                // Room for all of it at once (`extend` reserves for half).
                self.last.reserve(last.len());
                self.last
                    .extend(last.into_iter().map(|(h, i)| (h, i + offset)));
            }
            offset += rows;
        }
    }

    /// Second pass: the `i`th item of the file, in order. Documents it
    /// completes go to `done`; a row that cannot be read is a document of
    /// its own; a fatal error stops the file.
    fn push(
        &mut self,
        i: u64,
        item: Result<SourceRow, ReadError>,
        stats: &mut DraftStats,
        done: &mut Vec<Done>,
    ) -> Result<(), ReadError> {
        let (row, mut problems) = match item {
            Ok(r) => (r, Vec::new()),
            Err(ReadError::Ragged {
                row,
                expected,
                found,
            }) => {
                let p = Problem::error(
                    "ragged_row",
                    "row",
                    format!("the row has {found} cells where the header has {expected}"),
                )
                .at_row(Some(&row.at))
                .found(format!("{found} cells"))
                .expected(format!("{expected} cells"));
                (*row, vec![p])
            }
            Err(ReadError::Row { at, message }) => {
                stats.rows_read += 1;
                stats.row_errors += 1;
                let p = Problem::error("unreadable_row", "row", message).at_row(Some(&at));
                done.push(Done::Draft(Box::new(Draft {
                    source_key: row_key(&at),
                    rows: vec![at],
                    problems: vec![p],
                    ..Default::default()
                })));
                return Ok(());
            }
            Err(fatal) => return Err(fatal),
        };
        stats.rows_read += 1;
        let class = self.classify(&row.cells, true);
        if matches!(class, Class::Skip) {
            stats.rows_skipped += 1;
            return Ok(());
        }
        if !problems.is_empty() {
            stats.row_errors += 1;
        }
        match (&self.mode, class) {
            (Mode::Key, Class::Keyed(k)) => {
                // `k` borrows from `row`: owned copies are made only where kept.
                let h = std::hash::BuildHasher::hash_one(&self.seed, &*k);
                let complete = self.last.get(&h).is_none_or(|&l| l <= i);
                let recent = matches!(&self.recent, Some((r, _)) if *r == *k);
                if !complete {
                    if let (true, Some((_, doc))) = (recent, &mut self.recent) {
                        drop(k);
                        doc.push(row, problems, false);
                    } else if let Some(doc) = self.open.get_mut(&*k) {
                        drop(k);
                        doc.push(row, problems, false);
                    } else {
                        // A new group is the recent one; the one before
                        // waits in `open` for rows further on.
                        let k = k.into_owned();
                        let mut doc = Pending::new(i);
                        doc.push(row, problems, true);
                        if let Some((before, d)) = self.recent.replace((k, doc)) {
                            self.open.insert(before, d);
                        }
                    }
                    return Ok(());
                }
                let key = group_key(&k);
                let open = if recent {
                    self.recent.take().map(|(_, d)| d)
                } else {
                    self.open.remove(&*k)
                };
                drop(k);
                let first = open.is_none();
                let mut doc = open.unwrap_or_else(|| Pending::new(i));
                doc.push(row, problems, first);
                done.push(Done::Rows(doc, key));
            }
            (Mode::Key, _) => {
                let names: Vec<&str> = self
                    .plan
                    .key
                    .iter()
                    .map(|&k| self.plan.headers.get(k).map_or("", |h| &**h))
                    .collect();
                problems.push(
                    Problem::error(
                        "missing_group_key",
                        "number",
                        format!(
                            "the row has no value in the grouping column(s) {}",
                            names.join(", ")
                        ),
                    )
                    .at_row(Some(&row.at))
                    .expected("a value that names the document"),
                );
                let key = row_key(&row.at);
                let mut doc = Pending::new(i);
                doc.push(row, problems, true);
                done.push(Done::Rows(doc, key));
            }
            (Mode::Record, _) => match &mut self.record {
                Some((at, doc)) if *at == row.at => doc.push(row, problems, true),
                _ => {
                    if let Some((at, doc)) = self.record.take() {
                        done.push(Done::Rows(doc, record_key(&at)));
                    }
                    let at = row.at.clone();
                    let mut doc = Pending::new(i);
                    doc.push(row, problems, true);
                    self.record = Some((at, doc));
                }
            },
            (Mode::PerRow, _) => {
                let key = row_key(&row.at);
                let mut doc = Pending::new(i);
                doc.push(row, problems, true);
                done.push(Done::Rows(doc, key));
            }
        }
        Ok(())
    }

    /// End of the file: the documents still open, in the order of their
    /// first rows.
    fn rest(&mut self) -> Vec<Done> {
        let mut done = Vec::new();
        if let Some((at, doc)) = self.record.take() {
            done.push(Done::Rows(doc, record_key(&at)));
        }
        let mut rest: Vec<(String, Pending)> = self.open.drain().collect();
        rest.extend(self.recent.take());
        rest.sort_by_key(|(_, d)| d.first);
        for (k, doc) in rest {
            done.push(Done::Rows(doc, group_key(&k)));
        }
        done
    }
}

/// Map a completed document's rows, in order, and assemble its draft.
fn build(plan: &Plan, done: Done) -> Draft {
    let (doc, key) = match done {
        Done::Draft(d) => return *d,
        Done::Rows(doc, key) => (doc, key),
    };
    let mut acc = Acc::new(plan.header.len());
    acc.lines.reserve(doc.members.len());
    let mut raw = Raw::new(plan.header.len());
    for m in &doc.members {
        let mut out = map_row_with(plan, &m.row, m.first);
        out.problems.extend(m.problems.iter().cloned());
        if !m.first {
            raw.map_changed(plan, &m.row, &mut out);
        }
        raw.note(plan, &m.row);
        acc.add(plan, &m.row.at, out);
    }
    drop(raw);
    // The rows' addresses move into the draft; their cells are done with.
    acc.rows = doc.members.into_iter().map(|m| m.row.at).collect();
    finalize(plan, acc, key)
}

/// Build drafts in order: in parallel for large batches.
fn build_all(plan: &Plan, done: Vec<Done>) -> Vec<Draft> {
    use rayon::prelude::*;
    if done.len() >= PAR_MIN {
        done.into_par_iter().map(|d| build(plan, d)).collect()
    } else {
        done.into_iter().map(|d| build(plan, d)).collect()
    }
}

/// In-memory batches (examples, previews) of this many documents and more
/// are built in parallel.
const PAR_MIN: usize = 512;

/// A file's rows are handed on for mapping in batches of about this many:
/// small enough that a batch's rows and drafts stay in the caches of the
/// core that maps them (1,024 ran about 10% slower here than 256).
const BATCH_ROWS: usize = 256;

fn file_name(at: &RowRef) -> String {
    std::path::Path::new(&*at.file)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| at.file.to_string())
}

/// A group's source key: `group:` and its key.
fn group_key(k: &str) -> String {
    let mut key = String::with_capacity(6 + k.len());
    key.push_str("group:");
    key.push_str(k);
    key
}

fn row_key(at: &RowRef) -> String {
    match &at.sheet {
        Some(s) => format!("row:{}:{}:{}", file_name(at), s, at.row),
        None => format!("row:{}:{}", file_name(at), at.row),
    }
}

fn record_key(at: &RowRef) -> String {
    format!("record:{}:{}", file_name(at), at.row)
}

/// A text value's string, taken out of it.
fn take_text(v: &mut Val) -> Option<String> {
    match v {
        Val::Text(s) => Some(std::mem::take(s)),
        _ => None,
    }
}

/// Assemble a draft from its rows.
fn finalize(plan: &Plan, acc: Acc, source_key: String) -> Draft {
    let mut d = Draft {
        source_key,
        rows: acc.rows,
        match_on: plan.match_on,
        problems: acc.problems,
        ..Default::default()
    };
    let mut payments: Vec<Payment> = vec![Payment::default(); plan.payments];
    // The file and sheet of every cell: a document's rows are in one file.
    let at = d.rows.first().cloned().unwrap_or_else(|| RowRef {
        file: Arc::from(""),
        sheet: None,
        row: 0,
    });
    let at_row = |row: u64| RowRef { row, ..at.clone() };
    let per_line = plan.lines.first().map_or(0, Vec::len);
    let mut origins = Origins::with_capacity(plan.header.len() + acc.lines.len() * per_line);
    // Payments' origins wait until the payments without an amount are dropped.
    let mut payment_origins: Vec<(usize, FieldPath, u64, (usize, &'static str))> = Vec::new();
    for (f, m) in plan.header.iter().zip(acc.header) {
        let Some(mut m) = m else { continue };
        // Text moves into the payload rather than being copied.
        let mut owned = take_text(&mut m.val);
        let v = &m.val;
        let mut text = |_: &Val| owned.take().unwrap_or_else(|| v.to_string());
        let inv = &mut d.invoice;
        match (&f.target, v) {
            (Target::Invoice("kind"), Val::Kind(k)) => d.kind = *k,
            (Target::Invoice("number"), _) => inv.number = Some(text(v)),
            (Target::Invoice("name"), _) => inv.name = Some(text(v)),
            (Target::Invoice("currency"), _) => inv.currency = Some(text(v)),
            (Target::Invoice("date"), Val::Date(x)) => inv.date = Some(*x),
            (Target::Invoice("due_date"), Val::Date(x)) => inv.due_date = Some(*x),
            (Target::Invoice("payment_terms"), _) => inv.payment_terms = Some(text(v)),
            (Target::Invoice("purchase_order"), _) => inv.purchase_order = Some(text(v)),
            (Target::Invoice("notes"), _) => inv.notes = Some(text(v)),
            (Target::Invoice("draft"), Val::Bool(b)) => inv.draft = Some(*b),
            (Target::Invoice("sent"), Val::Bool(b)) => inv.sent = Some(*b),
            (Target::Invoice("taxes"), Val::Rates(r)) => {
                inv.taxes = r.iter().map(AppliedRate::tax).collect()
            }
            (Target::Invoice("discount"), Val::Dec(x)) => {
                inv.discounts = vec![AppliedRate::amount(*x)]
            }
            (Target::Invoice("checks.subtotal"), Val::Dec(x)) => d.checks.subtotal = Some(*x),
            (Target::Invoice("checks.tax"), Val::Dec(x)) => d.checks.tax = Some(*x),
            (Target::Invoice("checks.total"), Val::Dec(x)) => d.checks.total = Some(*x),
            (Target::InvoiceMeta(k), _) => {
                inv.metadata.insert(k.clone(), text(v));
            }
            (Target::Customer("type"), _) => {
                let t = text(v);
                match CustomerType::parse(&t.trim().to_lowercase()) {
                    Some(kind) => d.customer.kind = Some(kind),
                    None => d.problems.push(
                        Problem::error(
                            "bad_customer_type",
                            f.path.clone(),
                            "unknown customer type",
                        )
                        .at(origin(f, &at_row(m.row)).as_ref())
                        .found(t)
                        .expected(format!("one of {}", CustomerType::ALL.join(", "))),
                    ),
                }
            }
            (Target::Customer(name), _) => {
                let c = &mut d.customer;
                let s = Some(text(v));
                match *name {
                    "number" => c.number = s,
                    "name" => c.name = s,
                    "tax_id" => c.tax_id = s,
                    "email" => c.email = s,
                    "phone" => c.phone = s,
                    "address1" => c.address1 = s,
                    "address2" => c.address2 = s,
                    "city" => c.city = s,
                    "state" => c.state = s,
                    "postal_code" => c.postal_code = s,
                    "country" => c.country = s,
                    "language" => c.language = s,
                    "currency" => c.currency = s,
                    "payment_terms" => c.payment_terms = s,
                    "notes" => c.notes = s,
                    _ => {}
                }
            }
            (Target::CustomerMeta(k), _) => {
                d.customer.metadata.insert(k.clone(), text(v));
            }
            (Target::Payment(i, name), _) => {
                if let Some(col) = f.column {
                    payment_origins.push((*i, f.origin, m.row, col));
                }
                if let Some(p) = payments.get_mut(*i) {
                    match (*name, v) {
                        ("amount", Val::Dec(x)) => p.amount = Some(*x),
                        ("date", Val::Date(x)) => p.date = Some(*x),
                        ("method", _) => p.method = Some(text(v)),
                        ("reference", _) => p.reference = Some(text(v)),
                        ("notes", _) => p.notes = Some(text(v)),
                        ("currency", _) => p.currency = Some(text(v)),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        if let (Some((col, name)), false) = (f.column, matches!(f.target, Target::Payment(..))) {
            origins.push_at(f.origin, &at, m.row, Some(col), name);
        }
    }
    // Lines.
    d.invoice.items.reserve_exact(acc.lines.len());
    d.checks.lines.reserve_exact(acc.lines.len());
    for lo in acc.lines {
        let i = d.invoice.items.len();
        let fields = &plan.lines[lo.slot];
        let mut item = LineItem::default();
        let mut chk = LineChecks::default();
        let mut pct: Option<(Decimal, Option<CellRef>)> = None;
        for (f, m) in fields.iter().zip(lo.fields) {
            let Some(mut m) = m else { continue };
            let mut owned = take_text(&mut m.val);
            let v = &m.val;
            let mut text = |_: &Val| owned.take().unwrap_or_else(|| v.to_string());
            match (&f.target, v) {
                (Target::Line("name"), _) => item.name = Some(text(v)),
                (Target::Line("description"), _) => item.description = Some(text(v)),
                (Target::Line("catalog_item"), _) => item.catalog_item = Some(text(v)),
                (Target::Line("type"), _) => item.kind = Some(text(v)),
                (Target::Line("quantity"), Val::Dec(x)) => item.quantity = Some(*x),
                (Target::Line("unit_cost"), Val::Dec(x)) => item.unit_cost = Some(*x),
                (Target::Line("taxes"), Val::Rates(r)) => {
                    for id in r {
                        if id.eq_ignore_ascii_case("exempt") {
                            item.taxable = Some(false);
                            item.metadata.insert("vat".into(), "exempt".into());
                        } else {
                            item.taxes.push(AppliedRate::tax(id.clone()));
                        }
                    }
                }
                (Target::Line("discount"), Val::Dec(x)) => {
                    item.discounts = vec![AppliedRate::amount(*x)]
                }
                (Target::Line("discount_percent"), Val::Dec(x)) => {
                    pct = Some((*x, origin(f, &at_row(lo.row))))
                }
                (Target::Line("taxable"), Val::Bool(b)) => item.taxable = Some(*b),
                (Target::Line("discountable"), Val::Bool(b)) => item.discountable = Some(*b),
                (Target::Line("check_net"), Val::Dec(x)) => chk.net = Some(*x),
                (Target::Line("check_vat"), Val::Dec(x)) => chk.vat = Some(*x),
                (Target::Line("check_gross"), Val::Dec(x)) => chk.gross = Some(*x),
                (Target::LineMeta(k), _) => {
                    item.metadata.insert(k.clone(), text(v));
                }
                _ => {}
            }
            if let (Some((col, name)), false) = (
                f.column,
                matches!(f.target, Target::Line("discount_percent")),
            ) {
                origins.push_at(f.origin.at(i), &at, lo.row, Some(col), name);
            }
        }
        if let Some((p, cell)) = pct {
            if !p.is_zero() {
                let base =
                    item.quantity.unwrap_or(Decimal::ONE) * item.unit_cost.unwrap_or_default();
                item.discounts = vec![AppliedRate::amount(round_money(
                    base * p / Decimal::ONE_HUNDRED,
                ))];
                if let Some(c) = cell {
                    origins.insert(&format!("items[{i}].discounts[0].amount"), &c);
                }
            }
        }
        for (j, e, cell) in lo.errors {
            let path = fields[j].path_at(i);
            let row = cell
                .as_ref()
                .map(|c| c.row.clone())
                .or_else(|| d.rows.last().cloned())
                .unwrap_or_else(|| RowRef {
                    file: Arc::from(""),
                    sheet: None,
                    row: 0,
                });
            d.problems.push(e.problem(&path, cell.as_ref(), &row));
        }
        d.invoice.items.push(item);
        d.checks.lines.push(chk);
    }
    // Credit notes: a kind column, or a negative total.
    let total = d.checks.total.unwrap_or_else(|| {
        d.invoice
            .items
            .iter()
            .map(|it| it.quantity.unwrap_or(Decimal::ONE) * it.unit_cost.unwrap_or_default())
            .sum()
    });
    if total < Decimal::ZERO && (plan.credit_note_when_negative || d.kind == DocKind::CreditNote) {
        d.kind = DocKind::CreditNote;
        for it in &mut d.invoice.items {
            let neg = it.quantity.unwrap_or(Decimal::ONE) * it.unit_cost.unwrap_or_default()
                < Decimal::ZERO;
            if neg {
                match (it.quantity, it.unit_cost) {
                    (Some(q), Some(c)) if q < Decimal::ZERO => {
                        it.quantity = Some(-q);
                        it.unit_cost = Some(c);
                    }
                    (_, Some(c)) => it.unit_cost = Some(-c),
                    _ => {}
                }
            }
        }
        let flip = |x: &mut Option<Decimal>| {
            if let Some(v) = x {
                *v = v.abs();
            }
        };
        for l in &mut d.checks.lines {
            flip(&mut l.net);
            flip(&mut l.vat);
            flip(&mut l.gross);
        }
        flip(&mut d.checks.subtotal);
        flip(&mut d.checks.tax);
        flip(&mut d.checks.total);
    }
    // Payments: only those with an amount, renumbered.
    let currency = d.invoice.currency.clone();
    let mut kept = Vec::new();
    for (i, mut p) in payments.into_iter().enumerate() {
        if p.amount.is_some_and(|a| !a.is_zero()) {
            if p.currency.is_none() {
                p.currency = currency.clone();
            }
            for (_, path, row, (col, name)) in payment_origins.iter().filter(|o| o.0 == i) {
                origins.push_at(path.at(kept.len()), &at, *row, Some(*col), name);
            }
            kept.push(p);
        }
    }
    d.origins = origins;
    d.payments = kept;
    d
}

/// The drafts of the given files, in order; see the module docs for
/// grouping. With [`drafts_then`], each draft goes through a further step on
/// the thread pool and the stream yields its results instead.
pub struct Drafts<T = Draft> {
    mapping: Mapping,
    files: Vec<PathBuf>,
    plans: Vec<Arc<Plan>>,
    detected: Vec<(PathBuf, Detected)>,
    then: Then<T>,
    next_file: usize,
    cur: Option<std::sync::mpsc::Receiver<Batch<T>>>,
    queue: std::vec::IntoIter<T>,
    stats: DraftStats,
    failed: bool,
}

/// What is done with each draft as soon as it is built.
type Then<T> = Arc<dyn Fn(Draft) -> T + Send + Sync>;

impl<T> std::fmt::Debug for Drafts<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drafts")
            .field("files", &self.files)
            .field("stats", &self.stats)
            .finish()
    }
}

/// Open every file, compile the mapping against each one's headers (before
/// any row is read), and return the stream of drafts. A file that cannot be
/// read at all is `Err(MappingError::Read)` here (exit 3) or a fatal
/// `Err` item later (reading stops there); a row that cannot be read is a
/// problem on a draft and reading goes on.
pub fn drafts(mapping: &Mapping, files: &[PathBuf]) -> Result<Drafts, MappingError> {
    drafts_then(mapping, files, |d| d)
}

/// As [`drafts`], with `then` applied to each draft on the thread pool as
/// soon as it is built (validation, say), in parallel with reading and
/// with the other drafts; the results come out in input order.
pub fn drafts_then<T: Send + 'static>(
    mapping: &Mapping,
    files: &[PathBuf],
    then: impl Fn(Draft) -> T + Send + Sync + 'static,
) -> Result<Drafts<T>, MappingError> {
    let mut plans = Vec::new();
    let mut detected = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        let src = read::open(f, mapping.source())?;
        let d = src.detected().clone();
        if let (Some(enc), Some(conf)) = (d.encoding, d.confidence) {
            tracing::info!(file = %f.display(), encoding = enc, confidence = conf, "input encoding");
        }
        match mapping.compile_for(src.headers(), &f.display().to_string()) {
            Ok(p) => plans.push(Arc::new(p)),
            Err(MappingError::Invalid(s)) => errors.push(s),
            Err(e) => return Err(e),
        }
        detected.push((f.clone(), d));
    }
    if !errors.is_empty() {
        return Err(MappingError::Invalid(errors.join("\n\n")));
    }
    Ok(Drafts {
        mapping: mapping.clone(),
        files: files.to_vec(),
        plans,
        detected,
        then: Arc::new(then),
        next_file: 0,
        cur: None,
        queue: Vec::new().into_iter(),
        stats: DraftStats::default(),
        failed: false,
    })
}

impl<T: Send + 'static> Drafts<T> {
    /// Counts so far (complete once the iterator is exhausted).
    pub fn stats(&self) -> DraftStats {
        self.stats
    }

    /// What was detected about each file (encoding and confidence, delimiter, sheet).
    pub fn detected(&self) -> &[(PathBuf, Detected)] {
        &self.detected
    }

    /// The plan compiled for the `i`th file.
    pub fn plan(&self, i: usize) -> Option<&Plan> {
        self.plans.get(i).map(|p| &**p)
    }

    /// Start the next file: a worker thread reads it (both passes), groups
    /// its rows and hands documents to the thread pool to be built.
    fn start_file(&mut self) -> Result<bool, ReadError> {
        let Some(path) = self.files.get(self.next_file).cloned() else {
            return Ok(false);
        };
        let plan = self.plans[self.next_file].clone();
        self.next_file += 1;
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUED);
        let source = self.mapping.source().clone();
        let worker_path = path.clone();
        let then = self.then.clone();
        std::thread::Builder::new()
            .name("drafts".into())
            .spawn(move || work(&worker_path, &source, plan, &then, &tx))
            .map_err(|e| {
                ReadError::file(&path, "failed to start a reader thread", Some(Box::new(e)))
            })?;
        self.cur = Some(rx);
        Ok(true)
    }
}

/// Batches handed on and not yet taken by the consumer, at most.
const QUEUED: usize = 8;

/// A batch's results, made on the thread pool (or the panic that stopped it).
type Built<T> = std::sync::mpsc::Receiver<std::thread::Result<Vec<T>>>;

/// What the worker sends, in file order: a batch of documents being built
/// (or the error that stopped the file) and the counts of the rows behind it.
type Batch<T> = (Result<Built<T>, ReadError>, DraftStats);

/// The worker: first pass (keys), then the second pass, grouping rows and
/// handing completed documents on in batches. Stops at a fatal error or
/// when the consumer is gone.
fn work<T: Send + 'static>(
    path: &std::path::Path,
    source: &read::SourceSpec,
    plan: Arc<Plan>,
    then: &Then<T>,
    tx: &std::sync::mpsc::SyncSender<Batch<T>>,
) {
    let fail = |e: ReadError| {
        let _ = tx.send((Err(e), DraftStats::default()));
    };
    let mut g = Grouper::new(plan.clone());
    // After a quick first pass over a file whose lines break one way, the
    // second pass splits it the same way: the rows and line numbers the
    // parser would give, with no parsing.
    let mut plain_second = false;
    if g.needs_first_pass() {
        match plain_first_pass(&mut g, path, source, &plan) {
            Ok(Some(one_way)) => plain_second = one_way,
            Ok(None) => {
                g = Grouper::new(plan.clone());
                if let Err(e) = first_pass(&mut g, path, source, &plan) {
                    return fail(e);
                }
            }
            Err(e) => return fail(e),
        }
    }
    let mut second = Second {
        g,
        plan: &plan,
        then,
        tx,
        next: 0,
        rows: 0,
        done: Vec::new(),
        stats: DraftStats::default(),
        stopped: false,
    };
    if plain_second {
        let splitter = read::plain(path, source, Some(plan.row_projection()));
        let read = match splitter {
            Ok(Some(s)) => s.rows_numbered(|item| second.feed(item)),
            Ok(None) => Ok(false),
            Err(e) => Err(e),
        };
        match read {
            Ok(true) => {}
            Ok(false) if second.stopped => {}
            // Quotes or other line breaks in the second pass: the file
            // changed between the passes.
            Ok(false) => {
                let e = ReadError::file(path, "the file changed while it was being read", None);
                return second.fail(e);
            }
            Err(e) => return second.fail(e),
        }
    } else {
        let src = match read::open_projected(path, source, Some(plan.row_projection())) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        for item in src {
            if !second.feed(item) {
                break;
            }
        }
    }
    second.finish();
}

/// The first pass over a file without quotes, split at its line breaks
/// (much faster than the CSV parser) in parts read at once on the pool,
/// idle until the second pass. Whether the file's lines break one way;
/// `None` when the file is not such a file.
fn plain_first_pass(
    g: &mut Grouper,
    path: &std::path::Path,
    source: &read::SourceSpec,
    plan: &Plan,
) -> Result<Option<bool>, ReadError> {
    use rayon::prelude::*;
    let Some(splitter) = read::plain(path, source, Some(plan.key_projection()))? else {
        return Ok(None);
    };
    // Each part's notes, rows and line breaks (none: not such a file).
    type Part = Option<(Hashed<u64>, (u64, read::csv::Breaks))>;
    let parts: Vec<Part> = splitter
        .parts(rayon::current_num_threads())?
        .into_par_iter()
        .map(|range| {
            let mut last = Hashed::default();
            let read = splitter.rows_in(range, |i, cells| {
                if let Some(h) = g.key_hash(cells) {
                    last.insert(h, i);
                }
            })?;
            Ok(read.map(|r| (last, r)))
        })
        .collect::<Result<_, ReadError>>()?;
    let Some(parts) = parts.into_iter().collect::<Option<Vec<_>>>() else {
        return Ok(None);
    };
    let breaks = parts
        .iter()
        .fold(read::csv::Breaks::default(), |b, (_, (_, p))| b.merge(*p));
    g.merge_notes(
        parts
            .into_iter()
            .map(|(last, (rows, _))| (last, rows))
            .collect(),
    );
    Ok(Some(splitter.numbers_as_parser(breaks)))
}

/// The second pass: rows in file order into the grouper, completed
/// documents handed on in batches.
struct Second<'a, T> {
    g: Grouper,
    plan: &'a Arc<Plan>,
    then: &'a Then<T>,
    tx: &'a std::sync::mpsc::SyncSender<Batch<T>>,
    /// The next row's index.
    next: u64,
    /// Rows since the last batch.
    rows: usize,
    done: Vec<Done>,
    stats: DraftStats,
    /// The file failed, or the consumer is gone.
    stopped: bool,
}

impl<T: Send + 'static> Second<'_, T> {
    /// The next row; false when the file or the consumer is done with.
    fn feed(&mut self, item: Result<SourceRow, ReadError>) -> bool {
        if let Err(e) = self
            .g
            .push(self.next, item, &mut self.stats, &mut self.done)
        {
            self.fail(e);
            return false;
        }
        self.next += 1;
        self.rows += 1;
        if self.rows == BATCH_ROWS {
            self.rows = 0;
            let batch = std::mem::take(&mut self.done);
            let stats = std::mem::take(&mut self.stats);
            if !hand_on(self.plan, self.then, batch, stats, self.tx) {
                self.stopped = true;
                return false;
            }
        }
        true
    }

    /// A fatal error: the documents completed before it still go out first.
    fn fail(&mut self, e: ReadError) {
        self.stopped = true;
        let batch = std::mem::take(&mut self.done);
        let stats = std::mem::take(&mut self.stats);
        if hand_on(self.plan, self.then, batch, stats, self.tx) {
            let _ = self.tx.send((Err(e), DraftStats::default()));
        }
    }

    /// The end of the file: the documents still open go out.
    fn finish(mut self) {
        if self.stopped {
            return;
        }
        let mut done = std::mem::take(&mut self.done);
        done.extend(self.g.rest());
        hand_on(self.plan, self.then, done, self.stats, self.tx);
    }
}

/// The first pass the ordinary way: every row's key and skip-rule cells.
fn first_pass(
    g: &mut Grouper,
    path: &std::path::Path,
    source: &read::SourceSpec,
    plan: &Plan,
) -> Result<(), ReadError> {
    let src = read::open_projected(path, source, Some(plan.key_projection()))?;
    for (i, item) in src.enumerate() {
        if item.as_ref().is_err_and(ReadError::is_fatal) {
            return Err(item
                .err()
                .unwrap_or_else(|| ReadError::file(path, "failed to read", None)));
        }
        g.note(i as u64, &item);
    }
    Ok(())
}

/// Build a batch of documents (and apply `then`) on the thread pool, while
/// this thread reads on; the consumer takes the batches in the order they
/// were handed on. False when the consumer is gone.
fn hand_on<T: Send + 'static>(
    plan: &Arc<Plan>,
    then: &Then<T>,
    done: Vec<Done>,
    stats: DraftStats,
    tx: &std::sync::mpsc::SyncSender<Batch<T>>,
) -> bool {
    let (built, receiver) = std::sync::mpsc::sync_channel(1);
    let (plan, then) = (plan.clone(), then.clone());
    rayon::spawn(move || {
        let results = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            done.into_iter().map(|d| then(build(&plan, d))).collect()
        }));
        // The receiver is gone only when the consumer stopped reading.
        let _ = built.send(results);
    });
    tx.send((Ok(receiver), stats)).is_ok()
}

impl<T: Send + 'static> Iterator for Drafts<T> {
    type Item = Result<T, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(d) = self.queue.next() {
                self.stats.drafts += 1;
                return Some(Ok(d));
            }
            if self.failed {
                return None;
            }
            let Some(rx) = &self.cur else {
                match self.start_file() {
                    Ok(true) => continue,
                    Ok(false) => return None,
                    Err(e) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                }
            };
            let Ok((batch, st)) = rx.recv() else {
                // The worker finished the file.
                self.cur = None;
                continue;
            };
            self.stats.rows_read += st.rows_read;
            self.stats.rows_skipped += st.rows_skipped;
            self.stats.row_errors += st.row_errors;
            match batch.map(|built| built.recv()) {
                Ok(Ok(Ok(results))) => self.queue = results.into_iter(),
                // Building panicked: a bug, raised here.
                Ok(Ok(Err(panic))) => std::panic::resume_unwind(panic),
                Ok(Err(_)) => panic!("a batch of drafts was dropped unbuilt"),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Drafts of rows held in memory (examples, previews), grouped as a file's.
pub fn drafts_from_rows(plan: Arc<Plan>, rows: Vec<SourceRow>) -> (Vec<Draft>, DraftStats) {
    let mut g = Grouper::new(plan.clone());
    if g.needs_first_pass() {
        for (i, r) in rows.iter().enumerate() {
            g.note(i as u64, &Ok(r.clone()));
        }
    }
    let mut stats = DraftStats::default();
    let mut done = Vec::new();
    for (i, r) in rows.into_iter().enumerate() {
        // In-memory rows cannot fail fatally.
        let _ = g.push(i as u64, Ok(r), &mut stats, &mut done);
    }
    done.extend(g.rest());
    let out = build_all(&plan, done);
    stats.drafts = out.len() as u64;
    (out, stats)
}
