//! `warden-operator status`: where an operator stands with Warden, read from the chain alone (no
//! key, no database): EigenLayer registration, allocation delay, delegated stake and allocation
//! in each strategy of Warden's set, slashable stake, registration and weight, task fees
//! earned, and the one step to take next.

use std::fmt;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use warden_bindings::eigenlayer::{AllocationManager, DelegationManager};
use warden_bindings::{WardenRegistry, WardenRewards, WardenTaskManager};
use warden_protocol::OPERATOR_SET_ID;
use warden_runtime::deployment::DeploymentFile;

use warden_bindings::WardenRegistry::WardenRegistryErrors;

/// Why a status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("RPC request failed: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    #[error("contract call failed: {0}")]
    Contract(#[from] alloy::contract::Error),
}

/// Agents whose fee tokens are looked at, at most: a bound on the reads one status makes.
const MAX_AGENTS_READ: u64 = 64;

/// One strategy of Warden's set, for this operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyStatus {
    pub strategy: Address,
    /// Shares delegated to the operator (its own deposits and its stakers').
    pub delegated_shares: U256,
    /// The operator's magnitude in the strategy (1e18 until it is slashed).
    pub max_magnitude: u64,
    /// Magnitude allocated to Warden's set now.
    pub allocated_magnitude: u64,
    /// A change to that allocation not in effect yet: (signed difference, block).
    pub pending: Option<(i128, u32)>,
    /// Stake slashable by Warden now (token units the allocation makes slashable).
    pub slashable_stake: U256,
}

/// Everything `status` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorStatus {
    pub operator: Address,
    pub block: u64,
    pub eigenlayer_operator: bool,
    /// (set, delay in blocks); a delay set but not in effect yet reads as not set.
    pub allocation_delay: (bool, u32),
    pub strategies: Vec<StrategyStatus>,
    /// The BLS key's id this operator is bound to in Warden's registry (zero: none).
    pub operator_id: B256,
    pub registered: bool,
    /// Quorum weight now, and the set's total.
    pub weight: u128,
    pub total_weight: u128,
    /// Below this the operator may be ejected.
    pub minimum_weight: u128,
    /// Task fees accrued to the operator, not yet paid out through EigenLayer, by token.
    pub pending_fees: Vec<(Address, U256)>,
}

impl OperatorStatus {
    /// Reads the operator's status from the chain.
    pub async fn read<P: Provider>(
        provider: &P,
        deployment: &DeploymentFile,
        operator: Address,
    ) -> Result<Self, StatusError> {
        let core = &deployment.eigenlayer.contracts;
        let warden = &deployment.warden;
        let delegation = DelegationManager::new(core.delegation_manager, provider);
        let manager = AllocationManager::new(core.allocation_manager, provider);
        let registry = WardenRegistry::new(warden.registry, provider);
        let block = provider.get_block_number().await?;
        let at = u32::try_from(block).unwrap_or(u32::MAX);

        let eigenlayer_operator = delegation.isOperator(operator).call().await?;
        let delay = manager.getAllocationDelay(operator).call().await?;
        let set = AllocationManager::OperatorSet {
            avs: warden.registry,
            id: OPERATOR_SET_ID,
        };
        let mut strategies = Vec::new();
        for strategy in manager
            .getStrategiesInOperatorSet(set.clone())
            .call()
            .await?
        {
            let allocation = manager
                .getAllocation(operator, set.clone(), strategy)
                .call()
                .await?;
            let slashable = manager
                .getAllocatedStake(set.clone(), vec![operator], vec![strategy])
                .call()
                .await?;
            strategies.push(StrategyStatus {
                strategy,
                delegated_shares: delegation.operatorShares(operator, strategy).call().await?,
                max_magnitude: manager.getMaxMagnitude(operator, strategy).call().await?,
                allocated_magnitude: allocation.currentMagnitude,
                pending: (allocation.pendingDiff != 0 && u64::from(allocation.effectBlock) > block)
                    .then_some((allocation.pendingDiff, allocation.effectBlock)),
                slashable_stake: slashable
                    .first()
                    .and_then(|row| row.first())
                    .copied()
                    .unwrap_or_default(),
            });
        }

        let operator_id = registry.operatorIdOf(operator).call().await?;
        let (registered, weight) = if operator_id.is_zero() {
            (false, 0)
        } else {
            let state = registry.operatorAt(operator_id, at).call().await?;
            (state._0, state._1.to::<u128>())
        };
        // Before the first refresh of the weights the registry has no set to report.
        let total_weight = match registry.quorumAt(at).call().await {
            Ok(quorum) => quorum.totalWeight.to::<u128>(),
            Err(error)
                if matches!(
                    error.as_decoded_interface_error::<WardenRegistryErrors>(),
                    Some(WardenRegistryErrors::NoOperatorSetAtBlock(_))
                ) =>
            {
                0
            }
            Err(error) => return Err(error.into()),
        };
        let minimum_weight = registry.minimumWeight().call().await?.to::<u128>();
        let pending_fees = pending_fees(provider, deployment, operator).await?;
        Ok(Self {
            operator,
            block,
            eigenlayer_operator,
            allocation_delay: delay.into(),
            strategies,
            operator_id,
            registered,
            weight,
            total_weight,
            minimum_weight,
            pending_fees,
        })
    }

