//! What can go wrong talking to the API, decoded into one type with the
//! status, `type`, `message` and (when the server names one) `param`.
//! No variant ever holds a key or a token: URLs carry none (auth travels in
//! a header), and server messages are scrubbed of the credential in use.

use std::time::Duration;

/// An error from one API call (after the client's own retries).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with a non-2xx status and (usually) an error object.
    #[error("{request} failed: {status} {kind}: {message}{}", param_suffix(param))]
    Api {
        /// `METHOD URL` (no credentials in it).
        request: String,
        status: u16,
        /// The error object's `type` (`invalid_request`, `rate_limit_error`, `api_error`).
        kind: String,
        message: String,
        /// The field to blame, when the server names one. Never assume it.
        param: Option<String>,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
    },
    /// The request could not be sent or the connection broke before a reply.
    #[error("{request}: {}", if *connect { "could not connect" } else { "the connection broke before a reply (the request may or may not have taken effect)" })]
    Network {
        request: String,
        /// The connection was never established: the request was not sent.
        connect: bool,
        #[source]
        source: reqwest::Error,
    },
    /// No reply within the timeout.
    #[error("{request} timed out after {}s (the request may or may not have taken effect)", timeout.as_secs_f64())]
    Timeout { request: String, timeout: Duration },
    /// A 2xx reply whose body is not what the API documents.
    #[error("could not read the reply to {request}: {snippet}")]
    Decode {
        request: String,
        /// The start of the body, for a person to recognise it.
        snippet: String,
        #[source]
        source: serde_json::Error,
    },
    /// Plain HTTP to a host other than loopback, or a scheme other than http(s).
    #[error("refusing to send credentials to {0}: use https (plain http is allowed only to loopback: 127.0.0.1, ::1, localhost)")]
    InsecureUrl(String),
    /// A URL that cannot be used as a base or joined with a path.
    #[error("invalid URL {url}: {message}")]
    InvalidUrl { url: String, message: String },
    /// A pagination link pointing somewhere else than the API we talk to.
    #[error("the server sent a page link to another origin ({url}); refusing to follow it with our credentials")]
    ForeignLink { url: String },
    /// OAuth token trouble: no refresh token, a refused refresh, an unreadable token file.
    #[error("{0}")]
    Auth(String),
    /// The request could not be built (an invalid header value, such as an
    /// `Idempotency-Key` with characters a header cannot carry). Nothing was sent.
    #[error("could not build the request {request}: {message}")]
    BadRequest { request: String, message: String },
    /// The HTTP client could not be built (TLS set-up).
    #[error("could not set up the HTTP client")]
    Build(#[source] reqwest::Error),
}

fn param_suffix(param: &Option<String>) -> String {
    match param {
        Some(p) => format!(" (param `{p}`)"),
        None => String::new(),
    }
}

impl ApiError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error object's `param`, when there is one.
    pub fn param(&self) -> Option<&str> {
        match self {
            ApiError::Api { param, .. } => param.as_deref(),
            _ => None,
        }
    }

    /// The request may or may not have taken effect: a timeout, a connection
    /// dropped after sending, a 5xx (or 408), or a 2xx whose body could not
    /// be read (it took effect, but its result is unknown). Before re-sending
    /// a write, look it up.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            ApiError::Timeout { .. } | ApiError::Decode { .. } => true,
            ApiError::Network { connect, .. } => !connect,
            ApiError::Api { status, .. } => *status >= 500 || *status == 408,
            _ => false,
        }
    }

    /// A definite refusal: a 4xx other than 429 (and 408). Re-sending the
    /// same request will fail the same way.
    pub fn is_rejection(&self) -> bool {
        match self {
            ApiError::Api { status, .. } => {
                (400..500).contains(status) && *status != 429 && *status != 408
            }
            _ => false,
        }
    }

    /// The credentials were refused (401/403) or could not be refreshed.
    pub fn is_auth(&self) -> bool {
        match self {
            ApiError::Api { status, .. } => *status == 401 || *status == 403,
            ApiError::Auth(_) => true,
            _ => false,
        }
    }

    /// Too many requests (429), after the client's own retries.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429)
    }
}

/// The error object of API.md: `{type, message, param?}`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub param: Option<serde_json::Value>,
}

/// The first bytes of a body as text, for error messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_string();
    }
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out.replace(['\n', '\r'], " ")
}

/// Decode a non-2xx reply into its parts: `(kind, message, param)`. A body
/// that is not the error object still yields a clear message with a snippet.
pub(crate) fn decode_error_body(status: u16, body: &[u8]) -> (String, String, Option<String>) {
    let default_kind = if status == 429 {
        "rate_limit_error"
    } else if status >= 500 {
        "api_error"
    } else {
        "invalid_request"
    };
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) if e.message.is_some() || e.kind.is_some() => {
            let param = match e.param {
                Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s),
                Some(serde_json::Value::Null) | None => None,
                Some(serde_json::Value::String(_)) => None,
                Some(other) => Some(other.to_string()),
            };
            (
                e.kind.unwrap_or_else(|| default_kind.to_string()),
                e.message
                    .unwrap_or_else(|| "(the server gave no message)".to_string()),
                param,
            )
        }
        _ => (
            default_kind.to_string(),
            format!("unexpected reply body: {}", snippet(body)),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_error_object() {
        let (k, m, p) = decode_error_body(
            400,
            br#"{"type":"invalid_request","message":"Number taken","param":"number"}"#,
        );
        assert_eq!(
            (k.as_str(), m.as_str(), p.as_deref()),
            ("invalid_request", "Number taken", Some("number"))
        );
        let (k, _, p) = decode_error_body(500, br#"{"type":"api","message":"boom"}"#);
        assert_eq!((k.as_str(), p), ("api", None));
    }

    #[test]
    fn non_json_error_bodies_still_read_well() {
        let (k, m, p) = decode_error_body(502, b"<html>Bad Gateway</html>");
        assert_eq!(k, "api_error");
        assert!(m.contains("<html>Bad Gateway</html>"), "{m}");
        assert_eq!(p, None);
        let (_, m, _) = decode_error_body(404, b"");
        assert!(m.contains("empty body"));
    }

    #[test]
    fn classifies_errors() {
        let api = |status| ApiError::Api {
            request: "GET u".into(),
            status,
            kind: "k".into(),
            message: "m".into(),
            param: None,
            retry_after: None,
        };
        assert!(api(500).is_ambiguous() && !api(500).is_rejection());
        assert!(api(400).is_rejection() && !api(400).is_ambiguous());
        assert!(!api(429).is_rejection() && api(429).is_rate_limited());
        assert!(api(401).is_auth() && api(403).is_auth() && !api(404).is_auth());
        let t = ApiError::Timeout {
            request: "POST u".into(),
            timeout: Duration::from_secs(1),
        };
        assert!(t.is_ambiguous());
        assert_eq!(api(404).status(), Some(404));
        assert!(api(400).to_string().starts_with("GET u failed: 400 k: m"));
    }
}
