//! Create, read, update, delete and list customers and invoices.

use crate::support::{Api, TestEmulator};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_and_invoice_crud() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let c = api
        .create(
            "/customers",
            json!({"name": "SRL Alfa", "tax_id": "1008600038413"}),
        )
        .await;
    assert_eq!(c["object"], "customer");
    assert_eq!(c["number"], "CUST-00001");
    let cid = c["id"].as_i64().unwrap();

    let inv = api
        .create(
            "/invoices",
            json!({"customer": cid, "currency": "MDL", "items": [{"name": "Pâine", "quantity": 2, "unit_cost": 10.5}]}),
        )
        .await;
    assert_eq!(inv["number"], "INV-00001");
    assert_eq!(inv["currency"], "mdl");
    assert_eq!(inv["total"], json!(21));
    assert_eq!(inv["status"], "not_sent");
    let id = inv["id"].as_i64().unwrap();

    let got: Value = api
        .get(&format!("/invoices/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, inv);

    let r = api
        .patch(&format!("/invoices/{id}"), &json!({"notes": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["notes"], "hello");

    let r = api.get("/invoices").send().await.unwrap();
    assert_eq!(r.headers()["x-total-count"], "1");
    let list: Vec<Value> = r.json().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["notes"], "hello");

    let r = api.delete(&format!("/invoices/{id}")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let r = api.get(&format!("/invoices/{id}")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["type"], "invalid_request");
    assert_eq!(emu.stats().created.get("invoices"), Some(&1));
}

/// `Api` works with any key the emulator knows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_route_is_404_json() {
    let emu = TestEmulator::new();
    let api = Api::new(emu.url(), emu.key());
    let r = api.get("/nothing_here").send().await.unwrap();
    assert_eq!(r.status(), 404);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["type"], "invalid_request");
}
