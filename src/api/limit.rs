//! The budget shared by every clone of a [`super::Client`]: a concurrency
//! semaphore, a `governor` rate quota that [`Aimd`] adjusts (the limiter is
//! swapped behind a lock when the rate changes), and a pause that holds every
//! request back after a 429 until its wait is over.

use super::retry::Aimd;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// One client's shared limits.
#[derive(Debug)]
pub(crate) struct Limits {
    semaphore: Arc<Semaphore>,
    state: Mutex<State>,
    origin: Instant,
}

struct State {
    aimd: Aimd,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    /// Start times of the requests sent in the last second.
    recent: VecDeque<Instant>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").field("aimd", &self.aimd).finish()
    }
}

/// Requests that may go at once after an idle moment (see [`limiter_for`]).
const BURST: NonZeroU32 = NonZeroU32::new(2).expect("non-zero");

fn limiter_for(rate: Option<f64>) -> Option<Arc<DefaultDirectRateLimiter>> {
    let rate = rate?;
    if !(rate.is_finite() && rate > 0.0) {
        return None;
    }
    // Evenly spaced requests with one slot of slack. With no slack at all,
    // every late wake-up of the timer (tokio rounds sleeps up to the next
    // millisecond) pushed the whole schedule back: at 100/s that lost ~8% of
    // the rate. One slot absorbs the lateness, and any one-second window
    // still holds at most `rate + 2` requests.
    let quota = Quota::with_period(Duration::from_secs_f64(1.0 / rate))?.allow_burst(BURST);
    Some(Arc::new(RateLimiter::direct(quota)))
}

impl Limits {
    pub fn new(rate_per_sec: Option<u32>, max_in_flight: usize) -> Limits {
        let aimd = Aimd::new(rate_per_sec);
        let limiter = limiter_for(aimd.rate());
        Limits {
            semaphore: Arc::new(Semaphore::new(max_in_flight.max(1))),
            state: Mutex::new(State {
                aimd,
                limiter,
                recent: VecDeque::new(),
            }),
            origin: Instant::now(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves consistent numbers behind.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn secs(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.origin).as_secs_f64()
    }

    fn paused_until(&self, state: &State) -> Option<Instant> {
        state
            .aimd
            .paused_until()
            .map(|s| self.origin + Duration::from_secs_f64(s))
    }

    /// Wait for a slot in flight, the end of any pause, and the rate quota.
    /// Hold the permit until the reply is read.
    pub async fn acquire(&self) -> OwnedSemaphorePermit {
        let permit = self
            .semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        loop {
            let (pause, limiter) = {
                let s = self.lock();
                (self.paused_until(&s), s.limiter.clone())
            };
            if let Some(until) = pause {
                if until > Instant::now() {
                    tokio::time::sleep_until(until).await;
                    continue;
                }
            }
            if let Some(limiter) = limiter {
                limiter.until_ready().await;
            }
            // A 429 may have paused everybody while we waited for the quota.
            let mut s = self.lock();
            if self.paused_until(&s).is_some_and(|u| u > Instant::now()) {
                continue;
            }
            let now = Instant::now();
            s.recent.push_back(now);
            while s
                .recent
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) > Duration::from_secs(1))
            {
                s.recent.pop_front();
            }
            return permit;
        }
    }

    /// A 429 arrived; the request will be retried after `wait`.
    pub fn rate_limited(&self, wait: Duration) {
        let mut s = self.lock();
        let now = Instant::now();
        let observed = s
            .recent
            .iter()
            .filter(|t| now.saturating_duration_since(**t) <= Duration::from_secs(1))
            .count() as f64;
        let at = self.secs(now);
        if s.aimd.on_rate_limited(at, wait, observed) {
            s.limiter = limiter_for(s.aimd.rate());
            tracing::info!(rate = ?s.aimd.rate(), "rate limited: slowing down");
        }
    }

    /// A request got a non-429 reply.
    pub fn succeeded(&self) {
        let mut s = self.lock();
        if s.aimd.on_success() {
            s.limiter = limiter_for(s.aimd.rate());
            tracing::debug!(rate = ?s.aimd.rate(), "raising the request rate");
        }
    }

    /// The rate enforced now (`None`: no quota).
    pub fn current_rate(&self) -> Option<f64> {
        self.lock().aimd.rate()
    }

    /// Requests in flight now.
    pub fn in_flight(&self, max_in_flight: usize) -> usize {
        max_in_flight.max(1) - self.semaphore.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_every_request_until_the_wait_is_over() {
        let limits = Arc::new(Limits::new(None, 4));
        let start = Instant::now();
        drop(limits.acquire().await);
        limits.rate_limited(Duration::from_secs(5));
        assert!(limits.current_rate().is_some());
        let mut waiters = Vec::new();
        for _ in 0..3 {
            let l = limits.clone();
            waiters.push(tokio::spawn(async move {
                drop(l.acquire().await);
                Instant::now()
            }));
        }
        for w in waiters {
            let at = w.await.unwrap();
            assert!(at.duration_since(start) >= Duration::from_secs(5));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_bounded() {
        let limits = Arc::new(Limits::new(None, 2));
        let a = limits.acquire().await;
        let b = limits.acquire().await;
        assert_eq!(limits.in_flight(2), 2);
        let l = limits.clone();
        let third = tokio::spawn(async move { drop(l.acquire().await) });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!third.is_finished());
        drop(a);
        third.await.unwrap();
        drop(b);
        assert_eq!(limits.in_flight(2), 0);
    }
}
