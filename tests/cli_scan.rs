//! The real `certvigil` binary, one-shot commands: `scan` (formats, exit codes,
//! `--fail-within`, `--fail-on`, `--at`), `check-config`, `print-default-config`,
//! and usage errors. Certificates are generated at test time with rcgen.

mod support_cli;

use support_cli::*;

/// A directory with a certificate expiring in 10 days and one in 100 days.
fn two_certs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "soon.pem", cert_expiring_in("soon.example", 10));
    write(
        dir.path(),
        "later.pem",
        cert_expiring_in("later.example", 100),
    );
    dir
}

fn json_of(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", show(o)))
}

#[test]
fn scan_json_shape_and_exit_0() {
    let dir = two_certs();
    let o = run(&["scan", "--format", "json", dir.path().to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let v = json_of(&o);
    let gen = v["generated_at"].as_str().unwrap();
    assert!(gen.ends_with('Z') && gen.len() == 20, "{gen}");
    let certs = v["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 2, "{v:#}");
    assert_eq!(v["errors"].as_array().unwrap().len(), 0, "{v:#}");
    // Sorted by expiry.
    assert_eq!(certs[0]["subject_cn"], "soon.example");
    assert_eq!(certs[1]["subject_cn"], "later.example");
    for c in certs {
        for key in [
            "source_kind",
            "source_name",
            "location",
            "index_in_bundle",
            "subject",
            "subject_cn",
            "issuer",
            "issuer_cn",
            "serial_number",
            "serial_hex",
            "not_before",
            "not_after",
            "sha256_fingerprint",
            "dns_names",
            "ip_addresses",
            "key_algorithm",
            "key_bits",
            "signature_algorithm",
            "is_ca",
            "self_signed",
            "expired",
            "trust",
            "revocation",
        ] {
            assert!(c.get(key).is_some(), "missing {key} in {c:#}");
        }
        assert_eq!(c["source_kind"], "file");
        assert_eq!(c["source_name"], "cli-files");
        assert_eq!(c["expired"], false);
        assert_eq!(c["self_signed"], true);
        assert_eq!(c["key_algorithm"], "ecdsa");
        assert!(c["not_after"].as_str().unwrap().ends_with('Z'));
        let fp = c["sha256_fingerprint"].as_str().unwrap();
        assert!(
            fp.len() == 64
                && fp
                    .chars()
                    .all(|ch| ch.is_ascii_hexdigit() && !ch.is_ascii_uppercase())
        );
        assert!(c["trust"]["status"].is_string());
        assert!(c["revocation"]["status"].is_string());
        assert!(c["location"].as_str().unwrap().ends_with(".pem"));
    }
}

#[test]
fn scan_table_and_csv() {
    let dir = two_certs();
    let p = dir.path().to_str().unwrap();
    let o = run(&["scan", p]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("EXPIRES") && lines[0].contains("SUBJECT CN"),
        "{out}"
    );
    assert!(
        lines[1].contains("soon.example") && lines[1].contains("expiring"),
        "{out}"
    );
    assert!(
        lines[2].contains("later.example") && lines[2].contains("ok/"),
        "{out}"
    );
    // Not a terminal: no colour.
    assert!(!out.contains('\x1b'));

    let o = run(&["scan", "--format", "csv", p]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let recs: Vec<&str> = out.split_terminator("\r\n").collect();
    assert_eq!(recs.len(), 3, "{out}");
    assert!(
        recs[0].starts_with("source_kind,source_name,location,index_in_bundle,subject,subject_cn")
    );
    assert!(recs[1].contains(",soon.example,"));
}

#[test]
fn fail_within_exit_codes() {
    let dir = two_certs();
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--fail-within",
        "30d",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("soon.pem"), "{err}");
    // The inventory is still printed.
    assert_eq!(json_of(&o)["certificates"].as_array().unwrap().len(), 2);

    let only_later = tempfile::tempdir().unwrap();
    write(
        only_later.path(),
        "later.pem",
        cert_expiring_in("later.example", 100),
    );
    let o = run(&[
        "scan",
        "--fail-within",
        "30d",
        only_later.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    // 100 days is within 2400h.
    let o = run(&[
        "scan",
        "--fail-within",
        "2400h",
        only_later.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", show(&o));

    // An already expired certificate breaches --fail-within too.
    let expired = tempfile::tempdir().unwrap();
    write(
        expired.path(),
        "old.pem",
        cert_expiring_in("old.example", -5),
    );
    let o = run(&[
        "scan",
        "--fail-within",
        "1m",
        expired.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", show(&o));
}

#[test]
fn fail_on_and_at() {
    let dir = two_certs();
    let p = dir.path().to_str().unwrap();
    let o = run(&["scan", "--fail-on", "expired", p]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    // 50 days from now the 10-day certificate is expired.
    let later_ts = (now_unix() + 50 * DAY) as i64;
    let later = chrono::DateTime::from_timestamp(later_ts, 0)
        .unwrap()
        .to_rfc3339();
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--at",
        &later,
        "--fail-on",
        "expired",
        p,
    ]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let v = json_of(&o);
    assert_eq!(v["certificates"][0]["expired"], true);
    assert_eq!(v["certificates"][1]["expired"], false);
    let gen = chrono::DateTime::parse_from_rfc3339(v["generated_at"].as_str().unwrap()).unwrap();
    // `generated_at` is the `--at` instant, not the clock (read once above: a
    // second boundary between two clock reads must not matter).
    assert_eq!(gen.timestamp(), later_ts);
}

#[test]
fn garbage_is_an_error_entry_not_exit_2() {
    let dir = two_certs();
    write(
        dir.path(),
        "garbage.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n",
    );
    let p = dir.path().to_str().unwrap();
    let o = run(&["scan", "--format", "json", p]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let v = json_of(&o);
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{v:#}");
    assert!(errors[0]["location"]
        .as_str()
        .unwrap()
        .contains("garbage.pem"));
    assert!(errors[0]["reason"].is_string());
    assert_eq!(v["certificates"].as_array().unwrap().len(), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("garbage.pem"));

    let o = run(&["scan", "--fail-on", "error", p]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("ERRORS") && out.contains("garbage.pem"),
        "{out}"
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["scan", "--fail-on", "expired,bogus"][..],
        &["scan", "--fail-within", "soon"][..],
        &["scan", "--at", "tomorrow"][..],
        &["scan", "--format", "xml"][..],
        &["scan", "--docker", "--fail-on", "nothing"][..],
        &["no-such-command"][..],
        &["check-config"][..],
        &["report"][..],
    ] {
        let o = run(args);
        assert_eq!(code(&o), 2, "{args:?}: {}", show(&o));
        assert!(!o.stderr.is_empty(), "{args:?}");
    }
    let o = run(&["--help"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("print-default-config"));
}

#[test]
fn default_config_round_trips_through_check_config() {
    let o = run(&["print-default-config"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(!o.stdout.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "default.yml", &o.stdout);
    let o = run(&["check-config", "--config", p.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("config OK"));
}

#[test]
fn check_config_names_path_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "bad.yml", "scan:\n  interval: banana\n");
    let o = run(&["check-config", "--config", p.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(all.contains("scan.interval"), "{all}");
    assert!(all.contains("line 2") || all.contains(":2"), "{all}");

    // A config that does not exist is a configuration error as well.
    let o = run(&[
        "check-config",
        "--config",
        dir.path().join("nope.yml").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    // And so is `scan --config` with a bad file.
    let o = run(&["scan", "--config", p.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", show(&o));

    // Trust files that do not exist here: a warning naming them, exit 0
    // (they may exist only where certvigil runs); `scan` with it exits 2.
    let missing = dir.path().join("roots.pem");
    let t = write(
        dir.path(),
        "trust.yml",
        format!("trust:\n  roots: [\"{}\"]\n", missing.display()),
    );
    let o = run(&["check-config", "--config", t.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("warning: trust.roots"), "{err}");
    assert!(err.contains("roots.pem"), "{err}");
    let o = run(&["scan", "--config", t.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", show(&o));
}

/// The fixtures themselves: the generated certificates carry the intended dates
/// and subjects (checked with x509-parser, independent of certvigil's parser).
#[test]
fn fixtures_have_the_intended_validity() {
    let now = now_unix() as i64;
    for (cn, days) in [
        ("soon.example", 10i64),
        ("old.example", -5),
        ("q\"\n<x>", 100),
    ] {
        let pem = cert_expiring_in(cn, days);
        let der = rustls_pemfile::certs(&mut pem.as_bytes())
            .next()
            .unwrap()
            .unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
        let na = cert.validity().not_after.timestamp();
        assert!((na - (now + days * 86400)).abs() <= 5, "{cn}: {na}");
        let got_cn = cert
            .subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(got_cn, cn);
    }
}
