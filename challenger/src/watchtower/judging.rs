//! Judging one commitment: the agent is re-executed on the task's input; a wrong output opens
//! a claim (or reopens one a reorg closed) and its challenge is sent at once.

use alloy::primitives::keccak256;
use alloy::providers::Provider;
use warden_bindings::WardenTaskManager;
use warden_protocol::{TaskHashes, TaskState, non_signer_hash};
use warden_store::challenger::{Claim, ClaimState};

use super::{
    CloseReason, Evidence, FAILPOINT_AFTER_CLAIM, Verdict, Watchtower, WatchtowerError, lock,
};

impl Watchtower {
    /// Re-executes a committed task and, when the output is wrong, opens a claim and sends its
    /// challenge.
    pub async fn judge(
        &self,
        event: &WardenTaskManager::OutputCommitted,
    ) -> Result<Verdict, WatchtowerError> {
        let task_id = event.taskId;
        let (state, task) = self.task(task_id).await?;
        if matches!(state, TaskState::None | TaskState::Open) {
            return Ok(Verdict::Superseded);
        }
        // The task keeps only its commitment hash: this event, with the task's input, must open it,
        // or the task was committed again (after a reorg) with something else.
        let input = self.input(task_id, task.openedAt).await?;
        let hashes = TaskHashes {
            input_hash: keccak256(&input),
            output_hash: event.outputHash,
            trace_hash: event.traceHash,
            non_signer_hash: non_signer_hash(&event.nonSignerIds),
        };
        if hashes.commitment() != task.commitmentHash {
            return Ok(Verdict::Superseded);
        }
        if !self.is_ours(task.agentId).await? {
            return Ok(Verdict::OtherAgent);
        }
        let expected = match self.run_agent(&input) {
            Ok(expected) => expected,
            Err(reason) => {
                tracing::warn!(task_id, %reason, "the agent refuses this input; not challenging");
                return Ok(Verdict::Unjudgeable(reason));
            }
        };
        let expected_hash = keccak256(&expected);
        let existing = self.claims.get(task_id).await?;
        if expected_hash == event.outputHash {
            lock(&self.evidence).remove(&task_id);
            if let Some(claim) = existing {
                self.close_if_vanished(&claim, "the task now commits the correct output")
                    .await?;
            }
            return Ok(Verdict::Correct);
        }

        // A claim on record carries on by itself, unless a reorg closed it.
        let reopening = match &existing {
            Some(claim)
                if claim.state == ClaimState::Closed && CloseReason::reopens(&claim.detail) =>
            {
                true
            }
            Some(_) => return Ok(Verdict::AlreadyClaimed),
            None => false,
        };
        // The claim's deadline is the last block its challenge can land in: the end of the task's
        // fraud-proof window, which outlasts the challenge window, the execution, and a veto.
        let claim = Claim {
            task_id,
            committed_output_hash: event.outputHash,
            expected_output_hash: expected_hash,
            deadline: self.provable_until(&task),
            state: ClaimState::Challenging,
            detail: String::new(),
        };
        let head = self.provider.get_block_number().await?;
        let missed = match state {
            TaskState::Committed | TaskState::Vetoed | TaskState::Executed
                if head < claim.deadline =>
            {
                None
            }
            TaskState::Committed | TaskState::Vetoed | TaskState::Executed => {
                Some("its fraud-proof window closed before the watchtower saw it")
            }
            TaskState::Fraudulent => {
                return Ok(Verdict::Settled("someone else's challenge was upheld"));
            }
            TaskState::None | TaskState::Open | TaskState::Expired => {
                return Ok(Verdict::Settled("no longer committed"));
            }
        };
        if state == TaskState::Executed {
            // Too late to stop the action, not to slash its signers and repay the vault.
            tracing::error!(
                task_id,
                provable_until = claim.deadline,
                head,
                "a wrong output executed before the watchtower saw it: proving the fraud after \
                 the fact"
            );
        }
        if let Some(why) = missed {
            tracing::error!(
                task_id,
                provable_until = claim.deadline,
                head,
                committed = %event.outputHash,
                expected = %expected_hash,
                "wrong output missed: {why}"
            );
            let detail = CloseReason::Missed(format!(
                "{why} (provable until block {}, first seen at block {head})",
                claim.deadline
            ))
            .to_string();
            self.record_claim(claim, reopening, ClaimState::Closed, detail)
                .await?;
            return Ok(Verdict::Missed(why));
        }
        tracing::warn!(
            task_id,
            provable_until = claim.deadline,
            head,
            committed = %event.outputHash,
            expected = %expected_hash,
            "wrong output committed: challenging"
        );
        let detail = if reopening {
            format!(
                "the wrong output {} is back on the canonical chain; challenging again",
                event.outputHash
            )
        } else {
            format!("wrong output found at block {head}; challenging")
        };
        // What the challenge sends is at hand: keep it rather than read it back from the logs.
        lock(&self.evidence).insert(
            task_id,
            Evidence {
                input,
                output: event.output.clone(),
                trace_hash: hashes.trace_hash,
                non_signer_hash: hashes.non_signer_hash,
            },
        );
        let claim = self
            .record_claim(claim, reopening, ClaimState::Challenging, detail)
            .await?;
        warden_runtime::failpoint(FAILPOINT_AFTER_CLAIM).await;
        if let Err(error) = self.send_challenge(&claim).await {
            // The claim is on record: the next step tries again.
            tracing::warn!(task_id, %error, "challenge not sent yet; retrying");
        }
        Ok(Verdict::Wrong)
    }

    /// Opens `claim` in `state`, or moves a claim a reorg closed to `state`.
    async fn record_claim(
        &self,
        mut claim: Claim,
        reopening: bool,
        state: ClaimState,
        detail: String,
    ) -> Result<Claim, WatchtowerError> {
        claim.state = state;
        if reopening {
            self.claims.set_state(claim.task_id, state, &detail).await?;
            claim.detail = detail;
            Ok(claim)
        } else {
            claim.detail = detail;
            Ok(self.claims.open(&claim).await?)
        }
    }
}
