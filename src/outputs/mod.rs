//! Everything that renders a [`crate::inventory::Snapshot`]: Prometheus metrics,
//! the HTTP server (HTML page, JSON API), the JSON inventory and CLI tables.

pub mod csv;
pub mod ecs;
pub mod http;
pub mod json;
pub mod metrics;
pub mod policy;
pub mod report;
pub mod table;
