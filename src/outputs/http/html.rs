//! The human HTML page served at `GET /`: summary counts, the inventory table with
//! status colours, and the errors table. Self-contained (inline CSS, no external
//! assets, no JavaScript). Everything is done server-side from GET query
//! parameters, so the page stays small for any inventory:
//!
//! * filters: `q` (text search over subject, issuer, location, SANs, source name,
//!   fingerprint, serial), `source_kind`, `source` (source name), `status`
//!   (`expired|expiring|ok|not_yet_valid|error`);
//! * sorting: `sort` (`expiry` (default), `subject`, `issuer`, `location`,
//!   `source`), `order` (`asc` (default) | `desc`);
//! * paging: `page` (1-based), `per_page` (default [`DEFAULT_PER_PAGE`], at most
//!   [`MAX_PER_PAGE`]); links to the previous and next page keep the other
//!   parameters. The errors table shows at most `per_page` matching errors.
//!
//! The status of a certificate is [`report::expiry_status`] with the configured
//! report warning window (the classes the compliance reports use). Every dynamic
//! string is HTML-escaped; query decoding is bounded and total.

use std::fmt::Write as _;

use crate::checks::expiry::{self, ExpiryStatus, ExpiryWindows};
use crate::inventory::Snapshot;
use crate::model::time::{rfc3339, rfc3339_from_unix};
use crate::model::{CertEntry, ErrorEntry, SourceKind};
use crate::outputs::report;

/// Longest query string considered (bytes); the rest is ignored.
const MAX_QUERY_LEN: usize = 4096;
/// Longest decoded filter value kept (chars).
const MAX_VALUE_CHARS: usize = 256;
const DAY: i64 = expiry::DAY_SECS;
/// Rows per page unless `per_page` says otherwise.
pub const DEFAULT_PER_PAGE: usize = 250;
/// Largest `per_page` honoured.
pub const MAX_PER_PAGE: usize = 1000;

/// Every `source_kind` value, for the filter select.
const SOURCE_KINDS: [SourceKind; 14] = [
    SourceKind::File,
    SourceKind::Kubeconfig,
    SourceKind::KubernetesSecret,
    SourceKind::KubernetesConfigmap,
    SourceKind::KubernetesCabundle,
    SourceKind::KubernetesCsr,
    SourceKind::DockerSecret,
    SourceKind::DockerConfig,
    SourceKind::DockerContainer,
    SourceKind::DockerNode,
    SourceKind::TlsEndpoint,
    SourceKind::DockerTrust,
    SourceKind::Vault,
    SourceKind::Certbot,
];

/// HTML-escape `& < > " '`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `status` filter values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Expired,
    Expiring,
    Ok,
    NotYetValid,
    Error,
}

impl StatusFilter {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "expired" => Some(StatusFilter::Expired),
            "expiring" | "expiring_soon" => Some(StatusFilter::Expiring),
            "ok" | "valid" => Some(StatusFilter::Ok),
            "not_yet_valid" => Some(StatusFilter::NotYetValid),
            "error" => Some(StatusFilter::Error),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Expired => "expired",
            StatusFilter::Expiring => "expiring",
            StatusFilter::Ok => "ok",
            StatusFilter::NotYetValid => "not_yet_valid",
            StatusFilter::Error => "error",
        }
    }

    /// The [`report::expiry_status`] value this filter keeps (`None` for errors).
    fn status(self) -> Option<&'static str> {
        match self {
            StatusFilter::Expired => Some("expired"),
            StatusFilter::Expiring => Some("expiring_soon"),
            StatusFilter::Ok => Some("valid"),
            StatusFilter::NotYetValid => Some("not_yet_valid"),
            StatusFilter::Error => None,
        }
    }
}

/// `sort` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Expiry,
    Subject,
    Issuer,
    Location,
    Source,
}

impl SortKey {
    const ALL: [SortKey; 5] = [
        SortKey::Expiry,
        SortKey::Subject,
        SortKey::Issuer,
        SortKey::Location,
        SortKey::Source,
    ];

    fn as_str(self) -> &'static str {
        match self {
            SortKey::Expiry => "expiry",
            SortKey::Subject => "subject",
            SortKey::Issuer => "issuer",
            SortKey::Location => "location",
            SortKey::Source => "source",
        }
    }
}

