//! Deploying Warden's whole world into a chain: the Uniswap v2 market, EigenLayer core, Warden's
//! registry and application, and operators with fresh encrypted keystores that restake and
//! register their BLS12-381 keys exactly as production operators do.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest::Url;
use rand::RngCore;
use warden_bindings::WardenRegistry;
use warden_bindings::tx::confirm;
use warden_keys::{KeystorePaths, OperatorKeys, Password, ScryptParams};
use warden_operator::{Registrar, RegistrationTargets};
use warden_protocol::OPERATOR_SET_ID;

use crate::DeployError;
use crate::accounts;
use crate::app::{self, AppParams};
use crate::avs::{self, AvsMetadata, AvsParams, AvsRequest, Record};
use crate::eigenlayer::{self, EigenLayerParams};
use crate::market::{self, MarketParams, NoiseTrader};
use crate::registry::RegistryParams;
use crate::summary::{DeploymentSummary, EigenLayerSummary, OperatorSummary, WardenContracts};

/// The metadata URI announced for Warden and its operators on a devnet.
pub(crate) const METADATA_URI: &str = "https://warden.invalid/devnet/metadata.json";

/// Ether each operator receives for gas.
const OPERATOR_ETHER: u128 = 10_000_000_000_000_000_000;

/// What to deploy.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    /// Number of operators to create and register.
    pub operators: usize,
    /// Stake each operator restakes, in wei of wrapped ether (the market's base token).
    pub stake_per_operator: U256,
    /// EigenLayer's delays. The withdrawal delay is raised to the registry's weight horizon if
    /// it is shorter.
    pub eigenlayer: EigenLayerParams,
    pub market: MarketParams,
    pub app: AppParams,
    /// The registry's parameters. The weight horizon is widened to cover `app`'s windows.
    pub registry: RegistryParams,
    /// Seed of the noise trader: the same seed gives the same trades.
    pub seed: u64,
    /// scrypt cost of the operators' BLS keystores. Devnet keys guard nothing, so the default is
    /// cheaper than the EIP's (which takes about a second per key on a small machine).
    pub keystore_scrypt: ScryptParams,
    /// The agent registered and run: the reference MLP, or a generated large network.
    pub model: app::AgentModel,
}

impl DeployConfig {
    /// Refuses what no deployment can be: one without operators.
    pub fn check(&self) -> Result<(), DeployError> {
        if self.operators == 0 {
            return Err(DeployError::Config(
                "a deployment needs at least one operator".into(),
            ));
        }
        Ok(())
    }

    /// How many of the (equally staked) operators may be down with tasks still reaching the
    /// agent's quorum threshold: the largest `k` with `(n - k) · 10 000 ≥ n · threshold_bps`.
    /// Zero means a single operator down stops every task.
    pub fn operators_that_may_fail(&self) -> usize {
        let n = self.operators as u64;
        let threshold = u64::from(self.app.threshold_bps);
        (0..=self.operators)
            .rev()
            .find(|&k| (n - k as u64) * 10_000 >= n * threshold)
            .unwrap_or(0)
    }

    /// The registry and EigenLayer parameters actually deployed: the weight horizon covers the
    /// agent's windows, EigenLayer's withdrawal delay covers the horizon, and the operator set has
    /// room for every operator the deployment creates.
    pub fn effective_params(&self) -> (RegistryParams, EigenLayerParams) {
        let mut registry = self.registry.covering(&self.app);
        // A deployment has room for the operators it creates.
        registry.max_operators = registry
            .max_operators
            .max(u32::try_from(self.operators).unwrap_or(u32::MAX));
        let mut eigenlayer = self.eigenlayer;
        eigenlayer.min_withdrawal_delay =
            eigenlayer.min_withdrawal_delay.max(registry.weight_horizon);
        (registry, eigenlayer)
    }

