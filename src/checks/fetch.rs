//! A minimal, bounded HTTP/1.1 client for CRL distribution points and OCSP
//! responders (both plain `http://` in practice: RFC 5280 §4.2.1.13, RFC 6960
//! §A.1). hyper's connection-level client over a tokio `TcpStream`; one
//! connection per request (`Connection: close`).
//!
//! Limits: the whole exchange (connect, request, response, body) runs under one
//! timeout; bodies larger than the cap are rejected while streaming; at most
//! [`MAX_REDIRECTS`] redirects are followed, only to `http://` URLs; no
//! cookies, no proxies, no `https`. Only URLs the configuration or a
//! certificate names are ever fetched, and never when offline (the caller
//! decides; see `checks::revocation`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Redirects followed before giving up (a loop ends here).
pub const MAX_REDIRECTS: usize = 3;
/// Longest URL accepted (bytes).
pub const MAX_URL_LEN: usize = 2048;

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The whole exchange did not finish within the timeout.
    Timeout(Duration),
    /// Anything else (connection refused, bad status, too large, bad URL, ...).
    Failed(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Timeout(d) => write!(f, "timed out after {}", humantime(*d)),
            FetchError::Failed(m) => f.write_str(m),
        }
    }
}

fn humantime(d: Duration) -> String {
    crate::config::format_duration(d)
}

/// A parsed `http://host[:port]/path?query` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host as written (IPv6 literals keep their brackets).
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl HttpUrl {
    /// Parse a plain-HTTP URL; anything else (https, ldap, userinfo, fragments
    /// only, control characters) is an error with a short explanation.
    pub fn parse(url: &str) -> Result<HttpUrl, String> {
        if url.len() > MAX_URL_LEN {
            return Err("URL too long".into());
        }
        if url.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err("URL contains spaces or control characters".into());
        }
        let lower = url.to_ascii_lowercase();
        let rest = if lower.starts_with("http://") {
            &url[7..]
        } else {
            let scheme = url.split(':').next().unwrap_or("");
            return Err(format!(
                "unsupported URL scheme {:?} (only http:// is fetched)",
                crate::model::bounded(scheme, 16)
            ));
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = path.split('#').next().unwrap_or("/");
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        if authority.contains('@') {
            return Err("URLs with user information are not fetched".into());
        }
        let (host, port) = if let Some(r) = authority.strip_prefix('[') {
            let end = r.find(']').ok_or("bad IPv6 literal")?;
            let host = &authority[..end + 2];
            let after = &r[end + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse::<u16>().map_err(|_| "bad port")?,
                None if after.is_empty() => 80,
                None => return Err("bad authority".into()),
            };
            (host.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse::<u16>().map_err(|_| "bad port")?),
                None => (authority.to_string(), 80),
            }
        };
        if host.is_empty() || host == "[]" {
            return Err("URL has no host".into());
        }
        Ok(HttpUrl { host, port, path })
    }

    /// `host:port` (the key for per-responder concurrency limits).
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn connect_target(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    fn host_header(&self) -> String {
        if self.port == 80 {
            self.host.clone()
        } else {
            self.authority()
        }
    }

    /// Resolve a `Location` header against this URL.
    fn join(&self, location: &str) -> Result<HttpUrl, String> {
        if location.to_ascii_lowercase().starts_with("http://") {
            return HttpUrl::parse(location);
        }
        if location.contains("://") {
            return HttpUrl::parse(location);
        }
        if location.starts_with('/') {
            let mut u = self.clone();
            u.path = location.to_string();
            return Ok(u);
        }
        let base = match self.path.rfind('/') {
            Some(i) => &self.path[..=i],
            None => "/",
        };
        let mut u = self.clone();
        u.path = format!("{base}{location}");
        Ok(u)
    }
}

/// A conditional-request validator remembered from an earlier response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What a fetch produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// 200 with this body and the validators to use next time.
    Body(Bytes, Validators),
    /// 304: the cached copy is still current.
    NotModified,
}

/// The HTTP client: limits plus a request counter (for logs and tests).
#[derive(Debug)]
pub struct Fetcher {
    pub timeout: Duration,
    pub max_body: usize,
    requests: AtomicU64,
}

impl Fetcher {
    pub fn new(timeout: Duration, max_body: usize) -> Self {
        Fetcher {
            timeout,
            max_body,
            requests: AtomicU64::new(0),
        }
    }

    /// HTTP requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// GET `url` (conditional when `validators` are given).
    pub async fn get(&self, url: &str, validators: &Validators) -> Result<Fetched, FetchError> {
        self.exchange(url, None, validators).await
    }

    /// Unconditional GET of `url` (AIA caIssuers, OCSP GET): the response body.
    pub async fn get_body(&self, url: &str) -> Result<Bytes, FetchError> {
        match self.exchange(url, None, &Validators::default()).await? {
            Fetched::Body(b, _) => Ok(b),
            Fetched::NotModified => Err(FetchError::Failed(
                "unexpected 304 Not Modified to an unconditional GET".into(),
            )),
        }
    }

    /// POST `body` with `content_type` (OCSP) and return the response body.
    pub async fn post(
        &self,
        url: &str,
        content_type: &'static str,
        body: Vec<u8>,
    ) -> Result<Bytes, FetchError> {
        match self
            .exchange(url, Some((content_type, body)), &Validators::default())
            .await?
        {
            Fetched::Body(b, _) => Ok(b),
            Fetched::NotModified => Err(FetchError::Failed(
                "unexpected 304 Not Modified to a POST".into(),
            )),
        }
    }

