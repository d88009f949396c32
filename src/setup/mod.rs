//! Loading a configuration: the layer that knows both the global sections
//! (`crate::config`) and the source kinds (the registry in `src/sources/mod.rs`).
//!
//! Text → [`RawDocument`] (serde-saphyr, strict budget, located errors) →
//! validated [`Config`]: the global sections by `config::validate`, each `sources:`
//! entry by its kind's [`crate::sources::SourceSpec`], then the name rules every
//! source shares (unique names, the legacy alias sections). Serializing back
//! ([`to_yaml`]) goes through the same registry.

mod entry;

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::path::Path;
use std::rc::Rc;

use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::config::load::{locate, parse_document, read_capped};
use crate::config::raw::{
    RawConfig, RawLog, RawMetrics, RawReport, RawRevocation, RawScan, RawServer, RawTrust,
};
use crate::config::{
    check_source_name, probe::RawProbe, Config, ConfigErrors, EntryCtx, Problems, SourceConfig,
    SourceConfigs, DEFAULT_ORIGIN, DEFAULT_YAML,
};
use crate::sources::{self, DynSpec, REGISTRY};

/// The whole document: the global sections, `sources:`, and the legacy alias
/// sections `docker:` and `kubernetes:` (each an alias for one entry of its kind;
/// new kinds are configured as `sources:` entries only).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDocument {
    #[serde(default)]
    pub scan: Option<RawScan>,
    #[serde(default)]
    pub server: Option<RawServer>,
    #[serde(default)]
    pub metrics: Option<RawMetrics>,
    #[serde(default)]
    pub log: Option<RawLog>,
    #[serde(default)]
    pub sources: Option<RawSources>,
    #[serde(default)]
    pub trust: Option<RawTrust>,
    #[serde(default)]
    pub revocation: Option<RawRevocation>,
    #[serde(default)]
    pub report: Option<RawReport>,
    #[serde(default)]
    pub docker: Option<RawAlias<DockerAlias>>,
    #[serde(default)]
    pub kubernetes: Option<RawAlias<KubernetesAlias>>,
    #[serde(default)]
    pub probe: Option<RawProbe>,
}

impl RawDocument {
    fn globals(&mut self) -> RawConfig {
        RawConfig {
            scan: self.scan.take(),
            server: self.server.take(),
            metrics: self.metrics.take(),
            log: self.log.take(),
            trust: self.trust.take(),
            revocation: self.revocation.take(),
            report: self.report.take(),
            probe: self.probe.take(),
        }
    }

    /// The alias sections present, by section name.
    fn sections(&self) -> Vec<(&'static str, &dyn Any)> {
        let mut out = Vec::new();
        if let Some(RawAlias(Some(r), _)) = &self.docker {
            out.push((DockerAlias::KIND, &**r));
        }
        if let Some(RawAlias(Some(r), _)) = &self.kubernetes {
            out.push((KubernetesAlias::KIND, &**r));
        }
        out
    }
}

/// Which kind a legacy top-level section is an alias for.
pub trait AliasKind {
    const KIND: &'static str;
}
pub struct DockerAlias;
impl AliasKind for DockerAlias {
    const KIND: &'static str = "docker";
}
pub struct KubernetesAlias;
impl AliasKind for KubernetesAlias {
    const KIND: &'static str = "kubernetes";
}

/// A legacy alias section: the raw config of its kind.
pub struct RawAlias<K>(Option<Box<dyn Any>>, PhantomData<K>);

impl<'de, K: AliasKind> Deserialize<'de> for RawAlias<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        sources::deserialize_raw(K::KIND, d).map(|r| RawAlias(r, PhantomData))
    }
}

/// One `sources:` entry as read.
pub struct RawEntry {
    pub kind: Option<String>,
    /// The kind's raw struct (`None` when the kind is missing or unknown).
    pub raw: Option<Box<dyn Any>>,
    /// Keys meant for another kind (dotted, relative to the entry).
    pub foreign: Vec<String>,
}

/// `sources:` — entries whose type is chosen by `kind:` (known from a first pass).
pub struct RawSources(pub Vec<RawEntry>);

thread_local! {
    /// `kind:` of each `sources:` entry, from the first pass of the current parse.
    static ENTRY_KINDS: RefCell<Vec<Option<String>>> = const { RefCell::new(Vec::new()) };
}

