//! `export --control-totals`: the count and the sums of the objects an
//! export writes, by currency and by month, so that a monthly export can be
//! ticked against the books. Invoices and credit notes sum their subtotal,
//! VAT (every tax applied, on the lines and on the document), total and
//! balance; payments their amount. Money is read from the exact JSON number
//! (as the columns read it) and added with checked arithmetic.
//!
//! The totals are a table of their own ([`ControlTotals::table`] and
//! [`ControlTotals::rows`]): the `Totals` sheet of an XLSX, or a
//! `NAME.totals.csv` beside any other output ([`totals_path`]). Each
//! currency's months come first, then its `Total` line.

use super::columns::{to_cell, Cell, Column, FieldPath, Format};
use super::layout::Table;
use super::resource::Resource;
use crate::model::date::from_unix;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The sheet (and the table) the totals are written to.
pub const SHEET: &str = "Totals";

/// The month of an object that has no date.
pub const NO_DATE: &str = "(no date)";

/// The `Total` line of a currency.
pub const TOTAL: &str = "Total";

/// The sums of one group of objects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    pub count: u64,
    /// Documents: subtotal, VAT, total, balance; payments: the amount alone.
    pub money: [Decimal; 4],
}

impl Sums {
    fn add(&mut self, other: &Sums) -> Option<()> {
        self.count = self.count.checked_add(other.count)?;
        for (a, b) in self.money.iter_mut().zip(other.money) {
            *a = a.checked_add(b)?;
        }
        Some(())
    }
}

/// The control totals of an export, filled one object at a time.
#[derive(Debug, Clone)]
pub struct ControlTotals {
    resource: Resource,
    /// (currency, month) → sums.
    groups: BTreeMap<(String, String), Sums>,
}

/// Why an object could not be counted: a sum overflowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overflow(pub String);

fn money(doc: &Value, field: &str) -> Decimal {
    match to_cell(doc.get(field), Format::Money) {
        Cell::Money(d) => d,
        _ => Decimal::ZERO,
    }
}

/// The VAT of a document: every tax applied, on its lines and on itself.
fn vat(doc: &Value) -> Option<Decimal> {
    let applied = |v: Option<&Value>| -> Vec<Decimal> {
        v.and_then(Value::as_array)
            .map(|rates| rates.iter().map(|r| money(r, "amount")).collect())
            .unwrap_or_default()
    };
    let lines = doc.get("items").and_then(Value::as_array);
    let mut sum = Decimal::ZERO;
    for a in lines
        .into_iter()
        .flatten()
        .flat_map(|l| applied(l.get("taxes")))
        .chain(applied(doc.get("taxes")))
    {
        sum = sum.checked_add(a)?;
    }
    Some(sum)
}

impl ControlTotals {
    /// Totals for objects of `resource`; `None` for one without amounts
    /// (customers).
    pub fn new(resource: Resource) -> Option<ControlTotals> {
        (resource != Resource::Customers).then(|| ControlTotals {
            resource,
            groups: BTreeMap::new(),
        })
    }

    fn is_payment(&self) -> bool {
        self.resource == Resource::Payments
    }

    /// Count one object written.
    pub fn add(&mut self, obj: &Value) -> Result<(), Overflow> {
        let number = || {
            obj.get("number")
                .or_else(|| obj.get("id"))
                .map(super::columns::value_text)
                .unwrap_or_default()
        };
        let currency = obj
            .get("currency")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_uppercase();
        let month = obj
            .get("date")
            .and_then(Value::as_i64)
            .and_then(from_unix)
            .map(|d| d.format("%Y-%m").to_string())
            .unwrap_or_else(|| NO_DATE.to_string());
        let one = if self.is_payment() {
            Sums {
                count: 1,
                money: [
                    money(obj, "amount"),
                    Decimal::ZERO,
                    Decimal::ZERO,
                    Decimal::ZERO,
                ],
            }
        } else {
            let vat = vat(obj).ok_or_else(|| Overflow(format!("the VAT of {}", number())))?;
            Sums {
                count: 1,
                money: [
                    money(obj, "subtotal"),
                    vat,
                    money(obj, "total"),
                    money(obj, "balance"),
                ],
            }
        };
        self.groups
            .entry((currency, month))
            .or_default()
            .add(&one)
            .ok_or_else(|| Overflow(format!("adding {}", number())))
    }

