//! Acceptance: `parse_object` agrees with the `openssl` CLI on serial, subject,
//! issuer, validity, SHA-256 fingerprint, key size and signature algorithm, for
//! certificates generated here and for every certificate of the Mozilla bundle in
//! `/usr/share/ca-certificates/mozilla` (Debian's `ca-certificates`).
//!
//! Subjects/issuers are compared for exact equality with
//! `openssl x509 -nameopt RFC2253,-esc_msb`, which is the documented format of
//! `DistinguishedName::rendered`.
//!
//! When `openssl` or the directory is missing the tests skip loudly, unless
//! `CERTVIGIL_REQUIRE_REAL=1`, in which case they fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use certvigil::model::{KeyAlgorithm, ParsedCert};
use certvigil::parse::{parse_object, FormatHint, ParseOptions};

const MOZILLA_DIR: &str = "/usr/share/ca-certificates/mozilla";

fn require_real() -> bool {
    std::env::var("CERTVIGIL_REQUIRE_REAL").is_ok_and(|v| v == "1")
}

fn openssl_available() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Skip (or fail under CERTVIGIL_REQUIRE_REAL=1) when a prerequisite is missing.
fn prerequisite(ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    if require_real() {
        panic!("CERTVIGIL_REQUIRE_REAL=1 but {what} is missing");
    }
    eprintln!("SKIPPING openssl agreement test: {what} is missing (set CERTVIGIL_REQUIRE_REAL=1 to fail instead)");
    false
}

/// What openssl says about one certificate file.
#[derive(Debug)]
struct OpensslView {
    serial_hex_upper: String,
    subject: String,
    issuer: String,
    not_before: i64,
    not_after: i64,
    fingerprint: String,
    key_bits: Option<u32>,
    signature_algorithm: String,
}

fn openssl_view(path: &Path, inform: &str) -> OpensslView {
    let out = Command::new("openssl")
        .args(["x509", "-inform", inform, "-in"])
        .arg(path)
        .args([
            "-noout",
            "-serial",
            "-subject",
            "-issuer",
            "-startdate",
            "-enddate",
            "-fingerprint",
            "-sha256",
            "-nameopt",
            "RFC2253,-esc_msb",
        ])
        .output()
        .expect("run openssl x509");
    assert!(
        out.status.success(),
        "openssl failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    // Names may carry non-UTF-8 bytes in theory; the Mozilla set does not.
    let text = String::from_utf8(out.stdout).expect("openssl output is UTF-8");
    let mut view = OpensslView {
        serial_hex_upper: String::new(),
        subject: String::new(),
        issuer: String::new(),
        not_before: 0,
        not_after: 0,
        fingerprint: String::new(),
        key_bits: None,
        signature_algorithm: String::new(),
    };
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("serial=") {
            view.serial_hex_upper = v.to_string();
        } else if let Some(v) = line.strip_prefix("subject=") {
            view.subject = v.to_string();
        } else if let Some(v) = line.strip_prefix("issuer=") {
            view.issuer = v.to_string();
        } else if let Some(v) = line.strip_prefix("notBefore=") {
            view.not_before = openssl_time(v);
        } else if let Some(v) = line.strip_prefix("notAfter=") {
            view.not_after = openssl_time(v);
        } else if let Some(v) = line.strip_prefix("sha256 Fingerprint=") {
            view.fingerprint = v.replace(':', "").to_lowercase();
        }
    }
    let text_out = Command::new("openssl")
        .args(["x509", "-inform", inform, "-in"])
        .arg(path)
        .args(["-noout", "-text"])
        .output()
        .expect("run openssl x509 -text");
    let text = String::from_utf8_lossy(&text_out.stdout);
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Public-Key: (") {
            view.key_bits = rest.split(' ').next().and_then(|n| n.parse().ok());
        }
        if view.signature_algorithm.is_empty() {
            if let Some(rest) = line.strip_prefix("Signature Algorithm: ") {
                view.signature_algorithm = rest.trim().to_string();
            }
        }
    }
    view
}

/// `May  5 09:37:37 2011 GMT` → Unix seconds.
fn openssl_time(s: &str) -> i64 {
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    chrono::NaiveDateTime::parse_from_str(&collapsed, "%b %d %H:%M:%S %Y GMT")
        .unwrap_or_else(|e| panic!("cannot parse openssl time {s:?}: {e}"))
        .and_utc()
        .timestamp()
}

