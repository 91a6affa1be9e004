//! The progress displays, drawn with indicatif: a [`Bar`] per stage (a
//! counter until its total is known, then a bar), and for runs over many
//! companies a [`Line`] per company that shows its current stage. Rates
//! are rounded (`320/s`), the ETA moves in coarse steps so that it reads
//! steadily, and each stage says what it is waiting for.

use crate::progress::Progress;
use indicatif::{MultiProgress, ProgressBar, ProgressState, ProgressStyle};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A rate for people: `320/s`, `4.5/s`, `0.25/s`; `-` before there is one.
pub fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        return "-/s".to_string();
    }
    if per_sec >= 10.0 {
        format!("{per_sec:.0}/s")
    } else if per_sec >= 1.0 {
        format!("{per_sec:.1}/s")
    } else {
        format!("{per_sec:.2}/s")
    }
}

/// An ETA for people, in steps that do not flicker: 5 s under a minute,
/// 30 s under ten minutes, minutes under an hour, then hours and minutes.
pub fn steady_eta(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "-".to_string();
    }
    let s = secs.ceil() as u64;
    let up = |s: u64, step: u64| s.div_ceil(step) * step;
    match s {
        0 => "0s".to_string(),
        1..=59 => format!("{}s", up(s, 5).clamp(5, 55)),
        60..=599 => {
            let t = up(s, 30);
            match t % 60 {
                0 => format!("{}m", t / 60),
                _ => format!("{}m{:02}s", t / 60, t % 60),
            }
        }
        600..=3599 => format!("{}m", s.div_ceil(60)),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600).div_ceil(60).min(59)),
    }
}

/// The ETA of a bar: what is left at the (smoothed) rate, once there is
/// a rate to go by.
fn eta_of(state: &ProgressState) -> String {
    let (Some(len), per_sec) = (state.len(), state.per_sec()) else {
        return "-".to_string();
    };
    if state.pos() == 0 || per_sec <= 0.0 || state.elapsed() < Duration::from_secs(1) {
        return "-".to_string();
    }
    steady_eta(len.saturating_sub(state.pos()) as f64 / per_sec)
}

fn with_keys(style: ProgressStyle) -> ProgressStyle {
    style
        .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&rate(s.per_sec()));
        })
        .with_key(
            "steady_eta",
            |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&eta_of(s));
            },
        )
}

