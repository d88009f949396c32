//! The shipped alert rules and dashboards, checked offline:
//!
//! * `promtool check rules alerts/*.yml` and `promtool test rules alerts/tests/*.yml`;
//! * every alert has a firing and a non-firing `promtool` case, a severity,
//!   `summary`/`description` annotations naming the certificate or source, and a
//!   `runbook_url` whose section exists in `docs/runbooks.md`;
//! * the established exporter's alert expressions and dashboard queries
//!   (COMPAT.md §5, §6) and every query of `dashboards/certvigil.json` parse
//!   with promtool (as recording rules);
//! * every `x509_*` metric the rules and the dashboard use is documented in
//!   `docs/metrics.md`;
//! * the dashboard's structure: schema version, `${datasource}` everywhere,
//!   the required variables and panels.
//!
//! Without promtool the promtool parts are skipped loudly, or fail under
//! `CERTVIGIL_REQUIRE_REAL=1`.

mod support_cli;
mod support_prom;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;
use support_cli::{promtool, write};
use support_prom::*;

#[derive(Deserialize)]
struct RuleFile {
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    name: String,
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
struct Rule {
    alert: String,
    expr: String,
    #[serde(rename = "for")]
    for_: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct TestFile {
    tests: Vec<TestGroup>,
}

#[derive(Deserialize)]
struct TestGroup {
    #[serde(default)]
    alert_rule_test: Vec<AlertTest>,
}

#[derive(Deserialize)]
struct AlertTest {
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<Value>,
}

fn files(dir: &str, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no {suffix} files in {dir}");
    v
}

fn rules() -> Vec<Rule> {
    let path = repo().join("alerts/certvigil.rules.yml");
    let f: RuleFile = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(f.groups.len(), 1);
    assert_eq!(f.groups[0].name, "certvigil.rules");
    f.groups.into_iter().flat_map(|g| g.rules).collect()
}

fn run_promtool(args: &[&str], files: &[PathBuf]) {
    let Some(p) = promtool() else { return };
    let out = Command::new(p)
        .args(args)
        .args(files)
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promtool_check_and_test_rules() {
    run_promtool(&["check", "rules"], &files("alerts", ".yml"));
    run_promtool(&["test", "rules"], &files("alerts/tests", ".yml"));
}

#[test]
fn every_alert_has_firing_and_non_firing_cases() {
    let mut firing: BTreeSet<String> = BTreeSet::new();
    let mut silent: BTreeSet<String> = BTreeSet::new();
    for f in files("alerts/tests", ".yml") {
        let t: TestFile = serde_saphyr::from_str(&std::fs::read_to_string(&f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for case in t.tests.iter().flat_map(|g| &g.alert_rule_test) {
            if case.exp_alerts.is_empty() {
                silent.insert(case.alertname.clone());
            } else {
                firing.insert(case.alertname.clone());
            }
        }
    }
    let names: BTreeSet<String> = rules().into_iter().map(|r| r.alert).collect();
    assert!(names.len() >= 15, "{names:?}");
    for n in &names {
        assert!(firing.contains(n), "{n} has no firing promtool case");
        assert!(silent.contains(n), "{n} has no non-firing promtool case");
    }
    let unknown: Vec<_> = firing
        .union(&silent)
        .filter(|n| !names.contains(*n))
        .collect();
    assert!(unknown.is_empty(), "tests for unknown alerts: {unknown:?}");
}

#[test]
fn every_alert_is_annotated_and_has_a_runbook() {
    let runbooks = std::fs::read_to_string(repo().join("docs/runbooks.md")).unwrap();
    let mut seen = BTreeSet::new();
    for r in rules() {
        let n = &r.alert;
        assert!(seen.insert(n.clone()), "duplicate alert {n}");
        assert!(r.for_.is_some(), "{n} has no `for`");
        assert!(
            ["critical", "warning", "info"]
                .contains(&r.labels.get("severity").map(String::as_str).unwrap_or("")),
            "{n}: severity {:?}",
            r.labels.get("severity")
        );
        for a in ["summary", "description", "runbook_url"] {
            assert!(
                r.annotations.get(a).is_some_and(|s| !s.is_empty()),
                "{n} lacks {a}"
            );
        }
        let desc = &r.annotations["description"];
        // Certificate alerts name the certificate and where it is; source
        // alerts the source; exporter alerts the instance.
        if r.expr.contains("x509_ingress_") || r.expr.contains("x509_cert_manager_") {
            // Kubernetes object alerts name the object and the instance.
            assert!(
                desc.contains("$labels.namespace")
                    && (desc.contains("$labels.ingress") || desc.contains("$labels.name"))
                    && desc.contains("$labels.instance"),
                "{n} description lacks the object or the instance"
            );
        } else if r.expr.contains("x509_cert_") && r.expr.contains("source_kind=\"vault\"") {
            // Vault-only alerts: their certificates live on a mount, not a path.
            for needle in [
                "$labels.subject_CN",
                "$labels.vault_mount",
                "$labels.source_name",
            ] {
                assert!(desc.contains(needle), "{n} description lacks {needle}");
            }
        } else if r.expr.contains("x509_cert_") && !r.expr.contains("x509_cert_error") {
            for needle in [
                "$labels.subject_CN",
                "$labels.secret_name",
                "$labels.filepath",
                "$labels.source_name",
            ] {
                assert!(desc.contains(needle), "{n} description lacks {needle}");
            }
        } else if r.expr.contains("x509_source_") {
            assert!(
                desc.contains("$labels.source_name") && desc.contains("$labels.source_kind"),
                "{n}"
            );
        } else if r.expr.contains("x509_cert_error") || r.expr.contains("x509_crl_") {
            assert!(
                desc.contains("$labels.filepath") && desc.contains("$labels.source_name"),
                "{n}"
            );
        } else if !r.expr.starts_with("absent(") {
            assert!(
                desc.contains("$labels.instance"),
                "{n} description lacks the instance"
            );
        }
        let url = &r.annotations["runbook_url"];
        assert_eq!(
            url,
            &format!("docs/runbooks.md#{}", n.to_lowercase()),
            "{n}"
        );
        assert!(
            runbooks.lines().any(|l| l == format!("## {n}")),
            "docs/runbooks.md has no section `## {n}`"
        );
    }
}

/// Check expressions parse, as recording rules of a throw-away rule file.
fn promtool_parses(name: &str, exprs: &[String]) {
    let tmp = tempfile::tempdir().unwrap();
    let mut y = format!("groups:\n  - name: {name}\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        y.push_str(&format!(
            "      - record: check:q{i}\n        expr: '{}'\n",
            e.replace('\'', "''")
        ));
    }
    let f = write(tmp.path(), "rules.yml", y);
    run_promtool(&["check", "rules"], &[f]);
}

#[test]
fn compat_alert_expressions_and_dashboard_queries_parse() {
    let alerts: Vec<String> = COMPAT_ALERTS.iter().map(|(_, e)| e.to_string()).collect();
    assert_eq!(alerts.len(), 12);
    promtool_parses("compat-alerts", &alerts);
    let queries: Vec<String> = compat_dashboard_queries()
        .into_iter()
        .map(|(_, q, _)| q)
        .collect();
    promtool_parses("compat-dashboard", &queries);
    // The established exporter's rule group as a whole, as the real test loads it.
    let tmp = tempfile::tempdir().unwrap();
    let f = write(tmp.path(), "enix.rules.yml", compat_rules());
    run_promtool(&["check", "rules"], &[f]);
}

#[test]
fn our_dashboard_queries_parse() {
    for d in files("dashboards", ".json") {
        let q: Vec<String> = dashboard_queries(&d)
            .into_iter()
            .map(|(_, e)| substitute(&e))
            .collect();
        assert!(!q.is_empty());
        promtool_parses("dashboard", &q);
    }
}

/// `x509_*` metric names in a text.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("x509_") {
        let s = i + pos;
        let prev_ok = s == 0 || !(b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'_');
        let mut e = s;
        while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_') {
            e += 1;
        }
        if prev_ok {
            out.insert(text[s..e].to_string());
        }
        i = e;
    }
    out
}

