//! Configuration of a `tls_endpoint` source (used by `sources::tls_endpoint`,
//! which re-exports it as its `config`) (`sources: [{kind: tls_endpoint, ...}]`):
//! the raw keys (deserialized as part of the flat `sources[]` entry) and their
//! validation into [`TlsEndpointConfig`], with located problems.
//!
//! Keys: `targets` (URLs), `file_sd` (globs of Prometheus file_sd JSON/YAML
//! files), `timeout` (per target, default 10s), `concurrency` (default 16),
//! `every_address` (probe every resolved IP, default false), `jitter` (spread
//! target start times over up to this duration, default 0s), `client_cert` /
//! `client_key` (PEM, offered to endpoints that request a client certificate).

use std::path::PathBuf;
use std::time::Duration;

use crate::model::target::{self, Target};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_CONCURRENCY: usize = 16;
pub const MAX_CONCURRENCY: usize = 1024;
/// Most targets of one source (static and file_sd together).
pub const MAX_TARGETS: usize = 100_000;

/// The raw keys of a `tls_endpoint` entry (all optional).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawTlsEndpoint<'a> {
    pub targets: Option<&'a [String]>,
    pub file_sd: Option<&'a [String]>,
    pub timeout: Option<&'a str>,
    pub concurrency: Option<usize>,
    pub every_address: Option<bool>,
    pub jitter: Option<&'a str>,
    pub client_cert: Option<&'a str>,
    pub client_key: Option<&'a str>,
}

/// Keys of a `tls_endpoint` entry besides `kind` and `name`.
pub const KEYS: &[&str] = &[
    "targets",
    "file_sd",
    "timeout",
    "concurrency",
    "every_address",
    "jitter",
    "client_cert",
    "client_key",
];

/// A validated `tls_endpoint` source.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsEndpointConfig {
    pub name: String,
    pub targets: Vec<Target>,
    pub file_sd: Vec<String>,
    pub timeout: Duration,
    pub concurrency: usize,
    pub every_address: bool,
    pub jitter: Duration,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

impl TlsEndpointConfig {
    /// A source over `targets` with every other key at its default (the
    /// command line's `URL...`).
    pub fn with_targets(name: impl Into<String>, targets: Vec<Target>) -> Self {
        TlsEndpointConfig {
            name: name.into(),
            targets,
            file_sd: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            concurrency: DEFAULT_CONCURRENCY,
            every_address: false,
            jitter: Duration::ZERO,
            client_cert: None,
            client_key: None,
        }
    }
}

/// Validate the keys of `sources[i]` (`base` is that path). Problems are
/// reported through `problem(path, message)`.
pub fn validate(
    base: &str,
    name: String,
    raw: &RawTlsEndpoint<'_>,
    parse_duration: &dyn Fn(&str) -> Result<Duration, String>,
    problem: &mut dyn FnMut(String, String),
) -> TlsEndpointConfig {
    let mut cfg = TlsEndpointConfig::with_targets(name, Vec::new());
    for (j, t) in raw.targets.unwrap_or_default().iter().enumerate() {
        match target::parse(t, false) {
            Ok(t) => cfg.targets.push(t),
            Err(e) => problem(format!("{base}.targets[{j}]"), e),
        }
    }
    for (j, g) in raw.file_sd.unwrap_or_default().iter().enumerate() {
        if g.is_empty() || g.contains('\0') {
            problem(
                format!("{base}.file_sd[{j}]"),
                "must be a non-empty path or glob".into(),
            );
        } else {
            cfg.file_sd.push(g.clone());
        }
    }
    if cfg.targets.is_empty() && cfg.file_sd.is_empty() && raw.targets.is_none() {
        problem(
            format!("{base}.targets"),
            "a tls_endpoint source needs targets or file_sd".into(),
        );
    }
    if cfg.targets.len() > MAX_TARGETS {
        problem(
            format!("{base}.targets"),
            format!("more than {MAX_TARGETS} targets"),
        );
    }
    if let Some(t) = raw.timeout {
        match parse_duration(t) {
            Ok(d) if d.is_zero() => problem(format!("{base}.timeout"), "must be positive".into()),
            Ok(d) => cfg.timeout = d,
            Err(e) => problem(format!("{base}.timeout"), e),
        }
    }
    if let Some(t) = raw.jitter {
        match parse_duration(t) {
            Ok(d) => cfg.jitter = d,
            Err(e) => problem(format!("{base}.jitter"), e),
        }
    }
    if let Some(c) = raw.concurrency {
        if c == 0 || c > MAX_CONCURRENCY {
            problem(
                format!("{base}.concurrency"),
                format!("must be between 1 and {MAX_CONCURRENCY}"),
            );
        } else {
            cfg.concurrency = c;
        }
    }
    cfg.every_address = raw.every_address.unwrap_or(false);
    match (raw.client_cert, raw.client_key) {
        (Some(c), Some(k)) if !c.is_empty() && !k.is_empty() => {
            cfg.client_cert = Some(PathBuf::from(c));
            cfg.client_key = Some(PathBuf::from(k));
        }
        (None, None) => {}
        _ => problem(
            format!("{base}.client_cert"),
            "client_cert and client_key must be given together".into(),
        ),
    }
    cfg
}

