//! Acceptance: the content-addressed certificate table changes nothing in the
//! output. A `fullchain.pem` corpus with shared intermediates (and a file that
//! is a byte copy of another, and an intermediate on its own) is scanned in one
//! process, where every copy of an intermediate shares one parsed summary, and
//! file by file in separate processes, where nothing can be shared. The JSON
//! `certificates` of the single scan must equal the per-file results merged in
//! the inventory's documented order (notAfter, location, index), entry by entry.

mod support_cli;

use std::path::Path;
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa, KeyPair,
    KeyUsagePurpose,
};
use serde_json::Value;
use support_cli::bin;

const AT: &str = "2026-06-01T00:00:00Z";

fn ca(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    // Intermediates carry an authorityKeyIdentifier (RFC 5280 4.2.1.1; the
    // trust checks require it on CA certificates below the anchor).
    p.use_authority_key_identifier_extension = true;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, "certvigil tests");
    p.distinguished_name = dn;
    p.not_before = rcgen::date_time_ymd(2025, 1, 1);
    p.not_after = rcgen::date_time_ymd(2030, 1, 1);
    p
}

fn scan(target: &Path, root: &Path) -> Value {
    let out = Command::new(bin())
        .args([
            "scan",
            "--format",
            "json",
            "--offline",
            "--at",
            AT,
            "--trust-roots",
        ])
        .arg(root)
        .arg(target)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scan {}: {}",
        target.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn fullchain_corpus_with_shared_intermediates_gives_the_same_json() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    let root =
        CertifiedIssuer::self_signed(ca("Shared Test Root"), KeyPair::generate().unwrap()).unwrap();
    let root_path = tmp.path().join("root.pem");
    std::fs::write(&root_path, root.pem()).unwrap();
    let ints: Vec<_> = (0..3)
        .map(|k| {
            CertifiedIssuer::signed_by(
                ca(&format!("Shared Test Intermediate {k}")),
                KeyPair::generate().unwrap(),
                &root,
            )
            .unwrap()
        })
        .collect();
    let key = KeyPair::generate().unwrap();
    let mut first = String::new();
    for i in 0..12 {
        let mut p = CertificateParams::new(vec![format!("host-{i}.test")]).unwrap();
        p.distinguished_name
            .push(DnType::CommonName, format!("host-{i}.test"));
        p.not_before = rcgen::date_time_ymd(2026, 1, 1);
        // Some leaves share a notAfter (ties are ordered by location).
        p.not_after = rcgen::date_time_ymd(2026, 7 + (i % 4) as u8, 1);
        let leaf = p.signed_by(&key, &ints[i % ints.len()]).unwrap();
        let data = format!("{}{}", leaf.pem(), ints[i % ints.len()].pem());
        if i == 0 {
            first = data.clone();
        }
        std::fs::write(corpus.join(format!("fullchain-{i:02}.pem")), data).unwrap();
    }
    // A byte copy of another file, and an intermediate on its own.
    std::fs::write(corpus.join("copy-of-00.pem"), &first).unwrap();
    std::fs::write(corpus.join("intermediate-0.pem"), ints[0].pem()).unwrap();

    let whole = scan(&corpus, &root_path);
    assert_eq!(whole["errors"], Value::Array(Vec::new()));
    let certs = whole["certificates"].as_array().unwrap();
    assert_eq!(certs.len(), 12 * 2 + 2 + 1);
    let distinct: std::collections::HashSet<&str> = certs
        .iter()
        .map(|c| c["sha256_fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(distinct.len(), 12 + 3);
    assert!(
        certs.iter().all(|c| c["trust"]["status"] == "trusted"),
        "every chain verifies"
    );

    let mut merged: Vec<Value> = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in &files {
        let one = scan(f, &root_path);
        assert_eq!(one["errors"], Value::Array(Vec::new()));
        merged.extend(one["certificates"].as_array().unwrap().iter().cloned());
    }
    let key = |c: &Value| {
        (
            c["not_after"].as_str().unwrap().to_string(),
            c["location"].as_str().unwrap().to_string(),
            c["index_in_bundle"].as_u64().unwrap(),
        )
    };
    merged.sort_by_key(key);
    assert_eq!(merged.len(), certs.len());
    for (a, b) in certs.iter().zip(&merged) {
        assert_eq!(a, b, "shared-table scan differs from the per-file scan");
    }
    // The copies are separate entries with their own locations.
    let fp0 = certs
        .iter()
        .find(|c| {
            c["location"]
                .as_str()
                .unwrap()
                .ends_with("intermediate-0.pem")
        })
        .unwrap()["sha256_fingerprint"]
        .clone();
    let locations = certs
        .iter()
        .filter(|c| c["sha256_fingerprint"] == fp0)
        .count();
    assert_eq!(
        locations,
        4 + 1 + 1,
        "intermediate 0: 4 bundles, the copy, itself"
    );
}
