//! CPU cost of one task at the aggregator: parsing and screening every operator's signature,
//! verifying them before they are recorded (all in one batch, as the verifier does when they
//! arrive together: by their sum, bisected by sums where that fails), recording them, and
//! assembling the non-signers and the aggregate for `checkQuorum`. Measured for 10, 100 and
//! 1 000 equal operators, with all of them signing except one in ten (the non-signers
//! `commitOutput` must name):
//!
//! - `intake_per_task`: signatures as operators send them, uncompressed;
//! - `intake_per_task_compressed`: the same in the compressed form older operators send;
//! - `intake_forged_after_genuine`: as `intake_per_task`, then a forged submission for every
//!   operator over the same output (a valid curve point, another key's signature);
//! - `intake_forged_mixed`: the genuine and the forged submissions of every operator in one
//!   batch, each operator's forgery just before its genuine signature;
//! - `intake_forged_spread`: the genuine signatures and the forgeries for the operators that
//!   did not sign, shuffled into one batch: the forgeries share the genuine signatures' layer,
//!   and bisection has to find clean parts worth a quorum.

// Benchmark code: a failed unwrap is a broken benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::cell::RefCell;
use std::sync::Arc;

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use warden_aggregator::intake::{
    Intake, IntakeError, ReadyQuorum, RunHashes, Screening, TaskContext, parse_signature,
};
use warden_aggregator::verifier::verify_and_record;
use warden_aggregator::{KeyTotal, OperatorSet, RegisteredOperator, Threshold};
use warden_bls::SecretKey;
use warden_protocol::api::SignatureSubmission;
use warden_protocol::{OperatorId, TaskAttestation};

/// How the workload's signatures are encoded.
#[derive(Clone, Copy)]
enum Encoding {
    Uncompressed,
    Compressed,
}

struct Workload {
    context: Arc<TaskContext>,
    genuine: Vec<SignatureSubmission>,
    /// For every operator, a submission carrying someone else's signature over its output.
    forged: Vec<SignatureSubmission>,
}

fn setup(operators: usize, encoding: Encoding) -> Workload {
    let mut rng = rand::thread_rng();
    let keys: Vec<SecretKey> = (0..operators)
        .map(|_| SecretKey::random(&mut rng))
        .collect();
    let mut members: Vec<RegisteredOperator> = keys
        .iter()
        .enumerate()
        .map(|(index, key)| RegisteredOperator {
            operator_id: OperatorId::from_public_key(&key.public_key().to_eip2537()),
            address: Address::with_last_byte(index as u8),
            public_key: key.public_key(),
            weight: U256::from(1_000u64),
        })
        .collect();
    members.sort_by_key(|operator| operator.operator_id);
    let set = OperatorSet {
        block: 100,
        total_weight: U256::from(1_000u64 * operators as u64),
        operators: members,
        changed_at: 1,
        key_total: KeyTotal::default(),
    };
    let context = Arc::new(TaskContext {
        task: TaskAttestation {
            chain_id: 31337,
            task_manager: Address::repeat_byte(7),
            task_id: 1,
            agent_id: 1,
            agent_hash: B256::repeat_byte(1),
            verifier: Address::repeat_byte(3),
            input_hash: B256::repeat_byte(2),
            reference_block: 100,
        },
        threshold: Threshold::TWO_THIRDS,
        set: Arc::new(set),
    });
    let output = Bytes::from(vec![0xab; 320]);
    let digest = context.digest(RunHashes {
        output_hash: keccak256(&output),
        trace_hash: warden_protocol::NO_TRACE,
    });
    let encode = |signature: warden_bls::Signature| match encoding {
        Encoding::Uncompressed => Bytes::copy_from_slice(&signature.to_uncompressed()),
        Encoding::Compressed => Bytes::copy_from_slice(&signature.to_compressed()),
    };
    let submission = |key: &SecretKey, signer: &SecretKey| SignatureSubmission {
        task_id: 1,
        operator_id: keccak256(key.public_key().to_eip2537()),
        output: output.clone(),
        signature: encode(signer.sign(digest.as_slice())),
        trace: Vec::new(),
    };
    let signers = operators - operators / 10;
    let genuine = keys
        .iter()
        .take(signers)
        .map(|key| submission(key, key))
        .collect();
    let forger = SecretKey::random(&mut rng);
    let forged = keys.iter().map(|key| submission(key, &forger)).collect();
    Workload {
        context,
        genuine,
        forged,
    }
}

