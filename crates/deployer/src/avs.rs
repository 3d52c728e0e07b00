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
use warden_bindings::{WardenChallenges, WardenRegistry};
use warden_protocol::OPERATOR_SET_ID;
use warden_runtime::deployment::{
    AvsContracts, DEPLOYMENT_FORMAT, DeploymentFile, EigenLayerNetwork,
};

use crate::DeployError;
use crate::app::{self, TaskManagerParams};
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

/// Deploys Warden's AVS contracts from the key behind `provider` (which must sign as
/// `deployer`) and creates its operator set. The core must have been checked
/// ([`crate::networks::check_core`]) first.
pub async fn deploy<P: Provider + Clone>(
    provider: &P,
    deployer: Address,
    request: &AvsRequest,
) -> Result<DeploymentFile, DeployError> {
    if request.strategies.is_empty() {
        return Err(DeployError::Config(
            "name at least one strategy whose stake makes an operator's weight".into(),
        ));
    }
    let core = &request.eigenlayer.contracts;
    let chain_id = provider.get_chain_id().await?;
    // A lower bound on the first contract's block: nothing of Warden's is older.
    let deployed_at_block = provider.get_block_number().await?;
    let registry = WardenRegistry::deploy(
        provider.clone(),
        core.allocation_manager,
        deployer,
        request.params.registry.to_sol(),
    )
    .await?;
    tracing::info!(registry = %registry.address(), "WardenRegistry deployed");
    let task_manager = app::deploy_task_manager(
        provider,
        *registry.address(),
        core.rewards_coordinator,
        request.params.task_manager,
    )
    .await?;
    tracing::info!(task_manager = %task_manager.task_manager, "WardenTaskManager deployed");
    configure_avs(
        provider,
        *registry.address(),
        &request.metadata_uri,
        request.strategies.clone(),
        task_manager.restitution,
    )
    .await?;
    tracing::info!("Warden's operator set created");
    Ok(DeploymentFile {
        format: DEPLOYMENT_FORMAT.into(),
        chain_id,
        deployed_at_block,
        deployer,
        metadata_uri: request.metadata_uri.clone(),
        eigenlayer: request.eigenlayer.clone(),
        warden: AvsContracts {
            registry: *registry.address(),
            operator_set_id: OPERATOR_SET_ID,
            strategies: request.strategies.clone(),
            verifier_factory: task_manager.verifier_factory,
            task_manager: task_manager.task_manager,
            challenges: task_manager.challenges,
            restitution: task_manager.restitution,
            rewards: task_manager.rewards,
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

/// Runs the whole deployment on a fork of the chain at `rpc_url` (anvil at `anvil`, on loopback,
/// stopped before this returns), signed by `signer`. The fork credits the key with what the
/// rehearsal needs, so that a key not funded yet can still see what it will cost.
pub async fn rehearse(
    anvil: &Path,
    rpc_url: &Url,
    signer: PrivateKeySigner,
    request: &AvsRequest,
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
    let deployment = deploy(&provider, deployer, request).await?;
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
