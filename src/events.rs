//! Internal events (Vector's `internal_events` style): one typed event per notable
//! thing, and one [`emit`] that both logs it (tracing) and counts it in the
//! per-source error counters behind `x509_source_errors_total{source_kind,
//! source_name, reason}`. Because the log line and the counter increment come from
//! the same call, logs and metrics never disagree.
//!
//! | event | log level | counted |
//! |---|---|---|
//! | [`Event::SourceFailed`] — a whole source scan failed (timeout, task failure, every root unreadable, API down) | `warn` | yes |
//! | [`Event::ObjectError`] — one object or item could not be read or parsed | `debug` | yes |
//! | [`Event::CheckError`] — a check (chain, revocation) produced a located error | `debug` | yes |
//! | [`TransportEvent`] with a reason — a Kubernetes watcher's LIST/WATCH failed ([`emit_transport`]) | `warn` | `x509_kube_transport_errors_total` |
//! | [`TransportEvent`] without a reason — a watcher re-listed after it had synced | `info` | `x509_kube_watch_resyncs_total` |
//!
//! Messages are the entry's bounded message; private key material never reaches
//! an [`ErrorEntry`] (sources and parsers guarantee it).

use std::collections::BTreeMap;

use tracing::{debug, info, warn};

use crate::model::{
    ErrorEntry, KeystoreFormat, Reason, SourceKind, TransportEvent, TransportReason,
};

/// Error counts per `(source kind, source name)` and reason; never decremented.
pub type ErrorCounts = BTreeMap<(SourceKind, String), BTreeMap<Reason, u64>>;

/// `bad_passphrase` errors per `(source kind, source name)` and keystore format
/// (`x509_pkcs12_passphrase_failures_total`, `x509_jks_passphrase_failures_total`).
pub type PassphraseCounts = BTreeMap<(SourceKind, String), BTreeMap<KeystoreFormat, u64>>;

