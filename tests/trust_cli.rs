//! Trust and revocation through the real binary (issue acceptance):
//!
//! * a real web PKI chain (tests/fixtures/webpki) verified by
//!   `scan --format json --trust-roots --intermediates --at --offline`: trusted
//!   at its validation time, `incomplete`/`untrusted` with a useful detail when
//!   the intermediate or the root is withheld, trusted through cross-signatures;
//! * an `openssl ca` PKI with a CRL served over HTTP on 127.0.0.1 and a real
//!   `openssl ocsp` responder: the revoked leaf is `revoked` by `crl` (and by
//!   `ocsp` when OCSP is preferred), the good leaf `good`, and `x509_cert_revoked`
//!   is 1 and 0 on the `/metrics` of `serve`.
//!
//! Anchors come from Debian's `ca-certificates` (Mozilla bundle) and the PKI from
//! `openssl`; without them the tests skip loudly, or fail under
//! `CERTVIGIL_REQUIRE_REAL=1`. Only 127.0.0.1 traffic (`--offline` for the real
//! chain, whose AIA/CRL URLs point to the internet).

mod support_cli;
mod support_pki;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support_cli::{bin, code, http, show, write};
use support_pki::{openssl_available, Ca, Responder, Route, TestServer};

const MOZILLA: &str = "/usr/share/ca-certificates/mozilla";

fn require_real() -> bool {
    std::env::var("CERTVIGIL_REQUIRE_REAL").is_ok_and(|v| v == "1")
}

/// Skip loudly, or fail when real engines are required.
fn unavailable(what: &str) -> bool {
    assert!(
        !require_real(),
        "{what} is missing (CERTVIGIL_REQUIRE_REAL=1)"
    );
    eprintln!("*** SKIPPED: {what} is missing ***");
    true
}

fn fixture_chain() -> Vec<String> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webpki/crates.io-chain.pem");
    let text = std::fs::read_to_string(path).unwrap();
    text.split_inclusive("-----END CERTIFICATE-----\n")
        .filter(|b| b.contains("BEGIN CERTIFICATE"))
        .map(|b| b[b.find("-----BEGIN").unwrap()..].to_string())
        .collect()
}

fn scan_json(args: &[&str]) -> Value {
    let o = Command::new(bin())
        .arg("scan")
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        matches!(code(&o), 0 | 1),
        "scan {args:?} failed: {}",
        show(&o)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", show(&o)))
}

