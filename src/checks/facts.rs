//! What chain building and revocation need to know about one certificate,
//! extracted once from its DER (pure): raw subject/issuer names for name
//! chaining, validity, basicConstraints, keyUsage, extended key usage, key
//! identifiers, the serial, CRL distribution points and AIA URLs; plus
//! signature verification helpers shared by certificates, CRLs and OCSP.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use x509_parser::oid_registry::{
    OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS, OID_PKIX_ACCESS_DESCRIPTOR_OCSP,
};
use x509_parser::prelude::*;
use x509_parser::validate::{Validator, VecLogger, X509StructureValidator};

use crate::model::TrustReason;

/// extendedKeyUsage anyExtendedKeyUsage.
pub const EKU_ANY: &str = "2.5.29.37.0";
/// id-kp-OCSPSigning.
pub const EKU_OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";

/// Facts of one certificate (public data only).
#[derive(Debug, Clone)]
pub struct Facts {
    pub fp: [u8; 32],
    pub der: Arc<[u8]>,
    /// Raw subject and issuer Names (DER) and their renderings below are
    /// shared through [`Names`]: a leaf's issuer is its CA's subject, so
    /// 20,000 leaves of one CA hold one copy.
    pub subject_raw: Arc<[u8]>,
    pub issuer_raw: Arc<[u8]>,
    /// Lowercased RFC 4514 rendering (fallback name matching).
    pub subject_norm: Arc<str>,
    pub issuer_norm: Arc<str>,
    /// Human name for messages: the CN, else the rendered subject.
    pub name: Arc<str>,
    /// Human name of the issuer.
    pub issuer_name: Arc<str>,
    pub not_before: i64,
    pub not_after: i64,
    /// basicConstraints cA, `None` without the extension.
    pub ca: Option<bool>,
    pub path_len: Option<u32>,
    /// keyUsage keyCertSign / cRLSign, `None` without the extension.
    pub key_cert_sign: Option<bool>,
    pub crl_sign: Option<bool>,
    /// Dotted EKU OIDs, `None` without the extension.
    pub eku: Option<Vec<String>>,
    /// Where in `der` the key identifiers, the SubjectPublicKeyInfo, its key
    /// and the serial are (read with the accessors of the same names): no
    /// copy per certificate.
    pub ski_at: Option<Span>,
    pub aki_at: Option<Span>,
    pub spki_at: Span,
    pub spki_key_at: Span,
    pub serial_at: Span,
    pub crl_urls: Vec<String>,
    pub ocsp_urls: Vec<String>,
    pub ca_issuers: Vec<String>,
    /// Subject equals issuer (raw or normalised).
    pub self_issued: bool,
    /// The signed parts and the key, split as webpki reads them (`None`:
    /// undecodable at that level).
    pub signed: Option<super::sigverify::Signed>,
    pub key: Option<super::sigverify::Key>,
    /// X.509 version (0 = v1, 2 = v3).
    pub version: u32,
    /// A subjectAltName extension with at least one name.
    pub has_san: bool,
    /// RSA modulus size in bits (RSA keys only).
    pub rsa_bits: Option<u32>,
    /// The first RFC 5280 structure defect found (x509-parser's `validate`
    /// lints plus serial and key identifier rules), with its human text.
    pub defect: Option<(TrustReason, String)>,
    /// A critical extension x509-parser does not know (checked on anchors;
    /// webpki judges the other certificates).
    pub unknown_critical: bool,
}

/// Strip leading zero bytes of a big-endian integer (keep one byte).
pub fn normalize_serial(raw: &[u8]) -> Box<[u8]> {
    strip_zeros(raw).into()
}

fn strip_zeros(raw: &[u8]) -> &[u8] {
    let mut s = raw;
    while s.len() > 1 && s[0] == 0 {
        s = &s[1..];
    }
    s
}

/// The SHA-256 of a certificate from its 64-hex-digit fingerprint (the
/// parser computed it already).
fn fp_from_hex(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (nib(b[2 * i])? << 4) | nib(b[2 * i + 1])?;
    }
    Some(out)
}

/// A byte range `[start, end)` of a certificate's DER.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span(u32, u32);

