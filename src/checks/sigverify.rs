//! Signature verification with a process-wide cache: each distinct signature
//! (algorithm, public key, message, signature) is verified by *ring* once.
//!
//! rustls-webpki re-verifies every signature of a path on every call; chain
//! building also checks candidate issuers before the path is handed to it.
//! [`Cached`] wraps each of webpki's *ring* algorithms ([`ALGS`]) and answers
//! from a [`SigCache`] keyed by SHA-256 over the algorithm identifiers, the key,
//! the message and the signature, so the chain search ([`check`]) and webpki
//! share one verification per signature. The cache is sharded (16 mutexes:
//! verification runs on all cores), bounded ([`MAX_ENTRIES`]; a full shard is
//! emptied) and forgets entries not used during the last [`MAX_IDLE_SCANS`]
//! scans ([`SigCache::end_scan`]). The idle horizon is long on purpose: scans
//! that reuse cached verdicts do not touch the signatures behind them, and a
//! verdict re-judged later (its validity window ended) should find them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rustls::pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};

use super::facts::{Facts, SigCheck};

/// The *ring* algorithms of rustls-webpki (never aws-lc-rs).
pub static ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::ED25519,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    webpki::ring::RSA_PKCS1_3072_8192_SHA384,
    webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

const SHARDS: usize = 16;
/// Most cached results (all shards, about 100 bytes each); a full shard is
/// emptied.
pub const MAX_ENTRIES: usize = 1 << 18;
/// Scans an entry may stay unused before it is dropped.
pub const MAX_IDLE_SCANS: u64 = 64;

#[derive(Debug, Default)]
struct Shard {
    map: HashMap<[u8; 32], (bool, u64)>,
}

/// Verification results by signature digest, shared by all threads.
#[derive(Debug, Default)]
pub struct SigCache {
    shards: [Mutex<Shard>; SHARDS],
    generation: AtomicU64,
    verifications: AtomicU64,
}

impl SigCache {
    fn key(
        alg: &dyn SignatureVerificationAlgorithm,
        pk: &[u8],
        msg: &[u8],
        sig: &[u8],
    ) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [
            alg.public_key_alg_id().as_ref(),
            alg.signature_alg_id().as_ref(),
            pk,
            msg,
            sig,
        ] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let mut k = [0u8; 32];
        k.copy_from_slice(ctx.finish().as_ref());
        k
    }

    fn verify(
        &self,
        alg: &dyn SignatureVerificationAlgorithm,
        pk: &[u8],
        msg: &[u8],
        sig: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key = Self::key(alg, pk, msg, sig);
        let g = self.generation.load(Ordering::Relaxed);
        let shard = &self.shards[usize::from(key[0]) % SHARDS];
        if let Ok(mut s) = shard.lock() {
            if let Some(e) = s.map.get_mut(&key) {
                e.1 = g;
                return if e.0 { Ok(()) } else { Err(InvalidSignature) };
            }
        }
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let r = alg.verify_signature(pk, msg, sig);
        if let Ok(mut s) = shard.lock() {
            if s.map.len() >= MAX_ENTRIES / SHARDS {
                s.map.clear();
            }
            s.map.insert(key, (r.is_ok(), g));
        }
        r
    }

    /// Forget entries unused for [`MAX_IDLE_SCANS`] scans; start a new scan.
    pub fn end_scan(&self) {
        let g = self.generation.fetch_add(1, Ordering::Relaxed);
        for s in &self.shards {
            if let Ok(mut s) = s.lock() {
                s.map.retain(|_, e| g.wrapping_sub(e.1) < MAX_IDLE_SCANS);
            }
        }
    }

    /// Cached results.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.map.len()))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Signatures actually verified by *ring* so far (cache misses).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// The [`ALGS`] wrapped in this cache, for webpki.
    pub fn algorithms(&self) -> Vec<Cached<'_>> {
        ALGS.iter()
            .map(|&inner| Cached { inner, cache: self })
            .collect()
    }
}

/// One of [`ALGS`] answering from a [`SigCache`].
#[derive(Debug)]
pub struct Cached<'a> {
    inner: &'static dyn SignatureVerificationAlgorithm,
    cache: &'a SigCache,
}

impl SignatureVerificationAlgorithm for Cached<'_> {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        self.cache
            .verify(self.inner, public_key, message, signature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.inner.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.inner.signature_alg_id()
    }

    fn fips(&self) -> bool {
        self.inner.fips()
    }
}

