//! Every Warden HTTP server faces a port anyone can reach: a client that sends half a request is
//! cut off, connections beyond the cap wait for a free slot, and every error answer is counted
//! `{code, message}` JSON, whoever produced it.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use prometheus::IntCounterVec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use warden_runtime::http::{HttpLimits, serve, with_json_errors};
use warden_runtime::metrics::{NodeMetrics, Telemetry};

struct Server {
    addr: std::net::SocketAddr,
    errors: IntCounterVec,
    stop: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

async fn start(limits: HttpLimits) -> Server {
    let telemetry = Telemetry::new();
    let errors = NodeMetrics::register(&telemetry).unwrap().http_errors;
    let router = Router::new()
        .route("/ok", get(|| async { "fine" }))
        .route(
            "/plain-error",
            get(|| async { (StatusCode::BAD_REQUEST, "that was not right") }),
        )
        .route(
            "/json-error",
            get(|| async {
                (
                    StatusCode::CONFLICT,
                    axum::Json(serde_json::json!({"code": "conflicting_output", "message": "no"})),
                )
            }),
        );
    let router = with_json_errors(router, "test", errors.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = watch::channel(false);
    let handle = tokio::spawn(serve(listener, router, limits, "test", stopped));
    Server {
        addr,
        errors,
        stop,
        handle,
    }
}

impl Server {
    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("the server stops on shutdown")
            .unwrap();
    }
}

/// Reads until the server closes the connection; `false` if it is still open after `timeout`.
async fn closed_within(stream: &mut TcpStream, timeout: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(timeout, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await
    .is_ok()
}

/// Before: the servers had no header-read timeout, and 2,000 half-sent requests stayed open for
/// 40 s and more. Now a connection whose headers do not arrive in time is closed.
#[tokio::test]
async fn attack_half_sent_requests_hold_connections_open() {
    let server = start(HttpLimits {
        header_read_timeout: Duration::from_millis(500),
        max_connections: 64,
    })
    .await;
    let mut half_sent = Vec::new();
    for _ in 0..32 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"POST /ok HTTP/1.1\r\nHost: warden\r\nContent-Type: appl")
            .await
            .unwrap();
        half_sent.push(stream);
    }
    for stream in &mut half_sent {
        assert!(
            closed_within(stream, Duration::from_secs(15)).await,
            "a half-sent request is cut off after the header-read timeout"
        );
    }
    // An idle keep-alive connection is closed the same way.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(15)).await);
    // And the server still answers.
    let body = reqwest::get(format!("http://{}/ok", server.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "fine");
    server.stop().await;
}

/// At the cap, a new connection waits in the backlog until one closes, then is served.
#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let server = start(HttpLimits {
        header_read_timeout: Duration::from_secs(60),
        max_connections: 2,
    })
    .await;
    let first = TcpStream::connect(server.addr).await.unwrap();
    let _second = TcpStream::connect(server.addr).await.unwrap();
    let url = format!("http://{}/ok", server.addr);
    let mut third = tokio::spawn(async move { reqwest::get(url).await.unwrap().status() });
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut third)
            .await
            .is_err(),
        "a third connection is not served while two hold both slots"
    );
    drop(first);
    let status = tokio::time::timeout(Duration::from_secs(10), third)
        .await
        .expect("served once a slot is free")
        .unwrap();
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test]
async fn every_error_answer_is_json_and_counted() {
    let server = start(HttpLimits::default()).await;
    let http = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let cases = [
        (http.get(format!("{base}/nowhere")), 404, "not_found"),
        (http.post(format!("{base}/ok")), 405, "method_not_allowed"),
        (http.get(format!("{base}/plain-error")), 400, "bad_request"),
        (
            http.get(format!("{base}/json-error")),
            409,
            "conflicting_output",
        ),
    ];
    for (request, status, code) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{code}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{code}"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], code, "{body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        assert_eq!(
            server.errors.with_label_values(&["test", code]).get(),
            1,
            "{code} counted once"
        );
    }
    let plain: serde_json::Value = http
        .get(format!("{base}/plain-error"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        plain["message"], "that was not right",
        "the handler's text is kept"
    );
    assert_eq!(
        http.get(format!("{base}/ok"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "fine",
        "success answers are untouched"
    );
    server.stop().await;
}
