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
//! issuer). Signatures are checked through the shared [`SigCache`] while
//! searching; a path that reaches an anchor is judged by [`pathval`]
//! (rustls-webpki plus RFC 5280 structure rules) under the checker's profile.
//!
//! Bounded work: at most [`MAX_DEPTH`] certificates below the anchor,
//! [`MAX_STEPS`] search steps, [`MAX_CANDIDATES`] candidates per name and
//! [`MAX_SIG_CHECKS`] signature checks per certificate; webpki adds its own
//! budgets (signature checks, name-constraint comparisons).
//!
//! A verdict is a function of the leaf, the pools and `now` only through
//! comparisons of `now` with the validity bounds of the certificates looked
//! at; [`ChainResult::window`] is the interval around `now` in which none of
//! those comparisons changes, so a cached verdict can be reused there.

use std::collections::HashMap;
use std::sync::Arc;

use rustls::pki_types::SignatureVerificationAlgorithm;

use super::facts::{cert_signed_by, Facts, SigCheck};
use super::pathval::{self, Profile};
use super::sigverify::{self, SigCache};
use crate::model::{TrustReason, TrustStatus};

/// Longest chain considered (certificates below the anchor).
pub const MAX_DEPTH: usize = 8;
/// Most DFS steps per certificate (bounds hostile graphs of same-named CAs).
pub const MAX_STEPS: usize = 256;
/// Most issuer candidates looked at per name and step.
pub const MAX_CANDIDATES: usize = 32;
/// Most signature checks per certificate.
pub const MAX_SIG_CHECKS: usize = 512;

/// Certificates indexed by subject name.
#[derive(Debug, Default, Clone)]
pub struct Pool {
    certs: Vec<Arc<Facts>>,
    by_subject: HashMap<Arc<[u8]>, Vec<usize>>,
    by_norm: HashMap<Arc<str>, Vec<usize>>,
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

    /// SHA-256 over the sorted fingerprints: equal digests, equal pools.
    pub fn digest(&self) -> [u8; 32] {
        let mut fps: Vec<&[u8; 32]> = self.certs.iter().map(|c| &c.fp).collect();
        fps.sort_unstable();
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for fp in fps {
            ctx.update(fp);
        }
        let mut d = [0u8; 32];
        d.copy_from_slice(ctx.finish().as_ref());
        d
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
        if let Some(aki) = child.aki() {
            v.sort_by_key(|c| c.ski() != Some(aki));
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
                .find(|c| c.spki_raw() == f.spki_raw())
        })
    }
}

/// The verdict for one certificate.
#[derive(Debug, Clone)]
pub struct ChainResult {
    pub status: TrustStatus,
    /// `None` when trusted.
    pub reason: Option<TrustReason>,
    /// Shared by the verdict cache and every entry of the certificate.
    pub detail: Arc<str>,
    /// The certificate whose key verifiably signed this one (for revocation).
    pub issuer: Option<Arc<Facts>>,
    /// `[lo, hi)` (Unix seconds) around the evaluation instant in which the
    /// verdict stays the same.
    pub window: (i64, i64),
}

/// Everything a search reads (shared by all threads).
pub struct Ctx<'a> {
    pub pool: &'a Pool,
    pub anchors: &'a Pool,
    pub now: i64,
    pub profile: Profile,
    pub sigs: &'a SigCache,
    pub algs: &'a [&'a dyn SignatureVerificationAlgorithm],
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
    reason: TrustReason,
    detail: String,
}

struct Search<'a> {
    ctx: &'a Ctx<'a>,
    steps: usize,
    sig_checks: usize,
    best: Option<Failure>,
    leaf_issuer: Option<Arc<Facts>>,
    window: (i64, i64),
}

