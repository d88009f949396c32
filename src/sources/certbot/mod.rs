//! The `certbot` source: certbot's lineages under its configuration directory
//! (default `/etc/letsencrypt`). Per `renewal/<name>.conf`: the deployed
//! certificate (`live/<name>/cert.pem` → `archive/<name>/certN.pem`), the
//! newest archived version, the ACME server, and the renewal due time by
//! certbot's own rule ([`conf::renewal_due`]). The deployed certificate is one
//! object (`location` = the live `cert.pem` path, labels `filename`,
//! `filepath` (that path), `certbot_lineage`, `acme_server`); what is wrong with a lineage is an object finding:
//!
//! * `acme_renewal_overdue` — the evaluation instant (`--at`) is past the
//!   renewal time of the lineage's newest certificate: `certbot renew` should
//!   have replaced it (timer not running, renewal failing);
//! * `acme_staging_certificate` — issued by an ACME staging server (untrusted
//!   by browsers);
//! * `acme_lineage_broken` — a dangling or missing `live/` link, a renewal conf
//!   without its lineage (orphan), a `live/` directory without renewal conf,
//!   or `live/` pointing at an older version than the newest in `archive/`.
//!
//! Reads are bounded (regular files only, at most [`MAX_FILE`] bytes, at most
//! [`MAX_LINEAGES`] confs). Private keys are never read: only the `privkey.pem`
//! link's existence is checked.

pub mod conf;
pub mod config;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{BoxFuture, Content, Item, Object, ScanCtx, Source, SourceOutput};
use crate::model::{ErrorEntry, Finding, FindingId, Reason, SourceKind, SourceRef};
use crate::parse::{FormatHint, ParseOptions};

use conf::RenewalConf;
pub use config::CertbotConfig;

/// Label: the lineage (certificate) name.
pub const LABEL_LINEAGE: &str = "certbot_lineage";
/// Label: the ACME directory URL the lineage renews against.
pub const LABEL_SERVER: &str = "acme_server";

/// Largest conf or certificate file read.
pub const MAX_FILE: u64 = 1 << 20;
/// Most renewal confs read.
pub const MAX_LINEAGES: usize = 10_000;

/// The four `live/` links of a lineage, as the conf names them.
const LINKS: [&str; 4] = ["cert", "privkey", "chain", "fullchain"];

/// A configured certbot directory.
pub struct CertbotSource {
    cfg: CertbotConfig,
    opts: ParseOptions,
}

pub fn build(cfg: &CertbotConfig) -> CertbotSource {
    CertbotSource {
        cfg: cfg.clone(),
        opts: ParseOptions::default(),
    }
}

/// Read a regular file of at most [`MAX_FILE`] bytes (following links).
fn read_file(path: &Path) -> Result<Vec<u8>, (Reason, String)> {
    use std::io::Read;
    let meta = std::fs::metadata(path)
        .map_err(|e| (Reason::from_io(&e), format!("{}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err((
            Reason::ReadFailed,
            format!("{}: not a regular file", path.display()),
        ));
    }
    if meta.len() > MAX_FILE {
        return Err((
            Reason::TooLarge,
            format!("{}: larger than {MAX_FILE} bytes", path.display()),
        ));
    }
    let f = std::fs::File::open(path)
        .map_err(|e| (Reason::from_io(&e), format!("{}: {e}", path.display())))?;
    let mut buf = Vec::new();
    f.take(MAX_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| (Reason::from_io(&e), format!("{}: {e}", path.display())))?;
    Ok(buf)
}

/// `certN.pem` → N.
fn version_of(path: &Path, stem: &str) -> Option<u32> {
    let name = path.file_name()?.to_str()?;
    name.strip_prefix(stem)?.strip_suffix(".pem")?.parse().ok()
}

/// The first certificate of a PEM file, summarized.
fn first_cert(pem: &[u8]) -> Option<Arc<crate::model::ParsedCert>> {
    let der = rustls_pemfile::certs(&mut &pem[..]).next()?.ok()?;
    crate::parse::x509::summarize_shared(der.as_ref()).ok()
}

