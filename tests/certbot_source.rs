//! The `certbot` source against real lineages: Debian's `certbot` obtaining and
//! renewing certificates from `pebble` (a local ACME CA) on 127.0.0.1
//! (`--standalone`, `PEBBLE_VA_ALWAYS_VALID=1`, config/work/logs dirs in a
//! temporary directory). Checks the deployed version after a renewal,
//! `acme_renewal_overdue` exactly past certbot's renewal time (`--at`),
//! `acme_lineage_broken` for a dangling link and an orphan conf,
//! `acme_staging_certificate`. Without certbot or pebble the tests skip loudly
//! (fail under `CERTVIGIL_REQUIRE_REAL=1`).

mod support_cli;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;
use support_cli::{free_port, show, tls_server_material, write};

/// `tool` is an executable on PATH (pebble has no version flag).
fn available(tool: &str) -> bool {
    let ok = std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p).any(|d| {
            std::fs::metadata(d.join(tool)).is_ok_and(|m| {
                m.is_file()
                    && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
            })
        })
    });
    if !ok {
        if std::env::var("CERTVIGIL_REQUIRE_REAL").as_deref() == Ok("1") {
            panic!("{tool} is required (CERTVIGIL_REQUIRE_REAL=1) but not found");
        }
        eprintln!("SKIPPED: {tool} not found on PATH");
    }
    ok
}

struct Acme {
    pebble: Child,
    dir: tempfile::TempDir,
    directory: String,
    ca: PathBuf,
    http_port: u16,
    /// Serial of lineage `a` before its renewal.
    a_first_serial: String,
}

impl Drop for Acme {
    fn drop(&mut self) {
        drop(self.pebble.stdin.take());
        let _ = self.pebble.wait();
    }
}

impl Acme {
    fn config_dir(&self) -> PathBuf {
        self.dir.path().join("le")
    }

    fn certbot(&self, args: &[&str]) {
        let d = self.dir.path();
        let o = Command::new("certbot")
            .args(args)
            .args([
                "--non-interactive",
                "--agree-tos",
                "--register-unsafely-without-email",
                "--server",
                &self.directory,
                "--config-dir",
                self.config_dir().to_str().unwrap(),
                "--work-dir",
                d.join("work").to_str().unwrap(),
                "--logs-dir",
                d.join("logs").to_str().unwrap(),
                "--http-01-address",
                "127.0.0.1",
                "--http-01-port",
                &self.http_port.to_string(),
            ])
            .env("REQUESTS_CA_BUNDLE", &self.ca)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "certbot {args:?}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }

    fn obtain(&self, name: &str) {
        self.certbot(&[
            "certonly",
            "--standalone",
            "-d",
            &format!("{name}.example.test"),
            "--cert-name",
            name,
        ]);
    }
}

fn run_json(args: &[&str]) -> Value {
    let o = Command::new(support_cli::bin())
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(matches!(o.status.code(), Some(0) | Some(1)), "{}", show(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&o)))
}

fn config(a: &Acme) -> PathBuf {
    write(
        a.dir.path(),
        "certvigil.yaml",
        format!(
            "sources:\n  - kind: certbot\n    name: le\n    config_dir: {}\n",
            a.config_dir().display()
        ),
    )
}

