//! Key exposure findings through the real binary (`report --format json DIR`):
//! real file modes on a fixture tree with keys made by rcgen and openssl (PKCS#8
//! EC, PKCS#8 RSA, traditional RSA, SEC1 EC), a certbot-style `live/` → `archive/`
//! lineage, and a check that no report format carries key material. openssl is
//! required under `CERTVIGIL_REQUIRE_REAL=1`, skipped loudly otherwise.

mod support_cli;

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support_cli::*;

fn require_real() -> bool {
    std::env::var("CERTVIGIL_REQUIRE_REAL").as_deref() == Ok("1")
}

fn openssl() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("openssl"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            !require_real(),
            "openssl not found and CERTVIGIL_REQUIRE_REAL=1"
        );
        eprintln!("*** SKIP key_exposure: openssl not installed ***");
    }
    found
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mkdir(p: &Path, mode: u32) {
    std::fs::create_dir_all(p).unwrap();
    chmod(p, mode);
}

/// A self-signed certificate and its PKCS#8 key (rcgen, ECDSA P-256).
fn rcgen_pair(cn: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![cn.to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// openssl: `key_args` (`OUT` stands for `key`) make the key `dir/key`, then a
/// self-signed cert `dir/cert`.
fn openssl_pair(openssl: &Path, dir: &Path, key: &str, cert: &str, key_args: &[&str], cn: &str) {
    let st = Command::new(openssl)
        .current_dir(dir)
        .args(key_args.iter().map(|a| if *a == "OUT" { key } else { a }))
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let st = Command::new(openssl)
        .current_dir(dir)
        .args(["req", "-new", "-x509", "-days", "30", "-key", key, "-subj"])
        .arg(format!("/CN={cn}"))
        .arg("-out")
        .arg(cert)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

fn findings(dir: &Path) -> Vec<(String, String)> {
    let out = run(&["report", "--format", "json", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", show(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut f: Vec<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"].as_str().unwrap().starts_with("private_key_"))
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["location"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    f.sort();
    f
}

#[test]
fn world_readable_keys_and_mismatched_pairs_are_findings() {
    let Some(openssl) = openssl() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("etc");
    // Every directory above the fixtures must be searchable by others, or nothing
    // is world-readable (the temporary directory itself is 0700).
    chmod(tmp.path(), 0o755);
    mkdir(&root, 0o755);

    // 0644 key alone and 0644 cert+key bundle: world-readable.
    let open = root.join("open");
    mkdir(&open, 0o755);
    let (cert, key) = rcgen_pair("open.example");
    write(&open, "service.key", &key);
    chmod(&open.join("service.key"), 0o644);
    write(&open, "bundle.pem", format!("{cert}{key}"));
    chmod(&open.join("bundle.pem"), 0o644);

    // A tls.crt/tls.key pair whose key belongs to another certificate (0600).
    let pairs = root.join("pairs");
    mkdir(&pairs, 0o755);
    let (cert_a, _) = rcgen_pair("a.example");
    let (_, key_b) = rcgen_pair("b.example");
    write(&pairs, "tls.crt", &cert_a);
    write(&pairs, "tls.key", &key_b);
    chmod(&pairs.join("tls.key"), 0o600);
    // An RSA pair (openssl, PKCS#8) mismatched the other way: cert.pem/privkey.pem.
    openssl_pair(
        &openssl,
        &pairs,
        "other.key",
        "cert.pem",
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "OUT",
        ],
        "rsa.example",
    );
    openssl_pair(
        &openssl,
        &pairs,
        "privkey.pem",
        "unused.crt",
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "OUT",
        ],
        "rsa2.example",
    );
    // Traditional RSA and SEC1 EC keys that are not their certificates' keys
    // (so the mismatch check really decodes both formats).
    openssl_pair(
        &openssl,
        &pairs,
        "old1.key",
        "rsa.crt",
        &["genrsa", "-traditional", "-out", "OUT", "2048"],
        "r.example",
    );
    openssl_pair(
        &openssl,
        &pairs,
        "rsa.key",
        "unused1.crt",
        &["genrsa", "-traditional", "-out", "OUT", "2048"],
        "r2.example",
    );
    openssl_pair(
        &openssl,
        &pairs,
        "old2.key",
        "sec1.pem",
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "OUT",
        ],
        "s.example",
    );
    openssl_pair(
        &openssl,
        &pairs,
        "sec1-key.pem",
        "unused2.crt",
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "OUT",
        ],
        "s2.example",
    );
    for f in ["old1.key", "old2.key", "unused1.crt", "unused2.crt"] {
        std::fs::remove_file(pairs.join(f)).unwrap();
    }
    for f in ["rsa.key", "sec1-key.pem"] {
        chmod(&pairs.join(f), 0o600);
    }
    std::fs::remove_file(pairs.join("unused.crt")).unwrap();
    std::fs::remove_file(pairs.join("other.key")).unwrap();
    chmod(&pairs.join("privkey.pem"), 0o600);

    // Matching 0600 pairs: traditional RSA (web.crt/web.key), SEC1 EC
    // (ec.pem/ec-key.pem), rcgen PKCS#8 (tls.crt/tls.key): nothing.
    let good = root.join("good");
    mkdir(&good, 0o755);
    openssl_pair(
        &openssl,
        &good,
        "web.key",
        "web.crt",
        &["genrsa", "-traditional", "-out", "OUT", "2048"],
        "web.example",
    );
    openssl_pair(
        &openssl,
        &good,
        "ec-key.pem",
        "ec.pem",
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "OUT",
        ],
        "ec.example",
    );
    let (c, k) = rcgen_pair("tls.example");
    write(&good, "tls.crt", &c);
    write(&good, "tls.key", &k);
    for f in ["web.key", "ec-key.pem", "tls.key"] {
        chmod(&good.join(f), 0o600);
    }
    let rsa_text = std::fs::read_to_string(good.join("web.key")).unwrap();
    assert!(rsa_text.contains("BEGIN RSA PRIVATE KEY"), "{rsa_text}");
    let ec_text = std::fs::read_to_string(good.join("ec-key.pem")).unwrap();
    assert!(ec_text.contains("BEGIN EC PRIVATE KEY"), "{ec_text}");

    // A certbot lineage: live/ links into archive/ (0700), whose files are 0644
    // as some older certbot versions left them: not reachable by others.
    let le = root.join("letsencrypt");
    mkdir(&le, 0o755);
    let archive = le.join("archive/example.com");
    mkdir(&le.join("archive"), 0o700);
    mkdir(&archive, 0o755);
    let live = le.join("live/example.com");
    mkdir(&live, 0o755);
    let (c, k) = rcgen_pair("example.com");
    write(&archive, "cert1.pem", &c);
    write(&archive, "chain1.pem", &c);
    write(&archive, "fullchain1.pem", &c);
    write(&archive, "privkey1.pem", &k);
    for f in ["cert1.pem", "chain1.pem", "fullchain1.pem", "privkey1.pem"] {
        chmod(&archive.join(f), 0o644);
        let link = f.replace('1', "");
        symlink(format!("../../archive/example.com/{f}"), live.join(link)).unwrap();
    }

    let shown = |p: PathBuf| p.to_string_lossy().into_owned();
    let got = findings(&root);
    let want = vec![
        (
            "private_key_mismatch".to_string(),
            shown(pairs.join("cert.pem")),
        ),
        (
            "private_key_mismatch".to_string(),
            shown(pairs.join("rsa.crt")),
        ),
        (
            "private_key_mismatch".to_string(),
            shown(pairs.join("sec1.pem")),
        ),
        (
            "private_key_mismatch".to_string(),
            shown(pairs.join("tls.crt")),
        ),
        (
            "private_key_world_readable".to_string(),
            shown(open.join("bundle.pem")),
        ),
        (
            "private_key_world_readable".to_string(),
            shown(open.join("service.key")),
        ),
    ];
    assert_eq!(got, want);

    // chmod 600 the open files, fix the pairs: no finding left.
    chmod(&open.join("service.key"), 0o600);
    chmod(&open.join("bundle.pem"), 0o600);
    std::fs::remove_file(pairs.join("tls.key")).unwrap();
    std::fs::remove_file(pairs.join("privkey.pem")).unwrap();
    std::fs::remove_file(pairs.join("rsa.key")).unwrap();
    std::fs::remove_file(pairs.join("sec1-key.pem")).unwrap();
    assert_eq!(findings(&root), vec![]);

    // Make it world-readable again and check that no report format carries key
    // material (PEM armour or any line of the key's base64).
    chmod(&open.join("service.key"), 0o644);
    let key_lines: Vec<&str> = key
        .lines()
        .chain(rsa_text.lines())
        .chain(ec_text.lines())
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        .collect();
    assert!(!key_lines.is_empty());
    for format in ["json", "csv", "md", "html"] {
        let out = run(&["report", "--format", format, root.to_str().unwrap()]);
        assert!(out.status.success(), "{}", show(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains("PRIVATE KEY"),
            "{format}: key armour in the report"
        );
        for l in &key_lines {
            assert!(!text.contains(l), "{format}: key material in the report");
        }
        if format != "csv" {
            assert!(text.contains("private_key_world_readable"), "{format}");
        }
    }
    let out = run(&["scan", "--format", "json", root.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("PRIVATE KEY"));
}
