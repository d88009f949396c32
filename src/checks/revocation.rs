//! Revocation for every certificate whose issuer is known: the configured
//! methods in preference order (`crl`, `ocsp`), each until one gives a
//! definitive `good`/`revoked`; `unknown` (with the reasons in `reason`) when
//! every applicable method failed; `not_checked` when none applied (no issuer,
//! self-signed, no CRL/OCSP location, offline without a local CRL).
//!
//! Caches: CRLs per URL and OCSP answers per (issuer, serial), reused until
//! their nextUpdate bounded to `[cache.min_ttl, cache.max_ttl]` of real time
//! (failures for `min_ttl`); expired CRLs are re-fetched conditionally
//! (If-None-Match / If-Modified-Since). Entries no certificate needs any more
//! are dropped after each run. Fetches run concurrently, at most
//! `max_concurrency_per_host` per server. Failures become [`ErrorEntry`]s
//! attributed to the source of a certificate that needed the URL (reason
//! `crl_fetch_failed`, `ocsp_failed` or `timeout`); only failures that happened
//! during a run are returned as new (counted once), cached ones are re-reported.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::{debug, warn};

use super::crl::{CrlRef, ParsedCrl};
use super::facts::{reason_name, Facts, SigCheck};
use super::fetch::{FetchError, Fetched, Fetcher, HttpUrl, Validators};
use super::ocsp;
use crate::config::{RevocationConfig, RevocationMethodConfig};
use crate::model::time::rfc3339_from_unix;
use crate::model::CrlInfo;
use crate::model::{
    ErrorEntry, Reason, Revocation, RevocationMethod, RevocationStatus, SourceRef, TrustStatus,
};

/// Longest `reason` text kept for an `unknown` status.
const MAX_REASON: usize = 512;

/// One certificate to check.
#[derive(Debug, Clone)]
pub struct Subject {
    pub cert: Arc<Facts>,
    /// The certificate whose key verifiably signed `cert`.
    pub issuer: Option<Arc<Facts>>,
    pub source: Arc<SourceRef>,
    pub trust: TrustStatus,
}

/// What one run produced.
#[derive(Debug, Default)]
pub struct RunOutput {
    pub results: Vec<Revocation>,
    pub errors: Vec<ErrorEntry>,
    pub new_errors: Vec<ErrorEntry>,
    pub crls: Vec<CrlInfo>,
    pub requests: u64,
}

#[derive(Debug, Clone)]
struct Failure {
    reason: Reason,
    message: String,
}

impl Failure {
    fn from_fetch(e: FetchError, fail: Reason) -> Failure {
        match e {
            FetchError::Timeout(_) => Failure {
                reason: Reason::Timeout,
                message: e.to_string(),
            },
            FetchError::Failed(m) => Failure {
                reason: fail,
                message: m,
            },
        }
    }
}

#[derive(Debug)]
struct CrlSlot {
    state: Result<CrlRef, Failure>,
    expires: SystemTime,
    validators: Validators,
}

#[derive(Debug)]
struct OcspSlot {
    state: Result<ocsp::Verdict, Failure>,
    expires: SystemTime,
    url: String,
}

#[derive(Debug)]
struct LocalCrl {
    path: PathBuf,
    stamp: Option<(u64, SystemTime)>,
    crl: Option<CrlRef>,
}

/// The revocation checker and its caches.
#[derive(Debug)]
pub struct Revoker {
    methods: Vec<RevocationMethodConfig>,
    offline: bool,
    nonce: bool,
    get: bool,
    min_ttl: Duration,
    max_ttl: Duration,
    per_host: usize,
    max_crl_size: usize,
    fetcher: Arc<Fetcher>,
    local: Vec<LocalCrl>,
    crls: HashMap<String, CrlSlot>,
    ocsp: HashMap<([u8; 32], Box<[u8]>), OcspSlot>,
}