/// Kubernetes transport failures per source name, by (resource, reason); never
/// decremented (`x509_kube_transport_errors_total`).
pub type TransportCounts = BTreeMap<String, BTreeMap<(&'static str, TransportReason), u64>>;

/// Re-LISTs per source name, by resource (`x509_kube_watch_resyncs_total`).
pub type ResyncCounts = BTreeMap<String, BTreeMap<&'static str, u64>>;

/// A notable thing that happened during a scan.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A source's whole scan failed; its previous results are kept.
    SourceFailed(&'a ErrorEntry),
    /// An object or item of a source could not be read or parsed.
    ObjectError(&'a ErrorEntry),
    /// A check produced an error for a certificate.
    CheckError(&'a ErrorEntry),
}

impl Event<'_> {
    /// The error entry the event is about.
    pub fn entry(&self) -> &ErrorEntry {
        match self {
            Event::SourceFailed(e) | Event::ObjectError(e) | Event::CheckError(e) => e,
        }
    }

    /// The event's name in logs (`event` field).
    pub fn name(&self) -> &'static str {
        match self {
            Event::SourceFailed(_) => "source_failed",
            Event::ObjectError(_) => "object_error",
            Event::CheckError(_) => "check_error",
        }
    }
}

/// Log `ev` once and count it once in `counts` (and, for a `bad_passphrase` error
/// tagged with its keystore format, once in `passphrase`).
pub fn emit(counts: &mut ErrorCounts, passphrase: &mut PassphraseCounts, ev: Event<'_>) {
    let e = ev.entry();
    match ev {
        Event::SourceFailed(_) => warn!(
            event = ev.name(),
            source = %e.source.name,
            source_kind = e.source.kind.as_str(),
            reason = %e.reason,
            "{}",
            e.message
        ),
        Event::ObjectError(_) | Event::CheckError(_) => debug!(
            event = ev.name(),
            source = %e.source.name,
            source_kind = e.source.kind.as_str(),
            location = %e.source.location,
            reason = %e.reason,
            "{}",
            e.message
        ),
    }
    *counts
        .entry((e.source.kind, e.source.name.clone()))
        .or_default()
        .entry(e.reason)
        .or_insert(0) += 1;
    if let Some(f) = e.keystore {
        *passphrase
            .entry((e.source.kind, e.source.name.clone()))
            .or_default()
            .entry(f)
            .or_insert(0) += 1;
    }
}

/// Log a Kubernetes transport event once and count it once (`ev.count`
/// occurrences) in `transport` (failures) or `resyncs` (re-LISTs).
pub fn emit_transport(
    transport: &mut TransportCounts,
    resyncs: &mut ResyncCounts,
    ev: &TransportEvent,
) {
    match ev.reason {
        Some(reason) => {
            warn!(
                event = "kube_transport_error",
                source = %ev.source_name,
                resource = ev.resource,
                reason = reason.as_str(),
                count = ev.count,
                "{}",
                ev.message
            );
            *transport
                .entry(ev.source_name.clone())
                .or_default()
                .entry((ev.resource, reason))
                .or_insert(0) += ev.count;
        }
        None => {
            info!(
                event = "kube_watch_resync",
                source = %ev.source_name,
                resource = ev.resource,
                count = ev.count,
                "{}",
                ev.message
            );
            *resyncs
                .entry(ev.source_name.clone())
                .or_default()
                .entry(ev.resource)
                .or_insert(0) += ev.count;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::model::SourceRef;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn entry(name: &str, reason: Reason) -> ErrorEntry {
        ErrorEntry::new(
            SourceRef::new(SourceKind::File, name, "/x.pem"),
            reason,
            "it broke",
        )
    }

    #[test]
    fn every_emit_logs_once_and_counts_once() {
        let buf = Buf::default();
        let w = buf.clone();
        let sub = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || w.clone())
            .finish();
        let mut counts = ErrorCounts::new();
        let mut pass = PassphraseCounts::new();
        let a = entry("a", Reason::BadPem);
        let b = entry("b", Reason::Timeout);
        let k = entry("b", Reason::BadPassphrase).with_keystore(Some(KeystoreFormat::Jks));
        tracing::subscriber::with_default(sub, || {
            emit(&mut counts, &mut pass, Event::ObjectError(&a));
            emit(&mut counts, &mut pass, Event::ObjectError(&a));
            emit(&mut counts, &mut pass, Event::SourceFailed(&b));
            emit(&mut counts, &mut pass, Event::CheckError(&a));
            emit(&mut counts, &mut pass, Event::ObjectError(&k));
        });
        let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 5, "{log}");
        // The logged events and the counters agree, per source and reason.
        let logged = |src: &str, reason: &str| {
            lines
                .iter()
                .filter(|l| {
                    l.contains(&format!("source={src}")) && l.contains(&format!("reason={reason}"))
                })
                .count() as u64
        };
        for ((_, name), by_reason) in &counts {
            for (r, n) in by_reason {
                assert_eq!(logged(name, r.as_str()), *n, "{name} {r}: {log}");
            }
        }
        assert_eq!(counts[&(SourceKind::File, "a".into())][&Reason::BadPem], 3);
        assert_eq!(counts[&(SourceKind::File, "b".into())][&Reason::Timeout], 1);
        assert_eq!(
            counts[&(SourceKind::File, "b".into())][&Reason::BadPassphrase],
            1
        );
        // The passphrase counter moved with the same event, once.
        assert_eq!(pass.len(), 1);
        assert_eq!(
            pass[&(SourceKind::File, "b".into())][&KeystoreFormat::Jks],
            1
        );
        assert!(lines[2].contains("WARN") && lines[2].contains("event=\"source_failed\""));
        assert!(lines[0].contains("DEBUG") && lines[0].contains("location=/x.pem"));
    }

    #[test]
    fn transport_events_log_once_and_count_their_occurrences() {
        let buf = Buf::default();
        let w = buf.clone();
        let sub = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || w.clone())
            .finish();
        let mut t = TransportCounts::new();
        let mut r = ResyncCounts::new();
        let fail = TransportEvent {
            source_name: "k-secrets".into(),
            resource: "secrets",
            reason: Some(TransportReason::ListFailed),
            count: 3,
            message: "list secrets: API error 500".into(),
        };
        let resync = TransportEvent {
            reason: None,
            count: 1,
            message: "re-listing".into(),
            ..fail.clone()
        };
        tracing::subscriber::with_default(sub, || {
            emit_transport(&mut t, &mut r, &fail);
            emit_transport(&mut t, &mut r, &fail);
            emit_transport(&mut t, &mut r, &resync);
        });
        let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(log.lines().count(), 3, "{log}");
        assert_eq!(
            log.lines()
                .filter(|l| l.contains("WARN") && l.contains("reason=\"list_failed\""))
                .count(),
            2,
            "{log}"
        );
        assert_eq!(t["k-secrets"][&("secrets", TransportReason::ListFailed)], 6);
        assert_eq!(r["k-secrets"]["secrets"], 1);
    }
}
