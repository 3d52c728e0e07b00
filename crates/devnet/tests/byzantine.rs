//! Byzantine operators end to end, with 4 equal operators and a 2/3 threshold: one liar cannot
//! move the quorum; three liars commit a theft that the challenger cancels before its deadline,
//! and all three are slashed in EigenLayer while the honest operator is untouched; without a
//! challenger, their thefts add up to at most the value-at-risk bound on their stake; a challenger
//! that starts after a theft executed, inside its fraud-proof window, still slashes the thieves and
//! their slashed stake repays the vault; and three liars who withdrew their stake first cannot
//! commit a theft on the weight they no longer have.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use alloy::primitives::{B256, U256, keccak256};
use alloy::providers::{Provider, ProviderBuilder};
use warden_agent::AgentInput;
use warden_bindings::WardenTaskManager;
use warden_bindings::eigenlayer::DelegationManager;
use warden_deployer::app::AppParams;
use warden_devnet::ticks::TickConfig;
use warden_devnet::{Devnet, DevnetConfig, Summary};

const WAD: u64 = 1_000_000_000_000_000_000;

async fn run(byzantine: Vec<usize>, challenger: bool, ticks: u32) -> (Devnet, Summary) {
    let mut config = TickConfig::new(ticks);
    config.byzantine_operators = byzantine;
    config.challenger = challenger;
    run_with(config).await
}

async fn run_with(mut config: TickConfig) -> (Devnet, Summary) {
    let mut devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    config.timeout = Duration::from_secs(240);
    devnet
        .run_ticks(config, |line| eprintln!("{line}"))
        .await
        .unwrap();
    let summary = devnet.summary().clone();
    (devnet, summary)
}

/// The honest agent's output for the task's snapshot.
async fn honest_output_hash(devnet: &Devnet, task_id: u64) -> alloy::primitives::B256 {
    let provider =
        ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
    let task = WardenTaskManager::new(devnet.summary().deployment.app.task_manager, &provider)
        .getTask(task_id)
        .call()
        .await
        .unwrap();
    let input = warden_bindings::task_facts::task_input(
        &provider,
        devnet.summary().deployment.app.task_manager,
        task_id,
        task.openedAt,
    )
    .await
    .unwrap();
    let action = devnet
        .deployment()
        .agent()
        .decide(&AgentInput::decode(&input).unwrap())
        .unwrap();
    keccak256(action.encode())
}

/// The output hash task `task_id` was committed with: from its events, checked against the
/// commitment hash the task manager keeps.
async fn committed_output_hash<P: Provider>(
    task_manager: &WardenTaskManager::WardenTaskManagerInstance<P>,
    task_id: u64,
) -> B256 {
    let task = task_manager.getTask(task_id).call().await.unwrap();
    warden_bindings::task_facts::committed(
        task_manager.provider(),
        *task_manager.address(),
        task_id,
        task.openedAt,
        task.commitmentHash,
    )
    .await
    .unwrap()
    .hashes
    .output_hash
}

#[tokio::test]
async fn one_byzantine_operator_cannot_move_the_quorum() {
    let (devnet, summary) = run(vec![0], true, 3).await;
    let liar = summary.deployment.operators[0].address;
    let provider =
        ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
    let task_manager = WardenTaskManager::new(summary.deployment.app.task_manager, &provider);
    for task in &summary.tasks {
        assert_eq!(task.state, "executed", "{task:?}");
        let committed = committed_output_hash(&task_manager, task.id).await;
        assert_eq!(
            committed,
            honest_output_hash(&devnet, task.id).await,
            "task {} committed something other than the honest output",
            task.id
        );
        // The liar signed its theft, not the honest output: it is a non-signer of every task.
        assert_eq!(task.non_signers, vec![liar], "{task:?}");
        assert_eq!(task.stolen, U256::ZERO, "{task:?}");
    }
    assert_eq!(summary.challenges.raised, 0, "{:?}", summary.challenges);
    assert!(summary.slashed.is_empty(), "{:?}", summary.slashed);
}

