//! The per-certificate label schema: which label names every per-certificate
//! series carries (the compatible fixed set, the union of extra location labels
//! found in the snapshot, `source_kind`, `source_name`, `cluster`, `discriminator`),
//! how their values are derived (`filepath` trimming, DN fields, capped
//! `dns_names`), collision discriminators, and label value escaping.
//!
//! Label blocks are escaped and pre-encoded once per entry and snapshot
//! (`name="value",...`) so that every metric of a certificate reuses the same
//! bytes: identical label sets across metrics by construction, and fast.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::config::MetricsConfig;
use crate::model::{CertEntry, ErrorEntry, ParsedCert, SourceRef};

/// Longest label value kept (bytes); longer values are cut on a char boundary
/// and end with `…`. Certificate fields are normally far shorter (RFC 5280
/// bounds DN attributes to 64–128 characters); this only stops a hostile
/// certificate from blowing up the exposition.
pub const MAX_LABEL_VALUE_LEN: usize = 1024;

/// At most this many extra (non-schema) location label names are exposed per
/// snapshot (sorted by name; the rest are dropped).
pub const MAX_EXTRA_LABEL_NAMES: usize = 64;

/// Labels from the certificate itself, in exposition order.
pub const CERT_LABELS: [&str; 13] = [
    "serial_number",
    "subject_C",
    "subject_ST",
    "subject_L",
    "subject_O",
    "subject_OU",
    "subject_CN",
    "issuer_C",
    "issuer_ST",
    "issuer_L",
    "issuer_O",
    "issuer_OU",
    "issuer_CN",
];

/// Location labels of the compatible schema, always present (`""` when n/a).
pub const LOCATION_LABELS: [&str; 10] = [
    "filename",
    "filepath",
    "embedded_kind",
    "embedded_key",
    "secret_namespace",
    "secret_name",
    "secret_key",
    "configmap_namespace",
    "configmap_name",
    "configmap_key",
];

/// Labels that follow the extra location labels.
pub const TAIL_LABELS: [&str; 3] = ["source_kind", "source_name", "cluster"];

/// The disambiguation label (last on every per-certificate series).
pub const DISCRIMINATOR: &str = "discriminator";

/// Extra labels of `x509_cert_info` (after the identity labels).
pub const INFO_LABELS: [&str; 8] = [
    "sha256_fingerprint",
    "key_algorithm",
    "key_bits",
    "signature_algorithm",
    "is_ca",
    "trust_status",
    "revocation_status",
    "dns_names",
];

/// `[a-zA-Z_][a-zA-Z0-9_]*` and not reserved (`__` prefix).
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    !name.starts_with("__") && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Remove `n` leading components from a path, keeping a leading `/` if the path
/// had one (the established exporter's `--trim-path-components`). Empty and `.`
/// components are ignored when trimming. The last component (the file name) is
/// always kept, so over-trimming yields `/name`, never `""`. `n == 0` returns the
/// path unchanged.
pub fn trim_path_components(path: &str, n: usize) -> String {
    if n == 0 {
        return path.to_string();
    }
    let absolute = path.starts_with('/');
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() {
        return path.to_string();
    }
    let start = n.min(parts.len() - 1);
    let rest = parts[start..].join("/");
    if absolute {
        format!("/{rest}")
    } else {
        rest
    }
}

/// Join DNS names with `,`, at most `max` of them; when more exist, append
/// `…+N` (N = names left out) as the last element, e.g. `a,b,…+3`.
pub fn join_dns_names(names: &[String], max: usize) -> String {
    let shown = names.len().min(max);
    let mut out = names[..shown].join(",");
    if names.len() > shown {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(&format!("…+{}", names.len() - shown));
    }
    out
}

