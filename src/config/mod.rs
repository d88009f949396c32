//! Configuration in two layers: raw serde structs (`raw`, `deny_unknown_fields`,
//! located errors) → this validated [`Config`] that the rest of the program uses.
//! The embedded default (`default.yaml`) is what `certvigil` runs with when given
//! nothing, and what `print-default-config` prints.

use std::path::PathBuf;
use std::time::Duration;

use crate::model::SourceKind;

/// The embedded default configuration (valid input for `--config`).
pub const DEFAULT_YAML: &str = include_str!("default.yaml");

/// Validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub scan: ScanConfig,
    pub server: ServerConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    /// File-like sources (`kind: file` and `kind: kubeconfig`), in config order.
    pub files: Vec<FileSourceConfig>,
    pub trust: TrustConfig,
    pub revocation: RevocationConfig,
    pub report: ReportConfig,
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
    /// Largest number of files one walk visits before it stops with an error.
    /// Default 200000.
    pub max_files: usize,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrustConfig {
    /// PEM files or directories of trust anchors; empty = system trust store.
    pub roots: Vec<PathBuf>,
    /// Extra untrusted intermediates for chain building.
    pub intermediates: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RevocationConfig {
    /// Local CRL files (PEM or DER).
    pub crl_files: Vec<PathBuf>,
    /// Never fetch CRLs or OCSP over the network.
    pub offline: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReportConfig {
    /// `expiring_soon` window. Default 28 days.
    pub warning_window: Duration,
}

// ---------------------------------------------------------------------------
// LOCAL STUBS (h-cli branch): the config branch provides the real versions of
// everything below; the lead replaces this block at merge.
// ---------------------------------------------------------------------------

pub mod duration;

/// Every problem of a configuration, one per line with its YAML path and line.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigErrors(pub Vec<String>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for p in &self.0 {
            writeln!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Parse and validate a YAML configuration (stub).
pub fn from_yaml_str(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
    let _ = (text, origin);
    todo!("implemented by the config branch")
}

/// Read, parse and validate a configuration file (stub).
pub fn load_file(path: &std::path::Path) -> Result<Config, ConfigErrors> {
    let _ = path;
    todo!("implemented by the config branch")
}

/// The embedded default configuration, validated (stub with the documented defaults).
pub fn default_config() -> Config {
    Config {
        scan: ScanConfig {
            interval: Duration::from_secs(300),
            source_timeout: Duration::from_secs(120),
        },
        server: ServerConfig {
            listen: ":9793".to_string(),
            web_config_file: None,
        },
        metrics: MetricsConfig {
            cluster: String::new(),
            expose_relative: false,
            expose_per_cert_error: false,
            expose_not_before: true,
            expose_expired: true,
            trim_path_components: 0,
            max_dns_names_in_label: 10,
        },
        log: LogConfig {
            level: "info".to_string(),
            format: LogFormat::Text,
        },
        files: vec![FileSourceConfig {
            kind: SourceKind::File,
            name: "host-files".to_string(),
            paths: vec!["/etc/ssl/certs".to_string()],
            exclude: Vec::new(),
            follow_symlinks: true,
            max_file_size: 1024 * 1024,
            pkcs12_passwords: Vec::new(),
            try_empty_password: true,
            max_files: 200_000,
        }],
        trust: TrustConfig::default(),
        revocation: RevocationConfig::default(),
        report: ReportConfig {
            warning_window: Duration::from_secs(28 * 86400),
        },
    }
}
