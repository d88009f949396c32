//! Scan benchmark and corpus generator (run with `cargo bench --bench scan`).
//!
//! Three corpora of 20,000 PEM files each (spread over 100 sub-directories), each
//! measured against its own floor in the same run (docs/performance.md holds
//! results):
//!
//! - `shared`: leaf + shared CA, as a host's `cert.pem + ca.pem` bundles are: 200
//!   distinct leaves, each copied into 100 files, every file also carrying the
//!   same self-signed CA (40,000 certificates, 201 distinct). Floor: read every
//!   file and parse every PEM block with x509-parser alone (parse-only floor).
//! - `fullchain`: 20,000 `fullchain.pem` files (certbot/cert-manager style), each
//!   a distinct leaf + one of 20 shared intermediates, the root given as the
//!   trust root (`trust.roots`, revocation offline): chain verification on.
//!   Floor, single thread: read and parse every file with x509-parser and verify
//!   each *distinct* (certificate, issuer) signature exactly once with
//!   x509-parser/ring (20,000 leaf signatures + 20 intermediate signatures).
//! - `distinct`: 20,000 distinct leaves of one CA, one per file, no chain (the
//!   original corpus). Floor: read + x509-parser. On this corpus also: the warm
//!   re-scan as `serve` runs it (the file source watches with inotify and reuses
//!   its last walk when no change was notified: the scenario the 10% target is
//!   about), and rendering `/metrics` for 10,000 certificates.
//!
//! For every corpus: floor and cold scan interleaved for 7 rounds (medians), the
//! warm re-scan with the full incremental stat walk (what every scan did before
//! change notification, and what the periodic verification walk, a one-shot
//! `scan`, or a host without inotify still do), and the peak RSS (`VmHWM`) of a
//! fresh child process that scans the corpus once, with the certificate table's
//! counts (distinct certificates parsed, copies shared).
//!
//! Options (after `--`): `--files N` (default 20000), `--dir DIR` (generate the
//! corpora under DIR, or reuse the ones a previous run left there, instead of a
//! temporary directory), `--corpus shared|fullchain|distinct` (repeatable; default
//! all three), `--generate-only`, `--profile-watched N` (only N watched re-scans
//! of the `distinct` corpus, for a profiler).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use certvigil::checks::Checker;
use certvigil::config::Config;
use certvigil::model::{SourceKind, TrustStatus};
use certvigil::scraper::Scraper;
use certvigil::setup::default_config;
use certvigil::sources::files::config::FileSourceConfig;
use certvigil::sources::files::FileSource;
use certvigil::sources::{build_sources, Source};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SanType,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Corpus {
    Shared,
    Fullchain,
    Distinct,
}

impl Corpus {
    fn name(self) -> &'static str {
        match self {
            Corpus::Shared => "shared",
            Corpus::Fullchain => "fullchain",
            Corpus::Distinct => "distinct",
        }
    }

    fn parse(s: &str) -> Option<Corpus> {
        [Corpus::Shared, Corpus::Fullchain, Corpus::Distinct]
            .into_iter()
            .find(|c| c.name() == s)
    }

    /// Certificates per file.
    fn per_file(self) -> usize {
        match self {
            Corpus::Shared | Corpus::Fullchain => 2,
            Corpus::Distinct => 1,
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--rss-child") {
        let roots = arg_value(&args, "--roots").map(PathBuf::from);
        rss_child(Path::new(&args[pos + 1]), roots.as_deref());
        return;
    }
    let files: usize = arg_value(&args, "--files")
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let tmp;
    let base: PathBuf = match arg_value(&args, "--dir") {
        Some(d) => PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir().expect("tempdir");
            tmp.path().to_path_buf()
        }
    };
    let mut corpora: Vec<Corpus> = args
        .iter()
        .enumerate()
        .filter(|(_, a)| *a == "--corpus")
        .filter_map(|(i, _)| args.get(i + 1))
        .map(|v| Corpus::parse(v).unwrap_or_else(|| panic!("unknown corpus {v}")))
        .collect();
    if corpora.is_empty() {
        corpora = vec![Corpus::Shared, Corpus::Fullchain, Corpus::Distinct];
    }
    let mut dirs = Vec::new();
    for &c in &corpora {
        let t = Instant::now();
        let (dir, generated) = generate(&base, c, files);
        println!(
            "corpus {}: {} files in {} ({} generated in {:.1}s)",
            c.name(),
            files,
            dir.display(),
            generated,
            t.elapsed().as_secs_f64()
        );
        dirs.push((c, dir));
    }
    if args.iter().any(|a| a == "--generate-only") {
        return;
    }
    if let Some(n) = arg_value(&args, "--profile-watched").and_then(|v| v.parse::<usize>().ok()) {
        let (dir, _) = generate(&base, Corpus::Distinct, files);
        profile_watched(&dir, n);
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for (c, dir) in dirs {
        measure(&rt, c, &base, &dir, files);
    }
}

