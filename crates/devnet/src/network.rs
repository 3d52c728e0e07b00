//! Starting and stopping a devnet: anvil on a free loopback port, everything deployed into it,
//! and a clean stop.

use std::path::{Path, PathBuf};

use alloy::node_bindings::{Anvil, AnvilInstance};
use tempfile::TempDir;
use warden_deployer::market::NoiseTrader;
use warden_deployer::{DeployConfig, DeployError, Deployment};

use crate::DevnetError;
use crate::summary::{DevnetState, Summary};

pub use warden_testkit::default_anvil_path;

/// How to build a devnet.
#[derive(Debug, Clone)]
pub struct DevnetConfig {
    /// What to deploy into the devnet's chain.
    pub deployment: DeployConfig,
    /// The anvil binary.
    pub anvil: PathBuf,
    /// Interface anvil listens on. Loopback unless the devnet must be reached from elsewhere
    /// (for example from other containers).
    pub host: String,
    /// Where keystores and other state go. `None`: a temporary directory, removed at exit.
    pub data_dir: Option<PathBuf>,
    /// Set the chain up like a public network first (EigenLayer deployed by another key,
    /// operators registered with it on their own and delegated to) and have Warden join it as
    /// its users do ([`warden_deployer::existing::deploy_warden`]).
    pub existing_eigenlayer: bool,
    /// Keep only this many recent states, as a node that is not an archive node does (geth keeps
    /// 128): whatever reads older state fails.
    pub prune_history: Option<u64>,
}

impl DevnetConfig {
    /// `operators` operators with 100 wrapped ether of stake each, anvil from the repository's pinned
    /// toolchain (or `$WARDEN_ANVIL`).
    pub fn new(operators: usize) -> Self {
        Self {
            deployment: DeployConfig::new(operators),
            anvil: default_anvil_path(),
            host: "127.0.0.1".to_string(),
            data_dir: None,
            existing_eigenlayer: false,
            prune_history: None,
        }
    }
}

/// A running devnet. Dropping it stops anvil and removes a temporary data directory.
#[derive(Debug)]
pub struct Devnet {
    pub(crate) deployment: Deployment,
    pub(crate) summary: Summary,
    /// Moves the price between ticks; taken by a run of the tick loop while it lasts.
    pub(crate) trader: Option<NoiseTrader>,
    // Dropped after the deployment's handles: anvil stops, then its data directory goes.
    _anvil: AnvilInstance,
    _temporary: Option<TempDir>,
}

impl Devnet {
    /// Starts anvil, deploys EigenLayer and Warden, and registers `config.operators` operators.
    pub async fn start(config: DevnetConfig) -> Result<Self, DevnetError> {
        if config.deployment.operators == 0 {
            return Err(DeployError::Config("a devnet needs at least one operator".into()).into());
        }
        if !config.anvil.exists() {
            return Err(DevnetError::AnvilMissing(config.anvil.clone()));
        }
        let (data_dir, temporary) = match &config.data_dir {
            Some(dir) => (dir.clone(), None),
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("warden-devnet-")
                    .tempdir()
                    .map_err(|source| DeployError::Io {
                        path: std::env::temp_dir(),
                        source,
                    })?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        std::fs::create_dir_all(&data_dir).map_err(|source| DeployError::Io {
            path: data_dir.clone(),
            source,
        })?;

        let mut anvil = Anvil::at(config.anvil.clone())
            .host(config.host.clone())
            .keep_stdout();
        if let Some(states) = config.prune_history {
            anvil = anvil.args(["--prune-history".to_owned(), states.to_string()]);
        }
        let mut anvil = tokio::task::spawn_blocking(move || anvil.try_spawn()).await??;
        // anvil logs every request to stdout; left unread, the pipe would fill (or, closed, fail
        // its writes) and stall the node. Drain it into a log file.
        drain_to_file(&mut anvil, &data_dir.join("anvil.log"))?;
        tracing::info!(rpc_url = %anvil.endpoint_url(), "anvil is up");

        let mut deployment = if config.existing_eigenlayer {
            warden_deployer::existing::deploy_warden(
                anvil.endpoint_url(),
                &data_dir,
                &config.deployment,
            )
            .await?
        } else {
            Deployment::deploy(anvil.endpoint_url(), &data_dir, &config.deployment).await?
        };
        let trader = deployment.take_noise_trader();
        let summary = Summary::running(deployment.summary().clone());
        Ok(Self {
            deployment,
            summary,
            trader,
            _anvil: anvil,
            _temporary: temporary,
        })
    }

    /// What was deployed, and where the keys that act on it are.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// Re-reads every operator's weight and the total from the registry at the latest block.
    pub async fn refresh(&mut self) -> Result<(), DevnetError> {
        self.deployment.refresh().await?;
        self.summary.deployment = self.deployment.summary().clone();
        Ok(())
    }

    /// The devnet's summary as of the last refresh or run.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Stops anvil (and removes a temporary data directory); returns the final summary.
    pub fn stop(self) -> Summary {
        let mut summary = self.summary.clone();
        summary.state = DevnetState::Stopped;
        drop(self);
        summary
    }
}

fn drain_to_file(anvil: &mut AnvilInstance, path: &Path) -> Result<(), DevnetError> {
    let Some(mut stdout) = anvil.child_mut().stdout.take() else {
        return Ok(());
    };
    let mut log = std::fs::File::create(path).map_err(|source| DeployError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    std::thread::Builder::new()
        .name("anvil-log".into())
        .spawn(move || {
            // Ends when anvil exits and closes its end of the pipe.
            let _ = std::io::copy(&mut stdout, &mut log);
        })
        .map_err(|source| DeployError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(())
}
