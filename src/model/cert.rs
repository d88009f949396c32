//! A parsed certificate summary (IO-free) and its inventory entry with check results.

use std::sync::Arc;

use serde::Serialize;

use super::SourceRef;

/// A distinguished name: the RFC 4514-style rendering plus the fields the
/// established exporter labels (first value of each attribute; CN = last CN).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DistinguishedName {
    /// e.g. `CN=web.example.com,O=Example` (raw decoded values; escaped on output).
    pub rendered: String,
    pub c: String,
    pub st: String,
    pub l: String,
    pub o: String,
    pub ou: String,
    pub cn: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyAlgorithm {
    Rsa,
    Ecdsa,
    Ed25519,
    Ed448,
    Dsa,
    Unknown,
}

impl KeyAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa => "rsa",
            KeyAlgorithm::Ecdsa => "ecdsa",
            KeyAlgorithm::Ed25519 => "ed25519",
            KeyAlgorithm::Ed448 => "ed448",
            KeyAlgorithm::Dsa => "dsa",
            KeyAlgorithm::Unknown => "unknown",
        }
    }
}

/// Everything certvigil keeps about one certificate, independent of where it was found.
/// Produced by `parse::x509::summarize`; never holds private key material.
/// One per distinct certificate in the process: the content-addressed table
/// ([`super::table`]) hands the same `Arc<ParsedCert>` to every occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCert {
    /// Shared: a self-signed certificate's issuer is the same `Arc`, and the
    /// Kubernetes store interns issuers across certificates.
    pub subject: Arc<DistinguishedName>,
    pub issuer: Arc<DistinguishedName>,
    /// Decimal serial (big integer, as the established exporter labels it).
    pub serial_number: String,
    /// Colon-separated lowercase hex of the serial's content bytes.
    pub serial_hex: String,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    /// 64 lowercase hex chars of SHA-256 over the DER.
    pub sha256_fingerprint: String,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
    pub key_algorithm: KeyAlgorithm,
    pub key_bits: u32,
    /// Well-known name (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`, `ED25519`) or dotted OID.
    pub signature_algorithm: String,
    pub is_ca: bool,
    /// Subject == issuer and the signature verifies with its own key.
    pub self_signed: bool,
    /// The certificate's DER (public data; needed for chain building).
    pub der: Arc<[u8]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustStatus {
    Trusted,
    Untrusted,
    Incomplete,
    SelfSigned,
    Unknown,
}

impl TrustStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TrustStatus::Trusted => "trusted",
            TrustStatus::Untrusted => "untrusted",
            TrustStatus::Incomplete => "incomplete",
            TrustStatus::SelfSigned => "self_signed",
            TrustStatus::Unknown => "unknown",
        }
    }
}

/// Why a chain is not trusted: a bounded code (JSON `trust.reason`, the
/// `reason` label of `x509_cert_trusted`). `None` when trusted. Documented in
/// docs/trust.md; extend only by adding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustReason {
    /// The leaf's issuer is nowhere (anchors, inventory, intermediates).
    UnknownIssuer,
    /// The path ends at a root that is not a trust anchor.
    UntrustedRoot,
    /// Self-signed and not an anchor.
    SelfSigned,
    /// The certificate itself is expired at the evaluation instant.
    Expired,
    /// The certificate itself is not valid yet.
    NotYetValid,
    /// An intermediate or the anchor is expired or not valid yet.
    ExpiredIssuer,
    /// A signature does not verify with its issuer's key.
    BadSignature,
    /// A signature or key algorithm the validator does not support.
    UnsupportedAlgorithm,
    /// RSA key under 2048 bits, or a key the profile forbids.
    WeakKey,
    /// An issuer without basicConstraints cA=true, or without keyCertSign.
    IssuerNotCa,
    /// A CA certificate used as an end entity (the `webpki` profile).
    CaUsedAsLeaf,
    /// A pathLenConstraint is exceeded, or the chain is too long.
    PathLenExceeded,
    /// The leaf's EKU does not allow the purpose, or an issuer's EKU does not
    /// allow the leaf's purpose.
    EkuMismatch,
    /// A name constraint of an issuer or the anchor excludes (or does not
    /// permit) a name of the certificate.
    NameConstraintViolation,
    /// A critical extension the validator does not understand.
    UnknownCriticalExtension,
    /// The `webpki` profile needs a subjectAltName.
    MissingSan,
    /// A CA lacks a subjectKeyIdentifier, a certificate lacks (or marks
    /// critical) its authorityKeyIdentifier.
    BadKeyIdentifier,
    /// Serial number zero, negative or longer than 20 octets.
    InvalidSerial,
    /// DER or extension structure that RFC 5280 forbids.
    MalformedCertificate,
    /// The search or the validator's budget was exhausted.
    BudgetExceeded,
    /// The certificate or its anchor is distrusted.
    Distrusted,
}

