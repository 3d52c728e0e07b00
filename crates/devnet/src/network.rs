//! Starting and stopping a devnet.

use std::path::{Path, PathBuf};
use std::time::Duration;

use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, B256, U256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use rand::RngCore;
use tempfile::TempDir;
use warden_bindings::WardenRegistry;
use warden_bindings::tx::confirm;
use warden_keys::{KeystorePaths, OperatorKeys, Password, ScryptParams};
use warden_operator::{Registrar, RegistrationTargets};
use warden_protocol::OPERATOR_SET_ID;

use crate::DevnetError;
use crate::app::{self, AppParams};
use crate::chain::Chain;
use crate::eigenlayer::{self, EigenLayerParams};
use crate::market::{self, MarketParams, NoiseTrader};
use crate::summary::{DevnetState, EigenLayerSummary, OperatorSummary, Summary, WardenContracts};

/// The metadata URI announced for Warden and its operators on a devnet.
const METADATA_URI: &str = "https://warden.invalid/devnet/metadata.json";

/// Ether each operator receives for gas.
const OPERATOR_ETHER: u128 = 10_000_000_000_000_000_000;

/// How to build a devnet.
#[derive(Debug, Clone)]
pub struct DevnetConfig {
    /// Number of operators to create and register.
    pub operators: usize,
    /// Stake each operator restakes, in wei of wrapped ether (the market's base token).
    pub stake_per_operator: U256,
    /// The anvil binary.
    pub anvil: PathBuf,
    /// Interface anvil listens on. Loopback unless the devnet must be reached from elsewhere
    /// (for example from other containers).
    pub host: String,
    /// Deploy into this already running anvil instead of starting one.
    pub external_rpc: Option<alloy::transports::http::reqwest::Url>,
    /// Where keystores and other state go. `None`: a temporary directory, removed at exit.
    pub data_dir: Option<PathBuf>,
    pub eigenlayer: EigenLayerParams,
    pub market: MarketParams,
    pub app: AppParams,
    /// Seed of the noise trader: the same seed gives the same trades.
    pub seed: u64,
    /// scrypt cost of the operators' BLS keystores. Devnet keys guard nothing, so the default is
    /// cheaper than the EIP's (which takes about a second per key on a small machine).
    pub keystore_scrypt: ScryptParams,
}

impl DevnetConfig {
    /// `operators` operators with 32 wrapped ether of stake each, anvil from the repository's pinned
    /// toolchain (or `$WARDEN_ANVIL`).
    pub fn new(operators: usize) -> Self {
        Self {
            operators,
            stake_per_operator: market::whole(32),
            anvil: default_anvil_path(),
            host: "127.0.0.1".to_string(),
            external_rpc: None,
            data_dir: None,
            eigenlayer: EigenLayerParams::default(),
            market: MarketParams::default(),
            app: AppParams::default(),
            seed: 1,
            keystore_scrypt: devnet_scrypt(),
        }
    }
}

fn devnet_scrypt() -> ScryptParams {
    // n = 2^14: tens of milliseconds. Keys of a devnet are throwaway.
    ScryptParams::new(1 << 14, 8, 1).unwrap_or_else(|_| ScryptParams::insecure_fast_for_tests())
}

/// `$WARDEN_ANVIL`, else the anvil `make setup` installs into the repository.
pub fn default_anvil_path() -> PathBuf {
    if let Some(path) = std::env::var_os("WARDEN_ANVIL") {
        return PathBuf::from(path);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
}

/// One devnet operator: where its keys are and what it registered as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorHandle {
    pub index: usize,
    pub address: Address,
    pub operator_id: B256,
    pub keystores: KeystorePaths,
    /// The file holding the keystores' password (mode 0600, inside the data directory).
    pub password_file: PathBuf,
}

/// A running devnet. Dropping it stops anvil and removes a temporary data directory.
#[derive(Debug)]
pub struct Devnet {
    pub(crate) chain: Chain,
    data_dir: PathBuf,
    _temporary: Option<TempDir>,
    deployer: PrivateKeySigner,
    pub(crate) operators: Vec<OperatorHandle>,
    pub(crate) summary: Summary,
    pub(crate) agent: std::sync::Arc<warden_agent::MlpAgent>,
    /// Moves the price between ticks; taken by the tick loop while it runs.
    pub(crate) trader: Option<NoiseTrader>,
}

