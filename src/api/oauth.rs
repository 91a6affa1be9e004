//! OAuth 2.0 (API.md "Hosts, auth"): the authorize URL, the code and
//! refresh-token grants at `/oauth/access_token`, and [`TokenSource`], which
//! hands out a valid access token: it refreshes shortly before expiry and
//! once after a 401, keeps the newest (rotated) refresh token, and writes the
//! tokens back to their 0600 file.

use super::error::{decode_error_body, ApiError};
use super::secret::Secret;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

/// Refresh when the access token has less than this left.
pub const REFRESH_MARGIN_SECS: i64 = 60;

/// The token file (`<data_dir>/tokens.json`, mode 0600). Its `Debug` hides
/// every secret.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenFile {
    /// Where refreshes go: `<oauth host>/oauth/access_token`.
    pub token_url: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: String,
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The environment the tokens belong to (`sandbox`, a URL, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

impl std::fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFile")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"****")
            .field("access_token", &"****")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "****"),
            )
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("env", &self.env)
            .finish()
    }
}

impl TokenFile {
    /// Read a token file; errors name the path, never a token.
    pub fn read(path: &Path) -> Result<TokenFile, ApiError> {
        let bytes =
            crate::fs::read(path).map_err(|e| ApiError::Auth(format!("{e}: {}", e.source)))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::Auth(format!(
                "{} is not a token file (line {}, column {}): run `facturare-etl auth login` again",
                path.display(),
                e.line(),
                e.column()
            ))
        })
    }

    /// Write it with mode 0600, atomically.
    pub fn write(&self, path: &Path) -> Result<(), ApiError> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| ApiError::Auth(format!("could not encode the token file: {e}")))?;
        crate::fs::write_secret(path, &json)
            .map_err(|e| ApiError::Auth(format!("{e}: {}", e.source)))
    }
}

/// The token endpoint's reply.
#[derive(Clone, Deserialize)]
pub struct TokenResponse {
    #[serde(default)]
    pub token_type: Option<String>,
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The authorize URL: `<oauth_base>/oauth/authorize?response_type=code&...`.
pub fn authorize_url(
    oauth_base: &Url,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
    state: &str,
) -> Result<Url, ApiError> {
    let mut url = join(oauth_base, "oauth/authorize")?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", scope)
        .append_pair("state", state);
    Ok(url)
}

/// The token endpoint: `<oauth_base>/oauth/access_token`.
pub fn token_url(oauth_base: &Url) -> Result<Url, ApiError> {
    join(oauth_base, "oauth/access_token")
}

fn join(base: &Url, path: &str) -> Result<Url, ApiError> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        let p = format!("{}/", base.path());
        base.set_path(&p);
    }
    base.join(path).map_err(|e| ApiError::InvalidUrl {
        url: base.to_string(),
        message: e.to_string(),
    })
}

/// An HTTP client for the token endpoint (no redirects, a timeout).
pub fn http_client() -> Result<reqwest::Client, ApiError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .user_agent(concat!("facturare-etl/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(ApiError::Build)
}

/// Trade an authorization code for tokens.
pub async fn exchange_code(
    http: &reqwest::Client,
    token_url: &Url,
    code: &str,
    redirect_uri: &str,
    client_id: &str,
    client_secret: &Secret,
) -> Result<TokenResponse, ApiError> {
    token_request(
        http,
        token_url,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", client_id),
            ("client_secret", client_secret.expose()),
        ],
        &[code, client_secret.expose()],
    )
    .await
}

/// Trade a refresh token for new tokens (the refresh token may rotate).
pub async fn refresh_grant(
    http: &reqwest::Client,
    token_url: &Url,
    refresh_token: &Secret,
    client_id: &str,
    client_secret: &Secret,
) -> Result<TokenResponse, ApiError> {
    token_request(
        http,
        token_url,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", client_id),
            ("client_secret", client_secret.expose()),
        ],
        &[refresh_token.expose(), client_secret.expose()],
    )
    .await
}

async fn token_request(
    http: &reqwest::Client,
    token_url: &Url,
    form: &[(&str, &str)],
    secrets: &[&str],
) -> Result<TokenResponse, ApiError> {
    super::client::check_secure(token_url)?;
    let url = token_url.to_string();
    let method = "POST".to_string();
    let resp = http
        .post(token_url.clone())
        .form(form)
        .send()
        .await
        .map_err(|e| {
            super::client::transport_error(&method, &url, e, std::time::Duration::from_secs(30))
        })?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.map_err(|e| {
        super::client::transport_error(&method, &url, e, std::time::Duration::from_secs(30))
    })?;
    if !(200..300).contains(&status) {
        let (kind, mut message, param) = match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(v) if v.get("error").is_some() => (
                v["error"].as_str().unwrap_or("invalid_request").to_string(),
                v.get("error_description")
                    .and_then(|d| d.as_str())
                    .unwrap_or("the token request was refused")
                    .to_string(),
                None,
            ),
            _ => decode_error_body(status, &body),
        };
        for s in secrets {
            message = super::secret::scrub(&message, s);
        }
        return Err(ApiError::Api {
            request: format!("{method} {url}"),
            status,
            kind,
            message,
            param,
            retry_after: None,
        });
    }
    // Not `Decode`: serde's message could quote a token from the body.
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::Auth(format!(
            "could not read the token reply from {url} (line {}, column {}: {:?})",
            e.line(),
            e.column(),
            e.classify()
        ))
    })
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Build the token file from a token reply.
pub fn token_file_from(
    resp: &TokenResponse,
    token_url: &Url,
    client_id: &str,
    client_secret: &Secret,
    previous_refresh: Option<&str>,
    env: Option<String>,
) -> TokenFile {
    TokenFile {
        token_url: token_url.to_string(),
        client_id: client_id.to_string(),
        client_secret: client_secret.expose().to_string(),
        access_token: resp.access_token.clone(),
        refresh_token: resp
            .refresh_token
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| previous_refresh.map(str::to_string)),
        expires_at: resp.expires_in.map(|s| now_unix() + s),
        scope: resp.scope.clone(),
        env,
    }
}

