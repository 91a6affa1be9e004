//! The API client, environments and `auth`, against the real emulator over
//! loopback: typed round trips, error decoding, paging, retries under
//! injected faults, the shared limits, OAuth, and no secret in any error.

use crate::support::{bin, bin_path, TestDir, TestEmulator};
use facturare_etl::api::{
    ApiError, ApiKey, Client, ClientConfig, Credentials, ListQuery, TokenFile, TokenSource,
};
use facturare_etl::config::{self, ConfigError, CredentialSource, Request, Settings, Target};
use facturare_etl::emulator::{Config, KeySpec};
use facturare_etl::model::{
    AppliedRate, CreditNote, Customer, Invoice, Item, LineItem, Payment, PaymentApplication, Ref,
    TaxRate,
};
use facturare_etl::ops::{self, ConnectOptions, Silent};
use futures::StreamExt;
use rust_decimal_macros::dec;
use std::io::BufRead;
use std::path::Path;
use std::time::Duration;
use url::Url;

fn client_for(emu: &TestEmulator, key: &str) -> Client {
    Client::new(config_for(emu, key)).expect("a client")
}

fn config_for(emu: &TestEmulator, key: &str) -> ClientConfig {
    ClientConfig::new(
        Url::parse(emu.url()).unwrap(),
        Credentials::ApiKey(ApiKey::new(key)),
    )
}

fn customer(name: &str) -> Customer {
    Customer {
        name: Some(name.to_string()),
        ..Default::default()
    }
}

fn global(data_dir: &Path) -> Request {
    Request {
        data_dir: data_dir.to_path_buf(),
        ..Request::default()
    }
}

/// The settings of `req` with `FACTURARE_API_KEY` set to `api_key_env`.
fn resolve_with(req: &Request, api_key_env: Option<String>) -> Result<Settings, ConfigError> {
    Settings::resolve(&Request {
        api_key_env,
        ..req.clone()
    })
}

/// Every way of printing an error, chain included.
fn all_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut s = format!("{err} | {err:?}");
    let mut src = err.source();
    while let Some(e) = src {
        s.push_str(&format!(" | {e} | {e:?}"));
        src = e.source();
    }
    s
}

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

#[test]
fn settings_follow_the_precedence() {
    let dir = TestDir::new();
    let data = dir.join(".facturare");
    dir.write(".facturare/keys/main.key", "key_from_config\n");
    dir.write(".facturare/keys/acme.key", "key_acme_config\n");
    dir.write("flag.key", "key_from_flag\n");
    dir.write(
        ".facturare/config.toml",
        "env = \"sandbox\"\napi_key_file = \"keys/main.key\"\n\n[profiles.acme]\napi_url = \"https://acme.example\"\napi_key_file = \"keys/acme.key\"\n",
    );
    let key_of = |s: &Settings| match &s.target {
        Target::Remote {
            credentials: Credentials::ApiKey(k),
            ..
        } => k.expose().to_string(),
        other => panic!("expected a key, got {other:?}"),
    };

    // Config file only.
    let s = resolve_with(&global(&data), None).unwrap();
    assert_eq!(s.env_label, "sandbox");
    assert_eq!(key_of(&s), "key_from_config");
    assert!(matches!(
        s.credential_source,
        CredentialSource::KeyFileConfig(_)
    ));
    assert_eq!(s.ledger_path(), data.join("ledger.db"));

    // The environment variable beats the config file; the flag beats both.
    let s = resolve_with(&global(&data), Some("key_from_env".into())).unwrap();
    assert_eq!(key_of(&s), "key_from_env");
    let mut g = global(&data);
    g.api_key_file = Some(dir.join("flag.key"));
    let s = resolve_with(&g, Some("key_from_env".into())).unwrap();
    assert_eq!(key_of(&s), "key_from_flag");

    // --env beats the file's env; --api-url beats --env.
    let mut g = global(&data);
    g.env = Some(config::EnvName::Production);
    let s = resolve_with(&g, None).unwrap();
    assert_eq!(s.env_label, "production");
    match &s.target {
        Target::Remote { base_url, .. } => {
            assert_eq!(base_url.as_str(), "https://api.facturare.md/")
        }
        other => panic!("{other:?}"),
    }
    g.api_url = Some("https://other.example/".into());
    assert_eq!(
        resolve_with(&g, None).unwrap().env_label,
        "https://other.example"
    );

    // A profile: its own URL, key and data dir.
    let mut g = global(&data);
    g.profile = Some("acme".into());
    let s = resolve_with(&g, None).unwrap();
    assert_eq!(s.env_label, "https://acme.example");
    assert_eq!(key_of(&s), "key_acme_config");
    assert_eq!(s.data_dir, data.join("profiles").join("acme"));

    // An unknown profile is named, with a suggestion.
    g.profile = Some("acmee".into());
    let err = resolve_with(&g, None).unwrap_err().to_string();
    assert!(
        err.contains("acmee") && err.contains("did you mean `acme`"),
        "{err}"
    );
}

