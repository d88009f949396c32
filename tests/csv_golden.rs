//! Golden test of `scan --format csv` (`outputs::csv::render`) over a hand-built
//! snapshot with awkward values (commas, quotes, newlines, formula-looking text,
//! non-ASCII). Regenerate with `UPDATE_GOLDEN=1 cargo test --test csv_golden` and
//! review the diff.

use std::sync::Arc;

use certvigil::inventory::Snapshot;
use certvigil::model::{
    CertEntry, DistinguishedName, KeyAlgorithm, ParsedCert, Revocation, RevocationMethod,
    RevocationStatus, SourceKind, SourceRef, Trust, TrustReason, TrustStatus,
};
use certvigil::outputs::csv;
use chrono::{TimeZone, Utc};

fn dn(rendered: &str, cn: &str) -> DistinguishedName {
    DistinguishedName {
        rendered: rendered.to_string(),
        cn: cn.to_string(),
        ..Default::default()
    }
}

fn snapshot() -> Snapshot {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
    let mut s = Snapshot::empty(now);
    let web = ParsedCert {
        subject: std::sync::Arc::new(dn(
            "CN=web.example.com,O=Example\\, Inc.",
            "web.example.com",
        )),
        issuer: std::sync::Arc::new(dn("CN=Example Issuing CA,O=Example", "Example Issuing CA")),
        serial_number: "1234567890".into(),
        serial_hex: "49:96:02:d2".into(),
        not_before: Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .unwrap()
            .timestamp(),
        not_after: Utc
            .with_ymd_and_hms(2027, 1, 1, 0, 0, 0)
            .unwrap()
            .timestamp(),
        sha256_fingerprint: "ab".repeat(32),
        dns_names: vec!["web.example.com".into(), "www.example.com".into()],
        ip_addresses: vec!["192.0.2.1".into(), "2001:db8::1".into()],
        key_algorithm: KeyAlgorithm::Rsa,
        key_bits: 2048,
        signature_algorithm: "sha256WithRSAEncryption".into(),
        is_ca: false,
        self_signed: false,
        der: Arc::from(Vec::new()),
    };
    let hostile = ParsedCert {
        subject: std::sync::Arc::new(dn(
            "CN=\"quoted\" line\nbreak =cmd|' /C calc'!A0 ✓",
            "\"quoted\" line\nbreak =cmd|' /C calc'!A0 ✓",
        )),
        issuer: std::sync::Arc::new(dn("CN=-2+3", "-2+3")),
        serial_number: "1".into(),
        serial_hex: "01".into(),
        not_before: Utc
            .with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
            .unwrap()
            .timestamp(),
        not_after: Utc
            .with_ymd_and_hms(2021, 1, 1, 0, 0, 0)
            .unwrap()
            .timestamp(),
        sha256_fingerprint: "cd".repeat(32),
        dns_names: vec![],
        ip_addresses: vec![],
        key_algorithm: KeyAlgorithm::Ecdsa,
        key_bits: 256,
        signature_algorithm: "ecdsa-with-SHA256".into(),
        is_ca: true,
        self_signed: true,
        der: Arc::from(Vec::new()),
    };
    s.certificates = vec![
        CertEntry {
            source: Arc::new(SourceRef::new(
                SourceKind::File,
                "host-files",
                "/etc/ssl/a,b.pem",
            )),
            index_in_bundle: 1,
            cert: Arc::new(hostile),
            expired: true,
            trust: Trust {
                status: TrustStatus::SelfSigned,
                reason: Some(TrustReason::SelfSigned),
                detail: "self-signed, not a trust anchor".into(),
            },
            revocation: Revocation {
                status: RevocationStatus::Revoked,
                method: Some(RevocationMethod::Crl),
                revoked_at: Some("2020-06-01T00:00:00Z".into()),
                reason: Some("keyCompromise".into()),
            },
        },
        CertEntry {
            source: Arc::new(SourceRef::new(
                SourceKind::File,
                "host-files",
                "/etc/ssl/private/web.pem",
            )),
            index_in_bundle: 0,
            cert: Arc::new(web),
            expired: false,
            trust: Trust::default(),
            revocation: Revocation::default(),
        },
    ];
    s
}

#[test]
fn csv_matches_golden() {
    let out = csv::render(&snapshot());
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/inventory.csv");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &out).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(out, want, "CSV differs from {}", path.display());
}

#[test]
fn csv_is_rfc4180() {
    let out = csv::render(&snapshot());
    // Every record ends with CRLF; a bare LF only appears inside a quoted field.
    assert!(out.ends_with("\r\n"));
    let header = out.split("\r\n").next().unwrap();
    assert_eq!(header.split(',').count(), 27);
    assert!(header.starts_with("source_kind,source_name,location,index_in_bundle,subject,"));
    assert!(header.ends_with(
        "trust_status,trust_detail,revocation_status,revocation_method,revocation_revoked_at,revocation_reason"
    ));
    // A minimal RFC 4180 reader: every record has 27 fields.
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = out.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && cur.is_empty() {
            quoted = true;
        } else if c == ',' {
            fields.push(std::mem::take(&mut cur));
        } else if c == '\r' && chars.peek() == Some(&'\n') {
            chars.next();
            fields.push(std::mem::take(&mut cur));
            records.push(std::mem::take(&mut fields));
        } else {
            assert_ne!(c, '\n', "bare LF outside quotes");
            cur.push(c);
        }
    }
    assert_eq!(records.len(), 3);
    for r in &records {
        assert_eq!(r.len(), 27, "{r:?}");
    }
    assert_eq!(records[1][2], "/etc/ssl/a,b.pem");
    assert_eq!(
        records[1][4],
        "CN=\"quoted\" line\nbreak =cmd|' /C calc'!A0 ✓"
    );
    assert_eq!(records[1][7], "-2+3");
    assert_eq!(records[1][24], "crl");
    assert_eq!(records[2][13], "web.example.com;www.example.com");
    assert_eq!(records[2][14], "192.0.2.1;2001:db8::1");
    assert_eq!(records[2][11], "2027-01-01T00:00:00Z");
    assert_eq!(records[2][24], "");
}
