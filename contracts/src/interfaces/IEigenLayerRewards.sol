// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.27;

/// @dev EigenLayer's RewardsCoordinator as Warden pays through it: operator-directed AVS rewards
/// (rewards v2, which every later core keeps). Types and signatures match the deployed bytecode
/// shipped by newton-utils.

/// @notice A strategy whose stake a reward is for, and its weight in the reward's split to stakers.
struct StrategyAndMultiplier {
    address strategy;
    uint96 multiplier;
}

/// @notice What one operator is paid in a submission (it then shares it with its stakers).
struct OperatorReward {
    address operator;
    uint256 amount;
}

/// @notice One operator-directed rewards submission: `token` paid to each of `operatorRewards`
/// for the period [`startTimestamp`, `startTimestamp + duration`), which must have ended.
struct OperatorDirectedRewardsSubmission {
    StrategyAndMultiplier[] strategiesAndMultipliers;
    address token;
    OperatorReward[] operatorRewards;
    uint32 startTimestamp;
    uint32 duration;
    string description;
}

interface IRewardsCoordinator {
    /// @notice Pulls the submissions' tokens from the caller, which must be `avs`, and records them
    /// for EigenLayer's rewards calculation. Strategies must be whitelisted and ascending, operators
    /// strictly ascending with non-zero amounts; the period aligned to `CALCULATION_INTERVAL_SECONDS`,
    /// ended, no earlier than `GENESIS_REWARDS_TIMESTAMP` nor more than `MAX_RETROACTIVE_LENGTH` ago.
    function createOperatorDirectedAVSRewardsSubmission(
        address avs,
        OperatorDirectedRewardsSubmission[] calldata submissions
    ) external;

    function CALCULATION_INTERVAL_SECONDS() external view returns (uint32);
    function GENESIS_REWARDS_TIMESTAMP() external view returns (uint32);
    function MAX_RETROACTIVE_LENGTH() external view returns (uint32);
    function submissionNonce(address avs) external view returns (uint256);
    function isOperatorDirectedAVSRewardsSubmissionHash(address avs, bytes32 hash)
        external
        view
        returns (bool);
}
