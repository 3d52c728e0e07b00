//! Warden's AVS on an EigenLayer someone else deployed (a public network, or a chain set up like
//! one): the registry, the task manager with its challenges, restitution and rewards contracts,
//! and Warden's redistributing operator set, paid by one key and recorded in a
//! [`DeploymentFile`].
//!
//! Nothing is sent before the whole deployment has been rehearsed on a local fork of the chain
//! ([`rehearse`]): the rehearsal runs the very transactions, signed by the same key, against the
//! chain's current state, so a parameter the core refuses (a weight horizon past EigenLayer's
//! delays, a strategy a redistributing set may not hold) fails there, and the gas each
//! transaction uses is measured rather than guessed.

use std::path::Path;

use alloy::consensus::Transaction as _;
use alloy::node_bindings::Anvil;
use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::providers::ext::AnvilApi;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::http::reqwest::Url;
use serde::{Deserialize, Serialize};
use warden_bindings::eigenlayer::AllocationManager;
use warden_bindings::tx::confirm;
use warden_bindings::{
    MlpVerifierFactory, WardenChallenges, WardenRegistry, WardenRewards, WardenTaskManager,
};
use warden_protocol::OPERATOR_SET_ID;
use warden_runtime::deployment::{
    AvsContracts, DEPLOYMENT_FORMAT, DeploymentFile, EigenLayerNetwork,
};

use crate::DeployError;
use crate::app::TaskManagerParams;
use crate::deployment::configure_avs;
use crate::registry::RegistryParams;

/// The AVS metadata EigenLayer's tooling reads from the URI the AVS announces: EigenLayer's AVS
/// metadata format (`name`, `website`, `description`, `logo`, `twitter`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AvsMetadata {
    pub name: String,
    pub website: String,
    pub description: String,
    /// URL of a PNG logo.
    pub logo: String,
    pub twitter: String,
}

impl Default for AvsMetadata {
    fn default() -> Self {
        Self {
            name: "Warden".into(),
            website: String::new(),
            description: "Restaked operators run an AI agent deterministically and co-sign its \
                          actions for a vault; a wrong action is proven on chain and its signers \
                          are slashed."
                .into(),
            logo: String::new(),
            twitter: String::new(),
        }
    }
}

/// What `warden avs deploy --params FILE` reads (TOML, every section optional):
/// `[metadata]`, `[registry]` and `[task_manager]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AvsParams {
    pub metadata: AvsMetadata,
    pub registry: RegistryParams,
    pub task_manager: TaskManagerParams,
}

impl AvsParams {
    /// Reads a parameters file; what it leaves out keeps its default.
    pub fn from_file(path: &Path) -> Result<Self, DeployError> {
        crate::read_toml(path)
    }
}

/// What to deploy, and where.
#[derive(Debug, Clone)]
pub struct AvsRequest {
    pub eigenlayer: EigenLayerNetwork,
    /// Strategies whose slashable stake makes an operator's weight.
    pub strategies: Vec<Address>,
    /// Where the AVS metadata JSON will be served.
    pub metadata_uri: String,
    pub params: AvsParams,
}

/// How far a deployment got. `warden avs deploy` records it after every contract and every
/// setting, so that a run that stopped halfway (a crash, a node that went away, a signal) resumes
/// where it stopped instead of deploying a second set of contracts, and refuses to resume with
/// other inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvsProgress {
    /// [`PROGRESS_FORMAT`].
    pub format: String,
    pub chain_id: u64,
    pub deployer: Address,
    /// A lower bound on the first contract's block.
    pub deployed_at_block: u64,
    /// What was asked.
    pub eigenlayer: EigenLayerNetwork,
    pub strategies: Vec<Address>,
    pub metadata_uri: String,
    pub params: AvsParams,
    /// Each contract once deployed.
    pub registry: Option<Address>,
    pub verifier_factory: Option<Address>,
    pub task_manager: Option<Address>,
    pub rewards: Option<Address>,
}

/// The tag of the progress file's format.
pub const PROGRESS_FORMAT: &str = "warden-avs-progress/1";

