//! Trust chains and revocation against a real PKI made with `openssl`
//! (`openssl ca` index, revocations, CRLs), a counting HTTP server on
//! 127.0.0.1 and a real `openssl ocsp` responder.

mod support_pki;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use certvigil::checks::{CheckOutcome, Checker};
use certvigil::config::{RevocationConfig, RevocationMethodConfig, TrustConfig};
use certvigil::model::{
    CertEntry, Reason, RevocationMethod, RevocationStatus, SourceKind, SourceRef, TrustStatus,
};
use certvigil::parse::{parse_object, FormatHint, ParseOptions};
use chrono::{DateTime, Utc};
use support_pki::{free_port, openssl, openssl_available, Ca, Responder, Route, TestServer};

const DAY: i64 = 86_400;

fn entries(paths: &[&Path]) -> Vec<CertEntry> {
    let mut out = Vec::new();
    for p in paths {
        let data = std::fs::read(p).unwrap();
        let parsed = parse_object(&data, FormatHint::Auto, &ParseOptions::default());
        assert!(
            parsed.errors.is_empty(),
            "{}: {:?}",
            p.display(),
            parsed.errors
        );
        let sref = Arc::new(SourceRef::new(
            SourceKind::File,
            "test",
            p.display().to_string(),
        ));
        for (idx, cert) in parsed.certs {
            out.push(CertEntry {
                source: sref.clone(),
                index_in_bundle: idx,
                cert: Arc::new(cert),
                expired: false,
                trust: Default::default(),
                revocation: Default::default(),
            });
        }
    }
    out
}

fn rev(methods: &[RevocationMethodConfig]) -> RevocationConfig {
    RevocationConfig {
        methods: methods.to_vec(),
        fetch_timeout: Duration::from_secs(2),
        ..RevocationConfig::default()
    }
}

fn trust(roots: &[&Path], ints: &[&Path]) -> TrustConfig {
    TrustConfig {
        roots: roots.iter().map(|p| p.to_path_buf()).collect(),
        intermediates: ints.iter().map(|p| p.to_path_buf()).collect(),
        system_roots: false,
        fetch_aia: false,
        ..TrustConfig::default()
    }
}

fn at(offset: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp() + offset, 0).unwrap()
}

fn run(checker: &mut Checker, entries: &mut [CertEntry], now: DateTime<Utc>) -> CheckOutcome {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(checker.run(entries, now))
}

fn one(checker: &mut Checker, path: &Path, now: DateTime<Utc>) -> (CertEntry, CheckOutcome) {
    let mut e = entries(&[path]);
    let out = run(checker, &mut e, now);
    (e.remove(0), out)
}

/// root → intermediate → good + revoked leaves; CRL published on the test
/// server at `/int.crl`; leaves' AIA OCSP URL `ocsp_url`.
struct World {
    _tmp: tempfile::TempDir,
    base: PathBuf,
    server: TestServer,
    root: Ca,
    int: Ca,
    good: PathBuf,
    revoked: PathBuf,
    crl_pem: PathBuf,
    crl_der: Vec<u8>,
}

impl World {
    fn new(ocsp_url: Option<String>, ocsp_port: u16, crl_hours: u32) -> World {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().to_path_buf();
        let server = TestServer::start();
        let crl_url = server.url("/int.crl");
        let ocsp_url = ocsp_url.unwrap_or(format!("http://127.0.0.1:{ocsp_port}/"));
        let root = Ca::root(&base, "Test Root", 3650, &crl_url, &ocsp_url);
        let int = root.sub_ca(&base, "Test Int", 1825, &crl_url, &ocsp_url);
        let good = int.issue("good.test", "leaf_ext", 365, None);
        let revoked = int.issue("revoked.test", "leaf_ext", 365, None);
        int.revoke(&revoked, "keyCompromise");
        let (crl_pem, crl_der) = int.crl(crl_hours);
        server.route("/int.crl", Route::Body(crl_der.clone()));
        World {
            _tmp: tmp,
            base,
            server,
            root,
            int,
            good,
            revoked,
            crl_pem,
            crl_der,
        }
    }

    fn checker(&self, methods: &[RevocationMethodConfig]) -> Checker {
        Checker::new(&trust(&[&self.root.cert], &[&self.int.cert]), &rev(methods)).unwrap()
    }
}

use RevocationMethodConfig::{Crl, Ocsp};

