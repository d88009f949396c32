//! Swarm objects: configs (`Spec.Data`, base64), secrets (metadata, mounted files,
//! or exec inside a task container) and the node's certificates (files under the
//! swarm certificates directory plus the cluster root CA from `GET /swarm`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use bollard::models::SystemInfo;
use tracing::debug;

use super::config::SecretsMode;
use super::{error_object, join_services, object_labels, Part, Scan};
use crate::model::{ErrorEntry, Failure, Reason, SourceKind, SourceRef};
use crate::parse::FormatHint;
use crate::sources::{Content, Item, Object};

/// Largest swarm config or secret Docker accepts (500 KiB); larger decoded data
/// is refused before parsing.
const MAX_SWARM_OBJECT: usize = 512 * 1024;

/// `docker_config`: one object per config, keyed by ID, versioned by `Version.Index`.
pub(crate) async fn configs(s: &Scan<'_>) -> Part {
    let list = match s.call("GET /configs", s.docker.list_configs(None)).await {
        Ok(l) => l,
        Err(f) if f.connection || f.reason == crate::model::Reason::Timeout => return Err(f),
        Err(f) => {
            let e = ErrorEntry::new(
                s.sref(SourceKind::DockerConfig, "configs"),
                f.reason,
                f.message,
            );
            return Ok(vec![error_object("configs", e)]);
        }
    };
    let mut out = Vec::with_capacity(list.len());
    for c in list {
        let id = c.id.unwrap_or_default();
        let index = c.version.and_then(|v| v.index).unwrap_or(0);
        let spec = c.spec.unwrap_or_default();
        let name = spec.name.unwrap_or_else(|| id.clone());
        let key = format!("config/{id}");
        let version = format!("{id}@{index}");
        if s.unchanged(&key, &version) {
            out.push(Object {
                key,
                version: Some(version),
                content: Content::Unchanged,
            });
            continue;
        }
        let sref = object_labels(
            s.sref(SourceKind::DockerConfig, format!("config/{name}")),
            "config",
            &name,
            &id,
        );
        let data = spec.data.unwrap_or_default();
        let content = match decode(&data) {
            Ok(bytes) => Content::Fresh {
                items: vec![Item {
                    sref,
                    data: bytes,
                    hint: FormatHint::Auto,
                }],
                errors: Vec::new(),
            },
            Err(Failure {
                reason,
                message: msg,
            }) => Content::Fresh {
                items: Vec::new(),
                errors: vec![ErrorEntry::new(sref, reason, msg)],
            },
        };
        out.push(Object {
            key,
            version: Some(version),
            content,
        });
    }
    Ok(out)
}

fn decode(b64: &str) -> Result<Vec<u8>, Failure> {
    if b64.len() > MAX_SWARM_OBJECT * 4 / 3 + 4 {
        return Err(Failure::new(
            Reason::TooLarge,
            format!(
                "data is {} base64 bytes, more than the swarm limit",
                b64.len()
            ),
        ));
    }
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| {
            Failure::new(
                Reason::DecodeFailed,
                "Spec.Data is not valid base64".to_string(),
            )
        })
}

/// One secret reference of a service.
#[derive(Debug, Clone)]
struct SecretUse {
    service: String,
    service_id: String,
    /// Target file: a name under the secrets directory or an absolute path.
    target: String,
}