/// Escape a label value for both the Prometheus text format 0.0.4 and
/// OpenMetrics 1.0 (identical rules: `\` → `\\`, `"` → `\"`, line feed → `\n`;
/// everything else, including any UTF-8, verbatim). Same output as
/// prometheus-client's own label value encoder (tested).
pub fn escape_label_value(value: &str, out: &mut String) {
    let mut last = 0;
    for (i, b) in value.bytes().enumerate() {
        let esc = match b {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            b'\n' => "\\n",
            _ => continue,
        };
        out.push_str(&value[last..i]);
        out.push_str(esc);
        last = i + 1;
    }
    out.push_str(&value[last..]);
}

/// Append `name="escaped value"` pairs (comma separated) to `out`.
/// Values are bounded to [`MAX_LABEL_VALUE_LEN`] first.
pub fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>, out: &mut String) {
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        if value.len() > MAX_LABEL_VALUE_LEN {
            escape_label_value(&crate::model::bounded(value, MAX_LABEL_VALUE_LEN), out);
        } else {
            escape_label_value(value, out);
        }
        out.push('"');
    }
}

/// The label names of one snapshot's per-certificate series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSchema {
    /// Extra location label names (sorted, valid, not in the fixed schema).
    pub extra: Vec<String>,
}

impl LabelSchema {
    /// Union of the extra location label names used by any certificate or error.
    pub fn from_refs<'a>(refs: impl IntoIterator<Item = &'a SourceRef>) -> Self {
        let mut extra = BTreeSet::new();
        for r in refs {
            for (name, _) in &r.labels {
                if is_valid_label_name(name) && !is_reserved(name) {
                    extra.insert(&**name);
                }
            }
        }
        LabelSchema {
            extra: extra
                .into_iter()
                .take(MAX_EXTRA_LABEL_NAMES)
                .map(str::to_string)
                .collect(),
        }
    }

    /// Every label name in exposition order (including `discriminator`).
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = CERT_LABELS.to_vec();
        v.extend(LOCATION_LABELS);
        v.extend(self.extra.iter().map(String::as_str));
        v.extend(TAIL_LABELS);
        v.push(DISCRIMINATOR);
        v
    }

    /// Append the escaped label pairs of every label except `discriminator`
    /// for a certificate found at `src` (`cert` None = an object error:
    /// certificate fields `""`).
    pub fn encode_base(
        &self,
        cert: Option<&ParsedCert>,
        src: &SourceRef,
        cfg: &MetricsConfig,
        out: &mut String,
    ) {
        match cert {
            Some(c) => {
                encode_pairs([("serial_number", c.serial_number.as_str())], out);
                let (s, i) = (&c.subject, &c.issuer);
                let values = [
                    &s.c, &s.st, &s.l, &s.o, &s.ou, &s.cn, &i.c, &i.st, &i.l, &i.o, &i.ou, &i.cn,
                ];
                encode_pairs(
                    CERT_LABELS[1..]
                        .iter()
                        .copied()
                        .zip(values.iter().map(|v| v.as_str())),
                    out,
                );
            }
            None => encode_pairs(CERT_LABELS.iter().map(|n| (*n, "")), out),
        }
        for name in LOCATION_LABELS {
            let raw = src.label(name).unwrap_or("");
            if name == "filepath" && cfg.trim_path_components > 0 {
                let trimmed = trim_path_components(raw, cfg.trim_path_components);
                encode_pairs([(name, trimmed.as_str())], out);
            } else {
                encode_pairs([(name, raw)], out);
            }
        }
        for name in &self.extra {
            encode_pairs([(name.as_str(), src.label(name).unwrap_or(""))], out);
        }
        encode_pairs(
            [
                ("source_kind", src.kind.as_str()),
                ("source_name", src.name.as_str()),
                ("cluster", cfg.cluster.as_str()),
            ],
            out,
        );
    }
}

