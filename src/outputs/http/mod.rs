//! The HTTP server of `certvigil serve` (hyper 1, HTTP/1.1, optional TLS via rustls
//! with the ring provider, optional basic auth; both from the exporter-toolkit web
//! configuration, see [`webconfig`]).
//!
//! Routes (INTERFACE.md, "HTTP"):
//!
//! | path | methods | |
//! |---|---|---|
//! | `/metrics` | GET, HEAD | Prometheus text or OpenMetrics (by `Accept`), from the last snapshot |
//! | `/healthz` | GET, HEAD | `200 ok` |
//! | `/readyz` | GET, HEAD | `503` until the first snapshot, then `200 ready` |
//! | `/` | GET, HEAD | HTML inventory page ([`html`]) |
//! | `/api/v1/certificates` | GET, HEAD | JSON inventory ([`crate::outputs::json`]) |
//! | `/api/v1/report?format=json\|csv\|md\|html` | GET, HEAD | compliance report ([`crate::outputs::report`]); default `json`, `400` for another format, `503` before the first scan |
//! | `/-/reload` | POST, PUT | asks the app to reload its configuration and reports the outcome |
//!
//! Anything else is `404`; a known path with another method is `405` with `Allow`.
//! Handlers only read the published [`SnapshotCell`]: they never scan. Basic auth,
//! when configured, protects every path (as exporter-toolkit does).
//!
//! Bodies: `/metrics` (each format) and `/api/v1/certificates` are rendered once
//! per snapshot and shared by every request ([`cache`]), gzip-compressed once when
//! `Accept-Encoding` allows it ([`negotiate`]), and streamed as zero-copy slices
//! ([`body`]). The HTML page is paged server-side ([`html`]).
//!
//! Limits ([`Limits`], documented in `docs/http.md`): request headers ≤ 16 KiB and
//! read within 10 s (also bounds idle keep-alive connections), request bodies
//! ≤ 64 KiB (`413`) read within 10 s, TLS handshakes ≤ 10 s, a response must make
//! progress (write stall ≤ 10 s) and be written within 60 s, ≤ 512 concurrent
//! connections — when all are taken, the connection stalled longest is closed to
//! make room for a new one ([`conn`]) — and ≤ 4 concurrent bcrypt verifications.
//! On shutdown the listener is closed, in-flight requests get up to 5 s to finish,
//! then connections are dropped.

pub mod body;
pub mod cache;
pub mod conn;
pub mod html;
pub mod negotiate;
pub mod probe;
pub mod webconfig;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::time::Instant;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::config::listen::ListenAddr;
use crate::config::Config;
use crate::inventory::{Snapshot, SnapshotCell};
use crate::outputs::{metrics, report};
use body::SharedBody;
use cache::{Kind, RenderCache};
use conn::{ConnTrack, Connections, Tracked};
use webconfig::{BasicAuth, Precheck, WebConfig};

/// Concurrent connections served; when all are taken, the connection stalled
/// longest makes room for a new one (see [`conn`]).
pub const MAX_CONNECTIONS: usize = 512;
/// A response write that cannot send a single byte for this long closes the connection.
pub const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(10);
/// A response body must be written completely within this time.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// While all connection slots are taken and nothing could be evicted, re-check this often.
const SLOT_RETRY: Duration = Duration::from_millis(100);
/// Time allowed to send a request's headers (and idle time between keep-alive requests).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request header block (bytes).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Largest request body accepted (bytes); larger ones get `413`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on finishing in-flight requests after shutdown was requested.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
const RELOAD_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_CONCURRENT_BCRYPT: usize = 4;
/// HTML pages rendered at the same time (each filters the whole inventory;
/// more in parallel would only spread their allocations over more threads'
/// allocator arenas, which keep the memory after a burst).
const MAX_CONCURRENT_PAGES: usize = 2;
/// Snapshots with more certificates than this are rendered on a blocking thread.
const BLOCKING_RENDER_THRESHOLD: usize = 1000;