impl Devnet {
    /// Starts anvil, deploys EigenLayer and Warden, and registers `config.operators` operators.
    pub async fn start(config: DevnetConfig) -> Result<Self, DevnetError> {
        if config.operators == 0 {
            return Err(DevnetError::Config(
                "a devnet needs at least one operator".into(),
            ));
        }
        if config.external_rpc.is_none() && !config.anvil.exists() {
            return Err(DevnetError::AnvilMissing(config.anvil.clone()));
        }
        let (data_dir, temporary) = match &config.data_dir {
            Some(dir) => {
                create_dir(dir)?;
                (dir.clone(), None)
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("warden-devnet-")
                    .tempdir()
                    .map_err(|source| DevnetError::Io {
                        path: std::env::temp_dir(),
                        source,
                    })?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };

        let chain = match &config.external_rpc {
            Some(url) => Chain::External(url.clone()),
            None => {
                let anvil_path = config.anvil.clone();
                let host = config.host.clone();
                let mut anvil = tokio::task::spawn_blocking(move || {
                    Anvil::at(anvil_path).host(host).keep_stdout().try_spawn()
                })
                .await??;
                // anvil logs every request to stdout; left unread, the pipe would fill (or,
                // closed, fail its writes) and stall the node. Drain it into a log file.
                drain_to_file(&mut anvil, &data_dir.join("anvil.log"))?;
                Chain::Spawned(anvil)
            }
        };
        let rpc_url = chain.endpoint_url().to_string();
        let deployer = chain.dev_key(0)?;
        tracing::info!(%rpc_url, "anvil is up");

        let provider = warden_txm::signing_provider(chain.endpoint_url(), deployer.clone());
        let owner = deployer.address();
        let chain_id = provider.get_chain_id().await?;

        // The market first: its wrapped ether is also what operators restake.
        let market = market::deploy(&provider, owner, config.market).await?;
        let eigenlayer =
            eigenlayer::deploy(&provider, owner, config.eigenlayer, market.weth).await?;
        tracing::info!(allocation_manager = %eigenlayer.allocation_manager, "EigenLayer core deployed");
        let registry =
            WardenRegistry::deploy(provider.clone(), eigenlayer.allocation_manager, owner).await?;
        confirm(
            "WardenRegistry.configureAVS",
            registry
                .configureAVS(METADATA_URI.to_string(), vec![eigenlayer.strategy])
                .send()
                .await?,
        )
        .await?;
        tracing::info!(registry = %registry.address(), "Warden deployed");

        let targets = RegistrationTargets {
            delegation_manager: eigenlayer.delegation_manager,
            strategy_manager: eigenlayer.strategy_manager,
            allocation_manager: eigenlayer.allocation_manager,
            permission_controller: eigenlayer.permission_controller,
            registry: *registry.address(),
            strategy: eigenlayer.strategy,
        };

        let mut handles = Vec::with_capacity(config.operators);
        let mut loaded = Vec::with_capacity(config.operators);
        for index in 0..config.operators {
            let (handle, keys) = create_operator(&data_dir, index, &config).await?;
            fund_operator(
                &provider,
                &market,
                keys.address(),
                config.stake_per_operator,
            )
            .await?;
            let registrar = Registrar::new(&rpc_url, targets, &keys).map_err(|source| {
                DevnetError::Registration {
                    index,
                    source: Box::new(source),
                }
            })?;
            registrar
                .join_eigenlayer(config.stake_per_operator, METADATA_URI)
                .await
                .map_err(|source| DevnetError::Registration {
                    index,
                    source: Box::new(source),
                })?;
            handles.push(handle);
            loaded.push(keys);
        }

        // Operators may allocate once their allocation delay has taken effect.
        let wait = u64::from(config.eigenlayer.allocation_configuration_delay) + 1;
        provider.anvil_mine(Some(wait), None).await?;

        for (handle, keys) in handles.iter_mut().zip(&loaded) {
            let index = handle.index;
            let registrar = Registrar::new(&rpc_url, targets, keys).map_err(|source| {
                DevnetError::Registration {
                    index,
                    source: Box::new(source),
                }
            })?;
            registrar
                .wait_until_allocatable(Duration::from_secs(30))
                .await
                .map_err(|source| DevnetError::Registration {
                    index,
                    source: Box::new(source),
                })?;
            handle.operator_id = registrar
                .register_with_warden()
                .await
                .map_err(|source| DevnetError::Registration {
                    index,
                    source: Box::new(source),
                })?
                .as_b256();
        }
        drop(loaded);

        // The market and Warden's application: keys 1 (noise trader) and 2 (vault owner) of
        // anvil's development accounts.
        let dev_key = |index: usize| chain.dev_key(index);
        let mut trader = NoiseTrader::new(chain.endpoint_url(), dev_key(1)?, market, config.seed);
        market::fund(
            &provider,
            &market,
            trader.address(),
            market::whole(200),
            market::whole(600_000),
        )
        .await?;
        trader.approve().await?;
        let agent = warden_agent::reference_agent(market.router)
            .map_err(|error| DevnetError::Config(format!("reference agent: {error}")))?;
        let app = app::deploy(
            &provider,
            &chain.endpoint_url(),
            *registry.address(),
            &market,
            &agent,
            dev_key(2)?,
            &mut trader,
            config.app,
        )
        .await?;
        tracing::info!(task_manager = %app.task_manager, vault = %app.vault, agent_id = app.agent_id, "agent registered");

        let summary = Summary {
            state: DevnetState::Running,
            chain_id,
            rpc_url,
            eigenlayer: EigenLayerSummary {
                version: warden_bindings::eigenlayer::VERSION.to_string(),
                contracts: eigenlayer,
                params: config.eigenlayer,
            },
            warden: WardenContracts {
                registry: *registry.address(),
                operator_set_id: OPERATOR_SET_ID,
            },
            operators: Vec::new(),
            total_weight: U256::ZERO,
            market,
            app,
            tasks: Vec::new(),
            vault: None,
            challenges: Default::default(),
            slashed: Vec::new(),
            endpoints: Vec::new(),
        };
        let mut devnet = Self {
            chain,
            data_dir,
            _temporary: temporary,
            deployer,
            operators: handles,
            summary,
            agent: std::sync::Arc::new(agent),
            trader: Some(trader),
        };
        devnet.refresh().await?;
        Ok(devnet)
    }

    /// Re-reads every operator's weight and the total from the registry at the latest block.
    pub async fn refresh(&mut self) -> Result<(), DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.chain.endpoint_url());
        let registry = WardenRegistry::new(self.summary.warden.registry, &provider);
        let block = u32::try_from(provider.get_block_number().await?)
            .map_err(|_| DevnetError::Config("block number beyond uint32".into()))?;
        let mut operators = Vec::with_capacity(self.operators.len());
        for handle in &self.operators {
            let state = registry
                .operatorAt(handle.operator_id, block)
                .call()
                .await?;
            let public_key = registry.publicKeyOf(handle.operator_id).call().await?;
            let bls_public_key = warden_bls::PublicKey::from_eip2537(&public_key.to_eip2537())
                .map(|key| format!("0x{}", alloy::hex::encode(key.to_compressed())))
                .unwrap_or_else(|_| "unregistered".to_string());
            operators.push(OperatorSummary {
                address: handle.address,
                operator_id: handle.operator_id,
                bls_public_key,
                weight: U256::from(state._1),
                keystore_dir: handle
                    .keystores
                    .bls
                    .parent()
                    .map(|dir| dir.display().to_string())
                    .unwrap_or_default(),
            });
        }
        let quorum = registry.quorumAt(block).call().await?;
        self.summary.operators = operators;
        self.summary.total_weight = U256::from(quorum.totalWeight);
        Ok(())
    }

    /// The reference agent the operators run.
    pub fn agent(&self) -> &warden_agent::MlpAgent {
        &self.agent
    }

    /// The devnet's summary as of the last refresh.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The JSON-RPC endpoint.
    pub fn rpc_url(&self) -> String {
        self.chain.endpoint_url().to_string()
    }

    /// The funded development account that deployed and owns everything.
    pub fn deployer(&self) -> &PrivateKeySigner {
        &self.deployer
    }

    /// The registered operators.
    pub fn operators(&self) -> &[OperatorHandle] {
        &self.operators
    }

    /// Where keystores and state live.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops anvil (and removes a temporary data directory); returns the final summary.
    pub fn stop(self) -> Summary {
        let mut summary = self.summary.clone();
        summary.state = DevnetState::Stopped;
        drop(self);
        summary
    }
}

