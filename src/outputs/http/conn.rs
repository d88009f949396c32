//! Connection slots, eviction of stalled connections, and the write-stall timeout.
//!
//! The server holds at most `max_connections` connections. When all slots are
//! taken and a new connection arrives, the connection that has been *stalled*
//! longest is closed to make room: the one whose socket last moved a byte
//! (read or write) longest ago, among those not running a handler. A client
//! that sends half a request, or asks for `/metrics` and never reads the answer,
//! stops moving bytes; a scrape in progress moves bytes all the time. So a new
//! scrape is served even while slow or idle clients hold every slot, without
//! telling clients apart by address (they often share one: a proxy, a node).
//! When no connection can be evicted (every one is inside a handler), the new
//! connection waits for a slot.
//!
//! [`Tracked`] wraps a connection's I/O: it records progress and fails a write
//! that has not been able to send a single byte for `write_stall_timeout`, so
//! an unread response is dropped (with its reference to the shared body).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::{Read, ReadBufCursor, Write};
use tokio::sync::Notify;

/// The server's view of one connection.
#[derive(Debug)]
pub struct ConnTrack {
    id: u64,
    base: Instant,
    /// Milliseconds since `base` at which the socket last moved a byte.
    last_progress_ms: AtomicU64,
    in_handler: AtomicUsize,
    evicted: AtomicBool,
    evict: Notify,
}

impl ConnTrack {
    fn progress(&self) {
        let ms = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_progress_ms.store(ms, Ordering::Relaxed);
    }

    /// Mark a handler as running until the guard is dropped (not evictable).
    pub fn handler(self: &Arc<Self>) -> HandlerGuard {
        self.in_handler.fetch_add(1, Ordering::Relaxed);
        HandlerGuard(self.clone())
    }

    /// Resolves when this connection was chosen for eviction.
    pub async fn evicted(&self) {
        self.evict.notified().await
    }
}

/// See [`ConnTrack::handler`].
#[derive(Debug)]
pub struct HandlerGuard(Arc<ConnTrack>);

impl Drop for HandlerGuard {
    fn drop(&mut self) {
        self.0.in_handler.fetch_sub(1, Ordering::Relaxed);
        self.0.progress();
    }
}

/// Every open connection (bounded by the connection limit).
#[derive(Debug)]
pub struct Connections {
    base: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<ConnTrack>>>,
    evictions: AtomicU64,
}

impl Default for Connections {
    fn default() -> Self {
        Connections {
            base: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            evictions: AtomicU64::new(0),
        }
    }
}

/// Removes its connection from [`Connections`] when dropped.
#[derive(Debug)]
pub struct Registration {
    conns: Arc<Connections>,
    pub track: Arc<ConnTrack>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.conns.lock().remove(&self.track.id);
    }
}

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<ConnTrack>>> {
        match self.open.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Register a new connection.
    pub fn register(self: &Arc<Self>) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let track = Arc::new(ConnTrack {
            id,
            base: self.base,
            last_progress_ms: AtomicU64::new(0),
            in_handler: AtomicUsize::new(0),
            evicted: AtomicBool::new(false),
            evict: Notify::new(),
        });
        track.progress();
        self.lock().insert(id, track.clone());
        Registration {
            conns: self.clone(),
            track,
        }
    }

    /// Close the connection stalled longest (not in a handler, not already
    /// evicted). `false` when there is none.
    pub fn evict_one(&self) -> bool {
        let victim = {
            let open = self.lock();
            open.values()
                .filter(|t| {
                    t.in_handler.load(Ordering::Relaxed) == 0 && !t.evicted.load(Ordering::Relaxed)
                })
                .min_by_key(|t| (t.last_progress_ms.load(Ordering::Relaxed), t.id))
                .cloned()
        };
        match victim {
            Some(t) => {
                t.evicted.store(true, Ordering::Relaxed);
                t.evict.notify_one();
                self.evictions.fetch_add(1, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Connections currently open.
    pub fn open(&self) -> usize {
        self.lock().len()
    }

    /// Connections closed to make room so far.
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }
}

/// I/O wrapper: records progress on [`ConnTrack`] and fails writes stalled for
/// longer than the write-stall timeout.
pub struct Tracked<I> {
    inner: I,
    track: Arc<ConnTrack>,
    stall_timeout: Duration,
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<I> Tracked<I> {
    pub fn new(inner: I, track: Arc<ConnTrack>, stall_timeout: Duration) -> Self {
        Tracked {
            inner,
            track,
            stall_timeout,
            stall: None,
        }
    }

    /// After a write returned `Pending`: arm (or poll) the stall timer.
    fn stalled(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        let timeout = self.stall_timeout;
        let timer = self
            .stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "client did not read the response (write stall timeout)",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn wrote(&mut self, r: &std::io::Result<usize>) {
        if matches!(r, Ok(n) if *n > 0) {
            self.stall = None;
            self.track.progress();
        }
    }
}

use std::future::Future as _;

impl<I: Read + Unpin> Read for Tracked<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            this.track.progress();
        }
        r
    }
}

impl<I: Write + Unpin> Write for Tracked<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                this.wrote(&r);
                Poll::Ready(r)
            }
            Poll::Pending => this.stalled(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                this.wrote(&r);
                Poll::Ready(r)
            }
            Poll::Pending => this.stalled(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_longest_stalled_connection_not_in_a_handler() {
        let conns = Arc::new(Connections::default());
        let a = conns.register();
        std::thread::sleep(Duration::from_millis(5));
        let b = conns.register();
        std::thread::sleep(Duration::from_millis(5));
        let c = conns.register();
        assert_eq!(conns.open(), 3);
        // `a` is oldest but busy in a handler: `b` goes.
        let guard = a.track.handler();
        assert!(conns.evict_one());
        assert!(b.track.evicted.load(Ordering::Relaxed));
        assert!(!a.track.evicted.load(Ordering::Relaxed));
        // `b` is not picked twice; `c` is next.
        assert!(conns.evict_one());
        assert!(c.track.evicted.load(Ordering::Relaxed));
        // Only `a` is left, in its handler: nothing to evict.
        assert!(!conns.evict_one());
        drop(guard);
        assert!(conns.evict_one());
        assert_eq!(conns.evictions(), 3);
        drop((a, b, c));
        assert_eq!(conns.open(), 0);
    }
}
