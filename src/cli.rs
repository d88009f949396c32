//! Command-line interface: the clap definitions of the raw arguments (exactly the
//! INTERFACE.md surface) and [`parse_args`], the one function that turns them into
//! validated [`Options`] with clear errors.
//!
//! * no subcommand: `serve` with the embedded default configuration;
//! * `serve [--config FILE] [--listen ADDR] [--web.config.file FILE] [PATH...]`;
//! * `scan [OPTIONS] [PATH...]`;
//! * `report --format html|csv|json|md [--config FILE] [-o FILE] [--at RFC3339]
//!   [--trust-roots P] [--intermediates P] [--crl P] [--offline] [--fetch-aia] [PATH...]`;
//! * `healthcheck [--url http://127.0.0.1:9793/healthz] [--timeout 5s]` (not in
//!   INTERFACE.md; for container HEALTHCHECKs in images without curl);
//! * `check-config --config FILE`;
//! * `print-default-config`.
//!
//! `PATH...` semantics (INTERFACE.md): when paths are given they replace the
//! `file` sources of the configuration with one `file` source named `cli-files`
//! over those paths. Other keys of that source take their defaults, except the
//! size cap and the PKCS#12 passwords, which are kept from the `--config` file's
//! file sources when one is given. Without `--config` the embedded default's
//! sources are all dropped (only `cli-files` runs); with `--config`, its
//! `kubeconfig` sources stay. The trust/revocation options replace the
//! corresponding config lists when given (`--offline` only ever turns offline on).
//!
//! Usage errors (clap's own included) exit with code 2; `--help`/`--version` exit 0.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::config::{self, Config};
use crate::model::SourceKind;
use crate::outputs::policy::{self, FailOn, Policy};
pub use crate::outputs::report::ReportFormat;
use crate::sources::docker::config::{DockerConfig, DockerEnabled};
use crate::sources::files::config::FileSourceConfig;
use crate::sources::kubernetes::config::{KubeEnabled, KubernetesConfig};

/// Name of the file source built from command-line paths (as the established
/// exporter's CLI shortcut names it).
pub const CLI_FILES_SOURCE: &str = "cli-files";

/// Raw arguments, as clap parses them.
#[derive(Debug, Parser)]
#[command(
    name = "certvigil",
    version,
    about = "Certificate expiry and trust monitoring exporter",
    long_about = "Certificate expiry and trust monitoring exporter.\n\n\
                  Without a subcommand, runs `serve` with the embedded default configuration.\n\n\
                  Exit codes: 0 success, 1 a policy threshold was breached (--fail-within, --fail-on), \
                  2 usage or configuration error."
)]
pub struct Cli {
    /// Log filter (`error`, `warn`, `info`, `debug`, `trace` or a tracing directive);
    /// overrides RUST_LOG and the configuration's `log.level`.
    #[arg(long = "log.level", value_name = "LEVEL", global = true)]
    pub log_level: Option<String>,

    /// More verbose logs (`-v` debug, `-vv` trace); ignored when --log.level is given.
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Option<RawCommand>,
}

/// Raw subcommands.
#[derive(Debug, Subcommand)]
pub enum RawCommand {
    /// Long-running exporter: periodic scans + HTTP server (/metrics, /, API).
    Serve(RawServe),
    /// One scan: print the inventory and exit (exit 1 on a policy breach).
    Scan(RawScan),
    /// One scan: write the compliance report (inventory, summary, findings).
    Report(RawReport),
    /// Validate a configuration: exit 0, or print every problem and exit 2.
    CheckConfig(RawCheckConfig),
    /// Print the embedded default configuration (valid input for --config).
    PrintDefaultConfig,
    /// Probe a running `serve` over plain HTTP: exit 0 on a 2xx answer, else 1
    /// (for container HEALTHCHECKs; the image has no curl).
    Healthcheck(RawHealthcheck),
}

/// Raw `report` arguments.
#[derive(Debug, Args)]
pub struct RawReport {
    #[command(flatten)]
    pub src: RawSourceArgs,

