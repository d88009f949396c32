//! The bounded set of error reasons (INTERFACE.md, "Bounded `reason` values").
//! Extend only by adding at the end; every value is pre-created at zero in
//! `x509_source_errors_total`.

use serde::{Serialize, Serializer};

/// Why an object, a source or a check failed. Never free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    BadPem,
    BadDer,
    NoCertificateFound,
    BadPkcs12,
    BadPassphrase,
    ReadFailed,
    PermissionDenied,
    NotFound,
    BrokenSymlink,
    TooLarge,
    SourceUnavailable,
    ApiError,
    DecodeFailed,
    CrlFetchFailed,
    OcspFailed,
    Timeout,
    AiaFetchFailed,
    BadJks,
    ConnectFailed,
    StarttlsFailed,
    StarttlsInjection,
    TlsHandshakeFailed,
}

impl Reason {
    /// Every reason, in documentation order.
    pub const ALL: [Reason; 22] = [
        Reason::BadPem,
        Reason::BadDer,
        Reason::NoCertificateFound,
        Reason::BadPkcs12,
        Reason::BadPassphrase,
        Reason::ReadFailed,
        Reason::PermissionDenied,
        Reason::NotFound,
        Reason::BrokenSymlink,
        Reason::TooLarge,
        Reason::SourceUnavailable,
        Reason::ApiError,
        Reason::DecodeFailed,
        Reason::CrlFetchFailed,
        Reason::OcspFailed,
        Reason::Timeout,
        Reason::AiaFetchFailed,
        Reason::BadJks,
        Reason::ConnectFailed,
        Reason::StarttlsFailed,
        Reason::StarttlsInjection,
        Reason::TlsHandshakeFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BadPem => "bad_pem",
            Reason::BadDer => "bad_der",
            Reason::NoCertificateFound => "no_certificate_found",
            Reason::BadPkcs12 => "bad_pkcs12",
            Reason::BadPassphrase => "bad_passphrase",
            Reason::ReadFailed => "read_failed",
            Reason::PermissionDenied => "permission_denied",
            Reason::NotFound => "not_found",
            Reason::BrokenSymlink => "broken_symlink",
            Reason::TooLarge => "too_large",
            Reason::SourceUnavailable => "source_unavailable",
            Reason::ApiError => "api_error",
            Reason::DecodeFailed => "decode_failed",
            Reason::CrlFetchFailed => "crl_fetch_failed",
            Reason::OcspFailed => "ocsp_failed",
            Reason::Timeout => "timeout",
            Reason::AiaFetchFailed => "aia_fetch_failed",
            Reason::BadJks => "bad_jks",
            Reason::ConnectFailed => "connect_failed",
            Reason::StarttlsFailed => "starttls_failed",
            Reason::StarttlsInjection => "starttls_injection",
            Reason::TlsHandshakeFailed => "tls_handshake_failed",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Map an IO error kind onto the bounded set.
    pub fn from_io(err: &std::io::Error) -> Reason {
        match err.kind() {
            std::io::ErrorKind::NotFound => Reason::NotFound,
            std::io::ErrorKind::PermissionDenied => Reason::PermissionDenied,
            std::io::ErrorKind::TimedOut => Reason::Timeout,
            _ => Reason::ReadFailed,
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Reason;

    #[test]
    fn round_trips_and_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
            assert!(seen.insert(r.as_str()));
        }
        assert_eq!(Reason::parse("nope"), None);
    }
}
