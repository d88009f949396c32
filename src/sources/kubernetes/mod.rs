//! The Kubernetes source: TLS (and other configured) Secrets, ConfigMaps, the
//! caBundles of admission webhooks / APIServices / CRD conversion webhooks, and
//! issued CertificateSigningRequests.
//!
//! Watch, not poll: every resource has one kube-runtime `watcher` (paginated LIST
//! with `limit`/`continue`, then WATCH with bookmarks, re-LIST after `410 Gone`,
//! retries with backoff) running in a background task that keeps a [`store::Store`]
//! of per-object summaries. `scan` only reads that store, so each scan costs no API
//! request; unchanged objects (same resourceVersion) are `Content::Unchanged`.
//! Watch events fire the scraper's rescan signal ([`Source::attach_rescan`]) so
//! the exporter rescans within `kubernetes.debounce`.
//!
//! One [`KubeSource`] per resource family (`<name>-secrets`, `<name>-configmaps`,
//! `<name>-cabundles`, `<name>-csrs`), so `x509_source_up` and
//! `x509_source_errors_total` are per resource kind. They share one client.

pub mod config;
pub mod extract;
pub mod health;
pub mod resources;
pub mod store;

use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, Client};
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;
use tracing::{debug, info};

use crate::model::{ErrorEntry, Failure, Reason, SourceKind, SourceRef, TransportReason};
use crate::parse::ParseOptions;
use crate::sources::{BoxFuture, RescanSignal, ScanCtx, Source, SourceOutput};
use config::{KubeEnabled, KubernetesConfig};

use extract::{Ctx, Extracted};
use store::{Store, Summary};

/// How long the first scan waits for the initial LISTs (the scraper's
/// `scan.source_timeout` still applies around it).
pub const INITIAL_SYNC_WAIT: Duration = Duration::from_secs(90);

/// Path of the in-cluster service account token.
const SA_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Whether `enabled: auto` turns the source on: a configured kubeconfig, a
/// `KUBECONFIG` variable, or an in-cluster service account.
pub fn auto_available(cfg: &KubernetesConfig) -> bool {
    if cfg.kubeconfig.is_some() {
        return true;
    }
    if std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty()) {
        return true;
    }
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() && Path::new(SA_TOKEN).exists()
}

/// The resource families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Secrets,
    ConfigMaps,
    CaBundles,
    Csrs,
}

impl Family {
    fn kind(self) -> SourceKind {
        match self {
            Family::Secrets => SourceKind::KubernetesSecret,
            Family::ConfigMaps => SourceKind::KubernetesConfigmap,
            Family::CaBundles => SourceKind::KubernetesCabundle,
            Family::Csrs => SourceKind::KubernetesCsr,
        }
    }
    /// The API resources this family's watchers watch.
    fn resources(self, cfg: &KubernetesConfig) -> Vec<&'static str> {
        match self {
            Family::Secrets => vec!["secrets"],
            Family::ConfigMaps => vec!["configmaps"],
            Family::CaBundles => cfg
                .cabundles
                .resources
                .iter()
                .map(|r| cabundle_resource(r))
                .collect(),
            Family::Csrs => vec!["certificatesigningrequests"],
        }
    }
    fn suffix(self) -> &'static str {
        match self {
            Family::Secrets => "secrets",
            Family::ConfigMaps => "configmaps",
            Family::CaBundles => "cabundles",
            Family::Csrs => "csrs",
        }
    }
}

/// The static name of a configured caBundle resource (validated upstream).
fn cabundle_resource(r: &str) -> &'static str {
    match r {
        "validatingwebhookconfigurations" => "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations" => "mutatingwebhookconfigurations",
        "apiservices" => "apiservices",
        _ => "customresourcedefinitions",
    }
}

/// State shared by the sources of one configuration: the settings and the client.
struct Shared {
    cfg: KubernetesConfig,
    client: tokio::sync::Mutex<Option<Client>>,
}

