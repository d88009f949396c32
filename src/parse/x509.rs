//! One DER certificate → [`ParsedCert`] (x509-parser 0.18 + ring).
//!
//! Distinguished names are rendered exactly like
//! `openssl x509 -nameopt RFC2253,-esc_msb` prints them (checked against every
//! Mozilla root in `tests/openssl_agreement.rs`):
//!
//! * RDNs in **reverse** certificate order (RFC 4514 §2.1), `,` between RDNs and
//!   `+` between the attributes of a multi-valued RDN (also reversed), no spaces;
//! * attribute names are OpenSSL's short names (`CN`, `O`, `OU`, `C`, `ST`, `L`,
//!   `emailAddress`, `DC`, `serialNumber`, `jurisdictionC`, ...); an attribute type
//!   unknown to our table is printed as its dotted OID with the value dumped as
//!   `#` + uppercase hex of its DER (OpenSSL does the same for OIDs *it* does not
//!   know; its table is larger than ours, which is the one intended difference);
//! * values: RFC 2253 escaping — `,+"\<>;` are backslash-escaped, a leading `#` or
//!   leading/trailing space is escaped, control characters become `\XX` (uppercase
//!   hex); other characters, including non-ASCII, are kept as UTF-8;
//! * string types: UTF8String as is (invalid UTF-8 replaced by U+FFFD), BMPString
//!   as UTF-16BE, UniversalString as UCS-4, one-byte types (Printable, IA5, T61,
//!   Numeric, Visible) as UTF-8 when valid else Latin-1; other value types are
//!   dumped as `#`+hex DER.
//!
//! The per-attribute fields (`c`, `st`, `l`, `o`, `ou`, `cn`) hold the raw decoded
//! values without any escaping: the first value of each attribute, and for `cn`
//! the last one (Go's `CommonName`); as in Go, attributes whose value is not a
//! string type do not fill these fields. Every value is bounded to
//! [`MAX_DN_VALUE_LEN`] bytes and a rendered name to [`MAX_DN_RENDERED_LEN`].

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use x509_parser::asn1_rs::{Any, Class, Tag};
use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::Oid;
use x509_parser::x509::{SubjectPublicKeyInfo, X509Name};

use super::ParseError;
use crate::model::table::Digest;
use crate::model::{bounded, DistinguishedName, KeyAlgorithm, ParsedCert, Reason, MAX_MESSAGE_LEN};

/// Longest attribute value kept (bytes); longer values are cut with `…`.
pub const MAX_DN_VALUE_LEN: usize = 8 * 1024;
/// Longest rendered name kept (bytes).
pub const MAX_DN_RENDERED_LEN: usize = 32 * 1024;
/// Longest serial number accepted (content bytes). RFC 5280 allows 20.
pub const MAX_SERIAL_LEN: usize = 1024;
/// Most SAN entries kept per certificate.
pub const MAX_SANS: usize = 10_000;

fn bad_der(msg: impl AsRef<str>) -> ParseError {
    ParseError {
        reason: Reason::BadDer,
        message: bounded(msg.as_ref(), MAX_MESSAGE_LEN),
        index: None,
    }
}

/// Summarise the leading certificate of `der`. Bytes after the certificate
/// (e.g. OpenSSL's trust data in a `TRUSTED CERTIFICATE`) are ignored; `der` and
/// the fingerprint cover exactly the certificate's own encoding.
pub fn summarize(der: &[u8]) -> Result<ParsedCert, ParseError> {
    summarize_digested(der, None)
}

/// [`summarize`] through the process's certificate table
/// ([`crate::model::table::global`]): the leading certificate's encoding is
/// hashed, and parsed only when no summary of it is live in the process.
/// Content that does not start with a complete definite-length TLV is
/// summarized directly (it fails there, with the usual message).
pub fn summarize_shared(der: &[u8]) -> Result<Arc<ParsedCert>, ParseError> {
    let Some(len) = super::der::first_tlv_len(der) else {
        return summarize(der).map(Arc::new);
    };
    let own = &der[..len];
    let digest: Digest = sha256(own);
    crate::model::table::global().get_or_parse(&digest, || summarize_digested(own, Some(&digest)))
}

fn sha256(data: &[u8]) -> Digest {
    let mut d = [0u8; 32];
    d.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
    d
}