/// Filters, sort order and page decoded from the query string. Unknown
/// parameters and values are ignored (defaults apply).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filters {
    /// Lower-cased search text; empty = no text filter.
    pub q: String,
    pub source_kind: Option<SourceKind>,
    /// Source name (exact); empty = any.
    pub source: String,
    pub status: Option<StatusFilter>,
    pub sort: SortKey,
    pub descending: bool,
    /// 1-based page number.
    pub page: usize,
    pub per_page: usize,
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            q: String::new(),
            source_kind: None,
            source: String::new(),
            status: None,
            sort: SortKey::Expiry,
            descending: false,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

/// Append `k=v` (form-encoded) to a query string under construction.
fn push_param(out: &mut String, k: &str, v: &str) {
    if !out.is_empty() {
        out.push('&');
    }
    out.push_str(k);
    out.push('=');
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

impl Filters {
    /// The query string selecting these filters on `page` (defaults left out).
    pub fn query_for_page(&self, page: usize) -> String {
        let mut q = String::new();
        if !self.q.is_empty() {
            push_param(&mut q, "q", &self.q);
        }
        if let Some(k) = self.source_kind {
            push_param(&mut q, "source_kind", k.as_str());
        }
        if !self.source.is_empty() {
            push_param(&mut q, "source", &self.source);
        }
        if let Some(s) = self.status {
            push_param(&mut q, "status", s.as_str());
        }
        if self.sort != SortKey::Expiry {
            push_param(&mut q, "sort", self.sort.as_str());
        }
        if self.descending {
            push_param(&mut q, "order", "desc");
        }
        if self.per_page != DEFAULT_PER_PAGE {
            push_param(&mut q, "per_page", &self.per_page.to_string());
        }
        if page != 1 {
            push_param(&mut q, "page", &page.to_string());
        }
        q
    }
}

/// Percent-decode one `application/x-www-form-urlencoded` component. Total: invalid
/// escapes are kept literally, invalid UTF-8 is replaced, output is bounded.
pub fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len().min(MAX_QUERY_LEN));
    let mut i = 0;
    while i < b.len() && out.len() < MAX_QUERY_LEN {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = |x: u8| (x as char).to_digit(16);
                match (
                    b.get(i + 1).and_then(|&x| hex(x)),
                    b.get(i + 2).and_then(|&x| hex(x)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            x => {
                out.push(x);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out)
        .chars()
        .take(MAX_VALUE_CHARS)
        .collect()
}

/// Parse the page's query string (without the leading `?`).
pub fn parse_query(query: &str) -> Filters {
    let mut end = query.len().min(MAX_QUERY_LEN);
    while end > 0 && !query.is_char_boundary(end) {
        end -= 1;
    }
    let mut f = Filters::default();
    for pair in query[..end].split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match form_decode(k).as_str() {
            "q" => f.q = form_decode(v).trim().to_lowercase(),
            "source_kind" => {
                let v = form_decode(v);
                f.source_kind = SOURCE_KINDS.into_iter().find(|k| k.as_str() == v);
            }
            "source" => f.source = form_decode(v).trim().to_string(),
            "status" => f.status = StatusFilter::parse(&form_decode(v)),
            "sort" => {
                let v = form_decode(v);
                f.sort = SortKey::ALL
                    .into_iter()
                    .find(|k| k.as_str() == v)
                    .unwrap_or_default();
            }
            "order" => f.descending = form_decode(v) == "desc",
            "page" => {
                f.page = form_decode(v)
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|p| *p >= 1)
                    .unwrap_or(1)
            }
            "per_page" => {
                f.per_page = form_decode(v)
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|p| *p >= 1)
                    .map_or(DEFAULT_PER_PAGE, |p| p.min(MAX_PER_PAGE))
            }
            _ => {}
        }
    }
    f
}

/// Expiry class of one certificate at the snapshot's instant: the one
/// classification of [`expiry::status`] (boundaries inclusive, notAfter itself
/// still valid): critical within 7 days, warning within the report window.
type Class = ExpiryStatus;

fn class_of(e: &CertEntry, now: i64, w: ExpiryWindows) -> (Class, i64) {
    let left = e.cert.not_after.saturating_sub(now);
    (expiry::entry_status(e, now, w), left)
}

