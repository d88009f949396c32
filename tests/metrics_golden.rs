//! Golden tests of the metrics exposition: a hand-built, deterministic snapshot
//! (hostile subjects, a kubeconfig-embedded certificate, two colliding entries,
//! an object error, several sources) rendered in Prometheus text 0.0.4 and
//! OpenMetrics 1.0 and compared to `tests/golden/`. `UPDATE_GOLDEN=1` rewrites
//! the golden files. Both outputs are then checked by the real Prometheus
//! parsers via `promtool` (`check metrics` for 0.0.4, lint-clean;
//! `tsdb create-blocks-from openmetrics` for OpenMetrics). Without promtool the
//! promtool checks are skipped loudly, unless `CERTVIGIL_REQUIRE_REAL=1`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use certvigil::config::MetricsConfig;
use certvigil::inventory::{Snapshot, SourceStatus};
use certvigil::model::{
    CertEntry, DistinguishedName, ErrorEntry, KeyAlgorithm, KeystoreFormat, ParsedCert, Reason,
    Revocation, RevocationMethod, RevocationStatus, SourceKind, SourceRef, TransportReason, Trust,
    TrustReason, TrustStatus,
};
use certvigil::outputs::metrics::{render, CONTENT_TYPE_OPENMETRICS, CONTENT_TYPE_TEXT};
use chrono::{TimeZone, Utc};

const NOW: f64 = 1_800_000_000.5;

fn dn(cn: &str, o: &str) -> DistinguishedName {
    DistinguishedName {
        rendered: format!("CN={cn},O={o}"),
        c: "FR".into(),
        st: String::new(),
        l: String::new(),
        o: o.into(),
        ou: String::new(),
        cn: cn.into(),
    }
}

fn cert(serial: &str, subject: DistinguishedName, not_after: i64, der: &[u8]) -> ParsedCert {
    ParsedCert {
        issuer: std::sync::Arc::new(dn("Example Issuing CA", "Example")),
        subject: subject.into(),
        serial_number: serial.into(),
        serial_hex: "01".into(),
        not_before: not_after - 90 * 86400,
        not_after,
        sha256_fingerprint: format!("{:0>64}", serial),
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        key_algorithm: KeyAlgorithm::Ecdsa,
        key_bits: 256,
        signature_algorithm: "ecdsa-with-SHA256".into(),
        is_ca: false,
        self_signed: false,
        der: Arc::from(der),
    }
}

fn file_ref(path: &str) -> SourceRef {
    let name = path.rsplit('/').next().unwrap_or(path).to_string();
    SourceRef::new(SourceKind::File, "host-files", path)
        .with_label("filename", name)
        .with_label("filepath", path)
}

fn entry(src: SourceRef, index: usize, c: ParsedCert, now: i64) -> CertEntry {
    CertEntry {
        source: Arc::new(src),
        index_in_bundle: index,
        expired: c.not_after < now,
        cert: Arc::new(c),
        trust: Trust::default(),
        revocation: Revocation::default(),
    }
}

fn status(kind: SourceKind, name: &str, up: bool, certs: usize, objects: usize) -> SourceStatus {
    let mut errors_total: BTreeMap<Reason, u64> = Reason::ALL.iter().map(|r| (*r, 0)).collect();
    if !up {
        errors_total.insert(Reason::SourceUnavailable, 2);
    }
    SourceStatus {
        kind,
        name: name.into(),
        up,
        certificates: certs,
        objects,
        errors_total,
        // As the scraper pre-creates them; the file source saw one PKCS#12 failure.
        passphrase_failures: if kind.reads_keystores() {
            KeystoreFormat::ALL
                .iter()
                .map(|f| {
                    (
                        *f,
                        u64::from(kind == SourceKind::File && *f == KeystoreFormat::Pkcs12),
                    )
                })
                .collect()
        } else {
            BTreeMap::new()
        },
        // As the scraper pre-creates them for a Kubernetes source; the Secret
        // watcher's LIST failed twice and it re-listed once.
        kube_transport_errors: if kind == SourceKind::KubernetesSecret {
            TransportReason::ALL
                .iter()
                .map(|r| {
                    (
                        ("secrets", *r),
                        if *r == TransportReason::ListFailed {
                            2
                        } else {
                            0
                        },
                    )
                })
                .collect()
        } else {
            BTreeMap::new()
        },
        kube_watch_resyncs: if kind == SourceKind::KubernetesSecret {
            [("secrets", 1)].into_iter().collect()
        } else {
            BTreeMap::new()
        },
    }
}

