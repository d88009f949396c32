//! Golden files of the compliance report (`outputs::report`) in JSON, Markdown and
//! CSV over a hand-built deterministic snapshot that triggers every finding id,
//! and a strict RFC 4180 reading of the CSV (one record per certificate).
//! Regenerate with `UPDATE_GOLDEN=1 cargo test --test report_golden` and review
//! the diff.

mod support_rfc4180;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use certvigil::config::ReportConfig;
use certvigil::inventory::Snapshot;
use certvigil::model::Finding;
use certvigil::model::{
    CertEntry, DistinguishedName, ErrorEntry, KeyAlgorithm, ParsedCert, Reason, Revocation,
    RevocationMethod, RevocationStatus, SourceKind, SourceRef, Trust, TrustReason, TrustStatus,
};
use certvigil::outputs::report::{self, FindingId, ReportFormat};
use chrono::{TimeZone, Utc};
use support_rfc4180::parse_rfc4180;

const DAY: i64 = 86_400;

fn ts(y: i32, m: u32, d: u32) -> i64 {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap().timestamp()
}

fn dn(cn: &str, o: &str) -> DistinguishedName {
    DistinguishedName {
        rendered: format!("CN={cn},O={o}"),
        o: o.into(),
        cn: cn.into(),
        ..Default::default()
    }
}

struct C {
    cn: &'static str,
    issuer: &'static str,
    nb: i64,
    na: i64,
    fp: char,
    alg: KeyAlgorithm,
    bits: u32,
    sig: &'static str,
    ca: bool,
    self_signed: bool,
    dns: &'static [&'static str],
    trust: TrustStatus,
    revoked: bool,
    kind: SourceKind,
    source: &'static str,
    location: &'static str,
}

fn base(cn: &'static str, nb: i64, na: i64, fp: char, location: &'static str) -> C {
    C {
        cn,
        issuer: "Example Issuing CA",
        nb,
        na,
        fp,
        alg: KeyAlgorithm::Ecdsa,
        bits: 256,
        sig: "ecdsa-with-SHA256",
        ca: false,
        self_signed: false,
        dns: &[],
        trust: TrustStatus::Trusted,
        revoked: false,
        kind: SourceKind::File,
        source: "host-files",
        location,
    }
}

fn entry(c: C, now: i64) -> CertEntry {
    let mut dns: Vec<String> = c.dns.iter().map(|s| s.to_string()).collect();
    if dns.is_empty() && !c.ca {
        dns.push(c.cn.to_string());
    }
    CertEntry {
        source: Arc::new(SourceRef::new(c.kind, c.source, c.location)),
        index_in_bundle: 0,
        cert: Arc::new(ParsedCert {
            subject: std::sync::Arc::new(dn(c.cn, "Example")),
            issuer: if c.self_signed {
                std::sync::Arc::new(dn(c.cn, "Example"))
            } else {
                std::sync::Arc::new(dn(c.issuer, "Example"))
            },
            serial_number: "4096".into(),
            serial_hex: "10:00".into(),
            not_before: c.nb,
            not_after: c.na,
            sha256_fingerprint: c.fp.to_string().repeat(64),
            dns_names: dns,
            ip_addresses: if c.cn == "web.example.com" {
                vec!["192.0.2.10".into()]
            } else {
                vec![]
            },
            key_algorithm: c.alg,
            key_bits: c.bits,
            signature_algorithm: c.sig.into(),
            is_ca: c.ca,
            self_signed: c.self_signed,
            der: Arc::from(Vec::new()),
        }),
        expired: now > c.na,
        trust: Trust {
            status: c.trust,
            reason: match c.trust {
                TrustStatus::Trusted | TrustStatus::Unknown => None,
                TrustStatus::Untrusted => Some(TrustReason::UntrustedRoot),
                TrustStatus::Incomplete => Some(TrustReason::UnknownIssuer),
                TrustStatus::SelfSigned => Some(TrustReason::SelfSigned),
            },
            detail: match c.trust {
                TrustStatus::Trusted => "chain verified to a trust anchor".into(),
                TrustStatus::Untrusted => "issuer not found among trust anchors".into(),
                TrustStatus::Incomplete => "intermediate missing: CN=Example Issuing CA".into(),
                TrustStatus::SelfSigned => "self-signed, not a trust anchor".into(),
                TrustStatus::Unknown => "chain verification not performed".into(),
            },
        },
        revocation: if c.revoked {
            Revocation {
                status: RevocationStatus::Revoked,
                method: Some(RevocationMethod::Crl),
                revoked_at: Some("2026-10-01T00:00:00Z".into()),
                reason: Some("keyCompromise".into()),
            }
        } else {
            Revocation {
                status: RevocationStatus::Good,
                method: Some(RevocationMethod::Crl),
                revoked_at: None,
                reason: None,
            }
        },
    }
}

