//! The aggregator's tables. `aggregator_tasks`: the tasks it collects for and how far each got,
//! so a restart resumes them. `aggregator_signatures`: every operator signature it accepted,
//! written before the operator is told, so a quorum reached before a crash is reached again
//! after it. `aggregator_equivocations`: evidence of operators who signed two outputs of one task.
//! `aggregator_submissions`: each `commitOutput` it decided to send, with the quorum
//! and the transaction intent, so a crash mid-submission neither loses nor repeats it.

use alloy::primitives::{B256, Bytes, U256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::encoding::{b256, bytes, hex, int, text_enum, trace, trace_hex, u256, uint};
use crate::{EncodingError, Store, StoreError, now_ms};

text_enum! {
    /// How far the aggregator got with a task.
    pub enum TaskState (column "state", "task state") {
        /// Open on chain; signatures are being collected.
        Collecting = "collecting",
        /// A quorum is being committed.
        Committing = "committing",
        /// Committed on chain, waiting for its challenge window to pass.
        Committed = "committed",
        /// Final: executed, expired, challenged or otherwise closed.
        Done = "done",
    }
}

/// A task the aggregator tracks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    pub task_id: u64,
    pub agent_id: u64,
    pub input_hash: B256,
    pub reference_block: u64,
    pub state: TaskState,
    /// The output committed or being committed.
    pub output_hash: Option<B256>,
}

/// An accepted operator signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSignature {
    pub task_id: u64,
    pub operator_id: B256,
    pub output_hash: B256,
    pub output: Bytes,
    /// The run's activation trace, whose hash the signature covers with the output (empty for an
    /// agent that keeps none).
    pub trace: Vec<B256>,
    /// Compressed BLS12-381 G2 signature.
    pub signature: Bytes,
}

/// One operator's two verified signatures over different outputs of one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EquivocationRecord {
    pub task_id: u64,
    pub operator_id: B256,
    /// The output, trace hash and compressed signature the aggregator recorded first (and
    /// counts).
    pub first_output_hash: B256,
    pub first_trace_hash: B256,
    pub first_signature: Bytes,
    /// The conflicting output and trace hash, and its compressed signature.
    pub second_output_hash: B256,
    pub second_trace_hash: B256,
    pub second_signature: Bytes,
}

text_enum! {
    /// Where a submission stands.
    pub enum SubmissionStatus (column "status", "submission status") {
        /// Decided; its transaction may or may not have been sent.
        Prepared = "prepared",
        /// Its transaction committed the output.
        Confirmed = "confirmed",
        /// Its transaction failed or the task was settled otherwise.
        Abandoned = "abandoned",
    }
}

/// A quorum the aggregator decided to commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionRecord {
    pub task_id: u64,
    pub attempt: u64,
    pub output_hash: B256,
    /// The hash of the trace committed with the output (`NO_TRACE` for an agent without one).
    pub trace_hash: B256,
    /// Non-signers' public keys, EIP-2537 encoded (128 bytes each).
    pub non_signers: Vec<Bytes>,
    /// The aggregate signature, EIP-2537 encoded (256 bytes).
    pub aggregate_signature: Bytes,
    pub signed_weight: U256,
    /// The transaction intent that sends it.
    pub intent: String,
    pub status: SubmissionStatus,
}

/// The aggregator's records.
#[derive(Debug, Clone)]
pub struct AggregatorStore {
    store: Store,
}

