// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {BLS} from "solady/utils/ext/ithaca/BLS.sol";

import {WardenVault} from "../../src/WardenVault.sol";
import {AgentActions} from "../../src/agent/AgentTypes.sol";
import {ITaskManager, TaskState} from "../../src/interfaces/ITaskManager.sol";
import {ActionContext, IWardenVault} from "../../src/interfaces/IWardenVault.sol";
import {Vm} from "../lib/Vm.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";
import {ActionProbe, Leaker, LeakyToken, Puller, TwoTokenPuller} from "./VaultMocks.sol";

/// @dev The vault's cryptoeconomic bound: a call action's base and quote outflow, valued in the base
/// token at the task snapshot's price, may not exceed `stakeBoundBps` of the stake that signed it,
/// and no other token may move. With all four operators signing (1000 base of stake) and a 50 %
/// bound, an action may move 500 base worth; the snapshot's price is 2000 quote per base.
contract StakeBoundTest is TaskManagerFixture {
    uint256 internal constant BOUND = 500 ether;
    uint256 internal constant BOUND_IN_QUOTE = 1_000_000 ether;

    TwoTokenPuller internal puller;
    Puller internal singlePuller;
    Leaker internal leaker;
    LeakyToken internal leaky;

    function setUp() public {
        deployWarden();
        puller = new TwoTokenPuller();
        singlePuller = new Puller();
        leaker = new Leaker();
        leaky = new LeakyToken();
        base.mint(address(vault), 1000 ether);
        quote.mint(address(vault), 2_000_000 ether);
        leaky.mint(address(vault), 1000 ether);
        vm.startPrank(OWNER);
        vault.setCallPermission(address(puller), TwoTokenPuller.pull.selector, true);
        vault.setCallPermission(address(singlePuller), Puller.pull.selector, true);
        vault.setCallPermission(address(leaker), Leaker.leak.selector, true);
        // Caps well above the bound: here only the bound limits.
        vault.setSpendingCap(address(base), 2000 ether, 2000 ether);
        vault.setSpendingCap(address(quote), 4_000_000 ether, 4_000_000 ether);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------------------------------
    // Through the task manager
    // ------------------------------------------------------------------------------------------

    /// @dev 250 base + 500 000 quote (250 base at the snapshot's TWAP) is exactly the bound. The
    /// pool's price moved since the snapshot (by less than the vault's spot-to-TWAP tolerance); the
    /// snapshot's price is the one that counts.
    function test_stakeBound_atBoundPasses() public {
        bytes memory output = _pullBoth(250 ether, 500_000 ether);
        uint64 taskId = finalTask(agentId, output);
        trade(base, quote, 2 ether);
        uint256 baseBefore = base.balanceOf(address(vault));
        uint256 quoteBefore = quote.balanceOf(address(vault));
        execute(taskId, output);
        assertState(taskId, TaskState.Executed, "executed");
        assertEq(base.balanceOf(address(vault)), baseBefore - 250 ether, "base moved");
        assertEq(quote.balanceOf(address(vault)), quoteBefore - 500_000 ether, "quote moved");
    }

    /// @dev One wei of quote more is worth a fraction of a wei of base, rounded up against the action.
    function test_revert_stakeBound_exceeded() public {
        bytes memory output = _pullBoth(250 ether, 500_000 ether + 1);
        uint64 taskId = finalTask(agentId, output);
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.StakeBoundExceeded.selector, BOUND + 1, BOUND));
        execute(taskId, output);
        assertState(taskId, TaskState.Committed, "still committed");

        vm.roll(taskOf(taskId).deadline + RESPONSE_WINDOW + 1);
        output = _pullBoth(400 ether, 300_000 ether);
        taskId = finalTask(agentId, output);
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.StakeBoundExceeded.selector, 550 ether, BOUND));
        execute(taskId, output);
    }

    /// @dev The bound follows the stake that signed: without Alice (100 of 1000) it is 450 base.
    function test_stakeBound_followsSignedStake() public {
        bytes memory output = _pullBoth(225 ether, 450_000 ether);
        uint64 taskId = openFreshTask(agentId);
        _commitWithoutAlice(taskId, output);
        vm.roll(taskOf(taskId).deadline + 1);
        execute(taskId, output);
        assertState(taskId, TaskState.Executed, "450 passes");

        output = _pullBoth(225 ether, 450_000 ether + 1);
        taskId = openFreshTask(agentId);
        _commitWithoutAlice(taskId, output);
        vm.roll(taskOf(taskId).deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IWardenVault.StakeBoundExceeded.selector, 450 ether + 1, 450 ether)
        );
        execute(taskId, output);
    }

    /// @dev The allowance of the base token is the bound, that of the quote token the bound at the
    /// snapshot's price, even where the caps would allow more.
    function test_stakeBound_capsAllowances() public {
        bytes memory output = _pull(IERC20(address(base)), BOUND + 1);
        uint64 taskId = finalTask(agentId, output);
        vm.expectRevert(_insufficientAllowance(BOUND, BOUND + 1));
        execute(taskId, output);

        vm.roll(taskOf(taskId).deadline + RESPONSE_WINDOW + 1);
        output = _pull(IERC20(address(quote)), BOUND_IN_QUOTE + 1);
        taskId = finalTask(agentId, output);
        vm.expectRevert(_insufficientAllowance(BOUND_IN_QUOTE, BOUND_IN_QUOTE + 1));
        execute(taskId, output);

        vm.roll(taskOf(taskId).deadline + RESPONSE_WINDOW + 1);
        output = _pull(IERC20(address(quote)), BOUND_IN_QUOTE);
        taskId = finalTask(agentId, output);
        execute(taskId, output);
        assertState(taskId, TaskState.Executed, "the bound in quote passes");
    }

    /// @dev A capped token other than base and quote gets no allowance, and any outflow of it, even
    /// one that needs no allowance, reverts: the snapshot has no price for it.
    function test_revert_unvaluedOutflow() public {
        vm.prank(OWNER);
        vault.setSpendingCap(address(leaky), 1000 ether, 1000 ether);

        bytes memory output = _pull(IERC20(address(leaky)), 1);
        uint64 taskId = finalTask(agentId, output);
        vm.expectRevert(
            abi.encodeWithSelector(
                IWardenVault.ActionFailed.selector,
                address(singlePuller),
                abi.encodeWithSelector(
                    IERC20Errors.ERC20InsufficientAllowance.selector, address(singlePuller), 0, 1
                )
            )
        );
        execute(taskId, output);

        vm.roll(taskOf(taskId).deadline + RESPONSE_WINDOW + 1);
        output = _leak(1);
        taskId = finalTask(agentId, output);
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.UnvaluedOutflow.selector, address(leaky)));
        execute(taskId, output);
        assertEq(leaky.balanceOf(address(vault)), 1000 ether, "nothing leaked");
    }

    // ------------------------------------------------------------------------------------------
    // The vault alone, with contexts the tests choose
    // ------------------------------------------------------------------------------------------

    /// @dev An uncapped base token is never approved, but its outflow is still measured and bounded.
    function test_stakeBound_uncappedBaseIsMeasured() public {
        ActionContext memory context = _context(address(leaky), 100 ether, 1e18);
        vm.prank(address(taskManager));
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.StakeBoundExceeded.selector, 51 ether, 50 ether));
        vault.executeAction(1, _leak(51 ether), context);

        vm.recordLogs();
        vm.prank(address(taskManager));
        vault.executeAction(1, _leak(50 ether), context);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            assertTrue(logs[i].topics[0] != IWardenVault.Spent.selector, "not booked: uncapped");
        }
        assertEq(leaky.balanceOf(address(vault)), 950 ether, "leaked the bound");
    }

    /// @dev An uncapped quote token is valued at the snapshot's price too.
    function test_stakeBound_uncappedQuoteIsValued() public {
        // 1 base = 4 quote: 200 quote are worth 50 base.
        ActionContext memory context = _context(address(base), 100 ether, 4e18);
        context.tokenQuote = address(leaky);
        vm.prank(address(taskManager));
        vm.expectRevert(
            abi.encodeWithSelector(IWardenVault.StakeBoundExceeded.selector, 50 ether + 1, 50 ether)
        );
        vault.executeAction(1, _leak(200 ether + 1), context);
        vm.prank(address(taskManager));
        vault.executeAction(1, _leak(200 ether), context);
    }

    /// @dev Without a price (a TWAP of 0: an empty pool) nothing can be valued: calls may move nothing,
    /// and say so with the bound error rather than a division by zero.
    function test_stakeBound_noPrice() public {
        ActionContext memory noBase = _context(address(leaky), 1000 ether, 0);
        vm.prank(address(taskManager));
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.StakeBoundExceeded.selector, 1, 0));
        vault.executeAction(1, _leak(1), noBase);

        // Quote without a price would be "worth nothing": it is refused all the same.
        ActionContext memory noQuote = _context(address(base), 1000 ether, 0);
        noQuote.tokenQuote = address(leaky);
        vm.prank(address(taskManager));
        vm.expectRevert(
            abi.encodeWithSelector(IWardenVault.StakeBoundExceeded.selector, type(uint256).max, 0)
        );
        vault.executeAction(1, _leak(1), noQuote);

        // The bound is zero, so is the base allowance.
        vm.prank(address(taskManager));
        vm.expectRevert(_insufficientAllowance(0, 1));
        vault.executeAction(1, _pull(IERC20(address(base)), 1), _context(address(base), 1000 ether, 0));

        // A call that moves nothing still runs.
        ActionProbe probe = new ActionProbe();
        vm.prank(OWNER);
        vault.setCallPermission(address(probe), ActionProbe.hit.selector, true);
        bytes memory hit =
            AgentActions.encode(AgentActions.BUY, address(probe), 0, abi.encodeCall(ActionProbe.hit, (1)));
        vm.prank(address(taskManager));
        vault.executeAction(1, hit, _context(address(base), 1000 ether, 0));
        assertEq(probe.hitCount(), 1, "ran");
    }

    /// @dev Holds move nothing and are executed whatever the context.
    function test_stakeBound_holdsUnaffected() public {
        ActionContext memory nothing;
        vm.prank(address(taskManager));
        vault.executeAction(1, holdOutput(), nothing);
    }

    /// @dev Calls on the base or quote token itself are refused even if uncapped: an approval would
    /// be an outflow after the action, out of the bound's sight.
    function test_revert_targetIsValuedToken() public {
        vm.prank(OWNER);
        vault.setCallPermission(address(leaky), IERC20.approve.selector, true);
        bytes memory approve = AgentActions.encode(
            AgentActions.SELL, address(leaky), 0, abi.encodeCall(IERC20.approve, (OWNER, 1))
        );
        vm.prank(address(taskManager));
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.CappedTokenTarget.selector, address(leaky)));
        vault.executeAction(1, approve, _context(address(leaky), 1000 ether, 1e18));

        ActionContext memory asQuote = _context(address(base), 1000 ether, 1e18);
        asQuote.tokenQuote = address(leaky);
        vm.prank(address(taskManager));
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.CappedTokenTarget.selector, address(leaky)));
        vault.executeAction(1, approve, asQuote);
    }

    // ------------------------------------------------------------------------------------------
    // setStakeBound
    // ------------------------------------------------------------------------------------------

    function test_setStakeBound() public {
        assertEq(vault.stakeBoundBps(), STAKE_BOUND_BPS, "initial");
        vm.expectEmit(false, false, false, true, address(vault));
        emit IWardenVault.StakeBoundSet(1);
        vm.prank(OWNER);
        vault.setStakeBound(1);
        assertEq(vault.stakeBoundBps(), 1, "lowest");
        vm.prank(OWNER);
        vault.setStakeBound(9999);
        assertEq(vault.stakeBoundBps(), 9999, "highest");
    }

    function test_revert_setStakeBound_outOfRange() public {
        vm.startPrank(OWNER);
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.InvalidStakeBound.selector, 0));
        vault.setStakeBound(0);
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.InvalidStakeBound.selector, 10_000));
        vault.setStakeBound(10_000);
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.InvalidStakeBound.selector, type(uint16).max));
        vault.setStakeBound(type(uint16).max);
        vm.stopPrank();
        assertEq(vault.stakeBoundBps(), STAKE_BOUND_BPS, "unchanged");
    }

    function test_revert_setStakeBound_notOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, KEEPER));
        vm.prank(KEEPER);
        vault.setStakeBound(100);
    }

    function test_revert_constructor_invalidStakeBound() public {
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.InvalidStakeBound.selector, 0));
        new WardenVault(BOB, address(taskManager), 0);
        vm.expectRevert(abi.encodeWithSelector(IWardenVault.InvalidStakeBound.selector, 10_000));
        new WardenVault(BOB, address(taskManager), 10_000);
    }

    function test_constructor_emitsStakeBoundSet() public {
        vm.expectEmit(
            false, false, false, true, vm.computeCreateAddress(address(this), vm.getNonce(address(this)))
        );
        emit IWardenVault.StakeBoundSet(42);
        WardenVault fresh = new WardenVault(BOB, address(taskManager), 42);
        assertEq(fresh.stakeBoundBps(), 42, "set");
    }

    // ------------------------------------------------------------------------------------------
    // Fuzz
    // ------------------------------------------------------------------------------------------

    /// @dev Any base and quote amounts: the action executes iff their value at the snapshot's price,
    /// rounded up, is within the bound.
    function testFuzz_stakeBound(uint256 amountBase, uint256 amountQuote) public {
        amountBase = bound(amountBase, 0, 600 ether);
        amountQuote = bound(amountQuote, 0, 1_200_000 ether);
        bytes memory output = _pullBoth(amountBase, amountQuote);
        uint64 taskId = finalTask(agentId, output);
        ActionContext memory context = contextOf(taskId);
        uint256 quoteValue = (amountQuote * 1e18 + context.price - 1) / context.price;
        bool fits = amountBase + quoteValue <= BOUND;
        vm.prank(KEEPER);
        (bool ok,) = address(taskManager)
            .call(
                abi.encodeCall(
                    ITaskManager.execute,
                    (taskId, taskInput[taskId], output, bytes32(0), taskNonSignerHash[taskId])
                )
            );
        assertTrue(ok == fits, "executes iff within the bound");
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    function _pullBoth(uint256 amountBase, uint256 amountQuote) private view returns (bytes memory) {
        return AgentActions.encode(
            AgentActions.BUY,
            address(puller),
            0,
            abi.encodeCall(
                TwoTokenPuller.pull, (IERC20(address(base)), amountBase, IERC20(address(quote)), amountQuote)
            )
        );
    }

    function _pull(IERC20 token, uint256 amount) private view returns (bytes memory) {
        return AgentActions.encode(
            AgentActions.SELL, address(singlePuller), 0, abi.encodeCall(Puller.pull, (token, amount))
        );
    }

    function _leak(uint256 amount) private view returns (bytes memory) {
        return AgentActions.encode(
            AgentActions.SELL, address(leaker), 0, abi.encodeCall(Leaker.leak, (leaky, amount))
        );
    }

    /// @dev A context whose snapshot priced base at `price` quote (1e18; 0: no price), with today's
    /// spot at its TWAP: the market is calm, only the stake bound is at stake.
    function _context(address tokenBase, uint256 signedStake, uint256 price)
        private
        view
        returns (ActionContext memory)
    {
        return ActionContext({
            signedStake: signedStake,
            tokenBase: tokenBase,
            tokenQuote: address(quote),
            price: price,
            spotNow: 1e18,
            twapNow: 1e18
        });
    }

    function _insufficientAllowance(uint256 allowance, uint256 needed) private view returns (bytes memory) {
        return abi.encodeWithSelector(
            IWardenVault.ActionFailed.selector,
            address(singlePuller),
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(singlePuller), allowance, needed
            )
        );
    }

    function _commitWithoutAlice(uint64 taskId, bytes memory output) private {
        (BLS.G1Point[] memory keys, BLS.G2Point memory signature) =
            quorum(taskId, output, list(BOB, CAROL, DAVE), list(ALICE));
        commitWith(address(this), taskId, output, keys, signature);
    }
}
