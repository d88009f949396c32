//! The plaintext phase of each STARTTLS protocol, per its RFC: SMTP/LMTP
//! (RFC 3207, `EHLO`/`LHLO` then `STARTTLS`), IMAP (RFC 3501/2595, `CAPABILITY`
//! then `STARTTLS`), POP3 (RFC 2595, `CAPA` then `STLS`), FTP (RFC 4217,
//! `AUTH TLS`), LDAP (RFC 4511/4513, the StartTLS extended operation, BER
//! hand-encoded), PostgreSQL (`SSLRequest`), MySQL (the SSL request packet after
//! the server's handshake) and XMPP (RFC 6120, stream header + `<starttls/>`).
//!
//! Reads are bounded: a line is at most [`MAX_LINE`] bytes and the whole
//! plaintext phase at most [`MAX_PLAINTEXT`]. Replies split over TCP writes and
//! multi-line replies are handled. Bytes the server sent after its go-ahead are
//! an injection ([`StartTlsError::Injection`]) and are never carried into TLS:
//! the connection is dropped instead.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::model::target::Protocol;

/// Longest plaintext line accepted (bytes, including CRLF).
pub const MAX_LINE: usize = 4096;
/// Most plaintext bytes read before the TLS handshake.
pub const MAX_PLAINTEXT: usize = 64 * 1024;
/// Client name sent in `EHLO`/`LHLO`.
const CLIENT_NAME: &str = "certvigil";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StartTlsError {
    /// The server refused, did not offer STARTTLS, or spoke something else.
    #[error("{0}")]
    Failed(String),
    /// Plaintext arrived after the go-ahead (response injection).
    #[error("{0} bytes of plaintext followed the STARTTLS go-ahead (possible injection); connection dropped")]
    Injection(usize),
    #[error("connection error during STARTTLS: {0}")]
    Io(String),
}

fn failed(msg: impl Into<String>) -> StartTlsError {
    StartTlsError::Failed(msg.into())
}

/// A plaintext connection with a bounded read buffer.
struct Plain<'a, S> {
    io: &'a mut S,
    buf: Vec<u8>,
    total: usize,
}

impl<'a, S: AsyncRead + AsyncWrite + Unpin> Plain<'a, S> {
    fn new(io: &'a mut S) -> Self {
        Plain {
            io,
            buf: Vec::new(),
            total: 0,
        }
    }

    async fn fill(&mut self) -> Result<(), StartTlsError> {
        if self.total >= MAX_PLAINTEXT {
            return Err(failed(format!(
                "server sent more than {MAX_PLAINTEXT} bytes before TLS"
            )));
        }
        let mut chunk = [0u8; 2048];
        let n = self
            .io
            .read(&mut chunk)
            .await
            .map_err(|e| StartTlsError::Io(e.to_string()))?;
        if n == 0 {
            return Err(failed("server closed the connection during STARTTLS"));
        }
        self.total += n;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// One line without its line ending (CRLF or LF), lossily decoded.
    async fn line(&mut self) -> Result<String, StartTlsError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.buf.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&raw);
                return Ok(text.trim_end_matches(['\r', '\n']).to_string());
            }
            if self.buf.len() > MAX_LINE {
                return Err(failed(format!("line longer than {MAX_LINE} bytes")));
            }
            self.fill().await?;
        }
    }

    async fn exact(&mut self, n: usize) -> Result<Vec<u8>, StartTlsError> {
        while self.buf.len() < n {
            self.fill().await?;
        }
        Ok(self.buf.drain(..n).collect())
    }

    async fn send(&mut self, data: &[u8]) -> Result<(), StartTlsError> {
        self.io
            .write_all(data)
            .await
            .map_err(|e| StartTlsError::Io(e.to_string()))?;
        self.io
            .flush()
            .await
            .map_err(|e| StartTlsError::Io(e.to_string()))
    }

    /// After the go-ahead nothing may be buffered.
    fn finish(self) -> Result<(), StartTlsError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(StartTlsError::Injection(self.buf.len()))
        }
    }

    /// A numeric reply (SMTP, FTP): lines `CODE-text` up to `CODE text`.
    /// Returns the code and the text of every line.
    async fn reply(&mut self) -> Result<(u16, Vec<String>), StartTlsError> {
        let mut lines = Vec::new();
        loop {
            let l = self.line().await?;
            let code = l
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| failed(format!("unexpected reply {:?}", clip(&l))))?;
            let sep = l.as_bytes().get(3).copied();
            lines.push(l.get(4..).unwrap_or("").to_string());
            match sep {
                Some(b'-') => {
                    if lines.len() > 512 {
                        return Err(failed("reply with too many lines"));
                    }
                }
                _ => return Ok((code, lines)),
            }
        }
    }
}

