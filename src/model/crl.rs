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
    /// Where a source found it (a file in a watched directory, a Secret or
    /// ConfigMap key): its series then carry that location's labels and the
    /// source's `source_kind`/`source_name`. `None`: a revocation CRL
    /// (`revocation.crl_files` or fetched).
    pub source: Option<std::sync::Arc<super::SourceRef>>,
}

impl CrlInfo {
    /// Whether nextUpdate has passed at `now` (Unix seconds); a CRL without
    /// nextUpdate never goes stale.
    pub fn stale_at(&self, now: i64) -> bool {
        self.next_update.is_some_and(|n| now > n)
    }
}
