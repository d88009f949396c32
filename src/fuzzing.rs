//! Fuzzing harnesses: one `fuzz_*` function per external input, shared by the
//! cargo-fuzz targets in `fuzz/` (nightly, libFuzzer) and the stable property
//! tests in `tests/properties.rs`, so both check exactly the same invariants.
//!
//! Each harness feeds arbitrary bytes to one parser (the entry point the
//! program uses for that input) and panics when an invariant breaks:
//!
//! * totality: the parser returns (no panic, no abort);
//! * no key material in any output: markers taken from every `PRIVATE KEY`
//!   PEM block of the input (a slice of its base64 text, and the decoded bytes
//!   as hex and as a `Debug` byte list) never appear in the `Debug` rendering
//!   of the result;
//! * bounded errors: error messages are non-empty and at most
//!   [`MAX_HARNESS_MESSAGE`] bytes, reasons come from the closed
//!   [`crate::model::Reason`] set (enforced by its type);
//! * bounded output: what a parser returns is bounded by its caps.
//!
//! Memory and time are bounded by libFuzzer (`-malloc_limit_mb`,
//! `-rss_limit_mb`, `-timeout`, see docs/reliability.md). Not part of the
//! public API.
#![doc(hidden)]

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;

use crate::checks::crl::ParsedCrl;
use crate::checks::facts::Facts;
use crate::checks::{aia, ocsp};
use crate::model::MAX_MESSAGE_LEN;
use crate::parse::{self, FormatHint, ParseOptions};
use crate::sources::docker::tar::{Entry, TarReader};
use crate::sources::kubernetes::config::{KubeConfigMapsConfig, KubeSecretType};
use crate::sources::kubernetes::extract::{self, Ctx};
use crate::sources::kubernetes::resources::{
    ApiService, CertificateSigningRequest, ConfigMap, CustomResourceDefinition,
    MutatingWebhookConfiguration, Secret, ValidatingWebhookConfiguration,
};

/// Longest error message a harness accepts from any parser (bytes). Parsers
/// bound theirs at [`MAX_MESSAGE_LEN`]; messages built from a library's error
/// (`format!("...: {e}")`) get some slack but must stay small.
pub const MAX_HARNESS_MESSAGE: usize = 4 * MAX_MESSAGE_LEN;

/// A fixed evaluation instant (2026-01-01T00:00:00Z): deterministic runs.
const NOW: i64 = 1_767_225_600;

/// Passwords the keystore harnesses try (the seed corpus uses `changeit`).
fn opts() -> ParseOptions {
    ParseOptions {
        pkcs12_passwords: vec!["changeit".to_string()],
        try_empty_password: true,
        keystore_passwords: vec!["changeit".to_string()],
    }
}

fn pick_hint(b: u8) -> FormatHint {
    match b % 4 {
        0 => FormatHint::Auto,
        1 => FormatHint::Pem,
        2 => FormatHint::Der,
        _ => FormatHint::Pkcs12,
    }
}