/// Does `issuer`'s key sign `child`? The same algorithm selection as webpki
/// (public key and signature algorithm identifiers must match), through the
/// same cache, so webpki's later check of this signature is a cache hit.
pub fn check(cache: &SigCache, child: &Facts, issuer: &Facts) -> SigCheck {
    let (Some(signed), Some(key)) = (child.signed.as_ref(), issuer.key.as_ref()) else {
        return SigCheck::Invalid;
    };
    let mut found = false;
    for &alg in ALGS {
        if alg.public_key_alg_id().as_ref() != &key.alg[..]
            || alg.signature_alg_id().as_ref() != &signed.alg[..]
        {
            continue;
        }
        found = true;
        if cache
            .verify(alg, &key.key, signed.message(&child.der), &signed.sig)
            .is_ok()
        {
            return SigCheck::Valid;
        }
    }
    if found {
        SigCheck::Invalid
    } else {
        SigCheck::Unsupported
    }
}

/// The signed parts of a certificate, as webpki reads them.
#[derive(Debug, Clone)]
pub struct Signed {
    /// Byte range of the TBSCertificate TLV in the DER.
    tbs: (usize, usize),
    /// Content of the signatureAlgorithm SEQUENCE.
    alg: Box<[u8]>,
    /// The signature BIT STRING without its unused-bits octet.
    sig: Box<[u8]>,
}

impl Signed {
    fn message<'d>(&self, der: &'d [u8]) -> &'d [u8] {
        der.get(self.tbs.0..self.tbs.1).unwrap_or(&[])
    }
}

/// A SubjectPublicKeyInfo split as webpki reads it.
#[derive(Debug, Clone)]
pub struct Key {
    /// Content of the algorithm SEQUENCE.
    alg: Box<[u8]>,
    /// The subjectPublicKey BIT STRING without its unused-bits octet.
    key: Box<[u8]>,
}

/// One DER TLV: (tag, header length, content length). Definite lengths of at
/// most 4 octets only.
fn tlv(b: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *b.first()?;
    let l0 = *b.get(1)?;
    let (hdr, len) = if l0 < 0x80 {
        (2, usize::from(l0))
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(2 + i)?);
        }
        (2 + n, len)
    };
    if b.len() < hdr.checked_add(len)? {
        return None;
    }
    Some((tag, hdr, len))
}

fn bit_string(b: &[u8]) -> Option<Box<[u8]>> {
    let (tag, hdr, len) = tlv(b)?;
    if tag != 0x03 || len == 0 || b[hdr] != 0 {
        return None;
    }
    Some(b[hdr + 1..hdr + len].into())
}

/// Split a certificate: TBS range, signature algorithm, signature.
pub fn split_cert(der: &[u8]) -> Option<Signed> {
    let (tag, hdr, _) = tlv(der)?;
    if tag != 0x30 {
        return None;
    }
    let mut pos = hdr;
    let (t, h, l) = tlv(&der[pos..])?;
    if t != 0x30 {
        return None;
    }
    let tbs = (pos, pos + h + l);
    pos += h + l;
    let (t, h, l) = tlv(&der[pos..])?;
    if t != 0x30 {
        return None;
    }
    let alg: Box<[u8]> = der[pos + h..pos + h + l].into();
    pos += h + l;
    let sig = bit_string(&der[pos..])?;
    Some(Signed { tbs, alg, sig })
}

/// Split a SubjectPublicKeyInfo.
pub fn split_spki(spki: &[u8]) -> Option<Key> {
    let (tag, hdr, _) = tlv(spki)?;
    if tag != 0x30 {
        return None;
    }
    let inner = &spki[hdr..];
    let (t, h, l) = tlv(inner)?;
    if t != 0x30 {
        return None;
    }
    let alg: Box<[u8]> = inner[h..h + l].into();
    let key = bit_string(&inner[h + l..])?;
    Some(Key { alg, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_rejects_truncated_and_long_forms() {
        assert!(tlv(&[0x30]).is_none());
        assert!(tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
        assert!(tlv(&[0x30, 0x03, 1]).is_none());
        assert_eq!(tlv(&[0x30, 0x01, 5]), Some((0x30, 2, 1)));
        assert_eq!(tlv(&[0x30, 0x81, 0x01, 5]), Some((0x30, 3, 1)));
        assert!(split_cert(&[0x30, 0x00]).is_none());
        assert!(split_spki(&[]).is_none());
    }
}
