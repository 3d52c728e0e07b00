use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol;
use alloy::sol_types::SolStruct;
use serde::{Deserialize, Serialize};

sol! {
    /// `abi.encode(OUTPUT_TYPEHASH, fields...)` hashed is exactly EIP-712's `hashStruct` for a struct
    /// of static fields, so the contract's digest is this struct's `eip712_hash_struct`.
    struct WardenOutput {
        uint256 chainId;
        address taskManager;
        uint64 taskId;
        uint64 agentId;
        bytes32 agentHash;
        address verifier;
        bytes32 inputHash;
        bytes32 outputHash;
        bytes32 traceHash;
        uint32 referenceBlock;
    }

    /// The registration message whose signature proves possession of a BLS key.
    struct WardenProofOfPossession {
        uint256 chainId;
        address registry;
        address operator;
        bytes32 publicKeyHash;
    }
}

/// What an operator attests to when it signs a task's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputAttestation {
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
    /// Hash of the encoded action.
    pub output_hash: B256,
    /// Hash of the agent's activation trace ([`crate::trace_hash`]); zero for an agent that keeps
    /// none.
    pub trace_hash: B256,
    /// The block whose operator set must sign.
    pub reference_block: u32,
}

impl OutputAttestation {
    /// The 32-byte digest every operator signs (`WardenDigests.outputDigest`).
    pub fn digest(&self) -> B256 {
        WardenOutput {
            chainId: U256::from(self.chain_id),
            taskManager: self.task_manager,
            taskId: self.task_id,
            agentId: self.agent_id,
            agentHash: self.agent_hash,
            verifier: self.verifier,
            inputHash: self.input_hash,
            outputHash: self.output_hash,
            traceHash: self.trace_hash,
            referenceBlock: self.reference_block,
        }
        .eip712_hash_struct()
    }
}

/// keccak256 of a G1 public key's 128-byte EIP-2537 encoding: the operator id on chain.
pub fn public_key_hash(public_key_eip2537: &[u8; 128]) -> B256 {
    keccak256(public_key_eip2537)
}

/// The message an operator signs with its BLS key to prove possession when registering
/// (`WardenRegistry.proofOfPossessionMessage`). It binds chain, registry, operator and key, and its
/// type hash differs from every task digest's, so neither can stand in for the other.
pub fn proof_of_possession_message(
    chain_id: u64,
    registry: Address,
    operator: Address,
    public_key_eip2537: &[u8; 128],
) -> B256 {
    WardenProofOfPossession {
        chainId: U256::from(chain_id),
        registry,
        operator,
        publicKeyHash: public_key_hash(public_key_eip2537),
    }
    .eip712_hash_struct()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolValue;

    #[test]
    fn type_hashes_match_the_contract_strings() {
        // The strings in WardenDigests.sol, spelled out: a renamed field must fail here.
        assert_eq!(
            WardenOutput::eip712_encode_type(),
            "WardenOutput(uint256 chainId,address taskManager,uint64 taskId,uint64 agentId,bytes32 agentHash,address verifier,bytes32 inputHash,bytes32 outputHash,bytes32 traceHash,uint32 referenceBlock)"
        );
        assert_eq!(
            WardenProofOfPossession::eip712_encode_type(),
            "WardenProofOfPossession(uint256 chainId,address registry,address operator,bytes32 publicKeyHash)"
        );
    }

    #[test]
    fn digest_is_keccak_of_abi_encoded_typehash_and_fields() {
        let attestation = OutputAttestation {
            chain_id: 31337,
            task_manager: Address::repeat_byte(0x11),
            task_id: 7,
            agent_id: 3,
            agent_hash: B256::repeat_byte(0xaa),
            verifier: Address::repeat_byte(0x22),
            input_hash: B256::repeat_byte(0xbb),
            output_hash: B256::repeat_byte(0xcc),
            trace_hash: B256::repeat_byte(0xdd),
            reference_block: 1234,
        };
        let typehash = keccak256(WardenOutput::eip712_encode_type().as_bytes());
        let encoded = (
            typehash,
            U256::from(31337u64),
            attestation.task_manager,
            7u64,
            3u64,
            attestation.agent_hash,
            attestation.verifier,
            attestation.input_hash,
            attestation.output_hash,
            attestation.trace_hash,
            1234u32,
        )
            .abi_encode();
        assert_eq!(attestation.digest(), keccak256(encoded));
    }

    #[test]
    fn digest_changes_with_every_field() {
        let base = OutputAttestation {
            chain_id: 1,
            task_manager: Address::ZERO,
            task_id: 0,
            agent_id: 0,
            agent_hash: B256::ZERO,
            verifier: Address::ZERO,
            input_hash: B256::ZERO,
            output_hash: B256::ZERO,
            trace_hash: B256::ZERO,
            reference_block: 0,
        };
        let variants = [
            OutputAttestation {
                chain_id: 2,
                ..base
            },
            OutputAttestation {
                task_manager: Address::repeat_byte(1),
                ..base
            },
            OutputAttestation { task_id: 1, ..base },
            OutputAttestation {
                agent_id: 1,
                ..base
            },
            OutputAttestation {
                agent_hash: B256::repeat_byte(1),
                ..base
            },
            OutputAttestation {
                verifier: Address::repeat_byte(1),
                ..base
            },
            OutputAttestation {
                input_hash: B256::repeat_byte(1),
                ..base
            },
            OutputAttestation {
                output_hash: B256::repeat_byte(1),
                ..base
            },
            OutputAttestation {
                trace_hash: B256::repeat_byte(1),
                ..base
            },
            OutputAttestation {
                reference_block: 1,
                ..base
            },
        ];
        for variant in variants {
            assert_ne!(variant.digest(), base.digest(), "{variant:?}");
        }
    }
}
