//! Shared helpers of the binary-level tests (`cli_scan`, `serve`): certificate
//! fixtures generated at test time with rcgen, a runner for the real binary, a
//! minimal HTTP/1.1 client over raw TCP, and `promtool`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa, KeyPair,
};

pub const DAY: u64 = 86400;

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_certvigil")
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A self-signed leaf with the given CN, valid from `not_before` to `not_after`
/// (Unix seconds). Returns the certificate PEM (the key is dropped).
pub fn cert_pem(cn: &str, not_before: u64, not_after: u64) -> String {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![format!("{}.test", sanitize_dns(cn))]).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, "certvigil tests");
    params.distinguished_name = dn;
    // Unix seconds → rcgen's time type, without naming the `time` crate.
    params.not_before = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(not_before);
    params.not_after = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(not_after);
    params.self_signed(&key).unwrap().pem()
}

fn sanitize_dns(cn: &str) -> String {
    let s: String = cn
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "x".to_string()
    } else {
        s
    }
}

/// A leaf expiring `days_left` days from now (valid since 30 days ago).
pub fn cert_expiring_in(cn: &str, days_left: i64) -> String {
    let now = now_unix();
    let not_after = if days_left >= 0 {
        now + days_left as u64 * DAY
    } else {
        now - days_left.unsigned_abs() * DAY
    };
    cert_pem(cn, now - 400 * DAY, not_after)
}

/// A CA and a server certificate for `localhost`/`127.0.0.1` signed by it:
/// `(ca_pem, server_cert_pem, server_key_pem)`.
pub fn tls_server_material() -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "certvigil test CA");
    ca_params.distinguished_name = dn;
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    params.distinguished_name = dn;
    let cert = params.signed_by(&key, &ca).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

pub fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

/// Run the binary to completion.
pub fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn show(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Build an HTTP/1.1 request with `Connection: close`.
pub fn request_bytes(method: &str, path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if method == "POST" {
        req.push_str("Content-Length: 0\r\n");
    }
    req.push_str("\r\n");
    req.into_bytes()
}

/// Parse a complete response read until EOF (handles chunked bodies).
pub fn parse_response(raw: &[u8]) -> Option<Response> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    });
    let body = if chunked {
        let mut out = String::new();
        let mut rest = body;
        loop {
            let (size, after) = rest.split_once("\r\n")?;
            let n = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
            if n == 0 {
                break;
            }
            out.push_str(after.get(..n)?);
            rest = after.get(n + 2..)?;
        }
        out
    } else {
        body.to_string()
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

/// One plain-HTTP request to 127.0.0.1:`port`; `None` when the connection fails.
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> Option<Response> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(&request_bytes(method, path, headers)).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    parse_response(&raw)
}

/// `promtool` when installed; panics when missing and `CERTVIGIL_REQUIRE_REAL=1`.
pub fn promtool() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("promtool"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CERTVIGIL_REQUIRE_REAL").as_deref() != Ok("1"),
            "promtool not found and CERTVIGIL_REQUIRE_REAL=1"
        );
        eprintln!("promtool not installed: skipping the exposition check");
    }
    found
}

/// `promtool check metrics` over an exposition; panics with its output on failure.
pub fn promtool_check(exposition: &str) {
    let Some(p) = promtool() else { return };
    let mut child = Command::new(p)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}\n{}\n--- exposition\n{exposition}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
