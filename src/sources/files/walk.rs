//! The walk of one scan: roots, directories (iterative, sorted), symlinks,
//! deduplication by device/inode, `exclude` patterns, the file limit, and the
//! object (or object error) for each file.

use super::*;

pub(super) struct CancelOnDrop(pub(super) Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// How entries below a directory are selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Mode {
    /// Every file below.
    All,
    /// Only paths matching configured path number `i` (a glob).
    Glob(usize),
}

pub(super) struct Frame {
    pub(super) dir: PathBuf,
    pub(super) mode: Mode,
    /// The directory's entries, sorted by name, with their look-ahead results.
    pub(super) names: std::vec::IntoIter<Ahead>,
    /// The listing stopped early because of `max_files`.
    pub(super) truncated: bool,
}

pub(super) enum RootOutcome {
    Missing,
    Walked,
    /// The root's object key and its error.
    Failed(String, ErrorEntry),
}

pub(super) struct Walk<'a> {
    pub(super) src: &'a FileSource,
    /// Watch registrations of this walk (a watcher exists).
    pub(super) watch: Option<Session<'a>>,
    /// Something went wrong that the watcher cannot vouch for (a listing or stat
    /// error, a file that vanished): the walk's result is not reused.
    pub(super) incomplete: bool,
    pub(super) prev: &'a HashMap<String, String>,
    pub(super) cancel: &'a AtomicBool,
    pub(super) excludes: Vec<OsString>,
    /// `cfg.paths` after `~` expansion (glob patterns by index).
    pub(super) patterns: Vec<OsString>,
    pub(super) seen_files: HashSet<(u64, u64)>,
    pub(super) visited_dirs: HashSet<(u64, u64, Mode)>,
    /// Directory entries met so far (bounded by `max_files`).
    pub(super) entries: usize,
    pub(super) stopped: bool,
    pub(super) objects: Vec<Object>,
    pub(super) old_refs: HashMap<String, Vec<PathBuf>>,
    pub(super) new_refs: HashMap<String, Vec<PathBuf>>,
    pub(super) stack: Vec<Frame>,
}

