//! Compliance findings: the policy rules of INTERFACE.md ("Compliance report
//! findings") applied to one inventory entry at the snapshot's evaluation instant.
//!
//! Ids are stable (extend only by adding). Severities (documented in
//! `docs/reports.md`):
//!
//! | id | severity | rule |
//! |---|---|---|
//! | `expired` | critical | the entry's `expired` flag (notAfter before the evaluation instant) |
//! | `expiring_soon` | warning | not expired and notAfter − instant ≤ `report.warning_window` |
//! | `not_yet_valid` | warning | notBefore after the evaluation instant |
//! | `revoked` | critical | revocation status `revoked` |
//! | `untrusted_chain` | warning | trust status `untrusted` or `incomplete` |
//! | `self_signed_leaf` | warning | self-signed and not a CA |
//! | `weak_rsa_key` | warning | RSA key with a known size below 2048 bits |
//! | `weak_signature_md5` | critical | MD5 signature (not raised for self-signed CAs) |
//! | `weak_signature_sha1` | warning | SHA-1 signature (not raised for self-signed CAs) |
//! | `long_validity` | warning | non-CA with notAfter − notBefore > 398 days |
//! | `wildcard` | info | a DNS SAN containing `*` |
//! | `cn_not_in_san` | warning | a non-CA whose subject CN is not one of its SAN DNS names or IP addresses (only when it has SANs) |
//! | `wildcard_on_public_suffix` | critical | a DNS SAN `*.S` where `S` is a single label (a TLD) or in [`PUBLIC_SUFFIXES`] |
//! | `ip_in_dns_san` | warning | a DNS SAN that is an IPv4 or IPv6 address (belongs in an iPAddress SAN) |
//!
//! Boundaries: exactly 2048 bits is not weak; a validity of exactly 398 × 86400 s
//! (notAfter − notBefore) is not long, one second more is. A key size of 0 means
//! the parser could not determine it and raises nothing. The signature of a
//! self-signed CA (a trust anchor) is never verified by relying parties, so weak
//! signature findings are not raised for it.

use crate::checks::expiry;
use crate::model::time::rfc3339_from_unix;
use crate::model::{CertEntry, KeyAlgorithm, RevocationStatus, TrustStatus};

const DAY: i64 = 86_400;
/// CA/Browser Forum maximum leaf validity (days).
pub const MAX_VALIDITY_DAYS: i64 = 398;
/// Smallest RSA modulus that is not weak (bits).
pub const MIN_RSA_BITS: u32 = 2048;

pub use crate::model::finding::{Finding, FindingId, Severity};

/// Whole days from `now` to `not_after`, rounded towards −∞ (negative once expired:
/// a certificate that expired 1 second ago has −1 days left).
pub fn days_left(not_after: i64, now: i64) -> i64 {
    not_after.saturating_sub(now).div_euclid(DAY)
}

/// Signature algorithm uses SHA-1 (by name or OID).
pub fn is_sha1_signature(alg: &str) -> bool {
    let a = alg.to_ascii_lowercase();
    a.contains("sha1")
        || matches!(
            a.as_str(),
            "1.2.840.113549.1.1.5"   // sha1WithRSAEncryption
                | "1.3.14.3.2.29"    // sha1WithRSAEncryption (OIW)
                | "1.2.840.10045.4.1" // ecdsa-with-SHA1
                | "1.2.840.10040.4.3" // dsaWithSHA1
                | "1.3.14.3.2.27" // dsaWithSHA1 (OIW)
        )
}

/// Signature algorithm uses MD5 (by name or OID).
pub fn is_md5_signature(alg: &str) -> bool {
    let a = alg.to_ascii_lowercase();
    a.contains("md5") || matches!(a.as_str(), "1.2.840.113549.1.1.4" | "1.3.14.3.2.3")
}

