//! Logs: tracing events on stderr for the person (`-v` info, `-vv` debug,
//! `-q` errors only), and with `--log-file PATH` (or `log_file` in the
//! config file) appended as JSON lines to a file for the morning after,
//! through `tracing-subscriber`'s fmt layer with its JSON field formatter.
//!
//! One line per event: `timestamp` (UTC, RFC 3339), `level`, `run` (this
//! invocation: its start time and process id, the same on every line it
//! writes), `profile` (the company whose work it is, from the enclosing
//! `profile` span; null for the command's own lines), `event` (the
//! message), `target` (the module) and `fields` (the event's and its
//! spans' other fields).
//!
//! `FACTURARE_LOG` (or else `RUST_LOG`) sets the levels per module as
//! `tracing`'s `EnvFilter` reads them (`info,facturare_etl::api=debug`):
//! of the file when there is one (else `warn,facturare_etl=info`), of
//! stderr otherwise.
//!
//! Secrets: nothing in this crate logs a key, a token or an
//! `Authorization` header (the key types redact themselves, the header is
//! marked sensitive); a test reads the file at `trace` level to hold it so.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

/// The variables that set log levels, the first one set wins.
pub const LEVEL_VARS: [&str; 2] = ["FACTURARE_LOG", "RUST_LOG"];

/// The target of the run's own events (command started and finished,
/// each company's outcome): for the log file only, since stderr shows
/// the same in its summary and errors.
pub const JOURNAL: &str = "facturare_etl::journal";

/// Added to the levels of stderr: the journal is not for it.
const NOT_ON_STDERR: &str = "facturare_etl::journal=off";

/// The levels of the log file when no variable sets them.
pub const FILE_DEFAULT: &str = "warn,facturare_etl=info";

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the log file {}", path.display())]
pub struct LogFileError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// How logging is set up: the person's verbosity and the file, if any.
#[derive(Debug, Clone, Default)]
pub struct LogSetup {
    pub quiet: bool,
    pub verbose: u8,
    pub file: Option<PathBuf>,
}

/// The levels set in the environment: the first of [`LEVEL_VARS`] that is
/// set and not empty, with its name (a bad one is reported, then ignored).
fn env_levels() -> Option<(&'static str, String)> {
    LEVEL_VARS.iter().find_map(|name| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| (*name, v))
    })
}

fn filter(directives: &str, fallback: &str) -> EnvFilter {
    EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new(fallback))
}

fn without_journal(directives: &str) -> String {
    format!("{directives},{NOT_ON_STDERR}")
}

/// The levels on stderr when no variable sets them.
fn stderr_default(setup: &LogSetup) -> &'static str {
    match (setup.quiet, setup.verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "warn,facturare_etl=info",
        _ => "warn,facturare_etl=debug",
    }
}

/// Open the log file for appending (mode 0600 when created; its folder is
/// created if missing).
fn open(path: &Path) -> Result<std::fs::File, LogFileError> {
    let wrap = |source| LogFileError {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(wrap)?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600);
    }
    o.open(path).map_err(wrap)
}

/// This invocation's id: its start (UTC) and process id.
pub fn run_id() -> String {
    format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        std::process::id()
    )
}

/// Start logging. A second call (tests in one process) changes nothing.
pub fn init(setup: &LogSetup) -> Result<(), LogFileError> {
    let env = env_levels();
    let mut bad_levels = None;
    if let Some((name, value)) = &env {
        if let Err(e) = EnvFilter::try_new(value) {
            bad_levels = Some(format!("ignoring {name}={value:?}: {e}"));
        }
    }
    let fallback = without_journal(stderr_default(setup));
    let stderr_levels = match (&env, &setup.file) {
        (Some((_, v)), None) => filter(&without_journal(v), &fallback),
        _ => EnvFilter::new(&fallback),
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(stderr_levels);
    let file = match &setup.file {
        None => None,
        Some(path) => {
            let f = open(path)?;
            let levels = match &env {
                Some((_, v)) => filter(v, FILE_DEFAULT),
                None => EnvFilter::new(FILE_DEFAULT),
            };
            Some(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(JsonFields::new())
                    .event_format(JsonLine { run: run_id() })
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(f))
                    .with_filter(levels),
            )
        }
    };
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
    if let Some(msg) = bad_levels {
        let _ = writeln!(std::io::stderr(), "warning: {msg}");
    }
    Ok(())
}

/// One JSON object per event; see the module docs for its keys.
struct JsonLine {
    run: String,
}

impl<S, N> FormatEvent<S, N> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut fields = fields.0;
        let message = fields.remove("message");
        let mut profile = serde_json::Value::Null;
        // The spans around the event, innermost first: the nearest
        // `profile` names the company; their other fields are added unless
        // the event has its own of that name.
        if let Some(scope) = ctx.event_scope() {
            for span in scope {
                let ext = span.extensions();
                let Some(recorded) = ext.get::<FormattedFields<N>>() else {
                    continue;
                };
                let Ok(serde_json::Value::Object(map)) =
                    serde_json::from_str::<serde_json::Value>(recorded.as_str())
                else {
                    continue;
                };
                for (k, v) in map {
                    if k == "profile" {
                        if profile.is_null() {
                            profile = v;
                        }
                    } else {
                        fields.entry(k).or_insert(v);
                    }
                }
            }
        }
        let line = serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "level": meta.level().as_str(),
            "run": self.run,
            "profile": profile,
            "event": message,
            "target": meta.target(),
            "fields": fields,
        });
        writeln!(writer, "{line}")
    }
}

/// An event's fields as JSON values.
#[derive(Default)]
struct Fields(serde_json::Map<String, serde_json::Value>);

impl Fields {
    fn put(&mut self, field: &Field, value: serde_json::Value) {
        self.0.insert(field.name().to_string(), value);
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, serde_json::json!(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        self.put(field, text.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_person_gets_fewer_levels_than_the_file() {
        let quiet = LogSetup {
            quiet: true,
            verbose: 2,
            file: None,
        };
        assert_eq!(stderr_default(&quiet), "error");
        assert_eq!(stderr_default(&LogSetup::default()), "warn");
        let vv = LogSetup {
            verbose: 2,
            ..LogSetup::default()
        };
        assert!(stderr_default(&vv).contains("facturare_etl=debug"));
    }

    #[test]
    fn run_ids_name_the_time_and_the_process() {
        let id = run_id();
        assert!(id.ends_with(&format!("-{}", std::process::id())), "{id}");
        assert_eq!(id.find('T'), Some(8), "{id}");
    }
}
