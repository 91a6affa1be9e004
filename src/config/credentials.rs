//! Where the key or the tokens come from, in the order of precedence the
//! module docs of [`crate::config`] give, and which OAuth client
//! `auth login` uses. Secrets are read here and never printed: errors name
//! the file or variable, not its content.

use super::{ConfigError, Location, Request, API_KEY_ENV};
use crate::api::{self, ApiKey, Credentials, Secret, TokenSource};
use std::path::{Path, PathBuf};
use url::Url;

/// Where the credential came from (for `auth status`; never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// The embedded emulator's fixed key.
    Local,
    /// `--api-key-file`.
    KeyFileFlag(PathBuf),
    /// `FACTURARE_API_KEY`.
    EnvVar,
    /// `api_key_file` in the config file.
    KeyFileConfig(PathBuf),
    /// OAuth tokens stored by `auth login`.
    Tokens(PathBuf),
}

impl std::fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialSource::Local => f.write_str("the local emulator's built-in key"),
            CredentialSource::KeyFileFlag(p) => {
                write!(f, "API key from --api-key-file {}", p.display())
            }
            CredentialSource::EnvVar => write!(f, "API key from {API_KEY_ENV}"),
            CredentialSource::KeyFileConfig(p) => {
                write!(f, "API key from {} (config file)", p.display())
            }
            CredentialSource::Tokens(p) => write!(f, "OAuth tokens in {}", p.display()),
        }
    }
}

/// Read an API key from a file: surrounding whitespace (a trailing newline)
/// is dropped; an empty key is an error naming the file.
pub fn read_key_file(path: &Path, origin: &str) -> Result<ApiKey, ConfigError> {
    let text = crate::fs::read_to_string(path)?;
    let key = text.trim();
    if key.is_empty() {
        return Err(ConfigError::EmptyKey {
            origin: origin.to_string(),
        });
    }
    Ok(ApiKey::new(key))
}

/// The credentials of a remote environment: `--api-key-file`, then
/// `FACTURARE_API_KEY`, then the profile's `api_key_file`, then the stored
/// OAuth tokens.
pub(super) fn resolve(
    loc: &Location,
    req: &Request,
) -> Result<(Credentials, CredentialSource), ConfigError> {
    if let Some(path) = &req.api_key_file {
        let origin = format!("--api-key-file {}", path.display());
        let key = read_key_file(path, &origin)?;
        return Ok((
            Credentials::ApiKey(key),
            CredentialSource::KeyFileFlag(path.clone()),
        ));
    }
    if let Some(raw) = &req.api_key_env {
        let key = raw.trim();
        if key.is_empty() {
            return Err(ConfigError::EmptyKey {
                origin: API_KEY_ENV.into(),
            });
        }
        return Ok((
            Credentials::ApiKey(ApiKey::new(key)),
            CredentialSource::EnvVar,
        ));
    }
    if let Some(path) = &loc.api_key_file {
        let origin = format!(
            "api_key_file {} in {}",
            path.display(),
            loc.config_path
                .as_deref()
                .unwrap_or(Path::new("config"))
                .display()
        );
        let key = read_key_file(path, &origin)?;
        return Ok((
            Credentials::ApiKey(key),
            CredentialSource::KeyFileConfig(path.clone()),
        ));
    }
    let tokens = loc.tokens_path();
    if tokens.exists() {
        let file = api::TokenFile::read(&tokens).map_err(ConfigError::Tokens)?;
        let env = loc.environment.label();
        if let Some(issued_for) = file.env.as_deref().filter(|e| *e != env) {
            return Err(ConfigError::TokensForOtherEnv {
                path: tokens,
                issued_for: issued_for.to_string(),
                env,
            });
        }
        let source = TokenSource::new(file, Some(tokens.clone())).map_err(ConfigError::Tokens)?;
        return Ok((
            Credentials::Bearer(source),
            CredentialSource::Tokens(tokens),
        ));
    }
    Err(ConfigError::NoCredentials {
        env: loc.environment.label(),
    })
}

/// What `auth login` is told on its command line about the OAuth client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthFlags {
    pub client_id: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub scope: Option<String>,
}

/// The OAuth client `auth login` uses, resolved.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    /// Where authorization and the token exchange happen.
    pub oauth_base: Url,
    pub client_id: String,
    pub client_secret: Secret,
    /// `read` or `read_write`.
    pub scope: String,
    /// The environment the tokens are for.
    pub env_label: String,
}

impl Location {
    /// The OAuth client for this environment. Each setting comes from the
    /// flag, then the profile's `[oauth]` table, then (on loopback, where
    /// the emulator listens) the emulator's built-in client; the scope
    /// defaults to `read_write`.
    pub fn oauth_client(&self, flags: &OAuthFlags) -> Result<OAuthClient, ConfigError> {
        let api_url = self
            .environment
            .api_url()
            .ok_or(ConfigError::LocalNeedsNoLogin)?;
        let oauth_base = self.environment.oauth_url(&api_url);
        let loopback = api::is_loopback(&api_url);
        let (default_id, default_secret) = crate::emulator::DEFAULT_OAUTH_CLIENT;
        let client_id = flags
            .client_id
            .clone()
            .or_else(|| self.oauth.client_id.clone())
            .or_else(|| loopback.then(|| default_id.to_string()))
            .ok_or(ConfigError::NoOAuthClientId)?;
        let secret_file = flags
            .client_secret_file
            .clone()
            .or_else(|| self.oauth.client_secret_file.clone());
        let client_secret = match secret_file {
            Some(path) => {
                let origin = format!("the client secret file {}", path.display());
                Secret::new(read_key_file(&path, &origin)?.expose())
            }
            None if loopback => Secret::new(default_secret),
            None => return Err(ConfigError::NoOAuthClientSecret),
        };
        let scope = flags
            .scope
            .clone()
            .or_else(|| self.oauth.scope.clone())
            .unwrap_or_else(|| "read_write".to_string());
        Ok(OAuthClient {
            oauth_base,
            client_id,
            client_secret,
            scope,
            env_label: self.environment.label(),
        })
    }
}
