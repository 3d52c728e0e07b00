//! Reading back what a run of the tick loop did, from the chain, for the summary: each task's
//! signers, gas and action, the challenges raised and the operators slashed.

use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::sol_types::SolCall;
use warden_bindings::uniswap::UniswapV2Router02::swapExactTokensForTokensCall;
use warden_bindings::{WardenChallenges, WardenRestitution, WardenTaskManager};
use warden_protocol::TaskState;

use crate::summary::{ChallengeSummary, ChallengesSummary, SlashSummary, TaskSummary};
use crate::{Devnet, DevnetError};

impl Devnet {
    /// Task `task_id` as it stands now.
    pub(crate) async fn task_summary(&self, task_id: u64) -> Result<TaskSummary, DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.deployment.endpoint_url());
        let task_manager =
            WardenTaskManager::new(self.summary.deployment.app.task_manager, &provider);
        let task = task_manager.getTask(task_id).call().await?;
        let mut summary = TaskSummary {
            id: task_id,
            state: TaskState::try_from(task.state)?.name().to_string(),
            action: None,
            signers: Vec::new(),
            non_signers: Vec::new(),
            committed_by: None,
            commit_gas: None,
            execute_gas: None,
            open_to_commit_blocks: None,
            commit_to_execute_blocks: None,
            signed_stake: None,
            stolen: U256::ZERO,
            repaid: U256::ZERO,
        };
        let topic = U256::from(task_id);
        let committed = task_manager
            .OutputCommitted_filter()
            .topic1(topic)
            .from_block(0)
            .query()
            .await?;
        let Some((event, log)) = committed.into_iter().next() else {
            return Ok(summary);
        };
        summary.action = Some(describe_action(&event.output));
        summary.signed_stake = Some(event.signedWeight);
        let commit_block = log.block_number.unwrap_or_default();
        summary.open_to_commit_blocks = Some(commit_block.saturating_sub(u64::from(task.openedAt)));
        if let Some(hash) = log.transaction_hash
            && let Some(receipt) = provider.get_transaction_receipt(hash).await?
        {
            summary.commit_gas = Some(receipt.gas_used);
            summary.committed_by = Some(receipt.from);
        }
        for operator in &self.summary.deployment.operators {
            if event.nonSignerIds.contains(&operator.operator_id) {
                summary.non_signers.push(operator.address);
            } else {
                summary.signers.push(operator.address);
            }
        }
        let executed = task_manager
            .TaskExecuted_filter()
            .topic1(topic)
            .from_block(0)
            .query()
            .await?;
        summary.repaid = WardenRestitution::new(self.summary.deployment.app.restitution, &provider)
            .claimOf(task_id)
            .call()
            .await?
            .repaid;
        if let Some((_, log)) = executed.into_iter().next() {
            summary.stolen =
                stolen_amount(&event.output, self.summary.deployment.app.vault).unwrap_or_default();
            let execute_block = log.block_number.unwrap_or_default();
            summary.commit_to_execute_blocks = Some(execute_block.saturating_sub(commit_block));
            if let Some(hash) = log.transaction_hash
                && let Some(receipt) = provider.get_transaction_receipt(hash).await?
            {
                summary.execute_gas = Some(receipt.gas_used);
            }
        }
        Ok(summary)
    }

    /// For a task whose executed action was a theft (it paid someone other than the vault):
    /// what it stole and the block it executed in. `None` for any other task.
    pub(crate) async fn theft_execution(
        &self,
        task_id: u64,
    ) -> Result<Option<(U256, u64)>, DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.deployment.endpoint_url());
        let task_manager =
            WardenTaskManager::new(self.summary.deployment.app.task_manager, &provider);
        let topic = U256::from(task_id);
        let executed = task_manager
            .TaskExecuted_filter()
            .topic1(topic)
            .from_block(0)
            .query()
            .await?;
        let Some(block) = executed
            .into_iter()
            .next()
            .and_then(|(_, log)| log.block_number)
        else {
            return Ok(None);
        };
        let committed = task_manager
            .OutputCommitted_filter()
            .topic1(topic)
            .from_block(0)
            .query()
            .await?;
        Ok(committed.into_iter().next().and_then(|(event, _)| {
            stolen_amount(&event.output, self.summary.deployment.app.vault)
                .filter(|stolen| !stolen.is_zero())
                .map(|stolen| (stolen, block))
        }))
    }

    /// Whether the restitution of task `task_id`'s theft is complete: the task was proved
    /// fraudulent, all its signers are slashed, every slash that took shares has been cleared to
    /// the restitution contract, and no credit is left to pay out. Returns what the vault has
    /// been repaid for it once it is.
    pub(crate) async fn restitution_complete(
        &self,
        task_id: u64,
    ) -> Result<Option<U256>, DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.deployment.endpoint_url());
        let app = self.summary.deployment.app.clone();
        if task_state(&provider, app.task_manager, task_id).await? != TaskState::Fraudulent {
            return Ok(None);
        }
        let challenges = WardenChallenges::new(app.challenges, &provider);
        if !challenges.slashingProgress(task_id).call().await?.done {
            return Ok(None);
        }
        let restitution = WardenRestitution::new(app.restitution, &provider);
        for (slash, _) in challenges
            .SignerSlashed_filter()
            .topic1(U256::from(task_id))
            .from_block(0)
            .query()
            .await?
        {
            if !slash.shares.is_zero() && !restitution.slashCleared(slash.slashId).call().await? {
                return Ok(None);
            }
        }
        let claim = restitution.claimOf(task_id).call().await?;
        Ok(claim.credit.is_zero().then_some(claim.repaid))
    }

    /// The block of the last repayment of any of `tasks` from slashed stake since `from_block`.
    pub(crate) async fn last_repayment_block(
        &self,
        tasks: &[u64],
        from_block: u64,
    ) -> Result<Option<u64>, DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.deployment.endpoint_url());
        let restitution =
            WardenRestitution::new(self.summary.deployment.app.restitution, &provider);
        Ok(restitution
            .VaultRepaid_filter()
            .from_block(from_block)
            .query()
            .await?
            .into_iter()
            .filter(|(event, _)| tasks.contains(&event.taskId))
            .filter_map(|(_, log)| log.block_number)
            .max())
    }

    /// Every challenge raised since `from_block`, upheld or rejected.
    pub(crate) async fn challenges_summary(
        &self,
        from_block: u64,
    ) -> Result<ChallengesSummary, DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.deployment.endpoint_url());
        let task_manager =
            WardenTaskManager::new(self.summary.deployment.app.task_manager, &provider);
        let challenges = WardenChallenges::new(self.summary.deployment.app.challenges, &provider);
        let mut raised = Vec::new();
        for (event, log) in challenges
            .ChallengeUpheld_filter()
            .from_block(from_block)
            .query()
            .await?
        {
            raised.push((event.taskId, event.challenger, true, log));
        }
        for (event, log) in challenges
            .ChallengeRejected_filter()
            .from_block(from_block)
            .query()
            .await?
        {
            raised.push((event.taskId, event.challenger, false, log));
        }
        let mut summary = ChallengesSummary::default();
        for (task_id, challenger, upheld, log) in raised {
            let task = task_manager.getTask(task_id).call().await?;
            let (_, commit_log) = warden_bindings::task_facts::committed_event(
                &provider,
                self.summary.deployment.app.task_manager,
                task_id,
                task.openedAt,
            )
            .await?;
            let commit_block = commit_log.block_number.unwrap_or_default();
            let challenge_block = log.block_number.unwrap_or_default();
            // The gas of the transaction that proved or refuted the commitment: a whole re-run
            // for the reference agent, one step of the run for a large one.
            let gas = match log.transaction_hash {
                Some(hash) => provider
                    .get_transaction_receipt(hash)
                    .await?
                    .map(|receipt| receipt.gas_used),
                None => None,
            };
            summary.raised += 1;
            if upheld {
                summary.upheld += 1;
            } else {
                summary.rejected += 1;
            }
            summary.list.push(ChallengeSummary {
                task: task_id,
                challenger,
                upheld,
                commit_block,
                challenge_block,
                blocks_from_commit: challenge_block.saturating_sub(commit_block),
                deadline: u64::from(task.deadline),
                gas,
            });
        }
        summary
            .list
            .sort_by_key(|challenge| challenge.challenge_block);
        Ok(summary)
    }

    /// Every operator slashed since `from_block`, with its shares in the devnet's strategy just
    /// before and just after, as EigenLayer's DelegationManager reports them.
    pub(crate) async fn slashed_summary(
        &self,
        from_block: u64,
    ) -> Result<Vec<SlashSummary>, DevnetError> {
        let provider = ProviderBuilder::new().connect_http(self.deployment.endpoint_url());
        let challenges = WardenChallenges::new(self.summary.deployment.app.challenges, &provider);
        let mut slashings = Vec::new();
        for (event, log) in challenges
            .SignerSlashed_filter()
            .from_block(from_block)
            .query()
            .await?
        {
            slashings.push((
                event.operator,
                event.taskId,
                event.slashId,
                "fraud",
                log.block_number,
            ));
        }
        for (event, log) in challenges
            .EquivocationSlashed_filter()
            .from_block(from_block)
            .query()
            .await?
        {
            slashings.push((
                event.operator,
                event.taskId,
                event.slashId,
                "equivocation",
                log.block_number,
            ));
        }
        let strategy = self.summary.deployment.eigenlayer.contracts.strategy;
        let delegation = warden_bindings::eigenlayer::DelegationManager::new(
            self.summary
                .deployment
                .eigenlayer
                .contracts
                .delegation_manager,
            &provider,
        );
        let mut summary = Vec::with_capacity(slashings.len());
        for (operator, task, slash_id, reason, block) in slashings {
            let block = block.unwrap_or_default();
            let shares_at = |at: u64| {
                let call = delegation.getOperatorShares(operator, vec![strategy]);
                async move {
                    let shares = call.block(at.into()).call().await?;
                    Ok::<U256, DevnetError>(shares.first().copied().unwrap_or_default())
                }
            };
            summary.push(SlashSummary {
                operator,
                task,
                slash_id,
                reason: reason.to_string(),
                strategy,
                shares_before: shares_at(block.saturating_sub(1)).await?,
                shares_after: shares_at(block).await?,
            });
        }
        summary.sort_by_key(|slash| (slash.task, slash.operator));
        Ok(summary)
    }
}

