//! Opt-in fetching of missing issuers from a certificate's Authority
//! Information Access `caIssuers` URLs (RFC 5280 §4.2.2.1), `trust.fetch_aia`.
//!
//! Only consulted when a chain is `incomplete`: the certificates without any
//! issuer candidate in the inventory, the configured intermediates or the
//! anchors (the "frontier") have their plain-`http://` caIssuers URLs fetched;
//! the answers (a DER certificate, a PEM bundle, or a certs-only PKCS#7
//! `SignedData`, the `.p7c` form) become *untrusted* chain candidates — a path
//! must still end at a configured anchor. The fetched certificates' own
//! frontier is followed for up to [`MAX_ROUNDS`] rounds (a leaf whose bundle
//! lacks two intermediates).
//!
//! Limits: bodies over [`MAX_AIA_BODY`] are rejected, at most
//! [`MAX_CERTS_PER_URL`] certificates are taken per answer, at most
//! [`MAX_FETCHES_PER_RUN`] URLs are fetched per check run (the rest wait for the
//! next run), per-host concurrency and the fetch timeout come from
//! `revocation:`. Answers are cached per URL for `revocation.cache.max_ttl`,
//! failures for `revocation.cache.min_ttl`; nothing is fetched when
//! `revocation.offline` is set (the checker then has no `Aia` at all).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tracing::{debug, warn};

use super::facts::Facts;
use super::fetch::{FetchError, Fetcher};
use super::revocation::{host_of, is_http, permit, semaphores};
use crate::config::RevocationConfig;
use crate::model::{ErrorEntry, Reason, SourceRef};
use crate::parse::der::{first_tlv_len, header, looks_like_certificate};

/// Largest caIssuers answer accepted (bytes).
pub const MAX_AIA_BODY: usize = 1 << 20;
/// Most certificates taken from one answer.
pub const MAX_CERTS_PER_URL: usize = 16;
/// Most URLs fetched in one check run.
pub const MAX_FETCHES_PER_RUN: usize = 100;
/// Rounds of following fetched certificates' own caIssuers URLs.
pub const MAX_ROUNDS: usize = 4;

/// DER of the OID 1.2.840.113549.1.7.2 (PKCS#7 signedData).
const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];

#[derive(Debug, Clone)]
struct Slot {
    expires: SystemTime,
    state: Result<Arc<[Arc<Facts>]>, (Reason, String)>,
}

/// The caIssuers fetcher and its per-URL cache.
#[derive(Debug)]
pub struct Aia {
    fetcher: Arc<Fetcher>,
    per_host: usize,
    ok_ttl: Duration,
    fail_ttl: Duration,
    cache: HashMap<String, Slot>,
}

/// A certificate whose issuer is missing, and whom to blame for failures.
#[derive(Debug, Clone)]
pub struct Frontier {
    pub cert: Arc<Facts>,
    pub source: Arc<SourceRef>,
}

/// What one [`Aia::complete`] call found.
#[derive(Debug, Default)]
pub struct AiaOutput {
    /// Certificates fetched (or cached) for the frontier, deduplicated.
    pub certs: Vec<Arc<Facts>>,
    /// Every current failure (cached ones included).
    pub errors: Vec<ErrorEntry>,
    /// Failures of fetches made during this call.
    pub new_errors: Vec<ErrorEntry>,
}

impl Aia {
    pub fn new(rev: &RevocationConfig) -> Self {
        Aia {
            fetcher: Arc::new(Fetcher::new(rev.fetch_timeout, MAX_AIA_BODY)),
            per_host: rev.max_concurrency_per_host.max(1),
            ok_ttl: rev.cache_max_ttl,
            fail_ttl: rev.cache_min_ttl,
            cache: HashMap::new(),
        }
    }

    /// HTTP requests sent so far.
    pub fn requests(&self) -> u64 {
        self.fetcher.requests()
    }

