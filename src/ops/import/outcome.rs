//! What an import reports when it ends: its counts, and the summary as
//! people read it.

use super::*;

/// How an import ended.
#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    pub run: RunId,
    pub resumed: bool,
    pub env: String,
    pub status: RunStatus,
    /// Read, map, validate.
    pub validation: Summary,
    /// Upload.
    pub upload: CountsSnapshot,
    pub requests: u64,
    pub rate_limited: u64,
    pub elapsed_secs: f64,
    /// Why the run stopped early, for people.
    pub stopped: Option<String>,
    #[serde(skip)]
    pub stop: Option<Stop>,
}

impl ImportOutcome {
    /// All done; something rejected; or stopped: the API failed, the
    /// ledger failed, or interrupted.
    pub fn ending(&self) -> Ending {
        match &self.stop {
            Some(Stop::Interrupted) => Ending::Stopped(ErrorKind::Interrupted),
            Some(Stop::Api(_)) => Ending::Stopped(ErrorKind::Api),
            Some(Stop::Ledger(_)) => Ending::Stopped(ErrorKind::Input),
            None if self.validation.rejected > 0
                || self.validation.row_errors > 0
                || self.upload.rejected > 0
                || self.upload.conflicts > 0
                || self.upload.locked > 0
                || self.upload.payments_rejected > 0 =>
            {
                Ending::Rejected
            }
            None => Ending::Ok,
        }
    }

    /// The summary for people (stderr).
    pub fn render_text(&self) -> String {
        use std::fmt::Write;
        let u = &self.upload;
        let mut s = String::new();
        let verb = if self.resumed { "resumed" } else { "run" };
        let _ = writeln!(
            s,
            "import {verb} {} against {}: {}",
            self.run, self.env, self.status
        );
        s.push_str(&self.validation.render_text());
        let _ = write!(
            s,
            "uploaded in {:.1}s: {} created, {} already imported",
            self.elapsed_secs, u.done, u.already_imported
        );
        if u.changed > 0 {
            let _ = write!(s, ", {} changed since imported (not re-sent)", u.changed);
        }
        if u.skipped > 0 {
            let _ = write!(s, ", {} skipped (number already on the account)", u.skipped);
        }
        if u.updated > 0 {
            let _ = write!(s, ", {} updated", u.updated);
        }
        if u.unchanged > 0 {
            let _ = write!(s, ", {} unchanged", u.unchanged);
        }
        if u.conflicts > 0 {
            let _ = write!(
                s,
                ", {} conflicts (changed on the account since the export: not sent)",
                u.conflicts
            );
        }
        if u.locked > 0 {
            let _ = write!(s, ", {} closed, paid or voided (not sent)", u.locked);
        }
        let _ = writeln!(s, ", {} rejected by the API", u.rejected);
        let _ = writeln!(
            s,
            "customers: {} created, {} found{}; payments: {} recorded, {} rejected",
            u.customers_created,
            u.customers_found,
            if u.customers_updated > 0 {
                format!(", {} updated", u.customers_updated)
            } else {
                String::new()
            },
            u.payments_done,
            u.payments_rejected
        );
        let _ = writeln!(
            s,
            "requests: {} ({} retried after no clear answer, {} answered 429)",
            self.requests, u.retries, self.rate_limited
        );
        if u.done == 0 && u.already_imported > 0 && u.rejected == 0 {
            let _ = writeln!(s, "nothing new: {} already imported", u.already_imported);
        }
        if u.rejected > 0 || u.payments_rejected > 0 {
            let _ = writeln!(
                s,
                "see the errors with `facturare-etl runs show {}`",
                self.run
            );
        }
        if let Some(why) = &self.stopped {
            let _ = writeln!(s, "stopped: {why}");
            let _ = writeln!(
                s,
                "resume with `facturare-etl import --resume {}`",
                self.run
            );
        }
        s
    }
}