/// The label block of a CRL's `x509_crl_*` series: the per-certificate
/// schema's fixed labels with `serial_number` and `subject_*` empty,
/// `issuer_*` = the CRL issuer, `filename`/`filepath` = the local file (or the
/// URL for a fetched CRL in `filepath`), `source_kind` `file` (local) or `url`
/// (fetched), `source_name` `revocation`, `cluster`, and `crl_number`
/// (decimal cRLNumber, `""` without the extension).
///
/// A CRL a source found (a file in a watched directory, a Secret or ConfigMap
/// key: [`crate::model::CrlInfo::source`]) carries that location's labels, as
/// a certificate there would (`filepath` trimmed alike), and the source's
/// `source_kind`/`source_name`.
pub fn crl_block(crl: &crate::model::CrlInfo, cfg: &MetricsConfig) -> String {
    let mut out = String::with_capacity(512);
    let i = &crl.issuer;
    let values: [&str; 13] = [
        "", "", "", "", "", "", "", &i.c, &i.st, &i.l, &i.o, &i.ou, &i.cn,
    ];
    encode_pairs(CERT_LABELS.iter().copied().zip(values), &mut out);
    if let Some(src) = &crl.source {
        for name in LOCATION_LABELS {
            let raw = src.label(name).unwrap_or("");
            if name == "filepath" && cfg.trim_path_components > 0 {
                let trimmed = trim_path_components(raw, cfg.trim_path_components);
                encode_pairs([(name, trimmed.as_str())], &mut out);
            } else {
                encode_pairs([(name, raw)], &mut out);
            }
        }
        encode_pairs(
            [
                ("source_kind", src.kind.as_str()),
                ("source_name", src.name.as_str()),
                ("cluster", cfg.cluster.as_str()),
                ("crl_number", crl.number.as_deref().unwrap_or("")),
            ],
            &mut out,
        );
        return out;
    }
    let is_url = crl.location.contains("://");
    let filename = if is_url {
        ""
    } else {
        crl.location.rsplit('/').next().unwrap_or("")
    };
    let filepath = if is_url || cfg.trim_path_components == 0 {
        crl.location.clone()
    } else {
        trim_path_components(&crl.location, cfg.trim_path_components)
    };
    for name in LOCATION_LABELS {
        let v = match name {
            "filename" => filename,
            "filepath" => filepath.as_str(),
            _ => "",
        };
        encode_pairs([(name, v)], &mut out);
    }
    encode_pairs(
        [
            ("source_kind", if is_url { "url" } else { "file" }),
            ("source_name", "revocation"),
            ("cluster", cfg.cluster.as_str()),
            ("crl_number", crl.number.as_deref().unwrap_or("")),
        ],
        &mut out,
    );
    out
}

/// Append the `discriminator` pair to a base block.
pub fn with_discriminator(mut base: String, discriminator: &str) -> String {
    encode_pairs([(DISCRIMINATOR, discriminator)], &mut base);
    base
}

fn is_reserved(name: &str) -> bool {
    CERT_LABELS.contains(&name)
        || LOCATION_LABELS.contains(&name)
        || TAIL_LABELS.contains(&name)
        || INFO_LABELS.contains(&name)
        || name == DISCRIMINATOR
}

/// Lowercase hex SHA-256 of the certificate DER and its location.
pub fn discriminator_digest(der: &[u8], src: &SourceRef, index: usize) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(der);
    for part in [src.kind.as_str(), src.name.as_str(), src.location.as_str()] {
        ctx.update(&[0]);
        ctx.update(part.as_bytes());
    }
    for (k, v) in &src.labels {
        ctx.update(&[0]);
        ctx.update(k.as_bytes());
        ctx.update(&[1]);
        ctx.update(v.as_bytes());
    }
    ctx.update(&[0]);
    ctx.update(index.to_string().as_bytes());
    let d = ctx.finish();
    let mut s = String::with_capacity(64);
    for b in d.as_ref() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Default discriminator length (hex characters), as the established exporter.
pub const DISCRIMINATOR_LEN: usize = 8;

