//! The retry policy and the adaptive rate, as pure functions of their inputs
//! (no clock, no randomness inside): the client feeds them what happened and
//! does what they say.
//!
//! Rules (API.md "Rate limits"):
//! - 429 was not processed: always retried (up to a generous cap), after
//!   `Retry-After` when given, else exponential backoff with jitter;
//! - 5xx, 408, timeouts and broken connections are retried for idempotent
//!   methods (GET, DELETE) only; a POST or PATCH returns the ambiguous error
//!   so that the caller can look the object up before re-sending;
//! - a connection that was never established sent nothing: retried for any
//!   method;
//! - any other 4xx is final.

use std::time::Duration;

/// What one attempt ended with.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// A non-2xx status, with `Retry-After` when the server sent it.
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// Could not connect: nothing was sent.
    ConnectFailed,
    /// The connection broke after the request was (maybe) sent.
    ConnectionLost,
    /// No reply in time.
    Timeout,
}

/// How hard to try.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after 5xx and network errors (idempotent methods).
    pub max_retries: u32,
    /// Retries after 429 (the request was not processed, so this is safe).
    pub max_rate_limited_retries: u32,
    /// The first backoff; doubled on each attempt.
    pub base_backoff: Duration,
    /// No backoff is longer than this.
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is capped (a broken header must not
    /// park the import for a day).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            max_rate_limited_retries: 30,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    Retry(Duration),
    GiveUp,
}

/// Exponential backoff with "equal jitter": half fixed, half random.
/// `attempt` counts from 1; `rng_jitter` is uniform in `[0, 1)`.
pub fn backoff(attempt: u32, policy: &RetryPolicy, rng_jitter: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let full = policy
        .base_backoff
        .saturating_mul(1u32 << exp)
        .min(policy.max_backoff);
    let jitter = rng_jitter.clamp(0.0, 1.0);
    full.mul_f64(0.5 + 0.5 * jitter)
}

/// Decide after attempt number `attempt` (from 1) ended with `outcome`.
pub fn decide(
    method_is_idempotent: bool,
    attempt: u32,
    outcome: &Failure,
    policy: &RetryPolicy,
    rng_jitter: f64,
) -> Decision {
    match outcome {
        Failure::Status {
            status: 429,
            retry_after,
        } => {
            if attempt > policy.max_rate_limited_retries {
                return Decision::GiveUp;
            }
            match retry_after {
                Some(d) => Decision::Retry((*d).min(policy.max_retry_after)),
                None => Decision::Retry(backoff(attempt, policy, rng_jitter)),
            }
        }
        Failure::ConnectFailed => {
            if attempt > policy.max_retries {
                Decision::GiveUp
            } else {
                Decision::Retry(backoff(attempt, policy, rng_jitter))
            }
        }
        Failure::Status { status, .. } if *status >= 500 || *status == 408 => {
            retry_if_idempotent(method_is_idempotent, attempt, policy, rng_jitter)
        }
        Failure::ConnectionLost | Failure::Timeout => {
            retry_if_idempotent(method_is_idempotent, attempt, policy, rng_jitter)
        }
        Failure::Status { .. } => Decision::GiveUp,
    }
}

fn retry_if_idempotent(
    idempotent: bool,
    attempt: u32,
    policy: &RetryPolicy,
    jitter: f64,
) -> Decision {
    if idempotent && attempt <= policy.max_retries {
        Decision::Retry(backoff(attempt, policy, jitter))
    } else {
        Decision::GiveUp
    }
}

/// Parse `Retry-After`: delay seconds or an HTTP date (relative to `now_unix`).
pub fn parse_retry_after(value: &str, now_unix: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs));
        }
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = at.timestamp() - now_unix;
    Some(Duration::from_secs(delta.max(0) as u64))
}

/// The adaptive rate: additive-increase, multiplicative-decrease over
/// requests per second. On a 429 the rate is halved (from the lower of the
/// current rate and the rate actually observed) and every request pauses
/// until the wait is over; each [`Aimd::RECOVER_EVERY`] successes then raise
/// it by 10% until it is back at the configured rate (or, with no
/// configured rate, back where it was, at which point the quota is lifted).
///
/// Pure: the caller passes the clock in (`now` is any monotonic seconds
/// count) and applies the resulting rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Aimd {
    configured: Option<f64>,
    current: Option<f64>,
    ceiling: Option<f64>,
    successes: u32,
    paused_until: Option<f64>,
}

impl Aimd {
    pub const MIN_RATE: f64 = 1.0;
    pub const RECOVER_EVERY: u32 = 20;
    pub const CUT: f64 = 0.5;
    pub const GROW: f64 = 1.1;