    /// Fetch the issuers of `frontier` (and, for up to [`MAX_ROUNDS`] rounds,
    /// of what was fetched). `has_issuer` tells whether a certificate already has
    /// an issuer candidate in the inventory, the intermediates or the anchors.
    pub async fn complete(
        &mut self,
        frontier: Vec<Frontier>,
        has_issuer: impl Fn(&Facts, &[Arc<Facts>]) -> bool,
    ) -> AiaOutput {
        let mut out = AiaOutput::default();
        let mut seen_fp: HashSet<[u8; 32]> = HashSet::new();
        let mut used: HashSet<String> = HashSet::new();
        let mut budget = MAX_FETCHES_PER_RUN;
        let mut round = frontier;
        for _ in 0..MAX_ROUNDS {
            // URL → whom it is for (first certificate wins).
            let mut wanted: Vec<(String, Frontier)> = Vec::new();
            for f in &round {
                for u in f.cert.ca_issuers.iter().filter(|u| is_http(u)) {
                    if used.insert(u.clone()) {
                        wanted.push((u.clone(), f.clone()));
                    }
                }
            }
            if wanted.is_empty() {
                break;
            }
            let fresh = self.fetch(&wanted, &mut budget).await;
            let mut next = Vec::new();
            for (url, who) in &wanted {
                match self.cache.get(url).map(|s| &s.state) {
                    Some(Ok(certs)) => {
                        for c in certs.iter() {
                            if seen_fp.insert(c.fp) {
                                out.certs.push(c.clone());
                                next.push(Frontier {
                                    cert: c.clone(),
                                    source: who.source.clone(),
                                });
                            }
                        }
                    }
                    Some(Err((reason, msg))) => {
                        let e = ErrorEntry::new(
                            (*who.source).clone(),
                            *reason,
                            format!("AIA caIssuers {url} (for '{}'): {msg}", who.cert.name),
                        );
                        if fresh.contains(url) {
                            out.new_errors.push(e.clone());
                        }
                        out.errors.push(e);
                    }
                    None => {} // over this run's fetch budget
                }
            }
            // Follow only what still lacks an issuer.
            round = next
                .into_iter()
                .filter(|f| !f.cert.self_issued && !has_issuer(&f.cert, &out.certs))
                .collect();
        }
        self.cache
            .retain(|u, s| used.contains(u) || s.expires > SystemTime::now());
        out
    }

    /// Fetch every wanted URL whose cache slot is missing or expired (within
    /// `budget`). Returns the URLs fetched now.
    async fn fetch(
        &mut self,
        wanted: &[(String, Frontier)],
        budget: &mut usize,
    ) -> HashSet<String> {
        let now = SystemTime::now();
        let mut todo: Vec<String> = Vec::new();
        for (u, _) in wanted {
            if self.cache.get(u).is_some_and(|s| s.expires > now) {
                continue;
            }
            if *budget == 0 {
                debug!(url = %u, "AIA fetch budget of this run used up; next run");
                continue;
            }
            *budget -= 1;
            todo.push(u.clone());
        }
        let mut fresh = HashSet::new();
        if todo.is_empty() {
            return fresh;
        }
        let sems = semaphores(todo.iter().map(String::as_str), self.per_host);
        let mut set = tokio::task::JoinSet::new();
        for url in todo {
            let fetcher = self.fetcher.clone();
            let sem = host_of(&url).and_then(|h| sems.get(&h).cloned());
            set.spawn(async move {
                let _permit = permit(sem).await;
                let r = match fetcher.get_body(&url).await {
                    Ok(body) => tokio::task::spawn_blocking(move || {
                        certs_from_body(&body).map_err(|m| (Reason::AiaFetchFailed, m))
                    })
                    .await
                    .unwrap_or_else(|e| {
                        Err((Reason::AiaFetchFailed, format!("parser failed: {e}")))
                    }),
                    Err(e @ FetchError::Timeout(_)) => Err((Reason::Timeout, e.to_string())),
                    Err(FetchError::Failed(m)) => Err((Reason::AiaFetchFailed, m)),
                };
                (url, r)
            });
        }
        while let Some(joined) = set.join_next().await {
            let Ok((url, r)) = joined else { continue };
            let now = SystemTime::now();
            let slot = match r {
                Ok(certs) => {
                    debug!(url = %url, certificates = certs.len(), "AIA caIssuers fetched");
                    Slot {
                        expires: now + self.ok_ttl,
                        state: Ok(certs.into()),
                    }
                }
                Err((reason, msg)) => {
                    warn!(url = %url, reason = %reason, "AIA caIssuers fetch failed: {msg}");
                    Slot {
                        expires: now + self.fail_ttl,
                        state: Err((reason, msg)),
                    }
                }
            };
            fresh.insert(url.clone());
            self.cache.insert(url, slot);
        }
        fresh
    }
}

/// Certificates in a caIssuers answer: one DER certificate, PEM
/// `CERTIFICATE` blocks, or a certs-only PKCS#7 `SignedData` (DER, definite
/// lengths). Errors are short and bounded.
pub fn certs_from_body(body: &[u8]) -> Result<Vec<Arc<Facts>>, String> {
    if body.is_empty() {
        return Err("empty response".into());
    }
    let ders: Vec<&[u8]> = if crate::parse::pem::has_pem_armour(body) {
        let certs: Vec<Arc<Facts>> = super::roots::certs_in(body)
            .into_iter()
            .take(MAX_CERTS_PER_URL)
            .collect();
        if certs.is_empty() {
            return Err("PEM answer without a decodable certificate".into());
        }
        return Ok(certs);
    } else if let Some(certs) = pkcs7_certs(body) {
        certs
    } else if looks_like_certificate(body) {
        vec![body]
    } else {
        return Err("answer is neither a certificate nor a PKCS#7 certificate bundle".into());
    };
    let mut out = Vec::new();
    let mut last_err = None;
    for d in ders.into_iter().take(MAX_CERTS_PER_URL) {
        match Facts::from_der(d.into()) {
            Ok(f) => out.push(Arc::new(f)),
            Err(e) => last_err = Some(e),
        }
    }
    match (out.is_empty(), last_err) {
        (false, _) => Ok(out),
        (true, Some(e)) => Err(crate::model::bounded(
            &format!("certificate does not decode: {e}"),
            200,
        )),
        (true, None) => Err("PKCS#7 bundle holds no certificate".into()),
    }
}

