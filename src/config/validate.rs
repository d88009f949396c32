//! Semantic validation: [`RawConfig`] → [`Config`]. Absent keys take their value from
//! [`defaults`]; every problem is collected (not just the first) with its YAML path, so
//! `check-config` can print them all. Lines are attached later by the loader.

use std::path::PathBuf;
use std::time::Duration;

use super::duration::{parse_duration, parse_size, SizeError, MAX_SIZE_LIMIT};
use super::raw::{
    defaults, RawAutoBool, RawConfig, RawDocker, RawFileSource, RawFileWatch, RawSize,
};
use super::source::{EntryCtx, Problems, SourceConfigs};
use super::{
    Config, DockerConfig, DockerEnabled, DockerTls, FileSourceConfig, FileWatchConfig, LogConfig,
    LogFormat, MetricsConfig, ReportConfig, RevocationConfig, RevocationMethodConfig, ScanConfig,
    SecretsMode, ServerConfig, TrustConfig, TrustProfile, WatchEnabled,
};
use crate::model::SourceKind;

/// Longest source name accepted (bytes).
pub const MAX_SOURCE_NAME: usize = 128;
/// Shortest accepted `scan.interval` and `scan.source_timeout`.
pub const MIN_SCAN_DURATION: Duration = Duration::from_secs(1);

