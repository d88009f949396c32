//! Kubernetes source benchmark against the fake API server (run with
//! `cargo bench --bench kubernetes`; results in docs/performance.md):
//!
//! - 10,000 cert-manager-style TLS Secrets across 500 namespaces, each with its
//!   own leaf: `tls.crt` = leaf + the shared intermediate, `ca.crt` = the shared
//!   root, `tls.key` (30,000 certificates, 10,002 distinct): time to the first
//!   complete inventory through the whole pipeline (paginated LIST, extraction,
//!   parse, checks) — target < 10 s;
//! - steady-state RSS of a process that holds that inventory and keeps watching
//!   (measured in a child process, after a warm rescan) — target < 40 MB;
//! - one Secret updated → seen by a rescan triggered by the source's change
//!   signal within 2 s, with no re-LIST (fake server request log);
//! - with `--health N`: N Ingresses (one TLS host each, naming one of the
//!   Secrets) and N cert-manager Certificates (cert-manager.io/v1 status) as
//!   well; the RSS child runs twice, with the health checks off and on, and the
//!   difference is what Ingress/cert-manager tracking adds — target < 20 MB for
//!   10,000 + 10,000.
//!
//! Options (after `--`): `--secrets N` (default 10000), `--namespaces N` (500),
//! `--page-size N` (`kubernetes.list_page_size`; default: the configuration's),
//! `--health N` (default 0), `--stages` (the RSS child also prints its memory after each stage: runtime,
//! client, first scan, warm rescan — heap, glibc thread arenas, other anonymous,
//! file-backed), `--hold` (only start the fake API server and print its
//! kubeconfig, for running `<bench binary> --rss-child <kubeconfig>` by hand,
//! e.g. under `valgrind --tool=dhat`).

#[path = "../tests/common/fake_apiserver.rs"]
mod fake_apiserver;

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use certvigil::scraper::Scraper;
use certvigil::sources::kubernetes;
use certvigil::sources::kubernetes::config::{KubeEnabled, KubernetesConfig};
use fake_apiserver::FakeApiServer;
use serde_json::json;

fn arg_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn b64(d: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(d)
}

fn ca_params(cn: &str) -> rcgen::CertificateParams {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.use_authority_key_identifier_extension = true;
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, cn);
    dn.push(rcgen::DnType::OrganizationName, "certvigil bench");
    p.distinguished_name = dn;
    p
}

/// The cluster's private PKI, as a cert-manager CA issuer has it: a root and
/// one issuing intermediate. Returns (intermediate, intermediate PEM, root PEM).
fn pki() -> &'static (
    rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
    String,
    String,
) {
    static PKI: std::sync::OnceLock<(
        rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
        String,
        String,
    )> = std::sync::OnceLock::new();
    PKI.get_or_init(|| {
        let root = rcgen::CertifiedIssuer::self_signed(
            ca_params("certvigil bench root CA"),
            rcgen::KeyPair::generate().expect("ca key"),
        )
        .expect("root");
        let int = rcgen::CertifiedIssuer::signed_by(
            ca_params("certvigil bench issuing CA"),
            rcgen::KeyPair::generate().expect("ca key"),
            &root,
        )
        .expect("intermediate");
        let (ip, rp) = (int.pem(), root.pem());
        (int, ip, rp)
    })
}

/// One Secret's data: a leaf issued by the bench intermediate (subject and
/// issuer differ, as in a real cluster's cert-manager Secrets), `tls.crt` =
/// leaf + intermediate, `ca.crt` = the root, and the leaf's key.
fn secret_data(cn: &str) -> serde_json::Value {
    let (tls, key) = cert(cn);
    json!({"tls.crt": b64(format!("{tls}{}", pki().1)), "ca.crt": b64(&pki().2), "tls.key": b64(key)})
}

/// The bench's "now", whole seconds (every leaf's validity is relative to it, so
/// the cert-manager Certificates' `status.notAfter` matches their Secret's leaf).
fn base_time() -> time::OffsetDateTime {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    let t = *BASE.get_or_init(|| time::OffsetDateTime::now_utc().unix_timestamp());
    time::OffsetDateTime::from_unix_timestamp(t).expect("timestamp")
}

