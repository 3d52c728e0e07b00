//! Large agents end to end (issue 14): 4 equal operators run a generated int8 network and sign its
//! activation trace with its action; three of them lie about the run. For each of the three lies
//! (one neuron changed and carried through, the honest trace with another action, a trace
//! inconsistent with the action) the challenger finds the first wrong step of the committed run
//! and proves it in one `challengeTrace` transaction; the three liars are slashed, the honest
//! operator never. A 10 M-parameter network works the same way.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use alloy::primitives::Address;
use alloy::providers::ProviderBuilder;
use warden_agent::Preset;
use warden_bindings::eigenlayer::DelegationManager;
use warden_deployer::app::AgentModel;
use warden_devnet::byzantine::Lie;
use warden_devnet::ticks::TickConfig;
use warden_devnet::{Devnet, DevnetConfig, Summary};

/// The proof of one step must fit a transaction with room to spare (the budget).
const ONE_STEP_GAS_BUDGET: u64 = 3_000_000;

/// One task of a devnet running `preset`, whose first three operators tell `lie`.
async fn lie_once(preset: Preset, lie: Lie) -> (Devnet, Summary) {
    let mut config = DevnetConfig::new(4);
    config.deployment.model = AgentModel::Network(preset);
    let mut devnet = Devnet::start(config).await.unwrap();
    let mut ticks = TickConfig::new(1);
    ticks.byzantine_operators = vec![0, 1, 2];
    ticks.lie = lie;
    ticks.timeout = Duration::from_secs(240);
    devnet
        .run_ticks(ticks, |line| eprintln!("{line}"))
        .await
        .unwrap();
    let summary = devnet.summary().clone();
    (devnet, summary)
}

/// The task was proven fraudulent in one transaction within the budget, the three liars were
/// slashed for it and the honest operator kept its stake.
async fn assert_proven_and_slashed(devnet: &Devnet, summary: &Summary, lie: Lie) {
    let task = &summary.tasks[0];
    assert_eq!(task.state, "fraudulent", "{}: {task:?}", lie.name());
    assert_eq!(task.execute_gas, None, "a fraudulent task never executes");
    assert_eq!(summary.challenges.upheld, 1, "{:?}", summary.challenges);
    assert_eq!(summary.challenges.rejected, 0, "{:?}", summary.challenges);
    let challenge = &summary.challenges.list[0];
    assert_eq!(challenge.task, task.id);
    let gas = challenge.gas.expect("the challenge's receipt");
    assert!(
        gas <= ONE_STEP_GAS_BUDGET,
        "{}: the one-step proof took {gas} gas",
        lie.name()
    );
    eprintln!(
        "{}: proven in one transaction of {gas} gas, {} blocks after the commitment",
        lie.name(),
        challenge.blocks_from_commit
    );

    let liars: Vec<Address> = summary.deployment.operators[..3]
        .iter()
        .map(|operator| operator.address)
        .collect();
    let mut slashed: Vec<Address> = summary.slashed.iter().map(|s| s.operator).collect();
    slashed.sort();
    let mut expected = liars;
    expected.sort();
    assert_eq!(slashed, expected, "{}: {:?}", lie.name(), summary.slashed);
    assert!(summary.slashed.iter().all(|slash| slash.reason == "fraud"));

    let provider =
        ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
    let delegation = DelegationManager::new(
        summary.deployment.eigenlayer.contracts.delegation_manager,
        &provider,
    );
    let shares = delegation
        .getOperatorShares(
            summary.deployment.operators[3].address,
            vec![summary.deployment.eigenlayer.contracts.strategy],
        )
        .call()
        .await
        .unwrap();
    assert_eq!(
        shares[0],
        DevnetConfig::new(4).deployment.stake_per_operator,
        "the honest operator is never slashed"
    );
}

#[tokio::test]
async fn each_lie_about_a_large_agent_s_run_is_proven_in_one_transaction() {
    for lie in Lie::ALL {
        let (devnet, summary) = lie_once(Preset::Large, lie).await;
        let model = &summary.deployment.app.model;
        assert_eq!(model.name, "large");
        assert!(model.parameters >= 1_000_000, "{model:?}");
        assert_proven_and_slashed(&devnet, &summary, lie).await;
        if lie == Lie::Theft {
            assert_configs_run_the_registered_agent(&devnet).await;
        }
    }
}

/// The configuration the deployment writes for services run as their own processes names the
/// model file in the data directory, pinned to the registered agent's hash, and loads as that
/// agent.
async fn assert_configs_run_the_registered_agent(devnet: &Devnet) {
    let section = devnet.deployment().challenger_config(0).agent;
    assert!(section.model.is_some(), "{section:?}");
    let loaded = warden_runtime::agent::load_agent(&section).await.unwrap();
    assert_eq!(
        loaded.agent_hash(),
        devnet.deployment().agent().agent_hash()
    );
    assert!(loaded.network().is_some(), "a large agent");
}

/// A 10 M-parameter network end to end: registered with its verifier (its weights stay off
/// chain), run by every operator, and a lie in its middle layer proven within a transaction.
#[tokio::test]
async fn a_ten_million_parameter_agent_runs_end_to_end() {
    let (devnet, summary) = lie_once(Preset::TenMillion, Lie::CarriedNeuron).await;
    let model = &summary.deployment.app.model;
    assert_eq!(model.name, "10m");
    assert!(model.parameters >= 9_900_000, "{model:?}");
    // The proof carries one layer input of 2,048 activations and one 16-neuron weight chunk, not
    // the model: within the same budget as the 1.84 M-parameter network's.
    assert_proven_and_slashed(&devnet, &summary, Lie::CarriedNeuron).await;
}
