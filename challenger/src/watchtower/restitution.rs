//! Restitution: once every signer of a fraudulent task is slashed, the slashed stake is cleared
//! to the task manager's restitution contract (`WardenRestitution.clearSlash`, one transaction
//! per slash with shares, each under its own intent), which credits it to the task and repays
//! the task's vault up to its proven loss; a credit left over is settled (`settle`). The claim
//! stays `slashing` until then, and turns `slashed` once nothing is left to clear or settle.
//!
//! Each step reads what is left from the chain (the task's `SignerSlashed` events,
//! `slashCleared`, `claimOf`), so a restarted watchtower carries on where it stopped and sends
//! nothing twice: a slash cleared by anyone is skipped, and one cleared between the check and the
//! send (`SlashAlreadyCleared`) counts as done.
//!
//! This EigenLayer core imposes no delay before slashed shares can be cleared; were a clearing
//! refused for now (a core with an escrow delay), the clearing would simply be simulated again on
//! every step until it goes through.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Bytes, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolInterface};
use warden_bindings::restitution::WardenRestitution::WardenRestitutionErrors;
use warden_bindings::{WardenChallenges, WardenRestitution, WardenTaskManager};
use warden_store::challenger::{Claim, ClaimState};
use warden_txm::{Intent, Sent, TxError};

use super::{MAX_ATTEMPTS, Watchtower, WatchtowerError};
use crate::metrics::ClearResult;

impl Watchtower {
    /// A fraudulent task whose signers are all slashed: clears each of its slashes to the
    /// restitution contract, settles what credit is left, then records the claim as `slashed`.
    pub(super) async fn drive_restitution(&self, claim: &Claim) -> Result<(), WatchtowerError> {
        let task_id = claim.task_id;
        let of_task = |intent: &Intent| {
            matches!(
                intent,
                Intent::ClearSlash { task_id: of, .. } | Intent::SettleRestitution { task_id: of, .. }
                    if *of == task_id
            )
        };
        for (intent, outcome) in self.take_outcomes(of_task) {
            match outcome {
                Ok(sent) => self.restitution_mined(task_id, &sent),
                Err(error) => tracing::warn!(
                    task_id,
                    intent,
                    %error,
                    "no receipt for the restitution transaction yet; waiting again"
                ),
            }
        }
        if self.waiting_on(of_task) {
            return Ok(());
        }

        let restitution = WardenRestitution::new(self.restitution, &self.provider);
        let (_, task) = self.task(task_id).await?;
        let slashes = WardenChallenges::new(self.challenges, &self.provider)
            .SignerSlashed_filter()
            .topic1(U256::from(task_id))
            .from_block(u64::from(task.referenceBlock))
            .query()
            .await?;
        let mut cleared = 0usize;
        let mut pending = 0usize;
        for (slash, _) in slashes {
            if slash.shares.is_zero() {
                continue;
            }
            if restitution.slashCleared(slash.slashId).call().await? {
                cleared += 1;
                continue;
            }
            pending += 1;
            self.clear_slash(task_id, slash.slashId).await?;
        }
        if pending > 0 {
            return Ok(());
        }

        let owed = WardenTaskManager::new(self.task_manager, &self.provider)
            .restitutionClaim(task_id)
            .call()
            .await?;
        let held = restitution.claimOf(task_id).call().await?;
        // What `settle` would still pay: the vault's loss not yet repaid, or, once the loss is
        // final, the surplus.
        if !held.credit.is_zero() && (owed.lossFinal || owed.loss > held.repaid) {
            return self.settle(task_id).await;
        }
        tracing::warn!(
            task_id,
            slashes_cleared = cleared,
            repaid = %held.repaid,
            loss = %owed.loss,
            "restitution complete: the slashed stake was cleared to the restitution contract and \
             the vault repaid up to its proven loss"
        );
        self.claims
            .set_state(
                task_id,
                ClaimState::Slashed,
                &format!(
                    "every signer slashed; {cleared} slash(es) cleared to the restitution contract; \
                     the vault was repaid {} of its proven loss {}",
                    held.repaid, owed.loss
                ),
            )
            .await?;
        Ok(())
    }

    /// Clears slash `slash_id` of `task_id` through the restitution contract: waits for the
    /// clearing on record, or sends it.
    async fn clear_slash(&self, task_id: u64, slash_id: U256) -> Result<(), WatchtowerError> {
        let call = WardenRestitution::clearSlashCall { slashId: slash_id };
        let what = format!("clearing of slash {slash_id}");
        let intent = |attempt| Intent::ClearSlash {
            task_id,
            slash_id,
            attempt,
        };
        match self
            .send_restitution(task_id, &what, intent, call.abi_encode())
            .await?
        {
            Some((_, data)) if already_cleared(data.as_ref()) => {
                // Someone cleared it between the check and the send: done.
                self.metrics.slash_cleared(ClearResult::AlreadyCleared);
                tracing::info!(task_id, %slash_id, "the slash was already cleared");
            }
            Some((reason, _)) => {
                tracing::warn!(task_id, %slash_id, %reason, "clearing the slash would revert now; trying again on the next step");
            }
            None => {}
        }
        Ok(())
    }

