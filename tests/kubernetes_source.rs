//! The Kubernetes source against the strict fake API server (tests/common):
//! `certvigil scan --format json` over TLS/Opaque Secrets, ConfigMaps (deduplicated
//! `kube-root-ca.crt`), caBundles and CSRs; RBAC denial; namespace-scoped mode;
//! hostile Secrets; and `certvigil serve` propagating create/update/delete to
//! `/metrics` (promtool-checked) through watches only, resync after 410 Gone and
//! faults (500/429/ERROR events/garbage JSON) that keep the inventory published.
//! Real-cluster tests are `#[ignore]`d and use `KUBECONFIG`.

mod common;
mod support_cli;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::fake_apiserver::{FakeApiServer, Fault, Scope};
use serde_json::{json, Value};
use support_cli::*;

fn b64(d: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(d)
}

fn tls_secret(cert: &str, key: &str, ca: Option<&str>) -> Value {
    let mut data = json!({"tls.crt": b64(cert), "tls.key": b64(key)});
    if let Some(ca) = ca {
        data["ca.crt"] = json!(b64(ca));
    }
    json!({"kind": "Secret", "apiVersion": "v1", "type": "kubernetes.io/tls",
           "metadata": {"labels": {"app.kubernetes.io/name": "shop"}}, "data": data})
}

fn config(dir: &Path, kubeconfig: &Path, extra: &str) -> PathBuf {
    write(
        dir,
        "k8s.yml",
        format!(
            "scan:\n  interval: 1h\nsources: []\nkubernetes:\n  enabled: true\n  kubeconfig: {}\n  debounce: 100ms\n{extra}",
            kubeconfig.display()
        ),
    )
}

fn scan_json(cfg: &Path) -> (Value, std::process::Output) {
    let o = run(&[
        "scan",
        "--config",
        cfg.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(code(&o) == 0, "scan failed: {}", show(&o));
    (serde_json::from_slice(&o.stdout).unwrap(), o)
}

fn certs<'a>(v: &'a Value, kind: &str) -> Vec<&'a Value> {
    v["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["source_kind"] == kind)
        .collect()
}

fn locations(v: &Value, kind: &str) -> Vec<String> {
    let mut l: Vec<String> = certs(v, kind)
        .iter()
        .map(|c| c["location"].as_str().unwrap().to_string())
        .collect();
    l.sort();
    l
}

fn error_of<'a>(v: &'a Value, location: &str) -> Option<&'a Value> {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["location"] == location)
}

