//! Lists: paging with Link and X-Total-Count, filters, metadata, dates,
//! strict updated bounds, sort, expand.

use super::{customer, get_json, links, rel, send};
use crate::support::{Api, TestEmulator};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_250_objects_with_all_links() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let mut tasks = Vec::new();
    for chunk in 0..10 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                api.create(
                    "/customers",
                    json!({"name": format!("Client {chunk}-{i}"), "country": "MD"}),
                )
                .await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    let (s, h, page1) = get_json(&api, "/customers?per_page=100&filter[country]=MD").await;
    assert_eq!(s, 200);
    assert_eq!(h["x-total-count"], "250");
    assert_eq!(page1.as_array().unwrap().len(), 100);
    let l = links(&h);
    let self_url = rel(&l, "self").unwrap();
    assert!(
        self_url.starts_with(&format!("{}/customers?", emu.url())),
        "{self_url}"
    );
    assert!(rel(&l, "first").unwrap().contains("page=1"));
    assert!(rel(&l, "next").unwrap().contains("page=2"));
    assert!(rel(&l, "last").unwrap().contains("page=3"));
    assert!(rel(&l, "previous").is_none());
    assert!(rel(&l, "prev").is_none());
    // Other parameters are kept (brackets encoded, which the server reads too).
    assert!(rel(&l, "next").unwrap().contains("country%5D=MD"), "{l:?}");

    let (_, h, page2) = get_json(&api, rel(&l, "next").unwrap()).await;
    let l2 = links(&h);
    assert_eq!(page2.as_array().unwrap().len(), 100);
    assert!(rel(&l2, "previous").unwrap().contains("page=1"));
    assert!(rel(&l2, "next").unwrap().contains("page=3"));

    let (_, h, page3) = get_json(&api, rel(&l2, "next").unwrap()).await;
    let l3 = links(&h);
    assert_eq!(page3.as_array().unwrap().len(), 50);
    assert!(rel(&l3, "next").is_none(), "no next on the last page");
    assert!(rel(&l3, "previous").unwrap().contains("page=2"));
    assert!(
        rel(&l3, "self").is_some() && rel(&l3, "first").is_some() && rel(&l3, "last").is_some()
    );

    let all: BTreeSet<i64> = [ids(&page1), ids(&page2), ids(&page3)]
        .concat()
        .into_iter()
        .collect();
    assert_eq!(all.len(), 250);
    // Default order is id ascending.
    let mut sorted = ids(&page1);
    sorted.sort();
    assert_eq!(sorted, ids(&page1));

    // per_page is capped at 100; bad values are 400.
    let (_, h, capped) = get_json(&api, "/customers?per_page=1000").await;
    assert_eq!(capped.as_array().unwrap().len(), 100);
    assert!(rel(&links(&h), "last").unwrap().contains("page=3"));
    let (_, _, small) = get_json(&api, "/customers?per_page=7&page=36").await;
    assert_eq!(small.as_array().unwrap().len(), 5);
    let (s, _, e) = get_json(&api, "/customers?per_page=0").await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "per_page");
    let (s, h, empty) = get_json(&api, "/customers?page=9").await;
    assert_eq!(s, 200);
    assert_eq!(empty, json!([]));
    assert_eq!(h["x-total-count"], "250");
}