impl Search<'_> {
    fn fail(
        &mut self,
        kind: u8,
        depth: usize,
        status: TrustStatus,
        reason: TrustReason,
        detail: String,
    ) {
        let rank = (kind, depth);
        if self.best.as_ref().is_none_or(|b| rank > b.rank) {
            self.best = Some(Failure {
                rank,
                status,
                reason,
                detail,
            });
        }
    }

    /// Narrow the stable window with the validity bounds of `f`.
    fn saw(&mut self, f: &Facts) {
        let now = self.ctx.now;
        for t in [f.not_before, f.not_after.saturating_add(1)] {
            if t <= now {
                self.window.0 = self.window.0.max(t);
            } else {
                self.window.1 = self.window.1.min(t);
            }
        }
    }

    fn sig(&mut self, child: &Facts, issuer: &Facts) -> SigCheck {
        self.sig_checks += 1;
        sigverify::check(self.ctx.sigs, child, issuer)
    }

    fn self_signed(&mut self, f: &Facts) -> bool {
        if !f.self_issued {
            return false;
        }
        match self.sig(f, f) {
            SigCheck::Valid => true,
            SigCheck::Invalid => false,
            // Algorithms outside webpki's set (SHA-1, small RSA keys): the
            // general verifier still recognises a self-signature.
            SigCheck::Unsupported => cert_signed_by(&f.der, f.spki_raw()) == SigCheck::Valid,
        }
    }

    fn out_of_budget(&self) -> bool {
        self.steps > MAX_STEPS || self.sig_checks > MAX_SIG_CHECKS
    }

    /// Search upwards from the last certificate of `path`. Returns the trusted
    /// detail when a valid path was found.
    fn dfs(&mut self, path: &mut Vec<Arc<Facts>>) -> Option<String> {
        self.steps += 1;
        if self.out_of_budget() {
            return None;
        }
        let depth = path.len() - 1;
        let cur = path[depth].clone();
        self.saw(&cur);
        let ctx = self.ctx;
        // 1. A trust anchor issued it.
        let mut any_candidate = false;
        for a in ctx
            .anchors
            .issuers_of(&cur)
            .into_iter()
            .take(MAX_CANDIDATES)
        {
            any_candidate = true;
            if self.out_of_budget() {
                return None;
            }
            self.saw(a);
            match self.sig(&cur, a) {
                SigCheck::Valid => {
                    if depth == 0 && self.leaf_issuer.is_none() {
                        self.leaf_issuer = Some(a.clone());
                    }
                    match pathval::validate(path, a, ctx.now, ctx.profile, ctx.algs) {
                        Ok(()) => return Some(describe(path, a)),
                        Err((reason, detail)) => {
                            self.fail(5, depth, TrustStatus::Untrusted, reason, detail);
                        }
                    }
                }
                SigCheck::Invalid => self.fail(
                    3,
                    depth,
                    TrustStatus::Untrusted,
                    TrustReason::BadSignature,
                    format!(
                        "signature of '{}' does not verify with the key of trust anchor '{}'",
                        cur.name, a.name
                    ),
                ),
                SigCheck::Unsupported => self.unsupported(depth, &cur, a),
            }
        }
        // 2. An untrusted candidate issued it.
        if path.len() > MAX_DEPTH {
            self.fail(
                1,
                depth,
                TrustStatus::Untrusted,
                TrustReason::PathLenExceeded,
                format!("chain longer than {MAX_DEPTH} certificates"),
            );
            return None;
        }
        for c in ctx.pool.issuers_of(&cur).into_iter().take(MAX_CANDIDATES) {
            if path.iter().any(|p| p.fp == c.fp) || ctx.anchors.contains(&c.fp) {
                continue;
            }
            any_candidate = true;
            if self.out_of_budget() {
                return None;
            }
            self.saw(c);
            match self.sig(&cur, c) {
                SigCheck::Valid => {}
                SigCheck::Invalid => {
                    self.fail(
                        3,
                        depth,
                        TrustStatus::Untrusted,
                        TrustReason::BadSignature,
                        format!(
                            "signature of '{}' does not verify with the key of '{}'",
                            cur.name, c.name
                        ),
                    );
                    continue;
                }
                SigCheck::Unsupported => {
                    self.unsupported(depth, &cur, c);
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
                    TrustReason::UntrustedRoot,
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
                    TrustReason::UnknownIssuer,
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
                    TrustReason::UnknownIssuer,
                    format!(
                        "issuer '{}' of '{}' is not a trust anchor and was not found",
                        cur.issuer_name, cur.name
                    ),
                );
            }
        }
        None
    }

    /// A signature webpki's algorithms cannot check: a small RSA key is
    /// `weak_key`, anything else `unsupported_algorithm` (status unknown).
    fn unsupported(&mut self, depth: usize, cur: &Facts, issuer: &Facts) {
        if let Some(bits) = issuer.rsa_bits.filter(|&b| b < 2048) {
            self.fail(
                3,
                depth,
                TrustStatus::Untrusted,
                TrustReason::WeakKey,
                format!(
                    "'{}' is signed with the {bits}-bit RSA key of '{}' (at least 2048 required)",
                    cur.name, issuer.name
                ),
            );
        } else {
            self.fail(
                2,
                depth,
                TrustStatus::Unknown,
                TrustReason::UnsupportedAlgorithm,
                format!(
                    "cannot verify the signature of '{}': unsupported algorithm",
                    cur.name
                ),
            );
        }
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

/// Verify `leaf` against the anchors using the pool for intermediates.
pub fn verify(leaf: &Arc<Facts>, ctx: &Ctx<'_>) -> ChainResult {
    let now = ctx.now;
    if let Some(a) = ctx.anchors.find_same(leaf) {
        let mut window = (i64::MIN, i64::MAX);
        let t = a.not_after.saturating_add(1);
        if t <= now {
            window.0 = t;
        } else {
            window.1 = t;
        }
        let (status, reason, detail) = if now > a.not_after {
            (
                TrustStatus::Untrusted,
                Some(TrustReason::ExpiredIssuer),
                format!("trust anchor '{}' expired {}", a.name, day(a.not_after)),
            )
        } else {
            (
                TrustStatus::Trusted,
                None,
                format!("'{}' is a trust anchor", leaf.name),
            )
        };
        return ChainResult {
            status,
            reason,
            detail: detail.into(),
            issuer: None,
            window,
        };
    }
    let mut s = Search {
        ctx,
        steps: 0,
        sig_checks: 0,
        best: None,
        leaf_issuer: None,
        window: (i64::MIN, i64::MAX),
    };
    if s.self_signed(leaf) {
        return ChainResult {
            status: TrustStatus::SelfSigned,
            reason: Some(TrustReason::SelfSigned),
            detail: format!(
                "self-signed certificate '{}' is not a trust anchor",
                leaf.name
            )
            .into(),
            issuer: None,
            window: (i64::MIN, i64::MAX),
        };
    }
    let mut path = vec![leaf.clone()];
    if let Some(detail) = s.dfs(&mut path) {
        return ChainResult {
            status: TrustStatus::Trusted,
            reason: None,
            detail: detail.into(),
            issuer: s.leaf_issuer,
            window: s.window,
        };
    }
    let (status, reason, detail) = match s.best {
        Some(f) if !s.out_of_budget() => (f.status, f.reason, f.detail),
        _ => (
            TrustStatus::Unknown,
            TrustReason::BudgetExceeded,
            format!(
                "chain search for '{}' gave up after {MAX_STEPS} steps or {MAX_SIG_CHECKS} signature checks",
                leaf.name
            ),
        ),
    };
    ChainResult {
        status,
        reason: Some(reason),
        detail: crate::model::bounded(&detail, 1024).into(),
        issuer: s.leaf_issuer,
        window: s.window,
    }
}
