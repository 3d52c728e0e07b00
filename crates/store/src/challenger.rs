//! `challenger_claims`: every wrong commitment the watchtower found and what it did about it, so
//! a restarted watchtower neither forgets a challenge it still has to send (or drive to the
//! slashing of every signer) nor pays a second bond for one it already sent.

use alloy::primitives::B256;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::encoding::{b256, int, text_enum, uint};
use crate::{Store, StoreError, now_ms};

text_enum! {
    /// Where a claim stands.
    pub enum ClaimState (column "state", "claim state") {
        /// Found wrong; the challenge is being sent.
        Challenging = "challenging",
        /// The challenge was upheld; signers are being slashed.
        Slashing = "slashing",
        /// Every signer is slashed: nothing left to do.
        Slashed = "slashed",
        /// The challenge was rejected or could not be made (the task settled first).
        Closed = "closed",
    }
}

/// A wrong commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub task_id: u64,
    pub committed_output_hash: B256,
    pub expected_output_hash: B256,
    /// Last block a challenge is accepted in.
    pub deadline: u64,
    pub state: ClaimState,
    /// What happened last, for operators reading the table.
    pub detail: String,
}

/// The watchtower's claims.
#[derive(Debug, Clone)]
pub struct ClaimStore {
    store: Store,
}

impl ClaimStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Records a newly found wrong commitment; a claim already on record is kept as it is.
    /// Returns the claim on record.
    pub async fn open(&self, claim: &Claim) -> Result<Claim, StoreError> {
        sqlx::query(
            "INSERT INTO challenger_claims (task_id, committed_output_hash, expected_output_hash, \
             deadline, state, detail, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (task_id) DO NOTHING",
        )
        .bind(int("task_id", claim.task_id)?)
        .bind(claim.committed_output_hash.to_string())
        .bind(claim.expected_output_hash.to_string())
        .bind(int("deadline", claim.deadline)?)
        .bind(claim.state.as_str())
        .bind(&claim.detail)
        .bind(now_ms())
        .execute(self.store.pool())
        .await?;
        self.get(claim.task_id)
            .await?
            .ok_or(StoreError::Query(sqlx::Error::RowNotFound))
    }

    pub async fn get(&self, task_id: u64) -> Result<Option<Claim>, StoreError> {
        let row = sqlx::query("SELECT * FROM challenger_claims WHERE task_id = $1")
            .bind(int("task_id", task_id)?)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(claim).transpose()
    }

    pub async fn set_state(
        &self,
        task_id: u64,
        state: ClaimState,
        detail: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE challenger_claims SET state = $2, detail = $3, updated_at_ms = $4 \
             WHERE task_id = $1",
        )
        .bind(int("task_id", task_id)?)
        .bind(state.as_str())
        .bind(detail)
        .bind(now_ms())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Claims with work left (challenging or slashing), oldest task first.
    pub async fn unfinished(&self) -> Result<Vec<Claim>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM challenger_claims WHERE state IN ($1, $2) ORDER BY task_id")
                .bind(ClaimState::Challenging.as_str())
                .bind(ClaimState::Slashing.as_str())
                .fetch_all(self.store.pool())
                .await?;
        rows.iter().map(claim).collect()
    }

    /// Every claim, oldest task first.
    pub async fn all(&self) -> Result<Vec<Claim>, StoreError> {
        let rows = sqlx::query("SELECT * FROM challenger_claims ORDER BY task_id")
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(claim).collect()
    }
}

fn claim(row: &AnyRow) -> Result<Claim, StoreError> {
    Ok(Claim {
        task_id: uint("task_id", row.try_get("task_id")?)?,
        committed_output_hash: b256(
            "committed_output_hash",
            &row.try_get::<String, _>("committed_output_hash")?,
        )?,
        expected_output_hash: b256(
            "expected_output_hash",
            &row.try_get::<String, _>("expected_output_hash")?,
        )?,
        deadline: uint("deadline", row.try_get("deadline")?)?,
        state: ClaimState::parse(&row.try_get::<String, _>("state")?)?,
        detail: row.try_get("detail")?,
    })
}
