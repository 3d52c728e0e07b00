//! Supervision of a service's long-running tasks, after reth's `TaskManager` and
//! `spawn_critical`.
//!
//! Every task a service cannot work without (its HTTP API, its chain follower, its keeper, its
//! metrics and node API servers) is spawned as a **critical task** into [`CriticalTasks`]. When
//! one of them returns an error, panics, or simply ends while nobody asked the service to stop,
//! [`CriticalTasks::supervise`] tells the others to stop, waits for them and reports the failure,
//! so that the process exits non-zero and its supervisor (systemd, Docker, Kubernetes) restarts
//! it. A half-alive service — metrics served, signatures no longer taken — is worse than a dead
//! one: it looks healthy. A shutdown signal stops every task the same way and ends cleanly.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use tokio::sync::watch;
use tokio::task::{Id, JoinError, JoinSet};

use crate::cli::RunArgs;
use crate::config::{ConfigError, ServiceConfig};
use warden_keys::{KeyError, KeysConfig};

/// Why `run` ended a service with a failure.
#[derive(Debug, thiserror::Error)]
pub enum ServiceExit {
    #[error("reading {path}: {source}")]
    Config {
        path: PathBuf,
        #[source]
        source: ConfigError,
    },
    #[error("installing signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    #[error("starting {service}: {error}")]
    Start {
        service: &'static str,
        error: String,
    },
    #[error(transparent)]
    Task(#[from] TaskFailure),
}

/// The `run` subcommand of every service: reads the configuration, installs the signal
/// handlers, lets `start` spawn the service's critical tasks (they stop when the watch turns
/// true) and supervises them until SIGINT/SIGTERM (`Ok`) or until one of them ends (the error).
pub async fn run<C, S, Fut, E>(args: &RunArgs<C>, start: S) -> Result<(), ServiceExit>
where
    C: ServiceConfig,
    S: FnOnce(C, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = Result<CriticalTasks, E>>,
    E: Display,
{
    let config = C::load(Some(&args.config)).map_err(|source| ServiceExit::Config {
        path: args.config.clone(),
        source,
    })?;
    // Installed before starting, so that a signal during start-up is not lost.
    let shutdown = crate::shutdown_signal().map_err(ServiceExit::Signals)?;
    let (stop, stopped) = watch::channel(false);
    let tasks = start(config, stopped)
        .await
        .map_err(|error| ServiceExit::Start {
            service: C::NAME,
            error: format!("{error:#}"),
        })?;
    tasks.supervise(shutdown, &stop).await?;
    Ok(())
}

/// A started service: the service itself (tests and the devnet inspect or step it), where its
/// metrics and node API listen, and its critical tasks, which all end on shutdown.
#[derive(Debug)]
pub struct Running<S> {
    pub service: std::sync::Arc<S>,
    pub endpoints: crate::ops::OpsEndpoints,
    pub tasks: CriticalTasks,
}

/// Why a service's keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("loading the signing keys: {0}")]
    Load(#[from] KeyError),
    #[error("loading the signing keys: the worker thread failed: {0}")]
    Worker(#[from] JoinError),
}

/// Decrypts the keys `keys` names with `unlock` (an ECDSA signer, an operator's key pair) on a
/// blocking thread: key derivation is deliberately slow and must not stall the async workers.
pub async fn unlock_keys<T: Send + 'static>(
    keys: &KeysConfig,
    unlock: fn(&KeysConfig) -> Result<T, KeyError>,
) -> Result<T, SignerError> {
    let keys = keys.clone();
    Ok(tokio::task::spawn_blocking(move || unlock(&keys)).await??)
}

/// Decrypts the ECDSA keystore `keys` names (see [`unlock_keys`]).
pub async fn load_signer(
    keys: &KeysConfig,
) -> Result<alloy::signers::local::PrivateKeySigner, SignerError> {
    unlock_keys(keys, KeysConfig::ecdsa_signer).await
}

/// The `main` of every Warden service binary: logs to stderr (`RUST_LOG`, else `default_log`),
/// runs `command` on a multi-threaded runtime built here (so that every service runs on the same
/// one) and turns how it ended into the exit status.
pub fn main<E: Display>(
    default_log: &str,
    command: impl Future<Output = Result<(), E>>,
) -> ExitCode {
    crate::init_logging(default_log);
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => exit_code(runtime.block_on(command)),
        Err(error) => exit_code(Err(format!("starting the async runtime: {error}"))),
    }
}

/// The process's exit status for how a command ended: the error (with its causes) on stderr
/// and a failure status, or success.
pub fn exit_code<E: Display>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Why a service stopped without being asked to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskFailure {
    #[error("critical task {task} failed: {error}")]
    Failed { task: &'static str, error: String },
    #[error("critical task {task} panicked: {message}")]
    Panicked { task: &'static str, message: String },
    #[error("critical task {task} stopped although no shutdown was requested")]
    Stopped { task: &'static str },
}

impl TaskFailure {
    /// The task that failed.
    pub fn task(&self) -> &'static str {
        match self {
            TaskFailure::Failed { task, .. }
            | TaskFailure::Panicked { task, .. }
            | TaskFailure::Stopped { task } => task,
        }
    }
}

/// How one task ended: its name and, if it failed, why.
type Exit = (&'static str, Result<(), String>);

/// The critical tasks of one service. Dropping it aborts them.
#[derive(Debug, Default)]
pub struct CriticalTasks {
    tasks: JoinSet<Exit>,
    /// Names by task id: a panicked task returns no value, only its id.
    names: HashMap<Id, &'static str>,
}

impl CriticalTasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Spawns `task` as a critical task named `name`. Its error (or panic) stops the service.
    /// A task must end on its own once the service's stop signal is sent.
    pub fn spawn<F, E>(&mut self, name: &'static str, task: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Display + Send + 'static,
    {
        let handle = self.tasks.spawn(async move {
            let result = task.await.map_err(|error| error.to_string());
            (name, result)
        });
        self.names.insert(handle.id(), name);
    }

    /// Watches a task spawned elsewhere (a server's join handle) as a critical task.
    pub fn watch<E>(&mut self, name: &'static str, handle: tokio::task::JoinHandle<Result<(), E>>)
    where
        E: Display + Send + 'static,
    {
        self.spawn(name, async move {
            match handle.await {
                Ok(result) => result.map_err(|error| error.to_string()),
                Err(join) => Err(join.to_string()),
            }
        });
    }

    /// How many tasks are still running or not yet collected.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Runs the service until `shutdown` resolves (a signal) or a critical task ends; then sends
    /// `stop` to every task and waits for them all. A graceful shutdown returns `Ok`; a task that
    /// ended first, or that failed while stopping, is the error.
    pub async fn supervise(
        mut self,
        shutdown: impl Future<Output = ()>,
        stop: &watch::Sender<bool>,
    ) -> Result<(), TaskFailure> {
        if self.tasks.is_empty() {
            // Nothing to supervise: the service runs until it is told to stop.
            shutdown.await;
            return Ok(());
        }
        let first = tokio::select! {
            () = shutdown => {
                tracing::info!("shutting down");
                None
            }
            exit = self.tasks.join_next_with_id() => {
                // `join_next_with_id` yields `None` only for an empty set, excluded above.
                exit.and_then(|exit| failure_of(exit, &self.names, false))
            }
        };
        if let Some(failure) = &first {
            tracing::error!(%failure, "a critical task ended: stopping the service");
        }
        let _ = stop.send(true);
        let rest = self.wait().await;
        match first {
            Some(failure) => Err(failure),
            None => rest,
        }
    }

    /// Waits for every task to end (after the stop signal was sent). Returns the first failure;
    /// later ones are logged. A task that ended cleanly did what it was told.
    pub async fn wait(mut self) -> Result<(), TaskFailure> {
        let mut first = None;
        while let Some(exit) = self.tasks.join_next_with_id().await {
            let Some(failure) = failure_of(exit, &self.names, true) else {
                continue;
            };
            if first.is_none() {
                first = Some(failure);
            } else {
                tracing::error!(%failure, "another critical task failed while stopping");
            }
        }
        first.map_or(Ok(()), Err)
    }
}

/// What one exit means. While `stopping`, a task that ended cleanly did what it was told.
fn failure_of(
    exit: Result<(Id, Exit), JoinError>,
    names: &HashMap<Id, &'static str>,
    stopping: bool,
) -> Option<TaskFailure> {
    match exit {
        Ok((_, (task, Ok(())))) => (!stopping).then_some(TaskFailure::Stopped { task }),
        Ok((_, (task, Err(error)))) => Some(TaskFailure::Failed { task, error }),
        Err(error) => {
            let task = names.get(&error.id()).copied().unwrap_or("unnamed");
            let message = if error.is_panic() {
                panic_message(error)
            } else {
                "cancelled".to_string()
            };
            Some(TaskFailure::Panicked { task, message })
        }
    }
}

fn panic_message(error: JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string()),
        Err(error) => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// A task that runs until the stop signal, then ends with `result`.
    async fn until_stopped(
        mut stopped: watch::Receiver<bool>,
        result: Result<(), String>,
    ) -> Result<(), String> {
        let _ = stopped.wait_for(|stop| *stop).await;
        result
    }

    #[tokio::test]
    async fn a_shutdown_stops_every_task_and_ends_cleanly() {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = CriticalTasks::new();
        tasks.spawn("api", until_stopped(stopped.clone(), Ok(())));
        tasks.spawn("keeper", until_stopped(stopped, Ok(())));
        let result = tasks.supervise(std::future::ready(()), &stop).await;
        assert_eq!(result, Ok(()));
        assert!(*stop.borrow());
    }

    #[tokio::test]
    async fn a_failing_task_stops_the_others_and_is_the_error() {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = CriticalTasks::new();
        tasks.spawn("keeper", until_stopped(stopped, Ok(())));
        tasks.spawn("api", async { Err::<(), _>("address in use") });
        let result = tasks.supervise(std::future::pending(), &stop).await;
        assert_eq!(
            result,
            Err(TaskFailure::Failed {
                task: "api",
                error: "address in use".into()
            })
        );
        assert!(*stop.borrow(), "the other tasks were not told to stop");
    }

    #[tokio::test]
    async fn a_panicking_task_is_named_with_its_message() {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = CriticalTasks::new();
        tasks.spawn("metrics", until_stopped(stopped, Ok(())));
        tasks.spawn("follower", async {
            if true {
                panic!("boom");
            }
            Ok::<(), String>(())
        });
        let result = tasks.supervise(std::future::pending(), &stop).await;
        assert_eq!(
            result,
            Err(TaskFailure::Panicked {
                task: "follower",
                message: "boom".into()
            })
        );
    }

    #[tokio::test]
    async fn a_task_ending_unasked_is_a_failure() {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = CriticalTasks::new();
        tasks.spawn("api", until_stopped(stopped, Ok(())));
        tasks.spawn("keeper", async { Ok::<(), String>(()) });
        let result = tasks.supervise(std::future::pending(), &stop).await;
        assert_eq!(result, Err(TaskFailure::Stopped { task: "keeper" }));
    }

    #[tokio::test]
    async fn a_failure_while_stopping_is_reported() {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = CriticalTasks::new();
        tasks.spawn("store", until_stopped(stopped, Err("flush failed".into())));
        let result = tasks.supervise(std::future::ready(()), &stop).await;
        assert_eq!(
            result,
            Err(TaskFailure::Failed {
                task: "store",
                error: "flush failed".into()
            })
        );
    }

    #[tokio::test]
    async fn a_watched_handle_is_supervised_too() {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = CriticalTasks::new();
        tasks.spawn("node", until_stopped(stopped, Ok(())));
        tasks.watch(
            "metrics",
            tokio::spawn(async { Err::<(), _>("socket closed") }),
        );
        let result = tasks.supervise(std::future::pending(), &stop).await;
        assert_eq!(
            result,
            Err(TaskFailure::Failed {
                task: "metrics",
                error: "socket closed".into()
            })
        );
    }
}
