//! The policy's features: nine int8 values computed from the input snapshot with integer
//! arithmetic only. `MlpPolicy.features` in Solidity computes the same numbers; every formula is
//! total (defined for all uint256 inputs, no overflow, no division by zero), so the two can only
//! agree or be wrong, never disagree by reverting.
//!
//! # Price normalization
//!
//! `priceHistory` holds time-weighted average prices, one per interval between the input
//! source's observations (`UniswapV2InputSource`), so no trade in the snapshot's own block moves
//! a feature. Let `p_0 .. p_15` be the last 16 entries of `priceHistory` (`p_15` the latest). Let
//! `priceShift = max(0, bitlen(max p_i) - 120)` and `q_i = p_i >> priceShift`: every `q_i` is
//! below 2^120, and for any price below 2^120 (1.3e18 quote per base in 1e18 fixed point) the
//! shift is zero and `q_i = p_i`. All price features are ratios, which the common shift
//! preserves up to truncation.
//!
//! # Features (each an int8 in [-127, 127])
//!
//! `rel(a, b, S)`, the relative change from `b` to `a` in units of `1/S`, rounded toward zero:
//! `0` if `a == b`; else `127` if `b == 0`; else `sign(a - b) · min(127, floor(|a - b| · S / b))`.
//!
//! - `ma16 = floor((q_0 + … + q_15) / 16)`, `ma4 = floor((q_12 + … + q_15) / 4)`.
//!
//! | # | name | formula |
//! |---|------|---------|
//! | 0 | ret1  | `rel(q_15, q_14, 4000)` |
//! | 1 | ret2  | `rel(q_15, q_13, 2800)` |
//! | 2 | ret4  | `rel(q_15, q_11, 2000)` |
//! | 3 | ret8  | `rel(q_15, q_7, 1400)` |
//! | 4 | ret15 | `rel(q_15, q_0, 1000)` |
//! | 5 | maDev | `rel(q_15, ma16, 2000)` |
//! | 6 | cross | `rel(ma4, ma16, 4000)` |
//! | 7 | vol   | `D = Σ_{i=1..15} |q_i - q_{i-1}|`; `0` if `D == 0`; else `127` if `ma16 == 0`; else `min(127, floor(D · 400 / ma16))` |
//! | 8 | position | see below |
//!
//! # Position: the fraction of the vault's value held in base
//!
//! Exactly, `A = balanceBase · p_15` and `B = balanceQuote · 10^18` (both in quote × 1e18), and
//! the feature is `floor(254 · A / (A + B)) - 127` (`0` when `A + B == 0`). `A` and `B` can need
//! 512 bits, so both are reduced to mantissa/exponent pairs first:
//!
//! - `reduce(v) = (v >> e, e)` with `e = max(0, bitlen(v) - 120)`;
//! - `(mx, ex) = reduce(balanceBase)`, `(my, ey) = reduce(balanceQuote)`;
//! - `a = mx · q_15` with exponent `ea = ex + priceShift`, `b = my · 10^18` with exponent `eb = ey`;
//! - `0` if `a == 0` and `b == 0`; else `-127` if `a == 0`; else `127` if `b == 0` (a zero has
//!   no exponent to align, so these are decided before aligning);
//! - otherwise the operand with the smaller exponent is shifted right by the difference (0 if
//!   the difference is 256 or more), so both share the larger exponent, and the feature is
//!   `floor(254 · a / (a + b)) - 127` (`a + b > 0`: the operand not shifted is nonzero).
//!
//! For balances and prices below 2^120 nothing is truncated and the result is the exact one.
//! `a < 2^240` and `b < 2^180`, so `254 · a` and `a + b` fit in 256 bits.
//!
//! # The price matrix: the large agent's 256 features
//!
//! [`price_matrix`] (`PriceMatrix.sol`) reads the same sixteen `q_i`. Entry `16 i + j` is
//! `rel(q_i, q_j, 2000)` for `i ≠ j`, and the diagonal entry `16 i + i` is `rel(q_i, mean, 2000)`
//! with `mean = floor((q_0 + … + q_15) / 16)` (the `ma16` above): every price's change from every
//! other and from their mean, in units of 5 bps.

use alloy::primitives::U256;

use crate::model::NUM_FEATURES;
use crate::types::AgentInput;

/// The policy reads the last this-many prices.
pub const HISTORY_LEN: usize = 16;

/// Prices and balances are reduced to at most this many significant bits.
pub const MANTISSA_BITS: usize = 120;

/// Scales `S` of the `rel` features 0..=6, in feature order.
pub const REL_SCALES: [u64; 7] = [4000, 2800, 2000, 1400, 1000, 2000, 4000];

/// Scale of the volatility feature.
pub const VOL_SCALE: u64 = 400;

