//! The `tls_endpoint` source through the real binary against real
//! `openssl s_server` peers on 127.0.0.1 (issue 14 acceptance): served chain
//! with intermediate (trusted), SNI, expired leaf, wrong name, stapled OCSP,
//! client authentication, closed port; the eight STARTTLS protocols through a
//! scripted plaintext peer that splices to s_server (the peer itself checked
//! with `openssl s_client -starttls P`); refusal, not offered, injection,
//! silent server, close mid-handshake. Without `openssl` the tests skip loudly
//! (fail under `CERTVIGIL_REQUIRE_REAL=1`).

mod support_cli;
mod support_pki;
mod support_tls;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;
use support_cli::{run, show};
use support_pki::openssl_available;
use support_tls::{Leaf, Mode, Peer, Pki, SServer};

struct Fixture {
    _dir: tempfile::TempDir,
    pki: Pki,
    good: Leaf,
    other: Leaf,
    expired: Leaf,
    wrong: Leaf,
    client: Leaf,
    ocsp: std::path::PathBuf,
}

fn fixture() -> Option<&'static Fixture> {
    static F: OnceLock<Option<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        if !openssl_available() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::new(dir.path());
        let good = pki.leaf("good.test", "DNS:good.test,IP:127.0.0.1", None);
        let other = pki.leaf("other.test", "DNS:other.test", None);
        let expired = pki.leaf(
            "expired.test",
            "DNS:expired.test,IP:127.0.0.1",
            Some(("200101000000Z", "200201000000Z")),
        );
        let wrong = pki.leaf("wrong.test", "DNS:wrong.test", None);
        let client = pki.leaf("client.test", "DNS:client.test", None);
        let ocsp = dir.path().join("ocsp.der");
        pki.ocsp_response(&good, &ocsp);
        Some(Fixture {
            _dir: dir,
            pki,
            good,
            other,
            expired,
            wrong,
            client,
            ocsp,
        })
    })
    .as_ref()
}

fn scan(f: &Fixture, urls: &[&str]) -> Value {
    let root = f.pki.root.cert.display().to_string();
    let mut args = vec![
        "scan",
        "--format",
        "json",
        "--offline",
        "--trust-roots",
        &root,
    ];
    args.extend(urls);
    let o = run(&args);
    assert!(
        o.status.code().is_some_and(|c| c == 0 || c == 1),
        "{}",
        show(&o)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&o)))
}

fn certs(v: &Value) -> Vec<&Value> {
    let mut c: Vec<&Value> = v["certificates"].as_array().unwrap().iter().collect();
    c.sort_by_key(|c| {
        (
            c["location"].as_str().unwrap_or("").to_string(),
            c["index_in_bundle"].as_u64(),
        )
    });
    c
}

fn errors(v: &Value) -> Vec<&Value> {
    v["errors"].as_array().unwrap().iter().collect()
}

#[test]
fn served_chain_is_inventoried_and_trusted() {
    let Some(f) = fixture() else { return };
    let s = SServer::start(&f.pki, &f.good, &[]);
    let v = scan(f, &[&format!("tls://127.0.0.1:{}", s.port)]);
    let c = certs(&v);
    assert_eq!(c.len(), 2, "{v:#}");
    assert_eq!(c[0]["subject_cn"], "good.test");
    assert_eq!(c[0]["index_in_bundle"], 0);
    assert_eq!(c[1]["subject_cn"], "Endpoint Inter");
    assert_eq!(c[1]["index_in_bundle"], 1);
    for x in &c {
        assert_eq!(x["source_kind"], "tls_endpoint");
        assert_eq!(x["location"], format!("127.0.0.1:{}", s.port));
        assert_eq!(x["trust"]["status"], "trusted", "{x:#}");
    }
    let ep = &c[0]["endpoint"];
    assert_eq!(ep["address"], format!("127.0.0.1:{}", s.port));
    assert_eq!(ep["server_name"], "127.0.0.1");
    assert_eq!(ep["protocol"], "tls");
    assert_eq!(ep["tls_version"], "TLS 1.3");
    assert!(ep["cipher"].as_str().unwrap().starts_with("TLS13_"));
    assert_eq!(ep["hostname_match"], true);
    assert_eq!(ep["ocsp_stapled"], false);
    assert!(ep["handshake_seconds"].as_f64().unwrap() > 0.0);
    assert!(errors(&v).is_empty(), "{v:#}");
}

