//! Helpers of the TLS endpoint tests: a test PKI (root → intermediate → leaves
//! with SANs, through `openssl ca`), real `openssl s_server` peers on 127.0.0.1
//! (killed on drop), and a scripted plaintext peer that speaks one STARTTLS
//! protocol's plaintext phase (or misbehaves on purpose) and then splices the
//! socket to an s_server.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support_pki::{free_port, openssl, Ca};

/// Root, intermediate and leaves (cert PEM, key) for the endpoint tests.
pub struct Pki {
    pub root: Ca,
    pub inter: Ca,
}

pub struct Leaf {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Pki {
    pub fn new(base: &Path) -> Pki {
        let root = Ca::root(
            base,
            "Endpoint Root",
            3650,
            "http://127.0.0.1:9/crl",
            "http://127.0.0.1:9/ocsp",
        );
        let inter = root.sub_ca(
            base,
            "Endpoint Inter",
            1825,
            "http://127.0.0.1:9/crl",
            "http://127.0.0.1:9/ocsp",
        );
        Pki { root, inter }
    }

    /// A leaf issued by the intermediate with `san` (e.g. `DNS:a.test,IP:127.0.0.1`).
    pub fn leaf(&self, cn: &str, san: &str, dates: Option<(&str, &str)>) -> Leaf {
        let ext = format!("ext_{}", cn.replace(['.', ' ', '-'], "_"));
        self.inter.add_ext_section(
            &ext,
            &format!(
                "basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n\
                 extendedKeyUsage = serverAuth,clientAuth\nsubjectAltName = {san}\n\
                 subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid"
            ),
        );
        let cert = self.inter.issue(cn, &ext, 90, dates);
        let key = self
            .inter
            .dir
            .join(format!("issued_{}.key", cn.replace(' ', "_")));
        Leaf { cert, key }
    }

    /// A DER OCSP response "good" for `leaf`, signed by the intermediate.
    pub fn ocsp_response(&self, leaf: &Leaf, out: &Path) {
        let d = &self.inter.dir;
        openssl(
            d,
            &[
                "ocsp",
                "-index",
                "index.txt",
                "-rsigner",
                "ca.pem",
                "-rkey",
                "ca.key",
                "-CA",
                "ca.pem",
                "-issuer",
                "ca.pem",
                "-cert",
                leaf.cert.to_str().unwrap(),
                "-respout",
                out.to_str().unwrap(),
                "-ndays",
                "1",
            ],
        );
    }
}

/// A running `openssl s_server -www` (killed on drop).
pub struct SServer {
    pub port: u16,
    child: Child,
}

impl SServer {
    /// Serve `leaf` with the intermediate as its chain, plus `extra` arguments.
    pub fn start(pki: &Pki, leaf: &Leaf, extra: &[&str]) -> SServer {
        let port = free_port();
        let mut args: Vec<String> = vec![
            "s_server".into(),
            "-accept".into(),
            format!("127.0.0.1:{port}"),
            "-cert".into(),
            leaf.cert.display().to_string(),
            "-key".into(),
            leaf.key.display().to_string(),
            "-cert_chain".into(),
            pki.inter.cert.display().to_string(),
            "-www".into(),
            "-quiet".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = Command::new("openssl")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn openssl s_server");
        wait_listening(port);
        SServer { port, child }
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until 127.0.0.1:port accepts (bounded number of attempts).
pub fn wait_listening(port: u16) {
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("nothing listens on 127.0.0.1:{port}");
}

/// How the scripted peer behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Speak the protocol, say go ahead, splice to the TLS server; replies are
    /// split over two TCP writes.
    Normal,
    /// [`Mode::Normal`] with every reply in one write (for `openssl s_client`,
    /// which reads some replies with a single read).
    Unsplit,
    /// Do not offer STARTTLS (capabilities without it, or a "no" answer).
    NotOffered,
    /// Offer it, then refuse the STARTTLS command.
    Refuse,
    /// Send extra plaintext right after the go-ahead.
    Inject,
    /// Accept and never say anything.
    Silent,
    /// Implicit TLS port that closes after reading the ClientHello.
    CloseMidHandshake,
}

/// A scripted plaintext peer on 127.0.0.1 (threads; lives as long as the test).
pub struct Peer {
    pub port: u16,
}

impl Peer {
    /// `proto`: smtp, lmtp, imap, pop3, ftp, ldap, postgres, mysql, xmpp
    /// (anything for `CloseMidHandshake`/`Silent`); `tls_port`: the s_server.
    pub fn start(proto: &'static str, mode: Mode, tls_port: u16) -> Peer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                std::thread::spawn(move || {
                    let _ = serve(s, proto, mode, tls_port);
                });
            }
        });
        Peer { port }
    }
}

struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
    split: bool,
}

impl Conn {
    fn line(&mut self) -> std::io::Result<String> {
        loop {
            if let Some(p) = self.buf.iter().position(|&b| b == b'\n') {
                let l: Vec<u8> = self.buf.drain(..=p).collect();
                return Ok(String::from_utf8_lossy(&l).trim_end().to_string());
            }
            self.more()?;
        }
    }
    fn more(&mut self) -> std::io::Result<()> {
        let mut b = [0u8; 4096];
        let n = self.s.read(&mut b)?;
        if n == 0 {
            return Err(std::io::Error::other("eof"));
        }
        self.buf.extend_from_slice(&b[..n]);
        Ok(())
    }
    fn until(&mut self, marker: &[u8]) -> std::io::Result<()> {
        loop {
            if let Some(p) = self.buf.windows(marker.len()).position(|w| w == marker) {
                self.buf.drain(..p + marker.len());
                return Ok(());
            }
            self.more()?;
        }
    }
    fn exact(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        while self.buf.len() < n {
            self.more()?;
        }
        Ok(self.buf.drain(..n).collect())
    }
    /// One write (the go-ahead and anything injected after it travel together,
    /// as in a real injection; `s_client` also expects the go-ahead in one read).
    fn send1(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.s.write_all(data)?;
        self.s.flush()
    }
    /// Write in two parts (greetings split over TCP writes).
    fn send(&mut self, data: &[u8]) -> std::io::Result<()> {
        if !self.split {
            return self.send1(data);
        }
        let mid = data.len() / 2;
        self.s.write_all(&data[..mid])?;
        self.s.flush()?;
        std::thread::sleep(Duration::from_millis(2));
        self.s.write_all(&data[mid..])?;
        self.s.flush()
    }
}