/// Validate the global sections of `raw` (the sources are validated by
/// `crate::setup` through the registry); problems go to `p`.
pub fn validate(raw: &RawConfig, p: &mut Problems) -> Config {
    let scan_raw = raw.scan.clone().unwrap_or_default();
    let scan = ScanConfig {
        interval: duration(
            p,
            "scan.interval",
            scan_raw.interval.as_deref(),
            defaults::SCAN_INTERVAL,
            MIN_SCAN_DURATION,
        ),
        source_timeout: duration(
            p,
            "scan.source_timeout",
            scan_raw.source_timeout.as_deref(),
            defaults::SOURCE_TIMEOUT,
            MIN_SCAN_DURATION,
        ),
    };

    let server_raw = raw.server.clone().unwrap_or_default();
    let listen = server_raw
        .listen
        .unwrap_or_else(|| defaults::LISTEN.to_string());
    if let Err(e) = check_listen(&listen) {
        p.add("server.listen", e);
    }
    let web_config_file = match server_raw.web_config_file {
        Some(f) if f.is_empty() => {
            p.add(
                "server.web_config_file",
                "must not be empty (use null for none)",
            );
            None
        }
        Some(f) => Some(PathBuf::from(f)),
        None => None,
    };
    let server = ServerConfig {
        listen,
        web_config_file,
    };

    let m = raw.metrics.clone().unwrap_or_default();
    let metrics = MetricsConfig {
        cluster: m.cluster.unwrap_or_else(|| defaults::CLUSTER.to_string()),
        expose_relative: m.expose_relative.unwrap_or(defaults::EXPOSE_RELATIVE),
        expose_per_cert_error: m
            .expose_per_cert_error
            .unwrap_or(defaults::EXPOSE_PER_CERT_ERROR),
        expose_not_before: m.expose_not_before.unwrap_or(defaults::EXPOSE_NOT_BEFORE),
        expose_expired: m.expose_expired.unwrap_or(defaults::EXPOSE_EXPIRED),
        trim_path_components: m
            .trim_path_components
            .unwrap_or(defaults::TRIM_PATH_COMPONENTS),
        max_dns_names_in_label: m
            .max_dns_names_in_label
            .unwrap_or(defaults::MAX_DNS_NAMES_IN_LABEL),
    };
    if metrics.cluster.chars().any(char::is_control) {
        p.add("metrics.cluster", "must not contain control characters");
    }

    let l = raw.log.clone().unwrap_or_default();
    let level = l.level.unwrap_or_else(|| defaults::LOG_LEVEL.to_string());
    if let Err(e) = check_log_level(&level) {
        p.add("log.level", e);
    }
    let format_text = l.format.unwrap_or_else(|| defaults::LOG_FORMAT.to_string());
    let format = match format_text.as_str() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            p.add(
                "log.format",
                format!("unknown log format {other:?} (expected text or json)"),
            );
            LogFormat::Text
        }
    };
    let log = LogConfig { level, format };

    let probe = super::probe::validate_probe(
        raw.probe.as_ref(),
        &|t: &str| parse_duration(t).map_err(|e| e.to_string()),
        &mut |path, msg| p.add(path, msg),
    );

    let t = raw.trust.clone().unwrap_or_default();
    let trust = TrustConfig {
        roots: path_list(p, "trust.roots", t.roots.as_deref()),
        intermediates: path_list(p, "trust.intermediates", t.intermediates.as_deref()),
        system_roots: t.system_roots.unwrap_or(defaults::SYSTEM_ROOTS),
        fetch_aia: t.fetch_aia.unwrap_or(defaults::FETCH_AIA),
        profile: match t.profile.as_deref().map(TrustProfile::parse) {
            None => TrustProfile::Auto,
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                p.add("trust.profile", e);
                TrustProfile::Auto
            }
        },
    };

    let r = raw.revocation.clone().unwrap_or_default();
    let revocation = RevocationConfig {
        crl_files: path_list(p, "revocation.crl_files", r.crl_files.as_deref()),
        offline: r.offline.unwrap_or(defaults::REVOCATION_OFFLINE),
        ..RevocationConfig::default()
    };
    let mut revocation = revocation;
    if let Some(list) = &r.methods {
        let mut methods = Vec::new();
        for (i, m) in list.iter().enumerate() {
            let parsed = match m.as_str() {
                "crl" => RevocationMethodConfig::Crl,
                "ocsp" => RevocationMethodConfig::Ocsp,
                other => {
                    p.add(
                        format!("revocation.methods[{i}]"),
                        format!(
                            "unknown method {:?} (expected crl or ocsp)",
                            crate::model::bounded(other, 32)
                        ),
                    );
                    continue;
                }
            };
            if methods.contains(&parsed) {
                p.add(format!("revocation.methods[{i}]"), "listed twice");
                continue;
            }
            methods.push(parsed);
        }
        revocation.methods = methods;
    }
    revocation.fetch_timeout = duration(
        p,
        "revocation.fetch_timeout",
        r.fetch_timeout.as_deref(),
        defaults::FETCH_TIMEOUT,
        Duration::from_millis(1),
    );
    if let Some(raw) = &r.max_crl_size {
        let parsed = raw_size(raw);
        match parsed {
            Ok(0) => p.add("revocation.max_crl_size", "must be greater than zero"),
            Ok(n) if n > MAX_SIZE_LIMIT => p.add(
                "revocation.max_crl_size",
                format!("{n} bytes is more than the limit of 1GiB"),
            ),
            Ok(n) => revocation.max_crl_size = n,
            Err(e) => p.add("revocation.max_crl_size", e),
        }
    }
    revocation.ocsp_nonce = r.ocsp_nonce.unwrap_or(defaults::OCSP_NONCE);
    revocation.ocsp_get = r.ocsp_get.unwrap_or(defaults::OCSP_GET);
    match r.max_concurrency_per_host {
        Some(0) => p.add(
            "revocation.max_concurrency_per_host",
            "must be greater than zero",
        ),
        Some(n) if n > 256 => p.add("revocation.max_concurrency_per_host", "must be at most 256"),
        Some(n) => revocation.max_concurrency_per_host = n,
        None => {}
    }
    let cache = r.cache.clone().unwrap_or_default();
    revocation.cache_min_ttl = duration(
        p,
        "revocation.cache.min_ttl",
        cache.min_ttl.as_deref(),
        defaults::CACHE_MIN_TTL,
        Duration::from_millis(1),
    );
    revocation.cache_max_ttl = duration(
        p,
        "revocation.cache.max_ttl",
        cache.max_ttl.as_deref(),
        defaults::CACHE_MAX_TTL,
        Duration::from_millis(1),
    );
    if revocation.cache_max_ttl < revocation.cache_min_ttl {
        p.add(
            "revocation.cache.max_ttl",
            "must not be shorter than revocation.cache.min_ttl",
        );
    }

    let rep = raw.report.clone().unwrap_or_default();
    let report = ReportConfig {
        warning_window: duration(
            p,
            "report.warning_window",
            rep.warning_window.as_deref(),
            defaults::WARNING_WINDOW,
            Duration::from_millis(1),
        ),
    };

    Config {
        scan,
        server,
        metrics,
        log,
        trust,
        revocation,
        report,
        probe,
        sources: SourceConfigs::default(),
    }
}

