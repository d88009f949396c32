//! Endpoint targets: `scheme://host[:port][/path][?server_name=NAME]` URLs (and
//! bare `host:port` where the caller allows it, meaning `tls://`). Pure parsing,
//! no IO.

use std::fmt;

/// Longest target text accepted (bytes).
pub const MAX_TARGET_LEN: usize = 1024;

/// How the TLS session is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tls,
    Https,
    Smtps,
    Imaps,
    Pop3s,
    Ldaps,
    Ftps,
    Smtp,
    Lmtp,
    Imap,
    Pop3,
    Ftp,
    Ldap,
    Postgres,
    Mysql,
    Xmpp,
}

impl Protocol {
    pub const ALL: [Protocol; 16] = [
        Protocol::Tls,
        Protocol::Https,
        Protocol::Smtps,
        Protocol::Imaps,
        Protocol::Pop3s,
        Protocol::Ldaps,
        Protocol::Ftps,
        Protocol::Smtp,
        Protocol::Lmtp,
        Protocol::Imap,
        Protocol::Pop3,
        Protocol::Ftp,
        Protocol::Ldap,
        Protocol::Postgres,
        Protocol::Mysql,
        Protocol::Xmpp,
    ];

    /// The URL scheme (also the `protocol` field and label).
    pub fn scheme(self) -> &'static str {
        match self {
            Protocol::Tls => "tls",
            Protocol::Https => "https",
            Protocol::Smtps => "smtps",
            Protocol::Imaps => "imaps",
            Protocol::Pop3s => "pop3s",
            Protocol::Ldaps => "ldaps",
            Protocol::Ftps => "ftps",
            Protocol::Smtp => "smtp",
            Protocol::Lmtp => "lmtp",
            Protocol::Imap => "imap",
            Protocol::Pop3 => "pop3",
            Protocol::Ftp => "ftp",
            Protocol::Ldap => "ldap",
            Protocol::Postgres => "postgres",
            Protocol::Mysql => "mysql",
            Protocol::Xmpp => "xmpp",
        }
    }

    pub fn from_scheme(s: &str) -> Option<Protocol> {
        let s = s.to_ascii_lowercase();
        Protocol::ALL.into_iter().find(|p| p.scheme() == s)
    }

    /// Default port; `tls://` has none (the port is required).
    pub fn default_port(self) -> Option<u16> {
        Some(match self {
            Protocol::Tls => return None,
            Protocol::Https => 443,
            Protocol::Smtps => 465,
            Protocol::Imaps => 993,
            Protocol::Pop3s => 995,
            Protocol::Ldaps => 636,
            Protocol::Ftps => 990,
            Protocol::Smtp => 25,
            Protocol::Lmtp => 24,
            Protocol::Imap => 143,
            Protocol::Pop3 => 110,
            Protocol::Ftp => 21,
            Protocol::Ldap => 389,
            Protocol::Postgres => 5432,
            Protocol::Mysql => 3306,
            Protocol::Xmpp => 5222,
        })
    }

    /// Whether a plaintext exchange precedes the TLS handshake.
    pub fn is_starttls(self) -> bool {
        matches!(
            self,
            Protocol::Smtp
                | Protocol::Lmtp
                | Protocol::Imap
                | Protocol::Pop3
                | Protocol::Ftp
                | Protocol::Ldap
                | Protocol::Postgres
                | Protocol::Mysql
                | Protocol::Xmpp
        )
    }
}

/// One validated target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    pub protocol: Protocol,
    /// Host as written, without IPv6 brackets (a DNS name or an IP literal).
    pub host: String,
    pub port: u16,
    /// `?server_name=`; `None`: the host.
    pub server_name: Option<String>,
}

impl Target {
    /// `host:port` (`[::1]:443` for IPv6): the inventory `location`.
    pub fn location(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The name sent as SNI and checked against the leaf.
    pub fn name(&self) -> &str {
        self.server_name.as_deref().unwrap_or(&self.host)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.protocol.scheme(), self.location())?;
        if let Some(n) = &self.server_name {
            write!(f, "?server_name={n}")?;
        }
        Ok(())
    }
}