/// Hands out a valid access token, refreshing as needed. Cheap to clone; all
/// clones share one state, so one refresh serves every request.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    path: Option<PathBuf>,
    http: reqwest::Client,
    state: tokio::sync::Mutex<State>,
}

struct State {
    file: TokenFile,
    /// Bumped on every refresh, so that concurrent 401s refresh once.
    generation: u64,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// Tokens in memory; written back to `path` after each refresh when given.
    pub fn new(file: TokenFile, path: Option<PathBuf>) -> Result<TokenSource, ApiError> {
        let url = Url::parse(&file.token_url).map_err(|e| ApiError::InvalidUrl {
            url: file.token_url.clone(),
            message: e.to_string(),
        })?;
        super::client::check_secure(&url)?;
        Ok(TokenSource {
            inner: Arc::new(Inner {
                path,
                http: http_client()?,
                state: tokio::sync::Mutex::new(State {
                    file,
                    generation: 0,
                }),
            }),
        })
    }

    /// Load `tokens.json`.
    pub fn load(path: &Path) -> Result<TokenSource, ApiError> {
        let file = TokenFile::read(path)?;
        TokenSource::new(file, Some(path.to_path_buf()))
    }

    /// The token file path, if any.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// When the access token expires (Unix seconds), if known.
    pub async fn expires_at(&self) -> Option<i64> {
        self.inner.state.lock().await.file.expires_at
    }

    /// A valid access token and its generation; refreshes first when it
    /// expires within [`REFRESH_MARGIN_SECS`] and a refresh token is stored.
    pub async fn access_token(&self) -> Result<(Secret, u64), ApiError> {
        let mut state = self.inner.state.lock().await;
        let expiring = state
            .file
            .expires_at
            .is_some_and(|at| at - REFRESH_MARGIN_SECS <= now_unix());
        if expiring && state.file.refresh_token.is_some() {
            self.refresh_locked(&mut state).await?;
        }
        Ok((
            Secret::new(state.file.access_token.clone()),
            state.generation,
        ))
    }

    /// A request with the token of `generation` got a 401: refresh, unless
    /// another request did so already. Returns false when there is no
    /// refresh token (the 401 stands).
    pub async fn refresh_after_unauthorized(&self, generation: u64) -> Result<bool, ApiError> {
        let mut state = self.inner.state.lock().await;
        if state.generation != generation {
            return Ok(true);
        }
        if state.file.refresh_token.is_none() {
            return Ok(false);
        }
        self.refresh_locked(&mut state).await?;
        Ok(true)
    }

    /// Refresh now.
    pub async fn refresh(&self) -> Result<(), ApiError> {
        let mut state = self.inner.state.lock().await;
        self.refresh_locked(&mut state).await
    }

    async fn refresh_locked(&self, state: &mut State) -> Result<(), ApiError> {
        let Some(refresh) = state.file.refresh_token.clone() else {
            return Err(ApiError::Auth(
                "the access token has expired and no refresh token is stored: run `facturare-etl auth login`".into(),
            ));
        };
        let url = Url::parse(&state.file.token_url).map_err(|e| ApiError::InvalidUrl {
            url: state.file.token_url.clone(),
            message: e.to_string(),
        })?;
        let secret = Secret::new(state.file.client_secret.clone());
        let resp = refresh_grant(&self.inner.http, &url, &Secret::new(refresh.clone()), &state.file.client_id, &secret)
            .await
            .map_err(|e| match e {
                ApiError::Api { status, message, .. } if (400..500).contains(&status) => ApiError::Auth(format!(
                    "the token refresh was refused ({status}: {message}): run `facturare-etl auth login`"
                )),
                other => other,
            })?;
        let file = token_file_from(
            &resp,
            &url,
            &state.file.client_id,
            &secret,
            Some(&refresh),
            state.file.env.clone(),
        );
        let file = TokenFile {
            scope: file.scope.or_else(|| state.file.scope.clone()),
            ..file
        };
        if let Some(path) = &self.inner.path {
            file.write(path)?;
        }
        state.file = file;
        state.generation += 1;
        tracing::debug!("access token refreshed");
        Ok(())
    }
}
