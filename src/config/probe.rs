//! `probe:` — the modules of `GET /probe` (the TLS endpoint prober,
//! `sources::tls_endpoint::probe`, reads them; docs/tls-endpoints.md).

use std::path::PathBuf;
use std::time::Duration;

use crate::model::target;

/// Per-target timeout of a probe module without `timeout:`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

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
        use super::duration::format_duration;
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
