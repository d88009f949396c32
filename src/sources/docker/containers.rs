//! `docker_container`: certificate files inside running containers, read through
//! `GET /containers/{id}/archive` (a tar stream parsed by [`super::tar`] with size
//! caps). Paths come from `docker.containers.paths` (missing ones are skipped
//! quietly) and from the container label `certvigil.paths=/a,/b` (missing ones
//! are `not_found` errors). Inside directories only certificate-like file names
//! are read (`*.pem`, `*.crt`, `*.cer`, `*.cert`, `*.der`, `*.p12`, `*.pfx`) and
//! key-like names are skipped; a path named exactly is always read. Symbolic
//! links inside directories are skipped (that is how the image's CA bundle in
//! `/etc/ssl/certs` stays out); a path named exactly that is a link is followed
//! (at most 4 hops). Paths on tmpfs mounts are reported, not read: the archive
//! API does not see tmpfs content.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::Path;

use bollard::models::ContainerInspectResponse;
use futures_util::StreamExt;

use super::tar::{Entry, TarError, TarReader};
use super::{error_object, object_labels, ApiFail, Part, Scan};
use crate::model::{ErrorEntry, Reason, SourceKind, SourceRef};
use crate::parse::FormatHint;
use crate::sources::glob;
use crate::sources::{Content, Item, Object};

/// Containers read concurrently.
const CONCURRENCY: usize = 4;
/// Symbolic links followed for a path named exactly.
const MAX_LINK_HOPS: usize = 4;
/// Files kept per container (beyond: one `too_large` error).
const MAX_FILES_PER_CONTAINER: usize = 256;

const CERT_EXTENSIONS: [&str; 7] = ["pem", "crt", "cer", "cert", "der", "p12", "pfx"];

/// Whether a file found inside a directory is read.
fn cert_like(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let key_like = lower.ends_with(".key")
        || lower.ends_with("-key.pem")
        || lower.ends_with("_key.pem")
        || lower == "key.pem"
        || lower.starts_with("privkey");
    let ext_ok = lower
        .rsplit_once('.')
        .is_some_and(|(_, ext)| CERT_EXTENSIONS.contains(&ext));
    ext_ok && !key_like
}

/// One requested path.
#[derive(Debug, Clone, PartialEq)]
struct Wanted {
    path: String,
    /// From the container label: a missing path is an error.
    explicit: bool,
}

fn wanted_paths(cfg_paths: &[String], label: Option<&str>) -> Vec<Wanted> {
    let mut out: Vec<Wanted> = cfg_paths
        .iter()
        .map(|p| Wanted {
            path: p.clone(),
            explicit: false,
        })
        .collect();
    if let Some(l) = label {
        for p in l
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .take(32)
        {
            if !p.starts_with('/') || p.contains('\0') {
                continue;
            }
            match out.iter_mut().find(|w| w.path == p) {
                Some(w) => w.explicit = true,
                None => out.push(Wanted {
                    path: p.to_string(),
                    explicit: true,
                }),
            }
        }
    }
    out
}

/// The tmpfs mount containing `path`, if any.
fn tmpfs_of<'a>(tmpfs: &'a [String], path: &str) -> Option<&'a str> {
    tmpfs
        .iter()
        .filter(|m| {
            let m = m.trim_end_matches('/');
            path == m || path.starts_with(&format!("{m}/")) || m.is_empty()
        })
        .map(String::as_str)
        .next()
}

