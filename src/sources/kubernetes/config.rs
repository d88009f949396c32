//! Configuration of the Kubernetes source (`kind: kubernetes` entries of `sources:`,
//! and the legacy top-level `kubernetes:` section, an alias for one entry): the
//! registry entry [`KubernetesSpec`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::check::{
    auto_bool, check_path_text, check_source_name, duration, raw_size, Problems,
};
use crate::config::raw::{RawAutoBool, RawSize};
use crate::config::{EntryCtx, KindConfig};
use crate::sources::{Source, SourceSpec};

/// Default values of the Kubernetes keys (`default.yaml` and docs/kubernetes.md show them).
pub mod defaults {
    use std::time::Duration;

    pub const KUBE_NAME: &str = "kubernetes";
    pub const KUBE_LIST_PAGE_SIZE: u32 = 250;
    pub const KUBE_MAX_OBJECT_SIZE: u64 = 1 << 20;
    pub const KUBE_DEBOUNCE: Duration = Duration::from_millis(500);
    pub const KUBE_SECRET_TYPE: &str = "kubernetes.io/tls";
    pub const KUBE_SECRET_KEYS: &[&str] = &["tls.crt", "ca.crt"];
    pub const KUBE_CONFIGMAP_KEYS: &[&str] = &["ca.crt"];
    pub const KUBE_CONFIGMAP_DEDUPE: &[&str] = &["kube-root-ca.crt"];
    pub const KUBE_CABUNDLE_RESOURCES: &[&str] = &[
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
        "apiservices",
        "customresourcedefinitions",
    ];
}

/// `kubernetes.enabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KubeEnabled {
    /// On when `kubernetes.kubeconfig` is set, `KUBECONFIG` is set or the process
    /// runs in a pod (in-cluster service account); quietly off otherwise.
    Auto,
    On,
    Off,
}

/// The Kubernetes source (docs/kubernetes.md).
#[derive(Debug, Clone, PartialEq)]
pub struct KubernetesConfig {
    pub enabled: KubeEnabled,
    /// Prefix of the source names: `<name>-secrets`, `<name>-configmaps`,
    /// `<name>-cabundles`, `<name>-csrs`. Default `kubernetes`.
    pub name: String,
    /// Kubeconfig file; `None`: `KUBECONFIG`, then in-cluster, then `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context; `None`: the current context.
    pub context: Option<String>,
    /// Namespaces to watch; empty = all.
    pub namespaces: Vec<String>,
    /// Namespaces left out.
    pub exclude_namespaces: Vec<String>,
    /// Watch only `namespaces` with namespaced API calls (a Role is enough).
    pub namespace_scoped: bool,
    /// Objects per LIST page. Default 500.
    pub list_page_size: u32,
    /// Largest certificate-bearing value kept per key (decoded bytes). Default 1 MiB.
    pub max_object_size: u64,
    /// Delay between a watch event and the rescan it triggers. Default 500ms.
    pub debounce: Duration,
    pub secrets: KubeSecretsConfig,
    pub configmaps: KubeConfigMapsConfig,
    pub cabundles: KubeCaBundlesConfig,
    pub csrs: KubeCsrsConfig,
    /// Ingress TLS checks (`ingress_*` findings, `x509_ingress_tls_info`).
    pub ingresses: KubeSwitch,
    /// cert-manager checks, when its CRDs exist (`cert_manager_*`).
    pub cert_manager: KubeSwitch,
}

