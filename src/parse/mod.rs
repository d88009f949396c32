//! Bytes → certificates. Pure functions (no IO, no clock): PEM bundles, DER,
//! PKCS#12, Java keystores (JKS/JCEKS, `jks`) and kubeconfig splitting, and the
//! X.509 summary in `x509`.
//! Every function here must be total over hostile input: no panics, bounded work.

pub mod der;
pub mod jks;
pub mod kubeconfig;
pub mod pem;
pub mod pkcs12;
pub mod privkey;
pub mod x509;

use std::sync::Arc;

use crate::model::{ErrorEntry, KeystoreFormat, ParsedCert, ParsedItem, Reason, SourceRef};

/// What the caller knows about the content's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormatHint {
    /// Sniff: PEM if it has PEM armour, else PKCS#12 or DER by structure.
    #[default]
    Auto,
    Pem,
    Der,
    Pkcs12,
}

/// Per-source parse settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Passwords tried, in order, for PKCS#12 content.
    pub pkcs12_passwords: Vec<String>,
    /// Also try the empty password (and a missing one) for PKCS#12, and the
    /// empty password for Java keystores.
    pub try_empty_password: bool,
    /// Passwords tried, in order, for JKS and JCEKS keystores.
    pub keystore_passwords: Vec<String>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            pkcs12_passwords: Vec::new(),
            try_empty_password: true,
            keystore_passwords: Vec::new(),
        }
    }
}

/// One item-level failure inside an object (e.g. the 3rd PEM block is corrupt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub reason: Reason,
    /// Bounded, never contains key material.
    pub message: String,
    /// Index of the failing item within the object, when it has one.
    pub index: Option<usize>,
}

/// The result of parsing one object. A private-key-only PEM yields neither
/// certificates nor errors. `C` is the certificate: a [`ParsedCert`] of its
/// own ([`parse_object`]) or the shared summary of the process's certificate
/// table ([`parse_object_shared`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOutput<C = ParsedCert> {
    /// `(index_in_bundle, certificate)` in bundle order.
    pub certs: Vec<(usize, C)>,
    pub errors: Vec<ParseError>,
    /// The object was a PKCS#12 archive or a Java keystore.
    pub keystore: Option<KeystoreFormat>,
    /// DER of the CRLs found in the object (`X509 CRL` PEM blocks, or a DER
    /// object that is a CRL), in order; at most [`MAX_CRLS`].
    pub crls: Vec<Vec<u8>>,
}

/// Most CRLs taken from one object.
pub const MAX_CRLS: usize = 64;

impl<C> Default for ParseOutput<C> {
    fn default() -> Self {
        ParseOutput {
            certs: Vec::new(),
            errors: Vec::new(),
            keystore: None,
            crls: Vec::new(),
        }
    }
}

/// Largest object `parse_object` accepts (the caller caps sizes too).
pub const MAX_OBJECT_LEN: usize = 64 * 1024 * 1024;

impl ParseError {
    /// An error with a bounded message.
    pub fn new(reason: Reason, message: impl AsRef<str>, index: Option<usize>) -> Self {
        ParseError {
            reason,
            message: crate::model::bounded(message.as_ref(), crate::model::MAX_MESSAGE_LEN),
            index,
        }
    }
}

impl<C> ParseOutput<C> {
    fn error(reason: Reason, message: &str) -> Self {
        ParseOutput {
            certs: Vec::new(),
            errors: vec![ParseError::new(reason, message, None)],
            keystore: None,
            crls: Vec::new(),
        }
    }
}

