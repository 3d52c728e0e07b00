//! An operator running a large agent, loaded from a WNET model file pinned by its agent hash (as
//! `warden-operator run` loads it), signs a task's output together with the run's activation
//! trace: the signature is over the trace's hash, and the slashing-protection record, the
//! submission and the signature sent again all carry the trace, as does an export of the record,
//! which another node's import accepts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use alloy::primitives::{B256, U256, keccak256};
use alloy::providers::{Provider, ProviderBuilder};
use warden_agent::features::PRICE_MATRIX_WIDTH;
use warden_agent::network::Network;
use warden_agent::{Agent, AgentInput, NetworkAgent, Params, network_agent_hash};
use warden_bindings::WardenTaskManager;
use warden_bindings::task_manager::WardenTaskManager::AgentConfig;
use warden_bindings::{MlpVerifierFactory, WardenVault};
use warden_deployer::app::deploy_verifier;
use warden_devnet::{Devnet, DevnetConfig};
use warden_operator::node::{NodeConfig, OperatorNode};
use warden_operator::slashing_protection::{RecordOwner, export, import};
use warden_protocol::{NO_TRACE, TaskAttestation, trace_hash};
use warden_runtime::agent::load_agent;
use warden_runtime::config::{AgentSection, ModelSource};
use warden_runtime::node_api::SyncProgress;
use warden_runtime::rpc::RetryPolicy;
use warden_runtime::service::ServiceRuntime;
use warden_store::operator::SlashingProtection;
use warden_store::testing::TestDatabase;
use warden_testkit::free_port;

/// A development account the deployment leaves unused: the second agent's vault owner.
const SECOND_VAULT_OWNER: usize = 5;

/// Registers the large agent of `network` (reference parameters for the deployment's router)
/// beside the deployment's own, with a vault of its own and the same windows; its agent id.
async fn register_large_agent(devnet: &Devnet, network: &Network, agent_hash: B256) -> u64 {
    let deployment = devnet.deployment();
    let app = &devnet.summary().deployment.app;
    let params = Params::reference(devnet.summary().deployment.market.router);
    let deployer =
        warden_txm::signing_provider(deployment.endpoint_url(), deployment.deployer().clone());
    let factory = MlpVerifierFactory::new(app.verifier_factory, &deployer);
    let agent = NetworkAgent::new(network.clone(), params).unwrap();
    assert_eq!(agent.agent_hash(), agent_hash);
    let verifier = deploy_verifier(&factory, &agent, params.router)
        .await
        .unwrap();
    assert_eq!(
        factory.verifierOf(agent_hash).call().await.unwrap(),
        verifier,
        "the factory derives the Rust agent's hash"
    );

    let owner_key = deployment.dev_key(SECOND_VAULT_OWNER).unwrap();
    let owner_address = owner_key.address();
    let owner = warden_txm::signing_provider(deployment.endpoint_url(), owner_key);
    let stake_bound = WardenVault::new(app.vault, &owner)
        .stakeBoundBps()
        .call()
        .await
        .unwrap();
    let vault = WardenVault::deploy(owner.clone(), owner_address, app.task_manager, stake_bound)
        .await
        .unwrap();
    let task_manager = WardenTaskManager::new(app.task_manager, &owner);
    let existing = task_manager.getAgent(app.agent_id).call().await.unwrap();
    let registered = task_manager
        .registerAgent(AgentConfig {
            agentHash: agent_hash,
            verifier,
            vault: *vault.address(),
            ..existing
        })
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    registered
        .decoded_log::<WardenTaskManager::AgentRegistered>()
        .expect("the large agent is registered")
        .agentId
}

