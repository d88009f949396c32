//! The `vault` source: the certificates a Vault/OpenBao PKI secrets engine
//! issued, its issuers and their CRLs, read with a list/read-only token
//! (docs/vault.md has the policy).
//!
//! One scan: log in (token file, token environment variable, AppRole or
//! Kubernetes auth; a login token is reused until two thirds of its lease),
//! `auth/token/lookup-self` for the token's own expiry
//! (`x509_vault_token_expiry_timestamp_seconds`), the PKI mounts (configured,
//! else every `type: pki` mount of `sys/mounts`), and per mount:
//!
//! * `LIST <mount>/issuers` and each issuer's certificate
//!   (`<mount>/issuer/<ref>/json`; pre-1.11 mounts: `<mount>/ca/pem`) — one
//!   object per issuer;
//! * each issuer's CRL (`<mount>/issuer/<ref>/crl/der`, legacy `<mount>/crl`,
//!   both unauthenticated): `x509_crl_*` series through [`Source::facts`],
//!   findings `crl_stale` / `crl_next_update_near`;
//! * `LIST <mount>/certs`, then `GET <mount>/cert/<serial>` only for serials not
//!   seen before (a certificate never changes; summaries are kept), at most
//!   `concurrency` at a time, at most `max_certificates` per mount;
//! * the revoked serials (`LIST <mount>/certs/revoked`, else the CRLs'
//!   entries): every issued certificate carries the mount's verdict as its
//!   revocation (`revoked` or `good`, method `vault`).
//!
//! Objects: `<mount>/cert/<serial>` and `<mount>/issuer/<id>`, labels
//! `vault_mount` and `superseded` (`true` for a certificate of the mount whose
//! common name has a newer certificate — a renewal; Vault keeps the old one
//! until tidy, and the alert rules do not page on it). The object version covers the
//! certificate and those mutable facts, so an unchanged certificate is not
//! re-published.
//!
//! Failures: the login or mount discovery failing fails the source
//! (`x509_source_up` 0); a mount or certificate that cannot be read is an
//! object error (`permission_denied`, `api_error`, `decode_failed`,
//! `timeout`, ...). Tokens are sent only in `X-Vault-Token` and never logged,
//! stored in objects or put in messages.

pub mod client;
pub mod config;
pub mod crl;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hyper::Method;
use serde::Deserialize;
use serde_json::Value;

use super::{BoxFuture, Content, Object, ScanCtx, Source, SourceFacts, SourceOutput};
use crate::model::{
    ErrorEntry, Failure, Finding, ParsedCert, Reason, Revocation, RevocationMethod,
    RevocationStatus, SourceKind, SourceRef,
};
use crate::parse::ParseOptions;

use client::{Answer, Client, MAX_CRL_BODY, MAX_JSON_BODY};
pub use config::{VaultAuth, VaultConfig};

/// Label: the PKI mount a certificate belongs to.
pub const LABEL_MOUNT: &str = "vault_mount";
/// Label: `true` for a certificate superseded by a newer one with the same
/// common name on the same mount, `false` otherwise.
pub const LABEL_SUPERSEDED: &str = "superseded";

/// Most mounts read per scan.
pub const MAX_MOUNTS: usize = 256;
/// Most issuers read per mount.
pub const MAX_ISSUERS: usize = 256;
/// Largest token / role id / secret id / JWT file read.
const MAX_CREDENTIAL_FILE: usize = 64 << 10;

/// Read at most `cap` bytes of a small regular file.
pub fn read_small(path: &Path, cap: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut buf = Vec::new();
    f.take(cap as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if buf.len() > cap {
        return Err(format!("{}: larger than {cap} bytes", path.display()));
    }
    Ok(buf)
}

/// A secret string (token, secret id): never printed.
#[derive(Clone, PartialEq, Eq)]
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: overwrite the bytes before the allocation is freed.
        let mut v = std::mem::take(&mut self.0).into_bytes();
        v.iter_mut().for_each(|b| *b = 0);
        std::hint::black_box(&v);
    }
}

