//! Structural sniffing of binary (DER/BER) content: does it look like an X.509
//! certificate, a PKCS#12 `PFX`, or neither? Only the first few headers are
//! read; nothing is decoded in depth (that is `x509`'s and `pkcs12`'s job).

/// What binary content looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DerKind {
    /// `SEQUENCE { SEQUENCE (tbsCertificate) ... }`.
    Certificate,
    /// `SEQUENCE { INTEGER 3, SEQUENCE { OID pkcs7-data | pkcs7-signedData, ... } ... }`.
    Pkcs12,
    /// Anything else.
    Unknown,
}

/// DER content of the OID 1.2.840.113549.1.7 (PKCS#7 content types), without the last arc.
const PKCS7_PREFIX: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07];

/// Classify `data` by its leading structure.
pub fn sniff(data: &[u8]) -> DerKind {
    if looks_like_pkcs12(data) {
        DerKind::Pkcs12
    } else if looks_like_certificate(data) {
        DerKind::Certificate
    } else {
        DerKind::Unknown
    }
}

/// `SEQUENCE { INTEGER 3, SEQUENCE { OID 1.2.840.113549.1.7.{1,2} ...`; the outer
/// lengths may be BER-indefinite (some Java tools write that).
pub fn looks_like_pkcs12(data: &[u8]) -> bool {
    let Some((0x30, _, rest)) = header(data) else {
        return false;
    };
    let Some((0x02, Some(1), rest)) = header(rest) else {
        return false;
    };
    if rest.first() != Some(&3) {
        return false;
    }
    let Some((0x30, _, rest)) = header(&rest[1..]) else {
        return false;
    };
    let Some((0x06, Some(9), rest)) = header(rest) else {
        return false;
    };
    rest.len() >= 9 && rest[..8] == *PKCS7_PREFIX && matches!(rest[8], 1 | 2)
}

/// `SEQUENCE { SEQUENCE { ...` with definite lengths that fit the input's shape
/// closely enough (the outer length may exceed the data: that is a truncated
/// certificate, reported later as bad DER).
pub fn looks_like_certificate(data: &[u8]) -> bool {
    let Some((0x30, Some(_), rest)) = header(data) else {
        return false;
    };
    matches!(header(rest), Some((0x30, Some(_), _)))
}

/// Parse one tag + length header (single-byte tags only).
/// Returns `(tag, definite length or None for indefinite, rest after the header)`.
pub fn header(data: &[u8]) -> Option<(u8, Option<usize>, &[u8])> {
    let (&tag, rest) = data.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // multi-byte tag: not what we sniff for
    }
    let (&first, rest) = rest.split_first()?;
    if first < 0x80 {
        return Some((tag, Some(usize::from(first)), rest));
    }
    if first == 0x80 {
        return Some((tag, None, rest));
    }
    let n = usize::from(first & 0x7f);
    if n > 4 || rest.len() < n {
        return None;
    }
    let len = rest[..n]
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    Some((tag, Some(len), &rest[n..]))
}

/// Length of the first complete TLV in `data` (definite lengths only), if it fits.
pub fn first_tlv_len(data: &[u8]) -> Option<usize> {
    let (_, len, rest) = header(data)?;
    let len = len?;
    let header_len = data.len() - rest.len();
    let total = header_len.checked_add(len)?;
    (total <= data.len()).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_certificate_pkcs12_and_garbage() {
        // SEQUENCE(len 6) { SEQUENCE(len 4) {...} }
        assert_eq!(
            sniff(&[0x30, 0x06, 0x30, 0x04, 0x02, 0x01, 0x00, 0x00]),
            DerKind::Certificate
        );
        // Long-form lengths.
        assert_eq!(
            sniff(&[0x30, 0x82, 0x01, 0x00, 0x30, 0x81, 0xf0]),
            DerKind::Certificate
        );
        let mut pfx = vec![0x30, 0x80, 0x02, 0x01, 0x03, 0x30, 0x82, 0x01, 0x00];
        pfx.extend_from_slice(&[0x06, 0x09]);
        pfx.extend_from_slice(PKCS7_PREFIX);
        pfx.push(0x01);
        assert_eq!(sniff(&pfx), DerKind::Pkcs12);
        // Version 2 is not a PFX we know.
        let mut v2 = pfx.clone();
        v2[4] = 2;
        assert_eq!(sniff(&v2), DerKind::Unknown);
        // Truncations of a PFX header are never PKCS#12 and never panic.
        for n in 0..pfx.len() {
            assert_ne!(sniff(&pfx[..n]), DerKind::Pkcs12);
        }
        assert_eq!(sniff(b""), DerKind::Unknown);
        assert_eq!(sniff(b"hello"), DerKind::Unknown);
        assert_eq!(sniff(&[0x30]), DerKind::Unknown);
        assert_eq!(sniff(&[0x30, 0x85, 1, 2, 3, 4, 5]), DerKind::Unknown);
        assert_eq!(sniff(&[0x30, 0x03, 0x02, 0x01, 0x05]), DerKind::Unknown);
    }

    #[test]
    fn first_tlv_len_bounds() {
        assert_eq!(first_tlv_len(&[0x30, 0x01, 0x00, 0xff]), Some(3));
        assert_eq!(first_tlv_len(&[0x30, 0x05, 0x00]), None);
        assert_eq!(first_tlv_len(&[0x30, 0x80, 0x00]), None);
        assert_eq!(first_tlv_len(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
    }
}