impl Shared {
    async fn client(&self) -> Result<Client, ClientError> {
        let mut g = self.client.lock().await;
        if let Some(c) = g.as_ref() {
            return Ok(c.clone());
        }
        let c = make_client(&self.cfg).await?;
        *g = Some(c.clone());
        Ok(c)
    }
}

/// Why the Kubernetes client could not be built (the source then reports
/// `source_unavailable` with this message and retries on the next scan).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot read kubeconfig {path}: {message}")]
    ReadKubeconfig { path: String, message: String },
    #[error("kubeconfig {path}: {message}")]
    Kubeconfig { path: String, message: String },
    #[error("KUBECONFIG: {0}")]
    KubeconfigEnv(String),
    #[error("in-cluster configuration: {0}")]
    InCluster(String),
    #[error("no in-cluster environment and no usable kubeconfig: {0}")]
    NoConfig(String),
    #[error("cannot build the Kubernetes client: {0}")]
    Build(String),
}

/// Build the client: `kubernetes.kubeconfig`, else `KUBECONFIG`, else in-cluster,
/// else `~/.kube/config`; `kubernetes.context` selects the context.
pub async fn make_client(cfg: &KubernetesConfig) -> Result<Client, ClientError> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let opts = KubeConfigOptions {
        context: cfg.context.clone(),
        cluster: None,
        user: None,
    };
    let config = if let Some(path) = &cfg.kubeconfig {
        let path = &std::path::PathBuf::from(crate::sources::glob::expand_tilde(path));
        let kc = Kubeconfig::read_from(path).map_err(|e| ClientError::ReadKubeconfig {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        kube::Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(|e| ClientError::Kubeconfig {
                path: path.display().to_string(),
                message: e.to_string(),
            })?
    } else if std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty()) {
        kube::Config::from_kubeconfig(&opts)
            .await
            .map_err(|e| ClientError::KubeconfigEnv(e.to_string()))?
    } else if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() && cfg.context.is_none() {
        kube::Config::incluster().map_err(|e| ClientError::InCluster(e.to_string()))?
    } else {
        kube::Config::from_kubeconfig(&opts)
            .await
            .map_err(|e| ClientError::NoConfig(e.to_string()))?
    };
    let mut config = config;
    config.connect_timeout = Some(Duration::from_secs(10));
    Client::try_from(config).map_err(|e| ClientError::Build(e.to_string()))
}

/// The sources of the `kubernetes:` section (none when it is off, or `auto` finds
/// no cluster).
pub fn build(cfg: &KubernetesConfig) -> Vec<Arc<dyn Source>> {
    match cfg.enabled {
        KubeEnabled::Off => return Vec::new(),
        KubeEnabled::Auto if !auto_available(cfg) => {
            debug!(
                "kubernetes source: no kubeconfig or in-cluster environment; off (enabled: auto)"
            );
            return Vec::new();
        }
        _ => {}
    }
    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        client: tokio::sync::Mutex::new(None),
    });
    let mut families = Vec::new();
    if cfg.secrets.enabled && !cfg.secrets.types.is_empty() {
        families.push(Family::Secrets);
    }
    if cfg.configmaps.enabled {
        families.push(Family::ConfigMaps);
    }
    let cluster_ok = !cfg.namespace_scoped;
    if cfg.cabundles.enabled && !cfg.cabundles.resources.is_empty() {
        if cluster_ok {
            families.push(Family::CaBundles);
        } else {
            info!("kubernetes source: namespace_scoped mode skips caBundles (cluster-scoped resources)");
        }
    }
    if cfg.csrs.enabled {
        if cluster_ok {
            families.push(Family::Csrs);
        } else {
            info!("kubernetes source: namespace_scoped mode skips CSRs (cluster-scoped resources)");
        }
    }
    families
        .into_iter()
        .map(|f| {
            Arc::new(KubeSource {
                resources: f.resources(cfg),
                family: f,
                name: format!("{}-{}", cfg.name, f.suffix()),
                shared: shared.clone(),
                opts: ParseOptions::default(),
                store: Arc::new(Store::default()),
                health: (f == Family::Secrets && health_options(cfg).any())
                    .then(|| Arc::new(health::HealthStore::default())),
                running: tokio::sync::Mutex::new(None),
                rescan: Arc::default(),
            }) as Arc<dyn Source>
        })
        .collect()
}

