//! Equivocation on the devnet: an operator's BLS key signing two different outputs for one task
//! is evidence anyone can submit; it slashes that operator in EigenLayer, once. Evidence that
//! mixes two operators' signatures is refused. The slashed stake is redistributed: clearing the
//! slash in EigenLayer's StrategyManager pays the wrapped ether to the operator set's recipient.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::{B256, U256, keccak256};
use warden_bindings::challenges::BLS::{G1Point, G2Point};
use warden_bindings::challenges::WardenChallenges::{SignedOutput, TaskHashes};
use warden_bindings::eigenlayer::{AllocationManager, DelegationManager, StrategyManager};
use warden_bindings::tx::confirm;
use warden_bindings::uniswap::WETH9;
use warden_bindings::{WardenChallenges, WardenTaskManager};
use warden_challenger::{EquivocationEvidence, SignedAttestation};
use warden_deployer::app::AppParams;
use warden_devnet::{Devnet, DevnetConfig};
use warden_keys::OperatorKeys;
use warden_protocol::{NO_TRACE, OutputAttestation};

fn load_keys(devnet: &Devnet, index: usize) -> OperatorKeys {
    devnet.deployment().operators()[index].keys().unwrap()
}

#[tokio::test]
async fn equivocation_evidence_slashes_the_operator_once_and_forgeries_are_refused() {
    let devnet = Devnet::start(DevnetConfig::new(4)).await.unwrap();
    let summary = devnet.summary().clone();
    let provider = warden_txm::signing_provider(
        devnet.deployment().rpc_url().parse().unwrap(),
        devnet.deployment().deployer().clone(),
    );
    let task_manager = WardenTaskManager::new(summary.deployment.app.task_manager, &provider);
    let challenges = WardenChallenges::new(summary.deployment.app.challenges, &provider);
    let receipt = confirm(
        "openTask",
        task_manager
            .openTask(summary.deployment.app.agent_id)
            .send()
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    let opened = receipt
        .decoded_log::<WardenTaskManager::TaskOpened>()
        .unwrap();
    let task_id = opened.taskId;

    let attestation = |output: &[u8]| OutputAttestation {
        chain_id: summary.deployment.chain_id,
        task_manager: summary.deployment.app.task_manager,
        task_id,
        agent_id: summary.deployment.app.agent_id,
        agent_hash: devnet.deployment().agent().agent_hash(),
        verifier: summary.deployment.app.verifier,
        input_hash: opened.inputHash,
        output_hash: keccak256(output),
        trace_hash: NO_TRACE,
        reference_block: opened.referenceBlock,
    };
    let (first, second) = (attestation(b"hold"), attestation(b"sell everything"));
    let liar = load_keys(&devnet, 0);
    let bystander = load_keys(&devnet, 1);
    let sign = |keys: &OperatorKeys, attestation: &OutputAttestation| {
        keys.bls.sign(attestation.digest().as_slice())
    };
    let public_key = liar.bls.public_key();

    // The off-chain check the challenger runs agrees with the contract below.
    let evidence = EquivocationEvidence {
        public_key,
        first: SignedAttestation {
            attestation: first,
            signature: sign(&liar, &first),
        },
        second: SignedAttestation {
            attestation: second,
            signature: sign(&liar, &second),
        },
    };
    evidence.verify().unwrap();

    let key = G1Point::from_eip2537(&public_key.to_eip2537());
    let g2 = |signature: warden_bls::Signature| G2Point::from_eip2537(&signature.to_eip2537());
    // The task is open: its input hash alone opens its record (a committed task would need the
    // commitment's output and non-signer hashes too).
    let hashes = |input_hash: B256| TaskHashes {
        inputHash: input_hash,
        outputHash: B256::ZERO,
        traceHash: B256::ZERO,
        nonSignerHash: B256::ZERO,
    };

    // The liar's evidence, shown with `input_hash` and the second signature by `second_signer`.
    let evidence = |input_hash: B256, second_signer: &OperatorKeys| {
        challenges.slashEquivocation(
            task_id,
            hashes(input_hash),
            key.clone(),
            SignedOutput {
                outputHash: first.output_hash,
                traceHash: first.trace_hash,
                signature: g2(sign(&liar, &first)),
            },
            SignedOutput {
                outputHash: second.output_hash,
                traceHash: second.trace_hash,
                signature: g2(sign(second_signer, &second)),
            },
        )
    };

    // Another input hash does not open the task: refused before any signature is checked.
    let wrong_input = evidence(keccak256(b"another snapshot"), &liar)
        .call()
        .await
        .unwrap_err();
    let refusal = wrong_input
        .as_decoded_interface_error::<WardenTaskManager::WardenTaskManagerErrors>()
        .unwrap();
    assert!(
        matches!(
            refusal,
            WardenTaskManager::WardenTaskManagerErrors::CommitmentMismatch(ref mismatch)
                if mismatch.committed == opened.inputHash
        ),
        "{refusal:?}"
    );

    // Forged: the second signature is another operator's.
    let forged = evidence(opened.inputHash, &bystander)
        .call()
        .await
        .unwrap_err();
    let refusal = forged
        .as_decoded_interface_error::<WardenChallenges::WardenChallengesErrors>()
        .unwrap();
    assert!(
        matches!(
            refusal,
            WardenChallenges::WardenChallengesErrors::InvalidEquivocationSignature(_)
        ),
        "{refusal:?}"
    );

    let delegation = DelegationManager::new(
        summary.deployment.eigenlayer.contracts.delegation_manager,
        &provider,
    );
    let strategy = summary.deployment.eigenlayer.contracts.strategy;
    let shares = |operator| {
        let call = delegation.getOperatorShares(operator, vec![strategy]);
        async move { call.call().await.unwrap()[0] }
    };
    let before = shares(liar.address()).await;
    let bystander_before = shares(bystander.address()).await;

    let submit = || evidence(opened.inputHash, &liar);
    let receipt = confirm("slashEquivocation", submit().send().await.unwrap())
        .await
        .unwrap();
    let slashed = receipt
        .decoded_log::<WardenChallenges::EquivocationSlashed>()
        .unwrap();
    assert_eq!(slashed.operator, liar.address());
    assert_eq!(slashed.operatorId, keccak256(public_key.to_eip2537()));

    let after = shares(liar.address()).await;
    let wad = U256::from(1_000_000_000_000_000_000u64);
    assert_eq!(
        before - after,
        before * U256::from(AppParams::default().slash_wad) / wad
    );
    assert_eq!(
        slashed.shares,
        before - after,
        "the event reports what was taken"
    );
    assert_eq!(shares(bystander.address()).await, bystander_before);
    assert_eq!(
        challenges
            .taskOfSlash(slashed.slashId)
            .call()
            .await
            .unwrap(),
        task_id,
        "the slash is recorded against its task"
    );

    // Redistribution: anyone clears the slash, in the very next block (this core has no delay
    // before clearing), and the stake token itself reaches the recipient the deployment named.
    let recipient = summary.deployment.warden.redistribution_recipient;
    let operator_set = StrategyManager::OperatorSet {
        avs: summary.deployment.warden.registry,
        id: summary.deployment.warden.operator_set_id,
    };
    let allocation_manager = AllocationManager::new(
        summary.deployment.eigenlayer.contracts.allocation_manager,
        &provider,
    );
    assert_eq!(
        allocation_manager
            .getRedistributionRecipient(AllocationManager::OperatorSet {
                avs: operator_set.avs,
                id: operator_set.id,
            })
            .call()
            .await
            .unwrap(),
        recipient
    );
    let weth = WETH9::new(summary.deployment.market.weth, &provider);
    let received_before = weth.balanceOf(recipient).call().await.unwrap();
    let strategy_manager = StrategyManager::new(
        summary.deployment.eigenlayer.contracts.strategy_manager,
        &provider,
    );
    let slash_block = receipt.block_number.unwrap();
    let cleared = confirm(
        "clearBurnOrRedistributableShares",
        strategy_manager
            .clearBurnOrRedistributableShares(operator_set.clone(), slashed.slashId)
            .send()
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(cleared.block_number, Some(slash_block + 1));
    assert_eq!(
        weth.balanceOf(recipient).call().await.unwrap() - received_before,
        slashed.shares,
        "the slashed stake, one wrapped ether per share, reached the recipient"
    );
    assert!(
        strategy_manager
            .getPendingSlashIds(operator_set)
            .call()
            .await
            .unwrap()
            .is_empty(),
        "nothing left to clear"
    );

    // The same evidence again slashes nothing more.
    let again = submit().call().await.unwrap_err();
    let refusal = again
        .as_decoded_interface_error::<WardenChallenges::WardenChallengesErrors>()
        .unwrap();
    assert!(
        matches!(
            refusal,
            WardenChallenges::WardenChallengesErrors::EquivocationAlreadySlashed(_)
        ),
        "{refusal:?}"
    );
}
