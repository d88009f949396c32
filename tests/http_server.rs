//! In-process tests of the HTTP server: a listener on 127.0.0.1:0, `serve` spawned
//! with a hand-built snapshot, and a tiny HTTP/1.1 client over a raw TCP (or
//! tokio-rustls) stream.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use certvigil::config::{
    Config, LogConfig, LogFormat, MetricsConfig, ReportConfig, RevocationConfig, ScanConfig,
    ServerConfig, TrustConfig,
};
use certvigil::inventory::{Snapshot, SnapshotCell};
use certvigil::model::{
    CertEntry, DistinguishedName, ErrorEntry, KeyAlgorithm, ParsedCert, Reason, Revocation,
    SourceKind, SourceRef, Trust,
};
use certvigil::outputs::http::{serve, serve_with, webconfig, HttpState, Limits, ReloadRequest};
use certvigil::outputs::metrics;
use chrono::{TimeZone, Utc};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

// ---------- fixtures ----------

fn config() -> Config {
    Config {
        scan: ScanConfig {
            interval: Duration::from_secs(300),
            source_timeout: Duration::from_secs(120),
        },
        server: ServerConfig {
            listen: "127.0.0.1:0".into(),
            web_config_file: None,
        },
        metrics: MetricsConfig {
            cluster: String::new(),
            expose_relative: false,
            expose_per_cert_error: false,
            expose_not_before: true,
            expose_expired: true,
            trim_path_components: 0,
            max_dns_names_in_label: 10,
        },
        log: LogConfig {
            level: "info".into(),
            format: LogFormat::Text,
        },
        trust: TrustConfig::default(),
        revocation: RevocationConfig::default(),
        report: ReportConfig {
            warning_window: Duration::from_secs(28 * 86400),
        },
        probe: Default::default(),
        sources: Default::default(),
    }
}

fn dn(cn: &str) -> DistinguishedName {
    DistinguishedName {
        rendered: format!("CN={cn},O=Example"),
        o: "Example".into(),
        cn: cn.into(),
        ..Default::default()
    }
}

const NOW: i64 = 1_795_428_000; // 2026-11-23T10:00:00Z
const DAY: i64 = 86_400;

fn entry(kind: SourceKind, location: &str, cn: &str, not_after: i64) -> CertEntry {
    CertEntry {
        source: Arc::new(SourceRef::new(kind, "src", location)),
        index_in_bundle: 0,
        cert: Arc::new(ParsedCert {
            subject: std::sync::Arc::new(dn(cn)),
            issuer: std::sync::Arc::new(dn("Example Issuing CA")),
            serial_number: "1".into(),
            serial_hex: "01".into(),
            not_before: NOW - 100 * DAY,
            not_after,
            sha256_fingerprint: "00".repeat(32),
            dns_names: vec![format!("{cn}.san.test")],
            ip_addresses: vec![],
            key_algorithm: KeyAlgorithm::Ecdsa,
            key_bits: 256,
            signature_algorithm: "ecdsa-with-SHA256".into(),
            is_ca: false,
            self_signed: false,
            der: Arc::from(Vec::new()),
        }),
        expired: not_after <= NOW,
        trust: Trust::default(),
        revocation: Revocation::default(),
    }
}

fn snapshot() -> Snapshot {
    let mut s = Snapshot::empty(Utc.timestamp_opt(NOW, 0).unwrap());
    s.certificates = vec![
        entry(
            SourceKind::File,
            "/etc/ssl/old.pem",
            "old-host",
            NOW - 3 * DAY,
        ),
        entry(
            SourceKind::File,
            "/etc/ssl/soon.pem",
            "soon-host",
            NOW + 3 * DAY,
        ),
        entry(
            SourceKind::KubernetesSecret,
            "ns/tls:tls.crt",
            "<script>alert(1)</script>",
            NOW + 20 * DAY,
        ),
        entry(
            SourceKind::File,
            "/etc/ssl/fine.pem",
            "fine-host",
            NOW + 200 * DAY,
        ),
    ];
    s.errors = vec![ErrorEntry::new(
        SourceRef::new(SourceKind::File, "src", "/etc/ssl/broken.pem"),
        Reason::BadPem,
        "bad <b>pem</b>",
    )];
    s.sort();
    s
}

