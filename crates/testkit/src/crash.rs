//! Crash-test scaffolding: a Warden service binary run from a configuration file the test
//! writes, started with a failpoint armed (it halts there until killed), killed with SIGKILL and
//! started again on the same configuration.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{ProcessError, ServiceProcess};

/// The environment variable that arms a failpoint in a Warden binary
/// (`warden_runtime::FAILPOINT_ENV`; restated so the test kit depends on no Warden crate).
pub const FAILPOINT_ENV: &str = "WARDEN_FAILPOINT";

/// The line a binary prints when it reaches the armed failpoint `name`.
pub fn failpoint_reached(name: &str) -> String {
    format!("failpoint {name} reached")
}

/// Why a configuration file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("encoding the configuration: {0}")]
    Encode(#[from] toml::ser::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A service's configuration written as TOML into a temporary directory, removed when dropped.
#[derive(Debug)]
pub struct ConfigFile {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl ConfigFile {
    /// Writes `config` as `file_name` in a fresh temporary directory.
    pub fn write(file_name: &str, config: &impl serde::Serialize) -> Result<Self, ConfigFileError> {
        let text = toml::to_string(config)?;
        let dir = tempfile::tempdir().map_err(|source| ConfigFileError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
        let path = dir.path().join(file_name);
        std::fs::write(&path, text).map_err(|source| ConfigFileError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Self { path, _dir: dir })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A Warden service binary and the configuration it runs (`<binary> run --config <file>`).
#[derive(Debug)]
pub struct ServiceBinary {
    name: String,
    program: PathBuf,
    config: PathBuf,
}

impl ServiceBinary {
    /// `program` (e.g. `env!("CARGO_BIN_EXE_warden-aggregator")`), named `name` in its echoed
    /// logs, running the configuration at `config`.
    pub fn new(name: &str, program: impl Into<PathBuf>, config: impl Into<PathBuf>) -> Self {
        Self {
            name: name.to_string(),
            program: program.into(),
            config: config.into(),
        }
    }

    /// Starts the binary at INFO level with `failpoint` armed if given, and `envs` set (after
    /// the defaults, so they can override them).
    pub fn start(
        &self,
        failpoint: Option<&str>,
        envs: &[(&str, &str)],
    ) -> Result<ServiceProcess, ProcessError> {
        let mut all = vec![("RUST_LOG", "info")];
        if let Some(failpoint) = failpoint {
            all.push((FAILPOINT_ENV, failpoint));
        }
        all.extend_from_slice(envs);
        let config = self.config.to_string_lossy();
        ServiceProcess::spawn(
            &self.name,
            &self.program,
            &["run", "--config", config.as_ref()],
            &all,
        )
    }

    /// Starts the binary again after a crash, with no failpoint, and waits up to `timeout` for
    /// the line containing `started` (the line it logs once it serves, which names its
    /// operations endpoints). Returns the process and that line.
    pub async fn restart(
        &self,
        started: &str,
        timeout: Duration,
    ) -> Result<(ServiceProcess, String), ProcessError> {
        let mut process = self.start(None, &[])?;
        let line = process.wait_for(started, timeout).await?;
        Ok((process, line))
    }
}