impl AvsProgress {
    /// Nothing deployed yet.
    pub fn start(chain_id: u64, deployer: Address, block: u64, request: &AvsRequest) -> Self {
        Self {
            format: PROGRESS_FORMAT.into(),
            chain_id,
            deployer,
            deployed_at_block: block,
            eigenlayer: request.eigenlayer.clone(),
            strategies: request.strategies.clone(),
            metadata_uri: request.metadata_uri.clone(),
            params: request.params.clone(),
            registry: None,
            verifier_factory: None,
            task_manager: None,
            rewards: None,
        }
    }

    /// Reads a progress file, refused if it records another deployment than `request` from
    /// `deployer` on chain `chain_id`.
    pub fn resume(
        path: &Path,
        chain_id: u64,
        deployer: Address,
        request: &AvsRequest,
    ) -> Result<Self, DeployError> {
        let text = std::fs::read_to_string(path).map_err(|source| DeployError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let progress: Self = serde_json::from_str(&text).map_err(|error| {
            DeployError::Config(format!(
                "{} is not a deployment's progress: {error}",
                path.display()
            ))
        })?;
        let fresh = Self::start(chain_id, deployer, progress.deployed_at_block, request);
        let asked = (
            &fresh.format,
            fresh.chain_id,
            fresh.deployer,
            &fresh.eigenlayer,
            &fresh.strategies,
            &fresh.metadata_uri,
            &fresh.params,
        );
        let recorded = (
            &progress.format,
            progress.chain_id,
            progress.deployer,
            &progress.eigenlayer,
            &progress.strategies,
            &progress.metadata_uri,
            &progress.params,
        );
        if asked != recorded {
            return Err(DeployError::Config(format!(
                "{} records a deployment with other inputs (format, chain, deployer, EigenLayer, \
                 strategies, metadata URI or parameters): resume it with the same ones, or \
                 choose another --out",
                path.display()
            )));
        }
        Ok(progress)
    }
}

/// Where a deployment's progress goes after each step.
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    /// Nowhere (a rehearsal, or a devnet that starts over anyway).
    Nowhere,
    /// This file, replaced atomically; a crash leaves the previous step's record whole.
    File(&'a Path),
}

impl Record<'_> {
    async fn save(&self, progress: &AvsProgress, step: &str) -> Result<(), DeployError> {
        let Record::File(path) = self else {
            return Ok(());
        };
        let json = serde_json::to_string_pretty(progress)
            .map_err(|error| DeployError::Config(format!("encoding the progress: {error}")))?;
        let staged = path.with_extension("json.tmp");
        let io = |source| DeployError::Io {
            path: path.to_path_buf(),
            source,
        };
        std::fs::write(&staged, json).map_err(io)?;
        std::fs::rename(&staged, path).map_err(io)?;
        tracing::info!(step, progress = %path.display(), "deployment step recorded");
        // A crash test stops the command here, with the step on chain and on record.
        warden_runtime::failpoint(&format!("avs_deploy.{step}")).await;
        Ok(())
    }
}

