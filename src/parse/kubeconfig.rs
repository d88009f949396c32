//! Kubeconfig splitting (pure, no IO): find the certificate-bearing fields of a
//! kubeconfig and return them as entries for the file source to emit.
//!
//! Fields considered, per `clusters[].cluster` and `users[].user`:
//! `certificate-authority-data` / `client-certificate-data` (base64, decoded here)
//! and `certificate-authority` / `client-certificate` (a path as written; the caller
//! resolves it relative to the kubeconfig's directory and reads it).
//!
//! `client-key-data` and `client-key` are never looked at: they are not fields of
//! the serde structs below, so their values are skipped by the YAML deserializer
//! and never base64-decoded, copied or returned.
//!
//! The YAML is third-party input: unknown keys are ignored, scalars are accepted
//! leniently (a numeric `name` is fine), and parsing runs under a serde-saphyr
//! budget. Invalid YAML is one `DecodeFailed` error for the whole file; a bad
//! base64 value is a `DecodeFailed` error for that entry only.

use std::fmt;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::ParseError;
use crate::model::{bounded, Reason};

/// Which list of the kubeconfig an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmbeddedKind {
    Cluster,
    User,
}

impl EmbeddedKind {
    /// Value of the `embedded_kind` label: `cluster` / `user`.
    pub fn as_str(self) -> &'static str {
        match self {
            EmbeddedKind::Cluster => "cluster",
            EmbeddedKind::User => "user",
        }
    }

    /// Name of the kubeconfig list: `clusters` / `users` (used in locations).
    pub fn list_name(self) -> &'static str {
        match self {
            EmbeddedKind::Cluster => "clusters",
            EmbeddedKind::User => "users",
        }
    }
}

/// Where an entry's certificate bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryContent {
    /// Base64-decoded `*-data` value.
    Embedded(Vec<u8>),
    /// A referenced file, exactly as written in the kubeconfig.
    File(String),
}

/// One certificate-bearing field of a kubeconfig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeconfigEntry {
    pub kind: EmbeddedKind,
    /// The entry's `name` (empty when missing).
    pub name: String,
    /// The kubeconfig field, e.g. `certificate-authority-data`.
    pub field: &'static str,
    pub content: EntryContent,
}

/// A per-entry failure: which entry, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    pub kind: EmbeddedKind,
    pub name: String,
    pub field: &'static str,
    pub error: ParseError,
}

/// Most entries (clusters + users fields) returned for one kubeconfig.
pub const MAX_ENTRIES: usize = 10_000;

const CA_DATA: &str = "certificate-authority-data";
const CA_FILE: &str = "certificate-authority";
const CLIENT_DATA: &str = "client-certificate-data";
const CLIENT_FILE: &str = "client-certificate";