impl AggregatorStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Starts tracking a task; a task already tracked is left as it is.
    pub async fn track(&self, task: &TaskRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO aggregator_tasks (task_id, agent_id, input_hash, reference_block, state, \
             output_hash, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (task_id) DO NOTHING",
        )
        .bind(int("task_id", task.task_id)?)
        .bind(int("agent_id", task.agent_id)?)
        .bind(task.input_hash.to_string())
        .bind(int("reference_block", task.reference_block)?)
        .bind(task.state.as_str())
        .bind(task.output_hash.map(|hash| hash.to_string()))
        .bind(now_ms())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Moves a task to `state`, recording the output it is committing or committed.
    pub async fn set_state(
        &self,
        task_id: u64,
        state: TaskState,
        output_hash: Option<B256>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE aggregator_tasks SET state = $2, output_hash = COALESCE($3, output_hash), \
             updated_at_ms = $4 WHERE task_id = $1",
        )
        .bind(int("task_id", task_id)?)
        .bind(state.as_str())
        .bind(output_hash.map(|hash| hash.to_string()))
        .bind(now_ms())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    pub async fn task(&self, task_id: u64) -> Result<Option<TaskRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM aggregator_tasks WHERE task_id = $1")
            .bind(int("task_id", task_id)?)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(task_record).transpose()
    }

    /// Tasks not yet done, oldest first: what a restarted aggregator resumes.
    pub async fn live_tasks(&self) -> Result<Vec<TaskRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM aggregator_tasks WHERE state <> $1 ORDER BY task_id")
            .bind(TaskState::Done.as_str())
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(task_record).collect()
    }

    /// Keeps a verified signature. The operator's first one for the task stays: a second over
    /// another output is equivocation ([`AggregatorStore::save_equivocation`]), and writing the
    /// same one again (its first write may be the one that failed) changes nothing.
    pub async fn save_signature(&self, signature: &StoredSignature) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO aggregator_signatures (task_id, operator_id, output_hash, output, \
             trace, signature, received_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (task_id, operator_id) DO NOTHING",
        )
        .bind(int("task_id", signature.task_id)?)
        .bind(signature.operator_id.to_string())
        .bind(signature.output_hash.to_string())
        .bind(hex(&signature.output))
        .bind(trace_hex(&signature.trace))
        .bind(hex(&signature.signature))
        .bind(now_ms())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Keeps evidence of equivocation; the first pair on record for an operator and task stays.
    pub async fn save_equivocation(&self, evidence: &EquivocationRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO aggregator_equivocations (task_id, operator_id, first_output_hash, \
             first_trace_hash, first_signature, second_output_hash, second_trace_hash, \
             second_signature, received_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (task_id, operator_id) DO NOTHING",
        )
        .bind(int("task_id", evidence.task_id)?)
        .bind(evidence.operator_id.to_string())
        .bind(evidence.first_output_hash.to_string())
        .bind(evidence.first_trace_hash.to_string())
        .bind(hex(&evidence.first_signature))
        .bind(evidence.second_output_hash.to_string())
        .bind(evidence.second_trace_hash.to_string())
        .bind(hex(&evidence.second_signature))
        .bind(now_ms())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// The equivocation evidence kept for `task_id`, by operator id.
    pub async fn equivocations(&self, task_id: u64) -> Result<Vec<EquivocationRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM aggregator_equivocations WHERE task_id = $1 ORDER BY operator_id",
        )
        .bind(int("task_id", task_id)?)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let hash = |column: &'static str| -> Result<B256, StoreError> {
                    Ok(b256(column, &row.try_get::<String, _>(column)?)?)
                };
                let blob = |column: &'static str| -> Result<Bytes, StoreError> {
                    Ok(bytes(column, &row.try_get::<String, _>(column)?)?)
                };
                Ok(EquivocationRecord {
                    task_id: uint("task_id", row.try_get("task_id")?)?,
                    operator_id: hash("operator_id")?,
                    first_output_hash: hash("first_output_hash")?,
                    first_trace_hash: hash("first_trace_hash")?,
                    first_signature: blob("first_signature")?,
                    second_output_hash: hash("second_output_hash")?,
                    second_trace_hash: hash("second_trace_hash")?,
                    second_signature: blob("second_signature")?,
                })
            })
            .collect()
    }

    /// Every signature kept for `task_id`, in the order received.
    pub async fn signatures(&self, task_id: u64) -> Result<Vec<StoredSignature>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM aggregator_signatures WHERE task_id = $1 \
             ORDER BY received_at_ms, operator_id",
        )
        .bind(int("task_id", task_id)?)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredSignature {
                    task_id: uint("task_id", row.try_get("task_id")?)?,
                    operator_id: b256("operator_id", &row.try_get::<String, _>("operator_id")?)?,
                    output_hash: b256("output_hash", &row.try_get::<String, _>("output_hash")?)?,
                    output: bytes("output", &row.try_get::<String, _>("output")?)?,
                    trace: trace("trace", &row.try_get::<String, _>("trace")?)?,
                    signature: bytes("signature", &row.try_get::<String, _>("signature")?)?,
                })
            })
            .collect()
    }

    /// Records the decision to commit a quorum (as the task's next attempt, with the intent
    /// `intent_for(attempt)`) and moves the task to `committing`, atomically.
    #[expect(
        clippy::too_many_arguments,
        reason = "each is a column of the submission's row"
    )]
    pub async fn prepare_submission(
        &self,
        task_id: u64,
        output_hash: B256,
        trace_hash: B256,
        non_signers: &[Bytes],
        aggregate_signature: &Bytes,
        signed_weight: U256,
        intent_for: impl Fn(u64) -> String,
    ) -> Result<SubmissionRecord, StoreError> {
        let id = int("task_id", task_id)?;
        let mut transaction = self.store.begin_write().await?;
        let row = sqlx::query(
            "SELECT MAX(attempt) AS last FROM aggregator_submissions WHERE task_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *transaction)
        .await?;
        let last: Option<i64> = row.try_get("last")?;
        let attempt = last.map_or(Ok(1), |last| uint("attempt", last).map(|a| a + 1))?;
        let record = SubmissionRecord {
            task_id,
            attempt,
            output_hash,
            trace_hash,
            non_signers: non_signers.to_vec(),
            aggregate_signature: aggregate_signature.clone(),
            signed_weight,
            intent: intent_for(attempt),
            status: SubmissionStatus::Prepared,
        };
        let non_signers_json = serde_json::to_string(
            &record
                .non_signers
                .iter()
                .map(|key| hex(key))
                .collect::<Vec<_>>(),
        )
        .map_err(|e| EncodingError {
            column: "non_signers",
            reason: e.to_string(),
        })?;
        sqlx::query(
            "INSERT INTO aggregator_submissions (task_id, attempt, output_hash, trace_hash, \
             non_signers, aggregate_signature, signed_weight, intent, status, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(int("attempt", attempt)?)
        .bind(output_hash.to_string())
        .bind(trace_hash.to_string())
        .bind(non_signers_json)
        .bind(hex(aggregate_signature))
        .bind(signed_weight.to_string())
        .bind(&record.intent)
        .bind(SubmissionStatus::Prepared.as_str())
        .bind(now_ms())
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "UPDATE aggregator_tasks SET state = $2, output_hash = $3, updated_at_ms = $4 \
             WHERE task_id = $1",
        )
        .bind(id)
        .bind(TaskState::Committing.as_str())
        .bind(output_hash.to_string())
        .bind(now_ms())
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(record)
    }

    /// The task's submission still in flight, if any.
    pub async fn prepared_submission(
        &self,
        task_id: u64,
    ) -> Result<Option<SubmissionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM aggregator_submissions WHERE task_id = $1 AND status = $2 \
             ORDER BY attempt DESC LIMIT 1",
        )
        .bind(int("task_id", task_id)?)
        .bind(SubmissionStatus::Prepared.as_str())
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(submission_record).transpose()
    }

    /// Every submission for `task_id`, by attempt.
    pub async fn submissions(&self, task_id: u64) -> Result<Vec<SubmissionRecord>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM aggregator_submissions WHERE task_id = $1 ORDER BY attempt")
                .bind(int("task_id", task_id)?)
                .fetch_all(self.store.pool())
                .await?;
        rows.iter().map(submission_record).collect()
    }

    pub async fn settle_submission(
        &self,
        task_id: u64,
        attempt: u64,
        status: SubmissionStatus,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE aggregator_submissions SET status = $3 WHERE task_id = $1 AND attempt = $2",
        )
        .bind(int("task_id", task_id)?)
        .bind(int("attempt", attempt)?)
        .bind(status.as_str())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }
}

