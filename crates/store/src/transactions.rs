//! `transactions` and `transaction_versions`: every transaction a key sent, keyed by nonce and by
//! intent. The signed bytes are on record before the first broadcast, so after a crash the sender
//! re-broadcasts or waits for what it sent instead of sending the same intent twice or reusing a
//! nonce, and every fee-bumped version is kept because any of them may be the one mined.

use alloy::primitives::{Address, B256, Bytes, U256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::encoding::{address, b256, bytes, hex, int, text_enum, u256, uint};
use crate::{Store, StoreError, now_ms};

text_enum! {
    /// Where a transaction stands.
    pub enum TxStatus (column "status", "transaction status") {
        /// Broadcast, no receipt yet.
        Pending = "pending",
        /// Mined and succeeded.
        Mined = "mined",
        /// Mined and reverted.
        Reverted = "reverted",
        /// Its nonce was used by another transaction of the key (sent outside Warden).
        Dropped = "dropped",
    }
}

/// One transaction (its latest version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRecord {
    pub nonce: u64,
    /// What the transaction is for, unique per key: sending an intent that is on record returns
    /// the recorded transaction instead of a new one.
    pub intent: String,
    pub to: Address,
    pub input: Bytes,
    pub value: U256,
    pub gas_limit: u64,
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
    pub tx_hash: B256,
    /// The signed transaction, EIP-2718 encoded.
    pub raw: Bytes,
    pub status: TxStatus,
    pub bumps: u32,
    pub block_number: Option<u64>,
    pub gas_used: Option<u64>,
    pub first_sent_ms: i64,
    pub last_sent_ms: i64,
}

/// Outcome of [`TransactionLog::insert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    New,
    /// The intent was already on record: this is its transaction, nothing was written.
    IntentExists(Box<TxRecord>),
}

/// The transactions of one key on one chain.
#[derive(Debug, Clone)]
pub struct TransactionLog {
    store: Store,
    chain_id: i64,
    sender: String,
}

impl TransactionLog {
    pub fn new(store: Store, chain_id: u64, sender: Address) -> Result<Self, StoreError> {
        Ok(Self {
            store,
            chain_id: int("chain_id", chain_id)?,
            sender: sender.to_checksum(None),
        })
    }

