//! Warden binaries run as child processes, for the tests that must kill one with SIGKILL at a
//! dangerous moment and start it again (see [`crate::crash`]). Every line the child writes to stderr is echoed with
//! the child's name (so a failing test shows the child's logs) and kept, so a test can wait for
//! a line (a failpoint reached, a service started) with a timeout instead of sleeping.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

/// Why a child process did not do what the test waited for.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("starting {name}: {source}")]
    Spawn {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name} exited ({status}) before printing {needle:?}")]
    Exited {
        name: String,
        status: ExitStatus,
        needle: String,
    },
    #[error("{name} did not print {needle:?} within {timeout:?}")]
    Timeout {
        name: String,
        needle: String,
        timeout: Duration,
    },
    #[error("waiting for {name}: {source}")]
    Wait {
        name: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Default)]
struct Output {
    lines: Mutex<Vec<String>>,
    changed: Notify,
}

/// A running child process; killed when dropped.
#[derive(Debug)]
pub struct ServiceProcess {
    name: String,
    child: Child,
    output: Arc<Output>,
    reader: Option<tokio::task::JoinHandle<()>>,
}

impl ServiceProcess {
    /// Starts `program` with `args` and extra environment `envs`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Result<Self, ProcessError> {
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|source| ProcessError::Spawn {
            name: name.to_string(),
            source,
        })?;
        let output = Arc::new(Output::default());
        let reader = child.stderr.take().map(|stderr| {
            let output = Arc::clone(&output);
            let name = name.to_string();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    eprintln!("[{name}] {line}");
                    if let Ok(mut kept) = output.lines.lock() {
                        kept.push(line);
                    }
                    output.changed.notify_waiters();
                }
                output.changed.notify_waiters();
            })
        });
        Ok(Self {
            name: name.to_string(),
            child,
            output,
            reader,
        })
    }

    /// Waits until the child has printed a line containing `needle` (at any time since it
    /// started) and returns that line.
    pub async fn wait_for(
        &mut self,
        needle: &str,
        timeout: Duration,
    ) -> Result<String, ProcessError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.output.changed.notified();
            if let Some(line) = self.find(needle) {
                return Ok(line);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // The child's last lines are in the pipe until the reader reaches its end.
                if let Some(reader) = self.reader.take() {
                    let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
                }
                return self.find(needle).ok_or_else(|| ProcessError::Exited {
                    name: self.name.clone(),
                    status,
                    needle: needle.to_string(),
                });
            }
            let poll = tokio::time::sleep(Duration::from_millis(200));
            tokio::select! {
                _ = changed => {}
                _ = poll => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(ProcessError::Timeout {
                        name: self.name.clone(),
                        needle: needle.to_string(),
                        timeout,
                    });
                }
            }
        }
    }

    fn find(&self, needle: &str) -> Option<String> {
        self.output
            .lines
            .lock()
            .ok()?
            .iter()
            .find(|line| line.contains(needle))
            .cloned()
    }

    /// Kills the child with SIGKILL (no chance to clean up) and reaps it.
    pub async fn kill(mut self) -> Result<ExitStatus, ProcessError> {
        let name = self.name.clone();
        self.child
            .kill()
            .await
            .map_err(|source| ProcessError::Wait {
                name: name.clone(),
                source,
            })?;
        self.child
            .wait()
            .await
            .map_err(|source| ProcessError::Wait { name, source })
    }

    /// Whether the child is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}
