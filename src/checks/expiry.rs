//! Expiry decisions, pure over Unix seconds.

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
    !is_expired(not_after, now) && not_after - now <= window_secs
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
}
