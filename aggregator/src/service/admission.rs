//! Admission of one operator's signature: the task is read from the chain and put on record the
//! first time a signature for it arrives; the signature is screened, verified on its own by the
//! batching verifier, and only then recorded in the intake and the database, before the operator
//! hears that it was taken.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::http::StatusCode;
use warden_bindings::task_manager::WardenTaskManager::AgentConfig;
use warden_protocol::api::{SignatureSubmission, SubmissionReceipt, SubmissionStatus};
use warden_protocol::{TaskAttestation, TaskState};
use warden_store::StoreError;
use warden_store::aggregator::{EquivocationRecord, StoredSignature};

use super::Aggregator;
use super::api::SubmitError;
use crate::Threshold;
use crate::intake::{Equivocation, IntakeError, Recorded, Screening, TaskContext, parse_signature};

impl Aggregator {
    /// Takes one signature: 202 when new, 200 when known or the task is committed already.
    pub(super) async fn accept(
        self: &Arc<Self>,
        submission: &SignatureSubmission,
    ) -> Result<(StatusCode, Json<SubmissionReceipt>), SubmitError> {
        let task_id = submission.task_id;
        self.ensure_task(task_id).await?;
        self.first_signature
            .lock()
            .await
            .entry(task_id)
            .or_insert_with(Instant::now);
        let recorded = match self.admit(submission).await {
            Err(SubmitError::Intake(IntakeError::Equivocation(evidence))) => {
                self.keep_equivocation(&evidence).await;
                return Err(SubmitError::Intake(IntakeError::Equivocation(evidence)));
            }
            other => other?,
        };
        // On record before the operator hears it was taken. A duplicate is written again: its
        // first write may be the one that failed.
        let saved = if recorded.status == SubmissionStatus::AlreadyCommitted {
            Ok(())
        } else {
            self.records
                .save_signature(&StoredSignature {
                    task_id,
                    operator_id: submission.operator_id,
                    output_hash: recorded.output_hash,
                    output: submission.output.clone(),
                    trace: submission.trace.clone(),
                    signature: submission.signature.clone(),
                })
                .await
                .map_err(|error| self.database_error("save_signature", error))
        };
        // The intake handed the quorum out once, with this signature: it goes on to be committed
        // even if the signature could not be written (the operator hears 503 and sends it again,
        // which the intake knows already and never completes a quorum with a second time).
        if let Some(ready) = recorded.ready {
            // The operator's answer does not wait for the late signers.
            tokio::spawn(Arc::clone(self).commit_after_grace(ready));
        }
        saved?;
        let status = match recorded.status {
            SubmissionStatus::Accepted => StatusCode::ACCEPTED,
            SubmissionStatus::Duplicate | SubmissionStatus::AlreadyCommitted => StatusCode::OK,
        };
        Ok((
            status,
            Json(SubmissionReceipt {
                status: recorded.status,
                task_id,
                output_hash: recorded.output_hash,
            }),
        ))
    }

    /// Screens a submission against the intake, then has the verifier check its signature
    /// (outside the intake's lock, batched with whatever else is waiting) and record it. Nothing
    /// about it is recorded unless its signature verified.
    pub(super) async fn admit(
        &self,
        submission: &SignatureSubmission,
    ) -> Result<Recorded, SubmitError> {
        let signature = parse_signature(&submission.signature)?;
        let screening = self.intake.lock().await.screen(submission, signature)?;
        let candidate = match screening {
            Screening::Known {
                status,
                output_hash,
            } => {
                return Ok(Recorded {
                    status,
                    output_hash,
                    ready: None,
                });
            }
            Screening::Verify(candidate) => candidate,
        };
        let outcome = self
            .verifier
            .verify_and_record(candidate)
            .await
            .map_err(|stopped| SubmitError::Unavailable(stopped.to_string()))?;
        Ok(outcome?)
    }

    /// Keeps the evidence of an equivocation for `slashEquivocation`: in the database, and in the
    /// log in case the database is down.
    async fn keep_equivocation(&self, evidence: &Equivocation) {
        let Equivocation {
            task_id,
            operator_id,
            first,
            second,
        } = evidence;
        tracing::warn!(
            task_id,
            %operator_id,
            first_output_hash = %first.run.output_hash,
            first_trace_hash = %first.run.trace_hash,
            first_signature = %first.signature,
            second_output_hash = %second.run.output_hash,
            second_trace_hash = %second.run.trace_hash,
            second_signature = %second.signature,
            "operator signed two runs of one task; evidence kept for slashEquivocation"
        );
        let record = EquivocationRecord {
            task_id: *task_id,
            operator_id: operator_id.as_b256(),
            first_output_hash: first.run.output_hash,
            first_trace_hash: first.run.trace_hash,
            first_signature: first.signature.to_compressed().to_vec().into(),
            second_output_hash: second.run.output_hash,
            second_trace_hash: second.run.trace_hash,
            second_signature: second.signature.to_compressed().to_vec().into(),
        };
        if let Err(error) = self.records.save_equivocation(&record).await {
            let _ = self.database_error("save_equivocation", error);
        }
    }

