//! Configuration of a `tls_endpoint` source (`sources: [{kind: tls_endpoint, ...}]`):
//! the raw keys, their validation into [`TlsEndpointConfig`] with located problems,
//! and the registry entry [`TlsEndpointSpec`].
//!
//! Keys: `targets` (URLs), `file_sd` (globs of Prometheus file_sd JSON/YAML
//! files), `timeout` (per target, default 10s), `concurrency` (default 16),
//! `every_address` (probe every resolved IP, default false), `jitter` (spread
//! target start times over up to this duration, default 0s), `client_cert` /
//! `client_key` (PEM, offered to endpoints that request a client certificate).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{format_duration, parse_duration, EntryCtx, KindConfig};
use crate::model::target::{self, Target};
use crate::sources::{Source, SourceSpec};

pub use crate::config::probe::{ProbeConfig, ProbeModule, RawProbe, RawProbeModule};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_CONCURRENCY: usize = 16;
pub const MAX_CONCURRENCY: usize = 1024;
/// Most targets of one source (static and file_sd together).
pub const MAX_TARGETS: usize = 100_000;

/// The keys of a `tls_endpoint` entry as written (all optional).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawTlsEndpoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_sd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_address: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
}

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

impl KindConfig for TlsEndpointConfig {
    fn kind(&self) -> &str {
        "tls_endpoint"
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// The registry entry of `kind: tls_endpoint`.
pub struct TlsEndpointSpec;

impl SourceSpec for TlsEndpointSpec {
    const KINDS: &'static [&'static str] = &["tls_endpoint"];
    const KEYS: &'static [&'static str] = &[
        "name",
        "targets",
        "file_sd",
        "timeout",
        "concurrency",
        "every_address",
        "jitter",
        "client_cert",
        "client_key",
    ];
    type Raw = RawTlsEndpoint;
    type Config = TlsEndpointConfig;

    fn validate(raw: &RawTlsEndpoint, ctx: &mut EntryCtx<'_>) -> TlsEndpointConfig {
        let name = ctx.name(raw.name.as_ref());
        let mut cfg = TlsEndpointConfig::with_targets(name, Vec::new());
        for (j, t) in raw.targets.iter().flatten().enumerate() {
            match target::parse(t, false) {
                Ok(t) => cfg.targets.push(t),
                Err(e) => ctx.add(&format!("targets[{j}]"), e),
            }
        }
        for (j, g) in raw.file_sd.iter().flatten().enumerate() {
            if g.is_empty() || g.contains('\0') {
                ctx.add(&format!("file_sd[{j}]"), "must be a non-empty path or glob");
            } else {
                cfg.file_sd.push(g.clone());
            }
        }
        if cfg.targets.is_empty() && cfg.file_sd.is_empty() && raw.targets.is_none() {
            ctx.add("targets", "a tls_endpoint source needs targets or file_sd");
        }
        if cfg.targets.len() > MAX_TARGETS {
            ctx.add("targets", format!("more than {MAX_TARGETS} targets"));
        }
        if let Some(t) = &raw.timeout {
            match parse_duration(t) {
                Ok(d) if d.is_zero() => ctx.add("timeout", "must be positive"),
                Ok(d) => cfg.timeout = d,
                Err(e) => ctx.add("timeout", e),
            }
        }
        if let Some(t) = &raw.jitter {
            match parse_duration(t) {
                Ok(d) => cfg.jitter = d,
                Err(e) => ctx.add("jitter", e),
            }
        }
        if let Some(c) = raw.concurrency {
            if c == 0 || c > MAX_CONCURRENCY {
                ctx.add(
                    "concurrency",
                    format!("must be between 1 and {MAX_CONCURRENCY}"),
                );
            } else {
                cfg.concurrency = c;
            }
        }
        cfg.every_address = raw.every_address.unwrap_or(false);
        match (&raw.client_cert, &raw.client_key) {
            (Some(c), Some(k)) if !c.is_empty() && !k.is_empty() => {
                cfg.client_cert = Some(PathBuf::from(c));
                cfg.client_key = Some(PathBuf::from(k));
            }
            (None, None) => {}
            _ => ctx.add(
                "client_cert",
                "client_cert and client_key must be given together",
            ),
        }
        cfg
    }

    fn to_raw(t: &TlsEndpointConfig) -> RawTlsEndpoint {
        RawTlsEndpoint {
            name: Some(t.name.clone()),
            targets: Some(t.targets.iter().map(|x| x.to_string()).collect()),
            file_sd: Some(t.file_sd.clone()),
            timeout: Some(format_duration(t.timeout)),
            concurrency: Some(t.concurrency),
            every_address: Some(t.every_address),
            jitter: Some(format_duration(t.jitter)),
            client_cert: t.client_cert.as_ref().map(|p| p.display().to_string()),
            client_key: t.client_key.as_ref().map(|p| p.display().to_string()),
        }
    }

    fn build(cfg: &TlsEndpointConfig) -> Vec<Arc<dyn Source>> {
        vec![Arc::new(super::build(cfg))]
    }
}