/// Markers of the private keys found in `input`: for every PEM block whose
/// label ends in `PRIVATE KEY`, 24 characters from the middle of its base64
/// body, and 16-byte windows of the decoded key (at several offsets) as
/// lower/upper hex and as a `Debug` byte list. Public parts of a key (an RSA
/// modulus, an EC public point) also occur in certificates, so a window found
/// (or sharing 12 consecutive bytes with one) in the raw input or in the decoded
/// body of any non-key PEM block is dropped,
/// and so is a text marker that occurs twice in the input.
pub fn key_markers(input: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(input);
    let mut keys = Vec::new();
    let mut others = Vec::new();
    let mut rest: &str = &text;
    while let Some(at) = rest.find("-----BEGIN ") {
        let after = &rest[at + "-----BEGIN ".len()..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = &after[..label_end];
        let body_all = &after[label_end + 5..];
        let body_end = body_all.find("-----").unwrap_or(body_all.len());
        let body: String = body_all[..body_end]
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/')
            .collect();
        rest = &body_all[body_end..];
        let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(&body[..body.len() / 4 * 4])
            .unwrap_or_default();
        if label.len() < 64 && label.ends_with("PRIVATE KEY") {
            keys.push((body, decoded));
        } else {
            others.push(decoded);
        }
    }
    // What the project's own PEM scanner decodes is public by construction (it
    // decodes only certificate and CRL blocks, never keys), and it may delimit or
    // decode blocks differently from the rough split above (a fuzzer-made
    // `BEGIN ...PRIVATE KEY` line with a byte no armour label has, right before a
    // real CRL block: the ten-minute crl run's false alarm, seed in prop_crl).
    others.extend(
        crate::parse::pem::scan(input)
            .blocks
            .into_iter()
            .filter_map(|b| match b.body {
                crate::parse::pem::BlockBody::Decoded(d) => Some(d),
                _ => None,
            }),
    );
    others.extend(crate::parse::pem::crl_blocks(input));
    // A window that shares 12 consecutive bytes with public data is public too:
    // a window starting just before an RSA modulus (the key's version byte, then
    // the modulus the certificate also carries) is not key material the output
    // could only have got from the key.
    let public = |w: &[u8]| {
        w.windows(12).any(|s| {
            input.windows(s.len()).any(|x| x == s)
                || others.iter().any(|o| o.windows(s.len()).any(|x| x == s))
        })
    };
    let mut markers = Vec::new();
    for (body, der) in &keys {
        if body.len() >= 48 {
            let mid = body.len() / 2 - 12;
            markers.push(body[mid..mid + 24].to_string());
        }
        if der.len() < 32 {
            continue;
        }
        for eighth in 1..8 {
            let m = (der.len() * eighth / 8).min(der.len() - 16);
            let w = &der[m..m + 16];
            if public(w) {
                continue;
            }
            let hex: String = w.iter().map(|b| format!("{b:02x}")).collect();
            markers.push(hex.to_uppercase());
            markers.push(hex);
            let dbg = format!("{w:?}");
            markers.push(dbg.trim_matches(|c| c == '[' || c == ']').to_string());
        }
    }
    markers.retain(|m| text.matches(m.as_str()).count() <= 1);
    markers.sort();
    markers.dedup();
    markers
}

/// Panic when any marker appears in `output`.
pub fn assert_no_key(markers: &[String], output: &str, what: &str) {
    for m in markers {
        assert!(
            !output.contains(m.as_str()),
            "{what}: private key material ({m}) appears in the output"
        );
    }
}

/// Panic on an empty or oversized error message.
pub fn assert_message(msg: &str, what: &str) {
    assert!(!msg.is_empty(), "{what}: empty error message");
    assert!(
        msg.len() <= MAX_HARNESS_MESSAGE,
        "{what}: error message of {} bytes: {}",
        msg.len(),
        crate::model::bounded(msg, 200)
    );
}

fn check_parse_output(out: &parse::ParseOutput, markers: &[String], what: &str) {
    for e in &out.errors {
        assert!(!e.message.is_empty(), "{what}: empty message");
        assert!(
            e.message.len() <= MAX_MESSAGE_LEN + '…'.len_utf8(),
            "{what}: message of {} bytes",
            e.message.len()
        );
    }
    for (_, cert) in &out.certs {
        assert_eq!(cert.sha256_fingerprint.len(), 64, "{what}: fingerprint");
        assert!(!cert.der.is_empty(), "{what}: empty DER");
    }
    assert_no_key(markers, &format!("{out:?}"), what);
}

/// Split `data` at a 2-byte big-endian length prefix: `(head, tail)`.
fn split_prefixed(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = data.split_first_chunk::<2>()?;
    let n = usize::from(u16::from_be_bytes(*len));
    (rest.len() >= n).then(|| rest.split_at(n))
}

/// `parse_object`: PEM/DER/PKCS#12/JKS bytes, the first byte picks the hint.
pub fn fuzz_parse_object(data: &[u8]) {
    let (hint, body) = match data.split_first() {
        Some((h, rest)) => (pick_hint(*h), rest),
        None => (FormatHint::Auto, data),
    };
    let out = parse::parse_object(body, hint, &opts());
    check_parse_output(&out, &key_markers(body), "parse_object");
}

/// A CRL (PEM or DER), as read from a file or a distribution point.
pub fn fuzz_crl(data: &[u8]) {
    match ParsedCrl::parse(data, "fuzz") {
        Ok(crl) => {
            assert!(crl.revoked.len() <= crate::checks::crl::MAX_CRL_ENTRIES);
            let _ = crl.info(NOW);
            let _ = crl.is_stale(NOW);
            let _ = crl.lookup(&[1]);
            if let Some(first) = crl.revoked.keys().next() {
                assert!(crl.lookup(first).is_some(), "crl: listed serial not found");
            }
            assert_no_key(&key_markers(data), &format!("{crl:?}"), "crl");
        }
        Err(e) => assert_message(&e, "crl"),
    }
}

/// An OCSP response: `u16 len | issuer DER | u16 len | leaf DER | response`.
/// The request is built for the leaf (without nonce, and with one when the
/// first response byte is odd) and the response evaluated against it.
pub fn fuzz_ocsp(data: &[u8]) {
    let Some((issuer, rest)) = split_prefixed(data) else {
        return;
    };
    let Some((leaf, body)) = split_prefixed(rest) else {
        return;
    };
    let (Ok(issuer), Ok(leaf)) = (
        Facts::from_der(Arc::from(issuer)),
        Facts::from_der(Arc::from(leaf)),
    ) else {
        return;
    };
    let nonce = body.first().is_some_and(|b| b % 2 == 1);
    let Ok(sent) = ocsp::build_request(&leaf, &issuer, nonce) else {
        return;
    };
    match ocsp::evaluate(body, &sent, &leaf, &issuer, NOW) {
        Ok(v) => assert_no_key(&key_markers(body), &format!("{v:?}"), "ocsp"),
        Err(e) => assert_message(&e, "ocsp"),
    }
}

/// A caIssuers (AIA) answer: DER, PEM or certs-only PKCS#7.
pub fn fuzz_aia(data: &[u8]) {
    match aia::certs_from_body(data) {
        Ok(certs) => {
            assert!(!certs.is_empty(), "aia: Ok without certificates");
            let markers = key_markers(data);
            for c in &certs {
                assert_no_key(&markers, &format!("{:?}", c.name), "aia");
            }
        }
        Err(e) => assert_message(&e, "aia"),
    }
}

/// The configuration YAML through `check-config`'s load and validate path
/// (`setup::load_file` = read capped + [`crate::setup::from_yaml_str`]);
/// an accepted configuration must serialise back to YAML that loads again.
pub fn fuzz_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match crate::setup::from_yaml_str(text, "fuzz.yaml") {
        Ok(cfg) => {
            let yaml = crate::setup::to_yaml(&cfg);
            if let Ok(yaml) = yaml {
                if let Err(e) = crate::setup::from_yaml_str(&yaml, "round-trip") {
                    panic!("config: accepted configuration does not load again: {e}\n{yaml}");
                }
            }
        }
        Err(errs) => {
            let text = errs.to_string();
            assert!(!text.is_empty(), "config: empty error list");
            for line in text.lines() {
                assert!(
                    line.len() <= MAX_HARNESS_MESSAGE + text.len().min(64) + 256,
                    "config: error line of {} bytes",
                    line.len()
                );
            }
        }
    }
}