/// Names of the features, in order.
pub const FEATURE_NAMES: [&str; NUM_FEATURES] = [
    "ret1", "ret2", "ret4", "ret8", "ret15", "maDev", "cross", "vol", "position",
];

/// 10^18: one unit of a 1e18 fixed-point price.
const WAD: u64 = 1_000_000_000_000_000_000;

/// An input the features cannot be computed from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureError {
    /// Fewer than [`HISTORY_LEN`] prices (`MlpPolicy.HistoryTooShort`).
    #[error("price history has {length} points, the policy needs at least {HISTORY_LEN}")]
    HistoryTooShort {
        /// Number of points in the input.
        length: usize,
    },
}

/// Entries of the price matrix: the large agent's input width.
pub const PRICE_MATRIX_WIDTH: usize = HISTORY_LEN * HISTORY_LEN;

/// Units of the price matrix's relative changes per change of 1 (5 bps a unit).
pub const PRICE_MATRIX_SCALE: u64 = 2000;

/// The last [`HISTORY_LEN`] prices reduced to below 2^120 (`q_i` of the module docs), and the
/// shift that reduced them.
fn normalized_prices(input: &AgentInput) -> Result<([U256; HISTORY_LEN], usize), FeatureError> {
    let history = &input.priceHistory;
    let length = history.len();
    if length < HISTORY_LEN {
        return Err(FeatureError::HistoryTooShort { length });
    }
    let window = &history[length - HISTORY_LEN..];
    let max_price = window.iter().copied().max().unwrap_or(U256::ZERO);
    let price_shift = max_price.bit_len().saturating_sub(MANTISSA_BITS);
    let mut q = [U256::ZERO; HISTORY_LEN];
    for (slot, price) in q.iter_mut().zip(window) {
        *slot = *price >> price_shift;
    }
    Ok((q, price_shift))
}

/// `floor((q_0 + … + q_15) / 16)`. Each `q_i < 2^120`, so the sum cannot overflow.
fn mean(q: &[U256; HISTORY_LEN]) -> U256 {
    q.iter().fold(U256::ZERO, |s, v| s + v) / U256::from(HISTORY_LEN)
}

/// The large agent's 256 features (see the module docs), row-major.
pub fn price_matrix(input: &AgentInput) -> Result<[i8; PRICE_MATRIX_WIDTH], FeatureError> {
    let (q, _) = normalized_prices(input)?;
    let mean = mean(&q);
    let mut matrix = [0i8; PRICE_MATRIX_WIDTH];
    for (i, row) in matrix.chunks_exact_mut(HISTORY_LEN).enumerate() {
        for (j, entry) in row.iter_mut().enumerate() {
            let reference = if i == j { mean } else { q[j] };
            *entry = rel(q[i], reference, PRICE_MATRIX_SCALE);
        }
    }
    Ok(matrix)
}

/// Computes the nine features of `input` (see the module docs for the exact formulas).
pub fn features(input: &AgentInput) -> Result<[i8; NUM_FEATURES], FeatureError> {
    let (q, price_shift) = normalized_prices(input)?;
    let ma16 = mean(&q);
    let ma4 = q[12..].iter().fold(U256::ZERO, |s, v| s + v) / U256::from(4u8);
    let latest = q[15];

    let mut out = [0i8; NUM_FEATURES];
    let rel_pairs = [
        (latest, q[14]),
        (latest, q[13]),
        (latest, q[11]),
        (latest, q[7]),
        (latest, q[0]),
        (latest, ma16),
        (ma4, ma16),
    ];
    for (slot, ((a, b), scale)) in out.iter_mut().zip(rel_pairs.into_iter().zip(REL_SCALES)) {
        *slot = rel(a, b, scale);
    }

    let total_move = q
        .windows(2)
        .fold(U256::ZERO, |s, w| s + w[0].abs_diff(w[1]));
    out[7] = if total_move.is_zero() {
        0
    } else if ma16.is_zero() {
        127
    } else {
        clamp_127(total_move * U256::from(VOL_SCALE) / ma16)
    };

    out[8] = position(input.balanceBase, input.balanceQuote, latest, price_shift);
    Ok(out)
}

/// `rel(a, b, S)` of the module docs. `a, b < 2^120` and `S < 2^13`, so `|a - b| · S` fits.
fn rel(a: U256, b: U256, scale: u64) -> i8 {
    if a == b {
        return 0;
    }
    if b.is_zero() {
        return 127;
    }
    let magnitude = clamp_127(a.abs_diff(b) * U256::from(scale) / b);
    if a > b { magnitude } else { -magnitude }
}

/// `min(127, v)` as an i8.
fn clamp_127(v: U256) -> i8 {
    if v >= U256::from(127u8) {
        127
    } else {
        // v < 127 here.
        v.saturating_to::<u8>() as i8
    }
}

