//! Validation of one candidate path (leaf first, ending at a trust anchor) by
//! rustls-webpki, plus the RFC 5280 rules webpki does not apply, under a
//! [`Profile`]. Pure: facts, an explicit `now`, the (cached) algorithms.
//!
//! webpki decides validity windows, basicConstraints (cA, pathLen), name
//! constraints (DNS, IP, DN; in intermediates and anchors), EKU on every
//! certificate, unknown critical extensions, signatures and its own budgets.
//! The union with the checks here is stricter than either:
//!
//! * structure defects found when the facts were extracted (x509-parser's
//!   `validate` lints, serial number, critical key identifiers, SAN syntax) of
//!   the leaf and the intermediates (not of the anchor);
//! * RSA keys under 2048 bits (`weak_key`), on every certificate and the anchor;
//! * the anchor: validity, `cA=false`/no keyCertSign, a v3 anchor without
//!   basicConstraints, its pathLenConstraint, an unknown critical extension,
//!   and (`rfc5280`) a subjectKeyIdentifier on a v3 anchor (webpki only keeps
//!   an anchor's name, key and name constraints);
//! * intermediates: keyUsage without keyCertSign (webpki ignores keyUsage), a
//!   subjectKeyIdentifier and an authorityKeyIdentifier; the leaf: an
//!   authorityKeyIdentifier under `webpki` only;
//! * `webpki` profile: the leaf needs a subjectAltName and the serverAuth EKU.
//!
//! EKU: `webpki` uses webpki's server-auth rule (`KeyUsage::server_auth`) on
//! every certificate; `rfc5280` judges the leaf for its *own* purposes — a
//! leaf without EKU (or with anyExtendedKeyUsage) is valid for any purpose, and
//! each issuer that has an EKU must share one of the leaf's purposes or carry
//! anyExtendedKeyUsage ([`OwnPurpose`]).
//!
//! webpki refuses a CA certificate as an end entity, so a CA certificate
//! judged on its own (an intermediate or root of the inventory) is checked by
//! `check_ca_path` (validity, CA flags, keyUsage, pathLen, EKU nesting) plus
//! the rules above, in both profiles; its issuers' name constraints are not
//! applied to it. Every leaf path is judged by webpki.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use webpki::{ExtendedKeyUsageValidator, KeyPurposeIdIter, KeyUsage, RequiredEkuNotFoundContext};

use super::facts::{Facts, EKU_ANY};
use crate::model::TrustReason;

/// id-kp-serverAuth.
const EKU_SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";

/// A resolved profile (`auto` is resolved by the checker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Rfc5280,
    Webpki,
}

/// Why a path fails: a bounded code and a human sentence.
pub type Failure = (TrustReason, String);

fn day(ts: i64) -> String {
    crate::model::time::rfc3339_from_unix(ts)
        .get(..10)
        .unwrap_or("")
        .to_string()
}

fn who(i: usize, c: &Facts) -> String {
    if i == 0 {
        format!("certificate '{}'", c.name)
    } else {
        format!("intermediate '{}'", c.name)
    }
}

/// The leaf's own purposes judge every certificate on the path.
#[derive(Debug)]
pub struct OwnPurpose {
    /// The leaf's purposes; `None` = any purpose (no EKU, or anyEKU).
    leaf: Option<Vec<String>>,
}

impl OwnPurpose {
    pub fn of(leaf: &Facts) -> Self {
        OwnPurpose {
            leaf: leaf
                .eku
                .as_ref()
                .filter(|e| !e.iter().any(|o| o == EKU_ANY))
                .cloned(),
        }
    }
}

fn dotted(v: &[usize]) -> String {
    v.iter().map(usize::to_string).collect::<Vec<_>>().join(".")
}

impl ExtendedKeyUsageValidator for OwnPurpose {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let mut present = Vec::new();
        for id in iter.take(64) {
            present.push(id?.to_decoded_oid());
        }
        if present.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = present.iter().map(|p| dotted(p)).collect();
        let ok = names.iter().any(|n| n == EKU_ANY)
            || match &self.leaf {
                None => true,
                Some(leaf) => names.iter().any(|n| leaf.contains(n)),
            };
        if ok {
            Ok(())
        } else {
            Err(webpki::Error::RequiredEkuNotFoundContext(
                RequiredEkuNotFoundContext {
                    required: KeyUsage::server_auth(),
                    present,
                },
            ))
        }
    }
}