    /// Report format.
    #[arg(long, value_enum)]
    pub format: ReportFormat,

    /// Write the report to FILE (atomically: a temporary file renamed into place)
    /// instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Evaluate expiry, validity and chains at this RFC 3339 instant instead of now.
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
}

/// Raw `healthcheck` arguments.
#[derive(Debug, Args)]
pub struct RawHealthcheck {
    /// `http://HOST:PORT/PATH` to GET; HOST must be an IP address or `localhost`.
    #[arg(long, value_name = "URL", default_value = DEFAULT_HEALTHCHECK_URL)]
    pub url: String,

    /// Give up after this long (connect + answer), e.g. `5s`.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub timeout: String,
}

/// Default `healthcheck --url`.
pub const DEFAULT_HEALTHCHECK_URL: &str = "http://127.0.0.1:9793/healthz";

/// Options shared by `scan` and `serve`: what to scan and how to check it.
#[derive(Debug, Args, Default)]
pub struct RawSourceArgs {
    /// YAML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Also scan the Docker source.
    #[arg(long)]
    pub docker: bool,

    /// Also scan the Kubernetes source.
    #[arg(long)]
    pub kubernetes: bool,

    /// PEM file or directory of trust anchors (repeatable). Default: the system trust store.
    #[arg(long = "trust-roots", value_name = "PATH")]
    pub trust_roots: Vec<PathBuf>,

    /// Extra untrusted intermediates for chain building (repeatable).
    #[arg(long, value_name = "PATH")]
    pub intermediates: Vec<PathBuf>,

    /// Local CRL file, PEM or DER (repeatable).
    #[arg(long, value_name = "PATH")]
    pub crl: Vec<PathBuf>,

    /// Never fetch CRLs or OCSP over the network.
    #[arg(long)]
    pub offline: bool,

    /// Fetch missing intermediates from the certificates' AIA caIssuers URLs
    /// (sets `trust.fetch_aia`; ignored with `--offline`).
    #[arg(long = "fetch-aia")]
    pub fetch_aia: bool,

    /// Path-validation rules: auto (webpki for system roots, rfc5280 for
    /// configured roots), rfc5280 or webpki (sets `trust.profile`).
    #[arg(long = "trust-profile", value_name = "PROFILE", value_parser = config::TrustProfile::parse)]
    pub trust_profile: Option<config::TrustProfile>,

    /// Files or directories to scan (recursively); replace the config's file sources.
    /// Arguments of the form `scheme://host[:port]` (tls, https, smtps, imaps, pop3s,
    /// ldaps, ftps, smtp, lmtp, imap, pop3, ftp, ldap, postgres, mysql, xmpp) are TLS
    /// endpoints to probe (source `endpoints`), `?server_name=NAME` overrides SNI.
    #[arg(value_name = "PATH|URL")]
    pub paths: Vec<String>,
}

/// Raw `serve` arguments.
#[derive(Debug, Args, Default)]
pub struct RawServe {
    #[command(flatten)]
    pub src: RawSourceArgs,

    /// Listen address (`:9793`, `127.0.0.1:9793`, `[::1]:9793`); overrides `server.listen`.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// Prometheus exporter-toolkit web configuration (TLS, basic auth).
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,
}

/// Raw `scan` arguments.
#[derive(Debug, Args)]
pub struct RawScan {
    #[command(flatten)]
    pub src: RawSourceArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Evaluate expiry, validity and chains at this RFC 3339 instant instead of now.
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,

    /// Exit 1 if any certificate expires within DURATION (`30d`, `12h`, `90m`);
    /// already expired certificates breach too.
    #[arg(long = "fail-within", value_name = "DURATION")]
    pub fail_within: Option<String>,

    /// Exit 1 if any certificate is one of: expired,revoked,untrusted,error
    /// (comma-separated, repeatable).
    #[arg(long = "fail-on", value_name = "LIST")]
    pub fail_on: Vec<String>,
}

