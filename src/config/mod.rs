//! Environments (`local`, `sandbox`, `production`, or a URL), companies
//! (profiles), and where the key or tokens come from. Resolved once per
//! command ([`Settings::resolve`]); [`connect`] then builds the client (and
//! starts the embedded emulator for `local`). No network calls here except
//! that start.
//!
//! Precedence, highest first: flags (`--api-url` over `--env`,
//! `--api-key-file`, and their `FACTURARE_*` variables), `FACTURARE_API_KEY`,
//! the profile in the config file, then the stored OAuth tokens. With no
//! environment named anywhere, `local` is the default when no credential is
//! configured, `production` otherwise.

pub mod file;

use crate::api::{self, ApiError, ApiKey, Client, ClientConfig, Credentials, TokenSource};
use crate::cli::args::{EnvName, GlobalArgs};
use file::{ConfigFile, EnvSpec, ProfileSpec};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use url::Url;

/// The production API.
pub const PRODUCTION_URL: &str = "https://api.facturare.md";
/// The sandbox API.
pub const SANDBOX_URL: &str = "https://api.sandbox.facturare.md";
/// Where production OAuth authorizes and issues tokens.
pub const PRODUCTION_OAUTH_URL: &str = "https://facturare.md";
/// Where sandbox OAuth authorizes and issues tokens.
pub const SANDBOX_OAUTH_URL: &str = "https://sandbox.facturare.md";
/// The key of the embedded emulator's single company.
pub const LOCAL_KEY: &str = "local-emulator-key";
/// The environment variable holding an API key.
pub const API_KEY_ENV: &str = "FACTURARE_API_KEY";
/// The token file's name, in the company's data directory.
pub const TOKENS_FILE: &str = "tokens.json";

/// Why the settings could not be resolved or the connection made.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}:{line}:{col}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("config file {} does not exist", path.display())]
    MissingConfig { path: PathBuf },
    #[error("profile `{name}` is not in {}{}", config.display(), did_you_mean(known, name))]
    UnknownProfile {
        name: String,
        config: PathBuf,
        known: Vec<String>,
    },
    #[error("invalid profile name `{0}`: use letters, digits, `-` and `_`")]
    BadProfileName(String),
    #[error("invalid API URL {url} (from {origin}): {message}")]
    BadUrl {
        url: String,
        origin: String,
        message: String,
    },
    #[error("refusing the API URL {url} (from {origin}): plain http is allowed only to loopback (127.0.0.1, ::1, localhost); use https")]
    InsecureUrl { url: String, origin: String },
    #[error("the API key from {origin} is empty")]
    EmptyKey { origin: String },
    #[error("no credentials for {env}: set {API_KEY_ENV}, pass --api-key-file, set api_key_file in the config file, or run `facturare-etl auth login`")]
    NoCredentials { env: String },
    #[error(transparent)]
    Fs(#[from] crate::fs::FsError),
    #[error("stored OAuth tokens: {0}")]
    Tokens(#[source] ApiError),
    #[error("the OAuth tokens in {} were issued for {issued_for}, not {env}: run `facturare-etl auth login` for {env}, or use a profile per environment", path.display())]
    TokensForOtherEnv {
        path: PathBuf,
        issued_for: String,
        env: String,
    },
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("could not start the local emulator (data in {}): {message}", db.display())]
    Emulator { db: PathBuf, message: String },
}

fn did_you_mean(known: &[String], name: &str) -> String {
    let best = known
        .iter()
        .map(|k| (strsim::jaro_winkler(k, name), k))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match (best, known.is_empty()) {
        (Some((_, k)), _) => format!(" (did you mean `{k}`?)"),
        (None, true) => " (it has no [profiles.NAME] tables)".to_string(),
        (None, false) => format!(" (known: {})", known.join(", ")),
    }
}

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Environment {
    Local,
    Sandbox,
    Production,
    Url(Url),
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

/// Where the requests go and with what credentials.
#[derive(Debug, Clone)]
pub enum Target {
    /// The emulator inside this process, its data in `db`.
    Local { db: PathBuf },
    Remote {
        base_url: Url,
        credentials: Credentials,
    },
}

/// OAuth client settings, paths resolved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OAuthSettings {
    pub client_id: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub scope: Option<String>,
}

/// Everything about the environment and company, before credentials.
#[derive(Debug, Clone)]
pub struct Location {
    pub environment: Environment,
    /// True when no environment was named anywhere.
    pub env_defaulted: bool,
    /// `.facturare/` for the default company, `.facturare/profiles/NAME/` otherwise.
    pub data_dir: PathBuf,
    pub profile: Option<String>,
    /// The config file read, if one was.
    pub config_path: Option<PathBuf>,
    /// The profile's `api_key_file`, resolved against the config file's folder.
    pub api_key_file: Option<PathBuf>,
    pub oauth: OAuthSettings,
}

