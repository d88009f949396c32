//! `--web.config.file`: the Prometheus exporter-toolkit web configuration format.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt          # relative paths are relative to this file
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert   # optional
//!   client_ca_file: clients.crt                    # optional
//!   min_version: TLS12                             # TLS12 (default) | TLS13
//!   max_version: TLS13
//! http_server_config:
//!   headers: {Strict-Transport-Security: max-age=31536000}
//! basic_auth_users:
//!   alice: $2y$10$...              # bcrypt hash
//! ```
//!
//! Unknown keys are errors. Settings of the toolkit that rustls cannot honour
//! (`TLS10`/`TLS11`, `cipher_suites`, `curve_preferences`, `RequestClientCert`,
//! `RequireAnyClientCert`, `client_allowed_sans`) are rejected with an explanation
//! rather than silently ignored. TLS uses rustls with the ring provider only.
//! Private key contents are never logged nor put into an error message.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use hyper::header::{HeaderName, HeaderValue};
use ring::hmac;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use serde::Deserialize;

/// Largest web config, certificate or key file read (bytes).
const MAX_FILE_SIZE: u64 = 1024 * 1024;
/// Successful basic-auth verifications remembered (cleared when full).
const AUTH_CACHE_SIZE: usize = 256;
/// Highest bcrypt cost accepted in `basic_auth_users`. Each step doubles the
/// work: cost 18 is already about 15 s a verification (the dummy hash of
/// start-up included), while bcrypt allows 31 (days), which made loading such a
/// web config (and `check-config`) hang. Found by the `webconfig` fuzz target.
pub const MAX_BCRYPT_COST: u32 = 18;
/// Longest accepted `Authorization` header value (bytes).
const MAX_AUTH_HEADER: usize = 4096;

