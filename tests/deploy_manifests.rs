//! Deployment artefacts, checked offline:
//!
//! * the generated files are in sync with their sources:
//!   `deploy/kubernetes/prometheusrule.yaml` from `alerts/certvigil.rules.yml`, and
//!   `deploy/kubernetes/dashboards/` (copies + a configMapGenerator) from
//!   `dashboards/*.json`. Regenerate with
//!   `UPDATE_DEPLOY=1 cargo test --test deploy_manifests`;
//! * `kubectl kustomize` renders `deploy/kubernetes` and `deploy/kubernetes/namespaced`,
//!   and the rendered objects have the promised properties (read-only RBAC on exactly
//!   the listed resources, non-root, read-only root FS, no capabilities, seccomp,
//!   probes, read-only hostPath mounts at the host paths);
//! * `kubernetes-validate` (PyPI, bundled schemas, offline) accepts the rendered
//!   built-in objects;
//! * `docker stack config` accepts `deploy/swarm/stack.yml` and
//!   `docker-compose config` accepts `deploy/compose.yml`;
//! * the configurations that use only landed sections pass `certvigil check-config`.
//!
//! A missing validator fails under `CERTVIGIL_REQUIRE_REAL=1` and is skipped loudly
//! otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn require_real() -> bool {
    std::env::var("CERTVIGIL_REQUIRE_REAL").as_deref() == Ok("1")
}

fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            !require_real(),
            "{name} not found and CERTVIGIL_REQUIRE_REAL=1"
        );
        eprintln!("*** {name} not installed: skipping this validation ***");
    }
    found
}

// ---------------------------------------------------------------- generation

const RULES_SOURCE: &str = "alerts/certvigil.rules.yml";
const RULE_TARGET: &str = "deploy/kubernetes/prometheusrule.yaml";
const DASHBOARDS_TARGET: &str = "deploy/kubernetes/dashboards";

/// The PrometheusRule wrapping the Prometheus rules file: its top-level `groups:`
/// becomes `spec.groups` (the file is indented under `spec:`, comments kept).
/// Until the rules file exists, a placeholder group keeps the manifest valid.
fn prometheus_rule(rules: Option<&str>) -> String {
    let mut out = String::from(
        "# GENERATED from alerts/certvigil.rules.yml by\n\
         # `UPDATE_DEPLOY=1 cargo test --test deploy_manifests` — do not edit.\n\
         apiVersion: monitoring.coreos.com/v1\n\
         kind: PrometheusRule\n\
         metadata:\n  name: certvigil\n  labels:\n    app.kubernetes.io/name: certvigil\n\
         spec:\n",
    );
    match rules {
        Some(text) => {
            for line in text.lines() {
                let t = line.trim_end();
                if t == "---" || t == "..." {
                    continue;
                }
                if t.is_empty() {
                    out.push('\n');
                } else {
                    out.push_str("  ");
                    out.push_str(t);
                    out.push('\n');
                }
            }
        }
        None => out.push_str(
            "  # PLACEHOLDER: alerts/certvigil.rules.yml does not exist yet.\n  \
             groups:\n    - name: certvigil-placeholder\n      rules: []\n",
        ),
    }
    out
}

/// Every generated file: (path relative to the repo, content).
fn generated() -> Vec<(PathBuf, Vec<u8>)> {
    let r = root();
    let rules = std::fs::read_to_string(r.join(RULES_SOURCE)).ok();
    let mut files = vec![(
        PathBuf::from(RULE_TARGET),
        prometheus_rule(rules.as_deref()).into_bytes(),
    )];
    let mut dashboards: Vec<PathBuf> = std::fs::read_dir(r.join("dashboards"))
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    dashboards.sort();
    let mut kust = String::from(
        "# GENERATED from dashboards/*.json by\n\
         # `UPDATE_DEPLOY=1 cargo test --test deploy_manifests` — do not edit.\n\
         # One ConfigMap per dashboard, labelled for the Grafana sidecar.\n\
         apiVersion: kustomize.config.k8s.io/v1beta1\n\
         kind: Kustomization\n",
    );
    if dashboards.is_empty() {
        kust.push_str("# (no dashboards/*.json yet)\nresources: []\n");
    } else {
        kust.push_str(
            "generatorOptions:\n  disableNameSuffixHash: true\n  labels:\n    grafana_dashboard: \"1\"\nconfigMapGenerator:\n",
        );
    }
    for d in &dashboards {
        let name = d.file_name().unwrap().to_string_lossy().to_string();
        let stem = name.trim_end_matches(".json");
        let cm: String = stem
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        kust.push_str(&format!(
            "  - name: certvigil-dashboard-{cm}\n    files:\n      - {name}\n"
        ));
        files.push((
            Path::new(DASHBOARDS_TARGET).join(&name),
            std::fs::read(d).unwrap(),
        ));
    }
    files.push((
        Path::new(DASHBOARDS_TARGET).join("kustomization.yaml"),
        kust.into_bytes(),
    ));
    files
}

