//! `scan --fail-within` / `--fail-on`: the policy gate, on the outputs side (it reads a
//! published snapshot); the per-certificate decisions (expired?) come from `checks::expiry`.
//!
//! * `--fail-within D` breaches when any certificate's notAfter is at most `D`
//!   after the evaluation instant (the snapshot's `generated_at`, i.e. `--at` or
//!   now). An already expired certificate breaches as well: it "expires within"
//!   any window, and a gate meant to catch soon-to-expire certificates must not
//!   pass because one is already past its date.
//! * `--fail-on LIST` (comma-separated, any of `expired,revoked,untrusted,error`):
//!   `expired` — notAfter before the evaluation instant; `revoked` — revocation
//!   status `revoked`; `untrusted` — trust status `untrusted` or `incomplete`;
//!   `error` — the snapshot holds at least one error (an unreadable or unparseable
//!   object, a failed source). An unknown item is a usage error (exit 2).
//!
//! Any breach makes `scan` exit 1.

use std::fmt;
use std::time::Duration;

use crate::checks::expiry;
use crate::inventory::Snapshot;
use crate::model::{CertEntry, RevocationStatus, TrustStatus};

/// The `--fail-on` items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FailOn {
    pub expired: bool,
    pub revoked: bool,
    pub untrusted: bool,
    pub error: bool,
}

impl FailOn {
    /// Items set in either.
    pub fn union(self, other: FailOn) -> FailOn {
        FailOn {
            expired: self.expired || other.expired,
            revoked: self.revoked || other.revoked,
            untrusted: self.untrusted || other.untrusted,
            error: self.error || other.error,
        }
    }
}

/// The accepted `--fail-on` items.
pub const FAIL_ON_ITEMS: [&str; 4] = ["expired", "revoked", "untrusted", "error"];

/// Parse a comma-separated `--fail-on` list. Items are case-sensitive; empty
/// items (`a,,b`, a trailing comma) are ignored; an unknown item is an error.
pub fn parse_fail_on(list: &str) -> Result<FailOn, String> {
    let mut f = FailOn::default();
    let mut any = false;
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        any = true;
        match item {
            "expired" => f.expired = true,
            "revoked" => f.revoked = true,
            "untrusted" => f.untrusted = true,
            "error" => f.error = true,
            other => {
                return Err(format!(
                    "unknown item {:?} (expected a comma-separated list of: {})",
                    crate::model::bounded(other, 64),
                    FAIL_ON_ITEMS.join(",")
                ))
            }
        }
    }
    if !any {
        return Err(format!(
            "empty list (expected a comma-separated list of: {})",
            FAIL_ON_ITEMS.join(",")
        ));
    }
    Ok(f)
}

/// The whole policy of one `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    pub fail_within: Option<Duration>,
    pub fail_on: FailOn,
}

/// Which rule a breach violates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreachKind {
    ExpiresWithin,
    Expired,
    Revoked,
    Untrusted,
    Error,
}

impl BreachKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BreachKind::ExpiresWithin => "fail-within",
            BreachKind::Expired => "expired",
            BreachKind::Revoked => "revoked",
            BreachKind::Untrusted => "untrusted",
            BreachKind::Error => "error",
        }
    }
}

/// One violation: the rule, the object and a human explanation (raw values from
/// the certificate; sanitise before printing to a terminal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub kind: BreachKind,
    pub location: String,
    pub message: String,
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.kind.as_str(),
            self.location,
            self.message
        )
    }
}

fn where_(e: &CertEntry) -> String {
    format!("{}#{}", e.source.location, e.index_in_bundle)
}

/// Every breach of `policy` in `snap`, evaluated at `snap.generated_at`.
/// Empty means the scan passes.
pub fn evaluate(snap: &Snapshot, policy: &Policy) -> Vec<Breach> {
    let at = snap.generated_at.timestamp();
    let mut out = Vec::new();
    let within = policy
        .fail_within
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    for e in &snap.certificates {
        let c = &e.cert;
        let expired = expiry::is_expired(c.not_after, at);
        if let Some(w) = within {
            // notAfter - at <= w, written without overflow.
            if c.not_after <= at.saturating_add(w) {
                let left = c.not_after.saturating_sub(at);
                let msg = if expired {
                    format!(
                        "{:?} expired {} ago (at {})",
                        c.subject.cn,
                        human(left.unsigned_abs()),
                        crate::model::time::rfc3339_from_unix(c.not_after)
                    )
                } else {
                    format!(
                        "{:?} expires in {} (at {})",
                        c.subject.cn,
                        human(left.unsigned_abs()),
                        crate::model::time::rfc3339_from_unix(c.not_after)
                    )
                };
                out.push(Breach {
                    kind: BreachKind::ExpiresWithin,
                    location: where_(e),
                    message: msg,
                });
            }
        }
        if policy.fail_on.expired && expired {
            out.push(Breach {
                kind: BreachKind::Expired,
                location: where_(e),
                message: format!("{:?} is expired", c.subject.cn),
            });
        }
        if policy.fail_on.revoked && e.revocation.status == RevocationStatus::Revoked {
            out.push(Breach {
                kind: BreachKind::Revoked,
                location: where_(e),
                message: format!("{:?} is revoked", c.subject.cn),
            });
        }
        if policy.fail_on.untrusted
            && matches!(
                e.trust.status,
                TrustStatus::Untrusted | TrustStatus::Incomplete
            )
        {
            out.push(Breach {
                kind: BreachKind::Untrusted,
                location: where_(e),
                message: format!(
                    "{:?} is {}: {}",
                    c.subject.cn,
                    e.trust.status.as_str(),
                    e.trust.detail
                ),
            });
        }
    }
    if policy.fail_on.error {
        for err in &snap.errors {
            out.push(Breach {
                kind: BreachKind::Error,
                location: err.source.location.clone(),
                message: format!("{}: {}", err.reason, err.message),
            });
        }
    }
    out
}

