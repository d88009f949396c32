//! The human HTML page served at `GET /`: summary counts, the inventory table sorted
//! by expiry with status colours, and the errors table. Self-contained (inline CSS,
//! no external assets, no JavaScript). Filters are GET query parameters processed
//! server-side: `q` (text search over subject, issuer, location, SANs, source name,
//! fingerprint, serial), `source_kind`, `status` (`expired|expiring|ok|error`).
//! Every dynamic string is HTML-escaped; query decoding is bounded and total.

use std::fmt::Write as _;

use crate::checks::expiry::{self, ExpiryStatus, ExpiryWindows};
use crate::inventory::Snapshot;
use crate::model::time::{rfc3339, rfc3339_from_unix};
use crate::model::{CertEntry, ErrorEntry, SourceKind};

/// Longest query string considered (bytes); the rest is ignored.
const MAX_QUERY_LEN: usize = 4096;
/// Longest decoded filter value kept (chars).
const MAX_VALUE_CHARS: usize = 256;
const DAY: i64 = expiry::DAY_SECS;
/// Critical (orange) within 7 days, warning (yellow) within 28 days, inclusive.
const WINDOWS: ExpiryWindows = ExpiryWindows::DEFAULT;

/// Every `source_kind` value, for the filter select.
const SOURCE_KINDS: [SourceKind; 11] = [
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
    Error,
}

impl StatusFilter {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "expired" => Some(StatusFilter::Expired),
            "expiring" => Some(StatusFilter::Expiring),
            "ok" => Some(StatusFilter::Ok),
            "error" => Some(StatusFilter::Error),
            _ => None,
        }
    }
}

/// Filters decoded from the query string. Unknown parameters and values are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// Lower-cased search text; empty = no text filter.
    pub q: String,
    pub source_kind: Option<SourceKind>,
    pub status: Option<StatusFilter>,
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
            "status" => f.status = StatusFilter::parse(&form_decode(v)),
            _ => {}
        }
    }
    f
}

/// Expiry class of one certificate at the snapshot's instant: the one
/// classification of [`expiry::status`] (boundaries inclusive, notAfter itself
/// still valid), with the default 7/28-day windows.
type Class = ExpiryStatus;

fn class_of(e: &CertEntry, now: i64) -> (Class, i64) {
    let left = e.cert.not_after.saturating_sub(now);
    (expiry::entry_status(e, now, WINDOWS), left)
}

fn css(c: Class) -> &'static str {
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
    } else if left <= WINDOWS.critical_secs {
        format!("{}d {}h", left / DAY, (left % DAY) / 3600)
    } else {
        format!("{}d", left / DAY)
    }
}