/// Assign discriminators: entries whose `keys` are equal get a prefix of their
/// `digests` (8 hex, lengthened until unique within the group; if digests are
/// identical too, `-2`, `-3`, ... is appended in order), all others `""`.
/// Returns the discriminators and, per group, the number of extra entries
/// (n−1) keyed by the group's first index.
pub fn assign_discriminators<K: Ord>(
    keys: &[K],
    digest: impl Fn(usize) -> String,
) -> (Vec<String>, Vec<(usize, usize)>) {
    // Sorting indices (memcmp on keys that differ early) is much cheaper than
    // hashing every full label block.
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]).then(a.cmp(&b)));
    let mut multi: Vec<&[usize]> = order
        .chunk_by(|&a, &b| keys[a] == keys[b])
        .filter(|g| g.len() > 1)
        .collect();
    multi.sort_by_key(|g| g[0]);
    let mut out = vec![String::new(); keys.len()];
    let mut collisions = Vec::new();
    for group in multi {
        collisions.push((group[0], group.len() - 1));
        let digests: Vec<String> = group.iter().map(|&i| digest(i)).collect();
        let mut len = DISCRIMINATOR_LEN;
        loop {
            let distinct: BTreeSet<&str> = digests.iter().map(|d| &d[..len.min(d.len())]).collect();
            if distinct.len() == digests.len() || len >= 64 {
                break;
            }
            len += 4;
        }
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (&i, d) in group.iter().zip(&digests) {
            let prefix = d[..len.min(d.len())].to_string();
            let n = seen.entry(prefix.clone()).or_insert(0);
            *n += 1;
            out[i] = if *n == 1 {
                prefix
            } else {
                format!("{prefix}-{n}")
            };
        }
    }
    (out, collisions)
}

/// Everything the collector needs about the per-certificate series of one
/// snapshot: pre-encoded label blocks (identity, info) and collision counts.
#[derive(Debug, Default)]
pub struct PreparedLabels {
    /// Identity label block per certificate (snapshot order).
    pub certs: Vec<String>,
    /// The extra `x509_cert_info` pairs per certificate (appended to the
    /// identity block on output).
    pub info: Vec<String>,
    /// Identity label block per error (deduplicated; snapshot order).
    pub errors: Vec<String>,
    /// Colliding extra entries per `source_kind`.
    pub collisions: BTreeMap<&'static str, u64>,
}