// ---------- server harness ----------

struct Server {
    addr: SocketAddr,
    cell: SnapshotCell,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<anyhow::Result<()>>,
    reload_rx: Option<mpsc::Receiver<ReloadRequest>>,
}

impl Server {
    async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.handle.await.unwrap().unwrap();
    }
}

async fn start(web: Option<webconfig::WebConfig>) -> Server {
    start_with(web, None).await
}

/// `limits` None: the default entry point `serve` (what `certvigil serve` runs).
async fn start_with(web: Option<webconfig::WebConfig>, limits: Option<Limits>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cell = SnapshotCell::new();
    let (reload_tx, reload_rx) = mpsc::channel(4);
    let state = HttpState {
        snapshot: cell.clone(),
        config: Arc::new(RwLock::new(Arc::new(config()))),
        reload: reload_tx,
        prober: None,
    };
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let stop = async move {
        let _ = stop_rx.await;
    };
    let handle = match limits {
        None => tokio::spawn(serve(listener, web, state, stop)),
        Some(l) => tokio::spawn(serve_with(listener, web, state, l, stop)),
    };
    Server {
        addr,
        cell,
        stop: Some(stop_tx),
        handle,
        reload_rx: Some(reload_rx),
    }
}

// ---------- tiny HTTP/1.1 client ----------

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn parse_response(raw: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(raw).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {text:?}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Resp {
        status,
        headers,
        body: body.to_string(),
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, raw_request: &[u8]) -> Resp {
    s.write_all(raw_request).await.unwrap();
    s.flush().await.unwrap();
    let mut buf = Vec::new();
    // Read until EOF; a TLS peer closing without close_notify is tolerated.
    let mut chunk = [0u8; 8192];
    loop {
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    parse_response(&buf)
}

fn build_request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        r.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    r.push_str("\r\n");
    let mut r = r.into_bytes();
    r.extend_from_slice(body);
    r
}

async fn req(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    let s = TcpStream::connect(addr).await.unwrap();
    exchange(s, &build_request(method, path, headers, b"")).await
}

async fn get(addr: SocketAddr, path: &str) -> Resp {
    req(addr, "GET", path, &[]).await
}

// ---------- tests ----------

#[tokio::test]
async fn health_and_readiness() {
    let srv = start(None).await;
    let r = get(srv.addr, "/healthz").await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok\n"));
    let r = get(srv.addr, "/readyz").await;
    assert_eq!(r.status, 503);
    assert!(r.body.contains("not ready: first scan pending"), "{r:?}");
    // JSON API and HTML page before the first scan.
    assert_eq!(get(srv.addr, "/api/v1/certificates").await.status, 503);
    let r = get(srv.addr, "/").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("first scan is still running"));

    srv.cell.publish(snapshot());
    let r = get(srv.addr, "/readyz").await;
    assert_eq!((r.status, r.body.as_str()), (200, "ready\n"));

    // HEAD: headers, no body.
    let r = req(srv.addr, "HEAD", "/healthz", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    srv.shutdown().await;
}

#[tokio::test]
async fn metrics_content_negotiation() {
    let srv = start(None).await;
    srv.cell.publish(snapshot());
    let r = get(srv.addr, "/metrics").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some(metrics::CONTENT_TYPE_TEXT));
    let r = req(
        srv.addr,
        "GET",
        "/metrics",
        &[(
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some(metrics::CONTENT_TYPE_OPENMETRICS)
    );
    assert!(r.body.ends_with("# EOF\n"), "{}", r.body);
    srv.shutdown().await;
}

#[tokio::test]
async fn html_page_escapes_and_filters() {
    let srv = start(None).await;
    srv.cell.publish(snapshot());
    let r = get(srv.addr, "/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.header("content-security-policy").is_some());
    assert!(!r.body.contains("<script>"), "raw script tag in page");
    assert!(r.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(r.body.contains("bad &lt;b&gt;pem&lt;/b&gt;"));
    for cn in ["old-host", "soon-host", "fine-host"] {
        assert!(r.body.contains(cn));
    }
    // Sorted by expiry.
    let (a, b, c) = (
        r.body.find("old-host").unwrap(),
        r.body.find("soon-host").unwrap(),
        r.body.find("fine-host").unwrap(),
    );
    assert!(a < b && b < c);
    // Status classes: the report's expiry status (28-day window, `<=`).
    assert!(r
        .body
        .contains("<tr class=\"expired\" data-status=\"expired\">"));
    // Colours from checks::expiry::status: 3 days left is critical (<= 7d),
    // 20 days warning (<= the 28-day window); both are `expiring_soon`.
    assert!(r
        .body
        .contains("<tr class=\"critical\" data-status=\"expiring_soon\">"));
    assert!(r
        .body
        .contains("<tr class=\"warning\" data-status=\"expiring_soon\">"));
    assert!(r.body.contains("<tr class=\"ok\" data-status=\"valid\">"));

    // status=expired → only the expired certificate, no errors table rows.
    let r = get(srv.addr, "/?status=expired").await;
    assert!(r.body.contains("old-host"));
    assert!(!r.body.contains("soon-host") && !r.body.contains("fine-host"));
    assert!(!r.body.contains("broken.pem"));
    // status=expiring → 3d and 20d.
    let r = get(srv.addr, "/?status=expiring").await;
    assert!(r.body.contains("soon-host") && r.body.contains("&lt;script&gt;"));
    assert!(!r.body.contains("old-host") && !r.body.contains("fine-host"));
    // Text search over SANs, case-insensitive, percent-decoded.
    let r = get(srv.addr, "/?q=FINE-HOST%2Esan").await;
    assert!(r.body.contains("fine-host"));
    assert!(!r.body.contains("old-host"));
    // source_kind filter.
    let r = get(srv.addr, "/?source_kind=kubernetes_secret&q=").await;
    assert!(r.body.contains("ns/tls:tls.crt"));
    assert!(!r.body.contains("/etc/ssl/"));
    // status=error → errors only.
    let r = get(srv.addr, "/?status=error").await;
    assert!(r.body.contains("broken.pem"));
    assert!(!r.body.contains("fine-host"));
    // A hostile query is echoed escaped only.
    let r = get(srv.addr, "/?q=%22%3E%3Cscript%3Ex").await;
    assert_eq!(r.status, 200);
    assert!(!r.body.contains("<script>"));
    assert!(r.body.contains("&quot;&gt;&lt;script&gt;x"));
    srv.shutdown().await;
}

#[tokio::test]
async fn json_api() {
    let srv = start(None).await;
    srv.cell.publish(snapshot());
    let r = get(srv.addr, "/api/v1/certificates").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["generated_at"], "2026-11-23T10:00:00Z");
    assert_eq!(v["certificates"].as_array().unwrap().len(), 4);
    assert_eq!(v["certificates"][0]["subject_cn"], "old-host");
    assert_eq!(v["certificates"][0]["expired"], true);
    assert_eq!(v["errors"][0]["reason"], "bad_pem");
    srv.shutdown().await;
}

#[tokio::test]
async fn not_found_and_method_not_allowed() {
    let srv = start(None).await;
    assert_eq!(get(srv.addr, "/nope").await.status, 404);
    assert_eq!(get(srv.addr, "/api/v1/nope").await.status, 404);
    assert_eq!(get(srv.addr, "/metrics/").await.status, 404);
    let r = req(srv.addr, "POST", "/metrics", &[]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    let r = req(srv.addr, "DELETE", "/", &[]).await;
    assert_eq!(r.status, 405);
    let r = get(srv.addr, "/-/reload").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST, PUT"));
    srv.shutdown().await;
}

#[tokio::test]
async fn reload_success_and_failure() {
    let mut srv = start(None).await;
    let mut rx = srv.reload_rx.take().unwrap();
    let answers = tokio::spawn(async move {
        let mut n = 0;
        while let Some(r) = rx.recv().await {
            n += 1;
            let outcome = if n == 1 {
                Ok(())
            } else {
                Err("scan.interval: line 3: invalid duration".to_string())
            };
            let _ = r.reply.send(outcome);
        }
        n
    });
    let r = req(srv.addr, "POST", "/-/reload", &[]).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("reloaded"));
    let r = req(srv.addr, "POST", "/-/reload", &[]).await;
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("scan.interval: line 3: invalid duration"),
        "{r:?}"
    );

    // Oversized body: 413, and the app is not asked to reload.
    let s = TcpStream::connect(srv.addr).await.unwrap();
    let r = exchange(
        s,
        b"POST /-/reload HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 100000\r\n\r\n",
    )
    .await;
    assert_eq!(r.status, 413);
    // A small body is fine.
    let s = TcpStream::connect(srv.addr).await.unwrap();
    let r = exchange(s, &build_request("PUT", "/-/reload", &[], b"{}")).await;
    assert_eq!(r.status, 400); // third answer: the error branch
    srv.shutdown().await;
    // The server dropped its sender: the answering task ends.
    assert_eq!(answers.await.unwrap(), 3);
}

#[tokio::test]
async fn reload_without_listener_is_unavailable() {
    let mut srv = start(None).await;
    drop(srv.reload_rx.take());
    let r = req(srv.addr, "POST", "/-/reload", &[]).await;
    assert_eq!(r.status, 503);
    srv.shutdown().await;
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

#[tokio::test]
async fn basic_auth() {
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let yaml = format!("basic_auth_users:\n  alice: '{hash}'\n");
    let web = webconfig::parse(&yaml, std::path::Path::new(".")).unwrap();
    let srv = start(Some(web)).await;
    for path in ["/healthz", "/metrics", "/nope"] {
        let r = get(srv.addr, path).await;
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"certvigil\"")
        );
    }
    let wrong = basic("alice", "nope");
    let r = req(srv.addr, "GET", "/healthz", &[("Authorization", &wrong)]).await;
    assert_eq!(r.status, 401);
    let unknown = basic("mallory", "s3cret");
    let r = req(srv.addr, "GET", "/healthz", &[("Authorization", &unknown)]).await;
    assert_eq!(r.status, 401);
    let right = basic("alice", "s3cret");
    for _ in 0..2 {
        // Second time served from the verification cache.
        let r = req(srv.addr, "GET", "/healthz", &[("Authorization", &right)]).await;
        assert_eq!((r.status, r.body.as_str()), (200, "ok\n"));
    }
    let r = req(srv.addr, "GET", "/nope", &[("Authorization", &right)]).await;
    assert_eq!(r.status, 404);
    srv.shutdown().await;
}

#[tokio::test]
async fn tls() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.path().join("cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), ck.signing_key.serialize_pem()).unwrap();
    let web_path = dir.path().join("web.yml");
    std::fs::write(
        &web_path,
        "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nhttp_server_config:\n  headers:\n    Strict-Transport-Security: max-age=31536000\n",
    )
    .unwrap();
    let web = webconfig::load(&web_path).unwrap();
    let srv = start(Some(web)).await;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = TcpStream::connect(srv.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    let r = exchange(tls, &build_request("GET", "/healthz", &[], b"")).await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok\n"));
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=31536000")
    );

    // Plain HTTP to the TLS port gets no HTTP response.
    let s = TcpStream::connect(srv.addr).await.unwrap();
    let mut s = s;
    s.write_all(&build_request("GET", "/healthz", &[], b""))
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    srv.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_closes_idle_keepalive_connections() {
    let srv = start(None).await;
    // An idle keep-alive connection after one complete request.
    let mut s = TcpStream::connect(srv.addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let addr = srv.addr;
    srv.shutdown().await; // returns: `serve` completed
                          // The idle connection was closed and the listener is gone.
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest).await;
    assert!(rest.is_empty());
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let mut srv = start(None).await;
    let mut rx = srv.reload_rx.take().unwrap();
    let addr = srv.addr;
    let client = tokio::spawn(async move { req(addr, "POST", "/-/reload", &[]).await });
    // The reload request is now in flight, waiting for the app's answer.
    let pending = rx.recv().await.unwrap();
    let _ = srv.stop.take().unwrap().send(());
    // Wait until the server stopped accepting (the listener is closed).
    while TcpStream::connect(addr).await.is_ok() {
        tokio::task::yield_now().await;
    }
    assert!(!srv.handle.is_finished());
    let _ = pending.reply.send(Ok(()));
    let r = client.await.unwrap();
    assert_eq!(r.status, 200);
    srv.handle.await.unwrap().unwrap();
}

#[tokio::test]
async fn oversized_headers_are_rejected() {
    let srv = start(None).await;
    let big = "a".repeat(20 * 1024);
    let s = TcpStream::connect(srv.addr).await.unwrap();
    let mut s = s;
    s.write_all(&build_request("GET", "/healthz", &[("X-Big", &big)], b""))
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(!text.contains("200 OK"), "{text}");
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431"),
        "{text}"
    );
    // The server is still fine afterwards.
    assert_eq!(get(srv.addr, "/healthz").await.status, 200);
    srv.shutdown().await;
}

#[tokio::test]
async fn report_api_formats() {
    let srv = start(None).await;
    // Before the first scan: 503 (any format); an unknown format is 400 regardless.
    let r = get(srv.addr, "/api/v1/report?format=csv").await;
    assert_eq!(r.status, 503);
    assert_eq!(get(srv.addr, "/api/v1/report?format=pdf").await.status, 400);
    srv.cell.publish(snapshot());
    for (format, ct) in [
        ("json", "application/json"),
        ("csv", "text/csv; charset=utf-8; header=present"),
        ("md", "text/markdown; charset=utf-8"),
        ("html", "text/html; charset=utf-8"),
    ] {
        let r = get(srv.addr, &format!("/api/v1/report?format={format}")).await;
        assert_eq!(r.status, 200, "{format}: {}", r.body);
        assert_eq!(r.header("content-type"), Some(ct), "{format}");
        // Same findings, same ids, in every format.
        for id in ["expired", "expiring_soon"] {
            assert!(r.body.contains(id), "{format} lacks {id}");
        }
        if format == "html" || format == "md" {
            assert!(!r.body.contains("<script>alert(1)"), "{format} not escaped");
        }
    }
    let html = get(srv.addr, "/api/v1/report?format=html").await;
    assert!(html.header("content-security-policy").is_some());
    assert_eq!(html.body.matches("data-cert-row=").count(), 4);
    // Default is JSON: the inventory plus summary and findings.
    let r = get(srv.addr, "/api/v1/report").await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["certificates"].as_array().unwrap().len(), 4);
    assert_eq!(v["summary"]["by_status"]["expired"], 1);
    assert_eq!(v["summary"]["errors"], 1);
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    // The fixture's CNs are not among their SANs (`<cn>.san.test`), so every
    // certificate also has `cn_not_in_san`.
    assert_eq!(
        ids,
        [
            "expired",
            "cn_not_in_san",
            "expiring_soon",
            "cn_not_in_san",
            "expiring_soon",
            "cn_not_in_san",
            "cn_not_in_san"
        ]
    );
    let r = get(srv.addr, "/api/v1/report?format=HTML%00").await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("unknown report format"));
    assert_eq!(
        req(srv.addr, "POST", "/api/v1/report", &[]).await.status,
        405
    );
    srv.shutdown().await;
}

