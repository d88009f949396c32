//! Property test: `parse_object` is total over mutated inputs.
//!
//! Valid PEM bundles, DER certificates, PKCS#12 archives and a Java keystore
//! (JKS, built byte by byte with its SHA-1 integrity digest) are mutated with a
//! deterministic xorshift PRNG (bit flips, truncation, insertion, deletion,
//! splicing, DER length-byte changes), thousands of times, and every result must
//! come back without a panic, with non-empty bounded error messages and sane
//! certificate summaries. A failure names the case seed; reproduce with
//! `CERTVIGIL_MUTATION_SEED=<seed> CERTVIGIL_MUTATION_ITERS=1`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use base64::Engine;
use certvigil::model::MAX_MESSAGE_LEN;
use certvigil::parse::{parse_object, FormatHint, ParseOptions, ParseOutput};
use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PKCS_ECDSA_P256_SHA256,
    PKCS_ED25519,
};

/// Tiny xorshift64* PRNG: deterministic, no dependencies.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        // Never zero; mix the seed a little.
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
    /// Uniform-ish in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

fn mutate(rng: &mut XorShift, input: &[u8]) -> Vec<u8> {
    let mut data = input.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = data.len();
        match rng.below(8) {
            // Bit flips.
            0 | 1 => {
                if len > 0 {
                    for _ in 0..1 + rng.below(4) {
                        let i = rng.below(len);
                        data[i] ^= 1 << rng.below(8);
                    }
                }
            }
            // Truncation.
            2 => data.truncate(rng.below(len + 1)),
            // Insertion of random bytes.
            3 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
                data.splice(at..at, bytes);
            }
            // Deletion of a range.
            4 => {
                if len > 0 {
                    let at = rng.below(len);
                    let n = 1 + rng.below(32.min(len - at));
                    data.drain(at..at + n);
                }
            }
            // Splice: duplicate a slice somewhere else.
            5 => {
                if len > 0 {
                    let from = rng.below(len);
                    let n = 1 + rng.below(64.min(len - from));
                    let chunk = data[from..from + n].to_vec();
                    let at = rng.below(len + 1);
                    data.splice(at..at, chunk);
                }
            }
            // DER length-byte changes: after a constructed tag, or a long-form prefix.
            _ => {
                let candidates: Vec<usize> = data
                    .windows(2)
                    .enumerate()
                    .filter(|(_, w)| {
                        matches!(w[0], 0x30 | 0x31 | 0x04 | 0x02 | 0xa0 | 0xa3)
                            || (0x81..=0x84).contains(&w[0])
                    })
                    .map(|(i, _)| i + 1)
                    .collect();
                if !candidates.is_empty() {
                    let i = candidates[rng.below(candidates.len())];
                    data[i] = match rng.below(6) {
                        0 => 0x00,
                        1 => 0x80,
                        2 => 0xff,
                        3 => 0x84,
                        4 => data[i].wrapping_add(1),
                        _ => data[i].wrapping_sub(1),
                    };
                }
            }
        }
    }
    data
}

fn params(cn: &str, ca: bool) -> CertificateParams {
    let mut p = CertificateParams::new(vec![format!("{cn}.example"), "192.0.2.1".into()]).unwrap();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationName, "Mutants \u{1F600} \"Inc\"");
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    p
}

struct Corpus {
    pem: Vec<u8>,
    der: Vec<u8>,
    p12: Vec<u8>,
    jks: Vec<u8>,
}

