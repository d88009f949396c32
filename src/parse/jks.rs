//! Java keystores — JKS (`0xFEEDFEED`) and JCEKS (`0xCECECECE`) — → the
//! certificates of every entry, in entry order, each key entry's chain in chain
//! order (leaf first).
//!
//! Layout (big-endian, the format of `sun.security.provider.JavaKeyStore` and
//! `com.sun.crypto.provider.JceKeyStore`): magic `u32`, version `u32` (1 or 2),
//! entry count `u32`, the entries, then a 20-byte SHA-1 integrity digest.
//! An entry is a tag `u32`, an alias (`u16` length + modified UTF-8) and a
//! creation time `u64`, then:
//!
//! * tag 1, private key: protected key (`u32` length + bytes, skipped without
//!   being copied, decoded or kept), chain length `u32`, then per certificate
//!   (version 2: a `u16`-prefixed type name, `X.509`) a `u32`-prefixed DER.
//! * tag 2, trusted certificate: (version 2: the type name) one `u32`-prefixed DER.
//! * tag 3 (JCEKS only), secret key: a Java-serialised sealed object. Its
//!   length is not recorded, so reading stops there with `bad_jks` (the
//!   certificates before it are kept); integrity can then not be checked either.
//!
//! Integrity: the digest is `SHA-1(UTF-16BE(password) ‖ "Mighty Aphrodite" ‖
//! every preceding byte)`. Certificates are stored in the clear, but they are
//! only reported once a configured password reproduces the digest, so a wrong
//! password is [`Reason::BadPassphrase`] as for PKCS#12. Anything structurally
//! wrong (truncation, bad lengths, unknown tags, trailing bytes) is
//! [`Reason::BadJks`].
//!
//! Bounded: the store, the entry count, the chain length and each certificate
//! are capped; lengths are checked against the remaining bytes before use.

use ring::digest::{Context, SHA1_FOR_LEGACY_USE_ONLY};

use super::{ParseError, ParseOptions};
use crate::model::Reason;

/// JKS magic number.
pub const JKS_MAGIC: u32 = 0xFEED_FEED;
/// JCEKS magic number.
pub const JCEKS_MAGIC: u32 = 0xCECE_CECE;
/// Largest keystore read (bytes).
pub const MAX_KEYSTORE_LEN: usize = 16 * 1024 * 1024;
/// Most entries read from one keystore.
pub const MAX_ENTRIES: u32 = 10_000;
/// Longest certificate chain of one key entry.
pub const MAX_CHAIN_LEN: u32 = 64;
/// Largest single certificate (bytes).
pub const MAX_CERT_LEN: u32 = 1024 * 1024;
/// Most certificates returned from one keystore.
pub const MAX_CERTS: usize = 10_000;

const DIGEST_LEN: usize = 20;
const WHITENER: &[u8] = b"Mighty Aphrodite";

/// Which Java keystore flavour the bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Jks,
    Jceks,
}

impl Flavour {
    fn name(self) -> &'static str {
        match self {
            Flavour::Jks => "JKS",
            Flavour::Jceks => "JCEKS",
        }
    }
}

/// The flavour, when `data` starts with a JKS or JCEKS magic number.
pub fn sniff(data: &[u8]) -> Option<Flavour> {
    match data.get(..4)? {
        [0xFE, 0xED, 0xFE, 0xED] => Some(Flavour::Jks),
        [0xCE, 0xCE, 0xCE, 0xCE] => Some(Flavour::Jceks),
        _ => None,
    }
}

/// The certificates of a keystore (DER, in entry and chain order) plus, at most,
/// one structural error after which reading stopped.
#[derive(Debug, Default)]
pub struct Keystore {
    pub certs: Vec<Vec<u8>>,
    /// A problem found after some certificates were read (JCEKS secret-key entry).
    pub partial: Option<ParseError>,
}

fn bad(flavour: &str, msg: impl AsRef<str>) -> ParseError {
    ParseError::new(Reason::BadJks, format!("{flavour}: {}", msg.as_ref()), None)
}

/// Reads big-endian fields with bounds checks; every error names the offset.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| {
                format!(
                    "truncated: {what} needs {n} bytes at offset {}, {} left",
                    self.pos,
                    self.data.len().saturating_sub(self.pos)
                )
            })?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u16(&mut self, what: &str) -> Result<u16, String> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn skip_utf(&mut self, what: &str) -> Result<(), String> {
        let n = self.u16(what)?;
        self.take(usize::from(n), what).map(|_| ())
    }
    /// A `u32`-prefixed certificate, its length capped.
    fn cert(&mut self, version: u32) -> Result<&'a [u8], String> {
        if version == 2 {
            let n = self.u16("certificate type")?;
            let t = self.take(usize::from(n), "certificate type")?;
            if t != b"X.509" {
                return Err(format!(
                    "certificate type {:?} at offset {} is not X.509",
                    String::from_utf8_lossy(&t[..t.len().min(32)]),
                    self.pos - t.len()
                ));
            }
        }
        let len = self.u32("certificate length")?;
        if len > MAX_CERT_LEN {
            return Err(format!(
                "certificate of {len} bytes at offset {} exceeds the {MAX_CERT_LEN}-byte cap",
                self.pos
            ));
        }
        self.take(len as usize, "certificate")
    }
}

