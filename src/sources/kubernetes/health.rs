//! Kubernetes-native certificate health: the questions that sit between
//! objects. Does the Secret an Ingress names exist, does its certificate cover
//! the Ingress hosts, is cert-manager actually renewing (docs/kubernetes.md,
//! "Ingress and cert-manager health").
//!
//! Ingresses (`networking.k8s.io/v1`) and cert-manager's Certificates,
//! CertificateRequests, Issuers and ClusterIssuers (`cert-manager.io/v1`, only
//! when discovery shows the group) are watched like every other resource
//! (paginated LIST, WATCH, re-LIST after `410 Gone`), each object reduced at once
//! to a few bounded fields ([`Held`]); objects are never kept. The checks run at
//! scan time against the Secrets the secrets family holds and yield object
//! findings and [`ObjectSeries`]. These resources are optional: a `403` is
//! logged once (warn) and that resource is skipped, a resource the server does
//! not serve (`404`, group absent from discovery) is skipped with a debug line.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, Client};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::model::{hostname_matches, Finding, FindingId, ObjectMetric, ObjectSeries};

use super::resources;
use super::store::{Leaf, Store};

/// TLS blocks read per Ingress (the rest is ignored).
pub const MAX_TLS_PER_INGRESS: usize = 64;
/// Hosts read per TLS block.
pub const MAX_HOSTS_PER_TLS: usize = 128;
/// Longest name (host, Secret, issuer) kept; longer ones are not valid DNS names
/// or object names and are dropped.
pub const MAX_NAME_LEN: usize = 253;
/// Longest condition reason/message kept (characters).
pub const MAX_CONDITION_TEXT: usize = 256;
/// Series per object metric family of one source (`x509_ingress_tls_info`, each
/// `x509_cert_manager_certificate_*`); the rest is left out with a warning.
pub const MAX_SERIES_PER_FAMILY: usize = 50_000;
/// Findings per scan of one source.
pub const MAX_FINDINGS: usize = 20_000;
/// A Certificate is `cert_manager_renewal_overdue` once `status.renewalTime` is
/// this far in the past (cert-manager renews at renewalTime; issuance takes
/// seconds to minutes).
pub const RENEWAL_GRACE_SECONDS: i64 = 600;

/// Which health checks are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthOptions {
    /// Watch Ingresses (`kubernetes.ingresses.enabled`).
    pub ingresses: bool,
    /// Watch cert-manager objects when the CRDs exist (`kubernetes.cert_manager.enabled`).
    pub cert_manager: bool,
}

impl HealthOptions {
    pub fn any(self) -> bool {
        self.ingresses || self.cert_manager
    }
}

/// A condition's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CondStatus {
    True,
    False,
    Unknown,
    #[default]
    Absent,
}

/// The `Ready` condition, bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ready {
    pub status: CondStatus,
    pub reason: Box<str>,
    pub message: Box<str>,
}

/// One TLS block of an Ingress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRef {
    pub secret_name: Option<Box<str>>,
    pub hosts: Box<[Box<str>]>,
}

/// What is kept of one watched object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    Ingress {
        tls: Box<[TlsRef]>,
    },
    Certificate {
        secret_name: Box<str>,
        issuer_name: Box<str>,
        issuer_kind: Box<str>,
        ready: Ready,
        renewal_time: Option<i64>,
        not_after: Option<i64>,
        failed_attempts: u32,
    },
    /// A CertificateRequest that failed (healthy ones are not kept).
    FailedRequest {
        certificate: Box<str>,
        why: Box<str>,
    },
    Issuer {
        ready: Ready,
    },
}

#[derive(Debug)]
struct Obj {
    owner: usize,
    version: Box<str>,
    /// `namespace/name`, or `clusterissuer/<name>` for cluster-scoped kinds.
    location: Box<str>,
    namespace: Box<str>,
    name: Box<str>,
    held: Held,
}

#[derive(Debug, Default)]
struct HWatch {
    what: String,
    /// Initial LIST complete, failed, or the resource skipped.
    settled: bool,
}

#[derive(Debug, Default)]
struct Inner {
    /// By `<Kind>:<namespace>/<name>` (boxed: the table stays small).
    objects: HashMap<String, Box<Obj>>,
    watchers: Vec<HWatch>,
    relisting: HashMap<usize, HashSet<String>>,
}

/// Change counters of the health and secrets stores, and the completeness flag.
type Stamp = (u64, u64, bool);

