//! Rust against the chain: the registry's BLS verification and digests must agree with blst and
//! with `warden-protocol` on random inputs. Runs against a real anvil.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use warden_bindings::harness::DigestHarness;
use warden_bls::{SecretKey, Signature};
use warden_protocol::{OutputAttestation, TaskHashes};

const CASES: usize = 50;

fn spawn_anvil() -> AnvilInstance {
    Anvil::at(warden_devnet::default_anvil_path())
        .host("127.0.0.1")
        .spawn()
}

fn seeded_rng() -> (u64, StdRng) {
    let seed = std::env::var("WARDEN_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().r#gen());
    eprintln!("seed {seed} (rerun with WARDEN_TEST_SEED={seed})");
    (seed, StdRng::seed_from_u64(seed))
}

async fn deploy_harness(anvil: &AnvilInstance) -> (impl Provider + Clone, Address) {
    let signer = PrivateKeySigner::from(anvil.keys()[0].clone());
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(anvil.endpoint_url());
    let harness = DigestHarness::deploy(provider.clone()).await.unwrap();
    let address = *harness.address();
    (provider, address)
}

/// A random 32-byte word.
fn random_b256(rng: &mut StdRng) -> B256 {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    B256::from(bytes)
}

/// Outcome of on-chain verification: Ok(bool) from the pairing, Err on a revert (invalid input).
async fn verify_on_chain<P: Provider>(
    harness: &DigestHarness::DigestHarnessInstance<P>,
    public_key: &[u8],
    message: B256,
    signature: &[u8],
) -> Result<bool, String> {
    harness
        .verify(
            Bytes::copy_from_slice(public_key),
            message,
            Bytes::copy_from_slice(signature),
        )
        .call()
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn contract_verification_agrees_with_blst_on_random_keys_and_messages() {
    let anvil = spawn_anvil();
    let (provider, address) = deploy_harness(&anvil).await;
    let harness = DigestHarness::new(address, &provider);
    let (_seed, mut rng) = seeded_rng();

    for case in 0..CASES {
        let secret = SecretKey::random(&mut rng);
        let other = SecretKey::random(&mut rng);
        let public_key = secret.public_key();
        let message = B256::from(rng.r#gen::<[u8; 32]>());
        let wrong_message = B256::from(rng.r#gen::<[u8; 32]>());
        let signature = secret.sign(message.as_slice());

        // Valid.
        assert!(signature.verify(message.as_slice(), &public_key).is_ok());
        assert_eq!(
            verify_on_chain(
                &harness,
                &public_key.to_eip2537(),
                message,
                &signature.to_eip2537()
            )
            .await,
            Ok(true),
            "case {case}: valid signature"
        );

        // Wrong message.
        assert!(
            signature
                .verify(wrong_message.as_slice(), &public_key)
                .is_err()
        );
        assert_eq!(
            verify_on_chain(
                &harness,
                &public_key.to_eip2537(),
                wrong_message,
                &signature.to_eip2537()
            )
            .await,
            Ok(false),
            "case {case}: wrong message"
        );

        // Wrong key.
        let other_key = other.public_key();
        assert!(signature.verify(message.as_slice(), &other_key).is_err());
        assert_eq!(
            verify_on_chain(
                &harness,
                &other_key.to_eip2537(),
                message,
                &signature.to_eip2537()
            )
            .await,
            Ok(false),
            "case {case}: wrong key"
        );

        // Tampered signature: one random bit of a coordinate flipped. blst refuses to decode it
        // (off the curve or not canonical); the contract must refuse it too, never accept it.
        let mut tampered = signature.to_eip2537();
        let coordinate = rng.gen_range(0..4);
        let byte = 64 * coordinate + 16 + rng.gen_range(0..48);
        tampered[byte] ^= 1 << rng.gen_range(0..8);
        let off_chain = Signature::from_eip2537(&tampered);
        let on_chain =
            verify_on_chain(&harness, &public_key.to_eip2537(), message, &tampered).await;
        assert!(
            off_chain.is_err(),
            "case {case}: blst accepted a tampered signature"
        );
        assert_ne!(
            on_chain,
            Ok(true),
            "case {case}: contract accepted a tampered signature"
        );

        // A valid signature of someone else over the same message.
        let forged = other.sign(message.as_slice());
        assert_eq!(
            verify_on_chain(
                &harness,
                &public_key.to_eip2537(),
                message,
                &forged.to_eip2537()
            )
            .await,
            Ok(false),
            "case {case}: signature by another key"
        );
    }
}

#[tokio::test]
async fn output_digest_agrees_with_the_contract_on_random_attestations() {
    let anvil = spawn_anvil();
    let (provider, address) = deploy_harness(&anvil).await;
    let harness = DigestHarness::new(address, &provider);
    let chain_id = provider.get_chain_id().await.unwrap();
    let (_seed, mut rng) = seeded_rng();

    for case in 0..CASES {
        let mut word = || random_b256(&mut rng);
        let attestation = OutputAttestation {
            chain_id,
            task_manager: Address::from_slice(&word()[12..]),
            task_id: rand::random(),
            agent_id: rand::random(),
            agent_hash: word(),
            verifier: Address::from_slice(&word()[12..]),
            input_hash: word(),
            output_hash: word(),
            trace_hash: word(),
            reference_block: rand::random(),
        };
        let on_chain = harness
            .outputDigest(
                attestation.task_manager,
                attestation.task_id,
                attestation.agent_id,
                attestation.agent_hash,
                attestation.verifier,
                attestation.input_hash,
                attestation.output_hash,
                attestation.trace_hash,
                attestation.reference_block,
            )
            .call()
            .await
            .unwrap();
        assert_eq!(
            on_chain,
            attestation.digest(),
            "case {case}: {attestation:?}"
        );
    }
}

/// The commitment hash a committed task keeps (`TaskCommitments.hash`) and the trace and non-signer
/// hashes it binds (`TaskCommitments.hashTrace`, `OperatorIds.hash`): `warden_protocol` must compute
/// all three byte for byte, or operators would sign digests the contract does not rebuild, and
/// keepers, challengers and the paymaster would hand the contracts values that do not open it.
#[tokio::test]
async fn commitment_hash_agrees_with_the_contract_on_random_commitments() {
    let anvil = spawn_anvil();
    let (provider, address) = deploy_harness(&anvil).await;
    let harness = DigestHarness::new(address, &provider);
    let (_seed, mut rng) = seeded_rng();
    assert_eq!(
        harness.maxTraceLength().call().await.unwrap(),
        U256::from(warden_protocol::MAX_TRACE_LENGTH),
        "the longest trace a commitment carries"
    );

    for case in 0..CASES {
        // Every fifth case with no non-signers (zero hash), the others with up to 40, ascending as
        // `OutputCommitted` emits them.
        let count = if case % 5 == 0 {
            0
        } else {
            rng.gen_range(1..=40)
        };
        let mut ids: Vec<B256> = (0..count).map(|_| random_b256(&mut rng)).collect();
        ids.sort();
        let non_signer_hash = warden_protocol::non_signer_hash(&ids);
        assert_eq!(
            harness.nonSignerHash(ids.clone()).call().await.unwrap(),
            non_signer_hash,
            "case {case}: non-signer hash of {count} ids"
        );
        // Every seventh case with no trace (a traceless agent's: zero), the others with up to 200
        // chunk hashes.
        let trace_len = if case % 7 == 0 {
            0
        } else {
            rng.gen_range(1..=200)
        };
        let trace: Vec<B256> = (0..trace_len).map(|_| random_b256(&mut rng)).collect();
        let trace_hash = warden_protocol::trace_hash(&trace);
        assert_eq!(
            harness.hashTrace(trace).call().await.unwrap(),
            trace_hash,
            "case {case}: trace hash of {trace_len} chunk hashes"
        );
        let output: Vec<u8> = (0..rng.gen_range(0..300)).map(|_| rng.r#gen()).collect();
        let hashes = TaskHashes::committed(random_b256(&mut rng), &output, trace_hash, &ids);
        assert_eq!(hashes.non_signer_hash, non_signer_hash, "case {case}");
        let on_chain = harness
            .commitmentHash(
                hashes.input_hash,
                hashes.output_hash,
                hashes.trace_hash,
                hashes.non_signer_hash,
            )
            .call()
            .await
            .unwrap();
        assert_eq!(on_chain, hashes.commitment(), "case {case}: {hashes:?}");
        // Random words too, zero among them, in every position.
        let words = [
            random_b256(&mut rng),
            B256::ZERO,
            random_b256(&mut rng),
            random_b256(&mut rng),
        ];
        let shuffled = TaskHashes {
            input_hash: words[case % 4],
            output_hash: words[(case + 1) % 4],
            trace_hash: words[(case + 2) % 4],
            non_signer_hash: words[(case + 3) % 4],
        };
        let on_chain = harness
            .commitmentHash(
                shuffled.input_hash,
                shuffled.output_hash,
                shuffled.trace_hash,
                shuffled.non_signer_hash,
            )
            .call()
            .await
            .unwrap();
        assert_eq!(on_chain, shuffled.commitment(), "case {case}: {shuffled:?}");
    }
}