    /// `operators` operators with 100 wrapped ether of stake each: with the default 40 %
    /// value-at-risk bound, four of them back 160 WETH of outflow in any fraud-proof window,
    /// more than the vault's honest trades move in one.
    pub fn new(operators: usize) -> Self {
        Self {
            operators,
            stake_per_operator: market::whole(100),
            eigenlayer: EigenLayerParams::default(),
            market: MarketParams::default(),
            app: AppParams::default(),
            registry: RegistryParams::default(),
            seed: 1,
            keystore_scrypt: devnet_scrypt(),
            model: app::AgentModel::Reference,
        }
    }
}

fn devnet_scrypt() -> ScryptParams {
    // n = 2^14: tens of milliseconds. Keys of a devnet are throwaway.
    ScryptParams::new(1 << 14, 8, 1).unwrap_or_else(|_| ScryptParams::insecure_fast_for_tests())
}

/// One deployed operator: where its keys are and what it registered as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorHandle {
    pub index: usize,
    pub address: Address,
    pub operator_id: B256,
    pub keystores: KeystorePaths,
    /// The file holding the keystores' password (mode 0600, inside the data directory).
    pub password_file: PathBuf,
}

impl OperatorHandle {
    /// Decrypts the operator's keystores with its password file, as its node does. Slow (key
    /// derivation): call it off the async workers where that matters.
    pub fn keys(&self) -> Result<OperatorKeys, warden_keys::KeyError> {
        OperatorKeys::unlock(&self.keystores, Some(&self.password_file))
    }
}

/// A finished deployment: what is on chain, and where the keys that act on it are.
#[derive(Debug)]
pub struct Deployment {
    pub(crate) rpc_url: Url,
    pub(crate) data_dir: PathBuf,
    pub(crate) deployer: PrivateKeySigner,
    /// The key that owns the vault.
    pub(crate) vault_owner: PrivateKeySigner,
    pub(crate) operators: Vec<OperatorHandle>,
    pub(crate) summary: DeploymentSummary,
    pub(crate) agent: Arc<dyn warden_agent::Agent>,
    /// A large agent's model file in the data directory, which the services' configurations
    /// name: services run as their own processes load it from there.
    pub(crate) model_file: Option<PathBuf>,
    /// Moves the price between ticks; taken by whoever drives the chain afterwards.
    pub(crate) trader: Option<NoiseTrader>,
}

