//! Expiry decisions, pure over Unix seconds. [`status`] is the one classification
//! every page and report uses (HTML page, CLI table, compliance findings), so a
//! certificate on a boundary is classed the same everywhere: notAfter itself is
//! still valid (RFC 5280), and "within a window" includes its end.

/// Seconds in a day.
pub const DAY_SECS: i64 = 86_400;

/// The windows an expiry [`status`] is computed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryWindows {
    /// notAfter − instant at most this: [`ExpiryStatus::Critical`].
    pub critical_secs: i64,
    /// notAfter − instant at most this: [`ExpiryStatus::Warning`] (the report's
    /// `report.warning_window`).
    pub warning_secs: i64,
}

impl ExpiryWindows {
    /// 7 days critical, 28 days warning (the shipped dashboard's and alert rules'
    /// thresholds, and `report.warning_window`'s default).
    pub const DEFAULT: ExpiryWindows = ExpiryWindows {
        critical_secs: 7 * DAY_SECS,
        warning_secs: 28 * DAY_SECS,
    };

    /// The default critical window with a configured warning window (the critical
    /// window never exceeds the warning one).
    pub fn with_warning(warning_secs: i64) -> ExpiryWindows {
        ExpiryWindows {
            critical_secs: Self::DEFAULT.critical_secs.min(warning_secs),
            warning_secs,
        }
    }
}

impl Default for ExpiryWindows {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Where a certificate stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExpiryStatus {
    /// The instant is past notAfter.
    Expired,
    /// Not expired; notAfter within the critical window.
    Critical,
    /// Not expired; notAfter within the warning window but not the critical one.
    Warning,
    Ok,
}

impl ExpiryStatus {
    /// Critical or warning: "expiring" on the pages.
    pub fn is_expiring(self) -> bool {
        matches!(self, ExpiryStatus::Critical | ExpiryStatus::Warning)
    }
}

/// The expiry status of a certificate with `not_after` at `now`.
pub fn status(not_after: i64, now: i64, w: ExpiryWindows) -> ExpiryStatus {
    if is_expired(not_after, now) {
        ExpiryStatus::Expired
    } else if expires_within(not_after, now, w.critical_secs) {
        ExpiryStatus::Critical
    } else if expires_within(not_after, now, w.warning_secs) {
        ExpiryStatus::Warning
    } else {
        ExpiryStatus::Ok
    }
}

/// [`status`] of an inventory entry; an entry the scan already marked expired
/// stays expired.
pub fn entry_status(e: &crate::model::CertEntry, now: i64, w: ExpiryWindows) -> ExpiryStatus {
    if e.expired {
        ExpiryStatus::Expired
    } else {
        status(e.cert.not_after, now, w)
    }
}

/// Expired once the evaluation instant is past notAfter (RFC 5280: notAfter is
/// the last instant of validity, inclusive).
pub fn is_expired(not_after: i64, now: i64) -> bool {
    now > not_after
}

/// Not yet valid while the evaluation instant is before notBefore.
pub fn is_not_yet_valid(not_before: i64, now: i64) -> bool {
    now < not_before
}

/// Whether notAfter falls within `window_secs` of `now` (and is not already past).
pub fn expires_within(not_after: i64, now: i64, window_secs: i64) -> bool {
    !is_expired(not_after, now) && not_after.saturating_sub(now) <= window_secs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        assert!(!is_expired(100, 100));
        assert!(is_expired(100, 101));
        assert!(is_not_yet_valid(100, 99));
        assert!(!is_not_yet_valid(100, 100));
        assert!(expires_within(200, 100, 100));
        assert!(!expires_within(201, 100, 100));
        assert!(!expires_within(99, 100, 1000));
    }

    #[test]
    fn status_boundaries_are_inclusive() {
        let w = ExpiryWindows::DEFAULT;
        let now = 1_000_000_000;
        // notAfter itself is still valid.
        assert_eq!(status(now, now, w), ExpiryStatus::Critical);
        assert_eq!(status(now - 1, now, w), ExpiryStatus::Expired);
        // Exactly 7 days left: critical; one second more: warning.
        assert_eq!(status(now + 7 * DAY_SECS, now, w), ExpiryStatus::Critical);
        assert_eq!(
            status(now + 7 * DAY_SECS + 1, now, w),
            ExpiryStatus::Warning
        );
        // Exactly 28 days left: warning; one second more: ok.
        assert_eq!(status(now + 28 * DAY_SECS, now, w), ExpiryStatus::Warning);
        assert_eq!(status(now + 28 * DAY_SECS + 1, now, w), ExpiryStatus::Ok);
        // Extremes never overflow.
        assert_eq!(status(i64::MAX, i64::MIN, w), ExpiryStatus::Ok);
        assert_eq!(status(i64::MIN, i64::MAX, w), ExpiryStatus::Expired);
        // The warning-window boundary agrees with `expires_within`, which the
        // compliance findings use.
        for d in [-1, 0, 1] {
            let na = now + 28 * DAY_SECS + d;
            assert_eq!(
                status(na, now, w).is_expiring(),
                expires_within(na, now, 28 * DAY_SECS)
            );
        }
    }

    #[test]
    fn a_warning_window_shorter_than_critical_shrinks_it() {
        let w = ExpiryWindows::with_warning(DAY_SECS);
        assert_eq!(w.critical_secs, DAY_SECS);
        assert_eq!(status(1000 + DAY_SECS, 1000, w), ExpiryStatus::Critical);
    }
}