fn clip(s: &str) -> String {
    crate::model::bounded(s, 120)
}

/// Run the plaintext phase of `protocol` on `io`. `domain` is the XMPP stream
/// domain (the server name). Returns when the server said go ahead with TLS.
pub async fn negotiate<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    protocol: Protocol,
    domain: &str,
) -> Result<(), StartTlsError> {
    let mut c = Plain::new(io);
    match protocol {
        Protocol::Smtp | Protocol::Lmtp => smtp(&mut c, protocol == Protocol::Lmtp).await?,
        Protocol::Imap => imap(&mut c).await?,
        Protocol::Pop3 => pop3(&mut c).await?,
        Protocol::Ftp => ftp(&mut c).await?,
        Protocol::Ldap => ldap(&mut c).await?,
        Protocol::Postgres => postgres(&mut c).await?,
        Protocol::Mysql => mysql(&mut c).await?,
        Protocol::Xmpp => xmpp(&mut c, domain).await?,
        _ => {}
    }
    c.finish()
}

async fn smtp<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Plain<'_, S>,
    lmtp: bool,
) -> Result<(), StartTlsError> {
    let (code, _) = c.reply().await?;
    if code != 220 {
        return Err(failed(format!("greeting {code}, expected 220")));
    }
    let hello = if lmtp { "LHLO" } else { "EHLO" };
    c.send(format!("{hello} {CLIENT_NAME}\r\n").as_bytes())
        .await?;
    let (code, lines) = c.reply().await?;
    if code != 250 {
        return Err(failed(format!("{hello} answered {code}, expected 250")));
    }
    let offered = lines.iter().skip(1).any(|l| {
        l.split_whitespace()
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("STARTTLS"))
    });
    if !offered {
        return Err(failed("server does not offer STARTTLS"));
    }
    c.send(b"STARTTLS\r\n").await?;
    let (code, _) = c.reply().await?;
    if code != 220 {
        return Err(failed(format!("STARTTLS answered {code}, expected 220")));
    }
    Ok(())
}

async fn ftp<S: AsyncRead + AsyncWrite + Unpin>(c: &mut Plain<'_, S>) -> Result<(), StartTlsError> {
    let (code, _) = c.reply().await?;
    if code != 220 {
        return Err(failed(format!("greeting {code}, expected 220")));
    }
    c.send(b"AUTH TLS\r\n").await?;
    let (code, _) = c.reply().await?;
    if code != 234 {
        return Err(failed(format!(
            "AUTH TLS answered {code}, expected 234 (TLS not offered)"
        )));
    }
    Ok(())
}