    pub fn new(configured: Option<u32>) -> Aimd {
        let configured = configured.filter(|r| *r > 0).map(f64::from);
        Aimd {
            configured,
            current: configured,
            ceiling: configured,
            successes: 0,
            paused_until: None,
        }
    }

    /// The rate to enforce now (`None`: no quota).
    pub fn rate(&self) -> Option<f64> {
        self.current
    }

    /// Until when (same clock as `now`) every request must wait.
    pub fn paused_until(&self) -> Option<f64> {
        self.paused_until
    }

    /// A 429 arrived at `now`; the caller will wait `wait` before retrying;
    /// `observed` is the request rate of the last second. Returns true when
    /// the rate changed. Several 429s within one pause cut the rate once.
    pub fn on_rate_limited(&mut self, now: f64, wait: Duration, observed: f64) -> bool {
        let until = now + wait.as_secs_f64();
        let already_paused = self.paused_until.is_some_and(|p| p > now);
        self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
        self.successes = 0;
        if already_paused {
            return false;
        }
        let observed = if observed > 0.0 { Some(observed) } else { None };
        let base = match (self.current, observed) {
            (Some(c), Some(o)) => c.min(o),
            (Some(c), None) => c,
            (None, Some(o)) => o,
            (None, None) => Self::MIN_RATE * 2.0,
        };
        if self.configured.is_none() && self.ceiling.is_none() {
            self.ceiling = Some(base.max(Self::MIN_RATE));
        }
        let new = (base * Self::CUT).max(Self::MIN_RATE);
        let changed = self.current != Some(new);
        self.current = Some(new);
        changed
    }

    /// A request succeeded. Returns true when the rate changed.
    pub fn on_success(&mut self) -> bool {
        let (Some(current), Some(ceiling)) = (self.current, self.ceiling) else {
            return false;
        };
        if current >= ceiling {
            return false;
        }
        self.successes += 1;
        if self.successes < Self::RECOVER_EVERY {
            return false;
        }
        self.successes = 0;
        let next = (current * Self::GROW).max(current + 1.0);
        if next >= ceiling {
            if self.configured.is_none() {
                self.current = None;
                self.ceiling = None;
            } else {
                self.current = Some(ceiling);
            }
        } else {
            self.current = Some(next);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> RetryPolicy {
        RetryPolicy::default()
    }

    fn status(s: u16) -> Failure {
        Failure::Status {
            status: s,
            retry_after: None,
        }
    }

    #[test]
    fn rate_limited_is_always_retried_honouring_retry_after() {
        let o = Failure::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(
            decide(false, 1, &o, &p(), 0.7),
            Decision::Retry(Duration::from_secs(3))
        );
        assert_eq!(
            decide(true, 1, &o, &p(), 0.7),
            Decision::Retry(Duration::from_secs(3))
        );
        let long = Failure::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(86_400)),
        };
        assert_eq!(
            decide(false, 1, &long, &p(), 0.0),
            Decision::Retry(p().max_retry_after)
        );
        assert!(matches!(
            decide(false, 3, &status(429), &p(), 0.0),
            Decision::Retry(_)
        ));
        assert_eq!(
            decide(
                false,
                p().max_rate_limited_retries + 1,
                &status(429),
                &p(),
                0.0
            ),
            Decision::GiveUp
        );
    }

    #[test]
    fn server_errors_are_retried_for_reads_only() {
        for o in [
            status(500),
            status(503),
            status(408),
            Failure::Timeout,
            Failure::ConnectionLost,
        ] {
            assert!(
                matches!(decide(true, 1, &o, &p(), 0.5), Decision::Retry(_)),
                "{o:?}"
            );
            assert_eq!(decide(false, 1, &o, &p(), 0.5), Decision::GiveUp, "{o:?}");
            assert_eq!(
                decide(true, p().max_retries + 1, &o, &p(), 0.5),
                Decision::GiveUp
            );
        }
    }

    #[test]
    fn unsent_requests_are_retried_for_any_method() {
        assert!(matches!(
            decide(false, 1, &Failure::ConnectFailed, &p(), 0.5),
            Decision::Retry(_)
        ));
    }

    #[test]
    fn other_client_errors_are_final() {
        for s in [400, 401, 402, 403, 404, 409, 422] {
            assert_eq!(
                decide(true, 1, &status(s), &p(), 0.5),
                Decision::GiveUp,
                "{s}"
            );
        }
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let pol = p();
        assert_eq!(backoff(1, &pol, 1.0), Duration::from_millis(200));
        assert_eq!(backoff(1, &pol, 0.0), Duration::from_millis(100));
        assert_eq!(backoff(3, &pol, 1.0), Duration::from_millis(800));
        assert_eq!(backoff(40, &pol, 1.0), pol.max_backoff);
        for a in 1..12 {
            assert!(backoff(a, &pol, 0.0) <= backoff(a + 1, &pol, 0.0));
        }
    }

