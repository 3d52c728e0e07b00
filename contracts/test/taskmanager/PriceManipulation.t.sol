// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {MlpAgentVerifier} from "../../src/agent/MlpAgentVerifier.sol";
import {WardenVault} from "../../src/WardenVault.sol";
import {AgentActions, AgentInput} from "../../src/agent/AgentTypes.sol";
import {IUniswapV2Router} from "../../src/interfaces/IUniswapV2.sol";
import {IWardenVault} from "../../src/interfaces/IWardenVault.sol";
import {TestToken} from "../lib/TestToken.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";

/// @dev Searchers and corrupt quorums steering the prices Warden reads. The pool holds 1000 base
/// and 2 000 000 quote (a fair price of 2000); the reference MLP agent trades a tenth of its vault
/// per action, so a 100-base vault trades 1 % of the pool. Every attacker move is a real swap on
/// the real Uniswap v2 pair; blocks are 12 seconds apart.
contract PriceManipulationTest is TaskManagerFixture {
    event log_named_uint(string key, uint256 val);

    address internal constant SEARCHER = address(0x5EA4C4E4);
    /// @dev The reference agent's parameters: 2 % slippage from the TWAP, trades of at most 0.25 % of
    /// the pool.
    uint16 internal constant SLIPPAGE_BPS = 200;
    uint16 internal constant MAX_TRADE_BPS = 25;
    uint16 internal constant MAX_SIZE_BPS = 1000;
    uint256 internal constant FAIR_PRICE = 2000 ether;

    MlpAgentVerifier internal mlp;
    WardenVault internal mlpVault;
    uint64 internal mlpAgent;

    /// @dev What the searcher's bundle did at `openTask`: the pump it chose, for the unwind.
    struct Pump {
        bool sellBase;
        uint256 amountIn;
    }

    function setUp() public {
        deployWarden();
        mlp = deployReferenceVerifier(SLIPPAGE_BPS, MAX_SIZE_BPS, MAX_TRADE_BPS);
    }

    // ------------------------------------------------------------------------------------------
    // 1. Pump, open, unwind in one bundle; sandwich the execute
    // ------------------------------------------------------------------------------------------

    /// @dev A vault of 100 base and 200 000 quote: its largest trade is 1 % of the pool.
    function test_attack_pumpOpenUnwindBundle_sandwichExecute() public {
        uint256 lossBps = _pumpOpenUnwindThenSandwich(1);
        assertLe(lossBps, SLIPPAGE_BPS, "the vault lost more than the slippage to the searcher");
    }

    /// @dev Ten times the vault: its largest trade is 10 % of the pool.
    function test_attack_pumpOpenUnwindBundle_sandwichExecute_tenfoldVault() public {
        uint256 lossBps = _pumpOpenUnwindThenSandwich(10);
        assertLe(lossBps, SLIPPAGE_BPS, "the vault lost more than the slippage to the searcher");
    }

    /// @dev The searcher tries pumps both ways and of several sizes in its bundle, keeps the one that
    /// makes the agent trade with the lowest minimum output against the fair price, lets the honest
    /// quorum commit the action, then front-runs the execute as far as it still succeeds and backs
    /// out. Returns the vault's loss against the fair price, in bps of the trade.
    function _pumpOpenUnwindThenSandwich(uint256 scale) private returns (uint256 lossBps) {
        _registerMlpVault(scale);
        _honestHistory();
        uint256 fair = spotPrice();

        Pump memory best;
        uint256 bestRatio = type(uint256).max;
        for (uint256 i; i < 8; ++i) {
            Pump memory pump = Pump({sellBase: i % 2 == 0, amountIn: 0});
            uint256 size = 25 ether << (i / 2);
            pump.amountIn = pump.sellBase ? size : size * 2000;
            uint256 snap = vm.snapshotState();
            (, bytes memory output) = _bundle(pump);
            uint256 ratio = _minOutOverFair(output, fair);
            vm.revertToState(snap);
            if (ratio < bestRatio) (best, bestRatio) = (pump, ratio);
        }
        emit log_named_uint(
            "best bundle: minimum output / fair output (bps)", bestRatio == type(uint256).max ? 0 : bestRatio
        );

        (uint64 taskId, bytes memory action) = _bundle(best);
        (uint8 kind,,, bytes memory data) = abi.decode(action, (uint8, address, uint256, bytes));
        commitAll(taskId, action);
        rollTo(taskOf(taskId).deadline + 1);
        if (kind == AgentActions.HOLD) {
            emit log_named_uint("the agent held: loss (bps)", 0);
            return 0;
        }
        lossBps = _sandwich(taskId, action, kind, data, fair);
        emit log_named_uint("vault loss against the fair price (bps of the trade)", lossBps);
    }

    /// @dev In one block: pump, open the task, unwind. Returns the task and the honest agent's action.
    function _bundle(Pump memory pump) private returns (uint64 taskId, bytes memory output) {
        rollTo(block.number + 1);
        keepWeightsFresh();
        rollTo(block.number + 1);
        (TestToken from, TestToken to) = pump.sellBase ? (base, quote) : (quote, base);
        uint256 bought = _swap(SEARCHER, from, to, pump.amountIn);
        AgentInput memory input;
        (taskId, input) = openTaskWithInput(mlpAgent);
        _swap(SEARCHER, to, from, bought);
        output = mlp.evaluate(abi.encode(input));
    }

    /// @dev The action's minimum output over what its input is worth at the fair price, in bps; the
    /// maximum for a hold.
    function _minOutOverFair(bytes memory output, uint256 fair) private pure returns (uint256) {
        (uint8 kind,,, bytes memory data) = abi.decode(output, (uint8, address, uint256, bytes));
        if (kind == AgentActions.HOLD) return type(uint256).max;
        (uint256 amountIn, uint256 minOut) = _swapAmounts(data);
        uint256 fairOut = kind == AgentActions.SELL ? amountIn * fair / 1e18 : amountIn * 1e18 / fair;
        return minOut * 10_000 / fairOut;
    }

    /// @dev Front-runs the execute by the largest swap with which it still succeeds, executes, backs
    /// out. Returns the vault's loss against the fair price in bps of the trade's fair value.
    function _sandwich(uint64 taskId, bytes memory action, uint8 kind, bytes memory data, uint256 fair)
        private
        returns (uint256 lossBps)
    {
        // Against a sell of base the searcher sells base first; against a buy it buys base first.
        (TestToken from, TestToken to) = kind == AgentActions.SELL ? (base, quote) : (quote, base);
        uint256 low;
        uint256 high = from.balanceOf(address(pair)) * 4;
        for (uint256 i; i < 64 && low < high; ++i) {
            uint256 mid = (low + high + 1) / 2;
            if (_executesAfter(taskId, action, from, to, mid)) low = mid;
            else high = mid - 1;
        }
        emit log_named_uint("largest front-run the execute survives", low);
        uint256 bought = _swap(SEARCHER, from, to, low);
        (uint256 amountIn,) = _swapAmounts(data);
        uint256 outBefore = to.balanceOf(address(mlpVault));
        execute(taskId, action);
        uint256 received = to.balanceOf(address(mlpVault)) - outBefore;
        _swap(SEARCHER, to, from, bought);
        uint256 fairOut = kind == AgentActions.SELL ? amountIn * fair / 1e18 : amountIn * 1e18 / fair;
        lossBps = received >= fairOut ? 0 : (fairOut - received) * 10_000 / fairOut;
    }

    function _executesAfter(
        uint64 taskId,
        bytes memory action,
        TestToken from,
        TestToken to,
        uint256 frontRun
    ) private returns (bool ok) {
        uint256 snap = vm.snapshotState();
        if (frontRun != 0) _swap(SEARCHER, from, to, frontRun);
        vm.prank(KEEPER);
        try taskManager.execute(taskId, taskInput[taskId], action, bytes32(0), taskNonSignerHash[taskId]) {
            ok = true;
        } catch {
            ok = false;
        }
        vm.revertToState(snap);
    }

    // ------------------------------------------------------------------------------------------
    // 2. Observe at the true price, move the reserves, open
    // ------------------------------------------------------------------------------------------

    /// @dev The searcher observes at the true price in the opening block, so the snapshot records no
    /// price of its own, then moves the reserves before `openTask`. The decision cannot change, but
    /// the minimum output must not either.
    function test_attack_observeThenMoveReserves_minOutFalls() public {
        _registerMlpVault(1);
        _honestHistory();
        rollTo(block.number + 1);
        keepWeightsFresh();
        rollTo(block.number + 1);
        inputSource.observe(mlpAgent);

        uint256 snap = vm.snapshotState();
        (, AgentInput memory honestInput) = openTaskWithInput(mlpAgent);
        bytes memory honest = mlp.evaluate(abi.encode(honestInput));
        vm.revertToState(snap);
        (uint8 kind,,, bytes memory honestData) = abi.decode(honest, (uint8, address, uint256, bytes));
        assertTrue(kind != AgentActions.HOLD, "the honest agent trades");

        // Against a sell the searcher lowers the base price, against a buy it raises it.
        (TestToken from, TestToken to) = kind == AgentActions.SELL ? (base, quote) : (quote, base);
        _swap(SEARCHER, from, to, kind == AgentActions.SELL ? 100 ether : 200_000 ether);
        (, AgentInput memory movedInput) = openTaskWithInput(mlpAgent);
        bytes memory moved = mlp.evaluate(abi.encode(movedInput));
        (uint8 movedKind,,, bytes memory movedData) = abi.decode(moved, (uint8, address, uint256, bytes));
        assertEq(movedKind, kind, "same decision");
        // Per unit of input: the reserves also bound the trade's size, which may differ.
        (uint256 honestIn, uint256 honestMin) = _swapAmounts(honestData);
        (uint256 movedIn, uint256 movedMin) = _swapAmounts(movedData);
        uint256 honestRate = honestMin * 1e18 / honestIn;
        uint256 movedRate = movedMin * 1e18 / movedIn;
        uint256 fallBps = movedRate >= honestRate ? 0 : (honestRate - movedRate) * 10_000 / honestRate;
        emit log_named_uint("minimum output per unit of input fell by (bps)", fallBps);
        assertEq(fallBps, 0, "moving the reserves lowered the minimum output");
    }

    // ------------------------------------------------------------------------------------------
    // 3. Bound inflation: a corrupt quorum pumps the pair at openTask
    // ------------------------------------------------------------------------------------------

    /// @dev The vault's bound is 2.5 % of the 1000 base that signs: 25 base. A corrupt quorum pumps
    /// the base price fourfold in the opening block, so that 200 000 quote (100 base at the fair
    /// price) looks like 25 base, unwinds, and commits a buy of base with all of it, paid to itself.
    function test_attack_boundInflation_pumpedValuationAtOpenTask() public {
        vm.startPrank(OWNER);
        vault.setStakeBound(250);
        vault.setSpendingCap(address(base), 1000 ether, 1000 ether);
        vault.setSpendingCap(address(quote), 2_000_000 ether, 2_000_000 ether);
        vm.stopPrank();
        allowSwaps(vault);
        uint256 bound = TOTAL_WEIGHT * 250 / 10_000;
        _honestHistoryOf(agentId);

        rollTo(block.number + 1);
        keepWeightsFresh();
        rollTo(block.number + 1);
        // Doubling the quote reserve (and so halving the base one) quadruples the base price.
        uint256 bought = _swap(SEARCHER, quote, base, 2_006_019 ether);
        (uint64 taskId,) = openTaskWithInput(agentId);
        _swap(SEARCHER, base, quote, bought);

        uint256 stolen = quote.balanceOf(address(vault));
        bytes memory theft = AgentActions.encode(
            AgentActions.BUY,
            address(router),
            0,
            abi.encodeCall(
                IUniswapV2Router.swapExactTokensForTokens,
                (stolen, 0, path(address(quote), address(base)), SEARCHER, block.timestamp + 1 days)
            )
        );
        commitAll(taskId, theft);
        rollTo(taskOf(taskId).deadline + 1);

        vm.prank(KEEPER);
        try taskManager.execute(taskId, taskInput[taskId], theft, bytes32(0), taskNonSignerHash[taskId]) {
            uint256 fairValue = stolen * 1e18 / FAIR_PRICE;
            emit log_named_uint("outflow at the fair price / bound (x1000)", fairValue * 1000 / bound);
            revert AssertionFailed("a pumped valuation let more than the bound leave the vault");
        } catch (bytes memory reason) {
            assertEq(
                bytes32(bytes4(reason)),
                bytes32(IWardenVault.StakeBoundExceeded.selector),
                "refused by the bound"
            );
        }
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    function _registerMlpVault(uint256 scale) private {
        (mlpVault, mlpAgent) = newReferenceAgentVault(mlp, BOB);
        vm.startPrank(BOB);
        mlpVault.setSpendingCap(address(base), VAULT_BASE * scale, VAULT_BASE * scale);
        mlpVault.setSpendingCap(address(quote), VAULT_QUOTE * scale, VAULT_QUOTE * scale);
        vm.stopPrank();
        base.mint(address(mlpVault), VAULT_BASE * scale);
        quote.mint(address(mlpVault), VAULT_QUOTE * scale);
    }

    function _honestHistory() private {
        _honestHistoryOf(mlpAgent);
    }

    /// @dev Seventeen observations, one per block, of a market that swings about 0.3 % either way
    /// around the fair price of 2000.
    function _honestHistoryOf(uint64 agent) private {
        for (uint256 i; i < 17; ++i) {
            if (i % 2 == 0) _swap(TRADER, quote, base, 3000 ether);
            else _swap(TRADER, base, quote, 1.5 ether);
            rollTo(block.number + 1);
            inputSource.observe(agent);
        }
    }

    function _swap(address who, TestToken from, TestToken to, uint256 amountIn)
        private
        returns (uint256 out)
    {
        if (amountIn == 0) return 0;
        from.mint(who, amountIn);
        vm.startPrank(who);
        from.approve(address(router), amountIn);
        uint256[] memory amounts = router.swapExactTokensForTokens(
            amountIn, 0, path(address(from), address(to)), who, block.timestamp
        );
        vm.stopPrank();
        return amounts[1];
    }

    function _swapAmounts(bytes memory data) private pure returns (uint256 amountIn, uint256 minOut) {
        bytes memory args = new bytes(data.length - 4);
        for (uint256 i; i < args.length; ++i) {
            args[i] = data[i + 4];
        }
        (amountIn, minOut,,,) = abi.decode(args, (uint256, uint256, address[], address, uint256));
    }
}
