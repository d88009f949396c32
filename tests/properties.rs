//! Property tests on stable: every fuzzing harness of `certvigil::fuzzing`
//! (the same functions the cargo-fuzz targets in `fuzz/` call, so the same
//! invariants: totality, no private key material in any output, bounded error
//! messages, bounded output) fed mutated seeds and arbitrary bytes.
//!
//! Seeds: a few built here (rcgen, always), plus the full seed corpora of
//! `fuzz/gen-corpus.sh` (openssl, keytool, python3) generated once per run under
//! the cargo target directory. Without those tools the generated seeds are
//! skipped loudly, or the run fails under `CERTVIGIL_REQUIRE_REAL=1`.
//!
//! Mutations come from a deterministic xorshift PRNG (bit flips, truncation,
//! insertion, deletion, splicing, DER length bytes, interesting values), so a
//! failure is reproducible: it names the target, case number and seed, and
//! `CERTVIGIL_PROP_SEED=<seed> CERTVIGIL_PROP_CASES=<n>` replays the run.
//! Case counts are bounded (`CERTVIGIL_PROP_CASES`, default 300 a target).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use base64::Engine as _;
use certvigil::fuzzing;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, IsCa, Issuer,
    KeyIdMethod, KeyPair, RevocationReason, RevokedCertParams, SerialNumber,
    PKCS_ECDSA_P256_SHA256,
};

/// Tiny xorshift64* PRNG: deterministic, no dependencies.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\x00",
    b"\xff\xff\xff\xff",
    b"\x7f\xff\xff\xff",
    b"\x84\xff\xff\xff\xff",
    b"\x80",
    b"-----BEGIN CERTIFICATE-----\n",
    b"-----END CERTIFICATE-----\n",
    b"%",
    b"%zz",
    b"\"",
    b"{",
    b"[",
    b": ",
    b"\n- ",
    b"*&a",
    b"!!binary ",
    b"99999999999",
    b";q=",
    b"..",
];

fn mutate(rng: &mut XorShift, input: &[u8], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = data.len();
        match rng.below(9) {
            0 | 1 => {
                for _ in 0..1 + rng.below(4) {
                    if !data.is_empty() {
                        let i = rng.below(data.len());
                        data[i] ^= 1 << rng.below(8);
                    }
                }
            }
            2 => data.truncate(rng.below(len + 1)),
            3 => {
                let at = rng.below(len + 1);
                let bytes: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.byte()).collect();
                data.splice(at..at, bytes);
            }
            4 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below(32.min(len - at));
                data.drain(at..at + n);
            }
            5 if len > 0 => {
                let from = rng.below(len);
                let n = 1 + rng.below(64.min(len - from));
                let chunk = data[from..from + n].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, chunk);
            }
            6 => {
                let v = INTERESTING[rng.below(INTERESTING.len())];
                let at = rng.below(len + 1);
                data.splice(at..at, v.iter().copied());
            }
            7 if !pool.is_empty() => {
                // Cross-over with another seed.
                let other = &pool[rng.below(pool.len())];
                let at = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                let n = rng.below(other.len() - from + 1);
                data.truncate(at);
                data.extend_from_slice(&other[from..from + n]);
            }
            _ => {
                let candidates: Vec<usize> = data
                    .windows(2)
                    .enumerate()
                    .filter(|(_, w)| {
                        matches!(w[0], 0x30 | 0x31 | 0x04 | 0x02 | 0x03 | 0xa0 | 0xa3)
                            || (0x81..=0x84).contains(&w[0])
                    })
                    .map(|(i, _)| i + 1)
                    .collect();
                if !candidates.is_empty() {
                    let i = candidates[rng.below(candidates.len())];
                    data[i] = match rng.below(5) {
                        0 => 0x00,
                        1 => 0x80,
                        2 => 0xff,
                        3 => data[i].wrapping_add(1),
                        _ => data[i].wrapping_sub(1),
                    };
                }
            }
        }
    }
    data
}

