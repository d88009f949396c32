//! Loading trust anchors and intermediates: PEM or DER files, or directories of
//! them (recursively, bounded), and the system trust store (rustls-native-certs,
//! loaded once per process and cached).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use tracing::{debug, warn};

use super::facts::Facts;

/// Largest trust file read (bytes).
pub const MAX_TRUST_FILE: u64 = 16 << 20;
/// Most files read from one directory tree.
pub const MAX_TRUST_FILES: usize = 20_000;

/// Certificates in `data`: every CERTIFICATE PEM block, or one DER certificate.
pub fn certs_in(data: &[u8]) -> Vec<Arc<Facts>> {
    let ders: Vec<Vec<u8>> = if crate::parse::pem::has_pem_armour(data) {
        let mut rd = data;
        rustls_pemfile::certs(&mut rd)
            .filter_map(Result::ok)
            .map(|c| c.as_ref().to_vec())
            .collect()
    } else {
        vec![data.to_vec()]
    };
    ders.into_iter()
        .filter_map(|d| Facts::from_der(d.into()).ok())
        .map(Arc::new)
        .collect()
}

fn walk(path: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_file() {
        if out.len() >= MAX_TRUST_FILES {
            return Err(format!(
                "more than {MAX_TRUST_FILES} files under the trust paths"
            ));
        }
        out.push(path.to_path_buf());
        return Ok(());
    }
    if meta.is_dir() && depth < 8 {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            // Broken links and unreadable entries inside a directory are skipped.
            if let Err(e) = walk(&p, out, depth + 1) {
                if e.contains("more than") {
                    return Err(e);
                }
                debug!("skipping {e}");
            }
        }
    }
    Ok(())
}

/// Load every certificate from `paths` (files or directories). A path that
/// does not exist, or a named file without any certificate, is an error.
pub fn load_certs(paths: &[PathBuf], what: &str) -> Result<Vec<Arc<Facts>>, String> {
    let mut out = Vec::new();
    for p in paths {
        let p = &PathBuf::from(crate::config::paths::expand_tilde(p));
        let mut files = Vec::new();
        walk(p, &mut files, 0).map_err(|e| format!("{what}: {e}"))?;
        let explicit_file = files.len() == 1 && files[0] == *p;
        let before = out.len();
        for f in files {
            let data = match read_capped(&f) {
                Ok(d) => d,
                Err(e) if explicit_file => return Err(format!("{what}: {e}")),
                Err(e) => {
                    debug!("skipping {e}");
                    continue;
                }
            };
            out.extend(certs_in(&data));
        }
        if out.len() == before {
            return Err(format!("{what}: no certificate found in {}", p.display()));
        }
    }
    Ok(out)
}

/// Read at most [`MAX_TRUST_FILE`] bytes of `path`.
pub fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut data = Vec::new();
    f.take(MAX_TRUST_FILE + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if data.len() as u64 > MAX_TRUST_FILE {
        return Err(format!(
            "{}: larger than {MAX_TRUST_FILE} bytes",
            path.display()
        ));
    }
    Ok(data)
}

/// The system trust store, loaded once.
pub fn system_roots() -> Arc<Vec<Arc<Facts>>> {
    static ROOTS: OnceLock<Arc<Vec<Arc<Facts>>>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let res = rustls_native_certs::load_native_certs();
            for e in res.errors.iter().take(5) {
                warn!("system trust store: {e}");
            }
            let v: Vec<Arc<Facts>> = res
                .certs
                .iter()
                .filter_map(|c| Facts::from_der(c.as_ref().to_vec().into()).ok())
                .map(Arc::new)
                .collect();
            if v.is_empty() {
                warn!("the system trust store is empty: every chain will be untrusted unless trust.roots is set");
            }
            Arc::new(v)
        })
        .clone()
}