impl Deployment {
    /// Deploys everything into the chain at `rpc_url` (paid by anvil's development accounts)
    /// and registers `config.operators` operators, their keystores under `data_dir`.
    pub async fn deploy(
        rpc_url: Url,
        data_dir: &Path,
        config: &DeployConfig,
    ) -> Result<Self, DeployError> {
        config.check()?;
        create_dir(data_dir)?;
        let deployer = accounts::dev_key(0)?;
        let provider = warden_txm::signing_provider(rpc_url.clone(), deployer.clone());
        let owner = deployer.address();
        let chain_id = provider.get_chain_id().await?;

        // anvil mines on demand and gives every block mined within one wall-clock second the
        // same timestamp; the agent's TWAPs need a clock that moves with the chain, as a real
        // chain's slots do.
        provider
            .anvil_set_block_timestamp_interval(u64::from(config.app.seconds_per_block))
            .await?;
        let (registry_params, eigenlayer_params) = config.effective_params();
        // The market first: its wrapped ether is also what operators restake.
        let market = market::deploy(&provider, owner, config.market).await?;
        let eigenlayer =
            eigenlayer::deploy(&provider, owner, eigenlayer_params, market.weth).await?;
        tracing::info!(allocation_manager = %eigenlayer.allocation_manager, "EigenLayer core deployed");
        // EigenLayer's slashOperator underflows while block.number <= MIN_WITHDRAWAL_DELAY.
        let past_delay = u64::from(eigenlayer_params.min_withdrawal_delay) + 1;
        let block = provider.get_block_number().await?;
        if block < past_delay {
            provider.anvil_mine(Some(past_delay - block), None).await?;
        }
        // Warden's contracts as `warden avs deploy` sends them; slashed stake goes to the task
        // manager's restitution contract, which repays robbed vaults their proven losses.
        let request = AvsRequest {
            eigenlayer: crate::networks::EigenLayerNetwork {
                name: "devnet".into(),
                chain_id,
                release: eigenlayer::VERSION_LABEL.into(),
                contracts: (&eigenlayer).into(),
            },
            strategies: vec![eigenlayer.strategy],
            metadata_uri: METADATA_URI.into(),
            params: AvsParams {
                metadata: AvsMetadata::default(),
                registry: registry_params,
                task_manager: app::TaskManagerParams::from(&config.app),
            },
        };
        let file = avs::deploy(&provider, owner, &request, None, Record::Nowhere).await?;
        let warden = &file.warden;
        let registry = WardenRegistry::new(warden.registry, &provider);
        let vault_owner = accounts::dev_key(2)?;
        let redistribution_recipient = warden.restitution;
        tracing::info!(
            registry = %registry.address(),
            weight_horizon = registry_params.weight_horizon,
            %redistribution_recipient,
            "Warden deployed"
        );

        let targets = RegistrationTargets {
            delegation_manager: eigenlayer.delegation_manager,
            strategy_manager: eigenlayer.strategy_manager,
            allocation_manager: eigenlayer.allocation_manager,
            permission_controller: eigenlayer.permission_controller,
            registry: *registry.address(),
            strategy: eigenlayer.strategy,
        };
        // The deployer wraps every operator's stake. Hundreds of operators' stakes are more
        // ether than a development account holds, so the devnet mints what the stakes need.
        let stakes = config
            .stake_per_operator
            .saturating_mul(U256::from(config.operators));
        let balance = provider.get_balance(owner).await?;
        provider
            .anvil_set_balance(owner, balance.saturating_add(stakes))
            .await?;
        let operators = register_operators(
            &provider,
            rpc_url.as_str(),
            data_dir,
            targets,
            &market,
            config,
        )
        .await?;

        // The market and Warden's application: keys 1 (noise trader) and 2 (vault owner) of
        // anvil's development accounts.
        let mut trader =
            NoiseTrader::new(rpc_url.clone(), accounts::dev_key(1)?, market, config.seed);
        market::fund(
            &provider,
            &market,
            trader.address(),
            market::whole(200),
            market::whole(600_000),
        )
        .await?;
        trader.approve().await?;
        let (agent, model) = config.model.build(market.router)?;
        let model_file = write_model_file(data_dir, agent.as_ref(), &model)?;
        tracing::info!(model = model.name, parameters = model.parameters, hash = %model.hash, "agent model");
        // The vault owner gets the vault's funding from the market, as anyone could.
        market::fund(
            &provider,
            &market,
            vault_owner.address(),
            market::whole(config.app.vault_base),
            market::whole(config.app.vault_quote),
        )
        .await?;
        let app = app::create_vault(
            &rpc_url,
            &file,
            &market,
            app::DevnetAgent {
                agent: agent.as_ref(),
                section: agent_section(market.router, model_file.as_deref(), agent.as_ref()),
                model,
            },
            vault_owner.clone(),
            &mut trader,
            config.app,
            &data_dir.join("vault-policy.toml"),
        )
        .await?;
        tracing::info!(task_manager = %app.task_manager, vault = %app.vault, agent_id = app.agent_id, "agent registered");
        // Quorums are refused on weights never refreshed: the first refresh covers everyone just
        // registered, and comes last, so that the devnet starts with weights as fresh as can be
        // (the aggregator's keeper refreshes from then on).
        confirm(
            "WardenRegistry.refreshWeights",
            registry.refreshWeights().send().await?,
        )
        .await?;

        let summary = DeploymentSummary {
            chain_id,
            rpc_url: rpc_url.to_string(),
            eigenlayer: EigenLayerSummary::newton_core(owner, eigenlayer, eigenlayer_params),
            warden: WardenContracts {
                deployer: Some(owner),
                registry: *registry.address(),
                operator_set_id: OPERATOR_SET_ID,
                redistribution_recipient,
            },
            operators: Vec::new(),
            total_weight: U256::ZERO,
            market,
            app,
        };
        let mut deployment = Self {
            rpc_url,
            data_dir: data_dir.to_path_buf(),
            deployer,
            vault_owner,
            operators,
            summary,
            agent,
            model_file,
            trader: Some(trader),
        };
        deployment.refresh().await?;
        Ok(deployment)
    }

