//! A strict in-process fake Kubernetes API server (hyper, plain HTTP on 127.0.0.1)
//! for the Kubernetes source tests and benchmark.
//!
//! Serves LIST (`limit`, `continue`, `resourceVersion`, `labelSelector`,
//! `fieldSelector`) and WATCH (`watch=true`, `resourceVersion`,
//! `allowWatchBookmarks`, `timeoutSeconds`; ADDED/MODIFIED/DELETED/BOOKMARK/ERROR
//! events, `410 Gone` as an ERROR event for compacted resourceVersions) for
//! Secrets, ConfigMaps, Namespaces, the cluster-scoped caBundle/CSR kinds, Ingresses
//! and cert-manager's Certificate, CertificateRequest, Issuer and ClusterIssuer, both
//! cluster-wide and namespaced, with discovery documents for `networking.k8s.io/v1`
//! and `cert-manager.io/v1` (a group can be removed: then everything of it is 404). Unknown paths are 404, unknown query parameters or
//! selectors 400, forbidden scopes 403 with the API server's message. Every
//! request is logged. Faults (status codes, garbage bodies, ERROR events, dropped
//! streams, delays) can be injected per resource and verb, once or as an outage
//! (every request fails until it ends).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

/// (path prefix without namespace, plural, namespaced, kind, apiVersion)
const RESOURCES: &[(&str, &str, bool, &str, &str)] = &[
    ("/api/v1", "secrets", true, "Secret", "v1"),
    ("/api/v1", "configmaps", true, "ConfigMap", "v1"),
    ("/api/v1", "namespaces", false, "Namespace", "v1"),
    (
        "/apis/admissionregistration.k8s.io/v1",
        "validatingwebhookconfigurations",
        false,
        "ValidatingWebhookConfiguration",
        "admissionregistration.k8s.io/v1",
    ),
    (
        "/apis/admissionregistration.k8s.io/v1",
        "mutatingwebhookconfigurations",
        false,
        "MutatingWebhookConfiguration",
        "admissionregistration.k8s.io/v1",
    ),
    (
        "/apis/apiregistration.k8s.io/v1",
        "apiservices",
        false,
        "APIService",
        "apiregistration.k8s.io/v1",
    ),
    (
        "/apis/apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        false,
        "CustomResourceDefinition",
        "apiextensions.k8s.io/v1",
    ),
    (
        "/apis/certificates.k8s.io/v1",
        "certificatesigningrequests",
        false,
        "CertificateSigningRequest",
        "certificates.k8s.io/v1",
    ),
    (
        "/apis/networking.k8s.io/v1",
        "ingresses",
        true,
        "Ingress",
        "networking.k8s.io/v1",
    ),
    (
        "/apis/cert-manager.io/v1",
        "certificates",
        true,
        "Certificate",
        "cert-manager.io/v1",
    ),
    (
        "/apis/cert-manager.io/v1",
        "certificaterequests",
        true,
        "CertificateRequest",
        "cert-manager.io/v1",
    ),
    (
        "/apis/cert-manager.io/v1",
        "issuers",
        true,
        "Issuer",
        "cert-manager.io/v1",
    ),
    (
        "/apis/cert-manager.io/v1",
        "clusterissuers",
        false,
        "ClusterIssuer",
        "cert-manager.io/v1",
    ),
];

/// API groups whose discovery document (`GET /apis/<group>/<version>`) is
/// served, unless removed with [`FakeApiServer::remove_group`]: the ones of
/// the optional resources (Ingresses, cert-manager CRDs).
const DISCOVERY: &[&str] = &["networking.k8s.io/v1", "cert-manager.io/v1"];

/// Who may be refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Requests without a namespace.
    ClusterWide,
    /// Requests in this namespace.
    Namespace(String),
    /// Every request for the resource.
    Any,
}

