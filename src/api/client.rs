//! The HTTP client (`reqwest`, rustls): one request at a time through the
//! shared limits, auth by key or bearer token, error decoding, and retries
//! as [`super::retry::decide`] says. Cheap to clone: every clone shares one
//! connection pool, one rate limiter and one concurrency limit.

use super::error::{decode_error_body, snippet, ApiError};
use super::limit::Limits;
use super::oauth::TokenSource;
use super::retry::{decide, parse_retry_after, Decision, Failure, RetryPolicy};
use super::secret::{scrub, ApiKey};
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// How the client proves who it is.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// HTTP Basic with the key as user name and an empty password.
    ApiKey(ApiKey),
    /// `Authorization: Bearer`, from OAuth tokens that refresh themselves.
    Bearer(TokenSource),
}

/// Everything a [`Client`] needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: Url,
    pub credentials: Credentials,
    /// Requests per second across all clones; `None`: no quota until a 429.
    pub rate_per_sec: Option<u32>,
    /// Requests in flight across all clones (default 8).
    pub max_in_flight: usize,
    /// Per request, from sending to the end of the body.
    pub timeout: Duration,
    /// Retries after 5xx and network errors (idempotent requests only).
    pub max_retries: u32,
}

impl ClientConfig {
    pub const DEFAULT_MAX_IN_FLIGHT: usize = 8;
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
    pub const DEFAULT_MAX_RETRIES: u32 = 5;

    /// The defaults: no rate quota, 8 in flight, 60 s timeout, 5 retries.
    pub fn new(base_url: Url, credentials: Credentials) -> ClientConfig {
        ClientConfig {
            base_url,
            credentials,
            rate_per_sec: None,
            max_in_flight: Self::DEFAULT_MAX_IN_FLIGHT,
            timeout: Self::DEFAULT_TIMEOUT,
            max_retries: Self::DEFAULT_MAX_RETRIES,
        }
    }
}

/// Counters shared by every clone.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ClientStats {
    /// Requests sent (each attempt counts).
    pub requests: u64,
    /// Attempts that were retries.
    pub retries: u64,
    /// 429 replies seen.
    pub rate_limited: u64,
    /// The request rate enforced now (`None`: no quota).
    pub current_rate: Option<f64>,
    /// Requests in flight now.
    pub in_flight: usize,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
}

/// The facturare.md API client.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: Url,
    credentials: Credentials,
    limits: Limits,
    policy: RetryPolicy,
    timeout: Duration,
    max_in_flight: usize,
    counters: Counters,
}

/// A 2xx reply.
#[derive(Debug)]
pub(crate) struct Reply {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub url: String,
}

/// Whether `url` may carry credentials: https anywhere, http only to loopback.
pub fn check_secure(url: &Url) -> Result<(), ApiError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        _ => Err(ApiError::InsecureUrl(display_url(url))),
    }
}

/// Whether the URL's host is loopback (127.0.0.0/8, ::1, localhost).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => false,
    }
}

/// A URL for messages: without any user name or password in it.
pub fn display_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// Map a transport error; `reqwest`'s own text is kept as the source, without its URL.
pub(crate) fn transport_error(
    method: &str,
    url: &str,
    e: reqwest::Error,
    timeout: Duration,
) -> ApiError {
    if e.is_builder() {
        ApiError::BadRequest {
            request: format!("{method} {url}"),
            message: e.without_url().to_string(),
        }
    } else if e.is_timeout() {
        ApiError::Timeout {
            request: format!("{method} {url}"),
            timeout,
        }
    } else {
        ApiError::Network {
            request: format!("{method} {url}"),
            connect: e.is_connect(),
            source: e.without_url(),
        }
    }
}

fn failure_of(err: &ApiError) -> Failure {
    match err {
        ApiError::Api {
            status,
            retry_after,
            ..
        } => Failure::Status {
            status: *status,
            retry_after: *retry_after,
        },
        ApiError::Timeout { .. } => Failure::Timeout,
        ApiError::Network { connect: true, .. } => Failure::ConnectFailed,
        _ => Failure::ConnectionLost,
    }
}

fn jitter() -> f64 {
    rand::random::<f64>()
}