/// Deploys Warden's AVS contracts from the key behind `provider` (which must sign as
/// `deployer`) and creates its operator set, one step at a time: the registry, the verifier
/// factory, the task manager, the registry's slasher, the bounty pool's seed, the rewards
/// contract, the registry's rewards distributor, and `configureAVS`. Each step done in `resume`
/// (contracts recorded; settings read from the chain) is skipped, and the progress goes to
/// `record` after each. The core must have been checked ([`crate::networks::check_core`]) first.
pub async fn deploy<P: Provider + Clone>(
    provider: &P,
    deployer: Address,
    request: &AvsRequest,
    resume: Option<AvsProgress>,
    record: Record<'_>,
) -> Result<DeploymentFile, DeployError> {
    if request.strategies.is_empty() {
        return Err(DeployError::Config(
            "name at least one strategy whose stake makes an operator's weight".into(),
        ));
    }
    let core = &request.eigenlayer.contracts;
    let mut progress = match resume {
        Some(progress) => progress,
        None => {
            let chain_id = provider.get_chain_id().await?;
            // A lower bound on the first contract's block: nothing of Warden's is older.
            let block = provider.get_block_number().await?;
            let progress = AvsProgress::start(chain_id, deployer, block, request);
            record.save(&progress, "started").await?;
            progress
        }
    };
    let params = &request.params;

    let registry = match progress.registry {
        Some(registry) => registry,
        None => {
            let registry = *WardenRegistry::deploy(
                provider.clone(),
                core.allocation_manager,
                deployer,
                params.registry.to_sol(),
            )
            .await?
            .address();
            tracing::info!(%registry, "WardenRegistry deployed");
            progress.registry = Some(registry);
            record.save(&progress, "registry").await?;
            registry
        }
    };
    let verifier_factory = match progress.verifier_factory {
        Some(factory) => factory,
        None => {
            let factory = *MlpVerifierFactory::deploy(provider.clone())
                .await?
                .address();
            tracing::info!(%factory, "MlpVerifierFactory deployed");
            progress.verifier_factory = Some(factory);
            record.save(&progress, "verifier_factory").await?;
            factory
        }
    };
    let task_manager = match progress.task_manager {
        Some(task_manager) => task_manager,
        None => {
            let tm = &params.task_manager;
            let task_manager = *WardenTaskManager::deploy(
                provider.clone(),
                registry,
                verifier_factory,
                WardenTaskManager::TaskManagerParams {
                    secondsPerBlock: tm.seconds_per_block,
                    slashingPeriod: tm.slashing_period,
                    valueAtRiskBps: tm.value_at_risk_bps,
                    surplusChallengerBps: tm.surplus_challenger_bps,
                    commitFee: U256::from(tm.commit_fee),
                    challengeBond: U256::from(tm.challenge_bond),
                    challengeBounty: U256::from(tm.challenge_bounty),
                    slashWad: U256::from(tm.slash_wad),
                    slashFee: U256::from(tm.slash_fee),
                },
            )
            .await?
            .address();
            tracing::info!(%task_manager, "WardenTaskManager deployed");
            progress.task_manager = Some(task_manager);
            record.save(&progress, "task_manager").await?;
            task_manager
        }
    };
    let manager = WardenTaskManager::new(task_manager, provider);
    // The task manager creates these: its challenges contract is the one contract that slashes
    // through Warden's AVS identity, its restitution contract the set's redistribution recipient.
    let challenges = manager.challenges().call().await?;
    let restitution = manager.restitution().call().await?;
    let registry_contract = WardenRegistry::new(registry, provider);
    if registry_contract.slasher().call().await?.is_zero() {
        confirm(
            "WardenRegistry.setSlasher",
            registry_contract.setSlasher(challenges).send().await?,
        )
        .await?;
        record.save(&progress, "slasher").await?;
    }
    let bounties = WardenChallenges::new(challenges, provider);
    if params.task_manager.bounty_pool != 0 && bounties.bountyPool().call().await?.is_zero() {
        confirm(
            "WardenChallenges.fundBounties",
            bounties
                .fundBounties()
                .value(U256::from(params.task_manager.bounty_pool))
                .send()
                .await?,
        )
        .await?;
        record.save(&progress, "bounty_pool").await?;
    }
    let rewards = match progress.rewards {
        Some(rewards) => rewards,
        None => {
            let rewards =
                *WardenRewards::deploy(provider.clone(), task_manager, core.rewards_coordinator)
                    .await?
                    .address();
            tracing::info!(%rewards, "WardenRewards deployed");
            progress.rewards = Some(rewards);
            record.save(&progress, "rewards").await?;
            rewards
        }
    };
    if registry_contract
        .rewardsDistributor()
        .call()
        .await?
        .is_zero()
    {
        confirm(
            "WardenRegistry.setRewardsDistributor",
            registry_contract
                .setRewardsDistributor(rewards)
                .send()
                .await?,
        )
        .await?;
        record.save(&progress, "rewards_distributor").await?;
    }
    let set = AllocationManager::OperatorSet {
        avs: registry,
        id: OPERATOR_SET_ID,
    };
    if !AllocationManager::new(core.allocation_manager, provider)
        .isOperatorSet(set)
        .call()
        .await?
    {
        configure_avs(
            provider,
            registry,
            &request.metadata_uri,
            request.strategies.clone(),
            restitution,
        )
        .await?;
        tracing::info!("Warden's operator set created");
    }
    Ok(DeploymentFile {
        format: DEPLOYMENT_FORMAT.into(),
        chain_id: progress.chain_id,
        deployed_at_block: progress.deployed_at_block,
        deployer,
        metadata_uri: request.metadata_uri.clone(),
        eigenlayer: request.eigenlayer.clone(),
        warden: AvsContracts {
            registry,
            operator_set_id: OPERATOR_SET_ID,
            strategies: request.strategies.clone(),
            verifier_factory,
            task_manager,
            challenges,
            restitution,
            rewards,
        },
    })
}

