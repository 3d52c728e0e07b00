//! Joining EigenLayer and Warden's operator set.
//!
//! The order is EigenLayer's: register as an operator (with allocation delay 0), deposit stake
//! into the strategy, wait until the allocation delay has taken effect, allocate magnitude to
//! Warden's operator set, and register for the set. [`Registrar::register`] skips every step
//! already done, so that an operator who registered with EigenLayer long ago, with stake its
//! stakers delegated, only allocates and registers, and a run interrupted anywhere (or stopped by
//! the allocation delay, 17.5 days on mainnet) is finished by running it again. The last step
//! calls Warden's registry with the BLS public key and a proof of possession, which the registry
//! verifies on chain. eigensdk's EigenLayer writer (eigensdk 2.0.0, written for core v1.3.0)
//! deposits, a selector the redistribution core keeps; everything else goes through the core
//! binding (eigensdk's operator registration makes the operator its own delegation approver, and
//! its operator-set registration is specific to EigenLayer's BN254 middleware).
//!
//! Warden's registry can only refuse the key at the last step, after the EigenLayer transactions
//! have spent gas and locked stake. [`Registrar::check`] asks the registry first, read-only,
//! everything it would check then: that the key is nobody else's, that this operator is not
//! bound to another key or already in the set, and that the registry computes the same proof of
//! possession message (so the proof verifies on chain). [`Registrar::register`] runs the check
//! before any transaction.

use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::transports::TransportError;
use eigensdk::client_elcontracts::error::ElContractsError;
use eigensdk::client_elcontracts::reader::ELChainReader;
use eigensdk::client_elcontracts::writer::ELChainWriter;
use serde::{Deserialize, Serialize};
use warden_bindings::WardenRegistry::WardenRegistryErrors;
use warden_bindings::eigenlayer::{AllocationManager, DelegationManager, IAllocationManagerTypes};
use warden_bindings::tx::{TxError, confirm, confirm_hash};
use warden_bindings::{BLS, WardenRegistry};
use warden_protocol::{OPERATOR_SET_ID, OperatorId, proof_of_possession_message};
use zeroize::Zeroizing;

use warden_keys::OperatorKeys;

/// All of an operator's magnitude: 1e18 ("WAD") in EigenLayer's units.
pub const FULL_MAGNITUDE: u64 = 1_000_000_000_000_000_000;

/// What `warden-operator register` is asked to do beyond registering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterOptions {
    /// Tokens to deposit into the strategy first (0: stake comes from delegations alone).
    pub stake: U256,
    /// Announced to EigenLayer if the operator registers with it here.
    pub metadata_uri: String,
    /// The allocation delay to set when none is set yet (blocks).
    pub allocation_delay: u32,
    /// Share of the operator's magnitude in each of the set's strategies to allocate to Warden
    /// (basis points, at most what is not allocated elsewhere).
    pub magnitude_bps: u16,
    /// How long to wait for the allocation delay to take effect.
    pub allocation_wait: Duration,
}

impl Default for RegisterOptions {
    fn default() -> Self {
        Self {
            stake: U256::ZERO,
            metadata_uri: String::new(),
            allocation_delay: 0,
            magnitude_bps: 10_000,
            allocation_wait: Duration::from_secs(600),
        }
    }
}

/// What [`Registrar::allocate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allocation {
    /// Whether it sent `modifyAllocations`.
    pub sent: bool,
    /// Strategies it left alone, and why.
    pub found: Vec<String>,
}

/// What [`Registrar::exit`] did, and what it found done or pending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exit {
    /// The transactions it sent, by function.
    pub sent: Vec<&'static str>,
    pub found: Vec<String>,
}

/// What a registration did and found done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub operator_id: OperatorId,
    /// The transactions it sent, by function.
    pub sent: Vec<&'static str>,
    /// What was done before it ran (or could not be done now), in words.
    pub found: Vec<String>,
}

