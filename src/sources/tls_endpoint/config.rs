//! Configuration of a `tls_endpoint` source (`sources: [{kind: tls_endpoint, ...}]`):
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

use super::target::{self, Target};

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