    /// Settles a task whose credit still owes the vault (or, the loss being final, the
    /// surplus): waits for the settlement on record, or sends it.
    async fn settle(&self, task_id: u64) -> Result<(), WatchtowerError> {
        let call = WardenRestitution::settleCall { taskId: task_id };
        let intent = |attempt| Intent::SettleRestitution { task_id, attempt };
        if let Some((reason, _)) = self
            .send_restitution(task_id, "restitution settlement", intent, call.abi_encode())
            .await?
        {
            tracing::warn!(task_id, %reason, "the settlement would revert; re-checking on the next step");
        }
        Ok(())
    }

    /// Sends the current attempt of a restitution transaction (`what`) to the restitution
    /// contract, or waits for the one on record; after `MAX_ATTEMPTS` reverted attempts the claim
    /// says it needs attention. Returns the reason and revert data when the chain refuses it now.
    async fn send_restitution(
        &self,
        task_id: u64,
        what: &str,
        intent: impl Fn(u32) -> Intent,
        calldata: Vec<u8>,
    ) -> Result<Option<(String, Option<Bytes>)>, WatchtowerError> {
        let (intent, record) = self.current_attempt(intent).await?;
        if let Some(record) = record {
            self.watch_transaction(&record);
            return Ok(None);
        }
        let Some(intent) = intent else {
            let detail = format!(
                "restitution stalled: {MAX_ATTEMPTS} attempts at the {what} reverted; needs attention"
            );
            tracing::error!(task_id, "{detail}");
            self.claims
                .set_state(task_id, ClaimState::Slashing, &detail)
                .await?;
            return Ok(None);
        };
        let request = TransactionRequest::default()
            .with_to(self.restitution)
            .with_input(calldata);
        match self.txm.submit(&intent, request).await {
            Ok(record) => {
                tracing::info!(task_id, %intent, tx = %record.tx_hash, "{what} sent");
                self.watch_transaction(&record);
                Ok(None)
            }
            Err(TxError::WouldRevert { reason, data, .. }) => Ok(Some((reason, data))),
            Err(error @ (TxError::Rejected { .. } | TxError::Rpc { .. })) => {
                tracing::warn!(task_id, %error, "{what} not broadcast yet; it stays on record");
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// A clearing or settlement was mined: counts and logs what it paid. A reverted one is
    /// simulated again on the next step (unless the slash is cleared by then).
    fn restitution_mined(&self, task_id: u64, sent: &Sent) {
        if !sent.succeeded() {
            self.metrics.slash_cleared(ClearResult::Reverted);
            tracing::warn!(task_id, intent = sent.intent, tx = %sent.tx_hash, "restitution transaction reverted; re-checking");
            return;
        }
        let logs = sent.receipt.inner.logs();
        for log in logs {
            if let Ok(cleared) = log.log_decode::<WardenRestitution::SlashCleared>() {
                let cleared = cleared.inner.data;
                self.metrics.slash_cleared(ClearResult::Cleared);
                tracing::warn!(
                    task_id,
                    slash_id = %cleared.slashId,
                    amount = %cleared.amount,
                    block = sent.block_number,
                    "slashed stake cleared to the restitution contract (this EigenLayer core \
                     imposes no delay before slashed shares can be cleared)"
                );
            }
            if let Ok(repaid) = log.log_decode::<WardenRestitution::VaultRepaid>() {
                let repaid = repaid.inner.data;
                tracing::warn!(
                    task_id,
                    vault = %repaid.vault,
                    amount = %repaid.amount,
                    total_repaid = %repaid.totalRepaid,
                    "the robbed vault was repaid from the slashed stake"
                );
            }
            if let Ok(surplus) = log.log_decode::<WardenRestitution::SurplusDistributed>() {
                let surplus = surplus.inner.data;
                tracing::info!(
                    task_id,
                    challenger = %surplus.challenger,
                    to_challenger = %surplus.toChallenger,
                    burned = %surplus.burned,
                    "the surplus of the slashed stake was distributed"
                );
            }
        }
    }
}

/// Whether revert data is `SlashAlreadyCleared`.
fn already_cleared(data: Option<&Bytes>) -> bool {
    data.and_then(|data| WardenRestitutionErrors::abi_decode(data).ok())
        .is_some_and(|error| matches!(error, WardenRestitutionErrors::SlashAlreadyCleared(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_already_cleared_is_recognised_in_revert_data() {
        let error = WardenRestitution::SlashAlreadyCleared {
            slashId: U256::from(7u64),
        };
        let data = Bytes::from(alloy::sol_types::SolError::abi_encode(&error));
        assert!(already_cleared(Some(&data)));
        let other = WardenRestitution::UnknownSlash {
            slashId: U256::from(7u64),
        };
        let data = Bytes::from(alloy::sol_types::SolError::abi_encode(&other));
        assert!(!already_cleared(Some(&data)));
        assert!(!already_cleared(None));
    }
}