impl Span {
    /// The range of `part` inside `whole` (`None` when it is not a sub-slice:
    /// only slices borrowed from the DER can be located).
    pub fn locate(whole: &[u8], part: &[u8]) -> Option<Span> {
        let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
        let end = start.checked_add(part.len())?;
        if end > whole.len() {
            return None;
        }
        Some(Span(u32::try_from(start).ok()?, u32::try_from(end).ok()?))
    }

    pub fn new(start: usize, end: usize) -> Option<Span> {
        (start <= end).then_some(())?;
        Some(Span(u32::try_from(start).ok()?, u32::try_from(end).ok()?))
    }

    pub fn of<'d>(&self, der: &'d [u8]) -> &'d [u8] {
        der.get(self.0 as usize..self.1 as usize).unwrap_or(&[])
    }
}

/// Display name of an X.509 name: its CN, else its RFC 4514 rendering.
pub fn display_name(name: &X509Name<'_>) -> String {
    let dn = crate::parse::x509::distinguished_name(name);
    let s = if dn.cn.is_empty() { dn.rendered } else { dn.cn };
    crate::model::bounded(&s, 200)
}

/// (display name, lowercased RFC 4514 rendering) of a rendered name.
fn renderings(dn: &crate::model::DistinguishedName) -> (String, String) {
    let norm = dn.rendered.to_lowercase();
    let s = if dn.cn.is_empty() {
        &dn.rendered
    } else {
        &dn.cn
    };
    (crate::model::bounded(s, 200), norm)
}

/// A Name as [`Facts`] hold it: raw DER, display name, normalised rendering.
type Interned = (Arc<[u8]>, Arc<str>, Arc<str>);

const NAME_SHARDS: usize = 8;

/// Raw Name → (display name, normalised rendering).
type NameMap = HashMap<Arc<[u8]>, (Arc<str>, Arc<str>)>;
/// Most names per shard; a full shard is emptied (names found after that are
/// simply not shared until the next sweep).
const MAX_NAMES_PER_SHARD: usize = 1 << 16;

/// Interner of certificate Names (raw DER → renderings), shared by the facts
/// extraction threads of a [`crate::checks::Checker`]. A Name seen before is
/// neither rendered nor copied again; [`Names::sweep`] forgets Names no
/// certificate holds any more.
#[derive(Debug, Default)]
pub struct Names {
    shards: [Mutex<NameMap>; NAME_SHARDS],
}

impl Names {
    fn shard(&self, raw: &[u8]) -> std::sync::MutexGuard<'_, NameMap> {
        let h = raw
            .iter()
            .rev()
            .take(8)
            .fold(0usize, |a, &b| a.wrapping_mul(31) ^ usize::from(b));
        let m = &self.shards[h % NAME_SHARDS];
        match m.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The shared form of `raw`, rendering it with `render` (display, norm)
    /// only when it was not seen before. `render` runs without the lock.
    fn get(&self, raw: &[u8], render: impl FnOnce() -> (String, String)) -> Interned {
        if let Some((k, (d, n))) = self.shard(raw).get_key_value(raw) {
            return (k.clone(), d.clone(), n.clone());
        }
        let (d, n) = render();
        let v: Interned = (raw.into(), d.into(), n.into());
        let mut g = self.shard(raw);
        if let Some((k, (d, n))) = g.get_key_value(raw) {
            return (k.clone(), d.clone(), n.clone());
        }
        if g.len() >= MAX_NAMES_PER_SHARD {
            g.clear();
        }
        g.insert(v.0.clone(), (v.1.clone(), v.2.clone()));
        v
    }

    /// Forget Names that only the interner holds.
    pub fn sweep(&self) {
        for m in &self.shards {
            let mut g = match m.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            g.retain(|k, _| Arc::strong_count(k) > 1);
            g.shrink_to_fit();
        }
    }

    /// Interned Names.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|m| m.lock().map_or(0, |g| g.len()))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Facts {
    /// Extract the facts of `der`. `fp` is its SHA-256.
    pub fn from_der(der: Arc<[u8]>) -> Result<Facts, String> {
        Self::extract(der, &Names::default(), None, None)
    }

    /// The facts of an inventory certificate: its DER, and the subject and
    /// issuer renderings the parser already made (not rendered again), with
    /// Names shared through `names`.
    pub fn from_parsed(cert: &crate::model::ParsedCert, names: &Names) -> Result<Facts, String> {
        Self::extract(
            cert.der.clone(),
            names,
            Some((&cert.subject, &cert.issuer)),
            fp_from_hex(&cert.sha256_fingerprint),
        )
    }

