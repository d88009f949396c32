//! Change notification for a file source (`serve` only): the watcher slot, the
//! replay of the last complete, fully watched walk, and when a scan may answer
//! from it instead of walking (see the module docs of `sources::files`).

use super::*;

/// The watcher of a file source and the walk result it may vouch for.
#[derive(Default)]
pub(super) struct WatchSlot {
    pub(super) rescan: Option<RescanSignal>,
    pub(super) watcher: Option<Arc<Watcher>>,
    pub(super) replay: Option<Replay>,
    /// A watcher that could not be created was logged.
    pub(super) warned: bool,
    /// Test hook: registrations fail.
    pub(super) fail_adds: bool,
}

/// The last complete, fully watched walk, as the next scans would see it when
/// nothing changed: every object with a version as [`Content::Unchanged`], the
/// others (object errors without a version) as they were.
pub(super) struct Replay {
    pub(super) objects: Vec<Object>,
    pub(super) versioned: usize,
    /// When the walk started (for `watch.verify_interval`).
    pub(super) started: Instant,
    /// The watcher's event count when the walk started.
    pub(super) events: u64,
}

impl FileSource {
    /// The watcher, created on first use once a rescan signal is attached.
    pub(super) fn watcher(&self) -> Option<Arc<Watcher>> {
        let mut slot = lock(&self.watch);
        let rescan = slot.rescan.clone()?;
        let enabled = self.cfg.watch.enabled;
        if enabled == WatchEnabled::Off {
            return None;
        }
        if let Some(w) = &slot.watcher {
            if !w.is_broken() {
                return Some(w.clone());
            }
            slot.watcher = None;
            slot.replay = None;
        }
        match Watcher::new(&self.cfg.name, rescan, self.cfg.watch.debounce) {
            Ok(w) => {
                w.set_fail_adds(slot.fail_adds);
                debug!(source = %self.cfg.name, "watching for file changes (inotify)");
                let w = Arc::new(w);
                slot.watcher = Some(w.clone());
                Some(w)
            }
            Err(e) => {
                let quiet = enabled == WatchEnabled::Auto && e.kind() == io::ErrorKind::Unsupported;
                if slot.warned || quiet {
                    debug!(source = %self.cfg.name, "no file change notification: {e}");
                } else {
                    slot.warned = true;
                    warn!(source = %self.cfg.name, "cannot watch for file changes ({e}); the source walks every scan");
                }
                None
            }
        }
    }

    /// The previous walk's result, when the watcher vouches that nothing it
    /// depends on changed since that walk started (see [`crate::sources::fswatch`]).
    pub(super) fn try_replay(
        &self,
        w: &Watcher,
        prev: &HashMap<String, String>,
    ) -> Option<SourceOutput> {
        let slot = lock(&self.watch);
        let r = slot.replay.as_ref()?;
        if r.started.elapsed() >= self.cfg.watch.verify_interval {
            return None;
        }
        // Reads what is pending first: a change made before this call is counted.
        if w.events_now() != r.events || w.is_broken() {
            return None;
        }
        // The scraper must hold exactly what that walk reported (it may have
        // dropped the walk's result, e.g. on a timeout).
        if prev.len() != r.versioned
            || r.objects.iter().any(|o| match &o.version {
                Some(v) => prev.get(&o.key) != Some(v),
                None => false,
            })
        {
            return None;
        }
        Some(SourceOutput {
            findings: Vec::new(),
            series: Default::default(),
            objects: r.objects.clone(),
            failure: None,
        })
    }
}

/// The replay form of a walk's objects and how many have a version; `None` when
/// an object cannot be replayed (content without a version).
pub(super) fn replay_of(objects: &[Object]) -> Option<(Vec<Object>, usize)> {
    let mut versioned = 0;
    let out = objects
        .iter()
        .map(|o| match (&o.version, &o.content) {
            (Some(v), _) => {
                versioned += 1;
                Some(Object {
                    key: o.key.clone(),
                    version: Some(v.clone()),
                    content: Content::Unchanged,
                })
            }
            (None, Content::Fresh { items, errors }) if items.is_empty() => Some(Object {
                key: o.key.clone(),
                version: None,
                content: Content::Fresh {
                    items: Vec::new(),
                    errors: errors.clone(),
                },
            }),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some((out, versioned))
}
