//! Warden's agent: the deterministic function `input snapshot → action` that every operator
//! runs and signs, and that challengers re-execute.
//!
//! - [`Agent`] is what the operator, aggregator and challenger depend on. An implementation is
//!   identified by its [`Agent::agent_hash`] and must have an on-chain verifier computing the
//!   same function (`IAgentVerifier`), or a wrong output could not be proven fraudulent.
//! - [`AgentInput`] and [`Action`] carry the canonical encodings whose hashes are signed.
//! - [`MlpAgent`] is the reference agent: integer features, an int8-quantized MLP and a
//!   Uniswap v2 swap, bit-exact with `contracts/src/agent/MlpPolicy.sol`. Its formulas are
//!   documented in [`features`], [`model`] and [`mlp`].
//! - [`network`] is the format of larger networks (millions of parameters), committed chunk by
//!   chunk so that a wrong run is provable one chunk at a time, and [`NetworkAgent`] the large
//!   agent that runs one over the snapshot's price matrix and keeps the run's trace (issue #14),
//!   judged on chain one step at a time by `NetworkAgentVerifier.sol`.
//!
//! Nothing on the path from input to action uses floating point.

pub mod features;
pub mod mlp;
pub mod model;
pub mod network;
pub mod network_agent;
pub mod splitmix;
mod types;

pub use features::{FeatureError, HISTORY_LEN};
pub use mlp::{
    AGENT_CODE_VERSION, Evaluation, MlpAgent, MlpParams, Params, ParamsError, agent_hash,
};
pub use model::{Model, ModelError, NUM_ACTIONS, NUM_FEATURES};
pub use network_agent::{
    FraudStep, LoadError, NetworkAgent, NetworkAgentError, Preset, network_agent_hash,
};
pub use types::{Action, ActionKind, AgentInput, DecodeError};

use alloy::primitives::B256;

/// A deterministic agent. Implementations must be pure functions of the input: same input,
/// same action, on every machine, forever (for a given agent hash).
pub trait Agent: Send + Sync + std::fmt::Debug {
    /// Commits to the code version, the model and the parameters: operators sign it, and the
    /// agent's on-chain verifier reports the same value.
    fn agent_hash(&self) -> B256;

    /// The action for `input`. An error means the input is outside the agent's domain; an
    /// honest operator then signs nothing.
    fn decide(&self, input: &AgentInput) -> Result<Action, AgentError>;

    /// The action for an input as the task manager publishes it (`abi.encode(AgentInput)`),
    /// refusing any encoding but the canonical one, whose hash is the task's `inputHash`.
    fn decide_encoded(&self, encoded_input: &[u8]) -> Result<Action, AgentError> {
        self.decide(&AgentInput::decode(encoded_input)?)
    }

    /// The action for `input` with the run's activation trace, the output-chunk hashes its
    /// signers commit to. An agent its verifier re-runs whole keeps no trace (the default: empty,
    /// whose hash is `warden_protocol::NO_TRACE`).
    fn decide_traced(&self, input: &AgentInput) -> Result<Decision, AgentError> {
        Ok(Decision {
            action: self.decide(input)?,
            trace: Vec::new(),
        })
    }

    /// The large agent behind this one, whose committed runs are judged one step at a time
    /// ([`NetworkAgent::find_fraud`], `challengeTrace`); `None` for an agent its verifier re-runs
    /// whole (the default), whose outputs are judged by `challenge`.
    fn network(&self) -> Option<&NetworkAgent> {
        None
    }
}

/// An action and the activation trace of the run that decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    /// The hashes of every output chunk, layer by layer; empty for an agent that keeps none.
    pub trace: Vec<B256>,
}

/// Why an agent produced no action.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The encoded input is not a canonical `abi.encode(AgentInput)`.
    #[error("agent input: {0}")]
    Input(#[from] DecodeError),
    /// The reference policy cannot compute its features from the input.
    #[error(transparent)]
    Features(#[from] FeatureError),
    /// Another agent's failure.
    #[error("agent failed: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The shipped reference model file (`models/reference.wmlp`, 608 bytes: 9 → 16 → 16 → 3), produced
/// by `cargo run -p warden-agent --example train_reference -- --out crates/agent/models/reference.wmlp`
/// (`--check FILE` verifies a file is reproduced exactly). `models/reference.json` is its JSON view.
pub const REFERENCE_MODEL_BYTES: &[u8] = include_bytes!("../models/reference.wmlp");

/// `keccak256` of [`REFERENCE_MODEL_BYTES`]; a test keeps the two in step.
pub const REFERENCE_MODEL_HASH: B256 =
    alloy::primitives::b256!("0x5bdbd637cd137e024ccb448e3b320eb882cb8b792d10e65c09103173da6bfa67");

/// The shipped reference model, decoded.
pub fn reference_model() -> Result<Model, ModelError> {
    Model::from_bytes(REFERENCE_MODEL_BYTES)
}

/// The reference agent (shipped model, [`Params::reference`]) for a deployment's router.
pub fn reference_agent(router: alloy::primitives::Address) -> Result<MlpAgent, ReferenceError> {
    Ok(MlpAgent::new(
        reference_model()?,
        Params::reference(router),
    )?)
}

/// The reference agent could not be built (a corrupted build, never expected).
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// The shipped model does not decode.
    #[error("reference model: {0}")]
    Model(#[from] ModelError),
    /// The reference parameters are out of range.
    #[error("reference params: {0}")]
    Params(#[from] ParamsError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Address, U256};

    #[test]
    fn agents_are_usable_as_trait_objects() {
        let agent: Box<dyn Agent> = Box::new(reference_agent(Address::repeat_byte(1)).unwrap());
        let input = AgentInput {
            priceHistory: vec![U256::from(2_000u64); 16],
            ..Default::default()
        };
        let action = agent.decide_encoded(&input.encode()).unwrap();
        assert_eq!(action, agent.decide(&input).unwrap());
        let mut bad = input.encode().to_vec();
        bad.push(0);
        assert!(matches!(
            agent.decide_encoded(&bad),
            Err(AgentError::Input(_))
        ));
        let short = AgentInput::default();
        assert!(matches!(
            agent.decide(&short),
            Err(AgentError::Features(FeatureError::HistoryTooShort {
                length: 0
            }))
        ));
    }
}
