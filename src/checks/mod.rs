//! Checks over parsed certificates at an explicit evaluation instant.
//!
//! * [`apply`] — expiry (pure, synchronous).
//! * [`Checker`] — trust chains and revocation over the whole inventory: chain
//!   building ([`chain`]) with opt-in AIA caIssuers fetching ([`aia`]), CRLs ([`crl`]) and OCSP ([`ocsp`]) fetched with a
//!   bounded HTTP client ([`fetch`]) and cached ([`revocation`]). Owned by the
//!   scraper, rebuilt on reconfiguration, run after each scan; `/metrics` only
//!   ever reads the published snapshot, so slow responders never block it.
//! * [`policy`] — `scan --fail-within` / `--fail-on`.
//!
//! Decisions are pure functions of facts and `now` (`--at`); only
//! [`revocation`] talks to the network, and never when `offline`.

pub mod aia;
pub mod chain;
pub mod crl;
pub mod expiry;
pub mod facts;
pub mod fetch;
pub mod ocsp;
pub mod revocation;
mod roots;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::{RevocationConfig, TrustConfig};
use crate::model::{CertEntry, ErrorEntry, Trust, TrustStatus};

pub use crate::model::CrlInfo;

/// Run the synchronous checks (expiry) over the inventory at `now`.
pub fn apply(entries: &mut [CertEntry], now: DateTime<Utc>) {
    let now = now.timestamp();
    for e in entries.iter_mut() {
        e.expired = expiry::is_expired(e.cert.not_after, now);
    }
}

/// What one run of the [`Checker`] adds to a snapshot.
#[derive(Debug, Default)]
pub struct CheckOutcome {
    /// Every current check error (fetch failures, including cached ones).
    pub errors: Vec<ErrorEntry>,
    /// The subset that happened during this run (to be counted once).
    pub new_errors: Vec<ErrorEntry>,
    /// CRLs known at this run (local files and fetched), for the CRL metrics.
    pub crls: Vec<CrlInfo>,
    /// HTTP requests sent during this run.
    pub requests: u64,
}

/// Trust and revocation checker with its caches (facts by fingerprint,
/// signature results, CRLs by URL, OCSP answers).
pub struct Checker {
    enabled: bool,
    anchors: Arc<chain::Pool>,
    intermediates: Vec<Arc<facts::Facts>>,
    facts: HashMap<String, (Option<Arc<facts::Facts>>, u64)>,
    generation: u64,
    sigs: chain::SigCache,
    revocation: revocation::Revoker,
    /// caIssuers fetching: `trust.fetch_aia` and not offline.
    aia: Option<aia::Aia>,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker")
            .field("enabled", &self.enabled)
            .field("anchors", &self.anchors.len())
            .field("intermediates", &self.intermediates.len())
            .field("fetch_aia", &self.aia.is_some())
            .finish()
    }
}

impl Checker {
    /// A checker that leaves trust `unknown` and revocation `not_checked`
    /// (library users and unit tests that do not configure trust).
    pub fn disabled() -> Self {
        Checker {
            enabled: false,
            anchors: Arc::new(chain::Pool::new()),
            intermediates: Vec::new(),
            facts: HashMap::new(),
            generation: 0,
            sigs: chain::SigCache::default(),
            revocation: revocation::Revoker::new(&RevocationConfig {
                methods: Vec::new(),
                ..RevocationConfig::default()
            }),
            aia: None,
        }
    }

