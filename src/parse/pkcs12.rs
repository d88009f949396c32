//! PKCS#12 (`.p12`/`.pfx`) → the certificates of every certificate bag, in bag
//! order, via p12-keystore.
//!
//! Passwords are tried in order: the configured ones, then the empty password
//! when allowed. The library decrypts private-key bags as part of reading the
//! archive; those keys are dropped right away, never inspected, logged or kept.
//! A MAC mismatch (or a decryption failure on a MAC-less archive) with every
//! password is [`Reason::BadPassphrase`]; anything structurally wrong is
//! [`Reason::BadPkcs12`].

use p12_keystore::error::Error as P12Error;
use p12_keystore::Pkcs12Archive;

use super::{ParseError, ParseOptions};
use crate::model::{bounded, Reason, MAX_MESSAGE_LEN};

/// Largest archive handed to the library (bytes).
pub const MAX_PKCS12_LEN: usize = 16 * 1024 * 1024;

fn error(reason: Reason, msg: impl AsRef<str>) -> ParseError {
    ParseError {
        reason,
        message: bounded(msg.as_ref(), MAX_MESSAGE_LEN),
        index: None,
    }
}

/// Whether a library error can be caused by a wrong password.
fn password_related(e: &P12Error) -> bool {
    matches!(
        e,
        P12Error::MacError(_)
            | P12Error::Pkcs5Error(_)
            | P12Error::UnpadError
            | P12Error::InvalidPrivateKey
            // A MAC-less archive decrypted with a wrong key yields garbage DER.
            | P12Error::DerError(_)
    )
}

