//! Fuzz target: a caIssuers (AIA) answer: DER, PEM or PKCS#7.
//! The harness and its invariants are `certvigil::fuzzing::fuzz_aia`, shared with
//! tests/properties.rs. Run: `cargo +nightly fuzz run aia` (see docs/reliability.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| certvigil::fuzzing::fuzz_aia(data));