/// The contracts an operator registers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationTargets {
    pub delegation_manager: Address,
    pub strategy_manager: Address,
    pub allocation_manager: Address,
    pub permission_controller: Address,
    /// Warden's registry: the AVS address and registrar of its operator set.
    pub registry: Address,
    /// The strategy the operator deposits into and allocates from.
    pub strategy: Address,
}

/// Why a registration step failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("invalid RPC URL {0:?}")]
    RpcUrl(String),
    #[error("RPC request failed: {0}")]
    Rpc(#[from] TransportError),
    #[error("EigenLayer client: {0}")]
    EigenLayer(#[from] ElContractsError),
    #[error(transparent)]
    Transaction(#[from] TxError),
    /// Warden's registry refused the registration; the variant names the reason.
    #[error("Warden's registry refused the registration: {0:?}")]
    Refused(WardenRegistryErrors),
    #[error("contract call failed: {0}")]
    Contract(alloy::contract::Error),
    #[error(
        "the allocation delay of {operator} is not in effect yet; EigenLayer's \
         ALLOCATION_CONFIGURATION_DELAY must pass after registering as an operator"
    )]
    AllocationDelayPending { operator: Address },
    /// Checked before any transaction: another operator registered this BLS key.
    #[error(
        "the BLS key (operator id {operator_id}) is already registered by operator {owner}; \
         each operator needs a key of its own (warden keys new)"
    )]
    KeyTakenByAnotherOperator {
        operator_id: OperatorId,
        owner: Address,
    },
    /// Checked before any transaction: this operator registered with another BLS key before.
    #[error(
        "operator {operator} is bound to the BLS key with id {bound}, not this one \
         ({presented}); register with the key it first registered"
    )]
    BoundToAnotherKey {
        operator: Address,
        bound: OperatorId,
        presented: OperatorId,
    },
    /// Checked before any transaction: the operator is in Warden's set already.
    #[error("operator {operator} is already in Warden's operator set with id {operator_id}")]
    AlreadyRegistered {
        operator: Address,
        operator_id: OperatorId,
    },
    /// Checked before any transaction: the registry would not accept the proof of possession.
    #[error(
        "the registry at {registry} signs proofs of possession over {on_chain}, this operator \
         over {local}: the registry address or the chain is not the one intended"
    )]
    ProofOfPossessionMismatch {
        registry: Address,
        on_chain: B256,
        local: B256,
    },
    /// Checked before any transaction: the proof does not verify (a broken key).
    #[error("the proof of possession does not verify against the BLS public key")]
    InvalidProofOfPossession,
}

impl From<alloy::contract::Error> for RegistrationError {
    fn from(error: alloy::contract::Error) -> Self {
        match error.as_decoded_interface_error::<WardenRegistryErrors>() {
            Some(refusal) => Self::Refused(refusal),
            None => Self::Contract(error),
        }
    }
}

/// Registers one operator, step by step.
#[derive(Debug)]
pub struct Registrar<'a> {
    rpc_url: String,
    targets: RegistrationTargets,
    keys: &'a OperatorKeys,
    writer: ELChainWriter,
}

impl<'a> Registrar<'a> {
    /// A registrar acting for `keys` through the RPC endpoint at `rpc_url`.
    pub fn new(
        rpc_url: &str,
        targets: RegistrationTargets,
        keys: &'a OperatorKeys,
    ) -> Result<Self, RegistrationError> {
        rpc_url
            .parse::<alloy::transports::http::reqwest::Url>()
            .map_err(|_| RegistrationError::RpcUrl(rpc_url.to_string()))?;
        let reader = ELChainReader::new(
            Some(targets.allocation_manager),
            targets.delegation_manager,
            Address::ZERO, // rewards coordinator: not deployed, not used
            Address::ZERO, // AVS directory: superseded by operator sets
            Some(targets.permission_controller),
            rpc_url.to_string(),
        );
        // eigensdk's writer takes the key as a hex string; it lives only in this process's memory.
        let key_hex = Zeroizing::new(hex::encode(keys.ecdsa.to_bytes()));
        let writer = ELChainWriter::new(
            targets.strategy_manager,
            Address::ZERO,
            Some(targets.permission_controller),
            Some(targets.allocation_manager),
            Address::ZERO, // BN254 registry coordinator: Warden has none
            reader,
            rpc_url.to_string(),
            key_hex.to_string(),
        );
        Ok(Self {
            rpc_url: rpc_url.to_string(),
            targets,
            keys,
            writer,
        })
    }

