//! Configuration of a `vault` source (Vault/OpenBao PKI)
//! (`sources: [{kind: vault, ...}]`): the raw keys ([`RawVaultEntry`]), their
//! validation into [`VaultConfig`] with located problems, and the registry
//! entry [`VaultSpec`].
//!
//! Keys: `address` (`http://host:port` or `https://host:port`, required),
//! authentication — `token_file`, `token_env` (default `VAULT_TOKEN` when no
//! other method is given), `approle: {role_id_file, secret_id_file, mount}` or
//! `kubernetes_auth: {role, jwt_file, mount}` (exactly one) —, `mounts` (PKI
//! mount paths; default: discovered through `sys/mounts`), `namespace`
//! (`X-Vault-Namespace`), `tls: {ca_file, server_name}`, `timeout` (per
//! request, default 10s), `concurrency` (certificate reads in parallel, default
//! 4), `max_certificates` (per mount, default 100000).

use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_CONCURRENCY: usize = 4;
pub const MAX_CONCURRENCY: usize = 64;
pub const DEFAULT_MAX_CERTIFICATES: usize = 100_000;
pub const DEFAULT_TOKEN_ENV: &str = "VAULT_TOKEN";
pub const DEFAULT_JWT_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// The raw keys of a `vault` entry (all optional), borrowed from the flat entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawVault<'a> {
    pub address: Option<&'a str>,
    pub token_file: Option<&'a str>,
    pub token_env: Option<&'a str>,
    pub approle: Option<&'a RawVaultAppRole>,
    pub kubernetes_auth: Option<&'a RawVaultKubernetesAuth>,
    pub mounts: Option<&'a [String]>,
    pub namespace: Option<&'a str>,
    pub ca_file: Option<&'a str>,
    pub server_name: Option<&'a str>,
    /// `tls.cert_file` / `tls.key_file` were given (they do not apply).
    pub client_tls: bool,
    pub timeout: Option<&'a str>,
    pub concurrency: Option<usize>,
    pub max_certificates: Option<usize>,
}

/// How the source logs in.
#[derive(Debug, Clone, PartialEq)]
pub enum VaultAuth {
    /// A token read from this file at each scan (rotation-friendly).
    TokenFile(PathBuf),
    /// A token in this environment variable.
    TokenEnv(String),
    /// `auth/<mount>/login` with a role id and a secret id read from files.
    AppRole {
        mount: String,
        role_id_file: PathBuf,
        secret_id_file: PathBuf,
    },
    /// `auth/<mount>/login` with a Kubernetes service account token.
    Kubernetes {
        mount: String,
        role: String,
        jwt_file: PathBuf,
    },
}

/// A validated `vault` source.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultConfig {
    pub name: String,
    /// Scheme, host and port, no trailing `/`.
    pub address: String,
    pub auth: VaultAuth,
    /// Mount paths without slashes at either end; empty: discover.
    pub mounts: Vec<String>,
    pub namespace: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub server_name: Option<String>,
    pub timeout: Duration,
    pub concurrency: usize,
    pub max_certificates: usize,
}

impl VaultConfig {
    /// A source for `address` with a token file and every other key at its default.
    pub fn new(name: impl Into<String>, address: impl Into<String>, auth: VaultAuth) -> Self {
        VaultConfig {
            name: name.into(),
            address: address.into(),
            auth,
            mounts: Vec::new(),
            namespace: None,
            ca_file: None,
            server_name: None,
            timeout: DEFAULT_TIMEOUT,
            concurrency: DEFAULT_CONCURRENCY,
            max_certificates: DEFAULT_MAX_CERTIFICATES,
        }
    }
}

fn path_ok(s: &str) -> bool {
    !s.is_empty() && !s.contains('\0')
}

/// A mount path: `[A-Za-z0-9_.-]` segments separated by `/`.
pub fn valid_mount(m: &str) -> bool {
    !m.is_empty()
        && m.len() <= 256
        && m.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        })
}

