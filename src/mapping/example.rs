//! `[[example]]` blocks: rows in, the payload subset they must produce.
//! Also the readable view of a draft ([`draft_view`]) used by examples and
//! by `mapping check --sample` previews: dates as `YYYY-MM-DD`, decimals as
//! exact JSON numbers.

use super::compile::toml_cell;
use super::group::drafts_from_rows;
use super::Mapping;
use crate::model::{money, Checks, DocKind, Draft, RowRef};
use crate::read::SourceRow;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::str::FromStr;
use std::sync::Arc;

/// The result of one example.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExampleOutcome {
    /// 1-based position in the file.
    pub index: usize,
    pub name: String,
    pub passed: bool,
    /// What differed: `items[0].quantity: expected 2, got 3`.
    pub failures: Vec<String>,
    /// The documents the rows produced, as compared.
    pub got: Value,
}

fn dec(d: &Option<Decimal>) -> Value {
    match d {
        Some(d) => serde_json::to_value(DecJson(*d)).unwrap_or(Value::Null),
        None => Value::Null,
    }
}

struct DecJson(Decimal);

impl serde::Serialize for DecJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        money::num::serialize(&self.0, s)
    }
}

fn date(d: &Option<chrono::NaiveDate>) -> Value {
    d.map_or(Value::Null, |d| {
        Value::String(d.format("%Y-%m-%d").to_string())
    })
}

fn strip_nulls(v: &mut Value) {
    if let Value::Object(m) = v {
        m.retain(|_, x| !x.is_null());
        for x in m.values_mut() {
            strip_nulls(x);
        }
    } else if let Value::Array(a) = v {
        for x in a {
            strip_nulls(x);
        }
    }
}

fn checks_view(c: &Checks) -> Value {
    json!({
        "subtotal": dec(&c.subtotal),
        "tax": dec(&c.tax),
        "total": dec(&c.total),
        "lines": c.lines.iter().map(|l| json!({"net": dec(&l.net), "vat": dec(&l.vat), "gross": dec(&l.gross)})).collect::<Vec<_>>(),
    })
}

/// A draft as people read it (and examples compare it).
pub fn draft_view(d: &Draft) -> Value {
    let mut inv = serde_json::to_value(&d.invoice).unwrap_or_else(|_| json!({}));
    if let Value::Object(m) = &mut inv {
        m.insert("date".into(), date(&d.invoice.date));
        m.insert("due_date".into(), date(&d.invoice.due_date));
    }
    let payments: Vec<Value> = d
        .payments
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p).unwrap_or_else(|_| json!({}));
            if let Value::Object(m) = &mut v {
                m.insert("date".into(), date(&p.date));
            }
            v
        })
        .collect();
    let mut out = Map::new();
    out.insert("source_key".into(), Value::String(d.source_key.clone()));
    out.insert(
        "kind".into(),
        Value::String(match d.kind {
            DocKind::Invoice => "invoice".into(),
            DocKind::CreditNote => "credit_note".into(),
        }),
    );
    if let Value::Object(m) = inv {
        out.extend(m);
    }
    out.insert(
        "customer".into(),
        serde_json::to_value(&d.customer).unwrap_or(Value::Null),
    );
    out.insert(
        "match_on".into(),
        Value::String(match d.match_on {
            crate::model::MatchOn::Number => "number".into(),
            crate::model::MatchOn::TaxId => "tax_id".into(),
        }),
    );
    out.insert("payments".into(), Value::Array(payments));
    out.insert("checks".into(), checks_view(&d.checks));
    out.insert(
        "rows".into(),
        Value::Array(d.rows.iter().map(|r| json!(r.row)).collect()),
    );
    out.insert(
        "problems".into(),
        Value::Array(
            d.problems
                .iter()
                .map(|p| Value::String(format!("{}: {}", p.code, p)))
                .collect(),
        ),
    );
    let mut v = Value::Object(out);
    strip_nulls(&mut v);
    v
}

fn toml_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => serde_json::Number::from_str(&crate::read::sheet::number_text(*f))
            .map(Value::Number)
            .unwrap_or(Value::Null),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.iter().map(|(k, v)| (k.clone(), toml_json(v))).collect())
        }
    }
}

