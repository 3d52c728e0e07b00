//! The committer: a quorum the intake reached is put on record with the intent of its
//! `commitOutput`, then sent (or, after a restart, resumed) by the keeper loop, and settled
//! against the chain when it did not go through.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use warden_bindings::task_manager::BLS as TmBLS;
use warden_bindings::task_manager::WardenTaskManager::commitOutputCall;
use warden_protocol::{TaskState, non_signer_hash, trace_hash};
use warden_store::aggregator::{
    StoredSignature, SubmissionRecord, SubmissionStatus as Stored, TaskState as RecordState,
};
use warden_txm::{Intent, TxError, TxOutcome};

use super::{Aggregator, FAILPOINT_AFTER_QUORUM, FAILPOINT_DURING_SUBMISSION, Pending, SignedRun};
use crate::intake::ReadyQuorum;

/// How often a grace period looks for late signers.
const GRACE_POLL: Duration = Duration::from_millis(20);

impl Aggregator {
    /// Lets the operators still signing join a quorum that just reached the threshold (see
    /// [`super::QuorumGrace`]), then puts it on record as it stands. Fewer non-signers make a
    /// cheaper commitment, and pay the late signers their share of the task's fee.
    pub(super) async fn commit_after_grace(self: Arc<Self>, ready: ReadyQuorum) {
        let grace = self.settings.quorum_grace;
        let (task_id, run) = (ready.task_id, ready.run);
        if grace.wait.is_zero() || grace.blocks == 0 || ready.quorum.non_signer_ids.is_empty() {
            return self.prepare(ready).await;
        }
        // A commitment sent after the next block lands one block later still: wait only while
        // two blocks of the response window are left.
        let Ok(head) = self.provider.get_block_number().await else {
            return self.prepare(ready).await;
        };
        let last_live = self
            .task_manager()
            .lastLiveBlock(task_id)
            .call()
            .await
            .unwrap_or_default();
        let end_block = head.saturating_add(grace.blocks);
        if U256::from(head.saturating_add(2)) > last_live {
            return self.prepare(ready).await;
        }
        let end = Instant::now() + grace.wait;
        let mut polls = 0u32;
        while Instant::now() < end {
            if self.intake.lock().await.everyone_signed(task_id, run) {
                break;
            }
            polls += 1;
            // The chain is asked every fifth poll, not every one.
            if polls.is_multiple_of(5)
                && self
                    .provider
                    .get_block_number()
                    .await
                    .is_ok_and(|block| block >= end_block)
            {
                break;
            }
            tokio::time::sleep(GRACE_POLL).await;
        }
        let quorum = self
            .intake
            .lock()
            .await
            .quorum_now(task_id, run)
            .unwrap_or(ready);
        self.prepare(quorum).await;
    }

    /// Puts a verified quorum on record and queues it for the keeper loop. If the record cannot
    /// be written, the intake collects again and hands the quorum out later.
    pub(super) async fn prepare(&self, ready: ReadyQuorum) {
        let task_id = ready.task_id;
        let first = self.first_signature.lock().await.remove(&task_id);
        if let Some(first) = first {
            let agent = self
                .intake
                .lock()
                .await
                .agent_of(task_id)
                .map(|id| id.to_string())
                .unwrap_or_default();
            self.metrics
                .quorum_latency
                .with_label_values(&[agent.as_str()])
                .observe(first.elapsed().as_secs_f64());
        }
        let non_signers: Vec<Bytes> = ready
            .quorum
            .non_signers
            .iter()
            .map(|key| Bytes::copy_from_slice(key))
            .collect();
        let signature = Bytes::copy_from_slice(&ready.quorum.aggregate_signature.to_eip2537());
        let prepared = self
            .records
            .prepare_submission(
                task_id,
                ready.run.output_hash,
                ready.run.trace_hash,
                &non_signers,
                &signature,
                ready.quorum.signed_weight,
                |attempt| Intent::CommitOutput { task_id, attempt }.to_string(),
            )
            .await;
        match prepared {
            Ok(submission) => {
                tracing::info!(
                    task_id,
                    output_hash = %ready.run.output_hash,
                    trace_hash = %ready.run.trace_hash,
                    trace_length = ready.trace.len(),
                    signed_weight = %ready.quorum.signed_weight,
                    non_signers = non_signers.len(),
                    intent = %submission.intent,
                    "quorum reached"
                );
                self.ready.lock().await.push(Pending {
                    submission,
                    run: Some(SignedRun {
                        output: ready.output,
                        trace: ready.trace,
                    }),
                });
                self.wake.notify_one();
            }
            Err(error) => {
                let _ = self.database_error("prepare_submission", error);
                self.intake.lock().await.commit_failed(task_id);
            }
        }
    }

