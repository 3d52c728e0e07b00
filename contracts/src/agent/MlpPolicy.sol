// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {LibBit} from "solady/utils/LibBit.sol";

import {IUniswapV2Router} from "../interfaces/IUniswapV2.sol";
import {AgentActions, AgentInput} from "./AgentTypes.sol";

/// @title MlpPolicy
/// @notice The reference agent in Solidity: integer features of the input snapshot, an int8-quantized
/// MLP read from a WMLP v1 model, and a Uniswap v2 swap or a hold. It must agree bit for bit with
/// the Rust agent (`crates/agent`), whose module docs state every formula; the differential test
/// `crates/agent/tests/differential.rs` holds the two to the same bytes.
/// @dev Every function is total on its domain: the features are defined for all uint256 values,
/// and a validated model bounds every accumulator to int32, so nothing here can revert on an input
/// the Rust side accepts (int256 arithmetic never overflows where the Rust side uses i64/U256).
library MlpPolicy {
    /// @notice The agent's parameters, committed to by its agent hash.
    struct Params {
        /// @dev The Uniswap v2 router the vault calls.
        address router;
        /// @dev Tolerated shortfall of the output below the input's value at the snapshot's TWAP, in
        /// bps (at most 10000): it must cover the pool's 0.3 % fee and the trade's price impact.
        uint16 slippageBps;
        /// @dev How long after the snapshot the swap stays valid.
        uint32 deadlineSeconds;
        /// @dev Largest share of the relevant balance one action spends, in bps (at most 10000).
        uint16 maxSizeBps;
        /// @dev Size in bps per unit of logit margin.
        uint32 sizeBpsPerLogit;
        /// @dev Largest trade as a share of the pool's reserve of the input token, in bps (at most
        /// 10000): bounds the trade's price impact.
        uint16 maxTradeBps;
    }

    /// @notice `keccak256("warden.agent.mlp.v2")`: changes with any change to features, decision or
    /// encoding (v2: minimum output from the snapshot's TWAP, trades capped by the pool's reserve).
    bytes32 internal constant AGENT_CODE_VERSION = keccak256("warden.agent.mlp.v2");

    uint256 internal constant NUM_FEATURES = 9;
    uint256 internal constant NUM_ACTIONS = 3;
    uint256 internal constant HISTORY_LEN = 16;
    uint256 internal constant BPS = 10_000;

    uint256 private constant HEADER_LEN = 6;
    bytes4 private constant MAGIC = "WMLP";
    uint8 private constant FORMAT_VERSION = 1;
    uint256 private constant MIN_LAYERS = 2;
    uint256 private constant MAX_LAYERS = 5;
    uint256 private constant MAX_HIDDEN_DIM = 64;
    uint256 private constant MIN_SHIFT = 1;
    uint256 private constant MAX_SHIFT = 62;
    uint256 private constant MAX_ACTIVATION = 127;
    uint256 private constant MAX_ACCUMULATOR = 2 ** 31 - 1;
    uint256 private constant MANTISSA_BITS = 120;
    uint256 private constant VOL_SCALE = 400;
    uint256 private constant WAD = 1e18;

    /// @notice The model ends before the header, the dims or the layers it declares.
    error ModelTruncated(uint256 length, uint256 needed);
    /// @notice The model does not start with "WMLP".
    error BadModelMagic();
    /// @notice A model format version other than 1.
    error UnsupportedModelVersion(uint8 version);
    /// @notice A number of weight layers outside 2..=5.
    error BadLayerCount(uint8 count);
    /// @notice A dimension other than 9 (input, index 0), 3 (output) or 1..=64 (hidden).
    error BadLayerDim(uint256 index, uint8 dim);
    /// @notice Bytes after the last layer.
    error ModelTrailingBytes(uint256 length, uint256 expected);
    /// @notice `|bias| + 127 * sum |w|` of a neuron exceeds 2^31 - 1: its accumulator could leave int32.
    error AccumulatorOutOfRange(uint256 layer, uint256 neuron, uint256 bound);
    /// @notice A requantization multiplier outside 1..=2^31-1 (raw 32-bit field).
    error BadMultiplier(uint256 layer, uint32 multiplier);
    /// @notice A requantization shift outside 1..=62.
    error BadShift(uint256 layer, uint8 shift);
    /// @notice The input's price history has fewer than 16 points.
    error HistoryTooShort(uint256 length);
    /// @notice `slippageBps` above 10000.
    error BadSlippage(uint16 slippageBps);
    /// @notice `maxSizeBps` above 10000.
    error BadMaxSize(uint16 maxSizeBps);
    /// @notice `maxTradeBps` above 10000.
    error BadMaxTrade(uint16 maxTradeBps);

    // ---------------------------------------------------------------------------------------------
    // Whole policy
    // ---------------------------------------------------------------------------------------------

    /// @notice The encoded action for `input`. `model` must have passed `validateModel` and `params`
    /// `validateParams` (the verifier checks both once, at deployment).
    function evaluate(bytes memory model, AgentInput memory input, Params memory params)
        internal
        pure
        returns (bytes memory output)
    {
        int256[] memory logits = forward(model, features(input));
        (uint8 kind, uint256 margin) = decide(logits);
        return encodeAction(kind, sizeBps(kind, margin, params), input, params);
    }

    /// @notice `keccak256(abi.encode(AGENT_CODE_VERSION, modelHash, params))`; a static struct
    /// encodes inline, so this equals encoding its six fields one after another.
    function agentHash(bytes32 modelHash, Params memory params) internal pure returns (bytes32) {
        return keccak256(abi.encode(AGENT_CODE_VERSION, modelHash, params));
    }

    /// @notice Reverts unless every bps parameter is at most 10000.
    function validateParams(Params memory params) internal pure {
        if (params.slippageBps > BPS) revert BadSlippage(params.slippageBps);
        if (params.maxSizeBps > BPS) revert BadMaxSize(params.maxSizeBps);
        if (params.maxTradeBps > BPS) revert BadMaxTrade(params.maxTradeBps);
    }

    // ---------------------------------------------------------------------------------------------
    // Model format
    // ---------------------------------------------------------------------------------------------

    /// @notice Reverts unless `model` is a valid WMLP v1 file. The checks and their order are those of
    /// `Model::from_bytes` in Rust, so both reject a bad file with the same error.
    /// @dev Layout: "WMLP", version, L, dims d_0..d_L, then per layer: d_out*d_in int8 weights
    /// (row-major by output neuron), d_out int32 big-endian biases, and for hidden layers an int32
    /// multiplier and a uint8 shift.
    function validateModel(bytes memory model) internal pure {
        uint256 length = model.length;
        if (length < HEADER_LEN) revert ModelTruncated(length, HEADER_LEN);
        if (bytes4(bytes32(_word(model, 0))) != MAGIC) revert BadModelMagic();
        if (uint8(model[4]) != FORMAT_VERSION) revert UnsupportedModelVersion(uint8(model[4]));
        uint8 layerCount = uint8(model[5]);
        if (layerCount < MIN_LAYERS || layerCount > MAX_LAYERS) revert BadLayerCount(layerCount);
        uint256 layers = layerCount;
        uint256 dimsEnd = HEADER_LEN + layers + 1;
        if (length < dimsEnd) revert ModelTruncated(length, dimsEnd);

        uint256 expected = dimsEnd;
        for (uint256 i = 0; i <= layers; ++i) {
            uint8 dim = uint8(model[HEADER_LEN + i]);
            bool valid;
            if (i == 0) valid = dim == NUM_FEATURES;
            else if (i == layers) valid = dim == NUM_ACTIONS;
            else valid = dim >= 1 && dim <= MAX_HIDDEN_DIM;
            if (!valid) revert BadLayerDim(i, dim);
            if (i > 0) {
                uint256 inputs = uint8(model[HEADER_LEN + i - 1]);
                expected += uint256(dim) * inputs + 4 * uint256(dim) + (i < layers ? 5 : 0);
            }
        }
        if (length < expected) revert ModelTruncated(length, expected);
        if (length > expected) revert ModelTrailingBytes(length, expected);

        uint256 offset = dimsEnd;
        for (uint256 l = 0; l < layers; ++l) {
            uint256 inputs = uint8(model[HEADER_LEN + l]);
            uint256 outputs = uint8(model[HEADER_LEN + l + 1]);
            uint256 biasOffset = offset + inputs * outputs;
            for (uint256 j = 0; j < outputs; ++j) {
                uint256 weightSum;
                uint256 row = offset + j * inputs;
                for (uint256 i = 0; i < inputs; ++i) {
                    int256 w = int8(uint8(model[row + i]));
                    weightSum += uint256(w < 0 ? -w : w);
                }
                int256 bias = _int32At(model, biasOffset + 4 * j);
                uint256 bound = uint256(bias < 0 ? -bias : bias) + MAX_ACTIVATION * weightSum;
                if (bound > MAX_ACCUMULATOR) revert AccumulatorOutOfRange(l, j, bound);
            }
            offset = biasOffset + 4 * outputs;
            if (l + 1 < layers) {
                uint32 multiplier = uint32(_word(model, offset) >> 224);
                if (multiplier == 0 || multiplier > MAX_ACCUMULATOR) revert BadMultiplier(l, multiplier);
                uint8 shift = uint8(model[offset + 4]);
                if (shift < MIN_SHIFT || shift > MAX_SHIFT) revert BadShift(l, shift);
                offset += 5;
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Features
    // ---------------------------------------------------------------------------------------------

    /// @notice The nine int8 features (as int256) of `input`: ret1, ret2, ret4, ret8, ret15, maDev,
    /// cross, vol, position. Formulas: `warden_agent::features` (Rust docs).
    function features(AgentInput memory input) internal pure returns (int256[] memory f) {
        uint256[] memory history = input.priceHistory;
        uint256 length = history.length;
        if (length < HISTORY_LEN) revert HistoryTooShort(length);

        // The last 16 prices, reduced by a common shift to below 2^120 (a no-op for real prices),
        // so that the sums and products below cannot overflow.
        uint256[16] memory q;
        uint256 maxPrice;
        for (uint256 i = 0; i < HISTORY_LEN; ++i) {
            uint256 p = history[length - HISTORY_LEN + i];
            q[i] = p;
            if (p > maxPrice) maxPrice = p;
        }
        uint256 priceShift = _excessBits(maxPrice);
        uint256 sum16;
        uint256 totalMove;
        // Every q[i] < 2^120: sums of 16 of them fit with room to spare.
        unchecked {
            uint256 previous;
            for (uint256 i = 0; i < HISTORY_LEN; ++i) {
                uint256 v = q[i] >> priceShift;
                q[i] = v;
                sum16 += v;
                if (i > 0) totalMove += v > previous ? v - previous : previous - v;
                previous = v;
            }
        }
        uint256 ma16 = sum16 / 16;
        uint256 ma4 = (q[12] + q[13] + q[14] + q[15]) / 4;
        uint256 latest = q[15];

        f = new int256[](NUM_FEATURES);
        f[0] = _rel(latest, q[14], 4000);
        f[1] = _rel(latest, q[13], 2800);
        f[2] = _rel(latest, q[11], 2000);
        f[3] = _rel(latest, q[7], 1400);
        f[4] = _rel(latest, q[0], 1000);
        f[5] = _rel(latest, ma16, 2000);
        f[6] = _rel(ma4, ma16, 4000);
        if (totalMove == 0) f[7] = 0;
        else if (ma16 == 0) f[7] = 127;
        else f[7] = _clamp127(totalMove * VOL_SCALE / ma16);
        f[8] = _position(input.balanceBase, input.balanceQuote, latest, priceShift);
    }

    /// @dev Relative change from `b` to `a` in units of 1/scale, rounded toward zero, clamped to
    /// [-127, 127]; 127 for any change from zero. `a, b < 2^120`, so `|a - b| * scale` fits.
    function _rel(uint256 a, uint256 b, uint256 scale) internal pure returns (int256) {
        if (a == b) return 0;
        if (b == 0) return 127;
        unchecked {
            if (a > b) return _clamp127((a - b) * scale / b);
            return -_clamp127((b - a) * scale / b);
        }
    }

    /// @dev The fraction of the vault's value held in base, mapped to [-127, 127]: exactly
    /// `floor(254 * A / (A + B)) - 127` with `A = balanceBase * p15` and `B = balanceQuote * 1e18`,
    /// computed on 120-bit mantissas with aligned exponents so that nothing exceeds 256 bits.
    function _position(uint256 balanceBase, uint256 balanceQuote, uint256 latest, uint256 priceShift)
        private
        pure
        returns (int256)
    {
        uint256 ex = _excessBits(balanceBase);
        uint256 ey = _excessBits(balanceQuote);
        uint256 a = (balanceBase >> ex) * latest;
        uint256 b = (balanceQuote >> ey) * WAD;
        // A zero has no exponent to align: decide those cases first.
        if (a == 0) return b == 0 ? int256(0) : -127;
        if (b == 0) return 127;
        uint256 ea = ex + priceShift;
        // A shift by 256 or more yields 0, as the EVM's SHR does.
        if (ea >= ey) b >>= ea - ey;
        else a >>= ey - ea;
        uint256 total = a + b;
        if (total == 0) return 0;
        // The quotient is at most 254.
        // forge-lint: disable-next-line(unsafe-typecast)
        return int256(254 * a / total) - 127;
    }

    /// @dev `max(0, bitlen(v) - 120)`: the right shift that leaves at most 120 significant bits.
    function _excessBits(uint256 v) internal pure returns (uint256) {
        if (v >> MANTISSA_BITS == 0) return 0;
        return LibBit.fls(v) + 1 - MANTISSA_BITS;
    }

    /// @dev `min(127, v)`.
    function _clamp127(uint256 v) private pure returns (int256) {
        // v <= 127 where it is converted.
        // forge-lint: disable-next-line(unsafe-typecast)
        return v > 127 ? int256(127) : int256(v);
    }

    // ---------------------------------------------------------------------------------------------
    // Forward pass
    // ---------------------------------------------------------------------------------------------

    /// @notice The logits (hold, buy, sell) of a validated `model` for `x` (9 features in [-127, 127]).
    /// @dev Per neuron: `acc = bias + sum w * x` (exact; int32 by validation); hidden layers then
    /// requantize `clamp((acc * multiplier + 2^(shift-1)) >> shift, -128, 127)` with an arithmetic
    /// shift (floor) and apply ReLU, i.e. clamp to [0, 127].
    function forward(bytes memory model, int256[] memory x) internal pure returns (int256[] memory) {
        uint256 layers = uint8(model[5]);
        uint256 offset = HEADER_LEN + layers + 1;
        for (uint256 l = 0; l < layers; ++l) {
            (x, offset) = _layer(
                model,
                offset,
                uint8(model[HEADER_LEN + l]),
                uint8(model[HEADER_LEN + l + 1]),
                l + 1 < layers,
                x
            );
        }
        return x;
    }

    /// @dev One weight layer starting at `offset`; returns its outputs and the next layer's offset.
    /// Per neuron `j`: `acc = bias_j + sum_i w_ji * x_i`, then for a hidden layer
    /// `clamp((acc * multiplier + 2^(shift-1)) >> shift, 0, 127)`: round half up (`sar` is an
    /// arithmetic shift, i.e. floor), clamp to int8 and ReLU in one.
    /// @dev The policy's hot loop, in assembly: Solidity's checked arithmetic and bounds checks would
    /// triple its cost. It is safe without them: a validated model keeps every read inside `model`,
    /// `x` has `inputs` elements, and the EVM's wrapping `mul`/`add` are exact two's complement here
    /// because every value is bounded far below 2^255 (`|acc| < 2^31`, `multiplier < 2^31`).
    function _layer(
        bytes memory model,
        uint256 offset,
        uint256 inputs,
        uint256 outputs,
        bool hidden,
        int256[] memory x
    ) private pure returns (int256[] memory y, uint256 next) {
        uint256 biases = offset + inputs * outputs;
        next = biases + 4 * outputs;
        int256 multiplier;
        uint256 shift;
        if (hidden) {
            multiplier = int256(_word(model, next) >> 224);
            shift = uint8(model[next + 4]);
            next += 5;
        }
        y = new int256[](outputs);
        assembly ("memory-safe") {
            // sum_i int8(w[i]) * x[i] for i < n: eight weights per word load, then one at a time.
            function dot(w, xp, n) -> acc {
                let end := add(w, n)
                for { let end8 := sub(end, and(n, 7)) } lt(w, end8) {} {
                    let word := mload(w)
                    acc := add(
                        acc,
                        add(
                            add(
                                add(
                                    mul(signextend(0, byte(0, word)), mload(xp)),
                                    mul(signextend(0, byte(1, word)), mload(add(xp, 0x20)))
                                ),
                                add(
                                    mul(signextend(0, byte(2, word)), mload(add(xp, 0x40))),
                                    mul(signextend(0, byte(3, word)), mload(add(xp, 0x60)))
                                )
                            ),
                            add(
                                add(
                                    mul(signextend(0, byte(4, word)), mload(add(xp, 0x80))),
                                    mul(signextend(0, byte(5, word)), mload(add(xp, 0xa0)))
                                ),
                                add(
                                    mul(signextend(0, byte(6, word)), mload(add(xp, 0xc0))),
                                    mul(signextend(0, byte(7, word)), mload(add(xp, 0xe0)))
                                )
                            )
                        )
                    )
                    w := add(w, 8)
                    xp := add(xp, 0x100)
                }
                for {} lt(w, end) {} {
                    acc := add(acc, mul(signextend(0, byte(0, mload(w))), mload(xp)))
                    w := add(w, 1)
                    xp := add(xp, 0x20)
                }
            }

            let data := add(model, 0x20)
            let row := add(data, offset)
            let bias := add(data, biases)
            let xs := add(x, 0x20)
            let rounding := 0
            if hidden { rounding := shl(sub(shift, 1), 1) }
            let out := add(y, 0x20)
            for { let outEnd := add(out, shl(5, outputs)) } lt(out, outEnd) {} {
                // The big-endian int32 bias, sign-extended from its 4 bytes.
                let acc := add(signextend(3, shr(224, mload(bias))), dot(row, xs, inputs))
                if hidden {
                    acc := sar(shift, add(mul(acc, multiplier), rounding))
                    if slt(acc, 0) { acc := 0 }
                    if sgt(acc, MAX_ACTIVATION) { acc := MAX_ACTIVATION }
                }
                mstore(out, acc)
                out := add(out, 0x20)
                row := add(row, inputs)
                bias := add(bias, 4)
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Decision and action
    // ---------------------------------------------------------------------------------------------

    /// @notice Argmax of the logits with ties to the lowest index (a hold wins every tie), and its
    /// margin over the runner-up.
    function decide(int256[] memory logits) internal pure returns (uint8 kind, uint256 margin) {
        uint8 best = 0;
        for (uint8 i = 1; i < NUM_ACTIONS; ++i) {
            if (logits[i] > logits[best]) best = i;
        }
        bool first = true;
        int256 runnerUp;
        for (uint8 i = 0; i < NUM_ACTIONS; ++i) {
            if (i == best) continue;
            if (first || logits[i] > runnerUp) runnerUp = logits[i];
            first = false;
        }
        // `best` is a maximum, so the difference is non-negative.
        // forge-lint: disable-next-line(unsafe-typecast)
        return (best, uint256(logits[best] - runnerUp));
    }

    /// @notice `min(maxSizeBps, margin * sizeBpsPerLogit)` for a trade, 0 for a hold.
    function sizeBps(uint8 kind, uint256 margin, Params memory params) internal pure returns (uint256) {
        if (kind == AgentActions.HOLD) return 0;
        uint256 size = margin * params.sizeBpsPerLogit;
        return size < params.maxSizeBps ? size : params.maxSizeBps;
    }

    /// @notice The encoded action: a `swapExactTokensForTokens` call on the router, or a hold when
    /// the decision is hold or the swap would be empty or could not execute. The size is capped at
    /// `maxTradeBps` of the pool's input reserve; the minimum output is the input's value at the
    /// snapshot's TWAP less the slippage, never a figure from the reserves one block can move.
    function encodeAction(uint8 kind, uint256 size, AgentInput memory input, Params memory params)
        internal
        pure
        returns (bytes memory)
    {
        if (kind == AgentActions.HOLD) return AgentActions.hold();
        bool buy = kind == AgentActions.BUY;
        (uint256 amountIn, uint256 amountOutMin) = _swapAmounts(buy, size, input, params);
        if (amountOutMin == 0) return AgentActions.hold();

        address[] memory path = new address[](2);
        (path[0], path[1]) = buy ? (input.tokenQuote, input.tokenBase) : (input.tokenBase, input.tokenQuote);
        bytes memory data = abi.encodeCall(
            IUniswapV2Router.swapExactTokensForTokens,
            (amountIn, amountOutMin, path, input.vault, uint256(input.timestamp) + params.deadlineSeconds)
        );
        return AgentActions.encode(kind, params.router, 0, data);
    }

    /// @dev The swap's input and minimum output; a zero minimum means hold (nothing to spend, an
    /// empty pool, no TWAP, a trade the pair could not record, or a quote no reserve can pay).
    function _swapAmounts(bool buy, uint256 size, AgentInput memory input, Params memory params)
        private
        pure
        returns (uint256 amountIn, uint256 amountOutMin)
    {
        uint256 reserveIn = buy ? input.reserveQuote : input.reserveBase;
        amountIn = _mulBps(buy ? input.balanceQuote : input.balanceBase, size);
        uint256 cap = _mulBps(reserveIn, params.maxTradeBps);
        if (amountIn > cap) amountIn = cap;
        uint256 twap = input.twapPrice;
        // An empty pool makes the router revert, and so does an input that would push the pair's
        // uint112 reserve past its maximum; without a TWAP there is no minimum output to ask for.
        if (
            amountIn == 0 || (buy ? input.reserveBase : input.reserveQuote) == 0 || twap == 0
                || amountIn > type(uint112).max - reserveIn
        ) {
            return (amountIn, 0);
        }
        uint256 quoted;
        if (buy) {
            // amountIn < 2^112, so the product stays below 2^172.
            quoted = amountIn * WAD / twap;
        } else {
            // A product past 2^256 quotes more than any uint112 reserve can pay even after the
            // largest slippage short of 100 % (and at 100 % the minimum is 0): a hold either way,
            // as the exact 512-bit rule would decide.
            if (twap > type(uint256).max / amountIn) return (amountIn, 0);
            quoted = amountIn * twap / WAD;
        }
        amountOutMin = _mulBps(quoted, BPS - params.slippageBps);
        // No pair can pay out more than a uint112 reserve.
        if (amountOutMin > type(uint112).max) amountOutMin = 0;
    }

    /// @dev `floor(amount * bps / 10000)` without overflow for any amount: splitting
    /// `amount = q * 10000 + r` gives exactly `q * bps + floor(r * bps / 10000)`.
    function _mulBps(uint256 amount, uint256 bps) private pure returns (uint256) {
        return amount / BPS * bps + amount % BPS * bps / BPS;
    }

    // ---------------------------------------------------------------------------------------------
    // Byte access
    // ---------------------------------------------------------------------------------------------

    /// @dev The 32 bytes of `data` starting at `offset` (bytes past the end are whatever memory
    /// holds; callers only use those within `data`).
    function _word(bytes memory data, uint256 offset) private pure returns (uint256 w) {
        /// @solidity memory-safe-assembly
        assembly {
            w := mload(add(add(data, 0x20), offset))
        }
    }

    /// @dev The big-endian int32 at `offset`.
    function _int32At(bytes memory data, uint256 offset) private pure returns (int256) {
        return int256(int32(uint32(_word(data, offset) >> 224)));
    }
}