impl Client {
    /// A client for `config.base_url`. Refuses plain HTTP unless the host is loopback.
    pub fn new(config: ClientConfig) -> Result<Client, ApiError> {
        let base = config.base_url;
        check_secure(&base)?;
        if base.cannot_be_a_base() {
            return Err(ApiError::InvalidUrl {
                url: display_url(&base),
                message: "not a base URL".into(),
            });
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(15)))
            .pool_max_idle_per_host(config.max_in_flight.max(1))
            .user_agent(concat!("facturare-etl/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ApiError::Build)?;
        let policy = RetryPolicy {
            max_retries: config.max_retries,
            ..RetryPolicy::default()
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                credentials: config.credentials,
                limits: Limits::new(config.rate_per_sec, config.max_in_flight),
                policy,
                timeout: config.timeout,
                max_in_flight: config.max_in_flight.max(1),
                counters: Counters::default(),
            }),
        })
    }

    /// Requests in flight at most, across all clones.
    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight
    }

    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The credentials in use (they print redacted).
    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    pub fn stats(&self) -> ClientStats {
        let c = &self.inner.counters;
        ClientStats {
            requests: c.requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
            current_rate: self.inner.limits.current_rate(),
            in_flight: self.inner.limits.in_flight(self.inner.max_in_flight),
        }
    }

    /// `base_url` + `path` + `query` (brackets in keys are percent-encoded).
    pub fn url_for(&self, path: &str, query: &[(String, String)]) -> Result<Url, ApiError> {
        let mut url = self.inner.base.clone();
        let joined = format!(
            "{}/{}",
            url.path().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        url.set_path(&joined);
        url.set_query(None);
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<T, ApiError> {
        let url = self.url_for(path, query)?;
        let reply = self.execute(Method::GET, url, None, None).await?;
        decode("GET", &reply)
    }

    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> Result<T, ApiError> {
        let url = self.url_for(path, &[])?;
        let body = encode("POST", &url, body)?;
        let reply = self
            .execute(Method::POST, url, Some(body), idempotency_key)
            .await?;
        decode("POST", &reply)
    }

    pub async fn patch<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> Result<T, ApiError> {
        let url = self.url_for(path, &[])?;
        let body = encode("PATCH", &url, body)?;
        let reply = self
            .execute(Method::PATCH, url, Some(body), idempotency_key)
            .await?;
        decode("PATCH", &reply)
    }

    /// DELETE; an empty reply decodes as JSON `null` (use `()` or `Option<_>`).
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let url = self.url_for(path, &[])?;
        let reply = self.execute(Method::DELETE, url, None, None).await?;
        decode("DELETE", &reply)
    }

    /// GET an absolute URL on the same origin as the base URL (page links).
    pub(crate) async fn get_url(&self, url: Url) -> Result<Reply, ApiError> {
        if url.origin() != self.inner.base.origin() {
            return Err(ApiError::ForeignLink {
                url: display_url(&url),
            });
        }
        self.execute(Method::GET, url, None, None).await
    }

    fn secret(&self) -> Option<String> {
        match &self.inner.credentials {
            Credentials::ApiKey(k) => Some(k.expose().to_string()),
            Credentials::Bearer(_) => None,
        }
    }

    /// One request with the shared limits, auth and the retry policy.
    pub(crate) async fn execute(
        &self,
        method: Method,
        url: Url,
        body: Option<Bytes>,
        idempotency_key: Option<&str>,
    ) -> Result<Reply, ApiError> {
        let inner = &*self.inner;
        let idempotent = matches!(method, Method::GET | Method::HEAD | Method::DELETE);
        let method_s = method.as_str().to_string();
        let url_s = display_url(&url);
        let mut attempt: u32 = 0;
        let mut refreshed_after_401 = false;
        loop {
            attempt += 1;
            let (auth, generation, token) = match &inner.credentials {
                Credentials::ApiKey(key) => {
                    use base64::Engine as _;
                    let raw = format!("{}:", key.expose());
                    let enc = base64::engine::general_purpose::STANDARD.encode(raw);
                    (format!("Basic {enc}"), 0, None)
                }
                Credentials::Bearer(ts) => {
                    let (tok, gen) = ts.access_token().await?;
                    (format!("Bearer {}", tok.expose()), gen, Some(tok))
                }
            };
            let mut auth = HeaderValue::from_str(&auth).map_err(|_| {
                ApiError::Auth(
                    "the credential contains characters that cannot be sent in a header".into(),
                )
            })?;
            auth.set_sensitive(true);
            let mut req = inner
                .http
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, auth)
                .header(ACCEPT, "application/json");
            if let Some(b) = &body {
                req = req.header(CONTENT_TYPE, "application/json").body(b.clone());
            }
            if let Some(k) = idempotency_key {
                let value = HeaderValue::from_str(k).map_err(|_| ApiError::BadRequest {
                    request: format!("{method_s} {url_s}"),
                    message: "the Idempotency-Key holds characters a header cannot carry".into(),
                })?;
                req = req.header("Idempotency-Key", value);
            }

            let permit = inner.limits.acquire().await;
            let started = tokio::time::Instant::now();
            inner.counters.requests.fetch_add(1, Ordering::Relaxed);
            if attempt > 1 {
                inner.counters.retries.fetch_add(1, Ordering::Relaxed);
            }
            let result = async {
                let resp = req.send().await?;
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let body = resp.bytes().await?;
                Ok::<_, reqwest::Error>((status, headers, body))
            }
            .await;
            drop(permit);
            match &result {
                Ok((status, _, _)) => tracing::debug!(
                    method = %method_s, url = %url_s, status, attempt,
                    ms = started.elapsed().as_millis() as u64, "reply"
                ),
                Err(e) => tracing::debug!(
                    method = %method_s, url = %url_s, attempt, error = %e.to_string(), "no reply"
                ),
            }

            let err = match result {
                Ok((status, headers, body)) if (200..300).contains(&status) => {
                    inner.limits.succeeded();
                    return Ok(Reply {
                        headers,
                        body,
                        url: url_s,
                    });
                }
                Ok((status, headers, body)) => {
                    let retry_after = headers
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, chrono::Utc::now().timestamp()));
                    let (kind, mut message, param) = decode_error_body(status, &body);
                    if let Some(s) = self.secret() {
                        message = scrub(&message, &s);
                    }
                    if let Some(t) = &token {
                        message = scrub(&message, t.expose());
                    }
                    if status == 401 && !refreshed_after_401 {
                        if let Credentials::Bearer(ts) = &inner.credentials {
                            refreshed_after_401 = true;
                            inner.limits.succeeded();
                            if ts.refresh_after_unauthorized(generation).await? {
                                attempt -= 1;
                                continue;
                            }
                        }
                    }
                    if status != 429 {
                        inner.limits.succeeded();
                    }
                    ApiError::Api {
                        request: format!("{method_s} {url_s}"),
                        status,
                        kind,
                        message,
                        param,
                        retry_after,
                    }
                }
                Err(e) => transport_error(&method_s, &url_s, e, inner.timeout),
            };
            let outcome = failure_of(&err);
            match decide(idempotent, attempt, &outcome, &inner.policy, jitter()) {
                Decision::Retry(wait) => {
                    if err.is_rate_limited() {
                        inner.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                        // The pause holds back every request, this one included.
                        inner.limits.rate_limited(wait);
                    } else {
                        tracing::debug!(%err, ?wait, attempt, "retrying");
                        tokio::time::sleep(wait).await;
                    }
                }
                Decision::GiveUp => {
                    if err.is_rate_limited() {
                        inner.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
                    }
                    return Err(err);
                }
            }
        }
    }
}