/// Every finding id at least once, plus a clean certificate, a CA and an error.
pub fn snapshot() -> Snapshot {
    let now_t = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
    let now = now_t.timestamp();
    let mut s = Snapshot::empty(now_t);
    let certs = vec![
        base(
            "web.example.com",
            ts(2026, 9, 1),
            ts(2027, 3, 1),
            '1',
            "/etc/ssl/web.pem",
        ),
        C {
            dns: &["*.apps.example.com", "apps.example.com"],
            ..base(
                "apps.example.com",
                ts(2026, 11, 1),
                ts(2026, 12, 10),
                '2',
                "/etc/ssl/apps|wild.pem",
            )
        },
        base(
            "old.example.com",
            ts(2025, 12, 1),
            ts(2026, 11, 1),
            '3',
            "/etc/ssl/old.pem",
        ),
        base(
            "future.example.com",
            now + 5 * DAY,
            now + 90 * DAY,
            '4',
            "/etc/ssl/future.pem",
        ),
        C {
            revoked: true,
            kind: SourceKind::KubernetesSecret,
            source: "cluster-secrets",
            ..base(
                "revoked.example.com",
                ts(2026, 8, 1),
                ts(2027, 2, 1),
                '5',
                "prod/api-tls:tls.crt",
            )
        },
        C {
            trust: TrustStatus::Incomplete,
            ..base(
                "internal.example.com",
                ts(2026, 10, 1),
                ts(2027, 1, 15),
                '6',
                "/etc/ssl/internal.pem",
            )
        },
        C {
            self_signed: true,
            trust: TrustStatus::SelfSigned,
            alg: KeyAlgorithm::Rsa,
            bits: 1024,
            sig: "sha1WithRSAEncryption",
            ..base(
                "legacy \"device\", rack 4\nunit 2",
                ts(2024, 1, 1),
                ts(2029, 1, 1),
                '7',
                "/etc/ssl/legacy.pem",
            )
        },
        C {
            alg: KeyAlgorithm::Rsa,
            bits: 2048,
            sig: "md5WithRSAEncryption",
            trust: TrustStatus::Untrusted,
            ..base(
                "md5.example.com",
                ts(2026, 6, 1),
                ts(2027, 6, 1),
                '8',
                "/etc/ssl/md5.pem",
            )
        },
        C {
            ca: true,
            self_signed: true,
            alg: KeyAlgorithm::Rsa,
            bits: 4096,
            sig: "sha1WithRSAEncryption",
            ..base(
                "Example Root CA",
                ts(2016, 1, 1),
                ts(2036, 1, 1),
                '9',
                "/etc/ssl/root.pem",
            )
        },
        base(
            "exact398.example.com",
            now - DAY,
            now - DAY + 398 * DAY,
            'a',
            "/etc/ssl/exact398.pem",
        ),
        C {
            dns: &["www.example.com"],
            ..base(
                "portal.example.com",
                ts(2026, 9, 1),
                ts(2027, 3, 1),
                'b',
                "/etc/ssl/portal.pem",
            )
        },
        base(
            "*.co.uk",
            ts(2026, 9, 1),
            ts(2027, 3, 1),
            'c',
            "/etc/ssl/suffix.pem",
        ),
        base(
            "10.0.0.7",
            ts(2026, 9, 1),
            ts(2027, 3, 1),
            'd',
            "/etc/ssl/ipdns.pem",
        ),
    ];
    s.certificates = certs.into_iter().map(|c| entry(c, now)).collect();
    // A TLS endpoint serving a leaf that does not cover its server name.
    let mut served = entry(
        C {
            kind: SourceKind::TlsEndpoint,
            source: "web",
            ..base(
                "default.ingress.example.com",
                ts(2026, 10, 1),
                ts(2027, 1, 1),
                'b',
                "shop.example.com:443",
            )
        },
        now,
    );
    let mut sref = (*served.source).clone();
    sref.endpoint = Some(Arc::new(certvigil::model::Endpoint {
        address: "192.0.2.20:443".into(),
        server_name: "shop.example.com".into(),
        protocol: "https".into(),
        tls_version: "TLS 1.3".into(),
        cipher: "TLS13_AES_128_GCM_SHA256".into(),
        alpn: Some("h2".into()),
        hostname_match: false,
        ocsp_stapled: false,
        handshake_micros: 4200,
    }));
    served.source = Arc::new(sref);
    s.certificates.push(served);
    s.errors.push(ErrorEntry::new(
        SourceRef::new(SourceKind::File, "host-files", "/etc/ssl/broken.pem"),
        Reason::BadPem,
        "no valid PEM block",
    ));
    // Object findings raised by sources (no certificate row; one names a certificate).
    s.findings = vec![
        Finding::object(
            FindingId::IngressTlsSecretMissing,
            "",
            "prod/shop",
            "Ingress TLS block for shop.example.com names Secret \"shop-tls\", which does not exist",
        ),
        Finding::object(
            FindingId::PrivateKeyWorldReadable,
            "1111111111111111111111111111111111111111111111111111111111111111",
            "/etc/ssl/web.key",
            "private key readable by every user (mode 0644)",
        ),
    ];
    s.sort();
    s
}