    fn provider(&self) -> Result<impl Provider + Clone, RegistrationError> {
        let url = self
            .rpc_url
            .parse()
            .map_err(|_| RegistrationError::RpcUrl(self.rpc_url.clone()))?;
        Ok(warden_txm::signing_provider(url, self.keys.ecdsa.clone()))
    }

    /// Everything `warden-operator register` does, in order, each step skipped if done:
    /// [`Registrar::check`] before any transaction (an operator already in the set with this
    /// key is done), registering with EigenLayer, depositing `stake`, setting an allocation
    /// delay if none is set, waiting up to `allocation_wait` for it, allocating magnitude
    /// ([`Registrar::allocate`]) and registering for Warden's set.
    pub async fn register(
        &self,
        options: &RegisterOptions,
    ) -> Result<Registered, RegistrationError> {
        let operator_id = self.operator_id();
        let mut done = Registered {
            operator_id,
            sent: Vec::new(),
            found: Vec::new(),
        };
        match self.check().await {
            Err(RegistrationError::AlreadyRegistered { .. }) => {
                done.found
                    .push(format!("already in Warden's operator set as {operator_id}"));
                return Ok(done);
            }
            checked => checked?,
        }
        let provider = self.provider()?;
        let operator = self.keys.address();
        let delegation = DelegationManager::new(self.targets.delegation_manager, &provider);
        if delegation.isOperator(operator).call().await? {
            done.found.push("already an EigenLayer operator".into());
            let manager = AllocationManager::new(self.targets.allocation_manager, &provider);
            if !manager.getAllocationDelay(operator).call().await?._0 {
                // Operators from before slashing have no delay; allocating needs one.
                let pending = manager
                    .setAllocationDelay(operator, options.allocation_delay)
                    .send()
                    .await?;
                confirm("AllocationManager.setAllocationDelay", pending).await?;
                done.sent.push("AllocationManager.setAllocationDelay");
            }
        } else {
            self.register_as_operator(&options.metadata_uri, options.allocation_delay)
                .await?;
            done.sent.push("DelegationManager.registerAsOperator");
        }
        if !options.stake.is_zero() {
            self.deposit(options.stake).await?;
            done.sent.push("StrategyManager.depositIntoStrategy");
        }
        self.wait_until_allocatable(options.allocation_wait).await?;
        let allocation = self.allocate(options.magnitude_bps).await?;
        done.found.extend(allocation.found);
        if allocation.sent {
            done.sent.push("AllocationManager.modifyAllocations");
        }
        self.register_for_set().await?;
        done.sent.push("AllocationManager.registerForOperatorSets");
        Ok(done)
    }

    /// The operator id of this operator's BLS key.
    pub fn operator_id(&self) -> OperatorId {
        OperatorId::from_public_key(&self.keys.bls.public_key().to_eip2537())
    }