/// Validate the keys of `sources[i]` (`base` is that path). Problems are
/// reported through `problem(path, message)`.
pub fn validate(
    base: &str,
    name: String,
    raw: &RawVault<'_>,
    parse_duration: &dyn Fn(&str) -> Result<Duration, String>,
    problem: &mut dyn FnMut(String, String),
) -> VaultConfig {
    let mut address = String::new();
    match raw.address {
        None => problem(
            format!("{base}.address"),
            "a vault source needs an address (http://host:port or https://host:port)".into(),
        ),
        Some(a) => {
            let a = a.trim_end_matches('/');
            let rest = a
                .strip_prefix("http://")
                .or_else(|| a.strip_prefix("https://"));
            match rest {
                Some(r)
                    if !r.is_empty()
                        && !r.contains(['/', '?', '#', '@'])
                        && !r.bytes().any(|b| b <= b' ' || b == 0x7f) =>
                {
                    address = a.to_string()
                }
                _ => problem(
                    format!("{base}.address"),
                    format!(
                        "{:?} is not http://host[:port] or https://host[:port]",
                        crate::model::bounded(a, 128)
                    ),
                ),
            }
        }
    }
    let mut methods: Vec<VaultAuth> = Vec::new();
    if let Some(f) = raw.token_file {
        if path_ok(f) {
            methods.push(VaultAuth::TokenFile(PathBuf::from(
                crate::config::paths::expand_tilde(f),
            )));
        } else {
            problem(
                format!("{base}.token_file"),
                "must be a non-empty path".into(),
            );
        }
    }
    if let Some(e) = raw.token_env {
        if !e.is_empty() && e.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            methods.push(VaultAuth::TokenEnv(e.to_string()));
        } else {
            problem(
                format!("{base}.token_env"),
                "must be an environment variable name".into(),
            );
        }
    }
    if let Some(a) = raw.approle {
        let mut ok = true;
        let mut file = |key: &str, v: &Option<String>| match v {
            Some(f) if path_ok(f) => PathBuf::from(crate::config::paths::expand_tilde(f)),
            _ => {
                ok = false;
                problem(
                    format!("{base}.approle.{key}"),
                    format!("approle needs {key} (a file holding it)"),
                );
                PathBuf::new()
            }
        };
        let role_id_file = file("role_id_file", &a.role_id_file);
        let secret_id_file = file("secret_id_file", &a.secret_id_file);
        let mount = a.mount.clone().unwrap_or_else(|| "approle".into());
        if !valid_mount(&mount) {
            ok = false;
            problem(format!("{base}.approle.mount"), "not a mount path".into());
        }
        if ok {
            methods.push(VaultAuth::AppRole {
                mount,
                role_id_file,
                secret_id_file,
            });
        }
    }
    if let Some(k) = raw.kubernetes_auth {
        let mount = k.mount.clone().unwrap_or_else(|| "kubernetes".into());
        let jwt = k
            .jwt_file
            .clone()
            .unwrap_or_else(|| DEFAULT_JWT_FILE.into());
        match &k.role {
            Some(role) if !role.is_empty() && valid_mount(&mount) && path_ok(&jwt) => {
                methods.push(VaultAuth::Kubernetes {
                    mount,
                    role: role.clone(),
                    jwt_file: PathBuf::from(crate::config::paths::expand_tilde(&jwt)),
                })
            }
            _ => problem(
                format!("{base}.kubernetes_auth"),
                "kubernetes_auth needs a role (and a valid mount and jwt_file)".into(),
            ),
        }
    }
    let given = usize::from(raw.token_file.is_some())
        + usize::from(raw.token_env.is_some())
        + usize::from(raw.approle.is_some())
        + usize::from(raw.kubernetes_auth.is_some());
    if given > 1 {
        problem(
            base.to_string(),
            "give one of token_file, token_env, approle, kubernetes_auth".into(),
        );
    }
    let auth = methods
        .into_iter()
        .next()
        .unwrap_or_else(|| VaultAuth::TokenEnv(DEFAULT_TOKEN_ENV.into()));
    let mut cfg = VaultConfig::new(name, address, auth);
    for (j, m) in raw.mounts.unwrap_or_default().iter().enumerate() {
        let m = m.trim_matches('/');
        if valid_mount(m) {
            if !cfg.mounts.iter().any(|x| x == m) {
                cfg.mounts.push(m.to_string());
            }
        } else {
            problem(
                format!("{base}.mounts[{j}]"),
                format!("{:?} is not a mount path", crate::model::bounded(m, 64)),
            );
        }
    }
    if let Some(ns) = raw.namespace {
        if ns.bytes().any(|b| b < b' ' || b == 0x7f) || ns.len() > 256 {
            problem(format!("{base}.namespace"), "not a namespace path".into());
        } else if !ns.is_empty() {
            cfg.namespace = Some(ns.to_string());
        }
    }
    if let Some(f) = raw.ca_file {
        if path_ok(f) {
            cfg.ca_file = Some(PathBuf::from(crate::config::paths::expand_tilde(f)));
        } else {
            problem(
                format!("{base}.tls.ca_file"),
                "must be a non-empty path".into(),
            );
        }
    }
    if let Some(s) = raw.server_name {
        if s.is_empty() || s.bytes().any(|b| b <= b' ' || b == 0x7f) {
            problem(
                format!("{base}.tls.server_name"),
                "not a server name".into(),
            );
        } else {
            cfg.server_name = Some(s.to_string());
        }
    }
    if raw.client_tls {
        problem(
            format!("{base}.tls"),
            "a vault source takes tls.ca_file and tls.server_name only".into(),
        );
    }
    if let Some(t) = raw.timeout {
        match parse_duration(t) {
            Ok(d) if !d.is_zero() => cfg.timeout = d,
            Ok(_) => problem(format!("{base}.timeout"), "must be positive".into()),
            Err(e) => problem(format!("{base}.timeout"), e),
        }
    }
    if let Some(c) = raw.concurrency {
        if (1..=MAX_CONCURRENCY).contains(&c) {
            cfg.concurrency = c;
        } else {
            problem(
                format!("{base}.concurrency"),
                format!("must be between 1 and {MAX_CONCURRENCY}"),
            );
        }
    }
    if let Some(m) = raw.max_certificates {
        if m >= 1 {
            cfg.max_certificates = m;
        } else {
            problem(
                format!("{base}.max_certificates"),
                "must be at least 1".into(),
            );
        }
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(raw: &RawVault<'_>) -> (VaultConfig, Vec<(String, String)>) {
        let mut problems = Vec::new();
        let cfg = validate(
            "sources[0]",
            "v".into(),
            raw,
            &|t: &str| crate::config::parse_duration(t).map_err(|e| e.to_string()),
            &mut |p, m| problems.push((p, m)),
        );
        (cfg, problems)
    }

    #[test]
    fn defaults_and_problems() {
        let (cfg, p) = run(&RawVault {
            address: Some("https://vault.example:8200/"),
            ..Default::default()
        });
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(cfg.address, "https://vault.example:8200");
        assert_eq!(cfg.auth, VaultAuth::TokenEnv("VAULT_TOKEN".into()));
        assert!(cfg.mounts.is_empty());
        assert_eq!(cfg.timeout, DEFAULT_TIMEOUT);

        let mounts = vec!["/pki/".to_string(), "pki_int".into(), "../x".into()];
        let (cfg, p) = run(&RawVault {
            address: Some("ftp://x"),
            token_file: Some("/t"),
            token_env: Some("T"),
            mounts: Some(&mounts),
            concurrency: Some(0),
            timeout: Some("0s"),
            ..Default::default()
        });
        assert_eq!(cfg.mounts, vec!["pki".to_string(), "pki_int".into()]);
        let paths: Vec<&str> = p.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "sources[0].address",
                "sources[0]",
                "sources[0].mounts[2]",
                "sources[0].timeout",
                "sources[0].concurrency"
            ]
        );
    }
}