/// A string accepted from any YAML scalar (numbers and booleans included).
#[derive(Debug, Default)]
struct Lenient(Option<String>);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Lenient;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Lenient, E> {
                Ok(Lenient(Some(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Lenient, D2::Error> {
                Lenient::deserialize(d)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawConfig {
    clusters: Option<Vec<Option<NamedCluster>>>,
    users: Option<Vec<Option<NamedUser>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NamedCluster {
    name: Lenient,
    cluster: Option<RawCluster>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawCluster {
    #[serde(rename = "certificate-authority-data")]
    ca_data: Lenient,
    #[serde(rename = "certificate-authority")]
    ca_file: Lenient,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NamedUser {
    name: Lenient,
    user: Option<RawUser>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawUser {
    #[serde(rename = "client-certificate-data")]
    client_data: Lenient,
    #[serde(rename = "client-certificate")]
    client_file: Lenient,
    // `client-key-data` / `client-key` deliberately absent: never read.
}

fn decode_failed(msg: impl AsRef<str>) -> ParseError {
    ParseError {
        reason: Reason::DecodeFailed,
        message: bounded(msg.as_ref(), crate::model::MAX_MESSAGE_LEN),
        index: None,
    }
}

fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 500_000,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_depth: 64,
            max_documents: 1,
            max_nodes: 500_000,
            max_total_scalar_bytes: 16 * 1024 * 1024,
        },
        duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::LastWins,
    }
}

fn b64() -> GeneralPurpose {
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

fn decode_data(value: &str) -> Result<Vec<u8>, ParseError> {
    let compact: Vec<u8> = value.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(decode_failed("empty base64 value"));
    }
    b64()
        .decode(&compact)
        .map_err(|e| decode_failed(format!("invalid base64: {e}")))
}

/// Cheap content sniffing: UTF-8 YAML/JSON mentioning `clusters` or `users` and one
/// of the certificate fields. Used by `kind: file` sources to treat a kubeconfig found
/// in a directory as a kubeconfig.
pub fn looks_like_kubeconfig(data: &[u8]) -> bool {
    // A kubeconfig is UTF-8 (`split` rejects anything else), and `str::contains`
    // is a vectorised search: this check runs on every file a `file` source reads.
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    (text.contains("clusters") || text.contains("users"))
        && (text.contains(CA_FILE) || text.contains(CLIENT_FILE))
}

/// Split a kubeconfig into its certificate-bearing entries, in document order
/// (clusters first, then users). `Err` when the YAML cannot be parsed; per-entry
/// failures (bad base64) are `Err` items of the returned list.
pub fn split(data: &[u8]) -> Result<Vec<Result<KubeconfigEntry, EntryError>>, ParseError> {
    let text =
        std::str::from_utf8(data).map_err(|_| decode_failed("kubeconfig is not valid UTF-8"))?;
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    // The YAML error's text is not used: it may quote the input (a snippet of the
    // offending line), and that line may hold `client-key-data`. Position only.
    let raw: RawConfig =
        serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|e| {
            match e.location() {
                Some(l) => decode_failed(format!(
                    "invalid kubeconfig YAML (line {}, column {})",
                    l.line(),
                    l.column()
                )),
                None => decode_failed("invalid kubeconfig YAML"),
            }
        })?;
    let mut out = Vec::new();
    let mut push =
        |kind: EmbeddedKind, name: &str, field: &'static str, data: Lenient, file: bool| {
            let Some(value) = data.0 else { return };
            if out.len() >= MAX_ENTRIES {
                return;
            }
            let entry = if file {
                if value.is_empty() {
                    return;
                }
                Ok(EntryContent::File(value))
            } else {
                decode_data(&value).map(EntryContent::Embedded)
            };
            out.push(match entry {
                Ok(content) => Ok(KubeconfigEntry {
                    kind,
                    name: name.to_string(),
                    field,
                    content,
                }),
                Err(error) => Err(EntryError {
                    kind,
                    name: name.to_string(),
                    field,
                    error,
                }),
            });
        };
    for c in raw.clusters.unwrap_or_default().into_iter().flatten() {
        let name = c.name.0.unwrap_or_default();
        if let Some(cl) = c.cluster {
            push(EmbeddedKind::Cluster, &name, CA_DATA, cl.ca_data, false);
            push(EmbeddedKind::Cluster, &name, CA_FILE, cl.ca_file, true);
        }
    }
    for u in raw.users.unwrap_or_default().into_iter().flatten() {
        let name = u.name.0.unwrap_or_default();
        if let Some(us) = u.user {
            push(
                EmbeddedKind::User,
                &name,
                CLIENT_DATA,
                us.client_data,
                false,
            );
            push(EmbeddedKind::User, &name, CLIENT_FILE, us.client_file, true);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    const CERT: &[u8] = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    fn kubeconfig(ca: &str, client: &str, key: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority-data: {ca}\n- name: 42\n  cluster:\n    certificate-authority: ca.crt\n    insecure-skip-tls-verify: false\nusers:\n- name: admin\n  user:\n    client-certificate-data: {client}\n    client-key-data: {key}\n- name: token-user\n  user:\n    token: abc\ncontexts: []\ncurrent-context: \"\"\n"
        )
    }

    #[test]
    fn splits_embedded_and_referenced() {
        let ca = STANDARD.encode(CERT);
        let y = kubeconfig(&ca, &ca, "'!!!not base64 and never decoded!!!'");
        assert!(looks_like_kubeconfig(y.as_bytes()));
        let entries = split(y.as_bytes()).unwrap();
        assert_eq!(entries.len(), 3);
        let e0 = entries[0].as_ref().unwrap();
        assert_eq!(e0.kind, EmbeddedKind::Cluster);
        assert_eq!(e0.name, "prod");
        assert_eq!(e0.field, "certificate-authority-data");
        assert_eq!(e0.content, EntryContent::Embedded(CERT.to_vec()));
        let e1 = entries[1].as_ref().unwrap();
        assert_eq!(e1.name, "42");
        assert_eq!(e1.content, EntryContent::File("ca.crt".into()));
        let e2 = entries[2].as_ref().unwrap();
        assert_eq!(e2.kind, EmbeddedKind::User);
        assert_eq!(e2.kind.as_str(), "user");
        assert_eq!(e2.field, "client-certificate-data");
    }

    #[test]
    fn bad_base64_is_per_entry() {
        let ca = STANDARD.encode(CERT);
        let y = kubeconfig("'%%%notbase64'", &ca, "x");
        let entries = split(y.as_bytes()).unwrap();
        assert_eq!(entries.len(), 3);
        let err = entries[0].as_ref().unwrap_err();
        assert_eq!(err.error.reason, Reason::DecodeFailed);
        assert_eq!(err.name, "prod");
        assert!(entries[1].is_ok());
        assert!(entries[2].is_ok());
    }

    #[test]
    fn wrapped_and_unpadded_base64_accepted() {
        let enc = STANDARD.encode(CERT);
        let unpadded = enc.trim_end_matches('=');
        let y = format!(
            "clusters:\n- name: a\n  cluster:\n    certificate-authority-data: \"{}\\n{}\"\n",
            &unpadded[..10],
            &unpadded[10..]
        );
        let entries = split(y.as_bytes()).unwrap();
        assert_eq!(
            entries[0].as_ref().unwrap().content,
            EntryContent::Embedded(CERT.to_vec())
        );
    }

    #[test]
    fn invalid_yaml_and_odd_shapes() {
        let e = split(b"clusters: [\n  - {name: \"x").unwrap_err();
        assert_eq!(e.reason, Reason::DecodeFailed);
        assert_eq!(split(b"").unwrap().len(), 0);
        assert_eq!(split(b"clusters:\nusers: null\n").unwrap().len(), 0);
        assert_eq!(split(b"clusters: [null, {name: x}]\n").unwrap().len(), 0);
        assert!(split(b"- a\n- b\n").is_err());
        assert!(split(b"\xff\xfe").is_err());
        // JSON kubeconfigs are YAML too.
        let j = br#"{"clusters":[{"name":"j","cluster":{"certificate-authority":"/x/ca.pem"}}]}"#;
        assert!(looks_like_kubeconfig(j));
        assert_eq!(split(j).unwrap().len(), 1);
        // Alias bombs are bounded by the budget.
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("a{}", i - 1)
            };
            bomb.push_str(&format!(
                "a{i}: &a{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        bomb.push_str("clusters: []\n");
        let _ = split(bomb.as_bytes());
    }

    #[test]
    fn key_data_is_never_returned() {
        let key_b64 = STANDARD.encode(b"-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n");
        let ca = STANDARD.encode(CERT);
        let y = kubeconfig(&ca, &ca, &key_b64);
        for e in split(y.as_bytes()).unwrap().into_iter().flatten() {
            if let EntryContent::Embedded(d) = &e.content {
                assert!(!d.windows(14).any(|w| w == b"SECRETKEYBYTES"));
            }
            assert!(!e.field.contains("key"));
        }
    }

    #[test]
    fn yaml_errors_never_quote_the_input() {
        let y = b"users:\n- name: a\n  user:\n    client-key-data: SECRETKEYBYTES: [ }\n";
        let e = split(y).unwrap_err();
        assert_eq!(e.reason, Reason::DecodeFailed);
        assert!(!e.message.contains("SECRETKEY"), "{}", e.message);
        assert!(e.message.contains("line"), "{}", e.message);
    }

    #[test]
    fn not_a_kubeconfig() {
        assert!(!looks_like_kubeconfig(CERT));
        assert!(!looks_like_kubeconfig(b"users:\n- alice\n"));
        assert!(!looks_like_kubeconfig(b"certificate-authority-data: x\n"));
    }
}
