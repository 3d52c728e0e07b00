// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AgentActions, AgentInput} from "../../src/agent/AgentTypes.sol";
import {IUniswapV2Router} from "../../src/interfaces/IUniswapV2.sol";
import {MlpPolicy} from "../../src/agent/MlpPolicy.sol";
import {AgentFixture} from "./AgentFixture.sol";
import {MlpPolicyHarness} from "./MlpPolicyHarness.sol";

/// @dev The policy's decisions, action encoding and model validation, on small hand-written models
/// whose outputs can be worked out by hand. Agreement with the Rust agent on random models is the
/// differential test's job (crates/agent/tests/differential.rs).
contract MlpPolicyTest is AgentFixture {
    MlpPolicyHarness internal harness;

    function setUp() public {
        harness = new MlpPolicyHarness();
    }

    function _evaluate(bytes memory model, AgentInput memory in_, MlpPolicy.Params memory p)
        internal
        view
        returns (bytes memory)
    {
        return harness.evaluate(model, abi.encode(in_), abi.encode(p));
    }

    function _swap(uint8 kind, uint256 amountIn, uint256 minOut, address tokenIn, address tokenOut)
        internal
        pure
        returns (bytes memory)
    {
        address[] memory path = new address[](2);
        (path[0], path[1]) = (tokenIn, tokenOut);
        return abi.encode(
            kind,
            ROUTER,
            uint256(0),
            abi.encodeCall(
                IUniswapV2Router.swapExactTokensForTokens, (amountIn, minOut, path, VAULT, NOW + 300)
            )
        );
    }

    // ---------------------------------------------------------------------------------------------
    // Decisions and actions
    // ---------------------------------------------------------------------------------------------

    function test_hold_flatPrices() public view {
        bytes memory output = _evaluate(momentumModel(), input(pricesEndingWith(0)), params(10));
        assertEq(output, AgentActions.hold(), "hold");
        assertEq(output, abi.encode(uint8(0), address(0), uint256(0), bytes("")), "canonical hold");
    }

    /// @dev +0.5 %: ret1 = 20, logits (5, 40, 0), margin 35, size 350 bps of 20 000 quote.
    function test_buy_onRise() public view {
        bytes memory output = _evaluate(momentumModel(), input(pricesEndingWith(50)), params(10));
        uint256 amountIn = 700e18;
        uint256 minOut = minOutAtTwap(amountIn, false);
        assertEq(output, _swap(AgentActions.BUY, amountIn, minOut, QUOTE, BASE), "buy");
    }

    /// @dev -0.5 %: ret1 = -20, logits (5, 0, 40), margin 35, size 350 bps of 10 base.
    function test_sell_onFall() public view {
        bytes memory output = _evaluate(momentumModel(), input(pricesEndingWith(-50)), params(10));
        uint256 amountIn = 0.35e18;
        uint256 minOut = minOutAtTwap(amountIn, true);
        assertEq(output, _swap(AgentActions.SELL, amountIn, minOut, BASE, QUOTE), "sell");
    }

    function test_size_cappedAtMaxSize() public view {
        bytes memory output = _evaluate(momentumModel(), input(pricesEndingWith(50)), params(1000));
        uint256 amountIn = 5000e18; // 2500 bps of 20 000
        uint256 minOut = minOutAtTwap(amountIn, false);
        assertEq(output, _swap(AgentActions.BUY, amountIn, minOut, QUOTE, BASE), "capped buy");
    }

    /// @dev +0.05 %: ret1 = 2, logits (5, 4, 0): the move is too small to trade.
    function test_hold_smallMove() public view {
        bytes memory output = _evaluate(momentumModel(), input(pricesEndingWith(5)), params(10));
        assertEq(output, AgentActions.hold(), "hold");
    }

    /// @dev All logits zero: a three-way tie goes to hold.
    function test_hold_winsTies() public view {
        bytes memory model = momentumModel();
        model[model.length - 9] = 0x00; // hold bias 5 -> 0
        bytes memory output = _evaluate(model, input(pricesEndingWith(0)), params(10));
        assertEq(output, AgentActions.hold(), "hold");
    }

    function test_hold_emptyPool() public view {
        AgentInput memory in_ = input(pricesEndingWith(50));
        in_.reserveBase = 0;
        assertEq(_evaluate(momentumModel(), in_, params(10)), AgentActions.hold(), "no base reserve");
        in_ = input(pricesEndingWith(-50));
        in_.reserveQuote = 0;
        assertEq(_evaluate(momentumModel(), in_, params(10)), AgentActions.hold(), "no quote reserve");
    }

    function test_hold_nothingToSpend() public view {
        AgentInput memory in_ = input(pricesEndingWith(50));
        in_.balanceQuote = 0;
        assertEq(_evaluate(momentumModel(), in_, params(10)), AgentActions.hold(), "no quote");
        in_.balanceQuote = 28; // 350 bps of 28 is 0.98: nothing
        assertEq(_evaluate(momentumModel(), in_, params(10)), AgentActions.hold(), "dust");
    }

    function test_hold_zeroSize() public view {
        assertEq(
            _evaluate(momentumModel(), input(pricesEndingWith(50)), params(0)), AgentActions.hold(), "size 0"
        );
    }

    function test_hold_fullSlippageMeansNoMinimum() public view {
        MlpPolicy.Params memory p = params(10);
        p.slippageBps = 10_000;
        assertEq(_evaluate(momentumModel(), input(pricesEndingWith(50)), p), AgentActions.hold(), "min 0");
    }

    /// @dev An input the pair could not record as a uint112 reserve would make the swap revert.
    function test_hold_swapBeyondPairCapacity() public view {
        AgentInput memory in_ = input(pricesEndingWith(50));
        in_.reserveQuote = type(uint112).max - 1e18;
        in_.balanceQuote = type(uint256).max;
        assertEq(_evaluate(momentumModel(), in_, params(10)), AgentActions.hold(), "overflowing reserve");
    }

    /// @dev The pair's uint112 capacity is the exact limit: an input that fills the reserve to
    /// 2^112 - 1 trades, one unit more holds. (A reserve of 2^111, so that the trade cap of the whole
    /// reserve does not bind first, and a TWAP low enough for the quote to fit a reserve.)
    function test_sell_upToExactlyPairCapacity() public view {
        MlpPolicy.Params memory p = params(1000);
        p.maxSizeBps = 10_000; // spend the whole balance
        AgentInput memory in_ = input(pricesEndingWith(-50));
        in_.reserveBase = uint112(1) << 111;
        in_.balanceBase = type(uint112).max - in_.reserveBase;
        in_.twapPrice = 1e9;
        uint256 minOut = in_.balanceBase * 1e9 / 1e18 * 9950 / 10_000;
        assertEq(
            _evaluate(momentumModel(), in_, p),
            _swap(AgentActions.SELL, in_.balanceBase, minOut, BASE, QUOTE),
            "fills the reserve exactly"
        );
        in_.balanceBase += 1;
        assertEq(_evaluate(momentumModel(), in_, p), AgentActions.hold(), "one unit too many");
    }

    /// @dev Reserves pumped to 4000 quote per base in the snapshot's block do not move the minimum
    /// output: it is the input's value at the TWAP (2000), less the slippage.
    function test_minOut_fromTheTwapNotTheReserves() public view {
        AgentInput memory in_ = input(pricesEndingWith(-50));
        (in_.reserveBase, in_.reserveQuote) = (707e18, 2_828_000e18);
        bytes memory output = _evaluate(momentumModel(), in_, params(10));
        uint256 amountIn = 0.35e18;
        assertEq(
            output, _swap(AgentActions.SELL, amountIn, minOutAtTwap(amountIn, true), BASE, QUOTE), "sell"
        );
    }

    /// @dev A trade is at most `maxTradeBps` of the pool's reserve of what it spends: 0.5 % of
    /// 2 000 000 quote is 10 000, below the 2500 bps of the balance the size rule asks.
    function test_size_cappedAtMaxTradeOfThePool() public view {
        MlpPolicy.Params memory p = params(1000);
        p.maxTradeBps = 50;
        AgentInput memory in_ = input(pricesEndingWith(50));
        in_.balanceQuote = 200_000e18;
        uint256 amountIn = 10_000e18;
        assertEq(
            _evaluate(momentumModel(), in_, p),
            _swap(AgentActions.BUY, amountIn, minOutAtTwap(amountIn, false), QUOTE, BASE),
            "capped by the pool"
        );
    }

    /// @dev Without a TWAP there is no minimum output to ask for.
    function test_hold_noTwap() public view {
        AgentInput memory in_ = input(pricesEndingWith(50));
        in_.twapPrice = 0;
        assertEq(_evaluate(momentumModel(), in_, params(10)), AgentActions.hold(), "no price");
    }

    /// @dev A quote no uint112 reserve can pay (the product past 2^256, or the minimum past 2^112 - 1)
    /// is a hold, not a revert.
    function test_hold_quoteBeyondAnyReserve() public view {
        AgentInput memory in_ = input(pricesEndingWith(-50));
        in_.twapPrice = type(uint256).max;
        assertEq(_evaluate(momentumModel(), in_, params(10)), AgentActions.hold(), "overflowing product");
        in_.twapPrice = uint256(type(uint112).max) * 1e18 / 0.35e18 * 10_000 / 9950 + 1e18;
        assertEq(_evaluate(momentumModel(), in_, params(10)), AgentActions.hold(), "beyond a reserve");
    }

    function test_longHistory_usesTheLast16() public view {
        uint256[] memory tail = pricesEndingWith(50);
        uint256[] memory prices = new uint256[](40);
        for (uint256 i; i < 24; ++i) {
            prices[i] = 1 + i * 1e30;
        }
        for (uint256 i; i < 16; ++i) {
            prices[24 + i] = tail[i];
        }
        assertEq(
            _evaluate(momentumModel(), input(prices), params(10)),
            _evaluate(momentumModel(), input(tail), params(10)),
            "same as the last 16"
        );
    }

    function test_revert_historyTooShort() public {
        uint256[] memory prices = new uint256[](15);
        bytes memory model = momentumModel();
        bytes memory encoded = abi.encode(input(prices));
        bytes memory p = abi.encode(params(10));
        vm.expectRevert(abi.encodeWithSelector(MlpPolicy.HistoryTooShort.selector, 15));
        harness.evaluate(model, encoded, p);
    }

    function test_revert_badParams() public {
        MlpPolicy.Params memory p = params(10);
        p.slippageBps = 10_001;
        bytes memory model = momentumModel();
        bytes memory encoded = abi.encode(input(pricesEndingWith(0)));
        vm.expectRevert(abi.encodeWithSelector(MlpPolicy.BadSlippage.selector, 10_001));
        harness.evaluate(model, encoded, abi.encode(p));
        p.slippageBps = 0;
        p.maxSizeBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(MlpPolicy.BadMaxSize.selector, 10_001));
        harness.evaluate(model, encoded, abi.encode(p));
        p.maxSizeBps = 0;
        p.maxTradeBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(MlpPolicy.BadMaxTrade.selector, 10_001));
        harness.evaluate(model, encoded, abi.encode(p));
    }

    // ---------------------------------------------------------------------------------------------
    // Features
    // ---------------------------------------------------------------------------------------------

    /// @dev Prices 2000, 2001, ..., 2015 and a vault worth as much in base as in quote: the values
    /// worked out in the Rust unit test `rising_prices_give_positive_returns`.
    function test_features_handComputed() public view {
        uint256[] memory prices = new uint256[](16);
        for (uint256 i; i < 16; ++i) {
            prices[i] = (2000 + i) * 1e18;
        }
        AgentInput memory in_ = input(prices);
        in_.balanceBase = 1000;
        in_.balanceQuote = 2_015_000;
        bytes[] memory models = new bytes[](1);
        bytes[] memory inputs = new bytes[](1);
        bytes[] memory ps = new bytes[](1);
        (models[0], inputs[0], ps[0]) = (momentumModel(), abi.encode(in_), abi.encode(params(10)));
        int256[] memory f = harness.evaluateBatch(models, inputs, ps)[0].features;
        // ret1 = floor(1/2014 * 4000), ret2 = floor(2/2013 * 2800), ret4 = floor(4/2011 * 2000),
        // ret8 = floor(8/2007 * 1400), ret15 = floor(15/2000 * 1000), maDev = floor(7.5/2007.5 * 2000),
        // cross = floor(6/2007.5 * 4000), vol = floor(15/2007.5 * 400), position 0.
        int256[9] memory expected = [int256(1), 2, 3, 5, 7, 7, 11, 2, 0];
        for (uint256 i; i < 9; ++i) {
            // Features lie in [-127, 127]; shifting by 128 compares them as uints.
            // forge-lint: disable-next-line(unsafe-typecast)
            assertEq(uint256(f[i] + 128), uint256(expected[i] + 128), "feature");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Model validation
    // ---------------------------------------------------------------------------------------------

    function _expectInvalid(bytes memory model, bytes memory err) internal {
        vm.expectRevert(err);
        harness.validateModel(model);
    }

    function test_validModel() public view {
        harness.validateModel(momentumModel());
    }

    function test_revert_truncatedHeader() public {
        _expectInvalid(hex"574d4c5001", abi.encodeWithSelector(MlpPolicy.ModelTruncated.selector, 5, 6));
        _expectInvalid(hex"574d4c50010209", abi.encodeWithSelector(MlpPolicy.ModelTruncated.selector, 7, 9));
    }

    function test_revert_badMagic() public {
        bytes memory model = momentumModel();
        model[0] = "X";
        _expectInvalid(model, abi.encodeWithSelector(MlpPolicy.BadModelMagic.selector));
    }

    function test_revert_unsupportedVersion() public {
        bytes memory model = momentumModel();
        model[4] = 0x02;
        _expectInvalid(model, abi.encodeWithSelector(MlpPolicy.UnsupportedModelVersion.selector, 2));
    }

    function test_revert_badLayerCount() public {
        bytes memory model = momentumModel();
        model[5] = 0x01;
        _expectInvalid(model, abi.encodeWithSelector(MlpPolicy.BadLayerCount.selector, 1));
        model[5] = 0x06;
        _expectInvalid(model, abi.encodeWithSelector(MlpPolicy.BadLayerCount.selector, 6));
    }

    function test_revert_badLayerDims() public {
        bytes memory model = momentumModel();
        model[6] = 0x08;
        _expectInvalid(model, abi.encodeWithSelector(MlpPolicy.BadLayerDim.selector, 0, 8));
        model = momentumModel();
        model[7] = 0x00;
        _expectInvalid(model, abi.encodeWithSelector(MlpPolicy.BadLayerDim.selector, 1, 0));
        model[7] = 0x41;
        _expectInvalid(model, abi.encodeWithSelector(MlpPolicy.BadLayerDim.selector, 1, 65));
        model = momentumModel();
        model[8] = 0x04;
        _expectInvalid(model, abi.encodeWithSelector(MlpPolicy.BadLayerDim.selector, 2, 4));
    }

    function test_revert_lengthMismatch() public {
        bytes memory model = momentumModel();
        uint256 length = model.length;
        _expectInvalid(
            abi.encodePacked(model, hex"00"),
            abi.encodeWithSelector(MlpPolicy.ModelTrailingBytes.selector, length + 1, length)
        );
        assembly ("memory-safe") {
            mstore(model, sub(length, 1))
        }
        _expectInvalid(model, abi.encodeWithSelector(MlpPolicy.ModelTruncated.selector, length - 1, length));
    }

    function test_revert_accumulatorOutOfRange() public {
        bytes memory model = momentumModel();
        // Layer 0 neuron 1's bias (offset 9 + 18 + 4) set to 2^31 - 1: with |w| = 1 the bound is
        // 2^31 - 1 + 127.
        (model[31], model[32], model[33], model[34]) = (0x7f, 0xff, 0xff, 0xff);
        _expectInvalid(
            model,
            abi.encodeWithSelector(MlpPolicy.AccumulatorOutOfRange.selector, 0, 1, uint256(2 ** 31 - 1 + 127))
        );
        // Exactly at the bound is fine: 2^31 - 1 - 127.
        (model[31], model[32], model[33], model[34]) = (0x7f, 0xff, 0xff, 0x80);
        harness.validateModel(model);
    }

    function test_revert_badRequantization() public {
        bytes memory model = momentumModel();
        (model[35], model[36], model[37], model[38]) = (0x00, 0x00, 0x00, 0x00);
        _expectInvalid(model, abi.encodeWithSelector(MlpPolicy.BadMultiplier.selector, 0, 0));
        (model[35], model[36], model[37], model[38]) = (0x80, 0x00, 0x00, 0x00);
        _expectInvalid(model, abi.encodeWithSelector(MlpPolicy.BadMultiplier.selector, 0, 2 ** 31));
        model = momentumModel();
        model[39] = 0x00;
        _expectInvalid(model, abi.encodeWithSelector(MlpPolicy.BadShift.selector, 0, 0));
        model[39] = 0x3f;
        _expectInvalid(model, abi.encodeWithSelector(MlpPolicy.BadShift.selector, 0, 63));
        model[39] = 0x3e;
        harness.validateModel(model);
    }
}
