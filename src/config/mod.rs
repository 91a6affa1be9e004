//! Environments (`local`, `sandbox`, `production`, or a URL), companies
//! (profiles), and where the key or tokens come from: resolved once per
//! command from a plain [`Request`] (what the flags and the environment
//! variables say) and the config file, into [`Settings`]. No network calls
//! here; connecting (and starting the embedded emulator for `local`) is
//! the job of the op that connects ([`crate::ops::connect`]).
//!
//! Precedence, highest first: flags (`--api-url` over `--env`,
//! `--api-key-file`, and their `FACTURARE_*` variables), `FACTURARE_API_KEY`,
//! the profile in the config file, then the stored OAuth tokens. With no
//! environment named anywhere, `local` is the default when no credential is
//! configured, `production` otherwise.
//!
//! - [`env`]: environments and API URLs.
//! - [`credentials`]: key and token sources; the OAuth client of `auth login`.
//! - [`file`]: the config file.

pub mod credentials;
pub mod env;
pub mod file;

pub use credentials::{read_key_file, CredentialSource, OAuthClient, OAuthFlags};
pub use env::{
    parse_api_url, EnvName, Environment, PRODUCTION_OAUTH_URL, PRODUCTION_URL, SANDBOX_OAUTH_URL,
    SANDBOX_URL,
};

use crate::api::{ApiError, Credentials};
use crate::error::ErrorKind;
use file::{ConfigFile, ProfileSpec};
use std::path::{Path, PathBuf};
use url::Url;

/// The key of the embedded emulator's single company.
pub const LOCAL_KEY: &str = "local-emulator-key";
/// The environment variable holding an API key.
pub const API_KEY_ENV: &str = "FACTURARE_API_KEY";
/// The token file's name, in the company's data directory.
pub const TOKENS_FILE: &str = "tokens.json";
/// The data directory when none is given.
pub const DEFAULT_DATA_DIR: &str = ".facturare";

/// Why the settings could not be resolved.
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
    #[error("profile `{name}` is not in {}{}", config.display(), profile_hint(known, name))]
    UnknownProfile {
        name: String,
        config: PathBuf,
        known: Vec<String>,
    },
    #[error("{} has no [profiles.NAME] tables{}: --all-profiles and --profiles run the companies listed there", config.display(), if *missing { " (it does not exist)" } else { "" })]
    NoProfiles { config: PathBuf, missing: bool },
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
    #[error("the local environment needs no login: it uses its built-in key")]
    LocalNeedsNoLogin,
    #[error("no OAuth client id")]
    NoOAuthClientId,
    #[error("no OAuth client secret")]
    NoOAuthClientSecret,
}

impl ConfigError {
    /// Every settings error is the request's (exit 2): the settings are
    /// resolved before anything is read or sent.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Usage
    }

    /// What to do about it, when there is something to say.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ConfigError::LocalNeedsNoLogin => {
                Some("pick a remote one: --env sandbox, --env production or --api-url URL")
            }
            ConfigError::NoOAuthClientId => {
                Some("pass --client-id, or set [oauth] client_id in the config file")
            }
            ConfigError::NoOAuthClientSecret => Some(
                "pass --client-secret-file, or set [oauth] client_secret_file in the config file",
            ),
            _ => None,
        }
    }
}

fn profile_hint(known: &[String], name: &str) -> String {
    match (
        crate::suggest::did_you_mean(name, known.iter().map(String::as_str)),
        known.is_empty(),
    ) {
        (Some(k), _) => format!(" (did you mean `{k}`?)"),
        (None, true) => " (it has no [profiles.NAME] tables)".to_string(),
        (None, false) => format!(" (known: {})", known.join(", ")),
    }
}

/// What the command line asks of the settings: its flags and the
/// environment variables, gathered once. [`Settings::resolve`] adds the
/// config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `--env` / `FACTURARE_ENV`.
    pub env: Option<EnvName>,
    /// `--api-url` / `FACTURARE_API_URL`.
    pub api_url: Option<String>,
    /// `--api-key-file`.
    pub api_key_file: Option<PathBuf>,
    /// The value of `FACTURARE_API_KEY`.
    pub api_key_env: Option<String>,
    /// `--profile` / `FACTURARE_PROFILE`.
    pub profile: Option<String>,
    /// `--config` / `FACTURARE_CONFIG`.
    pub config: Option<PathBuf>,
    /// `--data-dir` / `FACTURARE_DATA_DIR`.
    pub data_dir: PathBuf,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            env: None,
            api_url: None,
            api_key_file: None,
            api_key_env: None,
            profile: None,
            config: None,
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
        }
    }
}

