//! Compliance finding ids, severities and the finding record, shared by the report
//! rules (`outputs::report::findings`, per certificate) and by sources that raise
//! object findings ([`crate::sources::SourceOutput::findings`]): questions that sit
//! between objects (does the Secret an Ingress names exist, is this key file
//! world-readable) rather than inside one certificate.
//!
//! Ids are stable (extend only by adding). The certificate rules are documented in
//! `outputs::report::findings`; the object findings are:
//!
//! | id | severity | raised when |
//! |---|---|---|
//! | `ingress_tls_secret_missing` | critical | an Ingress/Gateway TLS reference names a Secret that does not exist or has no `tls.crt` |
//! | `ingress_host_not_in_san` | critical | a host of an Ingress TLS block that its certificate does not cover (RFC 6125 wildcards) |
//! | `served_not_stored` | warning | an Ingress TLS host serves another certificate than the Secret holds |
//! | `cert_manager_not_ready` | warning | a cert-manager Certificate whose Ready condition is False |
//! | `cert_manager_renewal_overdue` | warning | a cert-manager Certificate whose `status.renewalTime` passed without renewal |
//! | `cert_manager_secret_mismatch` | warning | the Secret of a cert-manager Certificate holds another certificate than its status describes |
//! | `cert_manager_issuer_not_ready` | warning | a cert-manager Issuer/ClusterIssuer whose Ready condition is not True |
//! | `cert_manager_issuance_failed` | warning | a cert-manager Certificate with failed issuance attempts |
//! | `trust_anchor_expires_before_issuer` | warning | a mesh trust anchor that expires before the issuer it signs, or an issuer that does not chain to the anchor |
//! | `crl_stale` | critical | a CRL (e.g. of a Vault/OpenBao mount) past its nextUpdate |
//! | `crl_next_update_near` | warning | a CRL whose nextUpdate is within the warning window |
//! | `acme_renewal_overdue` | warning | a certbot lineage past certbot's own renewal time |
//! | `acme_staging_certificate` | warning | a certbot lineage issued by an ACME staging server |
//! | `acme_lineage_broken` | warning | a certbot lineage with dangling `live` links or an orphan renewal conf |
//! | `private_key_world_readable` | critical | a private key file (or cert+key bundle) readable by other users (parent directories considered) |
//! | `private_key_mismatch` | critical | a certificate/key pair by naming convention whose key is not the certificate's |
//! | `private_key_in_image` | critical | a private key in a container image's layers rather than a mount |
//! | `private_key_in_configmap` | critical | a private key in a Kubernetes ConfigMap |
//! | `private_key_in_swarm_config` | critical | a private key in a Docker swarm config |
//! | `private_key_unencrypted` | warning | an unencrypted private key where encryption is expected (Docker Content Trust `private/`) |
//! | `tuf_metadata_expired` | critical | a TUF role (Docker Content Trust / Notary) whose `expires` passed |
//! | `tuf_metadata_expiring` | warning | a TUF role whose `expires` is within the warning window |

use serde::Serialize;

/// Finding severity, most severe first (the derived order sorts critical first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Critical, Severity::Warning, Severity::Info];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Stable finding ids (INTERFACE.md). Extend only by adding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingId {
    Expired,
    ExpiringSoon,
    NotYetValid,
    Revoked,
    UntrustedChain,
    SelfSignedLeaf,
    WeakRsaKey,
    WeakSignatureSha1,
    WeakSignatureMd5,
    LongValidity,
    Wildcard,
    CnNotInSan,
    WildcardOnPublicSuffix,
    IpInDnsSan,
    HostnameMismatch,
    // Object findings (raised by sources about objects, not by a certificate's own rules).
    IngressTlsSecretMissing,
    IngressHostNotInSan,
    ServedNotStored,
    CertManagerNotReady,
    CertManagerRenewalOverdue,
    CertManagerSecretMismatch,
    CertManagerIssuerNotReady,
    CertManagerIssuanceFailed,
    TrustAnchorExpiresBeforeIssuer,
    CrlStale,
    CrlNextUpdateNear,
    AcmeRenewalOverdue,
    AcmeStagingCertificate,
    AcmeLineageBroken,
    PrivateKeyWorldReadable,
    PrivateKeyMismatch,
    PrivateKeyInImage,
    PrivateKeyInConfigmap,
    PrivateKeyInSwarmConfig,
    PrivateKeyUnencrypted,
    TufMetadataExpired,
    TufMetadataExpiring,
}