    /// Re-reads every operator's weight and the total from the registry at the latest block.
    pub async fn refresh(&mut self) -> Result<(), DeployError> {
        let provider = ProviderBuilder::new().connect_http(self.rpc_url.clone());
        let registry = WardenRegistry::new(self.summary.warden.registry, &provider);
        let block = u32::try_from(provider.get_block_number().await?)
            .map_err(|_| DeployError::Config("block number beyond uint32".into()))?;
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

    /// The agent the operators run ([`DeployConfig::model`]).
    pub fn agent(&self) -> &dyn warden_agent::Agent {
        self.agent.as_ref()
    }

    /// The agent, shared, as the services take it.
    pub fn shared_agent(&self) -> Arc<dyn warden_agent::Agent> {
        Arc::clone(&self.agent)
    }

    /// The `[agent]` section of the services' configurations: the reference agent, or the large
    /// agent's model file in the data directory pinned to the registered agent hash.
    pub fn agent_section(&self) -> warden_runtime::config::AgentSection {
        agent_section(
            self.summary.market.router,
            self.model_file.as_deref(),
            self.agent.as_ref(),
        )
    }

    /// What was deployed, as of the last refresh.
    pub fn summary(&self) -> &DeploymentSummary {
        &self.summary
    }

    /// The JSON-RPC endpoint.
    pub fn rpc_url(&self) -> String {
        self.rpc_url.to_string()
    }

    /// The JSON-RPC endpoint, parsed.
    pub fn endpoint_url(&self) -> Url {
        self.rpc_url.clone()
    }

    /// The funded development account that deployed and owns everything.
    pub fn deployer(&self) -> &PrivateKeySigner {
        &self.deployer
    }

    /// The key that owns the vault.
    pub fn vault_owner(&self) -> &PrivateKeySigner {
        &self.vault_owner
    }

    /// The registered operators.
    pub fn operators(&self) -> &[OperatorHandle] {
        &self.operators
    }

    /// Every registered operator's keys, in registration order ([`OperatorHandle::keys`]).
    pub fn operator_keys(&self) -> Result<Vec<OperatorKeys>, warden_keys::KeyError> {
        self.operators.iter().map(OperatorHandle::keys).collect()
    }

    /// Where keystores and state live.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The noise trader the deployment seeded the price history with, to keep trading; `None`
    /// once taken.
    pub fn take_noise_trader(&mut self) -> Option<NoiseTrader> {
        self.trader.take()
    }

    /// Gives back a noise trader taken with [`Deployment::take_noise_trader`].
    pub fn return_noise_trader(&mut self, trader: NoiseTrader) {
        self.trader = Some(trader);
    }

    /// Anvil's development account `index`. A deployment uses 0 (deployer), 1 (noise trader),
    /// 2 (vault owner), 3 (aggregator) and 4 (challenger).
    pub fn dev_key(&self, index: usize) -> Result<PrivateKeySigner, DeployError> {
        accounts::dev_key(index)
    }
}

/// Operators onboarding at once. Each sends from its own key, so their transactions never wait
/// for one another's nonces; only the deployer's funding goes one transfer at a time.
const ONBOARDING_CONCURRENCY: usize = 16;

/// Creates, funds and registers every operator: with EigenLayer first, then (once their
/// allocation delay has taken effect) with Warden's operator set. Key derivation and both
/// registrations run for up to [`ONBOARDING_CONCURRENCY`] operators at once.
async fn register_operators<P: Provider + Clone>(
    provider: &P,
    rpc_url: &str,
    data_dir: &Path,
    targets: RegistrationTargets,
    market: &market::MarketContracts,
    config: &DeployConfig,
) -> Result<Vec<OperatorHandle>, DeployError> {
    let started = std::time::Instant::now();
    let created = concurrently((0..config.operators).collect(), {
        let data_dir = data_dir.to_path_buf();
        let config = Arc::new(config.clone());
        move |index| {
            let (data_dir, config) = (data_dir.clone(), Arc::clone(&config));
            async move { create_operator(&data_dir, index, &config).await }
        }
    })
    .await?;
    tracing::info!(
        operators = created.len(),
        elapsed_ms = started.elapsed().as_millis(),
        "operator keys created"
    );
    let addresses: Vec<Address> = created.iter().map(|(_, keys)| keys.address()).collect();
    for address in &addresses {
        provider
            .anvil_set_balance(*address, U256::from(OPERATOR_ETHER))
            .await?;
    }
    market::fund_base_each(provider, market, &addresses, config.stake_per_operator).await?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis(),
        "operators funded"
    );
    let rpc_url: Arc<str> = Arc::from(rpc_url);
    let stake = config.stake_per_operator;
    let joined = concurrently(created, {
        let rpc_url = Arc::clone(&rpc_url);
        move |(handle, keys): (OperatorHandle, OperatorKeys)| {
            let rpc_url = Arc::clone(&rpc_url);
            async move {
                let registrar = Registrar::new(&rpc_url, targets, &keys)
                    .map_err(registration_error(handle.index))?;
                registrar
                    .join_eigenlayer(stake, METADATA_URI)
                    .await
                    .map_err(registration_error(handle.index))?;
                Ok((handle, keys))
            }
        }
    })
    .await?;