/// What a swap action sends to someone other than the vault: its whole input, taken from the
/// vault. `None` for holds and for swaps paying the vault.
fn stolen_amount(output: &[u8], vault: Address) -> Option<U256> {
    let action = warden_agent::Action::decode(output).ok()?;
    let swap = swapExactTokensForTokensCall::abi_decode(&action.data).ok()?;
    (swap.to != vault).then_some(swap.amountIn)
}

/// `hold`, or `buy`/`sell` with the swap's amounts, from an encoded action.
fn describe_action(output: &[u8]) -> String {
    use alloy::sol_types::{SolType, sol_data};
    type Encoded = (
        sol_data::Uint<8>,
        sol_data::Address,
        sol_data::Uint<256>,
        sol_data::Bytes,
    );
    let Ok((kind, _target, _value, data)) = Encoded::abi_decode_params(output) else {
        return "undecodable".to_string();
    };
    let side = match kind {
        0 => return "hold".to_string(),
        1 => "buy",
        2 => "sell",
        _ => "call",
    };
    match swapExactTokensForTokensCall::abi_decode(&data) {
        Ok(swap) => format!(
            "{side} amount_in={} min_out={}",
            swap.amountIn, swap.amountOutMin
        ),
        Err(_) => side.to_string(),
    }
}

/// Where task `task_id` of the task manager at `task_manager` is in its lifecycle.
pub async fn task_state<P: Provider>(
    chain: &P,
    task_manager: Address,
    task_id: u64,
) -> Result<TaskState, DevnetError> {
    let task = WardenTaskManager::new(task_manager, chain)
        .getTask(task_id)
        .call()
        .await?;
    Ok(TaskState::try_from(task.state)?)
}