pub(crate) async fn containers(s: &Scan<'_>) -> Part {
    let mut filters: HashMap<String, Vec<String>> = HashMap::new();
    filters.insert("status".into(), vec!["running".into()]);
    let opts = bollard::query_parameters::ListContainersOptionsBuilder::default()
        .filters(&filters)
        .build();
    let list = match s
        .call("GET /containers/json", s.docker.list_containers(Some(opts)))
        .await
    {
        Ok(l) => l,
        Err(f) if f.connection || f.reason == Reason::Timeout => return Err(f),
        Err(f) => {
            let e = ErrorEntry::new(
                s.sref(SourceKind::DockerContainer, "containers"),
                f.reason,
                f.message,
            );
            return Ok(vec![error_object("containers", e)]);
        }
    };
    let max = s.cfg().max_containers;
    let mut out = Vec::new();
    if list.len() > max {
        out.push(error_object(
            "containers",
            ErrorEntry::new(
                s.sref(SourceKind::DockerContainer, "containers"),
                Reason::TooLarge,
                format!(
                    "{} running containers; only the first {max} are read (docker.containers.max_containers)",
                    list.len()
                ),
            ),
        ));
    }
    let ids: Vec<String> = list.into_iter().filter_map(|c| c.id).take(max).collect();
    let results: Vec<Result<Object, ApiFail>> = futures_util::stream::iter(ids)
        .map(|id| container(s, id))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for r in results {
        out.push(r?);
    }
    Ok(out)
}

/// The version of a container: its start time plus the re-read epoch and the
/// path settings, so a restarted container, a changed configuration or the
/// periodic re-read makes it fresh.
fn version_of(s: &Scan<'_>, started: &str, label: Option<&str>) -> String {
    let period = s.cfg().reread_interval.as_secs().max(1);
    let epoch = u64::try_from(s.ctx.now.timestamp()).unwrap_or(0) / period;
    let settings = super::swarm::fnv(
        format!(
            "{:?}|{}|{}",
            s.cfg().container_paths,
            label.unwrap_or(""),
            s.cfg().max_file_size
        )
        .as_bytes(),
    );
    format!("{started}|{epoch}|{settings}")
}

