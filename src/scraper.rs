//! The scan loop: runs every source (concurrently, each under its timeout), parses
//! fresh objects on all cores, reuses cached results for unchanged objects, runs the
//! checks and publishes an immutable [`Snapshot`].
//!
//! Parsing goes through the content-addressed certificate table
//! ([`crate::model::table`]): each certificate's DER is hashed, and only a
//! certificate no occurrence in the process holds yet is parsed, so a copy (a
//! shared intermediate in every `fullchain.pem`, a `ca.crt` in every Secret)
//! costs a hash and a lookup, and all occurrences share one summary.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tracing::{debug, info};

use crate::checks::{self, Checker};
use crate::events::{self, ErrorCounts, Event, PassphraseCounts, ResyncCounts, TransportCounts};
use crate::inventory::{Snapshot, SourceStatus};
use crate::model::{CertEntry, ErrorEntry, KeystoreFormat, Reason, SourceKind, SourceRef};
use crate::parse::{self, ParseOptions};
use crate::sources::{
    Content, Item, Object, ParsedItem, RescanSignal, ScanCtx, Source, SourceOutput,
};

/// Parsed results of one object, kept between scans.
#[derive(Debug, Clone, Default)]
struct CachedObject {
    // (Its version is in `SourceState::versions`, not repeated here.)
    /// Shared with the source when it parsed them itself ([`Content::Parsed`]).
    certs: Arc<[ParsedItem]>,
    errors: Vec<ErrorEntry>,
    /// Set for [`Content::Metadata`] objects.
    metadata: Option<Arc<SourceRef>>,
    /// CRLs found in the object (parsed; `stale` is set per snapshot).
    crls: Vec<crate::model::CrlInfo>,
    /// Scan generation ([`SourceState::generation`]) that last reported this object.
    seen: u64,
}

/// Per-source cache, updated in place by each scan.
///
/// An unchanged re-scan is meant to cost little more than the source's own
/// enumeration, so nothing here is rebuilt from scratch per scan: `versions`
/// (what the source is given as `prev_versions`) is maintained incrementally and
/// handed out as an `Arc` clone, objects that disappeared are swept by
/// generation, and the sorted certificate entries of the source are kept in
/// `built` until an object changes.
#[derive(Debug, Default)]
struct SourceState {
    objects: HashMap<String, CachedObject>,
    /// `key -> version` of every cached object that has a version.
    versions: Arc<HashMap<String, String>>,
    generation: u64,
    /// Snapshot part of this source as of the current `objects`, `None` when stale.
    built: Option<Built>,
    up: Option<bool>,
    failure: Option<ErrorEntry>,
    /// The object findings of the source's last scan.
    findings: Vec<crate::model::Finding>,
    /// The object series of the source's last scan (shared with the snapshots).
    series: Arc<[crate::model::ObjectSeries]>,
    /// [`Source::facts`] after the source's last completed scan.
    facts: crate::sources::SourceFacts,
}

impl SourceState {
    /// Forget every cached object (parse options changed).
    fn clear(&mut self) {
        self.objects.clear();
        self.versions = Arc::default();
        self.built = None;
    }
}

/// One source's certificates (sorted like the snapshot; entries are made from
/// them, with the checks' results, for each snapshot), object errors and
/// per-kind counts.
#[derive(Debug, Clone, Default)]
struct Built {
    certificates: Vec<ParsedItem>,
    errors: Vec<ErrorEntry>,
    metadata: Vec<Arc<SourceRef>>,
    /// CRLs found in the source's objects.
    crls: Vec<crate::model::CrlInfo>,
    per_kind: BTreeMap<SourceKind, (usize, usize)>,
}

/// Owns the sources and their caches; one `scan` call is one complete inventory.
pub struct Scraper {
    sources: Vec<Arc<dyn Source>>,
    source_timeout: Duration,
    state: HashMap<String, SourceState>,
    counters: ErrorCounts,
    /// `bad_passphrase` errors by keystore format, for kinds that read keystores.
    passphrase: PassphraseCounts,
    /// Kubernetes transport failures and re-LISTs, by source name.
    transport: TransportCounts,
    resyncs: ResyncCounts,
    checker: Checker,
    rescan: Option<RescanSignal>,
}

