//! Fuzz target: the web configuration (server.web_config_file) and the Basic auth header.
//! The harness and its invariants are `certvigil::fuzzing::fuzz_webconfig`, shared with
//! tests/properties.rs. Run: `cargo +nightly fuzz run webconfig` (see docs/reliability.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| certvigil::fuzzing::fuzz_webconfig(data));
