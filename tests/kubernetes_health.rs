//! Kubernetes-native certificate health (issue 16) against the strict fake API
//! server: Ingress TLS references and cert-manager state become object findings
//! in `certvigil report --format json --kubernetes`, and `x509_ingress_tls_info` /
//! `x509_cert_manager_certificate_*` series in `serve`'s `/metrics`. Optional
//! resources: a `403` or an absent API group skips that check without failing
//! the source. Fixtures follow Ingress v1 and cert-manager's published
//! `cert-manager.io/v1` CRD schemas (`status.conditions`, `renewalTime`,
//! `notAfter`, `failedIssuanceAttempts`).

mod common;
mod support_cli;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::fake_apiserver::{FakeApiServer, Scope};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use serde_json::{json, Value};
use support_cli::*;

const DAY: u64 = 86_400;

fn b64(d: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(d)
}

/// A self-signed leaf with these DNS SANs, valid until `not_after` (Unix s).
fn leaf(sans: &[&str], not_after: u64) -> String {
    let key = KeyPair::generate().unwrap();
    let mut p =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, sans.first().copied().unwrap_or("x"));
    p.distinguished_name = dn;
    p.not_before = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(now_unix() - 30 * DAY);
    p.not_after = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(not_after);
    p.self_signed(&key).unwrap().pem()
}

fn tls_secret(cert: &str) -> Value {
    json!({"kind": "Secret", "apiVersion": "v1", "type": "kubernetes.io/tls",
           "data": {"tls.crt": b64(cert), "tls.key": b64("-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n")}})
}

fn ingress(tls: Value) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
           "spec": {"ingressClassName": "nginx", "tls": tls,
                    "rules": [{"host": "web.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                      "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}})
}

fn rfc3339(t: u64) -> String {
    chrono::DateTime::from_timestamp(t as i64, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A cert-manager `Certificate` (cert-manager.io/v1).
fn certificate(secret: &str, ready: (&str, &str, &str), renewal: u64, not_after: u64) -> Value {
    json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
           "spec": {"secretName": secret, "dnsNames": ["web.example.com"],
                    "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"}},
           "status": {"conditions": [{"type": "Ready", "status": ready.0, "reason": ready.1, "message": ready.2,
                                      "lastTransitionTime": rfc3339(now_unix() - DAY), "observedGeneration": 1}],
                      "notBefore": rfc3339(now_unix() - 30 * DAY), "notAfter": rfc3339(not_after),
                      "renewalTime": rfc3339(renewal), "revision": 1}})
}

fn config(dir: &Path, kubeconfig: &Path, extra: &str) -> PathBuf {
    write(
        dir,
        "k8s.yml",
        format!(
            "scan:\n  interval: 1h\nsources: []\nkubernetes:\n  kubeconfig: {}\n  debounce: 100ms\n  cabundles:\n    enabled: false\n{extra}",
            kubeconfig.display()
        ),
    )
}

fn report_json(cfg: &Path) -> (Value, std::process::Output) {
    let o = run(&[
        "report",
        "--config",
        cfg.to_str().unwrap(),
        "--format",
        "json",
        "--kubernetes",
    ]);
    assert_eq!(code(&o), 0, "report failed: {}", show(&o));
    (serde_json::from_slice(&o.stdout).unwrap(), o)
}

/// `(id, location)` of every object finding of a health id.
fn health_findings(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let id = f["id"].as_str().unwrap_or("");
            id.starts_with("ingress_") || id.starts_with("cert_manager_")
        })
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["location"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn finding<'a>(v: &'a Value, id: &str, location: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id && f["location"] == location)
        .unwrap_or_else(|| panic!("no {id} at {location}: {:#}", v["findings"]))
}

