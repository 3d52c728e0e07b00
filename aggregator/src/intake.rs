//! Signature intake: every operator's signature for a task lands here, grouped by the run it
//! signs (the output and, for a large agent, the activation trace). Nothing is recorded before its signature is verified ([`crate::verifier`]): a submission
//! is first screened against what is on record ([`Intake::screen`], cheap and under the intake's
//! lock), then verified outside the lock, then recorded. A signature verified on its own is
//! recorded alone ([`Intake::record`], which only takes a [`Verified`] one); signatures verified
//! together by their sum are recorded as a unit or not at all ([`Intake::record_batch`], which
//! only takes a [`VerifiedBatch`]), because only their sum is vouched for. So a forged entry can
//! never make an operator's genuine signature conflict, replace it, or count towards a quorum;
//! and once a group's verified weight reaches the threshold, its quorum is handed out at once,
//! with no verification left to fail.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use alloy::primitives::{B256, Bytes, U256, keccak256};
use warden_bls::{AggregateSignature, Signature, UncheckedSignature};
use warden_protocol::api::{SignatureSubmission, SubmissionStatus};
use warden_protocol::{MAX_TRACE_LENGTH, OperatorId, TaskAttestation, trace_hash};

use crate::verifier::SignatureCheck;
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

    /// The digest operators sign for `run`.
    pub fn digest(&self, run: RunHashes) -> B256 {
        self.task
            .with_output(run.output_hash, run.trace_hash)
            .digest()
    }
}

/// What a signature vouches for beyond the task: the hashes of a run's output and of its
/// activation trace (`NO_TRACE` for an agent that keeps none). Signers agree when these agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunHashes {
    pub output_hash: B256,
    pub trace_hash: B256,
}

impl std::fmt::Display for RunHashes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "output {} with trace {}",
            self.output_hash, self.trace_hash
        )
    }
}

/// One operator's verified signature over one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedOutput {
    pub run: RunHashes,
    pub signature: UncheckedSignature,
}

/// Why a submission was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    #[error("signature is not a BLS12-381 G2 point (96 bytes compressed or 192 uncompressed): {0}")]
    MalformedSignature(String),
    #[error("operator {operator_id} is not in the operator set at block {reference_block}")]
    UnknownOperator {
        operator_id: OperatorId,
        reference_block: u32,
    },
    #[error("output of {size} bytes exceeds the {limit}-byte limit")]
    OutputTooLarge { size: usize, limit: usize },
    #[error("a trace of {length} chunk hashes exceeds the task manager's limit of {limit}")]
    TraceTooLong { length: usize, limit: usize },
    #[error(
        "the signature is not operator {operator_id}'s signature on output {output_hash} of task {task_id}"
    )]
    InvalidSignature {
        task_id: u64,
        operator_id: OperatorId,
        output_hash: B256,
    },
    /// Two verified signatures of one operator over different runs (outputs or traces) of one
    /// task.
    #[error("{0}")]
    Equivocation(Box<Equivocation>),
    #[error("task {0} is not known to the intake")]
    UnknownTask(u64),
    /// Deferred, not refused: the signature came in a batch with invalid signatures after the
    /// task's quorum was complete, when sorting them out one by one is not worth the pairings.
    #[error(
        "operator {operator_id}'s signature for task {task_id} was not verified: it arrived in a batch with invalid signatures after the quorum was complete; send it again"
    )]
    Unverified {
        task_id: u64,
        operator_id: OperatorId,
    },
}

/// One operator's two verified signatures over different runs of one task (two outputs, or one
/// output with two traces): the evidence `slashEquivocation` takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "operator {operator_id} signed {} and {} for task {task_id}: equivocation; both signatures verified and the evidence is kept for slashEquivocation",
    first.run,
    second.run
)]
pub struct Equivocation {
    pub task_id: u64,
    pub operator_id: OperatorId,
    /// The signature on record, which still counts.
    pub first: SignedOutput,
    /// This submission's, which does not.
    pub second: SignedOutput,
}

/// Parses a submission's signature, compressed or uncompressed, outside the intake's lock. Only
/// the curve equation is checked here: subgroup membership is checked on sums, by the verifier's
/// batches and by every aggregate ([`warden_bls::UncheckedSignature`]). Uncompressed signatures
/// parse without the square root that decompressing costs (about 30 µs of the 32 µs this takes
/// for a compressed one).
pub fn parse_signature(bytes: &[u8]) -> Result<UncheckedSignature, IntakeError> {
    UncheckedSignature::from_bytes(bytes)
        .map_err(|e| IntakeError::MalformedSignature(e.to_string()))
}

/// A quorum ready to be committed.
#[derive(Debug, Clone)]
pub struct ReadyQuorum {
    pub task_id: u64,
    pub output: Bytes,
    /// The activation trace its signers signed, which `commitOutput` carries.
    pub trace: Vec<B256>,
    pub run: RunHashes,
    pub quorum: Quorum,
}

/// A submission that passed screening, its signature not yet verified.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub task_id: u64,
    pub operator_id: OperatorId,
    /// The operator's position in the set of the task it was screened for.
    pub position: usize,
    pub output: Bytes,
    pub trace: Vec<B256>,
    pub run: RunHashes,
    /// What must hold before it can be recorded.
    pub check: SignatureCheck,
    /// The task it was screened for: it is recorded only into that task, not into one the chain
    /// replaced it by meanwhile (whose digest differs), and its batch takes its key sum from
    /// that task's set.
    pub screened: Screened,
}

/// The task a candidate was screened for.
#[derive(Clone)]
pub struct Screened(Arc<TaskContext>);

impl Screened {
    /// The task's context.
    pub fn context(&self) -> &Arc<TaskContext> {
        &self.0
    }
}

