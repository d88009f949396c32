//! Semantic validation: [`RawConfig`] → [`Config`]. Absent keys take their value from
//! [`defaults`]; every problem is collected (not just the first) with its YAML path, so
//! `check-config` can print them all. Lines are attached later by the loader.

use std::path::PathBuf;
use std::time::Duration;

use super::duration::{parse_duration, parse_size, SizeError, MAX_SIZE_LIMIT};
use super::raw::{defaults, RawAutoBool, RawConfig, RawSize};
use super::source::{Problems, SourceConfigs};
use super::{
    Config, LogConfig, LogFormat, MetricsConfig, ReportConfig, RevocationConfig,
    RevocationMethodConfig, ScanConfig, ServerConfig, TrustConfig, TrustProfile,
};

/// Longest source name accepted (bytes).
pub const MAX_SOURCE_NAME: usize = 128;
/// Shortest accepted `scan.interval` and `scan.source_timeout`.
pub const MIN_SCAN_DURATION: Duration = Duration::from_secs(1);

/// Validate the global sections of `raw` (the sources are validated by
/// `crate::setup` through the registry); problems go to `p`.
pub fn validate(raw: &RawConfig, p: &mut Problems) -> Config {
    let scan_raw = raw.scan.clone().unwrap_or_default();
    let scan = ScanConfig {
        interval: duration(
            p,
            "scan.interval",
            scan_raw.interval.as_deref(),
            defaults::SCAN_INTERVAL,
            MIN_SCAN_DURATION,
        ),
        source_timeout: duration(
            p,
            "scan.source_timeout",
            scan_raw.source_timeout.as_deref(),
            defaults::SOURCE_TIMEOUT,
            MIN_SCAN_DURATION,
        ),
    };

    let server_raw = raw.server.clone().unwrap_or_default();
    let listen = server_raw
        .listen
        .unwrap_or_else(|| defaults::LISTEN.to_string());
    if let Err(e) = check_listen(&listen) {
        p.add("server.listen", e);
    }
    let web_config_file = match server_raw.web_config_file {
        Some(f) if f.is_empty() => {
            p.add(
                "server.web_config_file",
                "must not be empty (use null for none)",
            );
            None
        }
        Some(f) => Some(PathBuf::from(f)),
        None => None,
    };
    let server = ServerConfig {
        listen,
        web_config_file,
    };

    let m = raw.metrics.clone().unwrap_or_default();
    let metrics = MetricsConfig {
        cluster: m.cluster.unwrap_or_else(|| defaults::CLUSTER.to_string()),
        expose_relative: m.expose_relative.unwrap_or(defaults::EXPOSE_RELATIVE),
        expose_per_cert_error: m
            .expose_per_cert_error
            .unwrap_or(defaults::EXPOSE_PER_CERT_ERROR),
        expose_not_before: m.expose_not_before.unwrap_or(defaults::EXPOSE_NOT_BEFORE),
        expose_expired: m.expose_expired.unwrap_or(defaults::EXPOSE_EXPIRED),
        trim_path_components: m
            .trim_path_components
            .unwrap_or(defaults::TRIM_PATH_COMPONENTS),
        max_dns_names_in_label: m
            .max_dns_names_in_label
            .unwrap_or(defaults::MAX_DNS_NAMES_IN_LABEL),
    };
    if metrics.cluster.chars().any(char::is_control) {
        p.add("metrics.cluster", "must not contain control characters");
    }

    let l = raw.log.clone().unwrap_or_default();
    let level = l.level.unwrap_or_else(|| defaults::LOG_LEVEL.to_string());
    if let Err(e) = check_log_level(&level) {
        p.add("log.level", e);
    }
    let format_text = l.format.unwrap_or_else(|| defaults::LOG_FORMAT.to_string());
    let format = match format_text.as_str() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            p.add(
                "log.format",
                format!("unknown log format {other:?} (expected text or json)"),
            );
            LogFormat::Text
        }
    };
    let log = LogConfig { level, format };

    let probe = super::probe::validate_probe(
        raw.probe.as_ref(),
        &|t: &str| parse_duration(t).map_err(|e| e.to_string()),
        &mut |path, msg| p.add(path, msg),
    );

    let t = raw.trust.clone().unwrap_or_default();
    let trust = TrustConfig {
        roots: path_list(p, "trust.roots", t.roots.as_deref()),
        intermediates: path_list(p, "trust.intermediates", t.intermediates.as_deref()),
        system_roots: t.system_roots.unwrap_or(defaults::SYSTEM_ROOTS),
        fetch_aia: t.fetch_aia.unwrap_or(defaults::FETCH_AIA),
        profile: match t.profile.as_deref().map(TrustProfile::parse) {
            None => TrustProfile::Auto,
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                p.add("trust.profile", e);
                TrustProfile::Auto
            }
        },
    };

    let r = raw.revocation.clone().unwrap_or_default();
    let revocation = RevocationConfig {
        crl_files: path_list(p, "revocation.crl_files", r.crl_files.as_deref()),
        offline: r.offline.unwrap_or(defaults::REVOCATION_OFFLINE),
        ..RevocationConfig::default()
    };
    let mut revocation = revocation;
    if let Some(list) = &r.methods {
        let mut methods = Vec::new();
        for (i, m) in list.iter().enumerate() {
            let parsed = match m.as_str() {
                "crl" => RevocationMethodConfig::Crl,
                "ocsp" => RevocationMethodConfig::Ocsp,
                other => {
                    p.add(
                        format!("revocation.methods[{i}]"),
                        format!(
                            "unknown method {:?} (expected crl or ocsp)",
                            crate::model::bounded(other, 32)
                        ),
                    );
                    continue;
                }
            };
            if methods.contains(&parsed) {
                p.add(format!("revocation.methods[{i}]"), "listed twice");
                continue;
            }
            methods.push(parsed);
        }
        revocation.methods = methods;
    }
    revocation.fetch_timeout = duration(
        p,
        "revocation.fetch_timeout",
        r.fetch_timeout.as_deref(),
        defaults::FETCH_TIMEOUT,
        Duration::from_millis(1),
    );
    if let Some(raw) = &r.max_crl_size {
        let parsed = raw_size(raw);
        match parsed {
            Ok(0) => p.add("revocation.max_crl_size", "must be greater than zero"),
            Ok(n) if n > MAX_SIZE_LIMIT => p.add(
                "revocation.max_crl_size",
                format!("{n} bytes is more than the limit of 1GiB"),
            ),
            Ok(n) => revocation.max_crl_size = n,
            Err(e) => p.add("revocation.max_crl_size", e),
        }
    }
    revocation.ocsp_nonce = r.ocsp_nonce.unwrap_or(defaults::OCSP_NONCE);
    revocation.ocsp_get = r.ocsp_get.unwrap_or(defaults::OCSP_GET);
    match r.max_concurrency_per_host {
        Some(0) => p.add(
            "revocation.max_concurrency_per_host",
            "must be greater than zero",
        ),
        Some(n) if n > 256 => p.add("revocation.max_concurrency_per_host", "must be at most 256"),
        Some(n) => revocation.max_concurrency_per_host = n,
        None => {}
    }
    let cache = r.cache.clone().unwrap_or_default();
    revocation.cache_min_ttl = duration(
        p,
        "revocation.cache.min_ttl",
        cache.min_ttl.as_deref(),
        defaults::CACHE_MIN_TTL,
        Duration::from_millis(1),
    );
    revocation.cache_max_ttl = duration(
        p,
        "revocation.cache.max_ttl",
        cache.max_ttl.as_deref(),
        defaults::CACHE_MAX_TTL,
        Duration::from_millis(1),
    );
    if revocation.cache_max_ttl < revocation.cache_min_ttl {
        p.add(
            "revocation.cache.max_ttl",
            "must not be shorter than revocation.cache.min_ttl",
        );
    }

    let rep = raw.report.clone().unwrap_or_default();
    let report = ReportConfig {
        warning_window: duration(
            p,
            "report.warning_window",
            rep.warning_window.as_deref(),
            defaults::WARNING_WINDOW,
            Duration::from_millis(1),
        ),
    };

    Config {
        scan,
        server,
        metrics,
        log,
        trust,
        revocation,
        report,
        probe,
        sources: SourceConfigs::default(),
    }
}

