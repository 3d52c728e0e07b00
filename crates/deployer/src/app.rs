//! Warden's application on the devnet: the verifier factory, the task manager, the reference
//! agent's on-chain verifier (the factory's deployment), a funded vault with a deny-by-default policy that allows exactly the router's swap,
//! and the agent registered for it with enough price history to decide from the first tick (17
//! observations of the pair's cumulative price, with trades in between).

use alloy::primitives::B256;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use serde::{Deserialize, Serialize};
use warden_agent::mlp::Params;
use warden_agent::{Agent, NetworkAgent, Preset, REFERENCE_MODEL_BYTES};
use warden_bindings::task_manager::WardenTaskManager::AgentConfig;
use warden_bindings::tx::confirm;
use warden_bindings::uniswap::UniswapV2Router02;
use warden_bindings::verifier_factory::MlpPolicy;
use warden_bindings::{MlpVerifierFactory, UniswapV2InputSource, WardenTaskManager, WardenVault};

use crate::DeployError;
use crate::market::{self, MarketContracts, NoiseTrader, whole};

/// Timing and policy of the devnet's agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppParams {
    pub threshold_bps: u16,
    pub response_window: u32,
    pub challenge_window: u32,
    pub tick_interval: u32,
    /// WETH and dollars the vault starts with.
    pub vault_base: u64,
    pub vault_quote: u64,
    /// The vault's cryptoeconomic bound: what one pending action may move, as a share of the
    /// stake that signed it. Below `slash_wad`, so a corrupted quorum loses more than it takes.
    pub stake_bound_bps: u16,
    /// Share of a fraudulent signer's allocation that is slashed, in WAD (1e18 = all of it).
    pub slash_wad: u64,
    /// What a challenger puts up, and gets back with the bounty when it is right (wei).
    pub challenge_bond: u128,
    pub challenge_bounty: u128,
    /// Ether seeded into the bounty pool at deployment (wei).
    pub bounty_pool: u128,
    /// Blocks budgeted after a challenge window to finish slashing.
    pub slashing_period: u32,
    /// The chain's block time as the task manager assumes it when checking that the agent's swap
    /// deadline outlasts its windows. anvil mines a block per transaction, so a devnet block takes
    /// at most a second or so; a second is the safe figure.
    pub seconds_per_block: u32,
    /// What each commitment pays its committer from the agent's service balance (wei).
    pub commit_fee: u128,
    /// Ether the deployer prepays into the agent's service balance (wei).
    pub service_funding: u128,
    /// What `slashSigners` pays its caller per signer it takes shares from, from the bounty
    /// pool (wei).
    pub slash_fee: u128,
    /// The value-at-risk bound: every executed outflow still fraud-provable, together, as a
    /// share of the stake that signed the latest of them. At most `slash_wad`, so slashing can
    /// repay everything a corrupted quorum got executed.
    pub value_at_risk_bps: u16,
    /// Share of a task's slashed stake beyond its vault's loss paid to the challenger that
    /// proved the fraud; the rest is burned.
    pub surplus_challenger_bps: u16,
    /// Least seconds between two observations of the agent's cumulative price: a snapshot's
    /// TWAP window is at least 16 times this. One block on the devnet; on a real chain, size
    /// it to the value at stake (see SECURITY.md).
    pub min_observation_interval: u32,
    /// What each committed task pays the operators that signed it, in the base token (wei of
    /// WETH), through EigenLayer's RewardsCoordinator.
    pub task_fee: u128,
    /// Task fees the vault owner prepays from the vault at registration (wei of WETH).
    pub task_fee_funding: u128,
}

impl Default for AppParams {
    fn default() -> Self {
        Self {
            threshold_bps: 6_667,
            response_window: 60,
            challenge_window: 20,
            // Longer than a task's life (commit, challenge window, execution), leaving a quiet gap
            // between ticks in which the noise trader moves the price.
            tick_interval: 40,
            vault_base: 100,
            vault_quote: 300_000,
            stake_bound_bps: 4_000,
            slash_wad: 500_000_000_000_000_000,
            challenge_bond: 100_000_000_000_000_000,
            challenge_bounty: 500_000_000_000_000_000,
            bounty_pool: 5_000_000_000_000_000_000,
            slashing_period: 100,
            seconds_per_block: 1,
            commit_fee: 1_000_000_000_000_000,
            service_funding: 1_000_000_000_000_000_000,
            slash_fee: 10_000_000_000_000_000,
            value_at_risk_bps: 4_000,
            surplus_challenger_bps: 5_000,
            min_observation_interval: 1,
            task_fee: 10_000_000_000_000_000,
            task_fee_funding: 1_000_000_000_000_000_000,
        }
    }
}