impl<'de> Deserialize<'de> for RawSources {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawSources;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of sources")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawSources, A::Error> {
                let kinds = ENTRY_KINDS.with(|k| k.borrow().clone());
                let mut out = Vec::new();
                loop {
                    let kind = kinds.get(out.len()).cloned().flatten();
                    match seq.next_element_seed(EntrySeed { kind })? {
                        Some(e) => out.push(e),
                        None => return Ok(RawSources(out)),
                    }
                }
            }
        }
        d.deserialize_seq(V)
    }
}

struct EntrySeed {
    kind: Option<String>,
}

impl<'de> DeserializeSeed<'de> for EntrySeed {
    type Value = RawEntry;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawEntry, D::Error> {
        let spec = self.kind.as_deref().and_then(sources::spec_of_kind);
        let Some(spec) = spec else {
            // Missing or unknown kind (reported in validation): still reject keys no
            // kind has, located.
            UnionEntry::deserialize(d)?;
            return Ok(RawEntry {
                kind: self.kind,
                raw: None,
                foreign: Vec::new(),
            });
        };
        let ctx = Rc::new(entry::FilterCtx {
            others: REGISTRY
                .iter()
                .filter(|s| !same(**s, spec))
                .flat_map(|s| s.keys().iter().copied())
                .filter(|k| !spec.keys().contains(k))
                .collect(),
            foreign: RefCell::new(Vec::new()),
        });
        let kind = self.kind.unwrap_or_default();
        let filtered = entry::Filtered {
            inner: d,
            ctx: ctx.clone(),
            path: String::new(),
        };
        let raw = sources::deserialize_raw(&kind, filtered)?;
        let foreign = ctx.foreign.take();
        Ok(RawEntry {
            kind: Some(kind),
            raw,
            foreign,
        })
    }
}

/// An entry without a usable `kind`: any key some kind accepts.
struct UnionEntry;

fn union_keys() -> &'static [&'static str] {
    static KEYS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let mut v = vec!["kind"];
        for s in REGISTRY {
            for k in s.keys() {
                if !k.contains('.') && !v.contains(k) {
                    v.push(k);
                }
            }
        }
        v
    })
}

impl<'de> Deserialize<'de> for UnionEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UnionEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a source (a mapping with kind: and its keys)")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<UnionEntry, A::Error> {
                while map.next_key_seed(KnownKey)?.is_some() {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                Ok(UnionEntry)
            }
        }
        d.deserialize_struct("source", union_keys(), V)
    }
}

struct KnownKey;

impl<'de> DeserializeSeed<'de> for KnownKey {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let key = <String as Deserialize>::deserialize(d)?;
        if union_keys().contains(&key.as_str()) {
            Ok(())
        } else {
            Err(serde::de::Error::unknown_field(&key, union_keys()))
        }
    }
}

/// First pass: the `kind:` of each entry, leniently (anything unusable is `None`;
/// the second pass reports the real problem).
fn entry_kinds(text: &str) -> Vec<Option<String>> {
    #[derive(Deserialize)]
    struct Doc {
        #[serde(default)]
        sources: Option<Vec<Entry>>,
    }
    #[derive(Deserialize)]
    struct Entry {
        #[serde(default)]
        kind: Option<serde_json::Value>,
    }
    match parse_document::<Doc>(text, "") {
        Ok(d) => d
            .sources
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.kind.and_then(|k| k.as_str().map(str::to_string)))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Parse and validate a configuration. `origin` (a file path or a label) prefixes
/// every error line.
pub fn from_yaml_str(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
    parse(text, origin, true)
}

/// Read (at most [`crate::config::MAX_CONFIG_BYTES`]), parse and validate a
/// configuration file.
pub fn load_file(path: &Path) -> Result<Config, ConfigErrors> {
    let origin = path.display().to_string();
    let text = read_capped(path).map_err(|m| ConfigErrors::single(&origin, m))?;
    from_yaml_str(&text, &origin)
}

/// The embedded default configuration ([`DEFAULT_YAML`]) parsed and validated. A unit
/// test proves it parses; should it ever not, the global defaults with only the
/// implicit alias sources are returned instead of panicking.
pub fn default_config() -> Config {
    match parse(DEFAULT_YAML, DEFAULT_ORIGIN, false) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(errors = %e, "embedded default configuration is invalid");
            let mut c = crate::config::load::default_globals();
            let mut p = Problems::default();
            c.sources = validate_sources(&RawDocument::default(), &mut p, false);
            c
        }
    }
}

