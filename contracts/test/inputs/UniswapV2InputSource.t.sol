// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {WardenVault} from "../../src/WardenVault.sol";
import {AgentInput} from "../../src/agent/AgentTypes.sol";
import {UniswapV2InputSource} from "../../src/inputs/UniswapV2InputSource.sol";
import {IAgentInputSource} from "../../src/interfaces/IAgentInputSource.sol";
import {AgentConfig, ITaskManager} from "../../src/interfaces/ITaskManager.sol";
import {TestToken} from "../lib/TestToken.sol";
import {IUniswapV2Pair} from "../lib/UniswapV2.sol";
import {TaskManagerFixture} from "../taskmanager/TaskManagerFixture.sol";

/// @dev The Uniswap v2 input source: observations of the pair's cumulative price, the interval TWAPs
/// and the window's TWAP derived from them, what a trade in the snapshot's block can and cannot move,
/// the snapshot's valuation, the current prices, readiness, and who may drive it.
contract UniswapV2InputSourceTest is TaskManagerFixture {
    function setUp() public {
        deployWarden();
    }

    // ------------------------------------------------------------------------------------------
    // observe
    // ------------------------------------------------------------------------------------------

    /// @dev The recorded value is the pair's counter brought up to this block's timestamp at the
    /// reserves that stood since its last update.
    function test_observe_recordsTheCumulativePriceUpToNow() public {
        rollTo(block.number + 5);
        (uint112 r0, uint112 r1, uint32 updatedAt) = pair.getReserves();
        bool baseFirst = pair.token0() == address(base);
        uint256 stored = baseFirst ? pair.price0CumulativeLast() : pair.price1CumulativeLast();
        uint256 price = baseFirst ? (uint256(r1) << 112) / r0 : (uint256(r0) << 112) / r1;
        uint256 expected = stored + price * (block.timestamp - updatedAt);
        vm.expectEmit(true, false, false, true, address(inputSource));
        emit UniswapV2InputSource.CumulativePriceObserved(agentId, expected, uint32(block.timestamp));
        inputSource.observe(agentId);
        (uint32 lastObservedAt, uint8 observations) = inputSource.observationStatus(agentId);
        assertEq(lastObservedAt, block.timestamp, "observed at");
        assertEq(observations, 1, "count");
        assertEq(inputSource.priceHistory(agentId).length, 0, "one observation is no interval yet");
    }

    /// @dev The price is quote per base whichever token the pair orders first: a second market pairs
    /// the base token with a quote token on the other side of it in the pair's order.
    function test_observe_quotePerBaseForEitherTokenOrder() public {
        bool baseFirst = pair.token0() == address(base);
        TestToken otherQuote = new TestToken("Other", "OTH");
        while ((address(base) < address(otherQuote)) == baseFirst) {
            otherQuote = new TestToken("Other", "OTH");
        }
        base.mint(address(this), 10 ether);
        otherQuote.mint(address(this), 30 ether);
        base.approve(address(router), 10 ether);
        otherQuote.approve(address(router), 30 ether);
        router.addLiquidity(
            address(base), address(otherQuote), 10 ether, 30 ether, 0, 0, address(this), block.timestamp
        );
        IUniswapV2Pair otherPair = IUniswapV2Pair(factory.getPair(address(base), address(otherQuote)));
        assertTrue((otherPair.token0() == address(base)) != baseFirst, "opposite token order");

        WardenVault other = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(other));
        UniswapV2InputSource otherSource =
            new UniswapV2InputSource(address(taskManager), address(otherPair), MIN_OBSERVATION_INTERVAL);
        config.inputSource = address(otherSource);
        config.tokenQuote = address(otherQuote);
        vm.prank(BOB);
        uint64 otherAgent = taskManager.registerAgent(config);
        for (uint256 i; i < 2; ++i) {
            rollTo(block.number + 1);
            otherSource.observe(otherAgent);
            inputSource.observe(agentId);
        }
        assertEq(otherSource.priceHistory(otherAgent)[0], 3 ether, "quote per base, second market");
        assertEq(inputSource.priceHistory(agentId)[0], 2000 ether, "quote per base");
    }

    /// @dev An empty pool accumulates no price: its TWAP is 0, "no price", a fact the agent can see.
    function test_observe_emptyPoolHasNoPrice() public {
        TestToken other = new TestToken("Other", "OTH");
        address emptyPair = factory.createPair(address(base), address(other));
        WardenVault otherVault = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(otherVault));
        UniswapV2InputSource emptySource =
            new UniswapV2InputSource(address(taskManager), emptyPair, MIN_OBSERVATION_INTERVAL);
        config.inputSource = address(emptySource);
        config.tokenQuote = address(other);
        vm.prank(BOB);
        uint64 id = taskManager.registerAgent(config);
        emptySource.observe(id);
        rollTo(block.number + 1);
        emptySource.observe(id);
        assertEq(emptySource.priceHistory(id)[0], 0, "no price");
        (uint256 spot, uint256 twap) = emptySource.currentPrices(id);
        assertTrue(spot == 0 && twap == 0, "no current price");
    }

    /// @dev At most one observation per `minObservationInterval` seconds: a second one in the same
    /// block, or in a later block too soon after, is refused; anyone calling `observe` in every block
    /// cannot shrink the window below 16 intervals.
    function test_revert_observe_tooSoon() public {
        vm.warp(block.timestamp + 100);
        inputSource.observe(agentId);
        uint256 nextAt = block.timestamp + MIN_OBSERVATION_INTERVAL;
        vm.expectRevert(
            abi.encodeWithSelector(UniswapV2InputSource.ObservationTooSoon.selector, agentId, nextAt)
        );
        inputSource.observe(agentId);
        vm.roll(block.number + 1);
        vm.warp(nextAt - 1);
        vm.expectRevert(
            abi.encodeWithSelector(UniswapV2InputSource.ObservationTooSoon.selector, agentId, nextAt)
        );
        inputSource.observe(agentId);
        vm.warp(nextAt);
        inputSource.observe(agentId);
    }

    function test_revert_observe_unknownAgent() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownAgent.selector, 0));
        inputSource.observe(0);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownAgent.selector, 2));
        inputSource.observe(2);
    }

    function test_revert_constructor_zeroInterval() public {
        vm.expectRevert(abi.encodeWithSelector(UniswapV2InputSource.InvalidObservationInterval.selector, 0));
        new UniswapV2InputSource(address(taskManager), address(pair), 0);
    }

    // ------------------------------------------------------------------------------------------
    // Interval TWAPs
    // ------------------------------------------------------------------------------------------

    /// @dev 20 observations of a moving price, a trade in each observed block just before the
    /// observation: each interval's TWAP is the price its trade left, and the history holds the last
    /// 16 intervals, oldest first.
    function test_priceHistory_ringOfIntervalTwapsOldestFirst() public {
        uint256[] memory held = new uint256[](20);
        for (uint256 i; i < 20; ++i) {
            rollTo(block.number + 1);
            trade(quote, base, 1000 ether);
            held[i] = twapOfSpot();
            inputSource.observe(agentId);
            uint256[] memory history = inputSource.priceHistory(agentId);
            uint256 count = i + 1 < 17 ? i + 1 : 17;
            assertEq(history.length, count - 1, "history length");
            for (uint256 j; j + 1 < count; ++j) {
                assertEq(history[j], held[i + 1 - count + j], "interval TWAP");
            }
        }
        (, uint8 observations) = inputSource.observationStatus(agentId);
        assertEq(observations, 17, "count saturates");
    }

    /// @dev The window's TWAP weighs each interval by its length: 12 seconds at one price, 36 at
    /// another, averaged over the 48.
    function test_twapPrice_weighsIntervalsByTime() public {
        observeBlocks(agentId, 15);
        rollTo(block.number + 1);
        trade(quote, base, 20_000 ether);
        uint256 high = twapOfSpot();
        inputSource.observe(agentId);
        vm.roll(block.number + 3);
        vm.warp(block.timestamp + 36);
        uint256 low = 2000 ether;
        (, AgentInput memory input) = openTaskWithInput(agentId);
        assertEq(input.priceHistory[15], high, "the last interval held the traded price");
        // 15 intervals of 12 s at 2000, one of 36 s at `high`: (15 * 12 * 2000 + 36 * high) / 216.
        uint256 expected = (180 * low + 36 * high) / 216;
        uint256 difference =
            input.twapPrice > expected ? input.twapPrice - expected : expected - input.twapPrice;
        assertTrue(difference <= 2, "time-weighted");
    }

    function test_priceHistory_unknownAgentIsEmpty() public view {
        assertEq(inputSource.priceHistory(7).length, 0, "empty");
    }

    /// @dev Prices far beyond 2^128 (a near-empty base reserve) are averaged exactly: the cumulative
    /// counters are kept whole, and the average is taken in 512 bits.
    function test_priceHistory_widePrices() public {
        TestToken other = new TestToken("Other", "OTH");
        base.mint(address(this), 1001);
        other.mint(address(this), 1e32);
        base.approve(address(router), 1001);
        other.approve(address(router), 1e32);
        router.addLiquidity(address(base), address(other), 1001, 1e32, 0, 0, address(this), block.timestamp);
        address thinPair = factory.getPair(address(base), address(other));
        UniswapV2InputSource thin =
            new UniswapV2InputSource(address(taskManager), thinPair, MIN_OBSERVATION_INTERVAL);
        WardenVault otherVault = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(otherVault));
        (config.inputSource, config.tokenQuote) = (address(thin), address(other));
        vm.prank(BOB);
        uint64 id = taskManager.registerAgent(config);
        (uint112 r0, uint112 r1,) = IUniswapV2Pair(thinPair).getReserves();
        (uint256 rb, uint256 rq) = IUniswapV2Pair(thinPair).token0() == address(base)
            ? (uint256(r0), uint256(r1))
            : (uint256(r1), uint256(r0));
        uint256 wide = Math.mulDiv((rq << 112) / rb, 1e18, 1 << 112);
        assertTrue(wide > type(uint128).max, "does not fit 128 bits");
        thin.observe(id);
        rollTo(block.number + 1);
        thin.observe(id);
        assertEq(thin.priceHistory(id)[0], wide, "exact");
    }

    // ------------------------------------------------------------------------------------------
    // What a trade in the snapshot's block moves
    // ------------------------------------------------------------------------------------------

    /// @dev A searcher's bundle (pump, openTask, unwind) in the opening block changes the snapshot's
    /// reserves and nothing else: the prices are those of a block-free counterfactual.
    function test_snapshot_pumpInTheOpeningBlockMovesNoPrice() public {
        observeBlocks(agentId, 16);
        rollTo(block.number + 1);
        uint256 snap = vm.snapshotState();
        (, AgentInput memory honest) = openTaskWithInput(agentId);
        vm.revertToState(snap);
        trade(quote, base, 1_000_000 ether);
        (, AgentInput memory pumped) = openTaskWithInput(agentId);
        assertTrue(pumped.reserveQuote > honest.reserveQuote * 5 / 4, "the reserves moved");
        assertEq(abi.encode(pumped.priceHistory), abi.encode(honest.priceHistory), "same interval TWAPs");
        assertEq(pumped.twapPrice, honest.twapPrice, "same TWAP");
        assertEq(honest.twapPrice, 2000 ether, "the fair price");
    }

    /// @dev The current prices: a front-run in this block moves the spot price, not the TWAP up to
    /// now, which only catches up as the moved price holds through later blocks.
    function test_currentPrices_spotMovesTwapHolds() public {
        observeBlocks(agentId, 16);
        rollTo(block.number + 1);
        (uint256 spot, uint256 twap) = inputSource.currentPrices(agentId);
        assertTrue(spot == 2000 ether && twap == 2000 ether, "calm");
        trade(base, quote, 10 ether);
        (spot, twap) = inputSource.currentPrices(agentId);
        assertEq(spot, spotPrice(), "spot");
        assertEq(twap, 2000 ether, "the TWAP is unmoved in the trade's block");
        rollTo(block.number + 1);
        (, uint256 later) = inputSource.currentPrices(agentId);
        assertTrue(later < 2000 ether && later > spot, "held through a block end, it pulls the TWAP");
        vm.expectRevert(abi.encodeWithSelector(IAgentInputSource.UnknownAgent.selector, 9));
        inputSource.currentPrices(9);
    }

    // ------------------------------------------------------------------------------------------
    // Access, valuation, readiness
    // ------------------------------------------------------------------------------------------

    function test_revert_onlyTheTaskManagerBindsAndSnapshots() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentInputSource.NotTaskManager.selector, address(this)));
        inputSource.registerAgent(7, address(base), address(quote));
        vm.expectRevert(abi.encodeWithSelector(IAgentInputSource.NotTaskManager.selector, address(this)));
        inputSource.snapshot(agentId, address(vault), address(base), address(quote));
        vm.prank(address(taskManager));
        vm.expectRevert(abi.encodeWithSelector(UniswapV2InputSource.AgentAlreadyRegistered.selector, agentId));
        inputSource.registerAgent(agentId, address(base), address(quote));
    }

    function test_registerAgent_bindsTheAgentToThePair() public {
        WardenVault other = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        vm.expectEmit(true, false, false, true, address(inputSource));
        emit UniswapV2InputSource.AgentBound(
            agentId + 1, address(base), address(quote), pair.token0() == address(base)
        );
        vm.prank(BOB);
        uint64 id = taskManager.registerAgent(defaultConfig(address(other)));
        (uint32 lastObservedAt, uint8 observations) = inputSource.observationStatus(id);
        assertTrue(lastObservedAt == 0 && observations == 0, "no history yet");
    }

    /// @dev A source bound to another task manager refuses that task manager's agents outright.
    function test_revert_registerAgent_sourceOfAnotherTaskManager() public {
        UniswapV2InputSource foreign =
            new UniswapV2InputSource(address(0xBEEF), address(pair), MIN_OBSERVATION_INTERVAL);
        WardenVault other = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(other));
        config.inputSource = address(foreign);
        vm.expectRevert(
            abi.encodeWithSelector(IAgentInputSource.NotTaskManager.selector, address(taskManager))
        );
        vm.prank(BOB);
        taskManager.registerAgent(config);
    }

    /// @dev The valuation is the snapshot's own tokens and TWAP, read back from its bytes.
    function test_valuation_readsTheSnapshotTwap() public {
        uint64 taskId = openFreshTask(agentId);
        (address tokenBase, address tokenQuote, uint256 price) = inputSource.valuation(taskInput[taskId]);
        AgentInput memory input = abi.decode(taskInput[taskId], (AgentInput));
        assertEq(tokenBase, address(base), "base");
        assertEq(tokenQuote, address(quote), "quote");
        assertEq(price, input.twapPrice, "the snapshot's TWAP");
        assertEq(price, 2000 ether, "the pool's price");
        vm.expectRevert();
        inputSource.valuation(new bytes(0x13f));
    }

    function test_readyAt_countsTheBlocksStillNeeded() public {
        assertEq(inputSource.readyAt(agentId), block.number + 16, "empty: 16 more blocks");
        inputSource.observe(agentId);
        assertEq(inputSource.readyAt(agentId), block.number + 16, "observed now: 16 more");
        observeBlocks(agentId, 15);
        assertEq(inputSource.readyAt(agentId), block.number + 1, "16 recorded: the next block");
        rollTo(block.number + 1);
        assertEq(inputSource.readyAt(agentId), block.number, "the snapshot records the 17th");
        vm.expectRevert(abi.encodeWithSelector(IAgentInputSource.UnknownAgent.selector, 9));
        inputSource.readyAt(9);
    }
}
