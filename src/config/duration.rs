//! Human durations (`30d`, `12h`, `90m`, `45s`, `500ms`, `1w`, `1h30m`) and byte sizes
//! (`1048576`, `512KiB`, `1MiB`, `2MB`): parsing, formatting, and a serde helper so
//! durations appear in YAML as strings like `5m`.
//!
//! Used by the config layer and by the CLI (`--fail-within`).

use std::time::Duration;

/// Why a duration is rejected (messages are the user-facing text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration (expected e.g. 30d, 12h, 90m, 45s, 500ms, 1w)")]
    Empty,
    #[error("duration is too long ({0} bytes, at most {MAX_DURATION_TEXT})")]
    TooLong(usize),
    #[error("negative duration {0:?} is not allowed")]
    Negative(String),
    #[error("invalid duration {0:?}: expected a number at position {1}")]
    ExpectedNumber(String, usize),
    #[error("invalid duration {0:?}: number too large")]
    NumberTooLarge(String),
    #[error("invalid duration {0:?}: fractions are not supported (write 1h30m, not 1.5h)")]
    Fraction(String),
    #[error("invalid duration {0:?}: missing unit after {1} (use ms, s, m, h, d or w)")]
    MissingUnit(String, u64),
    #[error("invalid duration {0:?}: unknown unit {1:?} (use ms, s, m, h, d or w)")]
    UnknownUnit(String, String),
    #[error("duration {0:?} is too large")]
    TooLarge(String),
}

/// Why a byte size is rejected (messages are the user-facing text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("empty size (expected bytes or e.g. 512KiB, 1MiB, 2MB)")]
    Empty,
    #[error("size is too long ({0} bytes)")]
    TooLong(usize),
    #[error("negative size {0:?} is not allowed")]
    Negative(String),
    /// A negative YAML integer.
    #[error("negative size {0} is not allowed")]
    NegativeNumber(i64),
    #[error("invalid size {0:?}: expected a number")]
    ExpectedNumber(String),
    #[error("invalid size {0:?}: number too large")]
    NumberTooLarge(String),
    #[error("invalid size {0:?}: unknown suffix {1:?} (use B, KiB, MiB, GiB, KB, MB or GB)")]
    UnknownSuffix(String, String),
    #[error("size {0:?} is too large")]
    TooLarge(String),
}

/// Longest duration text accepted (bytes); anything longer is rejected before parsing.
const MAX_DURATION_TEXT: usize = 64;

/// Parse a duration such as `30d`, `12h`, `90m`, `45s`, `500ms`, `1w` or a combination
/// of terms like `1h30m` / `1d 12h`. Units: `w`, `d`, `h`, `m`, `s`, `ms`.
/// A bare `0` is accepted and means zero; other numbers need a unit.
///
/// Errors (human text): empty input, negative values, unknown or missing units,
/// overflow.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let text = s.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    if text.len() > MAX_DURATION_TEXT {
        return Err(DurationError::TooLong(text.len()));
    }
    if text.starts_with('-') {
        return Err(DurationError::Negative(text.to_string()));
    }
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut total_ms: u64 = 0;
    let mut terms = 0usize;
    while i < bytes.len() {
        // Allow spaces between terms ("1d 12h").
        if bytes[i] == b' ' {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(DurationError::ExpectedNumber(text.to_string(), start + 1));
        }
        let number: u64 = text[start..i]
            .parse()
            .map_err(|_| DurationError::NumberTooLarge(text.to_string()))?;
        if i < bytes.len() && matches!(bytes[i], b'.' | b',') {
            return Err(DurationError::Fraction(text.to_string()));
        }
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &text[unit_start..i];
        let ms_per_unit: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "" => return Err(DurationError::MissingUnit(text.to_string(), number)),
            other => {
                return Err(DurationError::UnknownUnit(
                    text.to_string(),
                    other.to_string(),
                ))
            }
        };
        let term = number
            .checked_mul(ms_per_unit)
            .ok_or_else(|| DurationError::TooLarge(text.to_string()))?;
        total_ms = total_ms
            .checked_add(term)
            .ok_or_else(|| DurationError::TooLarge(text.to_string()))?;
        terms += 1;
    }
    if terms == 0 {
        return Err(DurationError::Empty);
    }
    Ok(Duration::from_millis(total_ms))
}

/// Format a duration in the same syntax [`parse_duration`] accepts, using the largest
/// units up to days that represent it exactly (`300s` → `5m`, `90m` → `1h30m`,
/// `1w` → `7d`, `0` → `0s`).
/// Sub-millisecond parts are dropped.
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000u128),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        let n = ms / size;
        if n > 0 {
            out.push_str(&n.to_string());
            out.push_str(unit);
            ms %= size;
        }
    }
    out
}

