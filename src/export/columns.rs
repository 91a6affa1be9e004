//! Columns: a field path into an API object (`number`, `customer.tax_id`,
//! `metadata.source`, `line.amount`), a header and a format; and the typed
//! [`Cell`] each object yields for each column. Objects stay
//! `serde_json::Value`s, so money comes out of the exact JSON number text,
//! never through a float.

use crate::model::date::{from_unix, TZ};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

/// How a column's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Text as is (ids, numbers and IDNOs keep their leading zeros).
    Text,
    /// A decimal number with two decimals (`0.00` in XLSX).
    Money,
    /// A calendar date (Unix seconds read as a Chisinau date).
    Date,
    /// A date and time in Chisinau (`created_at`, `updated_at`).
    #[serde(alias = "date_time")]
    Datetime,
    /// A whole number.
    Integer,
    /// A decimal number as exact as the API sent it.
    Decimal,
    /// true / false.
    Boolean,
    /// Applied taxes (or an item's tax rates) as their rate ids, comma
    /// separated: `tva20`, `tva20, tva8`.
    Rates,
}

impl Format {
    pub const NAMES: [&'static str; 8] = [
        "text", "money", "date", "datetime", "integer", "decimal", "boolean", "rates",
    ];
}

/// One typed value, ready for any writer.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Money(Decimal),
    Decimal(Decimal),
    Integer(i64),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    Bool(bool),
}

impl Cell {
    /// The cell as text, as CSV writes it (before formula neutralisation).
    pub fn to_text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Money(d) => money_text(*d),
            Cell::Decimal(d) => d.normalize().to_string(),
            Cell::Integer(i) => i.to_string(),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::DateTime(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            Cell::Bool(b) => b.to_string(),
        }
    }

    /// An approximate display width in characters, for column widths.
    pub fn display_len(&self) -> usize {
        match self {
            Cell::Empty => 0,
            Cell::Text(s) => s.chars().count(),
            Cell::Date(_) => 10,
            Cell::DateTime(_) => 19,
            other => other.to_text().len(),
        }
    }
}

/// Money with at least two decimals, never fewer digits than the API sent.
pub fn money_text(d: Decimal) -> String {
    let mut d = d.normalize();
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

pub use crate::model::text::{looks_like_formula, neutralise_always as neutralise};

/// Where a column's value lives: in the document, or in one of its line items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    /// `line.<...>`: read from the line item, not the document.
    pub line: bool,
    pub segments: Vec<String>,
}

impl FieldPath {
    pub fn parse(s: &str) -> Option<FieldPath> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        let mut segments: Vec<String> = s.split('.').map(str::to_string).collect();
        if segments.iter().any(|seg| seg.is_empty()) {
            return None;
        }
        let line = segments[0] == "line";
        if line {
            segments.remove(0);
            if segments.is_empty() {
                return None;
            }
        }
        Some(FieldPath { line, segments })
    }

    /// Whether the path stands for one column per metadata key
    /// (`metadata.*`), expanded once the keys are known.
    pub fn is_metadata_columns(&self) -> bool {
        !self.line
            && self.segments.len() == 2
            && self.segments[0] == "metadata"
            && self.segments[1] == "*"
    }

    /// The path as written: `line.amount`, `customer.tax_id`.
    pub fn text(&self) -> String {
        let joined = self.segments.join(".");
        if self.line {
            format!("line.{joined}")
        } else {
            joined
        }
    }

    /// The value at this path in `doc` (or in `line` for line paths).
    pub fn get<'a>(&self, doc: &'a Value, line: Option<&'a Value>) -> Option<&'a Value> {
        let mut v = if self.line { line? } else { doc };
        let n = self.segments.len();
        for (i, seg) in self.segments.iter().enumerate() {
            match v {
                Value::Object(map) => v = map.get(seg)?,
                // `customer.id` on an unexpanded relation is the id itself.
                Value::Number(_) | Value::String(_) if i == n - 1 && seg == "id" => return Some(v),
                _ => return None,
            }
        }
        Some(v)
    }
}

/// A column of the output.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub header: String,
    pub field: FieldPath,
    pub format: Format,
    /// A width set by the mapping file (characters); else computed.
    pub width: Option<f64>,
}

impl Column {
    /// The cell this column takes from `doc` (and `line`).
    pub fn cell(&self, doc: &Value, line: Option<&Value>) -> Cell {
        to_cell(self.field.get(doc, line), self.format)
    }
}

fn decimal_of(n: &serde_json::Number) -> Option<Decimal> {
    let s = n.to_string();
    Decimal::from_str(&s)
        .or_else(|_| Decimal::from_scientific(&s))
        .ok()
}