    /// Sends (or, after a restart, resumes) a quorum's `commitOutput` and settles its record.
    pub(super) async fn commit(&self, submission: SubmissionRecord, run: SignedRun) {
        let task_id = submission.task_id;
        warden_runtime::failpoint(FAILPOINT_AFTER_QUORUM).await;
        let request = match commit_request(self.settings.task_manager, &submission, &run) {
            Ok(request) => request,
            Err(reason) => {
                tracing::error!(task_id, %reason, "the quorum on record is unusable; collecting again");
                self.abandon(&submission).await;
                return;
            }
        };
        let started = Instant::now();
        self.loops.committer.working();
        let sent = match self.txm.submit(&submission.intent, request).await {
            Ok(record) => {
                warden_runtime::failpoint(FAILPOINT_DURING_SUBMISSION).await;
                self.txm.wait(record.nonce).await
            }
            Err(error) => Err(error),
        };
        match sent {
            Ok(sent) if sent.status == TxOutcome::Success => {
                tracing::info!(
                    task_id,
                    output_hash = %submission.output_hash,
                    tx = %sent.tx_hash,
                    gas = sent.gas_used,
                    bumps = sent.bumps,
                    millis = started.elapsed().as_millis() as u64,
                    "output committed"
                );
                self.loops
                    .progressed(&self.loops.committer, sent.block_number);
                self.metrics
                    .commitments
                    .with_label_values(&["confirmed"])
                    .inc();
                self.keep_commitment(&submission, run.output).await;
                self.committed(&submission).await;
            }
            Ok(sent) => {
                self.metrics
                    .commitments
                    .with_label_values(&["reverted"])
                    .inc();
                tracing::warn!(task_id, tx = %sent.tx_hash, "commitOutput reverted");
                self.settle_against_chain(&submission).await;
                // Settled against the chain: this quorum is no longer the committer's work.
                self.loops.committer.idle();
            }
            Err(TxError::WouldRevert { reason, .. }) => {
                self.metrics
                    .commitments
                    .with_label_values(&["failed"])
                    .inc();
                tracing::warn!(task_id, %reason, "commitOutput would revert");
                self.settle_against_chain(&submission).await;
                self.loops.committer.idle();
            }
            Err(error) => {
                // Still on record under its intent: the next round waits for it again.
                self.metrics
                    .commitments
                    .with_label_values(&["failed"])
                    .inc();
                self.loops
                    .committer
                    .failed(format_args!("commitOutput of task {task_id}: {error}"));
                tracing::warn!(task_id, %error, "commitment not confirmed yet; retrying");
                self.ready.lock().await.push(Pending {
                    submission,
                    run: Some(run),
                });
            }
        }
    }

    async fn committed(&self, submission: &SubmissionRecord) {
        let task_id = submission.task_id;
        if let Err(error) = self
            .records
            .settle_submission(task_id, submission.attempt, Stored::Confirmed)
            .await
        {
            let _ = self.database_error("settle_submission", error);
        }
        if let Err(error) = self
            .records
            .set_state(
                task_id,
                RecordState::Committed,
                Some(submission.output_hash),
            )
            .await
        {
            let _ = self.database_error("set_state", error);
        }
        self.intake.lock().await.committed(task_id);
        self.metrics.task_settled("committed");
    }