#[tokio::test]
async fn an_operator_running_a_large_agent_signs_over_its_trace() {
    let devnet = Devnet::start(DevnetConfig::new(1)).await.unwrap();
    let deployment = devnet.deployment();
    let app = devnet.summary().deployment.app.clone();
    let router = devnet.summary().deployment.market.router;

    // 256 → 16 → 16 (residual) → 3 in chunks of 4: a trace of 9 chunk hashes.
    let network = Network::generate(PRICE_MATRIX_WIDTH, &[16, 16, 3], &[1], 4, 14).unwrap();
    let agent_hash = network_agent_hash(network.hash(), &Params::reference(router));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.wnet");
    std::fs::write(&path, network.as_bytes()).unwrap();
    let agent = load_agent(&AgentSection {
        model: Some(ModelSource::Path(path)),
        agent_hash: Some(agent_hash),
        ..AgentSection::reference(router)
    })
    .await
    .unwrap();
    let agent_id = register_large_agent(&devnet, &network, agent_hash).await;

    let db = TestDatabase::sqlite();
    let runtime =
        ServiceRuntime::start(deployment.endpoint_url(), RetryPolicy::default(), db.url())
            .await
            .unwrap();
    let handle = deployment.operators()[0].clone();
    let keys = Arc::new(handle.keys().unwrap());
    // The node only signs here; nothing is sent.
    let nowhere = format!("http://127.0.0.1:{}", free_port().unwrap())
        .parse()
        .unwrap();
    let node = OperatorNode::new(
        NodeConfig::new(app.task_manager, nowhere),
        Arc::clone(&keys),
        Arc::clone(&agent),
        &runtime,
        Arc::new(SyncProgress::default()),
    )
    .unwrap();

    let chain = ProviderBuilder::new().connect_http(deployment.endpoint_url());
    let chain_id = chain.get_chain_id().await.unwrap();
    let reference_block = u32::try_from(chain.get_block_number().await.unwrap()).unwrap();
    let input = AgentInput {
        priceHistory: (0..16u64)
            .map(|i| U256::from(2_000_000u64 + 4_000 * i) * U256::from(1_000_000_000_000u64))
            .collect(),
        ..Default::default()
    };
    let encoded = input.encode();
    let opened = WardenTaskManager::TaskOpened {
        taskId: 1_000,
        agentId: agent_id,
        referenceBlock: reference_block,
        inputHash: keccak256(&encoded),
        input: encoded,
    };
    let run = agent.decide_traced(&input).unwrap();
    assert_eq!(run.trace.len(), network.chunk_count());
    assert!(!run.trace.is_empty());

    let signed = node
        .sign_task(chain_id, &opened)
        .await
        .unwrap()
        .expect("the node signs for the agent it runs");
    assert_eq!(signed.output_hash, run.action.output_hash());
    assert_eq!(signed.submission.output, run.action.encode());
    assert_eq!(signed.submission.trace, run.trace);
    let sent = serde_json::to_value(&signed.submission).unwrap();
    assert_eq!(
        sent["trace"].as_array().map(Vec::len),
        Some(run.trace.len())
    );

    // The signature binds the trace's hash, not the empty trace's.
    let record = node
        .protection()
        .find(signed.signing_root)
        .await
        .unwrap()
        .expect("the signature is on record");
    assert_eq!(record.trace, run.trace);
    let verifier = WardenTaskManager::new(app.task_manager, &chain)
        .getAgent(agent_id)
        .call()
        .await
        .unwrap()
        .verifier;
    let task = TaskAttestation {
        chain_id,
        task_manager: app.task_manager,
        task_id: 1_000,
        agent_id,
        agent_hash,
        verifier,
        input_hash: opened.inputHash,
        reference_block,
    };
    assert_eq!(record.signing_root(), task.signing_root());
    let signature = warden_bls::Signature::from_compressed(&record.signature).unwrap();
    assert_eq!(
        signed.submission.signature.as_ref(),
        signature.to_uncompressed().as_slice()
    );
    let public_key = keys.bls.public_key();
    signature
        .verify(
            task.with_output(signed.output_hash, trace_hash(&run.trace))
                .digest()
                .as_slice(),
            &public_key,
        )
        .unwrap();
    assert!(
        signature
            .verify(
                task.with_output(signed.output_hash, NO_TRACE)
                    .digest()
                    .as_slice(),
                &public_key
            )
            .is_err()
    );

    // Asked again (a restart, a reorg back), the node sends what it recorded, trace and all.
    let again = node.sign_task(chain_id, &opened).await.unwrap().unwrap();
    assert_eq!(again.submission, signed.submission);

    // The record moves to another machine with its trace, and the signature checks there.
    let owner = RecordOwner {
        chain_id,
        task_manager: app.task_manager,
        public_key,
    };
    let file = export(node.protection(), &owner).await.unwrap();
    assert_eq!(file.data[0].signed_tasks[0].trace, run.trace);
    let target = TestDatabase::sqlite();
    let moved = SlashingProtection::new(target.open().await, owner.operator_id());
    let summary = import(&moved, &owner, &file).await.unwrap();
    assert_eq!(summary.added, 1);
    assert_eq!(
        moved
            .find(signed.signing_root)
            .await
            .unwrap()
            .unwrap()
            .trace,
        run.trace
    );
}
