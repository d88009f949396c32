//! Wiring: validated CLI options → configuration → scraper task → HTTP server;
//! signals, reload and shutdown. The only place (with `main.rs`) that uses
//! `anyhow` and decides exit codes:
//!
//! * `0` success (including a clean shutdown on SIGTERM/SIGINT);
//! * `1` a `scan` policy threshold was breached (`--fail-within`, `--fail-on`);
//! * `2` usage or configuration error, and `serve` failing to start or its HTTP
//!   server failing (bad listen address, unreadable TLS files, ...).
//!
//! `serve`: one scraper task owns the [`Scraper`]. It scans immediately, then every
//! `scan.interval` (missed ticks are skipped, never bunched). SIGHUP and
//! `POST /-/reload` both send a [`ReloadRequest`] to that task, which runs the one
//! [`reload`] function: re-read the same configuration file (or the embedded
//! default) and re-apply the command-line overrides; on success swap the config
//! and sources and rescan at once; on failure log every problem, keep the last
//! good configuration and answer with the problems. A reload that arrives during
//! a scan is handled when that scan completes. The listen address and the web
//! configuration are read at startup only (changing them needs a restart).

mod logging;
mod probe;

use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::Utc;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::MissedTickBehavior;
use tracing::{debug, error, info, warn};

use crate::checks::Checker;
use crate::cli::{
    self, Command, ConfigSpec, HealthcheckOptions, OutputFormat, ReportOptions, ScanOptions,
    ServeOptions,
};
use crate::config::{self, Config};
use crate::inventory::{Snapshot, SnapshotCell};
use crate::outputs::http::{self, webconfig, HttpState, ReloadRequest};
use crate::outputs::policy;
use crate::outputs::{csv, json, report, table};
use crate::scraper::Scraper;
use crate::sources;

/// Exit code: a policy threshold was breached.
pub const EXIT_POLICY: u8 = 1;
/// Exit code: usage or configuration error.
pub const EXIT_USAGE: u8 = 2;

/// Longest list of errors `scan` prints on stderr before summarising the rest.
const MAX_STDERR_ERRORS: usize = 50;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let opts = match cli::parse_args(std::env::args_os()) {
        Ok(o) => o,
        Err(e) => return ExitCode::from(e.report()),
    };
    let level = opts.log_level.as_deref();
    let code = match opts.command {
        Command::PrintDefaultConfig => print_default_config(),
        Command::CheckConfig { config } => {
            logging::init(level, "warn", config::LogFormat::Text);
            check_config(&config)
        }
        Command::Scan(s) => scan_main(s, level),
        Command::Report(r) => report_main(r, level),
        Command::Healthcheck(h) => healthcheck_main(&h),
        Command::Serve(s) => serve_main(s, level),
    };
    ExitCode::from(code)
}

/// Write to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

fn print_default_config() -> u8 {
    match write_stdout(config::DEFAULT_YAML) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("certvigil: cannot write to stdout: {e}");
            EXIT_USAGE
        }
    }
}

fn check_config(path: &std::path::Path) -> u8 {
    let cfg = match crate::setup::load_file(path) {
        Ok(c) => c,
        Err(errs) => {
            eprintln!("{}: configuration is invalid:", path.display());
            eprint!("{errs}");
            return EXIT_USAGE;
        }
    };
    // A web configuration named by the file must be valid as well.
    if let Some(web) = &cfg.server.web_config_file {
        if let Err(e) = webconfig::load(web) {
            eprintln!(
                "{}: server.web_config_file {}: {e}",
                path.display(),
                web.display()
            );
            return EXIT_USAGE;
        }
    }
    // Trust anchors, intermediates and local CRLs are files of the machine the
    // exporter runs on (often a pod), not necessarily of this one: warn, do not fail.
    if let Err(e) = Checker::new(&cfg.trust, &cfg.revocation) {
        eprintln!(
            "{}: warning: {e} (loaded again at start-up; fine when the file exists only where certvigil runs)",
            path.display()
        );
    }
    println!("config OK: {}", path.display());
    0
}