/// The server's connection and timing limits (defaults: the constants above).
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub write_stall_timeout: Duration,
    pub response_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: MAX_CONNECTIONS,
            header_read_timeout: HEADER_READ_TIMEOUT,
            write_stall_timeout: WRITE_STALL_TIMEOUT,
            response_timeout: RESPONSE_TIMEOUT,
        }
    }
}

const CT_TEXT: &str = "text/plain; charset=utf-8";
const CT_HTML: &str = "text/html; charset=utf-8";
const CT_JSON: &str = "application/json";
const HTML_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A reload asked for over HTTP; the app answers on `reply` (`Err` = the new
/// configuration was rejected; the text is shown to the client).
pub struct ReloadRequest {
    pub reply: oneshot::Sender<Result<(), String>>,
}

/// What the handlers read (and the reload channel they write to).
#[derive(Clone)]
pub struct HttpState {
    pub snapshot: SnapshotCell,
    pub config: Arc<std::sync::RwLock<Arc<Config>>>,
    pub reload: mpsc::Sender<ReloadRequest>,
    /// Serves `GET /probe`; `None`: 404.
    pub prober: Option<Arc<dyn probe::Prober>>,
}

impl HttpState {
    pub(crate) fn config(&self) -> Arc<Config> {
        match self.config.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

/// Parse a listen address: `:9793` (all IPv4 interfaces; binding dual-stack `[::]`
/// first is the caller's choice), `127.0.0.1:0`, `[::1]:9793`, `localhost:9793`,
/// or `host:port` (resolved; first address). One parser: [`ListenAddr`].
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    ListenAddr::parse(s.trim())
        .and_then(|a| a.resolve())
        .map_err(|e| e.to_string())
}

/// Per-server state shared by all connections.
struct Shared {
    state: HttpState,
    auth: Option<Arc<BasicAuth>>,
    headers: Vec<(HeaderName, HeaderValue)>,
    bcrypt_slots: Semaphore,
    page_slots: Semaphore,
    cache: RenderCache,
    limits: Limits,
}

/// Serve HTTP (or HTTPS when `web` has TLS) on `listener` until `shutdown` completes,
/// then stop accepting, let in-flight requests finish (bounded by [`SHUTDOWN_GRACE`])
/// and return. Uses the default [`Limits`].
pub async fn serve(
    listener: TcpListener,
    web: Option<WebConfig>,
    state: HttpState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(listener, web, state, Limits::default(), shutdown).await
}

/// [`serve`] with explicit limits.
pub async fn serve_with(
    listener: TcpListener,
    web: Option<WebConfig>,
    state: HttpState,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (tls, auth, headers) = match web {
        Some(w) => (w.tls.map(TlsAcceptor::from), w.basic_auth, w.headers),
        None => (None, None, Vec::new()),
    };
    let max_connections = limits.max_connections.max(1);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_headers(100)
        .max_buf_size(MAX_HEADER_BYTES.max(8192) + 8192)
        .max_header_size(MAX_HEADER_BYTES);
    let shared = Arc::new(Shared {
        state,
        auth,
        headers,
        bcrypt_slots: Semaphore::new(MAX_CONCURRENT_BCRYPT),
        page_slots: Semaphore::new(MAX_CONCURRENT_PAGES),
        cache: RenderCache::new(),
        limits,
    });
    let conns = Arc::new(Connections::default());
    let sweeper = tokio::spawn({
        let shared = shared.clone();
        async move {
            let mut tick = tokio::time::interval(cache::SWEEP_IDLE / 2);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let dropped = shared
                    .cache
                    .sweep(cache::SWEEP_IDLE, cache::SWEEP_MIN_BYTES);
                if dropped > 0 {
                    tracing::debug!(dropped, "released idle rendered bodies");
                }
            }
        }
    });
    let conn_slots = Arc::new(Semaphore::new(max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);

    'accept: loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => r,
        };
        while tasks.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // E.g. EMFILE: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
                continue;
            }
        };
        let permit = match conn_slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => loop {
                // Every slot is taken: close the connection stalled longest, then
                // wait for its slot (or, if nothing was evictable, any slot).
                if conns.evict_one() {
                    tracing::debug!(%peer, "connection limit reached: closed the connection stalled longest");
                }
                tokio::select! {
                    _ = &mut shutdown => break 'accept,
                    p = conn_slots.clone().acquire_owned() => match p {
                        Ok(p) => break p,
                        Err(_) => break 'accept, // never closed
                    },
                    _ = tokio::time::sleep(SLOT_RETRY) => {}
                }
            },
        };
        tracing::trace!(%peer, "connection accepted");
        let registration = conns.register();
        tasks.spawn(handle_connection(
            stream,
            tls.clone(),
            builder.clone(),
            shared.clone(),
            stop_rx.clone(),
            (permit, registration),
        ));
    }

    drop(listener);
    sweeper.abort();
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            remaining = tasks.len(),
            "connections still open after the shutdown grace period; closing them"
        );
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    Ok(())
}

