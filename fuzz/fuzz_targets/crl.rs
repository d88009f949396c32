//! Fuzz target: a CRL (PEM or DER).
//! The harness and its invariants are `certvigil::fuzzing::fuzz_crl`, shared with
//! tests/properties.rs. Run: `cargo +nightly fuzz run crl` (see docs/reliability.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| certvigil::fuzzing::fuzz_crl(data));