impl Scraper {
    pub fn new(sources: Vec<Arc<dyn Source>>, source_timeout: Duration) -> Self {
        let mut s = Scraper {
            sources: Vec::new(),
            source_timeout,
            state: HashMap::new(),
            counters: BTreeMap::new(),
            passphrase: BTreeMap::new(),
            transport: BTreeMap::new(),
            resyncs: BTreeMap::new(),
            checker: Checker::disabled(),
            rescan: None,
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
            st.clear();
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
                if kind.reads_keystores() {
                    let p = self
                        .passphrase
                        .entry((kind, src.name().to_string()))
                        .or_default();
                    for f in KeystoreFormat::ALL {
                        p.entry(f).or_insert(0);
                    }
                }
            }
        }
        for src in &sources {
            let resources = src.watched_resources();
            if resources.is_empty() {
                continue;
            }
            let t = self.transport.entry(src.name().to_string()).or_default();
            let r = self.resyncs.entry(src.name().to_string()).or_default();
            for res in resources {
                for reason in crate::model::TransportReason::ALL {
                    t.entry((res, reason)).or_insert(0);
                }
                r.entry(res).or_insert(0);
            }
        }
        self.transport
            .retain(|name, _| names.contains(name.as_str()));
        self.resyncs.retain(|name, _| names.contains(name.as_str()));
        self.counters
            .retain(|(_, name), _| names.contains(name.as_str()));
        self.passphrase
            .retain(|(_, name), _| names.contains(name.as_str()));
        if let Some(signal) = &self.rescan {
            for src in &sources {
                src.attach_rescan(signal.clone());
            }
        }
        self.sources = sources;
    }

    /// Use `checker` for trust and revocation from the next scan on (built from
    /// the configuration; replaced on reload, which drops its caches).
    pub fn set_checker(&mut self, checker: Checker) {
        self.checker = checker;
    }

    /// Builder form of [`Scraper::set_checker`].
    pub fn with_checker(mut self, checker: Checker) -> Self {
        self.checker = checker;
        self
    }

    /// The "rescan now" signal of this scraper, created (and handed to every
    /// current and future source) on first use. Only long-running loops call it.
    pub fn rescan_signal(&mut self) -> RescanSignal {
        if let Some(s) = &self.rescan {
            return s.clone();
        }
        let signal: RescanSignal = Arc::new(tokio::sync::Notify::new());
        for src in &self.sources {
            src.attach_rescan(signal.clone());
        }
        self.rescan = Some(signal.clone());
        signal
    }

    /// Log and count one event ([`crate::events`]): logs,
    /// `x509_source_errors_total` and the passphrase-failure counters come from
    /// the same call.
    fn emit(&mut self, ev: Event<'_>) {
        events::emit(&mut self.counters, &mut self.passphrase, ev);
    }

    /// Run one complete scan at evaluation instant `now`.
    pub async fn scan(&mut self, now: DateTime<Utc>) -> Snapshot {
        let started = Instant::now();
        let mut handles = Vec::with_capacity(self.sources.len());
        for src in &self.sources {
            // Shared, not copied: the source drops its clone before `absorb`
            // updates the map in place (`Arc::make_mut` then does not copy).
            let prev = self
                .state
                .get(src.name())
                .map(|st| st.versions.clone())
                .unwrap_or_default();
            let ctx = ScanCtx {
                now,
                prev_versions: prev,
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
            for ev in src.drain_transport() {
                events::emit_transport(&mut self.transport, &mut self.resyncs, &ev);
            }
            match result {
                Ok(out) => {
                    self.absorb(src.as_ref(), out).await;
                    let facts = src.facts();
                    self.state.entry(name).or_default().facts = facts;
                }
                Err(err) => {
                    self.emit(Event::SourceFailed(&err));
                    let st = self.state.entry(name).or_default();
                    st.up = Some(false);
                    st.failure = Some(err);
                }
            }
        }

        let mut snap = self.build_snapshot(now);
        let outcome = self.checker.run(&mut snap.certificates, now).await;
        for e in &outcome.new_errors {
            self.emit(Event::CheckError(e));
        }
        if !outcome.new_errors.is_empty() {
            for st in &mut snap.sources {
                if let Some(c) = self.counters.get(&(st.kind, st.name.clone())) {
                    st.errors_total = c.clone();
                }
                if let Some(c) = self.passphrase.get(&(st.kind, st.name.clone())) {
                    st.passphrase_failures = c.clone();
                }
            }
        }
        snap.errors.extend(outcome.errors);
        // Revocation CRLs first, then the CRLs the sources found.
        let found = std::mem::replace(&mut snap.crls, outcome.crls);
        snap.crls.extend(found);
        // What sources assert (a PKI's own revoked list, its CRLs, token expiry).
        if self
            .state
            .values()
            .any(|st| !st.facts.revocations.is_empty())
        {
            for e in &mut snap.certificates {
                let asserted = self
                    .state
                    .get(&e.source.name)
                    .and_then(|st| st.facts.revocations.get(&e.source.location));
                if let Some(r) = asserted {
                    e.revocation = r.clone();
                }
            }
        }
        for src in &self.sources {
            if let Some(st) = self.state.get(src.name()) {
                snap.crls.extend(st.facts.crls.iter().cloned());
                if let Some(at) = st.facts.credential_expiry {
                    snap.credentials.push(crate::inventory::CredentialExpiry {
                        kind: src.kinds().first().copied().unwrap_or(SourceKind::File),
                        name: src.name().to_string(),
                        expires_at: at,
                    });
                }
            }
        }
        snap.sort();
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
        let kind = src.kinds().first().copied().unwrap_or(SourceKind::File);
        let st = self.state.entry(name.clone()).or_default();
        st.generation += 1;
        let generation = st.generation;
        let mut changed = false;
        let mut fresh: Vec<Fresh> = Vec::new();
        let mut reused = 0usize;
        let mut meta: Vec<Pending> = Vec::new();
        let mut ready: Vec<Pending> = Vec::new();
        for Object {
            key,
            version,
            content,
        } in out.objects
        {
            match content {
                Content::Unchanged => match st.objects.get_mut(&key) {
                    // (`seen == generation`: the key was already reported unchanged
                    // in this scan; treated like a missing cache entry.)
                    Some(cached) if cached.seen != generation => {
                        reused += 1;
                        cached.seen = generation;
                    }
                    _ => {
                        // The source claimed "unchanged" for something we never saw:
                        // a source bug; surface it rather than silently dropping.
                        let e = ErrorEntry::new(
                            SourceRef::new(kind, &name, &key),
                            Reason::ReadFailed,
                            "object reported unchanged but no cached result exists",
                        );
                        Arc::make_mut(&mut st.versions).remove(&key);
                        st.objects.insert(
                            key,
                            CachedObject {
                                certs: Arc::new([]),
                                errors: vec![e],
                                metadata: None,
                                crls: Vec::new(),
                                seen: generation,
                            },
                        );
                        changed = true;
                    }
                },
                Content::Fresh { items, errors } => fresh.push((key, version, items, errors)),
                Content::Parsed { certs, errors } => ready.push((
                    key,
                    version,
                    CachedObject {
                        certs,
                        errors,
                        metadata: None,
                        crls: Vec::new(),
                        seen: 0,
                    },
                )),
                Content::Metadata(sref) => match st.objects.get_mut(&key) {
                    Some(cached)
                        if cached.seen != generation
                            && st.versions.get(&key) == version.as_ref()
                            && cached.metadata.as_deref() == Some(&sref) =>
                    {
                        reused += 1;
                        cached.seen = generation;
                    }
                    _ => meta.push((
                        key,
                        version,
                        CachedObject {
                            certs: Arc::new([]),
                            errors: Vec::new(),
                            metadata: Some(Arc::new(sref)),
                            crls: Vec::new(),
                            seen: 0,
                        },
                    )),
                },
            }
        }
        let opts = src.parse_options().clone();
        let parsed = if fresh.is_empty() {
            Vec::new()
        } else {
            tokio::task::spawn_blocking(move || parse_fresh(fresh, &opts))
                .await
                .unwrap_or_default()
        };
        debug!(source = %name, fresh = parsed.len() + ready.len(), reused, "source scanned");
        for (_, _, cached) in parsed.iter().chain(&ready) {
            for e in &cached.errors {
                self.emit(Event::ObjectError(e));
            }
        }
        if let Some(f) = &out.failure {
            self.emit(Event::SourceFailed(f));
        }
        let st = self.state.entry(name).or_default();
        let SourceState {
            objects, versions, ..
        } = st;
        let versions = Arc::make_mut(versions);
        for (key, version, mut cached) in parsed.into_iter().chain(ready).chain(meta) {
            match version {
                Some(v) => {
                    versions.insert(key.clone(), v);
                }
                None => {
                    versions.remove(&key);
                }
            }
            cached.seen = generation;
            objects.insert(key, cached);
            changed = true;
        }
        // Forget objects the source did not report this time.
        objects.retain(|key, o| {
            let keep = o.seen == generation;
            if !keep {
                versions.remove(key);
                changed = true;
            }
            keep
        });
        if changed {
            st.built = None;
        }
        st.up = Some(out.failure.is_none());
        st.failure = out.failure;
        st.findings = out.findings;
        st.series = out.series;
    }

    fn build_snapshot(&mut self, now: DateTime<Utc>) -> Snapshot {
        let mut snap = Snapshot::empty(now);
        for src in &self.sources {
            let Some(st) = self.state.get_mut(src.name()) else {
                continue;
            };
            let built = st.built.get_or_insert_with(|| build_source(&st.objects));
            // Each source's part is already sorted: the final sort only merges runs.
            snap.certificates.reserve(built.certificates.len());
            snap.certificates
                .extend(
                    built
                        .certificates
                        .iter()
                        .map(|(sref, idx, cert)| CertEntry {
                            source: sref.clone(),
                            index_in_bundle: *idx,
                            cert: cert.clone(),
                            expired: false,
                            trust: Default::default(),
                            revocation: Default::default(),
                        }),
                );
            snap.errors.extend(built.errors.iter().cloned());
            snap.metadata.extend(built.metadata.iter().cloned());
            let at = now.timestamp();
            snap.crls.extend(built.crls.iter().map(|c| {
                let mut c = c.clone();
                c.stale = c.stale_at(at);
                c
            }));
            if let Some(f) = &st.failure {
                snap.errors.push(f.clone());
            }
            snap.findings.extend(st.findings.iter().cloned());
            if !st.series.is_empty() {
                snap.object_series.push(st.series.clone());
            }
            for (i, kind) in src.kinds().into_iter().enumerate() {
                let (certificates, objects) =
                    built.per_kind.get(&kind).copied().unwrap_or_default();
                // Transport counters are per source name: on its first kind only.
                let first = i == 0;
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
                    passphrase_failures: self
                        .passphrase
                        .get(&(kind, src.name().to_string()))
                        .cloned()
                        .unwrap_or_default(),
                    kube_transport_errors: self
                        .transport
                        .get(src.name())
                        .filter(|_| first)
                        .cloned()
                        .unwrap_or_default(),
                    kube_watch_resyncs: self
                        .resyncs
                        .get(src.name())
                        .filter(|_| first)
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

/// One source's part of the snapshot, from its cached objects.
fn build_source(objects: &HashMap<String, CachedObject>) -> Built {
    let mut b = Built::default();
    let n: usize = objects.values().map(|o| o.certs.len()).sum();
    b.certificates.reserve_exact(n);
    for obj in objects.values() {
        let mut kinds_seen = std::collections::BTreeSet::new();
        for (sref, idx, cert) in obj.certs.iter() {
            b.per_kind.entry(sref.kind).or_default().0 += 1;
            kinds_seen.insert(sref.kind);
            b.certificates.push((sref.clone(), *idx, cert.clone()));
        }
        if let Some(m) = &obj.metadata {
            kinds_seen.insert(m.kind);
            b.metadata.push(m.clone());
        }
        for crl in &obj.crls {
            if let Some(src) = &crl.source {
                kinds_seen.insert(src.kind);
            }
            b.crls.push(crl.clone());
        }
        for k in kinds_seen {
            b.per_kind.entry(k).or_default().1 += 1;
        }
        b.errors.extend(obj.errors.iter().cloned());
    }
    b.certificates
        .sort_by(|a, b| crate::inventory::cert_order((&a.0, a.1, &a.2), (&b.0, b.1, &b.2)));
    b.crls.sort_by(|x, y| {
        (&x.location, x.this_update, &x.number).cmp(&(&y.location, y.this_update, &y.number))
    });
    let mut part = Snapshot::empty(DateTime::<Utc>::UNIX_EPOCH);
    part.errors = b.errors;
    part.sort();
    b.errors = part.errors;
    b
}

type Fresh = (String, Option<String>, Vec<Item>, Vec<ErrorEntry>);

/// An object's new cache entry: key, version, parsed results.
type Pending = (String, Option<String>, CachedObject);

/// Parse fresh objects using every available core; results keep input order.
fn parse_fresh(fresh: Vec<Fresh>, opts: &ParseOptions) -> Vec<Pending> {
    let threads = crate::sources::available_cores().min(8);
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

fn parse_one((key, version, items, mut errors): Fresh, opts: &ParseOptions) -> Pending {
    let mut certs = Vec::new();
    let mut found = Vec::new();
    for item in items {
        parse::parse_located_with_crls(
            item.sref,
            item.data,
            item.hint,
            opts,
            &mut certs,
            &mut errors,
            &mut found,
        );
    }
    let crls = parse_crls(found, &mut errors);
    let cached = CachedObject {
        certs: certs.into(),
        errors,
        metadata: None,
        crls,
        seen: 0,
    };
    (key, version, cached)
}

/// Parse the CRLs found in an object with the revocation checks' CRL parser
/// (a CRL it rejects, e.g. one with too many entries, is a `bad_der` error of
/// its location).
fn parse_crls(
    found: Vec<parse::FoundCrl>,
    errors: &mut Vec<ErrorEntry>,
) -> Vec<crate::model::CrlInfo> {
    let mut out = Vec::with_capacity(found.len());
    for f in found {
        match checks::crl::ParsedCrl::parse(&f.der, &f.source.location) {
            Ok(p) => {
                let mut info = p.info(0);
                info.source = Some(f.source);
                out.push(info);
            }
            Err(e) => errors.push(ErrorEntry::new(
                (*f.source).clone(),
                Reason::BadDer,
                format!("CRL: {e}"),
            )),
        }
    }
    out
}

/// Parse one item: its certificates are appended to `certs`, its parse errors
/// (located, `#<index>` for a bad block of a bundle) to `errors`. The item's
/// buffer is wiped (it may have held private keys next to certificates).
/// Certificates go through the process's content-addressed table
/// ([`crate::model::table`], see [`parse::parse_located`]).
pub fn parse_item(
    item: Item,
    opts: &ParseOptions,
    certs: &mut Vec<ParsedItem>,
    errors: &mut Vec<ErrorEntry>,
) {
    parse::parse_located(item.sref, item.data, item.hint, opts, certs, errors);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::BoxFuture;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// A scripted source: each scan pops the next output; `delay` simulates a slow source.
    struct Scripted {
        outputs: Mutex<Vec<SourceOutput>>,
        delay_ms: std::sync::atomic::AtomicU64,
        scans: AtomicUsize,
        opts: ParseOptions,
    }

    impl Scripted {
        fn new(mut outputs: Vec<SourceOutput>, delay: Duration) -> Arc<Self> {
            outputs.reverse();
            Arc::new(Scripted {
                outputs: Mutex::new(outputs),
                delay_ms: std::sync::atomic::AtomicU64::new(delay.as_millis() as u64),
                scans: AtomicUsize::new(0),
                opts: ParseOptions::default(),
            })
        }
    }

    impl Source for Scripted {
        fn kinds(&self) -> Vec<SourceKind> {
            vec![SourceKind::File]
        }
        fn name(&self) -> &str {
            "scripted"
        }
        fn parse_options(&self) -> &ParseOptions {
            &self.opts
        }
        fn scan(self: Arc<Self>, ctx: ScanCtx) -> BoxFuture<SourceOutput> {
            Box::pin(async move {
                self.scans.fetch_add(1, Ordering::SeqCst);
                let delay = self.delay_ms.load(Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(delay)).await;
                let mut out = self
                    .outputs
                    .lock()
                    .map(|mut o| o.pop().unwrap_or_default())
                    .unwrap_or_default();
                // Behave like a real source: unchanged versions are not re-read.
                for obj in &mut out.objects {
                    if obj.version.is_some()
                        && ctx.prev_versions.get(&obj.key) == obj.version.as_ref()
                    {
                        obj.content = Content::Unchanged;
                    }
                }
                out
            })
        }
    }

    fn broken(key: &str, version: &str) -> Object {
        Object {
            key: key.into(),
            version: Some(version.into()),
            content: Content::Fresh {
                items: Vec::new(),
                errors: vec![ErrorEntry::new(
                    SourceRef::new(SourceKind::File, "scripted", key),
                    Reason::PermissionDenied,
                    "permission denied",
                )],
            },
        }
    }

    fn errors_of(snap: &Snapshot, reason: Reason) -> u64 {
        snap.sources[0].errors_total[&reason]
    }

    /// An empty version-2 JKS sealed with `password`.
    fn empty_jks(password: &str) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [0xFEED_FEEDu32, 2, 0] {
            b.extend_from_slice(&w.to_be_bytes());
        }
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
        for u in password.encode_utf16() {
            ctx.update(&u.to_be_bytes());
        }
        ctx.update(b"Mighty Aphrodite");
        ctx.update(&b);
        b.extend_from_slice(ctx.finish().as_ref());
        b
    }

    #[tokio::test]
    async fn crls_found_by_a_source_are_inventoried_with_their_location() {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "scraper CRL issuer");
        let ca =
            rcgen::CertifiedIssuer::self_signed(p, rcgen::KeyPair::generate().unwrap()).unwrap();
        let now = Utc::now();
        let t = |days: i64| {
            ::time::OffsetDateTime::from_unix_timestamp(now.timestamp() + days * 86_400).unwrap()
        };
        let crl = |this: i64, next: i64, n: u64| {
            rcgen::CertificateRevocationListParams {
                this_update: t(this),
                next_update: t(next),
                crl_number: rcgen::SerialNumber::from(n),
                issuing_distribution_point: None,
                revoked_certs: Vec::new(),
                key_identifier_method: rcgen::KeyIdMethod::Sha256,
            }
            .signed_by(&ca)
            .unwrap()
        };
        let fresh = crl(-1, 3, 7).pem().unwrap();
        let stale = crl(-10, -2, 8).der().to_vec();
        let obj = |key: &str, data: Vec<u8>| Object {
            key: key.into(),
            version: Some("1".into()),
            content: Content::Fresh {
                items: vec![Item {
                    sref: SourceRef::new(SourceKind::File, "scripted", key)
                        .with_label("filepath", key),
                    data,
                    hint: parse::FormatHint::Auto,
                }],
                errors: Vec::new(),
            },
        };
        let out = || SourceOutput {
            findings: Vec::new(),
            series: Default::default(),
            objects: vec![
                obj("/pki/fresh.crl.pem", fresh.clone().into_bytes()),
                obj("/pki/stale.crl", stale.clone()),
            ],
            failure: None,
        };
        let src = Scripted::new(vec![out(), out()], Duration::ZERO);
        let mut scraper = Scraper::new(vec![src], Duration::from_secs(5));
        for (at, stale_now) in [
            (now, [false, true]),
            (now + chrono::Duration::days(5), [true, true]),
        ] {
            let s = scraper.scan(at).await;
            assert!(s.errors.is_empty(), "{:?}", s.errors);
            let got: Vec<(String, Option<String>, bool)> = s
                .crls
                .iter()
                .map(|c| {
                    let src = c.source.as_ref().expect("found by the source");
                    assert_eq!(src.name, "scripted");
                    assert_eq!(c.issuer.cn, "scraper CRL issuer");
                    (c.location.clone(), c.number.clone(), c.stale)
                })
                .collect();
            assert_eq!(
                got,
                vec![
                    ("/pki/fresh.crl.pem".into(), Some("7".into()), stale_now[0]),
                    ("/pki/stale.crl".into(), Some("8".into()), stale_now[1]),
                ]
            );
            // A CRL-only file is an object of the source, not a broken one.
            assert_eq!(s.sources[0].objects, 2);
            assert_eq!(errors_of(&s, Reason::BadDer), 0);
        }
    }

    #[tokio::test]
    async fn passphrase_failures_are_counted_by_keystore_format() {
        let item = |key: &str, data: Vec<u8>| Item {
            sref: SourceRef::new(SourceKind::File, "scripted", key),
            data,
            hint: parse::FormatHint::Auto,
        };
        let p12 = p12_keystore::KeyStore::new()
            .writer("pw")
            .write()
            .unwrap_or_default();
        assert!(!p12.is_empty());
        let out = |v: &str| SourceOutput {
            findings: Vec::new(),
            series: Default::default(),
            objects: vec![Object {
                key: "/ks".into(),
                version: Some(v.into()),
                content: Content::Fresh {
                    items: vec![
                        item("/a.jks", empty_jks("secret")),
                        item("/b.jks", empty_jks("other")),
                        item("/c.p12", p12.clone()),
                        item("/d.jks", b"\xfe\xed\xfe\xedtruncated".to_vec()),
                    ],
                    errors: Vec::new(),
                },
            }],
            failure: None,
        };
        let src = Scripted::new(vec![out("v1"), out("v1"), out("v2")], Duration::ZERO);
        let mut scraper = Scraper::new(vec![src.clone()], Duration::from_secs(5));
        let now = Utc::now();
        let fails = |s: &Snapshot| {
            let p = &s.sources[0].passphrase_failures;
            (p[&KeystoreFormat::Pkcs12], p[&KeystoreFormat::Jks])
        };
        // Pre-created at zero before anything failed.
        let pre = &scraper.passphrase[&(SourceKind::File, "scripted".to_string())];
        assert_eq!(pre.values().copied().collect::<Vec<_>>(), vec![0, 0]);
        let s1 = scraper.scan(now).await;
        assert_eq!(fails(&s1), (1, 2));
        assert_eq!(errors_of(&s1, Reason::BadPassphrase), 3);
        assert_eq!(
            errors_of(&s1, Reason::BadJks),
            1,
            "malformed is not a passphrase failure"
        );
        let s2 = scraper.scan(now).await;
        assert_eq!(fails(&s2), (1, 2), "unchanged: not recounted");
        let s3 = scraper.scan(now).await;
        assert_eq!(fails(&s3), (2, 4), "changed: recounted");
    }

    #[tokio::test]
    async fn unchanged_broken_object_is_counted_once_but_still_reported() {
        let out = |v: &str| SourceOutput {
            findings: Vec::new(),
            series: Default::default(),
            objects: vec![broken("/a", v)],
            failure: None,
        };
        let src = Scripted::new(vec![out("v1"), out("v1"), out("v2")], Duration::ZERO);
        let mut scraper = Scraper::new(vec![src.clone()], Duration::from_secs(5));
        let now = Utc::now();

        let s1 = scraper.scan(now).await;
        assert_eq!(s1.errors.len(), 1);
        assert_eq!(errors_of(&s1, Reason::PermissionDenied), 1);
        // Every reason is pre-created at zero.
        assert_eq!(s1.sources[0].errors_total.len(), Reason::ALL.len());
        assert_eq!(errors_of(&s1, Reason::BadPem), 0);
        assert!(s1.sources[0].up);

        let s2 = scraper.scan(now).await;
        assert_eq!(s2.errors.len(), 1, "cached error still reported");
        assert_eq!(errors_of(&s2, Reason::PermissionDenied), 1, "not recounted");

        let s3 = scraper.scan(now).await;
        assert_eq!(
            errors_of(&s3, Reason::PermissionDenied),
            2,
            "changed: recounted"
        );
        assert_eq!(src.scans.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn disappeared_objects_are_forgotten() {
        let first = SourceOutput {
            findings: Vec::new(),
            series: Default::default(),
            objects: vec![broken("/a", "1"), broken("/b", "1")],
            failure: None,
        };
        let second = SourceOutput {
            findings: Vec::new(),
            series: Default::default(),
            objects: vec![broken("/b", "1")],
            failure: None,
        };
        let src = Scripted::new(vec![first, second], Duration::ZERO);
        let mut scraper = Scraper::new(vec![src], Duration::from_secs(5));
        assert_eq!(scraper.scan(Utc::now()).await.errors.len(), 2);
        let s = scraper.scan(Utc::now()).await;
        assert_eq!(s.errors.len(), 1);
        assert_eq!(s.errors[0].source.location, "/b");
    }

    #[tokio::test]
    async fn timed_out_source_is_down_and_keeps_previous_results() {
        let first = SourceOutput {
            findings: Vec::new(),
            series: Default::default(),
            objects: vec![broken("/a", "1")],
            failure: None,
        };
        let src = Scripted::new(vec![first], Duration::ZERO);
        let mut scraper = Scraper::new(vec![src.clone()], Duration::from_millis(200));
        let s1 = scraper.scan(Utc::now()).await;
        assert!(s1.sources[0].up);
        assert_eq!(s1.errors.len(), 1);

        // The source becomes far slower than the timeout.
        src.delay_ms.store(3_600_000, Ordering::SeqCst);
        let s2 = scraper.scan(Utc::now()).await;
        assert!(!s2.sources[0].up);
        assert_eq!(errors_of(&s2, Reason::Timeout), 1);
        assert!(s2.errors.iter().any(|e| e.reason == Reason::Timeout));
        assert!(
            s2.errors.iter().any(|e| e.source.location == "/a"),
            "previous results of the timed-out source are kept"
        );
    }

    fn pem(cn: &str) -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(vec![format!("{cn}.test")]).unwrap();
        p.distinguished_name.push(rcgen::DnType::CommonName, cn);
        p.self_signed(&key).unwrap().pem()
    }

    fn pem_object(key: &str, version: &str, data: &str) -> Object {
        Object {
            key: key.into(),
            version: Some(version.into()),
            content: Content::Fresh {
                items: vec![Item {
                    sref: SourceRef::new(SourceKind::File, "scripted", key),
                    data: data.as_bytes().to_vec(),
                    hint: crate::parse::FormatHint::Auto,
                }],
                errors: Vec::new(),
            },
        }
    }

    fn digest(c: &crate::model::ParsedCert) -> crate::model::table::Digest {
        let mut d = [0u8; 32];
        d.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, &c.der).as_ref());
        d
    }

    /// The content-addressed table through the scraper: the same certificate at
    /// several locations is several entries sharing one summary; a changed
    /// object whose certificate is still held elsewhere is not parsed again; the
    /// summary goes when its last occurrence does.
    #[tokio::test]
    async fn copies_share_one_summary_across_objects_and_scans() {
        let (ca, leaf) = (pem("scraper-table-ca"), pem("scraper-table-leaf"));
        let bundle = format!("{leaf}{ca}");
        let scans = vec![
            SourceOutput {
                findings: Vec::new(),
                series: Default::default(),
                objects: vec![pem_object("/a", "1", &ca), pem_object("/b", "1", &bundle)],
                failure: None,
            },
            // /a rewritten (same certificate), /b unchanged.
            SourceOutput {
                findings: Vec::new(),
                series: Default::default(),
                objects: vec![pem_object("/a", "2", &ca), pem_object("/b", "1", &bundle)],
                failure: None,
            },
            // Both gone.
            SourceOutput::default(),
        ];
        let src = Scripted::new(scans, Duration::ZERO);
        let mut scraper = Scraper::new(vec![src], Duration::from_secs(5));
        let s1 = scraper.scan(Utc::now()).await;
        assert_eq!(s1.certificates.len(), 3);
        let of = |s: &Snapshot, loc: &str, idx: usize| {
            s.certificates
                .iter()
                .find(|e| e.source.location == loc && e.index_in_bundle == idx)
                .map(|e| e.cert.clone())
                .unwrap()
        };
        let ca_a = of(&s1, "/a", 0);
        let ca_b = of(&s1, "/b", 1);
        assert!(Arc::ptr_eq(&ca_a, &ca_b), "one summary for both copies");
        assert_eq!(ca_a.subject.cn, "scraper-table-ca");
        assert_eq!(of(&s1, "/b", 0).subject.cn, "scraper-table-leaf");
        let d = digest(&ca_a);
        assert!(Arc::ptr_eq(
            &crate::model::table::global().get(&d).unwrap(),
            &ca_a
        ));

        let s2 = scraper.scan(Utc::now()).await;
        assert_eq!(s2.certificates.len(), 3);
        assert!(
            Arc::ptr_eq(&of(&s2, "/a", 0), &ca_a),
            "re-read object: its certificate was not parsed again"
        );

        let weak = Arc::downgrade(&ca_a);
        drop((s1, s2, ca_a, ca_b));
        let s3 = scraper.scan(Utc::now()).await;
        assert!(s3.certificates.is_empty());
        assert!(
            weak.upgrade().is_none(),
            "no occurrence left: summary freed"
        );
        assert!(crate::model::table::global().get(&d).is_none());
    }

    #[tokio::test]
    async fn source_failure_flips_up_and_recovers() {
        let down = SourceOutput {
            findings: Vec::new(),
            series: Default::default(),
            objects: Vec::new(),
            failure: Some(ErrorEntry::new(
                SourceRef::new(SourceKind::File, "scripted", "scripted"),
                Reason::SourceUnavailable,
                "daemon gone",
            )),
        };
        let src = Scripted::new(vec![down, SourceOutput::default()], Duration::ZERO);
        let mut scraper = Scraper::new(vec![src], Duration::from_secs(5));
        let s1 = scraper.scan(Utc::now()).await;
        assert!(!s1.sources[0].up);
        assert_eq!(errors_of(&s1, Reason::SourceUnavailable), 1);
        let s2 = scraper.scan(Utc::now()).await;
        assert!(s2.sources[0].up);
        assert!(s2.errors.is_empty());
        assert_eq!(errors_of(&s2, Reason::SourceUnavailable), 1, "counter kept");
    }
}