/// The program's own files under a data dir: no report or export may be
/// written over them.
fn own_files_in(dir: &Path, out: &mut Vec<(&'static str, PathBuf)>) {
    for (what, name) in [
        ("the ledger", "ledger.db"),
        ("the ledger", "ledger.db-wal"),
        ("the local data", "local.db"),
        ("the local data", "local.db-wal"),
        ("the stored tokens", TOKENS_FILE),
    ] {
        out.push((what, dir.join(name)));
    }
}

impl Request {
    /// The files this request's settings use (the config file, the
    /// ledger, local data and tokens under the data dir and the profile's,
    /// the API key file): no output may be written over them.
    pub fn own_files(&self) -> Vec<(&'static str, PathBuf)> {
        let mut out = vec![(
            "the config file",
            self.config
                .clone()
                .unwrap_or_else(|| self.data_dir.join("config.toml")),
        )];
        own_files_in(&self.data_dir, &mut out);
        if let Some(p) = &self.profile {
            own_files_in(&self.data_dir.join("profiles").join(p), &mut out);
        }
        if let Some(k) = &self.api_key_file {
            out.push(("the API key file", k.clone()));
        }
        out
    }

    /// Whether a key is given outside the config file (it decides the
    /// default environment).
    fn has_key_outside_config(&self) -> bool {
        self.api_key_file.is_some() || self.api_key_env.is_some()
    }
}

/// Where requests go and with what credentials.
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
    /// The profile's `rate`: requests per second.
    pub rate_per_sec: Option<u32>,
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
    /// The company's requests per second from the config file (`--rate`
    /// takes precedence).
    pub rate_per_sec: Option<u32>,
}

/// Requests per second written `N/s` (or `N`, `N/sec`), N ≥ 1: `--rate`
/// and the config file's `rate`.
pub fn parse_rate(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let num = t
        .strip_suffix("/s")
        .or_else(|| t.strip_suffix("/sec"))
        .unwrap_or(t)
        .trim();
    match num.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "expected requests per second as N/s with N ≥ 1 (e.g. 100/s), found {s:?}"
        )),
    }
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

/// The config file the request names (or the default one), read; empty
/// when there is none.
struct Loaded {
    path: Option<PathBuf>,
    file: ConfigFile,
    text: String,
}

impl Loaded {
    fn read(req: &Request) -> Result<Loaded, ConfigError> {
        let path = match &req.config {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError::MissingConfig { path: path.clone() });
                }
                path.clone()
            }
            None => {
                let path = req.data_dir.join("config.toml");
                if !path.exists() {
                    return Ok(Loaded {
                        path: None,
                        file: ConfigFile::default(),
                        text: String::new(),
                    });
                }
                path
            }
        };
        let (file, text) = file::load(&path)?;
        Ok(Loaded {
            path: Some(path),
            file,
            text,
        })
    }

    /// The folder relative paths in the file are resolved against.
    fn dir(&self) -> Option<PathBuf> {
        self.path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
    }
}

/// The companies of the config file: its `[profiles.NAME]` tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profiles {
    /// The config file read (or the one that would be read, when missing).
    pub config: PathBuf,
    /// The profile names, sorted.
    pub names: Vec<String>,
}

impl Profiles {
    /// The profiles of the config file the request names. No config file,
    /// or one without `[profiles.NAME]` tables, is an error that says so.
    pub fn list(req: &Request) -> Result<Profiles, ConfigError> {
        let loaded = Loaded::read(req)?;
        let config = loaded
            .path
            .clone()
            .unwrap_or_else(|| req.data_dir.join("config.toml"));
        if loaded.file.profiles.is_empty() {
            return Err(ConfigError::NoProfiles {
                config,
                missing: loaded.path.is_none(),
            });
        }
        for name in loaded.file.profiles.keys() {
            if !valid_profile_name(name) {
                return Err(ConfigError::BadProfileName(name.clone()));
            }
        }
        Ok(Profiles {
            config,
            names: loaded.file.profiles.keys().cloned().collect(),
        })
    }

    /// `names` checked against the file's profiles (each must be one, a
    /// typo gets a "did you mean"), in the order given, repeats dropped.
    pub fn pick(&self, names: &[String]) -> Result<Vec<String>, ConfigError> {
        let mut picked: Vec<String> = Vec::new();
        for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            if !self.names.iter().any(|k| k == n) {
                return Err(ConfigError::UnknownProfile {
                    name: n.to_string(),
                    config: self.config.clone(),
                    known: self.names.clone(),
                });
            }
            if !picked.iter().any(|p| p == n) {
                picked.push(n.to_string());
            }
        }
        Ok(picked)
    }
}

/// The log file the config file names (`log_file`, relative to the file),
/// if it names one.
pub fn configured_log_file(req: &Request) -> Result<Option<PathBuf>, ConfigError> {
    let loaded = Loaded::read(req)?;
    let dir = loaded.dir();
    Ok(loaded
        .file
        .log_file
        .as_deref()
        .map(|p| relative_to(dir.as_deref(), p)))
}

