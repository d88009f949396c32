//! The host-file source: `kind: file` and `kind: kubeconfig`.
//!
//! # Walk
//!
//! Every configured path (after `~` expansion) is, in order:
//! * an existing path (file, directory or symlink) → taken literally: a file is one
//!   object, a directory is walked recursively. A configured root is always resolved
//!   even when it is a symlink and `follow_symlinks` is off (the user named it);
//! * otherwise, when it holds glob metacharacters ([`super::glob`]) → walked from its
//!   literal prefix; files matching the glob are objects, and a *directory* matching the
//!   glob is walked recursively (so `/etc/*/pki` scans every file below each `pki`);
//! * otherwise missing → skipped quietly (`debug!`), never an error.
//!
//! `exclude` globs are checked on every path met (roots included); an excluded
//! directory is not descended. An exclude pattern without `/` is matched against
//! the file name only (`*.key`), an absolute one against the whole path, and a
//! relative one with `/` (`**/*.cnf`, `private/*.pem`) against any tail of the path.
//!
//! The walk is iterative (no recursion, whatever the depth) and reads each
//! directory's entries into a list sorted by name before descending, so objects
//! come out in a deterministic order and at most one directory handle is open at
//! a time.
//!
//! # Look-ahead (performance)
//!
//! Once a directory is listed, the system calls for its entries are done ahead,
//! split over up to [`LOOKAHEAD_THREADS`] threads (a directory of fewer than
//! [`LOOKAHEAD_MIN`] entries stays on the walking thread): each entry is stat'ed
//! through the directory's handle (`DirEntry::metadata`, no lookup of the full
//! path), and a regular file that is not excluded, is selected, and whose version
//! differs from the previous scan is read. The walk itself then runs in order on
//! these results, with the same decisions as without look-ahead (symlinks are
//! followed in order, duplicates by device/inode are dropped in order). A file read
//! ahead but then not used (a second route to the same inode, the walk stopped) has
//! its buffer zeroed. The directory's handle is closed once the look-ahead is done.
//! Only regular files are read; sockets, FIFOs and devices are skipped. Files are
//! opened with `O_NONBLOCK` and re-checked with `fstat` (same device/inode, still a
//! regular file), so a file swapped for a FIFO between `stat` and `open` is never
//! blocked on. File types are never guessed from extensions: every regular file is
//! handed to the parser, which ignores private-key-only content.
//!
//! # Symlinks
//!
//! With `follow_symlinks` (default), symlinks met during the walk are followed.
//! Directories are tracked by (device, inode, walk mode) in a visited set, so a
//! symlink back to an ancestor (a loop such as Debian's `/usr/bin/X11 -> .`) or a
//! second route to an already walked directory is **skipped with a `debug!`**, not
//! reported: loops are common and harmless on real systems. A symlink whose target
//! does not exist, or cannot be resolved (`a -> b -> a`, ELOOP), is an object error
//! `broken_symlink`. Without `follow_symlinks`, symlinks met during the walk are
//! skipped (`debug!`), broken or not.
//!
//! Files are deduplicated by (device, inode): a file reached twice (two roots, a
//! symlink and its target) is one object, under the first path reached.
//!
//! # Objects, keys, versions
//!
//! An object is a file. Its key is the path as reached; valid UTF-8 paths without
//! backslashes are used as is, any other path is escaped (`\\` and `\xHH` for bytes
//! that are not UTF-8), which keeps keys unique for non-UTF-8 names. Locations and
//! labels use the lossy display of the path.
//!
//! The version is `dev:ino:size:mtime_ns:ctime_ns` of the (followed) file; when the
//! previous scan's version is the same, [`Content::Unchanged`] is returned without
//! opening the file. For a kubeconfig, the version also covers each referenced
//! file (`|dev:ino:size:mtime_ns:ctime_ns`, or `|-` when it cannot be stat'ed), using
//! the list of references remembered from the last read, so a changed `ca.crt`
//! triggers a re-read.
//!
//! # Change notification (`serve` only)
//!
//! Once the scraper attaches a rescan signal ([`Source::attach_rescan`], done by
//! `serve` only) and `watch.enabled` is not `false`, the source creates a
//! [`Watcher`] (Linux inotify, [`super::fswatch`]) on its next scan. Each walk then
//! registers what it depends on before reading it, and records its result as a
//! *replay* (every object with a version as [`Content::Unchanged`], version-less
//! error objects as they were) when the walk was complete: no listing or `stat`
//! error, no file that vanished, no `max_files` stop, no cancellation, every root
//! readable, every watch registered. A later scan returns the replay without
//! walking when no relevant event was read since that walk started (pending events
//! are read first), the watcher is healthy, the walk is younger than
//! `watch.verify_interval`, and the scraper's `prev_versions` are exactly the
//! replay's (the scraper may have dropped a walk's result). Otherwise it walks.
//! [`FileSource::stats`] counts walks, replays and directory listings.
//!
//! # Errors
//!
//! Per-object problems are object errors (`Content::Fresh` with no items):
//! `permission_denied` (unreadable file, or unreadable directory with the directory
//! as location), `too_large` (decided from metadata, the file is never read; also
//! when it grew past the cap while being read), `broken_symlink`, `read_failed`.
//! When more than `max_files` directory entries are met, the walk stops and one
//! `read_failed` error "file limit reached" is reported (objects found so far are
//! kept). A source-level failure is reported only when every configured root that
//! exists could not be read at all (stat or directory listing failed).
//!
//! # Kubeconfigs
//!
//! A `kind: kubeconfig` source treats every file as a kubeconfig; a `kind: file`
//! source treats a file as one when its content looks like one
//! ([`kubeconfig::looks_like_kubeconfig`]) and parses as YAML (otherwise it is a plain
//! file for the certificate parser). Per kubeconfig file, one object is emitted with one
//! [`Item`] per certificate field (see [`kubeconfig::split`]):
//!
//! * location `<kubeconfig path>:<clusters|users>/<entry name>/<field>`, e.g.
//!   `/root/.kube/config:users/admin/client-certificate-data`;
//! * labels `filename`, `filepath` (the kubeconfig's, or for a referenced file the
//!   referenced file's resolved path and name), `embedded_kind` (`cluster`/`user`),
//!   `embedded_key` (entry name).
//!
//! Referenced files (`certificate-authority: ca.crt`) are resolved relative to the
//! kubeconfig's directory and read under the same rules (size cap, regular files only,
//! broken symlink and permission errors); a missing referenced file is a `not_found`
//! error. `client-key-data` is never decoded and `client-key` files are never read;
//! the kubeconfig's bytes are zeroed once split.
//!
//! The [`SourceRef::kind`] of every item and error is the source's configured kind
//! (`file` or `kubeconfig`), so the scraper's per-kind counters stay consistent; a
//! kubeconfig found by a `file` source is recognisable by its `embedded_*` labels.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tracing::{debug, warn};

use crate::config::{FileSourceConfig, WatchEnabled};
use crate::model::{ErrorEntry, Reason, SourceKind, SourceRef};
use crate::parse::kubeconfig::{self, EntryContent};
use crate::parse::{FormatHint, ParseOptions};

use super::fswatch::{Session, WatchStats, Watcher};
use super::glob;
use super::{BoxFuture, Content, Item, Object, RescanSignal, ScanCtx, Source, SourceOutput};

/// Key of the object carrying the "file limit reached" error (NUL cannot be in a path).
const LIMIT_KEY: &str = "\u{0}file-limit";

/// `O_NONBLOCK` for the platforms we know; opening a FIFO with it never blocks.
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "arm",
        target_arch = "riscv64",
        target_arch = "powerpc64",
        target_arch = "powerpc",
        target_arch = "s390x",
        target_arch = "loongarch64"
    )
))]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
const O_NONBLOCK: i32 = 0x0004;
#[cfg(not(any(
    all(
        target_os = "linux",
        any(
            target_arch = "x86_64",
            target_arch = "x86",
            target_arch = "aarch64",
            target_arch = "arm",
            target_arch = "riscv64",
            target_arch = "powerpc64",
            target_arch = "powerpc",
            target_arch = "s390x",
            target_arch = "loongarch64"
        )
    ),
    target_os = "macos",
    target_os = "freebsd"
)))]
const O_NONBLOCK: i32 = 0;

pub struct FileSource {
    cfg: FileSourceConfig,
    opts: ParseOptions,
    /// Files referenced by kubeconfigs, by kubeconfig object key, as of the last read.
    refs: Mutex<HashMap<String, Vec<PathBuf>>>,
    /// Change notification (only once a rescan signal is attached: `serve`).
    watch: Mutex<WatchSlot>,
    walks: AtomicU64,
    replays: AtomicU64,
    dirs_listed: AtomicU64,
}

/// The watcher of a file source and the walk result it may vouch for.
#[derive(Default)]
struct WatchSlot {
    rescan: Option<RescanSignal>,
    watcher: Option<Arc<Watcher>>,
    replay: Option<Replay>,
    /// A watcher that could not be created was logged.
    warned: bool,
    /// Test hook: registrations fail.
    fail_adds: bool,
}

/// The last complete, fully watched walk, as the next scans would see it when
/// nothing changed: every object with a version as [`Content::Unchanged`], the
/// others (object errors without a version) as they were.
struct Replay {
    objects: Vec<Object>,
    versioned: usize,
    /// When the walk started (for `watch.verify_interval`).
    started: Instant,
    /// The watcher's event count when the walk started.
    events: u64,
}

