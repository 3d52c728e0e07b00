//! Moving an operator's slashing-protection record between machines: `warden-operator
//! slashing-protection export|import`, in a JSON interchange format modelled on Ethereum's
//! EIP-3076.
//!
//! # Format (version 3)
//!
//! ```json
//! {
//!   "metadata": {
//!     "interchange_format": "warden.slashing-protection",
//!     "interchange_format_version": "3",
//!     "chain_id": "31337",
//!     "task_manager": "0x5fbdb2315678afecb367f032d93f642f64180aa3"
//!   },
//!   "data": [
//!     {
//!       "operator_id": "0x…32 bytes: keccak256 of the EIP-2537 public key…",
//!       "public_key": "0x…48-byte compressed BLS12-381 public key…",
//!       "signed_tasks": [
//!         {
//!           "signing_root": "0x…",
//!           "task_id": "7",
//!           "agent_id": "1",
//!           "agent_hash": "0x…",
//!           "verifier": "0x…the agent's verifier contract…",
//!           "input_hash": "0x…",
//!           "reference_block": "1234",
//!           "output_hash": "0x…",
//!           "output": "0x…the encoded action…",
//!           "trace": ["0x…", "0x…"],
//!           "signature": "0x…96-byte compressed signature…"
//!         }
//!       ]
//!     }
//!   ]
//! }
//! ```
//!
//! Integers are decimal strings and byte strings `0x`-prefixed hex, as in EIP-3076. The metadata
//! names the chain and the task manager every record belongs to; `signing_root` is
//! [`TaskAttestation::signing_root`] of the record's chain id, task manager, task id, agent id,
//! agent hash, verifier, input hash and reference block (the signed digest minus the output and
//! the trace), and the signature is the operator's over that attestation with `output_hash` as its
//! output and the hash of `trace` ([`warden_protocol::trace_hash`]) as its trace.
//!
//! `trace` is a large agent's activation trace, the 32-byte hash of every output chunk of every
//! layer in order; it is left out for an agent that keeps none (the reference agent), whose
//! signatures bind [`NO_TRACE`]. Version 2, written before the trace was signed, has no `trace`:
//! its files are still read, every record with the empty trace. Version 1 files hold records of
//! a digest that did not name the verifier, and are refused.
//!
//! # Import
//!
//! Import merges into the record, in one database transaction, and refuses the whole file
//! (writing nothing) when:
//! - its format is not this one, or its version is neither 3 nor 2 (or a version 2 record has a
//!   trace);
//! - its chain id or task manager is not the configuration's;
//! - it holds records of another operator (another BLS key) than the configuration's;
//! - a record's fields do not hash to its signing root, or its signature is not this operator's
//!   over it;
//! - a record names another output, or the same output with another trace, for a signing root
//!   already on record (or earlier in the file): taking it could let the node sign a second time
//!   for one task, which is slashable either way.
//!
//! A record already on record with the same output and trace is skipped. Imported records count as
//! delivered: the node they come from dealt with the aggregator.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use alloy::primitives::{Address, B256, Bytes};
use clap::{Args, Subcommand};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use warden_bls::{PublicKey, Signature};
use warden_protocol::{NO_TRACE, OperatorId, TaskAttestation, trace_hash};
use warden_store::StoreError;
use warden_store::operator::{
    ImportError, ImportSummary, LegacySignature, SignedOutput, SlashingProtection,
};

mod command;

pub use command::{CommandError, run};

/// `interchange_format` of every file this module writes and reads.
pub const INTERCHANGE_FORMAT: &str = "warden.slashing-protection";
/// `interchange_format_version` of every file this module writes. Version 3 added the trace,
/// which the signed digest binds since issue 14; version 2 added the verifier, which it names
/// since issue 10. Version 1 files hold records of an earlier digest and are refused.
pub const INTERCHANGE_VERSION: &str = "3";

/// The version before the trace: still read, every record with the empty trace (what all
/// signatures then bound).
pub const INTERCHANGE_VERSION_WITHOUT_TRACE: &str = "2";