enum Verdict {
    Done(Revocation),
    Unknown(String),
    NotApplicable,
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn revoked(method: RevocationMethod, at: i64, reason: Option<u8>) -> Revocation {
    Revocation {
        status: RevocationStatus::Revoked,
        method: Some(method),
        revoked_at: Some(rfc3339_from_unix(at)),
        reason: reason.map(|r| reason_name(r).to_string()),
    }
}

fn good(method: RevocationMethod) -> Revocation {
    Revocation {
        status: RevocationStatus::Good,
        method: Some(method),
        revoked_at: None,
        reason: None,
    }
}

pub(super) fn is_http(url: &str) -> bool {
    url.get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
}

impl Revoker {
    pub fn new(cfg: &RevocationConfig) -> Self {
        let max_crl_size = usize::try_from(cfg.max_crl_size).unwrap_or(usize::MAX);
        Revoker {
            methods: cfg.methods.clone(),
            offline: cfg.offline,
            nonce: cfg.ocsp_nonce,
            get: cfg.ocsp_get,
            min_ttl: cfg.cache_min_ttl,
            max_ttl: cfg.cache_max_ttl,
            per_host: cfg.max_concurrency_per_host.max(1),
            max_crl_size,
            fetcher: Arc::new(Fetcher::new(cfg.fetch_timeout, max_crl_size)),
            local: Vec::new(),
            crls: HashMap::new(),
            ocsp: HashMap::new(),
        }
    }

    /// HTTP requests sent so far.
    pub fn requests(&self) -> u64 {
        self.fetcher.requests()
    }

    /// Load the local CRL files (errors name the file).
    pub fn load_local(&mut self, paths: &[PathBuf]) -> Result<(), String> {
        for p in paths {
            let mut l = LocalCrl {
                path: PathBuf::from(crate::config::paths::expand_tilde(p)),
                stamp: None,
                crl: None,
            };
            refresh_local(&mut l, self.max_crl_size)
                .map_err(|e| format!("revocation.crl_files: {e}"))?;
            self.local.push(l);
        }
        Ok(())
    }

    fn ttl_until(&self, next_update: Option<i64>) -> SystemTime {
        let now = SystemTime::now();
        let secs = match next_update {
            Some(n) => u64::try_from(n.saturating_sub(unix(now))).unwrap_or(0),
            None => 0,
        };
        let d = Duration::from_secs(secs).clamp(self.min_ttl, self.max_ttl);
        now + d
    }

    /// Check every subject (None = no facts) at evaluation instant `now`.
    pub async fn run(&mut self, subjects: &[Option<Subject>], now: i64) -> RunOutput {
        let requests_before = self.fetcher.requests();
        let n = subjects.len();
        let mut results = vec![Revocation::default(); n];
        let mut done = vec![false; n];
        let mut notes: Vec<Vec<String>> = vec![Vec::new(); n];
        let mut tried: Vec<Option<RevocationMethod>> = vec![None; n];
        let mut errors: BTreeMap<(String, String, String), ErrorEntry> = BTreeMap::new();
        let mut new_errors: Vec<ErrorEntry> = Vec::new();

        for l in &mut self.local {
            if let Err(e) = refresh_local(l, self.max_crl_size) {
                warn!(
                    "local CRL {}: {e}; keeping the previous copy",
                    l.path.display()
                );
            }
        }

        // Eligible: issuer known, not self-signed, not an anchor itself.
        let eligible: Vec<bool> = subjects
            .iter()
            .map(|s| {
                s.as_ref().is_some_and(|s| {
                    s.issuer.is_some() && s.trust != TrustStatus::SelfSigned && !s.cert.self_issued
                })
            })
            .collect();

        let mut used_urls: HashSet<String> = HashSet::new();
        let mut used_ocsp: HashSet<([u8; 32], Box<[u8]>)> = HashSet::new();

        for method in self.methods.clone() {
            let pending: Vec<usize> = (0..n).filter(|&i| eligible[i] && !done[i]).collect();
            if pending.is_empty() {
                break;
            }
            match method {
                RevocationMethodConfig::Crl => {
                    let fresh = self.fetch_crls(subjects, &pending, &mut used_urls).await;
                    for &i in &pending {
                        let Some(s) = &subjects[i] else { continue };
                        let v = self.eval_crl(s, now);
                        self.collect_crl_errors(s, &fresh, &mut errors, &mut new_errors);
                        apply(
                            v,
                            RevocationMethod::Crl,
                            i,
                            &mut results,
                            &mut done,
                            &mut notes,
                            &mut tried,
                        );
                    }
                }
                RevocationMethodConfig::Ocsp => {
                    let fresh = self
                        .fetch_ocsp(subjects, &pending, now, &mut used_ocsp)
                        .await;
                    for &i in &pending {
                        let Some(s) = &subjects[i] else { continue };
                        let v = self.eval_ocsp(s, &fresh, &mut errors, &mut new_errors);
                        apply(
                            v,
                            RevocationMethod::Ocsp,
                            i,
                            &mut results,
                            &mut done,
                            &mut notes,
                            &mut tried,
                        );
                    }
                }
            }
        }
        for i in 0..n {
            if done[i] {
                continue;
            }
            if let Some(m) = tried[i] {
                results[i] = Revocation {
                    status: RevocationStatus::Unknown,
                    method: Some(m),
                    revoked_at: None,
                    reason: Some(crate::model::bounded(&notes[i].join("; "), MAX_REASON)),
                };
            }
        }
        // Forget what no certificate needs any more.
        self.crls.retain(|u, _| used_urls.contains(u));
        self.ocsp.retain(|k, _| used_ocsp.contains(k));

        let mut crls: Vec<CrlInfo> = self
            .local
            .iter()
            .filter_map(|l| l.crl.as_ref())
            .map(|c| c.info(now))
            .collect();
        let mut urls: Vec<&String> = self.crls.keys().collect();
        urls.sort();
        for u in urls {
            if let Some(CrlSlot { state: Ok(c), .. }) = self.crls.get(u) {
                crls.push(c.info(now));
            }
        }
        RunOutput {
            results,
            errors: errors.into_values().collect(),
            new_errors,
            crls,
            requests: self.fetcher.requests() - requests_before,
        }
    }