/// The web configuration (`server.web_config_file`), relative file references
/// resolved against a directory that does not exist; then the basic-auth
/// header decoder on the same bytes.
pub fn fuzz_webconfig(data: &[u8]) {
    let _ = crate::outputs::http::webconfig::BasicAuth::parse_header(Some(data));
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // bcrypt costs above 12 make a run slow by design; the cost cap is tested
    // by the unit tests, not here.
    if text.contains("$2") {
        return;
    }
    let base = Path::new("/nonexistent-certvigil-fuzz");
    match crate::outputs::http::webconfig::parse(text, base) {
        Ok(w) => assert_no_key(&key_markers(data), &format!("{w:?}"), "webconfig"),
        Err(e) => assert_message(&e, "webconfig"),
    }
}

/// The Docker archive tar stream, fed in chunks whose sizes come from the first
/// byte; caps are small so that the budget paths are reached.
pub fn fuzz_docker_tar(data: &[u8]) {
    let Some((&chunk_sel, body)) = data.split_first() else {
        return;
    };
    let chunk = 1 + usize::from(chunk_sel) * 7;
    let (max_file, max_total) = (4096u64, 256 * 1024u64);
    let mut rd = TarReader::new(max_file, max_total);
    let mut out = Vec::new();
    for c in body.chunks(chunk) {
        match rd.feed(c, &mut out) {
            Ok(()) => {}
            Err(e) => {
                assert_message(&format!("{e:?}"), "docker_tar");
                break;
            }
        }
    }
    let mut kept = 0u64;
    for e in &out {
        if let Entry::File { data, .. } = e {
            assert!(data.len() as u64 <= max_file, "docker_tar: member over cap");
            kept += data.len() as u64;
        }
    }
    assert!(
        kept <= body.len() as u64,
        "docker_tar: more bytes out than in"
    );
}

