//! `operator_signing_records`: the operator's slashing protection, keyed by what was signed.
//!
//! A record's key is the task's signing root ([`TaskAttestation::signing_root`]: every field of
//! the signed digest except the output and the trace, as Lighthouse keys by signing root). What a
//! node signed for a root (the output and, for a large agent, the activation trace) is written
//! here before the signature leaves the process and never rewritten; a restarted node re-sends
//! the recorded signature instead of signing again, so no crash, restart or changed agent can make
//! it sign two outputs, or one output with two traces, for one signing root. A task a reorg
//! replaced, the same task id on another chain or task manager, or the same task under another
//! agent hash, has another signing root: it is a different attestation and may be signed.
//!
//! `operator_attestations` holds the records of the second schema, whose signing root (like the
//! task manager's digest then) left the agent's verifier out: they were made for an earlier task
//! manager and are kept for audit only.
//!
//! `operator_signatures_legacy` holds the records of the first schema, which left the chain id,
//! the task manager and the agent hash out of the key. They cannot be re-keyed in SQL (the root
//! is a keccak256); the operator adopts each one that its own signature proves belongs to its
//! chain and task manager ([`SlashingProtection::adopt_legacy`]).

use alloy::primitives::{B256, Bytes};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use warden_protocol::{OperatorId, TaskAttestation, trace_hash};

use crate::encoding::{address, b256, bytes, hex, int, trace, trace_hex, uint};
use crate::{EncodingError, Store, StoreError, now_ms};

/// A signature the operator gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedOutput {
    /// What was attested apart from the output; its signing root keys the record.
    pub attestation: TaskAttestation,
    pub output_hash: B256,
    pub output: Bytes,
    /// Compressed BLS12-381 G2 signature.
    pub signature: Bytes,
    /// The run's activation trace, whose [`trace_hash`] the signature covers beside the output
    /// hash; empty for an agent that keeps none.
    pub trace: Vec<B256>,
    /// The aggregator acknowledged it.
    pub delivered: bool,
}

impl SignedOutput {
    /// The record's key.
    pub fn signing_root(&self) -> B256 {
        self.attestation.signing_root()
    }

    /// The hash of the trace the signature covers ([`warden_protocol::NO_TRACE`] for none).
    pub fn trace_hash(&self) -> B256 {
        trace_hash(&self.trace)
    }
}

/// Outcome of [`SlashingProtection::record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Nothing was signed for this signing root before; the new signature is now on record.
    New,
    /// A signature was already on record; it is returned, whatever the new one said.
    Existing(Box<SignedOutput>),
}

/// A record of the first schema, keyed by task id, input hash and reference block only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacySignature {
    pub task_id: u64,
    pub input_hash: B256,
    pub reference_block: u64,
    pub agent_id: u64,
    pub output_hash: B256,
    pub output: Bytes,
    pub signature: Bytes,
    pub delivered: bool,
}

/// What [`SlashingProtection::import`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Records that were not on record before.
    pub added: usize,
    /// Records already on record with the same output.
    pub already_known: usize,
}

/// Why [`SlashingProtection::import`] wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// An imported record names another output, or the same output with another trace, for a
    /// signing root already on record: taking it would let the node sign a second time for one
    /// task, which the task manager slashes either way (`slashEquivocation` takes one output with
    /// two traces as it takes two outputs).
    #[error(
        "task {task_id} (signing root {signing_root}): the record here signed output {recorded} \
         with trace hash {recorded_trace}, the import says output {imported} with trace hash \
         {imported_trace}{}; importing it could allow a second signature for this task, which \
         is slashable equivocation",
        same_output_note(.recorded, .imported)
    )]
    Conflict {
        signing_root: B256,
        task_id: u64,
        /// The output hash on record.
        recorded: B256,
        /// The output hash in the import.
        imported: B256,
        /// The hash of the trace on record.
        recorded_trace: B256,
        /// The hash of the trace in the import.
        imported_trace: B256,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Says so when a conflict is one output with two traces, which is easy to miss among the hashes.
fn same_output_note(recorded: &B256, imported: &B256) -> &'static str {
    if recorded == imported {
        " (the same output with another trace)"
    } else {
        ""
    }
}

