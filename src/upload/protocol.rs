//! The exactly-once protocol as pure decisions (DESIGN.md, "Exactly-once
//! import", 2–4), so that it can be tested without a network:
//!
//! - [`plan`]: given what the ledger holds for a unit's import key, what to
//!   do with it in this run: send it, look it up first, or leave it.
//! - [`after_reply`]: given the reply to a request, what the unit becomes.
//! - [`backoff`]: how long to wait before the next attempt after an
//!   ambiguous failure.
//!
//! The engine ([`super::engine`]) does the I/O and follows these decisions.

use crate::ledger::{RunId, Unit, UnitState};
use std::time::Duration;

/// What to do with a unit in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Never sent: send it (no look-up needed).
    Send,
    /// It may have reached the server (it was `sending`): look it up by its
    /// import key, adopt what is found, and send only if nothing is.
    LookUpThenSend,
    /// An earlier run imported it with the same payload: nothing to do.
    AlreadyImported { remote_id: Option<i64> },
    /// An earlier run imported it, but its payload differs now. Not re-sent
    /// (that would make a second document); reported so that a person can
    /// decide.
    Changed { remote_id: Option<i64> },
    /// This run (before a crash or Ctrl-C) finished it already.
    DoneInThisRun { remote_id: Option<i64> },
    /// This run had it refused by the server already; a resume does not ask again.
    RejectedInThisRun,
}

impl Plan {
    /// Whether the plan sends (or may send) a request.
    pub fn works(&self) -> bool {
        matches!(self, Plan::Send | Plan::LookUpThenSend)
    }

    /// Whether the unit must be taken over by this run first (it is recorded
    /// under an earlier run that did not finish it).
    pub fn takes_over(&self, prior: Option<&Unit>, run: RunId) -> bool {
        self.works() && prior.is_some_and(|u| u.run_id != run)
    }
}

/// Decide what to do with a unit, from its ledger record (if any).
pub fn plan(prior: Option<&Unit>, run: RunId, payload_hash: &str) -> Plan {
    let Some(u) = prior else {
        return Plan::Send;
    };
    let this_run = u.run_id == run;
    match u.state {
        // The intent was never committed: no request went out.
        UnitState::Pending => Plan::Send,
        // A request may have gone out: never send again without asking.
        UnitState::Sending => Plan::LookUpThenSend,
        UnitState::Done if this_run => Plan::DoneInThisRun {
            remote_id: u.remote_id,
        },
        UnitState::Done if u.payload_hash == payload_hash => Plan::AlreadyImported {
            remote_id: u.remote_id,
        },
        UnitState::Done => Plan::Changed {
            remote_id: u.remote_id,
        },
        UnitState::Rejected if this_run => Plan::RejectedInThisRun,
        UnitState::Skipped if this_run => Plan::DoneInThisRun {
            remote_id: u.remote_id,
        },
        // Refused before (perhaps fixed since), skipped as existing (the
        // policy may differ now), or rolled back: a new attempt. Nothing of
        // ours is live on the account under this key, so no look-up.
        UnitState::Rejected | UnitState::Skipped | UnitState::RolledBack => Plan::Send,
    }
}

/// How a request ended, as far as the protocol cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// 2xx with the object's id.
    Created(i64),
    /// A definite refusal (4xx other than 429, 401, 403).
    Refused(String),
    /// The document number is taken on the account (400 with `param=number`).
    NumberTaken(String),
    /// No answer we can trust: timeout, reset, 5xx, a reply we could not read.
    Ambiguous(String),
    /// The credentials were refused (401/403): the whole run must stop.
    Auth(String),
}

/// What a unit becomes after a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterReply {
    /// `done` with this id, created by us.
    Done(i64),
    /// `rejected`, with the error.
    Rejected(String),
    /// The number exists: look it up by number and apply `--on-existing`.
    ResolveExisting,
    /// Stays `sending`: wait, look it up, then maybe send again.
    Retry(String),
    /// Stays `sending` and the run stops (resumable).
    Stop(String),
}

/// Decide the outcome of a reply; `attempts` counts this one, and a unit
/// ambiguous after `max_attempts` is left `sending` for a later resume.
pub fn after_reply(reply: Reply, attempts: u32, max_attempts: u32) -> AfterReply {
    match reply {
        Reply::Created(id) => AfterReply::Done(id),
        Reply::Refused(e) => AfterReply::Rejected(e),
        Reply::NumberTaken(_) => AfterReply::ResolveExisting,
        Reply::Auth(e) => AfterReply::Stop(e),
        Reply::Ambiguous(e) if attempts >= max_attempts => AfterReply::Stop(format!(
            "still no answer after {attempts} attempts, last: {e}"
        )),
        Reply::Ambiguous(e) => AfterReply::Retry(e),
    }
}