/// Checks of webpki's blind spots (see the module docs).
fn extra_checks(
    path: &[Arc<Facts>],
    anchor: &Facts,
    now: i64,
    profile: Profile,
) -> Result<(), Failure> {
    // Structure defects of the path; an anchor is trust-anchor information
    // (name, key, its own constraints), so its serial and lints do not count.
    for c in path {
        if let Some((r, d)) = &c.defect {
            return Err((*r, d.clone()));
        }
    }
    for (i, c) in path.iter().enumerate() {
        if let Some(bits) = c.rsa_bits.filter(|&b| b < 2048) {
            return Err((
                TrustReason::WeakKey,
                format!(
                    "{} has a {bits}-bit RSA key (at least 2048 required)",
                    who(i, c)
                ),
            ));
        }
    }
    if let Some(bits) = anchor.rsa_bits.filter(|&b| b < 2048) {
        return Err((
            TrustReason::WeakKey,
            format!(
                "trust anchor '{}' has a {bits}-bit RSA key (at least 2048 required)",
                anchor.name
            ),
        ));
    }
    if anchor.unknown_critical {
        return Err((
            TrustReason::UnknownCriticalExtension,
            format!(
                "trust anchor '{}' has a critical extension the validator does not know",
                anchor.name
            ),
        ));
    }
    if now > anchor.not_after {
        return Err((
            TrustReason::ExpiredIssuer,
            format!("root '{}' expired {}", anchor.name, day(anchor.not_after)),
        ));
    }
    if now < anchor.not_before {
        return Err((
            TrustReason::ExpiredIssuer,
            format!(
                "root '{}' is not valid before {}",
                anchor.name,
                day(anchor.not_before)
            ),
        ));
    }
    // Anchors: a v1 root (no extensions possible) is accepted; a v3 one
    // needs basicConstraints cA=true, and keyCertSign when keyUsage is present.
    if anchor.ca == Some(false)
        || anchor.key_cert_sign == Some(false)
        || (anchor.ca.is_none() && anchor.version >= 2)
    {
        return Err((
            TrustReason::IssuerNotCa,
            format!("trust anchor '{}' may not sign certificates", anchor.name),
        ));
    }
    if let Some(pl) = anchor.path_len {
        let below = path.len() - 1;
        if (below as u64) > u64::from(pl) {
            return Err((
                TrustReason::PathLenExceeded,
                format!(
                    "path length constraint of root '{}' (pathLen {pl}) exceeded",
                    anchor.name
                ),
            ));
        }
    }
    if profile == Profile::Rfc5280 && anchor.version >= 2 && anchor.ski_at.is_none() {
        return Err((
            TrustReason::BadKeyIdentifier,
            format!("trust anchor '{}' has no subjectKeyIdentifier", anchor.name),
        ));
    }
    for (i, c) in path.iter().enumerate() {
        if i > 0 {
            if c.key_cert_sign == Some(false) {
                return Err((
                    TrustReason::IssuerNotCa,
                    format!(
                        "intermediate '{}' may not sign certificates (keyUsage lacks keyCertSign)",
                        c.name
                    ),
                ));
            }
            if c.ski_at.is_none() && c.ca == Some(true) {
                return Err((
                    TrustReason::BadKeyIdentifier,
                    format!("intermediate '{}' has no subjectKeyIdentifier", c.name),
                ));
            }
        }
        // RFC 5280 §4.2.1.1 asks conforming CAs for the AKI to help path
        // building. Required on intermediates always and on the leaf under
        // `webpki` (CA/B Forum); a private leaf without it (rcgen's default)
        // is accepted under `rfc5280`: the search does not need it.
        if !c.self_issued && c.aki_at.is_none() && (i > 0 || profile == Profile::Webpki) {
            return Err((
                TrustReason::BadKeyIdentifier,
                format!("{} has no authorityKeyIdentifier", who(i, c)),
            ));
        }
    }
    let leaf = &path[0];
    if profile == Profile::Webpki && leaf.ca != Some(true) {
        if !leaf.has_san {
            return Err((
                TrustReason::MissingSan,
                format!(
                    "certificate '{}' has no subjectAltName (webpki profile)",
                    leaf.name
                ),
            ));
        }
        if !leaf
            .eku
            .as_ref()
            .is_some_and(|e| e.iter().any(|o| o == EKU_SERVER_AUTH))
        {
            return Err((
                TrustReason::EkuMismatch,
                format!(
                    "certificate '{}' lacks the serverAuth extended key usage (webpki profile)",
                    leaf.name
                ),
            ));
        }
    }
    Ok(())
}

