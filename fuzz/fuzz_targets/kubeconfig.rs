//! Fuzz target: a kubeconfig (embedded and referenced certificates).
//! The harness and its invariants are `certvigil::fuzzing::fuzz_kubeconfig`, shared with
//! tests/properties.rs. Run: `cargo +nightly fuzz run kubeconfig` (see docs/reliability.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| certvigil::fuzzing::fuzz_kubeconfig(data));