/// The suffixes of the four sources one Kubernetes source runs as.
pub const KUBE_SUFFIXES: [&str; 4] = ["secrets", "configmaps", "cabundles", "csrs"];

/// Whether a Kubernetes name pattern is a shell glob.
pub fn is_name_glob(n: &str) -> bool {
    n.bytes().any(|b| b"*?[".contains(&b))
}

/// Object name globs (`secrets.include`, ...): non-empty, at most 253 bytes, no
/// control characters.
fn name_globs(p: &mut Problems, path: &str, v: Option<&Vec<String>>) -> Vec<String> {
    let v = v.cloned().unwrap_or_default();
    for (i, n) in v.iter().enumerate() {
        if n.is_empty() || n.len() > 253 || n.chars().any(char::is_control) {
            p.add(
                format!("{path}[{i}]"),
                "must be an object name or shell glob",
            );
        }
    }
    v
}

/// Object labels to expose (`configmaps.expose_labels`, `cabundles.expose_labels`).
fn expose_list(p: &mut Problems, path: &str, v: Option<&Vec<String>>) -> Vec<String> {
    let v = v.cloned().unwrap_or_default();
    if v.len() > MAX_KUBE_EXPOSE_LABELS {
        p.add(
            path.to_string(),
            format!("at most {MAX_KUBE_EXPOSE_LABELS} labels may be exposed"),
        );
    }
    for (i, n) in v.iter().enumerate() {
        if n.is_empty() || n.len() > 317 || n.chars().any(char::is_control) {
            p.add(format!("{path}[{i}]"), "must be a label name");
        }
    }
    v
}

/// At most this many `kubernetes.secrets.expose_labels` (bounded label cardinality).
pub const MAX_KUBE_EXPOSE_LABELS: usize = 16;
/// Largest `kubernetes.list_page_size`.
pub const MAX_KUBE_PAGE_SIZE: u32 = 10_000;

pub fn kube_selector(p: &mut Problems, path: &str, sel: Option<&String>) -> Option<String> {
    let s = sel?;
    if s.trim().is_empty() {
        return None;
    }
    if s.chars().any(char::is_control) {
        p.add(path, "must not contain control characters");
    }
    Some(s.trim().to_string())
}

pub fn kube_patterns(
    p: &mut Problems,
    path: &str,
    list: Option<&Vec<String>>,
    default: &[&str],
) -> Vec<String> {
    let v: Vec<String> = match list {
        Some(l) => l.clone(),
        None => default.iter().map(|s| s.to_string()).collect(),
    };
    for (i, k) in v.iter().enumerate() {
        if k.is_empty() || k.contains('/') || k.chars().any(char::is_control) {
            p.add(
                format!("{path}[{i}]"),
                "must be a key name or glob (letters, digits, '-', '_', '.', '*', '?')",
            );
        }
    }
    v
}