/// Raw `check-config` arguments.
#[derive(Debug, Args)]
pub struct RawCheckConfig {
    /// The configuration file to validate.
    #[arg(long, value_name = "FILE", required = true)]
    pub config: PathBuf,
}

/// `scan --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Json,
    Table,
    Csv,
    /// NDJSON in the Elastic Common Schema (docs/ecs.md).
    Ecs,
}

/// Validated options: what the program will do.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// `--log.level` (or the level `-v`/`-vv` stand for); `None`: RUST_LOG, then config.
    pub log_level: Option<String>,
    pub command: Command,
}

/// A validated subcommand.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Serve(ServeOptions),
    Scan(ScanOptions),
    Report(ReportOptions),
    CheckConfig { config: PathBuf },
    PrintDefaultConfig,
    Healthcheck(HealthcheckOptions),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    pub spec: ConfigSpec,
    pub format: ReportFormat,
    /// `-o`; `None`: stdout.
    pub output: Option<PathBuf>,
    /// `--at`; `None`: now.
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HealthcheckOptions {
    /// Socket address to connect to.
    pub addr: std::net::SocketAddr,
    /// `Host` header value (`host:port` from the URL).
    pub host: String,
    /// Request target (path and query), starting with `/`.
    pub path: String,
    pub timeout: Duration,
}

/// How to obtain the effective configuration; re-applied as is on every reload.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConfigSpec {
    /// `--config`; `None`: the embedded default.
    pub config_file: Option<PathBuf>,
    pub overrides: Overrides,
}

/// Command-line settings that win over the configuration file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Overrides {
    pub paths: Vec<String>,
    /// `URL...` arguments (TLS endpoints), validated.
    pub targets: Vec<crate::sources::tls_endpoint::target::Target>,
    /// `--docker`: force the Docker source on.
    pub docker: bool,
    pub trust_roots: Vec<PathBuf>,
    pub intermediates: Vec<PathBuf>,
    pub crl_files: Vec<PathBuf>,
    pub offline: bool,
    /// `--fetch-aia`: turn AIA caIssuers fetching on.
    pub fetch_aia: bool,
    /// `--trust-profile`: replaces `trust.profile`.
    pub trust_profile: Option<config::TrustProfile>,
    pub listen: Option<String>,
    pub web_config_file: Option<PathBuf>,
    /// `--kubernetes`: turn the Kubernetes source on.
    pub kubernetes: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServeOptions {
    pub spec: ConfigSpec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScanOptions {
    pub spec: ConfigSpec,
    pub format: OutputFormat,
    /// `--at`; `None`: now.
    pub at: Option<DateTime<Utc>>,
    pub policy: Policy,
}

/// Why the arguments were not accepted.
#[derive(Debug)]
pub enum CliError {
    /// clap's own outcome: a usage error, or `--help`/`--version` output.
    Clap(clap::Error),
    /// A value clap accepted but that is invalid.
    Usage(String),
}

impl CliError {
    /// The exit code: 0 for help/version output, 2 for every usage error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Clap(e) if !e.use_stderr() => 0,
            _ => 2,
        }
    }

    /// Print the message (stdout for help/version, stderr otherwise) and return the
    /// exit code: 0 for help/version, 2 for every usage error.
    pub fn report(&self) -> u8 {
        match self {
            CliError::Clap(e) => {
                let _ = e.print();
            }
            CliError::Usage(msg) => {
                eprintln!("certvigil: error: {msg}");
                eprintln!("Run `certvigil --help` for usage.");
            }
        }
        self.exit_code()
    }
}

/// Parse and validate command-line arguments (the first item is the program name).
pub fn parse_args<I, T>(args: I) -> Result<Options, CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(args).map_err(CliError::Clap)?;
    validate(cli).map_err(CliError::Usage)
}

