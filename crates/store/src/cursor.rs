//! `chain_cursor`: where a chain follower (an operator node, a watchtower) stopped, and the hash
//! of each block it stopped at, so that a restart resumes there and a reorg can be undone back
//! to the newest stop that is still on the canonical chain.

use alloy::primitives::B256;
use sqlx::Row;

use crate::encoding::{b256, int, uint};
use crate::{Store, StoreError};

/// Stops older than this many are pruned: a reorg deeper than that is not followed back.
pub const KEPT_STOPS: i64 = 256;

/// A processed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    pub number: u64,
    pub hash: B256,
}

/// One follower's cursor.
#[derive(Debug, Clone)]
pub struct ChainCursor {
    store: Store,
    follower: String,
}

impl ChainCursor {
    /// The cursor of `follower`, a name unique per process role and identity (for example
    /// `operator:0xab…`), so two followers can share a database.
    pub fn new(store: Store, follower: impl Into<String>) -> Self {
        Self {
            store,
            follower: follower.into(),
        }
    }

    pub fn follower(&self) -> &str {
        &self.follower
    }

    /// The newest stop, or `None` before the first.
    pub async fn last(&self) -> Result<Option<Stop>, StoreError> {
        Ok(self.recent(1).await?.into_iter().next())
    }

    /// Up to `limit` stops, newest first.
    pub async fn recent(&self, limit: i64) -> Result<Vec<Stop>, StoreError> {
        let rows = sqlx::query(
            "SELECT block_number, block_hash FROM chain_cursor WHERE follower = $1 \
             ORDER BY block_number DESC LIMIT $2",
        )
        .bind(&self.follower)
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Stop {
                    number: uint("block_number", row.try_get("block_number")?)?,
                    hash: b256("block_hash", &row.try_get::<String, _>("block_hash")?)?,
                })
            })
            .collect()
    }

    /// Records that every block through `stop` has been processed, and prunes old stops.
    pub async fn advance(&self, stop: Stop) -> Result<(), StoreError> {
        let number = int("block_number", stop.number)?;
        let mut transaction = self.store.begin_write().await?;
        sqlx::query(
            "INSERT INTO chain_cursor (follower, block_number, block_hash) VALUES ($1, $2, $3) \
             ON CONFLICT (follower, block_number) DO UPDATE SET block_hash = excluded.block_hash",
        )
        .bind(&self.follower)
        .bind(number)
        .bind(stop.hash.to_string())
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "DELETE FROM chain_cursor WHERE follower = $1 AND block_number < ( \
               SELECT MIN(block_number) FROM ( \
                 SELECT block_number FROM chain_cursor WHERE follower = $1 \
                 ORDER BY block_number DESC LIMIT $2) AS kept)",
        )
        .bind(&self.follower)
        .bind(KEPT_STOPS)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Forgets every stop above block `number`: they were on a branch the chain abandoned.
    pub async fn rewind_to(&self, number: u64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM chain_cursor WHERE follower = $1 AND block_number > $2")
            .bind(&self.follower)
            .bind(int("block_number", number)?)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }
}
