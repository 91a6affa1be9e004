//! Rate limits (429 with and without Retry-After), idempotent replay, the
//! seeded faults (fail, drop, latency), and data surviving a restart.

use super::{customer, get_json, send};
use crate::support::{Api, TestDir, TestEmulator};
use facturare_etl::emulator::Config;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Fire `n` GETs at once; the statuses and the 429s' Retry-After headers.
async fn burst(api: &Api, n: usize) -> Vec<(u16, Option<String>)> {
    let futs = (0..n).map(|_| {
        let api = api.clone();
        async move {
            let r = api.get("/customers").send().await.expect("request sent");
            let ra = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let status = r.status().as_u16();
            if status == 429 {
                let e: Value = r.json().await.unwrap();
                assert_eq!(e["type"], "rate_limit_error");
            }
            (status, ra)
        }
    });
    futures::future::join_all(futs).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_in_flight_is_429_without_retry_after() {
    let emu = TestEmulator::start(Config {
        max_in_flight: 2,
        latency: Duration::from_millis(1000),
        ..Config::default()
    });
    let out = burst(&emu.api(), 8).await;
    let ok = out.iter().filter(|(s, _)| *s == 200).count();
    let limited: Vec<_> = out.iter().filter(|(s, _)| *s == 429).collect();
    assert!(ok >= 2, "{out:?}");
    assert!(!limited.is_empty(), "{out:?}");
    assert!(limited.iter().all(|(_, ra)| ra.is_none()), "{out:?}");
    assert_eq!(emu.stats().rate_limited, limited.len() as u64);
    // The slots free up again.
    let (s, _, _) = get_json(&emu.api(), "/customers").await;
    assert_eq!(s, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_quota_is_429_with_configured_retry_after() {
    let emu = TestEmulator::start(Config {
        rate_per_sec: Some(3),
        retry_after: Some(2),
        ..Config::default()
    });
    let out = burst(&emu.api(), 12).await;
    let limited: Vec<_> = out.iter().filter(|(s, _)| *s == 429).collect();
    assert!(!limited.is_empty(), "{out:?}");
    assert!(
        limited.iter().all(|(_, ra)| ra.as_deref() == Some("2")),
        "{out:?}"
    );
    let stats = emu.stats();
    assert!(stats.max_per_second <= 3, "{stats:?}");
    assert_eq!(stats.requests, 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_replays_the_first_reply() {
    let emu = TestEmulator::new();
    let api = emu.api();
    let c = customer(&api, "Alfa").await;
    let post = |body: Value, key: &str| {
        api.post("/invoices", &body)
            .header("Idempotency-Key", key)
            .send()
    };
    let r1 = post(json!({"customer": c, "number": "A-1"}), "import-key-000001")
        .await
        .unwrap();
    assert_eq!(r1.status(), 201);
    let v1: Value = r1.json().await.unwrap();
    // Same key, different body: the first reply again, nothing new made.
    let r2 = post(json!({"customer": c, "number": "B-2"}), "import-key-000001")
        .await
        .unwrap();
    assert_eq!(r2.status(), 201);
    let v2: Value = r2.json().await.unwrap();
    assert_eq!(v1, v2);
    let (_, h, _) = get_json(&api, "/invoices").await;
    assert_eq!(h["x-total-count"], "1");
    assert_eq!(emu.stats().created.get("invoices"), Some(&1));
    // An error reply is replayed too; another key does the work.
    let r = post(json!({"customer": c, "number": "A-1"}), "import-key-000002")
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = post(json!({"customer": c, "number": "C-3"}), "import-key-000002")
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = post(json!({"customer": c, "number": "C-3"}), "import-key-000003")
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // Keys must be 6 to 64 characters.
    let (s, e) = send(
        api.post("/customers", &json!({"name": "x"}))
            .header("Idempotency-Key", "short"),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "Idempotency-Key");
    let (s, _) = send(
        api.post("/customers", &json!({"name": "x"}))
            .header("Idempotency-Key", "k".repeat(65)),
    )
    .await;
    assert_eq!(s, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_rate_answers_500_before_doing_anything() {
    let emu = TestEmulator::start(Config {
        fail_rate: 1.0,
        ..Config::default()
    });
    let (s, e) = send(emu.api().post("/customers", &json!({"name": "Alfa"}))).await;
    assert_eq!(s, 500);
    assert_eq!(e["type"], "api_error");
    let stats = emu.stats();
    assert_eq!(stats.failed, 1);
    assert!(stats.created.is_empty());

    // Seeded: the same seed fails the same requests.
    let pattern = |seed: u64| {
        let emu = TestEmulator::start(Config {
            fail_rate: 0.5,
            seed,
            ..Config::default()
        });
        async move {
            let mut out = Vec::new();
            for _ in 0..16 {
                let (s, _, _) = get_json(&emu.api(), "/customers").await;
                out.push(s);
            }
            out
        }
    };
    let a = pattern(42).await;
    let b = pattern(42).await;
    assert_eq!(a, b);
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_rate_does_the_work_then_closes_the_connection() {
    let dir = TestDir::new();
    let db = dir.join("emu.db");
    let emu = TestEmulator::start(Config {
        drop_rate: 1.0,
        db: Some(db.clone()),
        ..Config::default()
    });
    let api = emu.api();
    let err = api
        .post("/customers", &json!({"name": "Alfa", "number": "C-1"}))
        .send()
        .await
        .expect_err("the connection is closed without a reply");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(
        err.is_request() || err.is_connect() || err.is_body(),
        "{err:?}"
    );
    let stats = emu.stats();
    assert_eq!(stats.dropped, 1);
    assert_eq!(stats.created.get("customers"), Some(&1));
    drop(emu);

    // The object exists: restart on the same file without faults.
    let emu = TestEmulator::start(Config {
        db: Some(db),
        ..Config::default()
    });
    let (s, h, v) = get_json(&emu.api(), "/customers?filter[number]=C-1").await;
    assert_eq!(s, 200);
    assert_eq!(h["x-total-count"], "1");
    assert_eq!(v[0]["name"], "Alfa");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_is_added_to_each_request() {
    let emu = TestEmulator::start(Config {
        latency: Duration::from_millis(150),
        ..Config::default()
    });
    let t = Instant::now();
    let (s, _, _) = get_json(&emu.api(), "/customers").await;
    assert_eq!(s, 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_restart_with_a_db_file() {
    let dir = TestDir::new();
    let db = dir.join("data/emu.db");
    let config = Config {
        db: Some(db.clone()),
        ..Config::default()
    };
    let (inv, token) = {
        let emu = TestEmulator::start(config.clone());
        let api = emu.api();
        api.create(
            "/tax_rates",
            json!({"id": "tva20", "name": "TVA", "value": 20}),
        )
        .await;
        let c = customer(&api, "Alfa").await;
        let inv = api
            .post(
                "/invoices",
                &json!({"customer": c, "items": [{"unit_cost": 10, "taxes": ["tva20"]}], "metadata": {"import_key": "k1"}}),
            )
            .header("Idempotency-Key", "persisted-key-1")
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        (inv, c)
    };
    assert!(db.exists());
    let emu = TestEmulator::start(config);
    let api = emu.api();
    let (s, _, v) = get_json(&api, &format!("/invoices/{}", inv["id"])).await;
    assert_eq!(s, 200);
    assert_eq!(v, inv);
    let (_, _, v) = get_json(&api, "/invoices?metadata[import_key]=k1").await;
    assert_eq!(v[0]["total"], json!(12));
    // Numbering and ids continue; the idempotent reply is still replayed.
    let next = api.create("/invoices", json!({"customer": token})).await;
    assert_eq!(next["number"], "INV-00002");
    assert!(next["id"].as_i64() > inv["id"].as_i64());
    let replay: Value = api
        .post("/invoices", &json!({"customer": token}))
        .header("Idempotency-Key", "persisted-key-1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replay["id"], inv["id"]);
    let (_, h, _) = get_json(&api, "/events").await;
    assert_eq!(h["x-total-count"], "4");
}