/// Resolved settings of one command.
#[derive(Debug, Clone)]
pub struct Settings {
    pub target: Target,
    /// Per company: ledger, bookmarks, tokens, local data.
    pub data_dir: PathBuf,
    /// `local`, `sandbox`, `production` or the URL; stable, used in import keys.
    pub env_label: String,
    pub environment: Environment,
    pub profile: Option<String>,
    pub config_path: Option<PathBuf>,
    pub credential_source: CredentialSource,
    pub oauth: OAuthSettings,
    /// `local` was chosen because nothing was configured (said on stderr at connect).
    pub defaulted_to_local: bool,
    pub quiet: bool,
}

fn valid_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn relative_to(base: Option<&Path>, p: &Path) -> PathBuf {
    match base {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p.to_path_buf(),
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

impl Location {
    /// Resolve the environment and company from flags and the config file.
    /// `has_key_outside_config`: a key is given by flag or environment
    /// variable (it decides the default environment).
    pub fn resolve(
        global: &GlobalArgs,
        has_key_outside_config: bool,
    ) -> Result<Location, ConfigError> {
        let root = global.data_dir.clone();
        let profile = global.profile.clone().filter(|p| !p.is_empty());
        if let Some(p) = &profile {
            if !valid_profile_name(p) {
                return Err(ConfigError::BadProfileName(p.clone()));
            }
        }
        let (config_path, file) = match &global.config {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError::MissingConfig { path: path.clone() });
                }
                (Some(path.clone()), Some(file::load(path)?))
            }
            None => {
                let path = root.join("config.toml");
                if path.exists() {
                    (Some(path.clone()), Some(file::load(&path)?))
                } else {
                    (None, None)
                }
            }
        };
        let (file, text) = match file {
            Some((f, t)) => (f, t),
            None => (ConfigFile::default(), String::new()),
        };
        let spec: ProfileSpec = match &profile {
            None => file.default_profile(),
            Some(name) => match file.profiles.get(name) {
                Some(p) => p.clone(),
                None => {
                    return Err(ConfigError::UnknownProfile {
                        name: name.clone(),
                        config: config_path
                            .clone()
                            .unwrap_or_else(|| root.join("config.toml")),
                        known: file.profiles.keys().cloned().collect(),
                    })
                }
            },
        };
        let config_dir = config_path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf);
        let data_dir = match &profile {
            None => root.clone(),
            Some(name) => root.join("profiles").join(name),
        };
        let api_key_file = spec
            .api_key_file
            .as_deref()
            .map(|p| relative_to(config_dir.as_deref(), p));
        let oauth = {
            let o = spec.oauth.clone().unwrap_or_default();
            OAuthSettings {
                client_id: o.client_id,
                client_secret_file: o
                    .client_secret_file
                    .as_deref()
                    .map(|p| relative_to(config_dir.as_deref(), p)),
                scope: o.scope,
            }
        };

        // The environment: flags, then the profile, then the default.
        let mut env_defaulted = false;
        let environment =
            if let Some(raw) = global.api_url.as_deref().filter(|s| !s.trim().is_empty()) {
                Environment::Url(parse_api_url(raw, "--api-url")?)
            } else if let Some(e) = global.env {
                match e {
                    EnvName::Local => Environment::Local,
                    EnvName::Sandbox => Environment::Sandbox,
                    EnvName::Production => Environment::Production,
                }
            } else if let Some(raw) = &spec.api_url {
                let path = config_path.clone().unwrap_or_default();
                let (line, col) = file::line_col(&text, raw.span().start);
                let origin = format!("{}:{line}:{col}", path.display());
                Environment::Url(parse_api_url(raw.get_ref(), &origin)?)
            } else if let Some(e) = spec.env {
                match e {
                    EnvSpec::Local => Environment::Local,
                    EnvSpec::Sandbox => Environment::Sandbox,
                    EnvSpec::Production => Environment::Production,
                }
            } else {
                let configured = has_key_outside_config
                    || api_key_file.is_some()
                    || data_dir.join(TOKENS_FILE).exists();
                if configured {
                    Environment::Production
                } else {
                    env_defaulted = true;
                    Environment::Local
                }
            };
        Ok(Location {
            environment,
            env_defaulted,
            data_dir,
            profile,
            config_path,
            api_key_file,
            oauth,
        })
    }

    /// The token file of this company.
    pub fn tokens_path(&self) -> PathBuf {
        self.data_dir.join(TOKENS_FILE)
    }
}

impl Settings {
    /// Resolve from the command line, `FACTURARE_API_KEY` and the config file.
    pub fn resolve(global: &GlobalArgs) -> Result<Settings, ConfigError> {
        Settings::resolve_with(global, std::env::var(API_KEY_ENV).ok())
    }