fn cert_matches(e: &CertEntry, class: Class, f: &Filters) -> bool {
    if let Some(k) = f.source_kind {
        if e.source.kind != k {
            return false;
        }
    }
    match f.status {
        None => {}
        Some(StatusFilter::Error) => return false,
        Some(StatusFilter::Expired) if class != Class::Expired => return false,
        Some(StatusFilter::Expiring) if !matches!(class, Class::Critical | Class::Warning) => {
            return false
        }
        Some(StatusFilter::Ok) if class != Class::Ok => return false,
        Some(_) => {}
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
    if matches!(
        f.status,
        Some(StatusFilter::Expired | StatusFilter::Expiring | StatusFilter::Ok)
    ) {
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
tr.warning td.st{background:#fdf1b0}tr.ok td.st{background:#c9efc9}
.card.expired{border-left:6px solid #d33}.card.critical{border-left:6px solid #f80}
.card.warning{border-left:6px solid #db0}.card.ok{border-left:6px solid #3a3}.card.err{border-left:6px solid #888}
form{margin:1em 0;display:flex;flex-wrap:wrap;gap:.5em;align-items:center}
input[type=text]{min-width:18em;padding:.25em}
"#;

/// Render the HTML inventory page for `snap` (`None`: first scan pending) with the
/// filters of `query` (raw query string, without `?`).
pub fn render_page(snap: Option<&Snapshot>, query: &str) -> String {
    let f = parse_query(query);
    let mut h = String::with_capacity(16 * 1024);
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
    let classes: Vec<(Class, i64)> = snap.certificates.iter().map(|e| class_of(e, now)).collect();
    let count = |c: Class| classes.iter().filter(|(k, _)| *k == c).count();
    let (expired, critical, warning) = (
        count(Class::Expired),
        count(Class::Critical),
        count(Class::Warning),
    );
    let _ = writeln!(
        h,
        "<p class=\"muted\">Scan at {} (took {:.2}s). Times left are relative to the scan.</p>",
        escape(&rfc3339(&snap.generated_at)),
        snap.scan_duration_seconds
    );
    let _ = writeln!(
        h,
        "<div class=\"cards\"><div class=\"card\">Total<b>{}</b></div>\
<div class=\"card expired\">Expired<b>{expired}</b></div>\
<div class=\"card critical\">Expiring &le; 7d<b>{critical}</b></div>\
<div class=\"card warning\">Expiring &le; 28d<b>{}</b></div>\
<div class=\"card err\">Errors<b>{}</b></div></div>",
        snap.certificates.len(),
        critical + warning,
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
    h.push_str(
        "</select></label><label>Status <select name=\"status\"><option value=\"\">all</option>",
    );
    for (v, label, sf) in [
        ("expired", "expired", StatusFilter::Expired),
        ("expiring", "expiring (&le; 28d)", StatusFilter::Expiring),
        ("ok", "ok", StatusFilter::Ok),
        ("error", "errors only", StatusFilter::Error),
    ] {
        let sel = if f.status == Some(sf) {
            " selected"
        } else {
            ""
        };
        let _ = write!(h, "<option value=\"{v}\"{sel}>{label}</option>");
    }
    h.push_str(
        "</select></label><button type=\"submit\">Filter</button> <a href=\"?\">reset</a></form>\n",
    );

    // Certificates.
    let shown: Vec<(&CertEntry, Class, i64)> = snap
        .certificates
        .iter()
        .zip(classes.iter())
        .filter(|(e, (c, _))| cert_matches(e, *c, &f))
        .map(|(e, (c, l))| (e, *c, *l))
        .collect();
    let _ = writeln!(
        h,
        "<h2>Certificates ({} of {})</h2>",
        shown.len(),
        snap.certificates.len()
    );
    if shown.is_empty() {
        h.push_str("<p class=\"muted\">No certificate matches.</p>\n");
    } else {
        h.push_str("<table><thead><tr><th>Status</th><th>Subject CN</th><th>Issuer CN</th><th>Location</th><th>Source</th><th>Not after</th><th>Time left</th><th>Key</th><th>Trust</th><th>Revocation</th></tr></thead><tbody>\n");
        for (e, class, left) in shown {
            let c = &e.cert;
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
                "<tr class=\"{css}\"><td class=\"st\">{css}</td><td class=\"wrap\" title=\"{subj}\">{cn}</td><td class=\"wrap\" title=\"{iss}\">{icn}</td><td class=\"wrap\" title=\"SANs: {sans}\">{loc}</td><td>{kind}/{name}</td><td>{na}</td><td>{left}</td><td>{alg} {bits}</td><td title=\"{tdetail}\">{trust}</td><td>{rev}</td></tr>",
                css = css(class),
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
    }

    // Errors.
    let errs: Vec<&ErrorEntry> = snap
        .errors
        .iter()
        .filter(|e| error_matches(e, &f))
        .collect();
    let _ = writeln!(
        h,
        "<h2>Errors ({} of {})</h2>",
        errs.len(),
        snap.errors.len()
    );
    if errs.is_empty() {
        h.push_str("<p class=\"muted\">No error matches.</p>\n");
    } else {
        h.push_str("<table><thead><tr><th>Location</th><th>Source</th><th>Reason</th><th>Message</th></tr></thead><tbody>\n");
        for e in errs {
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
            assert_eq!(class_of(&entry(na, now), now).0, class, "{}", na - now);
            assert_eq!(report(na), status, "{}", na - now);
        }
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
                status: Some(StatusFilter::Expiring)
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
        let p = render_page(None, "q=<script>");
        assert!(p.contains("first scan is still running"));
        assert!(!p.contains("<script>"));
    }
}