/// Parse one located item (a file, a kubeconfig entry, a Secret key): its
/// certificates are appended to `certs`, its parse errors (located, `#<index>`
/// for a bad block of a bundle) to `errors`. The buffer is wiped before it is
/// dropped (it may have held private keys next to certificates).
/// Certificates go through the process's content-addressed table
/// ([`crate::model::table`]): a copy of a certificate held anywhere in the
/// process (another file, an earlier scan, another source) is not parsed
/// again and shares its summary.
pub fn parse_located(
    sref: SourceRef,
    data: Vec<u8>,
    hint: FormatHint,
    opts: &ParseOptions,
    certs: &mut Vec<ParsedItem>,
    errors: &mut Vec<ErrorEntry>,
) {
    parse_located_with_crls(sref, data, hint, opts, certs, errors, &mut Vec::new());
}

/// A CRL found in a source's object (an `X509 CRL` PEM block or a DER CRL):
/// where, and its DER. The scraper parses it with the revocation checks' CRL
/// parser and inventories it (`x509_crl_*` with the location's labels).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundCrl {
    pub source: Arc<SourceRef>,
    pub der: Arc<[u8]>,
}

/// [`parse_located`] that also collects the CRLs the item holds into `crls`.
pub fn parse_located_with_crls(
    sref: SourceRef,
    mut data: Vec<u8>,
    hint: FormatHint,
    opts: &ParseOptions,
    certs: &mut Vec<ParsedItem>,
    errors: &mut Vec<ErrorEntry>,
    crls: &mut Vec<FoundCrl>,
) {
    let mut out = parse_object_shared(&data, hint, opts);
    data.fill(0);
    drop(data);
    let sref = Arc::new(sref);
    for der in out.crls.drain(..) {
        crls.push(FoundCrl {
            source: sref.clone(),
            der: der.into(),
        });
    }
    for (idx, cert) in out.certs {
        certs.push((sref.clone(), idx, cert));
    }
    for e in out.errors {
        let mut loc = (*sref).clone();
        if let Some(i) = e.index {
            loc.location = format!("{}#{}", loc.location, i);
        }
        errors.push(ErrorEntry::new(loc, e.reason, &e.message).with_keystore(out.keystore));
    }
}

/// Parse one object's bytes into certificates.
///
/// * `Auto`: PEM when the data contains `-----BEGIN `; else a Java keystore
///   when it starts with the JKS or JCEKS magic number; else PKCS#12 when it
///   sniffs as a `PFX`; else a DER certificate when it starts with a SEQUENCE;
///   else `no_certificate_found`.
/// * PEM: every certificate block (`CERTIFICATE`, `TRUSTED CERTIFICATE`) is one
///   index, failed ones included; a failed block is an error with that index
///   (`bad_pem` for armour/base64 problems, `bad_der` when the decoded bytes are
///   not a certificate). Keys and other blocks are skipped silently, so a
///   key-only file yields nothing at all.
/// * DER: index 0. PKCS#12: one index per certificate bag, in bag order.
/// * JKS/JCEKS: one index per certificate, in entry order, a key entry's chain
///   in chain order (leaf first); see [`jks`]. Wrong password: `bad_passphrase`;
///   malformed: `bad_jks`.
///
/// Total over hostile input: never panics, bounded work and messages.
pub fn parse_object(data: &[u8], hint: FormatHint, opts: &ParseOptions) -> ParseOutput {
    parse_with(data, hint, opts, &x509::summarize)
}

/// [`parse_object`] through the process's content-addressed certificate table
/// ([`crate::model::table`]): each certificate's DER is hashed first and only a
/// certificate not held anywhere in the process is parsed; copies share one
/// summary. What every source's objects go through ([`parse_located`]).
pub fn parse_object_shared(
    data: &[u8],
    hint: FormatHint,
    opts: &ParseOptions,
) -> ParseOutput<Arc<ParsedCert>> {
    parse_with(data, hint, opts, &x509::summarize_shared)
}

/// Turns one certificate's DER into the output's certificate type.
type Summarizer<'a, C> = &'a dyn Fn(&[u8]) -> Result<C, ParseError>;

