//! The in-memory inventory the watchers maintain: per object its resourceVersion
//! and extracted certificate items (never the object itself), plus the state of
//! every watcher (synced, last error). Certificate bytes are released as soon as
//! the scraper has cached their parse result (it reports the same version back in
//! `ScanCtx::prev_versions`), so in steady state the store holds only identities,
//! versions and labels.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use crate::model::{ErrorEntry, Reason, SourceKind, SourceRef};
use crate::sources::{Content, Item, Object, ScanCtx};

use super::extract::Extracted;

/// An error older than this, with no newer one, no longer marks the source down
/// (kube-runtime retries with a backoff of at most ~30 s, so a persistent failure
/// repeats well within this window).
pub const ERROR_STALE_AFTER: Duration = Duration::from_secs(75);

#[derive(Debug)]
struct StoredObject {
    owner: usize,
    version: String,
    x: Extracted,
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

/// Shared between the watcher tasks (writers) and `scan` (reader).
#[derive(Debug)]
pub struct Store {
    inner: Mutex<Inner>,
    /// Bumped on every watcher status change (scan waits for the initial sync).
    status: watch::Sender<u64>,
    /// Fired on object changes; debounced into the source's change signal.
    pub dirty: Notify,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            inner: Mutex::new(Inner::default()),
            status: watch::channel(0).0,
            dirty: Notify::new(),
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

    /// A (re-)list completed: objects of `owner` that were not listed are gone.
    pub fn end_list(&self, owner: usize) {
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

    /// Insert or replace an object (an empty extraction removes it).
    pub fn upsert(&self, owner: usize, key: String, version: String, x: Extracted, live: bool) {
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
            if x.items.is_empty() && x.errors.is_empty() {
                g.objects.remove(&key);
            } else if g.objects.get(&key).is_none_or(|o| o.version != version) {
                g.objects.insert(key, StoredObject { owner, version, x });
            }
        }
        if live {
            self.dirty.notify_one();
        }
    }

    /// An object was deleted.
    pub fn remove(&self, owner: usize, key: &str) {
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
    /// cache) as [`Content::Unchanged`] — their bytes are released now — and
    /// changed ones with their items. Objects with a `digest` are reported once
    /// per distinct digest (the first by key).
    pub fn objects(&self, ctx: &ScanCtx, kind: SourceKind, source_name: &str) -> Vec<Object> {
        let mut g = self.lock();
        let mut reps: BTreeMap<[u8; 32], String> = BTreeMap::new();
        for (k, o) in &g.objects {
            if let Some(d) = o.x.digest {
                let e = reps.entry(d).or_insert_with(|| k.clone());
                if k < e {
                    *e = k.clone();
                }
            }
        }
        let mut out = Vec::with_capacity(g.objects.len());
        for (key, o) in g.objects.iter_mut() {
            if let Some(d) = o.x.digest {
                if reps.get(&d) != Some(key) {
                    continue;
                }
            }
            if ctx.prev_versions.get(key) == Some(&o.version) {
                for it in &mut o.x.items {
                    if let Some(mut d) = it.data.take() {
                        d.fill(0);
                    }
                }
                out.push(Object {
                    key: key.clone(),
                    version: Some(o.version.clone()),
                    content: Content::Unchanged,
                });
                continue;
            }
            let mut items = Vec::with_capacity(o.x.items.len());
            let mut errors = o.x.errors.clone();
            for it in &o.x.items {
                match &it.data {
                    Some(d) => items.push(Item {
                        sref: it.sref.clone(),
                        data: d.clone(),
                        hint: it.hint,
                    }),
                    None => errors.push(ErrorEntry::new(
                        it.sref.clone(),
                        Reason::ReadFailed,
                        "certificate data was released after caching and the cache was reset; it is read again at the next resync",
                    )),
                }
            }
            out.push(Object {
                key: key.clone(),
                version: Some(o.version.clone()),
                content: Content::Fresh { items, errors },
            });
        }
        let _ = (kind, source_name);
        out
    }
}

/// A store shared by a source and its watcher tasks.
pub type SharedStore = Arc<Store>;
