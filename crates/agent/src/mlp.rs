//! The reference agent: features → int8 MLP → decision → a Uniswap v2 swap or a hold.
//! `contracts/src/agent/MlpPolicy.sol` is the same function in Solidity.
//!
//! # Decision
//!
//! With logits `l = (hold, buy, sell)`: `best = argmax l`, ties going to the lowest index (so a
//! hold wins every tie); `margin = l[best] - max(l[i] for i != best)` (≥ 0);
//! `sizeBps = min(maxSizeBps, margin · sizeBpsPerLogit)`.
//!
//! # Action
//!
//! Hold if `best` is hold. Otherwise buy spends quote for base (`path = [tokenQuote, tokenBase]`,
//! `reserveIn = reserveQuote`, `reserveOut = reserveBase`) and sell spends base for quote
//! (`path = [tokenBase, tokenQuote]`, `reserveIn = reserveBase`, `reserveOut = reserveQuote`), and:
//!
//! - `amountIn = min(floor(balanceIn · sizeBps / 10000), floor(reserveIn · maxTradeBps / 10000))`
//!   (exact, also for values near 2^256): no trade moves the pool by more than `maxTradeBps`;
//! - hold if `amountIn == 0`, if `reserveOut == 0` (the router would revert), if `twapPrice == 0`
//!   (no price to ask a minimum output at), or if `amountIn > 2^112 - 1 - reserveIn` (the pair
//!   could not record the new reserve and would revert);
//! - `quoted = floor(amountIn · twapPrice / 10^18)` for a sell, `floor(amountIn · 10^18 /
//!   twapPrice)` for a buy (exact, in 512 bits): the input's value at the snapshot's TWAP, which
//!   no trade in the snapshot's block can move;
//! - `amountOutMin = floor(quoted · (10000 - slippageBps) / 10000)`; hold if it is 0 or above
//!   2^112 - 1 (no pair can pay out more than a uint112 reserve);
//! - the action is `(kind, router, 0, swapExactTokensForTokens(amountIn, amountOutMin, path,
//!   vault, timestamp + deadlineSeconds))`.
//!
//! The slippage is measured from the TWAP, not from the pool's quote, so it must cover the pool's
//! 0.3 % fee, the price impact of the largest trade (about `maxTradeBps`) and how far the vault
//! lets the spot price stray from the TWAP at execution (`WardenVault.maxPriceDeviationBps`).
//! A sandwich of the execution can take at most the slippage.
//!
//! # Agent hash
//!
//! `agentHash = keccak256(abi.encode(AGENT_CODE_VERSION, modelHash, router, slippageBps,
//! deadlineSeconds, maxSizeBps, sizeBpsPerLogit, maxTradeBps))` with the parameters' Solidity
//! types (`address, uint16, uint32, uint16, uint32, uint16`).

use alloy::primitives::aliases::U112;
use alloy::primitives::{Address, B256, Bytes, U256, U512, b256, keccak256};
use alloy::sol;
use alloy::sol_types::{SolCall, SolValue};
use serde::{Deserialize, Serialize};

use crate::features::{FeatureError, features};
use crate::model::{Model, NUM_ACTIONS, NUM_FEATURES};
use crate::types::{Action, ActionKind, AgentInput};
use crate::{Agent, AgentError};

/// The code version committed to by every agent hash: `keccak256("warden.agent.mlp.v2")`.
/// Any change to features, decision or encoding must change it (v2: the minimum output comes
/// from the snapshot's TWAP, and a trade is capped by the pool's reserve).
pub const AGENT_CODE_VERSION: B256 =
    b256!("0x7983945c588f7033da8803894107a14919b58c30761b507327bf74fff2df2b54");

/// The string whose keccak256 is [`AGENT_CODE_VERSION`].
pub const AGENT_CODE_VERSION_PREIMAGE: &str = "warden.agent.mlp.v2";

/// Basis points in one whole.
pub const BPS: u16 = 10_000;

sol! {
    /// The Uniswap v2 router function every swap calls.
    #[derive(Debug, PartialEq, Eq)]
    function swapExactTokensForTokens(
        uint256 amountIn,
        uint256 amountOutMin,
        address[] path,
        address to,
        uint256 deadline
    ) external returns (uint256[] amounts);

    /// `MlpPolicy.Params`, for the agent hash and for passing parameters to contracts.
    #[derive(Debug, PartialEq, Eq, Default)]
    struct MlpParams {
        address router;
        uint16 slippageBps;
        uint32 deadlineSeconds;
        uint16 maxSizeBps;
        uint32 sizeBpsPerLogit;
        uint16 maxTradeBps;
    }
}

