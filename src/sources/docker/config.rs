//! Configuration of the Docker source (`kind: docker` entries of `sources:`, and the
//! legacy top-level `docker:` section, an alias for one entry): the registry entry
//! [`DockerSpec`].

use std::sync::Arc;

use crate::config::raw::RawDocker;
use crate::config::{EntryCtx, KindConfig, Problems};
use crate::sources::{Source, SourceSpec};

pub use crate::config::{DockerConfig, DockerEnabled, DockerTls, SecretsMode};

impl KindConfig for DockerConfig {
    fn kind(&self) -> &str {
        "docker"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn enabled(&self) -> bool {
        self.enabled != DockerEnabled::Off
    }
}

/// The registry entry of `kind: docker`.
pub struct DockerSpec;

impl SourceSpec for DockerSpec {
    const KINDS: &'static [&'static str] = &["docker"];
    const KEYS: &'static [&'static str] = &[
        "name",
        "enabled",
        "host",
        "tls",
        "api_timeout",
        "events",
        "configs",
        "secrets",
        "containers",
        "node",
        "secrets.mode",
        "secrets.mounted_dir",
    ];
    const SECTION: Option<&'static str> = Some("docker");
    type Raw = RawDocker;
    type Config = DockerConfig;

    fn validate(raw: &RawDocker, ctx: &mut EntryCtx<'_>) -> DockerConfig {
        crate::config::validate::docker(ctx.problems, ctx.base, Some(raw))
    }

    fn to_raw(d: &DockerConfig) -> RawDocker {
        RawDocker::from_config(d)
    }

    fn build(cfg: &DockerConfig) -> Vec<Arc<dyn Source>> {
        if super::DockerSource::wanted(cfg) {
            vec![Arc::new(super::DockerSource::new(cfg.clone()))]
        } else {
            Vec::new()
        }
    }

    fn implicit_section() -> Option<DockerConfig> {
        let mut p = Problems::default();
        Some(crate::config::validate::docker(&mut p, "docker", None))
    }
}

/// The Docker settings with every key at its default (the implicit `docker:` section).
pub fn default_docker() -> DockerConfig {
    crate::config::default_docker()
}
