//! OCSP (RFC 6960), pure parts: build a request for one certificate (SHA-1
//! CertID, optional nonce) and evaluate a response: status, response type,
//! signature by the issuer or a delegated responder (signed by the issuer,
//! carrying id-kp-OCSPSigning, valid at `now`), the CertID echoed, the nonce
//! when one was sent, thisUpdate/nextUpdate at `now`.

use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode, Reader, SliceReader};
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    TbsRequest, Version,
};
use x509_parser::prelude::{AlgorithmIdentifier, FromDer};

use super::facts::{verify_with_spki, Facts, SigCheck, EKU_OCSP_SIGNING};

/// id-pkix-ocsp-basic.
const OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// id-pkix-ocsp-nonce.
const OCSP_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// SHA-1.
const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
/// Tolerated clock skew for thisUpdate in the future (seconds).
pub const SKEW: i64 = 300;

/// A request ready to POST.
#[derive(Debug, Clone)]
pub struct Built {
    pub der: Vec<u8>,
    pub cert_id: CertId,
    pub nonce: Option<Vec<u8>>,
}

fn sha1(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

/// The CertID of `cert` under `issuer` (SHA-1, as every responder accepts).
pub fn cert_id(cert: &Facts, issuer: &Facts) -> Result<CertId, String> {
    let serial = x509_cert::serial_number::SerialNumber::new(cert.serial())
        .map_err(|e| format!("serial: {e}"))?;
    Ok(CertId {
        hash_algorithm: spki::AlgorithmIdentifierOwned {
            oid: SHA1,
            parameters: Some(der::asn1::Null.into()),
        },
        issuer_name_hash: OctetString::new(sha1(&issuer.subject_raw)).map_err(|e| e.to_string())?,
        issuer_key_hash: OctetString::new(sha1(issuer.spki_key())).map_err(|e| e.to_string())?,
        serial_number: serial,
    })
}

/// Longest encoded request sent with GET (RFC 5019 §5).
pub const MAX_GET_REQUEST: usize = 255;

/// The GET form of a request (RFC 6960 §A.1): `url` + `/` + the URL-encoded
/// base64 of the DER request; `None` when the encoding exceeds
/// [`MAX_GET_REQUEST`] bytes (the caller POSTs instead).
pub fn get_url(url: &str, der: &[u8]) -> Option<String> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut enc = String::with_capacity(b64.len() + 16);
    for c in b64.chars() {
        match c {
            '+' => enc.push_str("%2B"),
            '/' => enc.push_str("%2F"),
            '=' => enc.push_str("%3D"),
            c => enc.push(c),
        }
    }
    if enc.len() > MAX_GET_REQUEST {
        return None;
    }
    let sep = if url.ends_with('/') { "" } else { "/" };
    Some(format!("{url}{sep}{enc}"))
}

/// Build the DER request; with `nonce` a 16-byte random nonce extension.
pub fn build_request(cert: &Facts, issuer: &Facts, nonce: bool) -> Result<Built, String> {
    let id = cert_id(cert, issuer)?;
    let mut nonce_bytes = None;
    let mut exts = None;
    if nonce {
        let mut n = vec![0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut n)
            .map_err(|_| "no randomness for the nonce".to_string())?;
        let inner = OctetString::new(n.clone())
            .and_then(|o| o.to_der())
            .map_err(|e| e.to_string())?;
        exts = Some(vec![x509_cert::ext::Extension {
            extn_id: OCSP_NONCE,
            critical: false,
            extn_value: OctetString::new(inner).map_err(|e| e.to_string())?,
        }]);
        nonce_bytes = Some(n);
    }
    let req = OcspRequest {
        tbs_request: TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: id.clone(),
                single_request_extensions: None,
            }],
            request_extensions: exts,
        },
        optional_signature: None,
    };
    Ok(Built {
        der: req.to_der().map_err(|e| e.to_string())?,
        cert_id: id,
        nonce: nonce_bytes,
    })
}

/// A verified answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Good,
    Revoked {
        at: i64,
        reason: Option<u8>,
    },
    /// The responder does not know the certificate.
    Unknown,
}

/// A verified response with its validity window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub answer: Answer,
    pub this_update: i64,
    pub next_update: Option<i64>,
}