/// A stage whose total is known: `validated [=====>    ] 120/600 320/s ETA 5s ...`.
pub fn bar_style() -> ProgressStyle {
    with_keys(
        ProgressStyle::with_template(
            "{prefix:>12.bold} [{bar:30}] {pos}/{len} {rate} ETA {steady_eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    )
}

/// A stage whose total is not known (yet): a spinner and a count.
pub fn spinner_style() -> ProgressStyle {
    with_keys(
        ProgressStyle::with_template("{prefix:>12.bold} {spinner} {pos} {rate} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    )
}

/// The text beside the count: the stage's message and what it waits for.
fn compose(message: &str, waiting: Option<&str>) -> String {
    match (message.is_empty(), waiting) {
        (_, None) => message.to_string(),
        (true, Some(w)) => format!("waiting for {w}"),
        (false, Some(w)) => format!("{message} · waiting for {w}"),
    }
}

/// A stage's own line.
pub struct Bar {
    pb: ProgressBar,
    text: Mutex<(String, Option<String>)>,
}

impl Bar {
    /// A bar of `total` when known (and not 0: an empty bar would look
    /// full), else a counter, added to `bars`.
    pub fn new(bars: &MultiProgress, stage: &str, total: Option<u64>) -> Bar {
        let pb = match total.filter(|&n| n > 0) {
            Some(len) => bars.add(ProgressBar::new(len)).with_style(bar_style()),
            None => {
                let pb = bars
                    .add(ProgressBar::no_length())
                    .with_style(spinner_style());
                pb.enable_steady_tick(Duration::from_millis(120));
                pb
            }
        };
        pb.set_prefix(stage.to_string());
        Bar {
            pb,
            text: Mutex::new((String::new(), None)),
        }
    }

    /// From a counter to a bar of `len`, once the total is known.
    fn ensure_bar(&self, len: u64) -> bool {
        if self.pb.length().is_some() {
            return false;
        }
        self.pb.set_length(len);
        self.pb.disable_steady_tick();
        self.pb.set_style(bar_style());
        true
    }

    fn redraw(&self, f: impl FnOnce(&mut (String, Option<String>))) {
        let mut t = self.text.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut t);
        self.pb.set_message(compose(&t.0, t.1.as_deref()));
    }
}

impl Progress for Bar {
    fn set_total(&self, total: u64) {
        if total > 0 && !self.ensure_bar(total) {
            self.pb.set_length(total);
        }
    }
    fn add_total(&self, n: u64) {
        if n > 0 && !self.ensure_bar(n) {
            self.pb.inc_length(n);
        }
    }
    fn advance(&self, n: u64) {
        self.pb.inc(n);
    }
    fn message(&self, message: String) {
        self.redraw(|t| t.0 = message);
    }
    fn waiting(&self, what: Option<&str>) {
        self.redraw(|t| t.1 = what.map(str::to_string));
    }
    fn finish(&self) {
        self.pb.finish_and_clear();
    }
    fn restart(&self) {
        self.pb.set_position(0);
        self.pb.reset_eta();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if !self.pb.is_finished() {
            self.pb.finish_and_clear();
        }
    }
}

/// One stage's counts, as a company's line keeps them.
#[derive(Debug, Clone, Default)]
struct Stage {
    id: u64,
    name: String,
    pos: u64,
    len: Option<u64>,
    message: String,
    waiting: Option<String>,
    done: bool,
}

/// One line per company: its name, and the stage it started last that is
/// not finished (the other running stages summed up beside it).
pub struct Line {
    pb: ProgressBar,
    company: String,
    stages: Mutex<LineState>,
    next_id: AtomicU64,
}

#[derive(Default)]
struct LineState {
    stages: Vec<Stage>,
    /// The stage the bar shows.
    shown: Option<u64>,
    /// Whether it is drawn as a bar (else as a counter).
    shown_bar: bool,
}

impl Line {
    /// The line of `company`, added to `bars`; it says the company started.
    pub fn new(bars: &MultiProgress, company: &str) -> Arc<Line> {
        let pb = bars
            .add(ProgressBar::no_length())
            .with_style(spinner_style());
        pb.set_prefix(company.to_string());
        pb.set_message("starting");
        pb.enable_steady_tick(Duration::from_millis(120));
        Arc::new(Line {
            pb,
            company: company.to_string(),
            stages: Mutex::new(LineState::default()),
            next_id: AtomicU64::new(1),
        })
    }

    /// A stage of this company's work, shown on its line.
    pub fn stage(self: &Arc<Self>, name: &str, total: Option<u64>) -> Arc<dyn Progress> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.change(|s| {
            s.stages.push(Stage {
                id,
                name: name.to_string(),
                len: total,
                ..Stage::default()
            })
        });
        Arc::new(LineStage {
            line: self.clone(),
            id,
        })
    }

    /// The company is done: its line goes.
    pub fn finish(&self) {
        self.pb.finish_and_clear();
    }

    fn change(&self, f: impl FnOnce(&mut LineState)) {
        let mut s = self.stages.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s);
        let Some(mut top) = s.stages.iter().rev().find(|st| !st.done).cloned() else {
            return;
        };
        // An empty bar would look full: a counter until there is a total.
        top.len = top.len.filter(|&n| n > 0);
        if s.shown != Some(top.id) {
            // Another stage on the line: its own counts and rate.
            s.shown = Some(top.id);
            self.pb.reset();
            self.pb.set_prefix(format!("{} {}", self.company, top.name));
        }
        if let Some(len) = top.len {
            self.pb.set_length(len);
        }
        if s.shown_bar != top.len.is_some() {
            s.shown_bar = top.len.is_some();
            if s.shown_bar {
                self.pb.disable_steady_tick();
                self.pb.set_style(bar_style());
            } else {
                self.pb.set_style(spinner_style());
                self.pb.enable_steady_tick(Duration::from_millis(120));
            }
        }
        if self.pb.position() != top.pos {
            self.pb.set_position(top.pos);
        }
        let mut text = compose(&top.message, top.waiting.as_deref());
        for other in s.stages.iter().filter(|st| !st.done && st.id != top.id) {
            let _ = write!(text, " · {} {}", other.name, other.pos);
            if let Some(w) = &other.waiting {
                let _ = write!(text, " (waiting for {w})");
            }
        }
        self.pb.set_message(text);
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if !self.pb.is_finished() {
            self.pb.finish_and_clear();
        }
    }
}

/// A stage drawn on its company's line.
struct LineStage {
    line: Arc<Line>,
    id: u64,
}

impl LineStage {
    fn with(&self, f: impl FnOnce(&mut Stage)) {
        self.line.change(|s| {
            if let Some(st) = s.stages.iter_mut().find(|st| st.id == self.id) {
                f(st);
            }
        });
    }
}

impl Progress for LineStage {
    fn set_total(&self, total: u64) {
        self.with(|s| s.len = Some(total));
    }
    fn add_total(&self, n: u64) {
        self.with(|s| s.len = Some(s.len.unwrap_or(0) + n));
    }
    fn advance(&self, n: u64) {
        self.with(|s| s.pos += n);
    }
    fn message(&self, message: String) {
        self.with(|s| s.message = message);
    }
    fn waiting(&self, what: Option<&str>) {
        self.with(|s| s.waiting = what.map(str::to_string));
    }
    fn finish(&self) {
        self.with(|s| s.done = true);
    }
    fn restart(&self) {
        self.with(|s| s.pos = 0);
    }
}

impl Drop for LineStage {
    fn drop(&mut self) {
        self.with(|s| s.done = true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_rounded() {
        assert_eq!(rate(319.7222), "320/s");
        assert_eq!(rate(10.4), "10/s");
        assert_eq!(rate(4.54), "4.5/s");
        assert_eq!(rate(0.254), "0.25/s");
        assert_eq!(rate(0.0), "-/s");
        assert_eq!(rate(f64::NAN), "-/s");
    }

    #[test]
    fn etas_move_in_coarse_steps() {
        assert_eq!(steady_eta(0.0), "0s");
        assert_eq!(steady_eta(0.4), "5s");
        assert_eq!(steady_eta(12.0), "15s");
        assert_eq!(steady_eta(13.9), "15s");
        assert_eq!(steady_eta(59.5), "1m");
        assert_eq!(steady_eta(61.0), "1m30s");
        assert_eq!(steady_eta(89.0), "1m30s");
        assert_eq!(steady_eta(121.0), "2m30s");
        assert_eq!(steady_eta(601.0), "11m");
        assert_eq!(steady_eta(3600.0 + 61.0), "1h02m");
        assert_eq!(steady_eta(f64::INFINITY), "-");
    }

    #[test]
    fn the_text_says_what_the_stage_waits_for() {
        assert_eq!(compose("", None), "");
        assert_eq!(
            compose("", Some("the uploader")),
            "waiting for the uploader"
        );
        assert_eq!(
            compose("done 3", Some("the API")),
            "done 3 · waiting for the API"
        );
    }
}
