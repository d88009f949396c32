//! LOCAL STUB (h-cli branch): the JSON inventory; the json branch provides it.

use crate::inventory::Snapshot;

/// The INTERFACE.md JSON inventory as a value (stub).
pub fn inventory_value(snap: &Snapshot) -> serde_json::Value {
    let _ = snap;
    todo!("implemented by the json branch")
}

/// The INTERFACE.md JSON inventory, rendered (stub).
pub fn render(snap: &Snapshot) -> String {
    let _ = snap;
    todo!("implemented by the json branch")
}