/// The trust root of the `fullchain` corpus (outside the scanned directory).
fn root_path(base: &Path) -> PathBuf {
    base.join("fullchain-root.pem")
}

fn first_file_source(cfg: &Config) -> FileSourceConfig {
    cfg.sources
        .of::<FileSourceConfig>()
        .next()
        .cloned()
        .expect("a file source")
}

fn corpus_config(dir: &Path, roots: Option<&Path>) -> Config {
    let mut cfg = default_config();
    let mut src = cfg
        .sources
        .of::<FileSourceConfig>()
        .find(|f| f.kind == SourceKind::File)
        .cloned()
        .expect("default config has a file source");
    src.name = "bench".into();
    src.paths = vec![dir.display().to_string()];
    src.exclude = Vec::new();
    cfg.sources.retain_of::<FileSourceConfig>(|_| false);
    cfg.sources.push(src);
    if let Some(r) = roots {
        cfg.trust.roots = vec![r.to_path_buf()];
        cfg.trust.system_roots = false;
        cfg.revocation.offline = true;
    }
    cfg
}

/// A scraper as `certvigil scan` builds it (checker from the configuration
/// when trust is configured).
fn scraper_for(cfg: &Config, trust: bool) -> Scraper {
    let s = Scraper::new(build_sources(cfg), Duration::from_secs(600));
    if trust {
        s.with_checker(Checker::new(&cfg.trust, &cfg.revocation).expect("checker"))
    } else {
        s
    }
}

fn measure(rt: &tokio::runtime::Runtime, c: Corpus, base: &Path, dir: &Path, files: usize) {
    let trust = c == Corpus::Fullchain;
    let roots = trust.then(|| root_path(base));
    let cfg = corpus_config(dir, roots.as_deref());
    let paths = list_files(dir);
    assert_eq!(paths.len(), files, "corpus {} incomplete", c.name());
    let root_der = roots
        .as_ref()
        .map(|r| first_der(&std::fs::read(r).expect("read root")));
    let floor = |paths: &[PathBuf]| match &root_der {
        Some(root) => verify_floor(paths, root),
        None => parse_floor(paths),
    };
    // Warm the page cache for both sides alike.
    let _ = floor(&paths);
    let now = chrono::Utc::now();
    // The floor on its own (warm heap, warm caches), then floor and cold scan
    // interleaved, medians of each (drift of this virtual machine hits both
    // sides alike). The floor reported is the lower of the two medians: a floor
    // run right after a scan pays for re-faulting the freed heap, which would
    // flatter the ratio.
    let floor_alone = median(3, || floor(&paths));
    let mut floors = Vec::new();
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let expected = files * c.per_file();
    for _ in 0..ROUNDS {
        floors.push(floor(&paths));
        let t = Instant::now();
        let mut scraper = scraper_for(&cfg, trust);
        let snap = rt.block_on(scraper.scan(now));
        cold.push(t.elapsed());
        assert_eq!(snap.certificates.len(), expected, "cold scan: certificates");
        assert!(snap.errors.is_empty(), "cold scan: {:?}", &snap.errors[..1]);
        if trust {
            // Every chain verifies to the root; expired leaves are untrusted.
            let verified = snap
                .certificates
                .iter()
                .filter(|e| {
                    e.trust.status == TrustStatus::Trusted
                        || (e.expired && e.trust.status == TrustStatus::Untrusted)
                })
                .count();
            assert_eq!(verified, expected, "chains verified");
        }
        drop(snap);
        let t = Instant::now();
        let snap2 = rt.block_on(scraper.scan(now));
        warm.push(t.elapsed());
        assert_eq!(
            snap2.certificates.len(),
            expected,
            "warm scan lost certificates"
        );
    }
    floors.sort();
    cold.sort();
    warm.sort();
    let floor_t = floors[ROUNDS / 2].min(floor_alone);
    let (cold, warm) = (cold[ROUNDS / 2], warm[ROUNDS / 2]);

    // Peak RSS of a whole scan, in a fresh child process.
    let exe = std::env::current_exe().expect("current exe");
    let mut cmd = Command::new(exe);
    cmd.arg("--rss-child").arg(dir);
    if let Some(r) = &roots {
        cmd.arg("--roots").arg(r);
    }
    let out = cmd.output().expect("spawn rss child");
    let child = String::from_utf8_lossy(&out.stdout).to_string();
    let mut fields = child.split_whitespace();
    let rss_kib: u64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    let parsed: u64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    let shared: u64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);

    let ratio = cold.as_secs_f64() / floor_t.as_secs_f64();
    let warm_pct = 100.0 * warm.as_secs_f64() / cold.as_secs_f64();
    let rss_mb = rss_kib as f64 / 1024.0;
    let (floor_what, target) = match c {
        Corpus::Fullchain => (
            "1 thread: read + parse + verify each distinct signature once",
            1.0,
        ),
        _ => ("read + x509-parser", 2.0),
    };
    println!("== corpus {} ({expected} certificates)", c.name());
    println!(
        "floor ({floor_what}): {:8.1} ms  (alone {:.1} ms, interleaved {:.1} ms)",
        ms(floor_t),
        ms(floor_alone),
        ms(floors[ROUNDS / 2])
    );
    println!(
        "cold scan{}:               {:8.1} ms  = {:.2}x floor  (target <= {target}x)  {}",
        if trust { " (trust on)" } else { "" },
        ms(cold),
        ratio,
        verdict(ratio <= target)
    );
    println!(
        "warm re-scan (stat walk):   {:8.1} ms  = {:.1}% of cold",
        ms(warm),
        warm_pct,
    );
    println!(
        "peak RSS (child, one scan): {:8.1} MB  (target < 100 MB) {}; certificates parsed {parsed}, copies shared {shared}",
        rss_mb,
        verdict(rss_kib > 0 && rss_mb < 100.0)
    );
    if c == Corpus::Distinct {
        measure_distinct_extras(rt, &cfg, dir, expected, cold);
    }
}