/// Raw arguments → validated options.
pub fn validate(cli: Cli) -> Result<Options, String> {
    let log_level = match (&cli.log_level, cli.verbose) {
        (Some(l), _) => Some(validate_log_level(l)?),
        (None, 0) => None,
        (None, 1) => Some("debug".to_string()),
        (None, _) => Some("trace".to_string()),
    };
    let command = match cli.command {
        None => Command::Serve(ServeOptions {
            spec: ConfigSpec::default(),
        }),
        Some(RawCommand::Serve(s)) => {
            let mut spec = source_spec(s.src)?;
            if let Some(l) = s.listen {
                if l.trim().is_empty() {
                    return Err("--listen must not be empty".to_string());
                }
                spec.overrides.listen = Some(l);
            }
            spec.overrides.web_config_file = s.web_config_file;
            Command::Serve(ServeOptions { spec })
        }
        Some(RawCommand::Scan(s)) => {
            let spec = source_spec(s.src)?;
            let at = parse_at(s.at)?;
            let fail_within = match s.fail_within {
                None => None,
                Some(d) => Some(
                    config::duration::parse_duration(&d)
                        .map_err(|e| format!("--fail-within: {e}"))?,
                ),
            };
            let mut fail_on = FailOn::default();
            for list in &s.fail_on {
                fail_on = fail_on
                    .union(policy::parse_fail_on(list).map_err(|e| format!("--fail-on: {e}"))?);
            }
            Command::Scan(ScanOptions {
                spec,
                format: s.format,
                at,
                policy: Policy {
                    fail_within,
                    fail_on,
                },
            })
        }
        Some(RawCommand::Report(r)) => {
            let spec = source_spec(r.src)?;
            let at = parse_at(r.at)?;
            if let Some(o) = &r.output {
                if o.as_os_str().is_empty() || o.file_name().is_none() {
                    return Err(format!("-o {}: not a file name", o.display()));
                }
            }
            Command::Report(ReportOptions {
                spec,
                format: r.format,
                output: r.output,
                at,
            })
        }
        Some(RawCommand::CheckConfig(c)) => Command::CheckConfig { config: c.config },
        Some(RawCommand::PrintDefaultConfig) => Command::PrintDefaultConfig,
        Some(RawCommand::Healthcheck(h)) => {
            Command::Healthcheck(parse_healthcheck(&h.url, &h.timeout)?)
        }
    };
    Ok(Options { log_level, command })
}

fn parse_at(at: Option<String>) -> Result<Option<DateTime<Utc>>, String> {
    match at {
        None => Ok(None),
        Some(a) => Ok(Some(
            DateTime::parse_from_rfc3339(a.trim())
                .map_err(|e| {
                    format!("--at {a:?}: not an RFC 3339 instant ({e}); e.g. 2026-11-23T10:00:00Z")
                })?
                .with_timezone(&Utc),
        )),
    }
}

/// `healthcheck --url/--timeout` → options. Only `http://` with an IP literal or
/// `localhost` host (no DNS: the probe must not depend on a resolver).
pub fn parse_healthcheck(url: &str, timeout: &str) -> Result<HealthcheckOptions, String> {
    let timeout = config::duration::parse_duration(timeout)
        .map_err(|e| format!("--timeout: {e}"))?
        .max(Duration::from_millis(100));
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("--url {url:?}: only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if path.chars().any(|c| c.is_control() || c == ' ') {
        return Err(format!("--url {url:?}: invalid path"));
    }
    let with_port = if authority.ends_with(']') || !authority.contains(':') {
        format!("{authority}:80")
    } else {
        authority.to_string()
    };
    // The one listen-address parser; a health check dials an IP or localhost only.
    let parsed = crate::config::listen::ListenAddr::parse(&with_port)
        .map_err(|_| format!("--url {url:?}: bad host or port"))?;
    let addr = match &parsed.host {
        crate::config::listen::ListenHost::Ip(_) => parsed.resolve(),
        crate::config::listen::ListenHost::Name(n) if n.eq_ignore_ascii_case("localhost") => {
            parsed.resolve()
        }
        _ => {
            return Err(format!(
                "--url {url:?}: the host must be an IP address or localhost"
            ))
        }
    }
    .map_err(|e| format!("--url {url:?}: {e}"))?;
    Ok(HealthcheckOptions {
        addr,
        host: authority.to_string(),
        path: path.to_string(),
        timeout,
    })
}

