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
pub use validate::{check_listen, check_log_level, check_source_name, default_docker};

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
            verify_interval: raw::defaults::WATCH_VERIFY_INTERVAL,
            debounce: raw::defaults::WATCH_DEBOUNCE,
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

/// `docker.enabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DockerEnabled {
    /// On when the daemon socket exists and answers; quiet when absent.
    Auto,
    /// Always on: an unreachable daemon is `x509_source_up 0`.
    On,
    Off,
}

/// `kubernetes.enabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KubeEnabled {
    /// On when `kubernetes.kubeconfig` is set, `KUBECONFIG` is set or the process
    /// runs in a pod (in-cluster service account); quietly off otherwise.
    Auto,
    On,
    Off,
}

/// `docker.secrets.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretsMode {
    Off,
    /// List secrets and the services that mount them; no contents.
    Metadata,
    /// Read `<mounted_dir>/<target>` files of this container (certvigil as a swarm service).
    Mounted,
    /// Read the mounted file inside a running task container through the exec API.
    Exec,
}

/// Client TLS for `tcp://`/`https://` Docker hosts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DockerTls {
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

/// The Docker source (docs/docker.md).
#[derive(Debug, Clone, PartialEq)]
pub struct DockerConfig {
    pub enabled: DockerEnabled,
    /// `source_name` of every Docker series. Default `docker`.
    pub name: String,
    /// Daemon address; `None`: `DOCKER_HOST`, else `unix:///var/run/docker.sock`.
    pub host: Option<String>,
    pub tls: DockerTls,
    /// Limit for one API call (and for each chunk of a streamed answer). Default 10s.
    pub api_timeout: Duration,
    /// Subscribe to the events stream and rescan promptly on changes. Default true.
    pub events: bool,
    /// Swarm configs. Default true.
    pub configs: bool,
    pub secrets_mode: SecretsMode,
    /// Where `mounted` mode finds swarm secrets. Default `/run/secrets`.
    pub secrets_dir: PathBuf,
    /// Files in running containers. Default true.
    pub containers: bool,
    /// Paths (directories, files or globs) read in every running container.
    pub container_paths: Vec<String>,
    /// Container label listing extra paths (comma-separated). Default `certvigil.paths`.
    pub container_label: String,
    /// Larger files are reported as `too_large`. Default 1 MiB.
    pub max_file_size: u64,
    /// At most this many running containers are read per scan. Default 1000.
    pub max_containers: usize,
    /// Swarm node certificates (files and `GET /swarm` root CA). Default true.
    pub node: bool,
    /// `None`: `<DockerRootDir>/swarm/certificates` as reported by `GET /info`.
    pub node_dir: Option<PathBuf>,
    /// An unchanged running container is re-read at most this often (a certificate
    /// renewed inside a long-running container is seen within this time). Default 1h.
    pub reread_interval: Duration,
}

/// The Kubernetes source (docs/kubernetes.md).
#[derive(Debug, Clone, PartialEq)]
pub struct KubernetesConfig {
    pub enabled: KubeEnabled,
    /// Prefix of the source names: `<name>-secrets`, `<name>-configmaps`,
    /// `<name>-cabundles`, `<name>-csrs`. Default `kubernetes`.
    pub name: String,
    /// Kubeconfig file; `None`: `KUBECONFIG`, then in-cluster, then `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context; `None`: the current context.
    pub context: Option<String>,
    /// Namespaces to watch; empty = all.
    pub namespaces: Vec<String>,
    /// Namespaces left out.
    pub exclude_namespaces: Vec<String>,
    /// Watch only `namespaces` with namespaced API calls (a Role is enough).
    pub namespace_scoped: bool,
    /// Objects per LIST page. Default 500.
    pub list_page_size: u32,
    /// Largest certificate-bearing value kept per key (decoded bytes). Default 1 MiB.
    pub max_object_size: u64,
    /// Delay between a watch event and the rescan it triggers. Default 500ms.
    pub debounce: Duration,
    pub secrets: KubeSecretsConfig,
    pub configmaps: KubeConfigMapsConfig,
    pub cabundles: KubeCaBundlesConfig,
    pub csrs: KubeCsrsConfig,
    /// Ingress TLS checks (`ingress_*` findings, `x509_ingress_tls_info`).
    pub ingresses: KubeSwitch,
    /// cert-manager checks, when its CRDs exist (`cert_manager_*`).
    pub cert_manager: KubeSwitch,
}