/// A slashing-protection interchange file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interchange {
    pub metadata: Metadata,
    pub data: Vec<OperatorRecord>,
}

/// What every record of a file belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub interchange_format: String,
    pub interchange_format_version: String,
    #[serde(with = "decimal")]
    pub chain_id: u64,
    pub task_manager: Address,
}

/// One operator key's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorRecord {
    pub operator_id: OperatorId,
    pub public_key: PublicKey,
    pub signed_tasks: Vec<SignedTaskRecord>,
}

/// One signature the operator gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedTaskRecord {
    pub signing_root: B256,
    #[serde(with = "decimal")]
    pub task_id: u64,
    #[serde(with = "decimal")]
    pub agent_id: u64,
    pub agent_hash: B256,
    pub verifier: Address,
    pub input_hash: B256,
    #[serde(with = "decimal")]
    pub reference_block: u32,
    pub output_hash: B256,
    pub output: Bytes,
    /// The activation trace the signature covers (version 3); absent when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<B256>,
    pub signature: Bytes,
}

/// Which record a file must hold to be imported: the configuration's chain, task manager and
/// operator key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordOwner {
    pub chain_id: u64,
    pub task_manager: Address,
    pub public_key: PublicKey,
}

impl RecordOwner {
    /// The operator id the owner's records are kept under.
    pub fn operator_id(&self) -> OperatorId {
        OperatorId::from_public_key(&self.public_key.to_eip2537())
    }
}

/// Why an interchange file was refused or could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum InterchangeError {
    #[error("not a Warden slashing-protection file (interchange_format {0:?})")]
    UnknownFormat(String),
    #[error(
        "interchange_format_version {0:?} is not supported; this node reads versions \
         {INTERCHANGE_VERSION} and {INTERCHANGE_VERSION_WITHOUT_TRACE}"
    )]
    UnsupportedVersion(String),
    #[error(
        "task {task_id}: a version {INTERCHANGE_VERSION_WITHOUT_TRACE} file has no traces, yet \
         the record holds one"
    )]
    TraceInVersion2 { task_id: u64 },
    #[error("the file is for chain {file}, this operator runs on chain {ours}")]
    OtherChain { file: u64, ours: u64 },
    #[error("the file is for task manager {file}, this operator's is {ours}")]
    OtherTaskManager { file: Address, ours: Address },
    #[error("the file holds records of operator {file}, this operator is {ours}")]
    OtherOperator { file: OperatorId, ours: OperatorId },
    #[error("the file's operator id {operator_id} is not the hash of its public key")]
    OperatorIdMismatch { operator_id: OperatorId },
    #[error("task {task_id}: the record's fields do not hash to its signing root {signing_root}")]
    SigningRootMismatch { task_id: u64, signing_root: B256 },
    #[error(
        "task {task_id}: the signature is not this operator's over the recorded output and trace"
    )]
    BadSignature { task_id: u64 },
    /// Boxed: the conflict names six hashes, and every `Result` of this module carries the enum.
    #[error("refusing the import: {0}")]
    Conflict(Box<ImportError>),
    #[error("slashing-protection record: {0}")]
    Store(#[from] StoreError),
}

impl From<ImportError> for InterchangeError {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::Store(error) => Self::Store(error),
            conflict @ ImportError::Conflict { .. } => Self::Conflict(Box::new(conflict)),
        }
    }
}

