//! Certificate revocation lists (pure): parse a PEM or DER CRL into an indexed
//! form, verify its signature against an issuer (cached per issuer), check
//! freshness at `now`, look up a serial.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use x509_parser::prelude::*;

use super::facts::{display_name, normalize_serial, verify_with_spki, Facts, SigCheck};
use crate::model::{CrlInfo, DistinguishedName};

/// Most entries indexed from one CRL (bounded memory; larger CRLs are rejected).
pub const MAX_CRL_ENTRIES: usize = 5_000_000;

/// One revoked entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevokedEntry {
    pub revoked_at: i64,
    /// CRLReason code, if the entry carries one.
    pub reason: Option<u8>,
}

/// A parsed CRL.
#[derive(Debug)]
pub struct ParsedCrl {
    pub der: Arc<[u8]>,
    pub issuer_raw: Box<[u8]>,
    pub issuer_norm: String,
    pub issuer: DistinguishedName,
    pub issuer_name: String,
    pub this_update: i64,
    pub next_update: Option<i64>,
    /// Decimal cRLNumber.
    pub number: Option<String>,
    pub revoked: HashMap<Box<[u8]>, RevokedEntry>,
    /// Where it came from: a file path or URL.
    pub location: String,
    /// Signature results by issuer fingerprint.
    verified: Mutex<HashMap<[u8; 32], SigCheck>>,
}

/// Decode PEM (`X509 CRL` blocks; the first is used) or DER.
pub fn decode(data: &[u8]) -> Result<Vec<u8>, String> {
    if crate::parse::pem::has_pem_armour(data) {
        return crate::parse::pem::crl_blocks(data)
            .into_iter()
            .next()
            .ok_or_else(|| "no X509 CRL PEM block found".to_string());
    }
    Ok(data.to_vec())
}

impl ParsedCrl {
    /// Parse a CRL (PEM or DER) found at `location`.
    pub fn parse(data: &[u8], location: &str) -> Result<ParsedCrl, String> {
        let der = decode(data)?;
        let (rest, crl) = CertificateRevocationList::from_der(&der)
            .map_err(|e| format!("not a valid CRL: {e}"))?;
        if !rest.is_empty() {
            return Err("trailing data after the CRL".into());
        }
        let tbs = &crl.tbs_cert_list;
        let mut revoked = HashMap::new();
        for (n, r) in tbs.revoked_certificates.iter().enumerate() {
            if n >= MAX_CRL_ENTRIES {
                return Err(format!("more than {MAX_CRL_ENTRIES} entries"));
            }
            let reason = r.reason_code().map(|(_, c)| c.0);
            revoked.insert(
                normalize_serial(r.raw_serial()),
                RevokedEntry {
                    revoked_at: r.revocation_date.timestamp(),
                    reason,
                },
            );
        }
        let number = crl.crl_number().map(|n| n.to_string());
        let issuer = crate::parse::x509::distinguished_name(&tbs.issuer);
        Ok(ParsedCrl {
            issuer_raw: tbs.issuer.as_raw().into(),
            issuer_norm: issuer.rendered.to_lowercase(),
            issuer_name: display_name(&tbs.issuer),
            issuer,
            this_update: tbs.this_update.timestamp(),
            next_update: tbs.next_update.map(|t| t.timestamp()),
            number,
            revoked,
            location: crate::model::bounded(location, 2048),
            der: der.into(),
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// Is this CRL issued under `issuer`'s name?
    pub fn names_issuer(&self, issuer: &Facts) -> bool {
        *self.issuer_raw == *issuer.subject_raw || *self.issuer_norm == *issuer.subject_norm
    }

    /// Does `issuer`'s key sign this CRL? (cached per issuer)
    pub fn signed_by(&self, issuer: &Facts) -> SigCheck {
        if let Ok(m) = self.verified.lock() {
            if let Some(r) = m.get(&issuer.fp) {
                return *r;
            }
        }
        let r = match CertificateRevocationList::from_der(&self.der) {
            Ok((_, crl)) => verify_with_spki(
                issuer.spki_raw(),
                &crl.signature_algorithm,
                &crl.signature_value,
                crl.tbs_cert_list.as_ref(),
            ),
            Err(_) => SigCheck::Invalid,
        };
        if let Ok(mut m) = self.verified.lock() {
            m.insert(issuer.fp, r);
        }
        r
    }

    /// nextUpdate passed at `now` (a CRL without nextUpdate never goes stale).
    pub fn is_stale(&self, now: i64) -> bool {
        self.next_update.is_some_and(|n| now > n)
    }

    pub fn lookup(&self, serial: &[u8]) -> Option<RevokedEntry> {
        self.revoked.get(serial).copied()
    }
}

/// Shared handle.
pub type CrlRef = Arc<ParsedCrl>;

impl ParsedCrl {
    /// What the snapshot publishes about this CRL at `now`.
    pub fn info(&self, now: i64) -> CrlInfo {
        CrlInfo {
            issuer: self.issuer.clone(),
            this_update: self.this_update,
            next_update: self.next_update,
            number: self.number.clone(),
            location: self.location.clone(),
            stale: self.is_stale(now),
            entries: self.revoked.len(),
            source: None,
        }
    }
}
