//! Equivocation: two valid signatures by one operator over different outputs (or activation traces)
//! of the same task.

use serde::{Deserialize, Serialize};
use warden_bls::{PublicKey, Signature};
use warden_protocol::OutputAttestation;

/// An attestation with the BLS signature over its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedAttestation {
    pub attestation: OutputAttestation,
    pub signature: Signature,
}

/// A claim that `public_key`'s owner signed two conflicting outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EquivocationEvidence {
    pub public_key: PublicKey,
    pub first: SignedAttestation,
    pub second: SignedAttestation,
}

/// Why evidence does not prove equivocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EquivocationError {
    /// The two attestations are about different tasks (or chains, task managers, agents).
    #[error("the attestations are about different tasks")]
    DifferentTasks,
    /// The two attestations name the same output and trace: signing them twice is not
    /// equivocation.
    #[error("both attestations name the same output and trace")]
    SameOutput,
    /// A signature does not verify under the public key.
    #[error("the {which} signature does not verify under the public key")]
    InvalidSignature { which: &'static str },
}

impl EquivocationEvidence {
    /// Checks that both attestations concern one task, name different outputs or traces, and are
    /// both signed by `public_key`.
    pub fn verify(&self) -> Result<(), EquivocationError> {
        let (a, b) = (&self.first.attestation, &self.second.attestation);
        let same_task = a.chain_id == b.chain_id
            && a.task_manager == b.task_manager
            && a.task_id == b.task_id
            && a.agent_id == b.agent_id;
        if !same_task {
            return Err(EquivocationError::DifferentTasks);
        }
        if a.output_hash == b.output_hash && a.trace_hash == b.trace_hash {
            return Err(EquivocationError::SameOutput);
        }
        for (which, signed) in [("first", &self.first), ("second", &self.second)] {
            signed
                .signature
                .verify(signed.attestation.digest().as_slice(), &self.public_key)
                .map_err(|_| EquivocationError::InvalidSignature { which })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, B256};
    use warden_bls::SecretKey;

    use super::*;

    fn attestation(output: u8) -> OutputAttestation {
        OutputAttestation {
            chain_id: 31337,
            task_manager: Address::repeat_byte(9),
            task_id: 4,
            agent_id: 1,
            agent_hash: B256::repeat_byte(1),
            verifier: Address::repeat_byte(3),
            input_hash: B256::repeat_byte(2),
            output_hash: B256::repeat_byte(output),
            trace_hash: B256::ZERO,
            reference_block: 100,
        }
    }

    fn signed(key: &SecretKey, attestation: OutputAttestation) -> SignedAttestation {
        SignedAttestation {
            signature: key.sign(attestation.digest().as_slice()),
            attestation,
        }
    }

    #[test]
    fn two_outputs_for_one_task_are_equivocation() {
        let key = SecretKey::random(rand::thread_rng());
        let evidence = EquivocationEvidence {
            public_key: key.public_key(),
            first: signed(&key, attestation(0xaa)),
            second: signed(&key, attestation(0xbb)),
        };
        assert_eq!(evidence.verify(), Ok(()));

        let json = serde_json::to_string(&evidence).unwrap();
        let decoded: EquivocationEvidence = serde_json::from_str(&json).unwrap();
        assert_eq!(decoded.verify(), Ok(()));
    }

    #[test]
    fn one_output_with_two_traces_is_equivocation() {
        let key = SecretKey::random(rand::thread_rng());
        let mut retraced = attestation(0xaa);
        retraced.trace_hash = B256::repeat_byte(0x77);
        let evidence = EquivocationEvidence {
            public_key: key.public_key(),
            first: signed(&key, attestation(0xaa)),
            second: signed(&key, retraced),
        };
        assert_eq!(evidence.verify(), Ok(()));
    }

    #[test]
    fn forged_or_irrelevant_evidence_is_rejected() {
        let key = SecretKey::random(rand::thread_rng());
        let other = SecretKey::random(rand::thread_rng());

        let same_output = EquivocationEvidence {
            public_key: key.public_key(),
            first: signed(&key, attestation(0xaa)),
            second: signed(&key, attestation(0xaa)),
        };
        assert_eq!(same_output.verify(), Err(EquivocationError::SameOutput));

        let mut later_task = attestation(0xbb);
        later_task.task_id += 1;
        let different_tasks = EquivocationEvidence {
            public_key: key.public_key(),
            first: signed(&key, attestation(0xaa)),
            second: signed(&key, later_task),
        };
        assert_eq!(
            different_tasks.verify(),
            Err(EquivocationError::DifferentTasks)
        );

        let forged = EquivocationEvidence {
            public_key: key.public_key(),
            first: signed(&key, attestation(0xaa)),
            second: signed(&other, attestation(0xbb)),
        };
        assert_eq!(
            forged.verify(),
            Err(EquivocationError::InvalidSignature { which: "second" })
        );

        // A genuine signature moved onto another attestation.
        let mut moved = signed(&key, attestation(0xbb));
        moved.attestation.output_hash = B256::repeat_byte(0xcc);
        let tampered = EquivocationEvidence {
            public_key: key.public_key(),
            first: signed(&key, attestation(0xaa)),
            second: moved,
        };
        assert_eq!(
            tampered.verify(),
            Err(EquivocationError::InvalidSignature { which: "second" })
        );
    }
}
