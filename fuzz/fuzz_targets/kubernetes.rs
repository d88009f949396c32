//! Fuzz target: a Kubernetes object as JSON (Secret, ConfigMap, CSR, caBundle holders).
//! The harness and its invariants are `certvigil::fuzzing::fuzz_kubernetes`, shared with
//! tests/properties.rs. Run: `cargo +nightly fuzz run kubernetes` (see docs/reliability.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| certvigil::fuzzing::fuzz_kubernetes(data));
