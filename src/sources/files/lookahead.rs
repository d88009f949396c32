//! Look-ahead: the system calls (stat, version, read when changed) for one
//! listed directory's entries, done ahead on up to [`LOOKAHEAD_THREADS`] threads
//! while the walk consumes the results in order.

use super::*;

/// Threads (the walking one included) that do one directory's look-ahead.
pub const LOOKAHEAD_THREADS: usize = 4;
/// Directories with fewer entries are looked ahead on the walking thread only.
pub const LOOKAHEAD_MIN: usize = 64;

/// System calls done ahead for one directory entry (see the module docs).
pub(super) struct Ahead {
    pub(super) path: PathBuf,
    /// The path matches an `exclude` pattern (nothing else was done).
    pub(super) excluded: bool,
    /// `symlink_metadata(path)`; `None` when the walk was cancelled.
    pub(super) lmeta: Option<io::Result<Metadata>>,
    /// Set for a regular file (not a symlink) that is selected.
    pub(super) file: Option<AheadFile>,
}

/// A regular file's key, version and, when it changed since the last scan, content.
pub(super) struct AheadFile {
    pub(super) key: String,
    pub(super) base: String,
    pub(super) read: Option<Result<Wipe, ReadErr>>,
}

/// What the look-ahead threads share (read-only).
pub(super) struct Lookahead<'a> {
    pub(super) excludes: &'a [OsString],
    pub(super) pattern: Option<&'a OsString>,
    pub(super) prev: &'a HashMap<String, String>,
    pub(super) old_refs: &'a HashMap<String, Vec<PathBuf>>,
    pub(super) max_file_size: u64,
    pub(super) cancel: &'a AtomicBool,
}

impl Lookahead<'_> {
    pub(super) fn run(&self, dir: &Path, name: &OsString, dirent: &fs::DirEntry) -> Ahead {
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
    pub(super) fn run_all(&self, dir: &Path, names: &[(OsString, fs::DirEntry)]) -> Vec<Ahead> {
        const BLOCK: usize = 32;
        let threads = if names.len() < LOOKAHEAD_MIN {
            1
        } else {
            crate::sources::available_cores().clamp(1, LOOKAHEAD_THREADS)
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
