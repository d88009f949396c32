//! The in-memory inventory the watchers maintain: per object its resourceVersion
//! and parsed certificate summaries (never the object, never its bytes), plus the
//! state of every watcher (synced, last error). Watcher tasks extract and parse
//! each object as its event arrives and wipe the decoded bytes at once; a scan
//! hands the summaries to the scraper as [`Content::Parsed`], shared (`Arc`), not
//! copied. Parsing goes through the process's content-addressed certificate
//! table ([`crate::model::table`]), so a certificate repeated across objects (the
//! same `ca.crt` in 10,000 Secrets) is one summary and one DER, parsed once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use crate::model::{ErrorEntry, Reason, SourceKind, SourceRef, TransportEvent, TransportReason};
use crate::parse::ParseOptions;
use crate::sources::{Content, Object, ParsedItem, ScanCtx};

use super::extract::Extracted;

/// An error older than this, with no newer one, no longer marks the source down
/// (kube-runtime retries with a backoff of at most ~30 s, so a persistent failure
/// repeats well within this window).
pub const ERROR_STALE_AFTER: Duration = Duration::from_secs(75);

/// A Secret's `tls.crt` leaf as the store holds it ([`Store::tls_leaf`]).
#[derive(Debug, Clone)]
pub enum Leaf {
    /// No such Secret held (it does not exist, or yields nothing).
    Absent,
    /// The Secret is held but has no `tls.crt` certificate (only `ca.crt`).
    NoTlsCrt,
    /// Its `tls.crt` could not be read (the error is reported on its own).
    Unreadable,
    Cert(Arc<crate::model::ParsedCert>),
}

/// What one object contributes, parsed: its certificates, its extraction and
/// parse errors, and the content digest used for ConfigMap deduplication.
#[derive(Debug, Default)]
pub struct Summary {
    pub certs: Arc<[ParsedItem]>,
    pub errors: Box<[ErrorEntry]>,
    pub digest: Option<Box<[u8; 32]>>,
    /// CRLs found in the object's keys (public data: their DER is kept and
    /// handed to the scraper, which parses and inventories them).
    pub crls: Box<[crate::parse::FoundCrl]>,
}

impl Summary {
    /// Parse an extraction (its buffers are wiped as they are parsed).
    pub fn parse(x: Extracted, opts: &ParseOptions) -> Summary {
        let Extracted {
            items,
            mut errors,
            digest,
        } = x;
        let mut certs = Vec::new();
        let mut crls = Vec::new();
        for it in items {
            crate::parse::parse_located_with_crls(
                it.sref,
                it.data,
                it.hint,
                opts,
                &mut certs,
                &mut errors,
                &mut crls,
            );
        }
        Summary {
            certs: certs.into(),
            errors: errors.into(),
            digest: digest.map(Box::new),
            crls: crls.into(),
        }
    }

    fn is_empty(&self) -> bool {
        self.certs.is_empty() && self.errors.is_empty() && self.crls.is_empty()
    }
}

#[derive(Debug)]
struct StoredObject {
    owner: usize,
    version: Box<str>,
    summary: Summary,
}

/// State of one watcher.
#[derive(Debug, Clone)]
pub struct WatchStatus {
    /// What it watches, for messages: `secrets (type=kubernetes.io/tls) in all namespaces`.
    pub target: String,
    /// Its initial LIST completed at least once.
    pub synced: bool,
    /// Last error and when it happened.
    pub error: Option<(Reason, String, Instant)>,
}

#[derive(Debug, Default)]
struct Inner {
    objects: HashMap<String, StoredObject>,
    watchers: Vec<WatchStatus>,
    /// Keys seen since each watcher's latest `Init` (re-list), by watcher.
    relisting: HashMap<usize, HashSet<String>>,
}