    /// Fetch every CDP URL a pending subject needs whose cache entry is missing
    /// or expired. Returns the URLs fetched in this run.
    async fn fetch_crls(
        &mut self,
        subjects: &[Option<Subject>],
        pending: &[usize],
        used: &mut HashSet<String>,
    ) -> HashSet<String> {
        let mut want: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for &i in pending {
            let Some(s) = &subjects[i] else { continue };
            for u in s.cert.crl_urls.iter().filter(|u| is_http(u)) {
                used.insert(u.clone());
                if self.offline || !seen.insert(u.clone()) {
                    continue;
                }
                let expired = self
                    .crls
                    .get(u)
                    .is_none_or(|slot| slot.expires <= SystemTime::now());
                if expired {
                    want.push(u.clone());
                }
            }
        }
        if want.is_empty() {
            return HashSet::new();
        }
        let sems = semaphores(want.iter().map(String::as_str), self.per_host);
        let mut set = tokio::task::JoinSet::new();
        for u in &want {
            let fetcher = self.fetcher.clone();
            let validators = match self.crls.get(u) {
                Some(CrlSlot {
                    state: Ok(_),
                    validators,
                    ..
                }) => validators.clone(),
                _ => Validators::default(),
            };
            let sem = host_of(u).and_then(|h| sems.get(&h).cloned());
            let url = u.clone();
            set.spawn(async move {
                let _permit = permit(sem).await;
                let r = fetcher.get(&url, &validators).await;
                let parsed = match r {
                    Ok(Fetched::Body(body, v)) => {
                        let loc = url.clone();
                        let p = tokio::task::spawn_blocking(move || ParsedCrl::parse(&body, &loc))
                            .await
                            .unwrap_or_else(|e| Err(format!("CRL parser failed: {e}")));
                        match p {
                            Ok(c) => Ok(Some((Arc::new(c), v))),
                            Err(e) => Err(Failure {
                                reason: Reason::CrlFetchFailed,
                                message: e,
                            }),
                        }
                    }
                    Ok(Fetched::NotModified) => Ok(None),
                    Err(e) => Err(Failure::from_fetch(e, Reason::CrlFetchFailed)),
                };
                (url, parsed)
            });
        }
        let mut fetched = HashSet::new();
        while let Some(joined) = set.join_next().await {
            let Ok((url, r)) = joined else { continue };
            fetched.insert(url.clone());
            let slot = match r {
                Ok(Some((crl, v))) => {
                    debug!(url = %url, entries = crl.revoked.len(), "CRL fetched");
                    CrlSlot {
                        expires: self.ttl_until(crl.next_update),
                        state: Ok(crl),
                        validators: v,
                    }
                }
                Ok(None) => match self.crls.remove(&url) {
                    Some(mut old) => {
                        let nu = old.state.as_ref().ok().and_then(|c| c.next_update);
                        old.expires = self.ttl_until(nu);
                        old
                    }
                    None => CrlSlot {
                        state: Err(Failure {
                            reason: Reason::CrlFetchFailed,
                            message: "304 Not Modified without a cached copy".into(),
                        }),
                        expires: SystemTime::now() + self.min_ttl,
                        validators: Validators::default(),
                    },
                },
                Err(f) => {
                    let now = SystemTime::now();
                    match self.crls.remove(&url) {
                        // A re-fetch failed but the cached CRL is still current
                        // (before its nextUpdate): keep answering from it and retry
                        // after `min_ttl`, rather than turning every certificate
                        // it covers to `unknown`.
                        Some(old)
                            if old
                                .state
                                .as_ref()
                                .is_ok_and(|c| c.next_update.is_some_and(|n| n > unix(now))) =>
                        {
                            warn!(url = %url, reason = %f.reason,
                                "CRL re-fetch failed, keeping the cached copy until its nextUpdate: {}",
                                f.message);
                            CrlSlot {
                                expires: now + self.min_ttl,
                                ..old
                            }
                        }
                        _ => {
                            warn!(url = %url, reason = %f.reason, "CRL fetch failed: {}", f.message);
                            CrlSlot {
                                state: Err(f),
                                expires: now + self.min_ttl,
                                validators: Validators::default(),
                            }
                        }
                    }
                }
            };
            self.crls.insert(url, slot);
        }
        fetched
    }