    #[test]
    fn parses_retry_after_both_ways() {
        assert_eq!(parse_retry_after("2", 0), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0 ", 0), Some(Duration::ZERO));
        let now = chrono::DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT")
            .unwrap()
            .timestamp();
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }

    #[test]
    fn aimd_cuts_once_per_pause_and_recovers_to_the_configured_rate() {
        let mut a = Aimd::new(Some(40));
        assert_eq!(a.rate(), Some(40.0));
        assert!(a.on_rate_limited(10.0, Duration::from_secs(1), 50.0));
        assert_eq!(a.rate(), Some(20.0));
        assert_eq!(a.paused_until(), Some(11.0));
        // A second 429 inside the pause extends it but does not cut again.
        assert!(!a.on_rate_limited(10.5, Duration::from_secs(2), 50.0));
        assert_eq!(a.rate(), Some(20.0));
        assert_eq!(a.paused_until(), Some(12.5));
        // After the pause, the observed rate bounds the cut.
        assert!(a.on_rate_limited(13.0, Duration::from_secs(1), 8.0));
        assert_eq!(a.rate(), Some(4.0));
        let mut steps = 0;
        while a.rate() != Some(40.0) {
            let before = a.rate();
            let changed = a.on_success();
            assert_eq!(changed, a.rate() != before);
            assert!(a.rate().unwrap() <= 40.0);
            steps += 1;
            assert!(steps < 10_000);
        }
        assert!(!a.on_success());
        assert_eq!(a.rate(), Some(40.0));
    }

    #[test]
    fn aimd_without_a_quota_limits_only_after_429_then_lifts_it() {
        let mut a = Aimd::new(None);
        assert_eq!(a.rate(), None);
        assert!(!a.on_success());
        assert!(a.on_rate_limited(0.0, Duration::from_millis(100), 30.0));
        assert_eq!(a.rate(), Some(15.0));
        let mut n = 0;
        while a.rate().is_some() {
            a.on_success();
            n += 1;
            assert!(n < 10_000);
        }
        assert_eq!(a.rate(), None);
    }

    #[test]
    fn aimd_never_goes_below_the_floor() {
        let mut a = Aimd::new(Some(1));
        for i in 0..10 {
            a.on_rate_limited(i as f64 * 10.0, Duration::from_secs(1), 0.5);
        }
        assert_eq!(a.rate(), Some(Aimd::MIN_RATE));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn outcome() -> impl Strategy<Value = Failure> {
        prop_oneof![
            (400u16..600, proptest::option::of(0u64..1000)).prop_map(|(s, r)| Failure::Status {
                status: s,
                retry_after: r.map(Duration::from_secs)
            }),
            Just(Failure::ConnectFailed),
            Just(Failure::ConnectionLost),
            Just(Failure::Timeout),
        ]
    }

    proptest! {
        #[test]
        fn writes_are_retried_only_when_nothing_was_processed(o in outcome(), attempt in 1u32..40, j in 0.0f64..1.0) {
            let d = decide(false, attempt, &o, &RetryPolicy::default(), j);
            let unprocessed = matches!(o, Failure::ConnectFailed | Failure::Status { status: 429, .. });
            if !unprocessed {
                prop_assert_eq!(d, Decision::GiveUp);
            }
        }

        #[test]
        fn waits_are_bounded(o in outcome(), attempt in 1u32..100, j in 0.0f64..1.0) {
            let p = RetryPolicy::default();
            if let Decision::Retry(w) = decide(true, attempt, &o, &p, j) {
                prop_assert!(w <= p.max_backoff.max(p.max_retry_after));
            }
        }

        #[test]
        fn definite_rejections_are_final(status in 400u16..500, attempt in 1u32..5) {
            prop_assume!(status != 429 && status != 408);
            let o = Failure::Status { status, retry_after: None };
            prop_assert_eq!(decide(true, attempt, &o, &RetryPolicy::default(), 0.5), Decision::GiveUp);
        }

        #[test]
        fn aimd_stays_within_bounds(events in proptest::collection::vec(any::<bool>(), 0..400)) {
            let mut a = Aimd::new(Some(50));
            let mut now = 0.0;
            for limited in events {
                now += 0.05;
                if limited { a.on_rate_limited(now, Duration::from_millis(100), 30.0); } else { a.on_success(); }
                let r = a.rate().unwrap();
                prop_assert!((Aimd::MIN_RATE..=50.0).contains(&r));
            }
        }
    }
}