/// `kubernetes.ingresses` / `kubernetes.cert_manager` (docs/kubernetes.md,
/// "Ingress and cert-manager health"). Default on; they need the secrets family
/// with the `kubernetes.io/tls` type.
#[derive(Debug, Clone, PartialEq)]
pub struct KubeSwitch {
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KubeSecretsConfig {
    pub enabled: bool,
    pub label_selector: Option<String>,
    pub types: Vec<KubeSecretType>,
    /// Object labels copied onto series as `secret_label_<sanitised name>`.
    pub expose_labels: Vec<String>,
    /// Secret name globs to read; empty = all.
    pub include: Vec<String>,
    /// Secret name globs left out.
    pub exclude: Vec<String>,
    /// Only the first certificate (index 0, the leaf) of each key's bundle.
    pub leaf_only: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KubeSecretType {
    /// Secret `type` (server-side field selector `type=`).
    pub type_: String,
    /// Key names or globs (`*.crt`).
    pub keys: Vec<String>,
    /// Secret key holding the PKCS#12 password of the other keys.
    pub pkcs12_password_key: Option<String>,
    /// PKCS#12 passwords tried (after the one from `pkcs12_password_key`).
    pub pkcs12_passwords: Vec<String>,
    /// Secret key holding the Java keystore (JKS/JCEKS) password of the other keys.
    pub keystore_password_key: Option<String>,
    /// Java keystore passwords tried (after the one from `keystore_password_key`).
    pub keystore_passwords: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KubeConfigMapsConfig {
    pub enabled: bool,
    pub label_selector: Option<String>,
    /// Key names or globs.
    pub keys: Vec<String>,
    /// ConfigMap names whose identical content across namespaces is reported once.
    pub dedupe: Vec<String>,
    /// ConfigMap name globs to read; empty = all.
    pub include: Vec<String>,
    /// ConfigMap name globs left out.
    pub exclude: Vec<String>,
    /// Object labels copied onto series as `configmap_label_<sanitised name>`.
    pub expose_labels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KubeCaBundlesConfig {
    pub enabled: bool,
    /// Subset of `validatingwebhookconfigurations`, `mutatingwebhookconfigurations`,
    /// `apiservices`, `customresourcedefinitions`.
    pub resources: Vec<String>,
    /// Object labels copied onto series as `cabundle_label_<sanitised name>`.
    pub expose_labels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KubeCsrsConfig {
    pub enabled: bool,
    pub label_selector: Option<String>,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        use raw::defaults as d;
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        KubernetesConfig {
            enabled: KubeEnabled::Auto,
            name: d::KUBE_NAME.to_string(),
            kubeconfig: None,
            context: None,
            namespaces: Vec::new(),
            exclude_namespaces: Vec::new(),
            namespace_scoped: false,
            list_page_size: d::KUBE_LIST_PAGE_SIZE,
            max_object_size: d::KUBE_MAX_OBJECT_SIZE,
            debounce: d::KUBE_DEBOUNCE,
            secrets: KubeSecretsConfig {
                enabled: true,
                label_selector: None,
                types: vec![KubeSecretType {
                    type_: d::KUBE_SECRET_TYPE.to_string(),
                    keys: strings(d::KUBE_SECRET_KEYS),
                    pkcs12_password_key: None,
                    pkcs12_passwords: Vec::new(),
                    keystore_password_key: None,
                    keystore_passwords: Vec::new(),
                }],
                expose_labels: Vec::new(),
                include: Vec::new(),
                exclude: Vec::new(),
                leaf_only: false,
            },
            configmaps: KubeConfigMapsConfig {
                enabled: false,
                label_selector: None,
                keys: strings(d::KUBE_CONFIGMAP_KEYS),
                dedupe: strings(d::KUBE_CONFIGMAP_DEDUPE),
                include: Vec::new(),
                exclude: Vec::new(),
                expose_labels: Vec::new(),
            },
            cabundles: KubeCaBundlesConfig {
                enabled: true,
                resources: strings(d::KUBE_CABUNDLE_RESOURCES),
                expose_labels: Vec::new(),
            },
            csrs: KubeCsrsConfig {
                enabled: false,
                label_selector: None,
            },
            ingresses: KubeSwitch { enabled: true },
            cert_manager: KubeSwitch { enabled: true },
        }
    }
}
