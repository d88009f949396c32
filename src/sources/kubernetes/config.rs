//! Configuration of the Kubernetes source (`kind: kubernetes` entries of `sources:`,
//! and the legacy top-level `kubernetes:` section, an alias for one entry): the
//! registry entry [`KubernetesSpec`].

use std::sync::Arc;

use crate::config::raw::RawKubernetes;
use crate::config::validate::KUBE_SUFFIXES;
use crate::config::{EntryCtx, KindConfig};
use crate::sources::{Source, SourceSpec};

pub use crate::config::{
    KubeCaBundlesConfig, KubeConfigMapsConfig, KubeCsrsConfig, KubeEnabled, KubeSecretType,
    KubeSecretsConfig, KubernetesConfig,
};

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
        crate::config::validate::kubernetes(ctx.problems, ctx.base, Some(raw))
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