/// The watched warm re-scan and the `/metrics` render, on the `distinct` corpus.
fn measure_distinct_extras(
    rt: &tokio::runtime::Runtime,
    cfg: &Config,
    dir: &Path,
    certs: usize,
    cold: Duration,
) {
    let now = chrono::Utc::now();
    // The same warm re-scan in a long-running scraper (`serve`): the rescan
    // signal is attached, so the file source watches; nothing changes.
    let src = Arc::new(FileSource::new(first_file_source(cfg)));
    let mut scraper = Scraper::new(
        vec![src.clone() as Arc<dyn Source>],
        Duration::from_secs(600),
    );
    let _signal = scraper.rescan_signal();
    let first = rt.block_on(scraper.scan(now));
    assert_eq!(first.certificates.len(), certs);
    drop(first);
    let before = src.stats();
    let warm_watch = median(5, || {
        let t = Instant::now();
        let snap = rt.block_on(scraper.scan(now));
        let d = t.elapsed();
        assert_eq!(
            snap.certificates.len(),
            certs,
            "watched re-scan lost certificates"
        );
        d
    });
    let after = src.stats();
    assert!(after.watching, "the serve-style scraper watches");
    assert_eq!(
        after.walks, before.walks,
        "nothing changed: the watched re-scans must not walk ({after:?})"
    );
    assert_eq!(after.dirs_listed, before.dirs_listed);
    drop(scraper);

    // Render /metrics for 10,000 certificates.
    let mut scraper = Scraper::new(
        build_sources(&corpus_config(dir, None)),
        Duration::from_secs(600),
    );
    let mut snap = rt.block_on(scraper.scan(now));
    snap.certificates.truncate(10_000);
    let n_render = snap.certificates.len();
    let now_unix = now.timestamp() as f64;
    let render_t = median(5, || {
        let t = Instant::now();
        let s = certvigil::outputs::metrics::render(Some(&snap), &cfg.metrics, now_unix, false);
        std::hint::black_box(s.len());
        t.elapsed()
    });
    let watch_pct = 100.0 * warm_watch.as_secs_f64() / cold.as_secs_f64();
    println!(
        "warm re-scan (serve, watched): {:5.1} ms  = {:.1}% of cold (target <= 10%) {}",
        ms(warm_watch),
        watch_pct,
        verdict(watch_pct <= 10.0)
    );
    println!(
        "render /metrics ({} certs): {:8.1} ms  (target < 50 ms)  {}",
        n_render,
        ms(render_t),
        verdict(ms(render_t) < 50.0)
    );
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "OK"
    } else {
        "MISSED"
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Rounds of the interleaved floor / cold / warm measurement (medians reported).
const ROUNDS: usize = 7;

fn median(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut v: Vec<Duration> = (0..n).map(|_| f()).collect();
    v.sort();
    v[n / 2]
}

fn arg_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Parse-only floor: read every file and parse every PEM certificate with
/// x509-parser alone (one thread).
fn parse_floor(paths: &[PathBuf]) -> Duration {
    let t = Instant::now();
    let mut n = 0usize;
    for p in paths {
        let data = std::fs::read(p).expect("read corpus file");
        for pem in x509_parser::pem::Pem::iter_from_buffer(&data).flatten() {
            if let Ok(c) = pem.parse_x509() {
                n += c.tbs_certificate.serial.bits() as usize;
            }
        }
    }
    std::hint::black_box(n);
    t.elapsed()
}

/// Single-thread verification floor: read and parse every file with
/// x509-parser, and verify each distinct (certificate, issuer) signature exactly
/// once (each bundle's block `i` is issued by block `i + 1`, the last by the
/// root). Distinctness by the SHA-256 of both DERs.
fn verify_floor(paths: &[PathBuf], root_der: &[u8]) -> Duration {
    let sha = |d: &[u8]| -> [u8; 32] {
        let mut o = [0u8; 32];
        o.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, d).as_ref());
        o
    };
    let t = Instant::now();
    let (_, root) = x509_parser::parse_x509_certificate(root_der).expect("root");
    let root_fp = sha(root_der);
    let mut done: HashSet<([u8; 32], [u8; 32])> = HashSet::new();
    let mut verified = 0usize;
    for p in paths {
        let data = std::fs::read(p).expect("read corpus file");
        let pems: Vec<_> = x509_parser::pem::Pem::iter_from_buffer(&data)
            .flatten()
            .collect();
        let certs: Vec<_> = pems
            .iter()
            .map(|pem| pem.parse_x509().expect("corpus certificate"))
            .collect();
        let fps: Vec<[u8; 32]> = pems.iter().map(|pem| sha(&pem.contents)).collect();
        for i in 0..certs.len() {
            let (issuer, issuer_fp) = match certs.get(i + 1) {
                Some(c) => (c, fps[i + 1]),
                None => (&root, root_fp),
            };
            if done.insert((fps[i], issuer_fp)) {
                certs[i]
                    .verify_signature(Some(issuer.public_key()))
                    .expect("corpus signature verifies");
                verified += 1;
            }
        }
    }
    std::hint::black_box(verified);
    t.elapsed()
}

