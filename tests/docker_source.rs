//! The Docker source against a real, private `dockerd` (tests/common/dockerd.rs):
//! swarm configs and secrets (metadata, mounted, exec), container files with
//! a `certvigil.paths` label, faults (non-certificate config, missing path,
//! huge file, tmpfs), swarm node certificates, `/metrics` checked by promtool,
//! event-driven rescans, a daemon restart, and — without dockerd — a daemon
//! that never answers and one with a too-old API.

#[path = "common/dockerd.rs"]
mod dockerd;
mod support_cli;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use dockerd::Dockerd;
use serde_json::Value;
use support_cli::*;

/// A cert+key bundle PEM (the key must never show up in any output).
fn cert_and_key(cn: &str, days: u64) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![format!("{cn}.test")]).unwrap();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, cn);
    params.distinguished_name = dn;
    let now = now_unix();
    params.not_before = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(now - DAY);
    params.not_after = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(now + days * DAY);
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn scan_json(dir: &Path, host: &str, config: &str) -> (Value, String) {
    let cfg = write(dir, "docker.yml", config);
    let o = Command::new(bin())
        .args([
            "scan",
            "--config",
            &cfg.display().to_string(),
            "--format",
            "json",
        ])
        .env("DOCKER_HOST", host)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", show(&o));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    (serde_json::from_str(&text).unwrap(), text)
}

fn find<'a>(list: &'a Value, kind: &str, location: &str) -> Option<&'a Value> {
    list.as_array()?
        .iter()
        .find(|c| c["source_kind"] == kind && c["location"] == location)
}

fn must<'a>(doc: &'a Value, key: &str, kind: &str, location: &str) -> &'a Value {
    find(&doc[key], kind, location)
        .unwrap_or_else(|| panic!("no {key} entry {kind} {location} in\n{doc:#}"))
}