/// Counters of a file source (tests, benchmarks): work done, not time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileSourceStats {
    /// Full walks done.
    pub walks: u64,
    /// Scans answered from the previous walk because no change was notified.
    pub replays: u64,
    /// Directories listed by walks.
    pub dirs_listed: u64,
    /// A watcher exists.
    pub watching: bool,
    pub watch: WatchStats,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FileSource {
    pub fn new(cfg: FileSourceConfig) -> Self {
        let opts = ParseOptions {
            pkcs12_passwords: cfg.pkcs12_passwords.clone(),
            try_empty_password: cfg.try_empty_password,
            keystore_passwords: cfg.keystore_passwords.clone(),
        };
        FileSource {
            cfg,
            opts,
            refs: Mutex::new(HashMap::new()),
            watch: Mutex::new(WatchSlot::default()),
            walks: AtomicU64::new(0),
            replays: AtomicU64::new(0),
            dirs_listed: AtomicU64::new(0),
        }
    }

    /// Work counters (tests, benchmarks).
    pub fn stats(&self) -> FileSourceStats {
        let slot = lock(&self.watch);
        FileSourceStats {
            walks: self.walks.load(Ordering::SeqCst),
            replays: self.replays.load(Ordering::SeqCst),
            dirs_listed: self.dirs_listed.load(Ordering::SeqCst),
            watching: slot.watcher.is_some(),
            watch: slot.watcher.as_ref().map(|w| w.stats()).unwrap_or_default(),
        }
    }

    /// Test hook: make every watch registration fail, as when the inotify watch
    /// limit is reached (applies to the current and future watchers).
    #[doc(hidden)]
    pub fn simulate_watch_failure(&self, on: bool) {
        let mut slot = lock(&self.watch);
        slot.fail_adds = on;
        if let Some(w) = &slot.watcher {
            w.set_fail_adds(on);
        }
    }

    /// The watcher, created on first use once a rescan signal is attached.
    fn watcher(&self) -> Option<Arc<Watcher>> {
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
    /// depends on changed since that walk started (see [`super::fswatch`]).
    fn try_replay(&self, w: &Watcher, prev: &HashMap<String, String>) -> Option<SourceOutput> {
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
            objects: r.objects.clone(),
            failure: None,
        })
    }

    /// The whole scan, synchronously (run inside `spawn_blocking`).
    fn scan_blocking(
        &self,
        prev: &HashMap<String, String>,
        cancel: &AtomicBool,
        watcher: Option<&Watcher>,
    ) -> SourceOutput {
        self.walks.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let session = watcher.map(|w| w.begin());
        let old_refs = std::mem::take(&mut *self.refs.lock().unwrap_or_else(|e| e.into_inner()));
        let mut walk = Walk {
            watch: session,
            incomplete: false,
            src: self,
            prev,
            cancel,
            excludes: self.cfg.exclude.iter().map(glob::expand_tilde).collect(),
            patterns: self.cfg.paths.iter().map(glob::expand_tilde).collect(),
            seen_files: HashSet::new(),
            visited_dirs: HashSet::new(),
            entries: 0,
            stopped: false,
            objects: Vec::new(),
            old_refs,
            new_refs: HashMap::new(),
            stack: Vec::new(),
        };
        let mut existing_roots = 0usize;
        let mut failed_roots: Vec<(String, ErrorEntry)> = Vec::new();
        for p in &self.cfg.paths {
            if walk.stopped {
                break;
            }
            match walk.root(p) {
                RootOutcome::Missing => {}
                RootOutcome::Walked => existing_roots += 1,
                RootOutcome::Failed(key, e) => {
                    existing_roots += 1;
                    failed_roots.push((key, e));
                }
            }
        }
        let Walk {
            mut objects,
            new_refs,
            watch,
            incomplete,
            stopped,
            ..
        } = walk;
        dedup_keys(&mut objects);
        *self.refs.lock().unwrap_or_else(|e| e.into_inner()) = new_refs;
        let complete = !incomplete && !stopped && failed_roots.is_empty();
        if let Some(session) = watch {
            let reusable = complete && !session.failed();
            let events = session.events_at_start();
            session.finish(complete);
            let replay = if reusable {
                replay_of(&objects).map(|(objects, versioned)| Replay {
                    objects,
                    versioned,
                    started,
                    events,
                })
            } else {
                None
            };
            lock(&self.watch).replay = replay;
        }
        if existing_roots > 0 && failed_roots.len() == existing_roots {
            let (_, first) = failed_roots.swap_remove(0);
            let message = format!(
                "no configured path could be read ({} failed): {}",
                existing_roots, first.message
            );
            return SourceOutput {
                objects: Vec::new(),
                failure: Some(ErrorEntry::new(first.source, first.reason, message)),
            };
        }
        for (key, e) in failed_roots {
            objects.push(error_object(key, e));
        }
        SourceOutput {
            objects,
            failure: None,
        }
    }

    fn sref(&self, location: impl Into<String>) -> SourceRef {
        SourceRef::new(self.cfg.kind, &self.cfg.name, location)
    }

    fn file_sref(&self, path: &Path) -> SourceRef {
        self.sref(show(path))
            .with_label("filename", basename(path))
            .with_label("filepath", show(path))
    }
}

impl Source for FileSource {
    fn kinds(&self) -> Vec<SourceKind> {
        vec![self.cfg.kind]
    }
    fn name(&self) -> &str {
        &self.cfg.name
    }
    fn parse_options(&self) -> &ParseOptions {
        &self.opts
    }
    fn scan(self: Arc<Self>, ctx: ScanCtx) -> BoxFuture<SourceOutput> {
        Box::pin(async move {
            let watcher = self.watcher();
            if let Some(w) = &watcher {
                if let Some(out) = self.try_replay(w, &ctx.prev_versions) {
                    self.replays.fetch_add(1, Ordering::Relaxed);
                    debug!(source = %self.cfg.name, "no change notified since the last walk: not walking");
                    return out;
                }
            }
            // Dropping the future (scan timeout) stops the blocking walk.
            let guard = CancelOnDrop(Arc::new(AtomicBool::new(false)));
            let cancel = guard.0.clone();
            let me = self.clone();
            let prev = ctx.prev_versions.clone();
            let res = tokio::task::spawn_blocking(move || {
                me.scan_blocking(&prev, &cancel, watcher.as_deref())
            })
            .await;
            drop(guard);
            match res {
                Ok(out) => out,
                Err(e) => SourceOutput {
                    objects: Vec::new(),
                    failure: Some(ErrorEntry::new(
                        self.sref(&self.cfg.name),
                        Reason::SourceUnavailable,
                        format!("file walk task failed: {e}"),
                    )),
                },
            }
        })
    }

    fn attach_rescan(&self, signal: RescanSignal) {
        let mut slot = lock(&self.watch);
        if let Some(w) = &slot.watcher {
            w.set_rescan(signal.clone());
        }
        slot.rescan = Some(signal);
    }
}

/// The replay form of a walk's objects and how many have a version; `None` when
/// an object cannot be replayed (content without a version).
fn replay_of(objects: &[Object]) -> Option<(Vec<Object>, usize)> {
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

struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// How entries below a directory are selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Mode {
    /// Every file below.
    All,
    /// Only paths matching configured path number `i` (a glob).
    Glob(usize),
}

struct Frame {
    dir: PathBuf,
    mode: Mode,
    /// The directory's entries, sorted by name, with their look-ahead results.
    names: std::vec::IntoIter<Ahead>,
    /// The listing stopped early because of `max_files`.
    truncated: bool,
}

enum RootOutcome {
    Missing,
    Walked,
    /// The root's object key and its error.
    Failed(String, ErrorEntry),
}

struct Walk<'a> {
    src: &'a FileSource,
    /// Watch registrations of this walk (a watcher exists).
    watch: Option<Session<'a>>,
    /// Something went wrong that the watcher cannot vouch for (a listing or stat
    /// error, a file that vanished): the walk's result is not reused.
    incomplete: bool,
    prev: &'a HashMap<String, String>,
    cancel: &'a AtomicBool,
    excludes: Vec<OsString>,
    /// `cfg.paths` after `~` expansion (glob patterns by index).
    patterns: Vec<OsString>,
    seen_files: HashSet<(u64, u64)>,
    visited_dirs: HashSet<(u64, u64, Mode)>,
    /// Directory entries met so far (bounded by `max_files`).
    entries: usize,
    stopped: bool,
    objects: Vec<Object>,
    old_refs: HashMap<String, Vec<PathBuf>>,
    new_refs: HashMap<String, Vec<PathBuf>>,
    stack: Vec<Frame>,
}

/// A read failure: reason + bounded message.
type ReadErr = (Reason, String);

/// Threads (the walking one included) that do one directory's look-ahead.
pub const LOOKAHEAD_THREADS: usize = 4;
/// Directories with fewer entries are looked ahead on the walking thread only.
pub const LOOKAHEAD_MIN: usize = 64;

/// A buffer of file content that is zeroed when dropped unused (it may hold keys).
struct Wipe(Vec<u8>);

