//! The content-addressed certificate table: one parsed summary per distinct
//! certificate in the process.
//!
//! Copies of a certificate are the rule, not the exception: every
//! `fullchain.pem` repeats its intermediates, every cert-manager Secret carries
//! the same `ca.crt`, every namespace the same `kube-root-ca.crt`. The table is
//! keyed by the SHA-256 of the certificate's DER; whoever finds a certificate
//! (files, Kubernetes, Docker: all parse through `parse::parse_object_shared`)
//! hashes its DER first, looks it up, and parses only on a miss. All
//! occurrences then share one `Arc<ParsedCert>` (its names, SANs, DER), and an
//! occurrence keeps only what differs: its source, location, labels and index
//! in the bundle ([`crate::sources::ParsedItem`]).
//!
//! The table holds weak references only: a summary lives as long as some
//! occurrence (a scraper cache entry, the Kubernetes store, a snapshot) holds
//! it, so the cache survives across scans for exactly the certificates still
//! found, and a certificate that disappeared is freed with its last occurrence.
//! Dead entries are swept when a shard has doubled since its last sweep, so
//! the table stays proportional to the live certificates under any churn. It is
//! split into shards by digest so that parsing threads rarely wait on each
//! other; parsing itself happens outside every lock (two threads that miss on
//! the same certificate at once both parse it, and the first to insert wins:
//! both callers get the same `Arc`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use super::ParsedCert;

/// SHA-256 of a certificate's DER (exactly its own encoding).
pub type Digest = [u8; 32];

/// Number of independently locked shards (a power of two).
const SHARDS: usize = 16;

/// A shard is swept once it holds more than twice the live entries it kept
/// at its last sweep, and never below this many entries.
const MIN_SWEEP: usize = 64;

#[derive(Debug, Default)]
struct Shard {
    map: HashMap<Digest, Weak<ParsedCert>>,
    /// `map.len()` right after the last sweep.
    after_sweep: usize,
}

impl Shard {
    fn live(&self, digest: &Digest) -> Option<Arc<ParsedCert>> {
        self.map.get(digest).and_then(Weak::upgrade)
    }

    fn sweep(&mut self) {
        self.map.retain(|_, w| w.strong_count() > 0);
        self.after_sweep = self.map.len();
    }

    fn maybe_sweep(&mut self) {
        if self.map.len() > 2 * self.after_sweep.max(MIN_SWEEP) {
            self.sweep();
        }
    }
}

/// Counters of a table since it was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Lookups answered with an existing summary (no parse).
    pub hits: u64,
    /// Lookups that parsed.
    pub misses: u64,
}

/// One table of shared certificate summaries (the process uses [`global`];
/// tests make their own).
#[derive(Debug)]
pub struct CertTable {
    shards: Vec<Mutex<Shard>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Default for CertTable {
    fn default() -> Self {
        Self::new()
    }
}

impl CertTable {
    pub fn new() -> Self {
        CertTable {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn shard(&self, digest: &Digest) -> MutexGuard<'_, Shard> {
        let i = usize::from(digest[0]) % SHARDS;
        // A poisoned shard (a panic while holding it) still holds a valid
        // map: entries are inserted and swept atomically under the lock.
        match self.shards[i].lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The shared summary of the certificate whose DER hashes to `digest`,
    /// if some occurrence still holds it.
    pub fn get(&self, digest: &Digest) -> Option<Arc<ParsedCert>> {
        self.shard(digest).live(digest)
    }

    /// The shared summary for `digest`: the live one, else `parse()`'s result,
    /// which is then shared by later lookups. A parse error is returned and not
    /// remembered. `parse` runs without any lock held.
    pub fn get_or_parse<E>(
        &self,
        digest: &Digest,
        parse: impl FnOnce() -> Result<ParsedCert, E>,
    ) -> Result<Arc<ParsedCert>, E> {
        if let Some(hit) = self.get(digest) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hit);
        }
        let fresh = Arc::new(parse()?);
        let mut shard = self.shard(digest);
        if let Some(won) = shard.live(digest) {
            // Another thread parsed the same certificate meanwhile.
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(won);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        shard.map.insert(*digest, Arc::downgrade(&fresh));
        shard.maybe_sweep();
        Ok(fresh)
    }

    /// Certificates currently held by some occurrence (sweeps first).
    pub fn live(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let mut g = match s.lock() {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
                g.sweep();
                g.map.len()
            })
            .sum()
    }

    /// Entries (live or not yet swept) currently in the table.
    pub fn entries(&self) -> usize {
        self.shards
            .iter()
            .map(|s| match s.lock() {
                Ok(g) => g.map.len(),
                Err(p) => p.into_inner().map.len(),
            })
            .sum()
    }

