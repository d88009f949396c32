//! Sharing of equal distinguished names across certificates.
//!
//! Issuer names repeat: one CA signs hundreds of leaves, and the same CA
//! certificate is bundled as `ca.crt` into many Secrets and files. Each parsed
//! certificate holds its names as `Arc<DistinguishedName>`; [`intern`] hands out
//! one shared allocation per distinct name. The table holds only weak
//! references (a name lives as long as a certificate uses it) and sweeps dead
//! entries once it has doubled since the last sweep, so it stays proportional
//! to the names in use.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use super::DistinguishedName;

#[derive(Default)]
struct Table {
    /// Hash of the name → the live names with that hash (collisions compared).
    map: HashMap<u64, Vec<Weak<DistinguishedName>>>,
    /// Entries (weak references) in `map`.
    entries: usize,
    /// `entries` right after the last sweep.
    after_sweep: usize,
}

impl Table {
    fn sweep(&mut self) {
        self.map.retain(|_, v| {
            v.retain(|w| w.strong_count() > 0);
            !v.is_empty()
        });
        self.entries = self.map.values().map(Vec::len).sum();
        self.after_sweep = self.entries;
    }
}

fn table() -> &'static Mutex<Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE.get_or_init(Mutex::default)
}

/// The shared allocation of `dn` (an existing equal name, or `dn` itself).
pub fn intern(dn: DistinguishedName) -> Arc<DistinguishedName> {
    let mut h = DefaultHasher::new();
    dn.hash(&mut h);
    let key = h.finish();
    let Ok(mut t) = table().lock() else {
        // A panic elsewhere poisoned the table: just do not share.
        return Arc::new(dn);
    };
    if let Some(bucket) = t.map.get(&key) {
        for w in bucket {
            if let Some(a) = w.upgrade() {
                if *a == dn {
                    return a;
                }
            }
        }
    }
    let a = Arc::new(dn);
    t.map.entry(key).or_default().push(Arc::downgrade(&a));
    t.entries += 1;
    if t.entries > 2 * t.after_sweep.max(512) {
        t.sweep();
    }
    a
}

/// Names currently in the table (tests).
pub fn live_names() -> usize {
    table().lock().map_or(0, |mut t| {
        t.sweep();
        t.entries
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn(cn: &str) -> DistinguishedName {
        DistinguishedName {
            rendered: format!("CN={cn}"),
            cn: cn.to_string(),
            ..Default::default()
        }
    }

    #[test]
    fn equal_names_share_one_allocation_and_dead_ones_go() {
        let a = intern(dn("intern-test-issuer"));
        let b = intern(dn("intern-test-issuer"));
        assert!(Arc::ptr_eq(&a, &b));
        let c = intern(dn("intern-test-other"));
        assert!(!Arc::ptr_eq(&a, &c));
        // Names no certificate holds any more are swept.
        let many: Vec<_> = (0..5000)
            .map(|i| intern(dn(&format!("intern-test-{i}"))))
            .collect();
        assert!(live_names() >= 5000);
        drop(many);
        assert!(live_names() < 1000, "dead names kept");
        // Churn (names created and dropped one by one) keeps the table bounded.
        for i in 0..20_000 {
            let _ = intern(dn(&format!("intern-churn-{i}")));
        }
        let t = table().lock().unwrap();
        assert!(
            t.entries <= 2 * t.after_sweep.max(512),
            "{} entries after churn",
            t.entries
        );
        drop(t);
        drop((a, b, c));
    }
}
