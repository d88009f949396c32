//! The scan loop: runs every source (concurrently, each under its timeout), parses
//! fresh objects on all cores, reuses cached results for unchanged objects, runs the
//! checks and publishes an immutable [`Snapshot`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tracing::{debug, info, warn};

use crate::checks;
use crate::inventory::{Snapshot, SourceStatus};
use crate::model::{CertEntry, ErrorEntry, ParsedCert, Reason, SourceKind, SourceRef};
use crate::parse::{self, ParseOptions};
use crate::sources::{Content, Item, Object, ScanCtx, Source, SourceOutput};

/// Parsed results of one object, kept between scans.
#[derive(Debug, Clone, Default)]
struct CachedObject {
    version: Option<String>,
    certs: Vec<(Arc<SourceRef>, usize, Arc<ParsedCert>)>,
    errors: Vec<ErrorEntry>,
}

#[derive(Debug, Default)]
struct SourceState {
    objects: HashMap<String, CachedObject>,
    up: Option<bool>,
    failure: Option<ErrorEntry>,
}

/// Owns the sources and their caches; one `scan` call is one complete inventory.
pub struct Scraper {
    sources: Vec<Arc<dyn Source>>,
    source_timeout: Duration,
    state: HashMap<String, SourceState>,
    counters: BTreeMap<(SourceKind, String), BTreeMap<Reason, u64>>,
}

impl Scraper {
    pub fn new(sources: Vec<Arc<dyn Source>>, source_timeout: Duration) -> Self {
        let mut s = Scraper {
            sources: Vec::new(),
            source_timeout,
            state: HashMap::new(),
            counters: BTreeMap::new(),
        };
        s.reconfigure(sources, source_timeout);
        s
    }

    /// Swap in a new set of sources (config reload). Counters of sources that keep
    /// their name survive (counters never go backwards); caches of removed sources
    /// are dropped.
    pub fn reconfigure(&mut self, sources: Vec<Arc<dyn Source>>, source_timeout: Duration) {
        self.source_timeout = source_timeout;
        let names: std::collections::HashSet<String> =
            sources.iter().map(|s| s.name().to_string()).collect();
        self.state.retain(|name, _| names.contains(name));
        // Cached results depend on parse options that may have changed: re-read all.
        for st in self.state.values_mut() {
            st.objects.clear();
        }
        for src in &sources {
            for kind in src.kinds() {
                let entry = self
                    .counters
                    .entry((kind, src.name().to_string()))
                    .or_default();
                for r in Reason::ALL {
                    entry.entry(r).or_insert(0);
                }
            }
        }
        self.counters
            .retain(|(_, name), _| names.contains(name.as_str()));
        self.sources = sources;
    }

    fn count(&mut self, e: &ErrorEntry) {
        *self
            .counters
            .entry((e.source.kind, e.source.name.clone()))
            .or_default()
            .entry(e.reason)
            .or_insert(0) += 1;
    }

    /// Run one complete scan at evaluation instant `now`.
    pub async fn scan(&mut self, now: DateTime<Utc>) -> Snapshot {
        let started = Instant::now();
        let mut handles = Vec::with_capacity(self.sources.len());
        for src in &self.sources {
            let prev: HashMap<String, String> = self
                .state
                .get(src.name())
                .map(|st| {
                    st.objects
                        .iter()
                        .filter_map(|(k, o)| o.version.clone().map(|v| (k.clone(), v)))
                        .collect()
                })
                .unwrap_or_default();
            let ctx = ScanCtx {
                now,
                prev_versions: Arc::new(prev),
            };
            let fut = src.clone().scan(ctx);
            let timeout = self.source_timeout;
            handles.push(tokio::spawn(async move {
                tokio::time::timeout(timeout, fut).await
            }));
        }

        let sources = self.sources.clone();
        for (src, handle) in sources.iter().zip(handles) {
            let name = src.name().to_string();
            let primary = src.kinds().first().copied().unwrap_or(SourceKind::File);
            let result = match handle.await {
                Ok(Ok(out)) => Ok(out),
                Ok(Err(_elapsed)) => Err(ErrorEntry::new(
                    SourceRef::new(primary, &name, &name),
                    Reason::Timeout,
                    format!(
                        "source scan did not finish within {:?}; keeping previous results",
                        self.source_timeout
                    ),
                )),
                Err(join) => Err(ErrorEntry::new(
                    SourceRef::new(primary, &name, &name),
                    Reason::SourceUnavailable,
                    format!("source task failed: {join}"),
                )),
            };
            match result {
                Ok(out) => self.absorb(src.as_ref(), out).await,
                Err(err) => {
                    warn!(source = %name, reason = %err.reason, "{}", err.message);
                    self.count(&err);
                    let st = self.state.entry(name).or_default();
                    st.up = Some(false);
                    st.failure = Some(err);
                }
            }
        }

        let mut snap = self.build_snapshot(now);
        snap.scan_duration_seconds = started.elapsed().as_secs_f64();
        snap.completed_at_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        info!(
            certificates = snap.certificates.len(),
            errors = snap.errors.len(),
            seconds = snap.scan_duration_seconds,
            "scan completed"
        );
        snap
    }