    /// Asks Warden's registry, read-only, whether it would accept this operator and key: the
    /// key must not be another operator's, the operator must not be bound to another key or be
    /// in the set already, and the registry must compute the proof-of-possession message this
    /// operator signs (the proof is then verified here, as the registry would). Sends nothing.
    pub async fn check(&self) -> Result<(), RegistrationError> {
        let provider = self.provider()?;
        let registry = WardenRegistry::new(self.targets.registry, &provider);
        let operator = self.keys.address();
        let public_key = self.keys.bls.public_key();
        let encoded = public_key.to_eip2537();
        let operator_id = OperatorId::from_public_key(&encoded);

        let owner = registry.operatorOf(operator_id.as_b256()).call().await?;
        if owner != Address::ZERO && owner != operator {
            return Err(RegistrationError::KeyTakenByAnotherOperator { operator_id, owner });
        }
        let bound = registry.operatorIdOf(operator).call().await?;
        if !bound.is_zero() && bound != operator_id.as_b256() {
            return Err(RegistrationError::BoundToAnotherKey {
                operator,
                bound: bound.into(),
                presented: operator_id,
            });
        }
        // The latest state: every checkpoint starts at or before the largest block number.
        let current = registry
            .operatorAt(operator_id.as_b256(), u32::MAX)
            .call()
            .await?;
        if current._0 {
            return Err(RegistrationError::AlreadyRegistered {
                operator,
                operator_id,
            });
        }

        let chain_id = provider.get_chain_id().await?;
        let local =
            proof_of_possession_message(chain_id, self.targets.registry, operator, &encoded);
        let on_chain = registry
            .proofOfPossessionMessage(operator, BLS::G1Point::from_eip2537(&encoded))
            .call()
            .await?;
        if on_chain != local {
            return Err(RegistrationError::ProofOfPossessionMismatch {
                registry: self.targets.registry,
                on_chain,
                local,
            });
        }
        self.keys
            .bls
            .prove_possession(local.as_slice())
            .verify(local.as_slice(), &public_key)
            .map_err(|_| RegistrationError::InvalidProofOfPossession)
    }

    /// Registers as an EigenLayer operator (unless already one) and deposits `stake` of the
    /// strategy's token. The operator must hold the tokens and some ether for gas.
    pub async fn join_eigenlayer(
        &self,
        stake: U256,
        metadata_uri: &str,
    ) -> Result<(), RegistrationError> {
        let provider = self.provider()?;
        let delegation = DelegationManager::new(self.targets.delegation_manager, &provider);
        if !delegation.isOperator(self.keys.address()).call().await? {
            self.register_as_operator(metadata_uri, 0).await?;
        }
        if !stake.is_zero() {
            self.deposit(stake).await?;
        }
        Ok(())
    }

    /// Registers with EigenLayer as an operator any staker may delegate to (no delegation
    /// approver), with `allocation_delay` blocks between an allocation and its effect.
    ///
    /// Sent through the core binding: eigensdk 2.0.0's `register_as_operator` names the operator
    /// itself as its delegation approver whatever it is asked, and EigenLayer then refuses every
    /// staker's delegation that the operator did not sign.
    async fn register_as_operator(
        &self,
        metadata_uri: &str,
        allocation_delay: u32,
    ) -> Result<(), RegistrationError> {
        let provider = self.provider()?;
        let operator = self.keys.address();
        let pending = DelegationManager::new(self.targets.delegation_manager, &provider)
            .registerAsOperator(Address::ZERO, allocation_delay, metadata_uri.to_string())
            .send()
            .await?;
        confirm("DelegationManager.registerAsOperator", pending).await?;
        tracing::info!(%operator, "registered as an EigenLayer operator");
        Ok(())
    }

    /// Deposits `stake` of the strategy's token, which the operator must hold.
    async fn deposit(&self, stake: U256) -> Result<(), RegistrationError> {
        let provider = self.provider()?;
        let hash = self
            .writer
            .deposit_erc20_into_strategy(self.targets.strategy, stake)
            .await?;
        confirm_hash(&provider, "StrategyManager.depositIntoStrategy", hash).await?;
        tracing::info!(operator = %self.keys.address(), %stake, strategy = %self.targets.strategy, "deposited stake");
        Ok(())
    }

