//! `Accept-Encoding` negotiation (RFC 9110 §12.5.3) for the cached bodies.
//!
//! Only `gzip` is offered. It is chosen when `gzip` (or its alias `x-gzip`, or
//! `*` when neither is listed) has q > 0; `identity` is always acceptable.
//! Malformed or out-of-range q values count as 0.

use crate::outputs::metrics::q_value;

/// Most list elements looked at (the rest is ignored).
const MAX_ELEMENTS: usize = 64;

/// Does this `Accept-Encoding` header accept a gzip-encoded body?
pub fn accepts_gzip(header: Option<&str>) -> bool {
    let Some(h) = header else {
        return false;
    };
    let mut gzip: Option<f64> = None;
    let mut star: Option<f64> = None;
    for part in h.split(',').take(MAX_ELEMENTS) {
        let mut params = part.split(';');
        let coding = params.next().unwrap_or("").trim();
        let q = q_value(params);
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(gzip.map_or(q, |g: f64| g.max(q)));
        } else if coding == "*" {
            star = Some(star.map_or(q, |s: f64| s.max(q)));
        }
    }
    gzip.or(star).is_some_and(|q| q > 0.0)
}

#[cfg(test)]
mod tests {
    use super::accepts_gzip;

    #[test]
    fn gzip_negotiation() {
        assert!(!accepts_gzip(None));
        assert!(!accepts_gzip(Some("")));
        assert!(!accepts_gzip(Some("identity")));
        assert!(!accepts_gzip(Some("br, deflate")));
        assert!(accepts_gzip(Some("gzip"))); // what Prometheus sends
        assert!(accepts_gzip(Some("gzip, deflate, br")));
        assert!(accepts_gzip(Some("deflate;q=0.5, GZIP;q=0.1")));
        assert!(accepts_gzip(Some("x-gzip")));
        assert!(accepts_gzip(Some("*")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("gzip;q=0, *")));
        assert!(!accepts_gzip(Some("*;q=0")));
        assert!(!accepts_gzip(Some("gzip;q=x")));
        assert!(!accepts_gzip(Some("gzipped")));
    }
}
