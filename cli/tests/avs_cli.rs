//! `warden avs check` as a user runs it, against a devnet chain: the devnet's own core passes; a
//! deployment of another chain, addresses with no code and a core of a release Warden's
//! EigenLayer interfaces were not written for are each refused, naming the problem. The command
//! holds no key: it cannot send anything.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Output;

use common::warden;

use warden_bindings::core_release::ReleaseError;
use warden_bindings::eigenlayer::PermissionController;
use warden_deployer::networks::{CoreCheckError, EigenLayerNetwork, check_core, network};
use warden_devnet::{Devnet, DevnetConfig};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn avs_check_and_services_accept_the_devnet_core_and_refuse_other_chains_empty_addresses_and_other_releases()
 {
    let devnet = Devnet::start(DevnetConfig::new(1)).await.unwrap();
    let rpc_url = devnet.deployment().rpc_url().to_string();
    let summary = devnet.summary().clone();
    let provider = warden_txm::signing_provider(
        rpc_url.parse().unwrap(),
        devnet.deployment().deployer().clone(),
    );
    let devnet_core = EigenLayerNetwork {
        name: "devnet".into(),
        chain_id: summary.deployment.chain_id,
        release: warden_deployer::eigenlayer::VERSION_LABEL.into(),
        contracts: (&summary.deployment.eigenlayer.contracts).into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, network: &EigenLayerNetwork| {
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_string_pretty(network).unwrap()).unwrap();
        path.to_str().unwrap().to_owned()
    };

    // The devnet's own core: every versioned contract at v1.5+redistribution.
    let checked = check_core(&provider, &devnet_core).await.unwrap();
    assert_eq!(checked.versions.len(), 4);
    let file = write("devnet.json", &devnet_core);
    let output = warden(&["avs", "check", "--eigenlayer", &file, "--rpc-url", &rpc_url]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("usable by this Warden"), "{stdout}");
    assert!(stdout.contains("AllocationManager"), "{stdout}");

    // Mainnet's address book on this chain: the chain ids differ.
    let output = warden(&[
        "avs",
        "check",
        "--network",
        "mainnet",
        "--rpc-url",
        &rpc_url,
    ]);
    assert!(!output.status.success());
    let error = stderr(&output);
    assert!(
        error.contains("chain 31337") && error.contains("chain 1"),
        "{error}"
    );

    // Hoodi's addresses claimed for this chain: nothing is deployed there.
    let mut empty = network("hoodi").unwrap();
    empty.chain_id = summary.deployment.chain_id;
    assert!(matches!(
        check_core(&provider, &empty).await,
        Err(CoreCheckError::Release(ReleaseError::NoCode {
            contract: "DelegationManager",
            ..
        }))
    ));
    let file = write("empty.json", &empty);
    let output = warden(&["avs", "check", "--eigenlayer", &file, "--rpc-url", &rpc_url]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("has no code"),
        "{}",
        stderr(&output)
    );

    // A core whose PermissionController is of release v1.13.0 (the real contract, deployed with
    // that version, newer than any Warden's interfaces were checked against): refused, naming
    // the release found and the ones supported.
    let newer = PermissionController::deploy(&provider, "v1.13.0".to_string())
        .await
        .unwrap();
    let mut other_release = devnet_core.clone();
    other_release.contracts.permission_controller = *newer.address();
    match check_core(&provider, &other_release).await {
        Err(CoreCheckError::Release(ReleaseError::Unsupported {
            contract, found, ..
        })) => {
            assert_eq!(contract, "PermissionController");
            assert_eq!(found.raw, "v1.13.0");
        }
        other => panic!("expected an unsupported release, got {other:?}"),
    }
    let file = write("newer.json", &other_release);
    let output = warden(&["avs", "check", "--eigenlayer", &file, "--rpc-url", &rpc_url]);
    assert!(!output.status.success());
    let error = stderr(&output);
    assert!(
        error.contains("v1.13.0") && error.contains("v1.5.0 (Redistribution) to v1.12.x"),
        "{error}"
    );

    // An unknown name, and a malformed file, are refused before the chain is asked anything.
    let output = warden(&[
        "avs",
        "check",
        "--network",
        "holesky",
        "--rpc-url",
        &rpc_url,
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("mainnet, sepolia, hoodi"),
        "{}",
        stderr(&output)
    );
    let malformed = dir.path().join("malformed.json");
    std::fs::write(&malformed, "{\"name\": \"x\"}").unwrap();
    let output = warden(&[
        "avs",
        "check",
        "--eigenlayer",
        malformed.to_str().unwrap(),
        "--rpc-url",
        &rpc_url,
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("not an EigenLayer deployment file"),
        "{}",
        stderr(&output)
    );

    // A service pointed at a task manager with no code on this chain stops before it acts.
    let mut config = devnet
        .deployment()
        .aggregator_config(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), Vec::new());
    config.database.url = dir.path().join("aggregator.db").display().to_string();
    config.chain.task_manager = alloy::primitives::Address::repeat_byte(0x77);
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let refused =
        warden_aggregator::launch::start(&config, devnet.deployment().deployer().clone(), stopped)
            .await
            .unwrap_err();
    assert!(
        refused.to_string().contains("WardenTaskManager")
            && refused.to_string().contains("has no code"),
        "{refused}"
    );
}
