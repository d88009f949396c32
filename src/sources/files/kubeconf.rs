//! Kubeconfig expansion: one item per embedded or referenced certificate of a
//! kubeconfig file, its entry errors, and the referenced files (read under the
//! same safe-read rules; keys are never read).

use super::*;

impl Walk<'_> {
    /// Items of one kubeconfig, its entry errors, and the referenced files.
    pub(super) fn kubeconfig_items(
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
                            Err(f) => errors.push(f.at(sref)),
                        }
                    }
                },
            }
        }
        (items, errors, refs)
    }
}