/// Parses, screens, verifies (in one batch) and records `submissions`, as the service does when
/// they arrive together; returns the quorum if one became ready.
fn take(intake: &RefCell<Intake>, submissions: &[&SignatureSubmission]) -> Option<ReadyQuorum> {
    let mut candidates = Vec::with_capacity(submissions.len());
    for submission in submissions {
        let signature = parse_signature(&submission.signature).unwrap();
        match intake.borrow_mut().screen(submission, signature) {
            Ok(Screening::Verify(candidate)) => candidates.push(candidate),
            Ok(Screening::Known { .. }) => {}
            // A forgery over a signature on record: refused without a verification.
            Err(IntakeError::InvalidSignature { .. }) => {}
            Err(other) => panic!("unexpected refusal: {other}"),
        }
    }
    verify_and_record(candidates, || intake.borrow_mut())
        .into_iter()
        .find_map(|outcome| outcome.ok()?.ready)
}

fn fresh_intake(context: &Arc<TaskContext>) -> RefCell<Intake> {
    let mut intake = Intake::new(64 * 1024);
    intake.add_task(Arc::clone(context));
    RefCell::new(intake)
}

/// One benchmark group: `run` takes one task through a fresh intake, for each operator count.
fn measure(
    c: &mut Criterion,
    group_name: &str,
    encoding: Encoding,
    run: impl Fn(&RefCell<Intake>, &Workload) -> Option<ReadyQuorum>,
) {
    let mut group = c.benchmark_group(group_name);
    group.sample_size(10);
    for operators in [10usize, 100, 1_000] {
        let workload = setup(operators, encoding);
        group.bench_with_input(
            BenchmarkId::from_parameter(operators),
            &operators,
            |b, _| {
                b.iter(|| {
                    let intake = fresh_intake(&workload.context);
                    let ready = run(&intake, &workload);
                    assert!(ready.is_some(), "the genuine signatures make the quorum");
                    ready
                });
            },
        );
    }
    group.finish();
}

fn genuine_only(intake: &RefCell<Intake>, workload: &Workload) -> Option<ReadyQuorum> {
    take(intake, &workload.genuine.iter().collect::<Vec<_>>())
}

fn intake(c: &mut Criterion) {
    measure(c, "intake_per_task", Encoding::Uncompressed, genuine_only);
    measure(
        c,
        "intake_per_task_compressed",
        Encoding::Compressed,
        genuine_only,
    );
}

fn forged(c: &mut Criterion) {
    measure(
        c,
        "intake_forged_after_genuine",
        Encoding::Uncompressed,
        |intake, workload| {
            let ready = genuine_only(intake, workload);
            assert!(take(intake, &workload.forged.iter().collect::<Vec<_>>()).is_none());
            ready
        },
    );
    // Forged and genuine alternate: every batch the bisection splits holds both.
    measure(
        c,
        "intake_forged_mixed",
        Encoding::Uncompressed,
        |intake, workload| {
            let mixed: Vec<_> = workload
                .forged
                .iter()
                .zip(
                    workload
                        .genuine
                        .iter()
                        .map(Some)
                        .chain(std::iter::repeat(None)),
                )
                .flat_map(|(forged, genuine)| std::iter::once(forged).chain(genuine))
                .collect();
            take(intake, &mixed)
        },
    );
}

/// The genuine signatures and the forgeries for the operators without one, in an order
/// shuffled once per operator count (a fixed seed, so that every run bisects the same batch).
fn spread(workload: &Workload) -> Vec<&SignatureSubmission> {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let signers = workload.genuine.len();
    let mut batch: Vec<_> = workload
        .genuine
        .iter()
        .chain(&workload.forged[signers..])
        .collect();
    let seed = batch.len() as u64;
    batch.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    batch
}

fn forged_spread(c: &mut Criterion) {
    measure(
        c,
        "intake_forged_spread",
        Encoding::Uncompressed,
        |intake, workload| take(intake, &spread(workload)),
    );
}

criterion_group!(benches, intake, forged, forged_spread);
criterion_main!(benches);
