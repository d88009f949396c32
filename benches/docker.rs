//! Docker source benchmark (run with `cargo bench --bench docker`; needs root,
//! `dockerd`, `docker` and busybox-static like the integration tests).
//!
//! In a private dockerd (tests/common/dockerd.rs): 500 swarm configs and 200
//! running containers with 5 certificate files each (`/certs/1..5.pem`, baked
//! into an image). Measures, in one run (docs/performance.md holds results):
//! - a cold full scan through the Docker source and the scraper;
//! - a warm re-scan, and that unchanged objects are not re-read (archive
//!   requests and API calls counted by the source);
//! - steady-state RSS of the real binary (`certvigil serve`, scan every 5 s)
//!   after several scans.
//!
//! Options (after `--`): `--configs N` (default 500), `--containers N` (default 200).

#[path = "../tests/common/dockerd.rs"]
mod dockerd;

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use certvigil::scraper::Scraper;
use certvigil::sources::docker::config::{default_docker, DockerEnabled};
use certvigil::sources::docker::DockerSource;
use certvigil::sources::Source;

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cert_pem(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec![format!("{cn}.bench")]).expect("params");
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.self_signed(&key).expect("cert").pem()
}

/// Run `f(i)` for i in 0..n on `threads` threads.
fn parallel(n: usize, threads: usize, f: impl Fn(usize) + Sync) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                f(i);
            });
        }
    });
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n_configs = arg(&args, "--configs", 500);
    let n_containers = arg(&args, "--containers", 200);
    let Some(d) = dockerd::Dockerd::start() else {
        eprintln!("docker benchmark skipped: no dockerd");
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");

    // Fixtures.
    let t = Instant::now();
    parallel(n_configs, 8, |i| {
        let p = tmp.path().join(format!("cfg{i}.pem"));
        std::fs::write(&p, cert_pem(&format!("config-{i}"))).expect("write");
        d.docker_ok(&[
            "config",
            "create",
            &format!("bench-cfg-{i}"),
            &p.display().to_string(),
        ]);
    });
    println!("created {n_configs} configs in {:.1?}", t.elapsed());
    let t = Instant::now();
    d.run_container("bench-template", &[]);
    for k in 1..=5 {
        let p = tmp.path().join(format!("{k}.pem"));
        std::fs::write(&p, cert_pem(&format!("container-file-{k}"))).expect("write");
        d.copy_into("bench-template", &p, &format!("/certs/{k}.pem"));
    }
    d.docker_ok(&["commit", "bench-template", "certvigil-bench:certs"]);
    d.docker_ok(&["rm", "-f", "bench-template"]);
    parallel(n_containers, 4, |i| {
        d.docker_ok(&[
            "run",
            "-d",
            "--name",
            &format!("bench-{i}"),
            "--network",
            "none",
            "--stop-timeout",
            "1",
            "certvigil-bench:certs",
            "sleep",
            "1000000",
        ]);
    });
    println!("started {n_containers} containers in {:.1?}", t.elapsed());

    // In-process scans through the scraper.
    let mut cfg = default_docker();
    cfg.enabled = DockerEnabled::On;
    cfg.host = Some(d.host());
    let src = Arc::new(DockerSource::new(cfg));
    let stats = src.stats();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let sources: Vec<Arc<dyn Source>> = vec![src.clone()];
        let mut scraper = Scraper::new(sources, Duration::from_secs(600));
        let t = Instant::now();
        let s1 = scraper.scan(chrono::Utc::now()).await;
        let cold = t.elapsed();
        let calls1 = stats.api_calls.load(Ordering::SeqCst);
        let arch1 = stats.archive_requests.load(Ordering::SeqCst);
        let per_kind = |s: &certvigil::inventory::Snapshot, k: &str| {
            s.certificates
                .iter()
                .filter(|c| c.source.kind.as_str() == k)
                .count()
        };
        println!(
            "cold scan: {:.2?}  certificates: {} (configs {}, container files {}, node {})  errors: {}  API calls: {calls1}  archive requests: {arch1}",
            cold,
            s1.certificates.len(),
            per_kind(&s1, "docker_config"),
            per_kind(&s1, "docker_container"),
            per_kind(&s1, "docker_node"),
            s1.errors.len()
        );
        let t = Instant::now();
        let s2 = scraper.scan(chrono::Utc::now()).await;
        let warm = t.elapsed();
        let calls2 = stats.api_calls.load(Ordering::SeqCst) - calls1;
        let arch2 = stats.archive_requests.load(Ordering::SeqCst) - arch1;
        println!(
            "warm scan: {:.2?}  certificates: {}  API calls: {calls2}  archive requests: {arch2} (0 = unchanged containers not re-read)",
            warm,
            s2.certificates.len()
        );
        assert_eq!(arch2, 0, "unchanged containers were read again");
        assert_eq!(s1.certificates.len(), s2.certificates.len());
    });

    // Steady-state RSS of the real binary.
    let cfgfile = tmp.path().join("serve.yml");
    std::fs::write(
        &cfgfile,
        "scan: {interval: 5s}\nsources: []\ndocker:\n  enabled: true\n",
    )
    .expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_certvigil"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&cfgfile)
        .env("DOCKER_HOST", d.host())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn certvigil");
    let pid = child.id();
    let mut samples = Vec::new();
    for _ in 0..6 {
        std::thread::sleep(Duration::from_secs(5));
        samples.push(rss_kib(pid, "VmRSS:"));
    }
    let hwm = rss_kib(pid, "VmHWM:");
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "certvigil serve RSS every 5 s (KiB): {samples:?}; peak (VmHWM): {hwm} KiB = {:.1} MiB",
        hwm as f64 / 1024.0
    );
    drop(d);
}
