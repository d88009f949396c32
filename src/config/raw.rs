//! Raw configuration as written in YAML: serde structs with `deny_unknown_fields`, every
//! key optional (`Option`), no semantic checks. [`super::validate`] turns a [`RawConfig`]
//! into the validated [`super::Config`], filling absent keys from [`defaults`] (the one
//! place where default values live) and collecting every problem with its YAML path.
//!
//! [`RawConfig`] holds the global sections only. The sources (`sources:` entries and
//! the legacy `docker:`/`kubernetes:` alias sections) are read by `crate::setup`
//! through the registry in `src/sources/mod.rs`: each kind owns its raw struct.
//!
//! Adding a global section: add an `Option<RawX>` field here with
//! `#[serde(default, skip_serializing_if = "Option::is_none")]`, the same field in
//! `setup::RawDocument`, its defaults in [`defaults`], and its validation in
//! `validate.rs`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Default values of every key, in one place. `default.yaml` shows the same values
/// (a unit test checks they agree).
pub mod defaults {
    use std::time::Duration;

    pub const SCAN_INTERVAL: Duration = Duration::from_secs(5 * 60);
    pub const SOURCE_TIMEOUT: Duration = Duration::from_secs(2 * 60);
    pub const LISTEN: &str = ":9793";
    pub const CLUSTER: &str = "";
    pub const EXPOSE_RELATIVE: bool = false;
    pub const EXPOSE_PER_CERT_ERROR: bool = false;
    pub const EXPOSE_NOT_BEFORE: bool = true;
    pub const EXPOSE_EXPIRED: bool = true;
    pub const TRIM_PATH_COMPONENTS: usize = 0;
    pub const MAX_DNS_NAMES_IN_LABEL: usize = 10;
    pub const LOG_LEVEL: &str = "info";
    pub const LOG_FORMAT: &str = "text";
    pub const FOLLOW_SYMLINKS: bool = true;
    pub const MAX_FILE_SIZE: u64 = 1 << 20;
    pub const TRY_EMPTY_PASSWORD: bool = true;
    pub const MAX_FILES: usize = 200_000;
    pub const WATCH_VERIFY_INTERVAL: Duration = Duration::from_secs(3600);
    pub const WATCH_DEBOUNCE: Duration = Duration::from_secs(1);
    pub const REVOCATION_OFFLINE: bool = false;
    pub const SYSTEM_ROOTS: bool = true;
    pub const FETCH_AIA: bool = false;
    pub const REVOCATION_METHODS: [&str; 2] = ["crl", "ocsp"];
    pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
    pub const MAX_CRL_SIZE: u64 = 20 << 20;
    pub const CACHE_MIN_TTL: Duration = Duration::from_secs(5 * 60);
    pub const CACHE_MAX_TTL: Duration = Duration::from_secs(24 * 3600);
    pub const OCSP_NONCE: bool = true;
    pub const OCSP_GET: bool = false;
    pub const MAX_CONCURRENCY_PER_HOST: usize = 4;
    pub const WARNING_WINDOW: Duration = Duration::from_secs(28 * 86_400);
    pub const DOCKER_NAME: &str = "docker";
    pub const DOCKER_API_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DOCKER_CONFIGS: bool = true;
    pub const DOCKER_SECRETS_MODE: &str = "metadata";
    pub const DOCKER_SECRETS_DIR: &str = "/run/secrets";
    pub const DOCKER_CONTAINERS: bool = true;
    pub const DOCKER_CONTAINER_PATHS: &[&str] = &[
        "/etc/ssl/certs/*.pem",
        "/etc/nginx",
        "/etc/letsencrypt",
        "/certs",
    ];
    pub const DOCKER_CONTAINER_LABEL: &str = "certvigil.paths";
    pub const DOCKER_MAX_FILE_SIZE: u64 = 1 << 20;
    pub const DOCKER_MAX_CONTAINERS: usize = 1000;
    pub const DOCKER_NODE: bool = true;
    pub const DOCKER_NODE_DIR: &str = "/var/lib/docker/swarm/certificates";
    pub const DOCKER_REREAD_INTERVAL: Duration = Duration::from_secs(3600);
    pub const DOCKER_EVENTS: bool = true;
    pub const KUBE_NAME: &str = "kubernetes";
    pub const KUBE_LIST_PAGE_SIZE: u32 = 250;
    pub const KUBE_MAX_OBJECT_SIZE: u64 = 1 << 20;
    pub const KUBE_DEBOUNCE: Duration = Duration::from_millis(500);
    pub const KUBE_SECRET_TYPE: &str = "kubernetes.io/tls";
    pub const KUBE_SECRET_KEYS: &[&str] = &["tls.crt", "ca.crt"];
    pub const KUBE_CONFIGMAP_KEYS: &[&str] = &["ca.crt"];
    pub const KUBE_CONFIGMAP_DEDUPE: &[&str] = &["kube-root-ca.crt"];
    pub const KUBE_CABUNDLE_RESOURCES: &[&str] = &[
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
        "apiservices",
        "customresourcedefinitions",
    ];
}

