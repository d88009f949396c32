//! Bodies rendered once per snapshot and shared by every request.
//!
//! `/metrics` (Prometheus text and OpenMetrics) and `/api/v1/certificates` are
//! pure functions of the published snapshot and the configuration (and, with
//! `metrics.expose_relative`, of the clock). [`RenderCache`] keeps one rendered
//! body per (format, encoding), rendered lazily by the first request that needs
//! it while concurrent requests for the same body wait for that one render, then
//! hands out clones of the same [`Bytes`] (a reference count, no copy). The
//! gzip variant is compressed once from the identity body.
//!
//! An entry is valid while the snapshot and the configuration are the ones it
//! was rendered from (compared by identity: the cache holds [`Weak`] references,
//! so a freed snapshot's address cannot be mistaken for a new one, and it does
//! not keep the old snapshot alive) and, for metrics with relative series, within
//! the same Unix second (relative values are computed at render time, in whole
//! seconds). A request that finds a stale entry replaces it; bodies of earlier
//! entries live on only while a response still streams them.
//!
//! Memory is given back after a burst: [`RenderCache::sweep`] (run every few
//! seconds by the server) drops entries larger than [`SWEEP_MIN_BYTES`] that no
//! request used for [`SWEEP_IDLE`]. The gzip exposition Prometheus asks for is
//! small (≈ 1.3 MB for 10,000 certificates) and stays; the 30 MB identity text
//! or the JSON inventory that a person or a benchmark fetched is released and
//! re-rendered on the next request for it.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use hyper::body::Bytes;
use tokio::sync::OnceCell;

use super::HttpState;
use crate::config::Config;
use crate::inventory::Snapshot;
use crate::outputs::{json, metrics};

/// Snapshots with more entries than this are rendered on a blocking thread.
const BLOCKING_RENDER_THRESHOLD: usize = 1000;

/// Entries at least this large (bytes) are dropped when idle.
pub const SWEEP_MIN_BYTES: usize = 4 * 1024 * 1024;
/// Idle time after which a large entry is dropped.
pub const SWEEP_IDLE: std::time::Duration = std::time::Duration::from_secs(10);

/// Bodies larger than this (bytes) are compressed on a blocking thread.
const BLOCKING_COMPRESS_THRESHOLD: usize = 256 * 1024;

/// gzip level: 1 (fastest). Measured on the 10,000-certificate exposition (31 MB,
/// see docs/performance.md): level 1 compresses far faster than the default 6 for
/// a few percent more bytes; the body is compressed once per snapshot, but with
/// relative metrics once per second of scraping.
const GZIP_LEVEL: u32 = 1;

/// What a cached body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `/metrics`, Prometheus text 0.0.4.
    MetricsText,
    /// `/metrics`, OpenMetrics 1.0.
    MetricsOpenMetrics,
    /// `/api/v1/certificates` (only rendered once a snapshot exists).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Encoding {
    Identity,
    Gzip,
}

/// What an entry was rendered from.
#[derive(Debug, Clone)]
struct Key {
    snap: Option<Weak<Snapshot>>,
    config: Weak<Config>,
    /// The Unix second, for metrics with relative series; else `None`.
    second: Option<i64>,
}

impl Key {
    fn same(&self, other: &Key) -> bool {
        let snap = match (&self.snap, &other.snap) {
            (None, None) => true,
            (Some(a), Some(b)) => Weak::ptr_eq(a, b),
            _ => false,
        };
        snap && Weak::ptr_eq(&self.config, &other.config) && self.second == other.second
    }
}

type Cell = Arc<OnceCell<Option<Bytes>>>;

#[derive(Debug)]
struct Slot {
    key: Key,
    body: Cell,
    last_used: std::time::Instant,
}

/// A rendered body and its encoding.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub bytes: Bytes,
    /// `true` when `bytes` is gzip-compressed.
    pub gzip: bool,
}

/// The per-server cache of rendered bodies (see the module docs).
#[derive(Debug, Default)]
pub struct RenderCache {
    slots: Mutex<HashMap<(Kind, Encoding), Slot>>,
    renders: AtomicU64,
    compressions: AtomicU64,
}

fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as f64)
        .unwrap_or(0.0)
}

