//! Pure extraction: one watched object → the certificate-bearing values it holds,
//! as items for the parser plus located errors. Only certificate material is kept:
//! PEM values are reduced to their certificate/CRL blocks (a `tls.crt` that also
//! holds a key loses the key here), PKCS#12 keystores are opened at once and only
//! their certificates are kept, every other key (`tls.key`, ...) is never decoded.

use base64::Engine as _;
use serde_json::Value;

use crate::config::{KubeConfigMapsConfig, KubeSecretType};
use crate::model::{ErrorEntry, Failure, KeystoreFormat, Reason, SourceKind, SourceRef};
use crate::parse::{self, FormatHint, ParseOptions};
use crate::sources::glob::component_matches;

use super::resources::{
    ApiService, CertificateSigningRequest, ConfigMap, CustomResourceDefinition,
    MutatingWebhookConfiguration, Secret, ValidatingWebhookConfiguration,
};

/// One certificate-bearing value, ready for the parser (which wipes `data`
/// right away, see `store::Summary::parse`).
#[derive(Debug, Clone)]
pub struct StoredItem {
    pub sref: SourceRef,
    pub data: Vec<u8>,
    pub hint: FormatHint,
}

/// What one object contributes: its items and object-level errors.
#[derive(Debug, Clone, Default)]
pub struct Extracted {
    pub items: Vec<StoredItem>,
    pub errors: Vec<ErrorEntry>,
    /// Content digest for fingerprint deduplication (ConfigMaps named in `dedupe`).
    pub digest: Option<[u8; 32]>,
}

/// Settings extraction needs (the source name and size cap).
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    pub source_name: &'a str,
    pub max_size: usize,
}

/// Add the object's labels `names` (value `""` when the object lacks one) as
/// `<prefix><sanitised name>` to every item and error of `x`
/// (`configmap_label_*`, `cabundle_label_*`).
pub fn expose_labels(
    x: &mut Extracted,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    prefix: &str,
    names: &[String],
) {
    if names.is_empty() {
        return;
    }
    let pairs: Vec<(String, String)> = names
        .iter()
        .map(|l| {
            let v = meta
                .labels
                .as_ref()
                .and_then(|m| m.get(l))
                .cloned()
                .unwrap_or_default();
            (sanitize_label_name(prefix, l), v)
        })
        .collect();
    let add = |sref: &mut SourceRef| {
        sref.labels.extend(
            pairs
                .iter()
                .map(|(k, v)| (std::borrow::Cow::Owned(k.clone()), v.clone())),
        );
    };
    for it in &mut x.items {
        add(&mut it.sref);
    }
    for e in &mut x.errors {
        add(&mut e.source);
    }
}

/// Copy `labels` of an object as `<prefix><sanitised name>` (COMPAT §3, v4 rules:
/// every non letter/digit becomes `_`, a leading digit gets a `_` prefix).
pub fn sanitize_label_name(prefix: &str, name: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + name.len() + 1);
    out.push_str(prefix);
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
    }
    out.extend(
        name.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
    );
    out
}

/// Whether `key` matches one of the names/globs.
pub fn key_matches(patterns: &[String], key: &str) -> bool {
    patterns
        .iter()
        .any(|p| p == key || component_matches(p.as_bytes(), key.as_bytes()))
}