/// The agent's parameters (part of its hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Params {
    /// The Uniswap v2 router the vault calls.
    pub router: Address,
    /// Tolerated shortfall of the output below the input's value at the snapshot's TWAP, in bps
    /// (≤ 10000). It must cover the pool's fee, the trade's price impact and the vault's
    /// tolerated spot-to-TWAP deviation, or honest trades fail.
    pub slippage_bps: u16,
    /// How long after the snapshot the swap stays valid.
    pub deadline_seconds: u32,
    /// Largest share of the relevant balance one action may spend, in bps (≤ 10000).
    pub max_size_bps: u16,
    /// Size, in bps, per unit of logit margin.
    pub size_bps_per_logit: u32,
    /// Largest trade as a share of the pool's reserve of the input token, in bps (≤ 10000).
    pub max_trade_bps: u16,
}

/// Parameters outside their ranges.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// `slippageBps > 10000` (`MlpPolicy.BadSlippage`).
    #[error("slippage {0} bps exceeds 10000")]
    BadSlippage(u16),
    /// `maxSizeBps > 10000` (`MlpPolicy.BadMaxSize`).
    #[error("maximum size {0} bps exceeds 10000")]
    BadMaxSize(u16),
    /// `maxTradeBps > 10000` (`MlpPolicy.BadMaxTrade`).
    #[error("maximum trade {0} bps of the pool exceeds 10000")]
    BadMaxTrade(u16),
}

impl Params {
    /// The reference agent's parameters for a deployment's `router`: five minutes to execute,
    /// at most 25 % of a balance and 0.25 % of the pool per action, one bps per logit unit of
    /// margin, and 2 % slippage from the TWAP. The slippage covers the pool's 0.3 % fee, the
    /// 0.25 % price impact of the largest trade, and the 1 % the vault lets the spot price stray
    /// from the TWAP by default (`WardenVault.DEFAULT_MAX_PRICE_DEVIATION_BPS`), with 0.45 % to
    /// spare; it is also the most a sandwich of the execution can take. The largest trade moves
    /// the pool's price by about 0.5 %, so two in a row in the same direction, before arbitrage
    /// or the TWAP catches up, still fit within the vault's tolerance. One unit of the
    /// reference model's logits is about 7.4e-5 on its training scale (one-hot targets), so a
    /// margin of 0.18 there, a clear decision, trades the maximum.
    pub const fn reference(router: Address) -> Self {
        Self {
            router,
            slippage_bps: 200,
            deadline_seconds: 300,
            max_size_bps: 2_500,
            size_bps_per_logit: 1,
            max_trade_bps: 25,
        }
    }

    /// Checks the ranges (`MlpPolicy.validateParams`).
    pub fn validate(&self) -> Result<(), ParamsError> {
        if self.slippage_bps > BPS {
            return Err(ParamsError::BadSlippage(self.slippage_bps));
        }
        if self.max_size_bps > BPS {
            return Err(ParamsError::BadMaxSize(self.max_size_bps));
        }
        if self.max_trade_bps > BPS {
            return Err(ParamsError::BadMaxTrade(self.max_trade_bps));
        }
        Ok(())
    }

    /// The Solidity struct `MlpPolicy.Params`.
    pub fn to_sol(&self) -> MlpParams {
        MlpParams {
            router: self.router,
            slippageBps: self.slippage_bps,
            deadlineSeconds: self.deadline_seconds,
            maxSizeBps: self.max_size_bps,
            sizeBpsPerLogit: self.size_bps_per_logit,
            maxTradeBps: self.max_trade_bps,
        }
    }

    /// `abi.encode(MlpPolicy.Params)`.
    pub fn encode(&self) -> Bytes {
        self.to_sol().abi_encode().into()
    }
}

/// `agentHash` for a model hash and parameters (see the module docs).
pub fn agent_hash(model_hash: B256, params: &Params) -> B256 {
    keccak256(
        (
            AGENT_CODE_VERSION,
            model_hash,
            params.to_sol(), // a static struct encodes inline, like its fields
        )
            .abi_encode_params(),
    )
}