fn leaf_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Compare `expected` (a subset) with `got`; push differences.
pub fn compare(path: &str, expected: &Value, got: &Value, out: &mut Vec<String>) {
    let here = |p: &str| {
        if p.is_empty() {
            "(document)".to_string()
        } else {
            p.to_string()
        }
    };
    match (expected, got) {
        (Value::Object(e), Value::Object(g)) => {
            for (k, ev) in e {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match g.get(k) {
                    Some(gv) => compare(&p, ev, gv, out),
                    None => out.push(format!("{p}: expected {}, got nothing", short(ev))),
                }
            }
        }
        (Value::Array(e), Value::Array(g)) => {
            if e.len() != g.len() {
                out.push(format!(
                    "{}: expected {} entries, got {}",
                    here(path),
                    e.len(),
                    g.len()
                ));
            }
            for (i, (ev, gv)) in e.iter().zip(g.iter()).enumerate() {
                compare(&format!("{path}[{i}]"), ev, gv, out);
            }
        }
        (e, g) => {
            let (Some(et), Some(gt)) = (leaf_text(e), leaf_text(g)) else {
                out.push(format!(
                    "{}: expected {}, got {}",
                    here(path),
                    short(e),
                    short(g)
                ));
                return;
            };
            let same = match (Decimal::from_str(&et), Decimal::from_str(&gt)) {
                (Ok(a), Ok(b)) => a == b,
                _ => et == gt,
            };
            if !same {
                out.push(format!(
                    "{}: expected {}, got {}",
                    here(path),
                    short(e),
                    short(g)
                ));
            }
        }
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        format!("{}...", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

/// Run every `[[example]]` of a mapping.
pub fn run_examples(mapping: &Mapping) -> Vec<ExampleOutcome> {
    let mut outcomes = Vec::new();
    for (n, ex) in mapping.spec().example.iter().enumerate() {
        let index = n + 1;
        let name = ex
            .name
            .clone()
            .unwrap_or_else(|| format!("example {index}"));
        // The columns: those the mapping reads (absent ones are empty), then the rows' own.
        let mut headers: Vec<String> = super::compile::compile(mapping, None)
            .map(|p| p.referenced)
            .unwrap_or_default();
        for r in &ex.rows {
            for k in r.keys() {
                if !headers.contains(k) {
                    headers.push(k.clone());
                }
            }
        }
        let label = format!("{} example {index}", mapping.path().display());
        let plan = match mapping.compile_for(&headers, &format!("example {index}")) {
            Ok(p) => Arc::new(p),
            Err(e) => {
                outcomes.push(ExampleOutcome {
                    index,
                    name,
                    passed: false,
                    failures: vec![e.to_string()],
                    got: Value::Null,
                });
                continue;
            }
        };
        let file: Arc<str> = Arc::from(label.as_str());
        // With nested JSON lines, an example's rows are the lines of one record.
        let one_record = plan.group_by_record;
        let rows: Vec<SourceRow> = ex
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| SourceRow {
                at: RowRef {
                    file: file.clone(),
                    sheet: None,
                    row: if one_record { 1 } else { i as u64 + 1 },
                },
                cells: headers
                    .iter()
                    .map(|h| r.get(h).and_then(toml_cell).unwrap_or_default())
                    .collect(),
            })
            .collect();
        let (drafts, stats) = drafts_from_rows(plan, rows);
        let views: Vec<Value> = drafts.iter().map(draft_view).collect();
        let mut failures = Vec::new();
        match &ex.expect {
            Some(toml::Value::Array(list)) => {
                let e = Value::Array(list.iter().map(toml_json).collect());
                compare("documents", &e, &Value::Array(views.clone()), &mut failures);
            }
            Some(t @ toml::Value::Table(_)) => {
                if views.len() != 1 {
                    failures.push(format!("expected 1 document, got {}", views.len()));
                }
                if let Some(v) = views.first() {
                    compare("", &toml_json(t), v, &mut failures);
                }
            }
            Some(_) => failures.push("`expect` is a table or a list of tables".into()),
            None => {}
        }
        let mut codes: Vec<&str> = drafts
            .iter()
            .flat_map(|d| d.problems.iter().map(|p| p.code))
            .collect();
        codes.sort_unstable();
        codes.dedup();
        let want: Vec<String> = {
            let mut w = ex.problems.clone().unwrap_or_default();
            w.sort();
            w.dedup();
            w
        };
        if codes.iter().map(|s| s.to_string()).collect::<Vec<_>>() != want {
            let all: Vec<String> = drafts
                .iter()
                .flat_map(|d| d.problems.iter().map(|p| p.to_string()))
                .collect();
            failures.push(format!(
                "problems: expected [{}], got [{}]{}",
                want.join(", "),
                codes.join(", "),
                if all.is_empty() {
                    String::new()
                } else {
                    format!("\n      {}", all.join("\n      "))
                }
            ));
        }
        if let Some(s) = ex.skipped {
            if s != stats.rows_skipped {
                failures.push(format!(
                    "skipped rows: expected {s}, got {}",
                    stats.rows_skipped
                ));
            }
        }
        outcomes.push(ExampleOutcome {
            index,
            name,
            passed: failures.is_empty(),
            failures,
            got: Value::Array(views),
        });
    }
    outcomes
}
