//! The `scan --format table` output: an aligned, human table of the inventory in
//! snapshot order (by expiry), then an ERRORS section.
//!
//! Columns: EXPIRES (UTC date), DAYS LEFT (whole days from the evaluation instant,
//! rounded down; negative once expired), STATUS (`expired`/`expiring`/`ok`, then
//! the trust status, then `revoked` when revoked; e.g. `ok/trusted`,
//! `expiring/untrusted`, `expired/unknown/revoked`), SUBJECT CN, ISSUER CN, SOURCE
//! (`kind/name`), LOCATION (`path` or `path#index` for the n-th certificate of a
//! bundle).
//!
//! Everything shown comes from possibly hostile certificates and paths, so every
//! value goes through [`sanitize`]: control characters (C0, DEL, C1 — ESC among
//! them) and Unicode bidi/formatting controls (U+202E …) are replaced by visible
//! escapes (`\x1b`, `\u{202e}`), so a subject cannot inject terminal sequences or
//! reorder the line. Long values are cut with `…`. Alignment counts East Asian
//! wide characters and emoji as two columns (an approximation without a
//! Unicode width table). ANSI colour is added only when the caller asks (the
//! binary does when stdout is a terminal and `NO_COLOR` is unset), after
//! padding, so colour never breaks alignment.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::checks::expiry;
use crate::inventory::Snapshot;
use crate::model::{CertEntry, RevocationStatus, TrustStatus};

/// `expiring` window used by [`render`] (the report's default warning window).
pub const DEFAULT_WARNING_SECS: i64 = expiry::ExpiryWindows::DEFAULT.warning_secs;

const MAX_CN: usize = 40;
const MAX_SOURCE: usize = 28;
const MAX_LOCATION: usize = 64;
const MAX_MESSAGE: usize = 100;

const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const GREEN: &str = "\x1b[32m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Render the inventory at `now` with the default `expiring` window (28 days).
pub fn render(snap: &Snapshot, now: DateTime<Utc>, color: bool) -> String {
    render_with_window(snap, now, color, DEFAULT_WARNING_SECS)
}

/// Whether colour should be used for stdout: a terminal, and `NO_COLOR` unset
/// (or empty, per no-color.org).
pub fn stdout_wants_color() -> bool {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stdout().is_terminal()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Expired,
    Expiring,
    Ok,
}

fn level(e: &CertEntry, now: i64, window: i64) -> Level {
    match expiry::status(
        e.cert.not_after,
        now,
        expiry::ExpiryWindows::with_warning(window),
    ) {
        expiry::ExpiryStatus::Expired => Level::Expired,
        st if st.is_expiring() => Level::Expiring,
        _ => Level::Ok,
    }
}

fn status_text(e: &CertEntry, lvl: Level) -> String {
    let mut s = String::from(match lvl {
        Level::Expired => "expired",
        Level::Expiring => "expiring",
        Level::Ok => "ok",
    });
    s.push('/');
    s.push_str(e.trust.status.as_str());
    if e.revocation.status == RevocationStatus::Revoked {
        s.push_str("/revoked");
    }
    s
}

fn color_of(e: &CertEntry, lvl: Level) -> &'static str {
    let bad_trust = matches!(
        e.trust.status,
        TrustStatus::Untrusted | TrustStatus::Incomplete
    );
    if lvl == Level::Expired || e.revocation.status == RevocationStatus::Revoked {
        RED
    } else if lvl == Level::Expiring || bad_trust {
        YELLOW
    } else {
        GREEN
    }
}