/// [`summarize`], given the SHA-256 of `der` when the caller has it already
/// (used only when `der` is exactly the certificate's encoding).
fn summarize_digested(der: &[u8], digest: Option<&Digest>) -> Result<ParsedCert, ParseError> {
    if der.is_empty() {
        return Err(bad_der("empty certificate data"));
    }
    let (_rest, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| bad_der(format!("not a valid X.509 certificate: {e}")))?;
    let raw = cert.as_raw();

    let serial = cert.raw_serial();
    if serial.len() > MAX_SERIAL_LEN {
        return Err(bad_der(format!(
            "serial number too long ({} bytes)",
            serial.len()
        )));
    }

    // Issuer names repeat across certificates, and so do the subjects of CA
    // certificates (bundled as `ca.crt` into many Secrets): those are shared
    // through the interner. Leaf subjects are mostly unique and stay private.
    // A self-issued certificate uses one allocation for both names.
    let is_ca = cert.is_ca();
    let subject_dn = distinguished_name(cert.subject());
    let issuer_dn = distinguished_name(cert.issuer());
    let (subject, issuer) = if issuer_dn == subject_dn {
        let a = crate::model::intern::intern(subject_dn);
        (a.clone(), a)
    } else {
        let subject = if is_ca {
            crate::model::intern::intern(subject_dn)
        } else {
            Arc::new(subject_dn)
        };
        (subject, crate::model::intern::intern(issuer_dn))
    };
    let (mut dns_names, mut ip_addresses) = subject_alt_names(&cert);
    dns_names.shrink_to_fit();
    ip_addresses.shrink_to_fit();
    let (key_algorithm, key_bits) = key_info(cert.public_key());
    let self_signed = is_self_signed(&cert, &subject, &issuer);
    let mut serial_number = serial_decimal(serial);
    serial_number.shrink_to_fit();

    Ok(ParsedCert {
        serial_number,
        serial_hex: hex_colon(serial),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        sha256_fingerprint: match digest {
            Some(d) if raw.len() == der.len() => hex(d),
            _ => hex(&sha256(raw)),
        },
        dns_names,
        ip_addresses,
        key_algorithm,
        key_bits,
        signature_algorithm: signature_algorithm_name(&cert.signature_algorithm.algorithm),
        is_ca,
        self_signed,
        subject,
        issuer,
        der: Arc::from(raw),
    })
}

// ---------------------------------------------------------------- names

/// Build the [`DistinguishedName`] of a parsed name (see the module docs).
pub fn distinguished_name(name: &X509Name<'_>) -> DistinguishedName {
    let mut dn = DistinguishedName::default();
    // First value seen for C, ST, L, O, OU (an empty first value stays empty).
    let mut seen = [false; 5];
    // (rdn index, rendered attribute) in certificate order. Rendering starts from
    // the last attribute, so only the tail that can fit is kept.
    let mut parts: VecDeque<(usize, String)> = VecDeque::new();
    let mut parts_len = 0usize;
    for (rdn_index, rdn) in name.iter_rdn().enumerate() {
        for attr in rdn.iter() {
            let oid = dotted(attr.attr_type());
            let value = attr.attr_value();
            let short = short_name(&oid);
            let text = decode_value(value);
            // One allocation per attribute: `NAME=` then the escaped or dumped value.
            let mut part = String::with_capacity(value.data.len() + 16);
            part.push_str(short.unwrap_or(&oid));
            part.push('=');
            match (short, &text) {
                (Some(_), Some((t, true))) => escape_rfc2253_into(t, &mut part),
                _ => part.push_str(&dump_der(value)),
            }
            parts_len += part.len() + 1;
            parts.push_back((rdn_index, part));
            while parts_len > MAX_DN_RENDERED_LEN + MAX_DN_VALUE_LEN * 4 {
                match parts.pop_front() {
                    Some((_, p)) => parts_len -= p.len() + 1,
                    None => break,
                }
            }

            // Like Go's pkix.Name: only string values fill the fields.
            let Some((field_value, _)) = text else {
                continue;
            };
            let slot = match oid.as_str() {
                "2.5.4.6" => Some((0, &mut dn.c)),
                "2.5.4.8" => Some((1, &mut dn.st)),
                "2.5.4.7" => Some((2, &mut dn.l)),
                "2.5.4.10" => Some((3, &mut dn.o)),
                "2.5.4.11" => Some((4, &mut dn.ou)),
                _ => None,
            };
            if let Some((i, field)) = slot {
                if !seen[i] {
                    seen[i] = true;
                    *field = field_value;
                }
            } else if oid == "2.5.4.3" {
                // Go's CommonName: the last CN wins.
                dn.cn = field_value;
            }
        }
    }
    let mut rendered = String::new();
    let mut prev: Option<usize> = None;
    for (rdn_index, part) in parts.iter().rev() {
        if let Some(p) = prev {
            rendered.push(if p == *rdn_index { '+' } else { ',' });
        }
        rendered.push_str(part);
        prev = Some(*rdn_index);
        if rendered.len() > MAX_DN_RENDERED_LEN {
            break;
        }
    }
    dn.rendered = bounded(&rendered, MAX_DN_RENDERED_LEN);
    dn
}