/// A Kubernetes source: the top-level `kubernetes:` section (`root` = `kubernetes`)
/// or a `kind: kubernetes` entry of `sources:` (`root` = `sources[i]`).
pub fn kubernetes(
    p: &mut Problems,
    root: &str,
    raw: Option<&super::raw::RawKubernetes>,
) -> super::KubernetesConfig {
    use super::{KubeEnabled, KubeSecretType, KubernetesConfig};
    let mut k = KubernetesConfig::default();
    let Some(r) = raw else {
        return k;
    };
    k.enabled = auto_bool(
        p,
        &format!("{root}.enabled"),
        r.enabled.as_ref(),
        [KubeEnabled::Auto, KubeEnabled::On, KubeEnabled::Off],
    );
    if let Some(n) = &r.name {
        match check_source_name(n) {
            Ok(()) => k.name = n.clone(),
            Err(e) => p.add(format!("{root}.name"), e),
        }
    }
    if let Some(f) = &r.kubeconfig {
        match check_path_text(f) {
            Ok(()) => k.kubeconfig = Some(PathBuf::from(f)),
            Err(e) => p.add(format!("{root}.kubeconfig"), e),
        }
    }
    if let Some(c) = &r.context {
        if c.is_empty() || c.chars().any(char::is_control) {
            p.add(
                format!("{root}.context"),
                "must be a non-empty context name",
            );
        } else {
            k.context = Some(c.clone());
        }
    }
    let ns_list = |p: &mut Problems, path: &str, v: Option<&Vec<String>>| -> Vec<String> {
        let v = v.cloned().unwrap_or_default();
        for (i, n) in v.iter().enumerate() {
            // A name, or a shell glob of names (`team-*`, `app-?`, `[ab]-*`).
            let ok = !n.is_empty()
                && n.len() <= 63
                && n.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b"-*?[]!".contains(&b)
                });
            if !ok {
                p.add(
                    format!("{path}[{i}]"),
                    format!(
                        "{n:?} is not a namespace name or glob (lowercase letters, digits, '-', '*', '?', '[...]')"
                    ),
                );
            }
        }
        v
    };
    k.namespaces = ns_list(p, &format!("{root}.namespaces"), r.namespaces.as_ref());
    k.exclude_namespaces = ns_list(
        p,
        &format!("{root}.exclude_namespaces"),
        r.exclude_namespaces.as_ref(),
    );
    k.namespace_scoped = r.namespace_scoped.unwrap_or(false);
    if k.namespace_scoped && k.namespaces.is_empty() {
        p.add(
            format!("{root}.namespace_scoped"),
            "namespace-scoped mode needs kubernetes.namespaces (the namespaces to watch)",
        );
    }
    if k.namespace_scoped && k.namespaces.iter().any(|n| is_name_glob(n)) {
        p.add(
            format!("{root}.namespaces"),
            "namespace-scoped mode needs namespace names, not globs (a glob needs a cluster-wide watch)",
        );
    }
    if let Some(n) = r.list_page_size {
        if n == 0 || n > MAX_KUBE_PAGE_SIZE {
            p.add(
                format!("{root}.list_page_size"),
                format!("must be from 1 to {MAX_KUBE_PAGE_SIZE}"),
            );
        } else {
            k.list_page_size = n;
        }
    }
    if let Some(raw) = &r.max_object_size {
        let parsed = raw_size(raw);
        match parsed {
            Ok(0) => p.add(
                format!("{root}.max_object_size"),
                "must be greater than zero",
            ),
            Ok(n) if n > 64 << 20 => p.add(
                format!("{root}.max_object_size"),
                format!("{n} bytes is more than the limit of 64MiB"),
            ),
            Ok(n) => k.max_object_size = n,
            Err(e) => p.add(format!("{root}.max_object_size"), e),
        }
    }
    k.debounce = duration(
        p,
        &format!("{root}.debounce"),
        r.debounce.as_deref(),
        defaults::KUBE_DEBOUNCE,
        Duration::ZERO,
    );

    if let Some(s) = &r.secrets {
        k.secrets.enabled = s.enabled.unwrap_or(true);
        k.secrets.label_selector = kube_selector(
            p,
            &format!("{root}.secrets.label_selector"),
            s.label_selector.as_ref(),
        );
        if let Some(types) = &s.types {
            let mut out = Vec::new();
            for (i, t) in types.iter().enumerate() {
                let base = format!("{root}.secrets.types[{i}]");
                let type_ = match &t.type_ {
                    Some(ty) if !ty.is_empty() && !ty.contains([',', '=', '!']) => ty.clone(),
                    Some(ty) => {
                        p.add(
                            format!("{base}.type"),
                            format!("{ty:?} is not a Secret type"),
                        );
                        continue;
                    }
                    None => {
                        p.add(format!("{base}.type"), "missing required key type");
                        continue;
                    }
                };
                let keys = kube_patterns(p, &format!("{base}.keys"), t.keys.as_ref(), &[]);
                if keys.is_empty() {
                    p.add(
                        format!("{base}.keys"),
                        "at least one key name or glob is required",
                    );
                }
                if out.iter().any(|o: &KubeSecretType| o.type_ == type_) {
                    p.add(
                        format!("{base}.type"),
                        format!("duplicate Secret type {type_:?}"),
                    );
                }
                out.push(KubeSecretType {
                    type_,
                    keys,
                    pkcs12_password_key: t.pkcs12_password_key.clone().filter(|k| !k.is_empty()),
                    pkcs12_passwords: t.pkcs12_passwords.clone().unwrap_or_default(),
                    keystore_password_key: t
                        .keystore_password_key
                        .clone()
                        .filter(|k| !k.is_empty()),
                    keystore_passwords: t.keystore_passwords.clone().unwrap_or_default(),
                });
            }
            k.secrets.types = out;
        }
        if let Some(l) = &s.expose_labels {
            if l.len() > MAX_KUBE_EXPOSE_LABELS {
                p.add(
                    format!("{root}.secrets.expose_labels"),
                    format!("at most {MAX_KUBE_EXPOSE_LABELS} labels may be exposed"),
                );
            }
            for (i, n) in l.iter().enumerate() {
                if n.is_empty() || n.len() > 317 || n.chars().any(char::is_control) {
                    p.add(
                        format!("{root}.secrets.expose_labels[{i}]"),
                        "must be a label name",
                    );
                }
            }
            k.secrets.expose_labels = l.clone();
        }
        k.secrets.include = name_globs(p, &format!("{root}.secrets.include"), s.include.as_ref());
        k.secrets.exclude = name_globs(p, &format!("{root}.secrets.exclude"), s.exclude.as_ref());
        k.secrets.leaf_only = s.leaf_only.unwrap_or(false);
    }
    if let Some(c) = &r.configmaps {
        k.configmaps.enabled = c.enabled.unwrap_or(false);
        k.configmaps.label_selector = kube_selector(
            p,
            &format!("{root}.configmaps.label_selector"),
            c.label_selector.as_ref(),
        );
        k.configmaps.keys = kube_patterns(
            p,
            &format!("{root}.configmaps.keys"),
            c.keys.as_ref(),
            defaults::KUBE_CONFIGMAP_KEYS,
        );
        if c.keys.as_ref().is_some_and(Vec::is_empty) && k.configmaps.enabled {
            p.add(
                format!("{root}.configmaps.keys"),
                "must name at least one key or pattern (or set configmaps.enabled: false)",
            );
        }
        if let Some(d) = &c.dedupe {
            k.configmaps.dedupe = d.clone();
        }
        k.configmaps.include =
            name_globs(p, &format!("{root}.configmaps.include"), c.include.as_ref());
        k.configmaps.exclude =
            name_globs(p, &format!("{root}.configmaps.exclude"), c.exclude.as_ref());
        k.configmaps.expose_labels = expose_list(
            p,
            &format!("{root}.configmaps.expose_labels"),
            c.expose_labels.as_ref(),
        );
    }
    if let Some(c) = &r.cabundles {
        k.cabundles.enabled = c.enabled.unwrap_or(true);
        if let Some(res) = &c.resources {
            for (i, r) in res.iter().enumerate() {
                if !defaults::KUBE_CABUNDLE_RESOURCES.contains(&r.as_str()) {
                    p.add(
                        format!("{root}.cabundles.resources[{i}]"),
                        format!(
                            "unknown resource {r:?} (expected one of: {})",
                            defaults::KUBE_CABUNDLE_RESOURCES.join(", ")
                        ),
                    );
                }
            }
            k.cabundles.resources = res.clone();
        }
        k.cabundles.expose_labels = expose_list(
            p,
            &format!("{root}.cabundles.expose_labels"),
            c.expose_labels.as_ref(),
        );
    }
    if let Some(c) = &r.ingresses {
        k.ingresses.enabled = c.enabled.unwrap_or(true);
    }
    if let Some(c) = &r.cert_manager {
        k.cert_manager.enabled = c.enabled.unwrap_or(true);
    }
    if let Some(c) = &r.csrs {
        k.csrs.enabled = c.enabled.unwrap_or(false);
        k.csrs.label_selector = kube_selector(
            p,
            &format!("{root}.csrs.label_selector"),
            c.label_selector.as_ref(),
        );
    }
    k
}