/// A leaf issued by the bench intermediate, with its key.
fn cert(cn: &str) -> (String, String) {
    let issuer = &pki().0;
    let key = rcgen::KeyPair::generate().expect("key");
    let mut p = rcgen::CertificateParams::new(vec![
        format!("{cn}.example.com"),
        format!("{cn}.svc.cluster.local"),
    ])
    .expect("params");
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, cn);
    dn.push(rcgen::DnType::OrganizationName, "Bench Org");
    p.distinguished_name = dn;
    p.not_before = base_time() - time::Duration::days(10);
    p.not_after = base_time() + time::Duration::days(80);
    let c = p.signed_by(&key, issuer).expect("cert");
    (c.pem(), key.serialize_pem())
}

fn kube_config(kubeconfig: &Path, page_size: Option<u32>, health: bool) -> KubernetesConfig {
    let mut k = KubernetesConfig {
        enabled: KubeEnabled::On,
        kubeconfig: Some(kubeconfig.to_path_buf()),
        debounce: Duration::from_millis(100),
        ..KubernetesConfig::default()
    };
    k.cabundles.enabled = false;
    k.ingresses.enabled = health;
    k.cert_manager.enabled = health;
    if let Some(n) = page_size {
        k.list_page_size = n;
    }
    k
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let page_size: Option<u32> = arg_value(&args, "--page-size").and_then(|v| v.parse().ok());
    if let Some(pos) = args.iter().position(|a| a == "--rss-child") {
        rss_child(
            Path::new(&args[pos + 1]),
            page_size,
            args.iter().any(|a| a == "--stages"),
            !args.iter().any(|a| a == "--no-health"),
        );
        return;
    }
    let health: usize = arg_value(&args, "--health")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let n: usize = arg_value(&args, "--secrets")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let namespaces: usize = arg_value(&args, "--namespaces")
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);

    let t = Instant::now();
    let api = FakeApiServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let kc = api.kubeconfig(dir.path());
    // Every Secret its own leaf (cert-manager issues one per Certificate); the
    // intermediate and root are copies in every Secret.
    let objs = (0..n)
        .map(|i| {
            let ns = format!("ns-{}", i % namespaces);
            let obj = json!({"type": "kubernetes.io/tls", "metadata": {"labels": {"app": "bench"}},
                "data": secret_data(&format!("svc-{i}"))});
            (ns, format!("secret-{i}"), obj)
        })
        .collect();
    api.preload("secrets", objs);
    if health > 0 {
        preload_health(&api, health, n, namespaces);
    }
    println!(
        "fake API server: {n} TLS Secrets in {namespaces} namespaces ({:.1}s to generate)",
        t.elapsed().as_secs_f64()
    );
    if args.iter().any(|a| a == "--hold") {
        // Profiling aid: keep the server up for a child run by hand
        // (`<bench binary> --rss-child <kubeconfig>`, e.g. under valgrind).
        println!("kubeconfig: {}", kc.display());
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cfg = kube_config(&kc, page_size, true);
    let (first, lists, update, relists, certs) = rt.block_on(async {
        let sources = kubernetes::build(&cfg);
        let mut scraper = Scraper::new(sources, Duration::from_secs(600));
        let rescan = scraper.rescan_signal();
        let t = Instant::now();
        let snap = scraper.scan(chrono::Utc::now()).await;
        let first = t.elapsed();
        let certs = snap.certificates.len();
        let lists = api.log().iter().filter(|l| l.verb == "list").count();
        api.clear_log();
        // Warm rescan (releases the cached bytes), then one update.
        let _ = scraper.scan(chrono::Utc::now()).await;
        let data = secret_data("updated");
        let t = Instant::now();
        api.apply(
            "secrets",
            "ns-7",
            "secret-7",
            json!({"type": "kubernetes.io/tls", "data": data}),
        );
        let update = loop {
            rescan.notified().await;
            let snap = scraper.scan(chrono::Utc::now()).await;
            if snap
                .certificates
                .iter()
                .any(|e| e.cert.subject.cn == "updated")
            {
                break t.elapsed();
            }
        };
        let relists = api.log().iter().filter(|l| l.verb == "list").count();
        (first, lists, update, relists, certs)
    });

    let exe = std::env::current_exe().expect("current exe");
    let child = |with_health: bool| -> (u64, u64, u64, u64, u64) {
        let out = std::process::Command::new(&exe)
            .arg("--rss-child")
            .arg(&kc)
            .args(args.iter().filter(|a| *a == "--stages"))
            .args((!with_health).then_some("--no-health"))
            .args(
                page_size
                    .map(|n| ["--page-size".to_string(), n.to_string()])
                    .into_iter()
                    .flatten(),
            )
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("spawn rss child");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let f: Vec<u64> = text
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        let g = |i: usize| f.get(i).copied().unwrap_or(0);
        (g(0), g(1), g(2), g(3), g(4))
    };
    let (rss_kib, parsed, shared, _, _) = child(true);
    let rss_mb = rss_kib as f64 / 1024.0;

    let ok = |b: bool| if b { "OK" } else { "MISSED" };
    println!(
        "first complete inventory: {:8.2} s  ({certs} certificates, {lists} LIST pages)  (target < 10 s)  {}",
        first.as_secs_f64(),
        ok(first < Duration::from_secs(10) && certs == 3 * n)
    );
    println!(
        "steady-state RSS:         {:8.1} MB (target < 40 MB, moonshot < 20 MB) {}; certificates parsed {parsed}, copies shared {shared}",
        rss_mb,
        ok(rss_kib > 0 && rss_mb < 40.0)
    );
    println!(
        "update -> snapshot:       {:8.3} s  ({relists} LIST requests after start-up) (target < 2 s, 0 LIST) {}",
        update.as_secs_f64(),
        ok(update < Duration::from_secs(2) && relists == 0)
    );
    if health > 0 {
        // Same cluster, health checks off: the difference is their cost.
        let mut on = Vec::new();
        let mut off = Vec::new();
        let mut counts = (0, 0);
        for _ in 0..3 {
            let (kib, _, _, series, findings) = child(true);
            on.push(kib);
            counts = (series, findings);
            off.push(child(false).0);
        }
        on.sort_unstable();
        off.sort_unstable();
        let (on, off) = (on[1] as f64 / 1024.0, off[1] as f64 / 1024.0);
        println!(
            "health checks ({health} Ingresses + {health} Certificates): RSS {on:.1} MB with, {off:.1} MB without \
             (median of 3 each): +{:.1} MB (target < 20 MB) {}; {} object series, {} findings",
            on - off,
            ok(on - off < 20.0 && counts.0 as usize >= 2 * health),
            counts.0,
            counts.1
        );
    }
}