/// Decode an attribute value to text: `Some((text, openssl_prints_as_text))`,
/// or `None` when the value is not a string type.
fn decode_value(value: &Any<'_>) -> Option<(String, bool)> {
    if value.header.class() != Class::Universal || value.header.is_constructed() {
        return None;
    }
    let data = value.data;
    let tag = value.header.tag();
    let text = if tag == Tag::Utf8String {
        (String::from_utf8_lossy(data).into_owned(), true)
    } else if tag == Tag::BmpString {
        let units = data
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]));
        let mut text: String = char::decode_utf16(units)
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        if !data.len().is_multiple_of(2) {
            text.push(char::REPLACEMENT_CHARACTER);
        }
        (text, true)
    } else if tag == Tag::UniversalString {
        let mut text: String = data
            .chunks_exact(4)
            .map(|c| {
                char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .unwrap_or(char::REPLACEMENT_CHARACTER)
            })
            .collect();
        if !data.len().is_multiple_of(4) {
            text.push(char::REPLACEMENT_CHARACTER);
        }
        (text, true)
    } else if tag == Tag::PrintableString
        || tag == Tag::Ia5String
        || tag == Tag::T61String
        || tag == Tag::NumericString
        || tag == Tag::VisibleString
        || tag == Tag::UtcTime
        || tag == Tag::GeneralizedTime
    {
        (one_byte_string(data), true)
    } else if tag == Tag::VideotexString || tag == Tag::GraphicString || tag == Tag::GeneralString {
        // Text for the fields; OpenSSL dumps these types as hex.
        (one_byte_string(data), false)
    } else {
        return None;
    };
    Some((bounded_owned(text.0, MAX_DN_VALUE_LEN), text.1))
}

/// [`bounded`] without copying a value that already fits (the usual case).
fn bounded_owned(s: String, max: usize) -> String {
    if s.len() <= max {
        s
    } else {
        bounded(&s, max)
    }
}

/// UTF-8 when valid, else Latin-1 (never fails).
fn one_byte_string(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(s) => s.to_string(),
        Err(_) => data.iter().map(|&b| char::from(b)).collect(),
    }
}

/// `#` + uppercase hex of the value's DER encoding (OpenSSL's `DUMP_DER`).
fn dump_der(value: &Any<'_>) -> String {
    let mut der = Vec::with_capacity(value.data.len() + 8);
    let class_bits = (value.header.class() as u8) << 6;
    let constructed = if value.header.is_constructed() {
        0x20
    } else {
        0
    };
    let tag = value.header.tag().0;
    if tag < 31 {
        der.push(class_bits | constructed | tag as u8);
    } else {
        der.push(class_bits | constructed | 0x1f);
        let mut groups = Vec::new();
        let mut t = tag;
        loop {
            groups.push((t & 0x7f) as u8);
            t >>= 7;
            if t == 0 {
                break;
            }
        }
        for (i, g) in groups.iter().enumerate().rev() {
            der.push(if i == 0 { *g } else { g | 0x80 });
        }
    }
    let len = value.data.len();
    if len < 0x80 {
        der.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        der.push(0x80 | (bytes.len() - skip) as u8);
        der.extend_from_slice(&bytes[skip..]);
    }
    // Bound the work on hostile sizes: the dump is cut like any value.
    let take = value.data.len().min(MAX_DN_VALUE_LEN / 2);
    der.extend_from_slice(&value.data[..take]);
    let mut out = String::with_capacity(1 + der.len() * 2);
    out.push('#');
    for b in &der {
        let _ = write!(out, "{b:02X}");
    }
    bounded(&out, MAX_DN_VALUE_LEN)
}

/// RFC 2253 escaping as OpenSSL's `ASN1_STRFLGS_RFC2253` without `ESC_MSB`.
#[cfg(test)]
fn escape_rfc2253(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    escape_rfc2253_into(s, &mut out);
    out
}

/// [`escape_rfc2253`], appended to `out`.
fn escape_rfc2253_into(s: &str, out: &mut String) {
    let n = s.chars().count();
    for (i, c) in s.chars().enumerate() {
        let last = i + 1 == n;
        // OpenSSL: the "last" flag replaces the "first" flag on a 1-char value.
        let first = i == 0 && !last;
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => {
                out.push('\\');
                out.push(c);
            }
            ' ' if first || last => out.push_str("\\ "),
            '#' if first => out.push_str("\\#"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// The dotted form of an OID, exactly as `Oid::to_id_string` prints it. That
/// function (with asn1-rs' `bigint` feature, which der-parser turns on) formats
/// every arc as a big integer and joins a vector of strings; it was a tenth of the
/// parse time, called about ten times per certificate. Arcs that fit a `u64` are
/// printed directly; anything else falls back to `to_id_string`.
pub fn dotted(oid: &Oid<'_>) -> String {
    match oid.iter() {
        Some(arcs) => {
            let mut out = String::with_capacity(oid.as_bytes().len() * 3 + 2);
            let mut buf = [0u8; 20];
            for (i, arc) in arcs.enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(decimal_u64(arc, &mut buf));
            }
            out
        }
        None => oid.to_id_string(),
    }
}

/// Decimal digits of `v`, written at the end of `buf`.
fn decimal_u64(mut v: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// OpenSSL short names of the attribute types we render by name.
fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.13" => "description",
        "2.5.4.15" => "businessCategory",
        "2.5.4.17" => "postalCode",
        "2.5.4.18" => "postOfficeBox",
        "2.5.4.20" => "telephoneNumber",
        "2.5.4.41" => "name",
        "2.5.4.42" => "GN",
        "2.5.4.43" => "initials",
        "2.5.4.44" => "generationQualifier",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.65" => "pseudonym",
        "2.5.4.72" => "role",
        "2.5.4.97" => "organizationIdentifier",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "1.2.840.113549.1.9.2" => "unstructuredName",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionL",
        "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionST",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
        _ => return None,
    })
}