    /// As [`Settings::resolve`], with the value of `FACTURARE_API_KEY` given.
    pub fn resolve_with(
        global: &GlobalArgs,
        api_key_env: Option<String>,
    ) -> Result<Settings, ConfigError> {
        let loc = Location::resolve(
            global,
            global.api_key_file.is_some() || api_key_env.is_some(),
        )?;
        let (target, source) = match &loc.environment {
            Environment::Local => (
                Target::Local {
                    db: loc.data_dir.join("local.db"),
                },
                CredentialSource::Local,
            ),
            env => {
                let base_url = env.api_url().ok_or_else(|| ConfigError::BadUrl {
                    url: env.label(),
                    origin: "the environment".into(),
                    message: "no API URL".into(),
                })?;
                let (credentials, source) = resolve_credentials(&loc, global, api_key_env)?;
                (
                    Target::Remote {
                        base_url,
                        credentials,
                    },
                    source,
                )
            }
        };
        Ok(Settings {
            target,
            env_label: loc.environment.label(),
            environment: loc.environment,
            data_dir: loc.data_dir,
            profile: loc.profile,
            config_path: loc.config_path,
            credential_source: source,
            oauth: loc.oauth,
            defaulted_to_local: loc.env_defaulted,
            quiet: global.quiet,
        })
    }

    /// `data_dir/ledger.db`.
    pub fn ledger_path(&self) -> PathBuf {
        self.data_dir.join("ledger.db")
    }

    /// `data_dir/tokens.json`.
    pub fn tokens_path(&self) -> PathBuf {
        self.data_dir.join(TOKENS_FILE)
    }
}

fn resolve_credentials(
    loc: &Location,
    global: &GlobalArgs,
    api_key_env: Option<String>,
) -> Result<(Credentials, CredentialSource), ConfigError> {
    if let Some(path) = &global.api_key_file {
        let origin = format!("--api-key-file {}", path.display());
        let key = read_key_file(path, &origin)?;
        return Ok((
            Credentials::ApiKey(key),
            CredentialSource::KeyFileFlag(path.clone()),
        ));
    }
    if let Some(raw) = api_key_env {
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

/// How hard the connection may push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Requests per second (shared); `None`: no quota until a 429.
    pub rate_per_sec: Option<u32>,
    /// Requests in flight (shared).
    pub max_in_flight: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            rate_per_sec: None,
            max_in_flight: ClientConfig::DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

/// A client ready to use; for `local`, it also keeps the embedded emulator
/// running (until [`Connection::close`] or drop).
pub struct Connection {
    pub client: Client,
    pub env_label: String,
    emulator: Option<crate::emulator::Running>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("base_url", &self.client.base_url().as_str())
            .field("env_label", &self.env_label)
            .field("embedded", &self.emulator.is_some())
            .finish()
    }
}

impl Connection {
    /// Whether requests go to the emulator inside this process.
    pub fn is_embedded(&self) -> bool {
        self.emulator.is_some()
    }

    /// Stop the embedded emulator (finishing what is in flight, flushing its
    /// database). Nothing to do for a remote API.
    pub async fn close(self) {
        if let Some(running) = self.emulator {
            running.stop().await;
        }
    }
}

static LOCAL_NOTICE: AtomicBool = AtomicBool::new(false);

/// Build the client; for `local`, start the emulator on loopback first.
pub async fn connect(settings: &Settings, opts: ConnectOptions) -> Result<Connection, ConfigError> {
    let client_config = |base_url: Url, credentials: Credentials| ClientConfig {
        rate_per_sec: opts.rate_per_sec,
        max_in_flight: opts.max_in_flight.max(1),
        ..ClientConfig::new(base_url, credentials)
    };
    match &settings.target {
        Target::Remote {
            base_url,
            credentials,
        } => Ok(Connection {
            client: Client::new(client_config(base_url.clone(), credentials.clone()))?,
            env_label: settings.env_label.clone(),
            emulator: None,
        }),
        Target::Local { db } => {
            crate::fs::create_dir_all(&settings.data_dir)?;
            if settings.defaulted_to_local
                && !settings.quiet
                && !LOCAL_NOTICE.swap(true, Ordering::Relaxed)
            {
                eprintln!(
                    "no API key configured: using the local emulator (data in {})",
                    db.display()
                );
            }
            let config = crate::emulator::Config {
                keys: vec![crate::emulator::KeySpec::new(LOCAL_KEY, "local")],
                db: Some(db.clone()),
                ..crate::emulator::Config::default()
            };
            let running =
                crate::emulator::start(config)
                    .await
                    .map_err(|e| ConfigError::Emulator {
                        db: db.clone(),
                        message: format!("{e:#}"),
                    })?;
            let url = parse_api_url(&running.url(), "the local emulator")?;
            let client = Client::new(client_config(
                url,
                Credentials::ApiKey(ApiKey::new(LOCAL_KEY)),
            ))?;
            Ok(Connection {
                client,
                env_label: settings.env_label.clone(),
                emulator: Some(running),
            })
        }
    }
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

    #[test]
    fn profile_names_are_path_safe() {
        assert!(valid_profile_name("acme-2_x"));
        for bad in ["", "..", "a/b", "a b", "ăcme"] {
            assert!(!valid_profile_name(bad), "{bad}");
        }
    }
}