    fn eval_crl(&self, s: &Subject, now: i64) -> Verdict {
        let Some(issuer) = &s.issuer else {
            return Verdict::NotApplicable;
        };
        let mut candidates: Vec<&CrlRef> = self
            .local
            .iter()
            .filter_map(|l| l.crl.as_ref())
            .filter(|c| c.names_issuer(issuer))
            .collect();
        let mut notes = Vec::new();
        let mut any_url = false;
        for u in s.cert.crl_urls.iter().filter(|u| is_http(u)) {
            if self.offline {
                continue;
            }
            any_url = true;
            match self.crls.get(u).map(|slot| &slot.state) {
                Some(Ok(c)) => candidates.push(c),
                Some(Err(f)) => notes.push(format!("CRL {u}: {}", f.message)),
                None => notes.push(format!("CRL {u}: not fetched")),
            }
        }
        if candidates.is_empty() && !any_url {
            return Verdict::NotApplicable;
        }
        let mut fresh_good = false;
        for c in candidates {
            if !c.names_issuer(issuer) {
                notes.push(format!(
                    "CRL {} is issued by '{}', not by '{}'",
                    c.location, c.issuer_name, issuer.name
                ));
                continue;
            }
            match c.signed_by(issuer) {
                SigCheck::Valid => {}
                SigCheck::Invalid => {
                    notes.push(format!(
                        "CRL {} signature does not verify with the key of '{}'",
                        c.location, issuer.name
                    ));
                    continue;
                }
                SigCheck::Unsupported => {
                    notes.push(format!(
                        "CRL {} uses an unsupported signature algorithm",
                        c.location
                    ));
                    continue;
                }
            }
            if let Some(r) = c.lookup(s.cert.serial()) {
                return Verdict::Done(revoked(RevocationMethod::Crl, r.revoked_at, r.reason));
            }
            if c.is_stale(now) {
                notes.push(format!(
                    "CRL {} is stale (nextUpdate {})",
                    c.location,
                    rfc3339_from_unix(c.next_update.unwrap_or(0))
                ));
                continue;
            }
            if c.this_update > now + ocsp::SKEW {
                notes.push(format!(
                    "CRL {} is not valid yet (thisUpdate {})",
                    c.location,
                    rfc3339_from_unix(c.this_update)
                ));
                continue;
            }
            fresh_good = true;
        }
        if fresh_good {
            Verdict::Done(good(RevocationMethod::Crl))
        } else {
            Verdict::Unknown(notes.join("; "))
        }
    }

