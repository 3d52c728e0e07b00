//! A chain set up like a public network, before Warden exists on it: another key deploys
//! EigenLayer (and the Uniswap v2 market whose wrapped ether is restaked), operators register
//! with EigenLayer on their own, and stakers deposit and delegate to them. Warden then has to
//! join it the way it joins mainnet: `warden avs deploy`, `warden-operator register`, `warden
//! vault create`. What the devnet's `--existing-eigenlayer` mode and the public-network tests
//! start from.

use std::path::Path;
use std::sync::Arc;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest::Url;
use warden_bindings::eigenlayer::{DelegationManager, StrategyManager};
use warden_bindings::tx::confirm;
use warden_bindings::uniswap::WETH9;
use warden_keys::OperatorKeys;
use warden_operator::{Registrar, RegistrationTargets};
use warden_runtime::deployment::EigenLayerNetwork;

use crate::deployment::{OperatorHandle, create_operator, registration_error};
use crate::eigenlayer::{self, EigenLayerParams};
use crate::market::{self, MarketContracts, MarketParams};
use crate::{DeployConfig, DeployError, accounts};

/// anvil's development account that deploys EigenLayer, and nothing else.
pub const EIGENLAYER_DEPLOYER_KEY: usize = 6;

/// anvil's development account that runs the market (the DEX and its tokens, whose dollars it
/// mints): the chain's faucet for anyone who needs tokens.
pub const MARKET_KEY: usize = 7;

/// Ether each operator and staker receives for gas (and each staker for its stake).
const ACCOUNT_ETHER: u128 = 10_000_000_000_000_000_000;

/// What is on the chain before Warden.
#[derive(Debug, Clone)]
pub struct ExistingEigenLayer {
    /// The core, as a `--eigenlayer FILE` describes it.
    pub network: EigenLayerNetwork,
    /// The key that deployed it.
    pub deployer: Address,
    /// The wrapped-ether strategy the stakers deposited into.
    pub strategy: Address,
    pub market: MarketContracts,
    /// Operators registered with EigenLayer, not with Warden; their keystores are in the data
    /// directory (`operators/<i>`), `operator_id` still zero.
    pub operators: Vec<OperatorHandle>,
    /// Each operator's staker, who deposited `stake_per_operator` and delegated it.
    pub stakers: Vec<Address>,
}

/// Deploys the market from [`MARKET_KEY`] and EigenLayer from [`EIGENLAYER_DEPLOYER_KEY`] into the
/// anvil at `rpc_url`,
/// creates `config.operators` operators (keystores under `data_dir`) that register with
/// EigenLayer themselves, and gives each a staker that deposits `config.stake_per_operator` of
/// wrapped ether and delegates it. The chain's clock steps `config.app.seconds_per_block` per
/// block, as the agent's prices need.
pub async fn prepare(
    rpc_url: &Url,
    data_dir: &Path,
    config: &DeployConfig,
) -> Result<ExistingEigenLayer, DeployError> {
    let signer = accounts::dev_key(EIGENLAYER_DEPLOYER_KEY)?;
    let deployer = signer.address();
    let provider = warden_txm::signing_provider(rpc_url.clone(), signer);
    provider
        .anvil_set_block_timestamp_interval(u64::from(config.app.seconds_per_block))
        .await?;
    let chain_id = provider.get_chain_id().await?;
    let market_key = accounts::dev_key(MARKET_KEY)?;
    let market_owner = market_key.address();
    let market = market::deploy(
        &warden_txm::signing_provider(rpc_url.clone(), market_key),
        market_owner,
        MarketParams::default(),
    )
    .await?;
    // EigenLayer's own parameters, as a public network has them fixed before any AVS: the
    // withdrawal delay covers the weight horizon Warden will ask for.
    let (_, params): (_, EigenLayerParams) = config.effective_params();
    let core = eigenlayer::deploy(&provider, deployer, params, market.weth).await?;
    // EigenLayer's slashOperator underflows while block.number <= MIN_WITHDRAWAL_DELAY.
    let past_delay = u64::from(params.min_withdrawal_delay) + 1;
    let block = provider.get_block_number().await?;
    if block < past_delay {
        provider.anvil_mine(Some(past_delay - block), None).await?;
    }

    let targets = RegistrationTargets {
        delegation_manager: core.delegation_manager,
        strategy_manager: core.strategy_manager,
        allocation_manager: core.allocation_manager,
        permission_controller: core.permission_controller,
        // No Warden yet: registering with EigenLayer does not touch it.
        registry: Address::ZERO,
        strategy: core.strategy,
    };
    let config = Arc::new(config.clone());
    let mut operators = Vec::with_capacity(config.operators);
    let mut stakers = Vec::with_capacity(config.operators);
    for index in 0..config.operators {
        let (handle, keys) = create_operator(data_dir, index, &config).await?;
        provider
            .anvil_set_balance(handle.address, U256::from(ACCOUNT_ETHER))
            .await?;
        register_with_eigenlayer(rpc_url, targets, &keys, index).await?;
        let staker = PrivateKeySigner::random();
        stakers.push(staker.address());
        provider
            .anvil_set_balance(
                staker.address(),
                U256::from(ACCOUNT_ETHER).saturating_add(config.stake_per_operator),
            )
            .await?;
        delegate(
            rpc_url,
            staker,
            &core,
            market.weth,
            handle.address,
            config.stake_per_operator,
        )
        .await?;
        operators.push(handle);
    }
    tracing::info!(
        operators = operators.len(),
        "operators registered with EigenLayer and delegated to"
    );
    Ok(ExistingEigenLayer {
        network: EigenLayerNetwork {
            name: "existing".into(),
            chain_id,
            release: eigenlayer::VERSION_LABEL.into(),
            contracts: (&core).into(),
        },
        deployer,
        strategy: core.strategy,
        market,
        operators,
        stakers,
    })
}

