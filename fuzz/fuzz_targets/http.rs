//! Fuzz target: the HTTP server's own parsing (query, Accept, Authorization, listen).
//! The harness and its invariants are `certvigil::fuzzing::fuzz_http`, shared with
//! tests/properties.rs. Run: `cargo +nightly fuzz run http` (see docs/reliability.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| certvigil::fuzzing::fuzz_http(data));