    /// The transaction recorded for `intent`.
    pub async fn by_intent(&self, intent: &str) -> Result<Option<TxRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM transactions WHERE chain_id = $1 AND sender = $2 AND intent = $3",
        )
        .bind(self.chain_id)
        .bind(&self.sender)
        .bind(intent)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(record).transpose()
    }

    /// The transaction recorded with `nonce`.
    pub async fn by_nonce(&self, nonce: u64) -> Result<Option<TxRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM transactions WHERE chain_id = $1 AND sender = $2 AND nonce = $3",
        )
        .bind(self.chain_id)
        .bind(&self.sender)
        .bind(int("nonce", nonce)?)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(record).transpose()
    }

    /// The nonce after the highest on record, or `None` when the key has sent nothing yet.
    pub async fn next_nonce(&self) -> Result<Option<u64>, StoreError> {
        let row = sqlx::query(
            "SELECT MAX(nonce) AS highest FROM transactions WHERE chain_id = $1 AND sender = $2",
        )
        .bind(self.chain_id)
        .bind(&self.sender)
        .fetch_one(self.store.pool())
        .await?;
        let highest: Option<i64> = row.try_get("highest")?;
        highest
            .map(|nonce| Ok(uint("nonce", nonce)? + 1))
            .transpose()
    }

    /// Puts a signed, not yet broadcast transaction on record, with its first version. Nothing
    /// is written when its intent is already on record.
    pub async fn insert(&self, tx: &TxRecord) -> Result<Inserted, StoreError> {
        let mut transaction = self.store.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO transactions (chain_id, sender, nonce, intent, to_address, input, value, \
             gas_limit, max_fee_per_gas, max_priority_fee_per_gas, tx_hash, raw, status, bumps, \
             block_number, gas_used, first_sent_ms, last_sent_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             ON CONFLICT (chain_id, sender, intent) DO NOTHING",
        )
        .bind(self.chain_id)
        .bind(&self.sender)
        .bind(int("nonce", tx.nonce)?)
        .bind(&tx.intent)
        .bind(tx.to.to_checksum(None))
        .bind(hex(&tx.input))
        .bind(tx.value.to_string())
        .bind(int("gas_limit", tx.gas_limit)?)
        .bind(tx.max_fee_per_gas.to_string())
        .bind(tx.max_priority_fee_per_gas.to_string())
        .bind(tx.tx_hash.to_string())
        .bind(hex(&tx.raw))
        .bind(tx.status.as_str())
        .bind(i64::from(tx.bumps))
        .bind(tx.block_number.map(|n| int("block_number", n)).transpose()?)
        .bind(tx.gas_used.map(|n| int("gas_used", n)).transpose()?)
        .bind(tx.first_sent_ms)
        .bind(tx.last_sent_ms)
        .execute(&mut *transaction)
        .await?;
        if inserted.rows_affected() == 0 {
            transaction.rollback().await?;
            return match self.by_intent(&tx.intent).await? {
                Some(existing) => Ok(Inserted::IntentExists(Box::new(existing))),
                None => Err(StoreError::Query(sqlx::Error::RowNotFound)),
            };
        }
        self.insert_version(&mut transaction, tx.nonce, tx.tx_hash)
            .await?;
        transaction.commit().await?;
        Ok(Inserted::New)
    }

    /// Records a fee-bumped replacement of the transaction with `nonce`.
    pub async fn replace(
        &self,
        nonce: u64,
        tx_hash: B256,
        raw: &Bytes,
        max_fee_per_gas: u128,
        max_priority_fee_per_gas: u128,
    ) -> Result<(), StoreError> {
        let mut transaction = self.store.begin_write().await?;
        sqlx::query(
            "UPDATE transactions SET tx_hash = $4, raw = $5, max_fee_per_gas = $6, \
             max_priority_fee_per_gas = $7, bumps = bumps + 1, last_sent_ms = $8 \
             WHERE chain_id = $1 AND sender = $2 AND nonce = $3",
        )
        .bind(self.chain_id)
        .bind(&self.sender)
        .bind(int("nonce", nonce)?)
        .bind(tx_hash.to_string())
        .bind(hex(raw))
        .bind(max_fee_per_gas.to_string())
        .bind(max_priority_fee_per_gas.to_string())
        .bind(now_ms())
        .execute(&mut *transaction)
        .await?;
        self.insert_version(&mut transaction, nonce, tx_hash)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn insert_version(
        &self,
        transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
        nonce: u64,
        tx_hash: B256,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO transaction_versions (chain_id, sender, nonce, tx_hash, sent_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(self.chain_id)
        .bind(&self.sender)
        .bind(int("nonce", nonce)?)
        .bind(tx_hash.to_string())
        .bind(now_ms())
        .execute(&mut **transaction)
        .await?;
        Ok(())
    }

    /// Every version's hash of the transaction with `nonce`, oldest first.
    pub async fn versions(&self, nonce: u64) -> Result<Vec<B256>, StoreError> {
        let rows = sqlx::query(
            "SELECT tx_hash FROM transaction_versions WHERE chain_id = $1 AND sender = $2 \
             AND nonce = $3 ORDER BY sent_ms, tx_hash",
        )
        .bind(self.chain_id)
        .bind(&self.sender)
        .bind(int("nonce", nonce)?)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|row| Ok(b256("tx_hash", &row.try_get::<String, _>("tx_hash")?)?))
            .collect()
    }

    /// Settles the transaction with `nonce`: `tx_hash` is the version that was mined (if any).
    pub async fn settle(
        &self,
        nonce: u64,
        status: TxStatus,
        mined: Option<(B256, u64, u64)>,
    ) -> Result<(), StoreError> {
        let (tx_hash, block_number, gas_used) = match mined {
            Some((hash, block, gas)) => (
                Some(hash.to_string()),
                Some(int("block_number", block)?),
                Some(int("gas_used", gas)?),
            ),
            None => (None, None, None),
        };
        sqlx::query(
            "UPDATE transactions SET status = $4, tx_hash = COALESCE($5, tx_hash), \
             block_number = $6, gas_used = $7 WHERE chain_id = $1 AND sender = $2 AND nonce = $3",
        )
        .bind(self.chain_id)
        .bind(&self.sender)
        .bind(int("nonce", nonce)?)
        .bind(status.as_str())
        .bind(tx_hash)
        .bind(block_number)
        .bind(gas_used)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Puts a transaction settled as mined or reverted in `lost_block` back to pending, its
    /// latest version (`tx_hash`, the hash of its recorded `raw` bytes) current again: the chain
    /// it was mined in was rolled back or reorganised past it. Its versions stay on record, since
    /// any of them may be mined again. Returns whether anything changed: a record settled since
    /// in another block (mined again) is left alone, and so are a pending one and a dropped one (a
    /// dropped intent is never sent again).
    pub async fn reopen(
        &self,
        nonce: u64,
        lost_block: u64,
        tx_hash: B256,
    ) -> Result<bool, StoreError> {
        let reopened = sqlx::query(
            "UPDATE transactions SET status = $4, tx_hash = $5, block_number = NULL, \
             gas_used = NULL WHERE chain_id = $1 AND sender = $2 AND nonce = $3 \
             AND status IN ($6, $7) AND block_number = $8",
        )
        .bind(self.chain_id)
        .bind(&self.sender)
        .bind(int("nonce", nonce)?)
        .bind(TxStatus::Pending.as_str())
        .bind(tx_hash.to_string())
        .bind(TxStatus::Mined.as_str())
        .bind(TxStatus::Reverted.as_str())
        .bind(int("block_number", lost_block)?)
        .execute(self.store.pool())
        .await?;
        Ok(reopened.rows_affected() > 0)
    }

    /// Transactions without a final status, lowest nonce first.
    pub async fn pending(&self) -> Result<Vec<TxRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM transactions WHERE chain_id = $1 AND sender = $2 AND status = $3 \
             ORDER BY nonce",
        )
        .bind(self.chain_id)
        .bind(&self.sender)
        .bind(TxStatus::Pending.as_str())
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(record).collect()
    }
}

