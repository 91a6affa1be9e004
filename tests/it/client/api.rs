//! The typed client against the emulator: round trips, errors, pages,
//! retries, limits.

use super::*;

#[tokio::test]
async fn typed_crud_round_trips() {
    let emu = TestEmulator::new();
    let c = client_for(&emu, emu.key());

    let tva = c
        .create_tax_rate(
            &TaxRate {
                id: "tva20".into(),
                name: "TVA 20%".into(),
                value: dec!(20),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(tva.id, "tva20");
    assert_eq!(c.get_tax_rate("tva20").await.unwrap().value, dec!(20));

    let item = c
        .create_item(
            &Item {
                id: "paine".into(),
                name: "Pâine".into(),
                unit_cost: Some(dec!(7.5)),
                ..Default::default()
            },
            Some("idem-item-1"),
        )
        .await
        .unwrap();
    assert_eq!(item.unit_cost, Some(dec!(7.5)));
    let renamed = c
        .update_item(
            "paine",
            &Item {
                name: "Pâine albă".into(),
                ..item.clone()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Pâine albă");

    let mut alfa = customer("SRL Alfa");
    alfa.number = Some("C-1".into());
    alfa.tax_id = Some("1008600038413".into());
    let alfa = c.create_customer(&alfa, Some("idem-cust-1")).await.unwrap();
    let id = alfa.id.expect("an id");
    assert_eq!(
        c.get_customer(id).await.unwrap().name.as_deref(),
        Some("SRL Alfa")
    );
    let mut edited = alfa.clone();
    edited.email = Some("contabil@alfa.md".into());
    let edited = c.update_customer(id, &edited, None).await.unwrap();
    assert_eq!(edited.email.as_deref(), Some("contabil@alfa.md"));
    assert_eq!(
        c.find_customer_by_number("C-1")
            .await
            .unwrap()
            .and_then(|c| c.id),
        Some(id)
    );
    assert_eq!(
        c.find_customer_by_tax_id("1008600038413")
            .await
            .unwrap()
            .and_then(|c| c.id),
        Some(id)
    );
    assert!(c.find_customer_by_number("C-404").await.unwrap().is_none());

    let mut inv = Invoice {
        customer: Some(Ref::Id(id)),
        number: Some("F-1".into()),
        currency: Some("MDL".into()),
        items: vec![LineItem {
            name: Some("Pâine".into()),
            quantity: Some(dec!(3)),
            unit_cost: Some(dec!(51.15)),
            taxes: vec![AppliedRate::tax("tva20")],
            ..Default::default()
        }],
        ..Default::default()
    };
    inv.metadata.insert("import_key".into(), "k-1".into());
    let inv = c.create_invoice(&inv, Some("idem-inv-1")).await.unwrap();
    let inv_id = inv.id.unwrap();
    assert_eq!(inv.subtotal, Some(dec!(153.45)));
    assert_eq!(inv.total, Some(dec!(184.14)));
    // Sending back what we read works: read-only fields are left out.
    let mut again = c.get_invoice(inv_id).await.unwrap();
    again.notes = Some("livrare".into());
    let again = c.update_invoice(inv_id, &again, None).await.unwrap();
    assert_eq!(again.notes.as_deref(), Some("livrare"));
    assert_eq!(
        c.find_invoice_by_metadata("import_key", "k-1")
            .await
            .unwrap()
            .and_then(|i| i.id),
        Some(inv_id)
    );
    assert_eq!(
        c.find_invoice_by_number("F-1")
            .await
            .unwrap()
            .and_then(|i| i.id),
        Some(inv_id)
    );
    assert!(c
        .find_invoice_by_metadata("import_key", "nope")
        .await
        .unwrap()
        .is_none());
    let expanded: Invoice = c
        .get_expanded("/invoices", inv_id, &["customer"])
        .await
        .unwrap();
    assert_eq!(
        expanded
            .customer
            .as_ref()
            .and_then(|r| r.object())
            .and_then(|c| c.name.clone()),
        Some("SRL Alfa".into())
    );

    let pay = c
        .create_payment(
            &Payment {
                amount: Some(dec!(100)),
                customer: Some(Ref::Id(id)),
                method: Some("wire_transfer".into()),
                applied_to: vec![PaymentApplication {
                    kind: "invoice".into(),
                    invoice: Some(Ref::Id(inv_id)),
                    credit_note: None,
                    amount: dec!(100),
                }],
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        c.get_invoice(inv_id).await.unwrap().balance,
        Some(dec!(84.14))
    );
    let voided = c.void_payment(pay.id.unwrap()).await.unwrap();
    assert_eq!(voided.voided, Some(true));
    assert_eq!(
        c.get_invoice(inv_id).await.unwrap().balance,
        Some(dec!(184.14))
    );

    let cn = c
        .create_credit_note(
            &CreditNote {
                customer: Some(Ref::Id(id)),
                items: vec![LineItem {
                    name: Some("retur".into()),
                    unit_cost: Some(dec!(10)),
                    ..Default::default()
                }],
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let cn = c.void_credit_note(cn.id.unwrap()).await.unwrap();
    assert_eq!(cn.status.as_deref(), Some("voided"));

    let voided = c.void_invoice(inv_id).await.unwrap();
    assert_eq!(voided.status.as_deref(), Some("voided"));

    let other = c.create_customer(&customer("Temp"), None).await.unwrap();
    c.delete_customer(other.id.unwrap()).await.unwrap();
    let gone = c.get_customer(other.id.unwrap()).await.unwrap_err();
    assert_eq!(gone.status(), Some(404));
    c.delete_item("paine").await.unwrap();
    assert_eq!(c.get_item("paine").await.unwrap_err().status(), Some(404));
}

#[tokio::test]
async fn errors_are_decoded_with_status_type_message_and_param() {
    let emu = TestEmulator::new();
    let c = client_for(&emu, emu.key());
    let id = c
        .create_customer(&customer("A"), None)
        .await
        .unwrap()
        .id
        .unwrap();
    let inv = Invoice {
        customer: Some(Ref::Id(id)),
        number: Some("DUP-1".into()),
        ..Default::default()
    };
    c.create_invoice(&inv, None).await.unwrap();
    let dup = Invoice {
        number: Some("dup-1".into()),
        ..inv.clone()
    };
    let err = c.create_invoice(&dup, None).await.unwrap_err();
    match &err {
        ApiError::Api {
            status,
            kind,
            param,
            ..
        } => {
            assert_eq!(*status, 400);
            assert_eq!(kind, "invalid_request");
            assert_eq!(param.as_deref(), Some("number"));
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    assert!(err.is_rejection() && !err.is_ambiguous() && !err.is_auth());
    assert_eq!(err.param(), Some("number"));

    let before = c.stats().requests;
    let err = c
        .create_customer(&customer("B"), Some("bad\nkey"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::BadRequest { .. }), "{err:?}");
    assert!(!err.is_ambiguous() && err.status().is_none());
    assert_eq!(c.stats().requests, before, "nothing was sent");

    let err = c.get_invoice(987_654).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(err.is_rejection());

    let bad = client_for(&emu, "wrong_key_0123456789");
    let err = bad
        .get::<serde_json::Value>("/customers", &[])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(err.is_auth());
    assert!(!all_text(&err).contains("wrong_key_0123456789"), "{err:?}");
}

/// A server that is not facturare.md (a proxy's HTML error page, a 200 with
/// garbage): the errors still read well.
#[tokio::test]
async fn non_json_replies_give_clear_errors() {
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/customers",
            get(|| async {
                (
                    axum::http::StatusCode::BAD_GATEWAY,
                    "<html>Bad Gateway</html>",
                )
            }),
        )
        .route("/invoices", get(|| async { "not json" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut cfg = ClientConfig::new(
        Url::parse(&url).unwrap(),
        Credentials::ApiKey(ApiKey::new("k_proxy_secret")),
    );
    cfg.max_retries = 1;
    let c = Client::new(cfg).unwrap();
    let err = c
        .get::<serde_json::Value>("/customers", &[])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert!(err.to_string().contains("Bad Gateway"), "{err}");
    assert_eq!(c.stats().retries, 1, "a GET is retried after a 5xx");
    let err = c.get::<Vec<Invoice>>("/invoices", &[]).await.unwrap_err();
    assert!(matches!(err, ApiError::Decode { .. }), "{err:?}");
    assert!(
        err.is_ambiguous(),
        "a 2xx took effect; its result is unknown"
    );
    assert!(err.to_string().contains("not json"), "{err}");
}

#[tokio::test]
async fn lists_stream_every_page_with_the_total() {
    let emu = TestEmulator::new();
    let c = client_for(&emu, emu.key());
    let mut tasks = Vec::new();
    for i in 0..250 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.create_customer(&customer(&format!("Client {i:03}")), None)
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let pages: Vec<_> = c
        .list_customers(&ListQuery {
            expand: vec![],
            sort: Some("name asc".into()),
            ..Default::default()
        })
        .collect()
        .await;
    let pages: Vec<_> = pages.into_iter().map(Result::unwrap).collect();
    assert_eq!(pages.len(), 3);
    assert_eq!(
        pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        [100, 100, 50]
    );
    assert_eq!(pages.iter().map(|p| p.page).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(pages.iter().all(|p| p.total == Some(250)));
    let names: Vec<String> = pages
        .iter()
        .flat_map(|p| p.items.iter().map(|c| c.name.clone().unwrap()))
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(names, sorted, "in order, no repeats");
    // A filter narrows the stream and its total.
    let all: Vec<Customer> = c
        .list_all(
            "/customers",
            &ListQuery::default().filter("name", "Client 007"),
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}

#[tokio::test]
async fn reads_are_retried_through_injected_failures() {
    let emu = TestEmulator::start(Config {
        fail_rate: 0.3,
        seed: 7,
        ..Config::default()
    });
    let c = client_for(&emu, emu.key());
    // Setting up: a 500 from this emulator happens before any work, so the
    // test may simply try again.
    let mut id = None;
    for _ in 0..50 {
        if let Ok(cu) = c.create_customer(&customer("Beta"), None).await {
            id = cu.id;
            break;
        }
    }
    let id = id.expect("a create got through");
    for _ in 0..40 {
        let got = c.get_customer(id).await.expect("GETs get through");
        assert_eq!(got.name.as_deref(), Some("Beta"));
    }
    assert!(c.stats().retries > 0, "{:?}", c.stats());
}

#[tokio::test]
async fn writes_are_not_retried_and_come_back_ambiguous() {
    let emu = TestEmulator::start(Config {
        fail_rate: 1.0,
        ..Config::default()
    });
    let c = client_for(&emu, emu.key());
    let err = c
        .create_customer(&customer("Gamma"), Some("idem-gamma-1"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(err.is_ambiguous() && !err.is_rejection());
    assert_eq!(c.stats().requests, 1);
    assert_eq!(c.stats().retries, 0);
    assert_eq!(emu.stats().requests, 1, "the POST was sent once");
}

#[tokio::test]
async fn dropped_connections_are_ambiguous() {
    let emu = TestEmulator::start(Config {
        drop_rate: 1.0,
        ..Config::default()
    });
    let mut cfg = config_for(&emu, emu.key());
    cfg.max_retries = 2;
    let c = Client::new(cfg).unwrap();
    let err = c
        .create_customer(&customer("Delta"), None)
        .await
        .unwrap_err();
    assert!(err.is_ambiguous(), "{err:?}");
    assert_eq!(err.status(), None);
    assert_eq!(emu.stats().dropped, 1, "POST sent once, done, dropped");
    let err = c.get::<Vec<Customer>>("/customers", &[]).await.unwrap_err();
    assert!(err.is_ambiguous(), "{err:?}");
    assert_eq!(c.stats().retries, 2, "the GET was retried");
}

async fn burst(c: &Client, n: usize) {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.get::<Vec<Customer>>("/customers", &[]).await
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("every request gets through");
    }
}

#[tokio::test]
async fn rate_limits_are_waited_out_with_retry_after() {
    let emu = TestEmulator::start(Config {
        rate_per_sec: Some(10),
        retry_after: Some(1),
        ..Config::default()
    });
    let c = client_for(&emu, emu.key());
    burst(&c, 30).await;
    let s = c.stats();
    assert!(s.rate_limited > 0, "{s:?}");
    assert_eq!(s.rate_limited, emu.stats().rate_limited);
    assert!(s.current_rate.is_some(), "the client slowed down: {s:?}");
}

#[tokio::test]
async fn rate_limits_are_waited_out_without_retry_after() {
    let emu = TestEmulator::start(Config {
        max_in_flight: 2,
        latency: Duration::from_millis(30),
        ..Config::default()
    });
    let mut cfg = config_for(&emu, emu.key());
    cfg.max_in_flight = 8;
    let c = Client::new(cfg).unwrap();
    burst(&c, 30).await;
    assert!(c.stats().rate_limited > 0, "{:?}", c.stats());
}

#[tokio::test]
async fn clones_share_one_concurrency_limit() {
    let emu = TestEmulator::start(Config {
        max_in_flight: 2,
        latency: Duration::from_millis(20),
        ..Config::default()
    });
    let mut cfg = config_for(&emu, emu.key());
    cfg.max_in_flight = 2;
    let c = Client::new(cfg).unwrap();
    let clones: Vec<Client> = (0..6).map(|_| c.clone()).collect();
    let mut tasks = Vec::new();
    for (i, cl) in clones.iter().enumerate() {
        for _ in 0..4 {
            let cl = cl.clone();
            tasks.push(tokio::spawn(async move {
                cl.create_customer(&customer(&format!("clone {i}")), None)
                    .await
            }));
        }
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(emu.stats().rate_limited, 0, "never more than 2 in flight");
    assert_eq!(clones[3].stats().requests, 24, "one set of counters");
    assert_eq!(c.stats().in_flight, 0);
}

#[tokio::test]
async fn a_configured_rate_is_shared_and_respected() {
    let emu = TestEmulator::start(Config {
        rate_per_sec: Some(20),
        ..Config::default()
    });
    let mut cfg = config_for(&emu, emu.key());
    cfg.rate_per_sec = Some(10);
    let c = Client::new(cfg).unwrap();
    burst(&c, 15).await;
    assert_eq!(emu.stats().rate_limited, 0);
    assert_eq!(c.stats().current_rate, Some(10.0));
}

#[test]
fn plain_http_is_refused_except_to_loopback() {
    let cfg = ClientConfig::new(
        Url::parse("http://api.facturare.md").unwrap(),
        Credentials::ApiKey(ApiKey::new("k")),
    );
    assert!(matches!(Client::new(cfg), Err(ApiError::InsecureUrl(_))));
    let dir = TestDir::new();
    let mut g = global(&dir.join(".facturare"));
    g.api_url = Some("http://example.com/".into());
    let err = resolve_with(&g, Some("sk_12345678".into())).unwrap_err();
    assert!(matches!(err, ConfigError::InsecureUrl { .. }), "{err}");
    g.api_url = Some("http://127.0.0.1:9/".into());
    let s = resolve_with(&g, Some("sk_12345678".into())).unwrap();
    assert_eq!(s.env_label, "http://127.0.0.1:9");
}