/// The only certificate of a one-file scan.
fn only_cert(v: &Value) -> &Value {
    let certs = v["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 1, "{v:#}");
    &certs[0]
}

fn moz(name: &str) -> String {
    format!("{MOZILLA}/{name}.crt")
}

#[test]
fn real_web_pki_chain_at_its_validation_time() {
    if !Path::new(MOZILLA).is_dir() && unavailable(MOZILLA) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let chain = fixture_chain();
    assert_eq!(chain.len(), 4);
    let leaf = write(dir.path(), "leaf.pem", &chain[0]);
    let int = write(dir.path(), "int.pem", &chain[1]);
    let crosses = write(
        dir.path(),
        "crosses.pem",
        format!("{}{}", chain[2], chain[3]),
    );
    let (leaf, int, crosses) = (s(&leaf), s(&int), s(&crosses));
    let at = "2023-06-01T00:00:00Z";
    let amazon = moz("Amazon_Root_CA_1");

    // Full chain to the Amazon root of the Mozilla bundle.
    let v = scan_json(&[
        "--offline",
        "--trust-roots",
        &amazon,
        "--intermediates",
        &int,
        "--at",
        at,
        &leaf,
    ]);
    let c = only_cert(&v);
    assert_eq!(c["subject_cn"], "crates.io", "{c:#}");
    assert_eq!(c["trust"]["status"], "trusted", "{c:#}");
    assert!(c["trust"]["reason"].is_null(), "{c:#}");
    // The browser (CA/B Forum) rules accept the real web chain as well.
    let v = scan_json(&[
        "--offline",
        "--trust-profile",
        "webpki",
        "--trust-roots",
        &amazon,
        "--intermediates",
        &int,
        "--at",
        at,
        &leaf,
    ]);
    assert_eq!(only_cert(&v)["trust"]["status"], "trusted", "{v:#}");
    assert_eq!(c["revocation"]["status"], "not_checked", "offline: {c:#}");

    // Intermediate withheld: incomplete, naming what is missing.
    let v = scan_json(&["--offline", "--trust-roots", &amazon, "--at", at, &leaf]);
    let c = only_cert(&v);
    assert_eq!(c["trust"]["status"], "incomplete", "{c:#}");
    let detail = c["trust"]["detail"].as_str().unwrap();
    assert!(detail.contains("Amazon RSA 2048 M02"), "{detail}");

    // Root withheld (another anchor): untrusted, naming the missing anchor.
    let v = scan_json(&[
        "--offline",
        "--trust-roots",
        &moz("ISRG_Root_X1"),
        "--intermediates",
        &int,
        "--at",
        at,
        &leaf,
    ]);
    let c = only_cert(&v);
    assert_eq!(c["trust"]["status"], "untrusted", "{c:#}");
    let detail = c["trust"]["detail"].as_str().unwrap();
    assert!(detail.contains("Amazon Root CA 1"), "{detail}");

    // Through the cross-signed roots to Starfield Class 2.
    let v = scan_json(&[
        "--offline",
        "--trust-roots",
        &moz("Starfield_Class_2_CA"),
        "--intermediates",
        &int,
        "--intermediates",
        &crosses,
        "--at",
        at,
        &leaf,
    ]);
    let c = only_cert(&v);
    assert_eq!(c["trust"]["status"], "trusted", "{c:#}");

    // After the leaf's notAfter the same chain no longer verifies.
    let v = scan_json(&[
        "--offline",
        "--trust-roots",
        &amazon,
        "--intermediates",
        &int,
        "--at",
        "2024-06-01T00:00:00Z",
        &leaf,
    ]);
    let c = only_cert(&v);
    assert_ne!(c["trust"]["status"], "trusted", "{c:#}");
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// An `openssl ca` PKI: root → intermediate → good and revoked leaves, the
/// CRL on a 127.0.0.1 HTTP server and a real OCSP responder.
struct Pki {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    _server: TestServer,
    _responder: Responder,
    root: Ca,
    int: Ca,
    good: PathBuf,
    revoked: PathBuf,
}

fn pki() -> Pki {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let server = TestServer::start();
    let crl_url = server.url("/int.crl");
    let ocsp_port = support_pki::free_port();
    let ocsp_url = format!("http://127.0.0.1:{ocsp_port}/");
    let root = Ca::root(&dir, "CLI Root", 3650, &crl_url, &ocsp_url);
    let int = root.sub_ca(&dir, "CLI Int", 1825, &crl_url, &ocsp_url);
    let good = int.issue("good.cli.test", "leaf_ext", 365, None);
    let revoked = int.issue("revoked.cli.test", "leaf_ext", 365, None);
    int.revoke(&revoked, "keyCompromise");
    let (_, der) = int.crl(24);
    server.route("/int.crl", Route::Body(der));
    let responder = Responder::start(&int, ocsp_port);
    Pki {
        _tmp: tmp,
        dir,
        _server: server,
        _responder: responder,
        root,
        int,
        good,
        revoked,
    }
}

impl Pki {
    fn config(&self, methods: &str) -> PathBuf {
        let leaves = self.dir.join("leaves");
        std::fs::create_dir_all(&leaves).unwrap();
        std::fs::copy(&self.good, leaves.join("good.pem")).unwrap();
        std::fs::copy(&self.revoked, leaves.join("revoked.pem")).unwrap();
        let yaml = format!(
            "scan:\n  interval: 1s\nsources:\n  - kind: file\n    name: pki\n    paths: [\"{leaves}\"]\n\
             trust:\n  roots: [\"{root}\"]\n  intermediates: [\"{int}\"]\n  system_roots: false\n\
             revocation:\n  methods: [{methods}]\n  fetch_timeout: 10s\n",
            leaves = leaves.display(),
            root = self.root.cert.display(),
            int = self.int.cert.display(),
        );
        write(
            &self.dir,
            &format!("cfg-{}.yml", methods.replace(", ", "-")),
            yaml,
        )
    }
}

fn by_cn<'a>(v: &'a Value, cn: &str) -> &'a Value {
    v["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["subject_cn"] == cn)
        .unwrap_or_else(|| panic!("{cn} not in {v:#}"))
}

#[test]
fn openssl_pki_revocation_in_scan_json_and_metrics() {
    if !openssl_available() && unavailable("openssl") {
        return;
    }
    let p = pki();

    // CRL first.
    let cfg = p.config("crl, ocsp");
    let v = scan_json(&["--config", cfg.to_str().unwrap()]);
    let r = by_cn(&v, "revoked.cli.test");
    assert_eq!(r["trust"]["status"], "trusted", "{r:#}");
    assert_eq!(r["revocation"]["status"], "revoked", "{r:#}");
    assert_eq!(r["revocation"]["method"], "crl", "{r:#}");
    assert_eq!(r["revocation"]["reason"], "keyCompromise", "{r:#}");
    assert!(r["revocation"]["revoked_at"].is_string(), "{r:#}");
    let g = by_cn(&v, "good.cli.test");
    assert_eq!(g["revocation"]["status"], "good", "{g:#}");
    assert_eq!(g["revocation"]["method"], "crl", "{g:#}");

    // OCSP preferred: the real responder answers.
    let cfg_ocsp = p.config("ocsp, crl");
    let v = scan_json(&["--config", cfg_ocsp.to_str().unwrap()]);
    let r = by_cn(&v, "revoked.cli.test");
    assert_eq!(r["revocation"]["status"], "revoked", "{r:#}");
    assert_eq!(r["revocation"]["method"], "ocsp", "{r:#}");
    let g = by_cn(&v, "good.cli.test");
    assert_eq!(g["revocation"]["status"], "good", "{g:#}");
    assert_eq!(g["revocation"]["method"], "ocsp", "{g:#}");

    // --fail-on revoked turns the revoked leaf into exit 1.
    let o = Command::new(bin())
        .args([
            "scan",
            "--config",
            cfg.to_str().unwrap(),
            "--fail-on",
            "revoked",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", show(&o));

    // serve: x509_cert_revoked is 1 for the revoked leaf, 0 for the good one.
    let port = support_cli::free_port();
    let log = p.dir.join("serve.log");
    let mut child = Command::new(bin())
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .unwrap();
    let metrics = loop {
        if let Some(st) = child.try_wait().unwrap() {
            panic!(
                "serve exited ({st}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        if let Some(r) = http(port, "GET", "/metrics", &[]) {
            let text = r.body.clone();
            if r.status == 200 && text.contains("x509_cert_revoked{") {
                break text;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    let value = |cn: &str| -> String {
        metrics
            .lines()
            .find(|l| {
                l.starts_with("x509_cert_revoked{") && l.contains(&format!("subject_CN=\"{cn}\""))
            })
            .unwrap_or_else(|| panic!("no x509_cert_revoked for {cn}:\n{metrics}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(value("revoked.cli.test"), "1");
    assert_eq!(value("good.cli.test"), "0");
    let _ = &p.int;
}

/// `scan --fetch-aia`: a leaf given without its intermediate is `incomplete`;
/// with the flag its AIA caIssuers URL (served on 127.0.0.1) completes the chain;
/// `--offline` wins and sends nothing.
#[test]
fn fetch_aia_flag_completes_the_chain() {
    if !openssl_available() && unavailable("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let server = TestServer::start();
    let none = "http://127.0.0.1:9/";
    let root = Ca::root(dir, "AIA Root", 3650, none, none);
    let int = root.sub_ca(dir, "AIA Int", 1825, none, none);
    int.add_ext_section(
        "leaf_aia",
        &format!(
            "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n\
             authorityInfoAccess = caIssuers;URI:{}",
            server.url("/int.cer")
        ),
    );
    let leaf = int.issue("aia.cli.test", "leaf_aia", 365, None);
    server.route("/int.cer", Route::Body(std::fs::read(&int.cert).unwrap()));
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v = vec!["--trust-roots".to_string(), s(&root.cert)];
        v.extend(extra.iter().map(|x| x.to_string()));
        v.push(s(&leaf));
        v
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        scan_json(&refs)
    };

    let v = run(&["--offline"]);
    let c = only_cert(&v);
    assert_eq!(c["trust"]["status"], "incomplete", "{c:#}");
    let v = run(&["--fetch-aia", "--offline"]);
    assert_eq!(only_cert(&v)["trust"]["status"], "incomplete", "{v:#}");
    assert_eq!(server.total(), 0, "--offline: no caIssuers request");

    let v = run(&["--fetch-aia"]);
    let c = only_cert(&v);
    assert_eq!(c["trust"]["status"], "trusted", "{c:#}");
    let detail = c["trust"]["detail"].as_str().unwrap();
    assert!(detail.contains("'AIA Int'"), "{detail}");
    assert!(detail.contains("AIA caIssuers"), "{detail}");
    assert_eq!(server.hits("/int.cer"), 1);
}

/// `--trust-profile` and `trust.profile`: the same private chain (a leaf with
/// serverAuth but no SAN) is trusted by the default profile (configured root →
/// `rfc5280`) and rejected with `reason: missing_san` by `webpki`; the reason
/// is `null` when trusted; a bad value is a usage/config error (exit 2).
#[test]
fn trust_profile_flag_and_config() {
    if !openssl_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let root = Ca::root(
        dir,
        "Profile Root",
        3650,
        "http://127.0.0.1:9/",
        "http://127.0.0.1:9/",
    );
    let int = root.sub_ca(
        dir,
        "Profile Int",
        1825,
        "http://127.0.0.1:9/",
        "http://127.0.0.1:9/",
    );
    let leaf = int.issue("nosan.profile.test", "leaf_ext", 365, None);
    let (root_s, int_s, leaf_s) = (s(&root.cert), s(&int.cert), s(&leaf));
    let base = [
        "--offline",
        "--trust-roots",
        &root_s,
        "--intermediates",
        &int_s,
    ];

    let v = scan_json(&[&base[..], &[leaf_s.as_str()]].concat());
    let c = only_cert(&v);
    assert_eq!(c["trust"]["status"], "trusted", "{c:#}");
    assert!(c["trust"]["reason"].is_null(), "{c:#}");

    for profile in [
        &["--trust-profile", "webpki"][..],
        &["--trust-profile", "rfc5280"][..],
    ] {
        let v = scan_json(&[&base[..], profile, &[leaf_s.as_str()]].concat());
        let c = only_cert(&v);
        if profile[1] == "webpki" {
            assert_eq!(c["trust"]["status"], "untrusted", "{c:#}");
            assert_eq!(c["trust"]["reason"], "missing_san", "{c:#}");
            assert!(
                c["trust"]["detail"]
                    .as_str()
                    .unwrap()
                    .contains("subjectAltName"),
                "{c:#}"
            );
        } else {
            assert_eq!(c["trust"]["status"], "trusted", "{c:#}");
        }
    }

    // trust.profile in a config file.
    let cfg = write(
        dir,
        "profile.yml",
        format!(
            "sources:\n  - kind: file\n    name: p\n    paths: [\"{leaf_s}\"]\n\
             trust:\n  roots: [\"{root_s}\"]\n  intermediates: [\"{int_s}\"]\n  profile: webpki\n\
             revocation:\n  offline: true\n"
        ),
    );
    let v = scan_json(&["--config", cfg.to_str().unwrap()]);
    assert_eq!(only_cert(&v)["trust"]["reason"], "missing_san", "{v:#}");

    // Bad values: exit 2, with the key or flag named.
    let o = Command::new(bin())
        .args(["scan", "--trust-profile", "browser", &leaf_s])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", show(&o));
    let bad = write(dir, "bad.yml", "trust:\n  profile: browser\n");
    let o = Command::new(bin())
        .args(["check-config", "--config", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert!(show(&o).contains("trust.profile"), "{}", show(&o));
}
