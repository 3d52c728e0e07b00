//! The devnet end to end: real EigenLayer, real registrations with keys read back from the
//! operators' encrypted keystores, and a clean stop.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use rand::Rng;
use warden_bindings::{BLS, WardenRegistry};
use warden_devnet::{Devnet, DevnetConfig};
use warden_keys::OperatorKeys;
use warden_protocol::{proof_of_possession_message, public_key_hash};

#[tokio::test]
async fn four_operators_restake_and_register_their_bls_keys() {
    let devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    let summary = devnet.summary().clone();
    assert_eq!(summary.deployment.operators.len(), 4);
    for operator in &summary.deployment.operators {
        assert_eq!(
            operator.weight,
            DevnetConfig::new(4).deployment.stake_per_operator,
            "{operator:?}"
        );
    }
    assert_eq!(
        summary.deployment.total_weight,
        DevnetConfig::new(4).deployment.stake_per_operator * U256::from(4u64)
    );

    let provider =
        ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
    let registry = WardenRegistry::new(summary.deployment.warden.registry, &provider);

    let keys: Vec<OperatorKeys> = devnet.deployment().operator_keys().unwrap();
    for (handle, key) in devnet.deployment().operators().iter().zip(&keys) {
        assert_eq!(
            handle.operator_id,
            public_key_hash(&key.bls.public_key().to_eip2537())
        );
    }

    // The proof-of-possession message agrees with the contract's for arbitrary operators.
    let chain_id = provider.get_chain_id().await.unwrap();
    for key in &keys {
        let operator = Address::from(rand::thread_rng().r#gen::<[u8; 20]>());
        let encoded = key.bls.public_key().to_eip2537();
        let on_chain = registry
            .proofOfPossessionMessage(operator, BLS::G1Point::from_eip2537(&encoded))
            .call()
            .await
            .unwrap();
        assert_eq!(
            on_chain,
            proof_of_possession_message(
                chain_id,
                summary.deployment.warden.registry,
                operator,
                &encoded
            )
        );
    }

    let data_dir = devnet.deployment().data_dir().to_path_buf();
    let stopped = devnet.stop();
    assert_eq!(stopped.state, warden_devnet::DevnetState::Stopped);
    assert!(
        !data_dir.exists(),
        "the temporary data directory must be removed"
    );
    assert!(
        provider.get_block_number().await.is_err(),
        "anvil must be stopped"
    );
}
