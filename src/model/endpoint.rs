//! What a TLS endpoint presented in one handshake (IO-free): the `endpoint`
//! object of a `tls_endpoint` inventory entry (INTERFACE.md).

use serde::{Serialize, Serializer};

use super::{CertEntry, ErrorEntry, TrustStatus};

/// Location labels of endpoint certificates (extra labels of the metric schema,
/// `""` on every other series).
pub const LABEL_ENDPOINT: &str = "endpoint";
pub const LABEL_ADDRESS: &str = "endpoint_address";
pub const LABEL_SERVER_NAME: &str = "endpoint_server_name";
pub const LABEL_PROTOCOL: &str = "endpoint_protocol";

/// What one `/probe` found (the served chain, judged by `checks`).
#[derive(Debug, Clone)]
pub struct ProbeOutcome {
    pub duration: std::time::Duration,
    /// Handshake completed and nothing failed.
    pub handshake_ok: bool,
    /// The served chain, leaf first; trust filled in by the checker.
    pub entries: Vec<CertEntry>,
    pub error: Option<ErrorEntry>,
    pub tls_version: String,
    /// The module verifies (blackbox's default): success needs a verified
    /// chain and a matching name, not only a handshake.
    pub verify: bool,
}

impl ProbeOutcome {
    /// The leaf verified to a trust anchor.
    pub fn chain_verified(&self) -> bool {
        self.entries
            .first()
            .is_some_and(|e| e.trust.status == TrustStatus::Trusted)
    }

    pub fn hostname_match(&self) -> bool {
        self.entries
            .first()
            .and_then(|e| e.source.endpoint.as_ref())
            .is_some_and(|ep| ep.hostname_match)
    }

    /// blackbox semantics: handshake, and for a verifying module chain and name.
    pub fn success(&self) -> bool {
        self.handshake_ok && (!self.verify || (self.chain_verified() && self.hostname_match()))
    }
}

/// The handshake facts of one served chain, shared by every certificate of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Endpoint {
    /// The socket address connected to (`127.0.0.1:8443`, `[::1]:443`).
    pub address: String,
    /// The name sent as SNI and checked against the leaf (the host, or
    /// `?server_name=`); an IP address when the target is one (no SNI sent).
    pub server_name: String,
    /// URL scheme of the target (`tls`, `https`, `smtp`, ...).
    pub protocol: String,
    /// Negotiated protocol version (`TLSv1.3`, `TLSv1.2`).
    pub tls_version: String,
    /// Negotiated cipher suite (IANA name).
    pub cipher: String,
    /// Negotiated ALPN protocol, `None` when none was agreed.
    pub alpn: Option<String>,
    /// The leaf covers `server_name` (DNS SAN with the one-label wildcard rule, or IP SAN).
    pub hostname_match: bool,
    /// The server stapled an OCSP response.
    pub ocsp_stapled: bool,
    /// Connect + STARTTLS + TLS handshake, microseconds.
    pub handshake_micros: u64,
}

impl Endpoint {
    pub fn handshake_seconds(&self) -> f64 {
        self.handshake_micros as f64 / 1e6
    }
}

impl Serialize for Endpoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Endpoint", 9)?;
        st.serialize_field("address", &self.address)?;
        st.serialize_field("server_name", &self.server_name)?;
        st.serialize_field("protocol", &self.protocol)?;
        st.serialize_field("tls_version", &self.tls_version)?;
        st.serialize_field("cipher", &self.cipher)?;
        st.serialize_field("alpn", &self.alpn)?;
        st.serialize_field("hostname_match", &self.hostname_match)?;
        st.serialize_field("ocsp_stapled", &self.ocsp_stapled)?;
        st.serialize_field("handshake_seconds", &self.handshake_seconds())?;
        st.end()
    }
}

/// Whether a certificate with these SANs covers `name` (RFC 6125: DNS names
/// case-insensitively, a wildcard only as the whole left-most label and matching
/// exactly one label; an IP address only against IP SANs). No CN fallback.
pub fn hostname_matches(dns_names: &[String], ip_addresses: &[String], name: &str) -> bool {
    let name = name.trim_end_matches('.');
    if let Ok(ip) = name
        .trim_matches(|c| c == '[' || c == ']')
        .parse::<std::net::IpAddr>()
    {
        return ip_addresses
            .iter()
            .any(|s| s.parse::<std::net::IpAddr>().ok() == Some(ip));
    }
    let name = name.to_ascii_lowercase();
    dns_names.iter().any(|pat| {
        let pat = pat.trim_end_matches('.').to_ascii_lowercase();
        if let Some(rest) = pat.strip_prefix("*.") {
            match name.split_once('.') {
                Some((first, tail)) => !first.is_empty() && tail == rest && rest.contains('.'),
                None => false,
            }
        } else {
            pat == name
        }
    })
}

#[cfg(test)]
mod tests {
    use super::hostname_matches;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn dns_and_wildcards() {
        let names = s(&["Web.Example.com", "*.apps.example.com"]);
        assert!(hostname_matches(&names, &[], "web.example.com"));
        assert!(hostname_matches(&names, &[], "web.example.com."));
        assert!(hostname_matches(&names, &[], "a.apps.example.com"));
        assert!(!hostname_matches(&names, &[], "a.b.apps.example.com"));
        assert!(!hostname_matches(&names, &[], "apps.example.com"));
        assert!(!hostname_matches(&names, &[], "other.example.com"));
        assert!(!hostname_matches(&s(&["*.com"]), &[], "example.com"));
    }

    #[test]
    fn ip_addresses_only_match_ip_sans() {
        let ips = s(&["127.0.0.1", "::1"]);
        assert!(hostname_matches(&[], &ips, "127.0.0.1"));
        assert!(hostname_matches(&[], &ips, "[::1]"));
        assert!(!hostname_matches(&s(&["127.0.0.1"]), &[], "127.0.0.1"));
        assert!(!hostname_matches(&[], &ips, "127.0.0.2"));
    }
}
