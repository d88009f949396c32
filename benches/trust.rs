//! Trust and revocation benchmark (run with `cargo bench --bench trust`).
//!
//! 10,000 leaves under 20 issuing intermediates (one root), each intermediate
//! publishing a CRL of 50,000 entries on a local HTTP server (127.0.0.1; the
//! leaves' CRL distribution points point at it). Measures, for
//! `Checker::run` over the whole inventory (chain building + CRL revocation):
//! - the first run (20 CRL fetches, parse, signature verification, index);
//! - warm runs (cached CRLs, nothing fetched) — the target is < 1 s;
//! - that each CRL URL was fetched exactly once (server hit counter).
//!
//! Then the cold trust target of issue 13: `--cold-leaves N` (20,000) distinct
//! leaves under the same intermediates, trust only (no revocation): a fresh
//! checker's first run against a single-thread floor that parses each leaf
//! (x509-parser) and verifies each distinct signature once with *ring*; the
//! target is cold ≤ 1.0× floor. A second (warm) run reuses the verdicts.
//!
//! Results go to docs/performance.md.
//!
//! Options (after `--`): `--leaves N` (10000), `--issuers N` (20), `--entries N` (50000),
//! `--cold-leaves N` (20000).

#[path = "../tests/support_pki/mod.rs"]
mod support_pki;

use std::sync::Arc;
use std::time::{Duration, Instant};

use certvigil::checks::Checker;
use certvigil::config::{RevocationConfig, RevocationMethodConfig, TrustConfig};
use certvigil::model::{CertEntry, RevocationStatus, SourceKind, SourceRef, TrustStatus};
use certvigil::parse::{parse_object, FormatHint, ParseOptions};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer,
    CrlDistributionPoint, DistinguishedName, DnType, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber,
};
use support_pki::{Route, TestServer};

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn dn(cn: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::CommonName, cn);
    d
}

fn ts(unix: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(unix).expect("timestamp")
}

