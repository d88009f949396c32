//! The host-file source: `kind: file` and `kind: kubeconfig`.
//!
//! # Layout
//!
//! * this file — the [`FileSource`] (configuration, `Source` impl, one scan);
//! * `walk.rs` — roots, directories, symlinks, excludes, the file limit;
//! * `lookahead.rs` — the per-directory look-ahead threads;
//! * `watch.rs` — change notification and the replay of the last walk;
//! * `kubeconf.rs` — kubeconfig expansion (embedded and referenced certificates);
//! * `read.rs` — safe reads (regular files only, capped, wiped buffers);
//! * `keys.rs` — object keys, versions and path display;
//! * `platform.rs` — platform constants (`O_NONBLOCK`).
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
//! Only regular files are read; a socket, FIFO or device that is named or matched
//! (a configured path, a glob match, any entry of a walked directory) is a located
//! `read_failed` error "not a regular file (FIFO)", never opened. Files are
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
//! In a Kubernetes atomic-writer directory (a mounted Secret, ConfigMap or projected
//! volume: it holds a `..data` symlink to a timestamped `..2026_12_07_…` directory,
//! and the visible names are symlinks through `..data`), the entries whose names
//! begin with `..` are walked last, so a certificate is reached first, and labelled,
//! under its stable path (`/etc/tls/tls.crt`), not under the timestamped directory
//! that changes on every update.
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
//! when it grew past the cap while being read; the cap is `max_file_size`, at most
//! [`MAX_FILE_SIZE_IN_EFFECT`]), `broken_symlink`, `read_failed` (also a FIFO,
//! socket or device). A file that vanishes between the listing and the read is
//! gone, not an error.
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
//! error. The references of a kubeconfig *found* by the walk (not named by the
//! configuration) are confined to the source's configured paths (see `kubeconf.rs`):
//! outside, a `read_failed` error decided without looking the file up. `client-key-data` is never decoded and `client-key` files are never read;
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

use crate::model::{ErrorEntry, Failure, Reason, SourceKind, SourceRef};
use crate::parse::kubeconfig::{self, EntryContent};
use crate::parse::{FormatHint, ParseOptions};
use config::{FileSourceConfig, WatchEnabled};

use super::fswatch::{Session, WatchStats, Watcher};
use super::glob;
use super::{BoxFuture, Content, Item, Object, RescanSignal, ScanCtx, Source, SourceOutput};

pub mod config;
mod exposure;
mod keys;
mod kubeconf;
mod lookahead;
mod platform;
mod read;
#[cfg(test)]
mod tests;
mod walk;
mod watch;

use keys::*;
use lookahead::*;
use platform::*;
/// Safe reads for other sources that read host files (regular files only, size cap).
pub(crate) use read::read_regular;
use read::*;
use walk::*;
use watch::*;

pub(crate) use keys::path_key;
pub use lookahead::{LOOKAHEAD_MIN, LOOKAHEAD_THREADS};

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
    /// Key exposure facts of the files seen (`kind: file` only).
    exposure: Mutex<exposure::Exposure>,
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

/// The largest `max_file_size` in effect: the parser's cap on one object
/// ([`crate::parse::MAX_OBJECT_LEN`], 64 MiB). Reading a larger file whole only
/// to have the parser refuse it cost seconds and a GiB of memory, so a configured
/// `max_file_size` above it (validation accepts up to 1 GiB, and configurations
/// that say so keep loading) is clamped to it with a warning: such files are
/// `too_large`, decided from their size before they are opened.
pub const MAX_FILE_SIZE_IN_EFFECT: u64 = crate::parse::MAX_OBJECT_LEN as u64;

impl FileSource {
    pub fn new(mut cfg: FileSourceConfig) -> Self {
        if cfg.max_file_size > MAX_FILE_SIZE_IN_EFFECT {
            warn!(
                source = %cfg.name,
                configured = cfg.max_file_size,
                in_effect = MAX_FILE_SIZE_IN_EFFECT,
                "max_file_size is above the parser's limit of 64MiB per object; 64MiB is used"
            );
            cfg.max_file_size = MAX_FILE_SIZE_IN_EFFECT;
        }
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
            exposure: Mutex::new(exposure::Exposure::default()),
        }
    }

    /// Key exposure findings (`kind: file`): update the per-file facts with this
    /// scan's objects and report the complete current list.
    fn with_exposure(&self, mut out: SourceOutput) -> SourceOutput {
        if self.cfg.kind == SourceKind::File {
            let mut ex = lock(&self.exposure);
            ex.update(&out.objects, self.cfg.max_file_size);
            out.findings = ex.findings();
        }
        out
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
                findings: Vec::new(),
                series: Default::default(),
                objects: Vec::new(),
                failure: Some(ErrorEntry::new(first.source, first.reason, message)),
            };
        }
        for (key, e) in failed_roots {
            objects.push(error_object(key, e));
        }
        SourceOutput {
            findings: Vec::new(),
            series: Default::default(),
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
                    return self.with_exposure(out);
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
                Ok(out) => self.with_exposure(out),
                Err(e) => SourceOutput {
                    findings: Vec::new(),
                    series: Default::default(),
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
