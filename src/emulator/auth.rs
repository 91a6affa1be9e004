//! Credentials: HTTP Basic with an API key (empty password), and OAuth 2.0
//! (RFC 6749 authorization-code grant): `/oauth/authorize` approves at once
//! and redirects with a code; `/oauth/access_token` trades a code or a
//! refresh token for a Bearer token and a new refresh token (the old one
//! stops working). Tokens are kept by their SHA-256, never in clear.
//!
//! Codes go home only: each [`OAuthClient`] has its registered redirect
//! URIs (with none, a loopback `http` URI on any port, as RFC 8252 allows
//! native apps), an authorization request naming any other gets the error
//! page RFC 6749 4.1.2.1 asks for and no code, and the exchange must name
//! the very URI the code was sent to.

use super::http::AppState;
use super::list::pairs;
use super::reply::ErrorReply;
use super::store::Token;
use axum::http::{header, HeaderMap};
use base64::Engine as _;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

/// An authenticated caller: its company and the credential the limits count.
#[derive(Debug, Clone)]
pub struct Principal {
    pub company: String,
    pub credential: String,
}

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone)]
pub struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub company: String,
    pub expires_at: i64,
}

const CODE_TTL_SECS: i64 = 600;

/// An OAuth client the emulator knows: `ID:SECRET[:URI...]` on the
/// command line (URIs one after another, or separated by commas).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    pub id: String,
    pub secret: String,
    /// Where its codes may be sent: exactly these; none registered, a
    /// loopback `http` URI (`127.0.0.1`, `[::1]`, `localhost`, any port).
    pub redirect_uris: Vec<String>,
}

impl OAuthClient {
    pub fn new(id: impl Into<String>, secret: impl Into<String>) -> Self {
        OAuthClient {
            id: id.into(),
            secret: secret.into(),
            redirect_uris: Vec::new(),
        }
    }

    /// Whether this client's codes may be sent to `uri`.
    pub fn allows(&self, uri: &str) -> bool {
        if !self.redirect_uris.is_empty() {
            return self.redirect_uris.iter().any(|r| r == uri);
        }
        let Ok(u) = url::Url::parse(uri) else {
            return false;
        };
        let loopback = match u.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        u.scheme() == "http" && loopback && u.username().is_empty() && u.password().is_none()
    }
}

impl std::str::FromStr for OAuthClient {
    type Err = String;

    /// `ID:SECRET`, then redirect URIs (`:http://…:8080/cb:https://…`, or
    /// comma-separated): a URI starts where a `scheme://` does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, ':');
        let (id, secret) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if id.is_empty() || secret.is_empty() {
            return Err(format!(
                "expected CLIENT_ID:CLIENT_SECRET[:REDIRECT_URI...], found {:?}",
                s.split_once(':').map_or(s, |(id, _)| id)
            ));
        }
        let mut uris: Vec<String> = Vec::new();
        if let Some(rest) = parts.next() {
            let tokens: Vec<&str> = rest.split([':', ',']).collect();
            for (i, t) in tokens.iter().enumerate() {
                let starts_uri = tokens.get(i + 1).is_some_and(|n| n.starts_with("//"))
                    && !t.is_empty()
                    && t.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
                match uris.last_mut() {
                    Some(u) if !starts_uri && !t.is_empty() && !u.ends_with(',') => {
                        u.push(':');
                        u.push_str(t);
                    }
                    _ if t.is_empty() => {}
                    _ => uris.push(t.to_string()),
                }
            }
            for u in &uris {
                if url::Url::parse(u).is_err() {
                    return Err(format!("the redirect URI {u:?} is not an absolute URL"));
                }
            }
        }
        Ok(OAuthClient {
            id: id.to_string(),
            secret: secret.to_string(),
            redirect_uris: uris,
        })
    }
}

/// RFC 6749 4.1.2.1: with a bad `client_id` or `redirect_uri`, the person
/// is told, and nothing is sent to the URI: an error page, no redirect.
#[derive(Debug)]
pub struct Refused {
    pub error: &'static str,
    pub description: String,
}

impl Refused {
    /// The page: HTML for the person at the browser, escaped.
    pub fn page(&self) -> String {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Authorization error</title></head>\n<body><h1>Authorization error: {}</h1>\n<p>{}</p>\n<p>No authorization code was issued, and you were not sent on to the application.</p></body></html>\n",
            esc(self.error),
            esc(&self.description)
        )
    }
}

/// What `/oauth/authorize` answers: a redirect, the error page, or an
/// error reply.
#[derive(Debug)]
pub enum Authorized {
    Redirect(String),
    Refused(Refused),
}

