//! Warden's application on a devnet: its parameters, the agent it runs, and its vault, created as
//! a vault owner creates one (`warden vault create`) under a deny-by-default policy that allows
//! exactly the router's swap, with enough price history to decide from the first tick (17
//! observations of the pair's cumulative price, with trades in between).

use std::path::Path;

use alloy::primitives::B256;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use serde::{Deserialize, Serialize};
use warden_agent::mlp::Params;
use warden_agent::{Agent, NetworkAgent, Preset, REFERENCE_MODEL_BYTES};
use warden_bindings::tx::confirm;
use warden_bindings::uniswap::UniswapV2Router02;
use warden_bindings::verifier_factory::MlpPolicy;
use warden_bindings::{MlpVerifierFactory, UniswapV2InputSource};
use warden_runtime::deployment::DeploymentFile;

use crate::DeployError;
use crate::market::{MarketContracts, NoiseTrader};
use crate::vault::{
    AgentPolicy, AllowedCall, FundingPolicy, MarketPolicy, SpendingCapPolicy, VaultPolicy,
    VaultRules, format_units,
};

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

/// The agent a devnet's vault runs: the agent itself, the `[agent]` section the services and the
/// vault's policy name it by, and the summary of its model.
#[derive(Debug)]
pub struct DevnetAgent<'a> {
    pub agent: &'a dyn Agent,
    pub section: warden_runtime::config::AgentSection,
    pub model: ModelSummary,
}

impl AppParams {
    /// The vault policy a devnet's agent runs under: the market's swap, these windows, fees,
    /// caps and funding.
    pub fn vault_policy(
        &self,
        market: &MarketContracts,
        agent: warden_runtime::config::AgentSection,
    ) -> VaultPolicy {
        let whole = |tokens: u64| tokens.to_string();
        let ether = |wei: u128| format_units(U256::from(wei), 18);
        VaultPolicy {
            market: MarketPolicy {
                router: market.router,
                pair: market.pair,
                base_token: market.weth,
                quote_token: market.dollar,
            },
            agent: AgentPolicy {
                model: agent.model,
                agent_hash: agent.agent_hash,
                threshold_bps: self.threshold_bps,
                response_window: self.response_window,
                challenge_window: self.challenge_window,
                tick_interval: self.tick_interval,
                min_observation_interval: self.min_observation_interval,
                task_fee: ether(self.task_fee),
            },
            vault: VaultRules {
                stake_bound_bps: self.stake_bound_bps,
                allow: vec![AllowedCall {
                    target: market.router,
                    function: UniswapV2Router02::swapExactTokensForTokensCall::SIGNATURE.into(),
                }],
                caps: [
                    (market.weth, self.vault_base),
                    (market.dollar, self.vault_quote),
                ]
                .into_iter()
                .map(|(token, cap)| SpendingCapPolicy {
                    token,
                    per_action: whole(cap),
                    daily: whole(cap),
                })
                .collect(),
            },
            funding: FundingPolicy {
                base: whole(self.vault_base),
                quote: whole(self.vault_quote),
                service: ether(self.service_funding),
                task_fees: ether(self.task_fee_funding),
            },
        }
    }
}

/// A devnet's vault and agent, created as a vault owner creates them (`warden vault create`,
/// [`crate::vault::create`]) under [`AppParams::vault_policy`], which is written to
/// `policy_file`. `owner` must hold the funding. Then 17 observations of the pair fill the agent's
/// price history, each after a noise trade, so that its intervals have different prices.
#[allow(clippy::too_many_arguments)] // each is a distinct, named piece of the deployment
pub async fn create_vault(
    rpc_url: &alloy::transports::http::reqwest::Url,
    deployment: &DeploymentFile,
    market: &MarketContracts,
    agent: DevnetAgent<'_>,
    owner: PrivateKeySigner,
    trader: &mut NoiseTrader,
    params: AppParams,
    policy_file: &Path,
) -> Result<AppContracts, DeployError> {
    let policy = params.vault_policy(market, agent.section);
    let encoded = toml::to_string_pretty(&policy)
        .map_err(|error| DeployError::Config(format!("encoding the policy: {error}")))?;
    std::fs::write(policy_file, encoded).map_err(|source| DeployError::Io {
        path: policy_file.to_path_buf(),
        source,
    })?;
    let owner_address = owner.address();
    let owner = warden_txm::signing_provider(rpc_url.clone(), owner);
    let record = crate::vault::create(
        &owner,
        owner_address,
        deployment,
        &policy,
        agent.agent,
        std::time::Duration::ZERO,
    )
    .await?;
    let input_source = UniswapV2InputSource::new(record.input_source, &owner);
    // 16 intervals need 17 observations.
    for _ in 0..=warden_agent::HISTORY_LEN {
        trader.trade().await?;
        confirm(
            "UniswapV2InputSource.observe",
            input_source.observe(record.agent_id).send().await?,
        )
        .await?;
    }
    let warden = &deployment.warden;
    Ok(AppContracts {
        verifier_factory: warden.verifier_factory,
        task_manager: warden.task_manager,
        challenges: warden.challenges,
        restitution: warden.restitution,
        rewards: warden.rewards,
        input_source: record.input_source,
        verifier: record.verifier,
        vault: record.vault,
        vault_owner: owner_address,
        agent_id: record.agent_id,
        model: agent.model,
    })
}

/// The agent's verifier, deployed by (or already at) the factory, checked to report the Rust
/// agent's hash: the reference model's, or a large network's (its header and weights root; the
/// weights stay off chain).
pub async fn deploy_verifier<P: Provider + Clone>(
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
