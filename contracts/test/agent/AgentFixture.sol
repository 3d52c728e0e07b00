// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AgentInput} from "../../src/agent/AgentTypes.sol";
import {MlpPolicy} from "../../src/agent/MlpPolicy.sol";
import {TestBase} from "../lib/Vm.sol";

/// @dev Inputs, parameters and small hand-written models for the agent tests.
abstract contract AgentFixture is TestBase {
    address internal constant VAULT = address(0xA11CE);
    address internal constant BASE = address(0xBA5E);
    address internal constant QUOTE = address(0x0C0DE);
    address internal constant ROUTER = address(0x707E7);
    uint64 internal constant NOW = 1_700_000_000;
    uint256 internal constant PRICE = 2000e18;

    /// @dev A pool at 2000 quote per base (its TWAP too) and a vault holding 10 base and 20 000 quote.
    function input(uint256[] memory prices) internal pure returns (AgentInput memory) {
        return AgentInput({
            vault: VAULT,
            tokenBase: BASE,
            tokenQuote: QUOTE,
            reserveBase: 1000e18,
            reserveQuote: 2_000_000e18,
            balanceBase: 10e18,
            balanceQuote: 20_000e18,
            priceHistory: prices,
            twapPrice: PRICE,
            timestamp: NOW
        });
    }

    /// @dev 16 prices at PRICE, the last one moved by `lastBps` basis points (may be negative).
    function pricesEndingWith(int256 lastBps) internal pure returns (uint256[] memory prices) {
        prices = new uint256[](16);
        for (uint256 i; i < 16; ++i) {
            prices[i] = PRICE;
        }
        // |lastBps| < 10000 in these tests.
        // forge-lint: disable-next-line(unsafe-typecast)
        prices[15] = PRICE * uint256(int256(10_000) + lastBps) / 10_000;
    }

    /// @dev A 16-step random walk around PRICE (±1.5 % a step) from `seed`.
    function walk(uint256 seed) internal pure returns (uint256[] memory prices) {
        prices = new uint256[](16);
        uint256 price = PRICE;
        for (uint256 i; i < 16; ++i) {
            seed = uint256(keccak256(abi.encode(seed)));
            price = price * (9850 + seed % 301) / 10_000;
            prices[i] = price;
        }
    }

    function params(uint32 sizeBpsPerLogit) internal pure returns (MlpPolicy.Params memory) {
        return MlpPolicy.Params({
            router: ROUTER,
            slippageBps: 50,
            deadlineSeconds: 300,
            maxSizeBps: 2500,
            sizeBpsPerLogit: sizeBpsPerLogit,
            maxTradeBps: 10_000
        });
    }

    /// @dev A 9 -> 2 -> 3 model trading on the one-step return alone: hidden units relu(ret1) and
    /// relu(-ret1) (requantized by exactly 1), logits (5, 2 relu(ret1), 2 relu(-ret1)). It buys when
    /// ret1 >= 3 with margin 2 ret1 - 5, sells symmetrically, and holds otherwise.
    function momentumModel() internal pure returns (bytes memory) {
        return abi.encodePacked(
            // Header: magic, version, 2 weight layers, dims 9, 2, 3.
            hex"574d4c500102090203",
            // Layer 0 weights: rows (1, 0 x 8) and (-1, 0 x 8); biases 0, 0.
            hex"010000000000000000ff0000000000000000",
            hex"0000000000000000",
            // Requantization: multiplier 2^30, shift 30, i.e. times 1.
            hex"400000001e",
            // Layer 1 weights: hold (0, 0), buy (2, 0), sell (0, 2); biases 5, 0, 0.
            hex"000002000002",
            hex"000000050000000000000000"
        );
    }

    /// @dev The minimum output the policy asks: the input's value at the TWAP (PRICE), less the
    /// 0.5 % slippage of `params`, written out independently of the policy.
    function minOutAtTwap(uint256 amountIn, bool sell) internal pure returns (uint256) {
        uint256 quoted = sell ? amountIn * PRICE / 1e18 : amountIn * 1e18 / PRICE;
        return quoted * 9950 / 10_000;
    }
}
