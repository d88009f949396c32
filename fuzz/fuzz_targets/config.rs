//! Fuzz target: the configuration YAML through check-config's load and validate path.
//! The harness and its invariants are `certvigil::fuzzing::fuzz_config`, shared with
//! tests/properties.rs. Run: `cargo +nightly fuzz run config` (see docs/reliability.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| certvigil::fuzzing::fuzz_config(data));
