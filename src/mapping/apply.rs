//! Row → fields: each compiled field takes its raw value (a cell, a
//! constant or a template), runs its steps, and parses to its type. A cell
//! that does not parse becomes a problem naming the cell, what was found and
//! what was expected; the row goes on.

use super::compile::{Field, Parse, Part, Plan, Replace, Src, Target, Ty};
use super::transform::{self, parse_bool, parse_date, parse_decimal, parse_integer};
use crate::model::{CellRef, DocKind, Problem, RowRef};
use crate::read::{Cell, SourceRow};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// A typed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Text(String),
    Date(NaiveDate),
    Dec(Decimal),
    Bool(bool),
    Rates(Vec<String>),
    Kind(DocKind),
    /// An id on the account.
    Int(i64),
    /// A moment, as Unix seconds.
    Moment(i64),
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Text(s) => f.write_str(s),
            Val::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Val::Dec(d) => write!(f, "{}", d.normalize()),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Rates(r) => f.write_str(&r.join(",")),
            Val::Kind(DocKind::Invoice) => f.write_str("invoice"),
            Val::Kind(DocKind::CreditNote) => f.write_str("credit_note"),
            Val::Int(i) => write!(f, "{i}"),
            Val::Moment(t) => match chrono::DateTime::<chrono::Utc>::from_timestamp(*t, 0) {
                Some(at) => write!(
                    f,
                    "{}",
                    at.with_timezone(&crate::model::date::TZ)
                        .format("%Y-%m-%d %H:%M:%S")
                ),
                None => write!(f, "{t}"),
            },
        }
    }
}

/// A field's value and the row it came from: its cell is there, in the
/// field's column ([`Field::column`]), when it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub val: Val,
    pub row: u64,
}

/// Why a field's value could not be made.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldErr {
    pub code: &'static str,
    pub message: String,
    pub found: String,
    pub expected: String,
}

impl FieldErr {
    pub fn problem(&self, path: &str, cell: Option<&CellRef>, row: &RowRef) -> Problem {
        Problem::error(self.code, path, self.message.clone())
            .at(cell)
            .at_row(Some(row))
            .found(self.found.clone())
            .expected(self.expected.clone())
    }
}

/// One line slot's values.
#[derive(Debug, Clone)]
pub struct LineOut {
    pub slot: usize,
    /// The source row it came from.
    pub row: u64,
    pub fields: Vec<Option<Mapped>>,
    /// (field index in the slot, error, cell).
    pub errors: Vec<(usize, FieldErr, Option<CellRef>)>,
}

/// A mapped row.
#[derive(Debug, Clone)]
pub struct RowOut {
    pub header: Vec<Option<Mapped>>,
    pub lines: Vec<LineOut>,
    pub problems: Vec<Problem>,
}

/// The cell a field's value comes from, on the row at `at`.
pub fn origin(f: &Field, at: &RowRef) -> Option<CellRef> {
    let (idx, name) = f.column?;
    Some(CellRef {
        row: at.clone(),
        column: Arc::from(name),
        col_idx: Some(idx),
    })
}

