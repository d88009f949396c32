//! The Docker source (docs/docker.md): swarm configs (`docker_config`), swarm
//! secrets (`docker_secret`: metadata, mounted files or exec), files inside running
//! containers read through the archive API (`docker_container`) and the swarm's
//! node and root CA certificates (`docker_node`), all from one daemon connection
//! made with bollard.
//!
//! Connection: `docker.host`, else `DOCKER_HOST`, else the default socket;
//! `tcp://`/`https://` with client certificates when `docker.tls` (or
//! `DOCKER_CERT_PATH`) names them. The API version is negotiated once per
//! connection; every call runs under `docker.api_timeout` (streamed answers: per
//! chunk). A daemon that cannot be reached turns the whole source down
//! (`x509_source_up 0`, reason `source_unavailable` or `timeout`); the previous
//! results are kept (reported unchanged) until it answers again, and the
//! connection is re-made at the next scan.
//!
//! Change detection: configs and secrets by `ID@Version.Index`, containers by
//! `ID` + `State.StartedAt` (re-read at most every `containers.reread_interval`
//! so that a renewed certificate in a long-running container is seen), node
//! files by size/mtime/inode. Unchanged objects are not re-read. With
//! [`Source::attach_rescan`] the source follows the events stream and asks the
//! scraper for a prompt rescan on container, config, secret and service events.

pub mod config;
mod containers;
mod swarm;
pub mod tar;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::errors::Error as BollardError;
use bollard::Docker;
use tracing::{debug, info, warn};

use super::{BoxFuture, Content, Object, RescanSignal, ScanCtx, Source, SourceOutput};
use crate::model::{ErrorEntry, Reason, SourceKind, SourceRef};
use crate::parse::ParseOptions;
use config::{DockerConfig, DockerEnabled};

/// The default daemon address.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
/// Oldest Engine API version the source talks to (swarm configs need 1.30).
pub const MIN_API_VERSION: (usize, usize) = (1, 30);
/// Longest list of services named in a secret's `docker_service` label.
const MAX_SERVICES_IN_LABEL: usize = 10;
/// Wait after an event before asking for a rescan, so bursts make one rescan.
const EVENT_DEBOUNCE: Duration = Duration::from_secs(2);
/// Wait before re-subscribing to a broken events stream.
const EVENT_RETRY: Duration = Duration::from_secs(5);

/// API traffic counters (for tests, the benchmark and debug logs).
#[derive(Debug, Default)]
pub struct DockerStats {
    /// Every API request made (listings, inspections, archives, execs).
    pub api_calls: AtomicU64,
    /// `GET /containers/{id}/archive` requests.
    pub archive_requests: AtomicU64,
    /// Exec sessions started (`secrets.mode: exec`).
    pub exec_requests: AtomicU64,
}

impl DockerStats {
    fn call(&self) {
        self.api_calls.fetch_add(1, Ordering::Relaxed);
    }
}

/// One failed API call, classified onto the bounded reasons.
#[derive(Debug, Clone)]
pub(crate) struct ApiFail {
    pub reason: Reason,
    pub message: String,
    /// The daemon could not be reached at all (connection refused, socket gone,
    /// broken stream): the whole source is down.
    pub connection: bool,
    /// HTTP status of an error answer.
    pub status: Option<u16>,
}

impl ApiFail {
    fn timeout(what: &str, limit: Duration) -> Self {
        ApiFail {
            reason: Reason::Timeout,
            message: format!("{what}: no answer within {limit:?}"),
            connection: false,
            status: None,
        }
    }
}

