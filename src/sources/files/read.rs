//! Safe reads: regular files only, opened `O_NONBLOCK` and re-checked with
//! `fstat`, capped at the size limit, buffers zeroed when dropped unused (they may
//! hold private keys).

use super::*;

/// A read failure: reason + bounded message.
pub(crate) type ReadErr = Failure;

/// A buffer of file content that is zeroed when dropped unused (it may hold keys).
pub(super) struct Wipe(pub(super) Vec<u8>);

impl Wipe {
    pub(super) fn take(mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

impl Drop for Wipe {
    fn drop(&mut self) {
        self.0.fill(0);
    }
}

/// Open and read a regular file that was stat'ed as `meta`, at most `max` bytes.
pub(crate) fn read_regular(path: &Path, meta: &Metadata, max: u64) -> Result<Vec<u8>, ReadErr> {
    let shown = show(path);
    if meta.len() > max {
        return Err(Failure::new(
            Reason::TooLarge,
            format!(
                "{shown}: {} bytes exceeds the limit of {max} bytes",
                meta.len()
            ),
        ));
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .map_err(|e| Failure::new(Reason::from_io(&e), format!("cannot open {shown}: {e}")))?;
    let fmeta = file
        .metadata()
        .map_err(|e| Failure::new(Reason::from_io(&e), format!("cannot stat {shown}: {e}")))?;
    if !fmeta.is_file() || fmeta.dev() != meta.dev() || fmeta.ino() != meta.ino() {
        return Err(Failure::new(
            Reason::ReadFailed,
            format!("{shown}: file changed during the scan"),
        ));
    }
    read_capped(file, &shown, max, fmeta.len())
}

/// Read at most `max` bytes (one more to detect growth past the cap). `size_hint` is
/// the size from `fstat`: the buffer is allocated to exactly that (+1 so `read_to_end`
/// sees EOF without growing it). A fixed large initial capacity would cost a fresh,
/// zeroed heap page or more per file and keep it alive until the file is parsed:
/// with 20,000 files that dominated both the scan time and the peak RSS.
pub(super) fn read_capped(
    file: File,
    shown: &str,
    max: u64,
    size_hint: u64,
) -> Result<Vec<u8>, ReadErr> {
    let cap = usize::try_from(size_hint.min(max).min(16 * 1024 * 1024)).unwrap_or(0);
    let mut data = Vec::with_capacity(cap.saturating_add(1));
    file.take(max.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| Failure::new(Reason::from_io(&e), format!("cannot read {shown}: {e}")))?;
    if data.len() as u64 > max {
        data.fill(0);
        return Err(Failure::new(
            Reason::TooLarge,
            format!("{shown}: grew past the limit of {max} bytes while being read"),
        ));
    }
    Ok(data)
}

/// Read a file referenced by a kubeconfig (same rules as walked files; a missing
/// file is an error here because it was named explicitly).
pub(super) fn read_referenced(path: &Path, max: u64) -> Result<Vec<u8>, ReadErr> {
    let shown = show(path);
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            let is_link = fs::symlink_metadata(path)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
            let reason = if is_link && e.kind() != io::ErrorKind::PermissionDenied {
                Reason::BrokenSymlink
            } else {
                Reason::from_io(&e)
            };
            return Err(Failure::new(
                reason,
                format!("referenced file {shown}: {e}"),
            ));
        }
    };
    if !meta.is_file() {
        return Err(Failure::new(
            Reason::ReadFailed,
            format!("referenced file {shown} is not a regular file"),
        ));
    }
    read_regular(path, &meta, max)
}
