//! Stored objects are kept as the JSON text made when they were written:
//! every later change (PATCH, a payment or credit note moving an invoice,
//! a void) must show in GET, in lists (plain, filtered, sorted, expanded)
//! and in events, which keep the version they recorded; and all of it must
//! read back the same after a restart with a database file.

use super::{customer, get_json, send};
use crate::support::{Api, TestDir, TestEmulator};
use facturare_etl::emulator::Config;
use serde_json::{json, Value};

/// Every way of reading invoice `id`: GET, and the lists that hold it.
async fn reads(api: &Api, id: &Value) -> Vec<Value> {
    let (s, _, one) = get_json(api, &format!("/invoices/{id}")).await;
    assert_eq!(s, 200, "{one}");
    let mut seen = vec![one];
    for query in [
        "",
        "?filter[paid]=0&sort=number%20desc",
        "?sort=total%20asc,updated_at%20desc",
        "?filter[currency]=mdl",
    ] {
        let (s, _, list) = get_json(api, &format!("/invoices{query}")).await;
        assert_eq!(s, 200, "{query}: {list}");
        if let Some(v) = list.as_array().unwrap().iter().find(|v| v["id"] == *id) {
            seen.push(v.clone());
        }
    }
    seen
}

/// What each read path shows, for a restart to compare.
async fn snapshot(api: &Api) -> Vec<Value> {
    let mut all = Vec::new();
    for path in [
        "/invoices",
        "/invoices?expand=customer",
        "/invoices?filter[paid]=1&sort=number%20desc",
        "/customers",
        "/tax_rates",
        "/payments?expand=invoice",
        "/credit_notes",
        "/events",
        "/events?filter[type]=invoice.updated",
    ] {
        let (s, _, v) = get_json(api, path).await;
        assert_eq!(s, 200, "{path}: {v}");
        all.push(v);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_shows_everywhere_and_survives_a_restart() {
    let dir = TestDir::new();
    let config = Config {
        db: Some(dir.join("emu.db")),
        ..Config::default()
    };
    let before = {
        let emu = TestEmulator::start(config.clone());
        let api = emu.api();
        api.create(
            "/tax_rates",
            json!({"id": "tva20", "name": "TVA", "value": 20}),
        )
        .await;
        let c = customer(&api, "Alfa").await;
        let created = api
            .create(
                "/invoices",
                json!({"customer": c, "items": [{"name": "A", "quantity": 2, "unit_cost": 10, "taxes": ["tva20"]}]}),
            )
            .await;
        let id = created["id"].clone();
        let path = format!("/invoices/{id}");
        for v in reads(&api, &id).await {
            assert_eq!(v, created);
        }

        // A PATCH: its reply is what every read shows from then on.
        let (s, patched) = send(api.patch(
            &path,
            &json!({"notes": "n", "items": [{"name": "B", "unit_cost": 50, "taxes": ["tva20"]}]}),
        ))
        .await;
        assert_eq!(s, 200, "{patched}");
        assert_eq!(patched["total"], json!(60));
        assert_eq!(patched["notes"], "n");
        let reads_after = reads(&api, &id).await;
        assert_eq!(reads_after.len(), 5, "in every list");
        for v in reads_after {
            assert_eq!(v, patched);
        }
        // Expanded, the customer is the stored one, as it is now.
        let (s, c_patched) =
            send(api.patch(&format!("/customers/{c}"), &json!({"city": "Chișinău"}))).await;
        assert_eq!(s, 200);
        let (_, _, e) = get_json(&api, &format!("{path}?expand=customer")).await;
        assert_eq!(e["customer"], c_patched);
        let (_, _, list) = get_json(&api, "/invoices?expand=customer").await;
        assert_eq!(list[0]["customer"], c_patched);
        let mut unexpanded = list[0].clone();
        unexpanded["customer"] = c.into();
        assert_eq!(unexpanded, patched);

        // A payment moves the invoice: GET and lists show the new balance.
        let pay = api
            .create(
                "/payments",
                json!({"amount": 60, "applied_to": [{"type": "invoice", "invoice": id, "amount": 60}]}),
            )
            .await;
        assert_eq!(pay["customer"], json!(c));
        let paid = reads(&api, &id).await;
        assert_eq!(paid[0]["balance"], json!(0));
        assert_eq!(paid[0]["status"], "paid");
        assert_eq!(paid[0]["notes"], "n");
        for v in &paid[1..] {
            assert_eq!(*v, paid[0]);
        }
        let (_, _, p) = get_json(&api, &format!("/payments/{}?expand=invoice", pay["id"])).await;
        assert_eq!(p["applied_to"][0]["invoice"], paid[0]);

        // The customer has documents: not deletable.
        let (s, _) = send(api.delete(&format!("/customers/{c}"))).await;
        assert_eq!(s, 400);

        // A credit note on a second invoice, then voided.
        let second = api
            .create(
                "/invoices",
                json!({"customer": c, "items": [{"unit_cost": 30}]}),
            )
            .await;
        let cn = api
            .create(
                "/credit_notes",
                json!({"customer": c, "invoice": second["id"], "items": [{"unit_cost": 10}]}),
            )
            .await;
        let (_, _, inv2) = get_json(&api, &format!("/invoices/{}", second["id"])).await;
        assert_eq!(inv2["balance"], json!(20));
        let (s, _) = send(api.post(&format!("/credit_notes/{}/void", cn["id"]), &json!({}))).await;
        assert_eq!(s, 200);
        let (_, _, inv2) = get_json(&api, &format!("/invoices/{}", second["id"])).await;
        assert_eq!(inv2["balance"], json!(30));

        // Events keep the version they recorded.
        let (_, _, events) = get_json(&api, "/events?filter[type]=invoice.created").await;
        assert_eq!(events[0]["data"]["object"], created);
        let (_, _, events) = get_json(&api, "/events?filter[type]=invoice.updated").await;
        assert_eq!(events[0]["data"]["object"], patched);
        let (_, _, e) = get_json(&api, &format!("/events/{}", events[0]["id"])).await;
        assert_eq!(e, events[0]);

        // A tax rate changed is used by the next document.
        send(api.patch("/tax_rates/tva20", &json!({"value": 8}))).await;
        let third = api
            .create(
                "/invoices",
                json!({"customer": c, "items": [{"unit_cost": 100, "taxes": ["tva20"]}]}),
            )
            .await;
        assert_eq!(third["total"], json!(108));
        assert_eq!(third["items"][0]["taxes"][0]["tax_rate"]["value"], json!(8));

        // A deleted invoice: its events keep every version it had.
        let gone = api
            .create(
                "/invoices",
                json!({"customer": c, "items": [{"unit_cost": 5}]}),
            )
            .await;
        let gone_path = format!("/invoices/{}", gone["id"]);
        let (_, gone_v2) = send(api.patch(&gone_path, &json!({"notes": "last"}))).await;
        let (s, _) = send(api.delete(&gone_path)).await;
        assert_eq!(s, 204);
        let (_, _, events) = get_json(&api, "/events?sort=id%20desc&per_page=3").await;
        assert_eq!(events[0]["type"], "invoice.deleted");
        assert_eq!(events[0]["data"]["object"], gone_v2);
        assert_eq!(events[1]["data"]["object"], gone_v2);
        assert_eq!(events[2]["data"]["object"], gone);
        snapshot(&api).await
    };
    // An event row holds a copy of the version it recorded only once
    // that version is no longer the object's row.
    let conn = rusqlite::Connection::open(dir.join("emu.db")).unwrap();
    let count = |pattern: &str| -> i64 {
        conn.query_row(
            "SELECT count(*) FROM objects WHERE kind = 'events' AND body LIKE ?1",
            [pattern],
            |r| r.get(0),
        )
        .unwrap()
    };
    let (referring, copies) = (count("%\"object_row\"%"), count("%\"data\":{\"object\":%"));
    assert!(
        referring >= 5,
        "{referring} events refer to their object's row"
    );
    assert!(copies >= 5, "{copies} events hold a copy");
    drop(conn);
    let emu = TestEmulator::start(config);
    assert_eq!(snapshot(&emu.api()).await, before);
}