impl FindingId {
    /// Every id: the certificate rules first, in the order findings of one
    /// certificate are listed, then the object findings.
    pub const ALL: [FindingId; 37] = [
        FindingId::Expired,
        FindingId::ExpiringSoon,
        FindingId::NotYetValid,
        FindingId::Revoked,
        FindingId::UntrustedChain,
        FindingId::SelfSignedLeaf,
        FindingId::WeakRsaKey,
        FindingId::WeakSignatureSha1,
        FindingId::WeakSignatureMd5,
        FindingId::LongValidity,
        FindingId::Wildcard,
        FindingId::CnNotInSan,
        FindingId::WildcardOnPublicSuffix,
        FindingId::IpInDnsSan,
        FindingId::HostnameMismatch,
        FindingId::IngressTlsSecretMissing,
        FindingId::IngressHostNotInSan,
        FindingId::ServedNotStored,
        FindingId::CertManagerNotReady,
        FindingId::CertManagerRenewalOverdue,
        FindingId::CertManagerSecretMismatch,
        FindingId::CertManagerIssuerNotReady,
        FindingId::CertManagerIssuanceFailed,
        FindingId::TrustAnchorExpiresBeforeIssuer,
        FindingId::CrlStale,
        FindingId::CrlNextUpdateNear,
        FindingId::AcmeRenewalOverdue,
        FindingId::AcmeStagingCertificate,
        FindingId::AcmeLineageBroken,
        FindingId::PrivateKeyWorldReadable,
        FindingId::PrivateKeyMismatch,
        FindingId::PrivateKeyInImage,
        FindingId::PrivateKeyInConfigmap,
        FindingId::PrivateKeyInSwarmConfig,
        FindingId::PrivateKeyUnencrypted,
        FindingId::TufMetadataExpired,
        FindingId::TufMetadataExpiring,
    ];

    /// Raised by a source about an object rather than by a certificate rule.
    pub fn is_object_finding(self) -> bool {
        self > FindingId::HostnameMismatch
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FindingId::Expired => "expired",
            FindingId::ExpiringSoon => "expiring_soon",
            FindingId::NotYetValid => "not_yet_valid",
            FindingId::Revoked => "revoked",
            FindingId::UntrustedChain => "untrusted_chain",
            FindingId::SelfSignedLeaf => "self_signed_leaf",
            FindingId::WeakRsaKey => "weak_rsa_key",
            FindingId::WeakSignatureSha1 => "weak_signature_sha1",
            FindingId::WeakSignatureMd5 => "weak_signature_md5",
            FindingId::LongValidity => "long_validity",
            FindingId::Wildcard => "wildcard",
            FindingId::CnNotInSan => "cn_not_in_san",
            FindingId::WildcardOnPublicSuffix => "wildcard_on_public_suffix",
            FindingId::IpInDnsSan => "ip_in_dns_san",
            FindingId::HostnameMismatch => "hostname_mismatch",
            FindingId::IngressTlsSecretMissing => "ingress_tls_secret_missing",
            FindingId::IngressHostNotInSan => "ingress_host_not_in_san",
            FindingId::ServedNotStored => "served_not_stored",
            FindingId::CertManagerNotReady => "cert_manager_not_ready",
            FindingId::CertManagerRenewalOverdue => "cert_manager_renewal_overdue",
            FindingId::CertManagerSecretMismatch => "cert_manager_secret_mismatch",
            FindingId::CertManagerIssuerNotReady => "cert_manager_issuer_not_ready",
            FindingId::CertManagerIssuanceFailed => "cert_manager_issuance_failed",
            FindingId::TrustAnchorExpiresBeforeIssuer => "trust_anchor_expires_before_issuer",
            FindingId::CrlStale => "crl_stale",
            FindingId::CrlNextUpdateNear => "crl_next_update_near",
            FindingId::AcmeRenewalOverdue => "acme_renewal_overdue",
            FindingId::AcmeStagingCertificate => "acme_staging_certificate",
            FindingId::AcmeLineageBroken => "acme_lineage_broken",
            FindingId::PrivateKeyWorldReadable => "private_key_world_readable",
            FindingId::PrivateKeyMismatch => "private_key_mismatch",
            FindingId::PrivateKeyInImage => "private_key_in_image",
            FindingId::PrivateKeyInConfigmap => "private_key_in_configmap",
            FindingId::PrivateKeyInSwarmConfig => "private_key_in_swarm_config",
            FindingId::PrivateKeyUnencrypted => "private_key_unencrypted",
            FindingId::TufMetadataExpired => "tuf_metadata_expired",
            FindingId::TufMetadataExpiring => "tuf_metadata_expiring",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            FindingId::Expired
            | FindingId::Revoked
            | FindingId::WeakSignatureMd5
            | FindingId::WildcardOnPublicSuffix
            | FindingId::IngressTlsSecretMissing
            | FindingId::IngressHostNotInSan
            | FindingId::CrlStale
            | FindingId::PrivateKeyWorldReadable
            | FindingId::PrivateKeyMismatch
            | FindingId::PrivateKeyInImage
            | FindingId::PrivateKeyInConfigmap
            | FindingId::PrivateKeyInSwarmConfig
            | FindingId::TufMetadataExpired => Severity::Critical,
            FindingId::Wildcard => Severity::Info,
            _ => Severity::Warning,
        }
    }
}