/// The fixture snapshot.
fn snapshot() -> Snapshot {
    let now = NOW as i64;
    let mut certs = Vec::new();

    // A trusted, good web certificate with many DNS names (capped to 10).
    let mut web = cert(
        "1234567890123456789012345678901234567890",
        dn("web.example.com", "Example"),
        now + 30 * 86400,
        b"der-web",
    );
    web.dns_names = (0..12).map(|i| format!("h{i}.example.com")).collect();
    let mut e = entry(file_ref("/etc/ssl/web.pem"), 0, web, now);
    e.trust = Trust {
        status: TrustStatus::Trusted,
        reason: None,
        detail: "ok".into(),
    };
    e.revocation = Revocation {
        status: RevocationStatus::Good,
        method: Some(RevocationMethod::Crl),
        revoked_at: None,
        reason: None,
    };
    certs.push(e);

    // The same certificate twice in one bundle: identical label sets.
    for index in 0..2 {
        let c = cert(
            "42",
            dn("dup.example.com", "Example"),
            now + 10 * 86400,
            b"der-dup",
        );
        let mut e = entry(file_ref("/etc/ssl/dup.pem"), index, c, now);
        e.trust = Trust {
            status: TrustStatus::Incomplete,
            reason: Some(TrustReason::UnknownIssuer),
            detail: "no issuer".into(),
        };
        certs.push(e);
    }

    // Hostile subject and path.
    let hostile = DistinguishedName {
        rendered: "hostile".into(),
        c: "\u{202e}RF".into(),
        st: "back\\slash".into(),
        l: "new\nline".into(),
        o: "\"quoted\" \\\" ".into(),
        ou: "<script>alert(1)</script>".into(),
        cn: "𝄞 mus\u{301}ic \u{1F600} tab\t".into(),
    };
    let mut h = cert("7", hostile, now + 400 * 86400, b"der-hostile");
    h.dns_names = vec!["a\"b".into(), "c\\d".into()];
    h.key_algorithm = KeyAlgorithm::Rsa;
    h.key_bits = 1024;
    h.signature_algorithm = "1.2.840.113549.1.1.5".into();
    let mut e = entry(file_ref("/etc/ssl/we\"ird\\dir/x\ny.pem"), 0, h, now);
    e.revocation = Revocation {
        status: RevocationStatus::Revoked,
        method: Some(RevocationMethod::Ocsp),
        revoked_at: Some("2026-01-01T00:00:00Z".into()),
        reason: Some("keyCompromise".into()),
    };
    e.trust = Trust {
        status: TrustStatus::Untrusted,
        reason: Some(TrustReason::BadSignature),
        detail: "bad".into(),
    };
    certs.push(e);

    // A kubeconfig-embedded client certificate, expired, self-signed.
    let mut k = cert(
        "99",
        dn("kubernetes-admin", "system:masters"),
        now - 86400,
        b"der-kube",
    );
    k.self_signed = true;
    let kref = SourceRef::new(
        SourceKind::Kubeconfig,
        "kubeconfigs",
        "/home/u/.kube/config#users[admin]",
    )
    .with_label("filename", "config")
    .with_label("filepath", "/home/u/.kube/config")
    .with_label("embedded_kind", "user")
    .with_label("embedded_key", "admin");
    let mut e = entry(kref, 0, k, now);
    e.trust = Trust {
        status: TrustStatus::SelfSigned,
        reason: Some(TrustReason::SelfSigned),
        detail: "self".into(),
    };
    e.revocation.status = RevocationStatus::Unknown;
    certs.push(e);

    // A Kubernetes Secret certificate with an extra location label.
    let s = cert(
        "5",
        dn("api.internal", "Example"),
        now + 200 * 86400,
        b"der-secret",
    );
    let sref = SourceRef::new(
        SourceKind::KubernetesSecret,
        "cluster-secrets",
        "prod/api-tls:tls.crt",
    )
    .with_label("secret_namespace", "prod")
    .with_label("secret_name", "api-tls")
    .with_label("secret_key", "tls.crt")
    .with_label("secret_label_app", "api")
    .with_label("bad-label-name", "dropped");
    certs.push(entry(sref, 0, s, now));

    let errors = vec![
        ErrorEntry::new(
            file_ref("/etc/ssl/broken.pem"),
            Reason::BadPem,
            "no PEM block",
        ),
        // A second error for the same object merges into one series.
        ErrorEntry::new(
            file_ref("/etc/ssl/broken.pem"),
            Reason::NoCertificateFound,
            "nothing",
        ),
        ErrorEntry::new(
            SourceRef::new(SourceKind::KubernetesSecret, "cluster-secrets", "")
                .with_label("secret_namespace", "prod"),
            Reason::SourceUnavailable,
            "API down",
        ),
    ];

    let mut snap = Snapshot {
        generated_at: Utc.timestamp_opt(now, 0).single().unwrap_or_default(),
        certificates: certs,
        errors,
        metadata: Vec::new(),
        sources: vec![
            status(SourceKind::File, "host-files", true, 4, 4),
            status(SourceKind::Kubeconfig, "kubeconfigs", true, 1, 1),
            status(SourceKind::KubernetesSecret, "cluster-secrets", false, 1, 1),
        ],
        scan_duration_seconds: 0.25,
        completed_at_unix: NOW - 10.0,
        crls: Vec::new(),
        findings: Vec::new(),
        object_series: Vec::new(),
        credentials: Vec::new(),
    };
    snap.sort();
    snap
}