#[test]
fn sni_selects_the_certificate() {
    let Some(f) = fixture() else { return };
    let other_cert = f.other.cert.display().to_string();
    let other_key = f.other.key.display().to_string();
    let s = SServer::start(
        &f.pki,
        &f.good,
        &[
            "-servername",
            "other.test",
            "-cert2",
            &other_cert,
            "-key2",
            &other_key,
        ],
    );
    let v = scan(
        f,
        &[&format!(
            "tls://127.0.0.1:{}?server_name=other.test",
            s.port
        )],
    );
    let c = certs(&v);
    assert_eq!(c[0]["subject_cn"], "other.test", "{v:#}");
    assert_eq!(c[0]["endpoint"]["server_name"], "other.test");
    assert_eq!(c[0]["endpoint"]["hostname_match"], true);
    let v = scan(
        f,
        &[&format!("tls://127.0.0.1:{}?server_name=good.test", s.port)],
    );
    assert_eq!(certs(&v)[0]["subject_cn"], "good.test", "{v:#}");
}

#[test]
fn expired_and_mismatching_leaves_are_still_listed() {
    let Some(f) = fixture() else { return };
    let e = SServer::start(&f.pki, &f.expired, &[]);
    let w = SServer::start(&f.pki, &f.wrong, &[]);
    let v = scan(
        f,
        &[
            &format!("tls://127.0.0.1:{}", e.port),
            &format!("https://127.0.0.1:{}?server_name=good.test", w.port),
        ],
    );
    let c = certs(&v);
    let exp = c
        .iter()
        .find(|x| x["subject_cn"] == "expired.test")
        .expect("expired leaf listed");
    assert_eq!(exp["expired"], true);
    assert_eq!(exp["endpoint"]["hostname_match"], true);
    let wr = c
        .iter()
        .find(|x| x["subject_cn"] == "wrong.test")
        .expect("mismatching leaf listed");
    assert_eq!(wr["endpoint"]["hostname_match"], false);
    assert_eq!(wr["endpoint"]["protocol"], "https");
    assert_eq!(wr["expired"], false);

    // The report has a hostname_mismatch finding for it (and none for the expired one).
    let root = f.pki.root.cert.display().to_string();
    let o = run(&[
        "report",
        "--format",
        "json",
        "--offline",
        "--trust-roots",
        &root,
        &format!("https://127.0.0.1:{}?server_name=good.test", w.port),
        &format!("tls://127.0.0.1:{}", e.port),
    ]);
    let r: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&o)));
    let mism: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["id"] == "hostname_mismatch")
        .collect();
    assert_eq!(mism.len(), 1, "{r:#}");
    assert_eq!(mism[0]["location"], format!("127.0.0.1:{}", w.port));
    assert_eq!(mism[0]["sha256_fingerprint"], wr["sha256_fingerprint"]);
}

#[test]
fn closed_port_is_an_error_entry() {
    let Some(f) = fixture() else { return };
    let port = support_pki::free_port();
    let v = scan(f, &[&format!("tls://127.0.0.1:{port}")]);
    assert!(certs(&v).is_empty());
    let e = errors(&v);
    assert_eq!(e.len(), 1, "{v:#}");
    assert_eq!(e[0]["source_kind"], "tls_endpoint");
    assert_eq!(e[0]["location"], format!("127.0.0.1:{port}"));
    assert_eq!(e[0]["reason"], "connect_failed");
}

#[test]
fn stapled_ocsp_is_reported() {
    let Some(f) = fixture() else { return };
    let ocsp = f.ocsp.display().to_string();
    let s = SServer::start(&f.pki, &f.good, &["-status_file", &ocsp]);
    let v = scan(f, &[&format!("tls://127.0.0.1:{}", s.port)]);
    assert_eq!(certs(&v)[0]["endpoint"]["ocsp_stapled"], true, "{v:#}");
}