impl Wipe {
    fn take(mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

impl Drop for Wipe {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}

/// System calls done ahead for one directory entry (see the module docs).
struct Ahead {
    path: PathBuf,
    /// The path matches an `exclude` pattern (nothing else was done).
    excluded: bool,
    /// `symlink_metadata(path)`; `None` when the walk was cancelled.
    lmeta: Option<io::Result<Metadata>>,
    /// Set for a regular file (not a symlink) that is selected.
    file: Option<AheadFile>,
}

/// A regular file's key, version and, when it changed since the last scan, content.
struct AheadFile {
    key: String,
    base: String,
    read: Option<Result<Wipe, ReadErr>>,
}

/// What the look-ahead threads share (read-only).
struct Lookahead<'a> {
    excludes: &'a [OsString],
    pattern: Option<&'a OsString>,
    prev: &'a HashMap<String, String>,
    old_refs: &'a HashMap<String, Vec<PathBuf>>,
    max_file_size: u64,
    cancel: &'a AtomicBool,
}

impl Lookahead<'_> {
    fn run(&self, dir: &Path, name: &OsString, dirent: &fs::DirEntry) -> Ahead {
        let path = dir.join(name);
        let mut ahead = Ahead {
            excluded: is_excluded(self.excludes, &path),
            path,
            lmeta: None,
            file: None,
        };
        if ahead.excluded || self.cancel.load(Ordering::Relaxed) {
            return ahead;
        }
        // Same as `symlink_metadata(path)`, through the directory's handle.
        let lmeta = dirent.metadata();
        if let Ok(m) = &lmeta {
            let selected = self
                .pattern
                .is_none_or(|pat| glob::matches(pat, &ahead.path));
            if m.is_file() && selected {
                let key = path_key(&ahead.path);
                let base = meta_version(m);
                // A file with remembered references (a kubeconfig) is left to the
                // walk, which knows its full version.
                let read = (self.prev.get(&key) != Some(&base)
                    && !self.old_refs.contains_key(&key))
                .then(|| read_regular(&ahead.path, m, self.max_file_size).map(Wipe));
                ahead.file = Some(AheadFile { key, base, read });
            }
        }
        ahead.lmeta = Some(lmeta);
        ahead
    }

    /// Every entry of one directory listing, in order. The listing is cut into
    /// blocks that the threads claim one at a time, so a slow thread (or one
    /// that also has other work) does not hold up the rest.
    fn run_all(&self, dir: &Path, names: &[(OsString, fs::DirEntry)]) -> Vec<Ahead> {
        const BLOCK: usize = 32;
        let threads = if names.len() < LOOKAHEAD_MIN {
            1
        } else {
            super::available_cores().clamp(1, LOOKAHEAD_THREADS)
        };
        let run_block = |b: usize| -> Vec<Ahead> {
            names
                .chunks(BLOCK)
                .nth(b)
                .unwrap_or_default()
                .iter()
                .map(|(n, e)| self.run(dir, n, e))
                .collect()
        };
        if threads == 1 {
            return names.iter().map(|(n, e)| self.run(dir, n, e)).collect();
        }
        let blocks = names.len().div_ceil(BLOCK);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let b = next.fetch_add(1, Ordering::Relaxed);
                if b >= blocks {
                    return done;
                }
                done.push((b, run_block(b)));
            }
        };
        let mut done: Vec<(usize, Vec<Ahead>)> = std::thread::scope(|scope| {
            // A helper that cannot be started just leaves more blocks to this thread.
            let helpers: Vec<_> = (1..threads)
                .filter_map(|_| {
                    std::thread::Builder::new()
                        .name("certvigil-walk".into())
                        .spawn_scoped(scope, work)
                        .ok()
                })
                .collect();
            let mut done = work();
            for h in helpers {
                if let Ok(v) = h.join() {
                    done.extend(v);
                }
            }
            done
        });
        done.sort_unstable_by_key(|(b, _)| *b);
        // A block lost with a helper that panicked is redone here.
        let mut out = Vec::with_capacity(names.len());
        let mut expect = 0;
        for (b, v) in done {
            while expect < b {
                out.extend(run_block(expect));
                expect += 1;
            }
            out.extend(v);
            expect = b + 1;
        }
        while expect < blocks {
            out.extend(run_block(expect));
            expect += 1;
        }
        out
    }
}

