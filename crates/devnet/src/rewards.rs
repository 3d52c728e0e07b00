//! Operators are paid on the devnet as on any chain: the aggregator's keeper accrues each
//! committed task's fee to its signers once the task can no longer be proved fraudulent, and
//! distributes the accrued rewards through EigenLayer's RewardsCoordinator. The devnet only
//! hurries the chain past the run's fraud-proof windows and waits for the keeper.

use std::collections::BTreeMap;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, ProviderBuilder};
use warden_bindings::{WardenRewards, WardenTaskManager};
use warden_protocol::TaskState;
use warden_protocol::rewards::last_complete_period;

use crate::summary::RewardSummary;
use crate::{Devnet, DevnetError};

/// How long the keeper gets to pay for the run's tasks once their windows are over.
const PAYMENT_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);

impl Devnet {
    /// Mines past the fraud-proof window of the latest of `tasks`, then waits until the keeper has
    /// accrued the fee of every one that was committed and not proved fraudulent, and has
    /// distributed the base token's rewards for the last complete calculation interval. Fees
    /// accrued after that interval's distribution (a task whose window ended later in the run)
    /// wait for the next interval, as on any chain.
    pub(crate) async fn await_operator_pay(
        &self,
        tasks: &[u64],
        progress: &impl Fn(&str),
    ) -> Result<(), DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.deployment.endpoint_url());
        let app = self.summary.deployment.app.clone();
        let task_manager = WardenTaskManager::new(app.task_manager, &provider);
        let rewards = WardenRewards::new(app.rewards, &provider);
        let Some(&latest) = tasks.iter().max() else {
            return Ok(());
        };
        let provable_until = task_manager.provableUntil(latest).call().await?;
        let block = U256::from(provider.get_block_number().await?);
        if provable_until >= block {
            let blocks = u64::try_from(provable_until - block).unwrap_or(u64::MAX) + 1;
            progress(&format!(
                "mining {blocks} blocks past the fraud-proof window of task {latest}, after which its signers are paid"
            ));
            provider.anvil_mine(Some(blocks), None).await?;
        }
        let mut payable = Vec::new();
        for &task_id in tasks {
            let task = task_manager.getTask(task_id).call().await?;
            if !task.commitmentHash.is_zero()
                && TaskState::try_from(task.state)? != TaskState::Fraudulent
            {
                payable.push(task_id);
            }
        }
        let token = self.summary.deployment.market.weth;
        let interval = self
            .summary
            .deployment
            .eigenlayer
            .params
            .rewards
            .calculation_interval_seconds;
        let deadline = tokio::time::Instant::now() + PAYMENT_TIMEOUT;
        loop {
            let mut waiting = None;
            for &task_id in &payable {
                if !rewards.accrued(task_id).call().await? {
                    waiting = Some(task_id);
                    break;
                }
            }
            let undistributed = rewards.payees(token).call().await?.len();
            let distributed_now = rewards.lastDistributedPeriod(token).call().await?
                >= current_period(&provider, interval).await?;
            if waiting.is_none() && (undistributed == 0 || distributed_now) {
                progress(&format!(
                    "the fees of {} tasks were accrued to their signers and distributed through \
                     EigenLayer's RewardsCoordinator{}",
                    payable.len(),
                    if undistributed == 0 {
                        String::new()
                    } else {
                        format!(
                            "; {undistributed} operators' later fees wait for the next calculation interval"
                        )
                    }
                ));
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(DevnetError::Service(match waiting {
                    Some(task_id) => format!(
                        "the keeper did not accrue task {task_id}'s fee within {PAYMENT_TIMEOUT:?} of its fraud-proof window's end"
                    ),
                    None => format!(
                        "the keeper did not distribute the rewards of {undistributed} operators within {PAYMENT_TIMEOUT:?}"
                    ),
                }));
            }
            // The keeper acts on new blocks: keep the chain moving while waiting for it.
            provider.anvil_mine(Some(1), None).await?;
            tokio::time::sleep(POLL).await;
        }
    }

    /// What each operator earned from `from_block` on: the fees accrued to it for the tasks it
    /// signed, ascending by operator.
    pub(crate) async fn rewards_summary(
        &self,
        from_block: u64,
    ) -> Result<Vec<RewardSummary>, DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.deployment.endpoint_url());
        let rewards = WardenRewards::new(self.summary.deployment.app.rewards, &provider);
        let mut earned: BTreeMap<Address, U256> = BTreeMap::new();
        for (event, _) in rewards
            .RewardAccrued_filter()
            .from_block(from_block)
            .query()
            .await?
        {
            *earned.entry(event.operator).or_default() += event.amount;
        }
        Ok(earned
            .into_iter()
            .map(|(operator, amount)| RewardSummary { operator, amount })
            .collect())
    }
}

/// The period a distribution at the latest block pays for (0 before one has ended).
async fn current_period<P: Provider>(provider: &P, interval: u32) -> Result<u32, DevnetError> {
    let timestamp = provider
        .get_block_by_number(Default::default())
        .await?
        .map(|block| block.header.timestamp)
        .unwrap_or_default();
    let start = last_complete_period(timestamp, u64::from(interval)).unwrap_or_default();
    Ok(u32::try_from(start).unwrap_or(u32::MAX))
}