    tracing::info!(
        elapsed_ms = started.elapsed().as_millis(),
        "operators joined EigenLayer"
    );
    // Operators may allocate once their allocation delay has taken effect.
    let wait = u64::from(config.eigenlayer.allocation_configuration_delay) + 1;
    provider.anvil_mine(Some(wait), None).await?;

    let registered = concurrently(
        joined,
        move |(mut handle, keys): (OperatorHandle, OperatorKeys)| {
            let rpc_url = Arc::clone(&rpc_url);
            async move {
                let registration = registration_error(handle.index);
                let registrar = Registrar::new(&rpc_url, targets, &keys).map_err(registration)?;
                registrar
                    .wait_until_allocatable(Duration::from_secs(30))
                    .await
                    .map_err(registration)?;
                handle.operator_id = registrar
                    .register_with_warden()
                    .await
                    .map_err(registration)?
                    .as_b256();
                Ok(handle)
            }
        },
    )
    .await?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis(),
        "operators registered with Warden"
    );
    Ok(registered)
}

pub(crate) fn registration_error(
    index: usize,
) -> impl Fn(warden_operator::registration::RegistrationError) -> DeployError + Copy {
    move |source| DeployError::Registration {
        index,
        source: Box::new(source),
    }
}

/// Runs `step` on every item, [`ONBOARDING_CONCURRENCY`] at a time, and returns the results in
/// the items' order; the first error wins (the other steps still running are dropped).
pub(crate) async fn concurrently<T, U, F, Fut>(
    items: Vec<T>,
    step: F,
) -> Result<Vec<U>, DeployError>
where
    T: Send + 'static,
    U: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Result<U, DeployError>> + Send + 'static,
{
    let slots = Arc::new(tokio::sync::Semaphore::new(ONBOARDING_CONCURRENCY));
    let mut running = tokio::task::JoinSet::new();
    let count = items.len();
    for (position, item) in items.into_iter().enumerate() {
        let slot = Arc::clone(&slots)
            .acquire_owned()
            .await
            .map_err(|_| DeployError::Config("onboarding stopped".into()))?;
        let work = step(item);
        running.spawn(async move {
            let result = work.await;
            drop(slot);
            (position, result)
        });
    }
    let mut results: Vec<Option<U>> = (0..count).map(|_| None).collect();
    while let Some(joined) = running.join_next().await {
        let (position, result) = joined?;
        results[position] = Some(result?);
    }
    Ok(results.into_iter().flatten().collect())
}