/// Map a bollard error onto a bounded reason. Messages come from the daemon or
/// the transport, never from object contents.
pub(crate) fn classify(e: &BollardError) -> ApiFail {
    use BollardError as E;
    let (reason, connection, status) = match e {
        E::DockerResponseServerError { status_code, .. } => (
            if *status_code == 404 {
                Reason::NotFound
            } else {
                Reason::ApiError
            },
            false,
            Some(*status_code),
        ),
        E::RequestTimeoutError => (Reason::Timeout, false, None),
        E::IOError { .. }
        | E::HyperResponseError { .. }
        | E::HyperLegacyError { .. }
        | E::SocketNotFoundError(_)
        | E::HttpClientError { .. } => (Reason::SourceUnavailable, true, None),
        E::JsonDataError { .. } | E::JsonSerdeError { .. } | E::APIVersionParseError {} => {
            (Reason::ApiError, false, None)
        }
        _ => (Reason::ApiError, false, None),
    };
    let message = match e {
        E::DockerResponseServerError {
            status_code,
            message,
        } => format!("daemon answered {status_code}: {message}"),
        // JSON errors may quote the answer: keep only the kind of problem.
        E::JsonDataError { .. } | E::JsonSerdeError { .. } => {
            "unexpected answer from the daemon (JSON)".to_string()
        }
        other => other.to_string(),
    };
    ApiFail {
        reason,
        message: crate::model::bounded(&message, 300),
        connection,
        status,
    }
}

/// Run one API call under the timeout, counting it.
pub(crate) async fn call<T>(
    stats: &DockerStats,
    limit: Duration,
    what: &str,
    fut: impl Future<Output = Result<T, BollardError>>,
) -> Result<T, ApiFail> {
    stats.call();
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            let mut f = classify(&e);
            f.message = format!("{what}: {}", f.message);
            Err(f)
        }
        Err(_) => Err(ApiFail::timeout(what, limit)),
    }
}

/// The Docker source.
pub struct DockerSource {
    cfg: DockerConfig,
    opts: ParseOptions,
    client: tokio::sync::Mutex<Option<Docker>>,
    rescan: Mutex<Option<RescanSignal>>,
    events: Mutex<Option<tokio::task::JoinHandle<()>>>,
    stats: Arc<DockerStats>,
}

impl Drop for DockerSource {
    fn drop(&mut self) {
        if let Ok(mut g) = self.events.lock() {
            if let Some(h) = g.take() {
                h.abort();
            }
        }
    }
}

/// Shared per-scan context of the sub-scanners.
pub(crate) struct Scan<'a> {
    pub src: &'a DockerSource,
    pub docker: &'a Docker,
    pub ctx: &'a ScanCtx,
}

impl Scan<'_> {
    pub fn cfg(&self) -> &DockerConfig {
        &self.src.cfg
    }
    pub fn stats(&self) -> &DockerStats {
        &self.src.stats
    }
    pub async fn call<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, BollardError>>,
    ) -> Result<T, ApiFail> {
        call(&self.src.stats, self.src.cfg.api_timeout, what, fut).await
    }
    pub fn sref(&self, kind: SourceKind, location: impl Into<String>) -> SourceRef {
        SourceRef::new(kind, &self.src.cfg.name, location)
    }
    /// Previous version of `key` equals `version`: the object is unchanged.
    pub fn unchanged(&self, key: &str, version: &str) -> bool {
        self.ctx.prev_versions.get(key).map(String::as_str) == Some(version)
    }
}

/// An object holding only an error (a failed listing, an unreadable container).
pub(crate) fn error_object(key: impl Into<String>, e: ErrorEntry) -> Object {
    Object {
        key: key.into(),
        version: None,
        content: Content::Fresh {
            items: Vec::new(),
            errors: vec![e],
        },
    }
}

/// Result of one sub-scan: its objects, or a connection-level failure.
pub(crate) type Part = Result<Vec<Object>, ApiFail>;

impl DockerSource {
    pub fn new(cfg: DockerConfig) -> Self {
        DockerSource {
            cfg,
            opts: ParseOptions::default(),
            client: tokio::sync::Mutex::new(None),
            rescan: Mutex::new(None),
            events: Mutex::new(None),
            stats: Arc::new(DockerStats::default()),
        }
    }

    /// API traffic counters.
    pub fn stats(&self) -> Arc<DockerStats> {
        self.stats.clone()
    }

