//! The signature verifier. Every submission's signature is verified before the intake records
//! it, so an unauthenticated request can never conflict with, replace or outvote an operator's
//! genuine signature: it is refused before it touches anything.
//!
//! Checks waiting at the same moment are verified together, grouped by the digest they sign.
//! Honest operators all sign the same digest, so the common case is one batch of valid
//! signatures: it is verified by its plain sum ([`warden_bls::verify_sum_same_message`]), one
//! batched addition per signature and two pairings per batch, and its members are recorded as a
//! unit with that sum as their share of the aggregate ([`Intake::record_batch`]). A batch that
//! fails is bisected by sums, each part that holds recorded as a unit and each single signature
//! checked exactly ([`verify_and_record`], SECURITY.md §10). Batches form by themselves under
//! load: while the workers (one per core) are busy, checks queue, and the next batch takes all of
//! them. The intake's lock is taken only to record or read a task's phase, never while
//! verifying.

use std::collections::HashMap;
use std::ops::DerefMut;
use std::sync::Arc;

use alloy::primitives::B256;
use tokio::sync::{Mutex, Semaphore, mpsc, oneshot};
use warden_bls::{PublicKey, UncheckedSignature};

use crate::intake::{Candidate, Intake, IntakeError, Recorded, VerifiedBatch};

/// Checks waiting beyond this many make submitters wait (backpressure on the HTTP intake).
const QUEUE_CAPACITY: usize = 4_096;

/// One signature to check: `signature` must be `public_key`'s signature on `message`.
#[derive(Debug, Clone, Copy)]
pub struct SignatureCheck {
    pub message: B256,
    pub public_key: PublicKey,
    pub signature: UncheckedSignature,
}

impl SignatureCheck {
    /// Checks this signature alone (a subgroup check and two pairings): the sum of one signature
    /// is that signature.
    pub fn holds(&self) -> bool {
        let alone = [(&self.signature, &self.public_key)];
        warden_bls::verify_sum_same_message(self.message.as_slice(), &alone).is_ok()
    }
}

/// The verifier is gone: the service is shutting down.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the signature verifier has stopped")]
pub struct VerifierStopped;

/// What recording a candidate came to.
pub type Outcome = Result<Recorded, IntakeError>;

struct Job {
    candidate: Box<Candidate>,
    outcome: oneshot::Sender<Outcome>,
}

/// A handle to the verifier's workers; cheap to clone.
#[derive(Debug, Clone)]
pub struct Verifier {
    jobs: mpsc::Sender<Job>,
}

impl Verifier {
    /// Starts the verifier with one worker per core, each batch holding at most `max_batch`
    /// checks, recording into `intake`. Runs until every handle is dropped.
    pub fn start(max_batch: usize, intake: Arc<Mutex<Intake>>) -> Self {
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        let (jobs, queue) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(dispatch(queue, workers, max_batch.max(1), intake));
        Self { jobs }
    }

    /// Verifies the candidate's signature and, if it holds, records it in the intake.
    pub async fn verify_and_record(
        &self,
        candidate: Box<Candidate>,
    ) -> Result<Outcome, VerifierStopped> {
        let (outcome, answer) = oneshot::channel();
        self.jobs
            .send(Job { candidate, outcome })
            .await
            .map_err(|_| VerifierStopped)?;
        answer.await.map_err(|_| VerifierStopped)
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("candidate", &self.candidate)
            .finish()
    }
}

/// Hands batches to the workers: a worker is claimed first, then everything queued by then
/// becomes its batch.
async fn dispatch(
    mut queue: mpsc::Receiver<Job>,
    workers: usize,
    max_batch: usize,
    intake: Arc<Mutex<Intake>>,
) {
    let workers = Arc::new(Semaphore::new(workers));
    loop {
        let Ok(worker) = Arc::clone(&workers).acquire_owned().await else {
            return;
        };
        let Some(first) = queue.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let intake = Arc::clone(&intake);
        tokio::task::spawn_blocking(move || {
            let (candidates, replies): (Vec<_>, Vec<_>) = batch
                .into_iter()
                .map(|job| (job.candidate, job.outcome))
                .unzip();
            // A blocking thread may wait for the async lock; it is held only to record.
            let outcomes = verify_and_record(candidates, || intake.blocking_lock());
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                // A submitter that went away no longer needs its outcome.
                let _ = reply.send(outcome);
            }
            drop(worker);
        });
    }
}

