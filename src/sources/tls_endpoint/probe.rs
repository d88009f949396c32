//! The logic behind `GET /probe?target=...&module=...` (Prometheus'
//! multi-target pattern, like blackbox_exporter): validate the target (the
//! scheme allow-list of [`super::target`]; bare `host:port` means `tls://`) and
//! probe it now with the module's settings. The served chain is judged by the
//! same `checks::Checker` as the inventory (wired in `app::probe`; configured
//! trust, revocation not fetched) and rendered by `outputs::http::probe`.
//!
//! `/probe` lets whoever can scrape the exporter choose what it connects to
//! (exactly like blackbox_exporter): restrict access to it (web config basic
//! auth, network policy) where that matters.

use std::sync::Arc;
use std::time::Instant;

use super::config::ProbeModule;
use super::conn::{ClientAuth, Failure};
use super::target::{self, Target};
use crate::model::{CertEntry, ErrorEntry, ProbeOutcome};

/// Source name of probed entries (`source_name` of their `x509_cert_*`).
pub const PROBE_SOURCE_NAME: &str = "probe";
/// Longest `target` / `module` value accepted (bytes).
pub const MAX_PARAM_LEN: usize = 1024;

/// A probe request, decoded and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    pub target: Target,
    pub module: String,
    /// Given as `host:port` (the module's protocol applies).
    pub bare: bool,
}

/// Why a request is rejected (HTTP 400).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProbeRequestError {
    #[error("missing parameter target")]
    MissingTarget,
    #[error("invalid target: {0}")]
    BadTarget(String),
    #[error("unknown module {0:?}")]
    UnknownModule(String),
}

/// Decode `application/x-www-form-urlencoded` (bounded, total).
pub fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len().min(MAX_PARAM_LEN));
    let mut i = 0;
    while i < b.len() && out.len() < MAX_PARAM_LEN + 1 {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse the query string of `/probe`. `modules`: the configured module names
/// (`tls`, the default, always exists).
pub fn parse_request(query: &str, modules: &[String]) -> Result<ProbeRequest, ProbeRequestError> {
    let mut t = None;
    let mut module = "tls".to_string();
    for pair in query.split('&').take(64) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match form_decode(k).as_str() {
            "target" => t = Some(form_decode(v)),
            "module" => module = form_decode(v),
            _ => {}
        }
    }
    let t = t
        .filter(|t| !t.is_empty())
        .ok_or(ProbeRequestError::MissingTarget)?;
    if t.len() > MAX_PARAM_LEN {
        return Err(ProbeRequestError::BadTarget("too long".into()));
    }
    let bare = !t.contains("://");
    let target = target::parse(&t, true).map_err(ProbeRequestError::BadTarget)?;
    if module != "tls" && !modules.contains(&module) {
        return Err(ProbeRequestError::UnknownModule(crate::model::bounded(
            &module, 64,
        )));
    }
    Ok(ProbeRequest {
        target,
        module,
        bare,
    })
}

/// Probe `t` now; the entries' trust is left for the checker.
pub async fn run(t: &Target, module: &ProbeModule, auth: Option<&ClientAuth>) -> ProbeOutcome {
    let started = Instant::now();
    let results = super::probe_target(t, false, module.timeout, auth).await;
    let (address, result) = results.into_iter().next().unwrap_or_else(|| {
        (
            String::new(),
            Err(Failure::new(
                crate::model::Reason::ConnectFailed,
                "no address",
            )),
        )
    });
    let base = super::endpoint_sref(PROBE_SOURCE_NAME, t, &address);
    let (items, error, ok, tls_version) = match result {
        Ok(obs) => {
            let (items, _) = super::chain_items(
                base,
                t,
                &address,
                &obs.presented.chain,
                !obs.presented.ocsp.is_empty(),
                Some(&obs),
            );
            (items, None, true, obs.tls_version.clone())
        }
        Err(f) => {
            let err = ErrorEntry::new(base.clone(), f.reason, &f.message);
            let items = match &f.presented {
                Some(p) => {
                    super::chain_items(base, t, &address, &p.chain, !p.ocsp.is_empty(), None).0
                }
                None => Vec::new(),
            };
            (items, Some(err), false, String::new())
        }
    };
    let entries: Vec<CertEntry> = items
        .into_iter()
        .map(|(source, index_in_bundle, cert)| CertEntry {
            source,
            index_in_bundle,
            cert: Arc::clone(&cert),
            expired: false,
            trust: Default::default(),
            revocation: Default::default(),
        })
        .collect();
    ProbeOutcome {
        duration: started.elapsed(),
        handshake_ok: ok,
        entries,
        error,
        tls_version,
        verify: module.verify,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        let r = parse_request("target=tls%3A%2F%2F127.0.0.1%3A8443&module=tls", &[]).unwrap();
        assert_eq!(r.target.port, 8443);
        let r = parse_request("target=example.com:443", &[]).unwrap();
        assert_eq!(r.target.protocol, target::Protocol::Tls);
        assert_eq!(
            parse_request("", &[]),
            Err(ProbeRequestError::MissingTarget)
        );
        assert!(matches!(
            parse_request("target=file:///etc/passwd", &[]),
            Err(ProbeRequestError::BadTarget(_))
        ));
        assert!(matches!(
            parse_request("target=h:1&module=x", &[]),
            Err(ProbeRequestError::UnknownModule(_))
        ));
        assert!(parse_request("target=h:1&module=x", &["x".into()]).is_ok());
        assert_eq!(form_decode("a%2"), "a%2");
        assert_eq!(form_decode("%zz%41+"), "%zzA ");
    }
}