impl Walk<'_> {
    pub(super) fn cfg(&self) -> &FileSourceConfig {
        &self.src.cfg
    }

    pub(super) fn excluded(&self, path: &Path) -> bool {
        is_excluded(&self.excludes, path)
    }

    /// Objects are deduplicated by key (first wins) once the walk is over, in
    /// [`dedup_keys`], rather than here: that avoids a copy of every key.
    pub(super) fn push_object(&mut self, obj: Object) {
        self.objects.push(obj);
    }

    pub(super) fn push_error(&mut self, path: &Path, reason: Reason, message: impl AsRef<str>) {
        let e = ErrorEntry::new(self.src.file_sref(path), reason, message);
        self.push_object(error_object(path_key(path), e));
    }

    pub(super) fn root(&mut self, configured: &str) -> RootOutcome {
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

    pub(super) fn root_failed(&mut self, path: &Path, e: &io::Error) -> RootOutcome {
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
    pub(super) fn literal_root(&mut self, path: &Path) -> RootOutcome {
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
            self.file(path, &meta, None, true);
            RootOutcome::Walked
        } else {
            // Named explicitly: reported, never opened.
            self.push_special(path, &meta);
            RootOutcome::Walked
        }
    }

    pub(super) fn walk_dir_root(&mut self, dir: &Path, meta: &Metadata, mode: Mode) -> RootOutcome {
        match self.enter_dir(dir, meta, mode) {
            Ok(()) => {}
            Err(e) => return self.root_failed(dir, &e),
        }
        self.drain();
        RootOutcome::Walked
    }

    /// Read a directory's names and push a frame. `Ok` also when already visited.
    pub(super) fn enter_dir(&mut self, dir: &Path, meta: &Metadata, mode: Mode) -> io::Result<()> {
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
        atomic_writer_last(&mut names);
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

    pub(super) fn drain(&mut self) {
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

    pub(super) fn limit_reached(&mut self, path: &Path) {
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
    pub(super) fn entry(&mut self, ahead: Ahead, mode: Mode) {
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
                // Named by the configuration when a glob matched the file itself
                // (not a file below a matched or configured directory).
                let named = matches!(mode, Mode::Glob(_));
                self.file(path, &meta, ahead_file.filter(|_| !is_symlink), named);
            }
        } else if selected(path) {
            // Matched (a file in a walked directory, or by a glob): reported,
            // never opened.
            self.push_special(path, &meta);
        } else {
            debug!(path = %show(path), "not a regular file and not selected; skipped");
        }
    }

    /// The error object of a FIFO, socket or device that was named or matched: a
    /// located `read_failed` "not a regular file" (version-less, like the other
    /// error objects: a watcher's replay repeats it). The file is never opened.
    pub(super) fn push_special(&mut self, path: &Path, meta: &Metadata) {
        if !self.seen_files.insert((meta.dev(), meta.ino())) {
            return;
        }
        let e = ErrorEntry::new(
            self.src.file_sref(path),
            Reason::ReadFailed,
            format!(
                "{} is not a regular file ({}); not read",
                show(path),
                special_kind(meta)
            ),
        );
        self.push_object(error_object(path_key(path), e));
    }

    /// One regular file (already stat'ed as `meta`, symlinks followed), with its
    /// look-ahead when it was stat'ed as a regular file in a directory listing.
    /// `named`: the file is a configured path or matched a configured glob (not
    /// found in a walked directory); see [`Walk::kubeconfig_items`].
    pub(super) fn file(
        &mut self,
        path: &Path,
        meta: &Metadata,
        ahead: Option<AheadFile>,
        named: bool,
    ) {
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
            Err(Failure {
                reason: Reason::NotFound,
                ..
            }) => {
                debug!(path = %show(path), "vanished before reading");
                self.incomplete = true;
                return;
            }
            Err(Failure {
                reason,
                message: msg,
            }) => {
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
                    let (items, errors, refs) = self.kubeconfig_items(path, entries, named);
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
}

/// Whether `path` matches one of the `exclude` patterns (see the module docs).
pub(super) fn is_excluded(excludes: &[OsString], path: &Path) -> bool {
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
pub(super) fn dedup_keys(objects: &mut Vec<Object>) {
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

pub(super) fn error_object(key: String, e: ErrorEntry) -> Object {
    Object {
        key,
        version: None,
        content: Content::Fresh {
            items: Vec::new(),
            errors: vec![e],
        },
    }
}

/// What a non-regular, non-directory file is, for messages.
pub(super) fn special_kind(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else {
        "special file"
    }
}

/// Name of the symlink by which the kubelet's atomic writer publishes the
/// current content of a Secret, ConfigMap or projected volume.
pub(super) const ATOMIC_DATA: &[u8] = b"..data";

/// In a Kubernetes atomic-writer directory (one holding a `..data` symlink: the
/// visible names are symlinks through `..data` into a timestamped `..<date>`
/// directory replaced on every update), walk the entries whose names begin with
/// `..` last. The visible, stable path (`/etc/tls/tls.crt`) is then reached first
/// and the same inode met again under the timestamped directory is a duplicate,
/// so `filepath` does not change on every update. The order of the other entries
/// is kept (sorted by name). Without `follow_symlinks` the visible symlinks are
/// skipped and the files are still found under the timestamped directory.
pub(super) fn atomic_writer_last(names: &mut [(OsString, fs::DirEntry)]) {
    let is_writer = names
        .iter()
        .any(|(n, e)| n.as_bytes() == ATOMIC_DATA && e.file_type().is_ok_and(|t| t.is_symlink()));
    if is_writer {
        // Stable: sorted order is kept within both groups.
        names.sort_by_key(|(n, _)| n.as_bytes().starts_with(b".."));
    }
}
