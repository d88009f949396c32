//! The shipped alert rules and Grafana dashboard, proven on a real Prometheus
//! server scraping the real `certvigil serve`.
//!
//! Fixtures (generated here with rcgen): certificates signed by a test CA that
//! expire in 5 days, in 20 days, in a year, that expired yesterday, that become
//! valid only in 2 days, one with less than a third of its lifetime left, a
//! self-signed leaf, a leaf of an unknown CA (untrusted chain), a leaf revoked by
//! a local CRL (`revocation.crl_files`), a kubeconfig with embedded certificates,
//! two broken files (the second one written while Prometheus is already
//! scraping, so error counters increase) and a second file source whose only
//! path cannot be accessed (ENOTDIR, so it is down even when run as root).
//!
//! Debian's `prometheus` scrapes certvigil every second and evaluates, every
//! second, `alerts/certvigil.rules.yml` and the established exporter's rules
//! (COMPAT.md §5), both rewritten so that every `for:` is 2s (the only change;
//! documented in docs/runbooks.md). Then:
//!
//! * every query of every panel of `dashboards/certvigil.json` (template
//!   variables replaced by their "All" value `.*`, `$__range` → 1h,
//!   `$__rate_interval` → 1m, `$__interval` → 15s) returns at least one series,
//!   and the overview stats have the values the fixtures imply;
//! * the established exporter's dashboard queries (COMPAT.md §6, with `E` =
//!   `x509_source_errors_total` and `x509_read_errors`) return data, except the
//!   five Kubernetes-Secret panels (no Secret source in this test);
//! * each expected alert is firing for exactly the expected certificates and
//!   locations, with rendered annotations; the others are neither pending nor
//!   firing; after certvigil is killed, `CertvigilExporterAbsent` and
//!   `CertvigilTargetDown` fire.
//!
//! Trust and revocation are checked on the fixtures (test CA as trust root, a
//! local CRL), so the untrusted, self-signed and revoked alerts must fire. Without `prometheus` the test is skipped loudly, or fails
//! under `CERTVIGIL_REQUIRE_REAL=1`. Only 127.0.0.1; both processes are killed
//! on drop; polls have generous deadlines, never a wall-clock limit on the test.
//!
//! A second test (`established_v42_alerts_fire_on_certvigil`) is issue 15's
//! acceptance: the established exporter's v4.2.0 rules (COMPAT.md §5, plus the
//! two `...Sustained` variants), and only those, fire on certvigil under their
//! conditions: expiring, expired, not yet valid, per-certificate error, more than
//! 5 new source errors, source down, a Kubernetes API answering 500 to LIST and
//! WATCH (the strict fake API server of tests/common), a PKCS#12 under an unknown
//! passphrase, CRLs near and after their nextUpdate in the watched directory.
//! The drop-duplicates collision alert must stay silent.

mod common;
mod support_cli;
mod support_prom;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer,
    DistinguishedName, DnType, IsCa, KeyIdMethod, KeyPair, RevokedCertParams, SerialNumber,
};
use serde_json::Value;
use support_cli::*;
use support_prom::*;

/// Generous deadline for a condition that normally holds within seconds.
const PATIENCE: Duration = Duration::from_secs(180);

// ---------------------------------------------------------------- processes

/// A child process killed (and reaped) on drop.
struct Proc {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    fn spawn(name: &'static str, mut cmd: Command, log: PathBuf) -> Proc {
        let f = std::fs::File::create(&log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(f.try_clone().unwrap()))
            .stderr(Stdio::from(f))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            name,
            child: Some(child),
            log,
        }
    }

    fn log(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = s.len().saturating_sub(8000);
        let start = (start..s.len())
            .find(|i| s.is_char_boundary(*i))
            .unwrap_or(s.len());
        s[start..].to_string()
    }

    fn assert_alive(&mut self) {
        if let Some(c) = self.child.as_mut() {
            if let Some(st) = c.try_wait().unwrap() {
                panic!("{} exited early ({st}); log:\n{}", self.name, self.log());
            }
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `/usr/bin/prometheus` (or on PATH); panics when missing under CERTVIGIL_REQUIRE_REAL=1.
fn prometheus_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("prometheus"))
            .find(|p| p.is_file())
    });
    let found = on_path.or_else(|| {
        let p = PathBuf::from("/usr/bin/prometheus");
        p.is_file().then_some(p)
    });
    if found.is_none() {
        assert!(
            std::env::var("CERTVIGIL_REQUIRE_REAL").as_deref() != Ok("1"),
            "prometheus not found and CERTVIGIL_REQUIRE_REAL=1"
        );
        eprintln!("*** prometheus not installed: SKIPPING the real-Prometheus test ***");
    }
    found
}

// ---------------------------------------------------------------- HTTP API

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// GET a Prometheus API path; the parsed JSON body, or None if not reachable.
fn api(port: u16, path: &str) -> Option<Value> {
    let r = http(port, "GET", path, &[])?;
    serde_json::from_str(&r.body).ok()
}

