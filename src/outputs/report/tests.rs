//! Unit tests of the report builder and renderers (golden files are in
//! `tests/report_golden.rs`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};

use super::*;
use crate::model::{
    DistinguishedName, ErrorEntry, KeyAlgorithm, ParsedCert, Reason, Revocation, SourceRef, Trust,
};

const DAY: i64 = 86_400;

fn cfg() -> ReportConfig {
    ReportConfig {
        warning_window: Duration::from_secs(28 * 86_400),
    }
}

fn cert(cn: &str, issuer: &str, not_before: i64, not_after: i64) -> ParsedCert {
    ParsedCert {
        subject: std::sync::Arc::new(DistinguishedName {
            rendered: format!("CN={cn}"),
            cn: cn.into(),
            ..Default::default()
        }),
        issuer: std::sync::Arc::new(DistinguishedName {
            rendered: format!("CN={issuer}"),
            cn: issuer.into(),
            ..Default::default()
        }),
        serial_number: "1".into(),
        serial_hex: "01".into(),
        not_before,
        not_after,
        sha256_fingerprint: "ab".repeat(32),
        dns_names: vec![cn.into()],
        ip_addresses: vec![],
        key_algorithm: KeyAlgorithm::Ecdsa,
        key_bits: 256,
        signature_algorithm: "ecdsa-with-SHA256".into(),
        is_ca: false,
        self_signed: false,
        der: Arc::from(Vec::new()),
    }
}

fn snap_with(certs: Vec<ParsedCert>) -> Snapshot {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
    let mut s = Snapshot::empty(now);
    for (i, c) in certs.into_iter().enumerate() {
        s.certificates.push(CertEntry {
            source: Arc::new(SourceRef::new(
                SourceKind::File,
                "files",
                format!("/c/{i}.pem"),
            )),
            index_in_bundle: 0,
            expired: expiry::is_expired(c.not_after, now.timestamp()),
            cert: Arc::new(c),
            trust: Trust {
                status: TrustStatus::Trusted,
                reason: None,
                detail: "ok".into(),
            },
            revocation: Revocation::default(),
        });
    }
    s.errors.push(ErrorEntry::new(
        SourceRef::new(SourceKind::File, "files", "/c/bad.pem"),
        Reason::BadPem,
        "no PEM",
    ));
    s.sort();
    s
}

fn hostile() -> &'static str {
    "<script>alert(1)</script>\"'&|x\n# heading [l](javascript:alert(1)) `c` *b*"
}

#[test]
fn json_embeds_inventory_then_summary_and_findings() {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
        .unwrap()
        .timestamp();
    let s = snap_with(vec![
        cert("a", "CA1", now - DAY, now + 5 * DAY),
        cert("b", "CA1", now - 10 * DAY, now - DAY),
        cert("*.c.test", "CA2", now - DAY, now + 100 * DAY),
    ]);
    let out = render(&s, &cfg(), ReportFormat::Json);
    let g = out.find("\"generated_at\"").unwrap();
    let c = out.find("\"certificates\"").unwrap();
    let e = out.find("\"errors\"").unwrap();
    let su = out.find("\"summary\"").unwrap();
    let f = out.rfind("\"findings\"").unwrap();
    assert!(g < c && c < e && e < su && su < f, "{out}");
    // The inventory part is byte-identical to the inventory document's content.
    let inv = crate::outputs::json::render(&s);
    let inv_body = inv.trim_end().trim_end_matches('}').trim_end();
    assert!(out.starts_with(inv_body), "inventory prefix differs");

    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["certificates"], 3);
    assert_eq!(v["summary"]["errors"], 1);
    assert_eq!(v["summary"]["warning_window_days"], 28);
    assert_eq!(v["summary"]["by_status"]["expired"], 1);
    assert_eq!(v["summary"]["by_status"]["expiring_soon"], 1);
    assert_eq!(v["summary"]["by_status"]["valid"], 1);
    assert_eq!(v["summary"]["by_status"]["not_yet_valid"], 0);
    assert_eq!(v["summary"]["by_trust"]["trusted"], 3);
    assert_eq!(v["summary"]["by_revocation"]["not_checked"], 3);
    assert_eq!(v["summary"]["by_severity"]["critical"], 1);
    assert_eq!(v["summary"]["by_severity"]["warning"], 1);
    assert_eq!(v["summary"]["by_severity"]["info"], 1);
    assert_eq!(v["summary"]["by_finding"]["wildcard"], 1);
    assert_eq!(v["summary"]["by_finding"]["weak_rsa_key"], 0);
    assert_eq!(
        v["summary"]["by_issuer"],
        serde_json::json!([
            {"issuer": "CN=CA1", "issuer_cn": "CA1", "certificates": 2},
            {"issuer": "CN=CA2", "issuer_cn": "CA2", "certificates": 1}
        ])
    );
    assert_eq!(
        v["summary"]["by_source"],
        serde_json::json!([{"source_kind": "file", "source_name": "files", "certificates": 3, "errors": 1}])
    );
    let findings = v["findings"].as_array().unwrap();
    let ids: Vec<&str> = findings.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["expired", "expiring_soon", "wildcard"]);
    for f in findings {
        let keys: Vec<&String> = f.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 5);
        assert_eq!(f["location"].as_str().unwrap().len(), "/c/0.pem".len());
        assert_eq!(f["sha256_fingerprint"], "ab".repeat(32));
    }
    let compact = serde_json::to_string(&build(&s, &cfg())).unwrap();
    assert!(compact.contains(r#"{"id":"wildcard","severity":"info","sha256_fingerprint":"#));
}

#[test]
fn warning_window_comes_from_config() {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
        .unwrap()
        .timestamp();
    let s = snap_with(vec![cert("a", "CA", now - DAY, now + 20 * DAY)]);
    let short = ReportConfig {
        warning_window: Duration::from_secs(14 * 86_400),
    };
    assert!(build(&s, &short).findings.is_empty());
    assert_eq!(build(&s, &cfg()).findings[0].id, FindingId::ExpiringSoon);
}

#[test]
fn every_format_shows_the_same_ids() {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
        .unwrap()
        .timestamp();
    let mut weak = cert("weak", "CA", now - 1000 * DAY, now + 10 * DAY);
    weak.key_algorithm = KeyAlgorithm::Rsa;
    weak.key_bits = 1024;
    weak.signature_algorithm = "sha1WithRSAEncryption".into();
    weak.self_signed = true;
    let s = snap_with(vec![
        weak,
        cert("*.w.test", "CA", now - DAY, now + 90 * DAY),
    ]);
    let r = build(&s, &cfg());
    let ids: Vec<&str> = r.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "expiring_soon",
            "self_signed_leaf",
            "weak_rsa_key",
            "weak_signature_sha1",
            "long_validity",
            "wildcard"
        ]
    );
    for fmt in [ReportFormat::Html, ReportFormat::Md, ReportFormat::Csv] {
        let out = render(&s, &cfg(), fmt);
        for id in &ids {
            assert!(out.contains(id), "{fmt:?} lacks {id}");
        }
    }
    let csv = render(&s, &cfg(), ReportFormat::Csv);
    assert!(csv.contains(
        ",expiring_soon,10,expiring_soon;self_signed_leaf;weak_rsa_key;weak_signature_sha1;long_validity\r\n"
    ), "{csv}");
}

