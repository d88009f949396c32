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
