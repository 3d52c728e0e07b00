// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IStrategyManagerSlashing} from "./interfaces/IEigenLayerSlashing.sol";
import {ITaskManager} from "./interfaces/ITaskManager.sol";
import {IWardenChallenges} from "./interfaces/IWardenChallenges.sol";
import {IWardenRegistry} from "./interfaces/IWardenRegistry.sol";
import {IWardenRestitution} from "./interfaces/IWardenRestitution.sol";

/// @title WardenRestitution
/// @notice Turns slashed stake into restitution. Warden's operator set is a redistributing set whose
/// recipient is this contract: after `WardenChallenges` slashes the signers of a fraudulent output,
/// anyone calls `clearSlash` for each slash, EigenLayer's strategies send the slashed tokens here, and
/// they are credited to the task the slash punished. The task's vault is repaid its proven loss first
/// (the fall of its holdings over the fraudulent action, valued at the snapshot's prices, as the task
/// manager recorded it). Once the loss can no longer grow, the rest is surplus: `surplusChallengerBps`
/// to the challenger that proved the fraud, the remainder to EigenLayer's burn address, as a slash
/// without redistribution would have done.
/// @dev Created by the task manager's constructor, like `WardenChallenges`: the three contracts name
/// each other through immutables. Ownerless. Credits are per task, from that task's own slashes, so
/// one vault's restitution never depends on another's fraud being proved.
contract WardenRestitution is IWardenRestitution, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Where surplus is burned: EigenLayer's `DEFAULT_BURN_ADDRESS`, where a non-redistributing
    /// slash sends its tokens.
    address public constant BURN_ADDRESS = 0x00000000000000000000000000000000000E16E4;
    uint16 private constant MAX_BPS = 10_000;

    struct Claim {
        /// @dev Slashed stake received for the task and not yet paid out.
        uint128 credit;
        /// @dev What the task's vault has been repaid.
        uint128 repaid;
    }

    ITaskManager private immutable _taskManager;
    IWardenChallenges private immutable _challenges;
    IWardenRegistry private immutable _registry;

    /// @inheritdoc IWardenRestitution
    uint16 public immutable surplusChallengerBps;

    mapping(uint64 taskId => Claim) private _claims;

    /// @inheritdoc IWardenRestitution
    mapping(uint256 slashId => bool) public slashCleared;

    /// @dev The deployer is the task manager whose tasks' losses this contract repays.
    /// @param registry_ The registry whose operator set redistributes to this contract.
    /// @param challenges_ The challenges contract, which records the task of every slash it makes.
    /// @param surplusChallengerBps_ Share of a task's surplus paid to its challenger, in [0, 10_000].
    constructor(address registry_, address challenges_, uint16 surplusChallengerBps_) {
        if (surplusChallengerBps_ > MAX_BPS) revert InvalidSurplusShare(surplusChallengerBps_);
        _taskManager = ITaskManager(msg.sender);
        _challenges = IWardenChallenges(challenges_);
        _registry = IWardenRegistry(registry_);
        surplusChallengerBps = surplusChallengerBps_;
    }

    /// @inheritdoc IWardenRestitution
    /// @dev The amount is measured as the rise of this contract's base-token balance over EigenLayer's
    /// clearing call, so it counts exactly what arrived, whatever the strategies' exchange rates. A
    /// slash cleared directly at EigenLayer by someone else sends its tokens here uncredited: they
    /// stay in this contract (see SECURITY.md).
    function clearSlash(uint256 slashId) external nonReentrant returns (uint256 amount) {
        uint64 taskId = _challenges.taskOfSlash(slashId);
        if (taskId == 0) revert UnknownSlash(slashId);
        if (slashCleared[slashId]) revert SlashAlreadyCleared(slashId);
        slashCleared[slashId] = true;

        (address vault, address token, uint256 loss, bool lossFinal) = _taskManager.restitutionClaim(taskId);
        IERC20 baseToken = IERC20(token);
        uint256 balanceBefore = baseToken.balanceOf(address(this));
        IStrategyManagerSlashing(_registry.strategyManager())
            .clearBurnOrRedistributableShares(_registry.operatorSet(), slashId);
        amount = baseToken.balanceOf(address(this)) - balanceBefore;

        Claim memory claim = _claims[taskId];
        claim.credit = (uint256(claim.credit) + amount).toUint128();
        emit SlashCleared(slashId, taskId, amount);
        _settle(taskId, claim, vault, baseToken, loss, lossFinal);
    }

    /// @inheritdoc IWardenRestitution
    function settle(uint64 taskId) external nonReentrant {
        (address vault, address token, uint256 loss, bool lossFinal) = _taskManager.restitutionClaim(taskId);
        _settle(taskId, _claims[taskId], vault, IERC20(token), loss, lossFinal);
    }

    /// @inheritdoc IWardenRestitution
    function taskManager() external view returns (address) {
        return address(_taskManager);
    }

    /// @inheritdoc IWardenRestitution
    function claimOf(uint64 taskId) external view returns (uint256 credit, uint256 repaid) {
        Claim memory claim = _claims[taskId];
        return (claim.credit, claim.repaid);
    }

    /// @dev Repays the vault from the credit, up to its loss; if the loss is final, distributes the
    /// rest of the credit. Writes the claim before any transfer.
    function _settle(
        uint64 taskId,
        Claim memory claim,
        address vault,
        IERC20 token,
        uint256 loss,
        bool lossFinal
    ) private {
        uint256 owed = loss > claim.repaid ? loss - claim.repaid : 0;
        uint256 repayment = owed < claim.credit ? owed : claim.credit;
        uint256 surplus;
        if (lossFinal) surplus = claim.credit - repayment;
        // Both stay below their previous values or the loss, which fits: no overflow.
        // forge-lint: disable-next-line(unsafe-typecast)
        claim.credit = uint128(claim.credit - repayment - surplus);
        // forge-lint: disable-next-line(unsafe-typecast)
        claim.repaid = uint128(claim.repaid + repayment);
        _claims[taskId] = claim;

        if (repayment != 0) {
            emit VaultRepaid(taskId, vault, repayment, claim.repaid);
            token.safeTransfer(vault, repayment);
        }
        if (surplus != 0) {
            address challenger = _challenges.challengerOf(taskId);
            // An equivocation slash of a task nobody proved fraudulent has no challenger to pay.
            uint256 toChallenger = challenger == address(0) ? 0 : surplus * surplusChallengerBps / MAX_BPS;
            uint256 burned = surplus - toChallenger;
            emit SurplusDistributed(taskId, challenger, toChallenger, burned);
            if (toChallenger != 0) token.safeTransfer(challenger, toChallenger);
            if (burned != 0) token.safeTransfer(BURN_ADDRESS, burned);
        }
    }
}