/// Evaluate a field on a row: `Ok(None)` when empty; the bool tells whether
/// the row held anything for it (before defaults).
pub fn eval(f: &Field, row: &SourceRow) -> Result<(Option<Val>, bool), Box<FieldErr>> {
    let raw: Cow<'_, Cell> = match &f.src {
        Src::Column { idx, .. } => Cow::Borrowed(row.cell(*idx)),
        Src::Const(c) => Cow::Borrowed(c),
        Src::Template(parts) => {
            let mut s = String::new();
            let mut any = false;
            for p in parts {
                match p {
                    Part::Lit(l) => s.push_str(l),
                    Part::Col { idx, .. } => {
                        let c = row.cell(*idx);
                        if !c.is_blank() {
                            any = true;
                        }
                        s.push_str(c.as_text().trim());
                    }
                }
            }
            Cow::Owned(if any {
                Cell::Text(s.into())
            } else {
                Cell::Empty
            })
        }
    };
    let raw_blank = raw.is_blank();
    let nonblank = f.from_row() && !raw_blank;
    let needs_text =
        !f.ops.is_empty() || !f.replace.is_empty() || f.capture.is_some() || f.lookup.is_some();
    let mut cell: Cow<'_, Cell> = raw;
    // Blank as read, unless the transforms below changed the text.
    let mut blank = raw_blank;
    if needs_text && !cell.is_empty() {
        // Work on borrowed text while the transforms leave it as it is.
        let orig: Option<&Cell> = match &cell {
            Cow::Borrowed(c @ Cell::Text(_)) => Some(*c),
            _ => None,
        };
        let mut s: Cow<'_, str> = match cell {
            Cow::Borrowed(c) => c.as_text(),
            Cow::Owned(Cell::Text(t)) => Cow::Owned(t.into_string()),
            Cow::Owned(c) => Cow::Owned(c.as_text().into_owned()),
        };
        for op in &f.ops {
            s = op.apply_cow(s);
        }
        for r in &f.replace {
            match r {
                Replace::Plain(from, to) if !from.is_empty() && s.contains(from.as_str()) => {
                    s = Cow::Owned(s.replace(from.as_str(), to));
                }
                Replace::Plain(..) => {}
                Replace::Regex(re, to) => {
                    let replaced = re.replace_all(&s, to.as_str());
                    if let Cow::Owned(o) = replaced {
                        s = Cow::Owned(o);
                    }
                }
            }
        }
        if let Some(re) = &f.capture {
            if !s.trim().is_empty() {
                let captured = re.captures(&s).map(|c| {
                    c.get(1)
                        .or_else(|| c.get(0))
                        .map(|m| m.as_str().to_string())
                        .unwrap_or_default()
                });
                match captured {
                    Some(c) => s = Cow::Owned(c),
                    None => {
                        return Err(Box::new(FieldErr {
                            code: "no_match",
                            message: "the value does not match the mapping's pattern".into(),
                            found: s.into_owned(),
                            expected: format!("text matching /{}/", re.as_str()),
                        }))
                    }
                }
            }
        }
        cell = match (orig, s) {
            (_, s) if s.is_empty() => Cow::Owned(Cell::Empty),
            (Some(o), Cow::Borrowed(b)) if b.len() == o.as_text().len() => Cow::Borrowed(o),
            (_, s) => Cow::Owned(Cell::Text(s.into())),
        };
    }
    if needs_text {
        blank = cell.is_blank();
    }
    if blank {
        match &f.default {
            Some(d) => cell = Cow::Owned(d.clone()),
            None => return Ok((None, nonblank)),
        }
    }
    if let Some(l) = &f.lookup {
        let key = cell.as_text();
        match l.get(&key) {
            Some(v) => cell = Cow::Owned(Cell::Text(v.into())),
            None => {
                return Err(Box::new(FieldErr {
                    code: "not_in_lookup",
                    message: "the value is not in the mapping's lookup table".into(),
                    found: key.into_owned(),
                    expected: l.keys_hint(),
                }))
            }
        }
    }
    let val = typed(f, &cell)?;
    Ok((val, nonblank))
}

fn number_cell(s: &str) -> Option<Decimal> {
    Decimal::from_str(s)
        .ok()
        .or_else(|| Decimal::from_scientific(s).ok())
}

/// An amount the API can hold (below 10¹²), or the problem
/// `amount_out_of_range` at its cell: checked before any arithmetic.
fn in_range(d: Decimal, text: impl FnOnce() -> String) -> Result<Decimal, FieldErr> {
    if crate::model::money::in_range(d) {
        return Ok(d);
    }
    Err(FieldErr {
        code: "amount_out_of_range",
        message: "the amount is beyond what the API can hold".into(),
        found: text(),
        expected: format!("an amount below {}", crate::model::money::AMOUNT_LIMIT_TEXT),
    })
}