/// Load the effective configuration of `spec`: the `--config` file (or the
/// embedded default) with the command-line overrides applied. The error text
/// lists every problem, one per line.
pub fn load_config(spec: &ConfigSpec) -> Result<Config, String> {
    let base = match &spec.config_file {
        Some(p) => crate::setup::load_file(p).map_err(|e| e.to_string())?,
        None => crate::setup::default_config(),
    };
    Ok(cli::apply_overrides(base, spec))
}

fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("certvigil")
        .build()
        .map_err(|e| {
            eprintln!("certvigil: cannot start the async runtime: {e}");
            EXIT_USAGE
        })
}

fn report_config_error(spec: &ConfigSpec, text: &str) {
    match &spec.config_file {
        Some(p) => eprintln!("{}: configuration is invalid:", p.display()),
        None => eprintln!("certvigil: configuration is invalid:"),
    }
    eprint!("{text}");
    if !text.ends_with('\n') {
        eprintln!();
    }
}

// ----------------------------------------------------------------------------
// scan
// ----------------------------------------------------------------------------

fn scan_main(opts: ScanOptions, level: Option<&str>) -> u8 {
    let cfg = match load_config(&opts.spec) {
        Ok(c) => c,
        Err(text) => {
            report_config_error(&opts.spec, &text);
            return EXIT_USAGE;
        }
    };
    // A one-shot command keeps stderr quiet unless asked (-v, --log.level, RUST_LOG).
    logging::init(level, "warn", cfg.log.format);
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let at = opts.at.unwrap_or_else(Utc::now);
    let snap = match one_scan(&rt, &cfg, at) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let window = i64::try_from(cfg.report.warning_window.as_secs()).unwrap_or(i64::MAX);
    let mut text = match opts.format {
        OutputFormat::Table => {
            table::render_with_window(&snap, at, table::stdout_wants_color(), window)
        }
        OutputFormat::Json => json::render(&snap),
        OutputFormat::Csv => csv::render(&snap),
        OutputFormat::Ecs => {
            let report = crate::outputs::report::build(&snap, &cfg.report);
            crate::outputs::ecs::render(&snap, &report.findings)
        }
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if let Err(e) = write_stdout(&text) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("certvigil: cannot write to stdout: {e}");
            return EXIT_USAGE;
        }
    }
    print_errors_summary(&snap, opts.format);
    let breaches = policy::evaluate(&snap, &opts.policy);
    if breaches.is_empty() {
        return 0;
    }
    for b in breaches.iter().take(MAX_STDERR_ERRORS) {
        eprintln!(
            "certvigil: policy breach: {}",
            table::sanitize(&b.to_string())
        );
    }
    if breaches.len() > MAX_STDERR_ERRORS {
        eprintln!(
            "certvigil: ... and {} more policy breaches",
            breaches.len() - MAX_STDERR_ERRORS
        );
    }
    EXIT_POLICY
}

/// One complete scan of `cfg`'s sources at `at` (the `scan` and `report` path).
/// One scan with every configured source and check (scan and report commands).
fn one_scan(
    rt: &tokio::runtime::Runtime,
    cfg: &Config,
    at: chrono::DateTime<Utc>,
) -> Result<Snapshot, u8> {
    let checker = Checker::new(&cfg.trust, &cfg.revocation).map_err(|e| {
        eprintln!("certvigil: {e}");
        EXIT_USAGE
    })?;
    Ok(rt.block_on(async {
        let mut scraper = Scraper::new(sources::build_sources(cfg), cfg.scan.source_timeout)
            .with_checker(checker);
        scraper.scan(at).await
    }))
}

// ----------------------------------------------------------------------------
// report
// ----------------------------------------------------------------------------

fn report_main(opts: ReportOptions, level: Option<&str>) -> u8 {
    let cfg = match load_config(&opts.spec) {
        Ok(c) => c,
        Err(text) => {
            report_config_error(&opts.spec, &text);
            return EXIT_USAGE;
        }
    };
    logging::init(level, "warn", cfg.log.format);
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let at = opts.at.unwrap_or_else(Utc::now);
    let snap = match one_scan(&rt, &cfg, at) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let text = report::render(&snap, &cfg.report, opts.format);
    match &opts.output {
        Some(path) => {
            if let Err(e) = write_atomically(path, text.as_bytes()) {
                eprintln!("certvigil: cannot write {}: {e}", path.display());
                return EXIT_USAGE;
            }
        }
        None => {
            if let Err(e) = write_stdout(&text) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    eprintln!("certvigil: cannot write to stdout: {e}");
                    return EXIT_USAGE;
                }
            }
        }
    }
    // Unreadable objects are part of the report; mention them on stderr too.
    print_errors_summary(&snap, OutputFormat::Table);
    0
}