/// An injected fault, consumed by the next matching request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this HTTP status (and a Status body).
    Status(u16),
    /// Answer 200 with a body that is not JSON.
    Garbage,
    /// WATCH only: send an ERROR event with this code, then keep streaming.
    ErrorEvent(u16),
    /// WATCH only: send a line of garbage JSON, then end the stream.
    GarbageEvent,
    /// WATCH only: end the stream at once.
    Drop,
    /// Wait this long before answering.
    Delay(Duration),
}

/// One logged request.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub query: String,
    /// `list`, `watch` or `other`.
    pub verb: String,
    pub resource: String,
    pub namespace: Option<String>,
    /// The `resourceVersion` parameter, if any.
    pub resource_version: Option<String>,
    pub continue_token: bool,
    pub status: u16,
}

#[derive(Debug, Clone)]
struct Ev {
    rv: u64,
    resource: String,
    type_: &'static str,
    object: Value,
}

#[derive(Default)]
struct State {
    rv: u64,
    /// (resource, namespace, name) -> object
    objects: BTreeMap<(String, String, String), Value>,
    events: VecDeque<Ev>,
    /// Watches from a resourceVersion below this get 410 Gone.
    compacted_below: u64,
    forbidden: Vec<(String, Scope)>,
    faults: Vec<(String, String, Fault)>,
    /// (resource, verb, status): every matching request fails until cleared.
    outages: Vec<(String, String, u16)>,
    log: Vec<Logged>,
    /// Group versions not installed: discovery and their resources are 404.
    absent_groups: Vec<String>,
}

