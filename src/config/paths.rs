//! Path helpers shared by every stage that takes a user-configured path
//! (sources' globs, trust roots, CRL files, kubeconfig paths).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// Replace a leading `~` / `~/` by `$HOME`. Without `HOME`, the pattern is
/// returned unchanged. The glob matcher (`sources::glob`) applies it to
/// its patterns itself; trust-root and CRL paths use it too.
pub fn expand_tilde(pattern: impl AsRef<OsStr>) -> OsString {
    let pattern = pattern.as_ref();
    if !needs_tilde(pattern.as_bytes()) {
        return pattern.to_os_string();
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty());
    expand_tilde_with(pattern, home.as_deref())
}

fn needs_tilde(p: &[u8]) -> bool {
    p == b"~" || p.starts_with(b"~/")
}

pub(crate) fn expand_tilde_with(pattern: impl AsRef<OsStr>, home: Option<&OsStr>) -> OsString {
    let pattern = pattern.as_ref();
    let bytes = pattern.as_bytes();
    let Some(home) = home else {
        return pattern.to_os_string();
    };
    if bytes == b"~" {
        return home.to_os_string();
    }
    if let Some(rest) = bytes.strip_prefix(b"~/") {
        let mut out = home.as_bytes().to_vec();
        while out.len() > 1 && out.last() == Some(&b'/') {
            out.pop();
        }
        out.push(b'/');
        out.extend_from_slice(rest);
        return OsString::from_vec(out);
    }
    pattern.to_os_string()
}
