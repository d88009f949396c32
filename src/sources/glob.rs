//! A small path glob matcher for the file source, working on raw path bytes
//! (`OsStr`), so non-UTF-8 file names can be matched and never cause a panic.
//!
//! Syntax (per path component, components separated by `/`):
//!
//! * `*` — any run of bytes inside one component (dot files included);
//! * `?` — exactly one byte inside one component;
//! * `[abc]`, `[a-z]`, `[!a-z]` / `[^a-z]` — one byte from (or not from) a class;
//!   an unterminated `[` is a literal `[`; use `[*]`, `[?]`, `[[]` for literal
//!   metacharacters (there is no backslash escaping);
//! * `**` as a whole component — any number (zero or more) of components;
//! * anything else is literal. Empty components (`//`, a trailing `/`) are ignored.
//!
//! A leading `~` or `~/` is replaced by `$HOME` (see [`expand_tilde`]); `~user`
//! is not supported and stays literal.
//!
//! Matching is linear-ish: component matching is the classic single-backtrack
//! wildcard algorithm (O(n·m) worst case) and `**` is handled with a dynamic
//! programme over (pattern component, path component), never exponential.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

pub use crate::config::paths::expand_tilde;
#[cfg(test)]
use crate::config::paths::expand_tilde_with;

/// Whether the pattern contains glob metacharacters (`*`, `?`, `[`).
pub fn is_glob(pattern: &OsStr) -> bool {
    pattern
        .as_bytes()
        .iter()
        .any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// Split into non-empty components; the flag tells whether the input is absolute.
fn split(bytes: &[u8]) -> (bool, Vec<&[u8]>) {
    let absolute = bytes.first() == Some(&b'/');
    let comps = bytes
        .split(|b| *b == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    (absolute, comps)
}

/// The directory to start walking from: the leading components without glob
/// metacharacters. For a pattern without metacharacters this is the pattern
/// itself; for a relative pattern starting with a glob it is the empty path
/// (meaning the current directory).
pub fn literal_prefix(pattern: impl AsRef<OsStr>) -> PathBuf {
    let pattern = expand_tilde(pattern);
    let (absolute, comps) = split(pattern.as_bytes());
    let mut out: Vec<u8> = Vec::new();
    if absolute {
        out.push(b'/');
    }
    let mut first = true;
    for c in comps {
        if is_glob(OsStr::from_bytes(c)) {
            break;
        }
        if !first {
            out.push(b'/');
        }
        out.extend_from_slice(c);
        first = false;
    }
    PathBuf::from(OsString::from_vec(out))
}

/// Whether `path` matches `pattern` as a whole (both absolute or both relative).
pub fn matches(pattern: impl AsRef<OsStr>, path: impl AsRef<Path>) -> bool {
    let pattern = expand_tilde(pattern);
    let (pa, pc) = split(pattern.as_bytes());
    let (xa, xc) = split(path.as_ref().as_os_str().as_bytes());
    pa == xa && reachable(&pc, &xc).last().copied().unwrap_or(false)
}

/// Whether some path below directory `dir` (or `dir` itself) could match
/// `pattern`: used to prune the walk of a glob.
pub fn could_match_below(pattern: impl AsRef<OsStr>, dir: impl AsRef<Path>) -> bool {
    let pattern = expand_tilde(pattern);
    let (pa, pc) = split(pattern.as_bytes());
    let (xa, xc) = split(dir.as_ref().as_os_str().as_bytes());
    if pa != xa {
        return false;
    }
    let states = reachable(&pc, &xc);
    // A state with pattern components left means deeper paths may still match.
    states.iter().take(pc.len()).any(|s| *s)
}

/// `out[i]` = the first `i` pattern components can consume all path components.
fn reachable(pat: &[&[u8]], path: &[&[u8]]) -> Vec<bool> {
    let n = pat.len();
    // cur[i]: pattern[..i] matched path[..j] (for the current j).
    let mut cur = vec![false; n + 1];
    cur[0] = true;
    close_double_star(pat, &mut cur);
    for comp in path {
        let mut next = vec![false; n + 1];
        for i in 0..n {
            if !cur[i] {
                continue;
            }
            if pat[i] == b"**" {
                // `**` consumes this component and stays.
                next[i] = true;
            } else if component_matches(pat[i], comp) {
                next[i + 1] = true;
            }
        }
        close_double_star(pat, &mut next);
        cur = next;
    }
    cur
}

/// `**` may match zero components: propagate states across it.
fn close_double_star(pat: &[&[u8]], states: &mut [bool]) {
    for i in 0..pat.len() {
        if states[i] && pat[i] == b"**" {
            states[i + 1] = true;
        }
    }
}

/// Match one component: `*`, `?`, classes, literals.
pub fn component_matches(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0usize, 0usize);
    // Position after the last `*` in the pattern, and the name position it covers up to.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pat.len() {
            match pat[p] {
                b'*' => {
                    star = Some((p + 1, n));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next_p)) = class_matches(pat, p, name[n]) {
                        if matched {
                            p = next_p;
                            n += 1;
                            continue;
                        }
                    } else if name[n] == b'[' {
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
                c => {
                    if c == name[n] {
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, sn)) => {
                p = sp;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    pat[p..].iter().all(|b| *b == b'*')
}

/// Evaluate the class starting at `pat[start] == b'['` against byte `b`.
/// Returns `(matched, index after the class)`, or `None` when unterminated.
fn class_matches(pat: &[u8], start: usize, b: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(pat.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let c = *pat.get(i)?;
        if c == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if pat.get(i + 1) == Some(&b'-') && pat.get(i + 2).is_some_and(|e| *e != b']') {
            let hi = *pat.get(i + 2)?;
            if c <= b && b <= hi {
                matched = true;
            }
            i += 3;
        } else {
            if c == b {
                matched = true;
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        matches(p, s)
    }

    #[test]
    fn single_component_wildcards() {
        assert!(m("/etc/*.pem", "/etc/a.pem"));
        assert!(m("/etc/*.pem", "/etc/.pem"));
        assert!(!m("/etc/*.pem", "/etc/sub/a.pem"));
        assert!(!m("/etc/*.pem", "/etc/a.pem.bak"));
        assert!(m("/etc/?.pem", "/etc/a.pem"));
        assert!(!m("/etc/?.pem", "/etc/ab.pem"));
        assert!(m("/etc/a*b*c", "/etc/aXbYbZc"));
        assert!(!m("/etc/a*b*c", "/etc/aXbYbZ"));
        assert!(m("/etc/*", "/etc/x"));
        assert!(!m("/etc/*", "/etc"));
        assert!(m("/etc//ssl/", "/etc/ssl"));
    }

    #[test]
    fn classes() {
        assert!(m("/x/[abc].pem", "/x/b.pem"));
        assert!(!m("/x/[abc].pem", "/x/d.pem"));
        assert!(m("/x/[a-c]1", "/x/c1"));
        assert!(!m("/x/[!a-c]1", "/x/c1"));
        assert!(m("/x/[^a-c]1", "/x/z1"));
        assert!(m("/x/[]]", "/x/]"));
        assert!(m("/x/[*]", "/x/*"));
        assert!(!m("/x/[*]", "/x/a"));
        // Unterminated class: literal '['.
        assert!(m("/x/[ab", "/x/[ab"));
        assert!(!m("/x/[ab", "/x/a"));
        assert!(m("/x/a-[0-9]-*", "/x/a-7-z"));
    }

    #[test]
    fn double_star() {
        assert!(m("/a/**/c.pem", "/a/c.pem"));
        assert!(m("/a/**/c.pem", "/a/b/c.pem"));
        assert!(m("/a/**/c.pem", "/a/b/d/e/c.pem"));
        assert!(!m("/a/**/c.pem", "/x/b/c.pem"));
        assert!(m("/a/**", "/a/b/c"));
        assert!(m("/a/**", "/a"));
        assert!(m("/**/*.crt", "/etc/ssl/x.crt"));
        assert!(m("/a/**/b/**/c", "/a/x/b/y/z/c"));
        assert!(!m("/a/**/b/**/c", "/a/x/y/z/c"));
        // Many stars never blow up.
        let p = format!("/{}", ["**"; 40].join("/"));
        let s = format!("/{}x", "d/".repeat(200));
        assert!(m(&p, &s));
        let p2 = format!("{}/nomatch", p);
        assert!(!m(&p2, &s));
    }

    #[test]
    fn absolute_vs_relative() {
        assert!(!m("a/*.pem", "/a/x.pem"));
        assert!(m("a/*.pem", "a/x.pem"));
        assert!(m("*.pem", "x.pem"));
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            literal_prefix("/etc/ssl/**/*.pem"),
            PathBuf::from("/etc/ssl")
        );
        assert_eq!(
            literal_prefix("/etc/ssl/cert.pem"),
            PathBuf::from("/etc/ssl/cert.pem")
        );
        assert_eq!(literal_prefix("/*/x"), PathBuf::from("/"));
        assert_eq!(literal_prefix("*.pem"), PathBuf::from(""));
        assert_eq!(literal_prefix("certs/[ab]/x"), PathBuf::from("certs"));
    }

    #[test]
    fn pruning() {
        assert!(could_match_below("/a/*/c/*.pem", "/a/b"));
        assert!(could_match_below("/a/*/c/*.pem", "/a/b/c"));
        assert!(!could_match_below("/a/*/c/*.pem", "/a/b/d"));
        assert!(!could_match_below("/a/*/c/*.pem", "/a/b/c/x.pem/y"));
        assert!(could_match_below("/a/**/c", "/a/b/d/e"));
        assert!(!could_match_below("/a/b", "/a/b"));
    }

    #[test]
    fn non_utf8_names() {
        let name = OsStr::from_bytes(b"/d/\xff\xfe.pem");
        assert!(matches("/d/*.pem", Path::new(name)));
        assert!(matches("/d/??.pem", Path::new(name)));
        assert!(matches(OsStr::from_bytes(b"/d/\xff*"), Path::new(name)));
        assert!(!matches("/d/?.pem", Path::new(name)));
        assert!(matches("/d/[\u{7f}-\u{7f}]*", Path::new("/d/\u{7f}x")));
    }

    #[test]
    fn tilde() {
        let home = OsStr::new("/home/u/");
        assert_eq!(
            expand_tilde_with("~", Some(home)),
            OsString::from("/home/u/")
        );
        assert_eq!(
            expand_tilde_with("~/.kube/config", Some(home)),
            OsString::from("/home/u/.kube/config")
        );
        assert_eq!(
            expand_tilde_with("~bob/x", Some(home)),
            OsString::from("~bob/x")
        );
        assert_eq!(expand_tilde_with("~/x", None), OsString::from("~/x"));
        assert_eq!(
            expand_tilde_with("/a/~/x", Some(home)),
            OsString::from("/a/~/x")
        );
    }
}