#[test]
fn chain_statuses() {
    if !openssl_available() {
        return;
    }
    let w = World::new(None, 9, 24);
    let now = at(0);
    // Trusted.
    let mut c = w.checker(&[]);
    let (e, _) = one(&mut c, &w.good, now);
    assert_eq!(e.trust.status, TrustStatus::Trusted, "{}", e.trust.detail);
    assert!(e.trust.detail.contains("'Test Int'"), "{}", e.trust.detail);
    assert_eq!(e.revocation.status, RevocationStatus::NotChecked);
    // Missing intermediate.
    let mut c = Checker::new(&trust(&[&w.root.cert], &[]), &rev(&[])).unwrap();
    let (e, _) = one(&mut c, &w.good, now);
    assert_eq!(e.trust.status, TrustStatus::Incomplete);
    assert!(
        e.trust.detail.contains("no issuer for 'good.test' found"),
        "{}",
        e.trust.detail
    );
    // Wrong root (root withheld, another one trusted).
    let other = Ca::root(
        &w.base,
        "Other Root",
        3650,
        "http://127.0.0.1:9/",
        "http://127.0.0.1:9/",
    );
    let mut c = Checker::new(&trust(&[&other.cert], &[&w.int.cert]), &rev(&[])).unwrap();
    let (e, _) = one(&mut c, &w.good, now);
    assert_eq!(e.trust.status, TrustStatus::Untrusted);
    assert!(e.trust.detail.contains("Test Root"), "{}", e.trust.detail);
    // Root present in the inventory but not trusted.
    let mut es = entries(&[&w.good, &w.int.cert, &w.root.cert]);
    run(&mut c, &mut es, now);
    assert_eq!(es[0].trust.status, TrustStatus::Untrusted);
    assert_eq!(es[0].trust.detail, "root 'Test Root' is not a trust anchor");
    assert_eq!(es[2].trust.status, TrustStatus::SelfSigned);
    // Self-signed.
    let mut c = w.checker(&[]);
    let (e, _) = one(&mut c, &other.cert, now);
    assert_eq!(e.trust.status, TrustStatus::SelfSigned);
    // The anchor itself.
    let (e, _) = one(&mut c, &w.root.cert, now);
    assert_eq!(e.trust.status, TrustStatus::Trusted, "{}", e.trust.detail);
    // Leaf expired at the evaluation time.
    let (e, _) = one(&mut c, &w.good, at(400 * DAY));
    assert_eq!(e.trust.status, TrustStatus::Untrusted);
    assert!(
        e.trust.detail.contains("certificate 'good.test' expired"),
        "{}",
        e.trust.detail
    );
}

#[test]
fn expired_intermediate_and_cross_signed_chain() {
    if !openssl_available() {
        return;
    }
    let w = World::new(None, 9, 24);
    let short = w.root.sub_ca(
        &w.base,
        "Short Int",
        30,
        "http://127.0.0.1:9/",
        "http://127.0.0.1:9/",
    );
    let leaf = short.issue("short.test", "leaf_ext", 365, None);
    let mut c = Checker::new(&trust(&[&w.root.cert], &[&short.cert]), &rev(&[])).unwrap();
    let (e, _) = one(&mut c, &leaf, at(0));
    assert_eq!(e.trust.status, TrustStatus::Trusted, "{}", e.trust.detail);
    let (e, _) = one(&mut c, &leaf, at(60 * DAY));
    assert_eq!(e.trust.status, TrustStatus::Untrusted);
    assert!(
        e.trust
            .detail
            .starts_with("intermediate 'Short Int' expired 20"),
        "{}",
        e.trust.detail
    );

    // Cross-signing: "New Root" (self-signed) is also certified by "Test Root"
    // for the same key; an intermediate under New Root issues a leaf.
    let newroot = Ca::root(
        &w.base,
        "New Root",
        3650,
        "http://127.0.0.1:9/",
        "http://127.0.0.1:9/",
    );
    openssl(
        &w.root.dir,
        &[
            "req",
            "-new",
            "-key",
            newroot.key.to_str().unwrap(),
            "-subj",
            "/CN=New Root",
            "-out",
            "cross.csr",
            "-config",
            "ca.cnf",
        ],
    );
    openssl(
        &w.root.dir,
        &[
            "ca",
            "-batch",
            "-notext",
            "-config",
            "ca.cnf",
            "-cert",
            "ca.pem",
            "-keyfile",
            "ca.key",
            "-extensions",
            "ca_ext",
            "-days",
            "3650",
            "-in",
            "cross.csr",
            "-out",
            "cross.pem",
        ],
    );
    let cross = w.root.dir.join("cross.pem");
    let nint = newroot.sub_ca(
        &w.base,
        "New Int",
        1825,
        "http://127.0.0.1:9/",
        "http://127.0.0.1:9/",
    );
    let nleaf = nint.issue("new.test", "leaf_ext", 365, None);
    // The inventory holds the leaf, its intermediate and New Root (self-signed);
    // only Test Root is trusted: the path through the cross certificate wins.
    let mut c = Checker::new(&trust(&[&w.root.cert], &[&cross]), &rev(&[])).unwrap();
    let mut es = entries(&[&nleaf, &nint.cert, &newroot.cert]);
    run(&mut c, &mut es, at(0));
    assert_eq!(
        es[0].trust.status,
        TrustStatus::Trusted,
        "{}",
        es[0].trust.detail
    );
    assert!(
        es[0]
            .trust
            .detail
            .contains("'New Root' → 'Test Root' (trust anchor)"),
        "{}",
        es[0].trust.detail
    );
    // Trusting New Root directly works as well.
    let mut c = Checker::new(&trust(&[&newroot.cert], &[&cross]), &rev(&[])).unwrap();
    let mut es = entries(&[&nleaf, &nint.cert]);
    run(&mut c, &mut es, at(0));
    assert_eq!(
        es[0].trust.status,
        TrustStatus::Trusted,
        "{}",
        es[0].trust.detail
    );
}

