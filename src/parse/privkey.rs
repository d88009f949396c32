//! Private keys, only to compare them with certificates: which PEM private-key
//! blocks a file holds, and the *public* key of an unencrypted one (PKCS#8,
//! PKCS#1 RSA, SEC1 EC), as a digest comparable with a certificate's
//! SubjectPublicKeyInfo ([`cert_public_digest`]).
//!
//! Key bytes are decoded only in memory, into buffers that are zeroed when
//! dropped ([`Secret`]); nothing here returns, prints or logs them. Only SHA-256
//! digests of public keys leave this module.

use base64::Engine as _;

/// A decoded private-key buffer, zeroed on drop.
struct Secret(Vec<u8>);

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}

/// What the private-key blocks of a file are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyScan {
    /// PEM private-key blocks (any label ending in `PRIVATE KEY`).
    pub blocks: usize,
    /// Of which encrypted (`ENCRYPTED PRIVATE KEY`, or `Proc-Type: 4,ENCRYPTED`).
    pub encrypted: usize,
    /// SHA-256 of the public key of the first unencrypted key that could be
    /// decoded (see [`cert_public_digest`] for the form).
    pub public_digest: Option<[u8; 32]>,
}

/// Most private-key blocks looked at in one file.
const MAX_BLOCKS: usize = 16;
/// Largest private-key block body decoded (bytes of base64).
const MAX_BODY: usize = 64 * 1024;

/// Scan `data` for PEM private-key blocks; decode the first unencrypted one's
/// public key.
pub fn scan(data: &[u8]) -> KeyScan {
    let mut out = KeyScan::default();
    let mut rest = data;
    while let Some(i) = find(rest, b"-----BEGIN ") {
        if out.blocks >= MAX_BLOCKS {
            break;
        }
        let after = &rest[i + 11..];
        let Some(end_label) = find(after, b"-----") else {
            break;
        };
        let label = &after[..end_label];
        let body_start = &after[end_label + 5..];
        if !label.ends_with(b"PRIVATE KEY") || label.len() > 40 {
            rest = body_start;
            continue;
        }
        let mut end_marker = b"-----END ".to_vec();
        end_marker.extend_from_slice(label);
        end_marker.extend_from_slice(b"-----");
        let Some(body_end) = find(body_start, &end_marker) else {
            break;
        };
        let body = &body_start[..body_end];
        rest = &body_start[body_end + end_marker.len()..];
        out.blocks += 1;
        let proc_encrypted = find(body, b"Proc-Type: 4,ENCRYPTED").is_some();
        if label.starts_with(b"ENCRYPTED") || proc_encrypted {
            out.encrypted += 1;
            continue;
        }
        if out.public_digest.is_some() || body.len() > MAX_BODY {
            continue;
        }
        // Base64 of the lines that are not headers (`Name: value`).
        let mut b64 = Secret(Vec::with_capacity(body.len()));
        for line in body.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.contains(&b':') {
                continue;
            }
            b64.0
                .extend(line.iter().filter(|b| !b.is_ascii_whitespace()));
        }
        let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&b64.0) else {
            continue;
        };
        let der = Secret(der);
        let public = match label {
            b"RSA PRIVATE KEY" => rsa_private(&der.0),
            b"EC PRIVATE KEY" => ec_private(&der.0),
            b"PRIVATE KEY" => pkcs8(&der.0),
            _ => None,
        };
        out.public_digest = public.map(|p| digest(&p));
    }
    out
}

/// The comparable form of a public key.
#[derive(Debug, PartialEq, Eq)]
enum Public {
    /// Modulus (leading zeros stripped) and exponent.
    Rsa(Vec<u8>, Vec<u8>),
    /// The EC point as encoded (uncompressed `04 || x || y` in practice).
    Ec(Vec<u8>),
    Ed25519(Vec<u8>),
}

fn digest(p: &Public) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    match p {
        Public::Rsa(n, e) => {
            ctx.update(b"rsa\0");
            ctx.update(&(n.len() as u32).to_be_bytes());
            ctx.update(n);
            ctx.update(e);
        }
        Public::Ec(pt) => {
            ctx.update(b"ec\0");
            ctx.update(pt);
        }
        Public::Ed25519(k) => {
            ctx.update(b"ed25519\0");
            ctx.update(k);
        }
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    super::pem::find(hay, needle, 0)
}

/// Whether `data` has a PEM private-key block at all (a fast pre-check: the
/// search skips base64 bodies, `-` is not a base64 byte).
pub fn has_private_key(data: &[u8]) -> bool {
    let mut from = 0;
    while let Some(i) = super::pem::find(data, b"-----BEGIN ", from) {
        let label = &data[i + 11..];
        let end = label.iter().take(64).position(|&b| b == b'\n' || b == b'-');
        if let Some(end) = end {
            if label[..end].ends_with(b"PRIVATE KEY") {
                return true;
            }
        }
        from = i + 11;
    }
    false
}

/// One DER TLV: (tag, value, rest). Definite lengths up to 4 bytes.
fn tlv(d: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, d) = d.split_first()?;
    let (&l0, d) = d.split_first()?;
    let (len, d) = if l0 < 0x80 {
        (l0 as usize, d)
    } else {
        let n = (l0 & 0x7f) as usize;
        if n == 0 || n > 4 || d.len() < n {
            return None;
        }
        let len = d[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        (len, &d[n..])
    };
    if d.len() < len {
        return None;
    }
    Some((tag, &d[..len], &d[len..]))
}