/// The whole document. An absent section means all its defaults; an absent `sources`
/// key means the sources of the embedded default configuration (`sources: []` means none).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<RawScan>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<RawServer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<RawMetrics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<RawLog>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<RawTrust>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<RawRevocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<RawReport>,
    /// `probe:` (`GET /probe` modules; `sources::tls_endpoint::config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<super::probe::RawProbe>,
}

/// `enabled:` of the Docker and Kubernetes sections and of `sources[].watch`:
/// `auto`, `true` or `false` (YAML booleans, or the words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawAutoBool {
    Bool(bool),
    Text(String),
}

impl Serialize for RawAutoBool {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RawAutoBool::Bool(b) => s.serialize_bool(*b),
            RawAutoBool::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for RawAutoBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RawAutoBool;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("auto, true or false")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<RawAutoBool, E> {
                Ok(RawAutoBool::Bool(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawAutoBool, E> {
                Ok(RawAutoBool::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `kubernetes:` — the Kubernetes source (Secrets, ConfigMaps, caBundles, CSRs).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKubernetes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<RawAutoBool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_namespaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_scoped: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_page_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_object_size: Option<RawSize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debounce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<RawKubeSecrets>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configmaps: Option<RawKubeConfigMaps>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cabundles: Option<RawKubeCaBundles>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrs: Option<RawKubeCsrs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingresses: Option<RawKubeSwitch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_manager: Option<RawKubeSwitch>,
}

/// `kubernetes.secrets:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKubeSecrets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<RawKubeSecretType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_only: Option<bool>,
}

/// One entry of `kubernetes.secrets.types`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKubeSecretType {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs12_password_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs12_passwords: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keystore_password_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keystore_passwords: Option<Vec<String>>,
}

/// `kubernetes.configmaps:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKubeConfigMaps {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedupe: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_labels: Option<Vec<String>>,
}

/// `kubernetes.cabundles:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKubeCaBundles {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_labels: Option<Vec<String>>,
}

/// `kubernetes.ingresses:`, `kubernetes.cert_manager:` (the health checks).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKubeSwitch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `kubernetes.csrs:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKubeCsrs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
}

/// `scan:` — durations as text (`5m`), parsed in validation so every bad value is reported.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawScan {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_timeout: Option<String>,
}

/// `server:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_config_file: Option<String>,
}

/// `metrics:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_relative: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_per_cert_error: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_not_before: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_expired: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trim_path_components: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_dns_names_in_label: Option<usize>,
}

/// `log:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
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

/// `trust:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrust {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roots: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intermediates: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_roots: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_aia: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// `revocation:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRevocation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl_files: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_crl_size: Option<RawSize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp_nonce: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp_get: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency_per_host: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<RawRevocationCache>,
}

/// `revocation.cache:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRevocationCache {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ttl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ttl: Option<String>,
}

/// `report:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawReport {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning_window: Option<String>,
}

/// `docker:` — the Docker source (see docs/docker.md).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawDocker {
    /// `auto`, `true` or `false` (YAML booleans or strings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<RawAutoBool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `unix:///path`, `tcp://host:port`, `https://host:port`; null = `DOCKER_HOST`
    /// or the default socket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<RawDockerTls>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configs: Option<RawDockerToggle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<RawDockerSecrets>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<RawDockerContainers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<RawDockerNode>,
}

/// `docker.tls:` — client certificate authentication for `tcp://`/`https://` hosts.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawDockerTls {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
}

/// `docker.configs:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawDockerToggle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `docker.secrets:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawDockerSecrets {
    /// `off`, `metadata`, `mounted` or `exec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mounted_dir: Option<String>,
}

/// `docker.containers:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawDockerContainers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_size: Option<RawSize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_containers: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reread_interval: Option<String>,
}

/// `docker.node:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawDockerNode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificates_dir: Option<String>,
}

