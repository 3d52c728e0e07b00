//! Judging one commitment: the agent is re-executed on the task's input (a large agent against
//! the committed trace, read from the commitment's transaction); a wrong output or run opens a
//! claim (or reopens one a reorg closed) and its challenge is sent at once.

use alloy::primitives::{B256, Bytes, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::Log;
use warden_agent::FraudStep;
use warden_bindings::WardenTaskManager;
use warden_protocol::{NO_TRACE, TaskHashes, TaskState, non_signer_hash};
use warden_store::challenger::{Claim, ClaimState};

use super::{
    CloseReason, Evidence, FAILPOINT_AFTER_CLAIM, Verdict, Watchtower, WatchtowerError, lock,
};
use crate::trace::{describe, sealed_step, step_kind, trace_step};

/// What re-executing a commitment found.
enum Finding {
    /// The agent computes the committed output (for a large agent, the committed run).
    Agrees,
    /// The agent computes another output, hashing to this.
    Output(B256),
    /// The committed run departs from the large agent's at `step`.
    Trace { trace: Vec<B256>, step: FraudStep },
    /// Nothing could be judged, for the reason the verdict gives.
    Unjudged(Verdict),
}

impl Watchtower {
    /// Re-executes a committed task and, when the output (or a large agent's run) is wrong, opens
    /// a claim and sends its challenge. `log` is the event's: a large agent's trace is read from
    /// the transaction that emitted it.
    pub async fn judge(
        &self,
        event: &WardenTaskManager::OutputCommitted,
        log: &Log,
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
        let finding = if self.agent.network().is_some() {
            self.find_fraud(event, log, &input).await?
        } else {
            if event.traceHash != NO_TRACE {
                // Only the output of an agent without a trace is provable: its verifier re-runs
                // it whole, and a correct output stands whatever trace hash its signers signed.
                tracing::warn!(
                    task_id,
                    trace_hash = %event.traceHash,
                    "a commitment of an agent that keeps no trace binds a trace; judging its output"
                );
            }
            match self.run_agent(&input) {
                Ok(expected) if keccak256(&expected) == event.outputHash => Finding::Agrees,
                Ok(expected) => Finding::Output(keccak256(&expected)),
                Err(reason) => {
                    tracing::warn!(task_id, %reason, "the agent refuses this input; not challenging");
                    Finding::Unjudged(Verdict::Unjudgeable(reason))
                }
            }
        };
        // `found`: where a large agent's run departs, for the logs and the claim.
        let (expected_hash, trace, found) = match finding {
            Finding::Unjudged(verdict) => return Ok(verdict),
            Finding::Agrees => {
                lock(&self.evidence).remove(&task_id);
                if let Some(claim) = self.claims.get(task_id).await? {
                    self.close_if_vanished(&claim, "the task now commits the correct output")
                        .await?;
                }
                return Ok(Verdict::Correct);
            }
            Finding::Output(expected_hash) => (expected_hash, Vec::new(), None),
            Finding::Trace { trace, step } => {
                let shown = match trace_step(&step) {
                    Ok(shown) => shown,
                    Err(error) => {
                        tracing::error!(task_id, %error, "the fraud step cannot be shown; not challenging");
                        return Ok(Verdict::Unjudgeable(error.to_string()));
                    }
                };
                self.metrics.trace_fraud(step_kind(&step));
                (sealed_step(&shown), trace, Some(describe(&step)))
            }
        };
        let existing = self.claims.get(task_id).await?;

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
                step = found.as_deref(),
                "wrong output missed: {why}"
            );
            let detail = CloseReason::Missed(format!(
                "{why} (provable until block {}, first seen at block {head})",
                claim.deadline
            ))
            .to_string();
            self.record_claim(claim, reopening, ClaimState::Closed, detail, &trace)
                .await?;
            return Ok(Verdict::Missed(why));
        }
        match found.as_deref() {
            Some(step) => tracing::warn!(
                task_id,
                provable_until = claim.deadline,
                head,
                committed = %event.outputHash,
                trace_hash = %event.traceHash,
                step = %step,
                "wrong run committed: challenging its trace at {step}"
            ),
            None => tracing::warn!(
                task_id,
                provable_until = claim.deadline,
                head,
                committed = %event.outputHash,
                expected = %expected_hash,
                "wrong output committed: challenging"
            ),
        }
        let wrong = match found.as_deref() {
            Some(step) => format!("wrong run ({step})"),
            None => "wrong output".to_string(),
        };
        let detail = if reopening {
            format!(
                "the {wrong} committed as output {} is back on the canonical chain; challenging again",
                event.outputHash
            )
        } else {
            format!("{wrong} found at block {head}; challenging")
        };
        // What the challenge sends is at hand: keep it rather than read it back from the chain.
        lock(&self.evidence).insert(
            task_id,
            Evidence {
                input,
                output: event.output.clone(),
                trace_hash: hashes.trace_hash,
                non_signer_hash: hashes.non_signer_hash,
                trace: trace.clone(),
            },
        );
        let claim = self
            .record_claim(claim, reopening, ClaimState::Challenging, detail, &trace)
            .await?;
        warden_runtime::failpoint(FAILPOINT_AFTER_CLAIM).await;
        if let Err(error) = self.send_challenge(&claim).await {
            // The claim is on record: the next step tries again.
            tracing::warn!(task_id, %error, "challenge not sent yet; retrying");
        }
        Ok(found.map_or(Verdict::Wrong, Verdict::WrongRun))
    }

    /// Opens `claim` in `state` with the committed `trace` (empty for an output claim), or moves
    /// a claim a reorg closed to `state` with the trace now committed.
    async fn record_claim(
        &self,
        mut claim: Claim,
        reopening: bool,
        state: ClaimState,
        detail: String,
        trace: &[B256],
    ) -> Result<Claim, WatchtowerError> {
        claim.state = state;
        if reopening {
            // The trace first: a crash in between leaves the claim closed, to be reopened again.
            self.claims.set_trace(claim.task_id, trace).await?;
            self.claims.set_state(claim.task_id, state, &detail).await?;
            claim.detail = detail;
            Ok(claim)
        } else {
            claim.detail = detail;
            Ok(self.claims.open_traced(&claim, trace).await?)
        }
    }

    /// Judges a large agent's commitment by its run: the committed trace (read from the
    /// commitment's transaction; none when the commitment binds none, which `find_fraud` finds
    /// too short) against the agent's own.
    async fn find_fraud(
        &self,
        event: &WardenTaskManager::OutputCommitted,
        log: &Log,
        input: &Bytes,
    ) -> Result<Finding, WatchtowerError> {
        let task_id = event.taskId;
        let trace = if event.traceHash == NO_TRACE {
            Vec::new()
        } else {
            match self.read_trace(task_id, log, event.traceHash).await? {
                Ok(trace) => trace,
                Err(error) => {
                    tracing::error!(
                        task_id,
                        tx = ?log.transaction_hash,
                        %error,
                        "the committed trace cannot be read: this commitment is not judged"
                    );
                    return Ok(Finding::Unjudged(Verdict::Untraceable(error)));
                }
            }
        };
        let evidence = Evidence {
            input: input.clone(),
            output: event.output.clone(),
            trace_hash: event.traceHash,
            non_signer_hash: non_signer_hash(&event.nonSignerIds),
            trace,
        };
        Ok(match self.fraud_step(&evidence) {
            Ok(None) => Finding::Agrees,
            Ok(Some(step)) => Finding::Trace {
                trace: evidence.trace,
                step,
            },
            Err(reason) => {
                tracing::warn!(task_id, %reason, "the agent refuses this input; not challenging");
                Finding::Unjudged(Verdict::Unjudgeable(reason))
            }
        })
    }
}