#[test]
fn failed_crl_refetch_keeps_the_current_copy() {
    if !openssl_available() {
        return;
    }
    let w = World::new(None, 9, 24);
    // A TTL of zero: every run re-fetches.
    let mut c = Checker::new(
        &trust(&[&w.root.cert], &[&w.int.cert]),
        &RevocationConfig {
            cache_min_ttl: Duration::ZERO,
            cache_max_ttl: Duration::ZERO,
            ..rev(&[Crl])
        },
    )
    .unwrap();
    let (e, _) = one(&mut c, &w.revoked, at(0));
    assert_eq!(e.revocation.status, RevocationStatus::Revoked);
    assert_eq!(w.server.hits("/int.crl"), 1);
    // The distribution point breaks; the cached CRL is before its nextUpdate.
    w.server.route("/int.crl", Route::Status(500));
    let (e, _) = one(&mut c, &w.revoked, at(0));
    assert_eq!(w.server.hits("/int.crl"), 2, "the re-fetch was attempted");
    assert_eq!(
        e.revocation.status,
        RevocationStatus::Revoked,
        "{:?}",
        e.revocation
    );
    assert_eq!(e.revocation.method, Some(RevocationMethod::Crl));
    let (e, _) = one(&mut c, &w.good, at(0));
    assert_eq!(
        e.revocation.status,
        RevocationStatus::Good,
        "{:?}",
        e.revocation
    );
    // Without any copy (a fresh checker), the same failure is `unknown`.
    let mut fresh = Checker::new(&trust(&[&w.root.cert], &[&w.int.cert]), &rev(&[Crl])).unwrap();
    let (e, out) = one(&mut fresh, &w.good, at(0));
    assert_eq!(e.revocation.status, RevocationStatus::Unknown);
    assert_eq!(out.new_errors.len(), 1);
}