fn certbot_certs(v: &Value) -> Vec<&Value> {
    v["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["source_kind"] == "certbot")
        .collect()
}

fn acme() -> Option<&'static Acme> {
    static A: OnceLock<Option<Acme>> = OnceLock::new();
    A.get_or_init(|| {
        if !available("certbot") || !available("pebble") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = tls_server_material();
        let ca = write(dir.path(), "minica.pem", ca);
        let cert = write(dir.path(), "pebble.pem", cert);
        let key = write(dir.path(), "pebble.key", key);
        let port = free_port();
        let mgmt = free_port();
        let cfg = write(
            dir.path(),
            "pebble.json",
            format!(
                r#"{{"pebble": {{"listenAddress": "127.0.0.1:{port}", "managementListenAddress": "127.0.0.1:{mgmt}", "certificate": "{}", "privateKey": "{}", "httpPort": {}, "tlsPort": {}, "ocspResponderURL": "", "externalAccountBindingRequired": false}}}}"#,
                cert.display(),
                key.display(),
                free_port(),
                free_port()
            ),
        );
        // Dies with the test process (the fixture is a static: no destructor):
        // `sh` kills pebble when its stdin, a pipe from this process, closes.
        let pebble = Command::new("sh")
            .arg("-c")
            .arg("\"$@\" </dev/null >/dev/null 2>&1 & pid=$!; trap 'kill $pid 2>/dev/null' EXIT; read _ignored; exit 0")
            .args(["sh", "pebble", "-config", cfg.to_str().unwrap()])
            .env("PEBBLE_VA_ALWAYS_VALID", "1")
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pebble");
        let mut up = false;
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                up = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert!(up, "pebble did not come up");
        let mut a = Acme {
            pebble,
            directory: format!("https://127.0.0.1:{port}/dir"),
            ca,
            http_port: free_port(),
            dir,
            a_first_serial: String::new(),
        };
        for n in ["a", "b", "c"] {
            a.obtain(n);
        }
        let before = run_json(&["scan", "--config", config(&a).to_str().unwrap(), "--format", "json"]);
        a.a_first_serial = certbot_certs(&before)
            .iter()
            .find(|c| c["subject_cn"] == "a.example.test")
            .map(|c| c["serial_hex"].as_str().unwrap().to_string())
            .unwrap();
        // a: renewed (version 2 deployed).
        a.certbot(&["renew", "--force-renewal", "--cert-name", "a"]);
        let le = a.config_dir();
        // b: its chain is gone from the archive (dangling live link).
        std::fs::remove_file(le.join("archive/b/chain1.pem")).unwrap();
        // c: renews against a staging server.
        let c_conf = le.join("renewal/c.conf");
        let text = std::fs::read_to_string(&c_conf).unwrap();
        let text = text
            .lines()
            .map(|l| {
                if l.starts_with("server = ") {
                    "server = https://acme-staging-v02.api.letsencrypt.org/directory".to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(&c_conf, text).unwrap();
        // ghost: a renewal conf whose lineage was deleted by hand.
        write(
            &le.join("renewal"),
            "ghost.conf",
            format!(
                "version = 2.1.0\narchive_dir = {0}/archive/ghost\ncert = {0}/live/ghost/cert.pem\nprivkey = {0}/live/ghost/privkey.pem\nchain = {0}/live/ghost/chain.pem\nfullchain = {0}/live/ghost/fullchain.pem\n[renewalparams]\nserver = https://127.0.0.1/dir\n",
                le.display()
            ),
        );
        Some(a)
    })
    .as_ref()
}

fn findings_for<'a>(v: &'a Value, id: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == id)
        .collect()
}

fn location_has(f: &Value, needle: &str) -> bool {
    f["location"].as_str().unwrap().contains(needle)
}

#[test]
fn lineages_deployed_versions_and_broken_ones() {
    let Some(a) = acme() else { return };
    let cfg = config(a);
    let v = run_json(&[
        "report",
        "--config",
        cfg.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let certs = certbot_certs(&v);
    let mut cns: Vec<&str> = certs
        .iter()
        .map(|c| c["subject_cn"].as_str().unwrap())
        .collect();
    cns.sort();
    assert_eq!(
        cns,
        vec!["a.example.test", "b.example.test", "c.example.test"],
        "{v:#}"
    );
    let ca = certs
        .iter()
        .find(|c| c["subject_cn"] == "a.example.test")
        .unwrap();
    assert_ne!(
        ca["serial_hex"],
        a.a_first_serial.as_str(),
        "the renewed version is deployed"
    );
    assert!(ca["location"]
        .as_str()
        .unwrap()
        .ends_with("live/a/cert.pem"));
    assert_eq!(ca["labels"]["certbot_lineage"], "a");
    assert_eq!(ca["labels"]["acme_server"], a.directory.as_str());

    let broken = findings_for(&v, "acme_lineage_broken");
    assert!(
        broken.iter().any(|f| location_has(f, "renewal/b.conf")
            && f["message"].as_str().unwrap().contains("dangling")),
        "{broken:#?}"
    );
    assert!(
        broken.iter().any(|f| location_has(f, "renewal/ghost.conf")),
        "{broken:#?}"
    );
    let staging = findings_for(&v, "acme_staging_certificate");
    assert_eq!(staging.len(), 1, "{staging:#?}");
    assert!(location_has(staging[0], "renewal/c.conf"));
    // Lineage a is healthy: no lineage finding about it, nothing overdue now.
    let about_a: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| location_has(f, "renewal/a.conf"))
        .collect();
    assert!(about_a.is_empty(), "{about_a:#?}");
    assert!(findings_for(&v, "acme_renewal_overdue").is_empty());
    // No report carries key material.
    assert!(!v.to_string().contains("PRIVATE KEY"));
}

#[test]
fn renewal_overdue_appears_past_certbots_renewal_time_and_not_before() {
    let Some(a) = acme() else { return };
    let cfg = config(a);
    let v = run_json(&[
        "scan",
        "--config",
        cfg.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let not_after = certbot_certs(&v)
        .iter()
        .find(|c| c["subject_cn"] == "a.example.test")
        .map(|c| c["not_after"].as_str().unwrap().to_string())
        .unwrap();
    let not_after = chrono::DateTime::parse_from_rfc3339(&not_after).unwrap();
    // Debian's certbot 2.1.0 wrote the conf: renewal 30 days before expiry.
    let at = |days: i64| (not_after - chrono::Duration::days(days)).to_rfc3339();
    let overdue_for_a = |at: &str| {
        let v = run_json(&[
            "report",
            "--config",
            cfg.to_str().unwrap(),
            "--format",
            "json",
            "--at",
            at,
        ]);
        findings_for(&v, "acme_renewal_overdue")
            .into_iter()
            .any(|f| location_has(f, "renewal/a.conf"))
    };
    assert!(
        !overdue_for_a(&at(31)),
        "31 days before expiry: not yet due"
    );
    assert!(overdue_for_a(&at(29)), "29 days before expiry: overdue");
}
