//! The local facturare.md: an `axum` server implementing API.md, used by the
//! tests, by `--env local`, and by `facturare-etl emulator` on a port.
//!
//! The server is a library call: [`router`] builds the routes over a shared
//! [`AppState`], [`serve`] runs them on a listener until a shutdown future
//! resolves, and [`start`] does both on `127.0.0.1:0` and hands back a
//! [`Running`] handle.
//!
//! - `store`: the in-memory tables (the source of truth while running) and
//!   their write-behind SQLite file, committed in groups before a reply.
//! - `resources`: what each resource accepts, computes (totals, balances,
//!   numbers) and returns.
//! - `list`: the list query language (`page`, `sort`, `filter[...]`, ...)
//!   and the `Link` header.
//! - `auth`: Basic keys, OAuth 2.0 codes and tokens.
//! - `faults`: the per-key rate limits, seeded failures, drops and latency,
//!   and the listener whose connections a drop cuts.
//! - `http`: the routes and the request pipeline.
//! - `reply`: the error reply and the JSON replies.

mod auth;
mod faults;
mod http;
mod list;
mod reply;
mod resources;
mod store;

use anyhow::Context as _;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use auth::OAuthClient;
pub use http::{router, AppState};

/// The OAuth client every emulator knows unless told otherwise:
/// `client_id=facturare-etl`, `client_secret=local-secret`.
pub const DEFAULT_OAUTH_CLIENT: (&str, &str) = ("facturare-etl", "local-secret");

/// An API key and the company it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    pub key: String,
    pub company: String,
}

impl KeySpec {
    pub fn new(key: impl Into<String>, company: impl Into<String>) -> Self {
        KeySpec {
            key: key.into(),
            company: company.into(),
        }
    }
}

/// Why a `KEY[=COMPANY]` could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeySpecError {
    #[error("the key is empty (expected KEY or KEY=COMPANY)")]
    EmptyKey,
    #[error("the company after `=` is empty (expected KEY=COMPANY)")]
    EmptyCompany,
    #[error("the key contains whitespace or `:` (expected letters, digits, `_` or `-`)")]
    BadKey,
}

impl FromStr for KeySpec {
    type Err = KeySpecError;

    /// `KEY=COMPANY`, or a bare `KEY` that is its own company.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (key, company) = match s.split_once('=') {
            Some((k, c)) => (k.trim(), Some(c.trim())),
            None => (s.trim(), None),
        };
        if key.is_empty() {
            return Err(KeySpecError::EmptyKey);
        }
        if key.chars().any(|c| c.is_whitespace() || c == ':') {
            return Err(KeySpecError::BadKey);
        }
        let company = match company {
            Some("") => return Err(KeySpecError::EmptyCompany),
            Some(c) => c.to_string(),
            None => key.to_string(),
        };
        Ok(KeySpec::new(key, company))
    }
}

/// Everything the emulator can be told.
#[derive(Debug, Clone)]
pub struct Config {
    /// API keys and their companies. Each company sees only its own data.
    pub keys: Vec<KeySpec>,
    /// SQLite file (WAL); `None` keeps everything in memory.
    pub db: Option<PathBuf>,
    /// Requests in flight per credential before 429 (default 20).
    pub max_in_flight: usize,
    /// Requests per second per credential before 429.
    pub rate_per_sec: Option<u32>,
    /// When set, 429 replies carry `Retry-After: N`.
    pub retry_after: Option<u64>,
    /// Probability of a 500 `api_error` before doing anything.
    pub fail_rate: f64,
    /// Probability of doing the work, then closing the connection unanswered.
    pub drop_rate: f64,
    /// Added to every API request.
    pub latency: Duration,
    /// Seeds every random choice.
    pub seed: u64,
    /// OAuth access token lifetime (default 3600 s).
    pub token_ttl: Duration,
    /// OAuth clients and their redirect URIs; default
    /// [`DEFAULT_OAUTH_CLIENT`] (loopback redirects only).
    pub oauth_clients: Vec<OAuthClient>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            keys: Vec::new(),
            db: None,
            max_in_flight: 20,
            rate_per_sec: None,
            retry_after: None,
            fail_rate: 0.0,
            drop_rate: 0.0,
            latency: Duration::ZERO,
            seed: 0,
            token_ttl: Duration::from_secs(3600),
            oauth_clients: vec![OAuthClient::new(
                DEFAULT_OAUTH_CLIENT.0,
                DEFAULT_OAUTH_CLIENT.1,
            )],
        }
    }
}

/// Counters, also served as JSON at `GET /_emulator/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// API requests received (OAuth and stats routes excluded).
    pub requests: u64,
    /// Of them, writes: POST, PATCH and DELETE.
    #[serde(default)]
    pub writes: u64,
    /// Answered 429.
    pub rate_limited: u64,
    /// Answered 500 by fault injection.
    pub failed: u64,
    /// Done, then the connection closed unanswered.
    pub dropped: u64,
    /// Most requests accepted (not 429'd) in any one-second window.
    pub max_per_second: u64,
    /// Objects created, per resource (`invoices`, `customers`, ...).
    pub created: BTreeMap<String, u64>,
}

/// Serve the API on `listener` until `shutdown` resolves, then finish the
/// requests in flight and flush the database.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = AppState::open(config).await?;
    let result = http::serve_state(listener, state.clone(), shutdown).await;
    state.close().await;
    result
}

/// A running emulator, started by [`start`].
pub struct Running {
    addr: SocketAddr,
    state: Arc<AppState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// Stop accepting, finish what is in flight, flush the database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            if let Ok(Err(e)) = task.await {
                tracing::warn!("emulator stopped with an error: {e:#}");
            }
        }
        self.state.close().await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Bind `127.0.0.1:0` and serve on the current runtime.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("failed to bind 127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let state = AppState::open(config).await?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(http::serve_state(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    Ok(Running {
        addr,
        state,
        shutdown: Some(tx),
        task: Some(task),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_specs() {
        assert_eq!("k1".parse(), Ok(KeySpec::new("k1", "k1")));
        assert_eq!("k1=acme".parse(), Ok(KeySpec::new("k1", "acme")));
        assert_eq!("=acme".parse::<KeySpec>(), Err(KeySpecError::EmptyKey));
        assert_eq!("k=".parse::<KeySpec>(), Err(KeySpecError::EmptyCompany));
        assert_eq!("a b".parse::<KeySpec>(), Err(KeySpecError::BadKey));
    }
}
