//! `operator_signatures`: the operator's slashing protection. What a node signed for a task is
//! written here before the signature leaves the process and never rewritten; a restarted node
//! re-sends the recorded signature instead of signing again, so no crash, restart or changed
//! agent can make it sign two outputs for one task.

use alloy::primitives::{B256, Bytes};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::encoding::{b256, bytes, hex, int, uint};
use crate::{Store, StoreError, now_ms};

/// What the signed digest binds apart from the output: a task a reorg replaced (same id, other
/// input or reference block) is a different attestation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskKey {
    pub task_id: u64,
    pub input_hash: B256,
    pub reference_block: u64,
}

/// A signature the operator gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedOutput {
    pub key: TaskKey,
    pub agent_id: u64,
    pub output_hash: B256,
    pub output: Bytes,
    /// Compressed BLS12-381 G2 signature.
    pub signature: Bytes,
    /// The aggregator acknowledged it.
    pub delivered: bool,
}

/// Outcome of [`SlashingProtection::record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Nothing was signed for this task before; the new signature is now on record.
    New,
    /// A signature was already on record; it is returned, whatever the new one said.
    Existing(SignedOutput),
}

/// One operator's record.
#[derive(Debug, Clone)]
pub struct SlashingProtection {
    store: Store,
    operator_id: String,
}

impl SlashingProtection {
    pub fn new(store: Store, operator_id: B256) -> Self {
        Self {
            store,
            operator_id: operator_id.to_string(),
        }
    }

    /// What was signed for `key`, if anything.
    pub async fn find(&self, key: TaskKey) -> Result<Option<SignedOutput>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM operator_signatures WHERE operator_id = $1 AND task_id = $2 \
             AND input_hash = $3 AND reference_block = $4",
        )
        .bind(&self.operator_id)
        .bind(int("task_id", key.task_id)?)
        .bind(key.input_hash.to_string())
        .bind(int("reference_block", key.reference_block)?)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(signed_output).transpose()
    }

    /// Puts `signed` on record unless something is already recorded for its task; the first
    /// record always wins, even against a concurrent writer.
    pub async fn record(&self, signed: &SignedOutput) -> Result<Recorded, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO operator_signatures (operator_id, task_id, input_hash, reference_block, \
             agent_id, output_hash, output, signature, signed_at_ms, delivered_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL) \
             ON CONFLICT (operator_id, task_id, input_hash, reference_block) DO NOTHING",
        )
        .bind(&self.operator_id)
        .bind(int("task_id", signed.key.task_id)?)
        .bind(signed.key.input_hash.to_string())
        .bind(int("reference_block", signed.key.reference_block)?)
        .bind(int("agent_id", signed.agent_id)?)
        .bind(signed.output_hash.to_string())
        .bind(hex(&signed.output))
        .bind(hex(&signed.signature))
        .bind(now_ms())
        .execute(self.store.pool())
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Recorded::New);
        }
        match self.find(signed.key).await? {
            Some(existing) => Ok(Recorded::Existing(existing)),
            // Conflict without a row cannot happen: rows are never deleted.
            None => Err(StoreError::Query(sqlx::Error::RowNotFound)),
        }
    }

    /// Notes that the aggregator took the signature for `key`.
    pub async fn mark_delivered(&self, key: TaskKey) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE operator_signatures SET delivered_at_ms = $5 WHERE operator_id = $1 \
             AND task_id = $2 AND input_hash = $3 AND reference_block = $4",
        )
        .bind(&self.operator_id)
        .bind(int("task_id", key.task_id)?)
        .bind(key.input_hash.to_string())
        .bind(int("reference_block", key.reference_block)?)
        .bind(now_ms())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Signatures the aggregator has not acknowledged, oldest task first: what a restarted node
    /// must send again.
    pub async fn undelivered(&self) -> Result<Vec<SignedOutput>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM operator_signatures WHERE operator_id = $1 \
             AND delivered_at_ms IS NULL ORDER BY task_id",
        )
        .bind(&self.operator_id)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(signed_output).collect()
    }

    /// Every signature on record for `task_id` (more than one only across reorgs).
    pub async fn for_task(&self, task_id: u64) -> Result<Vec<SignedOutput>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM operator_signatures WHERE operator_id = $1 AND task_id = $2 \
             ORDER BY signed_at_ms",
        )
        .bind(&self.operator_id)
        .bind(int("task_id", task_id)?)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(signed_output).collect()
    }
}

fn signed_output(row: &AnyRow) -> Result<SignedOutput, StoreError> {
    Ok(SignedOutput {
        key: TaskKey {
            task_id: uint("task_id", row.try_get("task_id")?)?,
            input_hash: b256("input_hash", &row.try_get::<String, _>("input_hash")?)?,
            reference_block: uint("reference_block", row.try_get("reference_block")?)?,
        },
        agent_id: uint("agent_id", row.try_get("agent_id")?)?,
        output_hash: b256("output_hash", &row.try_get::<String, _>("output_hash")?)?,
        output: bytes("output", &row.try_get::<String, _>("output")?)?,
        signature: bytes("signature", &row.try_get::<String, _>("signature")?)?,
        delivered: row.try_get::<Option<i64>, _>("delivered_at_ms")?.is_some(),
    })
}