/// `docker_secret`: list secrets and which services mount them; then, by mode,
/// read nothing (metadata), the locally mounted file, or the file inside a
/// running task container (exec).
pub(crate) async fn secrets(s: &Scan<'_>) -> Part {
    let list = match s.call("GET /secrets", s.docker.list_secrets(None)).await {
        Ok(l) => l,
        Err(f) if f.connection || f.reason == Reason::Timeout => return Err(f),
        Err(f) => {
            let e = ErrorEntry::new(
                s.sref(SourceKind::DockerSecret, "secrets"),
                f.reason,
                f.message,
            );
            return Ok(vec![error_object("secrets", e)]);
        }
    };
    let services = match s.call("GET /services", s.docker.list_services(None)).await {
        Ok(l) => l,
        Err(f) if f.connection || f.reason == Reason::Timeout => return Err(f),
        Err(f) => {
            debug!("cannot list services: {}", f.message);
            Vec::new()
        }
    };
    // secret id -> uses
    let mut uses: HashMap<String, Vec<SecretUse>> = HashMap::new();
    for svc in services {
        let service = svc
            .spec
            .as_ref()
            .and_then(|sp| sp.name.clone())
            .unwrap_or_default();
        let service_id = svc.id.clone().unwrap_or_default();
        let refs = svc
            .spec
            .and_then(|sp| sp.task_template)
            .and_then(|t| t.container_spec)
            .and_then(|c| c.secrets)
            .unwrap_or_default();
        for r in refs {
            let Some(id) = r.secret_id else { continue };
            let target = r
                .file
                .and_then(|f| f.name)
                .or(r.secret_name)
                .unwrap_or_default();
            uses.entry(id).or_default().push(SecretUse {
                service: service.clone(),
                service_id: service_id.clone(),
                target,
            });
        }
    }
    let mode = s.cfg().secrets_mode;
    let mut out = Vec::with_capacity(list.len());
    for sec in list {
        let id = sec.id.unwrap_or_default();
        let index = sec.version.and_then(|v| v.index).unwrap_or(0);
        let name = sec
            .spec
            .and_then(|sp| sp.name)
            .unwrap_or_else(|| id.clone());
        let used = uses.remove(&id).unwrap_or_default();
        let names: Vec<String> = used.iter().map(|u| u.service.clone()).collect();
        let services = join_services(&names);
        let key = format!("secret/{id}");
        let sref = object_labels(
            s.sref(SourceKind::DockerSecret, format!("secret/{name}")),
            "secret",
            &name,
            &id,
        )
        .with_label("docker_service", services.clone());
        let meta_version = format!("{id}@{index}|{services}");
        match mode {
            SecretsMode::Mounted => {
                let obj = mounted(s, &key, &sref, &name, &meta_version, &used);
                out.push(obj);
            }
            SecretsMode::Exec => out.push(exec(s, &key, sref, &meta_version, &used).await?),
            _ => out.push(metadata(s, key, sref, meta_version)),
        }
    }
    Ok(out)
}

fn metadata(s: &Scan<'_>, key: String, sref: SourceRef, version: String) -> Object {
    if s.unchanged(&key, &version) {
        return Object {
            key,
            version: Some(version),
            content: Content::Unchanged,
        };
    }
    Object {
        key,
        version: Some(version),
        content: Content::Metadata(sref),
    }
}

/// The path of a secret target inside a container.
fn target_path(dir: &Path, target: &str) -> PathBuf {
    if target.starts_with('/') {
        PathBuf::from(target)
    } else {
        dir.join(target)
    }
}

/// `mounted`: certvigil runs as a swarm service with the secret mounted; read
/// `<mounted_dir>/<target>` (targets of every service that uses the secret, then
/// the secret's own name).
fn mounted(
    s: &Scan<'_>,
    key: &str,
    sref: &SourceRef,
    name: &str,
    meta_version: &str,
    used: &[SecretUse],
) -> Object {
    let dir = &s.cfg().secrets_dir;
    let mut candidates: Vec<PathBuf> = used.iter().map(|u| target_path(dir, &u.target)).collect();
    candidates.push(dir.join(name));
    candidates.dedup();
    for path in candidates {
        let Ok(md) = std::fs::metadata(&path) else {
            continue;
        };
        if !md.is_file() {
            continue;
        }
        let version = format!("{meta_version}|{}", file_version(&md));
        if s.unchanged(key, &version) {
            return Object {
                key: key.to_string(),
                version: Some(version),
                content: Content::Unchanged,
            };
        }
        let shown = path.display().to_string();
        let fsref = sref
            .clone()
            .with_label("filename", basename(&path))
            .with_label("filepath", shown.clone());
        let content = match read_capped(&path, s.cfg().max_file_size) {
            Ok(data) => Content::Fresh {
                items: vec![Item {
                    sref: fsref,
                    data,
                    hint: FormatHint::Auto,
                }],
                errors: Vec::new(),
            },
            Err(Failure {
                reason,
                message: msg,
            }) => Content::Fresh {
                items: Vec::new(),
                errors: vec![ErrorEntry::new(fsref, reason, msg)],
            },
        };
        return Object {
            key: key.to_string(),
            version: Some(version),
            content,
        };
    }
    // Not mounted here: list it like metadata mode.
    metadata(s, key.to_string(), sref.clone(), meta_version.to_string())
}