fn record(row: &AnyRow) -> Result<TxRecord, StoreError> {
    let text = |column: &'static str| row.try_get::<String, _>(column);
    let fee = |column: &'static str| -> Result<u128, StoreError> {
        let value = u256(column, &text(column)?)?;
        u128::try_from(value).map_err(|_| {
            crate::EncodingError {
                column,
                reason: format!("{value} exceeds u128"),
            }
            .into()
        })
    };
    let optional = |column: &'static str| -> Result<Option<u64>, StoreError> {
        row.try_get::<Option<i64>, _>(column)?
            .map(|value| uint(column, value).map_err(StoreError::from))
            .transpose()
    };
    Ok(TxRecord {
        nonce: uint("nonce", row.try_get("nonce")?)?,
        intent: text("intent")?,
        to: address("to_address", &text("to_address")?)?,
        input: bytes("input", &text("input")?)?,
        value: u256("value", &text("value")?)?,
        gas_limit: uint("gas_limit", row.try_get("gas_limit")?)?,
        max_fee_per_gas: fee("max_fee_per_gas")?,
        max_priority_fee_per_gas: fee("max_priority_fee_per_gas")?,
        tx_hash: b256("tx_hash", &text("tx_hash")?)?,
        raw: bytes("raw", &text("raw")?)?,
        status: TxStatus::parse(&text("status")?)?,
        bumps: u32::try_from(row.try_get::<i64, _>("bumps")?).unwrap_or(u32::MAX),
        block_number: optional("block_number")?,
        gas_used: optional("gas_used")?,
        first_sent_ms: row.try_get("first_sent_ms")?,
        last_sent_ms: row.try_get("last_sent_ms")?,
    })
}