#[test]
fn scan_reports_configs_secrets_containers_and_node_certificates() {
    let Some(d) = Dockerd::shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    // Swarm config with a certificate, and one that is not a certificate.
    let (cfg_cert, _) = cert_and_key("config.example", 90);
    let p = write(dir, "cfg.pem", &cfg_cert);
    d.docker_ok(&["config", "create", "scan-cfg", &p.display().to_string()]);
    let p = write(dir, "bad.txt", "this is not a certificate\n");
    d.docker_ok(&["config", "create", "scan-bad", &p.display().to_string()]);

    // A secret holding cert + key, mounted by a service as tls.pem.
    let (sec_cert, sec_key) = cert_and_key("secret.example", 45);
    let p = write(dir, "secret.pem", format!("{sec_cert}{sec_key}"));
    d.docker_ok(&["secret", "create", "scan-secret", &p.display().to_string()]);
    d.docker_ok(&[
        "service",
        "create",
        "-d",
        "--name",
        "scan-svc",
        "--stop-grace-period",
        "1s",
        "--secret",
        "source=scan-secret,target=tls.pem",
        dockerd::IMAGE,
        "sleep",
        "1000000",
    ]);

    // A container with certificates at known paths and a certvigil.paths label.
    let c = "scan-box";
    d.run_container(
        c,
        &[
            "--label",
            "certvigil.paths=/opt/tls/server.pem,/missing/x.pem",
            "--label",
            "com.docker.compose.project=shop",
        ],
    );
    let (a, a_key) = cert_and_key("container-a.example", 20);
    d.copy_into(c, &write(dir, "a.pem", &a), "/certs/a.pem");
    d.copy_into(c, &write(dir, "a-key.pem", &a_key), "/certs/a-key.pem");
    let (srv, _) = cert_and_key("container-label.example", 200);
    d.copy_into(c, &write(dir, "server.pem", &srv), "/opt/tls/server.pem");
    let huge = "A".repeat(2 << 20);
    d.copy_into(c, &write(dir, "huge.pem", huge), "/certs/huge.pem");
    d.copy_into(
        c,
        &write(dir, "nginx.conf", "server {}\n"),
        "/etc/nginx/nginx.conf",
    );

    d.wait_for("a running task of scan-svc", || {
        !d.docker_ok(&[
            "ps",
            "-q",
            "--filter",
            "label=com.docker.swarm.service.name=scan-svc",
        ])
        .is_empty()
    });

    let base = "sources: []\ndocker:\n  enabled: true\n";
    let (doc, text) = scan_json(dir, &d.host(), base);
    assert!(!text.contains("PRIVATE KEY"), "key material in the output");

    let cfg = must(&doc, "certificates", "docker_config", "config/scan-cfg");
    assert_eq!(cfg["subject_cn"], "config.example");
    assert_eq!(cfg["source_name"], "docker");
    assert_eq!(cfg["labels"]["docker_name"], "scan-cfg");
    assert_eq!(cfg["labels"]["docker_object"], "config");
    assert!(cfg["labels"]["docker_id"].as_str().unwrap().len() == 12);
    let bad = must(&doc, "errors", "docker_config", "config/scan-bad");
    assert_eq!(bad["reason"], "no_certificate_found");

    // metadata mode: the secret is listed with its services, no contents.
    let sec = must(&doc, "objects", "docker_secret", "secret/scan-secret");
    assert_eq!(sec["labels"]["docker_service"], "scan-svc");
    assert!(doc["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["source_kind"] != "docker_secret"));

    let a = must(
        &doc,
        "certificates",
        "docker_container",
        "scan-box:/certs/a.pem",
    );
    assert_eq!(a["subject_cn"], "container-a.example");
    assert_eq!(a["labels"]["docker_container"], "scan-box");
    assert_eq!(a["labels"]["docker_image"], dockerd::IMAGE);
    assert_eq!(a["labels"]["docker_compose_project"], "shop");
    let s = must(
        &doc,
        "certificates",
        "docker_container",
        "scan-box:/opt/tls/server.pem",
    );
    assert_eq!(s["subject_cn"], "container-label.example");
    let e = must(
        &doc,
        "errors",
        "docker_container",
        "scan-box:/missing/x.pem",
    );
    assert_eq!(e["reason"], "not_found");
    let e = must(
        &doc,
        "errors",
        "docker_container",
        "scan-box:/certs/huge.pem",
    );
    assert_eq!(e["reason"], "too_large");
    // Key files and non-certificate files inside directories are not read.
    assert!(find(
        &doc["errors"],
        "docker_container",
        "scan-box:/certs/a-key.pem"
    )
    .is_none());
    assert!(find(
        &doc["errors"],
        "docker_container",
        "scan-box:/etc/nginx/nginx.conf"
    )
    .is_none());

    // Swarm node certificate and root CA: files and the API's trust root.
    let node_dir = d.data_root().join("swarm/certificates");
    let node = must(
        &doc,
        "certificates",
        "docker_node",
        &node_dir.join("swarm-node.crt").display().to_string(),
    );
    assert!(node["subject"]
        .as_str()
        .unwrap()
        .contains("OU=swarm-manager"));
    must(
        &doc,
        "certificates",
        "docker_node",
        &node_dir.join("swarm-root-ca.crt").display().to_string(),
    );
    let root = doc["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["source_kind"] == "docker_node"
                && c["location"]
                    .as_str()
                    .unwrap()
                    .ends_with(":TLSInfo.TrustRoot")
        })
        .unwrap_or_else(|| panic!("no swarm root from the API in {doc:#}"));
    assert_eq!(root["subject_cn"], "swarm-ca");
    assert_eq!(root["is_ca"], true);

    // exec mode: the secret read inside the task container.
    let (doc, text) = scan_json(
        dir,
        &d.host(),
        &format!("{base}  secrets: {{mode: exec}}\n  containers: {{enabled: false}}\n"),
    );
    assert!(!text.contains("PRIVATE KEY"));
    let s = must(
        &doc,
        "certificates",
        "docker_secret",
        "secret/scan-secret:/run/secrets/tls.pem",
    );
    assert_eq!(s["subject_cn"], "secret.example");
    assert!(s["labels"]["docker_container"]
        .as_str()
        .unwrap()
        .starts_with("scan-svc.1."));

    // mounted mode: files under mounted_dir are attributed to the secret by target.
    let mounted = dir.join("run-secrets");
    std::fs::create_dir(&mounted).unwrap();
    write(&mounted, "tls.pem", format!("{sec_cert}{sec_key}"));
    let (doc, text) = scan_json(
        dir,
        &d.host(),
        &format!(
            "{base}  secrets: {{mode: mounted, mounted_dir: {}}}\n  containers: {{enabled: false}}\n",
            mounted.display()
        ),
    );
    assert!(!text.contains("PRIVATE KEY"));
    let s = must(&doc, "certificates", "docker_secret", "secret/scan-secret");
    assert_eq!(s["subject_cn"], "secret.example");
    assert_eq!(s["labels"]["docker_id"].as_str().unwrap().len(), 12);
}

#[test]
fn tmpfs_paths_are_reported_not_read_as_empty() {
    let Some(d) = Dockerd::shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    d.run_container(
        "tmpfs-box",
        &[
            "--tmpfs",
            "/secrets",
            "--label",
            "certvigil.paths=/secrets/tls.pem",
        ],
    );
    let (doc, _) = scan_json(
        tmp.path(),
        &d.host(),
        "sources: []\ndocker:\n  enabled: true\n  node: {enabled: false}\n  configs: {enabled: false}\n  secrets: {mode: off}\n",
    );
    let e = must(
        &doc,
        "errors",
        "docker_container",
        "tmpfs-box:/secrets/tls.pem",
    );
    assert_eq!(e["reason"], "read_failed");
    assert!(e["message"].as_str().unwrap().contains("tmpfs"));
}

#[test]
fn unchanged_objects_are_not_read_again() {
    use certvigil::scraper::Scraper;
    use certvigil::sources::docker::config::DockerEnabled;
    use certvigil::sources::docker::DockerSource;
    use certvigil::sources::Source;
    use std::sync::atomic::Ordering;

    let Some(d) = Dockerd::shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let c = "reread-box";
    d.run_container(c, &[]);
    let (a, _) = cert_and_key("reread.example", 20);
    d.copy_into(c, &write(tmp.path(), "a.pem", &a), "/certs/a.pem");
    let (cfg_cert, _) = cert_and_key("reread-config.example", 20);
    let p = write(tmp.path(), "c.pem", &cfg_cert);
    d.docker_ok(&["config", "create", "reread-cfg", &p.display().to_string()]);

    let mut cfg = certvigil::sources::docker::config::default_docker();
    cfg.enabled = DockerEnabled::On;
    cfg.host = Some(d.host());
    let src = Arc::new(DockerSource::new(cfg));
    let stats = src.stats();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sources: Vec<Arc<dyn Source>> = vec![src.clone()];
        let mut scraper = Scraper::new(sources, Duration::from_secs(60));
        let s1 = scraper.scan(chrono::Utc::now()).await;
        assert!(s1
            .certificates
            .iter()
            .any(|c| c.source.location == "reread-box:/certs/a.pem"));
        let archives = stats.archive_requests.load(Ordering::SeqCst);
        assert!(archives > 0);
        let s2 = scraper.scan(chrono::Utc::now()).await;
        assert_eq!(
            stats.archive_requests.load(Ordering::SeqCst),
            archives,
            "unchanged containers were read again"
        );
        assert_eq!(s1.certificates.len(), s2.certificates.len());
        assert!(s2
            .certificates
            .iter()
            .any(|c| c.source.location == "config/reread-cfg"));
        // A restarted container is read again.
        d.docker_ok(&["restart", "-t", "1", c]);
        let s3 = scraper.scan(chrono::Utc::now()).await;
        assert!(stats.archive_requests.load(Ordering::SeqCst) > archives);
        assert!(s3
            .certificates
            .iter()
            .any(|c| c.source.location == "reread-box:/certs/a.pem"));
    });
}