fn encode<B: Serialize + ?Sized>(method: &str, url: &Url, body: &B) -> Result<Bytes, ApiError> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|source| ApiError::Decode {
            request: format!("{method} {}", display_url(url)),
            snippet: "(the request body could not be encoded as JSON)".into(),
            source,
        })
}

pub(crate) fn decode<T: DeserializeOwned>(method: &str, reply: &Reply) -> Result<T, ApiError> {
    decode_seed(method, reply, std::marker::PhantomData::<T>)
}

/// [`decode`] through a seed (a decoder that carries state, as one that
/// skips fields no one reads).
pub(crate) fn decode_seed<T, S>(method: &str, reply: &Reply, seed: S) -> Result<T, ApiError>
where
    S: for<'de> serde::de::DeserializeSeed<'de, Value = T>,
{
    let body: &[u8] = if reply.body.iter().all(|b| b.is_ascii_whitespace()) {
        b"null"
    } else {
        &reply.body
    };
    let fail = |source| ApiError::Decode {
        request: format!("{method} {}", reply.url),
        snippet: snippet(&reply.body),
        source,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let v = seed.deserialize(&mut de).map_err(fail)?;
    de.end().map_err(fail)?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str) -> ClientConfig {
        ClientConfig::new(
            Url::parse(url).unwrap(),
            Credentials::ApiKey(ApiKey::new("sk_test_secret")),
        )
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "https://api.facturare.md",
            "http://127.0.0.1:8787",
            "http://127.9.9.9/",
            "http://[::1]:80",
            "http://localhost:1",
        ] {
            assert!(Client::new(cfg(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.facturare.md",
            "http://10.0.0.1",
            "http://localhost.evil.com",
            "ftp://127.0.0.1",
        ] {
            let err = Client::new(cfg(bad)).unwrap_err();
            assert!(matches!(err, ApiError::InsecureUrl(_)), "{bad}: {err}");
        }
        let err = Client::new(cfg("http://user:pw@example.com/"))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("pw"), "{err}");
    }

    #[test]
    fn joins_paths_under_the_base() {
        let c = Client::new(cfg("https://h.test/api/")).unwrap();
        let u = c
            .url_for("/invoices", &[("filter[paid]".into(), "1".into())])
            .unwrap();
        assert_eq!(u.as_str(), "https://h.test/api/invoices?filter%5Bpaid%5D=1");
        let c = Client::new(cfg("https://h.test")).unwrap();
        assert_eq!(
            c.url_for("customers/5", &[]).unwrap().as_str(),
            "https://h.test/customers/5"
        );
    }
}
