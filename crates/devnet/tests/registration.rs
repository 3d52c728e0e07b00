//! Registration failures reach the operator as named refusals, and leave nothing half-registered.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::network::EthereumWallet;
use alloy::primitives::U256;
use alloy::providers::ProviderBuilder;
use alloy::providers::ext::AnvilApi;
use warden_bindings::WardenRegistry;
use warden_bindings::WardenRegistry::WardenRegistryErrors;
use warden_bindings::tx::confirm;
use warden_bindings::uniswap::WETH9;
use warden_devnet::{Devnet, DevnetConfig};
use warden_keys::{KeystorePaths, OperatorKeys, Password, ScryptParams};
use warden_operator::{Registrar, RegistrationError};

#[tokio::test]
async fn a_bls_key_cannot_be_registered_twice_and_allocation_waits_for_its_delay() {
    let mut config = DevnetConfig::new(1);
    // Long enough that the copycat's first attempt below comes before its delay takes effect.
    config.deployment.eigenlayer.allocation_configuration_delay = 20;
    let devnet = Devnet::start(config).await.unwrap();
    let summary = devnet.summary().clone();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(devnet.deployment().deployer().clone()))
        .connect_http(devnet.deployment().rpc_url().parse().unwrap());

    // A second operator with its own ECDSA key but a copy of operator 0's BLS key.
    let existing = &devnet.deployment().operators()[0];
    let victim = existing.keys().unwrap();
    let password = Password::from_file(&existing.password_file).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fresh = OperatorKeys::generate(
        &KeystorePaths::in_dir(dir.path()),
        &password,
        ScryptParams::insecure_fast_for_tests(),
        &mut rand::thread_rng(),
    )
    .unwrap();
    let copycat = OperatorKeys {
        ecdsa: fresh.ecdsa,
        bls: victim.bls,
    };

    let stake = U256::from(16u64) * U256::from(10u64).pow(U256::from(18u64));
    provider
        .anvil_set_balance(copycat.address(), U256::from(10u64).pow(U256::from(19u64)))
        .await
        .unwrap();
    // The devnet restakes wrapped ether: the deployer wraps some and hands it over.
    let weth = WETH9::new(
        summary.deployment.eigenlayer.contracts.stake_token,
        &provider,
    );
    confirm(
        "WETH9.deposit",
        weth.deposit().value(stake).send().await.unwrap(),
    )
    .await
    .unwrap();
    confirm(
        "WETH9.transfer",
        weth.transfer(copycat.address(), stake)
            .send()
            .await
            .unwrap(),
    )
    .await
    .unwrap();

    let targets = summary.deployment.registration_targets();
    let registrar = Registrar::new(&devnet.deployment().rpc_url(), targets, &copycat).unwrap();
    registrar.join_eigenlayer(stake, "").await.unwrap();

    // Too early: EigenLayer's allocation configuration delay has not passed.
    let early = registrar.register_with_warden().await.unwrap_err();
    assert!(
        matches!(early, RegistrationError::AllocationDelayPending { .. }),
        "{early}"
    );

    provider.anvil_mine(Some(21), None).await.unwrap();
    let refused = registrar.register_with_warden().await.unwrap_err();
    assert!(
        matches!(
            refused,
            RegistrationError::Refused(WardenRegistryErrors::PublicKeyAlreadyRegistered(_))
        ),
        "{refused}"
    );

    // The registry is unchanged: one operator, and the copycat has no id.
    let registry = WardenRegistry::new(summary.deployment.warden.registry, &provider);
    assert_eq!(
        registry.operatorIdCount().call().await.unwrap(),
        U256::from(1u8)
    );
    assert!(
        registry
            .operatorIdOf(copycat.address())
            .call()
            .await
            .unwrap()
            .is_zero()
    );

    assert!(Registrar::new("not a url", targets, &copycat).is_err());
}
