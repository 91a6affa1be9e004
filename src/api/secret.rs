//! Secrets that redact themselves: an API key or a token prints as `****`
//! through `Debug` and `Display`, so it cannot leak into logs or errors by
//! accident. [`Secret::expose`] is for the `Authorization` header only.

use std::fmt;

/// A secret string (token, client secret). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the header or form that carries it. Do not log.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// An API key (HTTP Basic user name, empty password). Prints as `ApiKey(****)`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Secret);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(Secret::new(key))
    }

    /// The key itself, for the `Authorization` header only. Do not log.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(****)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(****)")
    }
}

/// Replace every occurrence of `secret` in `text` by `****` (a server that
/// echoes a credential back must not make us print it).
pub(crate) fn scrub(text: &str, secret: &str) -> String {
    if secret.len() < 4 || !text.contains(secret) {
        return text.to_string();
    }
    text.replace(secret, "****")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_secrets_redact_themselves() {
        let key = ApiKey::new("sk_live_123456");
        assert_eq!(format!("{key:?}"), "ApiKey(****)");
        assert_eq!(format!("{key}"), "ApiKey(****)");
        assert_eq!(key.expose(), "sk_live_123456");
        let s = Secret::new("tok_abcdef");
        assert!(!format!("{s:?} {s}").contains("abcdef"));
    }

    #[test]
    fn scrub_masks_echoed_secrets() {
        assert_eq!(
            scrub("bad key sk_123456 given", "sk_123456"),
            "bad key **** given"
        );
        assert_eq!(scrub("nothing here", "sk_123456"), "nothing here");
    }
}