/// `kubernetes.ingresses` / `kubernetes.cert_manager` (docs/kubernetes.md,
/// "Ingress and cert-manager health"). Default on; they need the secrets family
/// with the `kubernetes.io/tls` type.
#[derive(Debug, Clone, PartialEq)]
pub struct KubeSwitch {
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KubeSecretsConfig {
    pub enabled: bool,
    pub label_selector: Option<String>,
    pub types: Vec<KubeSecretType>,
    /// Object labels copied onto series as `secret_label_<sanitised name>`.
    pub expose_labels: Vec<String>,
    /// Secret name globs to read; empty = all.
    pub include: Vec<String>,
    /// Secret name globs left out.
    pub exclude: Vec<String>,
    /// Only the first certificate (index 0, the leaf) of each key's bundle.
    pub leaf_only: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KubeSecretType {
    /// Secret `type` (server-side field selector `type=`).
    pub type_: String,
    /// Key names or globs (`*.crt`).
    pub keys: Vec<String>,
    /// Secret key holding the PKCS#12 password of the other keys.
    pub pkcs12_password_key: Option<String>,
    /// PKCS#12 passwords tried (after the one from `pkcs12_password_key`).
    pub pkcs12_passwords: Vec<String>,
    /// Secret key holding the Java keystore (JKS/JCEKS) password of the other keys.
    pub keystore_password_key: Option<String>,
    /// Java keystore passwords tried (after the one from `keystore_password_key`).
    pub keystore_passwords: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KubeConfigMapsConfig {
    pub enabled: bool,
    pub label_selector: Option<String>,
    /// Key names or globs.
    pub keys: Vec<String>,
    /// ConfigMap names whose identical content across namespaces is reported once.
    pub dedupe: Vec<String>,
    /// ConfigMap name globs to read; empty = all.
    pub include: Vec<String>,
    /// ConfigMap name globs left out.
    pub exclude: Vec<String>,
    /// Object labels copied onto series as `configmap_label_<sanitised name>`.
    pub expose_labels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KubeCaBundlesConfig {
    pub enabled: bool,
    /// Subset of `validatingwebhookconfigurations`, `mutatingwebhookconfigurations`,
    /// `apiservices`, `customresourcedefinitions`.
    pub resources: Vec<String>,
    /// Object labels copied onto series as `cabundle_label_<sanitised name>`.
    pub expose_labels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KubeCsrsConfig {
    pub enabled: bool,
    pub label_selector: Option<String>,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        use defaults as d;
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        KubernetesConfig {
            enabled: KubeEnabled::Auto,
            name: d::KUBE_NAME.to_string(),
            kubeconfig: None,
            context: None,
            namespaces: Vec::new(),
            exclude_namespaces: Vec::new(),
            namespace_scoped: false,
            list_page_size: d::KUBE_LIST_PAGE_SIZE,
            max_object_size: d::KUBE_MAX_OBJECT_SIZE,
            debounce: d::KUBE_DEBOUNCE,
            secrets: KubeSecretsConfig {
                enabled: true,
                label_selector: None,
                types: vec![KubeSecretType {
                    type_: d::KUBE_SECRET_TYPE.to_string(),
                    keys: strings(d::KUBE_SECRET_KEYS),
                    pkcs12_password_key: None,
                    pkcs12_passwords: Vec::new(),
                    keystore_password_key: None,
                    keystore_passwords: Vec::new(),
                }],
                expose_labels: Vec::new(),
                include: Vec::new(),
                exclude: Vec::new(),
                leaf_only: false,
            },
            configmaps: KubeConfigMapsConfig {
                enabled: false,
                label_selector: None,
                keys: strings(d::KUBE_CONFIGMAP_KEYS),
                dedupe: strings(d::KUBE_CONFIGMAP_DEDUPE),
                include: Vec::new(),
                exclude: Vec::new(),
                expose_labels: Vec::new(),
            },
            cabundles: KubeCaBundlesConfig {
                enabled: true,
                resources: strings(d::KUBE_CABUNDLE_RESOURCES),
                expose_labels: Vec::new(),
            },
            csrs: KubeCsrsConfig {
                enabled: false,
                label_selector: None,
            },
            ingresses: KubeSwitch { enabled: true },
            cert_manager: KubeSwitch { enabled: true },
        }
    }
}
/// `kubernetes:` — the Kubernetes source (Secrets, ConfigMaps, caBundles, CSRs).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKubernetes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<RawAutoBool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_namespaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_scoped: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_page_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_object_size: Option<RawSize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debounce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<RawKubeSecrets>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configmaps: Option<RawKubeConfigMaps>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cabundles: Option<RawKubeCaBundles>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrs: Option<RawKubeCsrs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingresses: Option<RawKubeSwitch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_manager: Option<RawKubeSwitch>,
}

/// `kubernetes.ingresses:`, `kubernetes.cert_manager:` (the health checks).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKubeSwitch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `kubernetes.secrets:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKubeSecrets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<RawKubeSecretType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_only: Option<bool>,
}

/// One entry of `kubernetes.secrets.types`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKubeSecretType {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs12_password_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkcs12_passwords: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keystore_password_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keystore_passwords: Option<Vec<String>>,
}

/// `kubernetes.configmaps:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKubeConfigMaps {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedupe: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_labels: Option<Vec<String>>,
}

/// `kubernetes.cabundles:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKubeCaBundles {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose_labels: Option<Vec<String>>,
}

/// `kubernetes.csrs:`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKubeCsrs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
}