impl std::fmt::Debug for Screened {
    // The context holds the whole operator set: a candidate's log line names the task only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Screened")
            .field("task_id", &self.0.task_id())
            .field("reference_block", &self.0.task.reference_block)
            .finish()
    }
}

impl Candidate {
    /// The candidate, once `holds` is the verifier's verdict on [`Candidate::check`].
    pub fn verified(self: Box<Self>, holds: bool) -> Result<Verified, IntakeError> {
        if holds {
            Ok(Verified(self))
        } else {
            Err(self.invalid())
        }
    }

    /// The refusal of this candidate, its signature found invalid.
    pub fn invalid(&self) -> IntakeError {
        IntakeError::InvalidSignature {
            task_id: self.task_id,
            operator_id: self.operator_id,
            output_hash: self.run.output_hash,
        }
    }
}

/// A candidate whose signature verified: the only thing [`Intake::record`] takes.
#[derive(Debug, Clone)]
pub struct Verified(Box<Candidate>);

/// Candidates of one task and run whose signatures verified together, by their sum
/// ([`warden_bls::verify_sum_same_message`]): the only thing [`Intake::record_batch`] takes. Only
/// the sum is vouched for (whoever saw genuine signatures can shift a component from one member
/// to another), so the members count together or not at all.
#[derive(Debug)]
pub struct VerifiedBatch {
    // Candidates travel boxed from screening through the verifier and back: unboxing them here
    // would copy each one twice.
    #[expect(
        clippy::vec_box,
        reason = "candidates stay boxed from screening to recording"
    )]
    candidates: Vec<Box<Candidate>>,
    sum: Signature,
}

impl VerifiedBatch {
    /// `candidates`, whose signatures `sum` to a signature verified on their common digest.
    #[expect(
        clippy::vec_box,
        reason = "candidates stay boxed from screening to recording"
    )]
    pub(crate) fn new(candidates: Vec<Box<Candidate>>, sum: Signature) -> Self {
        Self { candidates, sum }
    }

    /// How many candidates the batch holds.
    pub fn len(&self) -> usize {
        self.candidates.len()
    }

    /// Whether the batch holds no candidate.
    pub fn is_empty(&self) -> bool {
        self.candidates.is_empty()
    }
}

/// What screening decided.
#[derive(Debug, Clone)]
pub enum Screening {
    /// Nothing to do: the same signature is on record, or the task is committed already.
    Known {
        status: SubmissionStatus,
        output_hash: B256,
    },
    /// Verify it, then record it.
    Verify(Box<Candidate>),
}

/// Result of recording a verified submission.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub status: SubmissionStatus,
    pub output_hash: B256,
    /// Set when this signature completed a quorum (handed out once per task).
    pub ready: Option<ReadyQuorum>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Collecting,
    /// A quorum was handed out; it goes back to collecting if its commitment fails.
    Committing,
    Committed,
}

#[derive(Debug)]
struct OutputGroup {
    output: Bytes,
    trace: Vec<B256>,
    /// Which of the set's operators (by position) signed this output; their signatures are the
    /// task's `signed`.
    signers: Vec<bool>,
    signer_count: usize,
    /// The signers (by position) whose signature verified on its own; the others count through
    /// the sum of the batch they were verified in.
    alone: BTreeSet<usize>,
    /// The sums of the batches recorded as units, each verified and subgroup-checked.
    batch_sums: Vec<Signature>,
    /// The signers' weight and the sum of their signatures, kept as signatures arrive, so
    /// that a quorum costs neither a second pass over the signatures nor a re-count.
    weight: U256,
    sum: AggregateSignature,
}

impl OutputGroup {
    fn new(output: Bytes, trace: Vec<B256>, set_size: usize) -> Self {
        Self {
            output,
            trace,
            signers: vec![false; set_size],
            signer_count: 0,
            alone: BTreeSet::new(),
            batch_sums: Vec::new(),
            weight: U256::ZERO,
            sum: AggregateSignature::new(),
        }
    }

    /// Counts the operator at `position` as a signer.
    fn add_signer(&mut self, position: usize) {
        if let Some(signed) = self.signers.get_mut(position)
            && !std::mem::replace(signed, true)
        {
            self.signer_count += 1;
        }
    }

    /// No longer counts the operator at `position`.
    fn remove_signer(&mut self, position: usize) {
        if let Some(signed) = self.signers.get_mut(position)
            && std::mem::replace(signed, false)
        {
            self.signer_count -= 1;
        }
        self.alone.remove(&position);
    }

    /// The sum of what is on record, recomputed from the batches' sums and the signatures
    /// recorded alone (`signed`: the task's signatures by position).
    fn resum(&mut self, signed: &[Option<SignedOutput>]) {
        self.sum = AggregateSignature::new();
        for batch_sum in &self.batch_sums {
            self.sum.add(batch_sum);
        }
        for &position in &self.alone {
            if let Some(Some(signed)) = signed.get(position) {
                self.sum.add_unchecked(&signed.signature);
            }
        }
    }
}

#[derive(Debug)]
struct TaskAggregation {
    context: Arc<TaskContext>,
    groups: HashMap<RunHashes, OutputGroup>,
    /// Which run each operator of the set (by position) signed, and with which (verified)
    /// signature.
    signed: Vec<Option<SignedOutput>>,
    phase: Phase,
    /// The runs screened last (output and trace), with their hashes and digest: honest operators
    /// all send the same run, which is then hashed once per task, not once per submission.
    /// Bounded, so that many distinct runs cost what they would without it.
    runs: VecDeque<RememberedRun>,
}

#[derive(Debug)]
struct RememberedRun {
    output: Bytes,
    trace: Vec<B256>,
    run: RunHashes,
    digest: B256,
}

/// How many distinct runs a task remembers the hashes of.
const REMEMBERED_RUNS: usize = 4;