#[test]
fn no_key_means_the_local_emulator_and_bad_keys_are_named() {
    let dir = TestDir::new();
    let data = dir.join(".facturare");
    let s = resolve_with(&global(&data), None).unwrap();
    assert_eq!(s.env_label, "local");
    assert!(s.defaulted_to_local);
    assert!(matches!(&s.target, Target::Local { db } if *db == data.join("local.db")));

    // A key configured and no environment named: production.
    let s = resolve_with(&global(&data), Some("k_123456".into())).unwrap();
    assert_eq!(s.env_label, "production");

    // Empty keys are errors naming where they came from.
    let empty = dir.write("empty.key", "\n");
    let mut g = global(&data);
    g.api_key_file = Some(empty);
    let err = resolve_with(&g, None).unwrap_err().to_string();
    assert!(err.contains("empty.key") && err.contains("empty"), "{err}");
    let err = resolve_with(&global(&data), Some("  ".into()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("FACTURARE_API_KEY"), "{err}");

    // Sandbox without any credential says how to give one.
    let mut g = global(&data);
    g.env = Some(config::EnvName::Sandbox);
    let err = resolve_with(&g, None).unwrap_err();
    assert!(matches!(err, ConfigError::NoCredentials { .. }), "{err}");

    // Unknown keys in the config file: file:line:col.
    dir.write(
        ".facturare/config.toml",
        "env = \"local\"\nap_url = \"x\"\n",
    );
    let err = resolve_with(&global(&data), None).unwrap_err().to_string();
    assert!(err.contains("config.toml:2:1"), "{err}");
}

#[tokio::test]
async fn profiles_keep_their_local_data_apart() {
    let dir = TestDir::new();
    let data = dir.join(".facturare");
    dir.write(
        ".facturare/config.toml",
        "[profiles.alfa]\nenv = \"local\"\n\n[profiles.beta]\nenv = \"local\"\n",
    );
    let settings = |p: &str| {
        let mut g = global(&data);
        g.profile = Some(p.into());
        resolve_with(&g, None).unwrap()
    };
    let (a, b) = (settings("alfa"), settings("beta"));
    assert_ne!(a.data_dir, b.data_dir);
    assert_ne!(a.ledger_path(), b.ledger_path());
    assert_eq!(a.env_label, "local");

    let conn = ops::connect(&a, ConnectOptions::default(), &Silent)
        .await
        .unwrap();
    assert!(conn.is_embedded());
    assert!(conn.client.base_url().host_str() == Some("127.0.0.1"));
    conn.client
        .create_customer(&customer("Only in alfa"), None)
        .await
        .unwrap();
    conn.close().await;

    let conn = ops::connect(&b, ConnectOptions::default(), &Silent)
        .await
        .unwrap();
    let seen: Vec<Customer> = conn
        .client
        .list_all("/customers", &ListQuery::default())
        .await
        .unwrap();
    assert!(seen.is_empty(), "beta sees none of alfa's data");
    conn.close().await;

    // Alfa's data survived its emulator's restart.
    let conn = ops::connect(&a, ConnectOptions::default(), &Silent)
        .await
        .unwrap();
    let seen: Vec<Customer> = conn
        .client
        .list_all("/customers", &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(seen.len(), 1);
    conn.close().await;
    assert!(a.data_dir.join("local.db").exists());
    assert!(b.data_dir.join("local.db").exists());
}

#[tokio::test]
async fn no_secret_appears_in_any_error() {
    const KEY: &str = "sk_live_SECRET_4242424242";
    let emu = TestEmulator::start(Config {
        keys: vec![KeySpec::new(KEY, "acme")],
        ..Config::default()
    });
    let mut errors: Vec<Box<dyn std::error::Error>> = Vec::new();
    let c = client_for(&emu, KEY);
    errors.push(Box::new(c.get_invoice(1).await.unwrap_err()));
    errors.push(Box::new(
        c.create_invoice(&Invoice::default(), Some("idem-123456"))
            .await
            .unwrap_err(),
    ));
    errors.push(Box::new(
        c.get::<serde_json::Value>("/customers", &[("filter[nope]".into(), "1".into())])
            .await
            .unwrap_err(),
    ));
    let wrong = format!("{KEY}_wrong");
    errors.push(Box::new(
        client_for(&emu, &wrong).get_customer(1).await.unwrap_err(),
    ));
    // Nothing listens on the port of a stopped server: a network error.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut cfg = ClientConfig::new(
        Url::parse(&format!("http://{closed}")).unwrap(),
        Credentials::ApiKey(ApiKey::new(KEY)),
    );
    cfg.max_retries = 0;
    errors.push(Box::new(
        Client::new(cfg).unwrap().get_customer(1).await.unwrap_err(),
    ));
    // A timeout.
    let slow = TestEmulator::start(Config {
        keys: vec![KeySpec::new(KEY, "acme")],
        latency: Duration::from_millis(800),
        ..Config::default()
    });
    let mut cfg = config_for(&slow, KEY);
    cfg.timeout = Duration::from_millis(200);
    cfg.max_retries = 0;
    let err = Client::new(cfg).unwrap().get_customer(1).await.unwrap_err();
    assert!(matches!(err, ApiError::Timeout { .. }), "{err:?}");
    errors.push(Box::new(err));
    errors.push(Box::new(
        Client::new(ClientConfig::new(
            Url::parse("http://example.com").unwrap(),
            Credentials::ApiKey(ApiKey::new(KEY)),
        ))
        .unwrap_err(),
    ));
    // Settings errors around a key.
    let dir = TestDir::new();
    let mut g = global(&dir.join(".facturare"));
    g.api_url = Some("http://example.com".into());
    errors.push(Box::new(resolve_with(&g, Some(KEY.into())).unwrap_err()));
    for e in &errors {
        let text = all_text(e.as_ref());
        assert!(!text.contains("SECRET_4242"), "{text}");
    }
    let cfg = config_for(&emu, KEY);
    assert!(!format!("{cfg:?} {c:?}").contains("SECRET_4242"));
}

/// Run `auth login` against the emulator, following the authorize
/// redirect to the CLI's loopback listener.
fn cli_login(dir: &TestDir, emu: &TestEmulator) -> std::process::Output {
    let mut child = std::process::Command::new(bin_path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.join("home"))
        .env("FACTURARE_DATA_DIR", dir.join(".facturare"))
        .current_dir(dir.path())
        .args(["--api-url", emu.url(), "auth", "login", "--timeout", "60"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufReader::new(stderr).lines();
    let mut seen = String::new();
    let url = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("no authorize URL in: {seen}"))
            .unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.trim().starts_with("http") {
            break line.trim().to_string();
        }
    };
    assert!(
        url.starts_with(&format!("{}/oauth/authorize?", emu.url())),
        "{url}"
    );
    assert!(url.contains("state="), "{url}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let landed = rt.block_on(async {
        let resp = reqwest::get(&url).await.expect("the redirect is followed");
        (resp.status(), resp.url().clone())
    });
    assert_eq!(landed.0, 200, "the CLI's listener answered");
    assert_eq!(landed.1.path(), "/callback");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let mut out = child.wait_with_output().unwrap();
    out.stderr = format!("{seen}{}", rest.join("\n")).into_bytes();
    out
}

