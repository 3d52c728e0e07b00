//! A task's lifecycle and what its signers attest to, typed once for every service.

use std::fmt;

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol;
use alloy::sol_types::SolStruct;
use serde::{Deserialize, Serialize};

use crate::digest::OutputAttestation;

/// Where a task is in its lifecycle, numbered as the task manager's `TaskState` enum
/// (`contracts/src/interfaces/ITaskManager.sol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum TaskState {
    /// No such task.
    None = 0,
    /// Opened; waiting for a quorum's commitment within the response window.
    Open = 1,
    /// A quorum's output is committed; it waits out the challenge window.
    Committed = 2,
    /// The vault ran the committed output.
    Executed = 3,
    /// Ran out of time, uncommitted or unexecuted.
    Expired = 4,
    /// The vault's owner vetoed the committed output.
    Vetoed = 5,
    /// A challenge proved the committed output wrong; its signers are slashed.
    Fraudulent = 6,
}

/// A state number the task manager does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown task state {0} (the task manager defines 0..=6)")]
pub struct UnknownTaskState(pub u8);

impl TryFrom<u8> for TaskState {
    type Error = UnknownTaskState;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Ok(match value {
            0 => Self::None,
            1 => Self::Open,
            2 => Self::Committed,
            3 => Self::Executed,
            4 => Self::Expired,
            5 => Self::Vetoed,
            6 => Self::Fraudulent,
            other => return Err(UnknownTaskState(other)),
        })
    }
}

impl From<TaskState> for u8 {
    fn from(state: TaskState) -> Self {
        state as u8
    }
}

impl TaskState {
    /// Every state, in the contract's order.
    pub const ALL: [Self; 7] = [
        Self::None,
        Self::Open,
        Self::Committed,
        Self::Executed,
        Self::Expired,
        Self::Vetoed,
        Self::Fraudulent,
    ];

    /// The state's name, as logs, metrics and summaries print it.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Open => "open",
            Self::Committed => "committed",
            Self::Executed => "executed",
            Self::Expired => "expired",
            Self::Vetoed => "vetoed",
            Self::Fraudulent => "fraudulent",
        }
    }

    /// Whether the task can still progress (commit while open, execute while committed).
    pub fn is_live(self) -> bool {
        matches!(self, Self::Open | Self::Committed)
    }

    /// Whether nothing can happen to the task any more (slashing may still be under way).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Executed | Self::Expired | Self::Vetoed | Self::Fraudulent
        )
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An operator's id on chain: keccak256 of its BLS public key's 128-byte EIP-2537 encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OperatorId(pub B256);

impl OperatorId {
    /// The id of the operator whose public key has this EIP-2537 encoding.
    pub fn from_public_key(public_key_eip2537: &[u8; 128]) -> Self {
        Self(keccak256(public_key_eip2537))
    }

    /// The id as the contracts take it.
    pub fn as_b256(&self) -> B256 {
        self.0
    }
}

impl From<B256> for OperatorId {
    fn from(value: B256) -> Self {
        Self(value)
    }
}

impl From<OperatorId> for B256 {
    fn from(value: OperatorId) -> Self {
        value.0
    }
}

impl fmt::Display for OperatorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

sol! {
    /// Everything a task's signers attest to except the output: the key of an operator's
    /// slashing-protection record (an operator signs at most one output per signing root).
    struct WardenTaskAttestation {
        uint256 chainId;
        address taskManager;
        uint64 taskId;
        uint64 agentId;
        bytes32 agentHash;
        address verifier;
        bytes32 inputHash;
        uint32 referenceBlock;
    }
}

/// A task as its signers see it: every field of the signed digest except the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskAttestation {
    /// Chain the task manager lives on.
    pub chain_id: u64,
    /// The task manager contract that opened the task.
    pub task_manager: Address,
    /// The task's id in that contract.
    pub task_id: u64,
    /// The agent the task runs.
    pub agent_id: u64,
    /// Commitment to the agent's code, model and parameters.
    pub agent_hash: B256,
    /// The agent's verifier: the one contract that can judge a challenge of the output.
    pub verifier: Address,
    /// Hash of the task's on-chain input snapshot.
    pub input_hash: B256,
    /// The block whose operator set must sign.
    pub reference_block: u32,
}