/// The loaded web configuration.
pub struct WebConfig {
    /// TLS server configuration, `None` for plain HTTP.
    pub tls: Option<Arc<ServerConfig>>,
    /// Basic authentication, `None` when `basic_auth_users` is absent or empty.
    pub basic_auth: Option<Arc<BasicAuth>>,
    /// Extra response headers (`http_server_config.headers`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("basic_auth", &self.basic_auth)
            .field("headers", &self.headers)
            .finish()
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    #[serde(default)]
    tls_server_config: Option<RawTls>,
    #[serde(default)]
    http_server_config: Option<RawHttp>,
    #[serde(default)]
    basic_auth_users: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTls {
    #[serde(default)]
    cert_file: Option<String>,
    #[serde(default)]
    key_file: Option<String>,
    /// Inline PEM certificate (exporter-toolkit `cert`).
    #[serde(default)]
    cert: Option<String>,
    /// Inline PEM key (exporter-toolkit `key`). Secret: never logged.
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    client_auth_type: Option<String>,
    #[serde(default)]
    client_ca_file: Option<String>,
    #[serde(default)]
    client_ca: Option<String>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    #[serde(default)]
    cipher_suites: Option<Vec<String>>,
    #[serde(default)]
    curve_preferences: Option<Vec<String>>,
    #[serde(default)]
    prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    client_allowed_sans: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    #[serde(default)]
    http2: Option<bool>,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
}

/// Response headers `http_server_config.headers` may set (as in exporter-toolkit).
const ALLOWED_HEADERS: [&str; 5] = [
    "Strict-Transport-Security",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

/// Load and validate a web configuration file. Errors name the file and the problem.
pub fn load(path: &Path) -> Result<WebConfig, String> {
    let bytes = read_bounded(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{}: web config is not valid UTF-8", path.display()))?;
    let base = path.parent().unwrap_or_else(|| Path::new("."));
    parse(&text, base).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parse a web configuration from YAML text; relative paths resolve against `base`.
pub fn parse(text: &str, base: &Path) -> Result<WebConfig, String> {
    let raw: RawWebConfig = if text.trim().is_empty() {
        RawWebConfig::default()
    } else {
        serde_saphyr::from_str::<Option<RawWebConfig>>(text)
            .map_err(|e| format!("invalid web config: {e}"))?
            .unwrap_or_default()
    };
    let tls = match raw.tls_server_config {
        Some(t) => build_tls(t, base)?,
        None => None,
    };
    let basic_auth = match raw.basic_auth_users {
        Some(users) if !users.is_empty() => Some(Arc::new(BasicAuth::new(users)?)),
        _ => None,
    };
    let mut headers = Vec::new();
    if let Some(http) = raw.http_server_config {
        let _ = http.http2; // HTTP/1.1 only; accepted for compatibility.
        for (name, value) in http.headers.unwrap_or_default() {
            let allowed = ALLOWED_HEADERS
                .iter()
                .find(|h| h.eq_ignore_ascii_case(&name))
                .ok_or_else(|| {
                    format!(
                        "http_server_config.headers: {name:?} is not allowed (allowed: {})",
                        ALLOWED_HEADERS.join(", ")
                    )
                })?;
            let hn = HeaderName::from_bytes(allowed.as_bytes())
                .map_err(|e| format!("http_server_config.headers: {name:?}: {e}"))?;
            let hv = HeaderValue::from_str(&value)
                .map_err(|e| format!("http_server_config.headers.{name}: {e}"))?;
            headers.push((hn, hv));
        }
    }
    Ok(WebConfig {
        tls,
        basic_auth,
        headers,
    })
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut buf = Vec::new();
    f.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if buf.len() as u64 > MAX_FILE_SIZE {
        return Err(format!(
            "{}: larger than {MAX_FILE_SIZE} bytes",
            path.display()
        ));
    }
    Ok(buf)
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|v| !v.trim().is_empty())
}

fn tls_version(field: &str, v: &str) -> Result<&'static rustls::SupportedProtocolVersion, String> {
    match v {
        "TLS12" => Ok(&rustls::version::TLS12),
        "TLS13" => Ok(&rustls::version::TLS13),
        "TLS10" | "TLS11" => Err(format!(
            "tls_server_config.{field}: {v} is not supported (rustls implements TLS12 and TLS13)"
        )),
        other => Err(format!(
            "tls_server_config.{field}: unknown TLS version {other:?} (expected TLS12 or TLS13)"
        )),
    }
}

fn load_certs(data: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut rd = data;
    let certs: Vec<_> = rustls_pemfile::certs(&mut rd)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{what}: invalid PEM certificate: {e}"))?;
    if certs.is_empty() {
        return Err(format!("{what}: no PEM certificate found"));
    }
    Ok(certs)
}

fn load_key(data: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, String> {
    let mut rd = data;
    // The parser's own error text is not forwarded: it could quote file content.
    match rustls_pemfile::private_key(&mut rd) {
        Ok(Some(k)) => Ok(k),
        Ok(None) => Err(format!(
            "{what}: no PEM private key (PKCS#8, RSA or EC) found"
        )),
        Err(_) => Err(format!("{what}: private key could not be parsed")),
    }
}

fn build_tls(t: RawTls, base: &Path) -> Result<Option<Arc<ServerConfig>>, String> {
    if t.cipher_suites.as_ref().is_some_and(|v| !v.is_empty()) {
        return Err("tls_server_config.cipher_suites is not supported (rustls uses its safe defaults); remove it".into());
    }
    if t.curve_preferences.as_ref().is_some_and(|v| !v.is_empty()) {
        return Err("tls_server_config.curve_preferences is not supported (rustls uses its safe defaults); remove it".into());
    }
    if t.client_allowed_sans
        .as_ref()
        .is_some_and(|v| !v.is_empty())
    {
        return Err("tls_server_config.client_allowed_sans is not supported; remove it".into());
    }
    let cert_file = nonempty(&t.cert_file);
    let key_file = nonempty(&t.key_file);
    let cert_inline = nonempty(&t.cert);
    let key_inline = nonempty(&t.key);
    let auth_type = nonempty(&t.client_auth_type);
    let ca_file = nonempty(&t.client_ca_file);
    let ca_inline = nonempty(&t.client_ca);
    if cert_file.is_none()
        && key_file.is_none()
        && cert_inline.is_none()
        && key_inline.is_none()
        && auth_type.is_none()
        && ca_file.is_none()
        && ca_inline.is_none()
    {
        // exporter-toolkit: an empty tls_server_config means plain HTTP.
        return Ok(None);
    }

    if cert_file.is_none() && cert_inline.is_none() {
        return Err("tls_server_config: missing cert_file".into());
    }
    if key_file.is_none() && key_inline.is_none() {
        return Err("tls_server_config: missing key_file".into());
    }
    let min = tls_version("min_version", nonempty(&t.min_version).unwrap_or("TLS12"))?;
    let max = tls_version("max_version", nonempty(&t.max_version).unwrap_or("TLS13"))?;
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = match (min.version, max.version)
    {
        (rustls::ProtocolVersion::TLSv1_3, rustls::ProtocolVersion::TLSv1_2) => {
            return Err("tls_server_config: min_version is above max_version".into())
        }
        (rustls::ProtocolVersion::TLSv1_3, _) => vec![&rustls::version::TLS13],
        (_, rustls::ProtocolVersion::TLSv1_2) => vec![&rustls::version::TLS12],
        _ => vec![&rustls::version::TLS12, &rustls::version::TLS13],
    };

    let (cert_pem, cert_what) = match (cert_file, cert_inline) {
        (Some(_), Some(_)) => {
            return Err("tls_server_config: set cert_file or cert, not both".into())
        }
        (Some(f), None) => {
            let p = resolve(base, f);
            (read_bounded(&p)?, format!("cert_file {}", p.display()))
        }
        (None, Some(c)) => (c.as_bytes().to_vec(), "tls_server_config.cert".to_string()),
        (None, None) => return Err("tls_server_config: missing cert_file".into()),
    };
    let (key_pem, key_what) = match (key_file, key_inline) {
        (Some(_), Some(_)) => return Err("tls_server_config: set key_file or key, not both".into()),
        (Some(f), None) => {
            let p = resolve(base, f);
            (read_bounded(&p)?, format!("key_file {}", p.display()))
        }
        (None, Some(k)) => (k.as_bytes().to_vec(), "tls_server_config.key".to_string()),
        (None, None) => return Err("tls_server_config: missing key_file".into()),
    };
    let certs = load_certs(&cert_pem, &cert_what)?;
    let key = load_key(&key_pem, &key_what)?;
    drop(key_pem);

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?;

    let ca_certs = match (ca_file, ca_inline) {
        (Some(_), Some(_)) => {
            return Err("tls_server_config: set client_ca_file or client_ca, not both".into())
        }
        (Some(f), None) => {
            let p = resolve(base, f);
            Some(load_certs(
                &read_bounded(&p)?,
                &format!("client_ca_file {}", p.display()),
            )?)
        }
        (None, Some(c)) => Some(load_certs(c.as_bytes(), "tls_server_config.client_ca")?),
        (None, None) => None,
    };
    let verifier = |allow_unauthenticated: bool| -> Result<_, String> {
        let cas = ca_certs.clone().ok_or_else(|| {
            format!(
                "tls_server_config: client_auth_type {} requires client_ca_file",
                auth_type.unwrap_or("")
            )
        })?;
        let mut roots = RootCertStore::empty();
        for c in cas {
            roots
                .add(c)
                .map_err(|e| format!("tls_server_config: client CA certificate: {e}"))?;
        }
        let mut b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
        if allow_unauthenticated {
            b = b.allow_unauthenticated();
        }
        b.build()
            .map_err(|e| format!("tls_server_config: client verifier: {e}"))
    };
    let builder = match auth_type.unwrap_or("NoClientCert") {
        "NoClientCert" => {
            if ca_certs.is_some() {
                return Err("tls_server_config: client CAs are configured without a client_auth_type (use RequireAndVerifyClientCert or VerifyClientCertIfGiven)".into());
            }
            builder.with_no_client_auth()
        }
        "RequireAndVerifyClientCert" => builder.with_client_cert_verifier(verifier(false)?),
        "VerifyClientCertIfGiven" => builder.with_client_cert_verifier(verifier(true)?),
        "RequestClientCert" | "RequireAnyClientCert" => {
            return Err(format!(
                "tls_server_config.client_auth_type: {} is not supported (client certificates are always verified); use VerifyClientCertIfGiven or RequireAndVerifyClientCert",
                auth_type.unwrap_or("")
            ))
        }
        other => {
            return Err(format!(
                "tls_server_config.client_auth_type: unknown value {other:?}"
            ))
        }
    };
    let mut cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls_server_config: {cert_what} / {key_what}: {e}"))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    if t.prefer_server_cipher_suites == Some(true) {
        cfg.ignore_client_order = true;
    }
    Ok(Some(Arc::new(cfg)))
}

/// HTTP basic authentication against bcrypt hashes, with a bounded cache of
/// successful verifications (keyed by an HMAC-SHA-256, under a per-process random
/// key, of user, password and hash) so that a scraper does not pay the bcrypt cost
/// on every request.
pub struct BasicAuth {
    users: Vec<(String, String)>,
    /// Hash verified when the user is unknown, so that timing does not reveal users.
    dummy_hash: String,
    cache_key: hmac::Key,
    cache: Mutex<HashSet<Vec<u8>>>,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.users.iter().map(|(u, _)| u.as_str()).collect();
        f.debug_struct("BasicAuth").field("users", &names).finish()
    }
}

/// Compare two byte strings in time independent of where they differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= u64::from(x ^ y);
    }
    diff == 0
}

