//! Docker Content Trust / Notary trust directories (`~/.docker/trust`, a notary
//! client's `-d DIR`): the `docker_trust` source (docs/docker-trust.md).
//!
//! For every configured trust directory:
//! * `tuf/<GUN>/metadata/<role>.json` (the client's cache of each repository's
//!   TUF metadata): every `*-x509` key's certificate becomes an inventory entry
//!   (the root key and delegation keys are X.509 certificates; Docker's own
//!   official-images keys expired in 2025), and each role file's TUF
//!   `signed.expires` — separate from any certificate's notAfter — is checked:
//!   findings `tuf_metadata_expired` / `tuf_metadata_expiring`;
//! * `private/` (recursively, as old and new Docker layouts keep keys): a key file
//!   whose PEM block is not encrypted is a `private_key_unencrypted` finding. Only
//!   the `BEGIN` line is inspected; the buffer is wiped; key material never leaves.
//!
//! Everything is read with the file source's safe reads (regular files only,
//! size-capped); walks are bounded in depth and entries.

pub mod config;
pub mod tuf;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::{ErrorEntry, Finding, FindingId, Reason, SourceKind, SourceRef};
use crate::parse::{FormatHint, ParseOptions};

use super::{BoxFuture, Content, Item, Object, ScanCtx, Source, SourceOutput};

/// Deepest directory level walked under `tuf/` and `private/` (GUNs have a few
/// path segments).
pub const MAX_DEPTH: usize = 12;
/// Most directory entries looked at per trust directory.
pub const MAX_ENTRIES: usize = 20_000;
/// Largest metadata or key file read (TUF metadata of a big repository is a few
/// MiB at most).
pub const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// A validated `kind: docker_trust` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct DockerTrustConfig {
    /// `source_name`.
    pub name: String,
    /// Trust directories (each like `~/.docker/trust`: `tuf/` and `private/`).
    pub trust_dirs: Vec<PathBuf>,
    /// A role whose TUF metadata expires within this window is `tuf_metadata_expiring`.
    pub expiry_warning: Duration,
}

impl Default for DockerTrustConfig {
    fn default() -> Self {
        DockerTrustConfig {
            name: "docker-trust".into(),
            trust_dirs: Vec::new(),
            expiry_warning: Duration::from_secs(30 * 86_400),
        }
    }
}

pub struct DockerTrustSource {
    cfg: DockerTrustConfig,
    opts: ParseOptions,
}

impl DockerTrustSource {
    pub fn new(cfg: DockerTrustConfig) -> Self {
        DockerTrustSource {
            cfg,
            opts: ParseOptions::default(),
        }
    }

    fn sref(&self, location: impl Into<String>) -> SourceRef {
        SourceRef::new(SourceKind::DockerTrust, &self.cfg.name, location)
    }
}

/// Files under `dir`, depth-first, sorted, bounded; errors as (path, reason, message).
fn walk(
    dir: &Path,
    depth: usize,
    budget: &mut usize,
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<(PathBuf, Reason, String)>,
) {
    if depth > MAX_DEPTH {
        errors.push((
            dir.to_path_buf(),
            Reason::ReadFailed,
            format!("deeper than {MAX_DEPTH} levels: not walked"),
        ));
        return;
    }
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            let reason = Reason::from_io(&e);
            errors.push((dir.to_path_buf(), reason, format!("cannot list: {e}")));
            return;
        }
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if *budget == 0 {
            errors.push((
                dir.to_path_buf(),
                Reason::ReadFailed,
                format!("more than {MAX_ENTRIES} entries: the rest is not walked"),
            ));
            return;
        }
        *budget -= 1;
        // `file_type` does not follow symlinks: symlinked directories are not
        // walked (no loops); symlinked files are read through `metadata` below.
        let Ok(ft) = e.file_type() else { continue };
        let p = e.path();
        if ft.is_dir() {
            walk(&p, depth + 1, budget, files, errors);
        } else {
            files.push(p);
        }
    }
}