#[test]
fn crl_good_revoked_cached_and_stale() {
    if !openssl_available() {
        return;
    }
    let w = World::new(None, 9, 24);
    let mut c = w.checker(&[Crl]);
    let mut es = entries(&[&w.good, &w.revoked]);
    let out = run(&mut c, &mut es, at(0));
    assert_eq!(
        es[0].revocation.status,
        RevocationStatus::Good,
        "{:?}",
        es[0].revocation
    );
    assert_eq!(es[0].revocation.method, Some(RevocationMethod::Crl));
    let r = &es[1].revocation;
    assert_eq!(r.status, RevocationStatus::Revoked, "{r:?}");
    assert_eq!(r.method, Some(RevocationMethod::Crl));
    assert_eq!(r.reason.as_deref(), Some("keyCompromise"));
    assert!(
        r.revoked_at
            .as_deref()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 20),
        "{r:?}"
    );
    assert_eq!(out.crls.len(), 1);
    assert!(!out.crls[0].stale);
    assert_eq!(out.crls[0].issuer.cn, "Test Int");
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(w.server.hits("/int.crl"), 1);
    // Within the TTL: no new request, same answers.
    for _ in 0..3 {
        let mut es = entries(&[&w.good, &w.revoked]);
        run(&mut c, &mut es, at(0));
        assert_eq!(es[1].revocation.status, RevocationStatus::Revoked);
    }
    assert_eq!(
        w.server.hits("/int.crl"),
        1,
        "each URL at most once per TTL"
    );
    // Stale: evaluated after nextUpdate (24h).
    let mut es = entries(&[&w.good, &w.revoked]);
    let out = run(&mut c, &mut es, at(3 * DAY));
    assert_eq!(es[0].revocation.status, RevocationStatus::Unknown);
    assert!(
        es[0]
            .revocation
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("stale"),
        "{:?}",
        es[0].revocation
    );
    assert_eq!(
        es[1].revocation.status,
        RevocationStatus::Revoked,
        "a listed serial stays revoked"
    );
    assert!(out.crls[0].stale);
}

#[test]
fn ocsp_preferred_against_real_responder() {
    if !openssl_available() {
        return;
    }
    let port = free_port();
    let w = World::new(None, port, 24);
    let _responder = Responder::start(&w.int, port);
    let mut c = w.checker(&[Ocsp, Crl]);
    let mut es = entries(&[&w.good, &w.revoked]);
    let out = run(&mut c, &mut es, at(0));
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(
        es[0].revocation.status,
        RevocationStatus::Good,
        "{:?}",
        es[0].revocation
    );
    assert_eq!(es[0].revocation.method, Some(RevocationMethod::Ocsp));
    assert_eq!(
        es[1].revocation.status,
        RevocationStatus::Revoked,
        "{:?}",
        es[1].revocation
    );
    assert_eq!(es[1].revocation.method, Some(RevocationMethod::Ocsp));
    assert_eq!(es[1].revocation.reason.as_deref(), Some("keyCompromise"));
    assert_eq!(w.server.hits("/int.crl"), 0, "OCSP answered: no CRL needed");
    let before = c.requests();
    let mut es = entries(&[&w.good, &w.revoked]);
    run(&mut c, &mut es, at(0));
    assert_eq!(
        c.requests(),
        before,
        "OCSP answers are cached until nextUpdate"
    );

    // `ocsp_get`: the same answers through RFC 6960 GET requests (the real
    // responder decodes them; a request it could not decode would be unknown).
    let cfg = RevocationConfig {
        ocsp_get: true,
        ocsp_nonce: false,
        ..rev(&[Ocsp])
    };
    let mut c = Checker::new(&trust(&[&w.root.cert], &[&w.int.cert]), &cfg).unwrap();
    let mut es = entries(&[&w.good, &w.revoked]);
    let out = run(&mut c, &mut es, at(0));
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(es[0].revocation.status, RevocationStatus::Good);
    assert_eq!(es[1].revocation.status, RevocationStatus::Revoked);
    assert_eq!(out.requests, 2);
}