    /// A commitment did not go through: find out from the chain whether the task was committed
    /// anyway (by another aggregator) or can be tried again.
    async fn settle_against_chain(&self, submission: &SubmissionRecord) {
        match self.task(submission.task_id).await {
            Ok((TaskState::Committed | TaskState::Executed, task)) => {
                // The task keeps only a hash of what was committed: the output is in its events.
                let ours = match self.read_committed(submission.task_id, &task).await {
                    Ok(committed) => {
                        committed.hashes.output_hash == submission.output_hash
                            && committed.hashes.trace_hash == submission.trace_hash
                    }
                    Err(error) => {
                        tracing::warn!(task_id = submission.task_id, %error, "could not read the commitment on chain; taking it for another output");
                        false
                    }
                };
                if ours {
                    self.committed(submission).await;
                } else {
                    self.abandon(submission).await;
                    self.intake.lock().await.committed(submission.task_id);
                }
            }
            _ => self.abandon(submission).await,
        }
    }

    async fn abandon(&self, submission: &SubmissionRecord) {
        if let Err(error) = self
            .records
            .settle_submission(submission.task_id, submission.attempt, Stored::Abandoned)
            .await
        {
            let _ = self.database_error("settle_submission", error);
        }
        self.intake.lock().await.commit_failed(submission.task_id);
    }

    /// The output and trace of a quorum on record, from the signatures on record.
    pub(super) async fn run_of(&self, submission: &SubmissionRecord) -> Option<SignedRun> {
        match self.records.signatures(submission.task_id).await {
            Ok(signatures) => signed_run(signatures, submission),
            Err(error) => {
                let _ = self.database_error("signatures", error);
                None
            }
        }
    }

    /// Keeps the output and non-signer hash this aggregator committed, for executing the task
    /// later. The submission's non-signer keys are sorted by operator id, as `commitOutput` took
    /// and `OutputCommitted` emitted them.
    async fn keep_commitment(&self, submission: &SubmissionRecord, output: Bytes) {
        let ids: Vec<B256> = submission.non_signers.iter().map(keccak256).collect();
        let mut kept = self.kept.lock().await;
        let facts = kept.entry(submission.task_id).or_default();
        facts.output = Some(output);
        facts.trace_hash = Some(submission.trace_hash);
        facts.non_signer_hash = Some(non_signer_hash(&ids));
    }
}

/// The run a quorum on record signed, among the signatures on record: the output and trace of
/// one whose hashes are the submission's.
pub(super) fn signed_run(
    signatures: Vec<StoredSignature>,
    submission: &SubmissionRecord,
) -> Option<SignedRun> {
    signatures
        .into_iter()
        .find(|s| {
            s.output_hash == submission.output_hash && trace_hash(&s.trace) == submission.trace_hash
        })
        .map(|s| SignedRun {
            output: s.output,
            trace: s.trace,
        })
}

/// The `commitOutput` transaction of a quorum on record.
fn commit_request(
    task_manager: Address,
    submission: &SubmissionRecord,
    run: &SignedRun,
) -> Result<TransactionRequest, String> {
    let non_signers = submission
        .non_signers
        .iter()
        .map(|key| {
            <[u8; 128]>::try_from(key.as_ref())
                .map(|key| TmBLS::G1Point::from_eip2537(&key))
                .map_err(|_| format!("a non-signer key of {} bytes", key.len()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let signature = <[u8; 256]>::try_from(submission.aggregate_signature.as_ref())
        .map(|signature| TmBLS::G2Point::from_eip2537(&signature))
        .map_err(|_| "an aggregate signature that is not 256 bytes".to_string())?;
    let call = commitOutputCall {
        taskId: submission.task_id,
        output: run.output.clone(),
        trace: run.trace.clone(),
        nonSigners: non_signers,
        signature,
    };
    Ok(TransactionRequest::default()
        .with_to(task_manager)
        .with_input(call.abi_encode()))
}
