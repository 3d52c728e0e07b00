// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {WardenTaskManager} from "../../src/WardenTaskManager.sol";
import {WardenVault} from "../../src/WardenVault.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {AgentActions} from "../../src/agent/AgentTypes.sol";
import {Execution, ITaskManager, TaskManagerParams, TaskState} from "../../src/interfaces/ITaskManager.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";
import {Puller} from "./VaultMocks.sol";

/// @dev The bound that binds: what a corrupt quorum gets executed adds up, across its tasks and every
/// vault the operator set serves, to at most `VALUE_AT_RISK_BPS` of its stake while any of it can still
/// be proved fraudulent, and an output proved wrong after it executed still slashes its signers and
/// leaves its vault a recorded loss.
///
/// The corrupt quorum is Bob, Carol and Dave: 900 of the 1000 staked, past the 2/3 threshold. Each
/// theft has the attacker's contract pull the vault's base token: the vault gets nothing back, and
/// the pool's price does not move (so the vault's spot-to-TWAP check never stands in the way).
/// The vaults' own per-action bound (50 %) lets 450 through per action; so does the ledger, in total.
contract ValueAtRiskTest is TaskManagerFixture {
    address internal constant ATTACKER = address(0xBAD);
    address internal constant OWNER_B = address(0x0B0B0B);
    address internal constant CHALLENGER = address(0xC4A11);
    uint256 internal constant QUORUM_WEIGHT = 900 ether;
    /// @dev What one theft takes: exactly the per-action bound on the corrupt quorum's stake.
    uint256 internal constant THEFT = 450 ether;

    Puller internal thief;

    function setUp() public {
        deployWarden();
        thief = new Puller();
        _fund(vault);
    }

    // ------------------------------------------------------------------------------------------
    // Attacks
    // ------------------------------------------------------------------------------------------

    /// @dev Before: each tick's theft passed the per-action bound on its own, 900 left the vault in two
    /// ticks against 900 of stake that can be slashed once. Now the second is refused.
    function test_attack_quorumTakesTheBoundOnEveryTick() public {
        uint256 vaultBefore = base.balanceOf(address(vault));
        uint64 first = _commitTheft(agentId);
        execute(first, _theft());
        assertEq(taskManager.valueAtRisk(), THEFT, "first theft at risk");

        uint64 second = _commitTheft(agentId);
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.ValueAtRiskExceeded.selector, THEFT, THEFT, THEFT)
        );
        execute(second, _theft());
        assertEq(vaultBefore - base.balanceOf(address(vault)), THEFT, "one bound in total");
        assertState(second, TaskState.Committed, "second theft waits");
    }

    /// @dev Before: one operator set backs every vault, and each vault's own bound let the quorum take
    /// the bound from each. Now the second vault's theft is refused: the ledger is shared.
    function test_attack_quorumTakesTheBoundFromEveryVault() public {
        (WardenVault vaultB, uint64 agentB) = newVaultWithAgent(OWNER_B, THRESHOLD_BPS);
        _fund(vaultB);
        // Vault B's price history first, so that both thefts commit close together.
        observeBlocks(agentB, 15);

        (uint64 fromA,) = commitBy(agentId, _theft(), list(BOB, CAROL, DAVE), list(ALICE));
        (uint64 fromB,) = commitBy(agentB, _theft(), list(BOB, CAROL, DAVE), list(ALICE));
        vm.roll(taskOf(fromB).deadline + 1);
        execute(fromA, _theft());
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.ValueAtRiskExceeded.selector, THEFT, THEFT, THEFT)
        );
        execute(fromB, _theft());
        assertEq(base.balanceOf(address(thief)), THEFT, "the first theft happened");
        assertEq(base.balanceOf(address(vaultB)), 2000 ether, "vault B untouched");
    }

    /// @dev Before: once the challenge window passed, a theft nobody challenged executed and its
    /// signers could never be slashed (`ChallengeWindowOver`). Now a challenger that comes back online
    /// after the execution proves the fraud, the task turns Fraudulent with its vault's loss on record,
    /// and every signer is slashed.
    function test_attack_theftExecutesWhileNoChallengerIsOnline() public {
        uint64 taskId = _commitTheft(agentId);
        execute(taskId, _theft());
        Execution memory done = taskManager.execution(taskId);
        assertEq(done.value, THEFT, "outflow recorded");
        assertEq(done.loss, THEFT, "nothing came back: all of it is lost");

        // Long after the execution, still inside the fraud-proof window.
        vm.roll(taskManager.provableUntil(taskId));
        assertTrue(challengeAs(CHALLENGER, taskId, _theft()), "upheld after execution");
        assertState(taskId, TaskState.Fraudulent, "fraudulent");
        assertEq(challenges.challengerOf(taskId), CHALLENGER, "challenger recorded");
        (address owedVault, address token, uint256 loss, bool lossFinal) =
            taskManager.restitutionClaim(taskId);
        assertEq(owedVault, address(vault), "owed to the robbed vault");
        assertEq(token, address(base), "in the base token");
        assertEq(loss, THEFT, "the proven loss");
        assertTrue(lossFinal, "final once proved");

        (uint256 slashed, bool complete) = challenges.slashSigners(taskId, indicesOfIds(_aliceOnly()), 0);
        assertEq(slashed, 3, "every signer slashed");
        assertTrue(complete, "slashing complete");
    }

    // ------------------------------------------------------------------------------------------
    // The fraud-proof window
    // ------------------------------------------------------------------------------------------

    /// @dev The window is the registry's horizon less its maximum weight age and the slashing period:
    /// after it, the signers' counted stake may be gone by the time slashing ends.
    function test_fraudProofWindow_derivedFromTheRegistry() public view {
        assertEq(taskManager.fraudProofWindow(), WEIGHT_HORIZON - MAX_WEIGHT_AGE - SLASHING_PERIOD, "window");
    }

    function test_revert_challenge_afterTheFraudProofWindow() public {
        uint64 taskId = _commitTheft(agentId);
        execute(taskId, _theft());
        uint256 lastBlock = taskManager.provableUntil(taskId);
        assertEq(lastBlock, taskOf(taskId).referenceBlock + taskManager.fraudProofWindow(), "last block");
        vm.roll(lastBlock + 1);
        vm.deal(CHALLENGER, CHALLENGE_BOND);
        vm.prank(CHALLENGER);
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.FraudProofWindowOver.selector, taskId, lastBlock));
        challenges.challenge{value: CHALLENGE_BOND}(
            taskId, taskInput[taskId], _theft(), bytes32(0), taskNonSignerHash[taskId], bytes32(0)
        );
    }

    /// @dev A committed output past its challenge deadline but not yet executed can still be proved
    /// wrong, and then never executes.
    function test_challenge_betweenDeadlineAndExecutionStopsTheAction() public {
        uint64 taskId = _commitTheft(agentId);
        assertTrue(challengeAs(CHALLENGER, taskId, _theft()), "upheld");
        vm.expectRevert(
            abi.encodeWithSelector(ITaskManager.UnexpectedTaskState.selector, taskId, TaskState.Fraudulent)
        );
        execute(taskId, _theft());
        (,, uint256 loss, bool lossFinal) = taskManager.restitutionClaim(taskId);
        assertEq(loss, 0, "nothing was lost");
        assertTrue(lossFinal, "and nothing can be");
    }

    /// @dev An output still fraud-provable keeps its restitution claim open: its loss may yet be proved.
    function test_restitutionClaim_notFinalWhileProvable() public {
        uint64 taskId = _commitTheft(agentId);
        execute(taskId, _theft());
        (,, uint256 loss, bool lossFinal) = taskManager.restitutionClaim(taskId);
        assertEq(loss, 0, "not proved yet");
        assertTrue(!lossFinal, "may still be proved");
        vm.roll(taskManager.provableUntil(taskId) + 1);
        (,,, lossFinal) = taskManager.restitutionClaim(taskId);
        assertTrue(lossFinal, "can no longer be proved");
    }

    // ------------------------------------------------------------------------------------------
    // The ledger
    // ------------------------------------------------------------------------------------------

    /// @dev Once the first theft can no longer be proved, it leaves the ledger and the next fits.
    function test_ledger_releasesOutflowsPastTheirWindow() public {
        uint64 first = _commitTheft(agentId);
        execute(first, _theft());
        vm.roll(taskManager.provableUntil(first));
        assertEq(taskManager.valueAtRisk(), THEFT, "still provable in its last block");
        vm.roll(block.number + 1);
        assertEq(taskManager.valueAtRisk(), 0, "excluded once past");

        uint64 second = _commitTheft(agentId);
        vm.expectEmit(false, false, false, true, address(taskManager));
        emit ITaskManager.ExposureReleased(0, 1, 0);
        execute(second, _theft());
        assertEq(taskManager.valueAtRisk(), THEFT, "only the second");
    }

    function test_releaseExposure_isPermissionlessAndStopsAtTheFirstOpenEntry() public {
        uint64 first = _commitByQuorum(agentId, _pull(100 ether));
        execute(first, _pull(100 ether));
        uint64 second = _commitByQuorum(agentId, _pull(100 ether));
        execute(second, _pull(100 ether));
        assertEq(taskManager.releaseExposure(10), 0, "nothing past its window");

        vm.roll(taskManager.provableUntil(first) + 1);
        vm.prank(ATTACKER);
        assertEq(taskManager.releaseExposure(10), 1, "the first only");
        assertEq(taskManager.valueAtRisk(), 100 ether, "the second remains");
    }

    /// @dev A hold moves nothing and takes no room; an honest swap's proceeds come back, so its loss is
    /// only what the price and fee cost, while its whole outflow is at risk.
    function test_ledger_recordsOutflowAndNetLoss() public {
        uint64 holdTask = finalTask(agentId, holdOutput());
        execute(holdTask, holdOutput());
        assertEq(taskManager.execution(holdTask).value, 0, "a hold is worth nothing");
        assertEq(taskManager.valueAtRisk(), 0, "and takes no room");

        uint64 sellTask = _commitByQuorum(agentId, _sell(vault, 10 ether));
        execute(sellTask, _sell(vault, 10 ether));
        Execution memory done = taskManager.execution(sellTask);
        assertEq(done.value, 10 ether, "gross outflow");
        assertTrue(done.loss < 1 ether, "the proceeds came back");
        assertTrue(done.loss > 0, "less the fee and price impact");
    }

    // ------------------------------------------------------------------------------------------
    // Configuration
    // ------------------------------------------------------------------------------------------

    function test_revert_constructor_valueAtRiskBoundAboveWhatASlashTakes() public {
        TaskManagerParams memory params = taskManagerParams(SLASHING_PERIOD, 1e18);
        params.slashWad = 0.4e18;
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.InvalidValueAtRiskBound.selector, 5000, 0.4e18));
        new WardenTaskManager(address(registry), address(verifiers), params);
        params.slashWad = 1e18;
        params.valueAtRiskBps = 0;
        vm.expectRevert(abi.encodeWithSelector(ITaskManager.InvalidValueAtRiskBound.selector, 0, 1e18));
        new WardenTaskManager(address(registry), address(verifiers), params);
    }

    function test_revert_constructor_noFraudProofWindowLeft() public {
        TaskManagerParams memory params = taskManagerParams(SLASHING_PERIOD, 1e18);
        params.slashingPeriod = WEIGHT_HORIZON - MAX_WEIGHT_AGE;
        vm.expectRevert(
            abi.encodeWithSelector(
                ITaskManager.NoFraudProofWindow.selector,
                WEIGHT_HORIZON,
                MAX_WEIGHT_AGE,
                params.slashingPeriod
            )
        );
        new WardenTaskManager(address(registry), address(verifiers), params);
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    /// @dev 2000 base more, swaps allowed, and caps that leave only the bounds to limit: the vault
    /// approves an action's target only what the caps of a token allow.
    function _fund(WardenVault vault_) internal {
        base.mint(address(vault_), 2000 ether);
        allowSwaps(vault_);
        vm.startPrank(vault_.owner());
        vault_.setCallPermission(address(thief), Puller.pull.selector, true);
        vault_.setSpendingCap(address(base), 10_000 ether, 10_000 ether);
        vm.stopPrank();
    }

    /// @dev Bob, Carol and Dave commit a theft from the agent's vault, and the chain moves past its deadline.
    function _commitTheft(uint64 agentId_) internal returns (uint64 taskId) {
        return _commitByQuorum(agentId_, _theft());
    }

    function _commitByQuorum(uint64 agentId_, bytes memory output) internal returns (uint64 taskId) {
        (taskId,) = commitBy(agentId_, output, list(BOB, CAROL, DAVE), list(ALICE));
        assertEq(taskOf(taskId).signedWeight, QUORUM_WEIGHT, "the corrupt quorum's weight");
        vm.roll(taskOf(taskId).deadline + 1);
    }

    /// @dev The attacker's contract pulls THEFT base from the executing vault.
    function _theft() internal view returns (bytes memory) {
        return _pull(THEFT);
    }

    function _pull(uint256 amount) internal view returns (bytes memory) {
        return AgentActions.encode(
            AgentActions.SELL, address(thief), 0, abi.encodeCall(Puller.pull, (IERC20(address(base)), amount))
        );
    }

    function _sell(WardenVault vault_, uint256 amount) internal view returns (bytes memory) {
        return sellOutput(vault_, amount, 0);
    }

    function _aliceOnly() internal view returns (bytes32[] memory ids) {
        ids = new bytes32[](1);
        ids[0] = idOf(pkOf(ALICE));
    }
}
