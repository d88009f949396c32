//! Bytes → certificates. Pure functions (no IO, no clock): PEM bundles, DER,
//! PKCS#12 and kubeconfig splitting, and the X.509 summary in `x509`.
//! Every function here must be total over hostile input: no panics, bounded work.

pub mod der;
pub mod kubeconfig;
pub mod pem;
pub mod pkcs12;
pub mod x509;

use crate::model::{ParsedCert, Reason};

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
    /// Also try the empty password (and a missing one) for PKCS#12.
    pub try_empty_password: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            pkcs12_passwords: Vec::new(),
            try_empty_password: true,
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
/// certificates nor errors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseOutput {
    /// `(index_in_bundle, certificate)` in bundle order.
    pub certs: Vec<(usize, ParsedCert)>,
    pub errors: Vec<ParseError>,
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

impl ParseOutput {
    fn error(reason: Reason, message: &str) -> Self {
        ParseOutput {
            certs: Vec::new(),
            errors: vec![ParseError::new(reason, message, None)],
        }
    }
}

/// Parse one object's bytes into certificates.
///
/// * `Auto`: PEM when the data contains `-----BEGIN `; else PKCS#12 when it
///   sniffs as a `PFX`; else a DER certificate when it starts with a SEQUENCE;
///   else `no_certificate_found`.
/// * PEM: every certificate block (`CERTIFICATE`, `TRUSTED CERTIFICATE`) is one
///   index, failed ones included; a failed block is an error with that index
///   (`bad_pem` for armour/base64 problems, `bad_der` when the decoded bytes are
///   not a certificate). Keys and other blocks are skipped silently, so a
///   key-only file yields nothing at all.
/// * DER: index 0. PKCS#12: one index per certificate bag, in bag order.
///
/// Total over hostile input: never panics, bounded work and messages.
pub fn parse_object(data: &[u8], hint: FormatHint, opts: &ParseOptions) -> ParseOutput {
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
        FormatHint::Pem => parse_pem(data),
        FormatHint::Der => parse_der(data),
        FormatHint::Pkcs12 => parse_pkcs12(data, opts),
        FormatHint::Auto => {
            if pem::has_pem_armour(data) {
                parse_pem(data)
            } else if der::looks_like_pkcs12(data) {
                parse_pkcs12(data, opts)
            } else if data.first() == Some(&0x30) {
                parse_der(data)
            } else {
                ParseOutput::error(
                    Reason::NoCertificateFound,
                    "no PEM block, not DER, not PKCS#12",
                )
            }
        }
    }
}

fn parse_pem(data: &[u8]) -> ParseOutput {
    let scan = pem::scan(data);
    let mut out = ParseOutput::default();
    let mut index = 0;
    for block in &scan.blocks {
        if !block.kind.is_certificate() {
            continue;
        }
        let this = index;
        index += 1;
        match &block.body {
            pem::BlockBody::Decoded(bytes) => match x509::summarize(bytes) {
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

fn parse_der(data: &[u8]) -> ParseOutput {
    match x509::summarize(data) {
        Ok(cert) => ParseOutput {
            certs: vec![(0, cert)],
            errors: Vec::new(),
        },
        Err(e) => ParseOutput {
            certs: Vec::new(),
            errors: vec![ParseError::new(Reason::BadDer, &e.message, None)],
        },
    }
}

fn parse_pkcs12(data: &[u8], opts: &ParseOptions) -> ParseOutput {
    match pkcs12::certificates(data, opts) {
        Ok(ders) => {
            let mut out = ParseOutput::default();
            for (i, der) in ders.iter().enumerate() {
                match x509::summarize(der) {
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
        },
    }
}
