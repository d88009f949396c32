//! Key exposure findings of a `kind: file` source (docs/key-exposure.md):
//!
//! * `private_key_world_readable`: a file holding a PEM private key (alone, or a
//!   certificate + key bundle) that every user of the host can read: mode `o+r` on
//!   the file and `o+x` on every directory above it (the real path, after
//!   symlinks: certbot's `live/` links into a 0700 `archive/`);
//! * `private_key_mismatch`: a certificate and key paired by naming convention in
//!   one directory (`x.crt`/`x.key`, `x.pem`/`x.key`, `x.pem`/`x-key.pem`,
//!   `cert.pem`/`privkey.pem`, `tls.crt`/`tls.key`, ...) whose key is not the
//!   leaf's: the service will fail to start or present the wrong identity.
//!
//! Keys are decoded in memory only to compare public keys ([`crate::parse::privkey`]);
//! only SHA-256 digests of public keys are kept, per object, so unchanged files
//! (not re-read) still contribute to every scan's findings. Encrypted keys are
//! never decrypted (no mismatch check for them).

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;

use crate::model::{Finding, FindingId};
use crate::parse::privkey;

use super::*;

/// What one file contributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Facts {
    path: PathBuf,
    key_blocks: usize,
    key_public: Option<[u8; 32]>,
    cert_public: Option<[u8; 32]>,
    has_cert: bool,
}

/// Per-object facts of the last scans.
#[derive(Debug, Default)]
pub(super) struct Exposure {
    by_key: HashMap<String, Facts>,
}

/// Key file names that pair with a certificate file name, in one directory.
fn key_partners(cert_name: &str) -> Vec<String> {
    let mut out = Vec::new();
    match cert_name {
        "cert.pem" | "fullchain.pem" => out.push("privkey.pem".to_string()),
        _ => {}
    }
    for ext in [".crt", ".cer", ".cert", ".pem"] {
        if let Some(stem) = cert_name.strip_suffix(ext) {
            if stem.is_empty() {
                continue;
            }
            out.push(format!("{stem}.key"));
            if ext == ".pem" {
                out.push(format!("{stem}-key.pem"));
                out.push(format!("{stem}.key.pem"));
            }
        }
    }
    out
}

/// Whether every user can read `path`: `o+r` on the file, `o+x` on every
/// directory of its real path.
fn world_readable(path: &Path) -> Option<u32> {
    let real = fs::canonicalize(path).ok()?;
    let mode = fs::metadata(&real).ok()?.permissions().mode();
    if mode & 0o004 == 0 {
        return None;
    }
    let mut dir = real.parent();
    while let Some(d) = dir {
        let m = fs::metadata(d).ok()?.permissions().mode();
        if m & 0o001 == 0 {
            return None;
        }
        dir = d.parent();
    }
    Some(mode & 0o7777)
}

/// Facts of a file holding a private key.
fn key_facts(path: PathBuf, data: &[u8]) -> Facts {
    let keys = privkey::scan(data);
    Facts {
        path,
        key_blocks: keys.blocks,
        key_public: keys.public_digest,
        cert_public: None,
        has_cert: has_certificate(data),
    }
}

/// Facts of a certificate file that pairs with a key file.
fn cert_facts(path: PathBuf, data: &[u8]) -> Facts {
    Facts {
        cert_public: first_certificate_der(data).and_then(|der| privkey::cert_public_digest(&der)),
        has_cert: true,
        path,
        ..Default::default()
    }
}

fn has_certificate(data: &[u8]) -> bool {
    crate::parse::pem::find(data, b"-----BEGIN CERTIFICATE-----", 0).is_some()
        || crate::parse::pem::find(data, b"-----BEGIN TRUSTED CERTIFICATE-----", 0).is_some()
}

/// Certificate file names that pair with a key file name (the inverse of
/// [`key_partners`]).
fn cert_partners(key_name: &str) -> Vec<String> {
    let mut out = Vec::new();
    if key_name == "privkey.pem" {
        out.push("cert.pem".to_string());
        out.push("fullchain.pem".to_string());
    }
    let stem = key_name
        .strip_suffix(".key.pem")
        .or_else(|| key_name.strip_suffix("-key.pem"));
    if let Some(stem) = stem.filter(|s| !s.is_empty()) {
        out.push(format!("{stem}.pem"));
    }
    if let Some(stem) = key_name.strip_suffix(".key").filter(|s| !s.is_empty()) {
        for ext in [".crt", ".cer", ".cert", ".pem"] {
            out.push(format!("{stem}{ext}"));
        }
    }
    out
}

/// The DER of the first `CERTIFICATE` PEM block (the leaf of a bundle).
fn first_certificate_der(data: &[u8]) -> Option<Vec<u8>> {
    let scan = crate::parse::pem::scan(data);
    scan.blocks
        .into_iter()
        .find_map(|b| match (b.kind, b.body) {
            (k, crate::parse::pem::BlockBody::Decoded(der)) if k.is_certificate() => Some(der),
            _ => None,
        })
}