/// `exec`: read the secret inside a running task container of a service that
/// mounts it (`cat <target>` through the exec API).
async fn exec(
    s: &Scan<'_>,
    key: &str,
    sref: SourceRef,
    meta_version: &str,
    used: &[SecretUse],
) -> Result<Object, super::ApiFail> {
    use bollard::exec::{CreateExecOptions, StartExecResults};
    use futures_util::StreamExt;

    for u in used {
        let mut filters: HashMap<String, Vec<String>> = HashMap::new();
        filters.insert(
            "label".into(),
            vec![format!("com.docker.swarm.service.id={}", u.service_id)],
        );
        filters.insert("status".into(), vec!["running".into()]);
        let opts = bollard::query_parameters::ListContainersOptionsBuilder::default()
            .filters(&filters)
            .build();
        let list = match s
            .call("GET /containers/json", s.docker.list_containers(Some(opts)))
            .await
        {
            Ok(l) => l,
            Err(f) if f.connection => return Err(f),
            Err(_) => continue,
        };
        let Some(c) = list.into_iter().find(|c| c.id.is_some()) else {
            continue;
        };
        let cid = c.id.unwrap_or_default();
        let cname = c
            .names
            .and_then(|n| n.into_iter().next())
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string();
        let path = target_path(Path::new("/run/secrets"), &u.target)
            .display()
            .to_string();
        let version = format!("{meta_version}|{cid}|{path}");
        if s.unchanged(key, &version) {
            return Ok(Object {
                key: key.to_string(),
                version: Some(version),
                content: Content::Unchanged,
            });
        }
        let fsref = sref
            .clone()
            .with_label("docker_container", cname.clone())
            .with_label(
                "filename",
                path.rsplit('/').next().unwrap_or("").to_string(),
            )
            .with_label("filepath", path.clone());
        let mut loc = fsref.clone();
        loc.location = format!("{}:{}", sref.location, path);
        let fsref = loc;
        s.stats()
            .exec_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let created = s
            .call(
                "POST /containers/{id}/exec",
                s.docker.create_exec(
                    &cid,
                    CreateExecOptions {
                        cmd: Some(vec!["cat".to_string(), path.clone()]),
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        ..Default::default()
                    },
                ),
            )
            .await;
        let created = match created {
            Ok(c) => c,
            Err(f) if f.connection => return Err(f),
            Err(f) => {
                return Ok(fresh_error(key, None, fsref, f.reason, f.message));
            }
        };
        let started = s
            .call(
                "POST /exec/{id}/start",
                s.docker.start_exec(&created.id, None),
            )
            .await;
        let mut output = match started {
            Ok(StartExecResults::Attached { output, .. }) => output,
            Ok(StartExecResults::Detached) => {
                return Ok(fresh_error(
                    key,
                    None,
                    fsref,
                    Reason::ApiError,
                    "exec started detached",
                ))
            }
            Err(f) if f.connection => return Err(f),
            Err(f) => return Ok(fresh_error(key, None, fsref, f.reason, f.message)),
        };
        let max = s.cfg().max_file_size as usize;
        let mut data: Vec<u8> = Vec::new();
        let mut too_large = false;
        let mut stderr_seen = false;
        loop {
            let next = tokio::time::timeout(s.cfg().api_timeout, output.next()).await;
            match next {
                Err(_) => {
                    data.fill(0);
                    return Ok(fresh_error(
                        key,
                        None,
                        fsref,
                        Reason::Timeout,
                        format!("exec output stalled for {:?}", s.cfg().api_timeout),
                    ));
                }
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    data.fill(0);
                    let f = super::classify(&e);
                    return Ok(fresh_error(key, None, fsref, Reason::ReadFailed, f.message));
                }
                Ok(Some(Ok(bollard::container::LogOutput::StdOut { message }))) => {
                    if data.len() + message.len() > max {
                        too_large = true;
                        break;
                    }
                    data.extend_from_slice(&message);
                }
                Ok(Some(Ok(_))) => stderr_seen = true,
            }
        }
        drop(output);
        if too_large {
            data.fill(0);
            return Ok(fresh_error(
                key,
                Some(version),
                fsref,
                Reason::TooLarge,
                format!("file is larger than {max} bytes"),
            ));
        }
        let code = s
            .call("GET /exec/{id}/json", s.docker.inspect_exec(&created.id))
            .await
            .ok()
            .and_then(|i| i.exit_code);
        if code.unwrap_or(0) != 0 || (data.is_empty() && stderr_seen) {
            data.fill(0);
            return Ok(fresh_error(
                key,
                None,
                fsref,
                Reason::NotFound,
                format!("cat {path} in container {cname} failed (exit code {code:?})"),
            ));
        }
        return Ok(Object {
            key: key.to_string(),
            version: Some(version),
            content: Content::Fresh {
                items: vec![Item {
                    sref: fsref,
                    data,
                    hint: FormatHint::Auto,
                }],
                errors: Vec::new(),
            },
        });
    }
    Ok(metadata(s, key.to_string(), sref, meta_version.to_string()))
}