fn cases() -> usize {
    std::env::var("CERTVIGIL_PROP_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

fn base_seed() -> u64 {
    std::env::var("CERTVIGIL_PROP_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED_CE27_0001)
}

/// Run `harness` over the seeds, `cases()` mutations of them and some
/// arbitrary byte strings; a panic names the case and shows the input.
fn run(target: &str, harness: fn(&[u8]), mut seeds: Vec<Vec<u8>>) {
    seeds.extend(generated(target));
    assert!(!seeds.is_empty(), "{target}: no seeds");
    let check = |case: &str, input: &[u8]| {
        let res = std::panic::catch_unwind(|| harness(input));
        if let Err(e) = res {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("prop-failures");
            let _ = std::fs::create_dir_all(&dir);
            let saved = dir.join(format!("{target}-{}", case.replace(' ', "_")));
            let _ = std::fs::write(&saved, input);
            panic!(
                "{target}: invariant broken on {case} ({} bytes): {why}\ninput saved to {} \
                 (replay: cargo +nightly fuzz run {target} <file>)",
                input.len(),
                saved.display()
            );
        }
    };
    for (i, s) in seeds.iter().enumerate() {
        check(&format!("seed #{i}"), s);
    }
    let seed = base_seed()
        ^ target
            .bytes()
            .fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(b));
    let mut rng = XorShift::new(seed);
    for case in 0..cases() {
        let input = if case % 10 == 9 {
            let n = rng.below(512);
            (0..n).map(|_| rng.byte()).collect()
        } else {
            let base = &seeds[rng.below(seeds.len())];
            mutate(&mut rng, base, &seeds)
        };
        check(&format!("case {case} (seed {seed})"), &input);
    }
}

fn require_real() -> bool {
    std::env::var("CERTVIGIL_REQUIRE_REAL").as_deref() == Ok("1")
}

fn tool(name: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name} >/dev/null 2>&1"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The corpora of `fuzz/gen-corpus.sh`, generated once per test run.
fn corpus_dir() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let missing: Vec<&str> = ["openssl", "python3", "tar"]
            .into_iter()
            .filter(|t| !tool(t))
            .collect();
        if !missing.is_empty() {
            assert!(
                !require_real(),
                "CERTVIGIL_REQUIRE_REAL=1 but {missing:?} missing: cannot generate the seed corpora"
            );
            eprintln!("SKIP generated seeds: {missing:?} not installed (rcgen seeds only)");
            return None;
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("prop-corpus");
        let _ = std::fs::remove_dir_all(&dir);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/gen-corpus.sh");
        let out = Command::new("bash")
            .arg(&script)
            .env("CORPUS_DIR", &dir)
            .output()
            .expect("run fuzz/gen-corpus.sh");
        assert!(
            out.status.success(),
            "fuzz/gen-corpus.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(dir)
    })
    .as_deref()
}

fn generated(target: &str) -> Vec<Vec<u8>> {
    let Some(dir) = corpus_dir() else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join(target))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.sort();
    let seeds: Vec<Vec<u8>> = paths.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    assert!(
        !seeds.is_empty(),
        "fuzz/gen-corpus.sh made no seeds for {target}"
    );
    seeds
}

struct Pki {
    ca_der: Vec<u8>,
    ca_pem: String,
    leaf_der: Vec<u8>,
    leaf_pem: String,
    leaf_key_pem: String,
    crl_der: Vec<u8>,
    crl_pem: String,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let mut cap = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        cap.distinguished_name = rcgen::DistinguishedName::new();
        cap.distinguished_name.push(DnType::CommonName, "prop ca");
        cap.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let ca = cap.clone().self_signed(&ca_key).expect("ca");
        let issuer = Issuer::new(cap, ca_key);
        let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let leaf = CertificateParams::new(vec!["leaf.example".to_string()])
            .expect("leaf params")
            .signed_by(&leaf_key, &issuer)
            .expect("leaf");
        let crl = CertificateRevocationListParams {
            this_update: time::OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("t"),
            next_update: time::OffsetDateTime::from_unix_timestamp(1_900_000_000).expect("t"),
            crl_number: SerialNumber::from(7u64),
            issuing_distribution_point: None,
            revoked_certs: vec![RevokedCertParams {
                serial_number: SerialNumber::from(0x1001u64),
                revocation_time: time::OffsetDateTime::from_unix_timestamp(1_750_000_000)
                    .expect("t"),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            }],
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&issuer)
        .expect("crl");
        Pki {
            ca_der: ca.der().to_vec(),
            ca_pem: ca.pem(),
            leaf_der: leaf.der().to_vec(),
            leaf_pem: leaf.pem(),
            leaf_key_pem: leaf_key.serialize_pem(),
            crl_der: crl.der().to_vec(),
            crl_pem: crl.pem().expect("crl pem"),
        }
    })
}