    pub fn stats(&self) -> TableStats {
        TableStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// The process-wide table every source parses through.
pub fn global() -> &'static CertTable {
    static TABLE: OnceLock<CertTable> = OnceLock::new();
    TABLE.get_or_init(CertTable::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DistinguishedName, KeyAlgorithm};

    fn cert(n: u32) -> (Digest, ParsedCert) {
        let mut d = [0u8; 32];
        d[..4].copy_from_slice(&n.to_le_bytes());
        d[31] = 0xa5;
        let name = Arc::new(DistinguishedName {
            rendered: format!("CN=c{n}"),
            cn: format!("c{n}"),
            ..Default::default()
        });
        let pc = ParsedCert {
            subject: name.clone(),
            issuer: name,
            serial_number: n.to_string(),
            serial_hex: format!("{n:02x}"),
            not_before: 0,
            not_after: i64::from(n),
            sha256_fingerprint: d.iter().map(|b| format!("{b:02x}")).collect(),
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            key_algorithm: KeyAlgorithm::Ecdsa,
            key_bits: 256,
            signature_algorithm: "ecdsa-with-SHA256".into(),
            is_ca: false,
            self_signed: true,
            der: Arc::from(&d[..]),
        };
        (d, pc)
    }

    #[test]
    fn a_copy_is_parsed_once_and_shared() {
        let t = CertTable::new();
        let (d, pc) = cert(1);
        let mut parses = 0;
        let a = t
            .get_or_parse(&d, || {
                parses += 1;
                Ok::<_, ()>(pc.clone())
            })
            .unwrap();
        let b = t
            .get_or_parse(&d, || {
                parses += 1;
                Ok::<_, ()>(pc.clone())
            })
            .unwrap();
        assert_eq!(parses, 1, "the copy was parsed again");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(t.stats(), TableStats { hits: 1, misses: 1 });
        // A different certificate is a different entry.
        let (d2, pc2) = cert(2);
        let c = t.get_or_parse(&d2, || Ok::<_, ()>(pc2)).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(t.live(), 2);
    }

    #[test]
    fn parse_errors_are_returned_and_not_remembered() {
        let t = CertTable::new();
        let (d, pc) = cert(3);
        assert_eq!(
            t.get_or_parse(&d, || Err::<ParsedCert, _>("bad")),
            Err("bad")
        );
        assert!(t.get(&d).is_none());
        let a = t.get_or_parse(&d, || Ok::<_, &str>(pc)).unwrap();
        assert_eq!(a.serial_number, "3");
    }

    #[test]
    fn a_summary_goes_with_its_last_occurrence() {
        let t = CertTable::new();
        let (d, pc) = cert(4);
        let a = t.get_or_parse(&d, || Ok::<_, ()>(pc.clone())).unwrap();
        let b = t.get(&d).unwrap();
        drop(a);
        assert!(t.get(&d).is_some(), "still held by one occurrence");
        drop(b);
        assert!(t.get(&d).is_none(), "no occurrence left: gone");
        assert_eq!(t.live(), 0);
        assert_eq!(t.entries(), 0, "swept");
        // Found again later: parsed again.
        let mut parsed = false;
        t.get_or_parse(&d, || {
            parsed = true;
            Ok::<_, ()>(pc)
        })
        .unwrap();
        assert!(parsed);
    }

    #[test]
    fn churn_keeps_the_table_bounded() {
        let t = CertTable::new();
        let keep: Vec<_> = (0..100)
            .map(|i| {
                let (d, pc) = cert(i);
                t.get_or_parse(&d, || Ok::<_, ()>(pc)).unwrap()
            })
            .collect();
        // 50,000 certificates found once and dropped (rotating leaves).
        for i in 100..50_100 {
            let (d, pc) = cert(i);
            drop(t.get_or_parse(&d, || Ok::<_, ()>(pc)).unwrap());
        }
        // Each shard: at most twice its live entries (or MIN_SWEEP), plus one.
        let bound = SHARDS * (2 * MIN_SWEEP + 1);
        assert!(t.entries() <= bound, "{} entries after churn", t.entries());
        assert_eq!(t.live(), keep.len());
        for pc in &keep {
            let d: Digest = {
                let mut d = [0u8; 32];
                d.copy_from_slice(&pc.der);
                d
            };
            assert!(Arc::ptr_eq(&t.get(&d).unwrap(), pc));
        }
    }

    #[test]
    fn concurrent_misses_on_one_certificate_share_the_winner() {
        let t = CertTable::new();
        let (d, pc) = cert(7);
        let got: Vec<Arc<ParsedCert>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| s.spawn(|| t.get_or_parse(&d, || Ok::<_, ()>(pc.clone())).unwrap()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for g in &got {
            assert!(Arc::ptr_eq(g, &got[0]));
        }
        let s = t.stats();
        assert_eq!(s.hits + s.misses, 4);
        assert_eq!(s.misses, 1);
    }
}
