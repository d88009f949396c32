//! Fuzz target: `parse_object` must be total (no panic) on any bytes, with any
//! format hint, and keep its output invariants.
//! Run with `cargo +nightly fuzz run parse_object` from the repository root.
#![no_main]

use certvigil::model::MAX_MESSAGE_LEN;
use certvigil::parse::{parse_object, FormatHint, ParseOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the hint; the rest is the object.
    let (hint, body) = match data.split_first() {
        Some((h, rest)) => (
            match h % 4 {
                0 => FormatHint::Auto,
                1 => FormatHint::Pem,
                2 => FormatHint::Der,
                _ => FormatHint::Pkcs12,
            },
            rest,
        ),
        None => (FormatHint::Auto, data),
    };
    let opts = ParseOptions {
        pkcs12_passwords: vec!["changeit".to_string()],
        try_empty_password: true,
        keystore_passwords: vec!["changeit".to_string()],
    };
    let out = parse_object(body, hint, &opts);
    for e in &out.errors {
        assert!(!e.message.is_empty());
        assert!(e.message.len() <= MAX_MESSAGE_LEN + '…'.len_utf8());
    }
    for (_, cert) in &out.certs {
        assert_eq!(cert.sha256_fingerprint.len(), 64);
        assert!(!cert.der.is_empty());
    }
});