    fn extract(
        der: Arc<[u8]>,
        interner: &Names,
        rendered: Option<(
            &crate::model::DistinguishedName,
            &crate::model::DistinguishedName,
        )>,
        fp: Option<[u8; 32]>,
    ) -> Result<Facts, String> {
        let (_, cert) = X509Certificate::from_der(&der).map_err(|e| format!("bad DER: {e}"))?;
        let fp: [u8; 32] = if let Some(fp) = fp {
            fp
        } else {
            let d = ring::digest::digest(&ring::digest::SHA256, &der);
            let mut a = [0u8; 32];
            a.copy_from_slice(d.as_ref());
            a
        };
        let tbs = &cert.tbs_certificate;
        // One rendering per distinct Name (the parser's when given): the
        // display name and the normalised form.
        let render = |n: &X509Name<'_>, given: Option<&crate::model::DistinguishedName>| match given
        {
            Some(dn) => renderings(dn),
            None => renderings(&crate::parse::x509::distinguished_name(n)),
        };
        let (subject_raw, name, subject_norm) = interner.get(tbs.subject.as_raw(), || {
            render(&tbs.subject, rendered.map(|r| r.0))
        });
        let (issuer_raw, issuer_name, issuer_norm) = interner.get(tbs.issuer.as_raw(), || {
            render(&tbs.issuer, rendered.map(|r| r.1))
        });
        let at = |part: &[u8]| {
            Span::locate(&der, part).ok_or_else(|| "certificate field outside its DER".to_string())
        };
        let spki_at = at(tbs.subject_pki.raw)?;
        let spki_key_at = at(tbs.subject_pki.subject_public_key.data.as_ref())?;
        let serial_at = at(strip_zeros(tbs.raw_serial()))?;
        let mut f = Facts {
            fp,
            der: der.clone(),
            self_issued: subject_raw == issuer_raw || subject_norm == issuer_norm,
            subject_raw,
            issuer_raw,
            subject_norm,
            issuer_norm,
            name,
            issuer_name,
            not_before: tbs.validity.not_before.timestamp(),
            not_after: tbs.validity.not_after.timestamp(),
            ca: None,
            path_len: None,
            key_cert_sign: None,
            crl_sign: None,
            eku: None,
            ski_at: None,
            aki_at: None,
            spki_at,
            spki_key_at,
            serial_at,
            crl_urls: Vec::new(),
            ocsp_urls: Vec::new(),
            ca_issuers: Vec::new(),
            signed: super::sigverify::split_cert(&der),
            key: super::sigverify::split_spki(tbs.subject_pki.raw),
            version: tbs.version.0,
            has_san: false,
            rsa_bits: match tbs.subject_pki.parsed() {
                Ok(x509_parser::public_key::PublicKey::RSA(k)) => {
                    Some(u32::try_from(k.key_size()).unwrap_or(u32::MAX))
                }
                _ => None,
            },
            defect: None,
            unknown_critical: tbs.extensions().iter().any(|e| {
                e.critical
                    && matches!(
                        e.parsed_extension(),
                        ParsedExtension::UnsupportedExtension { .. }
                    )
            }),
        };
        f.defect = structure_defect(&cert, &f.name);
        for ext in tbs.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::BasicConstraints(bc) => {
                    f.ca = Some(bc.ca);
                    f.path_len = bc.path_len_constraint;
                }
                ParsedExtension::KeyUsage(ku) => {
                    f.key_cert_sign = Some(ku.key_cert_sign());
                    f.crl_sign = Some(ku.crl_sign());
                }
                ParsedExtension::ExtendedKeyUsage(eku) => {
                    let mut v = Vec::new();
                    if eku.any {
                        v.push(EKU_ANY.to_string());
                    }
                    if eku.server_auth {
                        v.push("1.3.6.1.5.5.7.3.1".into());
                    }
                    if eku.client_auth {
                        v.push("1.3.6.1.5.5.7.3.2".into());
                    }
                    if eku.code_signing {
                        v.push("1.3.6.1.5.5.7.3.3".into());
                    }
                    if eku.email_protection {
                        v.push("1.3.6.1.5.5.7.3.4".into());
                    }
                    if eku.time_stamping {
                        v.push("1.3.6.1.5.5.7.3.8".into());
                    }
                    if eku.ocsp_signing {
                        v.push(EKU_OCSP_SIGNING.into());
                    }
                    for o in eku.other.iter().take(32) {
                        v.push(o.to_id_string());
                    }
                    f.eku = Some(v);
                }
                ParsedExtension::SubjectKeyIdentifier(k) => f.ski_at = Some(at(k.0)?),
                ParsedExtension::SubjectAlternativeName(san) => {
                    f.has_san = !san.general_names.is_empty()
                }
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    f.aki_at = match a.key_identifier.as_ref() {
                        Some(k) => Some(at(k.0)?),
                        None => None,
                    }
                }
                ParsedExtension::CRLDistributionPoints(cdp) => {
                    for dp in cdp.points.iter().take(16) {
                        if let Some(DistributionPointName::FullName(names)) = &dp.distribution_point
                        {
                            for n in names.iter().take(16) {
                                if let GeneralName::URI(u) = n {
                                    f.crl_urls.push(crate::model::bounded(u, 2048));
                                }
                            }
                        }
                    }
                }
                ParsedExtension::AuthorityInfoAccess(aia) => {
                    for ad in aia.accessdescs.iter().take(16) {
                        if let GeneralName::URI(u) = &ad.access_location {
                            let u = crate::model::bounded(u, 2048);
                            if ad.access_method == OID_PKIX_ACCESS_DESCRIPTOR_OCSP {
                                f.ocsp_urls.push(u);
                            } else if ad.access_method == OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS {
                                f.ca_issuers.push(u);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(f)
    }

    /// SubjectPublicKeyInfo DER.
    pub fn spki_raw(&self) -> &[u8] {
        self.spki_at.of(&self.der)
    }

    /// Content of the subjectPublicKey BIT STRING (OCSP issuer key hash).
    pub fn spki_key(&self) -> &[u8] {
        self.spki_key_at.of(&self.der)
    }

    /// Serial content bytes with leading zero bytes removed.
    pub fn serial(&self) -> &[u8] {
        self.serial_at.of(&self.der)
    }

    pub fn ski(&self) -> Option<&[u8]> {
        self.ski_at.map(|s| s.of(&self.der))
    }

    pub fn aki(&self) -> Option<&[u8]> {
        self.aki_at.map(|s| s.of(&self.der))
    }

    /// Hex of the fingerprint (for messages and maps).
    pub fn fp_hex(&self) -> String {
        crate::parse::x509::hex(&self.fp)
    }

    /// May this certificate issue certificates (CA flag, keyCertSign)?
    /// `Err` carries the human reason.
    pub fn can_sign_certs(&self) -> Result<(), &'static str> {
        match self.ca {
            Some(true) => {}
            Some(false) => return Err("is not a CA (basicConstraints cA is false)"),
            None => return Err("is not a CA (no basicConstraints)"),
        }
        if self.key_cert_sign == Some(false) {
            return Err("may not sign certificates (keyUsage lacks keyCertSign)");
        }
        Ok(())
    }

    /// Is `now` within [notBefore, notAfter]?
    pub fn valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now <= self.not_after
    }
}

/// RFC 5280 structure rules webpki does not apply: x509-parser's structure
/// lints (errors only), the serial number (§4.1.2.2: positive, at most 20
/// octets) and a critical authorityKeyIdentifier (§4.2.1.1).
fn structure_defect(cert: &X509Certificate<'_>, name: &str) -> Option<(TrustReason, String)> {
    let tbs = &cert.tbs_certificate;
    let serial = tbs.raw_serial();
    let bad_serial = if serial.len() > 20 {
        Some("is longer than 20 octets")
    } else if serial.first().is_some_and(|b| b & 0x80 != 0) {
        Some("is negative")
    } else if serial.iter().all(|&b| b == 0) {
        Some("is zero")
    } else {
        None
    };
    if let Some(why) = bad_serial {
        return Some((
            TrustReason::InvalidSerial,
            format!("the serial number of '{name}' {why}"),
        ));
    }
    for ext in tbs.extensions() {
        if ext.critical
            && matches!(
                ext.parsed_extension(),
                ParsedExtension::AuthorityKeyIdentifier(_)
                    | ParsedExtension::SubjectKeyIdentifier(_)
            )
        {
            return Some((
                TrustReason::BadKeyIdentifier,
                format!("'{name}' marks its key identifier extension critical"),
            ));
        }
    }
    if let Ok(Some(san)) = tbs.subject_alternative_name() {
        for n in san.value.general_names.iter().take(1024) {
            let bad = match n {
                GeneralName::DNSName(d) => !valid_dns_name(d),
                GeneralName::RFC822Name(m) => m.is_empty() || !m.is_ascii(),
                GeneralName::URI(u) => u.is_empty() || !u.is_ascii(),
                GeneralName::IPAddress(ip) => ip.len() != 4 && ip.len() != 16,
                _ => false,
            };
            if bad {
                return Some((
                    TrustReason::MalformedCertificate,
                    crate::model::bounded(
                        &format!("'{name}' has a malformed subjectAltName entry {n:?}"),
                        300,
                    ),
                ));
            }
        }
    }
    let mut log = VecLogger::default();
    X509StructureValidator.validate(cert, &mut log);
    log.errors().first().map(|e| {
        (
            TrustReason::MalformedCertificate,
            crate::model::bounded(&format!("'{name}' is malformed: {e}"), 300),
        )
    })
}

/// RFC 5280 §4.2.1.6 / RFC 1034 preferred name syntax: LDH labels of 1–63
/// octets (no leading or trailing hyphen), at most 253 octets, optionally a
/// leading `*.` wildcard label.
pub fn valid_dns_name(d: &str) -> bool {
    let d = d.strip_prefix("*.").unwrap_or(d);
    if d.is_empty() || d.len() > 253 {
        return false;
    }
    d.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Result of a signature check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigCheck {
    Valid,
    Invalid,
    /// An algorithm ring cannot verify.
    Unsupported,
}

/// Verify `data`/`sig` made with `alg` against the key in `spki_der`.
pub fn verify_with_spki(
    spki_der: &[u8],
    alg: &AlgorithmIdentifier<'_>,
    sig: &x509_parser::der_parser::asn1_rs::BitString<'_>,
    data: &[u8],
) -> SigCheck {
    let Ok((_, spki)) = SubjectPublicKeyInfo::from_der(spki_der) else {
        return SigCheck::Invalid;
    };
    match x509_parser::verify::verify_signature(&spki, alg, sig, data) {
        Ok(()) => SigCheck::Valid,
        Err(X509Error::SignatureUnsupportedAlgorithm) => {
            if legacy_rsa(&spki, alg, sig, data) {
                SigCheck::Valid
            } else {
                SigCheck::Unsupported
            }
        }
        Err(_) => {
            if legacy_rsa(&spki, alg, sig, data) {
                SigCheck::Valid
            } else {
                SigCheck::Invalid
            }
        }
    }
}

/// ring rejects RSA keys under 2048 bits for SHA-2 by default; old CAs exist.
fn legacy_rsa(
    spki: &SubjectPublicKeyInfo<'_>,
    alg: &AlgorithmIdentifier<'_>,
    sig: &x509_parser::der_parser::asn1_rs::BitString<'_>,
    data: &[u8],
) -> bool {
    use ring::signature as s;
    let a: &dyn s::VerificationAlgorithm = match alg.algorithm.to_id_string().as_str() {
        "1.2.840.113549.1.1.11" => &s::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        "1.2.840.113549.1.1.13" => &s::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        _ => return false,
    };
    s::UnparsedPublicKey::new(a, spki.subject_public_key.data.as_ref())
        .verify(data, sig.data.as_ref())
        .is_ok()
}

/// Does `issuer` (its SPKI) sign `child`'s DER?
pub fn cert_signed_by(child_der: &[u8], issuer_spki: &[u8]) -> SigCheck {
    let Ok((_, child)) = X509Certificate::from_der(child_der) else {
        return SigCheck::Invalid;
    };
    verify_with_spki(
        issuer_spki,
        &child.signature_algorithm,
        &child.signature_value,
        child.tbs_certificate.as_ref(),
    )
}

/// RFC 5280 CRLReason names.
pub fn reason_name(code: u8) -> &'static str {
    match code {
        0 => "unspecified",
        1 => "keyCompromise",
        2 => "cACompromise",
        3 => "affiliationChanged",
        4 => "superseded",
        5 => "cessationOfOperation",
        6 => "certificateHold",
        8 => "removeFromCRL",
        9 => "privilegeWithdrawn",
        10 => "aACompromise",
        _ => "unknown",
    }
}