/// A version-2 JKS: a key entry (protected key bytes are filler) with `chain`,
/// then one trusted-certificate entry per `trusted`, sealed with `password`.
fn jks(magic: u32, chain: &[&[u8]], trusted: &[&[u8]], password: &str) -> Vec<u8> {
    fn cert(b: &mut Vec<u8>, der: &[u8]) {
        b.extend_from_slice(&5u16.to_be_bytes());
        b.extend_from_slice(b"X.509");
        b.extend_from_slice(&(der.len() as u32).to_be_bytes());
        b.extend_from_slice(der);
    }
    let mut b = Vec::new();
    b.extend_from_slice(&magic.to_be_bytes());
    b.extend_from_slice(&2u32.to_be_bytes());
    b.extend_from_slice(&(1 + trusted.len() as u32).to_be_bytes());
    b.extend_from_slice(&1u32.to_be_bytes());
    b.extend_from_slice(&3u16.to_be_bytes());
    b.extend_from_slice(b"key");
    b.extend_from_slice(&0u64.to_be_bytes());
    b.extend_from_slice(&4u32.to_be_bytes());
    b.extend_from_slice(b"\x30\x02\x05\x00");
    b.extend_from_slice(&(chain.len() as u32).to_be_bytes());
    for c in chain {
        cert(&mut b, c);
    }
    for (i, t) in trusted.iter().enumerate() {
        b.extend_from_slice(&2u32.to_be_bytes());
        let alias = format!("t{i}");
        b.extend_from_slice(&(alias.len() as u16).to_be_bytes());
        b.extend_from_slice(alias.as_bytes());
        b.extend_from_slice(&0u64.to_be_bytes());
        cert(&mut b, t);
    }
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    for u in password.encode_utf16() {
        ctx.update(&u.to_be_bytes());
    }
    ctx.update(b"Mighty Aphrodite");
    ctx.update(&b);
    b.extend_from_slice(ctx.finish().as_ref());
    b
}

fn corpus() -> Corpus {
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let ca = params("ca", true).self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(params("ca", true), ca_key);
    let leaf_key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
    let leaf = params("leaf", false).signed_by(&leaf_key, &issuer).unwrap();

    let pem = format!("{}{}{}", leaf.pem(), leaf_key.serialize_pem(), ca.pem()).into_bytes();
    let der = leaf.der().to_vec();

    let p12_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let p12_cert = params("p12", false).self_signed(&p12_key).unwrap();
    let mut ks = KeyStore::new();
    ks.add_entry(
        "k",
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(
            b"id".to_vec(),
            PrivateKey::from_der(&p12_key.serialize_der()).unwrap(),
            [
                Certificate::from_der(p12_cert.der()).unwrap(),
                Certificate::from_der(ca.der()).unwrap(),
            ],
        )),
    );
    let p12 = ks
        .writer("pw")
        .encryption_iterations(16)
        .mac_iterations(16)
        .write()
        .unwrap();
    let jks = jks(0xFEED_FEED, &[&der, ca.der()], &[ca.der()], "pw");
    Corpus { pem, der, p12, jks }
}

/// Invariants every output must satisfy.
fn check(out: &ParseOutput) -> Result<(), String> {
    for e in &out.errors {
        if e.message.is_empty() {
            return Err(format!("empty message for {:?}", e.reason));
        }
        if e.message.len() > MAX_MESSAGE_LEN + '…'.len_utf8() {
            return Err(format!("unbounded message ({} bytes)", e.message.len()));
        }
    }
    let mut last = None;
    for (i, c) in &out.certs {
        if last.is_some_and(|l| l >= *i) {
            return Err(format!("indices not increasing at {i}"));
        }
        last = Some(*i);
        if c.der.is_empty() || c.sha256_fingerprint.len() != 64 {
            return Err("bad certificate summary".to_string());
        }
    }
    Ok(())
}

