//! The CRL of a Vault/OpenBao issuer, as the `vault` source needs it: freshness
//! (`x509_crl_*`, findings `crl_stale` / `crl_next_update_near`) and the revoked
//! serials with their revocation dates. Pure; hostile input gives an error.

use std::collections::HashMap;

use x509_parser::prelude::*;

use crate::model::{CrlInfo, Finding, FindingId};

/// Most entries read from one CRL.
pub const MAX_ENTRIES: usize = 5_000_000;

/// What the source keeps of one CRL.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuerCrl {
    pub info: CrlInfo,
    /// Serial (colon-separated lowercase hex, as Vault writes serials) → revocation date.
    pub revoked: HashMap<String, i64>,
}

/// Vault's serial spelling: colon-separated lowercase hex of the minimal
/// big-endian encoding (no leading zero byte).
pub fn serial_text(raw: &[u8]) -> String {
    let mut s = raw;
    while s.len() > 1 && s[0] == 0 {
        s = &s[1..];
    }
    crate::parse::x509::hex_colon(s)
}

/// Parse a DER (or PEM) CRL fetched from `location`, at evaluation instant `now`.
pub fn parse(data: &[u8], location: &str, now: i64) -> Result<IssuerCrl, String> {
    let der: Vec<u8> = if crate::parse::pem::has_pem_armour(data) {
        crate::parse::pem::crl_blocks(data)
            .into_iter()
            .next()
            .ok_or_else(|| "no X509 CRL PEM block".to_string())?
    } else {
        data.to_vec()
    };
    let (rest, crl) =
        CertificateRevocationList::from_der(&der).map_err(|e| format!("not a valid CRL: {e}"))?;
    if !rest.is_empty() {
        return Err("trailing data after the CRL".into());
    }
    let tbs = &crl.tbs_cert_list;
    let mut revoked = HashMap::new();
    for (n, r) in tbs.revoked_certificates.iter().enumerate() {
        if n >= MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} entries"));
        }
        revoked.insert(serial_text(r.raw_serial()), r.revocation_date.timestamp());
    }
    let next_update = tbs.next_update.map(|t| t.timestamp());
    Ok(IssuerCrl {
        info: CrlInfo {
            issuer: crate::parse::x509::distinguished_name(&tbs.issuer),
            this_update: tbs.this_update.timestamp(),
            next_update,
            number: crl.crl_number().map(|n| n.to_string()),
            location: crate::model::bounded(location, 2048),
            stale: next_update.is_some_and(|n| now > n),
            entries: revoked.len(),
            source: None,
        },
        revoked,
    })
}

/// "Near": less than a quarter of the CRL's validity period (nextUpdate −
/// thisUpdate) is left, and at least an hour: Vault rebuilds CRLs well
/// before they expire (`auto_rebuild_grace_period`, 12 h of a 72 h CRL by
/// default), so a CRL this close to its nextUpdate was not rebuilt.
pub fn near(info: &CrlInfo, now: i64) -> bool {
    let Some(next) = info.next_update else {
        return false;
    };
    let window = ((next - info.this_update) / 4).max(3600);
    !info.stale && next - now < window
}

/// The findings about one issuer CRL at `now`.
pub fn findings(info: &CrlInfo, now: i64) -> Vec<Finding> {
    let fmt = crate::model::time::rfc3339_from_unix;
    let who = if info.issuer.cn.is_empty() {
        info.issuer.rendered.as_str()
    } else {
        info.issuer.cn.as_str()
    };
    let mut out = Vec::new();
    if let Some(next) = info.next_update {
        if info.stale {
            out.push(Finding::object(
                FindingId::CrlStale,
                "",
                &info.location,
                format!(
                    "CRL of {who} is stale: its nextUpdate {} passed (thisUpdate {}); relying parties reject it",
                    fmt(next),
                    fmt(info.this_update)
                ),
            ));
        } else if near(info, now) {
            out.push(Finding::object(
                FindingId::CrlNextUpdateNear,
                "",
                &info.location,
                format!(
                    "CRL of {who} reaches its nextUpdate {} soon and was not rebuilt (thisUpdate {})",
                    fmt(next),
                    fmt(info.this_update)
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_spelled_like_vault() {
        assert_eq!(serial_text(&[0x00, 0x8a, 0x01]), "8a:01");
        assert_eq!(serial_text(&[0x00]), "00");
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse(b"not a crl", "x", 0).is_err());
        assert!(parse(&[0x30, 0x03, 0x02, 0x01], "x", 0).is_err());
    }

    #[test]
    fn stale_and_near() {
        let mut info = CrlInfo {
            issuer: crate::model::DistinguishedName::default(),
            this_update: 0,
            next_update: Some(72 * 3600),
            number: None,
            location: "pki/issuer/x/crl".into(),
            stale: false,
            entries: 0,
            source: None,
        };
        assert!(findings(&info, 3600).is_empty());
        let near_now = 72 * 3600 - 17 * 3600;
        assert_eq!(
            findings(&info, near_now)[0].id,
            FindingId::CrlNextUpdateNear
        );
        info.stale = true;
        assert_eq!(findings(&info, 80 * 3600)[0].id, FindingId::CrlStale);
    }
}
