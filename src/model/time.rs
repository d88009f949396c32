//! Time formatting shared by every stage: Unix seconds → RFC 3339 UTC with a `Z`
//! suffix and second precision (INTERFACE.md). Pure: the instant is always passed in.
//! Unix seconds outside `0000-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z` are clamped.

use chrono::{DateTime, SecondsFormat, Utc};

/// `0000-01-01T00:00:00Z` in Unix seconds.
pub const MIN_RFC3339_UNIX: i64 = -62_167_219_200;
/// `9999-12-31T23:59:59Z` in Unix seconds.
pub const MAX_RFC3339_UNIX: i64 = 253_402_300_799;

/// Unix seconds → RFC 3339 UTC, `Z` suffix, second precision. Total: values outside
/// years 0000..=9999 are clamped to the nearest representable instant.
pub fn rfc3339_from_unix(secs: i64) -> String {
    let clamped = secs.clamp(MIN_RFC3339_UNIX, MAX_RFC3339_UNIX);
    match DateTime::<Utc>::from_timestamp(clamped, 0) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        // Unreachable for the clamped range; stay total anyway.
        None if clamped < 0 => "0000-01-01T00:00:00Z".to_string(),
        None => "9999-12-31T23:59:59Z".to_string(),
    }
}

/// A `DateTime<Utc>` → RFC 3339 UTC, `Z` suffix, second precision (sub-seconds dropped).
pub fn rfc3339(t: &DateTime<Utc>) -> String {
    rfc3339_from_unix(t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_times_are_clamped() {
        assert_eq!(rfc3339_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_from_unix(i64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339_from_unix(i64::MIN), "0000-01-01T00:00:00Z");
        assert_eq!(rfc3339_from_unix(MAX_RFC3339_UNIX), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339_from_unix(MIN_RFC3339_UNIX), "0000-01-01T00:00:00Z");
    }
}