fn cfg() -> ReportConfig {
    ReportConfig {
        warning_window: Duration::from_secs(28 * 86_400),
    }
}

fn golden(name: &str, out: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, out).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(
        out,
        want,
        "{} differs; review and run with UPDATE_GOLDEN=1",
        path.display()
    );
}

#[test]
fn json_report_matches_golden() {
    golden(
        "report.json",
        &report::render(&snapshot(), &cfg(), ReportFormat::Json),
    );
}

#[test]
fn markdown_report_matches_golden() {
    golden(
        "report.md",
        &report::render(&snapshot(), &cfg(), ReportFormat::Md),
    );
}

#[test]
fn csv_report_matches_golden() {
    golden(
        "report.csv",
        &report::render(&snapshot(), &cfg(), ReportFormat::Csv),
    );
}

#[test]
fn every_finding_id_is_exercised() {
    let snap = snapshot();
    let r = report::build(&snap, &cfg());
    // Object findings come from sources (their own tests); the fixture carries two
    // of them to exercise their rendering.
    for id in FindingId::ALL
        .into_iter()
        .filter(|i| !i.is_object_finding())
    {
        assert!(
            r.findings.iter().any(|f| f.id == id),
            "fixture lacks {}",
            id.as_str()
        );
    }
    // The CA (SHA-1 self-signature, 20 years) and the exact-398-days leaf are clean.
    let clean: Vec<&str> = snap
        .certificates
        .iter()
        .zip(&r.per_certificate)
        .filter(|(_, f)| f.is_empty())
        .map(|(e, _)| e.cert.subject.cn.as_str())
        .collect();
    assert_eq!(
        clean,
        ["web.example.com", "exact398.example.com", "Example Root CA"]
    );
}

#[test]
fn strict_parser_rejects_malformed_csv() {
    assert!(parse_rfc4180("a,b\r\n").is_ok());
    assert!(parse_rfc4180("a,b\n").is_err());
    assert!(parse_rfc4180("a,\"b\r\n").is_err());
    assert!(parse_rfc4180("a,b\"c\r\n").is_err());
    assert!(parse_rfc4180("a,\"b\"c\r\n").is_err());
    assert!(parse_rfc4180("a,b").is_err());
    assert_eq!(
        parse_rfc4180("\"x,\"\"y\"\"\r\nz\",2\r\n").unwrap(),
        [["x,\"y\"\r\nz", "2"]]
    );
}

#[test]
fn csv_report_is_rfc4180_one_row_per_certificate() {
    let snap = snapshot();
    let out = report::render(&snap, &cfg(), ReportFormat::Csv);
    let records = parse_rfc4180(&out).unwrap();
    assert_eq!(records.len(), 1 + snap.certificates.len());
    let header = &records[0];
    assert_eq!(header.len(), 30);
    assert_eq!(&header[27..], ["status", "days_left", "findings"]);
    for r in &records {
        assert_eq!(r.len(), header.len(), "{r:?}");
    }
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let r = report::build(&snap, &cfg());
    for (i, e) in snap.certificates.iter().enumerate() {
        let rec = &records[i + 1];
        assert_eq!(rec[col("sha256_fingerprint")], e.cert.sha256_fingerprint);
        assert_eq!(rec[col("location")], e.source.location);
        assert_eq!(rec[col("subject")], e.cert.subject.rendered);
        let ids: Vec<&str> = r.per_certificate[i].iter().map(|f| f.id.as_str()).collect();
        assert_eq!(rec[col("findings")], ids.join(";"));
    }
    let legacy = records
        .iter()
        .find(|r| r[col("subject_cn")].starts_with("legacy"))
        .unwrap();
    assert_eq!(
        legacy[col("subject_cn")],
        "legacy \"device\", rack 4\nunit 2"
    );
    assert_eq!(
        legacy[col("findings")],
        "self_signed_leaf;weak_rsa_key;weak_signature_sha1;long_validity"
    );
    assert_eq!(legacy[col("days_left")], "769");
    let old = records
        .iter()
        .find(|r| r[col("subject_cn")] == "old.example.com")
        .unwrap();
    assert_eq!(old[col("days_left")], "-23");
    assert_eq!(old[col("status")], "expired");
}
