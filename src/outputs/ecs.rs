//! The inventory as an event log in the Elastic Common Schema (ECS 9.x):
//! `scan --format ecs` writes NDJSON, one JSON document per line, for Filebeat /
//! Logstash / Elastic Agent to ship into Elasticsearch (docs/ecs.md).
//!
//! * one `event.kind: "state"` document per certificate occurrence: the
//!   certificate under `file.x509.*` (file-like and Kubernetes/Docker sources) or
//!   `tls.server.x509.*` (TLS endpoints), with `file.path`/`file.name`,
//!   `orchestrator.*` (Kubernetes objects, Docker swarm objects), `container.*`
//!   (certificates inside containers), `tls.server.hash.sha256`;
//! * one `event.kind: "alert"` document per finding (`rule.id` = the finding id,
//!   `event.severity` numeric, `log.level` its name, `message`);
//! * one `event.kind: "event"` document per error (`event.outcome: failure`,
//!   `error.code` = the bounded reason, `error.message`).
//!
//! Everything that has no ECS field is under `certvigil.*`. ECS array fields
//! (`x509.alternative_names`, `x509.*.common_name`, ...) are arrays, empty values
//! are left out, and the documents are nested objects (not dotted keys).
//! `tests/ecs_output.rs` checks every emitted field against the field list of the
//! npm package `@elastic/ecs` (`EcsFlat`). Nothing here holds key material: the
//! inventory has none.

use serde_json::{json, Map, Value};

use crate::inventory::Snapshot;
use crate::model::time::{rfc3339, rfc3339_from_unix};
use crate::model::{CertEntry, DistinguishedName, ErrorEntry, Finding, Severity, SourceKind};
use crate::outputs::json::extra_labels;

/// The ECS version the documents follow (`ecs.version`).
pub const ECS_VERSION: &str = "9.4.0";

/// `event.severity` of a finding severity (the numbers Elastic Security uses for
/// low / medium / high / critical rules: 21 / 47 / 73 / 99).
pub fn severity_number(s: Severity) -> u8 {
    match s {
        Severity::Critical => 99,
        Severity::Warning => 47,
        Severity::Info => 21,
    }
}

/// All documents of a snapshot and its findings, as NDJSON (one line each, each
/// line ending in `\n`): certificates, then findings, then errors.
pub fn render(snap: &Snapshot, findings: &[Finding]) -> String {
    let ts = rfc3339(&snap.generated_at);
    let mut out = String::new();
    let mut push = |v: Value| {
        // A `Value` always serializes; an empty line would be a bug.
        if let Ok(line) = serde_json::to_string(&v) {
            out.push_str(&line);
            out.push('\n');
        }
    };
    for e in &snap.certificates {
        push(certificate(&ts, e));
    }
    for f in findings {
        push(alert(&ts, f));
    }
    for e in &snap.errors {
        push(error(&ts, e));
    }
    out
}

/// A location label's value, `None` when absent or empty.
fn label<'a>(e: &'a crate::model::SourceRef, name: &str) -> Option<&'a str> {
    e.label(name).filter(|v| !v.is_empty())
}

/// Insert `key: value` when the string is not empty.
fn put_str(m: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        m.insert(key.to_string(), Value::String(value.to_string()));
    }
}

/// Insert `key: [value]` (an ECS array field) when the string is not empty.
fn put_arr(m: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        m.insert(key.to_string(), json!([value]));
    }
}

fn dn(n: &DistinguishedName) -> Value {
    let mut m = Map::new();
    put_arr(&mut m, "common_name", &n.cn);
    put_arr(&mut m, "country", &n.c);
    put_str(&mut m, "distinguished_name", &n.rendered);
    put_arr(&mut m, "locality", &n.l);
    put_arr(&mut m, "organization", &n.o);
    put_arr(&mut m, "organizational_unit", &n.ou);
    put_arr(&mut m, "state_or_province", &n.st);
    Value::Object(m)
}

/// The ECS `x509` object of a certificate.
fn x509(e: &CertEntry) -> Value {
    let c = &*e.cert;
    let mut m = Map::new();
    let mut names: Vec<&str> = c.dns_names.iter().map(String::as_str).collect();
    names.extend(c.ip_addresses.iter().map(String::as_str));
    if !names.is_empty() {
        m.insert("alternative_names".into(), json!(names));
    }
    m.insert("issuer".into(), dn(&c.issuer));
    m.insert("subject".into(), dn(&c.subject));
    m.insert("not_after".into(), json!(rfc3339_from_unix(c.not_after)));
    m.insert("not_before".into(), json!(rfc3339_from_unix(c.not_before)));
    m.insert(
        "public_key_algorithm".into(),
        json!(c.key_algorithm.as_str().to_ascii_uppercase()),
    );
    if c.key_bits > 0 {
        m.insert("public_key_size".into(), json!(c.key_bits));
    }
    // ECS: "Unique serial number issued by the certificate authority. For
    // consistency, if this value is alphanumeric, it should be formatted without
    // colons and uppercase characters."
    m.insert(
        "serial_number".into(),
        json!(c.serial_hex.replace(':', "").to_ascii_uppercase()),
    );
    put_str(&mut m, "signature_algorithm", &c.signature_algorithm);
    Value::Object(m)
}

