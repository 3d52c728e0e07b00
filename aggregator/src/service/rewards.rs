//! The paymaster: pays operators for the tasks they signed. Once a committed task can no longer be
//! proved fraudulent, the keeper accrues its fee to its signers (`WardenRewards.accrue`, with the
//! input and output hashes and the non-signers that open its commitment hash); once per EigenLayer
//! calculation interval it distributes each kept agent's token through the RewardsCoordinator
//! (`WardenRewards.distribute`). Both calls are permissionless: the aggregator makes them so that
//! operators are paid without anyone else acting, and anyone may make them instead.
//!
//! Tasks are visited in id order, which is reference-block order, from a cursor kept in memory: a
//! restart visits the tasks from the first again, each costing a view call or two until the
//! cursor is back where it was, as `accrued` on chain says what is done.

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use alloy::sol_types::SolCall;
use warden_bindings::WardenRegistry;
use warden_bindings::rewards::WardenRewards::{self, accrueCall, distributeCall};
use warden_bindings::task_facts;
use warden_protocol::TaskState;
use warden_protocol::rewards::last_complete_period;
use warden_txm::Intent;

use super::keeper::KeeperOutcome;
use super::{Aggregator, ServiceError};

/// Most accruals per keeper round, so a backlog after a restart never delays the round's other
/// duties for long.
const ACCRUALS_PER_ROUND: usize = 8;

/// EigenLayer's calculation interval when the coordinator cannot be asked (a day on every
/// public deployment).
const DEFAULT_CALCULATION_INTERVAL: u64 = 86_400;

impl Aggregator {
    /// One round of paying operators: accrues the fees of tasks past their fraud-proof window and
    /// distributes what waits for the last complete interval. Nothing to do before the registry
    /// has a rewards distributor.
    pub(super) async fn pay_operators(&self, block: u64) -> Result<(), ServiceError> {
        let Some(rewards) = self.rewards_contract().await? else {
            return Ok(());
        };
        self.accrue_fees(rewards, block).await?;
        self.distribute_rewards(rewards).await
    }

    /// The registry's rewards distributor, once it has one.
    async fn rewards_contract(&self) -> Result<Option<Address>, ServiceError> {
        if let Some(rewards) = self.rewards.get() {
            return Ok(Some(*rewards));
        }
        let registry = WardenRegistry::new(self.registry, &self.provider);
        let rewards = registry.rewardsDistributor().call().await?;
        if rewards.is_zero() {
            return Ok(None);
        }
        let _ = self.rewards.set(rewards);
        Ok(Some(rewards))
    }

    async fn accrue_fees(&self, rewards: Address, block: u64) -> Result<(), ServiceError> {
        let contract = WardenRewards::new(rewards, &self.provider);
        let window = self.fraud_proof_window().await?;
        let count = self.task_manager().taskCount().call().await?;
        let mut next = *self.rewards_cursor.lock().await;
        let mut sent = 0;
        while next <= count && sent < ACCRUALS_PER_ROUND {
            let (state, task) = self.task(next).await?;
            // Ids follow reference blocks: once one task is still provable, so are the later.
            if block <= u64::from(task.referenceBlock) + window {
                break;
            }
            let payable = !task.commitmentHash.is_zero() && state != TaskState::Fraudulent;
            if !payable || contract.accrued(next).call().await? {
                next += 1;
                continue;
            }
            // The task keeps only its commitment hash: the accrual opens it with the hashes and the
            // non-signer ids from the task's events.
            let committed = task_facts::committed(
                &self.provider,
                self.settings.task_manager,
                next,
                task.openedAt,
                task.commitmentHash,
            )
            .await?;
            let call = accrueCall {
                taskId: next,
                inputHash: committed.hashes.input_hash,
                outputHash: committed.hashes.output_hash,
                traceHash: committed.hashes.trace_hash,
                nonSignerIds: committed.non_signers,
            };
            sent += 1;
            match self
                .send_to(
                    rewards,
                    Intent::AccrueFee { task_id: next },
                    call.abi_encode(),
                )
                .await
            {
                KeeperOutcome::Succeeded(receipt) => {
                    let fee = receipt
                        .receipt
                        .decoded_log::<WardenRewards::TaskFeeAccrued>()
                        .map(|event| event.fee)
                        .unwrap_or_default();
                    tracing::info!(task_id = next, %fee, gas = receipt.gas_used, "task fee accrued to its signers");
                    self.metrics.fees_accrued.inc();
                }
                KeeperOutcome::NotNow { .. } => {
                    // Accrued by someone else meanwhile, or refused for good: either way not
                    // this keeper's to retry.
                    tracing::debug!(task_id = next, "task fee not accruable; skipped");
                }
                KeeperOutcome::Failed => break,
            }
            next += 1;
        }
        *self.rewards_cursor.lock().await = next;
        Ok(())
    }