#[tokio::test]
async fn three_byzantine_operators_are_challenged_in_time_and_slashed() {
    let (devnet, summary) = run(vec![0, 1, 2], true, 1).await;
    let task = &summary.tasks[0];
    assert_eq!(task.state, "fraudulent", "{task:?}");
    assert_eq!(task.execute_gas, None, "a fraudulent task never executes");
    assert_eq!(task.stolen, U256::ZERO, "{task:?}");

    assert_eq!(summary.challenges.upheld, 1, "{:?}", summary.challenges);
    assert_eq!(summary.challenges.rejected, 0, "{:?}", summary.challenges);
    let challenge = &summary.challenges.list[0];
    assert_eq!(challenge.task, task.id);
    assert!(
        challenge.challenge_block <= challenge.deadline,
        "challenged after the deadline: {challenge:?}"
    );

    // Exactly the three signers, each slashed once by the configured fraction of its shares.
    let slash_wad = U256::from(AppParams::default().slash_wad);
    let liars: Vec<_> = summary.deployment.operators[..3]
        .iter()
        .map(|o| o.address)
        .collect();
    let mut slashed: Vec<_> = summary.slashed.iter().map(|s| s.operator).collect();
    slashed.sort();
    let mut expected = liars.clone();
    expected.sort();
    assert_eq!(slashed, expected, "{:?}", summary.slashed);
    for slash in &summary.slashed {
        assert_eq!(slash.task, task.id);
        assert_eq!(slash.reason, "fraud");
        let taken = slash.shares_before - slash.shares_after;
        assert_eq!(
            taken,
            slash.shares_before * slash_wad / U256::from(WAD),
            "{slash:?}"
        );
    }

    // The honest operator keeps everything it restaked.
    let provider =
        ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
    let delegation = DelegationManager::new(
        summary.deployment.eigenlayer.contracts.delegation_manager,
        &provider,
    );
    let honest = summary.deployment.operators[3].address;
    let shares = delegation
        .getOperatorShares(
            honest,
            vec![summary.deployment.eigenlayer.contracts.strategy],
        )
        .call()
        .await
        .unwrap();
    assert_eq!(
        shares[0],
        DevnetConfig::new(4).deployment.stake_per_operator
    );

    // Nothing left the vault.
    let vault = summary.vault.clone().unwrap();
    assert_eq!(vault.balances_after, vault.balances_before);
}

/// Each theft dumps the vault's WETH into the pool with no minimum output, moving its price by
/// several percent: the vault defers the next call action while the spot price is that far from
/// its TWAP, and the value-at-risk ledger refuses one that would take the thefts past the bound on
/// the thieves' stake. A later theft executes only if both let it, or expires. The first always
/// executes, and together they stay within the bound.
#[tokio::test]
async fn without_a_challenger_the_thefts_add_up_to_at_most_the_bound() {
    let (_devnet, summary) = run(vec![0, 1, 2], false, 2).await;
    let bound_bps = U256::from(AppParams::default().value_at_risk_bps);
    let mut total_stolen = U256::ZERO;
    let mut quorum_stake = U256::MAX;
    for task in &summary.tasks {
        if task.state == "expired" {
            assert_eq!(task.stolen, U256::ZERO, "{task:?}");
            continue;
        }
        assert_eq!(task.state, "executed", "{task:?}");
        // Once the vault's WETH is gone the thieves decide like the honest agent: an executed
        // task may be an honest trade.
        if task.stolen > U256::ZERO {
            total_stolen += task.stolen;
            quorum_stake = quorum_stake.min(task.signed_stake.unwrap());
        }
    }
    assert!(
        total_stolen > U256::ZERO,
        "the first theft executes: {:?}",
        summary.tasks
    );
    assert!(
        total_stolen * U256::from(10_000u64) <= quorum_stake * bound_bps,
        "thefts {total_stolen} beyond the bound of stake {quorum_stake}"
    );
    let vault = summary.vault.clone().unwrap();
    assert_eq!(
        vault.balances_before.weth - vault.balances_after.weth,
        total_stolen,
        "the vault lost exactly what was stolen"
    );
    assert_eq!(summary.challenges.raised, 0);
}

