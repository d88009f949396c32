//! Fuzz target: a Java keystore (JKS/JCEKS).
//! The harness and its invariants are `certvigil::fuzzing::fuzz_jks`, shared with
//! tests/properties.rs. Run: `cargo +nightly fuzz run jks` (see docs/reliability.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| certvigil::fuzzing::fuzz_jks(data));
