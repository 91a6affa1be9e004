//! The spreadsheet round trip, the real binary against the emulator over
//! loopback: invoices seeded through the API, exported, edited as Excel or
//! LibreOffice would leave the file (`edit`), imported back with no
//! mapping, compared with the account, imported again (no write request),
//! a conflict, a rollback; customers the same way; and our older exports.
//!
//! - this file: the seeded account and running the binary against it;
//! - `edit`: reading a sheet of an export and writing it back the way a
//!   person's spreadsheet program does;
//! - `invoices`, `customers`: the scenarios; `older`: exports made before
//!   the round trip, and files that are no export.

mod credit_notes;
mod customers;
mod edit;
mod invoices;
mod older;
mod verify;

use crate::support::{bin, TestDir, TestEmulator};
use chrono::NaiveDate;
use facturare_etl::model::date::to_unix;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::Output;

/// An account on the emulator and a data dir for the binary.
pub struct Account {
    pub emu: TestEmulator,
    pub dir: TestDir,
    rt: tokio::runtime::Runtime,
}

pub fn day(y: i32, m: u32, d: u32) -> i64 {
    to_unix(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

impl Account {
    pub fn new() -> Account {
        Account {
            emu: TestEmulator::new(),
            dir: TestDir::new(),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    /// Two tax rates, three customers and five invoices: several lines,
    /// both rates, metadata, a line discount, one invoice paid.
    pub fn seeded() -> Account {
        let a = Account::new();
        for (id, value) in [("tva20", 20), ("tva8", 8)] {
            a.create(
                "/tax_rates",
                json!({"id": id, "name": format!("TVA {value}%"), "value": value}),
            );
        }
        let c1 = a.create(
            "/customers",
            json!({"number": "C-1", "name": "SRL Alfa", "tax_id": "1008600038413", "country": "MD"}),
        );
        let c2 = a.create("/customers", json!({"number": "C-2", "name": "ÎI Beta"}));
        let c3 = a.create("/customers", json!({"number": "C-3", "name": "SRL Gama"}));
        let line = |name: &str, q: Value, c: Value, tax: &str| json!({"name": name, "quantity": q, "unit_cost": c, "taxes": [{"tax_rate": tax}]});
        a.create(
            "/invoices",
            json!({"customer": c1["id"], "number": "RT-0001", "date": day(2025, 10, 6),
                "payment_terms": "NET 30", "currency": "MDL",
                "metadata": {"project": "Orhei", "source": "seed"},
                "items": [line("Pâine", json!(2), json!(10.25), "tva8"),
                          line("Lapte", json!(1), json!(18.9), "tva8"),
                          line("Servicii", json!(3), json!(100), "tva20")]}),
        );
        let mut discounted = line("Pâine", json!(1), json!(10.25), "tva8");
        discounted["discounts"] = json!([{"amount": 1.25}]);
        a.create(
            "/invoices",
            json!({"customer": c2["id"], "number": "RT-0002", "date": day(2025, 10, 7),
                "purchase_order": "PO-7", "metadata": {"project": "Bălți"},
                "items": [discounted, line("Cafea", json!(2), json!(45.5), "tva20")]}),
        );
        a.create(
            "/invoices",
            json!({"customer": c3["id"], "number": "RT-0003", "date": day(2025, 10, 8),
                "notes": "de plătit în 30 de zile", "metadata": {"project": "Cahul", "source": "seed"},
                "items": [line("Consultanță", json!(1), json!(500), "tva20")]}),
        );
        let paid = a.create(
            "/invoices",
            json!({"customer": c2["id"], "number": "RT-0004", "date": day(2025, 10, 9),
                "items": [line("Ceai", json!(4), json!(12.5), "tva8"),
                          line("Zahăr", json!(1), json!(20), "tva8")]}),
        );
        a.create(
            "/payments",
            json!({"amount": paid["total"], "customer": c2["id"], "method": "wire_transfer",
                "applied_to": [{"type": "invoice", "invoice": paid["id"], "amount": paid["total"]}]}),
        );
        a.create(
            "/invoices",
            json!({"customer": c1["id"], "number": "RT-0005", "date": day(2025, 10, 10),
                "metadata": {"source": "seed"},
                "items": [line("Făină", json!(10), json!(8.4), "tva8"),
                          line("Transport", json!(1), json!(150), "tva20")]}),
        );
        a
    }

    pub fn create(&self, path: &str, body: Value) -> Value {
        let api = self.emu.api();
        self.rt.block_on(api.create(path, body))
    }

    pub fn get(&self, path: &str) -> Value {
        let api = self.emu.api();
        self.rt.block_on(async {
            let r = api.get(path).send().await.expect("GET sent");
            assert!(r.status().is_success(), "GET {path}: {}", r.status());
            r.json::<Value>().await.expect("JSON")
        })
    }

    pub fn patch(&self, path: &str, body: Value) -> Value {
        let api = self.emu.api();
        self.rt.block_on(async {
            let r = api.patch(path, &body).send().await.expect("PATCH sent");
            let status = r.status();
            let v = r.json::<Value>().await.expect("JSON");
            assert!(status.is_success(), "PATCH {path} {body}: {status} {v}");
            v
        })
    }

    /// Every object of a list (fewer than 100 here), by number.
    pub fn by_number(&self, path: &str) -> BTreeMap<String, Value> {
        let list = self.get(&format!("{path}?per_page=100"));
        list.as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["number"].as_str().unwrap_or_default().to_string(),
                    v.clone(),
                )
            })
            .collect()
    }

    /// The binary against this account.
    pub fn run(&self, args: &[&str]) -> Output {
        bin(self.dir.path())
            .args(["--api-url", self.emu.url(), "--json"])
            .args(args)
            .env("FACTURARE_API_KEY", self.emu.key())
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .unwrap()
    }

    /// As [`Account::run`], expecting `code`; its JSON on stdout.
    pub fn run_ok(&self, args: &[&str], code: i32) -> Value {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}\nstderr: {err}");
        assert!(
            !err.contains(self.emu.key()),
            "the key is never printed: {err}"
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!("{args:?}: stdout is not JSON ({e}): {stdout}\nstderr: {err}")
        })
    }

    pub fn writes(&self) -> u64 {
        self.emu.stats().writes
    }
}