    /// Whether the operator's allocation delay is in effect, so it may allocate.
    pub async fn can_allocate(&self) -> Result<bool, RegistrationError> {
        let provider = self.provider()?;
        let manager = AllocationManager::new(self.targets.allocation_manager, &provider);
        let delay = manager
            .getAllocationDelay(self.keys.address())
            .call()
            .await?;
        Ok(delay._0)
    }

    /// Allocates all of the operator's magnitude in the set's strategies to Warden's set and
    /// registers for the set with the BLS key and its proof of possession (the devnet's
    /// onboarding, which knows nothing is allocated elsewhere). Returns the operator id.
    pub async fn register_with_warden(&self) -> Result<OperatorId, RegistrationError> {
        self.allocate(10_000).await?;
        self.register_for_set().await?;
        Ok(self.operator_id())
    }

    /// Raises the operator's allocation to Warden's set, in each of the set's strategies, to
    /// `magnitude_bps` of its magnitude there, or as near as what is not allocated elsewhere
    /// allows. Never lowers an allocation, and leaves a strategy with a modification still
    /// pending alone (EigenLayer refuses a second one), saying so.
    pub async fn allocate(&self, magnitude_bps: u16) -> Result<Allocation, RegistrationError> {
        let provider = self.provider()?;
        let operator = self.keys.address();
        if !self.can_allocate().await? {
            return Err(RegistrationError::AllocationDelayPending { operator });
        }
        let manager = AllocationManager::new(self.targets.allocation_manager, &provider);
        let set = AllocationManager::OperatorSet {
            avs: self.targets.registry,
            id: OPERATOR_SET_ID,
        };
        let strategies = manager
            .getStrategiesInOperatorSet(set.clone())
            .call()
            .await?;
        let block = provider.get_block_number().await?;
        let mut outcome = Allocation::default();
        let (mut raised, mut magnitudes) = (Vec::new(), Vec::new());
        for strategy in strategies {
            let current = manager
                .getAllocation(operator, set.clone(), strategy)
                .call()
                .await?;
            if current.pendingDiff != 0 && u64::from(current.effectBlock) > block {
                outcome.found.push(format!(
                    "strategy {strategy}: an allocation change takes effect at block {}",
                    current.effectBlock
                ));
                continue;
            }
            let max = manager.getMaxMagnitude(operator, strategy).call().await?;
            let free = manager
                .getAllocatableMagnitude(operator, strategy)
                .call()
                .await?;
            let wanted =
                u64::try_from(u128::from(max) * u128::from(magnitude_bps) / 10_000).unwrap_or(max);
            let target = wanted.min(current.currentMagnitude.saturating_add(free));
            if target <= current.currentMagnitude {
                outcome.found.push(format!(
                    "strategy {strategy}: {} of magnitude {max} already allocated",
                    current.currentMagnitude
                ));
                continue;
            }
            if target < wanted {
                outcome.found.push(format!(
                    "strategy {strategy}: only {target} of the {wanted} asked is free (the rest \
                     is allocated to other operator sets)"
                ));
            }
            raised.push(strategy);
            magnitudes.push(target);
        }
        if raised.is_empty() {
            return Ok(outcome);
        }
        let allocation = IAllocationManagerTypes::AllocateParams {
            operatorSet: set,
            strategies: raised,
            newMagnitudes: magnitudes,
        };
        let pending = manager
            .modifyAllocations(operator, vec![allocation])
            .send()
            .await?;
        confirm("AllocationManager.modifyAllocations", pending).await?;
        outcome.sent = true;
        Ok(outcome)
    }