/// CSS class of a row: its [`report::expiry_status`] (`not_yet_valid` apart)
/// coloured by its [`Class`].
fn css(status: &'static str, c: Class) -> &'static str {
    if status == "not_yet_valid" {
        return "pending";
    }
    match c {
        Class::Expired => "expired",
        Class::Critical => "critical",
        Class::Warning => "warning",
        Class::Ok => "ok",
    }
}

fn time_left(left: i64) -> String {
    if left < 0 {
        let ago = left.saturating_neg();
        format!("expired {}d ago", ago / DAY)
    } else if left <= ExpiryWindows::DEFAULT.critical_secs {
        format!("{}d {}h", left / DAY, (left % DAY) / 3600)
    } else {
        format!("{}d", left / DAY)
    }
}

fn cert_matches(e: &CertEntry, status: &'static str, f: &Filters) -> bool {
    if let Some(k) = f.source_kind {
        if e.source.kind != k {
            return false;
        }
    }
    if !f.source.is_empty() && e.source.name != f.source {
        return false;
    }
    if let Some(sf) = f.status {
        if sf.status() != Some(status) {
            return false;
        }
    }
    if f.q.is_empty() {
        return true;
    }
    let c = &e.cert;
    let has = |s: &str| s.to_lowercase().contains(&f.q);
    has(&c.subject.rendered)
        || has(&c.issuer.rendered)
        || has(&e.source.location)
        || has(&e.source.name)
        || has(&c.sha256_fingerprint)
        || has(&c.serial_number)
        || c.dns_names.iter().any(|d| has(d))
        || c.ip_addresses.iter().any(|d| has(d))
}

fn error_matches(e: &ErrorEntry, f: &Filters) -> bool {
    if let Some(k) = f.source_kind {
        if e.source.kind != k {
            return false;
        }
    }
    if !f.source.is_empty() && e.source.name != f.source {
        return false;
    }
    if f.status.is_some_and(|s| s != StatusFilter::Error) {
        return false;
    }
    if f.q.is_empty() {
        return true;
    }
    let has = |s: &str| s.to_lowercase().contains(&f.q);
    has(&e.source.location) || has(&e.source.name) || has(&e.message) || has(e.reason.as_str())
}

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#1d1d1f;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin-top:1.6em}
.muted{color:#666;font-size:.9em}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:7em}
.card b{display:block;font-size:1.5em}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.88em}
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0;position:sticky;top:0}
td.wrap{word-break:break-all;max-width:28em}
tr.expired td.st{background:#f8c4c4}tr.critical td.st{background:#fcd9b0}
tr.warning td.st{background:#fdf1b0}tr.ok td.st{background:#c9efc9}tr.pending td.st{background:#d6e4f7}
.pager{margin:.6em 0;display:flex;gap:1em;align-items:center}
.card.expired{border-left:6px solid #d33}.card.critical{border-left:6px solid #f80}
.card.warning{border-left:6px solid #db0}.card.ok{border-left:6px solid #3a3}.card.err{border-left:6px solid #888}
form{margin:1em 0;display:flex;flex-wrap:wrap;gap:.5em;align-items:center}
input[type=text]{min-width:18em;padding:.25em}
"#;

fn sort_key(e: &CertEntry, key: SortKey) -> (&str, &str) {
    match key {
        SortKey::Expiry => ("", ""),
        SortKey::Subject => (&e.cert.subject.cn, &e.cert.subject.rendered),
        SortKey::Issuer => (&e.cert.issuer.cn, &e.cert.issuer.rendered),
        SortKey::Location => (&e.source.location, ""),
        SortKey::Source => (e.source.kind.as_str(), &e.source.name),
    }
}

fn pager(h: &mut String, f: &Filters, page: usize, pages: usize) {
    h.push_str("<div class=\"pager\">");
    if page > 1 {
        let _ = write!(
            h,
            "<a rel=\"prev\" href=\"?{}\">&larr; previous</a>",
            escape(&f.query_for_page(page - 1))
        );
    }
    let _ = write!(h, "<span>page {page} of {pages}</span>");
    if page < pages {
        let _ = write!(
            h,
            "<a rel=\"next\" href=\"?{}\">next &rarr;</a>",
            escape(&f.query_for_page(page + 1))
        );
    }
    h.push_str("</div>\n");
}

/// Render the HTML inventory page for `snap` (`None`: first scan pending) with the
/// filters, sort order and page of `query` (raw query string, without `?`);
/// `window_secs` is the report warning window (status `expiring_soon`).
pub fn render_page(snap: Option<&Snapshot>, query: &str, window_secs: i64) -> String {
    let f = parse_query(query);
    let mut h = String::with_capacity(64 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    if snap.is_none() {
        h.push_str("<meta http-equiv=\"refresh\" content=\"10\">");
    }
    h.push_str("<title>certvigil — certificate inventory</title><style>");
    h.push_str(STYLE);
    h.push_str("</style></head><body>\n<h1>certvigil — certificate inventory</h1>\n");

    let Some(snap) = snap else {
        h.push_str("<p>Not ready: the first scan is still running. This page refreshes every 10 seconds.</p>\n</body></html>\n");
        return h;
    };
    let now = snap.generated_at.timestamp();
    let statuses: Vec<&'static str> = snap
        .certificates
        .iter()
        .map(|e| report::expiry_status(e, now, window_secs))
        .collect();
    let windows = ExpiryWindows::with_warning(window_secs);
    let classes: Vec<Class> = snap
        .certificates
        .iter()
        .map(|e| class_of(e, now, windows).0)
        .collect();
    let count = |c: &str| statuses.iter().filter(|s| **s == c).count();
    let critical = classes.iter().filter(|c| **c == Class::Critical).count();
    let window_days = window_secs / DAY;
    let critical_days = windows.critical_secs / DAY;
    let _ = writeln!(
        h,
        "<p class=\"muted\">Scan at {} (took {:.2}s). Times left are relative to the scan.</p>",
        escape(&rfc3339(&snap.generated_at)),
        snap.scan_duration_seconds
    );
    let _ = writeln!(
        h,
        "<div class=\"cards\"><div class=\"card\">Total<b>{}</b></div>\
<div class=\"card expired\">Expired<b>{}</b></div>\
<div class=\"card critical\">Expiring &le; {critical_days}d<b>{critical}</b></div>\
<div class=\"card warning\">Expiring &le; {window_days}d<b>{}</b></div>\
<div class=\"card ok\">Valid<b>{}</b></div>\
<div class=\"card err\">Errors<b>{}</b></div></div>",
        snap.certificates.len(),
        count("expired"),
        count("expiring_soon"),
        count("valid"),
        snap.errors.len()
    );

    // Filter form.
    h.push_str("<form method=\"get\"><label>Search <input type=\"text\" name=\"q\" value=\"");
    h.push_str(&escape(&f.q));
    h.push_str("\" placeholder=\"subject, issuer, location, SAN\"></label>");
    h.push_str("<label>Source <select name=\"source_kind\"><option value=\"\">all</option>");
    for k in SOURCE_KINDS {
        let sel = if f.source_kind == Some(k) {
            " selected"
        } else {
            ""
        };
        let _ = write!(h, "<option value=\"{0}\"{sel}>{0}</option>", k.as_str());
    }
    h.push_str("</select></label>");
    if !f.source.is_empty() {
        let _ = write!(
            h,
            "<input type=\"hidden\" name=\"source\" value=\"{}\">",
            escape(&f.source)
        );
    }
    h.push_str("<label>Status <select name=\"status\"><option value=\"\">all</option>");
    let expiring_label = format!("expiring (&le; {window_days}d)");
    for (label, sf) in [
        ("expired", StatusFilter::Expired),
        (expiring_label.as_str(), StatusFilter::Expiring),
        ("ok", StatusFilter::Ok),
        ("not yet valid", StatusFilter::NotYetValid),
        ("errors only", StatusFilter::Error),
    ] {
        let sel = if f.status == Some(sf) {
            " selected"
        } else {
            ""
        };
        let _ = write!(h, "<option value=\"{}\"{sel}>{label}</option>", sf.as_str());
    }
    h.push_str("</select></label><label>Sort <select name=\"sort\">");
    for k in SortKey::ALL {
        let sel = if f.sort == k { " selected" } else { "" };
        let _ = write!(h, "<option value=\"{0}\"{sel}>{0}</option>", k.as_str());
    }
    h.push_str("</select></label><label>Order <select name=\"order\">");
    for (v, desc) in [("asc", false), ("desc", true)] {
        let sel = if f.descending == desc {
            " selected"
        } else {
            ""
        };
        let _ = write!(h, "<option value=\"{v}\"{sel}>{v}</option>");
    }
    h.push_str("</select></label>");
    if f.per_page != DEFAULT_PER_PAGE {
        let _ = write!(
            h,
            "<input type=\"hidden\" name=\"per_page\" value=\"{}\">",
            f.per_page
        );
    }
    h.push_str("<button type=\"submit\">Filter</button> <a href=\"?\">reset</a></form>\n");

    // Certificates: filter (indices into the expiry-sorted snapshot), sort, page.
    let mut shown: Vec<usize> = (0..snap.certificates.len())
        .filter(|&i| cert_matches(&snap.certificates[i], statuses[i], &f))
        .collect();
    if f.sort != SortKey::Expiry {
        // Stable: ties keep the expiry order.
        shown.sort_by(|&a, &b| {
            sort_key(&snap.certificates[a], f.sort).cmp(&sort_key(&snap.certificates[b], f.sort))
        });
    }
    if f.descending {
        shown.reverse();
    }
    let matching = shown.len();
    let pages = matching.div_ceil(f.per_page).max(1);
    let page = f.page.min(pages);
    let first = (page - 1).saturating_mul(f.per_page);
    let rows = &shown[first.min(matching)..(first + f.per_page).min(matching)];
    if rows.is_empty() {
        let _ = writeln!(
            h,
            "<h2>Certificates (0 of {} matching, {} total)</h2>",
            matching,
            snap.certificates.len()
        );
    } else {
        let _ = writeln!(
            h,
            "<h2>Certificates ({}–{} of {} matching, {} total)</h2>",
            first + 1,
            first + rows.len(),
            matching,
            snap.certificates.len()
        );
    }
    if rows.is_empty() {
        h.push_str("<p class=\"muted\">No certificate matches.</p>\n");
    } else {
        pager(&mut h, &f, page, pages);
        h.push_str("<table><thead><tr><th>Status</th><th>Subject CN</th><th>Issuer CN</th><th>Location</th><th>Source</th><th>Not after</th><th>Time left</th><th>Key</th><th>Trust</th><th>Revocation</th></tr></thead><tbody>\n");
        for &i in rows {
            let e = &snap.certificates[i];
            let status = statuses[i];
            let c = &e.cert;
            let left = c.not_after.saturating_sub(now);
            let location = if e.index_in_bundle > 0 {
                format!("{} #{}", e.source.location, e.index_in_bundle)
            } else {
                e.source.location.clone()
            };
            let sans = c
                .dns_names
                .iter()
                .chain(c.ip_addresses.iter())
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                h,
                "<tr class=\"{css}\" data-status=\"{status}\"><td class=\"st\">{status}</td><td class=\"wrap\" title=\"{subj}\">{cn}</td><td class=\"wrap\" title=\"{iss}\">{icn}</td><td class=\"wrap\" title=\"SANs: {sans}\">{loc}</td><td>{kind}/{name}</td><td>{na}</td><td>{left}</td><td>{alg} {bits}</td><td title=\"{tdetail}\">{trust}</td><td>{rev}</td></tr>",
                css = css(status, classes[i]),
                subj = escape(&c.subject.rendered),
                cn = escape(&c.subject.cn),
                iss = escape(&c.issuer.rendered),
                icn = escape(&c.issuer.cn),
                sans = escape(&sans),
                loc = escape(&location),
                kind = e.source.kind.as_str(),
                name = escape(&e.source.name),
                na = rfc3339_from_unix(c.not_after),
                left = escape(&time_left(left)),
                alg = c.key_algorithm.as_str(),
                bits = c.key_bits,
                tdetail = escape(&e.trust.detail),
                trust = e.trust.status.as_str(),
                rev = e.revocation.status.as_str(),
            );
        }
        h.push_str("</tbody></table>\n");
        pager(&mut h, &f, page, pages);
    }

    // Errors (at most `per_page` of them).
    let errs: Vec<&ErrorEntry> = snap
        .errors
        .iter()
        .filter(|e| error_matches(e, &f))
        .collect();
    let listed = errs.len().min(f.per_page);
    let _ = writeln!(
        h,
        "<h2>Errors ({} of {})</h2>",
        errs.len(),
        snap.errors.len()
    );
    if errs.is_empty() {
        h.push_str("<p class=\"muted\">No error matches.</p>\n");
    } else {
        if listed < errs.len() {
            let _ = writeln!(
                h,
                "<p class=\"muted\">Showing the first {listed}; narrow the filters or see <a href=\"api/v1/certificates\">the JSON inventory</a> for all.</p>"
            );
        }
        h.push_str("<table><thead><tr><th>Location</th><th>Source</th><th>Reason</th><th>Message</th></tr></thead><tbody>\n");
        for e in errs.iter().take(listed) {
            let _ = writeln!(
                h,
                "<tr><td class=\"wrap\">{}</td><td>{}/{}</td><td>{}</td><td class=\"wrap\">{}</td></tr>",
                escape(&e.source.location),
                e.source.kind.as_str(),
                escape(&e.source.name),
                e.reason.as_str(),
                escape(&e.message)
            );
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("<p class=\"muted\">Also: <a href=\"metrics\">metrics</a> · <a href=\"api/v1/certificates\">JSON</a></p>\n</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(not_after: i64, now: i64) -> CertEntry {
        use crate::model::SourceRef;
        use std::sync::Arc;
        CertEntry {
            source: Arc::new(SourceRef::new(SourceKind::File, "f", "/x.pem")),
            index_in_bundle: 0,
            expired: expiry::is_expired(not_after, now),
            cert: Arc::new(crate::model::testing::cert("x", now - DAY, not_after)),
            trust: Default::default(),
            revocation: Default::default(),
        }
    }

    #[test]
    fn page_and_report_class_boundaries_alike() {
        let now = 1_800_000_000;
        let w = ExpiryWindows::with_warning(28 * DAY);
        let report =
            |na: i64| crate::outputs::report::expiry_status(&entry(na, now), now, 28 * DAY);
        // (notAfter, page class, report status)
        let cases = [
            (now - 1, Class::Expired, "expired"),
            (now, Class::Critical, "expiring_soon"),
            (now + 7 * DAY, Class::Critical, "expiring_soon"),
            (now + 7 * DAY + 1, Class::Warning, "expiring_soon"),
            (now + 28 * DAY, Class::Warning, "expiring_soon"),
            (now + 28 * DAY + 1, Class::Ok, "valid"),
        ];
        for (na, class, status) in cases {
            assert_eq!(class_of(&entry(na, now), now, w).0, class, "{}", na - now);
            assert_eq!(report(na), status, "{}", na - now);
            assert_eq!(css(status, class), css(report(na), class));
        }
        // The configured window moves the warning boundary for both.
        let w10 = ExpiryWindows::with_warning(10 * DAY);
        assert_eq!(class_of(&entry(now + 11 * DAY, now), now, w10).0, Class::Ok);
        assert_eq!(
            crate::outputs::report::expiry_status(&entry(now + 11 * DAY, now), now, 10 * DAY),
            "valid"
        );
    }

    #[test]
    fn escape_all_five() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn query_decoding_is_total_and_bounded() {
        assert_eq!(form_decode("a+b%20c%2"), "a b c%2");
        assert_eq!(form_decode("%zz%"), "%zz%");
        assert_eq!(form_decode("%ff%fe"), "\u{fffd}\u{fffd}");
        assert_eq!(form_decode("%C3%A9"), "é");
        assert_eq!(form_decode(&"x".repeat(100_000)).len(), MAX_VALUE_CHARS);
        let f = parse_query("q=Web%2EExample&source_kind=file&status=expiring&junk&=&q2=1");
        assert_eq!(
            f,
            Filters {
                q: "web.example".into(),
                source_kind: Some(SourceKind::File),
                status: Some(StatusFilter::Expiring),
                ..Filters::default()
            }
        );
        let f = parse_query("source_kind=nope&status=bad");
        assert_eq!(f, Filters::default());
        // Multi-byte characters at the cut do not panic.
        let long = "q=".to_string() + &"é".repeat(5000);
        let _ = parse_query(&long);
    }

    #[test]
    fn time_left_formats() {
        assert_eq!(time_left(-3 * DAY - 5), "expired 3d ago");
        assert_eq!(time_left(DAY + 7200), "1d 2h");
        assert_eq!(time_left(40 * DAY), "40d");
        assert_eq!(
            time_left(i64::MIN),
            format!("expired {}d ago", i64::MAX / DAY)
        );
    }

    #[test]
    fn pending_page() {
        let p = render_page(None, "q=<script>", 28 * DAY);
        assert!(p.contains("first scan is still running"));
        assert!(!p.contains("<script>"));
    }
}
