//! The `tls_endpoint` source: what servers actually present. For each target
//! (URL in the config or on the command line, or from Prometheus file_sd files)
//! it resolves the host (first address, or every address when asked), connects,
//! runs the protocol's STARTTLS exchange when there is one ([`starttls`]),
//! performs the TLS handshake with a verifier that records the served chain and
//! stapled OCSP and accepts it ([`verifier`]), and hands the chain to the scraper
//! as one object: `location` = `host:port`, `index_in_bundle` = position in the
//! served chain, the handshake facts as the `endpoint` object. Trust is decided
//! by `checks` like for stored certificates, so an expired, self-signed or
//! mismatching chain is still inventoried. Failures are located errors with
//! bounded reasons (`connect_failed`, `starttls_failed`, `starttls_injection`,
//! `tls_handshake_failed`, `timeout`).
//!
//! Work is bounded: at most `concurrency` probes at once, each under `timeout`,
//! bounded plaintext reads, at most [`verifier::MAX_CHAIN`] certificates per chain.
//! [`probe`] serves `/probe` with the same machinery.

pub mod config;
pub use crate::model::target;
pub mod conn;
pub mod file_sd;
pub mod probe;

pub mod starttls;
pub mod verifier;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use super::{BoxFuture, Content, Object, ParsedItem, ScanCtx, Source, SourceOutput};
use crate::model::{Endpoint, ErrorEntry, ParsedCert, Reason, SourceKind, SourceRef};
use crate::parse::ParseOptions;

pub use config::TlsEndpointConfig;
use conn::{ClientAuth, Failure, Observed};
use target::Target;

pub use crate::model::{LABEL_ADDRESS, LABEL_ENDPOINT, LABEL_PROTOCOL, LABEL_SERVER_NAME};

/// Name of the source built from command-line URLs.
pub const CLI_SOURCE_NAME: &str = "endpoints";

/// A configured set of endpoints.
pub struct TlsEndpointSource {
    cfg: TlsEndpointConfig,
    opts: ParseOptions,
    /// Loaded at build time; an unusable client certificate fails every scan.
    client: Result<Option<(ClientAuth, Vec<u8>)>, String>,
}

/// Build the source of one validated config entry.
pub fn build(cfg: &TlsEndpointConfig) -> TlsEndpointSource {
    TlsEndpointSource {
        client: load_client_auth(cfg),
        cfg: cfg.clone(),
        opts: ParseOptions::default(),
    }
}

/// Read the client certificate chain and key (PEM). The key is kept only in
/// memory for rustls and never logged; errors name the file, never its content.
fn load_client_auth(cfg: &TlsEndpointConfig) -> Result<Option<(ClientAuth, Vec<u8>)>, String> {
    load_client_pem(cfg.client_cert.as_deref(), cfg.client_key.as_deref())
}