async fn invoice(api: &Api, body: Value) -> Value {
    api.create("/invoices", body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_each_kind_and_refuses_others() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let a = customer(&api, "Alfa").await;
    let b = customer(&api, "Beta").await;
    let i1 = invoice(
        &api,
        json!({"customer": a, "number": "F-1", "currency": "EUR", "purchase_order": "PO-9",
        "items": [{"unit_cost": 100}]}),
    )
    .await;
    let i2 = invoice(
        &api,
        json!({"customer": b, "number": "F-2", "draft": true, "items": [{"unit_cost": 50}]}),
    )
    .await;
    let i3 = invoice(
        &api,
        json!({"customer": a, "number": "F-3", "items": [{"unit_cost": 50}]}),
    )
    .await;
    api.create(
        "/payments",
        json!({"amount": 50, "applied_to": [{"type": "invoice", "invoice": i3["id"], "amount": 50}]}),
    )
    .await;

    let q = |s: &str| {
        let api = api.clone();
        let s = s.to_string();
        async move {
            let (st, h, v) = get_json(&api, &format!("/invoices?{s}")).await;
            assert_eq!(st, 200, "{s}: {v}");
            assert_eq!(
                h["x-total-count"].to_str().unwrap(),
                v.as_array().unwrap().len().to_string()
            );
            ids(&v)
        }
    };
    let id = |v: &Value| v["id"].as_i64().unwrap();
    assert_eq!(
        q(&format!("filter[customer]={a}")).await,
        vec![id(&i1), id(&i3)]
    );
    assert_eq!(q("filter[number]=F-2").await, vec![id(&i2)]);
    assert_eq!(q("filter[paid]=1").await, vec![id(&i3)]);
    assert_eq!(q("filter[paid]=0").await, vec![id(&i1), id(&i2)]);
    assert_eq!(q("filter[closed]=1").await, vec![id(&i3)]);
    assert_eq!(q("filter[draft]=1").await, vec![id(&i2)]);
    assert_eq!(q("filter[status]=paid").await, vec![id(&i3)]);
    assert_eq!(q("filter[currency]=eur").await, vec![id(&i1)]);
    assert_eq!(q("filter[purchase_order]=PO-9").await, vec![id(&i1)]);
    assert_eq!(q("filter[total]=50").await, vec![id(&i2), id(&i3)]);
    assert_eq!(q("filter[balance]=0").await, vec![id(&i3)]);
    assert_eq!(q("filter[voided]=0").await.len(), 3);
    // Percent-encoded brackets work the same.
    assert_eq!(q("filter%5Bnumber%5D=F-2").await, vec![id(&i2)]);
    // Several filters combine.
    assert_eq!(
        q(&format!("filter[customer]={a}&filter[paid]=0")).await,
        vec![id(&i1)]
    );

    let (s, _, e) = get_json(&api, "/invoices?filter[notes]=x").await;
    assert_eq!(s, 400);
    assert_eq!(e["type"], "invalid_request");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("notes") && msg.contains("purchase_order"),
        "{msg}"
    );
    let (s, _, _) = get_json(&api, "/invoices?filter[paid]=maybe").await;
    assert_eq!(s, 400);
    let (s, _, e) = get_json(&api, "/customers?filter[phone]=1").await;
    assert_eq!(s, 400);
    assert!(e["message"].as_str().unwrap().contains("tax_id"));
    let (s, _, v) = get_json(&api, "/customers?filter[name]=Beta").await;
    assert_eq!(s, 200);
    assert_eq!(ids(&v), vec![b]);
    let (s, _, v) = get_json(
        &api,
        &format!("/payments?filter[customer]={a}&filter[amount]=50"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v.as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_and_date_bounds() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let c = customer(&api, "Alfa").await;
    let day = 86400;
    let d0 = 1704405600; // 2024-01-05 00:00 Chisinau
    let mut made = Vec::new();
    for (i, src) in ["1c", "xlsx", "1c"].iter().enumerate() {
        let v = invoice(
            &api,
            json!({"customer": c, "date": d0 + i as i64 * day,
            "metadata": {"source": src, "row": i + 1}}),
        )
        .await;
        made.push(v["id"].as_i64().unwrap());
    }
    let (_, h, v) = get_json(&api, "/invoices?metadata[source]=1c").await;
    assert_eq!(ids(&v), vec![made[0], made[2]]);
    assert_eq!(h["x-total-count"], "2");
    let (_, _, v) = get_json(&api, "/invoices?metadata%5Brow%5D=2").await;
    assert_eq!(ids(&v), vec![made[1]]);
    let (_, _, v) = get_json(&api, "/invoices?metadata[missing]=x").await;
    assert_eq!(v, json!([]));
    // start_date and end_date are inclusive.
    let (_, _, v) = get_json(
        &api,
        &format!(
            "/invoices?start_date={}&end_date={}",
            d0 + day,
            d0 + 2 * day
        ),
    )
    .await;
    assert_eq!(ids(&v), vec![made[1], made[2]]);
    let (_, _, v) = get_json(&api, &format!("/invoices?end_date={d0}")).await;
    assert_eq!(ids(&v), vec![made[0]]);
    let (s, _, e) = get_json(&api, "/invoices?start_date=yesterday").await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "start_date");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updated_bounds_are_strict() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let c = customer(&api, "Alfa").await;
    let (_, _, v) = get_json(&api, &format!("/customers/{c}")).await;
    let t = v["updated_at"].as_i64().unwrap();
    let (_, _, v) = get_json(&api, &format!("/customers?updated_after={t}")).await;
    assert_eq!(v, json!([]), "strictly after");
    let (_, _, v) = get_json(&api, &format!("/customers?updated_after={}", t - 1)).await;
    assert_eq!(ids(&v), vec![c]);
    let (_, _, v) = get_json(&api, &format!("/customers?updated_before={t}")).await;
    assert_eq!(v, json!([]), "strictly before");
    let (_, _, v) = get_json(&api, &format!("/customers?updated_before={}", t + 1)).await;
    assert_eq!(ids(&v), vec![c]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorts_with_id_tie_breaker() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let c = customer(&api, "Alfa").await;
    let mut made = Vec::new();
    for cost in [30, 10, 30, 20] {
        let v = invoice(&api, json!({"customer": c, "items": [{"unit_cost": cost}]})).await;
        made.push(v["id"].as_i64().unwrap());
    }
    let (_, _, v) = get_json(&api, "/invoices?sort=total%20desc").await;
    assert_eq!(ids(&v), vec![made[0], made[2], made[3], made[1]]);
    let (_, _, v) = get_json(&api, "/invoices?sort=total asc").await;
    assert_eq!(ids(&v), vec![made[1], made[3], made[0], made[2]]);
    let (_, _, v) = get_json(&api, "/invoices?sort=total desc,id desc").await;
    assert_eq!(ids(&v), vec![made[2], made[0], made[3], made[1]]);
    let (s, _, e) = get_json(&api, "/invoices?sort=total sideways").await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "sort");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expands_single_objects_and_lists() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let c = customer(&api, "Alfa").await;
    let inv = invoice(&api, json!({"customer": c, "items": [{"unit_cost": 10}]})).await;
    let id = inv["id"].as_i64().unwrap();
    assert_eq!(inv["customer"], json!(c));
    let (_, _, v) = get_json(&api, &format!("/invoices/{id}?expand=customer")).await;
    assert_eq!(v["customer"]["id"], json!(c));
    assert_eq!(v["customer"]["name"], "Alfa");
    let (_, _, v) = get_json(&api, "/invoices?expand=customer").await;
    assert_eq!(v[0]["customer"]["name"], "Alfa");
    let (_, _, v) = get_json(&api, "/invoices").await;
    assert_eq!(v[0]["customer"], json!(c));

    let p = api
        .create(
            "/payments?expand=customer,invoice",
            json!({"amount": 4,
            "applied_to": [{"type": "invoice", "invoice": id, "amount": 4}]}),
        )
        .await;
    assert_eq!(p["customer"]["name"], "Alfa");
    assert_eq!(p["applied_to"][0]["invoice"]["id"], json!(id));
    let (_, _, v) = get_json(&api, "/payments?expand=invoice").await;
    assert_eq!(v[0]["applied_to"][0]["invoice"]["number"], inv["number"]);
    let cn = api
        .create(
            "/credit_notes",
            json!({"customer": c, "invoice": id, "items": [{"unit_cost": 1}]}),
        )
        .await;
    let (_, _, v) = get_json(
        &api,
        &format!("/credit_notes/{}?expand=invoice,customer", cn["id"]),
    )
    .await;
    assert_eq!(v["invoice"]["id"], json!(id));
    assert_eq!(v["customer"]["id"], json!(c));
    let (s, _) = send(api.get("/credit_notes?filter[status]=closed")).await;
    assert_eq!(s, 200);
}

/// Every page of `path` (per_page=100) from page 1 until an empty one:
/// the objects in the order served and the X-Total-Count of each page.
async fn all_pages(api: &Api, path: &str) -> (Vec<Value>, Vec<String>) {
    let mut objects = Vec::new();
    let mut totals = Vec::new();
    for page in 1.. {
        let (s, h, body) = get_json(api, &format!("{path}&per_page=100&page={page}")).await;
        assert_eq!(s, 200, "{path} page {page}: {body}");
        totals.push(h["x-total-count"].to_str().unwrap().to_string());
        let items = body.as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        assert!(items.len() <= 100);
        objects.extend(items);
    }
    (objects, totals)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_through_3000_objects_each_once_in_order() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let mut tasks = Vec::new();
    for chunk in 0..8 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            for i in (chunk..3000).step_by(8) {
                let country = if i % 2 == 0 { "MD" } else { "RO" };
                api.create(
                    "/customers",
                    json!({"name": format!("Client {i:04}"), "country": country}),
                )
                .await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    // Default order (the id index): 30 full pages, then an empty one.
    let (all, totals) = all_pages(&api, "/customers?").await;
    assert_eq!(totals.len(), 31);
    assert!(totals.iter().all(|t| t == "3000"), "{totals:?}");
    let ids: Vec<i64> = all.iter().map(|o| o["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 3000);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids ascending, once each"
    );

    // `id desc` is the same objects backwards.
    let (desc, _) = all_pages(&api, "/customers?sort=id%20desc").await;
    let desc_ids: Vec<i64> = desc.iter().map(|o| o["id"].as_i64().unwrap()).collect();
    let mut reversed = ids.clone();
    reversed.reverse();
    assert_eq!(desc_ids, reversed);

    // A filter and a sort on another field: 1,500 objects over 15 pages,
    // names strictly descending, none repeated or missing.
    let (md, totals) = all_pages(&api, "/customers?filter[country]=MD&sort=name%20desc").await;
    assert_eq!(totals.len(), 16);
    assert!(totals.iter().all(|t| t == "1500"), "{totals:?}");
    let names: Vec<&str> = md.iter().map(|o| o["name"].as_str().unwrap()).collect();
    let want: Vec<String> = (0..3000)
        .rev()
        .filter(|i| i % 2 == 0)
        .map(|i| format!("Client {i:04}"))
        .collect();
    assert_eq!(names, want);
    assert!(md.iter().all(|o| o["country"] == "MD"));

    // A change shows on the next page asked for (no stale ordering): the
    // last name moves to the front.
    let (_, _, before) = get_json(
        &api,
        "/customers?filter[country]=MD&sort=name%20desc&per_page=100&page=15",
    )
    .await;
    let last = before.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["name"], "Client 0000");
    let (s, _) = send(api.patch(
        &format!("/customers/{}", last["id"]),
        &json!({"name": "Client 9999"}),
    ))
    .await;
    assert_eq!(s, 200);
    let (_, _, first) = get_json(
        &api,
        "/customers?filter[country]=MD&sort=name%20desc&per_page=100&page=1",
    )
    .await;
    assert_eq!(first[0]["id"], last["id"]);
    assert_eq!(first[0]["name"], "Client 9999");
    let (s, _) = send(api.patch(
        &format!("/customers/{}", last["id"]),
        &json!({"name": "Client 0000"}),
    ))
    .await;
    assert_eq!(s, 200);

    // Ties under the sort keep id order across page boundaries.
    let (by_country, _) = all_pages(&api, "/customers?sort=country").await;
    let md_ids: Vec<i64> = by_country[..1500]
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    let ro_ids: Vec<i64> = by_country[1500..]
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert!(by_country[..1500].iter().all(|o| o["country"] == "MD"));
    assert!(by_country[1500..].iter().all(|o| o["country"] == "RO"));
    assert!(md_ids.windows(2).all(|w| w[0] < w[1]));
    assert!(ro_ids.windows(2).all(|w| w[0] < w[1]));

    // A deleted object leaves the id index: later pages shift by one.
    let gone = ids[1234];
    let (s, _) = send(api.delete(&format!("/customers/{gone}"))).await;
    assert_eq!(s, 204);
    let (after, totals) = all_pages(&api, "/customers?").await;
    assert!(totals.iter().all(|t| t == "2999"), "{totals:?}");
    let after_ids: Vec<i64> = after.iter().map(|o| o["id"].as_i64().unwrap()).collect();
    let mut want_ids = ids.clone();
    want_ids.remove(1234);
    assert_eq!(after_ids, want_ids);
}
