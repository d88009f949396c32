//! The Helm chart `deploy/helm/certvigil`, rendered and linted by the real Helm v4
//! SDK (PyPI `helm-python-sdk`, driven by `tests/helm/render.py`; no helm binary):
//!
//! * with the chart's defaults and with `tests/helm/established-values.yaml`, a values
//!   file written for the x509-certificate-exporter chart: `lint --strict` reports no
//!   warning or error; every built-in object passes `kubernetes-validate --strict`
//!   (ServiceMonitor, PodMonitor and PrometheusRule have no bundled schema: they are
//!   checked structurally here); every rendered certvigil configuration passes
//!   `certvigil check-config`;
//! * the PrometheusRule is `alerts/*.rules.yml` verbatim and the dashboard ConfigMaps
//!   hold `dashboards/*.json` verbatim;
//! * hardening: read-only root filesystem, no privilege escalation, ALL capabilities
//!   dropped, non-root (or uid 0 with only DAC_READ_SEARCH under `readAsRoot`),
//!   host paths mounted read-only, RBAC list/watch on exactly the configured resources;
//! * keys the chart cannot honour fail the render with a message naming them.
//!
//! Missing SDK or validator: fails under `CERTVIGIL_REQUIRE_REAL=1`, else skips loudly.

mod support_cli;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn require_real() -> bool {
    std::env::var("CERTVIGIL_REQUIRE_REAL").as_deref() == Ok("1")
}

fn skip(msg: &str) {
    assert!(!require_real(), "{msg}; CERTVIGIL_REQUIRE_REAL=1");
    eprintln!("*** SKIPPED: {msg} ***");
}

struct Rendered {
    /// Every object of every template, in template order.
    docs: Vec<Value>,
    lint: Value,
}

/// `Ok(None)`: the SDK is missing (skipped). `Err(stderr)`: the render failed.
fn try_render(values: Option<&Path>) -> Result<Option<Rendered>, String> {
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("tests/helm/render.py"))
        .arg(root().join("deploy/helm/certvigil"));
    if let Some(v) = values {
        cmd.arg(v);
    }
    let out = match cmd.stdin(Stdio::null()).output() {
        Ok(o) => o,
        Err(e) => {
            skip(&format!("python3 not runnable: {e}"));
            return Ok(None);
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    match out.status.code() {
        Some(0) => {}
        Some(3) => {
            skip(&format!(
                "helm-python-sdk not installed (pip install helm-python-sdk): {stderr}"
            ));
            return Ok(None);
        }
        _ => return Err(stderr),
    }
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut docs = Vec::new();
    let manifests = v["manifests"].as_object().unwrap();
    let mut names: Vec<&String> = manifests.keys().collect();
    names.sort();
    for name in names {
        if name.ends_with("NOTES.txt") {
            continue;
        }
        let text = manifests[name].as_str().unwrap();
        let parsed: Vec<Value> = serde_saphyr::from_multiple(text)
            .unwrap_or_else(|e| panic!("{name} is not YAML: {e}\n{text}"));
        docs.extend(parsed.into_iter().filter(|d| !d.is_null()));
    }
    Ok(Some(Rendered {
        docs,
        lint: v["lint"].clone(),
    }))
}

fn render(values: Option<&Path>) -> Option<Rendered> {
    try_render(values).unwrap_or_else(|e| panic!("render failed: {e}"))
}

fn values_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn established() -> PathBuf {
    root().join("tests/helm/established-values.yaml")
}

fn find<'a>(r: &'a Rendered, kind: &str, name: &str) -> &'a Value {
    r.docs
        .iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} rendered"))
}

