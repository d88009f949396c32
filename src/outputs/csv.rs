//! The `scan --format csv` output: one header row and one row per certificate,
//! with the JSON inventory's field names (nested objects flattened:
//! `trust_status`, `trust_detail`, `revocation_status`, `revocation_method`,
//! `revocation_revoked_at`, `revocation_reason`; with TLS endpoints in the
//! inventory also `endpoint_address`, ..., `endpoint_handshake_seconds`).
//!
//! Format decisions:
//!
//! * RFC 4180: records end with CRLF (also the last one); a field is quoted when it
//!   contains `,`, `"`, CR or LF (or starts/ends with a space, which some readers
//!   trim), and quotes inside are doubled. UTF-8 without BOM.
//! * Lists (`dns_names`, `ip_addresses`) are joined with `;`.
//! * `null` JSON values (no revocation method, no revocation time) are empty fields;
//!   booleans are `true`/`false`; times are RFC 3339 UTC with `Z`, second precision.
//! * Errors are not rows (they have different fields); `scan` prints them on stderr.
//! * CSV/formula injection: values are exported **verbatim**, including ones that
//!   start with `=`, `+`, `-`, `@`. Rewriting them (the OWASP `'` prefix) would
//!   corrupt the data for every program that reads the CSV as data, and RFC 4180
//!   faithfulness is the contract. Subjects, DNS names and paths come from
//!   certificates and file systems that may be hostile: open this CSV in a
//!   spreadsheet with formula evaluation disabled, or import it as text.

use chrono::DateTime;

use crate::inventory::Snapshot;
use crate::model::CertEntry;

/// Column names, in order.
pub const HEADER: [&str; 27] = [
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
    "trust_status",
    "trust_detail",
    "revocation_status",
    "revocation_method",
    "revocation_revoked_at",
    "revocation_reason",
];

/// RFC 3339 UTC, second precision, `Z` suffix (empty when out of range).
fn rfc3339(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// One certificate's fields, in [`HEADER`] order (unquoted).
pub fn row(e: &CertEntry) -> [String; 27] {
    let c = &e.cert;
    [
        e.source.kind.as_str().to_string(),
        e.source.name.clone(),
        e.source.location.clone(),
        e.index_in_bundle.to_string(),
        c.subject.rendered.clone(),
        c.subject.cn.clone(),
        c.issuer.rendered.clone(),
        c.issuer.cn.clone(),
        c.serial_number.clone(),
        c.serial_hex.clone(),
        rfc3339(c.not_before),
        rfc3339(c.not_after),
        c.sha256_fingerprint.clone(),
        c.dns_names.join(";"),
        c.ip_addresses.join(";"),
        c.key_algorithm.as_str().to_string(),
        c.key_bits.to_string(),
        c.signature_algorithm.clone(),
        c.is_ca.to_string(),
        c.self_signed.to_string(),
        e.expired.to_string(),
        e.trust.status.as_str().to_string(),
        e.trust.detail.to_string(),
        e.revocation.status.as_str().to_string(),
        e.revocation
            .method
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
        e.revocation.revoked_at.clone().unwrap_or_default(),
        e.revocation.reason.clone().unwrap_or_default(),
    ]
}

/// Quote one field per RFC 4180 when needed.
pub fn field(v: &str) -> String {
    let needs = v.contains([',', '"', '\r', '\n']) || v.starts_with(' ') || v.ends_with(' ');
    if needs {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// Append one RFC 4180 record (fields quoted as needed, CRLF terminated).
pub fn push_record<'a>(out: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&field(f));
    }
    out.push_str("\r\n");
}

/// Columns of the flattened `endpoint` object, appended to [`HEADER`] only
/// when the inventory holds `tls_endpoint` certificates (so inventories
/// without endpoints keep their exact columns).
pub const ENDPOINT_HEADER: [&str; 9] = [
    "endpoint_address",
    "endpoint_server_name",
    "endpoint_protocol",
    "endpoint_tls_version",
    "endpoint_cipher",
    "endpoint_alpn",
    "endpoint_hostname_match",
    "endpoint_ocsp_stapled",
    "endpoint_handshake_seconds",
];

/// The endpoint columns of one certificate (empty fields without an endpoint).
pub fn endpoint_row(e: &CertEntry) -> [String; 9] {
    match &e.source.endpoint {
        Some(ep) => [
            ep.address.clone(),
            ep.server_name.clone(),
            ep.protocol.clone(),
            ep.tls_version.clone(),
            ep.cipher.clone(),
            ep.alpn.clone().unwrap_or_default(),
            ep.hostname_match.to_string(),
            ep.ocsp_stapled.to_string(),
            format!("{}", ep.handshake_seconds()),
        ],
        None => Default::default(),
    }
}

/// The inventory as CSV (snapshot order).
pub fn render(snap: &Snapshot) -> String {
    let mut out = String::new();
    let endpoints = snap
        .certificates
        .iter()
        .any(|e| e.source.endpoint.is_some());
    if endpoints {
        push_record(&mut out, HEADER.into_iter().chain(ENDPOINT_HEADER));
    } else {
        push_record(&mut out, HEADER);
    }
    for e in &snap.certificates {
        let r = row(e);
        if endpoints {
            let ep = endpoint_row(e);
            push_record(&mut out, r.iter().chain(ep.iter()).map(String::as_str));
        } else {
            push_record(&mut out, r.iter().map(String::as_str));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field(""), "");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(field("cr\r"), "\"cr\r\"");
        assert_eq!(field(" pad"), "\" pad\"");
        // Formula-looking values are kept verbatim (documented decision).
        assert_eq!(field("=1+1"), "=1+1");
    }

    #[test]
    fn empty_snapshot_is_header_only() {
        let s = Snapshot::empty(chrono::DateTime::from_timestamp(0, 0).unwrap());
        let out = render(&s);
        assert_eq!(out, format!("{}\r\n", HEADER.join(",")));
    }
}
