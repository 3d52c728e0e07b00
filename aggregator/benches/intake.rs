//! CPU cost of one task at the aggregator: screening every operator's signature, verifying each
//! on its own before it is recorded (all in one randomly weighted batch, as the verifier does when
//! they arrive together), recording them, and assembling the non-signers and the aggregate for
//! `checkQuorum`. Measured for 10, 100 and 1 000 equal operators, with all of them signing
//! except one in ten (the non-signers `commitOutput` must name).

// Benchmark code: a failed unwrap is a broken benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use warden_aggregator::intake::{Intake, Screening, TaskContext, parse_signature};
use warden_aggregator::verifier::check_batch;
use warden_aggregator::{OperatorSet, RegisteredOperator, Threshold};
use warden_bls::SecretKey;
use warden_protocol::api::SignatureSubmission;
use warden_protocol::{OperatorId, TaskAttestation};

fn setup(operators: usize) -> (Arc<TaskContext>, Vec<SignatureSubmission>) {
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
    let digest = context.digest(keccak256(&output));
    let signers = operators - operators / 10;
    let submissions = keys
        .iter()
        .take(signers)
        .map(|key| SignatureSubmission {
            task_id: 1,
            operator_id: keccak256(key.public_key().to_eip2537()),
            output: output.clone(),
            signature: Bytes::copy_from_slice(&key.sign(digest.as_slice()).to_compressed()),
        })
        .collect();
    (context, submissions)
}

fn intake(c: &mut Criterion) {
    let mut group = c.benchmark_group("intake_per_task");
    group.sample_size(10);
    for operators in [10usize, 100, 1_000] {
        let (context, submissions) = setup(operators);
        group.bench_with_input(
            BenchmarkId::from_parameter(operators),
            &operators,
            |b, _| {
                b.iter(|| {
                    let mut intake = Intake::new(64 * 1024);
                    intake.add_task(Arc::clone(&context));
                    let candidates: Vec<_> = submissions
                        .iter()
                        .map(|submission| {
                            let signature = parse_signature(&submission.signature).unwrap();
                            match intake.screen(submission, signature).unwrap() {
                                Screening::Verify(candidate) => candidate,
                                Screening::Known { .. } => panic!("nothing is on record yet"),
                            }
                        })
                        .collect();
                    let verdicts = check_batch(candidates.iter().map(|c| &c.check));
                    let mut ready = None;
                    for (candidate, holds) in candidates.into_iter().zip(verdicts) {
                        let recorded = intake.record(candidate.verified(holds).unwrap()).unwrap();
                        ready = ready.or(recorded.ready);
                    }
                    assert!(ready.is_some(), "a quorum must be ready");
                    ready
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, intake);
criterion_main!(benches);
