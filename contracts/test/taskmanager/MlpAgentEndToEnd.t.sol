// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {MlpAgentVerifier} from "../../src/agent/MlpAgentVerifier.sol";
import {WardenVault} from "../../src/WardenVault.sol";
import {AgentInput} from "../../src/agent/AgentTypes.sol";
import {ITaskManager, TaskState} from "../../src/interfaces/ITaskManager.sol";
import {IWardenChallenges} from "../../src/interfaces/IWardenChallenges.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";

/// @dev The reference MLP agent end to end: its on-chain verifier computes the action for the task's
/// snapshot (as every operator does off chain), the quorum commits it, and the vault executes it on
/// the real Uniswap v2 router within its caps. Prices trend up, then down, so the agent trades.
contract MlpAgentEndToEndTest is TaskManagerFixture {
    event log_named_uint(string key, uint256 val);

    address internal constant CHALLENGER = address(0xC4A11E);
    /// @dev Covers the 0.3 % fee, the price impact of a trade of at most 1 % of the pool, the TWAP's
    /// lag behind a trend and the vault's 1 % spot-to-TWAP tolerance.
    uint16 internal constant SLIPPAGE_BPS = 300;
    /// @dev Quote bought into the pool per block while the price rises: about +0.1 % a block.
    uint256 internal constant RISE = 1000 ether;

    MlpAgentVerifier internal mlp;
    WardenVault internal mlpVault;
    uint64 internal mlpAgent;

    function setUp() public {
        deployWarden();
        mlp = deployReferenceVerifier(SLIPPAGE_BPS, 1000, 100);
        (mlpVault, mlpAgent) = newReferenceAgentVault(mlp, BOB);
        vm.startPrank(BOB);
        mlpVault.setSpendingCap(address(base), 50 ether, 100 ether);
        mlpVault.setSpendingCap(address(quote), 100_000 ether, 200_000 ether);
        vm.stopPrank();
        base.mint(address(mlpVault), VAULT_BASE);
        quote.mint(address(mlpVault), VAULT_QUOTE);
    }

    function test_mlpAgent_tradesThroughTheVault() public {
        uint256 buys;
        uint256 sells;
        for (uint256 round; round < 6; ++round) {
            // A trend: three rounds up, three down, each over 17 observed blocks.
            for (uint256 i; i < 17; ++i) {
                if (round < 3) trade(quote, base, RISE);
                else trade(base, quote, 0.5 ether);
                rollTo(block.number + 1);
                inputSource.observe(mlpAgent);
            }
            uint8 kind = _runTask();
            if (kind == 1) ++buys;
            if (kind == 2) ++sells;
        }
        // On this path the reference model buys into the rise and sells into the fall.
        assertTrue(buys > 0 && sells > 0, "the agent bought and sold");
    }

    /// @dev A challenge re-runs the reference model on chain: a wrong output is proven wrong, a right
    /// one stands. Measured cold, as the challenger's transaction.
    function test_challenge_withReferenceModel() public {
        for (uint256 i; i < 17; ++i) {
            trade(quote, base, RISE);
            rollTo(block.number + 1);
            inputSource.observe(mlpAgent);
        }
        rollTo(block.number + TICK_INTERVAL);
        (uint64 taskId, AgentInput memory input) = openTaskWithInput(mlpAgent);
        bytes memory right = mlp.evaluate(abi.encode(input));
        bytes memory wrong =
            keccak256(right) == keccak256(holdOutput()) ? sellOutput(mlpVault, 1 ether, 0) : holdOutput();
        commitAll(taskId, wrong);

        (bool upheld, uint256 inner, uint256 outer) = _challengeMeasured(taskId, wrong);
        emit log_named_uint("challenge, upheld, reference MLP verifier: inner", inner);
        emit log_named_uint("challenge, upheld, reference MLP verifier: outer", outer);
        assertTrue(upheld, "the model disagrees with the committed output");
        assertState(taskId, TaskState.Fraudulent, "fraudulent");

        rollTo(block.number + TICK_INTERVAL);
        (taskId, input) = openTaskWithInput(mlpAgent);
        right = mlp.evaluate(abi.encode(input));
        commitAll(taskId, right);
        (upheld, inner, outer) = _challengeMeasured(taskId, right);
        emit log_named_uint("challenge, rejected, reference MLP verifier: inner", inner);
        emit log_named_uint("challenge, rejected, reference MLP verifier: outer", outer);
        assertTrue(!upheld, "the model agrees");
        assertState(taskId, TaskState.Committed, "stands");
    }

    function _challengeMeasured(uint64 taskId, bytes memory output)
        private
        returns (bool upheld, uint256 inner, uint256 outer)
    {
        bytes memory call = abi.encodeCall(
            IWardenChallenges.challenge,
            (taskId, taskInput[taskId], output, bytes32(0), taskNonSignerHash[taskId], bytes32(0))
        );
        vm.deal(CHALLENGER, CHALLENGE_BOND);
        vm.cool(address(taskManager));
        vm.cool(address(challenges));
        vm.cool(address(mlp));
        vm.prank(CHALLENGER);
        uint256 before = gasleft();
        (bool ok, bytes memory returned) = address(challenges).call{value: CHALLENGE_BOND}(call);
        outer = before - gasleft();
        inner = vm.lastCallGas().gasTotalUsed;
        assertTrue(ok, "challenge went through");
        upheld = abi.decode(returned, (bool));
    }

    /// @dev One tick: open, evaluate as the operators would, commit, wait, execute. Returns the kind.
    function _runTask() private returns (uint8) {
        rollTo(block.number + TICK_INTERVAL - 1);
        keepWeightsFresh();
        rollTo(block.number + 1);
        (uint64 taskId, AgentInput memory input) = openTaskWithInput(mlpAgent);
        bytes memory output = mlp.evaluate(abi.encode(input));
        (uint8 kind,,,) = abi.decode(output, (uint8, address, uint256, bytes));
        commitAll(taskId, output);
        rollTo(taskOf(taskId).deadline + 1);
        uint256 baseBefore = base.balanceOf(address(mlpVault));
        uint256 quoteBefore = quote.balanceOf(address(mlpVault));
        execute(taskId, output);
        assertState(taskId, TaskState.Executed, "executed");
        uint256 baseAfter = base.balanceOf(address(mlpVault));
        uint256 quoteAfter = quote.balanceOf(address(mlpVault));
        if (kind == 0) {
            assertTrue(baseAfter == baseBefore && quoteAfter == quoteBefore, "hold moves nothing");
            return kind;
        }
        // A buy spends quote for base, a sell the other way round.
        if (kind == 1) assertTrue(quoteAfter < quoteBefore && baseAfter > baseBefore, "bought base");
        else assertTrue(baseAfter < baseBefore && quoteAfter > quoteBefore, "sold base");
        return kind;
    }
}