/// A running `certvigil serve`, killed on drop.
struct Served {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Served {
    fn start(dir: &Path, config: &Path, host: &str) -> Served {
        let port = free_port();
        let log = dir.join("serve.log");
        let f = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin())
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--config",
            ])
            .arg(config)
            .env("DOCKER_HOST", host)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(f))
            .spawn()
            .unwrap();
        let mut s = Served { child, port, log };
        loop {
            if let Some(st) = s.child.try_wait().unwrap() {
                panic!("serve exited ({st}):\n{}", s.log());
            }
            if http(s.port, "GET", "/readyz", &[]).is_some_and(|r| r.status == 200) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn metrics(&self) -> String {
        let r = http(self.port, "GET", "/metrics", &[])
            .unwrap_or_else(|| panic!("GET /metrics failed:\n{}", self.log()));
        assert_eq!(r.status, 200);
        r.body
    }

    /// Poll /metrics until `cond` holds (generous deadline).
    fn wait_metrics(&self, what: &str, cond: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            let m = self.metrics();
            if cond(&m) {
                return m;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}; metrics:\n{m}\nlog:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn has_series(m: &str, metric: &str, needles: &[&str]) -> bool {
    m.lines()
        .any(|l| l.starts_with(&format!("{metric}{{")) && needles.iter().all(|n| l.contains(n)))
}

fn up_lines(m: &str) -> Vec<String> {
    m.lines()
        .filter(|l| l.starts_with("x509_source_up{") && l.contains("source_kind=\"docker_"))
        .map(str::to_string)
        .collect()
}

#[test]
fn serve_exposes_docker_series_and_rescans_on_events() {
    let Some(d) = Dockerd::shared() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (c1, _) = cert_and_key("events-one.example", 30);
    let p = write(dir, "c1.pem", &c1);
    d.docker_ok(&["config", "create", "ev-cfg1", &p.display().to_string()]);
    let p = write(dir, "s1.pem", &c1);
    d.docker_ok(&["secret", "create", "ev-secret", &p.display().to_string()]);
    d.run_container("ev-box", &[]);
    d.copy_into("ev-box", &write(dir, "b.pem", &c1), "/certs/b.pem");

    // A one-hour interval: anything new within the test comes from an event.
    let cfg = write(
        dir,
        "serve.yml",
        "scan: {interval: 1h}\nsources: []\ndocker:\n  enabled: true\n",
    );
    let s = Served::start(dir, &cfg, &d.host());
    let m = s.metrics();
    for needles in [
        &["source_kind=\"docker_config\"", "docker_name=\"ev-cfg1\""][..],
        &[
            "source_kind=\"docker_container\"",
            "filepath=\"/certs/b.pem\"",
            "docker_container=\"ev-box\"",
        ][..],
        &["source_kind=\"docker_node\"", "filename=\"swarm-node.crt\""][..],
        &["source_kind=\"docker_node\"", "docker_object=\"swarm\""][..],
    ] {
        assert!(
            has_series(&m, "x509_cert_not_after", needles),
            "{needles:?} missing:\n{m}"
        );
    }
    assert!(
        has_series(
            &m,
            "x509_docker_secret_info",
            &["docker_name=\"ev-secret\""]
        ),
        "{m}"
    );
    assert_eq!(up_lines(&m).len(), 4, "{m}");
    assert!(up_lines(&m).iter().all(|l| l.ends_with(" 1")), "{m}");
    promtool_check(&m);

    // A new config and a new container show up without waiting an interval.
    let (c2, _) = cert_and_key("events-two.example", 60);
    let p = write(dir, "c2.pem", &c2);
    d.docker_ok(&["config", "create", "ev-cfg2", &p.display().to_string()]);
    let m = s.wait_metrics("ev-cfg2 via events", |m| {
        has_series(m, "x509_cert_not_after", &["docker_name=\"ev-cfg2\""])
    });
    promtool_check(&m);
    d.docker_ok(&["stop", "-t", "1", "ev-box"]);
    s.wait_metrics("ev-box gone via events", |m| {
        !has_series(m, "x509_cert_not_after", &["docker_container=\"ev-box\""])
    });
}

#[test]
fn daemon_restart_flips_source_up_and_keeps_file_series() {
    // Private daemon: this test stops it.
    let Some(d) = Dockerd::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let certs = dir.join("certs");
    std::fs::create_dir(&certs).unwrap();
    write(
        &certs,
        "host.pem",
        cert_expiring_in("host-file.example", 50),
    );
    let (c, _) = cert_and_key("restart.example", 30);
    let p = write(dir, "c.pem", &c);
    d.docker_ok(&["config", "create", "rs-cfg", &p.display().to_string()]);
    let cfg = write(
        dir,
        "serve.yml",
        format!(
            "scan: {{interval: 2s}}\nsources:\n  - kind: file\n    name: host\n    paths: [{}]\ndocker:\n  enabled: true\n  api_timeout: 2s\n",
            certs.display()
        ),
    );
    let s = Served::start(dir, &cfg, &d.host());
    let m = s.wait_metrics("docker up", |m| {
        up_lines(m).len() == 4 && up_lines(m).iter().all(|l| l.ends_with(" 1"))
    });
    assert!(has_series(
        &m,
        "x509_cert_not_after",
        &["docker_name=\"rs-cfg\""]
    ));

    d.stop();
    let m = s.wait_metrics("docker down", |m| {
        up_lines(m).len() == 4 && up_lines(m).iter().all(|l| l.ends_with(" 0"))
    });
    assert!(
        has_series(
            &m,
            "x509_cert_not_after",
            &["source_kind=\"file\"", "host.pem"]
        ),
        "file series dropped while Docker is down:\n{m}"
    );
    assert!(has_series(
        &m,
        "x509_source_up",
        &["source_kind=\"file\"", "source_name=\"host\""]
    ));
    assert!(m.lines().any(|l| l.starts_with("x509_source_up{")
        && l.contains("source_name=\"host\"")
        && l.ends_with(" 1")));
    assert!(m.lines().any(|l| l.starts_with("x509_source_errors_total{")
        && l.contains("source_kind=\"docker_container\"")
        && l.contains("reason=\"source_unavailable\"")
        && !l.ends_with(" 0")));
    promtool_check(&m);

    d.restart();
    let m = s.wait_metrics("docker back up with its config", |m| {
        up_lines(m).len() == 4
            && up_lines(m).iter().all(|l| l.ends_with(" 1"))
            && has_series(m, "x509_cert_not_after", &["docker_name=\"rs-cfg\""])
    });
    promtool_check(&m);
}

/// A fake daemon on a unix socket: `answer` is the raw HTTP response to every
/// request, or `None` to accept and never answer.
fn fake_daemon(sock: &Path, answer: Option<&'static str>) -> std::thread::JoinHandle<()> {
    let l = std::os::unix::net::UnixListener::bind(sock).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in l.incoming() {
            let Ok(mut c) = conn else { return };
            match answer {
                None => held.push(c),
                Some(a) => {
                    let mut buf = [0u8; 4096];
                    let _ = c.read(&mut buf);
                    let _ = c.write_all(a.as_bytes());
                }
            }
        }
    })
}