#[test]
fn generated_files_are_in_sync() {
    let r = root();
    let want = generated();
    let update = std::env::var_os("UPDATE_DEPLOY").is_some();
    // Stale dashboard copies (their source was removed).
    let wanted: Vec<&PathBuf> = want.iter().map(|(p, _)| p).collect();
    for e in std::fs::read_dir(r.join(DASHBOARDS_TARGET)).unwrap() {
        let p = Path::new(DASHBOARDS_TARGET).join(e.unwrap().file_name());
        if !wanted.contains(&&p) {
            if update {
                std::fs::remove_file(r.join(&p)).unwrap();
            } else {
                panic!(
                    "{} has no source; run UPDATE_DEPLOY=1 cargo test --test deploy_manifests",
                    p.display()
                );
            }
        }
    }
    for (p, content) in &want {
        let full = r.join(p);
        if update {
            std::fs::write(&full, content).unwrap();
        }
        let have = std::fs::read(&full).unwrap_or_default();
        assert!(
            have == *content,
            "{} is out of sync with its source; run UPDATE_DEPLOY=1 cargo test --test deploy_manifests",
            p.display()
        );
    }
}

#[test]
fn prometheus_rule_wraps_groups() {
    let rules = "# c\ngroups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n";
    let out = prometheus_rule(Some(rules));
    let v: Value = serde_saphyr::from_str(&out).unwrap();
    assert_eq!(v["kind"], "PrometheusRule");
    assert_eq!(v["spec"]["groups"][0]["rules"][0]["alert"], "A");
    let v: Value = serde_saphyr::from_str(&prometheus_rule(None)).unwrap();
    assert_eq!(v["spec"]["groups"][0]["name"], "certvigil-placeholder");
}

// ---------------------------------------------------------------- kustomize

fn kustomize(dir: &str) -> Option<(String, Vec<Value>)> {
    let kubectl = tool("kubectl")?;
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg(root().join(dir))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl kustomize {dir} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    Some((text, docs))
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} rendered"))
}

