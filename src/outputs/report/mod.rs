//! The compliance report (`certvigil report`, `GET /api/v1/report`): the JSON
//! inventory plus a summary and policy findings, rendered as JSON, HTML (one
//! self-contained printable file), Markdown or CSV. Every format shows the same
//! findings under the same stable ids ([`findings`]).
//!
//! Evaluation instant: the snapshot's `generated_at` (`--at` or the scan start), so
//! a report is a pure function of the snapshot and [`ReportConfig`] (which makes
//! golden files possible). `days_left` is `floor((notAfter − instant) / 86400)`,
//! negative once expired.
//!
//! JSON shape: `generated_at`, `certificates`, `errors` exactly as the inventory
//! (same key order), then `summary` and `findings`. See `docs/reports.md`.

pub mod csv;
pub mod findings;
pub mod html;
pub mod markdown;

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::checks::expiry;
use crate::config::ReportConfig;
use crate::inventory::Snapshot;
use crate::model::{CertEntry, RevocationStatus, SourceKind, TrustStatus};
use crate::outputs::json;

pub use findings::{days_left, Finding, FindingId, Severity};

/// Report output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Html,
    Csv,
    Json,
    #[value(alias = "markdown")]
    Md,
}

impl ReportFormat {
    /// Parse a `format` value (`html`, `csv`, `json`, `md`; `markdown` as an alias).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "html" => Some(ReportFormat::Html),
            "csv" => Some(ReportFormat::Csv),
            "json" => Some(ReportFormat::Json),
            "md" | "markdown" => Some(ReportFormat::Md),
            _ => None,
        }
    }

    /// The HTTP `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            ReportFormat::Html => "text/html; charset=utf-8",
            ReportFormat::Csv => "text/csv; charset=utf-8; header=present",
            ReportFormat::Json => "application/json",
            ReportFormat::Md => "text/markdown; charset=utf-8",
        }
    }
}

/// Expiry status of a certificate at the evaluation instant (exclusive classes, used
/// by the summary and the HTML/Markdown/CSV status column).
pub fn expiry_status(e: &CertEntry, now: i64, window_secs: i64) -> &'static str {
    let st = expiry::entry_status(e, now, expiry::ExpiryWindows::with_warning(window_secs));
    if st == expiry::ExpiryStatus::Expired {
        "expired"
    } else if expiry::is_not_yet_valid(e.cert.not_before, now) {
        "not_yet_valid"
    } else if st.is_expiring() {
        "expiring_soon"
    } else {
        "valid"
    }
}

/// The expiry statuses, in summary order.
pub const EXPIRY_STATUSES: [&str; 4] = ["valid", "expiring_soon", "expired", "not_yet_valid"];
const TRUST_STATUSES: [TrustStatus; 5] = [
    TrustStatus::Trusted,
    TrustStatus::Untrusted,
    TrustStatus::Incomplete,
    TrustStatus::SelfSigned,
    TrustStatus::Unknown,
];
const REVOCATION_STATUSES: [RevocationStatus; 4] = [
    RevocationStatus::Good,
    RevocationStatus::Revoked,
    RevocationStatus::Unknown,
    RevocationStatus::NotChecked,
];

/// A map serialized in insertion order (serde_json sorts `Map` keys here).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Counts(pub Vec<(&'static str, usize)>);

impl Counts {
    fn zeroed(keys: impl IntoIterator<Item = &'static str>) -> Self {
        Counts(keys.into_iter().map(|k| (k, 0)).collect())
    }

    fn bump(&mut self, key: &str) {
        if let Some((_, n)) = self.0.iter_mut().find(|(k, _)| *k == key) {
            *n += 1;
        }
    }

    pub fn get(&self, key: &str) -> usize {
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }
}

impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Certificates per issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuerCount {
    pub issuer: String,
    pub issuer_cn: String,
    pub certificates: usize,
}

/// Certificates and errors per source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceCount {
    pub source_kind: &'static str,
    pub source_name: String,
    pub certificates: usize,
    pub errors: usize,
}

/// The report's `summary` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub certificates: usize,
    pub errors: usize,
    /// `report.warning_window` in whole days (the `expiring_soon` window).
    pub warning_window_days: i64,
    /// Exclusive expiry classes: `valid`, `expiring_soon`, `expired`, `not_yet_valid`.
    pub by_status: Counts,
    pub by_trust: Counts,
    pub by_revocation: Counts,
    /// Number of findings per severity.
    pub by_severity: Counts,
    /// Number of findings per id (every id present).
    pub by_finding: Counts,
    /// Sorted by count (descending), then issuer.
    pub by_issuer: Vec<IssuerCount>,
    /// Sorted by source kind, then name.
    pub by_source: Vec<SourceCount>,
}