/// The running fake server; stopped on drop.
pub struct FakeApiServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    tx: broadcast::Sender<Ev>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock(s: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    match s.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl FakeApiServer {
    /// Start on a free port of 127.0.0.1 (own runtime thread).
    pub fn start() -> FakeApiServer {
        let state = Arc::new(Mutex::new(State {
            rv: 100,
            ..State::default()
        }));
        let (tx, _) = broadcast::channel(65_536);
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let btx = tx.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                addr_tx.send(listener.local_addr().expect("addr")).expect("send addr");
                let mut stop_rx = stop_rx;
                loop {
                    tokio::select! {
                        _ = &mut stop_rx => break,
                        acc = listener.accept() => {
                            let Ok((stream, _)) = acc else { continue };
                            let st = st.clone();
                            let btx = btx.clone();
                            tokio::spawn(async move {
                                let io = hyper_util::rt::TokioIo::new(stream);
                                let svc = service_fn(move |req| handle(req, st.clone(), btx.clone()));
                                let _ = hyper::server::conn::http1::Builder::new()
                                    .serve_connection(io, svc)
                                    .await;
                            });
                        }
                    }
                }
            });
            rt.shutdown_timeout(Duration::from_millis(100));
        });
        let addr = addr_rx.recv().expect("fake apiserver address");
        FakeApiServer {
            addr,
            state,
            tx,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Write a kubeconfig pointing at this server into `dir`; returns its path.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let p = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{}\n\
             users:\n- name: fake\n  user:\n    token: fake-token\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n\
             - name: other\n  context:\n    cluster: fake\n    user: fake\n    namespace: elsewhere\ncurrent-context: fake\n",
            self.addr
        );
        std::fs::write(&p, text).expect("write kubeconfig");
        p
    }

    fn mutate(&self, resource: &str, ns: &str, name: &str, obj: Option<Value>) {
        let mut g = lock(&self.state);
        g.rv += 1;
        let rv = g.rv;
        let key = (resource.to_string(), ns.to_string(), name.to_string());
        let (type_, object) = match obj {
            Some(mut o) => {
                let meta = o
                    .as_object_mut()
                    .expect("object")
                    .entry("metadata")
                    .or_insert_with(|| json!({}));
                meta["name"] = json!(name);
                if !ns.is_empty() {
                    meta["namespace"] = json!(ns);
                }
                meta["resourceVersion"] = json!(rv.to_string());
                if meta.get("uid").is_none() {
                    meta["uid"] = json!(format!("uid-{resource}-{ns}-{name}"));
                }
                let t = if g.objects.contains_key(&key) {
                    "MODIFIED"
                } else {
                    "ADDED"
                };
                g.objects.insert(key, o.clone());
                (t, o)
            }
            None => {
                let Some(mut o) = g.objects.remove(&key) else {
                    return;
                };
                o["metadata"]["resourceVersion"] = json!(rv.to_string());
                ("DELETED", o)
            }
        };
        let ev = Ev {
            rv,
            resource: resource.to_string(),
            type_,
            object,
        };
        g.events.push_back(ev.clone());
        while g.events.len() > 100_000 {
            g.events.pop_front();
        }
        let _ = self.tx.send(ev);
    }

    /// Create or replace an object (`metadata.name`/`namespace`/`resourceVersion` are set).
    pub fn apply(&self, resource: &str, ns: &str, name: &str, obj: Value) {
        self.mutate(resource, ns, name, Some(obj));
    }

    /// Delete an object.
    pub fn delete(&self, resource: &str, ns: &str, name: &str) {
        self.mutate(resource, ns, name, None);
    }

    /// Insert many objects without watch events (initial state; fast).
    pub fn preload(&self, resource: &str, objs: Vec<(String, String, Value)>) {
        let mut g = lock(&self.state);
        for (ns, name, mut o) in objs {
            g.rv += 1;
            let rv = g.rv;
            o["metadata"]["name"] = json!(name);
            if !ns.is_empty() {
                o["metadata"]["namespace"] = json!(ns);
            }
            o["metadata"]["resourceVersion"] = json!(rv.to_string());
            g.objects.insert((resource.to_string(), ns, name), o);
        }
        g.compacted_below = g.rv;
    }

    /// Forget the event history: watches from older resourceVersions get 410 Gone,
    /// and open watches are told so (ERROR 410 event) and closed.
    pub fn compact(&self) {
        let mut g = lock(&self.state);
        g.rv += 1;
        g.compacted_below = g.rv;
        g.events.clear();
        let _ = self.tx.send(Ev {
            rv: g.rv,
            resource: "*".into(),
            type_: "COMPACT",
            object: Value::Null,
        });
    }

    pub fn forbid(&self, resource: &str, scope: Scope) {
        lock(&self.state)
            .forbidden
            .push((resource.to_string(), scope));
    }

    /// Uninstall an API group version (e.g. `cert-manager.io/v1`: no CRDs):
    /// its discovery document and resources answer 404.
    pub fn remove_group(&self, group_version: &str) {
        lock(&self.state)
            .absent_groups
            .push(group_version.to_string());
    }

    pub fn allow_all(&self) {
        lock(&self.state).forbidden.clear();
    }

    /// Inject a fault for the next `verb` (`list` or `watch`) request on `resource`.
    pub fn fault(&self, resource: &str, verb: &str, f: Fault) {
        lock(&self.state)
            .faults
            .push((resource.to_string(), verb.to_string(), f));
    }

    /// Answer every `verb` (`list` or `watch`) request on `resource` with
    /// `code` (a Status body) until [`FakeApiServer::end_outages`].
    pub fn outage(&self, resource: &str, verb: &str, code: u16) {
        lock(&self.state)
            .outages
            .push((resource.to_string(), verb.to_string(), code));
    }

    /// End every outage.
    pub fn end_outages(&self) {
        lock(&self.state).outages.clear();
    }

    pub fn log(&self) -> Vec<Logged> {
        lock(&self.state).log.clone()
    }

    pub fn clear_log(&self) {
        lock(&self.state).log.clear();
    }

    pub fn resource_version(&self) -> u64 {
        lock(&self.state).rv
    }
}

type Body = BoxBody<Bytes, Infallible>;

fn full(status: u16, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert("content-type", "application/json".parse().expect("header"));
    r
}

