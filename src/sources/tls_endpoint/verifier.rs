//! A rustls [`ServerCertVerifier`] that records what the server presented (the
//! chain in served order and any stapled OCSP response) and accepts it, so an
//! expired, self-signed or mismatching chain is still inventoried. Judgement is
//! deferred to `checks` (the same chain validator as for stored certificates).
//! The handshake signature is still verified: the server must hold the leaf's key.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Most certificates kept from one served chain.
pub const MAX_CHAIN: usize = 16;

/// What the server presented in one handshake.
#[derive(Debug, Clone, Default)]
pub struct Presented {
    /// DER of each certificate, leaf first (served order), at most [`MAX_CHAIN`].
    pub chain: Vec<Vec<u8>>,
    /// Stapled OCSP response (empty when none).
    pub ocsp: Vec<u8>,
}

/// Records and accepts; one instance per connection.
#[derive(Debug)]
pub struct RecordingVerifier {
    algs: WebPkiSupportedAlgorithms,
    seen: Arc<Mutex<Option<Presented>>>,
}

impl RecordingVerifier {
    pub fn new() -> (Arc<Self>, Arc<Mutex<Option<Presented>>>) {
        let seen = Arc::new(Mutex::new(None));
        let v = RecordingVerifier {
            algs: rustls::crypto::ring::default_provider().signature_verification_algorithms,
            seen: seen.clone(),
        };
        (Arc::new(v), seen)
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = Vec::with_capacity(1 + intermediates.len().min(MAX_CHAIN - 1));
        chain.push(end_entity.as_ref().to_vec());
        for c in intermediates.iter().take(MAX_CHAIN - 1) {
            chain.push(c.as_ref().to_vec());
        }
        let p = Presented {
            chain,
            ocsp: ocsp_response.to_vec(),
        };
        match self.seen.lock() {
            Ok(mut g) => *g = Some(p),
            Err(poisoned) => *poisoned.into_inner() = Some(p),
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Take what was recorded (after the handshake, or after it failed).
pub fn take(seen: &Mutex<Option<Presented>>) -> Option<Presented> {
    match seen.lock() {
        Ok(mut g) => g.take(),
        Err(poisoned) => poisoned.into_inner().take(),
    }
}
