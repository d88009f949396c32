//! A minimal, bounded HTTP/1.1 client for the Vault/OpenBao API: hyper's
//! connection-level client over TCP or TLS (tokio-rustls, ring; trust from
//! `tls.ca_file` or the system store, `tls.server_name` override), one
//! connection per request. Every request runs under the configured timeout,
//! bodies are capped while streaming, redirects are not followed (a Vault
//! standby's redirect is an error naming the status). The token travels only
//! in the `X-Vault-Token` header and never appears in errors or logs.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::config::VaultConfig;
use crate::model::{Failure, Reason};

/// Largest JSON answer accepted (a `LIST certs` of 100 000 serials is ~6 MiB).
pub const MAX_JSON_BODY: usize = 16 << 20;
/// Largest CRL accepted.
pub const MAX_CRL_BODY: usize = 32 << 20;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An HTTP answer: status and (capped) body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

/// A client for one Vault address.
pub struct Client {
    host: String,
    port: u16,
    host_header: String,
    tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    timeout: Duration,
    namespace: Option<String>,
    requests: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

fn roots(cfg: &VaultConfig) -> Result<rustls::RootCertStore, String> {
    let mut store = rustls::RootCertStore::empty();
    match &cfg.ca_file {
        Some(path) => {
            let pem = crate::sources::vault::read_small(path, 1 << 20)?;
            for c in rustls_pemfile::certs(&mut &pem[..]) {
                let c = c.map_err(|_| format!("{}: unreadable PEM", path.display()))?;
                store
                    .add(c)
                    .map_err(|e| format!("{}: unusable CA certificate: {e}", path.display()))?;
            }
            if store.is_empty() {
                return Err(format!("{}: no CA certificate", path.display()));
            }
        }
        None => {
            let res = rustls_native_certs::load_native_certs();
            for c in res.certs {
                let _ = store.add(c);
            }
        }
    }
    Ok(store)
}

impl Client {
    /// A client for `cfg.address` (validated `http(s)://host[:port]`).
    pub fn new(cfg: &VaultConfig) -> Result<Client, String> {
        let (tls, rest) = if let Some(r) = cfg.address.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = cfg.address.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("unsupported address {:?}", cfg.address));
        };
        let (host, port) = split_host_port(rest, if tls { 443 } else { 80 })?;
        let tls = if tls {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots(cfg)?)
                .with_no_client_auth();
            let name = cfg.server_name.clone().unwrap_or_else(|| {
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string()
            });
            let sn = ServerName::try_from(name.clone())
                .map_err(|_| format!("{name:?} is not a valid TLS server name"))?;
            Some((Arc::new(config), sn))
        } else {
            None
        };
        Ok(Client {
            host_header: rest.to_string(),
            host,
            port,
            tls,
            timeout: cfg.timeout,
            namespace: cfg.namespace.clone(),
            requests: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn connect(&self) -> Result<Box<dyn Io>, Failure> {
        let target = (
            self.host.trim_start_matches('[').trim_end_matches(']'),
            self.port,
        );
        let tcp = TcpStream::connect(target).await.map_err(|e| {
            Failure::new(
                Reason::ConnectFailed,
                format!("cannot connect to {}: {e}", self.host_header),
            )
        })?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => Ok(Box::new(tcp)),
            Some((cfg, name)) => {
                let conn = tokio_rustls::TlsConnector::from(cfg.clone());
                let s = conn.connect(name.clone(), tcp).await.map_err(|e| {
                    Failure::new(
                        Reason::TlsHandshakeFailed,
                        format!("TLS handshake with {} failed: {e}", self.host_header),
                    )
                })?;
                Ok(Box::new(s))
            }
        }
    }

    /// `method path` (path starts with `/v1/`), optional token and JSON body.
    /// Transport failures and timeouts are `Err`; any HTTP status is `Ok`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        max_body: usize,
    ) -> Result<Answer, Failure> {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let fut = self.call_inner(method, path, token, body, max_body);
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(Failure::new(
                Reason::Timeout,
                format!(
                    "no answer from {} within {}",
                    self.host_header,
                    crate::config::format_duration(self.timeout)
                ),
            )),
        }
    }

    async fn call_inner(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        max_body: usize,
    ) -> Result<Answer, Failure> {
        let api = |m: String| Failure::new(Reason::ApiError, m);
        let io = self.connect().await?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| {
                api(format!(
                    "HTTP handshake with {} failed: {e}",
                    self.host_header
                ))
            })?;
        let conn_task = tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, self.host_header.as_str())
            .header(
                hyper::header::USER_AGENT,
                concat!("certvigil/", env!("CARGO_PKG_VERSION")),
            )
            .header(hyper::header::CONNECTION, "close");
        if let Some(t) = token {
            b = b.header("X-Vault-Token", t);
        }
        if let Some(ns) = &self.namespace {
            b = b.header("X-Vault-Namespace", ns.as_str());
        }
        if body.is_some() {
            b = b.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let req = b
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            // (A token with characters a header cannot hold ends here; the
            // message does not repeat it.)
            .map_err(|_| {
                api(
                    "cannot build the request (token or namespace not a valid header value?)"
                        .into(),
                )
            })?;
        let result = async {
            let resp = send
                .send_request(req)
                .await
                .map_err(|e| api(format!("request to {} failed: {e}", self.host_header)))?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), max_body)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        Failure::new(
                            Reason::TooLarge,
                            format!("answer larger than the limit of {max_body} bytes"),
                        )
                    } else {
                        api(format!("reading the answer failed: {e}"))
                    }
                })?
                .to_bytes();
            Ok(Answer { status, body })
        }
        .await;
        conn_task.abort();
        result
    }
}

/// `host[:port]` (IPv6 in brackets) → host and port.
fn split_host_port(s: &str, default: u16) -> Result<(String, u16), String> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{s:?}: unterminated IPv6 literal"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| format!("{s:?}: bad port"))?,
            None if after.is_empty() => default,
            None => return Err(format!("{s:?}: bad authority")),
        };
        return Ok((format!("[{h}]"), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Ok((
            h.to_string(),
            p.parse().map_err(|_| format!("{s:?}: bad port"))?,
        )),
        None => Ok((s.to_string(), default)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ports() {
        assert_eq!(
            split_host_port("127.0.0.1:8200", 80).unwrap(),
            ("127.0.0.1".into(), 8200)
        );
        assert_eq!(
            split_host_port("vault", 443).unwrap(),
            ("vault".into(), 443)
        );
        assert_eq!(
            split_host_port("[::1]:8200", 80).unwrap(),
            ("[::1]".into(), 8200)
        );
        assert!(split_host_port("h:x", 80).is_err());
    }
}