fn validate_log_level(l: &str) -> Result<String, String> {
    let l = l.trim();
    if l.is_empty() {
        return Err("--log.level must not be empty".to_string());
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(l)
        .map_err(|e| format!("--log.level {l:?}: {e}"))?;
    Ok(l.to_string())
}

fn source_spec(src: RawSourceArgs) -> Result<ConfigSpec, String> {
    if let Some(p) = src.paths.iter().find(|p| p.is_empty()) {
        return Err(format!("empty PATH argument {p:?}"));
    }
    use crate::sources::tls_endpoint::target;
    let (urls, paths): (Vec<String>, Vec<String>) = src
        .paths
        .into_iter()
        .partition(|p| target::looks_like_url(p));
    let mut targets = Vec::new();
    for u in &urls {
        targets.push(target::parse(u, false).map_err(|e| format!("URL argument {u:?}: {e}"))?);
    }
    Ok(ConfigSpec {
        config_file: src.config,
        overrides: Overrides {
            paths,
            targets,
            docker: src.docker,
            trust_roots: src.trust_roots,
            intermediates: src.intermediates,
            crl_files: src.crl,
            offline: src.offline,
            fetch_aia: src.fetch_aia,
            trust_profile: src.trust_profile,
            listen: None,
            web_config_file: None,
            kubernetes: src.kubernetes,
        },
    })
}

/// Default `max_file_size` of a file source (config documentation: 1 MiB).
const DEFAULT_MAX_FILE_SIZE: u64 = 1024 * 1024;
/// Default `max_files` of a file source.
const DEFAULT_MAX_FILES: usize = 200_000;

/// Apply the command-line overrides of `spec` to a loaded configuration. Pure.
/// `cfg` is the `--config` file's configuration when `spec.config_file` is set,
/// else the embedded default.
pub fn apply_overrides(mut cfg: Config, spec: &ConfigSpec) -> Config {
    let o = &spec.overrides;
    if !o.paths.is_empty() {
        let from_file = spec.config_file.is_some();
        let file_sources: Vec<&FileSourceConfig> = if from_file {
            cfg.sources
                .of::<FileSourceConfig>()
                .filter(|f| f.kind == SourceKind::File)
                .collect()
        } else {
            Vec::new()
        };
        let max_file_size = file_sources
            .iter()
            .map(|f| f.max_file_size)
            .max()
            .unwrap_or(DEFAULT_MAX_FILE_SIZE);
        let mut pkcs12_passwords: Vec<String> = Vec::new();
        let mut keystore_passwords: Vec<String> = Vec::new();
        for f in &file_sources {
            for p in &f.pkcs12_passwords {
                if !pkcs12_passwords.contains(p) {
                    pkcs12_passwords.push(p.clone());
                }
            }
            for p in &f.keystore_passwords {
                if !keystore_passwords.contains(p) {
                    keystore_passwords.push(p.clone());
                }
            }
        }
        let cli = FileSourceConfig {
            kind: SourceKind::File,
            name: CLI_FILES_SOURCE.to_string(),
            paths: o.paths.clone(),
            exclude: Vec::new(),
            follow_symlinks: true,
            max_file_size,
            pkcs12_passwords,
            try_empty_password: true,
            keystore_passwords,
            max_files: DEFAULT_MAX_FILES,
            watch: Default::default(),
        };
        if from_file {
            cfg.sources
                .retain_of::<FileSourceConfig>(|f| f.kind != SourceKind::File);
        } else {
            cfg.sources.retain_of::<FileSourceConfig>(|_| false);
            // Without --config, PATH... scans only those paths (and what the
            // command line asks for).
            if let Some(k) = cfg.sources.section_mut::<KubernetesConfig>() {
                k.enabled = KubeEnabled::Off;
            }
        }
        cfg.sources.insert_first(cli);
        // PATH arguments without --config replace the default sources: the Docker
        // source of the embedded default ("auto") stays off unless --docker.
        if !from_file {
            if let Some(d) = cfg.sources.section_mut::<DockerConfig>() {
                d.enabled = DockerEnabled::Off;
            }
        }
    }
    if !o.targets.is_empty() {
        use crate::sources::tls_endpoint::{TlsEndpointConfig, CLI_SOURCE_NAME};
        if spec.config_file.is_none() && o.paths.is_empty() {
            // URL... alone (no PATH, no --config) scans only those endpoints.
            cfg.sources.retain_of::<FileSourceConfig>(|_| false);
            if let Some(k) = cfg.sources.section_mut::<KubernetesConfig>() {
                k.enabled = KubeEnabled::Off;
            }
            if let Some(d) = cfg.sources.section_mut::<DockerConfig>() {
                d.enabled = DockerEnabled::Off;
            }
        }
        cfg.sources
            .retain_of::<TlsEndpointConfig>(|t| t.name != CLI_SOURCE_NAME);
        cfg.sources.insert_first(TlsEndpointConfig::with_targets(
            CLI_SOURCE_NAME,
            o.targets.clone(),
        ));
    }
    if o.docker {
        // The configured Docker sources: the `kind: docker` entries when there are
        // any (the top-level section is then off unless given), else the section.
        for d in cfg.sources.of_mut::<DockerConfig>() {
            d.enabled = DockerEnabled::On;
        }
        // `--docker` alone (no PATH, no --config) scans only Docker.
        if spec.config_file.is_none() && o.paths.is_empty() && o.targets.is_empty() {
            cfg.sources.retain_of::<FileSourceConfig>(|_| false);
        }
    }
    if o.kubernetes {
        // Like --docker: the `kind: kubernetes` entries when there are any, else the
        // top-level section.
        for k in cfg.sources.of_mut::<KubernetesConfig>() {
            k.enabled = KubeEnabled::On;
        }
    }
    if !o.trust_roots.is_empty() {
        cfg.trust.roots = o.trust_roots.clone();
    }
    if !o.intermediates.is_empty() {
        cfg.trust.intermediates = o.intermediates.clone();
    }
    if !o.crl_files.is_empty() {
        cfg.revocation.crl_files = o.crl_files.clone();
    }
    if o.offline {
        cfg.revocation.offline = true;
    }
    if o.fetch_aia {
        cfg.trust.fetch_aia = true;
    }
    if let Some(p) = o.trust_profile {
        cfg.trust.profile = p;
    }
    if let Some(l) = &o.listen {
        cfg.server.listen = l.clone();
    }
    if let Some(w) = &o.web_config_file {
        cfg.server.web_config_file = Some(w.clone());
    }
    cfg
}

/// A scan interval that `tokio::time::interval` accepts (never zero).
pub fn effective_interval(d: Duration) -> Duration {
    d.max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::tls_endpoint::TlsEndpointConfig;

    fn parse(args: &[&str]) -> Result<Options, CliError> {
        parse_args(std::iter::once("certvigil").chain(args.iter().copied()))
    }

    fn usage_err(args: &[&str]) -> String {
        match parse(args) {
            Err(CliError::Usage(m)) => m,
            other => panic!("expected a usage error for {args:?}, got {other:?}"),
        }
    }

    #[test]
    fn no_subcommand_is_serve_with_default() {
        let o = parse(&[]).unwrap();
        assert_eq!(
            o.command,
            Command::Serve(ServeOptions {
                spec: ConfigSpec::default()
            })
        );
        assert_eq!(o.log_level, None);
    }

    #[test]
    fn scan_options() {
        let o = parse(&[
            "scan",
            "--format",
            "csv",
            "--at",
            "2026-11-23T10:00:00+01:00",
            "--fail-within",
            "30d",
            "--fail-on",
            "expired,error",
            "--fail-on",
            "revoked",
            "--trust-roots",
            "/a",
            "--trust-roots",
            "/b",
            "--offline",
            "/etc/ssl",
            "x.pem",
        ])
        .unwrap();
        let Command::Scan(s) = o.command else {
            panic!("not scan")
        };
        assert_eq!(s.format, OutputFormat::Csv);
        assert_eq!(
            s.at.unwrap().to_rfc3339(),
            "2026-11-23T09:00:00+00:00".to_string()
        );
        assert_eq!(s.policy.fail_within, Some(Duration::from_secs(30 * 86400)));
        assert!(s.policy.fail_on.expired && s.policy.fail_on.error && s.policy.fail_on.revoked);
        assert!(!s.policy.fail_on.untrusted);
        assert_eq!(s.spec.overrides.paths, vec!["/etc/ssl", "x.pem"]);
        assert_eq!(s.spec.overrides.trust_roots.len(), 2);
        assert!(s.spec.overrides.offline);
    }

    #[test]
    fn url_arguments_become_an_endpoint_source() {
        let Command::Scan(s) = parse(&["scan", "x.pem", "smtp://[::1]:2525", "tls://h:1"])
            .unwrap()
            .command
        else {
            panic!("not scan")
        };
        assert_eq!(s.spec.overrides.paths, vec!["x.pem"]);
        assert_eq!(s.spec.overrides.targets.len(), 2);
        let only_urls = ConfigSpec {
            config_file: None,
            overrides: Overrides {
                targets: s.spec.overrides.targets.clone(),
                ..Default::default()
            },
        };
        let cfg = apply_overrides(crate::setup::default_config(), &only_urls);
        assert!(files(&cfg).is_empty());
        let docker = cfg.sources.section::<DockerConfig>().unwrap();
        assert_eq!(docker.enabled, DockerEnabled::Off);
        let tls: Vec<&TlsEndpointConfig> = cfg.sources.of().collect();
        assert_eq!(tls.len(), 1);
        assert_eq!(tls[0].name, "endpoints");
        assert!(parse(&["scan", "tls://h"]).is_err());
    }

    #[test]
    fn scan_default_format_is_table() {
        let Command::Scan(s) = parse(&["scan"]).unwrap().command else {
            panic!()
        };
        assert_eq!(s.format, OutputFormat::Table);
        assert_eq!(s.policy, Policy::default());
    }

    #[test]
    fn bad_values_are_usage_errors() {
        assert!(usage_err(&["scan", "--fail-on", "expired,bogus"]).contains("bogus"));
        assert!(usage_err(&["scan", "--fail-within", "soon"]).contains("--fail-within"));
        assert!(usage_err(&["scan", "--at", "yesterday"]).contains("--at"));
        let o = parse(&["serve", "--kubernetes"]).unwrap();
        let Command::Serve(s) = o.command else {
            panic!("expected serve")
        };
        assert!(s.spec.overrides.kubernetes);
        let cfg = apply_overrides(crate::setup::default_config(), &s.spec);
        let k = cfg.sources.section::<KubernetesConfig>().unwrap();
        assert_eq!(k.enabled, KubeEnabled::On);
        assert!(usage_err(&["--log.level", "info,[[["]).contains("--log.level"));
    }

    #[test]
    fn clap_errors_exit_2_help_exits_0() {
        for args in [
            &["scan", "--format", "xml"][..],
            &["frobnicate"][..],
            &["check-config"][..],
            &["scan", "--nope"][..],
        ] {
            match parse(args) {
                Err(e @ CliError::Clap(_)) => assert_eq!(e.exit_code(), 2, "{args:?}"),
                other => panic!("{args:?}: {other:?}"),
            }
        }
        match parse(&["--help"]) {
            Err(e @ CliError::Clap(_)) => assert_eq!(e.exit_code(), 0),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn serve_and_global_options() {
        let o = parse(&[
            "serve",
            "--listen",
            "127.0.0.1:1",
            "--web.config.file",
            "w.yml",
            "--config",
            "c.yml",
            "-vv",
            "/p",
        ])
        .unwrap();
        assert_eq!(o.log_level.as_deref(), Some("trace"));
        let Command::Serve(s) = o.command else {
            panic!()
        };
        assert_eq!(s.spec.config_file, Some(PathBuf::from("c.yml")));
        assert_eq!(s.spec.overrides.listen.as_deref(), Some("127.0.0.1:1"));
        assert_eq!(
            s.spec.overrides.web_config_file,
            Some(PathBuf::from("w.yml"))
        );
        assert_eq!(s.spec.overrides.paths, vec!["/p"]);
        let o = parse(&["--log.level", "debug", "-v", "print-default-config"]).unwrap();
        assert_eq!(o.log_level.as_deref(), Some("debug"));
        assert_eq!(o.command, Command::PrintDefaultConfig);
        let o = parse(&["check-config", "--config", "c.yml"]).unwrap();
        assert_eq!(
            o.command,
            Command::CheckConfig {
                config: PathBuf::from("c.yml")
            }
        );
    }

    fn spec(config_file: Option<&str>, paths: &[&str]) -> ConfigSpec {
        ConfigSpec {
            config_file: config_file.map(PathBuf::from),
            overrides: Overrides {
                paths: paths.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
        }
    }

    fn files(cfg: &Config) -> Vec<&FileSourceConfig> {
        cfg.sources.of::<FileSourceConfig>().collect()
    }

    #[test]
    fn paths_replace_default_sources() {
        let cfg = apply_overrides(crate::setup::default_config(), &spec(None, &["/x", "/y"]));
        assert_eq!(files(&cfg).len(), 1);
        let f = files(&cfg)[0];
        assert_eq!(f.name, CLI_FILES_SOURCE);
        assert_eq!(f.kind, SourceKind::File);
        assert_eq!(f.paths, vec!["/x", "/y"]);
        assert_eq!(f.max_file_size, DEFAULT_MAX_FILE_SIZE);
        assert!(f.pkcs12_passwords.is_empty());
    }

    #[test]
    fn paths_keep_config_size_and_passwords_and_kubeconfigs() {
        let mut base = crate::setup::default_config();
        let mut file = files(&base)[0].clone();
        file.max_file_size = 5;
        file.pkcs12_passwords = vec!["a".into(), "b".into()];
        let mut other = file.clone();
        other.name = "other".into();
        other.max_file_size = 7;
        other.pkcs12_passwords = vec!["b".into(), "c".into()];
        let mut kube = file.clone();
        kube.kind = SourceKind::Kubeconfig;
        kube.name = "kube".into();
        base.sources.retain_of::<FileSourceConfig>(|_| false);
        for f in [file, kube.clone(), other] {
            base.sources.push(f);
        }
        let cfg = apply_overrides(base, &spec(Some("c.yml"), &["/z"]));
        let f = files(&cfg);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].name, CLI_FILES_SOURCE);
        assert_eq!(f[0].max_file_size, 7);
        assert_eq!(f[0].pkcs12_passwords, vec!["a", "b", "c"]);
        assert_eq!(f[1], &kube);
    }

    #[test]
    fn no_paths_keeps_sources_and_applies_other_overrides() {
        let base = crate::setup::default_config();
        let mut s = spec(None, &[]);
        s.overrides.trust_roots = vec![PathBuf::from("/roots")];
        s.overrides.crl_files = vec![PathBuf::from("/crl")];
        s.overrides.offline = true;
        s.overrides.listen = Some("127.0.0.1:9".into());
        let cfg = apply_overrides(base.clone(), &s);
        assert_eq!(cfg.sources, base.sources);
        assert_eq!(cfg.trust.roots, vec![PathBuf::from("/roots")]);
        assert_eq!(cfg.trust.intermediates, base.trust.intermediates);
        assert_eq!(cfg.revocation.crl_files, vec![PathBuf::from("/crl")]);
        assert!(cfg.revocation.offline);
        assert_eq!(cfg.server.listen, "127.0.0.1:9");
    }

    #[test]
    fn interval_never_zero() {
        assert_eq!(effective_interval(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(
            effective_interval(Duration::from_secs(300)),
            Duration::from_secs(300)
        );
    }
}