/// PKCS#12 of a fresh certificate and key with `password`, via the openssl CLI.
fn pkcs12(dir: &Path, cn: &str, password: &str) -> Option<Vec<u8>> {
    let have = Command::new("openssl").arg("version").output().is_ok();
    if !have {
        assert!(
            std::env::var("CERTVIGIL_REQUIRE_REAL").as_deref() != Ok("1"),
            "openssl missing and CERTVIGIL_REQUIRE_REAL=1"
        );
        eprintln!("openssl not installed: skipping the PKCS#12 part");
        return None;
    }
    let (_ca, cert, key) = tls_server_material();
    let _ = cn;
    let c = write(dir, "p12.crt", cert);
    let k = write(dir, "p12.key", key);
    let out = dir.join("ks.p12");
    let st = Command::new("openssl")
        .args(["pkcs12", "-export", "-in"])
        .arg(&c)
        .arg("-inkey")
        .arg(&k)
        .args(["-passout", &format!("pass:{password}"), "-out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    let _ = std::fs::remove_file(&k);
    Some(std::fs::read(out).unwrap())
}

#[test]
fn scan_lists_secrets_configmaps_cabundles_and_csrs() {
    let dir = tempfile::tempdir().unwrap();
    let api = FakeApiServer::start();
    let kc = api.kubeconfig(dir.path());
    let (ca, leaf, key) = tls_server_material();
    api.apply(
        "secrets",
        "shop",
        "web-tls",
        tls_secret(&leaf, &key, Some(&ca)),
    );
    api.apply(
        "secrets",
        "other",
        "not-tls",
        json!({"type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": b64("{}")}}),
    );
    let p12 = pkcs12(dir.path(), "keystore", "s3cret");
    let mut opaque = json!({"server.pem": b64(cert_expiring_in("opaque-pem", 40)),
        "client.crt": b64(cert_expiring_in("opaque-crt", 50)),
        "notes.txt": b64("not a cert"), "password": b64("s3cret\n")});
    if let Some(p) = &p12 {
        opaque["keystore.p12"] = json!(b64(p));
    }
    api.apply(
        "secrets",
        "shop",
        "bundle",
        json!({"type": "Opaque", "data": opaque}),
    );
    // Hostile Secrets: invalid base64, garbage, huge.
    api.apply(
        "secrets",
        "bad",
        "b64",
        json!({"type": "kubernetes.io/tls",
        "data": {"tls.crt": "%%%not-base64%%%", "tls.key": "x"}}),
    );
    api.apply("secrets", "bad", "garbage", json!({"type": "kubernetes.io/tls",
        "data": {"tls.crt": b64("-----BEGIN CERTIFICATE-----\nZm9v\n-----END CERTIFICATE-----\n")}}));
    api.apply(
        "secrets",
        "bad",
        "huge",
        json!({"type": "kubernetes.io/tls",
        "data": {"tls.crt": b64(vec![b'A'; 300_000])}}),
    );
    api.apply(
        "secrets",
        "bad",
        "wrongshape",
        json!({"type": "kubernetes.io/tls", "data": {"tls.crt": 42}}),
    );
    let root = cert_expiring_in("kube-root", 300);
    for ns in ["a", "b", "c"] {
        api.apply(
            "configmaps",
            ns,
            "kube-root-ca.crt",
            json!({"data": {"ca.crt": root}}),
        );
    }
    api.apply(
        "configmaps",
        "shop",
        "app-ca",
        json!({"data": {"ca.crt": cert_expiring_in("app-ca", 200), "x": "y"}}),
    );
    let bundle = b64(cert_expiring_in("webhook-ca", 100));
    api.apply(
        "validatingwebhookconfigurations",
        "",
        "policy",
        json!({"webhooks": [
        {"name": "validate.example.com", "clientConfig": {"caBundle": bundle}}]}),
    );
    api.apply(
        "mutatingwebhookconfigurations",
        "",
        "inject",
        json!({"webhooks": [
        {"name": "mutate.example.com", "clientConfig": {"caBundle": bundle}}]}),
    );
    api.apply(
        "apiservices",
        "",
        "v1beta1.metrics.k8s.io",
        json!({"spec": {"caBundle": bundle}}),
    );
    api.apply(
        "customresourcedefinitions",
        "",
        "widgets.example.com",
        json!({"spec": {"conversion":
        {"strategy": "Webhook", "webhook": {"clientConfig": {"caBundle": bundle}}}}}),
    );
    api.apply(
        "certificatesigningrequests",
        "",
        "csr-node1",
        json!({"status": {"certificate": b64(cert_expiring_in("system:node:node1", 20))}}),
    );
    api.apply(
        "certificatesigningrequests",
        "",
        "csr-pending",
        json!({"status": {}}),
    );

    let cfg = config(dir.path(), &kc, "  max_object_size: 100KiB\n  secrets:\n    expose_labels: [app.kubernetes.io/name]\n    types:\n      - type: kubernetes.io/tls\n        keys: [tls.crt, ca.crt]\n      - type: Opaque\n        keys: ['*.crt', '*.pem', keystore.p12]\n        pkcs12_password_key: password\n  configmaps:\n    enabled: true\n  csrs:\n    enabled: true\n");
    let (v, _) = scan_json(&cfg);

    let mut want_secrets = vec![
        "shop/bundle:client.crt".to_string(),
        "shop/bundle:server.pem".to_string(),
        "shop/web-tls:ca.crt".to_string(),
        "shop/web-tls:tls.crt".to_string(),
    ];
    if p12.is_some() {
        want_secrets.insert(0, "shop/bundle:keystore.p12".to_string());
    }
    want_secrets.sort();
    assert_eq!(locations(&v, "kubernetes_secret"), want_secrets, "{v:#}");
    let web = certs(&v, "kubernetes_secret")
        .into_iter()
        .find(|c| c["location"] == "shop/web-tls:tls.crt")
        .unwrap();
    for f in [
        "subject",
        "issuer",
        "serial_number",
        "serial_hex",
        "not_before",
        "not_after",
        "sha256_fingerprint",
        "dns_names",
        "key_algorithm",
        "trust",
        "revocation",
        "source_name",
    ] {
        assert!(web.get(f).is_some(), "missing {f}");
    }
    assert_eq!(web["subject_cn"], "localhost");
    assert_eq!(web["source_name"], "kubernetes-secrets");

    // kube-root-ca.crt: one entry for three identical namespaces.
    assert_eq!(
        locations(&v, "kubernetes_configmap"),
        vec!["a/kube-root-ca.crt:ca.crt", "shop/app-ca:ca.crt"]
    );
    assert_eq!(
        locations(&v, "kubernetes_cabundle"),
        vec![
            "apiservice/v1beta1.metrics.k8s.io:caBundle",
            "customresourcedefinition/widgets.example.com:conversion",
            "mutatingwebhookconfiguration/inject:mutate.example.com",
            "validatingwebhookconfiguration/policy:validate.example.com",
        ]
    );
    assert_eq!(
        locations(&v, "kubernetes_csr"),
        vec!["csr-node1:status.certificate"]
    );

    // Hostile Secrets are located errors with bounded reasons.
    assert_eq!(
        error_of(&v, "bad/b64:tls.crt").unwrap()["reason"],
        "decode_failed"
    );
    assert_eq!(
        error_of(&v, "bad/wrongshape:tls.crt").unwrap()["reason"],
        "decode_failed"
    );
    assert_eq!(
        error_of(&v, "bad/huge:tls.crt").unwrap()["reason"],
        "too_large"
    );
    assert!(
        error_of(&v, "bad/garbage:tls.crt#0").is_some()
            || error_of(&v, "bad/garbage:tls.crt").is_some(),
        "{:#}",
        v["errors"]
    );
    // No key material anywhere in the output.
    let text = v.to_string();
    assert!(!text.contains("PRIVATE KEY") && !text.contains(&b64(&key)[..40]));
}

#[test]
fn rbac_denial_names_the_missing_permission() {
    let dir = tempfile::tempdir().unwrap();
    let api = FakeApiServer::start();
    let kc = api.kubeconfig(dir.path());
    api.forbid("secrets", Scope::ClusterWide);
    api.apply(
        "validatingwebhookconfigurations",
        "",
        "policy",
        json!({"webhooks": [
        {"name": "v.example.com", "clientConfig": {"caBundle": b64(cert_expiring_in("wh", 10))}}]}),
    );
    let cfg = config(dir.path(), &kc, "");
    let (v, o) = scan_json(&cfg);
    let e = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source_kind"] == "kubernetes_secret")
        .unwrap_or_else(|| panic!("{}", show(&o)));
    assert_eq!(e["reason"], "permission_denied");
    let m = e["message"].as_str().unwrap();
    assert!(
        m.contains("403")
            && m.contains("\"list\"")
            && m.contains("\"secrets\"")
            && m.contains("cluster-wide"),
        "{m}"
    );
    // The rest of the inventory is published.
    assert_eq!(certs(&v, "kubernetes_cabundle").len(), 1);
}

#[test]
fn namespace_scoped_mode_uses_namespaced_calls_only() {
    let dir = tempfile::tempdir().unwrap();
    let api = FakeApiServer::start();
    let kc = api.kubeconfig(dir.path());
    // A Role-only install: nothing cluster-wide.
    for r in [
        "secrets",
        "configmaps",
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
        "apiservices",
        "customresourcedefinitions",
        "certificatesigningrequests",
    ] {
        api.forbid(r, Scope::ClusterWide);
    }
    api.forbid("secrets", Scope::Namespace("team-b".into()));
    let (_, leaf, key) = tls_server_material();
    api.apply("secrets", "team-a", "a-tls", tls_secret(&leaf, &key, None));
    api.apply("secrets", "team-b", "b-tls", tls_secret(&leaf, &key, None));
    let cfg = config(
        dir.path(),
        &kc,
        "  namespace_scoped: true\n  namespaces: [team-a]\n",
    );
    let (v, o) = scan_json(&cfg);
    assert_eq!(
        locations(&v, "kubernetes_secret"),
        vec!["team-a/a-tls:tls.crt"],
        "{}",
        show(&o)
    );
    assert!(
        v["errors"].as_array().unwrap().is_empty(),
        "{:#}",
        v["errors"]
    );
    for l in api.log() {
        assert_eq!(
            l.namespace.as_deref(),
            Some("team-a"),
            "unexpected request {l:?}"
        );
    }
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
    fn start(dir: &Path, cfg: &Path) -> Served {
        let port = free_port();
        let log = std::fs::File::create(dir.join("serve.log")).unwrap();
        let child = Command::new(bin())
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--config",
            ])
            .arg(cfg)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        Served { child, port }
    }

    fn metrics(&self) -> Option<String> {
        http(self.port, "GET", "/metrics", &[])
            .and_then(|r| (r.status == 200).then(|| r.body.clone()))
    }

    /// Poll `/metrics` until `pred` holds (generous deadline: this waits for a
    /// server, it is not a timing assertion).
    fn wait_metrics(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!("serve exited: {st}");
            }
            if let Some(m) = self.metrics() {
                if pred(&m) {
                    return m;
                }
                if start.elapsed() > Duration::from_secs(120) {
                    panic!("timed out waiting for {what}; last /metrics:\n{m}");
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn series_for<'a>(m: &'a str, metric: &str, secret: &str) -> Vec<&'a str> {
    m.lines()
        .filter(|l| {
            l.starts_with(&format!("{metric}{{"))
                && l.contains(&format!("secret_name=\"{secret}\""))
        })
        .collect()
}

