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
use crate::network::{Alteration, Evaluation, Network, NetworkError};
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
    /// The network has more output chunks than a committed trace may hold.
    #[error(
        "the network's trace has {0} chunk hashes; a commitment carries at most {max} (use larger chunks)",
        max = warden_protocol::MAX_TRACE_LENGTH
    )]
    TraceTooLong(usize),
    /// The decoding's parameters are out of range.
    #[error(transparent)]
    Params(#[from] ParamsError),
}

/// Why a model file was not loaded as the configured large agent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The file is not a valid WNET network; the error names the first problem.
    #[error("the model file is not a valid WNET v1 network: {0}")]
    Malformed(#[from] NetworkError),
    /// The network cannot be a large agent.
    #[error(transparent)]
    Agent(#[from] NetworkAgentError),
    /// The file (with the configured parameters) is another agent than the configured one.
    #[error(
        "the model file makes agent {actual} with these parameters, not the configured agent {expected}: \
         a different file, or different parameters"
    )]
    HashMismatch { expected: B256, actual: B256 },
}

/// The reference shapes of large agents: weights generated from a seed ([`Network::generate`]),
/// randomly initialised, not trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// 256 → 1024 → 1024 (residual) → 512 → 3 in 32-neuron chunks: 1.84 M parameters, 81 chunks.
    Large,
    /// 256 → 2048 → 2048 (residual) → 2048 (residual) → 512 → 3 in 16-neuron chunks: 9.97 M
    /// parameters, 417 chunks.
    TenMillion,
}

impl Preset {
    /// The seed every preset's weights are drawn from.
    pub const SEED: u64 = 14;

    /// The preset's network.
    pub fn generate(self) -> Result<Network, NetworkError> {
        match self {
            Self::Large => Network::generate(
                PRICE_MATRIX_WIDTH,
                &[1024, 1024, 512, 3],
                &[1],
                32,
                Self::SEED,
            ),
            Self::TenMillion => Network::generate(
                PRICE_MATRIX_WIDTH,
                &[2048, 2048, 2048, 512, 3],
                &[1, 2],
                16,
                Self::SEED,
            ),
        }
    }

    /// The preset's name, as `warden model generate --preset` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Large => "large",
            Self::TenMillion => "10m",
        }
    }
}

/// The agent hash of a network (by its hash) with the decoding's parameters.
pub fn network_agent_hash(network_hash: B256, params: &Params) -> B256 {
    keccak256((NETWORK_AGENT_CODE_VERSION, network_hash, params.to_sol()).abi_encode_params())
}

/// One step of a run that shows a committed run wrong: what a challenger hands
/// `NetworkAgentVerifier.disproves` (its `TraceStep`), found by [`NetworkAgent::find_fraud`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FraudStep {
    /// The committed trace has `committed` chunk hashes where the network has `expected`.
    TraceLength { committed: usize, expected: usize },
    /// Chunk `chunk` of layer `layer` is not what the layer computes from its committed input.
    OutputChunk {
        layer: usize,
        chunk: usize,
        /// The layer's input as the trace commits it (empty for layer 0, whose input the verifier
        /// computes from the snapshot): the previous layer's whole output, a byte per activation.
        layer_input: Vec<u8>,
        /// The chunk's weight rows and biases, as the network file holds them.
        weights: Vec<u8>,
        /// Their Merkle proof under the network's weights root.
        siblings: Vec<B256>,
    },
    /// The committed logits (four big-endian bytes each) decode to another action than the
    /// committed one.
    DecodedAction { logits: Vec<u8> },
}