/// The DER of every certificate bag, in bag order, or the reason none could be read.
pub fn certificates(data: &[u8], opts: &ParseOptions) -> Result<Vec<Vec<u8>>, ParseError> {
    if data.len() > MAX_PKCS12_LEN {
        return Err(error(
            Reason::TooLarge,
            format!("PKCS#12 archive larger than {MAX_PKCS12_LEN} bytes"),
        ));
    }
    let empty = String::new();
    let candidates: Vec<&String> = opts
        .pkcs12_passwords
        .iter()
        .chain(opts.try_empty_password.then_some(&empty))
        .collect();
    if candidates.is_empty() {
        return Err(error(
            Reason::BadPassphrase,
            "PKCS#12 archive but no password configured",
        ));
    }

    let mut first_error: Option<P12Error> = None;
    let mut saw_password_error = false;
    for password in candidates {
        match Pkcs12Archive::from_pkcs12(data, password) {
            Ok(archive) => {
                let Pkcs12Archive {
                    keys,
                    certs,
                    secrets,
                } = archive;
                // Key material is never looked at: drop it now.
                drop(keys);
                drop(secrets);
                return Ok(certs
                    .into_iter()
                    .map(|bag| bag.cert.as_der().to_vec())
                    .collect());
            }
            Err(e) => {
                let pw = password_related(&e);
                saw_password_error |= matches!(e, P12Error::MacError(_))
                    || (pw && !matches!(e, P12Error::DerError(_)));
                if first_error.is_none() {
                    first_error = Some(e);
                }
                if !pw {
                    // Structural: another password would not help.
                    break;
                }
            }
        }
    }
    let detail = first_error.map(|e| e.to_string()).unwrap_or_default();
    if saw_password_error {
        Err(error(
            Reason::BadPassphrase,
            "PKCS#12: wrong password (MAC or decryption failed with every configured password)",
        ))
    } else {
        Err(error(
            Reason::BadPkcs12,
            format!("invalid PKCS#12 archive: {detail}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PKCS_ECDSA_P256_SHA256,
        PKCS_ED25519,
    };

    fn opts(passwords: &[&str], try_empty: bool) -> ParseOptions {
        ParseOptions {
            pkcs12_passwords: passwords.iter().map(|s| s.to_string()).collect(),
            try_empty_password: try_empty,
            ..ParseOptions::default()
        }
    }

    fn params(cn: &str, ca: bool) -> CertificateParams {
        let mut p = CertificateParams::new(vec![]).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        if ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        p
    }

    /// root → intermediate → leaf; returns (leaf key, [leaf, intermediate, root] DER).
    fn chain() -> (KeyPair, Vec<Vec<u8>>) {
        let root_key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        let root = params("root", true).self_signed(&root_key).unwrap();
        let root_issuer = Issuer::new(params("root", true), root_key);
        let int_key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
        let int = params("intermediate", true)
            .signed_by(&int_key, &root_issuer)
            .unwrap();
        let int_issuer = Issuer::new(params("intermediate", true), int_key);
        // ECDSA: OpenSSL 3.0 cannot read rcgen's PKCS#8 v2 Ed25519 keys.
        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let leaf = params("leaf", false)
            .signed_by(&leaf_key, &int_issuer)
            .unwrap();
        (
            leaf_key,
            vec![leaf.der().to_vec(), int.der().to_vec(), root.der().to_vec()],
        )
    }

    #[test]
    fn in_process_archive_with_key_yields_chain_in_order() {
        let (leaf_key, ders) = chain();
        let certs: Vec<Certificate> = ders
            .iter()
            .map(|d| Certificate::from_der(d).unwrap())
            .collect();
        let key = PrivateKey::from_der(&leaf_key.serialize_der()).unwrap();
        let mut ks = KeyStore::new();
        ks.add_entry(
            "leaf",
            KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(b"kid".to_vec(), key, certs)),
        );
        let p12 = ks.writer("s3cret").write().unwrap();

        let got = certificates(&p12, &opts(&["nope", "s3cret"], false)).unwrap();
        assert_eq!(got, ders);

        let e = certificates(&p12, &opts(&["nope"], true)).unwrap_err();
        assert_eq!(e.reason, Reason::BadPassphrase);
        let e = certificates(&p12, &opts(&[], false)).unwrap_err();
        assert_eq!(e.reason, Reason::BadPassphrase);
    }

    #[test]
    fn malformed_archives_are_bad_pkcs12() {
        let (_, ders) = chain();
        let mut ks = KeyStore::new();
        ks.add_entry(
            "c",
            KeyStoreEntry::Certificate(Certificate::from_der(&ders[0]).unwrap()),
        );
        let p12 = ks.writer("").write().unwrap();
        assert_eq!(certificates(&p12, &opts(&[], true)).unwrap().len(), 1);
        for cut in [1, p12.len() / 2, p12.len() - 1] {
            let e = certificates(&p12[..cut], &opts(&["a", "b"], true)).unwrap_err();
            assert_eq!(e.reason, Reason::BadPkcs12, "cut at {cut}: {}", e.message);
            assert!(!e.message.is_empty() && e.message.len() <= MAX_MESSAGE_LEN + 3);
        }
        // Version 2 PFX.
        let mut v2 = p12.clone();
        let pos = v2.windows(3).position(|w| w == [0x02, 0x01, 0x03]).unwrap();
        v2[pos + 2] = 2;
        assert_eq!(
            certificates(&v2, &opts(&[], true)).unwrap_err().reason,
            Reason::BadPkcs12
        );
    }

    fn openssl_available() -> bool {
        let ok = Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!("SKIPPING PKCS#12 openssl interop test: no openssl CLI");
        }
        ok
    }

    fn write(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }

    fn export(dir: &Path, extra: &[&str], pass: &str) -> Vec<u8> {
        let out = dir.join("out.p12");
        let res = Command::new("openssl")
            .args(["pkcs12", "-export", "-in"])
            .arg(dir.join("leaf.pem"))
            .arg("-inkey")
            .arg(dir.join("leaf.key"))
            .arg("-certfile")
            .arg(dir.join("chain.pem"))
            .arg("-out")
            .arg(&out)
            .arg("-passout")
            .arg(format!("pass:{pass}"))
            .args(extra)
            .output()
            .unwrap();
        assert!(
            res.status.success(),
            "openssl pkcs12 {extra:?}: {}",
            String::from_utf8_lossy(&res.stderr)
        );
        std::fs::read(out).unwrap()
    }

    #[test]
    fn openssl_made_archives_modern_legacy_empty_and_wrong_password() {
        if !openssl_available() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (leaf_key, ders) = chain();
        let pem = |der: &[u8]| {
            use base64::Engine;
            format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                base64::engine::general_purpose::STANDARD.encode(der)
            )
        };
        write(d, "leaf.pem", pem(&ders[0]).as_bytes());
        write(d, "leaf.key", leaf_key.serialize_pem().as_bytes());
        write(d, "chain.pem", (pem(&ders[1]) + &pem(&ders[2])).as_bytes());

        let modern = export(d, &[], "pw");
        let legacy = export(d, &["-legacy"], "pw");
        let empty = export(d, &[], "");
        let nomac = export(d, &["-nomac"], "pw");

        for (name, p12) in [("modern", &modern), ("legacy", &legacy), ("nomac", &nomac)] {
            let got = certificates(p12, &opts(&["wrong", "pw"], true))
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            let mut got_sorted = got.clone();
            got_sorted.sort();
            let mut want = ders.clone();
            want.sort();
            assert_eq!(got_sorted, want, "{name}: all three certificates");
            assert_eq!(got[0], ders[0], "{name}: leaf first");

            let e = certificates(p12, &opts(&["wrong"], true)).unwrap_err();
            assert_eq!(e.reason, Reason::BadPassphrase, "{name}: {}", e.message);
        }
        let got = certificates(&empty, &ParseOptions::default()).unwrap();
        assert_eq!(got.len(), 3);
        let e = certificates(&empty, &opts(&[], false)).unwrap_err();
        assert_eq!(e.reason, Reason::BadPassphrase);
    }
}
