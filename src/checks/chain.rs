//! Chain building and verification (pure over facts and an explicit `now`).
//!
//! Candidates for a certificate's issuer are looked up by the raw subject DN
//! bytes (falling back to the normalised rendering) in two pools: the trust
//! anchors and the untrusted candidates (every inventory certificate plus the
//! configured intermediates). A depth-first search tries every path (cross
//! signed and re-keyed CAs give several), bounded in depth and steps; the first
//! path that ends at an anchor and passes every check wins, otherwise the most
//! informative failure is reported (a path that reached an anchor beats one
//! that reached an untrusted root, beats a bad signature, beats a missing
//! issuer). Checked on each path: signatures (with a cache across scans),
//! validity of every certificate at `now`, basicConstraints cA, pathLen,
//! keyUsage keyCertSign, and extended key usage nesting.

use std::collections::HashMap;
use std::sync::Arc;

use super::facts::{cert_signed_by, Facts, SigCheck, EKU_ANY};
use crate::model::TrustStatus;

/// Longest chain considered (certificates below the anchor).
pub const MAX_DEPTH: usize = 8;
/// Most DFS steps per certificate (bounds hostile graphs of same-named CAs).
pub const MAX_STEPS: usize = 256;

/// Certificates indexed by subject name.
#[derive(Debug, Default, Clone)]
pub struct Pool {
    certs: Vec<Arc<Facts>>,
    by_subject: HashMap<Box<[u8]>, Vec<usize>>,
    by_norm: HashMap<String, Vec<usize>>,
    by_fp: HashMap<[u8; 32], usize>,
}

impl Pool {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a certificate (duplicates by fingerprint are ignored).
    pub fn add(&mut self, f: Arc<Facts>) {
        if self.by_fp.contains_key(&f.fp) {
            return;
        }
        let i = self.certs.len();
        self.by_fp.insert(f.fp, i);
        self.by_subject
            .entry(f.subject_raw.clone())
            .or_default()
            .push(i);
        self.by_norm
            .entry(f.subject_norm.clone())
            .or_default()
            .push(i);
        self.certs.push(f);
    }