    /// Build from the validated configuration: load trust anchors (the
    /// configured roots, else the system store when enabled), intermediates and
    /// local CRLs. Unreadable paths or files without certificates are errors.
    pub fn new(trust: &TrustConfig, rev: &RevocationConfig) -> Result<Self, String> {
        let mut anchors = chain::Pool::new();
        if !trust.roots.is_empty() {
            for f in roots::load_certs(&trust.roots, "trust.roots")? {
                anchors.add(f);
            }
        } else if trust.system_roots {
            for f in roots::system_roots().iter() {
                anchors.add(f.clone());
            }
        }
        let intermediates = roots::load_certs(&trust.intermediates, "trust.intermediates")?;
        let mut revocation = revocation::Revoker::new(rev);
        revocation.load_local(&rev.crl_files)?;
        Ok(Checker {
            enabled: true,
            anchors: Arc::new(anchors),
            intermediates,
            facts: HashMap::new(),
            generation: 0,
            sigs: chain::SigCache::default(),
            revocation,
            aia: (trust.fetch_aia && !rev.offline).then(|| aia::Aia::new(rev)),
        })
    }

    /// Number of trust anchors.
    pub fn anchor_count(&self) -> usize {
        self.anchors.len()
    }

    /// HTTP requests sent by this checker so far.
    pub fn requests(&self) -> u64 {
        self.revocation.requests() + self.aia.as_ref().map_or(0, aia::Aia::requests)
    }

    fn facts_of(&mut self, e: &CertEntry) -> Option<Arc<facts::Facts>> {
        let g = self.generation;
        if let Some(slot) = self.facts.get_mut(&e.cert.sha256_fingerprint) {
            slot.1 = g;
            return slot.0.clone();
        }
        let f = facts::Facts::from_der(e.cert.der.clone())
            .ok()
            .map(Arc::new);
        self.facts
            .insert(e.cert.sha256_fingerprint.clone(), (f.clone(), g));
        f
    }

    /// Fill `trust` and `revocation` of every entry at `now`.
    pub async fn run(&mut self, entries: &mut [CertEntry], now: DateTime<Utc>) -> CheckOutcome {
        if !self.enabled {
            return CheckOutcome::default();
        }
        let now_ts = now.timestamp();
        let requests_before = self.requests();
        self.generation = self.generation.wrapping_add(1);
        let all: Vec<Option<Arc<facts::Facts>>> =
            entries.iter().map(|e| self.facts_of(e)).collect();
        let g = self.generation;
        self.facts.retain(|_, v| v.1 == g);

        let mut pool = chain::Pool::new();
        for f in all.iter().flatten() {
            pool.add(f.clone());
        }
        for f in &self.intermediates {
            pool.add(f.clone());
        }

        // Chains, once per distinct certificate.
        let mut verdicts: HashMap<[u8; 32], chain::ChainResult> = HashMap::new();
        for f in all.iter().flatten() {
            verdicts
                .entry(f.fp)
                .or_insert_with(|| chain::verify(f, &pool, &self.anchors, now_ts, &mut self.sigs));
        }
        let mut aia_out = aia::AiaOutput::default();
        if self.aia.is_some() {
            aia_out = self
                .complete_from_aia(entries, &all, &mut pool, &mut verdicts, now_ts)
                .await;
        }
        for (e, f) in entries.iter_mut().zip(&all) {
            let r = f.as_ref().and_then(|f| verdicts.get(&f.fp));
            e.trust = match r {
                Some(r) => Trust {
                    status: r.status,
                    detail: r.detail.clone().into(),
                },
                None => Trust {
                    status: TrustStatus::Unknown,
                    detail: "certificate could not be decoded for chain verification".into(),
                },
            };
        }
        self.sigs.end_scan();

        // Revocation for every certificate whose issuer is known.
        let subjects: Vec<Option<revocation::Subject>> = entries
            .iter()
            .zip(&all)
            .map(|(e, f)| {
                let f = f.as_ref()?;
                let v = verdicts.get(&f.fp)?;
                Some(revocation::Subject {
                    cert: f.clone(),
                    issuer: v.issuer.clone(),
                    source: e.source.clone(),
                    trust: v.status,
                })
            })
            .collect();
        let out = self.revocation.run(&subjects, now_ts).await;
        for (e, r) in entries.iter_mut().zip(out.results) {
            e.revocation = r;
        }
        let mut errors = aia_out.errors;
        errors.extend(out.errors);
        let mut new_errors = aia_out.new_errors;
        new_errors.extend(out.new_errors);
        CheckOutcome {
            errors,
            new_errors,
            crls: out.crls,
            requests: self.requests() - requests_before,
        }
    }