    fn collect_crl_errors(
        &self,
        s: &Subject,
        fresh: &HashSet<String>,
        errors: &mut BTreeMap<(String, String, String), ErrorEntry>,
        new_errors: &mut Vec<ErrorEntry>,
    ) {
        if self.offline {
            return;
        }
        for u in s.cert.crl_urls.iter().filter(|u| is_http(u)) {
            let Some(CrlSlot { state: Err(f), .. }) = self.crls.get(u) else {
                continue;
            };
            let key = (
                format!("crl {u}"),
                s.source.kind.as_str().to_string(),
                s.source.name.clone(),
            );
            if errors.contains_key(&key) {
                continue;
            }
            let e = ErrorEntry::new(
                (*s.source).clone(),
                f.reason,
                format!("CRL {u} (for '{}'): {}", s.cert.name, f.message),
            );
            if fresh.contains(u) {
                new_errors.push(e.clone());
            }
            errors.insert(key, e);
        }
    }

    async fn fetch_ocsp(
        &mut self,
        subjects: &[Option<Subject>],
        pending: &[usize],
        now: i64,
        used: &mut HashSet<([u8; 32], Box<[u8]>)>,
    ) -> HashSet<([u8; 32], Box<[u8]>)> {
        let mut jobs = Vec::new();
        let mut seen = HashSet::new();
        for &i in pending {
            let Some(s) = &subjects[i] else { continue };
            let Some(issuer) = &s.issuer else { continue };
            let Some(url) = s.cert.ocsp_urls.iter().find(|u| is_http(u)) else {
                continue;
            };
            let key: ([u8; 32], Box<[u8]>) = (issuer.fp, s.cert.serial().into());
            used.insert(key.clone());
            if self.offline || !seen.insert(key.clone()) {
                continue;
            }
            let expired = self
                .ocsp
                .get(&key)
                .is_none_or(|slot| slot.expires <= SystemTime::now());
            if expired {
                jobs.push((key, url.clone(), s.cert.clone(), issuer.clone()));
            }
        }
        if jobs.is_empty() {
            return HashSet::new();
        }
        let sems = semaphores(jobs.iter().map(|j| j.1.as_str()), self.per_host);
        let mut set = tokio::task::JoinSet::new();
        for (key, url, cert, issuer) in jobs {
            let fetcher = self.fetcher.clone();
            let sem = host_of(&url).and_then(|h| sems.get(&h).cloned());
            let nonce = self.nonce;
            let use_get = self.get;
            set.spawn(async move {
                let _permit = permit(sem).await;
                let r = async {
                    let built =
                        ocsp::build_request(&cert, &issuer, nonce).map_err(|m| Failure {
                            reason: Reason::OcspFailed,
                            message: format!("cannot build the request: {m}"),
                        })?;
                    let get_url = use_get.then(|| ocsp::get_url(&url, &built.der)).flatten();
                    let body = match get_url {
                        Some(u) => fetcher.get_body(&u).await,
                        None => {
                            fetcher
                                .post(&url, "application/ocsp-request", built.der.clone())
                                .await
                        }
                    }
                    .map_err(|e| Failure::from_fetch(e, Reason::OcspFailed))?;
                    ocsp::evaluate(&body, &built, &cert, &issuer, now).map_err(|m| Failure {
                        reason: Reason::OcspFailed,
                        message: m,
                    })
                }
                .await;
                (key, url, r)
            });
        }
        let mut fetched = HashSet::new();
        while let Some(joined) = set.join_next().await {
            let Ok((key, url, r)) = joined else { continue };
            let expires = match &r {
                Ok(v) => self.ttl_until(v.next_update),
                Err(f) => {
                    warn!(url = %url, reason = %f.reason, "OCSP failed: {}", f.message);
                    SystemTime::now() + self.min_ttl
                }
            };
            fetched.insert(key.clone());
            self.ocsp.insert(
                key,
                OcspSlot {
                    state: r,
                    expires,
                    url,
                },
            );
        }
        fetched
    }