fn parse_with<C>(
    data: &[u8],
    hint: FormatHint,
    opts: &ParseOptions,
    summarize: Summarizer<'_, C>,
) -> ParseOutput<C> {
    if data.len() > MAX_OBJECT_LEN {
        return ParseOutput::error(
            Reason::TooLarge,
            &format!(
                "object is {} bytes, more than the {MAX_OBJECT_LEN} bytes parsed",
                data.len()
            ),
        );
    }
    if data.is_empty() {
        return ParseOutput::error(Reason::NoCertificateFound, "empty file");
    }
    match hint {
        FormatHint::Pem => parse_pem(data, summarize),
        FormatHint::Der => parse_der(data, summarize),
        FormatHint::Pkcs12 => parse_pkcs12(data, opts, summarize),
        FormatHint::Auto => {
            if pem::has_pem_armour(data) {
                parse_pem(data, summarize)
            } else if jks::sniff(data).is_some() {
                parse_jks(data, opts, summarize)
            } else if der::looks_like_pkcs12(data) {
                parse_pkcs12(data, opts, summarize)
            } else if data.first() == Some(&0x30) {
                parse_der(data, summarize)
            } else {
                ParseOutput::error(
                    Reason::NoCertificateFound,
                    "no PEM block, not DER, not PKCS#12, not a Java keystore",
                )
            }
        }
    }
}

fn parse_pem<C>(data: &[u8], summarize: Summarizer<'_, C>) -> ParseOutput<C> {
    let scan = pem::scan(data);
    let mut out = ParseOutput::default();
    let mut index = 0;
    for block in &scan.blocks {
        if block.kind == pem::BlockKind::Crl {
            match &block.body {
                pem::BlockBody::Decoded(bytes) if is_crl(bytes) => {
                    if out.crls.len() < MAX_CRLS {
                        out.crls.push(bytes.clone());
                    }
                }
                pem::BlockBody::Decoded(_) => out.errors.push(ParseError::new(
                    Reason::BadDer,
                    format!("PEM block ({}): not a valid CRL", block.label),
                    None,
                )),
                pem::BlockBody::Error(e) => out.errors.push(ParseError::new(
                    Reason::BadPem,
                    format!("PEM block ({}): {e}", block.label),
                    None,
                )),
                pem::BlockBody::Skipped => {}
            }
            continue;
        }
        if !block.kind.is_certificate() {
            continue;
        }
        let this = index;
        index += 1;
        match &block.body {
            pem::BlockBody::Decoded(bytes) => match summarize(bytes) {
                Ok(cert) => out.certs.push((this, cert)),
                Err(e) => out.errors.push(ParseError::new(
                    Reason::BadDer,
                    format!("PEM block {this} ({}): {}", block.label, e.message),
                    Some(this),
                )),
            },
            pem::BlockBody::Error(e) => out.errors.push(ParseError::new(
                Reason::BadPem,
                format!("PEM block {this} ({}): {e}", block.label),
                Some(this),
            )),
            pem::BlockBody::Skipped => {}
        }
    }
    if scan.too_many_blocks {
        out.errors.push(ParseError::new(
            Reason::TooLarge,
            format!(
                "more than {} PEM blocks; the rest was not read",
                pem::MAX_BLOCKS
            ),
            None,
        ));
    }
    if scan.blocks.is_empty() && out.errors.is_empty() {
        let message = if pem::has_pem_armour(data) {
            "PEM BEGIN marker without a valid PEM block"
        } else {
            "no PEM block found"
        };
        let reason = if pem::has_pem_armour(data) {
            Reason::BadPem
        } else {
            Reason::NoCertificateFound
        };
        out.errors.push(ParseError::new(reason, message, None));
    }
    out
}

/// Whether `der` is exactly one well-formed X.509 CRL (`CertificateList`).
pub fn is_crl(der: &[u8]) -> bool {
    use x509_parser::prelude::FromDer;
    matches!(
        x509_parser::revocation_list::CertificateRevocationList::from_der(der),
        Ok((rest, _)) if rest.is_empty()
    )
}