#[test]
fn hostile_values_are_escaped_in_html_and_markdown() {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 23, 10, 0, 0)
        .unwrap()
        .timestamp();
    let mut c = cert(hostile(), hostile(), now - DAY, now - 1);
    c.dns_names = vec![hostile().into()];
    c.signature_algorithm = hostile().into();
    let mut s = snap_with(vec![c]);
    s.certificates[0].trust.detail = hostile().into();
    s.certificates[0].trust.status = TrustStatus::Untrusted;
    s.errors[0].message = hostile().into();
    let html = render(&s, &cfg(), ReportFormat::Html);
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("javascript:alert(1)\""));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;|x"));
    assert_eq!(html.matches("<tr class=").count(), 1);
    // No external resources: nothing is fetched when the file is opened.
    for needle in [
        "<link", "<script", "<img", "src=", "href=", "@import", "url(",
    ] {
        assert!(!html.contains(needle), "HTML contains {needle}");
    }
    let md = render(&s, &cfg(), ReportFormat::Md);
    // Every '<', '[' and '|' coming from the hostile value is backslash-escaped.
    for (i, ch) in md.char_indices() {
        if ch == '<' || ch == '[' {
            assert_eq!(&md[i - 1..i], "\\", "unescaped {ch} at {i}: {md}");
        }
    }
    assert!(md.contains("\\[l\\](javascript:alert(1))"), "{md}");
    // Every table row of the certificates table keeps its column count.
    let section = md.split("## Certificates").nth(1).unwrap();
    let table: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(table.len(), 3, "{section}");
    let cols = |l: &str| l.replace("\\|", "").matches('|').count();
    assert_eq!(cols(table[0]), cols(table[2]), "{}", table[2]);
    // The heading-looking text stays inside its cell (no line starts with '#' but ours).
    for l in md.lines().filter(|l| l.starts_with('#')) {
        assert!(
            l.starts_with("# Certificate") || l.starts_with("## "),
            "{l}"
        );
    }
}

#[test]
fn formats_parse_and_content_types() {
    assert_eq!(ReportFormat::parse("html"), Some(ReportFormat::Html));
    assert_eq!(ReportFormat::parse("markdown"), Some(ReportFormat::Md));
    assert_eq!(ReportFormat::parse("HTML"), None);
    assert_eq!(ReportFormat::parse("pdf"), None);
    assert!(ReportFormat::Csv.content_type().starts_with("text/csv"));
    assert!(ReportFormat::Md.content_type().starts_with("text/markdown"));
}

#[test]
fn empty_snapshot_renders_everywhere() {
    let s = Snapshot::empty(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
    for fmt in [
        ReportFormat::Html,
        ReportFormat::Md,
        ReportFormat::Csv,
        ReportFormat::Json,
    ] {
        assert!(!render(&s, &cfg(), fmt).is_empty());
    }
    let v: serde_json::Value =
        serde_json::from_str(&render(&s, &cfg(), ReportFormat::Json)).unwrap();
    assert_eq!(v["findings"], serde_json::json!([]));
    assert_eq!(v["summary"]["by_source"], serde_json::json!([]));
}
