//! The verifier code-hash check against a real chain: the code is read from anvil and compared
//! by keccak256, and an answer is kept for the verifier's life.

use alloy::node_bindings::Anvil;
use alloy::primitives::{Address, Bytes, keccak256};
use alloy::providers::ProviderBuilder;
use alloy::providers::ext::AnvilApi;
use warden_runtime::allowlist::{AgentAllowlist, VerifierCheck};

#[tokio::test]
async fn a_verifier_passes_only_with_listed_code() {
    let anvil = Anvil::at(warden_testkit::default_anvil_path()).spawn();
    let chain = ProviderBuilder::new().connect_http(anvil.endpoint_url());
    let audited = Address::repeat_byte(0xa1);
    let other = Address::repeat_byte(0xb2);
    let audited_code = Bytes::from_static(&[0x60, 0x00, 0x60, 0x00, 0xf3]);
    chain
        .anvil_set_code(audited, audited_code.clone())
        .await
        .unwrap();
    chain
        .anvil_set_code(other, Bytes::from_static(&[0x00]))
        .await
        .unwrap();

    let unchecked = VerifierCheck::new(AgentAllowlist::default());
    assert!(
        unchecked.accepts(&chain, other).await.unwrap(),
        "no code hashes: not checked"
    );

    let pinned = VerifierCheck::new(AgentAllowlist {
        agent_hashes: Vec::new(),
        verifier_code_hashes: vec![keccak256(&audited_code)],
    });
    assert!(pinned.accepts(&chain, audited).await.unwrap());
    assert!(!pinned.accepts(&chain, other).await.unwrap());
    assert!(
        !pinned
            .accepts(&chain, Address::repeat_byte(0xc3))
            .await
            .unwrap(),
        "an account without code is no verifier"
    );
    // Remembered: a registered agent's verifier cannot change its code.
    chain
        .anvil_set_code(audited, Bytes::from_static(&[0x00]))
        .await
        .unwrap();
    assert!(pinned.accepts(&chain, audited).await.unwrap());
}