/// `(v >> e, e)` with `e = max(0, bitlen(v) - 120)`.
fn reduce(v: U256) -> (U256, usize) {
    let e = v.bit_len().saturating_sub(MANTISSA_BITS);
    (v >> e, e)
}

/// `v >> shift`, zero for shifts of 256 or more (as the EVM's SHR).
fn shr(v: U256, shift: usize) -> U256 {
    if shift >= 256 { U256::ZERO } else { v >> shift }
}

/// The position feature of the module docs.
fn position(balance_base: U256, balance_quote: U256, latest: U256, price_shift: usize) -> i8 {
    let (mx, ex) = reduce(balance_base);
    let (my, ey) = reduce(balance_quote);
    let mut a = mx * latest;
    let ea = ex + price_shift;
    let mut b = my * U256::from(WAD);
    let eb = ey;
    match (a.is_zero(), b.is_zero()) {
        (true, true) => return 0,
        (true, false) => return -127,
        (false, true) => return 127,
        (false, false) => {}
    }
    if ea >= eb {
        b = shr(b, ea - eb);
    } else {
        a = shr(a, eb - ea);
    }
    let total = a + b;
    if total.is_zero() {
        return 0;
    }
    // 254 · a / (a + b) is in [0, 254].
    let scaled = (U256::from(254u16) * a / total).saturating_to::<u16>();
    (i16::try_from(scaled).unwrap_or(254) - 127) as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wad(v: u64) -> U256 {
        U256::from(v) * U256::from(WAD)
    }

    fn input(prices: Vec<U256>, base: U256, quote: U256) -> AgentInput {
        AgentInput {
            priceHistory: prices,
            balanceBase: base,
            balanceQuote: quote,
            ..Default::default()
        }
    }

    #[test]
    fn short_history_is_an_error() {
        let err = features(&input(vec![wad(1); 15], U256::ZERO, U256::ZERO)).unwrap_err();
        assert_eq!(err, FeatureError::HistoryTooShort { length: 15 });
    }

    #[test]
    fn flat_prices_and_empty_vault_give_zero_features() {
        let f = features(&input(vec![wad(2000); 20], U256::ZERO, U256::ZERO)).unwrap();
        assert_eq!(f, [0; NUM_FEATURES]);
    }

    #[test]
    fn rel_rounds_toward_zero_and_saturates() {
        // +1 % at scale 4000 is 40; -1 % is -40; 0.0249 % is 0.996 → 0.
        assert_eq!(rel(U256::from(10100u64), U256::from(10000u64), 4000), 40);
        assert_eq!(rel(U256::from(9900u64), U256::from(10000u64), 4000), -40);
        assert_eq!(
            rel(U256::from(1_000_249u64), U256::from(1_000_000u64), 4000),
            0
        );
        assert_eq!(rel(U256::from(2u64), U256::from(1u64), 4000), 127);
        assert_eq!(rel(U256::ZERO, U256::from(1u64), 4000), -127);
        assert_eq!(rel(U256::from(5u64), U256::ZERO, 4000), 127);
    }

    #[test]
    fn rising_prices_give_positive_returns() {
        // 2000, 2001, ..., 2015 (in 1e18 units), vault half in base by value at 2015.
        let prices: Vec<U256> = (0..16).map(|i| wad(2000 + i)).collect();
        let f = features(&input(
            prices,
            U256::from(1_000u64),
            U256::from(2_015_000u64),
        ))
        .unwrap();
        // ret1 = floor(1/2014 · 4000) = 1; ret15 = floor(15/2000 · 1000) = 7.
        assert_eq!(f[0], 1);
        assert_eq!(f[4], 7);
        // ma16 = 2007.5 → 2007.5e18 exactly; maDev = floor(7.5/2007.5 · 2000) = 7.
        assert_eq!(f[5], 7);
        // vol = floor(15e18 · 400 / 2007.5e18) = 2.
        assert_eq!(f[7], 2);
        // A = 1000 · 2015e18, B = 2015000 · 1e18: equal, floor(254/2) - 127 = 0.
        assert_eq!(f[8], 0);
    }

    #[test]
    fn position_covers_the_extremes_without_overflow() {
        let prices = vec![U256::MAX; 16];
        let all_base = features(&input(prices.clone(), U256::MAX, U256::ZERO)).unwrap();
        assert_eq!(all_base[8], 127);
        let all_quote = features(&input(prices.clone(), U256::ZERO, U256::MAX)).unwrap();
        assert_eq!(all_quote[8], -127);
        let both = features(&input(prices, U256::MAX, U256::MAX)).unwrap();
        // A ≫ B at a price of 2^256 / 1e18 per unit.
        assert_eq!(both[8], 126);
        // A zero price values the base holdings at nothing.
        let zero_price =
            features(&input(vec![U256::ZERO; 16], U256::MAX, U256::from(1u8))).unwrap();
        assert_eq!(zero_price[8], -127);
    }
}