impl TaskAggregation {
    /// The hashes of a run (`output` and `trace`) and the digest its signers sign, remembered
    /// for the runs seen last.
    fn hashes(&mut self, output: &Bytes, trace: &[B256]) -> (RunHashes, B256) {
        if let Some(remembered) = self
            .runs
            .iter()
            .find(|remembered| remembered.output == *output && remembered.trace == trace)
        {
            return (remembered.run, remembered.digest);
        }
        let run = RunHashes {
            output_hash: keccak256(output),
            trace_hash: trace_hash(trace),
        };
        let digest = self.context.digest(run);
        if self.runs.len() == REMEMBERED_RUNS {
            self.runs.pop_front();
        }
        self.runs.push_back(RememberedRun {
            output: output.clone(),
            trace: trace.to_vec(),
            run,
            digest,
        });
        (run, digest)
    }

    /// The status of a submission the intake has nothing to do for.
    fn known_status(&self) -> SubmissionStatus {
        if self.phase == Phase::Committed {
            SubmissionStatus::AlreadyCommitted
        } else {
            SubmissionStatus::Duplicate
        }
    }

    fn known(&self, run: RunHashes) -> Screening {
        Screening::Known {
            status: self.known_status(),
            output_hash: run.output_hash,
        }
    }

    /// The signature on record for the operator at `position`, if any.
    fn signed_at(&self, position: usize) -> Option<&SignedOutput> {
        self.signed.get(position)?.as_ref()
    }

    /// Whether `candidate` was screened for this task, not for one it replaced: the candidate's
    /// position and digest are this task's only then.
    fn is_screened(&self, candidate: &Candidate) -> bool {
        Arc::ptr_eq(&self.context, candidate.screened.context())
    }

    /// What the record says about `operator_id` signing `run` with `signature`, if it
    /// says anything: the same signature on record is a duplicate, and another is refused
    /// without a verification. A BLS signature is unique per key and message, and the one on
    /// record verified (alone, or within a batch whose sum verified, which counts this operator
    /// either way): any other is invalid or adds nothing.
    fn against_record(
        &self,
        operator_id: OperatorId,
        position: usize,
        run: RunHashes,
        signature: &UncheckedSignature,
    ) -> Option<Result<SubmissionStatus, IntakeError>> {
        let on_record = self.signed_at(position)?;
        if on_record.run != run {
            return None;
        }
        if on_record.signature == *signature {
            return Some(Ok(self.known_status()));
        }
        Some(Err(IntakeError::InvalidSignature {
            task_id: self.context.task_id(),
            operator_id,
            output_hash: run.output_hash,
        }))
    }

    /// The group's quorum, if its weight meets the threshold.
    ///
    /// The aggregate is the running sum, subgroup-checked here. That check fails only if a
    /// signature verified on its own, with a small-order component, slipped through a weighted
    /// batch check (which takes knowing the genuine signature, and a 1-in-13 chance at best): the
    /// signatures recorded alone that fail it on their own are then dropped, so that their
    /// operators' next submissions are taken, and the rest are summed again. Members of a batch
    /// recorded as a unit are never dropped one by one: their batch's sum passed the check.
    fn ready(&mut self, run: RunHashes) -> Option<ReadyQuorum> {
        let context = Arc::clone(&self.context);
        let group = self.groups.get_mut(&run)?;
        if !context
            .threshold
            .is_met(group.weight, context.set.total_weight)
        {
            return None;
        }
        let aggregate = match group.sum.to_signature() {
            Ok(aggregate) => aggregate,
            Err(error) => {
                tracing::warn!(
                    task_id = context.task_id(),
                    output_hash = %run.output_hash,
                    trace_hash = %run.trace_hash,
                    %error,
                    "the sum of the signatures on record is not a valid aggregate: dropping the signatures outside the subgroup"
                );
                let outside: Vec<usize> = group
                    .alone
                    .iter()
                    .filter(|&&position| {
                        self.signed
                            .get(position)
                            .and_then(Option::as_ref)
                            .is_some_and(|signed| signed.signature.check().is_err())
                    })
                    .copied()
                    .collect();
                if outside.is_empty() {
                    // Every signature is a subgroup point, so the sum is one too: it can only be
                    // the point at infinity, which no quorum may carry.
                    return None;
                }
                for &position in &outside {
                    group.remove_signer(position);
                    if let Some(signed) = self.signed.get_mut(position) {
                        *signed = None;
                    }
                    if let Some(operator) = context.set.operators.get(position) {
                        group.weight -= operator.weight;
                        tracing::warn!(task_id = context.task_id(), operator_id = %operator.operator_id, "dropped a signature outside the prime-order subgroup");
                    }
                }
                group.resum(&self.signed);
                return self.ready(run);
            }
        };
        let quorum =
            Quorum::with_signers(&context.set, &group.signers, aggregate, context.threshold)
                .ok()?;
        Some(ReadyQuorum {
            task_id: context.task_id(),
            output: group.output.clone(),
            trace: group.trace.clone(),
            run,
            quorum,
        })
    }
}