/// Where a `live/` link points, resolved; `Err` with what is wrong.
fn link_target(link: &Path) -> Result<PathBuf, String> {
    let meta =
        std::fs::symlink_metadata(link).map_err(|_| format!("{} is missing", link.display()))?;
    if !meta.file_type().is_symlink() {
        // certbot always links; a plain file still works for the server.
        return Ok(link.to_path_buf());
    }
    let t = std::fs::read_link(link).map_err(|e| format!("{}: {e}", link.display()))?;
    let t = if t.is_absolute() {
        t
    } else {
        link.parent().unwrap_or(Path::new("/")).join(t)
    };
    if std::fs::metadata(&t).is_err() {
        return Err(format!(
            "{} is a dangling link to {}",
            link.display(),
            t.display()
        ));
    }
    Ok(t)
}

impl CertbotSource {
    fn sref(&self, location: &Path) -> SourceRef {
        SourceRef::new(
            SourceKind::Certbot,
            &self.cfg.name,
            location.display().to_string(),
        )
    }

    fn scan_sync(&self, ctx: &ScanCtx) -> SourceOutput {
        let mut out = SourceOutput::default();
        let dir = &self.cfg.config_dir;
        let renewal = dir.join("renewal");
        let rd = match std::fs::read_dir(&renewal) {
            Ok(rd) => rd,
            Err(e) => {
                out.failure = Some(ErrorEntry::new(
                    self.sref(&renewal),
                    Reason::from_io(&e),
                    format!("cannot read {}: {e}", renewal.display()),
                ));
                return out;
            }
        };
        let mut confs: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        confs.sort();
        confs.truncate(MAX_LINEAGES);
        let mut names: BTreeSet<String> = BTreeSet::new();
        for path in &confs {
            let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            names.insert(name.to_string());
            self.lineage(ctx, name, path, &mut out);
        }
        // `live/` directories that no renewal conf describes: never renewed.
        if let Ok(rd) = std::fs::read_dir(dir.join("live")) {
            let mut orphans: Vec<String> = rd
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| !names.contains(n))
                .collect();
            orphans.sort();
            for n in orphans.into_iter().take(MAX_LINEAGES) {
                let live = dir.join("live").join(&n);
                out.findings.push(Finding::object(
                    FindingId::AcmeLineageBroken,
                    "",
                    live.display().to_string(),
                    format!(
                        "{} has no renewal conf (renewal/{n}.conf): certbot never renews it",
                        live.display()
                    ),
                ));
            }
        }
        out
    }

    fn lineage(&self, ctx: &ScanCtx, name: &str, conf_path: &Path, out: &mut SourceOutput) {
        let loc = conf_path.display().to_string();
        let text = match read_file(conf_path) {
            Ok(t) => String::from_utf8_lossy(&t).into_owned(),
            Err((reason, msg)) => {
                out.objects.push(Object {
                    key: loc.clone(),
                    version: None,
                    content: Content::Fresh {
                        items: Vec::new(),
                        errors: vec![ErrorEntry::new(self.sref(conf_path), reason, msg)],
                    },
                });
                return;
            }
        };
        let conf = RenewalConf::parse(&text);
        let dir = &self.cfg.config_dir;
        let path_of =
            |key: &str, default: PathBuf| conf.top.get(key).map(PathBuf::from).unwrap_or(default);
        let live_dir = dir.join("live").join(name);
        let archive = path_of("archive_dir", dir.join("archive").join(name));
        let broken = |out: &mut SourceOutput, fp: &str, msg: String| {
            out.findings.push(Finding::object(
                FindingId::AcmeLineageBroken,
                fp,
                loc.clone(),
                format!("lineage {name}: {msg}"),
            ))
        };
        // Newest archived version.
        let newest = std::fs::read_dir(&archive).ok().map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter_map(|p| version_of(&p, "cert"))
                .max()
        });
        let newest = match newest {
            None => {
                broken(
                    out,
                    "",
                    format!(
                        "archive directory {} is missing (orphan renewal conf)",
                        archive.display()
                    ),
                );
                None
            }
            Some(v) => v,
        };
        // The live links (the private key's link is only checked, never read).
        let mut deployed: Option<(PathBuf, u32)> = None;
        for key in LINKS {
            let link = path_of(key, live_dir.join(format!("{key}.pem")));
            match link_target(&link) {
                Ok(t) => {
                    if key == "cert" {
                        deployed = version_of(&t, "cert")
                            .map(|v| (t, v))
                            .or(Some((link.clone(), 0)));
                    }
                }
                Err(m) => broken(out, "", m),
            }
        }
        let server = conf.server().unwrap_or("").to_string();
        let Some((target, deployed_version)) = deployed else {
            return;
        };
        let cert_link = path_of("cert", live_dir.join("cert.pem"));
        let data = match read_file(&target) {
            Ok(d) => d,
            Err((reason, msg)) => {
                out.objects.push(Object {
                    key: cert_link.display().to_string(),
                    version: None,
                    content: Content::Fresh {
                        items: Vec::new(),
                        errors: vec![ErrorEntry::new(self.sref(&cert_link), reason, msg)],
                    },
                });
                return;
            }
        };
        let deployed_cert = first_cert(&data);
        let fp = deployed_cert
            .as_ref()
            .map(|c| c.sha256_fingerprint.clone())
            .unwrap_or_default();
        if let Some(n) = newest {
            if deployed_version > 0 && deployed_version < n {
                broken(
                    out,
                    &fp,
                    format!(
                        "live/ points at version {deployed_version} but archive/ has version {n}: the renewal was not deployed"
                    ),
                );
            }
        }
        // certbot judges renewal on the newest version.
        let newest_cert = newest
            .filter(|n| Some(*n) != Some(deployed_version))
            .and_then(|n| read_file(&archive.join(format!("cert{n}.pem"))).ok())
            .and_then(|d| first_cert(&d))
            .or_else(|| deployed_cert.clone());
        if let Some(c) = &newest_cert {
            let due = conf::renewal_due(&conf, c.not_before, c.not_after);
            let now = ctx.now.timestamp();
            if now >= due.at && conf.autorenew() {
                out.findings.push(Finding::object(
                    FindingId::AcmeRenewalOverdue,
                    c.sha256_fingerprint.clone(),
                    loc.clone(),
                    format!(
                        "lineage {name}: renewal was due at {} ({}); the certificate expires at {}: is `certbot renew` running?",
                        crate::model::time::rfc3339_from_unix(due.at),
                        due.rule,
                        crate::model::time::rfc3339_from_unix(c.not_after)
                    ),
                ));
            }
        }
        if conf::is_staging(&server) {
            out.findings.push(Finding::object(
                FindingId::AcmeStagingCertificate,
                fp,
                loc.clone(),
                format!(
                    "lineage {name} is issued by the ACME staging server {}: browsers do not trust it",
                    crate::model::bounded(&server, 200)
                ),
            ));
        }
        let key = cert_link.display().to_string();
        let meta = std::fs::metadata(&target).ok();
        let version = format!(
            "{}:{}:{:?}:{}",
            target.display(),
            meta.as_ref().map_or(0, |m| m.len()),
            meta.and_then(|m| m.modified().ok()),
            crate::model::bounded(&server, 200)
        );
        if ctx.prev_versions.get(&key) == Some(&version) {
            out.objects.push(Object {
                key,
                version: Some(version),
                content: Content::Unchanged,
            });
            return;
        }
        let sref = self
            .sref(&cert_link)
            .with_label(
                "filename",
                cert_link
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )
            .with_label("filepath", cert_link.display().to_string())
            .with_label(LABEL_LINEAGE, name)
            .with_label(LABEL_SERVER, server);
        out.objects.push(Object {
            key,
            version: Some(version),
            content: Content::Fresh {
                items: vec![Item {
                    sref,
                    data,
                    hint: FormatHint::Pem,
                }],
                errors: Vec::new(),
            },
        });
    }
}

impl Source for CertbotSource {
    fn kinds(&self) -> Vec<SourceKind> {
        vec![SourceKind::Certbot]
    }

    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn parse_options(&self) -> &ParseOptions {
        &self.opts
    }

    fn scan(self: Arc<Self>, ctx: ScanCtx) -> BoxFuture<SourceOutput> {
        Box::pin(async move {
            let me = self.clone();
            tokio::task::spawn_blocking(move || me.scan_sync(&ctx))
                .await
                .unwrap_or_default()
        })
    }
}
