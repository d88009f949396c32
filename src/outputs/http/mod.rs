//! LOCAL STUB (h-cli branch): the HTTP server; the http branch provides it.

pub mod webconfig;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::inventory::SnapshotCell;

/// A configuration reload asked for over HTTP (`POST /-/reload`).
#[derive(Debug)]
pub struct ReloadRequest {
    pub reply: oneshot::Sender<Result<(), String>>,
}

/// What the HTTP handlers share with the rest of the program.
#[derive(Debug, Clone)]
pub struct HttpState {
    pub snapshot: SnapshotCell,
    pub config: Arc<RwLock<Arc<Config>>>,
    pub reload: mpsc::Sender<ReloadRequest>,
}

/// Parse a listen address (stub).
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    let _ = s;
    todo!("implemented by the http branch")
}

/// Serve until `shutdown` resolves (stub).
pub async fn serve(
    listener: TcpListener,
    web: Option<webconfig::WebConfig>,
    state: HttpState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let _ = (listener, web, state, shutdown);
    todo!("implemented by the http branch")
}
