//! The JSON inventory (INTERFACE.md, "JSON inventory"): `scan --format json`,
//! `report --format json` and `GET /api/v1/certificates`.
//!
//! Field order is part of the contract, so the document is serialized from borrowed
//! `#[derive(Serialize)]` structs whose fields are declared in contract order (a
//! `serde_json::Map` would sort keys: `preserve_order` is not enabled). Times are
//! RFC 3339 UTC with a `Z` suffix and second precision; Unix seconds outside the
//! representable range `0000-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z` are clamped.

use serde::Serialize;

use std::collections::BTreeMap;

use crate::inventory::Snapshot;
use crate::model::{CertEntry, ErrorEntry, Revocation, SourceRef, Trust};

use crate::model::time::{rfc3339, rfc3339_from_unix};

/// The whole inventory document, borrowing from a [`Snapshot`]. Serializes with the
/// contract's key order; other outputs (the compliance report) may embed it.
#[derive(Debug, Serialize)]
pub struct Inventory<'a> {
    pub generated_at: String,
    pub certificates: Vec<CertificateJson<'a>>,
    pub errors: Vec<ErrorJson<'a>>,
    /// Objects whose content is deliberately not read (Docker secrets in
    /// `metadata` mode); omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectJson<'a>>,
}

/// One `objects[]` element: an object known to exist, without certificates.
#[derive(Debug, Serialize)]
pub struct ObjectJson<'a> {
    pub source_kind: &'static str,
    pub source_name: &'a str,
    pub location: &'a str,
    pub labels: BTreeMap<&'a str, &'a str>,
}

/// Location labels beyond the compatible schema (e.g. `docker_name`,
/// `docker_id`, `docker_container`): shown in JSON as `labels`, omitted when none.
pub fn extra_labels(r: &SourceRef) -> BTreeMap<&str, &str> {
    r.labels
        .iter()
        .filter(|(k, _)| !crate::outputs::metrics::labels::LOCATION_LABELS.contains(&&**k))
        // The endpoint labels are the `endpoint` object's fields in JSON.
        .filter(|(k, _)| !(r.endpoint.is_some() && (k == "endpoint" || k.starts_with("endpoint_"))))
        .map(|(k, v)| (&**k, v.as_str()))
        .collect()
}

/// One `certificates[]` element, fields in contract order.
#[derive(Debug, Serialize)]
pub struct CertificateJson<'a> {
    pub source_kind: &'static str,
    pub source_name: &'a str,
    pub location: &'a str,
    pub index_in_bundle: usize,
    pub subject: &'a str,
    pub subject_cn: &'a str,
    pub issuer: &'a str,
    pub issuer_cn: &'a str,
    pub serial_number: &'a str,
    pub serial_hex: &'a str,
    pub not_before: String,
    pub not_after: String,
    pub sha256_fingerprint: &'a str,
    pub dns_names: &'a [String],
    pub ip_addresses: &'a [String],
    pub key_algorithm: &'static str,
    pub key_bits: u32,
    pub signature_algorithm: &'a str,
    pub is_ca: bool,
    pub self_signed: bool,
    pub expired: bool,
    /// `{status, detail}`.
    pub trust: &'a Trust,
    /// `{status, method, revoked_at, reason}`.
    pub revocation: &'a Revocation,
    /// `tls_endpoint` entries: the handshake facts (INTERFACE.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<&'a crate::model::Endpoint>,
    /// Extra location labels (see [`extra_labels`]); omitted when empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<&'a str, &'a str>,
}

/// One `errors[]` element, fields in contract order.
#[derive(Debug, Serialize)]
pub struct ErrorJson<'a> {
    pub source_kind: &'static str,
    pub source_name: &'a str,
    pub location: &'a str,
    pub reason: &'static str,
    pub message: &'a str,
}

impl<'a> CertificateJson<'a> {
    pub fn from_entry(e: &'a CertEntry) -> Self {
        let c = &*e.cert;
        CertificateJson {
            source_kind: e.source.kind.as_str(),
            source_name: &e.source.name,
            location: &e.source.location,
            index_in_bundle: e.index_in_bundle,
            subject: &c.subject.rendered,
            subject_cn: &c.subject.cn,
            issuer: &c.issuer.rendered,
            issuer_cn: &c.issuer.cn,
            serial_number: &c.serial_number,
            serial_hex: &c.serial_hex,
            not_before: rfc3339_from_unix(c.not_before),
            not_after: rfc3339_from_unix(c.not_after),
            sha256_fingerprint: &c.sha256_fingerprint,
            dns_names: &c.dns_names,
            ip_addresses: &c.ip_addresses,
            key_algorithm: c.key_algorithm.as_str(),
            key_bits: c.key_bits,
            signature_algorithm: &c.signature_algorithm,
            is_ca: c.is_ca,
            self_signed: c.self_signed,
            expired: e.expired,
            trust: &e.trust,
            revocation: &e.revocation,
            endpoint: e.source.endpoint.as_deref(),
            labels: extra_labels(&e.source),
        }
    }
}