/// Decimal string → big-endian magnitude bytes (independent of the crate's
/// bytes → decimal direction).
fn decimal_to_bytes(dec: &str) -> Vec<u8> {
    let mut bytes: Vec<u8> = Vec::new(); // little-endian
    for d in dec.bytes() {
        assert!(d.is_ascii_digit(), "non-digit in decimal serial {dec:?}");
        let mut carry = u32::from(d - b'0');
        for b in bytes.iter_mut() {
            let v = u32::from(*b) * 10 + carry;
            *b = (v & 0xff) as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            bytes.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    bytes.reverse();
    bytes
}

fn strip_leading_zeros(s: &str) -> &str {
    let t = s.trim_start_matches('0');
    if t.is_empty() {
        "0"
    } else {
        t
    }
}

fn assert_agrees(path: &Path, ours: &ParsedCert, view: &OpensslView) {
    let ctx = path.display();
    assert_eq!(ours.subject.rendered, view.subject, "subject of {ctx}");
    assert_eq!(ours.issuer.rendered, view.issuer, "issuer of {ctx}");
    assert_eq!(ours.not_before, view.not_before, "notBefore of {ctx}");
    assert_eq!(ours.not_after, view.not_after, "notAfter of {ctx}");
    assert_eq!(
        ours.sha256_fingerprint, view.fingerprint,
        "fingerprint of {ctx}"
    );

    // serial_hex: colon-separated lowercase content bytes; openssl prints the
    // magnitude in uppercase without the DER sign byte.
    let ours_hex = ours.serial_hex.replace(':', "").to_uppercase();
    assert_eq!(
        strip_leading_zeros(&ours_hex),
        strip_leading_zeros(&view.serial_hex_upper),
        "serial hex of {ctx}"
    );
    // Decimal serial, converted back independently.
    let back: String = decimal_to_bytes(&ours.serial_number)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert_eq!(
        strip_leading_zeros(&back),
        strip_leading_zeros(&view.serial_hex_upper),
        "decimal serial {} of {ctx}",
        ours.serial_number
    );

    if let Some(bits) = view.key_bits {
        assert_eq!(ours.key_bits, bits, "key bits of {ctx}");
    }
    let openssl_sig = match view.signature_algorithm.as_str() {
        "rsassaPss" => "RSASSA-PSS",
        other => other,
    };
    assert_eq!(
        ours.signature_algorithm, openssl_sig,
        "signature algorithm of {ctx}"
    );
}

fn parse_single(path: &Path) -> ParsedCert {
    let data = std::fs::read(path).expect("read certificate");
    let out = parse_object(&data, FormatHint::Auto, &ParseOptions::default());
    assert!(
        out.errors.is_empty(),
        "errors for {}: {:?}",
        path.display(),
        out.errors
    );
    assert_eq!(out.certs.len(), 1, "certificates in {}", path.display());
    out.certs.into_iter().next().map(|(_, c)| c).unwrap()
}

#[test]
fn mozilla_bundle_agrees_with_openssl() {
    if !prerequisite(openssl_available(), "the openssl CLI") {
        return;
    }
    if !prerequisite(Path::new(MOZILLA_DIR).is_dir(), MOZILLA_DIR) {
        return;
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(MOZILLA_DIR)
        .expect("list mozilla dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "crt"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no .crt files in {MOZILLA_DIR}");
    let mut self_signed = 0;
    for path in &paths {
        let ours = parse_single(path);
        let view = openssl_view(path, "PEM");
        assert_agrees(path, &ours, &view);
        if ours.subject.rendered == ours.issuer.rendered {
            assert!(
                ours.self_signed,
                "root {} should be self-signed",
                path.display()
            );
            self_signed += 1;
        }
        assert!(ours.is_ca, "root {} should be a CA", path.display());
    }
    eprintln!(
        "openssl agreement: {} Mozilla certificates compared ({} self-signed)",
        paths.len(),
        self_signed
    );
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("spawn openssl");
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Self-signed certificate made by `openssl req` in `dir`; returns the PEM path.
fn openssl_req(dir: &Path, name: &str, key_args: &[&str], subj: &str, extra: &[&str]) -> PathBuf {
    let key = dir.join(format!("{name}.key"));
    let crt = dir.join(format!("{name}.pem"));
    run(Command::new("openssl")
        .args(["req", "-x509", "-newkey"])
        .args(key_args)
        .args(["-nodes", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .args(["-days", "30", "-utf8", "-subj", subj])
        .args(extra));
    crt
}

#[test]
fn generated_certificates_agree_with_openssl() {
    if !prerequisite(openssl_available(), "the openssl CLI") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let cases = vec![
        openssl_req(
            d,
            "rsa2048",
            &["rsa:2048"],
            "/C=DE/O=Example/CN=web.example.com",
            &[],
        ),
        openssl_req(
            d,
            "p384",
            &["ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
            "/CN=ec.example",
            &["-sha384"],
        ),
        openssl_req(
            d,
            "p521",
            &["ec", "-pkeyopt", "ec_paramgen_curve:P-521"],
            "/CN=p521",
            &["-sha512"],
        ),
        openssl_req(d, "ed25519", &["ed25519"], "/CN=ed", &[]),
        openssl_req(d, "ed448", &["ed448"], "/CN=ed448", &[]),
        openssl_req(
            d,
            "multi",
            &["rsa:1024"],
            "/DC=org/DC=example/OU=b/OU=a/CN=first/CN=last+UID=u1",
            &["-multivalue-rdn", "-sha1"],
        ),
        openssl_req(
            d,
            "hostile",
            &["ed25519"],
            "/CN=\\,\\+\"\\\\<>;= #x # \u{202e}evil\u{1F600}\u{7}/O= lead and trail /OU=#hash",
            &[],
        ),
        openssl_req(
            d,
            "serial0",
            &["ed25519"],
            "/CN=zero serial",
            &["-set_serial", "0"],
        ),
        openssl_req(
            d,
            "serialhi",
            &["ed25519"],
            "/CN=high bit serial",
            &["-set_serial", "0x80000000000000000000000000000000000001"],
        ),
        openssl_req(
            d,
            "pss",
            &["rsa:2048"],
            "/CN=pss",
            &[
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:digest",
                "-sha256",
            ],
        ),
        openssl_req(
            d,
            "pssmax",
            &["rsa:2048"],
            "/CN=pss max salt",
            &["-sigopt", "rsa_padding_mode:pss", "-sha384"],
        ),
    ];
    for path in &cases {
        let ours = parse_single(path);
        let view = openssl_view(path, "PEM");
        assert_agrees(path, &ours, &view);
        assert!(ours.self_signed, "{} is self-signed", path.display());

        // The same certificate as DER.
        let der = d.join("cert.der");
        run(Command::new("openssl")
            .args(["x509", "-in"])
            .arg(path)
            .args(["-outform", "DER", "-out"])
            .arg(&der));
        let ours_der = parse_single(&der);
        assert_eq!(ours_der, ours, "DER and PEM of {} differ", path.display());
    }

    let by_name = |n: &str| parse_single(&d.join(format!("{n}.pem")));
    let multi = by_name("multi");
    assert_eq!(multi.subject.cn, "last", "CN is the last CN attribute");
    assert_eq!(multi.subject.ou, "b", "OU is the first OU attribute");
    assert_eq!(multi.key_algorithm, KeyAlgorithm::Rsa);
    assert_eq!(multi.signature_algorithm, "sha1WithRSAEncryption");
    let hostile = by_name("hostile");
    assert_eq!(
        hostile.subject.cn, ",+\"\\<>;= #x # \u{202e}evil\u{1F600}\u{7}",
        "raw CN survives"
    );
    assert_eq!(hostile.subject.o, " lead and trail ");
    assert_eq!(hostile.subject.ou, "#hash");
    assert_eq!(by_name("serial0").serial_number, "0");
    let hi = by_name("serialhi");
    assert!(hi.serial_hex.starts_with("00:80:"), "{}", hi.serial_hex);
    assert_eq!(
        hi.serial_number,
        "2854495385411919762116571938898990272765493249"
    );
    assert_eq!(by_name("p521").key_bits, 521);
    assert_eq!(by_name("ed448").key_algorithm, KeyAlgorithm::Ed448);
    assert_eq!(by_name("ed448").signature_algorithm, "ED448");
}