/// A YAML size (integer or text like `1MiB`) in bytes.
pub fn raw_size(raw: &RawSize) -> Result<u64, SizeError> {
    match raw {
        RawSize::Bytes(n) => Ok(*n),
        RawSize::Negative(n) => Err(SizeError::NegativeNumber(*n)),
        RawSize::Text(t) => parse_size(t),
    }
}

pub fn size(p: &mut Problems, path: &str, raw: Option<&RawSize>, default: u64) -> u64 {
    let Some(raw) = raw else { return default };
    let parsed = raw_size(raw);
    match parsed {
        Ok(0) => {
            p.add(path, "must be greater than zero");
            default
        }
        Ok(n) if n > MAX_SIZE_LIMIT => {
            p.add(path, format!("{n} bytes is more than the limit of 1GiB"));
            default
        }
        Ok(n) => n,
        Err(e) => {
            p.add(path, e);
            default
        }
    }
}

pub fn duration(
    p: &mut Problems,
    path: &str,
    text: Option<&str>,
    default: Duration,
    min: Duration,
) -> Duration {
    let Some(text) = text else {
        return default;
    };
    match parse_duration(text) {
        Ok(d) if d < min => {
            if min == Duration::from_millis(1) {
                p.add(path, "must be greater than zero");
            } else {
                p.add(
                    path,
                    format!(
                        "{text:?} is too short (at least {})",
                        super::duration::format_duration(min)
                    ),
                );
            }
            default
        }
        Ok(d) => d,
        Err(e) => {
            p.add(path, e);
            default
        }
    }
}