/// `abcd…` → `********wxyz`: enough to tell keys apart, never the key.
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    if n >= 12 {
        let tail: String = secret.chars().skip(n - 4).collect();
        format!("{}{tail}", "*".repeat(n - 4))
    } else {
        "*".repeat(n.max(4))
    }
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// Who sent this request, or a 401.
pub fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    now: i64,
) -> Result<Principal, ErrorReply> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ErrorReply::unauthorized(
            "No API key given: send it as the Basic auth user name with an empty password",
        ));
    };
    let value = value.to_str().unwrap_or("");
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| ErrorReply::unauthorized("Malformed Basic credentials"))?;
        let key = decoded.split_once(':').map_or(decoded.as_str(), |(u, _)| u);
        return match state.keys.get(key) {
            Some(company) => Ok(Principal {
                company: company.clone(),
                credential: format!("key:{key}"),
            }),
            None => Err(ErrorReply::unauthorized(format!(
                "Invalid API key: {}",
                mask(key)
            ))),
        };
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        let token = rest.trim();
        let h = hash(token);
        let data = state.store.lock();
        return match data.tokens.get(&h) {
            Some(t) if t.kind == "access" && now < t.expires_at => Ok(Principal {
                company: t.company.clone(),
                credential: format!("company:{}", t.company),
            }),
            Some(t) if t.kind == "access" => Err(ErrorReply::unauthorized(format!(
                "The access token {} has expired: refresh it",
                mask(token)
            ))),
            _ => Err(ErrorReply::unauthorized(format!(
                "Invalid access token: {}",
                mask(token)
            ))),
        };
    }
    Err(ErrorReply::unauthorized(
        "Unsupported Authorization scheme: expected Basic or Bearer",
    ))
}

fn oauth_error(status: u16, error: &str, message: impl Into<String>) -> ErrorReply {
    let message = message.into();
    let mut e = if status == 401 {
        ErrorReply::unauthorized(message.clone())
    } else {
        ErrorReply::bad(message.clone())
    };
    e.extra = Some(Box::new(
        json!({ "error": error, "error_description": message }),
    ));
    e
}