#[tokio::test]
async fn byzantine_operators_who_withdrew_their_stake_cannot_commit_a_theft() {
    let mut config = TickConfig::new(2);
    config.byzantine_operators = vec![0, 1, 2];
    config.withdraw_before_fraud = true;
    let (devnet, summary) = run_with(config).await;
    let mut thieves: Vec<_> = summary.deployment.operators[..3]
        .iter()
        .map(|o| o.address)
        .collect();
    thieves.sort();
    let provider =
        ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
    let task_manager = WardenTaskManager::new(summary.deployment.app.task_manager, &provider);
    let stake = DevnetConfig::new(4).deployment.stake_per_operator;
    for task in &summary.tasks {
        // The honest operator alone is all the weight left: its output commits. It executes,
        // or expires when the vault's stake bound (now a quarter of the stake signs) refuses it.
        assert!(
            task.state == "executed" || task.state == "expired",
            "{task:?}"
        );
        let committed = committed_output_hash(&task_manager, task.id).await;
        assert_eq!(
            committed,
            honest_output_hash(&devnet, task.id).await,
            "task {} committed something other than the honest output",
            task.id
        );
        assert_eq!(task.signed_stake, Some(stake), "{task:?}");
        let mut non_signers = task.non_signers.clone();
        non_signers.sort();
        assert_eq!(non_signers, thieves, "{task:?}");
        assert_eq!(task.stolen, U256::ZERO, "{task:?}");
    }
    assert_eq!(summary.challenges.raised, 0, "{:?}", summary.challenges);
    // Their shares left their delegated stake when they queued the withdrawal.
    let delegation = DelegationManager::new(
        summary.deployment.eigenlayer.contracts.delegation_manager,
        &provider,
    );
    for thief in &thieves {
        let shares = delegation
            .getOperatorShares(
                *thief,
                vec![summary.deployment.eigenlayer.contracts.strategy],
            )
            .call()
            .await
            .unwrap();
        assert_eq!(shares[0], U256::ZERO);
    }
}

/// `warden devnet --byzantine 3 --no-challenger --late-challenger 20`: the theft executes with
/// nobody watching; a challenger that starts 20 blocks later, still inside the theft's
/// fraud-proof window, proves the fraud after the fact and slashes the three signers, and their
/// slashed stake, cleared to the restitution contract, repays the vault what was stolen.
#[tokio::test]
async fn a_late_challenger_proves_an_executed_theft_and_the_slashed_stake_repays_the_vault() {
    const LATE: u64 = 20;
    let mut config = TickConfig::new(1);
    config.byzantine_operators = vec![0, 1, 2];
    config.challenger = false;
    config.late_challenger = Some(LATE);
    let (devnet, summary) = run_with(config).await;

    // 1. The theft executed, within the bound on the stake that signed it.
    let task = &summary.tasks[0];
    assert!(task.stolen > U256::ZERO, "{task:?}");
    assert!(task.execute_gas.is_some(), "the theft executed: {task:?}");
    let signed = task.signed_stake.unwrap();
    let bound_bps = U256::from(AppParams::default().value_at_risk_bps);
    assert!(
        task.stolen * U256::from(10_000u64) <= signed * bound_bps,
        "{task:?}"
    );

    // 2. The late challenger proved it after the execution, at least LATE blocks later and
    // inside the fraud-proof window, and the three signers were slashed.
    assert_eq!(task.state, "fraudulent", "{task:?}");
    assert_eq!(summary.challenges.upheld, 1, "{:?}", summary.challenges);
    let challenge = &summary.challenges.list[0];
    let executed_at = challenge.commit_block + task.commit_to_execute_blocks.unwrap();
    assert!(
        challenge.challenge_block >= executed_at + LATE,
        "challenged in block {} before the late challenger started: {challenge:?}",
        challenge.challenge_block
    );
    let provider =
        ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
    let provable_until = WardenTaskManager::new(summary.deployment.app.task_manager, &provider)
        .provableUntil(task.id)
        .call()
        .await
        .unwrap();
    assert!(U256::from(challenge.challenge_block) <= provable_until);
    let mut slashed: Vec<_> = summary.slashed.iter().map(|s| s.operator).collect();
    slashed.sort();
    let mut liars: Vec<_> = summary.deployment.operators[..3]
        .iter()
        .map(|o| o.address)
        .collect();
    liars.sort();
    assert_eq!(slashed, liars, "{:?}", summary.slashed);

    // 3. The vault was repaid what was stolen, from the slashed stake.
    let taken: U256 = summary
        .slashed
        .iter()
        .map(|slash| slash.shares_before - slash.shares_after)
        .sum();
    assert!(task.repaid >= task.stolen, "{task:?}");
    assert!(
        task.repaid <= taken,
        "repaid {} beyond the slashed {taken}",
        task.repaid
    );
    let vault = summary.vault.clone().unwrap();
    let before = vault.balance_before_theft.unwrap();
    let after = vault.balance_after_restitution.unwrap();
    assert!(after >= before, "{vault:?}");

    // The summary file says so in decimal strings.
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["tasks"][0]["stolen"], task.stolen.to_string());
    assert_eq!(json["tasks"][0]["repaid"], task.repaid.to_string());
    assert_eq!(json["vault"]["balance_before_theft"], before.to_string());
    assert_eq!(
        json["vault"]["balance_after_restitution"],
        after.to_string()
    );
}