/// The task manager's constructor parameters and the bounty pool seeded at deployment: what
/// `warden avs deploy` fixes for every agent, as opposed to each agent's own windows and fees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskManagerParams {
    /// The chain's block time as the task manager assumes it (seconds).
    pub seconds_per_block: u32,
    /// Blocks budgeted after a challenge window to finish slashing.
    pub slashing_period: u32,
    /// Every executed outflow still fraud-provable, together, as a share of the signing stake.
    pub value_at_risk_bps: u16,
    /// Share of a task's slashed stake beyond its vault's loss paid to the proving challenger.
    pub surplus_challenger_bps: u16,
    /// What each commitment pays its committer from the agent's service balance (wei).
    pub commit_fee: u128,
    /// What a challenger puts up (wei).
    pub challenge_bond: u128,
    /// What a right challenger gets on top of its bond (wei).
    pub challenge_bounty: u128,
    /// Share of a fraudulent signer's allocation slashed, in WAD (1e18 = all of it).
    pub slash_wad: u64,
    /// What `slashSigners` pays its caller per signer, from the bounty pool (wei).
    pub slash_fee: u128,
    /// Ether seeded into the bounty pool at deployment (wei).
    pub bounty_pool: u128,
}

impl Default for TaskManagerParams {
    fn default() -> Self {
        Self::from(&AppParams::default())
    }
}

impl From<&AppParams> for TaskManagerParams {
    fn from(app: &AppParams) -> Self {
        Self {
            seconds_per_block: app.seconds_per_block,
            slashing_period: app.slashing_period,
            value_at_risk_bps: app.value_at_risk_bps,
            surplus_challenger_bps: app.surplus_challenger_bps,
            commit_fee: app.commit_fee,
            challenge_bond: app.challenge_bond,
            challenge_bounty: app.challenge_bounty,
            slash_wad: app.slash_wad,
            slash_fee: app.slash_fee,
            bounty_pool: app.bounty_pool,
        }
    }
}

/// The agent a deployment registers and its operators run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AgentModel {
    /// The shipped reference MLP (9 → 16 → 16 → 3), which its verifier re-runs whole.
    #[default]
    Reference,
    /// A large network generated from a [`Preset`], judged one step at a time from its signers'
    /// committed activation trace.
    Network(Preset),
}

impl AgentModel {
    /// Every model by the name `--model` takes.
    pub const ALL: [Self; 3] = [
        Self::Reference,
        Self::Network(Preset::Large),
        Self::Network(Preset::TenMillion),
    ];

    /// `reference`, `large` or `10m`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Reference => "reference",
            Self::Network(preset) => preset.name(),
        }
    }

    /// The model named `name` ([`AgentModel::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|model| model.name() == name)
    }

    /// The agent for a deployment whose market trades through `router`, with the reference
    /// decoding parameters, and the summary of its model. Generating a large network takes a
    /// moment (about a second for 10 M parameters in a release build).
    pub fn build(
        self,
        router: Address,
    ) -> Result<(std::sync::Arc<dyn Agent>, ModelSummary), DeployError> {
        let params = Params::reference(router);
        match self {
            Self::Reference => {
                let agent = warden_agent::reference_agent(router)
                    .map_err(|error| DeployError::Config(format!("reference agent: {error}")))?;
                let summary = ModelSummary {
                    name: self.name().to_owned(),
                    parameters: agent.model().parameters() as u64,
                    hash: agent.model().hash(),
                };
                Ok((std::sync::Arc::new(agent), summary))
            }
            Self::Network(preset) => {
                let network = preset.generate().map_err(|error| {
                    DeployError::Config(format!("{} network: {error}", preset.name()))
                })?;
                let summary = ModelSummary {
                    name: self.name().to_owned(),
                    parameters: network.parameters() as u64,
                    hash: network.hash(),
                };
                let agent = NetworkAgent::new(network, params).map_err(|error| {
                    DeployError::Config(format!("{} agent: {error}", preset.name()))
                })?;
                Ok((std::sync::Arc::new(agent), summary))
            }
        }
    }
}