fn task_record(row: &AnyRow) -> Result<TaskRecord, StoreError> {
    Ok(TaskRecord {
        task_id: uint("task_id", row.try_get("task_id")?)?,
        agent_id: uint("agent_id", row.try_get("agent_id")?)?,
        input_hash: b256("input_hash", &row.try_get::<String, _>("input_hash")?)?,
        reference_block: uint("reference_block", row.try_get("reference_block")?)?,
        state: TaskState::parse(&row.try_get::<String, _>("state")?)?,
        output_hash: row
            .try_get::<Option<String>, _>("output_hash")?
            .map(|text| b256("output_hash", &text))
            .transpose()?,
    })
}

fn submission_record(row: &AnyRow) -> Result<SubmissionRecord, StoreError> {
    let non_signers: Vec<String> = serde_json::from_str(&row.try_get::<String, _>("non_signers")?)
        .map_err(|e| EncodingError {
            column: "non_signers",
            reason: e.to_string(),
        })?;
    Ok(SubmissionRecord {
        task_id: uint("task_id", row.try_get("task_id")?)?,
        attempt: uint("attempt", row.try_get("attempt")?)?,
        output_hash: b256("output_hash", &row.try_get::<String, _>("output_hash")?)?,
        trace_hash: b256("trace_hash", &row.try_get::<String, _>("trace_hash")?)?,
        non_signers: non_signers
            .iter()
            .map(|key| bytes("non_signers", key))
            .collect::<Result<_, _>>()?,
        aggregate_signature: bytes(
            "aggregate_signature",
            &row.try_get::<String, _>("aggregate_signature")?,
        )?,
        signed_weight: u256("signed_weight", &row.try_get::<String, _>("signed_weight")?)?,
        intent: row.try_get("intent")?,
        status: SubmissionStatus::parse(&row.try_get::<String, _>("status")?)?,
    })
}