#[test]
fn rules_and_dashboards_use_documented_metrics() {
    let documented =
        metric_names(&std::fs::read_to_string(repo().join("docs/metrics.md")).unwrap());
    let mut used = BTreeSet::new();
    for r in rules() {
        used.extend(metric_names(&r.expr));
    }
    for d in files("dashboards", ".json") {
        for (_, e) in dashboard_queries(&d) {
            used.extend(metric_names(&e));
        }
    }
    assert!(used.len() >= 12, "{used:?}");
    let missing: Vec<_> = used.difference(&documented).collect();
    assert!(missing.is_empty(), "not in docs/metrics.md: {missing:?}");
}

fn check_datasource(v: &Value, what: &str) {
    assert_eq!(
        v["datasource"]["uid"], "${datasource}",
        "{what}: {}",
        v["datasource"]
    );
    assert_eq!(v["datasource"]["type"], "prometheus", "{what}");
}

#[test]
fn dashboard_structure() {
    let path: &Path = &repo().join("dashboards/certvigil.json");
    let d: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(d["schemaVersion"].as_u64().unwrap() >= 39);
    assert!(d["uid"].is_string() && d["title"].is_string());
    let vars = d["templating"]["list"].as_array().unwrap();
    let var = |n: &str| {
        vars.iter()
            .find(|v| v["name"] == n)
            .unwrap_or_else(|| panic!("variable {n} missing"))
    };
    let ds = var("datasource");
    assert_eq!(ds["type"], "datasource");
    assert_eq!(ds["query"], "prometheus");
    for (n, label) in [
        ("cluster", "cluster"),
        ("source_kind", "source_kind"),
        ("namespace", "secret_namespace"),
        ("job", "job"),
    ] {
        let v = var(n);
        check_datasource(v, n);
        assert_eq!(v["includeAll"], true, "{n}");
        assert_eq!(
            v["allValue"], ".*",
            "{n}: All must also match series without the label"
        );
        assert!(
            v["definition"]
                .as_str()
                .unwrap()
                .ends_with(&format!(", {label})")),
            "{n}"
        );
    }
    let mut ids = BTreeSet::new();
    let mut titles = BTreeSet::new();
    let mut n_targets = 0;
    for p in d["panels"].as_array().unwrap() {
        assert!(
            ids.insert(p["id"].as_u64().unwrap()),
            "duplicate panel id {}",
            p["id"]
        );
        titles.insert(p["title"].as_str().unwrap().to_string());
        if p["type"] == "row" {
            continue;
        }
        let title = p["title"].as_str().unwrap();
        check_datasource(p, title);
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title} has no query");
        for t in targets {
            check_datasource(t, title);
            n_targets += 1;
        }
        let g = &p["gridPos"];
        assert!(
            g["x"].as_u64().unwrap() + g["w"].as_u64().unwrap() <= 24,
            "{title} overflows the grid"
        );
    }
    assert_eq!(n_targets, dashboard_queries(path).len());
    for t in [
        "Certificates",
        "Expiring < 7 days",
        "Expiring < 28 days",
        "Expired",
        "Revoked",
        "Untrusted",
        "Source errors",
        "Certificates by time left",
        "Expiry timeline",
        "By issuer",
        "By source",
        "Sources up",
        "Scan duration",
        "Time since last successful scan",
        "Source errors by reason",
    ] {
        assert!(titles.contains(t), "panel {t:?} missing");
    }
}