/// Keep only the certificate and CRL blocks of PEM text (keys and other blocks are
/// dropped, so key material never reaches the store). Text without armour is
/// returned unchanged. Block indices of certificates are preserved because the
/// parser numbers certificate blocks only.
pub fn certificate_blocks_only(data: &[u8]) -> Vec<u8> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    const END: &[u8] = b"-----END ";
    if !parse::pem::has_pem_armour(data) {
        return data.to_vec();
    }
    let mut out = Vec::with_capacity(data.len());
    let mut pos = 0usize;
    while let Some(off) = find(&data[pos..], BEGIN) {
        let start = pos + off;
        let label_start = start + BEGIN.len();
        let label_end = find(&data[label_start..], b"-----").map(|e| label_start + e);
        let label = label_end
            .map(|e| String::from_utf8_lossy(&data[label_start..e]).into_owned())
            .unwrap_or_default();
        let keep = parse::pem::BlockKind::from_label(&label) != parse::pem::BlockKind::Other;
        // The block ends after the END line that follows, or at the next BEGIN.
        let after_begin = label_end.map(|e| e + 5).unwrap_or(label_start);
        let next_begin = find(&data[after_begin..], BEGIN).map(|o| after_begin + o);
        let end_line = find(&data[after_begin..], END).map(|o| after_begin + o);
        let block_end = match (end_line, next_begin) {
            (Some(e), nb) if nb.is_none_or(|nb| e < nb) => {
                let tail = find(&data[e + END.len()..], b"-----")
                    .map(|t| e + END.len() + t + 5)
                    .unwrap_or(data.len());
                tail.min(data.len())
            }
            (_, Some(nb)) => nb,
            (_, None) => data.len(),
        };
        if keep {
            out.extend_from_slice(&data[start..block_end]);
            out.push(b'\n');
        }
        pos = block_end.max(start + 1);
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// PEM text of DER certificates.
fn to_pem(ders: &[Vec<u8>]) -> Vec<u8> {
    let mut out = String::new();
    for d in ders {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let b = base64::engine::general_purpose::STANDARD.encode(d);
        for chunk in b.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out.into_bytes()
}

/// Decode a base64 value (Secret `data`, `binaryData`, caBundles), checking the
/// size cap before decoding.
fn decode_b64(v: &Value, max: usize) -> Result<Vec<u8>, Failure> {
    let Value::String(s) = v else {
        return Err(Failure::new(
            Reason::DecodeFailed,
            "value is not a base64 string",
        ));
    };
    // 4 base64 characters per 3 bytes (plus slack for padding/newlines).
    if s.len() / 4 * 3 > max.saturating_add(3) {
        return Err(Failure::new(
            Reason::TooLarge,
            format!(
                "value is about {} bytes, more than the {max} bytes read",
                s.len() / 4 * 3
            ),
        ));
    }
    let mut compact: Vec<u8> = Vec::with_capacity(s.len());
    compact.extend(s.bytes().filter(|b| !b.is_ascii_whitespace()));
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .map_err(|_| Failure::new(Reason::DecodeFailed, "value is not valid base64"));
    // A keystore's encoding is secret too.
    compact.fill(0);
    decoded
}

fn looks_like_pkcs12_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with(".p12") || k.ends_with(".pfx")
}

/// Turn one decoded value into a stored item (PEM reduced to certificate blocks,
/// PKCS#12 and Java keystores opened to their certificates with the Secret's
/// passwords) or an error. A JCEKS secret-key entry ends the reading of a keystore;
/// the certificates before it are kept (an error only when there are none).
fn item_from_bytes(
    mut sref: SourceRef,
    key: &str,
    mut data: Vec<u8>,
    pkcs12: &ParseOptions,
) -> Result<StoredItem, ErrorEntry> {
    // Held for as long as the object exists: no spare capacity.
    sref.labels.shrink_to_fit();
    let is_p12 = looks_like_pkcs12_key(key)
        || (!parse::pem::has_pem_armour(&data) && parse::der::looks_like_pkcs12(&data));
    let item = if is_p12 {
        let res = parse::pkcs12::certificates(&data, pkcs12);
        data.fill(0);
        match res {
            Ok(ders) => StoredItem {
                sref,
                data: to_pem(&ders),
                hint: FormatHint::Pem,
            },
            Err(e) => {
                return Err(ErrorEntry::new(sref, e.reason, &e.message)
                    .with_keystore(Some(KeystoreFormat::Pkcs12)))
            }
        }
    } else if parse::jks::sniff(&data).is_some() {
        let res = parse::jks::certificates(&data, pkcs12);
        data.fill(0);
        match res {
            Ok(ks) if ks.certs.is_empty() => {
                let (reason, message) = match ks.partial {
                    Some(e) => (e.reason, e.message),
                    None => (
                        Reason::NoCertificateFound,
                        "keystore without certificates".into(),
                    ),
                };
                return Err(ErrorEntry::new(sref, reason, message));
            }
            Ok(ks) => StoredItem {
                sref,
                data: to_pem(&ks.certs),
                hint: FormatHint::Pem,
            },
            Err(e) => {
                return Err(ErrorEntry::new(sref, e.reason, &e.message)
                    .with_keystore(Some(KeystoreFormat::Jks)))
            }
        }
    } else if parse::pem::has_pem_armour(&data) {
        let kept = certificate_blocks_only(&data);
        data.fill(0);
        StoredItem {
            sref,
            data: kept,
            hint: FormatHint::Pem,
        }
    } else {
        StoredItem {
            sref,
            data,
            hint: FormatHint::Auto,
        }
    };
    Ok(item)
}

fn name_ns(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> (String, String) {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// Certificates of a Secret of one configured type.
pub fn secret(
    ctx: &Ctx<'_>,
    s: &Secret,
    types: &[KubeSecretType],
    expose_labels: &[String],
) -> Extracted {
    let (ns, name) = name_ns(&s.metadata);
    let mut out = Extracted::default();
    let obj_loc = format!("{ns}/{name}");
    let type_ = s
        .rest
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("Opaque");
    let Some(t) = types.iter().find(|t| t.type_ == type_) else {
        return out;
    };
    let empty = serde_json::Map::new();
    let data = match s.rest.get("data") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => {
            out.errors.push(ErrorEntry::new(
                SourceRef::new(SourceKind::KubernetesSecret, ctx.source_name, &obj_loc),
                Reason::DecodeFailed,
                "Secret data is not a map",
            ));
            return out;
        }
    };
    let mut pkcs12 = ParseOptions {
        pkcs12_passwords: Vec::new(),
        try_empty_password: true,
        keystore_passwords: Vec::new(),
    };
    if let Some(p) = t
        .pkcs12_password_key
        .as_ref()
        .and_then(|k| password_of(data, k))
    {
        pkcs12.pkcs12_passwords.push(p);
    }
    pkcs12
        .pkcs12_passwords
        .extend(t.pkcs12_passwords.iter().cloned());
    if let Some(p) = t
        .keystore_password_key
        .as_ref()
        .and_then(|k| password_of(data, k))
    {
        pkcs12.keystore_passwords.push(p);
    }
    pkcs12
        .keystore_passwords
        .extend(t.keystore_passwords.iter().cloned());

    let mut labels: Vec<(String, String)> = Vec::with_capacity(expose_labels.len());
    for l in expose_labels {
        let v = s
            .metadata
            .labels
            .as_ref()
            .and_then(|m| m.get(l))
            .cloned()
            .unwrap_or_default();
        labels.push((sanitize_label_name("secret_label_", l), v));
    }
    for (key, value) in data {
        if !key_matches(&t.keys, key)
            || t.pkcs12_password_key.as_deref() == Some(key.as_str())
            || t.keystore_password_key.as_deref() == Some(key.as_str())
        {
            continue;
        }
        let mut sref = SourceRef::new(
            SourceKind::KubernetesSecret,
            ctx.source_name,
            format!("{ns}/{name}:{key}"),
        )
        .with_label("secret_namespace", &ns)
        .with_label("secret_name", &name)
        .with_label("secret_key", key);
        sref.labels.extend(
            labels
                .iter()
                .map(|(k, v)| (std::borrow::Cow::Owned(k.clone()), v.clone())),
        );
        match decode_b64(value, ctx.max_size) {
            Ok(bytes) if bytes.is_empty() => out.errors.push(ErrorEntry::new(
                sref,
                Reason::NoCertificateFound,
                "value is empty",
            )),
            Ok(bytes) => match item_from_bytes(sref, key, bytes, &pkcs12) {
                Ok(item) => out.items.push(item),
                Err(e) => out.errors.push(e),
            },
            Err(f) => out.errors.push(f.at(sref)),
        }
    }
    for p in pkcs12
        .pkcs12_passwords
        .iter_mut()
        .chain(pkcs12.keystore_passwords.iter_mut())
    {
        let mut b = std::mem::take(p).into_bytes();
        b.fill(0);
    }
    out
}

/// The password held in the Secret's `key` (trailing newlines dropped), if it is
/// present, valid base64 and UTF-8. Rejected bytes are zeroed.
fn password_of(data: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    let bytes = data.get(key).map(|v| decode_b64(v, 4096))?.ok()?;
    match String::from_utf8(bytes) {
        Ok(p) => Some(p.trim_end_matches(['\r', '\n']).to_string()),
        Err(e) => {
            let mut b = e.into_bytes();
            b.fill(0);
            None
        }
    }
}

/// One value's bytes, or why it could not be used.
type Decoded = Result<Vec<u8>, Failure>;

/// Certificates of a ConfigMap (`data` text values and base64 `binaryData`).
pub fn configmap(ctx: &Ctx<'_>, c: &ConfigMap, cfg: &KubeConfigMapsConfig) -> Extracted {
    let (ns, name) = name_ns(&c.metadata);
    let mut out = Extracted::default();
    let dedupe = cfg.dedupe.iter().any(|d| d == &name);
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut values: Vec<(String, Decoded)> = Vec::new();
    if let Some(Value::Object(m)) = c.rest.get("data") {
        for (k, v) in m {
            if !key_matches(&cfg.keys, k) {
                continue;
            }
            let r = match v {
                Value::String(s) if s.len() > ctx.max_size => Err(Failure::new(
                    Reason::TooLarge,
                    format!(
                        "value is {} bytes, more than the {} bytes read",
                        s.len(),
                        ctx.max_size
                    ),
                )),
                Value::String(s) => Ok(s.as_bytes().to_vec()),
                _ => Err(Failure::new(
                    Reason::DecodeFailed,
                    "value is not a string".to_string(),
                )),
            };
            values.push((k.clone(), r));
        }
    }
    if let Some(Value::Object(m)) = c.rest.get("binaryData") {
        for (k, v) in m {
            if key_matches(&cfg.keys, k) {
                values.push((k.clone(), decode_b64(v, ctx.max_size)));
            }
        }
    }
    let opts = ParseOptions::default();
    for (key, r) in values {
        let sref = SourceRef::new(
            SourceKind::KubernetesConfigmap,
            ctx.source_name,
            format!("{ns}/{name}:{key}"),
        )
        .with_label("configmap_namespace", &ns)
        .with_label("configmap_name", &name)
        .with_label("configmap_key", &key);
        match r {
            Ok(b) if b.is_empty() => out.errors.push(ErrorEntry::new(
                sref,
                Reason::NoCertificateFound,
                "value is empty",
            )),
            Ok(b) => {
                digest.update(key.as_bytes());
                digest.update(&[0]);
                digest.update(&b);
                digest.update(&[0]);
                match item_from_bytes(sref, &key, b, &opts) {
                    Ok(i) => out.items.push(i),
                    Err(e) => out.errors.push(e),
                }
            }
            Err(f) => out.errors.push(f.at(sref)),
        }
    }
    if dedupe && out.errors.is_empty() && !out.items.is_empty() {
        let d = digest.finish();
        let mut a = [0u8; 32];
        a.copy_from_slice(d.as_ref());
        out.digest = Some(a);
    }
    out
}

fn cabundle_item(
    ctx: &Ctx<'_>,
    out: &mut Extracted,
    kind: &str,
    name: &str,
    entry: &str,
    v: &Value,
) {
    let sref = SourceRef::new(
        SourceKind::KubernetesCabundle,
        ctx.source_name,
        format!("{}/{name}:{entry}", kind.to_ascii_lowercase()),
    )
    .with_label("cabundle_resource_kind", kind)
    .with_label("cabundle_resource_name", name)
    .with_label("cabundle_entry", entry);
    match decode_b64(v, ctx.max_size) {
        Ok(b) if b.is_empty() => {} // an empty caBundle means "use the system roots"
        Ok(b) => match item_from_bytes(sref, entry, b, &ParseOptions::default()) {
            Ok(i) => out.items.push(i),
            Err(e) => out.errors.push(e),
        },
        Err(f) => out.errors.push(f.at(sref)),
    }
}

fn webhooks(
    ctx: &Ctx<'_>,
    kind: &str,
    name: &str,
    rest: &serde_json::Map<String, Value>,
) -> Extracted {
    let mut out = Extracted::default();
    if let Some(Value::Array(hooks)) = rest.get("webhooks") {
        for (i, h) in hooks.iter().enumerate() {
            let entry = h
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("webhooks[{i}]"));
            if let Some(ca) = h.get("clientConfig").and_then(|c| c.get("caBundle")) {
                cabundle_item(ctx, &mut out, kind, name, &entry, ca);
            }
        }
    }
    out
}

/// caBundles of a ValidatingWebhookConfiguration (one entry per webhook).
pub fn validating(ctx: &Ctx<'_>, o: &ValidatingWebhookConfiguration) -> Extracted {
    let name = o.metadata.name.clone().unwrap_or_default();
    webhooks(ctx, "ValidatingWebhookConfiguration", &name, &o.rest)
}

/// caBundles of a MutatingWebhookConfiguration (one entry per webhook).
pub fn mutating(ctx: &Ctx<'_>, o: &MutatingWebhookConfiguration) -> Extracted {
    let name = o.metadata.name.clone().unwrap_or_default();
    webhooks(ctx, "MutatingWebhookConfiguration", &name, &o.rest)
}

/// `spec.caBundle` of an APIService.
pub fn apiservice(ctx: &Ctx<'_>, o: &ApiService) -> Extracted {
    let name = o.metadata.name.clone().unwrap_or_default();
    let mut out = Extracted::default();
    if let Some(ca) = o.rest.get("spec").and_then(|s| s.get("caBundle")) {
        cabundle_item(ctx, &mut out, "APIService", &name, "caBundle", ca);
    }
    out
}

/// `spec.conversion.webhook.clientConfig.caBundle` of a CRD.
pub fn crd(ctx: &Ctx<'_>, o: &CustomResourceDefinition) -> Extracted {
    let name = o.metadata.name.clone().unwrap_or_default();
    let mut out = Extracted::default();
    if let Some(ca) = o
        .rest
        .get("spec")
        .and_then(|s| s.get("conversion"))
        .and_then(|c| c.get("webhook"))
        .and_then(|w| w.get("clientConfig"))
        .and_then(|c| c.get("caBundle"))
    {
        cabundle_item(
            ctx,
            &mut out,
            "CustomResourceDefinition",
            &name,
            "conversion",
            ca,
        );
    }
    out
}

/// The issued certificate (`status.certificate`) of a CSR.
pub fn csr(ctx: &Ctx<'_>, o: &CertificateSigningRequest) -> Extracted {
    let name = o.metadata.name.clone().unwrap_or_default();
    let mut out = Extracted::default();
    let Some(v) = o.rest.get("status").and_then(|s| s.get("certificate")) else {
        return out; // not issued (yet)
    };
    let sref = SourceRef::new(
        SourceKind::KubernetesCsr,
        ctx.source_name,
        format!("{name}:status.certificate"),
    )
    .with_label("csr_name", &name);
    match decode_b64(v, ctx.max_size) {
        Ok(b) if b.is_empty() => {}
        Ok(b) => match item_from_bytes(sref, "status.certificate", b, &ParseOptions::default()) {
            Ok(i) => out.items.push(i),
            Err(e) => out.errors.push(e),
        },
        Err(f) => out.errors.push(f.at(sref)),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret_of(v: Value) -> Secret {
        serde_json::from_value(v).unwrap()
    }

    fn tls_type() -> Vec<KubeSecretType> {
        vec![KubeSecretType {
            type_: "kubernetes.io/tls".into(),
            keys: vec!["tls.crt".into(), "ca.crt".into()],
            pkcs12_password_key: None,
            pkcs12_passwords: vec![],
            keystore_password_key: None,
            keystore_passwords: vec![],
        }]
    }

    const CTX: Ctx<'static> = Ctx {
        source_name: "k",
        max_size: 1 << 20,
    };

    fn b64(s: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn label_names_are_sanitised() {
        assert_eq!(
            sanitize_label_name("secret_label_", "app"),
            "secret_label_app"
        );
        assert_eq!(
            sanitize_label_name("secret_label_", "app.kubernetes.io/name"),
            "secret_label_app_kubernetes_io_name"
        );
        assert_eq!(sanitize_label_name("", "9lives"), "_9lives");
    }

    #[test]
    fn pem_keeps_only_certificate_blocks() {
        let pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nSECRET\n-----END PRIVATE KEY-----\n-----BEGIN X509 CRL-----\nBBBB\n-----END X509 CRL-----\n";
        let out = certificate_blocks_only(pem);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("AAAA") && text.contains("BBBB"));
        assert!(!text.contains("SECRET") && !text.contains("PRIVATE"));
        // Truncated blocks and garbage never panic.
        for bad in [
            &b"-----BEGIN "[..],
            b"-----BEGIN CERTIFICATE-----\nAAA",
            b"-----BEGIN PRIVATE KEY-----\nX\n-----BEGIN CERTIFICATE-----\nY\n-----END CERTIFICATE-----",
            b"-----END CERTIFICATE----------BEGIN ",
        ] {
            let o = certificate_blocks_only(bad);
            assert!(!String::from_utf8_lossy(&o).contains("PRIVATE"));
        }
    }

    #[test]
    fn tls_secret_items_and_errors_are_located() {
        let s = secret_of(json!({
            "metadata": {"namespace": "ns", "name": "web", "resourceVersion": "1",
                         "labels": {"app": "shop"}},
            "type": "kubernetes.io/tls",
            "data": {
                "tls.crt": b64(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
                "tls.key": b64(b"-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n"),
                "ca.crt": "!!!not base64!!!"
            }
        }));
        let e = secret(&CTX, &s, &tls_type(), &["app".into(), "missing".into()]);
        assert_eq!(e.items.len(), 1);
        let it = &e.items[0];
        assert_eq!(it.sref.location, "ns/web:tls.crt");
        assert_eq!(it.sref.label("secret_namespace"), Some("ns"));
        assert_eq!(it.sref.label("secret_name"), Some("web"));
        assert_eq!(it.sref.label("secret_key"), Some("tls.crt"));
        assert_eq!(it.sref.label("secret_label_app"), Some("shop"));
        assert_eq!(it.sref.label("secret_label_missing"), Some(""));
        assert_eq!(e.errors.len(), 1);
        assert_eq!(e.errors[0].source.location, "ns/web:ca.crt");
        assert_eq!(e.errors[0].reason, Reason::DecodeFailed);
    }

    #[test]
    fn wrong_type_huge_and_empty_values() {
        let s = secret_of(json!({
            "metadata": {"namespace": "ns", "name": "x"},
            "type": "Opaque",
            "data": {"tls.crt": b64(b"x")}
        }));
        assert!(secret(&CTX, &s, &tls_type(), &[]).items.is_empty());
        let big = b64(&vec![b'a'; 4096]);
        let s = secret_of(json!({
            "metadata": {"namespace": "ns", "name": "x"},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": big, "ca.crt": "", "other": 5}
        }));
        let ctx = Ctx {
            source_name: "k",
            max_size: 1024,
        };
        let e = secret(&ctx, &s, &tls_type(), &[]);
        let reasons: Vec<_> = e.errors.iter().map(|e| e.reason).collect();
        assert!(reasons.contains(&Reason::TooLarge));
        assert!(reasons.contains(&Reason::NoCertificateFound));
        let s =
            secret_of(json!({"metadata": {"name": "x"}, "type": "kubernetes.io/tls", "data": [1]}));
        assert_eq!(
            secret(&CTX, &s, &tls_type(), &[]).errors[0].reason,
            Reason::DecodeFailed
        );
    }

    /// A version-2 JKS with one trusted-certificate entry, sealed with `password`.
    fn jks(der: &[u8], password: &str) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [0xFEED_FEEDu32, 2, 1, 2] {
            b.extend_from_slice(&w.to_be_bytes());
        }
        b.extend_from_slice(&1u16.to_be_bytes());
        b.push(b'a');
        b.extend_from_slice(&0u64.to_be_bytes());
        b.extend_from_slice(&5u16.to_be_bytes());
        b.extend_from_slice(b"X.509");
        b.extend_from_slice(&(der.len() as u32).to_be_bytes());
        b.extend_from_slice(der);
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
        for u in password.encode_utf16() {
            ctx.update(&u.to_be_bytes());
        }
        ctx.update(b"Mighty Aphrodite");
        ctx.update(&b);
        b.extend_from_slice(ctx.finish().as_ref());
        b
    }

    #[test]
    fn java_keystore_opened_with_the_secrets_password_key() {
        let types = vec![KubeSecretType {
            type_: "Opaque".into(),
            keys: vec!["*.jks".into(), "storepass".into()],
            pkcs12_password_key: None,
            pkcs12_passwords: vec![],
            keystore_password_key: Some("storepass".into()),
            keystore_passwords: vec!["fallback".into()],
        }];
        let mk = |pass: &str| {
            secret_of(json!({
                "metadata": {"namespace": "ns", "name": "java"},
                "type": "Opaque",
                "data": {
                    "a.jks": b64(&jks(b"\x30\x03\x02\x01\x01", "s3cret")),
                    "b.jks": b64(&jks(b"\x30\x03\x02\x01\x02", "fallback")),
                    "storepass": b64(format!("{pass}\n").as_bytes()),
                }
            }))
        };
        let e = secret(&CTX, &mk("s3cret"), &types, &[]);
        assert!(e.errors.is_empty(), "{:?}", e.errors);
        // The password key itself is not an item; both keystores are, as PEM.
        let mut locs: Vec<&str> = e.items.iter().map(|i| i.sref.location.as_str()).collect();
        locs.sort();
        assert_eq!(locs, vec!["ns/java:a.jks", "ns/java:b.jks"]);
        for it in &e.items {
            assert_eq!(it.hint, FormatHint::Pem);
            assert!(String::from_utf8_lossy(&it.data).starts_with("-----BEGIN CERTIFICATE-----"));
        }
        // A wrong password in the Secret: that keystore is bad_passphrase, the
        // configured fallback still opens the other.
        let e = secret(&CTX, &mk("wrong"), &types, &[]);
        assert_eq!(e.items.len(), 1);
        assert_eq!(e.items[0].sref.location, "ns/java:b.jks");
        assert_eq!(e.errors.len(), 1);
        assert_eq!(e.errors[0].source.location, "ns/java:a.jks");
        assert_eq!(e.errors[0].reason, Reason::BadPassphrase);
        assert_eq!(e.errors[0].keystore, Some(KeystoreFormat::Jks));
    }

    #[test]
    fn configmap_dedupe_digest() {
        let cfg = KubeConfigMapsConfig {
            enabled: true,
            label_selector: None,
            keys: vec!["ca.crt".into()],
            dedupe: vec!["kube-root-ca.crt".into()],
            include: Vec::new(),
            exclude: Vec::new(),
            expose_labels: Vec::new(),
        };
        let mk = |ns: &str, name: &str| -> ConfigMap {
            serde_json::from_value(json!({
                "metadata": {"namespace": ns, "name": name},
                "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "x": "y"}
            }))
            .unwrap()
        };
        let a = configmap(&CTX, &mk("a", "kube-root-ca.crt"), &cfg);
        let b = configmap(&CTX, &mk("b", "kube-root-ca.crt"), &cfg);
        let c = configmap(&CTX, &mk("c", "other"), &cfg);
        assert_eq!(a.items.len(), 1);
        assert_eq!(a.items[0].sref.label("configmap_key"), Some("ca.crt"));
        assert!(a.digest.is_some());
        assert_eq!(a.digest, b.digest);
        assert!(c.digest.is_none());
    }

    #[test]
    fn cabundles_and_csr() {
        let v: ValidatingWebhookConfiguration = serde_json::from_value(json!({
            "metadata": {"name": "hooks"},
            "webhooks": [{"name": "a.example.com", "clientConfig": {"caBundle": b64(b"-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n")}},
                         {"clientConfig": {"caBundle": 7}}, {"name": "nohook"}]
        }))
        .unwrap();
        let e = validating(&CTX, &v);
        assert_eq!(e.items.len(), 1);
        assert_eq!(
            e.items[0].sref.location,
            "validatingwebhookconfiguration/hooks:a.example.com"
        );
        assert_eq!(
            e.items[0].sref.label("cabundle_entry"),
            Some("a.example.com")
        );
        assert_eq!(e.errors.len(), 1);
        assert_eq!(
            e.errors[0].source.location,
            "validatingwebhookconfiguration/hooks:webhooks[1]"
        );
        let c: CertificateSigningRequest = serde_json::from_value(json!({
            "metadata": {"name": "csr-1"}, "status": {"certificate": b64(b"\x30\x03\x02\x01\x01")}
        }))
        .unwrap();
        let e = csr(&CTX, &c);
        assert_eq!(e.items[0].sref.location, "csr-1:status.certificate");
        assert_eq!(e.items[0].sref.kind, SourceKind::KubernetesCsr);
    }
}