    fn eval_ocsp(
        &self,
        s: &Subject,
        fresh: &HashSet<([u8; 32], Box<[u8]>)>,
        errors: &mut BTreeMap<(String, String, String), ErrorEntry>,
        new_errors: &mut Vec<ErrorEntry>,
    ) -> Verdict {
        let Some(issuer) = &s.issuer else {
            return Verdict::NotApplicable;
        };
        if self.offline || !s.cert.ocsp_urls.iter().any(|u| is_http(u)) {
            return Verdict::NotApplicable;
        }
        let key: ([u8; 32], Box<[u8]>) = (issuer.fp, s.cert.serial().into());
        let Some(slot) = self.ocsp.get(&key) else {
            return Verdict::Unknown("OCSP: no answer".into());
        };
        match &slot.state {
            Ok(v) => match v.answer {
                ocsp::Answer::Good => Verdict::Done(good(RevocationMethod::Ocsp)),
                ocsp::Answer::Revoked { at, reason } => {
                    Verdict::Done(revoked(RevocationMethod::Ocsp, at, reason))
                }
                ocsp::Answer::Unknown => Verdict::Unknown(format!(
                    "OCSP {}: the responder does not know this certificate",
                    slot.url
                )),
            },
            Err(f) => {
                let ekey = (
                    format!("ocsp {} {}", slot.url, s.cert.fp_hex()),
                    s.source.kind.as_str().to_string(),
                    s.source.name.clone(),
                );
                if let std::collections::btree_map::Entry::Vacant(v) = errors.entry(ekey) {
                    let e = ErrorEntry::new(
                        (*s.source).clone(),
                        f.reason,
                        format!("OCSP {} (for '{}'): {}", slot.url, s.cert.name, f.message),
                    );
                    if fresh.contains(&key) {
                        new_errors.push(e.clone());
                    }
                    v.insert(e);
                }
                Verdict::Unknown(format!("OCSP {}: {}", slot.url, f.message))
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn apply(
    v: Verdict,
    m: RevocationMethod,
    i: usize,
    results: &mut [Revocation],
    done: &mut [bool],
    notes: &mut [Vec<String>],
    tried: &mut [Option<RevocationMethod>],
) {
    match v {
        Verdict::Done(r) => {
            results[i] = r;
            done[i] = true;
        }
        Verdict::Unknown(why) => {
            tried[i] = Some(m);
            if !why.is_empty() {
                notes[i].push(why);
            }
        }
        Verdict::NotApplicable => {}
    }
}

pub(super) fn host_of(url: &str) -> Option<String> {
    HttpUrl::parse(url).ok().map(|u| u.authority())
}

/// A permit of the host's semaphore, if it has one (held until dropped).
pub(super) async fn permit(sem: Option<Arc<Semaphore>>) -> Option<OwnedSemaphorePermit> {
    sem?.acquire_owned().await.ok()
}

pub(super) fn semaphores<'a>(
    urls: impl Iterator<Item = &'a str>,
    per_host: usize,
) -> HashMap<String, Arc<Semaphore>> {
    let mut m = HashMap::new();
    for u in urls {
        if let Some(h) = host_of(u) {
            m.entry(h)
                .or_insert_with(|| Arc::new(Semaphore::new(per_host)));
        }
    }
    m
}

/// Re-read a local CRL file when its size or mtime changed.
fn refresh_local(l: &mut LocalCrl, max: usize) -> Result<(), String> {
    let meta = std::fs::metadata(&l.path).map_err(|e| format!("{}: {e}", l.path.display()))?;
    let stamp = (meta.len(), meta.modified().unwrap_or(UNIX_EPOCH));
    if l.stamp == Some(stamp) && l.crl.is_some() {
        return Ok(());
    }
    if meta.len() > max as u64 {
        return Err(format!(
            "{}: {} bytes is larger than max_crl_size ({max} bytes)",
            l.path.display(),
            meta.len()
        ));
    }
    let data = std::fs::read(&l.path).map_err(|e| format!("{}: {e}", l.path.display()))?;
    let loc = l.path.display().to_string();
    let crl = ParsedCrl::parse(&data, &loc).map_err(|e| format!("{loc}: {e}"))?;
    l.crl = Some(Arc::new(crl));
    l.stamp = Some(stamp);
    Ok(())
}
