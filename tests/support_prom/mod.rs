//! Shared by the tests of the shipped rules and dashboards (`alert_rules`,
//! `prometheus_real`): the established exporter's alert expressions and
//! dashboard queries (COMPAT.md §5 and §6), Grafana variable substitution and
//! query extraction from a dashboard JSON.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The established exporter's shipped alerts (COMPAT.md §5, defaults
/// substituted, latest form of each), named `Enix<name>`.
pub const COMPAT_ALERTS: &[(&str, &str)] = &[
    ("X509ExporterReadErrors", "delta(x509_read_errors[15m]) > 0"),
    ("CertificateError", "x509_cert_error > 0"),
    (
        "CertificateRenewal",
        "(x509_cert_not_after - time()) < (28 * 86400) and (x509_cert_not_after - time()) > 0",
    ),
    ("CertificateExpiration", "(x509_cert_not_after - time()) < (14 * 86400)"),
    (
        "SourceErrors",
        "sum without (reason) (increase(x509_source_errors_total[15m])) > 5",
    ),
    ("SourceDown", "x509_source_up == 0"),
    (
        "KubeTransportErrors",
        "sum without (resource, reason) (increase(x509_kube_transport_errors_total[15m])) > 5",
    ),
    (
        "KeystorePassphraseFailures",
        "(increase(x509_pkcs12_passphrase_failures_total[15m]) > 0) or (increase(x509_jks_passphrase_failures_total[15m]) > 0)",
    ),
    ("CertificateNotYetValid", "(x509_cert_not_before - time()) > 0"),
    (
        "CertificateCollision",
        "increase(x509_cert_collision_dropped_total[1h]) > 0",
    ),
    (
        "CRLNeedsRefresh",
        "(x509_crl_next_update - time()) < (7 * 86400) and x509_crl_stale == 0",
    ),
    ("CRLStale", "x509_crl_stale > 0"),
];

pub fn compat_rules() -> String {
    let mut s = String::from("groups:\n  - name: x509-certificate-exporter.rules\n    rules:\n");
    for (name, expr) in COMPAT_ALERTS {
        s.push_str(&format!(
            "      - alert: Enix{name}\n        expr: '{}'\n        for: 2s\n",
            expr.replace('\'', "''")
        ));
    }
    s
}

// ---------------------------------------------------------------- dashboards

/// Replace Grafana variables by concrete values.
pub fn substitute(expr: &str) -> String {
    let mut e = expr.to_string();
    for (k, v) in [
        ("${datasource}", ""),
        ("$__rate_interval", "1m"),
        ("$__interval", "15s"),
        ("$__range", "1h"),
        ("$cluster", ".*"),
        ("$source_kind", ".*"),
        ("$namespace", ".*"),
        ("$job", ".*"),
    ] {
        e = e.replace(k, v);
    }
    e
}

/// (panel title, expr) of every target of every panel, rows' nested panels included.
pub fn dashboard_queries(path: &Path) -> Vec<(String, String)> {
    let d: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    fn walk(panels: &Value, out: &mut Vec<(String, String)>) {
        for p in panels.as_array().into_iter().flatten() {
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(e) = t["expr"].as_str() {
                    out.push((p["title"].as_str().unwrap_or("").to_string(), e.to_string()));
                }
            }
            walk(&p["panels"], out);
        }
    }
    walk(&d["panels"], &mut out);
    out
}

/// Metric selectors of the dashboard's `label_values(<selector>, label)` variables.
pub fn variable_selectors(path: &Path) -> Vec<(String, String)> {
    let d: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for v in d["templating"]["list"].as_array().into_iter().flatten() {
        if let Some(def) = v["definition"].as_str() {
            let inner = def
                .strip_prefix("label_values(")
                .and_then(|s| s.strip_suffix(')'))
                .and_then(|s| s.rsplit_once(','))
                .map(|(sel, _)| sel.trim().to_string())
                .unwrap_or_else(|| panic!("unexpected variable query {def}"));
            out.push((v["name"].as_str().unwrap_or("").to_string(), inner));
        }
    }
    out
}

