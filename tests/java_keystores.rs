//! Java keystores made by the real `keytool` (JDK) at test time — JKS, JCEKS and
//! PKCS#12, each holding a CA key entry, a leaf key entry whose chain is
//! `[leaf, CA]` (a signed reply imported with `-importcert`) and a
//! trustedCertEntry — scanned by the real binary: every certificate is listed,
//! a key entry's chain in chain order; an unknown password is `bad_passphrase`;
//! truncated or garbage keystores are `bad_jks`.
//!
//! Without `keytool` the test skips loudly (fails under `CERTVIGIL_REQUIRE_REAL=1`).

mod support_cli;

use std::path::{Path, PathBuf};
use std::process::Command;

use support_cli::*;

const STOREPASS: &str = "storepass1";

fn keytool() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("keytool"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let msg = "keytool (a JDK, e.g. Debian default-jdk-headless) not found";
        assert!(
            std::env::var("CERTVIGIL_REQUIRE_REAL").as_deref() != Ok("1"),
            "{msg}; CERTVIGIL_REQUIRE_REAL=1"
        );
        eprintln!("SKIPPED: {msg}");
    }
    found
}

fn kt(tool: &Path, args: &[&str]) {
    let out = Command::new(tool)
        .args(args)
        .env("JAVA_TOOL_OPTIONS", "-Xshare:auto")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keytool {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A keystore of `storetype` at `dir/name` with entries `ca` (CA, self-signed),
/// `leaf` (chain leaf → CA) and `trusted` (a trustedCertEntry of `other`).
fn make_store(tool: &Path, dir: &Path, name: &str, storetype: &str, other: &Path) -> PathBuf {
    let store = dir.join(name);
    let s = store.to_str().unwrap();
    let common = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = extra.iter().map(|x| x.to_string()).collect();
        v.extend(
            [
                "-keystore",
                s,
                "-storetype",
                storetype,
                "-storepass",
                STOREPASS,
            ]
            .iter()
            .map(|x| x.to_string()),
        );
        v
    };
    let run = |extra: &[&str]| {
        let args = common(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        kt(tool, &refs);
    };
    let gen = |alias: &str, cn: &str, ext: &[&str]| {
        let dname = format!("CN={cn},O=Keytool Test");
        let mut a = vec![
            "-genkeypair",
            "-alias",
            alias,
            "-keyalg",
            "EC",
            "-groupname",
            "secp256r1",
            "-validity",
            "30",
            "-dname",
            &dname,
            "-keypass",
            STOREPASS,
        ];
        a.extend_from_slice(ext);
        run(&a);
    };
    gen("ca", &format!("{storetype} CA"), &["-ext", "bc:c"]);
    gen("leaf", &format!("{storetype} leaf"), &[]);
    let csr = dir.join(format!("{name}.csr"));
    let reply = dir.join(format!("{name}.reply"));
    run(&["-certreq", "-alias", "leaf", "-file", csr.to_str().unwrap()]);
    run(&[
        "-gencert",
        "-alias",
        "ca",
        "-infile",
        csr.to_str().unwrap(),
        "-outfile",
        reply.to_str().unwrap(),
        "-rfc",
        "-validity",
        "20",
    ]);
    run(&[
        "-importcert",
        "-alias",
        "leaf",
        "-file",
        reply.to_str().unwrap(),
        "-noprompt",
    ]);
    run(&[
        "-importcert",
        "-alias",
        "trusted",
        "-file",
        other.to_str().unwrap(),
        "-noprompt",
    ]);
    std::fs::remove_file(csr).unwrap();
    std::fs::remove_file(reply).unwrap();
    store
}

fn config(dir: &Path, keystore_passwords: &[&str], pkcs12_passwords: &[&str]) -> PathBuf {
    let list = |v: &[&str]| {
        v.iter()
            .map(|p| format!("{p:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = format!(
        "sources:\n  - kind: file\n    name: keystores\n    paths: [{:?}]\n    \
         keystore_passwords: [{}]\n    pkcs12_passwords: [{}]\n    try_empty_password: false\n\
         kubernetes:\n  enabled: false\ndocker:\n  enabled: false\nrevocation:\n  offline: true\n",
        dir.join("stores").display().to_string(),
        list(keystore_passwords),
        list(pkcs12_passwords),
    );
    let p = dir.join(format!("cfg-{}.yml", keystore_passwords.len()));
    std::fs::write(&p, text).unwrap();
    p
}

fn scan_json(cfg: &Path) -> serde_json::Value {
    let o = run(&[
        "scan",
        "--config",
        cfg.to_str().unwrap(),
        "--format",
        "json",
        "--offline",
    ]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// `(index_in_bundle, subject_cn)` of every certificate at `location`, by index.
fn certs_at(inv: &serde_json::Value, location: &Path) -> Vec<(u64, String)> {
    let loc = location.to_str().unwrap();
    let mut v: Vec<(u64, String)> = inv["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["location"] == loc)
        .map(|c| {
            (
                c["index_in_bundle"].as_u64().unwrap(),
                c["subject_cn"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn errors_at(inv: &serde_json::Value, location: &Path) -> Vec<String> {
    let loc = location.to_str().unwrap();
    inv["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["location"] == loc)
        .map(|e| e["reason"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn keytool_keystores_are_listed_in_chain_order_and_passwords_are_checked() {
    let Some(tool) = keytool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let stores = dir.path().join("stores");
    std::fs::create_dir(&stores).unwrap();
    let other = write(
        dir.path(),
        "other.pem",
        cert_expiring_in("other.example", 50),
    );

    let kinds = [
        ("store.jks", "JKS"),
        ("store.jceks", "JCEKS"),
        ("store.p12", "PKCS12"),
    ];
    let paths: Vec<(PathBuf, &str)> = kinds
        .iter()
        .map(|(name, t)| (make_store(&tool, &stores, name, t, &other), *t))
        .collect();

    // Hostile variants of the JKS: truncated, and garbage behind the magic number.
    let jks = std::fs::read(&paths[0].0).unwrap();
    let truncated = write(&stores, "truncated.jks", &jks[..jks.len() * 2 / 3]);
    let mut garbage = jks[..12].to_vec();
    garbage.extend(std::iter::repeat_n(0xAB, 300));
    let garbage = write(&stores, "garbage.jks", garbage);

    // The wrong password first: the right one, later in the list, still wins.
    let inv = scan_json(&config(dir.path(), &["wrong-one", STOREPASS], &[STOREPASS]));
    for (path, storetype) in &paths {
        let certs = certs_at(&inv, path);
        let cns: Vec<&str> = certs.iter().map(|(_, cn)| cn.as_str()).collect();
        let ca = format!("{storetype} CA");
        let leaf = format!("{storetype} leaf");
        assert_eq!(certs.len(), 4, "{storetype}: {certs:?}\n{inv:#}");
        // Indices are 0..4 without gaps.
        assert_eq!(
            certs.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            vec![0, 1, 2, 3],
            "{storetype}"
        );
        let mut sorted = cns.clone();
        sorted.sort();
        let mut expected = vec![ca.as_str(), ca.as_str(), leaf.as_str(), "other.example"];
        expected.sort();
        assert_eq!(sorted, expected, "{storetype}");
        // The leaf entry's chain: the leaf, then its issuer right after it.
        let at = cns.iter().position(|c| *c == leaf).unwrap();
        assert_eq!(cns.get(at + 1), Some(&ca.as_str()), "{storetype}: {cns:?}");
        assert!(errors_at(&inv, path).is_empty(), "{storetype}: {inv:#}");
    }
    assert_eq!(errors_at(&inv, &truncated), vec!["bad_jks"], "{inv:#}");
    assert!(certs_at(&inv, &truncated).is_empty());
    assert_eq!(errors_at(&inv, &garbage), vec!["bad_jks"], "{inv:#}");

    // Unknown passwords: every keystore is a bad_passphrase error, no certificate.
    let inv = scan_json(&config(dir.path(), &["nope"], &["nope"]));
    for (path, storetype) in &paths {
        assert!(certs_at(&inv, path).is_empty(), "{storetype}: {inv:#}");
        assert_eq!(errors_at(&inv, path), vec!["bad_passphrase"], "{storetype}");
    }
    // Structure is checked before the password: still bad_jks.
    assert_eq!(errors_at(&inv, &truncated), vec!["bad_jks"]);
    // Keystore output never carries key material.
    let text = inv.to_string();
    assert!(!text.contains("PRIVATE KEY"));

    // `serve` with the unknown passwords: the passphrase-failure counters of the
    // established exporter's v4.2 count the JKS + JCEKS and the PKCS#12 failures.
    let metrics = serve_metrics(&config(dir.path(), &["nope"], &["nope"]), dir.path());
    let value = |series: &str| -> Option<f64> {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
    };
    assert_eq!(
        value("x509_jks_passphrase_failures_total{source_name=\"keystores\"}"),
        Some(2.0),
        "{metrics}"
    );
    assert_eq!(
        value("x509_pkcs12_passphrase_failures_total{source_name=\"keystores\"}"),
        Some(1.0),
        "{metrics}"
    );
}

/// Start `serve` with `cfg`, wait until ready, return one `/metrics` body.
fn serve_metrics(cfg: &Path, dir: &Path) -> String {
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let port = free_port();
    let log = dir.join("serve.log");
    let mut child = Kill(
        Command::new(bin())
            .args(["serve", "--config", cfg.to_str().unwrap()])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    loop {
        if let Some(st) = child.0.try_wait().unwrap() {
            panic!(
                "serve exited ({st}):\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        if http(port, "GET", "/readyz", &[]).is_some_and(|r| r.status == 200) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let r = http(port, "GET", "/metrics", &[]).unwrap();
    assert_eq!(r.status, 200);
    r.body
}