async fn container(s: &Scan<'_>, id: String) -> Result<Object, ApiFail> {
    let key = format!("container/{id}");
    let inspect = s
        .call(
            "GET /containers/{id}/json",
            s.docker.inspect_container(&id, None),
        )
        .await;
    let c: ContainerInspectResponse = match inspect {
        Ok(c) => c,
        Err(f) if f.connection => return Err(f),
        Err(f) => {
            // Gone between listing and inspection: nothing to report.
            let e = ErrorEntry::new(
                s.sref(
                    SourceKind::DockerContainer,
                    format!("{}:", super::short_id(&id)),
                ),
                f.reason,
                f.message,
            );
            return Ok(error_object(key, e));
        }
    };
    let name = c
        .name
        .clone()
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string();
    let config = c.config.clone().unwrap_or_default();
    let labels = config.labels.clone().unwrap_or_default();
    let label = labels.get(&s.cfg().container_label).map(String::as_str);
    let started = c
        .state
        .as_ref()
        .and_then(|st| st.started_at.clone())
        .unwrap_or_default();
    let version = version_of(s, &started, label);
    if s.unchanged(&key, &version) {
        return Ok(Object {
            key,
            version: Some(version),
            content: Content::Unchanged,
        });
    }
    let mut base = object_labels(
        SourceRef::new(SourceKind::DockerContainer, &s.cfg().name, ""),
        "container",
        &name,
        &id,
    )
    .with_label("docker_container", name.clone())
    .with_label("docker_image", config.image.clone().unwrap_or_default());
    if let Some(svc) = labels.get("com.docker.swarm.service.name") {
        base = base.with_label("docker_service", svc.clone());
    }
    if let Some(p) = labels.get("com.docker.compose.project") {
        base = base.with_label("docker_compose_project", p.clone());
    }
    // tmpfs mounts: HostConfig.Tmpfs, Mounts of type tmpfs, and swarm secrets
    // (a tmpfs under /run/secrets in task containers).
    let mut tmpfs: Vec<String> = c
        .host_config
        .as_ref()
        .and_then(|h| h.tmpfs.as_ref())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    for m in c.mounts.iter().flatten() {
        let is_tmpfs = m.typ.as_ref().is_some_and(|t| t == "tmpfs");
        if is_tmpfs {
            if let Some(d) = &m.destination {
                tmpfs.push(d.clone());
            }
        }
    }
    if labels.contains_key("com.docker.swarm.task.id") {
        tmpfs.push("/run/secrets".to_string());
    }

    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut transient = false;
    for w in wanted_paths(&s.cfg().container_paths, label) {
        let loc = |p: &str| {
            let mut r = base.clone();
            r.location = format!("{name}:{p}");
            r
        };
        if let Some(m) = tmpfs_of(&tmpfs, &w.path) {
            if w.explicit {
                errors.push(ErrorEntry::new(
                    loc(&w.path),
                    Reason::ReadFailed,
                    format!(
                        "{} is on the tmpfs mount {m}, which the archive API cannot read \
                         (swarm secrets: use docker.secrets.mode mounted or exec)",
                        w.path
                    ),
                ));
            }
            continue;
        }
        let pattern = w.path.clone();
        let is_glob = glob::is_glob(OsStr::new(&pattern));
        let mut request = if is_glob {
            glob::literal_prefix(&pattern).display().to_string()
        } else {
            pattern.clone()
        };
        let mut hops = 0;
        loop {
            match read_archive(s, &id, &request).await {
                Ok(entries) => {
                    let parent = Path::new(&request)
                        .parent()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "/".to_string());
                    let join = |n: &str| -> String {
                        let n = n.trim_start_matches("./").trim_end_matches('/');
                        if parent.ends_with('/') {
                            format!("{parent}{n}")
                        } else {
                            format!("{parent}/{n}")
                        }
                    };
                    // A path named exactly that is a symbolic link: follow it.
                    if !is_glob && entries.len() == 1 {
                        if let Entry::Symlink { name: n, target } = &entries[0] {
                            if join(n) == request && hops < MAX_LINK_HOPS {
                                hops += 1;
                                request = if target.starts_with('/') {
                                    target.clone()
                                } else {
                                    format!("{parent}/{target}")
                                };
                                continue;
                            }
                        }
                    }
                    for e in entries {
                        match e {
                            Entry::Symlink { .. } => {}
                            Entry::File { name: n, mut data } => {
                                let full = join(&n);
                                let exact = full == request;
                                let keep = if is_glob {
                                    glob::matches(&pattern, Path::new(&full))
                                } else {
                                    exact || cert_like(&n)
                                };
                                if !keep {
                                    data.fill(0);
                                    continue;
                                }
                                if items.len() >= MAX_FILES_PER_CONTAINER {
                                    data.fill(0);
                                    errors.push(ErrorEntry::new(
                                        loc(&full),
                                        Reason::TooLarge,
                                        format!("more than {MAX_FILES_PER_CONTAINER} certificate files in this container; the rest is skipped"),
                                    ));
                                    break;
                                }
                                let file_name = full.rsplit('/').next().unwrap_or("").to_string();
                                items.push(Item {
                                    sref: loc(&full)
                                        .with_label("filename", file_name)
                                        .with_label("filepath", full.clone()),
                                    data,
                                    hint: FormatHint::Auto,
                                });
                            }
                            Entry::TooLarge { name: n, size } => {
                                let full = join(&n);
                                let keep = if is_glob {
                                    glob::matches(&pattern, Path::new(&full))
                                } else {
                                    full == request || cert_like(&n)
                                };
                                if keep {
                                    errors.push(ErrorEntry::new(
                                        loc(&full),
                                        Reason::TooLarge,
                                        format!(
                                            "file is {size} bytes, more than docker.containers.max_file_size ({})",
                                            s.cfg().max_file_size
                                        ),
                                    ));
                                }
                            }
                        }
                    }
                }
                Err(f) if f.connection => return Err(f),
                Err(f) if f.reason == Reason::NotFound && f.status == Some(404) => {
                    if w.explicit {
                        errors.push(ErrorEntry::new(
                            loc(&w.path),
                            Reason::NotFound,
                            format!("{} does not exist in the container", w.path),
                        ));
                    }
                }
                Err(f) => {
                    // The container stopped mid-read, a stream broke, a cap was hit.
                    transient = transient || f.reason != Reason::TooLarge;
                    errors.push(ErrorEntry::new(loc(&w.path), f.reason, f.message));
                }
            }
            break;
        }
    }
    Ok(Object {
        key,
        // A failure that may be transient is retried at the next scan.
        version: if transient { None } else { Some(version) },
        content: Content::Fresh { items, errors },
    })
}