// ---------- shared bodies, gzip, negotiation, paging, slow clients ----------

/// A raw response: status, headers, body bytes (no UTF-8 conversion).
struct RawResp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn raw_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> RawResp {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&build_request("GET", path, headers, b""))
        .await
        .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let r = parse_response(format!("{head}\r\n\r\n").as_bytes());
    RawResp {
        status: r.status,
        headers: r.headers,
        body: buf[end + 4..].to_vec(),
    }
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

#[tokio::test]
async fn metrics_gzip_round_trip_equals_plain() {
    let srv = start(None).await;
    srv.cell.publish(snapshot());
    let plain = raw_get(srv.addr, "/metrics", &[]).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.header("vary"), Some("Accept, Accept-Encoding"));
    let gz = raw_get(srv.addr, "/metrics", &[("Accept-Encoding", "gzip")]).await;
    assert_eq!(gz.status, 200);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gz.header("content-type"), Some(metrics::CONTENT_TYPE_TEXT));
    assert_eq!(
        gz.header("content-length"),
        Some(gz.body.len().to_string().as_str())
    );
    assert_eq!(gunzip(&gz.body), plain.body);
    assert!(String::from_utf8_lossy(&plain.body).contains("x509_cert_not_after{"));
    // gzip refused explicitly: identity.
    let id = raw_get(srv.addr, "/metrics", &[("Accept-Encoding", "gzip;q=0")]).await;
    assert_eq!(id.header("content-encoding"), None);
    assert_eq!(id.body, plain.body);
    // OpenMetrics gzipped, and the JSON inventory.
    let om = raw_get(
        srv.addr,
        "/metrics",
        &[
            ("Accept", "application/openmetrics-text;version=1.0.0"),
            ("Accept-Encoding", "gzip"),
        ],
    )
    .await;
    assert_eq!(om.header("content-encoding"), Some("gzip"));
    assert!(gunzip(&om.body).ends_with(b"# EOF\n"));
    let js = raw_get(srv.addr, "/api/v1/certificates", &[]).await;
    let jsz = raw_get(
        srv.addr,
        "/api/v1/certificates",
        &[("Accept-Encoding", "gzip")],
    )
    .await;
    assert_eq!(jsz.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&jsz.body), js.body);
    srv.shutdown().await;
}