/// COMPAT.md §6: every query of the established exporter's dashboard, with
/// `E` substituted, and whether it must return data on this fixture.
pub fn compat_dashboard_queries() -> Vec<(String, String, Option<&'static str>)> {
    const SECRETS: Option<&str> = Some(
        "Kubernetes Secret panel (secret_name/secret_namespace != \"\"): this fixture has no \
         Secret source (COMPAT.md §7); the Secret labels are covered by the metrics golden test",
    );
    let mut q: Vec<(String, String, Option<&'static str>)> = vec![
        ("Total Certificates".into(), "count(x509_cert_not_after)".into(), None),
        ("Expired".into(), "sum(((x509_cert_not_after - time()) / 86400) < bool 0)".into(), None),
        ("Expiring within critical".into(), "sum(0 < ((x509_cert_not_after - time()) / 86400) < bool 7)".into(), None),
        ("Expiring within warning".into(), "sum(0 < ((x509_cert_not_after - time()) / 86400) < bool 28)".into(), None),
        ("Media: Kubernetes Secret".into(), "count(x509_cert_not_after{secret_name!=\"\"})".into(), SECRETS),
        ("Media: Kubeconfig Embedded".into(), "count(x509_cert_not_after{filepath!=\"\",embedded_key!=\"\"})".into(), None),
        ("Media: Certificate File".into(), "count(x509_cert_not_after{filepath!=\"\",embedded_key=\"\"})".into(), None),
        ("Kubernetes Secrets table".into(), "sort(((x509_cert_not_after{secret_name!=\"\"} - time()) / 86400) < 180)".into(), SECRETS),
        ("Host Files table".into(), "sort(((x509_cert_not_after{filepath!=\"\"} - time()) / 86400) < 180)".into(), None),
        ("Top Issuers".into(), "topk(10, sort_desc(count by (issuer_CN) (x509_cert_not_after)))".into(), None),
        ("Top Namespaces".into(), "topk(10, sort_desc(count by (secret_namespace) (x509_cert_not_after{secret_namespace!=\"\"})))".into(), SECRETS),
        ("Top Instances".into(), "topk(10, sort_desc(count by (instance) (x509_cert_not_after{filepath!=\"\"})))".into(), None),
        ("Secrets: Shortest Validity".into(), "bottomk(10, (x509_cert_not_after{secret_name!=\"\"} - x509_cert_not_before) / 86400)".into(), SECRETS),
        ("Secrets: Longest Validity".into(), "topk(10, (x509_cert_not_after{secret_name!=\"\"} - x509_cert_not_before) / 86400)".into(), SECRETS),
        ("Host Paths: Shortest Validity".into(), "bottomk(10, (x509_cert_not_after{filepath!=\"\"} - x509_cert_not_before) / 86400)".into(), None),
        ("Host Paths: Longest Validity".into(), "topk(10, (x509_cert_not_after{filepath!=\"\"} - x509_cert_not_before) / 86400)".into(), None),
    ];
    for e in ["x509_source_errors_total", "x509_read_errors"] {
        for (title, expr) in [
            ("Exporters", format!("count({e})")),
            ("Exporter Errors", format!("sum({e})")),
            ("Reporting Exporters", format!("count({e})")),
            ("Exporters with Errors", format!("sum ({e} > bool 0)")),
            ("Error Rate", format!("sum(rate({e}[15m]))")),
            ("Cumulative Errors", format!("sum({e})")),
            (
                "Top Exporters by Error Rate",
                format!("topk(10, rate({e}[6h]))"),
            ),
            (
                "Top Exporters by Cumulative Errors",
                format!("topk(10, {e})"),
            ),
        ] {
            q.push((format!("{title} [{e}]"), expr, None));
        }
    }
    q
}