impl From<sqlx::Error> for ImportError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

impl From<EncodingError> for ImportError {
    fn from(error: EncodingError) -> Self {
        Self::Store(error.into())
    }
}

/// One operator's record.
#[derive(Debug, Clone)]
pub struct SlashingProtection {
    store: Store,
    operator_id: OperatorId,
}

const INSERT: &str = "INSERT INTO operator_signing_records (operator_id, signing_root, chain_id, \
     task_manager, task_id, agent_id, agent_hash, verifier, input_hash, reference_block, \
     output_hash, output, signature, trace, signed_at_ms, delivered_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
     ON CONFLICT (operator_id, signing_root) DO NOTHING";

impl SlashingProtection {
    pub fn new(store: Store, operator_id: OperatorId) -> Self {
        Self { store, operator_id }
    }

    /// The operator whose record this is.
    pub fn operator_id(&self) -> OperatorId {
        self.operator_id
    }

    /// What was signed for `signing_root`, if anything.
    pub async fn find(&self, signing_root: B256) -> Result<Option<SignedOutput>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM operator_signing_records WHERE operator_id = $1 AND signing_root = $2",
        )
        .bind(self.operator_id.to_string())
        .bind(signing_root.to_string())
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(signed_output).transpose()
    }

    /// Puts `signed` on record unless something is already recorded for its signing root; the
    /// first record always wins, even against a concurrent writer.
    pub async fn record(&self, signed: &SignedOutput) -> Result<Recorded, StoreError> {
        let mut connection = self.store.pool().acquire().await?;
        if self.insert(&mut connection, signed).await? {
            return Ok(Recorded::New);
        }
        match self.find(signed.signing_root()).await? {
            Some(existing) => Ok(Recorded::Existing(Box::new(existing))),
            // Conflict without a row cannot happen: rows are never deleted.
            None => Err(StoreError::Query(sqlx::Error::RowNotFound)),
        }
    }

    /// Notes that the aggregator took the signature for `signing_root`.
    pub async fn mark_delivered(&self, signing_root: B256) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE operator_signing_records SET delivered_at_ms = $3 WHERE operator_id = $1 \
             AND signing_root = $2",
        )
        .bind(self.operator_id.to_string())
        .bind(signing_root.to_string())
        .bind(now_ms())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Signatures the aggregator has not acknowledged, oldest task first: what a restarted node
    /// must send again.
    pub async fn undelivered(&self) -> Result<Vec<SignedOutput>, StoreError> {
        self.select(
            "AND delivered_at_ms IS NULL ORDER BY task_id, signed_at_ms",
            None,
        )
        .await
    }

    /// Every signature on record for `task_id` (more than one only across reorgs, chains or task
    /// managers).
    pub async fn for_task(&self, task_id: u64) -> Result<Vec<SignedOutput>, StoreError> {
        self.select(
            "AND task_id = $2 ORDER BY signed_at_ms",
            Some(int("task_id", task_id)?),
        )
        .await
    }

    /// Every signature on record, by task: what an export carries.
    pub async fn all(&self) -> Result<Vec<SignedOutput>, StoreError> {
        self.select("ORDER BY task_id, signed_at_ms", None).await
    }

    /// Merges `records` into the record in one transaction: records already here with the same
    /// output and trace are skipped, new ones are added, and if any names another output or
    /// another trace for a signing root on record nothing is written at all.
    pub async fn import(&self, records: &[SignedOutput]) -> Result<ImportSummary, ImportError> {
        let mut transaction = self.store.begin_write().await?;
        let mut summary = ImportSummary::default();
        for record in records {
            if self.insert(&mut transaction, record).await? {
                summary.added += 1;
                continue;
            }
            let recorded = self
                .recorded_output(&mut transaction, record.signing_root())
                .await?;
            let Some((recorded, recorded_trace)) = recorded else {
                // Conflict without a row cannot happen: rows are never deleted.
                return Err(StoreError::Query(sqlx::Error::RowNotFound).into());
            };
            if recorded != record.output_hash || recorded_trace != record.trace {
                // Dropping the transaction rolls back what this import added so far.
                return Err(ImportError::Conflict {
                    signing_root: record.signing_root(),
                    task_id: record.attestation.task_id,
                    recorded,
                    imported: record.output_hash,
                    recorded_trace: trace_hash(&recorded_trace),
                    imported_trace: record.trace_hash(),
                });
            }
            summary.already_known += 1;
        }
        transaction.commit().await?;
        Ok(summary)
    }

    /// The first schema's records of this operator, not yet adopted.
    pub async fn legacy(&self) -> Result<Vec<LegacySignature>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM operator_signatures_legacy WHERE operator_id = $1 ORDER BY task_id",
        )
        .bind(self.operator_id.to_string())
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(legacy_signature).collect()
    }

    /// Moves a legacy record to the signing-root record as `signed`, in one transaction. The
    /// caller has checked that `legacy`'s signature is over `signed`'s attestation (so the
    /// legacy record was made on this chain, task manager and agent hash); `signed` keeps
    /// whether the legacy record was delivered.
    pub async fn adopt_legacy(
        &self,
        legacy: &LegacySignature,
        signed: &SignedOutput,
    ) -> Result<Recorded, StoreError> {
        let mut transaction = self.store.begin_write().await?;
        let inserted = self.insert(&mut transaction, signed).await?;
        sqlx::query(
            "DELETE FROM operator_signatures_legacy WHERE operator_id = $1 AND task_id = $2 \
             AND input_hash = $3 AND reference_block = $4",
        )
        .bind(self.operator_id.to_string())
        .bind(int("task_id", legacy.task_id)?)
        .bind(legacy.input_hash.to_string())
        .bind(int("reference_block", legacy.reference_block)?)
        .execute(&mut *transaction)
        .await?;
        let existing = if inserted {
            None
        } else {
            let row = sqlx::query(
                "SELECT * FROM operator_signing_records WHERE operator_id = $1 AND signing_root = $2",
            )
            .bind(self.operator_id.to_string())
            .bind(signed.signing_root().to_string())
            .fetch_one(&mut *transaction)
            .await?;
            Some(Box::new(signed_output(&row)?))
        };
        transaction.commit().await?;
        Ok(existing.map_or(Recorded::New, Recorded::Existing))
    }

    /// Inserts `signed` unless its signing root is on record; whether it was inserted.
    async fn insert(
        &self,
        connection: &mut AnyConnection,
        signed: &SignedOutput,
    ) -> Result<bool, StoreError> {
        let attestation = &signed.attestation;
        let delivered_at = signed.delivered.then(now_ms);
        let inserted = sqlx::query(INSERT)
            .bind(self.operator_id.to_string())
            .bind(signed.signing_root().to_string())
            .bind(int("chain_id", attestation.chain_id)?)
            .bind(attestation.task_manager.to_string())
            .bind(int("task_id", attestation.task_id)?)
            .bind(int("agent_id", attestation.agent_id)?)
            .bind(attestation.agent_hash.to_string())
            .bind(attestation.verifier.to_string())
            .bind(attestation.input_hash.to_string())
            .bind(i64::from(attestation.reference_block))
            .bind(signed.output_hash.to_string())
            .bind(hex(&signed.output))
            .bind(hex(&signed.signature))
            .bind(trace_hex(&signed.trace))
            .bind(now_ms())
            .bind(delivered_at)
            .execute(&mut *connection)
            .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// The output hash and the trace on record for `signing_root`.
    async fn recorded_output(
        &self,
        connection: &mut AnyConnection,
        signing_root: B256,
    ) -> Result<Option<(B256, Vec<B256>)>, StoreError> {
        let row = sqlx::query(
            "SELECT output_hash, trace FROM operator_signing_records WHERE operator_id = $1 \
             AND signing_root = $2",
        )
        .bind(self.operator_id.to_string())
        .bind(signing_root.to_string())
        .fetch_optional(&mut *connection)
        .await?;
        row.map(|row| {
            let output_hash = b256("output_hash", &row.try_get::<String, _>("output_hash")?)?;
            let trace = trace("trace", &row.try_get::<String, _>("trace")?)?;
            Ok((output_hash, trace))
        })
        .transpose()
    }

    /// This operator's rows matching `filter` (SQL after the operator condition; `$2` binds
    /// `parameter`).
    async fn select(
        &self,
        filter: &str,
        parameter: Option<i64>,
    ) -> Result<Vec<SignedOutput>, StoreError> {
        let sql = format!("SELECT * FROM operator_signing_records WHERE operator_id = $1 {filter}");
        let mut query = sqlx::query(&sql).bind(self.operator_id.to_string());
        if let Some(parameter) = parameter {
            query = query.bind(parameter);
        }
        let rows = query.fetch_all(self.store.pool()).await?;
        rows.iter().map(signed_output).collect()
    }
}