/// The value bytes of a TLV with `tag` at the start of `data`, and the rest.
fn tlv(data: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, len, rest) = header(data)?;
    if t != tag {
        return None;
    }
    let len = len?;
    Some((rest.get(..len)?, rest.get(len..)?))
}

/// `ContentInfo { signedData, [0] SignedData { version, digestAlgorithms,
/// encapContentInfo, [0] IMPLICIT certificates, ... } }` → the certificates.
fn pkcs7_certs(data: &[u8]) -> Option<Vec<&[u8]>> {
    let (ci, _) = tlv(data, 0x30)?;
    let (oid, rest) = tlv(ci, 0x06)?;
    if oid != OID_SIGNED_DATA {
        return None;
    }
    let (explicit, _) = tlv(rest, 0xa0)?;
    let (sd, _) = tlv(explicit, 0x30)?;
    let (_, sd) = tlv(sd, 0x02)?; // version
    let (_, sd) = tlv(sd, 0x31)?; // digestAlgorithms
    let (_, sd) = tlv(sd, 0x30)?; // encapContentInfo
    let (mut certs, _) = match tlv(sd, 0xa0) {
        Some(c) => c,
        None => return Some(Vec::new()),
    };
    let mut out = Vec::new();
    while !certs.is_empty() && out.len() < MAX_CERTS_PER_URL {
        let n = first_tlv_len(certs)?;
        if certs[0] == 0x30 {
            out.push(&certs[..n]);
        }
        certs = &certs[n..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(cn: &str) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut p = rcgen::CertificateParams::new(vec![format!("{cn}.example")]).expect("p");
        p.distinguished_name
            .push(rcgen::DnType::CommonName, cn.to_string());
        p.self_signed(&key).expect("sign").der().to_vec()
    }

    fn der_len(n: usize) -> Vec<u8> {
        if n < 0x80 {
            vec![n as u8]
        } else if n < 0x100 {
            vec![0x81, n as u8]
        } else {
            vec![0x82, (n >> 8) as u8, n as u8]
        }
    }

    fn wrap(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        v.extend(der_len(body.len()));
        v.extend_from_slice(body);
        v
    }

    /// A certs-only PKCS#7 as `openssl crl2pkcs7 -nocrl` writes it.
    pub(crate) fn p7c(certs: &[Vec<u8>]) -> Vec<u8> {
        let mut sd = wrap(0x02, &[1]);
        sd.extend(wrap(0x31, &[]));
        let data_oid = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
        sd.extend(wrap(0x30, &wrap(0x06, &data_oid)));
        sd.extend(wrap(0xa0, &certs.concat()));
        sd.extend(wrap(0x31, &[]));
        let mut ci = wrap(0x06, OID_SIGNED_DATA);
        ci.extend(wrap(0xa0, &wrap(0x30, &sd)));
        wrap(0x30, &ci)
    }

    #[test]
    fn decodes_der_pem_and_pkcs7_answers() {
        let a = cert("a");
        let b = cert("b");
        let one = certs_from_body(&a).expect("der");
        assert_eq!(one.len(), 1);
        assert_eq!(&*one[0].name, "a");

        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64_lines(&b)
        );
        let two = certs_from_body(pem.as_bytes()).expect("pem");
        assert_eq!(&*two[0].name, "b");

        let bundle = certs_from_body(&p7c(&[a.clone(), b.clone()])).expect("p7c");
        let names: Vec<&str> = bundle.iter().map(|f| &*f.name).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn hostile_answers_are_errors_not_panics() {
        let a = cert("a");
        assert!(certs_from_body(b"").is_err());
        assert!(certs_from_body(b"<html>not found</html>").is_err());
        assert!(certs_from_body(&a[..a.len() / 2]).is_err());
        let p = p7c(std::slice::from_ref(&a));
        for cut in 0..p.len() {
            let _ = certs_from_body(&p[..cut]);
        }
        assert!(certs_from_body(&p7c(&[])).is_err());
        // Far more certificates than the cap: only MAX_CERTS_PER_URL are kept.
        let many: Vec<Vec<u8>> = (0..MAX_CERTS_PER_URL + 5).map(|_| a.clone()).collect();
        assert_eq!(
            certs_from_body(&p7c(&many)).expect("many").len(),
            MAX_CERTS_PER_URL
        );
    }

    fn base64_lines(der: &[u8]) -> String {
        use base64::Engine;
        let s = base64::engine::general_purpose::STANDARD.encode(der);
        s.as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    }
}
