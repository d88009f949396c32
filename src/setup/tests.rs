//! Tests of the whole config layer: the embedded default, round trips, located errors,
//! hostile input.

use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::config::*;
use crate::model::SourceKind;
use crate::sources::docker::config::{default_docker, DockerConfig, DockerEnabled, SecretsMode};
use crate::sources::files::config::FileSourceConfig;
use crate::sources::kubernetes::config::{KubeEnabled, KubernetesConfig};

fn files(c: &Config) -> Vec<&FileSourceConfig> {
    c.sources.of::<FileSourceConfig>().collect()
}

/// The top-level `docker:` section (or its implicit default), if not replaced by entries.
fn docker(c: &Config) -> DockerConfig {
    c.sources
        .section::<DockerConfig>()
        .cloned()
        .unwrap_or_else(|| DockerConfig {
            enabled: DockerEnabled::Off,
            ..default_docker()
        })
}

fn docker_entries(c: &Config) -> Vec<&DockerConfig> {
    c.sources.entries_of::<DockerConfig>().collect()
}

fn kubernetes(c: &Config) -> KubernetesConfig {
    c.sources
        .section::<KubernetesConfig>()
        .cloned()
        .unwrap_or_else(|| KubernetesConfig {
            enabled: KubeEnabled::Off,
            ..KubernetesConfig::default()
        })
}

fn kube_entries(c: &Config) -> Vec<&KubernetesConfig> {
    c.sources.entries_of::<KubernetesConfig>().collect()
}

fn errors_of(text: &str) -> ConfigErrors {
    match from_yaml_str(text, "test.yaml") {
        Ok(c) => panic!("expected errors, got {c:?}"),
        Err(e) => e,
    }
}

fn find<'a>(errs: &'a ConfigErrors, path: &str) -> &'a ConfigError {
    errs.iter()
        .find(|e| e.path == path)
        .unwrap_or_else(|| panic!("no error at {path}; got:\n{errs}"))
}

#[test]
fn default_yaml_parses_and_validates() {
    let c = from_yaml_str(DEFAULT_YAML, DEFAULT_ORIGIN).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c, default_config());
    assert_eq!(files(&c).len(), 2);
    let fs = files(&c);
    let files = fs[0];
    assert_eq!(files.kind, SourceKind::File);
    assert_eq!(files.name, "host-files");
    for p in [
        "/etc/ssl",
        "/etc/pki",
        "/etc/letsencrypt/live",
        "/etc/kubernetes/pki",
        "/var/lib/kubelet/pki",
        "/etc/docker",
        "/var/lib/docker/swarm/certificates",
        "~/.docker",
    ] {
        assert!(files.paths.iter().any(|x| x == p), "{p} missing");
    }
    for x in ["/etc/ssl/certs/**", "/etc/pki/ca-trust/**", "**/*.key"] {
        assert!(files.exclude.iter().any(|e| e == x), "{x} not excluded");
    }
    let kc = fs[1];
    assert_eq!(kc.kind, SourceKind::Kubeconfig);
    assert_eq!(kc.name, "host-kubeconfigs");
    assert_eq!(kc.paths, vec!["/etc/kubernetes/*.conf", "~/.kube/config"]);
}

#[test]
fn default_yaml_shows_the_code_defaults() {
    // An empty document (all keys absent) must equal the embedded default, so the
    // values shown in default.yaml and those in `raw::defaults` cannot drift apart.
    let empty = from_yaml_str("", "empty").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(empty, default_config());
    let braces = from_yaml_str("{}\n", "braces").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(braces, default_config());
    assert_eq!(empty.scan.interval, Duration::from_secs(300));
    assert_eq!(empty.scan.source_timeout, Duration::from_secs(120));
    assert_eq!(empty.server.listen, ":9793");
    assert_eq!(
        empty.report.warning_window,
        Duration::from_secs(28 * 86_400)
    );
    assert_eq!(
        files(&empty)[0].max_file_size,
        crate::sources::files::config::defaults::MAX_FILE_SIZE
    );
    assert_eq!(files(&empty)[0].max_files, 200_000);
    assert!(empty.trust.roots.is_empty());
    assert!(!empty.revocation.offline);
}

#[test]
fn revocation_keys_are_validated() {
    let errs = from_yaml_str(
        "revocation:\n  methods: [crl, ldap, crl]\n  max_crl_size: 0\n  max_concurrency_per_host: 0\n  cache:\n    min_ttl: 2h\n    max_ttl: 1h\n",
        "t",
    )
    .unwrap_err();
    for path in [
        "revocation.methods[1]",
        "revocation.methods[2]",
        "revocation.max_crl_size",
        "revocation.max_concurrency_per_host",
        "revocation.cache.max_ttl",
    ] {
        assert!(
            errs.0.iter().any(|e| e.path == path),
            "no error at {path}: {errs}"
        );
    }
    let c = from_yaml_str("revocation:\n  methods: []\n", "t").unwrap_or_else(|e| panic!("{e}"));
    assert!(c.revocation.methods.is_empty());
    let d = default_config();
    assert_eq!(
        d.revocation.methods,
        vec![RevocationMethodConfig::Crl, RevocationMethodConfig::Ocsp]
    );
    assert_eq!(d.revocation.max_crl_size, 20 << 20);
    assert!(d.trust.system_roots);
}