/// A JSON value as text: scalars as they are, relations by id, applied
/// rates as `tva20: 3.85`, metadata as `key=value; key=value`.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => items
            .iter()
            .map(item_text)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(map) => match map.get("id") {
            Some(id) if !id.is_object() && !id.is_null() => value_text(id),
            _ => map
                .iter()
                .map(|(k, v)| format!("{k}={}", value_text(v)))
                .collect::<Vec<_>>()
                .join("; "),
        },
    }
}

fn item_text(v: &Value) -> String {
    let Value::Object(map) = v else {
        return value_text(v);
    };
    let name = [
        "tax_rate",
        "coupon",
        "invoice",
        "credit_note",
        "catalog_item",
        "id",
    ]
    .iter()
    .find_map(|k| map.get(*k).filter(|v| !v.is_null()))
    .map(value_text);
    let label = match (map.get("type").and_then(Value::as_str), name) {
        (Some(kind), Some(name)) if map.contains_key(kind) => format!("{kind} {name}"),
        (_, Some(name)) => name,
        (_, None) => String::new(),
    };
    match map.get("amount").filter(|a| !a.is_null()) {
        Some(a) if label.is_empty() => value_text(a),
        Some(a) => format!("{label}: {}", value_text(a)),
        None => label,
    }
}

/// The rate ids of applied rates (`{tax_rate: "tva20"}`, `{tax_rate: {id}}`,
/// or a bare id), in order.
fn rate_ids(items: &[Value]) -> String {
    items
        .iter()
        .filter_map(|r| match r {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => ["tax_rate", "coupon"]
                .iter()
                .find_map(|k| o.get(*k).filter(|v| !v.is_null()))
                .map(|v| match v {
                    Value::Object(rate) => rate.get("id").map(value_text).unwrap_or_default(),
                    other => value_text(other),
                }),
            _ => None,
        })
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sum of applied rates' amounts (a line's discounts); `None` when one
/// has none.
fn amounts_sum(items: &[Value]) -> Option<Decimal> {
    items.iter().try_fold(Decimal::ZERO, |acc, r| {
        let n = match r.get("amount")? {
            Value::Number(n) => decimal_of(n)?,
            Value::String(s) => Decimal::from_str(s.trim()).ok()?,
            _ => return None,
        };
        acc.checked_add(n)
    })
}