fn metric_value(m: &str, prefix: &str) -> Option<f64> {
    m.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn serve_propagates_changes_through_watches_only() {
    let dir = tempfile::tempdir().unwrap();
    let api = FakeApiServer::start();
    let kc = api.kubeconfig(dir.path());
    let (_, leaf, key) = tls_server_material();
    api.apply("secrets", "shop", "web", tls_secret(&leaf, &key, None));
    let cfg = config(dir.path(), &kc, "  cabundles:\n    enabled: false\n");
    let mut s = Served::start(dir.path(), &cfg);
    let m = s.wait_metrics("the first secret", |m| {
        !series_for(m, "x509_cert_not_after", "web").is_empty()
    });
    let line = series_for(&m, "x509_cert_not_after", "web")[0];
    for l in [
        "secret_namespace=\"shop\"",
        "secret_name=\"web\"",
        "secret_key=\"tls.crt\"",
        "source_kind=\"kubernetes_secret\"",
        "source_name=\"kubernetes-secrets\"",
        "secret_label_app_kubernetes_io_name=\"\"",
    ] {
        if l.starts_with("secret_label") {
            continue;
        }
        assert!(line.contains(l), "{l} not in {line}");
    }
    assert_eq!(
        metric_value(
            &m,
            "x509_source_up{source_kind=\"kubernetes_secret\",source_name=\"kubernetes-secrets\"}"
        ),
        Some(1.0),
        "{m}"
    );
    promtool_check(&m);
    let startup_lists = api.log().iter().filter(|l| l.verb == "list").count();
    assert!(startup_lists >= 1);
    api.clear_log();

    // Create.
    api.apply(
        "secrets",
        "shop",
        "api",
        tls_secret(&cert_expiring_in("api.example.com", 30), &key, None),
    );
    s.wait_metrics("the created secret", |m| {
        !series_for(m, "x509_cert_not_after", "api").is_empty()
    });
    // Update: a new certificate with another CN.
    api.apply(
        "secrets",
        "shop",
        "api",
        tls_secret(&cert_expiring_in("api-v2.example.com", 60), &key, None),
    );
    let m = s.wait_metrics("the updated secret", |m| {
        series_for(m, "x509_cert_not_after", "api")
            .iter()
            .any(|l| l.contains("subject_CN=\"api-v2.example.com\""))
    });
    assert_eq!(
        series_for(&m, "x509_cert_not_after", "api").len(),
        1,
        "old version gone"
    );
    // Delete.
    api.delete("secrets", "shop", "api");
    let m = s.wait_metrics("the deleted secret gone", |m| {
        series_for(m, "x509_cert_not_after", "api").is_empty()
    });
    assert_eq!(series_for(&m, "x509_cert_not_after", "web").len(), 1);
    promtool_check(&m);
    // After start-up: watches only, no LIST (the open watch usually needs no
    // new request at all).
    let log = api.log();
    assert!(
        log.iter().all(|l| l.verb == "watch"),
        "non-watch requests after start-up: {log:#?}"
    );

    // 410 Gone: the watcher re-lists once and the inventory stays.
    api.clear_log();
    api.compact();
    api.apply(
        "secrets",
        "shop",
        "after-gone",
        tls_secret(&cert_expiring_in("gone.example.com", 30), &key, None),
    );
    let m = s.wait_metrics("resync after 410", |m| {
        !series_for(m, "x509_cert_not_after", "after-gone").is_empty()
    });
    assert_eq!(series_for(&m, "x509_cert_not_after", "web").len(), 1);
    let log = api.log();
    assert!(
        log.iter().any(|l| l.verb == "list"),
        "no re-LIST after 410: {log:#?}"
    );
}

#[test]
fn faults_are_located_errors_and_inventory_stays() {
    let dir = tempfile::tempdir().unwrap();
    let api = FakeApiServer::start();
    let kc = api.kubeconfig(dir.path());
    let (_, leaf, key) = tls_server_material();
    api.apply("secrets", "shop", "web", tls_secret(&leaf, &key, None));
    let cfg = config(dir.path(), &kc, "  cabundles:\n    enabled: false\n");
    let mut s = Served::start(dir.path(), &cfg);
    s.wait_metrics("the first secret", |m| {
        !series_for(m, "x509_cert_not_after", "web").is_empty()
    });

    let errors = |m: &str, reason: &str| {
        metric_value(m, &format!("x509_source_errors_total{{source_kind=\"kubernetes_secret\",source_name=\"kubernetes-secrets\",reason=\"{reason}\"}}")).unwrap_or(0.0)
    };
    // An ERROR event (500) inside the watch stream, then garbage JSON that breaks it;
    // the re-LIST after a 410 then fails with 500 and 429 before it succeeds.
    api.fault("secrets", "watch", Fault::ErrorEvent(500));
    api.fault("secrets", "watch", Fault::GarbageEvent);
    api.fault("secrets", "list", Fault::Status(500));
    api.fault("secrets", "list", Fault::Status(429));
    api.fault("secrets", "list", Fault::Garbage);
    api.compact(); // ends the current watch; the next ones consume the faults
    api.apply(
        "secrets",
        "shop",
        "later",
        tls_secret(&cert_expiring_in("later.example.com", 30), &key, None),
    );
    let m = s.wait_metrics("errors counted", |m| {
        errors(m, "api_error") >= 1.0 && errors(m, "decode_failed") >= 1.0
            || !series_for(m, "x509_cert_not_after", "later").is_empty()
                && errors(m, "api_error") >= 1.0
    });
    assert_eq!(
        series_for(&m, "x509_cert_not_after", "web").len(),
        1,
        "inventory kept:\n{m}"
    );
    let m = s.wait_metrics("recovery", |m| {
        !series_for(m, "x509_cert_not_after", "later").is_empty()
    });
    assert_eq!(series_for(&m, "x509_cert_not_after", "web").len(), 1);
    promtool_check(&m);
}

/// `x509_kube_transport_errors_total{source_name,resource,reason}` and
/// `x509_kube_watch_resyncs_total{source_name,resource}` (the established
/// exporter's v4.2 families): pre-created at 0 per watched resource, counted per
/// failure kind while the fake API server answers 500 to WATCH and LIST, sends
/// an ERROR event, breaks a stream or expires a watch (410); every count is also
/// a logged event.
#[test]
fn transport_errors_and_resyncs_are_counted_per_resource() {
    let dir = tempfile::tempdir().unwrap();
    let api = FakeApiServer::start();
    let kc = api.kubeconfig(dir.path());
    let (_, leaf, key) = tls_server_material();
    api.apply("secrets", "shop", "web", tls_secret(&leaf, &key, None));
    let cfg = config(
        dir.path(),
        &kc,
        "  cabundles:\n    enabled: false\n  configmaps:\n    enabled: true\n",
    );
    let mut s = Served::start(dir.path(), &cfg);
    let transport = |m: &str, source: &str, resource: &str, reason: &str| {
        metric_value(
            m,
            &format!(
                "x509_kube_transport_errors_total{{source_name=\"{source}\",resource=\"{resource}\",reason=\"{reason}\"}} "
            ),
        )
    };
    let resyncs = |m: &str, source: &str, resource: &str| {
        metric_value(
            m,
            &format!(
                "x509_kube_watch_resyncs_total{{source_name=\"{source}\",resource=\"{resource}\"}} "
            ),
        )
    };
    let m = s.wait_metrics("the first secret", |m| {
        !series_for(m, "x509_cert_not_after", "web").is_empty()
    });
    // Pre-created: every reason of every watched resource, and the resyncs.
    for (source, resource) in [
        ("kubernetes-secrets", "secrets"),
        ("kubernetes-configmaps", "configmaps"),
    ] {
        for reason in [
            "list_failed",
            "watch_start_failed",
            "watch_error_event",
            "watch_flapped",
            "namespace_sync_failed",
        ] {
            assert_eq!(
                transport(&m, source, resource, reason),
                Some(0.0),
                "{source} {resource} {reason}:\n{m}"
            );
        }
        assert_eq!(resyncs(&m, source, resource), Some(0.0), "{m}");
    }
    assert!(
        !m.contains("x509_kube_transport_errors_total{source_name=\"kubernetes-secrets\",resource=\"configmaps\""),
        "a resource the source does not watch:\n{m}"
    );
    promtool_check(&m);

    // 410 Gone: a resync; then an ERROR event (500) inside the new watch.
    api.fault("secrets", "watch", Fault::ErrorEvent(500));
    api.compact();
    s.wait_metrics("a resync and an ERROR event", |m| {
        resyncs(m, "kubernetes-secrets", "secrets").unwrap_or(0.0) >= 1.0
            && transport(m, "kubernetes-secrets", "secrets", "watch_error_event").unwrap_or(0.0)
                >= 1.0
    });
    // A watch stream that breaks (undecodable event).
    api.fault("secrets", "watch", Fault::GarbageEvent);
    api.compact();
    s.wait_metrics("a broken watch", |m| {
        transport(m, "kubernetes-secrets", "secrets", "watch_flapped").unwrap_or(0.0) >= 1.0
    });
    // WATCH answering 500: the watcher retries, each attempt counts.
    api.outage("secrets", "watch", 500);
    api.compact();
    s.wait_metrics("WATCH failures", |m| {
        transport(m, "kubernetes-secrets", "secrets", "watch_start_failed").unwrap_or(0.0) >= 2.0
    });
    // LIST answering 500 (the re-LIST after the expired watch fails).
    api.end_outages();
    api.outage("secrets", "list", 500);
    api.compact();
    let m = s.wait_metrics("LIST failures", |m| {
        transport(m, "kubernetes-secrets", "secrets", "list_failed").unwrap_or(0.0) >= 2.0
    });
    // The other source's counters did not move; the inventory is kept.
    for reason in ["list_failed", "watch_start_failed", "watch_error_event"] {
        assert_eq!(
            transport(&m, "kubernetes-configmaps", "configmaps", reason),
            Some(0.0),
            "{m}"
        );
    }
    assert_eq!(series_for(&m, "x509_cert_not_after", "web").len(), 1, "{m}");
    promtool_check(&m);
    // Recovery: new objects arrive again, counters never go back.
    api.end_outages();
    api.apply(
        "secrets",
        "shop",
        "after-outage",
        tls_secret(&cert_expiring_in("after.example.com", 30), &key, None),
    );
    let after = s.wait_metrics("recovery", |m| {
        !series_for(m, "x509_cert_not_after", "after-outage").is_empty()
    });
    assert!(
        transport(&after, "kubernetes-secrets", "secrets", "list_failed").unwrap()
            >= transport(&m, "kubernetes-secrets", "secrets", "list_failed").unwrap()
    );
    // Each count is a logged event (one line per scan and kind, with its count).
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    for reason in [
        "list_failed",
        "watch_start_failed",
        "watch_error_event",
        "watch_flapped",
    ] {
        assert!(
            log.lines().any(|l| l.contains("kube_transport_error")
                && l.contains(&format!("reason=\"{reason}\""))
                && l.contains("resource=\"secrets\"")),
            "no {reason} event logged:\n{log}"
        );
    }
    assert!(log.contains("kube_watch_resync"), "{log}");
}

/// Selectors (issue 15): namespace globs (include/exclude), Secret and
/// ConfigMap name globs, `secrets.leaf_only`, `configmap_label_*` and
/// `cabundle_label_*`.
#[test]
fn selectors_globs_leaf_only_and_exposed_labels() {
    let dir = tempfile::tempdir().unwrap();
    let api = FakeApiServer::start();
    let kc = api.kubeconfig(dir.path());
    let (ca, leaf, key) = tls_server_material();
    let chain = format!("{leaf}{ca}");
    for (ns, name) in [
        ("team-a", "web-1"),
        ("team-a", "api"),
        ("team-a", "web-staging"),
        ("team-old", "web-2"),
        ("other", "web-3"),
    ] {
        api.apply("secrets", ns, name, tls_secret(&chain, &key, None));
    }
    let cm = |team: &str| json!({"metadata": {"labels": {"team": team}}, "data": {"ca.crt": ca.clone()}});
    api.apply("configmaps", "team-a", "trust-bundle", cm("a"));
    api.apply("configmaps", "team-a", "other-cm", cm("a"));
    api.apply(
        "validatingwebhookconfigurations",
        "",
        "policy",
        json!({"metadata": {"labels": {"app": "gatekeeper"}},
               "webhooks": [{"name": "v.example.com", "clientConfig": {"caBundle": b64(&ca)}}]}),
    );
    let cfg = config(
        dir.path(),
        &kc,
        "  namespaces: [\"team-*\"]\n  exclude_namespaces: [team-old]\n  secrets:\n    include: [\"web-*\"]\n    exclude: [\"*-staging\"]\n    leaf_only: true\n  configmaps:\n    enabled: true\n    include: [\"trust-*\"]\n    expose_labels: [team]\n  cabundles:\n    resources: [validatingwebhookconfigurations]\n    expose_labels: [app]\n",
    );
    let (v, o) = scan_json(&cfg);
    let secrets = certs(&v, "kubernetes_secret");
    let got: Vec<(String, u64)> = secrets
        .iter()
        .map(|c| {
            (
                c["location"].as_str().unwrap().to_string(),
                c["index_in_bundle"].as_u64().unwrap(),
            )
        })
        .collect();
    // Only team-a/web-1 passes the globs; of its chain only the leaf (index 0).
    assert_eq!(
        got,
        vec![("team-a/web-1:tls.crt".to_string(), 0)],
        "{}",
        show(&o)
    );
    let cms = certs(&v, "kubernetes_configmap");
    assert_eq!(cms.len(), 1, "{}", show(&o));
    assert_eq!(cms[0]["location"], "team-a/trust-bundle:ca.crt");
    assert_eq!(cms[0]["labels"]["configmap_label_team"], "a", "{}", cms[0]);
    let cab = certs(&v, "kubernetes_cabundle");
    assert_eq!(cab.len(), 1, "{}", show(&o));
    assert_eq!(
        cab[0]["labels"]["cabundle_label_app"], "gatekeeper",
        "{}",
        cab[0]
    );
    // One cluster-wide watch (a glob), the excluded namespace left out server-side.
    let lists: Vec<_> = api
        .log()
        .into_iter()
        .filter(|l| l.verb == "list" && l.resource == "secrets")
        .collect();
    assert!(!lists.is_empty());
    for l in &lists {
        assert!(l.namespace.is_none(), "{l:?}");
        assert!(l.query.contains("team-old"), "{l:?}");
    }
    // Globs are refused in namespace-scoped mode.
    let bad = write(
        dir.path(),
        "bad.yml",
        format!(
            "kubernetes:\n  enabled: true\n  kubeconfig: {}\n  namespace_scoped: true\n  namespaces: [\"team-*\"]\n",
            kc.display()
        ),
    );
    let o = run(&["check-config", "--config", bad.to_str().unwrap()]);
    assert_ne!(code(&o), 0, "{}", show(&o));
    assert!(show(&o).contains("kubernetes.namespaces"), "{}", show(&o));
}

/// A CRL (PEM) signed by a fresh CA, valid from 1 day ago to `next_days`.
fn crl_pem(cn: &str, next_days: i64) -> String {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name.push(rcgen::DnType::CommonName, cn);
    let ca = rcgen::CertifiedIssuer::self_signed(p, rcgen::KeyPair::generate().unwrap()).unwrap();
    let now = time::OffsetDateTime::now_utc();
    rcgen::CertificateRevocationListParams {
        this_update: now - time::Duration::days(1),
        next_update: now + time::Duration::days(next_days),
        crl_number: rcgen::SerialNumber::from(5u64),
        issuing_distribution_point: None,
        revoked_certs: Vec::new(),
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&ca)
    .unwrap()
    .pem()
    .unwrap()
}

/// CRLs held in Secrets and ConfigMaps are inventoried as `x509_crl_*` series
/// with the object's location labels, and follow updates.
#[test]
fn crls_in_secrets_and_configmaps_become_crl_series() {
    let dir = tempfile::tempdir().unwrap();
    let api = FakeApiServer::start();
    let kc = api.kubeconfig(dir.path());
    api.apply(
        "secrets",
        "pki",
        "issuing-ca",
        json!({"type": "Opaque", "data": {"ca.crl": b64(crl_pem("secret CRL issuer", 5))}}),
    );
    api.apply(
        "configmaps",
        "pki",
        "crl-bundle",
        json!({"data": {"ca.crl": crl_pem("configmap CRL issuer", 30)}}),
    );
    let cfg = config(
        dir.path(),
        &kc,
        "  cabundles:\n    enabled: false\n  secrets:\n    types:\n      - type: Opaque\n        keys: [\"*.crl\"]\n  configmaps:\n    enabled: true\n    keys: [ca.crl]\n",
    );
    let mut s = Served::start(dir.path(), &cfg);
    let crl_line = |m: &str, issuer: &str| -> Option<String> {
        m.lines()
            .find(|l| {
                l.starts_with("x509_crl_next_update{")
                    && l.contains(&format!("issuer_CN=\"{issuer}\""))
            })
            .map(str::to_string)
    };
    let m = s.wait_metrics("both CRLs", |m| {
        crl_line(m, "secret CRL issuer").is_some() && crl_line(m, "configmap CRL issuer").is_some()
    });
    let l = crl_line(&m, "secret CRL issuer").unwrap();
    for want in [
        "secret_namespace=\"pki\"",
        "secret_name=\"issuing-ca\"",
        "secret_key=\"ca.crl\"",
        "source_kind=\"kubernetes_secret\"",
        "source_name=\"kubernetes-secrets\"",
        "crl_number=\"5\"",
        "serial_number=\"\"",
    ] {
        assert!(l.contains(want), "{want} not in {l}");
    }
    let l = crl_line(&m, "configmap CRL issuer").unwrap();
    for want in [
        "configmap_namespace=\"pki\"",
        "configmap_name=\"crl-bundle\"",
        "source_kind=\"kubernetes_configmap\"",
    ] {
        assert!(l.contains(want), "{want} not in {l}");
    }
    assert!(
        m.lines().any(|l| l.starts_with("x509_crl_stale{")
            && l.contains("issuer_CN=\"secret CRL issuer\"")
            && l.ends_with(" 0")),
        "{m}"
    );
    assert!(!m.contains("reason=\"bad_der\"} 1"), "{m}");
    promtool_check(&m);
    // An update replaces the CRL (a new issuer), the old series goes.
    api.apply(
        "secrets",
        "pki",
        "issuing-ca",
        json!({"type": "Opaque", "data": {"ca.crl": b64(crl_pem("renewed CRL issuer", 5))}}),
    );
    let m = s.wait_metrics("the updated CRL", |m| {
        crl_line(m, "renewed CRL issuer").is_some()
    });
    assert!(crl_line(&m, "secret CRL issuer").is_none(), "{m}");
    assert!(crl_line(&m, "configmap CRL issuer").is_some(), "{m}");
}

/// Against a real cluster: `KUBECONFIG=... cargo test -- --ignored real_cluster`.
#[test]
#[ignore]
fn real_cluster_scan() {
    let Ok(kc) = std::env::var("KUBECONFIG") else {
        panic!("set KUBECONFIG to run the real-cluster test");
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        Path::new(&kc),
        "  configmaps:\n    enabled: true\n  csrs:\n    enabled: true\n",
    );
    let (v, o) = scan_json(&cfg);
    eprintln!("{}", show(&o));
    assert!(
        v["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["source_kind"] == "kubernetes_configmap"),
        "a real cluster has kube-root-ca.crt ConfigMaps"
    );
}