fn first_der(pem: &[u8]) -> Vec<u8> {
    x509_parser::pem::Pem::iter_from_buffer(pem)
        .flatten()
        .next()
        .expect("a PEM certificate")
        .contents
}

fn list_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn time_offset_days(days: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + time::Duration::days(days)
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    // Real CAs carry an authorityKeyIdentifier; the trust checks require it on
    // intermediates (RFC 5280 4.2.1.1).
    p.use_authority_key_identifier_extension = true;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, "certvigil");
    p.distinguished_name = dn;
    p.not_before = time_offset_days(-365);
    p.not_after = time_offset_days(5 * 365);
    p
}

/// Leaf `i` of a corpus: varied subject, SANs and validity.
fn leaf_params(i: usize) -> CertificateParams {
    let name = format!("host-{i}.bench.example");
    let mut p = CertificateParams::new(vec![name.clone()]).expect("params");
    p.subject_alt_names.push(SanType::DnsName(
        format!("alt-{i}.bench.example").try_into().expect("san"),
    ));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn.push(DnType::OrganizationName, "Bench Org");
    dn.push(DnType::OrganizationalUnitName, format!("unit-{}", i % 37));
    p.distinguished_name = dn;
    p.serial_number = Some(rcgen::SerialNumber::from(
        (i as u64 + 1).to_be_bytes().to_vec(),
    ));
    let start = time_offset_days(-((i % 300) as i64));
    p.not_before = start;
    p.not_after = start + time::Duration::days(30 + (i % 700) as i64);
    p
}