/// Roles a Notary server re-signs by itself (the timestamp always, the snapshot
/// by default): their cached copies are refreshed on the next pull, so only an
/// expired one is a finding, not one near expiry.
fn server_managed(role: &str) -> bool {
    role == "timestamp" || role == "snapshot"
}

/// `base` at another location (same source, same labels).
fn relocated(base: &SourceRef, location: String) -> SourceRef {
    let mut r = base.clone();
    r.location = location;
    r
}

fn show(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Read one file with the safe reads (regular files only, size cap).
fn read(p: &Path) -> Result<Vec<u8>, crate::model::Failure> {
    let meta = std::fs::metadata(p).map_err(|e| {
        crate::model::Failure::new(Reason::from_io(&e), format!("{}: {e}", show(p)))
    })?;
    super::files::read_regular(p, &meta, MAX_FILE_SIZE)
}

/// `tuf/<GUN>/metadata/<role>.json` → (GUN, role); delegation roles are cached
/// as `metadata/targets/<name>.json` (role `targets/<name>`).
fn gun_and_role(tuf: &Path, file: &Path) -> Option<(String, String)> {
    let rel = file.strip_prefix(tuf).ok()?;
    if rel.extension()? != "json" {
        return None;
    }
    let parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let at = parts.iter().position(|p| p == "metadata")?;
    if at == 0 || at + 1 >= parts.len() {
        return None;
    }
    Some((parts[..at].join("/"), parts[at + 1..].join("/")))
}

impl DockerTrustSource {
    /// One trust directory: its objects, object errors and findings.
    fn scan_dir(
        &self,
        dir: &Path,
        now: DateTime<Utc>,
        out: &mut SourceOutput,
        errors: &mut Vec<ErrorEntry>,
    ) {
        let warn =
            chrono::Duration::from_std(self.cfg.expiry_warning).unwrap_or(chrono::Duration::MAX);
        let tuf = dir.join("tuf");
        let mut budget = MAX_ENTRIES;
        let mut files = Vec::new();
        let mut walk_errors = Vec::new();
        if tuf.is_dir() {
            walk(&tuf, 0, &mut budget, &mut files, &mut walk_errors);
        }
        for path in files {
            let Some((gun, role)) = gun_and_role(&tuf, &path) else {
                continue;
            };
            let shown = show(&path);
            let base = self
                .sref(shown.clone())
                .with_label(
                    "filename",
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                )
                .with_label("filepath", shown.clone())
                .with_label("docker_trust_gun", gun.clone());
            let data = match read(&path) {
                Ok(d) => d,
                Err(f) => {
                    errors.push(f.at(base));
                    continue;
                }
            };
            let meta = match tuf::parse(&data) {
                Ok(m) => m,
                Err(e) => {
                    errors.push(ErrorEntry::new(
                        base,
                        Reason::DecodeFailed,
                        format!("{shown}: {e}"),
                    ));
                    continue;
                }
            };
            let left = meta.expires - now;
            let at = format!("{gun}:{role}");
            let expires = meta
                .expires
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            if left <= chrono::Duration::zero() {
                out.findings.push(Finding::object(
                    FindingId::TufMetadataExpired,
                    "",
                    at,
                    format!(
                        "TUF {} metadata (version {}) of {gun} expired {expires}: clients refuse the repository until it is re-signed",
                        meta.typ, meta.version
                    ),
                ));
            } else if left <= warn && !server_managed(&role) {
                out.findings.push(Finding::object(
                    FindingId::TufMetadataExpiring,
                    "",
                    at,
                    format!(
                        "TUF {} metadata (version {}) of {gun} expires {expires} ({} days left)",
                        meta.typ,
                        meta.version,
                        left.num_days()
                    ),
                ));
            }
            let mut items = Vec::new();
            for k in meta.x509_keys {
                let location = format!("{shown}:keys/{}", k.key_id);
                items.push(Item {
                    sref: relocated(&base, location)
                        .with_label("embedded_kind", k.roles.clone())
                        .with_label("embedded_key", k.key_id.clone())
                        .with_label("docker_trust_role", k.roles),
                    data: k.pem,
                    hint: FormatHint::Pem,
                });
            }
            let obj_errors = meta
                .key_errors
                .into_iter()
                .map(|(id, why)| {
                    ErrorEntry::new(
                        relocated(&base, format!("{shown}:keys/{id}")),
                        Reason::DecodeFailed,
                        why,
                    )
                })
                .collect();
            out.objects.push(Object {
                key: shown,
                version: None,
                content: Content::Fresh {
                    items,
                    errors: obj_errors,
                },
            });
        }
        let private = dir.join("private");
        let mut keys = Vec::new();
        if private.is_dir() {
            walk(&private, 0, &mut budget, &mut keys, &mut walk_errors);
        }
        for path in keys {
            if path.extension().is_none_or(|e| e != "key") {
                continue;
            }
            let shown = show(&path);
            let mut data = match read(&path) {
                Ok(d) => d,
                Err(f) => {
                    errors.push(f.at(self.sref(shown)));
                    continue;
                }
            };
            let encrypted = tuf::key_encrypted(&data);
            data.fill(0);
            drop(data);
            if encrypted == Some(false) {
                out.findings.push(Finding::object(
                    FindingId::PrivateKeyUnencrypted,
                    "",
                    shown,
                    "a Docker Content Trust signing key is stored without a passphrase: anyone who can read the file can sign",
                ));
            }
        }
        for (p, reason, msg) in walk_errors {
            let shown = show(&p);
            errors.push(ErrorEntry::new(
                self.sref(shown.clone()),
                reason,
                format!("{shown}: {msg}"),
            ));
        }
    }
}

impl Source for DockerTrustSource {
    fn kinds(&self) -> Vec<SourceKind> {
        vec![SourceKind::DockerTrust]
    }

    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn parse_options(&self) -> &ParseOptions {
        &self.opts
    }

    fn scan(self: Arc<Self>, ctx: ScanCtx) -> BoxFuture<SourceOutput> {
        Box::pin(async move {
            let this = self.clone();
            let now = ctx.now;
            let res = tokio::task::spawn_blocking(move || {
                let mut out = SourceOutput::default();
                let mut errors = Vec::new();
                let mut missing = 0;
                for dir in &this.cfg.trust_dirs {
                    if !dir.is_dir() {
                        missing += 1;
                        let shown = show(dir);
                        errors.push(ErrorEntry::new(
                            this.sref(shown.clone()),
                            Reason::NotFound,
                            format!("{shown}: trust directory not found"),
                        ));
                        continue;
                    }
                    this.scan_dir(dir, now, &mut out, &mut errors);
                }
                if missing > 0 && missing == this.cfg.trust_dirs.len() {
                    out.failure = errors.pop();
                }
                // Object-level errors of the walk ride on one errors-only object.
                if !errors.is_empty() {
                    out.objects.push(Object {
                        key: format!("{}#walk", this.cfg.name),
                        version: None,
                        content: Content::Fresh {
                            items: Vec::new(),
                            errors,
                        },
                    });
                }
                out
            })
            .await;
            res.unwrap_or_else(|e| SourceOutput {
                failure: Some(ErrorEntry::new(
                    self.sref(self.cfg.name.clone()),
                    Reason::ReadFailed,
                    format!("trust directory scan failed: {e}"),
                )),
                ..Default::default()
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gun_and_role_of_metadata_paths() {
        let t = Path::new("/h/.docker/trust/tuf");
        assert_eq!(
            gun_and_role(
                t,
                Path::new("/h/.docker/trust/tuf/docker.io/library/nginx/metadata/root.json")
            ),
            Some(("docker.io/library/nginx".into(), "root".into()))
        );
        assert_eq!(
            gun_and_role(
                t,
                Path::new("/h/.docker/trust/tuf/example.com/app/metadata/targets/releases.json")
            ),
            Some(("example.com/app".into(), "targets/releases".into()))
        );
        assert_eq!(
            gun_and_role(
                t,
                Path::new("/h/.docker/trust/tuf/example.com/app/changelist/x")
            ),
            None
        );
        assert_eq!(
            gun_and_role(t, Path::new("/h/.docker/trust/tuf/metadata/root.json")),
            None
        );
    }
}
