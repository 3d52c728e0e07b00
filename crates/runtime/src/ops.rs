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

/// A server could not listen on its configured address. One message says it all: the server,
/// the address, why, and the configuration key to change. The I/O error is deliberately not a
/// `source`: error reports print a message and then each source, and the I/O error's text was
/// already in the message, so "Address already in use" came out twice.
#[derive(Debug, thiserror::Error)]
#[error("{what} cannot listen on {addr}: {}", listen_failure(.error, .key))]
pub struct OpsError {
    /// The server (`metrics`, `the node API`, `the aggregator API`).
    pub what: &'static str,
    pub addr: SocketAddr,
    /// The configuration key naming `addr` (`ops.metrics_listen`).
    pub key: &'static str,
    pub error: std::io::Error,
}

/// Why binding failed and what to do about it, for [`OpsError`].
fn listen_failure(error: &std::io::Error, key: &str) -> String {
    match error.kind() {
        // The usual cause on one host: two services configured with the same port.
        std::io::ErrorKind::AddrInUse => format!(
            "the address is already in use (another process, perhaps another Warden service on \
             this host, listens there): set `{key}` to a free address"
        ),
        std::io::ErrorKind::AddrNotAvailable => format!(
            "no network interface of this host has that address ({error}): set `{key}` to one \
             of this host's addresses, or 0.0.0.0"
        ),
        _ => format!("{error} (check `{key}`)"),
    }
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
            "ops.metrics_listen",
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
    let (metrics, metrics_handle) = listen(
        "metrics",
        "ops.metrics_listen",
        metrics_addr,
        metrics_router,
        shutdown.clone(),
    )
    .await?;
    let (node, node_handle) = listen(
        "the node API",
        "ops.node_api_listen",
        node_api_addr,
        node_router,
        shutdown,
    )
    .await?;
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
    key: &'static str,
    addr: SocketAddr,
    router: Router,
    shutdown: watch::Receiver<bool>,
) -> Result<(SocketAddr, JoinHandle<Result<(), OpsError>>), OpsError> {
    let error = |error| OpsError {
        what,
        addr,
        key,
        error,
    };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(error)?;
    let bound = listener.local_addr().map_err(error)?;
    tracing::info!(%bound, "serving {what}");
    let handle = tokio::spawn(async move {
        crate::http::serve(listener, router, HttpLimits::default(), what, shutdown).await;
        Ok(())
    });
    Ok((bound, handle))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// The message and every source, as `eyre` prints an error with `{:#}` (and `anyhow` with
    /// `{:#}`): what a service that cannot start shows its user.
    fn report(error: &dyn std::error::Error) -> String {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    }

    /// Before: `listening for metrics on 127.0.0.1:P: Address already in use (os error 98):
    /// Address already in use (os error 98)`, the I/O error both in the message and as its
    /// source. Now once, with the address and the key to change.
    #[tokio::test]
    async fn a_port_in_use_is_reported_once_with_the_key_to_change() {
        let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap();
        let (_stop, stopped) = watch::channel(false);
        let Err(error) = listen(
            "metrics",
            "ops.metrics_listen",
            addr,
            Router::new(),
            stopped,
        )
        .await
        else {
            panic!("bound {addr} twice");
        };
        let text = report(&error);
        assert_eq!(text.matches("in use").count(), 1, "{text}");
        assert!(text.contains(&addr.to_string()), "{text}");
        assert!(text.contains("`ops.metrics_listen`"), "{text}");
        assert_eq!(error.error.kind(), std::io::ErrorKind::AddrInUse);
    }
}