    /// Registers for Warden's set with the BLS key and its proof of possession.
    pub async fn register_for_set(&self) -> Result<(), RegistrationError> {
        let provider = self.provider()?;
        let operator = self.keys.address();
        let chain_id = provider.get_chain_id().await?;
        let public_key = self.keys.bls.public_key().to_eip2537();
        let message =
            proof_of_possession_message(chain_id, self.targets.registry, operator, &public_key);
        let proof = self
            .keys
            .bls
            .prove_possession(message.as_slice())
            .to_eip2537();
        // abi.encode(G1Point, G2Point) of two static structs is their encodings back to back.
        let data = Bytes::from([public_key.as_slice(), proof.as_slice()].concat());

        let manager = AllocationManager::new(self.targets.allocation_manager, &provider);
        let params = IAllocationManagerTypes::RegisterParams {
            avs: self.targets.registry,
            operatorSetIds: vec![OPERATOR_SET_ID],
            data,
        };
        let pending = manager
            .registerForOperatorSets(operator, params)
            .send()
            .await?;
        confirm("AllocationManager.registerForOperatorSets", pending).await?;
        tracing::info!(%operator, operator_id = %self.operator_id(), "registered with Warden's operator set");
        Ok(())
    }

    /// Leaves Warden's operator set: deregisters (unless already out), then starts deallocating
    /// the operator's magnitude from the set in every strategy still allocated (unless a change
    /// is pending there). EigenLayer keeps the allocation slashable for its deallocation delay;
    /// the returned [`Allocation::found`] names each strategy's effect block.
    pub async fn exit(&self) -> Result<Exit, RegistrationError> {
        let provider = self.provider()?;
        let operator = self.keys.address();
        let manager = AllocationManager::new(self.targets.allocation_manager, &provider);
        let set = AllocationManager::OperatorSet {
            avs: self.targets.registry,
            id: OPERATOR_SET_ID,
        };
        let mut exit = Exit::default();
        if manager
            .isMemberOfOperatorSet(operator, set.clone())
            .call()
            .await?
        {
            let params = IAllocationManagerTypes::DeregisterParams {
                operator,
                avs: self.targets.registry,
                operatorSetIds: vec![OPERATOR_SET_ID],
            };
            confirm(
                "AllocationManager.deregisterFromOperatorSets",
                manager.deregisterFromOperatorSets(params).send().await?,
            )
            .await?;
            exit.sent
                .push("AllocationManager.deregisterFromOperatorSets");
            tracing::info!(%operator, "deregistered from Warden's operator set");
        } else {
            exit.found.push("not in Warden's operator set".into());
        }

        let block = provider.get_block_number().await?;
        let mut lowered = Vec::new();
        for strategy in manager
            .getStrategiesInOperatorSet(set.clone())
            .call()
            .await?
        {
            let current = manager
                .getAllocation(operator, set.clone(), strategy)
                .call()
                .await?;
            if current.pendingDiff != 0 && u64::from(current.effectBlock) > block {
                exit.found.push(format!(
                    "strategy {strategy}: an allocation change takes effect at block {}",
                    current.effectBlock
                ));
            } else if current.currentMagnitude == 0 {
                exit.found
                    .push(format!("strategy {strategy}: nothing allocated"));
            } else {
                lowered.push(strategy);
            }
        }
        if !lowered.is_empty() {
            let allocation = IAllocationManagerTypes::AllocateParams {
                operatorSet: set.clone(),
                newMagnitudes: vec![0; lowered.len()],
                strategies: lowered.clone(),
            };
            confirm(
                "AllocationManager.modifyAllocations",
                manager
                    .modifyAllocations(operator, vec![allocation])
                    .send()
                    .await?,
            )
            .await?;
            exit.sent.push("AllocationManager.modifyAllocations");
            for strategy in lowered {
                let after = manager
                    .getAllocation(operator, set.clone(), strategy)
                    .call()
                    .await?;
                exit.found.push(format!(
                    "strategy {strategy}: deallocation takes effect at block {} (slashable until then)",
                    after.effectBlock
                ));
            }
        }
        Ok(exit)
    }

    /// Polls until the allocation delay is in effect or `timeout` passes.
    pub async fn wait_until_allocatable(&self, timeout: Duration) -> Result<(), RegistrationError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.can_allocate().await? {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(RegistrationError::AllocationDelayPending {
                    operator: self.keys.address(),
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