/// A byte size as written: an integer number of bytes, or text with a unit (`1MiB`).
/// Negative integers are kept so validation can report them precisely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawSize {
    Bytes(u64),
    Negative(i64),
    Text(String),
}

impl Serialize for RawSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RawSize::Bytes(n) => s.serialize_u64(*n),
            RawSize::Negative(n) => s.serialize_i64(*n),
            RawSize::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for RawSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RawSize;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a size in bytes or a string like 1MiB")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawSize, E> {
                Ok(RawSize::Bytes(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawSize, E> {
                Ok(match u64::try_from(v) {
                    Ok(u) => RawSize::Bytes(u),
                    Err(_) => RawSize::Negative(v),
                })
            }
            fn visit_u128<E: serde::de::Error>(self, _: u128) -> Result<RawSize, E> {
                Err(E::custom("size is too large"))
            }
            fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<RawSize, E> {
                if v < 0 {
                    Ok(RawSize::Negative(i64::try_from(v).unwrap_or(i64::MIN)))
                } else {
                    Err(E::custom("size is too large"))
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawSize, E> {
                Ok(RawSize::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl RawConfig {
    /// The raw form of a validated config with every key written out; serializing it
    /// gives YAML that parses back to the same [`super::Config`].
    pub fn from_config(c: &super::Config) -> RawConfig {
        use super::duration::format_duration;
        let paths = |v: &[std::path::PathBuf]| -> Option<Vec<String>> {
            Some(v.iter().map(|p| p.display().to_string()).collect())
        };
        RawConfig {
            scan: Some(RawScan {
                interval: Some(format_duration(c.scan.interval)),
                source_timeout: Some(format_duration(c.scan.source_timeout)),
            }),
            server: Some(RawServer {
                listen: Some(c.server.listen.clone()),
                web_config_file: c
                    .server
                    .web_config_file
                    .as_ref()
                    .map(|p| p.display().to_string()),
            }),
            metrics: Some(RawMetrics {
                cluster: Some(c.metrics.cluster.clone()),
                expose_relative: Some(c.metrics.expose_relative),
                expose_per_cert_error: Some(c.metrics.expose_per_cert_error),
                expose_not_before: Some(c.metrics.expose_not_before),
                expose_expired: Some(c.metrics.expose_expired),
                trim_path_components: Some(c.metrics.trim_path_components),
                max_dns_names_in_label: Some(c.metrics.max_dns_names_in_label),
            }),
            log: Some(RawLog {
                level: Some(c.log.level.clone()),
                format: Some(
                    match c.log.format {
                        super::LogFormat::Text => "text",
                        super::LogFormat::Json => "json",
                    }
                    .to_string(),
                ),
            }),
            trust: Some(RawTrust {
                roots: paths(&c.trust.roots),
                intermediates: paths(&c.trust.intermediates),
                system_roots: Some(c.trust.system_roots),
                fetch_aia: Some(c.trust.fetch_aia),
                profile: Some(c.trust.profile.as_str().to_string()),
            }),
            revocation: Some(RawRevocation {
                crl_files: paths(&c.revocation.crl_files),
                offline: Some(c.revocation.offline),
                methods: Some(
                    c.revocation
                        .methods
                        .iter()
                        .map(|m| m.as_str().to_string())
                        .collect(),
                ),
                fetch_timeout: Some(format_duration(c.revocation.fetch_timeout)),
                max_crl_size: Some(RawSize::Bytes(c.revocation.max_crl_size)),
                ocsp_nonce: Some(c.revocation.ocsp_nonce),
                ocsp_get: Some(c.revocation.ocsp_get),
                max_concurrency_per_host: Some(c.revocation.max_concurrency_per_host),
                cache: Some(RawRevocationCache {
                    min_ttl: Some(format_duration(c.revocation.cache_min_ttl)),
                    max_ttl: Some(format_duration(c.revocation.cache_max_ttl)),
                }),
            }),
            report: Some(RawReport {
                warning_window: Some(format_duration(c.report.warning_window)),
            }),
            probe: Some(c.probe.to_raw()),
        }
    }
}

impl RawDocker {
    /// The raw form of a validated Docker section, every key written out.
    pub fn from_config(d: &super::DockerConfig) -> RawDocker {
        use super::{DockerEnabled, SecretsMode};
        let text = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
        RawDocker {
            enabled: Some(match d.enabled {
                DockerEnabled::Auto => RawAutoBool::Text("auto".into()),
                DockerEnabled::On => RawAutoBool::Bool(true),
                DockerEnabled::Off => RawAutoBool::Bool(false),
            }),
            name: Some(d.name.clone()),
            host: d.host.clone(),
            tls: Some(RawDockerTls {
                ca_file: text(&d.tls.ca_file),
                cert_file: text(&d.tls.cert_file),
                key_file: text(&d.tls.key_file),
            }),
            api_timeout: Some(super::duration::format_duration(d.api_timeout)),
            events: Some(d.events),
            configs: Some(RawDockerToggle {
                enabled: Some(d.configs),
            }),
            secrets: Some(RawDockerSecrets {
                mode: Some(
                    match d.secrets_mode {
                        SecretsMode::Off => "off",
                        SecretsMode::Metadata => "metadata",
                        SecretsMode::Mounted => "mounted",
                        SecretsMode::Exec => "exec",
                    }
                    .to_string(),
                ),
                mounted_dir: Some(d.secrets_dir.display().to_string()),
            }),
            containers: Some(RawDockerContainers {
                enabled: Some(d.containers),
                paths: Some(d.container_paths.clone()),
                label: Some(d.container_label.clone()),
                max_file_size: Some(RawSize::Bytes(d.max_file_size)),
                max_containers: Some(d.max_containers),
                reread_interval: Some(super::duration::format_duration(d.reread_interval)),
            }),
            node: Some(RawDockerNode {
                enabled: Some(d.node),
                certificates_dir: text(&d.node_dir),
            }),
        }
    }
}

impl RawKubernetes {
    /// The raw form of a validated Kubernetes section with every key written out.
    pub fn from_config(k: &super::KubernetesConfig) -> RawKubernetes {
        use super::KubeEnabled;
        RawKubernetes {
            enabled: Some(match k.enabled {
                KubeEnabled::Auto => RawAutoBool::Text("auto".into()),
                KubeEnabled::On => RawAutoBool::Bool(true),
                KubeEnabled::Off => RawAutoBool::Bool(false),
            }),
            name: Some(k.name.clone()),
            kubeconfig: k.kubeconfig.as_ref().map(|p| p.display().to_string()),
            context: k.context.clone(),
            namespaces: Some(k.namespaces.clone()),
            exclude_namespaces: Some(k.exclude_namespaces.clone()),
            namespace_scoped: Some(k.namespace_scoped),
            list_page_size: Some(k.list_page_size),
            max_object_size: Some(RawSize::Bytes(k.max_object_size)),
            debounce: Some(super::duration::format_duration(k.debounce)),
            secrets: Some(RawKubeSecrets {
                enabled: Some(k.secrets.enabled),
                label_selector: k.secrets.label_selector.clone(),
                types: Some(
                    k.secrets
                        .types
                        .iter()
                        .map(|t| RawKubeSecretType {
                            type_: Some(t.type_.clone()),
                            keys: Some(t.keys.clone()),
                            pkcs12_password_key: t.pkcs12_password_key.clone(),
                            pkcs12_passwords: Some(t.pkcs12_passwords.clone()),
                            keystore_password_key: t.keystore_password_key.clone(),
                            keystore_passwords: Some(t.keystore_passwords.clone()),
                        })
                        .collect(),
                ),
                expose_labels: Some(k.secrets.expose_labels.clone()),
                include: Some(k.secrets.include.clone()),
                exclude: Some(k.secrets.exclude.clone()),
                leaf_only: Some(k.secrets.leaf_only),
            }),
            configmaps: Some(RawKubeConfigMaps {
                enabled: Some(k.configmaps.enabled),
                label_selector: k.configmaps.label_selector.clone(),
                keys: Some(k.configmaps.keys.clone()),
                dedupe: Some(k.configmaps.dedupe.clone()),
                include: Some(k.configmaps.include.clone()),
                exclude: Some(k.configmaps.exclude.clone()),
                expose_labels: Some(k.configmaps.expose_labels.clone()),
            }),
            cabundles: Some(RawKubeCaBundles {
                enabled: Some(k.cabundles.enabled),
                resources: Some(k.cabundles.resources.clone()),
                expose_labels: Some(k.cabundles.expose_labels.clone()),
            }),
            csrs: Some(RawKubeCsrs {
                enabled: Some(k.csrs.enabled),
                label_selector: k.csrs.label_selector.clone(),
            }),
            ingresses: Some(RawKubeSwitch {
                enabled: Some(k.ingresses.enabled),
            }),
            cert_manager: Some(RawKubeSwitch {
                enabled: Some(k.cert_manager.enabled),
            }),
        }
    }
}