fn strip_zeros(b: &[u8]) -> Vec<u8> {
    let i = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b[i..].to_vec()
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// RSAPrivateKey (PKCS#1): version, modulus, publicExponent, ...
fn rsa_private(d: &[u8]) -> Option<Public> {
    let (0x30, seq, _) = tlv(d)? else {
        return None;
    };
    let (0x02, _version, rest) = tlv(seq)? else {
        return None;
    };
    let (0x02, n, rest) = tlv(rest)? else {
        return None;
    };
    let (0x02, e, _) = tlv(rest)? else {
        return None;
    };
    Some(Public::Rsa(strip_zeros(n), strip_zeros(e)))
}

/// ECPrivateKey (SEC1): version, privateKey, [0] parameters, [1] publicKey.
fn ec_private(d: &[u8]) -> Option<Public> {
    let (0x30, seq, _) = tlv(d)? else {
        return None;
    };
    let mut rest = seq;
    while !rest.is_empty() {
        let (tag, v, r) = tlv(rest)?;
        rest = r;
        if tag == 0xa1 {
            let (0x03, bits, _) = tlv(v)? else {
                return None;
            };
            // BIT STRING: unused-bits byte, then the point.
            let (&0, point) = bits.split_first()? else {
                return None;
            };
            return Some(Public::Ec(point.to_vec()));
        }
    }
    None
}

/// PrivateKeyInfo / OneAsymmetricKey (PKCS#8, RFC 5958).
fn pkcs8(d: &[u8]) -> Option<Public> {
    let (0x30, seq, _) = tlv(d)? else {
        return None;
    };
    let (0x02, _version, rest) = tlv(seq)? else {
        return None;
    };
    let (0x30, alg, rest) = tlv(rest)? else {
        return None;
    };
    let (0x06, oid, _) = tlv(alg)? else {
        return None;
    };
    let (0x04, key, rest) = tlv(rest)? else {
        return None;
    };
    match oid {
        OID_RSA => rsa_private(key),
        OID_EC => ec_private(key),
        OID_ED25519 => {
            // v2 carries the public key as [1]; else derive it from the seed.
            let mut r = rest;
            while !r.is_empty() {
                let (tag, v, rr) = tlv(r)?;
                r = rr;
                if tag == 0x81 {
                    let (&0, k) = v.split_first()? else {
                        return None;
                    };
                    return Some(Public::Ed25519(k.to_vec()));
                }
            }
            let (0x04, seed, _) = tlv(key)? else {
                return None;
            };
            let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(seed).ok()?;
            use ring::signature::KeyPair as _;
            Some(Public::Ed25519(pair.public_key().as_ref().to_vec()))
        }
        _ => None,
    }
}

/// SHA-256 of a certificate's public key in the same form as
/// [`KeyScan::public_digest`]; `None` for other algorithms or bad DER.
pub fn cert_public_digest(cert_der: &[u8]) -> Option<[u8; 32]> {
    use x509_parser::prelude::FromDer as _;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(cert_der).ok()?;
    let spki = cert.public_key();
    let oid = spki.algorithm.algorithm.as_bytes();
    let bits: &[u8] = &spki.subject_public_key.data;
    let public = match oid {
        OID_RSA => {
            let (0x30, seq, _) = tlv(bits)? else {
                return None;
            };
            let (0x02, n, rest) = tlv(seq)? else {
                return None;
            };
            let (0x02, e, _) = tlv(rest)? else {
                return None;
            };
            Public::Rsa(strip_zeros(n), strip_zeros(e))
        }
        OID_EC => Public::Ec(bits.to_vec()),
        OID_ED25519 => Public::Ed25519(bits.to_vec()),
        _ => return None,
    };
    Some(digest(&public))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(alg: &'static rcgen::SignatureAlgorithm) -> (String, Vec<u8>) {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["k.example".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (key.serialize_pem(), cert.der().to_vec())
    }

    #[test]
    fn pkcs8_keys_match_their_certificates_and_not_others() {
        for alg in [
            &rcgen::PKCS_ECDSA_P256_SHA256,
            &rcgen::PKCS_ECDSA_P384_SHA384,
            &rcgen::PKCS_ED25519,
        ] {
            let (key, cert) = pair(alg);
            let (_, other) = pair(alg);
            let s = scan(key.as_bytes());
            assert_eq!(s.blocks, 1);
            assert_eq!(s.encrypted, 0);
            let d = s.public_digest.expect("decoded");
            assert_eq!(Some(d), cert_public_digest(&cert));
            assert_ne!(Some(d), cert_public_digest(&other));
        }
    }

    #[test]
    fn encrypted_and_hostile_blocks_are_counted_not_decoded() {
        let s = scan(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
        );
        assert_eq!((s.blocks, s.encrypted, s.public_digest), (1, 1, None));
        let s = scan(b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n");
        assert_eq!((s.blocks, s.encrypted), (1, 1));
        for bad in [
            &b"-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n"[..],
            b"-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n",
            b"-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n",
            b"-----BEGIN PRIVATE KEY-----\nno end",
            b"-----BEGIN ",
            b"",
        ] {
            let s = scan(bad);
            assert_eq!(s.public_digest, None);
        }
        assert_eq!(
            scan(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").blocks,
            0
        );
    }
}