#[test]
fn empty_sources_means_none() {
    let c = from_yaml_str("sources: []\n", "t").unwrap_or_else(|e| panic!("{e}"));
    assert!(files(&c).is_empty());
}

const EVERY_KEY: &str = r#"
scan:
  interval: 1h30m
  source_timeout: 45s
server:
  listen: "[::1]:9999"
  web_config_file: /etc/certvigil/web.yml
metrics:
  cluster: prod-eu
  expose_relative: true
  expose_per_cert_error: true
  expose_not_before: false
  expose_expired: false
  trim_path_components: 2
  max_dns_names_in_label: 3
log:
  level: certvigil=debug,info
  format: json
sources:
  - kind: file
    name: web
    paths: [/srv/tls, "/opt/*/certs"]
    exclude: ["**/*.key"]
    follow_symlinks: false
    max_file_size: 512KiB
    pkcs12_passwords: [changeit, secret]
    try_empty_password: false
    keystore_passwords: [storepass, ""]
    max_files: 1000
    watch:
      enabled: false
      verify_interval: 10m
      debounce: 250ms
  - kind: kubeconfig
    name: kube.admin:1
    paths: [~/.kube/config]
    max_file_size: 4096
trust:
  roots: [/etc/certvigil/roots.pem]
  intermediates: [/etc/certvigil/int.pem]
  system_roots: false
  fetch_aia: true
  profile: rfc5280
revocation:
  crl_files: [/var/lib/crl/a.crl, /var/lib/crl/b.pem]
  offline: true
  methods: [ocsp, crl]
  fetch_timeout: 3s
  max_crl_size: 1MiB
  ocsp_nonce: false
  ocsp_get: true
  max_concurrency_per_host: 2
  cache:
    min_ttl: 1m
    max_ttl: 2h
docker:
  enabled: true
  name: swarm-a
  host: tcp://127.0.0.1:2376
  tls: {ca_file: /etc/docker/ca.pem, cert_file: /etc/docker/cert.pem, key_file: /etc/docker/key.pem}
  api_timeout: 3s
  events: false
  configs: {enabled: false}
  secrets: {mode: exec, mounted_dir: /secrets}
  containers:
    enabled: false
    paths: [/tls, "/opt/*/cert.pem"]
    label: tls.paths
    max_file_size: 64KiB
    max_containers: 10
    reread_interval: 10m
  node: {enabled: false, certificates_dir: /srv/swarm/certs}
report:
  warning_window: 2w
kubernetes:
  enabled: true
  name: prod
  kubeconfig: /etc/kube/config
  context: admin@prod
  namespaces: [team-a, team-b]
  exclude_namespaces: [kube-system]
  namespace_scoped: true
  list_page_size: 50
  max_object_size: 64KiB
  debounce: 2s
  secrets:
    enabled: true
    label_selector: "app=web"
    types:
      - type: Opaque
        keys: ["*.crt", keystore.p12]
        pkcs12_password_key: password
        pkcs12_passwords: [changeit]
        keystore_password_key: storepass
        keystore_passwords: [changeit]
    expose_labels: [app.kubernetes.io/name]
    include: ["web-*"]
    exclude: ["*-old"]
    leaf_only: true
  configmaps:
    enabled: true
    label_selector: null
    keys: [ca.crt, "*.pem"]
    dedupe: []
    include: ["trust-*"]
    expose_labels: [team]
  cabundles:
    enabled: false
    resources: [apiservices]
    expose_labels: [app]
  csrs:
    enabled: true
    label_selector: "x=y"
  ingresses:
    enabled: true
  cert_manager:
    enabled: false
"#;

fn every_key_expected() -> Config {
    Config {
        scan: ScanConfig {
            interval: Duration::from_secs(5400),
            source_timeout: Duration::from_secs(45),
        },
        server: ServerConfig {
            listen: "[::1]:9999".into(),
            web_config_file: Some(PathBuf::from("/etc/certvigil/web.yml")),
        },
        metrics: MetricsConfig {
            cluster: "prod-eu".into(),
            expose_relative: true,
            expose_per_cert_error: true,
            expose_not_before: false,
            expose_expired: false,
            trim_path_components: 2,
            max_dns_names_in_label: 3,
        },
        log: LogConfig {
            level: "certvigil=debug,info".into(),
            format: LogFormat::Json,
        },
        trust: TrustConfig {
            roots: vec![PathBuf::from("/etc/certvigil/roots.pem")],
            intermediates: vec![PathBuf::from("/etc/certvigil/int.pem")],
            system_roots: false,
            fetch_aia: true,
            profile: crate::config::TrustProfile::Rfc5280,
        },
        revocation: RevocationConfig {
            crl_files: vec![
                PathBuf::from("/var/lib/crl/a.crl"),
                PathBuf::from("/var/lib/crl/b.pem"),
            ],
            offline: true,
            methods: vec![RevocationMethodConfig::Ocsp, RevocationMethodConfig::Crl],
            fetch_timeout: Duration::from_secs(3),
            max_crl_size: 1 << 20,
            ocsp_nonce: false,
            ocsp_get: true,
            max_concurrency_per_host: 2,
            cache_min_ttl: Duration::from_secs(60),
            cache_max_ttl: Duration::from_secs(7200),
        },
        report: ReportConfig {
            warning_window: Duration::from_secs(14 * 86_400),
        },
        sources: every_key_sources(),
        probe: Default::default(),
    }
}