/// `GET /oauth/authorize`: approve at once and redirect with a code, when
/// the client is known and the redirect URI is one of its own (else the
/// error page, and no code).
pub fn authorize(state: &AppState, raw_query: &str, now: i64) -> Result<Authorized, ErrorReply> {
    let q = pairs(raw_query);
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let refuse = |error: &'static str, description: String| {
        Ok(Authorized::Refused(Refused { error, description }))
    };
    let client_id = get("client_id").unwrap_or("");
    let Some(client) = state
        .config
        .oauth_clients
        .iter()
        .find(|c| c.id == client_id)
    else {
        return refuse(
            "invalid_client",
            format!(
                "Unknown client_id: {:?}",
                crate::model::text::cut(client_id)
            ),
        );
    };
    let Some(redirect_uri) = get("redirect_uri").filter(|r| !r.is_empty()) else {
        return refuse("invalid_request", "redirect_uri is required".into());
    };
    if url::Url::parse(redirect_uri).is_err() {
        return refuse(
            "invalid_request",
            format!(
                "redirect_uri is not an absolute URL: {:?}",
                crate::model::text::cut(redirect_uri)
            ),
        );
    }
    if !client.allows(redirect_uri) {
        let registered = if client.redirect_uris.is_empty() {
            "a loopback address (http://127.0.0.1:PORT/..., http://localhost:PORT/...)".to_string()
        } else {
            client.redirect_uris.join(", ")
        };
        return refuse(
            "invalid_request",
            format!(
                "redirect_uri {:?} is not registered for client {client_id:?}: its codes go to {registered} only",
                crate::model::text::cut(redirect_uri)
            ),
        );
    }
    if get("response_type") != Some("code") {
        return Err(oauth_error(
            400,
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    let company = match get("company") {
        Some(c) => {
            if !state.keys.values().any(|k| k == c) {
                return Err(oauth_error(
                    400,
                    "invalid_request",
                    format!("Unknown company: {c:?}"),
                ));
            }
            c.to_string()
        }
        None => match state.config.keys.first() {
            Some(k) => k.company.clone(),
            None => {
                return Err(oauth_error(
                    400,
                    "invalid_request",
                    "The emulator has no company to authorize (start it with --key)",
                ))
            }
        },
    };
    let code = random_token("code_");
    state
        .codes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            code.clone(),
            Code {
                client_id: client_id.to_string(),
                redirect_uri: redirect_uri.to_string(),
                company,
                expires_at: now + CODE_TTL_SECS,
            },
        );
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    ser.append_pair("code", &code);
    if let Some(s) = get("state") {
        ser.append_pair("state", s);
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    Ok(Authorized::Redirect(format!(
        "{redirect_uri}{sep}{}",
        ser.finish()
    )))
}

/// `POST /oauth/access_token`: the token reply, or an error.
pub fn access_token(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(serde_json::Value, super::store::Commit), ErrorReply> {
    let form = pairs(std::str::from_utf8(body).unwrap_or(""));
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    // Client credentials in the form, or as HTTP Basic (RFC 6749 2.3.1).
    let (mut client_id, mut secret) = (get("client_id"), get("client_secret"));
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(b) = v
            .strip_prefix("Basic ")
            .or_else(|| v.strip_prefix("basic "))
        {
            if let Some(dec) = base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
            {
                if let Some((i, s)) = dec.split_once(':') {
                    client_id.get_or_insert(i.to_string());
                    secret.get_or_insert(s.to_string());
                }
            }
        }
    }
    let client_id = client_id.unwrap_or_default();
    let secret = secret.unwrap_or_default();
    let known = state
        .config
        .oauth_clients
        .iter()
        .any(|c| c.id == client_id && c.secret == secret);
    if !known {
        return Err(oauth_error(
            401,
            "invalid_client",
            format!("Unknown client or wrong secret for client_id {client_id:?}"),
        ));
    }
    let company = match get("grant_type").as_deref() {
        Some("authorization_code") => {
            let code = get("code").unwrap_or_default();
            let grant = state
                .codes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&code);
            let Some(grant) = grant.filter(|g| g.expires_at > now) else {
                return Err(oauth_error(
                    400,
                    "invalid_grant",
                    "The authorization code is invalid, expired or already used",
                ));
            };
            if grant.client_id != client_id {
                return Err(oauth_error(
                    400,
                    "invalid_grant",
                    "The authorization code was issued to another client",
                ));
            }
            // RFC 6749 4.1.3: the URI the code was sent to, named again.
            if get("redirect_uri").as_deref() != Some(grant.redirect_uri.as_str()) {
                return Err(oauth_error(
                    400,
                    "invalid_grant",
                    "redirect_uri is missing or does not match the one the code was sent to",
                ));
            }
            grant.company
        }
        Some("refresh_token") => {
            let token = get("refresh_token").unwrap_or_default();
            let h = hash(&token);
            // Rotation: the refresh token is spent here, whatever happens next.
            let (found, _) = state.store.write(|d| match d.tokens.get(&h) {
                Some(t) if t.kind == "refresh" && t.client_id == client_id => {
                    let company = t.company.clone();
                    d.remove_token(&h);
                    Some(company)
                }
                _ => None,
            });
            found.ok_or_else(|| {
                oauth_error(
                    400,
                    "invalid_grant",
                    format!(
                        "The refresh token {} is invalid or was already used",
                        mask(&token)
                    ),
                )
            })?
        }
        other => {
            return Err(oauth_error(
                400,
                "unsupported_grant_type",
                format!(
                    "grant_type must be authorization_code or refresh_token, found {:?}",
                    other.unwrap_or("")
                ),
            ))
        }
    };
    let ttl = state.config.token_ttl.as_secs() as i64;
    let access = random_token("at_");
    let refresh = random_token("rt_");
    let ((), commit) = state.store.write(|d| {
        d.put_token(
            hash(&access),
            Token {
                kind: "access".into(),
                company: company.clone(),
                client_id: client_id.clone(),
                expires_at: now + ttl,
            },
        );
        d.put_token(
            hash(&refresh),
            Token {
                kind: "refresh".into(),
                company: company.clone(),
                client_id: client_id.clone(),
                expires_at: i64::MAX,
            },
        );
    });
    Ok((
        json!({
            "token_type": "Bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": ttl,
            "scope": "read_write",
        }),
        commit,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_parse_with_their_redirect_uris() {
        let c: OAuthClient = "app:s3cret:https://app.example/cb:http://127.0.0.1:8080/cb"
            .parse()
            .unwrap();
        assert_eq!((c.id.as_str(), c.secret.as_str()), ("app", "s3cret"));
        assert_eq!(
            c.redirect_uris,
            ["https://app.example/cb", "http://127.0.0.1:8080/cb"]
        );
        let c: OAuthClient = "app:s:https://a.example/x,https://b.example:8443/y"
            .parse()
            .unwrap();
        assert_eq!(
            c.redirect_uris,
            ["https://a.example/x", "https://b.example:8443/y"]
        );
        assert!(c.allows("https://a.example/x"));
        assert!(!c.allows("https://a.example/x/../evil"));
        assert!(!c.allows("http://127.0.0.1:9/cb"), "registered URIs only");
        let plain: OAuthClient = "id:secret".parse().unwrap();
        assert!(plain.redirect_uris.is_empty());
        for ok in [
            "http://127.0.0.1:9/cb",
            "http://localhost/cb",
            "http://[::1]:80/x",
        ] {
            assert!(plain.allows(ok), "{ok}");
        }
        for bad in [
            "http://evil.example/cb",
            "https://127.0.0.1/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://user@127.0.0.1/cb",
            "javascript:alert(1)",
        ] {
            assert!(!plain.allows(bad), "{bad}");
        }
        assert!("id".parse::<OAuthClient>().is_err());
        assert!("id:".parse::<OAuthClient>().is_err());
        assert!("id:s:not a url".parse::<OAuthClient>().is_err());
    }

    #[test]
    fn masks_keys() {
        assert_eq!(mask("sk_live_1234567890"), "**************7890");
        assert_eq!(mask("demo"), "****");
        assert!(!mask("test_key_1").contains("test"));
    }
}