#[test]
fn responder_down_and_crl_failures_are_unknown_with_reason() {
    if !openssl_available() {
        return;
    }
    let dead = free_port(); // nothing listens here
    let w = World::new(None, dead, 24);
    let mut c = w.checker(&[Ocsp]);
    let (e, out) = one(&mut c, &w.good, at(0));
    assert_eq!(e.revocation.status, RevocationStatus::Unknown);
    assert_eq!(e.revocation.method, Some(RevocationMethod::Ocsp));
    assert!(
        e.revocation
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("cannot connect"),
        "{:?}",
        e.revocation
    );
    assert_eq!(out.new_errors.len(), 1);
    assert_eq!(out.new_errors[0].reason, Reason::OcspFailed);
    assert_eq!(
        out.new_errors[0].source.location,
        w.good.display().to_string()
    );
    // Cached failure: still reported, not counted again.
    let (_, out) = one(&mut c, &w.good, at(0));
    assert_eq!(out.errors.len(), 1);
    assert!(out.new_errors.is_empty());

    // CRL faults: garbage, truncated, wrong key, 404, redirect loop, hang.
    // Same name as the intermediate, another key (its own directory: the
    // intermediate's files must stay intact).
    let other = Ca::root(
        &w.base.join("other"),
        "Test Int",
        3650,
        "http://127.0.0.1:9/",
        "http://127.0.0.1:9/",
    );
    let (_, wrong_key) = other.crl(24);
    let cases: Vec<(Route, &str, Reason)> = vec![
        (
            Route::Body(b"garbage".to_vec()),
            "not a valid CRL",
            Reason::CrlFetchFailed,
        ),
        (
            Route::Body(w.crl_der[..w.crl_der.len() / 2].to_vec()),
            "not a valid CRL",
            Reason::CrlFetchFailed,
        ),
        (
            Route::Body(wrong_key),
            "signature does not verify",
            Reason::CrlFetchFailed,
        ),
        (
            Route::Status(404),
            "HTTP status 404",
            Reason::CrlFetchFailed,
        ),
        (
            Route::Redirect("/int.crl".into()),
            "too many redirects",
            Reason::CrlFetchFailed,
        ),
        (Route::Hang, "timed out", Reason::Timeout),
    ];
    for (route, text, reason) in cases {
        let redirect = matches!(route, Route::Redirect(_));
        let hits_before = w.server.hits("/int.crl");
        w.server.route("/int.crl", route);
        let mut c = Checker::new(
            &trust(&[&w.root.cert], &[&w.int.cert]),
            &RevocationConfig {
                fetch_timeout: Duration::from_millis(500),
                ..rev(&[Crl])
            },
        )
        .unwrap();
        let (e, out) = one(&mut c, &w.revoked, at(0));
        assert_eq!(
            e.revocation.status,
            RevocationStatus::Unknown,
            "{text}: {:?}",
            e.revocation
        );
        assert!(
            e.revocation.reason.as_deref().unwrap_or("").contains(text),
            "{text}: {:?}",
            e.revocation
        );
        if text != "signature does not verify" {
            assert_eq!(out.new_errors.len(), 1, "{text}");
            assert_eq!(out.new_errors[0].reason, reason, "{text}");
        }
        if redirect {
            // The first request, then MAX_REDIRECTS followed redirects; no more.
            assert_eq!(
                w.server.hits("/int.crl") - hits_before,
                1 + certvigil::checks::fetch::MAX_REDIRECTS,
                "a redirect loop is followed a bounded number of times"
            );
        }
    }
}

#[test]
fn ocsp_bad_answers() {
    if !openssl_available() {
        return;
    }
    let tmp_server = TestServer::start();
    let w = World::new(Some(tmp_server.url("/ocsp")), 0, 24);
    // A genuine response about the good leaf, fetched with openssl's client
    // from a real responder (no nonce), replayed for the revoked leaf.
    let port = free_port();
    let _responder = Responder::start(&w.int, port);
    openssl(
        &w.base,
        &[
            "ocsp",
            "-issuer",
            w.int.cert.to_str().unwrap(),
            "-cert",
            w.good.to_str().unwrap(),
            "-url",
            &format!("http://127.0.0.1:{port}/"),
            "-no_nonce",
            "-respout",
            "good.resp",
            "-noverify",
        ],
    );
    let good_resp = std::fs::read(w.base.join("good.resp")).unwrap();
    let cases: Vec<(Route, &str)> = vec![
        (Route::Body(good_resp.clone()), "another certificate"),
        (
            Route::Body(good_resp[..good_resp.len() / 2].to_vec()),
            "not an OCSP response",
        ),
        (
            Route::Body(b"\x30\x03\x0a\x01\x01".to_vec()),
            "responder answered",
        ),
        (Route::Body(b"garbage".to_vec()), "not an OCSP response"),
        (Route::Hang, "timed out"),
    ];
    for (route, text) in cases {
        tmp_server.route("/ocsp", route);
        let mut c = Checker::new(
            &trust(&[&w.root.cert], &[&w.int.cert]),
            &RevocationConfig {
                fetch_timeout: Duration::from_millis(500),
                ..rev(&[Ocsp])
            },
        )
        .unwrap();
        let (e, out) = one(&mut c, &w.revoked, at(0));
        assert_eq!(
            e.revocation.status,
            RevocationStatus::Unknown,
            "{text}: {:?}",
            e.revocation
        );
        assert!(
            e.revocation.reason.as_deref().unwrap_or("").contains(text),
            "{text}: {:?}",
            e.revocation
        );
        assert_eq!(out.new_errors.len(), 1);
        let want = if text == "timed out" {
            Reason::Timeout
        } else {
            Reason::OcspFailed
        };
        assert_eq!(out.new_errors[0].reason, want);
    }
    // The replayed response is fine for the certificate it is about.
    tmp_server.route("/ocsp", Route::Body(good_resp));
    let mut c = w.checker(&[Ocsp]);
    let (e, _) = one(&mut c, &w.good, at(0));
    assert_eq!(
        e.revocation.status,
        RevocationStatus::Good,
        "{:?}",
        e.revocation
    );

    // `ocsp_get`: the request goes out as GET <url>/<url-encoded base64 DER>
    // (the test server has no such route: 404, so the status is unknown).
    let cfg = RevocationConfig {
        ocsp_get: true,
        ocsp_nonce: false,
        ..rev(&[Ocsp])
    };
    let get_server = TestServer::start();
    let w2 = World::new(Some(get_server.url("/ocsp")), 0, 24);
    let mut c = Checker::new(&trust(&[&w2.root.cert], &[&w2.int.cert]), &cfg).unwrap();
    let (e, _) = one(&mut c, &w2.good, at(0));
    assert_eq!(e.revocation.status, RevocationStatus::Unknown);
    let paths = get_server.paths();
    assert_eq!(paths.len(), 1, "{paths:?}");
    assert!(paths[0].starts_with("/ocsp/M"), "{paths:?}");
    assert!(
        !paths[0].contains('+') && !paths[0].contains('='),
        "{paths:?}"
    );
}

