//! Settings: precedence, the local default, profiles, and no secret in
//! any error.

use super::*;

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