fn status_json(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

fn status(code: u16, reason: &str, message: &str) -> Response<Body> {
    full(code, status_json(code, reason, message).to_string())
}

/// Parsed request target.
struct Target {
    resource: String,
    kind: &'static str,
    api_version: &'static str,
    namespace: Option<String>,
}

fn route(path: &str) -> Option<Target> {
    for (prefix, plural, namespaced, kind, api_version) in RESOURCES {
        let Some(rest) = path.strip_prefix(prefix) else {
            continue;
        };
        if rest == format!("/{plural}") {
            return Some(Target {
                resource: plural.to_string(),
                kind,
                api_version,
                namespace: None,
            });
        }
        if *namespaced {
            if let Some(r) = rest.strip_prefix("/namespaces/") {
                if let Some((ns, tail)) = r.split_once('/') {
                    if tail == *plural && !ns.is_empty() {
                        return Some(Target {
                            resource: plural.to_string(),
                            kind,
                            api_version,
                            namespace: Some(ns.to_string()),
                        });
                    }
                }
            }
        }
    }
    None
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match h {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A selector term.
#[derive(Debug, Clone)]
enum Term {
    Eq(String, String),
    Ne(String, String),
    Exists(String),
    NotExists(String),
}

fn parse_selector(s: &str, labels: bool) -> Result<Vec<Term>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part.contains(" in ") || part.contains(" notin ") || part.contains('(') {
            return Err(format!("unsupported selector term {part:?}"));
        }
        if let Some((k, v)) = part.split_once("!=") {
            out.push(Term::Ne(k.trim().into(), v.trim().into()));
        } else if let Some((k, v)) = part.split_once("==") {
            out.push(Term::Eq(k.trim().into(), v.trim().into()));
        } else if let Some((k, v)) = part.split_once('=') {
            out.push(Term::Eq(k.trim().into(), v.trim().into()));
        } else if labels {
            match part.strip_prefix('!') {
                Some(k) => out.push(Term::NotExists(k.trim().into())),
                None => out.push(Term::Exists(part.into())),
            }
        } else {
            return Err(format!("invalid field selector term {part:?}"));
        }
    }
    Ok(out)
}

fn field_value(resource: &str, obj: &Value, field: &str) -> Result<Option<String>, String> {
    let s = |v: &Value| v.as_str().map(str::to_string);
    match field {
        "metadata.name" => Ok(s(&obj["metadata"]["name"])),
        "metadata.namespace" => Ok(Some(s(&obj["metadata"]["namespace"]).unwrap_or_default())),
        "type" if resource == "secrets" => {
            Ok(Some(s(&obj["type"]).unwrap_or_else(|| "Opaque".into())))
        }
        other => Err(format!("field label not supported: {other}")),
    }
}

fn matches(resource: &str, obj: &Value, labels: &[Term], fields: &[Term]) -> Result<bool, String> {
    let lab = |k: &str| obj["metadata"]["labels"][k].as_str().map(str::to_string);
    for t in labels {
        let ok = match t {
            Term::Eq(k, v) => lab(k).as_deref() == Some(v.as_str()),
            Term::Ne(k, v) => lab(k).as_deref() != Some(v.as_str()),
            Term::Exists(k) => lab(k).is_some(),
            Term::NotExists(k) => lab(k).is_none(),
        };
        if !ok {
            return Ok(false);
        }
    }
    for t in fields {
        let ok = match t {
            Term::Eq(k, v) => field_value(resource, obj, k)?.as_deref() == Some(v.as_str()),
            Term::Ne(k, v) => field_value(resource, obj, k)?.as_deref() != Some(v.as_str()),
            _ => return Err("invalid field selector".into()),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    state: Arc<Mutex<State>>,
    tx: broadcast::Sender<Ev>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let method = req.method().as_str().to_string();
    let mut params: HashMap<String, String> = HashMap::new();
    let mut bad_param = None;
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let k = percent_decode(k);
        if !matches!(
            k.as_str(),
            "watch"
                | "resourceVersion"
                | "resourceVersionMatch"
                | "limit"
                | "continue"
                | "labelSelector"
                | "fieldSelector"
                | "allowWatchBookmarks"
                | "timeoutSeconds"
                | "sendInitialEvents"
        ) {
            bad_param = Some(k.clone());
        }
        params.insert(k, percent_decode(v));
    }
    let target = route(&path);
    let watch = matches!(params.get("watch").map(String::as_str), Some("true" | "1"));
    let verb = if target.is_none() || method != "GET" {
        "other"
    } else if watch {
        "watch"
    } else {
        "list"
    };
    let mut log = Logged {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        verb: verb.to_string(),
        resource: target
            .as_ref()
            .map(|t| t.resource.clone())
            .unwrap_or_default(),
        namespace: target.as_ref().and_then(|t| t.namespace.clone()),
        resource_version: params.get("resourceVersion").cloned(),
        continue_token: params.contains_key("continue"),
        status: 200,
    };
    let resp = respond(
        &state, &tx, &path, target, verb, &method, &params, bad_param,
    )
    .await;
    log.status = resp.status().as_u16();
    lock(&state).log.push(log);
    Ok(resp)
}

/// An `APIResourceList` for a group version of [`RESOURCES`].
fn discovery(group_version: &str) -> Response<Body> {
    let prefix = format!("/apis/{group_version}");
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.0 == prefix)
        .map(|(_, plural, namespaced, kind, _)| {
            json!({"name": plural, "singularName": kind.to_ascii_lowercase(), "namespaced": namespaced,
                   "kind": kind, "verbs": ["get", "list", "watch"]})
        })
        .collect();
    full(
        200,
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
               "resources": resources})
        .to_string(),
    )
}

