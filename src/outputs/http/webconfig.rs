//! LOCAL STUB (h-cli branch): exporter-toolkit web configuration; the http branch
//! provides it.

use std::path::Path;

/// A loaded web configuration (stub).
#[derive(Debug, Clone)]
pub struct WebConfig {}

/// Load a web configuration file (stub).
pub fn load(path: &Path) -> Result<WebConfig, String> {
    let _ = path;
    todo!("implemented by the http branch")
}