/// A JSON value as a cell of `format`. Values that do not fit the format
/// (text in a money column) are kept as text rather than lost.
pub fn to_cell(v: Option<&Value>, format: Format) -> Cell {
    let v = match v {
        None | Some(Value::Null) => return Cell::Empty,
        Some(v) => v,
    };
    let text = || {
        let s = value_text(v);
        if s.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(s)
        }
    };
    match (format, v) {
        (Format::Text, _) => text(),
        (Format::Rates, Value::Array(items)) => match rate_ids(items) {
            s if s.is_empty() => Cell::Empty,
            s => Cell::Text(s),
        },
        (Format::Rates, _) => text(),
        (Format::Money, Value::Array(items)) if items.is_empty() => Cell::Empty,
        (Format::Money, Value::Array(items)) => {
            amounts_sum(items).map(Cell::Money).unwrap_or_else(text)
        }
        (Format::Money, Value::Number(n)) => decimal_of(n).map(Cell::Money).unwrap_or_else(text),
        (Format::Money, Value::String(s)) => Decimal::from_str(s.trim())
            .map(Cell::Money)
            .unwrap_or_else(|_| text()),
        (Format::Decimal, Value::Number(n)) => {
            decimal_of(n).map(Cell::Decimal).unwrap_or_else(text)
        }
        (Format::Decimal, Value::String(s)) => Decimal::from_str(s.trim())
            .map(Cell::Decimal)
            .unwrap_or_else(|_| text()),
        (Format::Integer, Value::Number(n)) => n.as_i64().map(Cell::Integer).unwrap_or_else(text),
        (Format::Integer, Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Cell::Integer)
            .unwrap_or_else(|_| text()),
        (Format::Date, Value::Number(n)) => n
            .as_i64()
            .and_then(from_unix)
            .map(Cell::Date)
            .unwrap_or_else(text),
        (Format::Date, Value::String(s)) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map(Cell::Date)
            .unwrap_or_else(|_| text()),
        (Format::Datetime, Value::Number(n)) => n
            .as_i64()
            .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
            .map(|t| Cell::DateTime(t.with_timezone(&TZ).naive_local()))
            .unwrap_or_else(text),
        (Format::Boolean, Value::Bool(b)) => Cell::Bool(*b),
        (Format::Boolean, Value::Number(n)) => match n.as_i64() {
            Some(0) => Cell::Bool(false),
            Some(1) => Cell::Bool(true),
            _ => text(),
        },
        _ => text(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn money_is_exact() {
        let doc = parse(r#"{"total": 0.1, "big": 12345678901234567.89, "sub": 51.15}"#);
        let col = |f: &str| FieldPath::parse(f).unwrap();
        assert_eq!(
            to_cell(col("total").get(&doc, None), Format::Money),
            Cell::Money(dec!(0.1))
        );
        assert_eq!(
            to_cell(col("big").get(&doc, None), Format::Money),
            Cell::Money(dec!(12345678901234567.89))
        );
        assert_eq!(Cell::Money(dec!(0.1)).to_text(), "0.10");
        assert_eq!(Cell::Money(dec!(5)).to_text(), "5.00");
        assert_eq!(Cell::Money(dec!(1.125)).to_text(), "1.125");
        assert_eq!(Cell::Money(dec!(51.150)).to_text(), "51.15");
    }

    #[test]
    fn paths_reach_expanded_customers_metadata_and_lines() {
        let doc = json!({"customer": {"id": 9, "tax_id": "0012345678901"},
                         "metadata": {"source": "1c"}, "items": []});
        let plain = json!({"customer": 9});
        let p = |s| FieldPath::parse(s).unwrap();
        assert_eq!(
            p("customer.tax_id").get(&doc, None),
            Some(&json!("0012345678901"))
        );
        assert_eq!(p("customer.id").get(&doc, None), Some(&json!(9)));
        assert_eq!(p("customer.id").get(&plain, None), Some(&json!(9)));
        assert_eq!(p("customer.name").get(&plain, None), None);
        assert_eq!(
            to_cell(p("customer").get(&doc, None), Format::Text),
            Cell::Text("9".into())
        );
        assert_eq!(p("metadata.source").get(&doc, None), Some(&json!("1c")));
        assert_eq!(p("metadata.nope").get(&doc, None), None);
        let line = json!({"name": "Pâine", "quantity": 2});
        let lp = p("line.quantity");
        assert!(lp.line);
        assert_eq!(lp.text(), "line.quantity");
        assert_eq!(lp.get(&doc, Some(&line)), Some(&json!(2)));
        assert_eq!(lp.get(&doc, None), None);
        assert!(FieldPath::parse("a..b").is_none());
        assert!(FieldPath::parse("line").is_none());
    }

    #[test]
    fn cells_by_format() {
        assert_eq!(
            to_cell(Some(&json!(1704405600)), Format::Date),
            Cell::Date(NaiveDate::from_ymd_opt(2024, 1, 5).unwrap())
        );
        assert_eq!(
            to_cell(Some(&json!(1704405600)), Format::Datetime),
            Cell::DateTime(
                NaiveDate::from_ymd_opt(2024, 1, 5)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
            )
        );
        assert_eq!(
            to_cell(Some(&json!("0012")), Format::Text),
            Cell::Text("0012".into())
        );
        assert_eq!(
            to_cell(Some(&json!(42)), Format::Text),
            Cell::Text("42".into())
        );
        assert_eq!(
            to_cell(Some(&json!("42")), Format::Integer),
            Cell::Integer(42)
        );
        assert_eq!(
            to_cell(Some(&json!("n/a")), Format::Money),
            Cell::Text("n/a".into())
        );
        assert_eq!(
            to_cell(Some(&json!(true)), Format::Boolean),
            Cell::Bool(true)
        );
        assert_eq!(to_cell(None, Format::Money), Cell::Empty);
        assert_eq!(to_cell(Some(&Value::Null), Format::Text), Cell::Empty);
        assert_eq!(
            to_cell(Some(&json!({"a": "1", "b": "x"})), Format::Text),
            Cell::Text("a=1; b=x".into())
        );
        let taxes = parse(r#"[{"id":3,"object":"tax","amount":3.85,"tax_rate":"tva20"}]"#);
        assert_eq!(value_text(&taxes), "tva20: 3.85");
        let two = parse(
            r#"[{"id":3,"object":"tax","amount":3.85,"tax_rate":{"id":"tva20","value":20}},
                {"id":4,"object":"tax","amount":0.5,"tax_rate":"tva8"}]"#,
        );
        assert_eq!(
            to_cell(Some(&two), Format::Rates),
            Cell::Text("tva20, tva8".into())
        );
        assert_eq!(to_cell(Some(&json!([])), Format::Rates), Cell::Empty);
        let discounts = parse(
            r#"[{"id":5,"object":"discount","amount":1.5,"coupon":null},{"id":6,"amount":0.25}]"#,
        );
        assert_eq!(
            to_cell(Some(&discounts), Format::Money),
            Cell::Money(dec!(1.75))
        );
        assert_eq!(to_cell(Some(&json!([])), Format::Money), Cell::Empty);
        let applied = parse(r#"[{"type":"invoice","invoice":12,"amount":50}]"#);
        assert_eq!(value_text(&applied), "invoice 12: 50");
    }

    #[test]
    fn formulas_are_neutralised() {
        for f in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert!(looks_like_formula(f));
            assert_eq!(neutralise(f), format!("'{f}"));
        }
        for ok in ["SRL Alfa", "", "1=1", "'quoted"] {
            assert_eq!(neutralise(ok), ok);
        }
    }
}