fn every_key_sources() -> SourceConfigs {
    let mut s = SourceConfigs::default();
    let files = vec![
        FileSourceConfig {
            kind: SourceKind::File,
            name: "web".into(),
            paths: vec!["/srv/tls".into(), "/opt/*/certs".into()],
            exclude: vec!["**/*.key".into()],
            follow_symlinks: false,
            max_file_size: 512 * 1024,
            pkcs12_passwords: vec!["changeit".into(), "secret".into()],
            try_empty_password: false,
            keystore_passwords: vec!["storepass".into(), "".into()],
            max_files: 1000,
            watch: crate::sources::files::config::FileWatchConfig {
                enabled: crate::sources::files::config::WatchEnabled::Off,
                verify_interval: Duration::from_secs(600),
                debounce: Duration::from_millis(250),
            },
        },
        FileSourceConfig {
            kind: SourceKind::Kubeconfig,
            name: "kube.admin:1".into(),
            paths: vec!["~/.kube/config".into()],
            exclude: vec![],
            follow_symlinks: true,
            max_file_size: 4096,
            pkcs12_passwords: vec![],
            try_empty_password: true,
            keystore_passwords: vec![],
            max_files: 200_000,
            watch: Default::default(),
        },
    ];
    let docker = DockerConfig {
        enabled: DockerEnabled::On,
        name: "swarm-a".into(),
        host: Some("tcp://127.0.0.1:2376".into()),
        tls: crate::sources::docker::config::DockerTls {
            ca_file: Some(PathBuf::from("/etc/docker/ca.pem")),
            cert_file: Some(PathBuf::from("/etc/docker/cert.pem")),
            key_file: Some(PathBuf::from("/etc/docker/key.pem")),
        },
        api_timeout: Duration::from_secs(3),
        events: false,
        configs: false,
        secrets_mode: SecretsMode::Exec,
        secrets_dir: PathBuf::from("/secrets"),
        containers: false,
        container_paths: vec!["/tls".into(), "/opt/*/cert.pem".into()],
        container_label: "tls.paths".into(),
        max_file_size: 64 * 1024,
        max_containers: 10,
        node: false,
        node_dir: Some(PathBuf::from("/srv/swarm/certs")),
        reread_interval: Duration::from_secs(600),
    };
    let kubernetes = KubernetesConfig {
        enabled: KubeEnabled::On,
        name: "prod".into(),
        kubeconfig: Some(PathBuf::from("/etc/kube/config")),
        context: Some("admin@prod".into()),
        namespaces: vec!["team-a".into(), "team-b".into()],
        exclude_namespaces: vec!["kube-system".into()],
        namespace_scoped: true,
        list_page_size: 50,
        max_object_size: 64 * 1024,
        debounce: Duration::from_secs(2),
        secrets: crate::sources::kubernetes::config::KubeSecretsConfig {
            enabled: true,
            label_selector: Some("app=web".into()),
            types: vec![crate::sources::kubernetes::config::KubeSecretType {
                type_: "Opaque".into(),
                keys: vec!["*.crt".into(), "keystore.p12".into()],
                pkcs12_password_key: Some("password".into()),
                pkcs12_passwords: vec!["changeit".into()],
                keystore_password_key: Some("storepass".into()),
                keystore_passwords: vec!["changeit".into()],
            }],
            expose_labels: vec!["app.kubernetes.io/name".into()],
            include: vec!["web-*".into()],
            exclude: vec!["*-old".into()],
            leaf_only: true,
        },
        configmaps: crate::sources::kubernetes::config::KubeConfigMapsConfig {
            enabled: true,
            label_selector: None,
            keys: vec!["ca.crt".into(), "*.pem".into()],
            dedupe: vec![],
            include: vec!["trust-*".into()],
            exclude: vec![],
            expose_labels: vec!["team".into()],
        },
        cabundles: crate::sources::kubernetes::config::KubeCaBundlesConfig {
            enabled: false,
            resources: vec!["apiservices".into()],
            expose_labels: vec!["app".into()],
        },
        csrs: crate::sources::kubernetes::config::KubeCsrsConfig {
            enabled: true,
            label_selector: Some("x=y".into()),
        },
        ingresses: crate::sources::kubernetes::config::KubeSwitch { enabled: true },
        cert_manager: crate::sources::kubernetes::config::KubeSwitch { enabled: false },
    };
    s.push_boxed(Box::new(docker), Some("docker"));
    s.push_boxed(Box::new(kubernetes), Some("kubernetes"));
    for f in files {
        s.push(f);
    }
    s
}