/// Which health checks (Ingresses, cert-manager) the configuration turns on.
fn health_options(cfg: &KubernetesConfig) -> health::HealthOptions {
    let tls = cfg
        .secrets
        .types
        .iter()
        .any(|t| t.type_ == "kubernetes.io/tls");
    health::HealthOptions {
        ingresses: tls && cfg.ingresses.enabled,
        cert_manager: tls && cfg.cert_manager.enabled,
    }
}

/// Background tasks of a source; aborted when the source is dropped (reload).
struct Running {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// One resource family of the Kubernetes source.
pub struct KubeSource {
    family: Family,
    /// The API resources its watchers watch (`x509_kube_*` pre-creation).
    resources: Vec<&'static str>,
    name: String,
    shared: Arc<Shared>,
    opts: ParseOptions,
    store: Arc<Store>,
    /// The Ingress / cert-manager checks (secrets family only).
    health: Option<Arc<health::HealthStore>>,
    running: tokio::sync::Mutex<Option<Running>>,
    /// The scraper's "rescan now" signal, once attached (serve only).
    rescan: Arc<std::sync::Mutex<Option<RescanSignal>>>,
}

impl KubeSource {
    /// The store (tests, benchmarks).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Start the watchers once. Errors: the client could not be built.
    async fn ensure_started(&self) -> Result<bool, ClientError> {
        let mut g = self.running.lock().await;
        if g.is_some() {
            return Ok(false);
        }
        let client = self.shared.client().await?;
        let mut tasks = self.spawn_watchers(client.clone());
        if let Some(hs) = &self.health {
            tasks.extend(self.spawn_health(client, hs.clone()));
        }
        // Debounce watch events into the scraper's rescan signal.
        let store = self.store.clone();
        let out = self.rescan.clone();
        let debounce = self.shared.cfg.debounce;
        tasks.push(tokio::spawn(async move {
            loop {
                store.dirty.notified().await;
                tokio::time::sleep(debounce).await;
                let signal = out.lock().ok().and_then(|g| g.clone());
                if let Some(signal) = signal {
                    signal.notify_one();
                }
            }
        }));
        *g = Some(Running { tasks });
        Ok(true)
    }