impl TaskAggregation {
    /// The status of a signature just recorded over `run`, and the task's quorum if that
    /// completed it (handed out once: the task then waits for its commitment).
    fn after_recording(&mut self, run: RunHashes) -> (SubmissionStatus, Option<ReadyQuorum>) {
        match self.phase {
            Phase::Committed => (SubmissionStatus::AlreadyCommitted, None),
            Phase::Committing => (SubmissionStatus::Accepted, None),
            Phase::Collecting => {
                let ready = self.ready(run);
                if ready.is_some() {
                    self.phase = Phase::Committing;
                }
                (SubmissionStatus::Accepted, ready)
            }
        }
    }
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
                signed: vec![None; context.set.operators.len()],
                context,
                groups: HashMap::new(),
                phase: Phase::Collecting,
                runs: VecDeque::with_capacity(REMEMBERED_RUNS),
            });
    }

    /// Forgets a task the chain now describes differently (a reorg or rollback replaced it by
    /// another task with the same id): its next signature sets it up again from the chain.
    /// Returns whether it was forgotten.
    pub fn forget_if_changed(
        &mut self,
        task_id: u64,
        input_hash: B256,
        reference_block: u32,
    ) -> bool {
        let changed = self.tasks.get(&task_id).is_some_and(|task| {
            task.context.task.input_hash != input_hash
                || task.context.task.reference_block != reference_block
        });
        if changed {
            tracing::warn!(
                task_id,
                %input_hash,
                reference_block,
                "the chain replaced this task (reorg or rollback): collecting for it afresh"
            );
            self.tasks.remove(&task_id);
        }
        changed
    }

    /// Forgets a task (committed and settled, or expired).
    pub fn remove_task(&mut self, task_id: u64) {
        self.tasks.remove(&task_id);
    }

    /// Checks a submission against what is on record, without verifying its signature: whether
    /// the task and the operator are known, the output small enough and the trace short enough,
    /// and whether the same signature is on record already. Changes nothing but the task's memory
    /// of the runs it hashed.
    pub fn screen(
        &mut self,
        submission: &SignatureSubmission,
        signature: UncheckedSignature,
    ) -> Result<Screening, IntakeError> {
        let task_id = submission.task_id;
        let task = self
            .tasks
            .get_mut(&task_id)
            .ok_or(IntakeError::UnknownTask(task_id))?;
        if submission.output.len() > self.max_output_bytes {
            return Err(IntakeError::OutputTooLarge {
                size: submission.output.len(),
                limit: self.max_output_bytes,
            });
        }
        if submission.trace.len() > MAX_TRACE_LENGTH {
            return Err(IntakeError::TraceTooLong {
                length: submission.trace.len(),
                limit: MAX_TRACE_LENGTH,
            });
        }
        let operator_id = OperatorId::from(submission.operator_id);
        let Some(position) = task.context.set.position(&operator_id) else {
            return Err(IntakeError::UnknownOperator {
                operator_id,
                reference_block: task.context.task.reference_block,
            });
        };
        let public_key = task.context.set.operators[position].public_key;
        let (run, digest) = task.hashes(&submission.output, &submission.trace);
        if let Some(settled) = task.against_record(operator_id, position, run, &signature) {
            return settled.map(|status| Screening::Known {
                status,
                output_hash: run.output_hash,
            });
        }
        if task.phase == Phase::Committed && task.signed_at(position).is_none() {
            // Too late to count, and nothing to prove: not worth a verification.
            return Ok(task.known(run));
        }
        Ok(Screening::Verify(Box::new(Candidate {
            task_id,
            operator_id,
            position,
            output: submission.output.clone(),
            trace: submission.trace.clone(),
            run,
            check: SignatureCheck {
                message: digest,
                public_key,
                signature,
            },
            screened: Screened(Arc::clone(&task.context)),
        })))
    }

    /// Records a verified signature, handing out the task's quorum if this one completed it. A
    /// verified signature over another run than the operator's verified one on record is
    /// equivocation: refused, with both as evidence; the first keeps counting.
    pub fn record(&mut self, verified: Verified) -> Result<Recorded, IntakeError> {
        let candidate = *verified.0;
        let task_id = candidate.task_id;
        let task = self.screened_task(&candidate)?;
        let operator_id = candidate.operator_id;
        let position = candidate.position;
        let run = candidate.run;
        let output_hash = run.output_hash;
        let signed = SignedOutput {
            run,
            signature: candidate.check.signature,
        };
        if let Some(on_record) = task.signed_at(position) {
            if on_record.run != run {
                // Evidence goes on chain, where each signature is checked alone: both must be
                // subgroup points, which batches only vouch for on sums.
                if signed.signature.check().is_err() {
                    return Err(IntakeError::InvalidSignature {
                        task_id,
                        operator_id,
                        output_hash,
                    });
                }
                // The one on record may have been verified only through its batch's sum.
                let first_alone = SignatureCheck {
                    message: task.context.digest(on_record.run),
                    public_key: candidate.check.public_key,
                    signature: on_record.signature,
                };
                if !first_alone.holds() {
                    tracing::warn!(
                        task_id,
                        %operator_id,
                        "the signature on record does not verify on its own (it counted through its batch's sum): no usable evidence of this equivocation"
                    );
                }
                return Err(IntakeError::Equivocation(Box::new(Equivocation {
                    task_id,
                    operator_id,
                    first: *on_record,
                    second: signed,
                })));
            }
            // The same signature, recorded meanwhile by a concurrent submission.
            return Ok(Recorded {
                status: SubmissionStatus::Duplicate,
                output_hash,
                ready: None,
            });
        }
        let weight = task.context.set.operators[position].weight;
        task.signed[position] = Some(signed);
        let set_size = task.signed.len();
        let group = task
            .groups
            .entry(run)
            .or_insert_with(|| OutputGroup::new(candidate.output, candidate.trace, set_size));
        group.add_signer(position);
        group.alone.insert(position);
        group.weight += weight;
        group.sum.add_unchecked(&signed.signature);
        let (status, ready) = task.after_recording(run);
        Ok(Recorded {
            status,
            output_hash,
            ready,
        })
    }

    /// The task `candidate` was screened for, still collecting under the same context: a task the
    /// chain replaced meanwhile is as unknown to it as a forgotten one.
    fn screened_task(
        &mut self,
        candidate: &Candidate,
    ) -> Result<&mut TaskAggregation, IntakeError> {
        match self.tasks.get_mut(&candidate.task_id) {
            Some(task) if task.is_screened(candidate) => Ok(task),
            _ => Err(IntakeError::UnknownTask(candidate.task_id)),
        }
    }

    /// What recording `candidate` would come to if the record settles it without a verification
    /// (see [`Intake::screen`]), for candidates screened before a signature of their operator was
    /// recorded.
    pub fn settle(&self, candidate: &Candidate) -> Option<Result<Recorded, IntakeError>> {
        let task = match self.tasks.get(&candidate.task_id) {
            Some(task) if task.is_screened(candidate) => task,
            _ => return Some(Err(IntakeError::UnknownTask(candidate.task_id))),
        };
        let settled = task.against_record(
            candidate.operator_id,
            candidate.position,
            candidate.run,
            &candidate.check.signature,
        )?;
        Some(settled.map(|status| Recorded {
            status,
            output_hash: candidate.run.output_hash,
            ready: None,
        }))
    }

    /// Whether the task's quorum was handed out: it is being committed, or committed.
    pub fn quorum_handed_out(&self, task_id: u64) -> bool {
        self.tasks
            .get(&task_id)
            .is_some_and(|task| task.phase != Phase::Collecting)
    }

    /// Records a batch verified by its sum as a unit: one result per candidate, in order, the
    /// quorum (if the batch completed it) with the last. Refused, the candidates handed back to
    /// be verified one by one, unless every member is new: of this task and run, no operator
    /// twice, and none with a signature on record. A member left out would leave the others'
    /// sum unvouched for.
    pub fn record_batch(
        &mut self,
        batch: VerifiedBatch,
    ) -> Result<Vec<Result<Recorded, IntakeError>>, Vec<Box<Candidate>>> {
        let VerifiedBatch { candidates, sum } = batch;
        let Some(first) = candidates.first() else {
            return Ok(Vec::new());
        };
        let (task_id, run) = (first.task_id, first.run);
        let task = match self.tasks.get_mut(&task_id) {
            Some(task) if task.is_screened(first) => task,
            _ => {
                return Ok(candidates
                    .iter()
                    .map(|_| Err(IntakeError::UnknownTask(task_id)))
                    .collect());
            }
        };
        // New members only: none on record, none twice (a member seen once is marked in
        // `batch`, which then comes back unmarked whatever the outcome).
        let set_size = task.signed.len();
        let mut batch = vec![false; set_size];
        let all_new = candidates.iter().all(|candidate| {
            candidate.task_id == task_id
                && candidate.run == run
                && task.is_screened(candidate)
                && task.signed_at(candidate.position).is_none()
                && batch
                    .get_mut(candidate.position)
                    .is_some_and(|seen| !std::mem::replace(seen, true))
        });
        if !all_new {
            return Err(candidates);
        }
        let group = task.groups.entry(run).or_insert_with(|| {
            OutputGroup::new(first.output.clone(), first.trace.clone(), set_size)
        });
        let operators = &task.context.set.operators;
        for candidate in &candidates {
            task.signed[candidate.position] = Some(SignedOutput {
                run,
                signature: candidate.check.signature,
            });
            group.add_signer(candidate.position);
            group.weight += operators[candidate.position].weight;
        }
        group.sum.add(&sum);
        group.batch_sums.push(sum);
        let (status, mut ready) = task.after_recording(run);
        let last = candidates.len() - 1;
        Ok((0..candidates.len())
            .map(|index| {
                Ok(Recorded {
                    status,
                    output_hash: run.output_hash,
                    ready: if index == last { ready.take() } else { None },
                })
            })
            .collect())
    }

    /// Whether every operator of the task's set has a verified signature over `run`.
    pub fn everyone_signed(&self, task_id: u64, run: RunHashes) -> bool {
        self.tasks.get(&task_id).is_some_and(|task| {
            task.groups
                .get(&run)
                .is_some_and(|group| group.signer_count == task.signed.len())
        })
    }

    /// The quorum of a handed-out output as it stands now: with the signatures verified since
    /// it reached the threshold (late signers a grace period let in). `None` unless the task is
    /// being committed.
    pub fn quorum_now(&mut self, task_id: u64, run: RunHashes) -> Option<ReadyQuorum> {
        let task = self.tasks.get_mut(&task_id)?;
        if task.phase != Phase::Committing {
            return None;
        }
        task.ready(run)
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
            let complete = task
                .groups
                .keys()
                .copied()
                .collect::<Vec<_>>()
                .into_iter()
                .find_map(|run| task.ready(run));
            if let Some(quorum) = complete {
                task.phase = Phase::Committing;
                ready.push(quorum);
            }
        }
        ready
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use alloy::primitives::{Address, U256};
    use warden_bls::{PublicKey, SecretKey, fast_aggregate_verify};

    use super::*;
    use crate::RegisteredOperator;

    /// Screens, verifies alone and records one submission: the whole intake path without the
    /// batching verifier.
    fn submit_now(
        intake: &mut Intake,
        submission: &SignatureSubmission,
    ) -> Result<Recorded, IntakeError> {
        let signature = parse_signature(&submission.signature)?;
        match intake.screen(submission, signature)? {
            Screening::Known {
                status,
                output_hash,
            } => Ok(Recorded {
                status,
                output_hash,
                ready: None,
            }),
            Screening::Verify(candidate) => {
                let holds = candidate.check.holds();
                intake.record(candidate.verified(holds)?)
            }
        }
    }

    struct Fixture {
        intake: Intake,
        keys: Vec<SecretKey>,
        context: Arc<TaskContext>,
    }

    /// Four equal operators, threshold two thirds.
    fn fixture() -> Fixture {
        let mut rng = rand::thread_rng();
        let keys: Vec<SecretKey> = (0..4).map(|_| SecretKey::random(&mut rng)).collect();
        let context = context_for(&keys);
        let mut intake = Intake::new(1024);
        intake.add_task(Arc::clone(&context));
        Fixture {
            intake,
            keys,
            context,
        }
    }

    /// Task 9, whose operator set is `keys`, each of weight 100; threshold two thirds.
    pub(crate) fn context_for(keys: &[SecretKey]) -> Arc<TaskContext> {
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
        Arc::new(TaskContext {
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
                total_weight: U256::from(100 * keys.len() as u64),
                changed_at: 1,
                key_total: crate::KeyTotal::default(),
            }),
        })
    }

    impl Fixture {
        /// Asserts `ready` is the quorum of operators 0, 1 and 2 over `output`: its aggregate
        /// verifies against their keys.
        fn assert_signed_by_the_first_three(&self, ready: &ReadyQuorum, output: &[u8]) {
            let signers: Vec<_> = self.keys[..3].iter().map(|k| k.public_key()).collect();
            let digest = self.context.digest(traceless(output));
            fast_aggregate_verify(
                &ready.quorum.aggregate_signature,
                digest.as_slice(),
                &signers.iter().collect::<Vec<_>>(),
            )
            .unwrap();
        }

        /// Operator `signer`'s genuine submission for `output`, through the whole intake path.
        fn send(&mut self, signer: usize, output: &[u8]) -> Result<Recorded, IntakeError> {
            let genuine = submission(self, signer, output);
            submit_now(&mut self.intake, &genuine)
        }
    }

    fn submission(f: &Fixture, signer: usize, output: &[u8]) -> SignatureSubmission {
        traced_submission(f, signer, output, &[])
    }

    /// Operator `signer`'s genuine submission of a large agent's run: `output` with `trace`.
    fn traced_submission(
        f: &Fixture,
        signer: usize,
        output: &[u8],
        trace: &[B256],
    ) -> SignatureSubmission {
        let key = &f.keys[signer];
        let digest = f.context.digest(RunHashes {
            output_hash: keccak256(output),
            trace_hash: trace_hash(trace),
        });
        SignatureSubmission {
            task_id: 9,
            operator_id: keccak256(key.public_key().to_eip2537()),
            output: Bytes::copy_from_slice(output),
            signature: Bytes::copy_from_slice(&key.sign(digest.as_slice()).to_compressed()),
            trace: trace.to_vec(),
        }
    }

    /// Signers of one output with different traces signed different digests: their signatures
    /// neither add up nor make a quorum together, and the quorum that forms carries the trace its
    /// signers signed, which `commitOutput` must send.
    #[test]
    fn signers_of_one_output_with_two_traces_are_two_groups() {
        let mut f = fixture();
        let (honest, other) = (vec![B256::repeat_byte(1); 3], vec![B256::repeat_byte(2); 3]);
        for (signer, trace) in [(0, &honest), (1, &honest), (2, &other)] {
            let submission = traced_submission(&f, signer, b"buy", trace);
            let recorded = submit_now(&mut f.intake, &submission).unwrap();
            assert!(recorded.ready.is_none(), "signer {signer}");
        }
        let submission = traced_submission(&f, 3, b"buy", &honest);
        let ready = submit_now(&mut f.intake, &submission)
            .unwrap()
            .ready
            .expect("three signers of one run");
        assert_eq!(ready.trace, honest);
        assert_eq!(ready.run.trace_hash, trace_hash(&honest));
        assert_eq!(ready.output.as_ref(), b"buy");
    }

    /// One output with two traces is two statements about one task: `slashEquivocation` takes
    /// them as evidence, so the intake keeps both and counts the first.
    #[test]
    fn one_output_signed_with_two_traces_is_equivocation() {
        let mut f = fixture();
        let first = vec![B256::repeat_byte(1)];
        let second = vec![B256::repeat_byte(2)];
        let (signed_first, signed_second) = (
            traced_submission(&f, 0, b"buy", &first),
            traced_submission(&f, 0, b"buy", &second),
        );
        submit_now(&mut f.intake, &signed_first).unwrap();
        match submit_now(&mut f.intake, &signed_second) {
            Err(IntakeError::Equivocation(evidence)) => {
                assert_eq!(
                    evidence.first.run.output_hash,
                    evidence.second.run.output_hash
                );
                assert_eq!(evidence.first.run.trace_hash, trace_hash(&first));
                assert_eq!(evidence.second.run.trace_hash, trace_hash(&second));
            }
            other => panic!("expected equivocation, got {other:?}"),
        }
    }

    /// A trace the task manager would refuse (`TraceTooLong`) is refused before any hashing or
    /// verification: an outsider cannot make the intake hash megabytes per request.
    #[test]
    fn a_trace_longer_than_the_task_manager_takes_is_refused() {
        let mut f = fixture();
        let long = vec![B256::repeat_byte(7); MAX_TRACE_LENGTH + 1];
        let submission = traced_submission(&f, 0, b"buy", &long);
        assert!(matches!(
            submit_now(&mut f.intake, &submission),
            Err(IntakeError::TraceTooLong { length, limit })
                if length == MAX_TRACE_LENGTH + 1 && limit == MAX_TRACE_LENGTH
        ));
        // The longest one it takes is taken.
        let longest = vec![B256::repeat_byte(7); MAX_TRACE_LENGTH];
        let submission = traced_submission(&f, 0, b"buy", &longest);
        assert_eq!(
            submit_now(&mut f.intake, &submission).unwrap().status,
            SubmissionStatus::Accepted
        );
    }

    /// The run of an agent that keeps no trace and outputs `output`.
    pub(crate) fn traceless(output: &[u8]) -> RunHashes {
        RunHashes {
            output_hash: keccak256(output),
            trace_hash: warden_protocol::NO_TRACE,
        }
    }

    #[test]
    fn a_quorum_is_handed_out_once_when_two_thirds_signed() {
        let mut f = fixture();
        assert!(f.send(0, b"buy").unwrap().ready.is_none());
        assert!(f.send(1, b"buy").unwrap().ready.is_none());
        let ready = f.send(2, b"buy").unwrap().ready.unwrap();
        assert_eq!(ready.quorum.signed_weight, U256::from(300u64));
        assert_eq!(
            ready.quorum.non_signers,
            vec![f.keys[3].public_key().to_eip2537()]
        );
        f.assert_signed_by_the_first_three(&ready, b"buy");
        // A late signer does not hand out a second quorum.
        assert!(f.send(3, b"buy").unwrap().ready.is_none());
    }

    #[test]
    fn a_forged_entry_changes_nothing_for_the_genuine_signature() {
        let mut f = fixture();
        // Operator 1 "signs" with operator 0's key: a valid point, the wrong signer. Sent first,
        // over the output operator 1 will sign, and over another output.
        let mut same_output = submission(&f, 1, b"buy");
        same_output.signature = submission(&f, 0, b"buy").signature;
        let mut other_output = submission(&f, 1, b"sell");
        other_output.signature = submission(&f, 0, b"sell").signature;
        for forged in [&same_output, &other_output] {
            assert!(matches!(
                submit_now(&mut f.intake, forged),
                Err(IntakeError::InvalidSignature { .. })
            ));
        }
        f.send(0, b"buy").unwrap();
        let genuine = f.send(1, b"buy").unwrap();
        assert_eq!(genuine.status, SubmissionStatus::Accepted);
        let ready = f
            .send(2, b"buy")
            .unwrap()
            .ready
            .expect("three genuine signatures make the quorum");
        assert!(ready.quorum.non_signer_ids.len() == 1);
        // After the genuine one, a forgery over its output is refused without a verification.
        assert!(matches!(
            submit_now(&mut f.intake, &same_output),
            Err(IntakeError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn a_second_verified_output_is_equivocation_and_the_first_keeps_counting() {
        let mut f = fixture();
        f.send(0, b"buy").unwrap();
        match f.send(0, b"sell") {
            Err(IntakeError::Equivocation(evidence)) => {
                let Equivocation { first, second, .. } = *evidence;
                assert_eq!(first.run.output_hash, keccak256(b"buy"));
                assert_eq!(second.run.output_hash, keccak256(b"sell"));
                assert!(
                    second
                        .signature
                        .check()
                        .unwrap()
                        .verify(
                            f.context.digest(second.run).as_slice(),
                            &f.keys[0].public_key()
                        )
                        .is_ok()
                );
            }
            other => panic!("expected equivocation, got {other:?}"),
        }
        f.send(1, b"buy").unwrap();
        let ready = f
            .send(2, b"buy")
            .unwrap()
            .ready
            .expect("the first signature still counts");
        assert_eq!(ready.run.output_hash, keccak256(b"buy"));
    }

    #[test]
    fn bad_submissions_are_refused_with_their_reason() {
        let mut f = fixture();
        let mut malformed = submission(&f, 0, b"buy");
        malformed.signature = Bytes::from(vec![0u8; 95]);
        assert!(matches!(
            submit_now(&mut f.intake, &malformed),
            Err(IntakeError::MalformedSignature(_))
        ));

        let mut stranger = submission(&f, 0, b"buy");
        stranger.operator_id = B256::repeat_byte(0xee);
        assert!(matches!(
            submit_now(&mut f.intake, &stranger),
            Err(IntakeError::UnknownOperator { .. })
        ));

        let huge = submission(&f, 0, &[0u8; 2048]);
        assert!(matches!(
            submit_now(&mut f.intake, &huge),
            Err(IntakeError::OutputTooLarge {
                size: 2048,
                limit: 1024
            })
        ));

        let mut unknown = submission(&f, 0, b"buy");
        unknown.task_id = 10;
        assert_eq!(
            submit_now(&mut f.intake, &unknown).unwrap_err(),
            IntakeError::UnknownTask(10)
        );

        f.send(0, b"buy").unwrap();
        assert_eq!(
            f.send(0, b"buy").unwrap().status,
            SubmissionStatus::Duplicate
        );
    }

    #[test]
    fn a_quorum_taken_after_a_grace_period_names_the_late_signer() {
        let mut f = fixture();
        for signer in 0..2 {
            assert!(f.send(signer, b"buy").unwrap().ready.is_none());
        }
        let ready = f.send(2, b"buy").unwrap().ready.unwrap();
        assert_eq!(ready.quorum.non_signer_ids.len(), 1);
        assert!(!f.intake.everyone_signed(9, traceless(b"buy")));
        // The fourth signs during the grace period: recorded, and in the quorum taken now.
        assert!(f.send(3, b"buy").unwrap().ready.is_none());
        assert!(f.intake.everyone_signed(9, traceless(b"buy")));
        let now = f.intake.quorum_now(9, traceless(b"buy")).unwrap();
        assert!(now.quorum.non_signer_ids.is_empty());
        assert_eq!(now.quorum.signed_weight, U256::from(400u64));
        // Only a quorum being committed is taken again.
        f.intake.committed(9);
        assert!(f.intake.quorum_now(9, traceless(b"buy")).is_none());
    }

    #[test]
    fn compressed_and_uncompressed_signatures_make_one_quorum() {
        let mut f = fixture();
        f.send(0, b"buy").unwrap();
        for signer in [1, 2] {
            let mut uncompressed = submission(&f, signer, b"buy");
            let signature =
                warden_bls::Signature::from_compressed(&uncompressed.signature).unwrap();
            uncompressed.signature = Bytes::copy_from_slice(&signature.to_uncompressed());
            let recorded = submit_now(&mut f.intake, &uncompressed).unwrap();
            assert_eq!(recorded.status, SubmissionStatus::Accepted);
            if signer == 2 {
                let ready = recorded.ready.expect("three of four signed");
                f.assert_signed_by_the_first_three(&ready, b"buy");
            }
        }
        // The same signature in the other encoding is the same signature.
        let again = submission(&f, 2, b"buy");
        assert_eq!(
            submit_now(&mut f.intake, &again).unwrap().status,
            SubmissionStatus::Duplicate
        );
    }

    /// A point of the curve outside the prime-order subgroup.
    fn point_outside_the_subgroup() -> UncheckedSignature {
        (1u8..)
            .find_map(|x| {
                let mut compressed = [0u8; 96];
                compressed[0] = 0x80;
                compressed[95] = x;
                UncheckedSignature::from_bytes(&compressed).ok()
            })
            .unwrap()
    }

    /// The batch check vouches for subgroup membership only on weighted sums, which a point
    /// with a small-order component survives when its weight is a multiple of that order. That
    /// miss is forced here (a test double for a 1-in-13 event): the quorum's aggregate check
    /// finds the point, drops it, and the operator's genuine signature is taken afterwards.
    #[test]
    fn a_point_outside_the_subgroup_that_slipped_into_the_record_is_dropped_at_the_quorum() {
        let mut f = fixture();
        f.send(0, b"buy").unwrap();
        f.send(1, b"buy").unwrap();
        let genuine = submission(&f, 2, b"buy");
        let Screening::Verify(mut candidate) = f
            .intake
            .screen(&genuine, parse_signature(&genuine.signature).unwrap())
            .unwrap()
        else {
            panic!("operator 2 has nothing on record");
        };
        candidate.check.signature = point_outside_the_subgroup();
        let slipped = f.intake.record(candidate.verified(true).unwrap()).unwrap();
        assert!(
            slipped.ready.is_none(),
            "no quorum with a point outside the subgroup in its aggregate"
        );
        // Operator 2's genuine signature is no longer refused as a second one.
        let ready = f
            .send(2, b"buy")
            .unwrap()
            .ready
            .expect("the genuine signature completes the quorum");
        assert_eq!(ready.quorum.non_signer_ids.len(), 1);
        f.assert_signed_by_the_first_three(&ready, b"buy");
    }

    #[test]
    fn a_task_the_chain_replaced_is_collected_afresh() {
        let mut f = fixture();
        f.send(0, b"buy").unwrap();
        let task = f.context.task;
        assert!(
            !f.intake
                .forget_if_changed(9, task.input_hash, task.reference_block)
        );
        assert!(f.intake.knows(9));
        assert!(
            f.intake
                .forget_if_changed(9, B256::repeat_byte(0xee), task.reference_block)
        );
        assert!(!f.intake.knows(9));
        assert!(!f.intake.forget_if_changed(9, B256::repeat_byte(0xee), 51));
    }

    /// Attack (a reorg or rollback as the trigger): signatures screened and verified for a task
    /// that the chain then replaced by another task with the same id are over the old task's
    /// digest. Recorded into the replacement, they would count towards a quorum whose aggregate
    /// the chain refuses, or, in bulk, crowd its genuine signers out. They are refused instead,
    /// alone and as a batch, and the replacement collects its own.
    #[test]
    fn signatures_for_a_replaced_task_do_not_count_for_its_replacement() {
        let mut f = fixture();
        let screen = |intake: &mut Intake, submission: &SignatureSubmission| {
            let signature = parse_signature(&submission.signature).unwrap();
            match intake.screen(submission, signature).unwrap() {
                Screening::Verify(candidate) => candidate,
                Screening::Known { .. } => panic!("new submissions are verified"),
            }
        };
        let submissions: Vec<SignatureSubmission> = (0..3)
            .map(|signer| submission(&f, signer, b"buy"))
            .collect();
        let alone = screen(&mut f.intake, &submissions[0]);
        let together: Vec<Box<Candidate>> = submissions[1..]
            .iter()
            .map(|submission| screen(&mut f.intake, submission))
            .collect();
        assert!(alone.check.holds());

        // The chain replaces task 9 (same set, another input) while they are being verified.
        let mut replacement = (*f.context).clone();
        replacement.task.input_hash = B256::repeat_byte(0xee);
        assert!(f.intake.forget_if_changed(
            9,
            replacement.task.input_hash,
            replacement.task.reference_block
        ));
        f.intake.add_task(Arc::new(replacement));

        assert_eq!(
            f.intake.record(alone.verified(true).unwrap()).unwrap_err(),
            IntakeError::UnknownTask(9)
        );
        let keys: Vec<PublicKey> = together
            .iter()
            .map(|candidate| candidate.check.public_key)
            .collect();
        let signatures: Vec<&UncheckedSignature> = together
            .iter()
            .map(|candidate| &candidate.check.signature)
            .collect();
        let sum = warden_bls::verify_sum_with_key_sum(
            together[0].check.message.as_slice(),
            &signatures,
            &warden_bls::aggregate_public_keys(&keys.iter().collect::<Vec<_>>()).unwrap(),
        )
        .unwrap();
        let outcomes = f
            .intake
            .record_batch(VerifiedBatch::new(together, sum))
            .unwrap();
        assert!(
            outcomes
                .iter()
                .all(|outcome| outcome.as_ref().unwrap_err() == &IntakeError::UnknownTask(9))
        );
        assert!(!f.intake.everyone_signed(9, traceless(b"buy")));
        assert!(!f.intake.quorum_handed_out(9));
    }

    #[test]
    fn a_failed_commitment_hands_the_quorum_out_again() {
        let mut f = fixture();
        for signer in 0..3 {
            f.send(signer, b"hold").unwrap();
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
            f.send(3, b"hold").unwrap().status,
            SubmissionStatus::AlreadyCommitted
        );
    }
}
