//! The summary of a command run for many companies: how each company's
//! part ended ([`Entry`], logged as it ends) and the whole ([`Summary`]):
//! its text for people, its JSON, its exit code (the worst of theirs).

use super::{Done, JobResult};
use crate::cli::log::JOURNAL;
use crate::cli::Exit;
use serde::Serialize;
use std::path::PathBuf;

/// How a company's part ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// Done, some documents rejected.
    Rejected,
    Failed,
    /// Not started: the run was interrupted first.
    Skipped,
}

/// One company's line of the summary.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub profile: String,
    pub status: Status,
    pub exit: u8,
    pub counts: serde_json::Value,
    pub output: Option<PathBuf>,
    pub error: Option<String>,
    pub hint: Option<String>,
    pub elapsed_secs: f64,
    pub result: serde_json::Value,
    /// Its line in the text summary.
    #[serde(skip)]
    pub(super) line: String,
    /// Its table, for stdout.
    #[serde(skip)]
    pub(super) stdout: Option<String>,
}

impl Entry {
    pub(super) fn of(profile: &str, result: JobResult, elapsed_secs: f64) -> Entry {
        let mut e = Entry {
            profile: profile.to_string(),
            status: Status::Ok,
            exit: 0,
            counts: serde_json::Value::Null,
            output: None,
            error: None,
            hint: None,
            elapsed_secs,
            result: serde_json::Value::Null,
            line: String::new(),
            stdout: None,
        };
        match result {
            Ok(done) => {
                e.status = match done.exit {
                    Exit::Ok => Status::Ok,
                    Exit::Rejected => Status::Rejected,
                    _ => Status::Failed,
                };
                e.exit = done.exit as u8;
                e.counts = done.counts;
                e.output = done.output;
                e.result = done.result;
                e.line = done.line;
                e.stdout = done.stdout;
            }
            Err(err) => {
                e.status = Status::Failed;
                e.exit = err.exit as u8;
                let text = format!("{:#}", err.error);
                e.line = text.clone();
                e.error = Some(text);
                e.hint = err.hint;
            }
        }
        e
    }

    pub(super) fn skipped(profile: &str) -> Entry {
        Entry {
            status: Status::Skipped,
            exit: Exit::Interrupted as u8,
            line: "not started: interrupted".to_string(),
            error: Some("not started: the run was interrupted".to_string()),
            ..Entry::of(profile, Ok(Done::new(Exit::Ok, "")), 0.0)
        }
    }

    pub(super) fn log(&self) {
        let counts = self.counts.to_string();
        let output = self.output.as_ref().map(|p| p.display().to_string());
        match self.status {
            Status::Ok | Status::Rejected => tracing::info!(
                target: JOURNAL,
                status = ?self.status,
                exit = self.exit,
                counts = %counts,
                output = output.as_deref().unwrap_or(""),
                elapsed_secs = self.elapsed_secs,
                "profile finished"
            ),
            Status::Failed | Status::Skipped => tracing::error!(
                target: JOURNAL,
                status = ?self.status,
                exit = self.exit,
                error = self.error.as_deref().unwrap_or(""),
                elapsed_secs = self.elapsed_secs,
                "profile failed"
            ),
        }
    }
}

/// The summary of a run over many companies; `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub command: String,
    /// The run's exit code: the worst of the companies'.
    pub exit: u8,
    pub profiles: Vec<Entry>,
    /// The companies that failed (or were not started).
    pub failed: Vec<String>,
    /// The companies whose job rejected some documents.
    pub rejected: Vec<String>,
}

impl Summary {
    pub(super) fn new(command: &str, profiles: Vec<Entry>) -> Summary {
        let exit = profiles.iter().map(|e| e.exit).max().unwrap_or(0);
        let named = |s: &[Status]| {
            profiles
                .iter()
                .filter(|e| s.contains(&e.status))
                .map(|e| e.profile.clone())
                .collect()
        };
        Summary {
            command: command.to_string(),
            exit,
            failed: named(&[Status::Failed, Status::Skipped]),
            rejected: named(&[Status::Rejected]),
            profiles,
        }
    }

    /// The text for people: a heading, then a line per company.
    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let n = self.profiles.len();
        let count = |s: Status| self.profiles.iter().filter(|e| e.status == s).count();
        let mut parts = vec![format!("{} ok", count(Status::Ok))];
        for (s, word) in [
            (Status::Rejected, "with rejected documents"),
            (Status::Failed, "failed"),
            (Status::Skipped, "not started"),
        ] {
            if count(s) > 0 {
                parts.push(format!("{} {word}", count(s)));
            }
        }
        let mut out = format!(
            "{} for {n} {}: {}\n",
            self.command,
            if n == 1 { "company" } else { "companies" },
            parts.join(", ")
        );
        let width = self
            .profiles
            .iter()
            .map(|e| e.profile.chars().count())
            .max()
            .unwrap_or(0);
        for e in &self.profiles {
            let status = match e.status {
                Status::Ok => "ok".to_string(),
                Status::Rejected => "rejected".to_string(),
                Status::Failed => format!("failed (exit {})", e.exit),
                Status::Skipped => "skipped".to_string(),
            };
            let _ = writeln!(out, "  {:width$}  {status:<16} {}", e.profile, e.line);
            if let Some(h) = &e.hint {
                let _ = writeln!(out, "  {:width$}  {:<16} hint: {h}", "", "");
            }
        }
        out
    }
}

/// The exit code of a number that [`Exit`] gave.
pub(super) fn exit_of(code: u8) -> Exit {
    [
        Exit::Ok,
        Exit::Rejected,
        Exit::Usage,
        Exit::Input,
        Exit::Api,
        Exit::Interrupted,
    ]
    .into_iter()
    .find(|e| *e as u8 == code)
    .unwrap_or(Exit::Api)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::CliError;

    #[test]
    fn the_worst_exit_wins_and_failures_are_named() {
        let ok = Entry::of("a", Ok(Done::new(Exit::Ok, "fine")), 0.1);
        let rejected = Entry::of("b", Ok(Done::new(Exit::Rejected, "2 rejected")), 0.1);
        let failed = Entry::of(
            "c",
            Err(CliError::new(Exit::Api, anyhow::anyhow!("refused"))),
            0.1,
        );
        let s = Summary::new("export", vec![ok.clone(), rejected.clone(), failed]);
        assert_eq!(s.exit, 4);
        assert_eq!(s.failed, vec!["c".to_string()]);
        assert_eq!(s.rejected, vec!["b".to_string()]);
        let text = s.render_text();
        assert!(
            text.starts_with("export for 3 companies: 1 ok, 1 with rejected documents, 1 failed"),
            "{text}"
        );
        assert!(text.contains("c  failed (exit 4)"), "{text}");
        let s = Summary::new("export", vec![ok, rejected]);
        assert_eq!(exit_of(s.exit), Exit::Rejected);
        assert_eq!(exit_of(130), Exit::Interrupted);
    }
}