pub fn path_list(p: &mut Problems, path: &str, list: Option<&[String]>) -> Vec<PathBuf> {
    let list = list.unwrap_or_default();
    for (i, s) in list.iter().enumerate() {
        if let Err(e) = check_path_text(s) {
            p.add(format!("{path}[{i}]"), e);
        }
    }
    list.iter().map(PathBuf::from).collect()
}

/// Why a path given in the configuration is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathTextError {
    #[error("must be a non-empty path")]
    Empty,
    #[error("must not contain NUL characters")]
    Nul,
}

pub fn check_path_text(s: &str) -> Result<(), PathTextError> {
    if s.trim().is_empty() {
        return Err(PathTextError::Empty);
    }
    if s.contains('\0') {
        return Err(PathTextError::Nul);
    }
    Ok(())
}

/// An `enabled:` key: absent or `auto` → `auto`, `true` → `on`, `false` →
/// `off` (given as `[auto, on, off]`); anything else is a located problem and
/// counts as `auto`.
pub fn auto_bool<T: Copy>(
    p: &mut Problems,
    path: &str,
    raw: Option<&RawAutoBool>,
    [auto, on, off]: [T; 3],
) -> T {
    match raw {
        None => auto,
        Some(RawAutoBool::Bool(true)) => on,
        Some(RawAutoBool::Bool(false)) => off,
        Some(RawAutoBool::Text(t)) => match t.as_str() {
            "auto" => auto,
            "true" => on,
            "false" => off,
            other => {
                p.add(path, format!("{other:?} is not one of auto, true, false"));
                auto
            }
        },
    }
}

/// `^[a-zA-Z0-9_.:-]+$`, at most [`MAX_SOURCE_NAME`] bytes.
/// Why a source name is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceNameError {
    #[error("must not be empty")]
    Empty,
    #[error("is longer than {MAX_SOURCE_NAME} characters")]
    TooLong,
    #[error("{0:?} contains {1:?}; names may only use letters, digits, '_', '.', ':' and '-'")]
    BadChar(String, char),
}

pub fn check_source_name(name: &str) -> Result<(), SourceNameError> {
    if name.is_empty() {
        return Err(SourceNameError::Empty);
    }
    if name.len() > MAX_SOURCE_NAME {
        return Err(SourceNameError::TooLong);
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')))
    {
        return Err(SourceNameError::BadChar(name.to_string(), c));
    }
    Ok(())
}

/// `[host]:port` where host is empty (all interfaces), an IPv4 address, a bracketed
/// IPv6 address or a DNS name; port 0–65535 (parsed by [`super::listen::ListenAddr`]).
pub fn check_listen(addr: &str) -> Result<(), String> {
    super::listen::ListenAddr::parse(addr)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The level must be a valid `tracing_subscriber::EnvFilter` directive.
pub fn check_log_level(level: &str) -> Result<(), String> {
    if level.trim().is_empty() {
        return Err("must not be empty (e.g. info, debug, certvigil=debug,info)".into());
    }
    if level.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(level)
        .map(|_| ())
        .map_err(|e| format!("{level:?} is not a valid log filter: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_forms() {
        for ok in [
            ":9793",
            "0.0.0.0:9793",
            "[::1]:9793",
            "[::]:0",
            "localhost:9793",
            "my-host.example.com:65535",
        ] {
            assert_eq!(check_listen(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "9793",
            ":",
            ":65536",
            ":-1",
            "::1:9793",
            "[::1:9793",
            "[zz]:9793",
            "host name:80",
            "a..b:80",
            "localhost:http",
        ] {
            assert!(check_listen(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn source_names() {
        assert!(check_source_name("host-files").is_ok());
        assert!(check_source_name("a_b.c:d-9").is_ok());
        assert!(check_source_name("").is_err());
        assert!(check_source_name("with space").is_err());
        assert!(check_source_name("ünicode").is_err());
        assert!(check_source_name(&"a".repeat(MAX_SOURCE_NAME + 1)).is_err());
    }

    #[test]
    fn log_levels() {
        assert!(check_log_level("info").is_ok());
        assert!(check_log_level("certvigil=debug,hyper=warn").is_ok());
        assert!(check_log_level("").is_err());
        assert!(check_log_level("info\n").is_err());
        assert!(check_log_level("certvigil=notalevel").is_err());
    }
}