fn parse(text: &str, origin: &str, default_sources: bool) -> Result<Config, ConfigErrors> {
    let kinds = entry_kinds(text);
    let previous = ENTRY_KINDS.with(|k| k.replace(kinds));
    let doc = parse_document::<RawDocument>(text, origin);
    ENTRY_KINDS.with(|k| k.replace(previous));
    let mut doc = doc?;
    let mut p = Problems::default();
    let mut cfg = crate::config::validate::validate(&doc.globals(), &mut p);
    cfg.sources = validate_sources(&doc, &mut p, default_sources);
    if p.is_empty() {
        Ok(cfg)
    } else {
        Err(locate(p.0, text, origin))
    }
}

/// The `sources:` entries and alias sections, validated, plus the name rules.
fn validate_sources(doc: &RawDocument, p: &mut Problems, default_sources: bool) -> SourceConfigs {
    let kinds = sources::kind_names().join(", ");
    // (YAML path of the name, config, spec, from a section)
    let mut slots: Vec<Slot> = Vec::new();
    for (section, raw) in doc.sections() {
        let Some(spec) = sources::spec_of_kind(section) else {
            continue;
        };
        let mut ctx = EntryCtx {
            base: section,
            kind: section,
            problems: &mut *p,
        };
        if let Some(c) = spec.validate(raw, &mut ctx) {
            slots.push((format!("{section}.name"), c, spec, true));
        }
    }
    let mut entries: Vec<Slot> = Vec::new();
    match &doc.sources {
        None if default_sources => {
            for c in default_config()
                .sources
                .slots()
                .iter()
                .filter(|s| s.section.is_none())
            {
                if let Some(spec) = sources::spec_of(&*c.config) {
                    entries.push((String::new(), c.config.clone_box(), spec, false));
                }
            }
        }
        None => {}
        Some(RawSources(list)) => {
            for (i, e) in list.iter().enumerate() {
                let base = format!("sources[{i}]");
                let Some(kind) = e.kind.as_deref() else {
                    p.add(
                        format!("{base}.kind"),
                        format!("missing required key kind (one of: {kinds})"),
                    );
                    continue;
                };
                let (Some(spec), Some(raw)) = (sources::spec_of_kind(kind), e.raw.as_deref())
                else {
                    p.add(
                        format!("{base}.kind"),
                        format!(
                            "unknown source kind {:?} (expected one of: {kinds})",
                            crate::model::bounded(kind, 64)
                        ),
                    );
                    continue;
                };
                for key in &e.foreign {
                    p.add(
                        format!("{base}.{key}"),
                        format!("key {key} does not apply to sources of kind {kind}"),
                    );
                }
                let mut ctx = EntryCtx {
                    base: &base,
                    kind,
                    problems: &mut *p,
                };
                if let Some(c) = spec.validate(raw, &mut ctx) {
                    entries.push((format!("{base}.name"), c, spec, false));
                }
            }
        }
    }
    // An alias section absent from the document: its implicit default, unless
    // entries of its kind replace it.
    for spec in REGISTRY {
        let Some(section) = spec.section() else {
            continue;
        };
        let present = slots.iter().any(|(_, _, s, _)| same(*s, *spec));
        let has_entries = entries.iter().any(|(_, _, s, _)| same(*s, *spec));
        if !present && !has_entries {
            if let Some(c) = spec.implicit_section() {
                slots.push((format!("{section}.name"), c, *spec, true));
            }
        }
    }
    slots.sort_by_key(|(_, _, s, _)| REGISTRY.iter().position(|r| same(*r, *s)));
    slots.extend(entries);
    name_rules(&slots, p);
    let mut out = SourceConfigs::default();
    for (_, c, spec, section) in slots {
        out.push_boxed(c, if section { spec.section() } else { None });
    }
    out
}

fn same(a: &dyn DynSpec, b: &dyn DynSpec) -> bool {
    a.id() == b.id()
}