/// The Docker section with every key at its default.
pub fn default_docker() -> DockerConfig {
    let mut p = Problems::default();
    docker(&mut p, "docker", None)
}

/// A YAML size (integer or text like `1MiB`) in bytes.
pub fn raw_size(raw: &RawSize) -> Result<u64, SizeError> {
    match raw {
        RawSize::Bytes(n) => Ok(*n),
        RawSize::Negative(n) => Err(SizeError::NegativeNumber(*n)),
        RawSize::Text(t) => parse_size(t),
    }
}

pub fn size(p: &mut Problems, path: &str, raw: Option<&RawSize>, default: u64) -> u64 {
    let Some(raw) = raw else { return default };
    let parsed = raw_size(raw);
    match parsed {
        Ok(0) => {
            p.add(path, "must be greater than zero");
            default
        }
        Ok(n) if n > MAX_SIZE_LIMIT => {
            p.add(path, format!("{n} bytes is more than the limit of 1GiB"));
            default
        }
        Ok(n) => n,
        Err(e) => {
            p.add(path, e);
            default
        }
    }
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

pub fn duration(
    p: &mut Problems,
    path: &str,
    text: Option<&str>,
    default: Duration,
    min: Duration,
) -> Duration {
    let Some(text) = text else {
        return default;
    };
    match parse_duration(text) {
        Ok(d) if d < min => {
            if min == Duration::from_millis(1) {
                p.add(path, "must be greater than zero");
            } else {
                p.add(
                    path,
                    format!(
                        "{text:?} is too short (at least {})",
                        super::duration::format_duration(min)
                    ),
                );
            }
            default
        }
        Ok(d) => d,
        Err(e) => {
            p.add(path, e);
            default
        }
    }
}

pub fn path_list(p: &mut Problems, path: &str, list: Option<&[String]>) -> Vec<PathBuf> {
    let list = list.unwrap_or_default();
    for (i, s) in list.iter().enumerate() {
        if let Err(e) = check_path_text(s) {
            p.add(format!("{path}[{i}]"), e);
        }
    }
    list.iter().map(PathBuf::from).collect()
}

pub fn check_path_text(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("must be a non-empty path".into());
    }
    if s.contains('\0') {
        return Err("must not contain NUL characters".into());
    }
    Ok(())
}