    /// The daemon address this source uses.
    pub fn host(cfg: &DockerConfig) -> String {
        cfg.host
            .clone()
            .or_else(|| {
                std::env::var("DOCKER_HOST")
                    .ok()
                    .filter(|h| !h.trim().is_empty())
            })
            .unwrap_or_else(|| DEFAULT_HOST.to_string())
    }

    /// Whether to build the source: `true` → yes; `false` → no; `auto` → when a
    /// host is configured (config or `DOCKER_HOST`) or the default socket exists.
    pub fn wanted(cfg: &DockerConfig) -> bool {
        match cfg.enabled {
            DockerEnabled::On => true,
            DockerEnabled::Off => false,
            DockerEnabled::Auto => {
                let host = Self::host(cfg);
                match host.strip_prefix("unix://") {
                    Some(path) => {
                        let exists = Path::new(path).exists();
                        if !exists {
                            debug!(socket = %path, "docker.enabled is auto and there is no Docker socket: Docker source off");
                        }
                        exists
                    }
                    None => true,
                }
            }
        }
    }

    fn connect_raw(&self) -> Result<Docker, BollardError> {
        let host = Self::host(&self.cfg);
        let secs = self.cfg.api_timeout.as_secs().max(1);
        let version = bollard::API_DEFAULT_VERSION;
        if let Some(path) = host.strip_prefix("unix://") {
            return Docker::connect_with_unix(path, secs, version);
        }
        let tls = &self.cfg.tls;
        let cert_dir = std::env::var("DOCKER_CERT_PATH").ok().map(PathBuf::from);
        let want_tls = host.starts_with("https://")
            || tls.cert_file.is_some()
            || tls.ca_file.is_some()
            || std::env::var("DOCKER_TLS_VERIFY")
                .map(|v| !v.is_empty() && v != "0")
                .unwrap_or(false);
        if want_tls {
            let pick = |p: &Option<PathBuf>, name: &str| -> PathBuf {
                p.clone()
                    .or_else(|| cert_dir.as_ref().map(|d| d.join(name)))
                    .unwrap_or_else(|| PathBuf::from(name))
            };
            let ca = pick(&tls.ca_file, "ca.pem");
            let cert = pick(&tls.cert_file, "cert.pem");
            let key = pick(&tls.key_file, "key.pem");
            return Docker::connect_with_ssl(&host, &key, &cert, &ca, secs, version);
        }
        Docker::connect_with_http(&host, secs, version)
    }

    /// The negotiated client, (re)connecting when needed.
    async fn client(&self) -> Result<Docker, ApiFail> {
        let mut guard = self.client.lock().await;
        if let Some(d) = guard.as_ref() {
            return Ok(d.clone());
        }
        let host = Self::host(&self.cfg);
        let raw = self.connect_raw().map_err(|e| {
            let mut f = classify(&e);
            f.connection = true;
            f.reason = Reason::SourceUnavailable;
            f.message = format!("cannot set up a client for {host}: {}", f.message);
            f
        })?;
        let docker = call(
            &self.stats,
            self.cfg.api_timeout,
            "GET /version",
            raw.negotiate_version(),
        )
        .await
        .map_err(|mut f| {
            if f.reason == Reason::Timeout || f.connection {
                f.connection = true;
            }
            f
        })?;
        let v = docker.client_version();
        if (v.major_version, v.minor_version) < MIN_API_VERSION {
            return Err(ApiFail {
                reason: Reason::ApiError,
                message: format!(
                    "daemon API version {}.{} is older than the oldest supported {}.{}",
                    v.major_version, v.minor_version, MIN_API_VERSION.0, MIN_API_VERSION.1
                ),
                connection: true,
                status: None,
            });
        }
        info!(host = %host, api = %format!("{}.{}", v.major_version, v.minor_version), "connected to the Docker daemon");
        *guard = Some(docker.clone());
        Ok(docker)
    }

    async fn forget_client(&self) {
        *self.client.lock().await = None;
    }