/// Largest `max_file_size` accepted by validation (1 GiB).
pub const MAX_SIZE_LIMIT: u64 = 1 << 30;

/// Parse a byte size: a plain integer (bytes) or a number with a suffix
/// `B`, `KiB`, `MiB`, `GiB` (powers of 1024) or `KB`, `MB`, `GB` (powers of 1000).
/// Suffixes are case-insensitive except that `KiB`-style suffixes need the `i`.
/// Spaces between number and suffix are allowed (`1 MiB`).
pub fn parse_size(s: &str) -> Result<u64, SizeError> {
    let text = s.trim();
    if text.is_empty() {
        return Err(SizeError::Empty);
    }
    if text.len() > MAX_DURATION_TEXT {
        return Err(SizeError::TooLong(text.len()));
    }
    if text.starts_with('-') {
        return Err(SizeError::Negative(text.to_string()));
    }
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if digits_end == 0 {
        return Err(SizeError::ExpectedNumber(text.to_string()));
    }
    let number: u64 = text[..digits_end]
        .parse()
        .map_err(|_| SizeError::NumberTooLarge(text.to_string()))?;
    let suffix = text[digits_end..].trim();
    let multiplier: u64 = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => {
            return Err(SizeError::UnknownSuffix(
                text.to_string(),
                suffix.to_string(),
            ))
        }
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| SizeError::TooLarge(text.to_string()))
}

/// serde helper: `#[serde(with = "crate::config::duration::serde_str")]` on a
/// `Duration` field reads and writes strings like `5m`.
pub mod serde_str {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

/// serde helper like [`serde_str`] for `Option<Duration>` (null / absent = `None`).
pub mod serde_opt_str {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&super::format_duration(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => super::parse_duration(&text)
                .map(Some)
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn parses_single_units() {
        assert_eq!(parse_duration("30d"), Ok(secs(30 * 86_400)));
        assert_eq!(parse_duration("12h"), Ok(secs(12 * 3_600)));
        assert_eq!(parse_duration("90m"), Ok(secs(90 * 60)));
        assert_eq!(parse_duration("45s"), Ok(secs(45)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1w"), Ok(secs(7 * 86_400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn parses_combinations() {
        assert_eq!(parse_duration("1h30m"), Ok(secs(5_400)));
        assert_eq!(parse_duration("1d 12h"), Ok(secs(36 * 3_600)));
        assert_eq!(
            parse_duration(" 2m30s500ms "),
            Ok(Duration::from_millis(150_500))
        );
    }

    #[test]
    fn rejects_bad_durations() {
        for (input, needle) in [
            ("", "empty"),
            ("   ", "empty"),
            ("-5m", "negative"),
            ("5", "missing unit"),
            ("5x", "unknown unit"),
            ("m", "expected a number"),
            ("1.5h", "fractions"),
            ("5é", "missing unit"),
            ("é5s", "expected a number"),
            ("5mé", "expected a number"),
            ("99999999999999999999999s", "too large"),
            ("18446744073709551615w", "too large"),
            ("10000000000000000d1d", "too large"),
        ] {
            let err = parse_duration(input).expect_err(input).to_string();
            assert!(err.contains(needle), "{input:?}: {err}");
        }
        let long = "1s".repeat(100);
        assert!(parse_duration(&long).is_err());
    }

    #[test]
    fn format_round_trips() {
        for text in ["5m", "2m", "28d", "1h30m", "500ms", "14d", "8d1h1m1s1ms"] {
            let d = parse_duration(text).unwrap();
            assert_eq!(format_duration(d), text);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
        assert_eq!(format_duration(secs(300)), "5m");
        assert_eq!(format_duration(parse_duration("2w").unwrap()), "14d");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("1 MiB"), Ok(1 << 20));
        assert_eq!(parse_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2MB"), Ok(2_000_000));
        assert_eq!(parse_size("3kb"), Ok(3_000));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("10B"), Ok(10));
        for bad in [
            "",
            "-1",
            "MiB",
            "1XB",
            "1.5MiB",
            "99999999999999999999",
            "18446744073709551615GiB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn serde_helper_reads_strings() {
        #[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
        struct T {
            #[serde(with = "serde_str")]
            d: Duration,
        }
        let t: T = serde_saphyr::from_str("d: 1h30m\n").unwrap();
        assert_eq!(t.d, secs(5_400));
        assert!(serde_saphyr::from_str::<T>("d: 5\n").is_err());
        let back = serde_saphyr::to_string(&t).unwrap();
        assert!(back.contains("1h30m"), "{back}");
    }
}