fn signed_output(row: &AnyRow) -> Result<SignedOutput, StoreError> {
    let text = |column: &'static str| row.try_get::<String, _>(column);
    let reference_block = uint("reference_block", row.try_get("reference_block")?)?;
    let attestation = TaskAttestation {
        chain_id: uint("chain_id", row.try_get("chain_id")?)?,
        task_manager: address("task_manager", &text("task_manager")?)?,
        task_id: uint("task_id", row.try_get("task_id")?)?,
        agent_id: uint("agent_id", row.try_get("agent_id")?)?,
        agent_hash: b256("agent_hash", &text("agent_hash")?)?,
        verifier: address("verifier", &text("verifier")?)?,
        input_hash: b256("input_hash", &text("input_hash")?)?,
        reference_block: u32::try_from(reference_block).map_err(|_| EncodingError {
            column: "reference_block",
            reason: format!("{reference_block} does not fit the task manager's uint32"),
        })?,
    };
    let signed = SignedOutput {
        attestation,
        output_hash: b256("output_hash", &text("output_hash")?)?,
        output: bytes("output", &text("output")?)?,
        signature: bytes("signature", &text("signature")?)?,
        trace: trace("trace", &text("trace")?)?,
        delivered: row.try_get::<Option<i64>, _>("delivered_at_ms")?.is_some(),
    };
    // The key is derived from the fields: a row whose fields do not hash to it was altered.
    let stored_root = b256("signing_root", &text("signing_root")?)?;
    if stored_root != signed.signing_root() {
        return Err(EncodingError {
            column: "signing_root",
            reason: format!(
                "{stored_root} is not the signing root of the row's attestation ({})",
                signed.signing_root()
            ),
        }
        .into());
    }
    Ok(signed)
}

fn legacy_signature(row: &AnyRow) -> Result<LegacySignature, StoreError> {
    let text = |column: &'static str| row.try_get::<String, _>(column);
    Ok(LegacySignature {
        task_id: uint("task_id", row.try_get("task_id")?)?,
        input_hash: b256("input_hash", &text("input_hash")?)?,
        reference_block: uint("reference_block", row.try_get("reference_block")?)?,
        agent_id: uint("agent_id", row.try_get("agent_id")?)?,
        output_hash: b256("output_hash", &text("output_hash")?)?,
        output: bytes("output", &text("output")?)?,
        signature: bytes("signature", &text("signature")?)?,
        delivered: row.try_get::<Option<i64>, _>("delivered_at_ms")?.is_some(),
    })
}