// ---------------------------------------------------------------- registry entry

/// The keys of a `vault` entry as written (all optional).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawVaultEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approle: Option<RawVaultAppRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_auth: Option<RawVaultKubernetesAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mounts: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<RawVaultTls>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_certificates: Option<usize>,
}

/// `sources[].approle:` of a `vault` entry.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawVaultAppRole {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_id_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<String>,
}

/// `sources[].kubernetes_auth:` of a `vault` entry.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawVaultKubernetesAuth {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<String>,
}

/// `sources[].tls:` of a `vault` entry.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawVaultTls {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
}

impl crate::config::KindConfig for VaultConfig {
    fn kind(&self) -> &str {
        "vault"
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// The registry entry of `kind: vault`.
pub struct VaultSpec;

impl crate::sources::SourceSpec for VaultSpec {
    const KINDS: &'static [&'static str] = &["vault"];
    const KEYS: &'static [&'static str] = &[
        "name",
        "address",
        "token_file",
        "token_env",
        "approle",
        "approle.role_id_file",
        "approle.secret_id_file",
        "approle.mount",
        "kubernetes_auth",
        "kubernetes_auth.role",
        "kubernetes_auth.jwt_file",
        "kubernetes_auth.mount",
        "mounts",
        "namespace",
        "tls",
        "tls.ca_file",
        "tls.server_name",
        "timeout",
        "concurrency",
        "max_certificates",
    ];
    type Raw = RawVaultEntry;
    type Config = VaultConfig;