/// Instant query; Err(message) on a PromQL error or when Prometheus does not answer.
fn query(port: u16, q: &str) -> Result<Vec<Value>, String> {
    try_query(port, q).unwrap_or_else(|| Err("prometheus not reachable".to_string()))
}

/// Instant query; None when Prometheus does not answer (yet).
fn try_query(port: u16, q: &str) -> Option<Result<Vec<Value>, String>> {
    let v = api(port, &format!("/api/v1/query?query={}", urlencode(q)))?;
    Some(query_result(&v))
}

fn query_result(v: &Value) -> Result<Vec<Value>, String> {
    if v["status"] != "success" {
        return Err(format!("{}: {}", v["errorType"], v["error"]));
    }
    match &v["data"]["result"] {
        Value::Array(a) => Ok(a.clone()),
        // Scalar results count as one series.
        Value::Null => Ok(Vec::new()),
        other => Ok(vec![other.clone()]),
    }
}

fn value_of(series: &Value) -> f64 {
    series["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Poll until `q` returns at least one series; the last result on timeout.
fn wait_data(prom: &mut Proc, port: u16, q: &str) -> Result<Vec<Value>, String> {
    let start = Instant::now();
    loop {
        prom.assert_alive();
        match try_query(port, q) {
            Some(Err(e)) => return Err(e),
            Some(Ok(r)) if !r.is_empty() => return Ok(r),
            _ if start.elapsed() > PATIENCE => return query(port, q),
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Active alerts: (alertname, state, labels, annotations).
#[derive(Debug, Clone)]
struct Alert {
    name: String,
    state: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

fn alerts(port: u16) -> Vec<Alert> {
    let Some(v) = api(port, "/api/v1/alerts") else {
        return Vec::new();
    };
    let map = |v: &Value| -> BTreeMap<String, String> {
        v.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    v["data"]["alerts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|a| Alert {
            name: a["labels"]["alertname"].as_str().unwrap_or("").to_string(),
            state: a["state"].as_str().unwrap_or("").to_string(),
            labels: map(&a["labels"]),
            annotations: map(&a["annotations"]),
        })
        .collect()
}

// ---------------------------------------------------------------- fixtures

fn at(unix: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, "certvigil tests");
    dn
}

type Ca = CertifiedIssuer<'static, KeyPair>;

fn make_ca(cn: &str, now: i64) -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name = dn(cn);
    p.not_before = at(now - 3 * 365 * DAY as i64);
    p.not_after = at(now + 5 * 365 * DAY as i64);
    CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap()
}

/// A leaf for `cn` valid from now+`from_days` to now+`to_days`, signed by
/// `issuer` (None = self-signed).
fn leaf(
    cn: &str,
    serial: u64,
    now: i64,
    from_days: i64,
    to_days: i64,
    issuer: Option<&Ca>,
) -> String {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![format!("{cn}.test")]).unwrap();
    p.distinguished_name = dn(cn);
    p.serial_number = Some(SerialNumber::from(serial));
    p.not_before = at(now + from_days * DAY as i64);
    p.not_after = at(now + to_days * DAY as i64);
    match issuer {
        Some(ca) => p.signed_by(&key, ca).unwrap().pem(),
        None => p.self_signed(&key).unwrap().pem(),
    }
}

const REVOKED_SERIAL: u64 = 0x5005;

struct Fixture {
    config: PathBuf,
    certs: PathBuf,
    /// The TLS endpoint the `tls_endpoint` source probes: (port, cert, key) for
    /// an `openssl s_server` that the test starts.
    endpoint: (u16, PathBuf, PathBuf),
}

fn fixture(dir: &Path) -> Fixture {
    let now = now_unix() as i64;
    let certs = dir.join("certs");
    let trust = dir.join("trust");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::create_dir_all(&trust).unwrap();
    let ca = make_ca("certvigil test CA", now);
    let other = make_ca("unknown CA", now);
    write(&trust, "ca.pem", ca.pem());
    write(
        &certs,
        "soon.pem",
        leaf("soon", 0x1001, now, -30, 5, Some(&ca)),
    );
    write(
        &certs,
        "month.pem",
        leaf("month", 0x1002, now, -30, 20, Some(&ca)),
    );
    write(
        &certs,
        "year.pem",
        leaf("year", 0x1003, now, -30, 335, Some(&ca)),
    );
    write(
        &certs,
        "expired.pem",
        leaf("expired", 0x1004, now, -60, -1, Some(&ca)),
    );
    write(
        &certs,
        "future.pem",
        leaf("future", 0x1005, now, 2, 300, Some(&ca)),
    );
    // 700-day lifetime, 100 days left: less than a third, more than 28 days.
    write(
        &certs,
        "legacy.pem",
        leaf("legacy", 0x1006, now, -600, 100, Some(&ca)),
    );
    write(
        &certs,
        "selfsigned.pem",
        leaf("selfsigned", 0x1007, now, -10, 200, None),
    );
    write(
        &certs,
        "untrusted.pem",
        leaf("untrusted", 0x1008, now, -10, 200, Some(&other)),
    );
    write(
        &certs,
        "revoked.pem",
        leaf("revoked", REVOKED_SERIAL, now, -10, 200, Some(&ca)),
    );
    write(
        &certs,
        "broken.pem",
        "-----BEGIN CERTIFICATE-----\nthis is not base64 !!\n-----END CERTIFICATE-----\n",
    );
    // A kubeconfig with the CA and a client certificate embedded.
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority-data: {}\nusers:\n- name: admin\n  user:\n    client-certificate-data: {}\ncontexts:\n- name: test\n  context: {{cluster: test, user: admin}}\ncurrent-context: test\n",
        b64(ca.pem()),
        b64(leaf("kube-admin", 0x1009, now, -10, 300, Some(&ca)))
    );
    write(&certs, "admin.conf", kubeconfig);
    // The CRL revoking REVOKED_SERIAL.
    let crl = CertificateRevocationListParams {
        this_update: at(now - DAY as i64),
        // Far from nextUpdate, so that no CRL alert applies.
        next_update: at(now + 30 * DAY as i64),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from(REVOKED_SERIAL),
            revocation_time: at(now - DAY as i64),
            reason_code: None,
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&ca)
    .unwrap();
    write(&trust, "ca.crl", crl.pem().unwrap());

    // A served certificate (the dashboard's TLS endpoint row): a trusted leaf for
    // endpoint.test behind a real `openssl s_server` on 127.0.0.1, valid for 60 days
    // (no endpoint alert may fire for it).
    let ep_dir = dir.join("endpoint");
    std::fs::create_dir_all(&ep_dir).unwrap();
    let ep_key = KeyPair::generate().unwrap();
    let mut ep = CertificateParams::new(vec!["endpoint.test".to_string()]).unwrap();
    ep.distinguished_name = dn("endpoint.test");
    ep.serial_number = Some(SerialNumber::from(0x7007u64));
    ep.not_before = at(now - 30 * DAY as i64);
    ep.not_after = at(now + 60 * DAY as i64);
    let ep_cert = write(
        &ep_dir,
        "cert.pem",
        ep.signed_by(&ep_key, &ca).unwrap().pem(),
    );
    let ep_key = write(&ep_dir, "key.pem", ep_key.serialize_pem());
    let ep_port = free_port();

    let config = format!(
        r#"scan:
  interval: 1s
  source_timeout: 30s
metrics:
  expose_per_cert_error: true
sources:
  - kind: file
    name: fixtures
    paths: ["{certs}"]
  - kind: file
    name: unreachable
    paths: ["{unreachable}"]
  - kind: tls_endpoint
    name: endpoints
    targets: ["tls://127.0.0.1:{ep_port}?server_name=endpoint.test"]
trust:
  roots: ["{ca}"]
revocation:
  crl_files: ["{crl}"]
  offline: true
"#,
        certs = certs.display(),
        unreachable = certs.join("year.pem").join("sub").display(),
        ca = trust.join("ca.pem").display(),
        crl = trust.join("ca.crl").display(),
    );
    Fixture {
        config: write(dir, "certvigil.yml", config),
        certs,
        endpoint: (ep_port, ep_cert, ep_key),
    }
}

// ---------------------------------------------------------------- rules

/// The rule file with every `for:` replaced by `for: 2s`; also returns how many.
fn shorten_for(rules: &str) -> (String, usize) {
    let mut n = 0;
    let out: Vec<String> = rules
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with("for: ") {
                n += 1;
                format!("{}for: 2s", &l[..l.len() - t.len()])
            } else {
                l.to_string()
            }
        })
        .collect();
    (out.join("\n") + "\n", n)
}

