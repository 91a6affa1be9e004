//! Rows → documents. Without `group_by`, each row is a document (or, with
//! JSON nested lines, each record). With `group_by`, rows sharing a key
//! become one document whatever their order, in two passes over the file so
//! memory does not grow with its length:
//!
//! 1. a first pass reads only the key (and skip-rule) columns and records,
//!    for every key, the position of its last row (`HashMap<key, row>`);
//! 2. the second pass maps every row and adds it to its key's open document;
//!    when the key's last row arrives, the document is complete and is
//!    emitted at once.
//!
//! So only documents whose rows are still to come are held: a file sorted
//! by document holds one at a time, a shuffled one at worst all. Documents
//! come out in the order their last rows appear (for sorted files, input
//! order). Header fields are taken from the group's first row that has
//! them; a later row with a different value is a problem `group_disagrees`.

use super::apply::{map_header_field, map_row_with, LineOut, Mapped, RowOut, Val};
use super::compile::{Plan, Src, Target};
use super::{Mapping, MappingError};
use crate::model::{
    round_money, AppliedRate, CellRef, CustomerType, DocKind, Draft, LineChecks, LineItem, Payment,
    Problem, RowRef,
};
use crate::read::Cell;
use crate::read::{self, Detected, ReadError, SourceRow};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
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

/// A document being assembled from its rows.
#[derive(Debug)]
struct Acc {
    first: u64,
    /// The raw cells of column-sourced document fields, from the rows that
    /// gave their values: a later row with the same cells needs no mapping.
    raw: Vec<Option<Cell>>,
    rows: Vec<RowRef>,
    header: Vec<Option<Mapped>>,
    lines: Vec<LineOut>,
    problems: Vec<Problem>,
}

