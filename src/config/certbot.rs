//! Configuration of a `certbot` source (certbot lineages; used by
//! `sources::certbot`, which re-exports it as its `config`)
//! (`sources: [{kind: certbot, name, config_dir}]`): `config_dir` is certbot's
//! configuration directory (default `/etc/letsencrypt`), holding `renewal/`,
//! `live/` and `archive/`.

use std::path::PathBuf;

pub const DEFAULT_CONFIG_DIR: &str = "/etc/letsencrypt";

/// Keys of a `certbot` entry besides `kind` and `name`.
pub const KEYS: &[&str] = &["config_dir"];

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