fn fresh_error(
    key: &str,
    version: Option<String>,
    sref: SourceRef,
    reason: Reason,
    msg: impl AsRef<str>,
) -> Object {
    Object {
        key: key.to_string(),
        version,
        content: Content::Fresh {
            items: Vec::new(),
            errors: vec![ErrorEntry::new(sref, reason, msg)],
        },
    }
}

fn basename(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn file_version(md: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!(
        "{}:{}:{}:{}.{}",
        md.dev(),
        md.ino(),
        md.size(),
        md.mtime(),
        md.mtime_nsec()
    )
}

fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, Failure> {
    use std::io::Read;
    let f =
        std::fs::File::open(path).map_err(|e| Failure::new(Reason::from_io(&e), e.to_string()))?;
    let mut buf = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Failure::new(Reason::from_io(&e), e.to_string()))?;
    if buf.len() as u64 > max {
        buf.fill(0);
        return Err(Failure::new(
            Reason::TooLarge,
            format!("file is larger than {max} bytes"),
        ));
    }
    Ok(buf)
}

/// `docker_node`: certificate files of the swarm certificates directory (the
/// node certificate and the root CA; `*.key` is never read) and the cluster root
/// CA (`TLSInfo.TrustRoot`) from `GET /swarm` on managers, else `GET /info`.
pub(crate) async fn node(s: &Scan<'_>, info: &SystemInfo, manager: bool) -> Part {
    let mut out = Vec::new();
    let dir = match &s.cfg().node_dir {
        Some(d) => d.clone(),
        None => match &info.docker_root_dir {
            Some(root) => Path::new(root).join("swarm/certificates"),
            None => PathBuf::from(super::config::defaults::DOCKER_NODE_DIR),
        },
    };
    match std::fs::read_dir(&dir) {
        Err(e) => debug!(dir = %dir.display(), "swarm certificates not readable here: {e}"),
        Ok(rd) => {
            let mut paths: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let n = basename(p);
                    !n.ends_with(".key") && !n.starts_with('.')
                })
                .take(64)
                .collect();
            paths.sort();
            for path in paths {
                let Ok(md) = std::fs::metadata(&path) else {
                    continue;
                };
                if !md.is_file() {
                    continue;
                }
                let shown = path.display().to_string();
                let name = basename(&path);
                let key = format!("node/file:{shown}");
                let version = file_version(&md);
                if s.unchanged(&key, &version) {
                    out.push(Object {
                        key,
                        version: Some(version),
                        content: Content::Unchanged,
                    });
                    continue;
                }
                let sref = s
                    .sref(SourceKind::DockerNode, shown.clone())
                    .with_label("filename", name.clone())
                    .with_label("filepath", shown.clone())
                    .with_label("docker_object", "node")
                    .with_label("docker_name", name);
                let content = match read_capped(&path, s.cfg().max_file_size) {
                    Ok(data) => Content::Fresh {
                        items: vec![Item {
                            sref,
                            data,
                            hint: FormatHint::Auto,
                        }],
                        errors: Vec::new(),
                    },
                    Err(Failure {
                        reason,
                        message: msg,
                    }) => Content::Fresh {
                        items: Vec::new(),
                        errors: vec![ErrorEntry::new(sref, reason, msg)],
                    },
                };
                out.push(Object {
                    key,
                    version: Some(version),
                    content,
                });
            }
        }
    }
    // Cluster root CA from the API.
    let mut trust_root = None;
    let mut cluster_id = String::new();
    if manager {
        match s.call("GET /swarm", s.docker.inspect_swarm()).await {
            Ok(sw) => {
                cluster_id = sw.id.unwrap_or_default();
                trust_root = sw.tls_info.and_then(|t| t.trust_root);
            }
            Err(f) if f.connection => return Err(f),
            Err(f) => debug!("GET /swarm: {}", f.message),
        }
    }
    if trust_root.is_none() {
        if let Some(c) = info.swarm.as_ref().and_then(|s| s.cluster.as_ref()) {
            cluster_id = c.id.clone().unwrap_or_default();
            trust_root = c.tls_info.as_ref().and_then(|t| t.trust_root.clone());
        }
    }
    if let Some(pem) = trust_root.filter(|p| !p.trim().is_empty()) {
        let key = "node/swarm-root-ca".to_string();
        let version = format!("{cluster_id}|{}", fnv(pem.as_bytes()));
        if s.unchanged(&key, &version) {
            out.push(Object {
                key,
                version: Some(version),
                content: Content::Unchanged,
            });
        } else {
            let sref = object_labels(
                s.sref(
                    SourceKind::DockerNode,
                    format!("swarm/{}:TLSInfo.TrustRoot", super::short_id(&cluster_id)),
                ),
                "swarm",
                "root-ca",
                &cluster_id,
            );
            out.push(Object {
                key,
                version: Some(version),
                content: Content::Fresh {
                    items: vec![Item {
                        sref,
                        data: pem.into_bytes(),
                        hint: FormatHint::Pem,
                    }],
                    errors: Vec::new(),
                },
            });
        }
    }
    Ok(out)
}

/// FNV-1a, for change markers of small public data (not security relevant).
pub(crate) fn fnv(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_rejects_garbage_and_huge() {
        assert_eq!(decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode("!!!").unwrap_err().reason, Reason::DecodeFailed);
        let huge = "A".repeat(MAX_SWARM_OBJECT * 2);
        assert_eq!(decode(&huge).unwrap_err().reason, Reason::TooLarge);
    }

    #[test]
    fn targets() {
        assert_eq!(
            target_path(Path::new("/run/secrets"), "tls.pem"),
            PathBuf::from("/run/secrets/tls.pem")
        );
        assert_eq!(
            target_path(Path::new("/run/secrets"), "/etc/x.pem"),
            PathBuf::from("/etc/x.pem")
        );
    }
}
