//! Connecting to the target: the API client for a remote environment, or,
//! for `local`, the embedded emulator started on loopback first (its data
//! in the company's data directory) and a client talking to it.

use crate::api::{ApiError, ApiKey, Client, ClientConfig, Credentials};
use crate::config::{parse_api_url, ConfigError, Settings, Target, LOCAL_KEY};
use crate::error::ErrorKind;
use crate::progress::Reporter;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use url::Url;

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

/// Why the connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Config(Box<ConfigError>),
    #[error(transparent)]
    Client(Box<ApiError>),
    #[error(transparent)]
    Fs(Box<crate::fs::FsError>),
    #[error("could not start the local emulator (data in {}): {message}", db.display())]
    Emulator { db: PathBuf, message: String },
}

impl From<ConfigError> for ConnectError {
    fn from(e: ConfigError) -> Self {
        ConnectError::Config(Box::new(e))
    }
}

impl From<ApiError> for ConnectError {
    fn from(e: ApiError) -> Self {
        ConnectError::Client(Box::new(e))
    }
}

impl From<crate::fs::FsError> for ConnectError {
    fn from(e: crate::fs::FsError) -> Self {
        ConnectError::Fs(Box::new(e))
    }
}

impl ConnectError {
    /// A target that cannot be reached or started is the API's failure.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Api
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

/// Said once per process: the embedded emulator was chosen by default.
static LOCAL_NOTICE: AtomicBool = AtomicBool::new(false);

/// Build the client; for `local`, start the emulator on loopback first
/// (saying so, once, when it was chosen because nothing was configured).
pub async fn connect(
    settings: &Settings,
    opts: ConnectOptions,
    reporter: &dyn Reporter,
) -> Result<Connection, ConnectError> {
    let client_config = |base_url: Url, credentials: Credentials| ClientConfig {
        rate_per_sec: opts.rate_per_sec.or(settings.rate_per_sec),
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
            if settings.defaulted_to_local && !LOCAL_NOTICE.swap(true, Ordering::Relaxed) {
                reporter.status(&format!(
                    "no API key configured: using the local emulator (data in {})",
                    db.display()
                ));
            }
            let config = crate::emulator::Config {
                keys: vec![crate::emulator::KeySpec::new(LOCAL_KEY, "local")],
                db: Some(db.clone()),
                ..crate::emulator::Config::default()
            };
            let running =
                crate::emulator::start(config)
                    .await
                    .map_err(|e| ConnectError::Emulator {
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

/// A tokio runtime for one job: `threads` workers, or the current thread
/// when 0.
pub fn runtime(threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    let mut b = if threads == 0 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    b.enable_all().build()
}