impl Walk<'_> {
    fn cfg(&self) -> &FileSourceConfig {
        &self.src.cfg
    }

    fn excluded(&self, path: &Path) -> bool {
        is_excluded(&self.excludes, path)
    }

    /// Objects are deduplicated by key (first wins) once the walk is over, in
    /// [`dedup_keys`], rather than here: that avoids a copy of every key.
    fn push_object(&mut self, obj: Object) {
        self.objects.push(obj);
    }

    fn push_error(&mut self, path: &Path, reason: Reason, message: impl AsRef<str>) {
        let e = ErrorEntry::new(self.src.file_sref(path), reason, message);
        self.push_object(error_object(path_key(path), e));
    }

    fn root(&mut self, configured: &str) -> RootOutcome {
        let expanded = glob::expand_tilde(configured);
        let path = PathBuf::from(&expanded);
        if self.excluded(&path) {
            debug!(path = %show(&path), "configured path excluded");
            return RootOutcome::Missing;
        }
        if let Some(s) = self.watch.as_mut() {
            // Before anything is stat'ed: the root (or glob base) appearing,
            // disappearing or being replaced is an event.
            s.watch_path(&path);
            if glob::is_glob(&expanded) {
                let prefix = glob::literal_prefix(&expanded);
                if !prefix.as_os_str().is_empty() {
                    s.watch_path(&prefix);
                }
            }
        }
        match fs::symlink_metadata(&path) {
            Ok(_) => self.literal_root(&path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !glob::is_glob(&expanded) {
                    debug!(path = %show(&path), "configured path does not exist; skipped");
                    return RootOutcome::Missing;
                }
                let prefix = glob::literal_prefix(&expanded);
                let idx = self
                    .cfg()
                    .paths
                    .iter()
                    .position(|p| p == configured)
                    .unwrap_or(0);
                let start = if prefix.as_os_str().is_empty() {
                    PathBuf::new()
                } else {
                    prefix
                };
                match fs::metadata(fs_path(&start)) {
                    Ok(m) if m.is_dir() => self.walk_dir_root(&start, &m, Mode::Glob(idx)),
                    Ok(_) => RootOutcome::Missing,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        debug!(path = %show(&start), "glob prefix does not exist; skipped");
                        RootOutcome::Missing
                    }
                    Err(e) => self.root_failed(&start, &e),
                }
            }
            Err(e) => self.root_failed(&path, &e),
        }
    }

    fn root_failed(&mut self, path: &Path, e: &io::Error) -> RootOutcome {
        self.incomplete = true;
        RootOutcome::Failed(
            path_key(path),
            ErrorEntry::new(
                self.src.file_sref(path),
                Reason::from_io(e),
                format!("cannot access {}: {e}", show(path)),
            ),
        )
    }

    /// An existing configured path: always resolved, even when it is a symlink.
    fn literal_root(&mut self, path: &Path) -> RootOutcome {
        if let Some(s) = self.watch.as_mut() {
            s.watch_link_chain(path);
        }
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                if e.kind() == io::ErrorKind::PermissionDenied {
                    return self.root_failed(path, &e);
                }
                // It exists (lstat succeeded) but cannot be resolved: a broken symlink.
                self.push_error(
                    path,
                    Reason::BrokenSymlink,
                    format!("broken symlink {}: {e}", show(path)),
                );
                return RootOutcome::Walked;
            }
        };
        if meta.is_dir() {
            self.walk_dir_root(path, &meta, Mode::All)
        } else if meta.is_file() {
            self.file(path, &meta, None);
            RootOutcome::Walked
        } else {
            debug!(path = %show(path), "not a regular file or directory; skipped");
            RootOutcome::Walked
        }
    }

    fn walk_dir_root(&mut self, dir: &Path, meta: &Metadata, mode: Mode) -> RootOutcome {
        match self.enter_dir(dir, meta, mode) {
            Ok(()) => {}
            Err(e) => return self.root_failed(dir, &e),
        }
        self.drain();
        RootOutcome::Walked
    }

    /// Read a directory's names and push a frame. `Ok` also when already visited.
    fn enter_dir(&mut self, dir: &Path, meta: &Metadata, mode: Mode) -> io::Result<()> {
        if !self.visited_dirs.insert((meta.dev(), meta.ino(), mode)) {
            debug!(path = %show(dir), "directory already visited (symlink loop or second route); skipped");
            return Ok(());
        }
        let budget = self
            .cfg()
            .max_files
            .saturating_sub(self.entries)
            .saturating_add(1);
        if let Some(s) = self.watch.as_mut() {
            // Before listing: a change from now on is an event.
            s.watch_dir(dir);
        }
        let mut names = Vec::new();
        let mut truncated = false;
        let listing = fs::read_dir(fs_path(dir))?;
        self.src.dirs_listed.fetch_add(1, Ordering::Relaxed);
        for entry in listing {
            match entry {
                Ok(e) => names.push((e.file_name(), e)),
                Err(e) => {
                    self.incomplete = true;
                    // Keep what we have; report the directory.
                    self.push_error(
                        dir,
                        Reason::from_io(&e),
                        format!("error listing directory {}: {e}", show(dir)),
                    );
                    break;
                }
            }
            if names.len() >= budget {
                truncated = true;
                break;
            }
        }
        names.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let ahead = Lookahead {
            excludes: &self.excludes,
            pattern: match mode {
                Mode::All => None,
                Mode::Glob(i) => self.patterns.get(i),
            },
            prev: self.prev,
            old_refs: &self.old_refs,
            max_file_size: self.src.cfg.max_file_size,
            cancel: self.cancel,
        }
        .run_all(dir, &names);
        // Closes the directory's handle.
        drop(names);
        self.stack.push(Frame {
            dir: dir.to_path_buf(),
            mode,
            names: ahead.into_iter(),
            truncated,
        });
        Ok(())
    }

    fn drain(&mut self) {
        loop {
            if self.stopped {
                self.stack.clear();
                return;
            }
            let Some(frame) = self.stack.last_mut() else {
                return;
            };
            let Some(ahead) = frame.names.next() else {
                if frame.truncated {
                    // More names than `max_files` in one listing (some were excluded).
                    let dir = frame.dir.clone();
                    self.limit_reached(&dir);
                }
                self.stack.pop();
                continue;
            };
            let mode = frame.mode;
            self.entry(ahead, mode);
        }
    }

    fn limit_reached(&mut self, path: &Path) {
        let msg = format!(
            "file limit reached: more than {} entries; walk stopped at {}",
            self.cfg().max_files,
            show(path)
        );
        let e = ErrorEntry::new(self.src.file_sref(path), Reason::ReadFailed, msg);
        self.push_object(error_object(LIMIT_KEY.to_string(), e));
        self.stopped = true;
    }

    /// One directory entry, with the results of its look-ahead.
    fn entry(&mut self, ahead: Ahead, mode: Mode) {
        let Ahead {
            path,
            excluded,
            lmeta,
            file: ahead_file,
        } = ahead;
        let path = path.as_path();
        if self.cancel.load(Ordering::Relaxed) {
            debug!("file walk cancelled");
            self.stopped = true;
            return;
        }
        if excluded {
            debug!(path = %show(path), "excluded");
            return;
        }
        self.entries += 1;
        if self.entries > self.cfg().max_files {
            self.limit_reached(path);
            return;
        }
        let pattern = match mode {
            Mode::All => None,
            Mode::Glob(i) => self.patterns.get(i).cloned(),
        };
        let selected = |p: &Path| pattern.as_ref().is_none_or(|pat| glob::matches(pat, p));
        let Some(lmeta) = lmeta else {
            // Cancelled during the look-ahead.
            self.stopped = true;
            return;
        };
        let lmeta = match lmeta {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                debug!(path = %show(path), "vanished during walk");
                self.incomplete = true;
                return;
            }
            Err(e) => {
                self.incomplete = true;
                if selected(path) {
                    self.push_error(
                        path,
                        Reason::from_io(&e),
                        format!("cannot stat {}: {e}", show(path)),
                    );
                }
                return;
            }
        };
        let is_symlink = lmeta.file_type().is_symlink();
        let meta = if is_symlink {
            if !self.cfg().follow_symlinks {
                debug!(path = %show(path), "symlink skipped (follow_symlinks is off)");
                return;
            }
            if let Some(s) = self.watch.as_mut() {
                s.watch_link_chain(path);
            }
            match fs::metadata(path) {
                Ok(m) => m,
                Err(e) => {
                    if e.kind() == io::ErrorKind::PermissionDenied {
                        self.incomplete = true;
                    }
                    if selected(path) {
                        let reason = if e.kind() == io::ErrorKind::PermissionDenied {
                            Reason::PermissionDenied
                        } else {
                            Reason::BrokenSymlink
                        };
                        self.push_error(
                            path,
                            reason,
                            format!("broken symlink {}: {e}", show(path)),
                        );
                    }
                    return;
                }
            }
        } else {
            lmeta
        };
        if meta.is_dir() {
            let next_mode = match (&pattern, mode) {
                (None, _) => Some(Mode::All),
                (Some(pat), Mode::Glob(_)) if glob::matches(pat, path) => Some(Mode::All),
                (Some(pat), m) if glob::could_match_below(pat, path) => Some(m),
                _ => None,
            };
            let Some(next_mode) = next_mode else {
                return;
            };
            if let Err(e) = self.enter_dir(path, &meta, next_mode) {
                self.incomplete = true;
                self.push_error(
                    path,
                    Reason::from_io(&e),
                    format!("cannot read directory {}: {e}", show(path)),
                );
            }
        } else if meta.is_file() {
            if selected(path) {
                self.file(path, &meta, ahead_file.filter(|_| !is_symlink));
            }
        } else {
            debug!(path = %show(path), "not a regular file; skipped");
        }
    }

    /// One regular file (already stat'ed as `meta`, symlinks followed), with its
    /// look-ahead when it was stat'ed as a regular file in a directory listing.
    fn file(&mut self, path: &Path, meta: &Metadata, ahead: Option<AheadFile>) {
        if !self.seen_files.insert((meta.dev(), meta.ino())) {
            debug!(path = %show(path), "file already seen under another path; skipped");
            return;
        }
        let (key, base, ahead_read) = match ahead {
            Some(AheadFile { key, base, read }) => (key, base, read),
            None => (path_key(path), meta_version(meta), None),
        };
        // Each key is met once per walk, so the remembered references can be moved
        // out (no copy); the common case has none and no second version string.
        let old_refs = self.old_refs.remove(&key).unwrap_or_default();
        if let Some(s) = self.watch.as_mut() {
            for r in &old_refs {
                s.watch_path(r);
                s.watch_link_chain(r);
            }
        }
        let with = (!old_refs.is_empty()).then(|| with_refs(&base, &old_refs));
        if self.prev.get(&key) == Some(with.as_ref().unwrap_or(&base)) {
            if !old_refs.is_empty() {
                self.new_refs.insert(key.clone(), old_refs);
            }
            self.push_object(Object {
                key,
                version: Some(with.unwrap_or(base)),
                content: Content::Unchanged,
            });
            return;
        }
        let max = self.cfg().max_file_size;
        let read = match ahead_read {
            Some(r) => r.map(Wipe::take),
            None => read_regular(path, meta, max),
        };
        let mut data = match read {
            Ok(d) => d,
            Err((Reason::NotFound, _)) => {
                debug!(path = %show(path), "vanished before reading");
                self.incomplete = true;
                return;
            }
            Err((reason, msg)) => {
                let e = ErrorEntry::new(self.src.file_sref(path), reason, msg);
                self.push_object(Object {
                    key,
                    version: Some(base),
                    content: Content::Fresh {
                        items: Vec::new(),
                        errors: vec![e],
                    },
                });
                return;
            }
        };
        let as_kubeconfig =
            self.cfg().kind == SourceKind::Kubeconfig || kubeconfig::looks_like_kubeconfig(&data);
        if as_kubeconfig {
            match kubeconfig::split(&data) {
                Ok(entries) => {
                    data.fill(0);
                    let (items, errors, refs) = self.kubeconfig_items(path, entries);
                    let version = with_refs(&base, &refs);
                    if !refs.is_empty() {
                        self.new_refs.insert(key.clone(), refs);
                    }
                    self.push_object(Object {
                        key,
                        version: Some(version),
                        content: Content::Fresh { items, errors },
                    });
                    return;
                }
                Err(err) if self.cfg().kind == SourceKind::Kubeconfig => {
                    data.fill(0);
                    let e = ErrorEntry::new(self.src.file_sref(path), err.reason, &err.message);
                    self.push_object(Object {
                        key,
                        version: Some(base),
                        content: Content::Fresh {
                            items: Vec::new(),
                            errors: vec![e],
                        },
                    });
                    return;
                }
                Err(_) => {
                    debug!(path = %show(path), "looked like a kubeconfig but is not YAML; parsed as a plain file");
                }
            }
        }
        self.push_object(Object {
            key,
            version: Some(base),
            content: Content::Fresh {
                items: vec![Item {
                    sref: self.src.file_sref(path),
                    data,
                    hint: FormatHint::Auto,
                }],
                errors: Vec::new(),
            },
        });
    }

    /// Items of one kubeconfig, its entry errors, and the referenced files.
    fn kubeconfig_items(
        &mut self,
        path: &Path,
        entries: Vec<Result<kubeconfig::KubeconfigEntry, kubeconfig::EntryError>>,
    ) -> (Vec<Item>, Vec<ErrorEntry>, Vec<PathBuf>) {
        let kpath = show(path);
        let kname = basename(path);
        let dir = path.parent().unwrap_or_else(|| Path::new(""));
        let mut items = Vec::new();
        let mut errors = Vec::new();
        let mut refs = Vec::new();
        let max = self.cfg().max_file_size;
        for entry in entries {
            let (kind, name, field) = match &entry {
                Ok(e) => (e.kind, e.name.clone(), e.field),
                Err(e) => (e.kind, e.name.clone(), e.field),
            };
            let location = format!("{kpath}:{}/{name}/{field}", kind.list_name());
            let labelled = |sref: SourceRef| {
                sref.with_label("embedded_kind", kind.as_str())
                    .with_label("embedded_key", name.clone())
            };
            match entry {
                Err(e) => {
                    let sref = labelled(
                        self.src
                            .sref(&location)
                            .with_label("filename", kname.clone())
                            .with_label("filepath", kpath.clone()),
                    );
                    errors.push(ErrorEntry::new(sref, e.error.reason, &e.error.message));
                }
                Ok(e) => match e.content {
                    EntryContent::Embedded(data) => items.push(Item {
                        sref: labelled(
                            self.src
                                .sref(&location)
                                .with_label("filename", kname.clone())
                                .with_label("filepath", kpath.clone()),
                        ),
                        data,
                        hint: FormatHint::Auto,
                    }),
                    EntryContent::File(rel) => {
                        let target = dir.join(&rel);
                        if let Some(s) = self.watch.as_mut() {
                            s.watch_path(&target);
                            s.watch_link_chain(&target);
                        }
                        refs.push(target.clone());
                        let sref = labelled(
                            self.src
                                .sref(&location)
                                .with_label("filename", basename(&target))
                                .with_label("filepath", show(&target)),
                        );
                        match read_referenced(&target, max) {
                            Ok(data) => items.push(Item {
                                sref,
                                data,
                                hint: FormatHint::Auto,
                            }),
                            Err((reason, msg)) => errors.push(ErrorEntry::new(sref, reason, msg)),
                        }
                    }
                },
            }
        }
        (items, errors, refs)
    }
}

