// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {WardenRestitution} from "../../src/WardenRestitution.sol";
import {AgentActions} from "../../src/agent/AgentTypes.sol";
import {IWardenChallenges} from "../../src/interfaces/IWardenChallenges.sol";
import {IWardenRestitution} from "../../src/interfaces/IWardenRestitution.sol";
import {Vm} from "../lib/Vm.sol";
import {TaskManagerFixture} from "./TaskManagerFixture.sol";
import {Puller} from "./VaultMocks.sol";

/// @dev Restitution on the real redistributing EigenLayer core: Warden's operator set sends what it
/// slashes to the task manager's restitution contract, which repays the robbed vault its proven loss
/// and splits the rest between the challenger and EigenLayer's burn address.
///
/// Bob, Carol and Dave (200 + 300 + 400 staked, all of it allocated) sign a theft of 450 base: the
/// attacker's contract pulls it from the vault. Fraud costs a signer its whole allocation here, so
/// slashing them redistributes 900 of the stake token, which is the base token.
contract RestitutionTest is TaskManagerFixture {
    address internal constant CHALLENGER = address(0xC4A11);
    uint256 internal constant THEFT = 450 ether;
    uint256 internal constant SLASHED = 900 ether;

    Puller internal thief;
    WardenRestitution internal restitution;

    function setUp() public {
        deployWarden();
        thief = new Puller();
        restitution = WardenRestitution(taskManager.restitution());
        base.mint(address(vault), 2000 ether);
        vm.startPrank(OWNER);
        vault.setCallPermission(address(thief), Puller.pull.selector, true);
        vault.setSpendingCap(address(base), 10_000 ether, 10_000 ether);
        vm.stopPrank();
    }

    /// @dev Before: slashed stake was burned, and the vault a corrupt quorum robbed got nothing back.
    /// Now a fraud proved after the theft executed repays the vault all it lost from the signers'
    /// stake, and what is left goes half to the challenger, half to the burn address.
    function test_attack_slashedStakeIsBurnedWhileTheRobbedVaultGetsNothing() public {
        uint256 vaultBefore = base.balanceOf(address(vault));
        uint64 taskId = _executedTheft();
        assertEq(base.balanceOf(address(vault)), vaultBefore - THEFT, "robbed");

        assertTrue(challengeAs(CHALLENGER, taskId, _theft()), "proved after the execution");
        uint256[] memory slashIds = _slashSigners(taskId);
        assertEq(slashIds.length, 3, "three signers slashed");

        uint256 received;
        for (uint256 i; i < slashIds.length; ++i) {
            received += restitution.clearSlash(slashIds[i]);
        }
        assertEq(received, SLASHED, "every slashed share arrived as the stake token");
        assertEq(base.balanceOf(address(vault)), vaultBefore, "the vault is whole again");
        (uint256 credit, uint256 repaid) = restitution.claimOf(taskId);
        assertEq(repaid, THEFT, "repaid its proven loss");
        assertEq(credit, 0, "nothing left unpaid");
        uint256 surplus = SLASHED - THEFT;
        assertEq(base.balanceOf(CHALLENGER), surplus * SURPLUS_CHALLENGER_BPS / 10_000, "challenger's share");
        assertEq(
            base.balanceOf(restitution.BURN_ADDRESS()),
            surplus - surplus * SURPLUS_CHALLENGER_BPS / 10_000,
            "the rest burned"
        );
        assertEq(base.balanceOf(address(restitution)), 0, "nothing stays behind");
    }

    /// @dev A fraud stopped before it executed took nothing: all the slashed stake is surplus.
    function test_clearSlash_fraudStoppedInTimeRepaysNothingAndSplitsTheRest() public {
        (uint64 taskId,) = commitBy(agentId, _theft(), list(BOB, CAROL, DAVE), list(ALICE));
        assertTrue(challengeAs(CHALLENGER, taskId, _theft()), "upheld before the deadline");
        uint256 vaultBefore = base.balanceOf(address(vault));
        uint256[] memory slashIds = _slashSigners(taskId);
        for (uint256 i; i < slashIds.length; ++i) {
            restitution.clearSlash(slashIds[i]);
        }
        assertEq(base.balanceOf(address(vault)), vaultBefore, "nothing to repay");
        assertEq(base.balanceOf(CHALLENGER), SLASHED * SURPLUS_CHALLENGER_BPS / 10_000, "challenger's share");
    }

    function test_revert_clearSlash_twiceOrUnknown() public {
        uint64 taskId = _executedTheft();
        challengeAs(CHALLENGER, taskId, _theft());
        uint256[] memory slashIds = _slashSigners(taskId);
        restitution.clearSlash(slashIds[0]);
        vm.expectRevert(abi.encodeWithSelector(IWardenRestitution.SlashAlreadyCleared.selector, slashIds[0]));
        restitution.clearSlash(slashIds[0]);
        uint256 unknown = slashIds[2] + 1;
        vm.expectRevert(abi.encodeWithSelector(IWardenRestitution.UnknownSlash.selector, unknown));
        restitution.clearSlash(unknown);
    }

    /// @dev Anyone may clear and settle: the money only ever goes to the vault, the challenger and the
    /// burn address.
    function test_clearSlash_isPermissionless() public {
        uint64 taskId = _executedTheft();
        challengeAs(CHALLENGER, taskId, _theft());
        uint256[] memory slashIds = _slashSigners(taskId);
        vm.prank(address(0xBEEF));
        restitution.clearSlash(slashIds[0]);
        assertEq(base.balanceOf(address(0xBEEF)), 0, "the caller gets nothing");
        (, uint256 repaid) = restitution.claimOf(taskId);
        assertTrue(repaid > 0, "the vault was repaid first");
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    function _executedTheft() internal returns (uint64 taskId) {
        (taskId,) = commitBy(agentId, _theft(), list(BOB, CAROL, DAVE), list(ALICE));
        vm.roll(taskOf(taskId).deadline + 1);
        execute(taskId, _theft());
    }

    function _theft() internal view returns (bytes memory) {
        return AgentActions.encode(
            AgentActions.SELL, address(thief), 0, abi.encodeCall(Puller.pull, (IERC20(address(base)), THEFT))
        );
    }

    /// @dev Slashes every signer in one batch; returns the slash ids `SignerSlashed` reported.
    function _slashSigners(uint64 taskId) internal returns (uint256[] memory slashIds) {
        bytes32[] memory nonSigners = new bytes32[](1);
        nonSigners[0] = idOf(pkOf(ALICE));
        vm.recordLogs();
        challenges.slashSigners(taskId, indicesOfIds(nonSigners), 0);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256[] memory found = new uint256[](logs.length);
        uint256 count;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(challenges)) continue;
            if (logs[i].topics[0] != IWardenChallenges.SignerSlashed.selector) continue;
            (found[count++],) = abi.decode(logs[i].data, (uint256, uint256));
        }
        slashIds = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            slashIds[i] = found[i];
        }
    }
}