#[test]
fn kubernetes_section_errors_are_located() {
    let e = from_yaml_str(
        "kubernetes:\n  enabled: maybe\n  list_page_size: 0\n  namespace_scoped: true\n  cabundles:\n    resources: [pods]\n  secrets:\n    types:\n      - keys: []\n",
        "t",
    )
    .unwrap_err()
    .to_string();
    for p in [
        "kubernetes.enabled",
        "kubernetes.list_page_size",
        "kubernetes.namespace_scoped",
        "kubernetes.cabundles.resources[0]",
        "kubernetes.secrets.types[0].type",
    ] {
        assert!(e.contains(p), "{p} missing in {e}");
    }
}

#[test]
fn kubernetes_names_and_empty_configmap_keys() {
    // A Kubernetes source name that another source already uses.
    let e = from_yaml_str(
        "sources:\n  - {kind: file, name: k8s-secrets, paths: [/x]}\nkubernetes:\n  enabled: true\n  name: k8s\n",
        "t",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("kubernetes.name") && e.contains("k8s-secrets"),
        "{e}"
    );
    // Off: no clash.
    from_yaml_str(
        "sources:\n  - {kind: file, name: k8s-secrets, paths: [/x]}\nkubernetes:\n  enabled: false\n  name: k8s\n",
        "t",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // ConfigMaps on without any key would watch every ConfigMap for nothing.
    let e = from_yaml_str(
        "kubernetes:\n  configmaps: {enabled: true, keys: []}\n",
        "t",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("kubernetes.configmaps.keys"), "{e}");
}

#[test]
fn docker_section_errors_are_located() {
    let text = "docker:\n  enabled: maybe\n  host: ftp://x\n  secrets: {mode: all}\n  containers: {paths: [relative], max_containers: 0}\n  tls: {cert_file: /c.pem}\n";
    let e = from_yaml_str(text, "t").unwrap_err().to_string();
    for needle in [
        "docker.enabled",
        "docker.host",
        "docker.secrets.mode",
        "docker.containers.paths[0]",
        "docker.containers.max_containers",
        "docker.tls",
    ] {
        assert!(e.contains(needle), "{needle} not in {e}");
    }
    let c = from_yaml_str("docker: {enabled: auto}\n", "t").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(docker(&c).enabled, DockerEnabled::Auto);
    let c = from_yaml_str("docker: {enabled: false}\n", "t").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(docker(&c).enabled, DockerEnabled::Off);
}

#[test]
fn every_key_is_read() {
    let c = from_yaml_str(EVERY_KEY, "t").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c, every_key_expected());
}

#[test]
fn every_key_round_trips_through_yaml() {
    for cfg in [every_key_expected(), default_config()] {
        let text = to_yaml(&cfg).unwrap();
        let back = from_yaml_str(&text, "round-trip").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, cfg, "{text}");
    }
}

#[test]
fn unknown_top_level_key_is_located() {
    let errs = errors_of("scan:\n  interval: 5m\nbogus: 1\n");
    assert_eq!(errs.len(), 1);
    let e = &errs.0[0];
    assert_eq!(e.path, "bogus");
    assert_eq!(e.line, Some(3));
    assert_eq!(e.column, Some(1));
    assert!(e.message.contains("bogus"), "{e}");
    let shown = errs.to_string();
    assert!(shown.starts_with("test.yaml:3:1: bogus: "), "{shown}");
}

#[test]
fn unknown_key_inside_a_source_is_located() {
    let text = "sources:\n  - kind: file\n    name: a\n    paths: [/x]\n  - kind: file\n    name: b\n    pathz: [/y]\n";
    let errs = errors_of(text);
    assert_eq!(errs.len(), 1, "{errs}");
    let e = &errs.0[0];
    assert_eq!(e.path, "sources[1].pathz");
    assert_eq!(e.line, Some(7));
    assert_eq!(e.column, Some(5));
    assert!(e.message.contains("pathz"), "{e}");
    assert!(e.message.contains("paths"), "expected keys listed: {e}");
}

#[test]
fn unknown_key_as_first_key_of_a_source() {
    let errs = errors_of("sources:\n  - knd: file\n");
    let e = &errs.0[0];
    assert_eq!(e.path, "sources[0].knd");
    assert_eq!(e.line, Some(2));
}

#[test]
fn unknown_key_in_flow_style_source() {
    let errs = errors_of("sources: [{kind: file, paths: [/a], colour: red}]\n");
    let e = &errs.0[0];
    assert_eq!(e.path, "sources[0].colour");
    assert_eq!(e.line, Some(1));
}

