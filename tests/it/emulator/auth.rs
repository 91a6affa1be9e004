//! Basic keys, 401s, company isolation, and the OAuth 2.0 flow.

use super::{get_json, send};
use crate::support::{http_client, Api, TestEmulator};
use facturare_etl::emulator::{Config, KeySpec};
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_wrong_key_is_401_with_masked_key() {
    let emu = TestEmulator::new();
    let r = http_client()
        .get(format!("{}/customers", emu.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["type"], "invalid_request");

    let wrong = "sk_wrong_secret_key_9876";
    let r = Api::new(emu.url(), wrong)
        .get("/invoices")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let e: Value = r.json().await.unwrap();
    let msg = e["message"].as_str().unwrap();
    assert!(!msg.contains(wrong), "{msg}");
    assert!(!msg.contains("sk_wrong"), "{msg}");
    assert!(msg.contains("****"), "{msg}");

    let r = http_client()
        .get(format!("{}/invoices", emu.url()))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(emu.stats().created.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_company_never_sees_another() {
    let emu = TestEmulator::start(Config {
        keys: vec![
            KeySpec::new("key_acme", "acme"),
            KeySpec::new("key_acme_2", "acme"),
            KeySpec::new("key_globex", "globex"),
        ],
        ..Config::default()
    });
    let acme = Api::new(emu.url(), "key_acme");
    let acme2 = Api::new(emu.url(), "key_acme_2");
    let globex = Api::new(emu.url(), "key_globex");
    let c = acme
        .create("/customers", json!({"name": "Alfa", "number": "C-1"}))
        .await;
    let id = c["id"].as_i64().unwrap();

    // Another key of the same company sees it.
    let (s, _, _) = get_json(&acme2, &format!("/customers/{id}")).await;
    assert_eq!(s, 200);
    // Another company does not: not in lists, not by id, not to write.
    let (s, h, list) = get_json(&globex, "/customers").await;
    assert_eq!(s, 200);
    assert_eq!(h["x-total-count"], "0");
    assert_eq!(list, json!([]));
    let (s, _, _) = get_json(&globex, &format!("/customers/{id}")).await;
    assert_eq!(s, 404);
    let (s, _) = send(globex.patch(&format!("/customers/{id}"), &json!({"name": "x"}))).await;
    assert_eq!(s, 404);
    let (s, e) = send(globex.post("/invoices", &json!({"customer": id}))).await;
    assert_eq!(s, 400);
    assert_eq!(e["param"], "customer");
    // Numbers are unique per company only.
    globex
        .create("/customers", json!({"name": "Other", "number": "C-1"}))
        .await;
    let (_, h, _) = get_json(&acme, "/events").await;
    assert_eq!(h["x-total-count"], "1");
}

async fn authorize(emu: &TestEmulator, state: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .get(format!("{}/oauth/authorize", emu.url()))
        .query(&[
            ("response_type", "code"),
            ("client_id", "facturare-etl"),
            ("redirect_uri", "http://127.0.0.1:9/callback"),
            ("scope", "read_write"),
            ("state", state),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(loc.path(), "/callback");
    let q: Vec<(String, String)> = loc.query_pairs().into_owned().collect();
    assert!(q.contains(&("state".to_string(), state.to_string())));
    q.into_iter().find(|(k, _)| k == "code").unwrap().1
}

async fn token(emu: &TestEmulator, form: &[(&str, &str)]) -> (u16, Value) {
    send(
        http_client()
            .post(format!("{}/oauth/access_token", emu.url()))
            .form(form),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_code_token_rotation_and_bearer() {
    let emu = TestEmulator::new();
    let api = emu.api();
    api.create("/customers", json!({"name": "Alfa"})).await;

    let code = authorize(&emu, "xyz").await;
    let (s, t) = token(
        &emu,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9/callback"),
            ("client_id", "facturare-etl"),
            ("client_secret", "local-secret"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 3600);
    let access = t["access_token"].as_str().unwrap().to_string();
    let refresh = t["refresh_token"].as_str().unwrap().to_string();

    // The code is single-use.
    let (s, e) = token(
        &emu,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "facturare-etl"),
            ("client_secret", "local-secret"),
        ],
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["error"], "invalid_grant");

    // Bearer works on every route and sees the first key's company.
    let bearer = |tok: &str| {
        http_client()
            .get(format!("{}/customers", emu.url()))
            .bearer_auth(tok)
    };
    let (s, list) = send(bearer(&access)).await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Refresh rotates: the old refresh token is refused afterwards.
    let refresh_form = |rt: &str| {
        vec![
            ("grant_type".to_string(), "refresh_token".to_string()),
            ("refresh_token".to_string(), rt.to_string()),
            ("client_id".to_string(), "facturare-etl".to_string()),
            ("client_secret".to_string(), "local-secret".to_string()),
        ]
    };
    let (s, t2) = send(
        http_client()
            .post(format!("{}/oauth/access_token", emu.url()))
            .form(&refresh_form(&refresh)),
    )
    .await;
    assert_eq!(s, 200, "{t2}");
    let refresh2 = t2["refresh_token"].as_str().unwrap();
    assert_ne!(refresh2, refresh);
    let (s, e) = send(
        http_client()
            .post(format!("{}/oauth/access_token", emu.url()))
            .form(&refresh_form(&refresh)),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(e["error"], "invalid_grant");
    assert!(!e.to_string().contains(&refresh));
    let (s, _) = send(bearer(t2["access_token"].as_str().unwrap())).await;
    assert_eq!(s, 200);
    let (s, _) = send(
        http_client()
            .post(format!("{}/oauth/access_token", emu.url()))
            .form(&refresh_form(refresh2)),
    )
    .await;
    assert_eq!(s, 200);

    // A wrong client secret is refused.
    let (s, e) = token(
        &emu,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh2),
            ("client_id", "facturare-etl"),
            ("client_secret", "nope"),
        ],
    )
    .await;
    assert_eq!(s, 401);
    assert_eq!(e["error"], "invalid_client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_access_token_is_401() {
    let emu = TestEmulator::start(Config {
        token_ttl: Duration::ZERO,
        oauth_clients: vec![facturare_etl::emulator::OAuthClient::new(
            "my-app",
            "my-secret",
        )],
        ..Config::default()
    });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .get(format!(
            "{}/oauth/authorize?response_type=code&client_id=my-app&redirect_uri=http://localhost/cb&company=acme",
            emu.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let code = loc
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    // Client credentials as HTTP Basic (RFC 6749 2.3.1).
    let (s, t) = send(
        http_client()
            .post(format!("{}/oauth/access_token", emu.url()))
            .basic_auth("my-app", Some("my-secret"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://localhost/cb"),
            ]),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["expires_in"], 0);
    let r = http_client()
        .get(format!("{}/invoices", emu.url()))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let e: Value = r.json().await.unwrap();
    assert!(e["message"].as_str().unwrap().contains("expired"));
    // The default client is not known to this emulator; nor is a stranger company.
    let r = client
        .get(format!(
            "{}/oauth/authorize?response_type=code&client_id=facturare-etl&redirect_uri=http://localhost/cb",
            emu.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client
        .get(format!(
            "{}/oauth/authorize?response_type=code&client_id=my-app&redirect_uri=http://localhost/cb&company=globex",
            emu.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// A third-party client's codes go only to its registered redirect URIs:
/// any other gets the RFC 6749 error page and no code, with no redirect;
/// and the exchange checks the URI again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_go_only_to_registered_redirect_uris() {
    let mut app = facturare_etl::emulator::OAuthClient::new("their-app", "their-secret");
    app.redirect_uris = vec!["https://app.example/cb".into()];
    let emu = TestEmulator::start(Config {
        oauth_clients: vec![
            app,
            facturare_etl::emulator::OAuthClient::new("cli", "cli-secret"),
        ],
        ..Config::default()
    });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let authorize = |id: &str, uri: &str| {
        client
            .get(format!("{}/oauth/authorize", emu.url()))
            .query(&[
                ("response_type", "code"),
                ("client_id", id),
                ("redirect_uri", uri),
            ])
            .send()
    };
    for (id, uri) in [
        ("their-app", "http://evil.example/cb"),
        ("their-app", "https://app.example/cb/../evil"),
        ("their-app", "https://app.example/cb2"),
        ("their-app", "http://127.0.0.1:9/cb"),
        ("cli", "http://evil.example/cb"),
        ("cli", "https://localhost/cb"),
        ("cli", "http://user@127.0.0.1/cb"),
    ] {
        let r = authorize(id, uri).await.unwrap();
        assert_eq!(r.status(), 400, "{id} {uri}");
        assert!(!r.headers().contains_key("location"), "{id} {uri}");
        let body = r.text().await.unwrap();
        assert!(body.contains("invalid_request"), "{id} {uri}: {body}");
        assert!(!body.contains("code_"), "{id} {uri}: a code in {body}");
    }
    // The registered URI, and a loopback one for a client with none.
    let mut codes = Vec::new();
    for (id, uri) in [
        ("their-app", "https://app.example/cb"),
        ("cli", "http://127.0.0.1:43117/callback"),
    ] {
        let r = authorize(id, uri).await.unwrap();
        assert_eq!(r.status(), 302, "{id} {uri}");
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        assert!(loc.starts_with(uri), "{loc}");
        let code = url::Url::parse(&loc)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        codes.push(code);
    }
    // A code traded with another redirect URI is refused (and spent).
    let (s, t) = send(
        http_client()
            .post(format!("{}/oauth/access_token", emu.url()))
            .basic_auth("their-app", Some("their-secret"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &codes[0]),
                ("redirect_uri", "http://evil.example/cb"),
            ]),
    )
    .await;
    assert_eq!(s, 400, "{t}");
    assert!(t.get("access_token").is_none(), "{t}");
    let (s, t) = send(
        http_client()
            .post(format!("{}/oauth/access_token", emu.url()))
            .basic_auth("cli", Some("cli-secret"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &codes[1]),
                ("redirect_uri", "http://127.0.0.1:43117/callback"),
            ]),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    assert!(t["access_token"].is_string(), "{t}");
}
