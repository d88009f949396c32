//! One probe of one address: TCP connect, the protocol's STARTTLS exchange, the
//! TLS handshake (tokio-rustls, ring) with the [`RecordingVerifier`], then a
//! close. The caller applies the per-target timeout around [`probe_address`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use super::starttls::{self, StartTlsError};
use super::verifier::{self, Presented, RecordingVerifier};
use crate::model::target::{Protocol, Target};
use crate::model::Reason;

/// Most addresses kept from one DNS answer in "every address" mode.
pub const MAX_ADDRESSES: usize = 16;

/// A completed handshake.
#[derive(Debug, Clone)]
pub struct Observed {
    pub address: SocketAddr,
    pub presented: Presented,
    /// `TLS 1.3`, `TLS 1.2`.
    pub tls_version: String,
    pub cipher: String,
    pub alpn: Option<String>,
    pub elapsed: Duration,
}

/// A failed probe. `presented` is set when the server's chain arrived before the
/// failure (e.g. a server requiring a client certificate): it is inventoried too.
#[derive(Debug, Clone)]
pub struct Failure {
    pub reason: Reason,
    pub message: String,
    pub presented: Option<Presented>,
}

impl Failure {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Failure {
            reason,
            message: message.into(),
            presented: None,
        }
    }
}

/// The client certificate (mTLS) offered to endpoints that ask for one.
#[derive(Clone)]
pub struct ClientAuth {
    pub chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    pub key: Arc<rustls::pki_types::PrivateKeyDer<'static>>,
}

impl std::fmt::Debug for ClientAuth {
    // Never print key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAuth")
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// Resolve the target's host: every address (bounded) or the first one.
pub async fn resolve(target: &Target, every_address: bool) -> Result<Vec<SocketAddr>, Failure> {
    if let Ok(ip) = target.host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    let addrs = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|e| {
            Failure::new(
                Reason::ConnectFailed,
                format!("cannot resolve {}: {e}", target.host),
            )
        })?;
    let mut out: Vec<SocketAddr> = Vec::new();
    for a in addrs {
        if !out.contains(&a) {
            out.push(a);
        }
        if out.len() >= if every_address { MAX_ADDRESSES } else { 1 } {
            break;
        }
    }
    if out.is_empty() {
        return Err(Failure::new(
            Reason::ConnectFailed,
            format!("{} resolved to no address", target.host),
        ));
    }
    Ok(out)
}

/// What the verifier of one connection recorded.
type Recorded = Arc<std::sync::Mutex<Option<Presented>>>;

fn client_config(
    protocol: Protocol,
    auth: Option<&ClientAuth>,
) -> Result<(Arc<rustls::ClientConfig>, Recorded), Failure> {
    let (verifier, seen) = RecordingVerifier::new();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Failure::new(Reason::TlsHandshakeFailed, e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut cfg = match auth {
        Some(a) => builder
            .with_client_auth_cert(a.chain.clone(), a.key.clone_key())
            .map_err(|e| {
                Failure::new(
                    Reason::TlsHandshakeFailed,
                    format!("client certificate unusable: {e}"),
                )
            })?,
        None => builder.with_no_client_auth(),
    };
    if protocol == Protocol::Https {
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    }
    Ok((Arc::new(cfg), seen))
}

fn describe_tls_error(e: &std::io::Error) -> String {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13
            | rustls::PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig,
        ))
        | Some(rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion)) => {
            "protocol unsupported: the server offers only TLS 1.1 or older (certvigil speaks TLS 1.2 and 1.3)".to_string()
        }
        Some(other) => format!("TLS handshake failed: {other}"),
        None => format!("TLS handshake failed: {e}"),
    }
}

