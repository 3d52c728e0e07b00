//! Warden binaries run as child processes, for the tests that must kill one with SIGKILL at a
//! dangerous moment and start it again. Every line the child writes to stderr is echoed with
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

/// A loopback port that was free a moment ago, for a service a test must know the address of
/// before it starts.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Polls `check` until it holds; `false` once `timeout` has passed without it holding.
pub async fn wait_for<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of `key` in a log line of `tracing`'s default format (`key=value`, fields separated
/// by spaces), e.g. the metrics URL a service logs when it starts.
pub fn log_field(line: &str, key: &str) -> Option<String> {
    let prefix = format!("{key}=");
    line.split_whitespace()
        .find_map(|field| field.strip_prefix(prefix.as_str()))
        .map(|value| value.trim_matches('"').to_string())
}

/// The metrics and node API URLs in the line a Warden service logs when it has started.
pub fn ops_urls(start_line: &str) -> Option<(String, String)> {
    Some((
        log_field(start_line, "metrics")?,
        log_field(start_line, "node_api")?,
    ))
}

/// The value of the counter `metric` with `label` in a scrape of `metrics_url`, parsed as
/// Prometheus exposition format; `None` if the scrape fails, does not parse or lacks it.
pub async fn scrape_counter(metrics_url: &str, metric: &str, label: (&str, &str)) -> Option<f64> {
    let text = reqwest::get(metrics_url).await.ok()?.text().await.ok()?;
    let scrape =
        prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_string()))).ok()?;
    scrape
        .samples
        .iter()
        .find(|sample| sample.metric == metric && sample.labels.get(label.0) == Some(label.1))
        .and_then(|sample| match sample.value {
            prometheus_parse::Value::Counter(value) => Some(value),
            _ => None,
        })
}

/// The HTTP status of `GET <node_api_url>/health`, or `None` when nothing answers.
pub async fn health_status(node_api_url: &str) -> Option<u16> {
    reqwest::get(format!("{node_api_url}/health"))
        .await
        .ok()
        .map(|response| response.status().as_u16())
}