fn serve(s: TcpStream, proto: &str, mode: Mode, tls_port: u16) -> std::io::Result<()> {
    let mut c = Conn {
        s,
        buf: Vec::new(),
        split: mode != Mode::Unsplit,
    };
    if mode == Mode::Silent {
        std::thread::sleep(Duration::from_secs(30));
        return Ok(());
    }
    if mode == Mode::CloseMidHandshake {
        let _ = c.exact(5);
        return Ok(());
    }
    let offered = mode != Mode::NotOffered;
    let go = mode != Mode::Refuse;
    let inject: &[u8] = if mode == Mode::Inject {
        b"250 INJECTED\r\n"
    } else {
        b""
    };
    match proto {
        "smtp" | "lmtp" => {
            c.send(b"220-mail.test ESMTP ready\r\n220-a second greeting line\r\n220 end\r\n")?;
            let _ehlo = c.line()?;
            let caps: &[u8] = if offered {
                b"250-mail.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 STARTTLS\r\n"
            } else {
                b"250-mail.test\r\n250 SIZE 1000\r\n"
            };
            c.send(caps)?;
            let _st = c.line()?;
            if !go {
                return c.send(b"454 TLS not available\r\n");
            }
            c.send1(&[b"220 go ahead\r\n" as &[u8], inject].concat())?;
        }
        "imap" => {
            c.send(b"* OK IMAP4rev1 ready\r\n")?;
            let l = c.line()?;
            let tag = l.split_whitespace().next().unwrap_or(".").to_string();
            let mut tag2 = tag.clone();
            if l.to_ascii_uppercase().contains("CAPABILITY") {
                let caps = if offered {
                    "IMAP4rev1 STARTTLS LOGINDISABLED"
                } else {
                    "IMAP4rev1"
                };
                c.send(format!("* CAPABILITY {caps}\r\n{tag} OK done\r\n").as_bytes())?;
                let l2 = c.line()?;
                tag2 = l2.split_whitespace().next().unwrap_or(".").to_string();
            }
            if !go || !offered {
                return c.send(format!("{tag2} BAD no\r\n").as_bytes());
            }
            c.send1(&[format!("{tag2} OK begin TLS\r\n").as_bytes(), inject].concat())?;
        }
        "pop3" => {
            c.send(b"+OK POP3 ready\r\n")?;
            let mut l = c.line()?;
            if l.eq_ignore_ascii_case("CAPA") {
                let caps: &[u8] = if offered {
                    b"+OK\r\nUSER\r\nSTLS\r\n.\r\n"
                } else {
                    b"+OK\r\nUSER\r\n.\r\n"
                };
                c.send(caps)?;
                if !offered {
                    return Ok(());
                }
                l = c.line()?;
            }
            let _ = l;
            if !go || !offered {
                return c.send(b"-ERR no\r\n");
            }
            c.send1(&[b"+OK begin TLS\r\n" as &[u8], inject].concat())?;
        }
        "ftp" => {
            c.send(b"220-FTP ready\r\n220 welcome\r\n")?;
            let _auth = c.line()?;
            if !go || !offered {
                return c.send(b"504 not available\r\n");
            }
            c.send1(&[b"234 AUTH TLS OK\r\n" as &[u8], inject].concat())?;
        }
        "ldap" => {
            let hdr = c.exact(2)?;
            let _ = c.exact(hdr[1] as usize)?;
            let code = if go && offered { 0u8 } else { 2u8 };
            let resp = [
                0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, code, 0x04, 0x00, 0x04, 0x00,
            ];
            c.send1(&[&resp[..], if code == 0 { inject } else { b"" }].concat())?;
            if code != 0 {
                return Ok(());
            }
        }
        "postgres" => {
            let _ = c.exact(8)?;
            if !go || !offered {
                return c.send(b"N");
            }
            c.s.write_all(&[b"S" as &[u8], inject].concat())?;
        }
        "mysql" => {
            let caps: u16 = if offered {
                0x0800 | 0x0200 | 0x8000
            } else {
                0x0200 | 0x8000
            };
            let mut hs = vec![10u8];
            hs.extend_from_slice(b"8.0.36-test\0");
            hs.extend_from_slice(&[7, 0, 0, 0]);
            hs.extend_from_slice(b"abcdefgh");
            hs.push(0);
            hs.extend_from_slice(&caps.to_le_bytes());
            hs.push(45);
            hs.extend_from_slice(&[2, 0]);
            hs.extend_from_slice(&[0xff, 0x01]);
            hs.push(21);
            hs.extend_from_slice(&[0u8; 10]);
            hs.extend_from_slice(b"ijklmnopqrst\0");
            hs.extend_from_slice(b"mysql_native_password\0");
            let mut pkt = vec![hs.len() as u8, 0, 0, 0];
            pkt.extend_from_slice(&hs);
            pkt.extend_from_slice(inject);
            c.send1(&pkt)?;
            if !offered {
                return Ok(());
            }
            let _ssl_request = c.exact(36)?;
        }
        "xmpp" => {
            c.until(b"<stream:stream")?;
            c.until(b">")?;
            let features = if offered {
                "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>"
            } else {
                "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></stream:features>"
            };
            c.send(
                format!(
                    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
                     xmlns:stream='http://etherx.jabber.org/streams' id='1' from='localhost' version='1.0'>{features}"
                )
                .as_bytes(),
            )?;
            if !offered {
                return Ok(());
            }
            c.until(b"<starttls")?;
            c.until(b">")?;
            if !go {
                return c
                    .send(b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>");
            }
            c.send1(
                &[
                    b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" as &[u8],
                    inject,
                ]
                .concat(),
            )?;
        }
        other => panic!("unknown protocol {other}"),
    }
    splice(c, tls_port)
}

/// Copy both ways between the client and the TLS server until either closes.
/// Bytes the client sent after the go-ahead that are already buffered go first.
fn splice(c: Conn, tls_port: u16) -> std::io::Result<()> {
    let mut up = TcpStream::connect(("127.0.0.1", tls_port))?;
    up.write_all(&c.buf)?;
    let mut down = c.s;
    let mut up2 = up.try_clone()?;
    let mut down2 = down.try_clone()?;
    let t = std::thread::spawn(move || {
        let _ = std::io::copy(&mut up2, &mut down2);
        let _ = down2.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut down, &mut up);
    let _ = up.shutdown(std::net::Shutdown::Write);
    let _ = t.join();
    Ok(())
}