async fn handle_connection(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    builder: http1::Builder,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    slot: (OwnedSemaphorePermit, conn::Registration),
) {
    let _ = stream.set_nodelay(true);
    let track = slot.1.track.clone();
    let stall = shared.limits.write_stall_timeout;
    match tls {
        None => {
            let io = Tracked::new(TokioIo::new(stream), track.clone(), stall);
            serve_io(io, builder, shared, stop, track).await
        }
        Some(acceptor) => {
            let handshake = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream));
            let tls_stream = tokio::select! {
                r = handshake => match r {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!("TLS handshake timed out");
                        return;
                    }
                },
                _ = stop.wait_for(|s| *s) => return,
                _ = track.evicted() => return,
            };
            let io = Tracked::new(TokioIo::new(tls_stream), track.clone(), stall);
            serve_io(io, builder, shared, stop, track).await
        }
    }
}

async fn serve_io<I>(
    io: I,
    builder: http1::Builder,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    track: Arc<ConnTrack>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let handler_track = track.clone();
    let svc = service_fn(move |req: Request<Incoming>| {
        let shared = shared.clone();
        let busy = handler_track.handler();
        async move {
            let r = handle(req, &shared).await;
            drop(busy);
            Ok::<_, Infallible>(r)
        }
    });
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection error");
            }
            return;
        }
        _ = stop.wait_for(|s| *s) => {
            conn.as_mut().graceful_shutdown();
        }
        _ = track.evicted() => {
            tracing::debug!("connection closed to make room for a new one");
            return;
        }
    }
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "connection error during shutdown");
    }
}

type Resp = Response<SharedBody>;

