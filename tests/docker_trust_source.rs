//! The `docker_trust` source against real Docker Content Trust data: a real
//! `notary-server` (Debian `notary`, in-memory storage, TLS on 127.0.0.1) and the
//! real `notary` client initialise and publish a repository and add a delegation
//! with an X.509 certificate, into a trust directory laid out as
//! `~/.docker/trust`. The source must list the root and delegation certificates,
//! flag TUF role expiry at the right instants, flag an unencrypted key in
//! `private/` (and not notary's own encrypted keys), and never output key
//! material. notary, notary-server and openssl are required under
//! `CERTVIGIL_REQUIRE_REAL=1`, skipped loudly otherwise.

mod support_cli;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use certvigil::model::{FindingId, SourceKind};
use certvigil::scraper::Scraper;
use certvigil::sources::docker_trust::{DockerTrustConfig, DockerTrustSource};
use certvigil::sources::Source;
use chrono::{DateTime, Utc};
use support_cli::free_port;

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
        eprintln!("*** SKIP docker_trust_source: {name} not installed ***");
    }
    found
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sh(cmd: &mut Command, what: &str) {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn self_signed(openssl: &Path, dir: &Path, name: &str, subj: &str, days: u32, san: &str) {
    let mut c = Command::new(openssl);
    c.current_dir(dir).args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &format!("{name}.key"),
        "-out",
        &format!("{name}.crt"),
        "-days",
        &days.to_string(),
        "-subj",
        subj,
    ]);
    if !san.is_empty() {
        c.args(["-addext", san]);
    }
    sh(&mut c, "openssl req");
}