/// Seconds as a short human duration (`20d`, `3h5m`), for breach messages.
fn human(secs: u64) -> String {
    crate::config::duration::format_duration(std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        DistinguishedName, ErrorEntry, KeyAlgorithm, ParsedCert, Reason, Revocation, SourceKind,
        SourceRef, Trust,
    };
    use chrono::{TimeZone, Utc};
    use std::sync::Arc;

    const AT: i64 = 1_800_000_000;

    fn entry(not_after: i64) -> CertEntry {
        CertEntry {
            source: Arc::new(SourceRef::new(SourceKind::File, "s", "/x.pem")),
            index_in_bundle: 0,
            cert: Arc::new(ParsedCert {
                subject: std::sync::Arc::new(DistinguishedName {
                    cn: "x".into(),
                    ..Default::default()
                }),
                issuer: std::sync::Arc::new(DistinguishedName::default()),
                serial_number: "1".into(),
                serial_hex: "01".into(),
                not_before: 0,
                not_after,
                sha256_fingerprint: "0".repeat(64),
                dns_names: vec![],
                ip_addresses: vec![],
                key_algorithm: KeyAlgorithm::Ed25519,
                key_bits: 256,
                signature_algorithm: "ED25519".into(),
                is_ca: false,
                self_signed: true,
                der: Arc::from(Vec::new()),
            }),
            expired: not_after < AT,
            trust: Trust::default(),
            revocation: Revocation::default(),
        }
    }

    fn snap(certs: Vec<CertEntry>) -> Snapshot {
        let mut s = Snapshot::empty(Utc.timestamp_opt(AT, 0).unwrap());
        s.certificates = certs;
        s
    }

    fn within(d: u64) -> Policy {
        Policy {
            fail_within: Some(Duration::from_secs(d)),
            ..Default::default()
        }
    }

    #[test]
    fn parse_list() {
        assert_eq!(
            parse_fail_on("expired, untrusted,").unwrap(),
            FailOn {
                expired: true,
                untrusted: true,
                ..Default::default()
            }
        );
        assert!(parse_fail_on("error,nope").unwrap_err().contains("nope"));
        assert!(parse_fail_on("Expired").is_err());
        assert!(parse_fail_on(",").is_err());
    }

    #[test]
    fn fail_within_boundaries() {
        assert_eq!(
            evaluate(&snap(vec![entry(AT + 100)]), &within(100)).len(),
            1
        );
        assert!(evaluate(&snap(vec![entry(AT + 101)]), &within(100)).is_empty());
        // Already expired breaches too.
        let b = evaluate(&snap(vec![entry(AT - 5)]), &within(100));
        assert_eq!(b.len(), 1);
        assert!(b[0].message.contains("expired"));
        // Huge windows do not overflow.
        assert_eq!(
            evaluate(&snap(vec![entry(i64::MAX)]), &within(u64::MAX)).len(),
            1
        );
        assert!(evaluate(&snap(vec![entry(AT + 1)]), &Policy::default()).is_empty());
    }

    #[test]
    fn fail_on_statuses() {
        let mut revoked = entry(AT + 1000);
        revoked.revocation.status = RevocationStatus::Revoked;
        let mut incomplete = entry(AT + 1000);
        incomplete.trust.status = TrustStatus::Incomplete;
        let mut untrusted = entry(AT + 1000);
        untrusted.trust.status = TrustStatus::Untrusted;
        let mut selfsigned = entry(AT + 1000);
        selfsigned.trust.status = TrustStatus::SelfSigned;
        let expired = entry(AT - 1);
        let mut s = snap(vec![revoked, incomplete, untrusted, selfsigned, expired]);
        let all = Policy {
            fail_within: None,
            fail_on: parse_fail_on("expired,revoked,untrusted,error").unwrap(),
        };
        let kinds: Vec<_> = evaluate(&s, &all).iter().map(|b| b.kind).collect();
        assert_eq!(
            kinds,
            vec![
                BreachKind::Revoked,
                BreachKind::Untrusted,
                BreachKind::Untrusted,
                BreachKind::Expired
            ]
        );
        s.errors.push(ErrorEntry::new(
            SourceRef::new(SourceKind::File, "s", "/bad.pem"),
            Reason::BadPem,
            "garbage",
        ));
        let only_error = Policy {
            fail_within: None,
            fail_on: parse_fail_on("error").unwrap(),
        };
        let b = evaluate(&s, &only_error);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].kind, BreachKind::Error);
        assert_eq!(b[0].location, "/bad.pem");
    }
}