/// A complete compliance report over one snapshot.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    #[serde(flatten)]
    pub inventory: json::Inventory<'a>,
    pub summary: Summary,
    /// Every finding: certificates in snapshot order, rules in [`FindingId::ALL`]
    /// order, then the object findings of the sources (`Snapshot::findings`).
    pub findings: Vec<Finding>,
    /// The findings of `snapshot.certificates[i]`, for the tabular formats.
    #[serde(skip)]
    pub per_certificate: Vec<Vec<Finding>>,
    /// Evaluation instant (Unix seconds).
    #[serde(skip)]
    pub now: i64,
    /// `expiring_soon` window (seconds).
    #[serde(skip)]
    pub window_secs: i64,
    #[serde(skip)]
    pub snapshot: &'a Snapshot,
}

/// `warning_window` in seconds, saturating.
fn window_secs(cfg: &ReportConfig) -> i64 {
    i64::try_from(cfg.warning_window.as_secs()).unwrap_or(i64::MAX)
}

/// Evaluate every rule over `snap` and build the report.
pub fn build<'a>(snap: &'a Snapshot, cfg: &ReportConfig) -> Report<'a> {
    let now = snap.generated_at.timestamp();
    let window = window_secs(cfg);
    let per_certificate: Vec<Vec<Finding>> = snap
        .certificates
        .iter()
        .map(|e| findings::findings_for(e, now, window))
        .collect();
    // Certificate findings in snapshot order, then the sources' object findings.
    let all: Vec<Finding> = per_certificate
        .iter()
        .flatten()
        .chain(&snap.findings)
        .cloned()
        .collect();

    let mut by_status = Counts::zeroed(EXPIRY_STATUSES);
    let mut by_trust = Counts::zeroed(TRUST_STATUSES.map(TrustStatus::as_str));
    let mut by_revocation = Counts::zeroed(REVOCATION_STATUSES.map(RevocationStatus::as_str));
    let mut issuers: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut sources: BTreeMap<(SourceKind, &str), (usize, usize)> = BTreeMap::new();
    for s in &snap.sources {
        sources.entry((s.kind, s.name.as_str())).or_default();
    }
    for e in &snap.certificates {
        by_status.bump(expiry_status(e, now, window));
        by_trust.bump(e.trust.status.as_str());
        by_revocation.bump(e.revocation.status.as_str());
        *issuers
            .entry((e.cert.issuer.rendered.as_str(), e.cert.issuer.cn.as_str()))
            .or_default() += 1;
        sources
            .entry((e.source.kind, e.source.name.as_str()))
            .or_default()
            .0 += 1;
    }
    for e in &snap.errors {
        sources
            .entry((e.source.kind, e.source.name.as_str()))
            .or_default()
            .1 += 1;
    }
    let mut by_severity = Counts::zeroed(Severity::ALL.map(Severity::as_str));
    let mut by_finding = Counts::zeroed(FindingId::ALL.map(FindingId::as_str));
    for f in &all {
        by_severity.bump(f.severity.as_str());
        by_finding.bump(f.id.as_str());
    }
    let mut by_issuer: Vec<IssuerCount> = issuers
        .into_iter()
        .map(|((issuer, cn), n)| IssuerCount {
            issuer: issuer.to_string(),
            issuer_cn: cn.to_string(),
            certificates: n,
        })
        .collect();
    by_issuer.sort_by(|a, b| {
        b.certificates
            .cmp(&a.certificates)
            .then_with(|| a.issuer.cmp(&b.issuer))
    });
    let by_source = sources
        .into_iter()
        .map(|((kind, name), (certificates, errors))| SourceCount {
            source_kind: kind.as_str(),
            source_name: name.to_string(),
            certificates,
            errors,
        })
        .collect();
    Report {
        inventory: json::inventory(snap),
        summary: Summary {
            certificates: snap.certificates.len(),
            errors: snap.errors.len(),
            warning_window_days: window.div_euclid(86_400),
            by_status,
            by_trust,
            by_revocation,
            by_severity,
            by_finding,
            by_issuer,
            by_source,
        },
        findings: all,
        per_certificate,
        now,
        window_secs: window,
        snapshot: snap,
    }
}

/// The report as pretty JSON (inventory key order kept), with a trailing newline.
pub fn render_json(report: &Report<'_>) -> String {
    match serde_json::to_string_pretty(report) {
        Ok(mut s) => {
            s.push('\n');
            s
        }
        // Serializing strings, integers and booleans cannot fail.
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

/// Render `snap` as a report in `format`.
pub fn render(snap: &Snapshot, cfg: &ReportConfig, format: ReportFormat) -> String {
    let report = build(snap, cfg);
    match format {
        ReportFormat::Json => render_json(&report),
        ReportFormat::Html => html::render(&report),
        ReportFormat::Md => markdown::render(&report),
        ReportFormat::Csv => csv::render(&report),
    }
}

/// The finding ids of certificate `i`, joined with `sep`.
pub(crate) fn ids_joined(report: &Report<'_>, i: usize, sep: &str) -> String {
    report
        .per_certificate
        .get(i)
        .map(|fs| {
            fs.iter()
                .map(|f| f.id.as_str())
                .collect::<Vec<_>>()
                .join(sep)
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
