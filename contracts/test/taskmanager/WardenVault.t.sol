// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IUniswapV2Router} from "../../src/interfaces/IUniswapV2.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {WardenVault} from "../../src/WardenVault.sol";
import {AgentActions} from "../../src/agent/AgentTypes.sol";
import {TaskState} from "../../src/interfaces/ITaskManager.sol";
import {ActionContext, IWardenVault} from "../../src/interfaces/IWardenVault.sol";
import {TestToken} from "../lib/TestToken.sol";
import {IUniswapV2RouterTest} from "../lib/UniswapV2.sol";
import {Vm} from "../lib/Vm.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";
import {GreedyToken, Puller} from "./VaultMocks.sol";

/// @dev WardenVault's policy: swaps through the real Uniswap v2 router end to end, deny by default,
/// per-action and rolling daily caps enforced by balance accounting, pause, withdraw, veto.
contract WardenVaultTest is TaskManagerFixture {
    address internal constant STRANGER = address(0x5742);
    address internal constant RECIPIENT = address(0x2EC1);

    Puller internal puller;

    function setUp() public {
        deployWarden();
        puller = new Puller();
        // A realistic clock: the rolling window starts well after the epoch.
        vm.warp(1_750_000_000);
    }

    // ------------------------------------------------------------------------------------------
    // Construction and ownership
    // ------------------------------------------------------------------------------------------

    function test_constructor() public {
        WardenVault fresh = new WardenVault(BOB, address(taskManager), 1234);
        assertEq(fresh.owner(), BOB, "owner");
        assertEq(fresh.stakeBoundBps(), 1234, "stake bound");
        assertEq(fresh.taskManager(), address(taskManager), "task manager");
        assertTrue(!fresh.paused(), "not paused");
        assertEq(fresh.cappedTokens().length, 0, "no caps");
        assertEq(fresh.maxPriceDeviationBps(), fresh.DEFAULT_MAX_PRICE_DEVIATION_BPS(), "price tolerance");
        assertEq(fresh.DEFAULT_MAX_PRICE_DEVIATION_BPS(), 100, "1 %");
    }

    function test_revert_constructor_zeroAddresses() public {
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.InvalidAddress.selector, address(0)));
        new WardenVault(BOB, address(0), STAKE_BOUND_BPS);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new WardenVault(address(0), address(taskManager), STAKE_BOUND_BPS);
    }

    function test_revert_renounceOwnership() public {
        vm.expectRevert(IWardenVault.RenounceDisabled.selector);
        vm.prank(OWNER);
        vault.renounceOwnership();
    }

    function test_ownershipTransferIsTwoStep() public {
        vm.prank(OWNER);
        vault.transferOwnership(BOB);
        assertEq(vault.owner(), OWNER, "pending only");
        vm.prank(BOB);
        vault.acceptOwnership();
        assertEq(vault.owner(), BOB, "accepted");
        vm.prank(BOB);
        vault.withdraw(address(base), BOB, 1 ether);
        assertEq(base.balanceOf(BOB), 1 ether, "new owner withdraws");
    }

    function test_revert_onlyOwner() public {
        bytes memory unauthorized =
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, STRANGER);
        vm.startPrank(STRANGER);
        vm.expectRevert(unauthorized);
        vault.setCallPermission(address(router), bytes4(0x12345678), true);
        vm.expectRevert(unauthorized);
        vault.setSpendingCap(address(base), 1, 1);
        vm.expectRevert(unauthorized);
        vault.pause();
        vm.expectRevert(unauthorized);
        vault.unpause();
        vm.expectRevert(unauthorized);
        vault.withdraw(address(base), STRANGER, 1);
        vm.expectRevert(unauthorized);
        vault.veto(1);
        vm.expectRevert(unauthorized);
        vault.setMaxPriceDeviation(500);
        vm.stopPrank();
    }

    function test_revert_executeAction_notTaskManager() public {
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.NotTaskManager.selector, OWNER));
        vm.prank(OWNER);
        vault.executeAction(1, holdOutput(), ampleContext(address(base)));
    }

    // ------------------------------------------------------------------------------------------
    // Swap on the real Uniswap v2 router, end to end
    // ------------------------------------------------------------------------------------------

    function test_swap_endToEnd() public {
        allowSwaps(vault);
        vm.prank(OWNER);
        vault.setSpendingCap(address(base), 5 ether, 10 ether);
        uint256 amountIn = 2 ether;
        uint256 expectedOut = router.getAmountsOut(amountIn, path(address(base), address(quote)))[1];
        bytes memory output = sellOutput(vault, amountIn, expectedOut * 99 / 100);
        uint64 taskId = finalTask(agentId, output);
        (uint256 reserveBaseBefore,) = reservesBaseQuote();

        vm.expectEmit(true, true, false, true, address(vault));
        emit IWardenVault.Spent(taskId, address(base), amountIn);
        vm.expectEmit(true, false, false, true, address(vault));
        emit IWardenVault.ActionExecuted(taskId, AgentActions.SELL, address(router), 0);
        execute(taskId, output);

        assertState(taskId, TaskState.Executed, "executed");
        assertEq(base.balanceOf(address(vault)), VAULT_BASE - amountIn, "base sold");
        assertEq(quote.balanceOf(address(vault)), VAULT_QUOTE + expectedOut, "quote received");
        assertEq(base.allowance(address(vault), address(router)), 0, "allowance revoked");
        assertEq(vault.spentInWindow(address(base)), amountIn, "window");
        assertEq(vault.spentInWindow(address(quote)), 0, "quote is inflow");
        (uint256 reserveBaseAfter,) = reservesBaseQuote();
        assertEq(reserveBaseAfter, reserveBaseBefore + amountIn, "pool received the base");
    }

    /// @dev The router's own minimum-output check protects the vault: a quote the pool can no longer
    /// meet fails the action, and the task stays committed.
    function test_swap_slippageFailsAction() public {
        allowSwaps(vault);
        vm.prank(OWNER);
        vault.setSpendingCap(address(base), 5 ether, 10 ether);
        uint256 expectedOut = router.getAmountsOut(1 ether, path(address(base), address(quote)))[1];
        bytes memory output = sellOutput(vault, 1 ether, expectedOut);
        uint64 taskId = finalTask(agentId, output);
        // Half a percent: within the vault's spot-to-TWAP tolerance, so the router decides.
        trade(base, quote, 2.5 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                IWardenVault.ActionFailed.selector,
                address(router),
                abi.encodeWithSignature("Error(string)", "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT")
            )
        );
        execute(taskId, output);
        assertState(taskId, TaskState.Committed, "still committed");
    }

    // ------------------------------------------------------------------------------------------
    // Spot against TWAP at execution
    // ------------------------------------------------------------------------------------------

    /// @dev A front-run that moves the pair 5 % in the execution's block makes the vault refuse the
    /// swap, naming spot, TWAP and tolerance; the task stays committed, and once the price is back the
    /// same action executes.
    function test_priceDeviation_defersASwapUntilThePriceReturns() public {
        allowSwaps(vault);
        vm.prank(OWNER);
        vault.setSpendingCap(address(base), 5 ether, 10 ether);
        bytes memory output = sellOutput(vault, 1 ether, 1900 ether);
        uint64 taskId = finalTask(agentId, output);
        (, uint256 quoteReserve) = reservesBaseQuote();
        trade(base, quote, 25 ether);
        (, uint256 frontRunQuoteReserve) = reservesBaseQuote();
        uint256 spot = spotPrice();
        vm.expectRevert(
            abi.encodeWithSelector(IWardenVault.PriceDeviationTooHigh.selector, spot, 2000 ether, 100)
        );
        execute(taskId, output);
        assertState(taskId, TaskState.Committed, "still committed: retried later");

        // The searcher backs out (or arbitrage closes the gap).
        trade(quote, base, quoteReserve - frontRunQuoteReserve);
        execute(taskId, output);
        assertState(taskId, TaskState.Executed, "executed once the price returned");
    }

    /// @dev The tolerance is the owner's, in (0, 10000] bps; at 10000 any spot within 100 % passes.
    function test_setMaxPriceDeviation() public {
        vm.expectEmit(false, false, false, true, address(vault));
        emit IWardenVault.MaxPriceDeviationSet(10_000);
        vm.prank(OWNER);
        vault.setMaxPriceDeviation(10_000);
        assertEq(vault.maxPriceDeviationBps(), 10_000, "set");
        vm.startPrank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.InvalidPriceDeviation.selector, 0));
        vault.setMaxPriceDeviation(0);
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.InvalidPriceDeviation.selector, 10_001));
        vault.setMaxPriceDeviation(10_001);
        vm.stopPrank();
    }

    /// @dev The check is `|spot - twap| * 10000 <= twap * tolerance`: the boundary passes, one wei more
    /// does not; without a TWAP nothing passes. A hold is executed whatever the prices.
    function test_priceDeviation_boundary() public {
        allowSwaps(vault);
        vm.prank(OWNER);
        vault.setCallPermission(address(puller), Puller.pull.selector, true);
        bytes memory noop = AgentActions.encode(
            AgentActions.SELL, address(puller), 0, abi.encodeCall(Puller.pull, (IERC20(address(base)), 0))
        );
        ActionContext memory context = ampleContext(address(base));
        (context.spotNow, context.twapNow) = (1.01e18, 1e18);
        vm.prank(address(taskManager));
        vault.executeAction(1, noop, context);
        context.spotNow = 1.01e18 + 1;
        vm.prank(address(taskManager));
        vm.expectRevert(
            abi.encodeWithSelector(IWardenVault.PriceDeviationTooHigh.selector, 1.01e18 + 1, 1e18, 100)
        );
        vault.executeAction(1, noop, context);
        context.spotNow = 0.99e18 - 1;
        vm.prank(address(taskManager));
        vm.expectRevert(
            abi.encodeWithSelector(IWardenVault.PriceDeviationTooHigh.selector, 0.99e18 - 1, 1e18, 100)
        );
        vault.executeAction(1, noop, context);
        (context.spotNow, context.twapNow) = (1e18, 0);
        vm.prank(address(taskManager));
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.PriceDeviationTooHigh.selector, 1e18, 0, 100));
        vault.executeAction(1, noop, context);
        vm.prank(address(taskManager));
        vault.executeAction(1, holdOutput(), context);
    }

    // ------------------------------------------------------------------------------------------
    // Deny by default
    // ------------------------------------------------------------------------------------------

    function test_revert_targetNotAllowed() public {
        vm.prank(OWNER);
        vault.setSpendingCap(address(base), 5 ether, 10 ether);
        bytes memory output = sellOutput(vault, 1 ether, 0);
        uint64 taskId = finalTask(agentId, output);
        vm.expectRevert(
            abi.encodeWithSelector(
                IWardenVault.CallNotAllowed.selector,
                address(router),
                IUniswapV2Router.swapExactTokensForTokens.selector
            )
        );
        execute(taskId, output);
    }

    function test_revert_selectorNotAllowed() public {
        vm.startPrank(OWNER);
        vault.setSpendingCap(address(base), 5 ether, 10 ether);
        vault.setCallPermission(address(router), IUniswapV2RouterTest.addLiquidity.selector, true);
        vm.stopPrank();
        bytes memory output = sellOutput(vault, 1 ether, 0);
        uint64 taskId = finalTask(agentId, output);
        vm.expectRevert(
            abi.encodeWithSelector(
                IWardenVault.CallNotAllowed.selector,
                address(router),
                IUniswapV2Router.swapExactTokensForTokens.selector
            )
        );
        execute(taskId, output);
    }

    function test_revokedPermission() public {
        allowSwaps(vault);
        vm.prank(OWNER);
        vm.expectEmit(true, true, false, true, address(vault));
        emit IWardenVault.CallPermissionSet(
            address(router), IUniswapV2Router.swapExactTokensForTokens.selector, false
        );
        vault.setCallPermission(address(router), IUniswapV2Router.swapExactTokensForTokens.selector, false);
        assertTrue(
            !vault.callAllowed(address(router), IUniswapV2Router.swapExactTokensForTokens.selector), "revoked"
        );
    }

    /// @dev A token without a cap is never approved: the router cannot pull it.
    function test_uncappedTokenGetsNoAllowance() public {
        allowSwaps(vault);
        bytes memory output = sellOutput(vault, 1 ether, 0);
        uint64 taskId = finalTask(agentId, output);
        vm.expectRevert(
            abi.encodeWithSelector(
                IWardenVault.ActionFailed.selector,
                address(router),
                abi.encodeWithSignature("Error(string)", "TransferHelper: TRANSFER_FROM_FAILED")
            )
        );
        execute(taskId, output);
    }

    function test_revert_callOnCappedToken() public {
        vm.startPrank(OWNER);
        vault.setSpendingCap(address(base), 5 ether, 10 ether);
        vault.setCallPermission(address(base), IERC20.approve.selector, true);
        vm.stopPrank();
        bytes memory output = AgentActions.encode(
            AgentActions.SELL, address(base), 0, abi.encodeCall(IERC20.approve, (STRANGER, type(uint256).max))
        );
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.CappedTokenTarget.selector, address(base)));
        vm.prank(address(taskManager));
        vault.executeAction(1, output, ampleContext(address(base)));
    }

    function test_revert_setCallPermission_invalidTarget() public {
        vm.startPrank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.InvalidAddress.selector, address(0)));
        vault.setCallPermission(address(0), bytes4(0x12345678), true);
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.InvalidAddress.selector, address(vault)));
        vault.setCallPermission(address(vault), IWardenVault.withdraw.selector, true);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------------------------------
    // Malformed actions
    // ------------------------------------------------------------------------------------------

    function test_revert_malformedActions() public {
        ActionContext memory context = ampleContext(address(base));
        vm.startPrank(address(taskManager));
        vm.expectRevert(IWardenVault.MalformedAction.selector);
        vault.executeAction(1, hex"00", context);
        // A hold must be exactly (0, 0, 0, "").
        vm.expectRevert(IWardenVault.MalformedAction.selector);
        vault.executeAction(1, AgentActions.encode(AgentActions.HOLD, address(router), 0, ""), context);
        vm.expectRevert(IWardenVault.MalformedAction.selector);
        vault.executeAction(1, AgentActions.encode(AgentActions.HOLD, address(0), 0, hex"01"), context);
        // A call needs a selector.
        vm.expectRevert(IWardenVault.MalformedAction.selector);
        vault.executeAction(
            1, AgentActions.encode(AgentActions.BUY, address(router), 0, hex"010203"), context
        );
        vm.stopPrank();
    }

    function test_revert_nativeValue() public {
        allowSwaps(vault);
        bytes memory output = AgentActions.encode(
            AgentActions.BUY,
            address(router),
            1,
            abi.encodeWithSelector(IUniswapV2Router.swapExactTokensForTokens.selector)
        );
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.NativeValueNotAllowed.selector, 1));
        vm.prank(address(taskManager));
        vault.executeAction(1, output, ampleContext(address(base)));
    }

    // ------------------------------------------------------------------------------------------
    // Hold, pause, withdraw, veto
    // ------------------------------------------------------------------------------------------

    function test_hold_movesNothing() public {
        vm.prank(OWNER);
        vault.setSpendingCap(address(base), 5 ether, 10 ether);
        uint64 taskId = finalTask(agentId, holdOutput());
        vm.recordLogs();
        execute(taskId, holdOutput());
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 vaultEvents;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(vault)) {
                ++vaultEvents;
                assertEq(logs[i].topics[0], IWardenVault.ActionExecuted.selector, "only ActionExecuted");
            }
            assertTrue(logs[i].emitter != address(base) && logs[i].emitter != address(quote), "no transfer");
        }
        assertEq(vaultEvents, 1, "one vault event");
        assertEq(base.balanceOf(address(vault)), VAULT_BASE, "base");
        assertEq(quote.balanceOf(address(vault)), VAULT_QUOTE, "quote");
    }

    function test_pause_stopsCallsNotHolds() public {
        allowSwaps(vault);
        vm.startPrank(OWNER);
        vault.setSpendingCap(address(base), 5 ether, 10 ether);
        vm.expectEmit(false, false, false, true, address(vault));
        emit IWardenVault.Paused(true);
        vault.pause();
        vm.stopPrank();
        assertTrue(vault.paused(), "paused");

        bytes memory output = sellOutput(vault, 1 ether, 0);
        uint64 swapTask = finalTask(agentId, output);
        vm.expectRevert(IWardenVault.VaultPaused.selector);
        execute(swapTask, output);

        vm.roll(taskOf(swapTask).deadline + RESPONSE_WINDOW + 1);
        uint64 holdTask = finalTask(agentId, holdOutput());
        assertState(swapTask, TaskState.Expired, "the paused swap expired");
        execute(holdTask, holdOutput());
        assertState(holdTask, TaskState.Executed, "holds execute while paused");

        vm.expectEmit(false, false, false, true, address(vault));
        emit IWardenVault.Paused(false);
        vm.prank(OWNER);
        vault.unpause();
        assertTrue(!vault.paused(), "unpaused");
    }

    function test_withdraw_whilePaused() public {
        vm.startPrank(OWNER);
        vault.pause();
        vm.expectEmit(true, true, false, true, address(vault));
        emit IWardenVault.Withdrawn(address(quote), RECIPIENT, 1000 ether);
        vault.withdraw(address(quote), RECIPIENT, 1000 ether);
        vm.stopPrank();
        assertEq(quote.balanceOf(RECIPIENT), 1000 ether, "withdrawn");
        assertEq(quote.balanceOf(address(vault)), VAULT_QUOTE - 1000 ether, "left");
    }

    function test_revert_withdraw_toZero() public {
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.InvalidAddress.selector, address(0)));
        vm.prank(OWNER);
        vault.withdraw(address(quote), address(0), 1);
    }

    /// @dev Withdrawals bound the owner only by the balance, not by the agent's caps.
    function test_withdraw_ignoresCaps() public {
        vm.startPrank(OWNER);
        vault.setSpendingCap(address(base), 1, 1);
        vault.withdraw(address(base), RECIPIENT, VAULT_BASE);
        vm.stopPrank();
        assertEq(base.balanceOf(RECIPIENT), VAULT_BASE, "all");
        assertEq(vault.spentInWindow(address(base)), 0, "not an agent outflow");
    }

    function test_veto_swapNeverExecutes() public {
        allowSwaps(vault);
        vm.prank(OWNER);
        vault.setSpendingCap(address(base), 5 ether, 10 ether);
        bytes memory output = sellOutput(vault, 1 ether, 0);
        uint64 taskId = openFreshTask(agentId);
        commitAll(taskId, output);
        vm.roll(block.number + CHALLENGE_WINDOW / 2);
        vm.prank(OWNER);
        vault.veto(taskId);
        vm.roll(taskOf(taskId).deadline + 1);
        vm.expectRevert();
        execute(taskId, output);
        assertEq(base.balanceOf(address(vault)), VAULT_BASE, "nothing sold");
    }

    // ------------------------------------------------------------------------------------------
    // Caps
    // ------------------------------------------------------------------------------------------

    function test_setSpendingCap() public {
        vm.expectEmit(true, false, false, true, address(vault));
        emit IWardenVault.SpendingCapSet(address(base), 1 ether, 3 ether);
        vm.prank(OWNER);
        vault.setSpendingCap(address(base), 1 ether, 3 ether);
        (uint256 perAction, uint256 daily) = vault.spendingCap(address(base));
        assertEq(perAction, 1 ether, "per action");
        assertEq(daily, 3 ether, "daily");
        assertEq(vault.cappedTokens().length, 1, "listed");
        vm.prank(OWNER);
        vault.setSpendingCap(address(base), 0, 0);
        assertEq(vault.cappedTokens().length, 1, "listed once");
    }

    function test_revert_setSpendingCap_tooManyTokens() public {
        vm.startPrank(OWNER);
        for (uint160 i; i < vault.MAX_CAPPED_TOKENS(); ++i) {
            vault.setSpendingCap(address(0x1000 + i), 1, 1);
        }
        vault.setSpendingCap(address(uint160(0x1000)), 2, 2);
        vm.expectRevert(IWardenVault.TooManyCappedTokens.selector);
        vault.setSpendingCap(address(base), 1, 1);
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.InvalidAddress.selector, address(0)));
        vault.setSpendingCap(address(0), 1, 1);
        vm.stopPrank();
    }

    /// @dev Once the daily cap is used up, a swap is refused before the router is called, with the
    /// vault's error naming the token, what the window already holds, the swap's amount and the cap
    /// (the router would only have failed with TransferHelper: TRANSFER_FROM_FAILED).
    function test_dailyCap_usedUp_refusedBeforeTheRouter() public {
        allowSwaps(vault);
        vm.prank(OWNER);
        vault.setSpendingCap(address(base), 10 ether, 1.5 ether);
        bytes memory sell = sellOutput(vault, 1 ether, 0);
        uint64 taskId = finalTask(agentId, sell);
        execute(taskId, sell);
        assertEq(vault.spentInWindow(address(base)), 1 ether, "first sell booked");

        vm.roll(taskOf(taskId).deadline + RESPONSE_WINDOW + 1);
        sell = sellOutput(vault, 1 ether, 0);
        taskId = finalTask(agentId, sell);
        (uint256 reserveBase, uint256 reserveQuote) = reservesBaseQuote();
        vm.expectRevert(
            abi.encodeWithSelector(
                IWardenVault.DailyCapExceeded.selector, address(base), 1 ether, 1 ether, 1.5 ether
            )
        );
        execute(taskId, sell);
        (uint256 reserveBaseAfter, uint256 reserveQuoteAfter) = reservesBaseQuote();
        assertTrue(reserveBase == reserveBaseAfter && reserveQuote == reserveQuoteAfter, "pool untouched");
        assertState(taskId, TaskState.Committed, "left for a retry or expiry");

        // What is left still goes through.
        bytes memory fits = sellOutput(vault, 0.5 ether, 0);
        vm.roll(taskOf(taskId).deadline + RESPONSE_WINDOW + 1);
        taskId = finalTask(agentId, fits);
        execute(taskId, fits);
        assertEq(vault.spentInWindow(address(base)), 1.5 ether, "cap reached exactly");
    }

    /// @dev A swap worth more than the stake bound is refused before the router is called.
    function test_stakeBound_refusedBeforeTheRouter() public {
        allowSwaps(vault);
        vm.prank(OWNER);
        vault.setSpendingCap(address(base), 1000 ether, 1000 ether);
        // All four sign 1000 base of stake; the bound is half of it.
        bytes memory tooBig = sellOutput(vault, 600 ether, 0);
        uint64 taskId = finalTask(agentId, tooBig);
        vm.expectRevert(
            abi.encodeWithSelector(IWardenVault.StakeBoundExceeded.selector, 600 ether, 500 ether)
        );
        execute(taskId, tooBig);
    }

    /// @dev A swap above the per-action cap is refused before the router is called, naming the cap.
    function test_perActionCap_boundsTheSwap() public {
        allowSwaps(vault);
        vm.prank(OWNER);
        vault.setSpendingCap(address(base), 0.5 ether, 10 ether);
        bytes memory tooBig = sellOutput(vault, 1 ether, 0);
        uint64 taskId = finalTask(agentId, tooBig);
        vm.expectRevert(
            abi.encodeWithSelector(
                IWardenVault.PerActionCapExceeded.selector, address(base), 1 ether, 0.5 ether
            )
        );
        execute(taskId, tooBig);

        vm.roll(taskOf(taskId).deadline + RESPONSE_WINDOW + 1);
        bytes memory fits = sellOutput(vault, 0.5 ether, 0);
        taskId = finalTask(agentId, fits);
        execute(taskId, fits);
        assertEq(base.balanceOf(address(vault)), VAULT_BASE - 0.5 ether, "sold the cap");
    }

    /// @dev Balance accounting catches an outflow beyond the allowance (here a token that burns a fee
    /// from the sender).
    function test_revert_perActionCapExceeded() public {
        GreedyToken greedy = _greedyCapped(1 ether, 10 ether, 10 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                IWardenVault.PerActionCapExceeded.selector, address(greedy), 11 ether, 10 ether
            )
        );
        _pull(1, IERC20(address(greedy)), 10 ether);
    }

    function test_revert_dailyCapExceeded() public {
        GreedyToken greedy = _greedyCapped(1 ether, 10 ether, 25 ether);
        _pull(1, IERC20(address(greedy)), 9 ether);
        _pull(2, IERC20(address(greedy)), 9 ether);
        assertEq(vault.spentInWindow(address(greedy)), 20 ether, "spent");
        // 5 left: the allowance is 5, the fee makes the outflow 6.
        vm.expectRevert(
            abi.encodeWithSelector(
                IWardenVault.DailyCapExceeded.selector, address(greedy), 20 ether, 6 ether, 25 ether
            )
        );
        _pull(3, IERC20(address(greedy)), 5 ether);
    }

    /// @dev 24 hourly buckets: outflow leaves the window exactly 24 hours (by hour bucket) later.
    function test_dailyCap_rollingWindow() public {
        TestToken token = _cappedToken(10 ether, 25 ether);
        // The start of the current hour bucket.
        uint256 start = block.timestamp - block.timestamp % 1 hours;
        vm.warp(start);
        _pull(1, token, 10 ether);
        vm.warp(start + 1 hours);
        _pull(2, token, 10 ether);
        vm.warp(start + 2 hours);
        // 5 left: 10 cannot be pulled, 5 can.
        _expectPullFails(3, token, 10 ether);
        _pull(3, token, 5 ether);
        assertEq(vault.spentInWindow(address(token)), 25 ether, "full");
        _expectPullFails(4, token, 1);

        vm.warp(start + 24 hours - 1);
        assertEq(vault.spentInWindow(address(token)), 25 ether, "first hour still in the window");
        vm.warp(start + 24 hours);
        assertEq(vault.spentInWindow(address(token)), 15 ether, "first hour left");
        _pull(5, token, 10 ether);
        assertEq(vault.spentInWindow(address(token)), 25 ether, "full again");
        vm.warp(start + 25 hours);
        assertEq(vault.spentInWindow(address(token)), 15 ether, "second hour left");
        vm.warp(start + 26 hours);
        assertEq(vault.spentInWindow(address(token)), 10 ether, "third hour left");
        vm.warp(start + 48 hours);
        assertEq(vault.spentInWindow(address(token)), 0, "a day later");
        vm.warp(start + 100 days);
        assertEq(vault.spentInWindow(address(token)), 0, "long after");
        _pull(6, token, 10 ether);
        assertEq(vault.spentInWindow(address(token)), 10 ether, "fresh window");
    }

    /// @dev Lowering the daily cap applies at once to what the window already holds.
    function test_dailyCap_lowered() public {
        TestToken token = _cappedToken(10 ether, 25 ether);
        _pull(1, token, 10 ether);
        vm.prank(OWNER);
        vault.setSpendingCap(address(token), 10 ether, 8 ether);
        _expectPullFails(2, token, 1);
    }

    // ------------------------------------------------------------------------------------------
    // Fuzz: caps
    // ------------------------------------------------------------------------------------------

    /// @dev Random pulls at random times: each succeeds exactly when it fits both caps as a reference
    /// model of the rolling window computes them, and the vault's window always equals the model's.
    function testFuzz_caps(uint256 perAction, uint256 daily, uint256 seed) public {
        perAction = bound(perAction, 0, 100 ether);
        daily = bound(daily, 0, 300 ether);
        TestToken token = _cappedToken(perAction, daily);
        uint256 steps = 12;
        uint256[] memory hours_ = new uint256[](steps);
        uint256[] memory amounts = new uint256[](steps);
        for (uint64 i; i < steps; ++i) {
            seed = uint256(keccak256(abi.encode(seed, i)));
            vm.warp(block.timestamp + bound(seed, 0, 8 hours));
            uint256 amount = bound(seed >> 64, 0, 2 * perAction + 1);
            uint256 hour = block.timestamp / 1 hours;
            uint256 spent;
            for (uint256 j; j < i; ++j) {
                if (hours_[j] + 24 > hour) spent += amounts[j];
            }
            assertEq(vault.spentInWindow(address(token)), spent, "window matches the model");
            bool fits = amount <= perAction && spent + amount <= daily;

            vm.prank(address(taskManager));
            (bool ok,) = address(vault)
                .call(
                    abi.encodeCall(
                        IWardenVault.executeAction,
                        (i + 1, _pullOutput(token, amount), ampleContext(address(token)))
                    )
                );
            assertTrue(ok == fits, "succeeds iff within both caps");
            if (ok) {
                hours_[i] = hour;
                amounts[i] = amount;
            }
            assertEq(token.allowance(address(vault), address(puller)), 0, "no allowance left");
        }
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    function _cappedToken(uint256 perAction, uint256 daily) private returns (TestToken token) {
        token = new TestToken("Capped", "CAP");
        token.mint(address(vault), 1000 ether);
        vm.startPrank(OWNER);
        vault.setSpendingCap(address(token), perAction, daily);
        vault.setCallPermission(address(puller), Puller.pull.selector, true);
        vm.stopPrank();
    }

    function _greedyCapped(uint256 fee, uint256 perAction, uint256 daily)
        private
        returns (GreedyToken token)
    {
        token = new GreedyToken(fee);
        token.mint(address(vault), 1000 ether);
        vm.startPrank(OWNER);
        vault.setSpendingCap(address(token), perAction, daily);
        vault.setCallPermission(address(puller), Puller.pull.selector, true);
        vm.stopPrank();
    }

    function _pullOutput(IERC20 token, uint256 amount) private view returns (bytes memory) {
        return AgentActions.encode(
            AgentActions.SELL, address(puller), 0, abi.encodeCall(Puller.pull, (token, amount))
        );
    }

    /// @dev Executes a pull as the task manager would hand it over, for an agent whose base token is
    /// the pulled token (the only kind of token an action may move) and whose stake is ample.
    function _pull(uint64 taskId, IERC20 token, uint256 amount) private {
        bytes memory output = _pullOutput(token, amount);
        vm.prank(address(taskManager));
        vault.executeAction(taskId, output, ampleContext(address(token)));
    }

    function _expectPullFails(uint64 taskId, IERC20 token, uint256 amount) private {
        bytes memory output = _pullOutput(token, amount);
        uint256 allowance = _allowanceLeft(token);
        vm.expectRevert(
            abi.encodeWithSelector(
                IWardenVault.ActionFailed.selector,
                address(puller),
                abi.encodeWithSelector(
                    IERC20Errors.ERC20InsufficientAllowance.selector, address(puller), allowance, amount
                )
            )
        );
        vm.prank(address(taskManager));
        vault.executeAction(taskId, output, ampleContext(address(token)));
    }

    function _allowanceLeft(IERC20 token) private view returns (uint256) {
        (uint256 perAction, uint256 daily) = vault.spendingCap(address(token));
        uint256 spent = vault.spentInWindow(address(token));
        uint256 room = daily > spent ? daily - spent : 0;
        return perAction < room ? perAction : room;
    }
}
