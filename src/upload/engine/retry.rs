//! Repeating what is safe to repeat: reads retried on failures that may
//! pass (up to `max_attempts`, refused credentials stop the run), and the
//! backoff pause between attempts, cut short when the run stops.

use super::counters::bump;
use super::{Engine, Halt, Stop};
use crate::upload::protocol;
use crate::upload::remote::{FailKind, Remote, RemoteError};
use std::sync::atomic::Ordering;

impl<R: Remote> Engine<R> {
    /// A read that is safe to repeat, repeated on failures that may pass,
    /// up to `max_attempts`; refused credentials stop the run.
    pub(super) async fn retrying<T, F, Fut>(&self, mut call: F) -> Result<T, Halt>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, RemoteError>>,
    {
        let mut attempt = 0u32;
        loop {
            if self.cancel.is_cancelled() {
                return Err(Halt);
            }
            attempt += 1;
            match call().await {
                Ok(v) => return Ok(v),
                Err(e) if e.kind == FailKind::Auth || e.kind == FailKind::Rejected => {
                    self.stop(Stop::Api(e.message));
                    return Err(Halt);
                }
                Err(e) if attempt >= self.cfg.max_attempts => {
                    self.stop(Stop::Api(format!(
                        "still failing after {attempt} attempts: {}",
                        e.message
                    )));
                    return Err(Halt);
                }
                Err(_) => self.pause(attempt).await?,
            }
        }
    }

    /// Sleep before the next attempt, unless the run is stopping.
    pub(super) async fn pause(&self, attempt: u32) -> Result<(), Halt> {
        let c = &self.counters;
        bump(&c.retries);
        c.retrying.fetch_add(1, Ordering::Relaxed);
        let wait = protocol::backoff(attempt, rand::random::<f64>());
        let stopped = tokio::select! {
            _ = self.cancel.cancelled() => true,
            _ = tokio::time::sleep(wait) => false,
        };
        c.retrying.fetch_sub(1, Ordering::Relaxed);
        if stopped {
            Err(Halt)
        } else {
            Ok(())
        }
    }
}
