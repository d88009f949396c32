//! Shared helpers of the trust/revocation tests: a real PKI built with the
//! `openssl` CLI (root → intermediate → leaves through `openssl ca` with an
//! index, revocations, CRLs), a tiny HTTP server on 127.0.0.1 that counts
//! requests and can misbehave (hang, redirect loops, garbage, oversized
//! bodies), and a real `openssl ocsp` responder killed on drop.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `openssl` on PATH, else fail (CERTVIGIL_REQUIRE_REAL=1) or skip loudly.
pub fn openssl_available() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("CERTVIGIL_REQUIRE_REAL").as_deref() == Ok("1") {
            panic!("openssl is required (CERTVIGIL_REQUIRE_REAL=1) but not found");
        }
        eprintln!("SKIPPED: openssl not found on PATH");
    }
    ok
}

/// Run openssl with `args` in `dir`; panic with its stderr on failure.
pub fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        o.status.success(),
        "openssl {:?} failed: {}",
        args,
        String::from_utf8_lossy(&o.stderr)
    );
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What the test server answers on one path.
#[derive(Clone)]
pub enum Route {
    /// 200 with this body and an ETag (answers 304 to a matching If-None-Match).
    Body(Vec<u8>),
    /// 200 streamed without Content-Length (connection close delimits it).
    Unsized(Vec<u8>),
    /// Accept and never answer (until the server stops).
    Hang,
    /// 302 to this location.
    Redirect(String),
    /// Answer every request with a fixed status and no body.
    Status(u16),
}

