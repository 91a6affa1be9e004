//! When a bug strikes: what the program was working on, so that a panic is
//! reported in one line that names the input and row, and never as a
//! backtrace to a user.
//!
//! - Each thread notes the input ([`working_on_file`]) and the row
//!   ([`working_on_row`], [`working_on`]) it is busy with: a thread-local
//!   store, a few nanoseconds a row.
//! - A dependency that may panic on a damaged file (a workbook reader)
//!   runs [`contained`]: its panic becomes an error for that file and no
//!   report is printed.
//! - [`install`] (called by the binary, first thing) sets the panic hook:
//!   any other panic, on any thread, prints one line (`error: internal
//!   error while reading in.csv row 12: ...`), and [`struck`] tells the
//!   command line to exit with 70 once the threads have wound down, so
//!   that the ledger's own failure paths (a run marked failed, resumable)
//!   run as for any other error. With `RUST_BACKTRACE` set, the hook also
//!   prints where it happened and the backtrace, for developers.
//!
//! In debug builds only, `FACTURARE_DEBUG_PANIC=read:ROW` or `map:ROW`
//! panics on purpose when that row is read or its document mapped: the
//! tests prove the report, the exit code and the ledger with it.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// An input and, for a workbook, its sheet.
type FileSheet = (Arc<str>, Option<Arc<str>>);

thread_local! {
    /// The input (and sheet) this thread works on.
    static FILE: RefCell<Option<FileSheet>> = const { RefCell::new(None) };
    /// Its row (0: none yet), and what is done with it.
    static ROW: Cell<(u64, Stage)> = const { Cell::new((0, Stage::Read)) };
    /// Inside [`contained`]: panics are the caller's to report.
    static CONTAINED: Cell<u32> = const { Cell::new(0) };
    /// The message of the last contained panic.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The input being worked on when a thread has noted none itself.
static LAST_FILE: Mutex<Option<Arc<str>>> = Mutex::new(None);

/// Whether an uncontained panic has been reported.
static STRUCK: AtomicBool = AtomicBool::new(false);

/// What a thread does with the row it notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Read,
    Map,
}

impl Stage {
    fn verb(self) -> &'static str {
        match self {
            Stage::Read => "reading",
            Stage::Map => "mapping",
        }
    }
}

/// This thread now works on `file` (a sheet of it, when given).
pub fn working_on_file(file: &Arc<str>, sheet: Option<&Arc<str>>) {
    FILE.with(|f| *f.borrow_mut() = Some((file.clone(), sheet.cloned())));
    ROW.with(|r| r.set((0, Stage::Read)));
    *LAST_FILE.lock().unwrap_or_else(PoisonError::into_inner) = Some(file.clone());
}

/// This thread now works on `row` of its file.
#[inline]
pub fn working_on_row(row: u64, stage: Stage) {
    ROW.with(|r| r.set((row, stage)));
    #[cfg(debug_assertions)]
    if CONTAINED.with(Cell::get) == 0 {
        debug_fault(row, stage);
    }
}

/// This thread now works on the row at `at` (mapping its document).
pub fn working_on(at: &crate::model::RowRef, stage: Stage) {
    let same = FILE.with(|f| {
        f.borrow()
            .as_ref()
            .is_some_and(|(file, sheet)| Arc::ptr_eq(file, &at.file) && sheet == &at.sheet)
    });
    if !same {
        FILE.with(|f| *f.borrow_mut() = Some((at.file.clone(), at.sheet.clone())));
    }
    working_on_row(at.row, stage);
}

/// In debug builds: panic where `FACTURARE_DEBUG_PANIC` says.
#[cfg(debug_assertions)]
fn debug_fault(row: u64, stage: Stage) {
    use std::sync::OnceLock;
    static AT: OnceLock<Option<(Stage, u64)>> = OnceLock::new();
    let at = AT.get_or_init(|| {
        let v = std::env::var("FACTURARE_DEBUG_PANIC").ok()?;
        let (stage, row) = v.split_once(':')?;
        let stage = match stage {
            "read" => Stage::Read,
            "map" => Stage::Map,
            _ => return None,
        };
        Some((stage, row.parse().ok()?))
    });
    if *at == Some((stage, row)) {
        panic!("FACTURARE_DEBUG_PANIC asked for a panic here");
    }
}

/// What this thread was working on, for the report: `in.csv row 12`.
fn doing() -> Option<String> {
    let file = FILE.with(|f| f.borrow().clone());
    let (row, stage) = ROW.with(Cell::get);
    match file {
        Some((file, sheet)) => {
            let mut s = format!("{} {file}", stage.verb());
            if let Some(sheet) = sheet {
                s.push_str(&format!(" [{sheet}]"));
            }
            if row > 0 {
                s.push_str(&format!(" row {row}"));
            }
            Some(s)
        }
        None => LAST_FILE
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|f| format!("working on {f}")),
    }
}

/// Run `f`, taking a panic in it as an error: its message, cut. For a
/// dependency that may panic on a damaged input.
pub fn contained<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    CONTAINED.with(|c| c.set(c.get() + 1));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(c.get().saturating_sub(1)));
    r.map_err(|payload| {
        CAUGHT
            .with(|c| c.borrow_mut().take())
            .unwrap_or_else(|| payload_text(payload.as_ref()))
    })
}

/// Whether a panic was reported (the command line exits with 70).
pub fn struck() -> bool {
    STRUCK.load(Ordering::SeqCst)
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string());
    let one_line = text.lines().next().unwrap_or("").to_string();
    crate::model::text::escape_all(&crate::model::text::cut_to(&one_line, 200)).into_owned()
}

/// The one line a user sees.
fn report(message: &str) -> String {
    let doing = doing().map(|d| format!(" while {d}")).unwrap_or_default();
    let doing = crate::model::text::escape_all(&doing).into_owned();
    format!(
        "error: internal error{doing}: {message}; this is a bug in facturare-etl, please report it (RUST_BACKTRACE=1 shows where)"
    )
}

/// Set the panic hook the binary uses (see the module docs).
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        let message = payload_text(info.payload());
        if CONTAINED.with(Cell::get) > 0 {
            CAUGHT.with(|c| *c.borrow_mut() = Some(message));
            return;
        }
        if STRUCK.swap(true, Ordering::SeqCst) {
            // One report: panics that follow from the first say nothing new.
            return;
        }
        let mut out = report(&message);
        out.push('\n');
        let developer = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
        if developer {
            if let Some(l) = info.location() {
                out.push_str(&format!("  at {}:{}:{}\n", l.file(), l.line(), l.column()));
            }
            out.push_str(&format!("{}\n", std::backtrace::Backtrace::force_capture()));
        }
        use std::io::Write as _;
        let _ = std::io::stderr().write_all(out.as_bytes());
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contained_panics_are_errors_with_their_message() {
        let r: Result<(), String> = contained(|| panic!("bad \u{1b} thing\nsecond line"));
        assert_eq!(r.unwrap_err(), "bad \\u{1b} thing");
        assert_eq!(contained(|| 3), Ok(3));
    }

    #[test]
    fn reports_name_the_file_and_row() {
        let file: Arc<str> = Arc::from("in.csv");
        std::thread::spawn(move || {
            working_on_file(&file, None);
            working_on_row(12, Stage::Map);
            let r = report("attempt to multiply with overflow");
            assert!(
                r.starts_with("error: internal error while mapping in.csv row 12: attempt to multiply with overflow;"),
                "{r}"
            );
            assert!(!r.contains('\n'));
        })
        .join()
        .unwrap();
    }
}
