//! The snapshot: the immutable result of one complete scan that every output reads
//! (metrics, HTTP, CLI, reports). Stable ordering: by notAfter, then location, then
//! index. Published behind an `Arc` and swapped atomically by the scraper.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use crate::model::{
    CertEntry, ErrorEntry, KeystoreFormat, ParsedCert, Reason, SourceKind, SourceRef,
    TransportReason,
};

/// Health and counters of one (source kind, source name) pair.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceStatus {
    pub kind: SourceKind,
    pub name: String,
    /// The last scan of this source completed without a source-level failure.
    pub up: bool,
    /// Certificates currently held from this source.
    pub certificates: usize,
    /// Objects (files, secrets, ...) currently held.
    pub objects: usize,
    /// Cumulative error counts since start, every reason present (pre-created at 0).
    pub errors_total: BTreeMap<Reason, u64>,
    /// Cumulative `bad_passphrase` errors since start by keystore format (a
    /// subset of `errors_total[bad_passphrase]`), every format present for kinds
    /// that can read keystores, empty otherwise.
    pub passphrase_failures: BTreeMap<KeystoreFormat, u64>,
    /// Kubernetes sources: cumulative transport failures by (API resource,
    /// reason), every reason pre-created at 0 for each watched resource; empty
    /// for other sources (`x509_kube_transport_errors_total`).
    pub kube_transport_errors: BTreeMap<(&'static str, TransportReason), u64>,
    /// Kubernetes sources: cumulative re-LISTs by API resource, pre-created at
    /// 0 (`x509_kube_watch_resyncs_total`).
    pub kube_watch_resyncs: BTreeMap<&'static str, u64>,
}

/// One complete inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Evaluation instant of the scan (`--at` or the scan's start).
    pub generated_at: DateTime<Utc>,
    /// Sorted by (not_after, location, index_in_bundle).
    pub certificates: Vec<CertEntry>,
    /// Current errors (objects that failed in their last (re)parse, failed sources).
    pub errors: Vec<ErrorEntry>,
    /// Objects known to exist whose content is deliberately not read (Docker
    /// secrets in `metadata` mode), sorted by (kind, name, location).
    pub metadata: Vec<Arc<SourceRef>>,
    pub sources: Vec<SourceStatus>,
    /// Wall time of the scan that produced this snapshot.
    pub scan_duration_seconds: f64,
    /// Completion time of the scan (Unix seconds, real clock).
    pub completed_at_unix: f64,
    /// CRLs known to the revocation checks (local files and fetched), for the
    /// `x509_crl_*` metrics.
    pub crls: Vec<crate::model::CrlInfo>,
    /// Object findings raised by sources ([`crate::model::finding`]), sorted by
    /// (location, id, message).
    pub findings: Vec<crate::model::Finding>,
    /// Object series raised by sources ([`crate::model::ObjectSeries`]), one
    /// shared list per source, in source order.
    pub object_series: Vec<Arc<[crate::model::ObjectSeries]>>,
    /// Expiry of each source's own credential (the Vault/OpenBao token), for
    /// `x509_vault_token_expiry_timestamp_seconds`; sorted by (kind, name).
    pub credentials: Vec<CredentialExpiry>,
}

/// When a source's own credential expires (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialExpiry {
    pub kind: SourceKind,
    pub name: String,
    pub expires_at: i64,
}

impl Snapshot {
    /// An empty snapshot (before the first scan).
    pub fn empty(now: DateTime<Utc>) -> Self {
        Snapshot {
            generated_at: now,
            certificates: Vec::new(),
            errors: Vec::new(),
            metadata: Vec::new(),
            sources: Vec::new(),
            scan_duration_seconds: 0.0,
            completed_at_unix: 0.0,
            crls: Vec::new(),
            findings: Vec::new(),
            object_series: Vec::new(),
            credentials: Vec::new(),
        }
    }

    /// Put certificates and errors into their stable output order.
    pub fn sort(&mut self) {
        self.certificates.sort_by(|a, b| {
            cert_order(
                (&a.source, a.index_in_bundle, &a.cert),
                (&b.source, b.index_in_bundle, &b.cert),
            )
        });
        self.errors.sort_by(|a, b| {
            (a.source.kind, &a.source.name, &a.source.location, a.reason).cmp(&(
                b.source.kind,
                &b.source.name,
                &b.source.location,
                b.reason,
            ))
        });
        self.metadata
            .sort_by(|a, b| (a.kind, &a.name, &a.location).cmp(&(b.kind, &b.name, &b.location)));
        self.sources
            .sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        self.credentials
            .sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        self.findings
            .sort_by(|a, b| (&a.location, a.id, &a.message).cmp(&(&b.location, b.id, &b.message)));
    }
}

/// The stable certificate order: by notAfter, then location, index in the
/// bundle, source kind and source name.
pub fn cert_order(
    (sa, ia, ca): (&SourceRef, usize, &ParsedCert),
    (sb, ib, cb): (&SourceRef, usize, &ParsedCert),
) -> std::cmp::Ordering {
    ca.not_after
        .cmp(&cb.not_after)
        .then_with(|| sa.location.cmp(&sb.location))
        .then_with(|| ia.cmp(&ib))
        .then_with(|| sa.kind.cmp(&sb.kind))
        .then_with(|| sa.name.cmp(&sb.name))
}

/// The published snapshot: readers clone the `Arc` and never block the scraper.
#[derive(Debug, Clone)]
pub struct SnapshotCell {
    inner: Arc<RwLock<Option<Arc<Snapshot>>>>,
}

impl Default for SnapshotCell {
    fn default() -> Self {
        Self::new()
    }
}

impl SnapshotCell {
    pub fn new() -> Self {
        SnapshotCell {
            inner: Arc::new(RwLock::new(None)),
        }
    }

    /// The last complete snapshot, `None` before the first scan completed.
    pub fn get(&self) -> Option<Arc<Snapshot>> {
        match self.inner.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn publish(&self, snap: Snapshot) {
        let snap = Arc::new(snap);
        match self.inner.write() {
            Ok(mut g) => *g = Some(snap),
            Err(poisoned) => *poisoned.into_inner() = Some(snap),
        }
    }
}