    /// The task's context, read from the chain once and cached in the intake; the task is on
    /// record before this returns.
    pub(super) async fn ensure_task(&self, task_id: u64) -> Result<(), SubmitError> {
        if self.intake.lock().await.knows(task_id) {
            return Ok(());
        }
        // Every operator's first submission arrives at about the same moment: one of them sets
        // the task up, the others wait for it instead of reading the same task from the chain.
        let setup = Arc::clone(self.setups.lock().await.entry(task_id).or_default());
        let result = setup
            .get_or_try_init(|| self.set_up_task(task_id))
            .await
            .map(|_| ());
        // Whatever the outcome, the entry goes: once set up, the intake knows the task (and a task
        // it forgets later is set up afresh); a refused one (an unknown task id, say) must not
        // stay behind, or a flood of made-up ids would grow the map for good. Submissions still
        // waiting hold the entry until they are done with it.
        self.setups.lock().await.remove(&task_id);
        result
    }

    /// Reads a task and its agent from the chain, checks this aggregator serves it, and puts it
    /// on record and in the intake.
    async fn set_up_task(&self, task_id: u64) -> Result<(), SubmitError> {
        if self.intake.lock().await.knows(task_id) {
            return Ok(());
        }
        let (state, task) = self
            .task(task_id)
            .await
            .map_err(|e| SubmitError::Chain(e.to_string()))?;
        match state {
            TaskState::Open => {}
            TaskState::None => return Err(SubmitError::UnknownTask(task_id)),
            TaskState::Committed | TaskState::Executed => {
                return Err(SubmitError::AlreadyCommitted(task_id));
            }
            TaskState::Expired | TaskState::Vetoed | TaskState::Fraudulent => {
                return Err(SubmitError::TaskClosed(task_id));
            }
        }
        let agent = self
            .agent(task.agentId)
            .await
            .map_err(|e| SubmitError::Chain(e.to_string()))?;
        self.check_served(task_id, task.agentId, &agent).await?;
        let set = self
            .operator_set(task.referenceBlock)
            .await
            .map_err(|e| SubmitError::Chain(e.to_string()))?;
        let threshold = Threshold::new(u64::from(agent.thresholdBps), 10_000)
            .map_err(|e| SubmitError::Chain(format!("agent {}: {e}", task.agentId)))?;
        self.records
            .track(&super::collecting(task_id, &task, task.inputHash))
            .await
            .map_err(|error| self.database_error("track_task", error))?;
        let context = TaskContext {
            task: TaskAttestation {
                chain_id: self.chain_id,
                task_manager: self.settings.task_manager,
                task_id,
                agent_id: task.agentId,
                agent_hash: agent.agentHash,
                verifier: agent.verifier,
                input_hash: task.inputHash,
                reference_block: task.referenceBlock,
            },
            threshold,
            set,
        };
        self.intake.lock().await.add_task(Arc::new(context));
        self.tracked.lock().await.insert(task_id);
        Ok(())
    }

    /// Refuses a task whose agent this aggregator does not serve: its hash is neither a keeper
    /// agent's nor listed in `accept_agent_hashes`, or its service balance cannot pay the commit
    /// fee. Checked once per task, before anything about it is recorded, so a flood of signatures
    /// for fake agents costs one chain read per task and no gas.
    async fn check_served(
        &self,
        task_id: u64,
        agent_id: u64,
        agent: &AgentConfig,
    ) -> Result<(), SubmitError> {
        let refuse = |reason: String| SubmitError::AgentNotServed {
            task_id,
            agent_id,
            reason,
        };
        let chain = |error: alloy::contract::Error| SubmitError::Chain(error.to_string());
        let mut kept_hashes = Vec::with_capacity(self.settings.keeper_agents.len());
        for &kept in &self.settings.keeper_agents {
            kept_hashes.push(self.agent(kept).await.map_err(chain)?.agentHash);
        }
        if !self
            .settings
            .allowlist
            .accepts_hash(agent.agentHash, &kept_hashes)
        {
            return Err(refuse(format!(
                "agent hash {} is not on the allowlist",
                agent.agentHash
            )));
        }
        if !self
            .verifiers
            .accepts(&self.provider, agent.verifier)
            .await
            .map_err(|error| SubmitError::Chain(error.to_string()))?
        {
            return Err(refuse(format!(
                "the code of its verifier {} is not on the allowlist",
                agent.verifier
            )));
        }
        let fee = self.commit_fee().await.map_err(chain)?;
        if !fee.is_zero() {
            let balance = self
                .task_manager()
                .serviceBalance(agent_id)
                .call()
                .await
                .map_err(chain)?;
            if balance < fee {
                return Err(refuse(format!(
                    "its service balance {balance} wei cannot pay the commit fee of {fee} wei"
                )));
            }
        }
        Ok(())
    }

    /// Counts and logs a failed database operation; the submission is refused as unavailable.
    pub(super) fn database_error(&self, operation: &'static str, error: StoreError) -> SubmitError {
        self.count_database_error(operation, &error);
        SubmitError::Unavailable(format!("{operation}: {error}"))
    }
}
