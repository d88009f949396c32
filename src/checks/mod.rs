//! Checks over parsed certificates at an explicit evaluation instant.
//!
//! * [`apply`] — expiry (pure, synchronous).
//! * [`Checker`] — trust chains and revocation over the whole inventory: chain
//!   building ([`chain`]) with opt-in AIA caIssuers fetching ([`aia`]), CRLs ([`crl`]) and OCSP ([`ocsp`]) fetched with a
//!   bounded HTTP client ([`fetch`]) and cached ([`revocation`]). Owned by the
//!   scraper, rebuilt on reconfiguration, run after each scan; `/metrics` only
//!   ever reads the published snapshot, so slow responders never block it.
//!   Paths are judged by rustls-webpki plus RFC 5280 structure rules under the
//!   `trust.profile` ([`pathval`]); signatures go through one shared cache
//!   ([`sigverify`]); facts and verdicts are computed on all cores and
//!   verdicts reused across scans while the pool and their time window hold.
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
pub mod pathval;
pub mod revocation;
mod roots;
pub mod sigverify;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::{RevocationConfig, TrustConfig, TrustProfile};
use crate::model::{CertEntry, ErrorEntry, Trust, TrustReason, TrustStatus};

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
    /// Subject and issuer Names shared by the facts (swept with them).
    names: facts::Names,
    generation: u64,
    sigs: sigverify::SigCache,
    /// The resolved profile (`auto`: `rfc5280` with configured roots,
    /// `webpki` with the system store).
    profile: pathval::Profile,
    /// Verdicts of the last scan by leaf, with the pool digest they were
    /// computed for and their stable time window.
    verdicts: HashMap<[u8; 32], chain::ChainResult>,
    /// The pool digest `verdicts` were computed for.
    verdicts_digest: [u8; 32],
    revocation: revocation::Revoker,
    /// caIssuers fetching: `trust.fetch_aia` and not offline.
    aia: Option<aia::Aia>,
}

/// Stands for a verdict being computed.
fn placeholder() -> chain::ChainResult {
    chain::ChainResult {
        status: TrustStatus::Unknown,
        reason: None,
        detail: Arc::from(""),
        issuer: None,
        window: (0, 0),
    }
}

/// Threads for chain verification.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(16))
}

