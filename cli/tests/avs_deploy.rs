//! `warden avs deploy` as a user runs it, on an EigenLayer core it did not deploy (the devnet's,
//! deployed by another key): a fresh keystore that holds nothing sees the whole plan in a dry
//! run and is refused before anything is sent; funded by a transfer, it deploys a working AVS
//! whose every transaction the rehearsal foresaw, and a second run never replaces the record.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Output;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use common::warden;
use warden_bindings::eigenlayer::AllocationManager;
use warden_bindings::{WardenRegistry, WardenTaskManager};
use warden_deployer::avs::AvsProgress;
use warden_deployer::networks::EigenLayerNetwork;
use warden_devnet::{Devnet, DevnetConfig};
use warden_runtime::deployment::DeploymentFile;
use warden_testkit::ServiceProcess;
use warden_testkit::crash::{FAILPOINT_ENV, failpoint_reached};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

#[tokio::test]
async fn a_fresh_keystore_deploys_warden_on_an_eigenlayer_it_did_not_deploy() {
    let devnet = Devnet::start(DevnetConfig::new(1)).await.unwrap();
    let rpc_url = devnet.deployment().rpc_url();
    let summary = devnet.summary().deployment.clone();
    let chain = alloy::providers::ProviderBuilder::new().connect_http(rpc_url.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();

    let eigenlayer = EigenLayerNetwork {
        name: "devnet".into(),
        chain_id: summary.chain_id,
        release: warden_deployer::eigenlayer::VERSION_LABEL.into(),
        contracts: (&summary.eigenlayer.contracts).into(),
    };
    std::fs::write(
        path("eigenlayer.json"),
        serde_json::to_string_pretty(&eigenlayer).unwrap(),
    )
    .unwrap();
    std::fs::write(path("password"), "correct horse battery staple\n").unwrap();
    let created = succeeded(&warden(&[
        "keys",
        "new-account",
        &path("deployer.json"),
        "--password-file",
        &path("password"),
    ]));
    let deployer: Address = created
        .lines()
        .find_map(|line| line.strip_prefix("address:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_ne!(deployer, devnet.deployment().deployer().address());

    let strategy = summary.eigenlayer.contracts.strategy.to_string();
    let (eigenlayer_file, keystore, password) = (
        path("eigenlayer.json"),
        path("deployer.json"),
        path("password"),
    );
    let deploy_args = |extra: &[&str], out: &str| -> Vec<String> {
        let mut args: Vec<String> = [
            "avs",
            "deploy",
            "--eigenlayer",
            &eigenlayer_file,
            "--rpc-url",
            &rpc_url,
            "--keystore",
            &keystore,
            "--password-file",
            &password,
            "--strategy",
            &strategy,
            "--out",
            &path(out),
        ]
        .map(str::to_owned)
        .to_vec();
        if !extra.contains(&"--metadata-uri") {
            args.extend(["--metadata-uri", "https://warden.example/avs.json"].map(str::to_owned));
        }
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        args
    };
    let deploy = |extra: &[&str], out: &str| {
        let args = deploy_args(extra, out);
        warden(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };

    // Without anvil to rehearse on, nothing is sent: the error says how to get it.
    let no_anvil = deploy(&["--anvil", "/nonexistent/anvil"], "no-anvil");
    assert!(!no_anvil.status.success());
    let error = text(&no_anvil.stderr);
    assert!(
        error.contains("/nonexistent/anvil") && error.contains("make setup"),
        "{error}"
    );
    assert!(!dir.path().join("no-anvil/deployment.json").exists());

    // A dry run of a key holding nothing: the whole plan, priced, and nothing sent.
    let plan = succeeded(&deploy(&["--dry-run"], "dry"));
    for step in [
        "create WardenRegistry",
        "create MlpVerifierFactory",
        "create WardenTaskManager",
        "WardenRegistry.setSlasher",
        "WardenChallenges.fundBounties",
        "create WardenRewards",
        "WardenRegistry.setRewardsDistributor",
        "WardenRegistry.configureAVS",
        "dry run: nothing sent",
        "deployer balance: 0.000000 ETH",
    ] {
        assert!(plan.contains(step), "{step:?} missing from:\n{plan}");
    }
    let total = plan
        .lines()
        .find_map(|line| line.trim().strip_prefix("total: "))
        .unwrap();
    // "8 transactions, 21224979 gas, 5.000000 ETH sent"
    let words: Vec<&str> = total.split_whitespace().collect();
    let planned: u64 = words[0].parse().unwrap();
    let planned_gas: u64 = words[2].parse().unwrap();
    assert_eq!(chain.get_transaction_count(deployer).await.unwrap(), 0);
    assert!(!dir.path().join("dry/deployment.json").exists());
    let metadata: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("dry/avs-metadata.json")).unwrap())
            .unwrap();
    assert_eq!(metadata["name"], "Warden");

    // Sent for real without the ETH it needs: refused, naming the shortfall, nothing sent.
    let refused = deploy(&[], "broke");
    assert!(!refused.status.success());
    let error = text(&refused.stderr);
    assert!(
        error.contains("fund the key") && error.contains(&deployer.to_string()),
        "{error}"
    );
    assert_eq!(chain.get_transaction_count(deployer).await.unwrap(), 0);
    assert!(!dir.path().join("broke/deployment.json").exists());

    // Funded by a transfer, it deploys, and is killed once the task manager is on chain and on
    // record (a crash halfway).
    common::transfer(&rpc_url, deployer, U256::from(20u128 * 10u128.pow(18))).await;
    let args = deploy_args(&[], "live");
    let mut crashed = ServiceProcess::spawn(
        "warden avs deploy",
        std::path::Path::new(env!("CARGO_BIN_EXE_warden")),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &[(FAILPOINT_ENV, "avs_deploy.task_manager")],
    )
    .unwrap();
    crashed
        .wait_for(
            &failpoint_reached("avs_deploy.task_manager"),
            std::time::Duration::from_secs(120),
        )
        .await
        .unwrap();
    drop(crashed);
    let progress_file = dir.path().join("live/deployment.progress.json");
    let progress: AvsProgress =
        serde_json::from_str(&std::fs::read_to_string(&progress_file).unwrap()).unwrap();
    assert!(progress.task_manager.is_some() && progress.rewards.is_none());
    assert_eq!(chain.get_transaction_count(deployer).await.unwrap(), 3);

    // Resumed with other inputs: refused, nothing sent.
    let other = deploy(
        &["--metadata-uri", "https://elsewhere.example/avs.json"],
        "live",
    );
    assert!(!other.status.success());
    assert!(
        text(&other.stderr).contains("other inputs"),
        "{}",
        text(&other.stderr)
    );
    assert_eq!(chain.get_transaction_count(deployer).await.unwrap(), 3);

    // Run again, it resumes: the chain received exactly the rehearsed transactions, once each.
    let resumed = succeeded(&deploy(&[], "live"));
    assert!(
        resumed.contains("resuming the deployment recorded in"),
        "{resumed}"
    );
    assert!(!progress_file.exists());
    assert_eq!(
        chain.get_transaction_count(deployer).await.unwrap(),
        planned
    );
    // The rehearsal measured the gas the deployment used.
    let sent = warden_testkit::inspect::sent_transactions(&chain, deployer, 0)
        .await
        .unwrap();
    let used: u64 = sent.iter().map(|(_, receipt)| receipt.gas_used).sum();
    assert_eq!(
        used, planned_gas,
        "rehearsed {planned_gas} gas, used {used}"
    );
    let deployment = DeploymentFile::read(&dir.path().join("live/deployment.json")).unwrap();
    assert_eq!(deployment.deployer, deployer);
    assert_eq!(deployment.chain_id, summary.chain_id);
    assert_eq!(deployment.eigenlayer, eigenlayer);
    assert_ne!(deployment.warden.registry, summary.warden.registry);
    assert_eq!(Some(deployment.warden.registry), progress.registry);
    assert_eq!(Some(deployment.warden.task_manager), progress.task_manager);
    let warden = &deployment.warden;
    let registry = WardenRegistry::new(warden.registry, &chain);
    assert_eq!(registry.owner().call().await.unwrap(), deployer);
    assert_eq!(registry.slasher().call().await.unwrap(), warden.challenges);
    assert_eq!(
        registry.rewardsDistributor().call().await.unwrap(),
        warden.rewards
    );
    let task_manager = WardenTaskManager::new(warden.task_manager, &chain);
    assert_eq!(
        task_manager.registry().call().await.unwrap(),
        warden.registry
    );
    let allocation_manager =
        AllocationManager::new(summary.eigenlayer.contracts.allocation_manager, &chain);
    let set = warden_bindings::eigenlayer::AllocationManager::OperatorSet {
        avs: warden.registry,
        id: warden.operator_set_id,
    };
    assert_eq!(
        allocation_manager
            .getRedistributionRecipient(set.clone())
            .call()
            .await
            .unwrap(),
        warden.restitution
    );
    assert_eq!(
        allocation_manager
            .getStrategiesInOperatorSet(set)
            .call()
            .await
            .unwrap(),
        vec![summary.eigenlayer.contracts.strategy]
    );
    assert!(deployment.deployed_at_block <= chain.get_block_number().await.unwrap());

    // The record is never replaced.
    let again = deploy(&[], "live");
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already records a deployment"),
        "{}",
        text(&again.stderr)
    );
}
