//! Fuzz target: the Docker archive tar stream, fed in chunks.
//! The harness and its invariants are `certvigil::fuzzing::fuzz_docker_tar`, shared with
//! tests/properties.rs. Run: `cargo +nightly fuzz run docker_tar` (see docs/reliability.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| certvigil::fuzzing::fuzz_docker_tar(data));