#[test]
fn type_error_is_located() {
    let errs = errors_of("metrics:\n  expose_relative: maybe\n");
    let e = &errs.0[0];
    assert_eq!(e.path, "metrics.expose_relative");
    assert_eq!(e.line, Some(2));
}

#[test]
fn semantic_errors_are_all_reported_with_paths_and_lines() {
    let text = "\
scan:
  interval: 500ms
  source_timeout: forever
server:
  listen: \"::1:9793\"
log:
  level: \"\"
  format: xml
sources:
  - kind: file
    name: dup
    paths: []
    max_file_size: 2GiB
  - kind: file
    name: dup
    paths: [\"\"]
  - kind: floppy
    name: f
  - name: no-kind
    paths: [/a]
  - kind: kubeconfig
    name: bad name!
    paths: [/b]
    pkcs12_passwords: [x]
report:
  warning_window: 0s
";
    let errs = errors_of(text);
    let expect = [
        ("scan.interval", 2),
        ("scan.source_timeout", 3),
        ("server.listen", 5),
        ("log.level", 7),
        ("log.format", 8),
        ("sources[0].paths", 12),
        ("sources[0].max_file_size", 13),
        ("sources[1].name", 15),
        ("sources[1].paths[0]", 16),
        ("sources[2].kind", 17),
        // Absent key: points at its source entry.
        ("sources[3].kind", 19),
        ("sources[4].pkcs12_passwords", 24),
        ("sources[4].name", 22),
        ("report.warning_window", 26),
    ];
    for (path, line) in expect {
        let e = find(&errs, path);
        assert_eq!(e.line, Some(line), "{path}: {e}");
        assert!(e.column.is_some(), "{e}");
        assert_eq!(e.origin, "test.yaml");
    }
    assert_eq!(errs.len(), expect.len(), "{errs}");
    assert!(find(&errs, "sources[1].name").message.contains("duplicate"));
    assert!(find(&errs, "sources[2].kind").message.contains("floppy"));
    // One line per problem, each prefixed with origin:line:col.
    let shown = errs.to_string();
    assert_eq!(shown.lines().count(), expect.len());
    assert!(shown
        .lines()
        .any(|l| l.starts_with("test.yaml:5:3: server.listen: ")));
}

#[test]
fn syntax_error_has_a_line() {
    let errs = errors_of("scan:\n  interval: 5m\n   bad: [unclosed\nserver: {}\n");
    assert_eq!(errs.len(), 1);
    let e = &errs.0[0];
    assert!(e.line.is_some_and(|l| l >= 3), "{e}");
    assert!(!e.message.is_empty());
    assert!(!e.message.contains('\n'));
}

#[test]
fn duplicate_keys_are_rejected() {
    let errs = errors_of("scan:\n  interval: 5m\n  interval: 6m\n");
    assert_eq!(errs.0[0].line, Some(3), "{errs}");
}

#[test]
fn null_sections_and_lists_take_defaults() {
    let c = from_yaml_str("scan:\nserver: ~\nsources:\n", "t").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c, default_config());
}

#[test]
fn sizes_in_sources() {
    for (text, bytes) in [
        ("1MiB", 1 << 20),
        ("1048576", 1 << 20),
        ("2MB", 2_000_000),
        ("1GiB", 1 << 30),
    ] {
        let yaml = format!("sources: [{{kind: file, paths: [/a], max_file_size: {text}}}]\n");
        let c = from_yaml_str(&yaml, "t").unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(files(&c)[0].max_file_size, bytes, "{text}");
    }
    for bad in ["0", "-1", "1.5MiB", "2GiB", "lots", "1TiB"] {
        let yaml = format!("sources: [{{kind: file, paths: [/a], max_file_size: {bad}}}]\n");
        let errs = errors_of(&yaml);
        assert_eq!(errs.0[0].path, "sources[0].max_file_size", "{bad}: {errs}");
    }
}

#[test]
fn load_file_reads_and_reports_io_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(&good, "log:\n  format: json\n").unwrap();
    assert_eq!(load_file(&good).unwrap().log.format, LogFormat::Json);

    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "log:\n  format: yaml\n").unwrap();
    let errs = load_file(&bad).unwrap_err();
    assert!(
        errs.to_string()
            .starts_with(&format!("{}:2:3: log.format: ", bad.display())),
        "{errs}"
    );

    let missing = dir.path().join("missing.yaml");
    let errs = load_file(&missing).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert!(errs.to_string().contains("missing.yaml"), "{errs}");

    let big = dir.path().join("big.yaml");
    std::fs::write(&big, vec![b'#'; MAX_CONFIG_BYTES + 10]).unwrap();
    let errs = load_file(&big).unwrap_err();
    assert!(errs.to_string().contains("larger"), "{errs}");

    let binary = dir.path().join("bin.yaml");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x80]).unwrap();
    assert!(load_file(&binary).is_err());
}