/// `orchestrator.*` of a Kubernetes or Docker swarm object, if it is one.
fn orchestrator(e: &CertEntry) -> Option<Value> {
    let s = &e.source;
    let (typ, ns, rtype, name) = match s.kind {
        SourceKind::KubernetesSecret => (
            "kubernetes",
            label(s, "secret_namespace"),
            "secret",
            label(s, "secret_name"),
        ),
        SourceKind::KubernetesConfigmap => (
            "kubernetes",
            label(s, "configmap_namespace"),
            "configmap",
            label(s, "configmap_name"),
        ),
        SourceKind::KubernetesCabundle => (
            "kubernetes",
            None,
            label(s, "embedded_kind")
                .unwrap_or("cabundle")
                .trim()
                .split('.')
                .next()
                .unwrap_or("cabundle"),
            label(s, "embedded_key").or(label(s, "secret_name")),
        ),
        SourceKind::KubernetesCsr => (
            "kubernetes",
            None,
            "certificatesigningrequest",
            label(s, "secret_name"),
        ),
        SourceKind::DockerSecret => ("swarm", None, "secret", label(s, "docker_name")),
        SourceKind::DockerConfig => ("swarm", None, "config", label(s, "docker_name")),
        _ => return None,
    };
    let mut m = Map::new();
    m.insert("type".into(), json!(typ));
    if let Some(ns) = ns {
        m.insert("namespace".into(), json!(ns));
    }
    let mut r = Map::new();
    r.insert("type".into(), json!(rtype));
    if let Some(name) = name {
        r.insert("name".into(), json!(name));
    }
    if let Some(id) = label(s, "docker_id").filter(|_| typ == "swarm") {
        r.insert("id".into(), json!(id));
    }
    m.insert("resource".into(), Value::Object(r));
    if let Some(cluster) = label(s, "cluster") {
        m.insert("cluster".into(), json!({ "name": cluster }));
    }
    Some(Value::Object(m))
}

/// `container.*` of a certificate read from inside a container.
fn container(e: &CertEntry) -> Option<Value> {
    let s = &e.source;
    if s.kind != SourceKind::DockerContainer {
        return None;
    }
    let mut m = Map::new();
    if let Some(id) = label(s, "docker_id") {
        m.insert("id".into(), json!(id));
    }
    if let Some(name) = label(s, "docker_container").or(label(s, "docker_name")) {
        m.insert("name".into(), json!(name));
    }
    if let Some(image) = label(s, "docker_image") {
        m.insert("image".into(), json!({ "name": image }));
    }
    Some(Value::Object(m))
}

/// What only certvigil knows, under `certvigil.*`.
fn certvigil_fields(e: &CertEntry) -> Value {
    let c = &*e.cert;
    let labels = extra_labels(&e.source);
    let mut m = Map::new();
    m.insert("source_kind".into(), json!(e.source.kind.as_str()));
    m.insert("source_name".into(), json!(e.source.name));
    m.insert("location".into(), json!(e.source.location));
    m.insert("index_in_bundle".into(), json!(e.index_in_bundle));
    m.insert("sha256_fingerprint".into(), json!(c.sha256_fingerprint));
    m.insert("serial_number".into(), json!(c.serial_number));
    m.insert("is_ca".into(), json!(c.is_ca));
    m.insert("self_signed".into(), json!(c.self_signed));
    m.insert("expired".into(), json!(e.expired));
    m.insert(
        "trust".into(),
        serde_json::to_value(&e.trust).unwrap_or(Value::Null),
    );
    m.insert(
        "revocation".into(),
        serde_json::to_value(&e.revocation).unwrap_or(Value::Null),
    );
    if let Some(ep) = e.source.endpoint.as_deref() {
        m.insert(
            "endpoint".into(),
            serde_json::to_value(ep).unwrap_or(Value::Null),
        );
    }
    if !labels.is_empty() {
        m.insert("labels".into(), json!(labels));
    }
    Value::Object(m)
}

fn base(ts: &str, kind: &str, dataset: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("@timestamp".into(), json!(ts));
    m.insert("ecs".into(), json!({ "version": ECS_VERSION }));
    m.insert(
        "event".into(),
        json!({ "kind": kind, "module": "certvigil", "dataset": dataset }),
    );
    m
}

