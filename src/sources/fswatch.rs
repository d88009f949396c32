//! Change notification for the file source: Linux inotify, used as an accelerator
//! of the walk, never instead of it.
//!
//! A [`Watcher`] (an inotify descriptor and one thread that sleeps in `poll` on
//! it) is created by a [`super::files::FileSource`] only in a
//! long-running scraper (`serve`, which attaches a rescan signal; the one-shot
//! `scan` command never creates one). During each full walk the source registers
//! every directory it depends on *before* reading it ([`Session`]):
//!
//! * every directory the walk lists, recursively (all events), including the real
//!   directories behind followed symlinks (inotify resolves the path);
//! * the parent of every configured path and glob base directory, filtered to the
//!   one name (a root replaced, created or removed); when that parent does not
//!   exist, the nearest existing ancestor, filtered to the next component;
//! * for each followed symlink (and each file a kubeconfig references), the
//!   directory of every link of the chain and of its final target, filtered to the
//!   name.
//!
//! Registering before the `stat`/`read_dir` it protects makes the walk's view and
//! the watch set consistent: any change after the registration is an event. The
//! source may then answer a later scan with the previous walk's result (no system
//! call per file) when: the watcher is healthy, every registration of that walk
//! succeeded, the walk was complete (no listing error, limit, cancellation), no
//! relevant event has been read since the walk *started* (pending events are read
//! synchronously before deciding), and the walk is younger than
//! `watch.verify_interval`.
//!
//! Relevant events: create, delete, modify, attribute change, close after write,
//! moves, the watched directory itself deleted/moved/unmounted, a watch removed by
//! the kernel, and a queue overflow. Each one also schedules the scraper's rescan
//! signal after `watch.debounce` (a fixed window from the first event: a burst of
//! writes asks for one rescan). Reads done by the walk itself (open, access) are
//! not subscribed to.
//!
//! A registration that fails (`ENOSPC`: `fs.inotify.max_user_watches` reached;
//! `EACCES`) makes that walk unusable for reuse, so the next scan walks again; the
//! first failure is logged as a warning. A read error on the inotify descriptor
//! marks the watcher broken (one warning): that scan walks, and the source builds a
//! new watcher for the next one. Watches no longer needed after a complete walk
//! are removed.
//!
//! What inotify does not see — changes made on another host (NFS, CIFS), by FUSE
//! file systems, through a hard link in an unwatched directory, through a
//! writable `mmap`, or a re-pointed symlink in the *middle* of a path — is picked
//! up by the periodic verification walk (`watch.verify_interval`).

/// Statistics of a watcher (tests, benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchStats {
    /// Relevant events (and queue overflows) read so far.
    pub events: u64,
    /// Rescan signals fired (one per debounce window).
    pub signals: u64,
    /// Directories currently watched.
    pub watches: usize,
}

#[cfg(target_os = "linux")]
pub use linux::{Session, Watcher};