#[test]
fn hostile_deep_nesting() {
    let text = format!("sources: {}", "[".repeat(100_000));
    let errs = errors_of(&text);
    assert_eq!(errs.len(), 1);
    let text = format!("sources: {}1{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(errors_of(&text).len(), 1);
    let mut block = String::from("scan:\n");
    for i in 1..200 {
        block.push_str(&" ".repeat(i * 2));
        block.push_str("a:\n");
    }
    assert_eq!(errors_of(&block).len(), 1);
}

#[test]
fn hostile_huge_input() {
    let text = format!(
        "metrics:\n  cluster: \"{}\"\n",
        "x".repeat(10 * 1024 * 1024)
    );
    let errs = errors_of(&text);
    assert_eq!(errs.len(), 1);
    assert!(errs.0[0].message.contains("larger"), "{errs}");
}

#[test]
fn hostile_billion_laughs() {
    let mut text = String::from(
        "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        let items = [prev.as_str(); 9].join(",");
        text.push_str(&format!("a{i}: &a{i} [{items}]\n"));
    }
    let errs = errors_of(&text);
    assert_eq!(errs.len(), 1);
    // The amplification that fits this schema: one big anchored string aliased many
    // times into a list of strings (100 KiB x 5000 = 500 MB if expanded).
    let mut bomb = format!(
        "metrics:\n  cluster: &s \"{}\"\nsources:\n  - kind: file\n    paths: [/x]\n    exclude: [",
        "x".repeat(100 * 1024)
    );
    bomb.push_str(&["*s"; 5000].join(","));
    bomb.push_str("]\n");
    let errs = errors_of(&bomb);
    assert_eq!(errs.len(), 1);
    assert!(errs.0[0].message.contains("limits"), "{errs}");
    assert!(errs.0[0].line.is_some(), "{errs}");
}

#[test]
fn many_problems_are_capped() {
    let mut text = String::from("sources:\n");
    for _ in 0..300 {
        text.push_str("  - kind: nope\n");
    }
    let errs = errors_of(&text);
    assert!(errs.len() <= crate::config::errors::MAX_ERRORS + 1);
    assert!(errs.to_string().contains("more problems"));
}

#[test]
fn messages_are_single_line() {
    let errs = errors_of("log:\n  level: \"a\\nb\"\n");
    for e in errs.iter() {
        assert!(!e.message.contains('\n'), "{e:?}");
    }
}

#[test]
fn documentation_examples_are_valid() {
    let doc = include_str!("../../docs/configuration.md");
    let mut blocks = 0;
    let mut rest = doc;
    while let Some(start) = rest.find("```yaml\n") {
        let body = &rest[start + 8..];
        let Some(end) = body.find("```") else { break };
        let yaml = &body[..end];
        from_yaml_str(yaml, "docs").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        blocks += 1;
        rest = &body[end..];
    }
    assert!(blocks >= 3, "found {blocks} yaml examples");
}

#[test]
fn documented_error_lines_match() {
    // The check-config sample in docs/configuration.md comes from this input.
    let text = "scan:\n  interval: 500ms\n";
    let errs = errors_of(text);
    assert_eq!(
        errs.to_string(),
        "test.yaml:2:3: scan.interval: \"500ms\" is too short (at least 1s)"
    );
}

const TWO_DOCKER_HOSTS: &str = "\
sources:
  - kind: file
    name: files
    paths: [/etc/ssl]
  - kind: docker
    name: docker-a
    enabled: true
    host: tcp://127.0.0.1:2375
    secrets: {mode: off}
  - kind: docker
    name: docker-b
    host: unix:///run/b/docker.sock
    containers: {paths: [/certs], max_containers: 5}
";

#[test]
fn several_docker_entries_side_by_side() {
    let c = from_yaml_str(TWO_DOCKER_HOSTS, "t").unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = docker_entries(&c)
        .into_iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(names, ["docker-a", "docker-b"]);
    let (a, b) = (docker_entries(&c)[0], docker_entries(&c)[1]);
    assert_eq!(a.enabled, DockerEnabled::On);
    assert_eq!(a.host.as_deref(), Some("tcp://127.0.0.1:2375"));
    assert_eq!(a.secrets_mode, SecretsMode::Off);
    assert_eq!(b.enabled, DockerEnabled::Auto);
    assert_eq!(b.container_paths, ["/certs"]);
    assert_eq!(b.max_containers, 5);
    // Keys absent from an entry take the same defaults as the `docker:` section.
    assert_eq!(b.api_timeout, default_docker().api_timeout);
    // Entries replace the implicit top-level Docker source.
    assert_eq!(docker(&c).enabled, DockerEnabled::Off);
    assert_eq!(files(&c).len(), 1);
    // print-default-config style output reads back to the same configuration.
    let text = to_yaml(&c).unwrap();
    let back = from_yaml_str(&text, "round-trip").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, c, "{text}");
}