impl RenderCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Identity renders performed so far (for tests and the benchmark).
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    /// gzip compressions performed so far.
    pub fn compressions(&self) -> u64 {
        self.compressions.load(Ordering::Relaxed)
    }

    fn cell(slots: &mut HashMap<(Kind, Encoding), Slot>, id: (Kind, Encoding), key: &Key) -> Cell {
        if let Some(s) = slots.get_mut(&id) {
            if s.key.same(key) {
                s.last_used = std::time::Instant::now();
                return s.body.clone();
            }
        }
        let body: Cell = Arc::new(OnceCell::new());
        slots.insert(
            id,
            Slot {
                key: key.clone(),
                body: body.clone(),
                last_used: std::time::Instant::now(),
            },
        );
        body
    }

    /// Drop rendered entries of at least `min_bytes` not used for `idle`
    /// (entries still rendering are kept). Returns the number dropped.
    pub fn sweep(&self, idle: std::time::Duration, min_bytes: usize) -> usize {
        let mut slots = match self.slots.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let before = slots.len();
        slots.retain(|_, s| {
            let size = s.body.get().and_then(|b| b.as_ref()).map_or(0, Bytes::len);
            !(s.body.initialized() && size >= min_bytes && s.last_used.elapsed() >= idle)
        });
        before - slots.len()
    }

    /// The body of `kind` for the current snapshot and configuration of `state`,
    /// gzip-compressed when `gzip` is asked for (falls back to identity if
    /// compression failed). `None` only for [`Kind::Json`] before the first scan.
    pub async fn get(&self, state: &HttpState, kind: Kind, gzip: bool) -> Option<Rendered> {
        // Read the snapshot and configuration under the cache lock, so that an
        // entry is never replaced by one rendered from an older snapshot.
        let (plain, packed, snap, cfg, now) = {
            let mut slots = match self.slots.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            let snap = state.snapshot.get();
            if kind == Kind::Json && snap.is_none() {
                return None;
            }
            let cfg = state.config();
            let relative = kind != Kind::Json && cfg.metrics.expose_relative;
            let now = now_unix();
            let key = Key {
                snap: snap.as_ref().map(Arc::downgrade),
                config: Arc::downgrade(&cfg),
                second: relative.then_some(now as i64),
            };
            let plain = Self::cell(&mut slots, (kind, Encoding::Identity), &key);
            let packed = gzip.then(|| Self::cell(&mut slots, (kind, Encoding::Gzip), &key));
            (plain, packed, snap, cfg, now)
        };
        let bytes = plain
            .get_or_init(|| async {
                self.renders.fetch_add(1, Ordering::Relaxed);
                Some(render(kind, snap, cfg, now).await)
            })
            .await
            .clone()
            .unwrap_or_default();
        if let Some(packed) = packed {
            let source = bytes.clone();
            let gz = packed
                .get_or_init(|| async {
                    self.compressions.fetch_add(1, Ordering::Relaxed);
                    compress(source).await
                })
                .await
                .clone();
            if let Some(gz) = gz {
                return Some(Rendered {
                    bytes: gz,
                    gzip: true,
                });
            }
        }
        Some(Rendered { bytes, gzip: false })
    }
}

async fn render(kind: Kind, snap: Option<Arc<Snapshot>>, cfg: Arc<Config>, now: f64) -> Bytes {
    let large = snap
        .as_ref()
        .is_some_and(|s| s.certificates.len() + s.errors.len() > BLOCKING_RENDER_THRESHOLD);
    let f = move || -> Bytes {
        let s = snap.as_deref();
        let text = match kind {
            Kind::MetricsText => metrics::render(s, &cfg.metrics, now, false),
            Kind::MetricsOpenMetrics => metrics::render(s, &cfg.metrics, now, true),
            Kind::Json => s.map(json::render).unwrap_or_default(),
        };
        Bytes::from(text)
    };
    if !large {
        return f();
    }
    match tokio::task::spawn_blocking(f).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "render task failed");
            Bytes::new()
        }
    }
}