/// The model a deployment's agent runs, as its summary reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// `reference`, `large` or `10m` ([`AgentModel::name`]).
    pub name: String,
    /// Weights and biases.
    pub parameters: u64,
    /// The model's hash: of the reference model file, or of a large network's header and weights
    /// root (what the agent hash commits to, with the decoding's parameters).
    pub hash: B256,
}

/// Addresses of Warden's application contracts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppContracts {
    /// The only source of agent verifiers the task manager accepts.
    pub verifier_factory: Address,
    pub task_manager: Address,
    /// Challenges, bounties and slashing (created by the task manager; the registry's slasher).
    pub challenges: Address,
    /// Restitution (created by the task manager; the operator set's redistribution recipient).
    pub restitution: Address,
    /// Pays each committed task's fee to its signers through EigenLayer's RewardsCoordinator (the
    /// registry's rewards distributor).
    pub rewards: Address,
    /// The agent's input source: the Uniswap v2 pair's observations and snapshots.
    pub input_source: Address,
    pub verifier: Address,
    pub vault: Address,
    pub vault_owner: Address,
    pub agent_id: u64,
    /// The model the registered agent runs (empty in the records of deployments made before
    /// large agents, which all ran the reference model).
    #[serde(default)]
    pub model: ModelSummary,
}

/// The task manager and what it needs before Warden's operator set exists: the deployment creates
/// the set (`WardenRegistry.configureAVS`) after this step, because the set's redistribution
/// recipient is fixed at creation and belongs to the task manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskManagerContracts {
    pub verifier_factory: Address,
    pub task_manager: Address,
    /// Created by the task manager; the registry's slasher.
    pub challenges: Address,
    /// Created by the task manager; the operator set's redistribution recipient, which repays
    /// robbed vaults from slashed stake.
    pub restitution: Address,
    /// The rewards contract beside the task manager, the registry's rewards distributor.
    pub rewards: Address,
}

/// Deploys the rest of the application on `contracts` (from [`crate::avs::deploy`]): the agent's
/// verifier, the funded and configured vault, the input source, the registered agent, and the 17
/// observations its first decision needs (with noise trades in between). Each observation needs
/// the chain's clock to have advanced by `min_observation_interval` since the last: the
/// deployment has anvil step its timestamp with every block.
#[allow(clippy::too_many_arguments)] // each is a distinct, named piece of the deployment
pub async fn deploy<P: Provider + Clone>(
    deployer: &P,
    rpc_url: &alloy::transports::http::reqwest::Url,
    contracts: TaskManagerContracts,
    market: &MarketContracts,
    agent: &dyn Agent,
    model: ModelSummary,
    vault_owner: PrivateKeySigner,
    trader: &mut NoiseTrader,
    params: AppParams,
) -> Result<AppContracts, DeployError> {
    let verifier_factory = MlpVerifierFactory::new(contracts.verifier_factory, deployer.clone());
    let task_manager = WardenTaskManager::new(contracts.task_manager, deployer.clone());
    let verifier = deploy_verifier(&verifier_factory, agent, market.router).await?;

    let owner_address = vault_owner.address();
    let owner = warden_txm::signing_provider(rpc_url.clone(), vault_owner);
    let vault = WardenVault::deploy(
        owner.clone(),
        owner_address,
        *task_manager.address(),
        params.stake_bound_bps,
    )
    .await?;
    let swap = UniswapV2Router02::swapExactTokensForTokensCall::SELECTOR.into();
    confirm(
        "WardenVault.setCallPermission",
        vault
            .setCallPermission(market.router, swap, true)
            .send()
            .await?,
    )
    .await?;
    let base_cap = whole(params.vault_base);
    let quote_cap = whole(params.vault_quote);
    confirm(
        "WardenVault.setSpendingCap",
        vault
            .setSpendingCap(market.weth, base_cap, base_cap)
            .send()
            .await?,
    )
    .await?;
    confirm(
        "WardenVault.setSpendingCap",
        vault
            .setSpendingCap(market.dollar, quote_cap, quote_cap)
            .send()
            .await?,
    )
    .await?;
    market::fund(
        deployer,
        market,
        *vault.address(),
        whole(params.vault_base),
        whole(params.vault_quote),
    )
    .await?;

    let input_source = UniswapV2InputSource::deploy(
        deployer.clone(),
        *task_manager.address(),
        market.pair,
        params.min_observation_interval,
    )
    .await?;
    let config = AgentConfig {
        agentHash: agent.agent_hash(),
        verifier,
        vault: *vault.address(),
        inputSource: *input_source.address(),
        tokenBase: market.weth,
        tokenQuote: market.dollar,
        thresholdBps: params.threshold_bps,
        responseWindow: params.response_window,
        challengeWindow: params.challenge_window,
        tickInterval: params.tick_interval,
        taskFee: alloy::primitives::Uint::<96, 2>::try_from(params.task_fee)
            .map_err(|_| DeployError::Config("task_fee exceeds 96 bits".into()))?,
    };
    let manager_as_owner = WardenTaskManager::new(*task_manager.address(), &owner);
    let receipt = confirm(
        "WardenTaskManager.registerAgent",
        manager_as_owner.registerAgent(config).send().await?,
    )
    .await?;
    let agent_id = receipt
        .decoded_log::<WardenTaskManager::AgentRegistered>()
        .map(|event| event.agentId)
        .ok_or_else(|| DeployError::Config("registerAgent emitted no AgentRegistered".into()))?;
    if params.service_funding != 0 {
        confirm(
            "WardenTaskManager.fundService",
            task_manager
                .fundService(agent_id)
                .value(U256::from(params.service_funding))
                .send()
                .await?,
        )
        .await?;
    }

    if params.task_fee_funding != 0 {
        // Paid by the vault: its owner prepays the agent's task fees from the vault's WETH.
        confirm(
            "WardenVault.fundTaskFees",
            vault
                .fundTaskFees(contracts.rewards, U256::from(params.task_fee_funding))
                .send()
                .await?,
        )
        .await?;
    }

    // 16 intervals need 17 observations; the trades give the intervals different prices.
    for _ in 0..=warden_agent::HISTORY_LEN {
        trader.trade().await?;
        confirm(
            "UniswapV2InputSource.observe",
            input_source.observe(agent_id).send().await?,
        )
        .await?;
    }
    Ok(AppContracts {
        task_manager: *task_manager.address(),
        challenges: contracts.challenges,
        restitution: contracts.restitution,
        rewards: contracts.rewards,
        input_source: *input_source.address(),
        verifier,
        verifier_factory: *verifier_factory.address(),
        vault: *vault.address(),
        vault_owner: owner_address,
        agent_id,
        model,
    })
}