fn file_path(dir: &Path, i: usize, name: &str) -> PathBuf {
    dir.join(format!("d{:03}", i % 100))
        .join(format!("{name}-{i:06}.pem"))
}

/// Generate corpus `c` with `n` files under `base/<name>` (kept when a previous
/// run completed it: a marker file records that); returns its directory and
/// the number of files written.
fn generate(base: &Path, c: Corpus, n: usize) -> (PathBuf, usize) {
    let dir = base.join(c.name());
    let marker = base.join(format!(".{}-{n}-complete", c.name()));
    if marker.exists() {
        return (dir, 0);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("remove stale corpus");
    }
    for d in 0..100.min(n) {
        std::fs::create_dir_all(dir.join(format!("d{d:03}"))).expect("mkdir");
    }
    let leaf_key = KeyPair::generate().expect("leaf key");
    match c {
        Corpus::Distinct => {
            let ca = rcgen::Issuer::new(
                ca_params("certvigil bench CA"),
                KeyPair::generate().expect("key"),
            );
            for i in 0..n {
                let cert = leaf_params(i).signed_by(&leaf_key, &ca).expect("sign");
                std::fs::write(file_path(&dir, i, "cert"), cert.pem()).expect("write");
            }
        }
        Corpus::Shared => {
            let ca = rcgen::CertifiedIssuer::self_signed(
                ca_params("certvigil bench shared CA"),
                KeyPair::generate().expect("key"),
            )
            .expect("ca");
            let ca_pem = ca.pem();
            let leaves: Vec<String> = (0..200)
                .map(|i| {
                    leaf_params(i)
                        .signed_by(&leaf_key, &ca)
                        .expect("sign")
                        .pem()
                })
                .collect();
            for i in 0..n {
                let data = format!("{}{}", leaves[i % leaves.len()], ca_pem);
                std::fs::write(file_path(&dir, i, "bundle"), data).expect("write");
            }
        }
        Corpus::Fullchain => {
            let root = rcgen::CertifiedIssuer::self_signed(
                ca_params("certvigil bench root"),
                KeyPair::generate().expect("key"),
            )
            .expect("root");
            let ints: Vec<_> = (0..20)
                .map(|k| {
                    rcgen::CertifiedIssuer::signed_by(
                        ca_params(&format!("certvigil bench intermediate {k}")),
                        KeyPair::generate().expect("key"),
                        &root,
                    )
                    .expect("intermediate")
                })
                .collect();
            for i in 0..n {
                let int = &ints[i % ints.len()];
                let leaf = leaf_params(i).signed_by(&leaf_key, int).expect("sign");
                let data = format!("{}{}", leaf.pem(), int.pem());
                std::fs::write(file_path(&dir, i, "fullchain"), data).expect("write");
            }
            std::fs::write(root_path(base), root.pem()).expect("write root");
        }
    }
    std::fs::write(&marker, b"").expect("marker");
    (dir, n)
}

/// `--profile-watched N`: one walk, then N re-scans answered from the watcher.
fn profile_watched(dir: &Path, n: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cfg = corpus_config(dir, None);
    let src = Arc::new(FileSource::new(first_file_source(&cfg)));
    let mut scraper = Scraper::new(
        vec![src.clone() as Arc<dyn Source>],
        Duration::from_secs(600),
    );
    let _signal = scraper.rescan_signal();
    let now = chrono::Utc::now();
    drop(rt.block_on(scraper.scan(now)));
    let t = Instant::now();
    for _ in 0..n {
        drop(rt.block_on(scraper.scan(now)));
    }
    println!(
        "{n} watched re-scans: {:.2} ms each; {:?}",
        ms(t.elapsed()) / n.max(1) as f64,
        src.stats()
    );
}

/// Child mode: scan the corpus once (trust on when `roots` is given) and print
/// this process's peak RSS (KiB), then the certificate table's misses
/// (certificates parsed) and hits (copies shared).
fn rss_child(dir: &Path, roots: Option<&Path>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cfg = corpus_config(dir, roots);
    let mut scraper = scraper_for(&cfg, roots.is_some());
    let snap = Arc::new(rt.block_on(scraper.scan(chrono::Utc::now())));
    std::hint::black_box(snap.certificates.len());
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("0");
    let stats = certvigil::model::table::global().stats();
    println!("{hwm} {} {}", stats.misses, stats.hits);
}
