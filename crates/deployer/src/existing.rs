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

use warden_bindings::WardenRegistry;
use warden_operator::RegisterOptions;

use crate::app::{DevnetAgent, TaskManagerParams};
use crate::avs::{self, AvsMetadata, AvsParams, AvsRequest};
use crate::deployment::{
    METADATA_URI, OperatorHandle, agent_section, concurrently, create_dir, create_operator,
    registration_error, write_model_file, write_private,
};
use crate::eigenlayer::{self, EigenLayerParams};
use crate::market::{self, MarketContracts, MarketParams, NoiseTrader};
use crate::summary::{DeploymentSummary, EigenLayerSummary, WardenContracts};
use crate::{DeployConfig, DeployError, Deployment, accounts};

/// anvil's development account of the devnet's noise trader.
const NOISE_TRADER_KEY: usize = 1;

/// anvil's development account that deploys EigenLayer, and nothing else.
pub const EIGENLAYER_DEPLOYER_KEY: usize = 6;

/// anvil's development account that runs the market (the DEX and its tokens, whose dollars it
/// mints): the chain's faucet for anyone who needs tokens.
pub const MARKET_KEY: usize = 7;

/// anvil's development account that funds new keys with ether, as an exchange withdrawal would.
pub const FUNDER_KEY: usize = 8;

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
    /// Every core contract, and the parameters it was deployed with.
    pub contracts: eigenlayer::EigenLayerContracts,
    pub params: EigenLayerParams,
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
        contracts: core,
        params,
        market,
        operators,
        stakers,
    })
}

/// What a funder outside Warden does: sends `wei` of ether to `to` from [`FUNDER_KEY`].
pub async fn transfer_ether(rpc_url: &Url, to: Address, wei: U256) -> Result<(), DeployError> {
    use alloy::network::TransactionBuilder;
    let funder = warden_txm::signing_provider(rpc_url.clone(), accounts::dev_key(FUNDER_KEY)?);
    let transfer = alloy::rpc::types::TransactionRequest::default()
        .with_to(to)
        .with_value(wei);
    confirm("transfer", funder.send_transaction(transfer).await?).await?;
    Ok(())
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

/// Ether the funder sends Warden's deployer: the bounty pool's seed and the deployment's gas.
const WARDEN_DEPLOYER_ETHER: u128 = 50_000_000_000_000_000_000;

/// A fresh ECDSA key written as a keystore (`<data_dir>/keys/<name>.json`) with a password file
/// beside it, as `warden keys new-account` writes it for a user.
fn fresh_account(data_dir: &Path, name: &str) -> Result<PrivateKeySigner, DeployError> {
    use rand::RngCore;
    let dir = data_dir.join("keys");
    create_dir(&dir)?;
    let mut secret = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut secret);
    let password = alloy::hex::encode(secret);
    write_private(&dir.join(format!("{name}.password")), password.as_bytes())?;
    warden_keys::ecdsa::create(
        &dir.join(format!("{name}.json")),
        &warden_keys::Password::new(password),
        &mut rand::thread_rng(),
    )
    .map_err(|error| DeployError::Config(format!("creating the {name} keystore: {error}")))
}