    /// `trust.fetch_aia`: for `incomplete` chains, fetch the missing issuers
    /// named by caIssuers URLs, add them to `pool` as untrusted candidates and
    /// verify the incomplete certificates again. A chain completed this way
    /// says so in its detail: clients that do not fetch AIA (most non-browser
    /// TLS stacks) still fail on a server that does not send the intermediate.
    async fn complete_from_aia(
        &mut self,
        entries: &[CertEntry],
        all: &[Option<Arc<facts::Facts>>],
        pool: &mut chain::Pool,
        verdicts: &mut HashMap<[u8; 32], chain::ChainResult>,
        now_ts: i64,
    ) -> aia::AiaOutput {
        let Some(aia) = self.aia.as_mut() else {
            return aia::AiaOutput::default();
        };
        // The frontier: certificates (of the inventory or the configured
        // intermediates) with no issuer candidate anywhere.
        let mut blame: HashMap<[u8; 32], Arc<crate::model::SourceRef>> = HashMap::new();
        let mut first_incomplete = None;
        for (e, f) in entries.iter().zip(all) {
            if let Some(f) = f {
                blame.entry(f.fp).or_insert_with(|| e.source.clone());
                if first_incomplete.is_none()
                    && verdicts.get(&f.fp).map(|v| v.status) == Some(TrustStatus::Incomplete)
                {
                    first_incomplete = Some(e.source.clone());
                }
            }
        }
        // No incomplete chain: nothing to fetch.
        let Some(fallback) = first_incomplete else {
            return aia::AiaOutput::default();
        };
        let anchors = self.anchors.clone();
        let lacks_issuer = |f: &facts::Facts, pool: &chain::Pool| {
            !f.self_issued && pool.issuers_of(f).is_empty() && anchors.issuers_of(f).is_empty()
        };
        let frontier: Vec<aia::Frontier> = pool
            .iter()
            .filter(|f| !f.ca_issuers.is_empty() && lacks_issuer(f, pool))
            .map(|f| aia::Frontier {
                cert: f.clone(),
                source: blame
                    .get(&f.fp)
                    .cloned()
                    .unwrap_or_else(|| fallback.clone()),
            })
            .collect();
        if frontier.is_empty() {
            return aia::AiaOutput::default();
        }
        let known: &chain::Pool = pool;
        let out = aia
            .complete(frontier, |f, fetched| {
                !lacks_issuer(f, known)
                    || fetched
                        .iter()
                        .any(|c| c.subject_raw == f.issuer_raw || c.subject_norm == f.issuer_norm)
            })
            .await;
        if out.certs.is_empty() {
            return out;
        }
        for c in &out.certs {
            pool.add(c.clone());
        }
        let mut by_fp: HashMap<[u8; 32], &Arc<facts::Facts>> = HashMap::new();
        for f in all.iter().flatten() {
            by_fp.insert(f.fp, f);
        }
        for (fp, v) in verdicts.iter_mut() {
            if v.status != TrustStatus::Incomplete {
                continue;
            }
            let Some(f) = by_fp.get(fp) else { continue };
            let mut r = chain::verify(f, pool, &self.anchors, now_ts, &mut self.sigs);
            if r.status == TrustStatus::Trusted {
                r.detail = crate::model::bounded(
                    &format!(
                        "{} (with an issuer fetched from its AIA caIssuers URL: the inventory lacks it)",
                        r.detail
                    ),
                    1024,
                );
            }
            *v = r;
        }
        out
    }
}

/// Paths named in the configuration (for error messages).
pub fn describe_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