/// [`load_client_auth`] for a certificate and key path pair (also `/probe` modules).
pub fn load_client_pem(
    cert: Option<&std::path::Path>,
    key: Option<&std::path::Path>,
) -> Result<Option<(ClientAuth, Vec<u8>)>, String> {
    let (Some(cert), Some(key)) = (cert, key) else {
        return Ok(None);
    };
    let cert_pem = std::fs::read(cert).map_err(|e| format!("{}: {e}", cert.display()))?;
    let chain: Vec<_> = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<_, _>>()
        .map_err(|_| format!("{}: unreadable PEM certificate", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no certificate", cert.display()));
    }
    let key_pem = std::fs::read(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let key_der = rustls_pemfile::private_key(&mut &key_pem[..])
        .ok()
        .flatten()
        .ok_or_else(|| format!("{}: no usable private key", key.display()))?;
    Ok(Some((
        ClientAuth {
            chain,
            key: Arc::new(key_der),
        },
        cert_pem,
    )))
}

impl TlsEndpointSource {
    fn sref(&self, t: &Target, address: &str) -> SourceRef {
        endpoint_sref(&self.cfg.name, t, address)
    }
}

/// The source reference of one probed address: location `host:port`, labels
/// `endpoint`, `endpoint_address`, `endpoint_server_name`, `endpoint_protocol`.
pub fn endpoint_sref(source_name: &str, t: &Target, address: &str) -> SourceRef {
    SourceRef::new(SourceKind::TlsEndpoint, source_name, t.location())
        .with_label(LABEL_ENDPOINT, t.location())
        .with_label(LABEL_ADDRESS, address)
        .with_label(LABEL_SERVER_NAME, t.name())
        .with_label(LABEL_PROTOCOL, t.protocol.scheme())
}

impl TlsEndpointSource {
    /// Every target of this scan: static ones, then file_sd ones (deduplicated).
    fn targets(&self, errors: &mut Vec<ErrorEntry>) -> Vec<Target> {
        let mut out = self.cfg.targets.clone();
        for (path, res) in file_sd::load(&self.cfg.file_sd) {
            match res {
                Ok(ts) => out.extend(ts),
                Err((reason, msg)) => errors.push(ErrorEntry::new(
                    SourceRef::new(SourceKind::TlsEndpoint, &self.cfg.name, path),
                    reason,
                    msg,
                )),
            }
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|t| seen.insert(t.clone()));
        out.truncate(config::MAX_TARGETS);
        out
    }
}

/// Probe one target (every resolved address) under `timeout`.
pub async fn probe_target(
    t: &Target,
    every_address: bool,
    timeout: Duration,
    auth: Option<&ClientAuth>,
) -> Vec<(String, Result<Observed, Failure>)> {
    let work = async {
        let addrs = match conn::resolve(t, every_address).await {
            Ok(a) => a,
            Err(f) => return vec![(String::new(), Err(f))],
        };
        let mut out = Vec::with_capacity(addrs.len());
        for a in addrs {
            out.push((a.to_string(), conn::probe_address(t, a, auth).await));
        }
        out
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(v) => v,
        Err(_) => vec![(
            String::new(),
            Err(Failure::new(
                Reason::Timeout,
                format!("no complete answer from {t} within {timeout:?} (silent server?)"),
            )),
        )],
    }
}

/// Parse a served chain into inventory items with the endpoint facts on their
/// source reference. Returns the items and per-certificate parse errors.
pub fn chain_items(
    base: SourceRef,
    t: &Target,
    address: &str,
    chain: &[Vec<u8>],
    ocsp_stapled: bool,
    handshake: Option<&Observed>,
) -> (Vec<ParsedItem>, Vec<ErrorEntry>) {
    let mut parsed: Vec<(usize, ParsedCert)> = Vec::new();
    let mut errors = Vec::new();
    for (i, der) in chain.iter().enumerate() {
        match crate::parse::x509::summarize(der) {
            Ok(c) => parsed.push((i, c)),
            Err(e) => errors.push(ErrorEntry::new(
                base.clone(),
                e.reason,
                format!("served certificate {i}: {}", e.message),
            )),
        }
    }
    let hostname_match = parsed.iter().find(|(i, _)| *i == 0).is_some_and(|(_, c)| {
        crate::model::hostname_matches(&c.dns_names, &c.ip_addresses, t.name())
    });
    let mut sref = base;
    sref.endpoint = Some(Arc::new(Endpoint {
        address: address.to_string(),
        server_name: t.name().to_string(),
        protocol: t.protocol.scheme().to_string(),
        tls_version: handshake.map(|h| h.tls_version.clone()).unwrap_or_default(),
        cipher: handshake.map(|h| h.cipher.clone()).unwrap_or_default(),
        alpn: handshake.and_then(|h| h.alpn.clone()),
        hostname_match,
        ocsp_stapled,
        handshake_micros: handshake
            .map(|h| h.elapsed.as_micros().min(u64::MAX as u128) as u64)
            .unwrap_or(0),
    }));
    let sref = Arc::new(sref);
    let items = parsed
        .into_iter()
        .map(|(i, c)| (sref.clone(), i, Arc::new(c)))
        .collect();
    (items, errors)
}

impl Source for TlsEndpointSource {
    fn kinds(&self) -> Vec<SourceKind> {
        vec![SourceKind::TlsEndpoint]
    }

    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn parse_options(&self) -> &ParseOptions {
        &self.opts
    }

    fn scan(self: Arc<Self>, _ctx: ScanCtx) -> BoxFuture<SourceOutput> {
        Box::pin(async move {
            let auth = match &self.client {
                Ok(a) => a.clone(),
                Err(e) => {
                    return SourceOutput {
                        findings: Vec::new(),
                        series: Default::default(),
                        objects: Vec::new(),
                        failure: Some(ErrorEntry::new(
                            SourceRef::new(SourceKind::TlsEndpoint, &self.cfg.name, &self.cfg.name),
                            Reason::ReadFailed,
                            format!("client certificate: {e}"),
                        )),
                    }
                }
            };
            let mut sd_errors = Vec::new();
            let targets = self.targets(&mut sd_errors);
            let jitter = self.cfg.jitter;
            let n = targets.len().max(1) as u128;
            let this = self.clone();
            let auth_ref = auth.as_ref().map(|(a, _)| a.clone());
            let mut objects: Vec<Object> =
                futures_util::stream::iter(targets.into_iter().enumerate())
                    .map(|(k, t)| {
                        let this = this.clone();
                        let auth = auth_ref.clone();
                        async move {
                            if !jitter.is_zero() {
                                // Spread start times evenly over the jitter window
                                // (deterministic, so no two targets start together).
                                let off = jitter.as_micros() * k as u128 / n;
                                tokio::time::sleep(Duration::from_micros(off as u64)).await;
                            }
                            let results = probe_target(
                                &t,
                                this.cfg.every_address,
                                this.cfg.timeout,
                                auth.as_ref(),
                            )
                            .await;
                            results
                                .into_iter()
                                .map(|(addr, r)| this.object(&t, &addr, r))
                                .collect::<Vec<_>>()
                        }
                    })
                    .buffer_unordered(self.cfg.concurrency)
                    .flat_map(futures_util::stream::iter)
                    .collect()
                    .await;
            if let Some((_, pem)) = &auth {
                objects.push(self.client_cert_object(pem));
            }
            if !sd_errors.is_empty() {
                objects.push(Object {
                    key: "file_sd".into(),
                    version: None,
                    content: Content::Fresh {
                        items: Vec::new(),
                        errors: sd_errors,
                    },
                });
            }
            SourceOutput {
                findings: Vec::new(),
                series: Default::default(),
                objects,
                failure: None,
            }
        })
    }
}

impl TlsEndpointSource {
    fn object(&self, t: &Target, address: &str, r: Result<Observed, Failure>) -> Object {
        let base = self.sref(t, address);
        let key = format!("{t}@{address}");
        let (certs, errors) = match r {
            Ok(obs) => chain_items(
                base,
                t,
                address,
                &obs.presented.chain,
                !obs.presented.ocsp.is_empty(),
                Some(&obs),
            ),
            Err(f) => {
                let err = ErrorEntry::new(base.clone(), f.reason, &f.message);
                let (items, mut errs) = match &f.presented {
                    Some(p) => chain_items(base, t, address, &p.chain, !p.ocsp.is_empty(), None),
                    None => (Vec::new(), Vec::new()),
                };
                errs.insert(0, err);
                (items, errs)
            }
        };
        Object {
            key,
            version: None,
            content: Content::Parsed {
                certs: certs.into(),
                errors,
            },
        }
    }

    /// The configured client certificate, inventoried with its own expiry.
    fn client_cert_object(&self, pem: &[u8]) -> Object {
        let path = self
            .cfg
            .client_cert
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let sref = SourceRef::new(SourceKind::TlsEndpoint, &self.cfg.name, &path)
            .with_label("filepath", &path);
        Object {
            key: format!("client_cert:{path}"),
            version: None,
            content: Content::Fresh {
                items: vec![super::Item {
                    sref,
                    data: pem.to_vec(),
                    hint: crate::parse::FormatHint::Auto,
                }],
                errors: Vec::new(),
            },
        }
    }
}
