//! The same task as `benches/intake.rs`, run through eigensdk 2.0's `BlsAggregatorService`
//! (crate `eigen-services-blsaggregation` 2.0.0) for a side-by-side figure: 10, 100 and 1 000
//! operators of equal stake in one quorum, all of them signing except one in ten. Offline: the
//! service reads its operators from eigensdk's own `FakeAvsRegistryService`, no chain.
//!
//! One iteration is one task, timed from `initialize_task` to the aggregated response coming out
//! of the `AggregateReceiver`: the service reads the operator set from the fake registry, verifies
//! each signature on its own (hash to G1 and two pairings, BN254), adds it to the aggregate, and
//! builds the response with the non-signers' keys. The BN254 keys and the signatures over the task
//! response digest are made once, outside the timed loop.
//!
//! The quorum threshold is 90 %, exactly the share that signs, so the response comes out when the
//! last signature is in: eigensdk handles every signature Warden's intake handles. At ⅔ it would
//! answer after two thirds of them and drop the rest.
//!
//! eigensdk's service runs its own tokio tasks (a service loop, one aggregator task per task and a
//! timer task for the post-threshold window, here of zero length) and answers through channels, so
//! the figure is wall time per task on a multi-threaded runtime (one worker per core: 2 on the
//! reference machine), as criterion measures it; that wall time is what compares with
//! `intake_per_task`. eigensdk verifies one task's signatures one after another in that task's
//! aggregator task. Its zero-length window still goes through tokio's timer, which rounds up to
//! the next millisecond: up to about 1 ms of each task is that wait.
//!
//! The fake registry hands the service a copy of the whole operator set for each task, as the
//! chain-backed one would after its RPC calls; here that copy is all the registry costs.

// Benchmark code: a failed unwrap is a broken benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;
use std::time::Duration;

use alloy::primitives::{B256, U256, keccak256};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use eigen_crypto_bls::BlsKeyPair;
use eigen_services_avsregistry::fake_avs_registry_service::FakeAvsRegistryService;
use eigen_services_blsaggregation::bls_agg::{
    AggregateReceiver, BlsAggregatorService, ServiceHandle, TaskMetadata, TaskSignature,
};
use eigen_services_blsaggregation::bls_aggregation_service_response::BlsAggregationServiceResponse;
use eigen_types::avs::TaskIndex;
use eigen_types::operator::operator_id_from_g1_pub_key;
use eigen_types::test::TestOperator;
use futures::future::join_all;
use rand::Rng;

/// The block the fake registry holds the operator set at, and every task's creation block.
const BLOCK: u64 = 100;
/// The only quorum.
const QUORUM: u8 = 0;
/// Signers' share of the stake: all but one in ten, so the response waits for the last one.
const THRESHOLD_PERCENT: u8 = 90;

struct Workload {
    registry: FakeAvsRegistryService,
    digest: B256,
    /// Operator id and signature of each signer.
    signatures: Vec<(B256, eigen_crypto_bls::Signature)>,
}

fn setup(operators: usize) -> Workload {
    let mut rng = rand::thread_rng();
    let members: Vec<TestOperator> = (0..operators)
        .map(|_| {
            // A random non-zero scalar well below the BN254 group order.
            let secret = rng.gen_range(1..u128::MAX).to_string();
            let bls_keypair = BlsKeyPair::new(secret).unwrap();
            TestOperator {
                operator_id: operator_id_from_g1_pub_key(bls_keypair.public_key()).unwrap(),
                stake_per_quorum: HashMap::from([(QUORUM, U256::from(1_000u64))]),
                bls_keypair,
            }
        })
        .collect();
    let digest = keccak256(vec![0xab; 320]);
    let signers = operators - operators / 10;
    let signatures = members
        .iter()
        .take(signers)
        .map(|operator| {
            (
                operator.operator_id,
                operator.bls_keypair.sign_message(&digest.0),
            )
        })
        .collect();
    Workload {
        registry: FakeAvsRegistryService::new(BLOCK, members),
        digest,
        signatures,
    }
}

/// One task on the running service: initialize it, submit every signature, wait for the response.
async fn one_task(
    handle: &ServiceHandle,
    responses: &mut AggregateReceiver,
    workload: &Workload,
    task_index: TaskIndex,
) -> BlsAggregationServiceResponse {
    handle
        .initialize_task(TaskMetadata::new(
            task_index,
            BLOCK,
            vec![QUORUM],
            vec![THRESHOLD_PERCENT],
            Duration::from_secs(600),
        ))
        .await
        .unwrap();
    // Every operator's submission at once, as they arrive from the network; the service takes them
    // one at a time and answers each after verifying it.
    let verdicts = join_all(workload.signatures.iter().map(|(operator_id, signature)| {
        handle.process_signature(TaskSignature::new(
            task_index,
            workload.digest,
            signature.clone(),
            *operator_id,
        ))
    }))
    .await;
    assert!(
        verdicts.iter().all(Result::is_ok),
        "a signature was refused"
    );
    let response = responses.receive_aggregated_response().await.unwrap();
    assert_eq!(response.task_index, task_index);
    response
}

fn eigensdk(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("eigensdk_bls_aggregator_per_task");
    group.sample_size(10);
    for operators in [10usize, 100, 1_000] {
        let workload = setup(operators);
        // One service per operator count, started outside the timed loop as an aggregator process
        // keeps it; each iteration is a new task on it.
        let service = BlsAggregatorService::new(workload.registry.clone());
        let (handle, mut responses) = runtime.block_on(async { service.start() });
        let mut task_index: TaskIndex = 0;
        group.bench_with_input(
            BenchmarkId::from_parameter(operators),
            &operators,
            |b, _| {
                b.iter(|| {
                    task_index += 1;
                    let response =
                        runtime.block_on(one_task(&handle, &mut responses, &workload, task_index));
                    assert_eq!(response.non_signers_pub_keys_g1.len(), operators / 10);
                    response
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, eigensdk);
criterion_main!(benches);