#[test]
fn client_auth_required() {
    let Some(f) = fixture() else { return };
    let root = f.pki.root.cert.display().to_string();
    let s = SServer::start(
        &f.pki,
        &f.good,
        &["-Verify", "2", "-CAfile", &root, "-verify_return_error"],
    );
    // Without a client certificate: an error, and the served chain is still listed.
    let v = scan(f, &[&format!("tls://127.0.0.1:{}", s.port)]);
    let e = errors(&v);
    assert_eq!(e.len(), 1, "{v:#}");
    assert_eq!(e[0]["reason"], "tls_handshake_failed");
    assert_eq!(certs(&v)[0]["subject_cn"], "good.test");

    // With one (config): the handshake completes and the client certificate is
    // inventoried with its own expiry.
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("client-chain.pem");
    let mut pem = std::fs::read(&f.client.cert).unwrap();
    pem.extend(std::fs::read(&f.pki.inter.cert).unwrap());
    std::fs::write(&chain, pem).unwrap();
    let cfg = format!(
        "sources:\n  - kind: tls_endpoint\n    name: mtls\n    targets: ['tls://127.0.0.1:{}']\n    client_cert: {}\n    client_key: {}\n",
        s.port,
        chain.display(),
        f.client.key.display()
    );
    let cfg_path = support_cli::write(dir.path(), "c.yaml", cfg);
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--offline",
        "--trust-roots",
        &root,
        "--config",
        cfg_path.to_str().unwrap(),
    ]);
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&o)));
    assert!(errors(&v).is_empty(), "{v:#}");
    let c = certs(&v);
    assert!(c
        .iter()
        .any(|x| x["subject_cn"] == "good.test" && x["endpoint"]["hostname_match"] == true));
    assert!(c
        .iter()
        .any(|x| x["subject_cn"] == "client.test" && x["location"] == chain.display().to_string()));
}

const STARTTLS: [&str; 9] = [
    "smtp", "lmtp", "imap", "pop3", "ftp", "ldap", "postgres", "mysql", "xmpp",
];

/// `openssl s_client -starttls P` agrees with the scripted peer (so the peer
/// is a faithful stand-in for a real server of that protocol).
#[test]
fn scripted_peer_agrees_with_s_client() {
    let Some(f) = fixture() else { return };
    let s = SServer::start(&f.pki, &f.good, &[]);
    let root = f.pki.root.cert.display().to_string();
    for proto in STARTTLS {
        let p = Peer::start(proto, Mode::Unsplit, s.port);
        let o = Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &format!("127.0.0.1:{}", p.port),
                "-starttls",
                proto,
                "-CAfile",
                &root,
                "-verify_return_error",
                "-servername",
                "good.test",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains("Verify return code: 0 (ok)") && out.contains("subject=CN = good.test"),
            "s_client -starttls {proto}: {out}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn starttls_protocols_give_the_trusted_leaf() {
    let Some(f) = fixture() else { return };
    let s = SServer::start(&f.pki, &f.good, &[]);
    let peers: Vec<(&str, Peer)> = STARTTLS
        .iter()
        .map(|p| (*p, Peer::start(p, Mode::Normal, s.port)))
        .collect();
    let urls: Vec<String> = peers
        .iter()
        .map(|(p, peer)| format!("{p}://127.0.0.1:{}?server_name=good.test", peer.port))
        .collect();
    let refs: Vec<&str> = urls.iter().map(String::as_str).collect();
    let v = scan(f, &refs);
    assert!(errors(&v).is_empty(), "{v:#}");
    for (proto, peer) in &peers {
        let loc = format!("127.0.0.1:{}", peer.port);
        let leaf = certs(&v)
            .into_iter()
            .find(|c| c["location"] == loc && c["index_in_bundle"] == 0)
            .unwrap_or_else(|| panic!("{proto}: no leaf in {v:#}"));
        assert_eq!(leaf["subject_cn"], "good.test", "{proto}");
        assert_eq!(leaf["trust"]["status"], "trusted", "{proto}");
        assert_eq!(leaf["endpoint"]["protocol"], *proto);
        assert_eq!(leaf["endpoint"]["hostname_match"], true);
    }
}

fn only_error(f: &Fixture, url: &str) -> Value {
    let v = scan(f, &[url]);
    assert!(certs(&v).is_empty(), "{url}: {v:#}");
    let e = errors(&v);
    assert_eq!(e.len(), 1, "{url}: {v:#}");
    e[0].clone()
}

#[test]
fn starttls_refusal_not_offered_and_injection_are_errors() {
    let Some(f) = fixture() else { return };
    let s = SServer::start(&f.pki, &f.good, &[]);
    for proto in STARTTLS {
        for (mode, reason) in [
            (Mode::NotOffered, "starttls_failed"),
            (Mode::Refuse, "starttls_failed"),
            (Mode::Inject, "starttls_injection"),
        ] {
            if proto == "mysql" && mode == Mode::Refuse {
                continue; // MySQL has no refusal step: the capability is the offer.
            }
            let p = Peer::start(proto, mode, s.port);
            let e = only_error(f, &format!("{proto}://127.0.0.1:{}", p.port));
            assert_eq!(e["reason"], reason, "{proto} {mode:?}: {e:#}");
        }
    }
}

#[test]
fn silent_server_and_close_mid_handshake() {
    let Some(_f) = fixture() else { return };
    let dir = tempfile::tempdir().unwrap();
    let silent = Peer::start("smtp", Mode::Silent, 1);
    let closer = Peer::start("tls", Mode::CloseMidHandshake, 1);
    let cfg = format!(
        "sources:\n  - kind: tls_endpoint\n    name: odd\n    timeout: 1s\n    targets: ['smtp://127.0.0.1:{}', 'tls://127.0.0.1:{}']\n",
        silent.port, closer.port
    );
    let cfg_path = support_cli::write(dir.path(), "c.yaml", cfg);
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--offline",
        "--config",
        cfg_path.to_str().unwrap(),
    ]);
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&o)));
    let reason_at = |port: u16| {
        errors(&v)
            .into_iter()
            .find(|e| e["location"] == format!("127.0.0.1:{port}"))
            .map(|e| e["reason"].as_str().unwrap().to_string())
    };
    assert_eq!(reason_at(silent.port).as_deref(), Some("timeout"), "{v:#}");
    assert_eq!(
        reason_at(closer.port).as_deref(),
        Some("tls_handshake_failed"),
        "{v:#}"
    );
    assert!(certs(&v).is_empty());
}

