//! A configuration written for the current release keeps working with the same
//! meaning (issue 12). The files in `tests/fixtures/release-configs/` are frozen
//! copies of what the release ships (deploy manifests' configs and the embedded
//! default); they are loaded with the library's loader and their meaning is checked
//! field by field, then through `print-default-config`'s serializer and back.

use std::path::PathBuf;
use std::time::Duration;

use certvigil::config::Config;
use certvigil::model::SourceKind;
use certvigil::setup::{from_yaml_str, load_file, to_yaml};
use certvigil::sources::docker::config::{DockerConfig, DockerEnabled, SecretsMode};
use certvigil::sources::files::config::FileSourceConfig;
use certvigil::sources::kubernetes::config::{KubeEnabled, KubernetesConfig};

// What the release's `Config` fields were, read through the registry's typed
// accessors: the file-like sources, and the Docker / Kubernetes sources of the
// top-level sections (off when absent and replaced by `sources:` entries).
fn files(c: &Config) -> Vec<&FileSourceConfig> {
    c.sources.of::<FileSourceConfig>().collect()
}

fn docker(c: &Config) -> DockerConfig {
    match c.sources.section::<DockerConfig>() {
        Some(d) => d.clone(),
        None => {
            let mut d = certvigil::sources::docker::config::default_docker();
            d.enabled = DockerEnabled::Off;
            d
        }
    }
}

fn kubernetes(c: &Config) -> KubernetesConfig {
    match c.sources.section::<KubernetesConfig>() {
        Some(k) => k.clone(),
        None => KubernetesConfig {
            enabled: KubeEnabled::Off,
            ..KubernetesConfig::default()
        },
    }
}

fn fixture(name: &str) -> Config {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/release-configs")
        .join(name);
    match load_file(&p) {
        Ok(c) => c,
        Err(e) => panic!("{name} is no longer accepted:\n{e}"),
    }
}

/// The serialized form is valid input with the same meaning.
fn round_trips(name: &str, c: &Config) {
    let yaml = to_yaml(c).unwrap_or_else(|e| panic!("{name}: cannot serialize: {e}"));
    let back = from_yaml_str(&yaml, name).unwrap_or_else(|e| panic!("{name}: {e}\n{yaml}"));
    assert_eq!(&back, c, "{name}: meaning changed through to_yaml:\n{yaml}");
}

#[test]
fn kubernetes_deployment_config() {
    let c = fixture("kubernetes-deployment.yml");
    assert_eq!(c.scan.interval, Duration::from_secs(300));
    assert_eq!(c.server.listen, ":9793");
    assert!(files(&c).is_empty(), "sources: [] means no file source");
    let k = &kubernetes(&c);
    assert_eq!(k.enabled, KubeEnabled::On);
    assert_eq!(k.name, "kubernetes");
    assert!(k.namespaces.is_empty() && k.exclude_namespaces.is_empty());
    assert!(!k.namespace_scoped);
    assert!(k.secrets.enabled);
    assert_eq!(k.secrets.types.len(), 1);
    assert_eq!(k.secrets.types[0].type_, "kubernetes.io/tls");
    assert_eq!(k.secrets.types[0].keys, ["tls.crt", "ca.crt"]);
    assert!(!k.configmaps.enabled);
    assert_eq!(k.configmaps.keys, ["ca.crt"]);
    assert_eq!(k.configmaps.dedupe, ["kube-root-ca.crt"]);
    assert!(k.cabundles.enabled);
    assert_eq!(k.cabundles.resources.len(), 4);
    assert!(k.csrs.enabled);
    assert_eq!(docker(&c).enabled, DockerEnabled::Off);
    assert_eq!(
        c.trust.roots,
        [PathBuf::from(
            "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
        )]
    );
    assert!(c.revocation.offline);
    round_trips("kubernetes-deployment.yml", &c);
}

#[test]
fn kubernetes_daemonset_config() {
    let c = fixture("kubernetes-daemonset.yml");
    assert_eq!(files(&c).len(), 1);
    let f = files(&c)[0];
    assert_eq!(f.kind, SourceKind::File);
    assert_eq!(f.name, "host-files");
    assert_eq!(
        f.paths,
        [
            "/etc/kubernetes/pki",
            "/var/lib/kubelet/pki",
            "/etc/ssl",
            "/etc/pki"
        ]
    );
    assert!(f.exclude.iter().any(|e| e == "**/*.key"));
    assert!(f.follow_symlinks);
    assert_eq!(kubernetes(&c).enabled, KubeEnabled::Off);
    assert_eq!(docker(&c).enabled, DockerEnabled::Off);
    assert_eq!(c.trust.roots, [PathBuf::from("/etc/kubernetes/pki/ca.crt")]);
    round_trips("kubernetes-daemonset.yml", &c);
}

#[test]
fn swarm_config() {
    let c = fixture("swarm.yml");
    assert_eq!(files(&c).len(), 1);
    assert_eq!(files(&c)[0].paths, ["/etc/ssl", "/etc/docker"]);
    let d = &docker(&c);
    assert_eq!(d.enabled, DockerEnabled::On);
    assert_eq!(d.name, "docker");
    assert_eq!(d.host.as_deref(), Some("unix:///var/run/docker.sock"));
    assert!(d.events && d.configs && d.node && !d.containers);
    assert_eq!(d.secrets_mode, SecretsMode::Mounted);
    assert_eq!(d.secrets_dir, PathBuf::from("/run/secrets"));
    assert_eq!(
        d.node_dir.as_deref(),
        Some(std::path::Path::new("/var/lib/docker/swarm/certificates"))
    );
    assert_eq!(kubernetes(&c).enabled, KubeEnabled::Off);
    round_trips("swarm.yml", &c);
}

#[test]
fn release_default_config() {
    // The default the release embedded (and printed with print-default-config),
    // given back as --config. Today's embedded default may grow; this file's
    // meaning must not change.
    let c = fixture("default.yaml");
    assert_eq!(c.scan.interval, Duration::from_secs(300));
    assert_eq!(c.scan.source_timeout, Duration::from_secs(120));
    assert_eq!(c.server.listen, ":9793");
    assert_eq!(c.server.web_config_file, None);
    let kinds: Vec<(SourceKind, &str, usize)> = files(&c)
        .into_iter()
        .map(|f| (f.kind, f.name.as_str(), f.paths.len()))
        .collect();
    assert_eq!(
        kinds,
        [
            (SourceKind::File, "host-files", 8),
            (SourceKind::Kubeconfig, "host-kubeconfigs", 2)
        ]
    );
    assert_eq!(files(&c)[0].max_file_size, 1 << 20);
    assert_eq!(files(&c)[0].max_files, 200_000);
    assert_eq!(kubernetes(&c).enabled, KubeEnabled::Auto);
    assert_eq!(kubernetes(&c).list_page_size, 250);
    assert_eq!(kubernetes(&c).debounce, Duration::from_millis(500));
    assert_eq!(kubernetes(&c).secrets.types[0].keys, ["tls.crt", "ca.crt"]);
    round_trips("default.yaml", &c);
}