/// `n` Ingresses (one TLS host each, naming Secret `secret-<i>`) and `n`
/// cert-manager Certificates (cert-manager.io/v1, `Ready` True, renewalTime and
/// notAfter ahead) across the namespaces of the Secrets.
fn preload_health(api: &FakeApiServer, n: usize, secrets: usize, namespaces: usize) {
    let now = chrono::DateTime::from_timestamp(base_time().unix_timestamp(), 0).expect("now");
    let ts = |d: i64| {
        (now + chrono::Duration::days(d))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let ingresses = (0..n)
        .map(|i| {
            let s = i % secrets.max(1);
            let ns = format!("ns-{}", s % namespaces);
            let obj = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"labels": {"app": "bench"}, "annotations": {"cert-manager.io/cluster-issuer": "bench-ca"}},
                "spec": {"ingressClassName": "nginx",
                    "tls": [{"hosts": [format!("svc-{s}.example.com")], "secretName": format!("secret-{s}")}],
                    "rules": [{"host": format!("svc-{s}.example.com"), "http": {"paths": [{"path": "/", "pathType": "Prefix",
                        "backend": {"service": {"name": format!("svc-{s}"), "port": {"number": 443}}}}]}}]}});
            (ns, format!("ing-{i}"), obj)
        })
        .collect();
    api.preload("ingresses", ingresses);
    let certificates = (0..n)
        .map(|i| {
            let s = i % secrets.max(1);
            let ns = format!("ns-{}", s % namespaces);
            let obj = json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                "metadata": {"labels": {"app": "bench"}},
                "spec": {"secretName": format!("secret-{s}"), "dnsNames": [format!("svc-{s}.example.com")],
                    "issuerRef": {"name": "bench-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}},
                "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Ready",
                    "message": "Certificate is up to date and has not expired", "lastTransitionTime": ts(-10), "observedGeneration": 1}],
                    "notBefore": ts(-10), "notAfter": ts(80), "renewalTime": ts(50), "revision": 1}});
            (ns, format!("cert-{i}"), obj)
        })
        .collect();
    api.preload("certificates", certificates);
}