/// A `kind: file` or `kind: kubeconfig` entry (`ctx.kind`).
pub fn file_source(raw: &RawFileSource, ctx: &mut EntryCtx<'_>) -> FileSourceConfig {
    let kind = match ctx.kind {
        "kubeconfig" => SourceKind::Kubeconfig,
        _ => SourceKind::File,
    };
    if kind == SourceKind::Kubeconfig {
        for (present, key) in [
            (raw.pkcs12_passwords.is_some(), "pkcs12_passwords"),
            (raw.try_empty_password.is_some(), "try_empty_password"),
            (raw.keystore_passwords.is_some(), "keystore_passwords"),
        ] {
            if present {
                ctx.add(
                    key,
                    format!("key {key} does not apply to sources of kind kubeconfig"),
                );
            }
        }
    }
    let name = ctx.name(raw.name.as_ref());
    let base = ctx.base.to_string();
    let p = &mut *ctx.problems;
    let paths = raw.paths.clone().unwrap_or_default();
    if paths.is_empty() {
        p.add(
            format!("{base}.paths"),
            "at least one path is required".to_string(),
        );
    }
    for (j, path) in paths.iter().enumerate() {
        if let Err(e) = check_path_text(path) {
            p.add(format!("{base}.paths[{j}]"), e);
        }
    }
    let exclude = raw.exclude.clone().unwrap_or_default();
    for (j, pat) in exclude.iter().enumerate() {
        if let Err(e) = check_path_text(pat) {
            p.add(format!("{base}.exclude[{j}]"), e);
        }
    }
    let max_file_size = size(
        p,
        &format!("{base}.max_file_size"),
        raw.max_file_size.as_ref(),
        defaults::MAX_FILE_SIZE,
    );
    let max_files = raw.max_files.unwrap_or(defaults::MAX_FILES);
    if max_files == 0 {
        p.add(format!("{base}.max_files"), "must be greater than zero");
    }
    FileSourceConfig {
        kind,
        name,
        paths,
        exclude,
        follow_symlinks: raw.follow_symlinks.unwrap_or(defaults::FOLLOW_SYMLINKS),
        max_file_size,
        pkcs12_passwords: raw.pkcs12_passwords.clone().unwrap_or_default(),
        try_empty_password: raw
            .try_empty_password
            .unwrap_or(defaults::TRY_EMPTY_PASSWORD),
        keystore_passwords: raw.keystore_passwords.clone().unwrap_or_default(),
        max_files,
        watch: file_watch(p, &base, raw.watch.as_ref()),
    }
}

