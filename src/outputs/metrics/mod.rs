//! Prometheus / OpenMetrics exposition of a [`Snapshot`].
//!
//! TEMPORARY STUB on branch `h-http`: only the signatures the HTTP server calls, with
//! a minimal body, so that this branch compiles. The real implementation lives on
//! the metrics branch and replaces this file at merge.

use crate::config::MetricsConfig;
use crate::inventory::Snapshot;

/// Prometheus text exposition format 0.0.4.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// OpenMetrics 1.0 text format.
pub const CONTENT_TYPE_OPENMETRICS: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Whether the `Accept` header asks for OpenMetrics.
pub fn wants_openmetrics(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| a.contains("application/openmetrics-text"))
}

/// Render the exposition (stub: build info and certificate count only).
pub fn render(
    snap: Option<&Snapshot>,
    _cfg: &MetricsConfig,
    _now_unix: f64,
    openmetrics: bool,
) -> String {
    let mut out = String::new();
    out.push_str("# TYPE x509_read_errors gauge\n");
    let errors = snap.map(|s| s.errors.len()).unwrap_or(0);
    out.push_str(&format!("x509_read_errors {errors}\n"));
    if openmetrics {
        out.push_str("# EOF\n");
    }
    out
}