impl Exposure {
    /// Take this scan's objects into account: fresh objects are (re)examined,
    /// unchanged ones keep their facts, vanished ones are forgotten. Key files
    /// are found first; then the certificate files that pair with one are
    /// examined (read again when unchanged and not known yet). `max` caps reads.
    pub(super) fn update(&mut self, objects: &[Object], max: u64) {
        let mut next: HashMap<String, Facts> = HashMap::with_capacity(self.by_key.len());
        // Plain-file objects: (key, path, data if fresh).
        let mut files: Vec<(&str, PathBuf, Option<&[u8]>)> = Vec::new();
        for o in objects {
            match &o.content {
                Content::Unchanged => {
                    if let Some(f) = self.by_key.get(&o.key) {
                        files.push((&o.key, f.path.clone(), None));
                    } else {
                        files.push((&o.key, PathBuf::from(&o.key), None));
                    }
                }
                // A plain file is one item holding the whole file.
                Content::Fresh { items, .. } => {
                    if let [item] = items.as_slice() {
                        if let Some(p) = item.sref.label("filepath") {
                            files.push((&o.key, PathBuf::from(p), Some(&item.data)));
                        }
                    }
                }
                _ => {}
            }
        }
        let mut wanted_certs: HashSet<PathBuf> = HashSet::new();
        for (key, path, data) in &files {
            let facts = match data {
                Some(d) if privkey::has_private_key(d) => Some(key_facts(path.clone(), d)),
                Some(_) => None,
                None => self.by_key.get(*key).filter(|f| f.key_blocks > 0).cloned(),
            };
            if let Some(f) = facts {
                if f.key_public.is_some() {
                    for c in cert_partners(&basename(&f.path)) {
                        wanted_certs.insert(f.path.with_file_name(c));
                    }
                }
                next.insert((*key).to_string(), f);
            }
        }
        for (key, path, data) in &files {
            if next.contains_key(*key) || !wanted_certs.contains(path) {
                continue;
            }
            let facts = match data {
                Some(d) if has_certificate(d) => Some(cert_facts(path.clone(), d)),
                Some(_) => None,
                None => match self.by_key.get(*key).filter(|f| f.cert_public.is_some()) {
                    Some(f) => Some(f.clone()),
                    // Unchanged and not examined before (its key file is new).
                    None => fs::metadata(path)
                        .ok()
                        .and_then(|m| read_regular(path, &m, max).ok())
                        .map(|d| cert_facts(path.clone(), &d)),
                },
            };
            if let Some(f) = facts {
                next.insert((*key).to_string(), f);
            }
        }
        self.by_key = next;
    }

    /// The findings of everything known now, sorted by location.
    pub(super) fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        let by_path: HashMap<&Path, &Facts> = self
            .by_key
            .values()
            .map(|f| (f.path.as_path(), f))
            .collect();
        for f in self.by_key.values() {
            let shown = show(&f.path);
            if f.key_blocks > 0 {
                if let Some(mode) = world_readable(&f.path) {
                    let what = if f.has_cert {
                        "certificate + private key bundle"
                    } else {
                        "private key file"
                    };
                    out.push(Finding::object(
                        FindingId::PrivateKeyWorldReadable,
                        "",
                        shown.clone(),
                        format!(
                            "{what} is readable by every user of the host (mode {mode:04o}; directories above it are searchable by others): chmod 600 it or restrict a parent directory"
                        ),
                    ));
                }
                continue;
            }
            let Some(cert_public) = f.cert_public else {
                continue;
            };
            for k in key_partners(&basename(&f.path)) {
                let kp = f.path.with_file_name(&k);
                let Some(kf) = by_path.get(kp.as_path()) else {
                    continue;
                };
                let Some(key_public) = kf.key_public else {
                    continue; // encrypted or undecodable: not compared
                };
                if key_public != cert_public {
                    out.push(Finding::object(
                        FindingId::PrivateKeyMismatch,
                        "",
                        shown.clone(),
                        format!(
                            "the private key {} is not the key of this certificate: a service configured with the pair fails or serves another identity",
                            show(&kp)
                        ),
                    ));
                }
                break;
            }
        }
        out.sort_by(|a, b| (&a.location, a.id.as_str()).cmp(&(&b.location, b.id.as_str())));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partner_names_are_inverse() {
        for cert in [
            "tls.crt",
            "cert.pem",
            "fullchain.pem",
            "web.pem",
            "a.b.cer",
            "x.cert",
        ] {
            for key in key_partners(cert) {
                assert!(
                    cert_partners(&key).contains(&cert.to_string()),
                    "{cert} -> {key}"
                );
            }
        }
    }

    #[test]
    fn partner_names() {
        assert_eq!(key_partners("tls.crt"), vec!["tls.key"]);
        assert_eq!(
            key_partners("cert.pem"),
            vec!["privkey.pem", "cert.key", "cert-key.pem", "cert.key.pem"]
        );
        assert_eq!(
            key_partners("web.pem"),
            vec!["web.key", "web-key.pem", "web.key.pem"]
        );
        assert!(key_partners(".crt").is_empty());
        assert!(key_partners("README").is_empty());
    }
}