/// Walk the entries of `body` (the store without its digest).
fn walk(body: &[u8], flavour: Flavour) -> Result<Keystore, String> {
    let mut r = Reader { data: body, pos: 4 };
    let version = r.u32("version")?;
    if version != 1 && version != 2 {
        return Err(format!("unsupported version {version}"));
    }
    let count = r.u32("entry count")?;
    if count > MAX_ENTRIES {
        return Err(format!("{count} entries exceed the cap of {MAX_ENTRIES}"));
    }
    let mut ks = Keystore::default();
    for i in 0..count {
        let tag_at = r.pos;
        let tag = r.u32("entry tag")?;
        r.skip_utf("alias")?;
        r.take(8, "timestamp")?;
        match tag {
            1 => {
                let key_len = r.u32("protected key length")?;
                // The protected key is skipped: never copied, decoded or kept.
                r.take(key_len as usize, "protected key")?;
                let chain = r.u32("chain length")?;
                if chain > MAX_CHAIN_LEN {
                    return Err(format!(
                        "entry {i}: chain of {chain} certificates exceeds the cap of {MAX_CHAIN_LEN}"
                    ));
                }
                for _ in 0..chain {
                    let der = r.cert(version)?;
                    push(&mut ks, der)?;
                }
            }
            2 => {
                let der = r.cert(version)?;
                push(&mut ks, der)?;
            }
            3 if flavour == Flavour::Jceks => {
                ks.partial = Some(bad(
                    flavour.name(),
                    format!(
                        "entry {i} at offset {tag_at} is a secret-key entry (a Java-serialised \
                         object); it and the entries after it were not read"
                    ),
                ));
                return Ok(ks);
            }
            other => return Err(format!("entry {i} at offset {tag_at}: unknown tag {other}")),
        }
    }
    if r.pos != body.len() {
        return Err(format!(
            "{} unexpected bytes after the last entry (offset {})",
            body.len() - r.pos,
            r.pos
        ));
    }
    Ok(ks)
}

fn push(ks: &mut Keystore, der: &[u8]) -> Result<(), String> {
    if ks.certs.len() >= MAX_CERTS {
        return Err(format!("more than {MAX_CERTS} certificates"));
    }
    ks.certs.push(der.to_vec());
    Ok(())
}

/// Whether `password` reproduces the store's integrity digest.
fn digest_matches(body: &[u8], digest: &[u8], password: &str) -> bool {
    let mut ctx = Context::new(&SHA1_FOR_LEGACY_USE_ONLY);
    for unit in password.encode_utf16() {
        ctx.update(&unit.to_be_bytes());
    }
    ctx.update(WHITENER);
    ctx.update(body);
    // Not secret: the digest sits in the file; a plain comparison is fine.
    ctx.finish().as_ref() == digest
}