    fn spawn_watchers(&self, client: Client) -> Vec<JoinHandle<()>> {
        let cfg = &self.shared.cfg;
        let mut tasks = Vec::new();
        let base = |labels: Option<&String>| {
            let mut wc = watcher::Config::default().page_size(cfg.list_page_size);
            if let Some(l) = labels {
                wc = wc.labels(l);
            }
            wc
        };
        let ns_globs = cfg.namespaces.iter().any(|n| is_glob(n));
        // One cluster-wide watch unless `namespaces` lists names only.
        let cluster_wide = cfg.namespaces.is_empty() || ns_globs;
        // Cluster-wide watches leave excluded namespaces (names) out server-side too.
        let ns_fields = |fields: Option<String>| -> Option<String> {
            let mut parts: Vec<String> = fields.into_iter().collect();
            if cluster_wide {
                for ns in cfg.exclude_namespaces.iter().filter(|n| !is_glob(n)) {
                    parts.push(format!("metadata.namespace!={ns}"));
                }
            }
            (!parts.is_empty()).then(|| parts.join(","))
        };
        let ns_filter = ObjFilter {
            ns_include: if ns_globs {
                cfg.namespaces.clone()
            } else {
                Vec::new()
            },
            ns_exclude: cfg.exclude_namespaces.clone(),
            ..ObjFilter::default()
        };
        let namespaces: Vec<Option<String>> = if cluster_wide {
            vec![None]
        } else {
            cfg.namespaces
                .iter()
                .filter(|n| ns_filter.allows(Some(n), ""))
                .cloned()
                .map(Some)
                .collect()
        };
        let secrets_filter = Arc::new(ObjFilter {
            name_include: cfg.secrets.include.clone(),
            name_exclude: cfg.secrets.exclude.clone(),
            ..ns_filter.clone()
        });
        let configmaps_filter = Arc::new(ObjFilter {
            name_include: cfg.configmaps.include.clone(),
            name_exclude: cfg.configmaps.exclude.clone(),
            ..ns_filter.clone()
        });
        let scope = |ns: &Option<String>| match ns {
            Some(n) => format!("in namespace {n}"),
            None => "in all namespaces".to_string(),
        };
        let name = self.name.clone();
        match self.family {
            Family::Secrets => {
                let types = Arc::new(cfg.secrets.types.clone());
                let expose = Arc::new(cfg.secrets.expose_labels.clone());
                for t in types.iter() {
                    for ns in &namespaces {
                        let mut wc = base(cfg.secrets.label_selector.as_ref());
                        if let Some(f) = ns_fields(Some(format!("type={}", t.type_))) {
                            wc = wc.fields(&f);
                        }
                        let api: Api<resources::Secret> = match ns {
                            Some(n) => Api::namespaced(client.clone(), n),
                            None => Api::all(client.clone()),
                        };
                        let target = Target {
                            resource: "secrets",
                            namespace: ns.clone(),
                            what: format!("secrets (type={}) {}", t.type_, scope(ns)),
                        };
                        let (types, expose, name) = (types.clone(), expose.clone(), name.clone());
                        let max = cfg.max_object_size as usize;
                        tasks.push(
                            self.spawn(api, wc, target, secrets_filter.clone(), move |o| {
                                extract::secret(
                                    &Ctx {
                                        source_name: &name,
                                        max_size: max,
                                    },
                                    o,
                                    &types,
                                    &expose,
                                )
                            }),
                        );
                    }
                }
            }
            Family::ConfigMaps => {
                let cm = Arc::new(cfg.configmaps.clone());
                for ns in &namespaces {
                    let mut wc = base(cfg.configmaps.label_selector.as_ref());
                    if let Some(f) = ns_fields(None) {
                        wc = wc.fields(&f);
                    }
                    let api: Api<resources::ConfigMap> = match ns {
                        Some(n) => Api::namespaced(client.clone(), n),
                        None => Api::all(client.clone()),
                    };
                    let target = Target {
                        resource: "configmaps",
                        namespace: ns.clone(),
                        what: format!("configmaps {}", scope(ns)),
                    };
                    let (cm, name) = (cm.clone(), name.clone());
                    let max = cfg.max_object_size as usize;
                    tasks.push(
                        self.spawn(api, wc, target, configmaps_filter.clone(), move |o| {
                            let mut x = extract::configmap(
                                &Ctx {
                                    source_name: &name,
                                    max_size: max,
                                },
                                o,
                                &cm,
                            );
                            extract::expose_labels(
                                &mut x,
                                &o.metadata,
                                "configmap_label_",
                                &cm.expose_labels,
                            );
                            x
                        }),
                    );
                }
            }
            Family::CaBundles => {
                let max = cfg.max_object_size as usize;
                let none = Arc::new(ObjFilter::default());
                let expose = Arc::new(cfg.cabundles.expose_labels.clone());
                for r in &cfg.cabundles.resources {
                    let wc = base(None);
                    let n = name.clone();
                    let expose = expose.clone();
                    let target = Target {
                        resource: cabundle_resource(r),
                        namespace: None,
                        what: r.clone(),
                    };
                    let task = match r.as_str() {
                        "validatingwebhookconfigurations" => self.spawn(
                            Api::<resources::ValidatingWebhookConfiguration>::all(client.clone()),
                            wc,
                            target,
                            none.clone(),
                            move |o| {
                                let mut x = extract::validating(
                                    &Ctx {
                                        source_name: &n,
                                        max_size: max,
                                    },
                                    o,
                                );
                                extract::expose_labels(
                                    &mut x,
                                    &o.metadata,
                                    "cabundle_label_",
                                    &expose,
                                );
                                x
                            },
                        ),
                        "mutatingwebhookconfigurations" => self.spawn(
                            Api::<resources::MutatingWebhookConfiguration>::all(client.clone()),
                            wc,
                            target,
                            none.clone(),
                            move |o| {
                                let mut x = extract::mutating(
                                    &Ctx {
                                        source_name: &n,
                                        max_size: max,
                                    },
                                    o,
                                );
                                extract::expose_labels(
                                    &mut x,
                                    &o.metadata,
                                    "cabundle_label_",
                                    &expose,
                                );
                                x
                            },
                        ),
                        "apiservices" => self.spawn(
                            Api::<resources::ApiService>::all(client.clone()),
                            wc,
                            target,
                            none.clone(),
                            move |o| {
                                let mut x = extract::apiservice(
                                    &Ctx {
                                        source_name: &n,
                                        max_size: max,
                                    },
                                    o,
                                );
                                extract::expose_labels(
                                    &mut x,
                                    &o.metadata,
                                    "cabundle_label_",
                                    &expose,
                                );
                                x
                            },
                        ),
                        _ => self.spawn(
                            Api::<resources::CustomResourceDefinition>::all(client.clone()),
                            wc,
                            target,
                            none.clone(),
                            move |o| {
                                let mut x = extract::crd(
                                    &Ctx {
                                        source_name: &n,
                                        max_size: max,
                                    },
                                    o,
                                );
                                extract::expose_labels(
                                    &mut x,
                                    &o.metadata,
                                    "cabundle_label_",
                                    &expose,
                                );
                                x
                            },
                        ),
                    };
                    tasks.push(task);
                }
            }
            Family::Csrs => {
                let wc = base(cfg.csrs.label_selector.as_ref());
                let max = cfg.max_object_size as usize;
                let target = Target {
                    resource: "certificatesigningrequests",
                    namespace: None,
                    what: "certificatesigningrequests".to_string(),
                };
                tasks.push(self.spawn(
                    Api::<resources::CertificateSigningRequest>::all(client),
                    wc,
                    target,
                    Arc::new(ObjFilter::default()),
                    move |o| {
                        extract::csr(
                            &Ctx {
                                source_name: &name,
                                max_size: max,
                            },
                            o,
                        )
                    },
                ));
            }
        }
        tasks
    }