// ---------------------------------------------------------------- serial, hex

/// Decimal of a DER INTEGER's content bytes (two's complement, any length).
pub fn serial_decimal(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "0".to_string();
    }
    let negative = bytes[0] & 0x80 != 0;
    // Fast path: serials of up to 16 bytes (all RFC 5280 serials but 17..20-byte
    // ones) fit an i128.
    if bytes.len() <= 16 {
        let fill = if negative { 0xff } else { 0x00 };
        let mut be = [fill; 16];
        be[16 - bytes.len()..].copy_from_slice(bytes);
        return i128::from_be_bytes(be).to_string();
    }
    let mut mag: Vec<u8> = bytes.to_vec();
    if negative {
        // magnitude = two's complement = !x + 1
        for b in mag.iter_mut() {
            *b = !*b;
        }
        for b in mag.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
    }
    // Repeated division by 10^9 over base-256 digits.
    let mut digits: Vec<u32> = Vec::new(); // base 1e9 limbs, least significant first
    let mut mag: Vec<u8> = mag.into_iter().skip_while(|b| *b == 0).collect();
    while !mag.is_empty() {
        let mut rem: u64 = 0;
        let mut next = Vec::with_capacity(mag.len());
        for &b in &mag {
            let cur = (rem << 8) | u64::from(b);
            let q = cur / 1_000_000_000;
            rem = cur % 1_000_000_000;
            if !(next.is_empty() && q == 0) {
                next.push(q as u8);
            }
        }
        digits.push(rem as u32);
        mag = next;
    }
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    match digits.split_last() {
        None => return "0".to_string(),
        Some((top, rest)) => {
            let _ = write!(out, "{top}");
            for d in rest.iter().rev() {
                let _ = write!(out, "{d:09}");
            }
        }
    }
    out
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex without separators (a table lookup: `write!` per byte was
/// measurable for the fingerprint of every certificate).
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Lowercase hex, `:`-separated.
pub fn hex_colon(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, &b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(b & 0xf)]));
    }
    out
}

// ---------------------------------------------------------------- SANs

fn subject_alt_names(cert: &X509Certificate<'_>) -> (Vec<String>, Vec<String>) {
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    for ext in cert.extensions() {
        let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() else {
            continue;
        };
        for name in &san.general_names {
            if dns.len() + ips.len() >= MAX_SANS {
                return (dns, ips);
            }
            match name {
                GeneralName::DNSName(s) => dns.push(bounded(s, MAX_DN_VALUE_LEN)),
                GeneralName::IPAddress(b) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*b) {
                        ips.push(Ipv4Addr::from(v4).to_string());
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*b) {
                        ips.push(Ipv6Addr::from(v6).to_string());
                    }
                }
                GeneralName::Invalid(tag, data) if tag.0 == 2 => {
                    dns.push(bounded(&String::from_utf8_lossy(data), MAX_DN_VALUE_LEN));
                }
                _ => {}
            }
        }
    }
    (dns, ips)
}

// ---------------------------------------------------------------- keys

