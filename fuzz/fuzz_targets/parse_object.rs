//! Fuzz target: `parse_object` must be total (no panic) on any bytes, with any
//! format hint (first byte), and keep its output invariants (bounded messages,
//! sane certificates, no private key material in the output).
//! The harness is `certvigil::fuzzing::fuzz_parse_object`, shared with
//! tests/properties.rs. Run: `cargo +nightly fuzz run parse_object`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| certvigil::fuzzing::fuzz_parse_object(data));