/// Write `data` to `path` atomically: a temporary file in the same directory,
/// flushed to disk, then renamed over `path` (readers see the old or the new
/// file, never a partial one). The temporary file is removed on failure.
pub fn write_atomically(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp.{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

// ----------------------------------------------------------------------------
// healthcheck
// ----------------------------------------------------------------------------

/// GET the URL over plain HTTP/1.1 within the timeout; 0 on a 2xx status line,
/// 1 otherwise (Docker's HEALTHCHECK convention).
fn healthcheck_main(h: &HealthcheckOptions) -> u8 {
    match healthcheck(h) {
        Ok(status) if (200..300).contains(&status) => 0,
        Ok(status) => {
            eprintln!("certvigil healthcheck: HTTP {status} from {}", h.addr);
            1
        }
        Err(e) => {
            eprintln!("certvigil healthcheck: {}: {e}", h.addr);
            1
        }
    }
}

/// One bounded HTTP GET; returns the status code.
pub fn healthcheck(h: &HealthcheckOptions) -> std::io::Result<u16> {
    use std::io::Read;
    use std::net::TcpStream;
    let deadline = std::time::Instant::now() + h.timeout;
    let left = || {
        deadline
            .saturating_duration_since(std::time::Instant::now())
            .max(Duration::from_millis(1))
    };
    let mut s = TcpStream::connect_timeout(&h.addr, h.timeout)?;
    s.set_write_timeout(Some(left()))?;
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: certvigil-healthcheck\r\nConnection: close\r\n\r\n",
        h.path, h.host
    );
    s.write_all(req.as_bytes())?;
    // Read just the status line (bounded).
    let mut buf = Vec::with_capacity(64);
    let mut chunk = [0u8; 256];
    while !buf.contains(&b'\n') && buf.len() < 1024 {
        s.set_read_timeout(Some(left()))?;
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    let status = line
        .lines()
        .next()
        .filter(|l| l.starts_with("HTTP/1."))
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response")
        })?;
    Ok(status)
}

fn print_errors_summary(snap: &Snapshot, format: OutputFormat) {
    let n = snap.errors.len();
    if n == 0 {
        return;
    }
    eprintln!(
        "certvigil: {n} object{} could not be read or parsed",
        if n == 1 { "" } else { "s" }
    );
    if format == OutputFormat::Table {
        return; // listed in the table's ERRORS section
    }
    for e in snap.errors.iter().take(MAX_STDERR_ERRORS) {
        eprintln!(
            "  {}/{} {}: {}: {}",
            e.source.kind,
            table::sanitize(&e.source.name),
            table::sanitize(&e.source.location),
            e.reason,
            table::sanitize(&e.message)
        );
    }
    if n > MAX_STDERR_ERRORS {
        eprintln!("  ... and {} more", n - MAX_STDERR_ERRORS);
    }
}

// ----------------------------------------------------------------------------
// serve
// ----------------------------------------------------------------------------