fn cfg_all() -> MetricsConfig {
    MetricsConfig {
        cluster: "prod".into(),
        expose_relative: true,
        expose_per_cert_error: true,
        expose_not_before: true,
        expose_expired: true,
        trim_path_components: 1,
        max_dns_names_in_label: 10,
    }
}

fn cfg_default() -> MetricsConfig {
    MetricsConfig {
        cluster: String::new(),
        expose_relative: false,
        expose_per_cert_error: false,
        expose_not_before: true,
        expose_expired: true,
        trim_path_components: 0,
        max_dns_names_in_label: 10,
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn check_golden(name: &str, actual: &str) {
    let path = golden_dir().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, actual).unwrap();
        eprintln!("updated {}", path.display());
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(5)
            .map(|(i, (a, b))| format!("line {}:\n  want {a}\n  got  {b}", i + 1))
            .collect();
        panic!(
            "{} differs (UPDATE_GOLDEN=1 to accept):\n{}\n(lines: want {}, got {})",
            path.display(),
            diff.join("\n"),
            expected.lines().count(),
            actual.lines().count()
        );
    }
}

/// Sample lines split into (series identity, value).
fn samples(expo: &str) -> Vec<(&str, &str)> {
    expo.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.rsplit_once(' ').expect("sample line has a value"))
        .collect()
}