type Slot = (String, Box<dyn SourceConfig>, &'static dyn DynSpec, bool);

/// Source names are unique: among entries (by `name`), between an alias section and
/// the entries of its kind, and for every source that reports derived names (the
/// Kubernetes source's `<name>-secrets`, ...) or comes from a section, across all
/// enabled sources.
fn name_rules(slots: &[Slot], p: &mut Problems) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut entry_index = 0usize;
    for (path, c, _, section) in slots {
        if *section {
            continue;
        }
        let i = entry_index;
        entry_index += 1;
        if path.is_empty() || check_source_name(c.name()).is_err() {
            continue;
        }
        if let Some(first) = seen.get(c.name()) {
            p.add(
                path.as_str(),
                format!(
                    "duplicate source name {:?} (already used by sources[{first}])",
                    c.name()
                ),
            );
        } else {
            seen.insert(c.name(), i);
        }
    }
    for (_, c, spec, _) in slots.iter().filter(|s| s.3) {
        if !c.enabled() {
            continue;
        }
        for (epath, e, espec, esection) in slots {
            if !*esection && same(*spec, *espec) && e.name() == c.name() && !epath.is_empty() {
                let sec = spec.section().unwrap_or_default();
                p.add(
                    epath.as_str(),
                    format!(
                        "source name {:?} is already used by the top-level {sec}: section \
                         (an alias for one kind: {sec} entry; give this entry another name \
                         or remove the section)",
                        c.name()
                    ),
                );
            }
        }
    }
    for (k, (path, c, spec, section)) in slots.iter().enumerate() {
        let expands = c.reported_names() != [c.name().to_string()];
        if !c.enabled() || !(expands || *section) || path.is_empty() {
            continue;
        }
        let clash = c.reported_names().into_iter().find(|n| {
            slots.iter().enumerate().any(|(j, (_, o, ospec, _))| {
                j != k
                    && o.enabled()
                    && !(same(*spec, *ospec) && o.name() == c.name())
                    && o.reported_names().contains(n)
            })
        });
        if let Some(n) = clash {
            p.add(path.as_str(), c.clash_message(&n));
        }
    }
}

/// Serialize a validated config as YAML that [`from_yaml_str`] reads back to an equal
/// config (every key written out). Note: includes `pkcs12_passwords` verbatim.
pub fn to_yaml(config: &Config) -> Result<String, String> {
    let mut sections = Vec::new();
    let mut entries = Vec::new();
    for slot in config.sources.slots() {
        let Some(spec) = sources::spec_of(&*slot.config) else {
            continue;
        };
        let value = spec
            .to_raw_value(&*slot.config)
            .ok_or_else(|| format!("cannot serialize source {}", slot.config.name()))?;
        match slot.section {
            Some(s) => sections.push((s, value)),
            None => entries.push(OutEntry {
                kind: slot.config.kind().to_string(),
                value,
            }),
        }
    }
    let doc = OutDocument {
        globals: RawConfig::from_config(config),
        sources: entries,
        sections,
    };
    serde_saphyr::to_string(&doc).map_err(|e| e.to_string())
}

struct OutDocument {
    globals: RawConfig,
    sources: Vec<OutEntry>,
    sections: Vec<(&'static str, serde_json::Value)>,
}

impl Serialize for OutDocument {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let globals = serde_json::to_value(&self.globals).map_err(serde::ser::Error::custom)?;
        let mut m = s.serialize_map(None)?;
        if let serde_json::Value::Object(g) = globals {
            for key in ["scan", "server", "metrics", "log"] {
                if let Some(v) = g.get(key) {
                    m.serialize_entry(key, v)?;
                }
            }
            m.serialize_entry("sources", &self.sources)?;
            for key in ["trust", "revocation", "report", "probe"] {
                if let Some(v) = g.get(key) {
                    m.serialize_entry(key, v)?;
                }
            }
        }
        for (k, v) in &self.sections {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

struct OutEntry {
    kind: String,
    value: serde_json::Value,
}

impl Serialize for OutEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", &self.kind)?;
        if let serde_json::Value::Object(o) = &self.value {
            if let Some(n) = o.get("name") {
                m.serialize_entry("name", n)?;
            }
            for (k, v) in o.iter().filter(|(k, _)| k.as_str() != "name") {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}
#[cfg(test)]
mod tests;
