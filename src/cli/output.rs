//! Output discipline: stdout is data (`--json`), stderr is for people;
//! progress bars only on a terminal and never when quiet, verbose or
//! `--json`. [`Output`] is the command line's [`Reporter`]: the library's
//! jobs report through it, and it draws their progress with indicatif
//! ([`super::bars`]). For a run over many companies, [`Output::company`]
//! gives each company's job an `Output` whose lines name the company and
//! whose stages share one line per company.
//! Everything it prints for people goes through [`for_terminal`], which
//! escapes the control characters a value from the input may hold.

use super::args::GlobalArgs;
use super::bars::{Bar, Line};
use crate::progress::{NoProgress, Progress, Reporter};
use indicatif::{MultiProgress, ProgressDrawTarget};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

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
    /// In a run over many companies: the company this output is for.
    company: Option<Arc<Company>>,
}

/// A company's part of a run over many: its name and its progress line
/// (made when its first stage starts).
struct Company {
    name: String,
    line: Mutex<Option<Arc<Line>>>,
}

impl std::fmt::Debug for Company {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Company").field("name", &self.name).finish()
    }
}

impl Output {
    pub fn new(global: &GlobalArgs) -> Self {
        Output {
            json: global.json,
            quiet: global.quiet,
            verbose: global.verbose,
            stderr_tty: std::io::stderr().is_terminal(),
            bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            company: None,
        }
    }

    /// The output of one company's job in a run over many: its status
    /// lines and warnings start with its name, its stages share one
    /// progress line, and it prints no summary of its own (the run prints
    /// one for all).
    pub fn company(&self, name: &str) -> Output {
        Output {
            company: Some(Arc::new(Company {
                name: name.to_string(),
                line: Mutex::new(None),
            })),
            ..self.clone()
        }
    }

    /// The company this output is for, in a run over many.
    pub fn company_name(&self) -> Option<&str> {
        self.company.as_deref().map(|c| c.name.as_str())
    }

    /// The company's work is over: its progress line goes.
    pub fn finish_company(&self) {
        if let Some(c) = &self.company {
            if let Some(line) = c.line.lock().unwrap_or_else(|p| p.into_inner()).take() {
                line.finish();
            }
        }
    }

    /// Whether to draw progress bars.
    pub fn bars(&self) -> bool {
        self.stderr_tty && !self.quiet && !self.json && self.verbose == 0
    }

    fn prefixed(&self, msg: impl std::fmt::Display) -> String {
        match &self.company {
            Some(c) => format!("{}: {msg}", c.name),
            None => msg.to_string(),
        }
    }

    /// A line for the person, on stderr, unless quiet.
    pub fn status(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            let line = self.prefixed(msg);
            self.bars.suspend(|| eprintln!("{}", for_terminal(&line)));
        }
    }

    /// A warning for the person, on stderr, even when quiet.
    pub fn warn(&self, msg: impl std::fmt::Display) {
        let line = self.prefixed(msg);
        self.bars
            .suspend(|| eprintln!("warning: {}", for_terminal(&line)));
    }

    /// Lines of data for people (previews, test results), on stdout.
    pub fn print(&self, text: impl std::fmt::Display) {
        let text = text.to_string();
        self.bars.suspend(|| println!("{}", for_terminal(&text)));
    }

    /// Text for the person that is not a status line (a summary), on
    /// stderr even when quiet, above the bars.
    pub fn always(&self, text: &str) {
        self.bars.suspend(|| eprint!("{text}"));
    }

    /// The machine-readable summary, on stdout, when `--json` (a company's
    /// job in a run over many prints none: the run prints one for all).
    pub fn json(&self, value: &impl serde::Serialize) {
        if self.json && self.company.is_none() {
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
        match &self.company {
            None => Arc::new(Bar::new(&self.bars, stage, total)),
            Some(c) => {
                let mut line = c.line.lock().unwrap_or_else(|p| p.into_inner());
                line.get_or_insert_with(|| Line::new(&self.bars, &c.name))
                    .stage(stage, total)
            }
        }
    }
}

/// Text on its way to a terminal (or a log a terminal shows): control,
/// bidi and invisible characters from the input escaped (`\u{1b}`), so
/// that no value can move the cursor, clear the screen or reorder a line.
pub fn for_terminal(text: &str) -> std::borrow::Cow<'_, str> {
    crate::model::text::escape_controls(text)
}
