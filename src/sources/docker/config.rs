//! Configuration of the Docker source (`kind: docker` entries of `sources:`, and the
//! legacy top-level `docker:` section, an alias for one entry): the registry entry
//! [`DockerSpec`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::check::MIN_SCAN_DURATION;
use crate::config::check::{auto_bool, check_path_text, check_source_name, duration, size};
use crate::config::raw::{RawAutoBool, RawSize};
use crate::config::{EntryCtx, KindConfig, Problems};
use crate::sources::{Source, SourceSpec};

/// Default values of the Docker keys (`default.yaml` and docs/docker.md show them).
pub mod defaults {
    use std::time::Duration;

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

impl RawDocker {
    /// The raw form of a validated Docker section, every key written out.
    pub fn from_config(d: &DockerConfig) -> RawDocker {
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
            api_timeout: Some(crate::config::format_duration(d.api_timeout)),
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
                reread_interval: Some(crate::config::format_duration(d.reread_interval)),
            }),
            node: Some(RawDockerNode {
                enabled: Some(d.node),
                certificates_dir: text(&d.node_dir),
            }),
        }
    }
}

/// The Docker section with every key at its default.
pub fn default_docker() -> DockerConfig {
    let mut p = Problems::default();
    docker(&mut p, "docker", None)
}

/// A Docker source: the top-level `docker:` section (`base` = `docker`) or a
/// `kind: docker` entry of `sources:` (`base` = `sources[i]`).
pub fn docker(p: &mut Problems, base: &str, raw: Option<&RawDocker>) -> DockerConfig {
    let d = raw.cloned().unwrap_or_default();
    let enabled = auto_bool(
        p,
        &format!("{base}.enabled"),
        d.enabled.as_ref(),
        [DockerEnabled::Auto, DockerEnabled::On, DockerEnabled::Off],
    );
    let name = d.name.unwrap_or_else(|| defaults::DOCKER_NAME.to_string());
    if let Err(e) = check_source_name(&name) {
        p.add(format!("{base}.name"), e);
    }
    let host = d.host;
    if let Some(h) = &host {
        let ok = ["unix://", "tcp://", "http://", "https://"]
            .iter()
            .any(|s| h.starts_with(s) && h.len() > s.len());
        if !ok || h.chars().any(char::is_control) {
            p.add(
                format!("{base}.host"),
                format!("{h:?} is not unix:///path, tcp://host:port, http://host:port or https://host:port"),
            );
        }
    }
    let t = d.tls.unwrap_or_default();
    let tls_path = |p: &mut Problems, key: &str, v: Option<String>| {
        v.map(|s| {
            if let Err(e) = check_path_text(&s) {
                p.add(format!("{base}.tls.{key}"), e);
            }
            PathBuf::from(s)
        })
    };
    let tls = DockerTls {
        ca_file: tls_path(p, "ca_file", t.ca_file),
        cert_file: tls_path(p, "cert_file", t.cert_file),
        key_file: tls_path(p, "key_file", t.key_file),
    };
    if tls.cert_file.is_some() != tls.key_file.is_some() {
        p.add(
            format!("{base}.tls"),
            "cert_file and key_file must be given together",
        );
    }
    let api_timeout = duration(
        p,
        &format!("{base}.api_timeout"),
        d.api_timeout.as_deref(),
        defaults::DOCKER_API_TIMEOUT,
        Duration::from_millis(1),
    );
    let s = d.secrets.unwrap_or_default();
    let secrets_mode = match s.mode.as_deref().unwrap_or(defaults::DOCKER_SECRETS_MODE) {
        "off" => SecretsMode::Off,
        "metadata" => SecretsMode::Metadata,
        "mounted" => SecretsMode::Mounted,
        "exec" => SecretsMode::Exec,
        other => {
            p.add(
                format!("{base}.secrets.mode"),
                format!("{other:?} is not one of off, metadata, mounted, exec"),
            );
            SecretsMode::Metadata
        }
    };
    let secrets_dir = s
        .mounted_dir
        .unwrap_or_else(|| defaults::DOCKER_SECRETS_DIR.to_string());
    if let Err(e) = check_path_text(&secrets_dir) {
        p.add(format!("{base}.secrets.mounted_dir"), e);
    }
    let c = d.containers.unwrap_or_default();
    let container_paths = c.paths.unwrap_or_else(|| {
        defaults::DOCKER_CONTAINER_PATHS
            .iter()
            .map(|s| s.to_string())
            .collect()
    });
    for (i, path) in container_paths.iter().enumerate() {
        if !path.starts_with('/') || path.contains('\0') {
            p.add(
                format!("{base}.containers.paths[{i}]"),
                format!("{path:?} must be an absolute path inside the container"),
            );
        }
    }
    let container_label = c
        .label
        .unwrap_or_else(|| defaults::DOCKER_CONTAINER_LABEL.to_string());
    if container_label.chars().any(char::is_control) {
        p.add(
            format!("{base}.containers.label"),
            "must not contain control characters",
        );
    }
    let max_file_size = size(
        p,
        &format!("{base}.containers.max_file_size"),
        c.max_file_size.as_ref(),
        defaults::DOCKER_MAX_FILE_SIZE,
    );
    let max_containers = c.max_containers.unwrap_or(defaults::DOCKER_MAX_CONTAINERS);
    if max_containers == 0 {
        p.add(
            format!("{base}.containers.max_containers"),
            "must be greater than zero",
        );
    }
    let reread_interval = duration(
        p,
        &format!("{base}.containers.reread_interval"),
        c.reread_interval.as_deref(),
        defaults::DOCKER_REREAD_INTERVAL,
        MIN_SCAN_DURATION,
    );
    let n = d.node.unwrap_or_default();
    let node_dir = n.certificates_dir;
    if let Some(dir) = &node_dir {
        if let Err(e) = check_path_text(dir) {
            p.add(format!("{base}.node.certificates_dir"), e);
        }
    }
    DockerConfig {
        enabled,
        name,
        host,
        tls,
        api_timeout,
        events: d.events.unwrap_or(defaults::DOCKER_EVENTS),
        configs: d
            .configs
            .and_then(|c| c.enabled)
            .unwrap_or(defaults::DOCKER_CONFIGS),
        secrets_mode,
        secrets_dir: PathBuf::from(secrets_dir),
        containers: c.enabled.unwrap_or(defaults::DOCKER_CONTAINERS),
        container_paths,
        container_label,
        max_file_size,
        max_containers,
        node: n.enabled.unwrap_or(defaults::DOCKER_NODE),
        node_dir: node_dir.map(PathBuf::from),
        reread_interval,
    }
}

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
        docker(ctx.problems, ctx.base, Some(raw))
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
        Some(docker(&mut p, "docker", None))
    }
}