/// The ids of the rules `e` matches at `now` (Unix seconds), in [`FindingId::ALL`] order.
pub fn matching_ids(e: &CertEntry, now: i64, warning_window_secs: i64) -> Vec<FindingId> {
    evaluate(e, now, warning_window_secs)
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

/// Every finding of `e` at `now` (Unix seconds), in [`FindingId::ALL`] order.
pub fn findings_for(e: &CertEntry, now: i64, warning_window_secs: i64) -> Vec<Finding> {
    evaluate(e, now, warning_window_secs)
        .into_iter()
        .map(|(id, message)| Finding {
            id,
            severity: id.severity(),
            sha256_fingerprint: e.cert.sha256_fingerprint.clone(),
            location: e.source.location.clone(),
            message,
        })
        .collect()
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("{n} {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

fn evaluate(e: &CertEntry, now: i64, window: i64) -> Vec<(FindingId, String)> {
    let c = &*e.cert;
    let mut out = Vec::new();
    let st = expiry::entry_status(e, now, expiry::ExpiryWindows::with_warning(window));
    let expired = st == expiry::ExpiryStatus::Expired;
    if expired {
        let ago = now.saturating_sub(c.not_after).div_euclid(DAY);
        out.push((
            FindingId::Expired,
            format!(
                "expired {} ago (notAfter {})",
                plural(ago, "day"),
                rfc3339_from_unix(c.not_after)
            ),
        ));
    } else if st.is_expiring() {
        out.push((
            FindingId::ExpiringSoon,
            format!(
                "expires in {} (notAfter {}), within the {}-day warning window",
                plural(days_left(c.not_after, now), "day"),
                rfc3339_from_unix(c.not_after),
                window.div_euclid(DAY)
            ),
        ));
    }
    if expiry::is_not_yet_valid(c.not_before, now) {
        out.push((
            FindingId::NotYetValid,
            format!("not valid before {}", rfc3339_from_unix(c.not_before)),
        ));
    }
    if e.revocation.status == RevocationStatus::Revoked {
        let mut m = String::from("revoked");
        if let Some(at) = &e.revocation.revoked_at {
            m.push_str(&format!(" at {at}"));
        }
        if let Some(r) = &e.revocation.reason {
            m.push_str(&format!(" (reason: {r})"));
        }
        if let Some(method) = e.revocation.method {
            m.push_str(match method {
                crate::model::RevocationMethod::Crl => ", per CRL",
                crate::model::RevocationMethod::Ocsp => ", per OCSP",
                crate::model::RevocationMethod::Vault => ", per the issuing Vault/OpenBao PKI",
            });
        }
        out.push((FindingId::Revoked, m));
    }
    if matches!(
        e.trust.status,
        TrustStatus::Untrusted | TrustStatus::Incomplete
    ) {
        out.push((
            FindingId::UntrustedChain,
            format!("chain {}: {}", e.trust.status.as_str(), e.trust.detail),
        ));
    }
    if c.self_signed && !c.is_ca {
        out.push((
            FindingId::SelfSignedLeaf,
            "self-signed certificate that is not a CA is in use".to_string(),
        ));
    }
    if c.key_algorithm == KeyAlgorithm::Rsa && c.key_bits > 0 && c.key_bits < MIN_RSA_BITS {
        out.push((
            FindingId::WeakRsaKey,
            format!("RSA key of {} bits (minimum {MIN_RSA_BITS})", c.key_bits),
        ));
    }
    let trust_anchor = c.self_signed && c.is_ca;
    if !trust_anchor && is_sha1_signature(&c.signature_algorithm) {
        out.push((
            FindingId::WeakSignatureSha1,
            format!("signed with SHA-1 ({})", c.signature_algorithm),
        ));
    }
    if !trust_anchor && is_md5_signature(&c.signature_algorithm) {
        out.push((
            FindingId::WeakSignatureMd5,
            format!("signed with MD5 ({})", c.signature_algorithm),
        ));
    }
    let validity = c.not_after.saturating_sub(c.not_before);
    if !c.is_ca && validity > MAX_VALIDITY_DAYS * DAY {
        out.push((
            FindingId::LongValidity,
            format!(
                "valid for {} (more than {MAX_VALIDITY_DAYS} days)",
                plural(validity.div_euclid(DAY), "day")
            ),
        ));
    }
    let wild: Vec<&str> = c
        .dns_names
        .iter()
        .filter(|d| d.contains('*'))
        .map(String::as_str)
        .collect();
    if !wild.is_empty() {
        out.push((
            FindingId::Wildcard,
            format!("wildcard DNS name: {}", wild.join(", ")),
        ));
    }
    let cn = c.subject.cn.trim();
    let has_san = !c.dns_names.is_empty() || !c.ip_addresses.is_empty();
    if !c.is_ca
        && has_san
        && !cn.is_empty()
        && !c.dns_names.iter().any(|d| d.eq_ignore_ascii_case(cn))
        && !c.ip_addresses.iter().any(|i| i == cn)
    {
        out.push((
            FindingId::CnNotInSan,
            crate::model::bounded(
                &format!("subject CN {cn:?} is not among the subjectAltName entries"),
                300,
            ),
        ));
    }
    let on_suffix: Vec<&str> = wild
        .iter()
        .copied()
        .filter(|d| wildcard_on_public_suffix(d))
        .collect();
    if !on_suffix.is_empty() {
        out.push((
            FindingId::WildcardOnPublicSuffix,
            format!("wildcard on a public suffix: {}", on_suffix.join(", ")),
        ));
    }
    let ips: Vec<&str> = c
        .dns_names
        .iter()
        .filter(|d| d.parse::<std::net::IpAddr>().is_ok())
        .map(String::as_str)
        .collect();
    if !ips.is_empty() {
        out.push((
            FindingId::IpInDnsSan,
            format!("IP address stored as a DNS name: {}", ips.join(", ")),
        ));
    }
    if let Some(ep) = &e.source.endpoint {
        if e.index_in_bundle == 0 && !ep.hostname_match {
            out.push((
                FindingId::HostnameMismatch,
                format!(
                    "served by {} for server name {:?}, which the certificate does not cover",
                    e.source.location, ep.server_name
                ),
            ));
        }
    }
    out
}

/// Common multi-label public suffixes (a small embedded excerpt of the Public
/// Suffix List: country second levels and shared hosting domains). Single
/// labels (TLDs) are always public suffixes; anything else is not judged.
pub const PUBLIC_SUFFIXES: &[&str] = &[
    "co.uk",
    "org.uk",
    "ac.uk",
    "gov.uk",
    "ltd.uk",
    "plc.uk",
    "me.uk",
    "net.uk",
    "com.au",
    "net.au",
    "org.au",
    "edu.au",
    "gov.au",
    "co.nz",
    "org.nz",
    "net.nz",
    "co.jp",
    "ne.jp",
    "or.jp",
    "ac.jp",
    "go.jp",
    "com.br",
    "net.br",
    "org.br",
    "com.cn",
    "net.cn",
    "org.cn",
    "gov.cn",
    "com.mx",
    "co.in",
    "net.in",
    "org.in",
    "co.za",
    "com.tr",
    "com.tw",
    "co.kr",
    "or.kr",
    "com.sg",
    "com.hk",
    "com.ar",
    "co.il",
    "com.pl",
    "com.ru",
    "com.ua",
    "co.id",
    "com.my",
    "com.ph",
    "com.vn",
    "github.io",
    "gitlab.io",
    "herokuapp.com",
    "appspot.com",
    "blogspot.com",
    "cloudfront.net",
    "azurewebsites.net",
    "s3.amazonaws.com",
    "vercel.app",
    "netlify.app",
    "pages.dev",
    "workers.dev",
    "web.app",
    "firebaseapp.com",
];

/// `*.S` with `S` a TLD or one of [`PUBLIC_SUFFIXES`] (case-insensitive).
pub fn wildcard_on_public_suffix(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("*.") else {
        return false;
    };
    let rest = rest.trim_end_matches('.').to_ascii_lowercase();
    !rest.is_empty() && (!rest.contains('.') || PUBLIC_SUFFIXES.contains(&rest.as_str()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{
        DistinguishedName, ParsedCert, Revocation, RevocationMethod, SourceKind, SourceRef, Trust,
    };

    const NOW: i64 = 1_795_428_000; // 2026-11-23T10:00:00Z
    const WINDOW: i64 = 28 * DAY;

    fn entry() -> CertEntry {
        CertEntry {
            source: Arc::new(SourceRef::new(SourceKind::File, "f", "/x.pem")),
            index_in_bundle: 0,
            cert: Arc::new(ParsedCert {
                subject: std::sync::Arc::new(DistinguishedName::default()),
                issuer: std::sync::Arc::new(DistinguishedName::default()),
                serial_number: "1".into(),
                serial_hex: "01".into(),
                not_before: NOW - 10 * DAY,
                not_after: NOW + 80 * DAY,
                sha256_fingerprint: "ab".repeat(32),
                dns_names: vec!["a.example".into()],
                ip_addresses: vec![],
                key_algorithm: KeyAlgorithm::Ecdsa,
                key_bits: 256,
                signature_algorithm: "ecdsa-with-SHA256".into(),
                is_ca: false,
                self_signed: false,
                der: Arc::from(Vec::new()),
            }),
            expired: false,
            trust: Trust {
                status: TrustStatus::Trusted,
                reason: None,
                detail: "ok".into(),
            },
            revocation: Revocation::default(),
        }
    }

    fn with(f: impl FnOnce(&mut ParsedCert)) -> CertEntry {
        let mut e = entry();
        let mut c = (*e.cert).clone();
        f(&mut c);
        e.cert = Arc::new(c);
        e
    }

    fn ids(e: &CertEntry) -> Vec<&'static str> {
        matching_ids(e, NOW, WINDOW)
            .into_iter()
            .map(FindingId::as_str)
            .collect()
    }

    #[test]
    fn clean_certificate_has_no_findings() {
        assert!(ids(&entry()).is_empty());
    }

    #[test]
    fn expiry_rules_and_boundaries() {
        // Exactly at notAfter: still valid (inclusive), expiring.
        let e = with(|c| c.not_after = NOW);
        assert_eq!(ids(&e), ["expiring_soon"]);
        let e = with(|c| c.not_after = NOW - 1);
        assert_eq!(ids(&e), ["expired"]);
        // The scraper's flag wins as well.
        let mut e = entry();
        e.expired = true;
        assert_eq!(ids(&e), ["expired"]);
        // Window boundary: exactly 28 days is inside, one second more is outside.
        assert_eq!(
            ids(&with(|c| c.not_after = NOW + WINDOW)),
            ["expiring_soon"]
        );
        assert!(ids(&with(|c| c.not_after = NOW + WINDOW + 1)).is_empty());
        // Not yet valid.
        let e = with(|c| c.not_before = NOW + 1);
        assert_eq!(ids(&e), ["not_yet_valid"]);
        assert!(ids(&with(|c| c.not_before = NOW)).is_empty());
        let f = findings_for(&with(|c| c.not_after = NOW - 3 * DAY), NOW, WINDOW);
        assert_eq!(f[0].severity, Severity::Critical);
        assert!(f[0].message.contains("3 days ago"), "{}", f[0].message);
        assert_eq!(f[0].location, "/x.pem");
        assert_eq!(f[0].sha256_fingerprint, "ab".repeat(32));
    }

    #[test]
    fn days_left_floors() {
        assert_eq!(days_left(NOW + DAY, NOW), 1);
        assert_eq!(days_left(NOW + DAY - 1, NOW), 0);
        assert_eq!(days_left(NOW, NOW), 0);
        assert_eq!(days_left(NOW - 1, NOW), -1);
        assert_eq!(days_left(i64::MIN, i64::MAX), i64::MIN.div_euclid(DAY));
    }

    #[test]
    fn revoked_and_trust() {
        let mut e = entry();
        e.revocation = Revocation {
            status: RevocationStatus::Revoked,
            method: Some(RevocationMethod::Crl),
            revoked_at: Some("2026-06-01T00:00:00Z".into()),
            reason: Some("keyCompromise".into()),
        };
        let f = findings_for(&e, NOW, WINDOW);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, FindingId::Revoked);
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(
            f[0].message,
            "revoked at 2026-06-01T00:00:00Z (reason: keyCompromise), per CRL"
        );
        for (st, hit) in [
            (TrustStatus::Untrusted, true),
            (TrustStatus::Incomplete, true),
            (TrustStatus::Trusted, false),
            (TrustStatus::SelfSigned, false),
            (TrustStatus::Unknown, false),
        ] {
            let mut e = entry();
            e.trust.status = st;
            assert_eq!(ids(&e) == ["untrusted_chain"], hit, "{st:?}");
        }
    }

    #[test]
    fn self_signed_leaf_ca_exemption() {
        assert_eq!(ids(&with(|c| c.self_signed = true)), ["self_signed_leaf"]);
        assert!(ids(&with(|c| {
            c.self_signed = true;
            c.is_ca = true;
        }))
        .is_empty());
    }

    #[test]
    fn weak_rsa_key_boundary() {
        let rsa = |bits| {
            with(move |c| {
                c.key_algorithm = KeyAlgorithm::Rsa;
                c.key_bits = bits;
            })
        };
        assert_eq!(ids(&rsa(1024)), ["weak_rsa_key"]);
        assert_eq!(ids(&rsa(2047)), ["weak_rsa_key"]);
        assert!(ids(&rsa(2048)).is_empty());
        assert!(ids(&rsa(4096)).is_empty());
        assert!(ids(&rsa(0)).is_empty(), "unknown size raises nothing");
        // Other algorithms are not judged by RSA sizes.
        assert!(ids(&with(|c| c.key_bits = 256)).is_empty());
    }

    #[test]
    fn weak_signatures() {
        let sig = |s: &'static str| with(move |c| c.signature_algorithm = s.into());
        for s in [
            "sha1WithRSAEncryption",
            "ecdsa-with-SHA1",
            "dsaWithSHA1",
            "1.3.14.3.2.29",
        ] {
            assert_eq!(ids(&sig(s)), ["weak_signature_sha1"], "{s}");
        }
        for s in ["md5WithRSAEncryption", "1.2.840.113549.1.1.4"] {
            assert_eq!(ids(&sig(s)), ["weak_signature_md5"], "{s}");
            assert_eq!(FindingId::WeakSignatureMd5.severity(), Severity::Critical);
        }
        for s in [
            "sha256WithRSAEncryption",
            "ecdsa-with-SHA384",
            "ED25519",
            "RSASSA-PSS",
        ] {
            assert!(ids(&sig(s)).is_empty(), "{s}");
        }
        // A self-signed CA's own signature is not relied upon.
        let root = with(|c| {
            c.signature_algorithm = "sha1WithRSAEncryption".into();
            c.self_signed = true;
            c.is_ca = true;
        });
        assert!(ids(&root).is_empty());
        // An intermediate CA signed with SHA-1 is.
        let inter = with(|c| {
            c.signature_algorithm = "sha1WithRSAEncryption".into();
            c.is_ca = true;
        });
        assert_eq!(ids(&inter), ["weak_signature_sha1"]);
    }

    #[test]
    fn long_validity_boundary_and_ca_exemption() {
        let valid_for = |secs: i64| {
            with(move |c| {
                c.not_before = NOW - DAY;
                c.not_after = NOW - DAY + secs;
            })
        };
        assert!(ids(&valid_for(398 * DAY)).is_empty(), "exactly 398 days");
        assert_eq!(ids(&valid_for(398 * DAY + 1)), ["long_validity"]);
        assert_eq!(ids(&valid_for(825 * DAY)), ["long_validity"]);
        let ca = with(|c| {
            c.not_before = NOW - DAY;
            c.not_after = NOW + 3650 * DAY;
            c.is_ca = true;
        });
        assert!(ids(&ca).is_empty());
        let f = findings_for(&valid_for(825 * DAY), NOW, WINDOW);
        assert_eq!(f[0].message, "valid for 825 days (more than 398 days)");
    }

    #[test]
    fn wildcard_is_info() {
        let e = with(|c| c.dns_names = vec!["a.example".into(), "*.example.com".into()]);
        let f = findings_for(&e, NOW, WINDOW);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, FindingId::Wildcard);
        assert_eq!(f[0].severity, Severity::Info);
        assert_eq!(f[0].message, "wildcard DNS name: *.example.com");
    }

    #[test]
    fn cn_not_in_san_public_suffix_wildcards_and_ip_dns_names() {
        let set = |cn: &str, dns: &[&str], ips: &[&str]| {
            let mut e = with(|c| {
                c.dns_names = dns.iter().map(|s| s.to_string()).collect();
                c.ip_addresses = ips.iter().map(|s| s.to_string()).collect();
            });
            let mut subject = (*e.cert.subject).clone();
            subject.cn = cn.into();
            Arc::make_mut(&mut e.cert).subject = Arc::new(subject);
            ids(&e)
        };
        // Positive twins: CN among the SANs (case-insensitive, or an IP SAN), no SAN at all.
        assert!(set("a.example", &["A.example"], &[]).is_empty());
        assert!(set("10.0.0.1", &[], &["10.0.0.1"]).is_empty());
        assert!(set("legacy", &[], &[]).is_empty());
        assert_eq!(set("other.example", &["a.example"], &[]), ["cn_not_in_san"]);
        // Wildcards.
        assert_eq!(set("", &["*.example.com"], &[]), ["wildcard"]);
        assert_eq!(
            set("", &["*.co.uk"], &[]),
            ["wildcard", "wildcard_on_public_suffix"]
        );
        assert_eq!(
            set("", &["*.COM"], &[]),
            ["wildcard", "wildcard_on_public_suffix"]
        );
        assert!(wildcard_on_public_suffix("*.github.io"));
        assert!(!wildcard_on_public_suffix("*.example.co.uk"));
        assert!(!wildcard_on_public_suffix("a.com"));
        // IP addresses as DNS names.
        assert_eq!(set("", &["10.1.2.3"], &[]), ["ip_in_dns_san"]);
        assert_eq!(set("", &["::1"], &[]), ["ip_in_dns_san"]);
        assert!(set("", &["10.1.2.3.example"], &[]).is_empty());
        assert_eq!(
            FindingId::WildcardOnPublicSuffix.severity(),
            Severity::Critical
        );
        assert_eq!(FindingId::CnNotInSan.severity(), Severity::Warning);
    }

    #[test]
    fn several_findings_keep_rule_order() {
        let mut e = with(|c| {
            c.self_signed = true;
            c.key_algorithm = KeyAlgorithm::Rsa;
            c.key_bits = 1024;
            c.signature_algorithm = "sha1WithRSAEncryption".into();
            c.not_before = NOW - 1000 * DAY;
            c.not_after = NOW - DAY;
            c.dns_names = vec!["*.x.test".into()];
        });
        e.trust.status = TrustStatus::Untrusted;
        assert_eq!(
            ids(&e),
            [
                "expired",
                "untrusted_chain",
                "self_signed_leaf",
                "weak_rsa_key",
                "weak_signature_sha1",
                "long_validity",
                "wildcard"
            ]
        );
    }

    #[test]
    fn ids_and_severities_are_stable() {
        let all: Vec<_> = FindingId::ALL
            .iter()
            .filter(|i| !i.is_object_finding())
            .map(|i| i.as_str())
            .collect();
        assert_eq!(
            all,
            [
                "expired",
                "expiring_soon",
                "not_yet_valid",
                "revoked",
                "untrusted_chain",
                "self_signed_leaf",
                "weak_rsa_key",
                "weak_signature_sha1",
                "weak_signature_md5",
                "long_validity",
                "wildcard",
                "cn_not_in_san",
                "wildcard_on_public_suffix",
                "ip_in_dns_san",
                "hostname_mismatch"
            ]
        );
        for id in FindingId::ALL {
            assert_eq!(
                serde_json::to_value(id).unwrap(),
                serde_json::Value::String(id.as_str().into())
            );
        }
    }
}