async fn imap<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Plain<'_, S>,
) -> Result<(), StartTlsError> {
    let greeting = c.line().await?;
    if !greeting.to_ascii_uppercase().starts_with("* OK") {
        return Err(failed(format!("unexpected greeting {:?}", clip(&greeting))));
    }
    c.send(b"cv1 CAPABILITY\r\n").await?;
    let mut offered = false;
    loop {
        let l = c.line().await?;
        let upper = l.to_ascii_uppercase();
        if upper.starts_with("* CAPABILITY") {
            offered |= upper.split_whitespace().any(|w| w == "STARTTLS");
        } else if let Some(rest) = upper.strip_prefix("CV1 ") {
            if !rest.starts_with("OK") {
                return Err(failed(format!("CAPABILITY failed: {:?}", clip(&l))));
            }
            break;
        } else if !upper.starts_with("* ") {
            return Err(failed(format!("unexpected line {:?}", clip(&l))));
        }
    }
    if !offered {
        return Err(failed("server does not offer STARTTLS"));
    }
    c.send(b"cv2 STARTTLS\r\n").await?;
    loop {
        let l = c.line().await?;
        let upper = l.to_ascii_uppercase();
        if let Some(rest) = upper.strip_prefix("CV2 ") {
            if rest.starts_with("OK") {
                return Ok(());
            }
            return Err(failed(format!("STARTTLS refused: {:?}", clip(&l))));
        }
        if !upper.starts_with("* ") {
            return Err(failed(format!("unexpected line {:?}", clip(&l))));
        }
    }
}

async fn pop3<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Plain<'_, S>,
) -> Result<(), StartTlsError> {
    let greeting = c.line().await?;
    if !greeting.starts_with("+OK") {
        return Err(failed(format!("unexpected greeting {:?}", clip(&greeting))));
    }
    c.send(b"CAPA\r\n").await?;
    let first = c.line().await?;
    if first.starts_with("+OK") {
        let mut offered = false;
        for _ in 0..512 {
            let l = c.line().await?;
            if l == "." {
                break;
            }
            offered |= l
                .split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case("STLS"));
        }
        if !offered {
            return Err(failed("server does not offer STLS"));
        }
    }
    // A server without CAPA (-ERR) may still support STLS: ask.
    c.send(b"STLS\r\n").await?;
    let l = c.line().await?;
    if l.starts_with("+OK") {
        Ok(())
    } else {
        Err(failed(format!("STLS refused: {:?}", clip(&l))))
    }
}

/// OID of the LDAP StartTLS extended operation.
const LDAP_STARTTLS_OID: &[u8] = b"1.3.6.1.4.1.1466.20037";

/// The StartTLS ExtendedRequest, messageID 1 (RFC 4511 4.12, RFC 4513 3).
pub fn ldap_request() -> Vec<u8> {
    // ExtendedRequest ::= [APPLICATION 23] SEQUENCE { requestName [0] LDAPOID }
    let mut op = vec![0x80, LDAP_STARTTLS_OID.len() as u8];
    op.extend_from_slice(LDAP_STARTTLS_OID);
    let mut body = vec![0x02, 0x01, 0x01, 0x77, op.len() as u8];
    body.extend_from_slice(&op);
    let mut msg = vec![0x30, body.len() as u8];
    msg.extend_from_slice(&body);
    msg
}

/// Read one BER length (definite form, at most 4 length bytes).
async fn ber_len<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Plain<'_, S>,
) -> Result<usize, StartTlsError> {
    let first = c.exact(1).await?[0];
    if first < 0x80 {
        return Ok(first as usize);
    }
    let n = (first & 0x7f) as usize;
    if n == 0 || n > 4 {
        return Err(failed("unsupported BER length in LDAP response"));
    }
    let bytes = c.exact(n).await?;
    Ok(bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize))
}

/// A TLV inside an LDAP response content: (tag, value, rest).
fn tlv(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *data.first()?;
    let first = *data.get(1)?;
    let (len, hdr) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = data.get(2..2 + n)?;
        (
            bytes.iter().fold(0usize, |a, b| (a << 8) | *b as usize),
            2 + n,
        )
    };
    let value = data.get(hdr..hdr.checked_add(len)?)?;
    Some((tag, value, &data[hdr + len..]))
}

