//! The replies' bodies: [`ErrorReply`], the error every route and the
//! pipeline answer with (`{type, message, param?}` JSON, plus OAuth's
//! fields, `WWW-Authenticate` on 401 and `Retry-After` on 429), and the
//! JSON replies made from a value or from objects' texts already made.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// An error reply: `{type, message, param?}` (plus OAuth's fields).
#[derive(Debug)]
pub struct ErrorReply {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    pub param: Option<String>,
    pub extra: Option<Box<Value>>,
    pub retry_after: Option<u64>,
}

impl ErrorReply {
    fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ErrorReply {
            status,
            kind,
            message: message.into(),
            param: None,
            extra: None,
            retry_after: None,
        }
    }

    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn param(message: impl Into<String>, param: impl Into<String>) -> Self {
        let mut e = Self::bad(message);
        e.param = Some(param.into());
        e
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "invalid_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_request", message)
    }

    pub fn method(message: impl Into<String>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "invalid_request", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "api_error", message)
    }

    pub(super) fn rate_limited(retry_after: Option<u64>) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "Too many requests: slow down",
        );
        e.retry_after = retry_after;
        e
    }
}

impl IntoResponse for ErrorReply {
    fn into_response(self) -> Response {
        let mut body = json!({ "type": self.kind, "message": self.message });
        if let Some(p) = self.param {
            body["param"] = Value::from(p);
        }
        if let Some(Value::Object(extra)) = self.extra.map(|b| *b) {
            for (k, v) in extra {
                body[k] = v;
            }
        }
        let mut resp = json_response(self.status, &body);
        let h = resp.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"facturare.md\""),
            );
        }
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

pub(super) fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let mut bytes = Vec::with_capacity(4096);
    if serde_json::to_writer(&mut bytes, body).is_err() {
        bytes = b"{}".to_vec();
    }
    text_response(status, Bytes::from(bytes))
}

/// A reply whose body is JSON text already made.
pub(super) fn text_response(status: StatusCode, text: Bytes) -> Response {
    let mut resp = Response::new(Body::from(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A JSON array of objects' texts.
pub(super) fn json_list(items: &[Bytes]) -> Response {
    let len = items.iter().map(|t| t.len() + 1).sum::<usize>() + 2;
    let mut buf = Vec::with_capacity(len);
    buf.push(b'[');
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(v);
    }
    buf.push(b']');
    let mut resp = Response::new(Body::from(buf));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
