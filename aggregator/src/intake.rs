//! Signature intake: every operator's signature for a task lands here, grouped by the output it
//! signs. Signatures are not verified one by one: when a group's claimed weight reaches the
//! threshold, the group is verified in one aggregate check (two pairings whatever its size), and
//! only if that fails is it bisected to find and drop the bad signers. An invalid signature
//! therefore costs the honest ones a little CPU, never their quorum.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use alloy::primitives::{B256, Bytes, U256, keccak256};
use warden_bls::{PublicKey, Signature, fast_aggregate_verify, find_invalid};
use warden_protocol::api::{SignatureSubmission, SubmissionStatus};
use warden_protocol::{OperatorId, TaskAttestation};

use crate::{OperatorSet, Quorum, Threshold};

/// What the intake must know about a task to check its signatures.
#[derive(Debug, Clone)]
pub struct TaskContext {
    /// Everything operators attest to for this task except the output, which varies by
    /// submission.
    pub task: TaskAttestation,
    pub threshold: Threshold,
    /// The operator set at the reference block.
    pub set: Arc<OperatorSet>,
}

impl TaskContext {
    /// The task's id.
    pub fn task_id(&self) -> u64 {
        self.task.task_id
    }

    /// The digest operators sign for `output_hash`.
    pub fn digest(&self, output_hash: B256) -> B256 {
        self.task.with_output(output_hash).digest()
    }
}

/// Why a submission was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    #[error("signature is not a valid compressed BLS12-381 G2 point: {0}")]
    MalformedSignature(String),
    #[error("operator {operator_id} is not in the operator set at block {reference_block}")]
    UnknownOperator {
        operator_id: OperatorId,
        reference_block: u32,
    },
    #[error("output of {size} bytes exceeds the {limit}-byte limit")]
    OutputTooLarge { size: usize, limit: usize },
    #[error(
        "operator {operator_id} already signed output {signed} for task {task_id}; refusing {proposed}"
    )]
    Conflict {
        task_id: u64,
        operator_id: OperatorId,
        signed: B256,
        proposed: B256,
    },
    #[error("task {0} is not known to the intake")]
    UnknownTask(u64),
}

/// A quorum ready to be committed.
#[derive(Debug, Clone)]
pub struct ReadyQuorum {
    pub task_id: u64,
    pub output: Bytes,
    pub output_hash: B256,
    pub quorum: Quorum,
}

/// Result of one submission.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub status: SubmissionStatus,
    pub output_hash: B256,
    /// Set when this submission completed a verified quorum (handed out once per task).
    pub ready: Option<ReadyQuorum>,
    /// Signers found invalid while verifying this group, now dropped.
    pub rejected: Vec<OperatorId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Collecting,
    /// A quorum was handed out; it goes back to collecting if its commitment fails.
    Committing,
    Committed,
}

#[derive(Debug, Default)]
struct OutputGroup {
    output: Bytes,
    /// Claimed but not yet verified.
    pending: BTreeMap<OperatorId, Signature>,
    verified: BTreeMap<OperatorId, Signature>,
}

#[derive(Debug)]
struct TaskAggregation {
    context: Arc<TaskContext>,
    groups: HashMap<B256, OutputGroup>,
    /// Which output each operator signed, and with which signature.
    signed: HashMap<OperatorId, (B256, Signature)>,
    phase: Phase,
}

/// The intake of all open tasks.
#[derive(Debug, Default)]
pub struct Intake {
    tasks: HashMap<u64, TaskAggregation>,
    max_output_bytes: usize,
}

impl Intake {
    /// An empty intake accepting outputs up to `max_output_bytes`.
    pub fn new(max_output_bytes: usize) -> Self {
        Self {
            tasks: HashMap::new(),
            max_output_bytes,
        }
    }

    /// Whether the intake knows `task_id` already.
    pub fn knows(&self, task_id: u64) -> bool {
        self.tasks.contains_key(&task_id)
    }

    /// The agent a known task is for.
    pub fn agent_of(&self, task_id: u64) -> Option<u64> {
        self.tasks
            .get(&task_id)
            .map(|task| task.context.task.agent_id)
    }

    /// Starts collecting for a task (idempotent).
    pub fn add_task(&mut self, context: Arc<TaskContext>) {
        self.tasks
            .entry(context.task_id())
            .or_insert_with(|| TaskAggregation {
                context,
                groups: HashMap::new(),
                signed: HashMap::new(),
                phase: Phase::Collecting,
            });
    }

    /// Forgets a task (committed and settled, or expired).
    pub fn remove_task(&mut self, task_id: u64) {
        self.tasks.remove(&task_id);
    }