/// Build the label blocks for every certificate and error of a snapshot.
pub fn prepare(certs: &[CertEntry], errors: &[ErrorEntry], cfg: &MetricsConfig) -> PreparedLabels {
    let schema = LabelSchema::from_refs(
        certs
            .iter()
            .map(|c| c.source.as_ref())
            .chain(errors.iter().map(|e| &e.source)),
    );
    // The base block (all labels but the discriminator) is the collision key.
    let bases: Vec<String> = certs
        .iter()
        .map(|c| {
            let mut b = String::with_capacity(640);
            schema.encode_base(Some(&c.cert), &c.source, cfg, &mut b);
            b
        })
        .collect();
    let (disc, groups) = assign_discriminators(&bases, |i| {
        discriminator_digest(
            &certs[i].cert.der,
            &certs[i].source,
            certs[i].index_in_bundle,
        )
    });
    let mut collisions = BTreeMap::new();
    for (first, extra) in groups {
        *collisions
            .entry(certs[first].source.kind.as_str())
            .or_insert(0) += extra as u64;
    }
    let mut info = Vec::with_capacity(certs.len());
    for entry in certs {
        let c = &entry.cert;
        let key_bits = c.key_bits.to_string();
        let dns = join_dns_names(&c.dns_names, cfg.max_dns_names_in_label);
        let mut ib = String::with_capacity(256);
        encode_pairs(
            INFO_LABELS.iter().copied().zip([
                c.sha256_fingerprint.as_str(),
                c.key_algorithm.as_str(),
                key_bits.as_str(),
                c.signature_algorithm.as_str(),
                if c.is_ca { "true" } else { "false" },
                entry.trust.status.as_str(),
                entry.revocation.status.as_str(),
                dns.as_str(),
            ]),
            &mut ib,
        );
        info.push(ib);
    }
    let prepared_certs: Vec<String> = bases
        .into_iter()
        .zip(&disc)
        .map(|(b, d)| with_discriminator(b, d))
        .collect();
    // Errors: one `x509_cert_error` series per distinct label set (several
    // errors of one object merge into one series of value 1). A label set that
    // equals a certificate's gets a discriminator derived from the location.
    // Only certificates with an empty serial can share an error's label set
    // (errors have every certificate field empty).
    let cert_blocks: HashSet<&str> = prepared_certs
        .iter()
        .map(String::as_str)
        .filter(|b| b.starts_with("serial_number=\"\","))
        .collect();
    let mut seen = HashSet::new();
    let mut error_blocks = Vec::new();
    for e in errors {
        let mut base = String::with_capacity(640);
        schema.encode_base(None, &e.source, cfg, &mut base);
        let mut block = with_discriminator(base.clone(), "");
        if cert_blocks.contains(block.as_str()) {
            let d = discriminator_digest(b"error", &e.source, 0);
            block = with_discriminator(base, &d[..DISCRIMINATOR_LEN]);
        }
        if seen.insert(block.clone()) {
            error_blocks.push(block);
        }
    }
    PreparedLabels {
        certs: prepared_certs,
        info,
        errors: error_blocks,
        collisions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceKind;

    #[test]
    fn label_names() {
        assert!(is_valid_label_name("secret_label_app"));
        assert!(is_valid_label_name("_x9"));
        assert!(!is_valid_label_name("9x"));
        assert!(!is_valid_label_name(""));
        assert!(!is_valid_label_name("a-b"));
        assert!(!is_valid_label_name("a.b"));
        assert!(!is_valid_label_name("__name__"));
        assert!(!is_valid_label_name("é"));
    }

    #[test]
    fn a_crl_found_by_a_source_carries_its_location_labels() {
        let mut crl = crate::model::CrlInfo {
            issuer: crate::model::DistinguishedName {
                cn: "Issuing CA".into(),
                ..Default::default()
            },
            this_update: 1,
            next_update: Some(2),
            number: Some("12".into()),
            location: "/mnt/watch/file-1/etc/pki/ca.crl".into(),
            stale: false,
            entries: 0,
            source: None,
        };
        let cfg = MetricsConfig {
            trim_path_components: 3,
            ..test_cfg()
        };
        // A revocation CRL: source_name "revocation".
        let b = crl_block(&crl, &cfg);
        assert!(
            b.contains("source_kind=\"file\",source_name=\"revocation\""),
            "{b}"
        );
        // Found in a watched directory: that file's labels, trimmed like a certificate's.
        crl.source = Some(std::sync::Arc::new(
            SourceRef::new(SourceKind::File, "host-paths", crl.location.clone())
                .with_label("filename", "ca.crl")
                .with_label("filepath", crl.location.clone()),
        ));
        let b = crl_block(&crl, &cfg);
        for want in [
            "serial_number=\"\"",
            "subject_CN=\"\"",
            "issuer_CN=\"Issuing CA\"",
            "filename=\"ca.crl\"",
            "filepath=\"/etc/pki/ca.crl\"",
            "secret_name=\"\"",
            "source_kind=\"file\",source_name=\"host-paths\",cluster=\"\",crl_number=\"12\"",
        ] {
            assert!(b.contains(want), "{want} not in {b}");
        }
        // Found in a Secret: the secret_* labels.
        crl.source = Some(std::sync::Arc::new(
            SourceRef::new(SourceKind::KubernetesSecret, "k8s-secrets", "pki/ca:ca.crl")
                .with_label("secret_namespace", "pki")
                .with_label("secret_name", "ca")
                .with_label("secret_key", "ca.crl"),
        ));
        let b = crl_block(&crl, &cfg);
        for want in [
            "filepath=\"\"",
            "secret_namespace=\"pki\",secret_name=\"ca\",secret_key=\"ca.crl\"",
            "source_kind=\"kubernetes_secret\",source_name=\"k8s-secrets\"",
        ] {
            assert!(b.contains(want), "{want} not in {b}");
        }
    }

    #[test]
    fn trims_path_components() {
        assert_eq!(trim_path_components("/a/b/c.pem", 0), "/a/b/c.pem");
        assert_eq!(trim_path_components("/a/b/c.pem", 1), "/b/c.pem");
        assert_eq!(
            trim_path_components("/mnt/watch/file-1/etc/pki/x.crt", 3),
            "/etc/pki/x.crt"
        );
        assert_eq!(trim_path_components("a/b/c.pem", 1), "b/c.pem");
        assert_eq!(trim_path_components("//a//./b/c.pem", 1), "/b/c.pem");
        // Over-trimming keeps the file name.
        assert_eq!(trim_path_components("/a/b/c.pem", 10), "/c.pem");
        assert_eq!(trim_path_components("c.pem", 3), "c.pem");
        assert_eq!(trim_path_components("", 3), "");
        assert_eq!(trim_path_components("/", 3), "/");
    }

    #[test]
    fn caps_dns_names() {
        let names: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        assert_eq!(join_dns_names(&names, 10), "a,b,c,d");
        assert_eq!(join_dns_names(&names, 4), "a,b,c,d");
        assert_eq!(join_dns_names(&names, 2), "a,b,…+2");
        assert_eq!(join_dns_names(&names, 0), "…+4");
        assert_eq!(join_dns_names(&[], 0), "");
    }

    #[test]
    fn escapes_like_prometheus_client() {
        use prometheus_client::encoding::text::encode;
        use prometheus_client::metrics::family::Family;
        use prometheus_client::metrics::gauge::Gauge;
        use prometheus_client::registry::Registry;
        let hostile = [
            "plain",
            "quote \" back \\ nl \n cr \r tab \t",
            "\\\"\\n",
            "<script>alert(1)</script>",
            "\u{202e}rtl\u{202c} 𝄞 😀 \u{0}",
            "trailing backslash \\",
        ];
        for v in hostile {
            let fam = Family::<Vec<(String, String)>, Gauge>::default();
            fam.get_or_create(&vec![("l".to_string(), v.to_string())])
                .set(1);
            let mut reg = Registry::default();
            reg.register("m", "h", fam);
            let mut theirs = String::new();
            encode(&mut theirs, &reg).unwrap();
            let mut ours = String::new();
            encode_pairs([("l", v)], &mut ours);
            assert!(
                theirs.contains(&format!("m{{{ours}}} 1\n")),
                "{theirs:?} vs {ours:?}"
            );
            // No raw line feed survives; every quote is escaped.
            assert!(!ours.contains('\n'));
        }
    }

    #[test]
    fn bounds_long_values() {
        let long = "x".repeat(MAX_LABEL_VALUE_LEN * 3);
        let mut out = String::new();
        encode_pairs([("l", long.as_str())], &mut out);
        assert!(out.len() < MAX_LABEL_VALUE_LEN + 16);
        assert!(out.ends_with("…\""));
    }

    #[test]
    fn schema_unions_and_sanitises_extra_names() {
        let a = SourceRef::new(SourceKind::KubernetesSecret, "s", "ns/a:tls.crt")
            .with_label("secret_name", "a")
            .with_label("secret_label_app", "web");
        let b = SourceRef::new(SourceKind::File, "f", "/x")
            .with_label("filepath", "/x")
            .with_label("bad-name", "v")
            .with_label("__reserved", "v")
            .with_label("sha256_fingerprint", "spoof")
            .with_label("zz_extra", "z");
        let schema = LabelSchema::from_refs([&a, &b]);
        assert_eq!(schema.extra, vec!["secret_label_app", "zz_extra"]);
        let names = schema.names();
        assert_eq!(names.first(), Some(&"serial_number"));
        assert_eq!(names.last(), Some(&"discriminator"));
        let set: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(set.len(), names.len(), "label names unique");
    }

    #[test]
    fn discriminators_only_on_collisions() {
        let keys = vec!["a", "b", "a", "c", "a"];
        let (d, groups) =
            assign_discriminators(&keys, |i| format!("{:08x}{}", i + 1, "0".repeat(56)));
        assert_eq!(d[1], "");
        assert_eq!(d[3], "");
        assert_eq!(groups, vec![(0, 2)]);
        assert_eq!(d[0].len(), 8);
        assert_ne!(d[0], d[2]);
        assert_ne!(d[2], d[4]);
    }

    #[test]
    fn discriminator_lengthens_on_prefix_clash() {
        let keys = vec![1, 1];
        let digests = [
            "deadbeef0000aaaa".to_string() + &"0".repeat(48),
            "deadbeef0000bbbb".to_string() + &"0".repeat(48),
        ];
        let (d, _) = assign_discriminators(&keys, |i| digests[i].clone());
        assert_eq!(d, vec!["deadbeef0000aaaa", "deadbeef0000bbbb"]);
        // Identical digests: ordinal suffix keeps them unique.
        let (d, _) = assign_discriminators(&keys, |_| "f".repeat(64));
        assert_eq!(d[0], "f".repeat(64));
        assert_eq!(d[1], format!("{}-2", "f".repeat(64)));
    }

    fn test_cfg() -> MetricsConfig {
        MetricsConfig {
            cluster: String::new(),
            expose_relative: false,
            expose_per_cert_error: true,
            expose_not_before: true,
            expose_expired: true,
            trim_path_components: 0,
            max_dns_names_in_label: 10,
        }
    }

    fn entry_at(src: &SourceRef, serial: &str, index: usize) -> CertEntry {
        use crate::model::{KeyAlgorithm, Revocation, Trust};
        use std::sync::Arc;
        CertEntry {
            source: Arc::new(src.clone()),
            index_in_bundle: index,
            cert: Arc::new(ParsedCert {
                subject: Default::default(),
                issuer: Default::default(),
                serial_number: serial.into(),
                serial_hex: String::new(),
                not_before: 0,
                not_after: 1,
                sha256_fingerprint: String::new(),
                dns_names: Vec::new(),
                ip_addresses: Vec::new(),
                key_algorithm: KeyAlgorithm::Unknown,
                key_bits: 0,
                signature_algorithm: String::new(),
                is_ca: false,
                self_signed: false,
                der: Arc::from(&b"x"[..]),
            }),
            expired: false,
            trust: Trust::default(),
            revocation: Revocation::default(),
        }
    }

    #[test]
    fn prepare_counts_collisions_and_separates_errors() {
        let src = SourceRef::new(SourceKind::File, "f", "/a.pem").with_label("filename", "a.pem");
        // Three identical entries (indexes differ) and one with an empty serial.
        let certs = vec![
            entry_at(&src, "1", 0),
            entry_at(&src, "1", 1),
            entry_at(&src, "1", 2),
            entry_at(&src, "", 3),
        ];
        let errors = vec![
            ErrorEntry::new(src.clone(), crate::model::Reason::BadPem, "x"),
            ErrorEntry::new(src.clone(), crate::model::Reason::BadDer, "y"),
        ];
        let p = prepare(&certs, &errors, &test_cfg());
        assert_eq!(p.collisions.get("file"), Some(&2));
        let uniq: BTreeSet<&String> = p.certs.iter().collect();
        assert_eq!(uniq.len(), 4);
        assert!(p.certs[3].ends_with("discriminator=\"\""));
        // Both errors merge into one series, which differs from the empty-serial
        // certificate's label set thanks to a discriminator.
        assert_eq!(p.errors.len(), 1);
        assert!(!p.certs.contains(&p.errors[0]));
        assert!(!p.errors[0].ends_with("discriminator=\"\""));
    }
}