    /// Start the Ingress / cert-manager watchers (health.rs), in the same
    /// namespaces as the Secrets.
    fn spawn_health(&self, client: Client, hs: Arc<health::HealthStore>) -> Vec<JoinHandle<()>> {
        let cfg = &self.shared.cfg;
        // The namespaces of the Secrets: names and globs as in spawn_watchers.
        let ns_globs = cfg.namespaces.iter().any(|n| is_glob(n));
        let cluster_wide = cfg.namespaces.is_empty() || ns_globs;
        let filter = Arc::new(ObjFilter {
            ns_include: if ns_globs {
                cfg.namespaces.clone()
            } else {
                Vec::new()
            },
            ns_exclude: cfg.exclude_namespaces.clone(),
            ..ObjFilter::default()
        });
        let scopes: Vec<health::Scope> = if cluster_wide {
            let fields: Vec<String> = cfg
                .exclude_namespaces
                .iter()
                .filter(|n| !is_glob(n))
                .map(|ns| format!("metadata.namespace!={ns}"))
                .collect();
            vec![health::Scope {
                namespace: None,
                fields: (!fields.is_empty()).then(|| fields.join(",")),
            }]
        } else {
            cfg.namespaces
                .iter()
                .filter(|n| filter.allows(Some(n), ""))
                .map(|n| health::Scope {
                    namespace: Some(n.clone()),
                    fields: None,
                })
                .collect()
        };
        let env = health::Env {
            client,
            health: hs,
            secrets: self.store.clone(),
            page_size: cfg.list_page_size,
            filter,
        };
        health::spawn(env, health_options(cfg), scopes, cfg.namespace_scoped)
    }