/// Verifies `candidates` and records those whose signatures hold: one outcome per candidate, in
/// order. `lock` gives the intake, and is called only to record or to read the task's phase,
/// never while verifying.
///
/// Candidates of one digest are split into layers in which no operator appears twice (a forged
/// and a genuine submission for one operator never share a sum), and each layer is checked by
/// its sum and recorded as a unit. What a failing layer still holds is then settled against what
/// was recorded, without a pairing: a second signature for an operator on record is refused
/// (BLS signatures are unique). What remains is bisected, each half checked by its sum, each
/// half that holds recorded as a unit, a single signature checked exactly on its own. Once the
/// task's quorum was handed out, bisecting stops: what is unresolved is deferred
/// ([`IntakeError::Unverified`], sent again by honest operators), so that forgeries for the
/// operators that did not sign cost one check, not one each.
pub fn verify_and_record<G: DerefMut<Target = Intake>>(
    candidates: Vec<Box<Candidate>>,
    mut lock: impl FnMut() -> G,
) -> Vec<Outcome> {
    let mut outcomes: Vec<(usize, Outcome)> = Vec::with_capacity(candidates.len());
    let mut failed = Vec::new();
    let mut left_out = Vec::new();
    for layer in layers(candidates.into_iter().enumerate().collect()) {
        match verify_sum(layer) {
            Ok(batch) => {
                let mut members_left_out = Vec::new();
                record_batch(batch, &mut lock, &mut outcomes, &mut members_left_out);
                if !members_left_out.is_empty() {
                    left_out.push(members_left_out);
                }
            }
            Err(layer) => failed.push(layer),
        }
    }
    // Settled against what is on record now; a failed layer left whole is known to hold an
    // invalid signature.
    let mut suspects = Vec::with_capacity(failed.len() + left_out.len());
    {
        let intake = lock();
        for layer in failed {
            let whole = layer.len();
            let rest = settle(&intake, layer, &mut outcomes);
            let known_bad = rest.len() == whole;
            suspects.push((rest, known_bad));
        }
        for layer in left_out {
            for member in settle(&intake, layer, &mut outcomes) {
                suspects.push((vec![member], false));
            }
        }
    }
    for (layer, known_bad) in suspects {
        bisect(layer, known_bad, &mut lock, &mut outcomes);
    }
    outcomes.sort_unstable_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

/// A layer's candidates, each with its position among the candidates first given.
type Layer = Vec<(usize, Box<Candidate>)>;

/// `candidates` split by digest, and each digest's into layers in which every operator appears at
/// most once: its first submission in the first layer, its second in the second, and so on.
fn layers(candidates: Layer) -> Vec<Layer> {
    let mut layers: Vec<Layer> = Vec::new();
    // Per digest: the layers it has, and how many times each operator was seen.
    // Operators are counted by their position in the set the candidate was screened against.
    let mut digests: HashMap<B256, (Vec<usize>, Vec<usize>)> = HashMap::new();
    for (index, candidate) in candidates {
        let (own_layers, seen) = digests.entry(candidate.check.message).or_default();
        if seen.len() <= candidate.position {
            let set_size = candidate.screened.context().set.operators.len();
            seen.resize(set_size.max(candidate.position + 1), 0);
        }
        let depth = &mut seen[candidate.position];
        if *depth == own_layers.len() {
            own_layers.push(layers.len());
            layers.push(Vec::new());
        }
        layers[own_layers[*depth]].push((index, candidate));
        *depth += 1;
    }
    layers
}

/// A layer (one digest, distinct operators) as a batch verified by its sum, with the positions
/// of its members, or back if the sum does not hold. A single candidate is checked exactly: the
/// sum of one signature is that signature.
fn verify_sum(layer: Layer) -> Result<(Vec<usize>, VerifiedBatch), Layer> {
    let Some(message) = layer.first().map(|(_, member)| member.check.message) else {
        return Err(layer);
    };
    let verified = match key_sum(&layer) {
        Some(key_sum) => {
            let signatures: Vec<&UncheckedSignature> = layer
                .iter()
                .map(|(_, member)| &member.check.signature)
                .collect();
            warden_bls::verify_sum_with_key_sum(message.as_slice(), &signatures, &key_sum)
        }
        None => {
            let signers: Vec<warden_bls::Signer<'_>> = layer
                .iter()
                .map(|(_, member)| (&member.check.signature, &member.check.public_key))
                .collect();
            warden_bls::verify_sum_same_message(message.as_slice(), &signers)
        }
    };
    match verified {
        Ok(sum) => {
            let (indices, members) = layer.into_iter().unzip();
            Ok((indices, VerifiedBatch::new(members, sum)))
        }
        Err(_) => Err(layer),
    }
}

/// The sum of the keys of a layer of two or more candidates screened against one operator set,
/// from that set ([`crate::OperatorSet::key_sum`]: the set's total less the keys left out, when
/// the layer holds most of the set); `None` otherwise, the keys then being summed one by one.
fn key_sum(layer: &Layer) -> Option<PublicKey> {
    let [(_, first), _, ..] = layer.as_slice() else {
        return None;
    };
    let context = first.screened.context();
    if !layer
        .iter()
        .all(|(_, member)| Arc::ptr_eq(member.screened.context(), context))
    {
        return None;
    }
    let positions: Vec<usize> = layer.iter().map(|(_, member)| member.position).collect();
    context.set.key_sum(&positions)
}

/// Records a verified batch as a unit. If the intake cannot take it whole (an operator of it was
/// recorded meanwhile): a single signature, checked exactly, is recorded on its own (a duplicate,
/// or equivocation evidence); the members of a larger batch go to `left_out`, to be settled or
/// checked one by one.
fn record_batch<G: DerefMut<Target = Intake>>(
    (indices, batch): (Vec<usize>, VerifiedBatch),
    lock: &mut impl FnMut() -> G,
    outcomes: &mut Vec<(usize, Outcome)>,
    left_out: &mut Layer,
) {
    let mut intake = lock();
    match intake.record_batch(batch) {
        Ok(recorded) => outcomes.extend(indices.into_iter().zip(recorded)),
        Err(members) if members.len() == 1 => {
            for (index, member) in indices.into_iter().zip(members) {
                let outcome = member
                    .verified(true)
                    .and_then(|verified| intake.record(verified));
                outcomes.push((index, outcome));
            }
        }
        Err(members) => left_out.extend(indices.into_iter().zip(members)),
    }
}

/// `layer` less what the record settles without a pairing (see [`Intake::settle`]), whose
/// outcomes go to `outcomes`.
fn settle(intake: &Intake, layer: Layer, outcomes: &mut Vec<(usize, Outcome)>) -> Layer {
    layer
        .into_iter()
        .filter_map(|(index, candidate)| match intake.settle(&candidate) {
            Some(outcome) => {
                outcomes.push((index, outcome));
                None
            }
            None => Some((index, candidate)),
        })
        .collect()
}

/// Resolves a layer that is not known to be valid: records its valid parts, refuses its invalid
/// signatures, and defers the rest once the task's quorum is out. `known_bad` says the caller
/// established the layer holds an invalid signature, which saves checking it whole. Returns
/// whether the layer held anything not recorded.
fn bisect<G: DerefMut<Target = Intake>>(
    layer: Layer,
    known_bad: bool,
    lock: &mut impl FnMut() -> G,
    outcomes: &mut Vec<(usize, Outcome)>,
) -> bool {
    let Some((_, first)) = layer.first() else {
        return false;
    };
    let task_id = first.task_id;
    if layer.len() > 1 && lock().quorum_handed_out(task_id) {
        outcomes.extend(layer.into_iter().map(|(index, candidate)| {
            (
                index,
                Err(IntakeError::Unverified {
                    task_id,
                    operator_id: candidate.operator_id,
                }),
            )
        }));
        return true;
    }
    let layer = if known_bad {
        layer
    } else {
        match verify_sum(layer) {
            Ok(batch) => {
                let mut left_out = Vec::new();
                record_batch(batch, lock, outcomes, &mut left_out);
                if left_out.is_empty() {
                    return false;
                }
                // Verified as a sum, but one of them got on record meanwhile: each on its own.
                let rest = settle(&lock(), left_out, outcomes);
                let mut any = false;
                for member in rest {
                    any |= bisect(vec![member], false, lock, outcomes);
                }
                return any;
            }
            Err(layer) => layer,
        }
    };
    if layer.len() == 1 {
        // A single signature whose exact check failed, here or as the only suspect left.
        outcomes.extend(
            layer
                .into_iter()
                .map(|(index, candidate)| (index, Err(candidate.invalid()))),
        );
        return true;
    }
    let mut left = layer;
    let right = left.split_off(left.len() / 2);
    let left_had_bad = bisect(left, false, lock, outcomes);
    // This layer holds an invalid signature: with the left half clean, it is on the right, and
    // the right half needs no check as a whole.
    let right_had_bad = bisect(right, !left_had_bad, lock, outcomes);
    left_had_bad || right_had_bad
}
#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use alloy::primitives::{Bytes, keccak256};
    use warden_bls::{SecretKey, Signature, fast_aggregate_verify};
    use warden_protocol::api::{SignatureSubmission, SubmissionStatus};

    use super::*;
    use crate::intake::tests::traceless;
    use crate::intake::{ReadyQuorum, Screening};

    /// Two outputs signed in one batch, a forgery among the signatures of one of them: each
    /// digest is its own layer, and only the forgery is refused.
    #[test]
    fn a_batch_of_two_outputs_gets_one_outcome_per_submission() {
        let mut rng = rand::thread_rng();
        let keys: Vec<SecretKey> = (0..6).map(|_| SecretKey::random(&mut rng)).collect();
        let (mut intake, context) = intake_for(&keys);
        let candidates = (0..6)
            .map(|i| {
                let output: &[u8] = if i % 2 == 0 { b"buy" } else { b"sell" };
                // Operator 2 carries operator 3's signature.
                let signer = if i == 2 { &keys[3] } else { &keys[i] };
                candidate(
                    &mut intake,
                    &keys,
                    i,
                    output,
                    genuine(&context, signer, output),
                )
            })
            .collect();
        let intake = RefCell::new(intake);
        let outcomes = run(&intake, candidates);
        for (index, outcome) in outcomes.iter().enumerate() {
            assert_eq!(
                outcome.is_ok(),
                index != 2,
                "submission {index}: {outcome:?}"
            );
        }
    }

    /// A fresh intake holding task 9 over `keys`.
    fn intake_for(keys: &[SecretKey]) -> (Intake, Arc<crate::intake::TaskContext>) {
        let context = crate::intake::tests::context_for(keys);
        let mut intake = Intake::new(1024);
        intake.add_task(Arc::clone(&context));
        (intake, context)
    }

    /// Operator `operator`'s submission over `output` carrying `signature`, screened.
    fn candidate(
        intake: &mut Intake,
        keys: &[SecretKey],
        operator: usize,
        output: &[u8],
        signature: Signature,
    ) -> Box<Candidate> {
        let submission = SignatureSubmission {
            task_id: 9,
            operator_id: keccak256(keys[operator].public_key().to_eip2537()),
            output: Bytes::copy_from_slice(output),
            signature: Bytes::copy_from_slice(&signature.to_uncompressed()),
            trace: Vec::new(),
        };
        match intake.screen(&submission, signature.into()) {
            Ok(Screening::Verify(candidate)) => candidate,
            other => panic!("expected a candidate, got {other:?}"),
        }
    }

    /// The genuine submissions over "buy" of the operators in `range`, screened.
    #[expect(
        clippy::vec_box,
        reason = "candidates stay boxed from screening to recording"
    )]
    fn genuine_candidates(
        intake: &mut Intake,
        context: &crate::intake::TaskContext,
        keys: &[SecretKey],
        range: std::ops::Range<usize>,
    ) -> Vec<Box<Candidate>> {
        range
            .map(|i| candidate(intake, keys, i, b"buy", genuine(context, &keys[i], b"buy")))
            .collect()
    }

    fn genuine(context: &crate::intake::TaskContext, key: &SecretKey, output: &[u8]) -> Signature {
        key.sign(context.digest(traceless(output)).as_slice())
    }

    #[expect(
        clippy::vec_box,
        reason = "candidates stay boxed from screening to recording"
    )]
    fn run(intake: &RefCell<Intake>, candidates: Vec<Box<Candidate>>) -> Vec<Outcome> {
        verify_and_record(candidates, || intake.borrow_mut())
    }

    /// The quorum handed out among `outcomes`, over `output`: exactly one.
    fn the_quorum(outcomes: &[Outcome], output: &[u8]) -> ReadyQuorum {
        let mut handed_out = outcomes
            .iter()
            .filter_map(|outcome| outcome.as_ref().ok()?.ready.clone());
        let ready = handed_out.next().expect("a quorum");
        assert!(handed_out.next().is_none(), "one quorum per task");
        assert_eq!(ready.output.as_ref(), output);
        ready
    }

    fn assert_aggregate_verifies(
        ready: &ReadyQuorum,
        context: &crate::intake::TaskContext,
        keys: &[SecretKey],
    ) {
        let signers: Vec<PublicKey> = keys
            .iter()
            .map(SecretKey::public_key)
            .filter(|key| !ready.quorum.non_signers.contains(&key.to_eip2537()))
            .collect();
        fast_aggregate_verify(
            &ready.quorum.aggregate_signature,
            context.digest(ready.run).as_slice(),
            &signers.iter().collect::<Vec<_>>(),
        )
        .expect("the quorum's aggregate verifies");
    }

    #[test]
    fn genuine_signatures_arriving_together_are_recorded_as_one_unit() {
        let mut rng = rand::thread_rng();
        let keys: Vec<SecretKey> = (0..6).map(|_| SecretKey::random(&mut rng)).collect();
        let (mut intake, context) = intake_for(&keys);
        let candidates = genuine_candidates(&mut intake, &context, &keys, 0..5);
        let intake = RefCell::new(intake);
        let outcomes = run(&intake, candidates);
        for outcome in &outcomes {
            assert_eq!(outcome.as_ref().unwrap().status, SubmissionStatus::Accepted);
        }
        let ready = the_quorum(&outcomes, b"buy");
        assert_eq!(ready.quorum.non_signer_ids.len(), 1);
        assert_aggregate_verifies(&ready, &context, &keys);
    }

    #[test]
    fn a_forgery_in_a_batch_is_refused_and_the_genuine_signatures_are_recorded() {
        let mut rng = rand::thread_rng();
        let keys: Vec<SecretKey> = (0..6).map(|_| SecretKey::random(&mut rng)).collect();
        let (mut intake, context) = intake_for(&keys);
        let forger = SecretKey::random(&mut rng);
        let candidates = (0..6)
            .map(|i| {
                let signer = if i == 2 { &forger } else { &keys[i] };
                candidate(
                    &mut intake,
                    &keys,
                    i,
                    b"buy",
                    genuine(&context, signer, b"buy"),
                )
            })
            .collect();
        let intake = RefCell::new(intake);
        let outcomes = run(&intake, candidates);
        assert!(matches!(
            outcomes[2],
            Err(IntakeError::InvalidSignature { .. })
        ));
        let ready = the_quorum(&outcomes, b"buy");
        assert_eq!(ready.quorum.non_signer_ids.len(), 1);
        assert_aggregate_verifies(&ready, &context, &keys);
    }

    /// Whoever saw operators 0 and 1's genuine signatures shifts a point from one to the other:
    /// the sum check cannot tell, so the pair counts as a unit, and the quorum's aggregate is
    /// still the genuine one. Operator 1's genuine signature, sent afterwards, adds nothing.
    #[test]
    fn a_shifted_pair_of_signatures_counts_only_as_a_unit() {
        let mut rng = rand::thread_rng();
        let keys: Vec<SecretKey> = (0..4).map(|_| SecretKey::random(&mut rng)).collect();
        let (mut intake, context) = intake_for(&keys);
        let (delta, minus_delta) = shift_pair(context.digest(traceless(b"buy")));
        let shift = |signature: Signature, by: &Signature| {
            warden_bls::aggregate_signatures(&[&signature, by]).unwrap()
        };
        let candidates = vec![
            candidate(
                &mut intake,
                &keys,
                0,
                b"buy",
                shift(genuine(&context, &keys[0], b"buy"), &delta),
            ),
            candidate(
                &mut intake,
                &keys,
                1,
                b"buy",
                shift(genuine(&context, &keys[1], b"buy"), &minus_delta),
            ),
            candidate(
                &mut intake,
                &keys,
                2,
                b"buy",
                genuine(&context, &keys[2], b"buy"),
            ),
        ];
        let intake = RefCell::new(intake);
        let outcomes = run(&intake, candidates);
        let ready = the_quorum(&outcomes, b"buy");
        assert_aggregate_verifies(&ready, &context, &keys);
        let late = candidate(
            &mut intake.borrow_mut(),
            &keys,
            3,
            b"buy",
            genuine(&context, &keys[3], b"buy"),
        );
        assert!(run(&intake, vec![late])[0].is_ok());
        let now = intake
            .borrow_mut()
            .quorum_now(9, traceless(b"buy"))
            .unwrap();
        assert!(now.quorum.non_signer_ids.is_empty());
        assert_aggregate_verifies(&now, &context, &keys);
    }

    /// The shifted pair again, but operator 1's genuine signature is recorded while the pair is
    /// being verified: recording the batch whole would count operator 1 twice and leave the sum
    /// off by the shift, so the batch is verified one by one instead, and both shifted
    /// signatures are refused.
    #[test]
    fn a_shifted_pair_cannot_split_around_a_signature_on_record() {
        let mut rng = rand::thread_rng();
        let keys: Vec<SecretKey> = (0..4).map(|_| SecretKey::random(&mut rng)).collect();
        let (mut intake, context) = intake_for(&keys);
        let (delta, minus_delta) = shift_pair(context.digest(traceless(b"buy")));
        let shifted_0 =
            warden_bls::aggregate_signatures(&[&genuine(&context, &keys[0], b"buy"), &delta])
                .unwrap();
        let shifted_1 =
            warden_bls::aggregate_signatures(&[&genuine(&context, &keys[1], b"buy"), &minus_delta])
                .unwrap();
        // All screened before anything is recorded, as concurrent submissions are.
        let batch = vec![
            candidate(&mut intake, &keys, 0, b"buy", shifted_0),
            candidate(&mut intake, &keys, 1, b"buy", shifted_1),
            candidate(
                &mut intake,
                &keys,
                2,
                b"buy",
                genuine(&context, &keys[2], b"buy"),
            ),
        ];
        let first = candidate(
            &mut intake,
            &keys,
            1,
            b"buy",
            genuine(&context, &keys[1], b"buy"),
        );
        let intake = RefCell::new(intake);
        assert!(run(&intake, vec![first])[0].is_ok());
        let outcomes = run(&intake, batch);
        assert!(matches!(
            outcomes[0],
            Err(IntakeError::InvalidSignature { .. })
        ));
        assert!(matches!(
            outcomes[1],
            Err(IntakeError::InvalidSignature { .. })
        ));
        assert!(outcomes[2].is_ok());
        let last = candidate(
            &mut intake.borrow_mut(),
            &keys,
            3,
            b"buy",
            genuine(&context, &keys[3], b"buy"),
        );
        let outcomes = run(&intake, vec![last]);
        let ready = the_quorum(&outcomes, b"buy");
        assert_eq!(ready.quorum.non_signer_ids.len(), 1);
        assert_aggregate_verifies(&ready, &context, &keys);
    }

    /// A forged and a genuine submission for every operator, the forgery first, all in one
    /// batch: the genuine signatures share a layer, whose sum verifies; the forgeries for the
    /// operators now on record are refused without a pairing, and the one left, for the operator
    /// that did not sign, with one.
    #[test]
    fn forgeries_mixed_with_genuine_signatures_do_not_keep_the_genuine_ones_out() {
        let mut rng = rand::thread_rng();
        let keys: Vec<SecretKey> = (0..6).map(|_| SecretKey::random(&mut rng)).collect();
        let (mut intake, context) = intake_for(&keys);
        let forger = SecretKey::random(&mut rng);
        let mut candidates = Vec::new();
        for i in 0..6 {
            candidates.push(candidate(
                &mut intake,
                &keys,
                i,
                b"buy",
                genuine(&context, &forger, b"buy"),
            ));
            if i != 5 {
                candidates.push(candidate(
                    &mut intake,
                    &keys,
                    i,
                    b"buy",
                    genuine(&context, &keys[i], b"buy"),
                ));
            }
        }
        let intake = RefCell::new(intake);
        let outcomes = run(&intake, candidates);
        for (index, outcome) in outcomes.iter().enumerate() {
            if index % 2 == 0 {
                assert!(
                    matches!(outcome, Err(IntakeError::InvalidSignature { .. })),
                    "forgery {index}: {outcome:?}"
                );
            } else {
                assert!(outcome.is_ok(), "genuine {index}: {outcome:?}");
            }
        }
        let ready = the_quorum(&outcomes, b"buy");
        assert_eq!(ready.quorum.non_signer_ids.len(), 1);
        assert_aggregate_verifies(&ready, &context, &keys);
    }

    /// Once the quorum is out, a batch of forgeries for the operators that have not signed is
    /// deferred as a whole after one failed check, not sorted out one pairing each; a late signer
    /// is still verified and recorded, in the same batch as forgeries or sent again alone.
    #[test]
    fn forgeries_after_the_quorum_are_deferred_and_late_signers_still_get_in() {
        let mut rng = rand::thread_rng();
        let keys: Vec<SecretKey> = (0..9).map(|_| SecretKey::random(&mut rng)).collect();
        let (mut intake, context) = intake_for(&keys);
        let genuine_batch = genuine_candidates(&mut intake, &context, &keys, 0..6);
        let intake = RefCell::new(intake);
        let ready = the_quorum(&run(&intake, genuine_batch), b"buy");
        assert_eq!(ready.quorum.non_signer_ids.len(), 3);
        let forger = SecretKey::random(&mut rng);
        let forged = (6..9)
            .map(|i| {
                candidate(
                    &mut intake.borrow_mut(),
                    &keys,
                    i,
                    b"buy",
                    genuine(&context, &forger, b"buy"),
                )
            })
            .collect();
        for outcome in run(&intake, forged) {
            assert!(
                matches!(outcome, Err(IntakeError::Unverified { .. })),
                "{outcome:?}"
            );
        }
        // Operator 6's genuine signature beside two more forgeries: it has a layer of its own.
        let mixed = {
            let mut intake = intake.borrow_mut();
            vec![
                candidate(
                    &mut intake,
                    &keys,
                    7,
                    b"buy",
                    genuine(&context, &forger, b"buy"),
                ),
                candidate(
                    &mut intake,
                    &keys,
                    6,
                    b"buy",
                    genuine(&context, &forger, b"buy"),
                ),
                candidate(
                    &mut intake,
                    &keys,
                    6,
                    b"buy",
                    genuine(&context, &keys[6], b"buy"),
                ),
            ]
        };
        let outcomes = run(&intake, mixed);
        assert!(outcomes[2].is_ok(), "{:?}", outcomes[2]);
        assert!(matches!(
            outcomes[1],
            Err(IntakeError::InvalidSignature { .. })
        ));
        assert!(matches!(
            outcomes[0],
            Err(IntakeError::InvalidSignature { .. })
        ));
        let late = candidate(
            &mut intake.borrow_mut(),
            &keys,
            7,
            b"buy",
            genuine(&context, &keys[7], b"buy"),
        );
        assert!(run(&intake, vec![late])[0].is_ok());
        let now = intake
            .borrow_mut()
            .quorum_now(9, traceless(b"buy"))
            .unwrap();
        assert_eq!(now.quorum.non_signer_ids.len(), 1);
        assert_aggregate_verifies(&now, &context, &keys);
    }

    /// The signatures on `digest` of the secret keys 5 and `-5`: a point `δ` and its negation.
    fn shift_pair(digest: B256) -> (Signature, Signature) {
        let mut five = [0u8; 32];
        five[31] = 5;
        // The group order less 5.
        let minus_five =
            alloy::hex!("73eda753299d7d483339d80809a1d80553bda402fffe5bfefffffffefffffffc");
        let sign = |scalar: &[u8]| {
            SecretKey::from_bytes(scalar)
                .unwrap()
                .sign(digest.as_slice())
        };
        (sign(&five), sign(&minus_five))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_submissions_each_get_their_own_outcome() {
        let mut rng = rand::thread_rng();
        let keys: Vec<SecretKey> = (0..24).map(|_| SecretKey::random(&mut rng)).collect();
        let (intake, context) = intake_for(&keys);
        let intake = Arc::new(Mutex::new(intake));
        let verifier = Verifier::start(64, Arc::clone(&intake));
        let mut pending = Vec::new();
        for index in 0..keys.len() {
            // Every third carries the next operator's signature.
            let signer = if index % 3 == 2 {
                &keys[(index + 1) % keys.len()]
            } else {
                &keys[index]
            };
            let job = candidate(
                &mut *intake.lock().await,
                &keys,
                index,
                b"buy",
                genuine(&context, signer, b"buy"),
            );
            let verifier = verifier.clone();
            pending.push(tokio::spawn(async move {
                verifier.verify_and_record(job).await
            }));
        }
        for (index, job) in pending.into_iter().enumerate() {
            let outcome = job.await.unwrap().unwrap();
            assert_eq!(
                outcome.is_ok(),
                index % 3 != 2,
                "submission {index}: {outcome:?}"
            );
        }
    }
}