/// Verify `leaves` on all cores; results in input order.
fn verify_all(leaves: &[Arc<facts::Facts>], ctx: &chain::Ctx<'_>) -> Vec<chain::ChainResult> {
    let n = threads();
    if n <= 1 || leaves.len() < 64 {
        return leaves.iter().map(|f| chain::verify(f, ctx)).collect();
    }
    let chunk = leaves.len().div_ceil(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = leaves
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|f| chain::verify(f, ctx))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(leaves.len());
        for (h, part) in handles.into_iter().zip(leaves.chunks(chunk)) {
            match h.join() {
                Ok(v) => out.extend(v),
                // A panicking verification must not take the scan down.
                Err(_) => out.extend(part.iter().map(|f| chain::ChainResult {
                    status: TrustStatus::Unknown,
                    reason: Some(TrustReason::MalformedCertificate),
                    detail: format!("chain verification of '{}' failed", f.name).into(),
                    issuer: None,
                    window: (0, 0),
                })),
            }
        }
        out
    })
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
            names: facts::Names::default(),
            generation: 0,
            sigs: sigverify::SigCache::default(),
            profile: pathval::Profile::Rfc5280,
            verdicts: HashMap::new(),
            verdicts_digest: [0; 32],
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
            names: facts::Names::default(),
            generation: 0,
            sigs: sigverify::SigCache::default(),
            profile: match trust.profile {
                TrustProfile::Rfc5280 => pathval::Profile::Rfc5280,
                TrustProfile::Webpki => pathval::Profile::Webpki,
                TrustProfile::Auto if trust.roots.is_empty() => pathval::Profile::Webpki,
                TrustProfile::Auto => pathval::Profile::Rfc5280,
            },
            verdicts: HashMap::new(),
            verdicts_digest: [0; 32],
            revocation,
            aia: (trust.fetch_aia && !rev.offline).then(|| aia::Aia::new(rev)),
        })
    }

    /// Number of trust anchors.
    pub fn anchor_count(&self) -> usize {
        self.anchors.len()
    }

    /// Signatures verified by *ring* so far for chains (cache misses of the
    /// shared signature cache; each distinct signature counts once).
    pub fn signature_verifications(&self) -> u64 {
        self.sigs.verifications()
    }

    /// HTTP requests sent by this checker so far.
    pub fn requests(&self) -> u64 {
        self.revocation.requests() + self.aia.as_ref().map_or(0, aia::Aia::requests)
    }

    /// Extract the facts of certificates not seen in the last scan, on all
    /// cores (the first scan of a large inventory is dominated by this and by
    /// signature verification).
    fn extract_new_facts(&mut self, entries: &[CertEntry]) {
        let g = self.generation;
        let mut seen = std::collections::HashSet::new();
        let new: Vec<&CertEntry> = entries
            .iter()
            .filter(|e| {
                !self.facts.contains_key(&e.cert.sha256_fingerprint)
                    && seen.insert(&e.cert.sha256_fingerprint)
            })
            .collect();
        let names = &self.names;
        let parse = |e: &&CertEntry| facts::Facts::from_parsed(&e.cert, names).ok().map(Arc::new);
        let n = threads();
        let parsed: Vec<Option<Arc<facts::Facts>>> = if n <= 1 || new.len() < 64 {
            new.iter().map(parse).collect()
        } else {
            let chunk = new.len().div_ceil(n);
            std::thread::scope(|s| {
                let hs: Vec<_> = new
                    .chunks(chunk)
                    .map(|part| s.spawn(move || part.iter().map(parse).collect::<Vec<_>>()))
                    .collect();
                hs.into_iter()
                    .zip(new.chunks(chunk))
                    .flat_map(|(h, part)| {
                        // A panicking parse leaves its chunk undecodable.
                        h.join().unwrap_or_else(|_| vec![None; part.len()])
                    })
                    .collect()
            })
        };
        for (e, f) in new.iter().zip(parsed) {
            self.facts.insert(e.cert.sha256_fingerprint.clone(), (f, g));
        }
    }

    fn facts_of(&mut self, e: &CertEntry) -> Option<Arc<facts::Facts>> {
        let g = self.generation;
        if let Some(slot) = self.facts.get_mut(&e.cert.sha256_fingerprint) {
            slot.1 = g;
            return slot.0.clone();
        }
        let f = facts::Facts::from_parsed(&e.cert, &self.names)
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
        self.extract_new_facts(entries);
        let all: Vec<Option<Arc<facts::Facts>>> =
            entries.iter().map(|e| self.facts_of(e)).collect();
        let g = self.generation;
        let held = self.facts.len();
        self.facts.retain(|_, v| v.1 == g);
        if self.facts.len() < held {
            self.names.sweep();
        }

        let mut pool = chain::Pool::new();
        for f in all.iter().flatten() {
            pool.add(f.clone());
        }
        for f in &self.intermediates {
            pool.add(f.clone());
        }

        // Chains, once per distinct certificate; a verdict of the last scan
        // is reused while the pool is the same and `now` is in its window.
        let digest = pool.digest();
        // The last scan's verdicts are moved, not copied, into this scan's.
        let mut prev = std::mem::take(&mut self.verdicts);
        let same_pool = self.verdicts_digest == digest;
        let mut verdicts: HashMap<[u8; 32], chain::ChainResult> = HashMap::new();
        let mut todo: Vec<Arc<facts::Facts>> = Vec::new();
        for f in all.iter().flatten() {
            if verdicts.contains_key(&f.fp) {
                continue;
            }
            match prev.remove(&f.fp) {
                Some(r) if same_pool && r.window.0 <= now_ts && now_ts < r.window.1 => {
                    verdicts.insert(f.fp, r);
                }
                _ => {
                    verdicts.insert(f.fp, placeholder());
                    todo.push(f.clone());
                }
            }
        }
        drop(prev);
        {
            let algs = self.sigs.algorithms();
            let refs: Vec<&dyn rustls::pki_types::SignatureVerificationAlgorithm> = algs
                .iter()
                .map(|a| a as &dyn rustls::pki_types::SignatureVerificationAlgorithm)
                .collect();
            let ctx = chain::Ctx {
                pool: &pool,
                anchors: &self.anchors,
                now: now_ts,
                profile: self.profile,
                sigs: &self.sigs,
                algs: &refs,
            };
            for (f, r) in todo.iter().zip(verify_all(&todo, &ctx)) {
                verdicts.insert(f.fp, r);
            }
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
                    reason: r.reason,
                    detail: r.detail.clone().into(),
                },
                None => Trust {
                    status: TrustStatus::Unknown,
                    reason: Some(TrustReason::MalformedCertificate),
                    detail: "certificate could not be decoded for chain verification".into(),
                },
            };
        }
        self.sigs.end_scan();
        // AIA-completed (or still incomplete) chains depend on fetched
        // certificates outside the pool digest: not reused.
        let aia_on = self.aia.is_some();

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
        verdicts.retain(|_, r| {
            !aia_on || (r.status != TrustStatus::Incomplete && !r.detail.contains("AIA caIssuers"))
        });
        self.verdicts = verdicts;
        self.verdicts_digest = digest;
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
            let algs = self.sigs.algorithms();
            let refs: Vec<&dyn rustls::pki_types::SignatureVerificationAlgorithm> = algs
                .iter()
                .map(|a| a as &dyn rustls::pki_types::SignatureVerificationAlgorithm)
                .collect();
            let ctx = chain::Ctx {
                pool,
                anchors: &self.anchors,
                now: now_ts,
                profile: self.profile,
                sigs: &self.sigs,
                algs: &refs,
            };
            let mut r = chain::verify(f, &ctx);
            if r.status == TrustStatus::Trusted {
                r.detail = crate::model::bounded(
                    &format!(
                        "{} (with an issuer fetched from its AIA caIssuers URL: the inventory lacks it)",
                        r.detail
                    ),
                    1024,
                )
                .into();
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