fn kinds(r: &Rendered) -> Vec<String> {
    let mut v: Vec<String> = r
        .docs
        .iter()
        .map(|d| {
            format!(
                "{}/{}",
                d["kind"].as_str().unwrap(),
                d["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}

fn check_lint(r: &Rendered) {
    assert_eq!(r.lint["errors"], json!([]), "{:#}", r.lint);
    // Severity 1 is informational ("icon is recommended"); 2 warning, 3 error.
    for m in r.lint["messages"].as_array().unwrap() {
        assert!(m["severity"].as_u64().unwrap() < 2, "lint --strict: {m}");
    }
}

const CRD_GROUP: &str = "monitoring.coreos.com/";

fn kubernetes_validate(r: &Rendered) {
    let kv = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("kubernetes-validate"))
            .find(|p| p.is_file())
    });
    let Some(kv) = kv else {
        skip("kubernetes-validate not installed (pip install kubernetes-validate)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for (i, d) in r.docs.iter().enumerate() {
        if d["apiVersion"]
            .as_str()
            .unwrap_or("")
            .starts_with(CRD_GROUP)
        {
            skipped.push(d["kind"].as_str().unwrap().to_string());
            continue;
        }
        let p = dir.path().join(format!("{i:02}.json"));
        std::fs::write(&p, serde_json::to_vec_pretty(d).unwrap()).unwrap();
        files.push(p);
    }
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
    eprintln!(
        "kubernetes-validate: {} objects valid; no bundled schema (checked structurally): {skipped:?}",
        files.len()
    );
}

const WEB_CONFIG_MOUNT: &str = "/etc/certvigil/web/webconfig.yaml";

/// Every rendered certvigil configuration, by ConfigMap name; each passes check-config.
/// The web configuration it names is the rendered Secret's, written where the test
/// can read it (as the pod sees it through the Secret volume), so check-config
/// validates that file too.
fn check_configs(r: &Rendered) -> BTreeMap<String, Value> {
    let dir = tempfile::tempdir().unwrap();
    let web = r
        .docs
        .iter()
        .find_map(|d| d["stringData"]["webconfig.yaml"].as_str())
        .map(|text| {
            let p = dir.path().join("webconfig.yaml");
            std::fs::write(&p, text).unwrap();
            p
        });
    let mut out = BTreeMap::new();
    for d in &r.docs {
        let Some(text) = d["data"]["certvigil.yml"].as_str() else {
            continue;
        };
        let name = d["metadata"]["name"].as_str().unwrap().to_string();
        let p = dir.path().join(format!("{name}.yml"));
        let local = match &web {
            Some(w) if text.contains(WEB_CONFIG_MOUNT) => {
                text.replace(WEB_CONFIG_MOUNT, w.to_str().unwrap())
            }
            _ => text.to_string(),
        };
        std::fs::write(&p, local).unwrap();
        let o = support_cli::run(&["check-config", "--config", p.to_str().unwrap()]);
        assert_eq!(
            support_cli::code(&o),
            0,
            "{name}:\n{text}\n{}",
            support_cli::show(&o)
        );
        out.insert(name, serde_saphyr::from_str(text).unwrap());
    }
    assert!(!out.is_empty());
    out
}

fn files_in(dir: &str, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().unwrap().ends_with(suffix))
        .collect();
    v.sort();
    v
}

fn check_rules_and_dashboards(r: &Rendered, dashboards: bool) {
    let rule = find(r, "PrometheusRule", "cv-certvigil");
    let mut groups = Vec::new();
    for f in files_in("alerts", ".rules.yml") {
        let v: Value = serde_saphyr::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        groups.extend(v["groups"].as_array().unwrap().iter().cloned());
    }
    assert!(!groups.is_empty());
    assert_eq!(
        rule["spec"]["groups"],
        Value::Array(groups),
        "PrometheusRule != alerts/"
    );
    let cms: Vec<&Value> = r
        .docs
        .iter()
        .filter(|d| d["metadata"]["labels"]["grafana_dashboard"] == "1")
        .collect();
    if !dashboards {
        assert!(cms.is_empty());
        return;
    }
    let want = files_in("dashboards", ".json");
    assert_eq!(cms.len(), want.len());
    for f in want {
        let base = f.file_name().unwrap().to_str().unwrap();
        let cm = cms
            .iter()
            .find(|c| c["data"][base].is_string())
            .unwrap_or_else(|| panic!("no ConfigMap holds {base}"));
        assert_eq!(
            cm["data"][base].as_str().unwrap(),
            std::fs::read_to_string(&f).unwrap(),
            "{base} differs from dashboards/"
        );
    }
}

fn pods(r: &Rendered) -> Vec<(&str, &Value)> {
    r.docs
        .iter()
        .filter(|d| d["kind"] == "Deployment" || d["kind"] == "DaemonSet")
        .map(|d| {
            (
                d["metadata"]["name"].as_str().unwrap(),
                &d["spec"]["template"]["spec"],
            )
        })
        .collect()
}

fn check_hardening(r: &Rendered, as_root: bool) {
    let ps = pods(r);
    assert!(!ps.is_empty());
    for (name, pod) in ps {
        let daemon = name.contains("-host-");
        let root_here = as_root && daemon;
        for c in pod["containers"].as_array().unwrap() {
            let sc = &c["securityContext"];
            assert_eq!(sc["readOnlyRootFilesystem"], true, "{name}");
            assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}");
            assert_eq!(sc["privileged"], false, "{name}");
            assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{name}");
            if root_here {
                assert_eq!(
                    sc["capabilities"]["add"],
                    json!(["DAC_READ_SEARCH"]),
                    "{name}"
                );
                assert_eq!(sc["runAsUser"], 0, "{name}");
                assert_eq!(sc["runAsNonRoot"], false, "{name}");
            } else {
                assert!(sc["capabilities"]["add"].is_null(), "{name}");
                assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
                assert_eq!(pod["securityContext"]["runAsUser"], 65532, "{name}");
            }
            assert_eq!(
                pod["securityContext"]["seccompProfile"]["type"],
                "RuntimeDefault"
            );
            assert_eq!(c["ports"][0]["containerPort"], 9793, "{name}");
            for m in c["volumeMounts"].as_array().unwrap() {
                assert_eq!(m["readOnly"], true, "{name}: {m}");
            }
        }
        if daemon {
            assert_eq!(pod["automountServiceAccountToken"], false, "{name}");
            // Every hostPath is mounted, read-only, at its host path.
            let c = &pod["containers"][0];
            for v in pod["volumes"].as_array().unwrap() {
                if let Some(path) = v["hostPath"]["path"].as_str() {
                    let m = c["volumeMounts"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|m| m["name"] == v["name"])
                        .unwrap_or_else(|| panic!("{name}: {path} not mounted"));
                    assert_eq!(m["mountPath"], path, "{name}");
                    assert_eq!(m["readOnly"], true, "{name}");
                }
            }
        }
    }
}

fn rbac_rules(r: &Rendered) -> Vec<(String, String, Vec<String>)> {
    let role = find(r, "ClusterRole", "cv-certvigil");
    let mut out = Vec::new();
    for rule in role["rules"].as_array().unwrap() {
        let verbs: Vec<String> = rule["verbs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        for g in rule["apiGroups"].as_array().unwrap() {
            for res in rule["resources"].as_array().unwrap() {
                out.push((
                    g.as_str().unwrap().into(),
                    res.as_str().unwrap().into(),
                    verbs.clone(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn lw(group: &str, res: &str) -> (String, String, Vec<String>) {
    (
        group.into(),
        res.into(),
        vec!["list".into(), "watch".into()],
    )
}

#[test]
fn default_values_lint_validate_and_check_config() {
    let Some(r) = render(None) else { return };
    check_lint(&r);
    assert_eq!(
        kinds(&r),
        vec![
            "ClusterRole/cv-certvigil",
            "ClusterRoleBinding/cv-certvigil",
            "ConfigMap/cv-certvigil-cluster",
            "Deployment/cv-certvigil",
            "PrometheusRule/cv-certvigil",
            "Service/cv-certvigil",
            "ServiceAccount/cv-certvigil",
            "ServiceMonitor/cv-certvigil",
        ]
    );
    kubernetes_validate(&r);
    let cfgs = check_configs(&r);
    let k = &cfgs["cv-certvigil-cluster"]["kubernetes"];
    assert_eq!(k["name"], "cluster");
    assert_eq!(
        k["secrets"]["types"],
        json!([{"type": "kubernetes.io/tls", "keys": ["tls.crt"], "pkcs12_passwords": [], "keystore_passwords": []}])
    );
    assert_eq!(rbac_rules(&r), vec![lw("", "secrets")]);
    check_rules_and_dashboards(&r, false);
    check_hardening(&r, false);
    let svc = find(&r, "Service", "cv-certvigil");
    assert_eq!(svc["spec"]["clusterIP"], "None");
    assert_eq!(svc["spec"]["ports"][0]["port"], 9793);
}

#[test]
fn established_chart_values_work_unchanged() {
    let Some(r) = render(Some(&established())) else {
        return;
    };
    check_lint(&r);
    for want in [
        "DaemonSet/cv-certvigil-host-cp",
        "DaemonSet/cv-certvigil-host-nodes",
        "PodMonitor/cv-certvigil",
        "Secret/cv-certvigil-webconfig",
        "ServiceAccount/cv-certvigil-host",
        "ConfigMap/cv-certvigil-dashboard-certvigil",
    ] {
        assert!(
            kinds(&r).contains(&want.to_string()),
            "{want} missing: {:?}",
            kinds(&r)
        );
    }
    kubernetes_validate(&r);
    let cfgs = check_configs(&r);
    check_rules_and_dashboards(&r, true);
    check_hardening(&r, false);

    // The cluster configuration carries the mapped selectors and keystore passwords.
    let cluster = &cfgs["cv-certvigil-cluster"];
    assert_eq!(cluster["metrics"]["expose_relative"], true);
    assert_eq!(cluster["metrics"]["expose_per_cert_error"], true);
    assert_eq!(cluster["log"]["level"], "debug");
    assert_eq!(
        cluster["server"]["web_config_file"],
        "/etc/certvigil/web/webconfig.yaml"
    );
    let k = &cluster["kubernetes"];
    assert_eq!(k["namespaces"], json!(["default", "ingress-nginx"]));
    assert_eq!(
        k["secrets"]["label_selector"],
        "app.kubernetes.io/managed-by=cert-manager,!skip-monitoring"
    );
    assert_eq!(
        k["secrets"]["expose_labels"],
        json!(["app.kubernetes.io/name"])
    );
    let types = k["secrets"]["types"].as_array().unwrap();
    assert_eq!(types[0]["type"], "kubernetes.io/tls");
    assert_eq!(types[0]["keys"], json!(["tls.crt", "ca.crt"]));
    assert_eq!(types[1]["type"], "Opaque");
    assert_eq!(types[1]["keys"], json!(["keystore.p12", "truststore.jks"]));
    assert_eq!(types[1]["pkcs12_password_key"], "password");
    assert_eq!(types[1]["keystore_passwords"], json!(["changeit"]));
    assert_eq!(
        k["configmaps"],
        json!({"enabled": true, "keys": ["ca.crt"]})
    );
    assert_eq!(
        k["cabundles"]["resources"],
        json!([
            "validatingwebhookconfigurations",
            "mutatingwebhookconfigurations",
            "apiservices"
        ])
    );
    assert_eq!(
        rbac_rules(&r),
        vec![
            lw("", "configmaps"),
            lw("", "secrets"),
            lw(
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations"
            ),
            lw(
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations"
            ),
            lw("apiregistration.k8s.io", "apiservices"),
        ]
    );

    // One DaemonSet per node group, with its selector, tolerations and paths.
    let cp = &cfgs["cv-certvigil-host-cp"];
    assert_eq!(cp["sources"][0]["name"], "host-paths-cp");
    // Paths below a watched directory (read recursively) are not listed twice.
    assert_eq!(
        cp["sources"][0]["paths"],
        json!([
            "/etc/kubernetes/pki",
            "/var/lib/kubelet/pki/kubelet-client-current.pem"
        ])
    );
    assert_eq!(cp["sources"][1]["kind"], "kubeconfig");
    assert_eq!(cp["sources"][1]["name"], "host-kubeconfigs-cp");
    assert_eq!(cp["kubernetes"]["enabled"], false);
    let nodes = &cfgs["cv-certvigil-host-nodes"];
    assert_eq!(nodes["scan"]["interval"], "60s");
    // The global watchDirectories default cascades into the entry that sets none.
    assert_eq!(
        nodes["sources"][0]["paths"],
        json!([
            "/etc/kubernetes/pki",
            "/etc/ssl/private/*.crt",
            "/var/lib/kubelet/pki/kubelet-client-current.pem",
            "/var/lib/kubelet/pki/kubelet.crt"
        ])
    );
    let ds = find(&r, "DaemonSet", "cv-certvigil-host-cp");
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(
        pod["nodeSelector"],
        json!({"node-role.kubernetes.io/control-plane": ""})
    );
    assert_eq!(
        pod["tolerations"][0]["key"],
        "node-role.kubernetes.io/control-plane"
    );
    let mut host: Vec<&str> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["hostPath"]["path"].as_str())
        .collect();
    host.sort();
    assert_eq!(host, vec!["/etc/kubernetes", "/var/lib/kubelet/pki"]);
    // Basic auth protects every path: the probes are TCP checks.
    let c = &pod["containers"][0];
    assert_eq!(c["readinessProbe"]["tcpSocket"]["port"], "metrics");
    let sm = find(&r, "ServiceMonitor", "cv-certvigil");
    assert_eq!(sm["metadata"]["labels"]["release"], "kube-prometheus-stack");
    assert_eq!(sm["spec"]["endpoints"][0]["interval"], "60s");
    assert_eq!(sm["spec"]["endpoints"][0]["scrapeTimeout"], "30s");
}

#[test]
fn read_as_root_adds_only_dac_read_search_and_network_policy_renders() {
    let dir = tempfile::tempdir().unwrap();
    let v = values_file(
        dir.path(),
        "root.yaml",
        "secretsExporter:\n  enabled: false\nprometheusServiceMonitor:\n  create: false\n\
         prometheusRules:\n  create: false\nnetworkPolicy:\n  enabled: true\n\
         hostPathsExporter:\n  readAsRoot: true\n  daemonSets:\n    etcd:\n      \
         watchDirectories: [/etc/kubernetes/pki/etcd, \"/var/lib/etcd/**/*.crt\"]\n",
    );
    let Some(r) = render(Some(&v)) else { return };
    check_lint(&r);
    assert_eq!(
        kinds(&r),
        vec![
            "ConfigMap/cv-certvigil-host-etcd",
            "DaemonSet/cv-certvigil-host-etcd",
            "NetworkPolicy/cv-certvigil",
            "Service/cv-certvigil",
            "ServiceAccount/cv-certvigil-host",
        ]
    );
    kubernetes_validate(&r);
    check_configs(&r);
    check_hardening(&r, true);
    let pod = &find(&r, "DaemonSet", "cv-certvigil-host-etcd")["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsUser"], 0);
    let mut host: Vec<&str> = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["hostPath"]["path"].as_str())
        .collect();
    host.sort();
    // The static prefix of the glob is what gets mounted.
    assert_eq!(host, vec!["/etc/kubernetes/pki/etcd", "/var/lib/etcd"]);
}

/// The established chart's selector values map onto certvigil's selectors
/// (namespace and name globs, exposed ConfigMap / caBundle labels) and the
/// rendered configuration passes check-config.
#[test]
fn selector_values_map_onto_the_kubernetes_selectors() {
    let dir = tempfile::tempdir().unwrap();
    let v = values_file(
        dir.path(),
        "selectors.yaml",
        "secretsExporter:\n  includeNamespaces: [\"team-*\"]\n  excludeNamespaces: [team-old]\n  includeSecrets: [\"web-*\"]\n  excludeSecrets: [\"*-staging\"]\n  configMapKeys: [ca.crt]\n  includeConfigMaps: [\"trust-*\"]\n  exposeConfigMapLabels: [team]\ncabundlesExporter:\n  exposeLabels: [app]\n",
    );
    let Some(r) = render(Some(&v)) else { return };
    let cfgs = check_configs(&r);
    let k = &cfgs["cv-certvigil-cluster"]["kubernetes"];
    assert_eq!(k["namespaces"], serde_json::json!(["team-*"]), "{k}");
    assert_eq!(k["exclude_namespaces"], serde_json::json!(["team-old"]));
    assert_eq!(k["secrets"]["include"], serde_json::json!(["web-*"]));
    assert_eq!(k["secrets"]["exclude"], serde_json::json!(["*-staging"]));
    assert_eq!(k["configmaps"]["include"], serde_json::json!(["trust-*"]));
    assert_eq!(
        k["configmaps"]["expose_labels"],
        serde_json::json!(["team"])
    );
    assert_eq!(k["cabundles"]["expose_labels"], serde_json::json!(["app"]));
}

#[test]
fn keys_certvigil_cannot_honour_fail_the_render_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("secretsExporter:\n  includeNamespaceLabels: [team=a]\n", "secretsExporter.includeNamespaceLabels"),
        (
            "secretsExporter:\n  secretTypes:\n    - type: Opaque\n      keyPatterns: [\"^.*\\\\.crt$\"]\n",
            "keyPatterns",
        ),
        ("metricLabelsFilterList: [subject_CN]\n", "metricLabelsFilterList"),
        ("rbacProxy:\n  enabled: true\n", "rbacProxy.enabled"),
        ("prometheusRules:\n  warningDaysLeft: 30\n", "prometheusRules.warningDaysLeft"),
        ("cabundlesExporter:\n  includeNames: [x]\n", "cabundlesExporter.includeNames"),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let v = values_file(dir.path(), &format!("bad{i}.yaml"), text);
        match try_render(Some(&v)) {
            Ok(None) => return,
            Ok(Some(_)) => panic!("{text:?} rendered"),
            Err(e) => assert!(e.contains(needle), "{text:?}: {e}"),
        }
    }
}

#[test]
fn health_checks_grow_the_cluster_role_by_exactly_their_resources() {
    let dir = tempfile::tempdir().unwrap();
    // Default: off, in the configuration and in the ClusterRole.
    let Some(r) = render(None) else { return };
    let k = &check_configs(&r)["cv-certvigil-cluster"]["kubernetes"];
    assert_eq!(k["ingresses"], json!({"enabled": false}));
    assert_eq!(k["cert_manager"], json!({"enabled": false}));
    let v = values_file(
        dir.path(),
        "health.yaml",
        "healthChecks:\n  ingresses: true\n  certManager: true\n",
    );
    let Some(r) = render(Some(&v)) else { return };
    check_lint(&r);
    kubernetes_validate(&r);
    let k = &check_configs(&r)["cv-certvigil-cluster"]["kubernetes"];
    assert_eq!(k["ingresses"], json!({"enabled": true}));
    assert_eq!(k["cert_manager"], json!({"enabled": true}));
    assert_eq!(
        rbac_rules(&r),
        vec![
            lw("", "secrets"),
            lw("cert-manager.io", "certificaterequests"),
            lw("cert-manager.io", "certificates"),
            lw("cert-manager.io", "clusterissuers"),
            lw("cert-manager.io", "issuers"),
            lw("networking.k8s.io", "ingresses"),
        ]
    );
    // Only Ingresses.
    let v = values_file(dir.path(), "ing.yaml", "healthChecks:\n  ingresses: true\n");
    let Some(r) = render(Some(&v)) else { return };
    assert_eq!(
        rbac_rules(&r),
        vec![lw("", "secrets"), lw("networking.k8s.io", "ingresses")]
    );
}