async fn ldap<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Plain<'_, S>,
) -> Result<(), StartTlsError> {
    c.send(&ldap_request()).await?;
    let tag = c.exact(1).await?[0];
    if tag != 0x30 {
        return Err(failed("LDAP response is not an LDAPMessage"));
    }
    let len = ber_len(c).await?;
    if len > MAX_LINE {
        return Err(failed("LDAP response too large"));
    }
    let msg = c.exact(len).await?;
    let (t, id, rest) = tlv(&msg).ok_or_else(|| failed("malformed LDAP response"))?;
    if t != 0x02 || id != [1] {
        return Err(failed("LDAP response for another message id"));
    }
    let (t, resp, _) = tlv(rest).ok_or_else(|| failed("malformed LDAP response"))?;
    if t != 0x78 {
        return Err(failed(format!(
            "expected an ExtendedResponse, got tag {t:#04x}"
        )));
    }
    let (t, code, rest) = tlv(resp).ok_or_else(|| failed("malformed LDAP ExtendedResponse"))?;
    if t != 0x0a || code.len() != 1 {
        return Err(failed("malformed LDAP resultCode"));
    }
    if code[0] != 0 {
        let diag = tlv(rest)
            .and_then(|(_, _, r)| tlv(r))
            .map(|(_, d, _)| clip(&String::from_utf8_lossy(d)))
            .unwrap_or_default();
        return Err(failed(format!(
            "StartTLS refused: resultCode {} {diag:?}",
            code[0]
        )));
    }
    Ok(())
}

async fn postgres<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Plain<'_, S>,
) -> Result<(), StartTlsError> {
    // SSLRequest: length 8, code 80877103.
    c.send(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]).await?;
    match c.exact(1).await?[0] {
        b'S' => Ok(()),
        b'N' => Err(failed("server does not offer SSL (answered N)")),
        b => Err(failed(format!("unexpected SSLRequest answer {b:#04x}"))),
    }
}

/// MySQL capability flags.
const CLIENT_PROTOCOL_41: u32 = 0x0200;
const CLIENT_SSL: u32 = 0x0800;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;

async fn mysql<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Plain<'_, S>,
) -> Result<(), StartTlsError> {
    let hdr = c.exact(4).await?;
    let len = hdr[0] as usize | (hdr[1] as usize) << 8 | (hdr[2] as usize) << 16;
    if len > MAX_LINE {
        return Err(failed("MySQL handshake packet too large"));
    }
    let p = c.exact(len).await?;
    match p.first() {
        Some(10) => {}
        Some(0xff) => return Err(failed("MySQL server answered with an error packet")),
        _ => return Err(failed("not a MySQL protocol 10 handshake")),
    }
    // version NUL, conn id (4), auth data (8), filler (1), capabilities low (2).
    let nul = p
        .iter()
        .skip(1)
        .position(|&b| b == 0)
        .ok_or_else(|| failed("malformed MySQL handshake"))?;
    let at = 1 + nul + 1 + 4 + 8 + 1;
    let caps = p
        .get(at..at + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]) as u32)
        .ok_or_else(|| failed("malformed MySQL handshake"))?;
    if caps & CLIENT_SSL == 0 {
        return Err(failed("MySQL server does not offer SSL"));
    }
    if !c.buf.is_empty() {
        return Err(StartTlsError::Injection(c.buf.len()));
    }
    let flags = CLIENT_SSL | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION;
    let mut pkt = vec![32, 0, 0, hdr[3].wrapping_add(1)];
    pkt.extend_from_slice(&flags.to_le_bytes());
    pkt.extend_from_slice(&(16u32 << 20).to_le_bytes());
    pkt.push(45); // utf8mb4_general_ci
    pkt.extend_from_slice(&[0u8; 23]);
    c.send(&pkt).await
}

