//! `/probe` wiring: the [`Prober`] that decodes the request, probes with the
//! `tls_endpoint` machinery and judges the served chain with a [`Checker`]
//! built from the configuration's trust (revocation offline), cached until a
//! reload swaps the configuration.

use std::sync::Arc;

use crate::checks::Checker;
use crate::config::Config;
use crate::outputs::http::probe::{ProbeFuture, Prober};
use crate::sources::tls_endpoint::{self, probe};

type Cached = Option<(Arc<Config>, Arc<tokio::sync::Mutex<Checker>>)>;

#[derive(Default)]
pub struct EndpointProber {
    checker: std::sync::Mutex<Cached>,
}

impl EndpointProber {
    fn checker_for(&self, cfg: &Arc<Config>) -> Result<Arc<tokio::sync::Mutex<Checker>>, String> {
        let mut g = match self.checker.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some((c, k)) = g.as_ref() {
            if Arc::ptr_eq(c, cfg) {
                return Ok(k.clone());
            }
        }
        let mut rev = cfg.revocation.clone();
        rev.offline = true;
        let checker = Arc::new(tokio::sync::Mutex::new(Checker::new(&cfg.trust, &rev)?));
        *g = Some((cfg.clone(), checker.clone()));
        Ok(checker)
    }
}

impl Prober for EndpointProber {
    fn probe(&self, cfg: Arc<Config>, query: String) -> ProbeFuture {
        let checker = self.checker_for(&cfg);
        Box::pin(async move {
            let names: Vec<String> = cfg.probe.modules.keys().cloned().collect();
            let mut req =
                probe::parse_request(&query, &names).map_err(|e| (400, format!("{e}\n")))?;
            let module = cfg
                .probe
                .module(&req.module)
                .ok_or_else(|| (400, "unknown module\n".to_string()))?;
            if req.bare {
                req.target.protocol = module.protocol;
            }
            let auth = tls_endpoint::load_client_pem(
                module.client_cert.as_deref(),
                module.client_key.as_deref(),
            )
            .map_err(|e| {
                (
                    500,
                    format!("module {}: client certificate: {e}\n", req.module),
                )
            })?
            .map(|(a, _)| a);
            let checker = checker.map_err(|e| (500, format!("trust configuration: {e}\n")))?;
            let mut out = probe::run(&req.target, &module, auth.as_ref()).await;
            let now = chrono::Utc::now();
            crate::checks::apply(&mut out.entries, now);
            if !out.entries.is_empty() {
                let _ = checker.lock().await.run(&mut out.entries, now).await;
            }
            Ok(out)
        })
    }
}