/// An `openssl ca` index with `n` revoked serials (plus the CA's own entries).
pub fn big_index(ca: &Ca, n: usize) {
    use std::fmt::Write as _;
    let mut idx = std::fs::read_to_string(ca.dir.join("index.txt")).unwrap();
    for i in 0..n {
        let _ = writeln!(
            idx,
            "R\t391231235959Z\t240101000000Z,superseded\t{:08X}\tunknown\t/CN=bulk{i}",
            0x7000_0000u32 + i as u32
        );
    }
    std::fs::write(ca.dir.join("index.txt"), idx).unwrap();
}

#[test]
fn large_crl_and_size_cap() {
    if !openssl_available() {
        return;
    }
    let w = World::new(None, 9, 24);
    big_index(&w.int, 10_000);
    let (_, big) = w.int.crl(24);
    assert!(big.len() > 200_000);
    w.server.route("/int.crl", Route::Body(big.clone()));
    let mut c = w.checker(&[Crl]);
    let mut es = entries(&[&w.good, &w.revoked]);
    let out = run(&mut c, &mut es, at(0));
    assert_eq!(es[0].revocation.status, RevocationStatus::Good);
    assert_eq!(es[1].revocation.status, RevocationStatus::Revoked);
    assert_eq!(out.crls[0].entries, 10_001);
    // Over the cap, with and without Content-Length.
    for route in [Route::Body(big.clone()), Route::Unsized(big.clone())] {
        w.server.route("/int.crl", route);
        let mut c = Checker::new(
            &trust(&[&w.root.cert], &[&w.int.cert]),
            &RevocationConfig {
                max_crl_size: 100_000,
                ..rev(&[Crl])
            },
        )
        .unwrap();
        let (e, out) = one(&mut c, &w.revoked, at(0));
        assert_eq!(e.revocation.status, RevocationStatus::Unknown);
        assert!(
            e.revocation
                .reason
                .as_deref()
                .unwrap_or("")
                .contains("larger than the limit"),
            "{:?}",
            e.revocation
        );
        assert_eq!(out.new_errors[0].reason, Reason::CrlFetchFailed);
    }
}

