//! Object keys, versions and display forms of paths: the unique key of a path
//! (escaped when not UTF-8), the `dev:ino:size:mtime_ns:ctime_ns` version (plus the
//! versions of a kubeconfig's referenced files), and the lossy display used in
//! locations and labels.

use super::*;

/// Key of the object carrying the "file limit reached" error (NUL cannot be in a path).
pub(super) const LIMIT_KEY: &str = "\u{0}file-limit";

/// The empty path means the current directory.
pub(super) fn fs_path(p: &Path) -> &Path {
    if p.as_os_str().is_empty() {
        Path::new(".")
    } else {
        p
    }
}

pub(super) fn show(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

pub(super) fn basename(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Unique object key for a path (see the module docs).
pub(crate) fn path_key(p: &Path) -> String {
    let bytes = p.as_os_str().as_bytes();
    if let Ok(s) = std::str::from_utf8(bytes) {
        if !s.contains('\\') {
            return s.to_string();
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

pub(super) fn meta_version(m: &Metadata) -> String {
    let mtime = i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec());
    let ctime = i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec());
    // Same text as `format!("{}:{}:{}:{}:{}", ...)`, without the formatting
    // machinery (this runs for every file of every scan).
    let mut v = String::with_capacity(80);
    push_decimal(&mut v, i128::from(m.dev()));
    v.push(':');
    push_decimal(&mut v, i128::from(m.ino()));
    v.push(':');
    push_decimal(&mut v, i128::from(m.size()));
    v.push(':');
    push_decimal(&mut v, mtime);
    v.push(':');
    push_decimal(&mut v, ctime);
    v
}

/// Append the decimal form of `n` (as `Display` prints it).
pub(super) fn push_decimal(out: &mut String, n: i128) {
    if n < 0 {
        out.push('-');
    }
    let m = n.unsigned_abs();
    // 64-bit division is much cheaper than 128-bit; every realistic value fits.
    let Ok(mut m) = u64::try_from(m) else {
        out.push_str(&m.to_string());
        return;
    };
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"));
}

pub(super) fn with_refs(base: &str, refs: &[PathBuf]) -> String {
    let mut v = base.to_string();
    for r in refs {
        v.push('|');
        match fs::metadata(r) {
            Ok(m) => v.push_str(&meta_version(&m)),
            Err(_) => v.push('-'),
        }
    }
    v
}

#[cfg(test)]
mod version_text_tests {
    use super::push_decimal;

    #[test]
    pub(super) fn push_decimal_prints_like_display() {
        for n in [
            0i128,
            7,
            -7,
            10,
            1_700_000_000_123_456_789,
            -1_700_000_000_123_456_789,
            i128::from(u64::MAX),
            i128::from(u64::MAX) + 1,
            i128::MAX,
            i128::MIN,
        ] {
            let mut s = String::new();
            push_decimal(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }
}