/// The wait before attempt `attempt + 1` after an ambiguous failure:
/// exponential from 100 ms, capped at 5 s, with up to 50% jitter from `jitter`
/// (a number in `[0, 1)`).
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    let base_ms = 100u64.saturating_mul(1u64 << attempt.min(10).saturating_sub(1));
    let capped = base_ms.min(5_000);
    let extra = (capped as f64 * 0.5 * jitter.clamp(0.0, 1.0)) as u64;
    Duration::from_millis(capped + extra)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::UnitKind;

    fn unit(run: RunId, state: UnitState, hash: &str) -> Unit {
        Unit {
            id: 1,
            run_id: run,
            env: "local".into(),
            kind: UnitKind::Invoice,
            import_key: "k".into(),
            source_key: "s".into(),
            source_rows: "r".into(),
            number: None,
            payload_hash: hash.into(),
            state,
            remote_id: Some(9),
            created: true,
            attempts: 1,
            last_error: None,
            updated_at: 0,
            before_image: None,
            patch: None,
            after_updated_at: None,
        }
    }

    #[test]
    fn new_and_pending_units_are_sent_without_a_look_up() {
        assert_eq!(plan(None, 1, "h"), Plan::Send);
        assert_eq!(
            plan(Some(&unit(1, UnitState::Pending, "h")), 1, "h"),
            Plan::Send
        );
    }

    #[test]
    fn a_sending_unit_is_always_looked_up_first() {
        for run in [1, 2] {
            let u = unit(1, UnitState::Sending, "h");
            assert_eq!(plan(Some(&u), run, "h"), Plan::LookUpThenSend);
            assert_eq!(plan(Some(&u), run, "other"), Plan::LookUpThenSend);
        }
        assert!(Plan::LookUpThenSend.takes_over(Some(&unit(1, UnitState::Sending, "h")), 2));
        assert!(!Plan::LookUpThenSend.takes_over(Some(&unit(2, UnitState::Sending, "h")), 2));
    }

    #[test]
    fn done_units_are_never_sent_again() {
        let u = unit(1, UnitState::Done, "h");
        assert_eq!(
            plan(Some(&u), 1, "h"),
            Plan::DoneInThisRun { remote_id: Some(9) }
        );
        assert_eq!(
            plan(Some(&u), 2, "h"),
            Plan::AlreadyImported { remote_id: Some(9) }
        );
        assert_eq!(
            plan(Some(&u), 2, "h2"),
            Plan::Changed { remote_id: Some(9) }
        );
        assert!(!plan(Some(&u), 2, "h2").works());
    }

    #[test]
    fn rejections_stick_within_a_run_and_are_retried_by_the_next() {
        let u = unit(1, UnitState::Rejected, "h");
        assert_eq!(plan(Some(&u), 1, "h"), Plan::RejectedInThisRun);
        assert_eq!(plan(Some(&u), 2, "h"), Plan::Send);
        assert_eq!(
            plan(Some(&unit(1, UnitState::RolledBack, "h")), 2, "h"),
            Plan::Send
        );
    }

    #[test]
    fn replies_map_to_outcomes() {
        assert_eq!(after_reply(Reply::Created(5), 1, 5), AfterReply::Done(5));
        assert_eq!(
            after_reply(Reply::Refused("bad".into()), 1, 5),
            AfterReply::Rejected("bad".into())
        );
        assert_eq!(
            after_reply(Reply::NumberTaken("n".into()), 1, 5),
            AfterReply::ResolveExisting
        );
        assert!(matches!(
            after_reply(Reply::Ambiguous("503".into()), 1, 5),
            AfterReply::Retry(_)
        ));
        assert!(matches!(
            after_reply(Reply::Ambiguous("503".into()), 5, 5),
            AfterReply::Stop(_)
        ));
        assert!(matches!(
            after_reply(Reply::Auth("401".into()), 1, 5),
            AfterReply::Stop(_)
        ));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1, 0.0), Duration::from_millis(100));
        assert_eq!(backoff(2, 0.0), Duration::from_millis(200));
        assert_eq!(backoff(30, 0.0), Duration::from_millis(5_000));
        assert_eq!(backoff(30, 0.99), Duration::from_millis(7_475));
        assert!(backoff(3, 0.5) > backoff(3, 0.0));
    }
}