fn expires(trust: &Path, role: &str) -> DateTime<Utc> {
    let p = trust.join(format!("tuf/example.com/app/metadata/{role}.json"));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    DateTime::parse_from_rfc3339(v["signed"]["expires"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn scan(trust: &Path, at: DateTime<Utc>) -> certvigil::inventory::Snapshot {
    let src: Arc<dyn Source> = Arc::new(DockerTrustSource::new(DockerTrustConfig {
        name: "trust".into(),
        trust_dirs: vec![trust.to_path_buf()],
        ..Default::default()
    }));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut s = Scraper::new(vec![src], Duration::from_secs(60));
        s.scan(at).await
    })
}

fn ids(snap: &certvigil::inventory::Snapshot) -> Vec<(FindingId, String)> {
    snap.findings
        .iter()
        .map(|f| (f.id, f.location.clone()))
        .collect()
}

#[test]
fn notary_trust_data_certificates_role_expiry_and_keys() {
    let (Some(notary), Some(server), Some(openssl)) =
        (tool("notary"), tool("notary-server"), tool("openssl"))
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let port = free_port();
    self_signed(
        &openssl,
        d,
        "server",
        "/CN=127.0.0.1",
        30,
        "subjectAltName=IP:127.0.0.1",
    );
    self_signed(&openssl, d, "releases", "/CN=releases-signer", 20, "");
    let config = serde_json::json!({
        "server": {
            "http_addr": format!("127.0.0.1:{port}"),
            "tls_key_file": d.join("server.key"),
            "tls_cert_file": d.join("server.crt"),
        },
        "trust_service": {"type": "local", "hostname": "", "port": "", "key_algorithm": "ecdsa"},
        "logging": {"level": "error"},
        "storage": {"backend": "memory"},
    });
    std::fs::write(d.join("server.json"), config.to_string()).unwrap();
    let _server = Server(
        Command::new(&server)
            .arg("-config")
            .arg(d.join("server.json"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut up = false;
    for _ in 0..300 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(up, "notary-server did not listen on 127.0.0.1:{port}");

    let trust = d.join("trust");
    let client = |args: &[&str]| {
        let mut c = Command::new(&notary);
        c.arg("-s")
            .arg(format!("https://127.0.0.1:{port}"))
            .arg("-d")
            .arg(&trust)
            .arg("--tlscacert")
            .arg(d.join("server.crt"))
            .args(args)
            .env("NOTARY_ROOT_PASSPHRASE", "root-pass")
            .env("NOTARY_TARGETS_PASSPHRASE", "targets-pass")
            .env("NOTARY_SNAPSHOT_PASSPHRASE", "snapshot-pass")
            .env("NOTARY_DELEGATION_PASSPHRASE", "delegation-pass");
        sh(&mut c, &format!("notary {}", args.join(" ")));
    };
    std::fs::write(d.join("artifact.txt"), "hello").unwrap();
    client(&["init", "example.com/app"]);
    let artifact = d.join("artifact.txt");
    client(&["add", "example.com/app", "v1", artifact.to_str().unwrap()]);
    client(&["publish", "example.com/app"]);
    let releases = d.join("releases.crt");
    client(&[
        "delegation",
        "add",
        "-p",
        "example.com/app",
        "targets/releases",
        releases.to_str().unwrap(),
        "--all-paths",
    ]);
    // A pull refreshes the client's cache with what the server now holds
    // (`delegation add -p` publishes, the cached targets.json follows on a pull).
    client(&["delegation", "list", "example.com/app"]);
    // An unencrypted signing key left in private/ (as `docker trust key load`
    // of a plain key file, or a careless copy).
    let plain = trust.join("private/plain.key");
    sh(
        Command::new(&openssl).args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            plain.to_str().unwrap(),
        ]),
        "openssl genpkey",
    );
    let plain_text = std::fs::read_to_string(&plain).unwrap();
    assert!(plain_text.contains("BEGIN PRIVATE KEY"), "{plain_text}");
    let notary_keys = std::fs::read_dir(trust.join("private"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != "plain.key")
        .count();
    assert!(notary_keys >= 3, "notary wrote {notary_keys} keys");

    // Now: the root (10 years) and delegation (20 days) certificates; no TUF
    // metadata is near expiry except what the server re-signs (timestamp, 14 days,
    // not flagged until expired); the plain key is the one key finding.
    let now = Utc::now();
    let snap = scan(&trust, now);
    assert!(snap.sources.iter().all(|s| s.up), "{:?}", snap.sources);
    let certs: Vec<_> = snap
        .certificates
        .iter()
        .filter(|c| c.source.kind == SourceKind::DockerTrust)
        .collect();
    let cn = |want: &str| {
        certs
            .iter()
            .find(|c| c.cert.subject.cn == want)
            .unwrap_or_else(|| {
                panic!(
                    "no {want} certificate: {:?}; errors {:?}; targets.json {}",
                    certs.iter().map(|c| &c.cert.subject.cn).collect::<Vec<_>>(),
                    snap.errors,
                    std::fs::read_to_string(
                        trust.join("tuf/example.com/app/metadata/targets.json")
                    )
                    .unwrap_or_default()
                )
            })
    };
    let root = cn("example.com/app");
    assert_eq!(root.source.label("embedded_kind"), Some("root"));
    assert_eq!(
        root.source.label("docker_trust_gun"),
        Some("example.com/app")
    );
    assert!(
        root.source.location.contains("metadata/root.json:keys/"),
        "{}",
        root.source.location
    );
    assert!(root.cert.not_after > now.timestamp() + 9 * 365 * 86_400);
    let del = cn("releases-signer");
    assert_eq!(del.source.label("embedded_kind"), Some("targets/releases"));
    assert!(del.cert.not_after < now.timestamp() + 21 * 86_400);
    assert_eq!(certs.len(), 2, "certificates: {certs:?}");
    let found = ids(&snap);
    assert_eq!(
        found,
        vec![(
            FindingId::PrivateKeyUnencrypted,
            plain.to_string_lossy().into_owned()
        )],
        "{:#?}",
        snap.findings
    );
    assert!(snap.errors.is_empty(), "{:?}", snap.errors);

    // Ten days before the targets role expires: targets expiring; by then the
    // cached timestamp (and snapshot, same 3 years as targets) states are past or near.
    let targets = expires(&trust, "targets");
    let snap = scan(&trust, targets - chrono::Duration::days(10));
    let found = ids(&snap);
    assert!(
        found.contains(&(
            FindingId::TufMetadataExpiring,
            "example.com/app:targets".into()
        )),
        "{found:?}"
    );
    assert!(
        found.contains(&(
            FindingId::TufMetadataExpired,
            "example.com/app:timestamp".into()
        )),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|(_, l)| l == "example.com/app:root"),
        "{found:?}"
    );
    // After the root expires: every role expired.
    let root_exp = expires(&trust, "root");
    let snap = scan(&trust, root_exp + chrono::Duration::days(1));
    let found = ids(&snap);
    for role in ["root", "targets", "snapshot", "timestamp"] {
        assert!(
            found.contains(&(
                FindingId::TufMetadataExpired,
                format!("example.com/app:{role}")
            )),
            "{role}: {found:?}"
        );
    }

    // No key material in any output.
    let json = certvigil::outputs::json::render(&snap);
    let body: String = plain_text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(!json.contains("PRIVATE KEY") && !json.contains(&body[..40]));
    let report = certvigil::outputs::report::render(
        &snap,
        &certvigil::config::ReportConfig {
            warning_window: Duration::from_secs(28 * 86_400),
        },
        certvigil::outputs::report::ReportFormat::Json,
    );
    assert!(!report.contains("PRIVATE KEY") && !report.contains(&body[..40]));
}
