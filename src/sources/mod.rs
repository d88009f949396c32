//! Sources enumerate objects that may hold certificates; they never parse
//! certificates nor format metrics. Each source implements [`Source`] and is
//! registered in [`build_sources`]. The scraper parses what they return and keeps a
//! per-object cache so that an object whose `version` did not change is not re-read.

pub mod certbot;
pub mod docker;
pub mod docker_trust;
pub mod files;
pub mod fswatch;
pub mod glob;
pub mod kubernetes;
pub mod tls_endpoint;
pub mod vault;

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::{Config, EntryCtx, SourceConfig};
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
    /// Kubernetes API resources this source watches (`secrets`, ...): the
    /// scraper pre-creates `x509_kube_transport_errors_total` (every reason) and
    /// `x509_kube_watch_resyncs_total` at 0 for each. Empty for other sources.
    fn watched_resources(&self) -> Vec<&'static str> {
        Vec::new()
    }
    /// Transport failures and re-LISTs the source's watchers saw since the last
    /// call; the scraper emits each as one event (`events::emit_transport`:
    /// logged and counted together).
    fn drain_transport(&self) -> Vec<crate::model::TransportEvent> {
        Vec::new()
    }
    /// What the source learned about itself and its issuers in its last
    /// completed scan, beyond objects: CRLs it read (a PKI mount's issuer CRLs,
    /// published as `x509_crl_*`), the expiry of its own credential (the Vault
    /// token) and revocation it knows authoritatively. The scraper asks right
    /// after each scan; most sources have none.
    fn facts(&self) -> SourceFacts {
        SourceFacts::default()
    }
}

/// See [`Source::facts`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceFacts {
    pub crls: Vec<crate::model::CrlInfo>,
    /// Unix time at which the source's own credential (token) expires; `None`
    /// when it has none or it never expires.
    pub credential_expiry: Option<i64>,
    /// Revocation the source itself knows authoritatively, by object location
    /// (a Vault/OpenBao mount's own revoked list, method `vault`): it replaces
    /// what the CRL/OCSP checks found for the certificates there.
    pub revocations: std::collections::HashMap<String, crate::model::Revocation>,
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

/// One source kind: its `kind:` values, its raw config (`deny_unknown_fields`, the
/// keys as written), validation into its config type (defaults filled, problems
/// located through [`EntryCtx`]), the raw form of a validated config (for
/// `print-default-config` round trips) and `build()`. Registered with one line in
/// [`source_kinds!`] below; nothing else lists the kinds.
pub trait SourceSpec: 'static {
    /// The `kind:` values this spec reads (the file source reads `file` and
    /// `kubeconfig` into one config type).
    const KINDS: &'static [&'static str];
    /// Every key an entry of this kind accepts besides `kind` (dotted for keys of
    /// nested sections: `secrets.mode`). Used to tell a key meant for another kind
    /// ("does not apply to sources of kind ...") from a typo (an unknown key).
    const KEYS: &'static [&'static str];
    /// The legacy top-level section that is an alias for one entry (`docker`,
    /// `kubernetes`); new kinds have none.
    const SECTION: Option<&'static str> = None;
    type Raw: serde::de::DeserializeOwned + serde::Serialize + Default + 'static;
    type Config: SourceConfig + Clone;
    /// Validate one entry (or the alias section), reporting problems at
    /// `ctx.base`-relative paths.
    fn validate(raw: &Self::Raw, ctx: &mut EntryCtx<'_>) -> Self::Config;
    /// The raw form with every key written out; validating it gives back `cfg`.
    fn to_raw(cfg: &Self::Config) -> Self::Raw;
    /// The running sources of a validated config (none when it is disabled).
    fn build(cfg: &Self::Config) -> Vec<Arc<dyn Source>>;
    /// The alias section's config when a document has neither the section nor an
    /// entry of this kind (the Docker and Kubernetes sources default to `auto`).
    fn implicit_section() -> Option<Self::Config> {
        None
    }
}

/// [`SourceSpec`] as an object (the registry's element type).
pub trait DynSpec: Sync {
    /// Identity of the spec (the registry's elements are zero-sized, so their
    /// addresses do not tell them apart).
    fn id(&self) -> std::any::TypeId;
    fn kinds(&self) -> &'static [&'static str];
    fn keys(&self) -> &'static [&'static str];
    fn section(&self) -> Option<&'static str>;
    /// `c` is this spec's config type.
    fn owns(&self, c: &dyn SourceConfig) -> bool;
    /// Validate a raw config deserialized by [`deserialize_raw`] for this spec.
    fn validate(&self, raw: &dyn Any, ctx: &mut EntryCtx<'_>) -> Option<Box<dyn SourceConfig>>;
    /// The raw form (every key written out, without `kind`) as a JSON value.
    fn to_raw_value(&self, c: &dyn SourceConfig) -> Option<serde_json::Value>;
    fn build(&self, c: &dyn SourceConfig) -> Vec<Arc<dyn Source>>;
    fn implicit_section(&self) -> Option<Box<dyn SourceConfig>>;
}