/// One transaction of a rehearsed deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RehearsedTransaction {
    /// `create WardenRegistry`, `WardenRegistry.configureAVS`, ...
    pub label: String,
    /// The contract called; `None` for a creation.
    pub to: Option<Address>,
    pub gas_used: u64,
    /// Ether sent with it (wei).
    pub value: U256,
}

/// A deployment run on a fork of the chain, sending nothing to the chain itself.
#[derive(Debug, Clone)]
pub struct Rehearsal {
    /// Every transaction, in the order sent.
    pub transactions: Vec<RehearsedTransaction>,
    /// What the deployment would record. The real deployment gets the same addresses as long
    /// as the deployer's nonce does not move in between.
    pub deployment: DeploymentFile,
}

impl Rehearsal {
    pub fn total_gas(&self) -> u64 {
        self.transactions.iter().map(|tx| tx.gas_used).sum()
    }

    /// Ether the transactions send (the bounty pool's seed).
    pub fn total_value(&self) -> U256 {
        self.transactions.iter().map(|tx| tx.value).sum()
    }
}

/// Runs the whole deployment (or, from `resume`, what is left of it) on a fork of the chain at
/// `rpc_url` (anvil at `anvil`, on loopback, stopped before this returns), signed by `signer`. The fork credits the key with what the
/// rehearsal needs, so that a key not funded yet can still see what it will cost.
pub async fn rehearse(
    anvil: &Path,
    rpc_url: &Url,
    signer: PrivateKeySigner,
    request: &AvsRequest,
    resume: Option<AvsProgress>,
) -> Result<Rehearsal, DeployError> {
    if !anvil.exists() {
        return Err(DeployError::Config(format!(
            "the rehearsal forks the chain with anvil, and {} does not exist: run `make setup` \
             or name anvil with --anvil or WARDEN_ANVIL",
            anvil.display()
        )));
    }
    let fork = Anvil::at(anvil)
        .host("127.0.0.1")
        .fork(rpc_url.as_str())
        .try_spawn()
        .map_err(|error| DeployError::Config(format!("starting anvil on a fork: {error}")))?;
    let fork_url = fork.endpoint_url();
    let deployer = signer.address();
    let provider = warden_txm::signing_provider(fork_url.clone(), signer);
    let forked_at = provider.get_block_number().await?;
    provider
        .anvil_set_balance(deployer, U256::from(10u128.pow(24)))
        .await?;
    let deployment = deploy(&provider, deployer, request, resume, Record::Nowhere).await?;
    let transactions = sent_since(&provider, forked_at, deployer, &deployment).await?;
    Ok(Rehearsal {
        transactions,
        deployment,
    })
}

/// Every transaction `from` sent after block `since`, labelled by what it did to `deployment`.
async fn sent_since<P: Provider>(
    provider: &P,
    since: u64,
    from: Address,
    deployment: &DeploymentFile,
) -> Result<Vec<RehearsedTransaction>, DeployError> {
    let head = provider.get_block_number().await?;
    let mut sent = Vec::new();
    for number in since + 1..=head {
        let receipts = provider
            .get_block_receipts(number.into())
            .await?
            .unwrap_or_default();
        for receipt in receipts.into_iter().filter(|receipt| receipt.from == from) {
            let transaction = provider
                .get_transaction_by_hash(receipt.transaction_hash)
                .await?
                .ok_or_else(|| {
                    DeployError::Config(format!(
                        "the fork lost transaction {}",
                        receipt.transaction_hash
                    ))
                })?;
            let label = match (receipt.to, receipt.contract_address) {
                (None, Some(created)) => format!("create {}", contract_name(deployment, created)),
                (Some(to), _) => format!(
                    "{}.{}",
                    contract_name(deployment, to),
                    function_name(transaction.input())
                ),
                (None, None) => "create".to_owned(),
            };
            sent.push(RehearsedTransaction {
                label,
                to: receipt.to,
                gas_used: receipt.gas_used,
                value: transaction.value(),
            });
        }
    }
    Ok(sent)
}