/// Whether `path` matches one of the `exclude` patterns (see the module docs).
fn is_excluded(excludes: &[OsString], path: &Path) -> bool {
    excludes.iter().any(|pat| {
        let bytes = pat.as_bytes();
        if bytes.starts_with(b"/") {
            glob::matches(pat, path)
        } else if bytes.contains(&b'/') {
            // Relative: may start at any directory of the path.
            let mut anchored = OsString::from("/**/");
            anchored.push(pat);
            glob::matches(&anchored, path)
        } else {
            path.file_name()
                .is_some_and(|n| glob::component_matches(pat.as_bytes(), n.as_bytes()))
        }
    })
}

/// Keep the first object of each key, in order.
fn dedup_keys(objects: &mut Vec<Object>) {
    let mut seen: HashSet<&str> = HashSet::with_capacity(objects.len());
    let keep: Vec<bool> = objects
        .iter()
        .map(|o| seen.insert(o.key.as_str()))
        .collect();
    drop(seen);
    if keep.iter().all(|k| *k) {
        return;
    }
    let mut keep = keep.into_iter();
    objects.retain(|_| keep.next().unwrap_or(true));
}

fn error_object(key: String, e: ErrorEntry) -> Object {
    Object {
        key,
        version: None,
        content: Content::Fresh {
            items: Vec::new(),
            errors: vec![e],
        },
    }
}

/// The empty path means the current directory.
fn fs_path(p: &Path) -> &Path {
    if p.as_os_str().is_empty() {
        Path::new(".")
    } else {
        p
    }
}