/// gzip `data` (on a blocking thread when large); `None` if compression failed.
pub async fn compress(data: Bytes) -> Option<Bytes> {
    let small = data.len() < BLOCKING_COMPRESS_THRESHOLD;
    let f = move || -> Option<Bytes> {
        let mut enc = flate2::write::GzEncoder::new(
            Vec::with_capacity(data.len() / 8 + 64),
            flate2::Compression::new(GZIP_LEVEL),
        );
        if let Err(e) = enc.write_all(&data) {
            tracing::error!(error = %e, "gzip failed");
            return None;
        }
        match enc.finish() {
            Ok(v) => Some(Bytes::from(v)),
            Err(e) => {
                tracing::error!(error = %e, "gzip failed");
                None
            }
        }
    };
    if small {
        return f();
    }
    tokio::task::spawn_blocking(f).await.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::SnapshotCell;
    use std::io::Read as _;
    use std::sync::RwLock;

    fn state() -> HttpState {
        let (reload, _) = tokio::sync::mpsc::channel(1);
        HttpState {
            snapshot: SnapshotCell::new(),
            config: Arc::new(RwLock::new(
                Arc::new(crate::config::load::default_globals()),
            )),
            reload,
            prober: None,
        }
    }

    fn snapshot(scan_seconds: f64) -> Snapshot {
        let mut s = Snapshot::empty(chrono::DateTime::from_timestamp(1_795_428_000, 0).unwrap());
        s.scan_duration_seconds = scan_seconds;
        s
    }

    fn gunzip(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(b)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[tokio::test]
    async fn renders_once_per_snapshot_and_shares_the_bytes() {
        let st = state();
        let cache = RenderCache::new();
        assert!(cache.get(&st, Kind::Json, false).await.is_none());
        // Before the first scan: self metrics only, still cached.
        let a = cache.get(&st, Kind::MetricsText, false).await.unwrap();
        let b = cache.get(&st, Kind::MetricsText, false).await.unwrap();
        assert_eq!(a.bytes.as_ptr(), b.bytes.as_ptr());
        assert_eq!(cache.renders(), 1);

        st.snapshot.publish(snapshot(1.25));
        let c = cache.get(&st, Kind::MetricsText, false).await.unwrap();
        assert_eq!(cache.renders(), 2);
        assert_ne!(a.bytes, c.bytes);
        let text = std::str::from_utf8(&c.bytes).unwrap();
        assert!(text.contains("x509_scan_duration_seconds 1.25"), "{text}");
        // Many concurrent requests: still one render, one buffer.
        let mut set = tokio::task::JoinSet::new();
        let cache = Arc::new(cache);
        for _ in 0..16 {
            let (cache, st) = (cache.clone(), st.clone());
            set.spawn(async move { cache.get(&st, Kind::MetricsText, false).await.unwrap() });
        }
        while let Some(r) = set.join_next().await {
            assert_eq!(r.unwrap().bytes.as_ptr(), c.bytes.as_ptr());
        }
        assert_eq!(cache.renders(), 2);
        // Other formats are separate entries.
        let om = cache
            .get(&st, Kind::MetricsOpenMetrics, false)
            .await
            .unwrap();
        assert!(om.bytes.ends_with(b"# EOF\n"));
        let js = cache.get(&st, Kind::Json, false).await.unwrap();
        assert!(js.bytes.starts_with(b"{"));
        assert_eq!(cache.renders(), 4);

        // A new snapshot invalidates; so does a reloaded configuration.
        st.snapshot.publish(snapshot(2.5));
        let d = cache.get(&st, Kind::MetricsText, false).await.unwrap();
        assert!(std::str::from_utf8(&d.bytes)
            .unwrap()
            .contains("x509_scan_duration_seconds 2.5"));
        assert_eq!(cache.renders(), 5);
        *st.config.write().unwrap() = Arc::new(crate::config::load::default_globals());
        let e = cache.get(&st, Kind::MetricsText, false).await.unwrap();
        assert_eq!(cache.renders(), 6);
        assert_eq!(d.bytes, e.bytes);
        assert_ne!(d.bytes.as_ptr(), e.bytes.as_ptr());
    }

    #[tokio::test]
    async fn gzip_variant_is_compressed_once_and_round_trips() {
        let st = state();
        st.snapshot.publish(snapshot(0.5));
        let cache = RenderCache::new();
        let plain = cache.get(&st, Kind::MetricsText, false).await.unwrap();
        let gz = cache.get(&st, Kind::MetricsText, true).await.unwrap();
        let gz2 = cache.get(&st, Kind::MetricsText, true).await.unwrap();
        assert!(!plain.gzip && gz.gzip);
        assert_eq!(gz.bytes.as_ptr(), gz2.bytes.as_ptr());
        assert_eq!(cache.renders(), 1, "gzip reuses the identity render");
        assert_eq!(cache.compressions(), 1);
        assert_eq!(gunzip(&gz.bytes), plain.bytes.to_vec());
        // Large bodies (blocking-thread path) round-trip too.
        let big = Bytes::from("x509_cert_not_after{a=\"b\"} 1\n".repeat(50_000));
        let packed = compress(big.clone()).await.unwrap();
        assert!(packed.len() < big.len() / 10);
        assert_eq!(gunzip(&packed), big.to_vec());
    }

    #[tokio::test]
    async fn sweep_drops_large_idle_entries_only() {
        let st = state();
        st.snapshot.publish(snapshot(0.5));
        let cache = RenderCache::new();
        let gz = cache.get(&st, Kind::MetricsText, true).await.unwrap();
        let plain = cache.get(&st, Kind::MetricsText, false).await.unwrap();
        assert!(gz.gzip && !plain.gzip);
        assert_eq!(cache.renders(), 1);
        // Not idle long enough, or too small: kept.
        assert_eq!(cache.sweep(std::time::Duration::from_secs(3600), 0), 0);
        assert_eq!(cache.sweep(std::time::Duration::ZERO, usize::MAX), 0);
        // Idle and large enough: the identity entry goes (the gzip one is smaller).
        assert!(gz.bytes.len() < plain.bytes.len());
        assert_eq!(cache.sweep(std::time::Duration::ZERO, plain.bytes.len()), 1);
        let again = cache.get(&st, Kind::MetricsText, false).await.unwrap();
        assert_eq!(cache.renders(), 2, "re-rendered after the sweep");
        assert_eq!(again.bytes, plain.bytes);
        assert_eq!(cache.compressions(), 1);
        let _ = cache.get(&st, Kind::MetricsText, true).await.unwrap();
        assert_eq!(cache.compressions(), 1, "the gzip entry stayed");
    }
}
