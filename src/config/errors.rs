//! Configuration errors: every problem carries the YAML path (`sources[1].paths`), the
//! line/column where it was found (when known) and a human message. `check-config` and
//! reload print them one per line as `<origin>:<line>:<col>: <yaml path>: <message>`.

use std::fmt;

/// Most problems kept for one config (the rest are summarised in one extra entry).
pub const MAX_ERRORS: usize = 100;
/// Longest message kept for one problem (bytes).
const MAX_MESSAGE: usize = 400;

/// One problem in a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where the config came from: a file path, or a label like `<default>`.
    pub origin: String,
    /// YAML path like `sources[1].paths`; empty for the document itself.
    pub path: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Human message (single line, bounded length).
    pub message: String,
}

impl ConfigError {
    /// A problem at `path` without a known position (the loader fills in origin,
    /// line and column where it can).
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            origin: String::new(),
            path: path.into(),
            line: None,
            column: None,
            message: clean_message(&message.into()),
        }
    }
}

/// Formats as `<origin>:<line>:<col>: <yaml path>: <message>`; parts that are unknown
/// (line, column, path) are left out with their separator.
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, ":{l}:{c}")?,
            (Some(l), None) => write!(f, ":{l}")?,
            _ => {}
        }
        if self.path.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.path, self.message)
        }
    }
}

/// All problems found in one configuration, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// A single problem about the whole document (e.g. an I/O error).
    pub fn single(origin: &str, message: impl Into<String>) -> Self {
        let mut e = ConfigError::new("", message);
        e.origin = origin.to_string();
        ConfigErrors(vec![e])
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }
}

/// One problem per line (no trailing newline).
impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Make a message a bounded single line without control characters.
pub(crate) fn clean_message(m: &str) -> String {
    let mut out = String::with_capacity(m.len().min(MAX_MESSAGE));
    let mut last_space = false;
    for c in m.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        if out.len() + c.len_utf8() > MAX_MESSAGE {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out.trim().to_string()
}