/// Everything on `protection`'s record for `owner`'s chain and task manager. Records for other
/// chains or task managers (a database reused across deployments) are left out: a file names one.
pub async fn export(
    protection: &SlashingProtection,
    owner: &RecordOwner,
) -> Result<Interchange, StoreError> {
    let signed_tasks = protection
        .all()
        .await?
        .into_iter()
        .filter(|record| {
            record.attestation.chain_id == owner.chain_id
                && record.attestation.task_manager == owner.task_manager
        })
        .map(|record| SignedTaskRecord {
            signing_root: record.signing_root(),
            task_id: record.attestation.task_id,
            agent_id: record.attestation.agent_id,
            agent_hash: record.attestation.agent_hash,
            verifier: record.attestation.verifier,
            input_hash: record.attestation.input_hash,
            reference_block: record.attestation.reference_block,
            output_hash: record.output_hash,
            output: record.output,
            trace: record.trace,
            signature: record.signature,
        })
        .collect();
    Ok(Interchange {
        metadata: Metadata {
            interchange_format: INTERCHANGE_FORMAT.to_owned(),
            interchange_format_version: INTERCHANGE_VERSION.to_owned(),
            chain_id: owner.chain_id,
            task_manager: owner.task_manager,
        },
        data: vec![OperatorRecord {
            operator_id: protection.operator_id(),
            public_key: owner.public_key,
            signed_tasks,
        }],
    })
}

/// Checks `file` against `owner` (see the module documentation) and merges its records into
/// `protection`; nothing is written unless every record is accepted.
pub async fn import(
    protection: &SlashingProtection,
    owner: &RecordOwner,
    file: &Interchange,
) -> Result<ImportSummary, InterchangeError> {
    let records = check(owner, file)?;
    Ok(protection.import(&records).await?)
}

/// The file's records as the store keeps them, if the file is acceptable for `owner`.
fn check(owner: &RecordOwner, file: &Interchange) -> Result<Vec<SignedOutput>, InterchangeError> {
    let metadata = &file.metadata;
    if metadata.interchange_format != INTERCHANGE_FORMAT {
        return Err(InterchangeError::UnknownFormat(
            metadata.interchange_format.clone(),
        ));
    }
    let version = metadata.interchange_format_version.as_str();
    if version != INTERCHANGE_VERSION && version != INTERCHANGE_VERSION_WITHOUT_TRACE {
        return Err(InterchangeError::UnsupportedVersion(version.to_owned()));
    }
    if metadata.chain_id != owner.chain_id {
        return Err(InterchangeError::OtherChain {
            file: metadata.chain_id,
            ours: owner.chain_id,
        });
    }
    if metadata.task_manager != owner.task_manager {
        return Err(InterchangeError::OtherTaskManager {
            file: metadata.task_manager,
            ours: owner.task_manager,
        });
    }
    let ours = owner.operator_id();
    let mut records = Vec::new();
    for operator in &file.data {
        if operator.operator_id != ours {
            return Err(InterchangeError::OtherOperator {
                file: operator.operator_id,
                ours,
            });
        }
        if OperatorId::from_public_key(&operator.public_key.to_eip2537()) != operator.operator_id {
            return Err(InterchangeError::OperatorIdMismatch {
                operator_id: operator.operator_id,
            });
        }
        for task in &operator.signed_tasks {
            if version == INTERCHANGE_VERSION_WITHOUT_TRACE && !task.trace.is_empty() {
                return Err(InterchangeError::TraceInVersion2 {
                    task_id: task.task_id,
                });
            }
            records.push(checked_record(owner, task)?);
        }
    }
    Ok(records)
}

fn checked_record(
    owner: &RecordOwner,
    task: &SignedTaskRecord,
) -> Result<SignedOutput, InterchangeError> {
    let attestation = TaskAttestation {
        chain_id: owner.chain_id,
        task_manager: owner.task_manager,
        task_id: task.task_id,
        agent_id: task.agent_id,
        agent_hash: task.agent_hash,
        verifier: task.verifier,
        input_hash: task.input_hash,
        reference_block: task.reference_block,
    };
    if attestation.signing_root() != task.signing_root {
        return Err(InterchangeError::SigningRootMismatch {
            task_id: task.task_id,
            signing_root: task.signing_root,
        });
    }
    if !signs(
        &task.signature,
        &owner.public_key,
        &attestation,
        task.output_hash,
        trace_hash(&task.trace),
    ) {
        return Err(InterchangeError::BadSignature {
            task_id: task.task_id,
        });
    }
    Ok(SignedOutput {
        attestation,
        output_hash: task.output_hash,
        output: task.output.clone(),
        signature: task.signature.clone(),
        trace: task.trace.clone(),
        delivered: true,
    })
}