fn parse_der<C>(data: &[u8], summarize: Summarizer<'_, C>) -> ParseOutput<C> {
    match summarize(data) {
        Ok(cert) => ParseOutput {
            certs: vec![(0, cert)],
            errors: Vec::new(),
            keystore: None,
            crls: Vec::new(),
        },
        // A DER CRL (e.g. `ca.crl` in a watched directory) is not a broken
        // certificate.
        Err(_) if is_crl(data) => ParseOutput {
            certs: Vec::new(),
            errors: Vec::new(),
            keystore: None,
            crls: vec![data.to_vec()],
        },
        Err(e) => ParseOutput {
            certs: Vec::new(),
            errors: vec![ParseError::new(Reason::BadDer, &e.message, None)],
            keystore: None,
            crls: Vec::new(),
        },
    }
}

fn parse_pkcs12<C>(
    data: &[u8],
    opts: &ParseOptions,
    summarize: Summarizer<'_, C>,
) -> ParseOutput<C> {
    let mut out = parse_pkcs12_inner(data, opts, summarize);
    out.keystore = Some(KeystoreFormat::Pkcs12);
    out
}

fn parse_pkcs12_inner<C>(
    data: &[u8],
    opts: &ParseOptions,
    summarize: Summarizer<'_, C>,
) -> ParseOutput<C> {
    match pkcs12::certificates(data, opts) {
        Ok(ders) => {
            let mut out = ParseOutput::default();
            for (i, der) in ders.iter().enumerate() {
                match summarize(der) {
                    Ok(cert) => out.certs.push((i, cert)),
                    Err(e) => out.errors.push(ParseError::new(
                        Reason::BadDer,
                        format!("PKCS#12 certificate bag {i}: {}", e.message),
                        Some(i),
                    )),
                }
            }
            out
        }
        Err(e) => ParseOutput {
            certs: Vec::new(),
            errors: vec![e],
            keystore: None,
            crls: Vec::new(),
        },
    }
}

fn parse_jks<C>(data: &[u8], opts: &ParseOptions, summarize: Summarizer<'_, C>) -> ParseOutput<C> {
    let mut out = parse_jks_inner(data, opts, summarize);
    out.keystore = Some(KeystoreFormat::Jks);
    out
}

