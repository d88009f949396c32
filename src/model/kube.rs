//! Kubernetes API transport events (IO-free): what a watcher saw go wrong on the
//! wire, or a re-LIST it had to do, for `x509_kube_transport_errors_total` and
//! `x509_kube_watch_resyncs_total` (the established exporter's v4.2 families,
//! COMPAT.md §2.2).

/// Why a watcher's request or stream failed (bounded; every value is pre-created
/// at zero per watched resource).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransportReason {
    /// The (initial or re-) LIST request failed.
    ListFailed,
    /// The WATCH request was refused or failed to start.
    WatchStartFailed,
    /// The API server sent an `ERROR` event (other than `410 Gone`) in the stream.
    WatchErrorEvent,
    /// An open watch stream broke (connection reset, undecodable event).
    WatchFlapped,
    /// Listing the namespaces a namespace label selector picks failed.
    NamespaceSyncFailed,
}

impl TransportReason {
    /// Every reason, in documentation order.
    pub const ALL: [TransportReason; 5] = [
        TransportReason::ListFailed,
        TransportReason::WatchStartFailed,
        TransportReason::WatchErrorEvent,
        TransportReason::WatchFlapped,
        TransportReason::NamespaceSyncFailed,
    ];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportReason::ListFailed => "list_failed",
            TransportReason::WatchStartFailed => "watch_start_failed",
            TransportReason::WatchErrorEvent => "watch_error_event",
            TransportReason::WatchFlapped => "watch_flapped",
            TransportReason::NamespaceSyncFailed => "namespace_sync_failed",
        }
    }
}

impl std::fmt::Display for TransportReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a watcher reports: `count` occurrences (merged while the scraper had not
/// collected them yet) of one failure, or of a re-LIST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportEvent {
    /// The source (`<name>-secrets`, ...).
    pub source_name: String,
    /// The API resource (`secrets`, `configmaps`, `namespaces`, ...).
    pub resource: &'static str,
    /// `Some`: a transport failure; `None`: a re-LIST (resync) after the
    /// watcher had synced (`410 Gone`, or a restart after a failure).
    pub reason: Option<TransportReason>,
    pub count: u64,
    /// The latest occurrence's bounded message.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::TransportReason;

    #[test]
    fn reasons_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in TransportReason::ALL {
            assert!(seen.insert(r.as_str()));
            assert_eq!(r.to_string(), r.as_str());
        }
    }
}
