//! Validation helpers for the keys every kind of source has in some form
//! (durations, sizes, paths, `enabled: auto|true|false`); a source's validation
//! (`src/sources/<kind>/config.rs`) reports through them so messages agree.

pub use super::source::{EntryCtx, Problems};
pub use super::validate::{
    auto_bool, check_path_text, check_source_name, duration, path_list, raw_size, size,
    MAX_SOURCE_NAME, MIN_SCAN_DURATION,
};