fn key_info(spki: &SubjectPublicKeyInfo<'_>) -> (KeyAlgorithm, u32) {
    let alg = dotted(&spki.algorithm.algorithm);
    let key = spki.subject_public_key.data.as_ref();
    match alg.as_str() {
        // rsaEncryption, RSASSA-PSS keys
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => {
            (KeyAlgorithm::Rsa, first_integer_bits(key).unwrap_or(0))
        }
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| dotted(&o));
            let bits = match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") | Some("1.3.132.0.10") => 256,
                Some("1.3.132.0.34") => 384,
                Some("1.3.132.0.35") => 521,
                Some("1.2.840.10045.3.1.1") => 192,
                Some("1.3.132.0.33") => 224,
                Some("1.3.36.3.3.2.8.1.1.7") => 256,
                Some("1.3.36.3.3.2.8.1.1.11") => 384,
                Some("1.3.36.3.3.2.8.1.1.13") => 512,
                // Unknown or explicit curve: derive from an uncompressed point.
                _ => match key {
                    [4, rest @ ..] => u32::try_from(rest.len() * 4).unwrap_or(0),
                    _ => 0,
                },
            };
            (KeyAlgorithm::Ecdsa, bits)
        }
        "1.3.101.112" => (KeyAlgorithm::Ed25519, 256),
        "1.3.101.113" => (KeyAlgorithm::Ed448, 456),
        "1.2.840.10040.4.1" => {
            // Dss-Parms ::= SEQUENCE { p INTEGER, q INTEGER, g INTEGER }
            let bits = spki
                .algorithm
                .parameters
                .as_ref()
                .filter(|p| p.header.tag() == Tag::Sequence)
                .and_then(|p| integer_bits(p.data))
                .unwrap_or(0);
            (KeyAlgorithm::Dsa, bits)
        }
        _ => (KeyAlgorithm::Unknown, 0),
    }
}

/// Bits of the first INTEGER inside a DER SEQUENCE (RSA modulus).
fn first_integer_bits(der: &[u8]) -> Option<u32> {
    let (tag, _, rest) = super::der::header(der)?;
    if tag != 0x30 {
        return None;
    }
    integer_bits(rest)
}

/// Bits of the INTEGER at the start of `der`.
fn integer_bits(der: &[u8]) -> Option<u32> {
    let (tag, len, rest) = super::der::header(der)?;
    if tag != 0x02 {
        return None;
    }
    let content = rest.get(..len?)?;
    let content: &[u8] = {
        let skip = content.iter().take_while(|b| **b == 0).count();
        &content[skip..]
    };
    let (first, _) = content.split_first()?;
    let bits = (content.len() - 1)
        .checked_mul(8)?
        .checked_add(8 - first.leading_zeros() as usize)?;
    u32::try_from(bits).ok()
}

// ---------------------------------------------------------------- signature

/// Well-known signature algorithm name (OpenSSL's long names), else the dotted OID.
pub fn signature_algorithm_name(oid: &Oid<'_>) -> String {
    let dotted = dotted(oid);
    let name = match dotted.as_str() {
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "ED25519",
        "1.3.101.113" => "ED448",
        "1.2.840.10040.4.3" => "dsaWithSHA1",
        "2.16.840.1.101.3.4.3.1" => "dsa_with_SHA224",
        "2.16.840.1.101.3.4.3.2" => "dsa_with_SHA256",
        _ => return dotted,
    };
    name.to_string()
}

/// Subject == issuer and the certificate's signature verifies with its own key.
/// When the signature algorithm is one ring cannot verify (MD5, P-521, Ed448,
/// RSASSA-PSS with a salt length other than the digest length, ...), a
/// subject == issuer certificate counts as self-signed unless its authority key
/// identifier names another key.
fn is_self_signed(
    cert: &X509Certificate<'_>,
    subject: &DistinguishedName,
    issuer: &DistinguishedName,
) -> bool {
    let same_name =
        cert.subject().as_raw() == cert.issuer().as_raw() || subject.rendered == issuer.rendered;
    if !same_name {
        return false;
    }
    match cert.verify_signature(None) {
        Ok(()) => true,
        Err(X509Error::SignatureUnsupportedAlgorithm) => key_ids_compatible(cert),
        // ring verifies RSASSA-PSS only with salt length == digest length.
        Err(_) if dotted(&cert.signature_algorithm.algorithm) == "1.2.840.113549.1.1.10" => {
            key_ids_compatible(cert)
        }
        Err(_) => legacy_rsa_verifies(cert),
    }
}

/// ring's default RSA verifiers reject keys under 2048 bits for SHA-2; retry
/// with the legacy 1024-bit ones (old self-signed roots exist).
fn legacy_rsa_verifies(cert: &X509Certificate<'_>) -> bool {
    use ring::signature as sig;
    let alg: &dyn sig::VerificationAlgorithm =
        match dotted(&cert.signature_algorithm.algorithm).as_str() {
            "1.2.840.113549.1.1.11" => &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            "1.2.840.113549.1.1.13" => &sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
            _ => return false,
        };
    let key = sig::UnparsedPublicKey::new(alg, cert.public_key().subject_public_key.data.as_ref());
    key.verify(
        cert.tbs_certificate.as_ref(),
        cert.signature_value.data.as_ref(),
    )
    .is_ok()
}