fn show(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn basename(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Unique object key for a path (see the module docs).
pub(crate) fn path_key(p: &Path) -> String {
    let bytes = p.as_os_str().as_bytes();
    if let Ok(s) = std::str::from_utf8(bytes) {
        if !s.contains('\\') {
            return s.to_string();
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

fn meta_version(m: &Metadata) -> String {
    let mtime = i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec());
    let ctime = i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec());
    // Same text as `format!("{}:{}:{}:{}:{}", ...)`, without the formatting
    // machinery (this runs for every file of every scan).
    let mut v = String::with_capacity(80);
    push_decimal(&mut v, i128::from(m.dev()));
    v.push(':');
    push_decimal(&mut v, i128::from(m.ino()));
    v.push(':');
    push_decimal(&mut v, i128::from(m.size()));
    v.push(':');
    push_decimal(&mut v, mtime);
    v.push(':');
    push_decimal(&mut v, ctime);
    v
}

/// Append the decimal form of `n` (as `Display` prints it).
fn push_decimal(out: &mut String, n: i128) {
    if n < 0 {
        out.push('-');
    }
    let m = n.unsigned_abs();
    // 64-bit division is much cheaper than 128-bit; every realistic value fits.
    let Ok(mut m) = u64::try_from(m) else {
        out.push_str(&m.to_string());
        return;
    };
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"));
}

fn with_refs(base: &str, refs: &[PathBuf]) -> String {
    let mut v = base.to_string();
    for r in refs {
        v.push('|');
        match fs::metadata(r) {
            Ok(m) => v.push_str(&meta_version(&m)),
            Err(_) => v.push('-'),
        }
    }
    v
}

/// Open and read a regular file that was stat'ed as `meta`, at most `max` bytes.
fn read_regular(path: &Path, meta: &Metadata, max: u64) -> Result<Vec<u8>, ReadErr> {
    let shown = show(path);
    if meta.len() > max {
        return Err((
            Reason::TooLarge,
            format!(
                "{shown}: {} bytes exceeds the limit of {max} bytes",
                meta.len()
            ),
        ));
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .map_err(|e| (Reason::from_io(&e), format!("cannot open {shown}: {e}")))?;
    let fmeta = file
        .metadata()
        .map_err(|e| (Reason::from_io(&e), format!("cannot stat {shown}: {e}")))?;
    if !fmeta.is_file() || fmeta.dev() != meta.dev() || fmeta.ino() != meta.ino() {
        return Err((
            Reason::ReadFailed,
            format!("{shown}: file changed during the scan"),
        ));
    }
    read_capped(file, &shown, max, fmeta.len())
}

/// Read at most `max` bytes (one more to detect growth past the cap). `size_hint` is
/// the size from `fstat`: the buffer is allocated to exactly that (+1 so `read_to_end`
/// sees EOF without growing it). A fixed large initial capacity would cost a fresh,
/// zeroed heap page or more per file and keep it alive until the file is parsed:
/// with 20,000 files that dominated both the scan time and the peak RSS.
fn read_capped(file: File, shown: &str, max: u64, size_hint: u64) -> Result<Vec<u8>, ReadErr> {
    let cap = usize::try_from(size_hint.min(max).min(16 * 1024 * 1024)).unwrap_or(0);
    let mut data = Vec::with_capacity(cap.saturating_add(1));
    file.take(max.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| (Reason::from_io(&e), format!("cannot read {shown}: {e}")))?;
    if data.len() as u64 > max {
        data.fill(0);
        return Err((
            Reason::TooLarge,
            format!("{shown}: grew past the limit of {max} bytes while being read"),
        ));
    }
    Ok(data)
}

/// Read a file referenced by a kubeconfig (same rules as walked files; a missing
/// file is an error here because it was named explicitly).
fn read_referenced(path: &Path, max: u64) -> Result<Vec<u8>, ReadErr> {
    let shown = show(path);
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            let is_link = fs::symlink_metadata(path)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
            let reason = if is_link && e.kind() != io::ErrorKind::PermissionDenied {
                Reason::BrokenSymlink
            } else {
                Reason::from_io(&e)
            };
            return Err((reason, format!("referenced file {shown}: {e}")));
        }
    };
    if !meta.is_file() {
        return Err((
            Reason::ReadFailed,
            format!("referenced file {shown} is not a regular file"),
        ));
    }
    read_regular(path, &meta, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStringExt;
    use std::os::unix::fs::{symlink, PermissionsExt};

    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    const PEM: &[u8] = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    fn cfg(kind: SourceKind, paths: &[&Path]) -> FileSourceConfig {
        FileSourceConfig {
            kind,
            name: "t".into(),
            paths: paths.iter().map(|p| show(p)).collect(),
            exclude: Vec::new(),
            follow_symlinks: true,
            max_file_size: 1 << 20,
            pkcs12_passwords: Vec::new(),
            try_empty_password: true,
            keystore_passwords: Vec::new(),
            max_files: 200_000,
            watch: Default::default(),
        }
    }

    fn run_with(src: &FileSource, prev: &HashMap<String, String>) -> SourceOutput {
        src.scan_blocking(prev, &AtomicBool::new(false), None)
    }

    fn run(c: FileSourceConfig) -> SourceOutput {
        run_with(&FileSource::new(c), &HashMap::new())
    }

    fn items(out: &SourceOutput) -> Vec<&Item> {
        out.objects
            .iter()
            .flat_map(|o| match &o.content {
                Content::Fresh { items, .. } => items.iter().collect::<Vec<_>>(),
                Content::Unchanged | Content::Metadata(_) | Content::Parsed { .. } => Vec::new(),
            })
            .collect()
    }

    fn item_paths(out: &SourceOutput) -> Vec<String> {
        let mut v: Vec<String> = items(out).iter().map(|i| i.sref.location.clone()).collect();
        v.sort();
        v
    }

    fn errors(out: &SourceOutput) -> Vec<(Reason, String)> {
        out.objects
            .iter()
            .flat_map(|o| match &o.content {
                Content::Fresh { errors, .. } => errors
                    .iter()
                    .map(|e| (e.reason, e.source.location.clone()))
                    .collect::<Vec<_>>(),
                Content::Unchanged | Content::Metadata(_) | Content::Parsed { .. } => Vec::new(),
            })
            .collect()
    }

    fn versions(out: &SourceOutput) -> HashMap<String, String> {
        out.objects
            .iter()
            .filter_map(|o| o.version.clone().map(|v| (o.key.clone(), v)))
            .collect()
    }

    fn write(p: &Path, data: &[u8]) {
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).unwrap();
        }
        fs::write(p, data).unwrap();
    }

    #[test]
    fn nested_directories_and_labels() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(&r.join("a.pem"), PEM);
        write(&r.join("x/b.crt"), PEM);
        write(&r.join("x/y/z/c.der"), b"\x30\x03\x02\x01\x01");
        let out = run(cfg(SourceKind::File, &[r]));
        assert!(out.failure.is_none());
        assert_eq!(
            item_paths(&out),
            vec![
                show(&r.join("a.pem")),
                show(&r.join("x/b.crt")),
                show(&r.join("x/y/z/c.der"))
            ]
        );
        let it = items(&out)
            .into_iter()
            .find(|i| i.sref.location.ends_with("b.crt"))
            .unwrap();
        assert_eq!(it.sref.kind, SourceKind::File);
        assert_eq!(it.sref.name, "t");
        assert_eq!(it.sref.label("filename"), Some("b.crt"));
        assert_eq!(
            it.sref.label("filepath"),
            Some(show(&r.join("x/b.crt")).as_str())
        );
        assert_eq!(it.sref.label("embedded_kind"), None);
        assert_eq!(it.data, PEM);
        assert_eq!(it.hint, FormatHint::Auto);
        assert!(errors(&out).is_empty());
    }

    #[test]
    fn glob_double_star_and_single_star() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(&r.join("top.pem"), PEM);
        write(&r.join("top.txt"), PEM);
        write(&r.join("a/one.pem"), PEM);
        write(&r.join("a/b/c/two.pem"), PEM);
        write(&r.join("a/b/c/two.key"), PEM);
        write(&r.join("other/three.pem"), PEM);
        let pat = format!("{}/a/**/*.pem", show(r));
        let mut c = cfg(SourceKind::File, &[]);
        c.paths = vec![pat];
        let out = run(c);
        assert_eq!(
            item_paths(&out),
            vec![show(&r.join("a/b/c/two.pem")), show(&r.join("a/one.pem"))]
        );
        let mut c = cfg(SourceKind::File, &[]);
        c.paths = vec![
            format!("{}/*.pem", show(r)),
            format!("{}/*/three.p?m", show(r)),
        ];
        let out = run(c);
        assert_eq!(
            item_paths(&out),
            vec![show(&r.join("other/three.pem")), show(&r.join("top.pem"))]
        );
        // A glob matching a directory walks it.
        let mut c = cfg(SourceKind::File, &[]);
        c.paths = vec![format!("{}/[o]ther", show(r))];
        assert_eq!(item_paths(&run(c)), vec![show(&r.join("other/three.pem"))]);
    }

    #[test]
    fn relative_paths_and_globs() {
        // Relative to the test's working directory (the crate root); no chdir.
        let t = tempfile::tempdir_in("target").unwrap();
        let abs = t.path();
        let name = abs.file_name().unwrap().to_string_lossy().into_owned();
        write(&abs.join("s/a.pem"), PEM);
        write(&abs.join("s/b.txt"), PEM);
        let mut c = cfg(SourceKind::File, &[]);
        c.paths = vec![
            format!("target/{name}/s/*.pem"),
            format!("./target/{name}/s"),
        ];
        let out = run(c);
        assert_eq!(
            item_paths(&out),
            vec![
                format!("./target/{name}/s/b.txt"),
                format!("target/{name}/s/a.pem"),
            ]
        );
    }

    #[test]
    fn missing_paths_are_quiet() {
        let t = tempfile::tempdir().unwrap();
        let out = run(cfg(
            SourceKind::File,
            &[&t.path().join("nope"), &t.path().join("nope/*.pem")],
        ));
        assert!(out.failure.is_none());
        assert!(out.objects.is_empty());
    }

    #[test]
    fn relative_excludes_match_any_tail() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(&r.join("openssl.cnf"), b"x");
        write(&r.join("a/private/x.pem"), PEM);
        write(&r.join("a/keep.pem"), PEM);
        let mut c = cfg(SourceKind::File, &[r]);
        c.exclude = vec!["**/*.cnf".into(), "private/*.pem".into()];
        let out = run(c);
        assert_eq!(item_paths(&out), vec![show(&r.join("a/keep.pem"))]);
        assert!(errors(&out).is_empty());
    }

    #[test]
    fn excludes_prune() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(&r.join("keep.pem"), PEM);
        write(&r.join("drop.key"), PEM);
        write(&r.join("skip/inner.pem"), PEM);
        write(&r.join("sub/deep.key"), PEM);
        write(&r.join("sub/deep.pem"), PEM);
        let mut c = cfg(SourceKind::File, &[r]);
        c.exclude = vec!["*.key".into(), format!("{}/skip", show(r))];
        let out = run(c);
        assert_eq!(
            item_paths(&out),
            vec![show(&r.join("keep.pem")), show(&r.join("sub/deep.pem"))]
        );
        // An excluded directory is not descended: even an unreadable tree below is not touched.
        let mut c = cfg(SourceKind::File, &[r]);
        c.exclude = vec![format!("{}/**", show(&r.join("sub")))];
        let out = run(c);
        assert!(!item_paths(&out).iter().any(|p| p.contains("/sub/")));
    }

    #[test]
    fn symlinks_followed_and_deduplicated() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        let real = tempfile::tempdir().unwrap();
        write(&real.path().join("d/inner.pem"), PEM);
        write(&real.path().join("f.pem"), PEM);
        write(&r.join("own.pem"), PEM);
        symlink(real.path().join("d"), r.join("linkdir")).unwrap();
        symlink(real.path().join("f.pem"), r.join("linkfile.pem")).unwrap();
        // Second route to own.pem: deduplicated by inode.
        symlink(r.join("own.pem"), r.join("zz-alias.pem")).unwrap();
        let out = run(cfg(SourceKind::File, &[r]));
        assert_eq!(
            item_paths(&out),
            vec![
                show(&r.join("linkdir/inner.pem")),
                show(&r.join("linkfile.pem")),
                show(&r.join("own.pem")),
            ]
        );
        // Not following: symlinks met during the walk are skipped.
        let mut c = cfg(SourceKind::File, &[r]);
        c.follow_symlinks = false;
        assert_eq!(item_paths(&run(c)), vec![show(&r.join("own.pem"))]);
        // ... but a configured root that is a symlink is resolved.
        let mut c = cfg(SourceKind::File, &[&r.join("linkfile.pem")]);
        c.follow_symlinks = false;
        assert_eq!(item_paths(&run(c)), vec![show(&r.join("linkfile.pem"))]);
    }

    #[test]
    fn broken_symlink_is_reported() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        symlink(r.join("missing.pem"), r.join("dangling.pem")).unwrap();
        symlink(r.join("b"), r.join("a")).unwrap();
        symlink(r.join("a"), r.join("b")).unwrap();
        let out = run(cfg(SourceKind::File, &[r]));
        let mut errs = errors(&out);
        errs.sort();
        assert_eq!(
            errs,
            vec![
                (Reason::BrokenSymlink, show(&r.join("a"))),
                (Reason::BrokenSymlink, show(&r.join("b"))),
                (Reason::BrokenSymlink, show(&r.join("dangling.pem"))),
            ]
        );
        assert!(out.failure.is_none());
        // Not following: quietly skipped.
        let mut c = cfg(SourceKind::File, &[r]);
        c.follow_symlinks = false;
        assert!(run(c).objects.is_empty());
        // As a configured root.
        let out = run(cfg(SourceKind::File, &[&r.join("dangling.pem")]));
        assert_eq!(
            errors(&out),
            vec![(Reason::BrokenSymlink, show(&r.join("dangling.pem")))]
        );
    }

    #[test]
    fn symlink_loop_terminates() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(&r.join("d/e/c.pem"), PEM);
        symlink(r, r.join("d/e/up")).unwrap();
        symlink(r.join("d"), r.join("d/self")).unwrap();
        let out = run(cfg(SourceKind::File, &[r]));
        assert_eq!(item_paths(&out), vec![show(&r.join("d/e/c.pem"))]);
        assert!(errors(&out).is_empty());
        // Through a `**` glob as well.
        let mut c = cfg(SourceKind::File, &[]);
        c.paths = vec![format!("{}/**/*.pem", show(r))];
        assert_eq!(item_paths(&run(c)), vec![show(&r.join("d/e/c.pem"))]);
    }

    #[test]
    fn size_cap_from_metadata() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(&r.join("big.pem"), &[b'A'; 100]);
        write(&r.join("ok.pem"), &[b'A'; 10]);
        // A sparse 64 GiB file: reading it would take ages.
        let huge = File::create(r.join("huge.pem")).unwrap();
        huge.set_len(64 << 30).unwrap();
        let mut c = cfg(SourceKind::File, &[r]);
        c.max_file_size = 10;
        let out = run(c);
        assert_eq!(item_paths(&out), vec![show(&r.join("ok.pem"))]);
        let mut errs = errors(&out);
        errs.sort();
        assert_eq!(
            errs,
            vec![
                (Reason::TooLarge, show(&r.join("big.pem"))),
                (Reason::TooLarge, show(&r.join("huge.pem"))),
            ]
        );
    }

    #[test]
    fn file_grown_past_cap_while_reading() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("g.pem");
        write(&p, &[b'A'; 5]);
        let meta = fs::metadata(&p).unwrap();
        write(&p, &[b'A'; 50]);
        let err = read_regular(&p, &meta, 10).unwrap_err();
        assert_eq!(err.0, Reason::TooLarge);
    }

    #[test]
    fn fifo_and_specials_are_never_opened() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(&r.join("a.pem"), PEM);
        let st = std::process::Command::new("mkfifo")
            .arg(r.join("pipe.pem"))
            .status()
            .unwrap();
        assert!(st.success());
        // A walk that opened the FIFO would block forever (no writer).
        let out = run(cfg(SourceKind::File, &[r]));
        assert_eq!(item_paths(&out), vec![show(&r.join("a.pem"))]);
        assert!(errors(&out).is_empty());
        let out = run(cfg(SourceKind::File, &[&r.join("pipe.pem")]));
        assert!(out.objects.is_empty());
        // Also via a symlink to the FIFO, and a glob.
        symlink(r.join("pipe.pem"), r.join("l.pem")).unwrap();
        let mut c = cfg(SourceKind::File, &[]);
        c.paths = vec![format!("{}/*.pem", show(r))];
        assert_eq!(item_paths(&run(c)), vec![show(&r.join("a.pem"))]);
        // /dev/null is a character device.
        assert!(run(cfg(SourceKind::File, &[Path::new("/dev/null")]))
            .objects
            .is_empty());
        // read_regular refuses a FIFO even if it was stat'ed as a regular file.
        let meta = fs::metadata(r.join("a.pem")).unwrap();
        let err = read_regular(&r.join("pipe.pem"), &meta, 100).unwrap_err();
        assert_eq!(err.0, Reason::ReadFailed);
    }

    #[test]
    fn non_utf8_names() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        let n1 = r.join(OsString::from_vec(b"\xff.pem".to_vec()));
        let n2 = r.join(OsString::from_vec(b"\xfe.pem".to_vec()));
        let n3 = r.join(["\\", "xff.pem"].concat());
        write(&n1, PEM);
        write(&n2, PEM);
        write(&n3, PEM);
        let mut c = cfg(SourceKind::File, &[]);
        c.paths = vec![format!("{}/*.pem", show(r))];
        let out = run(c);
        assert_eq!(out.objects.len(), 3);
        let keys: HashSet<&str> = out.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys.len(), 3, "keys must be unique: {keys:?}");
        assert!(keys.iter().any(|k| k.ends_with("/\\xff.pem")));
        assert!(keys.iter().any(|k| k.ends_with("/\\xfe.pem")));
        assert!(keys.iter().any(|k| k.ends_with("/\\\\xff.pem")));
        let lossy = items(&out)
            .iter()
            .filter(|i| i.sref.location.contains('\u{fffd}'))
            .count();
        assert_eq!(lossy, 2);
        assert!(items(&out)
            .iter()
            .any(|i| i.sref.label("filename") == Some("\u{fffd}.pem")));
        // Excludes work on raw bytes too.
        let mut c = cfg(SourceKind::File, &[r]);
        c.exclude = vec!["[!\\]*.pem".into()];
        let out = run(c);
        assert_eq!(item_paths(&out), vec![show(&n3)]);
    }

    fn many_files(n: usize) {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        for i in 0..n {
            fs::write(r.join(format!("f{i:06}.pem")), b"x").unwrap();
        }
        let src = FileSource::new(cfg(SourceKind::File, &[r]));
        let out = run_with(&src, &HashMap::new());
        assert!(out.failure.is_none());
        assert_eq!(out.objects.len(), n);
        assert!(errors(&out).is_empty());
        // Second scan: nothing is re-read.
        let out2 = run_with(&src, &versions(&out));
        assert_eq!(out2.objects.len(), n);
        assert!(out2
            .objects
            .iter()
            .all(|o| matches!(o.content, Content::Unchanged)));
    }

    #[test]
    fn ten_thousand_files() {
        many_files(10_000);
    }

    /// The 100k-files case (default limit is 200k): one directory holding 100,000
    /// files is walked completely, and the warm re-scan re-reads none of them.
    #[test]
    fn hundred_thousand_files() {
        many_files(100_000);
    }

    #[test]
    fn file_limit_stops_walk() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        for i in 0..50 {
            write(&r.join(format!("d{}/f{i}.pem", i % 3)), b"x");
        }
        let mut c = cfg(SourceKind::File, &[r]);
        c.max_files = 20;
        let out = run(c);
        let errs = errors(&out);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, Reason::ReadFailed);
        let msg = out
            .objects
            .iter()
            .find_map(|o| match &o.content {
                Content::Fresh { errors, .. } => errors.first().map(|e| e.message.clone()),
                _ => None,
            })
            .unwrap();
        assert!(msg.contains("file limit reached"), "{msg}");
        assert!(items(&out).len() < 20);
        assert!(out.failure.is_none());
    }

    #[test]
    fn file_limit_with_excluded_names_in_one_directory() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        for i in 0..30 {
            write(&r.join(format!("f{i:02}.key")), b"x");
        }
        write(&r.join("z.pem"), b"x");
        let mut c = cfg(SourceKind::File, &[r]);
        c.max_files = 5;
        c.exclude = vec!["*.key".into()];
        let out = run(c);
        // z.pem was never listed: that must be visible as the limit error.
        assert_eq!(errors(&out).len(), 1);
        assert_eq!(errors(&out)[0].0, Reason::ReadFailed);
    }

    #[test]
    fn change_detection() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(&r.join("a.pem"), PEM);
        write(&r.join("b.pem"), PEM);
        let src = FileSource::new(cfg(SourceKind::File, &[r]));
        let out1 = run_with(&src, &HashMap::new());
        let v1 = versions(&out1);
        assert_eq!(v1.len(), 2);
        let a_key = show(&r.join("a.pem"));
        let parts: Vec<&str> = v1[&a_key].split(':').collect();
        assert_eq!(parts.len(), 5, "dev:ino:size:mtime_ns:ctime_ns");
        let out2 = run_with(&src, &v1);
        assert!(out2
            .objects
            .iter()
            .all(|o| matches!(o.content, Content::Unchanged)));
        assert_eq!(versions(&out2), v1);
        // Rewrite a.pem (different size): re-read.
        write(&r.join("a.pem"), b"changed");
        let out3 = run_with(&src, &v1);
        for o in &out3.objects {
            if o.key == a_key {
                match &o.content {
                    Content::Fresh { items, .. } => assert_eq!(items[0].data, b"changed"),
                    Content::Unchanged | Content::Metadata(_) | Content::Parsed { .. } => {
                        panic!("a.pem changed but reported unchanged")
                    }
                }
            } else {
                assert!(matches!(o.content, Content::Unchanged));
            }
        }
        // Same size, touched (mtime/ctime change).
        let v3 = versions(&out3);
        std::thread::sleep(std::time::Duration::from_millis(20));
        write(&r.join("b.pem"), PEM);
        let out4 = run_with(&src, &v3);
        let b = out4
            .objects
            .iter()
            .find(|o| o.key == show(&r.join("b.pem")))
            .unwrap();
        assert!(matches!(b.content, Content::Fresh { .. }));
    }

    fn kubeconfig_yaml(ca_b64: &str, key_b64: &str) -> String {
        format!(
            "apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: {ca_b64}
- name: staging
  cluster:
    certificate-authority: pki/ca.crt
users:
- name: admin
  user:
    client-certificate: pki/admin.crt
    client-key-data: {key_b64}
- name: broken
  user:
    client-certificate-data: '@@not base64@@'
- name: gone
  user:
    client-certificate: /nonexistent/certvigil/x.crt
"
        )
    }

    #[test]
    fn kubeconfig_embedded_referenced_and_key_never_decoded() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        let ca = rcgen::generate_simple_self_signed(vec!["ca.test".to_string()]).unwrap();
        let ca_pem = ca.cert.pem();
        let admin = rcgen::generate_simple_self_signed(vec!["admin".to_string()]).unwrap();
        write(&r.join("pki/ca.crt"), b"REFERENCED-CA");
        write(&r.join("pki/admin.crt"), admin.cert.pem().as_bytes());
        // A recognisable marker in the key material.
        let key_marker = b"PRIVATE-KEY-MARKER-1234567890";
        let key_b64 = STANDARD.encode(key_marker);
        let kc = r.join("kube/config");
        write(
            &kc,
            kubeconfig_yaml(&STANDARD.encode(ca_pem.as_bytes()), &key_b64).as_bytes(),
        );
        // The kubeconfig references pki/ relative to its own directory.
        fs::rename(r.join("pki"), r.join("kube/pki")).unwrap();
        let src = FileSource::new(cfg(SourceKind::Kubeconfig, &[&kc]));
        let out = run_with(&src, &HashMap::new());
        assert!(out.failure.is_none());
        assert_eq!(out.objects.len(), 1, "one object per kubeconfig");
        let its = items(&out);
        assert_eq!(its.len(), 3);
        let kp = show(&kc);
        let by_loc = |suffix: &str| {
            its.iter()
                .find(|i| i.sref.location == format!("{kp}:{suffix}"))
                .unwrap_or_else(|| panic!("no item {suffix}"))
        };
        let e = by_loc("clusters/prod/certificate-authority-data");
        assert_eq!(e.data, ca_pem.as_bytes());
        assert_eq!(e.sref.kind, SourceKind::Kubeconfig);
        assert_eq!(e.sref.label("filename"), Some("config"));
        assert_eq!(e.sref.label("filepath"), Some(kp.as_str()));
        assert_eq!(e.sref.label("embedded_kind"), Some("cluster"));
        assert_eq!(e.sref.label("embedded_key"), Some("prod"));
        let f = by_loc("clusters/staging/certificate-authority");
        assert_eq!(f.data, b"REFERENCED-CA");
        assert_eq!(
            f.sref.label("filepath"),
            Some(show(&r.join("kube/pki/ca.crt")).as_str())
        );
        assert_eq!(f.sref.label("filename"), Some("ca.crt"));
        assert_eq!(f.sref.label("embedded_kind"), Some("cluster"));
        assert_eq!(f.sref.label("embedded_key"), Some("staging"));
        let u = by_loc("users/admin/client-certificate");
        assert_eq!(u.data, admin.cert.pem().as_bytes());
        assert_eq!(u.sref.label("embedded_kind"), Some("user"));
        // The key is never in any item, neither decoded nor base64.
        for i in &its {
            assert!(!i.data.windows(key_marker.len()).any(|w| w == key_marker));
            assert!(!i
                .data
                .windows(key_b64.len())
                .any(|w| w == key_b64.as_bytes()));
        }
        let mut errs = errors(&out);
        errs.sort();
        assert_eq!(
            errs,
            vec![
                (
                    Reason::NotFound,
                    format!("{kp}:users/gone/client-certificate")
                ),
                (
                    Reason::DecodeFailed,
                    format!("{kp}:users/broken/client-certificate-data")
                ),
            ]
        );

        // Version covers referenced files: unchanged → Unchanged; a rewritten
        // referenced file → Fresh.
        let v = versions(&out);
        assert_eq!(v[&kp].matches('|').count(), 3);
        let out2 = run_with(&src, &v);
        assert!(matches!(out2.objects[0].content, Content::Unchanged));
        write(&r.join("kube/pki/ca.crt"), b"REFERENCED-CA-ROTATED");
        let out3 = run_with(&src, &versions(&out2));
        assert!(matches!(out3.objects[0].content, Content::Fresh { .. }));
        assert!(items(&out3)
            .iter()
            .any(|i| i.data == b"REFERENCED-CA-ROTATED"));
    }

    #[test]
    fn kubeconfig_found_by_file_source_and_invalid_ones() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        let ca_b64 = STANDARD.encode(PEM);
        write(
            &r.join("dir/.kube/config"),
            kubeconfig_yaml(&ca_b64, "a2V5").as_bytes(),
        );
        write(&r.join("dir/plain.pem"), PEM);
        // Looks like a kubeconfig but is not YAML: a plain file for the parser.
        write(
            &r.join("dir/notes.txt"),
            b"clusters: [ certificate-authority-data: {{{ ",
        );
        let out = run(cfg(SourceKind::File, &[&r.join("dir")]));
        let its = items(&out);
        let kube_items = its
            .iter()
            .filter(|i| i.sref.label("embedded_kind").is_some())
            .count();
        assert_eq!(
            kube_items, 1,
            "only the embedded CA (referenced files missing)"
        );
        assert!(its.iter().all(|i| i.sref.kind == SourceKind::File));
        assert!(its.iter().any(|i| i.sref.location.ends_with("plain.pem")));
        assert!(its.iter().any(|i| i.sref.location.ends_with("notes.txt")));
        // In a kubeconfig source, invalid YAML is a decode error; zero entries is nothing.
        write(&r.join("k/bad"), b"clusters: [ {{{ ");
        write(
            &r.join("k/tokens"),
            b"users:\n- name: x\n  user:\n    token: abc\n",
        );
        let out = run(cfg(SourceKind::Kubeconfig, &[&r.join("k")]));
        assert_eq!(
            errors(&out),
            vec![(Reason::DecodeFailed, show(&r.join("k/bad")))]
        );
        assert!(items(&out).is_empty());
        assert_eq!(out.objects.len(), 2);
    }

    #[test]
    fn path_keys_are_unique_and_stable() {
        assert_eq!(path_key(Path::new("/a/b.pem")), "/a/b.pem");
        let raw = Path::new(OsStr::from_bytes(b"/a/\xffb"));
        assert_eq!(path_key(raw), "/a/\\xffb");
        assert_eq!(path_key(Path::new("/a/\\xffb")), "/a/\\\\xffb");
    }

    #[tokio::test]
    async fn scan_through_the_trait() {
        let t = tempfile::tempdir().unwrap();
        write(&t.path().join("a.pem"), PEM);
        let src = Arc::new(FileSource::new(cfg(SourceKind::File, &[t.path()])));
        assert_eq!(src.kinds(), vec![SourceKind::File]);
        assert_eq!(src.name(), "t");
        let ctx = ScanCtx {
            now: chrono::Utc::now(),
            prev_versions: Arc::new(HashMap::new()),
        };
        let out = src.clone().scan(ctx).await;
        assert_eq!(items(&out).len(), 1);
    }

    /// Whether the current process bypasses file permissions (root).
    fn permissions_bypassed(dir: &Path) -> bool {
        let p = dir.join("probe");
        write(&p, b"x");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o000)).unwrap();
        File::open(&p).is_ok()
    }

    /// Permission checks; meaningful only without root privileges. When run as root,
    /// `permission_denied` re-executes this test as `nobody` via `setpriv`.
    #[test]
    #[ignore]
    fn unprivileged_permission_checks() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        if permissions_bypassed(r) {
            eprintln!("SKIPPED: permissions are not enforced for this user");
            return;
        }
        fs::remove_file(r.join("probe")).unwrap();
        write(&r.join("ok.pem"), PEM);
        write(&r.join("secret.pem"), PEM);
        write(&r.join("closed/inner.pem"), PEM);
        write(&r.join("big-and-closed.pem"), &[b'A'; 100]);
        fs::set_permissions(r.join("secret.pem"), fs::Permissions::from_mode(0o000)).unwrap();
        fs::set_permissions(
            r.join("big-and-closed.pem"),
            fs::Permissions::from_mode(0o000),
        )
        .unwrap();
        fs::set_permissions(r.join("closed"), fs::Permissions::from_mode(0o000)).unwrap();
        let mut c = cfg(SourceKind::File, &[r]);
        c.max_file_size = 80;
        let out = run(c);
        assert!(out.failure.is_none());
        assert_eq!(item_paths(&out), vec![show(&r.join("ok.pem"))]);
        let mut errs = errors(&out);
        errs.sort();
        assert_eq!(
            errs,
            vec![
                (Reason::PermissionDenied, show(&r.join("closed"))),
                (Reason::PermissionDenied, show(&r.join("secret.pem"))),
                // Size is decided from metadata: the unreadable file is never opened.
                (Reason::TooLarge, show(&r.join("big-and-closed.pem"))),
            ]
        );
        // Every root unreadable → source-level failure.
        let out = run(cfg(SourceKind::File, &[&r.join("closed")]));
        let f = out.failure.expect("source failure");
        assert_eq!(f.reason, Reason::PermissionDenied);
        assert!(out.objects.is_empty());
        fs::set_permissions(r.join("closed"), fs::Permissions::from_mode(0o755)).unwrap();
        eprintln!("PASSED: unprivileged permission checks");
    }

    #[test]
    fn permission_denied() {
        let t = tempfile::tempdir().unwrap();
        if !permissions_bypassed(t.path()) {
            unprivileged_permission_checks();
            return;
        }
        // Root: drop privileges by re-running the ignored test as `nobody`.
        let exe = std::env::current_exe().unwrap();
        let res = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&exe)
            .args([
                "--exact",
                "sources::files::tests::unprivileged_permission_checks",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TMPDIR", "/tmp")
            .output();
        match res {
            Ok(o) => {
                let stderr = String::from_utf8_lossy(&o.stderr);
                let stdout = String::from_utf8_lossy(&o.stdout);
                if stderr.contains("PASSED: unprivileged permission checks") {
                    assert!(o.status.success(), "{stdout}\n{stderr}");
                    eprintln!("permission checks passed as uid 65534");
                } else if stdout.contains("FAILED") || stderr.contains("panicked") {
                    panic!("unprivileged permission test failed:\n{stdout}\n{stderr}");
                } else {
                    // SKIPPED (privileges not dropped) or setpriv could not run the binary.
                    eprintln!(
                        "permission test not run as an unprivileged user:\n{stdout}\n{stderr}"
                    );
                }
            }
            Err(e) => eprintln!("permission test skipped: cannot run setpriv: {e}"),
        }
    }
}

#[cfg(test)]
mod version_text_tests {
    use super::push_decimal;

    #[test]
    fn push_decimal_prints_like_display() {
        for n in [
            0i128,
            7,
            -7,
            10,
            1_700_000_000_123_456_789,
            -1_700_000_000_123_456_789,
            i128::from(u64::MAX),
            i128::from(u64::MAX) + 1,
            i128::MAX,
            i128::MIN,
        ] {
            let mut s = String::new();
            push_decimal(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }
}
