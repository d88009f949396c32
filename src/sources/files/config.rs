//! Configuration of the file sources (`kind: file` and `kind: kubeconfig` entries of
//! `sources:`): the registry entry [`FileSpec`].

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::check::{auto_bool, check_path_text, duration, size, Problems};
use crate::config::raw::{RawAutoBool, RawSize};
use crate::config::{format_duration, EntryCtx, KindConfig};
use crate::model::SourceKind;
use crate::sources::{Source, SourceSpec};

/// Default values of the file source keys (`default.yaml` shows the same values).
pub mod defaults {
    use std::time::Duration;

    pub const FOLLOW_SYMLINKS: bool = true;
    pub const MAX_FILE_SIZE: u64 = 1 << 20;
    pub const TRY_EMPTY_PASSWORD: bool = true;
    pub const MAX_FILES: usize = 200_000;
    pub const WATCH_VERIFY_INTERVAL: Duration = Duration::from_secs(3600);
    pub const WATCH_DEBOUNCE: Duration = Duration::from_secs(1);
}

/// A `file` or `kubeconfig` source.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSourceConfig {
    /// `SourceKind::File` or `SourceKind::Kubeconfig`.
    pub kind: SourceKind,
    pub name: String,
    /// Files, directories (scanned recursively) or globs (`*`, `?`, `**`).
    /// `~` at the start is the home directory. Missing paths are skipped quietly.
    pub paths: Vec<String>,
    /// Globs of paths to leave out.
    pub exclude: Vec<String>,
    /// Follow symlinks (with loop detection). Default true.
    pub follow_symlinks: bool,
    /// Files larger than this are reported as `too_large`. Default 1 MiB.
    pub max_file_size: u64,
    /// Passwords tried for PKCS#12 files.
    pub pkcs12_passwords: Vec<String>,
    /// Also try the empty password. Default true.
    pub try_empty_password: bool,
    /// Passwords tried for Java keystores (JKS, JCEKS).
    pub keystore_passwords: Vec<String>,
    /// Largest number of files one walk visits before it stops with an error.
    /// Default 200000.
    pub max_files: usize,
    /// Change notification while serving (`watch:`).
    pub watch: FileWatchConfig,
}

/// `sources[].watch`: change notification for a file source (Linux inotify), used
/// only by long-running `serve` (docs/configuration.md, `crate::sources::fswatch`).
#[derive(Debug, Clone, PartialEq)]
pub struct FileWatchConfig {
    pub enabled: WatchEnabled,
    /// Longest time a scan may reuse the previous walk's result because no change
    /// was notified; after that a full (incremental) walk runs anyway. Zero: every
    /// scan walks (notifications then only trigger prompt rescans). Default 1h.
    pub verify_interval: Duration,
    /// Delay between the first notified change and the rescan it asks for, so a
    /// burst of writes triggers one rescan. Default 1s.
    pub debounce: Duration,
}

impl Default for FileWatchConfig {
    fn default() -> Self {
        FileWatchConfig {
            enabled: WatchEnabled::Auto,
            verify_interval: defaults::WATCH_VERIFY_INTERVAL,
            debounce: defaults::WATCH_DEBOUNCE,
        }
    }
}

/// `sources[].watch.enabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchEnabled {
    /// Use inotify where the platform has it; elsewhere walk quietly.
    Auto,
    /// Like `Auto`, but a platform without inotify is logged as a warning.
    On,
    /// Never watch: every scan walks.
    Off,
}

/// One `kind: file` or `kind: kubeconfig` entry of `sources:`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFileSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_symlinks: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_size: Option<RawSize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs12_passwords: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub try_empty_password: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keystore_passwords: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_files: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<RawFileWatch>,
}

/// `sources[].watch:` — change notification while serving.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFileWatch {
    /// `auto`, `true` or `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<RawAutoBool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debounce: Option<String>,
}

/// A `kind: file` or `kind: kubeconfig` entry (`ctx.kind`).
pub fn file_source(raw: &RawFileSource, ctx: &mut EntryCtx<'_>) -> FileSourceConfig {
    let kind = match ctx.kind {
        "kubeconfig" => SourceKind::Kubeconfig,
        _ => SourceKind::File,
    };
    if kind == SourceKind::Kubeconfig {
        for (present, key) in [
            (raw.pkcs12_passwords.is_some(), "pkcs12_passwords"),
            (raw.try_empty_password.is_some(), "try_empty_password"),
            (raw.keystore_passwords.is_some(), "keystore_passwords"),
        ] {
            if present {
                ctx.add(
                    key,
                    format!("key {key} does not apply to sources of kind kubeconfig"),
                );
            }
        }
    }
    let name = ctx.name(raw.name.as_ref());
    let base = ctx.base.to_string();
    let p = &mut *ctx.problems;
    let paths = raw.paths.clone().unwrap_or_default();
    if paths.is_empty() {
        p.add(
            format!("{base}.paths"),
            "at least one path is required".to_string(),
        );
    }
    for (j, path) in paths.iter().enumerate() {
        if let Err(e) = check_path_text(path) {
            p.add(format!("{base}.paths[{j}]"), e);
        }
    }
    let exclude = raw.exclude.clone().unwrap_or_default();
    for (j, pat) in exclude.iter().enumerate() {
        if let Err(e) = check_path_text(pat) {
            p.add(format!("{base}.exclude[{j}]"), e);
        }
    }
    let max_file_size = size(
        p,
        &format!("{base}.max_file_size"),
        raw.max_file_size.as_ref(),
        defaults::MAX_FILE_SIZE,
    );
    let max_files = raw.max_files.unwrap_or(defaults::MAX_FILES);
    if max_files == 0 {
        p.add(format!("{base}.max_files"), "must be greater than zero");
    }
    FileSourceConfig {
        kind,
        name,
        paths,
        exclude,
        follow_symlinks: raw.follow_symlinks.unwrap_or(defaults::FOLLOW_SYMLINKS),
        max_file_size,
        pkcs12_passwords: raw.pkcs12_passwords.clone().unwrap_or_default(),
        try_empty_password: raw
            .try_empty_password
            .unwrap_or(defaults::TRY_EMPTY_PASSWORD),
        keystore_passwords: raw.keystore_passwords.clone().unwrap_or_default(),
        max_files,
        watch: file_watch(p, &base, raw.watch.as_ref()),
    }
}

/// `sources[i].watch`.
pub fn file_watch(p: &mut Problems, base: &str, raw: Option<&RawFileWatch>) -> FileWatchConfig {
    let mut w = FileWatchConfig::default();
    let Some(r) = raw else {
        return w;
    };
    w.enabled = auto_bool(
        p,
        &format!("{base}.watch.enabled"),
        r.enabled.as_ref(),
        [WatchEnabled::Auto, WatchEnabled::On, WatchEnabled::Off],
    );
    w.verify_interval = duration(
        p,
        &format!("{base}.watch.verify_interval"),
        r.verify_interval.as_deref(),
        defaults::WATCH_VERIFY_INTERVAL,
        Duration::ZERO,
    );
    w.debounce = duration(
        p,
        &format!("{base}.watch.debounce"),
        r.debounce.as_deref(),
        defaults::WATCH_DEBOUNCE,
        Duration::ZERO,
    );
    w
}

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
        file_source(raw, ctx)
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
