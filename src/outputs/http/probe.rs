//! `GET /probe?target=URL|host:port[&module=NAME]`: probe one TLS endpoint now
//! and answer blackbox_exporter-compatible series (`probe_success`,
//! `probe_duration_seconds`, `probe_ssl_earliest_cert_expiry`,
//! `probe_ssl_last_chain_expiry_timestamp_seconds` (only when the chain
//! verified), `probe_ssl_last_chain_info`, `probe_tls_version_info`) followed by
//! the served chain's `x509_cert_*` series. The probing and judging is
//! `sources::tls_endpoint::probe` (through [`Prober`]); a bad request is a 400.
//! Modules: `probe.modules` of the configuration; `tls` (the default) is plain
//! TLS with the configured trust.

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::config::Config;
use crate::inventory::Snapshot;
use crate::model::ProbeOutcome;
use crate::outputs::metrics::labels::escape_label_value;

/// Runs one probe for `/probe`: decodes the query, probes the target and judges
/// the chain (implemented by the application wiring, `app::probe`, since it
/// needs both the `tls_endpoint` source and the checks). `Err((status, message))`
/// for a bad request (400) or an unusable configuration (500).
pub trait Prober: Send + Sync {
    fn probe(&self, cfg: Arc<Config>, query: String) -> ProbeFuture;
}

/// What [`Prober::probe`] returns.
pub type ProbeFuture =
    Pin<Box<dyn Future<Output = Result<ProbeOutcome, (u16, String)>> + Send + 'static>>;

/// Answer one `/probe` request: `Ok(exposition)` or `Err((status, message))`.
pub async fn handle(
    prober: Option<&Arc<dyn Prober>>,
    cfg: Arc<Config>,
    query: &str,
) -> Result<String, (u16, String)> {
    let Some(prober) = prober else {
        return Err((404, "probing is not available here\n".into()));
    };
    let out = prober.probe(cfg.clone(), query.to_string()).await?;
    Ok(render(&out, &cfg, chrono::Utc::now()))
}

fn gauge(out: &mut String, name: &str, help: &str, labels: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {value}");
    } else {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

fn pairs(p: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (i, (k, v)) in p.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(k);
        s.push_str("=\"");
        escape_label_value(v, &mut s);
        s.push('"');
    }
    s
}

/// The exposition (Prometheus text 0.0.4) of one probe.
pub fn render(o: &ProbeOutcome, cfg: &Config, now: chrono::DateTime<chrono::Utc>) -> String {
    let mut out = String::new();
    gauge(
        &mut out,
        "probe_success",
        "Whether the probe succeeded (handshake, verified chain, matching name).",
        "",
        u8::from(o.success()),
    );
    gauge(
        &mut out,
        "probe_duration_seconds",
        "How long the probe took to complete in seconds.",
        "",
        o.duration.as_secs_f64(),
    );
    if let Some(min) = o.entries.iter().map(|e| e.cert.not_after).min() {
        gauge(
            &mut out,
            "probe_ssl_earliest_cert_expiry",
            "Returns earliest SSL cert expiry date (Unix seconds).",
            "",
            min,
        );
    }
    if o.chain_verified() {
        let min = o
            .entries
            .iter()
            .filter(|e| e.trust.status == crate::model::TrustStatus::Trusted)
            .map(|e| e.cert.not_after)
            .min()
            .unwrap_or(0);
        gauge(
            &mut out,
            "probe_ssl_last_chain_expiry_timestamp_seconds",
            "Returns last SSL chain expiry in timestamp seconds.",
            "",
            min,
        );
    }
    if let Some(leaf) = o.entries.first() {
        let c = &leaf.cert;
        let san = c
            .dns_names
            .iter()
            .chain(c.ip_addresses.iter())
            .cloned()
            .collect::<Vec<_>>()
            .join(",");
        let serial = c.serial_hex.replace(':', "");
        let l = pairs(&[
            ("fingerprint_sha256", &c.sha256_fingerprint),
            ("subject", &c.subject.rendered),
            ("issuer", &c.issuer.rendered),
            ("subjectalternative", &san),
            ("serialnumber", &serial),
        ]);
        gauge(
            &mut out,
            "probe_ssl_last_chain_info",
            "Contains SSL leaf certificate information.",
            &l,
            1,
        );
    }
    if o.handshake_ok {
        let l = pairs(&[("version", &o.tls_version)]);
        gauge(
            &mut out,
            "probe_tls_version_info",
            "Returns the TLS version used or NaN when unknown.",
            &l,
            1,
        );
    }
    if !o.entries.is_empty() {
        let mut snap = Snapshot::empty(now);
        snap.certificates = o.entries.clone();
        snap.sort();
        let x509 = crate::outputs::metrics::render(
            Some(&snap),
            &cfg.metrics,
            now.timestamp() as f64,
            false,
        );
        // Only the per-certificate families (HELP/TYPE lines included).
        for line in x509.lines() {
            let name = line
                .strip_prefix("# HELP ")
                .or_else(|| line.strip_prefix("# TYPE "))
                .unwrap_or(line);
            if name.starts_with("x509_cert_") && !name.starts_with("x509_cert_collision") {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}
