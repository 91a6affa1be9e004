//! Each rule with a passing and a failing draft; order under parallelism.
//!
//! Here: the fixtures (a good draft, the problems of a draft) and what
//! holds for every rule; the rules' tests by area in `document`,
//! `customer`, `lines`, `reconcile` and `payments`; across drafts (order,
//! duplicate numbers, outcomes for reports) in `batch`.

mod batch;
mod customer;
mod document;
mod lines;
mod payments;
mod reconcile;

use super::*;
use crate::model::{
    AppliedRate, CellRef, Checks, Customer, Invoice, LineChecks, LineItem, Origins, Payment,
    Severity,
};
pub(super) use crate::model::{DocKind, RowRef};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::sync::Arc;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn rules() -> Rules {
    Rules {
        today: d(2025, 6, 1),
        ..Rules::default()
    }
}

fn row(n: u64) -> RowRef {
    RowRef {
        file: Arc::from("in.csv"),
        sheet: None,
        row: n,
    }
}

fn cell(n: u64, col: &str, idx: usize) -> CellRef {
    CellRef {
        row: row(n),
        column: Arc::from(col),
        col_idx: Some(idx),
    }
}

/// A valid two-line invoice from rows 5 and 6, every field with its cell.
fn good() -> Draft {
    let mut origins = Origins::default();
    for (f, r, c, i) in [
        ("number", 5, "Nr", 0),
        ("date", 5, "Data", 1),
        ("due_date", 5, "Scadenta", 2),
        ("currency", 5, "Valuta", 3),
        ("customer.name", 5, "Client", 4),
        ("customer.tax_id", 5, "IDNO", 5),
        ("customer.email", 5, "Email", 6),
        ("items[0].name", 5, "Produs", 7),
        ("items[0].quantity", 5, "Cant", 8),
        ("items[0].unit_cost", 5, "Pret", 9),
        ("items[0].taxes", 5, "TVA", 10),
        ("checks.lines[0].net", 5, "Suma", 11),
        ("checks.lines[0].vat", 5, "SumaTVA", 12),
        ("items[1].name", 6, "Produs", 7),
        ("items[1].quantity", 6, "Cant", 8),
        ("items[1].unit_cost", 6, "Pret", 9),
        ("items[1].taxes", 6, "TVA", 10),
        ("checks.total", 6, "Total", 13),
    ] {
        origins.insert(f, &cell(r, c, i));
    }
    Draft {
        source_key: "F-1".into(),
        rows: vec![row(5), row(6)],
        kind: DocKind::Invoice,
        invoice: Invoice {
            number: Some("F-1".into()),
            currency: Some("MDL".into()),
            date: Some(d(2024, 3, 1)),
            due_date: Some(d(2024, 3, 31)),
            items: vec![
                LineItem {
                    name: Some("Pâine".into()),
                    quantity: Some(dec!(2)),
                    unit_cost: Some(dec!(1000.50)),
                    taxes: vec![AppliedRate::tax("tva20")],
                    ..Default::default()
                },
                LineItem {
                    name: Some("Lapte".into()),
                    quantity: Some(dec!(0.5)),
                    unit_cost: Some(dec!(2.01)),
                    taxes: vec![AppliedRate::tax("tva8")],
                    ..Default::default()
                },
            ],
            metadata: [("source".to_string(), "1c".to_string())].into(),
            ..Default::default()
        },
        customer: Customer {
            name: Some("SRL Alfa".into()),
            number: Some("C-1".into()),
            tax_id: Some("1008600038413".into()),
            email: Some("contabil@alfa.md".into()),
            ..Default::default()
        },
        match_on: MatchOn::Number,
        payments: vec![],
        checks: Checks {
            lines: vec![
                LineChecks {
                    net: Some(dec!(2001.00)),
                    vat: Some(dec!(400.20)),
                    gross: Some(dec!(2401.20)),
                },
                LineChecks::default(),
            ],
            subtotal: None,
            tolerance: None,
            tax: None,
            total: None,
        },
        origins,
        problems: vec![],
        ..Default::default()
    }
}

/// The problems of a draft, as `(code, field)` pairs.
fn problems(draft: Draft) -> Vec<(&'static str, String)> {
    let r = rules();
    problems_with(draft, &r)
}

fn problems_with(draft: Draft, r: &Rules) -> Vec<(&'static str, String)> {
    match validate_one(draft, r) {
        Ok(v) => v
            .warnings()
            .iter()
            .map(|p| (p.code, p.field.clone()))
            .collect(),
        Err(rej) => rej
            .problems
            .iter()
            .map(|p| (p.code, p.field.clone()))
            .collect(),
    }
}

fn rejected(draft: Draft) -> Rejection {
    validate_one(draft, &rules()).expect_err("should be rejected")
}

fn has(ps: &[(&'static str, String)], code: &str, field: &str) -> bool {
    ps.iter().any(|(c, f)| *c == code && f == field)
}

#[test]
fn the_good_draft_is_valid_without_warnings() {
    let v = validate_one(good(), &rules()).expect("valid");
    assert!(v.warnings().is_empty(), "{:?}", v.warnings());
    assert_eq!(v.invoice.number.as_deref(), Some("F-1"));
}

#[test]
fn mapping_problems_are_kept_and_reject() {
    let mut dr = good();
    dr.problems.push(
        Problem::error("bad_decimal", "items[0].quantity", "not a number")
            .at(Some(&cell(5, "Cant", 8))),
    );
    let rej = rejected(dr);
    assert_eq!(rej.problems[0].code, "bad_decimal");
    assert_eq!(rej.draft.problems, rej.problems);
}

#[test]
fn a_field_the_mapping_could_not_fill_is_reported_once() {
    let mut dr = good();
    dr.invoice.date = None;
    dr.problems.push(
        Problem::error("bad_date", "date", "not a date")
            .found("31.06.2024")
            .at(Some(&cell(5, "Data", 1))),
    );
    let rej = rejected(dr);
    let codes: Vec<&str> = rej.problems.iter().map(|p| p.code).collect();
    assert_eq!(codes, ["bad_date"]);
}

#[test]
fn decimals_ignore_trailing_zeros() {
    assert_eq!(
        Decimal::from_str_exact("1.50").unwrap().normalize().scale(),
        1
    );
}