    /// The whole source is down: keep the previous results, report the failure.
    fn down(&self, ctx: &ScanCtx, f: ApiFail) -> SourceOutput {
        let objects = ctx
            .prev_versions
            .iter()
            .map(|(k, v)| Object {
                key: k.clone(),
                version: Some(v.clone()),
                content: Content::Unchanged,
            })
            .collect();
        let reason = if f.reason == Reason::Timeout || f.reason == Reason::ApiError {
            f.reason
        } else {
            Reason::SourceUnavailable
        };
        SourceOutput {
            findings: Vec::new(),
            series: Default::default(),
            objects,
            failure: Some(ErrorEntry::new(
                SourceRef::new(
                    SourceKind::DockerContainer,
                    &self.cfg.name,
                    Self::host(&self.cfg),
                ),
                reason,
                f.message,
            )),
        }
    }

    async fn scan_inner(self: Arc<Self>, ctx: ScanCtx) -> SourceOutput {
        self.ensure_events();
        let docker = match self.client().await {
            Ok(d) => d,
            Err(f) => return self.down(&ctx, f),
        };
        let info = match call(
            &self.stats,
            self.cfg.api_timeout,
            "GET /info",
            docker.info(),
        )
        .await
        {
            Ok(i) => i,
            Err(f) => {
                self.forget_client().await;
                return self.down(&ctx, f);
            }
        };
        let scan = Scan {
            src: &self,
            docker: &docker,
            ctx: &ctx,
        };
        let swarm_active = info
            .swarm
            .as_ref()
            .and_then(|s| s.local_node_state.as_ref())
            .map(|s| s.to_string() == "active")
            .unwrap_or(false);
        let manager = swarm_active
            && info
                .swarm
                .as_ref()
                .and_then(|s| s.control_available)
                .unwrap_or(false);
        let mut objects = Vec::new();
        let mut parts: Vec<Part> = Vec::new();
        if self.cfg.configs && manager {
            parts.push(swarm::configs(&scan).await);
        }
        if self.cfg.secrets_mode != config::SecretsMode::Off && manager {
            parts.push(swarm::secrets(&scan).await);
        }
        if self.cfg.containers {
            parts.push(containers::containers(&scan).await);
        }
        if self.cfg.node {
            parts.push(swarm::node(&scan, &info, manager).await);
        }
        for p in parts {
            match p {
                Ok(o) => objects.extend(o),
                Err(f) => {
                    warn!(source = %self.cfg.name, reason = %f.reason, "{}", f.message);
                    self.forget_client().await;
                    return self.down(&ctx, f);
                }
            }
        }
        debug!(
            source = %self.cfg.name,
            objects = objects.len(),
            api_calls = self.stats.api_calls.load(Ordering::Relaxed),
            archive_requests = self.stats.archive_requests.load(Ordering::Relaxed),
            "docker scan done"
        );
        SourceOutput {
            findings: Vec::new(),
            series: Default::default(),
            objects,
            failure: None,
        }
    }

    /// Start following the events stream once a rescan signal is attached.
    fn ensure_events(self: &Arc<Self>) {
        if !self.cfg.events {
            return;
        }
        let Some(signal) = self.rescan.lock().ok().and_then(|g| g.clone()) else {
            return;
        };
        let Ok(mut slot) = self.events.lock() else {
            return;
        };
        if slot.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        let weak = Arc::downgrade(self);
        *slot = Some(tokio::spawn(follow_events(weak, signal)));
    }
}