/// The outcome of the fast (non-bcrypt) step of [`BasicAuth`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precheck {
    /// Credentials missing or malformed: reject.
    Reject,
    /// Verified before (cache hit): accept.
    Accept,
    /// A bcrypt verification is needed: call [`BasicAuth::verify`] on a blocking thread.
    Verify(Credentials),
}

/// Decoded basic-auth credentials (password is secret: no Debug output).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: Vec<u8>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl BasicAuth {
    /// Validate the user → bcrypt hash map.
    pub fn new(users: BTreeMap<String, String>) -> Result<Self, String> {
        let mut max_cost = 4;
        for (u, h) in &users {
            if u.is_empty() {
                return Err("basic_auth_users: empty user name".into());
            }
            let parts = h
                .parse::<bcrypt::HashParts>()
                .map_err(|_| format!("basic_auth_users.{u}: not a bcrypt hash"))?;
            if parts.get_cost() > MAX_BCRYPT_COST {
                return Err(format!(
                    "basic_auth_users.{u}: bcrypt cost {} is above the supported maximum {MAX_BCRYPT_COST}",
                    parts.get_cost()
                ));
            }
            max_cost = max_cost.max(parts.get_cost());
        }
        let dummy_hash = bcrypt::hash("certvigil-dummy-password", max_cost)
            .map_err(|e| format!("basic_auth_users: {e}"))?;
        let rng = ring::rand::SystemRandom::new();
        let cache_key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .map_err(|_| "basic_auth_users: no system randomness".to_string())?;
        Ok(BasicAuth {
            users: users.into_iter().collect(),
            dummy_hash,
            cache_key,
            cache: Mutex::new(HashSet::new()),
        })
    }

    /// Decode an `Authorization: Basic ...` header value.
    pub fn parse_header(value: Option<&[u8]>) -> Option<Credentials> {
        let v = value?;
        if v.len() > MAX_AUTH_HEADER {
            return None;
        }
        let v = std::str::from_utf8(v).ok()?.trim();
        let (scheme, rest) = v.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let colon = decoded.iter().position(|&b| b == b':')?;
        let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
        let password = decoded[colon + 1..].to_vec();
        Some(Credentials { user, password })
    }

    fn hash_for(&self, user: &str) -> Option<&str> {
        let mut found = None;
        for (u, h) in &self.users {
            if ct_eq(u.as_bytes(), user.as_bytes()) {
                found = Some(h.as_str());
            }
        }
        found
    }

    fn cache_tag(&self, c: &Credentials, hash: &str) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.cache_key);
        ctx.update(&(c.user.len() as u64).to_be_bytes());
        ctx.update(c.user.as_bytes());
        ctx.update(&(c.password.len() as u64).to_be_bytes());
        ctx.update(&c.password);
        ctx.update(hash.as_bytes());
        ctx.sign().as_ref().to_vec()
    }

    /// The cheap step: parse the header and consult the cache.
    pub fn precheck(&self, header: Option<&[u8]>) -> Precheck {
        let Some(c) = Self::parse_header(header) else {
            return Precheck::Reject;
        };
        if let Some(hash) = self.hash_for(&c.user) {
            let tag = self.cache_tag(&c, hash);
            let hit = match self.cache.lock() {
                Ok(g) => g.contains(&tag),
                Err(p) => p.into_inner().contains(&tag),
            };
            if hit {
                return Precheck::Accept;
            }
        }
        Precheck::Verify(c)
    }

    /// The expensive step (bcrypt): blocking, call from a blocking thread.
    pub fn verify(&self, c: &Credentials) -> bool {
        match self.hash_for(&c.user) {
            Some(hash) => {
                let ok = bcrypt::verify(&c.password, hash).unwrap_or(false);
                if ok {
                    let tag = self.cache_tag(c, hash);
                    let mut g = match self.cache.lock() {
                        Ok(g) => g,
                        Err(p) => p.into_inner(),
                    };
                    if g.len() >= AUTH_CACHE_SIZE {
                        g.clear();
                    }
                    g.insert(tag);
                }
                ok
            }
            None => {
                let _ = bcrypt::verify(&c.password, &self.dummy_hash);
                false
            }
        }
    }

    /// Both steps, blocking.
    pub fn check(&self, header: Option<&[u8]>) -> bool {
        match self.precheck(header) {
            Precheck::Reject => false,
            Precheck::Accept => true,
            Precheck::Verify(c) => self.verify(&c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, pass: &str) -> Vec<u8> {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
        .into_bytes()
    }

    #[test]
    fn empty_config_is_plain_http() {
        let c = parse("", Path::new(".")).unwrap();
        assert!(c.tls.is_none() && c.basic_auth.is_none() && c.headers.is_empty());
        let c = parse("tls_server_config: {}\n", Path::new(".")).unwrap();
        assert!(c.tls.is_none());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let e = parse("bogus: 1\n", Path::new(".")).unwrap_err();
        assert!(e.contains("bogus"), "{e}");
        let e = parse("tls_server_config:\n  cert_fil: x\n", Path::new(".")).unwrap_err();
        assert!(e.contains("cert_fil"), "{e}");
    }

    #[test]
    fn unsupported_settings_are_explained() {
        for (yaml, needle) in [
            (
                "tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS11\n",
                "not supported",
            ),
            (
                "tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
                "cipher_suites",
            ),
            ("tls_server_config:\n  cert_file: a\n", "missing key_file"),
            (
                "basic_auth_users:\n  alice: plaintext\n",
                "not a bcrypt hash",
            ),
            (
                "http_server_config:\n  headers:\n    Set-Cookie: x\n",
                "not allowed",
            ),
        ] {
            let e = parse(yaml, Path::new("/nonexistent")).unwrap_err();
            assert!(e.contains(needle), "{yaml}: {e}");
        }
    }

    #[test]
    fn tls_from_generated_cert_and_key_error_hides_key() {
        let dir = tempfile::tempdir().unwrap();
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        std::fs::write(dir.path().join("c.pem"), ck.cert.pem()).unwrap();
        std::fs::write(dir.path().join("k.pem"), ck.signing_key.serialize_pem()).unwrap();
        let cfgp = dir.path().join("web.yml");
        std::fs::write(
            &cfgp,
            "tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n  min_version: TLS13\n",
        )
        .unwrap();
        let c = load(&cfgp).unwrap();
        assert!(c.tls.is_some());
        // A broken key: the message names the file but quotes nothing from it.
        let secret =
            "-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVU!!!\n-----END PRIVATE KEY-----\n";
        std::fs::write(dir.path().join("k.pem"), secret).unwrap();
        let e = load(&cfgp).unwrap_err();
        assert!(e.contains("k.pem"), "{e}");
        assert!(!e.contains("U0VDUkVU"), "{e}");
        // Mismatched key and certificate.
        let other = rcgen::KeyPair::generate().unwrap();
        std::fs::write(dir.path().join("k.pem"), other.serialize_pem()).unwrap();
        assert!(load(&cfgp).is_err());
    }

    #[test]
    fn basic_auth_verifies_and_caches() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let mut users = BTreeMap::new();
        users.insert("alice".to_string(), hash);
        let a = BasicAuth::new(users).unwrap();
        assert!(!a.check(None));
        assert!(!a.check(Some(b"Bearer xyz")));
        assert!(!a.check(Some(b"Basic !!!notbase64")));
        assert!(!a.check(Some(&basic("alice", "wrong"))));
        assert!(!a.check(Some(&basic("bob", "s3cret"))));
        assert!(!a.check(Some(&basic("alic", "s3cret"))));
        assert_eq!(
            a.precheck(Some(&basic("alice", "s3cret"))),
            Precheck::Verify(Credentials {
                user: "alice".into(),
                password: b"s3cret".to_vec()
            })
        );
        assert!(a.check(Some(&basic("alice", "s3cret"))));
        assert_eq!(
            a.precheck(Some(&basic("alice", "s3cret"))),
            Precheck::Accept
        );
        assert!(matches!(
            a.precheck(Some(&basic("alice", "s3cret2"))),
            Precheck::Verify(_)
        ));
        // Password containing ':' is allowed.
        assert!(!a.check(Some(&basic("alice", "s3:cret"))));
        assert!(ct_eq(b"abc", b"abc") && !ct_eq(b"abc", b"abd") && !ct_eq(b"ab", b"abc"));
    }

    /// Regression (webconfig fuzz target): a hash of cost 31 made `BasicAuth::new`
    /// compute a cost-31 dummy hash (days of CPU); it is refused at once now.
    #[test]
    fn excessive_bcrypt_cost_is_refused_not_computed() {
        let cost4 = bcrypt::hash("x", 4).unwrap();
        let cost31 = cost4.replacen("$04$", "$31$", 1);
        let mut users = BTreeMap::new();
        users.insert("alice".to_string(), cost31);
        let err = BasicAuth::new(users).err().unwrap();
        assert!(err.contains("cost 31") && err.contains("alice"), "{err}");
        let text = format!(
            "basic_auth_users:\n  bob: '{}'\n",
            cost4.replacen("$04$", "$19$", 1)
        );
        let err = parse(&text, Path::new("/nonexistent")).unwrap_err();
        assert!(err.contains("above the supported maximum 18"), "{err}");
    }
}