fn read_secret(path: &Path, what: &str) -> Result<Secret, Failure> {
    let bytes = read_small(path, MAX_CREDENTIAL_FILE).map_err(|m| {
        Failure::new(
            Reason::ReadFailed,
            format!("cannot read the {what} file: {m}"),
        )
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::new(Reason::DecodeFailed, format!("{what} file is not UTF-8")))?;
    let t = text.trim().to_string();
    drop(Secret(text));
    if t.is_empty() {
        return Err(Failure::new(
            Reason::ReadFailed,
            format!("{what} file {} is empty", path.display()),
        ));
    }
    Ok(Secret(t))
}

/// One issued certificate as kept between scans.
#[derive(Debug, Clone)]
struct Known {
    cert: Arc<ParsedCert>,
    /// `revocation_time` of the last read (Unix seconds), `None` when not revoked.
    revoked_at: Option<i64>,
}

#[derive(Debug, Default)]
struct State {
    /// Login token and when to log in again (AppRole, Kubernetes).
    login: Option<(Secret, Instant)>,
    /// `(mount, serial)` → certificate.
    known: HashMap<(String, String), Known>,
    facts: SourceFacts,
}

/// A configured Vault/OpenBao source.
pub struct VaultSource {
    cfg: VaultConfig,
    opts: ParseOptions,
    client: Result<Client, String>,
    state: Mutex<State>,
}

/// Build the source of one validated config entry.
pub fn build(cfg: &VaultConfig) -> VaultSource {
    VaultSource {
        client: Client::new(cfg),
        cfg: cfg.clone(),
        opts: ParseOptions::default(),
        state: Mutex::new(State::default()),
    }
}

/// Vault's `{"data": ...}` envelope.
#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Deserialize, Default)]
struct Keys {
    #[serde(default)]
    keys: Vec<String>,
}

/// A failed answer as a [`Failure`] (Vault's `errors` text is bounded).
fn status_failure(what: &str, a: &Answer) -> Failure {
    let detail = serde_json::from_slice::<Value>(&a.body)
        .ok()
        .and_then(|v| {
            v.get("errors")?
                .as_array()?
                .iter()
                .filter_map(|e| e.as_str())
                .next()
                .map(|s| crate::model::bounded(s, 200))
        })
        .unwrap_or_default();
    let reason = match a.status {
        401 | 403 => Reason::PermissionDenied,
        404 => Reason::NotFound,
        _ => Reason::ApiError,
    };
    let sep = if detail.is_empty() { "" } else { ": " };
    Failure::new(
        reason,
        format!("{what}: HTTP status {}{sep}{detail}", a.status),
    )
}

fn decode<T: for<'de> Deserialize<'de>>(what: &str, a: &Answer) -> Result<T, Failure> {
    serde_json::from_slice::<T>(&a.body).map_err(|e| {
        Failure::new(
            Reason::DecodeFailed,
            format!("{what}: unexpected answer: {e}"),
        )
    })
}

/// The first certificate of a PEM text, summarized through the shared table.
fn pem_cert(pem: &str) -> Result<Arc<ParsedCert>, Failure> {
    let der = rustls_pemfile::certs(&mut pem.as_bytes())
        .next()
        .and_then(Result::ok)
        .ok_or_else(|| Failure::new(Reason::BadPem, "no PEM certificate in the answer"))?;
    crate::parse::x509::summarize_shared(der.as_ref())
        .map_err(|e| Failure::new(e.reason, e.message))
}

/// `a.b.c` path of a JSON value.
fn field<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// Everything one mount produced.
#[derive(Default)]
struct MountOut {
    objects: Vec<Object>,
    revocations: HashMap<String, Revocation>,
    findings: Vec<Finding>,
    crls: Vec<crl::IssuerCrl>,
}

impl VaultSource {
    fn sref(&self, mount: &str, location: String) -> SourceRef {
        SourceRef::new(SourceKind::Vault, &self.cfg.name, location).with_label(LABEL_MOUNT, mount)
    }

    /// HTTP requests this source sent so far (tests, benchmarks).
    pub fn requests(&self) -> u64 {
        self.client.as_ref().map_or(0, Client::requests)
    }

    fn client(&self) -> Result<&Client, Failure> {
        self.client
            .as_ref()
            .map_err(|m| Failure::new(Reason::ReadFailed, m.clone()))
    }

    async fn get(&self, path: &str, token: Option<&Secret>, max: usize) -> Result<Answer, Failure> {
        self.client()?
            .call(Method::GET, path, token.map(|t| t.0.as_str()), None, max)
            .await
    }

    /// GET and decode the `data` of a JSON answer; `Ok(None)` for 404.
    async fn get_data<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        path: &str,
        token: &Secret,
    ) -> Result<Option<T>, Failure> {
        let a = self.get(path, Some(token), MAX_JSON_BODY).await?;
        match a.status {
            200 => decode::<Envelope<T>>(what, &a).map(|e| Some(e.data)),
            404 => Ok(None),
            _ => Err(status_failure(what, &a)),
        }
    }

    /// The token to use this scan.
    async fn token(&self) -> Result<Secret, Failure> {
        match &self.cfg.auth {
            VaultAuth::TokenFile(p) => read_secret(p, "token"),
            VaultAuth::TokenEnv(var) => match std::env::var(var) {
                Ok(t) if !t.trim().is_empty() => Ok(Secret(t.trim().to_string())),
                _ => Err(Failure::new(
                    Reason::SourceUnavailable,
                    format!("no token: environment variable {var} is not set"),
                )),
            },
            VaultAuth::AppRole {
                mount,
                role_id_file,
                secret_id_file,
            } => {
                if let Some(t) = self.cached_login() {
                    return Ok(t);
                }
                let role_id = read_secret(role_id_file, "role_id")?;
                let secret_id = read_secret(secret_id_file, "secret_id")?;
                let body = serde_json::json!({"role_id": role_id.0, "secret_id": secret_id.0});
                self.login(mount, body).await
            }
            VaultAuth::Kubernetes {
                mount,
                role,
                jwt_file,
            } => {
                if let Some(t) = self.cached_login() {
                    return Ok(t);
                }
                let jwt = read_secret(jwt_file, "service account token")?;
                let body = serde_json::json!({"role": role, "jwt": jwt.0});
                self.login(mount, body).await
            }
        }
    }

    fn cached_login(&self) -> Option<Secret> {
        let st = self.state.lock().ok()?;
        match &st.login {
            Some((t, until)) if Instant::now() < *until => Some(t.clone()),
            _ => None,
        }
    }

    async fn login(&self, mount: &str, body: Value) -> Result<Secret, Failure> {
        let what = format!("login at auth/{mount}");
        let bytes = Secret(body.to_string());
        let a = self
            .client()?
            .call(
                Method::POST,
                &format!("/v1/auth/{mount}/login"),
                None,
                Some(bytes.0.clone().into_bytes()),
                MAX_JSON_BODY,
            )
            .await?;
        drop(bytes);
        if a.status != 200 {
            return Err(status_failure(&what, &a));
        }
        let v: Value = decode(&what, &a)?;
        let token = field(&v, &["auth", "client_token"])
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Failure::new(Reason::DecodeFailed, format!("{what}: no client_token"))
            })?;
        let lease = field(&v, &["auth", "lease_duration"])
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let token = Secret(token.to_string());
        // Reuse until two thirds of the lease (a lease of 0 never expires).
        let reuse = if lease == 0 {
            Duration::from_secs(3600)
        } else {
            Duration::from_secs(lease.saturating_mul(2) / 3)
        };
        if let Ok(mut st) = self.state.lock() {
            st.login = Some((token.clone(), Instant::now() + reuse));
        }
        Ok(token)
    }

    /// `auth/token/lookup-self`: the token's expiry (Unix seconds), `None` when
    /// it does not expire or the lookup is not allowed.
    async fn token_expiry(&self, token: &Secret, now: i64) -> Option<i64> {
        let a = self
            .get("/v1/auth/token/lookup-self", Some(token), MAX_JSON_BODY)
            .await
            .ok()?;
        if a.status != 200 {
            tracing::debug!(source = %self.cfg.name, status = a.status, "token lookup-self refused");
            return None;
        }
        let v: Value = serde_json::from_slice(&a.body).ok()?;
        let data = v.get("data")?;
        if let Some(t) = data.get("expire_time").and_then(Value::as_str) {
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(t) {
                return Some(t.timestamp());
            }
        }
        match data.get("ttl").and_then(Value::as_i64) {
            Some(ttl) if ttl > 0 => Some(now + ttl),
            _ => None,
        }
    }

    /// The PKI mounts to read: configured, else discovered.
    async fn mounts(&self, token: &Secret) -> Result<Vec<String>, Failure> {
        if !self.cfg.mounts.is_empty() {
            return Ok(self.cfg.mounts.clone());
        }
        let a = self
            .get("/v1/sys/mounts", Some(token), MAX_JSON_BODY)
            .await?;
        if a.status != 200 {
            let mut f = status_failure("mount discovery (sys/mounts)", &a);
            f.message
                .push_str(" — allow read on sys/mounts or configure mounts");
            return Err(f);
        }
        let v: Value = decode("sys/mounts", &a)?;
        // Newer servers nest the table in `data`; older ones also repeat it at the top.
        let table = v
            .get("data")
            .and_then(Value::as_object)
            .or_else(|| v.as_object());
        let mut out: Vec<String> = table
            .into_iter()
            .flatten()
            .filter(|(_, m)| m.get("type").and_then(Value::as_str) == Some("pki"))
            .map(|(k, _)| k.trim_matches('/').to_string())
            .filter(|m| config::valid_mount(m))
            .collect();
        out.sort();
        out.dedup();
        out.truncate(MAX_MOUNTS);
        Ok(out)
    }

    /// An object holding one certificate (or a failure).
    fn object(
        &self,
        ctx: &ScanCtx,
        key: String,
        version: String,
        sref: SourceRef,
        cert: Arc<ParsedCert>,
    ) -> Object {
        if ctx.prev_versions.get(&key) == Some(&version) {
            return Object {
                key,
                version: Some(version),
                content: Content::Unchanged,
            };
        }
        Object {
            key,
            version: Some(version),
            content: Content::Parsed {
                certs: Arc::new([(Arc::new(sref), 0, cert)]),
                errors: Vec::new(),
            },
        }
    }

    fn error_object(&self, key: String, sref: SourceRef, f: Failure) -> Object {
        Object {
            key,
            version: None,
            content: Content::Fresh {
                items: Vec::new(),
                errors: vec![f.at(sref)],
            },
        }
    }

    /// Issuers of a mount: `(id, certificate)`, and the CRL paths to read.
    async fn issuers(
        &self,
        mount: &str,
        token: &Secret,
        out: &mut MountOut,
    ) -> Result<Vec<(String, Arc<ParsedCert>, String)>, Failure> {
        let listed: Option<Keys> = self
            .get_data(
                &format!("{mount}/issuers"),
                &format!("/v1/{mount}/issuers?list=true"),
                token,
            )
            .await?;
        let mut res = Vec::new();
        let Some(listed) = listed else {
            // Before multi-issuer mounts (Vault < 1.11): one CA, one CRL.
            let a = self
                .get(&format!("/v1/{mount}/ca/pem"), None, MAX_JSON_BODY)
                .await?;
            if a.status == 200 && !a.body.is_empty() {
                let cert = pem_cert(&String::from_utf8_lossy(&a.body))?;
                res.push(("default".to_string(), cert, format!("/v1/{mount}/crl")));
            }
            return Ok(res);
        };
        for id in listed.keys.iter().take(MAX_ISSUERS) {
            if !config::valid_mount(id) || id.contains('/') {
                continue;
            }
            let key = format!("{mount}/issuer/{id}");
            let sref = self
                .sref(mount, key.clone())
                .with_label(LABEL_SUPERSEDED, "false");
            let a = self
                .get(
                    &format!("/v1/{mount}/issuer/{id}/json"),
                    Some(token),
                    MAX_JSON_BODY,
                )
                .await;
            let cert = a.and_then(|a| {
                if a.status != 200 {
                    return Err(status_failure(&format!("issuer {id}"), &a));
                }
                let v: Value = decode(&format!("issuer {id}"), &a)?;
                let pem = field(&v, &["data", "certificate"])
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        Failure::new(Reason::DecodeFailed, "issuer without certificate")
                    })?;
                pem_cert(pem)
            });
            match cert {
                Ok(c) => res.push((id.clone(), c, format!("/v1/{mount}/issuer/{id}/crl/der"))),
                Err(f) => out.objects.push(self.error_object(key, sref, f)),
            }
        }
        Ok(res)
    }

    async fn scan_mount(
        &self,
        ctx: &ScanCtx,
        mount: &str,
        token: &Secret,
    ) -> Result<MountOut, Failure> {
        let now = ctx.now.timestamp();
        let mut out = MountOut::default();
        let issuers = self.issuers(mount, token, &mut out).await?;
        let mut issuer_serials: HashSet<String> = HashSet::new();
        let mut crl_revoked: HashMap<String, i64> = HashMap::new();
        for (id, cert, crl_path) in &issuers {
            issuer_serials.insert(cert.serial_hex.clone());
            let key = format!("{mount}/issuer/{id}");
            let sref = self
                .sref(mount, key.clone())
                .with_label(LABEL_SUPERSEDED, "false");
            let location = format!("{}{crl_path}", self.cfg.address);
            let mut errors = Vec::new();
            match self.get(crl_path, None, MAX_CRL_BODY).await {
                Ok(a) if a.status == 200 => match crl::parse(&a.body, &location, now) {
                    Ok(c) => {
                        out.findings.extend(crl::findings(&c.info, now));
                        for (s, at) in &c.revoked {
                            crl_revoked.insert(s.clone(), *at);
                        }
                        out.crls.push(c);
                    }
                    Err(m) => errors.push(Failure::new(
                        Reason::CrlFetchFailed,
                        format!("{location}: {m}"),
                    )),
                },
                Ok(a) => errors.push(Failure::new(
                    Reason::CrlFetchFailed,
                    status_failure(&location, &a).message,
                )),
                Err(f) => errors.push(Failure::new(
                    if f.reason == Reason::Timeout {
                        Reason::Timeout
                    } else {
                        Reason::CrlFetchFailed
                    },
                    f.message,
                )),
            }
            if errors.is_empty() {
                out.objects.push(self.object(
                    ctx,
                    key,
                    format!("issuer:{}", cert.sha256_fingerprint),
                    sref,
                    cert.clone(),
                ));
            } else {
                // The issuer is still listed; its CRL problem is its error.
                let sref = Arc::new(sref);
                out.objects.push(Object {
                    key,
                    version: None,
                    content: Content::Parsed {
                        certs: Arc::new([(sref.clone(), 0, cert.clone())]),
                        errors: errors.into_iter().map(|f| f.at((*sref).clone())).collect(),
                    },
                });
            }
        }

        let listed: Keys = self
            .get_data(
                &format!("{mount}/certs"),
                &format!("/v1/{mount}/certs?list=true"),
                token,
            )
            .await?
            .unwrap_or_default();
        let mut serials: Vec<String> = listed
            .keys
            .into_iter()
            .filter(|s| {
                !s.is_empty()
                    && s.len() <= 128
                    && s.bytes()
                        .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'-')
            })
            .map(|s| s.replace('-', ":").to_ascii_lowercase())
            .filter(|s| !issuer_serials.contains(s))
            .collect();
        serials.sort();
        serials.dedup();
        if serials.len() > self.cfg.max_certificates {
            let sref = self.sref(mount, mount.to_string());
            out.objects.push(self.error_object(
                format!("{mount}/certs"),
                sref,
                Failure::new(
                    Reason::TooLarge,
                    format!(
                        "{} certificates listed, only the first {} are read (max_certificates)",
                        serials.len(),
                        self.cfg.max_certificates
                    ),
                ),
            ));
            serials.truncate(self.cfg.max_certificates);
        }
        // Revoked serials: the PKI's own list, else its CRLs.
        let revoked: HashSet<String> = match self
            .get_data::<Keys>(
                &format!("{mount}/certs/revoked"),
                &format!("/v1/{mount}/certs/revoked?list=true"),
                token,
            )
            .await
        {
            Ok(Some(k)) => k
                .keys
                .into_iter()
                .map(|s| s.replace('-', ":").to_ascii_lowercase())
                .collect(),
            Ok(None) => HashSet::new(),
            Err(f) => {
                tracing::debug!(source = %self.cfg.name, mount, error = %f.message, "certs/revoked not readable; using the CRLs");
                crl_revoked.keys().cloned().collect()
            }
        };

        // Read what is new (or newly revoked without a known revocation time).
        let todo: Vec<String> = {
            let st = self
                .state
                .lock()
                .map_err(|_| Failure::new(Reason::ReadFailed, "state poisoned"))?;
            serials
                .iter()
                .filter(|s| match st.known.get(&(mount.to_string(), (*s).clone())) {
                    None => true,
                    Some(k) => {
                        revoked.contains(*s)
                            && k.revoked_at.is_none()
                            && !crl_revoked.contains_key(*s)
                    }
                })
                .cloned()
                .collect()
        };
        let fetched: Vec<(String, Result<Known, Failure>)> = futures_util::stream::iter(todo)
            .map(|serial| async move {
                let r = self.read_cert(mount, &serial, token).await;
                (serial, r)
            })
            .buffer_unordered(self.cfg.concurrency)
            .collect()
            .await;
        let mut failed: BTreeMap<String, Failure> = BTreeMap::new();
        let mut current: Vec<(String, Known)> = Vec::with_capacity(serials.len());
        {
            let mut st = self
                .state
                .lock()
                .map_err(|_| Failure::new(Reason::ReadFailed, "state poisoned"))?;
            for (serial, r) in fetched {
                match r {
                    Ok(k) => {
                        st.known.insert((mount.to_string(), serial), k);
                    }
                    Err(f) => {
                        failed.insert(serial, f);
                    }
                }
            }
            let listed: HashSet<&String> = serials.iter().collect();
            st.known
                .retain(|(m, s), _| m != mount || listed.contains(s));
            for s in &serials {
                if let Some(k) = st.known.get(&(mount.to_string(), s.clone())) {
                    current.push((s.clone(), k.clone()));
                }
            }
        }
        for (serial, f) in failed {
            let key = format!("{mount}/cert/{serial}");
            let sref = self.sref(mount, key.clone());
            out.objects.push(self.error_object(key, sref, f));
        }

        // Superseded: a newer certificate with the same CN exists on the mount
        // (a renewal); expired or not, it is not the one to page about.
        // ("Newer": later notBefore, then later notAfter: renewals issued within
        // the same second still order.)
        let mut newest: HashMap<&str, (i64, i64)> = HashMap::new();
        for (_, k) in &current {
            let e = newest
                .entry(k.cert.subject.cn.as_str())
                .or_insert((i64::MIN, i64::MIN));
            *e = (*e).max((k.cert.not_before, k.cert.not_after));
        }
        for (serial, k) in &current {
            let superseded = !k.cert.subject.cn.is_empty()
                && newest
                    .get(k.cert.subject.cn.as_str())
                    .is_some_and(|n| *n > (k.cert.not_before, k.cert.not_after));
            let revoked_at = if revoked.contains(serial) {
                Some(
                    crl_revoked
                        .get(serial)
                        .copied()
                        .or(k.revoked_at)
                        .unwrap_or(0),
                )
            } else {
                None
            };
            let revocation = match revoked_at {
                Some(at) => Revocation {
                    status: RevocationStatus::Revoked,
                    method: Some(RevocationMethod::Vault),
                    revoked_at: (at > 0).then(|| crate::model::time::rfc3339_from_unix(at)),
                    reason: None,
                },
                None => Revocation {
                    status: RevocationStatus::Good,
                    method: Some(RevocationMethod::Vault),
                    revoked_at: None,
                    reason: None,
                },
            };
            let key = format!("{mount}/cert/{serial}");
            let sref = self
                .sref(mount, key.clone())
                .with_label(LABEL_SUPERSEDED, if superseded { "true" } else { "false" });
            out.revocations.insert(key.clone(), revocation);
            let version = format!(
                "{}:r{}:s{}",
                k.cert.sha256_fingerprint,
                revoked_at.map_or_else(|| "-".to_string(), |a| a.to_string()),
                u8::from(superseded)
            );
            out.objects
                .push(self.object(ctx, key, version, sref, k.cert.clone()));
        }
        Ok(out)
    }

    async fn read_cert(&self, mount: &str, serial: &str, token: &Secret) -> Result<Known, Failure> {
        let what = format!("{mount}/cert/{serial}");
        let a = self
            .get(
                &format!("/v1/{mount}/cert/{serial}"),
                Some(token),
                MAX_JSON_BODY,
            )
            .await?;
        if a.status != 200 {
            return Err(status_failure(&what, &a));
        }
        let v: Value = decode(&what, &a)?;
        let pem = field(&v, &["data", "certificate"])
            .and_then(Value::as_str)
            .ok_or_else(|| Failure::new(Reason::DecodeFailed, format!("{what}: no certificate")))?;
        let cert = pem_cert(pem)?;
        let revoked_at = field(&v, &["data", "revocation_time"])
            .and_then(Value::as_i64)
            .filter(|t| *t > 0);
        Ok(Known { cert, revoked_at })
    }

    async fn scan_inner(&self, ctx: ScanCtx) -> SourceOutput {
        let mut out = SourceOutput::default();
        let mut facts = SourceFacts::default();
        let fail = |f: Failure| {
            ErrorEntry::new(
                SourceRef::new(SourceKind::Vault, &self.cfg.name, &self.cfg.address),
                f.reason,
                f.message,
            )
        };
        let token = match self.client().map(|_| ()) {
            Err(f) => Err(f),
            Ok(()) => self.token().await,
        };
        let token = match token {
            Ok(t) => t,
            Err(f) => {
                out.failure = Some(fail(f));
                return out;
            }
        };
        facts.credential_expiry = self.token_expiry(&token, ctx.now.timestamp()).await;
        let mounts = match self.mounts(&token).await {
            Ok(m) => m,
            Err(f) => {
                if f.reason == Reason::PermissionDenied {
                    // A token that stopped working (expired, revoked) forgets the login.
                    if let Ok(mut st) = self.state.lock() {
                        st.login = None;
                    }
                }
                out.failure = Some(fail(f));
                self.set_facts(facts);
                return out;
            }
        };
        for mount in &mounts {
            match self.scan_mount(&ctx, mount, &token).await {
                Ok(m) => {
                    out.objects.extend(m.objects);
                    out.findings.extend(m.findings);
                    facts.crls.extend(m.crls.into_iter().map(|c| c.info));
                    facts.revocations.extend(m.revocations);
                }
                Err(f) => {
                    let sref = self.sref(mount, mount.clone());
                    out.objects.push(self.error_object(mount.clone(), sref, f));
                }
            }
        }
        self.set_facts(facts);
        out
    }

    fn set_facts(&self, facts: SourceFacts) {
        if let Ok(mut st) = self.state.lock() {
            st.facts = facts;
        }
    }
}

impl Source for VaultSource {
    fn kinds(&self) -> Vec<SourceKind> {
        vec![SourceKind::Vault]
    }

    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn parse_options(&self) -> &ParseOptions {
        &self.opts
    }

    fn scan(self: Arc<Self>, ctx: ScanCtx) -> BoxFuture<SourceOutput> {
        Box::pin(async move { self.scan_inner(ctx).await })
    }

    fn facts(&self) -> SourceFacts {
        self.state
            .lock()
            .map(|st| st.facts.clone())
            .unwrap_or_default()
    }
}