/// The certificates of a JKS or JCEKS keystore, or why none could be reported.
///
/// Passwords tried: `opts.keystore_passwords` in order, then the empty password
/// when `opts.try_empty_password`.
pub fn certificates(data: &[u8], opts: &ParseOptions) -> Result<Keystore, ParseError> {
    let Some(flavour) = sniff(data) else {
        return Err(bad("keystore", "no JKS or JCEKS magic number"));
    };
    let name = flavour.name();
    if data.len() > MAX_KEYSTORE_LEN {
        return Err(ParseError::new(
            Reason::TooLarge,
            format!("{name} keystore larger than {MAX_KEYSTORE_LEN} bytes"),
            None,
        ));
    }
    if data.len() < 12 + DIGEST_LEN {
        return Err(bad(
            name,
            format!(
                "truncated: {} bytes, shorter than a header and digest",
                data.len()
            ),
        ));
    }
    let (body, digest) = data.split_at(data.len() - DIGEST_LEN);
    let ks = walk(body, flavour).map_err(|m| bad(name, m))?;
    if ks.partial.is_some() {
        // The digest covers bytes that could not be walked: report what was read.
        return Ok(ks);
    }
    let empty = String::new();
    let mut candidates = opts
        .keystore_passwords
        .iter()
        .chain(opts.try_empty_password.then_some(&empty))
        .peekable();
    if candidates.peek().is_none() {
        return Err(ParseError::new(
            Reason::BadPassphrase,
            format!("{name} keystore but no keystore password configured"),
            None,
        ));
    }
    if candidates.any(|p| digest_matches(body, digest, p)) {
        Ok(ks)
    } else {
        Err(ParseError::new(
            Reason::BadPassphrase,
            format!(
                "{name}: wrong password (integrity digest does not match any configured keystore password)"
            ),
            None,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Build a keystore by hand: entries are (tag, chain of DERs).
    fn store(magic: u32, version: u32, entries: &[(u32, Vec<&[u8]>)], password: &str) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&magic.to_be_bytes());
        b.extend_from_slice(&version.to_be_bytes());
        b.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for (i, (tag, certs)) in entries.iter().enumerate() {
            b.extend_from_slice(&tag.to_be_bytes());
            let alias = format!("alias{i}");
            b.extend_from_slice(&(alias.len() as u16).to_be_bytes());
            b.extend_from_slice(alias.as_bytes());
            b.extend_from_slice(&0u64.to_be_bytes());
            let cert = |b: &mut Vec<u8>, der: &[u8]| {
                if version == 2 {
                    b.extend_from_slice(&5u16.to_be_bytes());
                    b.extend_from_slice(b"X.509");
                }
                b.extend_from_slice(&(der.len() as u32).to_be_bytes());
                b.extend_from_slice(der);
            };
            if *tag == 1 {
                b.extend_from_slice(&3u32.to_be_bytes());
                b.extend_from_slice(b"key");
                b.extend_from_slice(&(certs.len() as u32).to_be_bytes());
                for c in certs {
                    cert(&mut b, c);
                }
            } else {
                cert(&mut b, certs[0]);
            }
        }
        let mut ctx = Context::new(&SHA1_FOR_LEGACY_USE_ONLY);
        for u in password.encode_utf16() {
            ctx.update(&u.to_be_bytes());
        }
        ctx.update(WHITENER);
        ctx.update(&b);
        let d = ctx.finish();
        b.extend_from_slice(d.as_ref());
        b
    }

    fn opts(pw: &[&str], try_empty: bool) -> ParseOptions {
        ParseOptions {
            keystore_passwords: pw.iter().map(|s| s.to_string()).collect(),
            try_empty_password: try_empty,
            ..ParseOptions::default()
        }
    }

    #[test]
    fn entries_in_order_and_password_checked() {
        let data = store(
            JKS_MAGIC,
            2,
            &[(1, vec![b"leaf", b"ca"]), (2, vec![b"trusted"])],
            "changeit",
        );
        let ks = certificates(&data, &opts(&["nope", "changeit"], false)).unwrap();
        assert_eq!(
            ks.certs,
            vec![b"leaf".to_vec(), b"ca".to_vec(), b"trusted".to_vec()]
        );
        assert!(ks.partial.is_none());
        let e = certificates(&data, &opts(&["nope"], true)).unwrap_err();
        assert_eq!(e.reason, Reason::BadPassphrase);
        let e = certificates(&data, &opts(&[], false)).unwrap_err();
        assert_eq!(e.reason, Reason::BadPassphrase);
    }

    #[test]
    fn version_1_jceks_and_empty_password() {
        let data = store(JCEKS_MAGIC, 1, &[(2, vec![b"t"])], "");
        let ks = certificates(&data, &opts(&[], true)).unwrap();
        assert_eq!(ks.certs, vec![b"t".to_vec()]);
        let ks = certificates(&data, &opts(&[""], false)).unwrap();
        assert_eq!(ks.certs.len(), 1);
    }

    #[test]
    fn structural_problems_are_bad_jks() {
        let good = store(JKS_MAGIC, 2, &[(1, vec![b"leaf"]), (2, vec![b"t"])], "pw");
        let o = opts(&["pw"], true);
        for cut in [1, 5, 12, 20, 31, good.len() - 21, good.len() - 1] {
            let e = certificates(&good[..cut], &o).unwrap_err();
            assert!(
                matches!(e.reason, Reason::BadJks),
                "cut {cut}: {:?}",
                e.reason
            );
        }
        let mut v3 = good.clone();
        v3[7] = 3;
        assert_eq!(certificates(&v3, &o).unwrap_err().reason, Reason::BadJks);
        let mut huge_count = good.clone();
        huge_count[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            certificates(&huge_count, &o).unwrap_err().reason,
            Reason::BadJks
        );
        let mut tag = good.clone();
        tag[15] = 9;
        assert_eq!(certificates(&tag, &o).unwrap_err().reason, Reason::BadJks);
        // A secret-key tag in JKS is unknown; in JCEKS it stops reading.
        tag[15] = 3;
        assert_eq!(certificates(&tag, &o).unwrap_err().reason, Reason::BadJks);
        let jceks = store(JCEKS_MAGIC, 2, &[(2, vec![b"t"]), (3, vec![b"x"])], "pw");
        let ks = certificates(&jceks, &o).unwrap();
        assert_eq!(ks.certs, vec![b"t".to_vec()]);
        assert_eq!(ks.partial.map(|e| e.reason), Some(Reason::BadJks));
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(&[0xFE, 0xED, 0xFE, 0xED, 0]), Some(Flavour::Jks));
        assert_eq!(sniff(&[0xCE, 0xCE, 0xCE, 0xCE]), Some(Flavour::Jceks));
        assert_eq!(sniff(&[0xCE, 0xCE, 0xCE]), None);
        assert_eq!(sniff(b"\x30\x82"), None);
    }
}