/// An `enabled:` key: absent or `auto` → `auto`, `true` → `on`, `false` →
/// `off` (given as `[auto, on, off]`); anything else is a located problem and
/// counts as `auto`.
pub fn auto_bool<T: Copy>(
    p: &mut Problems,
    path: &str,
    raw: Option<&RawAutoBool>,
    [auto, on, off]: [T; 3],
) -> T {
    match raw {
        None => auto,
        Some(RawAutoBool::Bool(true)) => on,
        Some(RawAutoBool::Bool(false)) => off,
        Some(RawAutoBool::Text(t)) => match t.as_str() {
            "auto" => auto,
            "true" => on,
            "false" => off,
            other => {
                p.add(path, format!("{other:?} is not one of auto, true, false"));
                auto
            }
        },
    }
}

/// `sources[i].watch`.
pub fn file_watch(p: &mut Problems, base: &str, raw: Option<&RawFileWatch>) -> FileWatchConfig {
    let mut w = FileWatchConfig::default();
    let Some(r) = raw else {
        return w;
    };
    w.enabled = auto_bool(
        p,
        &format!("{base}.watch.enabled"),
        r.enabled.as_ref(),
        [WatchEnabled::Auto, WatchEnabled::On, WatchEnabled::Off],
    );
    w.verify_interval = duration(
        p,
        &format!("{base}.watch.verify_interval"),
        r.verify_interval.as_deref(),
        defaults::WATCH_VERIFY_INTERVAL,
        Duration::ZERO,
    );
    w.debounce = duration(
        p,
        &format!("{base}.watch.debounce"),
        r.debounce.as_deref(),
        defaults::WATCH_DEBOUNCE,
        Duration::ZERO,
    );
    w
}

/// `^[a-zA-Z0-9_.:-]+$`, at most [`MAX_SOURCE_NAME`] bytes.
pub fn check_source_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > MAX_SOURCE_NAME {
        return Err(format!("is longer than {MAX_SOURCE_NAME} characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')))
    {
        return Err(format!(
            "{name:?} contains {c:?}; names may only use letters, digits, '_', '.', ':' and '-'"
        ));
    }
    Ok(())
}

/// `[host]:port` where host is empty (all interfaces), an IPv4 address, a bracketed
/// IPv6 address or a DNS name; port 0–65535 (parsed by [`super::listen::ListenAddr`]).
pub fn check_listen(addr: &str) -> Result<(), String> {
    super::listen::ListenAddr::parse(addr)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The level must be a valid `tracing_subscriber::EnvFilter` directive.
pub fn check_log_level(level: &str) -> Result<(), String> {
    if level.trim().is_empty() {
        return Err("must not be empty (e.g. info, debug, certvigil=debug,info)".into());
    }
    if level.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(level)
        .map(|_| ())
        .map_err(|e| format!("{level:?} is not a valid log filter: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_forms() {
        for ok in [
            ":9793",
            "0.0.0.0:9793",
            "[::1]:9793",
            "[::]:0",
            "localhost:9793",
            "my-host.example.com:65535",
        ] {
            assert_eq!(check_listen(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "9793",
            ":",
            ":65536",
            ":-1",
            "::1:9793",
            "[::1:9793",
            "[zz]:9793",
            "host name:80",
            "a..b:80",
            "localhost:http",
        ] {
            assert!(check_listen(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn source_names() {
        assert!(check_source_name("host-files").is_ok());
        assert!(check_source_name("a_b.c:d-9").is_ok());
        assert!(check_source_name("").is_err());
        assert!(check_source_name("with space").is_err());
        assert!(check_source_name("ünicode").is_err());
        assert!(check_source_name(&"a".repeat(MAX_SOURCE_NAME + 1)).is_err());
    }

    #[test]
    fn log_levels() {
        assert!(check_log_level("info").is_ok());
        assert!(check_log_level("certvigil=debug,hyper=warn").is_ok());
        assert!(check_log_level("").is_err());
        assert!(check_log_level("info\n").is_err());
        assert!(check_log_level("certvigil=notalevel").is_err());
    }
}