/// Everything the policy computed on the way to an action, for logs, metrics and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The nine int8 features.
    pub features: [i8; NUM_FEATURES],
    /// The logits `(hold, buy, sell)`.
    pub logits: [i32; NUM_ACTIONS],
    /// The argmax (ties to the lowest index).
    pub decision: ActionKind,
    /// The size rule's output, 0 for a hold decision.
    pub size_bps: u16,
    /// The action, a hold whenever the swap would be empty or impossible.
    pub action: Action,
}

/// The reference agent: a validated model and parameters.
#[derive(Debug, Clone)]
pub struct MlpAgent {
    model: Model,
    params: Params,
    agent_hash: B256,
}

impl MlpAgent {
    /// The agent running `model` with `params`.
    pub fn new(model: Model, params: Params) -> Result<Self, ParamsError> {
        params.validate()?;
        let agent_hash = agent_hash(model.hash(), &params);
        Ok(Self {
            model,
            params,
            agent_hash,
        })
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Runs the whole policy, keeping the intermediate values.
    pub fn evaluate(&self, input: &AgentInput) -> Result<Evaluation, FeatureError> {
        let features = features(input)?;
        let logits = self.model.forward(&features);
        let (decision, margin) = decide(&logits);
        let size_bps = match decision {
            ActionKind::Hold => 0,
            ActionKind::Buy | ActionKind::Sell => size_bps(margin, &self.params),
        };
        let action = encode_action(decision, size_bps, input, &self.params);
        Ok(Evaluation {
            features,
            logits,
            decision,
            size_bps,
            action,
        })
    }
}

impl Agent for MlpAgent {
    fn agent_hash(&self) -> B256 {
        self.agent_hash
    }

