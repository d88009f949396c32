//! `GET /probe?target=URL|host:port[&module=NAME]`: probe one TLS endpoint now
//! and answer blackbox_exporter-compatible series (`probe_success`,
//! `probe_duration_seconds`, `probe_ssl_earliest_cert_expiry`,
//! `probe_ssl_last_chain_expiry_timestamp_seconds` (only when the chain
//! verified), `probe_ssl_last_chain_info`, `probe_tls_version_info`) followed by
//! the served chain's `x509_cert_*` series. The probing and judging is
//! [`crate::sources::tls_endpoint::probe`]; a bad request is a 400.
//! Modules: `probe.modules` of the configuration; `tls` (the default) is plain
//! TLS with the configured trust.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use crate::checks::Checker;
use crate::config::Config;
use crate::inventory::Snapshot;
use crate::outputs::metrics::labels::escape_label_value;
use crate::sources::tls_endpoint::probe::{self, ProbeOutcome};

/// The probe checker, built from the configuration it belongs to (rebuilt
/// when a reload swapped the configuration).
type CheckerSlot = std::sync::Mutex<Option<(Arc<Config>, Arc<tokio::sync::Mutex<Checker>>)>>;

fn checker_for(cfg: &Arc<Config>) -> Result<Arc<tokio::sync::Mutex<Checker>>, String> {
    static SLOT: OnceLock<CheckerSlot> = OnceLock::new();
    let slot = SLOT.get_or_init(|| std::sync::Mutex::new(None));
    let mut g = match slot.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    if let Some((c, k)) = g.as_ref() {
        if Arc::ptr_eq(c, cfg) {
            return Ok(k.clone());
        }
    }
    let mut rev = cfg.revocation.clone();
    rev.offline = true;
    let checker = Arc::new(tokio::sync::Mutex::new(Checker::new(&cfg.trust, &rev)?));
    *g = Some((cfg.clone(), checker.clone()));
    Ok(checker)
}

/// Answer one `/probe` request: `Ok(exposition)` or `Err((status, message))`.
pub async fn handle(cfg: Arc<Config>, query: &str) -> Result<String, (u16, String)> {
    let names: Vec<String> = cfg.probe.modules.keys().cloned().collect();
    let mut req = probe::parse_request(query, &names).map_err(|e| (400, format!("{e}\n")))?;
    let module = cfg
        .probe
        .module(&req.module)
        .ok_or_else(|| (400, "unknown module\n".to_string()))?;
    if req.bare {
        req.target.protocol = module.protocol;
    }
    let auth = crate::sources::tls_endpoint::load_client_pem(
        module.client_cert.as_deref(),
        module.client_key.as_deref(),
    )
    .map_err(|e| {
        (
            500,
            format!("module {}: client certificate: {e}\n", req.module),
        )
    })?
    .map(|(a, _)| a);
    let checker = checker_for(&cfg).map_err(|e| (500, format!("trust configuration: {e}\n")))?;
    let now = chrono::Utc::now();
    let out = probe::run(&req.target, &module, auth.as_ref(), &checker, now).await;
    Ok(render(&out, &cfg, now))
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