    /// Spawn one watcher feeding the store.
    fn spawn<K, F>(
        &self,
        api: Api<K>,
        wc: watcher::Config,
        target: Target,
        filter: Arc<ObjFilter>,
        extract: F,
    ) -> JoinHandle<()>
    where
        K: kube::Resource<DynamicType = ()>
            + Clone
            + DeserializeOwned
            + Debug
            + Send
            + Sync
            + 'static,
        F: Fn(&K) -> Extracted + Send + Sync + 'static,
    {
        let store = self.store.clone();
        let owner = store.add_watcher(target.what.clone());
        let opts = self.opts.clone();
        // `secrets.leaf_only`: only index 0 (the leaf) of each key's bundle.
        let leaf_only = self.family == Family::Secrets && self.shared.cfg.secrets.leaf_only;
        let summarize = move |x: Extracted| {
            let mut s = Summary::parse(x, &opts);
            if leaf_only && s.certs.iter().any(|c| c.1 != 0) {
                s.certs = s.certs.iter().filter(|c| c.1 == 0).cloned().collect();
            }
            s
        };
        tokio::spawn(async move {
            let version_of =
                |o: &K| -> String { o.meta().resource_version.clone().unwrap_or_default() };
            let key_of = |o: &K| {
                let m = o.meta();
                match &m.namespace {
                    Some(ns) => format!("{ns}/{}", m.name.as_deref().unwrap_or_default()),
                    None => format!("{}/{}", K::kind(&()), m.name.as_deref().unwrap_or_default()),
                }
            };
            let excluded = |o: &K| {
                let m = o.meta();
                !filter.allows(
                    m.namespace.as_deref(),
                    m.name.as_deref().unwrap_or_default(),
                )
            };
            let mut stream = watcher::watcher(api, wc).default_backoff().boxed();
            while let Some(ev) = stream.next().await {
                match ev {
                    Ok(Event::Init) => {
                        debug!(target = %target.what, "LIST started");
                        if store.was_synced(owner) {
                            store.record_transport(
                                target.resource,
                                None,
                                format!("re-listing {} (watch expired or restarted)", target.what),
                            );
                        }
                        store.begin_list(owner);
                    }
                    Ok(Event::InitApply(o)) | Ok(Event::Apply(o)) if excluded(&o) => {
                        store.upsert(owner, key_of(&o), "", Summary::default(), false);
                    }
                    Ok(Event::InitApply(o)) => {
                        let (key, v) = (key_of(&o), version_of(&o));
                        if !store.current(owner, &key, &v, false) {
                            let x = summarize(extract(&o));
                            store.upsert(owner, key, &v, x, false);
                        }
                    }
                    Ok(Event::InitDone) => {
                        debug!(target = %target.what, "LIST complete; watching");
                        store.end_list(owner);
                    }
                    Ok(Event::Apply(o)) => {
                        let (key, v) = (key_of(&o), version_of(&o));
                        if !store.current(owner, &key, &v, true) {
                            let x = summarize(extract(&o));
                            store.upsert(owner, key, &v, x, true);
                        }
                    }
                    Ok(Event::Delete(o)) => store.remove(owner, &key_of(&o)),
                    Err(e) => match classify(&e, &target) {
                        None => {
                            info!(target = %target.what, "watch expired (410 Gone): re-listing")
                        }
                        Some(Failure {
                            reason,
                            message: msg,
                        }) => {
                            // Logged (and counted) once per scan as an event of the
                            // scraper (events::emit_transport), not here.
                            debug!(target = %target.what, reason = %reason, "{msg}");
                            if let Some(t) = transport_reason(&e) {
                                store.record_transport(target.resource, Some(t), msg.clone());
                            }
                            store.set_error(owner, reason, msg);
                        }
                    },
                }
            }
        })
    }
}

/// Whether a namespace or object name pattern is a shell glob.
fn is_glob(p: &str) -> bool {
    p.bytes().any(|b| b"*?[".contains(&b))
}

fn glob_matches(pattern: &str, name: &str) -> bool {
    crate::sources::glob::component_matches(pattern.as_bytes(), name.as_bytes())
}

/// Which objects a watcher keeps (client-side; server-side selectors already
/// left out what they can): namespace and object name include/exclude lists of
/// names or shell globs (`team-*`). Empty include lists allow everything.
#[derive(Debug, Clone, Default)]
pub struct ObjFilter {
    pub ns_include: Vec<String>,
    pub ns_exclude: Vec<String>,
    pub name_include: Vec<String>,
    pub name_exclude: Vec<String>,
}

impl ObjFilter {
    /// Whether an object named `name` in namespace `ns` (None: cluster-scoped)
    /// is kept (`name` "" checks the namespace only).
    pub fn allows(&self, ns: Option<&str>, name: &str) -> bool {
        let any = |pats: &[String], v: &str| pats.iter().any(|p| glob_matches(p, v));
        if let Some(ns) = ns {
            if !self.ns_include.is_empty() && !any(&self.ns_include, ns) {
                return false;
            }
            if any(&self.ns_exclude, ns) {
                return false;
            }
        }
        if name.is_empty() {
            return true;
        }
        (self.name_include.is_empty() || any(&self.name_include, name))
            && !any(&self.name_exclude, name)
    }
}

/// What one watcher watches (for error messages).
#[derive(Debug, Clone)]
struct Target {
    resource: &'static str,
    namespace: Option<String>,
    what: String,
}

fn api_group(resource: &str) -> &'static str {
    match resource {
        "secrets" | "configmaps" | "namespaces" => "\"\" (core)",
        "validatingwebhookconfigurations" | "mutatingwebhookconfigurations" => {
            "admissionregistration.k8s.io"
        }
        "apiservices" => "apiregistration.k8s.io",
        "customresourcedefinitions" => "apiextensions.k8s.io",
        _ => "certificates.k8s.io",
    }
}