impl FraudStep {
    /// `TraceStep.kind` of the step.
    pub fn kind(&self) -> u8 {
        match self {
            Self::TraceLength { .. } => 0,
            Self::OutputChunk { .. } => 1,
            Self::DecodedAction { .. } => 2,
        }
    }
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
        let chunks = network.chunk_count();
        if chunks > warden_protocol::MAX_TRACE_LENGTH {
            return Err(NetworkAgentError::TraceTooLong(chunks));
        }
        let agent_hash = network_agent_hash(network.hash(), &params);
        Ok(Self {
            network,
            params,
            agent_hash,
        })
    }

    /// The large agent of a model file's bytes, refused unless the file parses as a WNET network
    /// (the error names the first problem) and makes, with `params`, exactly the agent `expected`:
    /// what an operator or a challenger checks before running a model it was pointed at.
    pub fn load(bytes: Vec<u8>, params: Params, expected: B256) -> Result<Self, LoadError> {
        let agent = Self::new(Network::from_bytes(bytes)?, params)?;
        if agent.agent_hash != expected {
            return Err(LoadError::HashMismatch {
                expected,
                actual: agent.agent_hash,
            });
        }
        Ok(agent)
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The decoding's parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The first step at which a committed run (`output` and `trace` on `input`) departs from this
    /// agent's own, or `None` if the committed run is the agent's. The order is the proof's: a
    /// trace of another length is wrong as a whole; else the first chunk whose hash differs, whose
    /// layer input is then still the committed one (every earlier chunk matched); else the logits,
    /// which the trace then commits as computed here, decode to another action.
    pub fn find_fraud(
        &self,
        input: &AgentInput,
        output: &[u8],
        trace: &[B256],
    ) -> Result<Option<FraudStep>, AgentError> {
        let evaluation = self.run(input)?;
        let honest: Vec<B256> = evaluation.trace.layers.iter().flatten().copied().collect();
        if trace.len() != honest.len() {
            return Ok(Some(FraudStep::TraceLength {
                committed: trace.len(),
                expected: honest.len(),
            }));
        }
        if let Some(index) = trace.iter().zip(&honest).position(|(c, h)| c != h) {
            let missing = || {
                AgentError::Other(
                    format!("the network has no chunk at trace position {index}").into(),
                )
            };
            let (layer, chunk) = self.network.chunk_position(index).ok_or_else(missing)?;
            let layer_input = match layer {
                0 => Vec::new(),
                layer => evaluation.hidden[layer - 1]
                    .iter()
                    .map(|&v| v as u8)
                    .collect(),
            };
            let weights = self.network.weight_chunk(layer, chunk).map(<[u8]>::to_vec);
            let proof = self.network.weight_proof(layer, chunk);
            let (Some(weights), Some((_, siblings))) = (weights, proof) else {
                return Err(AgentError::Other(
                    format!("the network has no weight chunk {chunk} in layer {layer}").into(),
                ));
            };
            return Ok(Some(FraudStep::OutputChunk {
                layer,
                chunk,
                layer_input,
                weights,
                siblings,
            }));
        }
        let logits = three_logits(&evaluation.logits)?;
        if self.decode(logits, input).encode().as_ref() != output {
            return Ok(Some(FraudStep::DecodedAction {
                logits: logits.iter().flat_map(|l| l.to_be_bytes()).collect(),
            }));
        }
        Ok(None)
    }

    /// The network's run on `input`'s price matrix.
    fn run(&self, input: &AgentInput) -> Result<Evaluation, AgentError> {
        self.network
            .evaluate(&price_matrix(input)?)
            .map_err(|error: NetworkError| AgentError::Other(Box::new(error)))
    }

    /// The decision of a run in which one hidden activation was altered and carried through
    /// ([`Network::evaluate_altered`]): what a byzantine operator of the devnet commits to show
    /// the one-step fraud proof at work.
    pub fn decide_altered(
        &self,
        input: &AgentInput,
        alteration: Alteration,
    ) -> Result<Decision, AgentError> {
        let evaluation = self
            .network
            .evaluate_altered(&price_matrix(input)?, alteration)
            .map_err(|error: NetworkError| AgentError::Other(Box::new(error)))?;
        self.decision(evaluation, input)
    }

    /// The action a run's logits decode to, with the run's trace.
    fn decision(&self, evaluation: Evaluation, input: &AgentInput) -> Result<Decision, AgentError> {
        let logits = three_logits(&evaluation.logits)?;
        Ok(Decision {
            action: self.decode(logits, input),
            trace: evaluation.trace.layers.into_iter().flatten().collect(),
        })
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
        self.decision(self.run(input)?, input)
    }

    fn network(&self) -> Option<&NetworkAgent> {
        Some(self)
    }
}

