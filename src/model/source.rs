//! Where a certificate came from: the source (kind + configured name) and the object
//! inside it (a path, `namespace/name:key`, `container:/path`, `host:port`), plus the
//! location labels the established exporter puts on its series.

use std::borrow::Cow;

use serde::Serialize;

use super::Reason;

/// Longest human message kept for one error (bytes).
pub const MAX_MESSAGE_LEN: usize = 512;

/// `source_kind` values (INTERFACE.md). Extend only by adding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    File,
    Kubeconfig,
    KubernetesSecret,
    KubernetesConfigmap,
    KubernetesCabundle,
    KubernetesCsr,
    DockerSecret,
    DockerConfig,
    DockerContainer,
    DockerNode,
    TlsEndpoint,
    /// Docker Content Trust / Notary trust directories (TUF metadata keys).
    DockerTrust,
    /// A certificate or issuer of a Vault/OpenBao PKI mount.
    Vault,
    /// The deployed certificate of a certbot lineage.
    Certbot,
}

impl SourceKind {
    /// Whether objects of this kind can be PKCS#12 or Java keystores (files, Secret
    /// and ConfigMap values, Docker secrets, configs and container files).
    pub fn reads_keystores(self) -> bool {
        matches!(
            self,
            SourceKind::File
                | SourceKind::KubernetesSecret
                | SourceKind::KubernetesConfigmap
                | SourceKind::DockerSecret
                | SourceKind::DockerConfig
                | SourceKind::DockerContainer
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::File => "file",
            SourceKind::Kubeconfig => "kubeconfig",
            SourceKind::KubernetesSecret => "kubernetes_secret",
            SourceKind::KubernetesConfigmap => "kubernetes_configmap",
            SourceKind::KubernetesCabundle => "kubernetes_cabundle",
            SourceKind::KubernetesCsr => "kubernetes_csr",
            SourceKind::DockerSecret => "docker_secret",
            SourceKind::DockerConfig => "docker_config",
            SourceKind::DockerContainer => "docker_container",
            SourceKind::DockerNode => "docker_node",
            SourceKind::TlsEndpoint => "tls_endpoint",
            SourceKind::DockerTrust => "docker_trust",
            SourceKind::Vault => "vault",
            SourceKind::Certbot => "certbot",
        }
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One object of a source that holds zero or more certificates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceRef {
    pub kind: SourceKind,
    /// Configured source name (`source_name` label).
    pub name: String,
    /// Human/object location: a path, `namespace/name:key`, `container:/path`, ...
    pub location: String,
    /// Location labels of the compatible schema that this object sets, e.g.
    /// `filename`, `filepath`, `embedded_kind`, `embedded_key`, `secret_namespace`, ...
    /// Names must be valid Prometheus label names; values are raw (escaped on output).
    /// Labels of the fixed schema that are absent here are rendered as `""`.
    /// Names are usually the schema's constants (no allocation per object).
    pub labels: Vec<(Cow<'static, str>, String)>,
    /// Handshake facts of a served chain (`tls_endpoint` entries only).
    pub endpoint: Option<std::sync::Arc<super::Endpoint>>,
}

impl SourceRef {
    pub fn new(kind: SourceKind, name: impl Into<String>, location: impl Into<String>) -> Self {
        SourceRef {
            kind,
            name: name.into(),
            location: location.into(),
            labels: Vec::new(),
            endpoint: None,
        }
    }

    pub fn with_label(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
    ) -> Self {
        self.labels.push((name.into(), value.into()));
        self
    }

    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One failure: an object that could not be read or parsed, a source that is down,
/// a check that could not complete. `message` is bounded and never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorEntry {
    #[serde(skip)]
    pub source: SourceRef,
    pub reason: Reason,
    pub message: String,
    /// For a `bad_passphrase` error: the keystore format whose password failed
    /// (`x509_pkcs12_passphrase_failures_total`, `x509_jks_passphrase_failures_total`).
    #[serde(skip)]
    pub keystore: Option<KeystoreFormat>,
}

impl ErrorEntry {
    pub fn new(source: SourceRef, reason: Reason, message: impl AsRef<str>) -> Self {
        ErrorEntry {
            source,
            reason,
            message: super::bounded(message.as_ref(), MAX_MESSAGE_LEN),
            keystore: None,
        }
    }

    /// Tag a `bad_passphrase` error with the keystore format it happened in
    /// (other reasons are left untagged).
    pub fn with_keystore(mut self, format: Option<KeystoreFormat>) -> Self {
        if self.reason == Reason::BadPassphrase {
            self.keystore = format;
        }
        self
    }
}

/// A password-protected keystore format, for the passphrase-failure counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeystoreFormat {
    Pkcs12,
    /// JKS and JCEKS.
    Jks,
}

impl KeystoreFormat {
    pub const ALL: [KeystoreFormat; 2] = [KeystoreFormat::Pkcs12, KeystoreFormat::Jks];
}

/// A failure not yet located: a bounded reason and a human message. The one
/// "(reason, message)" shape every source helper returns (reads, decodes, API
/// classification); [`Failure::at`] turns it into an [`ErrorEntry`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct Failure {
    pub reason: Reason,
    pub message: String,
}

impl Failure {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Failure {
            reason,
            message: message.into(),
        }
    }

    /// The failure at `source` (message bounded as every entry's).
    pub fn at(self, source: SourceRef) -> ErrorEntry {
        ErrorEntry::new(source, self.reason, self.message)
    }
}
