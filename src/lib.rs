//! certvigil — certificate expiry and trust monitoring exporter.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! sources/ ──► parse/ ──► checks/ ──► inventory/ ──► outputs/
//! ```
//!
//! * [`sources`] enumerate objects that may hold certificates (host files,
//!   kubeconfigs, ...) and never parse nor format.
//! * [`parse`] turns bytes into [`model::ParsedCert`]s: pure, total functions.
//! * [`checks`] decide expiry (and trust/revocation) at an injected instant.
//! * [`inventory`] is the immutable snapshot every output reads.
//! * [`outputs`] render it: Prometheus metrics, HTTP (HTML, JSON API), CLI tables.
//!
//! [`scraper`] runs the sources on a schedule and publishes snapshots; [`app`]
//! wires configuration, scraper and HTTP server together.
#![forbid(unsafe_code)]

pub mod app;
pub mod checks;
pub mod cli;
pub mod config;
#[doc(hidden)]
pub mod fuzzing;
pub mod inventory;
pub mod model;
pub mod outputs;
pub mod parse;
pub mod scraper;
pub mod sources;