impl Location {
    /// Resolve the environment and company from the request and the config file.
    pub fn resolve(req: &Request) -> Result<Location, ConfigError> {
        let root = req.data_dir.clone();
        let profile = req.profile.clone().filter(|p| !p.is_empty());
        if let Some(p) = &profile {
            if !valid_profile_name(p) {
                return Err(ConfigError::BadProfileName(p.clone()));
            }
        }
        let Loaded {
            path: config_path,
            file,
            text,
        } = Loaded::read(req)?;
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

        let rate_per_sec = match &spec.rate {
            None => None,
            Some(r) => {
                let parsed = match r.get_ref() {
                    file::RateValue::Number(n) => {
                        u32::try_from(*n).ok().filter(|n| *n >= 1).ok_or_else(|| {
                            format!("expected requests per second, at least 1, found {n}")
                        })
                    }
                    file::RateValue::Text(t) => parse_rate(t),
                };
                let (line, col) = file::line_col(&text, r.span().start);
                Some(parsed.map_err(|message| ConfigError::Parse {
                    path: config_path.clone().unwrap_or_default(),
                    line,
                    col,
                    message: format!("rate: {message}"),
                })?)
            }
        };

        // The environment: flags, then the profile, then the default.
        let mut env_defaulted = false;
        let environment = if let Some(raw) = req.api_url.as_deref().filter(|s| !s.trim().is_empty())
        {
            Environment::Url(parse_api_url(raw, "--api-url")?)
        } else if let Some(e) = req.env {
            e.into()
        } else if let Some(raw) = &spec.api_url {
            let path = config_path.clone().unwrap_or_default();
            let (line, col) = file::line_col(&text, raw.span().start);
            let origin = format!("{}:{line}:{col}", path.display());
            Environment::Url(parse_api_url(raw.get_ref(), &origin)?)
        } else if let Some(e) = spec.env {
            e.into()
        } else {
            let configured = req.has_key_outside_config()
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
            rate_per_sec,
        })
    }

    /// The token file of this company.
    pub fn tokens_path(&self) -> PathBuf {
        self.data_dir.join(TOKENS_FILE)
    }

    /// The ledger of this company: `data_dir/ledger.db`.
    pub fn ledger_path(&self) -> PathBuf {
        self.data_dir.join("ledger.db")
    }
}

impl Settings {
    /// Resolve from the request (flags, `FACTURARE_API_KEY`) and the config file.
    pub fn resolve(req: &Request) -> Result<Settings, ConfigError> {
        let loc = Location::resolve(req)?;
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
                let (credentials, source) = credentials::resolve(&loc, req)?;
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
            rate_per_sec: loc.rate_per_sec,
        })
    }

    /// `data_dir/ledger.db`.
    pub fn ledger_path(&self) -> PathBuf {
        self.data_dir.join("ledger.db")
    }

    /// The files these settings use (config, ledger, local data, tokens,
    /// the API key file): no output may be written over them.
    pub fn own_files(&self) -> Vec<(&'static str, PathBuf)> {
        let mut out = Vec::new();
        if let Some(c) = &self.config_path {
            out.push(("the config file", c.clone()));
        }
        own_files_in(&self.data_dir, &mut out);
        match &self.credential_source {
            CredentialSource::KeyFileFlag(k) | CredentialSource::KeyFileConfig(k) => {
                out.push(("the API key file", k.clone()))
            }
            CredentialSource::Tokens(t) => out.push(("the stored tokens", t.clone())),
            CredentialSource::Local | CredentialSource::EnvVar => {}
        }
        out
    }

    /// `data_dir/tokens.json`.
    pub fn tokens_path(&self) -> PathBuf {
        self.data_dir.join(TOKENS_FILE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_company_has_its_own_rate_and_a_bad_one_is_named_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            "env = \"local\"\nrate = 7\n\n[profiles.acme]\nenv = \"local\"\nrate = \"3/s\"\n\n[profiles.beta]\nenv = \"local\"\n\n[profiles.bad]\nenv = \"local\"\nrate = \"fast\"\n",
        )
        .unwrap();
        let req = |profile: Option<&str>| Request {
            profile: profile.map(str::to_string),
            config: Some(config.clone()),
            data_dir: dir.path().to_path_buf(),
            ..Request::default()
        };
        let rate = |p| Settings::resolve(&req(p)).map(|s| s.rate_per_sec);
        assert_eq!(rate(None).unwrap(), Some(7));
        assert_eq!(rate(Some("acme")).unwrap(), Some(3));
        assert_eq!(
            rate(Some("beta")).unwrap(),
            None,
            "no rate: the API's limits"
        );
        let e = rate(Some("bad")).unwrap_err().to_string();
        assert!(
            e.contains("config.toml:13:8: rate: expected requests per second"),
            "{e}"
        );
        assert!(e.contains("\"fast\""), "{e}");
        assert!(parse_rate("0/s").unwrap_err().contains("N ≥ 1"));
    }

    #[test]
    fn profile_names_are_path_safe() {
        assert!(valid_profile_name("acme-2_x"));
        for bad in ["", "..", "a/b", "a b", "ăcme"] {
            assert!(!valid_profile_name(bad), "{bad}");
        }
    }
}