/// A Kubernetes object as the API returns it (JSON): the first byte picks the
/// kind (Secret, ConfigMap, CSR, webhook configurations, APIService, CRD). The
/// extracted items must hold no private key (markers of every base64-decoded
/// `data` value) and be parsable; errors must be bounded.
pub fn fuzz_kubernetes(data: &[u8]) {
    let Some((&kind, json)) = data.split_first() else {
        return;
    };
    let ctx = Ctx {
        source_name: "fuzz",
        max_size: 1024 * 1024,
    };
    let extracted = match kind % 7 {
        0 => {
            let Ok(s) = serde_json::from_slice::<Secret>(json) else {
                return;
            };
            let ty = |t: &str| KubeSecretType {
                type_: t.to_string(),
                keys: vec!["*".to_string()],
                pkcs12_password_key: Some("password".to_string()),
                pkcs12_passwords: vec!["changeit".to_string()],
                keystore_password_key: Some("password".to_string()),
                keystore_passwords: vec!["changeit".to_string()],
            };
            let types = [ty("kubernetes.io/tls"), ty("Opaque")];
            extract::secret(&ctx, &s, &types, &["app".to_string()])
        }
        1 => {
            let Ok(c) = serde_json::from_slice::<ConfigMap>(json) else {
                return;
            };
            let cm = KubeConfigMapsConfig {
                enabled: true,
                label_selector: None,
                keys: vec!["*".to_string()],
                dedupe: vec!["kube-root-ca.crt".to_string()],
                include: Vec::new(),
                exclude: Vec::new(),
                expose_labels: Vec::new(),
            };
            extract::configmap(&ctx, &c, &cm)
        }
        2 => match serde_json::from_slice::<CertificateSigningRequest>(json) {
            Ok(o) => extract::csr(&ctx, &o),
            Err(_) => return,
        },
        3 => match serde_json::from_slice::<ValidatingWebhookConfiguration>(json) {
            Ok(o) => extract::validating(&ctx, &o),
            Err(_) => return,
        },
        4 => match serde_json::from_slice::<MutatingWebhookConfiguration>(json) {
            Ok(o) => extract::mutating(&ctx, &o),
            Err(_) => return,
        },
        5 => match serde_json::from_slice::<ApiService>(json) {
            Ok(o) => extract::apiservice(&ctx, &o),
            Err(_) => return,
        },
        _ => match serde_json::from_slice::<CustomResourceDefinition>(json) {
            Ok(o) => extract::crd(&ctx, &o),
            Err(_) => return,
        },
    };
    // Markers of the keys hidden in base64 values anywhere in the object.
    let mut all = Vec::new();
    match serde_json::from_slice::<serde_json::Value>(json) {
        Ok(v) => collect_strings(&v, &mut all, 0),
        Err(_) => all.extend_from_slice(json),
    }
    let markers = key_markers(&all);
    for e in &extracted.errors {
        assert_message(&e.message, "kubernetes");
    }
    let opts = opts();
    for item in &extracted.items {
        assert!(item.data.len() <= ctx.max_size, "kubernetes: item over cap");
        // An item is what the configuration selects (`keys: ["*"]` here, so a
        // `tls.key` item holds its key block): it goes to the parser, never to an
        // output. What must hold no key material is what leaves: the parse
        // outputs and the errors (checked below).
        let out = parse::parse_object(&item.data, item.hint, &opts);
        check_parse_output(&out, &markers, "kubernetes parse");
    }
    assert_no_key(
        &markers,
        &format!("{:?}", extracted.errors),
        "kubernetes errors",
    );
}

