//! Fuzz target: an OCSP response (issuer and leaf DER prefixed).
//! The harness and its invariants are `certvigil::fuzzing::fuzz_ocsp`, shared with
//! tests/properties.rs. Run: `cargo +nightly fuzz run ocsp` (see docs/reliability.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| certvigil::fuzzing::fuzz_ocsp(data));
