//! The shipped reference model: its hash is pinned, it decodes, and every copy of it in the
//! repository (JSON view, the forge tests' Solidity constant) is the same model.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use alloy::primitives::{Address, keccak256};
use warden_agent::model::ModelJson;
use warden_agent::{
    Agent, Model, NUM_ACTIONS, NUM_FEATURES, REFERENCE_MODEL_BYTES, REFERENCE_MODEL_HASH,
    reference_agent, reference_model,
};

#[test]
fn shipped_model_hash_is_pinned_and_it_decodes() {
    assert_eq!(keccak256(REFERENCE_MODEL_BYTES), REFERENCE_MODEL_HASH);
    let model = reference_model().unwrap();
    assert_eq!(model.hash(), REFERENCE_MODEL_HASH);
    assert_eq!(model.to_bytes(), REFERENCE_MODEL_BYTES);
    let dims: Vec<usize> = std::iter::once(model.layers()[0].inputs())
        .chain(model.layers().iter().map(|l| l.outputs()))
        .collect();
    assert_eq!(dims, vec![NUM_FEATURES, 16, 16, NUM_ACTIONS]);
}

#[test]
fn json_view_describes_the_same_model() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/reference.json");
    let view: ModelJson = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(Model::from_json(&view).unwrap(), reference_model().unwrap());
}

#[test]
fn forge_tests_embed_the_same_model() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/test/agent/ReferenceModel.sol"
    );
    let source = std::fs::read_to_string(path).unwrap();
    let hex: String = source
        .split("hex\"")
        .skip(1)
        .map(|chunk| chunk.split('"').next().unwrap())
        .collect();
    assert_eq!(
        alloy::hex::decode(hex).unwrap(),
        REFERENCE_MODEL_BYTES,
        "regenerate with: cargo run -p warden-agent --example train_reference -- --solidity contracts/test/agent/ReferenceModel.sol"
    );
}

#[test]
fn reference_agent_hash_commits_to_model_and_router() {
    let a = reference_agent(Address::repeat_byte(1)).unwrap();
    let b = reference_agent(Address::repeat_byte(2)).unwrap();
    assert_ne!(a.agent_hash(), b.agent_hash());
    assert_eq!(
        a.agent_hash(),
        warden_agent::agent_hash(REFERENCE_MODEL_HASH, a.params())
    );
}
