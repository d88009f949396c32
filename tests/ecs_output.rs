//! `certvigil scan --format ecs`: NDJSON in the Elastic Common Schema, checked
//! against the real ECS field list of the npm package `@elastic/ecs` (`EcsFlat`,
//! installed with the machine's npm into the target directory). Every emitted
//! field must be an ECS field or under `certvigil.*`; ECS array fields must be
//! arrays; types must match (date, long, keyword, boolean); `event.kind` and
//! `event.category`/`event.type` must be allowed values; there is one `state`
//! document per certificate of `scan --format json`, one `alert` per finding of
//! `report --format json`, one error `event` per error. npm and node are required
//! under `CERTVIGIL_REQUIRE_REAL=1`, skipped loudly otherwise.

mod support_cli;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use support_cli::*;

/// The `@elastic/ecs` version whose field list the output follows.
const ECS_NPM: &str = "@elastic/ecs@9.4.0";

fn require_real() -> bool {
    std::env::var("CERTVIGIL_REQUIRE_REAL").as_deref() == Ok("1")
}

fn skip(why: &str) {
    assert!(!require_real(), "{why} and CERTVIGIL_REQUIRE_REAL=1");
    eprintln!("*** SKIP ecs_output: {why} ***");
}

struct Field {
    typ: String,
    array: bool,
    allowed: Vec<String>,
}

/// `EcsFlat` as {field: (type, array?, allowed values)}, from the npm package.
fn ecs_fields() -> Option<BTreeMap<String, Field>> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ecs-npm");
    let pkg = dir.join("node_modules/@elastic/ecs/package.json");
    if !pkg.is_file() {
        std::fs::create_dir_all(&dir).unwrap();
        let st = Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(ECS_NPM)
            .status();
        match st {
            Ok(s) if s.success() && pkg.is_file() => {}
            Ok(s) => {
                skip(&format!("npm install {ECS_NPM} failed ({s})"));
                return None;
            }
            Err(e) => {
                skip(&format!("npm not runnable ({e})"));
                return None;
            }
        }
    }
    let script = "const f=require('@elastic/ecs').EcsFlat;const o={};\
        for(const k in f){o[k]={t:f[k].type,a:(f[k].normalize||[]).includes('array'),\
        v:(f[k].allowed_values||[]).map(x=>x.name)}}process.stdout.write(JSON.stringify(o))";
    let out = match Command::new("node")
        .arg("-e")
        .arg(script)
        .env("NODE_PATH", dir.join("node_modules"))
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            skip(&format!("node not runnable ({e})"));
            return None;
        }
    };
    assert!(
        out.status.success(),
        "node: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("EcsFlat JSON");
    let mut m = BTreeMap::new();
    for (k, f) in v.as_object().expect("object") {
        m.insert(
            k.clone(),
            Field {
                typ: f["t"].as_str().unwrap_or("").to_string(),
                array: f["a"].as_bool().unwrap_or(false),
                allowed: f["v"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
            },
        );
    }
    assert!(m.len() > 1000, "EcsFlat has only {} fields", m.len());
    Some(m)
}

/// Leaves of a document: (dotted path, value). Arrays are leaves.
fn leaves(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                assert!(
                    k == "@timestamp" || !k.contains('.'),
                    "dotted key {k:?} under {prefix:?}: documents are nested objects"
                );
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&p, v, out);
            }
        }
        _ => out.push((prefix.to_string(), v.clone())),
    }
}

fn type_ok(typ: &str, v: &Value) -> bool {
    match typ {
        "keyword" | "wildcard" | "text" | "match_only_text" | "constant_keyword" | "ip" => {
            v.is_string()
        }
        "long" | "integer" | "unsigned_long" => v.is_u64() || v.is_i64(),
        "float" | "double" | "scaled_float" => v.is_number(),
        "boolean" => v.is_boolean(),
        "date" => v
            .as_str()
            .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
        _ => true,
    }
}

