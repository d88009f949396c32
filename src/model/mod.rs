//! IO-free domain model: what a certificate, a source object, an error reason and a
//! check result are. No tokio, no network, no filesystem in here; every other stage
//! speaks these types.

mod cert;
mod crl;
mod endpoint;
pub mod finding;
pub mod intern;
mod kube;
mod reason;
mod source;
pub mod table;
pub mod target;
#[cfg(test)]
pub(crate) mod testing;
pub mod time;

pub use cert::{
    CertEntry, Detail, DistinguishedName, KeyAlgorithm, ParsedCert, Revocation, RevocationMethod,
    RevocationStatus, Trust, TrustReason, TrustStatus,
};
pub use crl::CrlInfo;
pub use endpoint::{
    hostname_matches, Endpoint, ProbeOutcome, LABEL_ADDRESS, LABEL_ENDPOINT, LABEL_PROTOCOL,
    LABEL_SERVER_NAME,
};
pub use finding::{Finding, FindingId, ObjectMetric, ObjectSeries, Severity};
pub use kube::{TransportEvent, TransportReason};
pub use reason::Reason;
pub use source::{ErrorEntry, Failure, KeystoreFormat, SourceKind, SourceRef, MAX_MESSAGE_LEN};

/// One parsed certificate of an object: where it was found, its index in that
/// item (bundle order), and its summary.
pub type ParsedItem = (std::sync::Arc<SourceRef>, usize, std::sync::Arc<ParsedCert>);

/// Truncate a message to at most `max` bytes on a char boundary, appending `…` when cut.
/// Used for every human message that comes from (possibly hostile) input.
pub fn bounded(msg: &str, max: usize) -> String {
    if msg.len() <= max {
        return msg.to_string();
    }
    let mut end = max;
    while end > 0 && !msg.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &msg[..end])
}

#[cfg(test)]
mod tests {
    use super::bounded;

    #[test]
    fn bounded_cuts_on_char_boundary() {
        assert_eq!(bounded("abc", 10), "abc");
        assert_eq!(bounded("abcdef", 3), "abc…");
        // 'é' is two bytes: cutting at 1 must back off to 0.
        assert_eq!(bounded("é", 1), "…");
    }
}
