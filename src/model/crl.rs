//! CRL information published in the snapshot (metrics, docs/trust.md): what the
//! checks learned about one CRL, IO-free.

use super::DistinguishedName;

/// CRL information published in the snapshot (metrics, docs/trust.md).
#[derive(Debug, Clone, PartialEq)]
pub struct CrlInfo {
    pub issuer: DistinguishedName,
    pub this_update: i64,
    pub next_update: Option<i64>,
    pub number: Option<String>,
    /// File path or URL.
    pub location: String,
    /// nextUpdate passed at the evaluation instant.
    pub stale: bool,
    pub entries: usize,
}