fn prefixed(parts: &[&[u8]], tail: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for p in parts {
        v.extend_from_slice(&(p.len() as u16).to_be_bytes());
        v.extend_from_slice(p);
    }
    v.extend_from_slice(tail);
    v
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn prop_parse_object() {
    let p = pki();
    let bundle = format!("{}{}{}", p.leaf_pem, p.leaf_key_pem, p.ca_pem);
    let mut der = vec![2u8];
    der.extend_from_slice(&p.leaf_der);
    run(
        "parse_object",
        fuzzing::fuzz_parse_object,
        vec![[&[0u8][..], bundle.as_bytes()].concat(), der],
    );
}

#[test]
fn prop_crl() {
    let p = pki();
    run(
        "crl",
        fuzzing::fuzz_crl,
        vec![
            p.crl_der.clone(),
            p.crl_pem.clone().into_bytes(),
            // The ten-minute fuzz run's finding (a harness false alarm: a
            // fuzzer-made `BEGIN ...PRIVATE KEY` line before a real CRL block;
            // the "key" bytes were the CRL's own signature). No key material.
            include_bytes!("fixtures/fuzz/crl-key-window-false-alarm.bin").to_vec(),
        ],
    );
}

#[test]
fn prop_ocsp() {
    let p = pki();
    run(
        "ocsp",
        fuzzing::fuzz_ocsp,
        vec![
            prefixed(&[&p.ca_der, &p.leaf_der], b"\x30\x03\x0a\x01\x06"),
            prefixed(
                &[&p.ca_der, &p.leaf_der],
                b"\x30\x0f\x0a\x01\x00\xa0\x0a\x30\x08\x06\x06\x2b\x06\x01\x05\x05\x07",
            ),
        ],
    );
}

#[test]
fn prop_aia() {
    let p = pki();
    run(
        "aia",
        fuzzing::fuzz_aia,
        vec![
            p.ca_der.clone(),
            format!("{}{}", p.ca_pem, p.leaf_pem).into_bytes(),
        ],
    );
}

#[test]
fn prop_config() {
    let seeds = vec![
        certvigil::config::DEFAULT_YAML.as_bytes().to_vec(),
        b"sources:\n- kind: file\n  name: etc\n  paths: [\"/etc/ssl/**/*.pem\"]\n".to_vec(),
        b"server:\n  listen: \"127.0.0.1:9793\"\nscan:\n  interval: 5m\n".to_vec(),
    ];
    run("config", fuzzing::fuzz_config, seeds);
}

#[test]
fn prop_webconfig() {
    run(
        "webconfig",
        fuzzing::fuzz_webconfig,
        vec![
            b"tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n".to_vec(),
            b"http_server_config:\n  headers:\n    X-Frame-Options: deny\n".to_vec(),
            b"Basic dXNlcjpwYXNzd29yZA==".to_vec(),
        ],
    );
}

/// A one-member ustar archive, built byte by byte.
fn tar_of(name: &str, data: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut v = h.to_vec();
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(512) * 512, 0);
    v.extend_from_slice(&[0u8; 1024]);
    v
}

#[test]
fn prop_docker_tar() {
    let p = pki();
    let mut a = vec![0u8];
    a.extend(tar_of("etc/ssl/certs/leaf.pem", p.leaf_pem.as_bytes()));
    let mut b = vec![37u8];
    b.extend(tar_of("etc/ssl/private/k.pem", p.leaf_key_pem.as_bytes()));
    run("docker_tar", fuzzing::fuzz_docker_tar, vec![a, b]);
}

#[test]
fn prop_kubernetes() {
    let p = pki();
    let bundle = format!("{}{}", p.leaf_pem, p.leaf_key_pem);
    let secret = serde_json::json!({
        "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "x"}},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": b64(bundle.as_bytes()), "tls.key": b64(p.leaf_key_pem.as_bytes())}
    });
    let cm = serde_json::json!({
        "metadata": {"name": "kube-root-ca.crt", "namespace": "a"},
        "data": {"ca.crt": p.ca_pem, "mixed": bundle}
    });
    let webhook = serde_json::json!({
        "metadata": {"name": "v"},
        "webhooks": [{"name": "w", "clientConfig": {"caBundle": b64(p.ca_pem.as_bytes())}}]
    });
    let csr = serde_json::json!({
        "metadata": {"name": "c"},
        "spec": {"request": "", "signerName": "a/b"},
        "status": {"certificate": b64(p.leaf_pem.as_bytes())}
    });
    let with = |k: u8, v: &serde_json::Value| [vec![k], v.to_string().into_bytes()].concat();
    run(
        "kubernetes",
        fuzzing::fuzz_kubernetes,
        vec![
            with(0, &secret),
            with(1, &cm),
            with(2, &csr),
            with(3, &webhook),
            with(4, &webhook),
        ],
    );
}

