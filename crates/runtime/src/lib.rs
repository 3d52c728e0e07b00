//! What every Warden binary does the same way: it reads a TOML configuration with environment
//! overrides, logs to stderr through `RUST_LOG`, talks to Ethereum through an instrumented,
//! retrying RPC client, serves Prometheus metrics and the EigenLayer node API, and stops cleanly
//! on SIGINT or SIGTERM.

pub mod config;
pub mod follow;
pub mod metrics;
pub mod node_api;
pub mod ops;
pub mod rpc;
pub mod service;

use std::future::Future;

use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

/// Logs to stderr, filtered by `RUST_LOG`, or by `default_filter` when it is unset or invalid.
pub fn init_logging(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // Colour only for a person at a terminal: in a container or a log file escape codes are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_env_filter(filter)
        .init();
}

/// Environment variable naming a failpoint: see [`failpoint`].
pub const FAILPOINT_ENV: &str = "WARDEN_FAILPOINT";

/// Fault injection for crash tests. When [`FAILPOINT_ENV`] names `name`, the process announces on
/// stderr that it reached the failpoint and then stops making progress, so that a test can kill
/// it with SIGKILL at exactly this point. Otherwise it returns at once. Every failpoint sits at a
/// moment where a crash is dangerous (after a durable write, before the action it records).
pub async fn failpoint(name: &str) {
    if std::env::var(FAILPOINT_ENV).is_ok_and(|armed| armed == name) {
        eprintln!("failpoint {name} reached: halting until killed");
        tracing::warn!(failpoint = name, "failpoint reached: halting until killed");
        std::future::pending::<()>().await;
    }
}

/// Runs a started service until `shutdown` (a signal) or until its `main` task ends on its own;
/// then tells every task to stop through `stop` and waits for the others. Returns how `main`
/// ended.
pub async fn supervise<E>(
    shutdown: impl Future<Output = ()>,
    stop: tokio::sync::watch::Sender<bool>,
    mut main: tokio::task::JoinHandle<Result<(), E>>,
    others: Vec<tokio::task::JoinHandle<()>>,
) -> Result<Result<(), E>, tokio::task::JoinError> {
    let result = tokio::select! {
        _ = shutdown => {
            tracing::info!("shutting down");
            let _ = stop.send(true);
            (&mut main).await
        }
        result = &mut main => result,
    };
    let _ = stop.send(true);
    for other in others {
        let _ = other.await;
    }
    result
}

/// Installs SIGINT and SIGTERM handlers now and returns a future that resolves on the first of
/// them. Installing before waiting means a signal that arrives in between is not lost (and does
/// not kill the process with the default action). Must be called inside a tokio runtime.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[tokio::test]
    async fn sigterm_resolves_the_shutdown_future() {
        let shutdown = shutdown_signal().unwrap();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::timeout(std::time::Duration::from_secs(10), shutdown)
            .await
            .expect("SIGTERM did not resolve the shutdown future");
    }
}
