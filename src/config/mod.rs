//! Configuration in two layers: raw serde structs (`raw`, `deny_unknown_fields`,
//! located errors) → this validated [`Config`] that the rest of the program uses.
//! The embedded default (`default.yaml`) is what `certvigil` runs with when given
//! nothing, and what `print-default-config` prints.

pub mod check;
pub mod duration;
pub mod errors;
pub mod listen;
pub mod load;
mod locate;
pub mod paths;
pub mod probe;
pub mod raw;
pub mod source;
pub mod validate;

pub use duration::{format_duration, parse_duration, parse_size, DurationError, SizeError};
pub use errors::{ConfigError, ConfigErrors};
pub use load::{DEFAULT_ORIGIN, MAX_CONFIG_BYTES};
pub use source::{EntryCtx, KindConfig, Problems, SourceConfig, SourceConfigs, SourceSlot};
pub use validate::{check_listen, check_log_level, check_source_name};

use std::path::PathBuf;
use std::time::Duration;

/// The embedded default configuration (valid input for `--config`).
pub const DEFAULT_YAML: &str = include_str!("default.yaml");

/// Validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub scan: ScanConfig,
    pub server: ServerConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    pub trust: TrustConfig,
    pub revocation: RevocationConfig,
    pub report: ReportConfig,
    /// `probe:` — `GET /probe` modules.
    pub probe: probe::ProbeConfig,
    /// Every configured source: the legacy top-level `docker:`/`kubernetes:`
    /// sections (aliases for one entry each), then the `sources:` entries in config
    /// order. Each kind's config type lives in its module under `src/sources/`;
    /// ask for one kind with `cfg.sources.of::<T>()`.
    pub sources: SourceConfigs,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScanConfig {
    /// Time between the start of two scans. Default 5m.
    pub interval: Duration,
    /// Limit for one source's scan. Default 2m.
    pub source_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Default `:9793` (all interfaces).
    pub listen: String,
    /// exporter-toolkit web configuration (TLS, basic auth).
    pub web_config_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    /// Value of the `cluster` label on per-certificate series. Default "".
    pub cluster: String,
    /// `x509_cert_expires_in_seconds`, `x509_cert_valid_since_seconds`. Default false.
    pub expose_relative: bool,
    /// `x509_cert_error`. Default false.
    pub expose_per_cert_error: bool,
    /// `x509_cert_not_before`. Default true.
    pub expose_not_before: bool,
    /// `x509_cert_expired`. Default true.
    pub expose_expired: bool,
    /// Leading path components removed from `filepath`. Default 0.
    pub trim_path_components: usize,
    /// At most this many DNS names in the `dns_names` label of `x509_cert_info`. Default 10.
    pub max_dns_names_in_label: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// tracing filter directive, default `info`.
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrustConfig {
    /// PEM files or directories of trust anchors; empty = system trust store.
    pub roots: Vec<PathBuf>,
    /// Extra untrusted intermediates for chain building.
    pub intermediates: Vec<PathBuf>,
    /// Use the system trust store when `roots` is empty. Default true.
    pub system_roots: bool,
    /// Fetch missing issuers from the certificates' AIA caIssuers URLs (plain
    /// http, cached, never when `revocation.offline`). Default false.
    pub fetch_aia: bool,
    /// Path-validation rules (`trust.profile`). Default `auto`.
    pub profile: TrustProfile,
}

/// `trust.profile` / `--trust-profile`: which rules judge a chain
/// (docs/trust.md#profiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrustProfile {
    /// `webpki` for chains ending at a system/public root, `rfc5280` for
    /// chains ending at a configured (`trust.roots`) root.
    #[default]
    Auto,
    /// RFC 5280: each certificate judged for its own purpose.
    Rfc5280,
    /// CA/Browser Forum TLS server rules.
    Webpki,
}

impl TrustProfile {
    pub fn as_str(self) -> &'static str {
        match self {
            TrustProfile::Auto => "auto",
            TrustProfile::Rfc5280 => "rfc5280",
            TrustProfile::Webpki => "webpki",
        }
    }

    /// Parse `auto`, `rfc5280` or `webpki`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(TrustProfile::Auto),
            "rfc5280" => Ok(TrustProfile::Rfc5280),
            "webpki" => Ok(TrustProfile::Webpki),
            other => Err(format!(
                "unknown trust profile {other:?} (expected auto, rfc5280 or webpki)"
            )),
        }
    }
}

/// A revocation method, in `revocation.methods` preference order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevocationMethodConfig {
    Crl,
    Ocsp,
}

impl RevocationMethodConfig {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationMethodConfig::Crl => "crl",
            RevocationMethodConfig::Ocsp => "ocsp",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RevocationConfig {
    /// Local CRL files (PEM or DER).
    pub crl_files: Vec<PathBuf>,
    /// Never fetch CRLs or OCSP over the network.
    pub offline: bool,
    /// Methods tried in order until one gives a definitive answer. Default
    /// `[crl, ocsp]`; `[]` disables revocation checking.
    pub methods: Vec<RevocationMethodConfig>,
    /// Limit for one CRL download or OCSP exchange. Default 10s.
    pub fetch_timeout: Duration,
    /// Largest CRL accepted (bytes). Default 20 MiB.
    pub max_crl_size: u64,
    /// Send a nonce with OCSP requests. Default true.
    pub ocsp_nonce: bool,
    /// Send OCSP requests as HTTP GET (RFC 6960 §A.1, RFC 5019) when the
    /// encoded request fits in 255 bytes; POST otherwise. Default false.
    pub ocsp_get: bool,
    /// Concurrent requests per CRL/OCSP server (host:port). Default 4.
    pub max_concurrency_per_host: usize,
    /// Shortest time a fetched CRL/OCSP answer (or a failure) is reused. Default 5m.
    pub cache_min_ttl: Duration,
    /// Longest time a fetched CRL/OCSP answer is reused, even if its
    /// nextUpdate is later. Default 24h.
    pub cache_max_ttl: Duration,
}

impl Default for RevocationConfig {
    fn default() -> Self {
        use raw::defaults as d;
        RevocationConfig {
            crl_files: Vec::new(),
            offline: d::REVOCATION_OFFLINE,
            methods: vec![RevocationMethodConfig::Crl, RevocationMethodConfig::Ocsp],
            fetch_timeout: d::FETCH_TIMEOUT,
            max_crl_size: d::MAX_CRL_SIZE,
            ocsp_nonce: d::OCSP_NONCE,
            ocsp_get: d::OCSP_GET,
            max_concurrency_per_host: d::MAX_CONCURRENCY_PER_HOST,
            cache_min_ttl: d::CACHE_MIN_TTL,
            cache_max_ttl: d::CACHE_MAX_TTL,
        }
    }
}

impl Default for TrustConfig {
    fn default() -> Self {
        TrustConfig {
            roots: Vec::new(),
            intermediates: Vec::new(),
            system_roots: raw::defaults::SYSTEM_ROOTS,
            fetch_aia: raw::defaults::FETCH_AIA,
            profile: TrustProfile::Auto,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReportConfig {
    /// `expiring_soon` window. Default 28 days.
    pub warning_window: Duration,
}
