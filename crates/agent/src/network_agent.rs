//! The large reference agent (issue #14): a WNET network ([`crate::network`]) over the snapshot's
//! price matrix ([`crate::features::price_matrix`]), whose three logits decode to an action exactly
//! as the reference MLP's ([`crate::mlp::decide`], [`crate::mlp::size_bps`],
//! [`crate::mlp::encode_action`]). `NetworkAgentVerifier.sol` is its on-chain twin: it cannot run
//! the network, but it judges any one step of a run against the run's committed trace.
//!
//! The agent hash is `keccak256(abi.encode(keccak256("warden.agent.network.v1"), networkHash,
//! params))`, the network hash binding the header and every weight.

use alloy::primitives::{B256, b256, keccak256};
use alloy::sol_types::SolValue;

use crate::features::{PRICE_MATRIX_WIDTH, price_matrix};
use crate::mlp::{Params, ParamsError, decide, encode_action, size_bps};
use crate::model::NUM_ACTIONS;
use crate::network::{Network, NetworkError};
use crate::types::{Action, ActionKind, AgentInput};
use crate::{Agent, AgentError, Decision};

/// `keccak256("warden.agent.network.v1")`: any change to the features, the network arithmetic, the
/// trace or the decoding must change it.
pub const NETWORK_AGENT_CODE_VERSION: B256 =
    b256!("0x3f4b18056afe6d7ee59588f99e6bc1138fccb1bb704c977c95aeffe5f5c5f8ec");

/// The string whose keccak256 is [`NETWORK_AGENT_CODE_VERSION`].
pub const NETWORK_AGENT_CODE_VERSION_PREIMAGE: &str = "warden.agent.network.v1";

/// Why a network and parameters do not make a large agent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkAgentError {
    /// The network reads another input than the 256-entry price matrix.
    #[error(
        "the network reads {0} inputs; the large agent feeds it the {PRICE_MATRIX_WIDTH}-entry price matrix"
    )]
    InputWidth(usize),
    /// The decoding's parameters are out of range.
    #[error(transparent)]
    Params(#[from] ParamsError),
}

/// The agent hash of a network (by its hash) with the decoding's parameters.
pub fn network_agent_hash(network_hash: B256, params: &Params) -> B256 {
    keccak256((NETWORK_AGENT_CODE_VERSION, network_hash, params.to_sol()).abi_encode_params())
}

/// A large agent: a validated network and the decoding's parameters.
#[derive(Debug, Clone)]
pub struct NetworkAgent {
    network: Network,
    params: Params,
    agent_hash: B256,
}

impl NetworkAgent {
    /// The agent running `network` with `params`.
    pub fn new(network: Network, params: Params) -> Result<Self, NetworkAgentError> {
        params.validate()?;
        if network.input_width() != PRICE_MATRIX_WIDTH {
            return Err(NetworkAgentError::InputWidth(network.input_width()));
        }
        let agent_hash = network_agent_hash(network.hash(), &params);
        Ok(Self {
            network,
            params,
            agent_hash,
        })
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The decoding's parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The action the network's logits decode to on `input`.
    pub fn decode(&self, logits: [i32; NUM_ACTIONS], input: &AgentInput) -> Action {
        let (decision, margin) = decide(&logits);
        let size = match decision {
            ActionKind::Hold => 0,
            ActionKind::Buy | ActionKind::Sell => size_bps(margin, &self.params),
        };
        encode_action(decision, size, input, &self.params)
    }
}

impl Agent for NetworkAgent {
    fn agent_hash(&self) -> B256 {
        self.agent_hash
    }

    fn decide(&self, input: &AgentInput) -> Result<Action, AgentError> {
        Ok(self.decide_traced(input)?.action)
    }

    fn decide_traced(&self, input: &AgentInput) -> Result<Decision, AgentError> {
        let features = price_matrix(input)?;
        let evaluation = self
            .network
            .evaluate(&features)
            .map_err(|error: NetworkError| AgentError::Other(Box::new(error)))?;
        let logits: [i32; NUM_ACTIONS] =
            evaluation.logits.as_slice().try_into().map_err(|_| {
                AgentError::Other("the network does not end in three logits".into())
            })?;
        Ok(Decision {
            action: self.decode(logits, input),
            trace: evaluation.trace.layers.into_iter().flatten().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Address, U256};

    fn agent() -> NetworkAgent {
        let network = Network::generate(PRICE_MATRIX_WIDTH, &[16, 16, 3], &[1], 4, 7).unwrap();
        NetworkAgent::new(network, Params::reference(Address::repeat_byte(1))).unwrap()
    }

    #[test]
    fn code_version_is_the_hash_of_its_preimage() {
        assert_eq!(
            NETWORK_AGENT_CODE_VERSION,
            keccak256(NETWORK_AGENT_CODE_VERSION_PREIMAGE)
        );
    }

    #[test]
    fn a_run_yields_an_action_and_the_network_s_whole_trace() {
        let agent = agent();
        let input = AgentInput {
            priceHistory: (0..16u64)
                .map(|i| {
                    U256::from(2_000_000u64 + 3_000 * i) * U256::from(10u64).pow(U256::from(12u8))
                })
                .collect(),
            ..Default::default()
        };
        let decision = agent.decide_traced(&input).unwrap();
        assert_eq!(decision.action, agent.decide(&input).unwrap());
        let evaluation = agent
            .network()
            .evaluate(&price_matrix(&input).unwrap())
            .unwrap();
        assert_eq!(decision.trace.len(), evaluation.trace.len());
        assert_eq!(
            warden_trace_hash(&decision.trace),
            evaluation.trace.hash(),
            "the flat trace hashes as the network's"
        );
    }

    #[test]
    fn only_a_price_matrix_network_makes_a_large_agent() {
        let narrow = Network::generate(9, &[4, 3], &[], 2, 1).unwrap();
        assert_eq!(
            NetworkAgent::new(narrow, Params::reference(Address::ZERO)).unwrap_err(),
            NetworkAgentError::InputWidth(9)
        );
    }

    fn warden_trace_hash(trace: &[B256]) -> B256 {
        keccak256(trace.iter().flat_map(|hash| hash.0).collect::<Vec<u8>>())
    }
}
