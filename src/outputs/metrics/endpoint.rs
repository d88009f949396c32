//! `x509_endpoint_*`: one set of series per probed endpoint address of the
//! `tls_endpoint` sources, derived from the snapshot (the leaf's `endpoint`
//! object and the endpoint's error entries). Labels: `source_name`,
//! `endpoint` (`host:port`), `endpoint_address`, `endpoint_server_name`,
//! `endpoint_protocol` (plus `version` on `x509_endpoint_tls_version_info`).

use std::collections::BTreeMap;

use super::collector::Value;
use crate::inventory::Snapshot;
use crate::model::{
    Endpoint, SourceKind, SourceRef, LABEL_ADDRESS, LABEL_PROTOCOL, LABEL_SERVER_NAME,
};

pub mod help {
    pub const UP: &str =
        "1 if the last probe of this endpoint completed a TLS handshake without error, else 0.";
    pub const HANDSHAKE: &str =
        "Connect, STARTTLS and TLS handshake time of the last successful probe, in seconds.";
    pub const HOSTNAME_MATCH: &str =
        "1 if the served leaf certificate covers the server name, else 0.";
    pub const TLS_VERSION: &str = "Negotiated TLS version of the last successful probe (always 1).";
    pub const ALL: [&str; 4] = [UP, HANDSHAKE, HOSTNAME_MATCH, TLS_VERSION];
}

/// One family: OpenMetrics name, help, whether it is an info family, series.
pub type EndpointFamily = (
    &'static str,
    &'static str,
    bool,
    Vec<(Vec<(&'static str, String)>, Value)>,
);

#[derive(Default)]
struct State<'a> {
    leaf: Option<&'a Endpoint>,
    failed: bool,
    server_name: String,
    protocol: String,
}

fn key(r: &SourceRef) -> (String, String, String) {
    (
        r.name.clone(),
        r.location.clone(),
        r.label(LABEL_ADDRESS).unwrap_or("").to_string(),
    )
}

/// The endpoint families of `snap` (empty series when it has no endpoints).
pub fn families(snap: &Snapshot) -> Vec<EndpointFamily> {
    let mut by: BTreeMap<(String, String, String), State<'_>> = BTreeMap::new();
    for c in &snap.certificates {
        let Some(ep) = c.source.endpoint.as_deref() else {
            continue;
        };
        if c.index_in_bundle != 0 {
            continue;
        }
        let st = by.entry(key(&c.source)).or_default();
        st.leaf = Some(ep);
        st.server_name = ep.server_name.clone();
        st.protocol = ep.protocol.clone();
    }
    for e in &snap.errors {
        if e.source.kind != SourceKind::TlsEndpoint || e.source.label(LABEL_PROTOCOL).is_none() {
            continue;
        }
        let st = by.entry(key(&e.source)).or_default();
        st.failed = true;
        st.server_name = e.source.label(LABEL_SERVER_NAME).unwrap_or("").to_string();
        st.protocol = e.source.label(LABEL_PROTOCOL).unwrap_or("").to_string();
    }
    let mut up = Vec::new();
    let mut hs = Vec::new();
    let mut hm = Vec::new();
    let mut ver = Vec::new();
    for ((name, location, address), st) in &by {
        let labels = vec![
            ("source_name", name.clone()),
            ("endpoint", location.clone()),
            ("endpoint_address", address.clone()),
            ("endpoint_server_name", st.server_name.clone()),
            ("endpoint_protocol", st.protocol.clone()),
        ];
        let ok = st.leaf.is_some() && !st.failed;
        up.push((labels.clone(), Value::Int(i64::from(ok))));
        if let Some(ep) = st.leaf {
            hm.push((labels.clone(), Value::Int(i64::from(ep.hostname_match))));
            if ok {
                hs.push((labels.clone(), Value::Float(ep.handshake_seconds())));
                let mut l = labels.clone();
                l.push(("version", ep.tls_version.clone()));
                ver.push((l, Value::Int(1)));
            }
        }
    }
    vec![
        ("x509_endpoint_up", help::UP, false, up),
        (
            "x509_endpoint_handshake_seconds",
            help::HANDSHAKE,
            false,
            hs,
        ),
        (
            "x509_endpoint_hostname_match",
            help::HOSTNAME_MATCH,
            false,
            hm,
        ),
        ("x509_endpoint_tls_version", help::TLS_VERSION, true, ver),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn help_texts_need_no_escaping() {
        for h in super::help::ALL {
            assert!(!h.contains(['\\', '"', '\n']), "{h}");
        }
    }
}
