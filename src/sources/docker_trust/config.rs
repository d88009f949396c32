//! Configuration of the `docker_trust` source (`sources: [{kind: docker_trust,
//! name, trust_dirs: [~/.docker/trust], expiry_warning: 30d}]`): the registry entry
//! [`DockerTrustSpec`]. `~` in `trust_dirs` is the home directory (expanded when the
//! source is built, so the configuration round-trips as written).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::DockerTrustConfig;
use crate::config::{check, format_duration, EntryCtx, KindConfig};
use crate::sources::{Source, SourceSpec};

/// Default `name` of a `docker_trust` entry.
pub const DEFAULT_NAME: &str = "docker-trust";
/// Default `trust_dirs`.
pub const DEFAULT_TRUST_DIR: &str = "~/.docker/trust";
/// Default `expiry_warning`.
pub const DEFAULT_EXPIRY_WARNING: Duration = Duration::from_secs(30 * 86_400);

/// The keys of a `docker_trust` entry as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawDockerTrust {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_dirs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_warning: Option<String>,
}

impl KindConfig for DockerTrustConfig {
    fn kind(&self) -> &str {
        "docker_trust"
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// The registry entry of `kind: docker_trust`.
pub struct DockerTrustSpec;

impl SourceSpec for DockerTrustSpec {
    const KINDS: &'static [&'static str] = &["docker_trust"];
    const KEYS: &'static [&'static str] = &["name", "trust_dirs", "expiry_warning"];
    type Raw = RawDockerTrust;
    type Config = DockerTrustConfig;

    fn validate(raw: &RawDockerTrust, ctx: &mut EntryCtx<'_>) -> DockerTrustConfig {
        let default_name = DEFAULT_NAME.to_string();
        let name = ctx.name(Some(raw.name.as_ref().unwrap_or(&default_name)));
        let dirs = raw
            .trust_dirs
            .clone()
            .unwrap_or_else(|| vec![DEFAULT_TRUST_DIR.to_string()]);
        if dirs.is_empty() {
            ctx.add("trust_dirs", "at least one trust directory is required");
        }
        let path = ctx.path("trust_dirs");
        let trust_dirs = check::path_list(ctx.problems, &path, Some(&dirs));
        let path = ctx.path("expiry_warning");
        let expiry_warning = check::duration(
            ctx.problems,
            &path,
            raw.expiry_warning.as_deref(),
            DEFAULT_EXPIRY_WARNING,
            Duration::ZERO,
        );
        DockerTrustConfig {
            name,
            trust_dirs,
            expiry_warning,
        }
    }

    fn to_raw(c: &DockerTrustConfig) -> RawDockerTrust {
        RawDockerTrust {
            name: Some(c.name.clone()),
            trust_dirs: Some(
                c.trust_dirs
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect(),
            ),
            expiry_warning: Some(format_duration(c.expiry_warning)),
        }
    }

    fn build(c: &DockerTrustConfig) -> Vec<Arc<dyn Source>> {
        let mut c = c.clone();
        c.trust_dirs = c
            .trust_dirs
            .iter()
            .map(|p| PathBuf::from(crate::config::paths::expand_tilde(p)))
            .collect();
        vec![Arc::new(super::DockerTrustSource::new(c))]
    }
}
