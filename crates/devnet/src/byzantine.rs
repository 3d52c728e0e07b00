//! Byzantine operators for the devnet: they run an agent that claims the honest agent's hash
//! but decides to steal, and they sign what it decides. It shows what Warden does about a
//! corrupted quorum: challengers cancel the action and slash its signers, and without them the
//! vault's cryptoeconomic bound caps what one action can take.

use std::sync::Arc;

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::SolCall;
use warden_agent::{Action, ActionKind, Agent, AgentError, AgentInput, MlpAgent};
use warden_bindings::uniswap::UniswapV2Router02::swapExactTokensForTokensCall;

/// Seconds a stolen swap stays valid after its snapshot.
const THEFT_DEADLINE_SECONDS: u64 = 300;

/// An agent that sells the vault's base token to an attacker's address, with no minimum output,
/// as much as `theft_cap` per task: a rational thief sizes each theft at what the vault's bound
/// lets through. While the vault has no base token left it decides like the honest agent, so it
/// only ever signs something different when there is something to take.
#[derive(Debug)]
pub struct ThievingAgent {
    honest: Arc<MlpAgent>,
    router: Address,
    attacker: Address,
    theft_cap: U256,
}

impl ThievingAgent {
    pub fn new(honest: Arc<MlpAgent>, attacker: Address, theft_cap: U256) -> Self {
        let router = honest.params().router;
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
        let amount = input.balanceBase.min(self.theft_cap);
        if amount.is_zero() {
            return self.honest.decide(input);
        }
        let swap = swapExactTokensForTokensCall {
            amountIn: amount,
            amountOutMin: U256::ZERO,
            path: vec![input.tokenBase, input.tokenQuote],
            to: self.attacker,
            deadline: U256::from(input.timestamp.saturating_add(THEFT_DEADLINE_SECONDS)),
        };
        Ok(Action {
            kind: ActionKind::Sell,
            target: self.router,
            value: U256::ZERO,
            data: swap.abi_encode().into(),
        })
    }
}