impl<'a> ErrorJson<'a> {
    pub fn from_entry(e: &'a ErrorEntry) -> Self {
        ErrorJson {
            source_kind: e.source.kind.as_str(),
            source_name: &e.source.name,
            location: &e.source.location,
            reason: e.reason.as_str(),
            message: &e.message,
        }
    }
}

/// The serializable inventory of a snapshot (key order preserved when serialized).
pub fn inventory(snap: &Snapshot) -> Inventory<'_> {
    Inventory {
        generated_at: rfc3339(&snap.generated_at),
        certificates: snap
            .certificates
            .iter()
            .map(CertificateJson::from_entry)
            .collect(),
        errors: snap.errors.iter().map(ErrorJson::from_entry).collect(),
        objects: snap
            .metadata
            .iter()
            .map(|m| ObjectJson {
                source_kind: m.kind.as_str(),
                source_name: &m.name,
                location: &m.location,
                labels: extra_labels(m),
            })
            .collect(),
    }
}

/// The inventory as a `serde_json::Value`. Note: `serde_json` is built without
/// `preserve_order`, so serializing this value sorts object keys alphabetically;
/// use [`inventory`] or [`render`] when the contract's key order matters.
pub fn inventory_value(snap: &Snapshot) -> serde_json::Value {
    serde_json::to_value(inventory(snap)).unwrap_or(serde_json::Value::Null)
}

