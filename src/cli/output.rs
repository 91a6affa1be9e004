//! Output discipline: stdout is data (`--json`), stderr is for people;
//! progress bars only on a terminal and never when quiet, verbose or
//! `--json`. [`Output`] is the command line's [`Reporter`]: the library's
//! jobs report through it, and it draws their progress with indicatif.

use super::args::GlobalArgs;
use crate::progress::{NoProgress, Progress, Reporter};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;

/// How a command talks to the person and to programs.
#[derive(Debug, Clone)]
pub struct Output {
    pub json: bool,
    pub quiet: bool,
    pub verbose: u8,
    /// Whether stderr is a terminal (progress bars are drawn only then).
    pub stderr_tty: bool,
    /// The bars drawn at once, one line each.
    bars: MultiProgress,
}

impl Output {
    pub fn new(global: &GlobalArgs) -> Self {
        Output {
            json: global.json,
            quiet: global.quiet,
            verbose: global.verbose,
            stderr_tty: std::io::stderr().is_terminal(),
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        }
    }

    /// Whether to draw progress bars.
    pub fn bars(&self) -> bool {
        self.stderr_tty && !self.quiet && !self.json && self.verbose == 0
    }

    /// A progress bar with a known length (hidden when bars are off).
    pub fn bar(&self, len: u64, what: &str) -> ProgressBar {
        if !self.bars() {
            return ProgressBar::hidden();
        }
        let pb = self.bars.add(ProgressBar::new(len));
        pb.set_style(
            ProgressStyle::with_template(
                "{prefix:>10.bold} [{bar:30}] {pos}/{len} {per_sec} ETA {eta} {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        pb.set_prefix(what.to_string());
        pb
    }

    /// A spinner with a counter, for work of unknown length.
    pub fn spinner(&self, what: &str) -> ProgressBar {
        if !self.bars() {
            return ProgressBar::hidden();
        }
        let pb = self.bars.add(ProgressBar::no_length());
        pb.set_style(
            ProgressStyle::with_template("{prefix:>10.bold} {spinner} {pos} {per_sec} {msg}")
                .expect("valid template"),
        );
        pb.set_prefix(what.to_string());
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        pb
    }

    /// A line for the person, on stderr, unless quiet.
    pub fn status(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            self.bars.suspend(|| eprintln!("{msg}"));
        }
    }

    /// A warning for the person, on stderr, even when quiet.
    pub fn warn(&self, msg: impl std::fmt::Display) {
        self.bars.suspend(|| eprintln!("warning: {msg}"));
    }

    /// The machine-readable summary, on stdout, when `--json`.
    pub fn json(&self, value: &impl serde::Serialize) {
        if self.json {
            match serde_json::to_string(value) {
                Ok(s) => println!("{s}"),
                Err(e) => eprintln!("error: could not encode the summary as JSON: {e}"),
            }
        }
    }
}

impl Reporter for Output {
    fn status(&self, line: &str) {
        Output::status(self, line);
    }

    fn warn(&self, line: &str) {
        Output::warn(self, line);
    }

    fn progress(&self, stage: &str, total: Option<u64>) -> Arc<dyn Progress> {
        if !self.bars() {
            return Arc::new(NoProgress);
        }
        Arc::new(Bar(match total {
            Some(len) => self.bar(len, stage),
            None => self.spinner(stage),
        }))
    }
}

/// A stage's progress drawn by indicatif.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn set_total(&self, total: u64) {
        self.0.set_length(total);
    }
    fn add_total(&self, n: u64) {
        self.0.inc_length(n);
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn message(&self, message: String) {
        self.0.set_message(message);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if !self.0.is_finished() {
            self.0.finish_and_clear();
        }
    }
}

/// Logs go to stderr; `-v` is info, `-vv` debug; `FACTURARE_LOG` overrides.
pub fn init_tracing(global: &GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    let default = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "facturare_etl=info",
        _ => "facturare_etl=debug",
    };
    let filter =
        EnvFilter::try_from_env("FACTURARE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