    pub fn len(&self) -> usize {
        self.certs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    pub fn contains(&self, fp: &[u8; 32]) -> bool {
        self.by_fp.contains_key(fp)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Facts>> {
        self.certs.iter()
    }

    /// Certificates whose subject is `child`'s issuer; those whose subject key
    /// identifier matches `child`'s authority key identifier first.
    pub fn issuers_of(&self, child: &Facts) -> Vec<&Arc<Facts>> {
        let idx = self
            .by_subject
            .get(&child.issuer_raw)
            .or_else(|| self.by_norm.get(&child.issuer_norm));
        let mut v: Vec<&Arc<Facts>> = idx
            .map(|ix| ix.iter().filter_map(|&i| self.certs.get(i)).collect())
            .unwrap_or_default();
        if let Some(aki) = &child.aki {
            v.sort_by_key(|c| c.ski.as_ref() != Some(aki));
        }
        v
    }

    /// An anchor with this fingerprint, or the same subject and key.
    pub fn find_same(&self, f: &Facts) -> Option<&Arc<Facts>> {
        if let Some(&i) = self.by_fp.get(&f.fp) {
            return self.certs.get(i);
        }
        self.by_subject.get(&f.subject_raw).and_then(|ix| {
            ix.iter()
                .filter_map(|&i| self.certs.get(i))
                .find(|c| c.spki_raw == f.spki_raw)
        })
    }
}

/// Signature results by (child, issuer) fingerprint, kept across scans; entries
/// not used during a scan are dropped at its end.
#[derive(Debug, Default)]
pub struct SigCache {
    map: HashMap<([u8; 32], [u8; 32]), (SigCheck, u64)>,
    generation: u64,
}

impl SigCache {
    pub fn check(&mut self, child: &Facts, issuer: &Facts) -> SigCheck {
        let g = self.generation;
        let key = (child.fp, issuer.fp);
        if let Some(e) = self.map.get_mut(&key) {
            e.1 = g;
            return e.0;
        }
        let r = cert_signed_by(&child.der, &issuer.spki_raw);
        self.map.insert(key, (r, g));
        r
    }

    /// Drop entries unused since the previous call; start a new generation.
    pub fn end_scan(&mut self) {
        let g = self.generation;
        self.map.retain(|_, e| e.1 == g);
        self.generation = g.wrapping_add(1);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The verdict for one certificate.
#[derive(Debug, Clone)]
pub struct ChainResult {
    pub status: TrustStatus,
    pub detail: String,
    /// The certificate whose key verifiably signed this one (for revocation).
    pub issuer: Option<Arc<Facts>>,
}

fn day(ts: i64) -> String {
    crate::model::time::rfc3339_from_unix(ts)
        .get(..10)
        .unwrap_or("")
        .to_string()
}

/// A failed path, ranked.
#[derive(Debug, Clone)]
struct Failure {
    rank: (u8, usize),
    status: TrustStatus,
    detail: String,
}

struct Search<'a> {
    pool: &'a Pool,
    anchors: &'a Pool,
    now: i64,
    sigs: &'a mut SigCache,
    steps: usize,
    best: Option<Failure>,
    leaf_issuer: Option<Arc<Facts>>,
}

impl Search<'_> {
    fn fail(&mut self, kind: u8, depth: usize, status: TrustStatus, detail: String) {
        let rank = (kind, depth);
        if self.best.as_ref().is_none_or(|b| rank > b.rank) {
            self.best = Some(Failure {
                rank,
                status,
                detail,
            });
        }
    }

    fn self_signed(&mut self, f: &Facts) -> bool {
        f.self_issued && self.sigs.check(f, f) == SigCheck::Valid
    }

    /// Search upwards from the last certificate of `path`. Returns the trusted
    /// detail when a valid path was found.
    fn dfs(&mut self, path: &mut Vec<Arc<Facts>>) -> Option<String> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return None;
        }
        let depth = path.len() - 1;
        let cur = path[depth].clone();
        // 1. A trust anchor issued it.
        let mut any_candidate = false;
        for a in self.anchors.issuers_of(&cur) {
            any_candidate = true;
            match self.sigs.check(&cur, a) {
                SigCheck::Valid => {
                    if depth == 0 && self.leaf_issuer.is_none() {
                        self.leaf_issuer = Some(a.clone());
                    }
                    match validate_path(path, a, self.now) {
                        Ok(()) => return Some(describe(path, a)),
                        Err(detail) => {
                            self.fail(5, depth, TrustStatus::Untrusted, detail);
                        }
                    }
                }
                SigCheck::Invalid => self.fail(
                    3,
                    depth,
                    TrustStatus::Untrusted,
                    format!(
                        "signature of '{}' does not verify with the key of trust anchor '{}'",
                        cur.name, a.name
                    ),
                ),
                SigCheck::Unsupported => self.fail(
                    2,
                    depth,
                    TrustStatus::Unknown,
                    format!(
                        "cannot verify the signature of '{}': unsupported algorithm",
                        cur.name
                    ),
                ),
            }
        }
        // 2. An untrusted candidate issued it.
        if path.len() > MAX_DEPTH {
            self.fail(
                1,
                depth,
                TrustStatus::Untrusted,
                format!("chain longer than {MAX_DEPTH} certificates"),
            );
            return None;
        }
        for c in self.pool.issuers_of(&cur) {
            if path.iter().any(|p| p.fp == c.fp) || self.anchors.contains(&c.fp) {
                continue;
            }
            any_candidate = true;
            match self.sigs.check(&cur, c) {
                SigCheck::Valid => {}
                SigCheck::Invalid => {
                    self.fail(
                        3,
                        depth,
                        TrustStatus::Untrusted,
                        format!(
                            "signature of '{}' does not verify with the key of '{}'",
                            cur.name, c.name
                        ),
                    );
                    continue;
                }
                SigCheck::Unsupported => {
                    self.fail(
                        2,
                        depth,
                        TrustStatus::Unknown,
                        format!(
                            "cannot verify the signature of '{}': unsupported algorithm",
                            cur.name
                        ),
                    );
                    continue;
                }
            }
            if depth == 0 && self.leaf_issuer.is_none() {
                self.leaf_issuer = Some(c.clone());
            }
            if self.self_signed(c) {
                // A root that is not an anchor (anchors were tried above).
                self.fail(
                    4,
                    depth + 1,
                    TrustStatus::Untrusted,
                    format!("root '{}' is not a trust anchor", c.name),
                );
                continue;
            }
            path.push(c.clone());
            let r = self.dfs(path);
            path.pop();
            if r.is_some() {
                return r;
            }
        }
        if !any_candidate {
            if depth == 0 && cur.ca != Some(true) {
                self.fail(
                    1,
                    depth,
                    TrustStatus::Incomplete,
                    format!(
                        "no issuer for '{}' found (intermediate '{}' missing)",
                        cur.name, cur.issuer_name
                    ),
                );
            } else {
                self.fail(
                    2,
                    depth,
                    TrustStatus::Untrusted,
                    format!(
                        "issuer '{}' of '{}' is not a trust anchor and was not found",
                        cur.issuer_name, cur.name
                    ),
                );
            }
        }
        None
    }
}