fn parse_jks_inner<C>(
    data: &[u8],
    opts: &ParseOptions,
    summarize: Summarizer<'_, C>,
) -> ParseOutput<C> {
    match jks::certificates(data, opts) {
        Ok(ks) => {
            let mut out = ParseOutput::default();
            for (i, der) in ks.certs.iter().enumerate() {
                match summarize(der) {
                    Ok(cert) => out.certs.push((i, cert)),
                    Err(e) => out.errors.push(ParseError::new(
                        Reason::BadDer,
                        format!("keystore certificate {i}: {}", e.message),
                        Some(i),
                    )),
                }
            }
            out.errors.extend(ks.partial);
            out
        }
        Err(e) => ParseOutput {
            certs: Vec::new(),
            errors: vec![e],
            keystore: None,
            crls: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use rcgen::{CertificateParams, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};

    fn cert(cn: &str) -> (Vec<u8>, String, KeyPair) {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = CertificateParams::new(vec![format!("{cn}.example")]).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        let c = p.self_signed(&key).unwrap();
        (c.der().to_vec(), c.pem(), key)
    }

    fn armour(label: &str, der: &[u8]) -> String {
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        )
    }

    fn auto(data: &[u8]) -> ParseOutput {
        parse_object(data, FormatHint::Auto, &ParseOptions::default())
    }

    fn cns(out: &ParseOutput) -> Vec<(usize, String)> {
        out.certs
            .iter()
            .map(|(i, c)| (*i, c.subject.cn.clone()))
            .collect()
    }

    fn reasons(out: &ParseOutput) -> Vec<(Reason, Option<usize>)> {
        out.errors.iter().map(|e| (e.reason, e.index)).collect()
    }

    #[test]
    fn bundle_of_three_with_a_key_in_between() {
        let (_, a, key) = cert("a");
        let (_, b, _) = cert("b");
        let (_, c, _) = cert("c");
        let data = format!("{a}{}{b}\n\n{c}", key.serialize_pem());
        let out = auto(data.as_bytes());
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(
            cns(&out),
            vec![(0, "a".into()), (1, "b".into()), (2, "c".into())]
        );
    }

    #[test]
    fn failed_blocks_keep_their_index() {
        let (_, a, _) = cert("a");
        let (_, c, _) = cert("c");
        let not_a_cert = armour("CERTIFICATE", b"\x30\x03\x02\x01\x01");
        let bad_b64 = "-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n";
        let data = format!("{a}{bad_b64}{not_a_cert}{c}-----BEGIN CERTIFICATE-----\nMIIB");
        let out = auto(data.as_bytes());
        assert_eq!(cns(&out), vec![(0, "a".into()), (3, "c".into())]);
        assert_eq!(
            reasons(&out),
            vec![
                (Reason::BadPem, Some(1)),
                (Reason::BadDer, Some(2)),
                (Reason::BadPem, Some(4))
            ]
        );
        for e in &out.errors {
            assert!(!e.message.is_empty() && e.message.len() <= crate::model::MAX_MESSAGE_LEN + 3);
        }
    }

    #[test]
    fn key_only_pem_yields_nothing_and_a_malformed_crl_is_an_error() {
        let (_, _, key) = cert("k");
        let out = auto(key.serialize_pem().as_bytes());
        assert_eq!(out, ParseOutput::default());
        let out = auto(armour("X509 CRL", b"\x30\x00").as_bytes());
        assert_eq!(reasons(&out), vec![(Reason::BadDer, None)]);
        assert!(out.certs.is_empty() && out.crls.is_empty());
        let out = auto(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nnot base64 at all\n");
        assert_eq!(out, ParseOutput::default());
    }

    fn crl_der() -> Vec<u8> {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, "crl issuer");
        let ca = rcgen::CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap();
        let now = ::time::OffsetDateTime::now_utc();
        rcgen::CertificateRevocationListParams {
            this_update: now,
            next_update: now + ::time::Duration::days(7),
            crl_number: rcgen::SerialNumber::from(42u64),
            issuing_distribution_point: None,
            revoked_certs: Vec::new(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        }
        .signed_by(&ca)
        .unwrap()
        .der()
        .to_vec()
    }

    #[test]
    fn crls_in_pem_bundles_and_der_objects_are_collected() {
        let crl = crl_der();
        // PEM: a certificate and a CRL in one bundle.
        let (_, pem, _) = cert("with-crl");
        let bundle = format!("{pem}{}", armour("X509 CRL", &crl));
        let out = auto(bundle.as_bytes());
        assert_eq!(cns(&out), vec![(0, "with-crl".to_string())]);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(out.crls, vec![crl.clone()]);
        // DER: a CRL file is a CRL, not a broken certificate.
        for hint in [FormatHint::Auto, FormatHint::Der] {
            let out = parse_object(&crl, hint, &ParseOptions::default());
            assert!(out.errors.is_empty() && out.certs.is_empty(), "{out:?}");
            assert_eq!(out.crls, vec![crl.clone()]);
        }
        // Truncated DER stays a bad_der error.
        let out = auto(&crl[..crl.len() - 1]);
        assert_eq!(reasons(&out), vec![(Reason::BadDer, None)]);
        assert!(out.crls.is_empty());
    }

    #[test]
    fn begin_without_any_block_is_bad_pem() {
        let out = auto(b"junk -----BEGIN CERTIFICATE\n");
        assert_eq!(reasons(&out), vec![(Reason::BadPem, None)]);
        let out = auto(b"-----BEGIN CERTIFICATE-----\nMIIBIjAN");
        assert_eq!(reasons(&out), vec![(Reason::BadPem, Some(0))]);
    }

    #[test]
    fn empty_garbage_der_and_too_large() {
        let out = auto(b"");
        assert_eq!(reasons(&out), vec![(Reason::NoCertificateFound, None)]);
        assert_eq!(out.errors[0].message, "empty file");
        let out = auto(b"just some text\n");
        assert_eq!(reasons(&out), vec![(Reason::NoCertificateFound, None)]);
        assert_eq!(
            out.errors[0].message,
            "no PEM block, not DER, not PKCS#12, not a Java keystore"
        );

        let (der, _, _) = cert("d");
        let out = auto(&der);
        assert_eq!(cns(&out), vec![(0, "d".into())]);
        let out = auto(&der[..der.len() / 2]);
        assert_eq!(reasons(&out), vec![(Reason::BadDer, None)]);
        let out = auto(&[0x30, 0x03, 0x02, 0x01, 0x01]);
        assert_eq!(reasons(&out), vec![(Reason::BadDer, None)]);

        let big = vec![0u8; MAX_OBJECT_LEN + 1];
        let out = auto(&big);
        assert_eq!(reasons(&out), vec![(Reason::TooLarge, None)]);
    }

    #[test]
    fn trusted_certificate_block_uses_the_leading_certificate() {
        let (der, _, _) = cert("t");
        let mut aux = der.clone();
        // X509_CERT_AUX { trust { serverAuth } }
        aux.extend_from_slice(&[
            0x30, 0x0c, 0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01,
        ]);
        let out = auto(armour("TRUSTED CERTIFICATE", &aux).as_bytes());
        assert!(out.errors.is_empty());
        assert_eq!(cns(&out), vec![(0, "t".into())]);
        assert_eq!(&*out.certs[0].1.der, der.as_slice());
    }

    #[test]
    fn hints_force_the_format() {
        let (der, pem, _) = cert("h");
        let o = ParseOptions::default();
        let out = parse_object(pem.as_bytes(), FormatHint::Der, &o);
        assert_eq!(reasons(&out), vec![(Reason::BadDer, None)]);
        let out = parse_object(&der, FormatHint::Pem, &o);
        assert_eq!(reasons(&out), vec![(Reason::NoCertificateFound, None)]);
        let out = parse_object(&der, FormatHint::Pkcs12, &o);
        assert_eq!(reasons(&out), vec![(Reason::BadPkcs12, None)]);
        let out = parse_object(pem.as_bytes(), FormatHint::Pem, &o);
        assert_eq!(cns(&out), vec![(0, "h".into())]);
        let out = parse_object(&der, FormatHint::Der, &o);
        assert_eq!(cns(&out), vec![(0, "h".into())]);
    }

    #[test]
    fn pkcs12_is_sniffed_and_indexed_in_bag_order() {
        use p12_keystore::{Certificate, KeyStore, KeyStoreEntry};
        let (a, _, _) = cert("a");
        let (b, _, _) = cert("b");
        let mut ks = KeyStore::new();
        ks.add_entry(
            "1",
            KeyStoreEntry::Certificate(Certificate::from_der(&a).unwrap()),
        );
        ks.add_entry(
            "2",
            KeyStoreEntry::Certificate(Certificate::from_der(&b).unwrap()),
        );
        let p12 = ks.writer("pw").write().unwrap();
        let opts = ParseOptions {
            pkcs12_passwords: vec!["pw".into()],
            try_empty_password: true,
            ..ParseOptions::default()
        };
        let out = parse_object(&p12, FormatHint::Auto, &opts);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(cns(&out), vec![(0, "a".into()), (1, "b".into())]);
        let out = parse_object(&p12, FormatHint::Auto, &ParseOptions::default());
        assert_eq!(reasons(&out), vec![(Reason::BadPassphrase, None)]);
    }
}