fn typed(f: &Field, cell: &Cell) -> Result<Option<Val>, Box<FieldErr>> {
    let text = || cell.as_text().trim().to_string();
    let v = match &f.parse {
        // Rate ids are cut from the cell's text, not from a copy of it.
        Parse::Text if f.ty == Ty::Rates => Val::Rates(
            cell.as_text()
                .split([',', ';'])
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect(),
        ),
        Parse::Text => {
            let s = match cell {
                Cell::Text(s) => s.as_str().to_owned(),
                other => other.as_text().into_owned(),
            };
            match f.ty {
                Ty::Kind => Val::Kind(parse_kind(&s).ok_or_else(|| FieldErr {
                    code: "bad_kind",
                    message: "the document kind is not known".into(),
                    found: s.clone(),
                    expected: "invoice or credit_note".into(),
                })?),
                _ => Val::Text(s),
            }
        }
        Parse::Date(formats) => {
            let d = match cell {
                Cell::Date(d) => Some(*d),
                Cell::DateTime(t) => Some(t.date()),
                Cell::Number(n) if formats.contains(&transform::DateFormat::Excel) => {
                    n.parse::<f64>().ok().and_then(transform::excel_serial)
                }
                Cell::Text(s) => parse_date(s, formats),
                _ => None,
            };
            if let Some(d) = d {
                let (from, until) = f.years;
                if !(from..=until).contains(&d.year()) {
                    return Err(Box::new(FieldErr {
                        code: "date_out_of_range",
                        message: format!(
                            "the date is outside the years {from} to {until} (set `years` in the mapping's [limits] if such dates are meant)"
                        ),
                        found: {
                            let (shown, iso) = (cell.as_text(), d.format("%Y-%m-%d").to_string());
                            if shown == iso {
                                iso
                            } else {
                                format!("{shown} ({iso})")
                            }
                        },
                        expected: format!("a date from {from}-01-01 to {until}-12-31"),
                    }));
                }
            }
            match d {
                Some(d) if f.ty == Ty::Date => Val::Date(d),
                Some(d) => Val::Text(d.format("%Y-%m-%d").to_string()),
                None => {
                    return Err(Box::new(FieldErr {
                        code: "bad_date",
                        message: "the value is not a date".into(),
                        found: cell.as_text().into_owned(),
                        expected: format!(
                            "a date as {}",
                            formats
                                .iter()
                                .map(|f| f.describe())
                                .collect::<Vec<_>>()
                                .join(" or ")
                        ),
                    }))
                }
            }
        }
        Parse::Decimal(loc) => {
            let d = match cell {
                Cell::Number(n) => number_cell(n),
                Cell::Text(s) => parse_decimal(s, *loc),
                _ => None,
            };
            match d {
                Some(d) if f.ty == Ty::Decimal => Val::Dec(in_range(d, text)?),
                Some(d) => Val::Text(d.normalize().to_string()),
                None => {
                    return Err(Box::new(FieldErr {
                        code: "bad_decimal",
                        message: "the value is not a number".into(),
                        found: text(),
                        expected: loc.example().into(),
                    }))
                }
            }
        }
        Parse::Integer => {
            let i = match cell {
                Cell::Number(n) => number_cell(n)
                    .filter(|d| d.fract().is_zero())
                    .and_then(|d| i64::try_from(d).ok()),
                Cell::Text(s) => parse_integer(s),
                _ => None,
            };
            match i {
                Some(i) if f.ty == Ty::Decimal => Val::Dec(in_range(Decimal::from(i), text)?),
                Some(i) if f.ty == Ty::Id => Val::Int(i),
                Some(i) => Val::Text(i.to_string()),
                None => {
                    return Err(Box::new(FieldErr {
                        code: "bad_integer",
                        message: "the value is not a whole number".into(),
                        found: text(),
                        expected: "a whole number such as 12".into(),
                    }))
                }
            }
        }
        Parse::Moment => {
            let t = match cell {
                Cell::DateTime(t) => transform::local_moment(*t),
                Cell::Date(d) => d.and_hms_opt(0, 0, 0).and_then(transform::local_moment),
                Cell::Number(n) => n.parse::<f64>().ok().and_then(transform::excel_moment),
                Cell::Text(s) => transform::parse_moment(s),
                _ => None,
            };
            match t {
                Some(t) => Val::Moment(t),
                None => {
                    return Err(Box::new(FieldErr {
                        code: "bad_datetime",
                        message: "the value is not a date and time".into(),
                        found: text(),
                        expected: "a date and time such as 2026-12-03 09:33:10 (Chisinau)".into(),
                    }))
                }
            }
        }
        Parse::Bool(lang) => {
            let b = match cell {
                Cell::Bool(b) => Some(*b),
                Cell::Number(n) if n == "1" || n == "0" => Some(n == "1"),
                other => parse_bool(&other.as_text(), *lang),
            };
            match b {
                Some(b) if f.ty == Ty::Bool => Val::Bool(b),
                Some(b) => Val::Text(b.to_string()),
                None => {
                    let (yes, no) = lang.words();
                    return Err(Box::new(FieldErr {
                        code: "bad_bool",
                        message: "the value is not a yes/no word".into(),
                        found: text(),
                        expected: format!("one of {} or {}", yes.join("/"), no.join("/")),
                    }));
                }
            }
        }
    };
    Ok(Some(v))
}