/// Follow `GET /events` (container start/die/destroy, config/secret/service
/// changes) and trigger a rescan after each burst. Reconnects after errors;
/// stops when the source is dropped.
async fn follow_events(src: std::sync::Weak<DockerSource>, signal: RescanSignal) {
    use futures_util::StreamExt;
    loop {
        let Some(s) = src.upgrade() else { return };
        let docker = match s.client().await {
            Ok(d) => d,
            Err(_) => {
                drop(s);
                tokio::time::sleep(EVENT_RETRY).await;
                continue;
            }
        };
        let mut filters: HashMap<String, Vec<String>> = HashMap::new();
        filters.insert(
            "type".into(),
            vec![
                "container".into(),
                "config".into(),
                "secret".into(),
                "service".into(),
            ],
        );
        filters.insert(
            "event".into(),
            [
                "start", "die", "destroy", "create", "remove", "update", "rename",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        );
        let opts = bollard::query_parameters::EventsOptionsBuilder::default()
            .filters(&filters)
            .build();
        s.stats.call();
        let mut stream = docker.events(Some(opts));
        drop(s);
        debug!("following Docker events");
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(ev) => {
                    debug!(
                        kind = ?ev.typ,
                        action = ev.action.as_deref().unwrap_or(""),
                        "Docker event: rescan soon"
                    );
                    // Coalesce a burst into one rescan.
                    let _ = tokio::time::timeout(EVENT_DEBOUNCE, async {
                        while stream.next().await.is_some() {}
                    })
                    .await;
                    signal.notify_one();
                }
                Err(e) => {
                    debug!("Docker events stream failed: {e}");
                    break;
                }
            }
        }
        if src.upgrade().is_none() {
            return;
        }
        // The stream ended (daemon restart?): rescan so the state is reported.
        signal.notify_one();
        tokio::time::sleep(EVENT_RETRY).await;
    }
}

impl Source for DockerSource {
    fn kinds(&self) -> Vec<SourceKind> {
        // The first kind names source-level failures.
        vec![
            SourceKind::DockerContainer,
            SourceKind::DockerConfig,
            SourceKind::DockerSecret,
            SourceKind::DockerNode,
        ]
    }

    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn parse_options(&self) -> &ParseOptions {
        &self.opts
    }

    fn scan(self: Arc<Self>, ctx: ScanCtx) -> BoxFuture<SourceOutput> {
        Box::pin(self.scan_inner(ctx))
    }

    fn attach_rescan(&self, signal: RescanSignal) {
        if let Ok(mut g) = self.rescan.lock() {
            *g = Some(signal);
        }
    }
}

/// `docker_*` labels common to every Docker object.
pub(crate) fn object_labels(sref: SourceRef, object: &str, name: &str, id: &str) -> SourceRef {
    sref.with_label("docker_object", object)
        .with_label("docker_name", name)
        .with_label("docker_id", short_id(id))
}

/// The 12-character short form of a Docker id.
pub(crate) fn short_id(id: &str) -> &str {
    match id.char_indices().nth(12) {
        Some((i, _)) => &id[..i],
        None => id,
    }
}

/// Join service names for the `docker_service` label, capped.
pub(crate) fn join_services(names: &[String]) -> String {
    let mut v: Vec<&str> = names.iter().map(String::as_str).collect();
    v.sort_unstable();
    v.dedup();
    let shown = v.len().min(MAX_SERVICES_IN_LABEL);
    let mut out = v[..shown].join(",");
    if v.len() > shown {
        out.push_str(&format!(",…+{}", v.len() - shown));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_service_lists_are_bounded() {
        assert_eq!(short_id("0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
        let many: Vec<String> = (0..15).map(|i| format!("s{i:02}")).collect();
        let j = join_services(&many);
        assert!(j.starts_with("s00,s01"));
        assert!(j.ends_with(",…+5"));
        assert_eq!(join_services(&["b".into(), "a".into(), "a".into()]), "a,b");
    }

    #[test]
    fn error_classification() {
        let e = BollardError::DockerResponseServerError {
            status_code: 404,
            message: "no such container".into(),
        };
        let f = classify(&e);
        assert_eq!(f.reason, Reason::NotFound);
        assert!(!f.connection);
        let f = classify(&BollardError::SocketNotFoundError("/x".into()));
        assert_eq!(f.reason, Reason::SourceUnavailable);
        assert!(f.connection);
        assert_eq!(
            classify(&BollardError::RequestTimeoutError).reason,
            Reason::Timeout
        );
    }
}