/// An object as compared across a round trip: `updated_at`, the ids the
/// API gives applied taxes and discounts anew on each write, and fields
/// without a value left out.
pub fn norm(v: &Value) -> Value {
    let mut v = v.clone();
    strip(&mut v);
    v
}

fn strip(v: &mut Value) {
    if let Value::Object(o) = v {
        o.remove("updated_at");
        // A field cleared back (a rollback's `null`) is one never set.
        o.retain(|_, x| !x.is_null());
        for key in ["taxes", "discounts"] {
            if let Some(Value::Array(rates)) = o.get_mut(key) {
                for r in rates.iter_mut().filter_map(Value::as_object_mut) {
                    r.remove("id");
                }
            }
        }
        if let Some(Value::Array(items)) = o.get_mut("items") {
            items.iter_mut().for_each(strip);
        }
    }
}

/// As [`norm`], without what the API computes from the lines (totals,
/// amounts), for documents whose lines were edited.
pub fn norm_uncomputed(v: &Value) -> Value {
    let mut v = norm(v);
    let o = v.as_object_mut().unwrap();
    for k in ["subtotal", "total", "balance"] {
        o.remove(k);
    }
    for key in ["taxes", "discounts"] {
        if let Some(Value::Array(rates)) = o.get_mut(key) {
            rates.iter_mut().for_each(|r| {
                r.as_object_mut().map(|r| r.remove("amount"));
            });
        }
    }
    if let Some(Value::Array(items)) = o.get_mut("items") {
        for it in items.iter_mut().filter_map(Value::as_object_mut) {
            it.remove("amount");
            for key in ["taxes", "discounts"] {
                if let Some(Value::Array(rates)) = it.get_mut(key) {
                    rates.iter_mut().for_each(|r| {
                        r.as_object_mut().map(|r| r.remove("amount"));
                    });
                }
            }
        }
    }
    v
}
