//! Fuzz target: the TLS endpoint source's STARTTLS plaintext phase (SMTP, LMTP,
//! IMAP, POP3, FTP, LDAP, PostgreSQL, MySQL, XMPP) against a hostile server's
//! replies. The harness and its invariants are `certvigil::fuzzing::fuzz_starttls`,
//! shared with tests/properties.rs. Run: `cargo +nightly fuzz run starttls`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| certvigil::fuzzing::fuzz_starttls(data));