impl Acc {
    fn new(first: u64, n: usize) -> Acc {
        Acc {
            first,
            raw: vec![None; n],
            rows: Vec::new(),
            header: vec![None; n],
            lines: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Remember the raw cells of document fields not yet seen.
    fn note_raw(&mut self, plan: &Plan, row: &SourceRow) {
        for (j, f) in plan.header.iter().enumerate() {
            if let Src::Column { idx, .. } = &f.src {
                let c = row.cell(*idx);
                if self.raw[j].as_ref().is_none_or(Cell::is_blank) && !c.is_blank()
                    || self.raw[j].is_none()
                {
                    self.raw[j] = Some(c.clone());
                }
            }
        }
    }

    fn add(&mut self, plan: &Plan, out: RowOut) {
        self.rows.push(out.at);
        self.problems.extend(out.problems);
        for (j, m) in out.header.into_iter().enumerate() {
            let Some(m) = m else { continue };
            match &self.header[j] {
                None => self.header[j] = Some(m),
                Some(first) if first.val != m.val => {
                    let f = &plan.header[j];
                    let where_first = first
                        .cell
                        .as_ref()
                        .map(|c| format!(" (as in row {})", c.row.row))
                        .unwrap_or_default();
                    self.problems.push(
                        Problem::error(
                            "group_disagrees",
                            f.path.clone(),
                            "rows of one document disagree on a document field",
                        )
                        .at(m.cell.as_ref())
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

enum Class {
    Skip,
    Keyed(String),
    Unkeyed,
}

/// Groups one file's rows into drafts.
pub(crate) struct Grouper {
    plan: Arc<Plan>,
    mode: Mode,
    last: HashMap<String, u64>,
    open: HashMap<String, Acc>,
    record: Option<(RowRef, Acc)>,
}

fn key_of(plan: &Plan, row: &SourceRow) -> String {
    if plan.key.len() == 1 {
        return row.cell(plan.key[0]).as_text().trim().to_string();
    }
    let parts: Vec<String> = plan
        .key
        .iter()
        .map(|&k| row.cell(k).as_text().trim().to_string())
        .collect();
    if parts.iter().all(String::is_empty) {
        String::new()
    } else {
        serde_json::to_string(&parts).unwrap_or_default()
    }
}

impl Grouper {
    pub(crate) fn new(plan: Arc<Plan>) -> Grouper {
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
            last: HashMap::new(),
            open: HashMap::new(),
            record: None,
        }
    }

    pub(crate) fn needs_first_pass(&self) -> bool {
        matches!(self.mode, Mode::Key)
    }

    fn classify(&self, row: &SourceRow, full: bool) -> Class {
        for (col, re) in &self.plan.skip {
            let hit = match col {
                Some(c) => re.is_match(&row.cell(*c).as_text()),
                None => row
                    .cells
                    .iter()
                    .any(|c| !c.is_empty() && re.is_match(&c.as_text())),
            };
            if hit {
                return Class::Skip;
            }
        }
        if full && row.is_blank() {
            return Class::Skip;
        }
        match self.mode {
            Mode::Key => {
                let k = key_of(&self.plan, row);
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
    pub(crate) fn note(&mut self, i: u64, item: &Result<SourceRow, ReadError>) {
        let row = match item {
            Ok(r) => r,
            Err(ReadError::Ragged { row, .. }) => row,
            Err(_) => return,
        };
        if let Class::Keyed(k) = self.classify(row, false) {
            self.last.insert(k, i);
        }
    }

    /// Second pass, first step (sequential): classify an item; row errors
    /// become drafts of their own; fatal errors stop the file.
    fn prepare(
        &self,
        i: u64,
        item: Result<SourceRow, ReadError>,
        stats: &mut DraftStats,
        seen: &mut std::collections::HashSet<String>,
    ) -> Result<Option<Step>, ReadError> {
        let (row, extra) = match item {
            Ok(r) => (r, None),
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
                (*row, Some(Box::new(p)))
            }
            Err(ReadError::Row { at, message }) => {
                stats.rows_read += 1;
                stats.row_errors += 1;
                let p = Problem::error("unreadable_row", "row", message).at_row(Some(&at));
                return Ok(Some(Step::Ready(Box::new(Draft {
                    source_key: row_key(&at),
                    rows: vec![at],
                    problems: vec![p],
                    ..Default::default()
                }))));
            }
            Err(fatal) => return Err(fatal),
        };
        stats.rows_read += 1;
        let class = self.classify(&row, true);
        if matches!(class, Class::Skip) {
            stats.rows_skipped += 1;
            return Ok(None);
        }
        if extra.is_some() {
            stats.row_errors += 1;
        }
        // A group's later rows repeat its document fields: map them only
        // where their cells differ from the first row's.
        let first = match &class {
            Class::Keyed(k) => !self.open.contains_key(k) && seen.insert(k.clone()),
            _ => true,
        };
        Ok(Some(Step::Row(Prepared {
            i,
            row,
            class,
            extra,
            first,
        })))
    }

    /// Second pass: a chunk of items. Rows are mapped in parallel, grouped
    /// in order, and completed documents assembled in parallel; drafts go
    /// to `out` in order.
    pub(crate) fn feed_chunk(
        &mut self,
        items: Vec<(u64, Result<SourceRow, ReadError>)>,
        stats: &mut DraftStats,
        out: &mut VecDeque<Draft>,
    ) -> Result<(), ReadError> {
        let done = self.feed(items, stats)?;
        self.assemble(done, out);
        Ok(())
    }

    /// As [`Grouper::feed_chunk`], leaving completed documents unassembled.
    fn feed(
        &mut self,
        items: Vec<(u64, Result<SourceRow, ReadError>)>,
        stats: &mut DraftStats,
    ) -> Result<Vec<Done>, ReadError> {
        use rayon::prelude::*;
        let mut steps = Vec::with_capacity(items.len());
        let mut seen = std::collections::HashSet::new();
        for (i, item) in items {
            if let Some(s) = self.prepare(i, item, stats, &mut seen)? {
                steps.push(s);
            }
        }
        let plan = self.plan.clone();
        let map = |s: &Step| match s {
            Step::Row(p) => Some(map_row_with(&plan, &p.row, p.first)),
            Step::Ready(_) => None,
        };
        let mapped: Vec<Option<RowOut>> = if steps.len() >= PAR_MIN {
            steps.par_iter().map(map).collect()
        } else {
            steps.iter().map(map).collect()
        };
        let mut done = Vec::new();
        for (s, m) in steps.into_iter().zip(mapped) {
            match (s, m) {
                (Step::Ready(d), _) => done.push(Done::Draft(d)),
                (Step::Row(p), Some(m)) => self.apply(p, m, &mut done),
                (Step::Row(_), None) => {}
            }
        }
        Ok(done)
    }

    fn assemble(&self, done: Vec<Done>, out: &mut VecDeque<Draft>) {
        use rayon::prelude::*;
        let plan = &self.plan;
        let fin = |d: Done| match d {
            Done::Draft(d) => *d,
            Done::Acc(acc, key) => finalize(plan, acc, key),
        };
        if done.len() >= PAR_MIN {
            let drafts: Vec<Draft> = done.into_par_iter().map(fin).collect();
            out.extend(drafts);
        } else {
            out.extend(done.into_iter().map(fin));
        }
    }

    /// Second pass, last step (sequential): add a mapped row to its document.
    fn apply(&mut self, p: Prepared, mut mapped: RowOut, done: &mut Vec<Done>) {
        let Prepared {
            i,
            row,
            class,
            extra,
            first,
        } = p;
        mapped.problems.extend(extra.map(|p| *p));
        let n = self.plan.header.len();
        match (&self.mode, class) {
            (Mode::Key, Class::Keyed(k)) => {
                let complete = self.last.get(&k).is_none_or(|&l| l <= i);
                let mut acc = self.open.remove(&k).unwrap_or_else(|| Acc::new(i, n));
                if !first {
                    self.map_changed(&acc, &row, &mut mapped);
                }
                acc.note_raw(&self.plan, &row);
                acc.add(&self.plan, mapped);
                if complete {
                    done.push(Done::Acc(acc, format!("group:{k}")));
                } else {
                    self.open.insert(k, acc);
                }
            }
            (Mode::Key, _) => {
                let mut acc = Acc::new(i, n);
                let names: Vec<&str> = self
                    .plan
                    .key
                    .iter()
                    .map(|&k| self.plan.headers.get(k).map_or("", |h| &**h))
                    .collect();
                mapped.problems.push(
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
                acc.add(&self.plan, mapped);
                done.push(Done::Acc(acc, key));
            }
            (Mode::Record, _) => match &mut self.record {
                Some((at, acc)) if *at == row.at => acc.add(&self.plan, mapped),
                _ => {
                    if let Some((at, acc)) = self.record.take() {
                        done.push(Done::Acc(acc, record_key(&at)));
                    }
                    let mut acc = Acc::new(i, n);
                    acc.add(&self.plan, mapped);
                    self.record = Some((row.at.clone(), acc));
                }
            },
            (Mode::PerRow, _) => {
                let mut acc = Acc::new(i, n);
                let key = row_key(&row.at);
                acc.add(&self.plan, mapped);
                done.push(Done::Acc(acc, key));
            }
        }
    }

    /// For a group's later row: map the document fields whose cells differ
    /// from the ones already seen.
    fn map_changed(&self, acc: &Acc, row: &SourceRow, mapped: &mut RowOut) {
        for (j, f) in self.plan.header.iter().enumerate() {
            let same = match &f.src {
                Src::Column { idx, .. } => acc.raw[j].as_ref() == Some(row.cell(*idx)),
                Src::Const(_) => true,
                Src::Template(_) => false,
            };
            if !same {
                mapped.header[j] = map_header_field(f, row, &mut mapped.problems);
            }
        }
    }

    /// End of the file: whatever is still open.
    pub(crate) fn finish(&mut self, out: &mut VecDeque<Draft>) {
        let done = self.rest();
        self.assemble(done, out);
    }

    /// End of the file: the documents still open, unassembled.
    fn rest(&mut self) -> Vec<Done> {
        let mut done = Vec::new();
        if let Some((at, acc)) = self.record.take() {
            done.push(Done::Acc(acc, record_key(&at)));
        }
        let mut rest: Vec<(String, Acc)> = self.open.drain().collect();
        rest.sort_by_key(|(_, a)| a.first);
        for (k, acc) in rest {
            done.push(Done::Acc(acc, format!("group:{k}")));
        }
        done
    }
}

/// Chunks at least this long are mapped in parallel. Reading is in small
/// chunks (cache-friendly) mapped on this thread: measured on the 1C
/// benchmark, parallel mapping cost more CPU than it saved, and validation
/// keeps the other cores busy downstream. In-memory batches (examples,
/// previews) of this size and more are mapped in parallel.
const PAR_MIN: usize = 4096;

/// Rows read per chunk in the second pass.
const CHUNK: usize = 64;

/// A row classified and ready to map.
struct Prepared {
    i: u64,
    row: SourceRow,
    class: Class,
    extra: Option<Box<Problem>>,
    /// The first row of its group (or not grouped): map document fields.
    first: bool,
}

enum Step {
    Row(Prepared),
    /// A row that could not be read: its own draft.
    Ready(Box<Draft>),
}

/// A completed document, to assemble.
enum Done {
    Draft(Box<Draft>),
    Acc(Acc, String),
}

fn file_name(at: &RowRef) -> String {
    std::path::Path::new(&*at.file)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| at.file.to_string())
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

fn text(v: &Val) -> String {
    match v {
        Val::Text(s) => s.clone(),
        other => other.to_string(),
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
    // Collected, then built into the map at once (cheaper than inserting
    // one by one); a later entry for a path wins, as an insert would.
    let mut origins: Vec<(String, CellRef)> = Vec::with_capacity(plan.header.len() + 4);
    let origin = |o: &mut Vec<(String, CellRef)>, path: String, cell: &Option<CellRef>| {
        if let Some(c) = cell {
            o.push((path, c.clone()));
        }
    };
    for (f, m) in plan.header.iter().zip(acc.header.iter()) {
        let Some(m) = m else { continue };
        let v = &m.val;
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
            (Target::Customer(name), _) => {
                let c = &mut d.customer;
                let s = Some(text(v));
                match *name {
                    "number" => c.number = s,
                    "name" => c.name = s,
                    "type" => match CustomerType::parse(&text(v).trim().to_lowercase()) {
                        Some(t) => c.kind = Some(t),
                        None => d.problems.push(
                            Problem::error(
                                "bad_customer_type",
                                f.path.clone(),
                                "unknown customer type",
                            )
                            .at(m.cell.as_ref())
                            .found(text(v))
                            .expected(format!("one of {}", CustomerType::ALL.join(", "))),
                        ),
                    },
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
        origin(&mut origins, f.path.clone(), &m.cell);
    }
    // Lines.
    for lo in acc.lines {
        let i = d.invoice.items.len();
        let fields = &plan.lines[lo.slot];
        let mut item = LineItem::default();
        let mut chk = LineChecks::default();
        let mut pct: Option<(Decimal, Option<CellRef>)> = None;
        for (f, m) in fields.iter().zip(lo.fields.iter()) {
            let Some(m) = m else { continue };
            let v = &m.val;
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
                (Target::Line("discount_percent"), Val::Dec(x)) => pct = Some((*x, m.cell.clone())),
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
            if !matches!(f.target, Target::Line("discount_percent")) {
                origin(&mut origins, f.path_at(i), &m.cell);
            }
        }
        if let Some((p, cell)) = pct {
            if !p.is_zero() {
                let base =
                    item.quantity.unwrap_or(Decimal::ONE) * item.unit_cost.unwrap_or_default();
                item.discounts = vec![AppliedRate::amount(round_money(
                    base * p / Decimal::ONE_HUNDRED,
                ))];
                origin(
                    &mut origins,
                    format!("items[{i}].discounts[0].amount"),
                    &cell,
                );
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
    d.origins = origins.into_iter().collect();
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
    // Payments: only those with an amount.
    let currency = d.invoice.currency.clone();
    let mut kept = Vec::new();
    for (i, mut p) in payments.into_iter().enumerate() {
        if p.amount.is_some_and(|a| !a.is_zero()) {
            if p.currency.is_none() {
                p.currency = currency.clone();
            }
            let n = kept.len();
            if n != i {
                // Renumber origins for dropped payments.
                let moved: Vec<(String, CellRef)> = d
                    .origins
                    .iter()
                    .filter(|(k, _)| k.starts_with(&format!("payments[{i}].")))
                    .map(|(k, v)| {
                        (
                            k.replacen(&format!("payments[{i}]"), &format!("payments[{n}]"), 1),
                            v.clone(),
                        )
                    })
                    .collect();
                d.origins
                    .retain(|k, _| !k.starts_with(&format!("payments[{i}].")));
                d.origins.extend(moved);
            }
            kept.push(p);
        } else {
            d.origins
                .retain(|k, _| !k.starts_with(&format!("payments[{i}].")));
        }
    }
    d.payments = kept;
    d
}

/// The drafts of the given files, in order; see the module docs for grouping.
pub struct Drafts {
    mapping: Mapping,
    files: Vec<PathBuf>,
    plans: Vec<Arc<Plan>>,
    detected: Vec<(PathBuf, Detected)>,
    next_file: usize,
    cur: Option<std::sync::mpsc::Receiver<Batch>>,
    queue: VecDeque<Draft>,
    stats: DraftStats,
    failed: bool,
}

impl std::fmt::Debug for Drafts {
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
        next_file: 0,
        cur: None,
        queue: VecDeque::new(),
        stats: DraftStats::default(),
        failed: false,
    })
}

impl Drafts {
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

    /// Start the next file: a worker thread reads it (both passes) and
    /// groups its rows; documents are assembled here, as they are asked for.
    fn start_file(&mut self) -> Result<bool, ReadError> {
        let Some(path) = self.files.get(self.next_file).cloned() else {
            return Ok(false);
        };
        let plan = self.plans[self.next_file].clone();
        self.next_file += 1;
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUED);
        let source = self.mapping.source().clone();
        let worker_path = path.clone();
        std::thread::Builder::new()
            .name("drafts".into())
            .spawn(move || work(&worker_path, &source, plan, &tx))
            .map_err(|e| {
                ReadError::file(&path, "failed to start a reader thread", Some(Box::new(e)))
            })?;
        self.cur = Some(rx);
        Ok(true)
    }
}

/// Batches of grouped rows waiting for the consumer, at most.
const QUEUED: usize = 8;

/// What the worker sends: completed documents (or the error that stopped
/// the file) and the counts of the rows behind them.
type Batch = (Result<Vec<Done>, ReadError>, DraftStats);

/// The worker: first pass (keys), then the second pass in chunks, sending
/// completed documents in order. Stops at a fatal error or when the
/// consumer is gone.
fn work(
    path: &std::path::Path,
    source: &read::SourceSpec,
    plan: Arc<Plan>,
    tx: &std::sync::mpsc::SyncSender<Batch>,
) {
    let fail = |e: ReadError| {
        let _ = tx.send((Err(e), DraftStats::default()));
    };
    let mut g = Grouper::new(plan.clone());
    if g.needs_first_pass() {
        let src = match read::open_projected(path, source, Some(plan.key_projection())) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        for (i, item) in src.enumerate() {
            if item.as_ref().is_err_and(ReadError::is_fatal) {
                return fail(
                    item.err()
                        .unwrap_or_else(|| ReadError::file(path, "failed to read", None)),
                );
            }
            g.note(i as u64, &item);
        }
    }
    let mut src = match read::open_projected(path, source, Some(plan.row_projection())) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let mut i = 0u64;
    loop {
        let mut items = Vec::with_capacity(CHUNK);
        for item in src.by_ref().take(CHUNK) {
            let fatal = item.as_ref().is_err_and(ReadError::is_fatal);
            items.push((i, item));
            i += 1;
            if fatal {
                break;
            }
        }
        if items.is_empty() {
            let _ = tx.send((Ok(g.rest()), DraftStats::default()));
            return;
        }
        let mut stats = DraftStats::default();
        let done = g.feed(items, &mut stats);
        let stop = done.is_err();
        if tx.send((done, stats)).is_err() || stop {
            return;
        }
    }
}

impl Iterator for Drafts {
    type Item = Result<Draft, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(d) = self.queue.pop_front() {
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
            let Ok((done, st)) = rx.recv() else {
                // The worker finished the file.
                self.cur = None;
                continue;
            };
            self.stats.rows_read += st.rows_read;
            self.stats.rows_skipped += st.rows_skipped;
            self.stats.row_errors += st.row_errors;
            match done {
                Ok(done) => {
                    let plan = &self.plans[self.next_file - 1];
                    self.queue.extend(done.into_iter().map(|d| match d {
                        Done::Draft(d) => *d,
                        Done::Acc(acc, key) => finalize(plan, acc, key),
                    }));
                }
                Err(e) => {
                    self.failed = true;
                    self.queue.clear();
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Drafts of rows held in memory (examples, previews), grouped as a file's.
pub fn drafts_from_rows(plan: Arc<Plan>, rows: Vec<SourceRow>) -> (Vec<Draft>, DraftStats) {
    let mut g = Grouper::new(plan);
    if g.needs_first_pass() {
        for (i, r) in rows.iter().enumerate() {
            g.note(i as u64, &Ok(r.clone()));
        }
    }
    let mut stats = DraftStats::default();
    let mut out = VecDeque::new();
    let items: Vec<(u64, Result<SourceRow, ReadError>)> = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i as u64, Ok(r)))
        .collect();
    // In-memory rows cannot fail fatally.
    let _ = g.feed_chunk(items, &mut stats, &mut out);
    g.finish(&mut out);
    stats.drafts = out.len() as u64;
    (out.into(), stats)
}
