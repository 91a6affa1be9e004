//! Document assembly: a completed document's rows mapped in order (a later
//! row's document fields only where its cells differ from the ones already
//! seen), the rows' disagreements on document fields reported, and the
//! mapped fields put together into a [`Draft`]: invoice, customer, lines
//! (percent discounts worked out), payments with an amount, the origin of
//! every field, and credit notes told by their kind or a negative total.

use super::Done;
use crate::mapping::apply::{map_header_field, map_row_with, origin, LineOut, Mapped, RowOut, Val};
use crate::mapping::compile::{Plan, Src, Target};
use crate::model::{
    round_money, AppliedRate, CellRef, Computed, CustomerType, DocKind, Draft, FieldPath,
    LineChecks, LineItem, Origins, Payment, Problem, RowRef,
};
use crate::read::Cell;
use crate::read::SourceRow;
use rust_decimal::Decimal;
use std::sync::Arc;

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

/// Map a completed document's rows, in order, and assemble its draft.
pub(super) fn build(plan: &Plan, done: Done) -> Draft {
    let (doc, key) = match done {
        Done::Draft(d) => return *d,
        Done::Rows(doc, key) => (doc, key),
    };
    if let Some(first) = doc.members.first() {
        crate::crash::working_on(&first.row.at, crate::crash::Stage::Map);
    }
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
pub(super) fn build_all(plan: &Plan, done: Vec<Done>) -> Vec<Draft> {
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
        record: plan.record,
        scope: plan.scope.clone(),
        ..Default::default()
    };
    d.checks.tolerance = plan.tolerance;
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
        let Some(mut m) = m else {
            // A blank customer cell still has a place: where the batch's
            // record fills it from, or where the missing value belongs.
            if let (Target::Customer(_), Some((col, name))) = (&f.target, f.column) {
                origins.push_at(f.origin, &at, at.row, Some(col), name);
            }
            continue;
        };
        // Text moves into the payload rather than being copied.
        let mut owned = take_text(&mut m.val);
        let v = &m.val;
        let mut text = |_: &Val| owned.take().unwrap_or_else(|| v.to_string());
        let inv = &mut d.invoice;
        match (&f.target, v) {
            (Target::Invoice("kind"), Val::Kind(k)) => d.kind = *k,
            (Target::Invoice("id"), Val::Int(x)) => inv.id = Some(*x),
            (Target::Invoice("updated_at"), Val::Moment(t)) => inv.updated_at = Some(*t),
            (Target::Customer("id"), Val::Int(x)) => d.customer.id = Some(*x),
            (Target::Customer("updated_at"), Val::Moment(t)) => d.customer.updated_at = Some(*t),
            (Target::Computed(k), _) => d.computed.push(Computed {
                path: k.clone(),
                text: text(v),
            }),
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
            let Some(mut m) = m else {
                // A blank quantity or unit cost is warned about at its cell.
                if let (Target::Line("quantity" | "unit_cost"), Some((col, name))) =
                    (&f.target, f.column)
                {
                    origins.push_at(f.origin.at(i), &at, lo.row, Some(col), name);
                }
                continue;
            };
            let mut owned = take_text(&mut m.val);
            // A line's rate ids, moved into it rather than copied (only for
            // the arm below that takes them: any other keeps its value).
            let rates = match (&f.target, &mut m.val) {
                (Target::Line("taxes"), Val::Rates(r)) => std::mem::take(r),
                _ => Vec::new(),
            };
            let v = &m.val;
            let mut text = |_: &Val| owned.take().unwrap_or_else(|| v.to_string());
            match (&f.target, v) {
                (Target::Line("id"), Val::Int(x)) => item.id = Some(*x),
                (Target::LineComputed(k), _) => d.computed.push(Computed {
                    path: format!("items[{i}].{k}"),
                    text: text(v),
                }),
                (Target::Line("name"), _) => item.name = Some(text(v)),
                (Target::Line("description"), _) => item.description = Some(text(v)),
                (Target::Line("catalog_item"), _) => item.catalog_item = Some(text(v)),
                (Target::Line("type"), _) => item.kind = Some(text(v)),
                (Target::Line("quantity"), Val::Dec(x)) => item.quantity = Some(*x),
                (Target::Line("unit_cost"), Val::Dec(x)) => item.unit_cost = Some(*x),
                (Target::Line("taxes"), Val::Rates(_)) => {
                    item.taxes.reserve_exact(rates.len());
                    for id in rates {
                        if id.eq_ignore_ascii_case("exempt") {
                            item.taxable = Some(false);
                            item.metadata.insert("vat".into(), "exempt".into());
                        } else {
                            item.taxes.push(AppliedRate::tax(id));
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
                // Checked: the amounts are in range, their product may not be.
                let discount = item
                    .quantity
                    .unwrap_or(Decimal::ONE)
                    .checked_mul(item.unit_cost.unwrap_or_default())
                    .and_then(|base| base.checked_mul(p))
                    .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
                    .map(round_money)
                    .filter(|d| crate::model::money::in_range(*d));
                match discount {
                    Some(amount) => {
                        item.discounts = vec![AppliedRate::amount(amount)];
                        if let Some(c) = &cell {
                            origins.insert(&format!("items[{i}].discounts[0].amount"), c);
                        }
                    }
                    None => d.problems.push(
                        Problem::error(
                            "amount_out_of_range",
                            format!("items[{i}].discounts[0].amount"),
                            "the discount (quantity × unit price × percent) is beyond what the API can hold",
                        )
                        .at(cell.as_ref())
                        .at_row(Some(&at_row(lo.row)))
                        .found(format!("{p}%"))
                        .expected(format!(
                            "a discount below {}",
                            crate::model::money::AMOUNT_LIMIT_TEXT
                        )),
                    ),
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
    // Checked: a sum that overflows (validation reports its amounts) is
    // taken as no sign at all.
    let total = d.checks.total.or_else(|| {
        d.invoice.items.iter().try_fold(Decimal::ZERO, |acc, it| {
            let q = it.quantity.unwrap_or(Decimal::ONE);
            acc.checked_add(q.checked_mul(it.unit_cost.unwrap_or_default())?)
        })
    });
    let negative = total.is_some_and(|t| t < Decimal::ZERO);
    if negative && (plan.credit_note_when_negative || d.kind == DocKind::CreditNote) {
        d.kind = DocKind::CreditNote;
        for it in &mut d.invoice.items {
            // The product's sign, without the product.
            let (q, c) = (
                it.quantity.unwrap_or(Decimal::ONE),
                it.unit_cost.unwrap_or_default(),
            );
            let neg =
                !q.is_zero() && !c.is_zero() && (q.is_sign_negative() != c.is_sign_negative());
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