/// One finding: one rule matched by one certificate, or one object finding that a
/// source raised about an object (an Ingress, a key file, a cert-manager
/// Certificate). `sha256_fingerprint` is the certificate concerned, empty when
/// the finding concerns no single certificate; `location` names the object
/// (`namespace/name` for Kubernetes objects, the path for files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: FindingId,
    pub severity: Severity,
    pub sha256_fingerprint: String,
    pub location: String,
    pub message: String,
}

impl Finding {
    /// An object finding: its severity is the id's.
    pub fn object(
        id: FindingId,
        fingerprint: impl Into<String>,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            id,
            severity: id.severity(),
            sha256_fingerprint: fingerprint.into(),
            location: location.into(),
            message: crate::model::bounded(&message.into(), crate::model::MAX_MESSAGE_LEN),
        }
    }
}

/// A metric family that a source derives from the objects it watches rather
/// than from one certificate (docs/metrics.md, "Kubernetes object metrics").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectMetric {
    /// `x509_ingress_tls_info{namespace,ingress,host,secret_name}` 1.
    IngressTlsInfo,
    /// `x509_cert_manager_certificate_ready{namespace,name,issuer_name,issuer_kind}`.
    CertManagerCertificateReady,
    /// `x509_cert_manager_certificate_renewal_timestamp_seconds{...}`.
    CertManagerCertificateRenewal,
    /// `x509_cert_manager_certificate_expiration_timestamp_seconds{...}`.
    CertManagerCertificateExpiration,
}

impl ObjectMetric {
    pub const ALL: [ObjectMetric; 4] = [
        ObjectMetric::IngressTlsInfo,
        ObjectMetric::CertManagerCertificateReady,
        ObjectMetric::CertManagerCertificateRenewal,
        ObjectMetric::CertManagerCertificateExpiration,
    ];

    /// The OpenMetrics family name (an info family gets `_info` appended).
    pub fn name(self) -> &'static str {
        match self {
            ObjectMetric::IngressTlsInfo => "x509_ingress_tls",
            ObjectMetric::CertManagerCertificateReady => "x509_cert_manager_certificate_ready",
            ObjectMetric::CertManagerCertificateRenewal => {
                "x509_cert_manager_certificate_renewal_timestamp_seconds"
            }
            ObjectMetric::CertManagerCertificateExpiration => {
                "x509_cert_manager_certificate_expiration_timestamp_seconds"
            }
        }
    }

    pub fn is_info(self) -> bool {
        self == ObjectMetric::IngressTlsInfo
    }

    /// The label names, in order (the values of an [`ObjectSeries`] follow them).
    pub fn label_names(self) -> &'static [&'static str] {
        match self {
            ObjectMetric::IngressTlsInfo => &["namespace", "ingress", "host", "secret_name"],
            _ => &["namespace", "name", "issuer_name", "issuer_kind"],
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            ObjectMetric::IngressTlsInfo => {
                "A TLS host of an Ingress and the Secret it names (always 1)."
            }
            ObjectMetric::CertManagerCertificateReady => {
                "1 if the cert-manager Certificate's Ready condition is True, else 0."
            }
            ObjectMetric::CertManagerCertificateRenewal => {
                "status.renewalTime of the cert-manager Certificate, in Unix seconds."
            }
            ObjectMetric::CertManagerCertificateExpiration => {
                "status.notAfter of the cert-manager Certificate, in Unix seconds."
            }
        }
    }
}

/// One series of an [`ObjectMetric`]: the label values, in the order of
/// [`ObjectMetric::label_names`] (shared between the series of one object:
/// a cert-manager Certificate's three series hold one label set), and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectSeries {
    pub metric: ObjectMetric,
    pub labels: std::sync::Arc<[Box<str>]>,
    pub value: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_follow_the_certificate_rules_and_serialize_as_their_names() {
        let object: Vec<_> = FindingId::ALL
            .iter()
            .filter(|i| i.is_object_finding())
            .map(|i| i.as_str())
            .collect();
        assert_eq!(object.first(), Some(&"ingress_tls_secret_missing"));
        assert_eq!(object.len(), FindingId::ALL.len() - 15);
        // Certificate rules come first: ALL is sorted by the derived order.
        assert!(FindingId::ALL.windows(2).all(|w| w[0] < w[1]));
        for id in FindingId::ALL {
            assert_eq!(
                serde_json::to_value(id).unwrap(),
                serde_json::Value::String(id.as_str().into())
            );
        }
        assert_eq!(FindingId::PrivateKeyMismatch.severity(), Severity::Critical);
        assert_eq!(FindingId::AcmeRenewalOverdue.severity(), Severity::Warning);
    }

    #[test]
    fn object_finding_messages_are_bounded() {
        let f = Finding::object(FindingId::CrlStale, "", "ns/x", "m".repeat(10_000));
        assert!(f.message.len() <= crate::model::MAX_MESSAGE_LEN + '…'.len_utf8());
        assert_eq!(f.severity, Severity::Critical);
    }
}