#[test]
fn bad_urls_are_usage_errors() {
    let o = run(&["scan", "tls://127.0.0.1"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    let _ = Path::new("/");
}

/// `serve` with a `tls_endpoint` source: `x509_cert_*` with endpoint labels and
/// `x509_endpoint_*` on /metrics (promtool clean), and `/probe`.
#[test]
fn serve_metrics_and_probe() {
    let Some(f) = fixture() else { return };
    let good = SServer::start(&f.pki, &f.good, &[]);
    let wrong = SServer::start(&f.pki, &f.wrong, &[]);
    let closed = support_pki::free_port();
    let dir = tempfile::tempdir().unwrap();
    let sd = support_cli::write(
        dir.path(),
        "targets.json",
        format!(
            r#"[{{"targets": ["127.0.0.1:{}"], "labels": {{"env": "test"}}}}]"#,
            wrong.port
        ),
    );
    let cfg = format!(
        "trust:\n  roots: ['{}']\nrevocation:\n  offline: true\nprobe:\n  modules:\n    noverify:\n      verify: false\n      timeout: 5s\nsources:\n  - kind: tls_endpoint\n    name: web\n    targets: ['tls://127.0.0.1:{}', 'tls://127.0.0.1:{}']\n    file_sd: ['{}']\n",
        f.pki.root.cert.display(),
        good.port,
        closed,
        dir.path().join("*.json").display(),
    );
    let _ = sd;
    let cfg_path = support_cli::write(dir.path(), "c.yaml", cfg);
    let port = support_cli::free_port();
    let log = std::fs::File::create(dir.path().join("serve.log")).unwrap();
    let mut child = Command::new(support_cli::bin())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
            cfg_path.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            panic!(
                "serve exited: {st} {}",
                std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default()
            );
        }
        if support_cli::http(port, "GET", "/readyz", &[]).is_some_and(|r| r.status == 200) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _kill = Kill(child);
    let m = support_cli::http(port, "GET", "/metrics", &[]).unwrap();
    assert_eq!(m.status, 200);
    let body = &m.body;
    support_cli::promtool_check(body);
    let good_loc = format!("127.0.0.1:{}", good.port);
    let line = body
        .lines()
        .find(|l| l.starts_with("x509_cert_not_after{") && l.contains("subject_CN=\"good.test\""))
        .unwrap_or_else(|| panic!("{body}"));
    assert!(
        line.contains(&format!("endpoint_address=\"{good_loc}\"")),
        "{line}"
    );
    assert!(line.contains("source_kind=\"tls_endpoint\""), "{line}");
    assert!(body.contains(&format!(
        "x509_endpoint_up{{source_name=\"web\",endpoint=\"{good_loc}\",endpoint_address=\"{good_loc}\",endpoint_server_name=\"127.0.0.1\",endpoint_protocol=\"tls\"}} 1"
    )), "{body}");
    assert!(
        body.contains(&format!(
            "x509_endpoint_up{{source_name=\"web\",endpoint=\"127.0.0.1:{closed}\""
        )),
        "{body}"
    );
    assert!(
        body.lines().any(|l| l.starts_with("x509_endpoint_up{")
            && l.contains(&format!("127.0.0.1:{closed}"))
            && l.ends_with(" 0")),
        "{body}"
    );
    assert!(
        body.lines()
            .any(|l| l.starts_with("x509_endpoint_hostname_match{")
                && l.contains(&format!("127.0.0.1:{}", wrong.port))
                && l.ends_with(" 0")),
        "{body}"
    );
    assert!(
        body.lines()
            .any(|l| l.starts_with("x509_endpoint_tls_version_info{")
                && l.contains("version=\"TLS 1.3\"")),
        "{body}"
    );
    assert!(
        body.lines()
            .any(|l| l.starts_with("x509_endpoint_handshake_seconds{") && l.contains(&good_loc)),
        "{body}"
    );
    // A file certificate series would carry endpoint_address="" (same label names).

    // /probe: a good target verifies.
    let p = support_cli::http(
        port,
        "GET",
        &format!(
            "/probe?target=tls%3A%2F%2F127.0.0.1%3A{}%3Fserver_name%3Dgood.test",
            good.port
        ),
        &[],
    )
    .unwrap();
    assert_eq!(p.status, 200, "{}", p.body);
    support_cli::promtool_check(&p.body);
    assert!(
        p.body.contains("\nprobe_success 1\n") || p.body.starts_with("# HELP probe_success"),
        "{}",
        p.body
    );
    assert!(p.body.lines().any(|l| l == "probe_success 1"), "{}", p.body);
    assert!(
        p.body
            .lines()
            .any(|l| l.starts_with("probe_ssl_last_chain_expiry_timestamp_seconds ")),
        "{}",
        p.body
    );
    assert!(
        p.body
            .lines()
            .any(|l| l.starts_with("probe_ssl_earliest_cert_expiry ")),
        "{}",
        p.body
    );
    assert!(
        p.body
            .lines()
            .any(|l| l.starts_with("probe_tls_version_info{version=\"TLS 1.3\"} 1")),
        "{}",
        p.body
    );
    assert!(
        p.body
            .lines()
            .any(|l| l.starts_with("probe_ssl_last_chain_info{fingerprint_sha256=")),
        "{}",
        p.body
    );
    assert!(
        p.body
            .lines()
            .any(|l| l.starts_with("x509_cert_not_after{") && l.contains("Endpoint Inter")),
        "{}",
        p.body
    );
    // Mismatching name: handshake fine, probe fails; the chain still verifies.
    let p = support_cli::http(
        port,
        "GET",
        &format!("/probe?target=127.0.0.1:{}", wrong.port),
        &[],
    )
    .unwrap();
    assert!(p.body.lines().any(|l| l == "probe_success 0"), "{}", p.body);
    assert!(
        p.body
            .lines()
            .any(|l| l.starts_with("probe_ssl_last_chain_info{")),
        "{}",
        p.body
    );
    // A module that does not verify: the handshake alone is success.
    let p = support_cli::http(
        port,
        "GET",
        &format!("/probe?target=127.0.0.1:{}&module=noverify", wrong.port),
        &[],
    )
    .unwrap();
    assert!(p.body.lines().any(|l| l == "probe_success 1"), "{}", p.body);
    // Closed port: failure, no chain series.
    let p = support_cli::http(
        port,
        "GET",
        &format!("/probe?target=127.0.0.1:{closed}"),
        &[],
    )
    .unwrap();
    assert!(p.body.lines().any(|l| l == "probe_success 0"), "{}", p.body);
    assert!(
        !p.body
            .contains("probe_ssl_last_chain_expiry_timestamp_seconds"),
        "{}",
        p.body
    );
    support_cli::promtool_check(&p.body);
    // Scheme allow-list and unknown modules.
    for bad in [
        "/probe",
        "/probe?target=file%3A%2F%2F%2Fetc%2Fpasswd",
        "/probe?target=h:1&module=nope",
    ] {
        let p = support_cli::http(port, "GET", bad, &[]).unwrap();
        assert_eq!(p.status, 400, "{bad}: {}", p.body);
    }
}

/// A server that only speaks TLS 1.1: reported as protocol unsupported.
#[test]
fn tls11_only_server_is_reported_as_unsupported() {
    let Some(f) = fixture() else { return };
    let s = SServer::start(
        &f.pki,
        &f.good,
        &["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
    );
    let e = only_error(f, &format!("tls://127.0.0.1:{}", s.port));
    assert_eq!(e["reason"], "tls_handshake_failed");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("protocol unsupported"),
        "{e:#}"
    );
}