    fn decide(&self, input: &AgentInput) -> Result<Action, AgentError> {
        Ok(self.evaluate(input)?.action)
    }
}

/// Argmax with ties to the lowest index, and the margin over the runner-up.
pub fn decide(logits: &[i32; NUM_ACTIONS]) -> (ActionKind, u64) {
    let mut best = 0;
    for i in 1..NUM_ACTIONS {
        if logits[i] > logits[best] {
            best = i;
        }
    }
    let runner_up = (0..NUM_ACTIONS)
        .filter(|&i| i != best)
        .map(|i| logits[i])
        .max()
        .unwrap_or(logits[best]);
    // Both are int32, so the difference fits; it is ≥ 0 because `best` is a maximum.
    let margin = (i64::from(logits[best]) - i64::from(runner_up)).unsigned_abs();
    let kind = match best {
        1 => ActionKind::Buy,
        2 => ActionKind::Sell,
        _ => ActionKind::Hold,
    };
    (kind, margin)
}

/// `min(maxSizeBps, margin · sizeBpsPerLogit)`; the product is below 2^64 · 2^32.
pub fn size_bps(margin: u64, params: &Params) -> u16 {
    let raw = u128::from(margin) * u128::from(params.size_bps_per_logit);
    u16::try_from(raw.min(u128::from(params.max_size_bps))).unwrap_or(params.max_size_bps)
}

/// `UniswapV2Library.getAmountOut`: what the pool pays for `amount_in` at the given reserves;
/// `None` where the library would revert (zero input or an empty reserve). The policy asks for
/// its minimum output at the TWAP, not this; it tells what a swap will receive. Callers keep
/// `amount_in + reserve_in < 2^112`, so nothing overflows.
pub fn get_amount_out(amount_in: U256, reserve_in: U256, reserve_out: U256) -> Option<U256> {
    if amount_in.is_zero() || reserve_in.is_zero() || reserve_out.is_zero() {
        return None;
    }
    let amount_in_with_fee = amount_in * U256::from(997u16);
    let numerator = amount_in_with_fee * reserve_out;
    let denominator = reserve_in * U256::from(1000u16) + amount_in_with_fee;
    Some(numerator / denominator)
}

/// 10^18: one unit of a 1e18 fixed-point price.
const WAD: u64 = 1_000_000_000_000_000_000;

/// `floor(amount_in · twap / 10^18)` for a sell, `floor(amount_in · 10^18 / twap)` for a buy:
/// the input's value at the TWAP, exact in 512 bits. `twap` must be nonzero.
fn quote_at_twap(amount_in: U256, twap: U256, sell: bool) -> U512 {
    let (amount_in, twap, wad) = (U512::from(amount_in), U512::from(twap), U512::from(WAD));
    if sell {
        amount_in * twap / wad
    } else {
        amount_in * wad / twap
    }
}

/// The action for a decision and size (see the module docs); a hold whenever the swap would be
/// empty or could not execute.
pub fn encode_action(
    decision: ActionKind,
    size_bps: u16,
    input: &AgentInput,
    params: &Params,
) -> Action {
    let (balance_in, reserve_in, reserve_out, path) = match decision {
        ActionKind::Hold => return Action::hold(),
        ActionKind::Buy => (
            input.balanceQuote,
            input.reserveQuote,
            input.reserveBase,
            vec![input.tokenQuote, input.tokenBase],
        ),
        ActionKind::Sell => (
            input.balanceBase,
            input.reserveBase,
            input.reserveQuote,
            vec![input.tokenBase, input.tokenQuote],
        ),
    };
    let reserve_in = U256::from(reserve_in);
    let amount_in = mul_bps(balance_in, size_bps).min(mul_bps(reserve_in, params.max_trade_bps));
    // The pair stores reserves as uint112: a swap that would push the input reserve past that
    // reverts on chain, so it is not an action.
    let room = U256::from(U112::MAX) - reserve_in;
    let twap = input.twapPrice;
    if amount_in.is_zero() || reserve_out.is_zero() || twap.is_zero() || amount_in > room {
        return Action::hold();
    }
    let quoted = quote_at_twap(amount_in, twap, decision == ActionKind::Sell);
    let keep = U512::from(BPS - params.slippage_bps.min(BPS));
    let amount_out_min = quoted * keep / U512::from(BPS);
    // No pair can pay out more than a uint112 reserve.
    if amount_out_min.is_zero() || amount_out_min > U512::from(U112::MAX) {
        return Action::hold();
    }
    let call = swapExactTokensForTokensCall {
        amountIn: amount_in,
        amountOutMin: U256::from(amount_out_min),
        path,
        to: input.vault,
        deadline: U256::from(input.timestamp) + U256::from(params.deadline_seconds),
    };
    Action {
        kind: decision,
        target: params.router,
        value: U256::ZERO,
        data: call.abi_encode().into(),
    }
}

/// `floor(amount · bps / 10000)`, exact for every uint256 amount.
fn mul_bps(amount: U256, bps: u16) -> U256 {
    let product = U512::from(amount) * U512::from(bps) / U512::from(BPS);
    // bps ≤ 10000, so the quotient is at most `amount`.
    U256::from(product)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_version_is_the_hash_of_its_preimage() {
        assert_eq!(
            keccak256(AGENT_CODE_VERSION_PREIMAGE.as_bytes()),
            AGENT_CODE_VERSION
        );
    }

    #[test]
    fn argmax_ties_go_to_the_lowest_index() {
        assert_eq!(decide(&[5, 5, 5]), (ActionKind::Hold, 0));
        assert_eq!(decide(&[4, 5, 5]), (ActionKind::Buy, 0));
        assert_eq!(decide(&[4, 5, 7]), (ActionKind::Sell, 2));
        assert_eq!(
            decide(&[i32::MIN, i32::MAX, i32::MIN]),
            (ActionKind::Buy, u64::from(u32::MAX))
        );
    }

    #[test]
    fn size_is_capped() {
        let params = Params {
            size_bps_per_logit: u32::MAX,
            ..Params::reference(Address::ZERO)
        };
        assert_eq!(size_bps(u64::from(u32::MAX), &params), 2_500);
        assert_eq!(size_bps(0, &params), 0);
        let params = Params::reference(Address::ZERO);
        assert_eq!(size_bps(100, &params), 100);
    }

    #[test]
    fn get_amount_out_matches_uniswap() {
        // 1 token into a 100/200 pool: 997·200 / (100·1000 + 997) = 1.974 → 1.
        let out = get_amount_out(U256::from(1u8), U256::from(100u8), U256::from(200u8));
        assert_eq!(out, Some(U256::from(1u8)));
        assert_eq!(
            get_amount_out(U256::ZERO, U256::from(1u8), U256::from(1u8)),
            None
        );
    }

    #[test]
    fn minimum_output_is_the_twap_value_less_the_slippage() {
        let params = Params {
            max_size_bps: BPS,
            ..Params::reference(Address::repeat_byte(7))
        };
        // 2000 quote per base; the pool is large enough that the reserve cap does not bind.
        let input = AgentInput {
            reserveBase: U112::from(1_000_000_000u64),
            reserveQuote: U112::from(2_000_000_000_000u64),
            balanceBase: U256::from(1_000u64),
            balanceQuote: U256::from(2_000_000u64),
            twapPrice: U256::from(2_000u64) * U256::from(WAD),
            ..Default::default()
        };
        let sell = encode_action(ActionKind::Sell, BPS, &input, &params);
        let call = swapExactTokensForTokensCall::abi_decode(&sell.data).unwrap();
        assert_eq!(call.amountIn, U256::from(1_000u64));
        // 1000 base at 2000 is 2 000 000 quote, less 2 %.
        assert_eq!(call.amountOutMin, U256::from(1_960_000u64));
        let buy = encode_action(ActionKind::Buy, BPS, &input, &params);
        let call = swapExactTokensForTokensCall::abi_decode(&buy.data).unwrap();
        assert_eq!(call.amountOutMin, U256::from(980u64));
        let no_price = AgentInput {
            twapPrice: U256::ZERO,
            ..input
        };
        assert_eq!(
            encode_action(ActionKind::Sell, BPS, &no_price, &params),
            Action::hold()
        );
    }

    #[test]
    fn a_trade_is_capped_by_the_pool_reserve() {
        let params = Params {
            max_size_bps: BPS,
            ..Params::reference(Address::repeat_byte(7))
        };
        let input = AgentInput {
            reserveBase: U112::from(1_000_000u64),
            reserveQuote: U112::from(2_000_000_000u64),
            balanceBase: U256::from(1_000_000u64),
            twapPrice: U256::from(2_000u64) * U256::from(WAD),
            ..Default::default()
        };
        let sell = encode_action(ActionKind::Sell, BPS, &input, &params);
        let call = swapExactTokensForTokensCall::abi_decode(&sell.data).unwrap();
        // 0.25 % of the base reserve.
        assert_eq!(call.amountIn, U256::from(2_500u64));
    }

    #[test]
    fn mul_bps_is_exact_near_the_top_of_uint256() {
        assert_eq!(mul_bps(U256::MAX, 10_000), U256::MAX);
        assert_eq!(mul_bps(U256::MAX, 5_000), U256::MAX / U256::from(2u8));
        assert_eq!(mul_bps(U256::from(9_999u16), 1), U256::ZERO);
    }

    #[test]
    fn a_swap_may_fill_the_pair_reserve_exactly_but_not_beyond() {
        let params = Params {
            max_size_bps: BPS,
            max_trade_bps: BPS,
            ..Params::reference(Address::repeat_byte(7))
        };
        // A reserve just over half of uint112's range: a trade of all of it would overflow.
        let reserve = (U256::from(U112::MAX) >> 1) + U256::from(1u8);
        let mut input = AgentInput {
            reserveBase: U112::from(reserve),
            reserveQuote: U112::from(1_000_000u64),
            balanceBase: U256::from(U112::MAX) - reserve,
            twapPrice: U256::from(1u8),
            ..Default::default()
        };
        let action = encode_action(ActionKind::Sell, BPS, &input, &params);
        assert_eq!(action.kind, ActionKind::Sell);
        let call = swapExactTokensForTokensCall::abi_decode(&action.data).unwrap();
        assert_eq!(call.amountIn, input.balanceBase);
        input.balanceBase += U256::from(1u8);
        assert_eq!(
            encode_action(ActionKind::Sell, BPS, &input, &params),
            Action::hold()
        );
    }

    #[test]
    fn params_are_range_checked() {
        let mut params = Params::reference(Address::ZERO);
        params.slippage_bps = 10_001;
        assert_eq!(params.validate(), Err(ParamsError::BadSlippage(10_001)));
        params.slippage_bps = 10_000;
        params.max_size_bps = 10_001;
        assert_eq!(params.validate(), Err(ParamsError::BadMaxSize(10_001)));
        params.max_size_bps = 10_000;
        params.max_trade_bps = 10_001;
        assert_eq!(params.validate(), Err(ParamsError::BadMaxTrade(10_001)));
    }
}