/// A tiny HTTP/1.1 server on 127.0.0.1 that counts requests per path.
pub struct TestServer {
    pub port: u16,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    total: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let total = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, h, t, s) = (routes.clone(), hits.clone(), total.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (r, h, t, s) = (r.clone(), h.clone(), t.clone(), s.clone());
                        std::thread::spawn(move || serve_one(conn, &r, &h, &t, &s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        TestServer {
            port,
            routes,
            hits,
            total,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub fn route(&self, path: &str, route: Route) {
        self.routes.lock().unwrap().insert(path.to_string(), route);
    }

    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// Every request path seen so far (query included), sorted.
    pub fn paths(&self) -> Vec<String> {
        let mut v: Vec<String> = self.hits.lock().unwrap().keys().cloned().collect();
        v.sort();
        v
    }

    pub fn total(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_one(
    mut conn: TcpStream,
    routes: &Mutex<HashMap<String, Route>>,
    hits: &Mutex<HashMap<String, usize>>,
    total: &AtomicUsize,
    stop: &AtomicBool,
) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 65536 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let path = head
        .lines()
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("/")
        .to_string();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let len: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    total.fetch_add(1, Ordering::SeqCst);
    *hits.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
    let route = routes.lock().unwrap().get(&path).cloned();
    let resp: Vec<u8> = match route {
        None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
        Some(Route::Body(body)) => {
            let etag = format!("\"{}\"", body.len());
            if header("if-none-match").as_deref() == Some(etag.as_str()) {
                format!("HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n")
                    .into_bytes()
            } else {
                let mut r = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: {etag}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                r.extend_from_slice(&body);
                r
            }
        }
        Some(Route::Unsized(body)) => {
            let mut r = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
            r.extend_from_slice(&body);
            r
        }
        Some(Route::Hang) => {
            let start = Instant::now();
            while !stop.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(120) {
                std::thread::sleep(Duration::from_millis(20));
            }
            return;
        }
        Some(Route::Redirect(loc)) => format!(
            "HTTP/1.1 302 Found\r\nLocation: {loc}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .into_bytes(),
        Some(Route::Status(code)) => format!(
            "HTTP/1.1 {code} Whatever\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .into_bytes(),
    };
    let _ = conn.write_all(&resp);
    let _ = conn.flush();
}

const CA_CNF: &str = r#"
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = DIR
database = DIR/index.txt
new_certs_dir = DIR/newcerts
serial = DIR/serial
crlnumber = DIR/crlnumber
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
default_crl_days = 30
email_in_dn = no
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = dn
[ dn ]
[ leaf_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:CRL_URL
authorityInfoAccess = OCSP;URI:OCSP_URL
[ ocsp_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ ca_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"#;

/// A CA directory usable with `openssl ca`.
pub struct Ca {
    pub dir: PathBuf,
    pub name: String,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub cnf: PathBuf,
}

fn key(dir: &Path, name: &str) -> PathBuf {
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &format!("{name}.key"),
        ],
    );
    dir.join(format!("{name}.key"))
}

impl Ca {
    /// A self-signed root valid for `days` from now.
    pub fn root(base: &Path, name: &str, days: u32, crl_url: &str, ocsp_url: &str) -> Ca {
        let ca = Ca::prepare(base, name, crl_url, ocsp_url);
        key(&ca.dir, "ca");
        openssl(
            &ca.dir,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                &format!("/CN={name}"),
                "-days",
                &days.to_string(),
                "-config",
                "ca.cnf",
                "-extensions",
                "ca_ext",
            ],
        );
        ca
    }

    fn prepare(base: &Path, name: &str, crl_url: &str, ocsp_url: &str) -> Ca {
        let dir = base.join(name.replace(' ', "_"));
        std::fs::create_dir_all(dir.join("newcerts")).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "1000\n").unwrap();
        std::fs::write(dir.join("crlnumber"), "01\n").unwrap();
        let cnf = CA_CNF
            .replace("DIR", dir.to_str().unwrap())
            .replace("CRL_URL", crl_url)
            .replace("OCSP_URL", ocsp_url);
        std::fs::write(dir.join("ca.cnf"), cnf).unwrap();
        Ca {
            cert: dir.join("ca.pem"),
            key: dir.join("ca.key"),
            cnf: dir.join("ca.cnf"),
            name: name.to_string(),
            dir,
        }
    }

    /// Issue a certificate for a new key with `subject_cn`, extensions
    /// `ext` of this CA's config; returns the PEM path. `dates`: explicit
    /// `openssl ca -startdate/-enddate` (YYMMDDHHMMSSZ) instead of `days`.
    pub fn issue(&self, cn: &str, ext: &str, days: u32, dates: Option<(&str, &str)>) -> PathBuf {
        let stem = format!("issued_{}", cn.replace(' ', "_"));
        let k = key(&self.dir, &stem);
        openssl(
            &self.dir,
            &[
                "req",
                "-new",
                "-key",
                k.to_str().unwrap(),
                "-subj",
                &format!("/CN={cn}"),
                "-out",
                &format!("{stem}.csr"),
                "-config",
                "ca.cnf",
            ],
        );
        let days = days.to_string();
        let mut args = vec![
            "ca",
            "-batch",
            "-notext",
            "-config",
            "ca.cnf",
            "-cert",
            "ca.pem",
            "-keyfile",
            "ca.key",
            "-extensions",
            ext,
            "-in",
        ];
        let csr = format!("{stem}.csr");
        let out = format!("{stem}.pem");
        args.push(&csr);
        args.extend(["-out", &out]);
        match dates {
            Some((s, e)) => args.extend(["-startdate", s, "-enddate", e]),
            None => args.extend(["-days", &days]),
        }
        openssl(&self.dir, &args);
        self.dir.join(out)
    }

    /// Add an extension section `[ name ]` with `body` to this CA's config
    /// (for [`Ca::issue`] / [`Ca::sub_ca_with`]), e.g. AIA caIssuers URLs.
    pub fn add_ext_section(&self, name: &str, body: &str) {
        let mut cnf = std::fs::read_to_string(&self.cnf).unwrap();
        cnf.push_str(&format!("\n[ {name} ]\n{body}\n"));
        std::fs::write(&self.cnf, cnf).unwrap();
    }

    /// A subordinate CA (its own `openssl ca` directory) issued by this CA.
    pub fn sub_ca(&self, base: &Path, name: &str, days: u32, crl_url: &str, ocsp_url: &str) -> Ca {
        self.sub_ca_with(base, name, days, crl_url, ocsp_url, "ca_ext")
    }

    /// [`Ca::sub_ca`] with the extension section `ext` of this CA's config.
    pub fn sub_ca_with(
        &self,
        base: &Path,
        name: &str,
        days: u32,
        crl_url: &str,
        ocsp_url: &str,
        ext: &str,
    ) -> Ca {
        let sub = Ca::prepare(base, name, crl_url, ocsp_url);
        let issued = self.issue(name, ext, days, None);
        std::fs::copy(&issued, &sub.cert).unwrap();
        let k = self
            .dir
            .join(format!("issued_{}.key", name.replace(' ', "_")));
        std::fs::copy(k, &sub.key).unwrap();
        sub
    }

    pub fn revoke(&self, cert: &Path, reason: &str) {
        openssl(
            &self.dir,
            &[
                "ca",
                "-config",
                "ca.cnf",
                "-cert",
                "ca.pem",
                "-keyfile",
                "ca.key",
                "-revoke",
                cert.to_str().unwrap(),
                "-crl_reason",
                reason,
            ],
        );
    }

    /// Publish a CRL valid for `hours`; returns (PEM path, DER bytes).
    pub fn crl(&self, hours: u32) -> (PathBuf, Vec<u8>) {
        openssl(
            &self.dir,
            &[
                "ca",
                "-config",
                "ca.cnf",
                "-cert",
                "ca.pem",
                "-keyfile",
                "ca.key",
                "-gencrl",
                "-crlhours",
                &hours.to_string(),
                "-out",
                "crl.pem",
            ],
        );
        openssl(
            &self.dir,
            &[
                "crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der",
            ],
        );
        (
            self.dir.join("crl.pem"),
            std::fs::read(self.dir.join("crl.der")).unwrap(),
        )
    }
}

/// A real `openssl ocsp` responder for `ca`, signing with a delegated
/// responder certificate; killed on drop.
pub struct Responder {
    child: Child,
    pub port: u16,
}

impl Responder {
    /// Serve on `port` (chosen before the leaves were issued, since their AIA
    /// names it). The responder reads the CA index at start.
    pub fn start(ca: &Ca, port: u16) -> Responder {
        let signer = ca.dir.join("issued_OCSP_Responder.pem");
        if !signer.exists() {
            ca.issue("OCSP Responder", "ocsp_ext", 365, None);
        }
        let signer_key = ca.dir.join("issued_OCSP_Responder.key");
        let child = Command::new("openssl")
            .args([
                "ocsp",
                "-port",
                &port.to_string(),
                "-index",
                ca.dir.join("index.txt").to_str().unwrap(),
                "-CA",
                ca.cert.to_str().unwrap(),
                "-rsigner",
                signer.to_str().unwrap(),
                "-rkey",
                signer_key.to_str().unwrap(),
                "-nmin",
                "60",
                "-ignore_err",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start openssl ocsp");
        let r = Responder { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        // Wait for the listening socket without connecting to it: OpenSSL 3.0's
        // responder spins at 100% CPU after a connection closed without a request.
        while !listening(port) {
            assert!(Instant::now() < deadline, "openssl ocsp did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        r
    }
}

/// Whether some socket listens on TCP `port` (from /proc/net/tcp{,6}).
fn listening(port: u16) -> bool {
    let needle = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
        std::fs::read_to_string(f).is_ok_and(|t| {
            t.lines().skip(1).any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.len() > 3 && cols[1].ends_with(&needle) && cols[3] == "0A"
            })
        })
    })
}

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