/// Label names of a sample's series, in order (label values are escaped, so a
/// `"` inside a value is always preceded by `\`).
fn label_names(series: &str) -> (String, Vec<String>) {
    let Some((name, rest)) = series.split_once('{') else {
        return (series.to_string(), Vec::new());
    };
    let mut names = Vec::new();
    let mut chars = rest.chars().peekable();
    let mut cur = String::new();
    while let Some(c) = chars.next() {
        match c {
            '=' => {
                names.push(std::mem::take(&mut cur));
                assert_eq!(chars.next(), Some('"'));
                while let Some(v) = chars.next() {
                    match v {
                        '\\' => {
                            let esc = chars.next();
                            assert!(matches!(esc, Some('\\' | '"' | 'n')), "bad escape {esc:?}");
                        }
                        '"' => break,
                        '\n' => panic!("raw newline in label value"),
                        _ => {}
                    }
                }
            }
            ',' | '}' => {}
            c => cur.push(c),
        }
    }
    (name.to_string(), names)
}

fn structural_checks(expo: &str) {
    let s = samples(expo);
    let mut seen = BTreeSet::new();
    let mut schema: HashMap<String, Vec<String>> = HashMap::new();
    for (series, value) in &s {
        assert!(seen.insert(*series), "duplicate series {series}");
        assert!(
            value.parse::<f64>().map(f64::is_finite).unwrap_or(false),
            "bad value {value} for {series}"
        );
        let (name, names) = label_names(series);
        let uniq: BTreeSet<&String> = names.iter().collect();
        assert_eq!(uniq.len(), names.len(), "duplicate label name in {series}");
        match schema.get(&name) {
            Some(prev) => assert_eq!(prev, &names, "label names differ within {name}"),
            None => {
                schema.insert(name, names);
            }
        }
    }
    // not_after and not_before of one certificate carry identical label sets.
    let (na, nb) = (
        &schema["x509_cert_not_after"],
        &schema["x509_cert_not_before"],
    );
    assert_eq!(na, nb);
    assert_eq!(&schema["x509_cert_expired"], na);
    assert_eq!(&schema["x509_cert_error"], na);
}

fn promtool() -> Option<PathBuf> {
    let candidates = ["/usr/bin/promtool", "/usr/local/bin/promtool"];
    let found = candidates.iter().map(PathBuf::from).find(|p| p.exists());
    if found.is_none() {
        if std::env::var("CERTVIGIL_REQUIRE_REAL").as_deref() == Ok("1") {
            panic!("promtool not found and CERTVIGIL_REQUIRE_REAL=1");
        }
        eprintln!("!!! SKIPPING promtool checks: promtool not found !!!");
    }
    found
}

fn promtool_check_text(promtool: &Path, text: &str) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.trim().is_empty() && stderr.trim().is_empty(),
        "promtool check metrics failed ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// Parse OpenMetrics with Prometheus' own OpenMetrics parser: the backfill
