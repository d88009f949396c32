//! The parts of TUF metadata (The Update Framework, as Notary and Docker Content
//! Trust write it) that carry expiry: each role file's `signed.expires`, and the
//! X.509 certificates of `*-x509` keys (`signed.keys` of `root.json`,
//! `signed.delegations.keys` of `targets.json` and delegation roles).
//!
//! Hostile input: the document is size-capped by the caller, keys and roles are
//! capped here, and every failure is a bounded message.

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Most keys read from one metadata file.
pub const MAX_KEYS: usize = 256;
/// Longest `keyval.public` accepted (base64 of a PEM certificate), bytes.
pub const MAX_PUBLIC_LEN: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
struct Doc {
    signed: Signed,
}

#[derive(Debug, Deserialize)]
struct Signed {
    #[serde(rename = "_type")]
    typ: String,
    expires: String,
    #[serde(default)]
    version: u64,
    #[serde(default)]
    keys: BTreeMap<String, Key>,
    #[serde(default)]
    roles: BTreeMap<String, RootRole>,
    #[serde(default)]
    delegations: Option<Delegations>,
}

#[derive(Debug, Deserialize)]
struct Key {
    keytype: String,
    keyval: KeyVal,
}

#[derive(Debug, Deserialize)]
struct KeyVal {
    #[serde(default)]
    public: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RootRole {
    #[serde(default)]
    keyids: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Delegations {
    #[serde(default)]
    keys: BTreeMap<String, Key>,
    #[serde(default)]
    roles: Vec<DelegatedRole>,
}

#[derive(Debug, Deserialize)]
struct DelegatedRole {
    name: String,
    #[serde(default)]
    keyids: Vec<String>,
}

/// One X.509 key of a metadata file: the certificate (PEM text) and the roles
/// that name the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X509Key {
    pub key_id: String,
    /// `root`, `targets/releases`, ... (joined with `,` when several).
    pub roles: String,
    pub pem: Vec<u8>,
}

/// What one metadata file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `Root`, `Targets`, `Snapshot`, `Timestamp` (as written).
    pub typ: String,
    pub version: u64,
    pub expires: DateTime<Utc>,
    pub x509_keys: Vec<X509Key>,
    /// Keys that could not be used (not base64, too long), with why.
    pub key_errors: Vec<(String, String)>,
}

fn roles_naming<'a>(id: &str, roles: impl Iterator<Item = (&'a str, &'a [String])>) -> String {
    let mut names: Vec<&str> = roles
        .filter(|(_, ids)| ids.iter().any(|k| k == id))
        .map(|(n, _)| n)
        .collect();
    names.sort_unstable();
    names.dedup();
    names.join(",")
}

fn x509_keys(
    keys: &BTreeMap<String, Key>,
    roles: &[(&str, &[String])],
    out: &mut Metadata,
) -> Result<(), String> {
    if keys.len() > MAX_KEYS {
        return Err(format!("{} keys (limit {MAX_KEYS})", keys.len()));
    }
    for (id, k) in keys {
        if !k.keytype.ends_with("-x509") {
            continue;
        }
        let id_shown = crate::model::bounded(id, 80);
        let Some(public) = &k.keyval.public else {
            out.key_errors
                .push((id_shown, "x509 key without keyval.public".into()));
            continue;
        };
        if public.len() > MAX_PUBLIC_LEN {
            out.key_errors.push((
                id_shown,
                format!(
                    "keyval.public of {} bytes (limit {MAX_PUBLIC_LEN})",
                    public.len()
                ),
            ));
            continue;
        }
        match base64::engine::general_purpose::STANDARD.decode(public.trim()) {
            Ok(pem) => out.x509_keys.push(X509Key {
                key_id: id.clone(),
                roles: roles_naming(id, roles.iter().copied()),
                pem,
            }),
            Err(e) => out
                .key_errors
                .push((id_shown, format!("keyval.public is not base64: {e}"))),
        }
    }
    Ok(())
}

/// Parse one TUF metadata document.
pub fn parse(data: &[u8]) -> Result<Metadata, String> {
    let doc: Doc = serde_json::from_slice(data)
        .map_err(|e| crate::model::bounded(&format!("not TUF metadata: {e}"), 300))?;
    let s = doc.signed;
    let expires = DateTime::parse_from_rfc3339(&s.expires)
        .map_err(|e| {
            format!(
                "signed.expires {:?} is not an RFC 3339 time: {e}",
                crate::model::bounded(&s.expires, 60)
            )
        })?
        .with_timezone(&Utc);
    let mut out = Metadata {
        typ: crate::model::bounded(&s.typ, 40),
        version: s.version,
        expires,
        x509_keys: Vec::new(),
        key_errors: Vec::new(),
    };
    let root_roles: Vec<(&str, &[String])> = s
        .roles
        .iter()
        .map(|(n, r)| (n.as_str(), r.keyids.as_slice()))
        .collect();
    x509_keys(&s.keys, &root_roles, &mut out)?;
    if let Some(d) = &s.delegations {
        let roles: Vec<(&str, &[String])> = d
            .roles
            .iter()
            .map(|r| (r.name.as_str(), r.keyids.as_slice()))
            .collect();
        x509_keys(&d.keys, &roles, &mut out)?;
    }
    Ok(out)
}