/// The market's faucet: gives `account` `base` wrapped ether and `quote` dollars, as anyone
/// could buy them.
pub async fn faucet(
    rpc_url: &Url,
    market: &MarketContracts,
    account: Address,
    base: U256,
    quote: U256,
) -> Result<(), DeployError> {
    let provider = warden_txm::signing_provider(rpc_url.clone(), accounts::dev_key(MARKET_KEY)?);
    market::fund(&provider, market, account, base, quote).await
}

/// An operator registering with EigenLayer on its own (allocation delay 0, no deposit).
async fn register_with_eigenlayer(
    rpc_url: &Url,
    targets: RegistrationTargets,
    keys: &OperatorKeys,
    index: usize,
) -> Result<(), DeployError> {
    Registrar::new(rpc_url.as_str(), targets, keys)
        .map_err(registration_error(index))?
        .join_eigenlayer(U256::ZERO, "https://operator.invalid/metadata.json")
        .await
        .map_err(registration_error(index))
}

/// A staker wrapping `stake` ether, depositing it into the strategy and delegating to
/// `operator`, whose delegations need no approval.
async fn delegate(
    rpc_url: &Url,
    staker: PrivateKeySigner,
    core: &eigenlayer::EigenLayerContracts,
    weth: Address,
    operator: Address,
    stake: U256,
) -> Result<(), DeployError> {
    let provider = warden_txm::signing_provider(rpc_url.clone(), staker);
    let token = WETH9::new(weth, &provider);
    confirm("WETH9.deposit", token.deposit().value(stake).send().await?).await?;
    confirm(
        "WETH9.approve",
        token.approve(core.strategy_manager, stake).send().await?,
    )
    .await?;
    confirm(
        "StrategyManager.depositIntoStrategy",
        StrategyManager::new(core.strategy_manager, &provider)
            .depositIntoStrategy(core.strategy, weth, stake)
            .send()
            .await?,
    )
    .await?;
    // No approver, so no signature; EigenLayer still checks the expiry first.
    let no_approval = warden_bindings::eigenlayer::ISignatureUtilsMixinTypes::SignatureWithExpiry {
        signature: Default::default(),
        expiry: U256::MAX,
    };
    confirm(
        "DelegationManager.delegateTo",
        DelegationManager::new(core.delegation_manager, &provider)
            .delegateTo(operator, no_approval, B256::ZERO)
            .send()
            .await?,
    )
    .await?;
    Ok(())
}