fn serve_main(opts: ServeOptions, level: Option<&str>) -> u8 {
    let cfg = match load_config(&opts.spec) {
        Ok(c) => c,
        Err(text) => {
            report_config_error(&opts.spec, &text);
            return EXIT_USAGE;
        }
    };
    logging::init(level, &cfg.log.level, cfg.log.format);
    let web = match &cfg.server.web_config_file {
        None => None,
        Some(p) => match webconfig::load(p) {
            Ok(w) => Some(w),
            Err(e) => {
                error!(file = %p.display(), "invalid web configuration: {e}");
                eprintln!("certvigil: web configuration {}: {e}", p.display());
                return EXIT_USAGE;
            }
        },
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(serve(opts.spec, cfg, web))
}

/// Bind the listen address. `:PORT` means every interface: `[::]` (dual-stack
/// where the system allows it, the Linux default), falling back to `0.0.0.0`
/// when IPv6 is unavailable.
pub async fn bind(listen: &str) -> Result<TcpListener, String> {
    use crate::config::listen::{ListenAddr, ListenHost};
    let l = listen.trim();
    let parsed = ListenAddr::parse(l).map_err(|e| format!("invalid listen address: {e}"))?;
    if parsed.host == ListenHost::Any {
        // `:port`: dual-stack `[::]` first, IPv4 only where IPv6 is unavailable.
        let port = parsed.port;
        match TcpListener::bind((Ipv6Addr::UNSPECIFIED, port)).await {
            Ok(s) => Ok(s),
            Err(e6) => {
                debug!("cannot bind [::]:{port} ({e6}); trying 0.0.0.0:{port}");
                TcpListener::bind((Ipv4Addr::UNSPECIFIED, port))
                    .await
                    .map_err(|e| format!("cannot listen on {l}: {e}"))
            }
        }
    } else {
        let addr = parsed
            .resolve()
            .map_err(|e| format!("invalid listen address: {e}"))?;
        TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))
    }
}

fn make_interval(period: Duration) -> tokio::time::Interval {
    // The first tick completes immediately: scan at once.
    let mut iv = tokio::time::interval(cli::effective_interval(period));
    iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
    iv
}

/// The one reload path (SIGHUP and `POST /-/reload`): re-read the configuration,
/// validate, swap on success; on failure keep everything as is.
pub fn reload(
    spec: &ConfigSpec,
    scraper: &mut Scraper,
    shared: &RwLock<Arc<Config>>,
) -> Result<Config, String> {
    let cfg = match load_config(spec) {
        Ok(c) => c,
        Err(text) => {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                error!(problem = %line, "configuration reload rejected; keeping the last good configuration");
            }
            return Err(text);
        }
    };
    {
        let old = match shared.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        if old.server != cfg.server {
            warn!("server settings (listen address, web configuration) changed: they take effect after a restart");
        }
    }
    let checker = match Checker::new(&cfg.trust, &cfg.revocation) {
        Ok(c) => c,
        Err(text) => {
            error!(problem = %text, "configuration reload rejected; keeping the last good configuration");
            return Err(text);
        }
    };
    scraper.reconfigure(sources::build_sources(&cfg), cfg.scan.source_timeout);
    scraper.set_checker(checker);
    let new = Arc::new(cfg.clone());
    match shared.write() {
        Ok(mut g) => *g = new,
        Err(p) => *p.into_inner() = new,
    }
    info!(
        sources = ?cfg.sources.describe(),
        interval = ?cfg.scan.interval,
        "configuration reloaded"
    );
    Ok(cfg)
}

async fn scraper_loop(
    spec: ConfigSpec,
    mut scraper: Scraper,
    interval: Duration,
    cell: SnapshotCell,
    shared: Arc<RwLock<Arc<Config>>>,
    mut reload_rx: mpsc::Receiver<ReloadRequest>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Sources with change notifications (Docker events, Kubernetes watches) ask
    // for a prompt rescan through this signal; the interval scan stays the
    // periodic full resync.
    let rescan = scraper.rescan_signal();
    let mut ticker = make_interval(interval);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            req = reload_rx.recv() => {
                let Some(req) = req else { break };
                let res = reload(&spec, &mut scraper, &shared);
                if let Ok(cfg) = &res {
                    // A fresh interval ticks at once: rescan with the new config.
                    ticker = make_interval(cfg.scan.interval);
                }
                let _ = req.reply.send(res.map(|_| ()));
            }
            _ = ticker.tick() => {
                let scan = scraper.scan(Utc::now());
                tokio::select! {
                    snap = scan => cell.publish(snap),
                    _ = shutdown.changed() => break,
                }
            }
            // A source saw a change (a Docker event, a Kubernetes watch event): rescan now.
            _ = rescan.notified() => {
                debug!("source change signalled: rescanning");
                let scan = scraper.scan(Utc::now());
                tokio::select! {
                    snap = scan => cell.publish(snap),
                    _ = shutdown.changed() => break,
                }
            }
        }
    }
    debug!("scraper stopped");
}