fn key_ids_compatible(cert: &X509Certificate<'_>) -> bool {
    let mut ski = None;
    let mut aki = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => ski = Some(k.0),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                aki = a.key_identifier.as_ref().map(|k| k.0)
            }
            _ => {}
        }
    }
    match (aki, ski) {
        (Some(a), Some(s)) => a == s,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::string::{BmpString, Ia5String, PrintableString, TeletexString, UniversalString};
    use rcgen::{
        date_time_ymd, BasicConstraints, CertificateParams, DnType, DnValue, IsCa, Issuer, KeyPair,
        SerialNumber, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_ED25519,
    };
    use x509_parser::prelude::FromDer;

    fn params(cn: &str) -> CertificateParams {
        let mut p = CertificateParams::new(vec![]).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        p
    }

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let b = (len as u32).to_be_bytes();
            let skip = b.iter().take_while(|x| **x == 0).count();
            out.push(0x80 | (4 - skip) as u8);
            out.extend_from_slice(&b[skip..]);
        }
        out.extend_from_slice(content);
        out
    }

    /// (OID content bytes, value tag, value bytes).
    type Atv<'a> = (&'a [u8], u8, &'a [u8]);

    /// Name DER from RDNs of attribute type-and-values.
    fn name_der(rdns: &[&[Atv<'_>]]) -> Vec<u8> {
        let mut seq = Vec::new();
        for rdn in rdns {
            let mut set = Vec::new();
            for (oid, tag, value) in rdn.iter() {
                let mut atv = tlv(0x06, oid);
                atv.extend(tlv(*tag, value));
                set.extend(tlv(0x30, &atv));
            }
            seq.extend(tlv(0x31, &set));
        }
        tlv(0x30, &seq)
    }

    const CN: &[u8] = &[0x55, 0x04, 0x03];
    const O: &[u8] = &[0x55, 0x04, 0x0a];
    const OU: &[u8] = &[0x55, 0x04, 0x0b];
    const C: &[u8] = &[0x55, 0x04, 0x06];

    fn dn_of(der: &[u8]) -> DistinguishedName {
        let (_, name) = X509Name::from_der(der).expect("test name parses");
        distinguished_name(&name)
    }

    #[test]
    fn summarizes_every_field_of_an_ecdsa_ca() {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = CertificateParams::new(vec![
            "web.example.com".to_string(),
            "192.0.2.7".to_string(),
            "2001:db8::1".to_string(),
        ])
        .unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CountryName, "DE");
        p.distinguished_name
            .push(DnType::StateOrProvinceName, "Berlin");
        p.distinguished_name.push(DnType::LocalityName, "Mitte");
        p.distinguished_name
            .push(DnType::OrganizationName, "Example");
        p.distinguished_name
            .push(DnType::OrganizationalUnitName, "Ops");
        p.distinguished_name
            .push(DnType::CommonName, "web.example.com");
        p.serial_number = Some(SerialNumber::from_slice(&[0x49, 0x96, 0x02, 0xd2]));
        p.not_before = date_time_ymd(1950, 1, 1);
        p.not_after = date_time_ymd(9999, 12, 31);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = p.self_signed(&key).unwrap();
        let der = cert.der().to_vec();

        let pc = summarize(&der).unwrap();
        assert_eq!(
            pc.subject.rendered,
            "CN=web.example.com,OU=Ops,O=Example,L=Mitte,ST=Berlin,C=DE"
        );
        assert_eq!(pc.subject.c, "DE");
        assert_eq!(pc.subject.st, "Berlin");
        assert_eq!(pc.subject.l, "Mitte");
        assert_eq!(pc.subject.o, "Example");
        assert_eq!(pc.subject.ou, "Ops");
        assert_eq!(pc.subject.cn, "web.example.com");
        assert_eq!(pc.issuer, pc.subject);
        assert_eq!(pc.serial_number, "1234567890");
        assert_eq!(pc.serial_hex, "49:96:02:d2");
        assert_eq!(pc.not_before, -631_152_000);
        assert_eq!(pc.not_after, 253_402_214_400);
        assert_eq!(
            pc.sha256_fingerprint,
            hex(ring::digest::digest(&ring::digest::SHA256, &der).as_ref())
        );
        assert_eq!(pc.sha256_fingerprint.len(), 64);
        assert_eq!(pc.dns_names, vec!["web.example.com"]);
        assert_eq!(pc.ip_addresses, vec!["192.0.2.7", "2001:db8::1"]);
        assert_eq!(pc.key_algorithm, KeyAlgorithm::Ecdsa);
        assert_eq!(pc.key_bits, 256);
        assert_eq!(pc.signature_algorithm, "ecdsa-with-SHA256");
        assert!(pc.is_ca);
        assert!(pc.self_signed);
        assert_eq!(&*pc.der, der.as_slice());
    }

    #[test]
    fn leaf_signed_by_ca_is_not_self_signed() {
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
        let mut ca_params = params("Example Issuing CA");
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, "Example");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        let leaf = params("leaf").signed_by(&leaf_key, &issuer).unwrap();
        let pc = summarize(leaf.der()).unwrap();
        assert_eq!(pc.issuer.rendered, "O=Example,CN=Example Issuing CA");
        assert_eq!(pc.issuer.cn, "Example Issuing CA");
        assert_eq!(pc.signature_algorithm, "ecdsa-with-SHA384");
        assert_eq!(pc.key_algorithm, KeyAlgorithm::Ed25519);
        assert_eq!(pc.key_bits, 256);
        assert!(!pc.self_signed);
        assert!(!pc.is_ca);

        let ca = summarize(ca_cert.der()).unwrap();
        assert_eq!(ca.key_bits, 384);
        assert!(ca.self_signed && ca.is_ca);
    }

    #[test]
    fn same_name_but_other_key_is_not_self_signed() {
        let ca_key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        let issuer = Issuer::new(params("twin"), ca_key);
        let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        let cert = params("twin").signed_by(&key, &issuer).unwrap();
        let pc = summarize(cert.der()).unwrap();
        assert_eq!(pc.subject, pc.issuer);
        assert!(!pc.self_signed);
    }

    #[test]
    fn hostile_subjects_survive_faithfully() {
        let cn = "a\"b\\c\nd<script>alert(1)</script>\u{202e}gnp.exe\u{1F600}";
        let o = "O, with + specials; and = signs";
        let ou = " #lead";
        let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        let mut p = params(cn);
        p.distinguished_name.push(DnType::OrganizationName, o);
        p.distinguished_name
            .push(DnType::OrganizationalUnitName, ou);
        let pc = summarize(p.self_signed(&key).unwrap().der()).unwrap();
        assert_eq!(pc.subject.cn, cn);
        assert_eq!(pc.subject.o, o);
        assert_eq!(pc.subject.ou, ou);
        assert_eq!(
            pc.subject.rendered,
            "OU=\\ #lead,O=O\\, with \\+ specials\\; and = signs,\
             CN=a\\\"b\\\\c\\0Ad\\<script\\>alert(1)\\</script\\>\u{202e}gnp.exe\u{1F600}"
        );
    }

    #[test]
    fn string_types_decode() {
        let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        let mut p = CertificateParams::new(vec![]).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(
            DnType::CommonName,
            DnValue::BmpString(BmpString::try_from("Zürich Ω").unwrap()),
        );
        p.distinguished_name.push(
            DnType::OrganizationName,
            DnValue::UniversalString(UniversalString::try_from("emoji \u{1F600}").unwrap()),
        );
        p.distinguished_name.push(
            DnType::OrganizationalUnitName,
            DnValue::TeletexString(TeletexString::try_from("teletex").unwrap()),
        );
        p.distinguished_name.push(
            DnType::CountryName,
            DnValue::PrintableString(PrintableString::try_from("CH").unwrap()),
        );
        p.distinguished_name.push(
            DnType::LocalityName,
            DnValue::Ia5String(Ia5String::try_from("ia5").unwrap()),
        );
        let pc = summarize(p.self_signed(&key).unwrap().der()).unwrap();
        assert_eq!(pc.subject.cn, "Zürich Ω");
        assert_eq!(pc.subject.o, "emoji \u{1F600}");
        assert_eq!(pc.subject.ou, "teletex");
        assert_eq!(pc.subject.c, "CH");
        assert_eq!(pc.subject.l, "ia5");
    }

    #[test]
    fn raw_names_first_values_last_cn_and_odd_encodings() {
        let der = name_der(&[
            &[(C, 0x13, b"US")],
            &[(O, 0x14, &[0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72])], // T61 Latin-1 "Müller"
            &[(OU, 0x0c, &[0x61, 0xff, 0x62])],                  // invalid UTF-8
            &[(OU, 0x0c, b"second")],
            &[(CN, 0x0c, b"first"), (O, 0x0c, b"mv")], // multi-valued RDN
            &[(CN, 0x1e, &[0x00, 0x41, 0x00])],        // odd-length BMPString
            &[(CN, 0x02, &[0x05])],                    // INTEGER value
            &[(&[0x2a, 0x03], 0x0c, b"x")],            // unknown OID 1.2.3
        ]);
        let dn = dn_of(&der);
        assert_eq!(dn.c, "US");
        assert_eq!(dn.o, "Müller");
        assert_eq!(dn.ou, "a\u{fffd}b");
        // Go's CommonName: the last CN attribute with a string value.
        assert_eq!(dn.cn, "A\u{fffd}");
        assert_eq!(
            dn.rendered,
            "1.2.3=#0C0178,CN=#020105,CN=A\u{fffd},O=mv+CN=first,OU=second,OU=a\u{fffd}b,O=Müller,C=US"
        );
        // Empty name.
        let empty = dn_of(&[0x30, 0x00]);
        assert_eq!(empty, DistinguishedName::default());
    }

    #[test]
    fn empty_first_value_wins_and_huge_names_are_bounded() {
        let dn = dn_of(&name_der(&[&[(O, 0x0c, b"")], &[(O, 0x0c, b"second")]]));
        assert_eq!(dn.o, "");
        assert_eq!(dn.rendered, "O=second,O=");

        let long = vec![b'x'; 3 * MAX_DN_VALUE_LEN];
        let atv: [Atv<'_>; 1] = [(OU, 0x0c, &long)];
        let rdns: Vec<&[Atv<'_>]> = vec![&atv[..]; 50];
        let dn = dn_of(&name_der(&rdns));
        assert!(dn.ou.len() <= MAX_DN_VALUE_LEN + 3);
        assert!(dn.rendered.len() <= MAX_DN_RENDERED_LEN + 3);
        assert!(dn.rendered.starts_with("OU=xxx"));
    }

    #[test]
    fn rfc2253_escaping_edge_cases() {
        assert_eq!(escape_rfc2253(""), "");
        assert_eq!(escape_rfc2253("#"), "#"); // OpenSSL: only the "last" rule applies
        assert_eq!(escape_rfc2253(" "), "\\ ");
        assert_eq!(escape_rfc2253("##"), "\\##");
        assert_eq!(escape_rfc2253("a b"), "a b");
        assert_eq!(escape_rfc2253("x\u{7f}\u{1}"), "x\\7F\\01");
        assert_eq!(escape_rfc2253("é,"), "é\\,");
    }

    #[test]
    fn serial_numbers() {
        assert_eq!(serial_decimal(&[]), "0");
        assert_eq!(serial_decimal(&[0]), "0");
        assert_eq!(serial_decimal(&[0, 0, 0]), "0");
        assert_eq!(serial_decimal(&[0x00, 0xff]), "255");
        assert_eq!(serial_decimal(&[0x49, 0x96, 0x02, 0xd2]), "1234567890");
        assert_eq!(serial_decimal(&[0x3b, 0x9a, 0xca, 0x00]), "1000000000");
        assert_eq!(serial_decimal(&[0xff]), "-1");
        assert_eq!(serial_decimal(&[0x80]), "-128");
        assert_eq!(serial_decimal(&[0xff, 0x00]), "-256");
        // 2^160 - 1 (20 bytes of 0xff, positive via a leading zero)
        let mut max = vec![0u8];
        max.extend([0xff; 20]);
        assert_eq!(
            serial_decimal(&max),
            "1461501637330902918203684832716283019655932542975"
        );
        // Long serials work (bounded by MAX_SERIAL_LEN in summarize).
        let long = vec![0x7f; MAX_SERIAL_LEN];
        assert!(serial_decimal(&long).len() > 2000);
        assert_eq!(hex_colon(&[0x00, 0xab]), "00:ab");
        assert_eq!(hex_colon(&[]), "");
    }

    #[test]
    fn rcgen_serial_with_leading_zero_byte() {
        let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        let mut p = params("s");
        p.serial_number = Some(SerialNumber::from_slice(&[0x00, 0x80, 0x01]));
        let pc = summarize(p.self_signed(&key).unwrap().der()).unwrap();
        assert_eq!(pc.serial_hex, "00:80:01");
        assert_eq!(pc.serial_number, "32769");
    }

    #[test]
    fn garbage_and_trailing_bytes() {
        for bad in [&b""[..], b"\x30", b"\x30\x03\x02\x01\x01", b"hello world"] {
            let e = summarize(bad).unwrap_err();
            assert_eq!(e.reason, Reason::BadDer);
            assert!(!e.message.is_empty() && e.message.len() <= MAX_MESSAGE_LEN + 3);
        }
        let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        let der = params("t").self_signed(&key).unwrap().der().to_vec();
        let mut padded = der.clone();
        padded.extend_from_slice(b"trailing aux data");
        let a = summarize(&der).unwrap();
        let b = summarize(&padded).unwrap();
        assert_eq!(a, b);
        assert_eq!(&*b.der, der.as_slice());
    }

    #[test]
    fn signature_names() {
        let oid = |s: &str| {
            Oid::from(
                &s.split('.')
                    .map(|p| p.parse().unwrap())
                    .collect::<Vec<u64>>()[..],
            )
            .unwrap()
        };
        assert_eq!(
            signature_algorithm_name(&oid("1.2.840.113549.1.1.11")),
            "sha256WithRSAEncryption"
        );
        assert_eq!(
            signature_algorithm_name(&oid("1.2.840.113549.1.1.4")),
            "md5WithRSAEncryption"
        );
        assert_eq!(
            signature_algorithm_name(&oid("1.2.840.10045.4.3.4")),
            "ecdsa-with-SHA512"
        );
        assert_eq!(signature_algorithm_name(&oid("1.2.3.4")), "1.2.3.4");
    }
}