    /// Distributes each kept agent's token once per calculation interval, if anything waits.
    async fn distribute_rewards(&self, rewards: Address) -> Result<(), ServiceError> {
        let contract = WardenRewards::new(rewards, &self.provider);
        let mut tokens: Vec<Address> = Vec::new();
        for &agent_id in &self.settings.keeper_agents {
            let token = self.agent(agent_id).await?.tokenBase;
            if !token.is_zero() && !tokens.contains(&token) {
                tokens.push(token);
            }
        }
        if tokens.is_empty() {
            return Ok(());
        }
        let Some(latest) = self
            .provider
            .get_block_by_number(Default::default())
            .await?
        else {
            return Ok(());
        };
        let interval = self.calculation_interval(&contract).await;
        let Some(period) = last_complete_period(latest.header.timestamp, interval) else {
            return Ok(());
        };
        let Ok(period) = u32::try_from(period) else {
            return Ok(());
        };
        for token in tokens {
            if contract.payees(token).call().await?.is_empty() {
                continue;
            }
            let last = contract.lastDistributedPeriod(token).call().await?;
            if last != 0 && last >= period {
                continue;
            }
            let call = distributeCall { token };
            if let KeeperOutcome::Succeeded(receipt) = self
                .send_to(
                    rewards,
                    Intent::DistributeRewards { token, period },
                    call.abi_encode(),
                )
                .await
            {
                let (operators, total) = receipt
                    .receipt
                    .decoded_log::<WardenRewards::RewardsDistributed>()
                    .map(|event| (event.operators, event.total))
                    .unwrap_or((U256::ZERO, U256::ZERO));
                tracing::info!(%token, period, %operators, %total, gas = receipt.gas_used,
                    "rewards distributed through EigenLayer's RewardsCoordinator");
                self.metrics.rewards_distributions.inc();
            }
        }
        Ok(())
    }

    /// The task manager's fraud-proof window (immutable), read once.
    async fn fraud_proof_window(&self) -> Result<u64, ServiceError> {
        let window = self
            .fraud_proof_window
            .get_or_try_init(|| async { self.task_manager().fraudProofWindow().call().await })
            .await?;
        Ok(u64::from(*window))
    }

    async fn calculation_interval<P: Provider>(
        &self,
        contract: &WardenRewards::WardenRewardsInstance<P>,
    ) -> u64 {
        if let Some(interval) = self.calculation_interval.get() {
            return *interval;
        }
        let read = async {
            let coordinator = contract.rewardsCoordinator().call().await?;
            let coordinator =
                warden_bindings::eigenlayer::RewardsCoordinator::new(coordinator, &self.provider);
            coordinator.CALCULATION_INTERVAL_SECONDS().call().await
        };
        match read.await {
            Ok(interval) => {
                let interval = u64::from(interval);
                let _ = self.calculation_interval.set(interval);
                interval
            }
            Err(error) => {
                tracing::warn!(%error, "reading the RewardsCoordinator's calculation interval failed; assuming a day");
                DEFAULT_CALCULATION_INTERVAL
            }
        }
    }
}
