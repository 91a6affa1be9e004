//! OAuth: login, bearer calls, refresh with rotation, logout, status.

use super::*;

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
