//! Configuration of a `certbot` source (certbot lineages)
//! (`sources: [{kind: certbot, name, config_dir}]`; registry entry [`CertbotSpec`]): `config_dir` is certbot's
//! configuration directory (default `/etc/letsencrypt`), holding `renewal/`,
//! `live/` and `archive/`.

use std::path::PathBuf;

pub const DEFAULT_CONFIG_DIR: &str = "/etc/letsencrypt";

/// A validated `certbot` source.
#[derive(Debug, Clone, PartialEq)]
pub struct CertbotConfig {
    pub name: String,
    pub config_dir: PathBuf,
}

impl CertbotConfig {
    pub fn new(name: impl Into<String>, config_dir: impl Into<PathBuf>) -> Self {
        CertbotConfig {
            name: name.into(),
            config_dir: config_dir.into(),
        }
    }
}

/// Validate the keys of `sources[i]` (`base` is that path).
pub fn validate(
    base: &str,
    name: String,
    config_dir: Option<&str>,
    problem: &mut dyn FnMut(String, String),
) -> CertbotConfig {
    let dir = config_dir.unwrap_or(DEFAULT_CONFIG_DIR);
    if dir.is_empty() || dir.contains('\0') {
        problem(
            format!("{base}.config_dir"),
            "must be a non-empty path".into(),
        );
    }
    CertbotConfig::new(name, PathBuf::from(crate::config::paths::expand_tilde(dir)))
}

// ---------------------------------------------------------------- registry entry

/// The keys of a `certbot` entry as written.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCertbot {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_dir: Option<String>,
}

impl crate::config::KindConfig for CertbotConfig {
    fn kind(&self) -> &str {
        "certbot"
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// The registry entry of `kind: certbot`.
pub struct CertbotSpec;

impl crate::sources::SourceSpec for CertbotSpec {
    const KINDS: &'static [&'static str] = &["certbot"];
    const KEYS: &'static [&'static str] = &["name", "config_dir"];
    type Raw = RawCertbot;
    type Config = CertbotConfig;

    fn validate(raw: &RawCertbot, ctx: &mut crate::config::EntryCtx<'_>) -> CertbotConfig {
        let name = ctx.name(raw.name.as_ref());
        let base = ctx.base.to_string();
        let problems = &mut *ctx.problems;
        validate(&base, name, raw.config_dir.as_deref(), &mut |p, m| {
            problems.add(p, m)
        })
    }

    fn to_raw(c: &CertbotConfig) -> RawCertbot {
        RawCertbot {
            name: Some(c.name.clone()),
            config_dir: Some(c.config_dir.display().to_string()),
        }
    }

    fn build(cfg: &CertbotConfig) -> Vec<std::sync::Arc<dyn crate::sources::Source>> {
        vec![std::sync::Arc::new(super::build(cfg))]
    }
}