/// An ECDSA key of the devnet written the way a service reads its key: a Web3 Secret Storage
/// keystore and a password file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevKeystore {
    pub address: Address,
    pub keystore: PathBuf,
    pub password_file: PathBuf,
}

impl Devnet {
    /// Writes anvil development account `index` (see [`Devnet::dev_key`]) as an encrypted
    /// keystore under the data directory, for a service started as its own process.
    pub async fn dev_keystore(&self, index: usize) -> Result<DevKeystore, DevnetError> {
        let signer = self.dev_key(index)?;
        let dir = self.data_dir.join("keys").join(format!("dev-{index}"));
        if dir.join("keystore.json").is_file() {
            return Ok(DevKeystore {
                address: signer.address(),
                keystore: dir.join("keystore.json"),
                password_file: dir.join("password"),
            });
        }
        create_dir(&dir)?;
        let password_file = dir.join("password");
        let mut secret = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut secret);
        let password = alloy::hex::encode(secret);
        write_private(&password_file, password.as_bytes())?;
        let key = signer.to_bytes();
        let keystore_dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            PrivateKeySigner::encrypt_keystore(
                &keystore_dir,
                &mut rand::thread_rng(),
                key,
                password,
                Some("keystore.json"),
            )
        })
        .await?
        .map_err(|error| DevnetError::Config(format!("writing a keystore: {error}")))?;
        Ok(DevKeystore {
            address: signer.address(),
            keystore: dir.join("keystore.json"),
            password_file,
        })
    }
}