/// Probe one resolved address of `target`.
pub async fn probe_address(
    target: &Target,
    address: SocketAddr,
    auth: Option<&ClientAuth>,
) -> Result<Observed, Failure> {
    let started = Instant::now();
    let mut tcp = TcpStream::connect(address).await.map_err(|e| {
        Failure::new(
            Reason::ConnectFailed,
            format!("cannot connect to {address}: {e}"),
        )
    })?;
    let _ = tcp.set_nodelay(true);
    if target.protocol.is_starttls() {
        starttls::negotiate(&mut tcp, target.protocol, target.name())
            .await
            .map_err(|e| match e {
                StartTlsError::Injection(_) => {
                    Failure::new(Reason::StarttlsInjection, e.to_string())
                }
                other => Failure::new(Reason::StarttlsFailed, other.to_string()),
            })?;
        // TLS is client-first: anything the server already sent now (still in
        // the kernel buffer) was injected after its go-ahead.
        let mut probe = [0u8; 512];
        match tcp.try_read(&mut probe) {
            Ok(0) => {
                return Err(Failure::new(
                    Reason::StarttlsFailed,
                    "server closed the connection after its STARTTLS go-ahead",
                ))
            }
            Ok(n) => {
                return Err(Failure::new(
                    Reason::StarttlsInjection,
                    StartTlsError::Injection(n).to_string(),
                ))
            }
            Err(_) => {}
        }
    }
    let name = target.name().trim_matches(|c| c == '[' || c == ']');
    let server_name = match name.parse::<std::net::IpAddr>() {
        Ok(ip) => ServerName::IpAddress(ip.into()),
        Err(_) => ServerName::try_from(name.to_string()).map_err(|e| {
            Failure::new(
                Reason::TlsHandshakeFailed,
                format!("invalid server name {name:?}: {e}"),
            )
        })?,
    };
    let (cfg, seen) = client_config(target.protocol, auth)?;
    let connector = tokio_rustls::TlsConnector::from(cfg);
    let result = connector.connect(server_name, tcp).await;
    let presented = verifier::take(&seen);
    let mut tls = match result {
        Ok(t) => t,
        Err(e) => {
            let mut f = Failure::new(Reason::TlsHandshakeFailed, describe_tls_error(&e));
            f.presented = presented;
            return Err(f);
        }
    };
    let elapsed = started.elapsed();
    let Some(presented) = presented else {
        return Err(Failure::new(
            Reason::TlsHandshakeFailed,
            "the server presented no certificate",
        ));
    };
    let (_, conn) = tls.get_ref();
    let tls_version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_string(),
        Some(v) => format!("{v:?}"),
        None => String::new(),
    };
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| {
            let cs = s.suite();
            cs.as_str()
                .map_or_else(|| format!("{cs:?}"), str::to_string)
        })
        .unwrap_or_default();
    let alpn = conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    // A server that wants a client certificate we did not send rejects us
    // after the handshake (TLS 1.3): read briefly so that shows as a failure.
    let rejected = close_and_check(&mut tls).await;
    if let Some(msg) = rejected {
        return Err(Failure {
            reason: Reason::TlsHandshakeFailed,
            message: msg,
            presented: Some(presented),
        });
    }
    Ok(Observed {
        address,
        presented,
        tls_version,
        cipher,
        alpn,
        elapsed,
    })
}

/// Send close_notify and read the server's answer (bounded by a short grace):
/// after a TLS 1.3 handshake a server that requires a client certificate we
/// did not send answers with an alert instead of closing, which is a failure.
async fn close_and_check(tls: &mut tokio_rustls::client::TlsStream<TcpStream>) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tls.shutdown().await;
    let mut buf = [0u8; 512];
    for _ in 0..4 {
        match tokio::time::timeout(CLOSE_GRACE, tls.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => return None,
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => {
                return match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    Some(rustls::Error::AlertReceived(a)) => Some(format!(
                        "the server rejected the connection after the handshake: alert {a:?} (client certificate required?)"
                    )),
                    _ => None,
                }
            }
        }
    }
    None
}

/// How long to wait for the server's answer to close_notify.
const CLOSE_GRACE: Duration = Duration::from_millis(250);