fn contract_name(deployment: &DeploymentFile, address: Address) -> String {
    let warden = &deployment.warden;
    [
        (warden.registry, "WardenRegistry"),
        (warden.verifier_factory, "MlpVerifierFactory"),
        (warden.task_manager, "WardenTaskManager"),
        (warden.challenges, "WardenChallenges"),
        (warden.rewards, "WardenRewards"),
    ]
    .into_iter()
    .find(|(known, _)| *known == address)
    .map_or_else(|| address.to_string(), |(_, name)| name.to_owned())
}

fn function_name(input: &[u8]) -> String {
    let Some(selector) = input.get(..4).and_then(|s| <[u8; 4]>::try_from(s).ok()) else {
        return "transfer".to_owned();
    };
    WardenRegistry::WardenRegistryCalls::name_by_selector(selector)
        .or_else(|| WardenChallenges::WardenChallengesCalls::name_by_selector(selector))
        .map_or_else(|| alloy::hex::encode_prefixed(selector), str::to_owned)
}

/// The chain's fees now, for pricing a rehearsal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentFees {
    /// The latest block's base fee (wei per gas).
    pub base_fee: u128,
    /// The tip the node suggests (wei per gas).
    pub priority_fee: u128,
    /// The most a transaction sent now may pay per gas (what a balance must cover).
    pub max_fee: u128,
}

impl CurrentFees {
    /// Reads the fees `provider`'s chain asks now.
    pub async fn read<P: Provider>(provider: &P) -> Result<Self, DeployError> {
        let estimate = provider.estimate_eip1559_fees().await?;
        let base_fee = provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?
            .and_then(|block| block.header.base_fee_per_gas)
            .map_or(0, u128::from);
        Ok(Self {
            base_fee,
            priority_fee: estimate.max_priority_fee_per_gas,
            max_fee: estimate.max_fee_per_gas,
        })
    }

    /// What `gas` costs at the base fee plus the tip (wei).
    pub fn expected_cost(&self, gas: u64) -> U256 {
        U256::from(gas) * U256::from(self.base_fee.saturating_add(self.priority_fee))
    }

    /// The most `gas` may cost at the max fee (wei).
    pub fn worst_cost(&self, gas: u64) -> U256 {
        U256::from(gas) * U256::from(self.max_fee)
    }
}

/// The metadata JSON, as written for the user to host (pretty, with a final newline).
pub fn metadata_json(metadata: &AvsMetadata) -> Result<String, DeployError> {
    serde_json::to_string_pretty(metadata)
        .map(|json| json + "\n")
        .map_err(|error| DeployError::Config(format!("encoding the AVS metadata: {error}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_partial_params_file_keeps_the_defaults_and_refuses_typos() {
        let params: AvsParams = toml::from_str(
            "[metadata]\nname = \"Warden (Hoodi)\"\n[registry]\nweight_horizon = 40\n",
        )
        .unwrap();
        assert_eq!(params.metadata.name, "Warden (Hoodi)");
        assert_eq!(params.registry.weight_horizon, 40);
        assert_eq!(
            params.registry.max_operators,
            RegistryParams::default().max_operators
        );
        assert_eq!(params.task_manager, TaskManagerParams::default());
        let error = toml::from_str::<AvsParams>("[registry]\nweight_horizn = 40\n").unwrap_err();
        assert!(error.to_string().contains("weight_horizn"), "{error}");
    }

    #[test]
    fn the_metadata_json_has_eigenlayer_s_fields() {
        let json: serde_json::Value =
            serde_json::from_str(&metadata_json(&AvsMetadata::default()).unwrap()).unwrap();
        let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["description", "logo", "name", "twitter", "website"]);
    }
}
