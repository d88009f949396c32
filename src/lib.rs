//! certvigil — certificate expiry and trust monitoring exporter.
//!
//! The pipeline, one module per stage (docs/architecture.md):
//!
//! ```text
//! sources/ ──► parse/ ──► checks/ ──► inventory/ ──► outputs/
//! ```
//!
//! * [`model`] is the IO-free base every stage speaks (certificates, source
//!   references, reasons, CRL info, RFC 3339 formatting).
//! * [`sources`] enumerate objects that may hold certificates (host files,
//!   kubeconfigs, Docker, Kubernetes) and never format; `sources/mod.rs` is the
//!   registry.
//! * [`parse`] turns bytes into [`model::ParsedCert`]s: pure, total functions.
//! * [`checks`] decide expiry, trust and revocation at an injected instant.
//! * [`inventory`] is the immutable snapshot every output reads.
//! * [`outputs`] render it: Prometheus metrics, HTTP (HTML, JSON API), reports,
//!   CLI tables, and the `--fail-within`/`--fail-on` policy gate.
//!
//! [`scraper`] runs the sources on a schedule and publishes snapshots; every
//! notable failure goes through [`events`], which logs and counts it in one call.
//! [`config`] holds the validated configuration; [`app`] wires configuration,
//! scraper and HTTP server together; [`cli`] validates arguments.
//!
//! Imports only go down the pipeline; `tests/architecture.rs` fails on a back-edge.
#![forbid(unsafe_code)]

pub mod app;
pub mod checks;
pub mod cli;
pub mod config;
pub mod events;
#[doc(hidden)]
pub mod fuzzing;
pub mod inventory;
pub mod model;
pub mod outputs;
pub mod parse;
pub mod scraper;
pub mod setup;
pub mod sources;