#[test]
fn top_level_docker_section_is_an_alias_for_one_entry() {
    let section = "docker:\n  name: dock\n  enabled: true\n  host: tcp://127.0.0.1:2375\n";
    let entry = "sources:\n  - kind: docker\n    name: dock\n    enabled: true\n    host: tcp://127.0.0.1:2375\n";
    let a = from_yaml_str(section, "t").unwrap_or_else(|e| panic!("{e}"));
    let b = from_yaml_str(entry, "t").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(docker_entries(&a).len(), 0);
    assert_eq!(docker_entries(&b).len(), 1);
    assert_eq!(&docker(&a), docker_entries(&b)[0]);
    // Both together: the section keeps working and adds one more Docker source.
    let both = format!(
        "{section}sources:\n  - kind: docker\n    name: other\n    host: tcp://127.0.0.1:2376\n"
    );
    let c = from_yaml_str(&both, "t").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(docker(&c).name, "dock");
    assert_eq!(docker_entries(&c)[0].name, "other");
}

#[test]
fn docker_entry_named_like_the_section_is_a_located_error() {
    let text = "docker:\n  host: tcp://127.0.0.1:2375\nsources:\n  - kind: docker\n    host: tcp://127.0.0.1:2376\n";
    let errs = errors_of(text);
    assert_eq!(errs.len(), 1, "{errs}");
    let e = find(&errs, "sources[0].name");
    assert!(e.message.contains("top-level docker"), "{e}");
    // The entry has no `name:` line: the error points at the entry itself.
    assert_eq!(e.line, Some(4), "{e}");
    // A disabled section does not clash.
    let off = "docker:\n  enabled: false\nsources:\n  - kind: docker\n";
    from_yaml_str(off, "t").unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn source_name_clashes_across_kinds_are_located() {
    let text = "sources:\n  - kind: file\n    name: x\n    paths: [/a]\n  - kind: docker\n    name: x\n  - kind: docker\n    name: y\n  - kind: docker\n    name: y\n";
    let errs = errors_of(text);
    assert_eq!(errs.len(), 2, "{errs}");
    let e = find(&errs, "sources[1].name");
    assert_eq!(e.line, Some(6));
    assert!(e.message.contains("sources[0]"), "{e}");
    let e = find(&errs, "sources[3].name");
    assert_eq!(e.line, Some(10));
    assert!(e.message.contains("sources[2]"), "{e}");
    // The Kubernetes source names are checked against the Docker entries too.
    let text = "kubernetes:\n  enabled: true\n  name: k\nsources:\n  - kind: docker\n    name: k-secrets\n";
    let errs = errors_of(text);
    assert!(
        find(&errs, "kubernetes.name").message.contains("k-secrets"),
        "{errs}"
    );
}

#[test]
fn docker_entry_errors_are_located_and_keys_checked_per_kind() {
    let text = "sources:\n  - kind: docker\n    name: d\n    enabled: maybe\n    secrets: {mode: all}\n    paths: [/x]\n  - kind: file\n    paths: [/y]\n    host: tcp://127.0.0.1:1\n";
    let errs = errors_of(text);
    for (path, line) in [
        ("sources[0].enabled", 4),
        ("sources[0].secrets.mode", 5),
        ("sources[0].paths", 6),
        ("sources[1].host", 9),
    ] {
        let e = find(&errs, path);
        assert_eq!(e.line, Some(line), "{e}");
    }
    assert!(find(&errs, "sources[0].paths")
        .message
        .contains("does not apply to sources of kind docker"));
    assert!(find(&errs, "sources[1].host")
        .message
        .contains("does not apply to sources of kind file"));
}

const TWO_CLUSTERS: &str = "\
sources:
  - kind: kubernetes
    name: prod
    enabled: true
    kubeconfig: /etc/certvigil/prod.kubeconfig
    namespaces: [default, ingress]
    secrets: {label_selector: team=web, expose_labels: [team]}
  - kind: kubernetes
    name: staging
    kubeconfig: /etc/certvigil/staging.kubeconfig
    context: staging-admin
    configmaps: {enabled: false}
    csrs: {enabled: false}
";

#[test]
fn several_kubernetes_entries_side_by_side() {
    let c = from_yaml_str(TWO_CLUSTERS, "t").unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = kube_entries(&c)
        .into_iter()
        .map(|k| k.name.as_str())
        .collect();
    assert_eq!(names, ["prod", "staging"]);
    let (a, b) = (kube_entries(&c)[0], kube_entries(&c)[1]);
    assert_eq!(a.enabled, KubeEnabled::On);
    assert_eq!(a.namespaces, ["default", "ingress"]);
    assert_eq!(a.secrets.label_selector.as_deref(), Some("team=web"));
    assert_eq!(a.secrets.expose_labels, ["team"]);
    assert_eq!(b.context.as_deref(), Some("staging-admin"));
    assert!(!b.configmaps.enabled && !b.csrs.enabled && b.secrets.enabled);
    assert_eq!(b.list_page_size, KubernetesConfig::default().list_page_size);
    // Entries replace the implicit top-level Kubernetes source.
    assert_eq!(kubernetes(&c).enabled, KubeEnabled::Off);
    let text = to_yaml(&c).unwrap();
    let back = from_yaml_str(&text, "round-trip").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, c, "{text}");
}

