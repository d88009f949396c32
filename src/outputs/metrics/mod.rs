//! Prometheus exposition of a [`Snapshot`]: per-certificate series compatible
//! with the established x509 certificate exporter plus certvigil's self metrics.
//! Documented in `docs/metrics.md`.
//!
//! * [`labels`] — the per-certificate label schema, escaping, collisions.
//! * [`collector`] — the prometheus-client `Collector` over one snapshot.
//! * [`endpoint`] — `x509_endpoint_*` of the `tls_endpoint` sources.
//! * [`text`] — OpenMetrics → Prometheus text 0.0.4 conversion.
//!
//! Rendering is a pure function of the snapshot, the metrics configuration and
//! the clock; it never fails (an encoding error yields the self metrics only)
//! and never panics on hostile label values.

pub mod collector;
pub mod endpoint;
pub mod labels;
pub mod text;

use prometheus_client::registry::Registry;

use crate::config::MetricsConfig;
use crate::inventory::Snapshot;

pub use collector::SnapshotCollector;

/// Content type of the Prometheus text format 0.0.4.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Content type of OpenMetrics 1.0.
pub const CONTENT_TYPE_OPENMETRICS: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Most `Accept` / `Accept-Encoding` list elements looked at (the rest is ignored).
const MAX_ACCEPT_ELEMENTS: usize = 64;

/// The quality (`q` parameter, 0..=1) of one `Accept`-style list element, given
/// its parameters (`;`-separated, after the media type or coding). Absent = 1;
/// a `q` that is not a number in 0..=1 = 0 (not acceptable).
pub fn q_value<'a>(params: impl Iterator<Item = &'a str>) -> f64 {
    for p in params {
        let Some((k, v)) = p.split_once('=') else {
            continue;
        };
        if k.trim().eq_ignore_ascii_case("q") {
            return match v.trim().parse::<f64>() {
                Ok(q) if (0.0..=1.0).contains(&q) => q,
                _ => 0.0,
            };
        }
    }
    1.0
}

/// Does this Accept header ask for OpenMetrics rather than the Prometheus text
/// format? Negotiated as Prometheus' client libraries do: among the elements
/// naming `application/openmetrics-text` or `text/plain` with q > 0, the one with
/// the highest q wins, the first listed on a tie; wildcards (`*/*`, `text/*`)
/// and anything else select nothing, and without a match the answer is the
/// text format. So `text/plain;q=1, application/openmetrics-text;q=0.1` gets
/// text, and what Prometheus sends (OpenMetrics first, `q=0.5` text) gets
/// OpenMetrics.
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    // (q, is OpenMetrics) of the best element so far.
    let mut best: Option<(f64, bool)> = None;
    for part in accept.split(',').take(MAX_ACCEPT_ELEMENTS) {
        let mut params = part.split(';');
        let media = params.next().unwrap_or("").trim();
        let om = media.eq_ignore_ascii_case("application/openmetrics-text");
        if !om && !media.eq_ignore_ascii_case("text/plain") {
            continue;
        }
        let q = q_value(params);
        if q <= 0.0 {
            continue;
        }
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, om));
        }
    }
    best.is_some_and(|(_, om)| om)
}

/// Render the exposition. `snap` None = before the first scan (self metrics
/// only, no per-cert series, `x509_exporter_ready` 0). `now_unix` = real clock
/// for relative metrics (`expires_in` / `valid_since` are computed at render
/// time like the established exporter).
pub fn render(
    snap: Option<&Snapshot>,
    cfg: &MetricsConfig,
    now_unix: f64,
    openmetrics: bool,
) -> String {
    match render_with(snap, cfg, now_unix, openmetrics) {
        Ok(s) => s,
        // Writing into a String cannot fail; keep a valid exposition anyway.
        Err(_) => render_with(None, cfg, now_unix, openmetrics).unwrap_or_default(),
    }
}

fn render_with(
    snap: Option<&Snapshot>,
    cfg: &MetricsConfig,
    now_unix: f64,
    openmetrics: bool,
) -> Result<String, std::fmt::Error> {
    let collector = SnapshotCollector::build(snap, cfg, now_unix);
    let mut out = String::with_capacity(collector.size_hint());
    let mut registry = Registry::default();
    registry.register_collector(Box::new(collector));
    if openmetrics {
        prometheus_client::encoding::text::encode(&mut out, &registry)?;
    } else {
        let mut w = text::TextWriter::new(&mut out);
        prometheus_client::encoding::text::encode(&mut w, &registry)?;
        w.finish();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::wants_openmetrics;

    #[test]
    fn negotiates_openmetrics() {
        assert!(!wants_openmetrics(None));
        assert!(!wants_openmetrics(Some("")));
        assert!(!wants_openmetrics(Some("text/plain")));
        assert!(!wants_openmetrics(Some("*/*")));
        assert!(wants_openmetrics(Some("application/openmetrics-text")));
        // What Prometheus 2.x sends.
        assert!(wants_openmetrics(Some(
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        )));
        assert!(wants_openmetrics(Some(
            "text/plain;version=0.0.4;q=0.2, Application/OpenMetrics-Text; version=1.0.0; q=0.5"
        )));
        assert!(!wants_openmetrics(Some(
            "application/openmetrics-text; q=0, text/plain"
        )));
        assert!(!wants_openmetrics(Some(
            "application/openmetrics-text;q=abc"
        )));
        assert!(!wants_openmetrics(Some("application/openmetrics-textual")));
    }

    #[test]
    fn openmetrics_negotiation_honours_q_values() {
        // The case: text preferred explicitly.
        assert!(!wants_openmetrics(Some(
            "text/plain;q=1, application/openmetrics-text;q=0.1"
        )));
        assert!(!wants_openmetrics(Some(
            "application/openmetrics-text;q=0.1, text/plain"
        )));
        assert!(!wants_openmetrics(Some(
            "text/plain;version=0.0.4;q=0.5, Application/OpenMetrics-Text; version=1.0.0; q=0.2"
        )));
        assert!(wants_openmetrics(Some(
            "text/plain;q=0.3, application/openmetrics-text;q=0.9"
        )));
        // Equal q: the first listed wins.
        assert!(!wants_openmetrics(Some(
            "text/plain, application/openmetrics-text"
        )));
        assert!(wants_openmetrics(Some(
            "application/openmetrics-text;q=0.5, text/plain;q=0.5"
        )));
        // Wildcards select nothing; a lone OpenMetrics element with a lower q
        // than */* still wins (the default only applies without a match).
        assert!(wants_openmetrics(Some(
            "*/*, application/openmetrics-text;q=0.2"
        )));
        assert!(!wants_openmetrics(Some("text/*;q=1, */*")));
        // Out-of-range and malformed q are "not acceptable".
        assert!(!wants_openmetrics(Some("application/openmetrics-text;q=2")));
        assert!(!wants_openmetrics(Some(
            "application/openmetrics-text;q=-1"
        )));
        // Elements past the bound are ignored.
        let many = "x/y,".repeat(100) + "application/openmetrics-text";
        assert!(!wants_openmetrics(Some(&many)));
    }
}
