//! certbot's renewal configuration (`renewal/<lineage>.conf`, a ConfigObj file)
//! and renewal rule, pure: the keys the source needs, `renew_before_expiry`
//! intervals as certbot's parser reads them, and the renewal due time.

use std::collections::HashMap;

/// The keys of one renewal conf: top level (before any section) and
/// `[renewalparams]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RenewalConf {
    pub top: HashMap<String, String>,
    pub params: HashMap<String, String>,
}

impl RenewalConf {
    /// Parse ConfigObj text: `key = value` lines, `#` comments, `[section]`
    /// headers; values may be quoted. Anything else is ignored.
    pub fn parse(text: &str) -> RenewalConf {
        let mut c = RenewalConf::default();
        let mut section: Option<String> = None;
        for line in text.lines().take(10_000) {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            if l.starts_with('[') {
                section = Some(
                    l.trim_matches(|ch| ch == '[' || ch == ']')
                        .trim()
                        .to_string(),
                );
                continue;
            }
            let Some((k, v)) = l.split_once('=') else {
                continue;
            };
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .unwrap_or(v);
            let k = k.trim().to_string();
            match section.as_deref() {
                None => {
                    c.top.insert(k, v.to_string());
                }
                Some("renewalparams") => {
                    c.params.insert(k, v.to_string());
                }
                Some(_) => {}
            }
        }
        c
    }

    /// The certbot version that wrote the file (`version = 2.1.0`).
    pub fn version(&self) -> Option<(u32, u32, u32)> {
        parse_version(self.top.get("version")?)
    }

    pub fn autorenew(&self) -> bool {
        !matches!(
            self.params.get("autorenew").map(|s| s.to_ascii_lowercase()),
            Some(ref v) if v == "false" || v == "no" || v == "0" || v == "off"
        )
    }

    /// The ACME directory URL (`server` in `[renewalparams]`).
    pub fn server(&self) -> Option<&str> {
        self.params.get("server").map(String::as_str)
    }
}