#[test]
fn top_level_kubernetes_section_is_an_alias_for_one_entry() {
    let section = "kubernetes:\n  name: k\n  enabled: true\n  namespaces: [a]\n";
    let entry =
        "sources:\n  - kind: kubernetes\n    name: k\n    enabled: true\n    namespaces: [a]\n";
    let a = from_yaml_str(section, "t").unwrap_or_else(|e| panic!("{e}"));
    let b = from_yaml_str(entry, "t").unwrap_or_else(|e| panic!("{e}"));
    assert!(kube_entries(&a).is_empty());
    assert_eq!(&kubernetes(&a), kube_entries(&b)[0]);
    // Same name as the section: located at the entry.
    let both = format!("{section}sources:\n  - kind: kubernetes\n    name: k\n");
    let errs = errors_of(&both);
    let e = find(&errs, "sources[0].name");
    assert_eq!(e.line, Some(7), "{e}");
    assert!(e.message.contains("top-level kubernetes"), "{e}");
}

#[test]
fn kubernetes_entry_names_clash_with_every_other_source() {
    // `a-secrets` of the first cluster is the name of the Docker entry.
    let text = "sources:\n  - kind: kubernetes\n    name: a\n    enabled: true\n  - kind: docker\n    name: a-secrets\n";
    let errs = errors_of(text);
    let e = find(&errs, "sources[0].name");
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("a-secrets"), "{e}");
    // Two clusters with the same name.
    let text = "sources:\n  - kind: kubernetes\n    name: a\n  - kind: kubernetes\n    name: a\n";
    let errs = errors_of(text);
    assert!(find(&errs, "sources[1].name").message.contains("duplicate"));
}

#[test]
fn entry_secrets_keys_are_checked_per_kind() {
    let text = "sources:\n  - kind: kubernetes\n    secrets: {mode: off}\n  - kind: docker\n    secrets: {label_selector: x=y}\n    namespaces: [a]\n";
    let errs = errors_of(text);
    assert_eq!(errs.len(), 3, "{errs}");
    for (path, line, kind) in [
        ("sources[0].secrets.mode", 3, "kubernetes"),
        ("sources[1].secrets.label_selector", 5, "docker"),
        ("sources[1].namespaces", 6, "docker"),
    ] {
        let e = find(&errs, path);
        assert_eq!(e.line, Some(line), "{e}");
        assert!(
            e.message.contains(&format!("sources of kind {kind}")),
            "{e}"
        );
    }
    // A Kubernetes entry's errors are located under the entry.
    let errs = errors_of("sources:\n  - kind: kubernetes\n    list_page_size: 0\n");
    assert_eq!(find(&errs, "sources[0].list_page_size").line, Some(3));
}

#[test]
fn docker_trust_entries_are_read_validated_and_round_trip() {
    use crate::sources::docker_trust::DockerTrustConfig;
    let text = "sources:\n  - kind: docker_trust\n    trust_dirs: [~/.docker/trust, /srv/notary]\n    expiry_warning: 7d\n  - kind: docker_trust\n    name: ci-trust\n";
    let c = from_yaml_str(text, "t").unwrap_or_else(|e| panic!("{e}"));
    let t: Vec<&DockerTrustConfig> = c.sources.of::<DockerTrustConfig>().collect();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].name, "docker-trust");
    assert_eq!(
        t[0].trust_dirs,
        [
            PathBuf::from("~/.docker/trust"),
            PathBuf::from("/srv/notary")
        ]
    );
    assert_eq!(t[0].expiry_warning, Duration::from_secs(7 * 86_400));
    assert_eq!(t[1].name, "ci-trust");
    assert_eq!(t[1].trust_dirs, [PathBuf::from("~/.docker/trust")]);
    let names: Vec<String> = crate::sources::build_sources(&c)
        .iter()
        .map(|s| s.name().to_string())
        .filter(|n| n.contains("trust"))
        .collect();
    assert_eq!(names, ["docker-trust", "ci-trust"]);
    let yaml = to_yaml(&c).unwrap();
    let back = from_yaml_str(&yaml, "round-trip").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert_eq!(back, c, "{yaml}");
    // Keys of other kinds and bad values are located problems.
    let errs = errors_of(
        "sources:\n  - kind: docker_trust\n    paths: [/x]\n    trust_dirs: []\n    expiry_warning: soon\n",
    );
    assert!(find(&errs, "sources[0].paths")
        .message
        .contains("does not apply to sources of kind docker_trust"));
    assert_eq!(find(&errs, "sources[0].trust_dirs").line, Some(4));
    assert_eq!(find(&errs, "sources[0].expiry_warning").line, Some(5));
    // A key no kind has is an unknown field, located.
    let errs = errors_of("sources:\n  - kind: docker_trust\n    trustdirs: [/x]\n");
    assert_eq!(find(&errs, "sources[0].trustdirs").line, Some(3));
}