// ---------------------------------------------------------------- the test

/// Expected alert instances: alertname → identities that must fire, and
/// identities that may fire in addition.
struct Expect {
    must: BTreeSet<String>,
    may: BTreeSet<String>,
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// How an alert instance is identified in the expectations: the subject CN,
/// else the file path relative to `root`, else the source name, else the instance.
fn identity(a: &Alert, root: &Path) -> String {
    let l = &a.labels;
    let get = |k: &str| l.get(k).cloned().unwrap_or_default();
    if let Some(cn) = l.get("subject_CN") {
        return cn.clone();
    }
    if let Some(fp) = l.get("filepath") {
        return Path::new(fp)
            .strip_prefix(root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| fp.clone());
    }
    if l.contains_key("source_name") {
        return get("source_name");
    }
    get("instance")
}

#[test]
fn dashboards_and_alerts_on_real_prometheus() {
    let Some(prom_bin) = prometheus_bin() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let fx = fixture(dir);

    // the TLS endpoint (openssl is a required engine of the suite, like prometheus)
    let (ep_port, ep_cert, ep_key) = &fx.endpoint;
    let mut s_server = Command::new("openssl");
    s_server
        .args(["s_server", "-accept", &format!("127.0.0.1:{ep_port}")])
        .arg("-cert")
        .arg(ep_cert)
        .arg("-key")
        .arg(ep_key)
        .args(["-www", "-quiet"]);
    let mut s_server = Proc::spawn("openssl s_server", s_server, dir.join("s_server.log"));
    // Listening before certvigil's first scan (bounded attempts, no deadline).
    for _ in 0..500 {
        if std::net::TcpStream::connect(("127.0.0.1", *ep_port)).is_ok() {
            break;
        }
        s_server.assert_alive();
        std::thread::sleep(Duration::from_millis(20));
    }

    // certvigil
    let cv_port = free_port();
    let mut cmd = Command::new(bin());
    cmd.arg("serve")
        .args(["--config", fx.config.to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{cv_port}")])
        .env("RUST_LOG", "warn");
    let mut certvigil = Proc::spawn("certvigil", cmd, dir.join("certvigil.log"));

    // prometheus, with both rule files
    let rules_src = std::fs::read_to_string(repo().join("alerts/certvigil.rules.yml")).unwrap();
    let (rules, n_for) = shorten_for(&rules_src);
    let n_alerts = rules_src.matches("- alert: ").count();
    assert_eq!(
        n_for, n_alerts,
        "every rule must have exactly one `for:` line"
    );
    let rules_path = write(dir, "certvigil.rules.yml", rules);
    let compat_path = write(dir, "enix-compat.rules.yml", compat_rules());
    let prom_port = free_port();
    let prom_cfg = write(
        dir,
        "prometheus.yml",
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n  - {}\n\
             scrape_configs:\n  - job_name: certvigil\n    static_configs:\n      - targets: ['127.0.0.1:{cv_port}']\n",
            rules_path.display(),
            compat_path.display()
        ),
    );
    let mut cmd = Command::new(&prom_bin);
    cmd.arg(format!("--config.file={}", prom_cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .arg("--log.level=warn");
    let mut prom = Proc::spawn("prometheus", cmd, dir.join("prometheus.log"));

    // Wait until Prometheus has scraped certvigil with certificates in it.
    let r = wait_data(&mut prom, prom_port, "up{job=\"certvigil\"} == 1").unwrap();
    certvigil.assert_alive();
    assert!(
        !r.is_empty(),
        "certvigil never scraped; prometheus log:\n{}",
        prom.log()
    );
    let r = wait_data(&mut prom, prom_port, "count(x509_cert_not_after) >= 11").unwrap();
    assert!(
        !r.is_empty(),
        "certificates never appeared; certvigil log:\n{}",
        certvigil.log()
    );
    // Two scrapes of the error counters, then a second broken file: the
    // counters and x509_read_errors increase while Prometheus watches.
    let r = wait_data(
        &mut prom,
        prom_port,
        "count_over_time(x509_source_errors_total{source_name=\"fixtures\"}[1m]) >= 3",
    )
    .unwrap();
    assert!(!r.is_empty(), "error counters never scraped");
    write(
        &fx.certs,
        "broken2.pem",
        "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
    );
    let r = wait_data(&mut prom, prom_port, "x509_read_errors >= 3").unwrap();
    assert!(
        !r.is_empty(),
        "broken2.pem never counted; certvigil log:\n{}",
        certvigil.log()
    );

    // The chain and revocation checks run on this fixture set: an exporter that
    // reports no trust or revocation status here is broken, not "not yet".
    let untrusted = wait_data(
        &mut prom,
        prom_port,
        "x509_cert_info{trust_status=\"untrusted\"}",
    )
    .unwrap();
    assert!(!untrusted.is_empty(), "no certificate reported untrusted");
    let revoked = wait_data(&mut prom, prom_port, "x509_cert_revoked == 1").unwrap();
    assert!(!revoked.is_empty(), "no certificate reported revoked");

    // (a) every panel query of our dashboard returns data.
    let dash = repo().join("dashboards/certvigil.json");
    let queries = dashboard_queries(&dash);
    assert!(
        queries.len() >= 20,
        "dashboard has {} queries",
        queries.len()
    );
    let mut failures = Vec::new();
    for (title, expr) in &queries {
        // This exporter watches no Kubernetes API: the cert-manager table
        // (no `or vector(0)`: one row per Certificate) has nothing to show.
        // Its series are tested against the fake API in tests/kubernetes_health.rs.
        if title == "cert-manager Certificates by time left" {
            continue;
        }
        let q = substitute(expr);
        assert!(
            !q.contains("${") && !q.contains("$__") && !q.contains("$cluster"),
            "unsubstituted variable in {title}: {q}"
        );
        match wait_data(&mut prom, prom_port, &q) {
            Ok(r) if !r.is_empty() => {}
            Ok(_) => failures.push(format!("{title}: no data\n  {q}")),
            Err(e) => failures.push(format!("{title}: {e}\n  {q}")),
        }
    }
    assert!(
        failures.is_empty(),
        "dashboard panels without data:\n{}",
        failures.join("\n")
    );
    eprintln!("{} dashboard queries returned data", queries.len());
    for (name, sel) in variable_selectors(&dash) {
        let q = substitute(&sel);
        let r = query(prom_port, &q).unwrap_or_else(|e| panic!("variable {name}: {e}"));
        if name == "namespace" {
            // Only Kubernetes Secret certificates have a secret_namespace;
            // this fixture has none.
            assert!(r.is_empty(), "namespace variable found values: {r:?}");
        } else {
            assert!(!r.is_empty(), "variable {name} has no values: {q}");
        }
    }
    // The overview numbers match the fixture.
    let stat = |title: &str| -> f64 {
        let (_, expr) = queries.iter().find(|(t, _)| t == title).unwrap();
        query(prom_port, &substitute(expr))
            .unwrap()
            .first()
            .map(value_of)
            .unwrap_or(0.0)
    };
    // 9 files with one certificate each + CA and client certificate of the
    // kubeconfig + the leaf the TLS endpoint serves.
    assert_eq!(stat("Certificates"), 12.0);
    assert_eq!(stat("Expiring < 7 days"), 1.0); // soon
    assert_eq!(stat("Expiring < 28 days"), 2.0); // soon, month
    assert_eq!(stat("Expired"), 1.0);
    assert_eq!(stat("Revoked"), 1.0);
    assert!(stat("Untrusted") >= 1.0);
    assert!(stat("Read errors (last scan)") >= 3.0); // broken, broken2, unreachable
                                                     // The table joins every certificate with its x509_cert_info and a location.
    let (_, table) = queries
        .iter()
        .find(|(t, _)| t == "Certificates by time left")
        .unwrap();
    let rows = query(prom_port, &substitute(table)).unwrap();
    assert_eq!(rows.len(), 12, "{rows:?}");
    for r in &rows {
        let m = &r["metric"];
        for l in [
            "subject_CN",
            "location",
            "trust_status",
            "revocation_status",
            "source_name",
        ] {
            assert!(m[l].is_string(), "table row without {l}: {r}");
        }
    }
    let first = &rows[0]["metric"];
    assert_eq!(
        first["subject_CN"], "expired",
        "table not sorted by time left: {rows:?}"
    );
    assert_eq!(
        first["location"].as_str().unwrap(),
        fx.certs.join("expired.pem").display().to_string()
    );

    // (b) the established exporter's dashboard queries work unchanged.
    let mut failures = Vec::new();
    for (title, q, exempt) in compat_dashboard_queries() {
        let r = match exempt {
            None => wait_data(&mut prom, prom_port, &q),
            Some(_) => query(prom_port, &q),
        };
        match (r, exempt) {
            (Ok(r), None) if r.is_empty() => failures.push(format!("{title}: no data: {q}")),
            (Ok(r), Some(why)) if !r.is_empty() => {
                failures.push(format!("{title}: exempt ({why}) but has data: {r:?}"))
            }
            (Err(e), _) => failures.push(format!("{title}: {e}: {q}")),
            _ => {}
        }
    }
    assert!(
        failures.is_empty(),
        "compat dashboard queries:\n{}",
        failures.join("\n")
    );

    // (c) alerts.
    let mut expect: BTreeMap<&str, Expect> = BTreeMap::new();
    let mut e = |name: &'static str, must: &[&str], may: &[&str]| {
        expect.insert(
            name,
            Expect {
                must: set(must),
                may: set(may),
            },
        );
    };
    e("CertificateExpiringSoon", &["soon", "month"], &[]);
    e("CertificateExpiringCritical", &["soon"], &[]);
    // soon: 35-day lifetime, 5 days left; legacy: 700 days, 100 left.
    e("CertificateRenewalOverdue", &["soon", "legacy"], &[]);
    e("CertificateExpired", &["expired"], &[]);
    e("CertificateNotYetValid", &["future"], &[]);
    e(
        "CertificateParseError",
        &["broken.pem", "broken2.pem", "year.pem/sub"],
        &[],
    );
    e(
        "CertvigilReadErrors",
        &[&format!("127.0.0.1:{cv_port}")],
        &[],
    );
    e("CertvigilSourceDown", &["unreachable"], &[]);
    e("CertvigilSourceErrors", &["unreachable", "fixtures"], &[]);
    // A chain engine may also refuse the expired / not-yet-valid leafs.
    e(
        "CertificateUntrusted",
        &["untrusted"],
        &["expired", "future", "revoked"],
    );
    e("CertificateSelfSignedLeaf", &["selfsigned"], &[]);
    e("CertificateRevoked", &["revoked"], &[]);
    e("EnixCertificateRenewal", &["soon", "month"], &[]);
    e("EnixCertificateExpiration", &["soon", "expired"], &[]);
    e(
        "EnixCertificateError",
        &["broken.pem", "broken2.pem", "year.pem/sub"],
        &[],
    );
    e(
        "EnixX509ExporterReadErrors",
        &[&format!("127.0.0.1:{cv_port}")],
        &[],
    );
    e("EnixSourceErrors", &["unreachable"], &[]);
    e("EnixSourceDown", &["unreachable"], &[]);
    e("EnixCertificateNotYetValid", &["future"], &[]);

    let ident = |a: &Alert| identity(a, &fx.certs);
    let start = Instant::now();
    loop {
        prom.assert_alive();
        certvigil.assert_alive();
        let all = alerts(prom_port);
        let mut firing: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for a in all.iter().filter(|a| a.state == "firing") {
            firing.entry(a.name.clone()).or_default().insert(ident(a));
        }
        let done = expect
            .iter()
            .all(|(n, x)| firing.get(*n).is_some_and(|f| x.must.is_subset(f)));
        if done {
            break;
        }
        if start.elapsed() > PATIENCE {
            panic!(
                "expected alerts did not fire; firing: {firing:#?}\nall: {all:#?}\ncertvigil log:\n{}",
                certvigil.log()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    // A few more evaluations so that anything that is going to fire has.
    std::thread::sleep(Duration::from_secs(5));
    let all = alerts(prom_port);
    for a in &all {
        eprintln!("alert {} {} {}", a.name, a.state, ident(a));
    }
    let mut now_active: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in &all {
        now_active
            .entry(a.name.clone())
            .or_default()
            .insert(ident(a));
    }
    for (name, ids) in &now_active {
        let Some(x) = expect.get(name.as_str()) else {
            panic!("unexpected alert {name} for {ids:?}: {all:#?}");
        };
        let allowed: BTreeSet<String> = x.must.union(&x.may).cloned().collect();
        assert!(
            ids.is_subset(&allowed),
            "{name} fired for {:?} beyond the expected {allowed:?}",
            ids.difference(&allowed).collect::<Vec<_>>()
        );
    }
    // Annotations are rendered, name the certificate and its location, and
    // link to an existing runbook section.
    let runbooks = std::fs::read_to_string(repo().join("docs/runbooks.md")).unwrap();
    for a in all.iter().filter(|a| !a.name.starts_with("Enix")) {
        let desc = &a.annotations["description"];
        assert!(!desc.contains("<no value>") && !desc.is_empty(), "{a:?}");
        assert!(!a.annotations["summary"].is_empty(), "{a:?}");
        if let Some(fp) = a.labels.get("filepath") {
            assert!(
                desc.contains(fp.as_str()),
                "description lacks the location: {a:?}"
            );
        }
        if let Some(cn) = a.labels.get("subject_CN") {
            assert!(
                desc.contains(&format!("\"{cn}\"")),
                "description lacks the subject: {a:?}"
            );
        }
        let anchor = a.annotations["runbook_url"]
            .strip_prefix("docs/runbooks.md#")
            .unwrap_or_else(|| panic!("runbook_url: {a:?}"));
        assert_eq!(anchor, a.name.to_lowercase());
        assert!(
            runbooks.contains(&format!("## {}", a.name)),
            "no runbook for {}",
            a.name
        );
    }
    // The expiry alert value is the time left, humanized.
    let soon = all
        .iter()
        .find(|a| a.name == "CertificateExpiringCritical")
        .unwrap();
    assert!(
        soon.annotations["summary"].starts_with("Certificate soon expires in 4d 23h"),
        "{soon:?}"
    );

    // Exporter gone: absent() and up == 0 fire.
    certvigil.kill();
    let start = Instant::now();
    loop {
        prom.assert_alive();
        let all = alerts(prom_port);
        let fired = |n: &str| all.iter().any(|a| a.name == n && a.state == "firing");
        if fired("CertvigilExporterAbsent") && fired("CertvigilTargetDown") {
            let down = all
                .iter()
                .find(|a| a.name == "CertvigilTargetDown")
                .unwrap();
            assert_eq!(down.labels["instance"], format!("127.0.0.1:{cv_port}"));
            break;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "absent/target-down alerts did not fire: {all:#?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

// ---------------------------------------------------------------- issue 15 acceptance

/// The established exporter's rules (every `for:` 2s) plus its two
/// `...Sustained` variants (same expressions, longer `for` upstream; 4s here).
fn compat_rules_with_sustained() -> String {
    let mut s = compat_rules();
    for (name, expr) in COMPAT_ALERTS {
        if *name == "SourceErrors" || *name == "KubeTransportErrors" {
            s.push_str(&format!(
                "      - alert: Enix{name}Sustained\n        expr: '{}'\n        for: 4s\n",
                expr.replace('\'', "''")
            ));
        }
    }
    s
}

/// A CRL of a fresh CA named `cn`: thisUpdate now+`this_days`, nextUpdate now+`next_days`.
fn crl_of(cn: &str, now: i64, this_days: i64, next_days: i64) -> rcgen::CertificateRevocationList {
    let ca = make_ca(cn, now);
    CertificateRevocationListParams {
        this_update: at(now + this_days * DAY as i64),
        next_update: at(now + next_days * DAY as i64),
        crl_number: SerialNumber::from(3u64),
        issuing_distribution_point: None,
        revoked_certs: Vec::new(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&ca)
    .unwrap()
}

/// Identity of an established-exporter alert instance: the CRL issuer for CRL
/// alerts, else the subject CN, else the path below `root`, else the source
/// name, else the instance.
fn compat_identity(a: &Alert, root: &Path) -> String {
    let l = &a.labels;
    let get = |k: &str| l.get(k).cloned().unwrap_or_default();
    if a.name.contains("CRL") {
        return get("issuer_CN");
    }
    if !get("subject_CN").is_empty() {
        return get("subject_CN");
    }
    if !get("filepath").is_empty() {
        let fp = get("filepath");
        return Path::new(&fp)
            .strip_prefix(root)
            .map(|p| p.display().to_string())
            .unwrap_or(fp);
    }
    if !get("source_name").is_empty() {
        return get("source_name");
    }
    get("instance")
}

#[test]
fn established_v42_alerts_fire_on_certvigil() {
    let Some(prom_bin) = prometheus_bin() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let now = now_unix() as i64;
    let certs = dir.join("watched");
    std::fs::create_dir_all(&certs).unwrap();
    let ca = make_ca("compat test CA", now);
    write(
        &certs,
        "soon.pem",
        leaf("soon", 0x2001, now, -30, 5, Some(&ca)),
    );
    write(
        &certs,
        "year.pem",
        leaf("year", 0x2002, now, -30, 335, Some(&ca)),
    );
    write(
        &certs,
        "expired.pem",
        leaf("expired", 0x2003, now, -60, -1, Some(&ca)),
    );
    write(
        &certs,
        "future.pem",
        leaf("future", 0x2004, now, 2, 300, Some(&ca)),
    );
    write(
        &certs,
        "broken.pem",
        "-----BEGIN CERTIFICATE-----\nthis is not base64 !!\n-----END CERTIFICATE-----\n",
    );
    // CRLs in the watched directory: one 3 days before its nextUpdate (PEM),
    // one past it (DER), one far from it (no alert).
    write(
        &certs,
        "near.crl",
        crl_of("crl near CA", now, -1, 3).pem().unwrap(),
    );
    write(
        &certs,
        "stale.crl",
        crl_of("crl stale CA", now, -10, -1).der(),
    );
    write(
        &certs,
        "fresh.crl",
        crl_of("crl fresh CA", now, -1, 30).pem().unwrap(),
    );

    // The Kubernetes API answers 500 to every LIST and WATCH of Secrets. Three
    // Secret types = three watchers, so failures add up quickly.
    let api = common::fake_apiserver::FakeApiServer::start();
    api.outage("secrets", "list", 500);
    api.outage("secrets", "watch", 500);
    let kc = api.kubeconfig(dir);
    let config = write(
        dir,
        "certvigil.yml",
        format!(
            r#"scan:
  interval: 1s
  source_timeout: 30s
metrics:
  expose_per_cert_error: true
sources:
  - kind: file
    name: fixtures
    paths: ["{certs}"]
  - kind: file
    name: unreachable
    paths: ["{unreachable}"]
revocation:
  offline: true
kubernetes:
  enabled: true
  kubeconfig: {kc}
  debounce: 100ms
  cabundles:
    enabled: false
  secrets:
    types:
      - type: kubernetes.io/tls
        keys: [tls.crt]
      - type: Opaque
        keys: ["*.crt"]
      - type: example.com/cert
        keys: ["*.crt"]
"#,
            certs = certs.display(),
            unreachable = certs.join("year.pem").join("sub").display(),
            kc = kc.display(),
        ),
    );

    let cv_port = free_port();
    let mut cmd = Command::new(bin());
    cmd.arg("serve")
        .args(["--config", config.to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{cv_port}")])
        .env("RUST_LOG", "warn");
    let mut certvigil = Proc::spawn("certvigil", cmd, dir.join("certvigil.log"));

    let rules = write(dir, "enix.rules.yml", compat_rules_with_sustained());
    let prom_port = free_port();
    let prom_cfg = write(
        dir,
        "prometheus.yml",
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: certvigil\n    static_configs:\n      - targets: ['127.0.0.1:{cv_port}']\n",
            rules.display()
        ),
    );
    let mut cmd = Command::new(&prom_bin);
    cmd.arg(format!("--config.file={}", prom_cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .arg("--log.level=warn");
    let mut prom = Proc::spawn("prometheus", cmd, dir.join("prometheus.log"));

    // Scraped a few times with every pre-created counter, before anything new fails.
    for q in [
        "count_over_time(x509_source_errors_total{source_name=\"fixtures\",reason=\"bad_pem\"}[1m]) >= 3",
        "count_over_time(x509_pkcs12_passphrase_failures_total{source_name=\"fixtures\"}[1m]) >= 3",
        "count_over_time(x509_kube_transport_errors_total{source_name=\"kubernetes-secrets\",reason=\"list_failed\"}[1m]) >= 3",
        "x509_crl_next_update{source_name=\"fixtures\"}",
    ] {
        let r = wait_data(&mut prom, prom_port, q).unwrap();
        certvigil.assert_alive();
        assert!(!r.is_empty(), "never scraped: {q}\ncertvigil log:\n{}", certvigil.log());
    }
    // Now: seven new broken files (> 5 new source errors) and a PKCS#12 archive
    // under a passphrase certvigil does not know.
    for i in 0..7 {
        write(
            &certs,
            &format!("broken-{i}.pem"),
            "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
        );
    }
    let p12 = p12_keystore::KeyStore::new()
        .writer("an unknown passphrase")
        .write()
        .unwrap();
    write(&certs, "locked.p12", p12);

    // Expected firing alerts: name -> identities that must fire, and whether
    // other identities may fire too (error alerts also see the other broken
    // files and failing sources).
    let mut expect: BTreeMap<&str, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    let mut e = |name: &'static str, must: &[&str], may: &[&str]| {
        expect.insert(name, (set(must), set(may)));
    };
    e("EnixCertificateRenewal", &["soon"], &[]);
    e("EnixCertificateExpiration", &["soon", "expired"], &[]);
    e("EnixCertificateNotYetValid", &["future"], &[]);
    let broken: Vec<String> = (0..7).map(|i| format!("broken-{i}.pem")).collect();
    let mut may_err: Vec<&str> = broken.iter().map(String::as_str).collect();
    may_err.extend(["locked.p12", "year.pem/sub", "kubernetes-secrets"]);
    e("EnixCertificateError", &["broken.pem"], &may_err);
    e(
        "EnixSourceErrors",
        &["fixtures"],
        &["unreachable", "kubernetes-secrets"],
    );
    e(
        "EnixSourceErrorsSustained",
        &["fixtures"],
        &["unreachable", "kubernetes-secrets"],
    );
    e(
        "EnixSourceDown",
        &["unreachable", "kubernetes-secrets"],
        &[],
    );
    e("EnixKubeTransportErrors", &["kubernetes-secrets"], &[]);
    e(
        "EnixKubeTransportErrorsSustained",
        &["kubernetes-secrets"],
        &[],
    );
    e("EnixKeystorePassphraseFailures", &["fixtures"], &[]);
    e("EnixCRLNeedsRefresh", &["crl near CA"], &[]);
    e("EnixCRLStale", &["crl stale CA"], &[]);
    // The v3/v4.0 read-error alert may fire as well (x509_read_errors grows).
    e(
        "EnixX509ExporterReadErrors",
        &[],
        &[&format!("127.0.0.1:{cv_port}")],
    );

    let ident = |a: &Alert| compat_identity(a, &certs);
    let firing_now = || {
        let all = alerts(prom_port);
        let mut firing: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for a in all.iter().filter(|a| a.state == "firing") {
            firing.entry(a.name.clone()).or_default().insert(ident(a));
        }
        (all, firing)
    };
    let start = Instant::now();
    loop {
        prom.assert_alive();
        certvigil.assert_alive();
        let (all, firing) = firing_now();
        let missing: Vec<_> = expect
            .iter()
            .filter(|(n, (must, _))| {
                !must.is_empty() && !firing.get(**n).is_some_and(|f| must.is_subset(f))
            })
            .map(|(n, _)| *n)
            .collect();
        if missing.is_empty() {
            break;
        }
        if start.elapsed() > PATIENCE * 2 {
            panic!(
                "established alerts did not fire: {missing:?}\nfiring: {firing:#?}\nall: {all:#?}\ncertvigil log:\n{}",
                certvigil.log()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    // A few more evaluations: nothing else is pending or firing.
    std::thread::sleep(Duration::from_secs(5));
    let (all, _) = firing_now();
    for a in &all {
        eprintln!("alert {} {} {}", a.name, a.state, ident(a));
        let Some((must, may)) = expect.get(a.name.as_str()) else {
            panic!("unexpected alert {} ({}): {a:#?}", a.name, ident(a));
        };
        let id = ident(a);
        assert!(
            must.contains(&id) || may.contains(&id),
            "{} fired for {id:?}, beyond {must:?} + {may:?}",
            a.name
        );
    }
    assert!(
        !all.iter().any(|a| a.name == "EnixCertificateCollision"),
        "the collision alert fired: {all:#?}"
    );
    // The CRL series carry the established label set with the file's location.
    let r = query(prom_port, "x509_crl_stale{issuer_CN=\"crl stale CA\"}").unwrap();
    assert_eq!(r.len(), 1, "{r:?}");
    let m = &r[0]["metric"];
    // (Prometheus stores no empty label: `""` values are absent.)
    assert!(
        m.get("serial_number").is_none() && m.get("subject_CN").is_none(),
        "{m}"
    );
    assert_eq!(m["source_kind"], "file");
    assert_eq!(m["source_name"], "fixtures");
    assert_eq!(m["crl_number"], "3");
    assert_eq!(m["filename"], "stale.crl");
    assert_eq!(m["filepath"], certs.join("stale.crl").display().to_string());
    assert_eq!(value_of(&r[0]), 1.0);
}