/// Warden joining a chain set up like a public network ([`prepare`]), the way its users join
/// one: a fresh keystore funded by a transfer deploys the AVS ([`crate::avs::deploy`], what
/// `warden avs deploy` sends) and writes `deployment.json`; the operators, registered with
/// EigenLayer before Warden existed, join with [`Registrar::register`] (`warden-operator
/// register`); and a vault owner with a fresh keystore creates the vault under a policy file
/// ([`crate::vault::create`], `warden vault create`), whose price history a noise trader moves.
/// The result is a [`Deployment`] like any other, whose summary records both deployers.
pub async fn deploy_warden(
    rpc_url: Url,
    data_dir: &Path,
    config: &DeployConfig,
) -> Result<Deployment, DeployError> {
    config.check()?;
    create_dir(data_dir)?;
    let existing = prepare(&rpc_url, data_dir, config).await?;
    let chain = warden_txm::signing_provider(rpc_url.clone(), accounts::dev_key(FUNDER_KEY)?);
    let chain_id = chain.get_chain_id().await?;

    // Warden's deployer: a fresh key, funded by a transfer.
    let warden_deployer = fresh_account(data_dir, "warden-deployer")?;
    transfer_ether(
        &rpc_url,
        warden_deployer.address(),
        U256::from(WARDEN_DEPLOYER_ETHER),
    )
    .await?;
    let (registry_params, _) = config.effective_params();
    let request = AvsRequest {
        eigenlayer: existing.network.clone(),
        strategies: vec![existing.strategy],
        metadata_uri: METADATA_URI.into(),
        params: AvsParams {
            metadata: AvsMetadata::default(),
            registry: registry_params,
            task_manager: TaskManagerParams::from(&config.app),
        },
    };
    let deployer_provider = warden_txm::signing_provider(rpc_url.clone(), warden_deployer.clone());
    let file = avs::deploy(
        &deployer_provider,
        warden_deployer.address(),
        &request,
        None,
        avs::Record::Nowhere,
    )
    .await?;
    file.write_new(&data_dir.join("deployment.json"))
        .map_err(|error| DeployError::Config(format!("writing deployment.json: {error}")))?;

    // The operators join, each from its own keys.
    let targets = RegistrationTargets {
        delegation_manager: existing.contracts.delegation_manager,
        strategy_manager: existing.contracts.strategy_manager,
        allocation_manager: existing.contracts.allocation_manager,
        permission_controller: existing.contracts.permission_controller,
        registry: file.warden.registry,
        strategy: existing.strategy,
    };
    let rpc: Arc<str> = Arc::from(rpc_url.as_str());
    let operators = concurrently(
        existing.operators.clone(),
        move |mut handle: OperatorHandle| {
            let rpc = Arc::clone(&rpc);
            async move {
                let registration = registration_error(handle.index);
                let keys = handle.keys().map_err(|source| DeployError::Keys {
                    index: handle.index,
                    source,
                })?;
                let options = RegisterOptions {
                    allocation_wait: std::time::Duration::from_secs(30),
                    ..RegisterOptions::default()
                };
                let done = Registrar::new(&rpc, targets, &keys)
                    .map_err(registration)?
                    .register(&options)
                    .await
                    .map_err(registration)?;
                handle.operator_id = done.operator_id.as_b256();
                Ok(handle)
            }
        },
    )
    .await?;

    // The vault owner: a fresh key, ether by transfer and tokens from the market.
    let owner = fresh_account(data_dir, "vault-owner")?;
    transfer_ether(&rpc_url, owner.address(), U256::from(ACCOUNT_ETHER)).await?;
    faucet(
        &rpc_url,
        &existing.market,
        owner.address(),
        market::whole(config.app.vault_base),
        market::whole(config.app.vault_quote),
    )
    .await?;
    // A noise trader moves the price between the observations of the agent's history, and
    // between ticks afterwards.
    let mut trader = NoiseTrader::new(
        rpc_url.clone(),
        accounts::dev_key(NOISE_TRADER_KEY)?,
        existing.market,
        config.seed,
    );
    faucet(
        &rpc_url,
        &existing.market,
        trader.address(),
        market::whole(200),
        market::whole(600_000),
    )
    .await?;
    trader.approve().await?;
    let (agent, model) = config.model.build(existing.market.router)?;
    let model_file = write_model_file(data_dir, agent.as_ref(), &model)?;
    let app = crate::app::create_vault(
        &rpc_url,
        &file,
        &existing.market,
        DevnetAgent {
            agent: agent.as_ref(),
            section: agent_section(
                existing.market.router,
                model_file.as_deref(),
                agent.as_ref(),
            ),
            model,
        },
        owner.clone(),
        &mut trader,
        config.app,
        &data_dir.join("vault-policy.toml"),
    )
    .await?;
    let owner_provider = warden_txm::signing_provider(rpc_url.clone(), owner.clone());
    // Quorums are refused on weights never refreshed.
    confirm(
        "WardenRegistry.refreshWeights",
        WardenRegistry::new(file.warden.registry, &owner_provider)
            .refreshWeights()
            .send()
            .await?,
    )
    .await?;

    let summary = DeploymentSummary {
        chain_id,
        rpc_url: rpc_url.to_string(),
        eigenlayer: EigenLayerSummary::newton_core(
            existing.deployer,
            existing.contracts,
            existing.params,
        ),
        warden: WardenContracts {
            deployer: Some(warden_deployer.address()),
            registry: file.warden.registry,
            operator_set_id: file.warden.operator_set_id,
            redistribution_recipient: file.warden.restitution,
        },
        operators: Vec::new(),
        total_weight: U256::ZERO,
        market: existing.market,
        app,
    };
    let mut deployment = Deployment {
        rpc_url,
        data_dir: data_dir.to_path_buf(),
        deployer: warden_deployer,
        vault_owner: owner,
        operators,
        summary,
        agent,
        model_file,
        trader: Some(trader),
    };
    deployment.refresh().await?;
    Ok(deployment)
}