#[tokio::test]
async fn metrics_negotiation_honours_q_values() {
    let srv = start(None).await;
    srv.cell.publish(snapshot());
    for (accept, ct) in [
        (
            "text/plain;q=1, application/openmetrics-text;q=0.1",
            metrics::CONTENT_TYPE_TEXT,
        ),
        (
            "application/openmetrics-text;q=0.2, text/plain;version=0.0.4;q=0.5",
            metrics::CONTENT_TYPE_TEXT,
        ),
        (
            // What Prometheus sends.
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            metrics::CONTENT_TYPE_OPENMETRICS,
        ),
        ("*/*", metrics::CONTENT_TYPE_TEXT),
    ] {
        let r = req(srv.addr, "GET", "/metrics", &[("Accept", accept)]).await;
        assert_eq!(r.header("content-type"), Some(ct), "{accept}");
        assert_eq!(
            r.body.ends_with("# EOF\n"),
            ct == metrics::CONTENT_TYPE_OPENMETRICS,
            "{accept}"
        );
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn cached_exposition_follows_new_snapshots() {
    let srv = start(None).await;
    let before = get(srv.addr, "/metrics").await;
    assert!(before.body.contains("x509_exporter_ready 0"));
    assert!(!before.body.contains("x509_cert_not_after{"));
    srv.cell.publish(snapshot());
    let a = get(srv.addr, "/metrics").await;
    let b = get(srv.addr, "/metrics").await;
    assert_eq!(a.body, b.body);
    assert!(a.body.contains("x509_exporter_ready 1"));
    assert_eq!(a.body.matches("x509_cert_not_after{").count(), 4);
    let j1 = get(srv.addr, "/api/v1/certificates").await;
    // A new snapshot with one more certificate: both bodies follow.
    let mut s = snapshot();
    s.certificates.push(entry(
        SourceKind::File,
        "/etc/ssl/new.pem",
        "new-host",
        NOW + 300 * DAY,
    ));
    s.sort();
    srv.cell.publish(s);
    let c = get(srv.addr, "/metrics").await;
    assert_eq!(c.body.matches("x509_cert_not_after{").count(), 5);
    assert!(c.body.contains("subject_CN=\"new-host\""));
    let j2 = get(srv.addr, "/api/v1/certificates").await;
    assert!(!j1.body.contains("new-host") && j2.body.contains("new-host"));
    srv.shutdown().await;
}

/// `n` certificates, `cn-00000` … with expiry increasing with the index, every
/// tenth in a Kubernetes source, every seventh expired.
fn big_snapshot(n: usize) -> Snapshot {
    let mut s = Snapshot::empty(Utc.timestamp_opt(NOW, 0).unwrap());
    s.certificates = (0..n)
        .map(|i| {
            let kind = if i % 10 == 0 {
                SourceKind::KubernetesSecret
            } else {
                SourceKind::File
            };
            let not_after = if i % 7 == 0 {
                NOW - 1 - i as i64
            } else {
                NOW + 60 * DAY + i as i64
            };
            entry(
                kind,
                &format!("/data/certs/{i:05}.pem"),
                &format!("cn-{i:05}"),
                not_after,
            )
        })
        .collect();
    s.sort();
    s
}

fn rows(body: &str) -> Vec<String> {
    body.match_indices("<tr class=")
        .map(|(i, _)| {
            let rest = &body[i..];
            let cn_start = rest.find("cn-").expect("cn in row");
            rest[cn_start..cn_start + 8].to_string()
        })
        .collect()
}

#[tokio::test]
async fn html_page_is_paged_sorted_and_filtered_server_side() {
    let srv = start(None).await;
    srv.cell.publish(big_snapshot(1200));
    let r = get(srv.addr, "/").await;
    assert_eq!(r.status, 200);
    let first = rows(&r.body);
    assert_eq!(first.len(), 250, "default page size");
    assert!(r.body.contains("1–250 of 1200 matching, 1200 total"));
    assert!(r.body.contains("page 1 of 5"));
    assert!(r.body.contains("rel=\"next\" href=\"?page=2\""));
    assert!(!r.body.contains("rel=\"prev\""));
    // Expiry order: the expired ones (every 7th) first, most recently expired last.
    assert_eq!(first[0], "cn-01197"); // expired longest ago
                                      // The last page is partial; pages past the end show the last page.
    let last = get(srv.addr, "/?page=5").await;
    assert_eq!(rows(&last.body).len(), 200);
    assert!(last.body.contains("1001–1200 of 1200 matching"));
    assert!(last.body.contains("rel=\"prev\" href=\"?page=4\""));
    assert!(!last.body.contains("rel=\"next\""));
    assert_eq!(rows(&get(srv.addr, "/?page=99").await.body).len(), 200);
    // All pages together are every certificate exactly once.
    let mut all = Vec::new();
    for p in 1..=5 {
        all.extend(rows(&get(srv.addr, &format!("/?page={p}")).await.body));
    }
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 1200);
    // per_page is bounded; bad values fall back to the default.
    assert_eq!(
        rows(&get(srv.addr, "/?per_page=5000").await.body).len(),
        1000
    );
    assert_eq!(rows(&get(srv.addr, "/?per_page=0").await.body).len(), 250);
    assert_eq!(rows(&get(srv.addr, "/?per_page=abc").await.body).len(), 250);
    // Filters combine with paging; links keep the filters.
    let r = get(
        srv.addr,
        "/?status=expired&source_kind=file&sort=subject&per_page=10",
    )
    .await;
    let expired_files: Vec<usize> = (0..1200).filter(|i| i % 7 == 0 && i % 10 != 0).collect();
    assert!(r.body.contains(&format!(
        "1–10 of {} matching, 1200 total",
        expired_files.len()
    )));
    let got = rows(&r.body);
    let want: Vec<String> = expired_files[..10]
        .iter()
        .map(|i| format!("cn-{i:05}"))
        .collect();
    assert_eq!(got, want, "sorted by subject");
    assert!(r.body.contains(
        "href=\"?source_kind=file&amp;status=expired&amp;sort=subject&amp;per_page=10&amp;page=2\""
    ));
    // Descending subject order.
    let r = get(srv.addr, "/?sort=subject&order=desc&per_page=3").await;
    assert_eq!(rows(&r.body), ["cn-01199", "cn-01198", "cn-01197"]);
    // Text search and source name filter.
    let r = get(srv.addr, "/?q=CN-0042").await;
    assert_eq!(rows(&r.body).len(), 10); // cn-00420 … cn-00429
    assert_eq!(rows(&get(srv.addr, "/?source=nope").await.body).len(), 0);
    assert_eq!(rows(&get(srv.addr, "/?source=src").await.body).len(), 250);
    // A hostile search is escaped in the form and in the paging links.
    let mut s = big_snapshot(30);
    s.certificates[0] = entry(SourceKind::File, "/x\"<b>.pem", "cn-<b>", NOW + DAY);
    srv.cell.publish(s);
    let r = get(srv.addr, "/?q=%22%3E%3Cscript%3E&per_page=1").await;
    assert!(!r.body.contains("<script>"));
    assert!(r.body.contains("value=\"&quot;&gt;&lt;script&gt;\""));
    let r = get(srv.addr, "/?q=%3Cb%3E&per_page=1").await;
    assert!(!r.body.contains("cn-<b>") && r.body.contains("cn-&lt;b&gt;"));
    let r = get(srv.addr, "/?q=c&per_page=1").await;
    assert!(r.body.contains("href=\"?q=c&amp;per_page=1&amp;page=2\""));
    srv.shutdown().await;
}

/// Connect with a small receive buffer, so an unread response stalls the server.
async fn connect_small_window(addr: SocketAddr) -> TcpStream {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(addr).await.unwrap()
}

#[tokio::test]
async fn slow_and_half_sent_clients_do_not_block_a_new_scrape() {
    // Timeouts far out of reach: only making room for new connections can
    // serve the scrape below.
    let limits = Limits {
        max_connections: 8,
        header_read_timeout: Duration::from_secs(3600),
        write_stall_timeout: Duration::from_secs(3600),
        response_timeout: Duration::from_secs(3600),
    };
    let srv = start_with(None, Some(limits)).await;
    srv.cell.publish(big_snapshot(3000));
    let full = raw_get(srv.addr, "/metrics", &[]).await;
    assert_eq!(full.status, 200);
    assert!(
        full.body.len() > 4 << 20,
        "body ({} B) must exceed socket buffers",
        full.body.len()
    );

    // 4 clients that send half a request (first: they have stalled longest).
    let mut half = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(srv.addr).await.unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        half.push(s);
    }
    assert_eq!(get(srv.addr, "/healthz").await.status, 200);
    // 4 clients that ask for /metrics and read only the status line, then stop.
    let mut slow = Vec::new();
    for _ in 0..4 {
        let mut s = connect_small_window(srv.addr).await;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200");
        slow.push(s);
    }
    // Every slot is taken; new scrapes are still answered in full, repeatedly.
    for _ in 0..3 {
        let r = raw_get(srv.addr, "/metrics", &[("Accept-Encoding", "gzip")]).await;
        assert_eq!(r.status, 200);
        assert_eq!(gunzip(&r.body), full.body);
    }
    // The connection closed to make room is the one stalled longest: the first
    // half-sent client sees its connection end without a response.
    let mut buf = [0u8; 64];
    let n = half[0].read(&mut buf).await.unwrap_or(0);
    assert_eq!(n, 0, "evicted connection closed without a response");
    drop((slow, half));
    srv.shutdown().await;
}