/// `invoice` / `credit_note` and common spellings.
pub fn parse_kind(s: &str) -> Option<DocKind> {
    let k = s.trim().to_lowercase().replace(['-', ' '], "_");
    match k.as_str() {
        "invoice" | "factura" | "счет" | "счёт" | "реализация" => {
            Some(DocKind::Invoice)
        }
        "credit_note" | "creditnote" | "credit" | "nota_de_credit" | "возврат" => {
            Some(DocKind::CreditNote)
        }
        _ => None,
    }
}

/// Map one row with a plan: document fields, line slots, problems.
pub fn map_row(plan: &Plan, row: &SourceRow) -> RowOut {
    map_row_with(plan, row, true)
}

/// Map one document-level field of a row.
pub fn map_header_field(f: &Field, row: &SourceRow, problems: &mut Vec<Problem>) -> Option<Mapped> {
    match eval(f, row) {
        Ok((Some(val), _)) => Some(Mapped {
            val,
            row: row.at.row,
        }),
        Ok((None, _)) => None,
        Err(e) => {
            let cell = origin(f, &row.at);
            problems.push(e.problem(&f.path, cell.as_ref(), &row.at));
            None
        }
    }
}

/// As [`map_row`]; without `header`, document-level fields are left for
/// the caller (a group's later rows repeat them) and `header` is empty.
pub fn map_row_with(plan: &Plan, row: &SourceRow, header_fields: bool) -> RowOut {
    let mut problems = Vec::new();
    let header: Vec<Option<Mapped>> = if header_fields {
        plan.header
            .iter()
            .map(|f| map_header_field(f, row, &mut problems))
            .collect()
    } else {
        // Filled in by the caller for the fields it maps after all.
        Vec::new()
    };
    let mut lines = Vec::with_capacity(plan.lines.len());
    for (slot, fields) in plan.lines.iter().enumerate() {
        let mut out = LineOut {
            slot,
            row: row.at.row,
            fields: Vec::with_capacity(fields.len()),
            errors: Vec::new(),
        };
        let mut content = false;
        for (j, f) in fields.iter().enumerate() {
            let is_content = matches!(f.target, Target::Line(_));
            match eval(f, row) {
                Ok((v, nonblank)) => {
                    content |= nonblank && is_content;
                    out.fields.push(v.map(|val| Mapped {
                        val,
                        row: row.at.row,
                    }));
                }
                Err(e) => {
                    content = true;
                    out.errors.push((j, *e, origin(f, &row.at)));
                    out.fields.push(None);
                }
            }
        }
        if content {
            lines.push(out);
        }
    }
    RowOut {
        header,
        lines,
        problems,
    }
}
