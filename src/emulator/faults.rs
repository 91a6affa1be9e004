//! Rate limits per credential (requests in flight and an optional
//! per-second quota, both answered 429) and the seeded fault switches:
//! failures (500 before any work), drops (the work done, then the
//! connection closed unanswered) and added latency; and the faulty
//! listener that makes a drop real: [`KillListener`] hands out streams
//! that fail every read and write once their [`ConnKill`] is set.

use axum::extract::connect_info::Connected;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What the dice say about one request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Roll {
    pub fail: bool,
    pub drop: bool,
}

/// Seeded fault injection.
pub struct Faults {
    rng: Mutex<StdRng>,
    fail_rate: f64,
    drop_rate: f64,
}

impl Faults {
    pub fn new(seed: u64, fail_rate: f64, drop_rate: f64) -> Self {
        Faults {
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            fail_rate,
            drop_rate,
        }
    }

    /// Both dice are rolled for every request (when enabled), so a seed
    /// gives the same sequence whatever the outcome.
    pub fn roll(&self) -> Roll {
        if self.fail_rate <= 0.0 && self.drop_rate <= 0.0 {
            return Roll::default();
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let f: f64 = rng.gen();
        let d: f64 = rng.gen();
        Roll {
            fail: f < self.fail_rate,
            drop: d < self.drop_rate,
        }
    }
}

#[derive(Default)]
struct KeyState {
    in_flight: usize,
    window: u64,
    count: u32,
}

#[derive(Default)]
struct Window {
    second: u64,
    count: u64,
    max: u64,
}

/// Per-credential limits, and the accepted-requests-per-second record.
pub struct Limiter {
    max_in_flight: usize,
    rate: Option<u32>,
    start: Instant,
    keys: Mutex<HashMap<Arc<str>, KeyState>>,
    window: Mutex<Window>,
}

/// A request in flight; dropping it frees the slot.
pub struct Permit {
    limiter: Arc<Limiter>,
    id: Arc<str>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut keys = self.limiter.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = keys.get_mut(&*self.id) {
            k.in_flight = k.in_flight.saturating_sub(1);
        }
    }
}

impl Limiter {
    pub fn new(max_in_flight: usize, rate: Option<u32>) -> Self {
        Limiter {
            max_in_flight: max_in_flight.max(1),
            rate,
            start: Instant::now(),
            keys: Mutex::new(HashMap::new()),
            window: Mutex::new(Window::default()),
        }
    }

    /// Admit a request for credential `id`, or refuse it (429).
    pub fn acquire(self: &Arc<Self>, id: &str) -> Option<Permit> {
        let second = self.start.elapsed().as_secs();
        let name = {
            let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            let name = match keys.get_key_value(id) {
                Some((name, _)) => name.clone(),
                None => {
                    let name: Arc<str> = Arc::from(id);
                    keys.insert(name.clone(), KeyState::default());
                    name
                }
            };
            let k = keys.get_mut(id).expect("inserted above");
            if k.in_flight >= self.max_in_flight {
                return None;
            }
            if let Some(rate) = self.rate {
                if k.window != second {
                    k.window = second;
                    k.count = 0;
                }
                if k.count >= rate {
                    return None;
                }
                k.count += 1;
            }
            k.in_flight += 1;
            name
        };
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if w.second != second {
            w.second = second;
            w.count = 0;
        }
        w.count += 1;
        w.max = w.max.max(w.count);
        Some(Permit {
            limiter: self.clone(),
            id: name,
        })
    }

    /// Most requests accepted in any one-second window so far.
    pub fn max_per_second(&self) -> u64 {
        self.window.lock().unwrap_or_else(|e| e.into_inner()).max
    }
}

/// Connect info: the switch that makes a connection refuse to write, so a
/// dropped request's reply never leaves and the client sees the connection
/// close.
#[derive(Clone, Debug)]
pub struct ConnKill(pub(super) Arc<AtomicBool>);

/// A TCP listener whose connections can be cut by their [`ConnKill`].
pub struct KillListener(pub tokio::net::TcpListener);

/// A TCP stream that fails every read and write once killed.
pub struct KillIo {
    inner: tokio::net::TcpStream,
    killed: Arc<AtomicBool>,
}

fn aborted() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "dropped by the emulator")
}

impl AsyncRead for KillIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.killed.load(Ordering::SeqCst) {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl axum::serve::Listener for KillListener {
    type Io = KillIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    return (
                        KillIo {
                            inner: stream,
                            killed: Arc::new(AtomicBool::new(false)),
                        },
                        addr,
                    );
                }
                // Out of file descriptors and the like: wait, then go on.
                Err(e) => {
                    tracing::warn!("emulator: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Connected<axum::serve::IncomingStream<'_, KillListener>> for ConnKill {
    fn connect_info(stream: axum::serve::IncomingStream<'_, KillListener>) -> Self {
        ConnKill(stream.io().killed.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_in_flight_and_frees_on_drop() {
        let l = Arc::new(Limiter::new(2, None));
        let a = l.acquire("k").unwrap();
        let _b = l.acquire("k").unwrap();
        assert!(l.acquire("k").is_none());
        assert!(l.acquire("other").is_some());
        drop(a);
        assert!(l.acquire("k").is_some());
    }

    #[test]
    fn same_seed_same_faults() {
        let a = Faults::new(7, 0.5, 0.5);
        let b = Faults::new(7, 0.5, 0.5);
        for _ in 0..50 {
            let (x, y) = (a.roll(), b.roll());
            assert_eq!((x.fail, x.drop), (y.fail, y.drop));
        }
    }
}
