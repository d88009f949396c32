//! The validated configuration of the sources, kind-agnostic. Each source kind
//! (`src/sources/<kind>/`) owns its raw and validated config types and registers them
//! in `src/sources/mod.rs`; this module only knows them as [`SourceConfig`] trait
//! objects, held in config order in [`SourceConfigs`] (`Config::sources`). Code that
//! needs one kind asks for it by type: `cfg.sources.of::<DockerConfig>()`.

use std::any::Any;
use std::fmt::Debug;

use super::errors::ConfigError;

/// What every validated source configuration tells the kind-agnostic code (the
/// loader's name checks, logging). Implemented by each kind's config type.
pub trait KindConfig: Debug + Send + Sync + 'static {
    /// The `kind:` of this source (`file`, `docker`, ...).
    fn kind(&self) -> &str;
    /// The configured `name:` (unique among `sources:` entries).
    fn name(&self) -> &str;
    /// False when the source is configured but switched off (`enabled: false`).
    fn enabled(&self) -> bool {
        true
    }
    /// The `source_name` values this source reports; each must be unique among all
    /// enabled sources. Default: its name.
    fn reported_names(&self) -> Vec<String> {
        vec![self.name().to_string()]
    }
    /// The message when one of [`KindConfig::reported_names`] other than the name
    /// itself is used by another source.
    fn clash_message(&self, taken: &str) -> String {
        format!("the source name {taken:?} is already used by another source")
    }
}

/// A validated source configuration as a trait object (blanket-implemented for
/// every `KindConfig + Clone + PartialEq`).
pub trait SourceConfig: KindConfig {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn clone_box(&self) -> Box<dyn SourceConfig>;
    fn eq_dyn(&self, other: &dyn SourceConfig) -> bool;
}

impl<T: KindConfig + Clone + PartialEq> SourceConfig for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn clone_box(&self) -> Box<dyn SourceConfig> {
        Box::new(self.clone())
    }
    fn eq_dyn(&self, other: &dyn SourceConfig) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
}

/// One configured source and where it was written.
#[derive(Debug)]
pub struct SourceSlot {
    pub config: Box<dyn SourceConfig>,
    /// `Some("docker")`: the top-level `docker:` section (an alias for one
    /// entry, kept for configurations written before `sources:` entries of every
    /// kind); `None`: an entry of `sources:`.
    pub section: Option<&'static str>,
}

impl Clone for SourceSlot {
    fn clone(&self) -> Self {
        SourceSlot {
            config: self.config.clone_box(),
            section: self.section,
        }
    }
}

impl PartialEq for SourceSlot {
    fn eq(&self, other: &Self) -> bool {
        self.section == other.section && self.config.eq_dyn(&*other.config)
    }
}

/// The configured sources: the top-level alias sections first, then the
/// `sources:` entries in config order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceConfigs {
    slots: Vec<SourceSlot>,
}

impl SourceConfigs {
    pub fn slots(&self) -> &[SourceSlot] {
        &self.slots
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn SourceConfig> {
        self.slots.iter().map(|s| &*s.config)
    }

    /// Every source of config type `T` (alias section first, then entries).
    pub fn of<T: SourceConfig>(&self) -> impl Iterator<Item = &T> {
        self.slots
            .iter()
            .filter_map(|s| s.config.as_any().downcast_ref::<T>())
    }

    pub fn of_mut<T: SourceConfig>(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots
            .iter_mut()
            .filter_map(|s| s.config.as_any_mut().downcast_mut::<T>())
    }

    /// The `sources:` entries of type `T` (not the alias section).
    pub fn entries_of<T: SourceConfig>(&self) -> impl Iterator<Item = &T> {
        self.slots
            .iter()
            .filter(|s| s.section.is_none())
            .filter_map(|s| s.config.as_any().downcast_ref::<T>())
    }

    pub fn entries_of_mut<T: SourceConfig>(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots
            .iter_mut()
            .filter(|s| s.section.is_none())
            .filter_map(|s| s.config.as_any_mut().downcast_mut::<T>())
    }

    /// The top-level alias section of type `T`, if any.
    pub fn section<T: SourceConfig>(&self) -> Option<&T> {
        self.slots
            .iter()
            .filter(|s| s.section.is_some())
            .find_map(|s| s.config.as_any().downcast_ref::<T>())
    }

    pub fn section_mut<T: SourceConfig>(&mut self) -> Option<&mut T> {
        self.slots
            .iter_mut()
            .filter(|s| s.section.is_some())
            .find_map(|s| s.config.as_any_mut().downcast_mut::<T>())
    }

    /// Append a `sources:` entry.
    pub fn push(&mut self, config: impl SourceConfig) {
        self.push_boxed(Box::new(config), None);
    }

    pub fn push_boxed(&mut self, config: Box<dyn SourceConfig>, section: Option<&'static str>) {
        let slot = SourceSlot { config, section };
        if section.is_some() {
            let at = self
                .slots
                .iter()
                .take_while(|s| s.section.is_some())
                .count();
            self.slots.insert(at, slot);
        } else {
            self.slots.push(slot);
        }
    }

    /// Insert a `sources:` entry before the other entries of its type.
    pub fn insert_first<T: SourceConfig>(&mut self, config: T) {
        let at = self
            .slots
            .iter()
            .position(|s| s.section.is_none() && s.config.as_any().is::<T>())
            .unwrap_or(self.slots.len());
        self.slots.insert(
            at,
            SourceSlot {
                config: Box::new(config),
                section: None,
            },
        );
    }

    /// Keep only the sources of type `T` for which `keep` is true (others untouched).
    pub fn retain_of<T: SourceConfig>(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.slots
            .retain(|s| match s.config.as_any().downcast_ref::<T>() {
                Some(t) => keep(t),
                None => true,
            });
    }

    /// Keep only the sources for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&dyn SourceConfig) -> bool) {
        self.slots.retain(|s| keep(&*s.config));
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// `kind/name` of every enabled source, for logs.
    pub fn describe(&self) -> Vec<String> {
        self.iter()
            .filter(|c| c.enabled())
            .map(|c| format!("{}/{}", c.kind(), c.name()))
            .collect()
    }
}

/// Collects validation problems with their YAML paths (lines are attached later by
/// the loader).
#[derive(Debug, Default)]
pub struct Problems(pub Vec<ConfigError>);

impl Problems {
    /// A problem at `path`; `message` is any error or text (its `Display`).
    pub fn add(&mut self, path: impl Into<String>, message: impl std::fmt::Display) {
        self.0.push(ConfigError::new(path, message.to_string()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What a kind's validation gets for one entry or alias section.
pub struct EntryCtx<'a> {
    /// YAML path of the entry (`sources[2]`) or section (`docker`).
    pub base: &'a str,
    /// The entry's `kind:` (a kind registered for several `kind:` values, like the
    /// file source's `file` and `kubeconfig`, tells them apart by this).
    pub kind: &'a str,
    pub problems: &'a mut Problems,
}

impl EntryCtx<'_> {
    /// The YAML path of `key` inside this entry.
    pub fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.base)
    }

    /// A problem at `key` (relative to the entry).
    pub fn add(&mut self, key: &str, message: impl std::fmt::Display) {
        let path = self.path(key);
        self.problems.add(path, message);
    }

    /// `name:` with the kind as default, syntax-checked (`check_source_name`).
    pub fn name(&mut self, raw: Option<&String>) -> String {
        let name = raw.cloned().unwrap_or_else(|| self.kind.to_string());
        if let Err(e) = super::check_source_name(&name) {
            self.add("name", e);
        }
        name
    }
}