/// Whether `signature` (compressed) is `public_key`'s over `task` with `output_hash` as output
/// and `trace_hash` as the trace's hash.
fn signs(
    signature: &[u8],
    public_key: &PublicKey,
    task: &TaskAttestation,
    output_hash: B256,
    trace_hash: B256,
) -> bool {
    Signature::from_compressed(signature).is_ok_and(|signature| {
        signature
            .verify(
                task.with_output(output_hash, trace_hash)
                    .digest()
                    .as_slice(),
                public_key,
            )
            .is_ok()
    })
}

/// What [`adopt_legacy`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LegacyAdoption {
    /// Records moved to the signing-root record.
    pub adopted: usize,
    /// Records whose signature is over another chain, task manager or agent hash: they cannot
    /// conflict with anything this node signs, and stay in the legacy table.
    pub left: usize,
}

/// Re-keys the first schema's records by signing root. That schema did not store the chain id,
/// the task manager or the agent hash; the operator's own signature tells whether a record was
/// made for `chain_id`, `task_manager` and the agent's current hash and verifier (`agents`, by
/// agent id): if it verifies over that attestation, the record is that attestation's and is
/// adopted, delivered or not as it was. Those records predate traces: each signed the empty one
/// ([`NO_TRACE`]) and is adopted with it.
pub async fn adopt_legacy(
    protection: &SlashingProtection,
    legacy: &[LegacySignature],
    public_key: &PublicKey,
    chain_id: u64,
    task_manager: Address,
    agents: &BTreeMap<u64, (B256, Address)>,
) -> Result<LegacyAdoption, StoreError> {
    let mut adoption = LegacyAdoption::default();
    for record in legacy {
        let task = match (
            agents.get(&record.agent_id),
            u32::try_from(record.reference_block),
        ) {
            (Some(&(agent_hash, verifier)), Ok(reference_block)) => TaskAttestation {
                chain_id,
                task_manager,
                task_id: record.task_id,
                agent_id: record.agent_id,
                agent_hash,
                verifier,
                input_hash: record.input_hash,
                reference_block,
            },
            _ => {
                adoption.left += 1;
                continue;
            }
        };
        if !signs(
            &record.signature,
            public_key,
            &task,
            record.output_hash,
            NO_TRACE,
        ) {
            adoption.left += 1;
            continue;
        }
        let signed = SignedOutput {
            attestation: task,
            output_hash: record.output_hash,
            output: record.output.clone(),
            signature: record.signature.clone(),
            trace: Vec::new(),
            delivered: record.delivered,
        };
        protection.adopt_legacy(record, &signed).await?;
        adoption.adopted += 1;
    }
    Ok(adoption)
}

/// `warden-operator slashing-protection`.
#[derive(Debug, Args)]
pub struct SlashingProtectionArgs {
    /// The operator's configuration file, as for `run`: the database, the chain and the BLS
    /// keystore (only its public key is read; no password is needed).
    #[arg(long, env = "WARDEN_OPERATOR_CONFIG")]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: SlashingProtectionCommand,
}

#[derive(Debug, Subcommand)]
pub enum SlashingProtectionCommand {
    /// Write the record for the configured chain and task manager as interchange JSON.
    Export {
        /// Where to write it (standard output without it). Refuses to overwrite a file.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Merge an interchange file into the record; refuses a file for another chain, task
    /// manager or key, and any record that conflicts with the record here.
    Import {
        /// The interchange file.
        file: PathBuf,
    },
}

/// Decimal strings for integers, as EIP-3076 writes them (JSON numbers lose precision past 2^53
/// in many readers).
mod decimal {
    use super::*;

    pub fn serialize<S: Serializer, T: Display>(
        value: &T,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    pub fn deserialize<'de, D, T>(deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: FromStr,
        T::Err: Display,
    {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Reads an interchange file.
pub fn read_file(path: &Path) -> Result<Interchange, CommandError> {
    let text = std::fs::read_to_string(path).map_err(|source| CommandError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| CommandError::Json {
        path: path.to_path_buf(),
        source,
    })
}