/// Uncollected transport events: (resource, reason) -> (count, latest message).
type PendingTransport = BTreeMap<(&'static str, Option<TransportReason>), (u64, String)>;

/// Shared between the watcher tasks (writers) and `scan` (reader).
#[derive(Debug)]
pub struct Store {
    inner: Mutex<Inner>,
    /// Bumped on every watcher status change (scan waits for the initial sync).
    status: watch::Sender<u64>,
    /// Fired on object changes; debounced into the source's change signal.
    pub dirty: Notify,
    /// Bumped on every change of the held objects ([`Store::changes`]).
    changes: std::sync::atomic::AtomicU64,
    /// Transport failures and re-LISTs not collected by a scan yet, merged by
    /// (resource, reason): count and latest message (bounded by construction).
    transport: Mutex<PendingTransport>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            inner: Mutex::new(Inner::default()),
            status: watch::channel(0).0,
            dirty: Notify::new(),
            changes: std::sync::atomic::AtomicU64::new(0),
            transport: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Store {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn bump(&self) {
        self.status.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Register a watcher; returns its index.
    pub fn add_watcher(&self, target: String) -> usize {
        let mut g = self.lock();
        g.watchers.push(WatchStatus {
            target,
            synced: false,
            error: None,
        });
        g.watchers.len() - 1
    }

    /// A (re-)list started.
    pub fn begin_list(&self, owner: usize) {
        self.lock().relisting.insert(owner, HashSet::new());
    }

    /// A counter that changes whenever the held objects may have changed
    /// (the health checks reuse their series while it stays put).
    pub fn changes(&self) -> u64 {
        self.changes.load(std::sync::atomic::Ordering::Acquire)
    }

    fn changed(&self) {
        self.changes
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// A (re-)list completed: objects of `owner` that were not listed are gone.
    pub fn end_list(&self, owner: usize) {
        self.changed();
        {
            let mut g = self.lock();
            let seen = g.relisting.remove(&owner).unwrap_or_default();
            g.objects
                .retain(|k, o| o.owner != owner || seen.contains(k));
            if let Some(w) = g.watchers.get_mut(owner) {
                w.synced = true;
                w.error = None;
            }
        }
        self.bump();
        self.dirty.notify_one();
    }

    /// Whether the object is held at this version already (a re-list after
    /// `410 Gone` re-sends every object): then it is only marked as listed, and
    /// the caller skips extraction and parsing.
    pub fn current(&self, owner: usize, key: &str, version: &str, live: bool) -> bool {
        let mut g = self.lock();
        let held = g
            .objects
            .get(key)
            .is_some_and(|o| o.owner == owner && !version.is_empty() && &*o.version == version);
        if !held {
            return false;
        }
        if let Some(seen) = g.relisting.get_mut(&owner) {
            seen.insert(key.to_string());
        }
        if live {
            if let Some(w) = g.watchers.get_mut(owner) {
                w.error = None;
            }
        }
        true
    }

    /// Insert or replace an object (an empty summary removes it).
    pub fn upsert(&self, owner: usize, key: String, version: &str, summary: Summary, live: bool) {
        self.changed();
        {
            let mut g = self.lock();
            if let Some(seen) = g.relisting.get_mut(&owner) {
                seen.insert(key.clone());
            }
            if live {
                if let Some(w) = g.watchers.get_mut(owner) {
                    w.error = None;
                }
            }
            if summary.is_empty() {
                g.objects.remove(&key);
            } else {
                g.objects.insert(
                    key,
                    StoredObject {
                        owner,
                        version: version.into(),
                        summary,
                    },
                );
            }
        }
        if live {
            self.dirty.notify_one();
        }
    }

    /// An object was deleted.
    pub fn remove(&self, owner: usize, key: &str) {
        self.changed();
        {
            let mut g = self.lock();
            g.objects.remove(key);
            if let Some(w) = g.watchers.get_mut(owner) {
                w.error = None;
            }
        }
        self.dirty.notify_one();
    }

    /// A watcher failed (it retries on its own).
    pub fn set_error(&self, owner: usize, reason: Reason, message: String) {
        {
            let mut g = self.lock();
            if let Some(w) = g.watchers.get_mut(owner) {
                w.error = Some((reason, message, Instant::now()));
            }
        }
        self.bump();
        self.dirty.notify_one();
    }

    /// The leaf certificate of a Secret's `tls.crt` (`key` = `namespace/name`),
    /// for the health checks (sources/kubernetes/health.rs).
    pub fn tls_leaf(&self, key: &str) -> Leaf {
        let g = self.lock();
        let Some(o) = g.objects.get(key) else {
            return Leaf::Absent;
        };
        let is_tls_crt = |loc: &str| loc.rsplit_once(':').is_some_and(|(_, k)| k == "tls.crt");
        if let Some((_, _, c)) = o
            .summary
            .certs
            .iter()
            .find(|(r, i, _)| *i == 0 && is_tls_crt(&r.location))
        {
            return Leaf::Cert(c.clone());
        }
        if o.summary
            .errors
            .iter()
            .any(|e| is_tls_crt(&e.source.location))
        {
            Leaf::Unreadable
        } else {
            Leaf::NoTlsCrt
        }
    }

    /// Every watcher completed its initial LIST at least once.
    pub fn synced(&self) -> bool {
        self.lock().watchers.iter().all(|w| w.synced)
    }

    /// Record a transport failure (`Some(reason)`) or a re-LIST (`None`) of a
    /// watcher of `resource`, for the next [`Store::drain_transport`].
    pub fn record_transport(
        &self,
        resource: &'static str,
        reason: Option<TransportReason>,
        message: String,
    ) {
        let mut g = match self.transport.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let e = g.entry((resource, reason)).or_insert((0, String::new()));
        e.0 = e.0.saturating_add(1);
        e.1 = crate::model::bounded(&message, crate::model::MAX_MESSAGE_LEN);
    }

    /// Whether watcher `owner` completed a LIST before (a new LIST is a resync).
    pub fn was_synced(&self, owner: usize) -> bool {
        self.lock().watchers.get(owner).is_some_and(|w| w.synced)
    }

    /// Take the recorded transport events, as events of `source_name`.
    pub fn drain_transport(&self, source_name: &str) -> Vec<TransportEvent> {
        let taken = match self.transport.lock() {
            Ok(mut g) => std::mem::take(&mut *g),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        };
        taken
            .into_iter()
            .map(|((resource, reason), (count, message))| TransportEvent {
                source_name: source_name.to_string(),
                resource,
                reason,
                count,
                message,
            })
            .collect()
    }

    /// Number of objects held (benchmarks, tests).
    pub fn len(&self) -> usize {
        self.lock().objects.len()
    }

    /// Whether no object is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wait until every watcher has either synced or failed, at most `max`.
    pub async fn wait_settled(&self, max: Duration) {
        let mut rx = self.status.subscribe();
        let deadline = tokio::time::Instant::now() + max;
        loop {
            {
                let g = self.lock();
                if g.watchers.iter().all(|w| w.synced || w.error.is_some()) {
                    return;
                }
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                _ => return,
            }
        }
    }

    /// Current failure of the source, if any watcher is failing or not synced yet.
    pub fn failure(&self, kind: SourceKind, source_name: &str) -> Option<ErrorEntry> {
        let g = self.lock();
        let mut worst: Option<(Reason, Vec<String>)> = None;
        for w in &g.watchers {
            let problem = match &w.error {
                Some((r, m, at)) if at.elapsed() < ERROR_STALE_AFTER || !w.synced => {
                    Some((*r, format!("{}: {m}", w.target)))
                }
                _ if !w.synced => Some((
                    Reason::Timeout,
                    format!("{}: initial LIST not complete yet", w.target),
                )),
                _ => None,
            };
            if let Some((r, m)) = problem {
                match &mut worst {
                    None => worst = Some((r, vec![m])),
                    Some((_, msgs)) => msgs.push(m),
                }
            }
        }
        let (reason, msgs) = worst?;
        let location = g
            .watchers
            .iter()
            .find(|w| w.error.is_some() || !w.synced)
            .map(|w| w.target.clone())
            .unwrap_or_else(|| source_name.to_string());
        Some(ErrorEntry::new(
            SourceRef::new(kind, source_name, location),
            reason,
            msgs.join("; "),
        ))
    }

    /// The objects for one scan: unchanged ones (same version as the scraper's
    /// cache) as [`Content::Unchanged`], changed ones as [`Content::Parsed`]
    /// (shared summaries). Objects with a `digest` are reported once per
    /// distinct digest (the first by key).
    pub fn objects(&self, ctx: &ScanCtx) -> Vec<Object> {
        let g = self.lock();
        let mut reps: BTreeMap<&[u8; 32], &str> = BTreeMap::new();
        for (k, o) in &g.objects {
            if let Some(d) = &o.summary.digest {
                let e = reps.entry(d).or_insert(k);
                if k.as_str() < *e {
                    *e = k;
                }
            }
        }
        let mut out = Vec::with_capacity(g.objects.len());
        for (key, o) in &g.objects {
            if let Some(d) = &o.summary.digest {
                if reps.get(&**d).copied() != Some(key.as_str()) {
                    continue;
                }
            }
            let content = if ctx
                .prev_versions
                .get(key)
                .is_some_and(|v| **v == *o.version)
            {
                Content::Unchanged
            } else {
                Content::Parsed {
                    certs: o.summary.certs.clone(),
                    errors: o.summary.errors.to_vec(),
                }
            };
            out.push(Object {
                key: key.clone(),
                version: Some(o.version.to_string()),
                content,
            });
            // Each CRL is an object of its own, handed over as fresh DER (the
            // scraper parses CRLs; sources may not use the checks).
            for (i, crl) in o.summary.crls.iter().enumerate() {
                let ckey = format!("{key}#crl{i}");
                let content = if ctx
                    .prev_versions
                    .get(&ckey)
                    .is_some_and(|v| **v == *o.version)
                {
                    Content::Unchanged
                } else {
                    Content::Fresh {
                        items: vec![crate::sources::Item {
                            sref: (*crl.source).clone(),
                            data: crl.der.to_vec(),
                            hint: crate::parse::FormatHint::Der,
                        }],
                        errors: Vec::new(),
                    }
                };
                out.push(Object {
                    key: ckey,
                    version: Some(o.version.to_string()),
                    content,
                });
            }
        }
        out
    }
}

/// A store shared by a source and its watcher tasks.
pub type SharedStore = Arc<Store>;

#[cfg(test)]
mod tests {
    use super::super::extract::StoredItem;
    use super::*;
    use crate::parse::FormatHint;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "store-test shared ca.crt");
        p.self_signed(&key).unwrap().pem()
    }

    fn secret(ns: &str, pem: &str) -> Extracted {
        let sref = SourceRef::new(
            SourceKind::KubernetesSecret,
            "k8s",
            format!("{ns}/web:ca.crt"),
        )
        .with_label("secret_namespace", ns);
        Extracted {
            items: vec![StoredItem {
                sref,
                data: pem.as_bytes().to_vec(),
                hint: FormatHint::Pem,
            }],
            errors: Vec::new(),
            digest: None,
        }
    }

    /// A `ca.crt` repeated in many Secrets is one summary: each Secret keeps
    /// its own location, all share the parsed certificate.
    #[test]
    fn a_repeated_ca_crt_is_one_summary() {
        let pem = ca_pem();
        let opts = ParseOptions::default();
        let a = Summary::parse(secret("a", &pem), &opts);
        let b = Summary::parse(secret("b", &pem), &opts);
        assert_eq!((a.certs.len(), b.certs.len()), (1, 1));
        assert!(Arc::ptr_eq(&a.certs[0].2, &b.certs[0].2), "parsed twice");
        assert_eq!(a.certs[0].0.location, "a/web:ca.crt");
        assert_eq!(b.certs[0].0.location, "b/web:ca.crt");
        let store = Store::default();
        let w = store.add_watcher("secrets".into());
        store.upsert(w, "a/web".into(), "1", a, false);
        store.upsert(w, "b/web".into(), "1", b, false);
        let objs = store.objects(&ScanCtx {
            now: chrono::Utc::now(),
            prev_versions: Arc::default(),
        });
        let certs: Vec<_> = objs
            .iter()
            .filter_map(|o| match &o.content {
                Content::Parsed { certs, .. } => Some(certs[0].2.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(certs.len(), 2);
        assert!(Arc::ptr_eq(&certs[0], &certs[1]));
    }
}