fn iterations() -> u64 {
    std::env::var("CERTVIGIL_MUTATION_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2500)
}

fn base_seed() -> u64 {
    std::env::var("CERTVIGIL_MUTATION_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED_0000)
}

#[test]
fn parse_object_never_panics_on_mutated_input() {
    let corpus = corpus();
    let armour = |der: &[u8]| {
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        )
        .into_bytes()
    };
    let opts = ParseOptions {
        pkcs12_passwords: vec!["pw".to_string()],
        try_empty_password: true,
        keystore_passwords: vec!["pw".to_string()],
    };

    // Sanity: the unmutated inputs parse.
    assert_eq!(
        parse_object(&corpus.pem, FormatHint::Auto, &opts)
            .certs
            .len(),
        2
    );
    assert_eq!(
        parse_object(&corpus.der, FormatHint::Auto, &opts)
            .certs
            .len(),
        1
    );
    assert_eq!(
        parse_object(&corpus.p12, FormatHint::Auto, &opts)
            .certs
            .len(),
        2
    );

    assert_eq!(
        parse_object(&corpus.jks, FormatHint::Auto, &opts)
            .certs
            .len(),
        3
    );

    let kinds: [(&str, &[u8]); 5] = [
        ("pem-text", &corpus.pem),
        ("der-in-pem", &corpus.der),
        ("der", &corpus.der),
        ("pkcs12", &corpus.p12),
        ("jks", &corpus.jks),
    ];
    let hints = [
        FormatHint::Auto,
        FormatHint::Pem,
        FormatHint::Der,
        FormatHint::Pkcs12,
    ];
    let mut failures = Vec::new();
    let mut cases = 0u64;
    let mut parsed_certs = 0usize;
    let seed0 = base_seed();
    for n in 0..iterations() {
        for (k, (kind, input)) in kinds.iter().enumerate() {
            let seed = seed0 + n * 16 + k as u64;
            let mut rng = XorShift::new(seed);
            let mut data = mutate(&mut rng, input);
            if *kind == "der-in-pem" {
                data = armour(&data);
            }
            // Mostly Auto; sometimes a forced (possibly wrong) hint.
            let hint = if rng.below(4) == 0 {
                hints[rng.below(hints.len())]
            } else {
                FormatHint::Auto
            };
            cases += 1;
            let result = catch_unwind(AssertUnwindSafe(|| parse_object(&data, hint, &opts)));
            match result {
                Ok(out) => {
                    parsed_certs += out.certs.len();
                    if let Err(why) = check(&out) {
                        failures.push(format!("seed {seed} ({kind}, {hint:?}): {why}"));
                    }
                }
                Err(_) => failures.push(format!("seed {seed} ({kind}, {hint:?}): PANIC")),
            }
        }
    }
    eprintln!("mutation: {cases} cases, {parsed_certs} certificates still parsed");
    assert!(
        failures.is_empty(),
        "{} failing cases (first 20):\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}

/// Arbitrary bytes behind a JKS or JCEKS magic number (and a plausible version
/// and entry count, so the entry walk is reached): never a panic, always a
/// bounded `bad_jks`, `bad_passphrase` or `bad_der` error, never a certificate
/// without the password's digest.
#[test]
fn java_keystore_is_total_over_arbitrary_bytes() {
    let opts = ParseOptions {
        keystore_passwords: vec!["pw".to_string()],
        ..ParseOptions::default()
    };
    let seed0 = base_seed();
    let mut failures = Vec::new();
    let mut reasons = std::collections::BTreeMap::<&str, usize>::new();
    for n in 0..iterations() * 4 {
        let seed = seed0 ^ (0xA5A5_0000 + n);
        let mut rng = XorShift::new(seed);
        let magic: &[u8] = if rng.below(2) == 0 {
            &[0xFE, 0xED, 0xFE, 0xED]
        } else {
            &[0xCE, 0xCE, 0xCE, 0xCE]
        };
        let mut data = magic.to_vec();
        if rng.below(4) != 0 {
            data.extend_from_slice(&[0, 0, 0, 1 + rng.below(2) as u8]);
            data.extend_from_slice(&[0, 0, 0, rng.below(4) as u8]);
        }
        let len = rng.below(512);
        data.extend((0..len).map(|_| rng.byte()));
        let result = catch_unwind(AssertUnwindSafe(|| {
            parse_object(&data, FormatHint::Auto, &opts)
        }));
        match result {
            Ok(out) => {
                if let Err(why) = check(&out) {
                    failures.push(format!("seed {seed}: {why}"));
                }
                if !out.certs.is_empty() {
                    failures.push(format!("seed {seed}: certificates from random bytes"));
                }
                for e in &out.errors {
                    *reasons.entry(e.reason.as_str()).or_default() += 1;
                }
                if out.errors.is_empty() {
                    failures.push(format!("seed {seed}: no error"));
                }
            }
            Err(_) => failures.push(format!("seed {seed}: PANIC")),
        }
    }
    eprintln!("jks arbitrary bytes: reasons {reasons:?}");
    assert!(
        reasons
            .keys()
            .all(|r| ["bad_jks", "bad_passphrase", "bad_der"].contains(r)),
        "{reasons:?}"
    );
    assert!(reasons.contains_key("bad_jks"));
    assert!(
        failures.is_empty(),
        "{} failing cases (first 20):\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}