    /// Takes one submission for a known task.
    pub fn submit(&mut self, submission: &SignatureSubmission) -> Result<Submitted, IntakeError> {
        let task_id = submission.task_id;
        let max_output_bytes = self.max_output_bytes;
        let task = self
            .tasks
            .get_mut(&task_id)
            .ok_or(IntakeError::UnknownTask(task_id))?;
        if submission.output.len() > max_output_bytes {
            return Err(IntakeError::OutputTooLarge {
                size: submission.output.len(),
                limit: max_output_bytes,
            });
        }
        let signature = Signature::from_compressed(&submission.signature)
            .map_err(|e| IntakeError::MalformedSignature(e.to_string()))?;
        let operator_id = OperatorId::from(submission.operator_id);
        if task.context.set.get(&operator_id).is_none() {
            return Err(IntakeError::UnknownOperator {
                operator_id,
                reference_block: task.context.task.reference_block,
            });
        }
        let output_hash = keccak256(&submission.output);
        if let Some((signed, previous)) = task.signed.get(&operator_id) {
            if *signed != output_hash {
                return Err(IntakeError::Conflict {
                    task_id,
                    operator_id,
                    signed: *signed,
                    proposed: output_hash,
                });
            }
            if *previous == signature {
                let status = if task.phase == Phase::Committed {
                    SubmissionStatus::AlreadyCommitted
                } else {
                    SubmissionStatus::Duplicate
                };
                return Ok(Submitted {
                    status,
                    output_hash,
                    ready: None,
                    rejected: Vec::new(),
                });
            }
            // A different signature over the same output: the earlier one may have been the bad
            // one, so take the newer in its place.
        }
        task.signed.insert(operator_id, (output_hash, signature));
        let group = task
            .groups
            .entry(output_hash)
            .or_insert_with(|| OutputGroup {
                output: submission.output.clone(),
                ..OutputGroup::default()
            });
        group.verified.remove(&operator_id);
        group.pending.insert(operator_id, signature);

        if task.phase != Phase::Collecting {
            let status = if task.phase == Phase::Committed {
                SubmissionStatus::AlreadyCommitted
            } else {
                SubmissionStatus::Accepted
            };
            return Ok(Submitted {
                status,
                output_hash,
                ready: None,
                rejected: Vec::new(),
            });
        }
        let (ready, rejected) = Self::try_complete(task, output_hash);
        Ok(Submitted {
            status: SubmissionStatus::Accepted,
            output_hash,
            ready,
            rejected,
        })
    }

    /// Verifies a group once its claimed weight reaches the threshold; hands out the quorum once.
    fn try_complete(
        task: &mut TaskAggregation,
        output_hash: B256,
    ) -> (Option<ReadyQuorum>, Vec<OperatorId>) {
        let context = Arc::clone(&task.context);
        let Some(group) = task.groups.get_mut(&output_hash) else {
            return (None, Vec::new());
        };
        let claimed = weight_of(
            &context.set,
            group.pending.keys().chain(group.verified.keys()),
        );
        if !context.threshold.is_met(claimed, context.set.total_weight) || group.pending.is_empty()
        {
            return (None, Vec::new());
        }
        let digest = context.digest(output_hash);
        let rejected = verify_pending(&context.set, group, digest.as_slice());
        for operator_id in &rejected {
            task.signed.remove(operator_id);
        }
        let signatures: BTreeMap<OperatorId, Signature> = group.verified.clone();
        match Quorum::assemble(&context.set, &signatures, context.threshold) {
            Ok(quorum) => {
                task.phase = Phase::Committing;
                let ready = ReadyQuorum {
                    task_id: context.task_id(),
                    output: group.output.clone(),
                    output_hash,
                    quorum,
                };
                (Some(ready), rejected)
            }
            Err(_) => (None, rejected),
        }
    }

    /// The commitment of a handed-out quorum failed: collect again (a later submission or
    /// [`Intake::retry`] hands out a new quorum).
    pub fn commit_failed(&mut self, task_id: u64) {
        if let Some(task) = self.tasks.get_mut(&task_id)
            && task.phase == Phase::Committing
        {
            task.phase = Phase::Collecting;
        }
    }

    /// A quorum for the task is already being committed (one recovered from the database after
    /// a restart): hand out no other until that one fails.
    pub fn committing(&mut self, task_id: u64) {
        if let Some(task) = self.tasks.get_mut(&task_id)
            && task.phase == Phase::Collecting
        {
            task.phase = Phase::Committing;
        }
    }

    /// The task's output is committed on chain (by us or anyone).
    pub fn committed(&mut self, task_id: u64) {
        if let Some(task) = self.tasks.get_mut(&task_id) {
            task.phase = Phase::Committed;
        }
    }

