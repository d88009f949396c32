//! The real `certvigil serve`: readiness, a live `/metrics` scrape checked by
//! `promtool check metrics`, reload (HTTP and SIGHUP) keeping the last good
//! configuration, graceful SIGTERM, basic auth and TLS from `--web.config.file`,
//! and hostile certificate subjects. Only 127.0.0.1 traffic; no wall-clock limits
//! (polls end when the server answers or the process dies).

mod support_cli;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use support_cli::*;

/// A running `certvigil serve`, killed on drop if still running.
struct Served {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Served {
    /// Start `serve --listen 127.0.0.1:<free port> <args...>`, logging to `dir/serve.log`.
    fn start(dir: &Path, args: &[&str]) -> Served {
        let port = free_port();
        let log = dir.join("serve.log");
        let f = std::fs::File::create(&log).unwrap();
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(bin())
            .arg("serve")
            .args(["--listen", &listen])
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(f))
            .spawn()
            .unwrap();
        Served { child, port, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panic (with the log) if the process has exited.
    fn assert_alive(&mut self) {
        if let Some(st) = self.child.try_wait().unwrap() {
            panic!("certvigil exited early ({st}); log:\n{}", self.log());
        }
    }

    /// Poll `/readyz` until it answers 200.
    fn wait_ready(&mut self) {
        loop {
            self.assert_alive();
            if let Some(r) = http(self.port, "GET", "/readyz", &[]) {
                if r.status == 200 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn get(&self, path: &str) -> Response {
        http(self.port, "GET", path, &[])
            .unwrap_or_else(|| panic!("GET {path} failed; log:\n{}", self.log()))
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// Poll the log until it contains `needle` at least `n` times.
    fn wait_log(&mut self, needle: &str, n: usize) {
        loop {
            self.assert_alive();
            if self.log().matches(needle).count() >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A valid configuration file: the embedded default, as printed by the binary.
fn default_config_file(dir: &Path) -> PathBuf {
    let o = run(&["print-default-config"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    write(dir, "certvigil.yml", &o.stdout)
}

fn certs_dir(dir: &Path) -> PathBuf {
    let certs = dir.join("certs");
    std::fs::create_dir(&certs).unwrap();
    write(&certs, "soon.pem", cert_expiring_in("soon.example", 10));
    write(&certs, "later.pem", cert_expiring_in("later.example", 100));
    certs
}

#[test]
fn serve_metrics_reload_and_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = default_config_file(tmp.path());
    let certs = certs_dir(tmp.path());
    let mut s = Served::start(
        tmp.path(),
        &["--config", cfg.to_str().unwrap(), certs.to_str().unwrap()],
    );
    s.wait_ready();
    assert_eq!(s.get("/healthz").status, 200);

    let m = s.get("/metrics");
    assert_eq!(m.status, 200, "{m:?}");
    assert!(
        m.header("content-type")
            .unwrap_or("")
            .starts_with("text/plain"),
        "{m:?}"
    );
    assert!(m.body.contains("x509_cert_not_after{"), "{}", m.body);
    assert!(m.body.contains("subject_CN=\"soon.example\""), "{}", m.body);
    assert!(
        m.body.contains("subject_CN=\"later.example\""),
        "{}",
        m.body
    );
    promtool_check(&m.body);

    // A broken configuration is rejected; the last good one keeps serving.
    std::fs::write(&cfg, "scan:\n  interval: [not, a, duration\n").unwrap();
    let r = http(s.port, "POST", "/-/reload", &[]).expect("reload request");
    assert_ne!(r.status, 200, "{r:?}");
    s.assert_alive();
    let m = s.get("/metrics");
    assert_eq!(m.status, 200);
    assert!(m.body.contains("subject_CN=\"soon.example\""), "{}", m.body);

    // Same through SIGHUP.
    let rejected = s.log().matches("reload rejected").count();
    assert!(
        rejected > 0,
        "the rejected reload was not logged:\n{}",
        s.log()
    );
    s.signal("HUP");
    s.wait_log("reload rejected", rejected + 1);
    assert_eq!(s.get("/metrics").status, 200);

    // A good configuration is accepted and triggers an immediate rescan.
    let o = run(&["print-default-config"]);
    std::fs::write(&cfg, &o.stdout).unwrap();
    write(&certs, "new.pem", cert_expiring_in("new.example", 50));
    let r = http(s.port, "POST", "/-/reload", &[]).expect("reload request");
    assert_eq!(r.status, 200, "{r:?}");
    loop {
        s.assert_alive();
        if s.get("/metrics")
            .body
            .contains("subject_CN=\"new.example\"")
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    // Graceful shutdown on SIGTERM: exit 0.
    s.signal("TERM");
    let st = s.child.wait().unwrap();
    assert_eq!(st.code(), Some(0), "log:\n{}", s.log());
}

#[test]
fn serve_sigint_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = certs_dir(tmp.path());
    let mut s = Served::start(tmp.path(), &[certs.to_str().unwrap()]);
    s.wait_ready();
    s.signal("INT");
    let st = s.child.wait().unwrap();
    assert_eq!(st.code(), Some(0), "log:\n{}", s.log());
}

#[test]
fn serve_bad_config_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = write(tmp.path(), "bad.yml", "scan:\n  interval: banana\n");
    let o = run(&[
        "serve",
        "--listen",
        "127.0.0.1:1",
        "--config",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    let o = run(&["serve", "--listen", "not an address"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
}

#[test]
fn serve_basic_auth() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = certs_dir(tmp.path());
    let hash = bcrypt::hash("s3cret", 4).unwrap();
    let web = write(
        tmp.path(),
        "web.yml",
        format!("basic_auth_users:\n  alice: '{hash}'\n"),
    );
    let mut s = Served::start(
        tmp.path(),
        &[
            "--web.config.file",
            web.to_str().unwrap(),
            certs.to_str().unwrap(),
        ],
    );
    let good = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("alice:s3cret")
    );
    let bad = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("alice:wrong")
    );
    // Wait for readiness with credentials.
    loop {
        s.assert_alive();
        if let Some(r) = http(s.port, "GET", "/readyz", &[("Authorization", &good)]) {
            if r.status == 200 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = s.get("/metrics");
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r.header("www-authenticate").is_some(), "{r:?}");
    let r = http(s.port, "GET", "/metrics", &[("Authorization", &bad)]).unwrap();
    assert_eq!(r.status, 401, "{r:?}");
    let r = http(s.port, "GET", "/metrics", &[("Authorization", &good)]).unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("subject_CN=\"soon.example\""));
    promtool_check(&r.body);
}

async fn https_get(port: u16, ca_pem: &str, path: &str) -> std::io::Result<Response> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut ca_pem.as_bytes()) {
        roots.add(c?).map_err(std::io::Error::other)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(std::io::Error::other)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let name =
        rustls::pki_types::ServerName::try_from("localhost").map_err(std::io::Error::other)?;
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(&request_bytes("GET", path, &[])).await?;
    let mut raw = Vec::new();
    // A peer that closes without close_notify still gave us the full response.
    match tls.read_to_end(&mut raw).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(e),
    }
    parse_response(&raw).ok_or_else(|| std::io::Error::other("unparseable response"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = certs_dir(tmp.path());
    let (ca, cert, key) = tls_server_material();
    let cert_file = write(tmp.path(), "server.crt", cert);
    let key_file = write(tmp.path(), "server.key", key);
    let web = write(
        tmp.path(),
        "web.yml",
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
            cert_file.display(),
            key_file.display()
        ),
    );
    let mut s = Served::start(
        tmp.path(),
        &[
            "--web.config.file",
            web.to_str().unwrap(),
            certs.to_str().unwrap(),
        ],
    );
    loop {
        s.assert_alive();
        if let Ok(r) = https_get(s.port, &ca, "/readyz").await {
            if r.status == 200 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = https_get(s.port, &ca, "/metrics").await.unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("subject_CN=\"later.example\""));
    promtool_check(&r.body);
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = http(s.port, "GET", "/metrics", &[]);
    assert!(plain.as_ref().is_none_or(|r| r.status != 200), "{plain:?}");
    // A client that does not trust the CA fails the handshake.
    let (other_ca, _, _) = tls_server_material();
    assert!(https_get(s.port, &other_ca, "/metrics").await.is_err());
}

#[test]
fn serve_hostile_subjects_scrape_is_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = tmp.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    let hostile = [
        "quote\"inside",
        "back\\slash\\",
        "new\nline",
        "<script>alert(1)</script>",
        "\u{202E}evil-rtl",
        "emoji 🔐 ✓",
        "tab\tand\u{1b}[31mescape",
    ];
    for (i, cn) in hostile.iter().enumerate() {
        write(
            &certs,
            &format!("h{i}.pem"),
            cert_expiring_in(cn, 30 + i as i64),
        );
    }
    let mut s = Served::start(tmp.path(), &[certs.to_str().unwrap()]);
    s.wait_ready();
    let m = s.get("/metrics");
    assert_eq!(m.status, 200, "{m:?}");
    let series = m
        .body
        .lines()
        .filter(|l| l.starts_with("x509_cert_not_after{"))
        .count();
    assert_eq!(series, hostile.len(), "{}", m.body);
    assert!(
        m.body.contains(r#"subject_CN="quote\"inside""#),
        "{}",
        m.body
    );
    assert!(
        m.body.contains(r#"subject_CN="back\\slash\\""#),
        "{}",
        m.body
    );
    assert!(m.body.contains(r#"subject_CN="new\nline""#), "{}", m.body);
    promtool_check(&m.body);

    // The OpenMetrics rendering is valid too.
    let om = http(
        s.port,
        "GET",
        "/metrics",
        &[("Accept", "application/openmetrics-text;version=1.0.0")],
    )
    .unwrap();
    assert_eq!(om.status, 200);
    assert!(om.body.trim_end().ends_with("# EOF"), "{}", om.body);

    // The HTML page escapes subjects.
    let page = s.get("/");
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains("<script>alert(1)</script>"),
        "{}",
        page.body
    );

    // The JSON API holds every certificate.
    let api = s.get("/api/v1/certificates");
    assert_eq!(api.status, 200);
    let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(v["certificates"].as_array().unwrap().len(), hostile.len());
}

/// The TLS fixture and client used above work against an in-test rustls server,
/// so a `serve_tls` failure points at certvigil, not at the test's plumbing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_test_plumbing_self_check() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (ca, cert, key) = tls_server_material();
    let certs: Vec<_> = rustls_pemfile::certs(&mut cert.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let key = rustls_pemfile::private_key(&mut key.as_bytes())
        .unwrap()
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        for _ in 0..2 {
            let (tcp, _) = listener.accept().await.unwrap();
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let mut buf = vec![0u8; 1024];
            let _ = tls.read(&mut buf).await.unwrap();
            tls.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            )
            .await
            .unwrap();
            tls.shutdown().await.unwrap();
        }
    });
    let r = https_get(port, &ca, "/").await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "abcde");
    let (other_ca, _, _) = tls_server_material();
    assert!(https_get(port, &other_ca, "/").await.is_err());
    server.await.unwrap();
}