/// The transport reason of a watcher error (`x509_kube_transport_errors_total`);
/// `None` for the expected `410 Gone` (a resync, counted as such).
fn transport_reason(e: &watcher::Error) -> Option<TransportReason> {
    match e {
        watcher::Error::InitialListFailed(_) | watcher::Error::NoResourceVersion => {
            Some(TransportReason::ListFailed)
        }
        watcher::Error::WatchStartFailed(kube::Error::Api(s)) if s.code == 410 => None,
        watcher::Error::WatchStartFailed(_) => Some(TransportReason::WatchStartFailed),
        watcher::Error::WatchError(s) if s.code == 410 => None,
        watcher::Error::WatchError(_) => Some(TransportReason::WatchErrorEvent),
        watcher::Error::WatchFailed(_) => Some(TransportReason::WatchFlapped),
    }
}

/// Map a watcher error onto a bounded reason and a clear message; `None` for the
/// expected `410 Gone` (the watcher re-lists on its own).
fn classify(e: &watcher::Error, t: &Target) -> Option<Failure> {
    let (verb, err) = match e {
        watcher::Error::InitialListFailed(err) => ("list", err),
        watcher::Error::WatchStartFailed(err) => ("watch", err),
        watcher::Error::WatchFailed(err) => ("watch", err),
        watcher::Error::WatchError(status) => {
            return status_reason(status.code, &status.message, "watch", t);
        }
        watcher::Error::NoResourceVersion => {
            return Some(Failure::new(
                Reason::DecodeFailed,
                "API response without metadata.resourceVersion".to_string(),
            ))
        }
    };
    match err {
        kube::Error::Api(status) => status_reason(status.code, &status.message, verb, t),
        kube::Error::SerdeError(se) => Some(Failure::new(
            Reason::DecodeFailed,
            format!("{verb} {}: undecodable API response: {se}", t.resource),
        )),
        kube::Error::ReadEvents(io) => Some(Failure::new(
            Reason::ApiError,
            format!("{verb} {}: watch stream broke: {io}", t.resource),
        )),
        other => Some(Failure::new(
            Reason::ApiError,
            format!("{verb} {}: {other}", t.resource),
        )),
    }
}