/// The health watchers' store: bounded summaries of the optional resources.
#[derive(Debug)]
pub struct HealthStore {
    inner: Mutex<Inner>,
    status: watch::Sender<u64>,
    /// Bumped on every change of the held objects.
    changes: std::sync::atomic::AtomicU64,
    /// The series of the last evaluation and the change counters (health,
    /// secrets, completeness) they were computed at: reused while unchanged.
    cache: Mutex<Option<(Stamp, Arc<[ObjectSeries]>)>>,
}

impl Default for HealthStore {
    fn default() -> Self {
        HealthStore {
            inner: Mutex::new(Inner::default()),
            status: watch::channel(0).0,
            changes: std::sync::atomic::AtomicU64::new(0),
            cache: Mutex::new(None),
        }
    }
}

impl HealthStore {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn bump(&self) {
        self.status.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn changed(&self) {
        self.changes
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Register a watcher (or a discovery step); returns its index.
    pub fn add_watcher(&self, what: String) -> usize {
        let mut g = self.lock();
        g.watchers.push(HWatch {
            what,
            settled: false,
        });
        g.watchers.len() - 1
    }

    /// The watcher's initial state is known (listed, failed or skipped).
    pub fn settle(&self, owner: usize) {
        if let Some(w) = self.lock().watchers.get_mut(owner) {
            w.settled = true;
        }
        self.bump();
    }

    fn begin_list(&self, owner: usize) {
        self.lock().relisting.insert(owner, HashSet::new());
    }

    fn end_list(&self, owner: usize) {
        self.changed();
        {
            let mut g = self.lock();
            let seen = g.relisting.remove(&owner).unwrap_or_default();
            g.objects
                .retain(|k, o| o.owner != owner || seen.contains(k));
        }
        self.settle(owner);
    }

    /// Whether `key` is held at `version` already (then only marked as listed).
    fn current(&self, owner: usize, key: &str, version: &str) -> bool {
        let mut g = self.lock();
        let held = g
            .objects
            .get(key)
            .is_some_and(|o| o.owner == owner && !version.is_empty() && &*o.version == version);
        if held {
            if let Some(seen) = g.relisting.get_mut(&owner) {
                seen.insert(key.to_string());
            }
        }
        held
    }

    fn upsert(&self, owner: usize, key: String, obj: Option<Obj>) {
        self.changed();
        let mut g = self.lock();
        if let Some(seen) = g.relisting.get_mut(&owner) {
            seen.insert(key.clone());
        }
        match obj {
            Some(o) => {
                g.objects.insert(key, Box::new(o));
            }
            None => {
                g.objects.remove(&key);
            }
        }
    }

    fn remove(&self, key: &str) {
        self.changed();
        self.lock().objects.remove(key);
    }

    /// Drop everything a watcher contributed (its resource is skipped).
    fn forget(&self, owner: usize) {
        self.changed();
        let mut g = self.lock();
        g.objects.retain(|_, o| o.owner != owner);
        g.relisting.remove(&owner);
    }

    /// Objects held (benchmarks, tests).
    pub fn len(&self) -> usize {
        self.lock().objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wait until every watcher has settled, at most `max`.
    pub async fn wait_settled(&self, max: Duration) {
        let mut rx = self.status.subscribe();
        let deadline = tokio::time::Instant::now() + max;
        loop {
            if self.lock().watchers.iter().all(|w| w.settled) {
                return;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                _ => return,
            }
        }
    }

    /// The watchers that have not settled yet (messages).
    pub fn unsettled(&self) -> Vec<String> {
        self.lock()
            .watchers
            .iter()
            .filter(|w| !w.settled)
            .map(|w| w.what.clone())
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Extraction: object → bounded summary.

fn text(v: &Value, max: usize) -> Box<str> {
    let s = v.as_str().unwrap_or("");
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i >= max {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out.into()
}

fn name(v: &Value) -> Option<Box<str>> {
    let s = v.as_str()?;
    (!s.is_empty() && s.len() <= MAX_NAME_LEN && !s.chars().any(char::is_control))
        .then(|| s.to_ascii_lowercase().into())
}

fn time(v: &Value) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(v.as_str()?)
        .ok()
        .map(|t| t.timestamp())
}

fn ready_of(status: &Value) -> Ready {
    let Some(conds) = status.get("conditions").and_then(Value::as_array) else {
        return Ready::default();
    };
    for c in conds.iter().take(64) {
        if c.get("type").and_then(Value::as_str) != Some("Ready") {
            continue;
        }
        let status = match c.get("status").and_then(Value::as_str) {
            Some("True") => CondStatus::True,
            Some("False") => CondStatus::False,
            _ => CondStatus::Unknown,
        };
        if status == CondStatus::True {
            // Nothing to report: keep no text.
            return Ready {
                status,
                ..Ready::default()
            };
        }
        return Ready {
            status,
            reason: text(c.get("reason").unwrap_or(&Value::Null), MAX_CONDITION_TEXT),
            message: text(c.get("message").unwrap_or(&Value::Null), MAX_CONDITION_TEXT),
        };
    }
    Ready::default()
}

fn field<'a>(rest: &'a Map<String, Value>, k: &str) -> &'a Value {
    rest.get(k).unwrap_or(&Value::Null)
}

/// An Ingress's `spec.tls[]`; `None` when it has no TLS block.
pub fn ingress(rest: &Map<String, Value>) -> Option<Held> {
    let tls = field(rest, "spec").get("tls")?.as_array()?;
    let mut out = Vec::new();
    for t in tls.iter().take(MAX_TLS_PER_INGRESS) {
        let secret_name = t.get("secretName").and_then(name);
        let mut hosts: Vec<Box<str>> = Vec::new();
        if let Some(hs) = t.get("hosts").and_then(Value::as_array) {
            for h in hs.iter().take(MAX_HOSTS_PER_TLS) {
                if let Some(h) = name(h) {
                    if !hosts.contains(&h) {
                        hosts.push(h);
                    }
                }
            }
        }
        out.push(TlsRef {
            secret_name,
            hosts: hosts.into(),
        });
    }
    (!out.is_empty()).then(|| Held::Ingress { tls: out.into() })
}

/// A cert-manager Certificate (`spec.secretName`, `spec.issuerRef`, `status`).
pub fn certificate(rest: &Map<String, Value>) -> Option<Held> {
    let spec = field(rest, "spec");
    let status = field(rest, "status");
    let issuer = spec.get("issuerRef").unwrap_or(&Value::Null);
    Some(Held::Certificate {
        secret_name: spec.get("secretName").and_then(name).unwrap_or_default(),
        issuer_name: issuer
            .get("name")
            .map(|v| text(v, MAX_NAME_LEN))
            .unwrap_or_default(),
        issuer_kind: issuer
            .get("kind")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .map(|k| text(&Value::String(k.to_string()), 64))
            .unwrap_or_else(|| "Issuer".into()),
        ready: ready_of(status),
        renewal_time: status.get("renewalTime").and_then(time),
        not_after: status.get("notAfter").and_then(time),
        failed_attempts: status
            .get("failedIssuanceAttempts")
            .and_then(Value::as_u64)
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
    })
}

/// A CertificateRequest, kept only when it failed: `Ready` False with reason
/// `Failed`, or `InvalidRequest` / `Denied` True.
pub fn certificate_request(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    rest: &Map<String, Value>,
) -> Option<Held> {
    let status = field(rest, "status");
    let conds = status.get("conditions").and_then(Value::as_array)?;
    let mut why = None;
    for c in conds.iter().take(64) {
        let t = c.get("type").and_then(Value::as_str).unwrap_or("");
        let s = c.get("status").and_then(Value::as_str).unwrap_or("");
        let reason = c.get("reason").and_then(Value::as_str).unwrap_or("");
        let failed = match t {
            "Ready" => s == "False" && reason == "Failed",
            "InvalidRequest" | "Denied" => s == "True",
            _ => false,
        };
        if failed {
            why = Some(text(
                &Value::String(format!(
                    "{t}={s} ({}): {}",
                    text(c.get("reason").unwrap_or(&Value::Null), 64),
                    text(c.get("message").unwrap_or(&Value::Null), MAX_CONDITION_TEXT)
                )),
                MAX_CONDITION_TEXT + 80,
            ));
            break;
        }
    }
    let certificate = meta
        .annotations
        .as_ref()
        .and_then(|a| a.get("cert-manager.io/certificate-name"))
        .map(|v| text(&Value::String(v.clone()), MAX_NAME_LEN))
        .unwrap_or_default();
    why.map(|why| Held::FailedRequest { certificate, why })
}

/// An Issuer or ClusterIssuer: its `Ready` condition.
pub fn issuer(rest: &Map<String, Value>) -> Option<Held> {
    Some(Held::Issuer {
        ready: ready_of(field(rest, "status")),
    })
}

// ---------------------------------------------------------------------------
// Watchers.

/// How a health watcher ended or fails.
enum Outcome {
    /// `403`: reported once, resource skipped.
    Forbidden(String),
    /// `404`: not served, skipped silently.
    NotServed,
    /// `410 Gone`: the watcher re-lists on its own.
    Gone,
    /// Anything else: retried with backoff.
    Retry(String),
}

fn outcome(e: &watcher::Error) -> Outcome {
    let status = match e {
        watcher::Error::InitialListFailed(err)
        | watcher::Error::WatchStartFailed(err)
        | watcher::Error::WatchFailed(err) => match err {
            kube::Error::Api(s) => Some((s.code, s.message.clone())),
            other => return Outcome::Retry(other.to_string()),
        },
        watcher::Error::WatchError(s) => Some((s.code, s.message.clone())),
        watcher::Error::NoResourceVersion => {
            return Outcome::Retry("API response without metadata.resourceVersion".into())
        }
    };
    match status {
        Some((403, m)) => Outcome::Forbidden(m.chars().take(200).collect()),
        Some((404, _)) => Outcome::NotServed,
        Some((410, _)) => Outcome::Gone,
        Some((c, m)) => Outcome::Retry(format!(
            "API error {c}: {}",
            m.chars().take(200).collect::<String>()
        )),
        None => Outcome::Retry(String::new()),
    }
}

/// Where a health resource is watched: all namespaces, or one.
#[derive(Debug, Clone)]
pub struct Scope {
    pub namespace: Option<String>,
    /// Server-side field selector (excluded namespaces), if any.
    pub fields: Option<String>,
}

/// The API group of a health resource (messages, RBAC hints).
fn group_of(resource: &str) -> &'static str {
    if resource == "ingresses" {
        "networking.k8s.io"
    } else {
        "cert-manager.io"
    }
}

/// What the health watchers need.
#[derive(Clone)]
pub struct Env {
    pub client: Client,
    pub health: Arc<HealthStore>,
    /// The secrets store: its change signal triggers the rescan.
    pub secrets: Arc<Store>,
    pub page_size: u32,
    /// Which namespaces are kept (the Secrets' include/exclude names and globs).
    pub filter: Arc<super::ObjFilter>,
}

fn spawn_one<K, F>(
    env: &Env,
    api: Api<K>,
    scope: &Scope,
    resource: &'static str,
    extract: F,
) -> JoinHandle<()>
where
    K: kube::Resource<DynamicType = ()>
        + k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
    F: Fn(&K) -> Option<Held> + Send + Sync + 'static,
{
    let what = match &scope.namespace {
        Some(n) => format!("{resource} in namespace {n}"),
        None => format!("{resource} in all namespaces"),
    };
    let hs = env.health.clone();
    let owner = hs.add_watcher(what.clone());
    let secrets = env.secrets.clone();
    let filter = env.filter.clone();
    let mut wc = watcher::Config::default().page_size(env.page_size);
    if let Some(f) = &scope.fields {
        wc = wc.fields(f);
    }
    let kind = K::kind(&());
    tokio::spawn(async move {
        let ident = |o: &K| {
            let m = kube::Resource::meta(o);
            let ns = m.namespace.clone().unwrap_or_default();
            let n = m.name.clone().unwrap_or_default();
            let location = if ns.is_empty() {
                format!("{}/{n}", kind.to_ascii_lowercase())
            } else {
                format!("{ns}/{n}")
            };
            (format!("{kind}:{location}"), location, ns, n)
        };
        let make = |o: &K, location: String, ns: String, n: String| -> Option<Obj> {
            if !filter.allows((!ns.is_empty()).then_some(ns.as_str()), "") {
                return None;
            }
            let held = extract(o)?;
            Some(Obj {
                owner,
                version: kube::Resource::meta(o)
                    .resource_version
                    .clone()
                    .unwrap_or_default()
                    .into(),
                location: location.into(),
                namespace: ns.into(),
                name: n.into(),
                held,
            })
        };
        let mut warned = false;
        let mut stream = watcher::watcher(api, wc).default_backoff().boxed();
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(Event::Init) => hs.begin_list(owner),
                Ok(Event::InitApply(o)) | Ok(Event::Apply(o)) => {
                    let (key, location, ns, n) = ident(&o);
                    let v = kube::Resource::meta(&o)
                        .resource_version
                        .clone()
                        .unwrap_or_default();
                    if !hs.current(owner, &key, &v) {
                        let obj = make(&o, location, ns, n);
                        hs.upsert(owner, key, obj);
                        secrets.dirty.notify_one();
                    }
                }
                Ok(Event::InitDone) => {
                    debug!(target = %what, "LIST complete; watching");
                    hs.end_list(owner);
                    secrets.dirty.notify_one();
                }
                Ok(Event::Delete(o)) => {
                    hs.remove(&ident(&o).0);
                    secrets.dirty.notify_one();
                }
                Err(e) => match outcome(&e) {
                    Outcome::Gone => info!(target = %what, "watch expired (410 Gone): re-listing"),
                    Outcome::Forbidden(m) => {
                        warn!(
                            target = %what,
                            "403 Forbidden: missing RBAC permission: get, list, watch on {resource:?} \
                             (API group {}); this check is skipped until the next reload \
                             (see deploy/kubernetes/): {m}",
                            group_of(resource)
                        );
                        hs.forget(owner);
                        hs.settle(owner);
                        secrets.dirty.notify_one();
                        return;
                    }
                    Outcome::NotServed => {
                        debug!(target = %what, "not served by this API server (404): skipped");
                        hs.forget(owner);
                        hs.settle(owner);
                        return;
                    }
                    Outcome::Retry(m) => {
                        if !warned {
                            warn!(target = %what, "{m} (retrying with backoff)");
                            warned = true;
                        } else {
                            debug!(target = %what, "{m} (retrying with backoff)");
                        }
                        // The initial state is as known as it gets for now.
                        hs.settle(owner);
                    }
                },
            }
        }
    })
}