/// An ECDSA key of the devnet written the way a service reads its key: a Web3 Secret Storage
/// keystore and a password file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevKeystore {
    pub address: Address,
    pub keystore: PathBuf,
    pub password_file: PathBuf,
}

impl Deployment {
    /// Writes anvil development account `index` (see [`Deployment::dev_key`]) as an encrypted
    /// keystore under the data directory, for a service started as its own process.
    pub async fn dev_keystore(&self, index: usize) -> Result<DevKeystore, DeployError> {
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
        .map_err(|error| DeployError::Config(format!("writing a keystore: {error}")))?;
        Ok(DevKeystore {
            address: signer.address(),
            keystore: dir.join("keystore.json"),
            password_file,
        })
    }
}

pub(crate) async fn create_operator(
    data_dir: &Path,
    index: usize,
    config: &DeployConfig,
) -> Result<(OperatorHandle, OperatorKeys), DeployError> {
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
    .map_err(|source| DeployError::Keys { index, source })?;

    let handle = OperatorHandle {
        index,
        address: keys.address(),
        operator_id: B256::ZERO,
        keystores,
        password_file,
    };
    Ok((handle, keys))
}

/// The `[agent]` section that runs `agent` on the market of `router`: the reference agent, or a
/// large agent's model file pinned to its agent hash.
pub(crate) fn agent_section(
    router: Address,
    model_file: Option<&Path>,
    agent: &dyn warden_agent::Agent,
) -> warden_runtime::config::AgentSection {
    match model_file {
        Some(path) => warden_runtime::config::AgentSection {
            router,
            model: Some(warden_runtime::config::ModelSource::Path(
                path.to_path_buf(),
            )),
            agent_hash: Some(agent.agent_hash()),
        },
        None => warden_runtime::config::AgentSection::reference(router),
    }
}

/// A large agent's network, written as `<data_dir>/<model>.wnet` for the services' `[agent]
/// model`; `None` for the reference agent, which ships with every binary.
pub(crate) fn write_model_file(
    data_dir: &Path,
    agent: &dyn warden_agent::Agent,
    model: &app::ModelSummary,
) -> Result<Option<PathBuf>, DeployError> {
    let Some(large) = agent.network() else {
        return Ok(None);
    };
    let path = data_dir.join(format!("{}.wnet", model.name));
    std::fs::write(&path, large.network().as_bytes()).map_err(|source| DeployError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(Some(path))
}

pub(crate) fn create_dir(dir: &Path) -> Result<(), DeployError> {
    std::fs::create_dir_all(dir).map_err(|source| DeployError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<(), DeployError> {
    use std::io::Write as _;
    let io = |source| DeployError::Io {
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

/// Makes the registry Warden's AVS, announcing `metadata_uri`, and creates its redistributing
/// operator set over `strategies`: stake slashed from the set is paid to
/// `redistribution_recipient`, fixed for good.
pub async fn configure_avs<P: Provider + Clone>(
    owner: &P,
    registry: Address,
    metadata_uri: &str,
    strategies: Vec<Address>,
    redistribution_recipient: Address,
) -> Result<(), DeployError> {
    confirm(
        "WardenRegistry.configureAVS",
        WardenRegistry::new(registry, owner)
            .configureAVS(
                metadata_uri.to_string(),
                strategies,
                redistribution_recipient,
            )
            .send()
            .await?,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::DeployConfig;

    /// The arithmetic: 2 × weight × 10 000 < 3 × weight × 6 667, so three operators at
    /// the default two-thirds threshold stop with one down; four survive one.
    #[test]
    fn three_operators_at_two_thirds_cannot_lose_one_and_four_can() {
        let may_fail = |operators| DeployConfig::new(operators).operators_that_may_fail();
        assert_eq!(may_fail(1), 0);
        assert_eq!(may_fail(3), 0);
        assert_eq!(may_fail(4), 1);
        assert_eq!(may_fail(7), 2);
    }
}
