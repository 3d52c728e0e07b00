//! Byzantine operators for the devnet: they run an agent that claims the honest agent's hash
//! but commits another run, and they sign what it decides. It shows what Warden does about a
//! corrupted quorum: challengers cancel the action and slash its signers, and without them the
//! vault's cryptoeconomic bound caps what one action can take.
//!
//! For a large agent, whose signers commit the run's activation trace, each [`Lie`] is one of the
//! ways a committed run can be wrong, and each is proven with one step of the run in one
//! transaction (`challengeTrace`).

use std::sync::Arc;

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::SolCall;
use warden_agent::network::Alteration;
use warden_agent::{Action, ActionKind, Agent, AgentError, AgentInput, Decision, NetworkAgent};
use warden_bindings::uniswap::UniswapV2Router02::swapExactTokensForTokensCall;

/// Seconds a stolen swap stays valid after its snapshot.
const THEFT_DEADLINE_SECONDS: u64 = 300;

/// What byzantine operators commit instead of the honest run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lie {
    /// Sell the vault's base token to the attacker ([`ThievingAgent`]), on the honest run's
    /// trace: for a large agent, lie (b) of issue 14, the honest trace with another action.
    #[default]
    Theft,
    /// Lie (a): one neuron of a middle layer changed and carried through honestly, the action
    /// being whatever the altered run decodes to. Large agents only.
    CarriedNeuron,
    /// Lie (c): the honest action with a trace inconsistent with it (one chunk hash of a middle
    /// layer replaced). Large agents only.
    InconsistentTrace,
}

impl Lie {
    /// Every lie by the name `--lie` takes.
    pub const ALL: [Self; 3] = [Self::Theft, Self::CarriedNeuron, Self::InconsistentTrace];

    /// `theft`, `carried-neuron` or `inconsistent-trace`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Theft => "theft",
            Self::CarriedNeuron => "carried-neuron",
            Self::InconsistentTrace => "inconsistent-trace",
        }
    }

    /// The lie named `name` ([`Lie::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|lie| lie.name() == name)
    }

    /// Whether the lie needs a large agent (one whose runs have a trace to lie about).
    pub fn needs_trace(self) -> bool {
        self != Self::Theft
    }
}

/// An agent that sells the vault's base token to an attacker's address, with no minimum output,
/// as much as `theft_cap` per task: a rational thief sizes each theft at what the vault's bound
/// lets through. While the vault has no base token left it decides like the honest agent, so it
/// only ever signs something different when there is something to take. Its trace is the honest
/// run's: it claims the honest computation and commits another action.
#[derive(Debug)]
pub struct ThievingAgent {
    honest: Arc<dyn Agent>,
    router: Address,
    attacker: Address,
    theft_cap: U256,
}

impl ThievingAgent {
    /// A thief claiming to be `honest`, trading through `router`.
    pub fn new(
        honest: Arc<dyn Agent>,
        router: Address,
        attacker: Address,
        theft_cap: U256,
    ) -> Self {
        Self {
            honest,
            router,
            attacker,
            theft_cap,
        }
    }
}

impl Agent for ThievingAgent {
    /// The honest agent's hash: a corrupted operator lies about what it runs.
    fn agent_hash(&self) -> B256 {
        self.honest.agent_hash()
    }

    fn decide(&self, input: &AgentInput) -> Result<Action, AgentError> {
        Ok(self.decide_traced(input)?.action)
    }

    fn decide_traced(&self, input: &AgentInput) -> Result<Decision, AgentError> {
        let honest = self.honest.decide_traced(input)?;
        let amount = input.balanceBase.min(self.theft_cap);
        if amount.is_zero() {
            return Ok(honest);
        }
        let swap = swapExactTokensForTokensCall {
            amountIn: amount,
            amountOutMin: U256::ZERO,
            path: vec![input.tokenBase, input.tokenQuote],
            to: self.attacker,
            deadline: U256::from(input.timestamp.saturating_add(THEFT_DEADLINE_SECONDS)),
        };
        Ok(Decision {
            action: Action {
                kind: ActionKind::Sell,
                target: self.router,
                value: U256::ZERO,
                data: swap.abi_encode().into(),
            },
            trace: honest.trace,
        })
    }
}

/// A large agent's liar for [`Lie::CarriedNeuron`] and [`Lie::InconsistentTrace`]: it claims the
/// honest agent's hash and commits, for every task, a run that differs from the honest one at a
/// middle layer.
#[derive(Debug)]
pub struct TraceLiar {
    honest: Arc<NetworkAgent>,
    lie: Lie,
}

impl TraceLiar {
    /// The liar telling `lie` about `honest`'s runs; `None` for a lie that is not about a trace.
    pub fn new(honest: Arc<NetworkAgent>, lie: Lie) -> Option<Self> {
        lie.needs_trace().then_some(Self { honest, lie })
    }

    /// The middle hidden layer, and its middle neuron: where the lies depart from the honest
    /// run, so that the proof needs a committed layer input and a weight chunk from the middle of
    /// the model.
    fn middle(&self) -> (usize, usize) {
        let layers = self.honest.network().layers();
        let layer = layers.len().saturating_sub(2) / 2;
        let neuron = layers.get(layer).map_or(0, |shape| shape.outputs / 2);
        (layer, neuron)
    }
}

impl Agent for TraceLiar {
    fn agent_hash(&self) -> B256 {
        self.honest.agent_hash()
    }

    fn decide(&self, input: &AgentInput) -> Result<Action, AgentError> {
        Ok(self.decide_traced(input)?.action)
    }

    fn decide_traced(&self, input: &AgentInput) -> Result<Decision, AgentError> {
        let (layer, neuron) = self.middle();
        match self.lie {
            Lie::CarriedNeuron => {
                let features = warden_agent::features::price_matrix(input)?;
                let honest = self
                    .honest
                    .network()
                    .evaluate(&features)
                    .map_err(|error| AgentError::Other(Box::new(error)))?;
                let was = honest
                    .hidden
                    .get(layer)
                    .and_then(|values| values.get(neuron))
                    .copied()
                    .unwrap_or(0);
                // Another activation in [0, 127], whatever the honest one was.
                let value = i8::MAX.saturating_sub(was);
                self.honest.decide_altered(
                    input,
                    Alteration {
                        layer,
                        neuron,
                        value,
                    },
                )
            }
            // A theft is a ThievingAgent's lie; a TraceLiar is never made for one.
            Lie::InconsistentTrace | Lie::Theft => {
                let mut decision = self.honest.decide_traced(input)?;
                let position = self
                    .honest
                    .network()
                    .layers()
                    .iter()
                    .take(layer)
                    .map(|shape| shape.chunks(self.honest.network().chunk_rows()))
                    .sum::<usize>();
                if let Some(hash) = decision.trace.get_mut(position) {
                    *hash = keccak256(hash.as_slice());
                }
                Ok(decision)
            }
        }
    }
}