#[allow(clippy::too_many_arguments)]
async fn respond(
    state: &Arc<Mutex<State>>,
    tx: &broadcast::Sender<Ev>,
    path: &str,
    target: Option<Target>,
    verb: &str,
    method: &str,
    params: &HashMap<String, String>,
    bad_param: Option<String>,
) -> Response<Body> {
    let absent = lock(state).absent_groups.clone();
    let Some(t) = target else {
        if method == "GET" {
            if let Some(gv) = path.strip_prefix("/apis/") {
                if DISCOVERY.contains(&gv) && !absent.iter().any(|a| a == gv) {
                    return discovery(gv);
                }
            }
        }
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    if absent.iter().any(|a| a == t.api_version) {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    }
    if method != "GET" {
        return status(405, "MethodNotAllowed", "the fake API server is read-only");
    }
    if let Some(p) = bad_param {
        return status(400, "BadRequest", &format!("unknown query parameter {p:?}"));
    }
    // RBAC.
    {
        let g = lock(state);
        let denied = g.forbidden.iter().any(|(r, s)| {
            r == &t.resource
                && match s {
                    Scope::Any => true,
                    Scope::ClusterWide => t.namespace.is_none(),
                    Scope::Namespace(n) => t.namespace.as_deref() == Some(n.as_str()),
                }
        });
        if denied {
            let group = t.api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
            let scope = match &t.namespace {
                Some(n) => format!("in the namespace \"{n}\""),
                None => "at the cluster scope".to_string(),
            };
            return status(
                403,
                "Forbidden",
                &format!(
                    "{} is forbidden: User \"system:serviceaccount:monitoring:certvigil\" cannot {verb} resource \"{}\" in API group \"{group}\" {scope}",
                    t.resource, t.resource
                ),
            );
        }
    }
    // Outages.
    let outage = lock(state)
        .outages
        .iter()
        .find(|(r, v, _)| r == &t.resource && v == verb)
        .map(|o| o.2);
    if let Some(code) = outage {
        let reason = if code == 500 {
            "InternalError"
        } else {
            "Failure"
        };
        return status(code, reason, &format!("injected outage {code}"));
    }
    // Faults.
    let fault = {
        let mut g = lock(state);
        let pos = g
            .faults
            .iter()
            .position(|(r, v, _)| r == &t.resource && v == verb);
        pos.map(|p| g.faults.remove(p).2)
    };
    let mut fault = fault;
    if let Some(Fault::Delay(d)) = fault {
        tokio::time::sleep(d).await;
        fault = None;
    }
    match fault {
        Some(Fault::Status(code)) => {
            let reason = match code {
                429 => "TooManyRequests",
                500 => "InternalError",
                _ => "Failure",
            };
            return status(code, reason, &format!("injected fault {code}"));
        }
        Some(Fault::Garbage) => return full(200, "{\"kind\": \"SecretList\", \"items\": [garbage"),
        _ => {}
    }
    let labels = match parse_selector(
        params
            .get("labelSelector")
            .map(String::as_str)
            .unwrap_or(""),
        true,
    ) {
        Ok(l) => l,
        Err(e) => return status(400, "BadRequest", &e),
    };
    let fields = match parse_selector(
        params
            .get("fieldSelector")
            .map(String::as_str)
            .unwrap_or(""),
        false,
    ) {
        Ok(l) => l,
        Err(e) => return status(400, "BadRequest", &e),
    };
    // Validate field names up front (strict, like the real server).
    if let Err(e) = matches(&t.resource, &json!({"metadata": {}}), &[], &fields) {
        return status(400, "BadRequest", &e);
    }
    if verb == "list" {
        list(state, &t, params, &labels, &fields)
    } else {
        watch(state, tx, t, params, labels, fields, fault)
    }
}

fn list(
    state: &Arc<Mutex<State>>,
    t: &Target,
    params: &HashMap<String, String>,
    labels: &[Term],
    fields: &[Term],
) -> Response<Body> {
    let limit: usize = match params.get("limit").map(|l| l.parse::<usize>()) {
        None => usize::MAX,
        Some(Ok(0)) => usize::MAX,
        Some(Ok(n)) => n,
        Some(Err(_)) => return status(400, "BadRequest", "invalid limit"),
    };
    let g = lock(state);
    // continue = "<rv>:<offset>"; a token older than the compaction is 410.
    let (list_rv, offset) = match params.get("continue") {
        None => (g.rv, 0usize),
        Some(c) => {
            let Some((rv, off)) = c.split_once(':') else {
                return status(400, "BadRequest", "invalid continue token");
            };
            let (Ok(rv), Ok(off)) = (rv.parse::<u64>(), off.parse::<usize>()) else {
                return status(400, "BadRequest", "invalid continue token");
            };
            if rv < g.compacted_below {
                return status(410, "Expired", "The provided continue parameter is too old");
            }
            (rv, off)
        }
    };
    let mut items = Vec::new();
    let mut idx = 0usize;
    let mut more = false;
    for ((r, ns, _), o) in g.objects.iter() {
        if r != &t.resource {
            continue;
        }
        if let Some(want) = &t.namespace {
            if ns != want {
                continue;
            }
        }
        match matches(&t.resource, o, labels, fields) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => return status(400, "BadRequest", &e),
        }
        if idx >= offset {
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(o.clone());
        }
        idx += 1;
    }
    let next = offset + items.len();
    let mut meta = json!({"resourceVersion": list_rv.to_string()});
    if more {
        meta["continue"] = json!(format!("{list_rv}:{next}"));
    }
    let body = json!({"kind": format!("{}List", t.kind), "apiVersion": t.api_version,
                      "metadata": meta, "items": items});
    full(200, body.to_string())
}