    /// The one thing to do next, in words.
    pub fn next_step(&self) -> String {
        if !self.eigenlayer_operator {
            return "register: `warden-operator register --deployment FILE` registers with \
                    EigenLayer, allocates and joins Warden's set"
                .into();
        }
        if !self.allocation_delay.0 {
            return "wait for the allocation delay to take effect (EigenLayer's \
                    ALLOCATION_CONFIGURATION_DELAY after it was set), then run \
                    `warden-operator register` again"
                .into();
        }
        if self.strategies.iter().all(|s| s.delegated_shares.is_zero()) {
            return "get stake: deposit (`warden-operator register --stake`) or have stakers \
                    delegate to this operator"
                .into();
        }
        if let Some((_, block)) = self.strategies.iter().find_map(|s| s.pending) {
            return format!(
                "wait for block {block}, when the allocation change takes effect, then run \
                 `warden-operator register` if not registered"
            );
        }
        if self.strategies.iter().all(|s| s.allocated_magnitude == 0) {
            return "allocate: `warden-operator register` allocates magnitude to Warden's set"
                .into();
        }
        if !self.registered {
            return "register for Warden's set: `warden-operator register`".into();
        }
        if self.weight < self.minimum_weight {
            return format!(
                "raise the stake: weight {} is below the registry's minimum {}, and anyone may \
                 eject the operator (a refresh of the weights counts new stake)",
                self.weight, self.minimum_weight
            );
        }
        "none: registered and weighted; keep `warden-operator run` running (leaving: see the \
         operator guide, docs/operator-guide.md, for EigenLayer's delays)"
            .into()
    }
}

/// Task fees accrued to `operator` and not yet paid, for each agent's fee token.
async fn pending_fees<P: Provider>(
    provider: &P,
    deployment: &DeploymentFile,
    operator: Address,
) -> Result<Vec<(Address, U256)>, StatusError> {
    let task_manager = WardenTaskManager::new(deployment.warden.task_manager, provider);
    let rewards = WardenRewards::new(deployment.warden.rewards, provider);
    let agents = task_manager.agentCount().call().await?;
    let mut tokens: Vec<Address> = Vec::new();
    for agent in 1..=agents.min(MAX_AGENTS_READ) {
        let token = task_manager.getAgent(agent).call().await?.tokenBase;
        if !tokens.contains(&token) {
            tokens.push(token);
        }
    }
    let mut fees = Vec::with_capacity(tokens.len());
    for token in tokens {
        fees.push((token, rewards.pendingReward(token, operator).call().await?));
    }
    Ok(fees)
}

/// `part` as a percentage of `whole`, for display (`0.00 %` of nothing).
fn percent(part: u128, whole: u128) -> String {
    if whole == 0 {
        return "0.00 %".to_owned();
    }
    format!("{:.2} %", part as f64 / whole as f64 * 100.0)
}

impl fmt::Display for OperatorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yes_no = |flag: bool| if flag { "yes" } else { "no" };
        writeln!(f, "operator {} at block {}", self.operator, self.block)?;
        writeln!(
            f,
            "  EigenLayer operator:  {}",
            yes_no(self.eigenlayer_operator)
        )?;
        let (set, delay) = self.allocation_delay;
        if set {
            writeln!(f, "  allocation delay:     {delay} blocks, in effect")?;
        } else {
            writeln!(f, "  allocation delay:     not in effect")?;
        }
        for strategy in &self.strategies {
            writeln!(f, "  strategy {}:", strategy.strategy)?;
            writeln!(f, "    delegated shares:    {}", strategy.delegated_shares)?;
            writeln!(
                f,
                "    allocated to Warden: {} of magnitude {} ({})",
                strategy.allocated_magnitude,
                strategy.max_magnitude,
                percent(
                    u128::from(strategy.allocated_magnitude),
                    u128::from(strategy.max_magnitude)
                )
            )?;
            if let Some((diff, block)) = strategy.pending {
                writeln!(f, "    pending change:      {diff:+} at block {block}")?;
            }
            writeln!(f, "    slashable stake:     {}", strategy.slashable_stake)?;
        }
        if self.operator_id.is_zero() {
            writeln!(f, "  registered:           no (no BLS key bound)")?;
        } else {
            writeln!(
                f,
                "  registered:           {} (operator id {})",
                yes_no(self.registered),
                self.operator_id
            )?;
        }
        writeln!(
            f,
            "  weight:               {} of {} ({}; minimum {})",
            self.weight,
            self.total_weight,
            percent(self.weight, self.total_weight),
            self.minimum_weight
        )?;
        for (token, amount) in &self.pending_fees {
            writeln!(
                f,
                "  task fees accrued:    {amount} of token {token} (paid through EigenLayer's \
                 RewardsCoordinator at the next distribution)"
            )?;
        }
        write!(f, "  next step:            {}", self.next_step())
    }
}