async fn create_operator(
    data_dir: &Path,
    index: usize,
    config: &DevnetConfig,
) -> Result<(OperatorHandle, OperatorKeys), DevnetError> {
    let dir = data_dir.join("operators").join(index.to_string());
    create_dir(&dir)?;
    let password_file = dir.join("password");
    let mut secret = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut secret);
    write_private(&password_file, alloy::hex::encode(secret).as_bytes())?;

    let keystores = KeystorePaths::in_dir(&dir);
    let scrypt = config.keystore_scrypt;
    let paths = keystores.clone();
    let password_path = password_file.clone();
    // Key derivation is deliberately slow: keep it off the async workers.
    let keys = tokio::task::spawn_blocking(move || {
        let password =
            Password::from_file(&password_path).map_err(warden_keys::KeyError::Password)?;
        OperatorKeys::generate(&paths, &password, scrypt, &mut rand::thread_rng())?;
        // Read the keys back the way an operator process does, from the encrypted files.
        OperatorKeys::unlock(&paths, Some(&password_path))
    })
    .await?
    .map_err(|source| DevnetError::Keys { index, source })?;

    let handle = OperatorHandle {
        index,
        address: keys.address(),
        operator_id: B256::ZERO,
        keystores,
        password_file,
    };
    Ok((handle, keys))
}

async fn fund_operator<P: Provider + Clone>(
    provider: &P,
    market: &market::MarketContracts,
    operator: Address,
    stake: U256,
) -> Result<(), DevnetError> {
    provider
        .anvil_set_balance(operator, U256::from(OPERATOR_ETHER))
        .await?;
    market::fund_base(provider, market, operator, stake).await
}

fn drain_to_file(anvil: &mut AnvilInstance, path: &Path) -> Result<(), DevnetError> {
    let Some(mut stdout) = anvil.child_mut().stdout.take() else {
        return Ok(());
    };
    let mut log = std::fs::File::create(path).map_err(|source| DevnetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    std::thread::Builder::new()
        .name("anvil-log".into())
        .spawn(move || {
            // Ends when anvil exits and closes its end of the pipe.
            let _ = std::io::copy(&mut stdout, &mut log);
        })
        .map_err(|source| DevnetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(())
}

fn create_dir(dir: &Path) -> Result<(), DevnetError> {
    std::fs::create_dir_all(dir).map_err(|source| DevnetError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

fn write_private(path: &Path, contents: &[u8]) -> Result<(), DevnetError> {
    use std::io::Write as _;
    let io = |source| DevnetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    file.write_all(contents).map_err(io)
}