fn watch(
    state: &Arc<Mutex<State>>,
    tx: &broadcast::Sender<Ev>,
    t: Target,
    params: &HashMap<String, String>,
    labels: Vec<Term>,
    fields: Vec<Term>,
    fault: Option<Fault>,
) -> Response<Body> {
    let bookmarks = params.get("allowWatchBookmarks").map(String::as_str) == Some("true");
    let timeout = params
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(1800);
    let from: Option<u64> = match params.get("resourceVersion").map(String::as_str) {
        None | Some("") | Some("0") => None,
        Some(v) => match v.parse() {
            Ok(n) => Some(n),
            Err(_) => return status(400, "BadRequest", "invalid resourceVersion"),
        },
    };
    let (out_tx, out_rx) = mpsc::channel::<Bytes>(1024);
    let mut rx = tx.subscribe();
    let (initial, gone, start_rv) = {
        let g = lock(state);
        let in_scope = |ev_ns: &str| t.namespace.as_deref().is_none_or(|n| n == ev_ns);
        match from {
            Some(rv) if rv < g.compacted_below => (Vec::new(), true, rv),
            Some(rv) => {
                let evs: Vec<Ev> = g
                    .events
                    .iter()
                    .filter(|e| e.rv > rv && e.resource == t.resource)
                    .filter(|e| in_scope(e.object["metadata"]["namespace"].as_str().unwrap_or("")))
                    .cloned()
                    .collect();
                (evs, false, g.rv.max(rv))
            }
            None => {
                let evs = g
                    .objects
                    .iter()
                    .filter(|((r, ns, _), _)| r == &t.resource && in_scope(ns))
                    .map(|(_, o)| Ev {
                        rv: g.rv,
                        resource: t.resource.clone(),
                        type_: "ADDED",
                        object: o.clone(),
                    })
                    .collect();
                (evs, false, g.rv)
            }
        }
    };
    let resource = t.resource.clone();
    let kind = t.kind;
    let api_version = t.api_version;
    let namespace = t.namespace.clone();
    let mut last_rv = start_rv;
    tokio::spawn(async move {
        let send = |v: Value| {
            let mut line = v.to_string();
            line.push('\n');
            Bytes::from(line)
        };
        if gone {
            let _ = out_tx
                .send(send(json!({"type": "ERROR", "object": status_json(410, "Expired", "too old resource version")})))
                .await;
            return;
        }
        match fault {
            Some(Fault::Drop) => return,
            Some(Fault::GarbageEvent) => {
                let _ = out_tx
                    .send(Bytes::from_static(
                        b"{\"type\": \"ADDED\", \"object\": {garbage\n",
                    ))
                    .await;
                return;
            }
            Some(Fault::ErrorEvent(code)) => {
                let _ = out_tx
                    .send(send(json!({"type": "ERROR", "object": status_json(code, "InternalError", "injected error event")})))
                    .await;
            }
            _ => {}
        }
        let filter = |e: &Ev| -> bool {
            e.resource == resource
                && namespace
                    .as_deref()
                    .is_none_or(|n| e.object["metadata"]["namespace"].as_str() == Some(n))
        };
        let render = |e: &Ev| -> Option<Value> {
            // Selector changes become ADDED/DELETED like the real watch cache does;
            // keep it simple: objects that do not match are skipped.
            match matches(&e.resource, &e.object, &labels, &fields) {
                Ok(true) => Some(json!({"type": e.type_, "object": e.object})),
                _ => None,
            }
        };
        for e in &initial {
            if let Some(v) = render(e) {
                if out_tx.send(send(v)).await.is_err() {
                    return;
                }
            }
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                _ = tick.tick(), if bookmarks => {
                    let bm = json!({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": api_version,
                                    "metadata": {"resourceVersion": last_rv.to_string()}}});
                    if out_tx.send(send(bm)).await.is_err() { return; }
                }
                ev = rx.recv() => {
                    match ev {
                        Ok(e) if e.type_ == "COMPACT" => {
                            let _ = out_tx.send(send(json!({"type": "ERROR", "object": status_json(410, "Expired", "too old resource version")}))).await;
                            return;
                        }
                        Ok(e) => {
                            if e.rv <= start_rv {
                                continue; // already in the replayed history
                            }
                            last_rv = last_rv.max(e.rv);
                            if !filter(&e) { continue; }
                            if let Some(v) = render(&e) {
                                if out_tx.send(send(v)).await.is_err() { return; }
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            let _ = out_tx.send(send(json!({"type": "ERROR", "object": status_json(410, "Expired", "watcher lagged")}))).await;
                            return;
                        }
                        Err(_) => return,
                    }
                }
            }
        }
    });
    let stream = futures::stream::unfold(out_rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let mut r = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    r.headers_mut()
        .insert("content-type", "application/json".parse().expect("header"));
    r
}