fn response(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(SharedBody::new(body));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

fn text(status: StatusCode, body: impl Into<String>) -> Resp {
    response(status, CT_TEXT, body.into())
}

async fn handle(req: Request<Incoming>, shared: &Shared) -> Resp {
    let deadline = Instant::now() + shared.limits.response_timeout;
    let resp = route(req, shared).await;
    let mut resp = resp.map(|b| b.with_deadline(deadline));
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (k, v) in &shared.headers {
        h.insert(k.clone(), v.clone());
    }
    resp
}

async fn authorized(auth: &Arc<BasicAuth>, header: Option<&HeaderValue>, shared: &Shared) -> bool {
    match auth.precheck(header.map(|h| h.as_bytes())) {
        Precheck::Reject => false,
        Precheck::Accept => true,
        Precheck::Verify(creds) => {
            let Ok(_slot) = shared.bcrypt_slots.acquire().await else {
                return false;
            };
            let auth = auth.clone();
            tokio::task::spawn_blocking(move || auth.verify(&creds))
                .await
                .unwrap_or(false)
        }
    }
}

/// `Some(405 response)` unless `method` is one of `allowed`.
fn disallowed(method: &Method, allowed: &[Method]) -> Option<Resp> {
    if allowed.contains(method) {
        return None;
    }
    let list = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    if let Ok(v) = HeaderValue::from_str(&list) {
        r.headers_mut().insert(header::ALLOW, v);
    }
    Some(r)
}

const GET_HEAD: [Method; 2] = [Method::GET, Method::HEAD];

async fn route(req: Request<Incoming>, shared: &Shared) -> Resp {
    if let Some(auth) = &shared.auth {
        if !authorized(auth, req.headers().get(header::AUTHORIZATION), shared).await {
            let mut r = text(StatusCode::UNAUTHORIZED, "Unauthorized\n");
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"certvigil\""),
            );
            return r;
        }
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let refused = match path.as_str() {
        "/metrics" | "/healthz" | "/readyz" | "/" | "/api/v1/certificates" | "/api/v1/report" => {
            disallowed(&method, &GET_HEAD)
        }
        "/-/reload" => disallowed(&method, &[Method::POST, Method::PUT]),
        "/probe" => disallowed(&method, &GET_HEAD),
        _ => return text(StatusCode::NOT_FOUND, "not found\n"),
    };
    if let Some(r) = refused {
        return r;
    }
    let state = &shared.state;
    match path.as_str() {
        "/metrics" => {
            let accept = header_str(&req, header::ACCEPT);
            let gzip = negotiate::accepts_gzip(header_str(&req, header::ACCEPT_ENCODING));
            let kind = if metrics::wants_openmetrics(accept) {
                Kind::MetricsOpenMetrics
            } else {
                Kind::MetricsText
            };
            let ct = if kind == Kind::MetricsOpenMetrics {
                metrics::CONTENT_TYPE_OPENMETRICS
            } else {
                metrics::CONTENT_TYPE_TEXT
            };
            match shared.cache.get(state, kind, gzip).await {
                Some(body) => cached(ct, body, "Accept, Accept-Encoding"),
                None => text(StatusCode::INTERNAL_SERVER_ERROR, "no exposition\n"),
            }
        }
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" => match state.snapshot.get() {
            Some(_) => text(StatusCode::OK, "ready\n"),
            None => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: first scan pending\n",
            ),
        },
        "/" => {
            let query = req.uri().query().unwrap_or("").to_string();
            let snap = state.snapshot.get();
            let window =
                i64::try_from(state.config().report.warning_window.as_secs()).unwrap_or(i64::MAX);
            let Ok(_slot) = shared.page_slots.acquire().await else {
                return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
            };
            let body =
                render_maybe_blocking(snap, move |s| html::render_page(s, &query, window)).await;
            let mut r = response(StatusCode::OK, CT_HTML, body);
            r.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(HTML_CSP),
            );
            r
        }
        "/api/v1/certificates" => {
            let gzip = negotiate::accepts_gzip(header_str(&req, header::ACCEPT_ENCODING));
            match shared.cache.get(state, Kind::Json, gzip).await {
                Some(body) => cached(CT_JSON, body, "Accept-Encoding"),
                None => response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    CT_JSON,
                    "{\"error\": \"not ready: first scan pending\"}\n",
                ),
            }
        }
        "/api/v1/report" => report_page(state, req.uri().query().unwrap_or("")).await,
        "/-/reload" => reload(req, state).await,
        "/probe" => probe_page(state, req.uri().query().unwrap_or("")).await,
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// `GET /probe` (see [`probe`]).
async fn probe_page(state: &HttpState, query: &str) -> Resp {
    match probe::handle(state.prober.as_ref(), state.config(), query).await {
        Ok(body) => response(
            StatusCode::OK,
            crate::outputs::metrics::CONTENT_TYPE_TEXT,
            body,
        ),
        Err((code, msg)) => text(
            StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
            msg,
        ),
    }
}

/// The `format` parameter of a query string (last one wins; `None` when absent).
fn query_format(query: &str) -> Option<String> {
    query
        .get(..query.len().min(4096))
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .filter(|(k, _)| html::form_decode(k) == "format")
        .map(|(_, v)| html::form_decode(v))
        .next_back()
}

async fn report_page(state: &HttpState, query: &str) -> Resp {
    let format = match query_format(query) {
        None => report::ReportFormat::Json,
        Some(f) => match report::ReportFormat::parse(f.trim()) {
            Some(f) => f,
            None => {
                let shown: String = f.chars().take(64).collect();
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("unknown report format {shown:?}; use one of: json, csv, md, html\n"),
                );
            }
        },
    };
    let Some(snap) = state.snapshot.get() else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: first scan pending\n",
        );
    };
    let cfg = state.config();
    let body = render_maybe_blocking(Some(snap), move |s| match s {
        Some(s) => report::render(s, &cfg.report, format),
        None => String::new(),
    })
    .await;
    let mut r = response(StatusCode::OK, format.content_type(), body);
    if format == report::ReportFormat::Html {
        r.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(HTML_CSP),
        );
    }
    r
}

