//! Test-only builders of model values (one place instead of a struct literal per
//! test module).

use std::sync::Arc;

use super::{DistinguishedName, KeyAlgorithm, ParsedCert};

/// An ECDSA P-256 leaf summary with subject CN `cn`, valid `not_before..=not_after`.
pub(crate) fn cert(cn: &str, not_before: i64, not_after: i64) -> ParsedCert {
    ParsedCert {
        subject: Arc::new(DistinguishedName {
            rendered: format!("CN={cn}"),
            cn: cn.into(),
            ..Default::default()
        }),
        issuer: Arc::new(DistinguishedName::default()),
        serial_number: "1".into(),
        serial_hex: "01".into(),
        not_before,
        not_after,
        sha256_fingerprint: "ab".repeat(32),
        dns_names: vec![],
        ip_addresses: vec![],
        key_algorithm: KeyAlgorithm::Ecdsa,
        key_bits: 256,
        signature_algorithm: "ecdsa-with-SHA256".into(),
        is_ca: false,
        self_signed: false,
        der: Arc::from(Vec::new()),
    }
}
