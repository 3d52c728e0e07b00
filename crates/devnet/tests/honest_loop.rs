//! The honest path end to end: operators sign, the aggregator commits a stake-weighted quorum,
//! the keeper executes after the challenge window, and the vault's balances move exactly as the
//! Rust agent predicts from the on-chain snapshots. Once the tasks can no longer be proved
//! fraudulent, the keeper pays their signers, and only them, through EigenLayer's
//! RewardsCoordinator; each operator counts what it earned.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::{B256, U256};
use alloy::providers::ProviderBuilder;
use alloy::sol_types::SolCall;
use warden_agent::mlp::get_amount_out;
use warden_agent::{ActionKind, AgentInput};
use warden_bindings::WardenTaskManager;
use warden_bindings::uniswap::UniswapV2Router02::swapExactTokensForTokensCall;
use warden_deployer::app::AppParams;
use warden_devnet::ticks::TickConfig;
use warden_devnet::{Devnet, DevnetConfig};
use warden_protocol::TaskHashes;
use warden_testkit::ops::scrape_counter;
use warden_testkit::wait::wait_for;

#[tokio::test]
async fn quorum_without_a_stopped_operator_and_balances_as_the_agent_predicts() {
    let mut devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    let mut config = TickConfig::new(3);
    config.stopped_operators = vec![2];
    config.timeout = std::time::Duration::from_secs(180);
    let progress = |line: &str| eprintln!("{line}");
    let mut run = devnet.start_services(&config, &progress).await.unwrap();
    let final_tasks = devnet.tick(&mut run, &config, &progress).await.unwrap();
    // Operator 0 follows the chain on its own: wait until it has seen its three fees.
    let operator_metrics = devnet.summary().endpoints[1].metrics.clone();
    let fee = AppParams::default().task_fee;
    // Three equal operators share each fee; the RewardAccrued events carry the exact shares.
    let per_operator = U256::from(3 * (fee / 3));
    let earned_metric = wait_for(std::time::Duration::from_secs(30), || async {
        scrape_counter(
            &operator_metrics,
            "eigen_fees_earned_total",
            ("token", "WETH"),
        )
        .await
        .is_some_and(|earned| (earned - 3.0 * (fee / 3) as f64 / 1e18).abs() < 1e-12)
    })
    .await;
    devnet.finish(run, Some(final_tasks)).await.unwrap();
    assert!(
        earned_metric,
        "operator 0's eigen_fees_earned_total: {:?}",
        scrape_counter(
            &operator_metrics,
            "eigen_fees_earned_total",
            ("token", "WETH")
        )
        .await
    );

    let summary = devnet.summary().clone();
    let stopped = summary.deployment.operators[2].address;
    // Paid: the three signers of every task, a third of each fee; the stopped operator nothing.
    let paid: Vec<_> = summary
        .rewards
        .iter()
        .map(|reward| reward.operator)
        .collect();
    assert_eq!(paid.len(), 3, "{:?}", summary.rewards);
    assert!(!paid.contains(&stopped), "{:?}", summary.rewards);
    for reward in &summary.rewards {
        assert_eq!(reward.amount, per_operator, "{reward:?}");
    }
    // Every service that ran is listed with its operations endpoints; the stopped operator is not.
    let services: Vec<&str> = summary
        .endpoints
        .iter()
        .map(|endpoint| endpoint.service.as_str())
        .collect();
    assert_eq!(
        services,
        [
            "aggregator",
            "operator-0",
            "operator-1",
            "operator-3",
            "challenger"
        ],
        "{:?}",
        summary.endpoints
    );
    for endpoint in &summary.endpoints {
        assert!(
            endpoint.metrics.starts_with("http://127.0.0.1:")
                && endpoint.metrics.ends_with("/metrics"),
            "{endpoint:?}"
        );
        assert!(endpoint.node_api.ends_with("/eigen/node"), "{endpoint:?}");
    }
    assert_eq!(summary.tasks.len(), 3);
    for task in &summary.tasks {
        assert_eq!(task.state, "executed", "{task:?}");
        // 3 of 4 equal operators clear two thirds; the stopped one is named as non-signer.
        assert_eq!(task.non_signers, vec![stopped], "{task:?}");
        assert_eq!(task.signers.len(), 3, "{task:?}");
        assert!(
            task.commit_gas.is_some() && task.execute_gas.is_some(),
            "{task:?}"
        );
        assert!(
            task.commit_to_execute_blocks.unwrap()
                > u64::from(AppParams::default().challenge_window),
            "{task:?}"
        );
    }

    // Replay every task's snapshot through the Rust agent and accumulate the predicted flows.
    let provider =
        ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
    let task_manager = WardenTaskManager::new(summary.deployment.app.task_manager, &provider);
    let vault = summary.vault.clone().unwrap();
    let (mut weth, mut dollar) = (vault.balances_before.weth, vault.balances_before.dollar);
    for task in &summary.tasks {
        let opened = task_manager
            .TaskOpened_filter()
            .topic1(U256::from(task.id))
            .from_block(0)
            .query()
            .await
            .unwrap();
        let (event, _) = opened.into_iter().next().unwrap();
        let input = AgentInput::decode(&event.input).unwrap();
        assert_eq!(
            (input.balanceBase, input.balanceQuote),
            (weth, dollar),
            "task {} snapshot",
            task.id
        );
        let action = warden_agent::Agent::decide(devnet.deployment().agent(), &input).unwrap();
        // The task keeps one hash of its input, output and non-signers: the snapshot above, the
        // agent's action, and the non-signers of the summary open it, hashed as the contract hashes.
        let on_chain = task_manager.getTask(task.id).call().await.unwrap();
        let non_signer_ids: Vec<B256> = summary
            .deployment
            .operators
            .iter()
            .filter(|operator| task.non_signers.contains(&operator.address))
            .map(|operator| operator.operator_id)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(
            on_chain.commitmentHash,
            TaskHashes::committed(
                event.inputHash,
                &action.encode(),
                warden_protocol::NO_TRACE,
                &non_signer_ids
            )
            .commitment(),
            "task {}",
            task.id
        );
        assert_eq!(
            on_chain.inputHash,
            B256::ZERO,
            "task {}: committed",
            task.id
        );
        if action.kind == ActionKind::Hold {
            continue;
        }
        let swap = swapExactTokensForTokensCall::abi_decode(&action.data).unwrap();
        let (reserve_base, reserve_quote) = (
            U256::from(input.reserveBase),
            U256::from(input.reserveQuote),
        );
        match action.kind {
            ActionKind::Buy => {
                let out = get_amount_out(swap.amountIn, reserve_quote, reserve_base).unwrap();
                dollar -= swap.amountIn;
                weth += out;
            }
            ActionKind::Sell => {
                let out = get_amount_out(swap.amountIn, reserve_base, reserve_quote).unwrap();
                weth -= swap.amountIn;
                dollar += out;
            }
            ActionKind::Hold => unreachable!(),
        }
    }
    assert_eq!(
        (weth, dollar),
        (vault.balances_after.weth, vault.balances_after.dollar)
    );
}