/// Whether a command-line argument is an endpoint URL rather than a path:
/// it starts with a known scheme followed by `://`.
pub fn looks_like_url(arg: &str) -> bool {
    arg.split_once("://")
        .is_some_and(|(scheme, _)| Protocol::from_scheme(scheme).is_some())
}

/// Parse a target. `allow_bare`: accept `host:port` as `tls://host:port`.
pub fn parse(text: &str, allow_bare: bool) -> Result<Target, String> {
    if text.len() > MAX_TARGET_LEN {
        return Err(format!("target longer than {MAX_TARGET_LEN} bytes"));
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("target must not contain whitespace or control characters".into());
    }
    let (protocol, rest) = match text.split_once("://") {
        Some((scheme, rest)) => {
            let p = Protocol::from_scheme(scheme).ok_or_else(|| {
                format!(
                    "unsupported scheme {scheme:?} (expected one of: {})",
                    Protocol::ALL.map(|p| p.scheme()).join(", ")
                )
            })?;
            (p, rest)
        }
        None if allow_bare => (Protocol::Tls, text),
        None => return Err("expected a URL such as tls://host:port".into()),
    };
    let (authority, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    // A path (https://host/path) is accepted and ignored.
    let authority = authority.split('/').next().unwrap_or("");
    if authority.contains('@') {
        return Err("user information in targets is not supported".into());
    }
    let (host, port_text) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| "unterminated [IPv6] address".to_string())?;
        if h.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("{h:?} is not an IPv6 address"));
        }
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| "expected :port after ]".to_string())?,
            ),
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err("missing host".into());
    }
    if !host.contains(':') {
        check_dns_or_ip(&host)?;
    }
    let port = match port_text {
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err(format!("invalid port {p:?}")),
            Ok(n) => n,
        },
        None => protocol
            .default_port()
            .ok_or_else(|| format!("{}:// needs a port", protocol.scheme()))?,
    };
    let mut server_name = None;
    if let Some(q) = query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("server_name", v)) if !v.is_empty() => {
                    check_dns_or_ip(v)?;
                    server_name = Some(v.to_string());
                }
                _ => {
                    return Err(format!(
                        "unsupported query parameter {pair:?} (only server_name=NAME)"
                    ))
                }
            }
        }
    }
    Ok(Target {
        protocol,
        host,
        port,
        server_name,
    })
}

fn check_dns_or_ip(h: &str) -> Result<(), String> {
    if h.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let ok = h.len() <= 253
        && h.trim_end_matches('.').split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("{h:?} is not a host name or IP address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_ports_and_names() {
        let t = parse("tls://127.0.0.1:8443", false).unwrap();
        assert_eq!(
            (t.protocol, t.port, t.location()),
            (Protocol::Tls, 8443, "127.0.0.1:8443".into())
        );
        let t = parse("https://example.com/x?server_name=other.example", false).unwrap();
        assert_eq!((t.port, t.name()), (443, "other.example"));
        let t = parse("smtp://[::1]:2525", false).unwrap();
        assert_eq!(
            (t.host.as_str(), t.location()),
            ("::1", "[::1]:2525".to_string())
        );
        assert_eq!(parse("imap://mail", false).unwrap().port, 143);
        assert_eq!(parse("XMPP://chat", false).unwrap().port, 5222);
        assert_eq!(parse("h:1", true).unwrap().protocol, Protocol::Tls);
        for p in Protocol::ALL {
            assert_eq!(Protocol::from_scheme(p.scheme()), Some(p));
        }
    }

    #[test]
    fn rejects_bad_targets() {
        for bad in [
            "tls://host",
            "gopher://h:1",
            "tls://h:0",
            "tls://h:99999",
            "tls://:1",
            "tls://u@h:1",
            "tls://h:1?x=y",
            "tls://[::1:1",
            "tls://h h:1",
            "tls://bad!host:1",
        ] {
            assert!(parse(bad, false).is_err(), "{bad}");
        }
        assert!(parse("h:1", false).is_err());
        assert!(
            looks_like_url("ldap://x") && !looks_like_url("/etc/ssl") && !looks_like_url("c:/x")
        );
    }
}
