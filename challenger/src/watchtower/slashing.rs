//! Slashing a fraudulent task's signers: one `slashSigners` batch per step, each under its own
//! intent, until the task manager reports slashing complete; then [`restitution`](super::restitution).

use alloy::network::TransactionBuilder;
use alloy::primitives::U256;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use warden_bindings::WardenChallenges;
use warden_protocol::TaskState;
use warden_store::challenger::{Claim, ClaimState};
use warden_txm::{Intent, Sent, TxError};

use super::{MAX_ATTEMPTS, Watchtower, WatchtowerError, lock};
use crate::metrics::Earning;

impl Watchtower {
    /// A `slashing` claim: one `slashSigners` batch per step until the task manager reports
    /// slashing complete, then the restitution of the slashed stake.
    pub(super) async fn drive_slashing(&self, claim: &Claim) -> Result<(), WatchtowerError> {
        let task_id = claim.task_id;
        // Batches of this task whose receipts arrived: their counts and verdicts come first.
        let batches = |intent: &Intent| matches!(intent, Intent::SlashSigners { task_id: batch_of, .. } if *batch_of == task_id);
        for (intent, outcome) in self.take_outcomes(batches) {
            match outcome {
                Ok(sent) => {
                    if self.slash_mined(claim, sent).await? {
                        return self.drive_restitution(claim).await;
                    }
                }
                Err(error) => tracing::warn!(
                    task_id,
                    intent,
                    %error,
                    "no receipt for the slashing batch yet; waiting again"
                ),
            }
        }
        if self.waiting_on(batches) {
            return Ok(());
        }
        let progress = WardenChallenges::new(self.challenges, &self.provider)
            .slashingProgress(task_id)
            .call()
            .await?;
        if progress.done {
            lock(&self.non_signers).remove(&task_id);
            return self.drive_restitution(claim).await;
        }
        let (state, task) = self.task(task_id).await?;
        if state != TaskState::Fraudulent {
            tracing::error!(
                task_id,
                state = state.name(),
                "the upheld challenge is no longer on the canonical chain; judging the task again"
            );
            self.claims
                .set_state(
                    task_id,
                    ClaimState::Challenging,
                    "the upheld challenge is no longer on the canonical chain (reorg); challenging again",
                )
                .await?;
            return Ok(());
        }
        let next = progress.nextIndex;
        let (intent, record) = self
            .current_attempt(|attempt| Intent::SlashSigners {
                task_id,
                from: next,
                attempt,
            })
            .await?;
        if let Some(record) = record {
            // Pending, or mined before a restart: its outcome comes back through the loop above.
            self.watch_transaction(&record);
            return Ok(());
        }
        let Some(intent) = intent else {
            let detail = format!(
                "slashing stalled: {MAX_ATTEMPTS} batches from operator {next} reverted; needs attention"
            );
            tracing::error!(task_id, "{detail}");
            self.claims
                .set_state(task_id, ClaimState::Slashing, &detail)
                .await?;
            return Ok(());
        };
        // Only the first batch carries the non-signers; later ones refer to its record.
        let non_signer_indices = if next == 0 {
            self.committed_non_signer_indices(task_id, task.openedAt)
                .await?
        } else {
            Vec::new()
        };
        let call = WardenChallenges::slashSignersCall {
            taskId: task_id,
            nonSignerIndices: non_signer_indices,
            maxOperators: U256::from(self.settings.slash_batch),
        };
        let request = TransactionRequest::default()
            .with_to(self.challenges)
            .with_input(call.abi_encode());
        match self.txm.submit(&intent, request).await {
            Ok(record) => {
                tracing::info!(task_id, %intent, tx = %record.tx_hash, "slashing batch sent");
                self.watch_transaction(&record);
                Ok(())
            }
            Err(TxError::WouldRevert { reason, .. }) => {
                // Typically another slasher's batch moved the cursor or finished: re-read next step.
                tracing::warn!(task_id, %reason, "the slashing batch would revert; re-checking on the next step");
                Ok(())
            }
            Err(error @ (TxError::Rejected { .. } | TxError::Rpc { .. })) => {
                tracing::warn!(task_id, %error, "slashing batch not broadcast yet; it stays on record");
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// A `slashSigners` batch was mined. Returns whether it completed the slashing.
    async fn slash_mined(&self, claim: &Claim, sent: Sent) -> Result<bool, WatchtowerError> {
        let task_id = claim.task_id;
        if !sent.succeeded() {
            self.metrics
                .slash_batches
                .with_label_values(&["reverted"])
                .inc();
            tracing::warn!(task_id, intent = sent.intent, tx = %sent.tx_hash, "slashing batch reverted; retrying");
            return Ok(false);
        }
        self.metrics
            .slash_batches
            .with_label_values(&["success"])
            .inc();
        let logs = sent.receipt.inner.logs();
        let slashed = logs
            .iter()
            .filter(|log| log.log_decode::<WardenChallenges::SignerSlashed>().is_ok())
            .count();
        let failed = logs
            .iter()
            .filter(|log| {
                log.log_decode::<WardenChallenges::SignerSlashFailed>()
                    .is_ok()
            })
            .count();
        let empty = logs
            .iter()
            .filter(|log| {
                log.log_decode::<WardenChallenges::SignerNothingToSlash>()
                    .is_ok()
            })
            .count();
        let fee: U256 = logs
            .iter()
            .filter_map(|log| log.log_decode::<WardenChallenges::SlashingFeePaid>().ok())
            .filter(|decoded| decoded.inner.data.caller == self.address())
            .fold(U256::ZERO, |sum, decoded| sum + decoded.inner.data.amount);
        self.metrics.operators_slashed.inc_by(slashed as u64);
        if !fee.is_zero() {
            self.metrics.earned_wei(
                Earning::SlashingFee,
                u128::try_from(fee).unwrap_or(u128::MAX),
            );
        }
        let completed = sent
            .receipt
            .decoded_log::<WardenChallenges::SlashingCompleted>();
        tracing::warn!(
            task_id,
            slashed,
            failed,
            empty,
            %fee,
            done = completed.is_some(),
            gas = sent.gas_used,
            "slashing batch mined"
        );
        if failed > 0 {
            tracing::error!(
                task_id,
                failed,
                "EigenLayer refused to slash some signers (SignerSlashFailed)"
            );
        }
        match completed {
            Some(event) => {
                lock(&self.non_signers).remove(&task_id);
                tracing::info!(
                    task_id,
                    "slashing complete; clearing the slashed stake to the restitution contract"
                );
                self.claims
                    .set_state(
                        task_id,
                        ClaimState::Slashing,
                        &format!(
                            "slashing complete in block {}: {} signer(s) slashed; clearing the slashed stake to the restitution contract",
                            sent.block_number, event.signersSlashed
                        ),
                    )
                    .await?;
                Ok(true)
            }
            None => {
                self.claims
                    .set_state(
                        task_id,
                        ClaimState::Slashing,
                        &format!(
                            "batch {} mined in block {}: {slashed} slashed, {empty} with nothing left, {failed} refused",
                            sent.intent, sent.block_number
                        ),
                    )
                    .await?;
                Ok(false)
            }
        }
    }
}