    fn validate(raw: &RawVaultEntry, ctx: &mut crate::config::EntryCtx<'_>) -> VaultConfig {
        let name = ctx.name(raw.name.as_ref());
        let base = ctx.base.to_string();
        let tls = raw.tls.as_ref();
        let borrowed = RawVault {
            address: raw.address.as_deref(),
            token_file: raw.token_file.as_deref(),
            token_env: raw.token_env.as_deref(),
            approle: raw.approle.as_ref(),
            kubernetes_auth: raw.kubernetes_auth.as_ref(),
            mounts: raw.mounts.as_deref(),
            namespace: raw.namespace.as_deref(),
            ca_file: tls.and_then(|t| t.ca_file.as_deref()),
            server_name: tls.and_then(|t| t.server_name.as_deref()),
            client_tls: false,
            timeout: raw.timeout.as_deref(),
            concurrency: raw.concurrency,
            max_certificates: raw.max_certificates,
        };
        let problems = &mut *ctx.problems;
        validate(
            &base,
            name,
            &borrowed,
            &|t: &str| crate::config::parse_duration(t).map_err(|e| e.to_string()),
            &mut |path, msg| problems.add(path, msg),
        )
    }

    fn to_raw(v: &VaultConfig) -> RawVaultEntry {
        let path = |p: &std::path::Path| p.display().to_string();
        let mut r = RawVaultEntry {
            name: Some(v.name.clone()),
            address: Some(v.address.clone()),
            mounts: Some(v.mounts.clone()),
            namespace: v.namespace.clone(),
            timeout: Some(crate::config::format_duration(v.timeout)),
            concurrency: Some(v.concurrency),
            max_certificates: Some(v.max_certificates),
            ..RawVaultEntry::default()
        };
        if v.ca_file.is_some() || v.server_name.is_some() {
            r.tls = Some(RawVaultTls {
                ca_file: v.ca_file.as_deref().map(path),
                server_name: v.server_name.clone(),
            });
        }
        match &v.auth {
            VaultAuth::TokenFile(f) => r.token_file = Some(path(f)),
            VaultAuth::TokenEnv(e) => r.token_env = Some(e.clone()),
            VaultAuth::AppRole {
                mount,
                role_id_file,
                secret_id_file,
            } => {
                r.approle = Some(RawVaultAppRole {
                    role_id_file: Some(path(role_id_file)),
                    secret_id_file: Some(path(secret_id_file)),
                    mount: Some(mount.clone()),
                })
            }
            VaultAuth::Kubernetes {
                mount,
                role,
                jwt_file,
            } => {
                r.kubernetes_auth = Some(RawVaultKubernetesAuth {
                    role: Some(role.clone()),
                    jwt_file: Some(path(jwt_file)),
                    mount: Some(mount.clone()),
                })
            }
        }
        r
    }

    fn build(cfg: &VaultConfig) -> Vec<std::sync::Arc<dyn crate::sources::Source>> {
        vec![std::sync::Arc::new(super::build(cfg))]
    }
}