/// The inventory as pretty-printed JSON (contract key order), with a trailing newline.
pub fn render(snap: &Snapshot) -> String {
    // Serializing borrowed strings, integers and booleans into a String cannot fail.
    match serde_json::to_string_pretty(&inventory(snap)) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::{
        DistinguishedName, KeyAlgorithm, ParsedCert, Reason, RevocationMethod, RevocationStatus,
        SourceKind, SourceRef, TrustStatus,
    };

    fn dn(cn: &str, o: &str) -> DistinguishedName {
        DistinguishedName {
            rendered: format!("CN={cn},O={o}"),
            o: o.to_string(),
            cn: cn.to_string(),
            ..Default::default()
        }
    }

    fn cert(cn: &str, not_after: i64) -> ParsedCert {
        ParsedCert {
            subject: std::sync::Arc::new(dn(cn, "Example")),
            issuer: std::sync::Arc::new(dn("Example Issuing CA", "Example")),
            serial_number: "1234567890".into(),
            serial_hex: "49:96:02:d2".into(),
            not_before: 1_767_225_600, // 2026-01-01
            not_after,
            sha256_fingerprint: "ab".repeat(32),
            dns_names: vec![cn.to_string()],
            ip_addresses: vec![],
            key_algorithm: KeyAlgorithm::Rsa,
            key_bits: 2048,
            signature_algorithm: "sha256WithRSAEncryption".into(),
            is_ca: false,
            self_signed: false,
            der: Arc::from(Vec::new()),
        }
    }

    fn snapshot() -> Snapshot {
        let src = Arc::new(
            SourceRef::new(SourceKind::File, "host-files", "/etc/ssl/private/web.pem")
                .with_label("filename", "web.pem")
                .with_label("filepath", "/etc/ssl/private/web.pem"),
        );
        let mut snap = Snapshot::empty(Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap());
        snap.certificates.push(CertEntry {
            source: src.clone(),
            index_in_bundle: 0,
            cert: Arc::new(cert("web.example.com", 1_798_761_600)), // 2027-01-01
            expired: false,
            trust: Trust {
                status: TrustStatus::Trusted,
                reason: None,
                detail: "chain verified to a trust anchor".into(),
            },
            revocation: Revocation::default(),
        });
        snap.certificates.push(CertEntry {
            source: src,
            index_in_bundle: 1,
            cert: Arc::new(cert("old.example.com", 1_700_000_000)),
            expired: true,
            trust: Trust::default(),
            revocation: Revocation {
                status: RevocationStatus::Revoked,
                method: Some(RevocationMethod::Crl),
                revoked_at: Some("2026-06-01T00:00:00Z".into()),
                reason: Some("keyCompromise".into()),
            },
        });
        snap.errors.push(ErrorEntry::new(
            SourceRef::new(SourceKind::File, "host-files", "/etc/ssl/broken.pem"),
            Reason::BadPem,
            "no valid PEM block",
        ));
        snap.sort();
        snap
    }

    /// The keys of a JSON object in document order, read from the rendered text.
    fn top_level_keys_in_order(json: &str, object_start: &str) -> Vec<String> {
        // Pretty output: keys of the object at a given indentation are on lines
        // starting with exactly that indentation followed by a quote.
        let start = json.find(object_start).expect("object present");
        let body = &json[start..];
        let indent = "      \""; // certificate fields are at depth 3 (6 spaces)
        body.lines()
            .skip(1)
            .take_while(|l| !l.starts_with("    }"))
            .filter(|l| l.starts_with(indent))
            .map(|l| l.trim_start().split('"').nth(1).unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn certificate_keys_are_in_contract_order() {
        let out = render(&snapshot());
        let keys = top_level_keys_in_order(&out, "  \"certificates\": [");
        assert_eq!(
            keys,
            [
                "source_kind",
                "source_name",
                "location",
                "index_in_bundle",
                "subject",
                "subject_cn",
                "issuer",
                "issuer_cn",
                "serial_number",
                "serial_hex",
                "not_before",
                "not_after",
                "sha256_fingerprint",
                "dns_names",
                "ip_addresses",
                "key_algorithm",
                "key_bits",
                "signature_algorithm",
                "is_ca",
                "self_signed",
                "expired",
                "trust",
                "revocation",
            ]
        );
        // Top level order and nested orders.
        let g = out.find("\"generated_at\"").unwrap();
        let c = out.find("\"certificates\"").unwrap();
        let e = out.find("\"errors\"").unwrap();
        assert!(g < c && c < e);
        let compact = serde_json::to_string(&inventory(&snapshot())).unwrap();
        assert!(compact.contains(
            r#""trust":{"status":"trusted","reason":null,"detail":"chain verified to a trust anchor"}"#
        ));
        assert!(compact.contains(
            r#""revocation":{"status":"not_checked","method":null,"revoked_at":null,"reason":null}"#
        ));
        assert!(compact.contains(
            r#""revocation":{"status":"revoked","method":"crl","revoked_at":"2026-06-01T00:00:00Z","reason":"keyCompromise"}"#
        ));
        assert!(compact.contains(
            r#""errors":[{"source_kind":"file","source_name":"host-files","location":"/etc/ssl/broken.pem","reason":"bad_pem","message":"no valid PEM block"}]"#
        ));
        assert!(compact.starts_with(r#"{"generated_at":"2026-11-23T10:00:00Z","#));
    }

    #[test]
    fn values_have_contract_formats() {
        let v = inventory_value(&snapshot());
        let c0 = &v["certificates"][1];
        assert_eq!(c0["not_before"], "2026-01-01T00:00:00Z");
        assert_eq!(c0["not_after"], "2027-01-01T00:00:00Z");
        assert_eq!(c0["key_algorithm"], "rsa");
        assert_eq!(c0["key_bits"], 2048);
        assert_eq!(c0["ip_addresses"], serde_json::json!([]));
        assert_eq!(c0["index_in_bundle"], 0);
        assert_eq!(v["certificates"][0]["expired"], true);
        assert_eq!(v["errors"][0]["reason"], "bad_pem");
    }

    #[test]
    fn out_of_range_times_are_clamped() {
        // The formatter itself is tested in model::time; here: the document uses it.
        let mut snap = snapshot();
        let mut c = cert("x", i64::MAX);
        c.not_before = i64::MIN;
        snap.certificates[0].cert = Arc::new(c);
        let v: serde_json::Value = serde_json::from_str(&render(&snap)).unwrap();
        assert_eq!(v["certificates"][0]["not_after"], "9999-12-31T23:59:59Z");
        assert_eq!(v["certificates"][0]["not_before"], "0000-01-01T00:00:00Z");
    }

    #[test]
    fn hostile_strings_stay_valid_json() {
        let hostile = "\"},{\"evil\":1,\n\t\\\u{0}\u{1f}\u{7f}\u{2028}<script>alert(1)</script>é🙂";
        let mut snap = snapshot();
        let mut c = cert(hostile, 1_798_761_600);
        std::sync::Arc::make_mut(&mut c.subject).rendered = format!("CN={hostile}");
        std::sync::Arc::make_mut(&mut c.issuer).rendered = hostile.to_string();
        c.dns_names = vec![hostile.to_string(), String::new()];
        snap.certificates[0].cert = Arc::new(c);
        snap.certificates[0].trust.detail = hostile.to_string().into();
        snap.errors[0].message = hostile.to_string();
        let out = render(&snap);
        let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
        assert_eq!(v["certificates"][0]["subject_cn"], hostile);
        assert_eq!(v["certificates"][0]["subject"], format!("CN={hostile}"));
        assert_eq!(v["certificates"][0]["dns_names"][0], hostile);
        assert_eq!(v["certificates"][0]["trust"]["detail"], hostile);
        assert_eq!(v["errors"][0]["message"], hostile);
        assert!(v.get("evil").is_none());
        assert_eq!(v["certificates"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn empty_snapshot_renders() {
        let snap = Snapshot::empty(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap());
        let v: serde_json::Value = serde_json::from_str(&render(&snap)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"generated_at": "2026-01-02T03:04:05Z", "certificates": [], "errors": []})
        );
    }

    #[test]
    fn golden_inventory() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/inventory.json");
        let out = render(&snapshot());
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &out).unwrap();
        }
        let want = std::fs::read_to_string(&path)
            .expect("tests/golden/inventory.json missing; run with UPDATE_GOLDEN=1");
        assert_eq!(
            out, want,
            "golden mismatch; review and run with UPDATE_GOLDEN=1"
        );
    }
}