/// Child mode: build the inventory, rescan once (steady state), idle briefly
/// while watching, print VmRSS (KiB) and the certificate table's misses
/// (certificates parsed) and hits (copies shared). With `--stages`, also print the memory
/// after each stage to stderr (RSS, and from /proc/self/smaps: the main heap,
/// glibc's per-thread arenas, other anonymous memory, file-backed pages).
fn rss_child(kubeconfig: &Path, page_size: Option<u32>, stages: bool, health: bool) {
    let stage = |what: &str| {
        if stages {
            eprintln!("{}", mem_line(what));
        }
    };
    stage("process start");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cfg = kube_config(kubeconfig, page_size, health);
    rt.block_on(async {
        stage("tokio runtime");
        let client = kubernetes::make_client(&cfg).await.expect("client");
        stage("+ kube client");
        drop(client);
        let mut scraper = Scraper::new(kubernetes::build(&cfg), Duration::from_secs(600));
        let snap = scraper.scan(chrono::Utc::now()).await;
        std::hint::black_box(snap.certificates.len());
        stage("+ first scan, snapshot held");
        drop(snap);
        stage("  snapshot dropped");
        let snap = scraper.scan(chrono::Utc::now()).await;
        std::hint::black_box(snap.certificates.len());
        stage("+ warm rescan, snapshot held");
        tokio::time::sleep(Duration::from_secs(2)).await;
        stage("  2 s later (measured)");
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let rss = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("0");
        let stats = certvigil::model::table::global().stats();
        println!(
            "{rss} {} {} {} {}",
            stats.misses,
            stats.hits,
            snap.object_series.iter().map(|l| l.len()).sum::<usize>(),
            snap.findings.len()
        );
        // Exit without tearing down, so a heap profiler's "at exit" view
        // (`valgrind --tool=dhat`) is the measured state.
        std::process::exit(0);
    });
}

/// `RSS`, and from /proc/self/smaps: the `[heap]` (main arena), glibc's
/// thread arenas (anonymous mappings starting on a 64 MiB boundary), other
/// anonymous memory (large blocks, stacks) and file-backed pages, in MiB.
fn mem_line(what: &str) -> String {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let (mut heap, mut arenas, mut anon, mut file) = (0u64, 0u64, 0u64, 0u64);
    let mut n_arenas = 0;
    let mut cur: Option<(u64, String)> = None;
    for l in smaps.lines() {
        let mut parts = l.split_whitespace();
        let first = parts.next().unwrap_or("");
        if first.contains('-') && !first.ends_with(':') {
            let (a, b) = first.split_once('-').unwrap_or(("0", "0"));
            let size =
                u64::from_str_radix(b, 16).unwrap_or(0) - u64::from_str_radix(a, 16).unwrap_or(0);
            let path = parts.nth(4).unwrap_or("").to_string();
            // glibc aligns each thread-arena heap to its 64 MiB maximum size.
            let aligned = u64::from_str_radix(a, 16).unwrap_or(1) % (64 << 20) == 0;
            cur = Some((u64::from(aligned), path));
            let _ = size;
        } else if first == "Rss:" {
            let kib: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            if let Some((size, path)) = &cur {
                if path == "[heap]" {
                    heap += kib;
                } else if path.is_empty() && *size == 1 {
                    arenas += kib;
                    if kib > 0 {
                        n_arenas += 1;
                    }
                } else if path.is_empty() || path.starts_with('[') {
                    anon += kib;
                } else {
                    file += kib;
                }
            }
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mb = |k: u64| k as f64 / 1024.0;
    format!(
        "{what:<30} RSS {:6.1} MB | heap {:5.1} | arenas {:5.1} ({n_arenas}) | other anon {:5.1} | file {:5.1}",
        mb(rss),
        mb(heap),
        mb(arenas),
        mb(anon),
        mb(file)
    )
}