fn rules_of(role: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    for r in role["rules"].as_array().unwrap() {
        let verbs: Vec<String> = r["verbs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        for g in r["apiGroups"].as_array().unwrap() {
            for res in r["resources"].as_array().unwrap() {
                out.push((
                    g.as_str().unwrap().to_string(),
                    res.as_str().unwrap().to_string(),
                    verbs.clone(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn check_pod_hardening(pod: &Value, what: &str) {
    let psc = &pod["securityContext"];
    assert_eq!(psc["runAsNonRoot"], true, "{what}");
    assert_eq!(psc["runAsUser"], 65532, "{what}");
    assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault", "{what}");
    for c in pod["containers"].as_array().unwrap() {
        let sc = &c["securityContext"];
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{what}");
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}");
        assert_eq!(
            sc["capabilities"]["drop"],
            serde_json::json!(["ALL"]),
            "{what}"
        );
        assert!(c["resources"]["limits"]["memory"].is_string(), "{what}");
        assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz", "{what}");
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz", "{what}");
        assert_eq!(c["ports"][0]["containerPort"], 9793, "{what}");
    }
}

fn kubernetes_validate(text: &str) {
    let Some(kv) = tool("kubernetes-validate") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // One file per built-in object; CRD instances (ServiceMonitor, PrometheusRule)
    // have no bundled schema and are checked structurally above.
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).unwrap();
    let mut files = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let api = d["apiVersion"].as_str().unwrap_or("");
        if api.starts_with("monitoring.coreos.com/") {
            continue;
        }
        let p = dir.path().join(format!("{i:02}.json"));
        std::fs::write(&p, serde_json::to_vec_pretty(d).unwrap()).unwrap();
        files.push(p);
    }
    assert!(files.len() >= 5);
    let out = Command::new(kv)
        .args(["--strict", "--quiet"])
        .args(&files)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubernetes-validate failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn cluster_kustomization_renders_least_privilege() {
    let Some((text, docs)) = kustomize("deploy/kubernetes") else {
        return;
    };
    for d in &docs {
        let kind = d["kind"].as_str().unwrap();
        let cluster_scoped = ["Namespace", "ClusterRole", "ClusterRoleBinding"].contains(&kind);
        if !cluster_scoped {
            assert_eq!(d["metadata"]["namespace"], "certvigil", "{kind}");
        }
    }
    let g = |s: &str| s.to_string();
    let v = || vec![g("get"), g("list"), g("watch")];
    assert_eq!(
        rules_of(find(&docs, "ClusterRole", "certvigil")),
        vec![
            (g(""), g("configmaps"), v()),
            (g(""), g("secrets"), v()),
            (
                g("admissionregistration.k8s.io"),
                g("mutatingwebhookconfigurations"),
                v()
            ),
            (
                g("admissionregistration.k8s.io"),
                g("validatingwebhookconfigurations"),
                v()
            ),
            (
                g("apiextensions.k8s.io"),
                g("customresourcedefinitions"),
                v()
            ),
            (g("apiregistration.k8s.io"), g("apiservices"), v()),
            (g("cert-manager.io"), g("certificaterequests"), v()),
            (g("cert-manager.io"), g("certificates"), v()),
            (g("cert-manager.io"), g("clusterissuers"), v()),
            (g("cert-manager.io"), g("issuers"), v()),
            (
                g("certificates.k8s.io"),
                g("certificatesigningrequests"),
                v()
            ),
            (g("networking.k8s.io"), g("ingresses"), v()),
        ]
    );
    let binding = find(&docs, "ClusterRoleBinding", "certvigil");
    assert_eq!(binding["subjects"][0]["namespace"], "certvigil");
    assert_eq!(binding["subjects"][0]["name"], "certvigil");

    let dep = find(&docs, "Deployment", "certvigil");
    assert_eq!(dep["spec"]["replicas"], 1);
    let pod = &dep["spec"]["template"]["spec"];
    check_pod_hardening(pod, "Deployment");
    assert_eq!(pod["serviceAccountName"], "certvigil");
    // The config volume points at the generated (hash-suffixed) ConfigMap.
    let cm_name = pod["volumes"][0]["configMap"]["name"].as_str().unwrap();
    assert!(cm_name.starts_with("certvigil-config-"), "{cm_name}");
    let cm = find(&docs, "ConfigMap", cm_name);
    let cfg = cm["data"]["certvigil.yml"].as_str().unwrap();
    let cfg: Value = serde_saphyr::from_str(cfg).unwrap();
    assert_eq!(cfg["kubernetes"]["enabled"], true);

    let ds = find(&docs, "DaemonSet", "certvigil-host");
    let pod = &ds["spec"]["template"]["spec"];
    check_pod_hardening(pod, "DaemonSet");
    assert_eq!(pod["automountServiceAccountToken"], false);
    let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
    let volumes = pod["volumes"].as_array().unwrap();
    let mut host_paths = Vec::new();
    for v in volumes.iter().filter(|v| v.get("hostPath").is_some()) {
        let m = mounts
            .iter()
            .find(|m| m["name"] == v["name"])
            .expect("hostPath volume is mounted");
        assert_eq!(m["readOnly"], true, "{m}");
        // Same path inside the container, so path labels show host paths.
        assert_eq!(m["mountPath"], v["hostPath"]["path"], "{m}");
        host_paths.push(m["mountPath"].as_str().unwrap().to_string());
    }
    for p in ["/etc/kubernetes/pki", "/var/lib/kubelet/pki", "/etc/ssl"] {
        assert!(host_paths.iter().any(|h| h == p), "{p} not mounted");
    }
    // The host config scans exactly the mounted paths and is valid today.
    let host_cm_name = volumes.iter().find(|v| v["name"] == "config").unwrap()["configMap"]["name"]
        .as_str()
        .unwrap();
    let host_cfg = find(&docs, "ConfigMap", host_cm_name)["data"]["certvigil.yml"]
        .as_str()
        .unwrap();
    check_config_text(host_cfg);

    let svc = find(&docs, "Service", "certvigil");
    assert_eq!(svc["spec"]["ports"][0]["port"], 9793);
    let sm = find(&docs, "ServiceMonitor", "certvigil");
    assert_eq!(sm["spec"]["endpoints"][0]["port"], "metrics");
    let rule = find(&docs, "PrometheusRule", "certvigil");
    assert!(!rule["spec"]["groups"].as_array().unwrap().is_empty());
    for d in docs.iter().filter(|d| d["kind"] == "ConfigMap") {
        let name = d["metadata"]["name"].as_str().unwrap();
        if name.starts_with("certvigil-dashboard-") {
            assert_eq!(d["metadata"]["labels"]["grafana_dashboard"], "1");
        }
    }
    kubernetes_validate(&text);
}

#[test]
fn namespaced_kustomization_uses_a_role_only() {
    let Some((text, docs)) = kustomize("deploy/kubernetes/namespaced") else {
        return;
    };
    assert!(
        !docs
            .iter()
            .any(|d| d["kind"] == "ClusterRole" || d["kind"] == "ClusterRoleBinding"),
        "the namespaced variant must not need cluster rights"
    );
    assert!(!docs.iter().any(|d| d["kind"] == "DaemonSet"));
    let g = |s: &str| s.to_string();
    let v = || vec![g("get"), g("list"), g("watch")];
    assert_eq!(
        rules_of(find(&docs, "Role", "certvigil")),
        vec![
            (g(""), g("configmaps"), v()),
            (g(""), g("secrets"), v()),
            (g("cert-manager.io"), g("certificaterequests"), v()),
            (g("cert-manager.io"), g("certificates"), v()),
            (g("cert-manager.io"), g("issuers"), v()),
            (g("networking.k8s.io"), g("ingresses"), v()),
        ]
    );
    let ns = find(&docs, "Role", "certvigil")["metadata"]["namespace"]
        .as_str()
        .unwrap()
        .to_string();
    for d in &docs {
        assert_eq!(d["metadata"]["namespace"], ns.as_str(), "{}", d["kind"]);
    }
    let dep = find(&docs, "Deployment", "certvigil");
    check_pod_hardening(&dep["spec"]["template"]["spec"], "namespaced Deployment");
    kubernetes_validate(&text);
}

// ---------------------------------------------------------------- docker

#[test]
fn swarm_stack_validates() {
    let Some(docker) = tool("docker") else { return };
    let out = Command::new(docker)
        .args(["stack", "config", "-c"])
        .arg(root().join("deploy/swarm/stack.yml"))
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock") // client-side only
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker stack config failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_saphyr::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let svc = &v["services"]["certvigil"];
    assert_eq!(svc["deploy"]["mode"], "global");
    let vols = svc["volumes"].as_array().unwrap();
    assert!(vols.iter().all(|m| m["read_only"] == true), "{vols:?}");
    assert!(vols
        .iter()
        .any(|m| m["source"] == "/var/run/docker.sock" && m["read_only"] == true));
    assert!(svc["secrets"].as_array().is_some_and(|s| !s.is_empty()));
    assert_eq!(svc["read_only"], true);
}

#[test]
fn compose_file_validates() {
    let Some(dc) = tool("docker-compose") else {
        return;
    };
    let out = Command::new(dc)
        .args(["-f"])
        .arg(root().join("deploy/compose.yml"))
        .args(["config"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker-compose config failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_saphyr::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let svc = &v["services"]["certvigil"];
    assert_eq!(svc["read_only"], true);
    assert_eq!(svc["user"], "65532:65532");
    check_config_text(
        &std::fs::read_to_string(root().join("deploy/compose-certvigil.yml")).unwrap(),
    );
}

/// `certvigil check-config` accepts this configuration text.
fn check_config_text(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.yml");
    std::fs::write(&p, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_certvigil"))
        .args(["check-config", "--config"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "check-config rejected:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dockerfile_has_the_promised_shape() {
    let d = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let lines: Vec<&str> = d
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let has = |s: &str| lines.iter().any(|l| l.starts_with(s));
    assert!(has("FROM ${RUST_IMAGE} AS builder"));
    assert!(d.contains("ARG RUST_IMAGE=rust:1-bookworm"));
    assert!(has("FROM scratch AS base"));
    assert!(has("FROM base AS prebuilt"));
    assert!(has("FROM base AS runtime"));
    assert!(has("USER 65532:65532"));
    assert!(has("EXPOSE 9793"));
    assert!(has("HEALTHCHECK "));
    assert!(has("ENTRYPOINT [\"/certvigil\"]"));
    assert!(has("CMD [\"serve\"]"));
    assert!(d.contains("org.opencontainers.image.title"));
    assert!(d.contains("+crt-static"));
    // The prebuilt stage must come before the builder (classic builder builds every
    // stage up to the target), and the default (last) stage is the full build.
    let pos = |s: &str| d.find(s).unwrap();
    assert!(pos("AS prebuilt") < pos("AS builder"));
    assert!(lines
        .iter()
        .rev()
        .find(|l| l.starts_with("FROM"))
        .unwrap()
        .ends_with("AS runtime"));
}