/// Validity, CA flags, pathLen and EKU nesting for a path whose first
/// certificate is itself a CA (webpki has no mode for judging a CA alone).
fn check_ca_path(path: &[Arc<Facts>], now: i64) -> Result<(), Failure> {
    for (i, c) in path.iter().enumerate() {
        if now > c.not_after {
            let r = if i == 0 {
                TrustReason::Expired
            } else {
                TrustReason::ExpiredIssuer
            };
            return Err((r, format!("{} expired {}", who(i, c), day(c.not_after))));
        }
        if now < c.not_before {
            let r = if i == 0 {
                TrustReason::NotYetValid
            } else {
                TrustReason::ExpiredIssuer
            };
            return Err((
                r,
                format!("{} is not valid before {}", who(i, c), day(c.not_before)),
            ));
        }
    }
    let leaf = &path[0];
    let leaf_eku = OwnPurpose::of(leaf).leaf;
    for (i, c) in path.iter().enumerate().skip(1) {
        if let Err(why) = c.can_sign_certs() {
            return Err((
                TrustReason::IssuerNotCa,
                format!("intermediate '{}' {why}", c.name),
            ));
        }
        if let Some(pl) = c.path_len {
            if ((i - 1) as u64) > u64::from(pl) {
                return Err((
                    TrustReason::PathLenExceeded,
                    format!(
                        "path length constraint of intermediate '{}' (pathLen {pl}) exceeded",
                        c.name
                    ),
                ));
            }
        }
        if let (Some(le), Some(ce)) = (leaf_eku.as_ref(), c.eku.as_ref()) {
            if !ce.iter().any(|o| o == EKU_ANY) && !le.iter().any(|o| ce.contains(o)) {
                return Err((
                    TrustReason::EkuMismatch,
                    format!(
                        "intermediate '{}' does not allow the extended key usage of '{}'",
                        c.name, leaf.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Explain a webpki error with the facts of the path.
fn explain(err: &webpki::Error, path: &[Arc<Facts>], now: i64) -> Failure {
    use webpki::Error as E;
    let leaf = &path[0];
    let names = path
        .iter()
        .map(|c| format!("'{}'", c.name))
        .collect::<Vec<_>>()
        .join(" → ");
    match err {
        E::CertExpired { .. } | E::CertNotValidYet { .. } => {
            for (i, c) in path.iter().enumerate() {
                let r = if i == 0 {
                    (TrustReason::Expired, TrustReason::NotYetValid)
                } else {
                    (TrustReason::ExpiredIssuer, TrustReason::ExpiredIssuer)
                };
                if now > c.not_after {
                    return (r.0, format!("{} expired {}", who(i, c), day(c.not_after)));
                }
                if now < c.not_before {
                    return (
                        r.1,
                        format!("{} is not valid before {}", who(i, c), day(c.not_before)),
                    );
                }
            }
            (
                TrustReason::Expired,
                format!("a certificate of {names} is outside its validity period"),
            )
        }
        E::EndEntityUsedAsCa => {
            for c in path.iter().skip(1) {
                if let Err(why) = c.can_sign_certs() {
                    return (
                        TrustReason::IssuerNotCa,
                        format!("intermediate '{}' {why}", c.name),
                    );
                }
            }
            (
                TrustReason::IssuerNotCa,
                format!("an issuer on {names} is not a CA"),
            )
        }
        E::CaUsedAsEndEntity => (
            TrustReason::CaUsedAsLeaf,
            format!("certificate '{}' is a CA certificate", leaf.name),
        ),
        E::PathLenConstraintViolated | E::MaximumPathDepthExceeded => {
            for (i, c) in path.iter().enumerate().skip(1) {
                if let Some(pl) = c.path_len {
                    if ((i - 1) as u64) > u64::from(pl) {
                        return (
                            TrustReason::PathLenExceeded,
                            format!(
                                "path length constraint of intermediate '{}' (pathLen {pl}) exceeded",
                                c.name
                            ),
                        );
                    }
                }
            }
            (
                TrustReason::PathLenExceeded,
                format!("chain {names} is too long"),
            )
        }
        E::NameConstraintViolation => (
            TrustReason::NameConstraintViolation,
            format!(
                "a name of '{}' violates the name constraints of an issuer of {names} or of the trust anchor",
                leaf.name
            ),
        ),
        E::RequiredEkuNotFoundContext(_) => {
            let bad = path
                .iter()
                .skip(1)
                .find(|c| c.eku.is_some())
                .map(|c| c.name.clone());
            match bad {
                Some(n) if path[0].eku.is_none() || path.len() > 1 => (
                    TrustReason::EkuMismatch,
                    format!(
                        "the extended key usage of '{n}' or of '{}' does not allow the purpose of '{}'",
                        leaf.name, leaf.name
                    ),
                ),
                _ => (
                    TrustReason::EkuMismatch,
                    format!(
                        "the extended key usage of '{}' does not allow the purpose",
                        leaf.name
                    ),
                ),
            }
        }
        E::UnsupportedCriticalExtension => (
            TrustReason::UnknownCriticalExtension,
            format!("a certificate of {names} has a critical extension the validator does not know"),
        ),
        E::InvalidSignatureForPublicKey => (
            TrustReason::BadSignature,
            format!("a signature on {names} does not verify"),
        ),
        E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => (
            TrustReason::UnsupportedAlgorithm,
            format!("a signature on {names} uses an unsupported algorithm"),
        ),
        E::InvalidSerialNumber => (
            TrustReason::InvalidSerial,
            format!("a serial number on {names} is invalid"),
        ),
        E::CertDistrusted => (
            TrustReason::Distrusted,
            format!("a key on {names} is distrusted"),
        ),
        E::MaximumNameConstraintComparisonsExceeded
        | E::MaximumPathBuildCallsExceeded
        | E::MaximumSignatureChecksExceeded => (
            TrustReason::BudgetExceeded,
            format!("validation of {names} exceeded its budget ({err:?})"),
        ),
        E::UnknownIssuer => (
            TrustReason::UnknownIssuer,
            format!("the validator found no issuer on {names}"),
        ),
        other => (
            TrustReason::MalformedCertificate,
            crate::model::bounded(
                &format!("a certificate of {names} is malformed ({other:?})"),
                400,
            ),
        ),
    }
}

/// Validate `path` (leaf first) ending at `anchor` at `now`.
pub fn validate(
    path: &[Arc<Facts>],
    anchor: &Facts,
    now: i64,
    profile: Profile,
    algs: &[&dyn SignatureVerificationAlgorithm],
) -> Result<(), Failure> {
    extra_checks(path, anchor, now, profile)?;
    let leaf = &path[0];
    if leaf.ca == Some(true) {
        return check_ca_path(path, now);
    }
    let leaf_der = CertificateDer::from(&leaf.der[..]);
    let ee = webpki::EndEntityCert::try_from(&leaf_der).map_err(|e| explain(&e, path, now))?;
    let anchor_der = CertificateDer::from(&anchor.der[..]);
    let ta = webpki::anchor_from_trusted_cert(&anchor_der).map_err(|e| {
        (
            TrustReason::MalformedCertificate,
            format!("trust anchor '{}' cannot be used ({e:?})", anchor.name),
        )
    })?;
    let ints: Vec<CertificateDer<'_>> = path[1..]
        .iter()
        .map(|c| CertificateDer::from(&c.der[..]))
        .collect();
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(now).unwrap_or(0),
    ));
    let anchors = [ta];
    let r = match profile {
        Profile::Webpki => ee.verify_for_usage(
            algs,
            &anchors,
            &ints,
            time,
            KeyUsage::server_auth(),
            None,
            None,
        ),
        Profile::Rfc5280 => ee.verify_for_usage(
            algs,
            &anchors,
            &ints,
            time,
            OwnPurpose::of(leaf),
            None,
            None,
        ),
    };
    r.map(|_| ()).map_err(|e| explain(&e, path, now))
}