fn event_mut(doc: &mut Map<String, Value>) -> &mut Map<String, Value> {
    match doc.get_mut("event") {
        Some(Value::Object(m)) => m,
        // `base` always inserts the object.
        _ => unreachable!("event object"),
    }
}

/// The `state` document of one certificate occurrence.
pub fn certificate(ts: &str, e: &CertEntry) -> Value {
    let mut doc = base(ts, "state", "certvigil.certificate");
    let endpoint = e.source.kind == SourceKind::TlsEndpoint;
    {
        let ev = event_mut(&mut doc);
        let category = if endpoint { "network" } else { "file" };
        ev.insert("category".into(), json!([category]));
        ev.insert("type".into(), json!(["info"]));
    }
    if endpoint {
        let mut server = Map::new();
        server.insert("x509".into(), x509(e));
        server.insert(
            "hash".into(),
            json!({ "sha256": e.cert.sha256_fingerprint.to_ascii_uppercase() }),
        );
        let mut tls = Map::new();
        if let Some(ep) = e.source.endpoint.as_deref() {
            // ECS: `tls.version` "1.3", `tls.version_protocol` "tls".
            if let Some(v) = ep.tls_version.strip_prefix("TLSv") {
                tls.insert("version".into(), json!(v));
                tls.insert("version_protocol".into(), json!("tls"));
            }
            put_str(&mut tls, "cipher", &ep.cipher);
            if let Some(alpn) = &ep.alpn {
                put_str(&mut tls, "next_protocol", alpn);
            }
            tls.insert("established".into(), json!(true));
            if !ep.server_name.is_empty() {
                doc.insert("server".into(), json!({ "address": ep.server_name }));
            }
        }
        tls.insert("server".into(), Value::Object(server));
        doc.insert("tls".into(), Value::Object(tls));
    } else {
        let mut file = Map::new();
        if let Some(p) = label(&e.source, "filepath") {
            file.insert("path".into(), json!(p));
        }
        if let Some(n) = label(&e.source, "filename") {
            file.insert("name".into(), json!(n));
        }
        file.insert("x509".into(), x509(e));
        doc.insert("file".into(), Value::Object(file));
    }
    if let Some(o) = orchestrator(e) {
        doc.insert("orchestrator".into(), o);
    }
    if let Some(c) = container(e) {
        doc.insert("container".into(), c);
    }
    let subject = &e.cert.subject.cn;
    let msg = if subject.is_empty() {
        format!(
            "certificate at {} expires {}",
            e.source.location,
            rfc3339_from_unix(e.cert.not_after)
        )
    } else {
        format!(
            "certificate {subject} at {} expires {}",
            e.source.location,
            rfc3339_from_unix(e.cert.not_after)
        )
    };
    doc.insert("message".into(), json!(msg));
    doc.insert("certvigil".into(), certvigil_fields(e));
    Value::Object(doc)
}

/// The `alert` document of one finding.
pub fn alert(ts: &str, f: &Finding) -> Value {
    let mut doc = base(ts, "alert", "certvigil.finding");
    {
        let ev = event_mut(&mut doc);
        ev.insert("severity".into(), json!(severity_number(f.severity)));
        ev.insert("category".into(), json!(["configuration"]));
        ev.insert("type".into(), json!(["info"]));
    }
    doc.insert(
        "rule".into(),
        json!({ "id": f.id.as_str(), "name": f.id.as_str(), "ruleset": "certvigil" }),
    );
    doc.insert("log".into(), json!({ "level": f.severity.as_str() }));
    doc.insert("message".into(), json!(f.message));
    let mut cv = Map::new();
    cv.insert("location".into(), json!(f.location));
    put_str(&mut cv, "sha256_fingerprint", &f.sha256_fingerprint);
    doc.insert("certvigil".into(), json!({ "finding": Value::Object(cv) }));
    Value::Object(doc)
}

/// The `event` document of one error (an object that failed to read or parse, a
/// failed source).
pub fn error(ts: &str, e: &ErrorEntry) -> Value {
    let mut doc = base(ts, "event", "certvigil.error");
    {
        let ev = event_mut(&mut doc);
        ev.insert("outcome".into(), json!("failure"));
        ev.insert("category".into(), json!(["configuration"]));
        ev.insert("type".into(), json!(["error"]));
    }
    doc.insert(
        "error".into(),
        json!({ "code": e.reason.as_str(), "message": e.message }),
    );
    doc.insert("message".into(), json!(e.message));
    doc.insert(
        "certvigil".into(),
        json!({
            "source_kind": e.source.kind.as_str(),
            "source_name": e.source.name,
            "location": e.source.location,
        }),
    );
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_numbers_are_ordered() {
        assert!(severity_number(Severity::Critical) > severity_number(Severity::Warning));
        assert!(severity_number(Severity::Warning) > severity_number(Severity::Info));
    }
}