impl TaskAttestation {
    /// The attestation to `output_hash`, with the activation trace hashing to `trace_hash` (zero for
    /// an agent that keeps none), as this task's output: what an operator signs.
    pub fn with_output(&self, output_hash: B256, trace_hash: B256) -> OutputAttestation {
        OutputAttestation {
            chain_id: self.chain_id,
            task_manager: self.task_manager,
            task_id: self.task_id,
            agent_id: self.agent_id,
            agent_hash: self.agent_hash,
            verifier: self.verifier,
            input_hash: self.input_hash,
            output_hash,
            trace_hash,
            reference_block: self.reference_block,
        }
    }

    /// The signing root: a hash of every field, domain-separated from the output digest. Two
    /// tasks share it only if they are the same task on the same chain, contract, agent, input and
    /// reference block, so it is what slashing protection is keyed by.
    pub fn signing_root(&self) -> B256 {
        WardenTaskAttestation {
            chainId: U256::from(self.chain_id),
            taskManager: self.task_manager,
            taskId: self.task_id,
            agentId: self.agent_id,
            agentHash: self.agent_hash,
            verifier: self.verifier,
            inputHash: self.input_hash,
            referenceBlock: self.reference_block,
        }
        .eip712_hash_struct()
    }
}

impl From<&OutputAttestation> for TaskAttestation {
    fn from(attestation: &OutputAttestation) -> Self {
        Self {
            chain_id: attestation.chain_id,
            task_manager: attestation.task_manager,
            task_id: attestation.task_id,
            agent_id: attestation.agent_id,
            agent_hash: attestation.agent_hash,
            verifier: attestation.verifier,
            input_hash: attestation.input_hash,
            reference_block: attestation.reference_block,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_state_round_trips_through_its_number() {
        for state in TaskState::ALL {
            assert_eq!(TaskState::try_from(u8::from(state)), Ok(state));
        }
        assert_eq!(TaskState::try_from(7), Err(UnknownTaskState(7)));
    }

    #[test]
    fn live_and_final_partition_every_known_task() {
        for state in TaskState::ALL {
            if state == TaskState::None {
                assert!(!state.is_live() && !state.is_final());
            } else {
                assert_ne!(state.is_live(), state.is_final(), "{state}");
            }
        }
    }

    fn attestation() -> TaskAttestation {
        TaskAttestation {
            chain_id: 31337,
            task_manager: Address::repeat_byte(0x11),
            task_id: 7,
            agent_id: 3,
            agent_hash: B256::repeat_byte(0xaa),
            verifier: Address::repeat_byte(0x22),
            input_hash: B256::repeat_byte(0xbb),
            reference_block: 1234,
        }
    }

    #[test]
    fn with_output_keeps_every_field_and_round_trips() {
        let task = attestation();
        let output = task.with_output(B256::repeat_byte(0xcc), B256::repeat_byte(0xdd));
        assert_eq!(output.output_hash, B256::repeat_byte(0xcc));
        assert_eq!(output.trace_hash, B256::repeat_byte(0xdd));
        assert_eq!(TaskAttestation::from(&output), task);
    }

    #[test]
    fn signing_root_changes_with_every_field_and_differs_from_the_digest() {
        let base = attestation();
        let variants = [
            TaskAttestation {
                chain_id: 1,
                ..base
            },
            TaskAttestation {
                task_manager: Address::ZERO,
                ..base
            },
            TaskAttestation { task_id: 8, ..base },
            TaskAttestation {
                agent_id: 4,
                ..base
            },
            TaskAttestation {
                agent_hash: B256::ZERO,
                ..base
            },
            TaskAttestation {
                verifier: Address::ZERO,
                ..base
            },
            TaskAttestation {
                input_hash: B256::ZERO,
                ..base
            },
            TaskAttestation {
                reference_block: 1,
                ..base
            },
        ];
        for variant in variants {
            assert_ne!(variant.signing_root(), base.signing_root(), "{variant:?}");
        }
        assert_ne!(
            base.signing_root(),
            base.with_output(B256::ZERO, B256::ZERO).digest()
        );
    }

    #[test]
    fn operator_id_is_the_public_key_hash() {
        let key = [7u8; 128];
        assert_eq!(
            OperatorId::from_public_key(&key).as_b256(),
            crate::public_key_hash(&key)
        );
    }
}
