//! What every Warden binary does the same way: it reads a TOML configuration with environment
//! overrides, logs to stderr through `RUST_LOG`, talks to Ethereum through an instrumented,
//! retrying RPC client, serves Prometheus metrics and the EigenLayer node API, builds the agent
//! its `[agent]` section names, and stops cleanly on SIGINT or SIGTERM.

pub mod agent;
pub mod allowlist;
pub mod cli;
pub mod config;
pub mod deployment;
pub mod follow;
pub mod http;
pub mod launcher;
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

/// Implements `From<alloy::contract::Error>` for an error enum whose variant `$variant` holds
/// the contract error boxed (`Contract(Box<alloy::contract::Error>)`), so that `?` works on
/// contract calls. The contract error is large; boxing it keeps every `Result` carrying the enum
/// small, which clippy's `result_large_err` asks for.
#[macro_export]
macro_rules! boxed_contract_error {
    ($error:ty, $variant:ident) => {
        impl From<::alloy::contract::Error> for $error {
            fn from(error: ::alloy::contract::Error) -> Self {
                Self::$variant(Box::new(error))
            }
        }
    };
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
