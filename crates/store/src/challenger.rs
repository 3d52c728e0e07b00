//! `challenger_claims`: every wrong commitment the watchtower found and what it did about it, so
//! a restarted watchtower neither forgets a challenge it still has to send (or drive to the
//! slashing of every signer) nor pays a second bond for one it already sent. A claim on a large
//! agent's commitment keeps the activation trace it committed, which its challenge sends whole.

use alloy::primitives::B256;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::encoding::{b256, int, text_enum, trace, trace_hex, uint};
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
    /// What the challenge shows instead: the agent's output hash, or for a commitment judged by
    /// its activation trace, `keccak256(abi.encode(step))` of the step that disproves it (what
    /// `ChallengeUpheld.expectedOutputHash` reports for `challengeTrace`).
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
        self.open_traced(claim, &[]).await
    }

    /// [`open`](Self::open) for a commitment with the activation trace it committed, recorded in
    /// the same row, so that no claim is on record without the trace its challenge sends.
    pub async fn open_traced(&self, claim: &Claim, trace: &[B256]) -> Result<Claim, StoreError> {
        sqlx::query(
            "INSERT INTO challenger_claims (task_id, committed_output_hash, expected_output_hash, \
             deadline, state, detail, updated_at_ms, trace) VALUES ($1, $2, $3, $4, $5, $6, $7, \
             $8) ON CONFLICT (task_id) DO NOTHING",
        )
        .bind(int("task_id", claim.task_id)?)
        .bind(claim.committed_output_hash.to_string())
        .bind(claim.expected_output_hash.to_string())
        .bind(int("deadline", claim.deadline)?)
        .bind(claim.state.as_str())
        .bind(&claim.detail)
        .bind(now_ms())
        .bind(trace_hex(trace))
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

    /// Replaces the trace on record for `task_id`: the wrong commitment a reorg brought back
    /// may commit another trace than the one first found.
    pub async fn set_trace(&self, task_id: u64, trace: &[B256]) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE challenger_claims SET trace = $2, updated_at_ms = $3 WHERE task_id = $1",
        )
        .bind(int("task_id", task_id)?)
        .bind(trace_hex(trace))
        .bind(now_ms())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// The activation trace on record with the claim on `task_id` (empty for a claim judged by
    /// its output alone), or `None` without a claim.
    pub async fn trace(&self, task_id: u64) -> Result<Option<Vec<B256>>, StoreError> {
        let row = sqlx::query("SELECT trace FROM challenger_claims WHERE task_id = $1")
            .bind(int("task_id", task_id)?)
            .fetch_optional(self.store.pool())
            .await?;
        row.map(|row| Ok(trace("trace", &row.try_get::<String, _>("trace")?)?))
            .transpose()
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn claim(task_id: u64) -> Claim {
        Claim {
            task_id,
            committed_output_hash: B256::repeat_byte(1),
            expected_output_hash: B256::repeat_byte(2),
            deadline: 99,
            state: ClaimState::Challenging,
            detail: "found".into(),
        }
    }

    #[tokio::test]
    async fn a_claim_keeps_the_trace_it_was_opened_with() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("claims.db").display().to_string())
            .await
            .unwrap();
        let claims = ClaimStore::new(store);
        let committed = vec![B256::repeat_byte(0xaa), B256::repeat_byte(0xbb)];
        assert_eq!(claims.trace(7).await.unwrap(), None, "no claim, no trace");

        assert_eq!(
            claims.open_traced(&claim(7), &committed).await.unwrap(),
            claim(7)
        );
        assert_eq!(claims.trace(7).await.unwrap(), Some(committed.clone()));
        // Finding it again keeps the first finding, its trace included.
        claims
            .open_traced(&claim(7), &[B256::repeat_byte(0xcc)])
            .await
            .unwrap();
        assert_eq!(claims.trace(7).await.unwrap(), Some(committed));

        let replaced = vec![B256::repeat_byte(0xdd)];
        claims.set_trace(7, &replaced).await.unwrap();
        assert_eq!(claims.trace(7).await.unwrap(), Some(replaced));

        // A claim judged by its output keeps the empty trace.
        claims.open(&claim(8)).await.unwrap();
        assert_eq!(claims.trace(8).await.unwrap(), Some(Vec::new()));
    }
}
