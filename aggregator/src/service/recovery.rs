//! Recovery after a restart: transactions still pending are waited for, every task on record
//! is checked against the chain, open ones get their signatures back into the intake, and a
//! quorum on record is committed under its original intent.

use warden_protocol::TaskState;
use warden_protocol::api::SignatureSubmission;
use warden_store::aggregator::{SubmissionStatus as Stored, TaskState as RecordState};

use super::committer::signed_run;
use super::{Aggregator, Pending, ServiceError};

impl Aggregator {
    /// Picks up where a previous run stopped: transactions still pending are waited for, every
    /// task on record is checked against the chain, open ones get their signatures back into
    /// the intake, and a quorum on record is committed under its original intent.
    pub(super) async fn recover(&self) -> Result<(), ServiceError> {
        let settled = self.txm.resume().await?;
        for sent in &settled {
            tracing::info!(intent = %sent.intent, tx = %sent.tx_hash, status = ?sent.status, "transaction from before the restart settled");
        }
        for record in self.records.live_tasks().await? {
            let task_id = record.task_id;
            let (state, task) = self.task(task_id).await?;
            let prepared = self.records.prepared_submission(task_id).await?;
            match state {
                TaskState::Open => {
                    if let Err(error) = self.ensure_task(task_id).await {
                        tracing::warn!(task_id, %error, "could not resume the task");
                        continue;
                    }
                    let signatures = self.records.signatures(task_id).await?;
                    // A quorum on record is resumed under its intent: no other is handed out
                    // while it may still land.
                    if prepared.is_some() {
                        self.intake.lock().await.committing(task_id);
                    }
                    let mut ready = Vec::new();
                    for stored in &signatures {
                        // Signatures on record verified when they arrived; they are verified
                        // again all the same, as any submission is.
                        match self
                            .admit(&SignatureSubmission {
                                task_id,
                                operator_id: stored.operator_id,
                                output: stored.output.clone(),
                                signature: stored.signature.clone(),
                                trace: stored.trace.clone(),
                            })
                            .await
                        {
                            Ok(recorded) => ready.extend(recorded.ready),
                            Err(error) => {
                                tracing::warn!(task_id, operator_id = %stored.operator_id, %error, "a signature on record no longer holds")
                            }
                        }
                    }
                    match prepared {
                        Some(submission) => match signed_run(signatures, &submission) {
                            Some(run) => {
                                tracing::info!(task_id, intent = %submission.intent, "resuming the commitment in flight");
                                self.ready.lock().await.push(Pending {
                                    submission,
                                    run: Some(run),
                                });
                            }
                            None => {
                                self.records
                                    .settle_submission(
                                        task_id,
                                        submission.attempt,
                                        Stored::Abandoned,
                                    )
                                    .await?;
                                self.intake.lock().await.commit_failed(task_id);
                            }
                        },
                        // A quorum the previous run reached but had not put on record yet.
                        None => {
                            for quorum in ready {
                                self.prepare(quorum).await;
                            }
                        }
                    }
                    self.tracked.lock().await.insert(task_id);
                }
                TaskState::Committed => {
                    // The task keeps only a hash of what was committed: the output is in its
                    // events.
                    let hashes = self.read_committed(task_id, &task).await?.hashes;
                    let output_hash = hashes.output_hash;
                    if let Some(submission) = prepared {
                        let status = if output_hash == submission.output_hash
                            && hashes.trace_hash == submission.trace_hash
                        {
                            Stored::Confirmed
                        } else {
                            Stored::Abandoned
                        };
                        self.records
                            .settle_submission(task_id, submission.attempt, status)
                            .await?;
                    }
                    self.records
                        .set_state(task_id, RecordState::Committed, Some(output_hash))
                        .await?;
                    self.tracked.lock().await.insert(task_id);
                }
                TaskState::None
                | TaskState::Executed
                | TaskState::Expired
                | TaskState::Vetoed
                | TaskState::Fraudulent => {
                    if let Some(submission) = prepared {
                        self.records
                            .settle_submission(task_id, submission.attempt, Stored::Abandoned)
                            .await?;
                    }
                    self.records
                        .set_state(task_id, RecordState::Done, None)
                        .await?;
                }
            }
        }
        let tracked = self.tracked.lock().await.len();
        tracing::info!(tasks = tracked, "resumed the tasks on record");
        self.wake.notify_one();
        Ok(())
    }
}