fn describe(path: &[Arc<Facts>], anchor: &Facts) -> String {
    let mut s = String::from("chain verified: ");
    for p in path {
        s.push('\'');
        s.push_str(&p.name);
        s.push_str("' → ");
    }
    s.push('\'');
    s.push_str(&anchor.name);
    s.push_str("' (trust anchor)");
    crate::model::bounded(&s, 1024)
}

fn role(i: usize) -> &'static str {
    if i == 0 {
        "certificate"
    } else {
        "intermediate"
    }
}

/// Validity at `now`, CA flags, keyUsage, pathLen and EKU nesting of
/// `path` (leaf first) ending at `anchor`.
fn validate_path(path: &[Arc<Facts>], anchor: &Facts, now: i64) -> Result<(), String> {
    for (i, c) in path.iter().enumerate() {
        let who = if i == 0 {
            format!("certificate '{}'", c.name)
        } else {
            format!("{} '{}'", role(i), c.name)
        };
        if now > c.not_after {
            return Err(format!("{who} expired {}", day(c.not_after)));
        }
        if now < c.not_before {
            return Err(format!("{who} is not valid before {}", day(c.not_before)));
        }
    }
    if now > anchor.not_after {
        return Err(format!(
            "root '{}' expired {}",
            anchor.name,
            day(anchor.not_after)
        ));
    }
    if now < anchor.not_before {
        return Err(format!(
            "root '{}' is not valid before {}",
            anchor.name,
            day(anchor.not_before)
        ));
    }
    let leaf = &path[0];
    let leaf_eku: Option<&Vec<String>> = leaf
        .eku
        .as_ref()
        .filter(|e| !e.iter().any(|o| o == EKU_ANY));
    for (i, c) in path.iter().enumerate().skip(1) {
        if let Err(why) = c.can_sign_certs() {
            return Err(format!("intermediate '{}' {why}", c.name));
        }
        // Intermediate CA certificates below this one (excluding the leaf).
        let below = i - 1;
        if let Some(pl) = c.path_len {
            if (below as u64) > u64::from(pl) {
                return Err(format!(
                    "path length constraint of intermediate '{}' (pathLen {pl}) exceeded",
                    c.name
                ));
            }
        }
        if let (Some(le), Some(ce)) = (leaf_eku, c.eku.as_ref()) {
            if !ce.iter().any(|o| o == EKU_ANY) && !le.iter().any(|o| ce.contains(o)) {
                return Err(format!(
                    "intermediate '{}' does not allow the extended key usage of '{}'",
                    c.name, leaf.name
                ));
            }
        }
    }
    // Anchors: a v1 root without basicConstraints is accepted; an explicit
    // cA=false or missing keyCertSign is not.
    if anchor.ca == Some(false) || anchor.key_cert_sign == Some(false) {
        return Err(format!(
            "trust anchor '{}' may not sign certificates",
            anchor.name
        ));
    }
    if let Some(pl) = anchor.path_len {
        let below = path.len() - 1;
        if (below as u64) > u64::from(pl) {
            return Err(format!(
                "path length constraint of root '{}' (pathLen {pl}) exceeded",
                anchor.name
            ));
        }
    }
    Ok(())
}

/// Verify `leaf` against `anchors` using `pool` for intermediates, at `now`.
pub fn verify(
    leaf: &Arc<Facts>,
    pool: &Pool,
    anchors: &Pool,
    now: i64,
    sigs: &mut SigCache,
) -> ChainResult {
    if let Some(a) = anchors.find_same(leaf) {
        let (status, detail) = if now > a.not_after {
            (
                TrustStatus::Untrusted,
                format!("trust anchor '{}' expired {}", a.name, day(a.not_after)),
            )
        } else {
            (
                TrustStatus::Trusted,
                format!("'{}' is a trust anchor", leaf.name),
            )
        };
        return ChainResult {
            status,
            detail,
            issuer: None,
        };
    }
    let mut s = Search {
        pool,
        anchors,
        now,
        sigs,
        steps: 0,
        best: None,
        leaf_issuer: None,
    };
    if s.self_signed(leaf) {
        return ChainResult {
            status: TrustStatus::SelfSigned,
            detail: format!(
                "self-signed certificate '{}' is not a trust anchor",
                leaf.name
            ),
            issuer: None,
        };
    }
    let mut path = vec![leaf.clone()];
    if let Some(detail) = s.dfs(&mut path) {
        return ChainResult {
            status: TrustStatus::Trusted,
            detail,
            issuer: s.leaf_issuer,
        };
    }
    let (status, detail) = match s.best {
        Some(f) => (f.status, f.detail),
        None => (
            TrustStatus::Unknown,
            format!(
                "chain search for '{}' gave up after {MAX_STEPS} steps",
                leaf.name
            ),
        ),
    };
    ChainResult {
        status,
        detail: crate::model::bounded(&detail, 1024),
        issuer: s.leaf_issuer,
    }
}
