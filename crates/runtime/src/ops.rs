//! The operations endpoints of a binary: Prometheus metrics at `/metrics` and the EigenLayer
//! node API at `/eigen/node/...`, each on its own address (the same address serves both).

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use prometheus::IntCounterVec;

use crate::http::{HttpLimits, with_json_errors};
use crate::metrics::Telemetry;
use crate::node_api::NodeApi;

/// Where the endpoints listen, once bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpsEndpoints {
    pub metrics: SocketAddr,
    pub node_api: SocketAddr,
}

impl OpsEndpoints {
    pub fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.metrics)
    }

    pub fn node_api_url(&self) -> String {
        format!("http://{}/eigen/node", self.node_api)
    }
}

/// An endpoint could not listen.
#[derive(Debug, thiserror::Error)]
#[error("listening for {what} on {addr}: {source}")]
pub struct OpsError {
    pub what: &'static str,
    pub addr: SocketAddr,
    #[source]
    pub source: std::io::Error,
}

/// Binds both endpoints (port 0 picks a free port, a separate one for each) and serves them until
/// `shutdown` turns true, within [`HttpLimits::default`], every error answer JSON and counted in
/// `http_errors` (`server="ops"`).
pub async fn serve(
    telemetry: Telemetry,
    http_errors: IntCounterVec,
    node_api: NodeApi,
    metrics_addr: SocketAddr,
    node_api_addr: SocketAddr,
    shutdown: watch::Receiver<bool>,
) -> Result<(OpsEndpoints, Vec<JoinHandle<Result<(), OpsError>>>), OpsError> {
    let metrics_router = Router::new().route(
        "/metrics",
        get(move || {
            let telemetry = telemetry.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    telemetry.encode(),
                )
            }
        }),
    );
    let metrics_router = with_json_errors(metrics_router, "ops", http_errors.clone());
    let node_router = with_json_errors(node_api.router(), "ops", http_errors);
    // Port 0 asks for any free port: two of them are two listeners.
    if metrics_addr == node_api_addr && metrics_addr.port() != 0 {
        let (addr, handle) = listen(
            "metrics and the node API",
            metrics_addr,
            metrics_router.merge(node_router),
            shutdown,
        )
        .await?;
        let endpoints = OpsEndpoints {
            metrics: addr,
            node_api: addr,
        };
        return Ok((endpoints, vec![handle]));
    }
    let (metrics, metrics_handle) =
        listen("metrics", metrics_addr, metrics_router, shutdown.clone()).await?;
    let (node, node_handle) = listen("the node API", node_api_addr, node_router, shutdown).await?;
    Ok((
        OpsEndpoints {
            metrics,
            node_api: node,
        },
        vec![metrics_handle, node_handle],
    ))
}

async fn listen(
    what: &'static str,
    addr: SocketAddr,
    router: Router,
    shutdown: watch::Receiver<bool>,
) -> Result<(SocketAddr, JoinHandle<Result<(), OpsError>>), OpsError> {
    let error = |source| OpsError { what, addr, source };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(error)?;
    let bound = listener.local_addr().map_err(error)?;
    tracing::info!(%bound, "serving {what}");
    let handle = tokio::spawn(async move {
        crate::http::serve(listener, router, HttpLimits::default(), what, shutdown).await;
        Ok(())
    });
    Ok((bound, handle))
}