/// The object form of a [`SourceSpec`].
pub struct Spec<S>(PhantomData<fn() -> S>);

impl<S: SourceSpec> Spec<S> {
    pub const NEW: Spec<S> = Spec(PhantomData);
}

impl<S: SourceSpec> DynSpec for Spec<S> {
    fn id(&self) -> std::any::TypeId {
        std::any::TypeId::of::<S>()
    }
    fn kinds(&self) -> &'static [&'static str] {
        S::KINDS
    }
    fn keys(&self) -> &'static [&'static str] {
        S::KEYS
    }
    fn section(&self) -> Option<&'static str> {
        S::SECTION
    }
    fn owns(&self, c: &dyn SourceConfig) -> bool {
        c.as_any().is::<S::Config>()
    }
    fn validate(&self, raw: &dyn Any, ctx: &mut EntryCtx<'_>) -> Option<Box<dyn SourceConfig>> {
        let raw = raw.downcast_ref::<S::Raw>()?;
        Some(Box::new(S::validate(raw, ctx)))
    }
    fn to_raw_value(&self, c: &dyn SourceConfig) -> Option<serde_json::Value> {
        let c = c.as_any().downcast_ref::<S::Config>()?;
        serde_json::to_value(S::to_raw(c)).ok()
    }
    fn build(&self, c: &dyn SourceConfig) -> Vec<Arc<dyn Source>> {
        c.as_any()
            .downcast_ref::<S::Config>()
            .map(S::build)
            .unwrap_or_default()
    }
    fn implicit_section(&self) -> Option<Box<dyn SourceConfig>> {
        S::implicit_section().map(|c| Box::new(c) as Box<dyn SourceConfig>)
    }
}

/// The registry: one line per source kind, in build order. Generates [`REGISTRY`]
/// and [`deserialize_raw`] (serde's deserializers are generic, so the dispatch on
/// `kind:` is generated code rather than a table of function pointers).
macro_rules! source_kinds {
    ($($spec:ty),* $(,)?) => {
        /// Every registered source kind, in build order.
        pub static REGISTRY: &[&dyn DynSpec] = &[$(&Spec::<$spec>::NEW),*];

        /// Deserialize the raw config of a `kind:` (`None`: no such kind).
        pub fn deserialize_raw<'de, D: serde::Deserializer<'de>>(
            kind: &str,
            d: D,
        ) -> Result<Option<Box<dyn Any>>, D::Error> {
            $(
                if <$spec as SourceSpec>::KINDS.contains(&kind) {
                    let raw = <<$spec as SourceSpec>::Raw as serde::Deserialize>::deserialize(d)?;
                    return Ok(Some(Box::new(raw)));
                }
            )*
            let _ = d;
            Ok(None)
        }
    };
}

source_kinds! {
    files::config::FileSpec,
    docker::config::DockerSpec,
    kubernetes::config::KubernetesSpec,
    tls_endpoint::config::TlsEndpointSpec,
    docker_trust::config::DockerTrustSpec,
    vault::config::VaultSpec,
    certbot::config::CertbotSpec,
}

/// The spec of a `kind:` value.
pub fn spec_of_kind(kind: &str) -> Option<&'static dyn DynSpec> {
    REGISTRY.iter().copied().find(|s| s.kinds().contains(&kind))
}

/// The spec of a validated config.
pub fn spec_of(c: &dyn SourceConfig) -> Option<&'static dyn DynSpec> {
    REGISTRY.iter().copied().find(|s| s.owns(c))
}

/// Every `kind:` value accepted in `sources:`.
pub fn kind_names() -> Vec<&'static str> {
    REGISTRY
        .iter()
        .flat_map(|s| s.kinds().iter().copied())
        .collect()
}

/// Build every enabled source of a validated configuration: kinds in registry
/// order, within a kind the alias section first, then the entries in config order.
pub fn build_sources(cfg: &Config) -> Vec<Arc<dyn Source>> {
    let mut out: Vec<Arc<dyn Source>> = Vec::new();
    for spec in REGISTRY {
        for c in cfg.sources.iter().filter(|c| spec.owns(*c)) {
            out.extend(spec.build(c));
        }
    }
    out
}