/// Whether discovery lists `group_version` with these resources; `None` when the
/// group is absent (404) or discovery failed (logged).
async fn discover(client: &Client, group_version: &str) -> Option<HashSet<String>> {
    match client.list_api_group_resources(group_version).await {
        Ok(list) => Some(list.resources.into_iter().map(|r| r.name).collect()),
        Err(kube::Error::Api(s)) if s.code == 404 => {
            debug!("{group_version}: API group not served (discovery 404): its checks are skipped");
            None
        }
        Err(e) => {
            warn!("{group_version}: discovery failed, its checks are skipped until the next reload: {e}");
            None
        }
    }
}

/// Start the health watchers. `scopes`: one per watched namespace (or one
/// cluster-wide); `namespace_scoped`: no discovery (a Role cannot read it
/// reliably everywhere) and no cluster-scoped kinds, a `404` skips.
pub fn spawn(
    env: Env,
    opts: HealthOptions,
    scopes: Vec<Scope>,
    namespace_scoped: bool,
) -> Vec<JoinHandle<()>> {
    let step = env.health.add_watcher("health discovery".into());
    let hs = env.health.clone();
    let handle = tokio::spawn(async move {
        // Aborted with this task (reload), also while discovery is under way.
        let mut tasks = AbortAll(Vec::new());
        if opts.ingresses {
            let ok = namespace_scoped
                || discover(&env.client, "networking.k8s.io/v1")
                    .await
                    .is_some_and(|r| r.contains("ingresses"));
            if ok {
                for s in &scopes {
                    let api: Api<resources::Ingress> = match &s.namespace {
                        Some(n) => Api::namespaced(env.client.clone(), n),
                        None => Api::all(env.client.clone()),
                    };
                    tasks.0.push(spawn_one(
                        &env,
                        api,
                        s,
                        "ingresses",
                        |o: &resources::Ingress| ingress(&o.rest),
                    ));
                }
            }
        }
        if opts.cert_manager {
            let served: Option<HashSet<String>> = if namespace_scoped {
                Some(
                    ["certificates", "certificaterequests", "issuers"]
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                )
            } else {
                discover(&env.client, "cert-manager.io/v1").await
            };
            if let Some(served) = served {
                for s in &scopes {
                    let ns_api = |c: &Client| (c.clone(), s.namespace.clone());
                    let (c, ns) = ns_api(&env.client);
                    if served.contains("certificates") {
                        let api: Api<resources::CmCertificate> = match &ns {
                            Some(n) => Api::namespaced(c.clone(), n),
                            None => Api::all(c.clone()),
                        };
                        tasks.0.push(spawn_one(
                            &env,
                            api,
                            s,
                            "certificates",
                            |o: &resources::CmCertificate| certificate(&o.rest),
                        ));
                    }
                    if served.contains("certificaterequests") {
                        let api: Api<resources::CmCertificateRequest> = match &ns {
                            Some(n) => Api::namespaced(c.clone(), n),
                            None => Api::all(c.clone()),
                        };
                        tasks.0.push(spawn_one(
                            &env,
                            api,
                            s,
                            "certificaterequests",
                            |o: &resources::CmCertificateRequest| {
                                certificate_request(&o.metadata, &o.rest)
                            },
                        ));
                    }
                    if served.contains("issuers") {
                        let api: Api<resources::CmIssuer> = match &ns {
                            Some(n) => Api::namespaced(c.clone(), n),
                            None => Api::all(c.clone()),
                        };
                        tasks.0.push(spawn_one(
                            &env,
                            api,
                            s,
                            "issuers",
                            |o: &resources::CmIssuer| issuer(&o.rest),
                        ));
                    }
                }
                if !namespace_scoped && served.contains("clusterissuers") {
                    let api: Api<resources::CmClusterIssuer> = Api::all(env.client.clone());
                    let s = Scope {
                        namespace: None,
                        fields: None,
                    };
                    tasks.0.push(spawn_one(
                        &env,
                        api,
                        &s,
                        "clusterissuers",
                        |o: &resources::CmClusterIssuer| issuer(&o.rest),
                    ));
                }
            }
        }
        hs.settle(step);
        // Keep the watchers running until this task is aborted.
        futures::future::pending::<()>().await;
        drop(tasks);
    });
    vec![handle]
}