/// Run `f` inline for small snapshots, on a blocking thread for large ones.
async fn render_maybe_blocking<F>(snap: Option<Arc<Snapshot>>, f: F) -> String
where
    F: FnOnce(Option<&Snapshot>) -> String + Send + 'static,
{
    let large = snap
        .as_ref()
        .is_some_and(|s| s.certificates.len() + s.errors.len() > BLOCKING_RENDER_THRESHOLD);
    if !large {
        return f(snap.as_deref());
    }
    match tokio::task::spawn_blocking(move || f(snap.as_deref())).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "render task failed");
            String::new()
        }
    }
}

fn header_str(req: &Request<Incoming>, name: HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A `200` with a cached (shared) body.
fn cached(content_type: &str, body: cache::Rendered, vary: &'static str) -> Resp {
    let mut r = response(StatusCode::OK, content_type, body.bytes);
    let h = r.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static(vary));
    if body.gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    r
}

async fn reload(req: Request<Incoming>, state: &HttpState) -> Resp {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n");
    }
    // The body carries nothing; read (bounded) and discard it.
    let body = Limited::new(req.into_body(), MAX_BODY_BYTES).collect();
    match tokio::time::timeout(BODY_READ_TIMEOUT, body).await {
        Err(_) => return text(StatusCode::REQUEST_TIMEOUT, "request body timeout\n"),
        Ok(Err(e)) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n");
            }
            return text(StatusCode::BAD_REQUEST, "could not read request body\n");
        }
        Ok(Ok(_)) => {}
    }
    let (tx, rx) = oneshot::channel();
    let outcome = tokio::time::timeout(RELOAD_TIMEOUT, async move {
        if state
            .reload
            .send(ReloadRequest { reply: tx })
            .await
            .is_err()
        {
            return None;
        }
        rx.await.ok()
    })
    .await;
    match outcome {
        Ok(Some(Ok(()))) => {
            tracing::info!("configuration reloaded via HTTP");
            text(StatusCode::OK, "configuration reloaded\n")
        }
        Ok(Some(Err(e))) => {
            tracing::warn!(error = %e, "configuration reload via HTTP rejected");
            text(
                StatusCode::BAD_REQUEST,
                format!("failed to reload config: {e}\n"),
            )
        }
        Ok(None) => text(StatusCode::SERVICE_UNAVAILABLE, "reload is not available\n"),
        Err(_) => text(StatusCode::GATEWAY_TIMEOUT, "reload timed out\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_listen, query_format};

    #[test]
    fn report_format_from_query() {
        assert_eq!(query_format(""), None);
        assert_eq!(query_format("format=csv").as_deref(), Some("csv"));
        assert_eq!(query_format("a=1&format=md").as_deref(), Some("md"));
        assert_eq!(
            query_format("format=json&format=html").as_deref(),
            Some("html")
        );
        assert_eq!(query_format("format=%68tml").as_deref(), Some("html"));
        assert_eq!(query_format("format").as_deref(), Some(""));
        assert_eq!(query_format("formats=csv"), None);
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(parse_listen(":9793").unwrap().to_string(), "0.0.0.0:9793");
        assert_eq!(
            parse_listen("127.0.0.1:0").unwrap().to_string(),
            "127.0.0.1:0"
        );
        assert_eq!(
            parse_listen("[::1]:9793").unwrap().to_string(),
            "[::1]:9793"
        );
        assert_eq!(parse_listen("[::]:1").unwrap().to_string(), "[::]:1");
        assert_eq!(
            parse_listen("localhost:9793").unwrap().to_string(),
            "127.0.0.1:9793"
        );
        assert_eq!(
            parse_listen(" LOCALHOST:1 ").unwrap().to_string(),
            "127.0.0.1:1"
        );
        for bad in ["9793", ":", ":99999", "::1:9793", "1.2.3.4:x", "", "[::1]"] {
            assert!(parse_listen(bad).is_err(), "{bad}");
        }
    }
}