/// How a `private/` key file begins: `Some(true)` an encrypted PEM private key,
/// `Some(false)` an unencrypted one, `None` not a PEM private key. Only the first
/// `BEGIN` line is looked at.
pub fn key_encrypted(data: &[u8]) -> Option<bool> {
    let text = data.get(..data.len().min(4096))?;
    let begin = text.windows(11).position(|w| w == b"-----BEGIN ")?;
    let line = &text[begin..];
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
    let line = String::from_utf8_lossy(&line[..end]);
    if !line.contains("PRIVATE KEY") {
        return None;
    }
    if line.contains("ENCRYPTED") {
        return Some(true);
    }
    // Traditional OpenSSL encryption: `Proc-Type: 4,ENCRYPTED` header.
    let rest = &text[begin..];
    let head = &rest[..rest.len().min(512)];
    const PROC_TYPE: &[u8] = b"Proc-Type: 4,ENCRYPTED";
    Some(head.windows(PROC_TYPE.len()).any(|w| w == PROC_TYPE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_with_an_x509_key_and_roles() {
        let pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let b64 = base64::engine::general_purpose::STANDARD.encode(pem);
        let doc = format!(
            r#"{{"signed":{{"_type":"Root","expires":"2036-12-04T23:52:10.5Z","version":3,
            "keys":{{"aa":{{"keytype":"ecdsa-x509","keyval":{{"public":"{b64}","private":null}}}},
                     "bb":{{"keytype":"ecdsa","keyval":{{"public":"AAAA"}}}},
                     "cc":{{"keytype":"rsa-x509","keyval":{{"public":"!!"}}}}}},
            "roles":{{"root":{{"keyids":["aa"],"threshold":1}},"targets":{{"keyids":["bb"]}}}}}},
            "signatures":[]}}"#
        );
        let m = parse(doc.as_bytes()).unwrap();
        assert_eq!(m.typ, "Root");
        assert_eq!(m.version, 3);
        assert_eq!(m.expires.to_rfc3339(), "2036-12-04T23:52:10.500+00:00");
        assert_eq!(m.x509_keys.len(), 1);
        assert_eq!(m.x509_keys[0].roles, "root");
        assert_eq!(m.x509_keys[0].pem, pem);
        assert_eq!(m.key_errors.len(), 1, "{:?}", m.key_errors);
        assert_eq!(m.key_errors[0].0, "cc");
    }

    #[test]
    fn delegation_keys_of_targets() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"pem");
        let doc = format!(
            r#"{{"signed":{{"_type":"Targets","expires":"2029-01-01T00:00:00Z","targets":{{}},
            "delegations":{{"keys":{{"dd":{{"keytype":"ecdsa-x509","keyval":{{"public":"{b64}"}}}}}},
            "roles":[{{"name":"targets/releases","keyids":["dd"]}},{{"name":"targets/qa","keyids":["dd"]}}]}}}}}}"#
        );
        let m = parse(doc.as_bytes()).unwrap();
        assert_eq!(m.x509_keys[0].roles, "targets/qa,targets/releases");
    }

    #[test]
    fn hostile_documents_are_bounded_errors() {
        for bad in [
            &b""[..],
            b"{}",
            b"{\"signed\":{\"_type\":\"Root\",\"expires\":\"tomorrow\"}}",
            b"[1,2,3]",
            &[0xff; 100],
        ] {
            let e = parse(bad).unwrap_err();
            assert!(!e.is_empty() && e.len() <= 512, "{e}");
        }
    }

    #[test]
    fn key_encryption_is_read_from_the_begin_line() {
        assert_eq!(
            key_encrypted(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: root\n\nMII"),
            Some(true)
        );
        assert_eq!(
            key_encrypted(b"-----BEGIN PRIVATE KEY-----\nrole: root\n\nMII"),
            Some(false)
        );
        assert_eq!(
            key_encrypted(b"-----BEGIN EC PRIVATE KEY-----\nMII"),
            Some(false)
        );
        assert_eq!(
            key_encrypted(
                b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nMII"
            ),
            Some(true)
        );
        assert_eq!(key_encrypted(b"-----BEGIN CERTIFICATE-----\n"), None);
        assert_eq!(key_encrypted(b"garbage"), None);
    }
}
