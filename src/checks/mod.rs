//! Checks over parsed certificates at an explicit evaluation instant: expiry now;
//! chain verification and revocation plug in here (they fill `trust` and
//! `revocation` of every [`CertEntry`]).

pub mod expiry;
pub mod policy;

use chrono::{DateTime, Utc};

use crate::model::CertEntry;

/// Run every check over the inventory at `now`.
pub fn apply(entries: &mut [CertEntry], now: DateTime<Utc>) {
    let now = now.timestamp();
    for e in entries.iter_mut() {
        e.expired = expiry::is_expired(e.cert.not_after, now);
    }
}