/// Append every string value of `v` (unescaped) and, when it is base64, its
/// decoded bytes to `out` (bounded), for [`key_markers`].
fn collect_strings(v: &serde_json::Value, out: &mut Vec<u8>, depth: usize) {
    if depth > 16 || out.len() > 4 * 1024 * 1024 {
        return;
    }
    match v {
        serde_json::Value::String(s) => {
            out.push(b'\n');
            out.extend_from_slice(s.as_bytes());
            if let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(s) {
                out.push(b'\n');
                out.extend_from_slice(&raw);
                out.push(b'\n');
            }
        }
        serde_json::Value::Array(a) => {
            for x in a.iter().take(64) {
                collect_strings(x, out, depth + 1);
            }
        }
        serde_json::Value::Object(m) => {
            for x in m.values().take(64) {
                collect_strings(x, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// A kubeconfig: its entries are split, embedded `*-data` values decoded and
/// parsed; client keys (`client-key-data`) must never surface.
pub fn fuzz_kubeconfig(data: &[u8]) {
    let _ = parse::kubeconfig::looks_like_kubeconfig(data);
    let mut all = Vec::new();
    match serde_saphyr::from_slice::<serde_json::Value>(data) {
        Ok(v) => collect_strings(&v, &mut all, 0),
        Err(_) => all.extend_from_slice(data),
    }
    let markers = key_markers(&all);
    match parse::kubeconfig::split(data) {
        Ok(entries) => {
            assert!(entries.len() <= parse::kubeconfig::MAX_ENTRIES);
            let opts = opts();
            for e in &entries {
                match e {
                    Ok(entry) => {
                        if let parse::kubeconfig::EntryContent::Embedded(bytes) = &entry.content {
                            let out = parse::parse_object(bytes, FormatHint::Auto, &opts);
                            check_parse_output(&out, &markers, "kubeconfig entry");
                        }
                    }
                    Err(err) => assert_message(&err.error.message, "kubeconfig entry"),
                }
            }
            assert_no_key(&markers, &format!("{entries:?}"), "kubeconfig");
        }
        Err(e) => {
            assert_message(&e.message, "kubeconfig");
            assert_no_key(&markers, &e.message, "kubeconfig");
        }
    }
}

/// A Java keystore (JKS or JCEKS), tried with `changeit`.
pub fn fuzz_jks(data: &[u8]) {
    let _ = parse::jks::sniff(data);
    match parse::jks::certificates(data, &opts()) {
        Ok(ks) => {
            assert!(ks.certs.len() <= parse::jks::MAX_CERTS);
            for c in &ks.certs {
                assert!(c.len() <= parse::jks::MAX_CERT_LEN as usize);
            }
            if let Some(p) = &ks.partial {
                assert_message(&p.message, "jks partial");
            }
        }
        Err(e) => assert_message(&e.message, "jks"),
    }
}

/// The HTTP server's own parsing: query strings (HTML filters, `format=`),
/// form decoding, HTML escaping and the page they render (no snapshot),
/// `Accept` and `Accept-Encoding` negotiation, `Authorization: Basic`,
/// listen addresses. Lines of the input are used as separate fields.
pub fn fuzz_http(data: &[u8]) {
    use crate::outputs::http::html;
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let query = lines.next().unwrap_or("");
    let accept = lines.next();
    let auth = lines.next();
    let filters = html::parse_query(query);
    assert!(filters.q.len() <= 4 * 4096, "http: filter text unbounded");
    let decoded = html::form_decode(query);
    assert!(decoded.len() <= 3 * query.len() + 4, "http: decode grew");
    let escaped = html::escape(&decoded);
    for bad in ['<', '>', '"', '\''] {
        assert!(!escaped.contains(bad), "http: escape left {bad:?}");
    }
    assert!(filters.page >= 1, "http: page 0");
    assert!(
        (1..=html::MAX_PER_PAGE).contains(&filters.per_page),
        "http: per_page {} unbounded",
        filters.per_page
    );
    // The page reflects the filters: user text must come back escaped, so it
    // occurs no more often raw than in the page of no filters (whose own markup
    // has `<t` of `<table>` and the like).
    let page = html::render_page(None, query, 30 * 86_400);
    let baseline = html::render_page(None, "", 30 * 86_400);
    for reflected in [&filters.q, &filters.source] {
        if reflected.contains('<') {
            assert!(
                page.matches(reflected.as_str()).count()
                    <= baseline.matches(reflected.as_str()).count(),
                "http: unescaped {reflected:?}"
            );
        }
    }
    let _ = crate::outputs::metrics::wants_openmetrics(accept);
    let _ = crate::outputs::http::negotiate::accepts_gzip(accept);
    let _ = crate::outputs::http::webconfig::BasicAuth::parse_header(auth.map(str::as_bytes));
    let _ = crate::outputs::http::parse_listen(query);
}

/// The STARTTLS protocols with a plaintext phase, indexed by the input's first byte.
const STARTTLS_PROTOCOLS: [crate::model::target::Protocol; 9] = {
    use crate::model::target::Protocol as P;
    [
        P::Smtp,
        P::Lmtp,
        P::Imap,
        P::Pop3,
        P::Ftp,
        P::Ldap,
        P::Postgres,
        P::Mysql,
        P::Xmpp,
    ]
};

/// The TLS endpoint source's STARTTLS plaintext phase against a hostile server:
/// byte 0 picks the protocol, byte 1 the write size (1–64 bytes, so replies
/// arrive split), the rest is everything the server sends, then EOF. The client's
/// requests are drained. Invariants: the negotiation ends (EOF is an error, never a
/// hang), and its error is a non-empty, bounded message.
pub fn fuzz_starttls(data: &[u8]) {
    use crate::sources::tls_endpoint::starttls;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (Some(&p), Some(&w)) = (data.first(), data.get(1)) else {
        return;
    };
    let protocol = STARTTLS_PROTOCOLS[p as usize % STARTTLS_PROTOCOLS.len()];
    let chunk = (w as usize % 64) + 1;
    let script = &data[2..];
    thread_local! {
        static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("current-thread runtime");
    }
    let result = RT.with(|rt| {
        rt.block_on(async {
            let (client, server) = tokio::io::duplex(1 << 16);
            let (mut sr, mut sw) = tokio::io::split(server);
            let feed = async move {
                for part in script.chunks(chunk) {
                    if sw.write_all(part).await.is_err() {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                let _ = sw.shutdown().await;
            };
            let drain = async move {
                let mut sink = Vec::new();
                let _ = (&mut sr).take(1 << 20).read_to_end(&mut sink).await;
            };
            let negotiate = async move {
                let mut client = client;
                let r = starttls::negotiate(&mut client, protocol, "example.com").await;
                drop(client);
                r
            };
            let (r, (), ()) = tokio::join!(negotiate, feed, drain);
            r
        })
    });
    if let Err(e) = result {
        assert_message(&e.to_string(), "starttls");
    }
}