/// Check one document against ECS; returns its ECS leaves for further checks.
fn check_doc(doc: &Value, ecs: &BTreeMap<String, Field>) -> BTreeMap<String, Value> {
    let mut ls = Vec::new();
    leaves("", doc, &mut ls);
    let mut ecs_leaves = BTreeMap::new();
    for (path, v) in ls {
        if path.starts_with("certvigil.") {
            continue;
        }
        let f = ecs.get(&path).unwrap_or_else(|| {
            panic!("{path} is neither an ECS field nor under certvigil.*: {doc}")
        });
        if f.array {
            let arr = v
                .as_array()
                .unwrap_or_else(|| panic!("{path} is an ECS array field, got {v}"));
            assert!(!arr.is_empty(), "{path}: empty array emitted");
            for x in arr {
                assert!(type_ok(&f.typ, x), "{path}: {x} is not a {}", f.typ);
                if !f.allowed.is_empty() {
                    let s = x.as_str().unwrap_or("");
                    assert!(
                        f.allowed.iter().any(|a| a == s),
                        "{path}: {s:?} not allowed"
                    );
                }
            }
        } else {
            assert!(!v.is_array(), "{path}: not an ECS array field, got {v}");
            assert!(type_ok(&f.typ, &v), "{path}: {v} is not a {}", f.typ);
            if !f.allowed.is_empty() {
                let s = v.as_str().unwrap_or("");
                assert!(
                    f.allowed.iter().any(|a| a == s),
                    "{path}: {s:?} not allowed"
                );
            }
        }
        ecs_leaves.insert(path, v);
    }
    ecs_leaves
}

/// A document and its ECS leaves.
type Checked = (Value, BTreeMap<String, Value>);

#[test]
fn scan_format_ecs_is_ecs() {
    let Some(ecs) = ecs_fields() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "web.pem", cert_expiring_in("web.example", 200));
    write(d, "soon.pem", cert_expiring_in("soon.example", 5));
    write(d, "expired.pem", cert_expiring_in("expired.example", -3));
    write(
        d,
        "hostile.pem",
        cert_expiring_in("\"quoted\" <b>bold</b>\\ \u{7f} line\nbreak", 60),
    );
    write(
        d,
        "broken.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    );
    let dir_s = d.to_str().unwrap();

    let out = run(&["scan", "--format", "ecs", dir_s]);
    // Exit 0 or 2 (errors present) per INTERFACE; stdout is the log either way.
    assert!(!out.stdout.is_empty(), "no output: {}", show(&out));
    let text = String::from_utf8(out.stdout.clone()).expect("UTF-8");
    let docs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();

    let json = run(&["scan", "--format", "json", dir_s]);
    let inv: Value = serde_json::from_slice(&json.stdout).expect("scan json");
    let report = run(&["report", "--format", "json", dir_s]);
    let rep: Value = serde_json::from_slice(&report.stdout).expect("report json");

    let mut by_kind: BTreeMap<String, Vec<Checked>> = BTreeMap::new();
    for doc in &docs {
        let leaves = check_doc(doc, &ecs);
        assert_eq!(leaves["ecs.version"], "9.4.0");
        assert!(leaves.contains_key("@timestamp"), "{doc}");
        let kind = leaves["event.kind"].as_str().unwrap().to_string();
        by_kind.entry(kind).or_default().push((doc.clone(), leaves));
    }

    // One state document per certificate, carrying its certificate.
    let certs = inv["certificates"].as_array().unwrap();
    let states = &by_kind["state"];
    assert_eq!(states.len(), certs.len(), "{text}");
    for c in certs {
        let fp = c["sha256_fingerprint"].as_str().unwrap();
        let (doc, l) = states
            .iter()
            .find(|(d, _)| d["certvigil"]["sha256_fingerprint"] == fp)
            .unwrap_or_else(|| panic!("no state document for {fp}"));
        let cn = c["subject_cn"].as_str().unwrap();
        assert_eq!(l["file.x509.subject.common_name"], serde_json::json!([cn]));
        assert_eq!(l["file.x509.not_after"], c["not_after"]);
        assert_eq!(l["file.path"], c["location"]);
        assert_eq!(doc["certvigil"]["trust"], c["trust"]);
        assert_eq!(l["event.category"], serde_json::json!(["file"]));
    }

    // One alert per finding of the report, rule.id = the finding id.
    let findings = rep["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    let alerts = &by_kind["alert"];
    assert_eq!(alerts.len(), findings.len());
    let ids: Vec<&str> = alerts
        .iter()
        .map(|(_, l)| l["rule.id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"expired"), "{ids:?}");
    assert!(ids.contains(&"expiring_soon"), "{ids:?}");
    for (_, l) in alerts {
        assert!(l["event.severity"].as_u64().unwrap() > 0);
        assert!(l.contains_key("message"));
    }

    // The broken file: an error event with the bounded reason.
    let errors = &by_kind["event"];
    assert_eq!(errors.len(), inv["errors"].as_array().unwrap().len());
    assert!(
        errors
            .iter()
            .any(|(_, l)| l["error.code"] == "bad_pem" && l["event.outcome"] == "failure"),
        "{text}"
    );
}