    /// The money columns: their headers.
    fn money_headers(&self) -> &'static [&'static str] {
        if self.is_payment() {
            &["Amount"]
        } else {
            &["Subtotal", "VAT", "Total", "Balance"]
        }
    }

    /// The table: currency, month, count, the sums.
    pub fn table(&self) -> Table {
        let col = |header: &str, format| Column {
            header: header.to_string(),
            field: FieldPath {
                line: false,
                segments: vec![header.to_string()],
            },
            format,
            width: None,
        };
        let count = if self.is_payment() {
            "Payments"
        } else {
            "Documents"
        };
        let mut columns = vec![
            col("Currency", Format::Text),
            col("Month", Format::Text),
            col(count, Format::Integer),
        ];
        columns.extend(self.money_headers().iter().map(|h| col(h, Format::Money)));
        Table {
            name: SHEET.to_string(),
            columns,
            per_line: false,
        }
    }

    /// The rows: for each currency its months in order, then its `Total`.
    pub fn rows(&self) -> Result<Vec<Vec<Cell>>, Overflow> {
        let n = self.money_headers().len();
        let row = |currency: &str, month: &str, s: &Sums| {
            let mut cells = vec![
                Cell::Text(currency.to_string()),
                Cell::Text(month.to_string()),
                Cell::Integer(i64::try_from(s.count).unwrap_or(i64::MAX)),
            ];
            cells.extend(s.money[..n].iter().map(|d| Cell::Money(*d)));
            cells
        };
        let mut out = Vec::new();
        let mut current: Option<(&str, Sums)> = None;
        for ((currency, month), s) in &self.groups {
            if let Some((c, total)) = &current {
                if c != currency {
                    out.push(row(c, TOTAL, total));
                    current = None;
                }
            }
            let (_, total) = current.get_or_insert((currency, Sums::default()));
            total
                .add(s)
                .ok_or_else(|| Overflow(format!("the {currency} total")))?;
            out.push(row(currency, month, s));
        }
        if let Some((c, total)) = &current {
            out.push(row(c, TOTAL, total));
        }
        Ok(out)
    }
}

/// Where the totals of a CSV (or JSON Lines) export go: `x.csv` →
/// `x.totals.csv`, beside it.
pub fn totals_path(output: &Path) -> PathBuf {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    output.with_file_name(format!("{stem}.totals.csv"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    fn text(rows: &[Vec<Cell>]) -> Vec<String> {
        rows.iter()
            .map(|r| r.iter().map(Cell::to_text).collect::<Vec<_>>().join(","))
            .collect()
    }

    #[test]
    fn documents_by_currency_then_month_with_a_total_each() {
        let mut t = ControlTotals::new(Resource::Invoices).unwrap();
        // 2024-01-05 and 2024-02-10, 00:00 Chisinau.
        let jan = 1704405600;
        let feb = 1707516000;
        for (date, cur, sub, tax, total) in [
            (jan, "mdl", "100.00", "20.00", "120.00"),
            (jan, "mdl", "0.10", "0.02", "0.12"),
            (feb, "mdl", "50", "4", "54"),
            (feb, "eur", "10.5", "0", "10.5"),
        ] {
            let doc: Value = serde_json::from_str(&format!(
                r#"{{"number":"A","currency":"{cur}","date":{date},"subtotal":{sub},"total":{total},"balance":{total},
                    "items":[{{"taxes":[{{"amount":{tax}}}]}}],"taxes":[]}}"#
            ))
            .unwrap();
            t.add(&doc).unwrap();
        }
        t.add(&json!({"currency": "mdl", "total": 1})).unwrap();
        let headers: Vec<_> = t.table().columns.iter().map(|c| c.header.clone()).collect();
        assert_eq!(
            headers,
            [
                "Currency",
                "Month",
                "Documents",
                "Subtotal",
                "VAT",
                "Total",
                "Balance"
            ]
        );
        assert_eq!(
            text(&t.rows().unwrap()),
            [
                "EUR,2024-02,1,10.50,0.00,10.50,10.50",
                "EUR,Total,1,10.50,0.00,10.50,10.50",
                "MDL,(no date),1,0.00,0.00,1.00,0.00",
                "MDL,2024-01,2,100.10,20.02,120.12,120.12",
                "MDL,2024-02,1,50.00,4.00,54.00,54.00",
                "MDL,Total,4,150.10,24.02,175.12,174.12",
            ]
        );
    }

    #[test]
    fn payments_sum_their_amount_and_customers_have_none() {
        let mut t = ControlTotals::new(Resource::Payments).unwrap();
        t.add(&json!({"currency": "mdl", "date": 1704405600, "amount": 10.005}))
            .unwrap();
        let rows = t.rows().unwrap();
        assert_eq!(rows[0][3], Cell::Money(dec!(10.005)));
        assert_eq!(t.table().columns.len(), 4);
        assert!(ControlTotals::new(Resource::Customers).is_none());
    }

    #[test]
    fn overflow_is_an_error_not_a_wrong_sum() {
        let mut t = ControlTotals::new(Resource::Payments).unwrap();
        let big = json!({"currency": "mdl", "amount": 79228162514264337593543950335u128});
        t.add(&big).unwrap();
        assert!(t.add(&big).is_err());
    }

    #[test]
    fn the_csv_goes_beside() {
        assert_eq!(
            totals_path(Path::new("out/inv-2026-10.csv")),
            Path::new("out/inv-2026-10.totals.csv")
        );
    }
}
