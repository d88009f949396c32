//! Kubeconfig expansion: one item per embedded or referenced certificate of a
//! kubeconfig file, its entry errors, and the referenced files (read under the
//! same safe-read rules; keys are never read).
//!
//! # Confinement of references
//!
//! A kubeconfig *found* by the walk (in a walked directory, or recognised by its
//! content in a `kind: file` source) is data anyone able to write there may have
//! planted: `client-certificate: /etc/shadow`. Its file references are followed
//! only when the referenced path, made absolute against the kubeconfig's directory
//! and normalised lexically (`.` and `..` removed, no file system access), lies
//! below one of the source's configured paths (a glob's literal prefix). Otherwise
//! the entry is a `read_failed` error "outside the configured paths" decided before
//! anything is looked up, so the error never tells whether the file exists. A
//! kubeconfig *named* by the configuration (a configured path itself, or a file a
//! configured glob of a `kind: kubeconfig` source matched, such as
//! `/etc/kubernetes/*.conf`) is trusted as the user's choice: kubelet.conf's
//! `/var/lib/kubelet/pki/…` keeps working. To follow references elsewhere from a
//! found kubeconfig, add their directory to `paths`. Without `follow_symlinks`, a
//! referenced path that is itself a symlink is refused as the walk would skip it.

use std::path::Component;

use super::*;

/// `path` with `.` removed and `..` applied, without touching the file system
/// (`..` at the root stays at the root).
pub(super) fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Whether `target` (normalised) is below (or is) one of the configured roots.
pub(super) fn within_roots(patterns: &[OsString], target: &Path) -> bool {
    let target = normalise(target);
    patterns.iter().any(|p| {
        let root = if glob::is_glob(p) {
            glob::literal_prefix(p)
        } else {
            PathBuf::from(p)
        };
        let root = normalise(&root);
        !root.as_os_str().is_empty() && target.starts_with(&root)
    })
}

impl Walk<'_> {
    /// Items of one kubeconfig, its entry errors, and the referenced files.
    /// `named`: the kubeconfig was named by the configuration (see the module docs).
    pub(super) fn kubeconfig_items(
        &mut self,
        path: &Path,
        entries: Vec<Result<kubeconfig::KubeconfigEntry, kubeconfig::EntryError>>,
        named: bool,
    ) -> (Vec<Item>, Vec<ErrorEntry>, Vec<PathBuf>) {
        // A configured path itself, or a glob match in a kubeconfig source.
        let trusted = named
            && (self.cfg().kind == SourceKind::Kubeconfig
                || self
                    .patterns
                    .iter()
                    .any(|p| !glob::is_glob(p) && Path::new(p) == path));
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
                        if !trusted && !within_roots(&self.patterns, &target) {
                            // Decided on the text alone: nothing outside is looked up.
                            let sref = labelled(
                                self.src
                                    .sref(&location)
                                    .with_label("filename", kname.clone())
                                    .with_label("filepath", kpath.clone()),
                            );
                            errors.push(ErrorEntry::new(
                                sref,
                                Reason::ReadFailed,
                                format!(
                                    "referenced file {} is outside the configured paths of this source; not followed",
                                    show(&target)
                                ),
                            ));
                            continue;
                        }
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
                        match read_referenced(&target, max, self.cfg().follow_symlinks) {
                            Ok(data) => items.push(Item {
                                sref,
                                data,
                                hint: FormatHint::Auto,
                            }),
                            Err(f) => errors.push(f.at(sref)),
                        }
                    }
                },
            }
        }
        (items, errors, refs)
    }
}