/// Stream the archive of one path and parse it with the caps.
async fn read_archive(s: &Scan<'_>, id: &str, path: &str) -> Result<Vec<Entry>, ApiFail> {
    let opts = bollard::query_parameters::DownloadFromContainerOptionsBuilder::default()
        .path(path)
        .build();
    s.stats().call();
    s.stats()
        .archive_requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let max_file = s.cfg().max_file_size;
    let max_total = (max_file.saturating_mul(16)).max(16 << 20);
    let mut reader = TarReader::new(max_file, max_total);
    let mut entries = Vec::new();
    let mut stream = s.docker.download_from_container(id, Some(opts));
    let limit = s.cfg().api_timeout;
    loop {
        let next = match tokio::time::timeout(limit, stream.next()).await {
            Ok(n) => n,
            Err(_) => {
                wipe(&mut entries);
                return Err(ApiFail::timeout(
                    &format!("GET /containers/{{id}}/archive?path={path}"),
                    limit,
                ));
            }
        };
        match next {
            None => break,
            Some(Err(e)) => {
                wipe(&mut entries);
                let mut f = super::classify(&e);
                if f.connection {
                    // A broken body mid-stream is most often the container going
                    // away; the next listing tells whether the daemon is gone.
                    f.connection = false;
                    f.reason = Reason::ReadFailed;
                }
                f.message = format!("reading {path}: {}", f.message);
                return Err(f);
            }
            Some(Ok(chunk)) => {
                if let Err(e) = reader.feed(&chunk, &mut entries) {
                    wipe(&mut entries);
                    // Dropping the stream aborts the transfer.
                    return Err(match e {
                        TarError::Budget(n) => ApiFail {
                            reason: Reason::TooLarge,
                            message: format!(
                                "archive of {path} is larger than {n} bytes; transfer aborted"
                            ),
                            connection: false,
                            status: None,
                        },
                        TarError::Corrupt(m) => ApiFail {
                            reason: Reason::ReadFailed,
                            message: format!("archive of {path} is not a valid tar stream: {m}"),
                            connection: false,
                            status: None,
                        },
                    });
                }
                if reader.finished() {
                    break;
                }
            }
        }
    }
    Ok(entries)
}

fn wipe(entries: &mut [Entry]) {
    for e in entries {
        if let Entry::File { data, .. } = e {
            data.fill(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cert_like_names() {
        for ok in [
            "a.pem",
            "server.CRT",
            "x.cer",
            "b.der",
            "k.p12",
            "ca-bundle.pem",
        ] {
            assert!(cert_like(ok), "{ok}");
        }
        for no in [
            "nginx.conf",
            "privkey.pem",
            "tls.key",
            "server-key.pem",
            "key.pem",
            "README",
        ] {
            assert!(!cert_like(no), "{no}");
        }
    }

    #[test]
    fn label_paths_merge_and_are_explicit() {
        let cfg = vec!["/certs".to_string(), "/etc/nginx".to_string()];
        let w = wanted_paths(&cfg, Some(" /certs , /opt/tls/server.pem,relative,,"));
        assert_eq!(w.len(), 3);
        assert!(w[0].explicit && !w[1].explicit && w[2].explicit);
        assert_eq!(w[2].path, "/opt/tls/server.pem");
    }

    #[test]
    fn tmpfs_detection() {
        let t = vec!["/run/secrets".to_string(), "/tmp/".to_string()];
        assert_eq!(tmpfs_of(&t, "/run/secrets/tls.pem"), Some("/run/secrets"));
        assert_eq!(tmpfs_of(&t, "/tmp"), Some("/tmp/"));
        assert_eq!(tmpfs_of(&t, "/run/secretsX"), None);
        assert_eq!(tmpfs_of(&t, "/certs"), None);
    }
}
