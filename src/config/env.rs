//! Where requests go: the named environments (`local`, `sandbox`,
//! `production`) and API URLs, checked (HTTPS, or plain HTTP to loopback
//! only; no credentials in the URL).

use super::ConfigError;
use crate::api;
use serde::Deserialize;
use url::Url;

/// The production API.
pub const PRODUCTION_URL: &str = "https://api.facturare.md";
/// The sandbox API.
pub const SANDBOX_URL: &str = "https://api.sandbox.facturare.md";
/// Where production OAuth authorizes and issues tokens.
pub const PRODUCTION_OAUTH_URL: &str = "https://facturare.md";
/// Where sandbox OAuth authorizes and issues tokens.
pub const SANDBOX_OAUTH_URL: &str = "https://sandbox.facturare.md";

/// A named environment, as `--env` and the config file's `env` give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvName {
    Local,
    Sandbox,
    Production,
}

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Environment {
    Local,
    Sandbox,
    Production,
    Url(Url),
}

impl From<EnvName> for Environment {
    fn from(name: EnvName) -> Self {
        match name {
            EnvName::Local => Environment::Local,
            EnvName::Sandbox => Environment::Sandbox,
            EnvName::Production => Environment::Production,
        }
    }
}

impl Environment {
    /// Stable name, used in import keys: `local`, `sandbox`, `production`, or the URL.
    pub fn label(&self) -> String {
        match self {
            Environment::Local => "local".into(),
            Environment::Sandbox => "sandbox".into(),
            Environment::Production => "production".into(),
            Environment::Url(u) => u.as_str().trim_end_matches('/').to_string(),
        }
    }

    /// The API base URL (`None` for `local`, which gets one when started).
    pub fn api_url(&self) -> Option<Url> {
        match self {
            Environment::Local => None,
            Environment::Sandbox => Url::parse(SANDBOX_URL).ok(),
            Environment::Production => Url::parse(PRODUCTION_URL).ok(),
            Environment::Url(u) => Some(u.clone()),
        }
    }

    /// The OAuth host given the API base URL in use: facturare.md for
    /// production, sandbox.facturare.md for the sandbox, else the API URL.
    pub fn oauth_url(&self, api_url: &Url) -> Url {
        match self {
            Environment::Sandbox => {
                Url::parse(SANDBOX_OAUTH_URL).unwrap_or_else(|_| api_url.clone())
            }
            Environment::Production => {
                Url::parse(PRODUCTION_OAUTH_URL).unwrap_or_else(|_| api_url.clone())
            }
            _ => api_url.clone(),
        }
    }
}

/// Parse and check an API URL.
pub fn parse_api_url(raw: &str, origin: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw.trim()).map_err(|e| ConfigError::BadUrl {
        url: raw.to_string(),
        origin: origin.to_string(),
        message: e.to_string(),
    })?;
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(ConfigError::BadUrl {
            url: raw.to_string(),
            origin: origin.to_string(),
            message: "expected an absolute http(s) URL with a host".into(),
        });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::BadUrl {
            url: api::client::display_url(&url),
            origin: origin.to_string(),
            message: "credentials do not belong in the URL; use a key file or FACTURARE_API_KEY"
                .into(),
        });
    }
    if api::check_secure(&url).is_err() {
        return Err(ConfigError::InsecureUrl {
            url: url.to_string(),
            origin: origin.to_string(),
        });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_hosts_follow_the_environment() {
        let api = |e: &Environment| e.api_url().unwrap();
        let url = |e: Environment| {
            let base = e.oauth_url(&api(&e));
            crate::api::oauth::authorize_url(
                &base,
                "app",
                "http://127.0.0.1:5/callback",
                "read",
                "s1",
            )
            .unwrap()
            .to_string()
        };
        assert!(url(Environment::Production)
            .starts_with("https://facturare.md/oauth/authorize?response_type=code&client_id=app&"));
        assert!(
            url(Environment::Sandbox).starts_with("https://sandbox.facturare.md/oauth/authorize?")
        );
        let custom = Environment::Url(Url::parse("https://h.test/api").unwrap());
        assert!(url(custom.clone()).starts_with("https://h.test/api/oauth/authorize?"));
        assert_eq!(custom.label(), "https://h.test/api");
        assert!(Environment::Local.api_url().is_none());
    }

    #[test]
    fn api_urls_are_checked() {
        assert!(parse_api_url("https://api.facturare.md", "t").is_ok());
        assert!(matches!(
            parse_api_url("http://api.facturare.md", "t"),
            Err(ConfigError::InsecureUrl { .. })
        ));
        let err = parse_api_url("https://u:hunter2@h.test", "t")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(parse_api_url("not a url", "--api-url")
            .unwrap_err()
            .to_string()
            .contains("--api-url"));
    }
}