/// Aborts its tasks when dropped (the parent task was aborted: reload).
struct AbortAll(Vec<JoinHandle<()>>);

impl Drop for AbortAll {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

// ---------------------------------------------------------------------------
// Evaluation.

/// What the health checks found in one scan.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub series: Arc<[ObjectSeries]>,
}

/// Run the checks ([`evaluate_now`]), reusing the previous series while neither
/// store changed (findings are recomputed: they depend on the clock).
pub fn evaluate(hs: &HealthStore, secrets: &Store, secrets_complete: bool, now: i64) -> Report {
    let stamp = (
        hs.changes.load(std::sync::atomic::Ordering::Acquire),
        secrets.changes(),
        secrets_complete,
    );
    let cached = match hs.cache.lock() {
        Ok(g) => g
            .as_ref()
            .filter(|(s, _)| *s == stamp)
            .map(|(_, v)| v.clone()),
        Err(_) => None,
    };
    match cached {
        Some(series) => {
            let (findings, _) = evaluate_now(hs, secrets, secrets_complete, now, false);
            Report { findings, series }
        }
        None => {
            let (findings, series) = evaluate_now(hs, secrets, secrets_complete, now, true);
            let series: Arc<[ObjectSeries]> = series.into();
            if let Ok(mut g) = hs.cache.lock() {
                *g = Some((stamp, series.clone()));
            }
            Report { findings, series }
        }
    }
}

