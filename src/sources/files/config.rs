//! Configuration of the file sources (`kind: file` and `kind: kubeconfig` entries of
//! `sources:`): the registry entry [`FileSpec`].

use std::sync::Arc;

use crate::config::raw::{RawAutoBool, RawFileSource, RawFileWatch, RawSize};
use crate::config::{format_duration, EntryCtx, KindConfig, WatchEnabled};
use crate::model::SourceKind;
use crate::sources::{Source, SourceSpec};

pub use crate::config::{FileSourceConfig, FileWatchConfig};

impl KindConfig for FileSourceConfig {
    fn kind(&self) -> &str {
        self.kind.as_str()
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// The registry entry of `kind: file` and `kind: kubeconfig`.
pub struct FileSpec;

impl SourceSpec for FileSpec {
    const KINDS: &'static [&'static str] = &["file", "kubeconfig"];
    const KEYS: &'static [&'static str] = &[
        "name",
        "paths",
        "exclude",
        "follow_symlinks",
        "max_file_size",
        "pkcs12_passwords",
        "try_empty_password",
        "keystore_passwords",
        "max_files",
        "watch",
    ];
    type Raw = RawFileSource;
    type Config = FileSourceConfig;

    fn validate(raw: &RawFileSource, ctx: &mut EntryCtx<'_>) -> FileSourceConfig {
        crate::config::validate::file_source(raw, ctx)
    }

    fn to_raw(f: &FileSourceConfig) -> RawFileSource {
        let is_file = f.kind == SourceKind::File;
        RawFileSource {
            name: Some(f.name.clone()),
            paths: Some(f.paths.clone()),
            exclude: Some(f.exclude.clone()),
            follow_symlinks: Some(f.follow_symlinks),
            max_file_size: Some(RawSize::Bytes(f.max_file_size)),
            pkcs12_passwords: is_file.then(|| f.pkcs12_passwords.clone()),
            try_empty_password: is_file.then_some(f.try_empty_password),
            keystore_passwords: is_file.then(|| f.keystore_passwords.clone()),
            max_files: Some(f.max_files),
            watch: Some(RawFileWatch {
                enabled: Some(match f.watch.enabled {
                    WatchEnabled::Auto => RawAutoBool::Text("auto".into()),
                    WatchEnabled::On => RawAutoBool::Bool(true),
                    WatchEnabled::Off => RawAutoBool::Bool(false),
                }),
                verify_interval: Some(format_duration(f.watch.verify_interval)),
                debounce: Some(format_duration(f.watch.debounce)),
            }),
        }
    }

    fn build(cfg: &FileSourceConfig) -> Vec<Arc<dyn Source>> {
        vec![Arc::new(super::FileSource::new(cfg.clone()))]
    }
}