fn tokens_of(path: &Path) -> TokenFile {
    TokenFile::read(path).unwrap()
}

#[test]
fn oauth_login_bearer_calls_refresh_with_rotation_and_logout() {
    let emu = TestEmulator::new();
    let dir = TestDir::new();
    let out = cli_login(&dir, &emu);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.join(".facturare/tokens.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let first = tokens_of(&path);
    assert!(first.refresh_token.is_some());
    assert!(first.expires_at.is_some());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(&first.access_token), "{stderr}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Settings pick the stored tokens up: Bearer calls work.
        let mut g = global(&dir.join(".facturare"));
        g.api_url = Some(emu.url().to_string());
        let s = resolve_with(&g, None).unwrap();
        assert!(matches!(s.credential_source, CredentialSource::Tokens(_)));
        let conn = ops::connect(&s, ConnectOptions::default(), &Silent)
            .await
            .unwrap();
        let made = conn
            .client
            .create_customer(&customer("Via OAuth"), None)
            .await
            .unwrap();

        // Refresh with rotation: the newest refresh token is written back.
        let Credentials::Bearer(ts) = conn.client.credentials().clone() else {
            panic!("expected bearer credentials")
        };
        ts.refresh().await.unwrap();
        let second = tokens_of(&path);
        assert_ne!(second.access_token, first.access_token);
        assert_ne!(second.refresh_token, first.refresh_token, "rotated");
        conn.client.get_customer(made.id.unwrap()).await.unwrap();

        // The old refresh token no longer works.
        let stale = TokenSource::new(first.clone(), None).unwrap();
        let err = stale.refresh().await.unwrap_err();
        assert!(err.is_auth(), "{err}");
        assert!(!all_text(&err).contains(first.refresh_token.as_deref().unwrap()));

        // A refused access token: refreshed once after the 401, then the call works.
        let mut broken = second.clone();
        broken.access_token = "not-a-valid-token".into();
        broken.write(&path).unwrap();
        let ts = TokenSource::load(&path).unwrap();
        let c = Client::new(ClientConfig::new(
            Url::parse(emu.url()).unwrap(),
            Credentials::Bearer(ts),
        ))
        .unwrap();
        c.get_customer(made.id.unwrap()).await.unwrap();
        let third = tokens_of(&path);
        assert_ne!(third.access_token, "not-a-valid-token");
        assert_ne!(third.refresh_token, second.refresh_token);

        // An access token about to expire is refreshed before the call.
        let mut expiring = third.clone();
        expiring.expires_at = Some(chrono::Utc::now().timestamp() + 5);
        expiring.write(&path).unwrap();
        let ts = TokenSource::load(&path).unwrap();
        let c = Client::new(ClientConfig::new(
            Url::parse(emu.url()).unwrap(),
            Credentials::Bearer(ts),
        ))
        .unwrap();
        c.get_customer(made.id.unwrap()).await.unwrap();
        let fourth = tokens_of(&path);
        assert_ne!(fourth.access_token, third.access_token);
        assert!(fourth.expires_at.unwrap() > chrono::Utc::now().timestamp() + 60);
        conn.close().await;
    });

    // Status tells what is configured, never a token.
    let now = tokens_of(&path);
    let out = bin(dir.path())
        .args(["--api-url", emu.url(), "auth", "status"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("OAuth tokens"), "{text}");
    assert!(text.contains("refresh token: stored"), "{text}");
    assert!(!text.contains(&now.access_token), "{text}");
    assert!(
        !text.contains(now.refresh_token.as_deref().unwrap()),
        "{text}"
    );
    assert!(!text.contains(&now.client_secret), "{text}");

    // Tokens of one environment are not sent to another.
    let out = bin(dir.path())
        .args(["--env", "sandbox", "auth", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("issued for {}", emu.url())),
        "{stderr}"
    );

    bin(dir.path()).args(["auth", "logout"]).assert().success();
    assert!(!path.exists());
    let out = bin(dir.path())
        .args(["--api-url", emu.url(), "auth", "status"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("credentials: none"));
}

#[test]
fn auth_status_names_a_key_source_without_the_key() {
    let dir = TestDir::new();
    dir.write("my.key", "sk_status_SECRET_99\n");
    let out = bin(dir.path())
        .args([
            "--env",
            "sandbox",
            "--api-key-file",
            "my.key",
            "auth",
            "status",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("environment: sandbox (https://api.sandbox.facturare.md/)"),
        "{stdout}"
    );
    assert!(stdout.contains("--api-key-file my.key"), "{stdout}");
    assert!(!stdout.contains("SECRET_99"), "{stdout}");
    let out = bin(dir.path())
        .env("FACTURARE_API_KEY", "sk_env_SECRET_77")
        .args(["--json", "auth", "status"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["env"], "production");
    assert!(v["credentials"]
        .as_str()
        .unwrap()
        .contains("FACTURARE_API_KEY"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("SECRET_77"));
}

#[test]
fn auth_login_refuses_the_local_environment() {
    let dir = TestDir::new();
    let out = bin(dir.path()).args(["auth", "login"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs no login"));
}

#[test]
fn oauth_login_takes_a_pasted_redirect_and_checks_its_state() {
    use std::io::Write;
    let emu = TestEmulator::new();
    let run = |tamper: bool| {
        let dir = TestDir::new();
        let mut child = std::process::Command::new(bin_path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("FACTURARE_DATA_DIR", dir.join(".facturare"))
            .current_dir(dir.path())
            .args([
                "--api-url",
                emu.url(),
                "auth",
                "login",
                "--no-browser-listener",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("an authorize URL").unwrap();
            if line.trim().starts_with("http") {
                break line.trim().to_string();
            }
        };
        let rt = tokio::runtime::Runtime::new().unwrap();
        let location = rt.block_on(async {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let resp = http.get(&url).send().await.unwrap();
            assert!(resp.status().is_redirection(), "{}", resp.status());
            resp.headers()["location"].to_str().unwrap().to_string()
        });
        assert!(
            location.starts_with("http://127.0.0.1/callback?"),
            "{location}"
        );
        let pasted = if tamper {
            location.replace("state=", "state=x")
        } else {
            location
        };
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{pasted}").unwrap();
        drop(stdin);
        let rest: Vec<String> = lines.map_while(Result::ok).collect();
        let status = child.wait().unwrap();
        (status, rest.join("\n"), dir)
    };
    let (status, stderr, dir) = run(false);
    assert!(status.success(), "{stderr}");
    assert!(dir.join(".facturare/tokens.json").exists());
    let (status, stderr, dir) = run(true);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("state"), "{stderr}");
    assert!(!dir.join(".facturare/tokens.json").exists());
}
