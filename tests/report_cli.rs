//! The real binary: `certvigil report` in every format over a generated fixture
//! set (rcgen certificates, an openssl RSA-1024/SHA-1 leaf, a broken file), `-o`,
//! the HTML report rendered by headless Chromium (every certificate row in the
//! rendered DOM, a non-trivial screenshot), and `certvigil healthcheck` against a
//! running `serve`. Chromium and openssl are required under
//! `CERTVIGIL_REQUIRE_REAL=1`, skipped loudly otherwise.

mod support_cli;
mod support_rfc4180;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa, KeyPair,
};
use support_cli::*;
use support_rfc4180::parse_rfc4180;

fn require_real() -> bool {
    std::env::var("CERTVIGIL_REQUIRE_REAL").as_deref() == Ok("1")
}

fn find_tool(name: &str) -> Option<PathBuf> {
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
        eprintln!("*** {name} not installed: skipping the part of this test that needs it ***");
    }
    found
}

/// A fixture directory: valid, expiring, expired, wildcard, CA + leaf chain,
/// hostile subject, (openssl) RSA-1024/SHA-1, and a broken file.
fn fixtures() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "soon.pem", cert_expiring_in("soon.example", 5));
    write(d, "expired.pem", cert_expiring_in("expired.example", -3));
    write(d, "later.pem", cert_expiring_in("later.example", 200));
    write(
        d,
        "hostile.pem",
        cert_expiring_in("<img src=x onerror=alert(1)>|evil", 60),
    );

    // A CA and a wildcard leaf signed by it, in one bundle.
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Report Test CA");
    ca_params.distinguished_name = dn;
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![
        "*.apps.example".to_string(),
        "apps.example".to_string(),
    ])
    .unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "apps.example");
    params.distinguished_name = dn;
    let leaf = params.signed_by(&key, &ca).unwrap();
    write(d, "bundle.pem", format!("{}{}", leaf.pem(), ca.pem()));

    write(
        d,
        "broken.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    );

    if let Some(openssl) = find_tool("openssl") {
        let key = d.join("weak.key");
        let out = Command::new(openssl)
            .args([
                "req", "-x509", "-newkey", "rsa:1024", "-sha1", "-nodes", "-days", "90",
            ])
            .args(["-subj", "/CN=weak.example"])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(d.join("weak.pem"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // No private keys are left in the fixture set.
        std::fs::remove_file(&key).unwrap();
    }
    dir
}

fn report(args: &[&str]) -> std::process::Output {
    let mut a = vec!["report"];
    a.extend_from_slice(args);
    run(&a)
}

#[test]
fn report_json_csv_md_on_fixtures() {
    let dir = fixtures();
    let p = dir.path().to_str().unwrap();
    let o = report(&["--format", "json", "--offline", p]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let certs = v["certificates"].as_array().unwrap();
    let weak = certs.iter().any(|c| c["subject_cn"] == "weak.example");
    assert_eq!(certs.len(), if weak { 7 } else { 6 }, "{v:#}");
    assert_eq!(v["errors"].as_array().unwrap().len(), 1);
    assert_eq!(v["errors"][0]["reason"], "bad_pem");
    let ids: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap(), f["location"].as_str().unwrap()))
        .collect();
    let has = |id: &str, file: &str| ids.iter().any(|(i, l)| *i == id && l.ends_with(file));
    assert!(has("expired", "expired.pem"), "{ids:?}");
    assert!(has("expiring_soon", "soon.pem"), "{ids:?}");
    assert!(has("self_signed_leaf", "soon.pem"), "{ids:?}");
    assert!(has("long_validity", "later.pem"), "{ids:?}");
    assert!(has("wildcard", "bundle.pem"), "{ids:?}");
    assert!(
        !has("self_signed_leaf", "bundle.pem"),
        "the CA is exempt: {ids:?}"
    );
    if weak {
        assert!(has("weak_rsa_key", "weak.pem"), "{ids:?}");
        assert!(has("weak_signature_sha1", "weak.pem"), "{ids:?}");
    }
    assert_eq!(v["summary"]["certificates"], certs.len());
    assert_eq!(v["summary"]["by_status"]["expired"], 1);

    // CSV: RFC 4180, one row per certificate, findings column = JSON findings.
    let o = report(&["--format", "csv", "--offline", p]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let csv = String::from_utf8(o.stdout).unwrap();
    let records = parse_rfc4180(&csv).unwrap();
    assert_eq!(records.len(), certs.len() + 1);
    let fcol = records[0].iter().position(|h| h == "findings").unwrap();
    let n_csv: usize = records[1..]
        .iter()
        .map(|r| r[fcol].split(';').filter(|s| !s.is_empty()).count())
        .sum();
    assert_eq!(n_csv, ids.len());

    // Markdown: one table row per certificate, hostile subject neutralised.
    let o = report(&["--format", "md", "--offline", p]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let md = String::from_utf8(o.stdout).unwrap();
    // (The subject DN itself renders `<` as `\<`, RFC 4514; the cell escapes again.)
    for (i, ch) in md.char_indices() {
        if ch == '<' || ch == '>' {
            assert_eq!(&md[i - 1..i], "\\", "unescaped {ch} at {i}: {md}");
        }
    }
    assert!(md.contains("\\<img src=x onerror=alert(1)"), "{md}");
    assert!(md.contains("\\|evil"), "{md}");
    for (id, _) in &ids {
        assert!(md.contains(id));
    }
}

#[test]
fn report_output_file_is_written_atomically() {
    let dir = fixtures();
    let out_dir = tempfile::tempdir().unwrap();
    let target = out_dir.path().join("report.html");
    std::fs::write(&target, "old").unwrap();
    let o = report(&[
        "--format",
        "html",
        "--offline",
        "-o",
        target.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(o.stdout.is_empty(), "stdout must stay empty with -o");
    let html = std::fs::read_to_string(&target).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    // A missing directory is an error (exit 2), nothing is created.
    let o = report(&[
        "--format",
        "md",
        "-o",
        "/nonexistent-dir/x.md",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    // Usage errors.
    assert_eq!(code(&report(&["--format", "pdf"])), 2);
    assert_eq!(
        code(&report(&[dir.path().to_str().unwrap()])),
        2,
        "--format is required"
    );
    assert_eq!(code(&report(&["--format", "json", "--at", "soon"])), 2);
}

/// Run headless Chromium with the flags this machine needs (no network chatter).
fn chromium_cmd(chromium: &Path, profile: &Path) -> Command {
    let mut c = Command::new(chromium);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .stdin(Stdio::null());
    c
}

fn screenshot(chromium: &Path, page: &Path, png: &Path, work: &Path) -> u64 {
    let profile = tempfile::tempdir_in(work).unwrap();
    let o = chromium_cmd(chromium, profile.path())
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1400,3000")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        png.is_file(),
        "chromium wrote no screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let bytes = std::fs::read(png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    bytes.len() as u64
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let dir = fixtures();
    let work = tempfile::tempdir().unwrap();
    let page = work.path().join("report.html");
    let o = report(&[
        "--format",
        "html",
        "--offline",
        "-o",
        page.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let o = report(&[
        "--format",
        "json",
        "--offline",
        dir.path().to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let fingerprints: Vec<String> = v["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha256_fingerprint"].as_str().unwrap().to_string())
        .collect();
    assert!(fingerprints.len() >= 6);

    let Some(chromium) = find_tool("chromium") else {
        return;
    };
    // The rendered DOM has one row per certificate, each with its fingerprint.
    let profile = tempfile::tempdir_in(work.path()).unwrap();
    let o = chromium_cmd(&chromium, profile.path())
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&o.stdout);
    assert!(
        dom.contains("Certificate compliance report"),
        "no DOM from chromium: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        dom.matches("data-cert-row=").count(),
        fingerprints.len(),
        "certificate rows in the rendered DOM"
    );
    for fp in &fingerprints {
        assert!(
            dom.contains(&format!("data-fingerprint=\"{fp}\"")),
            "row for {fp} missing"
        );
    }
    // The hostile subject is text, not an element.
    assert!(!dom.contains("<img"), "hostile subject became an element");
    assert!(
        dom.contains("&lt;img src=x onerror=alert(1)") && dom.contains("&gt;|evil"),
        "{}",
        dom.lines().find(|l| l.contains("evil")).unwrap_or("")
    );

    // The screenshot is a real rendering: much larger than a blank page's.
    let png = work.path().join("report.png");
    let size = screenshot(&chromium, &page, &png, work.path());
    let blank_page = work.path().join("blank.html");
    std::fs::write(&blank_page, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let blank = screenshot(
        &chromium,
        &blank_page,
        &work.path().join("blank.png"),
        work.path(),
    );
    eprintln!("report screenshot {size} bytes, blank page {blank} bytes");
    assert!(
        size > 4 * blank && size > 40_000,
        "screenshot looks blank: {size} bytes (blank page: {blank})"
    );
    if let Some(keep) = std::env::var_os("CERTVIGIL_KEEP_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
}

/// A `certvigil serve` child, killed on drop.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn healthcheck_subcommand() {
    let dir = fixtures();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/healthz");
    // Nothing listening: unhealthy (exit 1).
    let o = run(&["healthcheck", "--url", &url, "--timeout", "2s"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let mut served = Served(
        Command::new(bin())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    loop {
        if let Some(st) = served.0.try_wait().unwrap() {
            panic!("serve exited: {st}");
        }
        if http(port, "GET", "/readyz", &[]).is_some_and(|r| r.status == 200) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = run(&["healthcheck", "--url", &url]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let o = run(&[
        "healthcheck",
        "--url",
        &format!("http://localhost:{port}/readyz"),
    ]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    // A 404 is unhealthy.
    let o = run(&[
        "healthcheck",
        "--url",
        &format!("http://127.0.0.1:{port}/nope"),
    ]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    // The report endpoint of the running server.
    let r = http(port, "GET", "/api/v1/report?format=csv", &[]).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    // Bad URLs are usage errors.
    for bad in [
        "https://127.0.0.1/healthz",
        "http://example.com/healthz",
        "ftp://x",
    ] {
        let o = run(&["healthcheck", "--url", bad]);
        assert_eq!(code(&o), 2, "{bad}: {}", show(&o));
    }
}