#[cfg(not(target_os = "linux"))]
pub use other::{Session, Watcher};

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::{HashMap, HashSet};
    use std::ffi::{OsStr, OsString};
    use std::io;
    use std::mem::MaybeUninit;
    use std::os::fd::OwnedFd;
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex, MutexGuard};
    use std::time::Duration;

    use rustix::event::{eventfd, poll, EventfdFlags, PollFd, PollFlags, Timespec};
    use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
    use rustix::io::Errno;
    use std::time::Instant;
    use tracing::{debug, warn};

    use super::WatchStats;
    use crate::sources::RescanSignal;

    /// Longest symlink chain followed when registering its directories.
    const MAX_LINK_HOPS: usize = 40;

    fn mask() -> WatchFlags {
        WatchFlags::CREATE
            | WatchFlags::DELETE
            | WatchFlags::MODIFY
            | WatchFlags::ATTRIB
            | WatchFlags::CLOSE_WRITE
            | WatchFlags::MOVED_FROM
            | WatchFlags::MOVED_TO
            | WatchFlags::DELETE_SELF
            | WatchFlags::MOVE_SELF
            | WatchFlags::ONLYDIR
    }

    /// What one watched directory is watched for.
    #[derive(Debug, Default)]
    struct Entry {
        /// Generation of the last walk that needed every event of the directory
        /// (0: none).
        all: u64,
        /// Names whose events matter, with the generation that last needed them.
        names: HashMap<OsString, u64>,
    }

    #[derive(Debug, Default)]
    struct Table {
        by_wd: HashMap<i32, Entry>,
        generation: u64,
        /// Watches we removed: their `IN_IGNORED` is not a change.
        removed: HashSet<i32>,
    }

    struct Inner {
        /// The inotify instance (non-blocking).
        fd: OwnedFd,
        /// Written to wake the reader thread (to stop, or to see a new deadline).
        wake: OwnedFd,
        stopping: AtomicBool,
        /// When the rescan signal fires next (first relevant event + debounce).
        deadline: Mutex<Option<Instant>>,
        table: Mutex<Table>,
        /// Serialises reading the descriptor (task and synchronous drains).
        reading: Mutex<()>,
        events: AtomicU64,
        signals: AtomicU64,
        broken: AtomicBool,
        warned_add: AtomicBool,
        /// Test hook: every registration fails as if the watch limit was reached.
        fail_adds: AtomicBool,
        rescan: Mutex<Option<RescanSignal>>,
        debounce: Duration,
        source: String,
    }

    fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One inotify instance and the thread that reads it (it sleeps in `poll`).
    /// Dropping the watcher stops the thread, which closes the descriptor (that
    /// removes every watch).
    pub struct Watcher {
        inner: Arc<Inner>,
    }

    impl Drop for Watcher {
        fn drop(&mut self) {
            self.inner.stopping.store(true, Ordering::SeqCst);
            self.inner.wake();
        }
    }

    impl Watcher {
        /// Create the inotify instance and its reader thread.
        pub fn new(source: &str, rescan: RescanSignal, debounce: Duration) -> io::Result<Self> {
            let fd = inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC)?;
            let wake = eventfd(0, EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC)?;
            let inner = Arc::new(Inner {
                fd,
                wake,
                stopping: AtomicBool::new(false),
                deadline: Mutex::new(None),
                table: Mutex::new(Table::default()),
                reading: Mutex::new(()),
                events: AtomicU64::new(0),
                signals: AtomicU64::new(0),
                broken: AtomicBool::new(false),
                warned_add: AtomicBool::new(false),
                fail_adds: AtomicBool::new(false),
                rescan: Mutex::new(Some(rescan)),
                debounce,
                source: source.to_string(),
            });
            let for_thread = inner.clone();
            std::thread::Builder::new()
                .name("certvigil-fswatch".into())
                .spawn(move || run(&for_thread))?;
            Ok(Watcher { inner })
        }

        /// Replace the rescan signal (a scraper attached a new one).
        pub fn set_rescan(&self, signal: RescanSignal) {
            *lock(&self.inner.rescan) = Some(signal);
        }

        /// The descriptor could not be read: walk every scan, build a new watcher.
        pub fn is_broken(&self) -> bool {
            self.inner.broken.load(Ordering::SeqCst)
        }

        /// Relevant events read so far, after reading what is pending now.
        pub fn events_now(&self) -> u64 {
            if self.inner.drain() > 0 {
                // The reader thread may not have seen these events: it must still
                // fire the rescan signal for them.
                self.inner.wake();
            }
            self.inner.events.load(Ordering::SeqCst)
        }

        pub fn stats(&self) -> WatchStats {
            WatchStats {
                events: self.inner.events.load(Ordering::SeqCst),
                signals: self.inner.signals.load(Ordering::SeqCst),
                watches: lock(&self.inner.table).by_wd.len(),
            }
        }

        /// Test hook: make every registration fail (as with `ENOSPC`).
        pub fn set_fail_adds(&self, on: bool) {
            self.inner.fail_adds.store(on, Ordering::SeqCst);
        }

        /// Start registering the watches of one walk.
        pub fn begin(&self) -> Session<'_> {
            let generation = {
                let mut t = lock(&self.inner.table);
                t.generation += 1;
                t.generation
            };
            Session {
                inner: &self.inner,
                generation,
                events_at_start: self.events_now(),
                failed: false,
            }
        }
    }

    /// The registrations of one walk.
    pub struct Session<'a> {
        inner: &'a Inner,
        generation: u64,
        events_at_start: u64,
        failed: bool,
    }

    /// Error kinds that mean "this path does not exist (as a directory)".
    fn missing(e: Errno) -> bool {
        e == Errno::NOENT || e == Errno::NOTDIR
    }

    impl Session<'_> {
        /// Relevant events read before the walk started.
        pub fn events_at_start(&self) -> u64 {
            self.events_at_start
        }

        /// Whether some registration failed (the walk cannot be reused).
        pub fn failed(&self) -> bool {
            self.failed
        }

        fn add(&mut self, dir: &Path, name: Option<&OsStr>) -> Result<(), Errno> {
            if self.inner.fail_adds.load(Ordering::Relaxed) {
                return Err(Errno::NOSPC);
            }
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            // The table is locked across the system call so that the reader never
            // sees an event of a new watch without its filter (it would then count
            // it, which is only conservative, but keeps the table exact).
            let mut t = lock(&self.inner.table);
            let wd = inotify::add_watch(&self.inner.fd, dir, mask())?;
            t.removed.remove(&wd);
            let e = t.by_wd.entry(wd).or_default();
            match name {
                None => e.all = self.generation,
                Some(n) => {
                    e.names.insert(n.to_os_string(), self.generation);
                }
            }
            Ok(())
        }

        fn fail(&mut self, path: &Path, e: Errno) {
            self.failed = true;
            let msg = if e == Errno::NOSPC {
                "the inotify watch limit is reached (sysctl fs.inotify.max_user_watches)"
                    .to_string()
            } else {
                io::Error::from(e).to_string()
            };
            if !self.inner.warned_add.swap(true, Ordering::Relaxed) {
                warn!(
                    source = %self.inner.source,
                    path = %path.display(),
                    "cannot watch a directory for changes ({msg}); the source walks every scan until watching works"
                );
            } else {
                debug!(source = %self.inner.source, path = %path.display(), "cannot watch: {msg}");
            }
        }

        /// Watch every event of a directory the walk is about to list.
        pub fn watch_dir(&mut self, dir: &Path) {
            if let Err(e) = self.add(dir, None) {
                self.fail(dir, e);
            }
        }

        /// Watch `path`'s name in its parent directory (before `path` is stat'ed);
        /// for a missing parent, the nearest existing ancestor and the next name.
        pub fn watch_path(&mut self, path: &Path) {
            if path == Path::new("/") {
                return;
            }
            // (parent, name) pairs from `path` upwards, up to the first that works.
            let mut tried: Vec<(PathBuf, OsString)> = Vec::new();
            let mut p = path.to_path_buf();
            loop {
                let (Some(parent), Some(name)) = (p.parent(), p.file_name()) else {
                    // A path ending in `..`: no single name to watch for.
                    self.fail(path, Errno::INVAL);
                    return;
                };
                let parent = parent.to_path_buf();
                let name = name.to_os_string();
                match self.add(&parent, Some(&name)) {
                    Ok(()) => break,
                    Err(e) if missing(e) && parent.parent().is_some() => {
                        tried.push((parent.clone(), name));
                        p = parent;
                    }
                    Err(e) if missing(e) => return,
                    Err(e) => {
                        self.fail(&parent, e);
                        return;
                    }
                }
            }
            // An ancestor is watched now: a directory created since its
            // registration was tried is watched too (or its creation is an event).
            while let Some((parent, name)) = tried.pop() {
                match self.add(&parent, Some(&name)) {
                    Ok(()) => {}
                    Err(e) if missing(e) => return,
                    Err(e) => {
                        self.fail(&parent, e);
                        return;
                    }
                }
            }
        }

        /// Watch the directories of every link of the symlink chain starting at
        /// `link` (itself in a watched directory) and of its final target.
        pub fn watch_link_chain(&mut self, link: &Path) {
            let mut p = link.to_path_buf();
            for _ in 0..MAX_LINK_HOPS {
                let target = match std::fs::read_link(&p) {
                    Ok(t) => t,
                    // Not a symlink (the end of the chain) or gone (an event).
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::InvalidInput | io::ErrorKind::NotFound
                        ) || e.raw_os_error() == Some(Errno::NOTDIR.raw_os_error()) =>
                    {
                        return
                    }
                    Err(e) => {
                        self.fail(&p, Errno::from_io_error(&e).unwrap_or(Errno::IO));
                        return;
                    }
                };
                let next = if target.is_absolute() {
                    target
                } else {
                    p.parent().unwrap_or(Path::new("")).join(target)
                };
                self.watch_path(&next);
                p = next;
            }
            // A longer chain is a loop (ELOOP): every directory of it is watched.
        }

        /// End of the walk. After a complete walk, watches it did not need are
        /// removed.
        pub fn finish(self, complete: bool) {
            if !complete {
                return;
            }
            let g = self.generation;
            let mut t = lock(&self.inner.table);
            let mut drop_wds = Vec::new();
            for (wd, e) in t.by_wd.iter_mut() {
                if e.all != g {
                    e.all = 0;
                }
                e.names.retain(|_, ng| *ng == g);
                if e.all == 0 && e.names.is_empty() {
                    drop_wds.push(*wd);
                }
            }
            for wd in drop_wds {
                t.by_wd.remove(&wd);
                if inotify::remove_watch(&self.inner.fd, wd).is_ok() {
                    t.removed.insert(wd);
                }
            }
        }
    }

    impl Inner {
        /// Whether one event means the source may have changed.
        fn relevant(&self, t: &mut Table, wd: i32, flags: ReadFlags, name: Option<&OsStr>) -> bool {
            if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                debug!(source = %self.source, "inotify queue overflow: the next scan walks");
                return true;
            }
            if flags.contains(ReadFlags::IGNORED) {
                t.by_wd.remove(&wd);
                return !t.removed.remove(&wd);
            }
            let Some(e) = t.by_wd.get(&wd) else {
                return true;
            };
            match name {
                None => true,
                Some(n) => e.all != 0 || e.names.contains_key(n),
            }
        }

        /// Read every pending event; returns how many were relevant.
        fn drain(&self) -> u64 {
            let _reading = lock(&self.reading);
            let mut buf = [MaybeUninit::<u8>::uninit(); 8192];
            let mut reader = inotify::Reader::new(&self.fd, &mut buf);
            let mut relevant = 0u64;
            loop {
                match reader.next() {
                    Ok(ev) => {
                        let name = ev.file_name().map(|c| OsStr::from_bytes(c.to_bytes()));
                        let mut t = lock(&self.table);
                        if self.relevant(&mut t, ev.wd(), ev.events(), name) {
                            relevant += 1;
                        }
                    }
                    Err(Errno::AGAIN) => break,
                    Err(Errno::INTR) => continue,
                    Err(e) => {
                        if !self.broken.swap(true, Ordering::SeqCst) {
                            warn!(
                                source = %self.source,
                                "reading file change notifications failed ({}); the source walks every scan",
                                io::Error::from(e)
                            );
                        }
                        relevant += 1;
                        break;
                    }
                }
            }
            if relevant > 0 {
                self.events.fetch_add(relevant, Ordering::SeqCst);
                lock(&self.deadline).get_or_insert_with(|| Instant::now() + self.debounce);
            }
            relevant
        }

        fn wake(&self) {
            let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
        }

        /// The watcher cannot be trusted any more: count it as a change, say so
        /// once, ask for a rescan.
        fn fail(&self, what: &str) {
            if !self.broken.swap(true, Ordering::SeqCst) {
                warn!(source = %self.source, "{what}; the source walks every scan");
            }
            self.events.fetch_add(1, Ordering::SeqCst);
            self.fire();
        }

        fn fire(&self) {
            self.signals.fetch_add(1, Ordering::SeqCst);
            if let Some(s) = lock(&self.rescan).clone() {
                s.notify_one();
            }
        }
    }

    /// Read events as they come; ask for one rescan per debounce window.
    fn run(inner: &Inner) {
        let mut counter = [0u8; 8];
        loop {
            let deadline = *lock(&inner.deadline);
            let now = Instant::now();
            if deadline.is_some_and(|d| d <= now) {
                *lock(&inner.deadline) = None;
                inner.fire();
                continue;
            }
            let timeout = deadline.map(|d| {
                Timespec::try_from(d.saturating_duration_since(now)).unwrap_or(Timespec {
                    tv_sec: 1,
                    tv_nsec: 0,
                })
            });
            let mut fds = [
                PollFd::new(&inner.fd, PollFlags::IN),
                PollFd::new(&inner.wake, PollFlags::IN),
            ];
            let polled = poll(&mut fds, timeout.as_ref());
            let (revents, woken) = (fds[0].revents(), fds[1].revents());
            match polled {
                Ok(_) => {}
                Err(Errno::INTR) => continue,
                Err(e) => {
                    inner.fail(&format!(
                        "waiting for file change notifications failed ({})",
                        io::Error::from(e)
                    ));
                    return;
                }
            }
            if !woken.is_empty() {
                let _ = rustix::io::read(&inner.wake, &mut counter);
                if inner.stopping.load(Ordering::SeqCst) {
                    return;
                }
            }
            if revents.intersects(PollFlags::ERR | PollFlags::NVAL | PollFlags::HUP) {
                inner.fail("the file change notification descriptor failed");
                return;
            }
            if revents.contains(PollFlags::IN) {
                inner.drain();
                if inner.broken.load(Ordering::SeqCst) {
                    inner.fire();
                    return;
                }
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod other {
    //! Platforms without inotify: no watcher can be built; the source walks.
    use std::io;
    use std::path::Path;
    use std::time::Duration;

    use super::WatchStats;
    use crate::sources::RescanSignal;

    pub struct Watcher(());

    impl Watcher {
        pub fn new(_source: &str, _rescan: RescanSignal, _debounce: Duration) -> io::Result<Self> {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "file change notification is implemented for Linux (inotify) only",
            ))
        }
        pub fn set_rescan(&self, _signal: RescanSignal) {}
        pub fn is_broken(&self) -> bool {
            true
        }
        pub fn events_now(&self) -> u64 {
            0
        }
        pub fn stats(&self) -> WatchStats {
            WatchStats::default()
        }
        pub fn set_fail_adds(&self, _on: bool) {}
        pub fn begin(&self) -> Session<'_> {
            Session(std::marker::PhantomData)
        }
    }

    pub struct Session<'a>(std::marker::PhantomData<&'a ()>);

    impl Session<'_> {
        pub fn events_at_start(&self) -> u64 {
            0
        }
        pub fn failed(&self) -> bool {
            true
        }
        pub fn watch_dir(&mut self, _dir: &Path) {}
        pub fn watch_path(&mut self, _path: &Path) {}
        pub fn watch_link_chain(&mut self, _link: &Path) {}
        pub fn finish(self, _complete: bool) {}
    }
}