/// The fake cluster of the acceptance test: a healthy Ingress + Certificate
/// pair and one broken object per finding.
fn broken_cluster(api: &FakeApiServer) {
    let now = now_unix();
    let web_not_after = now + 60 * DAY;
    let web = leaf(&["web.example.com", "*.apps.example.com"], web_not_after);
    // Healthy: Secret, Ingress (exact host and a wildcard-covered host), Certificate.
    api.apply("secrets", "shop", "web-tls", tls_secret(&web));
    api.apply(
        "ingresses",
        "shop",
        "web",
        ingress(
            json!([{"hosts": ["web.example.com", "a.apps.example.com"], "secretName": "web-tls"}]),
        ),
    );
    api.apply(
        "certificates",
        "shop",
        "web",
        certificate(
            "web-tls",
            (
                "True",
                "Ready",
                "Certificate is up to date and has not expired",
            ),
            now + 30 * DAY,
            web_not_after,
        ),
    );
    // ingress_tls_secret_missing: the named Secret does not exist.
    api.apply(
        "ingresses",
        "shop",
        "orphan",
        ingress(json!([{"hosts": ["orphan.example.com"], "secretName": "gone-tls"}])),
    );
    // ingress_host_not_in_san: a host two labels under the wildcard, and another domain.
    api.apply(
        "ingresses",
        "shop",
        "wrong-host",
        ingress(json!([{"hosts": ["web.example.com", "a.b.apps.example.com"], "secretName": "web-tls"}])),
    );
    // cert_manager_not_ready: Ready False with reason and message.
    api.apply(
        "certificates",
        "shop",
        "failing",
        certificate(
            "failing-tls",
            (
                "False",
                "DoesNotExist",
                "Issuing certificate as Secret does not exist",
            ),
            now + 10 * DAY,
            now + 40 * DAY,
        ),
    );
    // cert_manager_renewal_overdue: renewalTime a day ago, still Ready.
    let stale = leaf(&["stale.example.com"], now + 5 * DAY);
    api.apply("secrets", "shop", "stale-tls", tls_secret(&stale));
    api.apply(
        "certificates",
        "shop",
        "stale",
        certificate(
            "stale-tls",
            (
                "True",
                "Ready",
                "Certificate is up to date and has not expired",
            ),
            now - DAY,
            now + 5 * DAY,
        ),
    );
    // cert_manager_secret_mismatch: status.notAfter differs from the Secret's leaf.
    let other = leaf(&["mismatch.example.com"], now + 20 * DAY);
    api.apply("secrets", "shop", "mismatch-tls", tls_secret(&other));
    api.apply(
        "certificates",
        "shop",
        "mismatch",
        certificate(
            "mismatch-tls",
            ("True", "Ready", "ok"),
            now + 50 * DAY,
            now + 80 * DAY,
        ),
    );
    // cert_manager_issuance_failed: failed attempts, and a failed CertificateRequest.
    let mut retrying = certificate(
        "failing-tls",
        (
            "False",
            "Failed",
            "The certificate request has failed to complete and will be retried",
        ),
        now + 10 * DAY,
        now + 40 * DAY,
    );
    retrying["status"]["failedIssuanceAttempts"] = json!(3);
    retrying["status"]["lastFailureTime"] = json!(rfc3339(now - 3600));
    api.apply("certificates", "shop", "retrying", retrying);
    api.apply(
        "certificaterequests",
        "shop",
        "retrying-1",
        json!({"apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
               "metadata": {"annotations": {"cert-manager.io/certificate-name": "retrying",
                                            "cert-manager.io/certificate-revision": "1"}},
               "spec": {"request": b64("csr"), "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}},
               "status": {"conditions": [
                   {"type": "Approved", "status": "True", "reason": "cert-manager.io", "message": "approved"},
                   {"type": "Ready", "status": "False", "reason": "Failed", "message": "ACME order failed: 429 rateLimited"}],
                   "failureTime": rfc3339(now - 3600)}}),
    );
    api.apply(
        "certificaterequests",
        "shop",
        "web-1",
        json!({"apiVersion": "cert-manager.io/v1", "kind": "CertificateRequest",
               "spec": {"request": b64("csr"), "issuerRef": {"name": "letsencrypt"}},
               "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Issued", "message": "ok"}]}}),
    );
    // cert_manager_issuer_not_ready: a ClusterIssuer and an Issuer, Ready False.
    api.apply(
        "clusterissuers",
        "",
        "letsencrypt",
        json!({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer",
               "spec": {"acme": {"server": "https://acme.invalid/directory", "privateKeySecretRef": {"name": "le-key"}}},
               "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "ACMEAccountRegistered", "message": "ok"}]}}),
    );
    api.apply(
        "issuers",
        "shop",
        "vault",
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
               "spec": {"vault": {"server": "https://vault.invalid", "path": "pki/sign/x"}},
               "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "VaultError", "message": "Failed to initialize Vault client"}]}}),
    );
}

#[test]
fn report_raises_each_finding_for_broken_objects_and_none_for_a_healthy_pair() {
    let dir = tempfile::tempdir().unwrap();
    let api = FakeApiServer::start();
    let kc = api.kubeconfig(dir.path());
    broken_cluster(&api);
    let cfg = config(dir.path(), &kc, "");
    let (v, o) = report_json(&cfg);
    let got = health_findings(&v);
    let want: Vec<(String, String)> = [
        ("cert_manager_issuance_failed", "shop/retrying"),
        ("cert_manager_issuance_failed", "shop/retrying-1"),
        ("cert_manager_issuer_not_ready", "shop/vault"),
        ("cert_manager_not_ready", "shop/failing"),
        ("cert_manager_not_ready", "shop/retrying"),
        ("cert_manager_renewal_overdue", "shop/stale"),
        ("cert_manager_secret_mismatch", "shop/mismatch"),
        ("ingress_host_not_in_san", "shop/wrong-host"),
        ("ingress_tls_secret_missing", "shop/orphan"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want, "{}", show(&o));
    // Nothing about the healthy pair.
    assert!(
        !got.iter().any(|(_, l)| l == "shop/web"),
        "healthy Ingress/Certificate flagged: {got:?}"
    );
    // Messages carry the details; the SAN finding names the certificate.
    let m = finding(&v, "cert_manager_not_ready", "shop/failing");
    assert_eq!(m["severity"], "warning");
    assert!(
        m["message"].as_str().unwrap().contains("DoesNotExist")
            && m["message"]
                .as_str()
                .unwrap()
                .contains("Secret does not exist"),
        "{m}"
    );
    let h = finding(&v, "ingress_host_not_in_san", "shop/wrong-host");
    assert_eq!(h["severity"], "critical");
    assert!(
        h["message"]
            .as_str()
            .unwrap()
            .contains("a.b.apps.example.com"),
        "{h}"
    );
    assert!(
        !h["message"]
            .as_str()
            .unwrap()
            .contains("host web.example.com"),
        "{h}"
    );
    let web_fp = v["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["location"] == "shop/web-tls:tls.crt")
        .map(|c| c["sha256_fingerprint"].clone())
        .unwrap_or_else(|| panic!("web-tls not in the inventory: {v:#}"));
    assert_eq!(h["sha256_fingerprint"], web_fp);
    let miss = finding(&v, "ingress_tls_secret_missing", "shop/orphan");
    assert!(
        miss["message"].as_str().unwrap().contains("shop/gone-tls"),
        "{miss}"
    );
    let over = finding(&v, "cert_manager_renewal_overdue", "shop/stale");
    assert!(
        over["message"].as_str().unwrap().contains("renewalTime"),
        "{over}"
    );
    // The summary counts them.
    assert_eq!(v["summary"]["by_finding"]["ingress_tls_secret_missing"], 1);
    assert!(
        v["errors"].as_array().unwrap().is_empty(),
        "{:#}",
        v["errors"]
    );
    // Never a private key.
    assert!(!String::from_utf8_lossy(&o.stdout).contains("PRIVATE KEY"));
}

#[test]
fn a_label_selector_or_an_unsynced_secret_watch_never_claims_a_secret_missing() {
    let dir = tempfile::tempdir().unwrap();
    let api = FakeApiServer::start();
    let kc = api.kubeconfig(dir.path());
    broken_cluster(&api);
    // With a label selector the Secrets outside it are unknown, not missing.
    let cfg = config(
        dir.path(),
        &kc,
        "  secrets:\n    label_selector: app.kubernetes.io/managed-by=cert-manager\n",
    );
    let (v, o) = report_json(&cfg);
    let ids: Vec<String> = health_findings(&v).into_iter().map(|f| f.0).collect();
    assert!(
        !ids.contains(&"ingress_tls_secret_missing".to_string()),
        "{ids:?} {}",
        show(&o)
    );
    assert!(
        ids.contains(&"cert_manager_not_ready".to_string()),
        "{ids:?}"
    );
    // Secrets forbidden: the source is down, and no Secret is claimed missing.
    let api2 = FakeApiServer::start();
    let kc2 = api2.kubeconfig(dir.path());
    broken_cluster(&api2);
    api2.forbid("secrets", Scope::Any);
    let cfg = config(dir.path(), &kc2, "");
    let o = run(&[
        "report",
        "--config",
        cfg.to_str().unwrap(),
        "--format",
        "json",
        "--kubernetes",
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", show(&o)));
    let ids: Vec<String> = health_findings(&v).into_iter().map(|f| f.0).collect();
    assert!(
        !ids.contains(&"ingress_tls_secret_missing".to_string()),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&"cert_manager_secret_mismatch".to_string()),
        "{ids:?}"
    );
    assert!(
        ids.contains(&"cert_manager_renewal_overdue".to_string()),
        "{ids:?}"
    );
}

#[test]
fn forbidden_or_absent_optional_resources_are_skipped_not_failures() {
    let dir = tempfile::tempdir().unwrap();
    let api = FakeApiServer::start();
    let kc = api.kubeconfig(dir.path());
    broken_cluster(&api);
    api.forbid("ingresses", Scope::Any);
    api.remove_group("cert-manager.io/v1");
    let cfg = config(dir.path(), &kc, "");
    let (v, o) = report_json(&cfg);
    assert!(health_findings(&v).is_empty(), "{:?}", health_findings(&v));
    // The secrets source is up and complete.
    assert!(
        v["errors"].as_array().unwrap().is_empty(),
        "{:#}",
        v["errors"]
    );
    assert!(v["certificates"].as_array().unwrap().len() >= 3);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        stderr.matches("403 Forbidden").count(),
        1,
        "the 403 is reported exactly once: {stderr}"
    );
    assert!(stderr.contains("networking.k8s.io"), "{stderr}");
    // No request on cert-manager resources after discovery said it is absent;
    // one LIST of ingresses, not retried.
    let log = api.log();
    assert!(
        !log.iter().any(|l| l.path.contains("cert-manager.io/v1/")),
        "{log:#?}"
    );
    assert_eq!(
        log.iter().filter(|l| l.resource == "ingresses").count(),
        1,
        "{log:#?}"
    );
    // Turned off: no request at all.
    let api = FakeApiServer::start();
    let kc = api.kubeconfig(dir.path());
    broken_cluster(&api);
    let cfg = config(
        dir.path(),
        &kc,
        "  ingresses:\n    enabled: false\n  cert_manager:\n    enabled: false\n",
    );
    let (v, _) = report_json(&cfg);
    assert!(health_findings(&v).is_empty());
    assert!(
        !api.log()
            .iter()
            .any(|l| l.path.contains("networking.k8s.io") || l.path.contains("cert-manager.io")),
        "{:#?}",
        api.log()
    );
}

/// A running `certvigil serve`, killed on drop.
struct Served {
    child: Child,
    port: u16,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn start(cfg: &Path) -> Served {
        let port = free_port();
        let child = Command::new(bin())
            .args(["serve", "--config", cfg.to_str().unwrap(), "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Served { child, port }
    }

    /// Poll `/metrics` until `pred` holds (no wall-clock limit: the harness's
    /// timeout applies; a message every 30 s says what is awaited).
    fn wait_metrics(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        let mut said = 0;
        loop {
            if let Some(r) = http(self.port, "GET", "/metrics", &[]) {
                let body = r.body.clone();
                if r.status == 200 && pred(&body) {
                    return body;
                }
            }
            let secs = start.elapsed().as_secs();
            if secs / 30 > said {
                said = secs / 30;
                eprintln!("still waiting for {what} after {secs}s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn serve_exposes_ingress_and_cert_manager_series_and_follows_watches() {
    let dir = tempfile::tempdir().unwrap();
    let api = FakeApiServer::start();
    let kc = api.kubeconfig(dir.path());
    broken_cluster(&api);
    let cfg = config(dir.path(), &kc, "");
    let s = Served::start(&cfg);
    let m = s.wait_metrics("the health series", |m| {
        m.contains("x509_ingress_tls_info{") && m.contains("x509_cert_manager_certificate_ready{")
    });
    promtool_check(&m);
    for line in [
        "x509_ingress_tls_info{namespace=\"shop\",ingress=\"web\",host=\"web.example.com\",secret_name=\"web-tls\"} 1",
        "x509_ingress_tls_info{namespace=\"shop\",ingress=\"orphan\",host=\"orphan.example.com\",secret_name=\"gone-tls\"} 1",
        "x509_cert_manager_certificate_ready{namespace=\"shop\",name=\"web\",issuer_name=\"letsencrypt\",issuer_kind=\"ClusterIssuer\"} 1",
        "x509_cert_manager_certificate_ready{namespace=\"shop\",name=\"failing\",issuer_name=\"letsencrypt\",issuer_kind=\"ClusterIssuer\"} 0",
    ] {
        assert!(m.contains(line), "missing {line}\n{m}");
    }
    let stale_renewal = m
        .lines()
        .find(|l| {
            l.starts_with("x509_cert_manager_certificate_renewal_timestamp_seconds{namespace=\"shop\",name=\"stale\"")
        })
        .unwrap_or_else(|| panic!("{m}"));
    let v: f64 = stale_renewal.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        (v - (now_unix() - DAY) as f64).abs() < 600.0,
        "{stale_renewal}"
    );
    assert!(m.contains("x509_cert_manager_certificate_expiration_timestamp_seconds{namespace=\"shop\",name=\"web\""));
    // A watch event (the Ingress deleted, a Certificate becomes ready) reaches /metrics.
    api.delete("ingresses", "shop", "orphan");
    let mut failing = certificate(
        "failing-tls",
        ("True", "Ready", "ok"),
        now_unix() + 10 * DAY,
        now_unix() + 40 * DAY,
    );
    failing["metadata"] = json!({});
    api.apply("certificates", "shop", "failing", failing);
    let m = s.wait_metrics("the updates", |m| {
        !m.contains("ingress=\"orphan\"")
            && m.contains("x509_cert_manager_certificate_ready{namespace=\"shop\",name=\"failing\",issuer_name=\"letsencrypt\",issuer_kind=\"ClusterIssuer\"} 1")
    });
    promtool_check(&m);
}