fn ca_params(cn: &str, now: i64) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name = dn(cn);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = ts(now - 365 * 86_400);
    p.not_after = ts(now + 5 * 365 * 86_400);
    p.use_authority_key_identifier_extension = true;
    p
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let leaves = arg(&args, "--leaves", 10_000);
    let issuers = arg(&args, "--issuers", 20);
    let entries_per_crl = arg(&args, "--entries", 50_000);
    let now = chrono::Utc::now().timestamp();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start();

    let t = Instant::now();
    let root = CertifiedIssuer::self_signed(
        ca_params("Bench Root", now),
        KeyPair::generate().expect("key"),
    )
    .expect("root");
    let mut ints = Vec::new();
    for i in 0..issuers {
        let int = CertifiedIssuer::signed_by(
            ca_params(&format!("Bench Int {i}"), now),
            KeyPair::generate().expect("key"),
            &root,
        )
        .expect("intermediate");
        ints.push(int);
    }
    // One key for every leaf: only the issuers' signatures matter here.
    let leaf_key = KeyPair::generate().expect("key");
    let mut ders = Vec::with_capacity(leaves);
    for n in 0..leaves {
        let i = n % issuers;
        let mut p = CertificateParams::new(vec![format!("leaf{n}.bench")]).expect("params");
        p.distinguished_name = dn(&format!("leaf{n}.bench"));
        p.serial_number = Some(SerialNumber::from(1_000_000u64 + n as u64));
        p.not_before = ts(now - 86_400);
        p.not_after = ts(now + 90 * 86_400);
        p.use_authority_key_identifier_extension = true;
        p.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![server.url(&format!("/int{i}.crl"))],
        }];
        ders.push(
            p.signed_by(&leaf_key, &ints[i])
                .expect("leaf")
                .der()
                .to_vec(),
        );
    }
    // CRLs: `entries_per_crl` revoked serials each; every 100th leaf is revoked.
    for (i, int) in ints.iter().enumerate() {
        let mut revoked: Vec<RevokedCertParams> = (0..entries_per_crl as u64)
            .map(|k| RevokedCertParams {
                serial_number: SerialNumber::from(10_000_000u64 + k),
                revocation_time: ts(now - 3600),
                reason_code: None,
                invalidity_date: None,
            })
            .collect();
        for n in (i..leaves).step_by(issuers).filter(|n| n % 100 == 0) {
            revoked.push(RevokedCertParams {
                serial_number: SerialNumber::from(1_000_000u64 + n as u64),
                revocation_time: ts(now - 3600),
                reason_code: None,
                invalidity_date: None,
            });
        }
        let crl = CertificateRevocationListParams {
            this_update: ts(now - 3600),
            next_update: ts(now + 7 * 86_400),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: revoked,
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(int)
        .expect("crl");
        server.route(&format!("/int{i}.crl"), Route::Body(crl.der().to_vec()));
    }
    let roots = dir.path().join("root.pem");
    std::fs::write(&roots, root.pem()).expect("write root");
    let inter = dir.path().join("ints.pem");
    std::fs::write(
        &inter,
        ints.iter().map(|c| c.pem()).collect::<Vec<_>>().concat(),
    )
    .expect("write intermediates");
    eprintln!(
        "generated {leaves} leaves, {issuers} issuers, CRLs of {entries_per_crl} entries in {:.1?}",
        t.elapsed()
    );

    let sref = Arc::new(SourceRef::new(SourceKind::File, "bench", "/bench/leaves"));
    let opts = ParseOptions::default();
    let inventory: Vec<CertEntry> = ders
        .iter()
        .enumerate()
        .map(|(n, der)| {
            let mut parsed = parse_object(der, FormatHint::Der, &opts);
            let (_, cert) = parsed.certs.remove(0);
            CertEntry {
                source: sref.clone(),
                index_in_bundle: n,
                cert: Arc::new(cert),
                expired: false,
                trust: Default::default(),
                revocation: Default::default(),
            }
        })
        .collect();

    let trust = TrustConfig {
        roots: vec![roots],
        intermediates: vec![inter],
        system_roots: false,
        fetch_aia: false,
        ..TrustConfig::default()
    };
    let rev = RevocationConfig {
        methods: vec![RevocationMethodConfig::Crl],
        fetch_timeout: Duration::from_secs(60),
        max_crl_size: 64 << 20,
        ..RevocationConfig::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut checker = Checker::new(&trust, &rev).expect("checker");
    let at = chrono::Utc::now();
    let mut times = Vec::new();
    let mut last = Vec::new();
    for run in 0..4 {
        let mut entries = inventory.clone();
        let t = Instant::now();
        let out = rt.block_on(checker.run(&mut entries, at));
        let d = t.elapsed();
        assert!(out.new_errors.is_empty(), "{:?}", &out.new_errors[..1]);
        eprintln!(
            "run {run}: {:.3} s, {} HTTP requests",
            d.as_secs_f64(),
            out.requests
        );
        times.push(d);
        last = entries;
    }
    let trusted = last
        .iter()
        .filter(|e| e.trust.status == TrustStatus::Trusted)
        .count();
    let revoked = last
        .iter()
        .filter(|e| e.revocation.status == RevocationStatus::Revoked)
        .count();
    let good = last
        .iter()
        .filter(|e| e.revocation.status == RevocationStatus::Good)
        .count();
    assert_eq!(trusted, leaves, "every leaf chains to the root");
    assert_eq!(revoked, leaves.div_ceil(100), "every 100th leaf is revoked");
    assert_eq!(good + revoked, leaves);
    let max_hits = (0..issuers)
        .map(|i| server.hits(&format!("/int{i}.crl")))
        .max()
        .unwrap_or(0);
    assert_eq!(max_hits, 1, "each CRL URL fetched once within its TTL");
    let warm = times[1..]
        .iter()
        .map(|d| d.as_secs_f64())
        .fold(0.0, f64::max);
    println!(
        "trust bench: {leaves} leaves, {issuers} issuers, {entries_per_crl}-entry CRLs: \
         first run {:.3} s; warm runs max {:.3} s (target < 1 s: {}); \
         CRL fetches per URL: {max_hits}; trusted {trusted}, revoked {revoked}, good {good}",
        times[0].as_secs_f64(),
        warm,
        if warm < 1.0 { "met" } else { "MISSED" }
    );
    cold(&args, now, &root, &ints, &trust);
}

/// The cold trust target: a new checker's first run over `--cold-leaves`
/// distinct leaves versus a single-thread parse-and-verify-once floor.
fn cold(
    args: &[String],
    now: i64,
    root: &CertifiedIssuer<'_, KeyPair>,
    ints: &[CertifiedIssuer<'_, KeyPair>],
    trust: &TrustConfig,
) {
    let n = arg(args, "--cold-leaves", 20_000);
    let leaf_key = KeyPair::generate().expect("key");
    let mut ders = Vec::with_capacity(n);
    for k in 0..n {
        let i = k % ints.len();
        let mut p = CertificateParams::new(vec![format!("cold{k}.bench")]).expect("params");
        p.distinguished_name = dn(&format!("cold{k}.bench"));
        p.serial_number = Some(SerialNumber::from(5_000_000u64 + k as u64));
        p.not_before = ts(now - 86_400);
        p.not_after = ts(now + 90 * 86_400);
        p.use_authority_key_identifier_extension = true;
        p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        ders.push(
            p.signed_by(&leaf_key, &ints[i])
                .expect("leaf")
                .der()
                .to_vec(),
        );
    }
    let int_ders: Vec<Vec<u8>> = ints.iter().map(|c| c.der().to_vec()).collect();
    let root_der = root.der().to_vec();

    // Floor: one thread, parse each distinct certificate once and verify
    // each distinct signature once (leaves by their intermediate, the
    // intermediates by the root).
    let t = Instant::now();
    use x509_parser::prelude::{FromDer, X509Certificate};
    let key_of = |der: &[u8]| -> Vec<u8> {
        X509Certificate::from_der(der)
            .map(|(_, c)| c.public_key().subject_public_key.data.to_vec())
            .unwrap_or_default()
    };
    let verify = |der: &[u8], key: &[u8]| -> bool {
        let Ok((_, c)) = X509Certificate::from_der(der) else {
            return false;
        };
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, key)
            .verify(c.tbs_certificate.as_ref(), c.signature_value.data.as_ref())
            .is_ok()
    };
    let root_key = key_of(&root_der);
    let int_keys: Vec<Vec<u8>> = int_ders.iter().map(|d| key_of(d)).collect();
    let mut ok = 0usize;
    for d in &int_ders {
        ok += usize::from(verify(d, &root_key));
    }
    for (k, der) in ders.iter().enumerate() {
        ok += usize::from(verify(der, &int_keys[k % ints.len()]));
    }
    let floor = t.elapsed();
    assert_eq!(ok, n + ints.len(), "floor verified every signature");

    let sref = Arc::new(SourceRef::new(SourceKind::File, "bench", "/bench/cold"));
    let opts = ParseOptions::default();
    let inventory: Vec<CertEntry> = ders
        .iter()
        .enumerate()
        .map(|(k, der)| {
            let mut parsed = parse_object(der, FormatHint::Der, &opts);
            let (_, cert) = parsed.certs.remove(0);
            CertEntry {
                source: sref.clone(),
                index_in_bundle: k,
                cert: Arc::new(cert),
                expired: false,
                trust: Default::default(),
                revocation: Default::default(),
            }
        })
        .collect();
    let rev = RevocationConfig {
        methods: Vec::new(),
        ..RevocationConfig::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let at = chrono::Utc::now();
    let t = Instant::now();
    let mut checker = Checker::new(trust, &rev).expect("checker");
    let mut entries = inventory.clone();
    rt.block_on(checker.run(&mut entries, at));
    let cold = t.elapsed();
    let trusted = entries
        .iter()
        .filter(|e| e.trust.status == TrustStatus::Trusted)
        .count();
    assert_eq!(trusted, n, "every cold leaf chains to the root");
    let mut entries = inventory.clone();
    let t = Instant::now();
    rt.block_on(checker.run(&mut entries, at));
    let warm = t.elapsed();
    let ratio = cold.as_secs_f64() / floor.as_secs_f64();
    println!(
        "cold trust: {n} leaves, {} intermediates, {} cores: floor (1 thread, parse + verify once) {:.3} s; \
         cold first run {:.3} s = {ratio:.2}x floor (target <= 1.0: {}); warm {:.3} s",
        ints.len(),
        std::thread::available_parallelism().map_or(1, |c| c.get()),
        floor.as_secs_f64(),
        cold.as_secs_f64(),
        if ratio <= 1.0 { "met" } else { "MISSED" },
        warm.as_secs_f64()
    );
}