/// Render with an explicit `expiring` window (seconds).
pub fn render_with_window(
    snap: &Snapshot,
    now: DateTime<Utc>,
    color: bool,
    window_secs: i64,
) -> String {
    let now_s = now.timestamp();
    let header = [
        "EXPIRES",
        "DAYS LEFT",
        "STATUS",
        "SUBJECT CN",
        "ISSUER CN",
        "SOURCE",
        "LOCATION",
    ];
    let mut rows: Vec<([String; 7], Option<&'static str>)> = Vec::new();
    for e in &snap.certificates {
        let c = &e.cert;
        let lvl = level(e, now_s, window_secs);
        let expires = DateTime::<Utc>::from_timestamp(c.not_after, 0)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "?".to_string());
        let days = c.not_after.saturating_sub(now_s).div_euclid(86400);
        let location = if e.index_in_bundle == 0 {
            e.source.location.clone()
        } else {
            format!("{}#{}", e.source.location, e.index_in_bundle)
        };
        rows.push((
            [
                expires,
                days.to_string(),
                status_text(e, lvl),
                cell(&c.subject.cn, MAX_CN),
                cell(&c.issuer.cn, MAX_CN),
                cell(&format!("{}/{}", e.source.kind, e.source.name), MAX_SOURCE),
                cell(&location, MAX_LOCATION),
            ],
            Some(color_of(e, lvl)),
        ));
    }

    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("no certificates found\n");
    } else {
        let mut widths = header.map(width);
        for (r, _) in &rows {
            for (w, v) in widths.iter_mut().zip(r.iter()) {
                *w = (*w).max(width(v));
            }
        }
        let head = header.map(str::to_string);
        write_row(
            &mut out,
            &head,
            &widths,
            None,
            if color { Some(BOLD) } else { None },
        );
        for (r, c) in &rows {
            write_row(&mut out, r, &widths, Some(2), if color { *c } else { None });
        }
    }

    let n_err = snap.errors.len();
    let _ = writeln!(
        out,
        "\n{} certificate{}, {} error{}",
        snap.certificates.len(),
        if snap.certificates.len() == 1 {
            ""
        } else {
            "s"
        },
        n_err,
        if n_err == 1 { "" } else { "s" }
    );
    if n_err > 0 {
        let _ = writeln!(out, "\nERRORS");
        let eh = ["REASON", "SOURCE", "LOCATION", "MESSAGE"];
        let erows: Vec<[String; 4]> = snap
            .errors
            .iter()
            .map(|e| {
                [
                    e.reason.as_str().to_string(),
                    cell(&format!("{}/{}", e.source.kind, e.source.name), MAX_SOURCE),
                    cell(&e.source.location, MAX_LOCATION),
                    cell(&e.message, MAX_MESSAGE),
                ]
            })
            .collect();
        let mut widths = eh.map(width);
        for r in &erows {
            for (w, v) in widths.iter_mut().zip(r.iter()) {
                *w = (*w).max(width(v));
            }
        }
        let eh = eh.map(str::to_string);
        write_row(
            &mut out,
            &eh,
            &widths,
            None,
            if color { Some(BOLD) } else { None },
        );
        for r in &erows {
            write_row(
                &mut out,
                r,
                &widths,
                Some(0),
                if color { Some(RED) } else { None },
            );
        }
    }
    out
}