/// `probe:` — settings of `GET /probe`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawProbe {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modules: Option<std::collections::BTreeMap<String, RawProbeModule>>,
}

/// `probe.modules.NAME:`
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawProbeModule {
    /// Scheme for bare `host:port` targets (default `tls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// `probe_success` requires a verified chain and a matching name (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
}

/// One validated probe module.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeModule {
    pub protocol: target::Protocol,
    pub timeout: Duration,
    pub verify: bool,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

impl Default for ProbeModule {
    fn default() -> Self {
        ProbeModule {
            protocol: target::Protocol::Tls,
            timeout: DEFAULT_TIMEOUT,
            verify: true,
            client_cert: None,
            client_key: None,
        }
    }
}

/// Validated `probe:`; the module `tls` always exists (the default one, unless
/// the configuration redefines it).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProbeConfig {
    pub modules: std::collections::BTreeMap<String, ProbeModule>,
}

impl ProbeConfig {
    pub fn module(&self, name: &str) -> Option<ProbeModule> {
        match self.modules.get(name) {
            Some(m) => Some(m.clone()),
            None if name == "tls" => Some(ProbeModule::default()),
            None => None,
        }
    }

    /// The raw form (every key written out) for `print-default-config` round trips.
    pub fn to_raw(&self) -> RawProbe {
        use crate::config::duration::format_duration;
        RawProbe {
            modules: Some(
                self.modules
                    .iter()
                    .map(|(k, m)| {
                        (
                            k.clone(),
                            RawProbeModule {
                                protocol: Some(m.protocol.scheme().to_string()),
                                timeout: Some(format_duration(m.timeout)),
                                verify: Some(m.verify),
                                client_cert: m
                                    .client_cert
                                    .as_ref()
                                    .map(|p| p.display().to_string()),
                                client_key: m.client_key.as_ref().map(|p| p.display().to_string()),
                            },
                        )
                    })
                    .collect(),
            ),
        }
    }
}

/// Validate `probe:`.
pub fn validate_probe(
    raw: Option<&RawProbe>,
    parse_duration: &dyn Fn(&str) -> Result<Duration, String>,
    problem: &mut dyn FnMut(String, String),
) -> ProbeConfig {
    let mut out = ProbeConfig::default();
    let Some(mods) = raw.and_then(|r| r.modules.as_ref()) else {
        return out;
    };
    for (name, m) in mods {
        let base = format!("probe.modules.{name}");
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        {
            problem(
                base.clone(),
                "module names are 1-64 characters of [A-Za-z0-9_.-]".into(),
            );
        }
        let mut pm = ProbeModule::default();
        if let Some(p) = &m.protocol {
            match target::Protocol::from_scheme(p) {
                Some(p) => pm.protocol = p,
                None => problem(
                    format!("{base}.protocol"),
                    format!("unknown protocol {p:?}"),
                ),
            }
        }
        if let Some(t) = &m.timeout {
            match parse_duration(t) {
                Ok(d) if !d.is_zero() => pm.timeout = d,
                Ok(_) => problem(format!("{base}.timeout"), "must be positive".into()),
                Err(e) => problem(format!("{base}.timeout"), e),
            }
        }
        pm.verify = m.verify.unwrap_or(true);
        match (&m.client_cert, &m.client_key) {
            (Some(c), Some(k)) if !c.is_empty() && !k.is_empty() => {
                pm.client_cert = Some(PathBuf::from(c));
                pm.client_key = Some(PathBuf::from(k));
            }
            (None, None) => {}
            _ => problem(
                format!("{base}.client_cert"),
                "client_cert and client_key must be given together".into(),
            ),
        }
        out.modules.insert(name.clone(), pm);
    }
    out
}
