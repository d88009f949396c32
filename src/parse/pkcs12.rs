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