fn fmt_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| t.to_string())
}

fn ago(secs: i64) -> String {
    let s = secs.max(0);
    if s >= 86_400 {
        format!("{}d{}h", s / 86_400, (s % 86_400) / 3600)
    } else if s >= 3600 {
        format!("{}h{}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m", s / 60)
    }
}

/// Run the checks over what the health store and the secrets store hold:
/// findings, and the series when `with_series`.
/// `secrets_complete`: every Secret that exists is in `secrets` (all its
/// watchers synced and no label selector narrows them); only then is a Secret
/// that is not held reported missing.
pub fn evaluate_now(
    hs: &HealthStore,
    secrets: &Store,
    secrets_complete: bool,
    now: i64,
    with_series: bool,
) -> (Vec<Finding>, Vec<ObjectSeries>) {
    let g = hs.lock();
    // Deterministic order: by kind tag and location.
    let mut objs: Vec<(&String, &Obj)> = g.objects.iter().map(|(k, o)| (k, &**o)).collect();
    objs.sort_by(|a, b| a.0.cmp(b.0));
    #[derive(Default)]
    struct Out {
        findings: Vec<Finding>,
        series: Vec<ObjectSeries>,
    }
    let mut r = Out::default();
    let mut counts: BTreeMap<ObjectMetric, usize> = BTreeMap::new();
    let mut capped = false;
    let mut push_series =
        |r: &mut Out, metric: ObjectMetric, labels: Arc<[Box<str>]>, value: f64| {
            if !with_series {
                return;
            }
            let n = counts.entry(metric).or_insert(0);
            if *n >= MAX_SERIES_PER_FAMILY {
                capped = true;
                return;
            }
            *n += 1;
            r.series.push(ObjectSeries {
                metric,
                labels,
                value,
            });
        };
    let find = |r: &mut Out, id: FindingId, fp: &str, location: &str, msg: String| {
        if r.findings.len() < MAX_FINDINGS {
            r.findings.push(Finding::object(id, fp, location, msg));
        }
    };
    let leaf_of = |ns: &str, secret: &str| secrets.tls_leaf(&format!("{ns}/{secret}"));
    for (_, o) in &objs {
        match &o.held {
            Held::Ingress { tls } => {
                let mut seen: HashSet<(&str, &str)> = HashSet::new();
                for t in tls.iter() {
                    let secret = t.secret_name.as_deref().unwrap_or("");
                    let hosts: Vec<&str> = if t.hosts.is_empty() {
                        vec![""]
                    } else {
                        t.hosts.iter().map(|h| &**h).collect()
                    };
                    for h in &hosts {
                        if seen.insert((h, secret)) {
                            push_series(
                                &mut r,
                                ObjectMetric::IngressTlsInfo,
                                Arc::new([
                                    o.namespace.clone(),
                                    o.name.clone(),
                                    (*h).into(),
                                    secret.into(),
                                ]),
                                1.0,
                            );
                        }
                    }
                    if secret.is_empty() {
                        // No secretName: the controller's default certificate.
                        continue;
                    }
                    match leaf_of(&o.namespace, secret) {
                        Leaf::Absent | Leaf::NoTlsCrt if secrets_complete => find(
                            &mut r,
                            FindingId::IngressTlsSecretMissing,
                            "",
                            &o.location,
                            format!(
                                "TLS Secret {}/{secret} (hosts: {}) does not exist or has no tls.crt",
                                o.namespace,
                                if t.hosts.is_empty() { "-".to_string() } else { t.hosts.join(", ") }
                            ),
                        ),
                        Leaf::Cert(c) => {
                            for h in t.hosts.iter() {
                                if !hostname_matches(&c.dns_names, &c.ip_addresses, h) {
                                    let mut sans: Vec<&str> = c
                                        .dns_names
                                        .iter()
                                        .chain(&c.ip_addresses)
                                        .map(String::as_str)
                                        .take(8)
                                        .collect();
                                    if c.dns_names.len() + c.ip_addresses.len() > 8 {
                                        sans.push("…");
                                    }
                                    find(
                                        &mut r,
                                        FindingId::IngressHostNotInSan,
                                        &c.sha256_fingerprint,
                                        &o.location,
                                        format!(
                                            "host {h} is not covered by the certificate in Secret {}/{secret} (SANs: {})",
                                            o.namespace,
                                            if sans.is_empty() { "none".to_string() } else { sans.join(", ") }
                                        ),
                                    );
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            Held::Certificate {
                secret_name,
                issuer_name,
                issuer_kind,
                ready,
                renewal_time,
                not_after,
                failed_attempts,
            } => {
                let labels: Arc<[Box<str>]> = Arc::new([
                    o.namespace.clone(),
                    o.name.clone(),
                    issuer_name.clone(),
                    issuer_kind.clone(),
                ]);
                push_series(
                    &mut r,
                    ObjectMetric::CertManagerCertificateReady,
                    labels.clone(),
                    if ready.status == CondStatus::True {
                        1.0
                    } else {
                        0.0
                    },
                );
                if let Some(t) = renewal_time {
                    push_series(
                        &mut r,
                        ObjectMetric::CertManagerCertificateRenewal,
                        labels.clone(),
                        *t as f64,
                    );
                }
                if let Some(t) = not_after {
                    push_series(
                        &mut r,
                        ObjectMetric::CertManagerCertificateExpiration,
                        labels,
                        *t as f64,
                    );
                }
                if ready.status == CondStatus::False {
                    find(
                        &mut r,
                        FindingId::CertManagerNotReady,
                        "",
                        &o.location,
                        format!(
                            "Ready=False ({}): {}",
                            if ready.reason.is_empty() {
                                "no reason"
                            } else {
                                &ready.reason
                            },
                            ready.message
                        ),
                    );
                }
                if let Some(t) = renewal_time {
                    if now - t > RENEWAL_GRACE_SECONDS {
                        find(
                            &mut r,
                            FindingId::CertManagerRenewalOverdue,
                            "",
                            &o.location,
                            format!(
                                "status.renewalTime {} passed {} ago and the certificate was not renewed{}",
                                fmt_time(*t),
                                ago(now - t),
                                not_after.map_or(String::new(), |na| format!(" (notAfter {})", fmt_time(na)))
                            ),
                        );
                    }
                }
                if *failed_attempts > 0 {
                    find(
                        &mut r,
                        FindingId::CertManagerIssuanceFailed,
                        "",
                        &o.location,
                        format!("status.failedIssuanceAttempts is {failed_attempts}"),
                    );
                }
                if !secret_name.is_empty() {
                    match leaf_of(&o.namespace, secret_name) {
                        Leaf::Cert(c) => {
                            if let Some(na) = not_after {
                                if c.not_after != *na {
                                    find(
                                        &mut r,
                                        FindingId::CertManagerSecretMismatch,
                                        &c.sha256_fingerprint,
                                        &o.location,
                                        format!(
                                            "Secret {}/{secret_name} holds a certificate with notAfter {}, status.notAfter is {}",
                                            o.namespace,
                                            fmt_time(c.not_after),
                                            fmt_time(*na)
                                        ),
                                    );
                                }
                            }
                        }
                        Leaf::Absent | Leaf::NoTlsCrt
                            if secrets_complete && ready.status == CondStatus::True =>
                        {
                            find(
                                &mut r,
                                FindingId::CertManagerSecretMismatch,
                                "",
                                &o.location,
                                format!(
                                    "Ready=True but Secret {}/{secret_name} does not exist or has no tls.crt",
                                    o.namespace
                                ),
                            )
                        }
                        _ => {}
                    }
                }
            }
            Held::FailedRequest { certificate, why } => find(
                &mut r,
                FindingId::CertManagerIssuanceFailed,
                "",
                &o.location,
                if certificate.is_empty() {
                    format!("CertificateRequest failed: {why}")
                } else {
                    format!("CertificateRequest of Certificate {certificate} failed: {why}")
                },
            ),
            Held::Issuer { ready } => {
                if ready.status == CondStatus::False {
                    find(
                        &mut r,
                        FindingId::CertManagerIssuerNotReady,
                        "",
                        &o.location,
                        format!(
                            "Ready=False ({}): {}",
                            if ready.reason.is_empty() {
                                "no reason"
                            } else {
                                &ready.reason
                            },
                            ready.message
                        ),
                    );
                }
            }
        }
    }
    if capped {
        warn!("kubernetes health: more than {MAX_SERIES_PER_FAMILY} series in one object metric family; the rest is left out");
    }
    (r.findings, r.series)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rest(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn ingress_tls_is_reduced_and_bounded() {
        let hosts: Vec<String> = (0..500).map(|i| format!("h{i}.example.com")).collect();
        let r = rest(json!({"spec": {"tls": [
            {"hosts": ["Web.Example.com", "web.example.com", "x".repeat(300), 5], "secretName": "web-tls"},
            {"hosts": hosts},
            {"secretName": 7}
        ]}}));
        let Some(Held::Ingress { tls }) = ingress(&r) else {
            panic!("no tls")
        };
        assert_eq!(tls.len(), 3);
        assert_eq!(&*tls[0].hosts, &["web.example.com".into()] as &[Box<str>]);
        assert_eq!(tls[0].secret_name.as_deref(), Some("web-tls"));
        assert_eq!(tls[1].hosts.len(), MAX_HOSTS_PER_TLS);
        assert_eq!(tls[2].secret_name, None);
        assert!(ingress(&rest(json!({"spec": {"rules": []}}))).is_none());
        assert!(ingress(&rest(json!({"spec": "garbage"}))).is_none());
    }

    #[test]
    fn certificate_status_follows_the_cert_manager_schema() {
        let r = rest(json!({
            "spec": {"secretName": "web-tls", "issuerRef": {"name": "le", "kind": "ClusterIssuer", "group": "cert-manager.io"}},
            "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Failed", "message": "bad\nthing"}],
                        "renewalTime": "2026-01-01T00:00:00Z", "notAfter": "2026-02-01T00:00:00Z",
                        "failedIssuanceAttempts": 3}
        }));
        let Some(Held::Certificate {
            secret_name,
            issuer_kind,
            ready,
            renewal_time,
            not_after,
            failed_attempts,
            ..
        }) = certificate(&r)
        else {
            panic!()
        };
        assert_eq!(&*secret_name, "web-tls");
        assert_eq!(&*issuer_kind, "ClusterIssuer");
        assert_eq!(ready.status, CondStatus::False);
        assert_eq!(&*ready.message, "bad thing");
        assert_eq!(renewal_time, Some(1_767_225_600));
        assert_eq!(not_after, Some(1_769_904_000));
        assert_eq!(failed_attempts, 3);
        // Hostile shapes: no panic, defaults.
        let Some(Held::Certificate {
            issuer_kind,
            ready,
            renewal_time,
            ..
        }) = certificate(&rest(
            json!({"spec": [], "status": {"conditions": "x", "renewalTime": "soon"}}),
        ))
        else {
            panic!()
        };
        assert_eq!(&*issuer_kind, "Issuer");
        assert_eq!(ready.status, CondStatus::Absent);
        assert_eq!(renewal_time, None);
    }

    #[test]
    fn only_failed_certificate_requests_are_kept() {
        let meta = Default::default();
        let failed = rest(
            json!({"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Failed", "message": "ACME order failed"}]}}),
        );
        let pending = rest(
            json!({"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Pending"}]}}),
        );
        let denied = rest(
            json!({"status": {"conditions": [{"type": "Denied", "status": "True", "reason": "Policy"}]}}),
        );
        assert!(matches!(
            certificate_request(&meta, &failed),
            Some(Held::FailedRequest { .. })
        ));
        assert!(certificate_request(&meta, &pending).is_none());
        assert!(matches!(
            certificate_request(&meta, &denied),
            Some(Held::FailedRequest { .. })
        ));
        assert!(certificate_request(&meta, &rest(json!({}))).is_none());
    }
}