    /// Merge one source's output into its cache: parse fresh objects, reuse
    /// unchanged ones, forget objects that disappeared.
    async fn absorb(&mut self, src: &dyn Source, out: SourceOutput) {
        let name = src.name().to_string();
        let prev = self
            .state
            .get_mut(&name)
            .map(|st| std::mem::take(&mut st.objects))
            .unwrap_or_default();
        let mut next: HashMap<String, CachedObject> = HashMap::with_capacity(out.objects.len());
        let mut fresh: Vec<(String, Option<String>, Vec<Item>, Vec<ErrorEntry>)> = Vec::new();
        let mut prev = prev;
        let mut reused = 0usize;
        for Object {
            key,
            version,
            content,
        } in out.objects
        {
            match content {
                Content::Unchanged => match prev.remove(&key) {
                    Some(cached) => {
                        reused += 1;
                        next.insert(key, cached);
                    }
                    None => {
                        // The source claimed "unchanged" for something we never saw:
                        // a source bug; surface it rather than silently dropping.
                        let e = ErrorEntry::new(
                            SourceRef::new(
                                src.kinds().first().copied().unwrap_or(SourceKind::File),
                                &name,
                                &key,
                            ),
                            Reason::ReadFailed,
                            "object reported unchanged but no cached result exists",
                        );
                        next.insert(
                            key,
                            CachedObject {
                                version: None,
                                certs: Vec::new(),
                                errors: vec![e],
                            },
                        );
                    }
                },
                Content::Fresh { items, errors } => fresh.push((key, version, items, errors)),
            }
        }
        let opts = src.parse_options().clone();
        let parsed = tokio::task::spawn_blocking(move || parse_fresh(fresh, &opts))
            .await
            .unwrap_or_default();
        debug!(source = %name, fresh = parsed.len(), reused, "source scanned");
        for (key, cached) in parsed {
            for e in &cached.errors {
                debug!(source = %name, location = %e.source.location, reason = %e.reason, "{}", e.message);
                self.count(e);
            }
            next.insert(key, cached);
        }
        if let Some(f) = &out.failure {
            warn!(source = %name, reason = %f.reason, "{}", f.message);
            self.count(f);
        }
        let st = self.state.entry(name).or_default();
        st.objects = next;
        st.up = Some(out.failure.is_none());
        st.failure = out.failure;
    }

    fn build_snapshot(&self, now: DateTime<Utc>) -> Snapshot {
        let mut snap = Snapshot::empty(now);
        for src in &self.sources {
            let Some(st) = self.state.get(src.name()) else {
                continue;
            };
            let mut per_kind: BTreeMap<SourceKind, (usize, usize)> = BTreeMap::new();
            for obj in st.objects.values() {
                let mut kinds_seen = std::collections::BTreeSet::new();
                for (sref, idx, cert) in &obj.certs {
                    per_kind.entry(sref.kind).or_default().0 += 1;
                    kinds_seen.insert(sref.kind);
                    snap.certificates.push(CertEntry {
                        source: sref.clone(),
                        index_in_bundle: *idx,
                        cert: cert.clone(),
                        expired: false,
                        trust: Default::default(),
                        revocation: Default::default(),
                    });
                }
                for k in kinds_seen {
                    per_kind.entry(k).or_default().1 += 1;
                }
                snap.errors.extend(obj.errors.iter().cloned());
            }
            if let Some(f) = &st.failure {
                snap.errors.push(f.clone());
            }
            for kind in src.kinds() {
                let (certificates, objects) = per_kind.get(&kind).copied().unwrap_or_default();
                snap.sources.push(SourceStatus {
                    kind,
                    name: src.name().to_string(),
                    up: st.up.unwrap_or(false),
                    certificates,
                    objects,
                    errors_total: self
                        .counters
                        .get(&(kind, src.name().to_string()))
                        .cloned()
                        .unwrap_or_default(),
                });
            }
        }
        checks::apply(&mut snap.certificates, now);
        snap.sort();
        snap
    }
}

type Fresh = (String, Option<String>, Vec<Item>, Vec<ErrorEntry>);

/// Parse fresh objects using every available core; results keep input order.
fn parse_fresh(fresh: Vec<Fresh>, opts: &ParseOptions) -> Vec<(String, CachedObject)> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    if fresh.len() < 64 || threads == 1 {
        return fresh.into_iter().map(|f| parse_one(f, opts)).collect();
    }
    let chunk = fresh.len().div_ceil(threads);
    let mut chunks: Vec<Vec<Fresh>> = Vec::new();
    let mut it = fresh.into_iter().peekable();
    while it.peek().is_some() {
        chunks.push(it.by_ref().take(chunk).collect());
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| {
                scope.spawn(move || {
                    c.into_iter()
                        .map(|f| parse_one(f, opts))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn parse_one((key, version, items, errors): Fresh, opts: &ParseOptions) -> (String, CachedObject) {
    let mut cached = CachedObject {
        version,
        certs: Vec::new(),
        errors,
    };
    for mut item in items {
        let out = parse::parse_object(&item.data, item.hint, opts);
        // The buffer may have held private keys next to certificates: wipe it.
        item.data.fill(0);
        let sref = Arc::new(item.sref);
        for (idx, cert) in out.certs {
            cached.certs.push((sref.clone(), idx, Arc::new(cert)));
        }
        for e in out.errors {
            let mut loc = (*sref).clone();
            if let Some(i) = e.index {
                loc.location = format!("{}#{}", loc.location, i);
            }
            cached
                .errors
                .push(ErrorEntry::new(loc, e.reason, &e.message));
        }
    }
    (key, cached)
}
