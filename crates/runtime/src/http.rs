//! How every Warden HTTP server (the aggregator's API, the metrics and node API endpoints) faces
//! its port, which anyone may reach:
//! - a client must send a request's headers within `header_read_timeout`, which also closes a
//!   keep-alive connection left idle that long: half-sent requests cannot hold connections open;
//! - at most `max_connections` are served at once; more wait in the listen backlog until one
//!   closes;
//! - every error answer is `{code, message}` JSON (the shape of `warden_protocol::api::ApiError`),
//!   counted in `warden_http_errors_total{server, code}`, whoever produced it: a handler, a
//!   request the framework refused (unparseable JSON, a body over the limit), or no route.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use prometheus::IntCounterVec;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Largest error body read back to be wrapped or labelled; longer ones are cut.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// The limits of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// How long a client has to send a request's headers, from the connection's opening or the
    /// end of its previous response.
    pub header_read_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1_024,
        }
    }
}

/// The `code` of an error answer that has none of its own: the status, in words.
pub fn status_code_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        409 => "conflict",
        410 => "gone",
        413 => "request_too_large",
        415 => "unsupported_media_type",
        422 => "invalid_request",
        429 => "too_many_requests",
        503 => "service_unavailable",
        code if code < 500 => "client_error",
        _ => "server_error",
    }
}

/// `router` with every error answer turned into counted `{code, message}` JSON.
pub fn with_json_errors(router: Router, server: &'static str, errors: IntCounterVec) -> Router {
    router.layer(middleware::from_fn(move |request: Request, next: Next| {
        let errors = errors.clone();
        async move { json_error(server, &errors, next.run(request).await).await }
    }))
}

async fn json_error(server: &str, errors: &IntCounterVec, response: Response) -> Response {
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    let bytes = match http_body_util::Limited::new(body, MAX_ERROR_BODY)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Default::default(),
    };
    let own_code = is_json
        .then(|| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .flatten()
        .and_then(|value| {
            value
                .get("code")
                .and_then(|code| code.as_str())
                .map(str::to_string)
        });
    let code = own_code
        .clone()
        .unwrap_or_else(|| status_code_name(status).to_string());
    errors.with_label_values(&[server, &code]).inc();
    if own_code.is_some() {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let text = String::from_utf8_lossy(&bytes);
    let message = match text.trim() {
        "" => status.canonical_reason().unwrap_or("error").to_string(),
        text => text.to_string(),
    };
    let json = serde_json::json!({ "code": code, "message": message }).to_string();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(json))
}

/// Serves `router` on `listener` within `limits` until `shutdown` turns true, then lets the
/// connections finish their requests. `server` names it in the logs.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    server: &'static str,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (closing, close) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            _ = async { shutdown.wait_for(|stop| *stop).await.map(|_| ()) } => break,
        };
        // The semaphore is never closed.
        let Ok(slot) = slot else { break };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: back off rather than spin.
                    tracing::warn!(server, %error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = async { shutdown.wait_for(|stop| *stop).await.map(|_| ()) } => break,
        };
        let router = router.clone();
        let service = TowerToHyperService::new(
            router.map_request(|request: Request<hyper::body::Incoming>| request.map(Body::new)),
        );
        let mut close = close.clone();
        connections.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .keep_alive(true);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = async { close.wait_for(|close| *close).await.map(|_| ()) } => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(server, %error, "connection closed");
            }
            drop(slot);
        });
    }
    let _ = closing.send(true);
    while connections.join_next().await.is_some() {}
}