#[test]
fn offline_makes_no_request() {
    if !openssl_available() {
        return;
    }
    let srv = TestServer::start();
    let w = World::new(Some(srv.url("/ocsp")), 0, 24);
    let cfg = RevocationConfig {
        offline: true,
        ..rev(&[Ocsp, Crl])
    };
    let mut c = Checker::new(&trust(&[&w.root.cert], &[&w.int.cert]), &cfg).unwrap();
    let mut es = entries(&[&w.good, &w.revoked]);
    let out = run(&mut c, &mut es, at(0));
    assert_eq!(es[0].revocation.status, RevocationStatus::NotChecked);
    assert_eq!(es[1].revocation.status, RevocationStatus::NotChecked);
    assert!(out.errors.is_empty());
    // Local CRLs still work offline.
    let cfg = RevocationConfig {
        crl_files: vec![w.crl_pem.clone()],
        ..cfg
    };
    let mut c = Checker::new(&trust(&[&w.root.cert], &[&w.int.cert]), &cfg).unwrap();
    let mut es = entries(&[&w.good, &w.revoked]);
    let out = run(&mut c, &mut es, at(0));
    assert_eq!(es[0].revocation.status, RevocationStatus::Good);
    assert_eq!(es[1].revocation.status, RevocationStatus::Revoked);
    assert_eq!(out.crls.len(), 1);
    assert_eq!(c.requests(), 0);
    assert_eq!(
        srv.total(),
        0,
        "offline: no request reached the OCSP server"
    );
    assert_eq!(
        w.server.total(),
        0,
        "offline: no request reached the CRL server"
    );
}