/// The agent's verifier, deployed by (or already at) the factory, checked to report the Rust
/// agent's hash: the reference model's, or a large network's (its header and weights root; the
/// weights stay off chain).
pub(crate) async fn deploy_verifier<P: Provider + Clone>(
    factory: &MlpVerifierFactory::MlpVerifierFactoryInstance<P>,
    agent: &dyn Agent,
    router: Address,
) -> Result<Address, DeployError> {
    let params = Params::reference(router);
    let params = MlpPolicy::Params {
        router: params.router,
        slippageBps: params.slippage_bps,
        deadlineSeconds: params.deadline_seconds,
        maxSizeBps: params.max_size_bps,
        sizeBpsPerLogit: params.size_bps_per_logit,
        maxTradeBps: params.max_trade_bps,
    };
    match agent.network() {
        Some(large) => {
            let network = large.network();
            let header = alloy::primitives::Bytes::copy_from_slice(network.header());
            confirm(
                "MlpVerifierFactory.deployNetworkVerifier",
                factory
                    .deployNetworkVerifier(header, network.weights_root(), params)
                    .send()
                    .await?,
            )
            .await?;
        }
        None => {
            let model = alloy::primitives::Bytes::from_static(REFERENCE_MODEL_BYTES);
            confirm(
                "MlpVerifierFactory.deployVerifier",
                factory.deployVerifier(model, params).send().await?,
            )
            .await?;
        }
    }
    let verifier = factory.verifierOf(agent.agent_hash()).call().await?;
    if verifier.is_zero() {
        return Err(DeployError::Config(
            "the verifier factory deployed no verifier under the Rust agent's hash".into(),
        ));
    }
    Ok(verifier)
}

/// The vault's (WETH, dollar) balances.
pub async fn vault_balances<P: Provider>(
    provider: &P,
    market: &MarketContracts,
    vault: Address,
) -> Result<(U256, U256), DeployError> {
    let weth = warden_bindings::uniswap::WETH9::new(market.weth, provider);
    let dollar = warden_bindings::DevnetToken::new(market.dollar, provider);
    Ok((
        weth.balanceOf(vault).call().await?,
        dollar.balanceOf(vault).call().await?,
    ))
}
