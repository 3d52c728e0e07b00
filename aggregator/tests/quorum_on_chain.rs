//! Quorums assembled in Rust are accepted by the registry's `checkQuorum` on a real devnet, with
//! the operators' keys read back from their encrypted keystores.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use alloy::primitives::{B256, U256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, ProviderBuilder};
use rand::Rng;
use warden_aggregator::{OperatorSet, Quorum, QuorumError, Threshold};
use warden_bindings::WardenRegistry::WardenRegistryErrors;
use warden_bindings::{BLS, WardenRegistry};
use warden_bls::Signature;
use warden_devnet::{Devnet, DevnetConfig};
use warden_keys::OperatorKeys;

/// The weight of `operators` of the devnet's operators: their stake, all of it allocated.
fn stakes(operators: u64) -> U256 {
    DevnetConfig::new(4).deployment.stake_per_operator * U256::from(operators)
}

async fn check<P: Provider>(
    registry: &WardenRegistry::WardenRegistryInstance<P>,
    reference_block: u32,
    digest: B256,
    quorum: &Quorum,
) -> Result<(U256, U256), alloy::contract::Error> {
    let non_signers = quorum
        .non_signers
        .iter()
        .map(BLS::G1Point::from_eip2537)
        .collect();
    let signature = BLS::G2Point::from_eip2537(&quorum.aggregate_signature.to_eip2537());
    let result = registry
        .checkQuorum(reference_block, digest, non_signers, signature)
        .call()
        .await?;
    Ok((result.signedWeight, result.totalWeight))
}

fn assert_invalid_signature(error: &alloy::contract::Error) {
    let decoded = error.as_decoded_interface_error::<WardenRegistryErrors>();
    assert!(
        matches!(decoded, Some(WardenRegistryErrors::InvalidSignature(_))),
        "{error}"
    );
}

#[tokio::test]
async fn assembled_quorums_verify_on_chain() {
    let devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    let provider =
        ProviderBuilder::new().connect_http(devnet.deployment().rpc_url().parse().unwrap());
    let registry = WardenRegistry::new(devnet.summary().deployment.warden.registry, &provider);
    let keys: Vec<OperatorKeys> = devnet.deployment().operator_keys().unwrap();

    provider.anvil_mine(Some(1), None).await.unwrap();
    let reference_block = provider.get_block_number().await.unwrap() - 1;
    let set = OperatorSet::at(&registry, reference_block).await.unwrap();
    assert_eq!(set.operators.len(), 4);
    assert_eq!(set.total_weight, stakes(4));
    let reference_block = set.block;

    let digest = B256::from(rand::thread_rng().r#gen::<[u8; 32]>());
    let sign = |indices: &[usize]| -> BTreeMap<warden_protocol::OperatorId, Signature> {
        indices
            .iter()
            .map(|&i| {
                let id = devnet.deployment().operators()[i].operator_id;
                (id.into(), keys[i].bls.sign(digest.as_slice()))
            })
            .collect()
    };

    let all = Quorum::assemble(&set, &sign(&[0, 1, 2, 3]), Threshold::TWO_THIRDS).unwrap();
    assert!(all.non_signers.is_empty());
    assert_eq!(
        check(&registry, reference_block, digest, &all)
            .await
            .unwrap(),
        (stakes(4), stakes(4))
    );

    // Operator 2 stopped: 3 of 4 still clear two thirds, and it is named as the non-signer.
    let three = Quorum::assemble(&set, &sign(&[0, 1, 3]), Threshold::TWO_THIRDS).unwrap();
    assert_eq!(
        three.non_signer_ids,
        vec![warden_protocol::OperatorId::from(
            devnet.deployment().operators()[2].operator_id
        )]
    );
    assert_eq!(three.signed_weight, stakes(3));
    assert_eq!(
        check(&registry, reference_block, digest, &three)
            .await
            .unwrap(),
        (stakes(3), stakes(4))
    );

    // Two of four do not.
    assert_eq!(
        Quorum::assemble(&set, &sign(&[0, 1]), Threshold::TWO_THIRDS).unwrap_err(),
        QuorumError::BelowThreshold {
            signed: stakes(2),
            total: stakes(4)
        }
    );

    // Hiding a non-signer makes the aggregate key wrong: the chain refuses the signature.
    let mut hidden = three.clone();
    hidden.non_signers.clear();
    let error = check(&registry, reference_block, digest, &hidden)
        .await
        .unwrap_err();
    assert_invalid_signature(&error);

    // A signature over another digest is refused too.
    let error = check(&registry, reference_block, B256::repeat_byte(7), &three)
        .await
        .unwrap_err();
    assert_invalid_signature(&error);

    // A signer outside the set is refused before anything is sent.
    let mut with_stranger = sign(&[0, 1, 2]);
    with_stranger.insert(
        B256::repeat_byte(1).into(),
        keys[0].bls.sign(digest.as_slice()),
    );
    assert_eq!(
        Quorum::assemble(&set, &with_stranger, Threshold::TWO_THIRDS).unwrap_err(),
        QuorumError::UnknownOperator(B256::repeat_byte(1).into())
    );
}