/// `trust.fetch_aia`: a leaf whose bundle lacks its intermediates gets them
/// from its caIssuers URL (DER, PEM, certs-only PKCS#7), two levels deep;
/// answers are cached per URL; failures are located errors; a fetched
/// certificate never creates trust on its own; offline fetches nothing.
#[test]
fn aia_ca_issuers_complete_incomplete_chains() {
    if !openssl_available() {
        return;
    }
    let w = World::new(None, 9, 24);
    let none = "http://127.0.0.1:9/";
    // root → int (World) → int2 → leaf2; leaf → int directly.
    let aia = |url: &str| {
        format!(
            "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n\
             authorityKeyIdentifier = keyid\nauthorityInfoAccess = caIssuers;URI:{url}"
        )
    };
    w.int
        .add_ext_section("leaf_aia_der", &aia(&w.server.url("/int.der")));
    w.int.add_ext_section(
        "ca_aia_p7c",
        &format!(
            "basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
             subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n\
             authorityInfoAccess = caIssuers;URI:{}",
            w.server.url("/int.p7c")
        ),
    );
    w.int
        .add_ext_section("leaf_aia_404", &aia(&w.server.url("/missing.der")));
    w.int
        .add_ext_section("leaf_aia_junk", &aia(&w.server.url("/junk.der")));
    let leaf = w.int.issue("aia.test", "leaf_aia_der", 365, None);
    let lost = w.int.issue("lost.test", "leaf_aia_404", 365, None);
    let junk = w.int.issue("junk.test", "leaf_aia_junk", 365, None);
    let int2 = w
        .int
        .sub_ca_with(&w.base, "Test Int2", 1000, none, none, "ca_aia_p7c");
    int2.add_ext_section("leaf_aia_pem", &aia(&w.server.url("/int2.pem")));
    let leaf2 = int2.issue("deep.test", "leaf_aia_pem", 365, None);

    // The answers, in the three forms CAs publish.
    openssl(
        &w.base,
        &[
            "x509",
            "-in",
            w.int.cert.to_str().unwrap(),
            "-outform",
            "DER",
            "-out",
            "int.der",
        ],
    );
    openssl(
        &w.base,
        &[
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            w.int.cert.to_str().unwrap(),
            "-outform",
            "DER",
            "-out",
            "int.p7c",
        ],
    );
    let int_der = std::fs::read(w.base.join("int.der")).unwrap();
    w.server.route("/int.der", Route::Body(int_der));
    w.server.route(
        "/int.p7c",
        Route::Body(std::fs::read(w.base.join("int.p7c")).unwrap()),
    );
    w.server
        .route("/int2.pem", Route::Body(std::fs::read(&int2.cert).unwrap()));
    w.server.route("/missing.der", Route::Status(404));
    w.server
        .route("/junk.der", Route::Body(b"<html>moved</html>".to_vec()));

    let with_aia = |roots: &[&Path], offline: bool| {
        let t = TrustConfig {
            fetch_aia: true,
            ..trust(roots, &[])
        };
        let r = RevocationConfig {
            offline,
            ..rev(&[])
        };
        Checker::new(&t, &r).unwrap()
    };
    let now = at(0);

    // Off by default: incomplete, nothing fetched.
    let mut c = Checker::new(&trust(&[&w.root.cert], &[]), &rev(&[])).unwrap();
    let (e, _) = one(&mut c, &leaf, now);
    assert_eq!(
        e.trust.status,
        TrustStatus::Incomplete,
        "{}",
        e.trust.detail
    );
    assert_eq!(w.server.total(), 0);

    // Offline wins over fetch_aia.
    let mut c = with_aia(&[&w.root.cert], true);
    let (e, _) = one(&mut c, &leaf, now);
    assert_eq!(
        e.trust.status,
        TrustStatus::Incomplete,
        "{}",
        e.trust.detail
    );
    assert_eq!(c.requests(), 0);
    assert_eq!(w.server.total(), 0, "offline: no caIssuers request");

    // On: two levels (PEM answer, then a PKCS#7 one).
    let mut c = with_aia(&[&w.root.cert], false);
    let (e, out) = one(&mut c, &leaf2, now);
    assert_eq!(e.trust.status, TrustStatus::Trusted, "{}", e.trust.detail);
    assert!(
        e.trust.detail.contains("AIA caIssuers"),
        "{}",
        e.trust.detail
    );
    assert!(e.trust.detail.contains("'Test Int2'"), "{}", e.trust.detail);
    assert_eq!(w.server.hits("/int2.pem"), 1);
    assert_eq!(w.server.hits("/int.p7c"), 1);
    assert_eq!(out.requests, 2);
    assert!(out.errors.is_empty(), "{:?}", out.errors);

    // One level (DER answer), with failures beside it; the deep chain is
    // answered from the cache.
    let mut es = entries(&[&leaf, &leaf2, &lost, &junk]);
    let out = run(&mut c, &mut es, now);
    for e in &es[..2] {
        assert_eq!(e.trust.status, TrustStatus::Trusted, "{}", e.trust.detail);
        assert!(
            e.trust.detail.contains("AIA caIssuers"),
            "{}",
            e.trust.detail
        );
    }
    assert_eq!(w.server.hits("/int.der"), 1);
    assert_eq!(w.server.hits("/int2.pem"), 1);
    // Failures are located aia_fetch_failed errors; these two leaves still
    // verify because their issuer came with another certificate's answer.
    for e in &es[2..] {
        assert_eq!(e.trust.status, TrustStatus::Trusted, "{}", e.trust.detail);
    }
    let reasons: Vec<(Reason, String)> = out
        .new_errors
        .iter()
        .map(|e| (e.reason, e.message.clone()))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons.iter().all(|(r, _)| *r == Reason::AiaFetchFailed));
    assert!(
        reasons
            .iter()
            .any(|(_, m)| m.contains("/missing.der") && m.contains("'lost.test'")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|(_, m)| m.contains("/junk.der")),
        "{reasons:?}"
    );
    assert_eq!(out.requests, 3);

    // Warm: answers and failures come from the cache (no request); failures
    // stay current errors but are not counted again.
    let mut es = entries(&[&leaf, &leaf2, &lost, &junk]);
    let out = run(&mut c, &mut es, now);
    assert_eq!(es[0].trust.status, TrustStatus::Trusted);
    assert_eq!(es[1].trust.status, TrustStatus::Trusted);
    assert_eq!(out.requests, 0);
    assert_eq!(w.server.total(), 5);
    assert_eq!(out.errors.len(), 2);
    assert!(out.new_errors.is_empty());

    // Alone, a failed fetch leaves the chain incomplete.
    let mut c2 = with_aia(&[&w.root.cert], false);
    let (e, out) = one(&mut c2, &lost, now);
    assert_eq!(
        e.trust.status,
        TrustStatus::Incomplete,
        "{}",
        e.trust.detail
    );
    assert_eq!(out.new_errors.len(), 1);
    assert_eq!(out.new_errors[0].reason, Reason::AiaFetchFailed);
    assert_eq!(w.server.hits("/missing.der"), 2);

    // A fetched intermediate does not create trust: another root is the anchor.
    let other = Ca::root(&w.base, "Other Root", 3650, none, none);
    let mut c = with_aia(&[&other.cert], false);
    let (e, _) = one(&mut c, &leaf, now);
    assert_eq!(e.trust.status, TrustStatus::Untrusted, "{}", e.trust.detail);

    // An answer holding an unrelated certificate leaves the chain incomplete.
    w.server
        .route("/int.der", Route::Body(std::fs::read(&other.cert).unwrap()));
    let mut c = with_aia(&[&w.root.cert], false);
    let (e, _) = one(&mut c, &leaf, now);
    assert_eq!(
        e.trust.status,
        TrustStatus::Incomplete,
        "{}",
        e.trust.detail
    );
}