/// SIGHUP → a reload request, like `POST /-/reload`.
async fn sighup_loop(reload: mpsc::Sender<ReloadRequest>) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            warn!("cannot install the SIGHUP handler ({e}); reload with POST /-/reload");
            return;
        }
    };
    while hup.recv().await.is_some() {
        info!("SIGHUP received: reloading the configuration");
        let (tx, rx) = oneshot::channel();
        if reload.send(ReloadRequest { reply: tx }).await.is_err() {
            break;
        }
        let _ = rx.await;
    }
}

async fn serve(spec: ConfigSpec, cfg: Config, web: Option<webconfig::WebConfig>) -> u8 {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            error!("cannot install the SIGTERM handler: {e}");
            return EXIT_USAGE;
        }
    };
    let mut int = match signal(SignalKind::interrupt()) {
        Ok(s) => s,
        Err(e) => {
            error!("cannot install the SIGINT handler: {e}");
            return EXIT_USAGE;
        }
    };

    let listener = match bind(&cfg.server.listen).await {
        Ok(l) => l,
        Err(e) => {
            error!("{e}");
            eprintln!("certvigil: {e}");
            return EXIT_USAGE;
        }
    };
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| cfg.server.listen.clone());
    info!(
        listen = %local,
        tls = web.is_some(),
        sources = ?cfg.sources.describe(),
        interval = ?cfg.scan.interval,
        source_timeout = ?cfg.scan.source_timeout,
        "certvigil {} starting",
        env!("CARGO_PKG_VERSION")
    );

    let cell = SnapshotCell::new();
    let shared = Arc::new(RwLock::new(Arc::new(cfg.clone())));
    let (reload_tx, reload_rx) = mpsc::channel::<ReloadRequest>(8);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);

    let checker = match Checker::new(&cfg.trust, &cfg.revocation) {
        Ok(c) => c,
        Err(e) => {
            error!("{e}");
            return EXIT_USAGE;
        }
    };
    let scraper =
        Scraper::new(sources::build_sources(&cfg), cfg.scan.source_timeout).with_checker(checker);
    for d in cfg.sources.of::<sources::docker::config::DockerConfig>() {
        if sources::docker::DockerSource::wanted(d) {
            info!(name = %d.name, host = %sources::docker::DockerSource::host(d), "Docker source on");
        }
    }
    let scraper_task = tokio::spawn(scraper_loop(
        spec,
        scraper,
        cfg.scan.interval,
        cell.clone(),
        shared.clone(),
        reload_rx,
        shutdown_rx.clone(),
    ));
    let hup_task = tokio::spawn(sighup_loop(reload_tx.clone()));

    let state = HttpState {
        snapshot: cell,
        config: shared,
        reload: reload_tx,
        prober: Some(Arc::new(probe::EndpointProber::default())),
    };
    let mut server_rx = shutdown_rx.clone();
    let server_shutdown = async move {
        let _ = server_rx.wait_for(|stop| *stop).await;
    };
    let mut server = tokio::spawn(http::serve(listener, web, state, server_shutdown));

    let mut code = 0u8;
    let mut server_done = false;
    tokio::select! {
        _ = term.recv() => info!("SIGTERM received: shutting down"),
        _ = int.recv() => info!("SIGINT received: shutting down"),
        r = &mut server => {
            server_done = true;
            code = EXIT_USAGE;
            match r {
                Ok(Ok(())) => error!("HTTP server stopped unexpectedly"),
                Ok(Err(e)) => error!("HTTP server failed: {e:#}"),
                Err(e) => error!("HTTP server task failed: {e}"),
            }
        }
    }
    let _ = shutdown_tx.send(true);
    hup_task.abort();
    if let Err(e) = scraper_task.await {
        warn!("scraper task ended abnormally: {e}");
    }
    if !server_done {
        match tokio::time::timeout(Duration::from_secs(10), &mut server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => {
                error!("HTTP server failed during shutdown: {e:#}");
            }
            Ok(Err(e)) => warn!("HTTP server task ended abnormally: {e}"),
            Err(_) => {
                warn!("HTTP connections still open after 10s; exiting anyway");
                server.abort();
            }
        }
    }
    info!("stopped");
    code
}
