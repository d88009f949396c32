//! The listen address (`server.listen`, `--listen`), parsed once: `[host]:port`
//! where host is empty (all interfaces), an IPv4 address, a bracketed IPv6 address
//! or a DNS name; port 0–65535. Validation (`check-config`) and the HTTP server's
//! bind both use [`ListenAddr::parse`]; only [`ListenAddr::resolve`] does IO
//! (name resolution).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

/// Host part of a listen address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenHost {
    /// Empty host (`:9793`): all interfaces.
    Any,
    Ip(IpAddr),
    /// A DNS name (`localhost`, `my-host.example.com`), resolved at bind time.
    Name(String),
}

/// A syntactically valid listen address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddr {
    pub host: ListenHost,
    pub port: u16,
}

/// Why a listen address is rejected. Messages quote the (bounded) input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenError {
    #[error("{0:?} is not [host]:port (e.g. :9793, 0.0.0.0:9793, [::1]:9793)")]
    NoPort(String),
    #[error("{0:?}: port {1:?} is not a number from 0 to 65535")]
    BadPort(String, String),
    #[error("{0:?}: unclosed '[' in host")]
    UnclosedBracket(String),
    #[error("{0:?}: {1:?} is not an IPv6 address")]
    BadIpv6(String, String),
    #[error("{0:?}: IPv6 addresses must be written in brackets, e.g. [::1]:9793")]
    UnbracketedIpv6(String),
    #[error("{0:?}: {1:?} is not a valid host name or address")]
    BadHost(String, String),
    #[error("{0:?}: cannot resolve: {1}")]
    Resolve(String, String),
    #[error("{0:?}: resolves to no address")]
    NoAddress(String),
}

fn shown(s: &str) -> String {
    crate::model::bounded(s, 256)
}

impl ListenAddr {
    /// Parse `[host]:port` (no surrounding whitespace).
    pub fn parse(addr: &str) -> Result<ListenAddr, ListenError> {
        let Some((host, port)) = addr.rsplit_once(':') else {
            return Err(ListenError::NoPort(shown(addr)));
        };
        let port_ok = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
        let Some(port) = port_ok.then(|| port.parse::<u16>().ok()).flatten() else {
            return Err(ListenError::BadPort(shown(addr), shown(port)));
        };
        if host.is_empty() {
            return Ok(ListenAddr {
                host: ListenHost::Any,
                port,
            });
        }
        if let Some(inner) = host.strip_prefix('[') {
            let Some(v6) = inner.strip_suffix(']') else {
                return Err(ListenError::UnclosedBracket(shown(addr)));
            };
            return v6
                .parse::<Ipv6Addr>()
                .map(|ip| ListenAddr {
                    host: ListenHost::Ip(IpAddr::V6(ip)),
                    port,
                })
                .map_err(|_| ListenError::BadIpv6(shown(addr), shown(v6)));
        }
        if host.contains(':') || host.contains(']') {
            return Err(ListenError::UnbracketedIpv6(shown(addr)));
        }
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            return Ok(ListenAddr {
                host: ListenHost::Ip(IpAddr::V4(ip)),
                port,
            });
        }
        let valid_name = host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        if valid_name {
            Ok(ListenAddr {
                host: ListenHost::Name(host.to_string()),
                port,
            })
        } else {
            Err(ListenError::BadHost(shown(addr), shown(host)))
        }
    }

    /// The socket address to bind: an empty host is `0.0.0.0` (binding dual-stack
    /// `[::]` first is the caller's choice), `localhost` is `127.0.0.1`, another
    /// name is resolved (first address).
    pub fn resolve(&self) -> Result<SocketAddr, ListenError> {
        match &self.host {
            ListenHost::Any => Ok(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                self.port,
            )),
            ListenHost::Ip(ip) => Ok(SocketAddr::new(*ip, self.port)),
            ListenHost::Name(n) if n.eq_ignore_ascii_case("localhost") => {
                Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.port))
            }
            ListenHost::Name(n) => (n.as_str(), self.port)
                .to_socket_addrs()
                .map_err(|e| ListenError::Resolve(shown(n), e.to_string()))?
                .next()
                .ok_or_else(|| ListenError::NoAddress(shown(n))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_host_form_once() {
        assert_eq!(
            ListenAddr::parse(":9793"),
            Ok(ListenAddr {
                host: ListenHost::Any,
                port: 9793
            })
        );
        assert_eq!(
            ListenAddr::parse("[::1]:0").map(|a| a.host),
            Ok(ListenHost::Ip("::1".parse().unwrap()))
        );
        assert_eq!(
            ListenAddr::parse("localhost:1").map(|a| a.host),
            Ok(ListenHost::Name("localhost".into()))
        );
        assert!(matches!(
            ListenAddr::parse("::1:9793"),
            Err(ListenError::UnbracketedIpv6(_))
        ));
        assert!(matches!(
            ListenAddr::parse("[::1]]:9793"),
            Err(ListenError::BadIpv6(..))
        ));
        assert!(matches!(
            ListenAddr::parse(":65536"),
            Err(ListenError::BadPort(..))
        ));
    }

    #[test]
    fn resolve_without_dns() {
        let r = |s: &str| {
            ListenAddr::parse(s)
                .and_then(|a| a.resolve())
                .map(|a| a.to_string())
        };
        assert_eq!(r(":9793").as_deref(), Ok("0.0.0.0:9793"));
        assert_eq!(r("localhost:9").as_deref(), Ok("127.0.0.1:9"));
        assert_eq!(r("[::]:1").as_deref(), Ok("[::]:1"));
    }
}