/// Write one row; `colored` is the index of the cell to colour (whole row for a
/// header when `None`).
fn write_row<const N: usize>(
    out: &mut String,
    cells: &[String; N],
    widths: &[usize; N],
    colored: Option<usize>,
    color: Option<&str>,
) {
    let mut line = String::new();
    for (i, (v, w)) in cells.iter().zip(widths.iter()).enumerate() {
        let last = i + 1 == N;
        let pad = if last {
            String::new()
        } else {
            " ".repeat(w.saturating_sub(width(v)) + 2)
        };
        match (color, colored) {
            (Some(c), Some(ci)) if ci == i => {
                let _ = write!(line, "{c}{v}{RESET}{pad}");
            }
            _ => {
                let _ = write!(line, "{v}{pad}");
            }
        }
    }
    match (color, colored) {
        (Some(c), None) => {
            let _ = writeln!(out, "{c}{}{RESET}", line.trim_end());
        }
        _ => {
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
}

/// Sanitised and truncated to `max` columns.
fn cell(v: &str, max: usize) -> String {
    truncate(&sanitize(v), max)
}

/// Whether a character must not reach a terminal as is: control characters and
/// the Unicode bidirectional/formatting controls that reorder or hide text.
fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// Replace control and bidi characters with visible escapes (`\x1b`, `\n` as
/// `\x0a`, `\u{202e}`); everything else is kept.
pub fn sanitize(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        if is_dangerous(c) {
            let n = c as u32;
            if n < 0x100 {
                let _ = write!(s, "\\x{n:02x}");
            } else {
                let _ = write!(s, "\\u{{{n:x}}}");
            }
        } else {
            s.push(c);
        }
    }
    s
}

/// Approximate display width of one character: 2 for East Asian wide and emoji
/// ranges, 0 for combining marks, else 1.
fn char_width(c: char) -> usize {
    let n = c as u32;
    match n {
        0x0300..=0x036F | 0x200B..=0x200F | 0xFE00..=0xFE0F => 0,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x1FA70..=0x1FAFF
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Cut to at most `max` columns, ending with `…` when cut.
fn truncate(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = char_width(c);
        if w + cw + 1 > max {
            break;
        }
        w += cw;
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        DistinguishedName, ErrorEntry, KeyAlgorithm, ParsedCert, Reason, Revocation, SourceKind,
        SourceRef, Trust,
    };
    use chrono::TimeZone;
    use std::sync::Arc;

    const NOW: i64 = 1_800_000_000; // 2027-01-15T08:00:00Z

    fn entry(cn: &str, location: &str, not_after: i64, trust: TrustStatus) -> CertEntry {
        CertEntry {
            source: Arc::new(SourceRef::new(SourceKind::File, "host", location)),
            index_in_bundle: 0,
            cert: Arc::new(ParsedCert {
                subject: std::sync::Arc::new(DistinguishedName {
                    cn: cn.into(),
                    ..Default::default()
                }),
                issuer: std::sync::Arc::new(DistinguishedName {
                    cn: "Issuer".into(),
                    ..Default::default()
                }),
                serial_number: "1".into(),
                serial_hex: "01".into(),
                not_before: 0,
                not_after,
                sha256_fingerprint: "0".repeat(64),
                dns_names: vec![],
                ip_addresses: vec![],
                key_algorithm: KeyAlgorithm::Ecdsa,
                key_bits: 256,
                signature_algorithm: "ecdsa-with-SHA256".into(),
                is_ca: false,
                self_signed: false,
                der: Arc::from(Vec::new()),
            }),
            expired: not_after < NOW,
            trust: Trust {
                status: trust,
                reason: None,
                detail: "".into(),
            },
            revocation: Revocation::default(),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(NOW, 0).unwrap()
    }

    #[test]
    fn rows_statuses_and_alignment() {
        let mut s = Snapshot::empty(now());
        s.certificates = vec![
            entry("old", "/a.pem", NOW - 86400 - 1, TrustStatus::Unknown),
            entry("soon", "/b.pem", NOW + 10 * 86400, TrustStatus::Trusted),
            entry(
                "later",
                "/c.pem",
                NOW + 100 * 86400 + 5,
                TrustStatus::Untrusted,
            ),
        ];
        let out = render(&s, now(), false);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("EXPIRES"), "{out}");
        assert!(
            lines[1].contains("expired/unknown") && lines[1].contains(" -2 "),
            "{out}"
        );
        assert!(
            lines[2].contains("expiring/trusted") && lines[2].contains(" 10 "),
            "{out}"
        );
        assert!(
            lines[3].contains("ok/untrusted") && lines[3].contains(" 100 "),
            "{out}"
        );
        assert!(lines[1].starts_with("2027-01-14"), "{out}");
        // Columns align: LOCATION starts at the same offset on every line.
        let col = lines[0].find("LOCATION").unwrap();
        for l in &lines[1..4] {
            assert_eq!(&l[col..col + 1], "/", "{out}");
        }
        assert!(out.contains("3 certificates, 0 errors"));
        assert!(!out.contains("ERRORS"));
        assert!(!out.contains('\x1b'));
    }

    #[test]
    fn hostile_values_cannot_inject() {
        let mut s = Snapshot::empty(now());
        s.certificates = vec![entry(
            "evil\x1b[2J\u{202e}gnp.exe\nsecond\u{9b}",
            "/x\r.pem",
            NOW + 1000 * 86400,
            TrustStatus::Trusted,
        )];
        s.errors.push(ErrorEntry::new(
            SourceRef::new(SourceKind::File, "host", "/bad\x07.pem"),
            Reason::BadPem,
            "junk \x1b]0;title\x07",
        ));
        let out = render(&s, now(), false);
        assert!(
            !out.chars().any(|c| is_dangerous(c) && c != '\n'),
            "{out:?}"
        );
        assert!(
            out.contains("evil\\x1b[2J\\u{202e}gnp.exe\\x0asecond\\x9b"),
            "{out}"
        );
        assert!(out.contains("/x\\x0d.pem"));
        assert!(out.contains("ERRORS"));
        assert!(out.contains("bad_pem"));
        assert!(out.contains("/bad\\x07.pem"));
        // Every line is a table line: the newline in the subject did not split it.
        assert_eq!(out.lines().filter(|l| l.contains("evil")).count(), 1);
    }

    #[test]
    fn long_values_truncated() {
        let mut s = Snapshot::empty(now());
        let long = "a".repeat(200);
        s.certificates = vec![entry(&long, "/y.pem", NOW, TrustStatus::Trusted)];
        let out = render(&s, now(), false);
        assert!(out.contains(&format!("{}…", "a".repeat(MAX_CN - 1))));
        assert!(!out.contains(&"a".repeat(MAX_CN)));
        assert_eq!(truncate("😀😀😀", 4), "😀…");
        assert_eq!(width("😀a"), 3);
    }

    #[test]
    fn color_only_when_asked_and_empty_inventory() {
        let mut s = Snapshot::empty(now());
        s.certificates = vec![entry("x", "/z.pem", NOW - 1, TrustStatus::Trusted)];
        let colored = render(&s, now(), true);
        assert!(colored.contains(RED));
        let plain = render(&s, now(), false);
        assert!(!plain.contains('\x1b'));
        let empty = render(&Snapshot::empty(now()), now(), true);
        assert!(empty.starts_with("no certificates found"));
    }
}
