//! The prometheus-client [`Collector`] over one snapshot.
//!
//! [`SnapshotCollector::build`] turns a snapshot (or its absence) into owned,
//! ready-to-encode families: per-certificate gauges, `x509_cert_info`,
//! `x509_cert_error`, and the exporter's self metrics. Per-certificate label
//! blocks are escaped once (see [`super::labels`]) and handed to
//! prometheus-client as a pre-encoded label set; every other label goes through
//! prometheus-client's own label encoder.
//!
//! Values that are not finite (NaN, ±inf, e.g. from a bogus clock) are never
//! written: the affected series is left out, the rest of the exposition stands.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeMetric, LabelSetEncoder,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use super::labels;
use crate::config::MetricsConfig;
use crate::inventory::Snapshot;
use crate::model::{KeystoreFormat, Reason, RevocationStatus, TrustStatus};

/// A gauge value: integers stay integers in the exposition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
}

/// A label set already escaped and joined (`a="x",b="y"`), in one or two
/// parts (the second one is appended after a comma when non-empty).
#[derive(Debug)]
struct PreEncoded<'a>(&'a str, &'a str);

impl EncodeLabelSet for PreEncoded<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        if self.0.is_empty() && self.1.is_empty() {
            return Ok(());
        }
        // The key encoder writes verbatim; the blocks are complete
        // `name="value"` pairs, so no value encoder is opened.
        let mut label = encoder.encode_label();
        let mut key = label.encode_label_key()?;
        key.write_str(self.0)?;
        if !self.0.is_empty() && !self.1.is_empty() {
            key.write_str(",")?;
        }
        key.write_str(self.1)
    }
}