    /// Re-checks every collecting task for a complete quorum (after a failed commitment).
    pub fn retry(&mut self) -> Vec<ReadyQuorum> {
        let mut ready = Vec::new();
        for task in self
            .tasks
            .values_mut()
            .filter(|task| task.phase == Phase::Collecting)
        {
            let outputs: Vec<B256> = task.groups.keys().copied().collect();
            for output_hash in outputs {
                let group_ready = {
                    let context = Arc::clone(&task.context);
                    task.groups.get(&output_hash).and_then(|group| {
                        Quorum::assemble(&context.set, &group.verified, context.threshold)
                            .ok()
                            .map(|quorum| ReadyQuorum {
                                task_id: context.task_id(),
                                output: group.output.clone(),
                                output_hash,
                                quorum,
                            })
                    })
                };
                if let Some(quorum) = group_ready {
                    task.phase = Phase::Committing;
                    ready.push(quorum);
                    break;
                }
            }
        }
        ready
    }
}

fn weight_of<'a>(set: &OperatorSet, operators: impl Iterator<Item = &'a OperatorId>) -> U256 {
    operators
        .filter_map(|id| set.get(id))
        .map(|operator| operator.weight)
        .fold(U256::ZERO, |a, b| a + b)
}

/// Verifies a group's pending signatures together, moving the valid ones to `verified`; returns
/// the operators whose signatures were invalid (removed from the group).
fn verify_pending(set: &OperatorSet, group: &mut OutputGroup, message: &[u8]) -> Vec<OperatorId> {
    let pending: Vec<(OperatorId, Signature, PublicKey)> = group
        .pending
        .iter()
        .filter_map(|(id, signature)| {
            set.get(id)
                .map(|operator| (*id, *signature, operator.public_key))
        })
        .collect();
    group.pending.clear();
    let signatures: Vec<&Signature> = pending.iter().map(|(_, signature, _)| signature).collect();
    let keys: Vec<&PublicKey> = pending.iter().map(|(_, _, key)| key).collect();
    // All signatures are over one message, so their aggregate checks against the aggregate key:
    // two pairings for the whole group. (Keys passed proof of possession at registration, so
    // rogue-key cancellation is ruled out.)
    let all_valid = warden_bls::aggregate_signatures(&signatures)
        .and_then(|aggregate| fast_aggregate_verify(&aggregate, message, &keys))
        .is_ok();
    let invalid: Vec<usize> = if all_valid {
        Vec::new()
    } else {
        let items: Vec<_> = pending
            .iter()
            .map(|(_, signature, key)| (signature, message, key))
            .collect();
        find_invalid(&items)
    };
    let mut rejected = Vec::new();
    for (index, (id, signature, _)) in pending.into_iter().enumerate() {
        if invalid.contains(&index) {
            tracing::warn!(operator_id = %id, "invalid signature dropped");
            rejected.push(id);
        } else {
            group.verified.insert(id, signature);
        }
    }
    rejected
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, U256};
    use warden_bls::SecretKey;

    use super::*;
    use crate::RegisteredOperator;

    struct Fixture {
        intake: Intake,
        keys: Vec<SecretKey>,
        context: Arc<TaskContext>,
    }

    /// Four equal operators, threshold two thirds.
    fn fixture() -> Fixture {
        let mut rng = rand::thread_rng();
        let keys: Vec<SecretKey> = (0..4).map(|_| SecretKey::random(&mut rng)).collect();
        let mut operators: Vec<RegisteredOperator> = keys
            .iter()
            .map(|key| RegisteredOperator {
                operator_id: OperatorId::from_public_key(&key.public_key().to_eip2537()),
                address: Address::ZERO,
                public_key: key.public_key(),
                weight: U256::from(100u64),
            })
            .collect();
        operators.sort_by_key(|operator| operator.operator_id);
        let context = Arc::new(TaskContext {
            task: TaskAttestation {
                chain_id: 31337,
                task_manager: Address::repeat_byte(3),
                task_id: 9,
                agent_id: 1,
                agent_hash: B256::repeat_byte(4),
                verifier: Address::repeat_byte(6),
                input_hash: B256::repeat_byte(5),
                reference_block: 50,
            },
            threshold: Threshold::TWO_THIRDS,
            set: Arc::new(OperatorSet {
                block: 50,
                operators,
                total_weight: U256::from(400u64),
            }),
        });
        let mut intake = Intake::new(1024);
        intake.add_task(Arc::clone(&context));
        Fixture {
            intake,
            keys,
            context,
        }
    }

    fn submission(f: &Fixture, signer: usize, output: &[u8]) -> SignatureSubmission {
        let key = &f.keys[signer];
        let digest = f.context.digest(keccak256(output));
        SignatureSubmission {
            task_id: 9,
            operator_id: keccak256(key.public_key().to_eip2537()),
            output: Bytes::copy_from_slice(output),
            signature: Bytes::copy_from_slice(&key.sign(digest.as_slice()).to_compressed()),
        }
    }

    #[test]
    fn a_quorum_is_handed_out_once_when_two_thirds_signed() {
        let mut f = fixture();
        assert!(
            f.intake
                .submit(&submission(&f, 0, b"buy"))
                .unwrap()
                .ready
                .is_none()
        );
        assert!(
            f.intake
                .submit(&submission(&f, 1, b"buy"))
                .unwrap()
                .ready
                .is_none()
        );
        let ready = f
            .intake
            .submit(&submission(&f, 2, b"buy"))
            .unwrap()
            .ready
            .unwrap();
        assert_eq!(ready.quorum.signed_weight, U256::from(300u64));
        assert_eq!(
            ready.quorum.non_signers,
            vec![f.keys[3].public_key().to_eip2537()]
        );
        // The aggregate verifies against the signers' keys.
        let signers: Vec<_> = f.keys[..3].iter().map(|k| k.public_key()).collect();
        let digest = f.context.digest(keccak256(b"buy"));
        fast_aggregate_verify(
            &ready.quorum.aggregate_signature,
            digest.as_slice(),
            &signers.iter().collect::<Vec<_>>(),
        )
        .unwrap();
        // A late signer does not hand out a second quorum.
        assert!(
            f.intake
                .submit(&submission(&f, 3, b"buy"))
                .unwrap()
                .ready
                .is_none()
        );
    }

    #[test]
    fn an_invalid_signature_is_dropped_without_blocking_the_valid_ones() {
        let mut f = fixture();
        let mut forged = submission(&f, 1, b"buy");
        // Operator 1 "signs" with operator 0's key: a valid point, the wrong signer.
        forged.signature = submission(&f, 0, b"buy").signature;
        f.intake.submit(&submission(&f, 0, b"buy")).unwrap();
        f.intake.submit(&forged).unwrap();
        let outcome = f.intake.submit(&submission(&f, 2, b"buy")).unwrap();
        assert!(outcome.ready.is_none(), "only two valid signatures so far");
        assert_eq!(outcome.rejected, vec![OperatorId::from(forged.operator_id)]);
        let outcome = f.intake.submit(&submission(&f, 3, b"buy")).unwrap();
        let ready = outcome
            .ready
            .expect("three valid signatures make the quorum");
        assert_eq!(
            ready.quorum.non_signer_ids,
            vec![OperatorId::from(forged.operator_id)]
        );
        // The dropped operator may send its genuine signature afterwards.
        assert_eq!(
            f.intake.submit(&submission(&f, 1, b"buy")).unwrap().status,
            SubmissionStatus::Accepted
        );
    }

    #[test]
    fn bad_submissions_are_refused_with_their_reason() {
        let mut f = fixture();
        let mut malformed = submission(&f, 0, b"buy");
        malformed.signature = Bytes::from(vec![0u8; 95]);
        assert!(matches!(
            f.intake.submit(&malformed),
            Err(IntakeError::MalformedSignature(_))
        ));

        let mut stranger = submission(&f, 0, b"buy");
        stranger.operator_id = B256::repeat_byte(0xee);
        assert!(matches!(
            f.intake.submit(&stranger),
            Err(IntakeError::UnknownOperator { .. })
        ));

        let huge = submission(&f, 0, &[0u8; 2048]);
        assert!(matches!(
            f.intake.submit(&huge),
            Err(IntakeError::OutputTooLarge {
                size: 2048,
                limit: 1024
            })
        ));

        let mut unknown = submission(&f, 0, b"buy");
        unknown.task_id = 10;
        assert_eq!(
            f.intake.submit(&unknown).unwrap_err(),
            IntakeError::UnknownTask(10)
        );

        f.intake.submit(&submission(&f, 0, b"buy")).unwrap();
        assert_eq!(
            f.intake.submit(&submission(&f, 0, b"buy")).unwrap().status,
            SubmissionStatus::Duplicate
        );
        assert!(matches!(
            f.intake.submit(&submission(&f, 0, b"sell")),
            Err(IntakeError::Conflict { .. })
        ));
    }

    #[test]
    fn a_failed_commitment_hands_the_quorum_out_again() {
        let mut f = fixture();
        for signer in 0..3 {
            f.intake.submit(&submission(&f, signer, b"hold")).unwrap();
        }
        assert!(
            f.intake.retry().is_empty(),
            "the quorum is out being committed"
        );
        f.intake.commit_failed(9);
        let again = f.intake.retry();
        assert_eq!(again.len(), 1);
        f.intake.committed(9);
        assert!(f.intake.retry().is_empty());
        assert_eq!(
            f.intake.submit(&submission(&f, 3, b"hold")).unwrap().status,
            SubmissionStatus::AlreadyCommitted
        );
    }
}