fn gtime(t: &x509_ocsp::OcspGeneralizedTime) -> i64 {
    i64::try_from(t.0.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// The raw DER of the first element (tbsResponseData) of a BasicOCSPResponse.
fn tbs_raw(basic_der: &[u8]) -> Result<&[u8], String> {
    let mut r = SliceReader::new(basic_der).map_err(|e| e.to_string())?;
    let _outer = der::Header::decode(&mut r).map_err(|e| e.to_string())?;
    let start = usize::try_from(r.position()).map_err(|e| e.to_string())?;
    let _tbs = der::asn1::AnyRef::decode(&mut r).map_err(|e| e.to_string())?;
    let end = usize::try_from(r.position()).map_err(|e| e.to_string())?;
    basic_der
        .get(start..end)
        .ok_or_else(|| "bad BasicOCSPResponse".to_string())
}

fn sig_ok(
    spki: &[u8],
    alg: &spki::AlgorithmIdentifierOwned,
    sig: &der::asn1::BitString,
    data: &[u8],
) -> SigCheck {
    let Ok(alg_der) = alg.to_der() else {
        return SigCheck::Invalid;
    };
    let Ok((_, alg)) = AlgorithmIdentifier::from_der(&alg_der) else {
        return SigCheck::Invalid;
    };
    let Some(bytes) = sig.as_bytes() else {
        return SigCheck::Invalid;
    };
    let bs = x509_parser::der_parser::asn1_rs::BitString::new(0, bytes);
    verify_with_spki(spki, &alg, &bs, data)
}

/// Evaluate `body` as the answer for `sent` about `cert` issued by `issuer`.
pub fn evaluate(
    body: &[u8],
    sent: &Built,
    _cert: &Facts,
    issuer: &Facts,
    now: i64,
) -> Result<Verdict, String> {
    let resp = OcspResponse::from_der(body).map_err(|e| format!("not an OCSP response: {e}"))?;
    if resp.response_status != OcspResponseStatus::Successful {
        return Err(format!("responder answered {:?}", resp.response_status));
    }
    let rb = resp
        .response_bytes
        .ok_or("successful response without responseBytes")?;
    if rb.response_type != OCSP_BASIC {
        return Err(format!("unsupported response type {}", rb.response_type));
    }
    let basic_der = rb.response.as_bytes();
    let basic = BasicOcspResponse::from_der(basic_der)
        .map_err(|e| format!("not a BasicOCSPResponse: {e}"))?;
    let tbs = tbs_raw(basic_der)?;
    // Signature: the issuer itself, or a delegated responder it certified.
    let mut signed = sig_ok(
        issuer.spki_raw(),
        &basic.signature_algorithm,
        &basic.signature,
        tbs,
    ) == SigCheck::Valid;
    let mut why = "response signature does not verify with the issuer's key".to_string();
    if !signed {
        for c in basic.certs.iter().flatten().take(8) {
            let Ok(cder) = c.to_der() else { continue };
            let Ok(rf) = Facts::from_der(cder.into()) else {
                continue;
            };
            if !(rf.issuer_raw == issuer.subject_raw || rf.issuer_norm == issuer.subject_norm) {
                continue;
            }
            if super::facts::cert_signed_by(&rf.der, issuer.spki_raw()) != SigCheck::Valid {
                why = format!(
                    "responder certificate '{}' is not signed by the issuer",
                    rf.name
                );
                continue;
            }
            if !rf
                .eku
                .as_ref()
                .is_some_and(|e| e.iter().any(|o| o == EKU_OCSP_SIGNING))
            {
                why = format!(
                    "responder certificate '{}' lacks id-kp-OCSPSigning",
                    rf.name
                );
                continue;
            }
            if !rf.valid_at(now) {
                why = format!(
                    "responder certificate '{}' is not valid at the evaluation time",
                    rf.name
                );
                continue;
            }
            if sig_ok(
                rf.spki_raw(),
                &basic.signature_algorithm,
                &basic.signature,
                tbs,
            ) == SigCheck::Valid
            {
                signed = true;
                break;
            }
            why = format!(
                "response signature does not verify with responder '{}'",
                rf.name
            );
        }
    }
    if !signed {
        return Err(why);
    }
    let data = &basic.tbs_response_data;
    if let Some(n) = &sent.nonce {
        if let Some(got) = data.nonce() {
            // The extension value is an OCTET STRING holding the nonce (some
            // responders send the raw bytes).
            let raw = got.0.as_bytes();
            let inner = OctetString::from_der(raw).ok();
            let matches =
                raw == n.as_slice() || inner.as_ref().is_some_and(|o| o.as_bytes() == n.as_slice());
            if !matches {
                return Err("response nonce does not match the request".into());
            }
        }
    }
    let single = data
        .responses
        .iter()
        .find(|s| s.cert_id == sent.cert_id)
        .ok_or("response is for another certificate (CertID/serial does not match)")?;
    let this_update = gtime(&single.this_update);
    let next_update = single.next_update.as_ref().map(gtime);
    if this_update > now + SKEW {
        return Err("response thisUpdate is in the future".into());
    }
    if let Some(nu) = next_update {
        if now > nu {
            return Err(format!(
                "stale response (nextUpdate {})",
                crate::model::time::rfc3339_from_unix(nu)
            ));
        }
    }
    let answer = match &single.cert_status {
        CertStatus::Good(_) => Answer::Good,
        CertStatus::Revoked(info) => Answer::Revoked {
            at: gtime(&info.revocation_time),
            reason: info.revocation_reason.map(|r| r as u8),
        },
        CertStatus::Unknown(_) => Answer::Unknown,
    };
    Ok(Verdict {
        answer,
        this_update,
        next_update,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_url_encodes_and_bounds() {
        let u = get_url("http://127.0.0.1:1/ocsp", &[0xfb, 0xff, 0xfe]).expect("short");
        assert_eq!(u, "http://127.0.0.1:1/ocsp/%2B%2F%2F%2B");
        let u = get_url("http://127.0.0.1:1/", &[0xfb, 0xff]).expect("short");
        assert_eq!(u, "http://127.0.0.1:1/%2B%2F8%3D");
        assert!(get_url("http://x/", &[0u8; 200]).is_none());
    }
}