    async fn exchange(
        &self,
        url: &str,
        post: Option<(&'static str, Vec<u8>)>,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        let fut = async {
            let mut target = HttpUrl::parse(url).map_err(FetchError::Failed)?;
            let mut redirects = 0usize;
            loop {
                let resp = self.once(&target, post.as_ref(), validators).await?;
                match resp {
                    Once::Redirect(loc) => {
                        redirects += 1;
                        if redirects > MAX_REDIRECTS {
                            return Err(FetchError::Failed(format!(
                                "too many redirects (more than {MAX_REDIRECTS})"
                            )));
                        }
                        target = target
                            .join(&loc)
                            .map_err(|e| FetchError::Failed(format!("bad redirect target: {e}")))?;
                    }
                    Once::Done(f) => return Ok(f),
                }
            }
        };
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(self.timeout)),
        }
    }

    async fn once(
        &self,
        url: &HttpUrl,
        post: Option<&(&'static str, Vec<u8>)>,
        validators: &Validators,
    ) -> Result<Once, FetchError> {
        let fail = |m: String| FetchError::Failed(m);
        self.requests.fetch_add(1, Ordering::Relaxed);
        let stream = TcpStream::connect(url.connect_target())
            .await
            .map_err(|e| fail(format!("cannot connect to {}: {e}", url.authority())))?;
        let _ = stream.set_nodelay(true);
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| {
                fail(format!(
                    "HTTP handshake with {} failed: {e}",
                    url.authority()
                ))
            })?;
        // The connection task ends with the exchange (or when dropped on timeout).
        let conn_task = tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut builder = Request::builder()
            .uri(url.path.as_str())
            .header(hyper::header::HOST, url.host_header())
            .header(
                hyper::header::USER_AGENT,
                concat!("certvigil/", env!("CARGO_PKG_VERSION")),
            )
            .header(hyper::header::CONNECTION, "close");
        let body = match post {
            Some((ct, b)) => {
                builder = builder
                    .method(Method::POST)
                    .header(hyper::header::CONTENT_TYPE, *ct);
                Full::new(Bytes::from(b.clone()))
            }
            None => {
                builder = builder.method(Method::GET);
                if let Some(etag) = &validators.etag {
                    builder = builder.header(hyper::header::IF_NONE_MATCH, etag.as_str());
                }
                if let Some(lm) = &validators.last_modified {
                    builder = builder.header(hyper::header::IF_MODIFIED_SINCE, lm.as_str());
                }
                Full::new(Bytes::new())
            }
        };
        let req = builder
            .body(body)
            .map_err(|e| fail(format!("cannot build request: {e}")))?;
        let result = async {
            let resp = send
                .send_request(req)
                .await
                .map_err(|e| fail(format!("HTTP request to {} failed: {e}", url.authority())))?;
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let loc = resp
                    .headers()
                    .get(hyper::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| fail(format!("HTTP {status} without a Location header")))?;
                return Ok(Once::Redirect(loc.to_string()));
            }
            if status == StatusCode::NOT_MODIFIED && post.is_none() {
                return Ok(Once::Done(Fetched::NotModified));
            }
            if status != StatusCode::OK {
                return Err(fail(format!("HTTP status {}", status.as_u16())));
            }
            let header = |name: hyper::header::HeaderName| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(|s| crate::model::bounded(s, 256))
            };
            let v = Validators {
                etag: header(hyper::header::ETAG),
                last_modified: header(hyper::header::LAST_MODIFIED),
            };
            if let Some(len) = resp
                .headers()
                .get(hyper::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.parse::<u64>().ok())
            {
                if len > self.max_body as u64 {
                    return Err(fail(format!(
                        "response of {len} bytes is larger than the limit of {} bytes",
                        self.max_body
                    )));
                }
            }
            let body = Limited::new(resp.into_body(), self.max_body)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        fail(format!(
                            "response body larger than the limit of {} bytes",
                            self.max_body
                        ))
                    } else {
                        fail(format!("reading the response body failed: {e}"))
                    }
                })?
                .to_bytes();
            Ok(Once::Done(Fetched::Body(body, v)))
        }
        .await;
        conn_task.abort();
        result
    }
}

enum Once {
    Redirect(String),
    Done(Fetched),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = HttpUrl::parse("http://crl.example.com/ca.crl").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("crl.example.com", 80, "/ca.crl")
        );
        let u = HttpUrl::parse("HTTP://127.0.0.1:8080").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8080, "/")
        );
        let u = HttpUrl::parse("http://[::1]:81/a?b=c#frag").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("[::1]", 81, "/a?b=c")
        );
        assert!(HttpUrl::parse("https://x/").is_err());
        assert!(HttpUrl::parse("ldap://x/cn=foo").is_err());
        assert!(HttpUrl::parse("http://u:p@x/").is_err());
        assert!(HttpUrl::parse("http://x:99999/").is_err());
        assert!(HttpUrl::parse("http:///x").is_err());
        assert!(HttpUrl::parse("http://x/a b").is_err());
        let base = HttpUrl::parse("http://h:1/a/b.crl").unwrap();
        assert_eq!(base.join("c.crl").unwrap().path, "/a/c.crl");
        assert_eq!(base.join("/d").unwrap().path, "/d");
        assert_eq!(base.join("http://o/e").unwrap().host, "o");
    }
}