/// importer requires timestamps, so one is appended to every sample; the number
/// of series in the resulting TSDB block must equal the number of samples.
fn promtool_check_openmetrics(promtool: &Path, om: &str, expect_in_dump: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut stamped = String::new();
    for line in om.lines() {
        stamped.push_str(line);
        if !line.starts_with('#') {
            stamped.push_str(" 1800000000");
        }
        stamped.push('\n');
    }
    let input = dir.path().join("in.om");
    std::fs::write(&input, &stamped).expect("write");
    let out_dir = dir.path().join("data");
    let out = Command::new(promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(&out_dir)
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool openmetrics import failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // `tsdb dump` also opens the (here absent) WAL.
    std::fs::create_dir_all(out_dir.join("wal")).expect("mkdir wal");
    let dump = Command::new(promtool)
        .args(["tsdb", "dump"])
        .arg(&out_dir)
        .output()
        .expect("run promtool dump");
    assert!(
        dump.status.success(),
        "promtool tsdb dump failed: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dumped = String::from_utf8_lossy(&dump.stdout);
    let n = dumped.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(n, samples(om).len(), "series in TSDB vs samples:\n{dumped}");
    // Decoded values (printed Go-quoted by the dump) are the raw originals.
    for want in expect_in_dump {
        assert!(dumped.contains(want), "{want} not in dump:\n{dumped}");
    }
}

#[test]
fn content_types() {
    assert_eq!(
        CONTENT_TYPE_TEXT,
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(CONTENT_TYPE_OPENMETRICS.starts_with("application/openmetrics-text; version=1.0.0"));
}

#[test]
fn golden_full_snapshot() {
    let snap = snapshot();
    let cfg = cfg_all();
    let text = render(Some(&snap), &cfg, NOW, false);
    let om = render(Some(&snap), &cfg, NOW, true);
    check_golden("metrics.txt", &text);
    check_golden("metrics.openmetrics.txt", &om);

    structural_checks(&text);
    structural_checks(&om);
    assert!(om.ends_with("# EOF\n"));
    assert!(!text.contains("# EOF"));
    // Same samples in both formats.
    assert_eq!(samples(&text), samples(&om));

    // Collisions: the two dup.pem entries get distinct 8-hex discriminators.
    let dups: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("x509_cert_not_after{") && l.contains("dup.example.com"))
        .collect();
    assert_eq!(dups.len(), 2);
    let discs: BTreeSet<String> = dups
        .iter()
        .map(|l| {
            let d = l.split("discriminator=\"").nth(1).unwrap();
            d[..d.find('"').unwrap()].to_string()
        })
        .collect();
    assert_eq!(discs.len(), 2);
    assert!(discs
        .iter()
        .all(|d| d.len() == 8 && d.chars().all(|c| c.is_ascii_hexdigit())));
    assert!(text.contains("x509_cert_collision_total{source_kind=\"file\"} 1\n"));
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("x509_cert_not_after{") && l.contains("discriminator=\"\""))
            .count(),
        4
    );

    // Hostile values are escaped, never break a line.
    assert!(text.contains(r#"subject_L="new\nline""#));
    assert!(text.contains(r#"subject_O="\"quoted\" \\\" ""#));
    assert!(text.contains(r#"subject_ST="back\\slash""#));
    assert!(text.contains("subject_OU=\"<script>alert(1)</script>\""));
    assert!(text.contains(r#"filepath="/ssl/we\"ird\\dir/x\ny.pem""#));
    // Trimmed path, cluster, extra label union, dns cap.
    assert!(text.contains(r#"filepath="/ssl/web.pem""#));
    assert!(text.contains(r#"cluster="prod""#));
    assert!(text.contains(r#"secret_label_app="api""#));
    assert!(!text.contains("bad-label-name"));
    assert!(text.contains(",h9.example.com,…+2\""));
    // Error metric: 1 per failed object (merged), 0 per good certificate.
    let errs: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("x509_cert_error{") && l.ends_with(" 1"))
        .collect();
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs.iter().any(|l| l.contains(r#"filename="broken.pem""#)));
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("x509_cert_error{") && l.ends_with(" 0"))
            .count(),
        6
    );
    // Revoked / trusted presence rules.
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("x509_cert_revoked{"))
            .count(),
        2
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("x509_cert_trusted{"))
            .count(),
        5
    );
    // Self metrics.
    assert!(text.contains("x509_read_errors 3\n"));
    assert!(text.contains("x509_exporter_ready 1\n"));
    assert!(text.contains(
        "x509_source_errors_total{source_kind=\"kubernetes_secret\",source_name=\"cluster-secrets\",reason=\"source_unavailable\"} 2\n"
    ));
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("x509_source_errors_total{"))
            .count(),
        3 * Reason::ALL.len()
    );
    assert!(text.contains("# TYPE x509_source_errors_total counter\n"));
    assert!(om.contains("# TYPE x509_source_errors counter\n"));
    assert!(text.contains("# TYPE x509_cert_info gauge\n"));
    assert!(om.contains("# TYPE x509_cert info\n"));

    if let Some(p) = promtool() {
        promtool_check_text(&p, &text);
        promtool_check_openmetrics(&p, &om, HOSTILE_IN_DUMP);
    }
}

/// How Prometheus' TSDB dump (Go-quoted) shows the decoded hostile values.
const HOSTILE_IN_DUMP: &[&str] = &[
    r#"subject_L="new\nline""#,
    r#"subject_O="\"quoted\" \\\" ""#,
    "subject_CN=\"𝄞 mus\u{301}ic 😀 tab\\t\"",
    r#"subject_C="\u202eRF""#,
    r#"filepath="/ssl/we\"ird\\dir/x\ny.pem""#,
];

#[test]
fn golden_before_first_scan() {
    let cfg = cfg_default();
    let text = render(None, &cfg, NOW, false);
    let om = render(None, &cfg, NOW, true);
    check_golden("metrics_empty.txt", &text);
    check_golden("metrics_empty.openmetrics.txt", &om);
    assert!(text.contains("x509_read_errors 0\n"));
    assert!(text.contains("x509_exporter_ready 0\n"));
    assert!(!text.contains("x509_cert_"));
    if let Some(p) = promtool() {
        promtool_check_text(&p, &text);
        promtool_check_openmetrics(&p, &om, &[r#"__name__="x509_exporter_ready""#]);
    }
}

#[test]
fn default_switches_hide_opt_in_metrics() {
    let snap = snapshot();
    let mut cfg = cfg_default();
    let text = render(Some(&snap), &cfg, NOW, false);
    assert!(text.contains("x509_cert_not_before{"));
    assert!(text.contains("x509_cert_expired{"));
    assert!(!text.contains("x509_cert_expires_in_seconds"));
    assert!(!text.contains("x509_cert_valid_since_seconds"));
    assert!(!text.contains("x509_cert_error"));
    assert!(text.contains(r#"filepath="/etc/ssl/web.pem""#));
    assert!(text.contains(r#"cluster="""#));
    cfg.expose_not_before = false;
    cfg.expose_expired = false;
    let text = render(Some(&snap), &cfg, NOW, false);
    assert!(!text.contains("x509_cert_not_before"));
    assert!(!text.contains("x509_cert_expired"));
    structural_checks_min(&text);
}

fn structural_checks_min(expo: &str) {
    let s = samples(expo);
    let uniq: BTreeSet<&str> = s.iter().map(|(k, _)| *k).collect();
    assert_eq!(uniq.len(), s.len());
}

#[test]
fn relative_metrics_use_render_clock_and_skip_non_finite() {
    let snap = snapshot();
    let cfg = cfg_all();
    let text = render(Some(&snap), &cfg, NOW, false);
    let web_na = snap
        .certificates
        .iter()
        .find(|c| c.cert.subject.cn == "web.example.com")
        .unwrap()
        .cert
        .not_after;
    let line = text
        .lines()
        .find(|l| l.starts_with("x509_cert_expires_in_seconds{") && l.contains("web.example.com"))
        .unwrap();
    let v: f64 = line.rsplit_once(' ').unwrap().1.parse().unwrap();
    assert_eq!(v, web_na as f64 - NOW);
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let text = render(Some(&snap), &cfg, bad, false);
        assert!(!text.contains("x509_cert_expires_in_seconds{"));
        assert!(!text.contains("x509_cert_valid_since_seconds{"));
        assert!(text.contains("x509_cert_not_after{"));
        assert!(!text.to_ascii_lowercase().contains(" nan\n"));
        assert!(!text.contains("inf\n"));
    }
    // Non-finite scan numbers drop their series, nothing else.
    let mut s2 = snap.clone();
    s2.scan_duration_seconds = f64::NAN;
    s2.completed_at_unix = f64::INFINITY;
    let text = render(Some(&s2), &cfg, NOW, false);
    assert!(!text.contains("x509_scan_duration_seconds "));
    assert!(!text.contains("x509_scan_last_success_timestamp_seconds "));
    assert!(text.contains("x509_cert_not_after{"));
}

/// Series for `n` certificates with distinct labels.
fn big_snapshot(n: usize) -> Snapshot {
    let now = NOW as i64;
    let mut certs = Vec::with_capacity(n);
    for i in 0..n {
        let mut c = cert(
            &format!("{}", 1_000_000_000_000u64 + i as u64),
            dn(&format!("host-{i}.example.com"), "Example Org"),
            now + (i as i64) * 60,
            format!("der-{i}").as_bytes(),
        );
        c.dns_names = vec![
            format!("host-{i}.example.com"),
            format!("alt-{i}.example.com"),
        ];
        let mut e = entry(
            file_ref(&format!("/etc/ssl/certs/dir{}/cert-{i}.pem", i % 50)),
            0,
            c,
            now,
        );
        e.trust.status = TrustStatus::Trusted;
        certs.push(e);
    }
    let mut snap = Snapshot::empty(Utc.timestamp_opt(now, 0).single().unwrap_or_default());
    snap.certificates = certs;
    snap.sources = vec![status(SourceKind::File, "host-files", true, n, n)];
    snap.sort();
    snap
}

/// Render timing for 10,000 certificates; prints the numbers, asserts nothing
/// about time. `cargo test --release --test metrics_golden -- --ignored --nocapture`
#[test]
#[ignore]
fn render_10k_timing() {
    let snap = big_snapshot(10_000);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let c =
            certvigil::outputs::metrics::SnapshotCollector::build(Some(&snap), &cfg_default(), NOW);
        best = best.min(t.elapsed().as_secs_f64());
        assert!(c.size_hint() > 0);
    }
    eprintln!(
        "build collector (labels, collisions) 10k certs: best {:.1} ms",
        best * 1000.0
    );
    for (label, cfg) in [("default", cfg_default()), ("all switches", cfg_all())] {
        for om in [false, true] {
            let mut best = f64::MAX;
            let mut len = 0;
            for _ in 0..5 {
                let t = std::time::Instant::now();
                let out = render(Some(&snap), &cfg, NOW, om);
                best = best.min(t.elapsed().as_secs_f64());
                len = out.len();
            }
            eprintln!(
                "render 10k certs, {label}, {}: best {:.1} ms, {} bytes",
                if om { "openmetrics" } else { "text 0.0.4" },
                best * 1000.0,
                len
            );
        }
    }
}

#[test]
fn big_snapshot_has_no_collisions_and_all_series() {
    let snap = big_snapshot(500);
    let text = render(Some(&snap), &cfg_default(), NOW, false);
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("x509_cert_not_after{"))
            .count(),
        500
    );
    assert!(text.contains("x509_cert_collision_total{source_kind=\"file\"} 0\n"));
    structural_checks_min(&text);
}

/// Control characters other than line feed are legal, unescaped label value
/// content in both formats; they are kept verbatim (not in the golden files, to
/// keep those printable) and must still parse with Prometheus' parsers.
#[test]
fn control_characters_parse() {
    let mut snap = snapshot();
    let mut c = (*snap.certificates[0].cert).clone();
    std::sync::Arc::make_mut(&mut c.subject).cn =
        "cr\r nul\u{0} esc\u{1b}[31m bel\u{7} del\u{7f} ls\u{2028}".into();
    snap.certificates[0].cert = Arc::new(c);
    let cfg = cfg_all();
    let text = render(Some(&snap), &cfg, NOW, false);
    let om = render(Some(&snap), &cfg, NOW, true);
    structural_checks(&text);
    structural_checks(&om);
    assert_eq!(samples(&text), samples(&om));
    if let Some(p) = promtool() {
        promtool_check_text(&p, &text);
        promtool_check_openmetrics(
            &p,
            &om,
            &[r#"subject_CN="cr\r nul\x00 esc\x1b[31m bel\a del\x7f ls\u2028""#],
        );
    }
}
