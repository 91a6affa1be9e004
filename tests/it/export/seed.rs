//! Seeding the emulator through its HTTP API, and reading outputs back.
#![allow(dead_code)]

use crate::support::{Api, TestEmulator};
use chrono::NaiveDate;
use facturare_etl::api::{ApiKey, Client, ClientConfig, Credentials};
use facturare_etl::model::date::to_unix;
use serde_json::{json, Value};

/// A client for the emulator that gives up quickly (one retry).
pub fn client(emu: &TestEmulator) -> Client {
    let url = url::Url::parse(emu.url()).expect("emulator URL");
    Client::new(ClientConfig {
        max_retries: 1,
        ..ClientConfig::new(url, Credentials::ApiKey(ApiKey::new(emu.key())))
    })
    .expect("a client")
}

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

pub async fn customer(api: &Api, body: Value) -> Value {
    api.create("/customers", body).await
}

/// An invoice for `customer` dated `date` with three lines.
pub fn invoice_body(customer: i64, number: &str, date: NaiveDate) -> Value {
    json!({
        "customer": customer,
        "number": number,
        "date": to_unix(date),
        "currency": "mdl",
        "items": [
            {"name": "Pâine", "quantity": 2, "unit_cost": 10.25},
            {"name": "Lapte", "quantity": 1, "unit_cost": 18.9},
            {"name": "Servicii", "quantity": 3, "unit_cost": 100}
        ],
        "metadata": {"source": "test"}
    })
}

/// `n` invoices numbered `INV-00001`.. for one customer, ten at a time.
pub async fn invoices(api: &Api, customer: i64, n: usize, date: NaiveDate) -> Vec<Value> {
    let mut out = Vec::with_capacity(n);
    let numbers: Vec<String> = (1..=n).map(|i| format!("INV-{i:05}")).collect();
    for chunk in numbers.chunks(10) {
        let made = futures::future::join_all(
            chunk
                .iter()
                .map(|num| api.create("/invoices", invoice_body(customer, num, date))),
        )
        .await;
        out.extend(made);
    }
    out
}

/// The rows of a CSV file (header excluded), as strings.
pub fn csv_rows(path: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new()
        .from_path(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let header = r
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = r
        .records()
        .map(|rec| rec.expect("a record").iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// The files in a directory (names), sorted.
pub fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}
