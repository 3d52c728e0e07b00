// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {WardenVault} from "../../src/WardenVault.sol";
import {UniswapV2InputSource} from "../../src/inputs/UniswapV2InputSource.sol";
import {IAgentInputSource} from "../../src/interfaces/IAgentInputSource.sol";
import {AgentConfig, ITaskManager} from "../../src/interfaces/ITaskManager.sol";
import {TestToken} from "../lib/TestToken.sol";
import {IUniswapV2Pair} from "../lib/UniswapV2.sol";
import {TaskManagerFixture} from "../taskmanager/TaskManagerFixture.sol";

/// @dev The Uniswap v2 input source: price observations, the ring buffer and its packing, the
/// snapshot's valuation, readiness, and who may drive it.
contract UniswapV2InputSourceTest is TaskManagerFixture {
    function setUp() public {
        deployWarden();
    }

    // ------------------------------------------------------------------------------------------
    // observe and priceHistory (moved from WardenTaskManager.t.sol with the observation ring buffer)
    // ------------------------------------------------------------------------------------------

    function test_observe_recordsSpotPrice() public {
        vm.roll(block.number + 1);
        uint256 price = spotPrice();
        assertEq(price, 2000 ether, "pool price");
        vm.expectEmit(true, false, false, true, address(inputSource));
        emit UniswapV2InputSource.PriceObserved(agentId, price, uint32(block.number));
        inputSource.observe(agentId);

        uint256[] memory history = inputSource.priceHistory(agentId);
        assertEq(history.length, 1, "one observation");
        assertEq(history[0], price, "price");
        (uint32 lastObservedAt, uint8 observations) = inputSource.observationStatus(agentId);
        assertEq(lastObservedAt, block.number, "observed at");
        assertEq(observations, 1, "count");
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
        UniswapV2InputSource otherSource = new UniswapV2InputSource(address(taskManager), address(otherPair));
        config.inputSource = address(otherSource);
        config.tokenQuote = address(otherQuote);
        vm.prank(BOB);
        uint64 otherAgent = taskManager.registerAgent(config);
        otherSource.observe(otherAgent);
        inputSource.observe(agentId);
        assertEq(otherSource.priceHistory(otherAgent)[0], 3 ether, "quote per base, second market");
        assertEq(inputSource.priceHistory(agentId)[0], 2000 ether, "quote per base");
    }

    function test_observe_emptyPoolRecordsZero() public {
        TestToken other = new TestToken("Other", "OTH");
        address emptyPair = factory.createPair(address(base), address(other));
        WardenVault otherVault = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(otherVault));
        UniswapV2InputSource emptySource = new UniswapV2InputSource(address(taskManager), emptyPair);
        config.inputSource = address(emptySource);
        config.tokenQuote = address(other);
        vm.prank(BOB);
        uint64 id = taskManager.registerAgent(config);
        emptySource.observe(id);
        assertEq(emptySource.priceHistory(id)[0], 0, "no price");
    }

    function test_revert_observe_twiceInOneBlock() public {
        vm.roll(block.number + 1);
        inputSource.observe(agentId);
        vm.expectRevert(
            abi.encodeWithSelector(UniswapV2InputSource.AlreadyObserved.selector, agentId, block.number)
        );
        inputSource.observe(agentId);
    }

    function test_revert_observe_unknownAgent() public {
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownAgent.selector, 0));
        inputSource.observe(0);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.UnknownAgent.selector, 2));
        inputSource.observe(2);
    }

    /// @dev 20 observations of a moving price: the history holds the last 16, oldest first.
    function test_priceHistory_ringBufferOldestFirst() public {
        uint256[] memory seen = new uint256[](20);
        for (uint256 i; i < 20; ++i) {
            trade(quote, base, 1000 ether);
            vm.roll(block.number + 1);
            inputSource.observe(agentId);
            seen[i] = spotPrice();
            uint256[] memory history = inputSource.priceHistory(agentId);
            uint256 expectedLength = i + 1 < 16 ? i + 1 : 16;
            assertEq(history.length, expectedLength, "history length");
            for (uint256 j; j < expectedLength; ++j) {
                assertEq(history[j], seen[i + 1 - expectedLength + j], "history entry");
            }
        }
        (, uint8 observations) = inputSource.observationStatus(agentId);
        assertEq(observations, 16, "count saturates");
    }

    function test_priceHistory_unknownAgentIsEmpty() public view {
        assertEq(inputSource.priceHistory(7).length, 0, "empty");
    }

    // ------------------------------------------------------------------------------------------
    // Access, valuation, readiness, packing
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
        UniswapV2InputSource foreign = new UniswapV2InputSource(address(0xBEEF), address(pair));
        WardenVault other = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(other));
        config.inputSource = address(foreign);
        vm.expectRevert(
            abi.encodeWithSelector(IAgentInputSource.NotTaskManager.selector, address(taskManager))
        );
        vm.prank(BOB);
        taskManager.registerAgent(config);
    }

    /// @dev The valuation is the snapshot's own tokens and reserves, read back from its bytes.
    function test_valuation_readsTheSnapshotHead() public {
        uint64 taskId = openFreshTask(agentId);
        (address tokenBase, address tokenQuote, uint256 reserveBase, uint256 reserveQuote) =
            inputSource.valuation(taskInput[taskId]);
        (uint256 expectedBase, uint256 expectedQuote) = reservesBaseQuote();
        assertEq(tokenBase, address(base), "base");
        assertEq(tokenQuote, address(quote), "quote");
        assertEq(reserveBase, expectedBase, "reserve base");
        assertEq(reserveQuote, expectedQuote, "reserve quote");
        vm.expectRevert();
        inputSource.valuation(new bytes(0xbf));
    }

    function test_readyAt_countsTheBlocksStillNeeded() public {
        assertEq(inputSource.readyAt(agentId), block.number + 15, "empty: 15 more blocks");
        inputSource.observe(agentId);
        assertEq(inputSource.readyAt(agentId), block.number + 15, "observed this block: 15 more");
        observeBlocks(agentId, 14);
        assertEq(inputSource.readyAt(agentId), block.number + 1, "15 recorded: the next block");
        vm.roll(block.number + 1);
        assertEq(inputSource.readyAt(agentId), block.number, "the snapshot records the 16th");
        vm.expectRevert(abi.encodeWithSelector(IAgentInputSource.UnknownAgent.selector, 9));
        inputSource.readyAt(9);
    }

    /// @dev Prices of 2^128 or more (a near-empty base reserve) do not fit a packed half: they are
    /// kept in full, through the ring buffer's wrap, beside ordinary ones.
    function test_priceHistory_widePricesSurviveThePacking() public {
        TestToken other = new TestToken("Other", "OTH");
        base.mint(address(this), 1001);
        other.mint(address(this), 1e32);
        base.approve(address(router), 1001);
        other.approve(address(router), 1e32);
        router.addLiquidity(address(base), address(other), 1001, 1e32, 0, 0, address(this), block.timestamp);
        address thinPair = factory.getPair(address(base), address(other));
        UniswapV2InputSource thin = new UniswapV2InputSource(address(taskManager), thinPair);
        WardenVault otherVault = new WardenVault(BOB, address(taskManager), STAKE_BOUND_BPS);
        AgentConfig memory config = defaultConfig(address(otherVault));
        (config.inputSource, config.tokenQuote) = (address(thin), address(other));
        vm.prank(BOB);
        uint64 id = taskManager.registerAgent(config);

        uint256 wide = uint256(1e32) * 1e18 / 1001;
        assertTrue(wide > type(uint128).max, "does not fit 128 bits");
        uint256[] memory seen = new uint256[](20);
        for (uint256 i; i < 20; ++i) {
            vm.roll(block.number + 1);
            // Every third block a trade makes the price ordinary (base reserve no longer tiny), then
            // the next one takes it back.
            if (i % 3 == 1) trade(base, other, 1000 ether);
            else if (i % 3 == 2) trade(other, base, 5e32);
            (uint112 r0, uint112 r1,) = IUniswapV2Pair(thinPair).getReserves();
            (uint256 rb, uint256 rq) = IUniswapV2Pair(thinPair).token0() == address(base)
                ? (uint256(r0), uint256(r1))
                : (uint256(r1), uint256(r0));
            seen[i] = rq * 1e18 / rb;
            thin.observe(id);
            uint256[] memory history = thin.priceHistory(id);
            uint256 length = i + 1 < 16 ? i + 1 : 16;
            assertEq(history.length, length, "length");
            for (uint256 j; j < length; ++j) {
                assertEq(history[j], seen[i + 1 - length + j], "entry");
            }
        }
        assertEq(seen[0], wide, "started wide");
        assertTrue(seen[1] < type(uint128).max && seen[2] > type(uint128).max, "ordinary and wide prices");
    }
}
