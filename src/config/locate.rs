//! A light index from YAML paths (`sources[1].paths`) to source positions and back,
//! built from the parser's event stream (the same parser serde-saphyr uses). It lets
//! semantic errors point at a line, and lets deserialization errors (which carry only
//! a position) name the YAML path.
//!
//! Bounded: the walk stops at [`MAX_DEPTH`] nesting, after [`MAX_ENTRIES`] nodes, and
//! at the first parse error; it never expands aliases.

use serde_saphyr::granit_parser::{Event, Parser};

/// Deepest nesting indexed.
const MAX_DEPTH: usize = 64;
/// Most nodes indexed.
const MAX_ENTRIES: usize = 100_000;
/// Longest key text kept in a path segment.
const MAX_KEY: usize = 64;

#[derive(Debug, Clone)]
struct Entry {
    path: String,
    line: usize,
    /// 1-based.
    column: usize,
    /// The node is a mapping key (its path is the key's path).
    is_key: bool,
}

enum Frame {
    Map {
        path: String,
        /// Path of the key whose value comes next, if a key was just read.
        pending: Option<String>,
    },
    Seq {
        path: String,
        next: usize,
    },
}

/// Positions of the nodes of one YAML document, in document order.
#[derive(Debug, Default)]
pub struct PathIndex {
    entries: Vec<Entry>,
}

fn join_key(parent: &str, key: &str) -> String {
    let key: String = key
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_KEY)
        .collect();
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

impl PathIndex {
    /// Index `text` (the first document only).
    pub fn build(text: &str) -> PathIndex {
        let mut entries = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut seen_root = false;
        for ev in Parser::new_from_str(text) {
            let Ok((event, span)) = ev else { break };
            if entries.len() >= MAX_ENTRIES || stack.len() > MAX_DEPTH {
                break;
            }
            let line = span.start.line();
            let column = span.start.col() + 1;
            let (is_node, key_text, opens) = match &event {
                Event::Scalar(v, ..) => (true, Some(v.as_ref()), false),
                Event::Alias(_) => (true, Some("*alias"), false),
                Event::SequenceStart(..) | Event::MappingStart(..) => (true, None, true),
                Event::SequenceEnd | Event::MappingEnd => {
                    stack.pop();
                    // A finished collection completes the pending value of its parent.
                    if let Some(Frame::Map { pending, .. }) = stack.last_mut() {
                        *pending = None;
                    }
                    continue;
                }
                Event::DocumentEnd => break,
                _ => (false, None, false),
            };
            if !is_node {
                continue;
            }
            // Decide this node's path and role.
            let (path, is_key) = match stack.last_mut() {
                None => {
                    if seen_root {
                        break;
                    }
                    seen_root = true;
                    (String::new(), false)
                }
                Some(Frame::Seq { path, next }) => {
                    let p = format!("{path}[{next}]");
                    *next += 1;
                    (p, false)
                }
                Some(Frame::Map { path, pending }) => match pending.take() {
                    Some(value_path) => (value_path, false),
                    None => {
                        let key_path = join_key(path, key_text.unwrap_or("?"));
                        if !opens {
                            *pending = Some(key_path.clone());
                        } else {
                            // A complex key: its value will follow the key's collection.
                            *pending = None;
                        }
                        (key_path, true)
                    }
                },
            };
            entries.push(Entry {
                path: path.clone(),
                line,
                column,
                is_key,
            });
            match event {
                Event::SequenceStart(..) => stack.push(Frame::Seq { path, next: 0 }),
                Event::MappingStart(..) => stack.push(Frame::Map {
                    path,
                    pending: None,
                }),
                _ => {}
            }
        }
        PathIndex { entries }
    }

    /// Position (line, column; 1-based) of `path`: its key if written, else its value;
    /// for a path that is not in the document (an absent key), the nearest ancestor.
    pub fn position_of(&self, path: &str) -> Option<(usize, usize)> {
        let mut p = path;
        loop {
            let hit = self
                .entries
                .iter()
                .find(|e| e.path == p && e.is_key)
                .or_else(|| self.entries.iter().find(|e| e.path == p));
            if let Some(e) = hit {
                return Some((e.line, e.column));
            }
            if p.is_empty() {
                return None;
            }
            p = parent_path(p);
        }
    }

    /// YAML path of the node at or last before (line, column) (1-based).
    pub fn path_at(&self, line: usize, column: usize) -> Option<String> {
        // Several nodes can start at one position (`- key: v` opens a mapping at the
        // key): prefer the key, then the innermost node.
        let exact: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.line == line && e.column == column)
            .collect();
        if let Some(e) = exact
            .iter()
            .rev()
            .find(|e| e.is_key)
            .or_else(|| exact.last())
        {
            return Some(e.path.clone());
        }
        self.entries
            .iter()
            .filter(|e| (e.line, e.column) <= (line, column))
            .max_by_key(|e| (e.line, e.column))
            .map(|e| e.path.clone())
    }
}

/// `a.b[2].c` → `a.b[2]` → `a.b` → `a` → ``.
fn parent_path(p: &str) -> &str {
    match p.rfind(['.', '[']) {
        Some(i) => &p[..i],
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "scan:\n  interval: 5m\nsources:\n  - kind: file\n    paths: [/a, /b]\n  - {kind: kubeconfig, name: k}\n";

    #[test]
    fn positions_of_paths() {
        let idx = PathIndex::build(DOC);
        assert_eq!(idx.position_of("scan.interval"), Some((2, 3)));
        assert_eq!(idx.position_of("sources[0].kind"), Some((4, 5)));
        assert_eq!(idx.position_of("sources[0].paths"), Some((5, 5)));
        assert_eq!(idx.position_of("sources[0].paths[1]"), Some((5, 17)));
        assert_eq!(idx.position_of("sources[1].name"), Some((6, 24)));
        // Absent key → nearest ancestor.
        assert_eq!(idx.position_of("sources[1].paths"), Some((6, 5)));
        assert_eq!(idx.position_of("report.warning_window"), Some((1, 1)));
    }

    #[test]
    fn paths_at_positions() {
        let idx = PathIndex::build(DOC);
        assert_eq!(idx.path_at(2, 3).as_deref(), Some("scan.interval"));
        assert_eq!(idx.path_at(2, 13).as_deref(), Some("scan.interval"));
        assert_eq!(idx.path_at(6, 24).as_deref(), Some("sources[1].name"));
    }

    #[test]
    fn parent_paths() {
        assert_eq!(parent_path("a.b[2].c"), "a.b[2]");
        assert_eq!(parent_path("a.b[2]"), "a.b");
        assert_eq!(parent_path("a"), "");
    }

    #[test]
    fn hostile_nesting_is_bounded() {
        let deep = "[".repeat(100_000);
        let idx = PathIndex::build(&deep);
        assert!(idx.entries.len() <= MAX_DEPTH + 2);
    }
}
