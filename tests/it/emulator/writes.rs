//! Writes: totals and rounding, read-only and unknown fields, numbers,
//! metadata limits, void and closed documents, payments, credit notes,
//! items and tax rates, events.

use super::{customer, get_json, send};
use crate::support::{Api, TestEmulator};
use serde_json::{json, Value};

async fn rates(api: &Api) {
    api.create(
        "/tax_rates",
        json!({"id": "tva20", "name": "TVA 20%", "value": 20}),
    )
    .await;
    api.create(
        "/tax_rates",
        json!({"id": "tva8inc", "name": "TVA 8% inclusă", "value": 8, "inclusive": true}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_discounts_inclusive_tax_and_rounding() {
    let emu = TestEmulator::new();
    let api = emu.api();
    rates(&api).await;
    let c = customer(&api, "Alfa").await;
    let inv = api
        .create(
            "/invoices",
            json!({"customer": c, "items": [
                {"name": "a", "quantity": 3, "unit_cost": 51.15, "discounts": [{"amount": 3.45}], "taxes": ["tva20"]},
                {"name": "b", "unit_cost": 108, "taxes": [{"tax_rate": "tva8inc"}]},
                {"name": "c", "quantity": 0.5, "unit_cost": 0.25, "taxes": [{"tax_rate": "tva99"}]}
            ], "discounts": [{"amount": 10}], "taxes": ["no_such_rate"]}),
        )
        .await;
    let items = inv["items"].as_array().unwrap();
    assert_eq!(items[0]["amount"], json!(153.45));
    assert_eq!(items[0]["discounts"][0]["amount"], json!(3.45));
    assert_eq!(items[0]["discounts"][0]["object"], "discount");
    assert_eq!(items[0]["taxes"][0]["amount"], json!(30));
    assert_eq!(items[0]["taxes"][0]["object"], "tax");
    assert_eq!(items[0]["taxes"][0]["tax_rate"]["id"], "tva20");
    // Inclusive: 8% taken out of 108.
    assert_eq!(items[1]["taxes"][0]["amount"], json!(8));
    // 0.5 × 0.25 = 0.125 rounds half away from zero.
    assert_eq!(items[2]["amount"], json!(0.13));
    // Unknown tax rates are dropped silently.
    assert_eq!(items[2]["taxes"], json!([]));
    assert_eq!(inv["taxes"], json!([]));
    assert_eq!(inv["subtotal"], json!(261.58));
    // 261.58 − 3.45 − 10 + 30 (the inclusive 8 is already inside).
    assert_eq!(inv["total"], json!(278.13));
    assert_eq!(inv["balance"], json!(278.13));

    // Invoice-level discount first, then invoice-level tax on what remains.
    let inv = api
        .create(
            "/invoices",
            json!({"customer": c, "items": [{"unit_cost": 100}], "discounts": [{"amount": 10}], "taxes": ["tva20"]}),
        )
        .await;
    assert_eq!(inv["taxes"][0]["amount"], json!(18));
    assert_eq!(inv["total"], json!(108));
    // Rounding of a percent tax: 20% of 0.025 = 0.005 → 0.01.
    let inv = api
        .create(
            "/invoices",
            json!({"customer": c, "items": [{"quantity": 0.1, "unit_cost": 0.25, "taxes": ["tva20"]}]}),
        )
        .await;
    assert_eq!(inv["items"][0]["amount"], json!(0.03));
    assert_eq!(inv["items"][0]["taxes"][0]["amount"], json!(0.01));
    // The total never goes below zero.
    let inv = api
        .create(
            "/invoices",
            json!({"customer": c, "items": [{"unit_cost": 100}], "discounts": [{"amount": 500}]}),
        )
        .await;
    assert_eq!(inv["total"], json!(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_unknown_and_required_fields() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let c = customer(&api, "Alfa").await;
    for field in ["subtotal", "total", "balance", "paid", "status"] {
        let (s, e) = send(api.post("/invoices", &json!({"customer": c, field: 1}))).await;
        assert_eq!(s, 400, "{field}");
        assert_eq!(e["type"], "invalid_request");
        assert_eq!(e["param"], field);
    }
    let (s, e) = send(api.post("/invoices", &json!({"customer": c, "colour": "red"}))).await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "request");
    assert!(e["message"].as_str().unwrap().contains("colour"));
    let (s, e) = send(api.post(
        "/invoices",
        &json!({"customer": c, "items": [{"unit_cost": 1, "amount": 1}]}),
    ))
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "items");
    let (s, e) = send(api.post("/invoices", &json!({"items": []}))).await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "customer");
    let (s, e) = send(api.post("/customers", &json!({"email": "a@b.md"}))).await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "name");
    let (s, e) = send(api.post("/tax_rates", &json!({"name": "x"}))).await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "value");
    let (s, e) = send(api.post("/payments", &json!({"method": "cash"}))).await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "amount");
    let (s, e) = send(api.post("/customers", &json!({"name": "x", "type": "alien"}))).await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "type");
    let (s, e) = send(api.post("/invoices", &json!({"customer": c, "date": "2024-01-05"}))).await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "date");
    let (s, e) = send(
        api.request(reqwest::Method::POST, "/customers")
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["type"], "invalid_request");
    let (s, e) = send(api.patch(&format!("/customers/{c}"), &json!({"id": 5}))).await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "id");
    assert_eq!(emu.stats().created.get("invoices"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_are_unique_case_insensitively_and_generated() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let c = customer(&api, "Alfa").await;
    let a = api
        .create("/invoices", json!({"customer": c, "number": "md-7"}))
        .await;
    let (s, e) = send(api.post("/invoices", &json!({"customer": c, "number": "MD-7"}))).await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "number");
    let b = api.create("/invoices", json!({"customer": c})).await;
    assert_eq!(b["number"], "INV-00001");
    let (s, e) = send(api.patch(
        &format!("/invoices/{}", b["id"]),
        &json!({"number": "Md-7"}),
    ))
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "number");
    // Its own number is no clash; a freed number can be reused.
    let (s, _) = send(api.patch(
        &format!("/invoices/{}", a["id"]),
        &json!({"number": "MD-7"}),
    ))
    .await;
    assert_eq!(s, 200);
    let (s, _) = send(api.delete(&format!("/invoices/{}", a["id"]))).await;
    assert_eq!(s, 204);
    api.create("/invoices", json!({"customer": c, "number": "md-7"}))
        .await;
    // Generated numbers skip taken ones.
    api.create("/invoices", json!({"customer": c, "number": "INV-00002"}))
        .await;
    let d = api.create("/invoices", json!({"customer": c})).await;
    assert_eq!(d["number"], "INV-00003");
    let cn = api.create("/credit_notes", json!({"customer": c})).await;
    assert_eq!(cn["number"], "CN-00001");
    let (s, e) = send(api.post("/customers", &json!({"name": "B", "number": "cust-00001"}))).await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "number");
    let (s, e) = send(api.post(
        "/customers",
        &json!({"name": "B", "number": "x".repeat(33)}),
    ))
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "number");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_limits_in_bytes_and_replacement() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let ok = api
        .create(
            "/customers",
            json!({"name": "A", "metadata": {"k".repeat(40): "ă".repeat(127), "n": 5, "b": true}}),
        )
        .await;
    assert_eq!(ok["metadata"]["n"], "5");
    assert_eq!(ok["metadata"]["b"], "true");
    for bad in [
        json!({"k".repeat(41): "v"}),
        json!({"ș".repeat(21): "v"}),
        json!({"k": "ă".repeat(128)}),
        json!({"k": "x".repeat(256)}),
        Value::Object((0..11).map(|i| (format!("k{i}"), json!("v"))).collect()),
        json!({"k": {"nested": 1}}),
        json!("flat"),
    ] {
        let (s, e) = send(api.post("/customers", &json!({"name": "A", "metadata": bad}))).await;
        assert_eq!(s, 400, "{bad}");
        assert_eq!(e["param"], "metadata", "{bad}");
    }
    let ten: Value = Value::Object((0..10).map(|i| (format!("k{i}"), json!("v"))).collect());
    api.create("/customers", json!({"name": "A", "metadata": ten}))
        .await;

    let c = api
        .create(
            "/customers",
            json!({"name": "B", "metadata": {"a": "1", "b": "2"}}),
        )
        .await;
    let (s, v) = send(api.patch(
        &format!("/customers/{}", c["id"]),
        &json!({"metadata": {"c": "3"}}),
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["metadata"], json!({"c": "3"}));
    let (_, _, v) = get_json(&api, &format!("/customers/{}", c["id"])).await;
    assert_eq!(v["metadata"], json!({"c": "3"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voided_and_closed_documents_refuse_edits() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let c = customer(&api, "Alfa").await;
    let inv = api
        .create(
            "/invoices",
            json!({"customer": c, "items": [{"unit_cost": 5}]}),
        )
        .await;
    let path = format!("/invoices/{}", inv["id"]);
    let (s, v) = send(api.request(reqwest::Method::POST, &format!("{path}/void"))).await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "voided");
    assert_eq!(v["voided"], true);
    assert_eq!(v["balance"], json!(0));
    let (s, e) = send(api.patch(&path, &json!({"notes": "late"}))).await;
    assert_eq!(s, 400);
    assert!(e["message"].as_str().unwrap().contains("voided"));
    let (s, _) = send(api.request(reqwest::Method::POST, &format!("{path}/void"))).await;
    assert_eq!(s, 400);
    let (_, _, v) = get_json(&api, "/invoices?filter[voided]=1").await;
    assert_eq!(v.as_array().unwrap().len(), 1);

    let inv = api
        .create(
            "/invoices",
            json!({"customer": c, "items": [{"unit_cost": 5}]}),
        )
        .await;
    let path = format!("/invoices/{}", inv["id"]);
    let (s, v) = send(api.patch(&path, &json!({"closed": true}))).await;
    assert_eq!(s, 200);
    assert_eq!(v["closed"], true);
    let (s, e) = send(api.patch(&path, &json!({"items": []}))).await;
    assert_eq!(s, 400);
    assert!(e["message"].as_str().unwrap().contains("closed"));
    let (s, v) = send(api.patch(&path, &json!({"closed": false}))).await;
    assert_eq!(s, 200);
    assert_eq!(v["closed"], false);

    let cn = api
        .create(
            "/credit_notes",
            json!({"customer": c, "items": [{"unit_cost": 2}]}),
        )
        .await;
    assert_eq!(cn["status"], "open");
    let (s, v) = send(api.request(
        reqwest::Method::POST,
        &format!("/credit_notes/{}/void", cn["id"]),
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "voided");
    let (s, _) = send(api.patch(
        &format!("/credit_notes/{}", cn["id"]),
        &json!({"notes": "x"}),
    ))
    .await;
    assert_eq!(s, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_and_credit_notes_move_balances() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let c = customer(&api, "Alfa").await;
    let inv = api
        .create(
            "/invoices",
            json!({"customer": c, "payment_terms": "NET 30", "date": 1704405600,
            "items": [{"unit_cost": 100}]}),
        )
        .await;
    assert_eq!(inv["due_date"], json!(1704405600 + 30 * 86400));
    let id = inv["id"].as_i64().unwrap();
    let path = format!("/invoices/{id}");
    let apply = |amount: f64| {
        json!({"amount": amount, "method": "wire_transfer", "reference": "OP-1",
        "applied_to": [{"type": "invoice", "invoice": id, "amount": amount}]})
    };

    let p1 = api.create("/payments", apply(40.0)).await;
    assert_eq!(p1["customer"], json!(c));
    assert_eq!(p1["currency"], "mdl");
    let (_, _, v) = get_json(&api, &path).await;
    assert_eq!(v["balance"], json!(60));
    assert_eq!(v["paid"], false);
    assert_eq!(v["closed"], false);

    let (s, e) = send(api.post("/payments", &apply(70.0))).await;
    assert_eq!(s, 400, "more than the balance");
    assert_eq!(e["param"], "applied_to");

    // A credit note on the invoice takes its total off the balance.
    let cn = api
        .create(
            "/credit_notes",
            json!({"customer": c, "invoice": id, "items": [{"unit_cost": 10}]}),
        )
        .await;
    let (_, _, v) = get_json(&api, &path).await;
    assert_eq!(v["balance"], json!(50));

    let p2 = api.create("/payments", apply(50.0)).await;
    let (_, _, v) = get_json(&api, &path).await;
    assert_eq!(v["balance"], json!(0));
    assert_eq!(v["paid"], true);
    assert_eq!(v["closed"], true);
    assert_eq!(v["status"], "paid");
    let (s, _) = send(api.patch(&path, &json!({"notes": "x"}))).await;
    assert_eq!(s, 400, "a paid invoice is closed");

    // DELETE voids the payment (200) and reopens the invoice.
    let (s, v) = send(api.delete(&format!("/payments/{}", p2["id"]))).await;
    assert_eq!(s, 200);
    assert_eq!(v["voided"], true);
    let (_, _, v) = get_json(&api, &path).await;
    assert_eq!(v["balance"], json!(50));
    assert_eq!(v["paid"], false);
    assert_eq!(v["closed"], false);
    assert_ne!(v["status"], "paid");
    let (s, _) = send(api.delete(&format!("/payments/{}", p2["id"]))).await;
    assert_eq!(s, 400);
    let (_, _, v) = get_json(&api, "/payments?filter[voided]=0").await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    // Voiding the credit note gives its amount back.
    let (s, _) = send(api.request(
        reqwest::Method::POST,
        &format!("/credit_notes/{}/void", cn["id"]),
    ))
    .await;
    assert_eq!(s, 200);
    let (_, _, v) = get_json(&api, &path).await;
    assert_eq!(v["balance"], json!(60));
    let (s, e) = send(api.delete(&path)).await;
    assert_eq!(s, 400, "{e}");
    let _ = p1;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_and_tax_rates_have_chosen_ids() {
    let emu = TestEmulator::new();
    let api = emu.api();
    rates(&api).await;
    let (s, e) = send(api.post(
        "/tax_rates",
        &json!({"id": "tva20", "name": "again", "value": 20}),
    ))
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "id");
    let (_, _, v) = get_json(&api, "/tax_rates/tva20").await;
    assert_eq!(v["value"], json!(20));
    assert_eq!(v["is_percent"], true);
    assert_eq!(v["inclusive"], false);
    let item = api
        .create(
            "/items",
            json!({"id": "bread", "name": "Pâine", "unit_cost": 7.5, "taxes": ["tva20"]}),
        )
        .await;
    assert_eq!(item["id"], "bread");
    let gen = api.create("/items", json!({"name": "Lapte 2,5%"})).await;
    assert_eq!(gen["id"], "lapte-2-5");
    let c = customer(&api, "Alfa").await;
    let inv = api
        .create(
            "/invoices",
            json!({"customer": c, "items": [{"catalog_item": "bread", "quantity": 2}]}),
        )
        .await;
    assert_eq!(inv["items"][0]["name"], "Pâine");
    assert_eq!(inv["total"], json!(18));
    let (s, v) = send(api.patch("/items/bread", &json!({"unit_cost": 8}))).await;
    assert_eq!(s, 200);
    assert_eq!(v["unit_cost"], json!(8));
    let (s, _) = send(api.delete("/items/bread")).await;
    assert_eq!(s, 204);
    let (s, _, _) = get_json(&api, "/items/bread").await;
    assert_eq!(s, 404);
    let (_, h, _) = get_json(&api, "/tax_rates").await;
    assert_eq!(h["x-total-count"], "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_record_creations_updates_and_deletions() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let c = customer(&api, "Alfa").await;
    let inv = api.create("/invoices", json!({"customer": c})).await;
    let path = format!("/invoices/{}", inv["id"]);
    send(api.patch(&path, &json!({"notes": "n"}))).await;
    send(api.delete(&path)).await;
    let (_, h, v) = get_json(&api, "/events").await;
    let types: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "customer.created",
            "invoice.created",
            "invoice.updated",
            "invoice.deleted"
        ]
    );
    assert_eq!(h["x-total-count"], "4");
    let (_, _, v) = get_json(&api, "/events?filter[type]=invoice.deleted").await;
    assert_eq!(v[0]["data"]["object"]["id"], inv["id"]);
    assert_eq!(v[0]["object"], "event");
    assert!(v[0]["timestamp"].as_i64().unwrap() > 0);
    let (s, _, e) = get_json(&api, "/events?filter[id]=1").await;
    assert_eq!(s, 400, "{e}");
    let (s, _) = send(api.post("/events", &json!({}))).await;
    assert_eq!(s, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_to_missing_objects_are_400_naming_the_field() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let c = customer(&api, "Alfa").await;
    for (path, body, param, message) in [
        (
            "/invoices",
            json!({"customer": 999999, "items": [{"name": "a"}]}),
            "customer",
            "No such customer: 999999",
        ),
        (
            "/credit_notes",
            json!({"customer": c, "invoice": 888888, "items": [{"name": "a"}]}),
            "invoice",
            "No such invoice: 888888",
        ),
        (
            "/invoices",
            json!({"customer": "not an id", "items": [{"name": "a"}]}),
            "customer",
            "expected a customer id",
        ),
    ] {
        let resp = api.post(path, &body).send().await.unwrap();
        assert_eq!(resp.status(), 400, "{path} {body}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["type"], "invalid_request");
        assert_eq!(err["param"], param, "{err}");
        let text = err["message"].as_str().unwrap();
        assert!(
            text.contains(message),
            "{text:?} should contain {message:?}"
        );
    }
}