impl RawKubernetes {
    /// The raw form of a validated Kubernetes section with every key written out.
    pub fn from_config(k: &KubernetesConfig) -> RawKubernetes {
        RawKubernetes {
            enabled: Some(match k.enabled {
                KubeEnabled::Auto => RawAutoBool::Text("auto".into()),
                KubeEnabled::On => RawAutoBool::Bool(true),
                KubeEnabled::Off => RawAutoBool::Bool(false),
            }),
            name: Some(k.name.clone()),
            kubeconfig: k.kubeconfig.as_ref().map(|p| p.display().to_string()),
            context: k.context.clone(),
            namespaces: Some(k.namespaces.clone()),
            exclude_namespaces: Some(k.exclude_namespaces.clone()),
            namespace_scoped: Some(k.namespace_scoped),
            list_page_size: Some(k.list_page_size),
            max_object_size: Some(RawSize::Bytes(k.max_object_size)),
            debounce: Some(crate::config::format_duration(k.debounce)),
            secrets: Some(RawKubeSecrets {
                enabled: Some(k.secrets.enabled),
                label_selector: k.secrets.label_selector.clone(),
                types: Some(
                    k.secrets
                        .types
                        .iter()
                        .map(|t| RawKubeSecretType {
                            type_: Some(t.type_.clone()),
                            keys: Some(t.keys.clone()),
                            pkcs12_password_key: t.pkcs12_password_key.clone(),
                            pkcs12_passwords: Some(t.pkcs12_passwords.clone()),
                            keystore_password_key: t.keystore_password_key.clone(),
                            keystore_passwords: Some(t.keystore_passwords.clone()),
                        })
                        .collect(),
                ),
                expose_labels: Some(k.secrets.expose_labels.clone()),
                include: Some(k.secrets.include.clone()),
                exclude: Some(k.secrets.exclude.clone()),
                leaf_only: Some(k.secrets.leaf_only),
            }),
            configmaps: Some(RawKubeConfigMaps {
                enabled: Some(k.configmaps.enabled),
                label_selector: k.configmaps.label_selector.clone(),
                keys: Some(k.configmaps.keys.clone()),
                dedupe: Some(k.configmaps.dedupe.clone()),
                include: Some(k.configmaps.include.clone()),
                exclude: Some(k.configmaps.exclude.clone()),
                expose_labels: Some(k.configmaps.expose_labels.clone()),
            }),
            cabundles: Some(RawKubeCaBundles {
                enabled: Some(k.cabundles.enabled),
                resources: Some(k.cabundles.resources.clone()),
                expose_labels: Some(k.cabundles.expose_labels.clone()),
            }),
            csrs: Some(RawKubeCsrs {
                enabled: Some(k.csrs.enabled),
                label_selector: k.csrs.label_selector.clone(),
            }),
            ingresses: Some(RawKubeSwitch {
                enabled: Some(k.ingresses.enabled),
            }),
            cert_manager: Some(RawKubeSwitch {
                enabled: Some(k.cert_manager.enabled),
            }),
        }
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
pub fn kubernetes(p: &mut Problems, root: &str, raw: Option<&RawKubernetes>) -> KubernetesConfig {
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

impl KindConfig for KubernetesConfig {
    fn kind(&self) -> &str {
        "kubernetes"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn enabled(&self) -> bool {
        self.enabled != KubeEnabled::Off
    }
    /// `<name>-secrets`, `<name>-configmaps`, `<name>-cabundles`, `<name>-csrs`.
    fn reported_names(&self) -> Vec<String> {
        KUBE_SUFFIXES
            .iter()
            .map(|s| format!("{}-{s}", self.name))
            .collect()
    }
    fn clash_message(&self, taken: &str) -> String {
        format!("the Kubernetes source name {taken:?} is already used by another source")
    }
}

/// The registry entry of `kind: kubernetes`.
pub struct KubernetesSpec;

impl SourceSpec for KubernetesSpec {
    const KINDS: &'static [&'static str] = &["kubernetes"];
    const KEYS: &'static [&'static str] = &[
        "name",
        "enabled",
        "kubeconfig",
        "context",
        "namespaces",
        "exclude_namespaces",
        "namespace_scoped",
        "list_page_size",
        "max_object_size",
        "debounce",
        "secrets",
        "configmaps",
        "cabundles",
        "csrs",
        "ingresses",
        "cert_manager",
        "secrets.enabled",
        "secrets.label_selector",
        "secrets.types",
        "secrets.expose_labels",
        "secrets.include",
        "secrets.exclude",
        "secrets.leaf_only",
    ];
    const SECTION: Option<&'static str> = Some("kubernetes");
    type Raw = RawKubernetes;
    type Config = KubernetesConfig;

    fn validate(raw: &RawKubernetes, ctx: &mut EntryCtx<'_>) -> KubernetesConfig {
        kubernetes(ctx.problems, ctx.base, Some(raw))
    }

    fn to_raw(k: &KubernetesConfig) -> RawKubernetes {
        RawKubernetes::from_config(k)
    }

    fn build(cfg: &KubernetesConfig) -> Vec<Arc<dyn Source>> {
        super::build(cfg)
    }

    fn implicit_section() -> Option<KubernetesConfig> {
        Some(KubernetesConfig::default())
    }
}