fn status_reason(code: u16, message: &str, verb: &str, t: &Target) -> Option<Failure> {
    let msg: String = message.chars().take(200).collect();
    let scope = match &t.namespace {
        Some(ns) => format!("in namespace {ns:?} (a Role suffices)"),
        None => "cluster-wide (needs a ClusterRole)".to_string(),
    };
    match code {
        410 => None,
        401 => Some(Failure::new(
            Reason::PermissionDenied,
            format!("{verb} {}: 401 Unauthorized: the API server rejected the credentials: {msg}", t.resource),
        )),
        403 => Some(Failure::new(
            Reason::PermissionDenied,
            format!(
                "403 Forbidden: missing RBAC permission: verb {verb:?} on resource {:?} (API group {}) {scope}; \
                 grant get, list, watch (see deploy/kubernetes/): {msg}",
                t.resource,
                api_group(t.resource)
            ),
        )),
        404 => Some(Failure::new(
            Reason::NotFound,
            format!("{verb} {}: 404: resource not served by this API server: {msg}", t.resource),
        )),
        429 => Some(Failure::new(
            Reason::ApiError,
            format!("{verb} {}: 429 Too Many Requests (retrying with backoff): {msg}", t.resource),
        )),
        c => Some(Failure::new(
            Reason::ApiError,
            format!("{verb} {}: API error {c}: {msg}", t.resource),
        )),
    }
}

impl Source for KubeSource {
    fn kinds(&self) -> Vec<SourceKind> {
        vec![self.family.kind()]
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn parse_options(&self) -> &ParseOptions {
        &self.opts
    }

    fn attach_rescan(&self, signal: RescanSignal) {
        if let Ok(mut g) = self.rescan.lock() {
            *g = Some(signal);
        }
    }

    fn watched_resources(&self) -> Vec<&'static str> {
        self.resources.clone()
    }

    fn drain_transport(&self) -> Vec<crate::model::TransportEvent> {
        self.store.drain_transport(&self.name)
    }

    fn scan(self: Arc<Self>, ctx: ScanCtx) -> BoxFuture<SourceOutput> {
        Box::pin(async move {
            let kind = self.family.kind();
            match self.ensure_started().await {
                Ok(true) => {
                    self.store.wait_settled(INITIAL_SYNC_WAIT).await;
                    if let Some(hs) = &self.health {
                        hs.wait_settled(INITIAL_SYNC_WAIT).await;
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    return SourceOutput {
                        findings: Vec::new(),
                        series: Default::default(),
                        objects: Vec::new(),
                        failure: Some(ErrorEntry::new(
                            SourceRef::new(kind, &self.name, &self.name),
                            Reason::SourceUnavailable,
                            e.to_string(),
                        )),
                    }
                }
            }
            let report = match &self.health {
                Some(hs) => {
                    // A Secret not held is "missing" only if every Secret that
                    // exists would be held: all LISTs done, no label selector.
                    let complete =
                        self.store.synced() && self.shared.cfg.secrets.label_selector.is_none();
                    health::evaluate(hs, &self.store, complete, ctx.now.timestamp())
                }
                None => health::Report::default(),
            };
            SourceOutput {
                findings: report.findings,
                series: report.series,
                objects: self.store.objects(&ctx),
                failure: self.store.failure(kind, &self.name),
            }
        })
    }
}