/// Labels passed through prometheus-client's own escaping.
type Pairs = Vec<(&'static str, String)>;

#[derive(Debug)]
enum Series {
    /// Per-certificate series: index into the pre-encoded blocks.
    Block { block: usize, value: Value },
    /// Pre-encoded error block.
    ErrorBlock { block: usize, value: Value },
    /// Pre-encoded CRL block.
    CrlBlock { block: usize, value: Value },
    /// Ordinary labels (self metrics).
    Labels { labels: Pairs, value: Value },
    /// `x509_cert_trusted`: the certificate's block plus `reason="…"` (a
    /// bounded code, empty when trusted).
    Trusted {
        block: usize,
        reason: &'static str,
        value: Value,
    },
    /// `x509_cert_info` sample for one certificate.
    Info { block: usize },
    /// Counter with ordinary labels.
    Counter { labels: Pairs, value: u64 },
}

#[derive(Debug)]
struct Family {
    /// OpenMetrics family name (counters without `_total`, info without `_info`).
    name: &'static str,
    help: &'static str,
    typ: MetricType,
    series: Vec<Series>,
    /// Emit HELP/TYPE even when `series` is empty.
    always: bool,
}

/// Everything one scrape exposes, owned (a [`Collector`] must be `'static`).
#[derive(Debug)]
pub struct SnapshotCollector {
    cert_blocks: Vec<String>,
    crl_blocks: Vec<String>,
    info_blocks: Vec<String>,
    error_blocks: Vec<String>,
    families: Vec<Family>,
}

/// Help texts (public for tests and docs): no `\`, `"` or line feed (identical in both formats).
pub mod help {
    pub const BUILD_INFO: &str = "certvigil build information (always 1).";
    pub const READY: &str = "1 once the first scan completed and metrics reflect it, 0 before.";
    pub const READ_ERRORS: &str =
        "Number of errors (unreadable or unparsable objects, failed sources) in the last completed scan.";
    pub const SCAN_DURATION: &str = "Wall time of the last completed scan, in seconds.";
    pub const SCAN_LAST_SUCCESS: &str = "Unix time (seconds) at which the last scan completed.";
    pub const SOURCE_UP: &str =
        "1 if the last scan of this source completed without a source-level failure, else 0.";
    pub const SOURCE_ERRORS: &str =
        "Errors of this source since the exporter started, by bounded reason.";
    pub const SOURCE_BUNDLES: &str =
        "Objects (files, Secrets, kubeconfig entries, ...) currently held from this source.";
    pub const CERTIFICATES: &str = "Certificates currently held from this source.";
    pub const PKCS12_PASSPHRASE: &str =
        "PKCS#12 archives that no configured password opened (bad_passphrase), since the exporter started.";
    pub const JKS_PASSPHRASE: &str =
        "Java keystores (JKS, JCEKS) whose integrity digest no configured password reproduced (bad_passphrase), since the exporter started.";
    pub const KUBE_TRANSPORT: &str =
        "Kubernetes API LIST/WATCH failures of this source by watched resource and reason, since the exporter started.";
    pub const KUBE_RESYNCS: &str =
        "Re-LISTs of a watched Kubernetes resource after its watcher had synced (410 Gone, restart), since the exporter started.";
    pub const DOCKER_SECRET: &str =
        "Docker swarm secret listed without its content (secrets.mode metadata, or not readable here), with the services that mount it (always 1).";
    pub const COLLISIONS: &str =
        "Certificates in the last scan whose labels collided with another certificate and got a discriminator label (n-1 per colliding group).";
    pub const NOT_AFTER: &str = "Certificate notAfter (expiration) as Unix time in seconds.";
    pub const NOT_BEFORE: &str =
        "Certificate notBefore (start of validity) as Unix time in seconds.";
    pub const EXPIRED: &str = "1 if the certificate was expired at the last scan, else 0.";
    pub const EXPIRES_IN: &str =
        "Seconds until the certificate expires, computed at scrape time (negative once expired).";
    pub const VALID_SINCE: &str =
        "Seconds since the certificate became valid, computed at scrape time (negative before).";
    pub const ERROR: &str =
        "1 for an object (file, Secret key, ...) that failed to read or parse, with its location labels; 0 per good certificate.";
    pub const REVOKED: &str =
        "1 if the certificate is revoked, 0 if known good; absent when no revocation answer was obtained.";
    pub const TRUSTED: &str =
        "1 if the certificate chains to a trust anchor, 0 if untrusted, incomplete or self-signed; absent when not verified.";
    pub const INFO: &str =
        "Descriptive certificate labels (always 1): fingerprint, key, signature algorithm, CA flag, trust and revocation status, DNS names.";

    pub const CRL_THIS_UPDATE: &str = "CRL thisUpdate as Unix time in seconds.";
    pub const CRL_NEXT_UPDATE: &str =
        "CRL nextUpdate as Unix time in seconds (absent when the CRL has none).";
    pub const CRL_STALE: &str = "1 if the CRL was past its nextUpdate at the last scan, else 0.";
    pub const CRL_NUMBER: &str = "CRL number (cRLNumber extension), 0 when absent.";
    pub const VAULT_TOKEN_EXPIRY: &str =
        "Unix time (seconds) at which the token a vault source reads Vault/OpenBao with expires (absent for a token without expiry).";

    /// Every help text (for the escaping test).
    pub const ALL: [&str; 26] = [
        VAULT_TOKEN_EXPIRY,
        PKCS12_PASSPHRASE,
        JKS_PASSPHRASE,
        CRL_THIS_UPDATE,
        CRL_NEXT_UPDATE,
        CRL_STALE,
        CRL_NUMBER,
        BUILD_INFO,
        READY,
        READ_ERRORS,
        SCAN_DURATION,
        SCAN_LAST_SUCCESS,
        SOURCE_UP,
        SOURCE_ERRORS,
        SOURCE_BUNDLES,
        CERTIFICATES,
        COLLISIONS,
        NOT_AFTER,
        NOT_BEFORE,
        EXPIRED,
        EXPIRES_IN,
        VALID_SINCE,
        ERROR,
        REVOKED,
        TRUSTED,
        INFO,
    ];
}

fn gauge(name: &'static str, help: &'static str, always: bool) -> Family {
    Family {
        name,
        help,
        typ: MetricType::Gauge,
        series: Vec::new(),
        always,
    }
}

fn finite(v: f64) -> Option<Value> {
    v.is_finite().then_some(Value::Float(v))
}

fn bool_value(b: bool) -> Value {
    Value::Int(i64::from(b))
}

fn count(n: usize) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

impl SnapshotCollector {
    /// Prepare every family for `snap` (None = before the first scan).
    pub fn build(snap: Option<&Snapshot>, cfg: &MetricsConfig, now_unix: f64) -> Self {
        let mut families = Vec::new();

        let mut build = Family {
            name: "x509_exporter_build",
            help: help::BUILD_INFO,
            typ: MetricType::Info,
            series: Vec::new(),
            always: true,
        };
        build.series.push(Series::Labels {
            labels: build_info_labels(),
            value: Value::Int(1),
        });
        families.push(build);

        let mut ready = gauge("x509_exporter_ready", help::READY, true);
        ready.series.push(Series::Labels {
            labels: Vec::new(),
            value: bool_value(snap.is_some()),
        });
        families.push(ready);

        let mut read_errors = gauge("x509_read_errors", help::READ_ERRORS, true);
        read_errors.series.push(Series::Labels {
            labels: Vec::new(),
            value: count(snap.map_or(0, |s| s.errors.len())),
        });
        families.push(read_errors);

        let Some(snap) = snap else {
            return SnapshotCollector {
                cert_blocks: Vec::new(),
                crl_blocks: Vec::new(),
                info_blocks: Vec::new(),
                error_blocks: Vec::new(),
                families,
            };
        };

        let mut dur = gauge("x509_scan_duration_seconds", help::SCAN_DURATION, false);
        if let Some(v) = finite(snap.scan_duration_seconds) {
            dur.series.push(Series::Labels {
                labels: Vec::new(),
                value: v,
            });
        }
        families.push(dur);
        let mut last = gauge(
            "x509_scan_last_success_timestamp_seconds",
            help::SCAN_LAST_SUCCESS,
            false,
        );
        if let Some(v) = finite(snap.completed_at_unix) {
            last.series.push(Series::Labels {
                labels: Vec::new(),
                value: v,
            });
        }
        families.push(last);

        let mut up = gauge("x509_source_up", help::SOURCE_UP, false);
        let mut bundles = gauge("x509_source_bundles", help::SOURCE_BUNDLES, false);
        let mut certificates = gauge("x509_certificates", help::CERTIFICATES, false);
        let mut errors = Family {
            name: "x509_source_errors",
            help: help::SOURCE_ERRORS,
            typ: MetricType::Counter,
            series: Vec::new(),
            always: false,
        };
        for s in &snap.sources {
            let base: Pairs = vec![
                ("source_kind", s.kind.as_str().to_string()),
                ("source_name", s.name.clone()),
            ];
            up.series.push(Series::Labels {
                labels: base.clone(),
                value: bool_value(s.up),
            });
            bundles.series.push(Series::Labels {
                labels: base.clone(),
                value: count(s.objects),
            });
            certificates.series.push(Series::Labels {
                labels: base.clone(),
                value: count(s.certificates),
            });
            for r in Reason::ALL {
                let mut labels = base.clone();
                labels.push(("reason", r.as_str().to_string()));
                errors.series.push(Series::Counter {
                    labels,
                    value: s.errors_total.get(&r).copied().unwrap_or(0),
                });
            }
        }
        families.extend([up, errors, bundles, certificates]);
        let mut token = gauge(
            "x509_vault_token_expiry_timestamp_seconds",
            help::VAULT_TOKEN_EXPIRY,
            false,
        );
        for c in &snap.credentials {
            if c.kind != crate::model::SourceKind::Vault {
                continue;
            }
            token.series.push(Series::Labels {
                labels: vec![
                    ("source_kind", c.kind.as_str().to_string()),
                    ("source_name", c.name.clone()),
                ],
                value: Value::Int(c.expires_at),
            });
        }
        families.push(token);

        // Passphrase failures by keystore format, per source name (summed over the
        // kinds of one source), for the sources that can read keystores (pre-created
        // at 0 there, absent otherwise: the established exporter's v4.2 families).
        let mut by_name: BTreeMap<&str, BTreeMap<KeystoreFormat, u64>> = BTreeMap::new();
        for s in snap.sources.iter().filter(|s| s.kind.reads_keystores()) {
            let e = by_name.entry(s.name.as_str()).or_default();
            for f in KeystoreFormat::ALL {
                *e.entry(f).or_insert(0) += s.passphrase_failures.get(&f).copied().unwrap_or(0);
            }
        }
        for (f, name, help) in [
            (
                KeystoreFormat::Pkcs12,
                "x509_pkcs12_passphrase_failures",
                help::PKCS12_PASSPHRASE,
            ),
            (
                KeystoreFormat::Jks,
                "x509_jks_passphrase_failures",
                help::JKS_PASSPHRASE,
            ),
        ] {
            let mut fam = Family {
                name,
                help,
                typ: MetricType::Counter,
                series: Vec::new(),
                always: false,
            };
            for (source, counts) in &by_name {
                fam.series.push(Series::Counter {
                    labels: vec![("source_name", source.to_string())],
                    value: counts.get(&f).copied().unwrap_or(0),
                });
            }
            families.push(fam);
        }

        // Kubernetes transport failures and re-LISTs, per source name and
        // watched resource (pre-created; absent without a Kubernetes source).
        let mut transport = Family {
            name: "x509_kube_transport_errors",
            help: help::KUBE_TRANSPORT,
            typ: MetricType::Counter,
            series: Vec::new(),
            always: false,
        };
        let mut resyncs = Family {
            name: "x509_kube_watch_resyncs",
            help: help::KUBE_RESYNCS,
            typ: MetricType::Counter,
            series: Vec::new(),
            always: false,
        };
        for s in &snap.sources {
            for ((resource, reason), n) in &s.kube_transport_errors {
                transport.series.push(Series::Counter {
                    labels: vec![
                        ("source_name", s.name.clone()),
                        ("resource", resource.to_string()),
                        ("reason", reason.as_str().to_string()),
                    ],
                    value: *n,
                });
            }
            for (resource, n) in &s.kube_watch_resyncs {
                resyncs.series.push(Series::Counter {
                    labels: vec![
                        ("source_name", s.name.clone()),
                        ("resource", resource.to_string()),
                    ],
                    value: *n,
                });
            }
        }
        families.extend([transport, resyncs]);

        let mut secrets = Family {
            name: "x509_docker_secret",
            help: help::DOCKER_SECRET,
            typ: MetricType::Info,
            series: Vec::new(),
            always: false,
        };
        for m in snap
            .metadata
            .iter()
            .filter(|m| m.kind == crate::model::SourceKind::DockerSecret)
        {
            let l = |n: &str| m.label(n).unwrap_or("").to_string();
            secrets.series.push(Series::Labels {
                labels: vec![
                    ("source_name", m.name.clone()),
                    ("docker_name", l("docker_name")),
                    ("docker_id", l("docker_id")),
                    ("docker_service", l("docker_service")),
                ],
                value: Value::Int(1),
            });
        }
        families.push(secrets);

        for (name, help, info, series) in super::endpoint::families(snap) {
            families.push(Family {
                name,
                help,
                typ: if info {
                    MetricType::Info
                } else {
                    MetricType::Gauge
                },
                series: series
                    .into_iter()
                    .map(|(labels, value)| Series::Labels { labels, value })
                    .collect(),
                always: false,
            });
        }

        // Series derived from watched objects (Ingresses, cert-manager), per family.
        for metric in crate::model::ObjectMetric::ALL {
            let mut fam = Family {
                name: metric.name(),
                help: metric.help(),
                typ: if metric.is_info() {
                    MetricType::Info
                } else {
                    MetricType::Gauge
                },
                series: Vec::new(),
                always: false,
            };
            let names = metric.label_names();
            for s in snap
                .object_series
                .iter()
                .flat_map(|l| l.iter())
                .filter(|s| s.metric == metric)
            {
                let value = if metric.is_info() {
                    Some(Value::Int(1))
                } else if s.value.fract() == 0.0 && s.value.abs() < 9.0e15 {
                    Some(Value::Int(s.value as i64))
                } else {
                    finite(s.value)
                };
                if let Some(value) = value {
                    fam.series.push(Series::Labels {
                        labels: names
                            .iter()
                            .zip(s.labels.iter())
                            .map(|(n, v)| (*n, v.to_string()))
                            .collect(),
                        value,
                    });
                }
            }
            families.push(fam);
        }

        let prepared = labels::prepare(&snap.certificates, &snap.errors, cfg);

        let mut collisions = Family {
            name: "x509_cert_collision",
            help: help::COLLISIONS,
            typ: MetricType::Counter,
            series: Vec::new(),
            always: false,
        };
        let mut kinds: std::collections::BTreeSet<&'static str> =
            snap.sources.iter().map(|s| s.kind.as_str()).collect();
        kinds.extend(snap.certificates.iter().map(|c| c.source.kind.as_str()));
        for k in kinds {
            collisions.series.push(Series::Counter {
                labels: vec![("source_kind", k.to_string())],
                value: prepared.collisions.get(k).copied().unwrap_or(0),
            });
        }
        families.push(collisions);

        let mut not_after = gauge("x509_cert_not_after", help::NOT_AFTER, false);
        let mut not_before = gauge("x509_cert_not_before", help::NOT_BEFORE, false);
        let mut expired = gauge("x509_cert_expired", help::EXPIRED, false);
        let mut expires_in = gauge("x509_cert_expires_in_seconds", help::EXPIRES_IN, false);
        let mut valid_since = gauge("x509_cert_valid_since_seconds", help::VALID_SINCE, false);
        let mut error = gauge("x509_cert_error", help::ERROR, false);
        let mut revoked = gauge("x509_cert_revoked", help::REVOKED, false);
        let mut trusted = gauge("x509_cert_trusted", help::TRUSTED, false);
        let mut info = Family {
            name: "x509_cert",
            help: help::INFO,
            typ: MetricType::Info,
            series: Vec::new(),
            always: false,
        };
        for (block, entry) in snap.certificates.iter().enumerate() {
            let c = &entry.cert;
            not_after.series.push(Series::Block {
                block,
                value: Value::Int(c.not_after),
            });
            if cfg.expose_not_before {
                not_before.series.push(Series::Block {
                    block,
                    value: Value::Int(c.not_before),
                });
            }
            if cfg.expose_expired {
                expired.series.push(Series::Block {
                    block,
                    value: bool_value(entry.expired),
                });
            }
            if cfg.expose_relative {
                // i64 → f64 is exact for any realistic timestamp.
                if let Some(v) = finite(c.not_after as f64 - now_unix) {
                    expires_in.series.push(Series::Block { block, value: v });
                }
                if let Some(v) = finite(now_unix - c.not_before as f64) {
                    valid_since.series.push(Series::Block { block, value: v });
                }
            }
            if cfg.expose_per_cert_error {
                error.series.push(Series::Block {
                    block,
                    value: Value::Int(0),
                });
            }
            match entry.revocation.status {
                RevocationStatus::Revoked => revoked.series.push(Series::Block {
                    block,
                    value: Value::Int(1),
                }),
                RevocationStatus::Good => revoked.series.push(Series::Block {
                    block,
                    value: Value::Int(0),
                }),
                RevocationStatus::Unknown | RevocationStatus::NotChecked => {}
            }
            let reason = entry.trust.reason.map_or("", |r| r.as_str());
            match entry.trust.status {
                TrustStatus::Trusted => trusted.series.push(Series::Trusted {
                    block,
                    reason: "",
                    value: Value::Int(1),
                }),
                TrustStatus::Untrusted | TrustStatus::Incomplete | TrustStatus::SelfSigned => {
                    trusted.series.push(Series::Trusted {
                        block,
                        reason,
                        value: Value::Int(0),
                    })
                }
                TrustStatus::Unknown => {}
            }
            info.series.push(Series::Info { block });
        }
        if cfg.expose_per_cert_error {
            for block in 0..prepared.errors.len() {
                error.series.push(Series::ErrorBlock {
                    block,
                    value: Value::Int(1),
                });
            }
        }
        families.extend([
            not_after,
            not_before,
            expired,
            expires_in,
            valid_since,
            error,
            revoked,
            trusted,
            info,
        ]);

        // CRLs known to the revocation checks (COMPAT §2.3).
        let mut crl_blocks = Vec::with_capacity(snap.crls.len());
        let mut crl_this = gauge("x509_crl_this_update", help::CRL_THIS_UPDATE, false);
        let mut crl_next = gauge("x509_crl_next_update", help::CRL_NEXT_UPDATE, false);
        let mut crl_stale = gauge("x509_crl_stale", help::CRL_STALE, false);
        let mut crl_number = gauge("x509_crl_number", help::CRL_NUMBER, false);
        let mut seen_crl = std::collections::HashSet::new();
        for crl in &snap.crls {
            let b = labels::crl_block(crl, cfg);
            if !seen_crl.insert(b.clone()) {
                continue;
            }
            let block = crl_blocks.len();
            crl_blocks.push(b);
            crl_this.series.push(Series::CrlBlock {
                block,
                value: Value::Int(crl.this_update),
            });
            if let Some(nu) = crl.next_update {
                crl_next.series.push(Series::CrlBlock {
                    block,
                    value: Value::Int(nu),
                });
            }
            if cfg.expose_expired {
                crl_stale.series.push(Series::CrlBlock {
                    block,
                    value: bool_value(crl.stale),
                });
            }
            let number = crl
                .number
                .as_deref()
                .and_then(|n| n.parse::<f64>().ok())
                .and_then(finite)
                .unwrap_or(Value::Int(0));
            crl_number.series.push(Series::CrlBlock {
                block,
                value: number,
            });
        }
        families.extend([crl_this, crl_next, crl_stale, crl_number]);

        SnapshotCollector {
            crl_blocks,
            cert_blocks: prepared.certs,
            info_blocks: prepared.info,
            error_blocks: prepared.errors,
            families,
        }
    }
}

fn build_info_labels() -> Pairs {
    vec![
        ("version", env!("CARGO_PKG_VERSION").to_string()),
        (
            "revision",
            option_env!("CERTVIGIL_GIT_COMMIT")
                .unwrap_or("unknown")
                .to_string(),
        ),
        (
            "built",
            option_env!("CERTVIGIL_BUILD_DATE")
                .unwrap_or("unknown")
                .to_string(),
        ),
        (
            "rustc",
            option_env!("CERTVIGIL_RUSTC_VERSION")
                .unwrap_or("unknown")
                .to_string(),
        ),
    ]
}

fn encode_value(
    enc: prometheus_client::encoding::MetricEncoder<'_>,
    value: Value,
) -> Result<(), std::fmt::Error> {
    match value {
        Value::Int(v) => ConstGauge::new(v).encode(enc),
        Value::Float(v) => ConstGauge::new(v).encode(enc),
    }
}

impl SnapshotCollector {
    /// Approximate size of the encoded exposition (bytes), to size the output
    /// buffer once.
    pub fn size_hint(&self) -> usize {
        let mut n = 0;
        for fam in &self.families {
            n += fam.name.len() * 2 + fam.help.len() + 40;
            for s in &fam.series {
                let labels = match s {
                    Series::Block { block, .. } => {
                        self.cert_blocks.get(*block).map_or(0, String::len)
                    }
                    Series::ErrorBlock { block, .. } => {
                        self.error_blocks.get(*block).map_or(0, String::len)
                    }
                    Series::CrlBlock { block, .. } => {
                        self.crl_blocks.get(*block).map_or(0, String::len)
                    }
                    Series::Info { block } => {
                        self.cert_blocks.get(*block).map_or(0, String::len)
                            + self.info_blocks.get(*block).map_or(0, String::len)
                    }
                    Series::Trusted { block, reason, .. } => {
                        self.cert_blocks.get(*block).map_or(0, String::len) + reason.len() + 10
                    }
                    Series::Labels { labels, .. } | Series::Counter { labels, .. } => {
                        labels.iter().map(|(k, v)| k.len() + v.len() + 4).sum()
                    }
                };
                n += fam.name.len() + labels + 32;
            }
        }
        n
    }
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for fam in &self.families {
            if fam.series.is_empty() && !fam.always {
                continue;
            }
            let mut me = encoder.encode_descriptor(fam.name, fam.help, None, fam.typ)?;
            if let [Series::Labels { labels, value }] = fam.series.as_slice() {
                if labels.is_empty() && !matches!(fam.typ, MetricType::Info) {
                    encode_value(me, *value)?;
                    continue;
                }
            }
            for s in &fam.series {
                match s {
                    Series::Block { block, value } => {
                        let labels = PreEncoded(self.cert_blocks.get(*block).map_or("", |b| b), "");
                        encode_value(me.encode_family(&labels)?, *value)?;
                    }
                    Series::ErrorBlock { block, value } => {
                        let labels =
                            PreEncoded(self.error_blocks.get(*block).map_or("", |b| b), "");
                        encode_value(me.encode_family(&labels)?, *value)?;
                    }
                    Series::CrlBlock { block, value } => {
                        let labels = PreEncoded(self.crl_blocks.get(*block).map_or("", |b| b), "");
                        encode_value(me.encode_family(&labels)?, *value)?;
                    }
                    Series::Labels { labels, value } => {
                        if matches!(fam.typ, MetricType::Info) {
                            me.encode_info(labels)?;
                        } else {
                            encode_value(me.encode_family(labels)?, *value)?;
                        }
                    }
                    Series::Trusted {
                        block,
                        reason,
                        value,
                    } => {
                        // Codes are lowercase snake_case: nothing to escape.
                        let extra = format!("reason=\"{reason}\"");
                        let labels =
                            PreEncoded(self.cert_blocks.get(*block).map_or("", |b| b), &extra);
                        encode_value(me.encode_family(&labels)?, *value)?;
                    }
                    Series::Info { block } => {
                        let labels = PreEncoded(
                            self.cert_blocks.get(*block).map_or("", |b| b),
                            self.info_blocks.get(*block).map_or("", |b| b),
                        );
                        me.encode_info(&labels)?;
                    }
                    Series::Counter { labels, value } => {
                        ConstCounter::new(*value).encode(me.encode_family(labels)?)?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::help;

    #[test]
    fn help_texts_need_no_escaping() {
        for h in help::ALL {
            assert!(!h.contains(['\\', '"', '\n']), "{h}");
            assert!(!h.is_empty());
        }
    }
}
