//! Loading: text → [`RawConfig`] (serde-saphyr with a strict input budget) →
//! validated [`Config`], with every problem located (`<origin>:<line>:<col>: <path>: <msg>`).

use std::io::Read;
use std::path::Path;

use serde_saphyr::{DefaultMessageFormatter, MessageFormatter};

use super::errors::{ConfigError, ConfigErrors, MAX_ERRORS};
use super::locate::PathIndex;
use super::raw::RawConfig;
use super::Config;

/// Largest configuration accepted (bytes).
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

/// Origin label used for the embedded default configuration.
pub const DEFAULT_ORIGIN: &str = "<default>";

/// Parser options: a budget sized for configuration files (small, shallow, few
/// aliases), so hostile input fails fast instead of exhausting memory or time.
pub fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(MAX_CONFIG_BYTES),
            flow_nesting_limit: 32,
            max_events: 200_000,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_recorded_anchor_events: 20_000,
            max_recorded_anchor_bytes: 1 << 20,
            max_depth: 32,
            max_documents: 1,
            max_nodes: 100_000,
            max_total_scalar_bytes: 2 * MAX_CONFIG_BYTES,
            max_merge_keys: 100,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 50_000,
            max_replay_stack_depth: 16,
            max_alias_expansions_per_anchor: 1_000,
        },
        strict_booleans: true,
        with_snippet: false,
    }
}

/// Read at most [`MAX_CONFIG_BYTES`] of a file as UTF-8 text.
pub fn read_capped(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut buf = Vec::new();
    file.take(MAX_CONFIG_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read: {e}"))?;
    if buf.len() > MAX_CONFIG_BYTES {
        return Err(format!(
            "file is larger than the {} KiB limit for configurations",
            MAX_CONFIG_BYTES / 1024
        ));
    }
    String::from_utf8(buf)
        .map_err(|e| format!("not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()))
}

/// Deserialize a whole document (at most [`MAX_CONFIG_BYTES`]) with the strict
/// budget; a deserialization error is located (line, column, YAML path).
pub fn parse_document<T: serde::de::DeserializeOwned>(
    text: &str,
    origin: &str,
) -> Result<T, ConfigErrors> {
    if text.len() > MAX_CONFIG_BYTES {
        return Err(ConfigErrors::single(
            origin,
            format!(
                "configuration is larger than the {} KiB limit",
                MAX_CONFIG_BYTES / 1024
            ),
        ));
    }
    serde_saphyr::from_str_with_options(text, options())
        .map_err(|err| ConfigErrors(vec![located_serde_error(text, origin, &err)]))
}

/// Attach origin, line and column (from the YAML paths) to validation problems,
/// keeping at most [`MAX_ERRORS`].
pub fn locate(mut errors: Vec<ConfigError>, text: &str, origin: &str) -> ConfigErrors {
    let index = PathIndex::build(text);
    let extra = errors.len().saturating_sub(MAX_ERRORS);
    errors.truncate(MAX_ERRORS);
    if extra > 0 {
        errors.push(ConfigError::new(
            "",
            format!("... and {extra} more problems"),
        ));
    }
    ConfigErrors(
        errors
            .into_iter()
            .map(|mut e| {
                e.origin = origin.to_string();
                if let Some((line, column)) = index.position_of(&e.path) {
                    e.line = Some(line);
                    e.column = Some(column);
                }
                e
            })
            .collect(),
    )
}

/// Turn a serde-saphyr error into a [`ConfigError`] with line, column and YAML path.
fn located_serde_error(text: &str, origin: &str, err: &serde_saphyr::Error) -> ConfigError {
    let mut inner = err.without_snippet();
    if let serde_saphyr::Error::AliasError { error, .. } = inner {
        inner = error.without_snippet();
    }
    let message = friendly_message(inner);
    let budget = matches!(inner, serde_saphyr::Error::Budget { .. });
    let mut e = ConfigError::new("", message);
    e.origin = origin.to_string();
    if let Some(loc) = err.location().or_else(|| inner.location()) {
        if loc.line() > 0 {
            let line = usize::try_from(loc.line()).unwrap_or(usize::MAX);
            let column = usize::try_from(loc.column()).unwrap_or(usize::MAX);
            e.line = Some(line);
            e.column = Some(column);
            // A budget breach means the document is hostile or huge: do not walk it again.
            if !budget {
                if let Some(path) = PathIndex::build(text).path_at(line, column) {
                    e.path = path;
                }
            }
        }
    }
    e
}

/// The parser's message, reworded where its default text addresses developers.
fn friendly_message(err: &serde_saphyr::Error) -> String {
    use serde_saphyr::budget::BudgetBreach;
    use serde_saphyr::Error as E;
    match err {
        E::DuplicateMappingKey { key: Some(k), .. } => format!("duplicate key `{k}`"),
        E::DuplicateMappingKey { key: None, .. } => "duplicate key".to_string(),
        E::MultipleDocuments { .. }
        | E::Budget {
            breach: BudgetBreach::Documents { .. },
            ..
        } => "a configuration must be a single YAML document (remove the second `---`)".into(),
        E::Budget { breach, .. } => format!(
            "document exceeds the limits for a configuration file ({breach:?}); \
             nesting deeper than 32 levels or heavy use of aliases is not supported"
        ),
        E::InvalidScalar { ty, .. } if ty.starts_with('u') => {
            "expected a non-negative integer".to_string()
        }
        other => DefaultMessageFormatter.format_message(other).into_owned(),
    }
}

/// The global sections at their defaults, without any source (what an empty
/// document means for them).
pub fn default_globals() -> Config {
    let mut p = super::source::Problems::default();
    super::validate::validate(&RawConfig::default(), &mut p)
}