#[test]
fn prop_kubeconfig() {
    let p = pki();
    let kc = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    certificate-authority-data: {}\nusers:\n- name: u\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n    client-certificate: /nonexistent/x.crt\n",
        b64(p.ca_pem.as_bytes()),
        b64(p.leaf_pem.as_bytes()),
        b64(p.leaf_key_pem.as_bytes())
    );
    run(
        "kubeconfig",
        fuzzing::fuzz_kubeconfig,
        vec![kc.into_bytes()],
    );
}

/// A JKS with one trusted certificate, sealed with `changeit`.
fn jks(der: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0xFEED_FEEDu32.to_be_bytes());
    b.extend_from_slice(&2u32.to_be_bytes());
    b.extend_from_slice(&1u32.to_be_bytes());
    b.extend_from_slice(&2u32.to_be_bytes());
    b.extend_from_slice(&2u16.to_be_bytes());
    b.extend_from_slice(b"ca");
    b.extend_from_slice(&0u64.to_be_bytes());
    b.extend_from_slice(&5u16.to_be_bytes());
    b.extend_from_slice(b"X.509");
    b.extend_from_slice(&(der.len() as u32).to_be_bytes());
    b.extend_from_slice(der);
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    for u in "changeit".encode_utf16() {
        ctx.update(&u.to_be_bytes());
    }
    ctx.update(b"Mighty Aphrodite");
    ctx.update(&b);
    b.extend_from_slice(ctx.finish().as_ref());
    b
}

#[test]
fn prop_jks() {
    let p = pki();
    run("jks", fuzzing::fuzz_jks, vec![jks(&p.ca_der)]);
}

#[test]
fn prop_http() {
    run(
        "http",
        fuzzing::fuzz_http,
        vec![
            b"q=web%20x&status=expired&source_kind=file&format=json\napplication/openmetrics-text;q=0.5, text/plain\nBasic dXNlcjpwYXNz\n".to_vec(),
            b"%E2%82%AC%zz+&&=\n*/*;q=0\nBasic !!\n".to_vec(),
            // The fuzz smoke's first finding (a harness false alarm: `<t` is in
            // the page's own `<table>` markup, not an unescaped reflection).
            b"q=<t".to_vec(),
        ],
    );
}

#[test]
fn prop_starttls() {
    // protocol byte (0 smtp, 2 imap, 5 ldap, 7 mysql, 8 xmpp), write size, replies.
    run(
        "starttls",
        fuzzing::fuzz_starttls,
        vec![
            [
                &[0u8, 7][..],
                b"220 mail\r\n250-mail\r\n250 STARTTLS\r\n220 go ahead\r\n",
            ]
            .concat(),
            [
                &[2u8, 11][..],
                b"* OK ready\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\ncv1 OK\r\ncv2 OK go\r\n",
            ]
            .concat(),
            [
                &[5u8, 3][..],
                b"\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00",
            ]
            .concat(),
            [
                &[8u8, 63][..],
                b"<stream:stream><stream:features><starttls/></stream:features><proceed/>",
            ]
            .concat(),
            [
                &[0u8, 63][..],
                b"220 mail\r\n250 STARTTLS\r\n220 go\r\nEHLO injected\r\n",
            ]
            .concat(),
        ],
    );
}

/// The key-marker detector itself must catch a leak, or every "no key in the
/// output" assertion above would pass vacuously.
#[test]
fn key_markers_detect_a_leak() {
    let p = pki();
    let both = format!("{}{}", p.leaf_pem, p.leaf_key_pem);
    let markers = fuzzing::key_markers(both.as_bytes());
    assert!(markers.len() >= 4, "markers: {markers:?}");
    let leaked = std::panic::catch_unwind(|| {
        fuzzing::assert_no_key(&markers, &p.leaf_key_pem, "self-test");
    });
    assert!(leaked.is_err(), "the PEM text of the key was not detected");
    let der = base64::engine::general_purpose::STANDARD
        .decode(
            p.leaf_key_pem
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .expect("key base64");
    let as_debug = format!("{der:?}");
    let leaked = std::panic::catch_unwind(|| {
        fuzzing::assert_no_key(&markers, &as_debug, "self-test");
    });
    assert!(
        leaked.is_err(),
        "the key bytes as a Debug list were not detected"
    );
    // The certificate (which holds the key's public point) is not flagged.
    fuzzing::assert_no_key(&markers, &format!("{:?}", p.leaf_der), "self-test");
}