async fn xmpp<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Plain<'_, S>,
    domain: &str,
) -> Result<(), StartTlsError> {
    let header = format!(
        "<?xml version='1.0'?><stream:stream to='{}' xmlns='jabber:client' \
         xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
        domain.replace(['\'', '<', '>', '&'], "")
    );
    c.send(header.as_bytes()).await?;
    let features = read_until(c, "</stream:features>").await?;
    if !features.contains("<starttls") || !features.contains("urn:ietf:params:xml:ns:xmpp-tls") {
        return Err(failed("server does not offer STARTTLS"));
    }
    c.send(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        .await?;
    // <proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/> or <failure .../>
    loop {
        let start = c.buf.iter().position(|&b| b == b'<');
        if let Some(s) = start {
            if let Some(end) = c.buf[s..].iter().position(|&b| b == b'>') {
                let elem: Vec<u8> = c.buf.drain(..s + end + 1).collect();
                let elem = String::from_utf8_lossy(&elem).to_string();
                if elem.contains("<proceed") {
                    if !elem.trim_end().ends_with("/>") {
                        // <proceed ...></proceed>
                        let close = "</proceed>";
                        while c.buf.len() < close.len() {
                            c.fill().await?;
                        }
                        if !c.buf.starts_with(close.as_bytes()) {
                            return Err(failed("malformed <proceed> element"));
                        }
                        c.buf.drain(..close.len());
                    }
                    return Ok(());
                }
                if elem.contains("<failure") {
                    return Err(failed("server refused STARTTLS (<failure/>)"));
                }
                return Err(failed(format!("unexpected element {:?}", clip(&elem))));
            }
        }
        if c.buf.len() > MAX_LINE {
            return Err(failed("element longer than the line limit"));
        }
        c.fill().await?;
    }
}

/// Read until `marker` has been received; returns everything up to and
/// including it (lossy), leaving what follows buffered.
async fn read_until<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Plain<'_, S>,
    marker: &str,
) -> Result<String, StartTlsError> {
    loop {
        if let Some(pos) = find(&c.buf, marker.as_bytes()) {
            let head: Vec<u8> = c.buf.drain(..pos + marker.len()).collect();
            return Ok(String::from_utf8_lossy(&head).to_string());
        }
        c.fill().await?;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    /// Run `negotiate` against a scripted server: `(expect_from_client, send)` steps.
    async fn run(
        protocol: Protocol,
        script: Vec<(&'static [u8], Vec<&'static [u8]>)>,
    ) -> Result<(), StartTlsError> {
        let (mut client, mut server) = duplex(1 << 16);
        let srv = tokio::spawn(async move {
            for (expect, sends) in script {
                if !expect.is_empty() {
                    let mut got = vec![0u8; expect.len()];
                    if server.read_exact(&mut got).await.is_err() {
                        return;
                    }
                    assert_eq!(
                        String::from_utf8_lossy(&got),
                        String::from_utf8_lossy(expect)
                    );
                }
                for s in sends {
                    // Separate writes: replies split over TCP segments.
                    if server.write_all(s).await.is_err() {
                        return;
                    }
                    tokio::task::yield_now().await;
                }
            }
            // Keep the pipe open until the client is done.
            let mut sink = Vec::new();
            let _ = server.read_to_end(&mut sink).await;
        });
        let r = negotiate(&mut client, protocol, "example.com").await;
        drop(client);
        let _ = srv.await;
        r
    }

    #[tokio::test]
    async fn smtp_multiline_split_and_last_line_starttls() {
        let r = run(
            Protocol::Smtp,
            vec![
                (
                    b"",
                    vec![
                        b"220-mail.example ESMTP\r\n220-",
                        b"second line\r\n220 ready\r\n",
                    ],
                ),
                (
                    b"EHLO certvigil\r\n",
                    vec![
                        b"250-mail.example\r\n250-PIPELINING\r\n",
                        b"250 STARTTLS\r\n",
                    ],
                ),
                (b"STARTTLS\r\n", vec![b"220 go ahead\r\n"]),
            ],
        )
        .await;
        assert_eq!(r, Ok(()));
    }

    #[tokio::test]
    async fn smtp_not_offered_and_injection() {
        let r = run(
            Protocol::Smtp,
            vec![
                (b"", vec![b"220 hi\r\n"]),
                (b"EHLO certvigil\r\n", vec![b"250-mail\r\n250 SIZE 100\r\n"]),
            ],
        )
        .await;
        assert!(matches!(r, Err(StartTlsError::Failed(m)) if m.contains("does not offer")));
        let r = run(
            Protocol::Smtp,
            vec![
                (b"", vec![b"220 hi\r\n"]),
                (b"EHLO certvigil\r\n", vec![b"250-mail\r\n250 STARTTLS\r\n"]),
                (b"STARTTLS\r\n", vec![b"220 go ahead\r\n250 injected\r\n"]),
            ],
        )
        .await;
        assert_eq!(r, Err(StartTlsError::Injection(14)));
    }

    #[tokio::test]
    async fn imap_pop3_ftp() {
        let r = run(
            Protocol::Imap,
            vec![
                (b"", vec![b"* OK [CAPABILITY IMAP4rev1] ready\r\n"]),
                (
                    b"cv1 CAPABILITY\r\n",
                    vec![b"* CAPABILITY IMAP4rev1 STARTTLS\r\ncv1 OK done\r\n"],
                ),
                (b"cv2 STARTTLS\r\n", vec![b"cv2 OK begin\r\n"]),
            ],
        )
        .await;
        assert_eq!(r, Ok(()));
        let r = run(
            Protocol::Pop3,
            vec![
                (b"", vec![b"+OK ready\r\n"]),
                (b"CAPA\r\n", vec![b"+OK\r\nUSER\r\nSTLS\r\n.\r\n"]),
                (b"STLS\r\n", vec![b"+OK begin\r\n"]),
            ],
        )
        .await;
        assert_eq!(r, Ok(()));
        let r = run(
            Protocol::Ftp,
            vec![
                (b"", vec![b"220 ftp\r\n"]),
                (b"AUTH TLS\r\n", vec![b"530 no\r\n"]),
            ],
        )
        .await;
        assert!(matches!(r, Err(StartTlsError::Failed(_))));
    }

    #[tokio::test]
    async fn ldap_postgres_mysql_xmpp() {
        let req: &'static [u8] = Box::leak(ldap_request().into_boxed_slice());
        // LDAPMessage { 1, ExtendedResponse { success, "", "" } }
        let ok: &'static [u8] = &[
            0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
        ];
        assert_eq!(
            run(Protocol::Ldap, vec![(req, vec![&ok[..3], &ok[3..]])]).await,
            Ok(())
        );
        let refused: &'static [u8] = &[
            0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00,
        ];
        assert!(matches!(
            run(Protocol::Ldap, vec![(req, vec![refused])]).await,
            Err(StartTlsError::Failed(_))
        ));

        let ssl: &'static [u8] = &[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
        assert_eq!(
            run(Protocol::Postgres, vec![(ssl, vec![b"S"])]).await,
            Ok(())
        );
        assert_eq!(
            run(Protocol::Postgres, vec![(ssl, vec![b"SX"])]).await,
            Err(StartTlsError::Injection(1))
        );
        assert!(matches!(
            run(Protocol::Postgres, vec![(ssl, vec![b"N"])]).await,
            Err(StartTlsError::Failed(_))
        ));

        let mut hs = vec![10u8];
        hs.extend_from_slice(b"8.0.0\0");
        hs.extend_from_slice(&[1, 0, 0, 0]);
        hs.extend_from_slice(&[0x41; 8]);
        hs.push(0);
        hs.extend_from_slice(&((CLIENT_SSL | CLIENT_PROTOCOL_41) as u16).to_le_bytes());
        hs.extend_from_slice(&[45, 2, 0]);
        let mut pkt = vec![hs.len() as u8, 0, 0, 0];
        pkt.extend_from_slice(&hs);
        let pkt: &'static [u8] = Box::leak(pkt.into_boxed_slice());
        assert_eq!(run(Protocol::Mysql, vec![(b"", vec![pkt])]).await, Ok(()));

        let r = run(
            Protocol::Xmpp,
            vec![
                (b"", vec![b"<?xml version='1.0'?><stream:stream from='example.com' version='1.0'>"]),
                (b"", vec![b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>", b"</stream:features>"]),
                (b"", vec![b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"]),
            ],
        )
        .await;
        assert_eq!(r, Ok(()));
    }
}