pub fn parse_version(s: &str) -> Option<(u32, u32, u32)> {
    let mut it = s.trim().split(['.', '-', '+']);
    let major = it.next()?.parse().ok()?;
    let minor = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    let patch = it.next().and_then(|x| x.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

/// An ACME staging server: Let's Encrypt's staging directory, or any
/// directory URL naming "staging" (Google, ZeroSSL, Buypass test endpoints
/// use `staging`/`test` hosts; only "staging" is matched to stay precise).
pub fn is_staging(server: &str) -> bool {
    server.to_ascii_lowercase().contains("staging")
}

/// Seconds of a certbot interval (`30 days`, `2 weeks`, `12 hours`, `3 months`,
/// `1 year`, sequences like `1 week 3 days`; a bare number is days) —
/// parsedatetime's units as certbot uses them (a month = 30 days, a year =
/// 365 days). `None` when nothing parses.
pub fn interval_secs(text: &str) -> Option<i64> {
    let t = text.trim().to_ascii_lowercase();
    if let Ok(days) = t.parse::<i64>() {
        return days.checked_mul(86_400);
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    let mut total: i64 = 0;
    let mut any = false;
    let mut i = 0;
    while i < words.len() {
        // `30days` or `30 days`
        let w = words[i];
        let split = w.find(|c: char| !c.is_ascii_digit()).unwrap_or(w.len());
        let (num, unit) = if split == w.len() {
            let unit = words.get(i + 1).copied().unwrap_or("days");
            i += 1;
            (w, unit)
        } else {
            (&w[..split], &w[split..])
        };
        i += 1;
        let Ok(n) = num.parse::<i64>() else {
            continue;
        };
        let unit = unit.trim_end_matches(',');
        let secs = match unit {
            u if u.starts_with("sec") || u == "s" => 1,
            u if u.starts_with("min") => 60,
            u if u.starts_with("hour") || u == "h" || u == "hr" || u == "hrs" => 3_600,
            u if u.starts_with("day") || u == "d" => 86_400,
            u if u.starts_with("week") || u == "w" || u == "wk" => 7 * 86_400,
            u if u.starts_with("month") || u == "mo" => 30 * 86_400,
            u if u.starts_with("year") || u == "y" || u == "yr" => 365 * 86_400,
            _ => continue,
        };
        total = total.checked_add(n.checked_mul(secs)?)?;
        any = true;
    }
    any.then_some(total)
}

/// certbot's default before 4.1.0: renew 30 days before expiry.
pub const LEGACY_DEFAULT: i64 = 30 * 86_400;

/// Which rule applies to a lineage and when renewal is due (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub at: i64,
    /// Human description of the rule (for messages and docs).
    pub rule: String,
}

/// When certbot renews the newest certificate of a lineage (`not_before`,
/// `not_after` of it), by its own rule:
///
/// * `renew_before_expiry` set (uncommented) in the conf: that long before
///   notAfter;
/// * else certbot ≥ 4.1.0 (the version that wrote the conf): when one third of
///   the lifetime is left, one half for lifetimes under 10 days (certbot PR
///   10207);
/// * else (older certbot, e.g. Debian 12's 2.1.0): 30 days before notAfter.
pub fn renewal_due(conf: &RenewalConf, not_before: i64, not_after: i64) -> Due {
    if let Some(iv) = conf
        .top
        .get("renew_before_expiry")
        .and_then(|s| interval_secs(s))
    {
        return Due {
            at: not_after.saturating_sub(iv),
            rule: format!(
                "renew_before_expiry = {}",
                crate::model::bounded(&conf.top["renew_before_expiry"], 64)
            ),
        };
    }
    if conf.version().is_some_and(|v| v >= (4, 1, 0)) {
        let lifetime = (not_after - not_before).max(0);
        let (left, what) = if lifetime < 10 * 86_400 {
            (lifetime / 2, "one half")
        } else {
            (lifetime / 3, "one third")
        };
        return Due {
            at: not_after - left,
            rule: format!("certbot ≥ 4.1 default: {what} of the lifetime left"),
        };
    }
    Due {
        at: not_after.saturating_sub(LEGACY_DEFAULT),
        rule: "certbot default: 30 days before expiry".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "# renew_before_expiry = 30 days\nversion = 2.1.0\narchive_dir = /etc/letsencrypt/archive/a\ncert = /etc/letsencrypt/live/a/cert.pem\n\n# Options used in the renewal process\n[renewalparams]\naccount = abc\nserver = https://acme-staging-v02.api.letsencrypt.org/directory\nauthenticator = standalone\n";

    #[test]
    fn parses_certbot_conf() {
        let c = RenewalConf::parse(CONF);
        assert_eq!(c.version(), Some((2, 1, 0)));
        assert_eq!(c.top["archive_dir"], "/etc/letsencrypt/archive/a");
        assert!(!c.top.contains_key("renew_before_expiry"), "commented out");
        assert!(is_staging(c.server().unwrap()));
        assert!(c.autorenew());
        assert!(!is_staging(
            "https://acme-v02.api.letsencrypt.org/directory"
        ));
    }

    #[test]
    fn intervals_like_parsedatetime() {
        assert_eq!(interval_secs("30 days"), Some(30 * 86_400));
        assert_eq!(interval_secs("10"), Some(10 * 86_400));
        assert_eq!(interval_secs("2 weeks"), Some(14 * 86_400));
        assert_eq!(interval_secs("1 week 3 days"), Some(10 * 86_400));
        assert_eq!(interval_secs("12 hours"), Some(12 * 3_600));
        assert_eq!(interval_secs("3 months"), Some(90 * 86_400));
        assert_eq!(interval_secs("nonsense"), None);
        assert_eq!(interval_secs("99999999999999999 years"), None);
    }

    #[test]
    fn renewal_rule_by_version_and_setting() {
        let day = 86_400;
        let legacy = RenewalConf::parse("version = 2.1.0\n");
        assert_eq!(renewal_due(&legacy, 0, 90 * day).at, 60 * day);
        let new = RenewalConf::parse("version = 4.1.1\n");
        assert_eq!(renewal_due(&new, 0, 90 * day).at, 60 * day);
        assert_eq!(renewal_due(&new, 0, 6 * day).at, 3 * day);
        assert_eq!(renewal_due(&new, 0, 30 * day).at, 20 * day);
        let set = RenewalConf::parse("renew_before_expiry = 7 days\nversion = 4.2.0\n");
        assert_eq!(renewal_due(&set, 0, 90 * day).at, 83 * day);
    }
}