impl TrustReason {
    pub fn as_str(self) -> &'static str {
        match self {
            TrustReason::UnknownIssuer => "unknown_issuer",
            TrustReason::UntrustedRoot => "untrusted_root",
            TrustReason::SelfSigned => "self_signed",
            TrustReason::Expired => "expired",
            TrustReason::NotYetValid => "not_yet_valid",
            TrustReason::ExpiredIssuer => "expired_issuer",
            TrustReason::BadSignature => "bad_signature",
            TrustReason::UnsupportedAlgorithm => "unsupported_algorithm",
            TrustReason::WeakKey => "weak_key",
            TrustReason::IssuerNotCa => "issuer_not_ca",
            TrustReason::CaUsedAsLeaf => "ca_used_as_leaf",
            TrustReason::PathLenExceeded => "path_len_exceeded",
            TrustReason::EkuMismatch => "eku_mismatch",
            TrustReason::NameConstraintViolation => "name_constraint_violation",
            TrustReason::UnknownCriticalExtension => "unknown_critical_extension",
            TrustReason::MissingSan => "missing_san",
            TrustReason::BadKeyIdentifier => "bad_key_identifier",
            TrustReason::InvalidSerial => "invalid_serial",
            TrustReason::MalformedCertificate => "malformed_certificate",
            TrustReason::BudgetExceeded => "budget_exceeded",
            TrustReason::Distrusted => "distrusted",
        }
    }

    /// Every code, in documentation order.
    pub const ALL: &'static [TrustReason] = &[
        TrustReason::UnknownIssuer,
        TrustReason::UntrustedRoot,
        TrustReason::SelfSigned,
        TrustReason::Expired,
        TrustReason::NotYetValid,
        TrustReason::ExpiredIssuer,
        TrustReason::BadSignature,
        TrustReason::UnsupportedAlgorithm,
        TrustReason::WeakKey,
        TrustReason::IssuerNotCa,
        TrustReason::CaUsedAsLeaf,
        TrustReason::PathLenExceeded,
        TrustReason::EkuMismatch,
        TrustReason::NameConstraintViolation,
        TrustReason::UnknownCriticalExtension,
        TrustReason::MissingSan,
        TrustReason::BadKeyIdentifier,
        TrustReason::InvalidSerial,
        TrustReason::MalformedCertificate,
        TrustReason::BudgetExceeded,
        TrustReason::Distrusted,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trust {
    pub status: TrustStatus,
    /// Bounded code for why the chain is not trusted; `None` when trusted or
    /// when verification was not performed.
    pub reason: Option<TrustReason>,
    /// Usually a constant text; a computed one is shared by every entry of
    /// the certificate and the checker's verdict cache (no copy per entry).
    pub detail: Detail,
}

/// Human text of a check result: a constant, or one shared allocation.
#[derive(Clone)]
pub enum Detail {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Detail {
    pub fn as_str(&self) -> &str {
        match self {
            Detail::Static(s) => s,
            Detail::Shared(s) => s,
        }
    }
}

impl std::ops::Deref for Detail {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Detail {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&'static str> for Detail {
    fn from(s: &'static str) -> Self {
        Detail::Static(s)
    }
}

impl From<String> for Detail {
    fn from(s: String) -> Self {
        Detail::Shared(s.into())
    }
}

impl From<Arc<str>> for Detail {
    fn from(s: Arc<str>) -> Self {
        Detail::Shared(s)
    }
}

impl From<std::borrow::Cow<'static, str>> for Detail {
    fn from(s: std::borrow::Cow<'static, str>) -> Self {
        match s {
            std::borrow::Cow::Borrowed(b) => Detail::Static(b),
            std::borrow::Cow::Owned(o) => o.into(),
        }
    }
}

impl std::fmt::Debug for Detail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Detail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Detail {
    fn eq(&self, o: &Detail) -> bool {
        self.as_str() == o.as_str()
    }
}

impl Eq for Detail {}

impl PartialEq<str> for Detail {
    fn eq(&self, o: &str) -> bool {
        self.as_str() == o
    }
}

impl PartialEq<&str> for Detail {
    fn eq(&self, o: &&str) -> bool {
        self.as_str() == *o
    }
}

impl PartialEq<String> for Detail {
    fn eq(&self, o: &String) -> bool {
        self.as_str() == o.as_str()
    }
}

impl Serialize for Detail {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Default for Trust {
    fn default() -> Self {
        Trust {
            status: TrustStatus::Unknown,
            reason: None,
            detail: "chain verification not performed".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationStatus {
    Good,
    Revoked,
    Unknown,
    NotChecked,
}

impl RevocationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationStatus::Good => "good",
            RevocationStatus::Revoked => "revoked",
            RevocationStatus::Unknown => "unknown",
            RevocationStatus::NotChecked => "not_checked",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RevocationMethod {
    Crl,
    Ocsp,
    /// The issuing Vault/OpenBao PKI mount's own revoked list (`vault` source).
    Vault,
}

impl RevocationMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationMethod::Crl => "crl",
            RevocationMethod::Ocsp => "ocsp",
            RevocationMethod::Vault => "vault",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revocation {
    pub status: RevocationStatus,
    pub method: Option<RevocationMethod>,
    /// RFC 3339 UTC, second precision.
    pub revoked_at: Option<String>,
    pub reason: Option<String>,
}

impl Default for Revocation {
    fn default() -> Self {
        Revocation {
            status: RevocationStatus::NotChecked,
            method: None,
            revoked_at: None,
            reason: None,
        }
    }
}

/// One certificate as found in one place (an occurrence: what differs between
/// copies), with the results of the checks; `cert` is the shared summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertEntry {
    pub source: Arc<SourceRef>,
    /// Position of the certificate inside its object (PEM bundle order, chain order).
    pub index_in_bundle: usize,
    pub cert: Arc<ParsedCert>,
    /// notAfter before the evaluation instant.
    pub expired: bool,
    pub trust: Trust,
    pub revocation: Revocation,
}