/// The network's outputs as the decoder's three logits (a validated network ends in three).
fn three_logits(logits: &[i32]) -> Result<[i32; NUM_ACTIONS], AgentError> {
    logits
        .try_into()
        .map_err(|_| AgentError::Other("the network does not end in three logits".into()))
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

    fn rising_prices() -> AgentInput {
        AgentInput {
            priceHistory: (0..16u64)
                .map(|i| U256::from(2_000_000u64 + 4_000 * i) * U256::from(1_000_000_000_000u64))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_agent_s_own_run_holds_no_fraud() {
        let agent = agent();
        let input = rising_prices();
        let run = agent.decide_traced(&input).unwrap();
        assert_eq!(
            agent
                .find_fraud(&input, &run.action.encode(), &run.trace)
                .unwrap(),
            None
        );
    }

    #[test]
    fn the_first_departure_of_a_committed_run_is_found() {
        let agent = agent();
        let input = rising_prices();
        let run = agent.decide_traced(&input).unwrap();
        let output = run.action.encode();

        let mut short = run.trace.clone();
        short.pop();
        assert_eq!(
            agent.find_fraud(&input, &output, &short).unwrap(),
            Some(FraudStep::TraceLength {
                committed: run.trace.len() - 1,
                expected: run.trace.len()
            })
        );

        // Layers of 16, 16 and 3 outputs in chunks of 4: position 5 is chunk 1 of layer 1, whose
        // input is layer 0's output and whose weights prove under the root.
        let mut replaced = run.trace.clone();
        replaced[5] = B256::repeat_byte(0x55);
        replaced[7] = B256::repeat_byte(0x77);
        let Some(FraudStep::OutputChunk {
            layer,
            chunk,
            layer_input,
            weights,
            siblings,
        }) = agent.find_fraud(&input, &output, &replaced).unwrap()
        else {
            panic!("a replaced chunk is an output-chunk fraud");
        };
        assert_eq!((layer, chunk), (1, 1), "the first replaced chunk");
        assert_eq!(layer_input.len(), 16);
        assert_eq!(weights, agent.network().weight_chunk(1, 1).unwrap());
        let (leaf, proof) = agent.network().weight_proof(1, 1).unwrap();
        assert_eq!((leaf, siblings), (5, proof));

        let other = Action::hold().encode();
        let expected = if run.action.is_hold() {
            crate::Action {
                kind: ActionKind::Sell,
                ..Action::hold()
            }
            .encode()
        } else {
            other
        };
        let Some(FraudStep::DecodedAction { logits }) =
            agent.find_fraud(&input, &expected, &run.trace).unwrap()
        else {
            panic!("another action is a decoding fraud");
        };
        assert_eq!(logits.len(), 12, "three big-endian int32 logits");
    }

    /// Lie (a) of issue 14: one neuron of a middle layer changed and carried through. The trace
    /// matches the honest one up to the altered chunk and departs there, which is the step found.
    #[test]
    fn a_neuron_changed_and_carried_through_departs_at_its_chunk() {
        let agent = agent();
        let input = rising_prices();
        let honest = agent.decide_traced(&input).unwrap();
        let evaluation = agent
            .network()
            .evaluate(&price_matrix(&input).unwrap())
            .unwrap();
        // Neuron 6 of layer 0: chunk 1 of rows of 4, trace position 1.
        let value = if evaluation.hidden[0][6] == 0 { 90 } else { 0 };
        let alteration = Alteration {
            layer: 0,
            neuron: 6,
            value,
        };
        let lie = agent.decide_altered(&input, alteration).unwrap();
        assert_eq!(lie.trace[..1], honest.trace[..1]);
        assert_ne!(lie.trace[1], honest.trace[1]);
        let Some(FraudStep::OutputChunk { layer, chunk, .. }) = agent
            .find_fraud(&input, &lie.action.encode(), &lie.trace)
            .unwrap()
        else {
            panic!("a carried-through change is an output-chunk fraud");
        };
        assert_eq!((layer, chunk), (0, 1));
        // The logits' layer cannot be altered: its values are not activations.
        let last = Alteration {
            layer: 2,
            neuron: 0,
            value: 1,
        };
        assert_eq!(agent.decide_altered(&input, last).unwrap(), honest);
    }

    #[test]
    fn a_model_file_loads_only_as_the_configured_agent() {
        let agent = agent();
        let params = *agent.params();
        let bytes = agent.network().as_bytes().to_vec();
        let loaded = NetworkAgent::load(bytes.clone(), params, agent.agent_hash()).unwrap();
        assert_eq!(loaded.agent_hash(), agent.agent_hash());

        let other = B256::repeat_byte(0xab);
        let mismatch = NetworkAgent::load(bytes.clone(), params, other).unwrap_err();
        assert_eq!(
            mismatch,
            LoadError::HashMismatch {
                expected: other,
                actual: agent.agent_hash()
            }
        );
        assert!(
            mismatch.to_string().contains(&other.to_string()),
            "{mismatch}"
        );

        // Other parameters make another agent of the same file.
        let mut router = params;
        router.router = Address::repeat_byte(2);
        assert!(matches!(
            NetworkAgent::load(bytes.clone(), router, agent.agent_hash()),
            Err(LoadError::HashMismatch { .. })
        ));

        let mut bad_magic = bytes.clone();
        bad_magic[0] = b'X';
        let error = NetworkAgent::load(bad_magic, params, agent.agent_hash()).unwrap_err();
        assert!(matches!(
            error,
            LoadError::Malformed(NetworkError::BadMagic { .. })
        ));
        assert!(
            error.to_string().contains("not a WNET network file"),
            "{error}"
        );

        let mut bad_decoder = bytes.clone();
        bad_decoder[12] = 9;
        let error = NetworkAgent::load(bad_decoder, params, agent.agent_hash()).unwrap_err();
        assert_eq!(error, LoadError::Malformed(NetworkError::UnknownDecoder(9)));

        let truncated = bytes[..bytes.len() - 1].to_vec();
        let error = NetworkAgent::load(truncated, params, agent.agent_hash()).unwrap_err();
        assert!(
            matches!(error, LoadError::Malformed(NetworkError::Truncated { .. })),
            "{error}"
        );
    }

    #[test]
    fn the_presets_are_the_sizes_they_claim() {
        let large = Preset::Large.generate().unwrap();
        assert_eq!(large.parameters(), 1_839_107);
        let chunks = large.chunk_count();
        assert_eq!(chunks, 81, "the trace's length");
        assert_eq!(Preset::Large.name(), "large");
        // The 10 M preset is generated in the end-to-end test and the CLI, not here: a debug
        // build takes seconds to draw ten million weights.
    }

    #[test]
    fn a_network_whose_trace_no_commitment_can_carry_is_refused() {
        // 256 -> 1,025 -> 3 in one-neuron chunks: 1,028 chunk hashes.
        let long = Network::generate(PRICE_MATRIX_WIDTH, &[1025, 3], &[], 1, 3).unwrap();
        assert_eq!(
            NetworkAgent::new(long, Params::reference(Address::ZERO)).unwrap_err(),
            NetworkAgentError::TraceTooLong(1028)
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
