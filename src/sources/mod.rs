//! Sources enumerate objects that may hold certificates; they never parse
//! certificates nor format metrics. Each source implements [`Source`] and is
//! registered in [`build_sources`]. The scraper parses what they return and keeps a
//! per-object cache so that an object whose `version` did not change is not re-read.

pub mod docker;
pub mod files;
pub mod fswatch;
pub mod glob;
pub mod kubernetes;
pub mod tls_endpoint;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::model::{ErrorEntry, SourceKind, SourceRef};
use crate::parse::{FormatHint, ParseOptions};

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a source is given for one scan.
#[derive(Debug, Clone)]
pub struct ScanCtx {
    /// Evaluation instant (injected; `--at`).
    pub now: DateTime<Utc>,
    /// Versions of this source's objects as of the previous scan, by object key.
    /// A source that finds the same version returns [`Content::Unchanged`]
    /// without reading the object.
    pub prev_versions: Arc<HashMap<String, String>>,
}

/// One parseable item of an object (a file, a kubeconfig entry, a secret key).
#[derive(Debug, Clone)]
pub struct Item {
    pub sref: SourceRef,
    pub data: Vec<u8>,
    pub hint: FormatHint,
}

#[derive(Debug, Clone)]
pub enum Content {
    /// Same version as in `ScanCtx::prev_versions`: reuse the previous results.
    Unchanged,
    /// Fresh content: zero or more items to parse, plus object-level errors
    /// (unreadable file, broken symlink, ...).
    Fresh {
        items: Vec<Item>,
        errors: Vec<ErrorEntry>,
    },
    /// The object exists but its content is deliberately not read (Docker secrets
    /// in `metadata` mode: the API never returns their data). It produces no
    /// certificate; the snapshot lists it in [`crate::inventory::Snapshot::metadata`].
    Metadata(SourceRef),
    /// Fresh content that the source parsed itself and keeps (the Kubernetes
    /// store holds parsed summaries, never the objects' bytes): the scraper
    /// shares these certificates instead of parsing. `errors` are the object's
    /// current extraction and parse errors.
    Parsed {
        certs: Arc<[ParsedItem]>,
        errors: Vec<ErrorEntry>,
    },
}

pub use crate::model::ParsedItem;

/// The unit of change detection: a file, a Secret, a swarm config.
#[derive(Debug, Clone)]
pub struct Object {
    /// Unique within the source (e.g. the canonical path).
    pub key: String,
    /// Opaque change marker (dev/inode/size/mtime/ctime, resourceVersion, ...).
    /// `None`: always re-read.
    pub version: Option<String>,
    pub content: Content,
}

/// Everything one scan of one source produced.
#[derive(Debug, Clone, Default)]
pub struct SourceOutput {
    pub objects: Vec<Object>,
    /// Set when the source as a whole failed (walk root unreadable, API down):
    /// `x509_source_up` becomes 0 and this error is reported.
    pub failure: Option<ErrorEntry>,
    /// Object findings ([`crate::model::finding`]) about what the source sees
    /// now, e.g. an Ingress naming a missing Secret or a world-readable key file.
    /// The complete current list: each scan replaces the previous one (a source
    /// whose objects did not change reports the same findings again; a failed
    /// scan reports what it could still see).
    pub findings: Vec<crate::model::Finding>,
    /// Series the source derives from the objects it watches
    /// ([`crate::model::ObjectSeries`], e.g. `x509_ingress_tls_info`); like
    /// `findings`, the complete current list. Shared: a source whose objects did
    /// not change hands out the same list again (no copy per scan).
    pub series: Arc<[crate::model::ObjectSeries]>,
}

/// A certificate source.
pub trait Source: Send + Sync {
    /// The `source_kind` values this source reports (`x509_source_up` per kind).
    fn kinds(&self) -> Vec<SourceKind>;
    /// The configured `source_name`.
    fn name(&self) -> &str;
    /// How items of this source are parsed.
    fn parse_options(&self) -> &ParseOptions;
    /// Enumerate objects. Must not panic; must bound its own work per object
    /// (size caps). The scraper applies the per-source timeout around it.
    fn scan(self: Arc<Self>, ctx: ScanCtx) -> BoxFuture<SourceOutput>;
    /// Give the source a way to ask for a prompt rescan when it learns about a
    /// change (Docker events, Kubernetes watch events, file change notifications),
    /// so the exporter rescans before the next `scan.interval`. Called by
    /// long-running scrapers (`serve`) only, again after a reload; sources without
    /// change notifications ignore it.
    fn attach_rescan(&self, _signal: RescanSignal) {}
}

/// "Rescan now": the one change signal of a scraper. Sources that learn about a
/// change trigger it; the `serve` scraper loop waits on it next to its interval
/// ticker.
pub type RescanSignal = Arc<tokio::sync::Notify>;

/// `std::thread::available_parallelism()`, computed once: each call reads the
/// cgroup CPU quota files, which is measurable when asked per directory.
pub fn available_cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Build every enabled source of a validated configuration.
pub fn build_sources(cfg: &Config) -> Vec<Arc<dyn Source>> {
    let mut out: Vec<Arc<dyn Source>> = Vec::new();
    for f in &cfg.files {
        out.push(Arc::new(files::FileSource::new(f.clone())));
    }
    for d in std::iter::once(&cfg.docker).chain(&cfg.docker_sources) {
        if docker::DockerSource::wanted(d) {
            out.push(Arc::new(docker::DockerSource::new(d.clone())));
        }
    }
    for k in std::iter::once(&cfg.kubernetes).chain(&cfg.kubernetes_sources) {
        out.extend(kubernetes::build(k));
    }
    for t in &cfg.tls_endpoints {
        out.push(Arc::new(tls_endpoint::build(t)));
    }
    out
}