#[test]
fn slow_and_outdated_daemons_are_located_errors() {
    let tmp = tempfile::Builder::new()
        .prefix("cvf")
        .tempdir_in("/tmp")
        .unwrap();
    let dir = tmp.path();
    write(dir, "ok.pem", cert_expiring_in("still-here.example", 10));

    let slow = dir.join("slow.sock");
    fake_daemon(&slow, None);
    let host = format!("unix://{}", slow.display());
    let cfg = format!(
        "sources:\n  - kind: file\n    paths: [{}/ok.pem]\ndocker:\n  enabled: true\n  api_timeout: 1s\n",
        dir.display()
    );
    let (doc, _) = scan_json(dir, &host, &cfg);
    let e = doc["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source_name"] == "docker")
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert_eq!(e["reason"], "timeout", "{doc:#}");
    assert!(find(
        &doc["certificates"],
        "file",
        &format!("{}/ok.pem", dir.display())
    )
    .is_some());

    let old = dir.join("old.sock");
    let body = r#"{"Version":"1.12.0","ApiVersion":"1.24","MinAPIVersion":"1.12"}"#;
    let answer: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    fake_daemon(&old, Some(answer));
    let (doc, _) = scan_json(dir, &format!("unix://{}", old.display()), &cfg);
    let e = doc["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source_name"] == "docker")
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert_eq!(e["reason"], "api_error", "{doc:#}");
    assert!(e["message"].as_str().unwrap().contains("older"), "{e}");
    assert!(find(
        &doc["certificates"],
        "file",
        &format!("{}/ok.pem", dir.display())
    )
    .is_some());

    // No daemon at all, enabled: auto → the source stays off, quietly.
    let cfg = format!(
        "sources:\n  - kind: file\n    paths: [{}/ok.pem]\ndocker:\n  enabled: auto\n",
        dir.display()
    );
    let (doc, _) = scan_json(dir, &format!("unix://{}/absent.sock", dir.display()), &cfg);
    assert!(doc["errors"].as_array().unwrap().is_empty(), "{doc:#}");
}
